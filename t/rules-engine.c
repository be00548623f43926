/* The rules policy: tables (networks.md §6.1) evaluated on frames built
 * here, §6.2 and §6.3, through the module's ops as the kernel calls them. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <ev.h>
#include <zt/credential.h>
#include <zt/kernel.h>

#include "tap.h"

#define SELF 0x1111111111ULL
#define PEER 0x2222222222ULL
#define OTHER 0x3333333333ULL

static struct zt_kernel *k;
static struct zt_inst *zi;
static const struct zt_policy_ops *ops;
static void *st;

static const uint8_t mac_self[6] = { 0x02, 0x11, 0x11, 0x11, 0x11, 0x11 };
static const uint8_t mac_peer[6] = { 0x02, 0x22, 0x22, 0x22, 0x22, 0x22 };
static const uint8_t mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_mcast[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };

struct fr {
	uint8_t b[512];
	size_t len;
};

/* ---- tables ---- */

static size_t hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = d;
		} else {
			if (n < cap)
				out[n] = (uint8_t)(hi << 4 | d);
			n++;
			hi = -1;
		}
	}
	return n;
}

static unsigned entries(const uint8_t *b, size_t len)
{
	size_t pos = 0;
	unsigned n = 0;

	while (pos + 2 <= len) {
		pos += 2u + b[pos + 1];
		n++;
	}
	return n;
}

static int load_bytes(const uint8_t *b, size_t len, unsigned n, uint64_t flags)
{
	struct zt_policy_rules r = { b, len, n, flags, NULL, 0, NULL, 0, NULL, 0, NULL, 0 };

	return ops->rules(st, &r);
}

static int load_f(const char *table, uint64_t flags)
{
	static uint8_t b[8192];
	size_t len = hex(table, b, sizeof b);

	return load_bytes(b, len, entries(b, len), flags);
}

static int load(const char *table)
{
	return load_f(table, 0);
}

/* What the kernel hands over of the remote member: its tags, sorted by
 * id, and its capabilities. */
static const struct zt_policy_tag *peer_tags;
static unsigned n_peer_tags;
static const struct zt_policy_cap *peer_caps;
static unsigned n_peer_caps;
/* Where the policy says what to copy or redirect; NULL: a caller that
 * cannot (the policy then only counts). */
static struct zt_policy_out *judge_out;
/* A judgement of which no copy is made (a frame's copy for one bridge). */
static bool judge_no_copy;
/* The remote member's certificates of ownership. */
static const struct zt_coo *peer_coos;
static unsigned n_peer_coos;

static void peer_holds(const struct zt_policy_tag *tags, unsigned ntags, const struct zt_policy_cap *caps,
		       unsigned ncaps)
{
	peer_tags = tags;
	n_peer_tags = ntags;
	peer_caps = caps;
	n_peer_caps = ncaps;
}

/* 'A' accepted, 'D' dropped by a rule, 'N' dropped for no match. */
static char judge_ctx(const struct fr *f, bool inbound, uint64_t peer)
{
	struct zt_policy_ctx ctx = { 0x8056c2e21c000001ULL, SELF, inbound ? peer : SELF, inbound ? SELF : peer,
				     inbound, peer_tags, n_peer_tags, peer_caps, n_peer_caps, judge_out, judge_no_copy,
				     peer_coos, n_peer_coos };
	struct zt_frame zf = { (uint8_t *)f->b, f->len };
	uint64_t nm = zt_inst_counter(zi, "no_match");
	enum zt_verdict v = ops->judge(st, &ctx, &zf);

	if (v == ZT_ACCEPT)
		return 'A';
	return zt_inst_counter(zi, "no_match") != nm ? 'N' : 'D';
}

/* A table with the node's own tags and capabilities. */
static int load_own(const char *table, const struct zt_policy_tag *tags, unsigned ntags,
		    const struct zt_policy_cap *caps, unsigned ncaps)
{
	static uint8_t b[8192];
	size_t len = hex(table, b, sizeof b);
	struct zt_policy_rules r = { b, len, entries(b, len), 0, tags, ntags, caps, ncaps, NULL, 0, NULL, 0 };

	return ops->rules(st, &r);
}

/* A capability's rules from hex, in a buffer of its own. */
static struct zt_policy_cap cap_of(uint32_t id, const char *rules, uint8_t *buf, size_t cap)
{
	size_t len = hex(rules, buf, cap);

	return (struct zt_policy_cap){ id, buf, len, entries(buf, len) };
}

static char judge(const struct fr *f, bool inbound)
{
	return judge_ctx(f, inbound, PEER);
}

/* Loads a table and judges one frame outbound. */
static char run(const char *table, const struct fr *f)
{
	if (load(table) < 0)
		return '!';
	return judge(f, false);
}

static char run_in(const char *table, const struct fr *f)
{
	if (load(table) < 0)
		return '!';
	return judge(f, true);
}

/* ---- frames ---- */

static struct fr eth(const uint8_t dst[6], uint16_t ethertype)
{
	struct fr f;

	memset(&f, 0, sizeof f);
	memcpy(f.b, dst, 6);
	memcpy(f.b + 6, mac_self, 6);
	f.b[12] = (uint8_t)(ethertype >> 8);
	f.b[13] = (uint8_t)ethertype;
	f.len = 14;
	return f;
}

static void put(struct fr *f, const void *p, size_t n)
{
	if (n)
		memcpy(f->b + f->len, p, n);
	f->len += n;
}

static struct fr arp(void)
{
	struct fr f = eth(mac_bcast, 0x0806);
	uint8_t a[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };

	memcpy(a + 8, mac_self, 6);
	a[14] = 10, a[15] = 0, a[16] = 0, a[17] = 1;
	a[24] = 10, a[25] = 0, a[26] = 0, a[27] = 2;
	put(&f, a, sizeof a);
	return f;
}

static struct fr ip4_tos(uint8_t proto, const char *src, const char *dst, uint8_t tos, const uint8_t *l4, size_t n)
{
	struct fr f = eth(mac_peer, 0x0800);
	uint8_t h[20] = { 0x45, tos, 0, (uint8_t)(20 + n), 0, 0, 0x40, 0, 64, proto };

	inet_pton(AF_INET, src, h + 12);
	inet_pton(AF_INET, dst, h + 16);
	put(&f, h, sizeof h);
	put(&f, l4, n);
	return f;
}

static struct fr ip4(uint8_t proto, const char *src, const char *dst, const uint8_t *l4, size_t n)
{
	return ip4_tos(proto, src, dst, 0, l4, n);
}

static void tcp_hdr(uint8_t t[20], uint16_t sp, uint16_t dp, uint8_t flags, uint8_t ns)
{
	memset(t, 0, 20);
	t[0] = (uint8_t)(sp >> 8), t[1] = (uint8_t)sp;
	t[2] = (uint8_t)(dp >> 8), t[3] = (uint8_t)dp;
	t[12] = (uint8_t)(0x50 | ns);
	t[13] = flags;
}

static struct fr tcp4(uint16_t sp, uint16_t dp, uint8_t flags)
{
	uint8_t t[20];

	tcp_hdr(t, sp, dp, flags, 0);
	return ip4(6, "10.1.2.3", "192.168.1.9", t, sizeof t);
}

static struct fr udp4(uint16_t sp, uint16_t dp)
{
	uint8_t u[8] = { (uint8_t)(sp >> 8), (uint8_t)sp, (uint8_t)(dp >> 8), (uint8_t)dp, 0, 8 };

	return ip4(17, "10.1.2.3", "192.168.1.9", u, sizeof u);
}

static struct fr icmp4(uint8_t type, uint8_t code)
{
	uint8_t m[8] = { type, code };

	return ip4(1, "10.1.2.3", "192.168.1.9", m, sizeof m);
}

/* IPv6 from 2001:db8::1 to 2001:db8:1::2, first next header nh, then body
 * (extension headers and the upper layer). */
static struct fr ip6_tc(uint8_t nh, uint8_t tc, const uint8_t *body, size_t n)
{
	struct fr f = eth(mac_peer, 0x86dd);
	uint8_t h[40] = { (uint8_t)(0x60 | tc >> 4), (uint8_t)(tc << 4), 0, 0, (uint8_t)(n >> 8), (uint8_t)n, nh, 64 };

	inet_pton(AF_INET6, "2001:db8::1", h + 8);
	inet_pton(AF_INET6, "2001:db8:1::2", h + 24);
	put(&f, h, sizeof h);
	put(&f, body, n);
	return f;
}

static struct fr ip6(uint8_t nh, const uint8_t *body, size_t n)
{
	return ip6_tc(nh, 0, body, n);
}

/* hop-by-hop, then destination options (16 bytes), then TCP */
static struct fr tcp6_ext(uint16_t sp, uint16_t dp, uint8_t flags)
{
	uint8_t b[8 + 16 + 20] = { 60, 0 };

	b[8] = 6;
	b[9] = 1;   /* 16 bytes */
	tcp_hdr(b + 24, sp, dp, flags, 0);
	return ip6(0, b, sizeof b);
}

static struct fr udp6(uint16_t sp, uint16_t dp)
{
	uint8_t u[8] = { (uint8_t)(sp >> 8), (uint8_t)sp, (uint8_t)(dp >> 8), (uint8_t)dp, 0, 8 };

