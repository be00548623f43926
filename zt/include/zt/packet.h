/* Packet codec (wire.md §3, §4): a bounds-checked cursor, the 27-byte
 * header and the peer-level verbs.
 *
 * Decoders take the payload, i.e. the bytes after the verb byte (packet
 * offset ZT_HDR_PAYLOAD), already dearmored and decompressed.  They fill
 * structs whose pointers point into that buffer and allocate nothing.
 * Encoders append a payload to a writer positioned after the verb byte
 * (zt_hdr_write leaves it there). */
#ifndef ZT_PACKET_H
#define ZT_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zt/module.h>

/* ---- the cursor ---- */

/* A reader: reading past the end sets err and yields zeros; once err is
 * set every later read fails too, so callers check once at the end. */
struct zt_rd {
	const uint8_t *p;
	size_t len;
	size_t pos;
	bool err;
};

/* A writer: writing past cap sets err and writes nothing more. */
struct zt_wr {
	uint8_t *p;
	size_t cap;
	size_t len;
	bool err;
};

static inline void zt_rd_init(struct zt_rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->err = false;
}

static inline size_t zt_rd_left(const struct zt_rd *r)
{
	return r->err ? 0 : r->len - r->pos;
}

/* n bytes at the cursor, or NULL (and err) if fewer remain. */
static inline const uint8_t *zt_rd_ptr(struct zt_rd *r, size_t n)
{
	const uint8_t *q;

	if (r->err || n > r->len - r->pos) {
		r->err = true;
		return NULL;
	}
	q = r->p ? r->p + r->pos : NULL;  /* NULL+0 is undefined */
	r->pos += n;
	return q;
}

static inline void zt_rd_skip(struct zt_rd *r, size_t n)
{
	(void)zt_rd_ptr(r, n);
}

/* Big-endian unsigned integer of n (1..8) bytes. */
static inline uint64_t zt_rd_uint(struct zt_rd *r, size_t n)
{
	const uint8_t *q = zt_rd_ptr(r, n);
	uint64_t v = 0;

	if (!q)
		return 0;
	while (n--)
		v = v << 8 | *q++;
	return v;
}

static inline uint8_t zt_rd_u8(struct zt_rd *r) { return (uint8_t)zt_rd_uint(r, 1); }
static inline uint16_t zt_rd_u16(struct zt_rd *r) { return (uint16_t)zt_rd_uint(r, 2); }
static inline uint32_t zt_rd_u32(struct zt_rd *r) { return (uint32_t)zt_rd_uint(r, 4); }
static inline uint64_t zt_rd_u40(struct zt_rd *r) { return zt_rd_uint(r, 5); }
static inline uint64_t zt_rd_u64(struct zt_rd *r) { return zt_rd_uint(r, 8); }

/* Copy n bytes out; zeros dst if they are not there. */
static inline void zt_rd_copy(struct zt_rd *r, void *dst, size_t n)
{
	const uint8_t *q = zt_rd_ptr(r, n);

	if (q)
		memcpy(dst, q, n);
	else
		memset(dst, 0, n);
}

static inline void zt_wr_init(struct zt_wr *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->err = false;
}

/* Reserve n bytes at the end, or NULL (and err) if they do not fit. */
static inline uint8_t *zt_wr_ptr(struct zt_wr *w, size_t n)
{
	uint8_t *q;

	if (w->err || n > w->cap - w->len) {
		w->err = true;
		return NULL;
	}
	q = w->p ? w->p + w->len : NULL;
	w->len += n;
	return q;
}

static inline void zt_wr_uint(struct zt_wr *w, uint64_t v, size_t n)
{
	uint8_t *q = zt_wr_ptr(w, n);

	if (!q)
		return;
	while (n--) {
		q[n] = (uint8_t)v;
		v >>= 8;
	}
}

static inline void zt_wr_u8(struct zt_wr *w, uint8_t v) { zt_wr_uint(w, v, 1); }
static inline void zt_wr_u16(struct zt_wr *w, uint16_t v) { zt_wr_uint(w, v, 2); }
static inline void zt_wr_u32(struct zt_wr *w, uint32_t v) { zt_wr_uint(w, v, 4); }
static inline void zt_wr_u40(struct zt_wr *w, uint64_t v) { zt_wr_uint(w, v, 5); }
static inline void zt_wr_u64(struct zt_wr *w, uint64_t v) { zt_wr_uint(w, v, 8); }

static inline void zt_wr_bytes(struct zt_wr *w, const void *src, size_t n)
{
	uint8_t *q = zt_wr_ptr(w, n);

	if (q && n)
		memcpy(q, src, n);
}

/* ---- header (§3.1-§3.3) ---- */

