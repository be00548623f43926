#!/bin/sh
# Zero-config start: ztd with no config file runs its built-in default
# pipeline (udp on 9993, the api on 127.0.0.1:9993 with a token made in
# the home, tap and rules for every network joined) and, with no planet
# file, the built-in planet: ZeroTier's public roots.  Nothing may reach
# them: the namespace has only its loopback, no route out.  A planet file
# in the home replaces the built-in planet.
#
#   namespace "zc": lo only; ztd --home <tmp>, no config file
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
command -v curl > /dev/null || skip_all "needs curl"
command -v jq > /dev/null || skip_all "needs jq"
command -v perl > /dev/null || skip_all "needs perl"
plan 12

ns_netns zc
is "$(ns_exec zc ip -o route show; ns_exec zc ip -o -6 route show | grep -v '^\(::1\|fe80\)')" "" \
	"the namespace has no route out"

# The default config path must not exist; if this machine has one, hide it
# in a mount namespace of ztd's own.  zc_run execs, so that $! is ztd's
# pid.
default_conf=$("$ZTD" --help | sed -n 's/.*(default \(.*\);$/\1/p')
[ -n "$default_conf" ] || bail "ztd --help names no default config"
zc_run() {
	if [ -e "$default_conf" ]; then
		exec ip netns exec "$(ns_name zc)" unshare -m sh -c 'mount -t tmpfs none "$(dirname "$1")" && shift && exec "$@"' \
			sh "$default_conf" "$@"
	else
		exec ip netns exec "$(ns_name zc)" "$@"
	fi
}

home=$ns_tmp/home
log=$ns_tmp/log
zc_start() {
	ztd_start "$log" zc_run "$ZTD" --home "$home"
	zc_pid=$ztd_pid
	ns_pids="$ns_pids $zc_pid"
}
zc_stop() { kill -TERM "$zc_pid"; wait "$zc_pid"; }
api() { ns_exec zc curl -s -m 5 -H "X-ZT1-Auth: $(cat "$home/authtoken.secret")" "http://127.0.0.1:9993$1"; }

zc_start
like "$(cat "$log")" "no $default_conf: running the default pipeline" "no config file: the log says the default pipeline runs"
like "$(cat "$log")" "no $home/planet: using the built-in planet 149604618" "... and that the built-in planet is used"
[ -s "$home/authtoken.secret" ] && [ -s "$home/identity.secret" ]
ok $? "the token and identity are made in --home"
is "$(cat "$home/zerotier-one.port")" 9993 "the API listens on port 9993"
is "$(api /status | jq -c '[.planetWorldId, .planetBuiltIn]')" '[149604618,true]' \
	"/status on 127.0.0.1:9993: the built-in planet (ZeroTier's Earth)"
roots=$(sed -n 's/^root\.[0-9]*\.identity: \(.\{10\}\).*/\1/p' "$VECTORS/planet-earth.txt" | sort | tr '\n' ' ')
is "$(api /peer | jq -r '[.[] | select(.role == "PLANET") | .address] | sort | join(" ")') " "$roots" \
	"/peer: the built-in planet's four roots"
is "$(ns_exec zc "$builddir/zt-cli" -D"$home" info | cut -d' ' -f1-2,5)" "200 info OFFLINE" \
	"zt-cli info answers (offline: nothing gets out)"
is "$(ns_exec zc "$builddir/zt-cli" -D"$home" listnetworks)" "200 listnetworks <nwid> <name> <mac> <status> <type> <dev> <ZT assigned ips>" \
	"no network yet"
zc_stop
is "$?" 0 "ztd stops cleanly"

# A planet file in the home replaces the built-in planet.
sed -n 's/^planet_v1_hex: //p' "$VECTORS/planet-testbed.txt" | perl -ne 'chomp; print pack "H*", $_' > "$home/planet"
zc_start
is "$(api /status | jq -c '[.planetWorldId != 149604618, .planetBuiltIn]')" "[true,false]" \
	"a planet file in the home replaces the built-in planet"
is "$(grep -c 'built-in planet' "$log")" 0 "... and the log does not name the built-in one"
zc_stop
tap_done
