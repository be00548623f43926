/* tap: a network's Ethernet port on a Linux host, as a TAP device.  Frames
 * the host sends on the device go up to the network; frames the network
 * delivers are written to it.  Link settings, addresses and routes are set
 * through rtnetlink (libmnl), and the device's multicast groups are read
 * from /proc/net/dev_mcast.  With offloads, the device carries a
 * virtio_net_hdr before each frame: the host hands over TCP super-frames
 * of up to 64 KB and frames whose checksum is still to be computed, and
 * this module cuts them into segments that fit the port's MTU and fills in
 * the checksums.  In the other direction, consecutive TCP segments of one
 * flow are merged into one such super-frame for the host (GRO), written
 * before the loop next waits.  A queue, for a data-path worker, is another
 * fd on the same device (IFF_MULTI_QUEUE) read and written the same way;
 * only the instance configures the device.  See zt-tap(7). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>

#include <ev.h>
#include <libmnl/libmnl.h>

#include <zt/module.h>

#include "../lib/iflink.h"

#define TAP_ETH_HLEN 14
#define TAP_VLAN_HLEN 4
/* Room for one frame: MTU plus Ethernet header plus a VLAN tag. */
#define TAP_SLOT_EXTRA (TAP_ETH_HLEN + TAP_VLAN_HLEN)
#define TAP_MTU_MIN 1280
#define TAP_MTU_MAX 10000
#define TAP_NL_TIMEOUT_S 2
#define TAP_MCAST_PATH "/proc/net/dev_mcast"
/* With offloads: the header before each frame, and the largest frame the
 * host may hand over in one read (a 64 KB IP packet, Ethernet header and
 * a VLAN tag). */
#define TAP_VNET_HLEN ((unsigned)sizeof(struct virtio_net_hdr))
#define TAP_GSO_MAX (65536 + TAP_SLOT_EXTRA)
#define TAP_GBUF_SIZE (TAP_MTU_MAX + TAP_SLOT_EXTRA + TAP_GSO_MAX)
#define TAP_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)
/* GRO: at most this many segments in one merged frame, whose IP packet
 * is at most TAP_GRO_IPMAX bytes. */
#define TAP_GRO_SEGS 44
#define TAP_GRO_IPMAX 65535
#define TAP_GRO_SIZE (TAP_ETH_HLEN + TAP_GRO_IPMAX)

/* GRO: the frame being merged, the first segment's headers followed by
 * the payloads of all segments taken so far. */
struct tap_gro {
	uint8_t *buf;            /* TAP_GRO_SIZE bytes */
	size_t len;              /* bytes in buf; 0: nothing held */
	size_t l4;               /* offset of the TCP header */
	size_t hlen;             /* Ethernet, IP and TCP headers */
	size_t mss;              /* the first segment's payload */
	uint64_t bytes;          /* the segments' lengths as they came */
	unsigned nseg;
	uint32_t seq;            /* the next segment's sequence number */
	unsigned id;             /* the last segment's IPv4 id */
	bool v6;
	bool closed;             /* nothing more joins: PSH, short, 44th, full */
};

/* A frame that may be merged: where its headers are. */
struct tap_seg {
	size_t l4, hlen, payload;
	bool v6;
};

/* An instance, or a queue of one: a queue uses only the data path's part
 * (fd, buffers, watchers, counters), of its own, on its own thread. */
struct tap {
	struct zt_inst *zi;
	struct ev_loop *loop;
	struct tap *instance;    /* a queue's; NULL on the instance */
	bool multi_queue;        /* the device has queues: IFF_MULTI_QUEUE */
	unsigned queues_open;    /* the instance's, counted by its queues (atomic) */
	char name[IFNAMSIZ];     /* as configured; empty: the kernel names it */
	unsigned opt_mtu;
	unsigned batch;
	double mcast_every;
	bool opt_offload;        /* the option */
	bool offload;            /* the device carries vnet headers */
	bool opt_gro;            /* the option */
	bool gro_on;             /* with offloads: TCP segments merged */
	bool started;

	int fd;

	/* The device, its settings and what this module set on it. */
	struct iflink link;

	/* Reading. */
	ev_io io;
	uint8_t *buf;            /* batch slots of slot bytes */
	size_t slot;
	struct zt_frame *frames;
	uint8_t *gbuf;           /* with offloads: TAP_GBUF_SIZE, a super-frame */

	/* Writing with GRO: the merged frame is written out at the latest
	 * just before the loop waits. */
	struct tap_gro gro;
	ev_prepare prep;

	/* Multicast groups of the device, sorted, as last reported. */
	ev_timer mtimer;
	struct iflink_set mcast;    /* 6-byte MACs */
	struct iflink_set mcast_new;
	bool mcast_failed;

	uint64_t *rx_frames, *rx_bytes, *rx_short, *rx_oversize, *rx_errors;
	uint64_t *tx_frames, *tx_bytes, *tx_short, *tx_oversize, *tx_dropped, *tx_errors;
	uint64_t *tso_frames, *tso_segments, *csum_fixed, *offload_dropped;
	uint64_t *gro_frames, *gro_segments;
};


static int tap_configure(void *state, const struct zt_iface_settings *s)
{
	struct tap *p = state;

	return iflink_configure(&p->link, s, p->started);
}

/* ---- offloads: super-frames and checksums the host left to us ---- */

/* The one's complement sum of len bytes, as 16-bit words loaded in host
 * order (the sum does not depend on the order, RFC 1071); an odd last byte
 * is padded with a zero.  Pieces summed one after the other must all have
 * an even length except the last. */
