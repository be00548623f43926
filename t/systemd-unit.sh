#!/bin/sh
# The systemd unit (systemd/ztd.service): systemd-analyze verifies it and
# rates its exposure better than MEDIUM; and ztd runs as the unit runs it
# (another user, CAP_NET_ADMIN and nothing else, no new privileges, via
# setpriv): it tells systemd it is ready (sd_notify READY=1, on a notify
# socket of the test's), makes its TAP port, gets its address and pings
# over a private network.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0]  as the unit runs it
#                              \-- b 198.18.0.12 [zt0]  as the unit runs it
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v systemd-analyze > /dev/null || skip_all "needs systemd-analyze (apt-get install systemd)"
command -v setpriv > /dev/null || skip_all "needs setpriv (apt-get install util-linux)"
command -v socat > /dev/null || skip_all "needs socat (apt-get install socat)"
plan 9

# ---- the unit ----
unit=$ns_tmp/ztd.service
sed "s|^ExecStart=.*|ExecStart=$builddir/.libs/ztd|" "$builddir/systemd/ztd.service" > "$unit"
out=$(systemd-analyze verify --man=no "$unit" 2>&1)
is "$?:$out" "0:" "systemd-analyze verify: no complaint"
level=$(systemd-analyze security --offline=true "$unit" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
like "$level" " (OK|LOW)$" "systemd-analyze security: exposure $level, better than MEDIUM"
grep -q '^CapabilityBoundingSet=CAP_NET_ADMIN$' "$unit" && grep -q '^AmbientCapabilities=CAP_NET_ADMIN$' "$unit"
ok $? "the unit grants CAP_NET_ADMIN and nothing else"

# ---- ztd as the unit runs it ----
uid=65534
# systemd's udev rule (50-udev-default.rules) makes /dev/net/tun 0666; a
# container without udev may leave it 0600
if [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
	diag "/dev/net/tun: mode $(stat -c %a /dev/net/tun), made 0666 as udev makes it"
	chmod 0666 /dev/net/tun
fi
chmod 0711 "$ns_tmp"
cat > "$ns_tmp/ztd-as-unit" <<SH
#!/bin/sh
exec setpriv --reuid=$uid --regid=$uid --clear-groups --no-new-privs \\
	--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin --bounding-set=-all,+net_admin \\
	"$ZTD" "\$@"
SH
chmod 0755 "$ns_tmp/ztd-as-unit"

zt_lab a:11 b:12
net=$(zt_ctl_network '{"name":"unit","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.1.10","ipRangeEnd":"198.19.1.100"}],
	"routes":[{"target":"198.19.1.0/24"}]}')
socat -u UNIX-RECV:"$ns_tmp/notify" "OPEN:$ns_tmp/notified,creat,append" &
ns_pids="$ns_pids $!"
zt_wait 10 test -S "$ns_tmp/notify" || bail "no notify socket"
chmod 0666 "$ns_tmp/notify"
real_ztd=$ZTD
ZTD=$ns_tmp/ztd-as-unit
zt_networks="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
for n in a b; do
	mkdir -p "$ns_tmp/$n"
	chown "$uid:$uid" "$ns_tmp/$n"
done
NOTIFY_SOCKET=$ns_tmp/notify zt_start a
zt_start b
ZTD=$real_ztd

zt_wait 30 grep -q READY=1 "$ns_tmp/notified"
ok $? "ztd tells systemd it is ready (READY=1)"
is "$(awk '/^Uid:/ { print $2 } /^CapEff:/ { print $2 }' "/proc/$zt_pid_a/status" | tr '\n' ' ')" \
	"$uid 0000000000001000 " "a runs as uid $uid with only CAP_NET_ADMIN"
is "$(stat -c %u "$ns_tmp/a/identity.secret")" "$uid" "its state belongs to its user"
zt_authorize true a b
zt_wait 30 zt_has_ip a && zt_wait 30 zt_has_ip b
ok $? "both are configured once authorized"
ipa=$(zt_net_ip a); ipb=$(zt_net_ip b)
zt_wait 10 sh -c "ip netns exec $(ns_name a) ip -4 -o addr show dev zt0 | grep -q '$ipa/24'"
ok $? "a's TAP port carries $ipa/24 (made and addressed with CAP_NET_ADMIN alone)"
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a pings b over the network"
tap_done
