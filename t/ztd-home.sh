#!/bin/sh
# What ztd makes of a home written by other tools, and moons by either
# form of their id.  The secrets (identity.secret, authtoken.secret,
# metricstoken.secret) come open to others and are made 0600 at start,
# with a log line each; the node is a root of a moon in moons.d (not of
# its planet) and says so; the API takes a moon by 16 or by 10 hex
# digits (ZeroTier One's form), and zt-cli sends the 10-digit one.
#
#   one ztd on 127.0.0.1, offline (the test-bed planet's root is absent)
. "$srcdir/t/tap.sh"
command -v curl > /dev/null || skip_all "needs curl"
command -v jq > /dev/null || skip_all "needs jq"
command -v perl > /dev/null || skip_all "needs perl"
command -v nc > /dev/null || skip_all "needs nc"

tmp=$(mktemp -d) || bail "mktemp"
pid=""
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
plan 23

# ---- a home written by other tools ----
home=$tmp/home
mkdir -p "$home/moons.d"
sed -n 's/^planet_v1_hex: //p' "$VECTORS/planet-testbed.txt" | perl -ne 'chomp; print pack "H*", $_' > "$home/planet"
"$builddir/zt-idtool" generate "$home/identity.secret" "$home/identity.public" > /dev/null || bail "zt-idtool generate"
addr=$(cut -c1-10 "$home/identity.public")
"$builddir/zt-mkworld" keygen "$tmp/moon.key" > /dev/null || bail "zt-mkworld keygen"
cat > "$tmp/moon.yaml" <<YAML
type: moon
signing-key: $tmp/moon.key
roots:
  - identity: $home/identity.public
    endpoints: ["198.18.0.5/9993"]
YAML
moon=$(printf '%016x' "0x$addr")
"$builddir/zt-mkworld" make "$tmp/moon.yaml" "$home/moons.d/$moon.moon" > /dev/null || bail "zt-mkworld make"
# seed files as an operator writes them: one good, one a reserved address
printf '48b374b5da\n' > "$home/moons.d/000000000001abcd.seed"
printf 'ff00000001' > "$home/moons.d/000000000002abcd.seed"
printf 'sometoken0123456789abcde\n' > "$home/authtoken.secret"
printf 'metricstoken0123456789ab\n' > "$home/metricstoken.secret"
chmod 0644 "$home/identity.secret" "$home/authtoken.secret"
chmod 0640 "$home/metricstoken.secret"
cat > "$tmp/ztd.yaml" <<YAML
node: { home: $home }
transports: [ { use: udp, listen: ["127.0.0.1:0"] } ]
services: [ { use: api, listen: ["127.0.0.1:0"] } ]
YAML
ztd_start "$tmp/log" "$ZTD" -c "$tmp/ztd.yaml"
pid=$ztd_pid

# ---- secrets ----
is "$(stat -c %a "$home/identity.secret")" 600 "identity.secret of mode 0644 is made 0600"
like "$(cat "$tmp/log")" "ztd: warning: $home/identity.secret: was mode 0644, open to others: changed to 0600" \
	"... and the log says so"
is "$(stat -c %a "$home/authtoken.secret")" 600 "authtoken.secret of mode 0644 is made 0600"
like "$(cat "$tmp/log")" "api: $home/authtoken.secret: was mode 0644, open to others: changed to 0600" \
	"... and the log says so"
is "$(stat -c %a "$home/metricstoken.secret")" 600 "metricstoken.secret of mode 0640 is made 0600"
like "$(cat "$tmp/log")" "api: $home/metricstoken.secret: was mode 0640" "... and the log says so"
is "$(stat -c %a "$home/identity.public")" 644 "identity.public is left as it is"
url=http://127.0.0.1:$(cat "$home/zerotier-one.port")
api() { curl -s -m 5 -H "X-ZT1-Auth: sometoken0123456789abcde" "$@"; }
is "$(api "$url/status" | jq -r .address)" "$addr" "the token in the file still opens the API"

# ---- a root of a moon only ----
like "$(cat "$tmp/log")" "this node is a root of moon $moon" "a root of a moon says so, with the moon's id"
is "$(grep -c 'root of planet' "$tmp/log")" 0 "... and does not call it a planet"

# ---- seed files of moons.d ----
is "$(api "$url/moon/000000000001abcd" | jq -c '[.id, .waiting]')" '["000000000001abcd",true]' \
	"a seed file in moons.d (a newline after the address) is a moon waited for"
like "$(cat "$tmp/log")" "000000000002abcd.seed: must hold the address of one of the moon's roots" \
	"one holding a reserved address is logged ..."
is "$(api "$url/moon/000000000002abcd")/$(api -X DELETE "$url/moon/000000000001abcd")" '{}/{"result":true}' \
	"... and ignored (the good one deorbited)"

# ---- moons by 10 hex digits ----
is "$(api "$url/moon/$addr" | jq -r '"\(.id) \(.waiting)"')" "$moon false" \
	"GET /moon/<10 hex digits>: the moon held"
seed=48b374b5da
is "$(api -X POST -d "{\"seed\":\"$seed\"}" "$url/moon/00000abcde" | jq -c '[.id, .waiting]')" \
	'["00000000000abcde",true]' "POST /moon/<10 hex digits>: orbiting it"
is "$(api "$url/moon/00000000000abcde" | jq -r .id)" 00000000000abcde "... the same moon as by 16 digits"
is "$(api -X DELETE "$url/moon/00000abcde")" '{"result":true}' "DELETE /moon/<10 hex digits>"
is "$(api -o /dev/null -w '%{http_code}' "$url/moon/0abcde")" 404 "GET /moon/<6 hex digits>: 404"
cli() { "$builddir/zt-cli" -D"$home" "$@"; }
is "$(cli orbit 00000abcdf "$seed")" "200 orbit OK" "zt-cli orbit <10 hex digits>"
is "$(cli listmoons | jq -r '[.[].id] | sort | join(" ")')" "00000000000abcdf $moon" "... listmoons shows it"
is "$(cli deorbit 00000abcdf)" "200 deorbit OK" "zt-cli deorbit <10 hex digits>"

# ---- what zt-cli sends: the form ZeroTier One's API takes ----
fake=$tmp/fake
mkdir -p "$fake"
port=$(( 20000 + $$ % 20000 ))
echo "$port" > "$fake/zerotier-one.port"
echo token > "$fake/authtoken.secret"
timeout 5 nc -l -p "$port" > "$tmp/request" < /dev/null &
nc_pid=$!
sleep 0.3
timeout 3 "$builddir/zt-cli" -D"$fake" orbit 00000000000abcdf "$seed" > /dev/null 2>&1
wait $nc_pid
is "$(head -1 "$tmp/request" | tr -d '\r')" "POST /moon/00000abcdf HTTP/1.1" \
	"zt-cli orbit of a 16-digit id sends POST /moon/<10 hex digits>"

kill -TERM $pid
wait $pid
is "$?" 0 "ztd stops cleanly"
tap_done
