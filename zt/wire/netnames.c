/* Network-layer names (networks.md §2, §4, §11.1): a member's MAC and
 * address, multicast groups, a member's IPv6 addresses (RFC 4193, 6PLANE),
 * device names, status names.  Their interface is <zt/netconf.h>. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <zt/inetaddr.h>
#include <zt/netconf.h>

#include "wire.h"

/* ---- names ---- */

uint8_t zt_nwid_mac_prefix(uint64_t nwid)
{
	uint8_t f = (uint8_t)((nwid & 0xfe) | 0x02);

	return f == 0x52 ? 0x32 : f;
}

/* byte i (1..5) of a member MAC, before or after the XOR */
static uint8_t mac_xor(uint64_t nwid, unsigned i)
{
	return (uint8_t)(nwid >> (8 * i));
}

void zt_mac_from_address(uint64_t nwid, uint64_t addr, uint8_t mac[6])
{
	unsigned i;

	mac[0] = zt_nwid_mac_prefix(nwid);
	for (i = 1; i < 6; i++)
		mac[i] = (uint8_t)(addr >> (8 * (5 - i))) ^ mac_xor(nwid, i);
}

int zt_mac_to_address(uint64_t nwid, const uint8_t mac[6], uint64_t *addr)
{
	uint64_t a = 0;
	unsigned i;

	if (mac[0] != zt_nwid_mac_prefix(nwid))
		return -EINVAL;
	for (i = 1; i < 6; i++)
		a = a << 8 | (uint8_t)(mac[i] ^ mac_xor(nwid, i));
	*addr = a;
	return 0;
}

