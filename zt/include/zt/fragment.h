/* Fragmentation, datagram classification and reassembly (wire.md §3.6),
 * and the hop count of relayed heads and fragments (§3.7). */
#ifndef ZT_FRAGMENT_H
#define ZT_FRAGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZT_FRAG_HDR_LEN 16
#define ZT_FRAG_INDICATOR 0xff      /* byte 13 of a fragment */
#define ZT_FRAG_IDX_INDICATOR 13
#define ZT_FRAG_IDX_COUNTS 14       /* total << 4 | number */
#define ZT_FRAG_IDX_HOPS 15
#define ZT_FRAG_MAX 7               /* head + 6: the most 1.14 accepts */
#define ZT_BEACON_LEN 13
#define ZT_MTU_DEFAULT 1432
#define ZT_MTU_MIN 1400
#define ZT_REASM_SLOTS 64
#define ZT_REASM_TIMEOUT_MS 5000

/* §3.6 receive steps 1-4. */
enum zt_dgram_kind {
	ZT_DGRAM_JUNK = 0,      /* too short to be anything: ignore */
	ZT_DGRAM_BEACON,        /* 13-byte legacy LAN beacon */
	ZT_DGRAM_FRAGMENT,      /* a fragment, not the head */
	ZT_DGRAM_HEAD,          /* a packet with the fragmented flag: more follow */
	ZT_DGRAM_PACKET,        /* a whole packet */
};

enum zt_dgram_kind zt_dgram_classify(const uint8_t *p, size_t len);

/* A fragment's header; data points into the datagram. */
struct zt_frag {
	uint64_t id;
	uint64_t dest;
	uint8_t total;          /* N, head included */
	uint8_t number;         /* 1..N-1 */
	uint8_t hops;
	const uint8_t *data;
	size_t len;
};

/* Parse and sanity-check (1 < N <= 7, 1 <= number < N): 0 or -EINVAL. */
int zt_frag_parse(struct zt_frag *f, const uint8_t *p, size_t len);

/* How many datagrams an armored packet of len bytes takes at this MTU:
 * 1 means it goes whole.  -EMSGSIZE if it would need more than
 * ZT_FRAG_MAX, -EINVAL for an MTU too small to carry a head. */
int zt_frag_count(size_t len, unsigned mtu);
/* The size S of the datagrams a packet of len bytes is cut into at this
 * MTU: all of its zt_frag_count() datagrams are S bytes long but the last,
 * which may be shorter, so that a run of equal packets gives a run of
 * equal datagrams (UDP segmentation offload sends such a run in one
 * call).  S = ceil((len + 16 (n - 1)) / n) for n datagrams, at most mtu;
 * len itself when it goes whole; mtu when an even cut would leave a head
 * too short (tiny MTUs).  Errors as zt_frag_count().  Receivers just
 * concatenate the pieces, so any cut is valid on the wire. */
int zt_frag_size(size_t len, unsigned mtu);
/* Build datagram i (1..count-1) of the armored packet pkt, cut at size
 * (the head's length, normally zt_frag_size(); ZeroTier One cuts at its
 * MTU), into out: returns its length or a negative errno.  Datagram 0,
 * the head, is pkt[0 .. min(len, size)) as it is, sent without copying;
 * fragment i carries pkt[size + (i-1)(size-16) ..], size-16 bytes or the
 * rest. */
int zt_frag_build(const uint8_t *pkt, size_t len, unsigned size, unsigned i,
		  uint8_t *out, size_t cap);

/* Relaying: increment the hop count in place, or -ELOOP when it is
 * already ZT_RELAY_MAX_HOPS or more (drop it). */
int zt_head_hops_inc(uint8_t *p, size_t len);
int zt_frag_hops_inc(uint8_t *p, size_t len);

/* The reassembly table: fixed size, allocated once. */
struct zt_reasm;

struct zt_reasm *zt_reasm_new(unsigned slots);
void zt_reasm_free(struct zt_reasm *t);

/* Offer a head (ZT_DGRAM_HEAD) or fragment (ZT_DGRAM_FRAGMENT) addressed
 * to us, at time now (ms).  Returns 0 when stored and still incomplete;
 * the packet length when it is now complete and has been copied to out
 * (the entry is then freed); or a negative errno for a dropped datagram:
 * -EINVAL not a head/fragment or insane counts, -EEXIST duplicate,
 * -EMSGSIZE reassembled packet over ZT_PKT_MAX, -ENOBUFS out too small. */
int zt_reasm_head(struct zt_reasm *t, const uint8_t *p, size_t len, int64_t now,
		  uint8_t *out, size_t cap);
int zt_reasm_frag(struct zt_reasm *t, const uint8_t *p, size_t len, int64_t now,
		  uint8_t *out, size_t cap);
/* Either of the above by classification. */
int zt_reasm_input(struct zt_reasm *t, const uint8_t *p, size_t len, int64_t now,
		   uint8_t *out, size_t cap);
/* zt_reasm_input without a copy where it can: a packet whose pieces came
 * in order is left in the table and *pkt points at it (valid until the
 * next call on t); otherwise it is copied to out and *pkt is out. */
int zt_reasm_take(struct zt_reasm *t, const uint8_t *p, size_t len, int64_t now,
		  uint8_t *out, size_t cap, uint8_t **pkt);
/* Forget entries older than ZT_REASM_TIMEOUT_MS; returns how many live. */
unsigned zt_reasm_expire(struct zt_reasm *t, int64_t now);

#endif
