/* Network credentials (networks.md §5): certificate of membership,
 * capability, tag, certificate of ownership, revocation; signing,
 * verification and the acceptance rules of §5.6.
 *
 * Readers work on a zt_rd cursor and allocate nothing: they return 0,
 * -EMSGSIZE (truncated) or -EINVAL (malformed) and write their struct
 * only on success; a capability's rules point into the read buffer.
 * Writers append to a zt_wr and return 0, -ENOSPC or -EINVAL.
 *
 * Verification returns 0 (valid), -EACCES (not signed by the controller
 * of its network, or otherwise invalid: bad length, type, chain),
 * -EBADMSG (the signature does not verify) or -ENOKEY (the signer's
 * identity was not supplied: look it up and retry). */
#ifndef ZT_CREDENTIAL_H
#define ZT_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zt/identity.h>
#include <zt/module.h>
#include <zt/packet.h>

/* Credential types (§5.5, revocations name them). */
enum zt_cred_type {
	ZT_CRED_NONE = 0,
	ZT_CRED_COM = 1,
	ZT_CRED_CAPABILITY = 2,
	ZT_CRED_TAG = 3,
	ZT_CRED_COO = 4,
	ZT_CRED_REVOCATION = 6,
};

/* The controller of a network (§2.2). */
static inline uint64_t zt_nwid_controller(uint64_t nwid) { return nwid >> 24; }

/* A signature field [u8 type][u16 length][bytes] (§5.0).  Only type 1
 * with length 96 verifies; for other lengths the first 96 bytes are kept
 * and the rest is skipped (and written back as zeros). */
struct zt_sigfield {
	uint8_t type;
	uint16_t len;
	uint8_t sig[ZT_SIG_LEN];
};

/* ---- certificate of membership (§5.1) ---- */

#define ZT_COM_MAX_QUALIFIERS 8
#define ZT_COM_LEN_1_14 272         /* 7 qualifiers, signed */
#define ZT_COM_MAX_LEN (3 + 24 * ZT_COM_MAX_QUALIFIERS + 5 + ZT_SIG_LEN)

enum {
	ZT_COM_Q_TIMESTAMP = 0,
	ZT_COM_Q_NWID = 1,
	ZT_COM_Q_ISSUED_TO = 2,
	ZT_COM_Q_IDHASH0 = 3,       /* 3..6: SHA-384(address || public key)[0..31] */
};

struct zt_com_qual {
	uint64_t id, value, max_delta;
};

struct zt_com {
	unsigned nq;
	struct zt_com_qual q[ZT_COM_MAX_QUALIFIERS];
	uint64_t signer;            /* 0: unsigned, no signature */
	uint8_t sig[ZT_SIG_LEN];
};

/* Reads one COM (version byte included). */
int zt_com_read(struct zt_rd *r, struct zt_com *c);
int zt_com_write(struct zt_wr *w, const struct zt_com *c);
/* Value of qualifier id, 0 if absent; the named ones. */
uint64_t zt_com_qual(const struct zt_com *c, uint64_t id);
static inline uint64_t zt_com_nwid(const struct zt_com *c) { return zt_com_qual(c, ZT_COM_Q_NWID); }
static inline int64_t zt_com_timestamp(const struct zt_com *c) { return (int64_t)zt_com_qual(c, ZT_COM_Q_TIMESTAMP); }
static inline uint64_t zt_com_issued_to(const struct zt_com *c) { return zt_com_qual(c, ZT_COM_Q_ISSUED_TO); }
/* The qualifiers a 1.14 controller issues (§5.1.2), unsigned. */
int zt_com_issue(struct zt_com *c, uint64_t nwid, int64_t ts, int64_t ctmd,
		 const struct zt_identity *member);
