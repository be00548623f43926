/* The peer-level protocol's receiving half (wire.md §3-§7): datagrams
 * in, reassembly, relaying and introductions, dearmoring, verb dispatch,
 * learning paths and our external addresses, and the controller role's
 * answers to a request.
 *
 * It calls down only: the network layer with the network verbs it
 * receives (the protocol carries the network layer inside VL1), the
 * send half (send.c) with every packet it sends, the home directory
 * (home.c) with a new peer to cache and a world to install.  One call
 * comes back up at run time, as the protocol needs: a packet the node
 * sends to itself is received here (zt_vl1_loop_in, which the core
 * registers with the send half).  See doc/architecture.md. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include <zt/dict.h>
#include <zt/dptrace.h>

#include "core.h"
#include "network.h"
#include "send.h"

static const char *addr_str(uint64_t address, char out[11])
{
	zt_address_fmt(address, out);
	return out;
}

/* ---- what waits for an identity (§7.6) ---- */

/* A received packet from an unknown address, kept until WHOIS answers. */
static void rxq_add(struct zt_core *c, uint64_t src, const uint8_t *pkt, size_t len, struct zt_path *path, int64_t now)
{
	if (!zt_queue_add(c, c->rxq, src, pkt, len, path, now))
		ZT_COUNT(c, rx_queue_overflow);
}

static bool path_usable_for(const struct zt_core *c, const struct zt_peer *p, const union zt_sockaddr *a);

/* An identity arrived: send and process what waited for it. */
static void queues_flush(struct zt_core *c, struct zt_peer *p, int64_t now)
{
	for (unsigned i = 0; i < 8; i++) {
		struct zt_pending_rv *rv = &c->pending_rv[i];
		struct zt_path *path;

		if (rv->with != p->id.address)
			continue;
		rv->with = 0;
		if (now - rv->at < ZT_QUEUE_TIMEOUT_MS && path_usable_for(c, p, &rv->addr) &&
		    (path = zt_path_get(c, rv->transport, rv->local, &rv->addr))) {
			char a[11], text[ZT_INETADDR_TEXT_MAX];

			zt_inetaddr_to_text(&rv->addr, text, sizeof text);
			struct zt_path via = { .transport = rv->transport, .local = rv->local };

			zt_logf(ZT_LOG_DEBUG, "rendezvous with %s at %s", addr_str(p->id.address, a), text);
			zt_vl1_contact(c, p, path, now);
			zt_natprobe_rendezvous(c, p, &rv->addr, &via, now);
		}
	}
	zt_send_queued(c, p, now);
	for (unsigned i = 0; i < ZT_QUEUE_LEN; i++) {
		if (c->rxq[i].at && c->rxq[i].address == p->id.address) {
			c->rxq[i].at = 0;
			zt_vl1_packet_in(c, c->rxq[i].pkt, c->rxq[i].len, c->rxq[i].path, now);
		}
	}
}

/* ---- path learning (§7.3) and external addresses (§7.9) ---- */

static bool path_usable_for(const struct zt_core *c, const struct zt_peer *p, const union zt_sockaddr *a)
{
	if (!zt_inetaddr_path_usable(a))
		return false;
	/* an upstream with stable endpoints is only ever reached at them */
	if (p->root && p->root->n_endpoints) {
		for (unsigned i = 0; i < p->root->n_endpoints; i++)
			if (zt_inetaddr_equal(&p->root->endpoints[i], a, true))
				return true;
		return false;
	}
	return true;
}

static void path_learn(struct zt_core *c, struct zt_peer *p, struct zt_path *path, bool is_ok, int64_t now)
{
	struct zt_peer_path *pp = zt_peer_path_find(p, path);

	if (pp) {
		pp->last_receive = now;
		return;
	}
	for (unsigned i = 0; i < p->n_paths; i++) {
		struct zt_path *o = p->paths[i].path;

		if (o->transport == path->transport && o->local == path->local &&
		    zt_inetaddr_equal(&o->addr, &path->addr, false) && zt_path_alive(o, now))
			return;
	}
	if (!path_usable_for(c, p, &path->addr))
		return;
	if (is_ok) {
		zt_peer_path_learn(c, p, path, now);
	} else if (now - path->last_confirm >= ZT_CONFIRM_LIMIT_MS) {
		path->last_confirm = now;
		/* an extra socket's mapping is the only way back through our NAT */
		if (zt_natprobe_owns(c, path))
			zt_vl1_hello_on(c, p, path, now);
		else
			zt_vl1_hello(c, p, &path->addr, now);
	}
}

