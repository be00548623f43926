/* Peers and physical paths (wire.md §7.1, §7.3, §7.4): the tables, path
 * learning and the choice of the path a packet goes out on.  The bottom
 * of the node but for one call up: a learned path is written to the
 * path cache (zt_core_paths_learned in netcache.c), so that every way
 * of learning one caches it (doc/architecture.md). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "core.h"
#include "netcache.h"

/* ---- hash tables ---- */

static size_t addr_hash(uint64_t address, size_t buckets)
{
	return (size_t)((address * 0x9e3779b97f4a7c15ULL) >> 20) & (buckets - 1);
}

static size_t sockaddr_hash(unsigned transport, uint32_t local, const union zt_sockaddr *a, size_t buckets)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)transport << 32 | local);
	const uint8_t *p;
	size_t n;

	if (a->sa.sa_family == AF_INET6) {
		p = (const uint8_t *)&a->in6.sin6_addr;
		n = 16;
		h ^= a->in6.sin6_port;
	} else {
		p = (const uint8_t *)&a->in4.sin_addr;
		n = 4;
		h ^= a->in4.sin_port;
	}
	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return (size_t)(h >> 7) & (buckets - 1);
}

struct zt_peer *zt_peer_find(const struct zt_core *c, uint64_t address)
{
	if (!c->peer_buckets)
		return NULL;
	for (struct zt_peer *p = c->peers[addr_hash(address, c->peer_buckets)]; p; p = p->next)
		if (p->id.address == address)
			return p;
	return NULL;
}

struct zt_peer *zt_peer_or_self(struct zt_core *c, uint64_t address)
{
	return address == c->self.address ? &c->self_peer : zt_peer_find(c, address);
}

/* Double the buckets when the table is full; peers keep their addresses. */
static int peers_grow(struct zt_core *c)
{
	size_t nb = c->peer_buckets ? c->peer_buckets * 2 : 64;
	struct zt_peer **t = calloc(nb, sizeof *t);

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < c->peer_buckets; i++)
		while (c->peers[i]) {
			struct zt_peer *p = c->peers[i];
			size_t h = addr_hash(p->id.address, nb);

			c->peers[i] = p->next;
			p->next = t[h];
			t[h] = p;
		}
	free(c->peers);
	c->peers = t;
	c->peer_buckets = nb;
	return 0;
}

struct zt_peer *zt_peer_add(struct zt_core *c, const struct zt_identity *id)
{
	struct zt_peer *p;
	size_t h;

	if (c->n_peers >= c->peer_buckets && peers_grow(c) < 0)
		return NULL;
	p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->id = *id;
	p->id.has_private = false;
	sodium_memzero(p->id.priv, sizeof p->id.priv);
	/* K only: the AES contexts are made when first needed (zt_peer_key) */
	if (zt_key_agree(&c->self, p->id.pub, p->k) < 0 || zt_aes_keys_derive(p->k, p->k0, p->k1) < 0) {
		sodium_memzero(p->k, sizeof p->k);
		free(p);
		return NULL;
	}
	p->proto = p->vmajor = p->vminor = p->vrev = -1;
	p->latency = ZT_LATENCY_UNKNOWN;
	h = addr_hash(id->address, c->peer_buckets);
	p->next = c->peers[h];
	c->peers[h] = p;
	c->n_peers++;
	/* looked at first after as long as the old 30 s walk could wait */
	zt_wheel_set(&c->peer_expiry, &p->expiry, zt_core_now(c) + ZT_HOUSEKEEPING_MS);
	return p;
}

/* ---- keys: a root's peers share a few sets of AES contexts ---- */

static void keyslot_unlink(struct zt_core *c, struct zt_key_slot *s)
{
	if (s->newer)
		s->newer->older = s->older;
	else
		c->keys_newest = s->older;
	if (s->older)
		s->older->newer = s->newer;
	else
		c->keys_oldest = s->newer;
	s->newer = s->older = NULL;
}

