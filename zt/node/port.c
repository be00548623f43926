/* A network's port (networks.md §2.6, §3.10, §7): frames in from the
 * host and from peers, the inbound membership gate, unicast and
 * multicast frames out, own groups and their announcement
 * (MULTICAST_LIKE), GATHER, and the member lists roots and controllers
 * keep for networks they have not joined (§7.3).  The network verbs VL1
 * hands up are dispatched here; configs and credentials go on to
 * network.c.  And the lanes' fast path for frames.
 *
 * Below VL1 dispatch, which hands it the network verbs it receives; it
 * sends through the send half (zt_vl1_send, and a lane's zt_lane_send on
 * the fast path).  One call still goes up, as the main loop is a lane
 * too: with workers, the main loop's frames step the workers' lock
 * around the work that changes shared state (zt_workers_read and
 * zt_workers_write, direct calls per frame), and a worker's queue of the
 * port hands its frames to worker.c, which leaves what it cannot send
 * back here (doc/architecture.md). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "network.h"
#include "worker.h"

/* ---- member lists (§7.3), one table for every network ----
 *
 * A list per (network, group) in a hash table; its members in an array
 * in no order, found by address through an index (addrmap.h), and linked
 * by the time of their last LIKE, so that expiry takes the oldest first
 * and a list waits on a wheel (wheel.h) for its oldest to run out: a
 * root with 100,000 members in a group finds, refreshes and expires each
 * in constant time, and answers a GATHER from a random walk of as many
 * as it sends. */

#define MC_NONE UINT32_MAX

struct mcast_member {
	uint64_t address;
	int64_t seen;                  /* last LIKE */
	uint32_t older, newer;         /* positions, by seen */
};

struct mcast_list {
	uint64_t nwid;
	struct zt_mcast_group g;
	struct mcast_list *next;       /* hash chain */
	struct zt_due expiry;          /* when the oldest LIKE runs out */
	struct mcast_member *m;
	uint32_t n, cap, oldest, newest;
	struct zt_addrmap index;       /* address -> position in m */
	int64_t last_gather;
};

static size_t mcast_hash(uint64_t nwid, const struct zt_mcast_group *g, size_t buckets)
{
	uint64_t h = nwid * 0x9e3779b97f4a7c15ULL;

	for (int i = 0; i < 6; i++)
		h = (h ^ g->mac[i]) * 0x100000001b3ULL;
	h = (h ^ g->adi) * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 23) & (buckets - 1);
}

static int mcast_grow(struct zt_core *c)
{
	size_t nb = c->mcast_buckets ? c->mcast_buckets * 2 : 64;
	struct mcast_list **t = calloc(nb, sizeof *t);

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < c->mcast_buckets; i++)
		while (c->mcast[i]) {
			struct mcast_list *l = c->mcast[i];
			size_t h = mcast_hash(l->nwid, &l->g, nb);

			c->mcast[i] = l->next;
			l->next = t[h];
			t[h] = l;
		}
	free(c->mcast);
	c->mcast = t;
	c->mcast_buckets = nb;
	return 0;
}

static struct mcast_list *mcast_find(struct zt_core *c, uint64_t nwid, const struct zt_mcast_group *g, bool create,
				     int64_t now)
{
	struct mcast_list *l;
	size_t h;

	if (c->mcast_buckets)
		for (l = c->mcast[mcast_hash(nwid, g, c->mcast_buckets)]; l; l = l->next)
			if (l->nwid == nwid && zt_mcast_cmp(&l->g, g) == 0)
				return l;
	if (!create || c->n_mcast >= ZT_MCAST_MAX_LISTS ||
	    (c->n_mcast >= c->mcast_buckets && mcast_grow(c) < 0) || !(l = calloc(1, sizeof *l)))
		return NULL;
	l->nwid = nwid;
	l->g = *g;
	l->oldest = l->newest = MC_NONE;
	h = mcast_hash(nwid, g, c->mcast_buckets);
	l->next = c->mcast[h];
	c->mcast[h] = l;
	c->n_mcast++;
	/* an empty list goes when a LIKE would have run out */
	zt_wheel_set(&c->mcast_expiry, &l->expiry, now + ZT_MCAST_LIKE_TTL_MS);
	return l;
}

