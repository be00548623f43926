/* The utun iface, loaded through the kernel, with a real tun device in a
 * network namespace of its own (the test unshares one at start).  The
 * test process is both the host (UDP sockets on the device) and the
 * network (the frame sink, and frames handed to tx()): the module asks
 * for unknown next hops with ARP and neighbour solicitations and holds
 * the packets until the answer, answers for its own addresses, learns
 * from arriving frames, gives multicast and broadcast their MACs, routes
 * through a gateway, drops what waited too long, unwraps IP frames into
 * the device, fills in the checksums the host leaves to it (offloads),
 * and refuses what the host writes that is not well-formed IP (through
 * a packet socket).  (rfc4193 and 6PLANE MACs, TCP segmentation and GRO
 * need a network: t/utun.sh.)
 *
 *   host side (this process)  <->  ztu0  <->  utun module  <->  sink, tx()
 *   198.19.0.5/16, fd00:1234::5/64, 198.19.128.0/17 via 198.19.0.1 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <unistd.h>

#include <ev.h>
#include <zt/kernel.h>

#include "internal.h"
#include "tap.h"
#include "iface.h"
#include "../ifaces/lib/neigh.h"

#define DEV "ztu0"
#define HOST_PORT 5555

static struct ev_loop *loop;
static struct zt_kernel *k;
static struct zt_inst *zi;

static const uint8_t port_mac[6] = { 0x02, 0x5a, 0x11, 0x22, 0x33, 0x55 };
static const uint8_t peer_mac[6] = { 0x02, 0x5a, 0x66, 0x77, 0x88, 0x99 };
static const uint8_t mac2[6] = { 0x02, 0x5a, 0x66, 0x77, 0x88, 0x20 };
static const uint8_t mac3[6] = { 0x02, 0x5a, 0x66, 0x77, 0x88, 0x30 };
static const uint8_t own4[4] = { 198, 19, 0, 5 };

/* ---- what the network saw ---- */

#define SEEN_MAX 256
struct seen {
	unsigned n;
	size_t len[SEEN_MAX];
	uint8_t f[SEEN_MAX][128];    /* the start of each frame */
};

static struct seen seen;

static void sink(void *ctx, struct zt_inst *from, struct zt_frame *f, unsigned n)
{
	struct seen *s = ctx;

	for (unsigned i = 0; i < n && s->n < SEEN_MAX; i++, s->n++) {
		s->len[s->n] = f[i].len;
		memcpy(s->f[s->n], f[i].data, f[i].len < 128 ? f[i].len : 128);
	}
}

/* The groups last reported. */
struct mcast_seen {
	unsigned reports, n;
	uint8_t macs[64][6];
};

static struct mcast_seen mseen;

static void msink(void *ctx, struct zt_inst *from, const uint8_t *macs, unsigned n)
{
	struct mcast_seen *m = ctx;

	m->reports++;
	m->n = n < 64 ? n : 64;
	memcpy(m->macs, macs, (size_t)m->n * 6);
}

typedef bool (*match_fn)(const uint8_t *f, size_t len, const void *arg);

/* How many frames since from match. */
static unsigned count(unsigned from, match_fn m, const void *arg)
{
	unsigned c = 0;

	for (unsigned i = from; i < seen.n; i++)
		c += m(seen.f[i], seen.len[i], arg);
	return c;
}

static void on_timeout(struct ev_loop *l, ev_timer *w, int revents)
{
	*(int *)w->data = 1;
}

/* Runs the loop until a frame since from matches or secs passed: the
 * frame, or NULL. */
static const uint8_t *wait_for(unsigned from, match_fn m, const void *arg, double secs)
{
	ev_timer t;
	int expired = 0;

	ev_timer_init(&t, on_timeout, secs, 0.);
	t.data = &expired;
	ev_timer_start(loop, &t);
	for (;;) {
		/* what the last turn of the loop brought counts, expired or not */
		for (unsigned i = from; i < seen.n; i++)
			if (m(seen.f[i], seen.len[i], arg)) {
				ev_timer_stop(loop, &t);
				return seen.f[i];
			}
		if (expired)
			return NULL;
		ev_run(loop, EVRUN_ONCE);
	}
}

static bool never(const uint8_t *f, size_t len, const void *arg)
{
	return false;
}

static void pump(double secs)
{
	wait_for(seen.n, never, NULL, secs);
}

