/* The udp transport, loaded through the kernel: options, binding,
 * receiving in batches, sending, and the errors an operator sees. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>
#include <zt/kernel.h>

#include "tap.h"

#define MAXD 512

/* What the sink saw: copies, since the buffers are borrowed. */
struct seen {
	unsigned n, calls, largest;
	struct {
		union zt_sockaddr peer;
		uint32_t local;
		size_t len;
		uint8_t data[64];
	} d[MAXD];
};

static void sink(void *ctx, struct zt_inst *from, struct zt_dgram *d, unsigned n)
{
	struct seen *s = ctx;

	s->calls++;
	if (n > s->largest)
		s->largest = n;
	for (unsigned i = 0; i < n && s->n < MAXD; i++, s->n++) {
		s->d[s->n].peer = d[i].peer;
		s->d[s->n].local = d[i].local;
		s->d[s->n].len = d[i].len;
		memcpy(s->d[s->n].data, d[i].data, d[i].len < 64 ? d[i].len : 64);
	}
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	*(int *)w->data = 1;
}

/* Run the loop until the sink holds want datagrams or 5 s passed. */
static int run_until(struct ev_loop *loop, const struct seen *s, unsigned want)
{
	ev_timer t;
	int expired = 0;

	ev_timer_init(&t, on_timeout, 5., 0.);
	t.data = &expired;
	ev_timer_start(loop, &t);
	while (s->n < want && !expired)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	return s->n >= want;
}

static socklen_t salen(const union zt_sockaddr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof a->in6 : sizeof a->in4;
}

static int same_addr(const union zt_sockaddr *a, const union zt_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return 0;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return a->in6.sin6_port == b->in6.sin6_port &&
	       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

static unsigned port_of(const union zt_sockaddr *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in4.sin_port);
}

