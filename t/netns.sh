# Network-namespace lab for zt's end-to-end tests.  Source after tap.sh.
#
# Every name carries the test's PID so parallel tests do not collide, and
# everything is removed by ns_cleanup (installed as the EXIT trap).  Only
# 198.18.0.0/15 and 2001:db8::/32 are used on the underlay.
#
#   ns_require               skip unless root with ip and nft
#   ns_bridge                the shared underlay bridge
#   ns_host NAME ADDR...     a namespace on the bridge with these addresses
#   ns_nat NAME WAN LAN KIND a NAT router: WAN address on the bridge, LAN
#                            subnet gateway; KIND cone or symmetric
#   ns_behind NAME NAT ADDR  a namespace on the NAT's LAN
#   zt_root/zt_leaf ...      start ztd in a namespace (see below)

. "$srcdir/t/store.sh"
ns_id=$$
ns_list=""
ns_pids=""
ns_tmp=$(mktemp -d /tmp/zt-netns.XXXXXX) || bail "mktemp"
# ztd hands a pushed DNS to systemd-resolved on the system bus: never to
# the host's, whose links are not those of the test's namespaces
# (t/net-resolved.sh points it at a bus of its own)
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$ns_tmp/no-system-bus"
ns_br=ztbr$ns_id

ns_cleanup() {
	for p in $ns_pids; do kill "$p" 2>/dev/null; done
	for p in $ns_pids; do wait "$p" 2>/dev/null; done
	for n in $ns_list; do ip netns del "$n" 2>/dev/null; done
	ip link del "$ns_br" 2>/dev/null
	zt_store_cleanup
	if [ -n "${ZT_KEEP_LAB:-}" ]; then echo "# kept $ns_tmp"; else rm -rf "$ns_tmp"; fi
}
trap ns_cleanup EXIT
trap 'exit 1' INT TERM

ns_require() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (CAP_NET_ADMIN) for network namespaces"
	command -v ip > /dev/null || skip_all "needs iproute2 (apt-get install iproute2)"
	command -v nft > /dev/null || skip_all "needs nftables (apt-get install nftables)"
	ip netns add "ztprobe$ns_id" 2>/dev/null || skip_all "cannot create network namespaces here"
	ip netns del "ztprobe$ns_id"
}

ns_name() { echo "zt$1$ns_id"; }

# ns_framecheck: fc, the path of t/framecheck (built by make check)
ns_framecheck() {
	fc=$builddir/t/framecheck
	[ -x "$fc" ] || bail "no $fc (make check builds it)"
}

ns_bridge() {
	ip link add "$ns_br" type bridge || bail "cannot create bridge"
	ip link set "$ns_br" up
}

# ns_link NS IFNAME BRIDGE-OR-NS: a veth from NS (named IFNAME) to a bridge
ns_netns() {
	n=$(ns_name "$1")
	ip netns add "$n" || bail "ip netns add $n"
	ns_list="$ns_list $n"
	ip -n "$n" link set lo up
}

ns_addrs() {
	# ns_addrs NS IF ADDR...
	n=$(ns_name "$1"); dev=$2; shift 2
	for a; do
		case $a in
		*:*) ip -n "$n" addr add "$a" dev "$dev" nodad ;;
		*) ip -n "$n" addr add "$a" dev "$dev" ;;
		esac
	done
}

ns_host() {
	name=$1; shift
	ns_netns "$name"
	ip link add "v$name$ns_id" type veth peer name eth0 netns "$(ns_name "$name")"
	ip link set "v$name$ns_id" master "$ns_br" up
	ip -n "$(ns_name "$name")" link set eth0 up
	ns_addrs "$name" eth0 "$@"
}

ns_nat() {
	# ns_nat NAME WAN-ADDR/len LAN-GW/len cone|symmetric
	ns_host "$1" "$2"
	n=$(ns_name "$1")
	ip netns exec "$n" sysctl -q -w net.ipv4.ip_forward=1
	random=""
	[ "$4" = symmetric ] && random="fully-random"
	# Like a home gateway: masquerade out of the WAN port, and drop what
	# nobody inside asked for (a dropped packet leaves no conntrack entry
	# that could take the port of a later outgoing mapping).
	ip netns exec "$n" nft -f - <<NFT || bail "nft in $n"
table ip nat {
	chain post {
		type nat hook postrouting priority 100; policy accept;
		oifname "eth0" masquerade $random
	}
}
table ip filter {
	chain input {
		type filter hook input priority 0; policy accept;
		iifname "eth0" ct state new drop
	}
	chain forward {
		type filter hook forward priority 0; policy accept;
		iifname "eth0" ct state new drop
	}
}
NFT
	eval "ns_lan_gw_$1=${3%/*}"
	eval "ns_lan_cidr_$1=$3"
}

