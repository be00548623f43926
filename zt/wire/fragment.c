/* Fragmentation and reassembly (wire.md §3.6) and relay hops (§3.7). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zt/fragment.h>
#include <zt/packet.h>

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

enum zt_dgram_kind zt_dgram_classify(const uint8_t *p, size_t len)
{
	if (len == ZT_BEACON_LEN)
		return ZT_DGRAM_BEACON;
	if (len <= ZT_FRAG_HDR_LEN)
		return ZT_DGRAM_JUNK;
	if (p[ZT_FRAG_IDX_INDICATOR] == ZT_FRAG_INDICATOR)
		return ZT_DGRAM_FRAGMENT;
	if (len < ZT_PKT_MIN)
		return ZT_DGRAM_JUNK;
	if (p[ZT_HDR_FLAGS] & ZT_FLAG_FRAGMENTED)
		return ZT_DGRAM_HEAD;
	return ZT_DGRAM_PACKET;
}

int zt_frag_parse(struct zt_frag *f, const uint8_t *p, size_t len)
{
	unsigned total, number;

	if (zt_dgram_classify(p, len) != ZT_DGRAM_FRAGMENT)
		return -EINVAL;
	total = p[ZT_FRAG_IDX_COUNTS] >> 4;
	number = p[ZT_FRAG_IDX_COUNTS] & 0x0f;
	if (total <= 1 || total > ZT_FRAG_MAX || number < 1 || number >= total)
		return -EINVAL;
	f->id = be64(p);
	f->dest = be64(p + 5) & 0xffffffffffULL;
	f->total = (uint8_t)total;
	f->number = (uint8_t)number;
	f->hops = p[ZT_FRAG_IDX_HOPS] & ZT_FLAG_HOPS;
	f->data = p + ZT_FRAG_HDR_LEN;
	f->len = len - ZT_FRAG_HDR_LEN;
	return 0;
}

int zt_frag_count(size_t len, unsigned mtu)
{
	size_t chunk, n;

	if (mtu < ZT_PKT_MIN)
		return -EINVAL;
	if (len <= mtu)
		return 1;
	chunk = mtu - ZT_FRAG_HDR_LEN;
	n = 1 + (len - mtu + chunk - 1) / chunk;
	return n > ZT_FRAG_MAX ? -EMSGSIZE : (int)n;
}

int zt_frag_size(size_t len, unsigned mtu)
{
	int n = zt_frag_count(len, mtu);
	size_t wire, size, last;

	if (n <= 1)
		return n < 0 ? n : (int)len;
	wire = len + (size_t)ZT_FRAG_HDR_LEN * (n - 1);
	size = (wire + n - 1) / n;
	/* size <= mtu and n datagrams of size carry len, so the count is
	 * the same; a head must still hold a whole header, and the last
	 * datagram some payload */
	if (size < ZT_PKT_MIN || size * (n - 1) + ZT_FRAG_HDR_LEN >= wire)
		return (int)mtu;
	last = wire - size * (n - 1);
	if (last > size || zt_frag_count(len, (unsigned)size) != n)
		return (int)mtu;
	return (int)size;
}

int zt_frag_build(const uint8_t *pkt, size_t len, unsigned size, unsigned i,
		  uint8_t *out, size_t cap)
{
	int n = zt_frag_count(len, size);
	size_t chunk = size - ZT_FRAG_HDR_LEN, off, dlen;

	if (n < 0)
		return n;
	if (i < 1 || i >= (unsigned)n)
		return -EINVAL;
	off = size + (i - 1) * chunk;
	dlen = len - off < chunk ? len - off : chunk;
	if (cap < ZT_FRAG_HDR_LEN + dlen)
		return -ENOBUFS;
	memcpy(out, pkt, 13);   /* packet ID and destination */
	out[ZT_FRAG_IDX_INDICATOR] = ZT_FRAG_INDICATOR;
	out[ZT_FRAG_IDX_COUNTS] = (uint8_t)(n << 4 | i);
	out[ZT_FRAG_IDX_HOPS] = 0;
	memcpy(out + ZT_FRAG_HDR_LEN, pkt + off, dlen);
	return (int)(ZT_FRAG_HDR_LEN + dlen);
}

