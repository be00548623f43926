#!/bin/sh
# The pushed DNS in a real systemd-resolved (issue 19 part 5): member m
# joins a network whose controller pushes a domain and two servers; with
# allowDNS, ztd sets them as the per-link DNS of m's port in resolved,
# which takes them back when allowDNS goes off, when the network is left
# and when ztd stops; on a TAP port, then on a utun one.  resolved is
# Debian's binary unpacked by scripts/setup.sh (never installed: it would
# take the host's /etc/resolv.conf), run in m's network namespace, in a
# mount namespace of its own (a tmpfs on /run, a passwd with its user), on
# a private system bus (dbus-daemon on an abstract socket of m's
# namespace).  resolvectl on that bus reads what resolved holds.
#
#   root 198.18.0.1 --- underlay --- ctl 198.18.0.2 (controller)
#                                \-- m  198.18.0.11 [TAP, later utun] + dbus-daemon, systemd-resolved
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v jq > /dev/null || skip_all "needs jq"
command -v curl > /dev/null || skip_all "needs curl"
command -v dbus-daemon > /dev/null || skip_all "needs dbus-daemon (scripts/setup.sh)"
command -v unshare > /dev/null || skip_all "needs unshare (util-linux)"
resolved_dir=${ZT_RESOLVED_DIR:-/var/cache/zt-ci/systemd-resolved}
[ -x "$resolved_dir/lib/systemd/systemd-resolved" ] ||
	skip_all "needs systemd-resolved unpacked in $resolved_dir (scripts/setup.sh)"
grep -q '^#define HAVE_SYSTEMD 1' "$builddir/config.h" || skip_all "ztd built without libsystemd"
plan 40

zt_lab m:11
net=$(zt_ctl_network '{"name":"resolved","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.4.10","ipRangeEnd":"198.19.4.100"}],
	"routes":[{"target":"198.19.4.0/24"}],
	"dns":{"domain":"rdns.zt.test","servers":["198.19.4.53","fd00:4::53"]}}')

# ---- the private system bus and systemd-resolved, in m's namespace ----
bus=unix:abstract=zt-resolved-$ns_id
cat > "$ns_tmp/bus.conf" <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>$bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
XML
# started with ip netns exec itself (not ns_exec, a function: $! would be
# a subshell's), which execs the daemon: $! is its pid, for ns_cleanup
ip netns exec "$(ns_name m)" dbus-daemon --config-file="$ns_tmp/bus.conf" --nofork --nopidfile \
	>> "$ns_tmp/bus.log" 2>&1 &
ns_pids="$ns_pids $!"
# ztd, resolved and resolvectl of m find it there
export DBUS_SYSTEM_BUS_ADDRESS="$bus"
# resolved drops to its user systemd-resolve: one in a passwd of its own,
# with nobody's uid, which the bus (outside that passwd) knows, or it
# would not let resolved in; no stub listener, LLMNR or mDNS (nothing of
# the host's is needed or touched)
cat > "$ns_tmp/resolved.sh" <<SH
mount -t tmpfs -o mode=755 zt-resolved /run || exit 1
mkdir -p /run/systemd/resolved.conf.d /run/zt-etc
printf '[Resolve]\nDNSStubListener=no\nLLMNR=no\nMulticastDNS=no\n' > /run/systemd/resolved.conf.d/zt-test.conf
{ cat /etc/passwd; echo 'systemd-resolve:x:65534:65534::/:/usr/sbin/nologin'; } > /run/zt-etc/passwd
{ cat /etc/group; echo 'systemd-resolve:x:65534:'; } > /run/zt-etc/group
mount --bind /run/zt-etc/passwd /etc/passwd && mount --bind /run/zt-etc/group /etc/group || exit 1
exec "$resolved_dir/lib/systemd/systemd-resolved"
SH
resolved_start() {
	ip netns exec "$(ns_name m)" unshare -m --propagation private sh "$ns_tmp/resolved.sh" \
		>> "$ns_tmp/resolved.log" 2>&1 &
	resolved_pid=$!   # every step execs the next: this is resolved
	ns_pids="$ns_pids $!"
}
rctl() { ns_exec m "$resolved_dir/usr/bin/resolvectl" "$@"; }
# what resolved holds for the port: its DNS servers, its domains
link_dns() { rctl dns "$dev" | sed 's/^Link [0-9]* ([^)]*)://; s/^ *//'; }
link_domains() { rctl domain "$dev" | sed 's/^Link [0-9]* ([^)]*)://; s/^ *//'; }
has_dns() { [ "$(link_dns)" = "$1" ]; }
# any trace of the network's DNS on any link resolved knows
pushed_anywhere() { rctl dns; rctl domain; }
none_anywhere() { ! pushed_anywhere | grep -q '198\.19\.4\.\|fd00:4::\|rdns\.zt\.test'; }
resolv=$ns_tmp/m/networks.d/$net.resolv.conf
has_resolv() { [ -s "$resolv" ]; }
no_resolv() { [ ! -e "$resolv" ]; }
api_url=http://127.0.0.1:9993
cli() { ns_exec m "$builddir/zt-cli" -D"$ns_tmp/m" "$@"; }
code() { zt_api m -o "$ns_tmp/body" -w '%{http_code}' "$@"; }
status_is() { [ "$(zt_api m "$api_url/network/$net" | jq -r .status)" = "$1" ]; }
m_log_has() { grep -q "$1" "$ns_tmp/m/log"; }

