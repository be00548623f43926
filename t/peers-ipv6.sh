#!/bin/sh
# An IPv6-only underlay: the root's planet endpoint is IPv6, the leaves
# register over IPv6 and find a direct IPv6 path to each other.
#
#   root 2001:db8::1 --- bridge --- a 2001:db8::11
#                               \-- b 2001:db8::12
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
plan 4

ns_bridge
ns_host root 2001:db8::1/64
ns_host a 2001:db8::11/64
ns_host b 2001:db8::12/64
zt_world root 2001:db8::1/9993
zt_start root "[::]:9993"
zt_start a "[::]:9993"
zt_start b "[::]:9993"

zt_wait 20 zt_online a; ok $? "leaf a is online over IPv6"
zt_wait 20 zt_online b; ok $? "leaf b is online over IPv6"
zt_wait 15 zt_echo a b; ok $? "a reaches b through the root"
zt_wait 20 zt_direct a b; ok $? "a has a direct IPv6 path to b"
[ $tap_failed -eq 0 ] || { zt_log root; zt_log a; zt_log b; }
tap_done