static void surface_report(struct zt_core *c, struct zt_peer *reporter, const union zt_sockaddr *a, int64_t now)
{
	struct zt_surface *slot = NULL, *oldest = &c->surface[0];
	char was[ZT_INETADDR_TEXT_MAX], is[ZT_INETADDR_TEXT_MAX];

	if (!zt_inetaddr_path_usable(a))
		return;
	for (unsigned i = 0; i < 16; i++) {
		struct zt_surface *s = &c->surface[i];

		if (s->reporter == reporter->id.address && s->addr.sa.sa_family == a->sa.sa_family) {
			if (reporter->upstream && !zt_inetaddr_equal(&s->addr, a, false) && now - s->at < ZT_SURFACE_TTL_MS) {
				zt_inetaddr_to_text(&s->addr, was, sizeof was);
				zt_inetaddr_to_text(a, is, sizeof is);
				zt_logf(ZT_LOG_INFO, "external address changed from %s to %s", was, is);
			}
			slot = s;
			break;
		}
		if (!s->reporter && !slot)
			slot = s;
		if (s->at < oldest->at)
			oldest = s;
	}
	if (!slot)
		slot = oldest;
	if (!slot->reporter || !zt_inetaddr_equal(&slot->addr, a, true)) {
		zt_inetaddr_to_text(a, is, sizeof is);
		zt_logf(ZT_LOG_DEBUG, "external address %s (as seen by %s)", is, addr_str(reporter->id.address, was));
	}
	slot->reporter = reporter->id.address;
	slot->addr = *a;
	slot->at = now;
	zt_core_nat_classify(c);
}

/* ---- verbs ---- */

struct rx {
	struct zt_peer *peer;
	struct zt_path *path;
	uint8_t *pkt;
	size_t len;
	uint64_t id;          /* on-wire packet id */
	unsigned hops;
	uint8_t verb;
	uint8_t *pl;          /* payload, in pkt */
	size_t pl_len;
	int64_t now;
};

static void reply_ok_begin(struct zt_core *c, struct zt_wr *w, const struct rx *r)
{
	zt_pkt_begin(c, w, r->peer->id.address, ZT_VERB_OK);
	zt_ok_encode(w, r->verb, r->id);
}

/* Worlds newer than the sender's (same planet id, or moons it names),
 * serialized into c->worlds for OK(HELLO).  Returns their length. */
static size_t ok_hello_worlds(struct zt_core *c, const struct zt_hello *h)
{
	size_t len = 0;
	int n;

	if (h->has_planet && h->planet_id == c->planet.id && h->planet_ts < c->planet.ts &&
	    (n = zt_world_to_bin(&c->planet, c->worlds, sizeof c->worlds)) > 0)
		len += n;
	for (unsigned i = 0; i < h->n_moons; i++) {
		struct zt_moon_ref m;

		zt_hello_moon(h, i, &m);
		for (unsigned k = 0; k < c->n_moons; k++)
			if (m.type == ZT_WORLD_MOON && c->moons[k].id == m.id && c->moons[k].ts > m.ts &&
			    (n = zt_world_to_bin(&c->moons[k], c->worlds + len, sizeof c->worlds - len)) > 0)
				len += n;
	}
	return len;
}

static void peer_set_version(struct zt_peer *p, unsigned proto, unsigned major, unsigned minor, unsigned rev)
{
	char a[11];

	if (p->proto < 0)
		zt_logf(ZT_LOG_INFO, "peer %s: protocol %u, version %u.%u.%u", addr_str(p->id.address, a),
			proto, major, minor, rev);
	p->proto = proto;
	p->vmajor = major;
	p->vminor = minor;
	p->vrev = rev;
}

static void handle_hello(struct zt_core *c, struct rx *r, const struct zt_hello *h)
{
	struct zt_ok_hello okh = {
		.timestamp = h->timestamp, .proto = ZT_PROTO_VERSION, .major = VERSION_MAJOR,
		.minor = VERSION_MINOR, .revision = VERSION_REV, .has_addr = true, .addr = r->path->addr,
	};
	struct zt_hello hh = *h;
	const struct zt_peer_key *key = zt_peer_key(c, r->peer);
	struct zt_wr w;

	if (!key)
		return;
	if (zt_hello_crypt(key, r->pkt, r->len, ZT_HDR_PAYLOAD + h->tail_off) == 0 || !h->tail_len)
		zt_hello_decode_moons(&hh, r->pl);
	if (h->has_dest && h->dest.sa.sa_family != AF_UNSPEC && r->hops == 0 && !r->path->fallback)
		surface_report(c, r->peer, &h->dest, r->now);
	peer_set_version(r->peer, h->proto, h->major, h->minor, h->revision);
	okh.worlds_len = ok_hello_worlds(c, &hh);
	okh.worlds = c->worlds;
	okh.has_worlds = true;
	reply_ok_begin(c, &w, r);
	zt_ok_hello_encode(&w, &okh);
	zt_pkt_send(c, r->peer, &w, r->path, r->now);
}