static void list_free(struct zt_core *c, struct mcast_list *l)
{
	struct mcast_list **pp = &c->mcast[mcast_hash(l->nwid, &l->g, c->mcast_buckets)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	zt_wheel_cancel(&c->mcast_expiry, &l->expiry);
	c->mcast_members -= l->n;
	c->n_mcast--;
	zt_addrmap_free(&l->index);
	free(l->m);
	free(l);
}

static void member_unlink(struct mcast_list *l, uint32_t i)
{
	struct mcast_member *e = &l->m[i];

	if (e->newer != MC_NONE)
		l->m[e->newer].older = e->older;
	else
		l->newest = e->older;
	if (e->older != MC_NONE)
		l->m[e->older].newer = e->newer;
	else
		l->oldest = e->newer;
}

static void member_link_newest(struct mcast_list *l, uint32_t i)
{
	l->m[i].newer = MC_NONE;
	l->m[i].older = l->newest;
	if (l->newest != MC_NONE)
		l->m[l->newest].newer = i;
	else
		l->oldest = i;
	l->newest = i;
}

/* Member i out; the last takes its place in the array. */
static void member_remove(struct zt_core *c, struct mcast_list *l, uint32_t i)
{
	uint32_t last = l->n - 1;

	member_unlink(l, i);
	zt_addrmap_del(&l->index, l->m[i].address);
	if (i != last) {
		struct mcast_member *e = &l->m[i];

		*e = l->m[last];
		if (e->newer != MC_NONE)
			l->m[e->newer].older = i;
		else
			l->newest = i;
		if (e->older != MC_NONE)
			l->m[e->older].newer = i;
		else
			l->oldest = i;
		zt_addrmap_put(&l->index, e->address, i);   /* replaces: no memory needed */
	}
	l->n--;
	c->mcast_members--;
}

/* Room for one more member: the array grows, or the oldest goes when
 * the list holds as many as a network may (node.max-members). */
static bool member_room(struct zt_core *c, struct mcast_list *l)
{
	struct mcast_member *v;
	uint32_t cap;

	if (c->max_members && l->n >= c->max_members && l->oldest != MC_NONE)
		member_remove(c, l, l->oldest);
	if (l->n < l->cap)
		return true;
	cap = l->cap ? l->cap * 2 : 4;
	if (!(v = realloc(l->m, cap * sizeof *v)))
		return false;
	l->m = v;
	l->cap = cap;
	return true;
}

static void pending_send_to(struct zt_core *c, uint64_t nwid, const struct zt_mcast_group *g,
			    uint64_t address, int64_t now);

void zt_mcast_like(struct zt_core *c, uint64_t nwid, const struct zt_mcast_group *g, uint64_t address, int64_t now)
{
	struct mcast_list *l;
	uint32_t i;

	if (address == c->self.address || !(l = mcast_find(c, nwid, g, true, now)))
		return;
	i = zt_addrmap_get(&l->index, address);
	if (i != ZT_ADDRMAP_NONE) {
		l->m[i].seen = now;
		if (l->newest != i) {
			member_unlink(l, i);
			member_link_newest(l, i);
		}
		return;
	}
	if (!member_room(c, l) || zt_addrmap_put(&l->index, address, l->n) < 0)
		return;
	i = l->n++;
	c->mcast_members++;
	l->m[i].address = address;
	l->m[i].seen = now;
	member_link_newest(l, i);
	if (l->n == 1)
		zt_wheel_set(&c->mcast_expiry, &l->expiry, now + ZT_MCAST_LIKE_TTL_MS);
	pending_send_to(c, nwid, g, address, now);
}

/* A list whose oldest LIKE may have run out: those that did go, and the
 * list with the last of them. */
static void list_expire(void *ctx, struct zt_due *e)
{
	struct zt_due_ctx *x = ctx;
	struct mcast_list *l = zt_due_owner(e, struct mcast_list, expiry);

	x->c->mcast_visits++;
	while (l->oldest != MC_NONE && x->now - l->m[l->oldest].seen >= ZT_MCAST_LIKE_TTL_MS)
		member_remove(x->c, l, l->oldest);
	if (!l->n) {
		list_free(x->c, l);
		return;
	}
	zt_wheel_set(&x->c->mcast_expiry, e, l->m[l->oldest].seen + ZT_MCAST_LIKE_TTL_MS);
}

void zt_mcast_expire(struct zt_core *c, int64_t now)
{
	struct zt_due_ctx x = { c, now };

	zt_wheel_expire(&c->mcast_expiry, now, list_expire, &x);
}

void zt_mcast_free(struct zt_core *c)
{
	for (size_t i = 0; i < c->mcast_buckets; i++)
		while (c->mcast[i])
			list_free(c, c->mcast[i]);
	free(c->mcast);
	c->mcast = NULL;
	c->mcast_buckets = c->n_mcast = 0;
	memset(&c->mcast_expiry, 0, sizeof c->mcast_expiry);
}

size_t zt_mcast_members(const struct zt_core *c, uint64_t nwid, const struct zt_mcast_group *g)
{
	const struct mcast_list *l = mcast_find((struct zt_core *)c, nwid, g, false, 0);

	return l ? l->n : 0;
}

/* Positions 0..n-1, each once, in an order that differs each time: from
 * a random start by a random step prime to n. */
struct mcast_walk {
	uint32_t n, pos, step, left;
};

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static void walk_init(struct mcast_walk *w, uint32_t n)
{
	w->n = w->left = n;
	w->pos = n ? randombytes_uniform(n) : 0;
	w->step = n > 1 ? 1 + randombytes_uniform(n - 1) : 1;
	while (n > 1 && gcd(w->step, n) != 1)
		w->step = w->step % (n - 1) + 1;   /* 1 ends it */
}

static bool walk_next(struct mcast_walk *w, uint32_t *i)
{
	if (!w->left)
		return false;
	*i = w->pos;
	w->pos = (uint32_t)(((uint64_t)w->pos + w->step) % w->n);
	w->left--;
	return true;
}

/* A gather result (§3.4): [4] total known [2] n [5n] addresses: us if
 * subscribed, then members in random order but the requester, at most
 * limit (the caller caps it at 65535) and what fits in a packet. */
void zt_mcast_gather(struct zt_core *c, struct zt_wr *w, struct zt_network *n, uint64_t nwid,
		     const struct zt_mcast_group *g, uint64_t requester, unsigned limit)
{
	struct mcast_list *l = mcast_find(c, nwid, g, false, 0);
	bool subscribed = false;
	unsigned total = l ? l->n : 0, count = 0;
	struct mcast_walk walk;
	size_t count_at;
	uint32_t i;

	if (n)
		for (unsigned k = 0; k < n->n_own; k++)
			if (zt_mcast_cmp(&n->own[k], g) == 0)
				subscribed = true;
	zt_wr_u32(w, total + subscribed);
	count_at = w->len;
	zt_wr_u16(w, 0);
	if (subscribed && count < limit) {
		zt_wr_u40(w, c->self.address);
		count++;
	}
	walk_init(&walk, l ? l->n : 0);
	while (count < limit && w->len + 5 <= ZT_PKT_MAX - 64 && walk_next(&walk, &i))
		if (l->m[i].address != requester) {
			zt_wr_u40(w, l->m[i].address);
			count++;
		}
	if (!w->err) {
		w->p[count_at] = count >> 8;
		w->p[count_at + 1] = count & 0xff;
	}
}

static unsigned gather_count(const uint8_t *res)
{
	return (unsigned)res[4] << 8 | res[5];
}

/* §3.10: may this peer send us frames? */
static bool gate(struct zt_network *n, struct zt_peer *p)
{
	struct member *m;

	if (!n->configured)
		return false;
	if (n->cfg->type == ZT_NET_PUBLIC)
		return zt_network_member(n, p->id.address, true) != NULL;
	m = zt_network_member(n, p->id.address, false);
	if (!m)
		return false;
	/* the verdict hashes the peer's identity: once per COM and config */
	if (m->gate_epoch != n->gate_epoch) {
		m->gate_ok = m->has_com && n->cfg->has_com &&
			zt_com_gate(&n->cfg->com, &m->com, m->com_threshold, &p->id);
		m->gate_epoch = n->gate_epoch;
	}
	return m->gate_ok;
}

/* What the rules may use of the remote member of a frame (§6.2). */
static void ctx_member(struct zt_policy_ctx *ctx, const struct member *m)
{
	const struct member_creds *c = m ? m->creds : NULL;

	ctx->peer_tags = c ? c->usable_tags : NULL;
	ctx->n_peer_tags = c ? c->n_usable_tags : 0;
	ctx->peer_caps = c ? c->usable_caps : NULL;
	ctx->n_peer_caps = c ? c->n_usable_caps : 0;
	ctx->peer_coos = m ? m->coos : NULL;
	ctx->n_peer_coos = m ? m->n_usable_coos : 0;
}

static int policy_chain(const struct zt_network *n, struct zt_inst *const *chain, unsigned count,
			const struct zt_policy_ctx *ctx, const struct zt_frame *f)
{
	for (unsigned i = 0; i < count; i++) {
		const struct zt_module *m = zt_inst_module(chain[i]);

		if (m->ops.policy->judge(zt_inst_state(chain[i]), ctx, f) != ZT_ACCEPT)
			return ZT_DROP;
	}
	return ZT_ACCEPT;
}

/* ---- active bridges (§2.6, §3.2, §4.5.4) ---- */

static bool is_bridge(const struct zt_network *n, uint64_t address)
{
	return n->configured && (zt_netconf_specialist(n->cfg, address) & ZT_SPECIALIST_ACTIVE_BRIDGE);
}

static bool mac_is_zero(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, 6) == 0;
}

static unsigned route_hash(const uint8_t mac[6])
{
	uint32_t h = 2166136261u;   /* FNV-1a */

	for (int i = 0; i < 6; i++)
		h = (h ^ mac[i]) * 16777619u;
	return h & (ZT_BRIDGE_ROUTES - 1);
}

/* The bridge a MAC was last seen behind, 0 if none. */
static uint64_t bridge_route(const struct zt_network *n, const uint8_t mac[6])
{
	unsigned h = route_hash(mac);

	for (unsigned i = 0; n->routes && i < ZT_BRIDGE_PROBES; i++) {
		const struct bridge_route *r = &n->routes[(h + i) & (ZT_BRIDGE_ROUTES - 1)];

		if (r->bridge && memcmp(r->mac, mac, 6) == 0)
			return r->bridge;
	}
	return 0;
}

