# The fault suite's lab (issue 23).  Source after tap.sh and netns.sh.
#
# Two members a and b of a private network whose underlay between them
# goes through t/impair in namespace imp; everything else (root,
# controller) is on the bridge as usual:
#
#   root 198.18.0.1, ctl 198.18.0.2 --- bridge --- imp 198.18.0.20
#                                             |-- a 198.18.0.11 [zt0]
#                                             \-- b 198.18.0.12 [zt0]
#
# a's datagrams to b:9993 are rewritten (nftables DNAT) to imp:7001 and
# what imp sends back from there seems to come from b:9993 (SNAT on
# input); b likewise through imp:7002.  impair forwards between the two,
# so both directions of every a-b path cross it and nothing else can.

IMP=198.18.0.20
A=198.18.0.11
B=198.18.0.12

# fault_steer NAME PEER-ADDR RELAY-PORT: NAME reaches PEER-ADDR:9993 only via imp
fault_steer() {
	ns_exec "$1" nft -f - <<NFT || bail "nft in $1"
table ip faults {
	chain out {
		type nat hook output priority -100; policy accept;
		ip daddr $2 udp dport 9993 dnat to $IMP:$3
	}
	chain in {
		type nat hook input priority 100; policy accept;
		ip saddr $IMP udp sport $3 snat to $2:9993
	}
	chain direct {
		type filter hook output priority 0; policy accept;
		ip daddr $2 udp dport 9993 counter drop
	}
}
NFT
}

