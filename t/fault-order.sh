#!/bin/sh
# The fault suite, reordering and jitter (issue 23): the underlay between
# members a and b reorders datagrams within 10 ms, then delays them by
# 50 ms +- 50 ms of jitter (t/impair, t/faults.sh).  Each time the
# network stays OK and online on both, a TCP transfer over it arrives
# intact and full-MTU pings, whose fragments now arrive out of order,
# are reassembled and come back intact.
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
. "$srcdir/t/faults.sh"
fault_require
plan 12

fault_lab
fault_scenario "reordering within 10 ms" 2000000 18 -r 0.3 -w 10
fault_scenario "50 ms jitter" 1000000 18 -D 50 -j 50
fault_done