static void keyslot_link_newest(struct zt_core *c, struct zt_key_slot *s)
{
	s->newer = NULL;
	s->older = c->keys_newest;
	if (c->keys_newest)
		c->keys_newest->newer = s;
	else
		c->keys_oldest = s;
	c->keys_newest = s;
}

static void keyslot_free(struct zt_core *c, struct zt_key_slot *s)
{
	keyslot_unlink(c, s);
	zt_peer_key_clear(&s->key);
	free(s);
	c->n_keys--;
}

/* The slot of the peer used least lately, made over to p; NULL if that
 * failed (the slot is freed). */
static struct zt_key_slot *keyslot_take(struct zt_core *c, struct zt_peer *p)
{
	struct zt_key_slot *s = c->keys_oldest;

	s->owner->keyslot = NULL;
	keyslot_unlink(c, s);
	if (zt_peer_key_rekey(&s->key, p->k, p->k0, p->k1) < 0) {
		free(s);       /* cleared by the failed rekey */
		c->n_keys--;
		return NULL;
	}
	return s;
}

const struct zt_peer_key *zt_peer_key(struct zt_core *c, struct zt_peer *p)
{
	struct zt_key_slot *s = p->keyslot;

	if (s) {
		if (s != c->keys_newest) {
			keyslot_unlink(c, s);
			keyslot_link_newest(c, s);
		}
		return &s->key;
	}
	/* the peers frames go to keep theirs: the data path never waits */
	if (c->n_keys >= ZT_PEER_KEYS_KEPT + c->n_busy && c->keys_oldest) {
		s = keyslot_take(c, p);
	} else if ((s = calloc(1, sizeof *s))) {
		if (zt_peer_key_init(&s->key, p->k) < 0) {
			free(s);
			s = NULL;
		} else {
			c->n_keys++;
		}
	}
	if (!s)
		return NULL;
	s->owner = p;
	p->keyslot = s;
	keyslot_link_newest(c, s);
	return &s->key;
}

void zt_peer_busy(struct zt_core *c, struct zt_peer *p, int64_t now)
{
	p->busy_marked = now;
	if (p->busy || p == &c->self_peer)
		return;
	p->busy = true;
	c->n_busy++;
	p->busy_prev = NULL;
	p->busy_next = c->busy;
	if (c->busy)
		c->busy->busy_prev = p;
	c->busy = p;
}

static void peer_unbusy(struct zt_core *c, struct zt_peer *p)
{
	if (!p->busy)
		return;
	if (p->busy_prev)
		p->busy_prev->busy_next = p->busy_next;
	else
		c->busy = p->busy_next;
	if (p->busy_next)
		p->busy_next->busy_prev = p->busy_prev;
	p->busy = false;
	c->n_busy--;
	p->busy_prev = p->busy_next = NULL;
}

bool zt_peer_still_busy(struct zt_core *c, struct zt_peer *p, int64_t now)
{
	/* workers write the first two */
	if (now - ZT_LOAD(p->last_nontrivial) < ZT_TRUST_MS || now - ZT_LOAD(p->last_trust) < ZT_TRUST_MS ||
	    now - p->busy_marked < ZT_TRUST_MS)
		return true;
	peer_unbusy(c, p);
	return false;
}

static void path_unref(struct zt_core *c, struct zt_path *path);

static void peer_free(struct zt_core *c, struct zt_peer *p)
{
	for (unsigned i = 0; i < p->n_paths; i++)
		path_unref(c, p->paths[i].path);
	free(p->paths);
	if (p->keyslot)
		keyslot_free(c, p->keyslot);
	zt_wheel_cancel(&c->peer_expiry, &p->expiry);
	sodium_memzero(p->k, sizeof p->k);
	sodium_memzero(p->k0, sizeof p->k0);
	sodium_memzero(p->k1, sizeof p->k1);
	free(p);
}

void zt_peer_remove(struct zt_core *c, struct zt_peer *p)
{
	struct zt_peer **pp = &c->peers[addr_hash(p->id.address, c->peer_buckets)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			c->n_peers--;
			peer_unbusy(c, p);
			peer_free(c, p);
			return;
		}
}

