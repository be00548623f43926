/* offload: segmentation, checksums and GRO for virtio_net_hdr ports; see
 * offload.h. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <netinet/in.h>

#include "offload.h"

/* Four 32-bit lanes (GCC's and clang's vector extension: SSE2 on x86-64,
 * NEON on arm64, plain words where there is no SIMD). */
typedef uint32_t offload_lanes __attribute__((vector_size(16)));

/* Turns of 32 bytes before the lanes are folded: a turn adds at most
 * 2 * 0xffff to a lane, which holds 32768 such turns. */
#define OFFLOAD_SUM_TURNS 32768

/* The one's complement sum of len bytes, as 16-bit words loaded in host
 * order (the sum does not depend on the order, RFC 1071); an odd last byte
 * is padded with a zero.  Pieces summed one after the other must all have
 * an even length except the last.  The bulk goes 32 bytes a turn, each
 * 32-bit lane adding its two words: the sender's ztd sums every byte of a
 * TCP stream here (the segments' checksums), and this loop was a fifth of
 * its instructions when it took 4 bytes a turn. */
static uint64_t offload_sum(uint64_t acc, const uint8_t *d, size_t len)
{
	uint32_t w;
	uint16_t h;

	while (len >= 32) {
		offload_lanes a = { 0 }, b = { 0 };

		for (unsigned turns = 0; len >= 32 && turns < OFFLOAD_SUM_TURNS; d += 32, len -= 32, turns++) {
			offload_lanes v, x;

			memcpy(&v, d, sizeof v);
			memcpy(&x, d + 16, sizeof x);
			a += (v & 0xffff) + (v >> 16);
			b += (x & 0xffff) + (x >> 16);
		}
		for (unsigned i = 0; i < 4; i++)
			acc += (uint64_t)a[i] + b[i];
	}
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
static uint16_t offload_csum(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

unsigned offload_get16(const uint8_t *d)
{
	return (unsigned)d[0] << 8 | d[1];
}

void offload_put16(uint8_t *d, size_t v)
{
	d[0] = (uint8_t)(v >> 8);
	d[1] = (uint8_t)v;
}

/* The offset of the network header and its ethertype: after the Ethernet
 * header and at most one 802.1Q or 802.1ad tag.  0 if the frame is too
 * short for them. */
static size_t offload_l3(const uint8_t *f, size_t len, unsigned *type)
{
	size_t l3 = OFFLOAD_ETH_HLEN;

	if (len < OFFLOAD_ETH_HLEN)
		return 0;
	*type = offload_get16(f + 12);
	if (*type == 0x8100 || *type == 0x88a8) {
		l3 += OFFLOAD_VLAN_HLEN;
		if (len < l3)
			return 0;
		*type = offload_get16(f + 16);
	}
	return l3;
}

/* Checks a GSO frame of len bytes and plans its segments: each one's IP
 * packet fits mtu.  0, or -EINVAL for anything but a well-formed IPv4 or
 * IPv6 TCP frame of the type the header says. */
int offload_gso_parse(const struct virtio_net_hdr *h, const uint8_t *f, size_t len,
			 unsigned mtu, struct offload_gso *g)
{
	unsigned type = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN, et = 0, next;
	size_t l3, l4, iplen, thl;

	l3 = offload_l3(f, len, &et);
	if (!l3)
		return -EINVAL;
	if (type == VIRTIO_NET_HDR_GSO_TCPV4) {
		if (et != 0x0800 || len < l3 + 20 || f[l3] >> 4 != 4)
			return -EINVAL;
		l4 = l3 + (size_t)(f[l3] & 15) * 4;
		iplen = offload_get16(f + l3 + 2);
		/* no options cut short, TCP, not a fragment (MF or an offset) */
		if (l4 < l3 + 20 || len < l4 || f[l3 + 9] != IPPROTO_TCP ||
		    (f[l3 + 6] & 0x3f) || f[l3 + 7])
			return -EINVAL;
		g->v6 = false;
	} else if (type == VIRTIO_NET_HDR_GSO_TCPV6) {
		if (et != 0x86dd || len < l3 + 40 || f[l3] >> 4 != 6)
			return -EINVAL;
		iplen = offload_get16(f + l3 + 4);
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

/* Sets the length of the IP packet at ip (iplen bytes; for IPv4 also the
 * header's checksum, over its ihl bytes) and returns the sum of the TCP
 * pseudo-header for tcplen bytes of TCP. */
static uint64_t offload_ip_finish(uint8_t *ip, bool v6, size_t ihl, size_t iplen, size_t tcplen)
{
	uint8_t pseudo[8] = { 0 };
	uint64_t acc;
	uint16_t sum;

	if (!v6) {
		offload_put16(ip + 2, iplen);
		ip[10] = ip[11] = 0;
		sum = offload_csum(offload_sum(0, ip, ihl));
		memcpy(ip + 10, &sum, 2);
		acc = offload_sum(0, ip + 12, 8);
		pseudo[1] = IPPROTO_TCP;
		offload_put16(pseudo + 2, tcplen);
		return offload_sum(acc, pseudo, 4);
	}
	offload_put16(ip + 4, iplen - 40);
	acc = offload_sum(0, ip + 8, 32);
	offload_put16(pseudo, tcplen >> 16);
	offload_put16(pseudo + 2, tcplen & 0xffff);
	pseudo[7] = IPPROTO_TCP;
	return offload_sum(acc, pseudo, 8);
}

/* Writes segment i of the super-frame f into out (room for l3 plus the
 * MTU given to offload_gso_parse) with its lengths, IPv4 id, sequence number,
 * flags and checksums set; returns the segment's length. */
size_t offload_gso_segment(const struct offload_gso *g, const uint8_t *f, unsigned i, uint8_t *out)
{
	size_t off = (size_t)i * g->mss;
	size_t chunk = g->payload - off < g->mss ? g->payload - off : g->mss;
	size_t tcplen = g->hlen - g->l4 + chunk;
	uint8_t *ip = out + g->l3, *tcp = out + g->l4;
	uint32_t seq;
	uint64_t acc;
	uint16_t sum;

	memcpy(out, f, g->hlen);
	memcpy(out + g->hlen, f + g->hlen + off, chunk);
	if (!g->v6)
		offload_put16(ip + 4, (offload_get16(ip + 4) + i) & 0xffff);
	acc = offload_ip_finish(ip, g->v6, g->l4 - g->l3, g->hlen - g->l3 + chunk, tcplen);
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
	sum = offload_csum(offload_sum(acc, tcp, tcplen));
	memcpy(tcp + 16, &sum, 2);
	return g->hlen + chunk;
}

/* Fills in the checksum the host left to us (VIRTIO_NET_HDR_F_NEEDS_CSUM):
 * from csum_start to the end of the frame, where the host already put the
 * pseudo-header's sum, stored at csum_start + csum_offset.  0 or -EINVAL. */
int offload_csum_partial(const struct virtio_net_hdr *h, uint8_t *f, size_t len)
{
	size_t start = h->csum_start, at = start + h->csum_offset;
	uint16_t sum;

	if (start >= len || at + 2 > len)
		return -EINVAL;
	sum = offload_csum(offload_sum(0, f + start, len - start));
	/* UDP's checksum field is at 6: there a zero means none */
	if (sum == 0 && h->csum_offset == 6)
		sum = 0xffff;
	memcpy(f + at, &sum, 2);
	return 0;
}

const struct virtio_net_hdr offload_vnet_valid = {
	.flags = VIRTIO_NET_HDR_F_DATA_VALID,
	.gso_type = VIRTIO_NET_HDR_GSO_NONE,
};

static uint32_t offload_get32(const uint8_t *d)
{
	return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

/* Checks whether a frame for the host may be merged with others: an
 * untagged Ethernet frame holding exactly one IPv4 packet (no options, not
 * a fragment) or IPv6 packet (TCP right after the fixed header) of TCP
 * with payload and the flags ACK or ACK and PSH.  0 and s filled, or
 * -EINVAL. */
int offload_gro_seg(const uint8_t *f, size_t len, struct offload_seg *s)
{
	const uint8_t *ip = f + OFFLOAD_ETH_HLEN, *tcp;
	size_t l4, iplen, thl;

	if (len < OFFLOAD_ETH_HLEN + 20)
		return -EINVAL;
	switch (offload_get16(f + 12)) {
	case 0x0800:
		/* IHL 5, TCP, no flag but DF, offset 0 */
		if (ip[0] != 0x45 || ip[9] != IPPROTO_TCP || (ip[6] & 0xbf) || ip[7])
			return -EINVAL;
		iplen = offload_get16(ip + 2);
		l4 = OFFLOAD_ETH_HLEN + 20;
		s->v6 = false;
		break;
	case 0x86dd:
		if (len < OFFLOAD_ETH_HLEN + 40 || ip[0] >> 4 != 6 || ip[6] != IPPROTO_TCP)
			return -EINVAL;
		iplen = 40 + offload_get16(ip + 4);
		l4 = OFFLOAD_ETH_HLEN + 40;
		s->v6 = true;
		break;
	default:
		return -EINVAL;
	}
	/* the packet ends the frame: no padding after it */
	if (OFFLOAD_ETH_HLEN + iplen != len || len < l4 + 20)
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

/* Whether the segment f (checked by offload_gro_seg) continues the frame being
 * merged: the same Ethernet header; the same IP version, addresses, TOS or
 * traffic class and flow label, TTL or hop limit and DF bit; the IPv4 id
 * one more than the last segment's (or the same, with DF); the same ports,
 * acknowledgement, window and TCP options; the next sequence number; no
 * more payload than the first segment; and room for it. */
bool offload_gro_fits(const struct offload_gro *g, const uint8_t *f, const struct offload_seg *s)
{
	const uint8_t *ip = f + OFFLOAD_ETH_HLEN, *tcp = f + s->l4;
	const uint8_t *gip = g->buf + OFFLOAD_ETH_HLEN, *gtcp = g->buf + g->l4;

	if (!g->len || g->closed || s->v6 != g->v6 || s->hlen != g->hlen ||
	    s->payload > g->mss || g->len + s->payload > OFFLOAD_GRO_SIZE)
		return false;
	if (memcmp(f, g->buf, OFFLOAD_ETH_HLEN) != 0)
		return false;
	if (g->v6) {
		if (memcmp(ip, gip, 4) != 0 || memcmp(ip + 6, gip + 6, 34) != 0)
			return false;
	} else {
		unsigned id = offload_get16(ip + 4);

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
	return offload_get32(tcp + 4) == g->seq;
}

/* Takes the segment f of len bytes (checked by offload_gro_seg): the first one
 * whole, the others' payload after it.  A segment with PSH, one shorter
 * than the first, the last one allowed, or one that fills the buffer
 * closes the frame. */
void offload_gro_take(struct offload_gro *g, const uint8_t *f, size_t len, const struct offload_seg *s)
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
	g->seq = offload_get32(tcp + 4) + (uint32_t)s->payload;
	if (!g->v6)
		g->id = offload_get16(f + OFFLOAD_ETH_HLEN + 4);
	if ((tcp[13] & 0x08) || s->payload < g->mss || g->nseg >= OFFLOAD_GRO_SEGS || g->len == OFFLOAD_GRO_SIZE)
		g->closed = true;
}

/* Finishes the frame held and fills in its vnet header h; returns its
 * length.  A single segment goes as it came.  A merged frame gets its IP
 * length (and IPv4 header checksum) and, as Linux does for a TCP GSO
 * packet, the pseudo-header's sum in the TCP checksum field, with GSO and
 * NEEDS_CSUM in h: the host cuts it or checks it as a whole. */
size_t offload_gro_close(struct offload_gro *g, struct virtio_net_hdr *h)
{
	uint8_t *ip = g->buf + OFFLOAD_ETH_HLEN, *tcp = g->buf + g->l4;
	size_t iplen = g->len - OFFLOAD_ETH_HLEN, tcplen = g->len - g->l4;
	uint64_t acc;
	uint16_t sum;

	if (g->nseg < 2) {
		*h = offload_vnet_valid;
		return g->len;
	}
	acc = offload_ip_finish(ip, g->v6, 20, iplen, tcplen);
	sum = (uint16_t)~offload_csum(acc);
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

void offload_tx_count(const struct offload_tx_counts *c, int err, unsigned n, uint64_t bytes)
{
	if (err == -EAGAIN || err == -EWOULDBLOCK || err == -ENOBUFS) {
		*c->dropped += n;
	} else if (err < 0) {
		*c->errors += n;
	} else {
		*c->packets += n;
		*c->bytes += bytes;
	}
}

void offload_gro_flush(struct offload_gro *g, const struct offload_tx_counts *c)
{
	size_t skip = g->skip;
	struct virtio_net_hdr h;
	size_t len;
	int err;

	if (!g->len)
		return;
	len = offload_gro_close(g, &h);
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		h.csum_start = (uint16_t)(h.csum_start - skip);
		h.hdr_len = (uint16_t)(h.hdr_len - skip);
	}
	err = g->write(g->port, &h, g->buf + skip, len - skip);
	offload_tx_count(c, err, g->nseg, g->bytes - (uint64_t)g->nseg * skip);
	if (err == 0 && g->nseg > 1) {
		(*c->gro_frames)++;
		*c->gro_segments += g->nseg;
	}
	g->len = 0;
}

bool offload_gro_add(struct offload_gro *g, const uint8_t *f, size_t len, const struct offload_tx_counts *c)
{
	struct offload_seg s;

	if (offload_gro_seg(f, len, &s) < 0) {
		offload_gro_flush(g, c);
		return false;
	}
	if (!offload_gro_fits(g, f, &s))
		offload_gro_flush(g, c);
	offload_gro_take(g, f, len, &s);
	if (g->closed)
		offload_gro_flush(g, c);
	return true;
}
