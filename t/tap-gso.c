/* The offload code of the tap and utun modules (ifaces/lib/offload.c) on
 * crafted frames: TCP super-frames as the
 * host hands them over with a virtio_net_hdr (IPv4 and IPv6, with and
 * without a VLAN tag, payloads from 1 byte to 64 KB, MTUs 1280, 1500 and
 * 2800) are cut into segments, and every segment is checked against what
 * this test computes on its own: lengths, IPv4 ids, sequence numbers,
 * flags, IP and TCP checksums, and the payloads put back together.  Then
 * checksums left to us (NEEDS_CSUM) on UDP and TCP, and malformed frames,
 * which must be refused without reading past their end.  Then GRO, the
 * other way: segments cut from a super-frame merge back into it, with the
 * vnet header Linux expects for it, and segments that must not merge are
 * refused, one rule at a time.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "../ifaces/lib/offload.h"

/* A super-frame of the largest MTU, Ethernet header, VLAN tag and 64 KB. */
#define TAP_GBUF_SIZE (10000 + 2 * (OFFLOAD_ETH_HLEN + OFFLOAD_VLAN_HLEN) + OFFLOAD_GSO_IPMAX)

#include "tap.h"

/* ---- an independent checksum: big-endian 16-bit words, one at a time ---- */

static uint32_t ref_add(uint32_t sum, const uint8_t *d, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sum += i % 2 ? d[i] : (uint32_t)d[i] << 8;
	return sum;
}

