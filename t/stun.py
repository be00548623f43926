#!/usr/bin/env python3
# A STUN (RFC 5389) binding server that answers from where it was asked
# (CHANGE-REQUEST is ignored, as RFC 5389 servers do): MAPPED-ADDRESS.
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, (ip, port) = s.recvfrom(2048)
    if len(data) < 20 or data[0:2] != b"\x00\x01":
        continue
    attr = struct.pack("!HHBBH4s", 0x0001, 8, 0, 1, port, socket.inet_aton(ip))
    s.sendto(struct.pack("!HH", 0x0101, len(attr)) + data[4:20] + attr, (ip, port))
