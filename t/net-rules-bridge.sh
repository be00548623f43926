#!/bin/sh
# TEE and REDIRECT on frames to MACs behind an active bridge (networks.md
# §2.6 step 6, §6.4): a's frame to a host behind bridge br is judged once
# without a destination, where its TEE copy is made, then once more for
# each bridge it goes to, with that bridge as destination and no copy,
# where a REDIRECT sends it to its new destination instead of the
# bridge, as 1.14 does.  The rules redirect TCP port 80 to the proxy p
# only when the destination is br, so only that second judgement can:
# both for a MAC a learned behind br and for an unknown MAC flooded to
# the active bridges.  br itself has no rules on its ingress, so that
# its TAP shows what a sent it.  A multicast is judged for each of its
# recipients the same way: a rule that drops ICMP outbound to p keeps
# a's broadcast pings from p only.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a  198.18.0.11 [zt0] the sender
#                              |-- br 198.18.0.12 [zt0 in lan0] --- h1 198.19.6.201
#                              |-- o  198.18.0.13 [zt0] the observer (TEE target)
#                              \-- p  198.18.0.14 [zt0] the proxy (REDIRECT target)
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v tcpdump > /dev/null || bail "needs tcpdump (scripts/setup.sh)"
command -v nc > /dev/null || bail "needs nc (scripts/setup.sh)"
plan 13

zt_lab a:11 br:12 o:13 p:14
zt_tap_network rulesbridge 6
join="$zt_networks
    ingress: [ { use: rules } ]
    egress: [ { use: rules } ]"
# br judges nothing on ingress: what reaches its TAP is what a sent it
for h in a o p; do zt_networks=$join zt_start $h; done
zt_networks="$zt_networks
    egress: [ { use: rules } ]" zt_start br
ns_exec br ip link add lan0 type bridge && ns_exec br ip link set lan0 up
ns_netns h1
ip link add "lh1$ns_id" netns "$(ns_name br)" type veth peer name eth0 netns "$(ns_name h1)"
ip -n "$(ns_name br)" link set "lh1$ns_id" master lan0 up
ip -n "$(ns_name h1)" link set eth0 up
ns_addrs h1 eth0 198.19.6.201/24

