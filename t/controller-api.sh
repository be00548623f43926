#!/bin/sh
# The controller module's HTTP API (networks.md §8.8) through the api
# module: CRUD round trips of networks and members, the ______ form, bad
# input answered 400 with nothing changed, and everything kept across a
# restart of ztd and across kill -9.
#
#   ztd: udp 127.0.0.1:<any>, controller, api 127.0.0.1:<any>
. "$srcdir/t/tap.sh"
. "$srcdir/t/ctl-api.sh"

plan 77

cat > "$tmp/bad.yaml" <<YAML
node: { home: $home }
services:
  - { use: controller, store: 5 }
YAML

"$ZTD" -c "$tmp/bad.yaml" > "$tmp/bad.out" 2>&1
like "$?/$(cat "$tmp/bad.out")" "^1/.*bad.yaml:3:.*controller: store: no store named '5'" \
	"store: 5 is refused with file, line and reason"

start
ok 0 "ztd with the controller and the api starts"
like "$(cat "$tmp/log")" "controller: controller [0-9a-f]{10}, store $ZT_TEST_STORE" \
	"the controller logs its address and store"
tok=$(cat "$home/authtoken.secret")
auth="X-ZT1-Auth: $tok"
addr=$(curl -s -H "$auth" "$url/status" | jq -r .address)
like "$addr" '^[0-9a-f]{10}$' "the node's address"

# ---- status ----
is "$(req GET /controller)" 200 "GET /controller: 200"
is "$(field '[.controller, .apiVersion, .databaseReady] | join(",")')" "true,4,true" \
	"... controller, apiVersion 4, databaseReady"
now=$(date +%s)
is "$(field "(.clock / 1000 - $now) | (if . < 0 then -. else . end) < 5")" true "... clock is now"
is "$(req DELETE /controller)" 405 "DELETE /controller: 405"
is "$(curl -s -o /dev/null -w '%{http_code}' "$url/controller")" 401 "no token: 401"

# ---- networks ----
is "$(req GET /controller/network)/$(body)" "200/[]" "no networks yet"
is "$(req POST "/controller/network/${addr}______" '{"name":"lab","ipAssignmentPools":[{"ipRangeStart":"198.19.1.1","ipRangeEnd":"198.19.1.254"}],"routes":[{"target":"198.19.1.0/24"}],"v4AssignMode":{"zt":true},"unknownKey":[1,2]}')" \
	200 "POST <address>______: 200"
nw=$(field .id)
like "$nw" "^$addr[0-9a-f]{6}\$" "... a new id of this controller"
is "$(body)" "$(jq -cS . "$tmp/body")" "... compact, keys sorted"
is "$(field '[.name, .private, .revision, .objtype, .nwid == .id, .mtu, .multicastLimit, .enableBroadcast] | join(",")')" \
	"lab,true,1,network,true,2800,32,true" "... name, private, revision 1 and the defaults"
is "$(field '.ipAssignmentPools | tostring')" '[{"ipRangeEnd":"198.19.1.254","ipRangeStart":"198.19.1.1"}]' "... pools"
is "$(field '.routes | tostring')" '[{"target":"198.19.1.0/24","via":null}]' "... routes"
is "$(field '[.v4AssignMode.zt, .v6AssignMode.rfc4193, .v6AssignMode["6plane"], .v6AssignMode.zt] | join(",")')" \
	"true,false,false,false" "... assign modes"
is "$(field '.rules | tostring')" '[{"not":false,"or":false,"type":"ACTION_ACCEPT"}]' "... the default rule"
is "$(field 'has("unknownKey")')" false "... unknown keys ignored"
is "$(req POST "/controller/network/0123456789______" '{}')" 400 "______ with another address: 400"
is "$(req POST /controller/network '{"name":"second"}')" 200 "POST /controller/network: 200"
nw2=$(field .id)
like "$nw2" "^$addr[0-9a-f]{6}\$" "... another id of this controller"
is "$(req GET /controller/network)/$(body)" "200/$(printf '%s\n%s\n' "$nw" "$nw2" | sort | jq -R . | jq -cs .)" \
	"GET /controller/network: both ids, ascending"

is "$(req POST "/controller/network/$nw" '{"private":false,"mtu":99999,"v6AssignMode":"rfc4193,zt","rules":[{"type":"MATCH_ETHERTYPE","etherType":2048,"not":true},{"type":"ACTION_DROP"},{"type":"NO_SUCH_RULE"},{"type":"ACTION_ACCEPT"}]}')" \
	200 "update: 200"
is "$(field '[.private, .mtu, .revision, .v6AssignMode.rfc4193, .v6AssignMode.zt, .v6AssignMode["6plane"]] | join(",")')" \
	"false,10000,2,true,true,false" "... private off, mtu clamped, revision 2, legacy v6 string"
