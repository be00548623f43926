/* Fragmentation and reassembly (wire.md §3.6), relay hops (§3.7):
 * classification, split and reassemble at many sizes and MTUs in any
 * order, duplicates, timeouts, eviction, and a flood of bogus fragments. */
#include <errno.h>
#include <zt/fragment.h>
#include <zt/packet.h>
#include "tap.h"

static uint8_t pkt[ZT_PKT_MAX + 100], out[ZT_PKT_MAX];
static uint8_t dg[ZT_FRAG_MAX][ZT_PKT_MAX];
static size_t dlen[ZT_FRAG_MAX];
static uint32_t seed = 1;

static uint32_t rnd(void)
{
	seed = seed * 1103515245 + 12345;
	return seed >> 8;
}

/* A random armored-looking packet with the fragmented flag as needed. */
static void make_pkt(size_t len, unsigned mtu)
{
	size_t i;

	for (i = 0; i < len; i++)
		pkt[i] = (uint8_t)rnd();
	pkt[ZT_HDR_SRC] = 0x42;     /* a source address never starts with ff */
	pkt[ZT_HDR_FLAGS] = (uint8_t)((pkt[ZT_HDR_FLAGS] & ~ZT_FLAG_FRAGMENTED & ~ZT_FLAG_HOPS) |
				      (len > mtu ? ZT_FLAG_FRAGMENTED : 0));
}

/* Split pkt into dg[] as a sender does; returns the count. */
static int split(size_t len, unsigned mtu)
{
	int n = zt_frag_count(len, mtu), size = zt_frag_size(len, mtu), i;

	if (n < 1)
		return n;
	if (size < 1)
		return -1000;
	dlen[0] = len < (size_t)size ? len : (size_t)size;
	memcpy(dg[0], pkt, dlen[0]);
	for (i = 1; i < n; i++) {
		int rc = zt_frag_build(pkt, len, (unsigned)size, (unsigned)i, dg[i], sizeof dg[i]);

		if (rc < 0)
			return rc;
		dlen[i] = (size_t)rc;
	}
	return n;
}

/* Feed the datagrams in the order of perm; only the last completes. */
static bool feed(struct zt_reasm *t, int n, const int *perm, size_t len, int64_t now)
{
	int i, rc = 0;

	for (i = 0; i < n; i++) {
		rc = zt_reasm_input(t, dg[perm[i]], dlen[perm[i]], now, out, sizeof out);
		if (i + 1 < n && rc != 0)
			return false;
	}
	return rc == (int)len && !memcmp(out, pkt, len);
}

static void classify(void)
{
	uint8_t d[40] = { 0 };
	size_t n;
	bool good = true;

	for (n = 0; n <= 16; n++)
		good = good && zt_dgram_classify(d, n) == (n == 13 ? ZT_DGRAM_BEACON : ZT_DGRAM_JUNK);
	d[13] = 0xff;
	for (n = 0; n <= 16; n++)
		good = good && zt_dgram_classify(d, n) == (n == 13 ? ZT_DGRAM_BEACON : ZT_DGRAM_JUNK);
	ok(good, "16 bytes or fewer: junk, 13 bytes: a beacon, even with the ff marker");
	ok(zt_dgram_classify(d, 17) == ZT_DGRAM_FRAGMENT && zt_dgram_classify(d, 40) == ZT_DGRAM_FRAGMENT,
	   "ff at byte 13: a fragment");
	d[13] = 0;
	good = true;
	for (n = 17; n < ZT_PKT_MIN; n++)
		good = good && zt_dgram_classify(d, n) == ZT_DGRAM_JUNK;
	ok(good, "17..27 bytes without the marker: junk");
	ok(zt_dgram_classify(d, 28) == ZT_DGRAM_PACKET, "28 bytes: a packet");
	d[ZT_HDR_FLAGS] = 0x58;
	ok(zt_dgram_classify(d, 28) == ZT_DGRAM_HEAD, "fragmented flag: a head");
}