static void world_offer(struct zt_core *c, struct zt_peer *from, const uint8_t *p, size_t len);

static void handle_ok(struct zt_core *c, struct rx *r)
{
	struct zt_ok ok;

	if (zt_ok_decode(&ok, r->pl, r->pl_len) < 0)
		return;
	switch (ok.in_re_verb) {
	case ZT_VERB_HELLO: {
		struct zt_ok_hello o;

		if (zt_ok_hello_decode(&o, ok.data, ok.len) < 0)
			return;
		if (r->hops == 0 && r->now >= (int64_t)o.timestamp) {
			unsigned sample = r->now - o.timestamp;
			struct zt_peer_path *pp = zt_peer_path_find(r->peer, r->path);

			r->peer->latency = r->peer->latency == ZT_LATENCY_UNKNOWN ? sample : (r->peer->latency + sample) / 2;
			zt_peer_latency_sample(r->peer, sample);
			if (pp)
				pp->latency = pp->latency == ZT_LATENCY_UNKNOWN ? sample : (pp->latency + sample) / 2;
		}
		peer_set_version(r->peer, o.proto, o.major, o.minor, o.revision);
		/* a relay's socket is not our external address, and taking
		 * it would reset every path each time UDP reports ours */
		if (o.has_addr && o.addr.sa.sa_family != AF_UNSPEC && r->hops == 0 && !r->path->fallback)
			surface_report(c, r->peer, &o.addr, r->now);
		if (o.has_worlds && o.worlds_len)
			world_offer(c, r->peer, o.worlds, o.worlds_len);
		break;
	}
	case ZT_VERB_WHOIS: {
		struct zt_ok_whois o;

		struct zt_peer *learned[8];
		unsigned n_learned = 0;

		if (!r->peer->upstream || zt_ok_whois_decode(&o, ok.data, ok.len) < 0)
			return;
		for (unsigned i = 0; i < o.count && n_learned < 8; i++) {
			struct zt_identity id;
			size_t idlen;
			const uint8_t *bin = zt_ok_whois_id(&o, i, &idlen);
			struct zt_peer *p;

			if (!bin || zt_identity_from_bin(&id, bin, idlen) < 0 || id.address == c->self.address)
				continue;
			p = zt_peer_find(c, id.address);
			if (!p && (p = zt_peer_add(c, &id))) {
				char a[11];

				zt_logf(ZT_LOG_DEBUG, "peer %s: identity from root", addr_str(id.address, a));
				zt_core_peer_learned(c, p);
				learned[n_learned++] = p;
			}
		}
		/* flushing may reuse the buffers the identities were read from */
		for (unsigned i = 0; i < n_learned; i++)
			queues_flush(c, learned[i], r->now);
		break;
	}
	case ZT_VERB_NETWORK_CONFIG_REQUEST:
	case ZT_VERB_MULTICAST_GATHER:
	case ZT_VERB_MULTICAST_FRAME: {
		struct zt_net_rx nr = { r->peer, r->path, r->verb, r->id, r->pl, r->pl_len, r->now };

		zt_network_ok(c, &nr, ok.in_re_verb, ok.data, ok.len);
		break;
	}
	case ZT_VERB_ECHO:
		if (ok.len == 8 && r->hops == 0) {
			uint64_t sent = 0;

			for (int i = 0; i < 8; i++)
				sent = sent << 8 | ok.data[i];
			if ((uint64_t)r->now >= sent && r->now - sent < 60000) {
				struct zt_peer_path *pp = zt_peer_path_find(r->peer, r->path);

				if (pp)
					pp->latency = r->now - sent;
				r->peer->latency = r->now - sent;
				zt_peer_latency_sample(r->peer, r->peer->latency);
			}
		}
		break;
	default:
		break;
	}
}