static unsigned type_of(const uint8_t *f)
{
	return (unsigned)f[12] << 8 | f[13];
}

/* An ARP request (op 1) or reply (op 2) whose target address is arg. */
static bool arp_request_for(const uint8_t *f, size_t len, const void *arg)
{
	return len >= 42 && type_of(f) == 0x0806 && f[21] == 1 && memcmp(f + 38, arg, 4) == 0;
}

static bool arp_reply_to(const uint8_t *f, size_t len, const void *arg)
{
	return len >= 42 && type_of(f) == 0x0806 && f[21] == 2 && memcmp(f, arg, 6) == 0;
}

/* An IPv4 frame to the MAC arg, from the port. */
static bool ip4_to_mac(const uint8_t *f, size_t len, const void *arg)
{
	return len >= 34 && type_of(f) == 0x0800 && memcmp(f, arg, 6) == 0 && memcmp(f + 6, port_mac, 6) == 0;
}

static bool ip6_to_mac(const uint8_t *f, size_t len, const void *arg)
{
	return len >= 54 && type_of(f) == 0x86dd && f[20] == 17 && memcmp(f, arg, 6) == 0 &&
	       memcmp(f + 6, port_mac, 6) == 0;
}

/* A neighbour solicitation (135) or advertisement (136) for target arg. */
static bool ns_for(const uint8_t *f, size_t len, const void *arg)
{
	return len >= 78 && type_of(f) == 0x86dd && f[20] == 58 && f[54] == 135 && memcmp(f + 62, arg, 16) == 0;
}

static bool na_for(const uint8_t *f, size_t len, const void *arg)
{
	return len >= 78 && type_of(f) == 0x86dd && f[20] == 58 && f[54] == 136 && memcmp(f + 62, arg, 16) == 0;
}

/* ---- the host and the network's side ---- */

static const struct zt_iface_ops *ops(void)
{
	return zt_inst_module(zi)->ops.iface;
}

static int tx(const uint8_t *f, size_t len)
{
	struct zt_frame fr = { (uint8_t *)f, len };

	return ops()->tx(zt_inst_state(zi), &fr, 1);
}

static uint64_t counter(const char *name)
{
	return zt_inst_counter(zi, name);
}

/* A UDP datagram from the host to ip (IPv4 or IPv6 by its text). */
static int host_send(const char *ip, bool bcast)
{
	struct zt_iface_addr a = addr(ip, 0);
	int fd = socket(a.addr.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1, rc;
	socklen_t alen = a.addr.sa.sa_family == AF_INET ? sizeof a.addr.in4 : sizeof a.addr.in6;

	if (fd < 0)
		return -errno;
	a.addr.in4.sin_port = htons(9);   /* the same place in both */
	if (bcast)
		setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
	if (a.addr.sa.sa_family == AF_INET && (ntohl(a.addr.in4.sin_addr.s_addr) >> 28) == 0xe) {
		struct in_addr src;

		memcpy(&src, own4, 4);
		setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &src, sizeof src);
	}
	rc = sendto(fd, "zt-utun", 7, 0, &a.addr.sa, alen) == 7 ? 0 : -errno;
	close(fd);
	return rc;
}

static uint16_t ip4_sum(const uint8_t *h)
{
	uint32_t s = 0;

	for (unsigned i = 0; i < 20; i += 2)
		s += (uint32_t)h[i] << 8 | h[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An Ethernet frame from src_mac to dst_mac: IPv4, UDP from src_ip to
 * dst_ip:port with text, then pad bytes of Ethernet padding. */
static size_t udp_frame(uint8_t *f, const uint8_t *dst_mac, const uint8_t *src_mac, const uint8_t src_ip[4],
			const uint8_t dst_ip[4], unsigned port, const char *text, size_t pad)
{
	size_t tl = strlen(text), iplen = 28 + tl;
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t sum;

	memcpy(f, dst_mac, 6);
	memcpy(f + 6, src_mac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 28);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8);
	ip[3] = (uint8_t)iplen;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, src_ip, 4);
	memcpy(ip + 16, dst_ip, 4);
	sum = ip4_sum(ip);
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
	udp[1] = 7;
	udp[2] = (uint8_t)(port >> 8);
	udp[3] = (uint8_t)port;
	udp[5] = (uint8_t)(8 + tl);
	memcpy(udp + 8, text, tl);
	memset(udp + 8 + tl, 0xee, pad);
	return 14 + iplen + pad;
}

