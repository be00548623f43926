#!/bin/sh
# Per-network local settings and the pushed DNS, end to end on a real TAP
# (issue 19 parts 4 and 5).  The controller gives member m a private
# address (198.19.3.5/24), a global one (2001:db8:ff19::5/64: 2001:db8::/32
# is global to zt's scope rules, 198.18.0.0/15 is not), a global route
# (2001:db8:ff20::/48), a default route (via 198.19.3.1) and a DNS (search
# domain and two servers).  What reaches m's zt0 follows allowManaged,
# allowGlobal and allowDefault as they are changed at run time (zt-cli set,
# POST /network); the DNS lands in networks.d/<nwid>.resolv.conf only with
# allowDNS.  The settings outlive a restart (local.conf), and ztd.yaml's
# allow-* keys win over them, also when a reload (SIGHUP) changes them.
#
#   root 198.18.0.1 --- underlay --- ctl 198.18.0.2 (controller)
#                                \-- m  198.18.0.11 [zt0]
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v jq > /dev/null || skip_all "needs jq"
command -v curl > /dev/null || skip_all "needs curl"
plan 39

zt_lab m:11
net=$(zt_ctl_network '{"name":"settings","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.3.10","ipRangeEnd":"198.19.3.100"}],
	"routes":[{"target":"198.19.3.0/24"},{"target":"2001:db8:ff19::/64"},{"target":"2001:db8:ff20::/48"},
		  {"target":"0.0.0.0/0","via":"198.19.3.1"}],
	"dns":{"domain":"settings.zt.test","servers":["198.19.3.53","fd00:3::53"]}}')
join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
zt_networks=$join zt_start m
ctl_api -X POST -d '{"authorized":true,"noAutoAssignIps":true,"ipAssignments":["198.19.3.5","2001:db8:ff19::5"]}' \
	"http://127.0.0.1:9993/controller/network/$net/member/$(zt_address m)" > /dev/null

api_url=http://127.0.0.1:9993
cli() { ns_exec m "$builddir/zt-cli" -D"$ns_tmp/m" "$@"; }
netfield() { zt_api m "$api_url/network/$net" | jq -r "$1"; }
settings() { netfield '"\(.allowManaged) \(.allowGlobal) \(.allowDefault) \(.allowDNS)"'; }
post() { zt_api m -o /dev/null -w '%{http_code}' -X POST -d "$1" "$api_url/network/$net"; }
resolv=$ns_tmp/m/networks.d/$net.resolv.conf
# what the kernel has on zt0
addrs() { ns_exec m ip -o addr show dev zt0 scope global | awk '{print $4}' | sort | tr '\n' ' '; }
routes() { ns_exec m ip -o route show dev zt0; ns_exec m ip -o -6 route show dev zt0; }
has_addr() { addrs | grep -q "$1 "; }
no_addr() { ! has_addr "$1"; }
has_route() { routes | grep -q "^$1"; }
no_route() { ! has_route "$1"; }
default_routes() { routes | grep -c '^\(0\.0\.0\.0\|128\.0\.0\.0\)/1 via 198\.19\.3\.1 '; }
has_default() { [ "$(default_routes)" -eq 2 ]; }
no_default() { [ "$(default_routes)" -eq 0 ]; }
has_resolv() { [ -s "$resolv" ]; }
no_resolv() { [ ! -e "$resolv" ]; }

zt_wait 40 zt_is_status m OK
ok $? "m is configured"
is "$(settings)" "true false false false" "the defaults: allowManaged only"
zt_wait 20 has_addr 198.19.3.5/24
ok $? "the private managed address is on zt0 ($(addrs))"
ok "$(no_addr 2001:db8:ff19::5/64; echo $?)" "the global one is not (allowGlobal=0)"
ok "$(no_route 2001:db8:ff20::/48; echo $?)" "nor the global route"
ok "$(no_default; echo $?)" "no default route"
ok "$(no_resolv; echo $?)" "no resolv.conf (allowDNS=0)"
is "$(netfield '"\(.dns.domain) \(.dns.servers | join(",")) \(.dnsApplied)"')" \
	"settings.zt.test 198.19.3.53,fd00:3::53 false" "/network shows the pushed DNS, not applied"