/* A host behind a bridge can have a MAC that reads as a member's (its
 * first octet is the network's: 1 random local MAC in 64).  Learned behind an
 * active bridge and naming no peer we know, it is the bridge's host. */
static bool mac_behind_bridge(const struct zt_network *n, const uint8_t mac[6], uint64_t as_member)
{
	uint64_t via = bridge_route(n, mac);

	return via && is_bridge(n, via) && !zt_peer_find(n->core, as_member);
}

/* mac is behind bridge: remembered in its slot, a free one, or in place
 * of the oldest of its probes (the table is bounded, a LAN is not). */
static void bridge_learn(struct zt_network *n, const uint8_t mac[6], uint64_t bridge, int64_t now)
{
	unsigned h = route_hash(mac);
	struct bridge_route *slot = NULL;

	if (!n->routes && !(n->routes = calloc(ZT_BRIDGE_ROUTES, sizeof *n->routes)))
		return;
	for (unsigned i = 0; i < ZT_BRIDGE_PROBES; i++) {
		struct bridge_route *r = &n->routes[(h + i) & (ZT_BRIDGE_ROUTES - 1)];

		if (r->bridge && memcmp(r->mac, mac, 6) == 0) {
			slot = r;
			break;
		}
		if (!slot || (slot->bridge && (!r->bridge || r->seen < slot->seen)))
			slot = r;
	}
	memcpy(slot->mac, mac, 6);
	slot->bridge = bridge;
	slot->seen = now;
}

/* A frame from a peer whose source MAC is not the peer's own: accepted
 * (and its route learned) only from an active bridge. */
static bool bridged_in(struct zt_network *n, uint64_t sender, const uint8_t src[6], int64_t now)
{
	if (!is_bridge(n, sender)) {
		NC_DROP(n, NC_RX_NOT_BRIDGE, NC_RX_DROPPED);
		return false;
	}
	bridge_learn(n, src, sender, now);
	NC_INC(n, NC_RX_BRIDGED);
	return true;
}

/* ---- own groups and announcements (§7.1, §7.2) ---- */

void zt_network_groups_update(struct zt_network *n)
{
	struct zt_mcast_group g;

	n->n_own = 0;
	for (unsigned i = 0; i < n->n_host && n->n_own < ZT_NET_MAX_OWN_GROUPS; i++)
		n->own[n->n_own++] = n->host[i];
	if (!n->configured)
		return;
	for (unsigned i = 0; i < n->cfg->nips && n->n_own < ZT_NET_MAX_OWN_GROUPS; i++) {
		const union zt_sockaddr *a = &n->cfg->ips[i];

		if (a->sa.sa_family == AF_INET)
			zt_mcast_arp(&g, ntohl(a->in4.sin_addr.s_addr));
		else if (a->sa.sa_family == AF_INET6)
			zt_mcast_solicited_node(&g, a->in6.sin6_addr.s6_addr);
		else
			continue;
		n->own[n->n_own++] = g;
	}
	if ((n->cfg->flags & ZT_NETCONF_F_BROADCAST) && n->n_own < ZT_NET_MAX_OWN_GROUPS) {
		zt_mcast_broadcast(&g);
		n->own[n->n_own++] = g;
	}
}

/* MULTICAST_LIKE for all own groups to one node. */
static void announce_to(struct zt_network *n, uint64_t to, int64_t now)
{
	uint8_t pl[ZT_NET_MAX_OWN_GROUPS * 18];
	struct zt_wr w;

	if (!n->n_own || to == n->core->self.address)
		return;
	zt_wr_init(&w, pl, sizeof pl);
	for (unsigned i = 0; i < n->n_own; i++) {
		zt_wr_u64(&w, n->id);
		zt_wr_bytes(&w, n->own[i].mac, 6);
		zt_wr_u32(&w, n->own[i].adi);
	}
	zt_vl1_send(n->core, to, ZT_VERB_MULTICAST_LIKE, pl, w.len, now);
}

void zt_member_announce(struct zt_network *n, struct member *m, int64_t now)
{
	struct zt_peer *p = zt_peer_find(n->core, m->address);

	if (!p || p->upstream || !gate(n, p))
		return;
	m->announced = now;
	zt_peer_busy(n->core, p, now);
	announce_to(n, p->id.address, now);
}

void zt_network_announce_upstream(struct zt_network *n, int64_t now)
{
	struct zt_core *c = n->core;

	n->last_announce = now;
	announce_to(n, zt_nwid_controller(n->id), now);
	for (unsigned i = 0; i < c->n_upstreams; i++)
		announce_to(n, c->upstreams[i]->id.address, now);
}

/* Our groups or config changed: everyone hears of it at once (each
 * member's next announcement then comes ZT_ANNOUNCE_MS later). */
void zt_network_announce(struct zt_network *n, int64_t now)
{
	zt_network_announce_upstream(n, now);
	for (unsigned i = 0; i < n->n_members; i++)
		zt_member_announce(n, &n->members[i], now);
}

/* A member met on the LAN with no root or controller to introduce us
 * (lan.c): our credentials, then, once it has shown its own, our
 * multicast groups, so that its broadcasts (ARP) reach us and ours it. */
void zt_network_meet(struct zt_network *n, struct zt_peer *p, int64_t now)
{
	struct member *m;

	if (!n->configured || !(m = zt_network_member(n, p->id.address, true)))
		return;
	zt_network_creds_push(n, m, now, false);
	if (gate(n, p) && (!m->announced || now - m->announced >= ZT_ANNOUNCE_MS)) {
		m->announced = now;
		zt_peer_busy(n->core, p, now);
		announce_to(n, p->id.address, now);
	}
}

/* ---- the port ---- */

static bool ext_frame_to(struct zt_network *n, uint64_t to, const uint8_t *eth, size_t len, uint8_t flags,
			 int64_t now);

/* What the rules asked of an accepted frame (§6.4): a TEE or WATCH copy
 * of its first out->copy_len payload bytes, and a REDIRECT of the whole
 * frame, as EXT_FRAMEs flagged as 1.14 flags them (§3.2).  True when the
 * frame was redirected: it goes nowhere else then. */
static bool rules_act(struct zt_network *n, const struct zt_policy_out *out, const uint8_t *eth, size_t len,
		      bool inbound, int64_t now)
{
	if (out->copy_to && out->copy_to != n->core->self.address) {
		uint8_t flags = out->copy_watch ? (inbound ? 0x1c : 0x16) : (inbound ? 0x08 : 0x02);

		ext_frame_to(n, out->copy_to, eth, 14 + (out->copy_len < len - 14 ? out->copy_len : len - 14),
			     flags, now);
	}
	if (!out->redirect_to || out->redirect_to == n->core->self.address)
		return false;
	if (ext_frame_to(n, out->redirect_to, eth, len, inbound ? 0x0a : 0x04, now))
		NC_INC(n, NC_TX_FRAMES);
	return true;
}

/* The ingress chain on a frame from member `from`, whose payload sits in
 * a packet buffer with room for the Ethernet header before it (written
 * here).  out: what the rules ask besides. */
