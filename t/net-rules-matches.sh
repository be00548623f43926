#!/bin/sh
# Every match type and action of the flow rules on real frames between two
# members, both running the rules policy on ingress and egress: for each
# case the controller gets new rules, the test waits until both members
# have the new config, then t/framecheck sends frames from one member's
# TAP to the other's, some that the case's rules must drop and some they
# must let through, and checks on the receiving TAP that exactly those
# arrive.  framecheck's frames carry 198.19.254.1 -> .2 or
# fd00:7a74:fc::1 -> ::2, source port 0x7a70 + kind (31344 ipv4-tcp,
# 31345 ipv4-udp, ...), destination port = frame length, TCP flags PSH
# ACK, TOS 0, and a VLAN tag (ID 5, PCP 0, DEI 0) for the +vlan kinds.
#
# MATCH_INTEGER_RANGE and ACTION_PRIORITY are left to t/rules-engine: a
# 1.14 controller cannot put them in a network's rules (networks.md
# §6.5), nor can zt's.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0] tag 1 = 5, capability 1000
#                              \-- b 198.18.0.12 [zt0] tag 1 = 7
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
ns_framecheck
plan 80

zt_lab a:11 b:12
# tag 1: a 5, b 7; tag 2: 3 for both (its default).  Capability 1000
# (a's): TCP to port 100, for the BREAK case.
net=$(zt_ctl_network '{"name":"matches","private":true,
	"tags":[{"id":1,"default":0},{"id":2,"default":3}],
	"capabilities":[{"id":1000,"rules":[
		{"type":"MATCH_IP_PROTOCOL","ipProtocol":6},
		{"type":"MATCH_IP_DEST_PORT_RANGE","start":100,"end":100},
		{"type":"ACTION_ACCEPT"}]}],
	"rules":[{"type":"ACTION_ACCEPT"}]}')
like "$net" "^$(zt_address ctl)[0-9a-f]{6}\$" "the controller creates a network with tags and a capability ($net)"
join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }
    ingress: [ { use: rules } ]
    egress: [ { use: rules } ]"
for h in a b; do zt_networks=$join zt_start $h; done
member() {
	ctl_api -X POST -d "$2" "http://127.0.0.1:9993/controller/network/$net/member/$(zt_address "$1")" > /dev/null
}
member a '{"authorized":true,"tags":[[1,5]],"capabilities":[1000]}'
member b '{"authorized":true,"tags":[[1,7]]}'
zt_wait 30 zt_is_status a OK && zt_wait 30 zt_is_status b OK
ok $? "both members are configured"
for h in a b; do
	eval "mac_$h=\$(ns_exec $h cat /sys/class/net/zt0/address)"
	# framecheck's addresses are nobody's: dropped quietly, never forwarded
	ns_exec $h sysctl -q -w net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
done
A=$(zt_address a) B=$(zt_address b)

# rules JSON: the network's rules, once both members run them (their
# config's revision moved past the one they had)
rev() { zt_api "$1" "http://127.0.0.1:9993/network/$net" | jq -r .netconfRevision; }
newer() { [ "$(rev "$1")" -gt "$2" ]; }
rules() {
	ra=$(rev a) rb=$(rev b)
	zt_set_rules "$1"
	zt_wait 30 newer a "$ra" && zt_wait 30 newer b "$rb" || bail "the new rules did not reach the members"
}

