/* Identities (wire.md §1) and signatures (wire.md §2.3). */
#ifndef ZT_IDENTITY_H
#define ZT_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZT_ADDR_LEN 5
#define ZT_PUB_LEN 64
#define ZT_PRIV_LEN 64
#define ZT_SIG_LEN 96
#define ZT_ID_BIN_PUB 71
#define ZT_ID_BIN_SECRET 135
#define ZT_ID_TEXT_MAX 272  /* 10+1+1+1+128+1+128 + NUL = 271, rounded up */

/* A type-0 identity.  priv is meaningful only when has_private is true. */
struct zt_identity {
	uint64_t address;         /* 40 bits */
	uint8_t pub[ZT_PUB_LEN];  /* X25519 public || Ed25519 public */
	uint8_t priv[ZT_PRIV_LEN];/* X25519 secret || Ed25519 seed */
	bool has_private;
};

/* Reserved addresses (wire.md §1.4): 0 and ff........ */
bool zt_address_reserved(uint64_t address);

/* Address to/from 5 wire bytes and 10 hex digits. */
uint64_t zt_address_read(const uint8_t p[ZT_ADDR_LEN]);
void zt_address_write(uint64_t address, uint8_t p[ZT_ADDR_LEN]);
void zt_address_fmt(uint64_t address, char out[11]);
/* Exactly n (at most 16) hex digits at s, either case: their value, or
 * false (for ids and addresses read from names and paths). */
bool zt_hex_parse(const char *s, size_t n, uint64_t *out);

/* Binary form (wire.md §1.6).  from_bin returns bytes consumed or a
 * negative errno (-EINVAL malformed, -EMSGSIZE truncated). */
int zt_identity_from_bin(struct zt_identity *id, const uint8_t *p, size_t len);
/* Writes 71 bytes, or 135 with include_private; returns the length. */
size_t zt_identity_to_bin(const struct zt_identity *id, uint8_t *out, bool include_private);

/* Text form (wire.md §1.5): address:0:public[:private].  from_text is
 * strict about hex, tolerates trailing whitespace; returns 0 or -EINVAL.
 * to_text writes a NUL-terminated string, with the private key if asked. */
int zt_identity_from_text(struct zt_identity *id, const char *s);
void zt_identity_to_text(const struct zt_identity *id, char out[ZT_ID_TEXT_MAX], bool include_private);

/* Signatures: sig = Ed25519(seed, SHA-512(msg)[0..31]) || SHA-512(msg)[0..31]. */
int zt_sign(const struct zt_identity *id, const void *msg, size_t len, uint8_t sig[ZT_SIG_LEN]);
bool zt_sig_verify(const uint8_t pub[ZT_PUB_LEN], const void *msg, size_t len,
		   const uint8_t *sig, size_t siglen);

/* H(pub) of wire.md §1.2: the 64-byte memory-hard digest, in the calling
 * thread's 2 MiB work area (mapped at its first use, kept until
 * zt_identity_work_idle releases it); returns 0 or -ENOMEM. */
#define ZT_POW_DIGEST_LEN 64
int zt_identity_hash(const uint8_t pub[ZT_PUB_LEN], uint8_t digest[ZT_POW_DIGEST_LEN]);

/* Validation (wire.md §1.7): address not reserved, digest[0] < 17 and
 * digest[59..63] == address.  False also when out of memory. */
bool zt_identity_validate(const struct zt_identity *id);
/* Unmaps the calling thread's proof-of-work area (2 MiB, kept between
 * checks) if it has not been used for idle_ms: called now and then, it
 * spares a leaf, which checks a few identities, from holding it. */
void zt_identity_work_idle(int64_t idle_ms);

/* Both public halves recomputed from a private key (wire.md §1.1). */
void zt_identity_derive_public(const uint8_t priv[ZT_PRIV_LEN], uint8_t pub[ZT_PUB_LEN]);
/* True iff id has a private key and its public key derives from it. */
bool zt_identity_keys_match(const struct zt_identity *id);

/* Same address and public key (wire.md §1.7). */
bool zt_identity_equal(const struct zt_identity *a, const struct zt_identity *b);

/* Generate a new identity (wire.md §1.3).  generate uses the calling
 * thread; generate_mt runs nthreads searches from independent random
 * starts (0: one per online CPU) and keeps the first result.  progress,
 * if set, is called from the calling thread about ten times a second
 * with the number of hashes tried so far.  Return 0 or a negative errno. */
int zt_identity_generate(struct zt_identity *id);
int zt_identity_generate_mt(struct zt_identity *id, unsigned nthreads,
			    void (*progress)(uint64_t hashes, void *arg), void *arg);

/* Forget the private key (and everything else) of id. */
void zt_identity_wipe(struct zt_identity *id);

#endif