# ---- changed at run time ----
is "$(cli set "$net" allowDefault=1 | jq -r .allowDefault)" true "zt-cli set allowDefault=1"
zt_wait 20 has_default
ok $? "the default route is on zt0, as two halves via 198.19.3.1"
is "$(post '{"allowGlobal":true}')" 200 "POST /network allowGlobal=true"
zt_wait 20 has_addr 2001:db8:ff19::5/64
ok $? "the global address is on zt0"
zt_wait 20 has_route 2001:db8:ff20::/48
ok $? "and the global route"
ok "$(no_resolv; echo $?)" "still no resolv.conf"
is "$(cli set "$net" allowDNS=1 | jq -r .allowDNS)" true "zt-cli set allowDNS=1"
zt_wait 20 has_resolv
ok $? "the pushed DNS is written to networks.d/<nwid>.resolv.conf"
is "$(grep -v '^#' "$resolv" | tr '\n' ' ')" "search settings.zt.test nameserver 198.19.3.53 nameserver fd00:3::53 " \
	"... its search domain and both servers"
is "$(netfield .dnsApplied)" true "/network: dnsApplied"
is "$(tr '\n' ' ' < "$ns_tmp/m/networks.d/$net.local.conf")" "allowManaged=1 allowGlobal=1 allowDefault=1 allowDNS=1 " \
	"local.conf holds the four settings"

# ---- a restart keeps them ----
zt_stop m
ok "$(no_resolv; echo $?)" "the resolv.conf goes with ztd"
zt_networks=$join zt_start m
zt_wait 40 zt_is_status m OK
is "$(settings)" "true true true true" "after a restart, the settings are those of local.conf"
zt_wait 20 has_default && zt_wait 20 has_addr 2001:db8:ff19::5/64
ok $? "zt0 has the default route and the global address again"
zt_wait 20 has_resolv
ok $? "and the resolv.conf is back"

# ---- allowDNS off, allowManaged off ----
is "$(post '{"allowDNS":false}')" 200 "POST /network allowDNS=false"
zt_wait 20 no_resolv
ok $? "the resolv.conf is removed"
cli set "$net" allowManaged=0 > /dev/null
zt_wait 20 no_addr 198.19.3.5/24
ok $? "allowManaged=0: the managed addresses go ($(addrs))"
zt_wait 20 no_default && zt_wait 20 no_route 2001:db8:ff20::/48
ok $? "... and every managed route, the default too"
is "$(netfield .status)" OK "the network stays up"
cli set "$net" allowManaged=1 > /dev/null
zt_wait 20 has_addr 198.19.3.5/24 && zt_wait 20 has_default
ok $? "allowManaged=1 again: address and default route are back"

# ---- ztd.yaml fixes a setting ----
zt_stop m
zt_networks="$join
    allow-default: false
    allow-dns: true" zt_start m
zt_wait 40 zt_is_status m OK
is "$(settings)" "true true false true" "ztd.yaml's allow-default: false wins over local.conf's"
zt_wait 20 has_resolv && zt_wait 20 has_addr 198.19.3.5/24
ok $? "its allow-dns: true writes the resolv.conf"
ok "$(no_default; echo $?)" "no default route"
is "$(post '{"allowDefault":true}')" 403 "POST /network of a setting ztd.yaml fixes: 403"
is "$(post '{"allowGlobal":false}')" 200 "one it leaves alone may change"
zt_wait 20 no_addr 2001:db8:ff19::5/64
ok $? "... and applies"

# ---- a reload (SIGHUP) changing an allow-* key remakes the network with it ----
sed -i 's/allow-default: false/allow-default: true/' "$ns_tmp/m/ztd.yaml"
kill -HUP "$zt_pid_m"
zt_wait 30 grep -q 'ztd.yaml: reloaded' "$ns_tmp/m/log"
ok $? "SIGHUP with allow-default: true: reloaded"
zt_wait 40 has_default
ok $? "the default route is on zt0"
is "$(settings)" "true false true true" "the settings: ztd.yaml's, and local.conf's for the others"
ok "$(cat "$ns_tmp"/*/log | grep -c 'ERROR: \(AddressSanitizer\|LeakSanitizer\)\|runtime error')" \
	"no sanitizer reports in any ztd log"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log m; }
tap_done