# frames NAME SPEC...: each SPEC "FROM TO pass|drop KIND LENGTH [DST-MAC]"
# (with an empty NAME: no assertions, fails unless all are as said)
# sends FROM's frames of KIND and LENGTH on its zt0 to TO's MAC (or
# DST-MAC) and checks that TO's zt0 gets them (pass) or not (drop); one
# assertion per SPEC.  All receivers capture at once, then all senders
# send.  A frame to the broadcast MAC is one framecheck does not take as
# its own (the destination differs): it passes when it arrives at all.
frames() {
	name=$1; shift
	printf '%s\n' "$@" > "$ns_tmp/specs"
	k=0
	while read -r from to fate kind len dst; do
		k=$((k + 1)) out=$ns_tmp/fc.$k
		rm -f "$out.ready"
		eval "src=\$mac_$from"
		absent="" wait=10
		if [ "$fate" = drop ] || [ -n "$dst" ]; then absent=--absent wait=1; fi
		ns_exec "$to" "$fc" recv zt0 "$src" $wait --kinds "$kind" --min "$len" --max "$len" \
			--min-tagged "$len" --max-tagged "$len" --quiet $absent --ready "$out.ready" \
			< /dev/null > "$out" 2>&1 &
		echo $! > "$out.pid"
	done < "$ns_tmp/specs"
	for n in $(seq $k); do
		zt_wait 5 test -e "$ns_tmp/fc.$n.ready" || diag "framecheck recv $n is not ready"
	done
	while read -r from to fate kind len dst; do
		eval "dst=\${dst:-\$mac_$to}"
		ns_exec "$from" "$fc" send zt0 "$dst" --kinds "$kind" --min "$len" --max "$len" \
			--min-tagged "$len" --max-tagged "$len" --quiet < /dev/null > "$ns_tmp/fc.send" 2>&1 ||
			sed 's/^/# /' "$ns_tmp/fc.send"
	done < "$ns_tmp/specs"
	k=0 bad=0
	while read -r from to fate kind len dst; do
		k=$((k + 1)) out=$ns_tmp/fc.$k
		wait "$(cat "$out.pid")"
		st=$? want=0
		[ -n "$dst" ] && [ "$fate" = pass ] && want=1
		[ "$st" -eq "$want" ] || bad=1
		[ -z "$name" ] && continue
		[ "$fate" = pass ] && fate=passes || fate="is dropped"
		[ "$st" -eq "$want" ]
		ok $? "$name: $kind of $len bytes from $from to ${dst:-$to} $fate"
		[ "$st" -eq "$want" ] || sed 's/^/# /' "$out"
	done < "$ns_tmp/specs"
	return $bad
}

# match NOT: {"type":...} with its fields, "not" when the second argument says so
P17='{"type":"MATCH_IP_PROTOCOL","ipProtocol":17}'
P6='{"type":"MATCH_IP_PROTOCOL","ipProtocol":6}'
DROP='{"type":"ACTION_DROP"}' ACCEPT='{"type":"ACTION_ACCEPT"}' BREAK='{"type":"ACTION_BREAK"}'
BCAST=ff:ff:ff:ff:ff:ff
dport() { echo "{\"type\":\"MATCH_IP_DEST_PORT_RANGE\",\"start\":$1,\"end\":$1}"; }
tag() { echo "{\"type\":\"MATCH_$1\",\"id\":$2,\"value\":$3}"; }

# ---- actions ----
# The first unicast and broadcast between the members wait for their paths
# and multicast subscriptions.
zt_wait 30 frames "" "a b pass ipv4-udp 100" && zt_wait 30 frames "" "a b pass ipv4-udp 100 $BCAST"
ok $? "frames from a reach b, unicast and broadcast"
frames "ACCEPT" "a b pass ipv4-udp 100" "b a pass ipv6-tcp 100"
rules "[$DROP]"
frames "DROP" "a b drop ipv4-udp 100" "b a drop ipv6-tcp 100"

