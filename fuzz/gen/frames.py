#!/usr/bin/env python3
"""Seeds of the targets that read frames and small binary messages, built
field by field (checksums computed) as a host, a gateway, a resolver or
the tcp relay would send them:

  neigh-parse    ARP request and reply, NDP NS and NA on Ethernet
  ndp-advert     NDP neighbour solicitations for a member's rfc4193 and
                 6PLANE addresses (fuzz/ndp-advert.c's network and node)
  pcp-answer     PCP ANNOUNCE, MAP (granted, refused) and PEER answers
  dns-query      DNS queries for the lab.zt.test zone of fuzz/dns-query.c
  inetaddr-parse InetAddress binary forms (nil, IPv4, IPv6) and text forms
  tcp-frame      a record cut in the middle, and an IPv6-addressed datagram
  beacon-parse   the legacy 13-byte LAN beacon
  offload        frames a host hands the tap or utun port with their
                 virtio_net_hdr: TCPv4 super-frames to segment (plain
                 and ECN), a plain TCPv4 frame, a UDPv6 frame whose
                 checksum the port is asked to finish

Usage: fuzz/gen/frames.py [VECTORS_DIR [SEEDS_DIR]] (defaults: t/vectors
and fuzz/seeds beside this script).  The datagram inside tcp-frame's
records is packet 0 of scenario 1 in packets.txt."""
import ipaddress
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '..', '..', 't', 'vectors')
SEEDS = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, '..', 'seeds')


