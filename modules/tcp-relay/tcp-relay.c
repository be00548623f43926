/* tcp-relay: the relay side of the TCP-443 fallback (wire.md §8.1).
 * Listens on TCP; each client gets a UDP socket of its own, opened on
 * its first datagram, through which it talks to the world as if it had
 * that socket itself: a record from the client is sent as a datagram to
 * the address it names, a datagram arriving on the socket goes back to
 * the client in a record naming its source.  A client that did not
 * greet first is a legacy one: its records are raw packets for the
 * local node (127.0.0.1:9993 by default).  See zt-tcp-relay(7). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include <zt/module.h>

#include "../../transports/tcp/tcpframe.h"

#define RELAY_MAX_LISTEN 8
/* What the reference relay forwards: destination ports above 1024,
 * datagrams of at least 16 bytes, 128 KiB queued towards a client. */
#define RELAY_MIN_PORT 1025
#define RELAY_MIN_DGRAM 16
#define RELAY_OUT_BUF (128 * 1024)
/* Datagrams read from one client's socket per wakeup. */
#define RELAY_UDP_BUDGET 64
/* Seconds accepting pauses when no file descriptor is left. */
#define RELAY_BACKOFF_S 1.0

struct relay;

struct relay_client {
	struct relay *r;
	struct relay_client *prev, *next;
	int fd, ufd;                /* the TCP connection; its UDP socket, -1 until used */
	ev_io rd, wr, urd;
	bool greeted, legacy;       /* mode, known after the first record */
	bool decided;
	bool udp_v6;                /* the UDP socket is IPv6 (dual-stack) */
	ev_tstamp last_active;
	double tokens;              /* rate limit: bytes it may still send */
	ev_tstamp refilled;
	char name[ZT_SOCKADDR_STRLEN];
	size_t in_len;
	uint8_t *out;               /* RELAY_OUT_BUF bytes, allocated on first use */
	size_t out_off, out_len;
	uint8_t in[TCPF_MAX_RECORD];
};

struct relay_listener {
	struct relay *r;
	int fd;
	ev_io io;
	union zt_sockaddr addr;
};

struct relay {
	struct zt_inst *zi;
	struct ev_loop *loop;
	unsigned nlisten;
	struct relay_listener listen[RELAY_MAX_LISTEN];
	union zt_sockaddr legacy_to;
	bool legacy_ok;
	unsigned max_clients, nclients;
	uint64_t rate;              /* bytes per second per client, 0: unlimited */
	double idle_s;
	ev_timer idle, backoff;
	struct relay_client *clients;
	uint8_t udp_buf[TCPF_MAX_DGRAM + 1];

	uint64_t *clients_now, *accepted, *refused_full;
	uint64_t *closed_idle, *closed_garbage, *closed_oversize, *closed_addr_type,
		 *closed_slow, *closed_eof, *closed_error;
	uint64_t *tcp_rx_bytes, *tcp_tx_bytes, *udp_tx_dgrams, *udp_tx_bytes,
		 *udp_rx_dgrams, *udp_rx_bytes;
	uint64_t *drop_port, *drop_short, *drop_rate, *drop_udp_full, *drop_udp_size,
		 *drop_udp_error;
};

static socklen_t relay_addrlen(const union zt_sockaddr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof a->in6 : sizeof a->in4;
}

/* The UDP socket is dual-stack: IPv4 peers appear as ::ffff:a.b.c.d. */
static void relay_v4_mapped(const union zt_sockaddr *v4, union zt_sockaddr *out)
{
	memset(out, 0, sizeof *out);
	out->in6.sin6_family = AF_INET6;
	out->in6.sin6_port = v4->in4.sin_port;
	out->in6.sin6_addr.s6_addr[10] = 0xff;
	out->in6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&out->in6.sin6_addr.s6_addr[12], &v4->in4.sin_addr, 4);
}

static void relay_unmap(union zt_sockaddr *a)
{
	struct in6_addr ip;
	in_port_t port;

	if (a->sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr))
		return;
	ip = a->in6.sin6_addr;
	port = a->in6.sin6_port;
	memset(a, 0, sizeof *a);
	a->in4.sin_family = AF_INET;
	a->in4.sin_port = port;
	memcpy(&a->in4.sin_addr, &ip.s6_addr[12], 4);
}

/* ---- clients ---- */

static void relay_close(struct relay_client *c, uint64_t *why, const char *fmt, ...) ZT_PRINTF(3, 4);