static void handle_whois(struct zt_core *c, struct rx *r)
{
	struct zt_whois q;
	struct zt_wr w;
	unsigned found = 0;

	if (!c->is_root && r->now - r->peer->last_whois_in < ZT_WHOIS_LIMIT_MS) {
		ZT_COUNT(c, rx_rate_limited);
		return;
	}
	r->peer->last_whois_in = r->now;
	if (zt_whois_decode(&q, r->pl, r->pl_len) < 0)
		return;
	reply_ok_begin(c, &w, r);
	for (unsigned i = 0; i < q.count; i++) {
		uint64_t a = zt_whois_addr(&q, i);
		const struct zt_identity *id = NULL;
		uint8_t bin[ZT_ID_BIN_PUB];
		struct zt_peer *p;

		if (a == c->self.address)
			id = &c->self;
		else if ((p = zt_peer_find(c, a)))
			id = &p->id;
		if (!id || w.len + ZT_ID_BIN_PUB > ZT_MTU_DEFAULT * 6)
			continue;
		zt_identity_to_bin(id, bin, false);
		zt_wr_bytes(&w, bin, sizeof bin);
		found++;
	}
	if (found)
		zt_pkt_send(c, r->peer, &w, r->path, r->now);
}

static void handle_rendezvous(struct zt_core *c, struct rx *r)
{
	struct zt_rendezvous rv;
	struct zt_peer *with;
	struct zt_path *path;
	char a[11], text[ZT_INETADDR_TEXT_MAX];

	if (!r->peer->upstream || zt_rendezvous_decode(&rv, r->pl, r->pl_len) < 0)
		return;
	if (zt_inetaddr_port(&rv.addr) == 0 || rv.with == c->self.address)
		return;
	with = zt_peer_find(c, rv.with);
	if (!with) {
		/* the relayed packet that made the root introduce us may still
		 * wait for this identity: act once it arrives */
		struct zt_pending_rv *slot = &c->pending_rv[0];

		for (unsigned i = 1; i < 8; i++)
			if (c->pending_rv[i].at < slot->at)
				slot = &c->pending_rv[i];
		*slot = (struct zt_pending_rv){ rv.with, rv.addr, r->path->transport, r->path->local, r->now };
		zt_logf(ZT_LOG_DEBUG, "rendezvous with %s: waiting for its identity", addr_str(rv.with, a));
		zt_whois_send(c, rv.with, r->now);
		return;
	}
	if (!path_usable_for(c, with, &rv.addr))
		return;
	path = zt_path_get(c, r->path->transport, r->path->local, &rv.addr);
	if (!path)
		return;
	zt_inetaddr_to_text(&rv.addr, text, sizeof text);
	zt_logf(ZT_LOG_DEBUG, "rendezvous with %s at %s", addr_str(rv.with, a), text);
	zt_vl1_contact(c, with, path, r->now);
	zt_natprobe_rendezvous(c, with, &rv.addr, r->path, r->now);
}

static void handle_echo(struct zt_core *c, struct rx *r)
{
	struct zt_wr w;

	if (r->now - r->path->last_echo < ZT_ECHO_LIMIT_MS) {
		ZT_COUNT(c, rx_rate_limited);
		return;
	}
	r->path->last_echo = r->now;
	reply_ok_begin(c, &w, r);
	zt_echo_encode(&w, r->pl, r->pl_len);
	zt_pkt_send(c, r->peer, &w, r->path, r->now);
}

static void handle_push_paths(struct zt_core *c, struct rx *r)
{
	struct zt_push_paths pp;
	struct zt_path_rec rec;
	size_t off = 0;
	unsigned tried[8][2] = { { 0 } };

	if (r->now - r->peer->push_window_start >= ZT_PUSH_WINDOW_MS) {
		r->peer->push_window_start = r->now;
		r->peer->push_count = 0;
	}
	if (++r->peer->push_count > ZT_PUSH_PER_WINDOW) {
		ZT_COUNT(c, rx_rate_limited);
		return;
	}
	if (zt_push_paths_decode(&pp, r->pl, r->pl_len) < 0)
		return;
	while (zt_push_paths_next(&pp, &off, &rec)) {
		struct zt_path *path;
		unsigned scope, fam;

		if ((rec.flags & ZT_PUSH_FORGET) || rec.addr.sa.sa_family == AF_UNSPEC ||
		    !path_usable_for(c, r->peer, &rec.addr))
			continue;
		scope = zt_inetaddr_scope(&rec.addr);
		fam = rec.addr.sa.sa_family == AF_INET6;
		if (tried[scope][fam]++ >= ZT_PUSH_MAX_PER_SCOPE)
			continue;
		path = zt_path_get(c, r->path->transport, r->path->local, &rec.addr);
		if (path && !zt_peer_path_find(r->peer, path))
			zt_vl1_contact(c, r->peer, path, r->now);
	}
}