static void counts(void)
{
	uint8_t f[ZT_PKT_MAX];
	struct zt_frag fr;
	size_t n;
	bool good = true;

	ok(zt_frag_count(28, 1432) == 1 && zt_frag_count(1432, 1432) == 1 &&
	   zt_frag_count(1433, 1432) == 2 && zt_frag_count(1432 + 1416, 1432) == 2 &&
	   zt_frag_count(1432 + 1416 + 1, 1432) == 3 && zt_frag_count(1432 + 6 * 1416, 1432) == 7,
	   "N = 1 + ceil((L - m) / (m - 16))");
	is_int(zt_frag_count(1432 + 6 * 1416 + 1, 1432), -EMSGSIZE, "more than 7 datagrams refused");
	is_int(zt_frag_count(ZT_PKT_MAX, 1432), -EMSGSIZE, "10024 bytes need 8 at MTU 1432");
	is_int(zt_frag_count(100, 27), -EINVAL, "an MTU below 28 cannot carry a head");
	make_pkt(3000, 1432);
	ok(zt_frag_build(pkt, 3000, 1432, 0, f, sizeof f) == -EINVAL &&
	   zt_frag_build(pkt, 3000, 1432, 3, f, sizeof f) == -EINVAL &&
	   zt_frag_build(pkt, 3000, 1432, 2, f, 100) == -ENOBUFS, "bad fragment numbers, no room");
	n = (size_t)zt_frag_build(pkt, 3000, 1432, 2, f, sizeof f);
	ok(n == 16 + 3000 - 1432 - 1416 && !memcmp(f, pkt, 13) && f[13] == 0xff && f[14] == 0x32 &&
	   f[15] == 0 && !memcmp(f + 16, pkt + 1432 + 1416, n - 16), "fragment 2 of 3 laid out");
	ok(zt_frag_parse(&fr, f, n) == 0 && fr.total == 3 && fr.number == 2 && fr.hops == 0 &&
	   fr.len == n - 16 && fr.data == f + 16, "fragment header parsed");
	ok(zt_frag_size(28, 1432) == 28 && zt_frag_size(1432, 1432) == 1432,
	   "size: a packet that goes whole is its own size");
	ok(zt_frag_size(2838, 1432) == 1427 && zt_frag_size(1433, 1432) == 725 &&
	   zt_frag_size(1432 + 1416, 1432) == 1432 && zt_frag_size(1432 + 1416 + 1, 1432) == 961 &&
	   zt_frag_size(1432 + 6 * 1416, 1432) == 1432,
	   "size: S = ceil((L + 16 (N - 1)) / N)");
	ok(zt_frag_size(29, 28) == 28 && zt_frag_size(40, 28) == 28,
	   "size: the MTU when an even cut leaves a head shorter than 28 bytes");
	ok(zt_frag_size(ZT_PKT_MAX, 1432) == -EMSGSIZE && zt_frag_size(100, 27) == -EINVAL,
	   "size: errors as the count");
	make_pkt(2838, 1432);
	ok(split(2838, 1432) == 2 && dlen[0] == 1427 && dlen[1] == 1427 &&
	   !memcmp(dg[0], pkt, 1427) && !memcmp(dg[1] + 16, pkt + 1427, 1411),
	   "a 2838-byte packet goes as 1427 + 1427, not 1432 + 1422");
	for (n = 0; n < 256 && good; n++) {
		unsigned total = (unsigned)n >> 4, number = n & 15;

		f[14] = (uint8_t)n;
		good = (zt_frag_parse(&fr, f, 40) == 0) ==
		       (total > 1 && total <= 7 && number >= 1 && number < total);
	}
	ok(good, "only 1 < N <= 7 and 1 <= number < N are accepted");
}

static void round_trips(void)
{
	static const unsigned mtus[] = { 28, 64, 576, 1280, 1400, 1432, 1500, 4000, 9000 };
	struct zt_reasm *t = zt_reasm_new(ZT_REASM_SLOTS);
	int perm[ZT_FRAG_MAX], rev[ZT_FRAG_MAX];
	size_t m, len;
	char name[96];

	for (m = 0; m < sizeof mtus / sizeof mtus[0]; m++) {
		unsigned mtu = mtus[m], tried = 0;
		bool good = true;
		int64_t now = 0;

		for (len = ZT_PKT_MIN; len <= ZT_PKT_MAX; len += 1 + rnd() % (mtu < 200 ? 3 : 61)) {
			int n, i;

			make_pkt(len, mtu);
			n = split(len, mtu);
			if (n == -EMSGSIZE)
				break;
			if (n == 1) {
				good = good && zt_dgram_classify(dg[0], dlen[0]) == ZT_DGRAM_PACKET;
				continue;
			}
			for (i = 0; i < n; i++) {
				perm[i] = i;
				rev[i] = n - 1 - i;
			}
			for (i = n - 1; i > 0; i--) {
				int j = (int)(rnd() % (unsigned)(i + 1)), x = perm[i];

				perm[i] = perm[j];
				perm[j] = x;
			}
			good = good && n >= 2 && n <= ZT_FRAG_MAX && dlen[0] <= mtu &&
			       dlen[n - 1] <= dlen[0] && dlen[n - 1] > ZT_FRAG_HDR_LEN;
			for (i = 1; i < n - 1; i++)
				good = good && dlen[i] == dlen[0];
			good = good && feed(t, n, rev, len, now += 10) && feed(t, n, perm, len, now += 10);
			tried++;
		}
		snprintf(name, sizeof name, "MTU %u: %u fragmented sizes, reversed and shuffled", mtu, tried);
		ok(good && tried > 0, name);
	}
	is_int(zt_reasm_expire(t, 1000000), 0, "nothing left in the table");
	zt_reasm_free(t);
}