zt_wait 10 ns_exec m busctl --system list
ok $? "the test's system bus answers in m's namespace"
resolved_start
zt_wait 20 rctl status
ok $? "systemd-resolved runs on the test's system bus in m's namespace"

# ---- joined with allowDNS: the port's link gets the DNS ----
zt_start m
is "$(code -X POST -d '{"allowDNS":true}' "$api_url/network/$net")" 200 "m joins the network with allowDNS"
dev=$(jq -r .portDeviceName "$ns_tmp/body")
ctl_api -X POST -d '{"authorized":true}' "$api_url/controller/network/$net/member/$(zt_address m)" > /dev/null
zt_wait 40 status_is OK
ok $? "m's network is OK"
zt_wait 20 has_dns "198.19.4.53 fd00:4::53"
ok $? "resolved holds both pushed servers as the DNS of $dev ($(link_dns))"
is "$(link_domains)" "rdns.zt.test" "... and the domain, a search domain (routing too, not only routing)"
ok "$(has_resolv; echo $?)" "the resolv.conf file is written as well"
m_log_has "pushed DNS: set on link $dev"
ok $? "the log says so"

# ---- allowDNS off and on ----
is "$(cli set "$net" allowDNS=0 | jq -r .allowDNS)" false "zt-cli set allowDNS=0"
zt_wait 20 has_dns ""
ok $? "resolved no longer has servers for $dev"
is "$(link_domains)" "" "... nor the domain"
ok "$(no_resolv; echo $?)" "the file is gone too"
cli set "$net" allowDNS=1 > /dev/null
zt_wait 20 has_dns "198.19.4.53 fd00:4::53"
ok $? "allowDNS=1 again: back in resolved"

# ---- the controller changes the DNS: resolved follows ----
ctl_api -X POST -d '{"dns":{"domain":"rdns.zt.test","servers":["198.19.4.54"]}}' \
	"$api_url/controller/network/$net" > /dev/null
zt_wait 40 has_dns "198.19.4.54"
ok $? "the controller's new server replaces the old ones on $dev"
is "$(link_domains)" "rdns.zt.test" "... with the domain kept"

# ---- the network left ----
reverts() { grep -c "pushed DNS: removed from link $dev" "$ns_tmp/m/log"; }
reverts_before=$(reverts)
is "$(cli leave "$net")" "200 leave OK" "zt-cli leave"
zt_wait 20 none_anywhere
ok $? "resolved has none of the network's DNS on any link"
ok "$([ "$(reverts)" -gt "$reverts_before" ]; echo $?)" "... taken back (RevertLink) before the port went"
ok "$(no_resolv; echo $?)" "the file is gone"

