/* ifaces/lib/neigh: ARP and NDP frames built and read back, malformed
 * ones refused, and the IP-to-MAC table (learning, refreshing, a full
 * set giving up its oldest entry). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include "tap.h"
#include "../ifaces/lib/neigh.h"

static const uint8_t mac_a[6] = { 0x32, 0x11, 0x22, 0x33, 0x44, 0x55 };
static const uint8_t mac_b[6] = { 0x32, 0x66, 0x77, 0x88, 0x99, 0xaa };

static void ip6(const char *s, uint8_t out[16])
{
	inet_pton(AF_INET6, s, out);
}

static void test_arp(void)
{
	uint8_t f[NEIGH_FRAME_MAX], zero[6] = { 0 };
	const uint8_t spa[4] = { 198, 19, 0, 1 }, tpa[4] = { 198, 19, 0, 2 };
	struct neigh_msg m;
	size_t len = neigh_arp_build(f, 1, mac_a, spa, zero, tpa);

	is_int(len, 42, "ARP request: 42 bytes");
	ok(memcmp(f, "\xff\xff\xff\xff\xff\xff", 6) == 0, "ARP request: to broadcast");
	is_int(neigh_parse(f, len, &m), 1, "ARP request: read back");
	ok(m.kind == NEIGH_ARP_REQUEST && m.family == AF_INET && !memcmp(m.sender_mac, mac_a, 6) &&
	   !memcmp(m.sender_ip, spa, 4) && !memcmp(m.target_ip, tpa, 4), "ARP request: its fields");
	len = neigh_arp_build(f, 2, mac_b, tpa, mac_a, spa);
	is_int(neigh_parse(f, len, &m), 1, "ARP reply: read back");
	ok(m.kind == NEIGH_ARP_REPLY && !memcmp(f, mac_a, 6) && !memcmp(m.sender_mac, mac_b, 6) &&
	   !memcmp(m.sender_ip, tpa, 4), "ARP reply: to the asker, from the answerer");
	is_int(neigh_parse(f, 41, &m), -EINVAL, "ARP cut short: refused");
	f[21] = 3;
	is_int(neigh_parse(f, len, &m), -EINVAL, "ARP op 3: refused");
	f[21] = 2;
	f[22] |= 1;
	is_int(neigh_parse(f, len, &m), -EINVAL, "ARP from a multicast sender: refused");
	f[22] &= 0xfe;
	f[18] = 16;
	is_int(neigh_parse(f, len, &m), -EINVAL, "ARP with 16-byte protocol addresses: refused");
}

static void test_ndp(void)
{
	uint8_t f[NEIGH_FRAME_MAX], src[16], tgt[16], save;
	struct neigh_msg m;
	size_t len;

	ip6("fd00::1", src);
	ip6("fd00::2:3456", tgt);
	len = neigh_ns_build(f, mac_a, src, tgt);
	is_int(len, NEIGH_FRAME_MAX, "NS: with its source link-layer option");
	ok(memcmp(f, "\x33\x33\xff\x02\x34\x56", 6) == 0, "NS: to the target's solicited-node group");
	is_int(neigh_parse(f, len, &m), 1, "NS: read back (checksum good)");
	ok(m.kind == NEIGH_NS && m.family == AF_INET6 && m.has_lla && !memcmp(m.sender_mac, mac_a, 6) &&
	   !memcmp(m.sender_ip, src, 16) && !memcmp(m.target_ip, tgt, 16), "NS: its fields");
	save = f[NEIGH_ETH_HLEN + 40 + 2];
	f[NEIGH_ETH_HLEN + 40 + 2] ^= 1;
	is_int(neigh_parse(f, len, &m), -EINVAL, "NS with a bad checksum: refused");
	f[NEIGH_ETH_HLEN + 40 + 2] = save;
	f[NEIGH_ETH_HLEN + 7] = 64;
	is_int(neigh_parse(f, len, &m), -EINVAL, "NS with hop limit 64: refused");
	f[NEIGH_ETH_HLEN + 7] = 255;
	is_int(neigh_parse(f, len - 1, &m), 0, "NS shorter than its payload length: not NDP");

	len = neigh_na_build(f, mac_b, tgt, mac_a, src);
	is_int(neigh_parse(f, len, &m), 1, "NA: read back");
	ok(m.kind == NEIGH_NA && m.solicited && m.has_lla && !memcmp(m.sender_mac, mac_b, 6) &&
	   !memcmp(m.target_ip, tgt, 16) && !memcmp(f, mac_a, 6), "NA: solicited, target's MAC, to the asker");
	f[6] |= 1;
	is_int(neigh_parse(f, len, &m), -EINVAL, "NA from a multicast frame source: refused");
	f[6] &= 0xfe;
	/* an option of length 0 would loop forever */
	f[NEIGH_ETH_HLEN + 40 + 25] = 0;
	is_int(neigh_parse(f, len, &m), -EINVAL, "NA with an option of length 0: refused");

	memset(f, 0, sizeof f);
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[20] = 6;   /* TCP */
	is_int(neigh_parse(f, 54, &m), 0, "an IPv6 TCP packet: not NDP");
	f[12] = 0x08;
	f[13] = 0x00;
	is_int(neigh_parse(f, 54, &m), 0, "an IPv4 frame: not ARP or NDP");
	is_int(neigh_parse(f, 10, &m), 0, "10 bytes: nothing");
}

