#!/bin/sh
# Frames of every size arrive intact: t/framecheck sends, on a member's
# TAP port, IPv4 and IPv6 TCP, UDP and ICMP echo frames of every length,
# untagged and with an 802.1Q tag (VID 5), and captures them on the other
# member's port, checking each byte for byte.  a and b have offloads on,
# c has them off; a to b, a to c and c to a.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0, offload: true]
#                              |-- b 198.18.0.12 [zt0, offload: true]
#                              \-- c 198.18.0.13 [zt0, offload: false]
#
# Bounds, for the network's MTU of 2800 (the controller's default):
#  - zt carries a frame whose payload after the 14-byte Ethernet header is
#    at most the MTU; an 802.1Q tag comes on top (zt_frame_fits), as on
#    any Ethernet: a VLAN device on zt0 has zt0's MTU and sends frames of
#    MTU + 18 bytes.  The receiving member drops longer frames and counts
#    them (bad_frames).
#  - Linux's AF_PACKET sends frames up to the device's MTU + 14, + 18 with
#    an 802.1Q tag; the tap module reads and writes as much (tx_oversize
#    beyond), into buffers of MTU + 18 bytes.
#  So untagged frames run from 60 to 2814 bytes, tagged ones to 2818; a
#  kind whose headers need more starts there (IPv6 UDP and ICMPv6 at 62,
#  66 tagged; IPv6 TCP at 74, 78 tagged).  Over the bound (2815 to 2818
#  untagged, 2819 to 2822 tagged), sent after raising the sender's device
#  MTU by 4: nothing arrives from a (tagged: too long for a's buffers,
#  rx_oversize; untagged: b's bad_frames); from c the untagged ones are
#  a's bad_frames and the tagged ones c's rx_oversize.
#
# framecheck's addresses, 198.19.254.1 -> .2 and fd00:7a74:fc::1 -> ::2,
# are nobody's: the receiving kernel (forwarding off) drops the frames
# without answering.
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
ns_framecheck
kinds="ipv4-tcp ipv4-udp ipv4-icmp ipv6-tcp ipv6-udp ipv6-icmp"
plan $((4 + 3 * 12 + 6 + 1))

zt_lab a:11 b:12 c:13

net=$(zt_ctl_network '{"name":"frames","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.3.10","ipRangeEnd":"198.19.3.100"}],
	"routes":[{"target":"198.19.3.0/24"}]}')
like "$net" "^$(zt_address ctl)[0-9a-f]{6}\$" "the controller creates a network ($net)"

for n in a:true b:true c:false; do
	zt_networks="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0, offload: ${n#*:} }" zt_start "${n%:*}"
	zt_authorize true "${n%:*}"
done
for n in a b c; do zt_wait 30 zt_is_status $n OK || bail "$n is not configured ($(zt_net_status $n))"; done
mtus=""
for n in a b c; do
	eval "mac_$n=\$(ns_exec $n cat /sys/class/net/zt0/address)"
	mtus="$mtus $(ns_exec $n cat /sys/class/net/zt0/mtu)"
	# the frames' addresses are nobody's: dropped quietly, never forwarded
	ns_exec $n sysctl -q -w net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
done
is "$mtus" " 2800 2800 2800" "the ports' MTU is the network's, 2800"
like "$(grep 'zt0: index' "$ns_tmp/a/log") / $(grep 'zt0: index' "$ns_tmp/c/log")" \
	"offloads on.* / .*offloads off" "a's port has offloads on, c's off"
ip4_b=$(zt_net_ip b)
ip4_c=$(zt_net_ip c)
# the first unicast between two members waits for their paths: let them form
zt_wait 20 ns_exec a ping -c 1 -W 1 "$ip4_b" && zt_wait 20 ns_exec a ping -c 1 -W 1 "$ip4_c" &&
	zt_wait 20 ns_exec c ping -c 1 -W 1 -I zt0 "$(zt_api a "http://127.0.0.1:9993/network/$net" |
		jq -r '.assignedAddresses[0]' | cut -d/ -f1)"
ok $? "a reaches b and c, c reaches a"