# ---- ztd stops ----
is "$(code -X POST -d '{"allowDNS":true}' "$api_url/network/$net")" 200 "m joins again with allowDNS"
dev=$(jq -r .portDeviceName "$ns_tmp/body")
zt_wait 40 has_dns "198.19.4.54"
ok $? "the DNS is on $dev again"
zt_stop m
zt_wait 20 none_anywhere
ok $? "ztd stopped: resolved has none of the network's DNS"
ok "$(grep -c 'systemd-resolved \(refused\|kept\)' "$ns_tmp/m/log")" "resolved refused nothing ztd asked"

# ---- dns-backend: file ----
zt_node_extra="dns-backend: file" zt_start m
zt_wait 40 status_is OK && zt_wait 20 has_resolv
ok $? "dns-backend: file: the network is back, its resolv.conf written"
ok "$(none_anywhere; echo $?)" "... and resolved is not told"
sed -i 's/dns-backend: file/dns-backend: auto/' "$ns_tmp/m/ztd.yaml"
kill -HUP "$zt_pid_m"
zt_wait 20 m_log_has "reload refused: node.dns-backend changed: restart ztd"
ok $? "a reload changing dns-backend is refused"
ok "$(none_anywhere; echo $?)" "... and resolved is still not told"
zt_stop m

# ---- dns-backend: resolved, on a utun port ----
zt_networks="joined:
  iface: { use: utun }" zt_node_extra="dns-backend: resolved" zt_start m
dev=$(zt_api m "$api_url/network/$net" | jq -r .portDeviceName)
ns_exec m ip -d link show "$dev" | grep -q 'tun type tun'
ok $? "the network rejoined on a utun (layer-3) port"
zt_wait 40 has_dns "198.19.4.54"
ok $? "dns-backend: resolved: resolved has the DNS of $dev, the utun port"
is "$(link_domains)" "rdns.zt.test" "... and its domain"
cli set "$net" allowDNS=0 > /dev/null
zt_wait 20 has_dns ""
ok $? "allowDNS=0: taken back from the utun port"
cli set "$net" allowDNS=1 > /dev/null
zt_stop m

# ---- resolved gone ----
kill "$resolved_pid"
wait "$resolved_pid" 2> /dev/null
no_resolved() { ! rctl status; }
zt_wait 20 no_resolved
ok $? "systemd-resolved stopped"
zt_start m
zt_wait 40 status_is OK && zt_wait 20 has_resolv
ok $? "auto without resolved on the bus: the file is written"
zt_wait 10 m_log_has "systemd-resolved is not on the system bus: only the file is written"
ok $? "... and the log says resolved is not there"
zt_stop m
zt_node_extra="dns-backend: resolved" zt_start m
zt_wait 40 status_is OK && zt_wait 20 has_resolv
ok $? "dns-backend: resolved without resolved: the file is still written"
zt_wait 10 m_log_has "error: pushed DNS: systemd-resolved refused the DNS of"
ok $? "... and the failure is an error in the log"
zt_stop m

# ---- the option itself ----
printf 'node: { home: %s, dns-backend: unbound }\n' "$ns_tmp/m" > "$ns_tmp/bad.yaml"
out=$("$ZTD" --check-config "$ns_tmp/bad.yaml" 2>&1)
is "$?" 1 "ztd --check-config refuses dns-backend: unbound"
like "$out" "bad.yaml:1:[0-9]+: .*must be auto, file or resolved" "... saying where and what it may be"
printf 'node: { home: %s, dns-backend: resolved }\n' "$ns_tmp/m" > "$ns_tmp/good.yaml"
like "$("$ZTD" --check-config "$ns_tmp/good.yaml" 2>&1)" "dns-backend: resolved" "--check-config prints it"

ok "$(cat "$ns_tmp"/*/log | grep -c 'ERROR: \(AddressSanitizer\|LeakSanitizer\)\|runtime error')" \
	"no sanitizer reports in any ztd log"
[ $tap_failed -eq 0 ] || { zt_log m; sed 's/^/#   /' "$ns_tmp/resolved.log"; }
tap_done
