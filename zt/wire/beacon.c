/* LAN beacons: see <zt/beacon.h> and zt-lan(7). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include <zt/beacon.h>

static const uint8_t beacon_fixed[] = {
	0, 0, 0, 0, 0,            /* destination: nil */
	0xff, 0x00, 0x07,         /* fragment, count 0, hops 7 */
	'Z', 'T', 'L', 'B', ZT_BEACON_VERSION,
};
#define BEACON_FIXED_AT 8

void zt_beacon_legacy_encode(uint64_t address, uint8_t out[ZT_BEACON_LEGACY_LEN])
{
	randombytes_buf(out, 8);
	zt_address_write(address, out + 8);
}

int zt_beacon_encode(const struct zt_identity *self, int64_t now, uint8_t *out, size_t cap)
{
	size_t idlen, len;

	if (!self->has_private)
		return -EINVAL;
	if (cap < ZT_BEACON_MAX)
		return -ENOSPC;
	randombytes_buf(out, 8);
	memcpy(out + BEACON_FIXED_AT, beacon_fixed, sizeof beacon_fixed);
	for (int i = 0; i < 8; i++)
		out[21 + i] = (uint8_t)((uint64_t)now >> (56 - 8 * i));
	idlen = zt_identity_to_bin(self, out + ZT_BEACON_HDR, false);
	out[29] = (uint8_t)(idlen >> 8);
	out[30] = (uint8_t)idlen;
	len = ZT_BEACON_HDR + idlen;
	if (zt_sign(self, out, len, out + len) < 0)
		return -EINVAL;
	return (int)(len + ZT_SIG_LEN);
}

bool zt_beacon_is(const uint8_t *p, size_t len)
{
	/* version excluded: a later one is still a beacon, refused by name */
	return len >= ZT_BEACON_HDR &&
	       memcmp(p + BEACON_FIXED_AT, beacon_fixed, sizeof beacon_fixed - 1) == 0;
}

int zt_beacon_decode(struct zt_beacon *b, const uint8_t *p, size_t len, const char **why)
{
	size_t idlen;
	int n;

	if (!zt_beacon_is(p, len)) {
		*why = "not a beacon";
		return -EINVAL;
	}
	if (p[20] != ZT_BEACON_VERSION) {
		*why = "unknown version";
		return -EINVAL;
	}
	idlen = (size_t)p[29] << 8 | p[30];
	if (idlen > len - ZT_BEACON_HDR || len - ZT_BEACON_HDR - idlen != ZT_SIG_LEN) {
		*why = "wrong length";
		return -EINVAL;
	}
	n = zt_identity_from_bin(&b->id, p + ZT_BEACON_HDR, idlen);
	if (n < 0 || (size_t)n != idlen || b->id.has_private) {
		*why = "malformed identity";
		return -EINVAL;
	}
	b->timestamp = 0;
	for (int i = 0; i < 8; i++)
		b->timestamp = (int64_t)((uint64_t)b->timestamp << 8 | p[21 + i]);
	b->signed_len = ZT_BEACON_HDR + idlen;
	b->sig = p + b->signed_len;
	return 0;
}

bool zt_beacon_verify(const struct zt_beacon *b, const uint8_t *p)
{
	return zt_sig_verify(b->id.pub, p, b->signed_len, b->sig, ZT_SIG_LEN);
}
