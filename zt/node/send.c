/* VL1's send half (wire.md §3-§7): one interface for every packet the
 * node sends, below both VL1 dispatch (vl1.c) and the network layer
 * (network.c, port.c), which hand it their packets; the workers' lanes
 * send through it too.  Building and sealing packets, packet ids and the
 * table of ids an OK may answer, choosing the path, queueing datagrams
 * for a batched send, cutting fragments, relaying a datagram, HELLO and
 * ECHO, WHOIS and the packets that wait for it, and VL1's timers
 * (keepalives, WHOIS retries).
 *
 * It calls only peer.c and the layers below the node: it includes no
 * header of VL1, the network layer or the workers (t/layers.sh checks).
 * What goes the other way, and why:
 *  - the ids it records in the expected-OK table are read by dispatch
 *    (zt_send_expected), a call downwards;
 *  - packets queued for WHOIS are sent by zt_send_queued, which VL1
 *    calls when the identity arrives; VL1 keeps the received packets
 *    that wait, as they go back to dispatch;
 *  - a packet to ourselves (a controller asking itself for a config) must
 *    be received as a peer's would be: the protocol makes the node its
 *    own peer.  It goes back to dispatch through c->loop_in, a function
 *    VL1 registers at the core's creation; this file does not name it. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include <zt/dptrace.h>
#include <zt/netconf.h>

#include "send.h"

/* ---- sending ---- */

/* A transport's queue (struct zt_txq): datagrams wait in its slots and
 * leave together.  A packet the fast path builds in the queue itself
 * (zt_lane_tx_buf) is sealed there and its head goes out from there; only
 * its fragments are copied, each into a slot of its own. */

static unsigned txq_slots(size_t len)
{
	return (unsigned)((len + ZT_MTU_DEFAULT - 1) / ZT_MTU_DEFAULT);
}

static void txq_flush(struct zt_lane *l, struct zt_transport_ref *t)
{
	int sent;

	if (!t->txq || !t->txq->n)   /* a worker lane without a queue of t */
		return;
	if (ZT_LOAD(l->core->silent)) {
		t->txq->n = t->txq->used = 0;
		return;
	}
	sent = t->ops->send(t->state, t->txq->d, t->txq->n);
	if (sent < (int)t->txq->n)
		l->counters[ZT_C_tx_failed] += t->txq->n - (sent > 0 ? sent : 0);
	for (int i = 0; i < sent; i++)
		l->counters[ZT_C_tx_bytes + (t - l->transports)] += t->txq->d[i].len;
	t->txq->n = t->txq->used = 0;
}

void zt_lane_flush(struct zt_lane *l)
{
	for (unsigned i = 0; i < l->core->n_transports; i++)
		txq_flush(l, &l->transports[i]);
}

void zt_vl1_flush(struct zt_core *c)
{
	zt_lane_flush(&c->lane);
}

/* The first free slot of t's queue, with room behind it for slots more
 * slots and dgrams more datagrams: what waits goes out first if not. */
static uint8_t *txq_room(struct zt_lane *l, struct zt_transport_ref *t, unsigned slots, unsigned dgrams)
{
	struct zt_txq *q = t->txq;

	if (!q->n)   /* emptied without a flush (a transport removed) */
		q->used = 0;
	if (q->n + dgrams > ZT_TXQ_LEN || q->used + slots > ZT_TXQ_SLOTS)
		txq_flush(l, t);
	return q->buf[q->used];
}

/* Queue the len bytes at data, in q's slots, as a datagram on path. */
static void txq_put(struct zt_txq *q, const struct zt_path *path, uint8_t *data, size_t len)
{
	struct zt_dgram *d = &q->d[q->n++];

	d->peer = path->addr;
	d->local = path->local;
	d->data = data;
	d->len = len;
}

/* Queue a datagram on its path's transport (sent in a batch). */
static bool lane_dgram_send(struct zt_lane *l, struct zt_path *path, uint8_t *data, size_t len, int64_t now)
{
	struct zt_transport_ref *t = &l->transports[path->transport];
	uint8_t *out;

	if (!t->ops) {   /* a transport a reload removed */
		l->counters[ZT_C_tx_failed]++;
		return false;
	}
	ZT_STORE(path->last_out, now);
	if (len > ZT_MTU_DEFAULT) {
		struct zt_dgram big = { .peer = path->addr, .local = path->local, .data = data, .len = len };

		txq_flush(l, t);   /* keep the order */
		if (ZT_LOAD(l->core->silent))
			return false;
		if (t->ops->send(t->state, &big, 1) == 1) {
			l->counters[ZT_C_tx_bytes + path->transport] += len;
			return true;
		}
		l->counters[ZT_C_tx_failed]++;
		return false;
	}
	out = txq_room(l, t, 1, 1);
	memcpy(out, data, len);
	txq_put(t->txq, path, out, len);
	t->txq->used++;
	return true;
}

