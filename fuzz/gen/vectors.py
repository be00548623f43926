#!/usr/bin/env python3
"""Seeds made from the test vectors (t/vectors/, copied from the spec's
vectors): ZeroTier One 1.14.1's own packets, worlds, identities, network
configs and credentials, laid out as each fuzz target reads its input.

Usage: fuzz/gen/vectors.py [VECTORS_DIR [SEEDS_DIR]]
(defaults: t/vectors and fuzz/seeds beside this script).  Writes only the
seeds listed here; the other files of fuzz/seeds/<target>/ come from the
other generators of fuzz/gen/ or are written by hand (fuzz/README)."""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '..', '..', 't', 'vectors')
SEEDS = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, '..', 'seeds')


def fields(name):
    """The 'key: value' lines of a vector file, in order."""
    out = []
    with open(os.path.join(VECTORS, name)) as f:
        for line in f:
            m = re.match(r'([\w.\-]+): ?(.*?)\s*$', line)
            if m and not line.startswith('#'):
                out.append((m.group(1), m.group(2)))
    return out


def first(name, key, nth=0):
    """The nth value of key in a vector file."""
    vals = [v for k, v in fields(name) if k == key]
    return vals[nth]


def packets():
    """packets.txt: {(scenario, packet): {key: value}}."""
    out, cur, scen = {}, None, None
    for k, v in fields('packets.txt'):
        if k == 'scenario':
            scen = int(v.split()[0])
        elif k == 'packet':
            cur = out.setdefault((scen, int(v)), {})
        elif cur is not None:
            cur.setdefault(k, v)
    return out


def kind_blocks(name, kind):
    """identities.txt blocks of one kind ('valid', 'invalid'), in order."""
    blocks, cur = [], None
    for k, v in fields(name):
        if k == 'kind':
            cur = {} if v == kind else None
            if cur is not None:
                blocks.append(cur)
        elif cur is not None:
            cur.setdefault(k, v)
    return blocks


def write(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def main():
    pk = packets()
    wire = lambda n: bytes.fromhex(pk[(1, n)]['udp_payload_hex'])
    # the payload after the verb byte, as the verb decoders take it
    payload = lambda n: bytes.fromhex(pk[(1, n)]['plaintext_from_verb_hex'])[1:]
    h = lambda name, key: bytes.fromhex(first(name, key))

    # packet-decode: one payload of each verb of scenario 1 (echo: empty)
    for name, n in [('hello', 0), ('ok', 2), ('whois', 5), ('network_config_request', 16),
                    ('multicast_like', 17), ('multicast_gather', 33), ('network_credentials', 57),
                    ('multicast_frame', 60), ('rendezvous', 61), ('push_direct_paths', 65),
                    ('frame', 83)]:
        write('packet-decode', name, payload(n))
    write('packet-decode', 'datagram', wire(0))
    write('packet-decode', 'echo', b'')

    # dearmor-fuzz: whole datagrams as received (short: the 4-byte TTL-2 junk)
    for name, n in [('hello', 0), ('ok', 2), ('whois', 5), ('network_config_request', 16),
                    ('short', 63), ('frame', 83)]:
        write('dearmor-fuzz', name, wire(n))

    # fragment-reasm: records [2] length [1] time step (ms/64) [bytes]
    rec = lambda data, step: struct.pack('>HB', len(data), step) + data
    write('fragment-reasm', 'whole', rec(wire(1), 0))
    write('fragment-reasm', 'assembled0', rec(wire(108), 1) + rec(wire(109), 1))
    write('fragment-reasm', 'reversed0', rec(wire(109), 1) + rec(wire(108), 1))

    # tcp-frame: the greeting record, then packet 0 relayed from 198.18.0.1/10001
    tls = lambda body: b'\x17\x03\x03' + struct.pack('>H', len(body)) + body
    greeting = tls(bytes([0x01, 0x0e, 0x00, 0x01]))
    v4 = bytes([4, 198, 18, 0, 1]) + struct.pack('>H', 10001)
    write('tcp-frame', 'greeting-v4', greeting + tls(v4 + wire(0)))

    # dict-parse: the config and the request metadata of networks.txt
    write('dict-parse', 'config', h('networks.txt', 'config_dictionary'))
    write('dict-parse', 'metadata', h('networks.txt', 'request_metadata'))

    # netconf-parse: the first byte picks the decoder (fuzz/netconf-parse.c)
    write('netconf-parse', 'config', b'\x00' + h('networks.txt', 'config_dictionary'))
    chunk = h('networks.txt', 'config_chunk_body')
    write('netconf-parse', 'chunk', b'\x01' + struct.pack('>H', len(chunk)) + chunk)
    write('netconf-parse', 'credentials', b'\x02' + h('networks.txt', 'network_credentials_payload'))
    write('netconf-parse', 'creds-packet', b'\x02' + payload(57))
    write('netconf-parse', 'ncreq', b'\x03' + payload(16))
    for kind in ('com', 'capability', 'tag', 'coo', 'revocation'):
        write('netconf-parse', kind, b'\x04' + h('networks.txt', kind))

    # world-parse: the default planet and the test-bed worlds
    write('world-parse', 'earth', h('planet-earth.txt', 'planet_hex'))
    for name in ('planet_v1', 'planet_v2', 'moon'):
        write('world-parse', name, h('planet-testbed.txt', name + '_hex'))

    # identity-text-fuzz: text forms, binary forms, and the invalid ones
    write('identity-text-fuzz', 'public', first('signatures.txt', 'signer_public').encode())
    write('identity-text-fuzz', 'secret', first('signatures.txt', 'signer_secret').encode())
    valid = kind_blocks('identities.txt', 'valid')[0]
    write('identity-text-fuzz', 'public-bin', bytes.fromhex(valid['public_bin']))
    write('identity-text-fuzz', 'secret-bin', bytes.fromhex(valid['secret_bin']))
    for i, b in enumerate(kind_blocks('identities.txt', 'invalid')[:3]):
        write('identity-text-fuzz', 'invalid%d' % i, b['public'].encode())


if __name__ == '__main__':
    main()