static unsigned ref_fold(uint32_t sum)
{
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static unsigned be16(const uint8_t *d)
{
	return (unsigned)d[0] << 8 | d[1];
}

static uint32_t be32(const uint8_t *d)
{
	return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

/* The L4 checksum of an IPv4 or IPv6 packet at ip (l4 bytes of IP header
 * before the transport header of l4len bytes), with the checksum field at
 * field counted as zero. */
static unsigned ref_l4_csum(const uint8_t *ip, bool v6, size_t l4, size_t l4len, unsigned proto, size_t field)
{
	uint32_t sum = 0;

	if (v6)
		sum = ref_add(sum, ip + 8, 32);
	else
		sum = ref_add(sum, ip + 12, 8);
	sum += proto;
	sum += (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
	sum = ref_add(sum, ip + l4, field);
	sum = ref_add(sum, ip + l4 + field + 2, l4len - field - 2);
	return ref_fold(sum);
}

/* ---- crafting frames ---- */

static uint32_t rnd_state = 0x5a7e57;

static uint8_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (uint8_t)(rnd_state >> 16);
}

struct spec {
	bool v6, vlan;
	size_t payload;
	unsigned gso_size;
	uint8_t flags;       /* TCP flags of the super-frame */
	size_t topt;         /* TCP option bytes (multiple of 4) */
};

#define SEQ0 0xfffff000u /* wraps within the larger frames */
#define ID0 0xfffe       /* wraps too */

/* Builds the super-frame into f; returns its length. */
static size_t craft(const struct spec *s, uint8_t *f, struct virtio_net_hdr *h)
{
	size_t l3 = s->vlan ? 18 : 14, iphl = s->v6 ? 40 : 20, thl = 20 + s->topt;
	size_t l4 = l3 + iphl, len = l4 + thl + s->payload;
	uint8_t *ip = f + l3, *tcp = f + l4;

	memset(f, 0, l4 + thl);
	memcpy(f, "\x02\x11\x22\x33\x44\x55\x02\x66\x77\x88\x99\xaa", 12);
	if (s->vlan) {
		f[12] = 0x81, f[13] = 0x00, f[14] = 0x20, f[15] = 0x07;
	}
	f[l3 - 2] = s->v6 ? 0x86 : 0x08;
	f[l3 - 1] = s->v6 ? 0xdd : 0x00;
	if (s->v6) {
		ip[0] = 0x60;
		offload_put16(ip + 4, thl + s->payload);
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, "\xfd\x00\x5a\x7e\x57\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x0a", 16);
		memcpy(ip + 24, "\xfd\x00\x5a\x7e\x57\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x0b", 16);
	} else {
		ip[0] = 0x45;
		offload_put16(ip + 2, iphl + thl + s->payload);
		offload_put16(ip + 4, ID0);
		ip[6] = 0x40;    /* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, "\xc6\x13\x02\x0a\xc6\x13\x02\x0b", 8);
		/* the host leaves the IP checksum of a super-frame to be set */
	}
	offload_put16(tcp, 40000);
	offload_put16(tcp + 2, 5201);
	tcp[4] = SEQ0 >> 24, tcp[5] = SEQ0 >> 16 & 0xff, tcp[6] = SEQ0 >> 8 & 0xff, tcp[7] = SEQ0 & 0xff;
	memcpy(tcp + 8, "\x12\x34\x56\x78", 4);
	tcp[12] = (uint8_t)(thl / 4 << 4);
	tcp[13] = s->flags;
	offload_put16(tcp + 14, 502);
	for (size_t i = 0; i < s->topt; i++)
		tcp[20 + i] = i < s->topt - 10 ? 1 : (uint8_t)(0x80 + i);   /* NOPs, then bytes */
	for (size_t i = 0; i < s->payload; i++)
		f[l4 + thl + i] = rnd();
	memset(h, 0, sizeof *h);
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->gso_type = s->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h->gso_size = (uint16_t)s->gso_size;
	h->hdr_len = (uint16_t)(l4 + thl);
	h->csum_start = (uint16_t)l4;
	h->csum_offset = 16;
	return len;
}

/* Cuts one super-frame and checks every segment; on the first problem
 * puts a description in why and returns false. */
static bool check(const struct spec *s, unsigned mtu, uint8_t *f, uint8_t *joined, char *why, size_t wlen)
{
	struct virtio_net_hdr h;
	size_t len = craft(s, f, &h);
	size_t l3 = s->vlan ? 18 : 14, iphl = s->v6 ? 40 : 20, thl = 20 + s->topt;
	size_t hdrs = iphl + thl, mss = s->gso_size < mtu - hdrs ? s->gso_size : mtu - hdrs;
	size_t want_n = (s->payload + mss - 1) / mss, got = 0;
	struct offload_gso g;

	if (offload_gso_parse(&h, f, len, mtu, &g) < 0) {
		snprintf(why, wlen, "refused");
		return false;
	}
	if (g.nseg != want_n) {
		snprintf(why, wlen, "%u segments, want %zu", g.nseg, want_n);
		return false;
	}
	for (unsigned i = 0; i < g.nseg; i++) {
		/* exactly the room the module promises to stay within */
		uint8_t *out = malloc(l3 + mtu), *ip, *tcp;
		size_t n, chunk = i + 1 < g.nseg ? mss : s->payload - (size_t)i * mss;
		unsigned fl = s->flags;

		if (!out)
			bail("malloc");
		n = offload_gso_segment(&g, f, i, out);
		ip = out + l3;
		tcp = ip + iphl;
#define FAIL(...) do { \
	size_t o_ = (size_t)snprintf(why, wlen, "segment %u: ", i); \
	snprintf(why + o_, wlen - o_, __VA_ARGS__); \
	free(out); \
	return false; \
} while (0)
		if (n != l3 + hdrs + chunk)
			FAIL("length %zu, want %zu", n, l3 + hdrs + chunk);
		if (n - l3 > mtu)
			FAIL("IP packet of %zu > mtu %u", n - l3, mtu);
		if (memcmp(out, f, l3) != 0)
			FAIL("Ethernet header changed");
		if (s->v6) {
			if (be16(ip + 4) != thl + chunk)
				FAIL("IPv6 payload length %u, want %zu", be16(ip + 4), thl + chunk);
			if (memcmp(ip, f + l3, 4) || memcmp(ip + 6, f + l3 + 6, 34))
				FAIL("IPv6 header changed");
		} else {
			uint32_t sum = ref_add(0, ip, 10);

			sum = ref_add(sum, ip + 12, 8);
			if (be16(ip + 2) != hdrs + chunk)
				FAIL("IPv4 total length %u, want %zu", be16(ip + 2), hdrs + chunk);
			if (be16(ip + 4) != ((ID0 + i) & 0xffff))
				FAIL("IPv4 id %u, want %u", be16(ip + 4), (ID0 + i) & 0xffff);
			if (be16(ip + 10) != ref_fold(sum))
				FAIL("IPv4 checksum %04x, want %04x", be16(ip + 10), ref_fold(sum));
			if (memcmp(ip + 6, f + l3 + 6, 4) || memcmp(ip + 12, f + l3 + 12, 8) || ip[0] != 0x45)
				FAIL("IPv4 header changed");
		}
		if (be32(tcp + 4) != (uint32_t)(SEQ0 + (uint32_t)((size_t)i * mss)))
			FAIL("seq %08x, want %08x", be32(tcp + 4), (uint32_t)(SEQ0 + (uint32_t)((size_t)i * mss)));
		if (i + 1 < g.nseg)
			fl &= ~0x09u;
		if (i > 0)
			fl &= ~0x80u;
		if (tcp[13] != fl)
			FAIL("flags %02x, want %02x", tcp[13], fl);
		if (memcmp(tcp, f + l3 + iphl, 4) || memcmp(tcp + 8, f + l3 + iphl + 8, 5) ||
		    memcmp(tcp + 14, f + l3 + iphl + 14, 2) || memcmp(tcp + 18, f + l3 + iphl + 18, thl - 18))
			FAIL("TCP header changed");
		if (be16(tcp + 16) != ref_l4_csum(ip, s->v6, iphl, thl + chunk, IPPROTO_TCP, 16))
			FAIL("TCP checksum %04x, want %04x", be16(tcp + 16),
			     ref_l4_csum(ip, s->v6, iphl, thl + chunk, IPPROTO_TCP, 16));
		memcpy(joined + got, tcp + thl, chunk);
		got += chunk;
		free(out);
#undef FAIL
	}
	if (got != s->payload || memcmp(joined, f + l3 + hdrs, s->payload) != 0) {
		snprintf(why, wlen, "payloads joined differ from the original");
		return false;
	}
	return true;
}

