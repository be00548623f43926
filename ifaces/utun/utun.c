/* utun: a network's port as a layer-3 device (a Linux tun, IFF_TUN) that
 * carries bare IP packets, while the network carries Ethernet frames.
 * The module stands where a host's kernel stands on a TAP port: each IP
 * packet the host sends gets an Ethernet header whose destination MAC
 * comes from a neighbour table (learned from ARP and NDP answers and from
 * the frames that arrive), or is computed for another member's rfc4193 or
 * 6PLANE address; for an unknown one it asks the network (an ARP request
 * or a neighbour solicitation) and holds the packet a while.  Frames from
 * the network are unwrapped into the device; ARP requests and neighbour
 * solicitations for the port's own addresses are answered on the network
 * side, as the host would answer on a TAP.  Addresses and routes are set
 * through rtnetlink (iflink), as on a TAP.  With offloads, the device
 * carries a virtio_net_hdr before each packet, as tap's does: the host
 * hands over TCP super-packets and packets whose checksum is left to us,
 * cut and filled in here, and TCP segments from the network are merged
 * for the host (GRO); the code is tap's (ifaces/lib/offload.c), on the
 * packet with its Ethernet header in front.  The device itself is the
 * platform's part (utun-os.h).  See zt-utun(7). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <libmnl/libmnl.h>

#include <zt/module.h>
#include <zt/netconf.h>

#include "../lib/iflink.h"
#include "../lib/neigh.h"
#include "../lib/offload.h"
#include "utun-os.h"

#define UTUN_ETH_HLEN NEIGH_ETH_HLEN
/* Room for one packet of the largest MTU, after the Ethernet header it
 * gets in place. */
#define UTUN_SLOT (UTUN_ETH_HLEN + IFLINK_MTU_MAX)
/* With offloads: a super-packet of 64 KB after its Ethernet header, and a
 * byte more that tells one too long. */
#define UTUN_GBUF_SIZE (UTUN_ETH_HLEN + OFFLOAD_GSO_IPMAX + 1)
/* Packets held while their next hop is asked for, how long at most, and
 * how often the question is repeated. */
#define UTUN_PENDING 64
#define UTUN_PENDING_S 3.0
#define UTUN_ASK_EVERY_S 1.0
/* Frames for the network made while handling the network's frames (ARP
 * replies, neighbour advertisements), sent before the loop next waits. */
#define UTUN_OUTBOX 32
/* The IPv4 and IPv6 groups the host joined, per device. */
#define UTUN_IGMP_PATH "/proc/net/igmp"
#define UTUN_IGMP6_PATH "/proc/net/igmp6"

/* A packet waiting for the MAC of its next hop. */
struct utun_pending {
	uint8_t family;          /* 0: free */
	uint8_t hop[16];
	uint8_t src[16];         /* the packet's source: the question's */
	double since, asked;
	uint8_t *frame;          /* Ethernet header room, then the packet */
	size_t len;              /* the whole frame */
};

struct utun {
	struct zt_inst *zi;
	struct ev_loop *loop;
	char name[IFNAMSIZ];     /* as configured; empty: the kernel names it */
	unsigned batch;
	double neigh_ttl;
	bool opt_offload;        /* the option */
	bool offload;            /* the device carries vnet headers */
	bool opt_gro;            /* the option */
	bool gro_on;             /* with offloads: TCP segments merged */
	bool started;
	int fd;
	uint64_t nwid;           /* the network's, learned in configure() */

	struct iflink link;      /* the device, its settings, what we set */
	struct neigh_table neigh;

	ev_io io;
	uint8_t *buf;            /* batch slots of UTUN_SLOT bytes */
	struct zt_frame *frames;
	uint8_t *gbuf;           /* with offloads: UTUN_GBUF_SIZE, a super-packet */
	struct offload_gro gro;  /* with GRO: the frame being merged */

	struct utun_pending pending[UTUN_PENDING];
	unsigned n_pending;
	bool learned;            /* something new since the pending were looked at */
	ev_timer ptimer;

	uint8_t outbox[UTUN_OUTBOX][NEIGH_FRAME_MAX];
	struct zt_frame outbox_frames[UTUN_OUTBOX];
	unsigned n_outbox;
	ev_prepare prep;

	/* The MACs of the host's multicast groups, sorted, as last reported. */
	double mcast_every;
	ev_timer mtimer;
	struct iflink_set mcast;    /* 6-byte MACs */
	struct iflink_set mcast_new;
	bool mcast_failed;

	/* rx: from the host to the network; tx: from the network to the host */
	uint64_t *rx_packets, *rx_bytes, *rx_bad, *rx_oversize, *rx_errors, *rx_no_mac;
	uint64_t *rx_held, *rx_unresolved;
	uint64_t *tx_short, *tx_oversize, *tx_not_ip, *tx_not_ours;
	struct offload_tx_counts txc; /* tx_packets, tx_bytes, tx_dropped, tx_errors, gro_* */
	uint64_t *neigh_asked, *neigh_answered, *neigh_learned, *neigh_bad;
	uint64_t *tso_frames, *tso_segments, *csum_fixed, *offload_dropped;
};

static const uint8_t utun_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static double utun_now(struct utun *p)
{
	return p->loop ? ev_now(p->loop) : 0.;
}

