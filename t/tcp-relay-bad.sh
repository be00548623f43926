#!/bin/sh
# The tcp-relay against bad clients: garbage, a record over the limit, an
# unknown address type, a silent (half-open) client and one stuck in the
# middle of a record, a slow reader, 10,000 idle connections.  Two
# clients from one address get a relay-side UDP socket each.  Each is
# closed with a log line; a good client connected all along keeps its
# datagrams flowing (to a UDP echo beside it) and memory stays bounded.
#
#   relay 198.18.0.3 (ztd: tcp-relay on :443, idle 3s) --- bridge --- x 198.18.0.99 (clients, UDP echo)
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
command -v python3 > /dev/null || skip_all "needs python3"
plan 14

ns_bridge
ns_host relay 198.18.0.3/24
ns_host x 198.18.0.99/24
mkdir -p "$ns_tmp/relay"
cat > "$ns_tmp/relay/ztd.yaml" <<YAML
node: { home: $ns_tmp/relay }
services:
  - { use: tcp-relay, listen: ["198.18.0.3:443"], idle: 3s }
YAML
ulimit -n 20000
ip netns exec "$(ns_name relay)" "$ZTD" -c "$ns_tmp/relay/ztd.yaml" >> "$ns_tmp/relay/log" 2>&1 &
zt_pid_relay=$!
ns_pids="$ns_pids $zt_pid_relay"
zt_wait 10 grep -q 'listening on 198.18.0.3:443' "$ns_tmp/relay/log" || bail "relay did not start"

cat > "$ns_tmp/clients.py" <<'PY'
import resource, select, socket, struct, sys, threading, time
RELAY = ("198.18.0.3", 443)
HELLO = bytes([0x17, 3, 3, 0, 4, 0, 1, 0, 0])

def rec(body):
    return bytes([0x17, 3, 3]) + struct.pack(">H", len(body)) + body

def dgram(port, data):
    return rec(bytes([4]) + socket.inet_aton("198.18.0.99") + struct.pack(">H", port) + data)

def echo(port, blast):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("198.18.0.99", port))
    def run():
        while True:
            data, src = u.recvfrom(4096)
            for _ in range(blast):
                try:
                    u.sendto(data, src)
                except OSError:
                    time.sleep(0.001)
                if blast > 1:
                    time.sleep(0.0002)
    threading.Thread(target=run, daemon=True).start()

def closed_within(s, secs):
    end = time.time() + secs
    while time.time() < end:
        r, _, _ = select.select([s], [], [], 0.2)
        if r:
            try:
                if s.recv(65536) == b"":
                    return True
            except OSError:
                return True
    return False

lock = threading.Lock()

def keepalive(s):
    # the good client is never idle: a datagram to a closed port each 0.5 s
    while True:
        with lock:
            s.sendall(dgram(5557, b"k" * 20))
        time.sleep(0.5)

def good_roundtrip(s, n):
    payload = b"zt-relay-check-%04d" % n
    with lock:
        s.sendall(dgram(5555, payload))
    want = dgram(5555, payload)
    got = b""
    end = time.time() + 3
    while len(got) < len(want) and time.time() < end:
        r, _, _ = select.select([s], [], [], 0.2)
        if r:
            got += s.recv(4096)
    return got == want

def report(ok, name):
    print(("ok" if ok else "not ok") + " " + name, flush=True)

def whoami(port):
    # answers each datagram with the address it came from
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("198.18.0.99", port))
    def run():
        while True:
            data, src = u.recvfrom(4096)
            u.sendto(("from %s:%d" % src).encode().ljust(24), src)
    threading.Thread(target=run, daemon=True).start()

def seen_as(s):
    s.sendall(dgram(5558, b"who am i, relay?"))
    got = b""
    end = time.time() + 3
    while time.time() < end and len(got) < 5 + 7 + 24:
        r, _, _ = select.select([s], [], [], 0.2)
        if r:
            got += s.recv(4096)
    return got[5 + 7:].strip()

echo(5555, 1)
echo(5556, 15000)
whoami(5558)
good = socket.create_connection(RELAY)
good.sendall(HELLO)
threading.Thread(target=keepalive, args=(good,), daemon=True).start()
report(good_roundtrip(good, 0), "a good client's datagram goes out and its echo comes back")

two = [socket.create_connection(RELAY) for _ in range(2)]
for c in two:
    c.sendall(HELLO)
seen = [seen_as(c) for c in two]
report(all(x.startswith(b"from 198.18.0.3:") for x in seen) and seen[0] != seen[1],
       "two clients from one address each have a socket of their own (%s)" % b", ".join(seen).decode())
for c in two:
    c.close()

def bad(first, name):
    s = socket.create_connection(RELAY)
    s.sendall(first)
    report(closed_within(s, 3) and good_roundtrip(good, 1), name)

bad(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "garbage is closed; the good client goes on")
bad(HELLO + bytes([0x17, 3, 3, 0xff, 0xff]) + b"x" * 100, "a record over the limit is closed; the good client goes on")
bad(HELLO + rec(bytes([9]) + b"y" * 30), "an unknown address type is closed; the good client goes on")
s = socket.create_connection(RELAY)
report(closed_within(s, 6) and good_roundtrip(good, 2), "a silent (half-open) client is closed after idle")
s = socket.create_connection(RELAY)
s.sendall(HELLO + bytes([0x17, 3]))
report(closed_within(s, 6) and good_roundtrip(good, 3), "a client stuck in a record is closed after idle")

slow = socket.socket()
slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
slow.connect(RELAY)
slow.sendall(HELLO + dgram(5556, b"s" * 1400))
end = time.time() + 20
while time.time() < end:
    time.sleep(0.5)
    if open(sys.argv[1]).read().count("slow reader"):
        break
report(open(sys.argv[1]).read().count("slow reader") == 1 and good_roundtrip(good, 4),
       "a slow reader is closed; the good client goes on")

resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
idle = []
for i in range(10000):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(RELAY)
    idle.append(c)
    if i % 500 == 499:
        time.sleep(0.1)
time.sleep(1)
report(good_roundtrip(good, 5), "with 10,000 idle connections the good client goes on")
rss = int([l for l in open("/proc/%s/status" % sys.argv[2]) if l.startswith("VmRSS")][0].split()[1])
report(rss < 65536, "the relay's memory stays bounded (%d KiB)" % rss)
for c in idle:
    c.close()
time.sleep(5)
report(good_roundtrip(good, 6), "after the idle ones go, the good client goes on")
PY

ns_exec x python3 "$ns_tmp/clients.py" "$ns_tmp/relay/log" "$zt_pid_relay" > "$ns_tmp/out" 2>&1
while read -r verdict rest; do
	case $verdict in
	ok) ok 0 "$rest" ;;
	not) ok 1 "${rest#ok }" ;;
	*) diag "$verdict $rest" ;;
	esac
done < "$ns_tmp/out"
log=$ns_tmp/relay/log
like "$(grep -c 'closed: ' "$log")" '^[0-9]{4,}$' "each closed client has a log line ($(grep -c 'closed: ' "$log"))"
kill -0 "$zt_pid_relay"; ok $? "the relay is still running"
like "$(grep -o 'closed: [a-z]*' "$log" | sort | uniq -c | tr '\n' ' ')" 'closed: idle .*closed: not .*closed: record .*closed: slow .*closed: unknown' \
	"the log names why each was closed"
[ $tap_failed -eq 0 ] || sed 's/^/#   /' "$log" | grep -v '[0-9]* clients already' | head -60
tap_done
