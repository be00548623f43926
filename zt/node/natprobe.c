/* Crossing one symmetric NAT (zt-nat(7), beyond the reference): when a
 * root introduces two peers (RENDEZVOUS), each tells the other its NAT
 * type in a zt user message ("ztNAT" + 1, relayed like any packet; the
 * reference ignores it).  If one side is behind an endpoint-dependent
 * (symmetric) NAT and the other is not:
 *
 *  - the symmetric side opens NP_SOCKETS extra sockets on its transport
 *    and sends an ECHO from each to the other's external address (as
 *    the root saw it), so its NAT makes that many mappings towards it,
 *    then says so ("spraying");
 *  - the other side then sends ECHOs to the symmetric side's external
 *    IP at up to NP_PROBES ports, rate-limited: first around the port
 *    the root saw, then at random.  With 256 mappings among ~64000
 *    ports, 2048 random probes find one with a chance of about 99.97 %
 *    (birthday-style).  A probe that hits reaches an extra socket; its
 *    answers give both sides a direct path, learned as any other.
 *
 * The addresses probed are always those the root reported in its
 * RENDEZVOUS, never those a message claims, so a peer cannot aim our
 * probes elsewhere.  One spray and one probe run at a time; a peer
 * tried without success waits NP_RETRY_MS (longer each time).  The
 * extra socket a direct path goes through stays open while the path
 * lives; the others close when the run ends. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include <zt/nat.h>

#include "core.h"
#include "send.h"

#define NP_SOCKETS 256           /* extra sockets the symmetric side opens */
#define NP_MIN_SOCKETS 16        /* fewer: not worth probing for */
#define NP_PROBES 2048           /* ECHOs the other side sends at most */
#define NP_NEAR 32               /* probes on each side of the root's port first */
#define NP_TICK_MS 50            /* probes go out in bursts ... */
#define NP_BURST 16              /* ... of this many: 320 a second */
#define NP_SPRAY_MS 20000        /* extra sockets wait this long for a hit */
#define NP_RESPRAY_MS 5000       /* their mappings refreshed this often */
#define NP_PROBE_WAIT_MS 3000    /* answers awaited after the last probe */
#define NP_RETRY_MS 60000        /* a failed peer waits, times its failures */
#define NP_RETRY_MAX_MS 600000
#define NP_MSG_MS 5000           /* NAT messages to one peer, at most */
#define NP_RV_MS 60000           /* a rendezvous this old still counts */
#define NP_PEERS 16
#define NP_KEPT 8                /* extra sockets kept for direct paths */

enum np_state { NP_IDLE = 0, NP_SPRAYING, NP_PROBING, NP_DIRECT, NP_BOTH_SYMMETRIC, NP_FAILED };

static const char *const np_state_names[] = {
	[NP_IDLE] = "idle",
	[NP_SPRAYING] = "spraying",
	[NP_PROBING] = "probing",
	[NP_DIRECT] = "direct",
	[NP_BOTH_SYMMETRIC] = "both symmetric: relayed",
	[NP_FAILED] = "failed: relayed",
};

/* What we know of one peer introduced to us. */
struct np_peer {
	uint64_t address;            /* 0: free */
	enum np_state state;
	enum zt_natmsg_nat their_nat;
	union zt_sockaddr rv_addr;   /* where the root sees the peer */
	unsigned transport;          /* our socket towards the root */
	uint32_t local;
	int64_t rv_at, msg_sent, started, retry_at;
	unsigned failures;
};

struct np_sock {
	uint64_t peer;               /* kept for this peer's direct path */
	unsigned transport;
	uint32_t local;
};

struct zt_natprobe {
	struct zt_core *core;
	ev_timer timer;
	struct np_peer peers[NP_PEERS];
	/* the spray run: extra sockets towards one peer */
	uint64_t spray_peer;         /* 0: none */
	unsigned spray_transport;
	uint32_t spray_local[NP_SOCKETS];
	unsigned n_spray;
	int64_t spray_start, spray_sent;
	/* the probe run: ECHOs to one peer's external IP */
	uint64_t probe_peer;         /* 0: none */
	unsigned probe_sent;
	int64_t probe_last;
	struct np_sock kept[NP_KEPT];
};