static size_t utun_alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

static bool utun_has_mac(const struct utun *p)
{
	static const uint8_t zero[6];

	return memcmp(p->link.mac, zero, 6) != 0;
}

/* Whether ip lies in prefix/len of the same family. */
static bool utun_in_prefix(int family, const uint8_t *ip, const uint8_t *net, unsigned prefix)
{
	uint8_t a[16], b[16];
	unsigned bits = (unsigned)utun_alen(family) * 8;

	memcpy(a, ip, bits / 8);
	memcpy(b, net, bits / 8);
	iflink_mask(a, bits, prefix);
	iflink_mask(b, bits, prefix);
	return memcmp(a, b, bits / 8) == 0;
}

static const struct iflink_addr *utun_addr(const struct utun *p, unsigned i)
{
	return (const struct iflink_addr *)p->link.want_addrs.v + i;
}

/* One of the port's own addresses. */
static bool utun_is_own(const struct utun *p, int family, const uint8_t *ip)
{
	for (unsigned i = 0; i < p->link.want_addrs.n; i++) {
		const struct iflink_addr *a = utun_addr(p, i);

		if (a->family == family && memcmp(a->ip, ip, utun_alen(family)) == 0)
			return true;
	}
	return false;
}

/* The next hop of a unicast destination, as the kernel chose the device
 * for it: the longest prefix that covers it, of an own address or a
 * route without gateway (on the link: the destination itself), or of a
 * route through a gateway (the gateway).  IPv6 link-local is on the
 * link.  False if nothing covers it. */
static bool utun_next_hop(const struct utun *p, int family, const uint8_t *dst, uint8_t hop[16])
{
	const struct iflink_route *r = p->link.want_routes.v;
	const uint8_t *via = dst;
	int best = -1;

	if (family == AF_INET6 && dst[0] == 0xfe && (dst[1] & 0xc0) == 0x80)
		best = 10;
	for (unsigned i = 0; i < p->link.want_addrs.n; i++) {
		const struct iflink_addr *a = utun_addr(p, i);

		if (a->family == family && (int)a->prefix > best && utun_in_prefix(family, dst, a->ip, a->prefix)) {
			best = a->prefix;
			via = dst;
		}
	}
	for (unsigned i = 0; i < p->link.want_routes.n; i++)
		if (r[i].family == family && (int)r[i].prefix > best &&
		    utun_in_prefix(family, dst, r[i].dst, r[i].prefix)) {
			best = r[i].prefix;
			via = r[i].has_gw ? r[i].gw : dst;
		}
	if (best < 0)
		return false;
	memcpy(hop, via, utun_alen(family));
	return true;
}

/* Whether a packet's source is on the link (its MAC is the frame's). */
static bool utun_on_link(const struct utun *p, int family, const uint8_t *ip)
{
	uint8_t hop[16];

	return utun_next_hop(p, family, ip, hop) && memcmp(hop, ip, utun_alen(family)) == 0;
}

/* IPv4 limited broadcast, or the directed broadcast of an own prefix
 * (its host bits all ones). */
static bool utun_is_bcast4(const struct utun *p, const uint8_t *ip)
{
	static const uint8_t all[4] = { 255, 255, 255, 255 };

	if (memcmp(ip, all, 4) == 0)
		return true;
	for (unsigned i = 0; i < p->link.want_addrs.n; i++) {
		const struct iflink_addr *a = utun_addr(p, i);
		bool ones = true;

		if (a->family != AF_INET || a->prefix >= 31 || !utun_in_prefix(AF_INET, ip, a->ip, a->prefix))
			continue;
		for (unsigned k = 0; k < 4; k++) {
			unsigned net = a->prefix >= 8 * (k + 1) ? 8 : a->prefix <= 8 * k ? 0 : a->prefix - 8 * k;
			uint8_t net_mask = (uint8_t)(0xff00u >> net);

			ones = ones && (ip[k] | net_mask) == 0xff;
		}
		if (ones)
			return true;
	}
	return false;
}

/* ---- the neighbour table and the questions to the network ---- */

/* The MAC of a unicast next hop: another member's rfc4193 or 6PLANE
 * address names it, else the table does while fresh. */
static bool utun_resolve(struct utun *p, int family, const uint8_t *hop, uint8_t mac[6])
{
	const struct neigh_entry *e;
	uint64_t peer;

	if (family == AF_INET6 && p->nwid) {
		for (unsigned i = 0; i < p->link.want_addrs.n; i++) {
			const struct iflink_addr *a = utun_addr(p, i);

			if (a->family == AF_INET6 && zt_ip6_ndp_peer(p->nwid, a->ip, a->prefix, hop, &peer) == 0 &&
			    peer) {
				zt_mac_from_address(p->nwid, peer, mac);
				return true;
			}
		}
	}
	e = neigh_lookup(&p->neigh, family, hop);
	if (!e || utun_now(p) - e->seen > p->neigh_ttl)
		return false;
	memcpy(mac, e->mac, 6);
	return true;
}

static void utun_learn(struct utun *p, int family, const uint8_t *ip, const uint8_t mac[6])
{
	static const uint8_t zero[16];

	if (memcmp(ip, zero, utun_alen(family)) == 0 || (mac[0] & 1) || utun_is_own(p, family, ip))
		return;
	if (neigh_learn(&p->neigh, family, ip, mac, utun_now(p)))
		(*p->neigh_learned)++;
	p->learned = true;
}