	return ip6(17, u, sizeof u);
}

/* ---- tests ---- */

static void test_example(void)
{
	struct fr v4 = tcp4(1000, 22, 0x02), a = arp(), v6 = udp6(1000, 53);
	static const uint8_t want[] = { 0xa5, 0x02, 0x08, 0x00, 0x00, 0x00, 0x01, 0x00 };
	char line[4096];
	FILE *fp;
	uint8_t b[64];
	size_t n = 0;
	const char *vec = getenv("VECTORS");

	is_int(run("a5 02 0800 | 00 00 | 01 00", &v4), 'A', "example: IPv4 accepted");
	is_int(judge(&a, false), 'D', "example: ARP dropped");
	is_int(judge(&v6, true), 'D', "example: IPv6 dropped");

	snprintf(line, sizeof line, "%s/networks.txt", vec ? vec : "t/vectors");
	fp = fopen(line, "r");
	while (fp && fgets(line, sizeof line, fp))
		if (!strncmp(line, "rules_example: ", 15))
			n = hex(line + 15, b, sizeof b);
	ok(n == sizeof want && memcmp(b, want, n) == 0, "networks.txt rules_example is the example table");
	ok(n && load_bytes(b, n, 3, 0) == 0 && judge(&a, true) == 'D' && judge(&v4, true) == 'A',
	   "networks.txt rules_example: ARP dropped, IPv4 accepted");

	/* the capability vector's rules: nwid, timestamp, id, u16 3, then the rules */
	n = 0;
	if (fp) {
		rewind(fp);
		while (fgets(line, sizeof line, fp))
			if (!strncmp(line, "capability: ", 12)) {
				uint8_t cap[400];
				size_t cn = hex(line + 12, cap, sizeof cap);

				if (cn > 22 + 11 && cap[20] == 0 && cap[21] == 3) {
					memcpy(b, cap + 22, 11);
					n = 11;
				}
			}
		fclose(fp);
	}
	ok(n == 11 && load_bytes(b, n, 3, 0) == 0, "networks.txt capability rules load");
	{
		struct fr ssh = tcp4(40000, 22, 0x02), web = tcp4(40000, 80, 0x02), u22 = udp4(40000, 22);

		ok(judge(&ssh, true) == 'A' && judge(&web, true) == 'N' && judge(&u22, true) == 'N',
		   "capability rules: tcp dport 22 accepted, tcp 80 and udp 22 not matched");
	}
}

static void test_addresses(void)
{
	struct fr f = tcp4(1, 2, 0);

	is_int(run("18 05 2222222222 | 01 00", &f), 'N', "ztsrc: outbound source is self");
	is_int(run_in("18 05 2222222222 | 01 00", &f), 'A', "ztsrc: inbound from the peer");
	is_int(run("19 05 2222222222 | 01 00", &f), 'A', "ztdest: outbound to the peer");
	is_int(judge_ctx(&f, false, OTHER), 'N', "ztdest: outbound to another member");
	is_int(run("99 05 1111111111 | 01 00", &f), 'A', "not ztdest self: outbound to the peer");
	is_int(run_in("99 05 1111111111 | 01 00", &f), 'N', "not ztdest self: inbound, dest is self");

	is_int(run("1a 02 0000 | 01 00", &f), 'A', "vlan 0 matches");
	is_int(run("1a 02 0005 | 01 00", &f), 'N', "vlan 5 does not");
	is_int(run("1b 01 00 | 1c 01 00 | 01 00", &f), 'A', "vlanpcp 0 and vlandei 0 match");
	is_int(run("1b 01 03 | 01 00", &f), 'N', "vlanpcp 3 does not");
	is_int(run("1c 01 01 | 01 00", &f), 'N', "vlandei 1 does not");

	is_int(run("1d 06 021111111111 | 01 00", &f), 'A', "macsrc matches");
	is_int(run("1d 06 022222222222 | 01 00", &f), 'N', "macsrc other does not");
	is_int(run("1e 06 022222222222 | 01 00", &f), 'A', "macdest matches");
	is_int(run("9e 06 022222222222 | 01 00", &f), 'N', "not macdest");
}

static void test_ipv4(void)
{
	struct fr f = tcp4(1, 2, 0), a = arp(), o = ip4(6, "11.0.0.1", "192.168.1.9", NULL, 0);
	struct fr v6 = udp6(1, 2);

	is_int(run("1f 05 0a000000 08 | 01 00", &f), 'A', "ipsrc 10.0.0.0/8 matches 10.1.2.3");
	is_int(judge(&o, false), 'N', "ipsrc 10.0.0.0/8 does not match 11.0.0.1");
	is_int(run("1f 05 0a010203 20 | 01 00", &f), 'A', "ipsrc /32 exact");
	is_int(run("1f 05 0a010204 20 | 01 00", &f), 'N', "ipsrc /32 other");
	is_int(run("1f 05 0a010200 17 | 01 00", &f), 'A', "ipsrc /23");
	is_int(run("1f 05 63636363 00 | 01 00", &f), 'A', "ipsrc /0 matches all");
	is_int(run("20 05 c0a80100 18 | 01 00", &f), 'A', "ipdest 192.168.1.0/24");
	is_int(run("20 05 c0a80200 18 | 01 00", &f), 'N', "ipdest 192.168.2.0/24 does not");
	is_int(run("9f 05 0a000000 08 | 01 00", &a), 'N', "hardNo: not ipsrc 10.0.0.0/8 does not match ARP");
	is_int(judge(&o, false), 'A', "not ipsrc 10.0.0.0/8 matches 11.0.0.1");
	is_int(judge(&f, false), 'N', "not ipsrc 10.0.0.0/8 does not match 10.1.2.3");
	is_int(judge(&v6, false), 'N', "not ipsrc 10.0.0.0/8 does not match IPv6");
	{
		struct fr s = eth(mac_peer, 0x0800);
		uint8_t h[19] = { 0x45 };

		put(&s, h, sizeof h);
		is_int(judge(&s, false), 'N', "not ipsrc: IPv4 shorter than 20 bytes is hardNo");
	}
}

static void test_ipv6(void)
{
	struct fr f = udp6(1, 2), v4 = tcp4(1, 2, 0);

	is_int(run("21 11 20010db8000000000000000000000000 20 | 01 00", &f), 'A', "ip6src 2001:db8::/32");
	is_int(run("21 11 20010db9000000000000000000000000 20 | 01 00", &f), 'N', "ip6src 2001:db9::/32 does not");
	is_int(run("21 11 20010db8000000000000000000000001 80 | 01 00", &f), 'A', "ip6src /128 exact");
	is_int(run("21 11 20010db8000000000000000000000001 40 | 01 00", &f), 'N',
	       "ip6src with host bits set never matches");
	is_int(run("22 11 20010db8000100000000000000000000 30 | 01 00", &f), 'A', "ip6dest 2001:db8:1::/48");
	is_int(run("22 11 20010db8000200000000000000000000 30 | 01 00", &f), 'N', "ip6dest other /48");
	is_int(run("a1 11 20010db8000000000000000000000000 20 | 01 00", &v4), 'N', "not ip6src on IPv4: hardNo");
	is_int(run("a1 11 fd000000000000000000000000000000 08 | 01 00", &f), 'A', "not ip6src fd00::/8 on IPv6");
}

static void test_tos_protocol(void)
{
	uint8_t t[20];
	struct fr ef, v6tc, a = arp();
	struct fr tcp = tcp4(1, 2, 0), udp = udp6(1, 2), x6 = tcp6_ext(1, 2, 0);

	tcp_hdr(t, 1, 2, 0, 0);
	ef = ip4_tos(6, "10.1.2.3", "10.1.2.4", 0xb8, t, sizeof t);
	v6tc = ip6_tc(17, 0xb8, t, 8);
	is_int(run("23 03 fc b8 b8 | 01 00", &ef), 'A', "iptos: DSCP EF on IPv4");
	is_int(judge(&tcp, false), 'N', "iptos: tos 0 does not");
	is_int(judge(&v6tc, false), 'A', "iptos: IPv6 traffic class");
	is_int(run("a3 03 fc b8 b8 | 01 00", &a), 'N', "not iptos on ARP: hardNo");

	is_int(run("24 01 06 | 01 00", &tcp), 'A', "ipprotocol tcp on IPv4");
	is_int(run("24 01 11 | 01 00", &tcp), 'N', "ipprotocol udp on IPv4 tcp");
	is_int(run("24 01 11 | 01 00", &udp), 'A', "ipprotocol udp on IPv6");
	is_int(run("24 01 06 | 01 00", &x6), 'A', "ipprotocol tcp after hop-by-hop and dest options");
	is_int(run("24 01 00 | 01 00", &x6), 'N', "ipprotocol 0 (hop-by-hop) is walked past");
	{
		uint8_t frag[8 + 8] = { 17, 0, 0, 0, 0, 0, 0, 1 };
		uint8_t bad[4] = { 6, 0, 0, 0 };  /* hop-by-hop cut short */
		struct fr fr6 = ip6(44, frag, sizeof frag), tr = ip6(0, bad, sizeof bad);

		is_int(run("24 01 2c | 01 00", &fr6), 'A', "ipprotocol 44: the fragment header is not traversed");
		is_int(run("a4 01 06 | 01 00", &tr), 'N', "not ipprotocol tcp: failed walk is hardNo");
		is_int(run("a4 01 06 | 01 00", &a), 'N', "not ipprotocol tcp on ARP: hardNo");
		is_int(judge(&udp, false), 'A', "not ipprotocol tcp on IPv6 udp");
	}
	is_int(run("25 02 0806 | 01 00", &a), 'A', "ethertype arp");
	is_int(run("25 02 0806 | 01 00", &tcp), 'N', "ethertype arp on IPv4");
	is_int(run("a5 02 0806 | 01 00", &tcp), 'A', "not ethertype arp on IPv4");
}

