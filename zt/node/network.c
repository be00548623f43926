/* Virtual networks, member side (networks.md §1.1, §2.6, §3, §5.7, §7):
 * config requests and chunks, the port's settings, the inbound gate,
 * unicast and multicast frames, credentials.  And the member lists roots
 * and controllers keep for networks they have not joined (§7.3).
 *
 * Above VL1: it sends through VL1 (zt_vl1_send) or a lane (worker.c), and
 * VL1 calls it with the network verbs it receives (doc/architecture.md). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sodium.h>

#include "netcache.h"
#include "network.h"
#include "worker.h"

struct member {
	uint64_t address;
	bool has_com;
	struct zt_com com;
	int64_t com_threshold;   /* its COMs up to this timestamp are revoked */
	uint64_t gate_epoch;     /* gate_ok holds for the network's gate_epoch */
	bool gate_ok;
	int64_t pushed;          /* our credentials pushed to it */
	int64_t announced;       /* our groups announced to it */
};

struct zt_network {
	struct zt_core *core;
	uint64_t id;
	bool dynamic;            /* joined at run time: its port is ours */
	char name[17];
	struct zt_inst *iface;
	const struct zt_iface_ops *ops;
	void *port;
	/* The port's queues (tap IFF_MULTI_QUEUE), one per worker lane;
	 * queues[0] is the port itself, empty slots have no ops. */
	struct port_queue {
		struct zt_inst *zi;
		const struct zt_iface_ops *ops;
		void *state;
	} queues[ZT_MAX_WORKERS];
	struct zt_inst *ingress[ZT_MAX_CHAIN], *egress[ZT_MAX_CHAIN];
	unsigned n_ingress, n_egress;
	uint8_t mac[6];
	/* Bumped with each config: the members' cached gate verdicts go
	 * stale (a member's own COM or revocation clears its verdict). */
	uint64_t gate_epoch;
	int status;
	bool configured;
	bool from_cache;         /* configured from the cache: the controller not heard yet */
	struct zt_netconf *cfg;
	struct zt_config_asm assembly;
	struct zt_netcache *cache;   /* the chunks of the config being received */
	int64_t last_request, last_change, last_announce, config_changed;
	uint8_t creds[4096];
	size_t creds_len;
	struct member *members;
	unsigned n_members, cap_members;
	struct zt_mcast_group own[ZT_NET_MAX_OWN_GROUPS];
	unsigned n_own;
	struct zt_mcast_group host[ZT_NET_MAX_OWN_GROUPS];   /* from the port */
	unsigned n_host;
	uint64_t counters[8];
	struct pending_mcast *pending;   /* ZT_PENDING_MCAST slots */
};

/* A multicast sent while too few members of its group were known (§7.4):
 * kept for 5 s and sent to members learned meanwhile. */
#define ZT_PENDING_MCAST 8
#define ZT_PENDING_MCAST_MS 5000
#define ZT_PENDING_MCAST_SENT 32

struct pending_mcast {
	int64_t at;                      /* 0: free */
	struct zt_mcast_group g;
	unsigned limit, n_sent;
	uint64_t sent[ZT_PENDING_MCAST_SENT];
	size_t len;
	uint8_t pl[ZT_PKT_MAX];          /* the MULTICAST_FRAME payload */
};

enum { NC_RX_FRAMES, NC_TX_FRAMES, NC_GATE_DROPS, NC_POLICY_DROPS, NC_NO_CONFIG, NC_BAD_FRAMES,
	NC_RX_DROPPED, NC_TX_DROPPED, NC_COUNT };

static const char *const nc_names[NC_COUNT] = {
	"rx_frames", "tx_frames", "rx_gate_dropped", "policy_dropped", "dropped_no_config", "bad_frames",
	"rx_dropped", "tx_dropped",
};

/* Frames are counted by every lane at once. */
#define NC_INC(n, k) __atomic_fetch_add(&(n)->counters[k], 1, __ATOMIC_RELAXED)
/* A frame dropped for reason k, also counted by direction (zt_network_packets). */
#define NC_DROP(n, k, dir) (NC_INC(n, k), NC_INC(n, dir))

/* ---- member lists (§7.3), one table for every network ---- */

struct mcast_list {
	uint64_t nwid;
	struct zt_mcast_group g;
	unsigned n;
	struct { uint64_t address; int64_t seen; } m[ZT_MCAST_MAX_MEMBERS];
	int64_t last_gather;
};

static struct mcast_list *mcast_find(struct zt_core *c, uint64_t nwid, const struct zt_mcast_group *g, bool create)
{
	struct mcast_list **v;

	for (unsigned i = 0; i < c->n_mcast; i++)
		if (c->mcast[i]->nwid == nwid && zt_mcast_cmp(&c->mcast[i]->g, g) == 0)
			return c->mcast[i];
	if (!create || c->n_mcast >= 4096)
		return NULL;
	v = realloc(c->mcast, (c->n_mcast + 1) * sizeof *v);
	if (!v)
		return NULL;
	c->mcast = v;
	if (!(v[c->n_mcast] = calloc(1, sizeof **v)))
		return NULL;
	v[c->n_mcast]->nwid = nwid;
	v[c->n_mcast]->g = *g;
	return v[c->n_mcast++];
}

static void pending_send_to(struct zt_core *c, uint64_t nwid, const struct zt_mcast_group *g,
			    uint64_t address, int64_t now);

/* Add or refresh a member; a new one gets the group's pending multicasts. */
static void mcast_add(struct zt_core *c, uint64_t nwid, const struct zt_mcast_group *g, uint64_t address, int64_t now)
{
	struct mcast_list *l;
	unsigned oldest = 0;

	if (address == c->self.address || !(l = mcast_find(c, nwid, g, true)))
		return;
	for (unsigned i = 0; i < l->n; i++) {
		if (l->m[i].address == address) {
			l->m[i].seen = now;
			return;
		}
		if (l->m[i].seen < l->m[oldest].seen)
			oldest = i;
	}
	if (l->n < ZT_MCAST_MAX_MEMBERS)
		oldest = l->n++;
	l->m[oldest].address = address;
	l->m[oldest].seen = now;
	pending_send_to(c, nwid, g, address, now);
}