/* A frame for the network made while the network's frames are handled,
 * sent before the loop waits; the outbox full, it is lost (counted). */
static uint8_t *utun_outbox_slot(struct utun *p)
{
	if (p->n_outbox == UTUN_OUTBOX) {
		(*p->txc.dropped)++;
		return NULL;
	}
	return p->outbox[p->n_outbox];
}

static void utun_outbox_put(struct utun *p, size_t len)
{
	p->outbox_frames[p->n_outbox].data = p->outbox[p->n_outbox];
	p->outbox_frames[p->n_outbox].len = len;
	p->n_outbox++;
	(*p->neigh_answered)++;
}

/* Our source for a question about hop: the packet's, if one of ours,
 * else an own address of the family (IPv4: any, for ARP). */
static const uint8_t *utun_ask_source(const struct utun *p, int family, const uint8_t *src)
{
	if (utun_is_own(p, family, src))
		return src;
	for (unsigned i = 0; i < p->link.want_addrs.n; i++)
		if (utun_addr(p, i)->family == family)
			return utun_addr(p, i)->ip;
	return src;
}

/* Asks the network for the MAC of hop: an ARP request or a neighbour
 * solicitation. */
static void utun_ask(struct utun *p, int family, const uint8_t *hop, const uint8_t *src)
{
	static const uint8_t zero[6];
	uint8_t frame[NEIGH_FRAME_MAX];
	struct zt_frame f = { frame, 0 };
	const uint8_t *from = utun_ask_source(p, family, src);

	if (family == AF_INET)
		f.len = neigh_arp_build(frame, 1, p->link.mac, from, zero, hop);
	else
		f.len = neigh_ns_build(frame, p->link.mac, from, hop);
	(*p->neigh_asked)++;
	zt_iface_rx(p->zi, &f, 1);
}

/* ---- packets waiting for their next hop ---- */

static void utun_pending_free(struct utun *p, struct utun_pending *q)
{
	free(q->frame);
	q->frame = NULL;
	q->family = 0;
	p->n_pending--;
	if (!p->n_pending && p->loop)
		ev_timer_stop(p->loop, &p->ptimer);
}

/* Asks for hop unless it was asked for within UTUN_ASK_EVERY_S; marks
 * every packet waiting for it asked now. */
static void utun_ask_once(struct utun *p, int family, const uint8_t *hop, const uint8_t *src)
{
	double now = utun_now(p), last = -1e9;

	for (unsigned i = 0; i < UTUN_PENDING; i++) {
		struct utun_pending *q = &p->pending[i];

		if (q->family == family && memcmp(q->hop, hop, utun_alen(family)) == 0 && q->asked > last)
			last = q->asked;
	}
	if (now - last < UTUN_ASK_EVERY_S)
		return;
	for (unsigned i = 0; i < UTUN_PENDING; i++) {
		struct utun_pending *q = &p->pending[i];

		if (q->family == family && memcmp(q->hop, hop, utun_alen(family)) == 0)
			q->asked = now;
	}
	utun_ask(p, family, hop, src);
}

/* Holds the frame (len bytes, its header still to fill) until hop is
 * known, and asks for it. */
static void utun_hold(struct utun *p, int family, const uint8_t *hop, const uint8_t *src,
		      const uint8_t *frame, size_t len)
{
	struct utun_pending *q = NULL;

	for (unsigned i = 0; i < UTUN_PENDING && !q; i++)
		if (!p->pending[i].family)
			q = &p->pending[i];
	if (q && (q->frame = malloc(len))) {
		memcpy(q->frame, frame, len);
		q->len = len;
		q->family = (uint8_t)family;
		memcpy(q->hop, hop, utun_alen(family));
		memcpy(q->src, src, utun_alen(family));
		q->since = utun_now(p);
		q->asked = -1e9;
		p->n_pending++;
		(*p->rx_held)++;
		if (!ev_is_active(&p->ptimer))
			ev_timer_again(p->loop, &p->ptimer);
	} else {
		(*p->rx_unresolved)++;
	}
	utun_ask_once(p, family, hop, src);
}

static void utun_eth(const struct utun *p, uint8_t *frame, const uint8_t dst[6], int family)
{
	memcpy(frame, dst, 6);
	memcpy(frame + 6, p->link.mac, 6);
	frame[12] = family == AF_INET ? 0x08 : 0x86;
	frame[13] = family == AF_INET ? 0x00 : 0xdd;
}

/* Sends the held packets whose next hop is now known. */
static void utun_pending_flush(struct utun *p)
{
	uint8_t mac[6];

	p->learned = false;
	for (unsigned i = 0; i < UTUN_PENDING && p->n_pending; i++) {
		struct utun_pending *q = &p->pending[i];
		struct zt_frame f;

		if (!q->family || !utun_resolve(p, q->family, q->hop, mac))
			continue;
		utun_eth(p, q->frame, mac, q->family);
		f.data = q->frame;
		f.len = q->len;
		(*p->rx_packets)++;
		*p->rx_bytes += q->len - UTUN_ETH_HLEN;
		zt_iface_rx(p->zi, &f, 1);
		utun_pending_free(p, q);
	}
}

