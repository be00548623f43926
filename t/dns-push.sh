#!/bin/sh
# The dns module pushed as the network's DNS server (issue 19 part 6):
# ctl runs the controller and the dns module and is a member of its own
# network; the network has a domain and names no DNS server, so the
# controller gives members the addresses the module answers on.  Member m
# (allow-dns) gets them in its resolv.conf, and real `dig` from m at the
# pushed server answers member n's name.  The operator's servers win while
# set; nothing is written into the network object; bad announcements are
# refused and change nothing; the module removed on a reload stops being
# pushed, added again is pushed again, and with push: false is not; a
# controller made again learns the servers from the module's next
# announcement.
#
#   root 198.18.0.1 --- underlay --- ctl 198.18.0.2 (controller, dns) [zt0 198.19.8.53, RFC4193]
#                                \-- m  198.18.0.11 [zt0 198.19.8.11, allow-dns]
#                                \-- n  198.18.0.12 [zt0 198.19.8.12 "nova"]
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
for c in jq curl dig; do
	command -v $c > /dev/null || skip_all "needs $c (scripts/setup.sh installs it)"
done
plan 28

ns_bridge
for h in root:1 ctl:2 m:11 n:12; do ns_host "${h%:*}" "198.18.0.${h#*:}/24"; done
zt_world root 198.18.0.1/9993
zt_start root
zt_services="$(zt_ctl_service)
  - { use: dns }" zt_start ctl
net=$(zt_ctl_network '{"name":"push","private":true,"v4AssignMode":{"zt":true},
	"v6AssignMode":{"rfc4193":true,"6plane":false,"zt":false},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.8.10","ipRangeEnd":"198.19.8.99"}],
	"routes":[{"target":"198.19.8.0/24"}],
	"dns":{"domain":"push.zt.test","servers":[]}}')
netapi=http://127.0.0.1:9993/controller/network/$net
svcapi=http://127.0.0.1:9993/unstable/controller/network/$net/dns-service
member() { ctl_api -X POST -d "$2" "$netapi/member/$1" > /dev/null; }
zt_api ctl -X POST "http://127.0.0.1:9993/network/$net" > /dev/null
zt_networks="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }
    allow-dns: true" zt_start m
zt_networks="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }" zt_start n
member "$(zt_address ctl)" '{"authorized":true,"ipAssignments":["198.19.8.53"]}'
member "$(zt_address m)" '{"authorized":true,"name":"mars","ipAssignments":["198.19.8.11"]}'
member "$(zt_address n)" '{"authorized":true,"name":"nova","ipAssignments":["198.19.8.12"]}'
zt_wait 40 zt_is_status ctl OK && zt_wait 40 zt_is_status m OK && zt_wait 40 zt_is_status n OK
ok $? "ctl, m and n are on the network"

# ctl's RFC4193 address in the network
ctl6=$(zt_api ctl "http://127.0.0.1:9993/network/$net" | jq -r '.assignedAddresses[]' | grep '^fd' | cut -d/ -f1)
resolv=$ns_tmp/m/networks.d/$net.resolv.conf
# m's resolv.conf, comments left out, on one line
resolv_line() { grep -v '^#' "$resolv" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; }
is_resolv() { [ "$(resolv_line)" = "$want" ]; }
pushed="search push.zt.test nameserver 198.19.8.53 nameserver $ctl6"
want=$pushed
zt_wait 20 is_resolv
is "$(resolv_line)" "$pushed" "m's resolv.conf: the domain and the dns module's addresses (IPv4 first)"
grep -q "dns: network $net: DNS servers announced to the controller: \[\"198.19.8.53\",\"$ctl6\"\]" "$ns_tmp/ctl/log"
ok $? "the dns module logs what it announced"
is "$(zt_api m "http://127.0.0.1:9993/network/$net" | jq -c .dns.servers)" "[\"198.19.8.53\",\"$ctl6\"]" \
	"m's /network shows the pushed servers"

# q SERVER NAME: dig from m at SERVER
q() { ns_exec m dig +short +time=2 +tries=1 "@$1" "$2" A; }
# answers [SERVER]: SERVER (default the first pushed one) answers n's name
answers() { [ "$(q "${1:-$server}" nova.push.zt.test)" = 198.19.8.12 ]; }
server=$(sed -n 's/^nameserver //p' "$resolv" | head -1)
is "$(q "$server" nova.push.zt.test)" 198.19.8.12 "dig from m at the pushed server $server: n's name"
server6=$(sed -n 's/^nameserver //p' "$resolv" | sed -n 2p)
# (m's own IPv6 address may still be tentative: wait for it)
zt_wait 20 answers "$server6"
ok $? "... and at the pushed IPv6 server $server6"
is "$(ctl_api "$netapi" | jq -c .dns)" '{"domain":"push.zt.test","servers":[]}' \
	"nothing written into the network object"
