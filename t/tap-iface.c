/* The tap iface, loaded through the kernel, with real TAP devices in a
 * network namespace of its own (the test unshares one at start, so nothing
 * touches the host).  Checks the device's name, MAC, MTU and state,
 * addresses and routes set by configure() and removed again, frames both
 * ways, multicast groups, bad options and bad settings.  Then queues for
 * data-path workers: a second fd on the device (IFF_MULTI_QUEUE), run on
 * a loop of its own, with offloads on and off.
 *
 *   host side (this process, AF_PACKET, ip)  <->  ztt0  <->  tap module
 *   198.19.0.0/16, fd00:1234::/64
 *   host side  <->  ztq0 (queues 0 and 1)  <->  instance mq, queue mq/q1
 *   198.19.1.1/24, a static neighbour 198.19.1.2 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include <ev.h>
#include <zt/kernel.h>

#include "internal.h"
#include "tap.h"
#include "iface.h"

#define DEV "ztt0"
#define MARK_TX 0x88b5   /* local experimental ethertypes */
#define MARK_RX 0x88b6

static struct ev_loop *loop;
static struct ev_loop *wloop;   /* a worker's, while queues are tested */
static struct zt_kernel *k;

static const uint8_t port_mac[6] = { 0x02, 0x5a, 0x11, 0x22, 0x33, 0x44 };

/* ---- what the sinks saw ---- */

struct seen {
	unsigned marked;          /* MARK_RX frames with the right payload */
	unsigned flows;           /* UDP datagrams "zt-flow" from the host */
	unsigned arp;             /* ARP requests for 198.19.0.77 */
	unsigned calls, largest;
	size_t longest;           /* longest MARK_RX frame */
	unsigned n_mcast, mcast_reports;
	uint8_t mcast[64][6];
};

static void sink(void *ctx, struct zt_inst *from, struct zt_frame *f, unsigned n)
{
	static const uint8_t who[4] = { 198, 19, 0, 77 };
	struct seen *s = ctx;

	s->calls++;
	if (n > s->largest)
		s->largest = n;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *d = f[i].data;
		unsigned type = (unsigned)d[12] << 8 | d[13];

		if (type == MARK_RX && f[i].len >= 60 && memcmp(d + 14, "zt-tap-rx", 9) == 0) {
			s->marked++;
			if (f[i].len > s->longest)
				s->longest = f[i].len;
		}
		if (type == 0x0806 && f[i].len >= 42 && d[21] == 1 && memcmp(d + 38, who, 4) == 0)
			s->arp++;
		if (type == 0x0800 && f[i].len >= 49 && d[23] == IPPROTO_UDP && memcmp(d + 42, "zt-flow", 7) == 0)
			s->flows++;
	}
}

static void msink(void *ctx, struct zt_inst *from, const uint8_t *macs, unsigned n)
{
	struct seen *s = ctx;

	s->mcast_reports++;
	s->n_mcast = n < 64 ? n : 64;
	memcpy(s->mcast, macs, (size_t)s->n_mcast * 6);
}

static bool has_group(const struct seen *s, const uint8_t *mac)
{
	for (unsigned i = 0; i < s->n_mcast; i++)
		if (memcmp(s->mcast[i], mac, 6) == 0)
			return true;
	return false;
}

static void on_timeout(struct ev_loop *l, ev_timer *w, int revents)
{
	*(int *)w->data = 1;
}

/* Runs the loop until done(s) or secs passed; returns done(s). */
static bool run_until(struct seen *s, bool (*done)(const struct seen *, const void *),
		      const void *arg, double secs)
{
	ev_timer t;
	int expired = 0;

	ev_timer_init(&t, on_timeout, secs, 0.);
	t.data = &expired;
	ev_timer_start(loop, &t);
	while (!(done && done(s, arg)) && !expired) {
		if (!wloop) {
			ev_run(loop, EVRUN_ONCE);
			continue;
		}
		/* both, as the main thread and a worker would */
		ev_run(loop, EVRUN_NOWAIT);
		ev_run(wloop, EVRUN_NOWAIT);
		poll(NULL, 0, 1);
	}
	ev_timer_stop(loop, &t);
	return done && done(s, arg);
}

static bool marked_at_least(const struct seen *s, const void *arg)
{
	return s->marked >= *(const unsigned *)arg;
}

static bool arp_seen(const struct seen *s, const void *arg)
{
	return s->arp > 0;
}

static bool group_in(const struct seen *s, const void *mac)
{
	return has_group(s, mac);
}

static bool group_out(const struct seen *s, const void *mac)
{
	return s->mcast_reports > 0 && !has_group(s, mac);
}

/* ---- the host side ---- */

