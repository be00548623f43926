#!/bin/sh
# The api module and zt-cli against a running ztd.
#
#   leaf ztd: udp 127.0.0.1:<any>, api 127.0.0.1:<any> and [::1]:<any>
#   root ztd: udp 198.18.0.1:9993 (the test-bed planet's root), on lo
#
# When we may make a network namespace (root, unshare), the test runs in a
# new one with 198.18.0.1 on its loopback and a root node there, so that
# the leaf has a live peer to list and ping.  Without one the root is
# absent and the tests that need it are skipped.
. "$srcdir/t/tap.sh"

if [ -z "$ZT_API_NETNS" ] && [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
	ZT_API_NETNS=1 exec unshare -n sh "$0" "$@"
fi
command -v curl > /dev/null || skip_all "needs curl"
command -v jq > /dev/null || skip_all "needs jq"
command -v perl > /dev/null || skip_all "needs perl"

tmp=$(mktemp -d) || bail "mktemp"
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$tmp"' EXIT
cli="$builddir/zt-cli"
root=48b374b5da
netns=false
if [ -n "$ZT_API_NETNS" ]; then
	ip link set lo up && ip addr add 198.18.0.1/32 dev lo && netns=true
fi

plan 86

# ---- homes and configs ----
mkdir -p "$tmp/leaf" "$tmp/root"
for h in leaf root; do
	sed -n 's/^planet_v1_hex: //p' "$VECTORS/planet-testbed.txt" |
		perl -ne 'chomp; print pack "H*", $_' > "$tmp/$h/planet"
done
sed -n 's/^root_identity_secret: //p' "$VECTORS/planet-testbed.txt" > "$tmp/root/identity.secret"
sed -n 's/^root_identity_public: //p' "$VECTORS/planet-testbed.txt" > "$tmp/root/identity.public"
cat > "$tmp/root.yaml" <<YAML
node: { home: $tmp/root }
transports: [ { use: udp, listen: ["198.18.0.1:9993"] } ]
YAML
cat > "$tmp/leaf.yaml" <<YAML
node: { home: $tmp/leaf, log-level: debug }
transports: [ { use: udp, listen: ["127.0.0.1:0"] } ]
services:
  - { use: api, listen: ["127.0.0.1:0", "[::1]:0"], max-body: 1000 }
YAML
cat > "$tmp/remote.yaml" <<YAML
node: { home: $tmp/leaf }
services: [ { use: api, listen: ["0.0.0.0:9993"] } ]
YAML

# ---- config checks ----
"$ZTD" -c "$tmp/remote.yaml" > "$tmp/remote.out" 2>&1
is "$?" 1 "a non-loopback listen address is refused"
like "$(cat "$tmp/remote.out")" "remote.yaml:2:.*api: listen: 0.0.0.0:9993 is not a loopback address" \
	"... with file, line and reason"

# ---- start ----
if $netns; then
	"$ZTD" -c "$tmp/root.yaml" 2> "$tmp/root.log" &
	pids="$pids $!"
fi
ztd_start "$tmp/leaf.log" "$ZTD" -c "$tmp/leaf.yaml"
leaf=$ztd_pid
pids="$pids $leaf"
ok 0 "ztd with the api starts"

port=$(cat "$tmp/leaf/zerotier-one.port")
like "$port" '^[0-9]+$' "zerotier-one.port holds a port number"
v4port=$(sed -n 's/.*api: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/leaf.log")
v6port=$(sed -n 's/.*api: listening on \[::1\]:\([0-9]*\)$/\1/p' "$tmp/leaf.log")
is "$port" "$v4port" "... the port of the first IPv4 listener"
tok=$(cat "$tmp/leaf/authtoken.secret")
like "$tok" '^[a-z0-9]{24}$' "authtoken.secret was created: 24 of a-z0-9"
is "$(stat -c %a "$tmp/leaf/authtoken.secret")" 600 "... with mode 0600"

url="http://127.0.0.1:$port"
auth="X-ZT1-Auth: $tok"
# code URL [curl args]: the status code, the body in $tmp/body
code() {
	u=$1
	shift
	curl -s -o "$tmp/body" -w '%{http_code}' "$@" "$u"
}
body() { cat "$tmp/body"; }

# ---- authentication ----
is "$(code "$url/status")/$(body)" "401/{}" "no token: 401 {}"
is "$(code "$url/status" -H "X-ZT1-Auth: x$tok")/$(body)" "401/{}" "wrong X-ZT1-Auth: 401"
is "$(code "$url/status?auth=nope")" 401 "wrong ?auth: 401"
is "$(code "$url/status?auth")" 401 "?auth without a value: 401"
is "$(code "$url/status" -H "Authorization: Bearer nope")" 401 "wrong Bearer: 401"
is "$(code "$url/status" -H "Authorization: Basic $tok")" 401 "another Authorization scheme: 401"
is "$(code "$url/status" -H "$auth")" 200 "X-ZT1-Auth: 200"
is "$(code "$url/status" -H "x-zt1-auth: $tok")" 200 "... header name in any case"
is "$(code "$url/status?auth=$tok")" 200 "?auth=: 200"
is "$(code "$url/status" -H "Authorization: Bearer $tok")" 200 "Authorization: Bearer: 200"
is "$(code "$url/status" -H "Authorization: bEARER $tok")" 200 "... scheme in any case"
is "$(code "$url/status?auth=$tok" -H "X-ZT1-Auth: nope")" 401 "only the first method present counts"
is "$(code "$url/nothing-here")" 401 "an unknown path without a token: 401"
is "$(code "http://[::1]:$v6port/status" -H "$auth")" 200 "the IPv6 listener answers"
is "$(curl -s -o /dev/null -w '%{content_type}' "$url/status")" "application/json" "401 is application/json"
is "$(curl -s -o /dev/null -o /dev/null -w '%{num_connects}' -H "$auth" "$url/health" "$url/status")" 10 \
	"answers keep the connection open"

# ---- /health ----
is "$(code "$url/health")" 200 "/health needs no token"
is "$(body | jq -r 'keys | join(",")')" "clock,online,version,versionBuild,versionMajor,versionMinor,versionRev" \
	"/health: its keys"

# ---- /status ----
is "$(code "$url/status" -H "$auth")" 200 "/status: 200"
body > "$tmp/status"
st() { jq -r "$1" "$tmp/status"; }
is "$(body)" "$(jq -cS . "$tmp/status")" "/status: compact, keys sorted"
is "$(curl -s -o /dev/null -w '%{content_type}' -H "$auth" "$url/status")" "application/json" \
	"/status: application/json"
addr=$(st .address)
like "$addr" '^[0-9a-f]{10}$' "/status: address"
like "$(st .publicIdentity)" "^$addr:0:[0-9a-f]{128}\$" "/status: publicIdentity"
is "$(st '.online | type')/$(st .tcpFallbackActive)" "boolean/false" "/status: online, tcpFallbackActive"
is "$(st .version)" "$(st '"\(.versionMajor).\(.versionMinor).\(.versionRev)"')" "/status: version and its parts"
is "$(st .versionBuild)" 0 "/status: versionBuild"
now=$(date +%s)
is "$(st "(.clock / 1000 - $now) | (if . < 0 then -. else . end) < 5")" true "/status: clock is now"
is "$(st .planetWorldId)/$(st .planetWorldTimestamp)" "1234567890/1700000000000" "/status: the planet"
is "$(st .config.settings.homeDir)" "$tmp/leaf" "/status: homeDir"
udp=$(sed -n 's/.*udp: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/leaf.log")
is "$(st '.config.settings.listeningOn | join(",")')" "127.0.0.1/$udp" "/status: listeningOn"
is "$(st .config.settings.primaryPort)" "$udp" "/status: primaryPort"
is "$(st '.config.settings | [.allowTcpFallbackRelay, .portMappingEnabled, (.surfaceAddresses | type)] | join(",")')" \
	"false,false,array" "/status: allowTcpFallbackRelay, portMappingEnabled, surfaceAddresses"

# ---- /peer ----
is "$(code "$url/peer" -H "$auth")" 200 "/peer: 200"
is "$(body | jq -r type)" array "/peer: an array"
is "$(body | jq -r '[.[].address] | . == sort')" true "/peer: ascending"
is "$(body | jq -r ".[] | select(.address == \"$root\") | .role")" PLANET "/peer: the planet's root is there"
is "$(code "$url/peer/$root" -H "$auth")" 200 "/peer/<root>: 200"
is "$(body | jq -r '[.address, .role, (.latency | type), (.paths | type), .isBonded, .tunneled] | join(",")')" \
	"$root,PLANET,number,array,false,false" "/peer/<root>: fields"
is "$(code "$url/peer/0000000001" -H "$auth")/$(body)" "200/{}" "/peer/<unknown>: 200 {}"
is "$(code "$url/peer/12345" -H "$auth")/$(body)" "404/{}" "/peer/<not an address>: 404 {}"

# ---- errors ----
is "$(code "$url/nothing-here" -H "$auth")/$(body)" "404/{}" "unknown path: 404 {}"
is "$(code "$url/status" -X DELETE -H "$auth")/$(body)" "405/{}" "DELETE /status: 405 {}"
is "$(curl -s -o /dev/null -w '%header{allow}' -X POST -H "$auth" "$url/peer")" "GET, HEAD" "... with Allow"
is "$(code "$url/peer/$root/echo" -H "$auth")" 405 "GET of echo: 405"
is "$(code "$url/peer/$root/echo" -H "$auth" -d '{"a":')" 400 "echo with malformed JSON: 400"
is "$(body | jq -r '"\(.error) \(.description | type)"')" "400 string" "... with error and description"
head -c 1001 /dev/zero | tr '\0' ' ' > "$tmp/big"
is "$(code "$url/peer/$root/echo" -H "$auth" --data-binary @"$tmp/big")" 413 "body over max-body: 413"
is "$(code "$url/peer/$root/echo" -H "$auth" -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/big")" 413 \
	"chunked body over max-body: 413"
is "$(code "$url/health?jsonp=cb")" 200 "?jsonp: 200"
like "$(body)" '^cb\(\{"clock":[0-9]+,.*\}\);$' "?jsonp: wrapped"
is "$(code "$url/health?jsonp=a(b)")" 400 "?jsonp with a bad name: 400"
perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new("127.0.0.1:$ARGV[0]") or exit 1;
	print $s "GARBAGE \x01\x02\r\n\r\n"; shutdown($s, 1); 1 while <$s>' "$port"
kill -0 $leaf
ok $? "ztd survives a garbage request"

# ---- many connections at once ----
: > "$tmp/urls"
for i in $(seq 200); do
	printf 'url = "%s/peer"\nheader = "%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
		"$url" "$auth" >> "$tmp/urls"
done
is "$(curl -s --parallel --parallel-immediate --parallel-max 200 -K "$tmp/urls" 2>/dev/null | grep -c '^200$')" 200 \
	"200 concurrent connections all answered 200"
kill -0 $leaf
ok $? "ztd is still running"

# 1000 at once (curl runs at most 300 per process): beyond max-connections
# they wait in the listen queue, and all are answered with bounded memory
rss0=$(awk '/^VmRSS/ { print $2 }' /proc/$leaf/status)
: > "$tmp/urls250"
for i in $(seq 250); do
	printf 'url = "%s/peer"\nheader = "%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
		"$url" "$auth" >> "$tmp/urls250"
done
storm=""
for k in 1 2 3 4; do
	curl -s -m 20 --parallel --parallel-immediate --parallel-max 250 -K "$tmp/urls250" \
		2>/dev/null > "$tmp/storm.$k" &
	storm="$storm $!"
done
wait $storm
n=$(cat "$tmp/storm."* | grep -c '^200$')
is "$n" 1000 "1000 concurrent connections: all answered"
is "$(code "$url/status" -H "$auth")" 200 "still answering after them"
rss=$(awk '/^VmRSS/ { print $2 }' /proc/$leaf/status)
ok $(( rss - rss0 < 65536 ? 0 : 1 )) "memory stays bounded (RSS ${rss0} kB before, ${rss} kB after)"

# ---- zt-cli ----
export ZT_HOME="$tmp/leaf"
out=$("$cli" info)
is "$?" 0 "zt-cli info: exit 0"
like "$out" "^200 info $addr [0-9]+\.[0-9]+\.[0-9]+ (ONLINE|OFFLINE|TUNNELED)\$" "zt-cli info: format"
is "$("$cli" status)" "$out" "zt-cli status is info"
is "$("$cli" -j info | jq -r .address)" "$addr" "zt-cli -j info: JSON"
like "$("$cli" -j info | sed -n 2p)" '^ "address": "' "zt-cli -j: 1-space indent, \": \""
out=$("$cli" listpeers)
is "$(echo "$out" | head -1)" "200 listpeers <ztaddr> <path> <latency> <version> <role>" "zt-cli listpeers: header"
like "$(echo "$out" | grep " $root ")" \
	"^200 listpeers $root (-|[0-9a-f.:]+/[0-9]+;-?[0-9]+;-?[0-9]+) -?[0-9]+ (-|[0-9]+\.[0-9]+\.[0-9]+) PLANET\$" \
	"zt-cli listpeers: the root's line"
is "$("$cli" -j listpeers | jq -r type)" array "zt-cli -j listpeers: JSON array"
out=$("$cli" peers)
is "$(echo "$out" | head -2 | tr '\n' '|')" \
	"200 peers|<ztaddr>   <ver>  <role> <lat> <link>   <lastTX> <lastRX> <path>|" "zt-cli peers: header"
like "$(echo "$out" | grep "^$root ")" \
	"^$root [-0-9. ]{6} PLANET [-0-9 ]{5} (RELAY|DIRECT   [-0-9 ]{8} [-0-9 ]{8} [0-9a-f.:]+/[0-9]+)\$" \
	"zt-cli peers: the root's line, in columns"
is "$("$cli" /health | jq -r .online | grep -c -E '^(true|false)$')" 1 "zt-cli /<path>: the body"
out=$("$cli" /nothing-here)
is "$?/$out" "1/404 /nothing-here {}" "zt-cli /<unknown>: status, path, body; exit 1"
out=$("$cli" -Twrong info)
is "$?/$out" "1/401 info {}" "zt-cli with a wrong token: 401, exit 1"
out=$("$cli" -D"$tmp/nowhere" info 2>&1)
is "$?" 2 "zt-cli without a port file: exit 2"
out=$("$cli" -p1 info)
is "$?" 1 "zt-cli cannot connect: exit 1"
like "$out" "^Error connecting to the ZeroTier service: " "... and says so"
out=$("$cli" -t0.5 ping 0000000001 2>&1)
is "$?" 1 "zt-cli ping of a node nobody knows: exit 1 after -t"
if $netns; then
	out=$("$cli" ping $root)
	is "$?" 0 "zt-cli ping of the root: exit 0"
	like "$out" "^200 ping $root [0-9]+ DIRECT 198\.18\.0\.1/9993\$" "zt-cli ping: latency and direct path"
	is "$("$cli" info | cut -d' ' -f5)" ONLINE "the leaf is ONLINE with its root"
else
	for i in 1 2 3; do
		echo "ok $((tap_n + 1)) # SKIP needs a network namespace for the root"
		tap_n=$((tap_n + 1))
	done
fi

# ---- stop ----
kill -TERM $leaf
wait $leaf
is "$?" 0 "ztd stops cleanly"
like "$(grep 'api: counters' "$tmp/leaf.log")" "unauthorized=[0-9]+" "the api counted refused tokens"
tap_done
