/* A network's members on the core's wheel (zt/node/network.c): with
 * 100,000 members a tick looks only at the members due, not at all of
 * them; each member whose peer is known hears our groups (a
 * MULTICAST_LIKE, sealed for it) every ZT_ANNOUNCE_MS from its own first
 * one, so the LIKEs of a network spread over the minute as its members
 * came; a change of our groups still reaches every member at once; a
 * member whose peer is unknown goes ZT_PEER_ACTIVITY_MS after we last
 * sent to it, not before, and one whose COM the controller revoked
 * stays.  Simulated time, one tick a second; a bare core (no home, no
 * transports: packets are sealed and counted, then go nowhere) and a
 * public network built in place (no port). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sodium.h>

#include "network.h"
#include "heap.h"
#include "tap.h"

#define MEMBERS 100000
#define BATCHES 100               /* members made over 100 s, a batch a second */
#define BATCH (MEMBERS / BATCHES)
#define TALKERS_A_BATCH 3         /* members whose peers are known */
#define TALKERS (TALKERS_A_BATCH * BATCHES)
#define SECONDS 700
#define NWID 0x8056c2e21c000001ULL

enum kind { IDLE, TALKER, REVOKED };

static enum kind kind_of(unsigned i)
{
	if (i % BATCH < TALKERS_A_BATCH)
		return TALKER;
	return i % 10000 == 500 ? REVOKED : IDLE;
}

static uint64_t address_of(unsigned i)
{
	return 0x1000000000ULL + (uint64_t)i * 7919;
}

/* Is a member of this kind, made d seconds ago, looked at now?  At once,
 * then for its announcement each 60 s; an idle one also when it may go,
 * 500 s after our push, and goes; a revoked one is looked at then too,
 * and then each 60 s from there. */
static bool looked_at(enum kind k, int d)
{
	if (d < 0)
		return false;
	if (k == TALKER || d < 500)
		return d % 60 == 0;
	if (k == IDLE)
		return d == 500;
	return (d - 500) % 60 == 0;
}

static struct zt_core *bare_core(void)
{
	struct zt_core *c = calloc(1, sizeof *c);

	if (!c)
		bail("out of memory");
	c->loop = ev_default_loop(0);
	c->is_root = true;             /* no peer cache written */
	crypto_box_keypair(c->self.pub, c->self.priv);
	c->self.has_private = true;
	c->self.address = 0x0100000001ULL;
	c->max_members = ZT_NET_MAX_MEMBERS_DEFAULT;
	ZT_LANE_OVER(&c->lane, c, c);
	/* what waits for a WHOIS: the controller's LIKE */
	if (!(c->txq = calloc(ZT_QUEUE_LEN, sizeof *c->txq)))
		bail("out of memory");
	return c;
}

/* Configured, public (every peer passes the gate), our one group the
 * broadcast one. */
static struct zt_network *public_network(struct zt_core *c)
{
	struct zt_network *n = calloc(1, sizeof *n);

	if (!n || !(n->cfg = zt_netconf_new()) || !(c->nets = calloc(1, sizeof *c->nets)))
		bail("out of memory");
	n->core = c;
	n->id = NWID;
	n->cfg->type = ZT_NET_PUBLIC;
	n->configured = true;
	n->gate_epoch = 1;
	zt_config_asm_init(&n->assembly);
	memset(n->own[0].mac, 0xff, 6);
	n->n_own = 1;
	c->nets[c->n_nets++] = n;
	return n;
}

static struct zt_peer *talker_peer(struct zt_core *c, unsigned i)
{
	struct zt_identity id;
	union zt_sockaddr a;
	struct zt_peer *p;
	struct zt_path *path;

	memset(&id, 0, sizeof id);
	id.address = address_of(i);
	crypto_box_keypair(id.pub, id.priv);
	memset(&a, 0, sizeof a);
	a.in4.sin_family = AF_INET;
	a.in4.sin_addr.s_addr = htonl(0xc6120000u | (i & 0xffff));   /* 198.18.x.y */
	a.in4.sin_port = htons(9993);
	if (!(p = zt_peer_add(c, &id)) || !(path = zt_path_get(c, 0, 0, &a)))
		bail("cannot add a peer");
	zt_peer_path_learn(c, p, path, zt_core_now(c));
	return p;
}

static uint64_t likes(const struct zt_core *c)
{
	return c->counters[ZT_C_tx_verb + ZT_VERB_MULTICAST_LIKE];
}

struct talker {
	struct zt_peer *p;
	uint64_t tx;              /* packets sealed for it so far */
	int64_t last_like;        /* 0: none yet */
	int64_t worst_gap;
};

static struct talker talkers[TALKERS];

/* Which talkers got a LIKE since the last look: their times and gaps. */
static void talkers_heard(int64_t now)
{
	for (unsigned t = 0; t < TALKERS; t++) {
		struct talker *k = &talkers[t];

		if (k->p->traffic.tx == k->tx)
			continue;
		k->tx = k->p->traffic.tx;
		if (k->last_like && now - k->last_like > k->worst_gap)
			k->worst_gap = now - k->last_like;
		k->last_like = now;
	}
}

