#!/bin/sh
# Leaf a behind a symmetric NAT (a new random port for every destination),
# leaf b behind a port-restricted cone NAT: hole punching cannot work, so
# their traffic keeps flowing through the root.  (nat-probe: false: what
# ZeroTier One does; t/nat-probe.sh crosses this NAT.)
#
#   root 198.18.0.1 --- bridge --- nata 198.18.0.21 | 198.18.10.1 --- a 198.18.10.2 (symmetric)
#                              \-- natb 198.18.0.22 | 198.18.20.1 --- b 198.18.20.2 (cone)
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
plan 5

ns_bridge
ns_host root 198.18.0.1/24
ns_nat nata 198.18.0.21/24 198.18.10.1/24 symmetric
ns_nat natb 198.18.0.22/24 198.18.20.1/24 cone
ns_behind a nata 198.18.10.2/24
ns_behind b natb 198.18.20.2/24
zt_world root 198.18.0.1/9993
zt_start root
zt_node_extra="nat-probe: false" zt_start a
zt_node_extra="nat-probe: false" zt_start b

zt_wait 20 zt_online a; ok $? "leaf a is online through its symmetric NAT"
zt_wait 20 zt_online b; ok $? "leaf b is online through its NAT"
zt_wait 15 zt_echo a b; ok $? "a reaches b through the root"
before=$(zt_counter root relayed)
sleep 10
for i in 1 2 3 4 5; do zt_echo a b; sleep 0.5; done
zt_direct a b
ok $(( $? == 0 )) "no direct path between a and b after the rendezvous"
after=$(zt_counter root relayed)
[ "$after" -gt "$before" ]
ok $? "traffic keeps flowing through the root (relayed $before -> $after)"
diag "symmetric NAT: a and b stay relayed through the root, as ZeroTier One does"
[ $tap_failed -eq 0 ] || { zt_log root; zt_log a; zt_log b; }
tap_done
