#!/bin/sh
# The controller on PostgreSQL while the database goes away and comes
# back under load: while it is down a member that asks anew is answered
# from the store's cache, API writes fail cleanly (never a success that
# is not stored); after it is back the controller reconnects by itself,
# writes succeed again, and no member is lost.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 --- PostgreSQL (t/pg.sh)
#                              \-- a .11, b .12 [zt0]
ZT_TEST_STORE=postgres
export ZT_TEST_STORE
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
. "$srcdir/t/pg.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 9

zt_lab a:11 b:12
net=$(zt_ctl_network '{"name":"restart","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.4.10","ipRangeEnd":"198.19.4.200"}],
	"routes":[{"target":"198.19.4.0/24"}]}')
join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
for h in a b; do zt_networks=$join zt_start $h; done
zt_authorize true a b
all_ok=0
for h in a b; do zt_wait 60 zt_is_status $h OK || all_ok=1; done
ok $all_ok "a and b are configured"
ip_b=$(zt_net_ip b)

writer() {
	i=$1
	while [ ! -f "$ns_tmp/stop-writer" ]; do
		addr=$(printf '%010x' $i)
		code=$(ctl_api -o /dev/null -w '%{http_code}' -X POST -d "{\"authorized\":true,\"name\":\"w$i\"}" \
			"http://127.0.0.1:9993/controller/network/$net/member/$addr")
		[ "$code" = 200 ] && echo "$addr" >> "$ns_tmp/w-ok"
		[ "$code" != 200 ] && echo "$addr $code" >> "$ns_tmp/w-failed"
		i=$((i + 1))
	done
}
: > "$ns_tmp/w-ok"
: > "$ns_tmp/w-failed"
writer $((0x3000000000)) &
w=$!
zt_wait 30 sh -c "[ \$(wc -l < '$ns_tmp/w-ok') -ge 20 ]"

pg_server_stop immediate
zt_wait 30 grep -q "lost the database" "$ns_tmp/ctl/log"
ok $? "the controller notices the database is gone"
zt_wait 30 sh -c "[ -s '$ns_tmp/w-failed' ]"
ok $? "API writes fail while it is gone ($(head -1 "$ns_tmp/w-failed"))"
zt_stop b
rm -rf "$ns_tmp/b/networks.d"   # no config of its own to fall back on
zt_networks=$join zt_start b
zt_wait 60 zt_is_status b OK
ok $? "b, restarted while the database is down, is configured from the cache"
is "$(zt_net_ip b)" "$ip_b" "... with its address"

pg_server_start
n0=$(wc -l < "$ns_tmp/w-ok")
zt_wait 60 sh -c "[ \$(wc -l < '$ns_tmp/w-ok') -gt $((n0 + 10)) ]"
ok $? "API writes succeed again once the database is back"
: > "$ns_tmp/stop-writer"
wait $w 2>/dev/null
eval "kill -0 \$zt_pid_ctl"
ok $? "the controller did not crash"

ctl_api "http://127.0.0.1:9993/controller/network/$net/member" | jq -r 'keys[]' | sort > "$ns_tmp/have"
pg_psql "SELECT address FROM members ORDER BY address" \
	"$(zt_ctl_service | sed -n 's/.*conninfo: "\([^"]*\)".*/\1/p')" > "$ns_tmp/db"
lost=$( (sort "$ns_tmp/w-ok"; zt_address a; zt_address b) | sort | comm -23 - "$ns_tmp/have" | tr '\n' ' ')
is "$lost" "" "no member lost, none of the writes that succeeded ($(wc -l < "$ns_tmp/w-ok"))"
is "$(cat "$ns_tmp/have")" "$(cat "$ns_tmp/db")" "the controller's view is the database's"
[ $tap_failed -eq 0 ] || { zt_log ctl; sed 's/^/#   /' "$PG_DIR/log"; }
tap_done