bool zt_dgram_send(struct zt_core *c, struct zt_path *path, uint8_t *data, size_t len, int64_t now)
{
	return lane_dgram_send(&c->lane, path, data, len, now);
}

uint8_t *zt_lane_tx_buf(struct zt_lane *l, const struct zt_path *path, size_t len)
{
	struct zt_transport_ref *t = &l->transports[path->transport];
	int n = zt_frag_count(len, ZT_MTU_DEFAULT);

	if (!t->ops || !t->txq || n < 1 || len > ZT_PKT_MAX)
		return l->tx;
	return txq_room(l, t, txq_slots(len) + (unsigned)n - 1, (unsigned)n);
}

/* A packet zt_lane_tx_buf placed in t's queue, with the room it asked
 * for still there: nothing was queued on t since. */
static bool txq_in_place(const struct zt_transport_ref *t, const uint8_t *pkt, size_t len, int n)
{
	const struct zt_txq *q = t->txq;

	return t->ops && q && pkt == q->buf[q->n ? q->used : 0] && q->n + (unsigned)n <= ZT_TXQ_LEN &&
	       (q->n ? q->used : 0) + txq_slots(len) + (unsigned)n - 1 <= ZT_TXQ_SLOTS;
}

bool zt_lane_send_packet(struct zt_lane *l, struct zt_path *path, uint8_t *pkt, size_t len, int64_t now)
{
	struct zt_transport_ref *t = &l->transports[path->transport];
	int n = zt_frag_count(len, ZT_MTU_DEFAULT);
	int size = zt_frag_size(len, ZT_MTU_DEFAULT);
	size_t head;

	if (n < 1 || size < 1)
		return false;
	head = len < (size_t)size ? len : (size_t)size;
	if (txq_in_place(t, pkt, len, n)) {
		/* the whole packet keeps its slots: the fragments are cut from it */
		if (!t->txq->n)
			t->txq->used = 0;
		t->txq->used += txq_slots(len);
		ZT_STORE(path->last_out, now);
		txq_put(t->txq, path, pkt, head);
	} else if (!lane_dgram_send(l, path, pkt, head, now)) {
		return false;
	}
	for (int i = 1; i < n; i++) {
		uint8_t *out = txq_room(l, t, 1, 1);   /* never flushes a packet in place: its room was kept */
		int fl = zt_frag_build(pkt, len, (unsigned)size, i, out, ZT_MTU_DEFAULT);

		if (fl < 0)
			return false;
		txq_put(t->txq, path, out, (size_t)fl);
		t->txq->used++;
	}
	return true;
}

static bool path_send_packet(struct zt_core *c, struct zt_path *path, uint8_t *pkt, size_t len, int64_t now)
{
	return zt_lane_send_packet(&c->lane, path, pkt, len, now);
}

static void expect_record(struct zt_core *c, const uint8_t *pkt)
{
	uint32_t upper = (uint32_t)pkt[0] << 24 | pkt[1] << 16 | pkt[2] << 8 | pkt[3];
	uint8_t b = upper & 0xff;

	c->expect[b][c->expect_next[b]++ & 31] = upper;
}

bool zt_send_expected(const struct zt_core *c, uint64_t id)
{
	uint32_t upper = id >> 32;
	uint8_t b = upper & 0xff;

	for (unsigned i = 0; i < 32; i++)
		if (c->expect[b][i] == upper)
			return true;
	return false;
}

/* Packet IDs are Salsa20 nonces: they must never repeat under one key.
 * A counter through a bijection of 64-bit integers (an odd multiplier, a
 * random mask shared by the lanes) gives unique, well-spread IDs without
 * a getrandom() system call per packet.  Each lane counts in its own
 * 2^56 range (its index in the top byte, a random start in the lower
 * half), so two lanes never make the same ID. */
void zt_lane_packet_id(struct zt_lane *l, uint8_t out[8])
{
	struct zt_core *c = l->core;
	uint64_t id;

	if (!l->next_packet_id) {
		randombytes_buf(&l->next_packet_id, sizeof l->next_packet_id);
		l->next_packet_id = (uint64_t)l->index << 56 | (l->next_packet_id & ((1ULL << 55) - 1)) | 1;
	}
	id = (l->next_packet_id++ * 0x9e3779b97f4a7c15ULL) ^ c->packet_id_mask;
	for (int i = 0; i < 8; i++)
		out[i] = id >> (56 - 8 * i);
}

