#!/bin/sh
# The NAT type a node learns from the addresses two upstreams (the
# planet's root and a moon's root) see it at: a, behind a symmetric NAT
# (masquerade fully-random), is seen at two ports of one address; b,
# behind a cone NAT, at one.  Each logs it and shows it in /status.
# (nat-probe: false keeps a and b relayed; t/nat-probe.sh crosses.)
#
#   root 198.18.0.1 --- bridge --- nata 198.18.0.21 | 198.18.10.1 --- a 198.18.10.2 (symmetric)
#   m 198.18.0.5 (moon) -/     \-- natb 198.18.0.22 | 198.18.20.1 --- b 198.18.20.2 (cone)
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
plan 8

ns_bridge
ns_host root 198.18.0.1/24
ns_host m 198.18.0.5/24
ns_nat nata 198.18.0.21/24 198.18.10.1/24 symmetric
ns_nat natb 198.18.0.22/24 198.18.20.1/24 cone
ns_behind a nata 198.18.10.2/24
ns_behind b natb 198.18.20.2/24
zt_world root 198.18.0.1/9993

# a moon whose root is m, copied into each leaf's moons.d: a second upstream
mkdir -p "$ns_tmp/a/moons.d" "$ns_tmp/b/moons.d"
zt_moon m 198.18.0.5/9993
ok $? "a moon for a second upstream"
cp "$ns_tmp/m/moons.d/$moon_id.moon" "$ns_tmp/a/moons.d/"
cp "$ns_tmp/m/moons.d/$moon_id.moon" "$ns_tmp/b/moons.d/"

zt_start root
zt_start m
zt_node_extra="nat-probe: false" zt_start a
zt_node_extra="nat-probe: false" zt_start b

nat_type() { zt_api "$1" http://127.0.0.1:9993/status | jq -r .natType; }
is_type() { [ "$(nat_type "$1")" = "$2" ]; }
zt_wait 60 is_type a endpoint-dependent; ok $? "a: endpoint-dependent, in /status ($(nat_type a))"
grep -q "NAT: endpoint-dependent (.* sees us at 198.18.0.21/[0-9]*, .* at 198.18.0.21/[0-9]*): symmetric" "$ns_tmp/a/log"
ok $? "a logs it, with both reports"
zt_wait 60 is_type b endpoint-independent; ok $? "b: endpoint-independent, in /status ($(nat_type b))"
grep -q "NAT: endpoint-independent" "$ns_tmp/b/log"; ok $? "b logs it"
# a and b meet through the root; a's NAT keeps them apart, and /peer says why
zt_wait 30 zt_echo a b; ok $? "a reaches b through the root"
peer=$(zt_api a "http://127.0.0.1:9993/peer/$(zt_address b)")
[ "$(echo "$peer" | jq -r .relayed)" = true ] &&
	echo "$peer" | jq -r .relayedBecause | grep -q "endpoint-dependent (symmetric) NAT and no NAT helper"
ok $? "a's /peer for b: relayed, because of a's symmetric NAT ($(echo "$peer" | jq -c '[.relayed, .relayedBecause]'))"
[ "$(zt_api a http://127.0.0.1:9993/status | jq -r .natProbe)" = off ] && [ "$(echo "$peer" | jq -r .natProbe)" = off ]
ok $? "nat-probe: false: natProbe off in a's /status and /peer"
[ $tap_failed -eq 0 ] || { zt_log a; zt_log b; }
tap_done
