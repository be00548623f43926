/* LAN beacons, the node's side (zt-lan(7)).  The lan transport module
 * decides where and when beacons go; the kernel makes them (they are
 * signed: modules never see keys) and answers those it receives, on any
 * transport: a beacon is a datagram to the node's port.
 *
 * The reference's 13-byte beacon from a peer we know gets a full HELLO
 * to where it came from, at most every 2.5 s (1.14 answers with a NOP at
 * that rate, wire.md §7.10; a HELLO gets us the path one round trip
 * sooner).  zt's beacon carries the sender's identity: once the
 * signature verifies and the identity passes the checks a HELLO's
 * passes (proof of work, one new identity per source prefix per 2 s),
 * the sender becomes a peer and gets a HELLO, so two nodes that never
 * met talk with no root at all.  Refusals are counted and logged, one
 * line per 10 s at most. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <zt/beacon.h>

#include "core.h"
#include "network.h"

#define LAN_ANSWER_MS 2500       /* wire.md §7.10: beacon answers */
#define LAN_LOG_MS 10000         /* refusals logged at most this often */
#define LAN_MEET_MS 120000       /* senders met on ping checks for as long */

static const char *lan_addr(uint64_t address, char out[11])
{
	zt_address_fmt(address, out);
	return out;
}

/* Count a refused beacon; log it unless one was logged in the last 10 s. */
static void lan_refuse(struct zt_core *c, const struct zt_dgram *d, const char *what, int64_t now)
{
	struct zt_lan_state *s = &c->lan;
	char from[ZT_SOCKADDR_STRLEN];

	ZT_COUNT(c, beacons_refused);
	if (s->log_at && now - s->log_at < LAN_LOG_MS) {
		s->log_skipped++;
		return;
	}
	zt_logf(ZT_LOG_WARN, "lan beacon from %s refused: %s (%u more refused before, unlogged)",
		zt_sockaddr_fmt(&d->peer, from, sizeof from), what, s->log_skipped);
	s->log_at = now;
	s->log_skipped = 0;
}

/* The entry of a sender (its address) in one family, made if missing
 * (the oldest goes): a node's IPv4 and IPv6 beacons of one round are
 * looked at each. */
static struct zt_lan_seen *lan_seen(struct zt_core *c, uint64_t address, const union zt_sockaddr *from)
{
	struct zt_lan_seen *oldest = &c->lan.seen[0];

	address |= (uint64_t)(from->sa.sa_family == AF_INET6) << 40;

	for (unsigned i = 0; i < ZT_LAN_SEEN; i++) {
		struct zt_lan_seen *e = &c->lan.seen[i];

		if (e->address == address)
			return e;
		if (e->checked < oldest->checked)
			oldest = e;
	}
	memset(oldest, 0, sizeof *oldest);
	oldest->address = address;
	return oldest;
}

/* One new identity per source prefix (IPv4 /24, IPv6 /48) per 2 s, as
 * for HELLOs (wire.md §7.10), in a table of the beacons' own. */
static bool lan_validate_allowed(struct zt_core *c, const union zt_sockaddr *a, int64_t now)
{
	const uint8_t *p = a->sa.sa_family == AF_INET6 ? (const uint8_t *)&a->in6.sin6_addr :
			   (const uint8_t *)&a->in4.sin_addr;
	size_t n = a->sa.sa_family == AF_INET6 ? 6 : 3;
	uint64_t h = 0;

	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	h %= ZT_LAN_PREFIXES;
	if (c->lan.validate[h] && now - c->lan.validate[h] < ZT_VALIDATE_LIMIT_MS)
		return false;
	c->lan.validate[h] = now;
	return true;
}

/* A direct path to p at this IP is alive already: nothing to do. */
static bool lan_reached(const struct zt_peer *p, const union zt_sockaddr *a, int64_t now)
{
	for (unsigned i = 0; i < p->n_paths; i++)
		if (zt_inetaddr_equal(&p->paths[i].path->addr, a, false) && zt_path_alive(p->paths[i].path, now))
			return true;
	return false;
}

/* A beacon's sender gets a full HELLO where the beacon came from; once
 * it answered (a direct path is alive), the networks introduce us to it
 * as roots and controllers would have. */
static void lan_hello(struct zt_core *c, struct zt_peer *p, const struct zt_dgram *d, int64_t now)
{
	if (!lan_reached(p, &d->peer, now)) {
		zt_vl1_hello(c, p, &d->peer, now);
		return;
	}
	for (unsigned i = 0; i < c->n_nets; i++)
		zt_network_meet(c->nets[i], p, now);
}

static void lan_legacy_in(struct zt_core *c, const struct zt_dgram *d, int64_t now)
{
	uint64_t address = zt_address_read(d->data + 8);
	struct zt_peer *p;

	if (address == c->self.address)
		return;   /* our own, looped back */
	p = zt_peer_find(c, address);
	if (!p || p->upstream)
		return;   /* the reference answers known peers only, and so do we */
	if (c->lan.legacy_at && now - c->lan.legacy_at < LAN_ANSWER_MS) {
		ZT_COUNT(c, beacons_limited);
		return;
	}
	c->lan.legacy_at = now;
	ZT_COUNT(c, beacons_in);
	lan_hello(c, p, d, now);
}

