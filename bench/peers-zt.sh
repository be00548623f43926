# bench/peers-zt.sh: zt as one more system for the overlay peers harness
# (peers.sh, the side-by-side benchmark of tinc, wireguard-go, nebula,
# OpenVPN...).  A plug-in in the harness's peers.d format: it only defines
# shell functions; peers.sh sources it.
#
# peers.sh loads every *.sh in its own peers.d/ and in the directory named by
# $PEERS_D, so no copy of the harness is needed.  Give it a directory holding
# this file (a symlink will do), and an output path, since the harness's own
# results file may be read-only.  As root, after building zt:
#
#   mkdir -p /tmp/zt-peers.d && ln -sf "$PWD/bench/peers-zt.sh" /tmp/zt-peers.d/
#   ZT_BUILD=$PWD/_build/lab PEERS_D=/tmp/zt-peers.d \
#       /path/to/bench/peers.sh --install -o /tmp/results-peers.md raw tinc zt
#
# (If a harness reads only its own peers.d, copy it somewhere writable with
# its peers.d and put this file there as peers.d/zt.sh.)
#
#   ZT_BUILD   a built zt tree (default: _build/lab of the checkout this file
#              is in, the one scripts/lab.sh builds)
#   ZT_MTU     the network's MTU (default: the controller's, 2800); e.g. 1500
#              to match the MTU the TAP systems (tinc, OpenVPN) use
#
# Besides "zt" (every data-path technique on, the defaults) it defines
# systems with one technique switched off, to show what each one buys;
# name them on the command line (only "zt" is in the default list):
#
#   zt-no-batch    one datagram per system call (udp batch: 1), one TAP read
#                  per wakeup (tap batch: 1)
#   zt-no-offload  TAP without vnet headers: no TSO/checksum offload from the
#                  host, no coalescing on delivery (tap offload: false)
#   zt-no-tapgro   TAP offloads on, but segments delivered one by one
#                  (tap gro: false)
#   zt-no-udpgso   no UDP_SEGMENT sends nor UDP_GRO receives (udp gso: false,
#                  gro: false)
#   zt-salsa       Salsa20/12-Poly1305 instead of AES-GMAC-SIV
#                  (node cipher: salsa2012)
#   zt-no-busypoll the loop sleeps as soon as it has nothing to do, instead of
#                  polling for a while after traffic (node busy-poll: 0)
#   zt-all-off     all of the above at once
#   zt-workers     a data-path loop per CPU instead of one (node workers:
#                  auto; not a technique switched off, the one switched on)
#   zt-workers2    two data-path loops (node workers: 2); "zt" is workers: 1
#   zt-ref, zt-ref-salsa   "zt" and "zt-salsa" from another build, ZT_BUILD_REF
#                  (e.g. main's, for a before/after in one run:
#                  ZT_BUILD_REF=/path/to/main/_build/plain ... raw zt zt-ref)
#
# Topology inside the harness's two namespaces: a root and a network
# controller run in namespace A on other UDP ports (9994, 9995) and are not
# measured; members a (ns A, udp 9993) and b (ns B, udp 9993) join a private
# network with TAP ports "pbzt", and the controller gives them the harness's
# overlay addresses ($OVL_A, $OVL_B) as static assignments.  Only a's and
# b's ztd are measured (RSS, CPU).  Traffic flows a <-> b on a direct path.

register_system zt

zt_build_dir() {
	local here
	here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
	echo "${ZT_BUILD:-$here/../_build/lab}"
}

# Options of the measured members a and b, set by each variant below.
ZT_NODE_OPTS="" ZT_UDP_OPTS="" ZT_TAP_OPTS="" ZT_WHAT="every technique on"

sys_zt_pkgs() { echo curl jq; }
sys_zt_version() { "$(zt_build_dir)/ztd" --version 2>/dev/null | head -n1; }
sys_zt_note() {
	echo "L2 TAP, private network (root and controller in ns A, not measured), MTU ${ZT_MTU:-2800}, direct path; $ZT_WHAT"
}
sys_zt_check() {
	local b m
	b=$(zt_build_dir)
	for m in ztd zt-idtool zt-mkworld; do
		[ -x "$b/$m" ] || { echo "no $b/$m: build zt and set ZT_BUILD to the build dir"; return 1; }
	done
	[ -c /dev/net/tun ] || { echo "no /dev/net/tun"; return 1; }
	need_cmd curl jq
}