/* The output of a command, up to len - 1 bytes. */
static char *output(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static char *output(char *out, size_t len, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	FILE *fp;
	size_t got = 0;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	out[0] = 0;
	fp = popen(cmd, "r");
	if (!fp)
		return out;
	while (got < len - 1) {
		size_t r = fread(out + got, 1, len - 1 - got, fp);

		if (!r)
			break;
		got += r;
	}
	out[got] = 0;
	pclose(fp);
	return out;
}

static int packet_socket(const char *dev)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (fd < 0)
		bail("AF_PACKET socket: %s", strerror(errno));
	sll.sll_ifindex = (int)if_nametoindex(dev);
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0)
		bail("bind AF_PACKET to %s: %s", dev, strerror(errno));
	return fd;
}

static size_t make_frame(uint8_t *f, const uint8_t *dst, unsigned type, const char *text, size_t len)
{
	static const uint8_t src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };

	memset(f, 0, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	memcpy(f + 14, text, strlen(text));
	return len;
}

/* Waits up to 2 s for a frame of this type and text on the packet socket. */
static bool host_receives(int fd, unsigned type, const char *text)
{
	uint8_t buf[2048];

	for (int waited = 0; waited < 2000;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0) {
			waited += 100;
			continue;
		}
		n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n >= 14 + (ssize_t)strlen(text) && buf[12] == type >> 8 && buf[13] == (type & 0xff) &&
		    memcmp(buf + 14, text, strlen(text)) == 0)
			return true;
	}
	return false;
}

/* ---- capturing what the kernel logs to stderr ---- */

static int cap_fd = -1, cap_saved = -1;

static void capture_begin(void)
{
	char tmpl[] = "/tmp/zt-tap-log-XXXXXX";

	cap_fd = mkstemp(tmpl);
	if (cap_fd < 0)
		bail("mkstemp: %s", strerror(errno));
	unlink(tmpl);
	fflush(stderr);
	cap_saved = dup(2);
	dup2(cap_fd, 2);
}

static void capture_end(char *out, size_t len)
{
	ssize_t got;

	fflush(stderr);
	dup2(cap_saved, 2);
	close(cap_saved);
	lseek(cap_fd, 0, SEEK_SET);
	got = read(cap_fd, out, len - 1);
	if (got < 0)
		got = 0;
	while (got > 0 && out[got - 1] == '\n')
		got--;
	out[got] = 0;
	close(cap_fd);
}

/* ---- settings ---- */

static struct zt_iface_settings settings(const struct zt_iface_addr *a, unsigned na,
					 const struct zt_iface_route *r, unsigned nr)
{
	struct zt_iface_settings s;

	memset(&s, 0, sizeof s);
	memcpy(s.mac, port_mac, 6);
	s.mtu = 2800;
	s.up = true;
	s.n_addrs = na;
	s.addrs = a;
	s.n_routes = nr;
	s.routes = r;
	return s;
}

/* ---- helpers for instances ---- */

static int conf_error(const char *err, const char *what)
{
	unsigned line, col;
	char file[64];

	return sscanf(err, "%63[^:]:%u:%u: ", file, &line, &col) == 3 && strstr(err, what);
}

static void refused(const char *yaml, const char *what, const char *name)
{
	char err[512] = "", label[256];
	struct zt_inst *zi = zt_kernel_instance(k, ZT_IFACE, yaml, err, sizeof err);

	snprintf(label, sizeof label, "%s: refused", name);
	ok(zi == NULL, label);
	snprintf(label, sizeof label, "%s: file:line:col message names %s", name, what);
	ok(conf_error(err, what), label);
	diag("%s", err);
}

static const struct zt_iface_ops *ops_of(struct zt_inst *zi)
{
	return zt_inst_module(zi)->ops.iface;
}

static int configure(struct zt_inst *zi, const struct zt_iface_settings *s)
{
	return ops_of(zi)->configure(zt_inst_state(zi), s);
}

static bool in(const char *haystack, const char *needle)
{
	return strstr(haystack, needle) != NULL;
}

/* ---- the tests ---- */

static void test_options(void)
{
	refused("{ use: tap, name: zt0123456789abcdef }", "name: must be at most 15 characters",
		"name of 18 characters");
	refused("{ use: tap, name: 'a/b' }", "name: must not contain", "name with a slash");
	refused("{ use: tap, mtu: 100 }", "mtu", "mtu 100");
	refused("{ use: tap, batch: 0 }", "batch", "batch 0");
	refused("{ use: tap, multicast-poll: 10ms }", "multicast-poll", "multicast-poll 10ms");
}