static const char *np_addr(uint64_t address, char out[11])
{
	zt_address_fmt(address, out);
	return out;
}

static enum zt_natmsg_nat np_local_nat(const struct zt_core *c)
{
	const char *t = zt_core_nat_type(c);

	if (strcmp(t, "none") == 0)
		return ZT_NATMSG_NONE;
	if (strcmp(t, "endpoint-independent") == 0)
		return ZT_NATMSG_INDEPENDENT;
	if (strcmp(t, "endpoint-dependent") == 0)
		return ZT_NATMSG_DEPENDENT;
	return ZT_NATMSG_UNKNOWN;
}

static bool np_easy(enum zt_natmsg_nat n)
{
	return n == ZT_NATMSG_NONE || n == ZT_NATMSG_INDEPENDENT;
}

static struct np_peer *np_find(struct zt_natprobe *np, uint64_t address)
{
	for (unsigned i = 0; i < NP_PEERS; i++)
		if (np->peers[i].address == address)
			return &np->peers[i];
	return NULL;
}

/* The peer's entry, made if needed in a free one or the oldest not in
 * a run. */
static struct np_peer *np_entry(struct zt_natprobe *np, uint64_t address)
{
	struct np_peer *e = np_find(np, address), *old = NULL;

	if (e)
		return e;
	for (unsigned i = 0; i < NP_PEERS; i++) {
		struct np_peer *x = &np->peers[i];

		if (x->address == np->spray_peer && x->address)
			continue;
		if (x->address == np->probe_peer && x->address)
			continue;
		if (!x->address || !old || x->rv_at < old->rv_at)
			old = x;
		if (!x->address)
			break;
	}
	if (!old)
		return NULL;
	*old = (struct np_peer){ .address = address };
	return old;
}

static bool np_direct(struct zt_core *c, uint64_t address, int64_t now)
{
	struct zt_peer *p = zt_peer_find(c, address);

	return p && zt_peer_beside_fallback(p, now);
}

/* ---- the message ---- */

static void np_msg_send(struct zt_core *c, struct zt_peer *p, uint8_t flags, uint16_t sockets, int64_t now)
{
	struct zt_natmsg m = { .nat = np_local_nat(c), .flags = flags, .sockets = sockets };
	struct zt_natprobe *np = c->natprobe;
	struct np_peer *e = np_find(np, p->id.address);
	struct zt_wr w;

	m.external.sa.sa_family = AF_UNSPEC;
	for (unsigned i = 0; i < 16; i++)
		if (c->surface[i].reporter && now - c->surface[i].at < ZT_SURFACE_TTL_MS &&
		    (!e || c->surface[i].addr.sa.sa_family == e->rv_addr.sa.sa_family)) {
			m.external = c->surface[i].addr;
			break;
		}
	zt_pkt_begin(c, &w, p->id.address, ZT_VERB_USER_MESSAGE);
	if (zt_natmsg_encode(&w, &m) < 0 || zt_pkt_send(c, p, &w, NULL, now) < 0)
		return;
	ZT_COUNT(c, natprobe_msgs_out);
	if (e)
		e->msg_sent = now;
}

/* ---- runs ---- */

static void np_timer_arm(struct zt_natprobe *np)
{
	struct zt_core *c = np->core;
	double every = np->spray_peer || np->probe_peer ? NP_TICK_MS / 1000.0 : 1.0;
	bool kept = false;

	for (unsigned i = 0; i < NP_KEPT; i++)
		kept |= np->kept[i].peer != 0;
	if (!np->spray_peer && !np->probe_peer && !kept) {
		ev_timer_stop(c->loop, &np->timer);
		return;
	}
	if (ev_is_active(&np->timer) && np->timer.repeat == every)
		return;
	ev_timer_stop(c->loop, &np->timer);
	ev_timer_set(&np->timer, every, every);
	ev_timer_start(c->loop, &np->timer);
}