void zt_peers_free(struct zt_core *c)
{
	for (size_t i = 0; i < c->peer_buckets; i++)
		while (c->peers[i]) {
			struct zt_peer *p = c->peers[i];

			c->peers[i] = p->next;
			peer_free(c, p);
		}
	free(c->peers);
	c->peers = NULL;
	c->busy = NULL;
	c->peer_buckets = c->n_peers = c->n_busy = 0;
}

/* ---- paths ---- */

/* A path no peer path points to any more waits on the wheel for the
 * time it may go (housekeeping); one in use again is left there. */
static void path_unref(struct zt_core *c, struct zt_path *path)
{
	int64_t last = path->last_in > path->last_out ? path->last_in : path->last_out;

	if (--path->refs == 0)
		zt_wheel_set(&c->path_expiry, &path->expiry, last + ZT_PATH_EXPIRE_MS);
}

static bool path_is(const struct zt_path *p, unsigned transport, uint32_t local, const union zt_sockaddr *a)
{
	return p->transport == transport && p->local == local && zt_inetaddr_equal(&p->addr, a, true);
}

static int paths_grow(struct zt_core *c)
{
	size_t nb = c->path_buckets ? c->path_buckets * 2 : 64;
	struct zt_path **t = calloc(nb, sizeof *t);

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < c->path_buckets; i++)
		while (c->paths[i]) {
			struct zt_path *p = c->paths[i];
			size_t h = sockaddr_hash(p->transport, p->local, &p->addr, nb);

			c->paths[i] = p->next;
			p->next = t[h];
			t[h] = p;
		}
	free(c->paths);
	c->paths = t;
	c->path_buckets = nb;
	return 0;
}

struct zt_path *zt_path_find(const struct zt_core *c, unsigned transport, uint32_t local,
			     const union zt_sockaddr *addr)
{
	if (!c->path_buckets)
		return NULL;
	for (struct zt_path *p = c->paths[sockaddr_hash(transport, local, addr, c->path_buckets)]; p; p = p->next)
		if (path_is(p, transport, local, addr))
			return p;
	return NULL;
}

struct zt_path *zt_path_get(struct zt_core *c, unsigned transport, uint32_t local,
			    const union zt_sockaddr *addr)
{
	struct zt_path *p;
	size_t h;

	if (c->forced && transport != c->forced - 1)
		return NULL;   /* see zt_transport_force() */
	p = zt_path_find(c, transport, local, addr);
	if (p)
		return p;
	if (c->n_paths >= c->path_buckets && paths_grow(c) < 0)
		return NULL;
	p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->transport = transport;
	p->local = local;
	p->fallback = c->transports[transport].fallback;
	zt_wheel_set(&c->path_expiry, &p->expiry, zt_core_now(c) + ZT_HOUSEKEEPING_MS);
	if (addr->sa.sa_family == AF_INET6)
		p->addr.in6 = addr->in6;
	else
		p->addr.in4 = addr->in4;
	h = sockaddr_hash(transport, local, addr, c->path_buckets);
	p->next = c->paths[h];
	c->paths[h] = p;
	c->n_paths++;
	return p;
}

void zt_paths_free(struct zt_core *c)
{
	for (size_t i = 0; i < c->path_buckets; i++)
		while (c->paths[i]) {
			struct zt_path *p = c->paths[i];

			c->paths[i] = p->next;
			free(p);
		}
	free(c->paths);
	c->paths = NULL;
	c->path_buckets = c->n_paths = 0;
	memset(&c->path_expiry, 0, sizeof c->path_expiry);
}

void zt_paths_forget_transport(struct zt_core *c, unsigned t)
{
	for (size_t b = 0; b < c->peer_buckets; b++)
		for (struct zt_peer *p = c->peers[b]; p; p = p->next) {
			unsigned kept = 0;

			for (unsigned i = 0; i < p->n_paths; i++)
				if (p->paths[i].path->transport == t)
					path_unref(c, p->paths[i].path);
				else
					p->paths[kept++] = p->paths[i];
			p->n_paths = kept;
		}
	/* housekeeping frees them */
	for (size_t b = 0; b < c->path_buckets; b++)
		for (struct zt_path *p = c->paths[b]; p; p = p->next)
			if (p->transport == t) {
				p->last_in = p->last_out = 0;
				if (!p->refs)
					zt_wheel_set(&c->path_expiry, &p->expiry, 0);
			}
}