/* Shared by heads and fragments: the hop count is the low 3 bits. */
static int hops_inc(uint8_t *b)
{
	unsigned hops = *b & ZT_FLAG_HOPS;

	if (hops >= ZT_RELAY_MAX_HOPS)
		return -ELOOP;
	*b = (uint8_t)((*b & ~ZT_FLAG_HOPS) | (hops + 1));
	return 0;
}

int zt_head_hops_inc(uint8_t *p, size_t len)
{
	if (len < ZT_PKT_MIN)
		return -EINVAL;
	return hops_inc(&p[ZT_HDR_FLAGS]);
}

int zt_frag_hops_inc(uint8_t *p, size_t len)
{
	int rc;

	if (len <= ZT_FRAG_HDR_LEN)
		return -EINVAL;
	rc = hops_inc(&p[ZT_FRAG_IDX_HOPS]);
	p[ZT_FRAG_IDX_HOPS] &= ZT_FLAG_HOPS;    /* other bits must be 0 */
	return rc;
}

/* ---- reassembly ---- */

/* Metadata is kept apart from the buffers so a lookup scans one small
 * array.  Pieces are appended to the slot's buffer as they arrive and put
 * in order when the packet is complete. */
struct reasm_meta {
	uint64_t id;
	int64_t created;
	bool used;
	uint8_t total;          /* 0 until a fragment says */
	uint8_t have;           /* bit i: piece i (0 = head) stored */
	uint16_t fill;
	uint16_t off[ZT_FRAG_MAX];
	uint16_t len[ZT_FRAG_MAX];
};

struct zt_reasm {
	unsigned slots;
	unsigned live;          /* slots used */
	struct reasm_meta *meta;
	uint8_t (*buf)[ZT_PKT_MAX];
};

struct zt_reasm *zt_reasm_new(unsigned slots)
{
	struct zt_reasm *t = calloc(1, sizeof *t);

	if (!t || slots == 0)
		goto fail;
	t->slots = slots;
	t->meta = calloc(slots, sizeof *t->meta);
	t->buf = malloc((size_t)slots * sizeof *t->buf);
	if (!t->meta || !t->buf)
		goto fail;
	return t;
fail:
	zt_reasm_free(t);
	return NULL;
}

void zt_reasm_free(struct zt_reasm *t)
{
	if (!t)
		return;
	free(t->meta);
	free(t->buf);
	free(t);
}

static bool expired(const struct reasm_meta *m, int64_t now)
{
	return now - m->created > ZT_REASM_TIMEOUT_MS || now < m->created;
}

unsigned zt_reasm_expire(struct zt_reasm *t, int64_t now)
{
	unsigned i, live = 0;

	for (i = 0; i < t->slots; i++) {
		if (t->meta[i].used && expired(&t->meta[i], now))
			t->meta[i].used = false;
		live += t->meta[i].used;
	}
	t->live = live;
	return live;
}

static void slot_free(struct zt_reasm *t, struct reasm_meta *m)
{
	if (m->used) {
		m->used = false;
		t->live--;
	}
}

/* The live entry for id, else a fresh one in a free, expired or the
 * oldest slot.  The scan stops once it has seen every live entry and a
 * free slot: packets come whole in a turn or two, so few are live and
 * a packet's head no longer visits every slot. */
static unsigned slot_get(struct zt_reasm *t, uint64_t id, int64_t now)
{
	unsigned i, pick = 0, seen = 0;
	bool free_found = false;

	for (i = 0; i < t->slots; i++) {
		struct reasm_meta *m = &t->meta[i];

		if (m->used && expired(m, now))
			slot_free(t, m);
		if (m->used) {
			if (m->id == id)
				return i;
			seen++;
			if (!free_found && m->created < t->meta[pick].created)
				pick = i;
		} else if (!free_found) {
			free_found = true, pick = i;
		}
		if (free_found && seen == t->live)
			break;
	}
	if (!t->meta[pick].used)
		t->live++;
	memset(&t->meta[pick], 0, sizeof t->meta[pick]);
	t->meta[pick].used = true;
	t->meta[pick].id = id;
	t->meta[pick].created = now;
	return pick;
}

/* A complete entry s: its length, with the packet copied to out, or
 * (when pkt is given and the pieces lie in the slot in order, as when
 * they came in order) left where it is and *pkt pointed at it. */
