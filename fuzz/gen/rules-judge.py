#!/usr/bin/env python3
"""Seeds of fuzz/rules-judge: rule tables (networks.md 6.1), tags,
capabilities and frames in the target's input layout (fuzz/rules-judge.c),
one seed per kind of match the policy reads from a frame.

Usage: fuzz/gen/rules-judge.py [OUTDIR]   (default fuzz/seeds/rules-judge)
"""
import ipaddress
import os
import struct
import sys

INBOUND, UNKNOWN_MATCH, NO_COPY, CANNOT_COPY, DEST_UNKNOWN = 1, 2, 4, 8, 16
SELF, PEER, OTHER = 0x1111111111, 0x2222222222, 0x3333333333


def entry(t, value=b"", neg=False, orr=False):
    return bytes([t | (0x80 if neg else 0) | (0x40 if orr else 0), len(value)]) + value


DROP, ACCEPT, BREAK = entry(0), entry(1), entry(5)


def forward(t, to, length=0):
    return entry(t, struct.pack(">QIH", to, 0, length))


def ethertype(e, neg=False):
    return entry(37, struct.pack(">H", e), neg)


def ipproto(p):
    return entry(36, bytes([p]))


def dport(a, b):
    return entry(40, struct.pack(">HH", a, b))


def tag(t, tid, value):
    return entry(t, struct.pack(">II", tid, value))


def seed(table, frame, flags=INBOUND, own=(), peer=(), caps=()):
    out = bytes([flags, len(own) | len(peer) << 2])
    for tid, value in list(own) + list(peer):
        out += struct.pack(">II", tid, value)
    out += bytes([len(caps)])
    for cid, rules in caps:
        out += struct.pack(">IH", cid, len(rules)) + rules
    return out + struct.pack(">H", len(table)) + table + frame


MAC_SELF, MAC_PEER = bytes.fromhex("021111111111"), bytes.fromhex("022222222222")


def eth(etype, payload, dst=MAC_SELF, src=MAC_PEER):
    return dst + src + struct.pack(">H", etype) + payload


def ipv4(proto, payload, src="198.19.0.2", dst="198.19.0.1", tos=0):
    a = bytes(int(x) for x in src.split(".")) + bytes(int(x) for x in dst.split("."))
    head = struct.pack(">BBHHHBBH", 0x45, tos, 20 + len(payload), 1, 0, 64, proto, 0) + a
    return eth(0x0800, head + payload)


def ipv6(nh, payload, src="fd00::2", dst="fd00::1"):
    a = ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
    return eth(0x86DD, struct.pack(">IHBB", 0x60000000, len(payload), nh, 64) + a + payload)


def tcp(sport, dport_, flags):
    return struct.pack(">HHIIBBHHH", sport, dport_, 1, 0, 0x50, flags, 65535, 0, 0)


def udp(sport, dport_, data=b"zt"):
    return struct.pack(">HHHH", sport, dport_, 8 + len(data), 0) + data


SEEDS = {
    # the spec's example: drop what is not IPv4, accept the rest
    "example-tcp-syn": seed(ethertype(0x0800, neg=True) + DROP + ACCEPT, ipv4(6, tcp(40000, 22, 0x02))),
    # ssh dropped by port, with the TCP flags as characteristics
    "tcp-port-flags": seed(ipproto(6) + dport(22, 22) + entry(41, struct.pack(">Q", 0x02)) + DROP + ACCEPT,
                           ipv4(6, tcp(40000, 22, 0x12))),
    # ICMP echo request with its code
    "icmp-echo": seed(entry(38, bytes([8, 0, 1])) + DROP + ACCEPT, ipv4(1, bytes([8, 0, 0, 0, 0, 1, 0, 1]))),
    # IPv6 through a hop-by-hop header to UDP 53, by destination prefix
    "ipv6-hbh-udp": seed(entry(34, bytes.fromhex("fd000000000000000000000000000000") + bytes([8])) +
                         dport(53, 53) + ACCEPT + DROP,
                         ipv6(0, bytes([17, 0, 1, 4, 0, 0, 0, 0]) + udp(5353, 53))),
    # a TEE of 64 bytes to a third member, outbound
    "tee-outbound": seed(forward(2, OTHER, 64) + ACCEPT, ipv4(17, udp(1, 2, b"x" * 100)), flags=0),
    # a REDIRECT, and a WATCH of a multicast (destination unknown)
    "redirect": seed(forward(4, OTHER) + ACCEPT, ipv4(17, udp(1, 2)), flags=INBOUND),
    "watch-multicast": seed(forward(3, OTHER) + ACCEPT,
                            eth(0x0800, ipv4(17, udp(1, 2))[14:], dst=bytes.fromhex("01005e000001")),
                            flags=DEST_UNKNOWN),
    # tags: equal, sender and receiver, then a default drop
    "tags": seed(tag(48, 1, 5) + ACCEPT + tag(49, 2, 7) + tag(50, 2, 7) + ACCEPT + DROP,
                 ipv4(17, udp(1, 2)), own=[(1, 5), (2, 7)], peer=[(1, 5), (2, 7)]),
    # the base table breaks, a capability accepts UDP
    "capability": seed(BREAK, ipv4(17, udp(1, 2)), caps=[(1000, ipproto(17) + ACCEPT)]),
    # ARP by ethertype, an integer range on its opcode (a big-endian field is
    # the low end of an 8-byte window at its index: 0 for bytes 6-7), a frame
    # size range
    "arp-integer": seed(ethertype(0x0806) + entry(51, struct.pack(">QQHB", 1, 2, 0, 15)) +
                        entry(42, struct.pack(">HH", 0, 1500)) + ACCEPT + DROP,
                        eth(0x0806, bytes.fromhex("0001080006040001") + MAC_PEER + bytes(4) + bytes(6) + bytes(4))),
    # an unknown match type with the config's flag, and a random match
    "unknown-random": seed(entry(60, b"\x01\x02") + entry(43, struct.pack(">I", 0x80000000)) + ACCEPT + DROP,
                           ipv4(17, udp(1, 2)), flags=INBOUND | UNKNOWN_MATCH),
    # a frame shorter than its Ethernet header
    "short-frame": seed(ACCEPT, bytes(10)),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "seeds", "rules-judge")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