static uint64_t tap_sum(uint64_t acc, const uint8_t *d, size_t len)
{
	uint32_t w;
	uint16_t h;

	for (; len >= 4; d += 4, len -= 4) {
		memcpy(&w, d, 4);
		acc += w;
	}
	if (len >= 2) {
		memcpy(&h, d, 2);
		acc += h;
		d += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { d[0], 0 };

		memcpy(&h, last, 2);
		acc += h;
	}
	return acc;
}

/* The checksum of a sum, in the order the words were loaded. */
static uint16_t tap_csum(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

static unsigned tap_get16(const uint8_t *d)
{
	return (unsigned)d[0] << 8 | d[1];
}

static void tap_put16(uint8_t *d, size_t v)
{
	d[0] = (uint8_t)(v >> 8);
	d[1] = (uint8_t)v;
}

/* The offset of the network header and its ethertype: after the Ethernet
 * header and at most one 802.1Q or 802.1ad tag.  0 if the frame is too
 * short for them. */
static size_t tap_l3(const uint8_t *f, size_t len, unsigned *type)
{
	size_t l3 = TAP_ETH_HLEN;

	if (len < TAP_ETH_HLEN)
		return 0;
	*type = tap_get16(f + 12);
	if (*type == 0x8100 || *type == 0x88a8) {
		l3 += TAP_VLAN_HLEN;
		if (len < l3)
			return 0;
		*type = tap_get16(f + 16);
	}
	return l3;
}

/* A TCP super-frame taken apart: where its headers are and how it is cut. */
struct tap_gso {
	size_t l3;        /* offset of the IP header */
	size_t l4;        /* offset of the TCP header */
	size_t hlen;      /* Ethernet, IP and TCP headers: copied to each segment */
	size_t payload;   /* TCP payload bytes after them */
	size_t mss;       /* payload bytes per segment */
	unsigned nseg;
	bool v6;
};

/* Checks a GSO frame of len bytes and plans its segments: each one's IP
 * packet fits mtu.  0, or -EINVAL for anything but a well-formed IPv4 or
 * IPv6 TCP frame of the type the header says. */
static int tap_gso_parse(const struct virtio_net_hdr *h, const uint8_t *f, size_t len,
			 unsigned mtu, struct tap_gso *g)
{
	unsigned type = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN, et = 0, next;
	size_t l3, l4, iplen, thl;

	l3 = tap_l3(f, len, &et);
	if (!l3)
		return -EINVAL;
	if (type == VIRTIO_NET_HDR_GSO_TCPV4) {
		if (et != 0x0800 || len < l3 + 20 || f[l3] >> 4 != 4)
			return -EINVAL;
		l4 = l3 + (size_t)(f[l3] & 15) * 4;
		iplen = tap_get16(f + l3 + 2);
		/* no options cut short, TCP, not a fragment (MF or an offset) */
		if (l4 < l3 + 20 || len < l4 || f[l3 + 9] != IPPROTO_TCP ||
		    (f[l3 + 6] & 0x3f) || f[l3 + 7])
			return -EINVAL;
		g->v6 = false;
	} else if (type == VIRTIO_NET_HDR_GSO_TCPV6) {
		if (et != 0x86dd || len < l3 + 40 || f[l3] >> 4 != 6)
			return -EINVAL;
		iplen = tap_get16(f + l3 + 4);
		if (iplen)
			iplen += 40;
		/* hop-by-hop, routing and destination options may come first */
		next = f[l3 + 6];
		l4 = l3 + 40;
		while (next == 0 || next == 43 || next == 60) {
			if (len < l4 + 8 || l4 - l3 > 40 + 256)
				return -EINVAL;
			next = f[l4];
			l4 += ((size_t)f[l4 + 1] + 1) * 8;
		}
		if (next != IPPROTO_TCP)
			return -EINVAL;
		g->v6 = true;
	} else {
		return -EINVAL;
	}
	/* the IP length, if set, says where the packet ends */
	if (iplen) {
		if (iplen > len - l3)
			return -EINVAL;
		len = l3 + iplen;
	}
	if (len < l4 + 20)
		return -EINVAL;
	thl = (size_t)(f[l4 + 12] >> 4) * 4;
	if (thl < 20 || len < l4 + thl || h->gso_size == 0)
		return -EINVAL;
	g->l3 = l3;
	g->l4 = l4;
	g->hlen = l4 + thl;
	g->payload = len - g->hlen;
	if (mtu <= g->hlen - l3)
		return -EINVAL;
	g->mss = h->gso_size;
	if (g->mss > mtu - (g->hlen - l3))
		g->mss = mtu - (g->hlen - l3);
	g->nseg = g->payload ? (unsigned)((g->payload + g->mss - 1) / g->mss) : 1;
	return 0;
}

/* Writes segment i of the super-frame f into out (room for l3 plus the
 * MTU given to tap_gso_parse) with its lengths, IPv4 id, sequence number,
 * flags and checksums set; returns the segment's length. */
static size_t tap_gso_segment(const struct tap_gso *g, const uint8_t *f, unsigned i, uint8_t *out)
{
	size_t off = (size_t)i * g->mss;
	size_t chunk = g->payload - off < g->mss ? g->payload - off : g->mss;
	size_t tcplen = g->hlen - g->l4 + chunk;
	uint8_t *ip = out + g->l3, *tcp = out + g->l4, pseudo[8];
	uint32_t seq;
	uint64_t acc;
	uint16_t sum;

	memcpy(out, f, g->hlen);
	memcpy(out + g->hlen, f + g->hlen + off, chunk);
	if (!g->v6) {
		tap_put16(ip + 2, g->hlen - g->l3 + chunk);
		tap_put16(ip + 4, (tap_get16(ip + 4) + i) & 0xffff);
		ip[10] = ip[11] = 0;
		sum = tap_csum(tap_sum(0, ip, g->l4 - g->l3));
		memcpy(ip + 10, &sum, 2);
		acc = tap_sum(0, ip + 12, 8);
		pseudo[0] = 0;
		pseudo[1] = IPPROTO_TCP;
		tap_put16(pseudo + 2, tcplen);
		acc = tap_sum(acc, pseudo, 4);
	} else {
		tap_put16(ip + 4, g->hlen - g->l3 - 40 + chunk);
		acc = tap_sum(0, ip + 8, 32);
		tap_put16(pseudo, tcplen >> 16);
		tap_put16(pseudo + 2, tcplen & 0xffff);
		pseudo[4] = pseudo[5] = pseudo[6] = 0;
		pseudo[7] = IPPROTO_TCP;
		acc = tap_sum(acc, pseudo, 8);
	}
	seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
	seq += (uint32_t)off;
	tcp[4] = (uint8_t)(seq >> 24);
	tcp[5] = (uint8_t)(seq >> 16);
	tcp[6] = (uint8_t)(seq >> 8);
	tcp[7] = (uint8_t)seq;
	if (i + 1 < g->nseg)
		tcp[13] &= (uint8_t)~0x09;   /* FIN, PSH: the last segment's */
	if (i > 0)
		tcp[13] &= (uint8_t)~0x80;   /* CWR: the first segment's */
	tcp[16] = tcp[17] = 0;
	sum = tap_csum(tap_sum(acc, tcp, tcplen));
	memcpy(tcp + 16, &sum, 2);
	return g->hlen + chunk;
}

/* Fills in the checksum the host left to us (VIRTIO_NET_HDR_F_NEEDS_CSUM):
 * from csum_start to the end of the frame, where the host already put the
 * pseudo-header's sum, stored at csum_start + csum_offset.  0 or -EINVAL. */
static int tap_csum_partial(const struct virtio_net_hdr *h, uint8_t *f, size_t len)
{
	size_t start = h->csum_start, at = start + h->csum_offset;
	uint16_t sum;

	if (start >= len || at + 2 > len)
		return -EINVAL;
	sum = tap_csum(tap_sum(0, f + start, len - start));
	/* UDP's checksum field is at 6: there a zero means none */
	if (sum == 0 && h->csum_offset == 6)
		sum = 0xffff;
	memcpy(f + at, &sum, 2);
	return 0;
}

/* ---- reading: frames the host sends ---- */

/* A queue takes the MTU its instance was last configured with. */
static void tap_mtu_follow(struct tap *p)
{
	if (p->instance)
		p->link.mtu = __atomic_load_n(&p->instance->link.mtu, __ATOMIC_RELAXED);
}

/* Buffers for frames up to the current MTU; called where no frame is
 * borrowed.  On failure the old ones stay and longer frames are lost. */
static void tap_buffers_fit(struct tap *p)
{
	size_t slot = (size_t)p->link.mtu + TAP_SLOT_EXTRA;
	uint8_t *buf;

	if (p->buf && p->slot >= slot)
		return;
	buf = malloc((size_t)p->batch * slot);
	if (!buf) {
		if (p->buf)
			return;
		zt_log(p->zi, ZT_LOG_ERR, "frame buffers: %s", strerror(ENOMEM));
		return;
	}
	free(p->buf);
	p->buf = buf;
	p->slot = slot;
}

/* Hands the frames gathered so far up to the network. */
static void tap_flush(struct tap *p, unsigned *n)
{
	if (*n) {
		*p->rx_frames += *n;
		zt_iface_rx(p->zi, p->frames, *n);
		*n = 0;
	}
}

/* Cuts a super-frame read into slot n (and on into gbuf) into segments in
 * the slots from n on, handing up full batches on the way; returns the
 * number of slots in use. */
static unsigned tap_rx_gso(struct tap *p, const struct virtio_net_hdr *h, size_t len, unsigned n)
{
	uint8_t *f = p->gbuf;
	unsigned mtu = p->link.mtu;
	struct tap_gso g;

	/* the whole frame in one place, out of the slots it is cut into */
	memcpy(f, p->buf + (size_t)n * p->slot, len < p->slot ? len : p->slot);
	/* buffers that could not grow with the MTU bound the segments */
	if (mtu > p->slot - TAP_SLOT_EXTRA)
		mtu = (unsigned)(p->slot - TAP_SLOT_EXTRA);
	if (tap_gso_parse(h, f, len, mtu, &g) < 0) {
		(*p->offload_dropped)++;
		return n;
	}
	(*p->tso_frames)++;
	*p->tso_segments += g.nseg;
	for (unsigned i = 0; i < g.nseg; i++) {
		uint8_t *out;
		size_t l;

		if (n == p->batch)
			tap_flush(p, &n);
		out = p->buf + (size_t)n * p->slot;
		l = tap_gso_segment(&g, f, i, out);
		p->frames[n].data = out;
		p->frames[n].len = l;
		*p->rx_bytes += l;
		n++;
	}
	return n;
}

/* One frame from the device: its length, or -1 when there is nothing
 * more to read now (empty, or an error, counted; a deleted device also
 * stops the watcher, since its fd stays readable). */
static ssize_t tap_readv(struct tap *p, struct ev_loop *loop, ev_io *w, const struct iovec *iov, int n)
{
	ssize_t r;

	do
		r = readv(p->fd, iov, n);
	while (r < 0 && errno == EINTR);
	if (r >= 0 || errno == EAGAIN || errno == EWOULDBLOCK)
		return r;
	(*p->rx_errors)++;
	if (errno == EBADFD || errno == ENODEV) {
		zt_log(p->zi, ZT_LOG_ERR, "read %s: %s", p->link.dev, strerror(errno));
		ev_io_stop(loop, w);
	}
	return -1;
}

/* Reads with a vnet header before each frame: a frame that fits a slot
 * lands there, a super-frame goes on into gbuf. */
static void tap_read_vnet(struct tap *p, struct ev_loop *loop, ev_io *w)
{
	unsigned n = 0, tries;

	for (tries = 0; tries < p->batch; tries++) {
		struct virtio_net_hdr h;
		uint8_t *dst;
		struct iovec iov[3] = {
			{ .iov_base = &h, .iov_len = TAP_VNET_HLEN },
			{ .iov_base = NULL, .iov_len = p->slot },
			{ .iov_base = p->gbuf + p->slot, .iov_len = TAP_GBUF_SIZE - p->slot },
		};
		ssize_t r;
		size_t len;

		/* segments of a super-frame may have taken the last slot */
		if (n == p->batch)
			tap_flush(p, &n);
		dst = iov[1].iov_base = p->buf + (size_t)n * p->slot;
		r = tap_readv(p, loop, w, iov, 3);
		if (r < 0)
			break;
		if (r < (ssize_t)(TAP_VNET_HLEN + TAP_ETH_HLEN)) {
			(*p->rx_short)++;
			continue;
		}
		len = (size_t)r - TAP_VNET_HLEN;
		/* a frame that filled the buffer may have been cut */
		if (len >= TAP_GBUF_SIZE) {
			(*p->offload_dropped)++;
			continue;
		}
		if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
			n = tap_rx_gso(p, &h, len, n);
			continue;
		}
		if (len > p->slot) {
			(*p->rx_oversize)++;
			continue;
		}
		if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			if (tap_csum_partial(&h, dst, len) < 0) {
				(*p->offload_dropped)++;
				continue;
			}
			(*p->csum_fixed)++;
		}
		p->frames[n].data = dst;
		p->frames[n].len = len;
		*p->rx_bytes += len;
		n++;
	}
	tap_flush(p, &n);
}

