/* PUSH_DIRECT_PATHS sending (wire.md §4.8, §7.8 point 3): a peer with
 * which trust is established (a member's frame from it in the last
 * 600 s) gets the addresses it could reach us at, every 120 s while it
 * has a direct path and every 15 s while it has none (1.14's
 * ZT_DIRECT_PATH_PUSH_INTERVAL and _HAVEPATH).  It tries each one
 * (vl1.c, handle_push_paths) and learns those that answer. */
#include "config.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>

#include <zt/nat.h>

#include "core.h"
#include "network.h"

#define PUSH_DIRECT_MS 120000      /* the peer has a direct path */
#define PUSH_RELAYED_MS 15000      /* it has none: sooner */
#define PUSH_PACKET_BYTES 1200     /* records per packet, as 1.14 fills them */
#define PUSH_MAX_ADDRS 64

static bool push_add(union zt_sockaddr *out, size_t *n, size_t max, const union zt_sockaddr *a)
{
	for (size_t i = 0; i < *n; i++)
		if (zt_inetaddr_equal(&out[i], a, true))
			return false;
	if (*n >= max)
		return false;
	out[(*n)++] = *a;
	return true;
}

/* a lies in a subnet the node has on a virtual network: no ZeroTier
 * over ZeroTier (§7.3) */
static bool push_on_network(const struct zt_core *c, const union zt_sockaddr *a)
{
	for (unsigned i = 0; i < c->n_nets; i++) {
		const struct zt_netconf *cfg = c->nets[i]->cfg;

		for (unsigned j = 0; cfg && j < cfg->nips; j++) {
			const union zt_sockaddr *ip = &cfg->ips[j];
			unsigned bits = zt_inetaddr_port(ip), len = a->sa.sa_family == AF_INET6 ? 16 : 4;
			const uint8_t *x = a->sa.sa_family == AF_INET6 ? a->in6.sin6_addr.s6_addr :
					   (const uint8_t *)&a->in4.sin_addr;
			const uint8_t *y = ip->sa.sa_family == AF_INET6 ? ip->in6.sin6_addr.s6_addr :
					   (const uint8_t *)&ip->in4.sin_addr;
			unsigned k;

			if (ip->sa.sa_family != a->sa.sa_family || bits > len * 8)
				continue;
			for (k = 0; k < bits && ((x[k / 8] ^ y[k / 8]) & (0x80 >> k % 8)) == 0; k++)
				;
			if (k == bits)
				return true;
		}
	}
	return false;
}

static bool push_wildcard(const union zt_sockaddr *a)
{
	return a->sa.sa_family == AF_INET ? a->in4.sin_addr.s_addr == htonl(INADDR_ANY) :
	       IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr);
}

static void push_candidate(const struct zt_core *c, union zt_sockaddr *out, size_t *n, size_t max,
			   const union zt_sockaddr *a)
{
	if (zt_inetaddr_path_usable(a) && !push_on_network(c, a))
		push_add(out, n, max, a);
}

/* Each transport's local sockets; a socket bound to the wildcard stands
 * for every address of its family on the host's interfaces, with its
 * port. */