/* The suite a packet to p goes with (§2.4). */
static unsigned lane_suite(struct zt_lane *l, const struct zt_peer *p, uint8_t verb)
{
	if (verb == ZT_VERB_HELLO)
		return ZT_SUITE_POLY1305_NONE;
	if (p->proto >= 12 && !l->core->salsa_only) {
		l->counters[ZT_C_tx_aes_gmac_siv]++;
		return ZT_SUITE_AES_GMAC_SIV;
	}
	l->counters[ZT_C_tx_salsa2012]++;
	return ZT_SUITE_POLY1305_SALSA2012;
}

/* A packet to p by verb (and an ERROR by code), before it is armored. */
static void lane_count_tx(struct zt_lane *l, struct zt_peer *p, const uint8_t *pkt, size_t len)
{
	uint8_t verb = pkt[ZT_HDR_VERB] & ZT_VERB_MASK;

	l->counters[ZT_C_tx_verb + verb]++;
	/* ERROR: [1] in-re verb [8] in-re packet id [1] code */
	if (verb == ZT_VERB_ERROR && !(pkt[ZT_HDR_VERB] & ZT_VERB_COMPRESSED) && len > ZT_HDR_PAYLOAD + 9 &&
	    pkt[ZT_HDR_PAYLOAD + 9] < ZT_TRAFFIC_ERRORS)
		l->counters[ZT_C_tx_error + pkt[ZT_HDR_PAYLOAD + 9]]++;
	ZT_PEER_COUNT(p, tx);
}

/* Begin a packet to dest in c->tx; the writer is left at the payload. */
void zt_pkt_begin(struct zt_core *c, struct zt_wr *w, uint64_t dest, uint8_t verb)
{
	struct zt_hdr h = { .dest = dest, .src = c->self.address, .verb = verb };

	zt_wr_init(w, c->tx, ZT_PKT_MAX);
	zt_hdr_write(w, &h);
}

/* Give a built packet on lane l its id and suite, encrypt a HELLO's tail
 * and armor it with key for p.  Returns its length or -errno. */
int zt_lane_seal(struct zt_lane *l, const struct zt_peer_key *key, struct zt_peer *p, uint8_t *pkt,
		 size_t len, size_t hello_tail)
{
	unsigned suite = lane_suite(l, p, pkt[ZT_HDR_VERB]);

	ZT_TRACE("seal", len);
	lane_count_tx(l, p, pkt, len);
	zt_lane_packet_id(l, pkt);
	pkt[ZT_HDR_FLAGS] = zt_flags_make(suite, len > ZT_MTU_DEFAULT);
	if (hello_tail && zt_hello_crypt(key, pkt, len, hello_tail) < 0)
		return -EINVAL;
	if (zt_armor(key, pkt, len, suite) < 0)
		return -EIO;
	ZT_TRACE("armored", len);
	return (int)len;
}

/* ... on the main loop, remembering its id for replies. */
static int pkt_seal(struct zt_core *c, struct zt_peer *p, uint8_t *pkt, size_t len, size_t hello_tail)
{
	const struct zt_peer_key *key = zt_peer_key(c, p);
	int rc = key ? zt_lane_seal(&c->lane, key, p, pkt, len, hello_tail) : -ENOMEM;

	if (rc >= 0)
		expect_record(c, pkt);
	return rc;
}

/* Where a packet for p goes: its best direct path, else through the best
 * upstream, else any expired path. */
static struct zt_path *route_to(struct zt_core *c, struct zt_peer *p, int64_t now)
{
	struct zt_peer_path *pp = zt_peer_best_path(p, now, false);
	struct zt_peer *up;

	if (pp)
		return pp->path;
	up = zt_best_upstream(c, now);
	if (up && up != p && (pp = zt_peer_best_path(up, now, false)))
		return pp->path;
	pp = zt_peer_best_path(p, now, true);
	return pp ? pp->path : NULL;
}

static int loopback(struct zt_core *c, const struct zt_wr *w, int64_t now);

/* Seal the packet in c->tx and send it on via, or on p's route. */
int zt_pkt_send(struct zt_core *c, struct zt_peer *p, struct zt_wr *w, struct zt_path *via, int64_t now)
{
	int len;

	if (p == &c->self_peer)
		return loopback(c, w, now);
	if (w->err)
		return -EMSGSIZE;
	if (!via && !(via = route_to(c, p, now))) {
		ZT_COUNT(c, tx_no_path);
		return -EHOSTUNREACH;
	}
	/* a reply to what came through a relay goes by UDP once that works:
	 * the peer's path through the relay dies, the relay can go */
	if (via->fallback && zt_peer_beside_fallback(p, now))
		via = zt_peer_beside_fallback(p, now);
	len = pkt_seal(c, p, c->tx, w->len, 0);
	if (len < 0)
		return len;
	ZT_COUNT(c, tx_packets);
	return path_send_packet(c, via, c->tx, len, now) ? 0 : -EIO;
}

