/* LAN beacons (zt-lan(7)): the reference's 13-byte beacon, and zt's own
 * that carries the sender's public identity, signed, so that two nodes
 * that never met can HELLO each other with no root reachable.
 *
 * zt's beacon is shaped so that a reference node drops it by the
 * classification of wire.md §3.6: byte 13 is 0xFF, so it is a fragment;
 * its destination is the nil address (no node's, so never "for us") and
 * its hop count is 7, so no root or trusted path relays it (hops >= 3);
 * and its fragment count is 0, which fails 1 < N <= 7 were it ever taken
 * for ours.
 *
 *   0   8  random
 *   8   5  00 00 00 00 00      destination: nil
 *   13  1  ff                  fragment indicator
 *   14  1  00                  fragment count and number: none
 *   15  1  07                  hop count 7
 *   16  4  "ZTLB"
 *   20  1  version (1)
 *   21  8  sender's clock, ms (big-endian)
 *   29  2  length L of the identity
 *   31  L  public identity (binary form, wire.md §1.6)
 *   31+L 96 signature by that identity of bytes 0 .. 31+L */
#ifndef ZT_BEACON_H
#define ZT_BEACON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zt/identity.h>

#define ZT_BEACON_LEGACY_LEN 13
#define ZT_BEACON_VERSION 1
#define ZT_BEACON_HDR 31
#define ZT_BEACON_MAX (ZT_BEACON_HDR + ZT_ID_BIN_PUB + ZT_SIG_LEN)

/* A decoded zt beacon; sig points into the datagram. */
struct zt_beacon {
	struct zt_identity id;    /* public part */
	int64_t timestamp;
	const uint8_t *sig;       /* ZT_SIG_LEN bytes */
	size_t signed_len;        /* bytes 0 .. signed_len are signed */
};

/* The reference's beacon: 8 random bytes and the address. */
void zt_beacon_legacy_encode(uint64_t address, uint8_t out[ZT_BEACON_LEGACY_LEN]);
/* zt's beacon of self (with its private key), signed.  Its length, or a
 * negative errno (-ENOSPC: cap too small, -EINVAL: no private key). */
int zt_beacon_encode(const struct zt_identity *self, int64_t now, uint8_t *out, size_t cap);
/* Has the shape of zt's beacon (the fixed bytes 8..20). */
bool zt_beacon_is(const uint8_t *p, size_t len);
/* Parse one (no signature check): 0, or -EINVAL (a field is wrong:
 * version, identity, length) with *why naming it. */
int zt_beacon_decode(struct zt_beacon *b, const uint8_t *p, size_t len, const char **why);
/* The signature is the identity's over the signed bytes of p. */
bool zt_beacon_verify(const struct zt_beacon *b, const uint8_t *p);

#endif