/* A plain UDP socket bound to an ephemeral loopback port. */
static int client(int fam, union zt_sockaddr *self)
{
	union zt_sockaddr a;
	socklen_t len = sizeof a;
	int fd = socket(fam, SOCK_DGRAM, 0);

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof a);
	a.sa.sa_family = fam;
	if (fam == AF_INET)
		a.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		a.in6.sin6_addr = in6addr_loopback;
	if (bind(fd, &a.sa, salen(&a)) < 0 || getsockname(fd, &self->sa, &len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Receive one datagram within 2 s; returns its length or -1. */
static ssize_t recv_wait(int fd, void *buf, size_t len, union zt_sockaddr *from)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	socklen_t fl = sizeof *from;

	if (poll(&p, 1, 2000) != 1)
		return -1;
	return recvfrom(fd, buf, len, MSG_DONTWAIT, &from->sa, &fl);
}

/* True if err looks like "(file):line:col: ..." and contains what. */
static int conf_error(const char *err, const char *what)
{
	unsigned line, col;
	char file[64];

	return sscanf(err, "%63[^:]:%u:%u: ", file, &line, &col) == 3 && strstr(err, what);
}

static int have_ipv6(void)
{
	union zt_sockaddr self;
	int fd = client(AF_INET6, &self);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static void refused(struct zt_kernel *k, const char *yaml, const char *what, const char *name)
{
	char err[512] = "", label[256];
	struct zt_inst *zi = zt_kernel_instance(k, ZT_TRANSPORT, yaml, err, sizeof err);

	snprintf(label, sizeof label, "%s: refused", name);
	ok(zi == NULL, label);
	snprintf(label, sizeof label, "%s: message names %s", name, what);
	ok(conf_error(err, what), label);
	diag("%s", err);
}

int main(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct zt_kernel *k = zt_kernel_new(loop);
	static struct seen seen;
	const struct zt_transport_ops *ops;
	union zt_sockaddr loc[4], c4addr, c6addr, from;
	struct zt_inst *zi, *other;
	struct zt_dgram out[100];
	char err[512] = "", buf[20000], msg[64], yaml[160];
	int c4, c6 = -1, v6 = have_ipv6(), rc;
	void *st;
	size_t n;
	unsigned i;

	if (!loop || !k)
		bail("no loop or kernel");
	plan(65);

	/* ---- options ---- */
	refused(k, "{ use: udp, batch: 0 }", "batch", "batch: 0");
	refused(k, "{ use: udp, batch: 2000 }", "batch", "batch: 2000");
	refused(k, "{ use: udp, listen: 'nonsense' }", "listen", "listen: nonsense");
	refused(k, "{ use: udp, listen: [] }", "listen", "listen: []");
	refused(k, "{ use: udp, listen: ['127.0.0.1:99999'] }", "listen", "port out of range");
	refused(k, "{ use: udp, lisen: ['127.0.0.1:0'] }", "lisen", "unknown key");
	refused(k, "{ use: udp, reuseport: maybe }", "reuseport", "reuseport: maybe");

	/* the defaults, read back before anything is bound */
	zi = zt_kernel_instance(k, ZT_TRANSPORT, "{ use: udp, instance: defaults }", err, sizeof err);
	if (!ok(zi != NULL, "defaults: created"))
		bail("udp module not usable: %s", err);
	ops = zt_inst_module(zi)->ops.transport;
	n = ops->locals(zt_inst_state(zi), loc, 4);
	is_int(n, 2, "defaults: two listen addresses");
	ok(loc[0].sa.sa_family == AF_INET && loc[0].in4.sin_addr.s_addr == htonl(INADDR_ANY) &&
	   port_of(&loc[0]) == 9993, "defaults: 0.0.0.0:9993 first");
	ok(loc[1].sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&loc[1].in6.sin6_addr) &&
	   port_of(&loc[1]) == 9993, "defaults: [::]:9993 second");

	/* ---- bind and locals ---- */
	zi = zt_kernel_instance(k, ZT_TRANSPORT, v6 ?
				"{ use: udp, instance: lo, batch: 4, listen: ['127.0.0.1:0', '[::1]:0'] }" :
				"{ use: udp, instance: lo, batch: 4, listen: ['127.0.0.1:0'] }",
				err, sizeof err);
	if (!ok(zi != NULL, "loopback instance created"))
		bail("%s", err);
	zt_inst_set_dgram_sink(zi, sink, &seen);
	rc = zt_inst_start(zi);
	is_int(rc, 0, "started");
	st = zt_inst_state(zi);
	n = ops->locals(st, loc, 4);
	is_int(n, v6 ? 2 : 1, "locals: one address per listen entry");
	ok(loc[0].sa.sa_family == AF_INET && loc[0].in4.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
	   "locals[0] is 127.0.0.1");
	ok(port_of(&loc[0]) != 0, "locals[0] has the bound port, not 0");
	if (v6) {
		ok(loc[1].sa.sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&loc[1].in6.sin6_addr),
		   "locals[1] is ::1");
		ok(port_of(&loc[1]) != 0, "locals[1] has the bound port, not 0");
	} else {
		ok(1, "locals[1] # skip no IPv6 loopback");
		ok(1, "locals[1] port # skip no IPv6 loopback");
	}

	/* ---- receive over IPv4 ---- */
	c4 = client(AF_INET, &c4addr);
	if (c4 < 0)
		bail("no IPv4 loopback socket");
	for (i = 0; i < 3; i++) {
		snprintf(msg, sizeof msg, "hello %u", i);
		sendto(c4, msg, strlen(msg), 0, &loc[0].sa, salen(&loc[0]));
	}
	ok(run_until(loop, &seen, 3), "v4: three datagrams reach the sink");
	is_int(seen.n, 3, "v4: exactly three");
	ok(seen.d[0].len == 7 && memcmp(seen.d[0].data, "hello 0", 7) == 0 &&
	   seen.d[2].len == 7 && memcmp(seen.d[2].data, "hello 2", 7) == 0,
	   "v4: content and order kept");
	ok(same_addr(&seen.d[1].peer, &c4addr), "v4: peer is the sender's address");
	is_int(seen.d[1].local, 0, "v4: local is socket 0");
	{
		static const uint8_t zero[sizeof(union zt_sockaddr)];
		const uint8_t *tail = (const uint8_t *)&seen.d[2].peer + sizeof(struct sockaddr_in);

		ok(memcmp(tail, zero, sizeof(union zt_sockaddr) - sizeof(struct sockaddr_in)) == 0,
		   "v4: peer zero past the IPv4 address, so equal peers compare equal");
	}

	/* ---- receive over IPv6 ---- */
	if (v6) {
		c6 = client(AF_INET6, &c6addr);
		memset(&seen, 0, sizeof seen);
		sendto(c6, "six", 3, 0, &loc[1].sa, salen(&loc[1]));
		ok(run_until(loop, &seen, 1), "v6: datagram reaches the sink");
		ok(seen.d[0].len == 3 && memcmp(seen.d[0].data, "six", 3) == 0, "v6: content");
		ok(same_addr(&seen.d[0].peer, &c6addr), "v6: peer is the sender's address");
		is_int(seen.d[0].local, 1, "v6: local is socket 1");
	} else {
		for (i = 0; i < 4; i++)
			ok(1, "v6 receive # skip no IPv6 loopback");
	}

	/* ---- more datagrams than one batch ---- */
	memset(&seen, 0, sizeof seen);
	for (i = 0; i < 50; i++) {
		snprintf(msg, sizeof msg, "burst %02u", i);
		sendto(c4, msg, strlen(msg), 0, &loc[0].sa, salen(&loc[0]));
	}
	ok(run_until(loop, &seen, 50), "burst: 50 datagrams arrive with batch 4");
	ok(seen.largest <= 4, "burst: no call hands up more than batch");
	ok(seen.calls >= 13, "burst: delivered over several calls");
	for (i = 0; i < 50; i++) {
		snprintf(msg, sizeof msg, "burst %02u", i);
		if (seen.d[i].len != strlen(msg) || memcmp(seen.d[i].data, msg, strlen(msg)))
			break;
	}
	is_int(i, 50, "burst: all in order");
	is_int(zt_inst_counter(zi, "rx_dgrams"), v6 ? 54 : 53, "counter rx_dgrams");

	/* ---- datagram sizes ---- */
	memset(&seen, 0, sizeof seen);
	memset(buf, 'x', sizeof buf);
	sendto(c4, buf, 10200, 0, &loc[0].sa, salen(&loc[0]));
	sendto(c4, buf, 10100, 0, &loc[0].sa, salen(&loc[0]));
	ok(run_until(loop, &seen, 1), "size: a datagram arrives");
	is_int(seen.d[0].len, 10100, "size: 10100 bytes delivered whole");
	is_int(zt_inst_counter(zi, "rx_truncated"), 1, "size: 10200 bytes counted as truncated");
	is_int(seen.n, 1, "size: the truncated one is not delivered");

	/* ---- send ---- */
	out[0].peer = c4addr;
	out[0].local = 0;
	out[0].data = (uint8_t *)"reply one";
	out[0].len = 9;
	out[1] = out[0];
	out[1].data = (uint8_t *)"reply two";
	rc = ops->send(st, out, 2);
	is_int(rc, 2, "send: two handed to the OS");
	rc = (int)recv_wait(c4, buf, sizeof buf, &from);
	ok(rc == 9 && memcmp(buf, "reply one", 9) == 0, "send: first datagram received");
	ok(same_addr(&from, &loc[0]), "send: it comes from the bound socket");
	rc = (int)recv_wait(c4, buf, sizeof buf, &from);
	ok(rc == 9 && memcmp(buf, "reply two", 9) == 0, "send: second datagram received");
	is_int(zt_inst_counter(zi, "tx_dgrams"), 2, "send: counter tx_dgrams");
	is_int(zt_inst_counter(zi, "tx_bytes"), 18, "send: counter tx_bytes");

	if (v6) {
		out[0].peer = c6addr;
		out[0].local = 99;
		out[0].data = (uint8_t *)"via six";
		out[0].len = 7;
		is_int(ops->send(st, out, 1), 1, "send: local out of range still goes out");
		rc = (int)recv_wait(c6, buf, sizeof buf, &from);
		ok(rc == 7 && memcmp(buf, "via six", 7) == 0, "send: v6 datagram received");
		ok(same_addr(&from, &loc[1]), "send: from the first socket of its family");
		out[0].local = 0;   /* the v4 socket cannot reach a v6 peer */
		is_int(ops->send(st, out, 1), 1, "send: local of the wrong family falls back");
		rc = (int)recv_wait(c6, buf, sizeof buf, &from);
		ok(rc == 7 && same_addr(&from, &loc[1]), "send: fallback used the v6 socket");
	} else {
		for (i = 0; i < 5; i++)
			ok(1, "send v6 # skip no IPv6 loopback");
	}

	/* more than a batch in one call */
	for (i = 0; i < 100; i++) {
		out[i].peer = c4addr;
		out[i].local = 0;
		out[i].data = (uint8_t *)buf + 1000 + i * 8;
		snprintf((char *)out[i].data, 8, "n%05u", i);
		out[i].len = 6;
	}
	is_int(ops->send(st, out, 100), 100, "send: 100 datagrams with batch 4");
	for (i = 0; i < 100; i++) {
		char got[16];

		snprintf(msg, sizeof msg, "n%05u", i);
		if (recv_wait(c4, got, sizeof got, &from) != 6 || memcmp(got, msg, 6))
			break;
	}
	is_int(i, 100, "send: all 100 received in order");

	/* ---- errors ---- */
	snprintf(yaml, sizeof yaml, "{ use: udp, instance: clash, listen: ['127.0.0.1:%u'] }",
		 port_of(&loc[0]));
	other = zt_kernel_instance(k, ZT_TRANSPORT, yaml, err, sizeof err);
	ok(other != NULL, "clash: created (nothing bound yet)");
	{
		char logf[] = "/tmp/zt-udp-log-XXXXXX", want[128], text[1024] = "";
		int lfd = mkstemp(logf), saved = dup(2);
		ssize_t got;

		fflush(stderr);
		dup2(lfd, 2);
		rc = other ? zt_inst_start(other) : 0;
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		lseek(lfd, 0, SEEK_SET);
		got = read(lfd, text, sizeof text - 1);
		text[got > 0 ? got : 0] = 0;
		close(lfd);
		unlink(logf);
		is_int(rc, -EADDRINUSE, "clash: start returns -EADDRINUSE");
		snprintf(want, sizeof want, "clash: bind 127.0.0.1:%u: %s", port_of(&loc[0]),
			 strerror(EADDRINUSE));
		if (!ok(strstr(text, want) != NULL, "clash: the log names instance, address and cause"))
			diag("log: %s", text);
	}

	/* two sockets on one port with reuseport */
	zi = zt_kernel_instance(k, ZT_TRANSPORT,
				"{ use: udp, instance: rp1, reuseport: true, listen: ['127.0.0.1:0'] }",
				err, sizeof err);
	ok(zi && zt_inst_start(zi) == 0, "reuseport: first instance starts");
	n = zi ? ops->locals(zt_inst_state(zi), loc, 1) : 0;
	snprintf(yaml, sizeof yaml, "{ use: udp, instance: rp2, reuseport: true, listen: ['127.0.0.1:%u'] }",
		 n ? port_of(&loc[0]) : 1);
	other = zt_kernel_instance(k, ZT_TRANSPORT, yaml, err, sizeof err);
	ok(other && zt_inst_start(other) == 0, "reuseport: second instance shares the port");

	/* a v4-only transport cannot send to a v6 peer */
	if (v6 && zi) {
		out[0].peer = c6addr;
		out[0].local = 0;
		is_int(ops->send(zt_inst_state(zi), out, 1), 0, "send: no socket of that family");
		is_int(zt_inst_counter(zi, "tx_unroutable"), 1, "send: counted as unroutable");
	} else {
		ok(1, "unroutable # skip no IPv6 loopback");
		ok(1, "unroutable counter # skip no IPv6 loopback");
	}

	/* stop is safe twice, and a stopped transport sends nothing */
	if (zi) {
		zt_inst_stop(zi);
		zt_inst_module(zi)->stop(zt_inst_state(zi));
		ok(ops->send(zt_inst_state(zi), out, 1) < 0, "stopped: send refused");
	} else {
		ok(0, "stopped: send refused");
	}

	zt_kernel_free(k);
	ev_loop_destroy(loop);
	close(c4);
	if (c6 >= 0)
		close(c6);
	return tap_done();
}