/* ---- a lane's keys and its fast path out (worker.c, port.c) ---- */

const struct zt_peer_key *zt_lane_key(struct zt_lane *l, const struct zt_peer *p)
{
	uint64_t a = p->id.address;
	struct lane_key *s;

	if (!l->keys)
		return zt_peer_key(l->core, (struct zt_peer *)p);
	s = &l->keys->slot[(a ^ a >> 17) % LANE_KEYS];
	if (s->address == a && sodium_memcmp(s->key.k, p->k, ZT_KEY_LEN) == 0)
		return &s->key;
	if (s->address)
		zt_peer_key_clear(&s->key);
	s->address = 0;
	if (zt_peer_key_init(&s->key, p->k) < 0)
		return NULL;
	s->address = a;
	return &s->key;
}

void zt_lane_keys_clear(struct lane_keys *k)
{
	for (unsigned i = 0; i < LANE_KEYS; i++)
		if (k->slot[i].address)
			zt_peer_key_clear(&k->slot[i].key);
}

struct zt_peer_path *zt_lane_route(struct zt_lane *l, struct zt_peer *p, int64_t now)
{
	struct zt_peer_path *pp = zt_peer_best_path(p, now, false);

	if (!pp || !l->transports[pp->path->transport].ops)
		return NULL;
	/* an extra socket (natprobe.c) is the instance's: the main loop sends */
	if (l->index && pp->path->local >= ZT_TRANSPORT_EXTRA_BASE)
		return NULL;
	/* a path through a relay that UDP beside it replaces: zt_pkt_send */
	if (pp->path->fallback && zt_peer_beside_fallback(p, now))
		return NULL;
	return pp;
}

bool zt_lane_send(struct zt_lane *l, struct zt_peer *p, struct zt_peer_path *pp, uint8_t *pkt, uint8_t verb,
		  size_t pl_len, int64_t now)
{
	struct zt_hdr h = { .dest = p->id.address, .src = l->core->self.address, .verb = verb };
	const struct zt_peer_key *key = zt_lane_key(l, p);
	size_t len = ZT_HDR_PAYLOAD + pl_len;
	struct zt_wr w;

	if (!key)
		return false;
	zt_wr_init(&w, pkt, ZT_HDR_PAYLOAD);
	zt_hdr_write(&w, &h);
	if (zt_lane_seal(l, key, p, pkt, len, 0) < 0) {
		ZT_LANE_COUNT(l, tx_failed);
		return true;
	}
	ZT_LANE_COUNT(l, tx_packets);
	ZT_LANE_COUNT(l, tx_fast);
	zt_lane_send_packet(l, pp->path, pkt, len, now);
	return true;
}

/* ---- HELLO ---- */

static unsigned hello_moons(const struct zt_core *c, struct zt_moon_ref *refs)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->n_moons; i++)
		refs[n++] = (struct zt_moon_ref){ ZT_WORLD_MOON, c->moons[i].id, c->moons[i].ts };
	for (unsigned i = 0; i < c->n_seeds; i++)
		refs[n++] = (struct zt_moon_ref){ ZT_WORLD_MOON, c->seeds[i].id, 0 };
	return n;
}

/* Build and seal a full HELLO to p saying it goes to dest (AF_UNSPEC when
 * relayed).  Returns its length or -errno; the packet is in c->tx. */
static int hello_build(struct zt_core *c, struct zt_peer *p, const union zt_sockaddr *dest, int64_t now)
{
	uint8_t idbin[ZT_ID_BIN_PUB];
	struct zt_moon_ref moons[2 * ZT_MAX_MOONS];
	struct zt_hello h = {
		.proto = ZT_PROTO_VERSION, .major = VERSION_MAJOR, .minor = VERSION_MINOR,
		.revision = VERSION_REV, .timestamp = now, .id = idbin, .id_len = ZT_ID_BIN_PUB,
		.has_dest = true, .has_planet = true,
		.planet_id = c->planet.id, .planet_ts = c->planet.ts,
	};
	struct zt_wr w;

	zt_identity_to_bin(&c->self, idbin, false);
	if (dest)
		h.dest = *dest;
	else
		h.dest.sa.sa_family = AF_UNSPEC;
	zt_pkt_begin(c, &w, p->id.address, ZT_VERB_HELLO);
	if (zt_hello_encode(&w, &h, moons, hello_moons(c, moons)) < 0)
		return -EMSGSIZE;
	p->last_hello = now;
	return pkt_seal(c, p, c->tx, w.len, ZT_HDR_PAYLOAD + h.tail_off);
}

