#!/bin/sh
# Each leaf behind its own NAT router (nftables masquerade: the mapping
# keeps the port for every destination, replies only from where we sent:
# a port-restricted cone).  After the root's RENDEZVOUS both sides punch
# through and the leaves end up talking directly.
#
#   root 198.18.0.1 --- bridge --- nata 198.18.0.21 | 198.18.10.1 --- a 198.18.10.2
#                              \-- natb 198.18.0.22 | 198.18.20.1 --- b 198.18.20.2
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
plan 6

ns_bridge
ns_host root 198.18.0.1/24
ns_nat nata 198.18.0.21/24 198.18.10.1/24 cone
ns_nat natb 198.18.0.22/24 198.18.20.1/24 cone
ns_behind a nata 198.18.10.2/24
ns_behind b natb 198.18.20.2/24
zt_world root 198.18.0.1/9993
zt_start root
zt_start a
zt_start b

zt_wait 20 zt_online a; ok $? "leaf a is online through its NAT"
zt_wait 20 zt_online b; ok $? "leaf b is online through its NAT"
like "$(zt_api root http://127.0.0.1:9993/peer/$(zt_address a))" '"address":"198.18.0.21/' \
	"the root sees a at its NAT's public address"
zt_wait 15 zt_echo a b; ok $? "a reaches b through the root"
zt_wait 20 zt_direct a b; ok $? "a has a direct path to b through both NATs"
like "$(zt_api a http://127.0.0.1:9993/peer/$(zt_address b))" '"address":"198.18.0.22/9993","expired":false,"lastReceive":[0-9]*,"lastSend":[0-9]*,"localPort":[0-9]*,"localSocket":[0-9]*,"preferred":true' \
	"the direct path is b's public mapping"
[ $tap_failed -eq 0 ] || { zt_log root; zt_log a; zt_log b; }
tap_done