is "$(ctl_api "$svcapi" | jq -c .servers)" "[\"198.19.8.53\",\"$ctl6\"]" "GET .../dns-service shows them"

# ---- the operator's servers win ----
ctl_api -X POST -d '{"dns":{"domain":"push.zt.test","servers":["198.19.8.99"]}}' "$netapi" > /dev/null
want="search push.zt.test nameserver 198.19.8.99"
zt_wait 20 is_resolv
ok $? "servers set by the operator: m has those alone"
ctl_api -X POST -d '{"dns":{"domain":"push.zt.test","servers":[]}}' "$netapi" > /dev/null
want=$pushed
zt_wait 20 is_resolv
ok $? "the operator's servers removed: the module's are pushed again"

# ---- bad announcements: refused, nothing changed ----
code() { ctl_api -o /dev/null -w '%{http_code}' -X POST -d "$1" "$svcapi"; }
is "$(code '{"servers":["not an ip"]}')" 400 "an announcement with a server that is not an IP: 400"
is "$(code '{"servers":["1.1.1.1","1.1.1.2","1.1.1.3","1.1.1.4","1.1.1.5"]}')" 400 "five servers: 400"
is "$(code '{"servers":"198.19.8.1"}')" 400 "servers not an array: 400"
is "$(code '[')" 400 "not JSON: 400"
[ "${net#"${net%?}"}" = 0 ] && other=${net%?}1 || other=${net%?}0
is "$(ctl_api -o /dev/null -w '%{http_code}' "http://127.0.0.1:9993/unstable/controller/network/$other/dns-service")" \
	404 "a network the controller does not have: 404"
is "$(ctl_api "$svcapi" | jq -c .servers)" "[\"198.19.8.53\",\"$ctl6\"]" "the servers are unchanged"

# ---- the module removed on a reload, then added again ----
conf=$ns_tmp/ctl/ztd.yaml
reload() {
	before=$(grep -c -e 'ztd.yaml: reloaded' -e 'reload refused' "$ns_tmp/ctl/log")
	sed -i "$1" "$conf"
	kill -HUP "$zt_pid_ctl"
	zt_wait 30 sh -c "[ \$(grep -c -e 'ztd.yaml: reloaded' -e 'reload refused' '$ns_tmp/ctl/log') -gt $before ]"
}
reload '/use: dns/d'
want="search push.zt.test"
zt_wait 20 is_resolv
ok $? "the dns module removed: m's resolv.conf keeps the domain, no server ($(resolv_line))"
grep -q "dns: network $net: DNS servers withdrawn from the controller" "$ns_tmp/ctl/log"
ok $? "the module logged the withdrawal"
is "$(ctl_api "$svcapi" | jq -c .servers)" "[]" "the controller holds no servers"
reload '/use: api/a\  - { use: dns }'
want=$pushed
zt_wait 20 is_resolv
ok $? "added again: pushed again"
is "$(q "$server" nova.push.zt.test)" 198.19.8.12 "and it answers (it listened before it announced)"
reload 's/use: dns }/use: dns, push: false }/'
want="search push.zt.test"
zt_wait 20 is_resolv
ok $? "push: false: the module is no longer pushed"
zt_wait 10 answers
ok $? "though it still answers (made again: once it listens)"
reload 's/, push: false//'
want=$pushed
zt_wait 20 is_resolv
ok $? "push on again: pushed again"
# the controller made again (another instance name): it starts with no
# servers and learns them from the module's next announcement
svc_has() { [ "$(ctl_api "$svcapi" | jq -c .servers)" = "[\"198.19.8.53\",\"$ctl6\"]" ]; }
reload 's/use: controller,/use: controller, instance: ctl2,/'
like "$(cat "$ns_tmp/ctl/log")" "ctl2: added to the config" "the controller made again under another name"
zt_wait 20 svc_has
ok $? "the new controller learns the module's servers (announced again every 5 s)"
grep -q "ctl2: network $net: the dns module's servers announced" "$ns_tmp/ctl/log"
ok $? "... and says so"

zt_stop ctl
ok "$(cat "$ns_tmp"/*/log | grep -c 'ERROR: \(AddressSanitizer\|LeakSanitizer\)\|runtime error')" \
	"no sanitizer reports in any ztd log (ctl stopped)"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log m; }
tap_done