int main(void)
{
	struct zt_core *c;
	struct zt_network *n;
	int64_t t0, now = 0, worst_gap = 0;
	unsigned off_schedule = 0, likes_off = 0, gone_early = 0, made = 0;
	size_t heap0, visits0, most = 0;
	uint64_t likes0, likes_made = 0;

	plan(11);
	if (sodium_init() < 0 || zt_crypto_init() < 0)
		bail("cannot set up");
	zt_log_setup(ZT_LOG_WARN, false, "node-members");
	c = bare_core();
	n = public_network(c);
	t0 = zt_core_now(c);
	for (unsigned b = 0, t = 0; b < BATCHES; b++)
		for (unsigned j = 0; j < TALKERS_A_BATCH; j++)
			talkers[t++].p = talker_peer(c, b * BATCH + j);

	for (int b = 0; b < BATCHES; b++)
		likes_made += TALKERS_A_BATCH * (1 + (SECONDS - 1 - b) / 60);
	heap0 = heap_bytes();
	visits0 = c->member_visits;
	likes0 = likes(c);
	for (int s = 0; s < SECONDS; s++) {
		size_t was = c->member_visits, due = 0;
		uint64_t liked = likes(c), likes_due = 0;
		unsigned left = 0;

		now = t0 + (int64_t)s * 1000;
		/* a batch of members a second, our credentials pushed to the
		 * idle ones now (they may go 500 s later) */
		for (unsigned i = (unsigned)s * BATCH; s < BATCHES && i < (unsigned)(s + 1) * BATCH; i++) {
			struct member *m = zt_network_member(n, address_of(i), true);

			if (!m)
				break;
			made++;
			if (kind_of(i) != TALKER)
				m->pushed = now;
			if (kind_of(i) == REVOKED)
				m->com_threshold = now;
		}
		zt_networks_housekeep(c, now);
		talkers_heard(now);
		for (int b = 0; b < BATCHES; b++) {
			unsigned idle = BATCH - TALKERS_A_BATCH, revoked = 0;

			for (unsigned i = (unsigned)b * BATCH; i < (unsigned)(b + 1) * BATCH; i += 500)
				revoked += kind_of(i) == REVOKED;
			idle -= revoked;
			due += looked_at(IDLE, s - b) * idle + looked_at(REVOKED, s - b) * revoked +
			       looked_at(TALKER, s - b) * TALKERS_A_BATCH;
			likes_due += looked_at(TALKER, s - b) * TALKERS_A_BATCH;
			left += s - b < 0 ? 0 : s - b < 500 ? BATCH : TALKERS_A_BATCH + revoked;
		}
		if (c->member_visits - was > most)
			most = c->member_visits - was;
		if (c->member_visits - was != due && off_schedule++ < 3)
			diag("at %d s: %zu members looked at, %zu due", s, c->member_visits - was, due);
		if (likes(c) - liked != likes_due && likes_off++ < 3)
			diag("at %d s: %llu LIKEs, %llu due", s, (unsigned long long)(likes(c) - liked),
			     (unsigned long long)likes_due);
		if (n->n_members != left && gone_early++ < 3)
			diag("at %d s: %u members, %u expected", s, n->n_members, left);
		if (s == BATCHES - 1)
			diag("heap: %zu bytes a member", (heap_bytes() - heap0) / MEMBERS);
	}
	is_int(made, MEMBERS, "100,000 members made over 100 s");
	is_int(off_schedule, 0, "every tick looked at exactly the members due");
	diag("at most %zu members looked at in a tick, %zu in %d s (the old walks: 100,000 each 30 s and each 60 s)",
	     most, c->member_visits - visits0, SECONDS);
	ok(most <= 3 * BATCH, "never more than a few seconds' worth of members in a tick");
	is_int(likes_off, 0, "each tick, LIKEs to exactly the members whose announcement was due");
	is_int(likes(c) - likes0, likes_made, "one LIKE a member a minute, from its first tick");
	for (unsigned t = 0; t < TALKERS; t++)
		if (talkers[t].worst_gap > worst_gap)
			worst_gap = talkers[t].worst_gap;
	ok(worst_gap > 0 && worst_gap <= ZT_ANNOUNCE_MS + 1000, "each member got its LIKE within 60 s of the last");
	is_int(gone_early, 0, "no member forgotten before 500 s after our push to it");
	is_int(n->n_members, TALKERS + 10, "then the idle ones gone, those with a peer and the revoked ones kept");

	/* our groups change: every member hears at once, then a minute later */
	{
		uint64_t before = likes(c);
		unsigned heard = 0;

		zt_network_announce(n, now + 500);
		is_int(likes(c) - before, TALKERS, "a change of our groups: a LIKE to every member at once");
		talkers_heard(now + 500);
		for (int s = 1; s <= 61; s++) {
			zt_networks_housekeep(c, now + s * 1000);
			if (s == 60)
				heard = (unsigned)(likes(c) - before - TALKERS);
		}
		is_int(heard, 0, "none again within the minute");
		is_int(likes(c) - before - TALKERS, TALKERS, "each one again a minute later");
	}

	zt_network_free(n);
	free(c->nets);
	zt_peers_free(c);
	zt_paths_free(c);
	free(c->txq);
	free(c);
	return tap_done();
}
