/* The member lists of multicast groups a root keeps (zt/node/port.c,
 * networks.md §3.3, §3.4, §7.3) with 100,000 members in a group: LIKEs
 * add and refresh, a GATHER's answer is bounded (the limit asked, the
 * packet) and made of distinct members, never the requester, in an
 * order that differs each time; a list holds at most node.max-members,
 * the oldest going first; expiry looks only at the lists whose oldest
 * LIKE ran out.  On a bare core (a root with no network, as a planet's
 * roots are). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "network.h"
#include "heap.h"
#include "tap.h"


#define MEMBERS 100000
#define NWID 0x8056c2e21c000001ULL
#define REQUESTER 0x0200000001ULL

static const struct zt_mcast_group broadcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 0 };

static uint64_t member_of(unsigned i)
{
	return 0x1000000000ULL + (uint64_t)i * 7919;
}

static bool is_member(uint64_t a, unsigned from, unsigned to)
{
	return a >= member_of(from) && a < member_of(to) && (a - member_of(0)) % 7919 == 0;
}

static struct zt_core *bare_core(void)
{
	struct zt_core *c = calloc(1, sizeof *c);

	if (!c)
		bail("out of memory");
	c->loop = ev_default_loop(0);
	c->is_root = true;
	c->self.address = 0x0100000001ULL;
	c->max_members = ZT_NET_MAX_MEMBERS_DEFAULT;
	return c;
}

struct answer {
	unsigned total, n;
	uint64_t a[ZT_PKT_MAX / 5];
	size_t len;
};

static void gather(struct zt_core *c, const struct zt_mcast_group *g, uint64_t requester, unsigned limit,
		   struct answer *out)
{
	uint8_t pl[ZT_PKT_MAX];
	struct zt_wr w;
	struct zt_rd rd;

	zt_wr_init(&w, pl, sizeof pl);
	zt_mcast_gather(c, &w, NULL, NWID, g, requester, limit);
	out->len = w.len;
	zt_rd_init(&rd, pl, w.len);
	out->total = zt_rd_u32(&rd);
	out->n = zt_rd_u16(&rd);
	for (unsigned i = 0; i < out->n; i++)
		out->a[i] = zt_rd_u40(&rd);
}

static int addr_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* all distinct, all members (of from..to), none the requester */
static bool answer_sound(struct answer *r, unsigned from, unsigned to)
{
	uint64_t sorted[ZT_PKT_MAX / 5];

	memcpy(sorted, r->a, r->n * sizeof *sorted);
	qsort(sorted, r->n, sizeof *sorted, addr_cmp);
	for (unsigned i = 0; i < r->n; i++)
		if ((i && sorted[i] == sorted[i - 1]) || sorted[i] == REQUESTER || !is_member(sorted[i], from, to))
			return false;
	return true;
}

static struct answer r1, r2;

static void big_group(void)
{
	struct zt_core *c = bare_core();
	int64_t t0 = zt_core_now(c);
	size_t heap0 = heap_bytes();

	for (unsigned i = 0; i < MEMBERS; i++)
		zt_mcast_like(c, NWID, &broadcast, member_of(i), t0);
	is_int(zt_mcast_members(c, NWID, &broadcast), MEMBERS, "100,000 members LIKE a group");
	diag("heap: %zu bytes a member", (heap_bytes() - heap0) / MEMBERS);
	ok((heap_bytes() - heap0) / MEMBERS < 128, "under 128 bytes a member");
	for (unsigned i = 0; i < MEMBERS; i += 100)
		zt_mcast_like(c, NWID, &broadcast, member_of(i), t0 + 1000);
	is_int(zt_mcast_members(c, NWID, &broadcast), MEMBERS, "LIKEs again refresh, add nothing");
	zt_mcast_like(c, NWID, &broadcast, REQUESTER, t0);

	gather(c, &broadcast, REQUESTER, 65535, &r1);
	is_int(r1.total, MEMBERS + 1, "a gather's total counts every member");
	ok(r1.n == (ZT_PKT_MAX - 64 - 6) / 5 && r1.len <= ZT_PKT_MAX - 64,
	   "asked for 65,535: as many as fit in one packet");
	ok(answer_sound(&r1, 0, MEMBERS), "distinct members, not the requester");
	gather(c, &broadcast, REQUESTER, 16, &r1);
	gather(c, &broadcast, REQUESTER, 16, &r2);
	ok(r1.n == 16 && r2.n == 16 && answer_sound(&r1, 0, MEMBERS) && answer_sound(&r2, 0, MEMBERS),
	   "asked for 16: 16 distinct members");
	ok(memcmp(r1.a, r2.a, sizeof r1.a[0] * 16) != 0, "another gather, other members");
	zt_mcast_free(c);
	free(c);
}