static void test_icmp(void)
{
	struct fr echo = icmp4(8, 0), reply = icmp4(0, 0), unr = icmp4(3, 1), unr3 = icmp4(3, 3);
	struct fr tcp = tcp4(1, 2, 0), a = arp();
	uint8_t m6[8] = { 128, 0 };
	uint8_t hbh[8 + 8] = { 58, 0 };
	struct fr e6, e6x;

	hbh[8] = 128;
	e6 = ip6(58, m6, sizeof m6);
	e6x = ip6(0, hbh, sizeof hbh);
	is_int(run("26 03 08 00 00 | 01 00", &echo), 'A', "icmp 8 any code: echo request");
	is_int(judge(&reply, false), 'N', "icmp 8: echo reply does not");
	is_int(run("a6 03 08 00 00 | 01 00", &reply), 'N', "not icmp 8 on echo reply: type differs, hardNo");
	is_int(judge(&echo, false), 'A', "not icmp 8 any code on echo request: hardYes matches (quirk)");
	is_int(judge(&tcp, false), 'N', "not icmp on TCP: hardNo");
	is_int(judge(&a, false), 'N', "not icmp on ARP: hardNo");
	is_int(run("26 03 03 01 01 | 01 00", &unr), 'A', "icmp 3 code 1");
	is_int(judge(&unr3, false), 'N', "icmp 3 code 1 on code 3");
	is_int(run("a6 03 03 01 01 | 01 00", &unr3), 'A', "not icmp 3 code 1 on code 3: plain");
	is_int(run("26 03 80 00 00 | 01 00", &e6), 'A', "icmp 128 on ICMPv6");
	is_int(judge(&e6x, false), 'A', "icmp 128 on ICMPv6 after hop-by-hop");
	is_int(run("26 03 08 00 00 | 01 00", &e6), 'N', "icmp 8 on ICMPv6 128");
}

static void test_ports(void)
{
	struct fr ssh = tcp4(40000, 22, 0), web = tcp4(40000, 80, 0), dns = udp4(5353, 53);
	struct fr echo = icmp4(8, 0), a = arp(), d6 = udp6(1000, 53), z6 = udp6(0, 53);
	struct fr x6 = tcp6_ext(40000, 22, 0);

	is_int(run("28 04 0014 0019 | 01 00", &ssh), 'A', "dport 20-25 on 22");
	is_int(judge(&web, false), 'N', "dport 20-25 on 80");
	is_int(judge(&x6, false), 'A', "dport 20-25 on IPv6 tcp after extension headers");
	is_int(run("28 04 0035 0035 | 01 00", &dns), 'A', "dport 53 on UDP");
	is_int(judge(&d6, false), 'A', "dport 53 on IPv6 UDP");
	is_int(run("27 04 03e8 03e8 | 01 00", &d6), 'A', "sport 1000 on IPv6 UDP");
	is_int(run("27 04 0000 ffff | 01 00", &z6), 'N', "sport 0-65535: IPv6 port 0 never matches");
	is_int(run("27 04 9c40 9c40 | 01 00", &ssh), 'A', "sport 40000");
	is_int(judge(&dns, false), 'N', "sport 40000 on 5353");
	is_int(run("a8 04 0014 0019 | 01 00", &echo), 'A', "not dport on ICMP: plain 0, NOT matches (quirk)");
	is_int(judge(&a, false), 'N', "not dport on ARP: hardNo");
	is_int(judge(&web, false), 'A', "not dport 20-25 on 80");
	{
		uint8_t sctp[12] = { 0x13, 0x88, 0x0b, 0xb8 };
		struct fr sc = ip4(132, "10.0.0.1", "10.0.0.2", sctp, sizeof sctp);
		struct fr ul = ip4(136, "10.0.0.1", "10.0.0.2", sctp, sizeof sctp);
		struct fr gre = ip4(47, "10.0.0.1", "10.0.0.2", sctp, sizeof sctp);

		is_int(run("28 04 0bb8 0bb8 | 01 00", &sc), 'A', "dport 3000 on SCTP");
		is_int(judge(&ul, false), 'A', "dport 3000 on UDP-lite");
		is_int(judge(&gre, false), 'N', "dport 3000 on GRE: no ports");
	}
}

static void test_characteristics(void)
{
	struct fr syn = tcp4(1, 2, 0x02), ack = tcp4(1, 2, 0x10), synack = tcp4(1, 2, 0x12);
	struct fr bc = arp(), mc = eth(mac_mcast, 0x86dd), a6 = tcp6_ext(1, 2, 0x02);
	uint8_t t[20];
	uint8_t ns[24] = { 135 };
	struct fr nsf, nsn;

	tcp_hdr(t, 1, 2, 0, 0x01);
	nsn = ip4(6, "10.0.0.1", "10.0.0.2", t, sizeof t);
	nsf = ip6(58, ns, sizeof ns);
	is_int(run("29 08 0000000000000002 | 01 00", &syn), 'A', "chr tcp_syn on SYN");
	is_int(judge(&ack, false), 'N', "chr tcp_syn on ACK");
	is_int(judge(&a6, false), 'A', "chr tcp_syn on IPv6 SYN after extension headers");
	is_int(run("29 08 0000000000000002 | a9 08 0000000000000010 | 01 00", &syn), 'A',
	       "chr tcp_syn and not chr tcp_ack: SYN");
	is_int(judge(&synack, false), 'N', "chr tcp_syn and not chr tcp_ack: SYN-ACK");
	is_int(run("29 08 0000000000000100 | 01 00", &nsn), 'A', "chr tcp_ns");
	is_int(judge(&syn, false), 'N', "chr tcp_ns without NS");
	is_int(run("29 08 8000000000000000 | 01 00", &syn), 'N', "chr inbound: outbound frame");
	is_int(judge(&syn, true), 'A', "chr inbound: inbound frame");
	is_int(run("29 08 4000000000000000 | 01 00", &mc), 'A', "chr multicast");
	is_int(judge(&bc, false), 'A', "chr multicast on broadcast");
	is_int(judge(&syn, false), 'N', "chr multicast on unicast");
	is_int(run("29 08 2000000000000000 | 01 00", &bc), 'A', "chr broadcast");
	is_int(judge(&mc, false), 'N', "chr broadcast on multicast");
	is_int(run("29 08 1000000000000000 | 01 00", &nsf), 'A', "chr ipauth: neighbour solicitation");
	is_int(judge(&syn, true), 'N', "chr ipauth: no COO, not authenticated");
	is_int(run("29 08 0800000000000000 | 01 00", &syn), 'N', "chr macauth: not authenticated");
	{
		struct fr s = ip4(6, "10.0.0.1", "10.0.0.2", t, 13);

		is_int(run("29 08 0000000000000fff | 01 00", &s), 'N', "chr tcp bits on a cut TCP header: none");
	}
}

static void test_size_random_integer(void)
{
	struct fr f = tcp4(1, 2, 0);  /* payload 40 bytes, TTL 64 at offset 8 */
	int acc = 0;

	is_int(run("2a 04 0028 0028 | 01 00", &f), 'A', "framesize 40");
	is_int(run("2a 04 0000 0027 | 01 00", &f), 'N', "framesize 0-39");
	is_int(run("2a 04 0029 ffff | 01 00", &f), 'N', "framesize 41-65535");
	load("2b 04 ffffffff | 01 00");
	for (int i = 0; i < 200; i++)
		acc += judge(&f, false) == 'A';
	is_int(acc, 200, "random 0xffffffff always matches");
	load("2b 04 00000000 | 01 00");
	acc = 0;
	for (int i = 0; i < 200; i++)
		acc += judge(&f, false) == 'A';
	is_int(acc, 0, "random 0 (practically) never matches");
	load("2b 04 7fffffff | 01 00");
	acc = 0;
	for (int i = 0; i < 2000; i++)
		acc += judge(&f, false) == 'A';
	ok(acc > 800 && acc < 1200, "random 0x7fffffff matches about half");

	/* big-endian 8 bits read at idx + 7: idx 1 is the TTL */
	is_int(run("33 13 000000000000003c 0000000000000046 0001 07 | 01 00", &f), 'A', "integer TTL in 60-70");
	is_int(run("33 13 0000000000000041 0000000000000046 0001 07 | 01 00", &f), 'N', "integer TTL in 65-70");
	/* big-endian 16 bits at idx + 6 = 2: total length 40 */
	is_int(run("33 13 0000000000000028 0000000000000028 fffc 0f | 01 00", &f), 'N',
	       "integer beyond the frame reads 0");
	is_int(run("33 13 0000000000000000 0000000000000000 fffc 0f | 01 00", &f), 'A', "integer 0 beyond the frame");
	/* little-endian 16 bits at idx 2: bytes 00 28 -> 0x2800 */
	is_int(run("33 13 0000000000002800 0000000000002800 0002 8f | 01 00", &f), 'A', "integer little-endian");
	/* 4 bits big-endian at idx + 7 = 0: 0x45 & 0xf = 5 */
	is_int(run("33 13 0000000000000005 0000000000000005 fff9 03 | 01 00", &f), 'N',
	       "integer: a far idx reads 0");
	/* 7 bits of byte 16 (0xc0, the destination's first byte) */
	is_int(run("33 13 0000000000000040 0000000000000040 0009 06 | 01 00", &f), 'A', "integer keeps the low 7 bits");
	is_int(run("33 13 00000000000000c0 00000000000000c0 0009 06 | 01 00", &f), 'N', "integer: 0xc0 is not 7 bits");
	is_int(run("33 13 0000000000000000 0000000100000040 0009 06 | 01 00", &f), 'A',
	       "integer: end - start kept in 32 bits (0x40)");
	is_int(run("33 13 0000000000000000 0000000100000000 0009 06 | 01 00", &f), 'N',
	       "integer: end - start of 2^32 truncates to 0");
}

