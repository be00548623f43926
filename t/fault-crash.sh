#!/bin/sh
# Process faults: ztd killed with SIGKILL loses nothing it acknowledged.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller, sqlite store)
#                              |-- a 198.18.0.11 (joins through its API)
#                              \-- b 198.18.0.12 (network in ztd.yaml)
#
# 1. a member: its identity, the network it joined at run time and its
#    address are there after the restart, and it is OK again;
# 2. the controller, killed while API writes of members (each with an
#    address) go on and members ask for configs: every write answered 200
#    is in the store afterwards, the database passes PRAGMA
#    integrity_check, and the members are OK again;
# 3. a root: once back, the members are online again and a reaches b.
#
# The times to recover are printed ("# recovered in"): README's
# Reliability section states them.  The waits are bounds, not assertions
# on time.
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v sqlite3 > /dev/null || skip_all "needs sqlite3 (apt-get install sqlite3)"
ZT_TEST_STORE=sqlite
plan 19

api_url=http://127.0.0.1:9993
now() { date +%s.%N; }
since() { echo "$(now) $1" | awk '{ printf "%.1f", $1 - $2 }'; }
zt_kill() {
	eval "pid=\$zt_pid_$1"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
}

zt_lab a:11 b:12
zt_tap_network crash 7
zt_start b
zt_networks=""
zt_start a
is "$(zt_api a -o /dev/null -w '%{http_code}' -X POST -d '{}' "$api_url/network/$net")" 200 "a joins through its API"
zt_authorize true a b
zt_wait 30 zt_is_status a OK && zt_wait 30 zt_has_ip a && zt_wait 30 zt_has_ip b
ok $? "a and b are members with addresses"
ipa=$(zt_net_ip a); ipb=$(zt_net_ip b)
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a pings b ($ipa -> $ipb)"

# ---- 1. a member ----
id_a=$(cat "$ns_tmp/a/identity.secret")
pub_a=$(cat "$ns_tmp/a/identity.public")
zt_kill a
# as if killed while generating its identity, between the secret's write
# and the public one's
rm "$ns_tmp/a/identity.public"
# and as if killed in the middle of two state writes: one temp file of
# a writer that is gone (no pid is that large), one of a live process
mkdir -p "$ns_tmp/a/networks.d"
printf half > "$ns_tmp/a/networks.d/$net.netconf.tmp.99999999"
printf live > "$ns_tmp/a/identity.public.tmp.$$"
t0=$(now)
zt_start a
up_a() { zt_is_status a OK && [ "$(zt_net_ip a)" = "$ipa" ] && ns_exec a ping -c 1 -W 1 "$ipb"; }
zt_wait 60 up_a; ok $? "a killed and restarted: network OK, same address, reaches b"
echo "# recovered in $(since "$t0") s: member killed (SIGKILL), from its restart to OK and a ping answered"
is "$(cat "$ns_tmp/a/identity.secret")" "$id_a" "a's identity is the same"
is "$(cat "$ns_tmp/a/identity.public")" "$pub_a" "its missing identity.public is written again"
[ ! -e "$ns_tmp/a/networks.d/$net.netconf.tmp.99999999" ]; ok $? "a crashed write's temp file is removed at start"
[ -e "$ns_tmp/a/identity.public.tmp.$$" ]; ok $? "a live process's temp file is left alone"
rm -f "$ns_tmp/a/identity.public.tmp.$$"
is "$(zt_api a "$api_url/network" | jq -r '.[].id')" "$net" "a's network joined at run time is still joined"

# ---- 2. the controller, during API writes and config requests ----
# Members 1100000001... written with an address each, as fast as the API
# answers; a line "member address" per write answered 200.
writer() {
	i=1
	while :; do
		m=$(printf '11%08x' $i)
		ip=198.19.8.$(( i % 250 + 1 ))
		code=$(ctl_api -o /dev/null -w '%{http_code}' -X POST \
			-d "{\"authorized\":true,\"ipAssignments\":[\"$ip\"]}" \
			"$api_url/controller/network/$net/member/$m" 2>/dev/null)
		[ "$code" = 200 ] && echo "$m $ip" >> "$ns_tmp/acked"
		i=$(( i + 1 ))
	done
}
# config requests: a leaves and joins the network again and again
requester() {
	while :; do
		zt_api a -X DELETE "$api_url/network/$net" > /dev/null 2>&1
		zt_api a -X POST -d '{}' "$api_url/network/$net" > /dev/null 2>&1
		sleep 0.2
	done
}
: > "$ns_tmp/acked"
writer & wpid=$!
requester & rpid=$!
# kill once writes are going on (a bound, not a timing assertion)
for i in $(seq 300); do
	[ "$(wc -l < "$ns_tmp/acked")" -ge 40 ] && break
	sleep 0.1
done
zt_kill ctl
sleep 0.5
kill "$wpid" "$rpid"; wait "$wpid" "$rpid" 2>/dev/null
acked=$(wc -l < "$ns_tmp/acked")
ok $(( acked < 40 )) "the controller was killed during API writes ($acked acknowledged)"
is "$(sqlite3 "$ns_tmp/ctl-store/controller.db" 'PRAGMA integrity_check')" ok \
	"the database passes PRAGMA integrity_check after the kill"
t0=$(now)
zt_services=$(zt_ctl_service) zt_start ctl
zt_wait 60 zt_is_status b OK; ok $? "b is OK after the controller's restart"
zt_api a -X POST -d '{}' "$api_url/network/$net" > /dev/null
zt_wait 60 up_a; ok $? "a is OK with its address after the controller's restart and reaches b"
echo "# recovered in $(since "$t0") s: controller killed (SIGKILL) during API writes, from its restart to both members OK"
lost=0
while read -r m ip; do
	got=$(ctl_api "$api_url/controller/network/$net/member/$m" | jq -r '[.authorized, .ipAssignments[0]] | join(" ")')
	if [ "$got" != "true $ip" ]; then
		lost=$(( lost + 1 ))
		diag "member $m: written as authorized with $ip (200), now: $got"
	fi
done < "$ns_tmp/acked"
is "$lost" 0 "all $acked member writes answered 200 are in the store"
is "$(ctl_api "$api_url/controller/network/$net/member/$(zt_address a)" | jq -r .ipAssignments[0])" "$ipa" \
	"a's assignment survived"
sqlite3 "$ns_tmp/ctl-store/controller.db" 'PRAGMA integrity_check' > "$ns_tmp/check" 2>&1
is "$(cat "$ns_tmp/check")" ok "the database passes PRAGMA integrity_check after the restart"

# ---- 3. a root ----
zt_kill root
t0=$(now)
zt_start root
both_online() {
	zt_online a && zt_online b
}
# a member notices a root's loss only when it next asks it: wait for the
# root to have heard from both again
heard() { zt_knows root a && zt_knows root b && both_online; }
zt_wait 120 heard; ok $? "root killed and restarted: a and b are online through it again"
echo "# recovered in $(since "$t0") s: root killed (SIGKILL), from its restart to both members heard by it"
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a still reaches b"
zt_is_status a OK; ok $? "a's network is OK"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log a; zt_log root; }
tap_done