static bool ingress(struct zt_network *n, uint64_t from, const uint8_t dst[6], const uint8_t src[6],
		    uint16_t ethertype, uint8_t *payload, size_t len, struct zt_policy_out *out)
{
	uint8_t *eth = payload - 14;
	struct zt_frame f = { eth, 14 + len };
	struct zt_policy_ctx ctx = { n->id, n->core->self.address, from,
				     zt_mac_is_multicast(dst) ? 0 : n->core->self.address, true, NULL, 0, NULL, 0,
				     out, false, NULL, 0 };

	memset(out, 0, sizeof *out);
	if (len > ZT_PKT_MAX - 14 || (n->configured && !zt_frame_fits(n->cfg->mtu, ethertype, len))) {
		NC_DROP(n, NC_BAD_FRAMES, NC_RX_DROPPED);
		return false;
	}
	/* dst and src may already be there (EXT_FRAME): memmove */
	memmove(eth, dst, 6);
	memmove(eth + 6, src, 6);
	eth[12] = ethertype >> 8;
	eth[13] = ethertype & 0xff;
	ctx_member(&ctx, zt_network_member(n, from, false));
	if (policy_chain(n, n->ingress, n->n_ingress, &ctx, &f) != ZT_ACCEPT) {
		NC_DROP(n, NC_POLICY_DROPS, NC_RX_DROPPED);
		return false;
	}
	return true;
}

/* A frame ingress() accepted: copied or redirected as the rules asked,
 * then to the port unless redirected. */
static void hand_over(struct zt_network *n, const struct port_queue *q, const struct zt_policy_out *out,
		      uint8_t *payload, size_t len)
{
	struct zt_frame f = { payload - 14, 14 + len };

	/* only the main loop sends (rules_forward keeps such frames off the
	 * workers' lanes) */
	if (q == &n->queues[0] && (out->copy_to || out->redirect_to) &&
	    rules_act(n, out, f.data, f.len, true, zt_core_now(n->core)))
		return;
	NC_INC(n, NC_RX_FRAMES);
	q->ops->tx(q->state, &f, 1);
}

/* Hands a frame to the port.  The payload sits in a writable packet
 * buffer with at least 14 bytes before it (the ZeroTier header and the
 * verb's fields), where the Ethernet header is written: no copy of the
 * frame on its way from the datagram to the host. */
static void deliver(struct zt_network *n, const struct port_queue *q, uint64_t from, const uint8_t dst[6],
		    const uint8_t src[6], uint16_t ethertype, uint8_t *payload, size_t len)
{
	struct zt_policy_out out;

	if (ingress(n, from, dst, src, ethertype, payload, len, &out))
		hand_over(n, q, &out, payload, len);
}

/* ---- sending frames (§2.6, §7.4) ---- */

static void send_unicast(struct zt_network *n, uint64_t to, uint16_t ethertype, const uint8_t *payload, size_t len,
			 int64_t now)
{
	uint8_t pl[ZT_PKT_MAX];
	struct zt_wr w;

	zt_network_creds_push(n, zt_network_member(n, to, true), now, false);
	zt_wr_init(&w, pl, sizeof pl);
	zt_wr_u64(&w, n->id);
	zt_wr_u16(&w, ethertype);
	zt_wr_bytes(&w, payload, len);
	if (!w.err && zt_vl1_send(n->core, to, ZT_VERB_FRAME, pl, w.len, now) == 0)
		NC_INC(n, NC_TX_FRAMES);
}

/* An EXT_FRAME of len bytes of an Ethernet frame (§3.2) to member to. */
static bool ext_frame_to(struct zt_network *n, uint64_t to, const uint8_t *eth, size_t len, uint8_t flags,
			 int64_t now)
{
	uint8_t pl[ZT_PKT_MAX];
	struct zt_wr w;

	zt_network_creds_push(n, zt_network_member(n, to, true), now, false);
	zt_wr_init(&w, pl, sizeof pl);
	zt_wr_u64(&w, n->id);
	zt_wr_u8(&w, flags);
	zt_wr_bytes(&w, eth, len);   /* dst, src, ethertype, payload: the order of the wire */
	return !w.err && zt_vl1_send(n->core, to, ZT_VERB_EXT_FRAME, pl, w.len, now) == 0;
}

/* EXT_FRAME with flags 0 and both MACs (§2.6 steps 5 and 6): a frame
 * bridged in from the host, or one for a MAC behind a bridge. */
static void send_ext(struct zt_network *n, uint64_t to, const struct zt_frame *f, int64_t now)
{
	if (ext_frame_to(n, to, f->data, f->len, 0, now)) {
		NC_INC(n, NC_TX_FRAMES);
		if (memcmp(f->data + 6, n->mac, 6) != 0)
			NC_INC(n, NC_TX_BRIDGED);
	}
}

/* Whether a frame the egress chain accepted without a destination (a
 * multicast, or a unicast for a MAC behind a bridge) goes to member
 * `to`: judged again with `to` as destination, as 1.14 judges each
 * recipient (§2.6 step 6, §7.4 step 5).  Its TEE and WATCH copies were
 * made by the first judgement, so none here (no_copy); a REDIRECT
 * sends it to its new destination instead of `to`. */
static bool judged_for(struct zt_network *n, uint64_t to, const struct zt_frame *f, int64_t now)
{
	struct zt_policy_out out = { 0 };
	struct zt_policy_ctx ctx = { n->id, n->core->self.address, n->core->self.address, to, false,
				     NULL, 0, NULL, 0, &out, .no_copy = true };

	if (!n->n_egress)
		return true;
	ctx_member(&ctx, zt_network_member(n, to, false));
	if (policy_chain(n, n->egress, n->n_egress, &ctx, f) != ZT_ACCEPT)
		return false;
	return !(out.redirect_to && rules_act(n, &out, f->data, f->len, false, now));
}

/* One bridge's copy of a frame for a MAC behind a bridge. */
static void send_to_bridge(struct zt_network *n, uint64_t bridge, const struct zt_frame *f, int64_t now)
{
	if (judged_for(n, bridge, f, now))
		send_ext(n, bridge, f, now);
	else
		NC_DROP(n, NC_POLICY_DROPS, NC_TX_DROPPED);
}

/* Unicast to a MAC that is no member's (§2.6 step 6): to the bridge it
 * was learned behind, else to every active bridge (32 at most, picked at
 * random when there are more). */
static void send_to_bridges(struct zt_network *n, const struct zt_frame *f, int64_t now)
{
	uint64_t self = n->core->self.address, via = bridge_route(n, f->data), bridges[ZT_NETCONF_MAX_SPECIALISTS];
	unsigned count = 0;

	if (via && via != self && is_bridge(n, via)) {
		send_to_bridge(n, via, f, now);
		return;
	}
	for (unsigned i = 0; i < n->cfg->nspecialists; i++) {
		uint64_t a = n->cfg->specialists[i] & 0xffffffffffULL;

		if ((n->cfg->specialists[i] & ZT_SPECIALIST_ACTIVE_BRIDGE) && a != self)
			bridges[count++] = a;
	}
	if (!count) {
		NC_DROP(n, NC_POLICY_DROPS, NC_TX_DROPPED);   /* no bridge: nobody has it */
		return;
	}
	for (unsigned i = 0; i < count && i < ZT_BRIDGE_FLOOD_MAX; i++) {
		unsigned j = i + randombytes_uniform(count - i);
		uint64_t tmp = bridges[i];

		bridges[i] = bridges[j];
		bridges[j] = tmp;
		send_to_bridge(n, bridges[i], f, now);
	}
}