/* A full HELLO to an address, from every local socket of its family
 * (§7.4), so the peer learns each of our mappings. */
static bool hello_to_addr(struct zt_core *c, struct zt_peer *p, const union zt_sockaddr *addr, int64_t now)
{
	int len = hello_build(c, p, addr, now);
	bool sent = false;

	if (len < 0)
		return false;
	for (unsigned t = 0; t < c->n_transports; t++) {
		const struct zt_transport_ref *tr = &c->transports[t];
		union zt_sockaddr locals[16];
		size_t nl;

		if (!tr->ops || (tr->fallback && zt_peer_beside_fallback(p, now)))
			continue;
		nl = tr->ops->locals ? tr->ops->locals(tr->state, locals, 16) : 1;
		for (size_t l = 0; l < nl && l < 16; l++) {
			struct zt_path *path;

			if (tr->ops->locals && locals[l].sa.sa_family != addr->sa.sa_family)
				continue;
			path = zt_path_get(c, t, l, addr);
			if (path && path_send_packet(c, path, c->tx, len, now))
				sent = true;
		}
	}
	if (sent)
		ZT_COUNT(c, tx_packets);
	return sent;
}

/* A HELLO over one path only (relayed ones carry no destination). */
static bool hello_on_path(struct zt_core *c, struct zt_peer *p, struct zt_path *path, int64_t now)
{
	int len = hello_build(c, p, path ? &path->addr : NULL, now);

	if (len < 0)
		return false;
	if (!path && !(path = route_to(c, p, now))) {
		ZT_COUNT(c, tx_no_path);
		return false;
	}
	ZT_COUNT(c, tx_packets);
	return path_send_packet(c, path, c->tx, len, now);
}

static bool echo_on_path(struct zt_core *c, struct zt_peer *p, struct zt_path *path, int64_t now)
{
	struct zt_wr w;

	zt_pkt_begin(c, &w, p->id.address, ZT_VERB_ECHO);
	return zt_pkt_send(c, p, &w, path, now) == 0;
}

/* Contact an address of p (RENDEZVOUS, PUSH_DIRECT_PATHS): ECHO when its
 * version is known to understand it, else HELLO (§4.6). */
void zt_vl1_contact(struct zt_core *c, struct zt_peer *p, struct zt_path *path, int64_t now)
{
	if (p->proto >= 5)
		echo_on_path(c, p, path, now);
	else
		hello_to_addr(c, p, &path->addr, now);
}

bool zt_vl1_hello_on(struct zt_core *c, struct zt_peer *p, struct zt_path *path, int64_t now)
{
	return hello_on_path(c, p, path, now);
}

bool zt_vl1_echo_from(struct zt_core *c, struct zt_peer *p, unsigned t, uint32_t local,
		      const union zt_sockaddr *addr, int64_t now)
{
	struct zt_path once = { .transport = t, .local = local, .addr = *addr };

	return echo_on_path(c, p, &once, now);
}

/* A HELLO to an address remembered from an earlier run. */
void zt_vl1_hello(struct zt_core *c, struct zt_peer *p, const union zt_sockaddr *addr, int64_t now)
{
	hello_to_addr(c, p, addr, now);
}

/* ---- WHOIS and queues (§7.6) ---- */

void zt_whois_send(struct zt_core *c, uint64_t address, int64_t now)
{
	struct zt_whois_wait *free_slot = NULL, *w = NULL;
	struct zt_peer *up;
	struct zt_wr wr;

	for (unsigned i = 0; i < ZT_QUEUE_LEN; i++) {
		if (c->whois[i].address == address)
			w = &c->whois[i];
		else if (!c->whois[i].address && !free_slot)
			free_slot = &c->whois[i];
	}
	if (!w) {
		if (!free_slot)
			return;
		w = free_slot;
		*w = (struct zt_whois_wait){ .address = address, .first = now };
	}
	if (w->last_sent && now - w->last_sent < ZT_WHOIS_RETRY_MS)
		return;
	up = zt_best_upstream(c, now);
	if (!up || up->id.address == address)
		return;
	zt_pkt_begin(c, &wr, up->id.address, ZT_VERB_WHOIS);
	zt_whois_encode(&wr, &address, 1);
	if (zt_pkt_send(c, up, &wr, NULL, now) == 0) {
		w->last_sent = now;
		ZT_COUNT(c, whois_sent);
	}
}

static struct zt_queued *queue_slot(struct zt_queued *q, int64_t now)
{
	struct zt_queued *oldest = &q[0];

