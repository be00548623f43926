# The controller tests' ztd, sourced after t/tap.sh: the controller on
# the store of t/store.sh and the api module, both on loopback.  Skips
# without curl, jq or perl.  Sets tmp (removed at exit, with ztd and the
# store), home and store, and writes $tmp/ctl.yaml.
#
#   start          ztd in the background: pid, port, url (the API's);
#                  each run's output in $tmp/log, earlier ones in all.log
#   req M PATH [B] the HTTP status of METHOD PATH [BODY] (after start,
#                  with auth set); the body is in $tmp/body
#   body, field J  that body, and jq -r J of it
. "$srcdir/t/store.sh"

command -v curl > /dev/null || skip_all "needs curl"
command -v jq > /dev/null || skip_all "needs jq"
command -v perl > /dev/null || skip_all "needs perl"

tmp=$(mktemp -d) || bail "mktemp"
pid=""
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; zt_store_cleanup; rm -rf "$tmp"' EXIT

home=$tmp/ctl
mkdir -p "$home" "$tmp/store"
store=$(zt_store_stanza "$tmp/store") || bail "no store stanza"
sed -n 's/^planet_v1_hex: //p' "$VECTORS/planet-testbed.txt" |
	perl -ne 'chomp; print pack "H*", $_' > "$home/planet"
cat > "$tmp/ctl.yaml" <<YAML
node: { home: $home, log-level: debug }
transports: [ { use: udp, listen: ["127.0.0.1:0"] } ]
services:
  - { use: controller, store: $store }
  - { use: api, listen: ["127.0.0.1:0"] }
YAML

start() {
	[ -f "$tmp/log" ] && cat "$tmp/log" >> "$tmp/all.log"
	ztd_start "$tmp/log" "$ZTD" -c "$tmp/ctl.yaml"
	pid=$ztd_pid
	port=$(sed -n 's/.*api: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/log")
	url="http://127.0.0.1:$port"
}

req() {
	if [ $# -ge 3 ]; then
		curl -s -o "$tmp/body" -w '%{http_code}' -X "$1" -H "$auth" --data-binary "$3" "$url$2"
	else
		curl -s -o "$tmp/body" -w '%{http_code}' -X "$1" -H "$auth" "$url$2"
	fi
}
body() { cat "$tmp/body"; }
field() { jq -r "$1" "$tmp/body"; }
