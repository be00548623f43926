#!/bin/sh
# The controller's loop never waits on PostgreSQL: with the server's
# processes stopped (SIGSTOP) an API write waits for its COMMIT while the
# node keeps serving its API (zt-cli info, /status, reads of the
# controller's networks) and members keep pinging each other; once the
# server runs again (SIGCONT) the write answers 200 and is in the
# database.  A write that gets no COMMIT within write-timeout answers an
# error (504), never a success.
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
plan 16

# the server's processes: the postmaster and its children
pg_pids() {
	pm=$(head -1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || return 0
	echo "$pm $(pgrep -P "$pm" | tr '\n' ' ')"
}
pg_freeze() { kill -STOP $(pg_pids); }
pg_thaw() { [ -f "$PG_DIR/data/postmaster.pid" ] && kill -CONT $(pg_pids) 2>/dev/null; return 0; }
# a stopped server cannot be stopped: let it run before the cleanup
trap 'pg_thaw; ns_cleanup' EXIT

ci=$(pg_db zt_async) || bail "no database"
# ctl_with TIMEOUT: (re)start the controller with write-timeout TIMEOUT
ctl_with() {
	zt_services="  - { use: controller, store: { use: postgres, conninfo: \"$ci\", write-timeout: $1 } }" \
		zt_start ctl
}
ns_bridge
for h in root:1 ctl:2 a:11 b:12; do ns_host "${h%:*}" "198.18.0.${h#*:}/24"; done
zt_world root 198.18.0.1/9993
zt_start root
ctl_with 120s
net=$(zt_ctl_network '{"name":"async","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.5.10","ipRangeEnd":"198.19.5.200"}],
	"routes":[{"target":"198.19.5.0/24"}]}')
join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
for h in a b; do zt_networks=$join zt_start $h; done
zt_authorize true a b
all_ok=0
for h in a b; do zt_wait 60 zt_is_status $h OK || all_ok=1; done
ok $all_ok "a and b are configured"
ip_b=$(zt_net_ip b)
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ip_b"
ok $? "a pings b"

# post ADDRESS OUT: authorize a new member in the background; OUT gets
# the HTTP code once the answer is in
post() {
	ctl_api -m 200 -o "$2.body" -w '%{http_code}' -X POST -d '{"authorized":true,"name":"late"}' \
		"http://127.0.0.1:9993/controller/network/$net/member/$1" > "$2.tmp"
	mv "$2.tmp" "$2"
}
cli() { ns_exec "$1" timeout 10 "$builddir/zt-cli" -D"$ns_tmp/$1" "$2"; }

pg_freeze
post 4000000001 "$ns_tmp/w1" &
w1=$!
zt_wait 30 grep -q "member/4000000001: waiting for the COMMIT" "$ns_tmp/ctl/log"
# a second write waits behind the first
post 4000000004 "$ns_tmp/w4" &
w4=$!
cli ctl info > "$ns_tmp/info"
ok $? "zt-cli info answers while the write waits for the stopped database"
grep -q "$(zt_address ctl)" "$ns_tmp/info"
ok $? "... with the controller's address"
zt_api ctl -m 5 http://127.0.0.1:9993/status | grep -q '"online":true'
ok $? "/status answers"
is "$(ctl_api -m 5 "http://127.0.0.1:9993/controller/network/$net" | jq -r .name)" async \
	"a read of the controller's network answers from the cache"
ns_exec a ping -c 1 -W 5 "$ip_b" > /dev/null
ok $? "a pings b meanwhile"
[ ! -f "$ns_tmp/w1" ] && [ ! -f "$ns_tmp/w4" ]
ok $? "the writes have not answered before their COMMIT"
pg_thaw
wait $w1 $w4
is "$(cat "$ns_tmp/w4")" 200 "the write queued behind it answers 200 too"
is "$(cat "$ns_tmp/w1")" 200 "after SIGCONT the write answers 200"
is "$(jq -r .authorized "$ns_tmp/w1.body")" true "... with the member"
is "$(pg_psql "SELECT count(*) FROM members WHERE address IN ('4000000001', '4000000004') AND authorized" "$ci")" 2 \
	"... both are in the database"

# a write that gets no COMMIT in time
zt_stop ctl
ctl_with 2s
zt_wait 30 ctl_api -m 5 "http://127.0.0.1:9993/controller/network/$net"
pg_freeze
post 4000000002 "$ns_tmp/w2"
pg_thaw
is "$(cat "$ns_tmp/w2")" 504 "a write with no COMMIT in write-timeout answers 504"
grep -q "no COMMIT in 2000 ms" "$ns_tmp/w2.body"
ok $? "... saying why ($(jq -r .description "$ns_tmp/w2.body"))"
eval "kill -0 \$zt_pid_ctl"
ok $? "the controller did not crash"
# ztd stopping with a write in flight: the store's close waits for the
# thread, whose job ends once the server runs; nothing leaks
pg_freeze
post 4000000003 "$ns_tmp/w3" &
w3=$!
zt_wait 30 grep -q "member/4000000003: waiting for the COMMIT" "$ns_tmp/ctl/log"
eval "kill -TERM \$zt_pid_ctl"
pg_thaw
eval "wait \$zt_pid_ctl"
wait $w3
is "$(grep -c -e 'Sanitizer' -e 'runtime error' "$ns_tmp/ctl/log")" 0 \
	"no sanitizer reports in the controller's log (stopped with a write in flight: $(cat "$ns_tmp/w3"))"
[ $tap_failed -eq 0 ] || { zt_log ctl; sed 's/^/#   /' "$PG_DIR/log"; }
tap_done
