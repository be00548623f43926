#!/bin/sh
# TAP offloads end to end: a and b have offloads on (the host hands them
# TCP super-frames and frames without checksums, which they cut and fill
# in), c has them off.  200 MB from a to b and 20 MB each way between a
# and c arrive intact; IPv4 and IPv6 pings of many sizes are answered.
# b merges the TCP segments of the 200 MB for its host (GRO).
# With ZT_IPERF=1, iperf3 measures a to b for 5 s (ZT_OFFLOAD_AB=false
# turns a's and b's offloads off, ZT_GRO_AB=false only their GRO, for a
# comparison).
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0, offload: true]
#                              |-- b 198.18.0.12 [zt0, offload: true]
#                              \-- c 198.18.0.13 [zt0, offload: false]
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v nc > /dev/null || skip_all "needs nc"
plan 17

zt_lab a:11 b:12 c:13

net=$(zt_ctl_network '{"name":"offload","private":true,"v4AssignMode":{"zt":true},
	"v6AssignMode":{"rfc4193":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.2.10","ipRangeEnd":"198.19.2.100"}],
	"routes":[{"target":"198.19.2.0/24"}]}')
like "$net" "^$(zt_address ctl)[0-9a-f]{6}\$" "the controller creates a network ($net)"

ab=${ZT_OFFLOAD_AB:-true}
gro=${ZT_GRO_AB:-true}
for n in a:$ab b:$ab c:false; do
	zt_networks="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0, offload: ${n#*:}, gro: $gro }" zt_start "${n%:*}"
	zt_authorize true "${n%:*}"
done
for n in a b c; do zt_wait 30 zt_is_status $n OK || bail "$n is not configured ($(zt_net_status $n))"; done
ip_of() {
	zt_api "$1" "http://127.0.0.1:9993/network/$net" |
		jq -r ".assignedAddresses[] | select(test(\"$2\"))" | cut -d/ -f1
}
for n in a b c; do
	eval "ip4_$n=\$(ip_of $n '\\\\.')"
	eval "ip6_$n=\$(ip_of $n :)"
done
like "$ip4_a $ip4_b $ip4_c" '^198\.19\.2\.[0-9]+ 198\.19\.2\.[0-9]+ 198\.19\.2\.[0-9]+$' \
	"IPv4 addresses ($ip4_a, $ip4_b, $ip4_c)"
like "$ip6_a $ip6_b $ip6_c" '^fd[0-9a-f:]+ fd[0-9a-f:]+ fd[0-9a-f:]+$' "IPv6 addresses ($ip6_a, $ip6_b, $ip6_c)"
[ "$ab" = true ] && onoff=on || onoff=off
[ "$ab" = true ] && [ "$gro" = true ] && groonoff=on || groonoff=off
like "$(grep 'zt0: index' "$ns_tmp/a/log") / $(grep 'zt0: index' "$ns_tmp/c/log")" \
	"offloads $onoff, gro $groonoff / .*offloads off, gro off" \
	"a's port has offloads $onoff and gro $groonoff, c's both off"
for n in a b c; do
	eval "ip6=\$ip6_$n"
	zt_wait 10 sh -c "ip -n $(ns_name $n) -6 addr show dev zt0 | grep -v tentative | grep -q '$ip6'"
done
zt_wait 20 ns_exec a ping -c 1 -W 1 "$ip4_b"; ok $? "a pings b"
zt_wait 20 ns_exec a ping -c 1 -W 1 "$ip4_c"; ok $? "a pings c"

# transfer FROM TO MB: sha256 of what TO got equals what FROM sent
transfer() {
	head -c "$(($3 * 1048576))" /dev/urandom > "$ns_tmp/blob"
	eval "to=\$ip4_$2"
	ns_exec "$2" sh -c "timeout 60 nc -l -p 5556 > '$ns_tmp/got'" &
	lpid=$!
	zt_wait 5 sh -c "ip netns exec $(ns_name "$2") ss -ltn | grep -q ':5556 '"
	ns_exec "$1" sh -c "timeout 60 nc -q 1 '$to' 5556 < '$ns_tmp/blob'"
	wait $lpid
	is "$(sha256sum < "$ns_tmp/got")" "$(sha256sum < "$ns_tmp/blob")" "$3 MB from $1 to $2 arrive intact"
}
transfer a b 200
transfer a c 20
transfer c a 20

if [ "$ab" = true ]; then
	segs=$(zt_module_counter a tso_segments); frames=$(zt_module_counter a tso_frames)
	ok $(( !(frames > 0 && segs > frames) )) "a cut super-frames: $frames into $segs segments"
	fixed=$(zt_module_counter a csum_fixed)
	ok $(( !(fixed > 0) )) "a filled in checksums the host left: $fixed frames"
	if [ "$gro" = true ]; then
		segs=$(zt_module_counter b gro_segments); frames=$(zt_module_counter b gro_frames)
		ok $(( !(frames > 0 && segs > frames) )) "b merged segments for its host: $segs into $frames frames"
	else
		ok 0 "b merged segments # SKIP gro off"
	fi
else
	ok 0 "a cut super-frames # SKIP offloads off"
	ok 0 "a filled in checksums # SKIP offloads off"
	ok 0 "b merged segments # SKIP offloads off"
fi

# pingsizes FROM TO-ADDRESS SIZES: every size answered; prints the lost ones
pingsizes() {
	from=$1 to=$2; shift 2
	lost=""
	for s; do
		ns_exec "$from" ping -c 1 -W 2 -s "$s" "$to" > /dev/null 2>&1 ||
			ns_exec "$from" ping -c 1 -W 2 -s "$s" "$to" > /dev/null 2>&1 || lost="$lost $s"
	done
	echo "${lost:- none}"
}
sizes="0 1 2 7 8 9 63 64 65 100 $(seq 211 211 2700) 1232 1252 1452 1472 1473 2000 2700"
sizes6="0 1 8 64 100 $(seq 211 211 2700) 1232 1452 1453 2000 2680"
is "$(pingsizes a "$ip4_b" $sizes)" " none" "IPv4 pings of 0 to 2700 bytes from a to b, all answered"
is "$(pingsizes c "$ip4_a" $sizes)" " none" "IPv4 pings of 0 to 2700 bytes from c to a, all answered"
is "$(pingsizes a "$ip6_b" $sizes6)" " none" "IPv6 pings of 0 to 2680 bytes from a to b, all answered"
is "$(pingsizes c "$ip6_a" $sizes6)" " none" "IPv6 pings of 0 to 2680 bytes from c to a, all answered"

if [ -n "${ZT_IPERF:-}" ] && command -v iperf3 > /dev/null; then
	ns_exec b iperf3 -s -1 -D > /dev/null 2>&1
	sleep 0.5
	diag "iperf3 a to b, offloads $ab, gro $gro: $(ns_exec a iperf3 -c "$ip4_b" -t 5 -f m 2>&1 | grep receiver)"
	ns_exec c iperf3 -s -1 -D > /dev/null 2>&1
	sleep 0.5
	diag "iperf3 a to c (c offloads off): $(ns_exec a iperf3 -c "$ip4_c" -t 5 -f m 2>&1 | grep receiver)"
	for n in a b; do
		diag "$n: $(zt_api $n http://127.0.0.1:9993/metrics |
			sed -n 's/^zt_\(gso_[a-z]*\|gro_[a-z]*\|[rt]x_dgrams\)_total{instance="udp"} /\1=/p' | tr '\n' ' ')"
	done
fi
! grep -q 'Sanitizer\|runtime error' "$ns_tmp/a/log" "$ns_tmp/b/log" "$ns_tmp/c/log"
ok $? "no sanitizer reports in the members' logs"
[ $tap_failed -eq 0 ] || { zt_log a; zt_log b; zt_log c; }
tap_done
