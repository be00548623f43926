#!/bin/sh
# Live reload of modules: SIGHUP applies the whole difference of ztd.yaml.
# While a ping runs on network one (its port, policies and the udp
# transport it goes over untouched), a's config is reloaded with a second
# udp transport added, then its listen option changed, then removed; a
# tcp-relay service added and removed; a network with a pcap port added
# and removed.  A config with an error and one changing node.workers are
# refused, the running config kept.  The ping loses nothing; the API
# answers throughout; under ASan no leak after all the reloads.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller: net one)
#                              |-- a 198.18.0.11 [zt0: one; reloaded]
#                              \-- b 198.18.0.12 [zt0: one]
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 25
unset ZT_WORKERS   # transports change: one data-path loop (see ztd(8) RELOAD)

zt_lab a:11 b:12
net=$(zt_ctl_network '{"name":"one","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.1.10","ipRangeEnd":"198.19.1.100"}],
	"routes":[{"target":"198.19.1.0/24"}]}')
zt_networks="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }
    ingress: [ { use: rules } ]
    egress: [ { use: rules } ]"
zt_start a
zt_start b
zt_authorize true a b
zt_wait 30 zt_has_ip a && zt_wait 30 zt_has_ip b
ipb=$(zt_net_ip b)
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a pings b on network one"

conf=$ns_tmp/a/ztd.yaml
# reload EDIT...: apply the sed edits to a's config, SIGHUP, and wait for
# the reload's verdict (reloaded or refused) in the log
reload() {
	done_before=$(grep -c -e 'ztd.yaml: reloaded' -e 'reload refused' "$ns_tmp/a/log")
	for e; do sed -i "$e" "$conf"; done
	kill -HUP "$zt_pid_a"
	zt_wait 30 sh -c "[ \$(grep -c -e 'ztd.yaml: reloaded' -e 'reload refused' '$ns_tmp/a/log') -gt $done_before ]"
}
# listening PROTO PORT: a has a socket bound to 198.18.0.11:PORT
listening() { [ -n "$(ns_exec a ss -Hln"$1" src "198.18.0.11:$2")" ]; }
closed() { ! listening "$@"; }
# verdict: the last reload's outcome in a's log
verdict() { grep -e 'ztd.yaml: reloaded' -e 'reload refused' "$ns_tmp/a/log" | tail -1; }
api_answers() { zt_api a http://127.0.0.1:9993/status | grep -q '"online":true'; }

# a ping on network one all along (ip netns exec execs ping: $! is ping's pid)
ip netns exec "$(ns_name a)" ping -i 0.2 "$ipb" > "$ns_tmp/ping" 2>&1 &
ping_pid=$!
zt_wait 20 sh -c "[ \$(grep -c 'bytes from' '$ns_tmp/ping') -ge 3 ]"

# ---- a transport added, its option changed, removed ----
reload '/use: udp, listen/a\  - { use: udp, instance: extra, listen: ["198.18.0.11:9994"] }'
like "$(cat "$ns_tmp/a/log")" "extra: added to the config" "SIGHUP: a second udp transport is added"
zt_wait 10 listening u 9994; ok $? "... and listens on 9994"
reload 's/198.18.0.11:9994/198.18.0.11:9995/'
like "$(cat "$ns_tmp/a/log")" "extra: changed: made again" "its listen option changed: it is made again"
zt_wait 10 listening u 9995 && zt_wait 10 closed u 9994; ok $? "... it listens on 9995, no longer on 9994"
reload '/instance: extra/d'
like "$(cat "$ns_tmp/a/log")" "extra: removed from the config" "removed from the config: it is stopped"
zt_wait 10 closed u 9995; ok $? "... 9995 is closed"

# ---- a service added and removed ----
reload '/use: api, listen/a\  - { use: tcp-relay, listen: ["198.18.0.11:4443"] }'
zt_wait 10 listening t 4443; ok $? "a tcp-relay service added listens on 4443"
reload '/use: tcp-relay/d'
zt_wait 10 closed t 4443; ok $? "... and removed, it no longer does"

# ---- a network with a pcap port added and removed ----
net2=$(zt_address ctl)0000aa
cat >> "$conf" <<YAML
  - id: "$net2"
    iface: { use: pcap, write: "$ns_tmp/net2.pcap" }
YAML
reload
like "$(cat "$ns_tmp/a/log")" "network $net2: added to the config" "a network with a pcap port is added"
[ -s "$ns_tmp/net2.pcap" ]; ok $? "... its port writes $ns_tmp/net2.pcap"
is "$(zt_api a "http://127.0.0.1:9993/network/$net2" | jq -r .id)" "$net2" "... and the API lists it"
reload "/id: \"$net2\"/,\$d"
like "$(cat "$ns_tmp/a/log")" "network $net2: removed from the config" "... and removed"

# ---- refused: an error, and what cannot change live ----
cp "$conf" "$ns_tmp/good.yaml"
reload '/use: udp, listen/a\  - { use: udp, instance: bad, lisen: ["198.18.0.11:9996"] }'
line=$(grep -n 'instance: bad' "$conf" | cut -d: -f1)
like "$(cat "$ns_tmp/a/log")" "ztd.yaml:$line:[0-9]+: bad: unknown key 'lisen'" \
	"a config with an error is refused, naming file:line:col"
like "$(verdict)" "reload refused: the running config is kept" "... and the running one is kept"
! listening u 9996; ok $? "... nothing of it applied"
api_answers; ok $? "... the API answers"
cp "$ns_tmp/good.yaml" "$conf"
reload 's/^node: { /node: { workers: 2, /' '/use: udp, listen/a\  - { use: udp, instance: extra, listen: ["198.18.0.11:9997"] }'
like "$(cat "$ns_tmp/a/log")" "reload refused: node.workers changed: restart ztd to apply it" \
	"a change of node.workers is refused, naming the field"
! listening u 9997; ok $? "... nothing of that config applied"
cp "$ns_tmp/good.yaml" "$conf"
reload
like "$(verdict)" "ztd.yaml: reloaded" "the good config reloads again"
api_answers; ok $? "the API answers after all the reloads"

# the reloads may all fit in a second: let the ping go on for three more
# echoes, so that it spans them and what follows
n=$(grep -c 'bytes from' "$ns_tmp/ping")
zt_wait 20 sh -c "[ \$(grep -c 'bytes from' '$ns_tmp/ping') -ge $((n + 3)) ]"
kill -INT $ping_pid
wait $ping_pid
# SIGINT may stop ping while its last echo is on the way: not a loss
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$ns_tmp/ping")
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$ns_tmp/ping")
ok $(( !(sent > 5 && got >= sent - 1) )) "the ping on network one lost nothing through all reloads ($got of $sent)"
ns_exec a ping -c 5 -i 0.2 -W 2 "$ipb" > "$ns_tmp/ping" 2>&1
like "$(cat "$ns_tmp/ping")" " 0% packet loss" "network one still carries pings"
is "$(grep -c "network $net: \(changed\|removed\)" "$ns_tmp/a/log")" 0 "network one was never taken down"

zt_stop a
zt_stop b
is "$(cat "$ns_tmp"/a/log | grep -c -e 'Sanitizer' -e 'runtime error')" 0 "no sanitizer report in a's log after the reloads"
[ $tap_failed -eq 0 ] || zt_log a
tap_done
