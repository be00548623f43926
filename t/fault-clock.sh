#!/bin/sh
# Host faults: the wall clock of one member jumps an hour forwards, then
# two hours backwards, as when NTP corrects a badly set clock.  The member
# keeps its root and its peers: it stays online, b and the root keep a
# live path to it, and traffic between a and b goes on.
#
# ztd's time is libev's ev_now (the wall clock); libev's timers run on
# CLOCK_MONOTONIC.  a runs under libfaketime with the monotonic clock left
# alone (as a real jump leaves it), its wall-clock offset read from a file
# that the test rewrites.
#
# CLOCK_WATCH=20: the seconds a is watched after each jump.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 (clock jumps)
#                              \-- b 198.18.0.12
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
faketime_lib=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketimeMT\.so\.1$' | head -1)
[ -n "$faketime_lib" ] || skip_all "needs libfaketime (apt-get install faketime)"
plan 10

zt_lab a:11 b:12
zt_tap_network clock 11
offset=$ns_tmp/a-clock-offset
echo "+0" > "$offset"
zt_start b
# LD_PRELOAD'ed after the sanitizers' runtime, which must not object
LD_PRELOAD=$faketime_lib FAKETIME_TIMESTAMP_FILE=$offset FAKETIME_NO_CACHE=1 \
	FAKETIME_DONT_FAKE_MONOTONIC=1 \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" zt_start a
unset LD_PRELOAD FAKETIME_TIMESTAMP_FILE FAKETIME_NO_CACHE FAKETIME_DONT_FAKE_MONOTONIC
zt_authorize true a b
zt_wait 30 zt_has_ip a && zt_wait 30 zt_has_ip b; ok $? "a and b have addresses"
ipb=$(zt_net_ip b)
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a pings b"

a_clock() { zt_api a http://127.0.0.1:9993/status | jq -r '.clock / 1000 | floor'; }
# alive_at NAME: NAME has an active path to a (it heard from a lately)
alive_at() {
	zt_api "$1" "http://127.0.0.1:9993/peer/$(zt_address a)" | jq -e '[.paths[] | select(.active)] | length > 0'
}
# skewed +N|-N: a's clock is off by most of N seconds
skewed() {
	skew=$(( $(a_clock) - $(date +%s) ))
	case $1 in
	+*) [ "$skew" -gt $(( ${1#+} - 100 )) ] ;;
	*) [ "$skew" -lt $(( 100 - ${1#-} )) ] ;;
	esac
}
# jump OFFSET WHAT: set a's clock offset, check that it took, then watch
# a for longer than a heartbeat and a path's life (ZT_HEARTBEAT_MS,
# ZT_PATH_ALIVE_MS): its peers must go on hearing from it
jump() {
	echo "$1" > "$offset"
	# libev reads the wall clock again within a second
	zt_wait 10 skewed "$1"
	ok $? "a's clock is $2 (by $skew s)"
	# a window, not a timing assertion: longer than a path lives unheard
	sleep "${CLOCK_WATCH:-20}"
	zt_wait 20 zt_online a; ok $? "$2: a is online"
	zt_wait 20 alive_at root && zt_wait 20 alive_at b; ok $? "$2: the root and b still have a live path to a"
	zt_wait 20 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "$2: a reaches b"
}
jump +3600 "an hour ahead"
jump -3600 "two hours back, an hour behind"
# the forward jump makes a's paths look stale to a itself: it drops and
# at once re-learns them; the peers never drop a
echo "# paths a let expire after the jumps: $(grep -c 'expired' "$ns_tmp/a/log")"
[ $tap_failed -eq 0 ] || { zt_log a; }
tap_done