/* ---- checksums left to us ---- */

/* A non-GSO IPv4 (or IPv6) frame with a UDP or TCP packet of plen payload
 * bytes whose checksum field holds the pseudo-header's sum, as the host
 * leaves it; returns its length. */
static size_t craft_partial(uint8_t *f, bool v6, bool vlan, bool udp, size_t plen, struct virtio_net_hdr *h)
{
	struct spec s = { .v6 = v6, .vlan = vlan, .payload = plen, .gso_size = 1000, .flags = 0x18 };
	size_t len = craft(&s, f, h), l3 = vlan ? 18 : 14, iphl = v6 ? 40 : 20, l4 = l3 + iphl;
	size_t l4len = len - l4, field = udp ? 6 : 16;
	uint32_t sum = 0;

	if (udp) {
		/* an 8-byte UDP header where the TCP header was, then data */
		memmove(f + l4 + 8, f + l4 + 20, plen);
		len -= 12;
		l4len -= 12;
		f[l4 + 4] = (uint8_t)(l4len >> 8), f[l4 + 5] = (uint8_t)l4len;
		if (v6) {
			f[l3 + 6] = IPPROTO_UDP;
			offload_put16(f + l3 + 4, l4len);
		} else {
			f[l3 + 9] = IPPROTO_UDP;
			offload_put16(f + l3 + 2, iphl + l4len);
		}
	}
	sum = ref_add(0, f + l3 + (v6 ? 8 : 12), v6 ? 32 : 8);
	sum += udp ? IPPROTO_UDP : IPPROTO_TCP;
	sum += (uint32_t)l4len;
	sum = ~ref_fold(sum) & 0xffff;   /* the pseudo-header's sum, not inverted */
	offload_put16(f + l4 + field, sum);
	h->gso_type = VIRTIO_NET_HDR_GSO_NONE;
	h->gso_size = 0;
	h->csum_start = (uint16_t)l4;
	h->csum_offset = (uint16_t)field;
	return len;
}

static void test_partial(uint8_t *f)
{
	static const size_t sizes[] = { 0, 1, 2, 17, 1000, 1471 };
	unsigned good = 0, cases = 0;
	struct virtio_net_hdr h;
	size_t len;

	for (int v6 = 0; v6 < 2; v6++)
		for (int vlan = 0; vlan < 2; vlan++)
			for (int udp = 0; udp < 2; udp++)
				for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
					size_t l3 = vlan ? 18 : 14, iphl = v6 ? 40 : 20, field = udp ? 6 : 16;
					uint8_t *ip = f + l3;
					unsigned want;

					len = craft_partial(f, v6, vlan, udp, sizes[i], &h);
					cases++;
					if (offload_csum_partial(&h, f, len) < 0)
						continue;
					want = ref_l4_csum(ip, v6, iphl, len - l3 - iphl,
							   udp ? IPPROTO_UDP : IPPROTO_TCP, field);
					if (udp && want == 0)
						want = 0xffff;
					if (be16(ip + iphl + field) == want)
						good++;
					else
						diag("v6 %d vlan %d udp %d size %zu: %04x, want %04x", v6, vlan,
						     udp, sizes[i], be16(ip + iphl + field), want);
				}
	ok(good == cases, "checksums left to us: UDP and TCP, IPv4 and IPv6, VLAN or not");

	/* a UDP sum that comes out as zero must be sent as 0xffff: the last
	 * two bytes of data make it so */
	{
		uint8_t *udp = f + 14 + 20, saved[2];
		uint32_t sum;
		unsigned x;

		len = craft_partial(f, false, false, true, 100, &h);
		memcpy(saved, udp + 6, 2);
		memset(udp + 6, 0, 2);
		udp[8 + 98] = udp[8 + 99] = 0;
		sum = ref_add(ref_add(0, f + 14 + 12, 8), udp, 108) + IPPROTO_UDP + 108;
		x = 0xffff - (~ref_fold(sum) & 0xffff);
		udp[8 + 98] = (uint8_t)(x >> 8), udp[8 + 99] = (uint8_t)x;
		memcpy(udp + 6, saved, 2);
		ok(offload_csum_partial(&h, f, len) == 0 && be16(udp + 6) == 0xffff,
		   "a UDP checksum of zero goes out as 0xffff");
	}

	len = craft_partial(f, false, false, false, 100, &h);
	h.csum_start = (uint16_t)len;
	ok(offload_csum_partial(&h, f, len) == -EINVAL, "csum_start at the end refused");
	h.csum_start = (uint16_t)(len - 1);
	h.csum_offset = 0;
	ok(offload_csum_partial(&h, f, len) == -EINVAL, "a checksum field past the end refused");
	h.csum_start = 34;
	h.csum_offset = 0xffff;
	ok(offload_csum_partial(&h, f, len) == -EINVAL, "a huge csum_offset refused");
}