	for (unsigned i = 0; i < ZT_QUEUE_LEN; i++) {
		if (!q[i].at || now - q[i].at >= ZT_QUEUE_TIMEOUT_MS)
			return &q[i];
		if (q[i].at < oldest->at)
			oldest = &q[i];
	}
	return oldest;   /* full: the oldest goes */
}

bool zt_queue_add(struct zt_core *c, struct zt_queued *q, uint64_t address, const uint8_t *pkt, size_t len,
		  struct zt_path *path, int64_t now)
{
	struct zt_queued *slot = queue_slot(q, now);
	bool room = !slot->at || now - slot->at >= ZT_QUEUE_TIMEOUT_MS;

	slot->at = now;
	slot->address = address;
	slot->path = path;
	slot->len = len;
	memcpy(slot->pkt, pkt, len);
	zt_whois_send(c, address, now);
	return room;
}

/* Keep a plaintext packet in c->tx until dest's identity is known. */
static void txq_add(struct zt_core *c, uint64_t dest, size_t len, int64_t now)
{
	if (!zt_queue_add(c, c->txq, dest, c->tx, len, NULL, now))
		ZT_COUNT(c, tx_queue_overflow);
}

/* An identity arrived: stop asking for it and send what waited for it. */
void zt_send_queued(struct zt_core *c, struct zt_peer *p, int64_t now)
{
	for (unsigned i = 0; i < ZT_QUEUE_LEN; i++) {
		if (c->whois[i].address == p->id.address)
			c->whois[i].address = 0;
		if (c->txq[i].at && c->txq[i].address == p->id.address) {
			struct zt_wr w = { .p = c->tx, .cap = ZT_PKT_MAX, .len = c->txq[i].len };

			memcpy(c->tx, c->txq[i].pkt, c->txq[i].len);
			c->txq[i].at = 0;
			zt_pkt_send(c, p, &w, NULL, now);
		}
	}
}

/* Send to an address, asking for its identity first if needed. */
static int send_to(struct zt_core *c, uint64_t dest, struct zt_wr *w, int64_t now)
{
	struct zt_peer *p = zt_peer_or_self(c, dest);

	if (p)
		return zt_pkt_send(c, p, w, NULL, now);
	if (w->err)
		return -EMSGSIZE;
	txq_add(c, dest, w->len, now);
	return 0;
}

int zt_vl1_echo(struct zt_core *c, uint64_t address, int64_t now)
{
	struct zt_wr w;
	uint8_t stamp[8];

	if (address == c->self.address || zt_address_reserved(address))
		return -EINVAL;
	/* our own ECHOs carry the send time, so their OK gives a latency */
	for (int i = 0; i < 8; i++)
		stamp[i] = (uint64_t)now >> (56 - 8 * i);
	zt_pkt_begin(c, &w, address, ZT_VERB_ECHO);
	zt_echo_encode(&w, stamp, sizeof stamp);
	return send_to(c, address, &w, now);
}

/* ---- for the network layer ---- */

int zt_vl1_send(struct zt_core *c, uint64_t dest, uint8_t verb, const uint8_t *pl, size_t len, int64_t now)
{
	struct zt_wr w;

	zt_pkt_begin(c, &w, dest, verb);
	zt_wr_bytes(&w, pl, len);
	return send_to(c, dest, &w, now);
}

int zt_vl1_reply_ok(struct zt_core *c, struct zt_peer *p, uint8_t in_re_verb, uint64_t in_re_id,
		    const uint8_t *pl, size_t len, int64_t now)
{
	struct zt_wr w;

	zt_pkt_begin(c, &w, p->id.address, ZT_VERB_OK);
	zt_ok_encode(&w, in_re_verb, in_re_id);
	zt_wr_bytes(&w, pl, len);
	return zt_pkt_send(c, p, &w, NULL, now);
}

int zt_vl1_error_send(struct zt_core *c, struct zt_peer *p, uint8_t in_re_verb, uint64_t in_re_id,
		      unsigned code, uint64_t nwid, int64_t now)
{
	struct zt_error e = { .in_re_verb = in_re_verb, .in_re_id = in_re_id, .code = code,
			      .has_nwid = true, .nwid = nwid };
	struct zt_wr w;

	zt_pkt_begin(c, &w, p->id.address, ZT_VERB_ERROR);
	zt_error_encode(&w, &e);
	return zt_pkt_send(c, p, &w, NULL, now);
}

/* ---- the controller role's packets: configs and credentials ---- */

static uint64_t update_id_new(void)
{
	uint64_t id;

	do
		randombytes_buf(&id, sizeof id);
	while (!id);
	return id;
}

