/* The captured datagrams of t/vectors/packets.txt: classification of every
 * one, and reassembly of the fragmented packets to exactly assembled_hex. */
#include <errno.h>
#include <zt/fragment.h>
#include <zt/packet.h>
#include "tap.h"
#include "packet-vec.h"

static uint8_t out[ZT_PKT_MAX], want[ZT_PKT_MAX], buf[ZT_FRAG_MAX][ZT_PKT_MAX + 100];
static long len[ZT_FRAG_MAX];

/* The record whose "packet:" index is idx, searching from rec i of the same
 * scenario onwards (indices restart per scenario). */
static const struct vec_rec *find(const struct vec_file *vf, size_t from, const char *idx)
{
	size_t i;

	for (i = from; i < vf->n; i++) {
		const char *p = vec_get(&vf->rec[i], "packet");

		if (p && !strcmp(p, idx))
			return &vf->rec[i];
	}
	return NULL;
}

static void check_kind(const struct vec_rec *r)
{
	const char *kind = vec_get(r, "kind"), *hex = vec_get(r, "udp_payload_hex");
	long n = hex ? vec_unhex(hex, buf[0], sizeof buf[0]) : -1;
	enum zt_dgram_kind k = n >= 0 ? zt_dgram_classify(buf[0], (size_t)n) : ZT_DGRAM_JUNK;
	char name[96];
	bool good;

	if (!kind || n < 0)
		good = false;
	else if (!strcmp(kind, "packet"))
		good = k == ((buf[0][ZT_HDR_FLAGS] & ZT_FLAG_FRAGMENTED) ? ZT_DGRAM_HEAD : ZT_DGRAM_PACKET);
	else if (!strcmp(kind, "fragment"))
		good = k == ZT_DGRAM_FRAGMENT;
	else
		good = k == ZT_DGRAM_JUNK;
	snprintf(name, sizeof name, "datagram %s (%s) classified",
		 vec_get(r, "packet") ? vec_get(r, "packet") : "?", kind ? kind : "?");
	ok(good, name);
}

/* "fragment: packet_id=.. dest=.. total=2 number=1 hops=0" */
static void check_frag_fields(const struct vec_rec *r)
{
	const char *line = vec_get(r, "fragment"), *hex = vec_get(r, "udp_payload_hex");
	unsigned long long id, dest;
	unsigned total, number, hops;
	struct zt_frag f;
	long n = hex ? vec_unhex(hex, buf[0], sizeof buf[0]) : -1;

	ok(line && n > 0 && sscanf(line, "packet_id=%llx dest=%llx total=%u number=%u hops=%u",
				   &id, &dest, &total, &number, &hops) == 5 &&
	   zt_frag_parse(&f, buf[0], (size_t)n) == 0 && f.id == id && f.dest == dest &&
	   f.total == total && f.number == number && f.hops == hops,
	   "fragment header fields");
}

/* Feed the pieces in the order given by perm; the last one completes. */
static bool reassemble(struct zt_reasm *t, unsigned n, const unsigned *perm, long wlen)
{
	unsigned i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		rc = zt_reasm_input(t, buf[perm[i]], (size_t)len[perm[i]], 1000 + i, out, sizeof out);
		if (i + 1 < n && rc != 0)
			return false;
	}
	return rc == wlen && memcmp(out, want, (size_t)wlen) == 0;
}

static void check_assembly(const struct vec_file *vf, size_t at, struct zt_reasm *t)
{
	const struct vec_rec *r = &vf->rec[at];
	const char *from = vec_get(r, "assembled_from_packets"), *hex = vec_get(r, "assembled_hex");
	const char *pk = vec_get(r, "packet") ? vec_get(r, "packet") : "?";
	unsigned fwd[ZT_FRAG_MAX], rev[ZT_FRAG_MAX], n = 0, i;
	char idx[16], name[96];
	long wlen = hex ? vec_unhex(hex, want, sizeof want) : -1;
	int pos, used;
	bool split_ok = true;

	while (from && n < ZT_FRAG_MAX && sscanf(from, "%15s%n", idx, &used) == 1) {
		const struct vec_rec *p = find(vf, at, idx);
		const char *ph = p ? vec_get(p, "udp_payload_hex") : NULL;

		len[n] = ph ? vec_unhex(ph, buf[n], sizeof buf[n]) : -1;
		n++;
		from += used;
	}
	for (i = 0; i < n; i++) {
		fwd[i] = i;
		rev[i] = n - 1 - i;
	}
	snprintf(name, sizeof name, "packet %s: %u datagrams reassemble in order",
		 pk, n);
	ok(n >= 2 && wlen > 0 && reassemble(t, n, fwd, wlen), name);
	snprintf(name, sizeof name, "packet %s: and in reverse order", pk);
	ok(n >= 2 && reassemble(t, n, rev, wlen), name);
	/* the sender cut at its MTU, the head's length: split the same way */
	for (i = 1; i < n && wlen > 0; i++) {
		uint8_t frag[ZT_PKT_MAX];

		pos = zt_frag_build(want, (size_t)wlen, (unsigned)len[0], i, frag, sizeof frag);
		split_ok = split_ok && pos == len[i] && memcmp(frag, buf[i], (size_t)pos) == 0;
	}
	snprintf(name, sizeof name, "packet %s: split at MTU %ld gives the captured datagrams",
		 pk, len[0]);
	ok(n >= 2 && split_ok && zt_frag_count((size_t)wlen, (unsigned)len[0]) == (int)n &&
	   memcmp(want, buf[0], (size_t)len[0]) == 0, name);
}

int main(void)
{
	struct vec_file vf = vec_load("packets.txt", "packet");
	struct zt_reasm *t = zt_reasm_new(ZT_REASM_SLOTS);
	size_t i, dgrams = 0, frags = 0, assembled = 0;

	for (i = 0; i < vf.n; i++) {
		dgrams += vec_get(&vf.rec[i], "udp_payload_hex") != NULL;
		frags += vec_get(&vf.rec[i], "fragment") != NULL;
		assembled += vec_get(&vf.rec[i], "assembled_hex") != NULL;
	}
	if (!t || dgrams < 100 || !frags || !assembled)
		bail("vectors: %zu datagrams, %zu fragments, %zu assembled", dgrams, frags, assembled);
	plan((int)(dgrams + frags + 3 * assembled + 1));
	for (i = 0; i < vf.n; i++) {
		if (vec_get(&vf.rec[i], "udp_payload_hex"))
			check_kind(&vf.rec[i]);
		if (vec_get(&vf.rec[i], "fragment"))
			check_frag_fields(&vf.rec[i]);
		if (vec_get(&vf.rec[i], "assembled_hex"))
			check_assembly(&vf, i, t);
	}
	is_int(zt_reasm_expire(t, 2000), 0, "no entry left behind");
	zt_reasm_free(t);
	vec_free(&vf);
	return tap_done();
}