#define ZT_HDR_ID 0
#define ZT_HDR_DEST 8
#define ZT_HDR_SRC 13
#define ZT_HDR_FLAGS 18
#define ZT_HDR_MAC 19
#define ZT_HDR_VERB 27
#define ZT_HDR_PAYLOAD 28
#define ZT_HDR_LEN 27
/* also in <zt/crypto.h>, with the same values */
#ifndef ZT_PKT_MIN
#define ZT_PKT_MIN 28            /* header + verb */
#endif
#ifndef ZT_PKT_MAX
#define ZT_PKT_MAX 10024         /* largest (reassembled) packet */
#endif
#define ZT_PAYLOAD_MAX (ZT_PKT_MAX - ZT_PKT_MIN)

#define ZT_FLAG_ENCRYPTED 0x80   /* legacy: set iff suite 1 */
#define ZT_FLAG_FRAGMENTED 0x40
#define ZT_FLAG_HOPS 0x07
#define ZT_VERB_COMPRESSED 0x80
#define ZT_VERB_MASK 0x1f

#define ZT_HOPS_MAX 7
#define ZT_RELAY_MAX_HOPS 3

enum zt_cipher {
	ZT_CIPHER_POLY1305_NONE = 0,
	ZT_CIPHER_POLY1305_SALSA2012 = 1,
	ZT_CIPHER_TRUSTED = 2,
	ZT_CIPHER_AES_GMAC_SIV = 3,
};

enum zt_verb {
	ZT_VERB_NOP = 0x00,
	ZT_VERB_HELLO = 0x01,
	ZT_VERB_ERROR = 0x02,
	ZT_VERB_OK = 0x03,
	ZT_VERB_WHOIS = 0x04,
	ZT_VERB_RENDEZVOUS = 0x05,
	ZT_VERB_FRAME = 0x06,
	ZT_VERB_EXT_FRAME = 0x07,
	ZT_VERB_ECHO = 0x08,
	ZT_VERB_MULTICAST_LIKE = 0x09,
	ZT_VERB_NETWORK_CREDENTIALS = 0x0a,
	ZT_VERB_NETWORK_CONFIG_REQUEST = 0x0b,
	ZT_VERB_NETWORK_CONFIG = 0x0c,
	ZT_VERB_MULTICAST_GATHER = 0x0d,
	ZT_VERB_MULTICAST_FRAME = 0x0e,
	ZT_VERB_PUSH_DIRECT_PATHS = 0x10,
	ZT_VERB_ACK = 0x12,
	ZT_VERB_QOS_MEASUREMENT = 0x13,
	ZT_VERB_USER_MESSAGE = 0x14,
	ZT_VERB_REMOTE_TRACE = 0x15,
	ZT_VERB_PATH_NEGOTIATION_REQUEST = 0x16,
};

/* "HELLO", "OK", ...; NULL for numbers without a verb. */
const char *zt_verb_name(unsigned verb);

/* Header fields; id is bytes 0..7 read big-endian, verb the raw byte. */
struct zt_hdr {
	uint64_t id;
	uint64_t dest;
	uint64_t src;
	uint8_t flags;
	uint8_t mac[8];
	uint8_t verb;
};

static inline unsigned zt_flags_cipher(uint8_t flags) { return (flags >> 3) & 7; }
static inline unsigned zt_flags_hops(uint8_t flags) { return flags & ZT_FLAG_HOPS; }
static inline bool zt_flags_fragmented(uint8_t flags) { return flags & ZT_FLAG_FRAGMENTED; }

/* The flags byte a sender uses: suite, fragmented, hops 0, and the legacy
 * bit exactly for suite 1 (§2.4.2). */
uint8_t zt_flags_make(enum zt_cipher cipher, bool fragmented);

/* Read the header and verb byte of a packet of at least ZT_PKT_MIN bytes:
 * 0 or -EMSGSIZE. */
int zt_hdr_read(struct zt_hdr *h, const uint8_t *p, size_t len);
/* Write the header and verb byte; the writer is left at the payload. */
int zt_hdr_write(struct zt_wr *w, const struct zt_hdr *h);

/* ---- identities inside packets ---- */

/* Length of the binary identity (§1.6) at p: 71, 135, or -EINVAL for a
 * bad type or private-key length, -EMSGSIZE if truncated. */
int zt_idbin_len(const uint8_t *p, size_t len);

/* ---- verbs (§4) ---- */

/* HELLO (§4.2).  The tail (moon list) is encrypted on the wire: decode
 * reads the clear part and locates the tail; once the caller has
 * decrypted it in place, zt_hello_decode_moons reads it. */
struct zt_moon_ref {
	uint8_t type;       /* 0x7f for a moon; others are skipped by 1.14 */
	uint64_t id;
	uint64_t ts;        /* 0: wanted but not held */
};

#define ZT_MOON_REF_LEN 17