# ---- addresses ----
rules "[{\"type\":\"MATCH_MAC_SOURCE\",\"mac\":\"$mac_a\"},$P17,$DROP,
	{\"type\":\"MATCH_MAC_DEST\",\"mac\":\"$mac_a\"},$P6,$DROP,$ACCEPT]"
frames "MAC source a (UDP), MAC destination a (TCP)" \
	"a b drop ipv4-udp 100" "b a pass ipv4-udp 100" "b a drop ipv4-tcp 100" "a b pass ipv4-tcp 100"
rules "[{\"type\":\"MATCH_SOURCE_ZEROTIER_ADDRESS\",\"zt\":\"$A\"},$P17,$DROP,
	{\"type\":\"MATCH_DEST_ZEROTIER_ADDRESS\",\"zt\":\"$A\"},$P6,$DROP,$ACCEPT]"
frames "ZeroTier source a (UDP), destination a (TCP)" \
	"a b drop ipv4-udp 100" "b a pass ipv4-udp 100" "b a drop ipv4-tcp 100" "a b pass ipv4-tcp 100"
rules "[{\"type\":\"MATCH_IPV4_SOURCE\",\"ip\":\"198.19.254.1/32\"},$P17,$DROP,
	{\"type\":\"MATCH_IPV4_DEST\",\"ip\":\"198.19.254.0/24\"},$P6,$DROP,
	{\"type\":\"MATCH_IPV4_SOURCE\",\"ip\":\"198.19.254.2/32\"},$DROP,
	{\"type\":\"MATCH_IPV4_DEST\",\"ip\":\"198.19.253.0/24\"},$DROP,
	{\"type\":\"MATCH_IPV6_SOURCE\",\"ip\":\"fd00:7a74:fc::1/128\"},$P17,$DROP,
	{\"type\":\"MATCH_IPV6_DEST\",\"ip\":\"fd00:7a74::/32\"},$P6,$DROP,
	{\"type\":\"MATCH_IPV6_SOURCE\",\"ip\":\"fd00:7a74:fc::2/128\"},$DROP,
	{\"type\":\"MATCH_IPV6_DEST\",\"ip\":\"fd00:7a75::/32\"},$DROP,$ACCEPT]"
frames "IPv4 and IPv6 source (UDP), destination (TCP) and others'" \
	"a b drop ipv4-udp 100" "a b drop ipv4-tcp 100" "a b pass ipv4-icmp 100" \
	"a b drop ipv6-udp 100" "a b drop ipv6-tcp 100" "a b pass ipv6-icmp 100"

# ---- the Ethernet header ----
# 1.14 reads no VLAN fields from a frame: VLAN ID, PCP and DEI are 0 for
# every frame, tagged or not (zt-rules(7))
rules "[{\"type\":\"MATCH_VLAN_ID\",\"vlanId\":5},$DROP,{\"type\":\"MATCH_VLAN_PCP\",\"vlanPcp\":0},
	{\"type\":\"MATCH_VLAN_DEI\",\"vlanDei\":0},$P6,$DROP,{\"type\":\"MATCH_VLAN_ID\",\"vlanId\":0},$P17,$DROP,$ACCEPT]"
frames "VLAN ID 5 never, ID, PCP and DEI 0 always" \
	"a b pass ipv4-icmp+vlan 100" "a b drop ipv4-tcp 100" "a b drop ipv4-udp 100" "a b pass ipv4-icmp 100"
# a tagged frame's ethertype is 0x8100, and it has no IP header for the rules
rules "[{\"type\":\"MATCH_ETHERTYPE\",\"etherType\":34525},$DROP,$P17,$DROP,$ACCEPT]"
frames "ethertype IPv6, IP protocol UDP" "a b drop ipv6-tcp 100" "a b drop ipv4-udp 100" \
	"a b pass ipv4-tcp 100" "a b pass ipv6-udp+vlan 100" "a b pass ipv4-udp+vlan 100"
# the characteristics of the destination: multicast (any group bit) and broadcast
rules "[{\"type\":\"MATCH_CHARACTERISTICS\",\"mask\":\"2000000000000000\"},$P17,$DROP,
	{\"type\":\"MATCH_CHARACTERISTICS\",\"mask\":\"4000000000000000\"},$P6,$DROP,$ACCEPT]"
frames "characteristics broadcast (UDP), multicast (TCP)" \
	"a b drop ipv4-udp 120 $BCAST" "a b drop ipv4-tcp 120 $BCAST" "a b pass ipv4-icmp 120 $BCAST" \
	"a b pass ipv4-udp 100" "a b pass ipv4-tcp 100"
# the frame size is the Ethernet payload's: 300 is a frame of 314 bytes
rules "[{\"type\":\"MATCH_FRAME_SIZE_RANGE\",\"start\":200,\"end\":300},$DROP,$ACCEPT]"
frames "frame size 200 to 300" "a b drop ipv4-udp 214" "a b drop ipv4-udp 314" \
	"a b pass ipv4-udp 213" "a b pass ipv4-udp 315"

# ---- IP and above ----
rules "[{\"type\":\"MATCH_IP_TOS\",\"mask\":252,\"start\":4,\"end\":252},$DROP,
	{\"type\":\"MATCH_IP_TOS\",\"mask\":255,\"start\":0,\"end\":0},$P6,$DROP,$ACCEPT]"
frames "IP TOS 0 (TCP), 4 to 252" "a b drop ipv4-tcp 100" "a b drop ipv6-tcp 100" \
	"a b pass ipv4-udp 100" "a b pass ipv6-udp 100"
rules "[{\"type\":\"MATCH_ICMP\",\"icmpType\":128,\"icmpCode\":0},$DROP,
	{\"type\":\"MATCH_ICMP\",\"icmpType\":8,\"icmpCode\":3},$DROP,
	{\"type\":\"MATCH_ICMP\",\"icmpType\":0},$DROP,
	{\"type\":\"MATCH_RANDOM\",\"probability\":4294967295},$P17,$DROP,
	{\"type\":\"MATCH_RANDOM\",\"probability\":0},$P6,$DROP,$ACCEPT]"
frames "ICMP type 128 code 0, type 8 code 3, type 0; random always (UDP), never (TCP)" \
	"a b drop ipv6-icmp 100" "a b pass ipv4-icmp 100" "a b drop ipv4-udp 100" "a b pass ipv4-tcp 100"
rules "[{\"type\":\"MATCH_IP_SOURCE_PORT_RANGE\",\"start\":31345,\"end\":31345},$DROP,
	{\"type\":\"MATCH_IP_DEST_PORT_RANGE\",\"start\":100,\"end\":110},$DROP,$ACCEPT]"
frames "source port 31345 (ipv4-udp), destination ports 100 to 110" \
	"a b drop ipv4-udp 200" "a b pass ipv6-udp 200" "a b drop ipv4-tcp 100" "a b drop ipv6-tcp 110" \
	"a b pass ipv4-tcp 111" "a b pass ipv6-tcp 99"
# TCP flags in the characteristics: framecheck's segments are PSH ACK
rules "[{\"type\":\"MATCH_CHARACTERISTICS\",\"mask\":\"0000000000000002\"},$DROP,
	{\"type\":\"MATCH_CHARACTERISTICS\",\"mask\":\"0000000000000010\"},$P6,$DROP,$ACCEPT]"
frames "characteristics TCP SYN, TCP ACK" "a b drop ipv4-tcp 100" "a b drop ipv6-tcp 100" \
	"a b pass ipv4-udp 100"

# ---- where the rules run: the sender's egress, then the receiver's ingress ----
rules "[{\"type\":\"MATCH_CHARACTERISTICS\",\"mask\":\"8000000000000000\"},$P17,$DROP,
	{\"type\":\"MATCH_CHARACTERISTICS\",\"mask\":\"8000000000000000\",\"not\":true},$P6,$DROP,$ACCEPT]"
eg=$(zt_inst_counter a "rules@$net.egress" dropped) in=$(zt_inst_counter b "rules@$net.ingress" dropped)
frames "characteristics inbound (UDP), not inbound (TCP)" "a b drop ipv4-udp 100" "a b drop ipv4-tcp 100" \
	"a b pass ipv4-icmp 100"
is "$(( $(zt_inst_counter a "rules@$net.egress" dropped) - eg )):$(( $(zt_inst_counter b "rules@$net.ingress" dropped) - in ))" \
	"1:1" "... a's egress dropped the TCP frame (outbound), b's ingress the UDP one (inbound)"

# ---- tags: a has 5 and b 7 in tag 1, both 3 in tag 2 ----
rules "[$(tag TAG_SENDER 1 5),$P17,$DROP,$(tag TAG_RECEIVER 1 5),$P6,$DROP,$ACCEPT]"
frames "tag sender 1 = 5 (UDP), tag receiver 1 = 5 (TCP)" \
	"a b drop ipv4-udp 100" "b a pass ipv4-udp 100" "b a drop ipv4-tcp 100" "a b pass ipv4-tcp 100"
# each comparison once true (to an even port: dropped), once false (odd)
rules "[$(tag TAGS_DIFFERENCE 1 2),$(dport 100),$DROP,$(tag TAGS_DIFFERENCE 1 1),$(dport 101),$DROP,
	$(tag TAGS_BITWISE_AND 1 5),$(dport 102),$DROP,$(tag TAGS_BITWISE_AND 1 7),$(dport 103),$DROP,
	$(tag TAGS_BITWISE_OR 1 7),$(dport 104),$DROP,$(tag TAGS_BITWISE_OR 1 5),$(dport 105),$DROP,
	$(tag TAGS_BITWISE_XOR 1 2),$(dport 106),$DROP,$(tag TAGS_BITWISE_XOR 1 0),$(dport 107),$DROP,
	$(tag TAGS_EQUAL 2 3),$(dport 108),$DROP,$(tag TAGS_EQUAL 1 5),$(dport 109),$DROP,$ACCEPT]"
frames "tags difference 2 (100) not 1 (101), and 5 (102) not 7 (103), or 7 (104) not 5 (105), xor 2 (106) not 0 (107), equal 2 = 3 (108) not 1 = 5 (109)" \
	"a b drop ipv4-udp 100" "a b pass ipv4-udp 101" "a b drop ipv4-udp 102" "a b pass ipv4-udp 103" \
	"a b drop ipv4-udp 104" "a b pass ipv4-udp 105" "a b drop ipv4-udp 106" "a b pass ipv4-udp 107" \
	"a b drop ipv4-udp 108" "a b pass ipv4-udp 109"

# ---- BREAK ----
# BREAK leaves the frame to the capabilities: a's accepts TCP to port 100
rules "[$P17,$BREAK,$P6,$BREAK,$ACCEPT]"
frames "BREAK (UDP, TCP), then a's capability (TCP port 100)" "a b drop ipv4-udp 100" \
	"a b pass ipv4-tcp 100" "a b drop ipv4-tcp 101" "b a drop ipv4-tcp 100" "a b pass ipv4-icmp 100"

is "$(cat "$ns_tmp"/*/log | grep -c -e 'Sanitizer' -e 'runtime error')" 0 "no sanitizer reports in any ztd log"
[ $tap_failed -eq 0 ] || { zt_log a; zt_log b; }
tap_done