bool zt_path_alive(const struct zt_path *p, int64_t now)
{
	return now - ZT_LOAD(p->last_in) < ZT_PATH_ALIVE_MS;
}

bool zt_peer_path_expired(const struct zt_peer_path *pp, int64_t now)
{
	return now - ZT_LOAD(pp->last_receive) >= ZT_PATH_EXPIRE_MS;
}

struct zt_peer_path *zt_peer_path_find(struct zt_peer *p, const struct zt_path *path)
{
	for (unsigned i = 0; i < p->n_paths; i++)
		if (p->paths[i].path == path)
			return &p->paths[i];
	return NULL;
}

/* Add a path confirmed by an OK (§7.3): a free slot, else a dead path with
 * the same IP on the same socket, else the oldest. */
void zt_peer_path_learn(struct zt_core *c, struct zt_peer *p, struct zt_path *path, int64_t now)
{
	struct zt_peer_path *slot = NULL;
	char text[ZT_INETADDR_TEXT_MAX], addr[11];

	if (zt_peer_path_find(p, path))
		return;
	if (p->n_paths == p->cap_paths && p->cap_paths < ZT_PEER_PATHS) {
		/* most peers have one path or two: the array grows */
		unsigned cap = p->cap_paths ? p->cap_paths * 2 : 1;
		struct zt_peer_path *v = realloc(p->paths, (cap < ZT_PEER_PATHS ? cap : ZT_PEER_PATHS) * sizeof *v);

		if (v) {
			p->paths = v;
			p->cap_paths = cap < ZT_PEER_PATHS ? cap : ZT_PEER_PATHS;
		}
	}
	if (p->n_paths < p->cap_paths) {
		slot = &p->paths[p->n_paths++];
	} else if (!p->n_paths) {
		return;        /* out of memory */
	} else {
		for (unsigned i = 0; i < p->n_paths && !slot; i++) {
			struct zt_path *o = p->paths[i].path;

			if (o->transport == path->transport && o->local == path->local &&
			    zt_inetaddr_equal(&o->addr, &path->addr, false) && !zt_path_alive(o, now))
				slot = &p->paths[i];
		}
		if (!slot) {
			slot = &p->paths[0];
			for (unsigned i = 1; i < p->n_paths; i++)
				if (p->paths[i].last_receive < slot->last_receive)
					slot = &p->paths[i];
		}
		path_unref(c, slot->path);
	}
	slot->path = path;
	slot->last_receive = now;
	slot->priority = 1;
	slot->latency = ZT_LATENCY_UNKNOWN;
	path->refs++;
	zt_wheel_set_earlier(&c->peer_expiry, &p->expiry, now + ZT_PATH_EXPIRE_MS);
	zt_inetaddr_to_text(&path->addr, text, sizeof text);
	zt_address_fmt(p->id.address, addr);
	zt_logf(ZT_LOG_INFO, "peer %s: new direct path %s", addr, text);
	zt_core_paths_learned(c, p);
}

void zt_peer_paths_prune(struct zt_core *c, struct zt_peer *p, int64_t now)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < p->n_paths; i++) {
		if (zt_peer_path_expired(&p->paths[i], now)) {
			char text[ZT_INETADDR_TEXT_MAX], addr[11];

			zt_inetaddr_to_text(&p->paths[i].path->addr, text, sizeof text);
			zt_address_fmt(p->id.address, addr);
			zt_logf(ZT_LOG_INFO, "peer %s: path %s expired", addr, text);
			path_unref(c, p->paths[i].path);
			continue;
		}
		p->paths[kept++] = p->paths[i];
	}
	p->n_paths = kept;
}