static void tap_on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tap *p = w->data;
	unsigned n = 0, tries;

	tap_mtu_follow(p);
	tap_buffers_fit(p);
	if (!p->buf)
		return;
	if (p->offload) {
		tap_read_vnet(p, loop, w);
		return;
	}
	for (tries = 0; tries < p->batch; tries++) {
		uint8_t *dst = p->buf + (size_t)n * p->slot, spare;
		/* a byte past the slot tells a frame too long for it */
		struct iovec iov[2] = {
			{ .iov_base = dst, .iov_len = p->slot },
			{ .iov_base = &spare, .iov_len = 1 },
		};
		ssize_t r = tap_readv(p, loop, w, iov, 2);

		if (r < 0)
			break;
		if (r < TAP_ETH_HLEN) {
			(*p->rx_short)++;
			continue;
		}
		if ((size_t)r > p->slot) {
			(*p->rx_oversize)++;
			continue;
		}
		p->frames[n].data = dst;
		p->frames[n].len = (size_t)r;
		*p->rx_bytes += (uint64_t)r;
		n++;
	}
	tap_flush(p, &n);
}

/* ---- writing: frames for the host ---- */

/* With offloads, before each frame: its checksums need no check, the
 * network's MAC has authenticated it. */
static const struct virtio_net_hdr tap_vnet_valid = {
	.flags = VIRTIO_NET_HDR_F_DATA_VALID,
	.gso_type = VIRTIO_NET_HDR_GSO_NONE,
};