struct zt_hello {
	uint8_t proto, major, minor;
	uint16_t revision;
	uint64_t timestamp;
	const uint8_t *id;          /* binary identity, id_len bytes */
	size_t id_len;
	bool has_dest;              /* physical destination field present */
	union zt_sockaddr dest;     /* AF_UNSPEC: type 0 or a skipped type */
	bool has_planet;
	uint64_t planet_id, planet_ts;
	size_t tail_off;            /* payload offset of the moon count */
	size_t tail_len;            /* 0: no tail */
	const uint8_t *moons;       /* n_moons raw 17-byte entries */
	unsigned n_moons;
};

/* Clear part; 0, -EMSGSIZE (truncated) or -EINVAL (malformed). */
int zt_hello_decode(struct zt_hello *h, const uint8_t *pl, size_t len);
/* Moon list from the (decrypted) tail of pl; 0 or -EMSGSIZE. */
int zt_hello_decode_moons(struct zt_hello *h, const uint8_t *pl);
void zt_hello_moon(const struct zt_hello *h, unsigned i, struct zt_moon_ref *m);
/* Writes the full layout 1.14 sends (has_* are ignored: dest AF_UNSPEC is
 * type 0, planet 0/0 if unknown) and sets h->tail_off and h->tail_len to
 * the range the caller encrypts (§2.4.3).  -EINVAL without a valid id. */
int zt_hello_encode(struct zt_wr *w, struct zt_hello *h,
		    const struct zt_moon_ref *moons, unsigned n_moons);

/* ERROR (§4.3). */
enum zt_error_code {
	ZT_ERR_NONE = 0x00,
	ZT_ERR_INVALID_REQUEST = 0x01,
	ZT_ERR_BAD_PROTOCOL_VERSION = 0x02,
	ZT_ERR_OBJ_NOT_FOUND = 0x03,
	ZT_ERR_IDENTITY_COLLISION = 0x04,
	ZT_ERR_UNSUPPORTED_OPERATION = 0x05,
	ZT_ERR_NEED_MEMBERSHIP_CERTIFICATE = 0x06,
	ZT_ERR_NETWORK_ACCESS_DENIED = 0x07,
	ZT_ERR_UNWANTED_MULTICAST = 0x08,
	ZT_ERR_NETWORK_AUTHENTICATION_REQUIRED = 0x09,
};

struct zt_error {
	uint8_t in_re_verb;
	uint64_t in_re_id;
	uint8_t code;
	bool has_nwid;
	uint64_t nwid;
	uint64_t mac;               /* UNWANTED_MULTICAST: 48-bit MAC */
	uint32_t adi;               /* UNWANTED_MULTICAST */
	const uint8_t *dict;        /* AUTHENTICATION_REQUIRED, if present */
	size_t dict_len;
	const uint8_t *rest;        /* the raw payload after the code */
	size_t rest_len;
};

int zt_error_decode(struct zt_error *e, const uint8_t *pl, size_t len);
/* Writes the fields the code calls for (nwid when has_nwid for codes
 * where it is optional; dict when dict is set). */
int zt_error_encode(struct zt_wr *w, const struct zt_error *e);

/* OK (§4.4): the common part; data is the in-re-verb specific payload. */
struct zt_ok {
	uint8_t in_re_verb;
	uint64_t in_re_id;
	const uint8_t *data;
	size_t len;
};

int zt_ok_decode(struct zt_ok *ok, const uint8_t *pl, size_t len);
/* Writes in-re verb and id; the caller appends the specific payload. */
int zt_ok_encode(struct zt_wr *w, uint8_t in_re_verb, uint64_t in_re_id);

/* OK(HELLO) (§4.4.1), decoded from zt_ok.data. */
struct zt_ok_hello {
	uint64_t timestamp;         /* echoed from the HELLO */
	uint8_t proto, major, minor;
	uint16_t revision;
	bool has_addr;
	union zt_sockaddr addr;     /* the HELLO's source as seen by the responder */
	bool has_worlds;
	const uint8_t *worlds;      /* serialized worlds (§6.1), worlds_len bytes */
	size_t worlds_len;
};

int zt_ok_hello_decode(struct zt_ok_hello *o, const uint8_t *data, size_t len);
/* Writes every field; addr AF_UNSPEC is type 0, no worlds a length of 0. */
int zt_ok_hello_encode(struct zt_wr *w, const struct zt_ok_hello *o);

/* OK(WHOIS) (§4.4.2): one or more binary identities. */
struct zt_ok_whois {
	const uint8_t *ids;
	size_t len;
	unsigned count;
};

int zt_ok_whois_decode(struct zt_ok_whois *o, const uint8_t *data, size_t len);
/* The i-th identity and its length (walks the list; count is small). */
const uint8_t *zt_ok_whois_id(const struct zt_ok_whois *o, unsigned i, size_t *idlen);