/* quality = (latency if alive, else latency + 65535 + age) × (8 − scope);
 * alive paths come before dead ones, and among them a path over a
 * fallback transport after the others, whatever their latency. */
static uint64_t path_quality(const struct zt_peer_path *pp, int64_t now)
{
	const struct zt_path *path = pp->path;
	uint64_t latency = pp->latency, age = now - ZT_LOAD(path->last_in), q;
	bool alive = zt_path_alive(path, now);

	if (age > 140000)
		age = 140000;
	if (!alive)
		latency += 65535 + age;
	q = latency * (8 - zt_inetaddr_scope(&path->addr)) / (pp->priority ? pp->priority : 1);
	if (!alive)
		q += (uint64_t)2 << 40;
	else if (path->fallback)
		q += (uint64_t)1 << 40;
	return q;
}

struct zt_peer_path *zt_peer_best_path(struct zt_peer *p, int64_t now, bool allow_expired)
{
	struct zt_peer_path *best = NULL;
	uint64_t best_q = UINT64_MAX;

	for (unsigned i = 0; i < p->n_paths; i++) {
		struct zt_peer_path *pp = &p->paths[i];
		uint64_t q;

		if (!allow_expired && zt_peer_path_expired(pp, now))
			continue;
		q = path_quality(pp, now);
		if (q < best_q) {
			best_q = q;
			best = pp;
		}
	}
	return best;
}

struct zt_path *zt_peer_beside_fallback(struct zt_peer *p, int64_t now)
{
	struct zt_peer_path *best = zt_peer_best_path(p, now, false);

	return best && !best->path->fallback && zt_path_alive(best->path, now) ? best->path : NULL;
}

struct zt_peer_path *zt_peer_best_in(struct zt_peer *p, int64_t now, enum zt_ip_scope scope, int family)
{
	struct zt_peer_path *best = NULL;
	uint64_t best_q = UINT64_MAX;

	for (unsigned i = 0; i < p->n_paths; i++) {
		struct zt_peer_path *pp = &p->paths[i];
		uint64_t q;

		if (zt_peer_path_expired(pp, now) || pp->path->addr.sa.sa_family != family ||
		    zt_inetaddr_scope(&pp->path->addr) != scope)
			continue;
		q = path_quality(pp, now);
		if (q < best_q) {
			best_q = q;
			best = pp;
		}
	}
	return best;
}

/* §6.4: lowest latency × (ms since last receive / 61000 + 1). */
struct zt_peer *zt_best_upstream(struct zt_core *c, int64_t now)
{
	struct zt_peer *best = NULL;
	uint64_t best_q = UINT64_MAX;

	for (unsigned i = 0; i < c->n_upstreams; i++) {
		struct zt_peer *p = c->upstreams[i];
		int64_t since = now - p->last_receive;
		uint64_t latency = p->latency ? p->latency : ZT_LATENCY_UNKNOWN, q;

		if (!zt_peer_best_path(p, now, false))
			continue;
		q = since >= ZT_PEER_ACTIVITY_MS ? UINT64_MAX - 1 : latency * ((uint64_t)since / 61000 + 1);
		if (q <= best_q) {
			best_q = q;
			best = p;
		}
	}
	return best;
}