/* Drops what waited too long, asks again for the rest. */
static void utun_on_pending_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct utun *p = w->data;
	double now = ev_now(loop);

	for (unsigned i = 0; i < UTUN_PENDING && p->n_pending; i++) {
		struct utun_pending *q = &p->pending[i];

		if (!q->family)
			continue;
		if (now - q->since > UTUN_PENDING_S) {
			(*p->rx_unresolved)++;
			utun_pending_free(p, q);
		} else {
			utun_ask_once(p, q->family, q->hop, q->src);
		}
	}
}

static void utun_gro_flush(struct utun *p);

/* Before the loop waits: the packets merged for the host, the answers
 * made, the packets now resolved. */
static void utun_on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct utun *p = w->data;
	unsigned n = p->n_outbox;

	utun_gro_flush(p);
	p->n_outbox = 0;
	if (n)
		zt_iface_rx(p->zi, p->outbox_frames, n);
	if (p->learned && p->n_pending)
		utun_pending_flush(p);
	p->learned = false;
}

/* ---- reading: packets from the host ---- */

/* The family of a packet read from the device, or 0 if it is not a
 * well-formed IP packet: a version of 4 or 6, a header that fits, and the
 * header's length of the packet the one read (the device gives whole
 * packets; anything else came from a packet socket, or is broken). */
static int utun_ip_family(const uint8_t *ip, size_t len)
{
	if (len >= 20 && ip[0] >> 4 == 4)
		return (size_t)(ip[0] & 15) * 4 >= 20 && (size_t)(ip[0] & 15) * 4 <= len &&
		       ((size_t)ip[2] << 8 | ip[3]) == len ? AF_INET : 0;
	if (len >= 40 && ip[0] >> 4 == 6)
		return 40 + ((size_t)ip[4] << 8 | ip[5]) == len ? AF_INET6 : 0;
	return 0;
}

/* Gives the packet in frame (after UTUN_ETH_HLEN bytes of room) its
 * Ethernet header: true if it can go now; else it is held or dropped. */
static bool utun_frame(struct utun *p, uint8_t *frame, size_t len)
{
	const uint8_t *ip = frame + UTUN_ETH_HLEN, *dst, *src;
	uint8_t mac[6], hop[16];
	int family;

	if (!utun_has_mac(p)) {
		(*p->rx_no_mac)++;
		return false;
	}
	family = utun_ip_family(ip, len);
	if (!family) {
		(*p->rx_bad)++;
		return false;
	}
	src = ip + (family == AF_INET ? 12 : 8);
	dst = ip + (family == AF_INET ? 16 : 24);
	if (family == AF_INET ? (dst[0] & 0xf0) == 0xe0 : dst[0] == 0xff) {
		neigh_mcast_mac(family, dst, mac);
	} else if (family == AF_INET && utun_is_bcast4(p, dst)) {
		memcpy(mac, utun_bcast, 6);
	} else if (!utun_next_hop(p, family, dst, hop)) {
		(*p->rx_unresolved)++;
		return false;
	} else if (!utun_resolve(p, family, hop, mac)) {
		utun_hold(p, family, hop, src, frame, len + UTUN_ETH_HLEN);
		return false;
	}
	utun_eth(p, frame, mac, family);
	return true;
}

static void utun_flush(struct utun *p, unsigned *n)
{
	if (*n) {
		zt_iface_rx(p->zi, p->frames, *n);
		*n = 0;
	}
}

/* Takes the packet of len bytes in slot n (after its Ethernet header's
 * room) to go to the network: true if it goes now, counted. */
static bool utun_take(struct utun *p, unsigned n, size_t len)
{
	uint8_t *slot = p->buf + (size_t)n * UTUN_SLOT;

	if (!utun_frame(p, slot, len))
		return false;
	p->frames[n].data = slot;
	p->frames[n].len = len + UTUN_ETH_HLEN;
	(*p->rx_packets)++;
	*p->rx_bytes += len;
	return true;
}

/* Cuts the TCP super-packet of len bytes read into slot n (and on into
 * gbuf) into segments that fit the MTU, each of which goes as a packet
 * read; returns the number of slots in use. */
static unsigned utun_rx_gso(struct utun *p, const struct virtio_net_hdr *h, size_t len, unsigned n)
{
	uint8_t *f = p->gbuf;
	struct offload_gso g;

	/* the whole packet in one place, out of the slots it is cut into;
	 * an Ethernet header of its type for the offload code, its
	 * destination set for each segment */
	memcpy(f + UTUN_ETH_HLEN, p->buf + (size_t)n * UTUN_SLOT + UTUN_ETH_HLEN,
	       len < IFLINK_MTU_MAX ? len : IFLINK_MTU_MAX);
	utun_eth(p, f, utun_bcast, f[UTUN_ETH_HLEN] >> 4 == 6 ? AF_INET6 : AF_INET);
	if (offload_gso_parse(h, f, UTUN_ETH_HLEN + len, p->link.mtu, &g) < 0) {
		(*p->offload_dropped)++;
		return n;
	}
	(*p->tso_frames)++;
	*p->tso_segments += g.nseg;
	for (unsigned i = 0; i < g.nseg; i++) {
		size_t l;

		if (n == p->batch)
			utun_flush(p, &n);
		l = offload_gso_segment(&g, f, i, p->buf + (size_t)n * UTUN_SLOT);
		n += utun_take(p, n, l - UTUN_ETH_HLEN);
	}
	return n;
}

