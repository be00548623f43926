#!/bin/sh
# The api module under a slowloris: 1,000 connections that each send half
# a request header and then a header line a second (so the idle timeout
# never closes them), opened again (40 a second) as ztd closes them.
# zt-cli and curl must still be answered, again and again, while they are
# held: header-timeout closes a trickling connection, and with
# max-connections open each new connection closes the one longest without
# a request (once it has had 1 s to send one).
#
#   ztd: udp 127.0.0.1:<any>, api 127.0.0.1:<any> (max-connections 256)
. "$srcdir/t/tap.sh"

command -v curl > /dev/null || skip_all "needs curl"
command -v python3 > /dev/null || skip_all "needs python3"

tmp=$(mktemp -d) || bail "mktemp"
ztd_pid=""
loris=""
trap '[ -n "$loris" ] && kill $loris 2>/dev/null; [ -n "$ztd_pid" ] && kill $ztd_pid 2>/dev/null; rm -rf "$tmp"' EXIT

plan 14

mkdir -p "$tmp/home"
cat > "$tmp/ztd.yaml" <<YAML
node: { home: $tmp/home }
transports: [ { use: udp, listen: ["127.0.0.1:0"] } ]
services:
  - { use: api, listen: ["127.0.0.1:0"] }
YAML
ztd_start "$tmp/log" "$ZTD" -c "$tmp/ztd.yaml"
port=$(cat "$tmp/home/zerotier-one.port")
auth="X-ZT1-Auth: $(cat "$tmp/home/authtoken.secret")"
export ZT_HOME="$tmp/home"

# one trickling connection: closed by header-timeout (5 s), not by the
# idle timeout (30 s), which its header lines keep resetting
python3 - "$port" > "$tmp/one" 2>&1 <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n")
s.settimeout(0.5)
start = time.monotonic()
while time.monotonic() - start < 25:
    try:
        if s.recv(100) == b"":
            print("closed")
            break
    except socket.timeout:
        pass
    except OSError:
        print("closed")
        break
    try:
        s.send(b"X-Slow: 1\r\n")
    except OSError:
        print("closed")
        break
else:
    print("still open")
PY
is "$(cat "$tmp/one")" closed "a header trickled a line at a time is cut off before the idle timeout"

python3 "$srcdir/t/api-slowloris.py" 127.0.0.1 "$port" 1000 40 "$tmp/stats" > "$tmp/loris.out" 2>&1 &
loris=$!
for i in $(seq 600); do
	grep -q ready "$tmp/loris.out" && break
	kill -0 $loris 2>/dev/null || break
	sleep 0.1
done
grep -q ready "$tmp/loris.out" || { sed 's/^/# /' "$tmp/loris.out"; bail "the slowloris did not start"; }
ok 0 "1000 slowloris connections opened"

# zt-cli and curl, each given 20 s (without the limits they wait for
# minutes), spread over more than one header-timeout
for i in 1 2 3 4 5; do
	out=$(timeout 20 "$builddir/zt-cli" info)
	like "$?/$out" '^0/200 info [0-9a-f]{10} ' "zt-cli info answered under the slowloris ($i)"
	sleep 1
done
for i in 1 2 3; do
	code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -H "$auth" "http://127.0.0.1:$port/status")
	is "$code" 200 "curl /status answered under the slowloris ($i)"
done

kill -TERM $loris
wait $loris
loris=""
closed=$(sed -n 's/.* closed \([0-9]*\)$/\1/p' "$tmp/stats")
ok $(( ${closed:-0} > 744 ? 0 : 1 )) \
	"ztd closed held connections, not only the 744 over max-connections (${closed:-0} closed)"

kill -TERM $ztd_pid
wait $ztd_pid
is "$?" 0 "ztd stops cleanly"
ztd_pid=""
counters=$(grep 'api: counters' "$tmp/log")
like "$counters" "evicted=[1-9]" "the api counted the connections it evicted"
# the single trickling connection above (under the slowloris, eviction
# comes first: the held connections are evicted after 1 s)
like "$counters" "header_timeouts=[1-9]" "the api counted those cut off by header-timeout"
tap_done