/* To the port, to 198.19.0.5:HOST_PORT. */
static size_t udp4_frame(uint8_t *f, const uint8_t *src_mac, const uint8_t src_ip[4], const char *text, size_t pad)
{
	return udp_frame(f, port_mac, src_mac, src_ip, own4, HOST_PORT, text, pad);
}

/* A UDP socket of the host bound to ip:port, or bails. */
static int host_socket(const uint8_t ip[4], unsigned port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memcpy(&sin.sin_addr, ip, 4);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
		bail("bind port %u: %s", port, strerror(errno));
	return fd;
}

/* What the host receives on fd within 5 s into got (NUL-terminated):
 * its length, or -1. */
static ssize_t host_recv(int fd, char *got, size_t len)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t r = -1;

	got[0] = 0;
	if (poll(&pfd, 1, 5000) == 1)
		r = recv(fd, got, len - 1, 0);
	if (r >= 0)
		got[r] = 0;
	return r;
}

/* ---- the tests ---- */

static void refused(const char *yaml, const char *what, const char *name)
{
	char err[512] = "";
	struct zt_inst *bad = zt_kernel_instance(k, ZT_IFACE, yaml, err, sizeof err);

	ok(bad == NULL && strstr(err, what), name);
	diag("%s", err);
}

static void test_device(void)
{
	struct zt_iface_addr ad[] = { addr("198.19.0.5", 16), addr("fd00:1234::5", 64) };
	struct zt_iface_route rt[] = { route("198.19.128.0", 17, "198.19.0.1") };
	struct zt_iface_settings s;
	char err[512] = "";

	zi = zt_kernel_instance(k, ZT_IFACE, "{ use: utun, instance: u0, name: " DEV ", neighbour-ttl: 5s, multicast-poll: 200ms }",
				err, sizeof err);
	if (!ok(zi != NULL, "created"))
		bail("%s", err);
	zt_inst_set_frame_sink(zi, sink, &seen);
	zt_inst_set_mcast_sink(zi, msink, &mseen);
	memset(&s, 0, sizeof s);
	memcpy(s.mac, port_mac, 6);
	s.mtu = 1500;
	s.up = true;
	s.n_addrs = 2;
	s.addrs = ad;
	s.n_routes = 1;
	s.routes = rt;
	is_int(ops()->configure(zt_inst_state(zi), &s), 0, "configured before start");
	is_int(zt_inst_start(zi), 0, "started");
	is_int(run("ip -d link show dev " DEV " | grep -q 'tun type tun'"), 0, "the device is a tun");
	is_int(run("ip link show dev " DEV " | grep -q 'POINTOPOINT.*UP.*mtu 1500'"), 0, "up, mtu 1500");
	is_int(run("ip addr show dev " DEV " | grep -q 'inet 198.19.0.5/16'"), 0, "198.19.0.5/16 on it");
	is_int(run("ip addr show dev " DEV " | grep -q 'inet6 fd00:1234::5/64'"), 0, "fd00:1234::5/64 on it");
	is_int(run("ip route show dev " DEV " | grep -q '198.19.128.0/17 via 198.19.0.1'"), 0,
	       "the route through 198.19.0.1 on it");
	is_str(ops()->port_name(zt_inst_state(zi)), DEV, "port name");
}

static void test_arp_ask(void)
{
	const uint8_t hop[4] = { 198, 19, 0, 9 }, gw[4] = { 198, 19, 0, 1 };
	uint8_t f[NEIGH_FRAME_MAX];
	const uint8_t *got;
	unsigned from = seen.n;

	is_int(host_send("198.19.0.9", false), 0, "the host sends to 198.19.0.9");
	got = wait_for(from, arp_request_for, hop, 5);
	ok(got && memcmp(got + 6, port_mac, 6) == 0 && memcmp(got + 28, own4, 4) == 0,
	   "an ARP request for it from the port's MAC and address");
	is_int(count(from, ip4_to_mac, peer_mac), 0, "the packet waits");
	is_int(counter("rx_held"), 1, "held: counted");
	tx(f, neigh_arp_build(f, 2, peer_mac, hop, port_mac, own4));
	ok(wait_for(from, ip4_to_mac, peer_mac, 5), "the ARP reply lets it go to the answer's MAC");
	is_int(counter("neigh_learned"), 1, "learned: counted");
	from = seen.n;
	host_send("198.19.0.9", false);
	ok(wait_for(from, ip4_to_mac, peer_mac, 5) && count(from, arp_request_for, hop) == 0,
	   "the next goes at once, with no question");

	from = seen.n;
	host_send("198.19.200.7", false);
	ok(wait_for(from, arp_request_for, gw, 5), "to 198.19.200.7: an ARP request for the gateway 198.19.0.1");
}

