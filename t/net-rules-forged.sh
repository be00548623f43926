#!/bin/sh
# A member gets nothing from capabilities and tags the controller did not
# give it.  t/cred-forge is a member of its own (no ztd): it fetches its
# config from the controller, says HELLO to the server b, shows b
# credentials and sends it UDP datagrams to ports 5000 (which only
# capability 2000 accepts), 5001 (which the base rules accept only from
# a sender with tag 1 = 9) and 5002 (which the base rules accept).  The
# lender l is a member that holds the capability and the tag; the
# mallory m holds neither.  As l, with what the controller gave l, all
# three ports are reached; as m, only 5002, whether m shows its own
# credentials, l's as the controller signed them for l, or l's re-signed
# by m itself.  l's with m written in as their holder: the tag is
# refused, but the capability is taken (1.14 does not sign a
# capability's holder).  Once the controller took them from l, l
# replaying the old ones gets nothing from them.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- b 198.18.0.12 [zt0] the server, ingress: rules
#                              \-- m 198.18.0.13 t/cred-forge as m or as l
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
forge=$builddir/t/cred-forge
[ -x "$forge" ] || bail "no $forge (make check builds it)"
plan 11

zt_lab b:12 m:13
for who in l m; do
	mkdir -p "$ns_tmp/$who"
	"$builddir/zt-idtool" generate "$ns_tmp/$who/identity.secret" "$ns_tmp/$who/identity.public" > /dev/null ||
		bail "zt-idtool generate"
done
P17='{"type":"MATCH_IP_PROTOCOL","ipProtocol":17}'
port() { echo "$P17,{\"type\":\"MATCH_IP_DEST_PORT_RANGE\",\"start\":$1,\"end\":$1}"; }
net=$(zt_ctl_network "{\"name\":\"forged\",\"private\":true,\"v4AssignMode\":{\"zt\":true},
	\"ipAssignmentPools\":[{\"ipRangeStart\":\"198.19.6.10\",\"ipRangeEnd\":\"198.19.6.100\"}],
	\"routes\":[{\"target\":\"198.19.6.0/24\"}],
	\"tags\":[{\"id\":1,\"default\":0}],
	\"capabilities\":[{\"id\":2000,\"rules\":[$(port 5000),{\"type\":\"ACTION_ACCEPT\"}]}],
	\"rules\":[$(port 5001),{\"type\":\"MATCH_TAG_SENDER\",\"id\":1,\"value\":9},{\"type\":\"ACTION_ACCEPT\"},
		$(port 5000),{\"type\":\"ACTION_BREAK\"},
		$(port 5001),{\"type\":\"ACTION_DROP\"},
		{\"type\":\"ACTION_ACCEPT\"}]}")
like "$net" "^$(zt_address ctl)[0-9a-f]{6}\$" "the controller creates a network with a capability and a tag ($net)"
member() {
	ctl_api -X POST -d "$2" "http://127.0.0.1:9993/controller/network/$net/member/$(zt_address "$1")" > /dev/null
}
member l '{"authorized":true,"capabilities":[2000],"tags":[[1,9]]}'
member m '{"authorized":true}'
zt_networks="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }
    ingress: [ { use: rules } ]" zt_start b
member b '{"authorized":true}'
zt_wait 30 zt_is_status b OK && zt_wait 30 zt_has_ip b
ok $? "b is configured"
ipb=$(zt_net_ip b)
zt_wait 10 sh -c "ip netns exec $(ns_name b) ip -4 -o addr show dev zt0 | grep -q '$ipb/24'"

# received MODE SELF: what reaches b's UDP ports 5000 to 5002 when
# cred-forge runs as SELF showing the credentials MODE says: the ports,
# one line each, in order, once the datagram to 5002 (sent last of each
# round) has arrived
runs=0
received() {
	runs=$((runs + 1))
	got=$ns_tmp/got.$runs
	rm -f "$got" "$got.ready"
	# ip netns exec execs python: $! is the receiver itself
	ip netns exec "$(ns_name b)" python3 -c '
import select, socket, sys
socks = []
for p in (5000, 5001, 5002):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", p))
    socks.append(s)
out = open(sys.argv[1], "a")
open(sys.argv[1] + ".ready", "w").close()
while True:
    for s in select.select(socks, [], [])[0]:
        out.write(s.recv(64).decode())
        out.flush()
' "$got" &
	rpid=$!
	ns_pids="$ns_pids $rpid"
	zt_wait 5 test -e "$got.ready" || diag "the UDP receiver in b did not start"
	ns_exec m "$forge" "$1" "$ns_tmp/$2/identity.secret" "$ns_tmp/l/identity.secret" \
		"$ns_tmp/ctl/identity.public" 198.18.0.2 "$ns_tmp/b/identity.public" 198.18.0.12 \
		"$net" "$ipb" 5000 5001 5002 2> "$ns_tmp/forge.err" || sed 's/^/# /' "$ns_tmp/forge.err"
	zt_wait 5 grep -q 5002 "$got"
	kill "$rpid"
	wait "$rpid" 2> /dev/null
	sort -u "$got" | tr '\n' ' '
}

is "$(received "save:$ns_tmp/l.creds" l)" "5000 5001 5002 " "l, showing what the controller gave it, reaches all three ports"
is "$(received own m)" "5002 " "m, showing its own credentials, reaches only the port open to all"
is "$(received borrowed m)" "5002 " "m showing l's capability and tag as the controller signed them for l: nothing more"
is "$(received selfsigned m)" "5002 " "m showing l's capability and tag re-signed by m itself: nothing more"
# A tag's signature covers the member it is issued to, a capability's
# does not (networks.md §5.2, as in 1.14): a capability rewritten to name
# another holder still verifies, and gives that holder what it grants.
is "$(received reissued m)" "5000 5002 " \
	"m showing l's with itself as their holder: the tag is refused, the capability (its holder unsigned, as in 1.14) accepted"
is "$(received own l)" "5000 5001 5002 " "... and l still reaches all three (what m showed took nothing from l)"
# The controller takes l's capability and tag away and revokes them at b:
# l showing the ones it kept gets nothing from them any more.
member l '{"capabilities":[],"tags":[]}'
replay_refused() { [ "$(received "replay:$ns_tmp/l.creds" l)" = "5002 " ]; }
zt_wait 30 replay_refused
ok $? "once the controller revoked them, l replaying its old capability and tag reaches only the port open to all"
is "$(received own l)" "5002 " "... as with what the controller gives it now"
is "$(cat "$ns_tmp"/*/log | grep -c -e 'Sanitizer' -e 'runtime error')" 0 "no sanitizer reports in any ztd log"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log b; }
tap_done