static void test_device(struct zt_inst *zi, struct seen *seen)
{
	struct zt_iface_settings s = settings(NULL, 0, NULL, 0);
	char buf[8192];

	is_int(configure(zi, &s), 0, "configure before start: kept");
	is_int(zt_inst_start(zi), 0, "started");
	output(buf, sizeof buf, "ip -j link show dev " DEV " 2>&1");
	diag("%s", buf);
	ok(in(buf, "\"ifname\":\"" DEV "\""), "device has the configured name");
	ok(in(buf, "\"address\":\"02:5a:11:22:33:44\""), "device has the configured MAC");
	ok(in(buf, "\"mtu\":2800"), "device has the configured MTU");
	ok(in(buf, "\"UP\"") && in(buf, "\"LOWER_UP\""), "device is up, with carrier");
	ok(in(buf, "\"txqlen\":1000"), "device has txqueuelen 1000");
}

static void test_addresses(struct zt_inst *zi)
{
	struct zt_iface_addr a1[] = { addr("198.19.0.5", 16), addr("fd00:1234::5", 64) };
	struct zt_iface_route r1[] = {
		route("198.19.128.0", 17, "198.19.0.1"),
		route("fd00:5678::", 48, "fd00:1234::1"),
	};
	struct zt_iface_addr a2[] = { addr("198.19.0.6", 16), addr("fd00:1234::6", 64),
				      addr("198.19.7.7", 16) };
	struct zt_iface_route r2[] = { route("198.19.64.0", 18, NULL) };
	struct zt_iface_addr a3[] = { addr("198.19.0.6", 16), addr("fd00:1234::6", 64) };
	struct zt_iface_settings s;
	char buf[16384];

	s = settings(a1, 2, r1, 2);
	is_int(configure(zi, &s), 0, "configure: two addresses and two routes");
	output(buf, sizeof buf, "ip -j addr show dev " DEV);
	ok(in(buf, "\"local\":\"198.19.0.5\",\"prefixlen\":16"), "198.19.0.5/16 on the device");
	ok(in(buf, "\"local\":\"fd00:1234::5\",\"prefixlen\":64"), "fd00:1234::5/64 on the device");
	output(buf, sizeof buf, "ip -j route show dev " DEV);
	diag("%s", buf);
	ok(in(buf, "\"dst\":\"198.19.128.0/17\",\"gateway\":\"198.19.0.1\""),
	   "route 198.19.128.0/17 via 198.19.0.1");
	output(buf, sizeof buf, "ip -j -6 route show dev " DEV);
	ok(in(buf, "\"dst\":\"fd00:5678::/48\",\"gateway\":\"fd00:1234::1\""),
	   "route fd00:5678::/48 via fd00:1234::1");

	is_int(run("ip addr add 198.19.7.7/16 dev " DEV), 0, "an address added by hand");
	s = settings(a2, 3, r2, 1);
	is_int(configure(zi, &s), 0, "configure: another set, listing the hand-made address");
	output(buf, sizeof buf, "ip -j addr show dev " DEV);
	diag("%s", buf);
	ok(!in(buf, "\"198.19.0.5\""), "198.19.0.5 removed");
	ok(!in(buf, "\"fd00:1234::5\""), "fd00:1234::5 removed");
	ok(in(buf, "\"local\":\"198.19.0.6\",\"prefixlen\":16"), "198.19.0.6/16 added");
	ok(in(buf, "\"local\":\"fd00:1234::6\",\"prefixlen\":64"), "fd00:1234::6/64 added");
	output(buf, sizeof buf, "ip -j route show dev " DEV);
	diag("%s", buf);
	ok(!in(buf, "198.19.128.0/17"), "route 198.19.128.0/17 removed");
	ok(in(buf, "\"dst\":\"198.19.64.0/18\",\"protocol\":\"static\",\"scope\":\"link\""),
	   "on-link route 198.19.64.0/18 added");
	output(buf, sizeof buf, "ip -j -6 route show dev " DEV);
	ok(!in(buf, "fd00:5678::/48"), "route fd00:5678::/48 removed");

	s = settings(a3, 2, NULL, 0);
	is_int(configure(zi, &s), 0, "configure: the hand-made address no longer listed");
	output(buf, sizeof buf, "ip -j addr show dev " DEV);
	ok(in(buf, "\"local\":\"198.19.7.7\",\"prefixlen\":16"), "the hand-made address stays");
	ok(in(buf, "\"local\":\"198.19.0.6\",\"prefixlen\":16"), "198.19.0.6/16 stays");
	output(buf, sizeof buf, "ip -j route show dev " DEV);
	ok(!in(buf, "198.19.64.0/18"), "route 198.19.64.0/18 removed");

	{	/* a default route is installed as two halves */
		struct zt_iface_route r4[] = { route("0.0.0.0", 0, "198.19.0.1") };

		s = settings(a3, 2, r4, 1);
		is_int(configure(zi, &s), 0, "configure: a default route");
		output(buf, sizeof buf, "ip -j route show dev " DEV);
		ok(in(buf, "\"dst\":\"0.0.0.0/1\",\"gateway\":\"198.19.0.1\"") &&
		   in(buf, "\"dst\":\"128.0.0.0/1\",\"gateway\":\"198.19.0.1\""),
		   "default route as 0.0.0.0/1 and 128.0.0.0/1");
		s = settings(a3, 2, NULL, 0);
		configure(zi, &s);
		output(buf, sizeof buf, "ip -j route show dev " DEV);
		ok(!in(buf, "0.0.0.0/1") && !in(buf, "128.0.0.0/1"), "both halves removed");
	}
}