/* Signed message: the serialized qualifiers (24 * nq bytes). */
size_t zt_com_signed_msg(const struct zt_com *c, uint8_t *out, size_t cap);
/* Sign by id (sets signer).  0, or -EINVAL if id has no private key. */
int zt_com_sign(struct zt_com *c, const struct zt_identity *id);
int zt_com_verify(const struct zt_com *c, const struct zt_identity *signer);
/* SHA-384(addr40 || public key), the identity hash of qualifiers 3..6. */
int zt_identity_sha384(const struct zt_identity *id, uint8_t out[48]);
/* mine.agreesWith(theirs, their identity) (§5.1.3). */
bool zt_com_agrees(const struct zt_com *mine, const struct zt_com *theirs,
		   const struct zt_identity *their_id);
/* Same serialization. */
bool zt_com_equal(const struct zt_com *a, const struct zt_com *b);

/* ---- capability (§5.2) ---- */

/* Step over n rules of a rule table (§6.1: [u8 type][u8 len][len bytes])
 * at the cursor: 0 or -EMSGSIZE.  Only the framing is checked. */
int zt_rules_skip(struct zt_rd *r, unsigned n);

#define ZT_CAP_MAX_RULES 64
#define ZT_CAP_MAX_CHAIN 7

struct zt_custody {
	uint64_t to, from;
	struct zt_sigfield sig;
};

struct zt_cap {
	uint64_t nwid;
	int64_t ts;
	uint32_t id;
	uint16_t nrules;
	const uint8_t *rules;       /* nrules encoded rules (§6.1), borrowed */
	size_t rules_len;
	uint8_t max_chain;
	unsigned nchain;            /* custody entries present */
	struct zt_custody chain[ZT_CAP_MAX_CHAIN];
};

int zt_cap_read(struct zt_rd *r, struct zt_cap *c);
int zt_cap_write(struct zt_wr *w, const struct zt_cap *c);
/* Signing input: 7f x 8 || fields || 00 00 || 7f x 8.  Length or -ENOSPC. */
int zt_cap_signing_input(const struct zt_cap *c, uint8_t *out, size_t cap);
/* Append a custody entry from id to `to`.  -ENOSPC if the chain is full
 * (max_chain entries), -EINVAL without a private key or with to == 0. */
int zt_cap_sign(struct zt_cap *c, const struct zt_identity *id, uint64_t to);
/* The identity of address addr, or NULL if unknown. */
typedef const struct zt_identity *(*zt_identity_lookup_fn)(uint64_t addr, void *arg);
int zt_cap_verify(const struct zt_cap *c, zt_identity_lookup_fn lookup, void *arg);
/* The last non-zero `to` of the chain, 0 if none. */
uint64_t zt_cap_issued_to(const struct zt_cap *c);

/* ---- tag (§5.3) ---- */

#define ZT_TAG_LEN 135

struct zt_tag {
	uint64_t nwid;
	int64_t ts;
	uint32_t id, value;
	uint64_t issued_to, signer;
	struct zt_sigfield sig;
};

int zt_tag_read(struct zt_rd *r, struct zt_tag *t);
int zt_tag_write(struct zt_wr *w, const struct zt_tag *t);
int zt_tag_signing_input(const struct zt_tag *t, uint8_t *out, size_t cap);
/* Sets signer and the signature. */
int zt_tag_sign(struct zt_tag *t, const struct zt_identity *id);
int zt_tag_verify(const struct zt_tag *t, const struct zt_identity *signer);

/* ---- certificate of ownership (§5.4) ---- */

#define ZT_COO_MAX_THINGS 16

enum zt_coo_thing {
	ZT_COO_NULL = 0,
	ZT_COO_MAC = 1,
	ZT_COO_IPV4 = 2,
	ZT_COO_IPV6 = 3,
};

struct zt_coo {
	uint64_t nwid;
	int64_t ts;
	uint64_t flags;
	uint32_t id;
	unsigned nthings;
	uint8_t thing_type[ZT_COO_MAX_THINGS];
	uint8_t thing[ZT_COO_MAX_THINGS][16];
	uint64_t issued_to, signer;
	struct zt_sigfield sig;
};

int zt_coo_read(struct zt_rd *r, struct zt_coo *c);
int zt_coo_write(struct zt_wr *w, const struct zt_coo *c);
int zt_coo_signing_input(const struct zt_coo *c, uint8_t *out, size_t cap);
int zt_coo_sign(struct zt_coo *c, const struct zt_identity *id);
int zt_coo_verify(const struct zt_coo *c, const struct zt_identity *signer);
/* Add an IPv4/IPv6 address (port ignored) or a MAC: 0, -ENOSPC (16
 * things), -EAFNOSUPPORT. */