static void test_tags_unknown(void)
{
	struct fr f = tcp4(1, 2, 0);

	is_int(run("30 08 0000000a 00000002 | 01 00", &f), 'N', "teq: no own tag, hardNo");
	is_int(run("b0 08 0000000a 00000002 | 01 00", &f), 'N', "not teq: hardNo");
	is_int(run("ac 08 0000000a 00000002 | 01 00", &f), 'N', "not tdiff: hardNo");
	is_int(run("b1 08 0000000a 00000002 | 01 00", &f), 'N', "not tseq: own tag absent, hardNo");
	is_int(run_in("b1 08 0000000a 00000002 | 01 00", &f), 'N', "not tseq inbound: remote absent, hardNo");
	is_int(run("32 08 0000000a 00000002 | 01 00", &f), 'A', "treq outbound: remote tag unknown, hardYes");
	is_int(run_in("32 08 0000000a 00000002 | 01 00", &f), 'N', "treq inbound: own tag absent, hardNo");
	is_int(run("32 08 0000000a 00000002 | 00 00 | 01 00", &f), 'A', "treq outbound skips the next DROP");
	is_int(run("32 08 0000000a 00000002 | 00 00 | 00 00", &f), 'D', "skipDrop skips only one DROP");
	is_int(run("25 02 0800 | 00 00 | 01 00", &f), 'D', "the same DROP without treq fires");
	is_int(run_in("31 08 0000000a 00000002 | 01 00 | 00 00", &f), 'D', "tseq inbound: hardNo");
	is_int(run_in("25 02 0806 | 02 0e 0000001111111111 00000000 0000 | 31 08 0000000a 00000002 | 01 00 | 00 00",
		      &f), 'A', "tseq after an unfired TEE to self inbound: superAccept, hardYes");

	is_int(run("14 00 | 01 00", &f), 'N', "unassigned match 20 without flag 0x08");
	is_int(run("94 00 | 01 00", &f), 'A', "not unassigned match 20 without flag 0x08");
	load_f("14 03 010203 | 01 00", 0x08);
	is_int(judge(&f, false), 'A', "unassigned match 20 with flag 0x08");
	load_f("3f 00 | 01 00", 0x08);
	is_int(judge(&f, false), 'A', "unassigned match 63 with flag 0x08");
	load_f("bf 00 | 01 00", 0x08);
	is_int(judge(&f, false), 'N', "not unassigned match 63 with flag 0x08");
}

/* The own tag 10 is 2 (and 20 is 7) for all of these. */
static char tag_case(const char *table, bool inbound, const struct zt_policy_tag *remote, unsigned nremote,
		     const struct fr *f)
{
	static const struct zt_policy_tag own[] = { { 10, 2 }, { 20, 7 } };

	if (load_own(table, own, 2, NULL, 0) < 0)
		return '!';
	peer_holds(remote, nremote, NULL, 0);
	return judge(f, inbound);
}

static void test_tags(void)
{
	static const struct zt_policy_tag r1[] = { { 10, 1 } }, r2[] = { { 10, 2 } }, r3[] = { { 10, 3 } },
		r4[] = { { 10, 4 } }, r5[] = { { 10, 5 } }, other[] = { { 11, 2 } },
		several[] = { { 5, 9 }, { 10, 3 }, { 30, 1 } };
	struct fr f = tcp4(1, 2, 0);

	is_int(tag_case("30 08 0000000a 00000002 | 01 00", true, r2, 1, &f), 'A', "teq: both 2");
	is_int(tag_case("30 08 0000000a 00000002 | 01 00", true, r3, 1, &f), 'N', "teq: remote 3");
	is_int(tag_case("b0 08 0000000a 00000002 | 01 00", true, r3, 1, &f), 'A', "not teq: remote 3, plain");
	is_int(tag_case("30 08 0000000b 00000002 | 01 00", false, other, 1, &f), 'N', "teq: no own tag 11, hardNo");
	is_int(tag_case("2c 08 0000000a 00000001 | 01 00", true, r3, 1, &f), 'A', "tdiff 1: |2 - 3| = 1");
	is_int(tag_case("2c 08 0000000a 00000001 | 01 00", true, r1, 1, &f), 'A', "tdiff 1: |2 - 1| = 1");
	is_int(tag_case("2c 08 0000000a 00000001 | 01 00", true, r5, 1, &f), 'N', "tdiff 1: |2 - 5| = 3");
	is_int(tag_case("2d 08 0000000a 00000002 | 01 00", true, r3, 1, &f), 'A', "tand: 2 & 3 = 2");
	is_int(tag_case("2d 08 0000000a 00000002 | 01 00", true, r1, 1, &f), 'N', "tand: 2 & 1 = 0");
	is_int(tag_case("2e 08 0000000a 00000003 | 01 00", true, r1, 1, &f), 'A', "tor: 2 | 1 = 3");
	is_int(tag_case("2e 08 0000000a 00000003 | 01 00", true, r4, 1, &f), 'N', "tor: 2 | 4 = 6");
	is_int(tag_case("2f 08 0000000a 00000001 | 01 00", true, r3, 1, &f), 'A', "txor: 2 ^ 3 = 1");
	is_int(tag_case("2f 08 0000000a 00000001 | 01 00", true, r2, 1, &f), 'N', "txor: 2 ^ 2 = 0");
	is_int(tag_case("2f 08 0000000a 00000001 | 01 00", true, several, 3, &f), 'A', "found among several remote tags");
	is_int(tag_case("30 08 0000000a 00000002 | 01 00", true, NULL, 0, &f), 'N',
	       "teq inbound, remote unknown: hardNo");
	is_int(tag_case("b0 08 0000000a 00000002 | 01 00", true, NULL, 0, &f), 'N', "not teq inbound, remote unknown");
	is_int(tag_case("30 08 0000000a 00000002 | 00 00 | 01 00", false, NULL, 0, &f), 'A',
	       "teq outbound, remote unknown: hardYes, the next DROP skipped");
	is_int(tag_case("30 08 0000000a 00000002 | 00 00 | 01 00", false, r2, 1, &f), 'D',
	       "teq outbound, remote known: the DROP fires");

	is_int(tag_case("31 08 0000000a 00000002 | 01 00", false, NULL, 0, &f), 'A', "tseq outbound: own 2");
	is_int(tag_case("31 08 0000000a 00000003 | 01 00", false, r3, 1, &f), 'N', "tseq outbound: own 2, not 3");
	is_int(tag_case("31 08 00000014 00000007 | 01 00", false, NULL, 0, &f), 'A', "tseq outbound: own tag 20");
	is_int(tag_case("31 08 0000000a 00000003 | 01 00", true, r3, 1, &f), 'A', "tseq inbound: sender's 3");
	is_int(tag_case("31 08 0000000a 00000002 | 01 00", true, r3, 1, &f), 'N', "tseq inbound: sender's 3, not 2");
	is_int(tag_case("32 08 0000000a 00000002 | 01 00", true, r5, 1, &f), 'A', "treq inbound: own 2");
	is_int(tag_case("32 08 0000000a 00000005 | 01 00", true, r5, 1, &f), 'N', "treq inbound: own 2, not 5");
	is_int(tag_case("32 08 0000000a 00000005 | 01 00", false, r5, 1, &f), 'A', "treq outbound: receiver's 5");
	is_int(tag_case("32 08 0000000a 00000002 | 01 00", false, r5, 1, &f), 'N', "treq outbound: receiver's 5, not 2");
	is_int(tag_case("b2 08 0000000a 00000002 | 01 00", false, r5, 1, &f), 'A', "not treq outbound: plain");

	/* networks.md §6.6: clients (tag 10 = 2) may not talk to clients */
	{
		const char *t = "32 08 0000000a 00000002 | 31 08 0000000a 00000002 | 00 00 | 01 00";

		is_int(tag_case(t, true, r2, 1, &f), 'D', "client from client: dropped inbound");
		is_int(tag_case(t, true, r1, 1, &f), 'A', "client from server: accepted");
		is_int(tag_case(t, false, NULL, 0, &f), 'A', "client to an unknown receiver: left to it");
		is_int(tag_case(t, false, r2, 1, &f), 'D', "client to a known client: dropped outbound");
		is_int(tag_case(t, false, r1, 1, &f), 'A', "client to a known server: accepted");
	}
	peer_holds(NULL, 0, NULL, 0);
}