static uint32_t tap_get32(const uint8_t *d)
{
	return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

/* Checks whether a frame for the host may be merged with others: an
 * untagged Ethernet frame holding exactly one IPv4 packet (no options, not
 * a fragment) or IPv6 packet (TCP right after the fixed header) of TCP
 * with payload and the flags ACK or ACK and PSH.  0 and s filled, or
 * -EINVAL. */
static int tap_gro_seg(const uint8_t *f, size_t len, struct tap_seg *s)
{
	const uint8_t *ip = f + TAP_ETH_HLEN, *tcp;
	size_t l4, iplen, thl;

	if (len < TAP_ETH_HLEN + 20)
		return -EINVAL;
	switch (tap_get16(f + 12)) {
	case 0x0800:
		/* IHL 5, TCP, no flag but DF, offset 0 */
		if (ip[0] != 0x45 || ip[9] != IPPROTO_TCP || (ip[6] & 0xbf) || ip[7])
			return -EINVAL;
		iplen = tap_get16(ip + 2);
		l4 = TAP_ETH_HLEN + 20;
		s->v6 = false;
		break;
	case 0x86dd:
		if (len < TAP_ETH_HLEN + 40 || ip[0] >> 4 != 6 || ip[6] != IPPROTO_TCP)
			return -EINVAL;
		iplen = 40 + tap_get16(ip + 4);
		l4 = TAP_ETH_HLEN + 40;
		s->v6 = true;
		break;
	default:
		return -EINVAL;
	}
	/* the packet ends the frame: no padding after it */
	if (TAP_ETH_HLEN + iplen != len || len < l4 + 20)
		return -EINVAL;
	tcp = f + l4;
	thl = (size_t)(tcp[12] >> 4) * 4;
	/* no reserved bits nor AE; no SYN, FIN, RST, URG, ECE or CWR */
	if (thl < 20 || len <= l4 + thl || (tcp[12] & 0x0f) || (tcp[13] & ~0x08) != 0x10)
		return -EINVAL;
	s->l4 = l4;
	s->hlen = l4 + thl;
	s->payload = len - s->hlen;
	return 0;
}

/* Whether the segment f (checked by tap_gro_seg) continues the frame being
 * merged: the same Ethernet header; the same IP version, addresses, TOS or
 * traffic class and flow label, TTL or hop limit and DF bit; the IPv4 id
 * one more than the last segment's (or the same, with DF); the same ports,
 * acknowledgement, window and TCP options; the next sequence number; no
 * more payload than the first segment; and room for it. */
static bool tap_gro_fits(const struct tap_gro *g, const uint8_t *f, const struct tap_seg *s)
{
	const uint8_t *ip = f + TAP_ETH_HLEN, *tcp = f + s->l4;
	const uint8_t *gip = g->buf + TAP_ETH_HLEN, *gtcp = g->buf + g->l4;

	if (!g->len || g->closed || s->v6 != g->v6 || s->hlen != g->hlen ||
	    s->payload > g->mss || g->len + s->payload > TAP_GRO_SIZE)
		return false;
	if (memcmp(f, g->buf, TAP_ETH_HLEN) != 0)
		return false;
	if (g->v6) {
		if (memcmp(ip, gip, 4) != 0 || memcmp(ip + 6, gip + 6, 34) != 0)
			return false;
	} else {
		unsigned id = tap_get16(ip + 4);

		if (ip[1] != gip[1] || memcmp(ip + 6, gip + 6, 4) != 0 ||
		    memcmp(ip + 12, gip + 12, 8) != 0)
			return false;
		if (id != ((g->id + 1) & 0xffff) && !(id == g->id && (ip[6] & 0x40)))
			return false;
	}
	/* ports; acknowledgement and data offset; window; options */
	if (memcmp(tcp, gtcp, 4) != 0 || memcmp(tcp + 8, gtcp + 8, 5) != 0 ||
	    memcmp(tcp + 14, gtcp + 14, 2) != 0 || memcmp(tcp + 20, gtcp + 20, g->hlen - g->l4 - 20) != 0)
		return false;
	return tap_get32(tcp + 4) == g->seq;
}

/* Takes the segment f of len bytes (checked by tap_gro_seg): the first one
 * whole, the others' payload after it.  A segment with PSH, one shorter
 * than the first, the last one allowed, or one that fills the buffer
 * closes the frame. */
static void tap_gro_take(struct tap_gro *g, const uint8_t *f, size_t len, const struct tap_seg *s)
{
	const uint8_t *tcp = f + s->l4;

	if (!g->len) {
		memcpy(g->buf, f, len);
		g->len = len;
		g->l4 = s->l4;
		g->hlen = s->hlen;
		g->mss = s->payload;
		g->v6 = s->v6;
		g->nseg = 0;
		g->bytes = 0;
		g->closed = false;
	} else {
		memcpy(g->buf + g->len, f + s->hlen, s->payload);
		g->len += s->payload;
		g->buf[g->l4 + 13] |= tcp[13] & 0x08;
	}
	g->nseg++;
	g->bytes += len;
	g->seq = tap_get32(tcp + 4) + (uint32_t)s->payload;
	if (!g->v6)
		g->id = tap_get16(f + TAP_ETH_HLEN + 4);
	if ((tcp[13] & 0x08) || s->payload < g->mss || g->nseg >= TAP_GRO_SEGS || g->len == TAP_GRO_SIZE)
		g->closed = true;
}

/* Finishes the frame held and fills in its vnet header h; returns its
 * length.  A single segment goes as it came.  A merged frame gets its IP
 * length (and IPv4 header checksum) and, as Linux does for a TCP GSO
 * packet, the pseudo-header's sum in the TCP checksum field, with GSO and
 * NEEDS_CSUM in h: the host cuts it or checks it as a whole. */
static size_t tap_gro_close(struct tap_gro *g, struct virtio_net_hdr *h)
{
	uint8_t *ip = g->buf + TAP_ETH_HLEN, *tcp = g->buf + g->l4, pseudo[8];
	size_t iplen = g->len - TAP_ETH_HLEN, tcplen = g->len - g->l4;
	uint64_t acc;
	uint16_t sum;

	if (g->nseg < 2) {
		*h = tap_vnet_valid;
		return g->len;
	}
	if (!g->v6) {
		tap_put16(ip + 2, iplen);
		ip[10] = ip[11] = 0;
		sum = tap_csum(tap_sum(0, ip, 20));
		memcpy(ip + 10, &sum, 2);
		acc = tap_sum(0, ip + 12, 8);
		pseudo[0] = 0;
		pseudo[1] = IPPROTO_TCP;
		tap_put16(pseudo + 2, tcplen);
		acc = tap_sum(acc, pseudo, 4);
	} else {
		tap_put16(ip + 4, iplen - 40);
		acc = tap_sum(0, ip + 8, 32);
		memset(pseudo, 0, sizeof pseudo);
		tap_put16(pseudo + 2, tcplen);
		pseudo[7] = IPPROTO_TCP;
		acc = tap_sum(acc, pseudo, 8);
	}
	sum = (uint16_t)~tap_csum(acc);
	memcpy(tcp + 16, &sum, 2);
	memset(h, 0, sizeof *h);
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->gso_type = g->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h->hdr_len = (uint16_t)g->hlen;
	h->gso_size = (uint16_t)g->mss;
	h->csum_start = (uint16_t)g->l4;
	h->csum_offset = 16;
	return g->len;
}

/* Writes one frame, after the vnet header h with offloads.  0 or -errno. */
static int tap_write(struct tap *p, const struct virtio_net_hdr *h, const uint8_t *d, size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)h, .iov_len = TAP_VNET_HLEN },
		{ .iov_base = (void *)d, .iov_len = len },
	};
	ssize_t w;

	do
		w = p->offload ? writev(p->fd, iov, 2) : write(p->fd, d, len);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : 0;
}