int zt_coo_add_ip(struct zt_coo *c, const union zt_sockaddr *ip);
int zt_coo_add_mac(struct zt_coo *c, const uint8_t mac[6]);
/* Ownership compares the first 4 / 16 / 6 bytes of each thing. */
bool zt_coo_owns_ip(const struct zt_coo *c, const union zt_sockaddr *ip);
bool zt_coo_owns_mac(const struct zt_coo *c, const uint8_t mac[6]);

/* ---- revocation (§5.5) ---- */

#define ZT_REV_LEN 152
#define ZT_REV_FAST_PROPAGATE 0x01

struct zt_revocation {
	uint32_t id;
	uint64_t nwid;
	uint32_t cred_id;
	int64_t threshold;
	uint64_t flags;
	uint64_t target, signer;
	uint8_t type;               /* enum zt_cred_type */
	struct zt_sigfield sig;
};

int zt_rev_read(struct zt_rd *r, struct zt_revocation *v);
int zt_rev_write(struct zt_wr *w, const struct zt_revocation *v);
int zt_rev_signing_input(const struct zt_revocation *v, uint8_t *out, size_t cap);
int zt_rev_sign(struct zt_revocation *v, const struct zt_identity *id);
int zt_rev_verify(const struct zt_revocation *v, const struct zt_identity *signer);

/* ---- acceptance (§5.6) ---- */

enum zt_cred_verdict {
	ZT_CRED_ACCEPTED = 0,       /* new: the caller stores it (or raises its threshold) */
	ZT_CRED_REDUNDANT,          /* identical or nothing new: keep what is stored */
	ZT_CRED_REJECTED,           /* invalid, old or revoked */
	ZT_CRED_DEFER,              /* signer identity unknown: WHOIS and retry */
};

/* "No threshold yet": nothing is revoked. */
#define ZT_REV_NONE INT64_MIN

/* COM filed under its issued-to address: stored is the one held (NULL if
 * none), rev_threshold the COM revocation threshold of that member. */
enum zt_cred_verdict zt_com_accept(const struct zt_com *stored, int64_t rev_threshold,
				   const struct zt_com *in, const struct zt_identity *signer);
/* Tag, capability, COO filed under issued-to and keyed by id: stored is
 * the one with the same id (NULL if none), rev_threshold the threshold
 * for (type, id). */
enum zt_cred_verdict zt_tag_accept(const struct zt_tag *stored, int64_t rev_threshold,
				   const struct zt_tag *in, const struct zt_identity *signer);
enum zt_cred_verdict zt_cap_accept(const struct zt_cap *stored, int64_t rev_threshold,
				   const struct zt_cap *in, zt_identity_lookup_fn lookup, void *arg);
enum zt_cred_verdict zt_coo_accept(const struct zt_coo *stored, int64_t rev_threshold,
				   const struct zt_coo *in, const struct zt_identity *signer);
/* Revocation filed under its target: com_threshold is the target's COM
 * revocation threshold, cred_threshold its threshold for (in->type,
 * in->cred_id) (unused for a COM revocation).  On ACCEPTED the thresholds
 * are updated as 1.14 does, including the quirk that a tag, capability
 * or COO revocation overwrites the COM threshold. */
enum zt_cred_verdict zt_rev_accept(const struct zt_revocation *in, const struct zt_identity *signer,
				   int64_t *com_threshold, int64_t *cred_threshold);
/* A peer's tag/capability/COO may be used: |ts - own_ts| <= own_ctmd and
 * ts > rev_threshold. */
bool zt_cred_usable(int64_t ts, int64_t own_ts, int64_t own_ctmd, int64_t rev_threshold);
/* The gate of §3.10 on a private network, given the record held for P. */
bool zt_com_gate(const struct zt_com *mine, const struct zt_com *theirs,
		 int64_t their_rev_threshold, const struct zt_identity *their_id);

#endif