static void small_groups(void)
{
	struct zt_core *c = bare_core();
	struct zt_mcast_group g = { { 0x01, 0x00, 0x5e, 0, 0, 1 }, 0 };
	int64_t t0 = zt_core_now(c);

	zt_mcast_like(c, NWID, &g, REQUESTER, t0);
	zt_mcast_like(c, NWID, &g, member_of(1), t0);
	gather(c, &g, REQUESTER, 100, &r1);
	ok(r1.total == 2 && r1.n == 1 && r1.a[0] == member_of(1), "a group of two: the other one");
	gather(c, &broadcast, REQUESTER, 100, &r1);
	ok(r1.total == 0 && r1.n == 0, "a group nobody LIKEd: nothing");
	zt_mcast_like(c, NWID, &g, c->self.address, t0);
	is_int(zt_mcast_members(c, NWID, &g), 2, "our own address is never listed");

	c->max_members = 1000;
	for (unsigned i = 0; i < 1500; i++)
		zt_mcast_like(c, NWID, &broadcast, member_of(i), t0 + i);
	gather(c, &broadcast, REQUESTER, 65535, &r1);
	ok(r1.total == 1000 && r1.n == 1000 && answer_sound(&r1, 500, 1500),
	   "node.max-members 1000: the last 1000 of 1500 kept");
	zt_mcast_free(c);
	free(c);
}

/* 1000 groups, one member each, LIKEd at t0 + i % 100 s; group 0's
 * member again at t0 + 300 s */
static void expiry(void)
{
	struct zt_core *c = bare_core();
	int64_t t0 = zt_core_now(c);
	unsigned off_schedule = 0;
	size_t before;

	for (unsigned i = 0; i < 1000; i++) {
		struct zt_mcast_group g = { { 0x01, 0x00, 0x5e, 0, (uint8_t)(i >> 8), (uint8_t)i }, 0 };

		zt_mcast_like(c, NWID, &g, member_of(i), t0 + (int64_t)(i % 100) * 1000);
	}
	zt_mcast_expire(c, t0);
	before = c->mcast_visits;
	for (int k = 1; k < 600; k++) {
		if (k == 300) {
			struct zt_mcast_group g0 = { { 0x01, 0x00, 0x5e, 0, 0, 0 }, 0 };

			zt_mcast_like(c, NWID, &g0, member_of(0), t0 + 300000);
		}
		zt_mcast_expire(c, t0 + k * 1000);
	}
	is_int(c->mcast_visits - before, 0, "no list looked at in the first 599 s");
	is_int(c->n_mcast, 1000, "nor forgotten");
	before = c->mcast_visits;
	for (int k = 600; k < 700; k++) {
		size_t was = c->mcast_visits;

		zt_mcast_expire(c, t0 + k * 1000);
		if (c->mcast_visits - was != 10 && off_schedule++ < 3)
			diag("at %d s: %zu looked at, 10 due", k, c->mcast_visits - was);
	}
	is_int(off_schedule, 0, "then each second the 10 lists whose LIKE ran out");
	is_int(c->n_mcast, 1, "all gone but the one LIKEd again");
	is_int(c->mcast_members, 1, "with its member");
	zt_mcast_expire(c, t0 + 900000);
	ok(c->n_mcast == 0 && c->mcast_members == 0, "which goes 600 s after its last LIKE");
	zt_mcast_free(c);
	free(c);
}

int main(void)
{
	plan(18);
	if (sodium_init() < 0)
		bail("sodium_init");
	big_group();
	small_groups();
	expiry();
	return tap_done();
}
