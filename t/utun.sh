#!/bin/sh
# The utun iface end to end: a and c have layer-3 (tun) ports, b a TAP
# port, on a network that assigns IPv4 addresses, rfc4193 and 6PLANE.
# a's and c's ztd put Ethernet headers on their hosts' IP packets (ARP
# and neighbour solicitations for unknown next hops, 6PLANE and rfc4193
# MACs computed) and answer ARP and solicitations for their own
# addresses; pings cross both ways over IPv4, rfc4193 and 6PLANE, and
# through a route whose gateway is b.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0 utun]
#                              |-- b 198.18.0.12 [zt0 tap, 198.19.4.12, 198.19.5.1 on lo]
#                              \-- c 198.18.0.13 [zt0 utun]
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 20

zt_lab a:11 b:12 c:13

net=$(zt_ctl_network '{"name":"utun","private":true,"v4AssignMode":{"zt":true},
	"v6AssignMode":{"rfc4193":true,"6plane":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.4.20","ipRangeEnd":"198.19.4.200"}],
	"routes":[{"target":"198.19.4.0/24"},{"target":"198.19.5.0/24","via":"198.19.4.12"}]}')
for n in a:utun b:tap c:utun; do
	zt_networks="networks:
  - id: \"$net\"
    iface: { use: ${n#*:}, name: zt0 }" zt_start "${n%:*}"
done
zt_authorize true a c
ctl_api -X POST -d '{"authorized":true,"ipAssignments":["198.19.4.12"]}' \
	"http://127.0.0.1:9993/controller/network/$net/member/$(zt_address b)" > /dev/null
for n in a b c; do zt_wait 30 zt_is_status $n OK || bail "$n is not configured ($(zt_net_status $n))"; done
ok 0 "a, b and c are configured"

# addr NAME PATTERN: NAME's assigned address matching, without the length
addr() { zt_api "$1" "http://127.0.0.1:9993/network/$net" | jq -r ".assignedAddresses[] | select(test(\"$2\"))" | cut -d/ -f1; }
has6plane() { [ -n "$(addr "$1" '^fc')" ]; }
for n in a b c; do
	zt_wait 20 has6plane $n
	eval "v4_$n=\$(addr $n '^198')"
	eval "fd_$n=\$(addr $n '^fd')"
	eval "fc_$n=\$(addr $n '^fc')"
done
like "$v4_a $fd_a $fc_a" '^198\.19\.4\.[0-9]+ fd[0-9a-f:]+ fc[0-9a-f:]+$' "a has IPv4, rfc4193 and 6PLANE addresses ($v4_a, $fd_a, $fc_a)"

like "$(ns_exec a ip -d link show dev zt0)" "tun type tun" "a's zt0 is a tun device"
has() { ns_exec "$1" ip -o addr show dev zt0 | grep -q " $2/"; }
zt_wait 20 has a "$v4_a" && zt_wait 20 has a "$fd_a" && zt_wait 20 has a "$fc_a"
ok $? "a's zt0 has the three addresses"
zt_wait 20 sh -c "ip -n $(ns_name a) route show dev zt0 | grep -q '198.19.5.0/24 via 198.19.4.12'"
ok $? "a's zt0 has the route through b"
zt_wait 20 has b "$fc_b" && zt_wait 20 has c "$fc_c" && zt_wait 20 has b "$fd_b"
ns_exec b ip addr add 198.19.5.1/32 dev lo

ping_ok() { zt_wait 20 ns_exec "$1" ping -c 1 -W 1 "$2"; }
# b first: its host asks for a's MAC, which a's ztd answers
ping_ok b "$v4_a"; ok $? "b (tap) pings a (utun) over IPv4"
ping_ok a "$v4_b"; ok $? "a pings b over IPv4"
ping_ok a "$v4_c"; ok $? "a pings c (utun) over IPv4"
ping_ok c "$v4_a"; ok $? "c pings a over IPv4"
ping_ok a "$fd_b"; ok $? "a pings b's rfc4193 address"
ping_ok b "$fd_a"; ok $? "b pings a's rfc4193 address"
ping_ok a "$fc_b"; ok $? "a pings b's 6PLANE address"
ping_ok b "$fc_a"; ok $? "b pings a's 6PLANE address"
ping_ok c "$fc_a"; ok $? "c pings a's 6PLANE address"
ping_ok a "$fd_c"; ok $? "a pings c's rfc4193 address"
ping_ok a 198.19.5.1; ok $? "a pings 198.19.5.1 through the route via b"

amac=$(zt_api a "http://127.0.0.1:9993/network/$net" | jq -r .mac)
like "$(ns_exec b ip neigh show "$v4_a" dev zt0)" "lladdr $amac" "b's ARP found a's MAC: a's ztd answered for a"
asked=$(zt_module_counter a neigh_asked) answered=$(zt_module_counter a neigh_answered) learned=$(zt_module_counter a neigh_learned)
ok $(( !(asked >= 1 && answered >= 1 && learned >= 2) )) \
	"a asked the network ($asked), answered it ($answered), learned MACs ($learned)"
zt_stop a
! ip -n "$(ns_name a)" link show zt0 > /dev/null 2>&1
ok $? "a's zt0 goes with a's ztd"
! grep -q 'Sanitizer\|runtime error' "$ns_tmp/a/log" "$ns_tmp/b/log" "$ns_tmp/c/log"
ok $? "no sanitizer reports in the members' logs"
[ $tap_failed -eq 0 ] || { zt_log a; zt_log c; }
tap_done
