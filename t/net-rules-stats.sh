#!/bin/sh
# Per-rule counters and dry runs (zt-rules(7), COUNTERS and EXPLAIN): a
# ping, a TCP connection the rules drop and an SSH connection a
# capability allows, between two members, make the counters of the
# rules that decided them grow at the receiver, in /metrics, in GET
# /network/<nwid>/rules and in `zt-cli rules`; `zt-cli rules explain`
# names the same rules for frames described in words, changes no
# counter, and refuses a bad description naming the word.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0] ingress: rules, capability 1000 (ssh)
#                              \-- b 198.18.0.12 [zt0] ingress: rules
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v jq > /dev/null || skip_all "needs jq"
plan 20

zt_lab a:11 b:12

# rule 2 drops TCP 5555, rule 5 leaves TCP 22 to the capabilities, rule
# 6 accepts the rest; capability 1000 (rule 2) accepts TCP 22
net=$(zt_ctl_network '{"name":"stats","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.6.10","ipRangeEnd":"198.19.6.100"}],
	"routes":[{"target":"198.19.6.0/24"}],
	"capabilities":[{"id":1000,"rules":[
		{"type":"MATCH_IP_PROTOCOL","ipProtocol":6},
		{"type":"MATCH_IP_DEST_PORT_RANGE","start":22,"end":22},
		{"type":"ACTION_ACCEPT"}]}],
	"rules":[
		{"type":"MATCH_IP_PROTOCOL","ipProtocol":6},
		{"type":"MATCH_IP_DEST_PORT_RANGE","start":5555,"end":5555},
		{"type":"ACTION_DROP"},
		{"type":"MATCH_IP_PROTOCOL","ipProtocol":6},
		{"type":"MATCH_IP_DEST_PORT_RANGE","start":22,"end":22},
		{"type":"ACTION_BREAK"},
		{"type":"ACTION_ACCEPT"}]}')
like "$net" "^$(zt_address ctl)[0-9a-f]{6}\$" "the controller creates the network ($net)"

join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }
    ingress: [ { use: rules } ]"
zt_networks=$join zt_start a
zt_networks=$join zt_start b
ctl_api -X POST -d '{"authorized":true,"capabilities":[1000]}' \
	"http://127.0.0.1:9993/controller/network/$net/member/$(zt_address a)" > /dev/null
zt_authorize true b
zt_wait 30 zt_is_status a OK && zt_wait 30 zt_is_status b OK && zt_wait 30 zt_has_ip a && zt_wait 30 zt_has_ip b
ok $? "both members are configured"
ipa=$(zt_net_ip a); ipb=$(zt_net_ip b)
zt_wait 10 sh -c "ip netns exec $(ns_name b) ip -4 -o addr show dev zt0 | grep -q '$ipb/24'"
A=$(zt_address a)

cli() { h=$1; shift; ns_exec "$h" "$builddir/zt-cli" -D"$ns_tmp/$h" "$@"; }
# rule_count HOST RULE CAPABILITY ACTION: b's inbound frames of that rule in /metrics
rule_count() {
	zt_api "$1" http://127.0.0.1:9993/metrics |
		sed -n "s/^zt_rule_frames_total{network=\"$net\",.*,capability=\"$3\",rule=\"$2\",direction=\"inbound\",action=\"$4\"} //p"
}
grows() { [ "$(rule_count b "$1" "$2" "$3")" -gt "$4" ]; }
tcp_to() {
	head -c 20000 /dev/urandom > "$ns_tmp/blob"
	rm -f "$ns_tmp/got"
	ns_exec b sh -c "timeout 6 nc -l -p $1 > '$ns_tmp/got'" &
	sleep 0.5
	ns_exec a sh -c "timeout 5 nc -w 2 -q 1 '$ipb' $1 < '$ns_tmp/blob'" > /dev/null 2>&1
	wait $!
	[ "$(sha256sum < "$ns_tmp/got")" = "$(sha256sum < "$ns_tmp/blob")" ]
}

