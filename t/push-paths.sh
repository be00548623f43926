#!/bin/sh
# PUSH_DIRECT_PATHS (wire.md §4.8, §7.8 point 3): a and b can reach each
# other only over a link of their own, on addresses the root never saw;
# once trust is established (a frame of their network, relayed by the
# root) each pushes its local addresses, the other tries them, and they
# end with a direct path on that link.  a's udp has a secondary port.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 -.
#                              \-- b 198.18.0.12 -'  a and b drop each other on the bridge
#                                  a 198.18.5.1/30 --- b 198.18.5.2/30 (a veth of their own)
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 7

zt_lab a:11 b:12
ip link add "pa$ns_id" netns "$(ns_name a)" type veth peer name "pb$ns_id" netns "$(ns_name b)" ||
	bail "veth between a and b"
ns_addrs a "pa$ns_id" 198.18.5.1/30
ns_addrs b "pb$ns_id" 198.18.5.2/30
ip -n "$(ns_name a)" link set "pa$ns_id" up
ip -n "$(ns_name b)" link set "pb$ns_id" up
# drop NAME PEER-IP: NAME neither sends to nor hears from PEER-IP
drop() {
	ns_exec "$1" nft -f - <<NFT || bail "nft in $1"
table ip lonely {
	chain out { type filter hook output priority 0; policy accept; ip daddr $2 drop; }
	chain in { type filter hook input priority 0; policy accept; ip saddr $2 drop; }
}
NFT
}
drop a 198.18.0.12
drop b 198.18.0.11
# the root counts what reaches it from a's secondary port (derived from
# a's address: a gets its identity now, before it starts)
mkdir -p "$ns_tmp/a"
"$builddir/zt-idtool" generate "$ns_tmp/a/identity.secret" "$ns_tmp/a/identity.public" > /dev/null ||
	bail "zt-idtool generate"
second=$(( 20000 + 0x$(zt_address a) % 45500 ))
ns_exec root nft -f - <<NFT || bail "nft in root"
table ip seen {
	chain in { type filter hook input priority 0; policy accept; ip saddr 198.18.0.11 udp sport $second counter; }
}
NFT
net=$(zt_ctl_network '{"name":"push","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.5.10","ipRangeEnd":"198.19.5.100"}],
	"routes":[{"target":"198.19.5.0/24"}]}')
join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
# a's udp also binds a secondary port (wire.md §7.8 point 2)
zt_networks=$join zt_udp=off \
	zt_transports='  - { use: udp, listen: ["0.0.0.0:9993"], secondary-port: auto }' zt_start a
zt_networks=$join zt_udp=on zt_transports= zt_start b
zt_authorize true a b
for n in a b; do zt_wait 30 zt_is_status $n OK || bail "$n not configured ($(zt_net_status $n))"; done
ipb=$(zt_net_ip b)
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a pings b, relayed by the root"
# on_link NAME PEER-NAME: NAME's preferred path to PEER is on their own link
on_link() {
	zt_api "$1" "http://127.0.0.1:9993/peer/$(zt_address "$2")" |
		jq -e '.paths[] | select(.preferred) | .address | startswith("198.18.5.")'
}
zt_wait 60 on_link a b; ok $? "a ends with a direct path to b on their link"
zt_wait 60 on_link b a; ok $? "b ends with a direct path to a on their link"
zt_api root "http://127.0.0.1:9993/peer/$(zt_address a)" | grep -q '198\.18\.5\.'
ok $(( $? == 0 )) "the root never saw that link"
# (b's push may have done it before a's first ping check came: wait for a's)
pushed() { [ "$(zt_counter a paths_pushed)" -gt 0 ] && [ "$(zt_counter b paths_pushed)" -gt 0 ]; }
zt_wait 30 pushed; ok $? "both sent PUSH_DIRECT_PATHS (a $(zt_counter a paths_pushed), b $(zt_counter b paths_pushed))"
ns_exec a ss -Hlun | grep -q "0.0.0.0:$second "; ok $? "a's udp binds its secondary port $second (20000 + address mod 45500)"
# (which of a's two ports the root keeps as its path is a race: as 1.14,
# it keeps one alive path per address)
from_second() { ns_exec root nft list table ip seen | grep -q 'packets [1-9]'; }
zt_wait 30 from_second; ok $? "a's full HELLOs reach the root from its secondary port too"
[ $tap_failed -eq 0 ] || { zt_log a; zt_log b; }
tap_done