/* A config in chunks (networks.md §3.8), each an OK to the request
 * (in_re_verb, in_re_id) or, in_re_verb 0, a pushed NETWORK_CONFIG. */
int zt_config_send(struct zt_core *c, uint64_t dest, uint8_t in_re_verb, uint64_t in_re_id, uint64_t nwid,
		   const uint8_t *dict, size_t len, int64_t now)
{
	uint64_t update_id = update_id_new();
	size_t off = 0;

	if (len >= ZT_DICT_CONFIG_CAP)
		return -EMSGSIZE;
	do {
		int n;
		struct zt_wr w;
		int rc;

		if (in_re_verb) {
			zt_pkt_begin(c, &w, dest, ZT_VERB_OK);
			zt_ok_encode(&w, in_re_verb, in_re_id);
		} else {
			zt_pkt_begin(c, &w, dest, ZT_VERB_NETWORK_CONFIG);
		}
		n = zt_chunk_encode(&w, nwid, dict, len, off, 0, update_id, &c->self);
		if (n <= 0)
			return n < 0 ? n : -EINVAL;
		rc = send_to(c, dest, &w, now);
		if (rc < 0)
			return rc;
		off += n;
	} while (off < len);
	return 0;
}

int zt_vl1_netconf_push(struct zt_core *c, uint64_t member, uint64_t nwid, const uint8_t *dict, size_t len)
{
	return zt_config_send(c, member, 0, 0, nwid, dict, len, zt_core_now(c));
}

int zt_vl1_send_credentials(struct zt_core *c, uint64_t member, const uint8_t *payload, size_t len)
{
	struct zt_wr w;

	zt_pkt_begin(c, &w, member, ZT_VERB_NETWORK_CREDENTIALS);
	zt_wr_bytes(&w, payload, len);
	return send_to(c, member, &w, zt_core_now(c));
}

/* ---- packets to ourselves ---- */

/* A node that is the controller of a network it joined asks itself for
 * the config, as 1.14 does.  Those packets take the way of a remote
 * peer's, unsealed, from c->self_peer: the request, the controller's OK
 * or ERROR to it, pushed configs and revocations.  They are handled one
 * after the other, never nested, as handling one may send the next. */
struct zt_looped {
	struct zt_looped *next;
	size_t len;
	uint8_t pkt[];
};

static bool loopback_verb(const uint8_t *pkt, size_t len)
{
	switch (pkt[ZT_HDR_VERB] & ZT_VERB_MASK) {
	case ZT_VERB_NETWORK_CONFIG_REQUEST:
	case ZT_VERB_NETWORK_CONFIG:
	case ZT_VERB_NETWORK_CREDENTIALS:
		return true;
	case ZT_VERB_OK:
	case ZT_VERB_ERROR:
		return len > ZT_HDR_PAYLOAD && pkt[ZT_HDR_PAYLOAD] == ZT_VERB_NETWORK_CONFIG_REQUEST;
	default:
		return false;    /* nothing else has a reason to go to ourselves */
	}
}

static int loopback(struct zt_core *c, const struct zt_wr *w, int64_t now)
{
	struct zt_looped *q, **tail;

	if (w->err)
		return -EMSGSIZE;
	if (!loopback_verb(w->p, w->len))
		return -EINVAL;
	q = malloc(sizeof *q + w->len);
	if (!q)
		return -ENOMEM;
	q->next = NULL;
	q->len = w->len;
	memcpy(q->pkt, w->p, w->len);
	zt_lane_packet_id(&c->lane, q->pkt);
	expect_record(c, q->pkt);
	for (tail = &c->looped; *tail; tail = &(*tail)->next)
		;
	*tail = q;
	if (c->looping)
		return 0;
	c->looping = true;
	while ((q = c->looped)) {
		c->looped = q->next;
		c->loop_in(c, q->pkt, q->len, now);
		free(q);
	}
	c->looping = false;
	return 0;
}

/* ---- timers (§7.2, §7.4, §7.5) ---- */

/* §7.4 for one peer: a full HELLO on its best paths, or an ECHO where a
 * path needs a heartbeat.  Returns the families it reached (1: IPv4,
 * 2: IPv6). */