is "$(field '.rules | tostring')" \
	'[{"etherType":2048,"not":true,"or":false,"type":"MATCH_ETHERTYPE"},{"type":"ACTION_DROP"},{"type":"ACTION_ACCEPT"}]' \
	"... rules normalized, the unknown one dropped"
req POST "/controller/network/$nw" '{"private":false}' > /dev/null
is "$(field .revision)" 2 "the same value again: revision unchanged"
req GET "/controller/network/$nw" > /dev/null
body > "$tmp/net.before"

is "$(req POST "/controller/network/$nw" '{"name": "x",')" 400 "bad JSON: 400"
is "$(field '.error')" 400 "... {\"error\":400,...}"
is "$(req POST "/controller/network/$nw" '["name"]')" 400 "a JSON array: 400"
is "$(req POST "/controller/network/$nw" '{"name":"changed","private":[true]}')" 400 "private: [true]: 400"
like "$(field .description)" "private" "... the description names the key"
is "$(req POST "/controller/network/$nw" '{"name":"changed","enableBroadcast":{}}')" 400 "enableBroadcast: {}: 400"
is "$(req POST "/controller/network/$nw" '{"name":"changed","routes":[{"target":"198.19.1.0"}]}')" 400 "a route without /bits: 400"
is "$(req POST "/controller/network/$nw" '{"name":"changed","ipAssignmentPools":[{"ipRangeStart":"198.19.1.1","ipRangeEnd":"fd00::1"}]}')" \
	400 "a pool of two families: 400"
is "$(req POST "/controller/network/$nw" '{"name":"changed","mtu":"big"}')" 400 "mtu: a string: 400"
req GET "/controller/network/$nw" > /dev/null
is "$(body)" "$(cat "$tmp/net.before")" "after the 400s the network is unchanged"
is "$(req GET /controller/network/0000000000000001)" 404 "unknown network: 404"
is "$(req GET /controller/network/xyz)" 404 "not an id: 404"

# ---- members ----
m=92bf35da82
is "$(req POST "/controller/network/$nw/member/$m" '{"authorized":true,"ipAssignments":["198.19.1.5","junk","198.19.1.5"],"name":"box"}')" \
	200 "member POST: 200"
is "$(field '[.id, .address, .nwid, .authorized, .revision, .lastAuthorizedCredentialType, .name, .objtype] | join(",")')" \
	"$m,$m,$nw,true,1,api,box,member" "... authorized through the api, revision 1"
is "$(field '.ipAssignments | tostring')" '["198.19.1.5"]' "... ipAssignments: junk and duplicate dropped"
is "$(field '.lastAuthorizedTime > 0 and .lastDeauthorizedTime == 0')" true "... lastAuthorizedTime set"
is "$(req GET "/controller/network/$nw/member")/$(body)" "200/{\"$m\":1}" "member list: address -> revision"
is "$(req POST "/controller/network/$nw/member/$m" '{"authorized":[]}')" 400 "authorized: []: 400"
is "$(req POST "/controller/network/$nw/member/$m" '{"ipAssignments":"198.19.1.6"}')" 400 "ipAssignments: a string: 400"
req GET "/controller/network/$nw/member/$m" > /dev/null
is "$(field '[.revision, (.ipAssignments | tostring)] | join(" ")')" '1 ["198.19.1.5"]' "... the member is unchanged"
is "$(req POST "/controller/network/0000000000000001/member/$m" '{}')" 404 "member of an unknown network: 404"
is "$(req GET "/controller/network/$nw/member/1111111111")" 404 "unknown member: 404"
req POST "/controller/network/$nw/member/$m" '{"authorized":false}' > /dev/null
is "$(field '[.authorized, .revision, .lastDeauthorizedTime > 0] | join(",")')" "false,2,true" \
	"deauthorized: revision 2, lastDeauthorizedTime set"
