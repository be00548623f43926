#!/bin/sh
# NDP emulation on TAP: on a network that assigns rfc4193 and 6PLANE
# addresses, a host's neighbour solicitations for another member's such
# address are answered by its ztd, which writes the neighbour
# advertisement into the TAP port in the member's name; ping6 crosses the
# network both ways on both addresses, and no solicitation for a member's
# address arrives from the network at the other member.
#
#   root 198.18.0.1 --- underlay --- ctl 198.18.0.2 (controller)
#                                |-- a 198.18.0.11 [zt0 rfc4193, 6PLANE]
#                                \-- b 198.18.0.12 [zt0 rfc4193, 6PLANE]
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v tcpdump > /dev/null || bail "needs tcpdump (scripts/setup.sh)"
plan 9

zt_lab a:11 b:12

net=$(zt_ctl_network '{"name":"v6","private":true,"v6AssignMode":{"rfc4193":true,"6plane":true}}')
join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
zt_networks=$join zt_start a
zt_networks=$join zt_start b
zt_authorize true a b
zt_wait 30 zt_is_status a OK && zt_wait 30 zt_is_status b OK
ok $? "a and b are configured"

# addr NAME PREFIX: NAME's assigned address starting so, without the length
addr() { zt_api "$1" "http://127.0.0.1:9993/network/$net" | jq -r ".assignedAddresses[] | select(startswith(\"$2\"))" | cut -d/ -f1; }
a4193=$(addr a fd) b4193=$(addr b fd) a6p=$(addr a fc) b6p=$(addr b fc)
like "$b4193 $b6p" '^fd[0-9a-f:]+ fc[0-9a-f:]+$' "b has an rfc4193 and a 6PLANE address ($b4193, $b6p)"

# what arrives at b's host from the network while the pings run:
# multicast solicitations, and echo requests to show it sees traffic
ns_exec b tcpdump -l -n -Q in -i zt0 '(icmp6 and ip6[40] == 135 and ip6 multicast) or (icmp6 and ip6[40] == 128)' \
	> "$ns_tmp/ns-in" 2> "$ns_tmp/tcpdump.err" &
ns_pids="$ns_pids $!"
zt_wait 20 grep -q "listening on" "$ns_tmp/tcpdump.err" || bail "tcpdump did not start: $(cat "$ns_tmp/tcpdump.err")"

up() { ns_exec "$1" ip -6 -o addr show dev zt0 | grep -v tentative | grep -q "$2"; }
zt_wait 20 up a "$a4193" && zt_wait 20 up a "$a6p" && zt_wait 20 up b "$b4193" && zt_wait 20 up b "$b6p"
zt_wait 20 ns_exec a ping -6 -c 1 -W 1 "$b4193"; ok $? "a pings b's rfc4193 address"
zt_wait 20 ns_exec a ping -6 -c 1 -W 1 "$b6p"; ok $? "a pings b's 6PLANE address"
zt_wait 20 ns_exec b ping -6 -c 1 -W 1 "$a4193"; ok $? "b pings a's rfc4193 address"
zt_wait 20 ns_exec b ping -6 -c 1 -W 1 "$a6p"; ok $? "b pings a's 6PLANE address"
bmac=$(zt_api b "http://127.0.0.1:9993/network/$net" | jq -r .mac)
like "$(ns_exec a ip -6 neigh show "$b6p" dev zt0)" "lladdr $bmac" "a's neighbour table has b's MAC for its 6PLANE address"
emulated=$(zt_inst_counter a "network@$net" ndp_emulated)
ok $(( !(emulated >= 2) )) "a's ztd answered its host's solicitations itself ($emulated ndp_emulated)"
zt_wait 10 grep -q "echo request" "$ns_tmp/ns-in"
is "$(grep -c -E "who has ($b4193|$b6p)" "$ns_tmp/ns-in") $(grep -c "echo request" "$ns_tmp/ns-in" | sed 's/^[1-9][0-9]*$/some/')" "0 some" \
	"no multicast solicitation for b's addresses arrived at b from the network (echo requests did)"
[ $tap_failed -eq 0 ] || { zt_log a; zt_log b; sed 's/^/# /' "$ns_tmp/ns-in"; }
tap_done