static unsigned keepalive(struct zt_core *c, struct zt_peer *p, bool full, int64_t now)
{
	unsigned sent = 0, best_prio = 0;

	zt_peer_paths_prune(c, p, now);
	for (unsigned i = 0; i < p->n_paths; i++)
		if (p->paths[i].priority > best_prio)
			best_prio = p->paths[i].priority;
	for (unsigned i = 0; i < p->n_paths; i++) {
		struct zt_path *path = p->paths[i].path;
		bool ok;

		if (p->paths[i].priority != best_prio)
			continue;
		if (path->fallback && now - path->last_probe >= ZT_HEARTBEAT_MS) {
			/* as 1.14 keeps sending UDP while it tunnels: a HELLO
			 * on every transport finds out when UDP works again */
			path->last_probe = now;
			ok = hello_to_addr(c, p, &path->addr, now);
		} else if (full)
			ok = hello_to_addr(c, p, &path->addr, now);
		else if (now - path->last_out >= ZT_HEARTBEAT_MS)
			ok = p->proto >= 5 ? echo_on_path(c, p, path, now) : hello_on_path(c, p, path, now);
		else
			ok = true;   /* used recently: counts as reached */
		if (ok)
			sent |= path->addr.sa.sa_family == AF_INET6 ? 2 : 1;
	}
	if (full)
		p->last_hello = now;
	return sent;
}

/* §7.5.  Unlike 1.14, which keeps its NAT mapping to a connected root
 * alive with a WHOIS every ping check, zt sends the root the ordinary
 * 14 s path heartbeat; full HELLOs keep 1.14's spacing. */
static void contact_upstream(struct zt_core *c, struct zt_peer *p, int64_t now)
{
	unsigned spacing = p->n_paths ? 16 : 0, sent;
	const struct zt_world_root *root = p->root;

	if (now - p->last_hello <= (int64_t)ZT_HEARTBEAT_MS * spacing) {
		keepalive(c, p, false, now);
		return;
	}
	sent = keepalive(c, p, true, now);
	for (int fam = 0; fam < 2 && root; fam++) {
		int family = fam ? AF_INET6 : AF_INET;
		unsigned candidates[ZT_WORLD_MAX_ENDPOINTS], nc = 0;

		if (sent & (1u << fam))
			continue;
		for (unsigned i = 0; i < root->n_endpoints; i++)
			if (root->endpoints[i].sa.sa_family == family)
				candidates[nc++] = i;
		if (nc && hello_to_addr(c, p, &root->endpoints[candidates[randombytes_uniform(nc)]], now))
			sent |= 1u << fam;
	}
	if (!sent)
		hello_on_path(c, p, NULL, now);
	p->last_hello = now;
}

/* §6.5: a pending moon seed gets a HELLO listing the moons we want every
 * 28 s, relayed by our root until a direct path exists. */
static void contact_seeds(struct zt_core *c, int64_t now)
{
	for (unsigned i = 0; i < c->n_seeds; i++) {
		struct zt_peer *p = zt_peer_find(c, c->seeds[i].seed);

		if (!p) {
			zt_whois_send(c, c->seeds[i].seed, now);
			continue;
		}
		if (p->upstream || now - p->last_hello < 2 * ZT_HEARTBEAT_MS)
			continue;
		if (!keepalive(c, p, true, now))
			hello_on_path(c, p, NULL, now);
		p->last_hello = now;
	}
}

void zt_vl1_ping_check(struct zt_core *c, int64_t now)
{
	contact_seeds(c, now);
	for (unsigned i = 0; i < c->n_upstreams; i++)
		contact_upstream(c, c->upstreams[i], now);
	/* only peers frames went to or came from can be due (a root walks none) */
	for (struct zt_peer *p = c->busy, *next; p; p = next) {
		next = p->busy_next;
		if (zt_peer_still_busy(c, p, now) && !p->upstream &&
		    now - ZT_LOAD(p->last_nontrivial) < ZT_PEER_ACTIVITY_MS)
			keepalive(c, p, now - p->last_hello >= ZT_PEER_HELLO_MS, now);
	}
}

void zt_vl1_announce(struct zt_core *c, int64_t now)
{
	for (unsigned i = 0; i < c->n_upstreams; i++) {
		/* what was sent while silent never left: a full HELLO now */
		c->upstreams[i]->last_hello = now - (int64_t)ZT_HEARTBEAT_MS * 17;
		contact_upstream(c, c->upstreams[i], now);
	}
}

void zt_vl1_whois_retry(struct zt_core *c, int64_t now)
{
	for (unsigned i = 0; i < ZT_QUEUE_LEN; i++) {
		struct zt_whois_wait *w = &c->whois[i];

		if (c->txq[i].at && now - c->txq[i].at >= ZT_QUEUE_TIMEOUT_MS)
			c->txq[i].at = 0;
		if (c->rxq[i].at && now - c->rxq[i].at >= ZT_QUEUE_TIMEOUT_MS)
			c->rxq[i].at = 0;
		if (!w->address)
			continue;
		if (now - w->first >= ZT_QUEUE_TIMEOUT_MS)
			w->address = 0;
		else
			zt_whois_send(c, w->address, now);
	}
}

