/* Armor round trips, tampering, truncation, HELLO tail and LZ4 edges
 * (wire.md §2.2, §2.4, §3.3). */
#include "config.h"

#include <errno.h>

#include <lz4.h>
#include <sodium.h>

#include <zt/crypto.h>

#include "tap.h"

static const unsigned suites[] = { 0, 1, 3 };
static const size_t lens[] = { 28, 29, 63, 64, 65, 91, 92, 93, 1400, 1432, 2900, ZT_PKT_MAX };
static uint8_t pkt[ZT_PKT_MAX], orig[ZT_PKT_MAX], out[ZT_PKT_MAX + 64];

static const char *sn(unsigned suite, const char *what)
{
	static char name[128];

	snprintf(name, sizeof name, "suite %u: %s", suite, what);
	return name;
}

static void identity_random(struct zt_identity *id)
{
	memset(id, 0, sizeof *id);
	randombytes_buf(id->priv, sizeof id->priv);
	zt_identity_derive_public(id->priv, id->pub);
	id->has_private = true;
}

static void packet_random(size_t len, uint8_t flags)
{
	randombytes_buf(orig, len);
	orig[ZT_PKT_IDX_FLAGS] = flags;
	memcpy(pkt, orig, len);
}

static bool same_but_armor(size_t len, unsigned suite)
{
	size_t from = suite == ZT_SUITE_AES_GMAC_SIV ? 8 : 0;

	return memcmp(pkt + from, orig + from, ZT_PKT_IDX_FLAGS - from) == 0 &&
	       memcmp(pkt + ZT_PKT_HEADER, orig + ZT_PKT_HEADER, len - ZT_PKT_HEADER) == 0;
}

static void test_keys(struct zt_peer_key *pa, struct zt_peer_key *pb, struct zt_peer_key *pc)
{
	struct zt_identity a, b, c, low = { 0 };
	uint8_t ka[ZT_KEY_LEN], kb[ZT_KEY_LEN];

	identity_random(&a);
	identity_random(&b);
	identity_random(&c);
	ok(zt_key_agree(&a, b.pub, ka) == 0 && zt_key_agree(&b, a.pub, kb) == 0 &&
	   memcmp(ka, kb, sizeof ka) == 0, "both sides agree on K");
	is_int(zt_key_agree(&a, low.pub, ka), -EINVAL, "all-zero X25519 public key refused");
	low.pub[0] = 1;
	is_int(zt_key_agree(&a, low.pub, ka), -EINVAL, "low-order X25519 public key (u=1) refused");
	is_int(zt_key_agree(&low, a.pub, ka), -EINVAL, "no private key, no agreement");
	ok(zt_peer_key_agree(pa, &a, &b) == 0 && zt_peer_key_agree(pb, &b, &a) == 0 &&
	   zt_peer_key_agree(pc, &a, &c) == 0, "peer keys set up");
	zt_identity_wipe(&a);
	zt_identity_wipe(&b);
	zt_identity_wipe(&c);
}

static void test_round_trips(const struct zt_peer_key *pa, const struct zt_peer_key *pb)
{
	for (size_t s = 0; s < 3; s++) {
		int fails = 0, flagbad = 0, clear = 0;

		for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
			packet_random(lens[i], (uint8_t)(i & 1 ? 0x40 : 0));
			fails += zt_armor(pa, pkt, lens[i], suites[s]) != 0;
			flagbad += zt_pkt_suite(pkt) != suites[s] ||
				   !!(pkt[ZT_PKT_IDX_FLAGS] & 0x80) != (suites[s] == 1) ||
				   (pkt[ZT_PKT_IDX_FLAGS] & 0x47) != (orig[ZT_PKT_IDX_FLAGS] & 0x47);
			clear += memcmp(pkt + ZT_PKT_HEADER, orig + ZT_PKT_HEADER,
					lens[i] - ZT_PKT_HEADER) == 0;
			pkt[ZT_PKT_IDX_FLAGS] |= 3;  /* relays change hops only */
			fails += zt_dearmor(pb, pkt, lens[i]) != 0 || !same_but_armor(lens[i], suites[s]);
		}
		is_int(fails, 0, sn(suites[s], "armor then dearmor from the other side at every length"));
		is_int(flagbad, 0, sn(suites[s], "flags: suite, legacy bit, fragment bit and hops"));
		is_int(clear, suites[s] == 0 ? 12 : 0, sn(suites[s], "payload in the clear only for suite 0"));
	}
}

