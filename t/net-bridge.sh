#!/bin/sh
# Bridging a LAN into a network: member br, which the controller makes an
# active bridge, has its TAP port in a Linux bridge with two plain hosts
# (h1, h2, no ztd) on veths.  A remote member r and the hosts reach each
# other both ways, ARP (broadcast) crossing the bridge; the hosts' frames
# go as EXT_FRAME with their MACs, and r learns them behind br (r was
# configured before br became a bridge: the controller pushed it the news).  Member s
# bridges a host (s1) the same way but is no active bridge: its frames
# with a foreign source MAC are dropped, and counted.
#
#   root 198.18.0.1 --- underlay --- ctl 198.18.0.2 (controller)
#                                |-- r  198.18.0.12 [zt0 198.19.2.x]
#                                |-- br 198.18.0.11 [zt0 in lan0] --- h1 198.19.2.201
#                                |                                \-- h2 198.19.2.202
#                                \-- s  198.18.0.13 [zt0 in lan0] --- s1 198.19.2.203
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 16

zt_lab br:11 r:12 s:13

net=$(zt_ctl_network '{"name":"bridged","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.2.10","ipRangeEnd":"198.19.2.100"}],
	"routes":[{"target":"198.19.2.0/24"}]}')
member() {
	ctl_api -X POST -d "$2" "http://127.0.0.1:9993/controller/network/$net/member/$(zt_address "$1")" > /dev/null
}

# lan_host BRIDGE-NODE HOST ADDR: a plain host on BRIDGE-NODE's lan0
lan_host() {
	ns_netns "$2"
	ip link add "l$2$ns_id" netns "$(ns_name "$1")" type veth peer name eth0 netns "$(ns_name "$2")"
	ip -n "$(ns_name "$1")" link set "l$2$ns_id" master lan0 up
	ip -n "$(ns_name "$2")" link set eth0 up
	ns_addrs "$2" eth0 "$3/24"
}
join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
for node in br r s; do
	zt_networks=$join zt_start "$node"
	ns_exec "$node" ip link add lan0 type bridge
	ns_exec "$node" ip link set lan0 up
done
lan_host br h1 198.19.2.201
lan_host br h2 198.19.2.202
# h2's MAC reads as a member's (the network's first octet, as 1 random local MAC
# in 64 does): it must still be reached behind the bridge
prefix=$(( (0x${net#??????????????} & 0xfe) | 0x02 ))
[ $prefix -eq $((0x52)) ] && prefix=$((0x32))
ns_exec h2 ip link set eth0 address "$(printf %02x $prefix):c6:13:00:02:02"
lan_host s s1 198.19.2.203
member r '{"authorized":true}'
member s '{"authorized":true,"noAutoAssignIps":true}'
zt_wait 30 zt_is_status r OK
# r is configured before br is a bridge: the controller pushes r the new list
member br '{"authorized":true,"activeBridge":true,"noAutoAssignIps":true}'
like "$(ctl_api "http://127.0.0.1:9993/controller/network/$net/member/$(zt_address br)")" '"activeBridge":true' \
	"the controller's API sets activeBridge on a member"

for node in br r s; do zt_wait 30 zt_is_status "$node" OK || break; done
ok $? "the three members are configured"
ns_exec br ip link set zt0 master lan0 && ns_exec s ip link set zt0 master lan0
ok $? "br's and s's TAP ports are in their Linux bridges"
is "$(zt_api br "http://127.0.0.1:9993/network/$net" | jq -r .bridge)" true "br is an active bridge (/network)"
is "$(zt_api r "http://127.0.0.1:9993/network/$net" | jq -r .bridge)" false "r is not"
zt_wait 20 zt_has_ip r; ipr=$(zt_net_ip r)
like "$ipr" '^198\.19\.2\.' "r has an address from the pool ($ipr)"

zt_wait 30 ns_exec h1 ping -c 1 -W 1 "$ipr"; ok $? "h1, behind the bridge, pings r"
zt_wait 20 ns_exec h2 ping -c 1 -W 1 "$ipr"; ok $? "h2 (a MAC with the network's first octet) pings r"
zt_wait 20 ns_exec r ping -c 1 -W 1 198.19.2.201; ok $? "r pings h1"
zt_wait 20 ns_exec r ping -c 1 -W 1 198.19.2.202; ok $? "r pings h2"
h1mac=$(ns_exec h1 cat /sys/class/net/eth0/address)
like "$(ns_exec r ip neigh show 198.19.2.201 dev zt0)" "lladdr $h1mac" \
	"r's ARP finds h1's own MAC behind the bridge"
like "$(ns_exec h1 ip neigh show "$ipr" dev eth0)" "lladdr $(zt_api r "http://127.0.0.1:9993/network/$net" | jq -r .mac)" \
	"h1's ARP finds r's MAC across the network"
bridged=$(zt_inst_counter br "network@$net" tx_bridged) learned=$(zt_inst_counter r "network@$net" rx_bridged)
ok $(( !(bridged > 0 && learned > 0) )) "frames bridged by br ($bridged) and received bridged by r ($learned)"

ns_exec s1 ping -c 3 -i 0.3 -W 1 "$ipr" > /dev/null 2>&1
ok $(( $? == 0 )) "s1, behind a member that is no active bridge, reaches nothing"
spoofed=$(zt_inst_counter s "network@$net" tx_not_bridge)
ok $(( !(spoofed > 0) )) "s drops its port's frames with foreign source MACs, counted ($spoofed tx_not_bridge)"
is "$(zt_inst_counter r "network@$net" rx_not_bridge)" 0 "none of them reached r"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log br; zt_log r; zt_log s; }
tap_done
