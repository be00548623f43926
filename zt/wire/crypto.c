/* Key agreement (wire.md §2.2), packet armor (§2.4) and payload
 * compression (§3.3).  The per-packet paths use only stack memory. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <lz4.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/modes.h>
#include <sodium.h>

#include <zt/crypto.h>

#include "wire.h"

#define MAC_LEN 8
#define HOPS_OFF_FLAGS 0xf8  /* flags as authenticated: hop count masked */

/* ---- keys ---- */

int zt_key_agree(const struct zt_identity *local, const uint8_t remote_pub[ZT_PUB_LEN],
		 uint8_t k[ZT_KEY_LEN])
{
	uint8_t raw[crypto_scalarmult_curve25519_BYTES];
	uint8_t h[crypto_hash_sha512_BYTES];

	if (!local->has_private)
		return -EINVAL;
	/* libsodium refuses an all-zero result (low-order remote key) */
	if (crypto_scalarmult_curve25519(raw, local->priv, remote_pub) != 0)
		return -EINVAL;
	crypto_hash_sha512(h, raw, sizeof raw);
	memcpy(k, h, ZT_KEY_LEN);
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(h, sizeof h);
	return 0;
}

/* libcrypto's own setup, before its first use: no system openssl.cnf (it
 * cannot change the fixed ciphers used here) and no error strings (nothing
 * here prints them).  Left to itself, OpenSSL 3 loads both on the first
 * call, about 0.6 MiB of its pages and heap that a node never needs. */
static pthread_once_t openssl_once = PTHREAD_ONCE_INIT;
static int openssl_ok;

static void openssl_setup(void)
{
	openssl_ok = OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG |
					 OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL);
}

int zt_crypto_init(void)
{
	if (pthread_once(&openssl_once, openssl_setup) != 0 || !openssl_ok)
		return -EIO;
	return 0;
}

/* One KBKDF block: iteration 0, "ZT" label, separator, context 0, L = 384. */
static int kbkdf(const uint8_t k[ZT_KEY_LEN], char label, uint8_t out[ZT_AES_KEY_LEN])
{
	uint8_t msg[13] = { 0, 0, 0, 0, 'Z', 'T', (uint8_t)label, 0, 0, 0, 0, 1, 0x80 };
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int rc = 0;

	if (!HMAC(EVP_sha384(), k, ZT_KEY_LEN, msg, sizeof msg, mac, &maclen) || maclen != 48)
		rc = -EIO;
	else
		memcpy(out, mac, ZT_AES_KEY_LEN);
	sodium_memzero(mac, sizeof mac);
	return rc;
}

int zt_aes_keys_derive(const uint8_t k[ZT_KEY_LEN], uint8_t k0[ZT_AES_KEY_LEN],
		       uint8_t k1[ZT_AES_KEY_LEN])
{
	if (zt_crypto_init() < 0 || kbkdf(k, '0', k0) < 0 || kbkdf(k, '1', k1) < 0)
		return -EIO;
	return 0;
}