static void handle_error(struct zt_core *c, struct rx *r)
{
	struct zt_error e;
	char a[11];

	if (zt_error_decode(&e, r->pl, r->pl_len) < 0)
		return;
	if (e.code < ZT_TRAFFIC_ERRORS)
		c->counters[ZT_C_rx_error + e.code]++;
	ZT_PEER_COUNT(r->peer, rx_errors);
	if (e.has_nwid) {
		struct zt_net_rx nr = { r->peer, r->path, r->verb, r->id, r->pl, r->pl_len, r->now };

		zt_network_error(c, &nr, &e);
		return;
	}
	if (e.code == ZT_ERR_IDENTITY_COLLISION && r->peer->upstream) {
		zt_logf(ZT_LOG_ERR, "root %s reports an identity collision: another node has address %s; "
			"stopping (remove identity.secret and identity.public from %s to make a new identity)",
			addr_str(r->peer->id.address, a), addr_str(c->self.address, a), c->home);
		ev_break(c->loop, EVBREAK_ALL);
	}
}

/* ---- the controller role (networks.md §3.7-§3.9) ---- */

int zt_vl1_netconf_reply(struct zt_core *c, void *opaque, const uint8_t *dict, size_t len)
{
	struct rx *r = opaque;
	uint64_t nwid = 0;

	for (int i = 0; i < 8; i++)
		nwid = nwid << 8 | r->pl[i];
	return zt_config_send(c, r->peer->id.address, r->verb, r->id, nwid, dict, len, r->now);
}

int zt_vl1_netconf_error(struct zt_core *c, void *opaque, unsigned code, uint64_t nwid)
{
	struct rx *r = opaque;

	return zt_vl1_error_send(c, r->peer, r->verb, r->id, code, nwid, r->now);
}

/* NETWORK_CONFIG_REQUEST: [8] nwid [2] L [L] metadata [8] revision [8] ts */
static void handle_netconf_request(struct zt_core *c, struct rx *r)
{
	struct zt_rd rd;
	struct zt_netconf_request rq = { .member = &r->peer->id, .opaque = r };
	size_t meta_len;

	zt_rd_init(&rd, r->pl, r->pl_len);
	rq.nwid = zt_rd_u64(&rd);
	meta_len = zt_rd_u16(&rd);
	rq.meta = zt_rd_ptr(&rd, meta_len);
	if (rd.err)
		return;
	rq.meta_len = meta_len;
	if (!c->ctl_ops) {
		zt_vl1_netconf_error(c, r, ZT_ERR_UNSUPPORTED_OPERATION, rq.nwid);
		return;
	}
	/* a controller serves only the networks whose id starts with its address */
	if (rq.nwid >> 24 != c->self.address)
		return;
	c->ctl_ops->request(c->ctl_state, &rq);
}

static bool dispatch(struct zt_core *c, struct rx *r);

/* A packet to ourselves (send.c's loopback): it takes the way of a
 * remote peer's, unsealed, from c->self_peer. */
void zt_vl1_loop_in(struct zt_core *c, uint8_t *pkt, size_t len, int64_t now)
{
	struct rx r = { .peer = &c->self_peer, .pkt = pkt, .len = len, .now = now,
			.verb = pkt[ZT_HDR_VERB] & ZT_VERB_MASK, .pl = pkt + ZT_HDR_PAYLOAD,
			.pl_len = len - ZT_HDR_PAYLOAD };

	for (int i = 0; i < 8; i++)
		r.id = r.id << 8 | pkt[ZT_HDR_ID + i];
	dispatch(c, &r);
}

/* Returns false for a packet that does not count as received (§4.4). */
static bool dispatch(struct zt_core *c, struct rx *r)
{
	switch (r->verb) {
	case ZT_VERB_OK: {
		struct zt_ok ok;

		if (zt_ok_decode(&ok, r->pl, r->pl_len) < 0 || !zt_send_expected(c, ok.in_re_id)) {
			ZT_COUNT(c, rx_unexpected_ok);
			return false;
		}
		handle_ok(c, r);
		return true;
	}
	case ZT_VERB_ERROR:
		handle_error(c, r);
		return true;
	case ZT_VERB_WHOIS:
		handle_whois(c, r);
		return true;
	case ZT_VERB_RENDEZVOUS:
		handle_rendezvous(c, r);
		return true;
	case ZT_VERB_ECHO:
		handle_echo(c, r);
		return true;
	case ZT_VERB_PUSH_DIRECT_PATHS:
		handle_push_paths(c, r);
		return true;
	case ZT_VERB_NETWORK_CONFIG_REQUEST:
		handle_netconf_request(c, r);
		return true;
	case ZT_VERB_FRAME:
	case ZT_VERB_EXT_FRAME:
	case ZT_VERB_MULTICAST_LIKE:
	case ZT_VERB_NETWORK_CREDENTIALS:
	case ZT_VERB_NETWORK_CONFIG:
	case ZT_VERB_MULTICAST_GATHER:
	case ZT_VERB_MULTICAST_FRAME: {
		struct zt_net_rx nr = { r->peer, r->path, r->verb, r->id, r->pl, r->pl_len, r->now };

		zt_network_verb(c, &nr);
		return true;
	}
	case ZT_VERB_USER_MESSAGE: {
		struct zt_user_msg m;
		char a[11];

		if (zt_user_msg_decode(&m, r->pl, r->pl_len) < 0)
			return true;
		if (m.type == ZT_NATMSG_TYPE)
			zt_natprobe_msg_in(c, r->peer, m.data, m.len, r->now);
		else
			zt_logf(ZT_LOG_DEBUG, "user message type %llu, %zu bytes, from %s",
				(unsigned long long)m.type, m.len, addr_str(r->peer->id.address, a));
		return true;
	}
	default:
		/* NOP, network verbs (not handled yet), multipath: counted, ignored */
		return true;
	}
}