/* Counts n frames for the host lost to a failed write. */
static void tap_tx_lost(struct tap *p, int err, unsigned n)
{
	if (err == -EAGAIN || err == -EWOULDBLOCK || err == -ENOBUFS)
		*p->tx_dropped += n;
	else
		*p->tx_errors += n;
}

/* Writes out the frame being merged, if any. */
static void tap_gro_flush(struct tap *p)
{
	struct tap_gro *g = &p->gro;
	struct virtio_net_hdr h;
	size_t len;
	int err;

	if (!g->len)
		return;
	len = tap_gro_close(g, &h);
	err = tap_write(p, &h, g->buf, len);
	if (err < 0) {
		tap_tx_lost(p, err, g->nseg);
	} else {
		*p->tx_frames += g->nseg;
		*p->tx_bytes += g->bytes;
		if (g->nseg > 1) {
			(*p->gro_frames)++;
			*p->gro_segments += g->nseg;
		}
	}
	g->len = 0;
}

/* Just before the loop waits: nothing held across it. */
static void tap_on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	tap_gro_flush(w->data);
}

static int tap_tx(void *state, const struct zt_frame *f, unsigned n)
{
	struct tap *p = state;
	unsigned i, taken = 0;

	if (p->fd < 0)
		return -ENOTCONN;
	tap_mtu_follow(p);
	for (i = 0; i < n; i++) {
		size_t max = (size_t)p->link.mtu + TAP_ETH_HLEN;
		struct tap_seg s;
		int err;

		if (f[i].len < TAP_ETH_HLEN) {
			(*p->tx_short)++;
			continue;
		}
		if (f[i].data[12] == 0x81 && f[i].data[13] == 0x00)
			max += TAP_VLAN_HLEN;
		if (f[i].len > max) {
			(*p->tx_oversize)++;
			continue;
		}
		if (p->gro_on) {
			if (tap_gro_seg(f[i].data, f[i].len, &s) == 0) {
				if (!tap_gro_fits(&p->gro, f[i].data, &s))
					tap_gro_flush(p);
				tap_gro_take(&p->gro, f[i].data, f[i].len, &s);
				if (p->gro.closed)
					tap_gro_flush(p);
				taken++;
				continue;
			}
			/* what cannot join goes after what is held */
			tap_gro_flush(p);
		}
		err = tap_write(p, &tap_vnet_valid, f[i].data, f[i].len);
		if (err < 0) {
			tap_tx_lost(p, err, 1);
			continue;
		}
		(*p->tx_frames)++;
		*p->tx_bytes += f[i].len;
		taken++;
	}
	return (int)taken;
}

