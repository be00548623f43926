#!/bin/sh
# bench/scale-gen against a real zt root, small: 50 simulated peers (the
# identities of t/scale-ids) in namespace gen, each from a UDP port of
# its own, say HELLO, ask WHOIS every second, and 20 of them send each
# other ECHOs through the root in pairs; run in 3 processes (as when
# RLIMIT_NOFILE is lower than the nodes' sockets), their counts merged.  Every HELLO and WHOIS gets its
# answer, every relayed packet arrives, and the root stays up.  Then 20
# members ask a controller (sqlite) for the config of a public network,
# all at once: each gets the whole config, signed by the controller.
# Each node has a /24 of its own: a root or controller takes one new
# identity per /24 every 2 s.
#
#   root 198.18.0.1/16 ---+--- bridge --- gen 198.18.1.10 ... 198.18.50.10
#   ctl 198.18.0.2/16 ----/
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
command -v jq > /dev/null || skip_all "needs jq"
plan 12

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
	--whois-ms 1000 --duration 8 --ramp 2 --procs 3 $binds \
	--pid "$zt_pid_root" > "$ns_tmp/out" 2> "$ns_tmp/err"
ok $? "scale-gen ran"
grep -q '^# 3 processes' "$ns_tmp/out"
ok $? "in 3 processes"
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

ns_host ctl 198.18.0.2/16
zt_services=$(zt_ctl_service) zt_start ctl
net=$(zt_ctl_network '{"name":"scale","private":false,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.0.10","ipRangeEnd":"198.19.0.200"}],
	"routes":[{"target":"198.19.0.0/24"}]}')
ns_exec gen "$GEN" --ids "$srcdir/t/scale-ids" --controller 198.18.0.2/9993 \
	--controller-id "$ns_tmp/ctl/identity.public" --network "$net" --members 20 --offset 0 \
	--rate 0 --timeout 20 $binds > "$ns_tmp/out" 2> "$ns_tmp/err"
ok $? "scale-gen ran against the controller"
sed 's/^/# /' "$ns_tmp/out" "$ns_tmp/err"
res=$(grep '^result ' "$ns_tmp/out")
is "$(val config_sent)/$(val config_answered)/$(val config_errors)/$(val config_drops)" "20/20/0/0" \
	"all 20 members have their config"
ok "$(kill -0 "$zt_pid_ctl" 2>/dev/null; echo $?)" "the controller is still running"
