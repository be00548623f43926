#!/bin/sh
# The TCP-443 fallback end to end.  Leaf a's namespace lets out only TCP
# to the relay (nftables): its udp transport gets nothing back, so its tcp
# transport engages, and a comes online, joins a network and pings b
# through the relay.  Leaf c runs the tcp transport with force: true
# beside a udp transport: not one UDP packet leaves its namespace.  The relay
# serves both at once and the root sees each at its own relay-side UDP
# port.  The relay is killed and restarted: a reconnects and pings again.
# Then a's UDP is unblocked: a moves back to UDP while a ping runs, losing
# nothing, and lets the relay go.
#
#   root 198.18.0.1 --- bridge --- ctl   198.18.0.2 (controller)
#                              |-- relay 198.18.0.3 (ztd with tcp-relay on :443)
#                              |-- a     198.18.0.11 [zt0] UDP blocked, tcp after 20s
#                              |-- b     198.18.0.12 [zt0]
#                              \-- c     198.18.0.13 [zt0] tcp force, beside udp
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 19

zt_lab relay:3 a:11 b:12 c:13

# the relay: a ztd with the tcp-relay service only
mkdir -p "$ns_tmp/relay"
cat > "$ns_tmp/relay/ztd.yaml" <<YAML
node: { home: $ns_tmp/relay, log-level: debug }
services:
  - { use: tcp-relay, listen: ["198.18.0.3:443"] }
YAML
relay_start() {
	ip netns exec "$(ns_name relay)" "$ZTD" -c "$ns_tmp/relay/ztd.yaml" >> "$ns_tmp/relay/log" 2>&1 &
	relay_pid=$!
	ns_pids="$ns_pids $relay_pid"
	zt_wait 10 grep -q 'listening on 198.18.0.3:443' "$ns_tmp/relay/log" || bail "relay did not start"
}
relay_start

# a: only TCP to the relay passes eth0, both ways
ns_exec a nft -f - <<NFT || bail "nft in a"
table inet block {
	chain out {
		type filter hook output priority 0; policy accept;
		oifname "eth0" ip daddr 198.18.0.3 tcp dport 443 accept
		oifname "eth0" counter drop
	}
	chain in {
		type filter hook input priority 0; policy accept;
		iifname "eth0" ip saddr 198.18.0.3 tcp sport 443 accept
		iifname "eth0" drop
	}
}
NFT
# c: count UDP leaving the namespace
ns_exec c nft -f - <<NFT || bail "nft in c"
table inet count {
	chain out {
		type filter hook output priority 0; policy accept;
		oifname "eth0" meta l4proto udp counter
	}
}
NFT

net=$(zt_ctl_network '{"name":"tcp","private":true,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.3.10","ipRangeEnd":"198.19.3.100"}],
	"routes":[{"target":"198.19.3.0/24"}]}')
join="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
zt_transports='  - { use: tcp, relays: ["198.18.0.3:443"], after: 20s }' zt_networks=$join zt_start a
zt_networks=$join zt_start b
zt_transports='  - { use: tcp, relays: ["198.18.0.3:443"], force: true }' zt_networks=$join zt_start c
zt_authorize true a b c

zt_wait 40 zt_online a; ok $? "a, its UDP blocked, comes online through the relay"
like "$(grep 'tcp: engaged' "$ns_tmp/a/log")" "nothing received over UDP" "a's tcp transport engaged on its own"
zt_wait 40 zt_is_status a OK; ok $? "a joins the network through the relay"
zt_wait 40 zt_is_status b OK; ok $? "b joins the network"
zt_wait 40 zt_is_status c OK; ok $? "c (forced, beside udp) joins the network"
ipa=$(zt_net_ip a); ipb=$(zt_net_ip b)
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a pings b through the relay"
zt_wait 30 ns_exec c ping -c 1 -W 1 "$ipb"; ok $? "c pings b through the relay"

peer_b=$(zt_api a "http://127.0.0.1:9993/peer/$(zt_address b)")
like "$peer_b" '"preferred":true,"transport":"tcp"' "a's preferred path to b is marked tcp in /peer"
like "$(ns_exec a "$builddir/zt-cli" -D "$ns_tmp/a" peers 2>&1)" "198.18.0.12/9993 tcp" \
	"zt-cli peers shows the path through the relay"
ra=$(zt_api root "http://127.0.0.1:9993/peer/$(zt_address a)" | jq -r '.paths[] | select(.active) | .address')
rc=$(zt_api root "http://127.0.0.1:9993/peer/$(zt_address c)" | jq -r '.paths[] | select(.active) | .address')
like "$ra $rc" '^198\.18\.0\.3/[0-9]+ 198\.18\.0\.3/[0-9]+$' "the root sees a and c at the relay's address ($ra, $rc)"
ok $([ "$ra" != "$rc" ]; echo $?) "... each at its own relay-side UDP port"
udp_c=$(ns_exec c nft list table inet count | sed -n 's/.*packets \([0-9]*\).*/\1/p')
is "$udp_c" 0 "c (force, beside a udp transport) sent no UDP at all"

# the relay goes away and comes back: a reconnects
kill "$relay_pid"; wait "$relay_pid" 2>/dev/null
sleep 2
relay_start
zt_wait 40 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "after the relay restarts, a pings b again"
ok $([ "$(zt_inst_counter a tcp connects)" -ge 2 ]; echo $?) "a reconnected ($(zt_inst_counter a tcp connects) connects)"

# UDP comes back while a ping runs: a moves to UDP without the ping stopping
ns_exec a ping -i 0.2 -c 300 -W 1 "$ipb" > "$ns_tmp/ping" 2>&1 &
ping_pid=$!
sleep 2
is "$(grep -c 'tcp: disengaged' "$ns_tmp/a/log")" 0 "a stayed on the relay while UDP was blocked"
ns_exec a nft delete table inet block
zt_wait 40 grep -q 'tcp: disengaged' "$ns_tmp/a/log"; ok $? "a's tcp transport lets go once UDP works"
b_over() { zt_api a "http://127.0.0.1:9993/peer/$(zt_address b)" | grep -q "\"preferred\":true,\"transport\":\"$1\""; }
zt_wait 40 b_over udp; ok $? "a's preferred path to b is UDP again"
wait $ping_pid
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$ns_tmp/ping")
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$ns_tmp/ping")
# b goes on sending over the relay until its path there dies, 19 s after
# the last packet a sent through it; a keeps the connection until 30 s
# after that, so no reply is lost on the way (a loaded machine may lose
# one or two datagrams anywhere)
ok $([ "$sent" = 300 ] && [ $((sent - got)) -le 3 ]; echo $?) \
	"a moves back to UDP without the ping stopping ($((sent - got)) of $sent lost)"
relay_closed() { grep -q '198\.18\.0\.11:[0-9]*: closed: end of stream' "$ns_tmp/relay/log"; }
zt_wait 120 relay_closed; ok $? "a closes its relay connection once nothing goes through it"
[ $tap_failed -eq 0 ] || { zt_log root; zt_log a; zt_log c; sed 's/^/#   /' "$ns_tmp/relay/log"; }
tap_done