void zt_peer_info(const struct zt_core *c, const struct zt_peer *p, struct zt_peer_info *out)
{
	int64_t now = zt_core_now(c);
	struct zt_peer_path *best = zt_peer_best_path((struct zt_peer *)p, now, false);

	memset(out, 0, sizeof *out);
	out->address = p->id.address;
	out->version_major = p->vmajor;
	out->version_minor = p->vminor;
	out->version_rev = p->vrev;
	out->protocol_version = p->proto;
	out->latency = p->latency == ZT_LATENCY_UNKNOWN ? -1 : (int)p->latency;
	out->role = p->role;
	out->direct = best != NULL;
	out->traffic.rx = ZT_LOAD(p->traffic.rx);
	out->traffic.tx = ZT_LOAD(p->traffic.tx);
	out->traffic.rx_errors = p->traffic.rx_errors;
	memcpy(out->traffic.latency_le, p->traffic.latency_le, sizeof out->traffic.latency_le);
	out->traffic.latency_sum = p->traffic.latency_sum;
	out->traffic.latency_count = p->traffic.latency_count;
	for (unsigned i = 0; i < p->n_paths && i < ZT_INFO_MAX_PATHS; i++) {
		const struct zt_peer_path *pp = &p->paths[i];
		struct zt_path_info *pi = &out->paths[out->n_paths++];
		union zt_sockaddr locals[8];
		const struct zt_transport_ref *t = &c->transports[pp->path->transport];
		size_t nl = t->ops->locals ? t->ops->locals(t->state, locals, 8) : 0;

		pi->address = pp->path->addr;
		pi->last_send = pp->path->last_out;
		pi->last_receive = pp->last_receive;
		pi->alive = zt_path_alive(pp->path, now);
		pi->expired = zt_peer_path_expired(pp, now);
		pi->active = !pi->expired;
		pi->preferred = pp == best;
		pi->local_socket = pp->path->transport << 16 | pp->path->local;
		pi->local_port = pp->path->local < nl ? zt_inetaddr_port(&locals[pp->path->local]) : 0;
	}
}

/* When p is next worth a look: its first path to expire, or (but an
 * upstream) the peer itself. */
static int64_t peer_due(const struct zt_peer *p, int64_t now)
{
	int64_t at = p->upstream ? now + ZT_PEER_ACTIVITY_MS : ZT_LOAD(p->last_receive) + ZT_PEER_ACTIVITY_MS;

	for (unsigned i = 0; i < p->n_paths; i++) {
		int64_t pat = ZT_LOAD(p->paths[i].last_receive) + ZT_PATH_EXPIRE_MS;

		if (pat < at)
			at = pat;
	}
	return at > now ? at : now + 1000;
}

static void peer_expire(void *ctx, struct zt_due *e)
{
	struct zt_due_ctx *x = ctx;
	struct zt_peer *p = zt_due_owner(e, struct zt_peer, expiry);

	x->c->expiry_visits++;
	zt_peer_paths_prune(x->c, p, x->now);
	if (!p->upstream && x->now - ZT_LOAD(p->last_receive) >= ZT_PEER_ACTIVITY_MS) {
		zt_peer_remove(x->c, p);
		return;
	}
	zt_wheel_set(&x->c->peer_expiry, e, peer_due(p, x->now));
}

static void path_drop(struct zt_core *c, struct zt_path *path)
{
	struct zt_path **pp = &c->paths[sockaddr_hash(path->transport, path->local, &path->addr, c->path_buckets)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == path) {
			*pp = path->next;
			c->n_paths--;
			free(path);
			return;
		}
}

static void path_expire(void *ctx, struct zt_due *e)
{
	struct zt_due_ctx *x = ctx;
	struct zt_path *p = zt_due_owner(e, struct zt_path, expiry);
	int64_t last = p->last_in > p->last_out ? p->last_in : p->last_out;

	if (p->refs)
		return;        /* in use again: back on the wheel when it is not */
	if (x->now - last >= ZT_PATH_EXPIRE_MS) {
		path_drop(x->c, p);
		return;
	}
	zt_wheel_set(&x->c->path_expiry, e, last + ZT_PATH_EXPIRE_MS);
}

void zt_peers_housekeep(struct zt_core *c, int64_t now)
{
	struct zt_due_ctx x = { c, now };

	zt_wheel_expire(&c->peer_expiry, now, peer_expire, &x);
	zt_wheel_expire(&c->path_expiry, now, path_expire, &x);
}

void zt_peer_latency_sample(struct zt_peer *p, unsigned ms)
{
	static const unsigned bounds[ZT_LATENCY_BUCKETS] = ZT_LATENCY_BOUNDS;

	for (unsigned i = 0; i < ZT_LATENCY_BUCKETS; i++)
		if (ms <= bounds[i])
			p->traffic.latency_le[i]++;
	p->traffic.latency_sum += ms;
	p->traffic.latency_count++;
}