/* With offloads, a packet read: a super-packet is cut, a checksum left
 * to us filled in.  Returns the number of slots in use. */
static unsigned utun_rx_vnet(struct utun *p, struct virtio_net_hdr *h, size_t len, unsigned n)
{
	uint8_t *slot = p->buf + (size_t)n * UTUN_SLOT;

	if (len > OFFLOAD_GSO_IPMAX) {
		(*p->offload_dropped)++;   /* it filled the buffer: maybe cut */
		return n;
	}
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return utun_rx_gso(p, h, len, n);
	if (len > p->link.mtu) {
		(*p->rx_oversize)++;
		return n;
	}
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* the device's offsets are the packet's; ours the frame's */
		h->csum_start = (uint16_t)(h->csum_start + UTUN_ETH_HLEN);
		if (offload_csum_partial(h, slot, len + UTUN_ETH_HLEN) < 0) {
			(*p->offload_dropped)++;
			return n;
		}
		(*p->csum_fixed)++;
	}
	return n + utun_take(p, n, len);
}

static void utun_on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct utun *p = w->data;
	unsigned n = 0;

	for (unsigned tries = 0; tries < p->batch; tries++) {
		struct virtio_net_hdr h;
		uint8_t spare;
		/* with offloads: the header, the slot, then the rest of a
		 * super-packet in gbuf; without: a byte past the MTU tells a
		 * packet too long for it */
		struct iovec vnet[3] = {
			{ &h, OFFLOAD_VNET_HLEN },
			{ NULL, IFLINK_MTU_MAX },
			{ p->gbuf + UTUN_ETH_HLEN + IFLINK_MTU_MAX, UTUN_GBUF_SIZE - UTUN_ETH_HLEN - IFLINK_MTU_MAX },
		};
		struct iovec plain[2] = { { NULL, p->link.mtu }, { &spare, 1 } };
		ssize_t r;

		/* segments of a super-packet may have taken the last slot */
		if (n == p->batch)
			utun_flush(p, &n);
		vnet[1].iov_base = plain[0].iov_base = p->buf + (size_t)n * UTUN_SLOT + UTUN_ETH_HLEN;
		r = p->offload ? utun_os_readv(p->fd, vnet, 3) : utun_os_readv(p->fd, plain, 2);
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			(*p->rx_errors)++;
			/* a deleted device stays readable: stop watching it */
			if (r == -EBADFD || r == -ENODEV) {
				zt_log(p->zi, ZT_LOG_ERR, "read %s: %s", p->link.dev, strerror((int)-r));
				ev_io_stop(loop, w);
			}
			break;
		}
		if (p->offload) {
			if (r < (ssize_t)OFFLOAD_VNET_HLEN)
				(*p->rx_bad)++;
			else
				n = utun_rx_vnet(p, &h, (size_t)r - OFFLOAD_VNET_HLEN, n);
		} else if ((size_t)r > p->link.mtu) {
			(*p->rx_oversize)++;
		} else {
			n += utun_take(p, n, (size_t)r);
		}
	}
	utun_flush(p, &n);
}

/* ---- writing: frames from the network ---- */

/* ARP and NDP: answers for own addresses, learning from the rest. */
static void utun_neigh_msg(struct utun *p, const struct neigh_msg *m)
{
	static const uint8_t any[16];
	bool dad = m->family == AF_INET6 && memcmp(m->sender_ip, any, 16) == 0;
	uint8_t *out;

	switch (m->kind) {
	case NEIGH_ARP_REQUEST:
		utun_learn(p, AF_INET, m->sender_ip, m->sender_mac);
		if (utun_is_own(p, AF_INET, m->target_ip) && (out = utun_outbox_slot(p)))
			utun_outbox_put(p, neigh_arp_build(out, 2, p->link.mac, m->target_ip, m->sender_mac,
							   m->sender_ip));
		break;
	case NEIGH_ARP_REPLY:
		utun_learn(p, AF_INET, m->sender_ip, m->sender_mac);
		break;
	case NEIGH_NS:
		if (dad)
			break;
		if (m->has_lla)
			utun_learn(p, AF_INET6, m->sender_ip, m->sender_mac);
		if (utun_is_own(p, AF_INET6, m->target_ip) && (out = utun_outbox_slot(p)))
			utun_outbox_put(p, neigh_na_build(out, p->link.mac, m->target_ip, m->sender_mac,
							  m->sender_ip));
		break;
	case NEIGH_NA:
		utun_learn(p, AF_INET6, m->target_ip, m->sender_mac);
		break;
	}
}

/* Writes one packet, after the vnet header h with offloads.  0 or
 * -errno. */
static int utun_write(void *port, const struct virtio_net_hdr *h, const uint8_t *ip, size_t len)
{
	struct utun *p = port;
	struct iovec iov[2] = { { (void *)h, OFFLOAD_VNET_HLEN }, { (void *)ip, len } };

	return p->offload ? utun_os_writev(p->fd, iov, 2) : utun_os_writev(p->fd, iov + 1, 1);
}