/* ---- malformed super-frames ---- */

static void test_malformed(uint8_t *f)
{
	struct spec s = { .v6 = false, .payload = 3000, .gso_size = 1448, .flags = 0x18, .topt = 12 };
	struct virtio_net_hdr h, hh;
	struct offload_gso g;
	size_t len, hlen;
	bool all;

	for (int v6 = 0; v6 < 2; v6++) {
		s.v6 = v6;
		len = craft(&s, f, &h);
		hlen = 14 + (v6 ? 40 : 20) + 32;
		all = true;
		/* cut short anywhere in the headers: each copy on the heap, so
		 * that a read past its end is caught under the sanitizers */
		for (size_t cut = 0; cut < hlen; cut++) {
			uint8_t *c = malloc(cut ? cut : 1);

			memcpy(c, f, cut);
			if (offload_gso_parse(&h, c, cut, 1500, &g) == 0)
				all = false;
			free(c);
		}
		ok(all, v6 ? "IPv6: headers cut short refused" : "IPv4: headers cut short refused");
		/* an IP length beyond the frame */
		ok(offload_gso_parse(&h, f, len - 1, 1500, &g) == -EINVAL,
		   v6 ? "IPv6: payload length past the frame refused" : "IPv4: total length past the frame refused");
		hh = h;
		hh.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
		ok(offload_gso_parse(&hh, f, len, 1500, &g) == -EINVAL, "GSO type of the other IP version refused");
		hh = h;
		hh.gso_size = 0;
		ok(offload_gso_parse(&hh, f, len, 1500, &g) == -EINVAL, "gso_size 0 refused");
		hh.gso_size = 1448;
		hh.gso_type = VIRTIO_NET_HDR_GSO_UDP;
		ok(offload_gso_parse(&hh, f, len, 1500, &g) == -EINVAL, "GSO of UDP refused");
		ok(offload_gso_parse(&h, f, len, (v6 ? 40 : 20) + 32, &g) == -EINVAL, "an MTU with no room for payload refused");
	}
	s.v6 = false;
	len = craft(&s, f, &h);
	f[14] = 0x44;
	ok(offload_gso_parse(&h, f, len, 1500, &g) == -EINVAL, "IPv4 header length under 20 refused");
	f[14] = 0x4f;
	ok(offload_gso_parse(&h, f, 14 + 50, 1500, &g) == -EINVAL, "IPv4 options past the frame refused");
	f[14] = 0x45;
	f[14 + 6] = 0x20;   /* more fragments */
	ok(offload_gso_parse(&h, f, len, 1500, &g) == -EINVAL, "an IPv4 fragment refused");
	f[14 + 6] = 0x40;
	f[14 + 9] = IPPROTO_UDP;
	ok(offload_gso_parse(&h, f, len, 1500, &g) == -EINVAL, "TCP GSO of a UDP packet refused");
	f[14 + 9] = IPPROTO_TCP;
	f[14 + 20 + 12] = 0x40;   /* data offset 16 bytes */
	ok(offload_gso_parse(&h, f, len, 1500, &g) == -EINVAL, "TCP data offset under 20 refused");
	f[14 + 20 + 12] = 0x80;
	f[12] = 0x08, f[13] = 0x06;
	ok(offload_gso_parse(&h, f, len, 1500, &g) == -EINVAL, "an ARP frame marked TCPv4 refused");

	/* IPv6 with an endless chain of extension headers running off the end */
	s.v6 = true;
	len = craft(&s, f, &h);
	f[14 + 6] = 0;
	for (size_t o = 14 + 40; o + 8 <= len; o += 8)
		f[o] = 60, f[o + 1] = 0;
	ok(offload_gso_parse(&h, f, len, 1500, &g) == -EINVAL, "IPv6 extension headers without end refused");
}

/* IPv6 with a destination options header before TCP: segments keep it,
 * and the payload length counts it. */
static void test_v6_ext(uint8_t *f, uint8_t *joined)
{
	struct spec s = { .v6 = true, .payload = 5000, .gso_size = 1400, .flags = 0x19 };
	struct virtio_net_hdr h;
	size_t len = craft(&s, f, &h), l4 = 14 + 40;
	struct offload_gso g;
	bool good = true;
	size_t got = 0;

	/* 8 bytes of destination options between IPv6 and TCP */
	memmove(f + l4 + 8, f + l4, len - l4);
	memset(f + l4, 0, 8);
	f[l4] = IPPROTO_TCP;
	f[l4 + 2] = 1, f[l4 + 3] = 4;   /* PadN of 4 */
	f[14 + 6] = 60;
	len += 8;
	offload_put16(f + 14 + 4, len - 14 - 40);
	if (offload_gso_parse(&h, f, len, 1500, &g) < 0 || g.l4 != l4 + 8) {
		ok(0, "IPv6 with a destination options header");
		return;
	}
	for (unsigned i = 0; i < g.nseg; i++) {
		uint8_t out[1500 + 18];
		size_t n = offload_gso_segment(&g, f, i, out), chunk = n - (l4 + 8 + 20);

		good = good && n - 14 <= 1500 && be16(out + 14 + 4) == n - 14 - 40 &&
		       memcmp(out + l4, f + l4, 8) == 0 &&
		       be16(out + l4 + 8 + 16) == ref_l4_csum(out + 14, true, 48, 20 + chunk, IPPROTO_TCP, 16);
		memcpy(joined + got, out + l4 + 28, chunk);
		got += chunk;
	}
	ok(good && got == 5000 && memcmp(joined, f + l4 + 28, 5000) == 0,
	   "IPv6 with a destination options header: kept, counted, checksummed");
}