static void np_fail(struct zt_core *c, struct np_peer *e, int64_t now, const char *why)
{
	char a[11];
	int64_t wait;

	e->state = NP_FAILED;
	e->failures++;
	wait = (int64_t)NP_RETRY_MS * e->failures;
	e->retry_at = now + (wait < NP_RETRY_MAX_MS ? wait : NP_RETRY_MAX_MS);
	ZT_COUNT(c, natprobe_failed);
	zt_logf(ZT_LOG_INFO, "nat-probe: no direct path to %s: %s; relayed, next try in %lld s",
		np_addr(e->address, a), why, (long long)((e->retry_at - now) / 1000));
}

static void np_succeed(struct zt_core *c, struct np_peer *e, int64_t now, const char *how)
{
	struct zt_peer *p = zt_peer_find(c, e->address);
	struct zt_path *path = p ? zt_peer_beside_fallback(p, now) : NULL;
	char a[11], text[ZT_INETADDR_TEXT_MAX] = "?";

	e->state = NP_DIRECT;
	e->failures = 0;
	ZT_COUNT(c, natprobe_direct);
	if (path)
		zt_inetaddr_to_text(&path->addr, text, sizeof text);
	zt_logf(ZT_LOG_INFO, "nat-probe: direct path to %s at %s, %lld ms after the rendezvous (%s)",
		np_addr(e->address, a), text, (long long)(now - e->rv_at), how);
}

/* A live path of s's peer goes through extra socket s. */
static bool np_sock_used(struct zt_core *c, const struct np_sock *s, int64_t now)
{
	struct zt_peer *p = zt_peer_find(c, s->peer);

	for (unsigned i = 0; p && i < p->n_paths; i++)
		if (p->paths[i].path->transport == s->transport && p->paths[i].path->local == s->local &&
		    !zt_peer_path_expired(&p->paths[i], now))
			return true;
	return false;
}

/* Keep s open; false if NP_KEPT sockets already are. */
static bool np_keep(struct zt_natprobe *np, const struct np_sock *s)
{
	for (unsigned k = 0; k < NP_KEPT; k++)
		if (!np->kept[k].peer) {
			np->kept[k] = *s;
			return true;
		}
	return false;
}

/* Keep the extra sockets a path of the peer goes through; close the rest. */
static void np_spray_end(struct zt_core *c, int64_t now)
{
	struct zt_natprobe *np = c->natprobe;
	struct zt_transport_ref *tr = &c->transports[np->spray_transport];

	for (unsigned i = 0; i < np->n_spray; i++) {
		struct np_sock s = { np->spray_peer, np->spray_transport, np->spray_local[i] };

		if (np_sock_used(c, &s, now) && np_keep(np, &s))
			continue;
		if (tr->ops && tr->ops->extra_close)
			tr->ops->extra_close(tr->state, s.local);
	}
	np->n_spray = 0;
	np->spray_peer = 0;
}

/* An ECHO to p at addr from every extra socket: each makes (or keeps) a
 * mapping of our NAT towards it. */
static void np_spray_send(struct zt_core *c, struct zt_peer *p, const union zt_sockaddr *addr, int64_t now)
{
	struct zt_natprobe *np = c->natprobe;

	for (unsigned i = 0; i < np->n_spray; i++)
		zt_vl1_echo_from(c, p, np->spray_transport, np->spray_local[i], addr, now);
	c->counters[ZT_C_natprobe_sprayed] += np->n_spray;
	np->spray_sent = now;
}