void zt_mac_fmt(const uint8_t mac[6], char out[ZT_MAC_TEXT_LEN])
{
	snprintf(out, ZT_MAC_TEXT_LEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

int zt_mac_parse(uint8_t mac[6], const char *s)
{
	uint8_t m[6];
	unsigned i;

	for (i = 0; i < 6; i++) {
		int h = zt_hex_nibble(s[3 * i]), l = h < 0 ? -1 : zt_hex_nibble(s[3 * i + 1]);

		if (h < 0 || l < 0)
			return -EINVAL;
		if (s[3 * i + 2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		m[i] = (uint8_t)(h << 4 | l);
	}
	memcpy(mac, m, 6);
	return 0;
}

bool zt_mac_is_broadcast(const uint8_t mac[6])
{
	static const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	return memcmp(mac, bc, 6) == 0;
}

int zt_mcast_cmp(const struct zt_mcast_group *a, const struct zt_mcast_group *b)
{
	int c = memcmp(a->mac, b->mac, 6);  /* big-endian bytes: integer order */

	if (c)
		return c < 0 ? -1 : 1;
	return a->adi < b->adi ? -1 : a->adi > b->adi;
}

void zt_mcast_broadcast(struct zt_mcast_group *g)
{
	memset(g->mac, 0xff, 6);
	g->adi = 0;
}

void zt_mcast_arp(struct zt_mcast_group *g, uint32_t ipv4)
{
	memset(g->mac, 0xff, 6);
	g->adi = ipv4;
}

void zt_mcast_solicited_node(struct zt_mcast_group *g, const uint8_t ip6[16])
{
	g->mac[0] = 0x33;
	g->mac[1] = 0x33;
	g->mac[2] = 0xff;
	memcpy(g->mac + 3, ip6 + 13, 3);
	g->adi = 0;
}

bool zt_arp_request_target(uint16_t ethertype, const uint8_t *p, size_t len, uint32_t *target)
{
	if (ethertype != 0x0806 || len < 28)
		return false;
	if (p[2] != 0x08 || p[3] != 0x00 || p[4] != 6 || p[5] != 4 || p[7] != 1)
		return false;
	*target = (uint32_t)p[24] << 24 | (uint32_t)p[25] << 16 | (uint32_t)p[26] << 8 | p[27];
	return true;
}

void zt_mcast_for_frame(struct zt_mcast_group *g, const uint8_t to[6], uint16_t ethertype,
			const uint8_t *payload, size_t len)
{
	uint32_t ip;

	if (zt_mac_is_broadcast(to) && zt_arp_request_target(ethertype, payload, len, &ip)) {
		zt_mcast_arp(g, ip);
		return;
	}
	memcpy(g->mac, to, 6);
	g->adi = 0;
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	while (n--) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

void zt_ip6_rfc4193(uint64_t nwid, uint64_t addr, uint8_t ip[16])
{
	ip[0] = 0xfd;
	put_be(ip + 1, nwid, 8);
	ip[9] = 0x99;
	ip[10] = 0x93;
	put_be(ip + 11, addr, 5);
}

static uint32_t sixplane_hash(uint64_t nwid)
{
	return (uint32_t)((nwid ^ (nwid >> 32)) & 0xffffffffu);
}

void zt_ip6_6plane(uint64_t nwid, uint64_t addr, uint8_t ip[16])
{
	ip[0] = 0xfc;
	put_be(ip + 1, sixplane_hash(nwid), 4);
	put_be(ip + 5, addr, 5);
	memset(ip + 10, 0, 5);
	ip[15] = 0x01;
}

void zt_sockaddr_rfc4193(union zt_sockaddr *sa, uint64_t nwid, uint64_t addr)
{
	uint8_t ip[16];

	zt_ip6_rfc4193(nwid, addr, ip);
	zt_inetaddr_set6(sa, ip, ZT_RFC4193_PREFIX);
}

void zt_sockaddr_6plane(union zt_sockaddr *sa, uint64_t nwid, uint64_t addr)
{
	uint8_t ip[16];

	zt_ip6_6plane(nwid, addr, ip);
	zt_inetaddr_set6(sa, ip, ZT_6PLANE_PREFIX);
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

int zt_ip6_ndp_peer(uint64_t nwid, const uint8_t own[16], unsigned prefix,
		    const uint8_t target[16], uint64_t *peer)
{
	if (prefix == ZT_RFC4193_PREFIX && own[0] == 0xfd && own[9] == 0x99 && own[10] == 0x93) {
		if (memcmp(target, own, 11) != 0)
			return -ENOENT;
		*peer = get_be(target + 11, 5);
		return 0;
	}
	if (prefix == ZT_6PLANE_PREFIX && own[0] == 0xfc && get_be(own + 1, 4) == sixplane_hash(nwid)) {
		if (memcmp(target, own, 5) != 0)
			return -ENOENT;
		*peer = get_be(target + 5, 5);
		return 0;
	}
	return -ENOENT;
}

/* The ICMPv6 checksum of an IPv6 packet with no extension header. */
static uint16_t icmp6_checksum(const uint8_t *ip6, size_t icmp_len)
{
	uint32_t sum = 58 + (uint32_t)icmp_len;   /* pseudo-header: length, next header */
	size_t i;

	for (i = 8; i < 40; i += 2)               /* source and destination */
		sum += (uint32_t)(ip6[i] << 8 | ip6[i + 1]);
	for (i = 0; i + 1 < icmp_len; i += 2)
		sum += (uint32_t)(ip6[40 + i] << 8 | ip6[40 + i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int zt_ndp_advert(uint64_t nwid, uint64_t self, const union zt_sockaddr *ips, unsigned n,
		  const uint8_t *payload, size_t len, uint8_t na[ZT_NDP_ADVERT_LEN], uint64_t *peer)
{
	const uint8_t *target = payload + 48, *own = NULL;
	uint8_t mac[6];
	uint64_t found = 0;
	uint16_t sum;
	unsigned i;

	/* 1.14's test: next header ICMPv6, type 135, room for the target */
	if (len < 64 || payload[6] != 0x3a || payload[40] != 0x87)
		return -ENOENT;
	for (i = 0; i < n && !own; i++)
		if (ips[i].sa.sa_family == AF_INET6 &&
		    zt_ip6_ndp_peer(nwid, ips[i].in6.sin6_addr.s6_addr, zt_inetaddr_port(&ips[i]), target, &found) == 0)
			own = ips[i].in6.sin6_addr.s6_addr;
	if (!own || found == self || found == 0)
		return -ENOENT;
	zt_mac_from_address(nwid, found, mac);
	memset(na, 0, ZT_NDP_ADVERT_LEN);
	na[0] = 0x60;                       /* version 6 */
	na[5] = 32;                         /* payload length */
	na[6] = 58;                         /* next header ICMPv6 */
	na[7] = 255;                        /* hop limit */
	memcpy(na + 8, target, 16);         /* from the address asked for */
	memcpy(na + 24, own, 16);           /* to our matching address, as 1.14 */
	na[40] = 136;                       /* neighbour advertisement, code 0 */
	na[44] = 0x60;                      /* solicited, override */
	memcpy(na + 48, target, 16);
	na[64] = 2;                         /* target link-layer address option */
	na[65] = 1;
	memcpy(na + 66, mac, 6);
	sum = icmp6_checksum(na, 32);
	na[42] = sum >> 8;
	na[43] = sum & 0xff;
	*peer = found;
	return 0;
}

void zt_linux_devname(uint64_t nwid, unsigned trial, char out[ZT_DEVNAME_LEN])
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint64_t v = ((nwid ^ (nwid >> 24)) + trial) & 0xffffffffffULL;
	unsigned i;

	out[0] = 'z';
	out[1] = 't';
	for (i = 0; i < 8; i++)
		out[2 + i] = b32[(v >> (35 - 5 * i)) & 31];
	out[10] = '\0';
}

const char *zt_net_status_name(int status)
{
	static const char *const names[] = {
		"REQUESTING_CONFIGURATION", "OK", "ACCESS_DENIED", "NOT_FOUND",
		"PORT_ERROR", "CLIENT_TOO_OLD", "AUTHENTICATION_REQUIRED",
	};

	if (status < 0 || (size_t)status >= sizeof names / sizeof names[0])
		return NULL;
	return names[status];
}
