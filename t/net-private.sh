#!/bin/sh
# A private network run by a zt controller: two nodes join it with real
# TAP ports.  Before authorization they get no address and no frames pass;
# once authorized they get addresses from the pool, and ARP, IPv4 ping and
# a TCP transfer cross the virtual network.  A third node that is not a
# member sees nothing.  Deauthorizing a member cuts it off.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0]
#                              |-- b 198.18.0.12 [zt0]
#                              \-- x 198.18.0.13 (not a member)
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 15

zt_lab a:11 b:12 x:13

net=$(zt_ctl_network '{"name":"lab","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.1.10","ipRangeEnd":"198.19.1.100"}],
	"routes":[{"target":"198.19.1.0/24"}]}')
like "$net" "^$(zt_address ctl)[0-9a-f]{6}\$" "the controller creates a network ($net)"

join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
zt_networks=$join zt_start a
zt_networks=$join zt_start b
zt_networks="networks:
  - id: \"$(zt_address ctl)0000ff\"
    iface: { use: tap, name: zt0 }" zt_start x

zt_wait 30 zt_is_status a ACCESS_DENIED; ok $? "a is refused before authorization ($(zt_net_status a))"
is "$(ns_exec a ip -4 -o addr show dev zt0 | wc -l)" 0 "a has no address before authorization"

zt_authorize true a b
zt_wait 30 zt_is_status a OK; ok $? "a is configured once authorized"
zt_wait 30 zt_is_status b OK; ok $? "b is configured once authorized"
ipa=$(zt_net_ip a); ipb=$(zt_net_ip b)
like "$ipa $ipb" '^198\.19\.1\.[0-9]+ 198\.19\.1\.[0-9]+$' "addresses from the pool ($ipa, $ipb)"
zt_wait 10 sh -c "ip netns exec $(ns_name a) ip -4 -o addr show dev zt0 | grep -q '$ipa/24'"
ok $? "a's TAP port carries $ipa/24"

zt_wait 20 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a pings b over the network (ARP resolved)"
ns_exec a ping -c 5 -i 0.2 -W 1 "$ipb" > "$ns_tmp/ping" 2>&1
like "$(cat "$ns_tmp/ping")" " 0% packet loss" "five pings, none lost"
like "$(ns_exec a ip neigh show "$ipb" dev zt0)" "lladdr" "a's ARP table knows b"

head -c 4000000 /dev/urandom > "$ns_tmp/blob"
ns_exec b sh -c "timeout 30 nc -l -p 5555 > '$ns_tmp/got'" &
sleep 0.5
ns_exec a sh -c "timeout 30 nc -q 1 '$ipb' 5555 < '$ns_tmp/blob'"
wait $!
is "$(sha256sum < "$ns_tmp/got")" "$(sha256sum < "$ns_tmp/blob")" "4 MB over TCP arrive intact"
aes=$(zt_counter a tx_aes_gmac_siv) salsa=$(zt_counter a tx_salsa2012)
if [ "${ZT_FASTPATH:-on}" = off ]; then
	ok $(( !(aes == 0 && salsa > 0) )) "with cipher: salsa2012, a sends Salsa20/12-Poly1305 only ($salsa packets)"
else
	ok $(( !(aes > 100) )) "a sends AES-GMAC-SIV to zt peers ($aes packets; $salsa in Salsa20/12 before a peer's version is known)"
fi

ns_exec x ping -c 2 -W 1 "$ipb" > /dev/null 2>&1
ok $(( $? == 0 )) "a node outside the network reaches nothing"

zt_authorize false b
blocked() { ! ns_exec a ping -c 1 -W 1 "$ipb" > /dev/null 2>&1; }
zt_wait 60 blocked; ok $? "a deauthorized member is cut off"
zt_authorize true b
zt_wait 90 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "reauthorized, it is reachable again"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log a; zt_log b; }
tap_done
