#!/bin/sh
# A network's flow rules written in the rules language (zt-rules(7)):
# zt-cli rules compile prints what a source compiles to, or its error
# with file:line:col and exit 1; the controller API takes the same
# source as rulesSource, stores it with the rules, capabilities and tags
# compiled from it (they survive a restart), refuses a bad source with
# its line:col as a 400 that changes nothing, and forgets the source
# when rules, capabilities or tags are given alone (the source wins
# when given with them).
#
#   ztd: udp 127.0.0.1:<any>, controller, api 127.0.0.1:<any>
. "$srcdir/t/tap.sh"
. "$srcdir/t/ctl-api.sh"

plan 25

# ---- zt-cli rules compile ----
cat > "$tmp/ok.rules" <<'RULES'
# ICMP dropped, unless the member holds the capability "pinger"
tag role
  id 10
  enum 1 admin
  default 0
;
cap pinger
  id 7
  accept ipprotocol icmp;
;
break ipprotocol icmp;
accept teq role admin;
accept;
RULES
"$builddir/zt-cli" rules compile "$tmp/ok.rules" > "$tmp/out" 2> "$tmp/err"
is "$?/$(cat "$tmp/err")" "0/" "zt-cli rules compile: exit 0, nothing on stderr"
is "$(jq -c '[.rules[].type]' "$tmp/out")" \
	'["MATCH_IP_PROTOCOL","ACTION_BREAK","MATCH_TAGS_EQUAL","ACTION_ACCEPT","ACTION_ACCEPT"]' \
	"... the base rules"
is "$(jq -c '[.capabilities, .tags, .capabilitiesByName, .tagsByName.role.enums]' "$tmp/out")" \
	'[[{"id":7,"default":false,"rules":[{"type":"MATCH_IP_PROTOCOL","not":false,"or":false,"ipProtocol":1},{"type":"ACTION_ACCEPT"}]}],[{"id":10,"default":0}],{"pinger":7},{"admin":1}]' \
	"... capabilities, tags and their names"
printf 'accept\n  ipprotocol tcp\n  dport 70000\n;\n' > "$tmp/bad.rules"
"$builddir/zt-cli" rules compile "$tmp/bad.rules" > "$tmp/out" 2> "$tmp/err"
is "$?/$(cat "$tmp/out")/$(cat "$tmp/err")" \
	"1//$tmp/bad.rules:3:9: dport: expected a port or range from 0 to 65535, got '70000'" \
	"a bad source: exit 1, file:line:col and what was expected on stderr"
is "$(printf 'accept; # all\n' | "$builddir/zt-cli" rules compile - | jq -c .rules)" '[{"type":"ACTION_ACCEPT"}]' \
	"- compiles standard input"
"$builddir/zt-cli" rules compile "$tmp/nothing.rules" > /dev/null 2> "$tmp/err"
like "$?/$(cat "$tmp/err")" "^1/zt-cli: $tmp/nothing.rules: No such file" "a missing file: exit 1"

# ---- the controller ----
start
auth="X-ZT1-Auth: $(cat "$home/authtoken.secret")"
addr=$(curl -s -H "$auth" "$url/status" | jq -r .address)
json() { jq -c "$1" "$tmp/body"; }

src=$(jq -Rs . < "$tmp/ok.rules")
is "$(req POST "/controller/network/${addr}______" "{\"name\":\"src\",\"rulesSource\":$src}")" 200 \
	"a new network with a rulesSource: 200"
nw=$(jq -r .id "$tmp/body")
is "$(json .rulesSource)" "$src" "... the source is kept as given"
is "$(json .rules)" \
	'[{"ipProtocol":1,"not":false,"or":false,"type":"MATCH_IP_PROTOCOL"},{"type":"ACTION_BREAK"},{"id":10,"not":false,"or":false,"type":"MATCH_TAGS_EQUAL","value":1},{"type":"ACTION_ACCEPT"},{"type":"ACTION_ACCEPT"}]' \
	"... the rules are the compiled ones"