static void test_capabilities(void)
{
	uint8_t b1[64], b2[64], b3[64], bad[8];
	struct zt_policy_cap ssh = cap_of(200, "24 01 06 | 28 04 0016 0016 | 01 00", b1, sizeof b1);
	struct zt_policy_cap drop_all = cap_of(100, "00 00", b2, sizeof b2);
	struct zt_policy_cap web = cap_of(300, "24 01 06 | 28 04 0050 0050 | 01 00", b3, sizeof b3);
	struct zt_policy_cap both[2] = { ssh, drop_all }, truncated = { 7, bad, 2, 1 };
	struct fr t22 = tcp4(40000, 22, 0x02), t80 = tcp4(40000, 80, 0x02), a = arp();
	uint64_t acc = zt_inst_counter(zi, "cap_accepted"), mal = zt_inst_counter(zi, "malformed_caps");
	const char *base = "25 02 0806 | 01 00";       /* ARP only */

	memcpy(bad, "\x24\x05", 2);   /* a value of 5 bytes, none there */
	ok(load_own(base, NULL, 0, both, 2) == 0, "a table with two own capabilities");
	peer_holds(NULL, 0, NULL, 0);
	is_int(judge(&t22, false), 'A', "outbound tcp 22: the own capability accepts");
	is_int(zt_inst_counter(zi, "cap_accepted"), acc + 1, "counted as accepted by a capability");
	is_int(judge(&t80, false), 'N', "outbound tcp 80: no capability accepts");
	is_int(judge(&a, false), 'A', "ARP: the base rules accept");
	is_int(judge(&t22, true), 'N', "inbound tcp 22: our own capability does not count");
	peer_holds(NULL, 0, &ssh, 1);
	is_int(judge(&t22, true), 'A', "inbound tcp 22: the sender's capability accepts");
	is_int(judge(&t80, true), 'N', "inbound tcp 80: the sender's capability does not");
	peer_holds(NULL, 0, &drop_all, 1);
	is_int(judge(&t22, true), 'N', "a DROP in a capability only ends it: no match");
	{
		struct zt_policy_cap held[3] = { drop_all, truncated, web };

		peer_holds(NULL, 0, held, 3);
		is_int(judge(&t80, true), 'A', "the next capability is tried after a DROP and a bad one");
		is_int(zt_inst_counter(zi, "malformed_caps"), mal + 1, "the malformed capability is counted");
	}
	ok(load_own("24 01 06 | 00 00 | 01 00", NULL, 0, &ssh, 1) == 0, "base rules that drop tcp");
	peer_holds(NULL, 0, &ssh, 1);
	is_int(judge(&t22, false), 'D', "a base DROP decides before capabilities (outbound)");
	is_int(judge(&t22, true), 'D', "a base DROP decides before capabilities (inbound)");
	peer_holds(NULL, 0, NULL, 0);
}

static void test_own_creds_refused(void)
{
	static const struct zt_policy_tag unsorted[] = { { 20, 1 }, { 10, 1 } };
	uint8_t b1[8], big[2 * 65];
	struct zt_policy_cap c = cap_of(1, "01 00", b1, sizeof b1), dup[2] = { c, c }, many, cut = c;
	uint64_t mal = zt_inst_counter(zi, "malformed_tables");
	struct fr t = tcp4(1, 2, 0);

	for (unsigned i = 0; i < 65; i++) {
		big[2 * i] = 1;
		big[2 * i + 1] = 0;
	}
	many = (struct zt_policy_cap){ 2, big, sizeof big, 65 };
	cut.len = 1;
	ok(load_own("01 00", NULL, 0, NULL, 0) == 0, "accept-all table loaded");
	is_int(load_own("00 00", unsorted, 2, NULL, 0), -EINVAL, "own tags out of order: refused");
	is_int(load_own("00 00", NULL, 0, dup, 2), -EINVAL, "a capability id twice: refused");
	is_int(load_own("00 00", NULL, 0, &many, 1), -EINVAL, "a capability of 65 rules: refused");
	is_int(load_own("00 00", NULL, 0, &cut, 1), -EINVAL, "a truncated capability: refused");
	is_int(zt_inst_counter(zi, "malformed_tables"), mal + 4, "each refusal counted");
	is_int(judge(&t, false), 'A', "the previous table still judges");
}

static void test_logic(void)
{
	struct fr tcp = tcp4(1, 22, 0), udp = udp4(1, 53), echo = icmp4(8, 0), a = arp();
	const char *or_tab = "24 01 06 | 64 01 11 | 01 00";

	is_int(run(or_tab, &tcp), 'A', "tcp or udp: tcp");
	is_int(run(or_tab, &udp), 'A', "tcp or udp: udp");
	is_int(run(or_tab, &echo), 'N', "tcp or udp: icmp");
	is_int(run("24 01 06 | 28 04 0016 0016 | 01 00", &tcp), 'A', "tcp and dport 22");
	is_int(run("24 01 11 | 28 04 0016 0016 | 01 00", &tcp), 'N', "udp and dport 22 on tcp");
	is_int(run("e4 01 06 | 01 00", &udp), 'A', "or not tcp as first match (set starts true)");
	is_int(run("24 01 11 | e5 02 0800 | 01 00", &tcp), 'N', "udp or not ipv4: tcp/ipv4");
	is_int(run("24 01 11 | e5 02 0800 | 01 00", &a), 'A', "udp or not ipv4: ARP");
	is_int(run("24 01 11 | 00 00 | 01 00", &tcp), 'A', "an unfired DROP resets the set for the next group");
	is_int(run("00 00 | 01 00", &tcp), 'D', "a DROP without matches always fires");
	is_int(run("01 00 | 00 00", &tcp), 'A', "a first ACCEPT wins");
	is_int(run("25 02 0806 | 05 00 | 01 00", &a), 'N', "break on ARP: no match");
	is_int(judge(&tcp, false), 'A', "break on ARP: IPv4 goes on");
	is_int(run("06 00 | 00 00", &tcp), 'A', "PRIORITY accepts");
	is_int(run("07 00 | 0f 00 | 01 00", &tcp), 'A', "reserved actions are no-ops");
	is_int(run("", &tcp), 'N', "empty table: no match, dropped");
	is_int(run("25 02 0806 | 01 00", &tcp), 'N', "exhausted table drops (1.14)");
}

/* A rule that cannot fire on a frame of its class (IPv4 TCP, UDP, ICMP)
 * is passed over as a whole, unless its matches have an effect: a tag
 * match evaluated before a failing ICMP match still skips the next DROP. */
static void test_passed_over(void)
{
	struct fr tcp = tcp4(1, 22, 0), udp = udp4(1, 53), echo = icmp4(8, 0);

	peer_holds(NULL, 0, NULL, 0);
	is_int(run("32 08 00000001 00000001 | 26 03 080000 | 00 00 | 00 00 | 01 00", &tcp), 'A',
	       "treq (receiver unknown) and icmp on TCP: the next DROP is still skipped");
	is_int(run("26 03 080000 | 00 00 | 00 00 | 01 00", &tcp), 'D', "icmp on TCP alone: the next DROP fires");
	is_int(run("26 03 080000 | 64 01 06 | 01 00", &tcp), 'A', "icmp or tcp: TCP");
	is_int(run("26 03 080000 | 64 01 06 | 01 00", &udp), 'N', "icmp or tcp: UDP");
	is_int(run("a4 01 11 | 01 00", &tcp), 'A', "not udp: TCP");
	is_int(run("28 04 0000 ffff | 01 00", &echo), 'N', "any dport: not on ICMP");
	is_int(run("a8 04 0000 ffff | 01 00", &echo), 'A', "not any dport: ICMP");
}

static union zt_sockaddr sockaddr_of(const char *ip, unsigned bits)
{
	union zt_sockaddr a;

	memset(&a, 0, sizeof a);
	if (inet_pton(AF_INET, ip, &a.in4.sin_addr) == 1) {
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons((uint16_t)bits);
	} else if (inet_pton(AF_INET6, ip, &a.in6.sin6_addr) == 1) {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons((uint16_t)bits);
	}
	return a;
}

/* A table with the node's own certificates of ownership and addresses. */
static int load_owned(const char *table, uint64_t flags, const struct zt_coo *coos, unsigned ncoos,
		      const union zt_sockaddr *ips, unsigned nips)
{
	static uint8_t b[256];
	size_t len = hex(table, b, sizeof b);
	struct zt_policy_rules r = { b, len, entries(b, len), flags, NULL, 0, NULL, 0, coos, ncoos, ips, nips };

	return ops->rules(st, &r);
}

/* The ipauth and macauth characteristics (§6.3): the sender's IP (IPv4
 * source, ARP sender, IPv6 source, a Neighbour Advertisement's target)
 * and its source MAC, owned by a certificate of ownership the sender
 * showed (ingress) or one of the node's own (egress); an IPv6 address in
 * the prefix of the node's own rfc4193 address with NDP emulation. */