/* WHOIS (§4.5): addresses, 5 bytes each; a trailing partial one is ignored. */
struct zt_whois {
	const uint8_t *addrs;
	unsigned count;
};

int zt_whois_decode(struct zt_whois *q, const uint8_t *pl, size_t len);
uint64_t zt_whois_addr(const struct zt_whois *q, unsigned i);
int zt_whois_encode(struct zt_wr *w, const uint64_t *addrs, unsigned n);

/* RENDEZVOUS (§4.6). */
struct zt_rendezvous {
	uint8_t flags;
	uint64_t with;
	union zt_sockaddr addr;     /* IP and port of that peer */
};

int zt_rendezvous_decode(struct zt_rendezvous *rv, const uint8_t *pl, size_t len);
int zt_rendezvous_encode(struct zt_wr *w, const struct zt_rendezvous *rv);

/* ECHO (§4.7) and OK(ECHO) carry an opaque payload: the decoder of the
 * request is the identity, encode copies. */
int zt_echo_encode(struct zt_wr *w, const void *data, size_t len);

/* PUSH_DIRECT_PATHS (§4.8).  decode checks that all count records fit;
 * zt_push_paths_next then walks them. */
#define ZT_PUSH_FORGET 0x01
#define ZT_PUSH_CLUSTER_REDIRECT 0x02
#define ZT_PUSH_MAX_PER_SCOPE 8     /* receiver: tried per scope+family+packet */
#define ZT_PUSH_FILL 1200           /* 1.14 fills a packet to about this */

struct zt_push_paths {
	unsigned count;
	const uint8_t *recs;
	size_t len;
};

struct zt_path_rec {
	uint8_t flags;
	uint8_t type;               /* 4, 6, or another (skipped) value */
	union zt_sockaddr addr;     /* AF_UNSPEC unless a well-formed 4 or 6 */
};

int zt_push_paths_decode(struct zt_push_paths *pp, const uint8_t *pl, size_t len);
/* Record at *off (start with 0): 1 and advances, or 0 at the end. */
int zt_push_paths_next(const struct zt_push_paths *pp, size_t *off, struct zt_path_rec *rec);
/* Writes records for addrs (IPv4/IPv6 only; others are passed over) while
 * the payload stays within max_len bytes; returns how many of addrs were
 * consumed, so the caller sends the rest in another packet. */
int zt_push_paths_encode(struct zt_wr *w, const union zt_sockaddr *addrs, size_t n,
			 size_t max_len);

/* USER_MESSAGE (§4.9). */
struct zt_user_msg {
	uint64_t type;
	const uint8_t *data;
	size_t len;
};

int zt_user_msg_decode(struct zt_user_msg *m, const uint8_t *pl, size_t len);
int zt_user_msg_encode(struct zt_wr *w, const struct zt_user_msg *m);

/* zt's own USER_MESSAGE, "ztNAT" + 1 (zt-nat(7)): what a peer tells the
 * other side of a RENDEZVOUS about its NAT, so that the two can find a
 * direct path across one symmetric NAT.  Reference nodes ignore user
 * messages of types they do not know.  Data: version (1), NAT type (1),
 * flags (1), sockets the sender sprays from (2), the sender's external
 * address as its upstream sees it (InetAddress, wire.md §5). */
#define ZT_NATMSG_TYPE 0x7a744e4154000001ULL
#define ZT_NATMSG_VERSION 1
enum zt_natmsg_nat {
	ZT_NATMSG_UNKNOWN = 0,
	ZT_NATMSG_NONE = 1,            /* peers see a local address */
	ZT_NATMSG_INDEPENDENT = 2,     /* one mapping for every destination (cone) */
	ZT_NATMSG_DEPENDENT = 3,       /* a mapping per destination (symmetric) */
};
#define ZT_NATMSG_SPRAYING 0x01        /* the sender's sockets are open now: probe */
#define ZT_NATMSG_FLAGS 0x01           /* the flags version 1 knows */
struct zt_natmsg {
	enum zt_natmsg_nat nat;
	uint8_t flags;
	uint16_t sockets;
	union zt_sockaddr external;    /* AF_UNSPEC: not known */
};
/* The data of a user message of type ZT_NATMSG_TYPE: 0, or -EMSGSIZE
 * (short, trailing bytes), -EPROTONOSUPPORT (another version), -EINVAL
 * (unknown NAT type or flags, an external address that is not IPv4 or
 * IPv6). */
int zt_natmsg_decode(struct zt_natmsg *m, const uint8_t *data, size_t len);
/* The whole USER_MESSAGE payload (type and data). */
int zt_natmsg_encode(struct zt_wr *w, const struct zt_natmsg *m);

#endif
