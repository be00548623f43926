#!/bin/sh
# Three members of a public network with broadcast and rfc4193 IPv6:
# a broadcast from one reaches both others (multicast LIKE/GATHER through
# the root and the controller), IPv6 neighbour discovery and ping6 work,
# and a restarted (kill -9) controller still serves the network.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11 [zt0]
#                              |-- b 198.18.0.12 [zt0]
#                              \-- c 198.18.0.13 [zt0]
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
command -v tcpdump > /dev/null || skip_all "needs tcpdump (apt-get install tcpdump)"
plan 8

zt_lab a:11 b:12 c:13
net=$(zt_ctl_network '{"name":"pub","private":false,"enableBroadcast":true,
	"v4AssignMode":{"zt":true},"v6AssignMode":{"rfc4193":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.2.10","ipRangeEnd":"198.19.2.100"}],
	"routes":[{"target":"198.19.2.0/24"}]}')
join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
for n in a b c; do zt_networks=$join zt_start $n; done

status_ok() { [ "$(zt_api "$1" "http://127.0.0.1:9993/network/$net" | jq -r .status)" = OK ]; }
zt_wait 40 zt_wait 40 status_ok a && zt_wait 40 status_ok b && zt_wait 40 status_ok c
ok $? "three members of a public network are configured without authorization"
v4() { zt_api "$1" "http://127.0.0.1:9993/network/$net" | jq -r '.assignedAddresses[]' | grep -v : | cut -d/ -f1; }
v6() { zt_api "$1" "http://127.0.0.1:9993/network/$net" | jq -r '.assignedAddresses[]' | grep : | cut -d/ -f1; }
ipb=$(v4 b); ip6b=$(v6 b)
like "$ip6b" '^fd' "b has an rfc4193 address ($ip6b)"

# a broadcast from a reaches b and c
for n in b c; do
	ns_exec $n timeout 20 tcpdump -l -n -i zt0 -c 1 udp port 7777 > "$ns_tmp/$n.dump" 2>/dev/null &
	eval "dump_$n=\$!"
done
sleep 2
for i in 1 2 3 4 5 6; do echo hello | ns_exec a nc -u -b -w 1 198.19.2.255 7777 2>/dev/null; sleep 1; done
wait $dump_b; wait $dump_c
like "$(cat "$ns_tmp/b.dump")" "198.19.2.255.7777" "b receives a's broadcast"
like "$(cat "$ns_tmp/c.dump")" "198.19.2.255.7777" "c receives a's broadcast"

zt_wait 20 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a pings b over IPv4"
zt_wait 20 ns_exec a ping -6 -c 1 -W 1 "$ip6b"; ok $? "a pings b over IPv6 (neighbour discovery through multicast)"

eval "kill -KILL \$zt_pid_ctl"
wait $zt_pid_ctl 2>/dev/null
zt_services=$(zt_ctl_service) zt_start ctl
like "$(zt_api ctl "http://127.0.0.1:9993/controller/network/$net" | jq -r .name)" "^pub\$" \
	"the network survives kill -9 of the controller"
ns_exec a ping -c 3 -i 0.3 -W 1 "$ipb" > /dev/null; ok $? "members keep talking while the controller restarts"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log a; zt_log b; }
tap_done