static void test_ownership(void)
{
	struct fr syn = tcp4(1, 2, 0x02), other = icmp4(8, 0), a = arp(), v6 = udp6(1, 2);
	struct fr na = ip6(58, (const uint8_t[24]){ 136 }, 24), near = udp6(1, 2);
	union zt_sockaddr owned = sockaddr_of("10.1.2.3", 32), owned6 = sockaddr_of("2001:db8::1", 128);
	union zt_sockaddr rfc = sockaddr_of("fd00:1122:3344:5566:7799:9311:1111:1111", 88);
	struct zt_coo ip_coo, mac_coo, empty;

	memset(&ip_coo, 0, sizeof ip_coo);
	zt_coo_add_ip(&ip_coo, &owned);
	zt_coo_add_ip(&ip_coo, &owned6);
	memset(&mac_coo, 0, sizeof mac_coo);
	zt_coo_add_mac(&mac_coo, mac_self);
	memset(&empty, 0, sizeof empty);
	/* other: the source 10.1.2.4; the NA's target 2001:db8::1; near:
	 * from an address in our rfc4193 /88 */
	other.b[14 + 15] = 4;
	memcpy(na.b + 14 + 48, &owned6.in6.sin6_addr, 16);
	memset(na.b + 14 + 8, 0, 16);
	inet_pton(AF_INET6, "fd00:1122:3344:5566:7799:9322:2222:2222", near.b + 14 + 8);

	ok(load_owned("29 08 1000000000000000 | 01 00", 0, NULL, 0, NULL, 0) == 0, "ipauth: a table loads");
	is_int(judge(&syn, true), 'N', "ipauth inbound: the sender showed no certificate");
	peer_coos = &ip_coo;
	n_peer_coos = 1;
	is_int(judge(&syn, true), 'A', "ipauth inbound: the sender's certificate lists the IPv4 source");
	is_int(judge(&other, true), 'N', "ipauth inbound: ... not another source");
	is_int(judge(&v6, true), 'A', "ipauth inbound: the IPv6 source is listed");
	is_int(judge(&na, true), 'A', "ipauth inbound: a neighbour advertisement's target is listed");
	is_int(judge(&a, true), 'N', "ipauth inbound: an ARP sender not listed");
	is_int(judge(&syn, false), 'N', "ipauth outbound: the remote member's certificates do not count");
	n_peer_coos = 0;
	is_int(judge(&syn, true), 'N', "ipauth inbound: certificates the kernel holds unusable do not count");
	ok(load_owned("29 08 1000000000000000 | 01 00", 0, &ip_coo, 1, NULL, 0) == 0, "ipauth: own certificate");
	is_int(judge(&syn, false), 'A', "ipauth outbound: our own certificate lists the source");
	is_int(judge(&other, false), 'N', "ipauth outbound: ... not another");
	is_int(judge(&syn, true), 'N', "ipauth inbound: our own certificate does not vouch for the sender");

	ok(load_owned("29 08 1000000000000000 | 01 00", 0x04, &empty, 1, &rfc, 1) == 0,
	   "ipauth: NDP emulation, our rfc4193 address");
	is_int(judge(&near, true), 'A', "ipauth inbound: an address of our rfc4193 /88 is unspoofable");
	is_int(judge(&v6, true), 'N', "ipauth inbound: ... not one outside it");
	is_int(judge(&near, false), 'N', "ipauth outbound: the prefix does not count");
	ok(load_owned("29 08 1000000000000000 | 01 00", 0, NULL, 0, &rfc, 1) == 0, "ipauth: no NDP emulation");
	is_int(judge(&near, true), 'N', "ipauth inbound: without NDP emulation the prefix does not count");

	ok(load_owned("29 08 0800000000000000 | 01 00", 0, &mac_coo, 1, NULL, 0) == 0, "macauth: a table loads");
	is_int(judge(&syn, false), 'A', "macauth outbound: our certificate lists the source MAC");
	peer_coos = &ip_coo;
	n_peer_coos = 1;
	is_int(judge(&syn, true), 'N', "macauth inbound: the sender's certificate lists no MAC");
	peer_coos = &mac_coo;
	is_int(judge(&syn, true), 'A', "macauth inbound: the sender's certificate lists its MAC");
	peer_coos = NULL;
	n_peer_coos = 0;
}

static void test_forward(void)
{
	struct fr f = tcp4(1, 2, 0);
	uint64_t c = zt_inst_counter(zi, "copies_not_sent"), r = zt_inst_counter(zi, "redirects_not_done");

	is_int(run("02 0e 0000003333333333 00000000 0080 | 01 00", &f), 'A', "tee to a third member: accepted");
	is_int(zt_inst_counter(zi, "copies_not_sent"), c + 1, "the copy is counted as not sent");
	is_int(run("03 0e 0000003333333333 00000000 0000 | 00 00", &f), 'D', "watch then drop: dropped");
	is_int(zt_inst_counter(zi, "copies_not_sent"), c + 1, "no copy for a dropped frame");
	is_int(run("04 0e 0000003333333333 00000000 0000 | 00 00", &f), 'D', "redirect: continues, not performed");
	is_int(zt_inst_counter(zi, "redirects_not_done"), r + 1, "the redirect is counted");
	is_int(run_in("02 0e 0000001111111111 00000000 0000 | 00 00", &f), 'A', "tee to self inbound: super-accept");
	is_int(run("02 0e 0000001111111111 00000000 0000 | 00 00", &f), 'D', "tee to self outbound: continue");
	is_int(run_in("04 0e 0000002222222222 00000000 0000 | 00 00", &f), 'D', "redirect to the sender: no-op");
	is_int(run("04 0e 0000002222222222 00000000 0000 | 01 00", &f), 'A', "redirect to the destination: no-op");
	is_int(zt_inst_counter(zi, "redirects_not_done"), r + 1, "no-op redirects are not counted");
	is_int(run_in("02 0e 00ffff1111111111 00000000 0000 | 00 00", &f), 'A', "tee target uses the low 40 bits");
}

/* With a kernel that acts on them (ctx->out): copies and redirects as
 * networks.md §6.2 makes them. */
static void test_forward_out(void)
{
	struct fr f = tcp4(1, 2, 0);
	size_t plen = f.len - 14;
	struct zt_policy_out out;
	uint64_t copies = zt_inst_counter(zi, "copies"), redirects = zt_inst_counter(zi, "redirects");

	judge_out = &out;
	is_int(run("02 0e 0000003333333333 00000000 0010 | 01 00", &f), 'A', "tee of 16 bytes: accepted");
	ok(out.copy_to == OTHER && out.copy_len == 16 && !out.copy_watch && !out.redirect_to && !out.super_accept,
	   "... a copy of 16 payload bytes to the third member");
	is_int(run("03 0e 0000003333333333 00000000 0000 | 01 00", &f), 'A', "watch of the whole frame: accepted");
	ok(out.copy_to == OTHER && out.copy_len == plen && out.copy_watch, "... the whole payload, watched");
	is_int(run("02 0e 0000003333333333 00000000 ffff | 01 00", &f), 'A', "tee longer than the frame");
	is_int((int)out.copy_len, (int)plen, "... is cut to the payload");
	is_int(zt_inst_counter(zi, "copies"), copies + 3, "the copies are counted");
	is_int(run("04 0e 0000003333333333 00000000 0000 | 00 00", &f), 'A', "redirect: decides, the DROP after it unseen");
	ok(out.redirect_to == OTHER && !out.copy_to, "... to the third member");
	is_int(zt_inst_counter(zi, "redirects"), redirects + 1, "the redirect is counted");
	is_int(run("24 01 11 | 04 0e 0000003333333333 00000000 0000 | 00 00", &f), 'D',
	       "a redirect whose matches fail does nothing");
	is_int(run("02 0e 0000003333333333 00000000 0000 | 00 00", &f), 'D', "tee then drop: dropped");
	is_int(run_in("02 0e 0000001111111111 00000000 0000 | 00 00", &f), 'A', "tee to self inbound");
	ok(out.super_accept && !out.copy_to, "... super-accepts: delivered whatever its MACs");
	is_int(run_in("01 00", &f), 'A', "a plain accept");
	ok(!out.super_accept && !out.copy_to && !out.redirect_to, "... asks for nothing");
	judge_out = NULL;
}

/* The judgement of a frame for each active bridge it is flooded to
 * (no_copy, as 1.14's noTee): a REDIRECT still acts, a TEE or WATCH
 * makes no copy and is counted as not sent, not as a copy. */
static void test_forward_no_copy(void)
{
	struct fr f = tcp4(1, 2, 0);
	struct zt_policy_out out;
	uint64_t copies = zt_inst_counter(zi, "copies"), not_sent = zt_inst_counter(zi, "copies_not_sent");
	uint64_t redirects = zt_inst_counter(zi, "redirects");

	judge_out = &out;
	judge_no_copy = true;
	is_int(run("02 0e 0000003333333333 00000000 0010 | 01 00", &f), 'A', "no_copy: a tee, accepted");
	ok(!out.copy_to && !out.copy_len && !out.copy_watch && !out.redirect_to, "... asks for no copy");
	is_int(run("03 0e 0000003333333333 00000000 0000 | 01 00", &f), 'A', "no_copy: a watch, accepted");
	ok(!out.copy_to, "... asks for no copy either");
	is_int(zt_inst_counter(zi, "copies"), copies, "... neither is counted as a copy");
	is_int(zt_inst_counter(zi, "copies_not_sent"), not_sent + 2, "... both are counted as not sent");
	is_int(run("04 0e 0000003333333333 00000000 0000 | 00 00", &f), 'A', "no_copy: a redirect still decides");
	ok(out.redirect_to == OTHER, "... to the third member");
	is_int(zt_inst_counter(zi, "redirects"), redirects + 1, "... and is counted");
	judge_no_copy = false;
	judge_out = NULL;
}