static void gather_send(struct zt_network *n, uint64_t to, const struct zt_mcast_group *g, unsigned limit,
			int64_t now)
{
	uint8_t pl[64 + ZT_COM_MAX_LEN];
	struct zt_wr w;

	zt_wr_init(&w, pl, sizeof pl);
	zt_wr_u64(&w, n->id);
	zt_wr_u8(&w, n->cfg->has_com ? 0x01 : 0);
	zt_wr_bytes(&w, g->mac, 6);
	zt_wr_u32(&w, g->adi);
	zt_wr_u32(&w, limit);
	if (n->cfg->has_com)
		zt_com_write(&w, &n->cfg->com);
	if (!w.err)
		zt_vl1_send(n->core, to, ZT_VERB_MULTICAST_GATHER, pl, w.len, now);
}

/* A free pending slot, or the oldest one. */
static struct pending_mcast *pending_slot(struct zt_network *n, int64_t now)
{
	struct pending_mcast *oldest = NULL;

	if (!n->pending)
		return NULL;
	for (unsigned i = 0; i < ZT_PENDING_MCAST; i++) {
		struct pending_mcast *pm = &n->pending[i];

		if (!pm->at || now - pm->at >= ZT_PENDING_MCAST_MS)
			return pm;
		if (!oldest || pm->at < oldest->at)
			oldest = pm;
	}
	return oldest;
}

/* One copy of a multicast (f, its Ethernet frame) to one recipient,
 * recorded in the pending slot.  One the rules keep from it counts as
 * sent, as in 1.14 (OutboundMulticast::sendAndLog). */
static bool multicast_to(struct zt_network *n, uint64_t to, const struct zt_frame *f, const uint8_t *pl, size_t len,
			 struct pending_mcast *pm, int64_t now)
{
	if (judged_for(n, to, f, now)) {
		zt_network_creds_push(n, zt_network_member(n, to, true), now, false);
		if (zt_vl1_send(n->core, to, ZT_VERB_MULTICAST_FRAME, pl, len, now) < 0)
			return false;
	}
	if (pm && pm->n_sent < ZT_PENDING_MCAST_SENT)
		pm->sent[pm->n_sent++] = to;
	return true;
}

/* A multicast goes first to every active bridge (§7.4), which gets all
 * of the network's, then to the group's members; src is the bridged
 * source MAC, NULL for our own frames. */
static void send_multicast(struct zt_network *n, const struct zt_frame *f, const struct zt_mcast_group *g,
			   const uint8_t *src, uint16_t ethertype, const uint8_t *payload, size_t len, int64_t now)
{
	struct zt_core *c = n->core;
	struct mcast_list *l = mcast_find(c, n->id, g, true, now);
	unsigned limit = n->cfg->mcast_limit, sent = 0, known = l ? l->n : 0;
	uint32_t gather_limit = known >= limit ? 1 : limit - known + 1, m;
	uint8_t pl[ZT_PKT_MAX];
	struct pending_mcast *pm;
	struct mcast_walk walk;
	struct zt_frame judged = { f->data, f->len };   /* the frame as sent: cut as below */
	struct zt_wr w;

	if (l && (known == 0 || now - l->last_gather >= ZT_ANNOUNCE_MS)) {
		struct zt_peer *up = zt_best_upstream(c, now);

		l->last_gather = now;
		if (up)
			gather_send(n, up->id.address, g, gather_limit, now);
		if (zt_nwid_controller(n->id) != c->self.address)
			gather_send(n, zt_nwid_controller(n->id), g, gather_limit, now);
	}
	if (len > 10000)
		len = 10000;
	judged.len = 14 + len;
	zt_wr_init(&w, pl, sizeof pl);
	zt_wr_u64(&w, n->id);
	zt_wr_u8(&w, src ? 0x06 : 0x02);
	zt_wr_u32(&w, gather_limit);
	if (src)
		zt_wr_bytes(&w, src, 6);
	zt_wr_bytes(&w, g->mac, 6);
	zt_wr_u32(&w, g->adi);
	zt_wr_u16(&w, ethertype);
	zt_wr_bytes(&w, payload, len);
	if (w.err || !l)
		return;
	pm = known < limit ? pending_slot(n, now) : NULL;
	if (pm) {
		*pm = (struct pending_mcast){ .at = now, .g = *g, .limit = limit, .len = w.len };
		memcpy(pm->pl, pl, w.len);
	}
	for (unsigned i = 0; i < n->cfg->nspecialists && sent < limit; i++) {
		uint64_t a = n->cfg->specialists[i] & 0xffffffffffULL;

		if ((n->cfg->specialists[i] & ZT_SPECIALIST_ACTIVE_BRIDGE) && a != c->self.address)
			sent += multicast_to(n, a, &judged, pl, w.len, pm, now);
	}
	/* members in random order, at most `limit` in all */
	walk_init(&walk, l->n);
	while (sent < limit && walk_next(&walk, &m))
		if (!is_bridge(n, l->m[m].address))
			sent += multicast_to(n, l->m[m].address, &judged, pl, w.len, pm, now);
	if (sent)
		NC_INC(n, NC_TX_FRAMES);
}

/* The Ethernet frame of a pending multicast, rebuilt into buf (room
 * for 14 + ZT_PKT_MAX) from the MULTICAST_FRAME payload send_multicast()
 * wrote: network, flags, gather limit, [source MAC], group MAC and ADI,
 * ethertype, payload. */
static struct zt_frame pending_frame(const struct zt_network *n, const struct pending_mcast *pm, uint8_t *buf)
{
	size_t at = 8 + 1 + 4;
	const uint8_t *src = n->mac;

	if (pm->pl[8] & 0x04) {
		src = pm->pl + at;
		at += 6;
	}
	memcpy(buf, pm->pl + at, 6);
	memcpy(buf + 6, src, 6);
	memcpy(buf + 12, pm->pl + at + 10, 2);
	at += 12;
	memcpy(buf + 14, pm->pl + at, pm->len - at);
	return (struct zt_frame){ buf, 14 + pm->len - at };
}

static void pending_send_to(struct zt_core *c, uint64_t nwid, const struct zt_mcast_group *g,
			    uint64_t address, int64_t now)
{
	struct zt_network *n = zt_network_find(c, nwid);
	uint8_t frame[14 + ZT_PKT_MAX];

	for (unsigned i = 0; n && n->pending && i < ZT_PENDING_MCAST; i++) {
		struct pending_mcast *pm = &n->pending[i];
		struct zt_frame f;
		bool done = false;

		if (!pm->at || now - pm->at >= ZT_PENDING_MCAST_MS || zt_mcast_cmp(&pm->g, g) != 0 ||
		    pm->n_sent >= pm->limit || pm->n_sent >= ZT_PENDING_MCAST_SENT)
			continue;
		for (unsigned k = 0; k < pm->n_sent; k++)
			done |= pm->sent[k] == address;
		if (done)
			continue;
		f = pending_frame(n, pm, frame);
		multicast_to(n, address, &f, pm->pl, pm->len, pm, now);
	}
}

/* NDP emulation (§2.5): a neighbour solicitation for another member's
 * rfc4193 or 6PLANE address is answered into the port, in its name, and
 * never multicast to the network.  True if it was. */
