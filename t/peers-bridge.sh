#!/bin/sh
# A root and two leaves on one bridge: both leaves register with the root,
# WHOIS resolves, an ECHO goes leaf to leaf through the root, the root
# introduces them and their traffic goes direct (the root stops relaying).
# A restarted root is recovered from without restarting the leaves.
#
#   root 198.18.0.1 --- bridge --- a 198.18.0.11
#                              \-- b 198.18.0.12
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
plan 10

ns_bridge
ns_host root 198.18.0.1/24
ns_host a 198.18.0.11/24
ns_host b 198.18.0.12/24
zt_world root 198.18.0.1/9993
zt_start root
zt_start a
zt_start b

zt_wait 20 zt_online a; ok $? "leaf a is online with the root"
zt_wait 20 zt_online b; ok $? "leaf b is online with the root"
like "$(zt_api root http://127.0.0.1:9993/peer)" "$(zt_address a).*$(zt_address b)|$(zt_address b).*$(zt_address a)" \
	"the root knows both leaves"

zt_wait 15 zt_echo a b; ok $? "a learns b's identity through WHOIS"
zt_wait 15 zt_direct a b; ok $? "a reaches b directly after the root's RENDEZVOUS"
zt_wait 15 zt_direct b a; ok $? "b reaches a directly"

relayed=$(zt_counter root relayed)
ok $(( relayed == 0 )) "the root relayed the first packets ($relayed)"
for i in 1 2 3 4 5; do zt_echo a b; sleep 0.3; done
is "$(zt_counter root relayed)" "$relayed" "the root relays nothing once the path is direct"

zt_stop root
zt_start root
zt_wait 10 zt_knows root a
ok $? "a restarted root knows leaf a (peer cache)"
zt_wait 30 zt_direct root a; ok $? "the restarted root has a direct path to a again"
[ $tap_failed -eq 0 ] || { zt_log root; zt_log a; zt_log b; }
tap_done
