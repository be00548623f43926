#!/bin/sh
# Two leaves behind two symmetric NATs (masquerade fully-random) stay
# relayed through the root; once a's gateway runs miniupnpd and a maps its
# port with a helper (upnp, then natpmp, then pcp: one run each) they end
# with a direct path through that mapping and ping each other over their
# network.  The time from a's start to the direct path of each helper is
# printed (diag), the README's NAT helpers section quotes it.
#
#   ctl 198.18.0.1 (root, controller) --- bridge --- stun 198.18.0.3
#      nata 198.18.0.21 | 198.18.10.1 --- a 198.18.10.2 (symmetric, miniupnpd)
#      natb 198.18.0.22 | 198.18.20.1 --- b 198.18.20.2 (symmetric)
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v miniupnpd > /dev/null || skip_all "needs miniupnpd (scripts/setup.sh: miniupnpd-nftables)"
command -v python3 > /dev/null || skip_all "needs python3"
plan 9

ns_bridge
ns_host ctl 198.18.0.1/24
ns_upnp_router nata 198.18.0.21/24 198.18.10.1/24 stun
ns_nat natb 198.18.0.22/24 198.18.20.1/24 symmetric
ns_behind a nata 198.18.10.2/24
ns_behind b natb 198.18.20.2/24
zt_world ctl 198.18.0.1/9993
zt_services=$(zt_ctl_service) zt_start ctl
zt_tap_network natdirect 16
export zt_networks

# restart [NAT-LINES]: restart b, then a with these nat: lines; both
# forget the direct paths of a former run (peers.d/*.paths), whose
# conntrack entries in the NATs outlive the mapping and would still carry
# them
restart() {
	for n in a b; do
		zt_stop $n
		rm -f "$ns_tmp/$n"/peers.d/*.paths
	done
	zt_start b
	started=$(date +%s%N)
	zt_nat=$1 zt_start a
}
# preferred NAME PEER-NAME: the address of NAME's preferred path to PEER
preferred() {
	zt_api "$1" "http://127.0.0.1:9993/peer/$(zt_address "$2")" | jq -r '.paths[] | select(.preferred) | .address'
}
# direct_through PORT: a pings b, and both have a direct path: b's to a
# on a's mapping (nata's port PORT), a's to b on natb's address
direct_through() {
	ns_exec a ping -c 1 -W 1 "$ipb" > /dev/null
	[ "$(preferred b a)" = "198.18.0.21/$1" ] && preferred a b | grep -q '^198\.18\.0\.22/'
}

restart ""
zt_authorize true a b
for n in a b; do zt_wait 30 zt_is_status $n OK || bail "$n not configured ($(zt_net_status $n))"; done
ipb=$(zt_net_ip b)
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "without a helper a pings b, relayed by the root"
# the root sends RENDEZVOUS for the relayed frames: its hole punching
# fails both ways through the symmetric NATs
rendezvous() { [ "$(zt_counter ctl rendezvous_sent)" -gt 0 ]; }
zt_wait 20 rendezvous || diag "the root sent no RENDEZVOUS"
ns_exec a ping -c 6 -i 0.5 -W 1 "$ipb" > /dev/null
! zt_direct a b && ! zt_direct b a; ok $? "and they have no direct path, after the root's RENDEZVOUS"

ns_miniupnpd nata "la$ns_id"
# one helper a run; each deletes its mapping when a stops, so the next
# one's is not refused (miniupnpd refuses a PCP mapping of a port another
# protocol holds, zt-nat(7) BUGS)
for run in upnp:9995 natpmp:9993 pcp:9994; do
	helper=${run%:*} port=${run#*:}
	restart "  - { use: $helper, check: 2s, retry: 2s, external-port: $port }"
	zt_wait 45 direct_through "$port"
	ok $? "$helper: a and b end direct through a's mapping 198.18.0.21:$port"
	took=$(( ($(date +%s%N) - started) / 1000000 ))
	diag "$helper: direct path $took ms after a's start (b reaches a at $(preferred b a), a reaches b at $(preferred a b))"
	ns_exec a ping -c 3 -i 0.2 -W 2 "$ipb" > /dev/null; ok $? "$helper: a pings b over the direct path"
done
relayed_before=$(zt_counter ctl relayed)
ns_exec a ping -c 5 -i 0.2 -W 2 "$ipb" > /dev/null
[ "$(zt_counter ctl relayed)" -eq "$relayed_before" ]; ok $? "the root relays none of it ($relayed_before)"
[ $tap_failed -eq 0 ] || { zt_log a; zt_log b; sed 's/^/#   /' "$ns_tmp/miniupnpd-nata.log" | grep -v table_cb | tail -40; }
tap_done