# zt_node NAME SIDE UDP-PORT API-PORT [YAML lines]: start a ztd
zt_node() {
	local name=$1 side=$2 udp=$3 apiport=$4 extra=${5:-} home=$SYSDIR/zt-$1 i
	local node_opts="" udp_opts=""
	if [ "$name" = a ] || [ "$name" = b ]; then
		node_opts=$ZT_NODE_OPTS udp_opts=$ZT_UDP_OPTS
	fi
	mkdir -p "$home"
	cp "$SYSDIR/zt-planet" "$home/planet"
	cat >"$home/ztd.yaml" <<YAML
node: { home: $home$node_opts }
transports:
  - { use: udp, listen: ["0.0.0.0:$udp"]$udp_opts }
services:
  - { use: api, listen: ["127.0.0.1:$apiport"] }
$extra
YAML
	if [ "$name" = a ] || [ "$name" = b ]; then
		spawn "$side" "ztd-$name" "$(zt_build_dir)/ztd" -c "$home/ztd.yaml"
	else
		spawn_aux "$side" "ztd-$name" "$(zt_build_dir)/ztd" -c "$home/ztd.yaml"
	fi
	for ((i = 0; i < 100; i++)); do
		[ -s "$home/authtoken.secret" ] && return 0
		sleep 0.1
	done
	echo "ztd $name did not start"
	return 1
}
zt_addr() { cut -c1-10 "$SYSDIR/zt-$1/identity.public"; }
zt_curl() {	# zt_curl NAME [curl args] URL-PATH
	local name=$1 side port; shift
	case $name in root) side=a port=9894 ;; ctl) side=a port=9895 ;; a) side=a port=9993 ;; b) side=b port=9993 ;; esac
	in_ns "$side" curl -s -m 5 -H "X-ZT1-Auth: $(cat "$SYSDIR/zt-$name/authtoken.secret")" \
		-H 'Content-Type: application/json' "${@:1:$#-1}" "http://127.0.0.1:$port${*: -1}"
}

sys_zt_up() {
	local b net s mtu=""
	b=$(zt_build_dir)
	export ZT_MODULE_PATH="$(make -s --no-print-directory -C "$b" module-path | tail -1)"
	mkdir -p "$SYSDIR/zt-root"
	"$b/zt-idtool" generate "$SYSDIR/zt-root/identity.secret" "$SYSDIR/zt-root/identity.public" >/dev/null || return 1
	"$b/zt-mkworld" keygen "$SYSDIR/zt-world.key" >/dev/null || return 1
	cat >"$SYSDIR/zt-planet.yaml" <<YAML
type: planet
id: 0xbe7d
signing-key: $SYSDIR/zt-world.key
roots:
  - identity: $SYSDIR/zt-root/identity.public
    endpoints: ["$UNDER_A/9994"]
YAML
	"$b/zt-mkworld" make "$SYSDIR/zt-planet.yaml" "$SYSDIR/zt-planet" >/dev/null || return 1
	zt_node root a 9994 9894 || return 1
	zt_node ctl a 9995 9895 "  - { use: controller }" || return 1
	[ -n "${ZT_MTU:-}" ] && mtu=",\"mtu\":$ZT_MTU"
	net=$(zt_curl ctl -X POST -d "{\"name\":\"peers\",\"private\":true$mtu,
		\"routes\":[{\"target\":\"${OVL_A%.*}.0/$OVL_PLEN\"}]}" \
		"/controller/network/$(zt_addr ctl)______" | jq -r .id)
	[ -n "$net" ] && [ "$net" != null ] || { echo "the controller made no network"; return 1; }
	echo "$net" >"$SYSDIR/zt-net"
	# identities first, so the members are authorized before they ask
	for s in a b; do
		mkdir -p "$SYSDIR/zt-$s"
		"$b/zt-idtool" generate "$SYSDIR/zt-$s/identity.secret" "$SYSDIR/zt-$s/identity.public" >/dev/null ||
			return 1
		zt_curl ctl -X POST -d "{\"authorized\":true,\"ipAssignments\":[\"$(ovl_of "$s")\"]}" \
			"/controller/network/$net/member/$(zt_addr "$s")" >/dev/null || return 1
	done
	for s in a b; do
		zt_node "$s" "$s" 9993 9993 "networks:
  - id: \"$net\"
    iface: { use: tap, name: pbzt$ZT_TAP_OPTS }" || return 1
	done
	wait_for 60 zt_has_addr a || { echo "a's pbzt got no address"; return 1; }
	wait_for 60 zt_has_addr b || { echo "b's pbzt got no address"; return 1; }
}
zt_has_addr() { in_ns "$1" ip -4 -o addr show dev pbzt | grep -q " $(ovl_of "$1")/"; }
zt_direct() { zt_curl "$1" "/peer/$(zt_addr "$2")" | grep -q '"preferred":true'; }
zt_both_direct() { in_ns a ping -c 1 -W 1 -q "$OVL_B" && zt_direct a b && zt_direct b a; }
# Ready once a and b talk on a direct path, not through the root.
sys_zt_ready() { wait_for 30 zt_both_direct || { echo "a and b found no direct path"; return 1; }; }

