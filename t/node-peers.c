/* A root's peer table (zt/node/peer.c) at a few thousand peers: the
 * memory each peer takes with its path and its keys in use stays under
 * issue #20's 2 KiB; the AES contexts are shared by the peers used last
 * and made again, right, for a peer whose set went to another; the
 * peers we exchange frames with keep theirs; housekeeping looks only at
 * the peers and paths whose time has come, and forgets the dead ones.
 * The core is a bare one (no home, no transports, a root: nothing is
 * written to disk), the peers' identities are key pairs with made-up
 * addresses (the table never checks proof of work). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sodium.h>

#include "core.h"
#include "heap.h"
#include "tap.h"


#define PEERS 5000
#define SPREAD 100            /* paths learned over 100 s, 50 peers a second */
#define KEPT_PRIVATE 4        /* peers whose secret keys the test keeps */

static struct zt_identity privs[KEPT_PRIVATE];

/* An identity with an X25519 key pair (all key agreement uses) and a
 * made-up address; the secret kept for the first few. */
static void make_identity(struct zt_identity *id, uint64_t address, unsigned i)
{
	memset(id, 0, sizeof *id);
	id->address = address;
	crypto_box_keypair(id->pub, id->priv);
	id->has_private = true;
	if (i < KEPT_PRIVATE)
		privs[i] = *id;
}

static uint64_t address_of(unsigned i)
{
	return 0x1000000000ULL + (uint64_t)i * 7919;
}

static struct zt_path *path_of(struct zt_core *c, unsigned i)
{
	union zt_sockaddr a;

	memset(&a, 0, sizeof a);
	a.in4.sin_family = AF_INET;
	a.in4.sin_addr.s_addr = htonl(0xc6120000u | (i & 0xffff));   /* 198.18.x.y */
	a.in4.sin_port = htons((uint16_t)(10000 + i / 65536));
	return zt_path_get(c, 0, 0, &a);
}

/* Armored with the root's key for peer i, opened with the peer's own. */
static bool suite3_round_trip(struct zt_core *c, unsigned i)
{
	struct zt_peer *p = zt_peer_find(c, address_of(i));
	const struct zt_peer_key *k = p ? zt_peer_key(c, p) : NULL;
	struct zt_peer_key theirs;
	uint8_t pkt[200];
	bool ok;

	if (!k || zt_peer_key_agree(&theirs, &privs[i], &c->self) < 0)
		return false;
	randombytes_buf(pkt, sizeof pkt);
	ok = zt_armor(k, pkt, sizeof pkt, ZT_SUITE_AES_GMAC_SIV) == 0 && zt_dearmor(&theirs, pkt, sizeof pkt) == 0;
	zt_peer_key_clear(&theirs);
	return ok;
}

static void keys(struct zt_core *c)
{
	struct zt_peer *busy[300];
	struct zt_key_slot *had[300];
	unsigned same = 0;

	ok(c->n_keys <= ZT_PEER_KEYS_KEPT, "at most 64 peers hold AES contexts");
	ok(suite3_round_trip(c, 0) && suite3_round_trip(c, 1), "a peer whose contexts went to another gets its own again");
	ok(suite3_round_trip(c, 0), "and they still work the next time");
	/* more peers that frames go to than the shared sets */
	for (unsigned i = 0; i < 300; i++) {
		busy[i] = zt_peer_find(c, address_of(1000 + i));
		zt_peer_busy(c, busy[i], zt_core_now(c));
		zt_peer_key(c, busy[i]);
	}
	for (unsigned i = 0; i < 300; i++) {
		had[i] = busy[i]->keyslot;
		zt_peer_key(c, busy[i]);
	}
	for (unsigned i = 0; i < 300; i++)
		same += busy[i]->keyslot == had[i] && had[i];
	is_int(same, 300, "300 peers exchanging frames each keep their contexts");
	is_int(c->n_busy, 300, "counted as busy");
}

