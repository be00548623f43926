#!/bin/sh
# TEE and REDIRECT from the controller's flow rules, made by the rules
# policy and the kernel (networks.md §6.4): everything a sends is copied
# to an observer member, where tcpdump sees it on the TAP, and TCP to
# port 80 is redirected to a proxy member, which sees the frame with its
# original destination while the server never gets it; then a WATCH of
# 40 bytes copies only the start of each frame.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0] the client
#                              |-- b 198.18.0.12 [zt0] the server
#                              |-- o 198.18.0.13 [zt0] the observer (TEE target)
#                              \-- p 198.18.0.14 [zt0] the proxy (REDIRECT target)
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v tcpdump > /dev/null || bail "needs tcpdump (scripts/setup.sh)"
plan 12

zt_lab a:11 b:12 o:13 p:14
zt_tap_network forward 5
join="$zt_networks
    ingress: [ { use: rules } ]
    egress: [ { use: rules } ]"
for h in a b o p; do zt_networks=$join zt_start $h; done
A=$(zt_address a) O=$(zt_address o) P=$(zt_address p)
zt_set_rules "[
	{\"type\":\"MATCH_SOURCE_ZEROTIER_ADDRESS\",\"zt\":\"$A\"},
	{\"type\":\"ACTION_TEE\",\"address\":\"$O\",\"flags\":0,\"length\":0},
	{\"type\":\"MATCH_IP_PROTOCOL\",\"ipProtocol\":6},
	{\"type\":\"MATCH_IP_DEST_PORT_RANGE\",\"start\":80,\"end\":80},
	{\"type\":\"ACTION_REDIRECT\",\"address\":\"$P\",\"flags\":0},
	{\"type\":\"ACTION_ACCEPT\"}]"
is "$(ctl_api "http://127.0.0.1:9993/controller/network/$net" | jq -r '[.rules[] | .type] | join(" ")')" \
	"MATCH_SOURCE_ZEROTIER_ADDRESS ACTION_TEE MATCH_IP_PROTOCOL MATCH_IP_DEST_PORT_RANGE ACTION_REDIRECT ACTION_ACCEPT" \
	"the network's rules copy a's frames to o and redirect TCP 80 to p"
zt_authorize true a b o p
for h in a b o p; do zt_wait 30 zt_is_status $h OK && zt_wait 30 zt_has_ip $h || break; done
ok $? "the four members are configured"
ipa=$(zt_net_ip a) ipb=$(zt_net_ip b)
zt_wait 10 sh -c "ip netns exec $(ns_name b) ip -4 -o addr show dev zt0 | grep -q '$ipb/24'"

ns_capture o zt0 "icmp"
ns_capture p zt0 "tcp port 80"
ns_capture b zt0 "tcp port 80"

zt_wait 20 ns_exec a ping -c 1 -W 1 "$ipb" > /dev/null; ok $? "a pings b: the copies do not stop the frames"
zt_wait 10 grep -q "$ipa > $ipb: ICMP echo request" "$ns_tmp/o.cap"
ok $? "o sees a's echo requests to b on its TAP (TEE)"
grep -q "$ipb > $ipa: ICMP echo reply" "$ns_tmp/o.cap"
ok $(( ! $? )) "... and not b's replies, which come from b"
teed=$(zt_inst_counter a "rules@$net.egress" copies)
[ "$teed" -gt 0 ]; ok $? "a's egress asked for the copies ($teed)"

ns_exec a sh -c "timeout 3 nc -w 1 '$ipb' 80 < /dev/null" > /dev/null 2>&1
zt_wait 10 grep -q "$ipa\.[0-9]* > $ipb\.80: Flags \[S\]" "$ns_tmp/p.cap"
ok $? "p sees a's SYN to b's port 80 on its TAP, with b's address (REDIRECT)"
grep -q "Flags" "$ns_tmp/b.cap"
ok $(( ! $? )) "b never sees it"
redirected=$(zt_inst_counter a "rules@$net.egress" redirects)
[ "$redirected" -gt 0 ]; ok $? "a's egress redirected ($redirected)"
# WATCH, with a length: the copies carry the first 40 bytes of the
# payload only (the IPv4 header and 20 bytes of ICMP)
rev_a=$(zt_api a "http://127.0.0.1:9993/network/$net" | jq -r .netconfRevision)
zt_set_rules "[{\"type\":\"MATCH_SOURCE_ZEROTIER_ADDRESS\",\"zt\":\"$A\"},
	{\"type\":\"ACTION_WATCH\",\"address\":\"$O\",\"flags\":0,\"length\":40},{\"type\":\"ACTION_ACCEPT\"}]"
newer_a() { [ "$(zt_api a "http://127.0.0.1:9993/network/$net" | jq -r .netconfRevision)" -gt "$rev_a" ]; }
zt_wait 30 newer_a || diag "a did not get the WATCH rules"
watched() {
	ns_exec a ping -c 1 -W 1 "$ipb" > /dev/null 2>&1
	grep -q "truncated-ip - 44 bytes missing.*$ipa > $ipb: ICMP echo request" "$ns_tmp/o.cap"
}
zt_wait 20 watched
ok $? "with WATCH of 40 bytes, o sees a's echo requests cut to 40 bytes of payload"
ns_exec a ping -c 1 -W 2 "$ipb" > /dev/null; ok $? "... and the frames themselves still reach b"
is "$(cat "$ns_tmp"/*/log | grep -c -e 'Sanitizer' -e 'runtime error')" 0 "no sanitizer reports in any ztd log"
[ $tap_failed -eq 0 ] || { zt_log a; zt_log o; zt_log p; sed 's/^/# /' "$ns_tmp/o.cap" "$ns_tmp/p.cap"; }
tap_done
