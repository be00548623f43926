/* Names of networks.md §2 and §11.1: MACs both ways, multicast groups and
 * the ARP rule, managed IPv6 addresses and NDP emulation lookups, Linux
 * device names, status names. */
#include <errno.h>
#include <zt/netconf.h>
#include "tap.h"

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void macs(void)
{
	uint8_t mac[6];
	char txt[ZT_MAC_TEXT_LEN];
	uint64_t a;
	unsigned i, bad = 0, first = 0;

	for (i = 0; i < 10000; i++) {
		uint64_t nwid = rnd(), addr = rnd() & 0xffffffffffULL;

		zt_mac_from_address(nwid, addr, mac);
		if (zt_mac_to_address(nwid, mac, &a) < 0 || a != addr)
			bad++;
		if (mac[0] & 1 || !(mac[0] & 2) || mac[0] == 0x52)
			first++;
	}
	is_int(bad, 0, "MAC -> address -> MAC for 10000 random pairs");
	is_int(first, 0, "first octet always unicast, locally administered, never 0x52");
	is_int(zt_nwid_mac_prefix(0x50), 0x32, "0x52 becomes 0x32");
	is_int(zt_nwid_mac_prefix(0x53), 0x32, "0x53 too (low bit cleared first)");
	is_int(zt_nwid_mac_prefix(0xff), 0xfe, "0xff gives 0xfe");
	zt_mac_from_address(0x8056c2e21c000001ULL, 0x89e92ceee5ULL, mac);
	mac[0] ^= 0x04;
	a = 7;
	ok(zt_mac_to_address(0x8056c2e21c000001ULL, mac, &a) == -EINVAL && a == 7,
	   "a MAC of another first octet is not a member MAC");
	ok(zt_mac_parse(mac, "02:89:E9:30:0c:27") == 0, "MAC text parses (either case)");
	zt_mac_fmt(mac, txt);
	is_str(txt, "02:89:e9:30:0c:27", "MAC text lowercase");
	ok(zt_mac_parse(mac, "02:89:e9:30:0c") < 0 && zt_mac_parse(mac, "02:89:e9:30:0c:27:") < 0 &&
	   zt_mac_parse(mac, "02-89-e9-30-0c-27") < 0 && zt_mac_parse(mac, "0g:89:e9:30:0c:27") < 0 &&
	   zt_mac_parse(mac, "") < 0, "malformed MAC text refused");
}

static void groups(void)
{
	struct zt_mcast_group g, h;
	uint8_t arp[28] = { 0, 1, 0x08, 0x00, 6, 4, 0, 1 };
	uint8_t ip6[16] = { 0xfd, 0x80 };
	uint32_t t = 0;
	unsigned i;
	uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	bool refused = true;

	zt_mcast_broadcast(&g);
	ok(zt_mac_is_broadcast(g.mac) && zt_mac_is_multicast(g.mac) && g.adi == 0, "broadcast group");
	arp[24] = 10; arp[25] = 147; arp[26] = 17; arp[27] = 5;
	ok(zt_arp_request_target(0x0806, arp, sizeof arp, &t) && t == 0x0a931105, "ARP request target");
	zt_mcast_for_frame(&g, bc, 0x0806, arp, sizeof arp);
	ok(zt_mac_is_broadcast(g.mac) && g.adi == 0x0a931105, "ARP request to broadcast: ARP group");
	zt_mcast_for_frame(&g, bc, 0x0800, arp, sizeof arp);
	ok(zt_mac_is_broadcast(g.mac) && g.adi == 0, "other broadcast: ADI 0");
	ok(!zt_arp_request_target(0x0806, arp, 27, &t), "ARP shorter than 28 bytes");
	ok(!zt_arp_request_target(0x0800, arp, 28, &t), "not ethertype 0x0806");
	{
		static const unsigned pos[] = { 2, 3, 4, 5, 7 };

		for (i = 0; i < 5; i++) {
			arp[pos[i]] ^= 0x10;
			refused &= !zt_arp_request_target(0x0806, arp, 28, &t);
			arp[pos[i]] ^= 0x10;
		}
		ok(refused, "each of bytes 2, 3, 4, 5, 7 is checked (reply, other protocol)");
	}
	for (i = 0; i < 16; i++)
		ip6[i] = (uint8_t)(0xa0 + i);
	zt_mcast_solicited_node(&g, ip6);
	ok(g.mac[0] == 0x33 && g.mac[1] == 0x33 && g.mac[2] == 0xff && g.mac[3] == 0xad &&
	   g.mac[4] == 0xae && g.mac[5] == 0xaf && g.adi == 0, "solicited-node group 33:33:ff:XX:YY:ZZ");
	zt_mcast_arp(&g, 1);
	zt_mcast_arp(&h, 2);
	ok(zt_mcast_cmp(&g, &h) < 0 && zt_mcast_cmp(&h, &g) > 0 && zt_mcast_cmp(&g, &g) == 0, "ordered by ADI");
	zt_mcast_solicited_node(&h, ip6);
	ok(zt_mcast_cmp(&h, &g) < 0, "ordered by MAC first (33:33:... before ff:...)");
}