static void test_bad_settings(struct zt_inst *zi)
{
	struct zt_iface_addr a[] = { addr("198.19.0.6", 24), addr("198.19.0.9", 40),
				     addr("fd00:1234::6", 64) };
	struct zt_iface_route r[] = {
		route("198.19.32.0", 20, "198.19.200.1"),      /* gateway off the link */
		route("198.19.48.0", 20, "fd00:1234::1"),      /* gateway of another family */
	};
	struct zt_iface_settings s = settings(a, 3, r, 2);
	struct zt_iface_addr bogus = { 0 };
	uint64_t nl_errors = zt_inst_counter(zi, "netlink_errors");
	char log[4096], buf[16384];
	int rc;

	/* 198.19.200.1 is off the link once 198.19.7.7/16 is gone */
	is_int(run("ip addr del 198.19.7.7/16 dev " DEV), 0, "the hand-made address removed by hand");
	capture_begin();
	rc = configure(zi, &s);
	capture_end(log, sizeof log);
	diag("log: %s", log);
	is_int(rc, -EINVAL, "bad settings: the first error returned");
	ok(in(log, "add 198.19.0.9/40: Invalid argument"), "bad prefix: logged with the address");
	ok(in(log, "route 198.19.48.0/20: gateway of another family"), "bad gateway family: logged");
	ok(in(log, "add route 198.19.32.0/20 via 198.19.200.1: Network is unreachable"),
	   "unreachable gateway: logged with the route and the errno text");
	ok(zt_inst_counter(zi, "netlink_errors") > nl_errors, "netlink error counted");
	output(buf, sizeof buf, "ip -j addr show dev " DEV);
	ok(in(buf, "\"local\":\"198.19.0.6\",\"prefixlen\":24"), "the good parts are applied");

	s = settings(&bogus, 1, NULL, 0);
	s.mtu = 100;
	capture_begin();
	rc = configure(zi, &s);
	capture_end(log, sizeof log);
	diag("log: %s", log);
	is_int(rc, -EAFNOSUPPORT, "address of no family: refused");
	ok(in(log, "mtu 100: must be between 1280 and 10000"), "mtu 100: logged");
	s = settings(NULL, 5, NULL, 0);
	capture_begin();
	rc = configure(zi, &s);
	capture_end(log, sizeof log);
	is_int(rc, -EINVAL, "5 addresses at NULL: refused");
	output(buf, sizeof buf, "ip -j link show dev " DEV);
	ok(in(buf, "\"mtu\":2800"), "the MTU is unchanged");
}

static void test_frames(struct zt_inst *zi, struct seen *seen)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct zt_iface_addr a[] = { addr("198.19.0.6", 16), addr("fd00:1234::6", 64) };
	struct zt_iface_settings s = settings(a, 2, NULL, 0);
	uint8_t f[3000];
	struct zt_frame fr[3];
	int pfd = packet_socket(DEV);
	unsigned want;

	configure(zi, &s);

	/* network -> host */
	fr[0].data = f;
	fr[0].len = make_frame(f, port_mac, MARK_TX, "zt-tap-tx", 100);
	is_int(ops_of(zi)->tx(zt_inst_state(zi), fr, 1), 1, "tx: the frame is taken");
	ok(host_receives(pfd, MARK_TX, "zt-tap-tx"), "tx: the host receives it on the device");
	is_int(zt_inst_counter(zi, "tx_frames"), 1, "tx: counted");
	is_int(zt_inst_counter(zi, "tx_bytes"), 100, "tx: bytes counted");
	{
		static uint8_t big[2900];

		fr[0].data = big;
		fr[0].len = make_frame(big, bcast, MARK_TX, "big", 2815);
		fr[1].data = f;
		fr[1].len = 10;
		fr[2].data = big;
		fr[2].len = 2814;
		is_int(ops_of(zi)->tx(zt_inst_state(zi), fr, 3), 1, "tx: one of three fits");
		is_int(zt_inst_counter(zi, "tx_oversize"), 1, "tx: longer than MTU + 14 counted");
		is_int(zt_inst_counter(zi, "tx_short"), 1, "tx: shorter than a header counted");
	}

	/* host -> network, in batches of at most 4 */
	{
		struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = 6 };
		unsigned sent = 0;

		to.sll_ifindex = (int)if_nametoindex(DEV);
		memcpy(to.sll_addr, bcast, 6);
		make_frame(f, bcast, MARK_RX, "zt-tap-rx", 60);
		for (int i = 0; i < 10; i++)
			if (sendto(pfd, f, 60, 0, (struct sockaddr *)&to, sizeof to) == 60)
				sent++;
		is_int(sent, 10, "rx: the host sent 10 frames on the device");
		want = 10;
		ok(run_until(seen, marked_at_least, &want, 3.0), "rx: all 10 reach the frame sink");
		ok(seen->largest <= 4, "rx: handed up at most 4 at a time (batch: 4)");
		ok(zt_inst_counter(zi, "rx_frames") >= 10, "rx: counted");
	}

	/* the host's own traffic: an ARP request for a neighbour */
	{
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
		int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		inet_pton(AF_INET, "198.19.0.77", &to.sin_addr);
		ok(u >= 0 && sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof to) == 1,
		   "a datagram to 198.19.0.77 from the host");
		ok(run_until(seen, arp_seen, NULL, 3.0), "its ARP request reaches the frame sink");
		if (u >= 0)
			close(u);
	}
	close(pfd);
}