A=$(zt_address a) BR=$(zt_address br) O=$(zt_address o) P=$(zt_address p)
zt_set_rules "[
	{\"type\":\"MATCH_SOURCE_ZEROTIER_ADDRESS\",\"zt\":\"$A\"},
	{\"type\":\"ACTION_TEE\",\"address\":\"$O\",\"flags\":0,\"length\":0},
	{\"type\":\"MATCH_DEST_ZEROTIER_ADDRESS\",\"zt\":\"$BR\"},
	{\"type\":\"MATCH_IP_PROTOCOL\",\"ipProtocol\":6},
	{\"type\":\"MATCH_IP_DEST_PORT_RANGE\",\"start\":80,\"end\":80},
	{\"type\":\"ACTION_REDIRECT\",\"address\":\"$P\",\"flags\":0},
	{\"type\":\"MATCH_CHARACTERISTICS\",\"mask\":\"8000000000000000\",\"not\":true},
	{\"type\":\"MATCH_DEST_ZEROTIER_ADDRESS\",\"zt\":\"$P\"},
	{\"type\":\"MATCH_IP_PROTOCOL\",\"ipProtocol\":1},
	{\"type\":\"ACTION_DROP\"},
	{\"type\":\"ACTION_ACCEPT\"}]"
is "$(ctl_api "http://127.0.0.1:9993/controller/network/$net" | jq -r '[.rules[] | .type] | join(" ")')" \
	"MATCH_SOURCE_ZEROTIER_ADDRESS ACTION_TEE MATCH_DEST_ZEROTIER_ADDRESS MATCH_IP_PROTOCOL MATCH_IP_DEST_PORT_RANGE ACTION_REDIRECT MATCH_CHARACTERISTICS MATCH_DEST_ZEROTIER_ADDRESS MATCH_IP_PROTOCOL ACTION_DROP ACTION_ACCEPT" \
	"the rules copy a's frames to o, redirect TCP 80 for br to p and send p no ICMP"
zt_authorize true a o p
ctl_api -X POST -d '{"authorized":true,"activeBridge":true,"noAutoAssignIps":true}' \
	"http://127.0.0.1:9993/controller/network/$net/member/$BR" > /dev/null
for h in a br o p; do zt_wait 30 zt_is_status $h OK || break; done &&
	for h in a o p; do zt_wait 30 zt_has_ip $h || break; done
ok $? "the four members are configured"
is_bridge() { [ "$(zt_api br "http://127.0.0.1:9993/network/$net" | jq -r .bridge)" = true ]; }
zt_wait 10 is_bridge && ns_exec br ip link set zt0 master lan0
ok $? "br is an active bridge, its TAP port in lan0 with h1"
ipa=$(zt_net_ip a)
zt_wait 10 sh -c "ip netns exec $(ns_name a) ip -4 -o addr show dev zt0 | grep -q '$ipa/24'"

ns_capture o zt0 "icmp"
ns_capture p zt0 "tcp port 80 or icmp"
ns_capture br zt0 "tcp port 80 or icmp"

zt_wait 30 ns_exec a ping -c 1 -W 1 198.19.6.201 > /dev/null
ok $? "a pings h1 behind br: the copies do not stop the frames"
# a's first copies may go before a has a path to o: ping until one arrives
teed() {
	ns_exec a ping -c 1 -W 1 198.19.6.201 > /dev/null 2>&1
	grep -q "$ipa > 198.19.6.201: ICMP echo request" "$ns_tmp/o.cap"
}
zt_wait 20 teed
ok $? "o sees a's echo requests to h1 on its TAP (TEE of a frame for a MAC behind a bridge)"

# redirected IP: a connects to IP port 80 until p sees the SYN
redirected() {
	ns_exec a sh -c "timeout 2 nc -w 1 $1 80 < /dev/null" > /dev/null 2>&1
	grep -q "$ipa\.[0-9]* > $1\.80: Flags \[S\]" "$ns_tmp/p.cap"
}
zt_wait 20 redirected 198.19.6.201
ok $? "p sees a's SYN to h1's port 80, h1's MAC learned behind br (REDIRECT for that bridge)"

# a MAC nobody has taught a: flooded to the active bridges (one, br)
prefix=$(( (0x${net#??????????????} & 0xfe) | 0x02 ))
[ $prefix -eq $((0x52)) ] && prefix=$((0x32))
ns_exec a ip neigh replace 198.19.6.250 lladdr "$(printf %02x $(( prefix ^ 0x10 ))):5a:00:00:00:fa" dev zt0
zt_wait 20 redirected 198.19.6.250
ok $? "p sees a's SYN to an unknown MAC's port 80, flooded to the active bridges (REDIRECT for br)"
grep -q "Flags" "$ns_tmp/br.cap"
ok $(( ! $? )) "br's TAP never sees a SYN to port 80"
# a multicast is judged for each recipient too: a's broadcast pings go
# to br, not to p (p's own ingress, inbound, would let them through)
broadcast() {
	ns_exec a ping -b -c 1 -W 1 198.19.6.255 > /dev/null 2>&1
	grep -q "$ipa > 198.19.6.255: ICMP echo request" "$ns_tmp/br.cap"
}
zt_wait 20 broadcast
ok $? "a's broadcast pings reach br"
grep -q "ICMP" "$ns_tmp/p.cap"
ok $(( ! $? )) "... and never p: a's rules keep them from p alone"
redirected=$(zt_inst_counter a "rules@$net.egress" redirects)
[ "$redirected" -ge 2 ]; ok $? "a's egress redirected them ($redirected)"
is "$(zt_inst_counter a "rules@$net.egress" redirects_not_done)" 0 "... and passed over no REDIRECT"
is "$(cat "$ns_tmp"/*/log | grep -c -e 'Sanitizer' -e 'runtime error')" 0 "no sanitizer reports in any ztd log"
[ $tap_failed -eq 0 ] || { zt_log a; zt_log br; zt_log p; sed 's/^/# /' "$ns_tmp/o.cap" "$ns_tmp/p.cap" "$ns_tmp/br.cap"; }
tap_done