ns_behind() {
	# ns_behind NAME NAT ADDR/len: a host on the NAT's LAN, routed through it
	ns_netns "$1"
	ip link add "l$1$ns_id" netns "$(ns_name "$2")" type veth peer name eth0 netns "$(ns_name "$1")"
	ip -n "$(ns_name "$2")" link set "l$1$ns_id" up
	eval "ns_addrs $2 l$1$ns_id \$ns_lan_cidr_$2"
	ip -n "$(ns_name "$1")" link set eth0 up
	ns_addrs "$1" eth0 "$3"
	eval "ip -n $(ns_name "$1") route add default via \$ns_lan_gw_$2"
}

ns_exec() { n=$(ns_name "$1"); shift; ip netns exec "$n" "$@"; }

# ---- zt nodes ----

# zt_world ROOT-NAME ENDPOINT...: a planet whose one root is ROOT-NAME
zt_world() {
	root=$1; shift
	mkdir -p "$ns_tmp/$root"
	"$builddir/zt-idtool" generate "$ns_tmp/$root/identity.secret" "$ns_tmp/$root/identity.public" > /dev/null ||
		bail "zt-idtool generate"
	"$builddir/zt-mkworld" keygen "$ns_tmp/world.key" > /dev/null || bail "zt-mkworld keygen"
	{
		echo "type: planet"
		echo "id: 0x5a7e57"
		echo "signing-key: $ns_tmp/world.key"
		echo "roots:"
		echo "  - identity: $ns_tmp/$root/identity.public"
		printf '    endpoints: ['
		sep=""
		for e; do printf '%s"%s"' "$sep" "$e"; sep=", "; done
		echo "]"
	} > "$ns_tmp/planet.yaml"
	"$builddir/zt-mkworld" make "$ns_tmp/planet.yaml" "$ns_tmp/planet" > /dev/null || bail "zt-mkworld make"
}

# zt_moon ROOT-NAME ENDPOINT: a moon whose one root is ROOT-NAME, made
# into $ns_tmp/ROOT-NAME/moons.d/$moon_id.moon (moon_id: the root's
# address, 16 digits); the status is zt-mkworld's
zt_moon() {
	mkdir -p "$ns_tmp/$1/moons.d"
	"$builddir/zt-idtool" generate "$ns_tmp/$1/identity.secret" "$ns_tmp/$1/identity.public" > /dev/null ||
		bail "zt-idtool generate"
	"$builddir/zt-mkworld" keygen "$ns_tmp/moon.key" > /dev/null || bail "zt-mkworld keygen"
	cat > "$ns_tmp/moon.yaml" <<YAML
type: moon
signing-key: $ns_tmp/moon.key
roots:
  - identity: $ns_tmp/$1/identity.public
    endpoints: ["$2"]
YAML
	moon_id=$(printf '%016x' 0x$(zt_address "$1"))
	"$builddir/zt-mkworld" make "$ns_tmp/moon.yaml" "$ns_tmp/$1/moons.d/$moon_id.moon" > /dev/null
}

