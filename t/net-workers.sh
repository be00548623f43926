#!/bin/sh
# Data-path workers (node workers): a and b run four loops each, with a
# queue of the udp socket and of the TAP port per worker; c runs one.  a
# joins from its config, b at run time through the API (its port's queues
# start on running workers).  Eight TCP streams a -> b spread over a's TAP
# queues and arrive intact; a and c (no workers) talk both ways; nothing
# is dropped between the lanes; b leaves and joins again; both stop cleanly.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0, workers: 4]
#                              |-- b 198.18.0.12 [zt0 joined by API, workers: 4]
#                              \-- c 198.18.0.13 [zt0, workers: 1]
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v nc > /dev/null || skip_all "needs nc"
plan 18

zt_lab a:11 b:12 c:13

net=$(zt_ctl_network '{"name":"workers","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.3.10","ipRangeEnd":"198.19.3.100"}],
	"routes":[{"target":"198.19.3.0/24"}]}')
like "$net" "^$(zt_address ctl)[0-9a-f]{6}\$" "the controller creates a network ($net)"

join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
zt_node_extra="workers: 4" zt_networks=$join zt_start a
zt_node_extra="workers: 4" zt_start b
zt_node_extra="workers: 1" zt_networks=$join zt_start c
zt_api b -X POST "http://127.0.0.1:9993/network/$net" > /dev/null

zt_authorize true a b c
zt_wait 30 zt_is_status a OK && zt_wait 30 zt_is_status b OK && zt_wait 30 zt_is_status c OK
ok $? "a, b (joined at run time) and c are configured"
ipa=$(zt_net_ip a); ipb=$(zt_net_ip b); ipc=$(zt_net_ip c)
port_b=$(zt_api b "http://127.0.0.1:9993/network/$net" | jq -r .portDeviceName)
zt_wait 20 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a pings b"

# eight streams: the host spreads its flows over a's TAP queues
head -c 8000000 /dev/urandom > "$ns_tmp/blob"
jobs=""
for i in 1 2 3 4 5 6 7 8; do
	ns_exec b sh -c "timeout 60 nc -l -p 600$i > '$ns_tmp/got$i'" &
	jobs="$jobs $!"
done
sleep 0.5
for i in 1 2 3 4 5 6 7 8; do
	ns_exec a sh -c "timeout 60 nc -q 1 '$ipb' 600$i < '$ns_tmp/blob'" &
	jobs="$jobs $!"
done
for j in $jobs; do wait "$j"; done
intact=0
for i in 1 2 3 4 5 6 7 8; do
	cmp -s "$ns_tmp/got$i" "$ns_tmp/blob" && intact=$((intact + 1))
done
is "$intact" 8 "eight 8 MB TCP streams a -> b arrive intact"

# one peer, one lane: b's datagrams reach one of a's sockets (SO_REUSEPORT
# hashes the addresses), that lane writes the ACKs to its TAP queue, and
# the host sends each flow out of the queue it last came in on
busiest() {   # NAME INSTANCE KEY: the suffix ("", /q1..) of the busiest queue
	best="" max=-1
	for q in "" /q1 /q2 /q3; do
		v=$(zt_inst_counter "$1" "$2$q" "$3")
		[ "$v" -gt "$max" ] && max=$v best=$q
	done
	echo "${best:-main}"
}
is "$(busiest a "tap@$net" rx_frames)" "$(busiest a udp rx_dgrams)" \
	"a's flows leave through the TAP queue of the lane that receives b"
fast=$(zt_counter a tx_fast)
ok $(( !(fast > 10000) )) "a's frames to b take the fast path ($fast packets)"
fast=$(zt_counter b rx_fast)
ok $(( !(fast > 10000) )) "b delivers a's frames on the fast path ($fast packets)"
zt_api b http://127.0.0.1:9993/metrics > "$ns_tmp/metrics_b"
frames=$(awk '/^zt_packet\{direction="rx",packet_type="(ext_)?frame"\} / { s += $2 } END { print s + 0 }' "$ns_tmp/metrics_b")
ok $(( !(frames >= fast) )) "b's zt_packet counts the frames its worker lanes took ($frames)"
from_a=$(sed -n "s/^zt_peer_packets{direction=\"rx\",node_id=\"$(zt_address a)\"} //p" "$ns_tmp/metrics_b")
ok $(( !(${from_a:-0} >= fast) )) "... and zt_peer_packets those from a ($from_a)"
is "$(zt_counter a handoff_dropped)/$(zt_counter b handoff_dropped)" "0/0" "no hand-off to the main loop dropped"
is "$(grep -c "tap@$net/q[123]: .*queue open" "$ns_tmp/b/log")" 3 \
	"b's port, joined at run time, got a queue on each worker"

head -c 4000000 /dev/urandom > "$ns_tmp/blob2"
ns_exec c sh -c "timeout 30 nc -l -p 5555 > '$ns_tmp/got_c'" &
sleep 0.5
ns_exec a sh -c "timeout 30 nc -q 1 '$ipc' 5555 < '$ns_tmp/blob2'"
wait $!
is "$(sha256sum < "$ns_tmp/got_c")" "$(sha256sum < "$ns_tmp/blob2")" "4 MB a -> c (one loop) arrive intact"
ns_exec a sh -c "timeout 30 nc -l -p 5556 > '$ns_tmp/got_a'" &
sleep 0.5
ns_exec c sh -c "timeout 30 nc -q 1 '$ipa' 5556 < '$ns_tmp/blob2'"
wait $!
is "$(sha256sum < "$ns_tmp/got_a")" "$(sha256sum < "$ns_tmp/blob2")" "4 MB c -> a arrive intact"
ns_exec c ping -c 5 -i 0.2 -W 1 "$ipb" > "$ns_tmp/ping" 2>&1
like "$(cat "$ns_tmp/ping")" " 0% packet loss" "c pings b, none lost"

zt_api b -X DELETE "http://127.0.0.1:9993/network/$net" > /dev/null
gone() { ! ns_exec b ip link show "$port_b" > /dev/null 2>&1; }
zt_wait 10 gone; ok $? "b leaves: its port and queues are gone"
zt_api b -X POST "http://127.0.0.1:9993/network/$net" > /dev/null
zt_wait 30 zt_is_status b OK && zt_wait 20 ns_exec a ping -c 1 -W 1 "$ipb"
ok $? "b joins again and a reaches it"

for n in a b; do
	eval "pid=\$zt_pid_$n"
	kill -TERM "$pid"
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null && grep -q "info: stopped" "$ns_tmp/$n/log"
	ok $? "$n stops cleanly with its workers"
done
[ $tap_failed -eq 0 ] || { zt_log a; zt_log b; }
tap_done