static int aes_ctx(EVP_CIPHER_CTX **ctx, const EVP_CIPHER *c, const uint8_t *key, bool enc)
{
	*ctx = EVP_CIPHER_CTX_new();
	if (!*ctx)
		return -ENOMEM;
	if (EVP_CipherInit_ex(*ctx, c, NULL, key, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_set_padding(*ctx, 0) != 1)
		return -EIO;
	return 0;
}

/* AES blocks for the GCM code: key is an ECB context.  A failure leaves
 * zeros, which only make the tag wrong. */
static void aes_ecb_block(const unsigned char in[16], unsigned char out[16], const void *key)
{
	int n = 0;

	if (EVP_EncryptUpdate((EVP_CIPHER_CTX *)key, out, &n, in, 16) != 1 || n != 16)
		memset(out, 0, 16);
}

int zt_peer_key_init(struct zt_peer_key *pk, const uint8_t k[ZT_KEY_LEN])
{
	uint8_t k0[ZT_AES_KEY_LEN], k1[ZT_AES_KEY_LEN];
	int rc;

	memset(pk, 0, sizeof *pk);
	memcpy(pk->k, k, ZT_KEY_LEN);
	rc = zt_aes_keys_derive(k, k0, k1);
	if (rc == 0)
		rc = aes_ctx(&pk->k0_ecb, EVP_aes_256_ecb(), k0, true);
	/* GMAC through libcrypto's GCM primitives rather than an EVP GCM
	 * context: setting an IV and reading a tag through EVP costs name
	 * lookups (OSSL_PARAM) on every packet */
	if (rc == 0 && !(pk->gmac = CRYPTO_gcm128_new(pk->k0_ecb, aes_ecb_block)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = aes_ctx(&pk->ecb_enc, EVP_aes_256_ecb(), k1, true);
	if (rc == 0)
		rc = aes_ctx(&pk->ecb_dec, EVP_aes_256_ecb(), k1, false);
	if (rc == 0)
		rc = aes_ctx(&pk->ctr, EVP_aes_256_ctr(), k1, true);
	sodium_memzero(k0, sizeof k0);
	sodium_memzero(k1, sizeof k1);
	if (rc < 0)
		zt_peer_key_clear(pk);
	return rc;
}

static int aes_rekey(EVP_CIPHER_CTX *ctx, const uint8_t *key)
{
	return EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, -1) == 1 ? 0 : -EIO;
}

int zt_peer_key_rekey(struct zt_peer_key *pk, const uint8_t k[ZT_KEY_LEN], const uint8_t k0[ZT_AES_KEY_LEN],
		      const uint8_t k1[ZT_AES_KEY_LEN])
{
	if (aes_rekey(pk->k0_ecb, k0) < 0 || aes_rekey(pk->ecb_enc, k1) < 0 || aes_rekey(pk->ecb_dec, k1) < 0 ||
	    aes_rekey(pk->ctr, k1) < 0) {
		zt_peer_key_clear(pk);
		return -EIO;
	}
	/* H = AES_K0(0) again, from the context just re-keyed */
	CRYPTO_gcm128_init(pk->gmac, pk->k0_ecb, aes_ecb_block);
	memcpy(pk->k, k, ZT_KEY_LEN);
	return 0;
}

int zt_peer_key_agree(struct zt_peer_key *pk, const struct zt_identity *local,
		      const struct zt_identity *remote)
{
	uint8_t k[ZT_KEY_LEN];
	int rc = zt_key_agree(local, remote->pub, k);

	if (rc == 0)
		rc = zt_peer_key_init(pk, k);
	sodium_memzero(k, sizeof k);
	return rc;
}

void zt_peer_key_clear(struct zt_peer_key *pk)
{
	if (pk->gmac)
		CRYPTO_gcm128_release(pk->gmac);
	EVP_CIPHER_CTX_free(pk->k0_ecb);
	EVP_CIPHER_CTX_free(pk->ecb_enc);
	EVP_CIPHER_CTX_free(pk->ecb_dec);
	EVP_CIPHER_CTX_free(pk->ctr);
	sodium_memzero(pk, sizeof *pk);
}

/* ---- suites 0 and 1: Salsa20/12 + Poly1305, §2.4.2 ---- */

void zt_salsa_packet_key(const uint8_t k[ZT_KEY_LEN], const uint8_t *pkt, size_t len,
			 uint8_t out[32])
{
	memcpy(out, k, 32);
	for (int i = 0; i < ZT_PKT_IDX_FLAGS; i++)
		out[i] ^= pkt[i];
	out[18] ^= pkt[ZT_PKT_IDX_FLAGS] & HOPS_OFF_FLAGS;
	out[19] ^= (uint8_t)len;
	out[20] ^= (uint8_t)(len >> 8);
}

static void salsa_block(uint8_t out[64], const uint8_t nonce[8], uint64_t ctr,
			const uint8_t key[32])
{
	uint8_t in[16];

	memcpy(in, nonce, 8);
	for (int i = 0; i < 8; i++, ctr >>= 8)
		in[8 + i] = (uint8_t)ctr;
	crypto_core_salsa2012(out, in, key, NULL);
}

static void xor_bytes(uint8_t *p, const uint8_t *ks, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t a, b;

		memcpy(&a, p + i, 8);
		memcpy(&b, ks + i, 8);
		a ^= b;
		memcpy(p + i, &a, 8);
	}
	for (; i < n; i++)
		p[i] ^= ks[i];
}

/* XOR p with the keystream from byte 64 on (block counter 1). */
static void salsa_xor_from_block1(uint8_t *p, size_t n, const uint8_t nonce[8],
				  const uint8_t key[32])
{
	uint8_t ks[64];

	for (uint64_t ctr = 1; n > 0; ctr++) {
		size_t m = n < 64 ? n : 64;

		salsa_block(ks, nonce, ctr, key);
		xor_bytes(p, ks, m);
		p += m;
		n -= m;
	}
	sodium_memzero(ks, sizeof ks);
}

/* The Poly1305 tag over pkt[27..len) as it stands, with the packet key. */
static void salsa_tag(const uint8_t kp[32], const uint8_t *pkt, size_t len,
		      uint8_t tag[crypto_onetimeauth_poly1305_BYTES])
{
	uint8_t block0[64];

	salsa_block(block0, pkt, 0, kp);
	crypto_onetimeauth_poly1305(tag, pkt + ZT_PKT_HEADER, len - ZT_PKT_HEADER, block0);
	sodium_memzero(block0, sizeof block0);
}

static void salsa_armor(const struct zt_peer_key *pk, uint8_t *pkt, size_t len, bool encrypt)
{
	uint8_t kp[32], tag[crypto_onetimeauth_poly1305_BYTES];

	zt_salsa_packet_key(pk->k, pkt, len, kp);
	if (encrypt)
		salsa_xor_from_block1(pkt + ZT_PKT_HEADER, len - ZT_PKT_HEADER, pkt, kp);
	salsa_tag(kp, pkt, len, tag);
	memcpy(pkt + ZT_PKT_IDX_MAC, tag, MAC_LEN);
	sodium_memzero(kp, sizeof kp);
}

static int salsa_dearmor(const struct zt_peer_key *pk, uint8_t *pkt, size_t len, bool decrypt)
{
	uint8_t kp[32], tag[crypto_onetimeauth_poly1305_BYTES];
	int rc = -EBADMSG;

	zt_salsa_packet_key(pk->k, pkt, len, kp);
	salsa_tag(kp, pkt, len, tag);
	if (sodium_memcmp(tag, pkt + ZT_PKT_IDX_MAC, MAC_LEN) == 0) {
		if (decrypt)
			salsa_xor_from_block1(pkt + ZT_PKT_HEADER, len - ZT_PKT_HEADER, pkt, kp);
		rc = 0;
	}
	sodium_memzero(kp, sizeof kp);
	return rc;
}

/* ---- suite 3: AES-GMAC-SIV, §2.4.5 ---- */

/* T8 = fold(GMAC_K0(iv8 || 0^4, AAD || pkt[27..len))). */
static int siv_tag(const struct zt_peer_key *pk, const uint8_t *pkt, size_t len,
		   const uint8_t iv8[8], uint8_t t8[8])
{
	uint8_t iv[12] = { 0 }, aad[16] = { 0 }, g[16];

	memcpy(iv, iv8, 8);
	memcpy(aad, pkt + ZT_PKT_IDX_DEST, 10);
	aad[10] = pkt[ZT_PKT_IDX_FLAGS] & HOPS_OFF_FLAGS;
	CRYPTO_gcm128_setiv(pk->gmac, iv, sizeof iv);
	if (CRYPTO_gcm128_aad(pk->gmac, aad, sizeof aad) != 0 ||
	    CRYPTO_gcm128_aad(pk->gmac, pkt + ZT_PKT_HEADER, len - ZT_PKT_HEADER) != 0)
		return -EIO;
	CRYPTO_gcm128_tag(pk->gmac, g, sizeof g);
	for (int i = 0; i < 8; i++)
		t8[i] = g[i] ^ g[i + 8];
	return 0;
}

static int aes_block(EVP_CIPHER_CTX *ctx, const uint8_t in[16], uint8_t out[16])
{
	int n = 0;

	if (EVP_CipherUpdate(ctx, out, &n, in, 16) != 1 || n != 16)
		return -EIO;
	return 0;
}

/* AES-256-CTR under K1 from counter block S with bit 31 of its counter cleared. */
static int siv_ctr(const struct zt_peer_key *pk, const uint8_t s[16], uint8_t *p, size_t n)
{
	uint8_t c0[16];
	int outl;

	memcpy(c0, s, 16);
	c0[12] &= 0x7f;
	if (EVP_EncryptInit_ex(pk->ctr, NULL, NULL, NULL, c0) != 1 ||
	    EVP_EncryptUpdate(pk->ctr, p, &outl, p, (int)n) != 1)
		return -EIO;
	return 0;
}

static int siv_armor(const struct zt_peer_key *pk, uint8_t *pkt, size_t len)
{
	uint8_t v[16], s[16];

	if (!pk->ctr)
		return -EINVAL;   /* K only (crypto.h) */
	memcpy(v, pkt, 8);
	if (siv_tag(pk, pkt, len, pkt, v + 8) < 0 || aes_block(pk->ecb_enc, v, s) < 0 ||
	    siv_ctr(pk, s, pkt + ZT_PKT_HEADER, len - ZT_PKT_HEADER) < 0)
		return -EIO;
	memcpy(pkt, s, 8);
	memcpy(pkt + ZT_PKT_IDX_MAC, s + 8, 8);
	return 0;
}

static int siv_dearmor(const struct zt_peer_key *pk, uint8_t *pkt, size_t len)
{
	uint8_t s[16], v[16], t8[8];

	if (!pk->ctr)
		return -EBADMSG;  /* K only (crypto.h) */
	memcpy(s, pkt, 8);
	memcpy(s + 8, pkt + ZT_PKT_IDX_MAC, 8);
	if (siv_ctr(pk, s, pkt + ZT_PKT_HEADER, len - ZT_PKT_HEADER) < 0 ||
	    aes_block(pk->ecb_dec, s, v) < 0 || siv_tag(pk, pkt, len, v, t8) < 0)
		return -EBADMSG;
	return sodium_memcmp(t8, v + 8, 8) == 0 ? 0 : -EBADMSG;
}

/* ---- armor ---- */

int zt_armor(const struct zt_peer_key *pk, uint8_t *pkt, size_t len, unsigned suite)
{
	uint8_t keep = ZT_PKT_FLAG_FRAGMENTED | ZT_PKT_FLAGS_HOPS_MASK;

	if (len < ZT_PKT_MIN || len > ZT_PKT_MAX)
		return -EINVAL;
	if (suite != ZT_SUITE_POLY1305_NONE && suite != ZT_SUITE_POLY1305_SALSA2012 &&
	    suite != ZT_SUITE_AES_GMAC_SIV)
		return -EINVAL;
	pkt[ZT_PKT_IDX_FLAGS] = (pkt[ZT_PKT_IDX_FLAGS] & keep) |
		(uint8_t)(suite << ZT_PKT_FLAGS_SUITE_SHIFT) |
		(suite == ZT_SUITE_POLY1305_SALSA2012 ? ZT_PKT_FLAG_ENCRYPTED : 0);
	if (suite == ZT_SUITE_AES_GMAC_SIV)
		return siv_armor(pk, pkt, len);
	salsa_armor(pk, pkt, len, suite == ZT_SUITE_POLY1305_SALSA2012);
	return 0;
}

int zt_dearmor(const struct zt_peer_key *pk, uint8_t *pkt, size_t len)
{
	if (len < ZT_PKT_MIN || len > ZT_PKT_MAX)
		return -EBADMSG;
	switch (zt_pkt_suite(pkt)) {
	case ZT_SUITE_POLY1305_NONE:
		return salsa_dearmor(pk, pkt, len, false);
	case ZT_SUITE_POLY1305_SALSA2012:
		return salsa_dearmor(pk, pkt, len, true);
	case ZT_SUITE_TRUSTED:
		return -EOPNOTSUPP;
	case ZT_SUITE_AES_GMAC_SIV:
		return siv_dearmor(pk, pkt, len);
	default:
		return -EBADMSG;
	}
}

int zt_hello_crypt(const struct zt_peer_key *pk, uint8_t *pkt, size_t len, size_t off)
{
	uint8_t nonce[8];

	if (len > ZT_PKT_MAX || off < ZT_PKT_MIN || off > len)
		return -EINVAL;
	memcpy(nonce, pkt, 8);
	nonce[7] &= 0xf8;
	crypto_stream_salsa2012_xor(pkt + off, pkt + off, len - off, nonce, pk->k);
	return 0;
}

/* ---- compression, §3.3 ---- */

int zt_packet_decompress(const uint8_t *pkt, size_t len, uint8_t *out, size_t outcap)
{
	size_t cap;
	int n;

	if (len < ZT_PKT_MIN || len > ZT_PKT_MAX || outcap < ZT_PKT_MIN ||
	    !(pkt[ZT_PKT_IDX_VERB] & ZT_PKT_VERB_COMPRESSED))
		return -EINVAL;
	cap = outcap - ZT_PKT_MIN;
	if (cap > ZT_PKT_PAYLOAD_MAX)
		cap = ZT_PKT_PAYLOAD_MAX;
	n = LZ4_decompress_safe((const char *)pkt + ZT_PKT_MIN, (char *)out + ZT_PKT_MIN,
				(int)(len - ZT_PKT_MIN), (int)cap);
	if (n < 0)
		return -EBADMSG;
	memcpy(out, pkt, ZT_PKT_MIN);
	out[ZT_PKT_IDX_VERB] &= (uint8_t)~ZT_PKT_VERB_COMPRESSED;
	return n + ZT_PKT_MIN;
}

int zt_packet_compress(const uint8_t *pkt, size_t len, uint8_t *out, size_t outcap)
{
	size_t plen, cap;
	int n;

	if (len < ZT_PKT_MIN || len > ZT_PKT_MAX || outcap < ZT_PKT_MIN)
		return -EINVAL;
	plen = len - ZT_PKT_MIN;
	if (plen <= 64)
		return 0;
	cap = outcap - ZT_PKT_MIN;
	if (cap > plen - 1)
		cap = plen - 1;
	n = LZ4_compress_default((const char *)pkt + ZT_PKT_MIN, (char *)out + ZT_PKT_MIN,
				 (int)plen, (int)cap);
	if (n <= 0)
		return 0;
	memcpy(out, pkt, ZT_PKT_MIN);
	out[ZT_PKT_IDX_VERB] |= ZT_PKT_VERB_COMPRESSED;
	return n + ZT_PKT_MIN;
}