/* ---- multicast groups ---- */

/* Reads the device's link-layer groups into mcast_new, sorted and unique.
 * Lines are "index name refcount global-users address-in-hex". */
static int tap_mcast_read(struct tap *p)
{
	struct iflink_set *s = &p->mcast_new;
	char line[256];
	FILE *fp = fopen(TAP_MCAST_PATH, "re");

	if (!fp)
		return -errno;
	s->n = 0;
	while (fgets(line, sizeof line, fp)) {
		char name[IFNAMSIZ + 1], hex[64];
		unsigned users, gusers;
		uint8_t mac[6];
		int idx;

		if (sscanf(line, "%d %16s %u %u %63s", &idx, name, &users, &gusers, hex) != 5)
			continue;
		if (idx != p->link.ifindex || !iflink_hex_bytes(hex, mac, 6))
			continue;
		if (iflink_set_add(s, mac, 6) < 0) {
			fclose(fp);
			return -ENOMEM;
		}
	}
	fclose(fp);
	return 0;
}

static void tap_mcast_poll(struct tap *p)
{
	int err = tap_mcast_read(p);

	if (err < 0) {
		if (!p->mcast_failed)
			zt_log(p->zi, ZT_LOG_WARN, "read %s: %s", TAP_MCAST_PATH, strerror(-err));
		p->mcast_failed = true;
		return;
	}
	p->mcast_failed = false;
	iflink_mcast_update(p->zi, &p->mcast, &p->mcast_new);
}

static void tap_on_mcast_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	tap_mcast_poll(w->data);
}

/* ---- lifecycle ---- */

/* The instance stopping before its queues: the device stays, without
 * the addresses and routes it set, until the last queue closes it. */
static void tap_stop_warn_queues(struct tap *p)
{
	unsigned open = __atomic_load_n(&p->queues_open, __ATOMIC_RELAXED);

	if (p->started && open)
		zt_log(p->zi, ZT_LOG_WARN, "%s stays while %u queue%s open", p->link.dev, open,
		       open > 1 ? "s are" : " is");
}

static void tap_stop(void *state)
{
	struct tap *p = state;

	tap_stop_warn_queues(p);
	if (p->instance && p->started)
		__atomic_sub_fetch(&p->instance->queues_open, 1, __ATOMIC_RELAXED);
	if (p->fd >= 0)
		tap_gro_flush(p);
	p->gro.len = 0;
	if (p->loop) {
		ev_io_stop(p->loop, &p->io);
		ev_timer_stop(p->loop, &p->mtimer);
		ev_prepare_stop(p->loop, &p->prep);
	}
	iflink_close(&p->link);
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
		zt_log(p->zi, ZT_LOG_INFO, "%s%s closed", p->link.dev, p->instance ? ": queue" : "");
	}
	p->mcast.n = 0;
	p->started = false;
}

/* Opens the TAP device, with vnet headers and offloads if asked; logs
 * and returns -errno on failure, -EOPNOTSUPP (logged at info) if the
 * kernel refuses the offloads. */
