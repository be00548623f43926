#!/bin/sh
# bench/scale-gen against a real zt root, small: 50 simulated peers (the
# identities of t/scale-ids) in namespace gen, each from a UDP port of
# its own, say HELLO, ask WHOIS every second, and 20 of them send each
# other ECHOs through the root in pairs.  Every HELLO and WHOIS gets its
# answer, every relayed packet arrives, and the root stays up.  Each peer
# has a /24 of its own: a root takes one new identity per /24 every 2 s.
#
#   root 198.18.0.1/16 --- bridge --- gen 198.18.1.10 ... 198.18.50.10
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
plan 8

GEN=$builddir/bench/scale-gen
ns_bridge
ns_host root 198.18.0.1/16
binds=""
for i in $(seq 50); do binds="$binds --bind 198.18.$i.10"; done
# shellcheck disable=SC2046
ns_host gen $(for i in $(seq 50); do echo 198.18.$i.10/16; done)
zt_world root 198.18.0.1/9993
zt_start root

# churn 0: a peer that leaves takes its answers with it
ns_exec gen "$GEN" --ids "$srcdir/t/scale-ids" --root 198.18.0.1/9993 \
	--root-id "$ns_tmp/root/identity.public" --peers 50 --pairs 0.4 --churn 0 \
	--whois-ms 1000 --duration 8 --ramp 2 $binds \
	--pid "$zt_pid_root" > "$ns_tmp/out" 2> "$ns_tmp/err"
ok $? "scale-gen ran"
sed 's/^/# /' "$ns_tmp/out" "$ns_tmp/err"
res=$(grep '^result ' "$ns_tmp/out")
val() { printf '%s\n' $res | sed -n "s/^$1=//p"; }

is "$(val up)" 50 "all 50 peers are up (their HELLO answered)"
is "$(val hello_answered)/$(val hello_drops)" "$(val hello_sent)/0" "every HELLO answered"
ok "$([ "$(val whois_sent)" -ge 20 ] 2>/dev/null; echo $?)" "peers asked WHOIS ($(val whois_sent))"
is "$(val whois_answered)/$(val whois_errors)/$(val whois_drops)" "$(val whois_sent)/0/0" \
	"every WHOIS answered with an identity"
ok "$([ "$(val relay_sent)" -ge 20 ] 2>/dev/null; echo $?)" "pairs relayed ECHOs ($(val relay_sent))"
is "$(val relay_delivered)" "$(val relay_sent)" "every relayed packet delivered"
ok "$(kill -0 "$zt_pid_root" 2>/dev/null; echo $?)" "the root is still running"
