#!/bin/sh
# The dns module end to end (issue 19 part 6): the controller's ztd runs
# the dns module and is a member of its own network (198.19.7.53); real
# `dig` from member a's namespace asks it, over the virtual network, for
# members by name and by id (A; AAAA: assigned, RFC4193 and 6PLANE, as the
# members have them), for PTRs, over UDP and TCP and IPv6.  A rename and a
# deauthorization on the controller are followed (a wait loop with a
# deadline; the module looks every 250 ms); odd names from the controller
# are left out with a log line; malformed queries are counted and the
# daemon still answers; an answer too big for UDP comes with TC and whole
# over TCP.  Member c runs the dns module too, reading ctl's controller
# over its HTTP API (controller-url, ctl's token): it answers the same
# names on its own address and follows the same changes.
#
#   root 198.18.0.1 --- underlay --- ctl 198.18.0.2 (controller, dns) [zt0 198.19.7.53, RFC4193, 6PLANE]
#                                \-- a  198.18.0.11 [zt0 198.19.7.11 "alpha"]
#                                \-- b  198.18.0.12 [zt0 198.19.7.12 "beta"]
#                                \-- c  198.18.0.13 [zt0 198.19.7.13, dns from ctl's API at 198.18.0.2:9993]
#
# When ctl stops at the end, c keeps serving the names it had.  At the
# start another program holds ctl's port 53: the module says so once and
# binds when it is free.
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
for c in jq curl dig socat; do
	command -v $c > /dev/null || skip_all "needs $c (scripts/setup.sh installs it)"
done
plan 41

ns_bridge
for h in root:1 ctl:2 a:11 b:12 c:13; do ns_host "${h%:*}" "198.18.0.${h#*:}/24"; done
zt_world root 198.18.0.1/9993
zt_start root
# another program holds 198.19.7.53:53 (UDP, IP_FREEBIND) until the file goes
touch "$ns_tmp/hold"
ns_exec ctl python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_IP, 15, 1)   # IP_FREEBIND
s.bind(("198.19.7.53", 53))
while os.path.exists(sys.argv[1]):
    time.sleep(0.1)' "$ns_tmp/hold" &