# zt_start NAME [LISTEN...]: ztd in namespace NAME with home $ns_tmp/NAME,
# the planet, udp on LISTEN (default 0.0.0.0:9993), the api on loopback;
# $zt_node_extra adds keys to the node section, $zt_planet names another
# planet file to start with, $zt_services adds service lines ("  - { use: ... }")
# and $zt_networks a networks: section; $zt_transports adds transport
# lines and zt_udp=off leaves the udp transport out.
#
# With ZT_FASTPATH=off in the environment every node runs with each
# data-path technique switched off (zt_slow_*): no batching, no UDP GSO/GRO,
# no TAP offloads or GRO, Salsa20/12-Poly1305 only.  ZT_WORKERS=N runs
# every node with N data-path loops (node workers).
zt_slow_node=", cipher: salsa2012"
zt_slow_udp=", batch: 1, gso: false, gro: false"
zt_slow_tap=", batch: 1, offload: false, gro: false"
zt_start() {
	name=$1; shift
	[ $# -gt 0 ] || set -- "0.0.0.0:9993"
	home=$ns_tmp/$name
	mkdir -p "$home"
	cp "${zt_planet:-$ns_tmp/planet}" "$home/planet"
	listen=""
	sep=""
	for l; do listen="$listen$sep\"$l\""; sep=", "; done
	node_opts="" udp_opts="" networks=${zt_networks:-}
	[ -n "${ZT_WORKERS:-}" ] && node_opts="$node_opts, workers: $ZT_WORKERS"
	if [ "${ZT_FASTPATH:-on}" = off ]; then
		node_opts="$node_opts$zt_slow_node" udp_opts=$zt_slow_udp
		networks=$(printf '%s\n' "$networks" | sed "s/use: tap\\([, }]\\)/use: tap$zt_slow_tap\\1/")
	fi
	# zt_udp=off leaves the udp transport out; zt_transports adds lines
	udp_line="  - { use: udp, listen: [$listen]$udp_opts }"
	[ "${zt_udp:-on}" = off ] && udp_line=""
	cat > "$home/ztd.yaml" <<YAML
node: { home: $home, log-level: debug${zt_node_extra:+, $zt_node_extra}$node_opts }
transports:
$udp_line
${zt_transports:-}
${zt_nat:+nat:
$zt_nat}
services:
  - { use: api, listen: ["127.0.0.1:9993"] }
${zt_services:-}
$networks
YAML
	starts=$(grep -c "info: started" "$home/log" 2>/dev/null)
	# ip netns exec execs ztd itself, so $! is ztd's pid
	ip netns exec "$(ns_name "$name")" "$ZTD" -c "$home/ztd.yaml" >> "$home/log" 2>&1 &
	eval "zt_pid_$name=$!"
	ns_pids="$ns_pids $!"
	for i in $(seq 300); do
		[ -s "$home/authtoken.secret" ] && [ "$(grep -c "info: started" "$home/log")" -gt "${starts:-0}" ] &&
			return 0
		kill -0 $! 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/# /' "$home/log"
	bail "ztd in $name did not start"
}

zt_stop() {
	eval "pid=\$zt_pid_$1"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

zt_address() { cut -c1-10 "$ns_tmp/$1/identity.public"; }

# zt_api NAME [curl args] PATH
zt_api() {
	name=$1; shift
	ns_exec "$name" curl -s -m 5 -H "X-ZT1-Auth: $(cat "$ns_tmp/$name/authtoken.secret")" "$@"
}

# zt_wait SECONDS COMMAND...: retry COMMAND every 0.5 s until it succeeds
zt_wait() {
	deadline=$(( $(date +%s) + $1 )); shift
	while ! "$@" > /dev/null 2>&1; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.5
	done
}

# zt_direct NAME PEER-NAME: NAME has a preferred direct path to PEER
zt_direct() {
	zt_api "$1" "http://127.0.0.1:9993/peer/$(zt_address "$2")" | grep -q '"preferred":true'
}

# zt_knows NAME PEER-NAME: NAME has a peer object for PEER
zt_knows() {
	zt_api "$1" "http://127.0.0.1:9993/peer/$(zt_address "$2")" | grep -q '"address"'
}

# zt_online NAME: NAME has heard from its root
zt_online() {
	zt_api "$1" http://127.0.0.1:9993/status | grep -q '"online":true'
}

# zt_echo NAME PEER-NAME: send an ECHO, then succeed once the peer is known
zt_echo() {
	zt_api "$1" -X POST "http://127.0.0.1:9993/peer/$(zt_address "$2")/echo" > /dev/null
	zt_api "$1" "http://127.0.0.1:9993/peer/$(zt_address "$2")" | grep -q '"address"'
}

# zt_counter NAME COUNTER: the core counter's value, via SIGUSR1 and the log
# zt_counters_dump NAME: ztd in NAME logs its counters (SIGUSR1); waits for them
zt_counters_dump() {
	eval "pid=\$zt_pid_$1"
	before=$(grep -c 'counters:' "$ns_tmp/$1/log")
	kill -USR1 "$pid"
	for i in $(seq 50); do
		[ "$(grep -c 'counters:' "$ns_tmp/$1/log")" -gt "$before" ] && break
		sleep 0.1
	done
}
# zt_counter NAME KEY: the latest value of a counter of NAME's core;
# zt_module_counter NAME KEY: of any of its modules or networks
zt_counter() {
	zt_counters_dump "$1"
	grep 'ztd: info: counters:' "$ns_tmp/$1/log" | tail -1 | tr ' ' '\n' | sed -n "s/^$2=//p" | grep . || echo 0
}
zt_module_counter() {
	zt_counters_dump "$1"
	grep -o " $2=[0-9]*" "$ns_tmp/$1/log" | tail -1 | cut -d= -f2 | grep . || echo 0
}

# zt_lab NAME:N...: the lab of the networks tests on one bridge: the root
# at 198.18.0.1, a controller "ctl" at 198.18.0.2 (both started) and hosts
# NAME at 198.18.0.N (not started).
zt_lab() {
	ns_bridge
	for h in root:1 ctl:2 "$@"; do ns_host "${h%:*}" "198.18.0.${h#*:}/24"; done
	zt_world root 198.18.0.1/9993
	zt_start root
	zt_services=$(zt_ctl_service) zt_start ctl
}
# zt_ctl_service: the services line of a controller on the store
# ZT_TEST_STORE names (t/store.sh), the same database on every restart
zt_ctl_service() {
	mkdir -p "$ns_tmp/ctl-store"
	echo "  - { use: controller, store: $(zt_store_stanza "$ns_tmp/ctl-store") }"
}
# ctl_api [curl args] URL: ctl's API with JSON bodies
ctl_api() { zt_api ctl -H 'Content-Type: application/json' "$@"; }
# zt_ctl_network JSON: a new network on ctl; prints its id
zt_ctl_network() {
	ctl_api -X POST -d "$1" "http://127.0.0.1:9993/controller/network/$(zt_address ctl)______" | jq -r .id
}

# zt_tap_network NAME N: a private network NAME on ctl that assigns
# addresses of 198.19.N.0/24; sets net (its id) and zt_networks (joining
# it on a tap zt0)
zt_tap_network() {
	net=$(zt_ctl_network "{\"name\":\"$1\",\"private\":true,\"v4AssignMode\":{\"zt\":true},
		\"ipAssignmentPools\":[{\"ipRangeStart\":\"198.19.$2.10\",\"ipRangeEnd\":\"198.19.$2.100\"}],
		\"routes\":[{\"target\":\"198.19.$2.0/24\"}]}")
	zt_networks="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
}

# For the network whose id is in $net:
# zt_authorize true|false NAME...: (de)authorize members on ctl
zt_authorize() {
	auth=$1; shift
	for n; do
		ctl_api -X POST -d "{\"authorized\":$auth}" \
			"http://127.0.0.1:9993/controller/network/$net/member/$(zt_address "$n")" > /dev/null
	done
}
# zt_net_status NAME: its status at NAME; zt_is_status NAME STATUS
zt_net_status() { zt_api "$1" "http://127.0.0.1:9993/network/$net" | jq -r .status; }
zt_is_status() { [ "$(zt_net_status "$1")" = "$2" ]; }
# zt_net_ip NAME: NAME's first assigned address, without the prefix
zt_net_ip() { zt_api "$1" "http://127.0.0.1:9993/network/$net" | jq -r '.assignedAddresses[0]' | cut -d/ -f1; }
# zt_has_ip NAME: NAME has an address on the network
zt_has_ip() { has_ip=$(zt_net_ip "$1"); [ -n "$has_ip" ] && [ "$has_ip" != null ]; }
# zt_set_rules JSON: the network's flow rules, set on ctl
zt_set_rules() { ctl_api -X POST -d "{\"rules\":$1}" "http://127.0.0.1:9993/controller/network/$net" > /dev/null; }

# zt_inst_counter NAME INSTANCE KEY: the latest value of one instance's counter
zt_inst_counter() {
	zt_counters_dump "$1"
	grep "info: $2: counters:" "$ns_tmp/$1/log" | tail -1 | tr ' ' '\n' | sed -n "s/^$3=//p" | grep . || echo 0
}

zt_log() { sed 's/^/#   /' "$ns_tmp/$1/log"; }

# ns_capture NAME DEV FILTER: tcpdump on NAME's DEV into $ns_tmp/NAME.cap,
# stopped with the test; returns once it listens
ns_capture() {
	ns_exec "$1" tcpdump -l -n -i "$2" "$3" > "$ns_tmp/$1.cap" 2> "$ns_tmp/$1.err" &
	ns_pids="$ns_pids $!"
	zt_wait 20 grep -q "listening on" "$ns_tmp/$1.err" || bail "tcpdump on $1 did not start: $(cat "$ns_tmp/$1.err")"
}

# ---- a home gateway with UPnP IGD, NAT-PMP and PCP (miniupnpd) ----
#
# ns_upnp_router NAME WAN-ADDR/len LAN-GW/len STUN-NAME: a NAT router like
# ns_nat's symmetric one (masquerade fully-random of the LAN's traffic),
# with the tables and chains miniupnpd-nftables fills (table inet ztupnp),
# and a STUN host STUN-NAME on the bridge (198.18.0.3): miniupnpd refuses
# to map on an external address it thinks reserved (198.18.0.0/15 is)
# unless STUN tells it that it is reachable.  ns_miniupnpd NAME starts
# miniupnpd there (config written here), ns_miniupnpd_stop NAME stops it
# (its rules stay: as for a gateway that reboots, ns_gateway_reboot NAME
# also empties its chains); ns_upnp_rules NAME prints its DNAT chain.
ns_upnp_router() {
	ns_host "$1" "$2"
	n=$(ns_name "$1")
	ip netns exec "$n" sysctl -q -w net.ipv4.ip_forward=1
	ip netns exec "$n" nft -f - <<NFT || bail "nft in $n"
table inet ztupnp {
	chain forward {
		type filter hook forward priority 0; policy accept;
		jump miniupnpd
		iifname "eth0" ct state new drop
	}
	chain miniupnpd { }
	chain prerouting {
		type nat hook prerouting priority -100; policy accept;
		jump prerouting_miniupnpd
	}
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
		jump postrouting_miniupnpd
		oifname "eth0" ip saddr $3 masquerade fully-random
	}
	chain prerouting_miniupnpd { }
	chain postrouting_miniupnpd { }
}
NFT
	eval "ns_lan_gw_$1=${3%/*}"
	eval "ns_lan_cidr_$1=$3"
	if [ -z "${ns_stun_up:-}" ]; then
		ns_stun_up=1
		ns_host "$4" 198.18.0.3/24
		# ip netns exec execs python, so $! is the server itself
		ip netns exec "$(ns_name "$4")" python3 "$srcdir/t/stun.py" 198.18.0.3 3478 &
		ns_pids="$ns_pids $!"
	fi
}

# ns_miniupnpd NAME LAN-IFNAME: start miniupnpd on router NAME serving the
# LAN behind LAN-IFNAME (ns_behind names it l<host>$ns_id)
ns_miniupnpd() {
	conf=$ns_tmp/miniupnpd-$1.conf
	cat > "$conf" <<CONF
ext_ifname=eth0
listening_ip=$2
http_port=0
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=no
min_lifetime=2
ext_perform_stun=yes
ext_stun_host=198.18.0.3
ext_stun_port=3478
upnp_table_name=ztupnp
upnp_nat_table_name=ztupnp
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07d
allow 1024-65535 198.18.0.0/15 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
	starts=$(grep -c "Listening for NAT-PMP/PCP" "$ns_tmp/miniupnpd-$1.log" 2>/dev/null)
	ip netns exec "$(ns_name "$1")" miniupnpd -d -f "$conf" -P "$ns_tmp/miniupnpd-$1.pid" \
		>> "$ns_tmp/miniupnpd-$1.log" 2>&1 &
	eval "ns_miniupnpd_pid_$1=$!"
	ns_pids="$ns_pids $!"
	# ready once STUN said it may map and it listens for NAT-PMP/PCP
	for i in $(seq 200); do
		[ "$(grep -c "Listening for NAT-PMP/PCP" "$ns_tmp/miniupnpd-$1.log")" -gt "${starts:-0}" ] &&
			[ "$(grep -c "Port forwarding is now enabled" "$ns_tmp/miniupnpd-$1.log")" -gt "${starts:-0}" ] &&
			return 0
		sleep 0.1
	done
	sed 's/^/# /' "$ns_tmp/miniupnpd-$1.log"
	bail "miniupnpd in $1 did not start"
}

ns_miniupnpd_stop() {
	eval "pid=\$ns_miniupnpd_pid_$1"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

ns_gateway_reboot() {
	ns_miniupnpd_stop "$1"
	for c in miniupnpd prerouting_miniupnpd postrouting_miniupnpd; do
		ns_exec "$1" nft flush chain inet ztupnp $c
	done
	ns_miniupnpd "$1" "$2"
}

ns_upnp_rules() {
	ns_exec "$1" nft list chain inet ztupnp prerouting_miniupnpd
}