static void test_arp_answer(void)
{
	const uint8_t asker[4] = { 198, 19, 0, 20 }, other[4] = { 198, 19, 0, 99 };
	uint8_t f[NEIGH_FRAME_MAX], zero[6] = { 0 };
	const uint8_t *got;
	unsigned from = seen.n;

	tx(f, neigh_arp_build(f, 1, mac2, asker, zero, own4));
	got = wait_for(from, arp_reply_to, mac2, 5);
	ok(got && memcmp(got + 22, port_mac, 6) == 0 && memcmp(got + 28, own4, 4) == 0 &&
	   memcmp(got + 38, asker, 4) == 0, "an ARP request for 198.19.0.5 is answered with the port's MAC");
	is_int(counter("neigh_answered"), 1, "answered: counted");
	from = seen.n;
	tx(f, neigh_arp_build(f, 1, mac2, asker, zero, other));
	pump(0.2);
	is_int(count(from, arp_reply_to, mac2), 0, "one for another address is not");
	from = seen.n;
	host_send("198.19.0.20", false);
	ok(wait_for(from, ip4_to_mac, mac2, 5) && count(from, arp_request_for, asker) == 0,
	   "the asker was learned: the host's packet to it goes at once");
}

static void test_ndp(void)
{
	uint8_t f[NEIGH_FRAME_MAX], peer[16], own[16];
	const uint8_t *got;
	unsigned from = seen.n;

	inet_pton(AF_INET6, "fd00:1234::9", peer);
	inet_pton(AF_INET6, "fd00:1234::5", own);
	is_int(host_send("fd00:1234::9", false), 0, "the host sends to fd00:1234::9");
	got = wait_for(from, ns_for, peer, 5);
	ok(got && memcmp(got, "\x33\x33\xff\x00\x00\x09", 6) == 0 && memcmp(got + 22, own, 16) == 0,
	   "a neighbour solicitation for it to its solicited-node group, from fd00:1234::5");
	tx(f, neigh_na_build(f, peer_mac, peer, port_mac, own));
	ok(wait_for(from, ip6_to_mac, peer_mac, 5), "the advertisement lets the packet go to its MAC");

	from = seen.n;
	tx(f, neigh_ns_build(f, peer_mac, peer, own));
	got = wait_for(from, na_for, own, 5);
	ok(got && memcmp(got, peer_mac, 6) == 0 && memcmp(got + 6, port_mac, 6) == 0 &&
	   memcmp(got + 38, peer, 16) == 0 && memcmp(got + 80, port_mac, 6) == 0,
	   "a solicitation for fd00:1234::5 is answered, to the asker, with the port's MAC");
}

static void test_unwrap(void)
{
	const uint8_t src[4] = { 198, 19, 0, 30 };
	int fd = host_socket(own4, HOST_PORT);
	uint8_t f[200];
	char got[64];
	unsigned from;

	is_int(tx(f, udp4_frame(f, mac3, src, "zt-utun-tx", 12)), 1, "an IPv4 frame with padding: taken");
	is_int(host_recv(fd, got, sizeof got), 10, "the host receives its datagram, without the padding");
	is_str(got, "zt-utun-tx", "... intact");
	close(fd);
	is_int(counter("tx_packets"), 1, "written: counted");
	from = seen.n;
	host_send("198.19.0.30", false);
	ok(wait_for(from, ip4_to_mac, mac3, 5) && count(from, arp_request_for, src) == 0,
	   "its source was learned from it: the answer goes at once");
}

/* The one's complement sum of a UDP datagram over IPv4 (pseudo-header
 * included) as it stands in frame f: 0xffff if its checksum is right. */
