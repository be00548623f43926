#!/bin/sh
# The utun iface end to end: a and c have layer-3 (tun) ports, b a TAP
# port, on a network that assigns IPv4 addresses, rfc4193 and 6PLANE.
# a's and c's ztd put Ethernet headers on their hosts' IP packets (ARP
# and neighbour solicitations for unknown next hops, 6PLANE and rfc4193
# MACs computed) and answer ARP and solicitations for their own
# addresses; pings cross both ways over IPv4, rfc4193 and 6PLANE, and
# through a route whose gateway is b.  Then TCP and UDP cross both ways
# between a and b (utun and TAP) and between a and c (utun and utun) over
# the three kinds of address, while nothing is asked of the network any
# more: from the first IPv6 ping on, a's and c's neigh_asked stay where
# the IPv4 pings left them (rfc4193 and 6PLANE MACs are computed, IPv4
# ones learned), and b's nftables counters (on every frame its TAP
# gets) see no ARP request and no neighbour solicitation from a's or c's
# MAC.  a's port has offloads (its host hands it TCP
# super-packets, which it cuts, and it merges TCP segments for its host),
# c's has not.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0 utun]
#                              |-- b 198.18.0.12 [zt0 tap, 198.19.4.12, 198.19.5.1 on lo]
#                              \-- c 198.18.0.13 [zt0 utun]
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 37

zt_lab a:11 b:12 c:13

net=$(zt_ctl_network '{"name":"utun","private":true,"v4AssignMode":{"zt":true},
	"v6AssignMode":{"rfc4193":true,"6plane":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.4.20","ipRangeEnd":"198.19.4.200"}],
	"routes":[{"target":"198.19.4.0/24"},{"target":"198.19.5.0/24","via":"198.19.4.12"}]}')
# c's utun without offloads, a's with (the default), b's TAP with
for n in a:utun b:tap c:"utun, offload: false"; do
	zt_networks="networks:
  - id: \"$net\"
    iface: { use: ${n#*:}, name: zt0 }" zt_start "${n%%:*}"
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
ping_ok a 198.19.5.1; ok $? "a pings 198.19.5.1 through the route via b"

amac=$(zt_api a "http://127.0.0.1:9993/network/$net" | jq -r .mac)
cmac=$(zt_api c "http://127.0.0.1:9993/network/$net" | jq -r .mac)

# ---- from now on, no more questions to the network: the IPv4 members
# are known, rfc4193 and 6PLANE MACs are computed
asked_a=$(zt_module_counter a neigh_asked) asked_c=$(zt_module_counter c neigh_asked)
ns_exec b nft -f - <<NFT
table netdev utun_asks {
	chain ingress {
		type filter hook ingress device zt0 priority 0;
		ether saddr { $amac, $cmac } arp operation request counter
		ether saddr { $amac, $cmac } icmpv6 type nd-neighbor-solicit counter
	}
}
NFT
ok $? "b counts ARP requests and neighbour solicitations from a's and c's MACs"
ping_ok a "$fd_b"; ok $? "a pings b's rfc4193 address"
ping_ok b "$fd_a"; ok $? "b pings a's rfc4193 address"
ping_ok a "$fc_b"; ok $? "a pings b's 6PLANE address"
ping_ok b "$fc_a"; ok $? "b pings a's 6PLANE address"
ping_ok c "$fc_a"; ok $? "c pings a's 6PLANE address"
ping_ok a "$fd_c"; ok $? "a pings c's rfc4193 address"

# ---- TCP and UDP
head -c 300000 /dev/urandom > "$ns_tmp/blob"
port=6000
# serve TO ADDR PROTO SECONDS SINK: a socat in TO receiving PROTO (TCP or
# UDP) on a new port of ADDR's family into SINK, started and listening;
# sets port, v (4 or 6), dst (ADDR for socat) and srv (its pid)
serve() {
	port=$((port + 1))
	case $2 in *:*) v=6 dst="[$2]" ;; *) v=4 dst=$2 ;; esac
	case $3 in TCP) l=LISTEN ss=-Hltn ;; *) l=RECV ss=-Hlun ;; esac
	rm -f "$ns_tmp/got"
	ns_exec "$1" timeout "$4" socat -u "$3$v-$l:$port,reuseaddr" "$5" &
	srv=$!
	zt_wait 5 sh -c "ip netns exec $(ns_name "$1") ss $ss 'sport = :$port' | grep -q ."
}
# tcp_ok FROM TO ADDR: the blob from FROM to TO's ADDR over TCP, intact
tcp_ok() {
	serve "$2" "$3" TCP 20 "OPEN:$ns_tmp/got,creat,trunc"
	ns_exec "$1" timeout 15 socat -u "OPEN:$ns_tmp/blob" "TCP$v:$dst:$port" 2> /dev/null
	wait $srv
	cmp -s "$ns_tmp/blob" "$ns_tmp/got"
}
# udp_ok FROM TO ADDR: a datagram from FROM reaches TO's ADDR (sent again
# until it does, for at most 10 s)
udp_ok() {
	serve "$2" "$3" UDP 12 "OPEN:$ns_tmp/got,creat,append"
	for i in $(seq 20); do
		echo "zt-utun-$1-$2" | ns_exec "$1" socat -u - "UDP$v-SENDTO:$dst:$port" 2> /dev/null
		grep -q "zt-utun-$1-$2" "$ns_tmp/got" 2> /dev/null && break
		sleep 0.5
	done
	kill $srv 2> /dev/null; wait $srv 2> /dev/null
	grep -q "zt-utun-$1-$2" "$ns_tmp/got"
}
# both PROTO X Y KIND: PROTO from X to Y and back, over the KIND addresses
both() {
	eval "to_y=\$${4}_$3 to_x=\$${4}_$2"
	"${1}_ok" "$2" "$3" "$to_y" && "${1}_ok" "$3" "$2" "$to_x"
}
for kind in v4:IPv4 fd:rfc4193 fc:6PLANE; do
	for pair in "a b" "a c"; do
		both tcp $pair "${kind%:*}"; ok $? "TCP ${pair% *} <-> ${pair#* } both ways over ${kind#*:}"
		both udp $pair "${kind%:*}"; ok $? "UDP ${pair% *} <-> ${pair#* } both ways over ${kind#*:}"
	done
done
tso=$(zt_module_counter a tso_frames) gro=$(zt_module_counter a gro_frames)
ok $(( !(tso >= 1 && gro >= 1) )) "a cut TCP super-packets from its host ($tso) and merged segments for it ($gro)"
is "$(zt_module_counter c tso_frames) $(zt_module_counter c offload_dropped) $(zt_module_counter a offload_dropped)" "0 0 0" \
	"c, without offloads, had none to cut; neither dropped any"
is "$(zt_module_counter a neigh_asked) $(zt_module_counter c neigh_asked)" "$asked_a $asked_c" \
	"a and c asked the network nothing over IPv6, nor for IPv4 members they know ($asked_a, $asked_c)"
is "$(ns_exec b nft list ruleset | grep -o 'packets [0-9]*' | tr '\n' ' ')" "packets 0 packets 0 " \
	"b saw no ARP request nor neighbour solicitation from a or c meanwhile"

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