/* ---- receiving ---- */

static bool validate_allowed(struct zt_core *c, const union zt_sockaddr *a, int64_t now)
{
	uint64_t h = 0;
	const uint8_t *p;
	size_t n;

	if (a->sa.sa_family == AF_INET6) {
		p = (const uint8_t *)&a->in6.sin6_addr;
		n = 6;   /* first 48 bits */
	} else {
		p = (const uint8_t *)&a->in4.sin_addr;
		n = 3;   /* /24 */
	}
	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	h &= 16383;
	if (c->validate_limit[h] && now - c->validate_limit[h] < ZT_VALIDATE_LIMIT_MS)
		return false;
	c->validate_limit[h] = now;
	return true;
}

/* A suite-0 HELLO from an address we do not know yet: the identity it
 * carries must authenticate it and pass the proof of work. */
static struct zt_peer *hello_new_peer(struct zt_core *c, uint8_t *pkt, size_t len, uint64_t src,
				      struct zt_path *path, int64_t now)
{
	struct zt_hello h;
	struct zt_identity id;
	struct zt_peer_key key = { 0 };   /* K only: suite 0 needs no AES */
	struct zt_peer *p;
	char a[11];

	if (zt_hello_decode(&h, pkt + ZT_HDR_PAYLOAD, len - ZT_HDR_PAYLOAD) < 0 || h.proto < ZT_PROTO_MIN ||
	    zt_identity_from_bin(&id, h.id, h.id_len) < 0 || id.address != src) {
		ZT_COUNT(c, rx_bad_hello);
		return NULL;
	}
	if (zt_key_agree(&c->self, id.pub, key.k) < 0) {
		ZT_COUNT(c, rx_bad_hello);
		return NULL;
	}
	if (zt_dearmor(&key, pkt, len) < 0) {
		sodium_memzero(&key, sizeof key);
		ZT_COUNT(c, rx_mac_fail);
		return NULL;
	}
	sodium_memzero(&key, sizeof key);
	if (!validate_allowed(c, &path->addr, now)) {
		ZT_COUNT(c, rx_rate_limited);
		return NULL;
	}
	if (!zt_identity_validate(&id)) {
		ZT_COUNT(c, rx_bad_hello);
		return NULL;
	}
	p = zt_peer_add(c, &id);
	if (p) {
		zt_logf(ZT_LOG_INFO, "peer %s: new", addr_str(src, a));
		zt_core_peer_learned(c, p);
	}
	return p;
}

static void packet_accept(struct zt_core *c, struct rx *r, bool authenticated_hello);

/* Process one whole packet addressed to us. */
void zt_vl1_packet_in(struct zt_core *c, uint8_t *pkt, size_t len, struct zt_path *path, int64_t now)
{
	struct zt_hdr h;
	struct rx r = { .path = path, .pkt = pkt, .len = len, .now = now };
	const struct zt_peer_key *key;
	bool authenticated_hello = false;

	if (zt_hdr_read(&h, pkt, len) < 0) {
		ZT_COUNT(c, rx_bad_packet);
		return;
	}
	r.id = h.id;
	r.hops = zt_flags_hops(h.flags);
	r.peer = zt_peer_find(c, h.src);
	if (!r.peer) {
		if (zt_flags_cipher(h.flags) == ZT_SUITE_POLY1305_NONE && (h.verb & ZT_VERB_MASK) == ZT_VERB_HELLO) {
			r.peer = hello_new_peer(c, pkt, len, h.src, path, now);
			if (!r.peer)
				return;
			authenticated_hello = true;
		} else {
			ZT_COUNT(c, rx_unknown_source);
			rxq_add(c, h.src, pkt, len, path, now);
			return;
		}
	}
	ZT_TRACE("dearmor", len);
	if (!authenticated_hello && (!(key = zt_peer_key(c, r.peer)) || zt_dearmor(key, pkt, len) < 0)) {
		ZT_COUNT(c, rx_mac_fail);
		return;
	}
	ZT_TRACE("dearmored", len);
	packet_accept(c, &r, authenticated_hello);
}