/* A larger MTU than the buffers were made for, and the device down and up. */
static void test_mtu_updown(struct zt_inst *zi, struct seen *seen)
{
	static uint8_t big[9100];
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct zt_iface_addr a[] = { addr("198.19.0.6", 16), addr("fd00:1234::6", 64) };
	struct zt_iface_route r[] = { route("198.19.128.0", 17, "198.19.0.1") };
	struct zt_iface_settings s = settings(a, 2, r, 1);
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = 6 };
	int pfd = packet_socket(DEV);
	char buf[16384];
	unsigned want = seen->marked + 1;

	s.mtu = 9000;
	is_int(configure(zi, &s), 0, "configure: mtu 9000");
	output(buf, sizeof buf, "ip -j link show dev " DEV);
	ok(in(buf, "\"mtu\":9000"), "the device has mtu 9000");
	to.sll_ifindex = (int)if_nametoindex(DEV);
	memcpy(to.sll_addr, bcast, 6);
	make_frame(big, bcast, MARK_RX, "zt-tap-rx", 9014);
	ok(sendto(pfd, big, 9014, 0, (struct sockaddr *)&to, sizeof to) == 9014,
	   "the host sends a 9014-byte frame");
	ok(run_until(seen, marked_at_least, &want, 3.0) && seen->longest == 9014,
	   "it reaches the frame sink whole");
	close(pfd);

	s.up = false;
	is_int(configure(zi, &s), 0, "configure: down");
	output(buf, sizeof buf, "ip -j link show dev " DEV);
	ok(!in(buf, "\"UP\""), "the device is down");
	output(buf, sizeof buf, "ip -j route show dev " DEV);
	ok(!in(buf, "198.19.128.0/17"), "no routes while down");
	s.up = true;
	s.mtu = 2800;
	is_int(configure(zi, &s), 0, "configure: up again");
	output(buf, sizeof buf, "ip -j link show dev " DEV);
	ok(in(buf, "\"UP\"") && in(buf, "\"mtu\":2800"), "the device is up with mtu 2800");
	output(buf, sizeof buf, "ip -j route show dev " DEV);
	ok(in(buf, "\"dst\":\"198.19.128.0/17\",\"gateway\":\"198.19.0.1\""), "the route is back");
	output(buf, sizeof buf, "ip -j addr show dev " DEV);
	ok(in(buf, "\"local\":\"fd00:1234::6\",\"prefixlen\":64"),
	   "the IPv6 address the kernel dropped on down is back");
}

static void test_multicast(struct zt_inst *zi, struct seen *seen)
{
	static const uint8_t group[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };
	static const uint8_t all_hosts[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };

	ok(run_until(seen, group_in, all_hosts, 3.0), "multicast: the host's IPv6 all-nodes group reported");
	ok(!has_group(seen, group), "multicast: 01:00:5e:01:02:03 not yet a group");
	is_int(run("ip maddr add 01:00:5e:01:02:03 dev " DEV), 0, "ip maddr add 01:00:5e:01:02:03");
	ok(run_until(seen, group_in, group, 3.0), "multicast: the new group reported within 3 s");
	ok(has_group(seen, all_hosts), "multicast: reported as the whole set");
	is_int(run("ip maddr del 01:00:5e:01:02:03 dev " DEV), 0, "ip maddr del 01:00:5e:01:02:03");
	ok(run_until(seen, group_out, group, 3.0), "multicast: its leaving reported");
}

