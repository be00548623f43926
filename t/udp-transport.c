/* The udp transport, loaded through the kernel: options, binding,
 * receiving in batches, sending, segmentation offload (gso) and receive
 * coalescing (gro) and their fallback, and the errors an operator sees. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>
#include <zt/kernel.h>

#include "internal.h"
#include "tap.h"

#define MAXD 512

/* What the sink saw: copies, since the buffers are borrowed. */
struct seen {
	unsigned n, calls, largest;
	struct {
		union zt_sockaddr peer;
		uint32_t local;
		size_t len;
		uint32_t sum;
		uint8_t data[64];
	} d[MAXD];
};

static uint32_t fnv(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* Datagram i of a test: len bytes that differ from every other's. */
static void fill(uint8_t *p, size_t len, unsigned i)
{
	for (size_t j = 0; j < len; j++)
		p[j] = (uint8_t)(i * 31 + j * 7 + (j >> 8));
}

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
		s->d[s->n].sum = fnv(d[i].data, d[i].len);
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

/* Instance yaml, started, datagrams to sink; NULL on failure. */
static struct zt_inst *started(struct zt_kernel *k, const char *yaml, struct seen *sink_to)
{
	char err[512] = "";
	struct zt_inst *zi = zt_kernel_instance(k, ZT_TRANSPORT, yaml, err, sizeof err);

	if (!zi) {
		diag("%s: %s", yaml, err);
		return NULL;
	}
	if (sink_to)
		zt_inst_set_dgram_sink(zi, sink, sink_to);
	if (zt_inst_start(zi) < 0)
		return NULL;
	return zi;
}

static union zt_sockaddr local_of(struct zt_inst *zi, unsigned i)
{
	union zt_sockaddr loc[4];

	memset(loc, 0, sizeof loc);
	zt_inst_module(zi)->ops.transport->locals(zt_inst_state(zi), loc, 4);
	return loc[i];
}

static uint8_t dbuf[128][1500];

/* out[i] for i < n: to, through local socket, len[i] bytes of pattern i. */
static void batch_make(struct zt_dgram *out, unsigned n, const union zt_sockaddr *to,
		       const size_t *len)
{
	for (unsigned i = 0; i < n; i++) {
		out[i].peer = *to;
		out[i].local = 0;
		out[i].data = dbuf[i];
		out[i].len = len[i];
		fill(dbuf[i], len[i], i);
	}
}

/* Read n datagrams from fd: do they match out[] at the given indexes
 * (all of them if idx is NULL), and come from the given addresses? */
static unsigned plain_got(int fd, const struct zt_dgram *out, const unsigned *idx, unsigned n,
			  const union zt_sockaddr *from_want)
{
	static uint8_t b[70000];
	union zt_sockaddr from;
	unsigned i;

	for (i = 0; i < n; i++) {
		unsigned x = idx ? idx[i] : i;
		ssize_t r = recv_wait(fd, b, sizeof b, &from);

		if (r != (ssize_t)out[x].len || memcmp(b, out[x].data, out[x].len) ||
		    !same_addr(&from, &from_want[idx ? x : 0]))
			break;
	}
	return i;
}

/* Does the sink hold out[0..n) in order, from peer? */
static unsigned sink_got(const struct seen *s, const struct zt_dgram *out, unsigned n,
			 const union zt_sockaddr *peer)
{
	unsigned i;

	for (i = 0; i < n && i < s->n; i++)
		if (s->d[i].len != out[i].len || s->d[i].sum != fnv(out[i].data, out[i].len) ||
		    !same_addr(&s->d[i].peer, peer))
			break;
	return i;
}

static int quiet(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 100) == 0;
}

/* zt_inst_start through logged(). */
struct start_call {
	struct zt_inst *zi;
	int rc;
};

static void start_logged(void *arg)
{
	struct start_call *c = arg;

	c->rc = c->zi ? zt_inst_start(c->zi) : 0;
}