/* A packet a worker has dearmored and left to the main loop. */
void zt_vl1_accept(struct zt_core *c, uint8_t *pkt, size_t len, struct zt_path *path, int64_t now)
{
	struct zt_hdr h;
	struct rx r = { .path = path, .pkt = pkt, .len = len, .now = now };

	if (zt_hdr_read(&h, pkt, len) < 0 || !(r.peer = zt_peer_find(c, h.src)))
		return;   /* forgotten meanwhile */
	r.id = h.id;
	r.hops = zt_flags_hops(h.flags);
	packet_accept(c, &r, false);
}

/* An authenticated packet: decompressed, dispatched, and its peer and
 * path marked alive. */
static void packet_accept(struct zt_core *c, struct rx *r, bool authenticated_hello)
{
	uint8_t *pkt = r->pkt;
	size_t len = r->len;
	int64_t now = r->now;

	if (pkt[ZT_HDR_VERB] & ZT_VERB_COMPRESSED) {
		int n = zt_packet_decompress(pkt, len, c->dec, sizeof c->dec);

		if (n < 0) {
			ZT_COUNT(c, rx_decompress_fail);
			return;
		}
		pkt = c->dec;
		len = n;
		r->pkt = pkt;
		r->len = len;
	}
	r->verb = pkt[ZT_HDR_VERB] & ZT_VERB_MASK;
	r->pl = pkt + ZT_HDR_PAYLOAD;
	r->pl_len = len - ZT_HDR_PAYLOAD;
	ZT_COUNT(c, rx_packets);
	c->counters[ZT_C_rx_verb + r->verb]++;
	ZT_PEER_COUNT(r->peer, rx);
	if (r->verb == ZT_VERB_HELLO) {
		struct zt_hello hello;

		if (zt_hello_decode(&hello, r->pl, r->pl_len) < 0 || hello.proto < ZT_PROTO_MIN) {
			ZT_COUNT(c, rx_bad_hello);
			return;
		}
		handle_hello(c, r, &hello);
	} else {
		/* a path an OK confirms is learned first, so that the OK's
		 * latency sample lands on it */
		if (r->verb == ZT_VERB_OK && r->hops == 0)
			path_learn(c, r->peer, r->path, true, now);
		if (!dispatch(c, r))
			return;
	}
	r->peer->last_receive = now;
	if (authenticated_hello)
		queues_flush(c, r->peer, now);
	if (r->peer->upstream) {
		bool first = !c->last_upstream_receive;

		c->last_upstream_receive = now;
		if (first)
			zt_networks_online(c, now);
	}
	if (r->hops == 0 && r->verb != ZT_VERB_OK)
		path_learn(c, r->peer, r->path, false, now);
}

/* ---- relaying (§3.7, §7.7) ---- */

static bool rendezvous_due(struct zt_core *c, uint64_t a, uint64_t b, int64_t now)
{
	uint64_t pair = a < b ? a << 24 ^ b : b << 24 ^ a;
	size_t slot = (size_t)((pair * 0x9e3779b97f4a7c15ULL) >> 54);

	if (c->rendezvous[slot].pair == pair && now - c->rendezvous[slot].at < ZT_RENDEZVOUS_MS)
		return false;
	c->rendezvous[slot].pair = pair;
	c->rendezvous[slot].at = now;
	return true;
}

static void rendezvous_send(struct zt_core *c, struct zt_peer *to, struct zt_peer_path *via,
			    struct zt_peer *with, const struct zt_path *at, int64_t now)
{
	struct zt_rendezvous rv = { .with = with->id.address, .addr = at->addr };
	struct zt_wr w;

	zt_pkt_begin(c, &w, to->id.address, ZT_VERB_RENDEZVOUS);
	zt_rendezvous_encode(&w, &rv);
	if (zt_pkt_send(c, to, &w, via->path, now) == 0)
		ZT_COUNT(c, rendezvous_sent);
}