static void test_stop(struct zt_inst *zi)
{
	char buf[8192];

	zt_inst_stop(zi);
	is_int(run("ip link show dev " DEV " > /dev/null 2>&1"), 1, "stop: the device is gone");
	zt_inst_module(zi)->stop(zt_inst_state(zi));
	ok(1, "stop twice is harmless");
	{
		uint8_t f[60];
		struct zt_frame fr = { f, make_frame(f, port_mac, MARK_TX, "late", 60) };

		is_int(ops_of(zi)->tx(zt_inst_state(zi), &fr, 1), -ENOTCONN, "tx while stopped: -ENOTCONN");
	}
	is_int(zt_inst_start(zi), 0, "started again");
	output(buf, sizeof buf, "ip -j addr show dev " DEV);
	ok(in(buf, "\"address\":\"02:5a:11:22:33:44\"") && in(buf, "\"local\":\"198.19.0.6\",\"prefixlen\":16"),
	   "restart: the last settings are applied again");
	ok(!in(buf, "198.19.7.7"), "restart: nothing of others comes back");
	zt_inst_stop(zi);
}

static void test_other_names(void)
{
	char err[512] = "", buf[8192], log[2048];
	struct zt_inst *zi;
	int rc;

	zi = zt_kernel_instance(k, ZT_IFACE, "{ use: tap, instance: anon }", err, sizeof err);
	ok(zi && zt_inst_start(zi) == 0, "without a name: started");
	output(buf, sizeof buf, "ip -j link show 2>&1");
	ok(in(buf, "\"ifname\":\"tap"), "without a name: the kernel names it tapN");
	ok(in(buf, "\"mtu\":2800"), "without configure: the mtu option applies");
	if (zi)
		zt_inst_stop(zi);

	zi = zt_kernel_instance(k, ZT_IFACE, "{ use: tap, instance: taken, name: lo }", err, sizeof err);
	ok(zi != NULL, "name of an existing non-TAP device: created");
	capture_begin();
	rc = zi ? zt_inst_start(zi) : 0;
	capture_end(log, sizeof log);
	diag("log: %s", log);
	ok(rc < 0, "name of an existing non-TAP device: start fails");
	ok(in(log, "taken: tap lo: "), "name of an existing non-TAP device: logged");

	/* the device deleted under a running instance */
	zi = zt_kernel_instance(k, ZT_IFACE, "{ use: tap, instance: gone, name: ztt1 }", err, sizeof err);
	ok(zi && zt_inst_start(zi) == 0, "ztt1: started");
	is_int(run("ip link del ztt1"), 0, "ztt1 deleted by hand");
	capture_begin();
	run_until(NULL, NULL, NULL, 0.3);
	capture_end(log, sizeof log);
	diag("log: %s", log);
	ok(in(log, "gone: read ztt1: "), "ztt1: the lost device is logged");
	ok(zi && zt_inst_counter(zi, "rx_errors") == 1, "ztt1: once, not in a loop");
	if (zi)
		zt_inst_stop(zi);
}

/* ---- queues ---- */

#define QDEV "ztq0"

static const char *queue_mode;

/* A test's name with the offload mode it ran in. */
static const char *qname(const char *what)
{
	static char name[160];

	snprintf(name, sizeof name, "queue, %s: %s", queue_mode, what);
	return name;
}

struct two_sinks {
	const struct seen *other;
	unsigned want;
};

static bool flows_together(const struct seen *s, const void *arg)
{
	const struct two_sinks *t = arg;

	return s->flows + t->other->flows >= t->want;
}

/* TCP segment i (ACK, 100 bytes of payload) of one flow to the host, as
 * GRO merges them. */