static void test_tables(void)
{
	static uint8_t big[2 * 1025 + 2];
	struct fr f = tcp4(1, 2, 0), a = arp();
	uint64_t mal = zt_inst_counter(zi, "malformed_tables");
	uint8_t b[32];
	size_t n;

	ok(load("25 02 0806 | 00 00 | 01 00") == 0, "a good table loads");
	n = hex("1f 04 0a000000 | 01 00", b, sizeof b);
	is_int(load_bytes(b, n, 2, 0), -EINVAL, "ipv4 match with 4 bytes refused");
	n = hex("25 02 0806 | 00", b, sizeof b);
	is_int(load_bytes(b, n, 2, 0), -EINVAL, "truncated entry header refused");
	n = hex("25 05 0806", b, sizeof b);
	is_int(load_bytes(b, n, 1, 0), -EINVAL, "value past the end refused");
	n = hex("01 00 | 00 00", b, sizeof b);
	is_int(load_bytes(b, n, 1, 0), -EINVAL, "bytes after n entries refused");
	is_int(load_bytes(b, n, 3, 0), -EINVAL, "fewer entries than n refused");
	n = hex("02 08 0000003333333333", b, sizeof b);
	is_int(load_bytes(b, n, 1, 0), -EINVAL, "short TEE refused");
	is_int(load_bytes(NULL, 4, 0, 0), -EINVAL, "no bytes refused");
	is_int(zt_inst_counter(zi, "malformed_tables"), mal + 7, "refusals counted");
	ok(judge(&a, false) == 'D' && judge(&f, false) == 'A', "the previous table is kept");

	for (unsigned i = 0; i < 1024; i++)
		big[2 * i] = 0x10;      /* unassigned match, no value */
	big[2 * 1023] = 0x01;           /* ACCEPT */
	ok(load_bytes(big, 2 * 1024, 1024, 0) == 0, "1024 entries load");
	is_int(judge(&f, false), 'N', "1023 unassigned matches then accept: no match");
	load_bytes(big, 2 * 1024, 1024, 0x08);
	is_int(judge(&f, false), 'A', "with flag 0x08 they match");
	big[2 * 1024] = 0x01;
	is_int(load_bytes(big, 2 * 1025, 1025, 0), -EINVAL, "1025 entries refused");
	ok(load("25 04 0800 ffff | 01 00") == 0 && judge(&f, false) == 'A' && judge(&a, false) == 'N',
	   "longer values load and are read at their fixed positions");
	ok(load("10 ff " "000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"
		"000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"
		"000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"
		"000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"
		"000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"
		"000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"
		"000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"
		"000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e "
		"| 01 00") == 0, "an unassigned match with 255 bytes loads");
	{
		struct fr s = eth(mac_peer, 0x0800);
		uint64_t sh = zt_inst_counter(zi, "short_frames");

		load("01 00");
		s.len = 13;
		is_int(judge(&s, false), 'D', "a frame shorter than 14 bytes is dropped");
		is_int(zt_inst_counter(zi, "short_frames"), sh + 1, "and counted");
		s.len = 14;
		is_int(judge(&s, false), 'A', "an empty payload is judged");
	}
}

static void test_defaults(void)
{
	char err[256];
	struct zt_inst *d = zt_kernel_instance(k, ZT_POLICY, "{ use: rules, instance: d, default: drop }", err,
					       sizeof err);
	struct zt_inst *a = zt_kernel_instance(k, ZT_POLICY, "{ use: rules, instance: a }", err, sizeof err);
	struct zt_inst *bad = zt_kernel_instance(k, ZT_POLICY, "{ use: rules, instance: b, default: maybe }", err,
						 sizeof err);
	struct zt_policy_ctx ctx = { 1, SELF, SELF, PEER, false, NULL, 0, NULL, 0 };
	struct fr f = tcp4(1, 2, 0);
	struct zt_frame zf = { f.b, f.len };

	ok(d && a, "instances with default: drop and without default");
	ok(d && zt_inst_module(d)->ops.policy->judge(zt_inst_state(d), &ctx, &zf) == ZT_DROP,
	   "default drop before any table");
	ok(a && zt_inst_module(a)->ops.policy->judge(zt_inst_state(a), &ctx, &zf) == ZT_ACCEPT,
	   "default accept before any table");
	ok(!bad && strstr(err, "must be 'accept' or 'drop'"), "default: maybe refused");
	diag("%s", err);
}

/* Random tables and frames: judge never crashes and never reads outside them. */
static void test_random(void)
{
	static const uint8_t lens[64] = {
		[2] = 14, [3] = 14, [4] = 14, [24] = 5, [25] = 5, [26] = 2, [27] = 1, [28] = 1, [29] = 6,
		[30] = 6, [31] = 5, [32] = 5, [33] = 17, [34] = 17, [35] = 3, [36] = 1, [37] = 2, [38] = 3,
		[39] = 4, [40] = 4, [41] = 8, [42] = 4, [43] = 4, [44] = 8, [45] = 8, [46] = 8, [47] = 8,
		[48] = 8, [49] = 8, [50] = 8, [51] = 19,
	};
	uint8_t tb[40 * 21], *fb;
	unsigned bad = 0;

	srand(7);
	for (int round = 0; round < 20000; round++) {
		size_t len = 0, flen = (size_t)rand() % 120;
		unsigned n = (unsigned)rand() % 40;
		struct zt_policy_ctx ctx = { 1, SELF, PEER, rand() % 2 ? SELF : 0, rand() % 2, NULL, 0, NULL, 0 };
		struct zt_frame zf;
		enum zt_verdict v;

		for (unsigned i = 0; i < n; i++) {
			uint8_t t = (uint8_t)rand(), l = lens[t & 63];

			tb[len++] = t;
			tb[len++] = l;
			for (unsigned j = 0; j < l; j++)
				tb[len++] = (uint8_t)(rand() % 4 ? rand() % 3 : rand());
		}
		if (load_bytes(tb, len, n, (uint64_t)(rand() % 16)) < 0)
			bad++;
		fb = malloc(flen ? flen : 1);
		for (size_t i = 0; i < flen; i++)
			fb[i] = (uint8_t)(rand() % 3 ? rand() % 64 : rand());
		if (flen > 13) {
			static const uint16_t et[] = { 0x0800, 0x86dd, 0x0806, 0x1234 };
			uint16_t e = et[rand() % 4];

			fb[12] = (uint8_t)(e >> 8), fb[13] = (uint8_t)e;
			if (flen > 14 && e == 0x0800)
				fb[14] = (uint8_t)(0x40 | rand() % 16);
		}
		zf.data = fb;
		zf.len = flen;
		v = ops->judge(st, &ctx, &zf);
		if (v != ZT_ACCEPT && v != ZT_DROP)
			bad++;
		free(fb);
	}
	is_int(bad, 0, "20000 random tables and frames judged");
}

/* ---- per-rule counters and dry runs ---- */

/* The counters of one rule as rule_list() visits them. */
struct found {
	bool cap;
	uint32_t cap_id;
	unsigned index;
	struct zt_policy_rule r;
	char text[160];
	bool seen, has_text;
};

static void find_rule(void *ctx, const struct zt_policy_rule *r)
{
	struct found *f = ctx;

	if (r->cap != f->cap || (r->cap && r->cap_id != f->cap_id) || r->index != f->index)
		return;
	f->r = *r;
	f->seen = true;
	f->has_text = r->text != NULL;
	snprintf(f->text, sizeof f->text, "%s", r->text ? r->text : "");
}

static struct found rule_at(bool cap, uint32_t cap_id, unsigned index)
{
	struct found f = { .cap = cap, .cap_id = cap_id, .index = index };

	ops->rule_list(st, find_rule, &f);
	return f;
}

static uint64_t count_of(bool cap, uint32_t cap_id, unsigned index, bool inbound, unsigned outcome)
{
	struct found f = rule_at(cap, cap_id, index);

	return f.seen ? f.r.frames[inbound][outcome] : UINT64_MAX;
}

static struct zt_policy_explain ex;

static int explain(const struct fr *f, bool inbound)
{
	struct zt_policy_out fwd;
	struct zt_policy_ctx ctx = { 0x8056c2e21c000001ULL, SELF, inbound ? PEER : SELF, inbound ? SELF : PEER,
				     inbound, peer_tags, n_peer_tags, peer_caps, n_peer_caps, &fwd, false, NULL, 0 };
	struct zt_frame zf = { (uint8_t *)f->b, f->len };

	return ops->explain(st, &ctx, &zf, &ex);
}

/* drop icmp; accept tcp 80; the own capability 200 accepts tcp 22 */
#define COUNTED_TABLE "24 01 01 | 00 00 | 24 01 06 | 28 04 0050 0050 | 01 00"

