#!/bin/sh
# Certificates of ownership in the flow rules (networks.md §5.4, §6.3):
# the controller issues each member one listing its assigned addresses,
# members push them with their credentials, and a rule on the sender IP
# authenticated characteristic (ipauth) lets through only the frames whose
# IPv4 source is listed in the sender's certificate, as 1.14 does.  A
# member that sends from an address the controller did not give it is
# dropped at the receiver.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0]
#                              \-- b 198.18.0.12 [zt0]
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v tcpdump > /dev/null || bail "needs tcpdump (scripts/setup.sh)"
plan 6

zt_lab a:11 b:12
zt_tap_network coo 7
join="$zt_networks
    ingress: [ { use: rules } ]"
for h in a b; do zt_networks=$join zt_start $h; done
# ARP, and IPv4 from an address the sender owns; nothing else
zt_set_rules '[{"type":"MATCH_ETHERTYPE","etherType":2054},{"type":"ACTION_ACCEPT"},
	{"type":"MATCH_CHARACTERISTICS","mask":"1000000000000000"},{"type":"ACTION_ACCEPT"}]'
is "$(ctl_api "http://127.0.0.1:9993/controller/network/$net" | jq -r '[.rules[] | .type] | join(" ")')" \
	"MATCH_ETHERTYPE ACTION_ACCEPT MATCH_CHARACTERISTICS ACTION_ACCEPT" "the rules accept ARP and owned sources"
zt_authorize true a b
for h in a b; do zt_wait 30 zt_is_status $h OK && zt_wait 30 zt_has_ip $h || break; done
ok $? "both members are configured"
ipa=$(zt_net_ip a) ipb=$(zt_net_ip b)
zt_wait 10 sh -c "ip netns exec $(ns_name b) ip -4 -o addr show dev zt0 | grep -q '$ipb/24'"

zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb" > /dev/null
ok $? "a pings b: each one's certificate lists its address (ipauth on both ingresses)"
ns_capture b zt0 "icmp and src 198.19.7.222"
ns_exec a ip addr add 198.19.7.222/32 dev zt0
ns_exec a ping -c 2 -i 0.3 -W 1 -I 198.19.7.222 "$ipb" > /dev/null 2>&1
ok $(( $? == 0 )) "a cannot reach b from an address of its own choosing"
grep -q "198.19.7.222 > $ipb" "$ns_tmp/b.cap"
ok $(( ! $? )) "b's TAP never sees those echo requests: b's rules dropped them"
is "$(cat "$ns_tmp"/*/log | grep -c -e 'Sanitizer' -e 'runtime error')" 0 "no sanitizer reports in any ztd log"
[ $tap_failed -eq 0 ] || { zt_log a; zt_log b; }
tap_done
