/* libFuzzer: dearmor, LZ4 and the HELLO tail on arbitrary datagrams, and
 * armor→dearmor on arbitrary plaintexts (which must come back intact). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <zt/crypto.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct zt_peer_key key;
static bool ready;

static void key_setup(void)
{
	struct zt_identity a = { .has_private = true }, b = { .has_private = true };

	memset(a.priv, 0x11, sizeof a.priv);
	memset(b.priv, 0x22, sizeof b.priv);
	zt_identity_derive_public(a.priv, a.pub);
	zt_identity_derive_public(b.priv, b.pub);
	if (zt_peer_key_agree(&key, &a, &b) != 0)
		abort();
	ready = true;
}

static void receive(const uint8_t *data, size_t size)
{
	static uint8_t pkt[ZT_PKT_MAX], out[ZT_PKT_MAX];

	if (size > ZT_PKT_MAX)
		return;
	memcpy(pkt, data, size);
	if (zt_dearmor(&key, pkt, size) != 0)
		return;
	if (pkt[ZT_PKT_IDX_VERB] & ZT_PKT_VERB_COMPRESSED) {
		int n = zt_packet_decompress(pkt, size, out, sizeof out);

		if (n > ZT_PKT_MAX)
			abort();
	}
	zt_hello_crypt(&key, pkt, size, ZT_PKT_MIN + (size > ZT_PKT_MIN ? pkt[ZT_PKT_MIN] % (size - ZT_PKT_MIN) : 0));
}

static void round_trip(const uint8_t *data, size_t size)
{
	static const unsigned suites[4] = { 0, 1, 3, 3 };
	static uint8_t pkt[ZT_PKT_MAX], orig[ZT_PKT_MAX];
	unsigned suite;

	if (size < ZT_PKT_MIN || size > ZT_PKT_MAX)
		return;
	suite = suites[data[ZT_PKT_IDX_MAC] & 3];
	memcpy(pkt, data, size);
	if (zt_armor(&key, pkt, size, suite) != 0)
		abort();
	memcpy(orig, pkt, ZT_PKT_HEADER);
	if (zt_dearmor(&key, pkt, size) != 0 || memcmp(pkt, orig, ZT_PKT_HEADER) != 0 ||
	    memcmp(pkt + ZT_PKT_HEADER, data + ZT_PKT_HEADER, size - ZT_PKT_HEADER) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		key_setup();
	receive(data, size);
	round_trip(data, size);
	return 0;
}