/* Run f with stderr (the log) going to text. */
static void logged(void (*f)(void *), void *arg, char *text, size_t len)
{
	FILE *log = tmpfile();
	int saved = dup(2);
	size_t got;

	if (!log)
		bail("tmpfile: %s", strerror(errno));
	fflush(stderr);
	dup2(fileno(log), 2);
	f(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(log);
	got = fread(text, 1, len - 1, log);
	text[got] = 0;
	fclose(log);
}

static void offloads(struct zt_kernel *k, struct ev_loop *loop)
{
	static struct seen gro_seen, lo_seen, plain_seen;
	static struct zt_dgram out[128];
	const struct zt_transport_ops *ops;
	struct zt_inst *gso, *gro, *lo, *plain;
	union zt_sockaddr caddr, c2addr, gso_at[2];
	size_t len[128];
	unsigned i;
	int fd, fd2;

	refused(k, "{ use: udp, gso: maybe }", "gso", "gso: maybe");
	refused(k, "{ use: udp, gro: 2 }", "gro", "gro: 2");
	gso = started(k, "{ use: udp, instance: gso, batch: 64, listen: ['127.0.0.1:0', '127.0.0.2:0'] }",
		      NULL);
	gro = started(k, "{ use: udp, instance: gro, batch: 64, listen: ['127.0.0.1:0'] }", &gro_seen);
	lo = started(k, "{ use: udp, instance: lo4, batch: 4, listen: ['127.0.0.1:0'] }", &lo_seen);
	plain = started(k, "{ use: udp, instance: plain, batch: 64, gso: false, gro: false, "
			"listen: ['127.0.0.1:0'] }", &plain_seen);
	fd = client(AF_INET, &caddr);
	fd2 = client(AF_INET, &c2addr);
	if (!ok(gso && gro && lo && plain && fd >= 0 && fd2 >= 0, "offloads: instances and sockets"))
		bail("cannot set up the offload tests");
	ops = zt_inst_module(gso)->ops.transport;
	gso_at[0] = local_of(gso, 0);
	gso_at[1] = local_of(gso, 1);

	/* ---- gso: a run to a plain socket ---- */
	for (i = 0; i < 41; i++)
		len[i] = i < 40 ? 1427 : 700;
	batch_make(out, 41, &caddr, len);
	is_int(ops->send(zt_inst_state(gso), out, 41), 41,
	       "gso: 41 datagrams handed to the OS, counted in datagrams");
	is_int(plain_got(fd, out, NULL, 41, gso_at), 41,
	       "gso: a plain socket gets them as 41 datagrams, same bytes, same order");
	ok(quiet(fd), "gso: and nothing more");
	is_int(zt_inst_counter(gso, "gso_sends"), 1, "gso: in one message");
	is_int(zt_inst_counter(gso, "gso_segments"), 41, "gso: of 41 segments");
	ok(zt_inst_counter(gso, "tx_dgrams") == 41 && zt_inst_counter(gso, "tx_bytes") == 40 * 1427 + 700,
	   "gso: tx_dgrams and tx_bytes count datagrams");

	/* mixed addresses, sizes and local sockets */
	{
		static const size_t l[13] = { 1000, 1000, 1000, 500, 1000, 1000, 800, 800,
					      1000, 1200, 1200, 1200, 1200 };
		static const unsigned to_fd[11] = { 0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12 },
				      to_fd2[2] = { 6, 7 };
		union zt_sockaddr want_from[13];

		batch_make(out, 13, &caddr, l);
		out[6].peer = out[7].peer = c2addr;
		out[10].local = out[11].local = 1;
		for (i = 0; i < 13; i++)
			want_from[i] = gso_at[out[i].local];
		is_int(ops->send(zt_inst_state(gso), out, 13), 13, "gso mixed: 13 handed to the OS");
		is_int(plain_got(fd, out, to_fd, 11, want_from), 11,
		       "gso mixed: the first address gets its 11 in order, each from its socket");
		is_int(plain_got(fd2, out, to_fd2, 2, want_from), 2, "gso mixed: the second its 2");
		ok(quiet(fd) && quiet(fd2), "gso mixed: and nothing more");
		/* runs: 1000 x3 + 500, 1000 x2, 800 x2 (another address),
		 * 1000, 1200 (larger), 1200 x2 (another socket), 1200 */
		is_int(zt_inst_counter(gso, "gso_sends"), 1 + 4, "gso mixed: four runs");
		is_int(zt_inst_counter(gso, "gso_segments"), 41 + 10, "gso mixed: of 10 datagrams");
	}

	/* ---- gro: a burst from a plain socket ---- */
	{
		union zt_sockaddr gro_at = local_of(gro, 0);

		for (i = 0; i < 31; i++)
			len[i] = i < 30 ? 1400 : 300;
		batch_make(out, 31, &gro_at, len);
		for (i = 0; i < 31; i++)
			sendto(fd, out[i].data, out[i].len, 0, &gro_at.sa, salen(&gro_at));
		ok(run_until(loop, &gro_seen, 31), "gro: a burst of 31 from a plain socket arrives");
		is_int(sink_got(&gro_seen, out, 31, &caddr), 31, "gro: intact, separate, in order");

		/* a gso run to a gro socket arrives as one message, cut in place */
		memset(&gro_seen, 0, sizeof gro_seen);
		for (i = 0; i < 45; i++)
			len[i] = i < 44 ? 1427 : 1000;
		batch_make(out, 45, &gro_at, len);
		is_int(ops->send(zt_inst_state(gso), out, 45), 45, "gso to gro: 45 sent");
		ok(run_until(loop, &gro_seen, 45), "gso to gro: 45 arrive");
		is_int(sink_got(&gro_seen, out, 45, &gso_at[0]), 45, "gso to gro: intact, separate, in order");
		ok(zt_inst_counter(gro, "gro_recvs") == 1 && zt_inst_counter(gro, "gro_segments") == 45,
		   "gso to gro: one coalesced message of 45 (gro_recvs, gro_segments)");
		diag("gro_recvs %llu, gro_segments %llu",
		     (unsigned long long)zt_inst_counter(gro, "gro_recvs"),
		     (unsigned long long)zt_inst_counter(gro, "gro_segments"));
		is_int(zt_inst_counter(gro, "rx_dgrams"), 31 + 45, "gro: rx_dgrams counts datagrams");
	}

	/* a run longer than the receiver's batch is handed up batch by batch */
	{
		union zt_sockaddr lo_at = local_of(lo, 0);

		for (i = 0; i < 64; i++)
			len[i] = i < 63 ? 200 : 3;
		batch_make(out, 64, &lo_at, len);
		is_int(ops->send(zt_inst_state(gso), out, 64), 64, "gso to gro, batch 4: 64 sent");
		ok(run_until(loop, &lo_seen, 64) && sink_got(&lo_seen, out, 64, &gso_at[0]) == 64,
		   "gso to gro, batch 4: 64 arrive in order");
		ok(lo_seen.largest <= 4 && zt_inst_counter(lo, "gro_segments") == 64,
		   "gso to gro, batch 4: one run, handed up 4 at a time");
	}

	/* ---- options off ---- */
	{
		const struct zt_transport_ops *pops = zt_inst_module(plain)->ops.transport;
		union zt_sockaddr plain_at = local_of(plain, 0);

		for (i = 0; i < 20; i++)
			len[i] = 1427;
		batch_make(out, 20, &caddr, len);
		is_int(pops->send(zt_inst_state(plain), out, 20), 20, "gso off: 20 sent");
		is_int(plain_got(fd, out, NULL, 20, &plain_at), 20, "gso off: 20 arrive in order");
		is_int(zt_inst_counter(plain, "gso_sends"), 0, "gso off: no message with UDP_SEGMENT");
		batch_make(out, 20, &plain_at, len);
		is_int(ops->send(zt_inst_state(gso), out, 20), 20, "gro off: a run of 20 sent to it");
		ok(run_until(loop, &plain_seen, 20) && sink_got(&plain_seen, out, 20, &gso_at[0]) == 20,
		   "gro off: the kernel cuts it, 20 arrive in order");
		is_int(zt_inst_counter(plain, "gro_recvs"), 0, "gro off: nothing coalesced");
	}
	zt_inst_stop(gso);
	zt_inst_stop(gro);
	zt_inst_stop(lo);
	zt_inst_stop(plain);
	close(fd);
	close(fd2);
}

/* ---- gso fallback ---- */

struct fallback {
	struct zt_inst *zi;
	struct zt_dgram *out;
	int rc;
};

static void fallback_send(void *arg)
{
	struct fallback *f = arg;

	f->rc = zt_inst_module(f->zi)->ops.transport->send(zt_inst_state(f->zi), f->out, 10);
}

/* The instance's socket bound to at, found among our descriptors. */
static int sock_of(const union zt_sockaddr *at)
{
	for (int fd = 3; fd < 1024; fd++) {
		union zt_sockaddr a;
		socklen_t len = sizeof a;

		memset(&a, 0, sizeof a);
		if (getsockname(fd, &a.sa, &len) == 0 && same_addr(&a, at))
			return fd;
	}
	return -1;
}

/* A socket that cannot segment at all (SO_NO_CHECK: UDP_SEGMENT gives
 * EINVAL) sends the run datagram by datagram, logs it once and stops
 * trying; with an MTU below the segment size (a network namespace of
 * our own, when root) a run goes one by one too. */
static void gso_fallback(struct zt_kernel *k)
{
	static struct zt_dgram out[10];
	struct ifreq ifr;
	union zt_sockaddr caddr, at;
	size_t len[10];
	struct fallback f = { 0 };
	char text[2048];
	int s, fd, one = 1, i;

	f.zi = started(k, "{ use: udp, instance: nocsum, listen: ['127.0.0.1:0'] }", NULL);
	fd = client(AF_INET, &caddr);
	at = f.zi ? local_of(f.zi, 0) : caddr;
	s = f.zi ? sock_of(&at) : -1;
	ok(s >= 0 && setsockopt(s, SOL_SOCKET, SO_NO_CHECK, &one, sizeof one) == 0,
	   "gso fallback: SO_NO_CHECK on the instance's socket");
	for (i = 0; i < 10; i++)
		len[i] = 1000;
	batch_make(out, 10, &caddr, len);
	f.out = out;
	if (f.zi)
		logged(fallback_send, &f, text, sizeof text);
	is_int(f.rc, 10, "gso fallback: all 10 handed to the OS");
	is_int(plain_got(fd, out, NULL, 10, &at), 10, "gso fallback: and received, in order");
	ok(strstr(text, "nocsum: 127.0.0.1:") && strstr(text, "UDP segmentation offload: "),
	   "gso fallback: logged with instance, address and cause");
	diag("log: %s", text);
	if (f.zi)
		logged(fallback_send, &f, text, sizeof text);
	ok(f.rc == 10 && plain_got(fd, out, NULL, 10, &at) == 10 && !strstr(text, "offload"),
	   "gso fallback: the next run goes one by one, without trying or logging again");
	ok(f.zi && zt_inst_counter(f.zi, "gso_sends") == 0 && zt_inst_counter(f.zi, "gso_refused") == 1 &&
	   zt_inst_counter(f.zi, "tx_dgrams") == 20 && zt_inst_counter(f.zi, "tx_errors") == 0,
	   "gso fallback: counters");
	if (f.zi)
		zt_inst_stop(f.zi);
	close(fd);

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		for (i = 0; i < 3; i++)
			ok(1, "gso and a small MTU # skip needs root for a network namespace");
		return;
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	ifr.ifr_mtu = 1280;
	ioctl(s, SIOCSIFMTU, &ifr);
	ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ok(ioctl(s, SIOCSIFFLAGS, &ifr) == 0, "gso and a small MTU: loopback up, MTU 1280");
	close(s);
	f.zi = started(k, "{ use: udp, instance: small, listen: ['127.0.0.1:0'] }", NULL);
	fd = client(AF_INET, &caddr);
	at = f.zi ? local_of(f.zi, 0) : caddr;
	for (i = 0; i < 10; i++)
		len[i] = 1400;
	batch_make(out, 10, &caddr, len);
	f.rc = 0;
	if (f.zi && fd >= 0) {
		logged(fallback_send, &f, text, sizeof text);
		diag("log: %s", text);
	}
	ok(f.rc == 10 && plain_got(fd, out, NULL, 10, &at) == 10,
	   "gso and a small MTU: 10 datagrams of 1400 bytes go one by one, fragmented by IP");
	ok(f.zi && zt_inst_counter(f.zi, "gso_refused") == 1 && zt_inst_counter(f.zi, "gso_sends") == 0,
	   "gso and a small MTU: counted as refused");
	if (f.zi)
		zt_inst_stop(f.zi);
	if (fd >= 0)
		close(fd);
}

/* ---- queues: sockets of their own on the instance's addresses ---- */

/* Run both loops until a and b hold want datagrams together or 5 s passed. */
static int run_both_until(struct ev_loop *l1, struct ev_loop *l2, const struct seen *a,
			  const struct seen *b, unsigned want)
{
	ev_tstamp end = ev_time() + 5.;

	while (a->n + b->n < want && ev_time() < end) {
		ev_run(l1, EVRUN_NOWAIT);
		ev_run(l2, EVRUN_NOWAIT);
		if (a->n + b->n < want)
			poll(NULL, 0, 1);
	}
	return a->n + b->n >= want;
}

/* Does every datagram in s say the socket it came in on, "c<n> s<local>"? */
static int locals_match(const struct seen *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		char want[8];

		snprintf(want, sizeof want, " s%u", (unsigned)s->d[i].local);
		if (s->d[i].len != 7 || memcmp(s->d[i].data + 3, want, 3) != 0)
			return 0;
	}
	return 1;
}