static unsigned udp4_sum(const uint8_t *f)
{
	const uint8_t *ip = f + 14, *udp = ip + (ip[0] & 15) * 4;
	size_t ulen = (size_t)udp[4] << 8 | udp[5];
	uint32_t s = 17 + (uint32_t)ulen;

	for (unsigned i = 12; i < 20; i += 2)
		s += (uint32_t)ip[i] << 8 | ip[i + 1];
	for (size_t i = 0; i < ulen; i++)
		s += i % 2 ? udp[i] : (uint32_t)udp[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* With offloads the host leaves UDP checksums to the port: filled in. */
static void test_checksum(void)
{
	uint64_t fixed = counter("csum_fixed");
	unsigned from = seen.n;
	const uint8_t *got;

	host_send("198.19.0.30", false);
	got = wait_for(from, ip4_to_mac, mac3, 5);
	ok(got && got[23] == 17, "a datagram from the host to a known neighbour goes");
	ok(counter("csum_fixed") > fixed, "its checksum was left to the port: counted");
	is_int(got ? (int)udp4_sum(got) : 0, 0xffff, "and filled in right");
}

static void test_groups(void)
{
	unsigned from = seen.n;

	host_send("198.19.255.255", true);
	ok(wait_for(from, ip4_to_mac, "\xff\xff\xff\xff\xff\xff", 5), "the subnet's broadcast: to ff:ff:ff:ff:ff:ff");
	from = seen.n;
	host_send("239.1.2.3", false);
	ok(wait_for(from, ip4_to_mac, "\x01\x00\x5e\x01\x02\x03", 5), "239.1.2.3: to 01:00:5e:01:02:03");
	from = seen.n;
	host_send("ff05::1:3", false);
	ok(wait_for(from, ip6_to_mac, "\x33\x33\x00\x01\x00\x03", 5), "ff05::1:3: to 33:33:00:01:00:03");
}

/* ---- the host's multicast groups ---- */

static bool has_group(const uint8_t *mac)
{
	for (unsigned i = 0; i < mseen.n; i++)
		if (memcmp(mseen.macs[i], mac, 6) == 0)
			return true;
	return false;
}

/* Runs the loop until mac is reported as joined (or left) or 5 s passed. */
static bool wait_group(const uint8_t *mac, bool joined)
{
	for (int i = 0; i < 50; i++) {
		if (mseen.reports && has_group(mac) == joined)
			return true;
		pump(0.1);
	}
	return false;
}

static void test_multicast(void)
{
	const uint8_t group[4] = { 239, 1, 2, 4 }, src[4] = { 198, 19, 0, 40 };
	const uint8_t gmac[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x04 };
	struct ip_mreq mr;
	int fd = host_socket(group, 6666);
	uint8_t f[200];
	char got[64];

	ok(wait_group((const uint8_t *)"\x33\x33\x00\x00\x00\x01", true), "the host's IPv6 all-nodes group reported");
	ok(!has_group(gmac), "239.1.2.4 not yet");
	memcpy(&mr.imr_multiaddr, group, 4);
	memcpy(&mr.imr_interface, own4, 4);
	is_int(setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr), 0, "the host joins 239.1.2.4 on the device");
	ok(wait_group(gmac, true), "01:00:5e:01:02:04 reported");
	is_int(tx(f, udp_frame(f, gmac, mac3, src, group, 6666, "zt-utun-mcast", 0)), 1,
	       "a frame to the group: taken");
	is_int(host_recv(fd, got, sizeof got), 13, "the host's member of the group receives it");
	close(fd);
	ok(wait_group(gmac, false), "the host leaves: reported");
}

static void test_drops(void)
{
	const uint8_t src[4] = { 198, 19, 0, 31 }, gw[4] = { 198, 19, 0, 1 };
	uint8_t f[200], zero[6] = { 0 };
	size_t len;

	len = udp4_frame(f, mac3, src, "not ours", 0);
	memcpy(f, mac2, 6);
	is_int(tx(f, len), 0, "a frame for another MAC: not taken");
	is_int(counter("tx_not_ours"), 1, "... counted");
	len = udp4_frame(f, mac3, src, "other type", 0);
	f[12] = 0x88;
	f[13] = 0xb5;
	is_int(tx(f, len), 0, "a frame of another type: not taken");
	is_int(counter("tx_not_ip"), 1, "... counted");
	len = neigh_arp_build(f, 1, mac2, src, zero, own4);
	f[18] = 8;
	is_int(tx(f, len), 0, "a malformed ARP request: not taken");
	is_int(counter("neigh_bad"), 1, "... counted");
	is_int(tx(f, 10), 0, "10 bytes: not taken");
	is_int(counter("tx_short"), 1, "... counted");
	/* the gateway never answered: its packet is dropped after 3 s, the
	 * question asked again on the way */
	pump(0.1);
	for (int i = 0; i < 60 && counter("rx_unresolved") == 0; i++)
		pump(0.1);
	ok(counter("rx_unresolved") >= 1, "the packet for the silent gateway is dropped in time");
	ok(count(0, arp_request_for, gw) >= 2, "its question was asked again meanwhile");
}

/* A raw packet into the device, as if the host sent it: through a packet
 * socket, with an ethertype of the sender's choosing.  0 or -errno. */
static int host_raw(unsigned type, const uint8_t *pkt, size_t len)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons((uint16_t)type),
		.sll_ifindex = (int)if_nametoindex(DEV),
	};
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -errno;
	rc = sendto(fd, pkt, len, 0, (struct sockaddr *)&sll, sizeof sll) == (ssize_t)len ? 0 : -errno;
	close(fd);
	return rc;
}