static void relay_close(struct relay_client *c, uint64_t *why, const char *fmt, ...)
{
	struct relay *r = c->r;
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	zt_log(r->zi, why == r->closed_eof ? ZT_LOG_DEBUG : ZT_LOG_INFO, "%s: closed: %s", c->name, msg);
	(*why)++;
	ev_io_stop(r->loop, &c->rd);
	ev_io_stop(r->loop, &c->wr);
	close(c->fd);
	if (c->ufd >= 0) {
		ev_io_stop(r->loop, &c->urd);
		close(c->ufd);
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		r->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	r->nclients--;
	*r->clients_now = r->nclients;
	free(c->out);
	free(c);
}

/* Write what is queued; false if the client was closed. */
static bool relay_flush(struct relay_client *c)
{
	struct relay *r = c->r;

	while (c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w < 0) {
			relay_close(c, r->closed_error, "send: %s", strerror(errno));
			return false;
		}
		*r->tcp_tx_bytes += (uint64_t)w;
		c->out_off += (size_t)w;
		c->out_len -= (size_t)w;
	}
	if (!c->out_len) {
		c->out_off = 0;
		ev_io_stop(r->loop, &c->wr);
	} else {
		ev_io_start(r->loop, &c->wr);
	}
	return true;
}

static void relay_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	relay_flush(w->data);
}

/* Room at the end of the queue for n bytes, moving what is queued to
 * the front if needed; NULL if the client is too slow to take them. */
static uint8_t *relay_out_room(struct relay_client *c, size_t n)
{
	if (!c->out && !(c->out = malloc(RELAY_OUT_BUF)))
		return NULL;
	if (c->out_len + n > RELAY_OUT_BUF)
		return NULL;
	if (c->out_off + c->out_len + n > RELAY_OUT_BUF) {
		memmove(c->out, c->out + c->out_off, c->out_len);
		c->out_off = 0;
	}
	return c->out + c->out_off + c->out_len;
}

/* Queue one datagram from src as a record; false if the client was
 * closed because its queue is full (as the reference relay does). */
static bool relay_queue(struct relay_client *c, const union zt_sockaddr *src, const uint8_t *data, size_t len)
{
	struct relay *r = c->r;
	size_t room = TCPF_HDR + TCPF_ADDR6_LEN + len;
	uint8_t *p = relay_out_room(c, room);
	int pre;

	if (!p) {
		relay_close(c, r->closed_slow, "slow reader: %zu bytes queued", c->out_len);
		return false;
	}
	if (c->legacy) {
		tcpf_head(p, len);
		pre = TCPF_HDR;
	} else {
		pre = tcpf_dgram_head(p, src, len);
	}
	memcpy(p + pre, data, len);
	c->out_len += (size_t)pre + len;
	return true;
}

static void relay_udp_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay_client *c = w->data;
	struct relay *r = c->r;
	unsigned budget = RELAY_UDP_BUDGET;

	while (budget--) {
		union zt_sockaddr src;
		socklen_t slen = sizeof src;
		ssize_t n = recvfrom(c->ufd, r->udp_buf, sizeof r->udp_buf, MSG_DONTWAIT, &src.sa, &slen);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				(*r->drop_udp_error)++;
			break;
		}
		if (n < RELAY_MIN_DGRAM || n > TCPF_MAX_DGRAM) {
			(*r->drop_udp_size)++;
			continue;
		}
		relay_unmap(&src);
		(*r->udp_rx_dgrams)++;
		*r->udp_rx_bytes += (uint64_t)n;
		if (!relay_queue(c, &src, r->udp_buf, (size_t)n))
			return;
	}
	c->last_active = ev_now(loop);
	relay_flush(c);
}

/* The client's UDP socket: IPv6 with IPv4 mapped if the host has IPv6,
 * else IPv4 only.  0 or -errno (logged). */
static int relay_udp_open(struct relay_client *c)
{
	struct relay *r = c->r;
	int zero = 0, fd;

	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd >= 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0) {
		close(fd);
		fd = -1;
	}
	c->udp_v6 = fd >= 0;
	if (fd < 0)
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0) {
		zt_log(r->zi, ZT_LOG_WARN, "%s: udp socket: %s", c->name, strerror(errno));
		return -errno;
	}
	c->ufd = fd;
	ev_io_init(&c->urd, relay_udp_readable, fd, EV_READ);
	c->urd.data = c;
	ev_io_start(r->loop, &c->urd);
	return 0;
}

static bool relay_rate_ok(struct relay_client *c, size_t len)
{
	struct relay *r = c->r;
	ev_tstamp now = ev_now(r->loop);

	if (!r->rate)
		return true;
	c->tokens += (now - c->refilled) * (double)r->rate;
	c->refilled = now;
	if (c->tokens > (double)r->rate)
		c->tokens = (double)r->rate;   /* a burst of one second at most */
	if (c->tokens < (double)len)
		return false;
	c->tokens -= (double)len;
	return true;
}