/* ---- GRO: segments for the host merged back ---- */

static void put32(uint8_t *d, uint32_t v)
{
	d[0] = (uint8_t)(v >> 24), d[1] = (uint8_t)(v >> 16), d[2] = (uint8_t)(v >> 8), d[3] = (uint8_t)v;
}

/* The pseudo-header's sum, folded and not inverted, as Linux leaves it in
 * the checksum field of a TCP GSO packet. */
static unsigned ref_pseudo(const uint8_t *ip, bool v6, size_t l4len)
{
	uint32_t sum = v6 ? ref_add(0, ip + 8, 32) : ref_add(0, ip + 12, 8);

	sum += IPPROTO_TCP + (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
	return ~ref_fold(sum) & 0xffff;
}

/* Cuts the super-frame of s into segments of mtu with offload_gso_segment,
 * merges them all with the GRO code and checks that what comes out is the
 * super-frame again, with its IP length and checksum set, the pseudo sum
 * in the TCP checksum field and a vnet header for GSO that offload_gso_parse
 * itself would cut the same way. */
static bool roundtrip(const struct spec *s, unsigned mtu, uint8_t *f, uint8_t *seg, struct offload_gro *g,
		      char *why, size_t wlen)
{
	struct virtio_net_hdr h, mh;
	size_t len = craft(s, f, &h), l3 = 14, iphl = s->v6 ? 40 : 20, l4 = l3 + iphl;
	size_t thl = 20 + s->topt, mlen;
	uint8_t *ip = g->buf + l3, *tcp = g->buf + l4;
	struct offload_gso gs, again;
	struct offload_seg ts;
	uint32_t sum;

#define FAIL(...) do { snprintf(why, wlen, __VA_ARGS__); return false; } while (0)
	if (offload_gso_parse(&h, f, len, mtu, &gs) < 0)
		FAIL("super-frame refused");
	g->len = 0;
	for (unsigned i = 0; i < gs.nseg; i++) {
		size_t n = offload_gso_segment(&gs, f, i, seg);

		if (offload_gro_seg(seg, n, &ts) < 0)
			FAIL("segment %u not mergeable", i);
		if (i > 0 && !offload_gro_fits(g, seg, &ts))
			FAIL("segment %u does not fit", i);
		offload_gro_take(g, seg, n, &ts);
		if (i + 1 < gs.nseg && g->closed)
			FAIL("closed after segment %u of %u", i, gs.nseg);
	}
	if (g->nseg != gs.nseg)
		FAIL("%u segments merged, want %u", g->nseg, gs.nseg);
	mlen = offload_gro_close(g, &mh);
	if (mlen != len)
		FAIL("merged length %zu, want %zu", mlen, len);
	if (gs.nseg == 1) {
		/* alone, it goes as it came */
		if (memcmp(&mh, &offload_vnet_valid, sizeof mh) != 0 || memcmp(g->buf, seg, len) != 0)
			FAIL("a single segment changed");
		return true;
	}
	if (mh.flags != VIRTIO_NET_HDR_F_NEEDS_CSUM ||
	    mh.gso_type != (s->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4) ||
	    mh.gso_size != gs.mss || mh.hdr_len != l4 + thl || mh.csum_start != l4 || mh.csum_offset != 16)
		FAIL("vnet header flags %u type %u size %u hdr_len %u csum %u+%u", mh.flags, mh.gso_type,
		     mh.gso_size, mh.hdr_len, mh.csum_start, mh.csum_offset);
	if (!s->v6) {
		sum = ref_add(ref_add(0, ip, 10), ip + 12, 8);
		if (be16(ip + 10) != ref_fold(sum))
			FAIL("IPv4 checksum %04x, want %04x", be16(ip + 10), ref_fold(sum));
		memcpy(f + l3 + 10, ip + 10, 2);
	}
	if (be16(tcp + 16) != ref_pseudo(ip, s->v6, len - l4))
		FAIL("TCP checksum field %04x, want the pseudo sum %04x", be16(tcp + 16),
		     ref_pseudo(ip, s->v6, len - l4));
	memcpy(f + l4 + 16, tcp + 16, 2);
	/* lengths, id, sequence number, flags, options, payload: all of it */
	for (size_t i = 0; i < len; i++)
		if (g->buf[i] != f[i])
			FAIL("byte %zu is %02x, want %02x", i, g->buf[i], f[i]);
	/* the host can cut it the same way and complete its checksum */
	if (offload_gso_parse(&mh, g->buf, mlen, mtu, &again) < 0 || again.nseg != gs.nseg || again.mss != gs.mss)
		FAIL("the merged frame does not cut back the same");
	if (offload_csum_partial(&mh, g->buf, mlen) < 0 ||
	    be16(tcp + 16) != ref_l4_csum(ip, s->v6, iphl, len - l4, IPPROTO_TCP, 16))
		FAIL("TCP checksum completed from the pseudo sum is wrong");
	return true;
#undef FAIL
}

static void test_gro_roundtrip(uint8_t *f, uint8_t *seg, struct offload_gro *g)
{
	static const unsigned mtus[] = { 1280, 1500, 2800, 9000 };
	char why[160], name[200];

	for (int v6 = 0; v6 < 2; v6++)
		for (int opts = 0; opts < 2; opts++) {
			bool good = true;

			why[0] = 0;
			for (size_t m = 0; good && m < sizeof mtus / sizeof mtus[0]; m++) {
				size_t hdrs = (v6 ? 40 : 20) + 20 + (opts ? 12 : 0), mss = mtus[m] - hdrs;
				size_t most = 65535 - hdrs < OFFLOAD_GRO_SEGS * mss ? 65535 - hdrs : OFFLOAD_GRO_SEGS * mss;
				size_t sizes[] = { 1, mss, mss + 1, 2 * mss, 3 * mss + 7, 10000, most - 1, most };

				for (size_t i = 0; good && i < sizeof sizes / sizeof sizes[0]; i++) {
					struct spec s = {
						.v6 = v6, .payload = sizes[i], .gso_size = (unsigned)mss,
						.flags = i % 2 ? 0x18 : 0x10, .topt = opts ? 12 : 0,
					};
					char w[120];

					if (!roundtrip(&s, mtus[m], f, seg, g, w, sizeof w)) {
						good = false;
						snprintf(why, sizeof why, "mtu %u, payload %zu: %s", mtus[m], sizes[i], w);
					}
				}
			}
			snprintf(name, sizeof name, "GRO %s, TCP header %d: segments merge back into the super-frame",
				 v6 ? "IPv6" : "IPv4", opts ? 32 : 20);
			ok(good, name);
			if (!good)
				diag("%s", why);
		}
}

/* Takes the first segment, then offers the next: whether it is refused. */
static bool gro_refused(struct offload_gro *g, const uint8_t *first, size_t flen, const uint8_t *next, size_t nlen)
{
	struct offload_seg s;

	g->len = 0;
	if (offload_gro_seg(first, flen, &s) < 0)
		bail("the first segment refused");
	offload_gro_take(g, first, flen, &s);
	return offload_gro_seg(next, nlen, &s) < 0 || !offload_gro_fits(g, next, &s);
}

/* Each rule on its own: the second of two segments that would merge is
 * changed in one way, and must be refused (or, for the few changes that
 * are allowed, taken). */
static void test_gro_refuse(uint8_t *f, struct offload_gro *g)
{
	static uint8_t s0[2000], s1[2000], nx[2100];
	struct spec sp = { .payload = 3 * 1000, .gso_size = 1000, .flags = 0x18, .topt = 12 };
	struct virtio_net_hdr h;
	struct offload_gso gs;
	struct offload_seg ts;
	char name[160];
	size_t n0, n1, nl;

	for (int v6 = 0; v6 < 2; v6++) {
		const char *fam = v6 ? "IPv6" : "IPv4";
		size_t l4 = 14 + (v6 ? 40 : 20);
		uint8_t *ip = nx + 14, *tcp = nx + l4;

		sp.v6 = v6;
		if (offload_gso_parse(&h, f, craft(&sp, f, &h), 1500, &gs) < 0)
			bail("craft");
		n0 = offload_gso_segment(&gs, f, 0, s0);
		n1 = offload_gso_segment(&gs, f, 1, s1);
#define TRY(what, want, change) do { \
	memcpy(nx, s1, n1); \
	nl = n1; \
	change; \
	snprintf(name, sizeof name, "GRO %s: %s %s", fam, what, (want) ? "refused" : "taken"); \
	ok(gro_refused(g, s0, n0, nx, nl) == (want), name); \
} while (0)
		TRY("the next segment", false, (void)0);
		TRY("another destination port", true, tcp[3]++);
		TRY("another source port", true, tcp[0] ^= 0x80);
		TRY("another source address", true, ip[v6 ? 23 : 15]++);
		TRY("another destination address", true, ip[v6 ? 39 : 19]++);
		TRY("another Ethernet source", true, nx[11]++);
		TRY("a sequence gap", true, put32(tcp + 4, be32(tcp + 4) + 1));
		TRY("a sequence number one back", true, put32(tcp + 4, be32(tcp + 4) - 1));
		TRY("another acknowledgement", true, tcp[11]++);
		TRY("another window", true, tcp[15]++);
		TRY("other TCP options", true, tcp[31]++);
		TRY("SYN", true, tcp[13] |= 0x02);
		TRY("FIN", true, tcp[13] |= 0x01);
		TRY("RST", true, tcp[13] |= 0x04);
		TRY("URG", true, tcp[13] |= 0x20);
		TRY("ECE", true, tcp[13] |= 0x40);
		TRY("CWR", true, tcp[13] |= 0x80);
		TRY("no ACK", true, tcp[13] = 0x08);
		TRY("AE (a reserved bit)", true, tcp[12] |= 0x01);
		TRY("PSH", false, tcp[13] |= 0x08);
		TRY("no payload", true, { nl = l4 + 32; v6 ? offload_put16(ip + 4, 32) : offload_put16(ip + 2, 52); });
		TRY("Ethernet padding after the packet", true, nx[nl++] = 0);
		TRY("a longer payload than the first's", true, {
			memcpy(nx + nl, nx + nl - 10, 10);
			nl += 10;
			v6 ? offload_put16(ip + 4, nl - 54) : offload_put16(ip + 2, nl - 14);
		});
		if (v6) {
			TRY("another traffic class", true, ip[1] ^= 0x10);
			TRY("another flow label", true, ip[3] ^= 1);
			TRY("another hop limit", true, ip[7]--);
			TRY("an extension header", true, ip[6] = 60);
		} else {
			TRY("another TOS", true, ip[1] ^= 0x04);
			TRY("another TTL", true, ip[8]--);
			TRY("DF cleared", true, ip[6] = 0);
			TRY("an IPv4 id gap", true, offload_put16(ip + 4, be16(ip + 4) + 1));
			TRY("the same IPv4 id with DF", false, offload_put16(ip + 4, be16(ip + 4) - 1));
			TRY("IPv4 options", true, ip[0] = 0x46);
			TRY("more fragments", true, ip[6] |= 0x20);
			TRY("a fragment offset", true, ip[7] = 1);
		}
#undef TRY
	}

	/* the same IPv4 id is allowed only with DF */
	sp.v6 = false;
	offload_gso_parse(&h, f, craft(&sp, f, &h), 1500, &gs);
	n0 = offload_gso_segment(&gs, f, 0, s0);
	n1 = offload_gso_segment(&gs, f, 1, s1);
	s0[20] = 0;          /* no DF */
	memcpy(nx, s1, n1);
	nx[20] = 0;
	ok(!gro_refused(g, s0, n0, nx, n1), "GRO IPv4 without DF: the next id taken");
	offload_put16(nx + 18, be16(nx + 18) - 1);
	ok(gro_refused(g, s0, n0, nx, n1), "GRO IPv4 without DF: the same id refused");

	/* a tag, whatever follows */
	sp.vlan = true;
	offload_gso_parse(&h, f, craft(&sp, f, &h), 1500, &gs);
	n0 = offload_gso_segment(&gs, f, 0, s0);
	ok(offload_gro_seg(s0, n0, &ts) == -EINVAL, "GRO: a VLAN-tagged segment refused");
	sp.vlan = false;

	/* a short segment ends the merge: nothing joins after it */
	sp.payload = 1000 + 300;
	sp.flags = 0x10;
	offload_gso_parse(&h, f, craft(&sp, f, &h), 1500, &gs);
	n0 = offload_gso_segment(&gs, f, 0, s0);
	n1 = offload_gso_segment(&gs, f, 1, s1);
	gro_refused(g, s0, n0, s1, n1);
	offload_gro_seg(s1, n1, &ts);
	offload_gro_take(g, s1, n1, &ts);
	memcpy(nx, s0, n0);
	put32(nx + 34 + 4, g->seq);
	offload_put16(nx + 18, g->id + 1);
	ok(g->closed && offload_gro_seg(nx, n0, &ts) == 0 && !offload_gro_fits(g, nx, &ts),
	   "GRO: a full segment after a short one refused");

	/* a PSH segment ends it too */
	sp.payload = 3000;
	offload_gso_parse(&h, f, craft(&sp, f, &h), 1500, &gs);
	n0 = offload_gso_segment(&gs, f, 0, s0);
	n1 = offload_gso_segment(&gs, f, 1, s1);
	s1[34 + 13] |= 0x08;
	gro_refused(g, s0, n0, s1, n1);
	offload_gro_seg(s1, n1, &ts);
	offload_gro_take(g, s1, n1, &ts);
	nl = offload_gso_segment(&gs, f, 2, nx);
	ok(g->closed && (g->buf[34 + 13] & 0x08) && offload_gro_seg(nx, nl, &ts) == 0 && !offload_gro_fits(g, nx, &ts),
	   "GRO: PSH kept on the merged frame, and nothing joins after it");
}

