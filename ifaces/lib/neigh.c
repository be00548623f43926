/* neigh: ARP and IPv6 neighbour discovery read from and built into
 * Ethernet frames, and a table of IP to MAC mappings (see neigh.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "neigh.h"

#define NEIGH_ICMP6 58
#define NEIGH_ND_NS 135
#define NEIGH_ND_NA 136
#define NEIGH_OPT_SLLA 1
#define NEIGH_OPT_TLLA 2

static unsigned neigh_get16(const uint8_t *d)
{
	return (unsigned)d[0] << 8 | d[1];
}

static void neigh_put16(uint8_t *d, unsigned v)
{
	d[0] = (uint8_t)(v >> 8);
	d[1] = (uint8_t)v;
}

/* The ICMPv6 checksum of the message at icmp (len bytes) between src and
 * dst: 0 when a received message is intact. */
static unsigned neigh_icmp6_sum(const uint8_t *src, const uint8_t *dst, const uint8_t *icmp, size_t len)
{
	uint32_t acc = 0;
	size_t i;

	for (i = 0; i < 16; i += 2)
		acc += neigh_get16(src + i) + neigh_get16(dst + i);
	acc += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + NEIGH_ICMP6;
	for (i = 0; i + 1 < len; i += 2)
		acc += neigh_get16(icmp + i);
	if (len & 1)
		acc += (uint32_t)icmp[len - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return ~acc & 0xffff;
}

static int neigh_parse_arp(const uint8_t *frame, size_t len, struct neigh_msg *m)
{
	const uint8_t *a = frame + NEIGH_ETH_HLEN;
	unsigned op;

	/* Ethernet and IPv4, 6- and 4-byte addresses; padding may follow */
	if (len < NEIGH_ETH_HLEN + 28 || neigh_get16(a) != 1 || neigh_get16(a + 2) != NEIGH_ETH_IP4 ||
	    a[4] != 6 || a[5] != 4)
		return -EINVAL;
	op = neigh_get16(a + 6);
	if (op != 1 && op != 2)
		return -EINVAL;
	/* a sender at a multicast MAC would poison the table */
	if (a[8] & 1)
		return -EINVAL;
	memset(m, 0, sizeof *m);
	m->kind = op == 1 ? NEIGH_ARP_REQUEST : NEIGH_ARP_REPLY;
	m->family = AF_INET;
	memcpy(m->eth_src, frame + 6, 6);
	memcpy(m->sender_mac, a + 8, 6);
	memcpy(m->sender_ip, a + 14, 4);
	memcpy(m->target_ip, a + 24, 4);
	return 1;
}

/* Reads the options after an NS or NA: the one link-layer option wanted
 * (SLLA for NS, TLLA for NA), each option at least 8 bytes. */
static int neigh_parse_opts(const uint8_t *o, size_t len, unsigned want, struct neigh_msg *m)
{
	while (len) {
		size_t olen;

		if (len < 2 || o[1] == 0)
			return -EINVAL;
		olen = (size_t)o[1] * 8;
		if (olen > len)
			return -EINVAL;
		if (o[0] == want) {
			if (o[1] != 1 || (o[2] & 1))
				return -EINVAL;
			memcpy(m->sender_mac, o + 2, 6);
			m->has_lla = true;
		}
		o += olen;
		len -= olen;
	}
	return 0;
}

static int neigh_parse_nd(const uint8_t *frame, size_t len, struct neigh_msg *m)
{
	const uint8_t *ip = frame + NEIGH_ETH_HLEN, *icmp = ip + 40;
	size_t plen;
	unsigned type;

	if (len < NEIGH_ETH_HLEN + 40 || ip[0] >> 4 != 6)
		return 0;
	plen = neigh_get16(ip + 4);
	/* NDP comes without extension headers (RFC 4861 §7.1) */
	if (ip[6] != NEIGH_ICMP6 || plen < 1 || len < NEIGH_ETH_HLEN + 40 + plen)
		return 0;
	type = icmp[0];
	if (type != NEIGH_ND_NS && type != NEIGH_ND_NA)
		return 0;
	if (plen < 24 || ip[7] != 255 || icmp[1] != 0 || neigh_icmp6_sum(ip + 8, ip + 24, icmp, plen) != 0)
		return -EINVAL;
	/* the target is a unicast address; a multicast frame source would
	 * poison the table when no link-layer option names the sender */
	if (icmp[8] == 0xff || (frame[6] & 1))
		return -EINVAL;
	memset(m, 0, sizeof *m);
	m->kind = type == NEIGH_ND_NS ? NEIGH_NS : NEIGH_NA;
	m->family = AF_INET6;
	memcpy(m->eth_src, frame + 6, 6);
	memcpy(m->sender_mac, frame + 6, 6);
	memcpy(m->sender_ip, ip + 8, 16);
	memcpy(m->target_ip, icmp + 8, 16);
	m->solicited = type == NEIGH_ND_NA && (icmp[4] & 0x40);
	if (neigh_parse_opts(icmp + 24, plen - 24, type == NEIGH_ND_NS ? NEIGH_OPT_SLLA : NEIGH_OPT_TLLA, m) < 0)
		return -EINVAL;
	return 1;
}

int neigh_parse(const uint8_t *frame, size_t len, struct neigh_msg *m)
{
	if (len < NEIGH_ETH_HLEN)
		return 0;
	switch (neigh_get16(frame + 12)) {
	case NEIGH_ETH_ARP:
		return neigh_parse_arp(frame, len, m);
	case NEIGH_ETH_IP6:
		return neigh_parse_nd(frame, len, m);
	default:
		return 0;
	}
}

static void neigh_eth(uint8_t *out, const uint8_t dst[6], const uint8_t src[6], unsigned type)
{
	memcpy(out, dst, 6);
	memcpy(out + 6, src, 6);
	neigh_put16(out + 12, type);
}

size_t neigh_arp_build(uint8_t *out, unsigned op, const uint8_t sha[6], const uint8_t spa[4],
		       const uint8_t tha[6], const uint8_t tpa[4])
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, zero[6];
	uint8_t *a = out + NEIGH_ETH_HLEN;

	neigh_eth(out, op == 1 ? bcast : tha, sha, NEIGH_ETH_ARP);
	neigh_put16(a, 1);
	neigh_put16(a + 2, NEIGH_ETH_IP4);
	a[4] = 6;
	a[5] = 4;
	neigh_put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, spa, 4);
	memcpy(a + 18, op == 1 ? zero : tha, 6);
	memcpy(a + 24, tpa, 4);
	return NEIGH_ETH_HLEN + 28;
}