static int complete(struct zt_reasm *t, unsigned s, uint8_t *out, size_t cap, uint8_t **pkt)
{
	struct reasm_meta *m = &t->meta[s];
	size_t pos = 0;
	unsigned i;

	if (!m->total || m->have != (1u << m->total) - 1)
		return 0;
	slot_free(t, m);
	for (i = 0; i < m->total && m->off[i] == pos; i++)
		pos += m->len[i];
	if (pkt && i == m->total) {
		*pkt = t->buf[s];
		return (int)pos;
	}
	if (cap < m->fill)
		return -ENOBUFS;
	for (i = 0, pos = 0; i < m->total; i++) {
		memcpy(out + pos, t->buf[s] + m->off[i], m->len[i]);
		pos += m->len[i];
	}
	if (pkt)
		*pkt = out;
	return (int)pos;
}

/* Store piece i of slot s; the whole packet must fit ZT_PKT_MAX. */
static int piece_put(struct zt_reasm *t, unsigned s, unsigned i,
		     const uint8_t *data, size_t len)
{
	struct reasm_meta *m = &t->meta[s];

	if (m->have & (1u << i))
		return -EEXIST;
	if (len > (size_t)ZT_PKT_MAX - m->fill) {
		slot_free(t, m);
		return -EMSGSIZE;
	}
	memcpy(t->buf[s] + m->fill, data, len);
	m->off[i] = m->fill;
	m->len[i] = (uint16_t)len;
	m->fill = (uint16_t)(m->fill + len);
	m->have |= (uint8_t)(1u << i);
	return 0;
}

static int reasm_head(struct zt_reasm *t, const uint8_t *p, size_t len, int64_t now,
		      uint8_t *out, size_t cap, uint8_t **pkt)
{
	unsigned s;
	int rc;

	if (zt_dgram_classify(p, len) != ZT_DGRAM_HEAD)
		return -EINVAL;
	s = slot_get(t, be64(p), now);
	if ((rc = piece_put(t, s, 0, p, len)) < 0)
		return rc;
	return complete(t, s, out, cap, pkt);
}

static int reasm_frag(struct zt_reasm *t, const uint8_t *p, size_t len, int64_t now,
		      uint8_t *out, size_t cap, uint8_t **pkt)
{
	struct zt_frag f;
	unsigned s;
	int rc;

	if ((rc = zt_frag_parse(&f, p, len)) < 0)
		return rc;
	s = slot_get(t, f.id, now);
	if (t->meta[s].total && t->meta[s].total != f.total)
		return -EINVAL;
	if ((rc = piece_put(t, s, f.number, f.data, f.len)) < 0)
		return rc;
	t->meta[s].total = f.total;
	return complete(t, s, out, cap, pkt);
}

int zt_reasm_head(struct zt_reasm *t, const uint8_t *p, size_t len, int64_t now,
		  uint8_t *out, size_t cap)
{
	return reasm_head(t, p, len, now, out, cap, NULL);
}

int zt_reasm_frag(struct zt_reasm *t, const uint8_t *p, size_t len, int64_t now,
		  uint8_t *out, size_t cap)
{
	return reasm_frag(t, p, len, now, out, cap, NULL);
}

int zt_reasm_take(struct zt_reasm *t, const uint8_t *p, size_t len, int64_t now,
		  uint8_t *out, size_t cap, uint8_t **pkt)
{
	switch (zt_dgram_classify(p, len)) {
	case ZT_DGRAM_HEAD:
		return reasm_head(t, p, len, now, out, cap, pkt);
	case ZT_DGRAM_FRAGMENT:
		return reasm_frag(t, p, len, now, out, cap, pkt);
	default:
		return -EINVAL;
	}
}

int zt_reasm_input(struct zt_reasm *t, const uint8_t *p, size_t len, int64_t now,
		   uint8_t *out, size_t cap)
{
	uint8_t *pkt;
	int n = zt_reasm_take(t, p, len, now, out, cap, &pkt);

	if (n > 0 && pkt != out) {
		if ((size_t)n > cap)
			return -ENOBUFS;
		memcpy(out, pkt, (size_t)n);
	}
	return n;
}