static void ipv6(void)
{
	uint8_t ip[16], own4193[16], own6p[16], target[16];
	uint64_t nwid = 0x8056c2e21c000001ULL, peer = 0;
	static const uint8_t want4193[16] = { 0xfd, 0x80, 0x56, 0xc2, 0xe2, 0x1c, 0, 0, 0x01,
					      0x99, 0x93, 0x89, 0xe9, 0x2c, 0xee, 0xe5 };
	static const uint8_t want6p[16] = { 0xfc, 0x9c, 0x56, 0xc2, 0xe3, 0x89, 0xe9, 0x2c, 0xee,
					    0xe5, 0, 0, 0, 0, 0, 1 };

	zt_ip6_rfc4193(nwid, 0x89e92ceee5ULL, ip);
	is_mem(ip, want4193, 16, "rfc4193 bytes");
	zt_ip6_6plane(nwid, 0x89e92ceee5ULL, ip);
	is_mem(ip, want6p, 16, "6PLANE bytes");

	zt_ip6_rfc4193(nwid, 0x1111111111ULL, own4193);
	zt_ip6_rfc4193(nwid, 0x2222222222ULL, target);
	ok(zt_ip6_ndp_peer(nwid, own4193, 88, target, &peer) == 0 && peer == 0x2222222222ULL,
	   "NDP: rfc4193 target names its node");
	ok(zt_ip6_ndp_peer(nwid, own4193, 64, target, &peer) == -ENOENT, "NDP: rfc4193 needs prefix 88");
	zt_ip6_rfc4193(nwid ^ 0x100, 0x2222222222ULL, target);
	ok(zt_ip6_ndp_peer(nwid, own4193, 88, target, &peer) == -ENOENT, "NDP: rfc4193 of another network");
	zt_ip6_6plane(nwid, 0x1111111111ULL, own6p);
	zt_ip6_6plane(nwid, 0x3333333333ULL, target);
	target[15] = 0x77;    /* anything inside that node's /80 */
	ok(zt_ip6_ndp_peer(nwid, own6p, 40, target, &peer) == 0 && peer == 0x3333333333ULL,
	   "NDP: 6PLANE target names its node");
	ok(zt_ip6_ndp_peer(nwid ^ 0x1, own6p, 40, target, &peer) == -ENOENT, "NDP: 6PLANE hash must match");
	target[1] ^= 1;
	ok(zt_ip6_ndp_peer(nwid, own6p, 40, target, &peer) == -ENOENT, "NDP: 6PLANE target elsewhere");
}

/* A neighbour solicitation as Linux sends it: from fd..::1111111111 for
 * the target, to its solicited-node group. */
static size_t solicitation(uint8_t *p, const uint8_t from[16], const uint8_t target[16])
{
	memset(p, 0, 72);
	p[0] = 0x60;
	p[5] = 32;
	p[6] = 58;
	p[7] = 255;
	memcpy(p + 8, from, 16);
	p[24] = 0xff;
	p[25] = 0x02;
	p[35] = 1;
	p[36] = 0xff;
	memcpy(p + 37, target + 13, 3);
	p[40] = 135;
	memcpy(p + 48, target, 16);
	p[64] = 1;
	p[65] = 1;
	return 72;
}