/* An NS or NA of 24 bytes and one link-layer option of 8, from src to
 * dst, after the Ethernet header already written. */
static size_t neigh_nd_build(uint8_t *out, unsigned type, const uint8_t src[16], const uint8_t dst[16],
			     const uint8_t target[16], const uint8_t mac[6], uint8_t flags)
{
	uint8_t *ip = out + NEIGH_ETH_HLEN, *icmp = ip + 40;
	unsigned sum;

	memset(ip, 0, 40 + 32);
	ip[0] = 0x60;
	neigh_put16(ip + 4, 32);
	ip[6] = NEIGH_ICMP6;
	ip[7] = 255;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	icmp[0] = (uint8_t)type;
	icmp[4] = flags;
	memcpy(icmp + 8, target, 16);
	icmp[24] = type == NEIGH_ND_NS ? NEIGH_OPT_SLLA : NEIGH_OPT_TLLA;
	icmp[25] = 1;
	memcpy(icmp + 26, mac, 6);
	sum = neigh_icmp6_sum(src, dst, icmp, 32);
	neigh_put16(icmp + 2, sum);
	return NEIGH_ETH_HLEN + 40 + 32;
}

size_t neigh_ns_build(uint8_t *out, const uint8_t mac[6], const uint8_t src[16], const uint8_t target[16])
{
	uint8_t group[16] = { 0xff, 0x02, [11] = 0x01, [12] = 0xff }, gmac[6];

	memcpy(group + 13, target + 13, 3);
	neigh_mcast_mac(AF_INET6, group, gmac);
	neigh_eth(out, gmac, mac, NEIGH_ETH_IP6);
	return neigh_nd_build(out, NEIGH_ND_NS, src, group, target, mac, 0);
}