req POST "/controller/network/$nw/member/1111111111" '{}' > /dev/null
is "$(req GET "/unstable/controller/network/$nw/member")" 200 "GET /unstable/.../member: 200"
is "$(field '[(.data | length), .meta.totalCount, .meta.authorizedCount] | join(",")')" "2,2,0" "... data and meta"
is "$(req GET /unstable/controller/network)" 200 "GET /unstable/controller/network: 200"
is "$(field "[.meta.networkCount, (.data[] | select(.id == \"$nw\") | .meta.totalMemberCount)] | join(\",\")")" \
	"2,2" "... networkCount and member counts"

# ---- booleans as 1.14 reads them (ztncui sends "true") ----
# bools PATH KEY JQ [WRAP]: for each form, the field first set to the
# opposite with a real boolean, then to the form; prints what it became.
# WRAP is a jq program turning the value . into the body.
forms='"true" "1" 1 "True" 2 "false" 0 null "yes" "" "0" 0.5'
expect="true true true true true false false false false false false false"
bools() {
	out=""
	for f in $forms; do
		case $f in '"true"'|'"1"'|1|'"True"'|2) prev=false ;; *) prev=true ;; esac
		req POST "$1" "$(jq -cn --argjson v "$prev" "$3")" > /dev/null
		code=$(req POST "$1" "$(jq -cn --argjson v "$f" "$3")")
		out="$out${out:+ }$(field "$2")"
		[ "$code" = 200 ] || out="$out($code)"
	done
	echo "$out"
}
for k in private enableBroadcast; do
	is "$(bools "/controller/network/$nw2" ".$k" "{\"$k\": \$v}")" "$expect" "network $k: $forms"
done
is "$(bools "/controller/network/$nw2" .v4AssignMode.zt '{v4AssignMode: {zt: $v}}')" "$expect" \
	"network v4AssignMode.zt: the same forms"
for k in rfc4193 6plane zt; do
	is "$(bools "/controller/network/$nw2" ".v6AssignMode[\"$k\"]" "{v6AssignMode: {\"$k\": \$v}}")" "$expect" \
		"network v6AssignMode.$k: the same forms"
done
for k in not or; do
	is "$(bools "/controller/network/$nw2" ".rules[0][\"$k\"]" \
		"{rules: [{type: \"MATCH_ETHERTYPE\", etherType: 2048, \"$k\": \$v}]}")" "$expect" \
		"a rule's $k: the same forms"
done
m2=2222222222
for k in authorized activeBridge noAutoAssignIps; do
	is "$(bools "/controller/network/$nw2/member/$m2" ".$k" "{\"$k\": \$v}")" "$expect" "member $k: the same forms"
done
req DELETE "/controller/network/$nw2/member/$m2" > /dev/null

# ---- restart and kill -9 ----
snapshot() {
	for p in "/controller/network" "/controller/network/$nw" "/controller/network/$nw2" \
		"/controller/network/$nw/member" "/controller/network/$nw/member/$m"; do
		req GET "$p" > /dev/null
		body
		echo
	done
}
snapshot > "$tmp/snap1"
kill -TERM $pid
wait $pid
is "$?" 0 "ztd stops on SIGTERM"
start
snapshot > "$tmp/snap2"
is "$(cat "$tmp/snap2")" "$(cat "$tmp/snap1")" "networks and members survive a restart"

req POST "/controller/network/$nw2" '{"name":"written before kill -9"}' > /dev/null
req POST "/controller/network/$nw/member/$m" '{"authorized":true}' > /dev/null
snapshot > "$tmp/snap1"
kill -9 $pid
wait $pid 2>/dev/null
start
snapshot > "$tmp/snap2"
is "$(cat "$tmp/snap2")" "$(cat "$tmp/snap1")" "what was answered before kill -9 is all there"
if [ "$ZT_TEST_STORE" = postgres ]; then
	ci=$(printf '%s' "$store" | sed -n 's/.*conninfo: "\([^"]*\)".*/\1/p')
	is "$("${PG_BIN:-/usr/lib/postgresql/15/bin}/psql" -X -Atq "$ci" -c 'SELECT count(*) FROM schema_version')" 1 \
		"the database has its schema version"
elif command -v sqlite3 > /dev/null; then
	is "$(sqlite3 "$tmp/store/controller.db" 'PRAGMA journal_mode')" wal "the database is in WAL mode"
else
	ok 0 "# SKIP needs sqlite3"
fi

# ---- deletes ----
is "$(req DELETE "/controller/network/$nw/member/$m")" 200 "member DELETE: 200"
is "$(field .address)" "$m" "... answers the deleted member"
is "$(req GET "/controller/network/$nw/member/$m")" 404 "... which is gone"
is "$(req DELETE "/controller/network/$nw")" 200 "network DELETE: 200"
is "$(req GET "/controller/network/$nw")/$(req GET "/controller/network/$nw/member")" "404/404" \
	"... the network and its members are gone"
is "$(req GET /controller/network)/$(body)" "200/[\"$nw2\"]" "... the other network stays"

kill -TERM $pid
wait $pid
is "$?" 0 "ztd stops cleanly at the end"
pid=""
cat "$tmp/log" >> "$tmp/all.log"
is "$(grep -c -e 'Sanitizer' -e 'runtime error' "$tmp/all.log")" 0 "no sanitizer reports in any ztd log"
tap_done
