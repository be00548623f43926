#!/bin/sh
# LAN discovery (zt-lan(7)): two members of a network that have never
# met, with no root and no controller reachable, find each other by the
# lan transport's beacons, HELLO and ping over the network from their
# cached configs; a third member on another LAN does not see them.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11, 2001:db8::11 [zt0]
#                              |-- b 198.18.0.12, 2001:db8::12 [zt0]
#                              \-- natc 198.18.0.21 | 198.18.30.1 --- c 198.18.30.2 [zt0]
#
# First all three join with the root and controller up and cache the
# network's config; then root and controller stop, every node forgets
# the other members and every path (peers.d) and restarts with a lan
# transport.
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 11

zt_lab a:11 b:12
ns_addrs a eth0 2001:db8::11/64
ns_addrs b eth0 2001:db8::12/64
ns_nat natc 198.18.0.21/24 198.18.30.1/24 cone
ns_behind c natc 198.18.30.2/24
net=$(zt_ctl_network '{"name":"lan","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.4.10","ipRangeEnd":"198.19.4.100"}],
	"routes":[{"target":"198.19.4.0/24"}]}')
join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
for n in a b c; do zt_networks=$join zt_start $n; done
zt_authorize true a b c
for n in a b c; do zt_wait 30 zt_is_status $n OK || bail "$n not configured ($(zt_net_status $n))"; done
ipa=$(zt_net_ip a) ipb=$(zt_net_ip b) ipc=$(zt_net_ip c)
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb" || bail "a cannot ping b through the root"
zt_wait 30 ns_exec c ping -c 1 -W 1 "$ipa" || bail "c cannot ping a through the root"

# ---- no root, no controller, no remembered peer: only beacons ----
for n in root ctl a b c; do zt_stop $n; done
# each forgets the other members and every path; it keeps the
# controller's identity, which its cached config is checked against
for n in a b c; do
	rm -f "$ns_tmp/$n"/peers.d/*.paths
	for m in a b c; do rm -f "$ns_tmp/$n/peers.d/$(zt_address $m).peer"; done
done
lan="  - { use: lan, interval: 1s }"
for n in a b c; do zt_networks=$join zt_transports=$lan zt_start $n 0.0.0.0:9993 "[::]:9993"; done
is "$(zt_net_status a)" OK "a restarts with the cached config"
# whichever beacons first is learned from its beacon, the other from a HELLO
zt_wait 60 zt_knows a b; ok $? "a knows b (from b's beacon or b's HELLO)"
zt_wait 60 zt_knows b a; ok $? "b knows a (from a's beacon or a's HELLO)"
grep -q "peer $(zt_address b): new, from a lan beacon" "$ns_tmp/a/log" ||
	grep -q "peer $(zt_address a): new, from a lan beacon" "$ns_tmp/b/log"
ok $? "... one of them from the other's beacon"
zt_wait 30 zt_direct a b; ok $? "a has a direct path to b"
zt_wait 60 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a pings b over the network, no root nor controller up"
zt_wait 30 ns_exec b ping -c 1 -W 1 "$ipa"; ok $? "b pings a"
# v6path NAME PEER IP: NAME has a path to PEER at IP (from an IPv6 beacon)
v6path() {
	zt_api "$1" "http://127.0.0.1:9993/peer/$(zt_address "$2")" |
		jq -e --arg ip "$3" '.paths[] | select(.address | startswith($ip + "/"))'
}
zt_wait 30 v6path b a 2001:db8::11; ok $? "b has a path to a over IPv6 (beacons to ff02::7a74 from a's routable address)"
zt_knows a c; ok $(( $? == 0 )) "c, on another LAN, is unknown to a"
zt_knows c b; ok $(( $? == 0 )) "... and b unknown to c"
ns_exec c ping -c 3 -i 0.5 -W 1 "$ipa" > /dev/null 2>&1; ok $(( $? == 0 )) "c reaches neither"
[ $tap_failed -eq 0 ] || { zt_log a; zt_log b; zt_log c; }
tap_done