/* Writes out the frame being merged, if any. */
static void utun_gro_flush(struct utun *p)
{
	offload_gro_flush(&p->gro, &p->txc);
}

/* The IP packet of a frame into the device (with GRO, maybe merged with
 * the next ones), after learning its source's MAC if it is on the link. */
static int utun_write_ip(struct utun *p, const uint8_t *f, size_t len, int family)
{
	const uint8_t *ip = f + UTUN_ETH_HLEN;
	size_t plen = len - UTUN_ETH_HLEN, iplen;
	int err;

	if (family == AF_INET ? plen < 20 || ip[0] >> 4 != 4 : plen < 40 || ip[0] >> 4 != 6) {
		(*p->tx_short)++;
		return -EINVAL;
	}
	/* Ethernet padding after a short packet stays out of the device */
	iplen = family == AF_INET ? (size_t)ip[2] << 8 | ip[3] : 40 + ((size_t)ip[4] << 8 | ip[5]);
	if (iplen > plen) {
		(*p->tx_short)++;
		return -EINVAL;
	}
	if (utun_on_link(p, family, family == AF_INET ? ip + 12 : ip + 8))
		utun_learn(p, family, family == AF_INET ? ip + 12 : ip + 8, f + 6);
	if (p->gro_on && offload_gro_add(&p->gro, f, UTUN_ETH_HLEN + iplen, &p->txc))
		return 0;
	err = utun_write(p, &offload_vnet_valid, ip, iplen);
	offload_tx_count(&p->txc, err, 1, iplen);
	return err;
}

static int utun_tx(void *state, const struct zt_frame *f, unsigned n)
{
	struct utun *p = state;
	unsigned taken = 0;

	if (p->fd < 0)
		return -ENOTCONN;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *d = f[i].data;
		struct neigh_msg m;
		unsigned type;
		int r;

		if (f[i].len < UTUN_ETH_HLEN) {
			(*p->tx_short)++;
			continue;
		}
		if (f[i].len > (size_t)p->link.mtu + UTUN_ETH_HLEN) {
			(*p->tx_oversize)++;
			continue;
		}
		if (!(d[0] & 1) && memcmp(d, p->link.mac, 6) != 0) {
			(*p->tx_not_ours)++;
			continue;
		}
		r = neigh_parse(d, f[i].len, &m);
		if (r < 0) {
			(*p->neigh_bad)++;
			continue;
		}
		if (r > 0) {
			utun_neigh_msg(p, &m);
			taken++;
			continue;
		}
		type = (unsigned)d[12] << 8 | d[13];
		if (type != NEIGH_ETH_IP4 && type != NEIGH_ETH_IP6) {
			(*p->tx_not_ip)++;
			continue;
		}
		if (utun_write_ip(p, d, f[i].len, type == NEIGH_ETH_IP4 ? AF_INET : AF_INET6) == 0)
			taken++;
	}
	return (int)taken;
}

/* ---- multicast groups ---- */

static int utun_mcast_add(struct utun *p, int family, const uint8_t *group)
{
	uint8_t mac[6];

	neigh_mcast_mac(family, group, mac);
	return iflink_set_add(&p->mcast_new, mac, 6);
}

/* The IPv4 groups: under a line "<index> <device> : ..." of the device,
 * one line each with the group as the kernel's u32 in hex. */
static int utun_igmp_read(struct utun *p)
{
	FILE *fp = fopen(UTUN_IGMP_PATH, "re");
	char line[256];
	int idx = -1;

	if (!fp)
		return -errno;
	while (fgets(line, sizeof line, fp)) {
		unsigned v;
		uint32_t be;

		if (line[0] >= '0' && line[0] <= '9') {
			idx = atoi(line);
		} else if (idx == p->link.ifindex && sscanf(line, " %8x", &v) == 1) {
			be = v;   /* printed from its bytes in network order */
			if (utun_mcast_add(p, AF_INET, (const uint8_t *)&be) < 0) {
				fclose(fp);
				return -ENOMEM;
			}
		}
	}
	fclose(fp);
	return 0;
}

/* The IPv6 groups: "<index> <device> <32 hex digits> ..." a line. */
static int utun_igmp6_read(struct utun *p)
{
	FILE *fp = fopen(UTUN_IGMP6_PATH, "re");
	char line[256];

	if (!fp)
		return errno == ENOENT ? 0 : -errno;   /* no IPv6 */
	while (fgets(line, sizeof line, fp)) {
		char name[IFNAMSIZ + 1], hex[40];
		uint8_t group[16];
		int idx;

		if (sscanf(line, "%d %16s %39s", &idx, name, hex) != 3 || idx != p->link.ifindex ||
		    !iflink_hex_bytes(hex, group, 16))
			continue;
		if (utun_mcast_add(p, AF_INET6, group) < 0) {
			fclose(fp);
			return -ENOMEM;
		}
	}
	fclose(fp);
	return 0;
}

/* Reads the groups the host joined on the device and reports their MACs
 * when they changed. */