/* Introduce x and y in the best scope and family both have a path in. */
static void introduce(struct zt_core *c, struct zt_peer *x, struct zt_peer *y, int64_t now)
{
	static const int families[] = { AF_INET6, AF_INET };

	for (int scope = ZT_SCOPE_PRIVATE; scope >= 0; scope--)
		for (int f = 0; f < 2; f++) {
			struct zt_peer_path *px = zt_peer_best_in(x, now, scope, families[f]);
			struct zt_peer_path *py = zt_peer_best_in(y, now, scope, families[f]);

			if (!px || !py)
				continue;
			if (randombytes_uniform(2)) {
				rendezvous_send(c, x, px, y, py->path, now);
				rendezvous_send(c, y, py, x, px->path, now);
			} else {
				rendezvous_send(c, y, py, x, px->path, now);
				rendezvous_send(c, x, px, y, py->path, now);
			}
			return;
		}
}

static void relay(struct zt_core *c, uint8_t *data, size_t len, bool fragment, uint64_t dest,
		  uint64_t src, int64_t now)
{
	struct zt_peer *to, *from;
	struct zt_peer_path *pp;

	if (!c->is_root) {
		/* leaves relay only on trusted paths, which come with networks */
		ZT_COUNT(c, relay_dropped);
		return;
	}
	if ((fragment ? zt_frag_hops_inc(data, len) : zt_head_hops_inc(data, len)) < 0) {
		ZT_COUNT(c, relay_dropped);
		return;
	}
	to = zt_peer_find(c, dest);
	if (to && (pp = zt_peer_best_path(to, now, false))) {
		if (zt_dgram_send(c, pp->path, data, len, now))
			ZT_COUNT(c, relayed);
		if (!fragment && (from = zt_peer_find(c, src)) && rendezvous_due(c, src, dest, now))
			introduce(c, from, to, now);
		return;
	}
	/* another root may know it: forward to our best upstream */
	to = zt_best_upstream(c, now);
	if (to && to->id.address != src && (pp = zt_peer_best_path(to, now, false))) {
		if (zt_dgram_send(c, pp->path, data, len, now))
			ZT_COUNT(c, relayed);
		return;
	}
	ZT_COUNT(c, relay_dropped);
	if (!to && !fragment)
		zt_whois_send(c, dest, now);
}

void zt_vl1_dgram_in(struct zt_core *c, unsigned t, struct zt_dgram *d, int64_t now)
{
	uint8_t *p = d->data;
	size_t len = d->len;
	enum zt_dgram_kind kind = zt_dgram_classify(p, len);
	struct zt_path *path;
	uint64_t dest;
	uint8_t *whole;
	int n;

	ZT_COUNT(c, rx_datagrams);
	if (kind == ZT_DGRAM_JUNK) {
		ZT_COUNT(c, rx_junk);
		return;
	}
	if (zt_lan_dgram_in(c, d, kind, now))
		return;
	if (d->peer.sa.sa_family != AF_INET && d->peer.sa.sa_family != AF_INET6)
		return;
	path = zt_path_get(c, t, d->local, &d->peer);
	if (!path)
		return;
	path->last_in = now;
	dest = zt_address_read(p + ZT_HDR_DEST);
	if (kind == ZT_DGRAM_FRAGMENT) {
		if (dest != c->self.address) {
			relay(c, p, len, true, dest, 0, now);
			return;
		}
	} else {
		uint64_t src = zt_address_read(p + ZT_HDR_SRC);

		if (src == c->self.address) {
			ZT_COUNT(c, rx_own_source);
			return;
		}
		if (dest != c->self.address) {
			relay(c, p, len, false, dest, src, now);
			return;
		}
		if (kind == ZT_DGRAM_PACKET) {
			zt_vl1_packet_in(c, p, len, path, now);
			return;
		}
	}
	n = zt_reasm_take(c->reasm, p, len, now, c->buf, sizeof c->buf, &whole);
	if (n < 0)
		ZT_COUNT(c, rx_bad_fragment);
	else if (n > 0)
		zt_vl1_packet_in(c, whole, n, path, now);
}

void zt_lane_count_rx(struct zt_lane *l, unsigned t, const struct zt_dgram *d, unsigned n)
{
	if (t >= ZT_MAX_TRANSPORTS)
		return;
	for (unsigned i = 0; i < n; i++)
		l->counters[ZT_C_rx_bytes + t] += d[i].len;
}

/* ---- worlds arriving in OK(HELLO) (§6.3) ---- */


static void world_offer(struct zt_core *c, struct zt_peer *from, const uint8_t *p, size_t len)
{
	struct zt_world w;
	int n;

	while (len > 0 && (n = zt_world_from_bin(&w, p, len)) > 0) {
		bool from_seed = false;

		for (unsigned i = 0; i < c->n_seeds; i++)
			if (c->seeds[i].id == w.id && c->seeds[i].seed == from->id.address)
				from_seed = true;
		if (from->upstream || from_seed)
			zt_core_world_install(c, &w);
		p += n;
		len -= n;
	}
}