static void find_name(void *ctx, struct zt_inst *zi)
{
	const char **name = ctx;

	if (*name && strcmp(zt_inst_name(zi), *name) == 0)
		*name = NULL;
}

static int listed(struct zt_kernel *k, const char *name)
{
	zt_kernel_each_instance(k, find_name, &name);
	return name == NULL;
}

/* Datagrams from the clients to both sockets spread over the instance and
 * its queue by 4-tuple (SO_REUSEPORT); each sends from the shared ports. */
static void queues(struct zt_kernel *k, struct ev_loop *loop)
{
	enum { CLIENTS = 32 };
	static struct seen a, b;
	struct ev_loop *wloop = ev_loop_new(EVFLAG_AUTO);
	const struct zt_transport_ops *ops;
	union zt_sockaddr at[2], qat[2], caddr[CLIENTS], from;
	struct zt_inst *zi, *q;
	struct zt_dgram d;
	int fd[CLIENTS];
	char err[512] = "", buf[64];
	unsigned i;

	zi = zt_kernel_instance(k, ZT_TRANSPORT, "{ use: udp, instance: wq, batch: 8, "
				"listen: ['127.0.0.1:0', '127.0.0.2:0'] }", err, sizeof err);
	q = zi ? zt_inst_queue(zi, 1) : NULL;
	if (!ok(wloop && zi && q, "queue: instance and queue 1 made"))
		bail("%s", err);
	is_str(zt_inst_name(q), "wq/q1", "queue: named <instance>/q1");
	ok(listed(k, "wq/q1"), "queue: in the kernel's list, so its counters are listed");
	is_int(zt_inst_start_on(q, wloop), -ENOTCONN, "queue: no start before its instance's");
	zt_inst_set_dgram_sink(zi, sink, &a);
	zt_inst_set_dgram_sink(q, sink, &b);
	is_int(zt_inst_start(zi), 0, "queue: the instance starts");
	is_int(zt_inst_start_on(q, wloop), 0, "queue: the queue starts on its own loop");
	ok(zt_inst_queue(zi, 2) == NULL, "queue: none made after the instance started");
	ops = zt_inst_module(zi)->ops.transport;
	at[0] = local_of(zi, 0);
	at[1] = local_of(zi, 1);
	qat[0] = local_of(q, 0);
	qat[1] = local_of(q, 1);
	ok(port_of(&at[0]) && same_addr(&at[0], &qat[0]) && same_addr(&at[1], &qat[1]),
	   "queue: bound to the instance's bound addresses, socket for socket");

	for (i = 0; i < CLIENTS; i++) {
		fd[i] = client(AF_INET, &caddr[i]);
		if (fd[i] < 0)
			bail("no client socket");
		for (unsigned s = 0; s < 2; s++) {
			snprintf(buf, sizeof buf, "c%02u s%u", i, s);
			sendto(fd[i], buf, 7, 0, &at[s].sa, salen(&at[s]));
		}
	}
	ok(run_both_until(loop, wloop, &a, &b, 2 * CLIENTS) && a.n + b.n == 2 * CLIENTS,
	   "queue: every datagram arrives once, at the instance or the queue");
	ok(a.n > 0 && b.n > 0, "queue: both receive some (spread by 4-tuple)");
	diag("instance %u, queue %u", a.n, b.n);
	ok(locals_match(&a) && locals_match(&b), "queue: local is the index of the socket on both");
	ok(zt_inst_counter(zi, "rx_dgrams") == a.n && zt_inst_counter(q, "rx_dgrams") == b.n,
	   "queue: rx_dgrams counted per queue");
	ok(a.largest <= 8 && b.largest <= 8, "queue: the instance's batch");

	/* each answers through its own socket on the shared ports */
	d.peer = caddr[0];
	d.data = (uint8_t *)"from q";
	d.len = 6;
	for (i = 0; i < 2; i++) {
		d.local = i;
		ok(ops->send(zt_inst_state(q), &d, 1) == 1 && recv_wait(fd[0], buf, sizeof buf, &from) == 6 &&
		   memcmp(buf, "from q", 6) == 0 && same_addr(&from, &at[i]),
		   i ? "queue: sends from socket 1's address and port" :
		       "queue: sends from socket 0's address and port");
	}
	ok(zt_inst_counter(q, "tx_dgrams") == 2 && zt_inst_counter(zi, "tx_dgrams") == 0,
	   "queue: tx_dgrams counted per queue");
	{
		static struct zt_dgram out[10];
		size_t len[10];

		for (i = 0; i < 10; i++)
			len[i] = 1000;
		batch_make(out, 10, &caddr[1], len);
		ok(ops->send(zt_inst_state(q), out, 10) == 10 && plain_got(fd[1], out, NULL, 10, at) == 10 &&
		   zt_inst_counter(q, "gso_sends") == 1, "queue: a run goes out as one GSO message");
	}
	zt_inst_stop(q);
	zt_inst_stop(zi);
	for (i = 0; i < CLIENTS; i++)
		close(fd[i]);
	ev_loop_destroy(wloop);
}

