#!/bin/sh
# Flow rules from the controller, enforced by the rules policy on the
# members' ingress: the network first drops ICMP and accepts the rest
# (ping fails, ARP and TCP pass), then accepts everything (ping passes),
# then drops TCP to port 5555 only (that connection fails, ping passes),
# then drops ICMP again by a source in the rules language that the
# controller compiles (rulesSource).  Every change reaches the members
# with a new config.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0] ingress: rules
#                              \-- b 198.18.0.12 [zt0] ingress: rules
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 12

zt_lab a:11 b:12

net=$(zt_ctl_network '{"name":"rules","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.2.10","ipRangeEnd":"198.19.2.100"}],
	"routes":[{"target":"198.19.2.0/24"}],
	"rules":[{"type":"MATCH_IP_PROTOCOL","ipProtocol":1},{"type":"ACTION_DROP"},{"type":"ACTION_ACCEPT"}]}')
like "$net" "^$(zt_address ctl)[0-9a-f]{6}\$" "the controller creates a network dropping ICMP ($net)"

join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }
    ingress: [ { use: rules } ]"
zt_networks=$join zt_start a
zt_networks=$join zt_start b
zt_authorize true a b
zt_wait 30 zt_is_status a OK && zt_wait 30 zt_is_status b OK && zt_wait 30 zt_has_ip a && zt_wait 30 zt_has_ip b
ok $? "both members are configured"
ipa=$(zt_net_ip a); ipb=$(zt_net_ip b)
zt_wait 10 sh -c "ip netns exec $(ns_name b) ip -4 -o addr show dev zt0 | grep -q '$ipb/24'"

tcp_ok() {
	head -c 200000 /dev/urandom > "$ns_tmp/blob"
	rm -f "$ns_tmp/got"
	ns_exec b sh -c "timeout 10 nc -l -p $1 > '$ns_tmp/got'" &
	sleep 0.5
	ns_exec a sh -c "timeout 8 nc -w 3 -q 1 '$ipb' $1 < '$ns_tmp/blob'" > /dev/null 2>&1
	wait $!
	[ "$(sha256sum < "$ns_tmp/got")" = "$(sha256sum < "$ns_tmp/blob")" ]
}
pings() { ns_exec a ping -c 1 -W 1 "$ipb" > /dev/null 2>&1; }
no_ping() { ! ns_exec a ping -c 3 -i 0.3 -W 1 "$ipb" > /dev/null 2>&1; }

zt_wait 20 tcp_ok 5555; ok $? "TCP passes (ARP resolved) while ICMP is dropped"
no_ping; ok $? "ping is dropped by the rules"
like "$(ns_exec a ip neigh show "$ipb" dev zt0)" "lladdr" "ARP passes the rules"

zt_set_rules '[{"type":"ACTION_ACCEPT"}]'
zt_wait 60 pings; ok $? "with the rules changed to accept all, ping passes"

zt_set_rules '[{"type":"MATCH_IP_PROTOCOL","ipProtocol":6},{"type":"MATCH_IP_DEST_PORT_RANGE","start":5555,"end":5555},{"type":"ACTION_DROP"},{"type":"ACTION_ACCEPT"}]'
port_blocked() { ! tcp_ok 5555; }
zt_wait 60 port_blocked; ok $? "TCP to port 5555 is dropped once the rules say so"
tcp_ok 5556; ok $? "TCP to port 5556 still passes"
pings; ok $? "and ping passes"
ctl_api -X POST -d '{"rulesSource":"# no ping here\ndrop\n  ipprotocol icmp\n;\naccept;\n"}' \
	"http://127.0.0.1:9993/controller/network/$net" > /dev/null
is "$(ctl_api "http://127.0.0.1:9993/controller/network/$net" | jq -c '[.rules[].type]')" \
	'["MATCH_IP_PROTOCOL","ACTION_DROP","ACTION_ACCEPT"]' "a rules source is compiled by the controller"
zt_wait 60 no_ping; ok $? "... and its ICMP drop is enforced: ping is dropped"
tcp_ok 5556; ok $? "... while TCP passes"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log a; zt_log b; }
tap_done
