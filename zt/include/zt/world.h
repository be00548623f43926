/* Worlds: planets and moons (wire.md §6). */
#ifndef ZT_WORLD_H
#define ZT_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zt/identity.h>
#include <zt/module.h>

#define ZT_WORLD_NULL 0
#define ZT_WORLD_PLANET 1
#define ZT_WORLD_MOON 127
#define ZT_WORLD_MAX_ROOTS 4
#define ZT_WORLD_MAX_ENDPOINTS 32
#define ZT_WORLD_EARTH_ID 149604618ULL
#define ZT_WORLD_MARS_ID 227883110ULL
/* Largest serialization we write: header, 4 roots with 32 IPv6
 * endpoints each, the moon dictionary length. */
#define ZT_WORLD_BIN_MAX (178 + ZT_WORLD_MAX_ROOTS * \
	(ZT_ID_BIN_PUB + 1 + ZT_WORLD_MAX_ENDPOINTS * 19) + 2)
#define ZT_WORLD_SIGNED_MAX (ZT_WORLD_BIN_MAX - ZT_SIG_LEN + 16)
/* A mkworld "c25519" key pair file: public(64) || private(64). */
#define ZT_KEYPAIR_LEN (ZT_PUB_LEN + ZT_PRIV_LEN)

struct zt_world_root {
	struct zt_identity id;
	unsigned n_endpoints;
	union zt_sockaddr endpoints[ZT_WORLD_MAX_ENDPOINTS];
};

struct zt_world {
	uint8_t type;                      /* ZT_WORLD_PLANET or ZT_WORLD_MOON */
	uint64_t id;
	uint64_t ts;
	uint8_t update_key[ZT_PUB_LEN];    /* "updates must be signed by" */
	uint8_t sig[ZT_SIG_LEN];
	unsigned n_roots;
	struct zt_world_root roots[ZT_WORLD_MAX_ROOTS];
};

/* Parse one world (§6.1) at p: bytes consumed, or -EMSGSIZE (truncated),
 * -EINVAL (bad type, identity or address), -E2BIG (over the limits).
 * A moon's dictionary is skipped.  w is written only on success. */
int zt_world_from_bin(struct zt_world *w, const uint8_t *p, size_t len);
/* Serialize (roots in public form, a moon with an empty dictionary):
 * length or -EMSGSIZE. */
int zt_world_to_bin(const struct zt_world *w, uint8_t *out, size_t cap);
/* The signed message of §6.2: length or -EMSGSIZE. */
int zt_world_signed_msg(const struct zt_world *w, uint8_t *out, size_t cap);

/* Sign w with a key pair (public 64 || private 64): fills w->sig. */
int zt_world_sign(struct zt_world *w, const uint8_t keypair[ZT_KEYPAIR_LEN]);
/* Does w's signature verify with the Ed25519 half of pub? */
bool zt_world_verify(const struct zt_world *w, const uint8_t pub[ZT_PUB_LEN]);
/* The update rule of §6.3: existing may be NULL (or of type null). */
bool zt_world_update_ok(const struct zt_world *existing, const struct zt_world *candidate);

/* moons.d/<id>.seed, kept while a moon orbited through a seed has not
 * arrived (§6.5).  The file name: the moon id in 16 hex digits, then
 * ".seed".  The text: the address of one of its roots, 10 hex digits, a
 * newline after them allowed; not a reserved address.  0, or -EINVAL. */
int zt_moon_seed_name(const char *name, uint64_t *id);
int zt_moon_seed_text(const char *text, size_t len, uint64_t *seed);

/* Read a 128-byte key pair file: 0 or a negative errno. */
int zt_keypair_read(const char *path, uint8_t keypair[ZT_KEYPAIR_LEN]);

#endif