static int tap_open(struct tap *p, bool vnet)
{
	struct ifreq ifr;
	int err, fd, hlen = (int)TAP_VNET_HLEN;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		zt_log(p->zi, ZT_LOG_ERR, "open /dev/net/tun: %s", strerror(errno));
		return err;
	}
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0) |
			(p->multi_queue ? IFF_MULTI_QUEUE : 0);
	memcpy(ifr.ifr_name, p->name, sizeof p->name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		zt_log(p->zi, ZT_LOG_ERR, "tap %s: %s", p->name[0] ? p->name : "(any name)",
		       strerror(errno));
		close(fd);
		return err;
	}
	if (vnet && (ioctl(fd, TUNSETVNETHDRSZ, &hlen) < 0 ||
		     ioctl(fd, TUNSETOFFLOAD, (unsigned long)TAP_OFFLOADS) < 0)) {
		/* a queue cannot fall back: its device has vnet headers */
		zt_log(p->zi, p->instance ? ZT_LOG_ERR : ZT_LOG_INFO, "tap %s: offloads: %s%s",
		       ifr.ifr_name, strerror(errno), p->instance ? "" : "; frames one at a time");
		close(fd);
		return -EOPNOTSUPP;
	}
	/* a device left persistent by someone else goes away with us */
	ioctl(fd, TUNSETPERSIST, 0);
	memcpy(p->link.dev, ifr.ifr_name, sizeof p->link.dev);
	p->link.dev[sizeof p->link.dev - 1] = 0;
	p->link.ifindex = (int)if_nametoindex(p->link.dev);
	if (p->link.ifindex <= 0) {
		err = -errno;
		zt_log(p->zi, ZT_LOG_ERR, "tap %s: index: %s", p->link.dev, strerror(errno));
		close(fd);
		return err;
	}
	p->fd = fd;
	return 0;
}

/* Reading, and with GRO writing out what is held before the loop waits. */
static void tap_watch(struct tap *p, struct ev_loop *loop)
{
	p->loop = loop;
	p->gro_on = p->offload && p->opt_gro && p->gro.buf;
	p->gro.len = 0;
	ev_io_set(&p->io, p->fd, EV_READ);
	ev_io_start(loop, &p->io);
	if (p->gro_on)
		ev_prepare_start(loop, &p->prep);
}

/* A queue: another fd on the instance's device, with the flags and
 * offloads it got (a device's queues share them); never configures the
 * device. */
static int tap_queue_start(struct tap *q, struct ev_loop *loop)
{
	struct tap *p = q->instance;
	int err;

	if (!p->started) {
		zt_log(q->zi, ZT_LOG_ERR, "start: %s is not started", zt_inst_name(p->zi));
		return -ENOTCONN;
	}
	memcpy(q->name, p->link.dev, sizeof q->name);
	q->offload = p->offload;
	err = tap_open(q, q->offload);
	if (err < 0)
		return err;
	tap_watch(q, loop);
	q->started = true;
	__atomic_add_fetch(&p->queues_open, 1, __ATOMIC_RELAXED);
	zt_log(q->zi, ZT_LOG_INFO, "%s: queue open, offloads %s, gro %s", q->link.dev,
	       q->offload ? "on" : "off", q->gro_on ? "on" : "off");
	return 0;
}

static int tap_start(void *state, struct ev_loop *loop)
{
	struct tap *p = state;
	int err;

	if (p->started)
		return 0;
	if (p->instance)
		return tap_queue_start(p, loop);
	p->loop = loop;
	if (!p->link.have_settings)
		p->link.up = true;
	/* refused offloads fall back to frames one at a time, for good */
	p->offload = p->opt_offload && p->gbuf;
	err = tap_open(p, p->offload);
	if (err == -EOPNOTSUPP && p->offload) {
		p->opt_offload = p->offload = false;
		err = tap_open(p, false);
	}
	if (err < 0)
		return err;
	err = iflink_nl_open(&p->link);
	if (err < 0)
		goto fail;
	/* the device itself must take its MAC, MTU and flags; addresses and
	 * routes that fail are logged and the port runs without them */
	err = iflink_link_apply(&p->link, true);
	if (err < 0)
		goto fail;
	iflink_fill(&p->link);
	tap_buffers_fit(p);
	if (!p->buf) {
		err = -ENOMEM;
		goto fail;
	}
	tap_watch(p, loop);
	ev_timer_set(&p->mtimer, 0., p->mcast_every);
	ev_timer_start(loop, &p->mtimer);
	p->started = true;
	zt_log(p->zi, ZT_LOG_INFO, "%s: index %d, mtu %u, %s, offloads %s, gro %s", p->link.dev,
	       p->link.ifindex, p->link.mtu, p->link.up ? "up" : "down", p->offload ? "on" : "off",
	       p->gro_on ? "on" : "off");
	return 0;
fail:
	tap_stop(p);
	return err;
}

static void tap_destroy(void *state)
{
	struct tap *p = state;

	if (!p)
		return;
	if (p->fd >= 0)
		tap_stop(p);
	iflink_free(&p->link);
	iflink_set_free(&p->mcast);
	iflink_set_free(&p->mcast_new);
	free(p->buf);
	free(p->gbuf);
	free(p->gro.buf);
	free(p->frames);
	free(p);
}