/* ---- a queue on a thread of its own, as a worker runs it ---- */

struct worker {
	struct zt_inst *q;
	struct ev_loop *loop;
	ev_async quit;
	atomic_uint received;
	int started;              /* start's result, before ready is posted */
	atomic_int ready;
};

static void count_sink(void *ctx, struct zt_inst *from, struct zt_dgram *d, unsigned n)
{
	atomic_fetch_add(&((struct worker *)ctx)->received, n);
}

static void on_quit(struct ev_loop *l, ev_async *w, int revents)
{
	ev_break(l, EVBREAK_ALL);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	w->started = zt_inst_start_on(w->q, w->loop);
	atomic_store(&w->ready, 1);
	if (w->started == 0)
		ev_run(w->loop, 0);
	zt_inst_stop(w->q);
	return NULL;
}

/* Whether the instance (seen) and the worker hold want datagrams together. */
static int threaded_until(struct ev_loop *loop, const struct seen *s, struct worker *w, unsigned want)
{
	ev_tstamp end = ev_time() + 5.;

	while (s->n + atomic_load(&w->received) < want && ev_time() < end) {
		ev_run(loop, EVRUN_NOWAIT);
		poll(NULL, 0, 1);
	}
	return s->n + atomic_load(&w->received) == want;
}

