#!/bin/sh
# Set everything up, build zt, and run its lab on this machine: a root and
# two leaves, each in its own network namespace on one bridge (underlay
# 198.18.0.0/24).  The leaves register with the root, find each other
# through it and end up talking directly.  The lab stays up; the last
# lines say how to look at it and how to tear it down.
#
#   scripts/lab.sh          build and start the lab
#   scripts/lab.sh stop     tear it down
#
# The virtual LAN between the leaves (networks, the controller, TAP ports)
# is not built yet: today the lab shows the peer-to-peer layer.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ZT_BUILD_ROOT:-$top/_build}/lab
lab=/tmp/zt-lab
nodes="root a b"

stop() {
	for n in $nodes; do
		[ -f "$lab/$n/pid" ] && kill "$(cat "$lab/$n/pid")" 2>/dev/null || true
		ip netns del "zt-lab-$n" 2>/dev/null || true
	done
	ip link del zt-lab-br 2>/dev/null || true
	rm -rf "$lab"
}
if [ "${1:-}" = stop ]; then
	stop
	echo "lab: stopped"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "lab: run as root (it makes network namespaces)" >&2; exit 1; }

"$top/scripts/setup.sh"
(cd "$top" && ./autogen.sh > /dev/null 2>&1)
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" -q
echo "lab: building zt in $build"
make -j"$(nproc)" > make.log 2>&1 || { tail -30 make.log; exit 1; }
export ZT_MODULE_PATH="$build/transports/udp/.libs:$build/modules/api/.libs"

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

for n in $nodes; do
	cp "$lab/planet" "$lab/$n/planet"
	cat > "$lab/$n/ztd.yaml" <<YAML
node: { home: $lab/$n }
transports:
  - { use: udp, listen: ["0.0.0.0:9993"] }
services:
  - { use: api }
YAML
	ip netns exec "zt-lab-$n" ./ztd -c "$lab/$n/ztd.yaml" > "$lab/$n/log" 2>&1 &
	echo $! > "$lab/$n/pid"
	sleep 1
done

cli() { n=$1; shift; ip netns exec "zt-lab-$n" ./zt-cli -D "$lab/$n" "$@"; }
echo "lab: waiting for the leaves to register with the root"
for n in a b; do
	for t in $(seq 30); do cli "$n" info 2>/dev/null | grep -q ONLINE && break; sleep 1; done
	cli "$n" info
done
b=$(cut -c1-10 "$lab/b/identity.public")
echo "lab: a pings b (through the root first, then directly)"
cli a ping "$b" -t 10 || true
sleep 2
cli a ping "$b" -t 10 || true
cli a peers
cat <<EOF2

lab: running.  Logs and homes are in $lab/<node>.
  a shell in a node:    ip netns exec zt-lab-a sh
  its peers:            ip netns exec zt-lab-a $build/zt-cli -D $lab/a peers
  tear it down:         $0 stop
EOF2