/* Limits: at most OFFLOAD_GRO_SEGS segments, and an IP packet of 64 KB. */
static void test_gro_limits(uint8_t *f, uint8_t *seg, struct offload_gro *g)
{
	struct spec sp = { .payload = 60000, .gso_size = 1000, .flags = 0x10 };
	struct virtio_net_hdr h;
	struct offload_gso gs;
	struct offload_seg ts;
	unsigned i, taken = 0;
	size_t n;

	offload_gso_parse(&h, f, craft(&sp, f, &h), 1500, &gs);
	g->len = 0;
	for (i = 0; i < gs.nseg; i++) {
		n = offload_gso_segment(&gs, f, i, seg);
		offload_gro_seg(seg, n, &ts);
		if (i > 0 && !offload_gro_fits(g, seg, &ts))
			break;
		offload_gro_take(g, seg, n, &ts);
		taken++;
	}
	ok(taken == OFFLOAD_GRO_SEGS && g->closed, "GRO: the segment after the 44th refused");

	/* 9000-byte MTU: after 7 full segments, an 8th full one would pass
	 * 64 KB, while the short last one just fits */
	sp.payload = 65535 - 40;
	sp.gso_size = 8960;
	offload_gso_parse(&h, f, craft(&sp, f, &h), 9000, &gs);
	g->len = 0;
	for (i = 0; i < 7; i++) {
		n = offload_gso_segment(&gs, f, i, seg);
		if (offload_gro_seg(seg, n, &ts) < 0 || (i > 0 && !offload_gro_fits(g, seg, &ts)))
			break;
		offload_gro_take(g, seg, n, &ts);
	}
	n = offload_gso_segment(&gs, f, 0, seg);
	put32(seg + 34 + 4, g->seq);
	offload_put16(seg + 18, g->id + 1);
	ok(i == 7 && offload_gro_seg(seg, n, &ts) == 0 && !offload_gro_fits(g, seg, &ts),
	   "GRO: a segment that would make the packet pass 64 KB refused");
	n = offload_gso_segment(&gs, f, 7, seg);
	ok(offload_gro_seg(seg, n, &ts) == 0 && offload_gro_fits(g, seg, &ts) && (offload_gro_take(g, seg, n, &ts), g->closed) &&
	   g->len == 14 + 65535, "GRO: one that makes it exactly 64 KB taken, and closes it");
}