static void np_spray_start(struct zt_core *c, struct np_peer *e, struct zt_peer *p, int64_t now)
{
	struct zt_natprobe *np = c->natprobe;
	struct zt_transport_ref *tr = &c->transports[e->transport];
	char a[11];
	int err = 0;

	if (!tr->ops || !tr->ops->extra_open || !tr->ops->extra_close) {
		np_fail(c, e, now, "its transport cannot open extra sockets");
		return;
	}
	np->spray_peer = e->address;
	np->spray_transport = e->transport;
	np->n_spray = 0;
	while (np->n_spray < NP_SOCKETS) {
		int local = tr->ops->extra_open(tr->state, e->local);

		if (local < 0) {
			err = local;
			break;
		}
		np->spray_local[np->n_spray++] = (uint32_t)local;
	}
	if (np->n_spray < NP_MIN_SOCKETS) {
		np_spray_end(c, now);
		zt_logf(ZT_LOG_WARN, "nat-probe: cannot open extra sockets: %s", strerror(-err));
		np_fail(c, e, now, "too few extra sockets");
		return;
	}
	e->state = NP_SPRAYING;
	e->started = now;
	np->spray_start = now;
	np_spray_send(c, p, &e->rv_addr, now);
	zt_logf(ZT_LOG_INFO, "nat-probe: %s is behind a cone NAT, we are behind a symmetric one: "
		"%u extra sockets send to it", np_addr(e->address, a), np->n_spray);
	np_msg_send(c, p, ZT_NATMSG_SPRAYING, (uint16_t)np->n_spray, now);
	np_timer_arm(np);
}

static void np_probe_start(struct zt_core *c, struct np_peer *e, int64_t now)
{
	struct zt_natprobe *np = c->natprobe;
	char a[11], text[ZT_INETADDR_TEXT_MAX];

	np->probe_peer = e->address;
	np->probe_sent = 0;
	np->probe_last = now;
	e->state = NP_PROBING;
	e->started = now;
	zt_inetaddr_to_text(&e->rv_addr, text, sizeof text);
	zt_logf(ZT_LOG_INFO, "nat-probe: %s is behind a symmetric NAT, we are not: probing %s at up to %u ports",
		np_addr(e->address, a), text, NP_PROBES);
	np_timer_arm(np);
}

/* The port of probe number k: around the root's port first (a NAT that
 * hands out ports in sequence), then anywhere above 1023. */
static uint16_t np_probe_port(uint16_t base, unsigned k)
{
	if (k < 2 * NP_NEAR) {
		int port = (int)base + (int)(k / 2 + 1) * (k % 2 ? -1 : 1);

		if (port >= 1024 && port <= 65535)
			return (uint16_t)port;
	}
	return (uint16_t)(1024 + randombytes_uniform(65536 - 1024));
}

static void np_probe_tick(struct zt_core *c, int64_t now)
{
	struct zt_natprobe *np = c->natprobe;
	struct np_peer *e = np_find(np, np->probe_peer);
	struct zt_peer *p = zt_peer_find(c, np->probe_peer);

	if (!e || !p) {   /* the peer was forgotten meanwhile */
		np->probe_peer = 0;
		if (e)
			e->state = NP_IDLE;
		return;
	}
	if (np_direct(c, e->address, now)) {
		char how[48];

		snprintf(how, sizeof how, "%u probes", np->probe_sent);
		np->probe_peer = 0;
		np_succeed(c, e, now, how);
		return;
	}
	if (np->probe_sent >= NP_PROBES) {
		if (now - np->probe_last >= NP_PROBE_WAIT_MS) {
			np->probe_peer = 0;
			np_fail(c, e, now, "no probe answered");
		}
		return;
	}
	for (unsigned i = 0; i < NP_BURST && np->probe_sent < NP_PROBES; i++) {
		union zt_sockaddr to = e->rv_addr;
		uint16_t port = np_probe_port(zt_inetaddr_port(&e->rv_addr), np->probe_sent++);

		if (to.sa.sa_family == AF_INET)
			to.in4.sin_port = htons(port);
		else
			to.in6.sin6_port = htons(port);
		zt_vl1_echo_from(c, p, e->transport, e->local, &to, now);
		ZT_COUNT(c, natprobe_probes);
	}
	np->probe_last = now;
}

static void np_spray_tick(struct zt_core *c, int64_t now)
{
	struct zt_natprobe *np = c->natprobe;
	struct np_peer *e = np_find(np, np->spray_peer);
	struct zt_peer *p = zt_peer_find(c, np->spray_peer);

	if (!e || !p) {
		np_spray_end(c, now);
		if (e)
			e->state = NP_IDLE;
		return;
	}
	if (np_direct(c, e->address, now)) {
		char how[48];

		snprintf(how, sizeof how, "%u extra sockets", np->n_spray);
		np_spray_end(c, now);
		np_succeed(c, e, now, how);
		return;
	}
	if (now - np->spray_start >= NP_SPRAY_MS) {
		np_spray_end(c, now);
		np_fail(c, e, now, "no probe reached an extra socket");
		return;
	}
	if (now - np->spray_sent >= NP_RESPRAY_MS)
		np_spray_send(c, p, &e->rv_addr, now);
}

