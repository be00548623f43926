#!/bin/sh
# Who may use the local API, and what a node with a controller leaves on
# disk for others to read:
#   - allow-remote needs allow-from; allow-from CIDRs (v4 and v6, prefixes
#     not on a byte boundary) admit their peers and close the others'
#     connections unanswered;
#   - the controller API refuses writes without the right token, even on
#     loopback, and changes nothing;
#   - the home and its directories are 0700, the token files, the identity
#     secret and the controller's SQLite database with its -wal and -shm
#     0600 under a umask of 022; a database left 0644 is made 0600;
#   - no secret (token, private key) in an answer or a log line.
#
#   ztd: udp 127.0.0.1:<any>, controller (sqlite), api 127.0.0.1:<any>,
#        and in a network namespace 198.18.0.1:<any> and [2001:db8::1]:<any>
#        for allow-from 198.18.0.0/25 and 2001:db8::/126
. "$srcdir/t/tap.sh"

if [ -z "$ZT_API_NETNS" ] && [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
	ZT_API_NETNS=1 exec unshare -n sh "$0" "$@"
fi
command -v curl > /dev/null || skip_all "needs curl"
command -v jq > /dev/null || skip_all "needs jq"
[ -n "$ZT_API_NETNS" ] || skip_all "needs a network namespace (root, unshare)"

tmp=$(mktemp -d) || bail "mktemp"
ztd_pid=""
trap '[ -n "$ztd_pid" ] && kill $ztd_pid 2>/dev/null; rm -rf "$tmp"' EXIT

ip link set lo up
ip addr add 198.18.0.1/32 dev lo
ip addr add 198.18.0.200/32 dev lo
ip addr add 2001:db8::1/128 dev lo nodad
ip addr add 2001:db8::5/128 dev lo nodad

plan 44

# files must not take their modes from a permissive umask
umask 022
home=$tmp/home

# ---- config errors ----
# conf NAME API-STANZA: a config with that api instance
conf() {
	cat > "$tmp/$1.yaml" <<YAML
node: { home: $home }
services:
  - $2
YAML
}
conf remote '{ use: api, listen: ["198.18.0.1:0"], allow-remote: true }'
"$ZTD" -c "$tmp/remote.yaml" > "$tmp/out" 2>&1
like "$?/$(cat "$tmp/out")" "^1/.*remote.yaml:3:.*api: allow-remote: needs allow-from" \
	"allow-remote without allow-from is refused, with file, line and reason"
conf badbits '{ use: api, listen: ["198.18.0.1:0"], allow-remote: true, allow-from: ["198.18.0.0/33"] }'
"$ZTD" -c "$tmp/badbits.yaml" > "$tmp/out" 2>&1
like "$?/$(cat "$tmp/out")" "^1/.*badbits.yaml:3:.*api: .*198.18.0.0/33.*|^1/.*badbits.yaml:3:.*not an address or CIDR" \
	"allow-from with /33 is refused"
conf badaddr '{ use: api, allow-from: nonsense }'
"$ZTD" -c "$tmp/badaddr.yaml" > "$tmp/out" 2>&1
like "$?/$(cat "$tmp/out")" "^1/.*badaddr.yaml:3:.*not an address or CIDR" "allow-from: nonsense is refused"
[ -e "$home" ]
is "$?" 1 "... and nothing was created"

# ---- start ----
cat > "$tmp/ztd.yaml" <<YAML
node: { home: $home, log-level: debug }
transports: [ { use: udp, listen: ["127.0.0.1:0"] } ]
services:
  - { use: controller, store: { use: sqlite } }
  - use: api
    listen: ["127.0.0.1:0", "198.18.0.1:0", "[2001:db8::1]:0"]
    allow-remote: true
    allow-from: ["198.18.0.0/25", "2001:db8::/126"]
YAML
start() {
	ztd_start "$tmp/log" "$ZTD" -c "$tmp/ztd.yaml"
	port=$(sed -n 's/.*api: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/log")
	port4=$(sed -n 's/.*api: listening on 198\.18\.0\.1:\([0-9]*\)$/\1/p' "$tmp/log")
	port6=$(sed -n 's/.*api: listening on \[2001:db8::1\]:\([0-9]*\)$/\1/p' "$tmp/log")
	url="http://127.0.0.1:$port"
}
stops=""
stop() {
	kill -TERM $ztd_pid
	wait $ztd_pid
	stops="$stops$?"
	ztd_pid=""
	cat "$tmp/log" >> "$tmp/all.log"
}
start
ok 0 "ztd with a controller and a remote api starts"
tok=$(cat "$home/authtoken.secret")
auth="X-ZT1-Auth: $tok"
# code URL [curl args]: the status code, the body appended to $tmp/answers
code() {
	u=$1
	shift
	curl -s -o "$tmp/body" -w '%{http_code}' "$@" "$u"
	cat "$tmp/body" >> "$tmp/answers"
}

# ---- allow-from ----
is "$(code "http://198.18.0.1:$port4/status" --interface 198.18.0.1 -H "$auth")" 200 \
	"a peer in allow-from (198.18.0.1 in 198.18.0.0/25) is served"
is "$(code "http://198.18.0.1:$port4/status" --interface 198.18.0.200 -H "$auth")" 000 \
	"a peer outside (198.18.0.200) is closed unanswered"
is "$(code "http://[2001:db8::1]:$port6/status" --interface 2001:db8::1 -H "$auth")" 200 \
	"IPv6: a peer in 2001:db8::/126 is served"
is "$(code "http://[2001:db8::1]:$port6/status" --interface 2001:db8::5 -H "$auth")" 000 \
	"IPv6: a peer outside (2001:db8::5) is closed unanswered"
is "$(code "http://198.18.0.1:$port4/status" --interface 198.18.0.1)" 401 \
	"an allowed peer still needs the token"
is "$(code "$url/status" -H "$auth")" 200 "loopback is always served"

# ---- the token ----
addr=$(curl -s -H "$auth" "$url/status" | jq -r .address)
last=$(printf %s "$tok" | cut -c24)
[ "$last" = a ] && other=b || other=a
is "$(code "$url/status" -H "X-ZT1-Auth: $(printf %s "$tok" | cut -c1-23)$other")" 401 \
	"a token differing in its last character: 401"
is "$(code "$url/status" -H "X-ZT1-Auth: $(printf %s "$tok" | cut -c1-23)")" 401 "the token's prefix: 401"
is "$(code "$url/status" -H "X-ZT1-Auth: ${tok}x")" 401 "the token and more: 401"

# ---- size limits ----
big=$(head -c 90000 /dev/zero | tr '\0' a)
is "$(code "$url/status" -H "$auth" -H "X-Big: $big")" 431 "a header over 80 KiB: 431"
is "$(code "$url/status$(printf '/%.0s' $(seq 8200))" -H "$auth")" 414 "a request target over 8 KiB: 414"
is "$(code "$url/status" -H "$auth")" 200 "... and the next request is served"

# ---- controller writes need the token, on loopback too ----
new="/controller/network/${addr}______"
is "$(code "$url$new" -X POST --data-binary '{"name":"x"}')" 401 "POST a network without a token: 401"
is "$(code "$url$new" -X POST -H "X-ZT1-Auth: nope" --data-binary '{"name":"x"}')" 401 \
	"... with a wrong token: 401"
is "$(code "$url$new?auth=nope" -X POST --data-binary '{"name":"x"}')" 401 "... with a wrong ?auth: 401"
is "$(code "$url/controller/network" -H "$auth")/$(cat "$tmp/body")" "200/[]" "... and no network was made"
is "$(code "$url$new" -X POST -H "$auth" --data-binary '{"name":"lab"}')" 200 "with the token: 200"
nw=$(jq -r .id "$tmp/body")
is "$(code "$url/controller/network/$nw" -X POST --data-binary '{"name":"taken"}')" 401 \
	"changing it without a token: 401"
is "$(code "$url/controller/network/$nw/member/0000000001" -X POST --data-binary '{"authorized":true}')" 401 \
	"authorizing a member without a token: 401"
is "$(code "$url/controller/network/$nw" -X DELETE)" 401 "deleting it without a token: 401"
is "$(code "$url/controller/network/$nw" -H "$auth" | cut -c1-3)/$(jq -r .name "$tmp/body")" "200/lab" \
	"... and it is as it was"
is "$(code "$url/controller/network/$nw/member" -H "$auth")/$(cat "$tmp/body")" "200/{}" "... with no member"
is "$(code "$url/network/$nw" -X POST -H "$auth")" 200 "the node joins it"

# ---- modes ----
mode() { stat -c %a "$1" 2>/dev/null || echo missing; }
is "$(mode "$home")" 700 "the home directory: 0700"
is "$(mode "$home/peers.d")/$(mode "$home/networks.d")" 700/700 "peers.d and networks.d: 0700"
is "$(mode "$home/identity.secret")" 600 "identity.secret: 0600"
is "$(mode "$home/authtoken.secret")/$(mode "$home/metricstoken.secret")" 600/600 \
	"authtoken.secret and metricstoken.secret: 0600"
is "$(mode "$home/controller.db")" 600 "controller.db: 0600"
is "$(mode "$home/controller.db-wal")/$(mode "$home/controller.db-shm")" 600/600 \
	"controller.db-wal and -shm: 0600"

# ---- no secret in an answer ----
for p in status config peer network controller "controller/network/$nw" metrics; do
	code "$url/$p" -H "$auth" > /dev/null
done
code "$url/metrics" -H "Authorization: Bearer $(cat "$home/metricstoken.secret")" > /dev/null
priv=$(cut -d: -f4 "$home/identity.secret")
like "$priv" '^[0-9a-f]{128}$' "identity.secret has its private part"
pubid=$(curl -s -H "$auth" "$url/status" | jq -r .publicIdentity)
is "$pubid" "$(cat "$home/identity.public")" "/status publicIdentity is identity.public"
grep -c -F -e "$priv" -e "$tok" -e "$(cat "$home/metricstoken.secret")" "$tmp/answers" > /dev/null
is "$?" 1 "no answer holds the token, the metrics token or the private key"

# ---- a database left world-readable is made 0600 ----
stop
chmod 0644 "$home/controller.db"
for f in "$home/controller.db-wal" "$home/controller.db-shm"; do
	[ -e "$f" ] && chmod 0644 "$f"
done
start
is "$(mode "$home/controller.db")" 600 "a controller.db of mode 0644 is made 0600 at start"
is "$(mode "$home/controller.db-wal")/$(mode "$home/controller.db-shm")" 600/600 \
	"... and its -wal and -shm, left 0644 or made since"
like "$(cat "$tmp/log")" "controller.db: was mode 0644, open to others: changed to 0600" "... and it says so"
is "$(code "$url/controller/network/$nw" -H "$auth")" 200 "... and its data is intact"
stop
grep -F -e "$priv" -e "$tok" -e "$(cat "$home/metricstoken.secret")" "$tmp/all.log" > /dev/null
is "$?" 1 "no log line (debug level) holds a token or the private key"
like "$(grep 'api: counters' "$tmp/all.log" | head -1)" "refused=2" \
	"the api counted the two peers refused"
is "$stops" 00 "ztd stopped cleanly both times"
tap_done