static bool ndp_emulate(struct zt_network *n, const struct zt_frame *f)
{
	uint8_t frame[14 + ZT_NDP_ADVERT_LEN];
	struct zt_frame na = { frame, sizeof frame };
	uint64_t peer;

	if (!(n->cfg->flags & ZT_NETCONF_F_NDP_EMULATION) || f->data[12] != 0x86 || f->data[13] != 0xdd ||
	    zt_ndp_advert(n->id, n->core->self.address, n->cfg->ips, n->cfg->nips, f->data + 14, f->len - 14,
			  frame + 14, &peer) < 0)
		return false;
	memcpy(frame, f->data + 6, 6);   /* to whoever asked */
	zt_mac_from_address(n->id, peer, frame + 6);
	frame[12] = 0x86;
	frame[13] = 0xdd;
	NC_INC(n, NC_NDP_EMULATED);
	n->queues[0].ops->tx(n->queues[0].state, &na, 1);
	return true;
}

/* A frame the host sent on the port (§2.6). */
static void port_frame(struct zt_network *n, const struct zt_frame *f, int64_t now)
{
	struct zt_policy_out out = { 0 };
	struct zt_policy_ctx ctx = { n->id, n->core->self.address, n->core->self.address, 0, false,
				     NULL, 0, NULL, 0, &out, false, NULL, 0 };
	const uint8_t *to = f->data, *src = f->data + 6;
	uint8_t *payload = f->data + 14;
	uint16_t ethertype;
	size_t len;
	uint64_t dest = 0;
	bool bridged, to_member;

	if (f->len < 14) {
		NC_DROP(n, NC_BAD_FRAMES, NC_TX_DROPPED);
		return;
	}
	if (!n->configured) {
		NC_DROP(n, NC_NO_CONFIG, NC_TX_DROPPED);
		return;
	}
	ethertype = (uint16_t)(f->data[12] << 8 | f->data[13]);
	len = f->len - 14;
	/* another source MAC: bridged in, for active bridges only */
	bridged = memcmp(src, n->mac, 6) != 0;
	if (bridged && (!n->bridge || zt_mac_is_multicast(src) || mac_is_zero(src))) {
		NC_DROP(n, NC_TX_NOT_BRIDGE, NC_TX_DROPPED);
		return;
	}
	if (zt_mac_is_multicast(to) && ndp_emulate(n, f))
		return;
	to_member = !zt_mac_is_multicast(to) && zt_mac_to_address(n->id, to, &dest) == 0;
	if (to_member) {
		ctx.dest = dest;
		ctx_member(&ctx, zt_network_member(n, dest, false));
	}
	if (policy_chain(n, n->egress, n->n_egress, &ctx, f) != ZT_ACCEPT) {
		NC_DROP(n, NC_POLICY_DROPS, NC_TX_DROPPED);
		return;
	}
	if ((out.copy_to || out.redirect_to) && rules_act(n, &out, f->data, f->len, false, now))
		return;
	if (zt_mac_is_multicast(to)) {
		struct zt_mcast_group g;
		uint32_t target;

		zt_mcast_for_frame(&g, to, ethertype, payload, len);
		if ((zt_mac_is_broadcast(to) && !zt_arp_request_target(ethertype, payload, len, &target) &&
		     !(n->cfg->flags & ZT_NETCONF_F_BROADCAST)) || n->cfg->mcast_limit == 0) {
			NC_DROP(n, NC_POLICY_DROPS, NC_TX_DROPPED);
			return;
		}
		send_multicast(n, f, &g, bridged ? src : NULL, ethertype, payload, len, now);
	} else if (memcmp(to, n->mac, 6) == 0) {
		deliver(n, &n->queues[0], n->core->self.address, to, src, ethertype, payload, len);
	} else if (to_member && !mac_behind_bridge(n, to, dest)) {
		if (bridged)
			send_ext(n, dest, f, now);
		else
			send_unicast(n, dest, ethertype, payload, len, now);
	} else {
		send_to_bridges(n, f, now);
	}
}

/* Frames from the port itself: those the fast path can send are built
 * in place in the send queue (one copy, no lookups of the slow path's);
 * with workers, they go without the write lock. */
void zt_port_rx(void *arg, struct zt_inst *from, struct zt_frame *f, unsigned count)
{
	struct zt_network *n = arg;
	struct zt_core *c = n->core;
	int64_t now = zt_core_now(c);

	zt_spin_kick(&c->spin);
	zt_workers_read(c);
	for (unsigned i = 0; i < count; i++) {
		if (zt_lane_frame_out(&c->lane, n, &f[i], now))
			continue;
		zt_workers_write(c);
		port_frame(n, &f[i], now);
		zt_workers_read(c);
	}
	zt_workers_write(c);
}

/* A frame a worker read from its queue of the port and left to us. */
void zt_network_frame_in(struct zt_core *c, uint64_t nwid, uint8_t *data, size_t len)
{
	struct zt_network *n = zt_network_find(c, nwid);
	struct zt_frame f = { data, len };

	if (n)
		port_frame(n, &f, zt_core_now(c));
}

void zt_port_mcast(void *ctx, struct zt_inst *from, const uint8_t *macs, unsigned count)
{
	struct zt_network *n = ctx;
	unsigned before = n->n_own;

	n->n_host = 0;
	for (unsigned i = 0; i < count && n->n_host < ZT_NET_MAX_OWN_GROUPS / 2; i++) {
		memcpy(n->host[n->n_host].mac, macs + 6 * i, 6);
		n->host[n->n_host++].adi = 0;
	}
	zt_network_groups_update(n);
	if (n->configured && n->n_own != before)
		zt_network_announce(n, zt_core_now(n->core));
}

/* ---- verbs ---- */

static void rx_frame(struct zt_network *n, const struct port_queue *q, const struct zt_net_rx *r)
{
	struct zt_rd rd;
	uint8_t src[6];
	uint16_t ethertype;

	zt_rd_init(&rd, r->pl, r->pl_len);
	zt_rd_skip(&rd, 8);
	ethertype = zt_rd_u16(&rd);
	if (rd.err)
		return;
	zt_mac_from_address(n->id, r->peer->id.address, src);
	deliver(n, q, r->peer->id.address, n->mac, src, ethertype, r->pl + rd.pos, zt_rd_left(&rd));
}

static void rx_ext_frame(struct zt_network *n, const struct port_queue *q, const struct zt_net_rx *r)
{
	struct zt_rd rd;
	const uint8_t *dst, *src;
	uint8_t flags, from_mac[6], mac_dst[6], mac_src[6];
	struct zt_policy_out out;
	uint16_t ethertype;
	struct zt_com com;

	zt_rd_init(&rd, r->pl, r->pl_len);
	zt_rd_skip(&rd, 8);
	flags = zt_rd_u8(&rd);
	if ((flags & 0x01) && zt_com_read(&rd, &com) < 0)
		return;
	dst = zt_rd_ptr(&rd, 6);
	src = zt_rd_ptr(&rd, 6);
	ethertype = zt_rd_u16(&rd);
	if (rd.err)
		return;
	if (mac_is_zero(src) || zt_mac_is_multicast(src) || memcmp(src, n->mac, 6) == 0)
		return;
	/* the rules first (§3.2): a frame copied or redirected to us is
	 * delivered as it is, whatever its MACs */
	memcpy(mac_dst, dst, 6);
	memcpy(mac_src, src, 6);
	if (!ingress(n, r->peer->id.address, mac_dst, mac_src, ethertype, r->pl + rd.pos, zt_rd_left(&rd), &out))
		return;
	zt_mac_from_address(n->id, r->peer->id.address, from_mac);
	if (!out.super_accept && memcmp(mac_src, from_mac, 6) != 0 &&
	    !bridged_in(n, r->peer->id.address, mac_src, r->now))
		return;
	/* for a MAC not ours: a group's, or one behind us if we bridge */
	if (!out.super_accept && memcmp(mac_dst, n->mac, 6) != 0 &&
	    (zt_mac_is_multicast(mac_dst) ? n->cfg->mcast_limit == 0 : !n->bridge)) {
		NC_DROP(n, NC_RX_NOT_BRIDGE, NC_RX_DROPPED);
		return;
	}
	hand_over(n, q, &out, r->pl + rd.pos, zt_rd_left(&rd));
	if (flags & 0x10) {
		uint8_t ack[8];

		for (int i = 0; i < 8; i++)
			ack[i] = n->id >> (56 - 8 * i);
		zt_vl1_reply_ok(n->core, r->peer, ZT_VERB_EXT_FRAME, r->id, ack, 8, r->now);
	}
}

