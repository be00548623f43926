#!/bin/sh
# The fault suite, a root lost (issue 23): the planet has two roots, r1
# and r2.  r1 is killed (SIGKILL) while member a pings member b every
# 0.1 s: the members stay online, the pings go on, and a member c that
# starts only then reaches r2, gets its config and reaches a.  r1 comes
# back and is used again: a node started then hears from it at once.
#
#   r1 198.18.0.1, r2 198.18.0.3 --- bridge --- ctl 198.18.0.2
#                                          |-- a 198.18.0.11 [zt0]
#                                          |-- b 198.18.0.12 [zt0]
#                                          |-- c 198.18.0.13 [zt0]
#                                          \-- d 198.18.0.14 [zt0]
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
. "$srcdir/t/faults.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 12

roots_lab c:13 d:14
zt_wait 30 zt_heard_lately a r1 && zt_wait 30 zt_heard_lately a r2
ok $? "a hears from both roots"
zt_wait 20 ns_exec a ping -c 1 -W 1 "$ipb" || bail "a cannot ping b"

ip netns exec "$(ns_name a)" ping -D -i 0.1 -W 1 "$ipb" > "$ns_tmp/ping" 2>&1 &
pinger=$!
ns_pids="$ns_pids $pinger"
sleep 1
t_kill=$(now_s)
eval "kill -KILL \$zt_pid_r1; wait \$zt_pid_r1"
zt_online a && zt_online b; ok $? "with r1 killed, a and b stay online"

t0=$(now_s)
zt_start c
zt_wait 60 zt_is_status c OK; ok $? "c, started after r1 was killed, gets its config through r2"
zt_wait 30 ns_exec c ping -c 1 -W 1 "$ipa"; ok $? "and reaches a"
c_s=$(elapsed "$t0")
zt_online c; ok $? "c is online (heard from r2)"
zt_heard_lately c r2; ok $? "c hears from r2"
sleep 3
t_stop=$(now_s)
kill -INT $pinger; wait $pinger
gap=$(longest_gap "$ns_tmp/ping" "$t_stop")
down_s=$(elapsed "$t_kill")
# the reference's figure: a dead root stays the best upstream, the
# default relay, until 61 s without a packet from it double its
# "relay quality" (wire.md §6.4), checked every 5 s
awk "BEGIN { exit !($gap < 66) }"
ok $? "a-b pings never stopped for 66 s or more (longest gap $gap s in $down_s s)"
# and, with their direct path, not at all: replies up to the end
awk "BEGIN { exit !($gap < 3) }"
ok $? "a and b, on a direct path, did not notice (pings answered until the end)"
like "$(tail -3 "$ns_tmp/ping")" " received" "the pinger ran to the end"

# r1 back: a node that starts now uses it at once.  (Members that knew
# it before send it a full HELLO only every 224 s, as 1.14 does, to be
# known to it again: too long for this test, measured in the README.)
zt_start r1
t0=$(now_s)
zt_start d
zt_wait 30 zt_heard_after d r1 0; ok $? "r1 back: a node started now hears from it"
back_s=$(elapsed "$t0")
zt_wait 10 zt_knows r1 d; ok $? "and r1 knows that node"
zt_online c && zt_online a; ok $? "everyone is still online"
diag "root r1 killed: longest a-b ping gap $gap s; c config+ping via r2 in $c_s s; r1 restarted: d heard from it after $back_s s"
[ $tap_failed -eq 0 ] || { zt_log a; zt_log c; zt_log r1; }
tap_done
