#!/bin/sh
# Set everything up, build zt, and run its lab on this machine: a virtual
# LAN.  A root, a network controller and two nodes, each in its own network
# namespace on one bridge (underlay 198.18.0.0/24).  The controller creates
# a private network (198.19.1.0/24), both nodes join it with a TAP port
# named zt0, the controller authorizes them, and node a pings node b across
# the virtual network.  The lab stays up; the last lines say how to get a
# shell in a node and how to tear it down.
#
#   scripts/lab.sh          build and start the lab
#   scripts/lab.sh stop     tear it down
#
# ZT_LAB_BUILD=DIR runs it from a build tree that is built already, the
# modules found through ZT_MODULE_PATH (as the test suite's t/lab.sh does).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ZT_BUILD_ROOT:-$top/_build}/lab
lab=/tmp/zt-lab
nodes="root ctl a b"

stop() {
	for n in $nodes; do
		[ -f "$lab/$n/pid" ] && kill "$(cat "$lab/$n/pid")" 2>/dev/null || true
	done
	# each ztd closes its TAP port and leaves cleanly: wait for it
	for n in $nodes; do
		[ -f "$lab/$n/pid" ] || continue
		for t in $(seq 50); do kill -0 "$(cat "$lab/$n/pid")" 2>/dev/null || break; sleep 0.1; done
	done
	for n in $nodes; do ip netns del "zt-lab-$n" 2>/dev/null || true; done
	ip link del zt-lab-br 2>/dev/null || true
	rm -rf "$lab"
}
if [ "${1:-}" = stop ]; then
	stop
	echo "lab: stopped"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "lab: run as root (it makes network namespaces)" >&2; exit 1; }

if [ -n "${ZT_LAB_BUILD:-}" ]; then
	# a build tree made already, with its modules in ZT_MODULE_PATH (the
	# test suite's t/lab.sh): no setup, no build
	cd "$ZT_LAB_BUILD"
else
	"$top/scripts/setup.sh"
	(cd "$top" && ./autogen.sh > /dev/null 2>&1)
	mkdir -p "$build"
	cd "$build"
	[ -f Makefile ] || "$top/configure" -q
	echo "lab: building zt in $build"
	make -j"$(nproc)" > make.log 2>&1 || { tail -30 make.log; exit 1; }
	export ZT_MODULE_PATH="$(make -s --no-print-directory module-path | tail -1)"
fi
build=$(pwd)

stop
mkdir -p "$lab"
ip link add zt-lab-br type bridge
ip link set zt-lab-br up
i=1
for n in $nodes; do
	ip netns add "zt-lab-$n"
	ip link add "zt-lab-$n" type veth peer name eth0 netns "zt-lab-$n"
	ip link set "zt-lab-$n" master zt-lab-br up
	ip -n "zt-lab-$n" link set lo up
	ip -n "zt-lab-$n" link set eth0 up
	ip -n "zt-lab-$n" addr add "198.18.0.$i/24" dev eth0
	mkdir -p "$lab/$n"
	i=$((i + 10))
done

# the planet: one root, at 198.18.0.1
./zt-idtool generate "$lab/root/identity.secret" "$lab/root/identity.public" > /dev/null
./zt-mkworld keygen "$lab/world.key" > /dev/null
cat > "$lab/planet.yaml" <<YAML
type: planet
id: 0x1ab
signing-key: $lab/world.key
roots:
  - identity: $lab/root/identity.public
    endpoints: ["198.18.0.1/9993"]
YAML
./zt-mkworld make "$lab/planet.yaml" "$lab/planet" > /dev/null

# start_node NAME [extra YAML]
start_node() {
	n=$1
	cp "$lab/planet" "$lab/$n/planet"
	cat > "$lab/$n/ztd.yaml" <<YAML
node: { home: $lab/$n }
transports:
  - { use: udp, listen: ["0.0.0.0:9993"] }
services:
  - { use: api }
${2:-}
YAML
	ip netns exec "zt-lab-$n" ./ztd -c "$lab/$n/ztd.yaml" > "$lab/$n/log" 2>&1 &
	echo $! > "$lab/$n/pid"
	for t in $(seq 50); do [ -s "$lab/$n/authtoken.secret" ] && break; sleep 0.1; done
}
cli() { _n=$1; shift; ip netns exec "zt-lab-$_n" ./zt-cli -D "$lab/$_n" "$@"; }
api() {
	_n=$1; shift
	ip netns exec "zt-lab-$_n" curl -s -H "X-ZT1-Auth: $(cat "$lab/$_n/authtoken.secret")" \
		-H 'Content-Type: application/json' "$@"
}

start_node root
start_node ctl "  - { use: controller }"
ctl=$(cut -c1-10 "$lab/ctl/identity.public")
net=$(api ctl -X POST -d '{"name":"lab","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.1.10","ipRangeEnd":"198.19.1.250"}],
	"routes":[{"target":"198.19.1.0/24"}]}' "http://127.0.0.1:9993/controller/network/${ctl}______" |
	sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
[ -n "$net" ] || { echo "lab: the controller made no network; its log:" >&2; tail -20 "$lab/ctl/log" >&2; exit 1; }
echo "lab: the controller created network $net"
for n in a b; do
	start_node "$n" "networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
done
sleep 2
for n in a b; do
	addr=$(cut -c1-10 "$lab/$n/identity.public")
	api ctl -X POST -d '{"authorized":true}' "http://127.0.0.1:9993/controller/network/$net/member/$addr" > /dev/null
	echo "lab: authorized $n ($addr)"
done
echo "lab: waiting for the nodes to get their addresses"
for n in a b; do
	for t in $(seq 60); do cli "$n" listnetworks | grep -q " OK " && break; sleep 1; done
	cli "$n" listnetworks | tail -1
done
ipb=$(cli b listnetworks | tail -1 | awk '{print $NF}' | cut -d/ -f1)
echo "lab: a pings b at $ipb over the virtual LAN"
if ! ip netns exec zt-lab-a ping -c 4 -W 2 "$ipb"; then
	echo "lab: a cannot reach b; the logs are $lab/<node>/log, a's ends:" >&2
	tail -20 "$lab/a/log" >&2
	exit 1
fi
cli a peers
cat <<EOF2

lab: running.  Logs and homes are in $lab/<node>; network $net.
  a shell in node a:    ip netns exec zt-lab-a sh        (its port is zt0)
  its networks:         ip netns exec zt-lab-a $build/zt-cli -D $lab/a listnetworks
  tear it down:         $0 stop
EOF2