static void queue_thread(struct zt_kernel *k, struct ev_loop *loop)
{
	enum { CLIENTS = 32 };
	static struct seen a;
	static struct worker w;
	union zt_sockaddr at, caddr;
	struct zt_inst *zi;
	pthread_t t;
	char err[512] = "";
	unsigned i;

	zi = zt_kernel_instance(k, ZT_TRANSPORT, "{ use: udp, instance: wt, listen: ['127.0.0.1:0'] }",
				err, sizeof err);
	w.q = zi ? zt_inst_queue(zi, 1) : NULL;
	w.loop = ev_loop_new(EVFLAG_AUTO);
	if (!w.q || !w.loop || zt_inst_start(zi) < 0)
		bail("queue on a thread: %s", err);
	zt_inst_set_dgram_sink(zi, sink, &a);
	zt_inst_set_dgram_sink(w.q, count_sink, &w);
	ev_async_init(&w.quit, on_quit);
	ev_async_start(w.loop, &w.quit);
	if (pthread_create(&t, NULL, worker_run, &w) != 0)
		bail("pthread_create");
	while (!atomic_load(&w.ready))
		poll(NULL, 0, 1);
	is_int(w.started, 0, "queue on a thread: starts there");
	at = local_of(zi, 0);
	for (i = 0; i < CLIENTS; i++) {
		int fd = client(AF_INET, &caddr);

		sendto(fd, "c00 s0", 7, 0, &at.sa, salen(&at));
		close(fd);
	}
	ok(threaded_until(loop, &a, &w, CLIENTS), "queue on a thread: every datagram arrives once");
	ev_async_send(w.loop, &w.quit);
	pthread_join(t, NULL);
	ok(a.n > 0 && w.received > 0, "queue on a thread: both receive some");
	is_int(zt_inst_counter(w.q, "rx_dgrams"), w.received, "queue on a thread: its counters");
	zt_inst_stop(zi);
	ev_loop_destroy(w.loop);
}