int main(void)
{
	static const unsigned mtus[] = { 1280, 1500, 2800 };
	uint8_t *f = malloc(TAP_GBUF_SIZE), *joined = malloc(TAP_GBUF_SIZE);
	struct offload_gro g = { .buf = malloc(OFFLOAD_GRO_SIZE) };
	char why[160], name[200];

	if (!f || !joined || !g.buf)
		bail("malloc");
	plan(2 * 2 * 3 * 2 + 5 + 2 * 6 + 7 + 1 + 4 + 2 * 23 + 4 + 8 + 5 + 3);
	for (int v6 = 0; v6 < 2; v6++)
		for (int vlan = 0; vlan < 2; vlan++)
			for (size_t m = 0; m < sizeof mtus / sizeof mtus[0]; m++)
				for (int opts = 0; opts < 2; opts++) {
					unsigned mtu = mtus[m];
					size_t thl = 20 + (opts ? 12 : 0), hdrs = (v6 ? 40 : 20) + thl;
					size_t mss = mtu - hdrs, max = 65535 - hdrs;
					size_t sizes[] = { 1, 2, 100, mss - 1, mss, mss + 1, 2 * mss, 3 * mss + 7,
							   10000, 32768, 40001, max - 1, max };
					unsigned gsos[] = { (unsigned)mss, (unsigned)mss / 2 + 1, 9000, 536 };
					bool good = true;

					why[0] = 0;
					for (size_t i = 0; good && i < sizeof sizes / sizeof sizes[0]; i++)
						for (size_t j = 0; good && j < sizeof gsos / sizeof gsos[0]; j++) {
							/* FIN and PSH, CWR, or ACK only */
							static const uint8_t flags[] = { 0x19, 0x90, 0x10 };
							struct spec s = {
								.v6 = v6, .vlan = vlan, .payload = sizes[i],
								.gso_size = gsos[j], .flags = flags[(i + j) % 3],
								.topt = opts ? 12 : 0,
							};
							char w[120];

							if (!check(&s, mtu, f, joined, w, sizeof w)) {
								good = false;
								snprintf(why, sizeof why, "payload %zu, gso_size %u: %s",
									 sizes[i], gsos[j], w);
							}
						}
					snprintf(name, sizeof name, "%s%s, mtu %u, TCP header %zu: 1 to %zu bytes cut and checked",
						 v6 ? "IPv6" : "IPv4", vlan ? " in VLAN" : "", mtu, thl, max);
					ok(good, name);
					if (!good)
						diag("%s", why);
				}
	test_partial(f);
	test_malformed(f);
	test_v6_ext(f, joined);
	test_gro_roundtrip(f, joined, &g);
	test_gro_refuse(f, &g);
	test_gro_limits(f, joined, &g);
	free(g.buf);
	free(f);
	free(joined);
	return tap_done();
}