/* An unknown sender: rate-limited, then the signature, then the proof of
 * work (the dearest, last), then a peer. */
static struct zt_peer *lan_new_peer(struct zt_core *c, const struct zt_dgram *d, const struct zt_beacon *b,
				    int64_t now)
{
	struct zt_peer *p;
	char a[11];

	if (!lan_validate_allowed(c, &d->peer, now)) {
		ZT_COUNT(c, beacons_limited);
		return NULL;
	}
	if (!zt_beacon_verify(b, d->data)) {
		lan_refuse(c, d, "wrong signature", now);
		return NULL;
	}
	if (!zt_identity_validate(&b->id)) {
		lan_refuse(c, d, "identity fails validation (forged)", now);
		return NULL;
	}
	p = zt_peer_add(c, &b->id);
	if (!p)
		return NULL;
	zt_logf(ZT_LOG_INFO, "peer %s: new, from a lan beacon", lan_addr(p->id.address, a));
	zt_core_peer_learned(c, p);
	return p;
}

static void lan_beacon_in(struct zt_core *c, const struct zt_dgram *d, int64_t now)
{
	struct zt_beacon b;
	struct zt_lan_seen *e;
	struct zt_peer *p;
	const char *why;
	char msg[96], a[11];

	if (zt_beacon_decode(&b, d->data, d->len, &why) < 0) {
		lan_refuse(c, d, why, now);
		return;
	}
	if (b.id.address == c->self.address)
		return;   /* our own, looped back */
	if (!zt_inetaddr_path_usable(&d->peer)) {
		lan_refuse(c, d, "source address not usable for a path", now);
		return;
	}
	p = zt_peer_find(c, b.id.address);
	if (p && !zt_identity_equal(&p->id, &b.id)) {
		snprintf(msg, sizeof msg, "identity differs from the one known for %s (forged)",
			 lan_addr(b.id.address, a));
		lan_refuse(c, d, msg, now);
		return;
	}
	if (p && p->upstream)
		return;   /* roots are reached at their stable endpoints */
	/* one beacon per sender per 2.5 s is looked at, before any
	 * signature is checked: floods cost little */
	e = lan_seen(c, b.id.address, &d->peer);
	if (e->checked && now - e->checked < LAN_ANSWER_MS) {
		ZT_COUNT(c, beacons_limited);
		return;
	}
	e->checked = now;
	if (p && !zt_beacon_verify(&b, d->data)) {
		lan_refuse(c, d, "wrong signature", now);
		return;
	}
	if (!p && !(p = lan_new_peer(c, d, &b, now)))
		return;
	e = lan_seen(c, b.id.address, &d->peer);
	if (e->timestamp && b.timestamp <= e->timestamp) {
		lan_refuse(c, d, "replayed (not newer than the last one)", now);
		return;
	}
	e->timestamp = b.timestamp;
	ZT_COUNT(c, beacons_in);
	lan_hello(c, p, d, now);
}

/* On every ping check, senders of beacons of the last 2 minutes with a
 * live path meet our networks now, not at their next beacon (the
 * interval may be long): a ping goes through seconds after two nodes
 * met, whatever the interval. */
void zt_lan_tick(struct zt_core *c, int64_t now)
{
	for (unsigned i = 0; i < ZT_LAN_SEEN; i++) {
		const struct zt_lan_seen *e = &c->lan.seen[i];
		struct zt_peer *p;
		bool alive = false;

		if (!e->address || now - e->checked > LAN_MEET_MS ||
		    !(p = zt_peer_find(c, e->address & 0xffffffffffULL)) || p->upstream)
			continue;
		for (unsigned j = 0; j < p->n_paths && !alive; j++)
			alive = zt_path_alive(p->paths[j].path, now);
		for (unsigned j = 0; alive && j < c->n_nets; j++)
			zt_network_meet(c->nets[j], p, now);
	}
}

bool zt_lan_dgram_in(struct zt_core *c, const struct zt_dgram *d, enum zt_dgram_kind kind, int64_t now)
{
	if (d->peer.sa.sa_family != AF_INET && d->peer.sa.sa_family != AF_INET6)
		return kind == ZT_DGRAM_BEACON;
	if (kind == ZT_DGRAM_BEACON) {
		lan_legacy_in(c, d, now);
		return true;
	}
	if (kind == ZT_DGRAM_FRAGMENT && zt_beacon_is(d->data, d->len)) {
		lan_beacon_in(c, d, now);
		return true;
	}
	return false;
}

int zt_transport_beacon(struct zt_inst *zi, bool legacy, uint8_t *out, size_t cap)
{
	struct zt_core *c = zt_inst_core(zi);

	if (!c)
		return -ENOTCONN;
	if (legacy) {
		if (cap < ZT_BEACON_LEGACY_LEN)
			return -ENOSPC;
		zt_beacon_legacy_encode(c->self.address, out);
		return ZT_BEACON_LEGACY_LEN;
	}
	return zt_beacon_encode(&c->self, zt_core_now(c), out, cap);
}

uint64_t zt_inst_node_address(const struct zt_inst *zi)
{
	const struct zt_core *c = zt_inst_core(zi);

	return c ? c->self.address : 0;
}