/* Run the loop until zi has sent want datagrams or 5 s passed. */
static int run_until_sent(struct ev_loop *loop, struct zt_inst *zi, uint64_t want)
{
	ev_timer t;
	int expired = 0;

	ev_timer_init(&t, on_timeout, 5., 0.);
	t.data = &expired;
	ev_timer_start(loop, &t);
	while (zt_inst_counter(zi, "tx_dgrams") < want && !expired)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	return zt_inst_counter(zi, "tx_dgrams") >= want;
}

/* pace: a token bucket per destination; what exceeds it waits, in
 * order, and leaves at the rate; another destination does not wait; a
 * full queue drops; stop forgets what waits. */
static void pacing(struct zt_kernel *k, struct ev_loop *loop)
{
	static struct zt_dgram out[12];
	static const unsigned waited[9] = { 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	const struct zt_transport_ops *ops;
	struct zt_inst *pz, *small;
	union zt_sockaddr a1, a2, from, at[12];
	size_t len[12];
	ev_tstamp t0, took;
	unsigned i;
	int fd1, fd2;

	refused(k, "{ use: udp, pace: fast }", "pace: 'fast' is not", "pace: fast");
	refused(k, "{ use: udp, pace-burst: 1000 }", "pace-burst: must be between 1500", "pace-burst: 1000");
	refused(k, "{ use: udp, pace-queue: 0 }", "pace-queue: must be between 1", "pace-queue: 0");
	/* 8 Mbit/s: 1000 bytes a millisecond; the bucket holds 2 ms of it */
	pz = started(k, "{ use: udp, instance: paced, pace: 8, pace-burst: 1500, "
		     "listen: ['127.0.0.1:0'] }", NULL);
	small = started(k, "{ use: udp, instance: paced3, pace: 8, pace-burst: 1500, pace-queue: 3, "
			"listen: ['127.0.0.1:0'] }", NULL);
	fd1 = client(AF_INET, &a1);
	fd2 = client(AF_INET, &a2);
	if (!ok(pz && small && fd1 >= 0 && fd2 >= 0, "pace: instances and sockets"))
		bail("cannot set up the pacing tests");
	ops = zt_inst_module(pz)->ops.transport;
	for (i = 0; i < 12; i++) {
		len[i] = 1000;
		at[i] = local_of(pz, 0);
	}
	batch_make(out, 12, &a1, len);
	out[11].peer = a2;
	t0 = ev_time();
	is_int(ops->send(zt_inst_state(pz), out, 12), 12, "pace: 12 datagrams taken");
	is_int(plain_got(fd1, out, NULL, 2, at), 2, "pace: the bucket's 2000 bytes go at once");
	ok(quiet(fd1), "pace: the rest waits for the loop");
	is_int(plain_got(fd2, out, (const unsigned[]){ 11 }, 1, at), 1,
	       "pace: another destination has its own bucket and does not wait");
	is_int(zt_inst_counter(pz, "pace_delayed"), 9, "pace: 9 counted in pace_delayed");
	ok(run_until_sent(loop, pz, 12), "pace: the loop sends the 9 that waited");
	took = ev_time() - t0;
	is_int(plain_got(fd1, out, waited, 9, at), 9, "pace: they arrive whole and in order");
	if (!ok(took >= 0.007 && took < 2, "pace: at the rate, 1000 bytes a millisecond"))
		diag("9 datagrams of 1000 bytes took %.4f s", took);

	/* a queue of 3: 2 go, 3 wait, 3 are dropped */
	is_int(ops->send(zt_inst_state(small), out, 8), 5, "pace-queue: 5 of 8 taken");
	is_int(zt_inst_counter(small, "pace_dropped"), 3, "pace-queue: 3 counted in pace_dropped");
	ok(run_until_sent(loop, small, 5), "pace-queue: the 3 that waited are sent");
	for (i = 0; i < 5; i++)
		at[i] = local_of(small, 0);
	is_int(plain_got(fd1, out, NULL, 5, at), 5, "pace-queue: the first 5 arrive in order");
	ok(quiet(fd1), "pace-queue: and nothing more");

	/* stopped with datagrams waiting: they are forgotten, no timer runs */
	ev_now_update(loop);
	for (i = 0; i < 12; i++)
		at[i] = local_of(pz, 0);
	ops->send(zt_inst_state(pz), out, 11);
	zt_inst_stop(pz);
	ev_run(loop, EVRUN_NOWAIT);
	ok(plain_got(fd1, out, NULL, 2, at) == 2 && quiet(fd1) && zt_inst_counter(pz, "tx_dgrams") == 12 + 2,
	   "pace: stop forgets what waits");
	ok(zt_inst_start(pz) == 0 && ops->send(zt_inst_state(pz), out, 1) == 1 &&
	   recv_wait(fd1, dbuf[127], sizeof dbuf[127], &from) == 1000, "pace: restarted, the bucket sends again");
	close(fd1);
	close(fd2);
}

/* extra_open (the node's symmetric-NAT probing): sockets beside the
 * listen ones, on the same address at ports the system picks; each
 * sends from itself and receives with its own index; closed, its index
 * falls back to the listen socket; at most 512; stop closes them. */
static void extra_sockets(struct zt_kernel *k, struct ev_loop *loop)
{
	static struct seen s;
	const struct zt_transport_ops *ops;
	union zt_sockaddr cad, from, loc[4], listen_at;
	struct zt_dgram d = { .data = (uint8_t *)"x1", .len = 2 };
	struct zt_inst *zi;
	char err[512] = "", buf[64];
	int fd, l1, l2, rc = 0;
	unsigned more = 0;
	void *st;

	zi = zt_kernel_instance(k, ZT_TRANSPORT, "{ use: udp, instance: ex, listen: ['127.0.0.1:0'] }",
				err, sizeof err);
	fd = client(AF_INET, &cad);
	if (!zi || fd < 0)
		bail("extra sockets: %s", err);
	ops = zt_inst_module(zi)->ops.transport;
	st = zt_inst_state(zi);
	is_int(ops->extra_open(st, 0), -ENOTCONN, "extra: refused before start");
	zt_inst_set_dgram_sink(zi, sink, &s);
	if (zt_inst_start(zi) < 0)
		bail("extra sockets: start");
	listen_at = local_of(zi, 0);
	is_int(ops->extra_open(st, 5), -EINVAL, "extra: a listen socket that does not exist is refused");
	l1 = ops->extra_open(st, 0);
	l2 = ops->extra_open(st, 0);
	if (!ok(l1 >= 32768 && l2 >= 32768 && l1 != l2, "extra: two sockets, indexes of their own"))
		diag("indexes %d, %d", l1, l2);
	is_int(ops->locals(st, loc, 4), 1, "extra: not listed among the listen addresses");
	d.peer = cad;
	d.local = (uint32_t)l1;
	ok(ops->send(st, &d, 1) == 1 && recv_wait(fd, buf, sizeof buf, &from) == 2 &&
	   from.in4.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && port_of(&from) != port_of(&listen_at),
	   "extra: sends from a port of its own on the listen address");
	sendto(fd, "r1", 2, 0, &from.sa, salen(&from));
	ok(run_until(loop, &s, 1) && s.d[0].local == (uint32_t)l1 && same_addr(&s.d[0].peer, &cad),
	   "extra: what it receives carries its index");
	ops->extra_close(st, (uint32_t)l1);
	ops->extra_close(st, (uint32_t)l1);
	ops->extra_close(st, 7);
	ok(ops->send(st, &d, 1) == 1 && recv_wait(fd, buf, sizeof buf, &from) == 2 && same_addr(&from, &listen_at),
	   "extra: closed, its index goes out of the listen socket");
	while ((rc = ops->extra_open(st, 0)) >= 0)
		more++;
	if (!ok(more == 511 && rc == -ENOSPC, "extra: at most 512"))
		diag("%u more, then %d", more, rc);
	zt_inst_stop(zi);
	ok(zt_inst_start(zi) == 0 && ops->extra_open(st, 0) == 32768, "extra: stop closes them all");
	zt_inst_stop(zi);
	close(fd);
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
	plan(65 + 4 + 1 + 6 + 6 + 7 + 3 + 6 + 6 + 3 + 17 + 4 + 22 + 9);

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
		char want[128], text[1024] = "";
		struct start_call call = { other, 0 };

		logged(start_logged, &call, text, sizeof text);
		rc = call.rc;
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

	offloads(k, loop);
	queues(k, loop);
	queue_thread(k, loop);
	gso_fallback(k);
	pacing(k, loop);
	extra_sockets(k, loop);

	zt_kernel_free(k);
	ev_loop_destroy(loop);
	close(c4);
	if (c6 >= 0)
		close(c6);
	return tap_done();
}
