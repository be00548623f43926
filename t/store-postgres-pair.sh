#!/bin/sh
# Two controllers with one identity on one PostgreSQL database: exactly
# one is active; a write through either's API reaches the other (NOTIFY);
# writes to the same members through both APIs at once leave both
# controllers' caches equal to the database; kill -9 of the active one while members hold configs and both APIs are
# being written: the standby takes over, every member stays authorized
# with the same addresses, and no API write that returned success is lost.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 ---\
#                              \-- ctl2 198.18.0.3 ----+-- PostgreSQL (Unix socket, t/pg.sh)
#                              \-- a .11, b .12, c .13 [zt0]
ZT_TEST_STORE=postgres
export ZT_TEST_STORE
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 17

zt_lab a:11 b:12 c:13 ctl2:3
mkdir -p "$ns_tmp/ctl2"
cp "$ns_tmp/ctl/identity.secret" "$ns_tmp/ctl/identity.public" "$ns_tmp/ctl2/"
zt_services=$(zt_ctl_service) zt_start ctl2

is_active() { grep -q "holds the pair's lock" "$ns_tmp/$1/log"; }
zt_wait 30 sh -c "grep -q \"holds the pair's lock\" '$ns_tmp/ctl/log' '$ns_tmp/ctl2/log'"
n=0
for h in ctl ctl2; do is_active $h && n=$((n + 1)); done
is "$n" 1 "exactly one controller of the pair is active"
if is_active ctl; then act=ctl sby=ctl2; else act=ctl2 sby=ctl; fi
diag "active: $act, standby: $sby"
like "$(cat "$ns_tmp/$sby/log")" "standby|controller [0-9a-f]+.*\\(standby\\)" "the other says it is the standby"

api() {
	name=$1; shift
	zt_api "$name" -H 'Content-Type: application/json' "$@"
}
ctl_addr=$(zt_address ctl)
net=$(api "$sby" -X POST -d '{"name":"pair","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.3.10","ipRangeEnd":"198.19.3.200"}],
	"routes":[{"target":"198.19.3.0/24"}]}' "http://127.0.0.1:9993/controller/network/${ctl_addr}______" | jq -r .id)
like "$net" "^${ctl_addr}[0-9a-f]{6}\$" "a network created through the standby's API ($net)"
zt_wait 15 sh -c "[ \"\$(ip netns exec $(ns_name "$act") curl -s -m 5 -H 'X-ZT1-Auth: $(cat "$ns_tmp/$act/authtoken.secret")' http://127.0.0.1:9993/controller/network/$net | jq -r .name)\" = pair ]"
ok $? "... is seen by the active one (NOTIFY)"

join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
for h in a b c; do zt_networks=$join zt_start $h; done
for h in a b c; do
	api "$sby" -X POST -d '{"authorized":true}' \
		"http://127.0.0.1:9993/controller/network/$net/member/$(zt_address $h)" > /dev/null
done
all_ok=0
for h in a b c; do zt_wait 60 zt_is_status $h OK || all_ok=1; done
ok $all_ok "a, b and c, authorized through the standby, are configured by the active one"
ips_before=""
for h in a b c; do ips_before="$ips_before $(zt_net_ip $h)"; done
like "$ips_before" "^( 198\\.19\\.3\\.[0-9]+){3}\$" "each has an address ($ips_before)"

# both APIs write the same members at once, the active one their names,
# the standby their addresses: neither write loses the other's field (a
# write from a copy the other one changed since writes only its own
# fields), and each controller takes its own writes and the other's
# (NOTIFY) into its cache in the database's order, so that both end with
# what the database holds, a, b and c's addresses too (a cache that went
# back to an older copy of a member kept it, and the survivor showed it
# after the failover)
. "$srcdir/t/pg.sh"
db=$(pg_db "zt_$(printf '%s' "$ns_tmp/ctl-store" | md5sum | cut -c1-12)")
same="3000000001 3000000002 3000000003 3000000004"
watched="$same $(for h in a b c; do zt_address $h; done | sort | tr '\n' ' ')"
for m in $same; do
	api "$act" -X POST -d '{"name":"m"}' "http://127.0.0.1:9993/controller/network/$net/member/$m" > /dev/null
done
rounds=8
same_writer() {
	for k in $(seq 1 $rounds); do
		for m in $same; do
			case $1 in
			name) body="{\"name\":\"n$k\"}" ;;
			ip) body="{\"ipAssignments\":[\"198.19.4.$(( ${m#300000000} * 20 + k ))\"]}" ;;
			esac
			zt_api "$2" -o /dev/null -H 'Content-Type: application/json' -X POST \
				-d "$body" "http://127.0.0.1:9993/controller/network/$net/member/$m"
		done
	done
}
same_writer name "$act" &
w1=$!
same_writer ip "$sby" &
w2=$!
wait $w1 $w2
# address name revision ips, of the watched members
db_view() {
	pg_psql "SELECT m.address || ' ' || coalesce(m.name, '') || ' ' || m.revision || ' ' ||
		coalesce((SELECT string_agg(ip, ',' ORDER BY pos) FROM member_ips i
			WHERE i.network_id = m.network_id AND i.address = m.address), '')
		FROM members m WHERE m.network_id = '$net'" "$db" |
		grep -E "^($(echo $watched | tr ' ' '|')) " | sort
}
api_view() {
	for m in $watched; do
		api "$1" "http://127.0.0.1:9993/controller/network/$net/member/$m" |
			jq -r '[.id, (.name // ""), .revision, (.ipAssignments | join(","))] | map(tostring) | join(" ")'
	done | sort
}
views_agree() {
	d=$(db_view)
	[ -n "$d" ] && [ "$(api_view "$act")" = "$d" ] && [ "$(api_view "$sby")" = "$d" ]
}
want=$(for m in $same; do echo "$m n$rounds 198.19.4.$(( ${m#300000000} * 20 + rounds ))"; done)
is "$(db_view | grep '^3000' | cut -d' ' -f1,2,4)" "$want" \
	"members written through both APIs at once keep both writes' fields"
