#!/bin/sh
# Symmetric-NAT probing (zt-nat(7), node key nat-probe): a, behind a
# symmetric NAT (masquerade fully-random), and b, behind a cone NAT, end
# with a direct path once the root introduces them: a opens extra
# sockets towards b, b probes a's NAT at many ports until one answers;
# they ping each other over their network on that path.  a and c, both
# behind symmetric NATs with no NAT helper, stay relayed and /peer says
# so.  Two upstreams (the root and a moon's root) let each leaf learn its
# NAT type.
#
#   ctl 198.18.0.1 (root, controller) --- bridge --- nata 198.18.0.21 | 198.18.10.1 --- a 198.18.10.2 (symmetric)
#   m 198.18.0.5 (moon) -/    |\-- natb 198.18.0.22 | 198.18.20.1 --- b 198.18.20.2 (cone)
#                             \--- natc 198.18.0.23 | 198.18.30.1 --- c 198.18.30.2 (symmetric)
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
command -v jq > /dev/null || skip_all "needs jq"
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 13

ns_bridge
ns_host ctl 198.18.0.1/24
ns_host m 198.18.0.5/24
ns_nat nata 198.18.0.21/24 198.18.10.1/24 symmetric
ns_nat natb 198.18.0.22/24 198.18.20.1/24 cone
ns_nat natc 198.18.0.23/24 198.18.30.1/24 symmetric
ns_behind a nata 198.18.10.2/24
ns_behind b natb 198.18.20.2/24
ns_behind c natc 198.18.30.2/24
zt_world ctl 198.18.0.1/9993
zt_moon m 198.18.0.5/9993
for n in a b c; do
	mkdir -p "$ns_tmp/$n/moons.d"
	cp "$ns_tmp/m/moons.d/$moon_id.moon" "$ns_tmp/$n/moons.d/"
done
zt_services=$(zt_ctl_service)
zt_start ctl
zt_services=
zt_start m
zt_tap_network natprobe 17   # a and b join it; c does not
zt_start a
zt_start b
zt_networks=
zt_start c
zt_authorize true a b

status() { zt_api "$1" http://127.0.0.1:9993/status | jq -r ".$2"; }
is_type() { [ "$(status "$1" natType)" = "$2" ]; }
peer() { zt_api "$1" "http://127.0.0.1:9993/peer/$(zt_address "$2")"; }
probe_state() { peer "$1" "$2" | jq -r .natProbe; }
is_probe() { [ "$(probe_state "$1" "$2")" = "$3" ]; }
# the preferred path's IP: the peer's NAT, not the root
preferred_ip() { peer "$1" "$2" | jq -r '.paths[] | select(.preferred) | .address' | cut -d/ -f1; }

zt_wait 60 is_type a endpoint-dependent && zt_wait 60 is_type c endpoint-dependent &&
	zt_wait 60 is_type b endpoint-independent
ok $? "NAT types known: a $(status a natType), b $(status b natType), c $(status c natType)"
[ "$(status a natProbe)" = idle ]; ok $? "a's /status: natProbe $(status a natProbe)"

# a and b: the root relays, introduces them, and they find a direct path
for n in a b; do zt_wait 30 zt_is_status $n OK || bail "$n not configured ($(zt_net_status $n))"; done
ipb=$(zt_net_ip b)
zt_wait 30 zt_echo a b; ok $? "a reaches b through the root"
zt_wait 90 zt_direct a b; ok $? "a has a direct path to b"
zt_wait 30 zt_direct b a; ok $? "b has a direct path to a"
ip=$(preferred_ip a b); [ "$ip" = 198.18.0.22 ]; ok $? "a's path to b goes to b's NAT ($ip), not through the root"
ip=$(preferred_ip b a); [ "$ip" = 198.18.0.21 ]; ok $? "b's path to a goes to a's NAT ($ip)"
zt_wait 10 is_probe a b direct && zt_wait 10 is_probe b a direct
ok $? "/peer natProbe: direct on both sides (a: $(probe_state a b), b: $(probe_state b a))"
grep -q "nat-probe: direct path to $(zt_address b) .* ms after the rendezvous" "$ns_tmp/a/log" &&
	grep -q "nat-probe: direct path to $(zt_address a) .* ms after the rendezvous" "$ns_tmp/b/log"
ok $? "both log the direct path"
# traffic now goes between them, not through the root
before=$(zt_counter ctl relayed)
ns_exec a ping -c 5 -i 0.3 -W 2 "$ipb" > /dev/null; ok $? "a pings b over their network"
for i in 1 2 3; do zt_echo a b; zt_echo b a; sleep 0.3; done
after=$(zt_counter ctl relayed)
[ "$after" -eq "$before" ]; ok $? "the root relays nothing of theirs any more ($before -> $after)"

# a and c: both symmetric, no helper: relayed, and said so
zt_wait 30 zt_echo a c; ok $? "a reaches c through the root"
zt_wait 60 is_probe a c "both symmetric: relayed" && ! zt_direct a c &&
	peer a c | jq -r .relayedBecause | grep -q "both behind endpoint-dependent (symmetric) NATs"
ok $? "a's /peer for c: relayed, natProbe '$(probe_state a c)', $(peer a c | jq -c .relayedBecause)"

[ $tap_failed -eq 0 ] || { zt_log a; zt_log b; zt_log c; }
tap_done