size_t neigh_na_build(uint8_t *out, const uint8_t mac[6], const uint8_t target[16],
		      const uint8_t dst_mac[6], const uint8_t dst[16])
{
	neigh_eth(out, dst_mac, mac, NEIGH_ETH_IP6);
	/* solicited and override, as a host answers for its own address */
	return neigh_nd_build(out, NEIGH_ND_NA, target, dst, target, mac, 0x60);
}

void neigh_mcast_mac(int family, const uint8_t *ip, uint8_t mac[6])
{
	if (family == AF_INET) {
		mac[0] = 0x01;
		mac[1] = 0x00;
		mac[2] = 0x5e;
		mac[3] = ip[1] & 0x7f;
		mac[4] = ip[2];
		mac[5] = ip[3];
	} else {
		mac[0] = mac[1] = 0x33;
		memcpy(mac + 2, ip + 12, 4);
	}
}

/* ---- the table ---- */

int neigh_table_init(struct neigh_table *t, unsigned cap)
{
	unsigned sets = 1;

	while (sets * NEIGH_WAYS < cap)
		sets *= 2;
	t->v = calloc((size_t)sets * NEIGH_WAYS, sizeof *t->v);
	if (!t->v)
		return -ENOMEM;
	t->sets = sets;
	t->n = 0;
	return 0;
}

void neigh_table_free(struct neigh_table *t)
{
	free(t->v);
	t->v = NULL;
	t->sets = t->n = 0;
}

static size_t neigh_alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* FNV-1a of the address: its set's first entry. */
static struct neigh_entry *neigh_set(struct neigh_table *t, int family, const uint8_t *ip)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < neigh_alen(family); i++)
		h = (h ^ ip[i]) * 16777619u;
	return t->v + (size_t)(h & (t->sets - 1)) * NEIGH_WAYS;
}

struct neigh_entry *neigh_lookup(struct neigh_table *t, int family, const uint8_t *ip)
{
	struct neigh_entry *s = neigh_set(t, family, ip);

	for (unsigned i = 0; i < NEIGH_WAYS; i++)
		if (s[i].family == family && memcmp(s[i].ip, ip, neigh_alen(family)) == 0)
			return &s[i];
	return NULL;
}

bool neigh_learn(struct neigh_table *t, int family, const uint8_t *ip, const uint8_t mac[6], double now)
{
	struct neigh_entry *e = neigh_lookup(t, family, ip), *s;
	bool changed;

	if (!e) {
		s = neigh_set(t, family, ip);
		e = &s[0];
		for (unsigned i = 0; i < NEIGH_WAYS && e->family; i++)
			if (!s[i].family || s[i].seen < e->seen)
				e = &s[i];
		if (!e->family)
			t->n++;
		memset(e, 0, sizeof *e);
		e->family = (uint8_t)family;
		memcpy(e->ip, ip, neigh_alen(family));
		changed = true;
	} else {
		changed = memcmp(e->mac, mac, 6) != 0;
	}
	memcpy(e->mac, mac, 6);
	e->seen = now;
	return changed;
}

void neigh_flush(struct neigh_table *t)
{
	memset(t->v, 0, (size_t)t->sets * NEIGH_WAYS * sizeof *t->v);
	t->n = 0;
}
