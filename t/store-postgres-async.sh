#!/bin/sh
# The controller's loop never waits on PostgreSQL: with the server's
# processes stopped (SIGSTOP) an API write waits for its COMMIT while the
# node keeps serving its API (zt-cli info, /status, reads of the
# controller's networks) and members keep pinging each other; once the
# server runs again (SIGCONT) the write answers 200 and is in the
# database.  A write that gets no COMMIT within write-timeout answers an
# error (504), never a success.  Nor does a config request whose write
# (a new member, the address it gets from the pool) waits for its COMMIT:
# the member gets its config only once the write is durable, and
# meanwhile the controller answers and members ping each other.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 --- PostgreSQL (t/pg.sh)
#                              \-- a .11, b .12, c .13 [zt0]
ZT_TEST_STORE=postgres
export ZT_TEST_STORE
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
. "$srcdir/t/pg.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 23

# a stopped server cannot be stopped: let it run before the cleanup
trap 'pg_thaw; ns_cleanup' EXIT

ci=$(pg_db zt_async) || bail "no database"
# ctl_with TIMEOUT: (re)start the controller with write-timeout TIMEOUT
ctl_with() {
	zt_services="  - { use: controller, store: { use: postgres, conninfo: \"$ci\", write-timeout: $1 } }" \
		zt_start ctl
}
ns_bridge
for h in root:1 ctl:2 a:11 b:12 c:13; do ns_host "${h%:*}" "198.18.0.${h#*:}/24"; done
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

# a new member c joins a public network and asks for its config: it is
# written with the address it is given, and told only after the COMMIT
open=$(zt_ctl_network '{"name":"open","private":false,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.6.10","ipRangeEnd":"198.19.6.200"}],
	"routes":[{"target":"198.19.6.0/24"}]}')
pg_freeze
zt_networks="networks:
  - id: \"$open\"
    iface: { use: tap, name: zt0 }" zt_start c
c_addr=$(zt_address c)
zt_wait 60 grep -q "member $open/$c_addr: config waits for the COMMIT" "$ns_tmp/ctl/log"
ok $? "a new member's config request waits for the COMMIT of its member"
cli ctl info | grep -q "$(zt_address ctl)"
ok $? "zt-cli info on the controller answers meanwhile"
ns_exec a ping -c 1 -W 5 "$ip_b" > /dev/null
ok $? "a pings b meanwhile"
net=$open
! zt_is_status c OK && ! zt_has_ip c
ok $? "c has no config before the COMMIT"
pg_thaw
zt_wait 60 zt_is_status c OK
ok $? "after SIGCONT c gets its config"
ip_c=$(zt_net_ip c)
case "$ip_c" in 198.19.6.*) pool=0 ;; *) pool=1 ;; esac
ok $pool "... with an address from the pool ($ip_c)"
is "$(pg_psql "SELECT ip FROM members JOIN member_ips USING (network_id, address)
	WHERE address = '$c_addr' AND authorized" "$ci")" "$ip_c" "... and c is in the database with it"

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
