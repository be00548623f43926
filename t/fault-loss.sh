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
# A full-MTU TCP segment is three datagrams on the underlay: at 20 % loss
# half of them are lost, and TCP backs off for minutes.  Segments of 1200
# bytes travel in one datagram each (the pings still test fragments).
fault_mss=1200 fault_scenario "20% loss, MSS 1200" 500000 1 -l 0.2
fault_scenario "5% duplication" 2000000 18 -d 0.05
fault_done
