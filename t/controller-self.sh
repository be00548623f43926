#!/bin/sh
# A controller node that joins its own private network, as 1.14 allows:
# its config requests go to its own controller without leaving the node,
# through the path a remote member's take.  Unauthorized it is refused;
# authorized through the API it reaches OK at once, gets an address from
# the pool and pings a member (and is pinged) over the network.  A member
# refused before authorization shows the version of its request
# (vMajor...) as soon as it is authorized.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller) [zt0]
#                              \-- a 198.18.0.11 [zt0]
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 12

zt_lab a:11

net=$(zt_ctl_network '{"name":"self","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.2.10","ipRangeEnd":"198.19.2.100"}],
	"routes":[{"target":"198.19.2.0/24"}]}')
like "$net" "^$(zt_address ctl)[0-9a-f]{6}\$" "the controller creates a network ($net)"

join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
zt_stop ctl
zt_networks=$join zt_services=$(zt_ctl_service) zt_start ctl
zt_networks=$join zt_start a

zt_wait 15 zt_is_status ctl ACCESS_DENIED
ok $? "the controller node is refused by itself before authorization ($(zt_net_status ctl))"
zt_wait 30 zt_is_status a ACCESS_DENIED; ok $? "a is refused before authorization ($(zt_net_status a))"

member() {
	ctl_api -X POST -d "$2" "http://127.0.0.1:9993/controller/network/$net/member/$(zt_address "$1")"
}
is "$(member a '{"authorized":true}' | jq -c '[.authorized, .vMajor, .vMinor, .vRev, .vProto]')" \
	"[true,1,14,1,12]" "authorizing a answers the version of its last request (1.14.1, protocol 12)"
is "$(member ctl '{"authorized":true}' | jq -c '[.authorized, .vMajor, .vMinor, .vRev, .vProto]')" \
	"[true,1,14,1,12]" "... and so for the controller node's own request"

zt_wait 3 zt_is_status ctl OK; ok $? "the controller node is configured at once once authorized ($(zt_net_status ctl))"
zt_wait 30 zt_is_status a OK; ok $? "a is configured"
ipc=$(zt_net_ip ctl); ipa=$(zt_net_ip a)
like "$ipc $ipa" '^198\.19\.2\.[0-9]+ 198\.19\.2\.[0-9]+$' "both have addresses from the pool ($ipc, $ipa)"
zt_wait 10 sh -c "ip netns exec $(ns_name ctl) ip -4 -o addr show dev zt0 | grep -q '$ipc/24'"
ok $? "the controller node's TAP port carries $ipc/24"

zt_wait 20 ns_exec ctl ping -c 1 -W 1 "$ipa"; ok $? "the controller node pings a over the network"
ns_exec a ping -c 3 -i 0.2 -W 1 "$ipc" > "$ns_tmp/ping" 2>&1
like "$(cat "$ns_tmp/ping")" " 0% packet loss" "a pings the controller node, none lost"
zt_stop ctl
zt_stop a
is "$(cat "$ns_tmp/ctl/log" "$ns_tmp/a/log" | grep -c -e 'Sanitizer' -e 'runtime error')" 0 \
	"no sanitizer reports in ctl's and a's logs"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log a; }
tap_done
