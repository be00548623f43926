#!/bin/sh
# The NAT helpers upnp, natpmp and pcp against miniupnpd on a home
# gateway (nftables, masquerade fully-random): each maps the node's UDP
# port (on external ports 9995, 9993, 9994), /status shows it, the
# gateway's nftables rules hold it; the gateway restarts (its rules go)
# and every mapping comes back; ztd's clean stop removes them all.
#
#   stun 198.18.0.3 --- bridge --- gw 198.18.0.21 | 198.18.10.1 --- a 198.18.10.2
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
command -v miniupnpd > /dev/null || skip_all "needs miniupnpd (scripts/setup.sh: miniupnpd-nftables)"
command -v python3 > /dev/null || skip_all "needs python3"
plan 13

ns_bridge
ns_upnp_router gw 198.18.0.21/24 198.18.10.1/24 stun
ns_behind a gw 198.18.10.2/24
ns_miniupnpd gw "la$ns_id"
zt_world root 198.18.0.1/9993
# pcp first, so stopped last: miniupnpd deletes a PCP mapping by internal
# port and refuses when another protocol's mapping of that port comes first
zt_nat='  - { use: pcp, check: 2s, retry: 2s, external-port: 9994 }
  - { use: upnp, check: 2s, retry: 2s, external-port: 9995 }
  - { use: natpmp, check: 2s, retry: 2s }'
zt_start a

# nat_field HELPER FIELD: a field of the helper's state in /status
nat_field() {
	zt_api a http://127.0.0.1:9993/status | jq -r ".natHelpers[] | select(.helper == \"$1\") | .$2"
}
nat_mapped() { [ "$(nat_field "$1" state)" = mapped ] && [ "$(nat_field "$1" externalAddress)" = "198.18.0.21/$2" ]; }
all_mapped() { nat_mapped upnp 9995 && nat_mapped natpmp 9993 && nat_mapped pcp 9994; }
# rule_for PORT: the gateway forwards external udp PORT to a
rule_for() { ns_upnp_rules gw | grep -q "dport $1 dnat ip to 198.18.10.2:9993"; }
all_rules() { rule_for 9995 && rule_for 9993 && rule_for 9994; }
no_rules() { ! rule_for 9995 && ! rule_for 9993 && ! rule_for 9994; }

zt_wait 60 nat_mapped upnp 9995; ok $? "upnp: mapped as 198.18.0.21:9995"
zt_wait 60 nat_mapped natpmp 9993; ok $? "natpmp: mapped as 198.18.0.21:9993"
zt_wait 60 nat_mapped pcp 9994; ok $? "pcp: mapped as 198.18.0.21:9994"
all_rules; ok $? "the gateway's nftables rules forward the three ports to a:9993"
lease=$(nat_field natpmp leaseSeconds)
[ "$lease" -gt 0 ] && [ "$lease" -le 3600 ]; ok $? "natpmp: lease left shown ($lease s)"
[ "$(nat_field pcp gateway)" = 198.18.10.1/5351 ] && [ "$(nat_field upnp gateway)" = 198.18.10.1/0 ]
ok $? "the gateway of each is shown"
[ "$(nat_field natpmp internalPort)" = 9993 ]; ok $? "the internal port is the udp transport's"

# the gateway reboots: its rules go with it, and come back from the helpers
ns_miniupnpd_stop gw
all_rules; ok $? "a stopped miniupnpd leaves its rules (ztd still holds the mappings)"
ns_gateway_reboot gw "la$ns_id"
zt_wait 90 all_rules; ok $? "after the gateway's restart the three mappings are back"
zt_wait 30 all_mapped; ok $? "and /status shows them mapped"
grep -q "upnp: mapping lost" "$ns_tmp/a/log"; ok $? "upnp saw its mapping lost"

# ztd's clean stop deletes every mapping
zt_stop a
no_rules; ok $? "after ztd's clean stop the gateway holds no mapping"
[ "$(grep -c "mapping of udp port 9993 deleted" "$ns_tmp/a/log")" -eq 3 ]; ok $? "each helper logged its deletion"
[ $tap_failed -eq 0 ] || { zt_log a; sed 's/^/#   /' "$ns_tmp/miniupnpd-gw.log" | grep -v table_cb | tail -60; }
tap_done
