#!/bin/sh
# The fault suite, loss and duplication (issue 23): the underlay between
# members a and b loses 5 %, then 20 % of its datagrams, then duplicates
# 5 % of them (t/impair, t/faults.sh).  Each time the network stays OK
# and online on both, a TCP transfer over it arrives intact and full-MTU
# pings, which zt fragments on the underlay, come back intact.
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
. "$srcdir/t/faults.sh"
fault_require
plan 18

fault_lab
# 20 pings of three fragments each way: at 5 % loss most come back, at
# 20 % about a quarter do (0.8^6), so the floor is low
fault_scenario "5% loss" 2000000 10 -l 0.05
fault_scenario "20% loss" 500000 1 -l 0.2
fault_scenario "5% duplication" 2000000 18 -d 0.05
fault_done