static void expiry(struct zt_core *c, int64_t t0)
{
	unsigned off_schedule = 0, removed_early = 0;
	size_t before = c->expiry_visits;

	/* the first look, 30 s after each peer was added */
	for (int k = 1; k < 30; k++)
		zt_peers_housekeep(c, t0 + k * 1000);
	is_int(c->expiry_visits - before, 0, "nothing looked at in the first 29 s");
	before = c->expiry_visits;
	zt_peers_housekeep(c, t0 + 30000);
	is_int(c->expiry_visits - before, PEERS, "each peer looked at once 30 s after it came");
	/* then each when its path expires (243 s after the peer was last
	 * heard, peer i at t0 + i % 100 s), and again when it may go (500 s) */
	before = c->expiry_visits;
	for (int k = 31; k <= 620; k++) {
		size_t was = c->expiry_visits, due;

		zt_peers_housekeep(c, t0 + k * 1000);
		due = (k >= 243 && k < 243 + SPREAD) || (k >= 500 && k < 500 + SPREAD) ? PEERS / SPREAD : 0;
		if (c->expiry_visits - was != due && off_schedule++ < 3)
			diag("at %d s: %zu looked at, %zu due", k, c->expiry_visits - was, due);
		if (k < 500 && c->n_peers != PEERS)
			removed_early++;
	}
	is_int(off_schedule, 0, "every second, exactly the peers due were looked at");
	is_int(c->expiry_visits - before, 2 * PEERS, "two looks a peer in 590 s (the old walk: 20 each)");
	is_int(removed_early, 0, "no peer forgotten before 500 s of silence");
	is_int(c->n_peers, 0, "all forgotten after 500 s of silence");
	is_int(c->n_paths, 0, "their paths freed");
	is_int(c->n_keys, 0, "their AES contexts freed");
}

int main(void)
{
	struct zt_core *c = calloc(1, sizeof *c);
	size_t heap0, heap1;
	int64_t t0;
	unsigned made = 0;

	plan(15);
	if (!c || sodium_init() < 0 || zt_crypto_init() < 0)
		bail("cannot set up");
	zt_log_setup(ZT_LOG_WARN, false, "node-peers");
	c->loop = ev_default_loop(0);
	c->is_root = true;
	make_identity(&c->self, 0x0100000001ULL, KEPT_PRIVATE);
	t0 = zt_core_now(c);

	heap0 = heap_bytes();
	for (unsigned i = 0; i < PEERS; i++) {
		struct zt_identity id;
		struct zt_peer *p;
		struct zt_path *path;
		int64_t heard = t0 + (int64_t)(i % SPREAD) * 1000;

		make_identity(&id, address_of(i), i);
		if (!(p = zt_peer_add(c, &id)) || !(path = path_of(c, i)))
			break;
		path->last_in = path->last_out = 0;
		zt_peer_path_learn(c, p, path, heard);
		p->last_receive = heard;
		/* an OK(HELLO) or OK(WHOIS) armored for it */
		if (!zt_peer_key(c, p))
			break;
		made++;
	}
	heap1 = heap_bytes();
	is_int(made, PEERS, "5000 peers, each with a path and its keys used");
	diag("heap: %zu bytes a peer (its struct %zu, its path's %zu; %zu sets of AES contexts shared)",
	     (heap1 - heap0) / PEERS, sizeof(struct zt_peer), sizeof(struct zt_path), c->n_keys);
	ok((heap1 - heap0) / PEERS < 2048, "under 2 KiB of heap a peer");

	keys(c);
	for (unsigned i = 0; i < 300; i++) {
		struct zt_peer *p = zt_peer_find(c, address_of(1000 + i));

		p->busy_marked = 0;
		zt_peer_still_busy(c, p, t0 + ZT_TRUST_MS);
	}
	expiry(c, t0);

	zt_peers_free(c);
	zt_paths_free(c);
	free(c);
	return tap_done();
}