static void push_locals(struct zt_core *c, union zt_sockaddr *out, size_t *n, size_t max)
{
	struct ifaddrs *ifs = NULL;
	bool listed = false;

	for (unsigned t = 0; t < c->n_transports; t++) {
		const struct zt_transport_ref *tr = &c->transports[t];
		union zt_sockaddr locals[16];
		size_t nl;

		if (tr->fallback || !tr->ops || !tr->ops->locals)
			continue;
		nl = tr->ops->locals(tr->state, locals, 16);
		for (size_t l = 0; l < nl && l < 16; l++) {
			const union zt_sockaddr *s = &locals[l];

			if (s->sa.sa_family != AF_INET && s->sa.sa_family != AF_INET6)
				continue;
			if (!push_wildcard(s)) {
				push_candidate(c, out, n, max, s);
				continue;
			}
			if (!listed && getifaddrs(&ifs) < 0)
				ifs = NULL;
			listed = true;
			for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
				union zt_sockaddr a;

				if (!i->ifa_addr || i->ifa_addr->sa_family != s->sa.sa_family ||
				    !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
					continue;
				memset(&a, 0, sizeof a);
				if (s->sa.sa_family == AF_INET) {
					a.in4 = *(const struct sockaddr_in *)i->ifa_addr;
					a.in4.sin_port = s->in4.sin_port;
				} else {
					a.in6 = *(const struct sockaddr_in6 *)i->ifa_addr;
					a.in6.sin6_port = s->in6.sin6_port;
					a.in6.sin6_scope_id = 0;
				}
				push_candidate(c, out, n, max, &a);
			}
		}
	}
	if (ifs)
		freeifaddrs(ifs);
}

size_t zt_push_candidates(struct zt_core *c, union zt_sockaddr *out, size_t max, int64_t now)
{
	size_t n = 0;

	push_locals(c, out, &n, max);
	/* our addresses as peers see them (§7.9), fresh ones */
	for (unsigned i = 0; i < sizeof c->surface / sizeof c->surface[0]; i++)
		if (c->surface[i].reporter && now - c->surface[i].at < ZT_SURFACE_TTL_MS)
			push_candidate(c, out, &n, max, &c->surface[i].addr);
	/* the external addresses NAT helpers (zt-nat(7)) mapped on the gateway */
	union zt_sockaddr mapped[ZT_NAT_MAX];
	size_t nm = zt_core_external_addrs(c, mapped, ZT_NAT_MAX);

	for (size_t i = 0; i < nm; i++)
		push_candidate(c, out, &n, max, &mapped[i]);
	return n;
}

static bool push_has_direct(const struct zt_peer *p, int64_t now)
{
	for (unsigned i = 0; i < p->n_paths; i++)
		if (!zt_peer_path_expired(&p->paths[i], now) && zt_path_alive(p->paths[i].path, now))
			return true;
	return false;
}

/* All the candidates to p, in packets of about 1200 bytes. */
static void push_send(struct zt_core *c, struct zt_peer *p, const union zt_sockaddr *addrs, size_t n,
		      int64_t now)
{
	uint8_t pl[PUSH_PACKET_BYTES + 32];
	size_t i = 0;

	while (i < n) {
		struct zt_wr w;
		int took;

		zt_wr_init(&w, pl, sizeof pl);
		took = zt_push_paths_encode(&w, addrs + i, n - i, PUSH_PACKET_BYTES);
		if (took <= 0)
			return;
		if (zt_vl1_send(c, p->id.address, ZT_VERB_PUSH_DIRECT_PATHS, pl, w.len, now) == 0)
			ZT_COUNT(c, paths_pushed);
		i += (size_t)took;
	}
}

void zt_push_paths_tick(struct zt_core *c, int64_t now)
{
	union zt_sockaddr addrs[PUSH_MAX_ADDRS];
	size_t n = 0;
	bool gathered = false;

	/* trust comes with frames: the busy list holds every trusted peer */
	for (struct zt_peer *p = c->busy; p; p = p->busy_next) {
		int64_t every;
		int64_t trust = ZT_LOAD(p->last_trust);   /* workers write it */

		if (p->upstream || !trust || now - trust >= ZT_TRUST_MS)
			continue;
		every = push_has_direct(p, now) ? PUSH_DIRECT_MS : PUSH_RELAYED_MS;
		if (p->last_push && now - p->last_push < every)
			continue;
		if (!gathered) {
			n = zt_push_candidates(c, addrs, PUSH_MAX_ADDRS, now);
			gathered = true;
		}
		p->last_push = now;
		if (n)
			push_send(c, p, addrs, n, now);
	}
}