static void rx_multicast_frame(struct zt_network *n, const struct zt_net_rx *r)
{
	struct zt_core *c = n->core;
	struct zt_rd rd;
	struct zt_mcast_group g;
	uint8_t flags, src[6];
	uint32_t gather_limit = 0;
	uint16_t ethertype;
	struct zt_com com;
	uint8_t *payload;
	size_t len;

	zt_rd_init(&rd, r->pl, r->pl_len);
	zt_rd_skip(&rd, 8);
	flags = zt_rd_u8(&rd);
	if ((flags & 0x01) && zt_com_read(&rd, &com) < 0)
		return;
	if (flags & 0x02)
		gather_limit = zt_rd_u32(&rd);
	if (flags & 0x04)
		zt_rd_copy(&rd, src, 6);
	else
		zt_mac_from_address(n->id, r->peer->id.address, src);
	zt_rd_copy(&rd, g.mac, 6);
	g.adi = zt_rd_u32(&rd);
	ethertype = zt_rd_u16(&rd);
	if (rd.err || n->cfg->mcast_limit == 0)
		return;
	payload = r->pl + rd.pos;
	len = zt_rd_left(&rd);
	if (len > 0 && len <= 10000 && zt_mac_is_multicast(g.mac) && !zt_mac_is_multicast(src) &&
	    !mac_is_zero(src) && memcmp(src, n->mac, 6) != 0) {
		uint8_t from_mac[6];

		zt_mac_from_address(n->id, r->peer->id.address, from_mac);
		if (memcmp(src, from_mac, 6) == 0 || bridged_in(n, r->peer->id.address, src, r->now))
			deliver(n, &n->queues[0], r->peer->id.address, g.mac, src, ethertype, payload, len);
	}
	if (gather_limit) {
		uint8_t pl[ZT_PKT_MAX];
		struct zt_wr w;

		zt_wr_init(&w, pl, sizeof pl);
		zt_wr_u64(&w, n->id);
		zt_wr_bytes(&w, g.mac, 6);
		zt_wr_u32(&w, g.adi);
		zt_wr_u8(&w, 0x02);
		zt_mcast_gather(c, &w, n, n->id, &g, r->peer->id.address, gather_limit > 65535 ? 65535 : gather_limit);
		if (!w.err && gather_count(pl + 19) > 0)
			zt_vl1_reply_ok(c, r->peer, ZT_VERB_MULTICAST_FRAME, r->id, pl, w.len, r->now);
	}
}

/* MULTICAST_LIKE: records [8] nwid [6] mac [4] adi (§3.3). */
static void rx_like(struct zt_core *c, const struct zt_net_rx *r)
{
	struct zt_rd rd;

	zt_rd_init(&rd, r->pl, r->pl_len);
	while (zt_rd_left(&rd) >= 18) {
		uint64_t nwid = zt_rd_u64(&rd);
		struct zt_mcast_group g;
		struct zt_network *n = zt_network_find(c, nwid);

		zt_rd_copy(&rd, g.mac, 6);
		g.adi = zt_rd_u32(&rd);
		if (c->is_root || (n && gate(n, r->peer)) ||
		    (c->ctl_ops && zt_nwid_controller(nwid) == c->self.address))
			zt_mcast_like(c, nwid, &g, r->peer->id.address, r->now);
	}
}

static void rx_gather(struct zt_core *c, const struct zt_net_rx *r)
{
	struct zt_rd rd;
	struct zt_mcast_group g;
	uint64_t nwid;
	uint8_t flags, pl[ZT_PKT_MAX];
	uint32_t limit;
	struct zt_network *n;
	struct zt_wr w;

	zt_rd_init(&rd, r->pl, r->pl_len);
	nwid = zt_rd_u64(&rd);
	flags = zt_rd_u8(&rd);
	zt_rd_copy(&rd, g.mac, 6);
	g.adi = zt_rd_u32(&rd);
	limit = zt_rd_u32(&rd);
	if (rd.err || limit == 0)
		return;
	n = zt_network_find(c, nwid);
	if (n && (flags & 0x01)) {
		struct zt_com com;
		struct zt_peer *ctl = zt_peer_or_self(c, zt_nwid_controller(nwid));
		struct member *m;

		if (zt_com_read(&rd, &com) == 0 && ctl && zt_com_verify(&com, &ctl->id) == 0 &&
		    zt_com_issued_to(&com) == r->peer->id.address && (m = zt_network_member(n, r->peer->id.address, true))) {
			m->com = com;
			m->has_com = true;
			m->gate_epoch = 0;
		}
	}
	if (!(c->is_root || (n && gate(n, r->peer)) ||
	      (c->ctl_ops && zt_nwid_controller(nwid) == c->self.address)))
		return;
	zt_wr_init(&w, pl, sizeof pl);
	zt_wr_u64(&w, nwid);
	zt_wr_bytes(&w, g.mac, 6);
	zt_wr_u32(&w, g.adi);
	zt_mcast_gather(c, &w, n, nwid, &g, r->peer->id.address, limit > 65535 ? 65535 : limit);
	if (!w.err && gather_count(pl + 18) > 0)
		zt_vl1_reply_ok(c, r->peer, ZT_VERB_MULTICAST_GATHER, r->id, pl, w.len, r->now);
}

void zt_network_verb(struct zt_core *c, const struct zt_net_rx *r)
{
	struct zt_network *n = NULL;
	uint64_t nwid = 0;

	switch (r->verb) {
	case ZT_VERB_MULTICAST_LIKE:
		rx_like(c, r);
		return;
	case ZT_VERB_MULTICAST_GATHER:
		rx_gather(c, r);
		return;
	case ZT_VERB_NETWORK_CREDENTIALS:
		zt_network_credentials_in(c, r);
		return;
	default:
		break;
	}
	if (r->pl_len < 8)
		return;
	for (int i = 0; i < 8; i++)
		nwid = nwid << 8 | r->pl[i];
	n = zt_network_find(c, nwid);
	if (!n)
		return;
	if (r->verb == ZT_VERB_NETWORK_CONFIG) {
		zt_network_config_chunk(n, r->peer, r->pl, r->pl_len, true, r->id, r->now);
		return;
	}
	/* frames: the gate first (§3.10) */
	if (!gate(n, r->peer)) {
		NC_DROP(n, NC_GATE_DROPS, NC_RX_DROPPED);
		zt_vl1_error_send(c, r->peer, r->verb, r->id, ZT_ERR_NEED_MEMBERSHIP_CERTIFICATE, nwid, r->now);
		return;
	}
	r->peer->last_nontrivial = r->now;
	r->peer->last_trust = r->now;   /* a member's frame: trust established (§7.8) */
	zt_peer_busy(c, r->peer, r->now);
	{
		struct member *m = zt_network_member(n, r->peer->id.address, true);

		if (m && r->now - m->announced >= ZT_ANNOUNCE_MS) {
			m->announced = r->now;
			announce_to(n, r->peer->id.address, r->now);
		}
	}
	switch (r->verb) {
	case ZT_VERB_FRAME:
		rx_frame(n, &n->queues[0], r);
		break;
	case ZT_VERB_EXT_FRAME:
		rx_ext_frame(n, &n->queues[0], r);
		break;
	case ZT_VERB_MULTICAST_FRAME:
		rx_multicast_frame(n, r);
		break;
	default:
		break;
	}
}