/* Send one datagram for the client; drops are counted, not fatal. */
static void relay_send_udp(struct relay_client *c, const union zt_sockaddr *to, const uint8_t *data, size_t len)
{
	struct relay *r = c->r;
	union zt_sockaddr mapped;
	const union zt_sockaddr *dst = to;
	ssize_t w;

	if (len < RELAY_MIN_DGRAM) {
		(*r->drop_short)++;
		return;
	}
	if (!c->legacy && ntohs(to->sa.sa_family == AF_INET6 ? to->in6.sin6_port : to->in4.sin_port) < RELAY_MIN_PORT) {
		(*r->drop_port)++;
		return;
	}
	if (!relay_rate_ok(c, len)) {
		(*r->drop_rate)++;
		return;
	}
	if (c->ufd < 0 && relay_udp_open(c) < 0) {
		(*r->drop_udp_error)++;
		return;
	}
	if (c->udp_v6 && to->sa.sa_family == AF_INET) {
		relay_v4_mapped(to, &mapped);
		dst = &mapped;
	}
	do
		w = sendto(c->ufd, data, len, MSG_DONTWAIT, &dst->sa, relay_addrlen(dst));
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			(*r->drop_udp_full)++;
		else
			(*r->drop_udp_error)++;
		return;
	}
	(*r->udp_tx_dgrams)++;
	*r->udp_tx_bytes += len;
}

/* One record from the client; false if it was closed. */
static bool relay_record(struct relay_client *c, const uint8_t *body, size_t n)
{
	struct relay *r = c->r;
	union zt_sockaddr to;
	const uint8_t *data;
	size_t len;
	int err;

	if (!c->decided) {
		c->decided = true;
		c->greeted = n == TCPF_GREETING_LEN;
		if (c->greeted) {
			zt_log(r->zi, ZT_LOG_DEBUG, "%s: client %u.%u.%u", c->name, body[0], body[1],
			       (unsigned)body[2] << 8 | body[3]);
			return true;
		}
		if (!r->legacy_ok) {
			relay_close(c, r->closed_garbage, "no greeting (legacy clients are off)");
			return false;
		}
		c->legacy = true;
	}
	if (c->legacy) {
		relay_send_udp(c, &r->legacy_to, body, n);
		return true;
	}
	if (n == TCPF_GREETING_LEN)
		return true;   /* another greeting: nothing to do */
	err = tcpf_dgram(body, n, &to, &data, &len);
	if (err == -EAFNOSUPPORT) {
		relay_close(c, r->closed_addr_type, "unknown address type %u", body[0]);
		return false;
	}
	if (err < 0) {
		relay_close(c, r->closed_garbage, "datagram of %zu bytes shorter than its address", n);
		return false;
	}
	relay_send_udp(c, &to, data, len);
	return true;
}

static void relay_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay_client *c = w->data;
	struct relay *r = c->r;
	ssize_t n;
	size_t off = 0;

	n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		relay_close(c, r->closed_error, "recv: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		relay_close(c, r->closed_eof, "end of stream");
		return;
	}
	*r->tcp_rx_bytes += (uint64_t)n;
	c->in_len += (size_t)n;
	c->last_active = ev_now(loop);
	for (;;) {
		const uint8_t *body;
		size_t blen;
		int rec;

		if (c->in_len - off >= 3 && !tcpf_head_ok(c->in + off)) {
			relay_close(c, r->closed_garbage, "not a record (%02x %02x %02x)",
				    c->in[off], c->in[off + 1], c->in[off + 2]);
			return;
		}
		rec = tcpf_record(c->in + off, c->in_len - off, TCPF_MAX_BODY, &body, &blen);
		if (rec == -EMSGSIZE) {
			relay_close(c, r->closed_oversize, "record of %u bytes over the limit of %u",
				    (unsigned)c->in[off + 3] << 8 | c->in[off + 4], TCPF_MAX_BODY);
			return;
		}
		if (rec == 0)
			break;
		if (!relay_record(c, body, blen))
			return;
		off += (size_t)rec;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
}

