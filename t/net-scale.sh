#!/bin/sh
# A network of 5,000 members (issue 20): 4,997 are records made through
# the controller's API (one keep-alive connection), three are real ztd
# nodes joining at once.  The controller builds their configs from its
# store's indexes, not from a walk of the 5,000; b checks the COM of a,
# whose record is the 4,999th, on every frame: a reaches b while
# authorized, and not once deauthorized (its COM revoked).
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0]  record #4,999
#                              |-- b 198.18.0.12 [zt0]  record #5,000
#                              \-- c 198.18.0.13 [zt0]  record #1
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 13

RECORDS=4997
zt_lab a:11 b:12 c:13
zt_tap_network scale 40
like "$net" "^$(zt_address ctl)[0-9a-f]{6}\$" "the controller creates a network ($net)"

# the real members get their addresses before joining: c is the first record
zt_start_idle() { zt_networks= zt_start "$1"; zt_stop "$1"; }
for n in a b c; do zt_start_idle $n; done
zt_authorize true c

# the API records, on one connection: curl reads the URLs from a file
url=http://127.0.0.1:9993/controller/network/$net/member
i=0
while [ $i -lt $RECORDS ]; do
	printf 'url = "%s/%010x"\noutput = "/dev/null"\n' "$url" $(( 0x1000000000 + i * 7919 ))
	i=$(( i + 1 ))
done > "$ns_tmp/records"
started=$(date +%s)
ns_exec ctl timeout 120 curl -s -w '%{http_code}\n' -H "X-ZT1-Auth: $(cat "$ns_tmp/ctl/authtoken.secret")" \
	-H 'Content-Type: application/json' -d '{"authorized":true}' -K "$ns_tmp/records" > "$ns_tmp/codes"
is "$(grep -c '^200$' "$ns_tmp/codes")" $RECORDS \
	"$RECORDS member records made through the API ($(( $(date +%s) - started )) s)"
zt_authorize true a b
count=$(zt_api ctl "http://127.0.0.1:9993/unstable/controller/network/$net/member" | jq -r '.meta.totalCount, .meta.authorizedCount')
is "$(echo $count)" "5000 5000" "the network has 5,000 members, all authorized"

# a, b and c join together (zt_start returns once ztd runs, before its config)
for n in a b c; do zt_networks=$zt_networks zt_start $n; done
for n in a b c; do
	zt_wait 40 zt_has_ip $n; ok $? "$n is configured with an address from the pool ($(zt_net_ip $n))"
done
ipa=$(zt_net_ip a) ipb=$(zt_net_ip b)
# the controller hands the store the members' last requests in batches
seen_stored() {
	[ "$(sqlite3 "$ns_tmp/ctl-store/controller.db" 'SELECT count(*) FROM members WHERE last_seen > 0')" = 3 ]
}
zt_wait 20 seen_stored; ok $? "the store has the last requests of the three, and of no record"
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a (record #4,999) pings b: b takes its COM"
ns_exec c ping -c 3 -i 0.2 -W 1 "$ipb" > "$ns_tmp/ping" 2>&1
like "$(cat "$ns_tmp/ping")" " 0% packet loss" "c (record #1) pings b"
members=$(zt_api ctl "http://127.0.0.1:9993/controller/network/$net/member/$(zt_address a)" | jq -r .authorized)
is "$members" true "a's record is there, authorized"

zt_authorize false a
cut_off() { ! ns_exec a ping -c 1 -W 1 "$ipb" > /dev/null 2>&1; }
zt_wait 60 cut_off; ok $? "a deauthorized: its frames no longer reach b"
ns_exec a ping -c 2 -i 0.2 -W 1 "$ipb" > /dev/null 2>&1
dropped=$(zt_module_counter b rx_gate_dropped)
ok $(( !(dropped > 0) )) "b's gate dropped a's frames ($dropped)"
for n in a b c ctl root; do zt_stop $n; done
is "$(cat "$ns_tmp"/*/log | grep -c -e 'Sanitizer' -e 'runtime error')" 0 "no sanitizer reports in any ztd log"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log a; zt_log b; }
tap_done