/* Packets from the host that are not IP, or malformed IP: refused and
 * counted, nothing goes to the network. */
static void test_bad_host_packets(void)
{
	uint8_t pkt[100], f[200];
	const uint8_t dst[4] = { 198, 19, 0, 30 };
	unsigned from = seen.n;
	uint64_t bad = counter("rx_bad");
	size_t len;

	memset(pkt, 0, sizeof pkt);
	memcpy(pkt, "\x00not IP at all", 15);
	is_int(host_raw(0x88b5, pkt, 60), 0, "the host sends 60 bytes that are not IP");
	pkt[0] = 0x45;
	is_int(host_raw(0x0800, pkt, 12), 0, "... an IPv4 header cut short");
	/* a well-formed IPv4 UDP packet to a known neighbour, then lies */
	len = udp_frame(f, port_mac, mac3, own4, dst, 9, "lies", 0) - 14;
	memcpy(pkt, f + 14, len);
	pkt[3] += 10;
	is_int(host_raw(0x0800, pkt, len), 0, "... an IPv4 packet longer by its header than it is");
	memcpy(pkt, f + 14, len);
	pkt[0] = 0x44;
	is_int(host_raw(0x0800, pkt, len), 0, "... an IPv4 header of 16 bytes");
	memset(pkt, 0, sizeof pkt);
	pkt[0] = 0x60;
	pkt[5] = 200;
	is_int(host_raw(0x86dd, pkt, 60), 0, "... an IPv6 header whose payload is not there");
	for (int i = 0; i < 50 && counter("rx_bad") < bad + 5; i++)
		pump(0.1);
	is_int(counter("rx_bad") - bad, 5, "all five refused: counted");
	memcpy(pkt, f + 14, len);
	is_int(host_raw(0x0800, pkt, len), 0, "then the same packet well-formed");
	ok(wait_for(from, ip4_to_mac, mac3, 5), "it goes to the network");
	is_int(count(from, ip4_to_mac, mac3), 1, "and only it");
}

static void test_stop(void)
{
	uint8_t f[100];

	zt_inst_stop(zi);
	is_int(run("ip link show dev " DEV " > /dev/null 2>&1"), 1, "stop: the device is gone");
	is_int(tx(f, udp4_frame(f, mac3, own4, "late", 0)), -ENOTCONN, "tx while stopped: -ENOTCONN");
	is_int(counter("rx_errors") + counter("tx_errors") + counter("tx_dropped"), 0, "no errors or drops on the way");
}

int main(void)
{
	iface_test_netns();
	loop = ev_loop_new(EVFLAG_AUTO);
	k = zt_kernel_new(loop);
	if (!loop || !k)
		bail("no loop or kernel");

	plan(68);
	refused("{ use: utun, name: zt0123456789abcdef }", "name: must be at most 15 characters",
		"a name of 18 characters: refused");
	refused("{ use: utun, neighbour-ttl: 10ms }", "neighbour-ttl: must be between 1s and 24h",
		"neighbour-ttl 10ms: refused");
	refused("{ use: utun, multicast-poll: 10ms }", "multicast-poll: must be between 100ms and 1h",
		"multicast-poll 10ms: refused");
	test_device();
	test_arp_ask();
	test_arp_answer();
	test_ndp();
	test_unwrap();
	test_checksum();
	test_groups();
	test_multicast();
	test_drops();
	test_bad_host_packets();
	test_stop();

	zt_kernel_free(k);
	ev_loop_destroy(loop);
	return tap_done();
}