static void test_mcast(void)
{
	uint8_t mac[6], g6[16];
	const uint8_t g4[4] = { 239, 129, 2, 3 };

	neigh_mcast_mac(AF_INET, g4, mac);
	ok(memcmp(mac, "\x01\x00\x5e\x01\x02\x03", 6) == 0, "239.129.2.3: 01:00:5e:01:02:03");
	ip6("ff02::1:ff00:1234", g6);
	neigh_mcast_mac(AF_INET6, g6, mac);
	ok(memcmp(mac, "\x33\x33\xff\x00\x12\x34", 6) == 0, "ff02::1:ff00:1234: 33:33:ff:00:12:34");
}

static void test_table(void)
{
	struct neigh_table t;
	struct neigh_entry *e;
	uint8_t ip[4] = { 198, 19, 0, 0 };
	unsigned i, found = 0;

	ok(neigh_table_init(&t, 16) == 0 && t.sets * NEIGH_WAYS >= 16, "a table of 16");
	ok(neigh_learn(&t, AF_INET, ip, mac_a, 1.), "learned: new");
	ok(!neigh_learn(&t, AF_INET, ip, mac_a, 2.), "learned again: no change");
	e = neigh_lookup(&t, AF_INET, ip);
	ok(e && e->seen == 2. && !memcmp(e->mac, mac_a, 6), "found, refreshed");
	ok(neigh_learn(&t, AF_INET, ip, mac_b, 3.), "another MAC: a change");
	ok(!neigh_lookup(&t, AF_INET6, (const uint8_t[16]){ 198, 19 }), "another family: not found");
	for (i = 1; i <= 200; i++) {
		ip[3] = (uint8_t)i;
		ip[2] = (uint8_t)(i >> 8);
		neigh_learn(&t, AF_INET, ip, mac_a, 10. + i);
	}
	ok(t.n <= t.sets * NEIGH_WAYS, "200 learned: the table stays within its room");
	for (i = 1; i <= 200; i++) {
		ip[3] = (uint8_t)i;
		found += neigh_lookup(&t, AF_INET, ip) != NULL;
	}
	ok(found >= t.sets * NEIGH_WAYS / 2 && found <= t.n, "those kept are found");
	ip[3] = 200;
	ok(neigh_lookup(&t, AF_INET, ip) != NULL, "the newest is kept");
	neigh_flush(&t);
	ok(t.n == 0 && !neigh_lookup(&t, AF_INET, ip), "flushed");
	neigh_table_free(&t);
}

int main(void)
{
	plan(36);
	test_arp();
	test_ndp();
	test_mcast();
	test_table();
	return tap_done();
}
