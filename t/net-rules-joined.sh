#!/bin/sh
# A network joined at run time (zt-cli join) enforces its controller's
# flow rules on ingress and egress by default, as ZeroTier One does: a
# joins with no `joined:` in its config, b lists the network in ztd.yaml
# with no policies, so every drop below is a's doing.  ICMP dropped both
# ways, then TCP to port 5555 dropped inbound only (the characteristics'
# inbound bit), then outbound only.  Then the network listed in a's
# ztd.yaml as well: the config wins, says so, and the join file is
# removed.  Last, `joined: { egress: [] }` turns the egress chain off.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 (zt-cli join: rules both ways)
#                              \-- b 198.18.0.12 [zt0] (ztd.yaml, no policies)
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v jq > /dev/null || skip_all "needs jq"
command -v nc > /dev/null || skip_all "needs nc"
plan 24

zt_lab a:11 b:12

net=$(zt_ctl_network '{"name":"joined-rules","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.3.10","ipRangeEnd":"198.19.3.100"}],
	"routes":[{"target":"198.19.3.0/24"}],
	"rules":[{"type":"MATCH_IP_PROTOCOL","ipProtocol":1},{"type":"ACTION_DROP"},{"type":"ACTION_ACCEPT"}]}')
like "$net" "^$(zt_address ctl)[0-9a-f]{6}\$" "the controller creates a network dropping ICMP ($net)"

zt_start a
zt_networks="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }" zt_start b
out=$(ns_exec a "$builddir/zt-cli" -D"$ns_tmp/a" join "$net")
is "$out" "200 join OK" "a joins the network at run time"
zt_authorize true a b
configured() {
	zt_wait 30 zt_is_status a OK && zt_wait 30 zt_is_status b OK && zt_wait 30 zt_has_ip a && zt_wait 30 zt_has_ip b &&
		ipa=$(zt_net_ip a) && ipb=$(zt_net_ip b) &&
		deva=$(zt_api a "http://127.0.0.1:9993/network/$net" | jq -r .portDeviceName) &&
		zt_wait 10 sh -c "ip netns exec $(ns_name a) ip -4 -o addr show dev $deva | grep -q '$ipa/24'" &&
		zt_wait 10 sh -c "ip netns exec $(ns_name b) ip -4 -o addr show dev zt0 | grep -q '$ipb/24'"
}
configured; ok $? "both members are configured"

# tcp_ok FROM TO PORT: 200 kB from FROM reach TO's port over the network
tcp_ok() {
	eval "to_ip=\$ip$2"
	head -c 200000 /dev/urandom > "$ns_tmp/blob"
	rm -f "$ns_tmp/got"
	ns_exec "$2" sh -c "timeout 10 nc -l -p $3 > '$ns_tmp/got'" &
	sleep 0.5
	ns_exec "$1" sh -c "timeout 8 nc -w 3 -q 1 '$to_ip' $3 < '$ns_tmp/blob'" > /dev/null 2>&1
	wait $!
	[ "$(sha256sum < "$ns_tmp/got")" = "$(sha256sum < "$ns_tmp/blob")" ]
}
tcp_blocked() { ! tcp_ok "$@"; }
# pings FROM TO / no_ping FROM TO
pings() { eval "to_ip=\$ip$2"; ns_exec "$1" ping -c 1 -W 1 "$to_ip" > /dev/null 2>&1; }
no_ping() { eval "to_ip=\$ip$2"; ! ns_exec "$1" ping -c 3 -i 0.3 -W 1 "$to_ip" > /dev/null 2>&1; }

# ---- ICMP dropped, both ways ----
zt_wait 20 tcp_ok a b 5555; ok $? "TCP passes while ICMP is dropped"
no_ping a b; ok $? "ping from a is dropped (a's egress)"
no_ping b a; ok $? "ping to a is dropped (a's ingress)"
drops="$(zt_inst_counter a "rules@$net.egress" dropped) $(zt_inst_counter a "rules@$net.ingress" dropped)"
like "$drops" '^[1-9][0-9]* [1-9][0-9]*$' "a's rules@$net.egress and .ingress counted the drops ($drops)"

# ---- inbound only: TCP to port 5555 dropped where it comes in ----
zt_set_rules '[{"type":"MATCH_CHARACTERISTICS","mask":"8000000000000000"},
	{"type":"MATCH_IP_PROTOCOL","ipProtocol":6},{"type":"MATCH_IP_DEST_PORT_RANGE","start":5555,"end":5555},
	{"type":"ACTION_DROP"},{"type":"ACTION_ACCEPT"}]'
zt_wait 60 pings a b; ok $? "with the new rules ping passes"
zt_wait 30 tcp_blocked b a 5555; ok $? "inbound rule: TCP from b to a's port 5555 is dropped"
tcp_ok a b 5555; ok $? "... TCP from a to b's port 5555 passes"
tcp_ok b a 5556; ok $? "... TCP to a's port 5556 passes"

# ---- outbound only ----
zt_set_rules '[{"type":"MATCH_CHARACTERISTICS","not":true,"mask":"8000000000000000"},
	{"type":"MATCH_IP_PROTOCOL","ipProtocol":6},{"type":"MATCH_IP_DEST_PORT_RANGE","start":5555,"end":5555},
	{"type":"ACTION_DROP"},{"type":"ACTION_ACCEPT"}]'
zt_wait 60 tcp_blocked a b 5555; ok $? "outbound rule: TCP from a to b's port 5555 is dropped"
tcp_ok b a 5555; ok $? "... TCP from b to a's port 5555 passes"
tcp_ok a b 5556; ok $? "... TCP from a to b's port 5556 passes"

# ---- the network also in ztd.yaml: the config wins ----
test -e "$ns_tmp/a/networks.d/$net.join"; ok $? "a's join is remembered in networks.d"
zt_stop a
zt_networks="networks:
  - id: \"$net\"
    iface: { use: tap, name: zty0 }" zt_start a
like "$(cat "$ns_tmp/a/log")" "network $net: listed in ztd.yaml, which wins over .*/networks.d/$net.join" \
	"a restarted with it in ztd.yaml says the config wins"
test -e "$ns_tmp/a/networks.d/$net.join"; ok $(( $? == 0 )) "... and removes the join file"
is "$(zt_api a "http://127.0.0.1:9993/network/$net" | jq -r .portDeviceName)" zty0 "... the port is the config's"
out=$(ns_exec a "$builddir/zt-cli" -D"$ns_tmp/a" join "$net")
is "$out/$(ls "$ns_tmp/a/networks.d" | grep -c '\.join$')" "200 join OK/0" \
	"zt-cli join of it changes nothing and writes no join file"
like "$(tail -5 "$ns_tmp/a/log")" "network $net: listed in ztd.yaml: joined there already" "... and says so"

# ---- the config overrides the default ----
zt_stop a
zt_networks="joined: { egress: [] }" zt_start a
ns_exec a "$builddir/zt-cli" -D"$ns_tmp/a" join "$net" > /dev/null
configured; ok $? "a restarted with joined: { egress: [] } joins again"
zt_wait 20 tcp_ok a b 5555; ok $? "... and its outbound TCP to port 5555 passes: no egress rules"
like "$("$ZTD" --check-config "$ns_tmp/a/ztd.yaml")" "egress: \\(none\\)" "--check-config shows the chain empty"
zt_stop a
zt_stop b
is "$(cat "$ns_tmp"/*/log | grep -c -e 'Sanitizer' -e 'runtime error')" 0 "no sanitizer reports in any ztd log"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log a; zt_log b; }
tap_done