is "$(json '[.capabilities, .tags]')" \
	'[[{"default":false,"id":7,"rules":[{"ipProtocol":1,"not":false,"or":false,"type":"MATCH_IP_PROTOCOL"},{"type":"ACTION_ACCEPT"}]}],[{"default":0,"id":10}]]' \
	"... with the capabilities and tags"
is "$(req GET "/controller/network/$nw")/$(json '[.rulesSource == '"$src"', (.rules | length), .revision]')" \
	"200/[true,5,1]" "GET returns the source and its rules"
cp "$tmp/body" "$tmp/net.before"

is "$(req POST "/controller/network/$nw" '{"name":"changed","rulesSource":"drop\n  ipprotocol tcp\n  sport 1-2-3\n;\n"}')" \
	400 "a source that does not compile: 400"
is "$(json .description)" "\"rulesSource:3:9: sport: expected a port or range from 0 to 65535, got '1-2-3'\"" \
	"... the description gives line:col and what was expected"
is "$(req POST "/controller/network/$nw" '{"rulesSource":["accept;"]}')/$(json .description)" \
	'400/"rulesSource: not a string"' "a source that is not a string: 400"
req GET "/controller/network/$nw" > /dev/null
is "$(cat "$tmp/body")" "$(cat "$tmp/net.before")" "... and the network is unchanged"

is "$(req POST "/controller/network/$nw" '{"rulesSource":"tee -1 deadbeef11 chr inbound;\naccept;"}')" 200 \
	"another source: 200"
is "$(json '[.rules, .capabilities, .tags, .revision]')" \
	'[[{"mask":"8000000000000000","not":false,"or":false,"type":"MATCH_CHARACTERISTICS"},{"address":"deadbeef11","flags":0,"length":65535,"type":"ACTION_TEE"},{"type":"ACTION_ACCEPT"}],[],[],2]' \
	"... replaces rules, capabilities and tags (tee -1: the whole frame)"
req GET "/controller/network/$nw" > /dev/null
cp "$tmp/body" "$tmp/net.before"
kill -TERM $pid
wait $pid
start
req GET "/controller/network/$nw" > /dev/null
is "$(cat "$tmp/body")" "$(cat "$tmp/net.before")" "the source and what it compiled to survive a restart"

is "$(req POST "/controller/network/$nw" '{"rules":[{"type":"ACTION_DROP"}]}')" 200 "rules given alone: 200"
is "$(json '[.rules, .rulesSource, .capabilities, .tags]')" '[[{"type":"ACTION_DROP"}],"",[],[]]' \
	"... replace the source and what it made"
is "$(req POST "/controller/network/$nw" '{"rulesSource":""}')/$(json '[.rules, .rulesSource]')" \
	'200/[[{"type":"ACTION_DROP"}],""]' "an empty rulesSource keeps the rules"
is "$(req POST "/controller/network/$nw" "{\"rulesSource\":$src,\"capabilities\":[{\"id\":1}],\"tags\":[]}")/$(json '[(.capabilities | map(.id)), (.tags | map(.id))]')" \
	'200/[[7],[10]]' "a source wins over capabilities and tags beside it"
is "$(req POST "/controller/network/$nw" '{"tags":[{"id":11}]}')/$(json '[.rulesSource, (.capabilities | map(.id)), .tags, (.rules | length)]')" \
	'200/["",[7],[{"default":null,"id":11}],5]' \
	"tags given alone replace the source's, keep its capabilities and rules, and forget the source"

kill -TERM $pid
wait $pid
is "$?" 0 "ztd stops cleanly"
pid=""
cat "$tmp/log" >> "$tmp/all.log"
is "$(grep -c -e 'Sanitizer' -e 'runtime error' "$tmp/all.log")" 0 "no sanitizer reports in any ztd log"