/* Kept sockets close once their peer's path through them is gone. */
static void np_kept_tick(struct zt_core *c, int64_t now)
{
	struct zt_natprobe *np = c->natprobe;

	for (unsigned k = 0; k < NP_KEPT; k++) {
		struct np_sock *s = &np->kept[k];

		if (!s->peer || np_sock_used(c, s, now))
			continue;
		if (c->transports[s->transport].ops && c->transports[s->transport].ops->extra_close)
			c->transports[s->transport].ops->extra_close(c->transports[s->transport].state, s->local);
		s->peer = 0;
	}
}

static void np_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct zt_natprobe *np = w->data;
	struct zt_core *c = np->core;
	int64_t now = zt_core_now(c);

	(void)loop, (void)revents;
	if (np->probe_peer)
		np_probe_tick(c, now);
	if (np->spray_peer)
		np_spray_tick(c, now);
	np_kept_tick(c, now);
	np_timer_arm(np);
}

/* What to do once both NAT types are known. */
static void np_decide(struct zt_core *c, struct np_peer *e, struct zt_peer *p, uint8_t flags, int64_t now)
{
	struct zt_natprobe *np = c->natprobe;
	enum zt_natmsg_nat ours = np_local_nat(c);

	if (np_direct(c, e->address, now)) {
		if (e->state != NP_SPRAYING && e->state != NP_PROBING)
			e->state = NP_DIRECT;
		return;
	}
	if (ours == ZT_NATMSG_DEPENDENT && e->their_nat == ZT_NATMSG_DEPENDENT) {
		char a[11];

		if (e->state != NP_BOTH_SYMMETRIC)
			zt_logf(ZT_LOG_INFO, "nat-probe: %s and we are both behind symmetric NATs: "
				"relayed (a NAT helper on one side would help, zt-nat(7))", np_addr(e->address, a));
		e->state = NP_BOTH_SYMMETRIC;
		return;
	}
	if (e->state == NP_SPRAYING || e->state == NP_PROBING || now < e->retry_at ||
	    !e->rv_at || now - e->rv_at > NP_RV_MS)
		return;
	if (ours == ZT_NATMSG_DEPENDENT && np_easy(e->their_nat) && !np->spray_peer)
		np_spray_start(c, e, p, now);
	else if (np_easy(ours) && e->their_nat == ZT_NATMSG_DEPENDENT && (flags & ZT_NATMSG_SPRAYING) &&
		 !np->probe_peer)
		np_probe_start(c, e, now);
}

/* ---- the node's calls ---- */

int zt_natprobe_new(struct zt_core *c)
{
	struct zt_natprobe *np = calloc(1, sizeof *np);

	if (!np)
		return -ENOMEM;
	np->core = c;
	ev_timer_init(&np->timer, np_tick, 1.0, 1.0);
	np->timer.data = np;
	c->natprobe = np;
	return 0;
}

void zt_natprobe_stop(struct zt_core *c)
{
	struct zt_natprobe *np = c->natprobe;

	if (!np)
		return;
	ev_timer_stop(c->loop, &np->timer);
	np_spray_end(c, zt_core_now(c));
	for (unsigned k = 0; k < NP_KEPT; k++) {
		struct np_sock *s = &np->kept[k];
		struct zt_transport_ref *tr = &c->transports[s->transport];

		if (s->peer && tr->ops && tr->ops->extra_close)
			tr->ops->extra_close(tr->state, s->local);
		s->peer = 0;
	}
	np->probe_peer = 0;
}

void zt_natprobe_free(struct zt_core *c)
{
	free(c->natprobe);
	c->natprobe = NULL;
}