static void relay_accept_one(struct relay *r, int fd, const union zt_sockaddr *from)
{
	struct relay_client *c;
	char as[ZT_SOCKADDR_STRLEN];
	int one = 1;

	zt_sockaddr_fmt(from, as, sizeof as);
	if (r->nclients >= r->max_clients) {
		(*r->refused_full)++;
		zt_log(r->zi, ZT_LOG_INFO, "%s: closed: %u clients already (max-clients)", as, r->nclients);
		close(fd);
		return;
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		zt_log(r->zi, ZT_LOG_WARN, "%s: closed: out of memory", as);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->r = r;
	c->fd = fd;
	c->ufd = -1;
	memcpy(c->name, as, sizeof as);
	c->last_active = c->refilled = ev_now(r->loop);
	c->tokens = (double)r->rate;
	ev_io_init(&c->rd, relay_readable, fd, EV_READ);
	ev_io_init(&c->wr, relay_writable, fd, EV_WRITE);
	c->rd.data = c->wr.data = c;
	ev_io_start(r->loop, &c->rd);
	c->next = r->clients;
	if (c->next)
		c->next->prev = c;
	r->clients = c;
	r->nclients++;
	*r->clients_now = r->nclients;
	(*r->accepted)++;
	zt_log(r->zi, ZT_LOG_DEBUG, "%s: connected", as);
}

static void relay_acceptable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay_listener *l = w->data;
	struct relay *r = l->r;

	for (;;) {
		union zt_sockaddr from;
		socklen_t flen = sizeof from;
		int fd = accept4(l->fd, &from.sa, &flen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* pause rather than spin on a pending connection */
				zt_log(r->zi, ZT_LOG_WARN, "accept: %s", strerror(errno));
				for (unsigned i = 0; i < r->nlisten; i++)
					ev_io_stop(loop, &r->listen[i].io);
				ev_timer_set(&r->backoff, RELAY_BACKOFF_S, 0.);
				ev_timer_start(loop, &r->backoff);
			}
			return;
		}
		relay_unmap(&from);
		relay_accept_one(r, fd, &from);
	}
}

static void relay_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct relay *r = w->data;

	for (unsigned i = 0; i < r->nlisten; i++)
		if (r->listen[i].fd >= 0)
			ev_io_start(loop, &r->listen[i].io);
}

static void relay_idle_scan(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct relay *r = w->data;
	ev_tstamp now = ev_now(loop);
	struct relay_client *c = r->clients, *next;

	for (; c; c = next) {
		next = c->next;
		if (now - c->last_active >= r->idle_s)
			relay_close(c, r->closed_idle, "idle for %.0f s", now - c->last_active);
	}
}

/* ---- lifecycle ---- */

static void relay_stop(void *state)
{
	struct relay *r = state;

	if (!r->loop)
		return;
	while (r->clients)
		relay_close(r->clients, r->closed_eof, "relay stopping");
	for (unsigned i = 0; i < r->nlisten; i++) {
		if (r->listen[i].fd < 0)
			continue;
		ev_io_stop(r->loop, &r->listen[i].io);
		close(r->listen[i].fd);
		r->listen[i].fd = -1;
	}
	ev_timer_stop(r->loop, &r->idle);
	ev_timer_stop(r->loop, &r->backoff);
}

static int relay_listen(struct relay *r, struct relay_listener *l)
{
	char as[ZT_SOCKADDR_STRLEN];
	int one = 1, fd, err;

	zt_sockaddr_fmt(&l->addr, as, sizeof as);
	fd = socket(l->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (l->addr.sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, &l->addr.sa, relay_addrlen(&l->addr)) < 0 || listen(fd, 1024) < 0)
		goto fail;
	l->fd = fd;
	ev_io_init(&l->io, relay_acceptable, fd, EV_READ);
	l->io.data = l;
	ev_io_start(r->loop, &l->io);
	zt_log(r->zi, ZT_LOG_INFO, "listening on %s", as);
	return 0;
fail:
	err = -errno;
	zt_log(r->zi, ZT_LOG_ERR, "listen %s: %s", as, strerror(errno));
	if (fd >= 0)
		close(fd);
	return err;
}

static int relay_start(void *state, struct ev_loop *loop)
{
	struct relay *r = state;
	double scan = r->idle_s / 10 < 1 ? r->idle_s / 10 : 1;
	int err;

	r->loop = loop;
	for (unsigned i = 0; i < r->nlisten; i++) {
		if ((err = relay_listen(r, &r->listen[i])) < 0) {
			relay_stop(r);
			return err;
		}
	}
	ev_timer_init(&r->idle, relay_idle_scan, scan, scan);
	r->idle.data = r;
	ev_timer_start(loop, &r->idle);
	ev_timer_init(&r->backoff, relay_resume, RELAY_BACKOFF_S, 0.);
	r->backoff.data = r;
	return 0;
}