static void utun_on_mcast_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct utun *p = w->data;
	int err;

	p->mcast_new.n = 0;
	err = utun_igmp_read(p);
	if (err == 0)
		err = utun_igmp6_read(p);
	if (err < 0) {
		if (!p->mcast_failed)
			zt_log(p->zi, ZT_LOG_WARN, "multicast groups: %s", strerror(-err));
		p->mcast_failed = true;
		return;
	}
	p->mcast_failed = false;
	iflink_mcast_update(p->zi, &p->mcast, &p->mcast_new);
}

/* ---- the instance ---- */

static int utun_configure(void *state, const struct zt_iface_settings *s)
{
	struct utun *p = state;
	uint64_t nwid = zt_iface_nwid(p->zi);

	if (nwid)
		p->nwid = nwid;
	return iflink_configure(&p->link, s, p->started);
}

static void utun_stop(void *state)
{
	struct utun *p = state;

	if (p->loop) {
		ev_io_stop(p->loop, &p->io);
		ev_timer_stop(p->loop, &p->ptimer);
		ev_prepare_stop(p->loop, &p->prep);
		ev_timer_stop(p->loop, &p->mtimer);
	}
	for (unsigned i = 0; i < UTUN_PENDING; i++)
		if (p->pending[i].family)
			utun_pending_free(p, &p->pending[i]);
	if (p->fd >= 0)
		utun_gro_flush(p);
	p->gro.len = 0;
	p->n_outbox = 0;
	iflink_close(&p->link);
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
		zt_log(p->zi, ZT_LOG_INFO, "%s closed", p->link.dev);
	}
	neigh_flush(&p->neigh);
	p->mcast.n = 0;
	p->started = false;
}

static int utun_start(void *state, struct ev_loop *loop)
{
	struct utun *p = state;
	int err;

	if (p->started)
		return 0;
	p->loop = loop;
	if (!p->link.have_settings)
		p->link.up = true;
	/* refused offloads fall back to packets one at a time, for good */
	p->offload = p->opt_offload;
	err = utun_os_open(p->zi, p->name, &p->offload, p->link.dev, &p->link.ifindex);
	if (err < 0)
		return err;
	p->opt_offload = p->offload;
	p->fd = err;
	p->gro_on = p->offload && p->opt_gro;
	p->gro.len = 0;
	err = iflink_nl_open(&p->link);
	if (err < 0)
		goto fail;
	/* the device must take its MTU and flags; addresses and routes that
	 * fail are logged and the port runs without them */
	err = iflink_link_apply(&p->link, true);
	if (err < 0)
		goto fail;
	iflink_fill(&p->link);
	ev_io_set(&p->io, p->fd, EV_READ);
	ev_io_start(loop, &p->io);
	ev_prepare_start(loop, &p->prep);
	ev_timer_set(&p->mtimer, 0., p->mcast_every);
	ev_timer_start(loop, &p->mtimer);
	p->started = true;
	zt_log(p->zi, ZT_LOG_INFO, "%s: index %d, mtu %u, %s, offloads %s, gro %s", p->link.dev, p->link.ifindex,
	       p->link.mtu, p->link.up ? "up" : "down", p->offload ? "on" : "off", p->gro_on ? "on" : "off");
	return 0;
fail:
	utun_stop(p);
	return err;
}

static void utun_destroy(void *state)
{
	struct utun *p = state;

	if (!p)
		return;
	if (p->fd >= 0)
		utun_stop(p);
	iflink_free(&p->link);
	neigh_table_free(&p->neigh);
	iflink_set_free(&p->mcast);
	iflink_set_free(&p->mcast_new);
	free(p->buf);
	free(p->gbuf);
	free(p->gro.buf);
	free(p->frames);
	free(p);
}

static int utun_counters(struct utun *p)
{
	static const struct zt_counter_field fields[] = {
		ZT_COUNTER_FIELD(struct utun, rx_packets),
		ZT_COUNTER_FIELD(struct utun, rx_bytes),
		ZT_COUNTER_FIELD(struct utun, rx_bad),
		ZT_COUNTER_FIELD(struct utun, rx_oversize),
		ZT_COUNTER_FIELD(struct utun, rx_errors),
		ZT_COUNTER_FIELD(struct utun, rx_no_mac),
		ZT_COUNTER_FIELD(struct utun, rx_held),
		ZT_COUNTER_FIELD(struct utun, rx_unresolved),
		{ "tx_packets", offsetof(struct utun, txc.packets) },
		{ "tx_bytes", offsetof(struct utun, txc.bytes) },
		ZT_COUNTER_FIELD(struct utun, tx_short),
		ZT_COUNTER_FIELD(struct utun, tx_oversize),
		ZT_COUNTER_FIELD(struct utun, tx_not_ip),
		ZT_COUNTER_FIELD(struct utun, tx_not_ours),
		{ "tx_dropped", offsetof(struct utun, txc.dropped) },
		{ "tx_errors", offsetof(struct utun, txc.errors) },
		ZT_COUNTER_FIELD(struct utun, neigh_asked),
		ZT_COUNTER_FIELD(struct utun, neigh_answered),
		ZT_COUNTER_FIELD(struct utun, neigh_learned),
		ZT_COUNTER_FIELD(struct utun, neigh_bad),
		ZT_COUNTER_FIELD(struct utun, tso_frames),
		ZT_COUNTER_FIELD(struct utun, tso_segments),
		ZT_COUNTER_FIELD(struct utun, csum_fixed),
		ZT_COUNTER_FIELD(struct utun, offload_dropped),
		{ "gro_frames", offsetof(struct utun, txc.gro_frames) },
		{ "gro_segments", offsetof(struct utun, txc.gro_segments) },
		{ "netlink_errors", offsetof(struct utun, link.netlink_errors) },
	};

	return zt_counters_bind(p->zi, p, fields, sizeof fields / sizeof fields[0]);
}