/* Every bit flip outside the hop count must be refused. */
static void test_tamper(const struct zt_peer_key *pa, const struct zt_peer_key *pb,
			const struct zt_peer_key *pc)
{
	static uint8_t wire[200];
	const size_t len = sizeof wire;

	for (size_t s = 0; s < 3; s++) {
		int accepted = 0, shorter = 0;

		packet_random(len, 0);
		zt_armor(pa, pkt, len, suites[s]);
		memcpy(wire, pkt, len);
		for (size_t bit = 0; bit < len * 8; bit++) {
			if (bit / 8 == ZT_PKT_IDX_FLAGS && bit % 8 < 3)
				continue;
			memcpy(pkt, wire, len);
			pkt[bit / 8] ^= (uint8_t)(1 << (bit % 8));
			accepted += zt_dearmor(pb, pkt, len) == 0;
		}
		for (size_t l = 0; l < len; l++) {
			memcpy(pkt, wire, l);
			shorter += zt_dearmor(pb, pkt, l) == 0;
		}
		is_int(accepted, 0, sn(suites[s], "every flipped bit refused"));
		is_int(shorter, 0, sn(suites[s], "every truncation refused"));
		memcpy(pkt, wire, len);
		is_int(zt_dearmor(pc, pkt, len), -EBADMSG, sn(suites[s], "another peer's key refused"));
		memcpy(pkt, wire, len);
		is_int(zt_dearmor(pb, pkt, len), 0, sn(suites[s], "untouched packet still accepted"));
	}
}

static void test_suites(const struct zt_peer_key *pa)
{
	int bad = 0;

	packet_random(100, 0x10);
	is_int(zt_dearmor(pa, pkt, 100), -EOPNOTSUPP, "suite 2 left to the trusted-path code");
	for (unsigned s = 4; s < 8; s++) {
		pkt[ZT_PKT_IDX_FLAGS] = (uint8_t)(s << 3);
		bad += zt_dearmor(pa, pkt, 100) != -EBADMSG;
		bad += zt_armor(pa, pkt, 100, s) != -EINVAL;
	}
	is_int(bad, 0, "suites 4..7 refused both ways");
	is_int(zt_armor(pa, pkt, 100, 2), -EINVAL, "armor does not do suite 2");
	ok(zt_armor(pa, pkt, 27, 1) == -EINVAL && zt_armor(pa, pkt, ZT_PKT_MAX + 1, 1) == -EINVAL,
	   "armor refuses lengths outside 28..10024");
	ok(zt_dearmor(pa, pkt, 0) == -EBADMSG && zt_dearmor(pa, pkt, ZT_PKT_MAX + 1) == -EBADMSG,
	   "dearmor refuses lengths outside 28..10024");
}

static void test_hello(const struct zt_peer_key *pa, const struct zt_peer_key *pb)
{
	packet_random(200, 0);
	is_int(zt_hello_crypt(pa, pkt, 200, 150), 0, "HELLO tail encrypts");
	ok(memcmp(pkt, orig, 150) == 0 && memcmp(pkt + 150, orig + 150, 50) != 0,
	   "only the tail changes");
	pkt[7] ^= 7;  /* the low nonce bits are masked */
	zt_hello_crypt(pb, pkt, 200, 150);
	pkt[7] ^= 7;
	ok(memcmp(pkt, orig, 200) == 0, "the other side decrypts it");
	ok(zt_hello_crypt(pa, pkt, 200, 27) == -EINVAL && zt_hello_crypt(pa, pkt, 200, 201) == -EINVAL,
	   "tail offsets outside the payload refused");
	is_int(zt_hello_crypt(pa, pkt, 200, 200), 0, "an empty tail is fine");
}

static void lz4_packet(size_t plen)
{
	orig[ZT_PKT_IDX_VERB] = 0x0b;
	for (size_t i = 0; i < plen; i++)
		orig[ZT_PKT_MIN + i] = (uint8_t)("zerotier"[i % 8] + i / 512);
}