void zt_natprobe_transport_gone(struct zt_core *c, unsigned t)
{
	struct zt_natprobe *np = c->natprobe;

	if (!np)
		return;
	if (np->spray_peer && np->spray_transport == t) {
		np->n_spray = 0;   /* the transport closes its sockets as it stops */
		np_spray_end(c, zt_core_now(c));
	}
	for (unsigned k = 0; k < NP_KEPT; k++)
		if (np->kept[k].transport == t)
			np->kept[k].peer = 0;
	for (unsigned i = 0; i < NP_PEERS; i++)
		if (np->peers[i].address && np->peers[i].transport == t) {
			if (np->peers[i].address == np->probe_peer)
				np->probe_peer = 0;
			np->peers[i] = (struct np_peer){ 0 };
		}
}

void zt_natprobe_rendezvous(struct zt_core *c, struct zt_peer *with, const union zt_sockaddr *addr,
			    const struct zt_path *via, int64_t now)
{
	struct zt_natprobe *np = c->natprobe;
	struct np_peer *e;

	if (!np || !(e = np_entry(np, with->id.address)))
		return;
	if (e->state == NP_SPRAYING || e->state == NP_PROBING)
		return;   /* the run goes on where it started */
	e->rv_addr = *addr;
	e->transport = via->transport;
	e->local = via->local;
	e->rv_at = now;
	if (np_local_nat(c) == ZT_NATMSG_UNKNOWN || now - e->msg_sent < NP_MSG_MS)
		return;
	np_msg_send(c, with, 0, 0, now);
	if (e->their_nat != ZT_NATMSG_UNKNOWN)
		np_decide(c, e, with, 0, now);
}

void zt_natprobe_msg_in(struct zt_core *c, struct zt_peer *from, const uint8_t *data, size_t len, int64_t now)
{
	struct zt_natprobe *np = c->natprobe;
	struct zt_natmsg m;
	struct np_peer *e;

	if (zt_natmsg_decode(&m, data, len) < 0) {
		ZT_COUNT(c, natprobe_msgs_bad);
		return;
	}
	ZT_COUNT(c, natprobe_msgs_in);
	if (!np || !(e = np_entry(np, from->id.address)))
		return;
	e->their_nat = m.nat;
	if (np_local_nat(c) == ZT_NATMSG_UNKNOWN)
		return;
	if (now - e->msg_sent >= NP_MSG_MS)
		np_msg_send(c, from, 0, 0, now);
	np_decide(c, e, from, m.flags, now);
}

bool zt_natprobe_owns(const struct zt_core *c, const struct zt_path *path)
{
	const struct zt_natprobe *np = c->natprobe;

	if (!np)
		return false;
	for (unsigned i = 0; np->spray_peer && i < np->n_spray; i++)
		if (np->spray_transport == path->transport && np->spray_local[i] == path->local)
			return true;
	for (unsigned k = 0; k < NP_KEPT; k++)
		if (np->kept[k].peer && np->kept[k].transport == path->transport && np->kept[k].local == path->local)
			return true;
	return false;
}

const char *zt_core_nat_probe(const struct zt_core *c, uint64_t peer)
{
	const struct zt_natprobe *np = c->natprobe;
	int64_t now = zt_core_now(c);

	if (!np)
		return "off";
	if (!peer) {
		if (np->spray_peer && np->probe_peer)
			return "spraying, probing";
		return np->spray_peer ? "spraying" : np->probe_peer ? "probing" : "idle";
	}
	for (unsigned i = 0; i < NP_PEERS; i++) {
		const struct np_peer *e = &np->peers[i];
		struct zt_peer *p;

		if (e->address != peer)
			continue;
		p = zt_peer_find(c, peer);
		/* a direct path found since, by any means, or lost again */
		if ((e->state == NP_BOTH_SYMMETRIC || e->state == NP_FAILED) && p && zt_peer_beside_fallback(p, now))
			return np_state_names[NP_DIRECT];
		if (e->state == NP_DIRECT && !(p && zt_peer_beside_fallback(p, now)))
			return np_state_names[NP_IDLE];
		return np_state_names[e->state];
	}
	return np_state_names[NP_IDLE];
}