# zt_variant NAME WHAT NODE-OPTS UDP-OPTS TAP-OPTS: system NAME is zt with
# these extra options (", key: value" lists) on a and b.
zt_variant() {
	local fn=${1//-/_} f
	for f in pkgs version check ready; do
		eval "sys_${fn}_$f() { sys_zt_$f; }"
	done
	eval "sys_${fn}_note() { ZT_WHAT='$2'; sys_zt_note; }"
	eval "sys_${fn}_up() { ZT_NODE_OPTS='$3' ZT_UDP_OPTS='$4' ZT_TAP_OPTS='$5'; sys_zt_up; }"
}
zt_variant zt-no-batch "no batching (udp and tap batch: 1)" "" ", batch: 1" ", batch: 1"
zt_variant zt-no-offload "no TAP offloads (tap offload: false)" "" "" ", offload: false"
zt_variant zt-no-tapgro "no TAP GRO (tap gro: false)" "" "" ", gro: false"
zt_variant zt-no-udpgso "no UDP GSO/GRO (udp gso: false, gro: false)" "" ", gso: false, gro: false" ""
zt_variant zt-salsa "Salsa20/12-Poly1305 (cipher: salsa2012)" ", cipher: salsa2012" "" ""
zt_variant zt-workers "one data-path loop per CPU (node workers: auto)" ", workers: auto" "" ""
zt_variant zt-workers2 "two data-path loops (node workers: 2)" ", workers: 2" "" ""
zt_variant zt-no-busypoll "no busy-poll after traffic (busy-poll: 0)" ", busy-poll: 0" "" ""
zt_variant zt-all-off "every technique off" ", cipher: salsa2012, busy-poll: 0" ", batch: 1, gso: false, gro: false" \
	", batch: 1, offload: false"

# zt_ref NAME NODE-OPTS: system NAME is zt built in $ZT_BUILD_REF with these
# node options on a and b (each system runs in a subshell of its own).
zt_ref() {
	local fn=${1//-/_}
	eval "sys_${fn}_pkgs() { sys_zt_pkgs; }"
	eval "sys_${fn}_ready() { sys_zt_ready; }"
	eval "sys_${fn}_check() { [ -n \"\${ZT_BUILD_REF:-}\" ] || { echo 'set ZT_BUILD_REF to the other build'; return 1; }; ZT_BUILD=\$ZT_BUILD_REF; sys_zt_check; }"
	eval "sys_${fn}_version() { ZT_BUILD=\$ZT_BUILD_REF; sys_zt_version; }"
	eval "sys_${fn}_note() { ZT_WHAT=\"the build in \$ZT_BUILD_REF${2:+ (node$2)}\"; sys_zt_note; }"
	eval "sys_${fn}_up() { ZT_BUILD=\$ZT_BUILD_REF ZT_NODE_OPTS='$2'; sys_zt_up; }"
}
zt_ref zt-ref ""
zt_ref zt-ref-salsa ", cipher: salsa2012"