# frames FROM TO [framecheck options]: FROM sends every frame to TO, which
# captures them for $fc_wait s at most, with $fc_recv (options of the
# receiver only); the output of both is in $ns_tmp/FROM-TO.  The sender
# stays at most 256 frames ahead of what the receiver took (--progress):
# on a busy machine a ztd that waits for the CPU must not lose frames in
# a full TAP queue or UDP socket.
fc_wait=30 fc_recv=""
frames() {
	from=$1 to=$2; shift 2
	out=$ns_tmp/$from-$to
	rm -f "$out.ready"
	eval "src=\$mac_$from dst=\$mac_$to"
	ns_exec "$to" "$fc" recv zt0 "$src" "$fc_wait" --ready "$out.ready" --progress "$out.progress" \
		$fc_recv "$@" > "$out" 2>&1 &
	rpid=$!
	zt_wait 5 test -e "$out.ready" || diag "framecheck recv in $to is not ready"
	ns_exec "$from" "$fc" send zt0 "$dst" --progress "$out.progress" --window 256 --pause-us 0 "$@" \
		> "$out.send" 2>&1 || sed 's/^/# /' "$out.send"
	wait $rpid
	st=$?
	[ $st -eq 0 ] || [ -n "$fc_recv" ] ||
		diag "$from's zt0 dropped $(ns_exec "$from" cat /sys/class/net/zt0/statistics/tx_dropped)," \
			"$to's UDP sockets $(ns_exec "$to" awk '/^Udp:/ { if (!c) { for (i = 1; i <= NF; i++)
				if ($i == "RcvbufErrors") c = i } else print $c }' /proc/net/snmp) datagrams dropped"
	return $st
}

# every kind FROM TO: one assertion per kind, naming it and the direction
every_kind() {
	for t in "" +vlan; do
		[ -z "$t" ] && max=2814 || max=2818
		for k in $kinds; do
			line=$(grep "^$k$t " "$ns_tmp/$1-$2")
			re="^$k${t:+\\+vlan} [0-9]+\.\.$max: ([0-9]+)/\1 intact, 0 corrupted, 0 missing, 0 duplicates\$"
			like "$line" "$re" "$k$t frames of every size to $max bytes from $1 to $2 arrive intact"
			printf '%s' "$line" | grep -Eq -- "$re" ||
				grep "^  $k$t \|^  corrupted: $k$t " "$ns_tmp/$1-$2" | sed 's/^/# /'
		done
	done
}

start=$(date +%s)
frames a b
every_kind a b
frames a c
every_kind a c
frames c a
every_kind c a
diag "the frames took $(($(date +%s) - start)) s"

# over_bound FROM TO KINDS: FROM's device takes 4 bytes more for a moment (the
# network's MTU stays), and sends frames 1 to 4 bytes over the bound
over_bound() {
	ns_exec "$1" ip link set zt0 mtu 2804
	fc_wait=3 fc_recv=--absent
	frames "$1" "$2" --kinds "$3" --min 2815 --max 2818 --min-tagged 2819 --max-tagged 2822 --quiet
	st=$?
	fc_wait=30 fc_recv=""
	ns_exec "$1" ip link set zt0 mtu 2800
	[ $st -eq 0 ] || sed 's/^/# /' "$ns_tmp/$1-$2"
	return $st
}

# a (offloads on): its port drops the tagged ones, which do not fit its
# buffers (rx_oversize); b's network drops the others (bad_frames)
bad_b=$(zt_module_counter b bad_frames) dropped_a=$(zt_module_counter a rx_oversize)
over_bound a b all
ok $? "frames 1 to 4 bytes over the bound from a to b do not arrive (12 kinds, 4 sizes)"
is "$(($(zt_module_counter b bad_frames) - bad_b)) $(($(zt_module_counter a rx_oversize) - dropped_a))" "24 24" \
	"b counts the 24 untagged ones as bad frames, a's port the 24 tagged ones as rx_oversize"
# c (offloads off)
bad_a=$(zt_module_counter a bad_frames)
over_bound c a untagged
ok $? "untagged frames 1 to 4 bytes over the bound from c to a do not arrive"
is "$(($(zt_module_counter a bad_frames) - bad_a))" 24 "a counts the 24 as bad frames"
# c (offloads off) reads with a spare byte past its buffer of MTU + 18
# bytes: a longer frame is dropped whole, not cut and sent on.
dropped_c=$(zt_module_counter c rx_oversize)
over_bound c a tagged
ok $? "tagged frames 1 to 4 bytes over the bound from c to a do not arrive"
is "$(($(zt_module_counter c rx_oversize) - dropped_c))" 24 "c's port counts the 24 as rx_oversize"

! grep -q 'Sanitizer\|runtime error' "$ns_tmp"/*/log
ok $? "no sanitizer reports in the logs"
[ $tap_failed -eq 0 ] || { zt_log a; zt_log b; zt_log c; }
tap_done