zt_wait 20 views_agree
ok $? "both controllers' copies of them are the database's"
if ! views_agree; then
	diag "database: $(db_view | tr '\n' ';')"
	diag "$act: $(api_view "$act" | tr '\n' ';')"
	diag "$sby: $(api_view "$sby" | tr '\n' ';')"
fi

# writers: members of fake addresses, through both APIs, each success
# recorded only once the API answered 200
writer() {
	name=$1 first=$2 out=$3
	i=$first
	while [ ! -f "$ns_tmp/stop-writers" ]; do
		addr=$(printf '%010x' $i)
		code=$(zt_api "$name" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
			-X POST -d "{\"authorized\":true,\"name\":\"w$i\"}" \
			"http://127.0.0.1:9993/controller/network/$net/member/$addr")
		[ "$code" = 200 ] && echo "$addr" >> "$out"
		i=$((i + 1))
	done
}
: > "$ns_tmp/w-act"
: > "$ns_tmp/w-sby"
writer "$act" $((0x1000000000)) "$ns_tmp/w-act" &
wa=$!
writer "$sby" $((0x2000000000)) "$ns_tmp/w-sby" &
ws=$!
zt_wait 30 sh -c "[ \$(wc -l < '$ns_tmp/w-act') -ge 20 ] && [ \$(wc -l < '$ns_tmp/w-sby') -ge 20 ]"
ok $? "both APIs take writes under way"

eval "kpid=\$zt_pid_$act"
# ms since the kill, for the failover figures (diag, not asserted)
since_kill() { echo $(( ($(date +%s%N) - t_kill) / 1000000 )); }
t_kill=$(date +%s%N)
kill -9 "$kpid"
wait "$kpid" 2>/dev/null
zt_wait 30 is_active "$sby"
ok $? "the standby takes over once the active one is killed (kill -9)"
diag "the standby holds the lock $(since_kill) ms after the kill (polled every 0.5 s)"
# the survivor's writes go on
n1=$(wc -l < "$ns_tmp/w-sby")
zt_wait 30 sh -c "[ \$(wc -l < '$ns_tmp/w-sby') -gt $((n1 + 10)) ]"
ok $? "writes through the survivor go on"
: > "$ns_tmp/stop-writers"
wait $wa $ws 2>/dev/null

lost=""
cat "$ns_tmp/w-act" "$ns_tmp/w-sby" > "$ns_tmp/w-all"
api "$sby" "http://127.0.0.1:9993/controller/network/$net/member" | jq -r 'keys[]' | sort > "$ns_tmp/w-have"
lost=$(sort "$ns_tmp/w-all" | comm -23 - "$ns_tmp/w-have" | tr '\n' ' ')
diag "$(wc -l < "$ns_tmp/w-act") writes through $act, $(wc -l < "$ns_tmp/w-sby") through $sby"
is "$lost" "" "no write that returned success is lost"

auth=""
for h in a b c; do
	auth="$auth$(api "$sby" "http://127.0.0.1:9993/controller/network/$net/member/$(zt_address $h)" |
		jq -r '[.authorized, .ipAssignments[0]] | map(tostring) | join(",")') "
done
is "$auth" "$(for ip in $ips_before; do printf 'true,%s ' "$ip"; done)" \
	"the survivor has a, b and c authorized with the same addresses"

# a member that asks anew gets its config from the survivor
diag "b restarts $(since_kill) ms after the kill"
zt_stop b
zt_networks=$join zt_start b
zt_wait 120 zt_is_status b OK
ok $? "b, restarted, is configured by the survivor"
diag "b, restarted after the writers stopped, is configured $(since_kill) ms after the kill"
ip_b=$(zt_net_ip b)
like "$ip_b" "^$(echo $ips_before | cut -d' ' -f2 | sed 's/\./\\./g')\$" "... with the same address ($ip_b)"
all_ok=0
for h in a c; do zt_is_status $h OK || all_ok=1; done
ok $all_ok "a and c stay configured"
zt_stop "$sby"
is "$(cat "$ns_tmp/ctl/log" "$ns_tmp/ctl2/log" | grep -c -e 'Sanitizer' -e 'runtime error')" 0 \
	"no sanitizer reports in the controllers' logs"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log ctl2; zt_log b; }
tap_done
