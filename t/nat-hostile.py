#!/usr/bin/env python3
# A hostile gateway for t/nat-bad.sh, on the LAN address argv[1]: every
# NAT-PMP or PCP request (port 5351) gets a burst of malformed, forged and
# oversize answers and random junk; SSDP searches get answers pointing at
# an HTTP server that sends junk, or at nowhere.
import os, random, socket, struct, sys, threading

lan = sys.argv[1]

def pcp_answer(req, nonce=None, result=0, port=40000, length=60):
    a = bytearray(req[:60].ljust(60, b"\0"))
    a[1] |= 0x80
    a[3] = result
    a[4:8] = struct.pack("!I", 3600)
    a[8:12] = struct.pack("!I", 1)
    if nonce is not None:
        a[24:36] = nonce
    a[42:44] = struct.pack("!H", port)
    return bytes(a[:length]) if length <= 60 else bytes(a) + os.urandom(length - 60)

def answers(req):
    out = [b"", b"\x00", b"\x02", os.urandom(7), os.urandom(2000), b"\x00" * 1200]
    if req[:1] == b"\x00":   # NAT-PMP
        out += [
            b"\x01\x80\x00\x00" + b"\x00" * 8,                       # version 1
            b"\x00\x05\x00\x00" + b"\x00" * 8,                       # opcode < 128
            b"\x00\x80\x00\x00" + b"\x00" * 8,                       # public address 0
            b"\x00\x81\x00\x00\x00\x00\x00\x01" + struct.pack("!HHI", 1234, 0, 0),  # other port, port 0
            b"\x00\x81\x00\x00" + b"\x00" * 20,                      # 24 bytes
        ]
    else:                    # PCP
        out += [
            pcp_answer(req, nonce=os.urandom(12)),                  # another nonce
            pcp_answer(req, port=0),                                # success without a port
            pcp_answer(req, length=58),                             # not a multiple of 4
            pcp_answer(req) + b"\x12\x00\x00\x40",                  # option past the end
            bytes([1]) + pcp_answer(req)[1:],                        # version 1
            pcp_answer(req)[:1] + b"\x01" + pcp_answer(req)[2:],     # a request
        ]
    out += [os.urandom(random.randint(1, 100)) for _ in range(40)]
    return out

def natpmp_pcp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((lan, 5351))
    while True:
        req, peer = s.recvfrom(2048)
        for a in answers(req):
            s.sendto(a, peer)

def ssdp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", 1900))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton("239.255.255.250") + socket.inet_aton(lan))
    while True:
        req, peer = s.recvfrom(4096)
        for loc in ("http://%s:5000/rootDesc.xml" % lan, "http://%s:1/x" % lan, "x" * 3000):
            s.sendto(("HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
                      "LOCATION: %s\r\nUSN: uuid:x\r\n\r\n" % loc).encode(), peer)

def http():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((lan, 5000))
    s.listen(16)
    while True:
        c, _ = s.accept()
        try:
            c.recv(4096)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n<root><device>" + os.urandom(20000))
        except OSError:
            pass
        c.close()

for f in (natpmp_pcp, ssdp):
    threading.Thread(target=f, daemon=True).start()
http()
