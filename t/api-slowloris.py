#!/usr/bin/env python3
"""A slowloris against an HTTP server, for t/api-slowloris.sh.

    api-slowloris.py HOST PORT N RATE STATS

Opens N connections to HOST:PORT, each sending half a request header and
then one more header line a second, never the blank line that ends it.
A connection the server closes is opened again, at most RATE a second
(a steady pressure, not a flood of connects that would only test the
scheduler).  Prints "ready" once all N were opened, then runs until
SIGTERM and writes "opened O closed C" to STATS: O connections opened in
all, C of them closed by the server.
"""
import resource
import selectors
import signal
import socket
import sys
import time

HALF = b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 0\r\n"


def main():
    host, port, n, rate, stats = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                  float(sys.argv[4]), sys.argv[5])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))
    sel = selectors.DefaultSelector()
    count = {"opened": 0, "closed": 0}
    running = [True]

    def stop(*_):
        running[0] = False

    signal.signal(signal.SIGTERM, stop)

    def open_one():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect((host, port))
            s.sendall(HALF)
        except OSError:
            s.close()
            return False
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        count["opened"] += 1
        return True

    def drop(s):
        sel.unregister(s)
        s.close()
        count["closed"] += 1

    missing = n
    while missing and running[0]:
        if open_one():
            missing -= 1
    print("ready", flush=True)
    next_drip = time.monotonic() + 1
    allowance, last = 0.0, time.monotonic()
    while running[0]:
        for key, _ in sel.select(timeout=0.2):
            try:
                data = key.fileobj.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                drop(key.fileobj)
                missing += 1
        if time.monotonic() >= next_drip:
            next_drip += 1
            for key in list(sel.get_map().values()):
                try:
                    key.fileobj.send(b"X-Slow: 1\r\n")
                except OSError:
                    drop(key.fileobj)
                    missing += 1
        now = time.monotonic()
        allowance = min(rate, allowance + (now - last) * rate)
        last = now
        while missing and running[0] and allowance >= 1 and open_one():
            missing -= 1
            allowance -= 1
    with open(stats, "w") as f:
        f.write("opened %d closed %d\n" % (count["opened"], count["closed"]))


main()