static void test_counters(void)
{
	uint8_t b1[64], b2[64];
	struct zt_policy_cap ssh = cap_of(200, "24 01 06 | 28 04 0016 0016 | 01 00", b1, sizeof b1);
	struct zt_policy_cap web = cap_of(300, "24 01 06 | 28 04 1f90 1f90 | 01 00", b2, sizeof b2);
	struct fr t80 = tcp4(40000, 80, 0x02), t22 = tcp4(40000, 22, 0x02), ping = icmp4(8, 0);
	struct fr u53 = udp4(40000, 53), t8080 = tcp4(40000, 8080, 0x02);
	struct found f;

	ok(ops->rule_list && ops->explain, "rules lists its rules and explains");
	ok(load_own(COUNTED_TABLE, NULL, 0, &ssh, 1) == 0, "a table and an own capability");
	peer_holds(NULL, 0, NULL, 0);
	f = rule_at(false, 0, 4);
	ok(f.seen && f.r.action == ZT_RULE_ACCEPT && !strcmp(f.text, "accept ipprotocol 6 dport 80;"),
	   "rule 4 in the rules language: accept ipprotocol 6 dport 80;");
	is_str(rule_at(false, 0, 1).text, "drop ipprotocol 1;", "rule 1: drop ipprotocol 1;");
	is_str(rule_at(true, 200, 2).text, "accept ipprotocol 6 dport 22;", "the capability's rule");
	f = rule_at(false, 0, 5);
	ok(f.seen && !f.has_text && f.r.action == ZT_RULE_DEFAULT, "the end of the table is listed, without text");
	ok(!rule_at(false, 0, 0).seen, "a match entry is not a rule of its own");

	judge(&t80, false);
	judge(&t80, false);
	judge(&ping, true);
	judge(&t22, false);
	judge(&u53, false);
	f = rule_at(false, 0, 4);
	ok(f.r.frames[0][ZT_RULE_ACCEPT] == 2 && f.r.bytes[0][ZT_RULE_ACCEPT] == 2 * t80.len &&
	   f.r.frames[1][ZT_RULE_ACCEPT] == 0, "rule 4 counts the two outbound tcp 80 frames and their bytes");
	is_int(count_of(false, 0, 1, true, ZT_RULE_DROP), 1, "rule 1 counts the inbound ping it dropped");
	is_int(count_of(true, 200, 2, false, ZT_RULE_ACCEPT), 1, "the capability's rule counts tcp 22");
	is_int(count_of(false, 0, 5, false, ZT_RULE_DEFAULT), 1, "the end of the table counts the udp frame");
	peer_holds(NULL, 0, &web, 1);
	judge(&t8080, true);
	f = rule_at(true, 300, 2);
	ok(f.seen && !f.has_text && f.r.frames[1][ZT_RULE_ACCEPT] == 1,
	   "another member's capability is counted by id and rule, without text");
	peer_holds(NULL, 0, NULL, 0);

	ok(load_own(COUNTED_TABLE, NULL, 0, &ssh, 1) == 0 && count_of(false, 0, 4, false, ZT_RULE_ACCEPT) == 2,
	   "the same rules pushed again keep their counters");
	ok(load_own(COUNTED_TABLE, NULL, 0, NULL, 0) == 0 && count_of(false, 0, 4, false, ZT_RULE_ACCEPT) == 0 &&
	   !rule_at(true, 300, 2).seen, "other capabilities start the counters again");

	ok(load("02 0e 0000003333333333 00000000 0000 | 01 00") == 0, "a table with a tee");
	judge_out = &(struct zt_policy_out){ 0 };
	judge(&t80, false);
	judge_out = NULL;
	ok(count_of(false, 0, 0, false, ZT_RULE_TEE) == 1 && count_of(false, 0, 1, false, ZT_RULE_ACCEPT) == 1,
	   "a tee counts the copy at its rule and the frame where it is accepted");
	is_str(rule_at(false, 0, 0).text, "tee 0 3333333333;", "the tee's text");
}

static void test_explain(void)
{
	uint8_t b1[64];
	struct zt_policy_cap ssh = cap_of(200, "24 01 06 | 28 04 0016 0016 | 01 00", b1, sizeof b1);
	struct fr t80 = tcp4(40000, 80, 0x02), t22 = tcp4(40000, 22, 0x02), ping = icmp4(8, 0);
	struct fr u53 = udp4(40000, 53);
	uint64_t accepted, dropped, before;

	ok(load_own(COUNTED_TABLE, NULL, 0, &ssh, 1) == 0, "the counted table again");
	peer_holds(NULL, 0, NULL, 0);
	accepted = zt_inst_counter(zi, "accepted");
	dropped = zt_inst_counter(zi, "dropped");
	before = count_of(false, 0, 4, false, ZT_RULE_ACCEPT);

	ok(explain(&t80, false) == 0 && ex.verdict == ZT_ACCEPT && !ex.cap && ex.index == 4 &&
	   ex.outcome == ZT_RULE_ACCEPT, "tcp 80 outbound: accepted by rule 4");
	ok(ex.n_steps == 5 && !ex.steps[0].action && ex.steps[0].result == 0 &&
	   !strcmp(ex.steps[0].text, "ipprotocol 1") && ex.steps[1].action && ex.steps[1].result == 0 &&
	   ex.steps[2].result == 1 && !strcmp(ex.steps[3].text, "dport 80") && ex.steps[3].result == 1 &&
	   ex.steps[4].action && ex.steps[4].result == 1 && !strcmp(ex.steps[4].text, "accept"),
	   "... the trace: icmp not matched, drop not reached, tcp and dport 80 matched, accept reached");
	ok(strstr(ex.why, "rule 4 accepts it") != NULL, "... and why says so");

	ok(explain(&ping, true) == 0 && ex.verdict == ZT_DROP && ex.index == 1 && ex.outcome == ZT_RULE_DROP &&
	   ex.n_steps == 2 && ex.steps[0].result == 1, "a ping inbound: dropped by rule 1, after 2 entries");
	ok(strstr(ex.why, "rule 1 drops it") != NULL, "... why: rule 1 drops it");

	ok(explain(&t22, false) == 0 && ex.verdict == ZT_ACCEPT && ex.cap && ex.cap_id == 200 && ex.index == 2,
	   "tcp 22 outbound: allowed by capability 200, rule 2");
	ok(ex.n_steps == 8 && ex.steps[3].result == 0 && ex.steps[4].action && ex.steps[4].result == 0 && ex.steps[5].cap &&
	   ex.steps[5].cap_id == 200, "... the trace: the base rules (dport 80 fails, accept skipped), then the capability");
	ok(strstr(ex.why, "capability 200 rule 2 accepts it") != NULL, "... why names the capability");

	ok(explain(&u53, false) == 0 && ex.verdict == ZT_DROP && ex.index == 5 && ex.outcome == ZT_RULE_DEFAULT &&
	   strstr(ex.why, "dropped by default"), "udp: no rule decides, dropped by default");

	ok(load("24 01 11 | 05 00 | 01 00") == 0 && explain(&u53, false) == 0 && ex.verdict == ZT_DROP &&
	   ex.index == 1 && ex.outcome == ZT_RULE_BREAK, "udp through a BREAK: rule 1 breaks, dropped");

	ok(load("04 0e 0000003333333333 00000000 0000 | 00 00") == 0 && explain(&t80, false) == 0 &&
	   ex.verdict == ZT_ACCEPT && ex.outcome == ZT_RULE_REDIRECT && ex.out.redirect_to == OTHER,
	   "a redirect is explained with its target");

	ok(load_own(COUNTED_TABLE, NULL, 0, &ssh, 1) == 0, "the counted table once more");
	is_int(zt_inst_counter(zi, "accepted"), accepted, "dry runs count no frame accepted");
	is_int(zt_inst_counter(zi, "dropped"), dropped, "... nor dropped");
	is_int(count_of(false, 0, 4, false, ZT_RULE_ACCEPT), before, "... nor any rule's counter");

	{
		struct fr short_f = { .len = 10 };

		ok(explain(&short_f, false) == 0 && ex.verdict == ZT_DROP && strstr(ex.why, "shorter"),
		   "a frame shorter than its Ethernet header is explained as dropped");
	}
}

int main(void)
{
	char err[256];
	struct ev_loop *loop = ev_default_loop(0);

	plan(334);
	k = zt_kernel_new(loop);
	if (!k)
		bail("no kernel");
	zi = zt_kernel_instance(k, ZT_POLICY, "{ use: rules }", err, sizeof err);
	if (!zi)
		bail("rules: %s", err);
	ops = zt_inst_module(zi)->ops.policy;
	st = zt_inst_state(zi);
	ok(ops && ops->judge && ops->rules, "rules is a policy taking rule tables");

	test_example();
	test_addresses();
	test_ipv4();
	test_ipv6();
	test_tos_protocol();
	test_icmp();
	test_ports();
	test_characteristics();
	test_size_random_integer();
	test_tags_unknown();
	test_tags();
	test_capabilities();
	test_own_creds_refused();
	test_logic();
	test_passed_over();
	test_forward();
	test_forward_out();
	test_forward_no_copy();
	test_ownership();
	test_tables();
	test_defaults();
	test_random();
	test_counters();
	test_explain();

	zt_kernel_free(k);
	return tap_done();
}