static int utun_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	const char *name = zt_conf_str(conf, "name");
	uint64_t ttl = zt_conf_duration_ms(conf, "neighbour-ttl");
	uint64_t every = zt_conf_duration_ms(conf, "multicast-poll");
	const char *why;
	struct utun *p;

	if (name && (why = iflink_name_check(name))) {
		const struct zt_node *at = zt_node_get(conf, "name");

		zt_node_error(at ? at : conf, "%s", why);
		return -EINVAL;
	}
	if (ttl < 1000 || ttl > 24 * 3600 * 1000) {
		const struct zt_node *at = zt_node_get(conf, "neighbour-ttl");

		zt_node_error(at ? at : conf, "must be between 1s and 24h");
		return -EINVAL;
	}
	if (every < 100 || every > 3600 * 1000) {
		const struct zt_node *at = zt_node_get(conf, "multicast-poll");

		zt_node_error(at ? at : conf, "must be between 100ms and 1h");
		return -EINVAL;
	}
	p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->zi = zi;
	p->mcast_every = (double)every / 1000.;
	p->fd = -1;
	p->link.zi = zi;
	p->link.has_mac = false;
	p->link.up = true;
	p->link.mtu = (unsigned)zt_conf_uint(conf, "mtu");
	p->link.txqueuelen = (unsigned)zt_conf_uint(conf, "txqueuelen");
	p->batch = (unsigned)zt_conf_uint(conf, "batch");
	p->neigh_ttl = (double)ttl / 1000.;
	if (name)
		memcpy(p->name, name, strlen(name) + 1);
	p->link.nlbuf = malloc(MNL_SOCKET_BUFFER_SIZE);
	p->buf = malloc((size_t)p->batch * UTUN_SLOT);
	p->frames = calloc(p->batch, sizeof *p->frames);
	p->opt_offload = zt_conf_bool(conf, "offload");
	p->opt_gro = zt_conf_bool(conf, "gro");
	if (p->opt_offload)
		p->gbuf = malloc(UTUN_GBUF_SIZE);
	if (p->opt_offload && p->opt_gro)
		p->gro.buf = malloc(OFFLOAD_GRO_SIZE);
	p->gro.write = utun_write;
	p->gro.port = p;
	p->gro.skip = UTUN_ETH_HLEN;
	if (!p->link.nlbuf || !p->buf || !p->frames || (p->opt_offload && !p->gbuf) ||
	    (p->opt_offload && p->opt_gro && !p->gro.buf) ||
	    neigh_table_init(&p->neigh, (unsigned)zt_conf_uint(conf, "neighbours")) < 0 || utun_counters(p) < 0) {
		utun_destroy(p);
		return -ENOMEM;
	}
	ev_init(&p->io, utun_on_read);
	p->io.data = p;
	ev_init(&p->ptimer, utun_on_pending_timer);
	p->ptimer.repeat = 0.5;
	p->ptimer.data = p;
	ev_prepare_init(&p->prep, utun_on_prepare);
	p->prep.data = p;
	ev_init(&p->mtimer, utun_on_mcast_timer);
	p->mtimer.data = p;
	*state = p;
	return 0;
}

static const char *utun_port_name(void *state)
{
	struct utun *p = state;

	return p->link.dev[0] ? p->link.dev : NULL;
}

static const struct zt_iface_ops utun_ops = {
	.tx = utun_tx,
	.configure = utun_configure,
	.port_name = utun_port_name,
};

static const struct zt_opt utun_opts[] = {
	ZT_OPT_STR("name", NULL, "device name, at most 15 characters (default: chosen by the kernel)"),
	ZT_OPT_UINT("mtu", 2800, IFLINK_MTU_MIN, IFLINK_MTU_MAX, "MTU until the network sets one"),
	ZT_OPT_UINT("txqueuelen", 500, 0, 100000, "the device's transmit queue length"),
	ZT_OPT_UINT("batch", 32, 1, 1024, "packets read per wakeup"),
	ZT_OPT_UINT("neighbours", 1024, 4, 1048576, "room in the table of neighbours' MACs"),
	ZT_OPT_DURATION("neighbour-ttl", "10m", "how long a learned MAC is used without being seen again"),
	ZT_OPT_DURATION("multicast-poll", "2s", "how often to read the groups the host joined on the device"),
	ZT_OPT_BOOL("offload", true, "TCP segmentation and checksum offloads from the host"),
	ZT_OPT_BOOL("gro", true, "with offloads, merge TCP segments for the host into super-packets"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI,
	.name = "utun",
	.kind = ZT_IFACE,
	.summary = "a layer-3 (tun) device on an Ethernet network",
	.opts = utun_opts,
	.create = utun_create,
	.start = utun_start,
	.stop = utun_stop,
	.destroy = utun_destroy,
	.ops.iface = &utun_ops,
};