static void mcast_expire(struct zt_core *c, int64_t now)
{
	for (unsigned i = 0; i < c->n_mcast; i++) {
		struct mcast_list *l = c->mcast[i];
		unsigned kept = 0;

		for (unsigned k = 0; k < l->n; k++)
			if (now - l->m[k].seen < ZT_MCAST_LIKE_TTL_MS)
				l->m[kept++] = l->m[k];
		l->n = kept;
	}
}

void zt_mcast_free(struct zt_core *c)
{
	for (unsigned i = 0; i < c->n_mcast; i++)
		free(c->mcast[i]);
	free(c->mcast);
	c->mcast = NULL;
	c->n_mcast = 0;
}

/* A gather result (§3.4): [4] total known [2] n [5n] addresses. */
static void gather_result(struct zt_core *c, struct zt_wr *w, struct zt_network *n, uint64_t nwid,
			  const struct zt_mcast_group *g, uint64_t requester, unsigned limit)
{
	struct mcast_list *l = mcast_find(c, nwid, g, false);
	bool subscribed = false;
	unsigned total = l ? l->n : 0, count = 0;
	size_t count_at;

	if (n)
		for (unsigned i = 0; i < n->n_own; i++)
			if (zt_mcast_cmp(&n->own[i], g) == 0)
				subscribed = true;
	zt_wr_u32(w, total + subscribed);
	count_at = w->len;
	zt_wr_u16(w, 0);
	if (subscribed && count < limit) {
		zt_wr_u40(w, c->self.address);
		count++;
	}
	for (unsigned i = 0; l && i < l->n && count < limit && w->len + 5 < ZT_PKT_MAX - 64; i++)
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

/* ---- networks ---- */

struct zt_network *zt_network_find(const struct zt_core *c, uint64_t nwid)
{
	for (unsigned i = 0; i < c->n_nets; i++)
		if (c->nets[i]->id == nwid)
			return c->nets[i];
	return NULL;
}

static struct member *member_get(struct zt_network *n, uint64_t address, bool create)
{
	for (unsigned i = 0; i < n->n_members; i++)
		if (n->members[i].address == address)
			return &n->members[i];
	if (!create || n->n_members >= ZT_NET_MAX_MEMBERS)
		return NULL;
	if (n->n_members == n->cap_members) {
		unsigned cap = n->cap_members ? 2 * n->cap_members : 16;
		struct member *v = realloc(n->members, cap * sizeof *v);

		if (!v)
			return NULL;
		n->members = v;
		n->cap_members = cap;
	}
	memset(&n->members[n->n_members], 0, sizeof *n->members);
	n->members[n->n_members].address = address;
	n->members[n->n_members].com_threshold = ZT_REV_NONE;
	return &n->members[n->n_members++];
}

/* §3.10: may this peer send us frames? */
static bool gate(struct zt_network *n, struct zt_peer *p)
{
	struct member *m;

	if (!n->configured)
		return false;
	if (n->cfg->type == ZT_NET_PUBLIC)
		return member_get(n, p->id.address, true) != NULL;
	m = member_get(n, p->id.address, false);
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

/* A new config's rule table goes to every policy that takes one. */
static void policy_rules(struct zt_network *n)
{
	struct zt_policy_rules r = { n->cfg->rules, n->cfg->rules_len, n->cfg->nrules, n->cfg->flags };
	struct zt_inst *const *chains[2] = { n->ingress, n->egress };
	unsigned counts[2] = { n->n_ingress, n->n_egress };

	for (unsigned c = 0; c < 2; c++)
		for (unsigned i = 0; i < counts[c]; i++) {
			const struct zt_module *m = zt_inst_module(chains[c][i]);

			if (m->ops.policy->rules && m->ops.policy->rules(zt_inst_state(chains[c][i]), &r) < 0)
				zt_logf(ZT_LOG_ERR, "network %s: %s refused the controller's rules", n->name,
					zt_inst_name(chains[c][i]));
		}
}

/* ---- credentials (§5.7) ---- */

static void creds_build(struct zt_network *n)
{
	struct zt_wr w;

	n->creds_len = 0;
	if (!n->cfg->has_com)
		return;
	zt_wr_init(&w, n->creds, sizeof n->creds);
	if (zt_netcreds_encode(&w, &n->cfg->com, n->cfg->caps, n->cfg->ncaps, n->cfg->tags, n->cfg->ntags,
			       NULL, 0, n->cfg->coos, n->cfg->ncoos) == 0 && !w.err)
		n->creds_len = w.len;
}

/* Are our credentials due at m: never sent since the config changed, or
 * long ago (a second ago, when it asked)? */
static bool creds_due(const struct zt_network *n, const struct member *m, int64_t now, bool asked)
{
	return m->pushed <= n->config_changed || now - m->pushed >= (asked ? 1000 : ZT_CREDS_REPUSH_MS);
}

static void creds_push(struct zt_network *n, struct member *m, int64_t now, bool asked)
{
	struct zt_core *c = n->core;
	struct zt_peer *p;

	if (!n->creds_len || !m || !creds_due(n, m, now, asked))
		return;
	/* 1.14 pushes nothing to roots or to the controller */
	p = zt_peer_find(c, m->address);
	if ((p && p->upstream) || m->address == zt_nwid_controller(n->id))
		return;
	if (zt_vl1_send(c, m->address, ZT_VERB_NETWORK_CREDENTIALS, n->creds, n->creds_len, now) == 0)
		m->pushed = now;
}

/* ---- own groups and announcements (§7.1, §7.2) ---- */

static void own_groups_update(struct zt_network *n)
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

static void announce_all(struct zt_network *n, int64_t now)
{
	struct zt_core *c = n->core;

	n->last_announce = now;
	announce_to(n, zt_nwid_controller(n->id), now);
	for (unsigned i = 0; i < c->n_upstreams; i++)
		announce_to(n, c->upstreams[i]->id.address, now);
	for (unsigned i = 0; i < n->n_members; i++) {
		struct zt_peer *p = zt_peer_find(c, n->members[i].address);

		if (p && !p->upstream && gate(n, p)) {
			n->members[i].announced = now;
			announce_to(n, p->id.address, now);
		}
	}
}

/* ---- the port ---- */

static void port_configure(struct zt_network *n)
{
	struct zt_iface_addr addrs[ZT_NETCONF_MAX_IPS];
	struct zt_iface_route routes[ZT_NETCONF_MAX_ROUTES];
	struct zt_iface_settings s = { .mtu = n->configured ? n->cfg->mtu : ZT_NET_MTU_DEFAULT, .up = true,
				       .addrs = addrs, .routes = routes };

	memcpy(s.mac, n->mac, 6);
	for (unsigned i = 0; n->configured && i < n->cfg->nips; i++) {
		addrs[s.n_addrs].addr = n->cfg->ips[i];
		addrs[s.n_addrs].prefix = zt_inetaddr_port(&n->cfg->ips[i]);
		s.n_addrs++;
	}
	for (unsigned i = 0; n->configured && i < n->cfg->nroutes; i++) {
		const struct zt_route *r = &n->cfg->routes[i];
		bool on_link = false;

		/* a route to a subnet we have an address in is the kernel's own */
		for (unsigned k = 0; k < s.n_addrs && r->via.sa.sa_family == AF_UNSPEC; k++)
			if (addrs[k].prefix == zt_inetaddr_port(&r->target) &&
			    zt_inetaddr_equal(&addrs[k].addr, &r->target, false))
				on_link = true;
		if (on_link)
			continue;
		routes[s.n_routes].target = r->target;
		routes[s.n_routes].prefix = zt_inetaddr_port(&r->target);
		routes[s.n_routes].via = r->via;
		routes[s.n_routes].metric = r->metric;
		s.n_routes++;
	}
	if (n->ops->configure && n->ops->configure(n->port, &s) < 0) {
		n->status = ZT_NET_PORT_ERROR;
		zt_logf(ZT_LOG_ERR, "network %s: the port could not be configured", n->name);
	}
}

/* Hands a frame to the port.  The payload sits in a writable packet
 * buffer with at least 14 bytes before it (the ZeroTier header and the
 * verb's fields), where the Ethernet header is written: no copy of the
 * frame on its way from the datagram to the host. */
static void deliver(struct zt_network *n, const struct port_queue *q, uint64_t from, const uint8_t dst[6],
		    const uint8_t src[6], uint16_t ethertype, uint8_t *payload, size_t len)
{
	uint8_t *eth = payload - 14;
	struct zt_frame f = { eth, 14 + len };
	struct zt_policy_ctx ctx = { n->id, n->core->self.address, from,
				     zt_mac_is_multicast(dst) ? 0 : n->core->self.address, true };

	if (len > ZT_PKT_MAX - 14 || (n->configured && !zt_frame_fits(n->cfg->mtu, ethertype, len))) {
		NC_DROP(n, NC_BAD_FRAMES, NC_RX_DROPPED);
		return;
	}
	/* dst and src may already be there (EXT_FRAME): memmove */
	memmove(eth, dst, 6);
	memmove(eth + 6, src, 6);
	eth[12] = ethertype >> 8;
	eth[13] = ethertype & 0xff;
	if (policy_chain(n, n->ingress, n->n_ingress, &ctx, &f) != ZT_ACCEPT) {
		NC_DROP(n, NC_POLICY_DROPS, NC_RX_DROPPED);
		return;
	}
	NC_INC(n, NC_RX_FRAMES);
	q->ops->tx(q->state, &f, 1);
}

/* ---- sending frames (§2.6, §7.4) ---- */

static void send_unicast(struct zt_network *n, uint64_t to, uint16_t ethertype, const uint8_t *payload, size_t len,
			 int64_t now)
{
	uint8_t pl[ZT_PKT_MAX];
	struct zt_wr w;

	creds_push(n, member_get(n, to, true), now, false);
	zt_wr_init(&w, pl, sizeof pl);
	zt_wr_u64(&w, n->id);
	zt_wr_u16(&w, ethertype);
	zt_wr_bytes(&w, payload, len);
	if (!w.err && zt_vl1_send(n->core, to, ZT_VERB_FRAME, pl, w.len, now) == 0)
		NC_INC(n, NC_TX_FRAMES);
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

static void send_multicast(struct zt_network *n, const struct zt_mcast_group *g, uint16_t ethertype,
			   const uint8_t *payload, size_t len, int64_t now)
{
	struct zt_core *c = n->core;
	struct mcast_list *l = mcast_find(c, n->id, g, true);
	unsigned limit = n->cfg->mcast_limit, sent = 0, known = l ? l->n : 0;
	uint32_t gather_limit = known >= limit ? 1 : limit - known + 1;
	uint8_t pl[ZT_PKT_MAX];
	struct pending_mcast *pm;
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
	zt_wr_init(&w, pl, sizeof pl);
	zt_wr_u64(&w, n->id);
	zt_wr_u8(&w, 0x02);
	zt_wr_u32(&w, gather_limit);
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
	/* members in random order, at most `limit` of them */
	for (unsigned i = 0; i < l->n && sent < limit; i++) {
		unsigned j = i + randombytes_uniform(l->n - i);
		typeof(l->m[0]) tmp = l->m[i];

		l->m[i] = l->m[j];
		l->m[j] = tmp;
		creds_push(n, member_get(n, l->m[i].address, true), now, false);
		if (zt_vl1_send(c, l->m[i].address, ZT_VERB_MULTICAST_FRAME, pl, w.len, now) == 0) {
			sent++;
			if (pm && pm->n_sent < ZT_PENDING_MCAST_SENT)
				pm->sent[pm->n_sent++] = l->m[i].address;
		}
	}
	if (sent)
		NC_INC(n, NC_TX_FRAMES);
}

static void pending_send_to(struct zt_core *c, uint64_t nwid, const struct zt_mcast_group *g,
			    uint64_t address, int64_t now)
{
	struct zt_network *n = zt_network_find(c, nwid);

	for (unsigned i = 0; n && n->pending && i < ZT_PENDING_MCAST; i++) {
		struct pending_mcast *pm = &n->pending[i];
		bool done = false;

		if (!pm->at || now - pm->at >= ZT_PENDING_MCAST_MS || zt_mcast_cmp(&pm->g, g) != 0 ||
		    pm->n_sent >= pm->limit || pm->n_sent >= ZT_PENDING_MCAST_SENT)
			continue;
		for (unsigned k = 0; k < pm->n_sent; k++)
			done |= pm->sent[k] == address;
		if (done)
			continue;
		creds_push(n, member_get(n, address, true), now, false);
		if (zt_vl1_send(c, address, ZT_VERB_MULTICAST_FRAME, pm->pl, pm->len, now) == 0)
			pm->sent[pm->n_sent++] = address;
	}
}

/* A frame the host sent on the port. */
static void port_frame(struct zt_network *n, const struct zt_frame *f, int64_t now)
{
	struct zt_policy_ctx ctx = { n->id, n->core->self.address, n->core->self.address, 0, false };
	const uint8_t *to = f->data, *src = f->data + 6;
	uint8_t *payload = f->data + 14;
	uint16_t ethertype;
	size_t len;
	uint64_t dest;

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
	/* no bridging: only frames from our own MAC */
	if (memcmp(src, n->mac, 6) != 0) {
		NC_DROP(n, NC_POLICY_DROPS, NC_TX_DROPPED);
		return;
	}
	if (!zt_mac_is_multicast(to) && zt_mac_to_address(n->id, to, &dest) == 0)
		ctx.dest = dest;
	if (policy_chain(n, n->egress, n->n_egress, &ctx, f) != ZT_ACCEPT) {
		NC_DROP(n, NC_POLICY_DROPS, NC_TX_DROPPED);
		return;
	}
	if (zt_mac_is_multicast(to)) {
		struct zt_mcast_group g;
		uint32_t target;

		zt_mcast_for_frame(&g, to, ethertype, payload, len);
		if ((zt_mac_is_broadcast(to) && !zt_arp_request_target(ethertype, payload, len, &target) &&
		     !(n->cfg->flags & ZT_NETCONF_F_BROADCAST)) || n->cfg->mcast_limit == 0) {
			NC_DROP(n, NC_POLICY_DROPS, NC_TX_DROPPED);
			return;
		}
		send_multicast(n, &g, ethertype, payload, len, now);
	} else if (memcmp(to, n->mac, 6) == 0) {
		deliver(n, &n->queues[0], n->core->self.address, to, src, ethertype, payload, len);
	} else if (zt_mac_to_address(n->id, to, &dest) == 0) {
		send_unicast(n, dest, ethertype, payload, len, now);
	} else {
		NC_DROP(n, NC_POLICY_DROPS, NC_TX_DROPPED);   /* behind a bridge: none here */
	}
}

/* Frames from the port itself: with workers, those the fast path can
 * send go without the write lock. */
static void port_rx(void *arg, struct zt_inst *from, struct zt_frame *f, unsigned count)
{
	struct zt_network *n = arg;
	struct zt_core *c = n->core;
	int64_t now = zt_core_now(c);

	zt_spin_kick(&c->spin);
	zt_workers_read(c);
	for (unsigned i = 0; i < count; i++) {
		if (c->pool && zt_lane_frame_out(&c->lane, n, &f[i], now))
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

static void port_mcast(void *ctx, struct zt_inst *from, const uint8_t *macs, unsigned count)
{
	struct zt_network *n = ctx;
	unsigned before = n->n_own;

	n->n_host = 0;
	for (unsigned i = 0; i < count && n->n_host < ZT_NET_MAX_OWN_GROUPS / 2; i++) {
		memcpy(n->host[n->n_host].mac, macs + 6 * i, 6);
		n->host[n->n_host++].adi = 0;
	}
	own_groups_update(n);
	if (n->configured && n->n_own != before)
		announce_all(n, zt_core_now(n->core));
}

/* ---- configs (§3.8, §4.7) ---- */

static bool config_apply(struct zt_network *n, const uint8_t *dict, size_t len, int64_t now)
{
	struct zt_netconf *cfg = zt_netconf_new();
	struct zt_core *c = n->core;

	if (!cfg)
		return false;
	if (zt_netconf_parse(cfg, dict, len) < 0 || cfg->nwid != n->id || cfg->issued_to != c->self.address) {
		zt_logf(ZT_LOG_WARN, "network %s: refused a malformed config or one for someone else", n->name);
		zt_netconf_free(cfg);
		return false;
	}
	zt_netconf_free(n->cfg);
	n->cfg = cfg;
	n->gate_epoch++;
	if (!n->configured || n->status != ZT_NET_OK)
		zt_logf(ZT_LOG_INFO, "network %s: configured (revision %llu, %u addresses)", n->name,
			(unsigned long long)cfg->revision, cfg->nips);
	n->configured = true;
	n->status = ZT_NET_OK;
	n->last_change = now;
	n->config_changed = now;
	creds_build(n);
	own_groups_update(n);
	policy_rules(n);
	port_configure(n);
	announce_all(n, now);
	return true;
}

static void config_chunk(struct zt_network *n, struct zt_peer *from, const uint8_t *body, size_t len,
			 bool pushed, uint64_t push_id, int64_t now)
{
	struct zt_config_chunk ch;
	const uint8_t *dict;
	size_t dict_len;
	int rc;

	if (from->id.address != zt_nwid_controller(n->id))
		return;   /* relayed fast-propagate chunks are not supported */
	if (zt_chunk_decode(&ch, body, len) < 0 || ch.nwid != n->id || ch.legacy ||
	    zt_config_asm_is_dup(&n->assembly, &ch) || zt_chunk_verify(&ch, &from->id) < 0)
		return;
	rc = zt_config_asm_add(&n->assembly, &ch, &dict, &dict_len);
	if (rc >= 0)
		zt_netcache_chunk(n->cache, &ch);
	if (rc != 1)
		return;
	if (config_apply(n, dict, dict_len, now)) {
		n->from_cache = false;
		zt_netcache_save(n->core, n->cache, n->id, ch.update_id);
	}
	if (pushed) {
		uint8_t ack[64];
		struct zt_wr w;

		zt_wr_init(&w, ack, sizeof ack);
		zt_wr_u64(&w, n->id);
		zt_wr_u64(&w, ch.update_id);
		/* quirk of 1.14 (§3.8): the in-re verb byte of this OK is 0x08 */
		zt_vl1_reply_ok(n->core, from, ZT_VERB_ECHO, push_id, ack, w.len, now);
	}
}

static void config_request(struct zt_network *n, int64_t now)
{
	uint8_t meta[ZT_DICT_META_CAP], pl[ZT_DICT_META_CAP + 64];
	struct zt_ncreq_meta m;
	struct zt_ncreq q = { .nwid = n->id, .has_tail = true };
	struct zt_wr mw, w;

	zt_ncreq_meta_default(&m, "linux/x86_64");
	m.majv = 1;
	m.minv = 14;
	m.revv = 1;
	zt_wr_init(&mw, meta, sizeof meta);
	if (zt_ncreq_meta_write(&m, &mw) < 0 || mw.err)
		return;
	q.meta = meta;
	q.meta_len = mw.len;
	if (n->configured) {
		q.revision = n->cfg->revision;
		q.ts = n->cfg->ts;
	}
	zt_wr_init(&w, pl, sizeof pl);
	if (zt_ncreq_encode(&w, &q) < 0 || w.err)
		return;
	n->last_request = now;
	zt_vl1_send(n->core, zt_nwid_controller(n->id), ZT_VERB_NETWORK_CONFIG_REQUEST, pl, w.len, now);
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
	uint8_t flags, from_mac[6];
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
	zt_mac_from_address(n->id, r->peer->id.address, from_mac);
	/* no bridges here: only frames the sender originated, for us or a group */
	if (memcmp(src, from_mac, 6) != 0 || (!zt_mac_is_multicast(dst) && memcmp(dst, n->mac, 6) != 0))
		return;
	deliver(n, q, r->peer->id.address, dst, src, ethertype, r->pl + rd.pos, zt_rd_left(&rd));
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
	    memcmp(src, n->mac, 6) != 0) {
		uint8_t from_mac[6];

		zt_mac_from_address(n->id, r->peer->id.address, from_mac);
		if (memcmp(src, from_mac, 6) == 0)
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
		gather_result(c, &w, n, n->id, &g, r->peer->id.address, gather_limit);
		if (!w.err && gather_count(pl + 19) > 0)
			zt_vl1_reply_ok(c, r->peer, ZT_VERB_MULTICAST_FRAME, r->id, pl, w.len, r->now);
	}
}

/* A revocation from the controller (§5.5, §8.4): raise the target's
 * threshold; fast-propagate it to the members we know. */
static void rx_revocation(struct zt_core *c, const struct zt_net_rx *r, const struct zt_revocation *v)
{
	struct zt_network *n = zt_network_find(c, v->nwid);
	struct zt_peer *ctl;
	struct member *m;
	int64_t cred_threshold = ZT_REV_NONE;

	if (!n || !(ctl = zt_peer_or_self(c, zt_nwid_controller(n->id))) ||
	    !(m = member_get(n, v->target, true)) ||
	    zt_rev_accept(v, &ctl->id, &m->com_threshold, &cred_threshold) != ZT_CRED_ACCEPTED)
		return;
	m->gate_epoch = 0;
	zt_logf(ZT_LOG_INFO, "network %s: member %010llx revoked by the controller", n->name,
		(unsigned long long)v->target);
	if (v->flags & 0x01) {
		uint8_t pl[256];
		struct zt_wr w;

		zt_wr_init(&w, pl, sizeof pl);
		if (zt_netcreds_encode(&w, NULL, NULL, 0, NULL, 0, v, 1, NULL, 0) < 0 || w.err)
			return;
		for (unsigned i = 0; i < n->n_members; i++) {
			uint64_t a = n->members[i].address;

			if (a != r->peer->id.address && a != ctl->id.address && a != v->target)
				zt_vl1_send(c, a, ZT_VERB_NETWORK_CREDENTIALS, pl, w.len, r->now);
		}
	}
}

static void rx_credentials(struct zt_core *c, const struct zt_net_rx *r)
{
	struct zt_netcreds nc;
	struct zt_com com;
	struct zt_revocation rev;

	if (zt_netcreds_decode(&nc, r->pl, r->pl_len) < 0)
		return;
	for (unsigned i = 0; zt_netcreds_rev(&nc, i, &rev) == 0; i++)
		rx_revocation(c, r, &rev);
	for (unsigned i = 0; zt_netcreds_com(&nc, i, &com) == 0; i++) {
		struct zt_network *n = zt_network_find(c, zt_com_nwid(&com));
		struct zt_peer *ctl;
		struct member *m;

		if (!n || zt_com_issued_to(&com) != r->peer->id.address)
			continue;
		ctl = zt_peer_or_self(c, zt_nwid_controller(n->id));
		if (!ctl || zt_com_verify(&com, &ctl->id) < 0)
			continue;
		m = member_get(n, r->peer->id.address, true);
		if (m && (!m->has_com || zt_com_timestamp(&com) >= zt_com_timestamp(&m->com))) {
			m->com = com;
			m->has_com = true;
			m->gate_epoch = 0;
		}
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
			mcast_add(c, nwid, &g, r->peer->id.address, r->now);
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
		    zt_com_issued_to(&com) == r->peer->id.address && (m = member_get(n, r->peer->id.address, true))) {
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
	gather_result(c, &w, n, nwid, &g, r->peer->id.address, limit > 65535 ? 65535 : limit);
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
		rx_credentials(c, r);
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
		config_chunk(n, r->peer, r->pl, r->pl_len, true, r->id, r->now);
		return;
	}
	/* frames: the gate first (§3.10) */
	if (!gate(n, r->peer)) {
		NC_DROP(n, NC_GATE_DROPS, NC_RX_DROPPED);
		zt_vl1_error_send(c, r->peer, r->verb, r->id, ZT_ERR_NEED_MEMBERSHIP_CERTIFICATE, nwid, r->now);
		return;
	}
	r->peer->last_nontrivial = r->now;
	{
		struct member *m = member_get(n, r->peer->id.address, true);

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
			mcast_add(c, nwid, g, a, now);
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
		config_chunk(n, r->peer, data, len, false, 0, r->now);
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

void zt_network_error(struct zt_core *c, const struct zt_net_rx *r, const struct zt_error *e)
{
	struct zt_network *n = e->has_nwid ? zt_network_find(c, e->nwid) : NULL;
	bool from_controller;

	if (!n)
		return;
	from_controller = r->peer->id.address == zt_nwid_controller(n->id);
	switch (e->code) {
	case ZT_ERR_OBJ_NOT_FOUND:
	case ZT_ERR_UNSUPPORTED_OPERATION:
		if (from_controller && e->in_re_verb == ZT_VERB_NETWORK_CONFIG_REQUEST && n->status != ZT_NET_NOT_FOUND) {
			n->status = ZT_NET_NOT_FOUND;
			zt_netcache_remove(c, n->id);
			zt_logf(ZT_LOG_WARN, "network %s: the controller does not know this network", n->name);
		}
		break;
	case ZT_ERR_NETWORK_ACCESS_DENIED:
		if (from_controller && n->status != ZT_NET_ACCESS_DENIED) {
			n->status = ZT_NET_ACCESS_DENIED;
			zt_netcache_remove(c, n->id);
			zt_logf(ZT_LOG_WARN, "network %s: access denied by the controller (not authorized)", n->name);
		}
		break;
	case ZT_ERR_NETWORK_AUTHENTICATION_REQUIRED:
		if (from_controller)
			n->status = ZT_NET_AUTHENTICATION_REQUIRED;
		break;
	case ZT_ERR_NEED_MEMBERSHIP_CERTIFICATE:
		creds_push(n, member_get(n, r->peer->id.address, true), r->now, true);
		break;
	default:
		break;
	}
}

/* The node just heard from a root for the first time: requests sent
 * before it could look up the controller may have timed out, so ask now. */
void zt_networks_online(struct zt_core *c, int64_t now)
{
	for (unsigned i = 0; i < c->n_nets; i++)
		if (!c->nets[i]->configured || c->nets[i]->from_cache)
			config_request(c->nets[i], now);
}

/* ---- timers ---- */

void zt_networks_tick(struct zt_core *c, int64_t now)
{
	for (unsigned i = 0; i < c->n_nets; i++) {
		struct zt_network *n = c->nets[i];

		if (now - n->last_request >= (n->configured && !n->from_cache ? ZT_CONFIG_REFRESH_MS : ZT_CONFIG_RETRY_MS))
			config_request(n, now);
		if (n->configured && now - n->last_announce >= ZT_ANNOUNCE_MS)
			announce_all(n, now);
	}
	mcast_expire(c, now);
}

/* ---- lifecycle ---- */

struct zt_network *zt_network_new(struct zt_core *c, uint64_t nwid, struct zt_inst *iface,
				  struct zt_inst *const *ingress, unsigned n_ingress,
				  struct zt_inst *const *egress, unsigned n_egress)
{
	struct zt_network *n = calloc(1, sizeof *n), **v;

	if (!n)
		return NULL;
	n->cfg = zt_netconf_new();
	n->gate_epoch = 1;   /* members start at 0: no verdict yet */
	n->pending = calloc(ZT_PENDING_MCAST, sizeof *n->pending);
	n->cache = zt_netcache_new();
	v = realloc(c->nets, (c->n_nets + 1) * sizeof *v);
	if (!n->cfg || !n->pending || !n->cache || !v) {
		zt_netcache_free(n->cache);
		free(n->pending);
		zt_netconf_free(n->cfg);
		free(v == c->nets ? NULL : v);
		free(n);
		return NULL;
	}
	c->nets = v;
	n->core = c;
	n->id = nwid;
	snprintf(n->name, sizeof n->name, "%016llx", (unsigned long long)nwid);
	n->iface = iface;
	n->ops = zt_inst_module(iface)->ops.iface;
	n->port = zt_inst_state(iface);
	n->queues[0] = (struct port_queue){ iface, n->ops, n->port };
	for (unsigned i = 0; i < n_ingress && i < ZT_MAX_CHAIN; i++)
		n->ingress[n->n_ingress++] = ingress[i];
	for (unsigned i = 0; i < n_egress && i < ZT_MAX_CHAIN; i++)
		n->egress[n->n_egress++] = egress[i];
	zt_mac_from_address(nwid, c->self.address, n->mac);
	zt_config_asm_init(&n->assembly);
	n->status = ZT_NET_REQUESTING_CONFIGURATION;
	n->last_request = -ZT_CONFIG_REFRESH_MS;
	zt_inst_set_frame_sink(iface, port_rx, n);
	zt_inst_set_mcast_sink(iface, port_mcast, n);
	c->nets[c->n_nets++] = n;
	port_configure(n);
	zt_logf(ZT_LOG_INFO, "network %s: joining (controller %010llx)", n->name,
		(unsigned long long)zt_nwid_controller(nwid));
	return n;
}

void zt_network_free(struct zt_network *n)
{
	struct zt_core *c;

	if (!n)
		return;
	c = n->core;
	for (unsigned i = 0; i < c->n_nets; i++)
		if (c->nets[i] == n) {
			c->nets[i] = c->nets[--c->n_nets];
			break;
		}
	/* the port's sinks are left alone: by now the pipeline has stopped
	 * (and may have destroyed) the iface instance */
	zt_config_asm_fini(&n->assembly);
	zt_netconf_free(n->cfg);
	zt_netcache_free(n->cache);
	free(n->pending);
	free(n->members);
	free(n);
}

/* ---- the lanes' fast path (worker.h): reads, never changes, the network ---- */

/* May p's frames be delivered without the main loop: its gate verdict
 * made and cached, no announcement due? */
static bool gate_known(struct zt_network *n, const struct zt_peer *p, int64_t now)
{
	const struct member *m;

	if (!n->configured || !(m = member_get(n, p->id.address, false)) || now - m->announced >= ZT_ANNOUNCE_MS)
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
	if (!n || !(q = &n->queues[l->index])->ops || !gate_known(n, p, now) ||
	    (verb == ZT_VERB_EXT_FRAME && (pl[8] & 0x10)))   /* it wants an OK */
		return false;
	ZT_STORE(p->last_nontrivial, now);
	if (verb == ZT_VERB_FRAME)
		rx_frame(n, q, &r);
	else
		rx_ext_frame(n, q, &r);
	return true;
}

bool zt_lane_frame_out(struct zt_lane *l, struct zt_network *n, const struct zt_frame *f, int64_t now)
{
	struct zt_policy_ctx ctx = { n->id, l->core->self.address, l->core->self.address, 0, false };
	const uint8_t *to = f->data;
	const struct member *m;
	struct zt_peer_path *pp;
	struct zt_peer *p;
	struct zt_wr w;

	if (f->len < 14 || !n->configured || memcmp(f->data + 6, n->mac, 6) != 0 || zt_mac_is_multicast(to) ||
	    memcmp(to, n->mac, 6) == 0 || zt_mac_to_address(n->id, to, &ctx.dest) < 0 ||
	    !(m = member_get(n, ctx.dest, false)) || (n->creds_len && creds_due(n, m, now, false)) ||
	    !(p = zt_peer_find(l->core, ctx.dest)) || !(pp = zt_lane_route(l, p, now)))
		return false;
	zt_wr_init(&w, l->tx + ZT_HDR_PAYLOAD, ZT_PKT_MAX - ZT_HDR_PAYLOAD);
	zt_wr_u64(&w, n->id);
	zt_wr_bytes(&w, f->data + 12, f->len - 12);   /* the ethertype and the payload */
	if (w.err)
		return false;
	if (policy_chain(n, n->egress, n->n_egress, &ctx, f) != ZT_ACCEPT)
		NC_DROP(n, NC_POLICY_DROPS, NC_TX_DROPPED);
	else if (zt_lane_send(l, p, pp, ZT_VERB_FRAME, w.len, now))
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

struct zt_core *zt_network_core(const struct zt_network *n)
{
	return n->core;
}

uint64_t zt_network_id(const struct zt_network *n)
{
	return n->id;
}

/* ---- what modules may read ---- */

static void network_info(const struct zt_network *n, struct zt_network_info *out)
{
	memset(out, 0, sizeof *out);
	out->nwid = n->id;
	memcpy(out->mac, n->mac, 6);
	out->status = zt_net_status_name(n->status);
	out->mtu = ZT_NET_MTU_DEFAULT;
	out->port = n->ops->port_name ? n->ops->port_name(n->port) : NULL;
	if (!out->port)
		out->port = zt_inst_name(n->iface);
	out->rx_frames = ZT_LOAD(n->counters[NC_RX_FRAMES]);
	out->rx_dropped = ZT_LOAD(n->counters[NC_RX_DROPPED]);
	out->tx_frames = ZT_LOAD(n->counters[NC_TX_FRAMES]);
	out->tx_dropped = ZT_LOAD(n->counters[NC_TX_DROPPED]);
	if (!n->configured)
		return;
	snprintf(out->name, sizeof out->name, "%s", n->cfg->name);
	out->public_net = n->cfg->type == ZT_NET_PUBLIC;
	out->mtu = n->cfg->mtu;
	out->broadcast = n->cfg->flags & ZT_NETCONF_F_BROADCAST;
	out->revision = n->cfg->revision;
	for (unsigned i = 0; i < n->cfg->nips && out->n_addrs < ZT_INFO_MAX_ADDRS; i++)
		out->addrs[out->n_addrs++] = n->cfg->ips[i];
	for (unsigned i = 0; i < n->cfg->nroutes && out->n_routes < ZT_INFO_MAX_ROUTES; i++) {
		out->routes[out->n_routes].target = n->cfg->routes[i].target;
		out->routes[out->n_routes].via = n->cfg->routes[i].via;
		out->routes[out->n_routes].flags = n->cfg->routes[i].flags;
		out->routes[out->n_routes].metric = n->cfg->routes[i].metric;
		out->n_routes++;
	}
	for (unsigned i = 0; i < n->n_own && out->n_groups < ZT_INFO_MAX_GROUPS; i++) {
		if (zt_mac_is_broadcast(n->own[i].mac) && n->own[i].adi == 0)
			continue;   /* §9.3: not the broadcast group */
		memcpy(out->groups[out->n_groups].mac, n->own[i].mac, 6);
		out->groups[out->n_groups++].adi = n->own[i].adi;
	}
}

static int net_cmp(const void *a, const void *b)
{
	uint64_t x = (*(struct zt_network *const *)a)->id, y = (*(struct zt_network *const *)b)->id;

	return x < y ? -1 : x > y;
}

void zt_core_networks(const struct zt_core *c,
		      void (*fn)(void *ctx, const struct zt_network_info *net), void *ctx)
{
	struct zt_network **sorted = malloc((c->n_nets + 1) * sizeof *sorted);
	struct zt_network_info *info = malloc(sizeof *info);

	if (sorted && info) {
		if (c->n_nets)   /* c->nets is NULL while none was joined */
			memcpy(sorted, c->nets, c->n_nets * sizeof *sorted);
		qsort(sorted, c->n_nets, sizeof *sorted, net_cmp);
		for (unsigned i = 0; i < c->n_nets; i++) {
			network_info(sorted[i], info);
			fn(ctx, info);
		}
	}
	free(info);
	free(sorted);
}

int zt_core_network(const struct zt_core *c, uint64_t nwid, struct zt_network_info *out)
{
	const struct zt_network *n = zt_network_find(c, nwid);

	if (!n)
		return -ENOENT;
	network_info(n, out);
	return 0;
}

/* ---- joining and leaving at run time ---- */

static char *join_file(const struct zt_core *c, uint64_t nwid)
{
	char *p;

	return asprintf(&p, "%s/networks.d/%016llx.join", c->home, (unsigned long long)nwid) < 0 ? NULL : p;
}

/* A joined network's port and chains, the port first. */
static void ports_destroy(const struct zt_join_ports *jp)
{
	zt_inst_destroy(jp->iface);
	for (unsigned i = 0; i < jp->n_ingress; i++)
		zt_inst_destroy(jp->ingress[i]);
	for (unsigned i = 0; i < jp->n_egress; i++)
		zt_inst_destroy(jp->egress[i]);
}

static int chain_start(struct zt_network *n, struct zt_inst *const *chain, unsigned count)
{
	int rc;

	for (unsigned i = 0; i < count; i++)
		if ((rc = zt_inst_start(chain[i])) < 0) {
			zt_logf(ZT_LOG_ERR, "network %s: %s could not start: %s", n->name, zt_inst_name(chain[i]),
				strerror(-rc));
			return rc;
		}
	return 0;
}

static int join(struct zt_core *c, uint64_t nwid)
{
	struct zt_join_ports jp = { 0 };
	struct zt_network *n;
	int rc;

	if (zt_network_find(c, nwid))
		return 0;
	if (!c->join_ports || (nwid >> 56) == 0xff)
		return -EINVAL;   /* ad-hoc networks are not supported */
	if ((rc = c->join_ports(c->join_ctx, nwid, &jp)) < 0) {
		ports_destroy(&jp);
		return rc;
	}
	n = zt_network_new(c, nwid, jp.iface, jp.ingress, jp.n_ingress, jp.egress, jp.n_egress);
	if (!n) {
		ports_destroy(&jp);
		return -ENOMEM;
	}
	n->dynamic = true;
	zt_workers_add_port(c, n, jp.iface);
	/* a port without its chains would pass what the rules forbid */
	if (chain_start(n, n->ingress, n->n_ingress) < 0 || chain_start(n, n->egress, n->n_egress) < 0) {
		n->status = ZT_NET_PORT_ERROR;
	} else if ((rc = zt_inst_start(jp.iface)) < 0) {
		zt_logf(ZT_LOG_ERR, "network %s: its port %s could not start: %s", n->name,
			zt_inst_name(jp.iface), strerror(-rc));
		n->status = ZT_NET_PORT_ERROR;
	} else {
		zt_workers_start_port(c, n);
	}
	return 0;
}

/* A network listed in ztd.yaml is the config's: joining it at run time
 * changes nothing, and a join remembered from before it was listed there
 * is forgotten. */
static bool in_config(const struct zt_core *c, uint64_t nwid, const char *join_path)
{
	const struct zt_network *n = zt_network_find(c, nwid);

	if (!n || n->dynamic)
		return false;
	if (unlink(join_path) == 0)
		zt_logf(ZT_LOG_WARN, "network %s: listed in ztd.yaml, which wins over %s (a join at run time): "
			"removed it", n->name, join_path);
	else
		zt_logf(ZT_LOG_INFO, "network %s: listed in ztd.yaml: joined there already", n->name);
	return true;
}

int zt_core_join(struct zt_core *c, uint64_t nwid)
{
	char *path = join_file(c, nwid), *dir;
	FILE *f;
	int rc;

	if (!path)
		return -ENOMEM;
	if (in_config(c, nwid, path)) {
		free(path);
		return 0;
	}
	rc = join(c, nwid);
	if (rc == 0 && asprintf(&dir, "%s/networks.d", c->home) >= 0) {
		mkdir(dir, 0755);
		free(dir);
		f = fopen(path, "w");
		if (f)
			fclose(f);
		else
			zt_logf(ZT_LOG_WARN, "%s: %s: the network will not be joined again after a restart",
				path, strerror(errno));
	}
	free(path);
	return rc;
}

int zt_core_leave(struct zt_core *c, uint64_t nwid)
{
	struct zt_network *n = zt_network_find(c, nwid);
	struct zt_join_ports jp;
	char *path;

	if (!n)
		return -ENOENT;
	if (!n->dynamic)
		return -EPERM;
	jp.iface = n->iface;
	jp.n_ingress = n->n_ingress;
	jp.n_egress = n->n_egress;
	memcpy(jp.ingress, n->ingress, n->n_ingress * sizeof *n->ingress);
	memcpy(jp.egress, n->egress, n->n_egress * sizeof *n->egress);
	zt_logf(ZT_LOG_INFO, "network %s: left", n->name);
	/* the workers are out of their callbacks while we write */
	for (unsigned i = 1; i < ZT_MAX_WORKERS; i++)
		if (n->queues[i].zi) {
			zt_inst_stop(n->queues[i].zi);
			zt_inst_destroy(n->queues[i].zi);
		}
	zt_inst_stop(jp.iface);
	zt_network_free(n);
	ports_destroy(&jp);
	path = join_file(c, nwid);
	if (path)
		unlink(path);
	free(path);
	zt_netcache_remove(c, nwid);
	return 0;
}

void zt_networks_rejoin(struct zt_core *c)
{
	char *dir, *path;
	DIR *d;
	struct dirent *e;

	if (asprintf(&dir, "%s/networks.d", c->home) < 0)
		return;
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		char *end;
		uint64_t nwid;

		if (strlen(e->d_name) != 21 || strcmp(e->d_name + 16, ".join") != 0)
			continue;
		nwid = strtoull(e->d_name, &end, 16);
		if (end != e->d_name + 16)
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0)
			continue;
		if (!in_config(c, nwid, path))
			join(c, nwid);
		free(path);
	}
	if (d)
		closedir(d);
	free(dir);
}

void zt_networks_counters(const struct zt_core *c,
			  void (*fn)(void *ctx, const char *instance, const char *name, uint64_t value), void *ctx)
{
	for (unsigned i = 0; i < c->n_nets; i++) {
		char name[32];

		snprintf(name, sizeof name, "network@%s", c->nets[i]->name);
		for (unsigned k = 0; k < NC_COUNT; k++)
			fn(ctx, name, nc_names[k], c->nets[i]->counters[k]);
	}
}

/* At start: each network's cached config, until its controller answers. */
void zt_networks_restore(struct zt_core *c)
{
	int64_t now = zt_core_now(c);

	for (unsigned i = 0; i < c->n_nets; i++) {
		struct zt_network *n = c->nets[i];
		const uint8_t *dict;
		size_t len;
		char *path;

		if (n->configured || zt_netcache_load(c, n->id, &n->assembly, &dict, &len, &path) < 0)
			continue;
		n->from_cache = config_apply(n, dict, len, now);
		if (n->from_cache)
			zt_logf(ZT_LOG_INFO, "network %s: revision %llu from %s until the controller answers", n->name,
				(unsigned long long)n->cfg->revision, path);
		free(path);
	}
}
