/* Key agreement, packet armor and payload compression (wire.md §2.2,
 * §2.4, §3.3).  Everything here works in place on caller buffers and
 * allocates nothing per packet. */
#ifndef ZT_CRYPTO_H
#define ZT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <zt/identity.h>

/* Packet header offsets (wire.md §3.1). */
#define ZT_PKT_IDX_IV 0          /* packet ID / Salsa20 nonce / SIV tag half */
#define ZT_PKT_IDX_DEST 8
#define ZT_PKT_IDX_SOURCE 13
#define ZT_PKT_IDX_FLAGS 18
#define ZT_PKT_IDX_MAC 19
#define ZT_PKT_IDX_VERB 27
#define ZT_PKT_IDX_PAYLOAD 28
#define ZT_PKT_HEADER 27
#define ZT_PKT_MIN 28
#define ZT_PKT_MAX 10024         /* 1.14's largest (reassembled) packet */
#define ZT_PKT_PAYLOAD_MAX (ZT_PKT_MAX - ZT_PKT_MIN)  /* 9996 */

/* Flags byte (§3.2) and verb byte (§3.3). */
#define ZT_PKT_FLAG_ENCRYPTED 0x80  /* legacy: set iff suite 1 */
#define ZT_PKT_FLAG_FRAGMENTED 0x40
#define ZT_PKT_FLAGS_SUITE_SHIFT 3
#define ZT_PKT_FLAGS_SUITE_MASK 0x38
#define ZT_PKT_FLAGS_HOPS_MASK 0x07
#define ZT_PKT_VERB_COMPRESSED 0x80
#define ZT_PKT_VERB_MASK 0x1f

/* Cipher suites (§2.4). */
#define ZT_SUITE_POLY1305_NONE 0
#define ZT_SUITE_POLY1305_SALSA2012 1
#define ZT_SUITE_TRUSTED 2
#define ZT_SUITE_AES_GMAC_SIV 3

#define ZT_KEY_LEN 48   /* session secret K */
#define ZT_AES_KEY_LEN 32

static inline unsigned zt_pkt_suite(const uint8_t *pkt)
{
	return (pkt[ZT_PKT_IDX_FLAGS] & ZT_PKT_FLAGS_SUITE_MASK) >> ZT_PKT_FLAGS_SUITE_SHIFT;
}

struct evp_cipher_ctx_st;
struct gcm128_context;

/* Everything needed to armor and dearmor with one peer.  The AES
 * contexts are scratch state: one key must not be used by two threads at
 * once.  A key with k set and no contexts (zeroed) serves suites 0 and 1
 * only: suite 3 fails as with a wrong key. */
struct zt_peer_key {
	uint8_t k[ZT_KEY_LEN];
	struct evp_cipher_ctx_st *k0_ecb;   /* AES-256 blocks under K0, for GMAC */
	struct gcm128_context *gmac;        /* GHASH and tag under K0 */
	struct evp_cipher_ctx_st *ecb_enc;  /* AES-256 single block under K1 */
	struct evp_cipher_ctx_st *ecb_dec;
	struct evp_cipher_ctx_st *ctr;      /* AES-256-CTR under K1 */
};

/* K = SHA-512(X25519(local.priv[0..31], remote_pub[0..31]))[0..47] (§2.2).
 * -EINVAL if local has no private key or the X25519 output is all zero. */
int zt_key_agree(const struct zt_identity *local, const uint8_t remote_pub[ZT_PUB_LEN],
		 uint8_t k[ZT_KEY_LEN]);

/* K0 and K1 of §2.4.5 (HMAC-SHA-384 KBKDF).  Returns 0 or -EIO. */
int zt_aes_keys_derive(const uint8_t k[ZT_KEY_LEN], uint8_t k0[ZT_AES_KEY_LEN],
		       uint8_t k1[ZT_AES_KEY_LEN]);

/* Set up pk from K: derives K0/K1 and expands the AES key schedules.
 * Returns 0, -ENOMEM or -EIO; pk is cleared on failure. */
int zt_peer_key_init(struct zt_peer_key *pk, const uint8_t k[ZT_KEY_LEN]);
/* Give pk, set up by zt_peer_key_init, another K, whose K0 and K1 the
 * caller derived once (zt_aes_keys_derive: HMAC through OpenSSL 3 costs
 * more than the rest): the contexts are kept and only their key
 * schedules made again (no allocation; a few µs where zt_peer_key_init
 * takes ~25).  For caches of keys that hold the AES state of the peers
 * used lately (a root's peers share a few).  Returns 0 or -EIO, and pk
 * is cleared on failure. */
int zt_peer_key_rekey(struct zt_peer_key *pk, const uint8_t k[ZT_KEY_LEN], const uint8_t k0[ZT_AES_KEY_LEN],
		      const uint8_t k1[ZT_AES_KEY_LEN]);
/* zt_key_agree then zt_peer_key_init. */
int zt_peer_key_agree(struct zt_peer_key *pk, const struct zt_identity *local,
		      const struct zt_identity *remote);
/* Free the contexts and wipe the secrets; safe on a cleared key. */
void zt_peer_key_clear(struct zt_peer_key *pk);

/* Salsa20/12 per-packet key K' of §2.4.2 for the packet as it stands. */
void zt_salsa_packet_key(const uint8_t k[ZT_KEY_LEN], const uint8_t *pkt, size_t len,
			 uint8_t out[32]);

/* Armor a plaintext packet of len bytes (28..ZT_PKT_MAX) in place with
 * suite 0, 1 or 3.  The flags byte keeps its fragmented bit and hop count
 * and gets the suite (and the legacy bit for suite 1).  For suite 3
 * pkt[0..7] holds the random IV on entry and the on-wire packet ID on
 * return: read the packet ID after armoring.  Returns 0, -EINVAL (length
 * or suite) or -EIO (OpenSSL failed). */
int zt_armor(const struct zt_peer_key *pk, uint8_t *pkt, size_t len, unsigned suite);

/* Authenticate and decrypt in place by the packet's suite.  Returns 0,
 * -EBADMSG (too short or long, bad MAC, undefined suite) or -EOPNOTSUPP
 * for suite 2, which is the trusted-path code's business.  After a
 * failure the packet's bytes 27.. are unspecified. */
int zt_dearmor(const struct zt_peer_key *pk, uint8_t *pkt, size_t len);

/* §2.4.3: XOR the HELLO tail pkt[off..len) with Salsa20/12 under K[0..31]
 * and the packet ID with its low 3 bits cleared.  Encrypts and decrypts.
 * Returns 0 or -EINVAL if off is not within the payload. */
int zt_hello_crypt(const struct zt_peer_key *pk, uint8_t *pkt, size_t len, size_t off);

/* §3.3: a dearmored packet whose verb has the compressed flag, into out
 * (header copied, flag cleared, payload LZ4-decompressed to at most
 * ZT_PKT_PAYLOAD_MAX bytes or what outcap allows).  Returns the new
 * length, or -EINVAL (not compressed, short) or -EBADMSG (bad LZ4,
 * result too large). */
int zt_packet_decompress(const uint8_t *pkt, size_t len, uint8_t *out, size_t outcap);

/* Compress like 1.14: only payloads over 64 bytes, and only if strictly
 * shorter.  Writes the compressed packet (verb flag set) to out and
 * returns its length, or returns 0 when pkt should go as it is. */
int zt_packet_compress(const uint8_t *pkt, size_t len, uint8_t *out, size_t outcap);

#endif