ns_pids="$ns_pids $!"
zt_services="$(zt_ctl_service)
  - { use: api, instance: wan, listen: [\"198.18.0.2:9993\"], allow-remote: true, allow-from: [\"198.18.0.0/15\"] }
  - { use: dns }" zt_start ctl
net=$(zt_ctl_network '{"name":"dns","private":true,"v4AssignMode":{"zt":true},
	"v6AssignMode":{"rfc4193":true,"6plane":true,"zt":false},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.7.10","ipRangeEnd":"198.19.7.99"}],
	"routes":[{"target":"198.19.7.0/24"},{"target":"fd00:7::/64"}],
	"dns":{"domain":"lab.zt.test","servers":["198.19.7.53"]}}')
member() {
	# member NAME JSON: POST to the member NAME's object on ctl
	ctl_api -X POST -d "$2" "http://127.0.0.1:9993/controller/network/$net/member/$1" > /dev/null
}
zt_api ctl -X POST "http://127.0.0.1:9993/network/$net" > /dev/null
zt_networks="networks:
  - id: \"$net\"
    iface: { use: tap, name: zt0 }"
zt_start a
zt_start b
cp "$ns_tmp/ctl/authtoken.secret" "$ns_tmp/ctl-token"
zt_services="  - { use: dns, controller-url: \"http://198.18.0.2:9993\", token-file: $ns_tmp/ctl-token }" zt_start c
member "$(zt_address ctl)" '{"authorized":true,"ipAssignments":["198.19.7.53"]}'
member "$(zt_address a)" '{"authorized":true,"name":"alpha","ipAssignments":["198.19.7.11","fd00:7::11"]}'
member "$(zt_address b)" '{"authorized":true,"name":"beta","ipAssignments":["198.19.7.12"]}'
member "$(zt_address c)" '{"authorized":true,"name":"charlie","ipAssignments":["198.19.7.13"]}'

zt_wait 40 zt_is_status ctl OK && zt_wait 40 zt_is_status a OK && zt_wait 40 zt_is_status b OK &&
	zt_wait 40 zt_is_status c OK
ok $? "ctl, a, b and c are on the network"
zt_wait 20 grep -q "dns: udp 198.19.7.53:53: Address already in use (tried again every 10 s)" "$ns_tmp/ctl/log"
ok $? "the port taken by another program: said once"
rm "$ns_tmp/hold"
zt_wait 30 grep -q "dns: network $net: listening on 198.19.7.53:53" "$ns_tmp/ctl/log"
ok $? "once it is free, the dns module listens on the controller's address in the network"
is "$(grep -c 'Address already in use' "$ns_tmp/ctl/log")" 1 "the failure was logged once"

# q NAME [dig args]: the answer's records, sorted, on one line
# (at ctl's dns; at c's with srv=198.19.7.13)
q() { ns_exec a dig +short +time=2 +tries=1 "@${srv:-198.19.7.53}" "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
# rcode [dig args]: the answer's status
rcode() { ns_exec a dig +time=2 +tries=1 "@${srv:-198.19.7.53}" "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
is_answer() { [ "$(q "$@")" = "$want" ]; }
is_rcode() { [ "$(rcode "$1" "$2")" = "$3" ]; }
# the IPv6 addresses the member NAME has in the network, sorted
ip6s() { zt_api "$1" "http://127.0.0.1:9993/network/$net" | jq -r '.assignedAddresses[]' | grep : | cut -d/ -f1 | sort; }

want=198.19.7.11
zt_wait 20 is_answer alpha.lab.zt.test A
ok $? "a member's name: A (dig from a, over zt0)"
is "$(q "$(zt_address b).lab.zt.test" A)" 198.19.7.12 "a member's id: A"
is "$(q ALPHA.Lab.Zt.Test A)" 198.19.7.11 "names are case-insensitive"
a6=$(ip6s a | tr '\n' ' ' | sed 's/ $//')
is "$(echo "$a6" | wc -w)" 3 "a has three IPv6 addresses: assigned, RFC4193, 6PLANE ($a6)"
is "$(q alpha.lab.zt.test AAAA)" "$a6" "AAAA: the same three"
is "$(q "$(zt_address a).lab.zt.test" AAAA)" "$a6" "AAAA of its id name too"
is "$(q -x 198.19.7.11)" alpha.lab.zt.test. "PTR of the assigned IPv4 address"
ptrs=""
for ip in $a6; do ptrs="$ptrs$(q -x "$ip") "; done
is "$ptrs" "alpha.lab.zt.test. alpha.lab.zt.test. alpha.lab.zt.test. " "PTR of each IPv6 address"
is "$(q +tcp alpha.lab.zt.test A)" 198.19.7.11 "over TCP"
ctl6=$(ip6s ctl | head -1)
is "$(ns_exec a dig +short +time=2 +tries=1 "@$ctl6" beta.lab.zt.test A)" 198.19.7.12 \
	"over IPv6, to the controller's address $ctl6"
is "$(rcode nobody.lab.zt.test A)" NXDOMAIN "an unknown name: NXDOMAIN"
is "$(rcode example.com A)" REFUSED "a name outside the domain: REFUSED"
zt_wait 20 grep -q "dns: network $net: listening on 198.19.7.13:53" "$ns_tmp/c/log"
ok $? "c's dns module, following ctl's API, listens on c's address"
want=198.19.7.11
srv=198.19.7.13 zt_wait 20 is_answer alpha.lab.zt.test A
ok $? "c answers the members' names too"

# ---- live changes ----
member "$(zt_address a)" '{"name":"gamma"}'
want=198.19.7.11
zt_wait 10 is_answer gamma.lab.zt.test A
ok $? "a rename is followed: the new name answers"
srv=198.19.7.13 zt_wait 10 is_answer gamma.lab.zt.test A
ok $? "... at c too, through the controller's HTTP API"
is "$(rcode alpha.lab.zt.test A)" NXDOMAIN "the old name is gone"
is "$(q -x 198.19.7.11)" gamma.lab.zt.test. "the PTR names the new name"
member "$(zt_address b)" '{"authorized":false}'
zt_wait 10 is_rcode beta.lab.zt.test A NXDOMAIN
ok $? "a deauthorization is followed: NXDOMAIN"
srv=198.19.7.13 zt_wait 10 is_rcode beta.lab.zt.test A NXDOMAIN
ok $? "... at c too"
is "$(rcode "$(zt_address b).lab.zt.test" A)" NXDOMAIN "its id name is gone too"

# ---- odd names from the controller ----
member "$(zt_address a)" '{"name":"bad name\nwith\u0007bell"}'
zt_wait 10 grep -q "member $(zt_address a): 'bad name?with?bell' left out:" "$ns_tmp/ctl/log"
ok $? "an odd name is left out with a log line (control characters not logged)"
is "$(q "$(zt_address a).lab.zt.test" A)" 198.19.7.11 "its id name still answers"

# ---- malformed queries ----
ns_exec a sh -c 'printf "garbage" | socat -t 0.2 - UDP:198.19.7.53:53' > /dev/null
ns_exec a sh -c 'printf "\253\315\001\000\000\001\000\000\000\000\000\000\003abc" | socat -t 0.5 - UDP:198.19.7.53:53' |
	od -An -tx1 | tr -d ' \n' > "$ns_tmp/formerr"
is "$(cut -c1-8 "$ns_tmp/formerr")" abcd8101 "a question cut off: FORMERR with the query's id"
ns_exec a sh -c 'printf "\000\005hello" | socat -t 0.5 - TCP:198.19.7.53:53' > /dev/null
ok "$([ "$(zt_inst_counter ctl dns malformed)" -ge 3 ]; echo $?)" "malformed queries counted (UDP and TCP)"
is "$(q "$(zt_address ctl).lab.zt.test" A)" 198.19.7.53 "and the daemon still answers"

# ---- TCP: two queries in one write, and more clients than allowed ----
ns_exec a python3 - > "$ns_tmp/pipelined" <<'PY'
import socket, struct
def query(qid, name):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    return struct.pack(">H", len(q)) + q
s = socket.create_connection(("198.19.7.53", 53), timeout=5)
s.sendall(query(1, "charlie.lab.zt.test") + query(2, "nobody.lab.zt.test"))
buf = b""
while len(buf) < 4 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0] + 2:
    buf += s.recv(4096)
first = struct.unpack(">H", buf[:2])[0]
while len(buf) < 2 + first + 2 + struct.unpack(">H", buf[2 + first:4 + first])[0]:
    buf += s.recv(4096)
a, b = buf[2:2 + first], buf[4 + first:]
print(struct.unpack(">H", a[:2])[0], a[3] & 15, struct.unpack(">H", b[:2])[0], b[3] & 15)
PY
is "$(cat "$ns_tmp/pipelined")" "1 0 2 3" "two queries in one TCP write: two answers in order (NOERROR, NXDOMAIN)"
ns_exec a python3 -c '
import socket, time
held = [socket.create_connection(("198.19.7.53", 53), timeout=5) for i in range(72)]
time.sleep(1)'
ok "$([ "$(zt_inst_counter ctl dns tcp_rejected)" -ge 8 ]; echo $?)" "72 idle TCP clients: those over 64 refused and counted"
is "$(q +tcp "$(zt_address ctl).lab.zt.test" A)" 198.19.7.53 "once they are gone, TCP answers again"

# ---- an answer too big for UDP ----
ips=$(seq 100 139 | sed 's/^/"fd00:7::/; s/$/"/' | paste -sd, -)
member 00000000cc '{"authorized":true,"name":"big","noAutoAssignIps":true,"ipAssignments":['"$ips"']}'
want=$(seq 100 139 | sed 's/^/fd00:7::/' | sort | head -1)
big_first() { [ "$(q +tcp big.lab.zt.test AAAA | cut -d' ' -f1)" = "$want" ]; }
zt_wait 10 big_first
ok $? "a member with 40 assigned IPv6 addresses"
ns_exec a dig +time=2 +tries=1 +ignore +noedns @198.19.7.53 big.lab.zt.test AAAA > "$ns_tmp/tc"
ok "$(grep -q 'flags:.* tc' "$ns_tmp/tc"; echo $?)" "over UDP: TC set"
is "$(q big.lab.zt.test AAAA | wc -w)" 40 "dig retries over TCP: all 40 (noAutoAssignIps: no RFC4193, no 6PLANE)"
ok "$([ "$(zt_inst_counter ctl dns truncated)" -ge 1 ]; echo $?)" "truncated answers counted"
is "$(grep -c "member $(zt_address a): .* left out:" "$ns_tmp/ctl/log") $(zt_inst_counter ctl dns names_skipped)" "1 1" \
	"the odd name was logged and counted once, though the zone was built again since"

# ---- the controller gone: c keeps what it had ----
zt_stop ctl
zt_wait 20 grep -q "dns: network $net: the controller failed (.*): the last names are kept" "$ns_tmp/c/log"
ok $? "c notices that ctl's API does not answer"
want=198.19.7.53
srv=198.19.7.13 zt_wait 10 is_answer "$(zt_address ctl).lab.zt.test" A
ok $? "and keeps answering the last names"
# stopped here so that a leak in the module's stop and destroy shows
zt_stop c
ok "$(cat "$ns_tmp"/*/log | grep -c 'ERROR: \(AddressSanitizer\|LeakSanitizer\)\|runtime error')" \
	"no sanitizer reports in any ztd log (ctl and c stopped)"
[ $tap_failed -eq 0 ] || { zt_log ctl; zt_log c; }
tap_done