# fault_require: skip unless the lab can be made
fault_require() {
	ns_require
	[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
	command -v nc > /dev/null || skip_all "needs nc (apt-get install netcat-openbsd)"
}
# fault_done: the members' logs if anything failed, and the exit status
fault_done() {
	[ $tap_failed -eq 0 ] || { zt_log a; zt_log b; }
	tap_done
}

# fault_lab: the lab above with a and b joined and authorized on $net
fault_lab() {
	zt_lab a:11 b:12 imp:20
	fault_steer a $B 7001
	fault_steer b $A 7002
	zt_tap_network faults 7
	zt_start a
	zt_start b
	zt_authorize true a b
	zt_wait 30 zt_is_status a OK || bail "a has no config"
	zt_wait 30 zt_is_status b OK || bail "b has no config"
	ipa=$(zt_net_ip a) ipb=$(zt_net_ip b)
}

# impair_start ARGS...: t/impair between a and b with these impairments
impair_start() {
	# ip netns exec execs impair, so $! is impair itself
	ip netns exec "$(ns_name imp)" "$builddir/t/impair" "$@" $IMP:7001 $A:9993 $IMP:7002 $B:9993 \
		> "$ns_tmp/impair.out" 2> "$ns_tmp/impair.err" &
	impair_pid=$!
	ns_pids="$ns_pids $!"
	zt_wait 5 sh -c "ip netns exec $(ns_name imp) ss -Hlun | grep -q ':7002'" || bail "impair did not start"
}

# impair_stop: stop it (sets impair_rc, its exit status); impair_count
# DIR KEY: its counter (DIR a>b or b>a)
impair_stop() {
	kill -TERM "$impair_pid"
	wait "$impair_pid"
	impair_rc=$?
	[ "$impair_rc" -eq 0 ] || sed 's/^/# impair: /' "$ns_tmp/impair.err"
}
impair_count() { grep "^$1 " "$ns_tmp/impair.out" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

now_s() { date +%s.%N; }
elapsed() { echo "$(now_s) $1" | awk '{ printf "%.1f", $1 - $2 }'; }

# overlay_transfer BYTES: BYTES of random data from a to b over TCP on the
# network; succeeds when b got them intact; sets transfer_s.  With
# $fault_mss, b advertises that MSS to a (a host route's advmss).
overlay_transfer() {
	head -c "$1" /dev/urandom > "$ns_tmp/blob"
	rm -f "$ns_tmp/got"
	ns_exec b ip route del "$ipa/32" dev zt0 2>/dev/null
	[ -z "${fault_mss:-}" ] || ns_exec b ip route add "$ipa/32" dev zt0 advmss "$fault_mss"
	ns_exec b sh -c "timeout 90 nc -l -p 5555 > '$ns_tmp/got'" &
	listener=$!
	zt_wait 5 sh -c "ip netns exec $(ns_name b) ss -Hltn | grep -q ':5555'"
	t0=$(now_s)
	ns_exec a sh -c "timeout 90 nc -q 1 '$ipb' 5555 < '$ns_tmp/blob'"
	wait $listener
	transfer_s=$(elapsed "$t0")
	[ "$(sha256sum < "$ns_tmp/got")" = "$(sha256sum < "$ns_tmp/blob")" ]
}

# mtu_pings COUNT: COUNT pings of a full overlay MTU (2800 bytes: fragmented
# by zt on the underlay) from a to b; sets pings_back, fails on a reply
# whose data differ from what was sent (ping checks them)
mtu_pings() {
	ns_exec a ping -c "$1" -i 0.1 -W 3 -s 2772 -p 5a7e0fa117 "$ipb" > "$ns_tmp/ping" 2>&1
	pings_back=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$ns_tmp/ping")
	pings_back=${pings_back:-0}
	! grep -Eq "wrong data|corrupted" "$ns_tmp/ping"
}

# fault_scenario NAME BYTES MIN-PINGS IMPAIR-ARGS...: with these
# impairments, the network stays OK on both members, BYTES cross over TCP
# intact, at least MIN-PINGS of 20 full-MTU pings come back with their
# data intact, and all of it went through impair (6 checks)
fault_scenario() {
	name=$1 bytes=$2 min=$3; shift 3
	impair_start -s 23 "$@"
	t0=$(now_s)
	zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb"
	first_s=$(elapsed "$t0")
	overlay_transfer "$bytes"; ok $? "$name: $bytes bytes over TCP arrive intact (${transfer_s} s)"
	mtu_pings 20; ok $? "$name: full-MTU pings come back with their data intact"
	ok $(( pings_back < min )) "$name: $pings_back of 20 full-MTU pings answered (at least $min)"
	zt_is_status a OK && zt_is_status b OK; ok $? "$name: the network stays OK on both members"
	zt_online a && zt_online b; ok $? "$name: both members stay online"
	impair_stop
	sed 's/^/# impair: /' "$ns_tmp/impair.out"
	n_in=$(impair_count "a>b" in) foreign=$(impair_count 'a>b' foreign)
	ok $(( !(n_in > 100 && foreign == 0 && impair_rc == 0) )) \
		"$name: the a-b traffic crossed impair ($n_in datagrams a>b; it exited with $impair_rc)"
	diag "$name: first ping after $first_s s, $bytes bytes in $transfer_s s, $pings_back/20 full-MTU pings"
}

# ---- two roots (t/fault-roots.sh, bench/root-failover) ----

# two_roots_world: a planet whose roots are r1 and r2
two_roots_world() {
	"$builddir/zt-mkworld" keygen "$ns_tmp/world.key" > /dev/null || bail "zt-mkworld keygen"
	{
		echo "type: planet"
		echo "id: 0x5a7e57"
		echo "signing-key: $ns_tmp/world.key"
		echo "roots:"
		for r in r1:1 r2:3; do
			mkdir -p "$ns_tmp/${r%:*}"
			"$builddir/zt-idtool" generate "$ns_tmp/${r%:*}/identity.secret" \
				"$ns_tmp/${r%:*}/identity.public" > /dev/null || bail "zt-idtool generate"
			echo "  - identity: $ns_tmp/${r%:*}/identity.public"
			echo "    endpoints: [\"198.18.0.${r#*:}/9993\"]"
		done
	} > "$ns_tmp/planet.yaml"
	"$builddir/zt-mkworld" make "$ns_tmp/planet.yaml" "$ns_tmp/planet" > /dev/null || bail "zt-mkworld make"
}
# zt_clock NAME: NAME's clock (ms); zt_heard_after NAME PEER-NAME MS:
# NAME received from PEER on one of its paths after MS of its clock;
# zt_heard_lately NAME PEER-NAME: within the last 20 s
zt_clock() { zt_api "$1" http://127.0.0.1:9993/status | jq -r .clock; }
zt_heard_after() {
	zt_api "$1" "http://127.0.0.1:9993/peer/$(zt_address "$2")" |
		jq -e --argjson t "$3" '[.paths[] | select(.lastReceive > $t)] | length > 0'
}
zt_heard_lately() { zt_heard_after "$1" "$2" $(( $(zt_clock "$1") - 20000 )); }
# longest_gap FILE END: the longest time in s without a reply of ping -D,
# up to END (date +%s.%N), so that replies which stop count as a gap
longest_gap() {
	{ sed -n 's/^\[\([0-9.]*\)\].* bytes from .*/\1/p' "$1"; echo "$2"; } |
		awk 'NR > 1 && $1 - last > gap { gap = $1 - last } { last = $1 } END { printf "%.1f", gap }'
}

# roots_lab NAME:N...: roots r1 (198.18.0.1) and r2 (.3) of one planet, a
# controller ctl (.2) with a private network 198.19.8.0/24 ($net), members
# a (.11) and b (.12) started on it, and hosts NAME at 198.18.0.N, not
# started, with identities already made and authorized; sets ipa, ipb.
# $roots_lab_hook is run before a and b start.
roots_lab() {
	ns_bridge
	for h in r1:1 ctl:2 r2:3 a:11 b:12 "$@"; do ns_host "${h%:*}" "198.18.0.${h#*:}/24"; done
	two_roots_world
	zt_start r1
	zt_start r2
	zt_services=$(zt_ctl_service) zt_start ctl
	zt_tap_network roots 8
	members="a b"
	for h; do members="$members ${h%:*}"; done
	for n in $members; do
		mkdir -p "$ns_tmp/$n"
		"$builddir/zt-idtool" generate "$ns_tmp/$n/identity.secret" "$ns_tmp/$n/identity.public" > /dev/null ||
			bail "zt-idtool generate"
	done
	zt_authorize true $members
	eval "${roots_lab_hook:-}"
	zt_start a
	zt_start b
	zt_wait 30 zt_is_status a OK && zt_wait 30 zt_is_status b OK || bail "a and b have no config"
	ipa=$(zt_net_ip a) ipb=$(zt_net_ip b)
}
