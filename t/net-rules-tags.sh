#!/bin/sh
# Tags and capabilities from the controller, enforced by the rules
# policy on both ends (ingress and egress, as ZeroTier One does):
# "members of department eng may SSH (TCP 22) to the servers, nobody
# else", with a capability granted to two members of which only one is
# in eng, and pings only within a department (a tag match in the base
# rules); the network is given as JSON, then as the same rules source,
# whose tag and capability the members get.  Taking the capability away
# stops SSH at once: the controller revokes it at the server, which
# enforces it on its ingress.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0] department eng (by default), ssh capability, ingress only
#                              |-- b 198.18.0.12 [zt0] the server, department eng (by default)
#                              \-- c 198.18.0.13 [zt0] department sales, ssh capability, ingress only
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 17

zt_lab a:11 b:12 c:13

# tag 100 is the department: 1 eng (everyone's default), 2 sales.
# Base rules: ICMP between different departments dropped, TCP 22 left to
# the capabilities (BREAK), the rest accepted.  Capability 1000: TCP 22
# from a sender in eng.
net=$(zt_ctl_network '{"name":"dept","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.4.10","ipRangeEnd":"198.19.4.100"}],
	"routes":[{"target":"198.19.4.0/24"}],
	"tags":[{"id":100,"default":1}],
	"capabilities":[{"id":1000,"rules":[
		{"type":"MATCH_TAG_SENDER","id":100,"value":1},
		{"type":"MATCH_IP_PROTOCOL","ipProtocol":6},
		{"type":"MATCH_IP_DEST_PORT_RANGE","start":22,"end":22},
		{"type":"ACTION_ACCEPT"}]}],
	"rules":[
		{"type":"MATCH_IP_PROTOCOL","ipProtocol":1},
		{"type":"MATCH_TAGS_DIFFERENCE","id":100,"value":0,"not":true},
		{"type":"ACTION_DROP"},
		{"type":"MATCH_IP_PROTOCOL","ipProtocol":6},
		{"type":"MATCH_IP_DEST_PORT_RANGE","start":22,"end":22},
		{"type":"ACTION_BREAK"},
		{"type":"ACTION_ACCEPT"}]}')
like "$net" "^$(zt_address ctl)[0-9a-f]{6}\$" "the controller creates a network with a tag and a capability ($net)"
is "$(ctl_api "http://127.0.0.1:9993/controller/network/$net" | jq -c '[.tags, (.capabilities[0] | .id, .default, (.rules | length))]')" \
	'[[{"default":1,"id":100}],1000,false,4]' "the API shows them in the reference's shapes"

# The same policy written as a rules source (zt-rules(7)) compiles to
# what the JSON gave; from here on the network's rules, tag and
# capability are the source's, so the enforcement below also shows that
# what a rulesSource defines reaches the members as credentials.
ctl_api "http://127.0.0.1:9993/controller/network/$net" | jq -cS '[.rules, .tags, .capabilities]' \
	> "$ns_tmp/from-json"
cat > "$ns_tmp/dept.rules" <<'RULES'
tag department
  id 100
  enum 1 eng
  enum 2 sales
  default 1
;
cap ssh
  id 1000
  accept tseq department eng ipprotocol tcp dport 22;
;
drop ipprotocol icmp not tdiff department 0;
break ipprotocol tcp dport 22;
accept;
RULES
ctl_api -X POST -d "{\"rulesSource\":$(jq -Rs . < "$ns_tmp/dept.rules")}" \
	"http://127.0.0.1:9993/controller/network/$net" | jq -cS '[.rules, .tags, .capabilities]' > "$ns_tmp/from-source"
is "$(cat "$ns_tmp/from-source")" "$(cat "$ns_tmp/from-json")" \
	"the same policy as a rulesSource: the same rules, tag and capability as the JSON"

join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }
    ingress: [ { use: rules } ]
    egress: [ { use: rules } ]"
# a and c filter only what they receive: what they send is judged by b
# alone, with the tags and capabilities they showed it
zt_networks=$join zt_start b
for h in a c; do zt_networks=$(echo "$join" | grep -v egress) zt_start $h; done
member() {
	ctl_api -X POST -d "$2" "http://127.0.0.1:9993/controller/network/$net/member/$(zt_address "$1")"
}
member a '{"authorized":true,"capabilities":[1000]}' > /dev/null
member c '{"authorized":true,"capabilities":[1000],"tags":[[100,2]]}' > /dev/null
is "$(member c '{}' | jq -c '[.capabilities, .tags]')" '[[1000],[[100,2]]]' "member capabilities and tags as the API shows them"
like "$(member c '{"tags":[[100]]}')" "tags: each must be \\[id, value\\]" "a malformed member tag is refused, saying why"
is "$(member c '{}' | jq -c .tags)" '[[100,2]]' "... and changes nothing"

zt_authorize true b
zt_wait 30 zt_is_status a OK && zt_wait 30 zt_is_status b OK && zt_wait 30 zt_is_status c OK &&
	zt_wait 30 zt_has_ip a && zt_wait 30 zt_has_ip b && zt_wait 30 zt_has_ip c
ok $? "the three members are configured"
ipb=$(zt_net_ip b)
zt_wait 10 sh -c "ip netns exec $(ns_name b) ip -4 -o addr show dev zt0 | grep -q '$ipb/24'"

# tcp_to FROM PORT: a connection from FROM to b carries data
tcp_to() {
	head -c 20000 /dev/urandom > "$ns_tmp/blob"
	rm -f "$ns_tmp/got"
	ns_exec b sh -c "timeout 6 nc -l -p $2 > '$ns_tmp/got'" &
	sleep 0.5
	ns_exec "$1" sh -c "timeout 5 nc -w 2 -q 1 '$ipb' $2 < '$ns_tmp/blob'" > /dev/null 2>&1
	wait $!
	[ "$(sha256sum < "$ns_tmp/got")" = "$(sha256sum < "$ns_tmp/blob")" ]
}
pings() { ns_exec "$1" ping -c 1 -W 1 "$ipb" > /dev/null 2>&1; }
no_ping() { ! ns_exec "$1" ping -c 3 -i 0.3 -W 1 "$ipb" > /dev/null 2>&1; }

zt_wait 20 tcp_to c 80; ok $? "TCP 80 passes the base rules (c to b)"
zt_wait 20 tcp_to a 22; ok $? "SSH from a (eng, with the capability) to b passes"
! tcp_to c 22; ok $? "SSH from c (sales: the capability's tag match fails) is dropped"
zt_wait 10 pings a; ok $? "ping from a to b: the same department"
no_ping c; ok $? "ping from c to b: another department, dropped by a tag match"
dropped=$(zt_inst_counter b rules@$net.ingress dropped)
[ "$dropped" -gt 0 ]; ok $? "b's ingress dropped c's frames by c's tag ($dropped)"
accepted=$(zt_inst_counter b rules@$net.ingress cap_accepted)
[ "$accepted" -gt 0 ]; ok $? "b's ingress accepted a's SSH by the capability a showed ($accepted)"

member a '{"capabilities":[]}' > /dev/null
ssh_gone() { ! tcp_to a 22; }
zt_wait 30 ssh_gone; ok $? "with the capability taken from a, b's ingress stops its SSH (revoked)"
zt_wait 30 tcp_to a 80; ok $? "... while TCP 80 still passes"
is "$(cat "$ns_tmp"/*/log | grep -c -e 'Sanitizer' -e 'runtime error')" 0 "no sanitizer reports in any ztd log"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log a; zt_log b; zt_log c; }
tap_done
