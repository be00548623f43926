#!/bin/sh
# zt-import: the reference controller's controller.d (t/import, built from
# its JSON format: networks, members, IP pools, routes, rules, tags,
# capabilities, malformed files) into the store ZT_TEST_STORE names
# (t/store.sh).  Every file and field not imported is reported with why;
# the rest is imported.  The controller then runs with the old
# controller's identity (26b7ab6cb8, of t/vectors/networks.txt), and two
# nodes that were members (eb17d0df38 and 81326a05a8, of
# t/vectors/identities.txt) come back with their addresses, without being
# authorized again, and ping each other.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller, imported)
#                              \-- a 198.18.0.11, b 198.18.0.12 [zt0]
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v jq > /dev/null || skip_all "needs jq"
plan 25

fix=$srcdir/t/import/controller.d
net=26b7ab6cb8000007

# identity_home NAME SECRET: a node's home with an identity of its own already
identity_home() {
	mkdir -p "$ns_tmp/$1"
	printf '%s' "$2" > "$ns_tmp/$1/identity.secret"
	"$builddir/zt-idtool" getpublic "$ns_tmp/$1/identity.secret" > "$ns_tmp/$1/identity.public" ||
		bail "zt-idtool getpublic"
}
vector_secret() { awk -v n="$1" '/^kind: valid/ { k++ } k == n && /^secret: / { print $2; exit }' "$VECTORS/identities.txt"; }

mkdir -p "$ns_tmp/ctl-store"
store=$(zt_store_stanza "$ns_tmp/ctl-store") || bail "no store stanza"
"$builddir/zt-import" -s "$store" "$fix" > "$ns_tmp/import.out" 2> "$ns_tmp/import.err"
is $? 2 "zt-import exits 2: some files skipped, the rest imported"
out=$(cat "$ns_tmp/import.out")
like "$out" "imported 2 networks and 4 members; 4 fields not imported; 4 files skipped" "... the summary"
like "$out" "network/$net.json: imported network $net \"lab\"" "... a network"
like "$out" "member/eb17d0df38.json: imported member eb17d0df38 of $net, authorized, 198\.19\.7\.42" \
	"... a member, authorized, with its address"
like "$out" "member/1111111111.json: skipped: line 4: " "a truncated file is skipped with its line"
like "$out" "member/2222222222.json: skipped: authorized: not true or false" "... a wrong type with its field"
like "$out" "member/3333333333.json: skipped: its id is not the one its file name says" "... a wrong id"
like "$out" "network/26b7ab6cb80000b2.json: skipped: line 1: " "... a network file that is not JSON"
like "$out" "network/$net.json: rulesSource: not imported: the rules are imported compiled" \
	"a field not imported is reported, with why"
like "$out" "26b7ab6cb80000a1.json: frobnicate: not imported: not understood" "an unknown field is reported"

ns_bridge
for h in root:1 ctl:2 a:11 b:12; do ns_host "${h%:*}" "198.18.0.${h#*:}/24"; done
zt_world root 198.18.0.1/9993
zt_start root
identity_home ctl "$(sed -n 's/^controller_identity_secret: //p' "$VECTORS/networks.txt")"
identity_home a "$(vector_secret 1)"
identity_home b "$(vector_secret 2)"
zt_services=$(zt_ctl_service) zt_start ctl
is "$(zt_address ctl)" 26b7ab6cb8 "the controller runs with the old controller's identity"

office=$(ctl_api "http://127.0.0.1:9993/controller/network/26b7ab6cb80000a1")
is "$(echo "$office" | jq -c '[.name, .private, .enableBroadcast, .mtu, .multicastLimit, .v6AssignMode]')" \
	'["office",false,false,1400,64,{"6plane":false,"rfc4193":true,"zt":true}]' "a network's settings are imported"
is "$(echo "$office" | jq -c '[.ipAssignmentPools[].ipRangeStart, .routes[].via]')" \
	'["198.19.8.1","fd00:7::1",null,"198.19.8.1",null]' "... its IP pools and routes"
is "$(echo "$office" | jq -c '[.rules[].type]')" '["MATCH_TAGS_DIFFERENCE","ACTION_ACCEPT"]' "... its rules"
is "$(echo "$office" | jq -c '[.capabilities[] | .id, .default, (.rules | length)]')" '[1,true,1]' "... its capabilities"
is "$(ctl_api "http://127.0.0.1:9993/controller/network/$net" | jq -c .tags)" '[{"default":1,"id":1000}]' \
	"... and another's tag definitions"
is "$(ctl_api "http://127.0.0.1:9993/controller/network/$net/member/eb17d0df38" | jq -c .tags)" '[[1000,1]]' \
	"a member's tags are imported"
m=$(ctl_api "http://127.0.0.1:9993/controller/network/$net/member/81326a05a8")
is "$(echo "$m" | jq -c '[.authorized, .name, .noAutoAssignIps, .ipAssignments, .lastAuthorizedTime, .vMinor]')" \
	'[true,"server",true,["198.19.7.43"],1700000400000,14]' "a member's fields are imported"
is "$(ctl_api "http://127.0.0.1:9993/controller/network/$net/member" | jq -c 'keys')" \
	'["0123456789","81326a05a8","eb17d0df38"]' "the network has the members that were well-formed"

join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
zt_networks=$join zt_start a
zt_networks=$join zt_start b
zt_wait 60 zt_is_status a OK; ok $? "a, a member before, is configured without a new authorization ($(zt_net_status a))"
zt_wait 60 zt_is_status b OK; ok $? "... and so is b ($(zt_net_status b))"
is "$(zt_net_ip a) $(zt_net_ip b)" "198.19.7.42 198.19.7.43" "both have the addresses they had"
zt_wait 10 sh -c "ip netns exec $(ns_name a) ip -4 -o addr show dev zt0 | grep -q '198.19.7.42/24'"
ok $? "a's port carries 198.19.7.42/24"
zt_wait 30 ns_exec a ping -c 1 -W 1 198.19.7.43; ok $? "a pings b over the imported network"
zt_stop ctl
zt_stop a
zt_stop b
is "$(cat "$ns_tmp/ctl/log" "$ns_tmp/a/log" "$ns_tmp/b/log" "$ns_tmp/import.err" |
	grep -c -e 'Sanitizer' -e 'runtime error')" 0 "no sanitizer reports in the import's or the nodes' logs"
[ $tap_failed -eq 0 ] || { cat "$ns_tmp/import.out" | sed 's/^/# /'; zt_log ctl; zt_log a; }
tap_done