static size_t tcp_segment(uint8_t *f, unsigned i)
{
	static const uint8_t src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
	static const uint8_t ip[20] = { 0x45, 0, 0, 140, 0, 0, 0x40, 0, 64, IPPROTO_TCP, 0, 0,
					198, 19, 1, 2, 198, 19, 1, 1 };
	uint32_t seq = 1000 + 100 * i;

	memset(f, 0, 154);
	memcpy(f, port_mac, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	memcpy(f + 14, ip, 20);
	f[19] = (uint8_t)i;                     /* IPv4 id, one more each */
	f[34] = 0x13, f[35] = 0x88;             /* ports 5000 -> 5001 */
	f[36] = 0x13, f[37] = 0x89;
	f[38] = (uint8_t)(seq >> 24), f[39] = (uint8_t)(seq >> 16);
	f[40] = (uint8_t)(seq >> 8), f[41] = (uint8_t)seq;
	f[46] = 0x50;                           /* data offset 5 */
	f[47] = 0x10;                           /* ACK */
	f[48] = 0x10;                           /* window */
	memset(f + 54, 'g', 100);
	return 154;
}

/* Frames through the queue's tx reach the host: its own fd, its own
 * counters, the MTU its instance was configured with, GRO on its loop. */
static void test_queue_tx(struct zt_inst *zi, struct zt_inst *q, bool offload)
{
	static uint8_t f[3][2100];
	struct zt_iface_addr a[] = { addr("198.19.1.1", 24) };
	struct zt_iface_settings s = settings(a, 1, NULL, 0);
	struct zt_frame fr[3];
	int pfd = packet_socket(QDEV);

	fr[0].data = f[0];
	fr[0].len = make_frame(f[0], port_mac, MARK_TX, "zt-q-tx", 100);
	is_int(ops_of(q)->tx(zt_inst_state(q), fr, 1), 1, qname("tx through the queue: taken"));
	ok(host_receives(pfd, MARK_TX, "zt-q-tx"), qname("the host receives it"));
	ok(zt_inst_counter(q, "tx_frames") == 1 && zt_inst_counter(zi, "tx_frames") == 0,
	   qname("tx_frames counted on the queue only"));

	fr[0].len = make_frame(f[0], port_mac, MARK_TX, "zt-q-big", 2014);
	is_int(ops_of(q)->tx(zt_inst_state(q), fr, 1), 0, qname("2014 bytes: over the instance's MTU 1500"));
	s.mtu = 2800;
	configure(zi, &s);
	is_int(ops_of(q)->tx(zt_inst_state(q), fr, 1), 1, qname("taken once the instance has MTU 2800"));
	ok(host_receives(pfd, MARK_TX, "zt-q-big"), qname("the host receives it"));

	for (unsigned i = 0; i < 3; i++) {
		fr[i].data = f[i];
		fr[i].len = tcp_segment(f[i], i);
	}
	is_int(ops_of(q)->tx(zt_inst_state(q), fr, 3), 3, qname("three TCP segments taken"));
	ev_run(wloop, EVRUN_NOWAIT);
	if (offload)
		ok(zt_inst_counter(q, "gro_frames") == 1 && zt_inst_counter(q, "gro_segments") == 3,
		   qname("merged into one frame, written before the queue's loop waits"));
	else
		is_int(zt_inst_counter(q, "gro_frames"), 0, qname("written one by one"));
	is_int(zt_inst_counter(q, "tx_frames"), 5, qname("all counted on the queue"));
	close(pfd);
}

/* The host's flows (32 destination ports) spread over both fds. */
static void test_queue_rx(struct zt_inst *zi, struct zt_inst *q, struct seen *a, struct seen *b,
			  bool offload)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct two_sinks both = { b, 32 };
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned sent = 0;

	run("ip neigh replace 198.19.1.2 lladdr 02:00:00:00:00:02 nud permanent dev " QDEV);
	inet_pton(AF_INET, "198.19.1.2", &to.sin_addr);
	for (unsigned i = 0; i < 32; i++) {
		to.sin_port = htons((uint16_t)(6000 + i));
		sent += sendto(u, "zt-flow", 7, 0, (struct sockaddr *)&to, sizeof to) == 7;
	}
	close(u);
	is_int(sent, 32, qname("the host sends 32 flows"));
	ok(run_until(a, flows_together, &both, 3.0) && a->flows + b->flows == 32,
	   qname("each read once, by the instance or the queue"));
	ok(a->flows > 0 && b->flows > 0, qname("both read some (steered by flow)"));
	diag("instance %u, queue %u", a->flows, b->flows);
	ok(zt_inst_counter(q, "rx_frames") >= b->flows && zt_inst_counter(zi, "rx_frames") >= a->flows,
	   qname("rx_frames counted per queue"));
	if (offload)
		ok(zt_inst_counter(q, "csum_fixed") >= b->flows,
		   qname("the queue completes checksums the host left to it"));
	else
		is_int(zt_inst_counter(q, "csum_fixed"), 0, qname("no checksum left to complete"));
}

/* The device deleted under the instance and its queue. */
static void test_queue_device_gone(struct zt_inst *zi, struct zt_inst *q)
{
	uint8_t f[100];
	struct zt_frame fr = { f, make_frame(f, port_mac, MARK_TX, "late", 100) };
	char log[2048];

	is_int(run("ip link del " QDEV), 0, qname(QDEV " deleted by hand"));
	capture_begin();
	run_until(NULL, NULL, NULL, 0.3);
	capture_end(log, sizeof log);
	diag("log: %s", log);
	ok(in(log, "mq/q1: read " QDEV ": ") && in(log, "mq: read " QDEV ": "),
	   qname("the queue and the instance log it"));
	ok(zt_inst_counter(q, "rx_errors") == 1, qname("once, not in a loop"));
	ok(ops_of(q)->tx(zt_inst_state(q), &fr, 1) == 0 && zt_inst_counter(q, "tx_errors") == 1,
	   qname("tx after it: counted as an error"));
	zt_inst_stop(q);
	zt_inst_stop(zi);
	ok(1, qname("both stop"));
}