static void test_lz4(void)
{
	static uint8_t big[12000], comp[LZ4_COMPRESSBOUND(12000) + ZT_PKT_MIN];
	int n, m, bad = 0;

	packet_random(ZT_PKT_MAX, 0);
	lz4_packet(2000);
	n = zt_packet_compress(orig, ZT_PKT_MIN + 2000, out, sizeof out);
	ok(n > ZT_PKT_MIN && n < ZT_PKT_MIN + 2000 && (out[ZT_PKT_IDX_VERB] & 0x80),
	   "compressible payload compressed, flag set");
	m = zt_packet_decompress(out, (size_t)n, pkt, sizeof pkt);
	ok(m == ZT_PKT_MIN + 2000 && memcmp(pkt, orig, (size_t)m) == 0, "and decompressed back");
	/* LZ4 blocks carry no length: a cut at a sequence boundary is a valid
	 * shorter block (the MAC is what protects the bytes) */
	for (int l = 0; l < n; l++)
		bad += zt_packet_decompress(out, (size_t)l, pkt, sizeof pkt) >= m;
	is_int(bad, 0, "every truncated compressed packet refused or shorter");
	is_int(zt_packet_decompress(out, (size_t)n, pkt, 1000), -EBADMSG, "result too big for the buffer");
	is_int(zt_packet_decompress(orig, 200, pkt, sizeof pkt), -EINVAL, "uncompressed packet refused");

	packet_random(300, 0);
	is_int(zt_packet_compress(orig, 300, out, sizeof out), 0, "random payload left alone");
	lz4_packet(64);
	is_int(zt_packet_compress(orig, ZT_PKT_MIN + 64, out, sizeof out), 0,
	       "payload of 64 bytes left alone");
	lz4_packet(ZT_PKT_PAYLOAD_MAX);
	n = zt_packet_compress(orig, ZT_PKT_MAX, out, sizeof out);
	ok(n > 0 && zt_packet_decompress(out, (size_t)n, pkt, sizeof pkt) == ZT_PKT_MAX,
	   "9996-byte payload round trip");

	memset(big, 'z', sizeof big);
	memcpy(comp, orig, ZT_PKT_MIN);
	comp[ZT_PKT_IDX_VERB] |= 0x80;
	n = LZ4_compress_default((char *)big, (char *)comp + ZT_PKT_MIN, sizeof big,
				 (int)sizeof comp - ZT_PKT_MIN);
	is_int(zt_packet_decompress(comp, (size_t)n + ZT_PKT_MIN, pkt, sizeof pkt), -EBADMSG,
	       "payload expanding past 9996 bytes refused");
	memset(comp + ZT_PKT_MIN, 0xf0, 100);
	is_int(zt_packet_decompress(comp, ZT_PKT_MIN + 100, pkt, sizeof pkt), -EBADMSG,
	       "garbage refused");
}

/* A key given another K in place (a root's shared contexts) armors as
 * one made for that K; a key of K alone does suites 0 and 1, not 3. */
static void test_rekey(const struct zt_peer_key *pa, const struct zt_peer_key *pb, const struct zt_peer_key *pc)
{
	struct zt_peer_key moved, konly = { 0 };
	uint8_t k0[ZT_AES_KEY_LEN], k1[ZT_AES_KEY_LEN];

	ok(zt_peer_key_init(&moved, pc->k) == 0 && zt_aes_keys_derive(pa->k, k0, k1) == 0 &&
	   zt_peer_key_rekey(&moved, pa->k, k0, k1) == 0, "a key re-keyed");
	packet_random(300, 0);
	is_int(zt_armor(&moved, pkt, 300, ZT_SUITE_AES_GMAC_SIV), 0, "re-keyed: armors");
	is_int(zt_dearmor(pb, pkt, 300), 0, "the other side opens it");
	packet_random(300, 0);
	zt_armor(pb, pkt, 300, ZT_SUITE_AES_GMAC_SIV);
	ok(zt_dearmor(&moved, pkt, 300) == 0 && memcmp(pkt + ZT_PKT_HEADER, orig + ZT_PKT_HEADER, 300 - ZT_PKT_HEADER) == 0,
	   "re-keyed: opens the other side's");
	packet_random(300, 0);
	zt_armor(pc, pkt, 300, ZT_SUITE_AES_GMAC_SIV);
	is_int(zt_dearmor(&moved, pkt, 300), -EBADMSG, "re-keyed: the old K's packets no longer open");
	zt_peer_key_clear(&moved);
	memcpy(konly.k, pa->k, ZT_KEY_LEN);
	packet_random(300, 0);
	ok(zt_armor(&konly, pkt, 300, ZT_SUITE_POLY1305_SALSA2012) == 0 && zt_dearmor(pb, pkt, 300) == 0,
	   "K alone: salsa2012 works");
	packet_random(300, 0);
	ok(zt_armor(&konly, pkt, 300, ZT_SUITE_AES_GMAC_SIV) == -EINVAL, "K alone: AES-GMAC-SIV refused, no crash");
	zt_armor(pb, pkt, 300, ZT_SUITE_AES_GMAC_SIV);
	is_int(zt_dearmor(&konly, pkt, 300), -EBADMSG, "K alone: an AES-GMAC-SIV packet does not open");
}

int main(void)
{
	struct zt_peer_key pa, pb, pc;

	if (sodium_init() < 0)
		bail("sodium_init");
	plan(5 + 9 + 12 + 5 + 5 + 10 + 8);
	test_keys(&pa, &pb, &pc);
	test_round_trips(&pa, &pb);
	test_tamper(&pa, &pb, &pc);
	test_suites(&pa);
	test_hello(&pa, &pb);
	test_lz4();
	test_rekey(&pa, &pb, &pc);
	zt_peer_key_clear(&pa);
	zt_peer_key_clear(&pb);
	zt_peer_key_clear(&pc);
	zt_peer_key_clear(&pc);
	return tap_done();
}
