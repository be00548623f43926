#!/bin/sh
# Live reload: SIGHUP makes ztd read ztd.yaml again and apply what changed
# in networks:.  A network added to the config is joined while a ping runs
# on a network the change does not touch (none lost); a config with an
# error is refused with file:line:col and the running one kept; a network
# removed from the config is left, its port gone.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller: nets 1, 2)
#                              |-- a 198.18.0.11 [zt0: 1, zt1: 2 by reload]
#                              \-- b 198.18.0.12 [zt0: 1]
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 12

zt_lab a:11 b:12
net=$(zt_ctl_network '{"name":"one","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.1.10","ipRangeEnd":"198.19.1.100"}],
	"routes":[{"target":"198.19.1.0/24"}]}')
net1=$net
net2=$(zt_ctl_network '{"name":"two","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.2.10","ipRangeEnd":"198.19.2.100"}],
	"routes":[{"target":"198.19.2.0/24"}]}')
zt_networks="networks:
  - id: \"$net1\"
    iface: { use: tap, name: zt0 }"
zt_start a
zt_start b
zt_authorize true a b
zt_wait 30 zt_has_ip a && zt_wait 30 zt_has_ip b
ipb=$(zt_net_ip b)
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a pings b on network one"

# a ping on network one all along, until both reloads are done (ip netns
# exec execs ping: $! is ping's pid)
ip netns exec "$(ns_name a)" ping -i 0.2 "$ipb" > "$ns_tmp/ping" 2>&1 &
ping_pid=$!

# ---- add network two ----
cat >> "$ns_tmp/a/ztd.yaml" <<YAML
  - id: "$net2"
    iface: { use: tap, name: zt1 }
    ingress: [ { use: rules } ]
    egress: [ { use: rules } ]
YAML
kill -HUP "$zt_pid_a"
zt_wait 30 grep -q "ztd.yaml: reloaded" "$ns_tmp/a/log"; ok $? "SIGHUP: a reloads"
like "$(cat "$ns_tmp/a/log")" "network $net2: added to the config" "... and adds network two"
net=$net2
zt_authorize true a
zt_wait 30 zt_has_ip a; ok $? "a gets an address on network two"
ip2=$(zt_net_ip a)
zt_wait 10 sh -c "ip netns exec $(ns_name a) ip -4 -o addr show dev zt1 | grep -q '$ip2/24'"
ok $? "its new port zt1 carries $ip2/24"

# ---- an invalid config ----
cp "$ns_tmp/a/ztd.yaml" "$ns_tmp/good.yaml"
printf '  - id: "%s"\n    iface: { use: tap, nmae: zt2 }\n' "$(zt_address ctl)0000ff" >> "$ns_tmp/a/ztd.yaml"
line=$(wc -l < "$ns_tmp/a/ztd.yaml")
kill -HUP "$zt_pid_a"
zt_wait 30 grep -q "reload refused" "$ns_tmp/a/log"; ok $? "a config with an error is refused"
like "$(cat "$ns_tmp/a/log")" "ztd.yaml:$line:[0-9]+: tap@$(zt_address ctl)0000ff: unknown key 'nmae'" \
	"... naming file:line:col"
net=$net2
is "$(zt_net_status a)" OK "... and network two still runs"

n=$(grep -c 'bytes from' "$ns_tmp/ping")
zt_wait 20 sh -c "[ \$(grep -c 'bytes from' '$ns_tmp/ping') -ge $((n + 2)) ]"
kill -INT $ping_pid
wait $ping_pid
# the ping ran from before the first reload to after the second (how many
# echoes that is depends on the machine); the last echo may be in flight
# when ping is stopped: it is not a loss
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$ns_tmp/ping")
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$ns_tmp/ping")
ok $(( !(sent > 3 && got >= sent - 1) )) "the ping on network one lost nothing through both reloads ($got of $sent)"

# ---- remove network two ----
cp "$ns_tmp/good.yaml" "$ns_tmp/a/ztd.yaml"
sed -i "/id: \"$net2\"/,\$d" "$ns_tmp/a/ztd.yaml"
kill -HUP "$zt_pid_a"
zt_wait 30 grep -q "network $net2: removed from the config" "$ns_tmp/a/log"; ok $? "a removes network two"
zt_wait 10 sh -c "! ip netns exec $(ns_name a) ip link show zt1"; ok $? "... its port zt1 is gone"
ns_exec a ping -c 3 -i 0.2 -W 2 "$ipb" > "$ns_tmp/ping" 2>&1
like "$(cat "$ns_tmp/ping")" " 0% packet loss" "network one still carries pings"
tap_done