/* Every length that needs fragments at the default MTU: the count is the
 * smallest possible, all datagrams but the last have one size, no larger
 * than a datagram of ZeroTier One's cut, and the packet comes back. */
static void even_split(void)
{
	struct zt_reasm *t = zt_reasm_new(ZT_REASM_SLOTS);
	const unsigned mtu = ZT_MTU_DEFAULT;
	size_t len, tried = 0;
	bool count_ok = true, sizes_ok = true, back_ok = true;
	int perm[ZT_FRAG_MAX] = { 0, 1, 2, 3, 4, 5, 6 }, rev[ZT_FRAG_MAX];
	int64_t now = 0;

	for (len = mtu + 1; len <= ZT_PKT_MAX; len++) {
		int n, i, want = 1 + (int)((len - mtu + mtu - 17) / (mtu - 16));

		make_pkt(len, mtu);
		n = split(len, mtu);
		if (want > ZT_FRAG_MAX) {
			count_ok = count_ok && n == -EMSGSIZE;
			continue;
		}
		count_ok = count_ok && n == want && n == zt_frag_count(len, mtu);
		if (n < 2) {
			sizes_ok = false;
			continue;
		}
		sizes_ok = sizes_ok && dlen[0] == (len + 16 * (size_t)(n - 1) + n - 1) / n &&
			   dlen[0] <= mtu && dlen[n - 1] <= dlen[0] &&
			   dlen[n - 1] > ZT_FRAG_HDR_LEN && dlen[0] - dlen[n - 1] < (size_t)n;
		for (i = 1; i < n - 1; i++)
			sizes_ok = sizes_ok && dlen[i] == dlen[0];
		for (i = 0; i < n; i++)
			rev[i] = n - 1 - i;
		back_ok = back_ok && feed(t, n, perm, len, now += 10) && feed(t, n, rev, len, now += 10);
		tried++;
	}
	ok(count_ok, "even cut: the count is unchanged for every length 1433..10024");
	ok(sizes_ok, "even cut: all datagrams the same size but the last, at most the MTU");
	ok(back_ok && tried == 6 * 1416, "even cut: all 8496 fragmented lengths reassemble, in order and reversed");
	zt_reasm_free(t);
}

static void duplicates_and_errors(void)
{
	struct zt_reasm *t = zt_reasm_new(ZT_REASM_SLOTS);
	uint8_t bad[ZT_PKT_MAX];
	int n;

	make_pkt(4000, 1432);
	n = split(4000, 1432);
	ok(n == 3 && zt_reasm_input(t, dg[0], dlen[0], 0, out, sizeof out) == 0 &&
	   zt_reasm_input(t, dg[0], dlen[0], 1, out, sizeof out) == -EEXIST, "duplicate head dropped");
	ok(zt_reasm_input(t, dg[2], dlen[2], 2, out, sizeof out) == 0 &&
	   zt_reasm_input(t, dg[2], dlen[2], 3, out, sizeof out) == -EEXIST,
	   "duplicate fragment dropped");
	memcpy(bad, dg[1], dlen[1]);
	bad[14] = 0x41;
	is_int(zt_reasm_input(t, bad, dlen[1], 4, out, sizeof out), -EINVAL,
	       "a fragment disagreeing on N dropped");
	is_int(zt_reasm_input(t, dg[1], dlen[1], 5, out, sizeof out), 4000, "then the packet completes");
	is_int(zt_reasm_input(t, dg[1], dlen[1], 6, out, sizeof out), 0,
	       "a late fragment starts a new entry");
	is_int(zt_reasm_expire(t, 6 + ZT_REASM_TIMEOUT_MS + 1), 0, "which times out");

	make_pkt(4000, 1432);
	split(4000, 1432);
	zt_reasm_input(t, dg[0], dlen[0], 0, out, sizeof out);
	zt_reasm_input(t, dg[1], dlen[1], 0, out, sizeof out);
	is_int(zt_reasm_input(t, dg[2], dlen[2], 0, out, 3999), -ENOBUFS, "output too small");
	is_int(zt_reasm_expire(t, 0), 0, "and the entry is gone");

	/* pieces adding up to more than 10024 bytes */
	make_pkt(9000, 9000);
	pkt[ZT_HDR_FLAGS] |= ZT_FLAG_FRAGMENTED;
	memcpy(bad, pkt, 16);
	bad[13] = 0xff;
	bad[14] = 0x21;
	ok(zt_reasm_input(t, pkt, 9000, 0, out, sizeof out) == 0 &&
	   zt_reasm_input(t, bad, 16 + 1100, 0, out, sizeof out) == -EMSGSIZE,
	   "a packet over 10024 bytes dropped");
	is_int(zt_reasm_input(t, pkt, ZT_PKT_MAX + 1, 0, out, sizeof out), -EMSGSIZE,
	       "a head over 10024 bytes dropped");
	ok(zt_reasm_input(t, pkt, 20, 0, out, sizeof out) == -EINVAL &&
	   zt_reasm_head(t, dg[1], dlen[1], 0, out, sizeof out) == -EINVAL &&
	   zt_reasm_frag(t, pkt, 100, 0, out, sizeof out) == -EINVAL,
	   "neither head nor fragment refused");
	is_int(zt_reasm_expire(t, 0), 0, "no entry kept for any of them");
	zt_reasm_free(t);
}