static void ndp_advert(void)
{
	uint64_t nwid = 0x8056c2e21c000001ULL, self = 0x1111111111ULL, peer = 0;
	union zt_sockaddr ips[2];
	uint8_t ns[72], na[ZT_NDP_ADVERT_LEN], mac[6], target[16];
	uint32_t sum = 58 + 32;
	size_t len;

	zt_sockaddr_rfc4193(&ips[0], nwid, self);
	zt_sockaddr_6plane(&ips[1], nwid, self);
	zt_ip6_6plane(nwid, 0x2222222222ULL, target);
	len = solicitation(ns, ips[0].in6.sin6_addr.s6_addr, target);
	ok(zt_ndp_advert(nwid, self, ips, 2, ns, len, na, &peer) == 0 && peer == 0x2222222222ULL,
	   "NDP: a solicitation for a member's 6PLANE address is answered in its name");
	zt_mac_from_address(nwid, peer, mac);
	for (size_t i = 8; i < ZT_NDP_ADVERT_LEN; i += 2)
		sum += (uint32_t)(na[i] << 8 | na[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ok(na[40] == 136 && na[44] == 0x60 && !memcmp(na + 48, target, 16) && !memcmp(na + 66, mac, 6) &&
	   !memcmp(na + 24, ips[1].in6.sin6_addr.s6_addr, 16) && sum == 0xffff,
	   "NDP: the advertisement: solicited and override, the member's MAC, to our 6PLANE address, checksum right");
	zt_ip6_rfc4193(nwid, self, target);
	solicitation(ns, ips[0].in6.sin6_addr.s6_addr, target);
	ok(zt_ndp_advert(nwid, self, ips, 2, ns, len, na, &peer) == -ENOENT, "NDP: our own address is not answered");
	zt_ip6_rfc4193(nwid, 0x3333333333ULL, target);
	solicitation(ns, ips[0].in6.sin6_addr.s6_addr, target);
	ok(zt_ndp_advert(nwid, self, ips, 2, ns, len - 9, na, &peer) == -ENOENT &&
	   zt_ndp_advert(nwid, self, ips, 1, ns, len, na, &peer) == 0 && peer == 0x3333333333ULL,
	   "NDP: rfc4193 answered, a short packet not");
	ns[40] = 128;
	ok(zt_ndp_advert(nwid, self, ips, 2, ns, len, na, &peer) == -ENOENT, "NDP: only solicitations");
}

static void devnames(void)
{
	char a[ZT_DEVNAME_LEN], b[ZT_DEVNAME_LEN];
	unsigned i;
	bool fine = true;

	zt_linux_devname(0x8056c2e21c000001ULL, 0, a);
	is_str(a, "ztmjfmfyq5", "device name of 8056c2e21c000001");
	zt_linux_devname(0x8056c2e21c000001ULL, 1, b);
	ok(strcmp(a, b) != 0 && !strncmp(a, b, 9), "trial 1 changes the last character");
	for (i = 0; i < 1000; i++) {
		size_t k;

		zt_linux_devname(rnd(), i, a);
		fine &= strlen(a) == 10 && a[0] == 'z' && a[1] == 't';
		for (k = 2; k < 10; k++)
			fine &= (a[k] >= 'a' && a[k] <= 'z') || (a[k] >= '2' && a[k] <= '7');
	}
	ok(fine, "device names are zt + 8 base-32 characters");
	zt_linux_devname(0xffffffffffULL ^ (0xffffffffffULL >> 24), 1, a);
	is_str(a, "ztaaaaaaaa", "the 40-bit value wraps");
}

int main(void)
{
	plan(40);
	macs();
	groups();
	ipv6();
	ndp_advert();
	devnames();
	is_str(zt_net_status_name(ZT_NET_OK), "OK", "status OK");
	is_str(zt_net_status_name(ZT_NET_REQUESTING_CONFIGURATION), "REQUESTING_CONFIGURATION", "status 0");
	is_str(zt_net_status_name(ZT_NET_AUTHENTICATION_REQUIRED), "AUTHENTICATION_REQUIRED", "status 6");
	ok(zt_net_status_name(7) == NULL && zt_net_status_name(-1) == NULL, "no other status");
	return tap_done();
}