/* The instance stopping first: the device stays for the queue. */
static void test_queue_outlives(struct zt_inst *zi, struct zt_inst *q)
{
	uint8_t f[100];
	struct zt_frame fr = { f, make_frame(f, port_mac, MARK_TX, "after", 100) };
	char log[2048];

	capture_begin();
	zt_inst_stop(zi);
	capture_end(log, sizeof log);
	diag("log: %s", log);
	ok(in(log, "mq: " QDEV " stays while 1 queue is open"), qname("the instance stopping first: logged"));
	is_int(run("ip link show dev " QDEV " > /dev/null 2>&1"), 0, qname("the device stays"));
	is_int(ops_of(q)->tx(zt_inst_state(q), &fr, 1), 1, qname("the queue still writes"));
	zt_inst_stop(q);
	is_int(run("ip link show dev " QDEV " > /dev/null 2>&1"), 1, qname("gone with the queue"));
}

static void test_queues(bool offload)
{
	static struct seen a, b;
	struct zt_iface_addr ad[] = { addr("198.19.1.1", 24) };
	struct zt_iface_settings s = settings(ad, 1, NULL, 0);
	char yaml[160], err[512] = "", buf[8192];
	struct zt_inst *zi, *q;

	queue_mode = offload ? "offloads on" : "offloads off";
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	snprintf(yaml, sizeof yaml, "{ use: tap, instance: mq, name: " QDEV ", batch: 8, offload: %s }",
		 offload ? "true" : "false");
	zi = zt_kernel_instance(k, ZT_IFACE, yaml, err, sizeof err);
	q = zi ? zt_inst_queue(zi, 1) : NULL;
	if (!ok(zi && q, qname("instance and queue 1 made")))
		bail("%s", err);
	is_str(zt_inst_name(q), "mq/q1", qname("named <instance>/q1"));
	is_int(zt_inst_start_on(q, wloop), -ENOTCONN, qname("no start before the instance's"));
	zt_inst_set_frame_sink(zi, sink, &a);
	zt_inst_set_frame_sink(q, sink, &b);
	s.mtu = 1500;
	configure(zi, &s);
	is_int(zt_inst_start(zi), 0, qname("the instance starts"));
	is_int(zt_inst_start_on(q, wloop), 0, qname("the queue starts on its own loop"));
	output(buf, sizeof buf, "ip -d -j link show dev " QDEV);
	ok(in(buf, "\"multi_queue\":true,\"numqueues\":2"), qname("one device, two queues"));
	ok(in(buf, offload ? "\"vnet_hdr\":true" : "\"vnet_hdr\":false"), qname("vnet headers as the instance"));
	ok(in(buf, "\"mtu\":1500") && in(buf, "\"UP\""), qname("configured by the instance"));

	test_queue_tx(zi, q, offload);
	test_queue_rx(zi, q, &a, &b, offload);
	test_queue_outlives(zi, q);

	ok(zt_inst_start(zi) == 0 && zt_inst_start_on(q, wloop) == 0, qname("both start again"));
	test_queue_device_gone(zi, q);
}

int main(void)
{
	static struct seen seen;
	char err[512] = "";
	struct zt_inst *zi;

	iface_test_netns();

	loop = ev_loop_new(EVFLAG_AUTO);
	k = zt_kernel_new(loop);
	if (!loop || !k)
		bail("no loop or kernel");

	plan(98 + 2 * 32);
	test_options();

	zi = zt_kernel_instance(k, ZT_IFACE,
				"{ use: tap, instance: t0, name: " DEV ", mtu: 1500, batch: 4,"
				"  multicast-poll: 200ms }", err, sizeof err);
	if (!ok(zi != NULL, "created"))
		bail("%s", err);
	zt_inst_set_frame_sink(zi, sink, &seen);
	zt_inst_set_mcast_sink(zi, msink, &seen);
	test_device(zi, &seen);
	test_addresses(zi);
	test_bad_settings(zi);
	test_frames(zi, &seen);
	test_mtu_updown(zi, &seen);
	test_multicast(zi, &seen);
	{
		char c[64];

		snprintf(c, sizeof c, "rx_errors %llu, tx_errors %llu, tx_dropped %llu",
			 (unsigned long long)zt_inst_counter(zi, "rx_errors"),
			 (unsigned long long)zt_inst_counter(zi, "tx_errors"),
			 (unsigned long long)zt_inst_counter(zi, "tx_dropped"));
		is_str(c, "rx_errors 0, tx_errors 0, tx_dropped 0", "no errors or drops on the way");
	}
	test_stop(zi);
	test_other_names();
	wloop = ev_loop_new(EVFLAG_AUTO);
	test_queues(false);
	test_queues(true);

	zt_kernel_free(k);
	ev_loop_destroy(wloop);
	ev_loop_destroy(loop);
	return tap_done();
}
