#!/bin/sh
# Churn: a member joins and leaves a network through its API CYCLES times
# (every 25th time once its port carries its address from the
# controller's config, the others as soon as the join returns), then is restarted
# RESTARTS times in a row.  Nothing leaks: the TAP devices, routes and
# open files of its namespace and ztd are those of the start, its memory
# (RSS) has not grown past a tolerance, and the network works at the end.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 (churns)
#                              \-- b 198.18.0.12
#
# Environment: CYCLES=100 RESTARTS=10 (bench/churn runs 1000 and 100);
# RSS_SLACK_KIB=2048 (the growth allowed; sanitizer builds, whose
# allocator keeps freed memory in a quarantine, here of 16 MB, get 40960).
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
# AddressSanitizer holds up to 256 MB of freed memory by default: RSS
# would measure its quarantine, not ztd
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
cycles=${CYCLES:-100}
restarts=${RESTARTS:-10}
plan 13

api_url=http://127.0.0.1:9993
zt_lab a:11 b:12
zt_tap_network churn 10
zt_start b
zt_networks=""
zt_start a
zt_authorize true a b
zt_wait 30 zt_has_ip b; ok $? "b is on the network"
ipb=$(zt_net_ip b)

pid_a() { eval "echo \$zt_pid_a"; }
taps() { ns_exec a ip -o link show type tun | wc -l; }
routes() { ns_exec a sh -c 'ip -4 route show table all; ip -6 route show table all' | wc -l; }
fds() { ls "/proc/$(pid_a)/fd" | wc -l; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$(pid_a)/status"; }
state() { echo "taps $(taps) routes $(routes) fds $(fds)"; }

# cycle [configured]: join (its port is there when the API answers),
# with "configured" wait for the port to carry the address, leave, wait
# for the port to be gone
has_addr() { ns_exec a ip -4 -o addr show | grep -q ' 198\.19\.10\.'; }
no_port() { [ "$(taps)" -eq 0 ]; }
cycle() {
	zt_api a -X POST -d '{}' "$api_url/network/$net" > /dev/null &&
		[ "$(taps)" -eq 1 ] &&
		{ [ -z "${1:-}" ] || zt_wait 30 has_addr; } &&
		zt_api a -X DELETE "$api_url/network/$net" > /dev/null &&
		zt_wait 30 no_port
}

# warm up: one cycle, so that what is allocated once (the controller's
# peer, the caches) is there before the first measurement
cycle configured; ok $? "a joins, gets its address and leaves"
before=$(state); rss0=$(rss)
failed=0
t0=$(date +%s)
for i in $(seq "$cycles"); do
	if [ $(( i % 25 )) -eq 0 ]; then cycle configured; else cycle; fi || { failed=$i; break; }
done
is "$failed" 0 "$cycles join/leave cycles, each with a port, every 25th with its address"
echo "# $cycles cycles in $(( $(date +%s) - t0 )) s"
after=$(state); rss1=$(rss)
is "$after" "$before" "after the cycles: no TAP device, route or file descriptor left over"
slack=${RSS_SLACK_KIB:-2048}
nm -D "$ZTD" 2>/dev/null | grep -q __asan_init ||
	{ [ -x "$builddir/.libs/ztd" ] && nm -D "$builddir/.libs/ztd" | grep -q __asan_init; } &&
	slack=${RSS_SLACK_KIB:-40960}
ok $(( rss1 - rss0 > slack )) "RSS $rss0 KiB before, $rss1 KiB after (growth allowed: $slack KiB)"
echo "# churn: $cycles cycles, RSS $rss0 -> $rss1 KiB, $before"

# ---- restarts, with the network joined ----
zt_api a -X POST -d '{}' "$api_url/network/$net" > /dev/null
zt_wait 30 has_addr; ok $? "a joins again"
before=$(state); rss0=$(rss)
failed=0
t0=$(date +%s)
for i in $(seq "$restarts"); do
	zt_stop a
	[ "$(taps)" -eq 0 ] || { failed=$i; break; }
	zt_start a
	zt_wait 30 has_addr || { failed=$i; break; }
done
is "$failed" 0 "$restarts restarts, each removing its port and making it again with its address"
echo "# $restarts restarts in $(( $(date +%s) - t0 )) s"
zt_wait 30 sh -c "[ \"\$(ip netns exec $(ns_name a) sh -c 'ip -4 route show table all; ip -6 route show table all' | wc -l)\" -eq $(echo "$before" | awk '{ print $4 }') ]"
after=$(state); rss1=$(rss)
is "$(echo "$after" | cut -d' ' -f1-4)" "$(echo "$before" | cut -d' ' -f1-4)" \
	"after the restarts: one TAP device and the routes of the start"
is "$(echo "$after" | cut -d' ' -f5-)" "$(echo "$before" | cut -d' ' -f5-)" \
	"the last ztd has as many files open as the first"
ok $(( rss1 - rss0 > slack )) "RSS of the first ztd $rss0 KiB, of the last $rss1 KiB"
echo "# restarts: $restarts, RSS $rss0 -> $rss1 KiB, $before"
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a reaches b at the end"
is "$(ls "$ns_tmp/a/networks.d" | grep -c '\.tmp\.')" 0 "no temporary file left in networks.d"
is "$(taps)" 1 "one TAP device: the network's"
[ $tap_failed -eq 0 ] || { zt_log a; }
tap_done
