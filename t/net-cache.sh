#!/bin/sh
# Members keep working while the controller is away: each network's last
# signed config is cached in the node's home (networks.d/<nwid>.netconf)
# and applied at start, for networks of ztd.yaml (b) and networks joined
# at run time (c) alike.  A cache file that is truncated or altered is
# refused, naming the file, and the node waits for the controller.  A
# member deauthorized while it was down gets nothing out of its cache.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0]
#                              |-- b 198.18.0.12 [zt0]
#                              \-- c 198.18.0.13 (joins at run time)
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 23

zt_lab a:11 b:12 c:13
net=$(zt_ctl_network '{"name":"cache","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.3.10","ipRangeEnd":"198.19.3.100"}],
	"routes":[{"target":"198.19.3.0/24"}]}')
join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
zt_networks=$join zt_start a
zt_networks=$join zt_start b
zt_start c
zt_api c -X POST "http://127.0.0.1:9993/network/$net" > /dev/null
zt_authorize true a b c
for n in a b c; do zt_wait 30 zt_is_status $n OK || bail "$n not configured ($(zt_net_status $n))"; done
ipa=$(zt_net_ip a) ipb=$(zt_net_ip b) ipc=$(zt_net_ip c)
dev_c=$(zt_api c "http://127.0.0.1:9993/network/$net" | jq -r .portDeviceName)
zt_wait 20 ns_exec a ping -c 1 -W 1 "$ipb" || bail "a cannot ping b"
zt_wait 20 ns_exec a ping -c 1 -W 1 "$ipc" || bail "a cannot ping c"
cache=networks.d/$net.netconf
test -s "$ns_tmp/b/$cache" && test -s "$ns_tmp/c/$cache"
ok $? "b and c cache the config ($cache)"
is "$(stat -c %a "$ns_tmp/b/$cache")" 600 "... readable by the owner only"
rev=$(zt_api b "http://127.0.0.1:9993/network/$net" | jq -r .netconfRevision)

# kill9 NAME: the host of NAME dies (no clean shutdown)
kill9() { eval "kill -9 \$zt_pid_$1; wait \$zt_pid_$1" 2>/dev/null; }
# has_ip NAME DEV IP: the port DEV carries IP
has_ip() { ns_exec "$1" ip -4 -o addr show dev "$2" | grep -q " $3/24 "; }

# ---- the controller away: b (ztd.yaml) and c (joined at run time) restart ----
zt_stop ctl
kill9 b
zt_networks=$join zt_start b
is "$(zt_net_status b)" OK "controller away, b restarted: OK at once from its cache"
is "$(zt_api b "http://127.0.0.1:9993/network/$net" | jq -r .netconfRevision)" "$rev" "... with the cached revision ($rev)"
is "$(zt_net_ip b)" "$ipb" "... and the same address"
zt_wait 5 has_ip b zt0 "$ipb"; ok $? "... on its port"
zt_wait 10 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a pings b while the controller is away"
grep -q "from .*$cache until the controller answers" "$ns_tmp/b/log"; ok $? "b logs where its config came from"
kill9 c
zt_start c
is "$(zt_net_status c)" OK "a network joined at run time: OK from the cache too"
zt_wait 5 has_ip c "$dev_c" "$ipc"; ok $? "... with its address ($ipc) on its port"
zt_wait 10 ns_exec c ping -c 1 -W 1 "$ipa"; ok $? "c pings a while the controller is away"

# ---- the controller back: the config is refreshed, traffic goes on ----
zt_services=$(zt_ctl_service) zt_start ctl
ctl_api -X POST -d '{"name":"cache2"}' "http://127.0.0.1:9993/controller/network/$net" > /dev/null
newrev() { [ "$(zt_api b "http://127.0.0.1:9993/network/$net" | jq -r .netconfRevision)" -gt "$rev" ]; }
ns_exec a ping -c 100 -i 0.2 -W 1 "$ipb" > "$ns_tmp/ping" 2>&1 &
pinger=$!
zt_wait 60 newrev; ok $? "the controller back: b gets the new revision ($(zt_api b "http://127.0.0.1:9993/network/$net" | jq -r .netconfRevision))"
is "$(zt_api b "http://127.0.0.1:9993/network/$net" | jq -r .name)" cache2 "... and its change"
wait $pinger
like "$(cat "$ns_tmp/ping")" " 0% packet loss" "traffic a -> b uninterrupted meanwhile"

# ---- bad cache files: refused, named, the node waits for the controller ----
zt_stop ctl
kill9 c
cp "$ns_tmp/c/$cache" "$ns_tmp/good"
head -c 300 "$ns_tmp/good" > "$ns_tmp/c/$cache"
zt_start c
grep -q "$ns_tmp/c/$cache: refused the cached config: truncated" "$ns_tmp/c/log"; ok $? "a truncated cache file is refused, naming the file"
is "$(zt_net_status c)" REQUESTING_CONFIGURATION "... and c waits for the controller"
has_ip c "$dev_c" "$ipc"; ok $(( $? == 0 )) "... with no address on its port"
kill9 c
# one bit of the signed dictionary flipped (magic 26, length 4, nwid 8, length 2)
cp "$ns_tmp/good" "$ns_tmp/c/$cache"
byte=$(od -An -tu1 -j100 -N1 "$ns_tmp/good")
printf "\\$(printf %o $(( byte ^ 1 )))" | dd of="$ns_tmp/c/$cache" bs=1 seek=100 conv=notrunc 2>/dev/null
cmp -s "$ns_tmp/good" "$ns_tmp/c/$cache" && bail "could not alter the cache file"
zt_start c
grep -q "$ns_tmp/c/$cache: refused the cached config: the controller's signature does not verify" "$ns_tmp/c/log"
ok $? "an altered cache file is refused: the signature does not verify"
is "$(zt_net_status c)" REQUESTING_CONFIGURATION "... and c waits for the controller"
zt_wait 5 ns_exec c ping -c 1 -W 1 "$ipa"; ok $(( $? == 0 )) "... reaching nobody"

# ---- deauthorized while down (controller up): the cache gives nothing ----
zt_services=$(zt_ctl_service) zt_start ctl
# a asks the controller again (the controller revokes at members it has
# heard since it started), and has the network's latest state
kill9 a
zt_networks=$join zt_start a
ctl_api -X POST -d '{"name":"cache3"}' "http://127.0.0.1:9993/controller/network/$net" > /dev/null
named3() { [ "$(zt_api a "http://127.0.0.1:9993/network/$net" | jq -r .name)" = cache3 ]; }
zt_wait 30 named3 || bail "a does not get the new config"
kill9 b
zt_authorize false b
zt_wait 10 grep -q "member $(zt_address b) revoked by the controller" "$ns_tmp/a/log" ||
	bail "the revocation does not reach a"
zt_networks=$join zt_start b
ns_exec b ping -c 10 -i 0.5 -W 1 "$ipa" > "$ns_tmp/ping" 2>&1
like "$(cat "$ns_tmp/ping")" " 100% packet loss" "deauthorized while down: b reaches nobody with its cached config"
zt_wait 30 zt_is_status b ACCESS_DENIED; ok $? "the controller refuses b ($(zt_net_status b))"
test -e "$ns_tmp/b/$cache"; ok $(( $? == 0 )) "... and b's cache is removed"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log a; zt_log b; zt_log c; }
tap_done