static void timeouts_and_eviction(void)
{
	struct zt_reasm *t = zt_reasm_new(4);
	uint8_t keep[2][ZT_PKT_MAX];
	size_t keep_len[2];
	int i;

	make_pkt(2000, 1432);
	split(2000, 1432);
	ok(zt_reasm_input(t, dg[0], dlen[0], 1000, out, sizeof out) == 0 &&
	   zt_reasm_input(t, dg[1], dlen[1], 1000 + ZT_REASM_TIMEOUT_MS, out, sizeof out) == 2000,
	   "complete within 5 s");
	ok(zt_reasm_input(t, dg[0], dlen[0], 1000, out, sizeof out) == 0 &&
	   zt_reasm_input(t, dg[1], dlen[1], 1001 + ZT_REASM_TIMEOUT_MS, out, sizeof out) == 0,
	   "after 5 s the head is forgotten");
	is_int(zt_reasm_expire(t, 1001 + ZT_REASM_TIMEOUT_MS), 1, "only the new entry is live");
	is_int(zt_reasm_expire(t, 1002 + 2 * ZT_REASM_TIMEOUT_MS), 0, "and it times out too");

	/* five packets into four slots: the oldest goes */
	for (i = 0; i < 5; i++) {
		make_pkt(2000, 1432);
		split(2000, 1432);
		zt_reasm_input(t, dg[0], dlen[0], 100 + i, out, sizeof out);
		if (i == 0 || i == 4) {
			memcpy(keep[i / 4], dg[1], dlen[1]);
			keep_len[i / 4] = dlen[1];
		}
	}
	is_int(zt_reasm_expire(t, 200), 4, "four slots in use");
	is_int(zt_reasm_input(t, keep[0], keep_len[0], 200, out, sizeof out), 0,
	       "the oldest was evicted: its fragment finds no head");
	is_int(zt_reasm_input(t, keep[1], keep_len[1], 200, out, sizeof out), 2000,
	       "the newest completes");
	zt_reasm_free(t);
}

/* Packets whose pieces wait in slots with free ones between them (the
 * lookup stops once it has seen every live entry and a free slot). */
static void interleaved(void)
{
	struct zt_reasm *t = zt_reasm_new(ZT_REASM_SLOTS);
	static uint8_t tails[10][ZT_PKT_MAX];
	size_t tail_len[10];
	int i, done = 0;

	for (i = 0; i < 10; i++) {
		make_pkt(2000 + (size_t)i, 1432);
		split(2000 + (size_t)i, 1432);
		zt_reasm_input(t, dg[0], dlen[0], 100, out, sizeof out);
		memcpy(tails[i], dg[1], dlen[1]);
		tail_len[i] = dlen[1];
	}
	/* every other one completes: free slots open up among the live */
	for (i = 0; i < 10; i += 2)
		done += zt_reasm_input(t, tails[i], tail_len[i], 101, out, sizeof out) == 2000 + i;
	is_int(zt_reasm_expire(t, 102), 5, "five of ten packets complete, five wait");
	for (i = 9; i > 0; i -= 2)
		done += zt_reasm_input(t, tails[i], tail_len[i], 103, out, sizeof out) == 2000 + i;
	is_int(done, 10, "each piece finds its packet's slot, in any order");
	is_int(zt_reasm_expire(t, 104), 0, "nothing left");
	zt_reasm_free(t);
}