/* OK(MULTICAST_GATHER) / OK(MULTICAST_FRAME): members to remember. */
static void ok_gather(struct zt_core *c, uint64_t nwid, const struct zt_mcast_group *g, struct zt_rd *rd, int64_t now)
{
	unsigned count;

	zt_rd_skip(rd, 4);
	count = zt_rd_u16(rd);
	for (unsigned i = 0; i < count && !rd->err; i++) {
		uint64_t a = zt_rd_u40(rd);

		if (!rd->err)
			zt_mcast_like(c, nwid, g, a, now);
	}
}

void zt_network_ok(struct zt_core *c, const struct zt_net_rx *r, uint8_t in_re_verb, const uint8_t *data, size_t len)
{
	struct zt_rd rd;
	uint64_t nwid;
	struct zt_mcast_group g;
	struct zt_network *n;

	zt_rd_init(&rd, data, len);
	nwid = zt_rd_u64(&rd);
	if (rd.err || !(n = zt_network_find(c, nwid)))
		return;
	switch (in_re_verb) {
	case ZT_VERB_NETWORK_CONFIG_REQUEST:
		zt_network_config_chunk(n, r->peer, data, len, false, 0, r->now);
		break;
	case ZT_VERB_MULTICAST_GATHER:
		zt_rd_copy(&rd, g.mac, 6);
		g.adi = zt_rd_u32(&rd);
		ok_gather(c, nwid, &g, &rd, r->now);
		break;
	case ZT_VERB_MULTICAST_FRAME: {
		uint8_t flags;
		struct zt_com com;

		zt_rd_copy(&rd, g.mac, 6);
		g.adi = zt_rd_u32(&rd);
		flags = zt_rd_u8(&rd);
		if ((flags & 0x01) && zt_com_read(&rd, &com) < 0)
			return;
		if (flags & 0x02)
			ok_gather(c, nwid, &g, &rd, r->now);
		break;
	}
	default:
		break;
	}
}

/* ---- the lanes' fast path (worker.h): reads, never changes, the network ---- */

/* May p's frames be delivered without the main loop: its gate verdict
 * made and cached, no announcement due? */
static bool gate_known(struct zt_network *n, const struct zt_peer *p, int64_t now)
{
	const struct member *m;

	if (!n->configured || !(m = zt_network_member(n, p->id.address, false)) || now - m->announced >= ZT_ANNOUNCE_MS)
		return false;
	return n->cfg->type == ZT_NET_PUBLIC || (m->gate_epoch == n->gate_epoch && m->gate_ok);
}

bool zt_network_fast_in(struct zt_lane *l, struct zt_peer *p, uint8_t verb, uint8_t *pl, size_t len, int64_t now)
{
	struct zt_net_rx r = { p, NULL, verb, 0, pl, len, now };
	const struct port_queue *q;
	struct zt_network *n;
	uint64_t nwid = 0;

	if (len < 9)
		return false;
	for (int i = 0; i < 8; i++)
		nwid = nwid << 8 | pl[i];
	n = zt_network_find(l->core, nwid);
	/* EXT_FRAME goes to the main loop: it may want an OK, or teach a
	 * bridge route, which changes the network */
	if (verb == ZT_VERB_EXT_FRAME || !n || n->rules_forward || !(q = &n->queues[l->index])->ops ||
	    !gate_known(n, p, now))
		return false;
	ZT_STORE(p->last_nontrivial, now);
	ZT_STORE(p->last_trust, now);
	rx_frame(n, q, &r);
	return true;
}

bool zt_lane_frame_out(struct zt_lane *l, struct zt_network *n, const struct zt_frame *f, int64_t now)
{
	struct zt_policy_ctx ctx = { n->id, l->core->self.address, l->core->self.address, 0, false,
				     NULL, 0, NULL, 0, NULL, false, NULL, 0 };
	const uint8_t *to = f->data;
	const struct member *m;
	struct zt_peer_path *pp;
	struct zt_peer *p;
	struct zt_wr w;
	uint8_t *pkt;
	size_t len;

	/* copies and redirects are sent by the main loop */
	if (f->len < 14 || !n->configured || n->rules_forward || memcmp(f->data + 6, n->mac, 6) != 0 ||
	    zt_mac_is_multicast(to) ||
	    memcmp(to, n->mac, 6) == 0 || zt_mac_to_address(n->id, to, &ctx.dest) < 0 ||
	    !(m = zt_network_member(n, ctx.dest, false)) || (n->creds_len && zt_network_creds_due(n, m, now, false)) ||
	    !(p = zt_peer_find(l->core, ctx.dest)) || !(pp = zt_lane_route(l, p, now)))
		return false;
	ctx_member(&ctx, m);
	/* the packet: header, network id, the ethertype and the payload */
	len = ZT_HDR_PAYLOAD + 8 + f->len - 12;
	if (len > ZT_PKT_MAX)
		return false;
	pkt = zt_lane_tx_buf(l, pp->path, len);
	zt_wr_init(&w, pkt + ZT_HDR_PAYLOAD, len - ZT_HDR_PAYLOAD);
	zt_wr_u64(&w, n->id);
	zt_wr_bytes(&w, f->data + 12, f->len - 12);
	if (w.err)
		return false;
	if (policy_chain(n, n->egress, n->n_egress, &ctx, f) != ZT_ACCEPT)
		NC_DROP(n, NC_POLICY_DROPS, NC_TX_DROPPED);
	else if (zt_lane_send(l, p, pp, pkt, ZT_VERB_FRAME, w.len, now))
		NC_INC(n, NC_TX_FRAMES);
	return true;
}

int zt_network_add_queue(struct zt_network *n, unsigned lane, struct zt_inst *queue)
{
	if (lane < 1 || lane >= ZT_MAX_WORKERS)
		return -EINVAL;
	n->queues[lane] = (struct port_queue){ queue, zt_inst_module(queue)->ops.iface, zt_inst_state(queue) };
	zt_inst_set_frame_sink(queue, zt_workers_port_rx, n);
	return 0;
}

void zt_network_queue_off(struct zt_network *n, unsigned lane)
{
	/* the lane's frames go to the main loop; the instance stays, stopped */
	n->queues[lane].ops = NULL;
}

struct zt_inst *zt_network_queue(const struct zt_network *n, unsigned lane)
{
	return lane < ZT_MAX_WORKERS ? n->queues[lane].zi : NULL;
}