def write(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def mac(text):
    return bytes.fromhex(text.replace(':', ''))


def ip6(text):
    return ipaddress.IPv6Address(text).packed


def ip4(text):
    return ipaddress.IPv4Address(text).packed


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('>%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def icmp6(src, dst, icmp_type, body):
    """An IPv6 packet (hop limit 255) carrying ICMPv6, checksum filled."""
    msg = bytes([icmp_type, 0]) + b'\0\0' + body
    pseudo = src + dst + struct.pack('>IxxxB', len(msg), 58)
    msg = msg[:2] + struct.pack('>H', csum(pseudo + msg)) + msg[4:]
    return struct.pack('>IHBB', 0x60000000, len(msg), 58, 255) + src + dst + msg


def ns(src, dst, target, sll=None):
    """Neighbour solicitation, with a source link-layer address option."""
    body = b'\0' * 4 + target + (bytes([1, 1]) + sll if sll else b'')
    return icmp6(src, dst, 135, body)


def na(src, dst, target, tll):
    """Solicited, override neighbour advertisement, target link-layer option."""
    return icmp6(src, dst, 136, bytes([0x60, 0, 0, 0]) + target + bytes([2, 1]) + tll)


def ether(dst, src, ethertype, payload):
    return mac(dst) + mac(src) + struct.pack('>H', ethertype) + payload


def arp(op, sha, spa, tha, tpa):
    return struct.pack('>HHBBH', 1, 0x0800, 6, 4, op) + mac(sha) + ip4(spa) + mac(tha) + ip4(tpa)


def solicited_node(addr):
    return ip6('ff02::1:ff00:0')[:13] + addr[13:]


def neigh():
    a, b = '02:92:bf:8d:b6:29', '02:eb:17:d0:df:38'
    write('neigh-parse', 'arp-request', ether('ff:ff:ff:ff:ff:ff', a, 0x0806,
                                              arp(1, a, '198.19.1.5', '00:00:00:00:00:00', '198.19.1.6')))
    write('neigh-parse', 'arp-reply', ether(a, b, 0x0806, arp(2, b, '198.19.1.6', a, '198.19.1.5')))
    five, six = ip6('fd00::5'), ip6('fd00::6')
    write('neigh-parse', 'ndp-ns', ether('33:33:ff:00:00:06', a, 0x86dd,
                                         ns(five, solicited_node(six), six, mac(a))))
    write('neigh-parse', 'ndp-na', ether(a, b, 0x86dd, na(six, five, six, mac(b))))


def ndp():
    """fuzz/ndp-advert.c: network 8056c2e21c000001, this node 89e92ceee5."""
    nwid, self_, peer = 0x8056c2e21c000001, 0x89e92ceee5, 0x92bf35da82
    host_mac = mac('02:92:bf:8d:b6:29')

    def rfc4193(node):
        return bytes([0xfd]) + nwid.to_bytes(8, 'big') + bytes([0x99, 0x93]) + node.to_bytes(5, 'big')

    def sixplane(node):
        h = (nwid >> 32 ^ nwid) & 0xffffffff
        return bytes([0xfc]) + h.to_bytes(4, 'big') + node.to_bytes(5, 'big') + bytes(5) + b'\x01'

    # a host on our port asks for another member's address...
    write('ndp-advert', 'ns-rfc4193', ns(rfc4193(self_), solicited_node(rfc4193(peer)),
                                         rfc4193(peer), host_mac))
    write('ndp-advert', 'ns-6plane', ns(sixplane(self_), solicited_node(sixplane(peer)),
                                        sixplane(peer), host_mac))
    # ... and for our own (duplicate address detection style, no option)
    write('ndp-advert', 'ns-self', ns(rfc4193(peer), solicited_node(rfc4193(self_)), rfc4193(self_)))


def pcp():
    """Answers of a gateway at 198.18.0.1 (epoch 1000 s, RFC 6887)."""
    nonce = bytes(range(12))
    mapped = ip6('::ffff:198.18.0.1')

    def head(op, result, lifetime):
        return struct.pack('>BBxBII', 2, 0x80 | op, result, lifetime, 1000) + bytes(12)

    def map_body():
        return nonce + struct.pack('>BxxxHH', 17, 9993, 40000) + mapped

    write('pcp-answer', 'announce', head(0, 0, 0))
    write('pcp-answer', 'map-ok', head(1, 0, 7200) + map_body())
    write('pcp-answer', 'map-refused', head(1, 8, 0) + map_body())
    write('pcp-answer', 'peer', head(2, 0, 120) + map_body() +
          struct.pack('>HH', 9993, 0) + ip6('::ffff:198.18.0.2'))


def dns():
    """The first byte says UDP (0) or TCP (1), as fuzz/dns-query.c reads it."""
    def qname(name):
        return b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\0'

    def query(tcp, name, qtype, edns=False):
        msg = struct.pack('>HHHHHH', 0x1234, 0x0100, 1, 0, 0, 1 if edns else 0)
        msg += qname(name) + struct.pack('>HH', qtype, 1)
        if edns:   # OPT: root name, 4096-byte UDP payload, no flags or options
            msg += b'\0' + struct.pack('>HHIH', 41, 4096, 0, 0)
        return bytes([1 if tcp else 0]) + msg

    write('dns-query', 'a', query(False, 'alpha.lab.zt.test', 1))
    write('dns-query', 'aaaa-tcp', query(True, 'big.lab.zt.test', 28))
    write('dns-query', 'any-edns', query(False, 'web.prod.lab.zt.test', 255, edns=True))
    write('dns-query', 'nx', query(False, 'nobody.lab.zt.test', 1))
    write('dns-query', 'ptr', query(False, '10.5.19.198.in-addr.arpa', 12))
    write('dns-query', 'soa', query(False, 'lab.zt.test', 6))


def inetaddr():
    write('inetaddr-parse', 'nil-bin', b'\0')
    write('inetaddr-parse', 'v4-bin', b'\x04' + ip4('198.18.0.1') + struct.pack('>H', 10001))
    write('inetaddr-parse', 'v6-bin', b'\x06' + ip6('2001:db8::1') + struct.pack('>H', 10001))
    write('inetaddr-parse', 'v4-text', b'198.18.0.1/9993')
    write('inetaddr-parse', 'v4-noport', b'198.18.0.11')
    write('inetaddr-parse', 'v6-text', b'2001:db8::1/9993')


def packet0():
    with open(os.path.join(VECTORS, 'packets.txt')) as f:
        for line in f:
            m = re.match(r'udp_payload_hex: ([0-9a-f]+)', line)
            if m:
                return bytes.fromhex(m.group(1))
    raise SystemExit('packets.txt: no datagram')


def tcp_frame():
    dgram = packet0()
    rec = lambda body, length=None: b'\x17\x03\x03' + struct.pack('>H', length or len(body)) + body
    v4 = b'\x04' + ip4('198.18.0.11') + struct.pack('>H', 10001)
    # a record whose header says 144 bytes, of which only 25 arrived
    write('tcp-frame', 'split', rec(v4 + dgram[:18], length=len(v4) + len(dgram)))
    v6 = b'\x06' + ip6('2001:db8::1') + struct.pack('>H', 10001)
    write('tcp-frame', 'v6', rec(v6 + dgram[:40]))


def beacon():
    # 8 bytes the reference fills at random, then the sender's address
    write('beacon-parse', 'legacy', bytes.fromhex('4a706b02b009f921') + (0xeb17d0df38).to_bytes(5, 'big'))


def offload():
    """fuzz/offload.c's input: a virtio_net_hdr (little-endian), 2 bytes
    that pick the MTU (1280 + n % 8721) and the Ethernet frame."""
    a, b = '02:92:bf:8d:b6:29', '02:eb:17:d0:df:38'
    needs_csum, tcpv4, ecn = 1, 1, 0x80

    def vnet(flags=0, gso=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0, mtu_pick=0):
        return struct.pack('<BBHHHH', flags, gso, hdr_len, gso_size, csum_start, csum_offset) + \
            struct.pack('>H', mtu_pick)

    def tcp4(payload):
        # checksums left 0: the port fills them in (or is asked to)
        tcp = struct.pack('>HHIIBBHHH', 40000, 80, 1000, 0, 0x50, 0x18, 0xffff, 0, 0)
        ip = struct.pack('>BBHHHBBH', 0x45, 0, 20 + len(tcp) + len(payload), 1, 0x4000, 64, 6, 0)
        return ether(b, a, 0x0800, ip + ip4('198.19.1.5') + ip4('198.19.1.6') + tcp + payload)

    def udp6(payload):
        udp = struct.pack('>HHHH', 5353, 9993, 8 + len(payload), 0) + payload
        ip = struct.pack('>IHBB', 0x60000000, len(udp), 17, 64) + ip6('fd00::5') + ip6('fd00::6')
        return ether(b, a, 0x86dd, ip + udp)

    hdr = 14 + 20 + 20   # Ethernet, IPv4, TCP: where the TCP payload starts
    write('offload', 'gso-tcp4', vnet(needs_csum, tcpv4, hdr, 1400, 34, 16, 1500 - 1280) +
          tcp4(bytes(i % 256 for i in range(3072))))
    write('offload', 'gso-tcp4-ecn', vnet(needs_csum, tcpv4 | ecn, hdr, 500, 34, 16) +
          tcp4(b'y' * 1600))
    write('offload', 'plain-tcp4', vnet(mtu_pick=2800 - 1280) + tcp4(b'x' * 100))
    write('offload', 'csum-udp6', vnet(needs_csum, csum_start=14 + 40, csum_offset=6) +
          udp6(b'hello' * 20))


if __name__ == '__main__':
    neigh()
    ndp()
    pcp()
    dns()
    inetaddr()
    tcp_frame()
    beacon()
    offload()