static int tap_counters(struct tap *p)
{
	static const struct zt_counter_field fields[] = {
		ZT_COUNTER_FIELD(struct tap, rx_frames),
		ZT_COUNTER_FIELD(struct tap, rx_bytes),
		ZT_COUNTER_FIELD(struct tap, rx_short),
		ZT_COUNTER_FIELD(struct tap, rx_oversize),
		ZT_COUNTER_FIELD(struct tap, rx_errors),
		ZT_COUNTER_FIELD(struct tap, tx_frames),
		ZT_COUNTER_FIELD(struct tap, tx_bytes),
		ZT_COUNTER_FIELD(struct tap, tx_short),
		ZT_COUNTER_FIELD(struct tap, tx_oversize),
		ZT_COUNTER_FIELD(struct tap, tx_dropped),
		ZT_COUNTER_FIELD(struct tap, tx_errors),
		{ "netlink_errors", offsetof(struct tap, link.netlink_errors) },
		ZT_COUNTER_FIELD(struct tap, tso_frames),
		ZT_COUNTER_FIELD(struct tap, tso_segments),
		ZT_COUNTER_FIELD(struct tap, csum_fixed),
		ZT_COUNTER_FIELD(struct tap, offload_dropped),
		ZT_COUNTER_FIELD(struct tap, gro_frames),
		ZT_COUNTER_FIELD(struct tap, gro_segments),
	};

	return zt_counters_bind(p->zi, p, fields, sizeof fields / sizeof fields[0]);
}

/* The node of key for an error message, or the instance's own. */
static const struct zt_node *tap_at(const struct zt_node *conf, const char *key)
{
	const struct zt_node *n = zt_node_get(conf, key);

	return n ? n : conf;
}

/* The state of an instance or a queue with its data path's part: buffers
 * for batch frames of the MTU (with offload a super-frame, with gro too a
 * GRO frame), watchers, counters on zi.  NULL if out of memory. */
static struct tap *tap_new(struct zt_inst *zi, unsigned batch, unsigned mtu, bool offload, bool gro)
{
	struct tap *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	p->zi = zi;
	p->link.zi = zi;
	p->link.has_mac = true;
	p->fd = -1;
	p->batch = batch;
	p->link.mtu = mtu;
	p->opt_offload = offload;
	p->opt_gro = gro;
	p->frames = calloc(batch, sizeof *p->frames);
	if (offload)
		p->gbuf = malloc(TAP_GBUF_SIZE);
	if (offload && gro)
		p->gro.buf = malloc(TAP_GRO_SIZE);
	tap_buffers_fit(p);
	if (!p->frames || (offload && !p->gbuf) || (offload && gro && !p->gro.buf) || !p->buf ||
	    tap_counters(p) < 0) {
		tap_destroy(p);
		return NULL;
	}
	ev_init(&p->io, tap_on_read);
	p->io.data = p;
	ev_init(&p->mtimer, tap_on_mcast_timer);
	p->mtimer.data = p;
	ev_prepare_init(&p->prep, tap_on_prepare);
	p->prep.data = p;
	return p;
}

static int tap_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	const char *name = zt_conf_str(conf, "name");
	uint64_t every = zt_conf_duration_ms(conf, "multicast-poll");
	const char *why;
	struct tap *p;

	if (name && (why = iflink_name_check(name))) {
		zt_node_error(tap_at(conf, "name"), "%s", why);
		return -EINVAL;
	}
	if (every < 100 || every > 3600 * 1000) {
		zt_node_error(tap_at(conf, "multicast-poll"), "must be between 100ms and 1h");
		return -EINVAL;
	}
	p = tap_new(zi, (unsigned)zt_conf_uint(conf, "batch"), (unsigned)zt_conf_uint(conf, "mtu"),
		    zt_conf_bool(conf, "offload"), zt_conf_bool(conf, "gro"));
	if (!p)
		return -ENOMEM;
	if (name)
		memcpy(p->name, name, strlen(name) + 1);
	p->opt_mtu = p->link.mtu;
	p->link.txqueuelen = (unsigned)zt_conf_uint(conf, "txqueuelen");
	p->mcast_every = (double)every / 1000.;
	p->link.up = true;
	p->link.nlbuf = malloc(MNL_SOCKET_BUFFER_SIZE);
	if (!p->link.nlbuf) {
		tap_destroy(p);
		return -ENOMEM;
	}
	*state = p;
	return 0;
}

/* A queue of the instance: the data path's options, the rest unused.
 * From now on the instance opens the device with IFF_MULTI_QUEUE too. */
static int tap_queue(void *state, struct zt_inst *zi, unsigned queue, void **out)
{
	struct tap *p = state, *q;

	if (p->started)
		return -EBUSY;
	q = tap_new(zi, p->batch, p->link.mtu, p->opt_offload, p->opt_gro);
	if (!q)
		return -ENOMEM;
	q->instance = p;
	q->multi_queue = true;
	p->multi_queue = true;
	*out = q;
	return 0;
}

static const char *tap_port_name(void *state)
{
	struct tap *t = state;

	return t->link.dev[0] ? t->link.dev : NULL;
}

static const struct zt_iface_ops tap_ops = {
	.tx = tap_tx,
	.configure = tap_configure,
	.port_name = tap_port_name,
};

static const struct zt_opt tap_opts[] = {
	ZT_OPT_STR("name", NULL, "device name, at most 15 characters (default: chosen by the kernel)"),
	ZT_OPT_UINT("mtu", 2800, TAP_MTU_MIN, TAP_MTU_MAX, "MTU until the network sets one"),
	ZT_OPT_UINT("txqueuelen", 1000, 0, 100000, "the device's transmit queue length"),
	ZT_OPT_UINT("batch", 64, 1, 1024, "frames read per wakeup"),
	ZT_OPT_DURATION("multicast-poll", "2s", "how often to read the device's multicast groups"),
	ZT_OPT_BOOL("offload", true, "TCP segmentation and checksum offloads from the host"),
	ZT_OPT_BOOL("gro", true, "with offloads, merge TCP segments for the host into super-frames"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI,
	.name = "tap",
	.kind = ZT_IFACE,
	.summary = "a Linux TAP device",
	.opts = tap_opts,
	.create = tap_create,
	.start = tap_start,
	.stop = tap_stop,
	.destroy = tap_destroy,
	.ops.iface = &tap_ops,
	.queue = tap_queue,
};