is "$(rule_count b 2 '' drop)" 0 "/metrics lists rule 2's drops before any frame (0)"
accepted=$(rule_count b 6 '' accept)
zt_wait 20 ns_exec a ping -c 1 -W 1 "$ipb" > /dev/null 2>&1
ok $? "ping from a to b passes"
grows 6 '' accept "$accepted"; ok $? "... and rule 6's inbound accepts grow at b ($(rule_count b 6 '' accept))"
! tcp_to 5555; ok $? "TCP 5555 from a to b is dropped"
grows 2 '' drop 0; ok $? "... by rule 2, counted in /metrics ($(rule_count b 2 '' drop))"
zt_wait 20 tcp_to 22; ok $? "SSH from a to b passes: a's capability allows it"
grows 2 1000 accept 0; ok $? "... counted at capability 1000 rule 2 ($(rule_count b 2 1000 accept))"

json=$(zt_api b "http://127.0.0.1:9993/network/$net/rules")
is "$(echo "$json" | jq -c '[.rules[] | select(.capability == null and .index == 2) | .rule, (.inbound.drop.frames > 0)]')" \
	'["drop ipprotocol 6 dport 5555;",true]' "GET /network/<nwid>/rules: rule 2 in the rules language, with its drops"
out=$(cli b rules "$net")
echo "$out" | grep -q "^ *2 *[1-9][0-9]* *[1-9][0-9]*  drop ipprotocol 6 dport 5555;  (inbound drop [1-9]" &&
	echo "$out" | grep -A2 "^capability 1000" | grep -q "^ *2 *[1-9].*(inbound accept [1-9]"
ok $? "zt-cli rules at b: one line per rule with its counts, then a's capability" || echo "$out" | sed 's/^/# /'
out=$(cli a rules "$net")
echo "$out" | grep -A2 "^capability 1000" | grep -q "accept ipprotocol 6 dport 22;$"
ok $? "zt-cli rules at a: its own capability in the rules language" || echo "$out" | sed 's/^/# /'

drops=$(rule_count b 2 '' drop)
out=$(cli b rules explain "$net" from "$A" ip "$ipa" "->" "$ipb" tcp 5555 syn)
like "$out" "^inbound from $A: drop, rule 2 \\(drop" "explain: TCP 5555 from a is dropped by rule 2"
out=$(cli b -j rules explain "$net" from "$A" ip "$ipa" "->" "$ipb" icmp 8)
is "$(echo "$out" | jq -c '[.verdict, .index, .action, .trace[5].entry, .trace[5].result]')" \
	'["accept",6,"accept","break","not reached"]' "explain: a ping is accepted by rule 6 after the break not reached"
out=$(cli b -j rules explain "$net" from "$A" ip "$ipa" "->" "$ipb" tcp 22 syn)
is "$(echo "$out" | jq -c '[.verdict, .capability, .index]')" '["accept",1000,2]' \
	"explain: SSH from a is allowed by capability 1000, rule 2"
is "$(rule_count b 2 '' drop)" "$drops" "dry runs change no counter"
err=$(cli b rules explain "$net" from "$A" ip "$ipa" "->" "$ipb" tcpp 22 2>&1); rc=$?
is "$rc/$err" "1/zt-cli: rules explain: word 7 'tcpp': expected inbound, outbound, from, to, ethertype, ip, tcp, udp, sctp, icmp, proto, sport, a TCP flag, tos or size" \
	"a bad description is refused, naming the word and what was expected"
err=$(cli b rules explain "$net" to "$A" ip "$ipb" "$ipa" udp 53 2>&1); rc=$?
is "$rc/$err" "1/zt-cli: rules explain: no policy on the egress chain explains its decisions" \
	"an outbound frame where the egress chain has no rules policy: said so"
is "$(zt_api b -o /dev/null -w '%{http_code}' http://127.0.0.1:9993/network/ffffffffffffffff/rules)" 404 \
	"the rules of a network not joined: 404"
is "$(cat "$ns_tmp"/*/log | grep -c -e 'Sanitizer' -e 'runtime error')" 0 "no sanitizer reports in any ztd log"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log a; zt_log b; }
tap_done