static void flood(void)
{
	struct zt_reasm *t = zt_reasm_new(ZT_REASM_SLOTS);
	uint8_t f[1500];
	int perm[ZT_FRAG_MAX] = { 0, 1, 2, 3 };
	unsigned i, live, max_live = 0;
	int64_t now = 0;

	for (i = 0; i < 200000; i++) {
		size_t j, len = 17 + rnd() % 1400;

		for (j = 0; j < len; j++)
			f[j] = (uint8_t)rnd();
		f[13] = 0xff;
		f[14] = (uint8_t)((2 + rnd() % 6) << 4 | (1 + rnd() % 6));
		if (i % 2)
			f[ZT_HDR_FLAGS] |= ZT_FLAG_FRAGMENTED, f[13] = 0x42;
		(void)zt_reasm_input(t, f, len, now, out, sizeof out);
		if (i % 1000 == 0) {
			live = zt_reasm_expire(t, now);
			max_live = live > max_live ? live : max_live;
		}
		now += i % 50 == 0;
	}
	ok(max_live <= ZT_REASM_SLOTS && max_live > ZT_REASM_SLOTS / 2,
	   "200000 bogus heads and fragments: the table stays at its size");
	make_pkt(5000, 1432);
	ok(split(5000, 1432) == 4 && feed(t, 4, perm, 5000, now),
	   "a real packet still reassembles during the flood");
	zt_reasm_free(t);
}

static void hops(void)
{
	uint8_t h[ZT_PKT_MIN] = { 0 }, f[20] = { 0 };
	int i;
	bool good = true;

	h[ZT_HDR_FLAGS] = 0x58;
	for (i = 1; i <= 3; i++)
		good = good && zt_head_hops_inc(h, sizeof h) == 0 && h[ZT_HDR_FLAGS] == 0x58 + i;
	ok(good && zt_head_hops_inc(h, sizeof h) == -ELOOP && h[ZT_HDR_FLAGS] == 0x5b,
	   "head: hops 0 -> 3, then dropped; other flag bits kept");
	h[ZT_HDR_FLAGS] = 0x8f;
	ok(zt_head_hops_inc(h, sizeof h) == -ELOOP && zt_head_hops_inc(h, 27) == -EINVAL,
	   "head: hops 7 dropped; too short refused");
	f[13] = 0xff;
	f[15] = 0xf0;
	good = true;
	for (i = 1; i <= 3; i++)
		good = good && zt_frag_hops_inc(f, sizeof f) == 0 && f[15] == i;
	ok(good && zt_frag_hops_inc(f, sizeof f) == -ELOOP && f[15] == 3,
	   "fragment: hops 0 -> 3 in byte 15, then dropped; other bits cleared");
	is_int(zt_frag_hops_inc(f, 16), -EINVAL, "fragment: too short refused");
}

/* zt_reasm_take: in order the packet stays in the table, not copied;
 * out of order it is assembled in out. */
static void take_in_place(void)
{
	struct zt_reasm *t = zt_reasm_new(4);
	uint8_t *whole = NULL;
	int n, rc = 0, i;

	make_pkt(2838, 1432);
	n = split(2838, 1432);

	for (i = 0; i < n; i++)
		rc = zt_reasm_take(t, dg[i], dlen[i], 0, out, sizeof out, &whole);
	ok(rc == 2838 && whole && whole != out && !memcmp(whole, pkt, 2838),
	   "in order: the packet is handed over where it lies, intact");
	whole = NULL;
	for (i = n - 1; i >= 0; i--)
		rc = zt_reasm_take(t, dg[i], dlen[i], 1, out, sizeof out, &whole);
	ok(rc == 2838 && whole == out && !memcmp(out, pkt, 2838),
	   "out of order: assembled in out, intact");
	zt_reasm_free(t);
}

int main(void)
{
	plan(5 + 13 + 10 + 3 + 12 + 7 + 3 + 2 + 4 + 2);
	classify();
	counts();
	round_trips();
	even_split();
	duplicates_and_errors();
	timeouts_and_eviction();
	interleaved();
	flood();
	hops();
	take_in_place();
	return tap_done();
}