static void relay_destroy(void *state)
{
	free(state);
}

static int relay_counters(struct relay *r)
{
	static const struct zt_counter_field fields[] = {
		ZT_COUNTER_FIELD(struct relay, clients_now),
		ZT_COUNTER_FIELD(struct relay, accepted),
		ZT_COUNTER_FIELD(struct relay, refused_full),
		ZT_COUNTER_FIELD(struct relay, closed_idle),
		ZT_COUNTER_FIELD(struct relay, closed_garbage),
		ZT_COUNTER_FIELD(struct relay, closed_oversize),
		ZT_COUNTER_FIELD(struct relay, closed_addr_type),
		ZT_COUNTER_FIELD(struct relay, closed_slow),
		ZT_COUNTER_FIELD(struct relay, closed_eof),
		ZT_COUNTER_FIELD(struct relay, closed_error),
		ZT_COUNTER_FIELD(struct relay, tcp_rx_bytes),
		ZT_COUNTER_FIELD(struct relay, tcp_tx_bytes),
		ZT_COUNTER_FIELD(struct relay, udp_tx_dgrams),
		ZT_COUNTER_FIELD(struct relay, udp_tx_bytes),
		ZT_COUNTER_FIELD(struct relay, udp_rx_dgrams),
		ZT_COUNTER_FIELD(struct relay, udp_rx_bytes),
		ZT_COUNTER_FIELD(struct relay, drop_port),
		ZT_COUNTER_FIELD(struct relay, drop_short),
		ZT_COUNTER_FIELD(struct relay, drop_rate),
		ZT_COUNTER_FIELD(struct relay, drop_udp_full),
		ZT_COUNTER_FIELD(struct relay, drop_udp_size),
		ZT_COUNTER_FIELD(struct relay, drop_udp_error),
	};

	return zt_counters_bind(r->zi, r, fields, sizeof fields / sizeof fields[0]);
}

static const struct zt_node *relay_at(const struct zt_node *conf, const char *key)
{
	const struct zt_node *n = zt_node_get(conf, key);

	return n ? n : conf;
}

static int relay_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	union zt_sockaddr addrs[RELAY_MAX_LISTEN];
	struct relay *r;
	size_t n;
	uint64_t idle_ms;

	n = zt_conf_addrs(conf, "listen", addrs, RELAY_MAX_LISTEN);
	if (n == 0 || n > RELAY_MAX_LISTEN) {
		zt_node_error(relay_at(conf, "listen"), "needs 1 to %u addresses", RELAY_MAX_LISTEN);
		return -EINVAL;
	}
	idle_ms = zt_conf_duration_ms(conf, "idle");
	if (idle_ms < 1000) {
		zt_node_error(relay_at(conf, "idle"), "must be at least 1s");
		return -EINVAL;
	}
	r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->zi = zi;
	r->nlisten = (unsigned)n;
	for (size_t i = 0; i < n; i++) {
		r->listen[i].r = r;
		r->listen[i].fd = -1;
		r->listen[i].addr = addrs[i];
	}
	r->idle_s = (double)idle_ms / 1000;
	r->max_clients = (unsigned)zt_conf_uint(conf, "max-clients");
	r->rate = zt_conf_uint(conf, "rate");
	r->legacy_ok = zt_conf_bool(conf, "legacy");
	zt_conf_addrs(conf, "legacy-to", &r->legacy_to, 1);
	if (relay_counters(r) < 0) {
		free(r);
		return -ENOMEM;
	}
	*state = r;
	return 0;
}

static const struct zt_opt relay_opts[] = {
	ZT_OPT_ADDRS("listen", 0, "['0.0.0.0:443', '[::]:443']", "TCP addresses to listen on"),
	ZT_OPT_UINT("max-clients", 1024, 1, 1000000, "clients served at once; more are closed at once"),
	ZT_OPT_UINT("rate", 0, 0, 0, "bytes per second a client may send out, 0 for no limit"),
	ZT_OPT_DURATION("idle", "300s", "close a client after this long without traffic"),
	ZT_OPT_BOOL("legacy", 1, "serve clients that do not greet (raw packets to legacy-to)"),
	ZT_OPT_ADDR("legacy-to", 0, "127.0.0.1:9993", "where a legacy client's packets go"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI,
	.name = "tcp-relay",
	.kind = ZT_SERVICE,
	.summary = "relay for the TCP-443 fallback: UDP for clients that have only TCP",
	.opts = relay_opts,
	.create = relay_create,
	.start = relay_start,
	.stop = relay_stop,
	.destroy = relay_destroy,
};
