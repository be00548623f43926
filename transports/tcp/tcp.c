/* tcp: the TCP-443 fallback transport (wire.md §8).  Datagrams go to a
 * relay over one TCP connection, each in a TLS-looking record naming its
 * UDP destination; the relay sends back what arrives for us, each naming
 * its source.  The kernel sees ordinary datagrams from real addresses.
 *
 * It engages on its own when no packet from a peer has come over any
 * other transport for `after` (or always with `force`), and disengages
 * when they come again; its paths are a fallback, used by the kernel only
 * while no other path to the peer is alive.  See zt-tcp(7). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include <zt/inetaddr.h>
#include <zt/module.h>
#include <zt/node.h>

#include "tcpframe.h"

#define TCP_MAX_RELAYS 8
#define TCP_MAX_ADDRS 8            /* addresses tried per relay name */
#define TCP_RX_BATCH 64            /* datagrams handed up at a time */
/* Bytes read from the relay per wakeup: every whole record in them is
 * handed up before the next read. */
#define TCP_READ_BUF (256 * 1024)
#define TCP_MIN_DGRAM 16           /* as the reference: shorter ones stay on UDP */
#define TCP_BACKOFF_MIN 0.25       /* seconds before reconnecting, doubling ... */
#define TCP_BACKOFF_MAX 30.0       /* ... up to this */
#define TCP_CONNECT_TIMEOUT 10.0
/* After disengaging, the connection stays open until nothing has been
 * sent through it for this long.  The node sends a peer nothing through
 * the relay once another path to it is alive (and goes on using the
 * relay for a peer until then); the peer's path to our relay-side
 * address dies 19 s after the last packet it got through it, so when we
 * close no peer still sends through it. */
#define TCP_LINGER_S 30.0

enum tcp_conn { TCP_DOWN, TCP_CONNECTING, TCP_UP };

struct tcp {
	struct zt_inst *zi;
	struct ev_loop *loop;
	bool started;
	/* options */
	unsigned nrelays;
	char *relay[TCP_MAX_RELAYS];   /* "host:port" as configured */
	bool force, global_only;
	double after_s;
	size_t queue_max;
	unsigned vmajor, vminor, vrev;
	/* engagement */
	bool engaged;
	ev_tstamp started_at;
	ev_timer tick;
	/* the connection */
	enum tcp_conn conn;
	int fd;
	unsigned relay_i, addr_i, naddrs;
	union zt_sockaddr addrs[TCP_MAX_ADDRS];
	union zt_sockaddr relay_addr;   /* the one connected to */
	ev_io rd, wr;
	ev_timer retry, timeout, linger;
	double backoff;
	size_t in_len;
	size_t out_off, out_len;
	struct zt_dgram rxd[TCP_RX_BATCH];
	uint8_t *out;                   /* queue_max + one record */
	uint8_t *in;                    /* TCP_READ_BUF + one record */

	uint64_t *engaged_now, *engages, *connects, *connect_failures, *disconnects,
		 *rx_dgrams, *rx_bytes, *rx_no_addr, *rx_bad, *tx_dgrams, *tx_bytes,
		 *tx_standby, *tx_dropped_full, *tx_dropped_scope, *tx_dropped_short;
};

/* Split "host:port" or "[v6]:port" into host and port; 0 or -EINVAL. */
static int tcp_split(const char *s, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon, *h = s;
	size_t n;

	if (*s == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		h = s + 1;
		n = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return -EINVAL;
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= hlen || !colon[1] || strlen(colon + 1) >= plen ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) || atoi(colon + 1) < 1 ||
	    atoi(colon + 1) > 65535)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/* The addresses of relay i, IPv4 and IPv6 (names resolved now). */
static void tcp_resolve(struct tcp *t, unsigned i)
{
	char host[256], port[8];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *res, *ai;
	int err;

	t->naddrs = t->addr_i = 0;
	if (tcp_split(t->relay[i], host, sizeof host, port, sizeof port) < 0)
		return;
	err = getaddrinfo(host, port, &hints, &res);
	if (err) {
		zt_log(t->zi, ZT_LOG_WARN, "relay %s: %s", t->relay[i], gai_strerror(err));
		return;
	}
	for (ai = res; ai && t->naddrs < TCP_MAX_ADDRS; ai = ai->ai_next)
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    ai->ai_addrlen <= sizeof t->addrs[0]) {
			memset(&t->addrs[t->naddrs], 0, sizeof t->addrs[0]);
			memcpy(&t->addrs[t->naddrs++], ai->ai_addr, ai->ai_addrlen);
		}
	freeaddrinfo(res);
}

/* ---- the connection ---- */

static void tcp_connect_next(struct tcp *t);

static void tcp_close(struct tcp *t)
{
	if (t->fd < 0)
		return;
	ev_io_stop(t->loop, &t->rd);
	ev_io_stop(t->loop, &t->wr);
	ev_timer_stop(t->loop, &t->timeout);
	close(t->fd);
	t->fd = -1;
	t->conn = TCP_DOWN;
	t->in_len = 0;
	/* a record cut in the middle cannot be resumed on another stream */
	t->out_off = t->out_len = 0;
}

/* Lost the relay: try the next address or relay after a backoff. */
static void tcp_lost(struct tcp *t, const char *fmt, ...) ZT_PRINTF(2, 3);

static void tcp_lost(struct tcp *t, const char *fmt, ...)
{
	char msg[200], as[ZT_SOCKADDR_STRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	zt_log(t->zi, ZT_LOG_WARN, "relay %s: %s", zt_sockaddr_fmt(&t->relay_addr, as, sizeof as), msg);
	if (t->conn == TCP_UP)
		(*t->disconnects)++;
	else
		(*t->connect_failures)++;
	tcp_close(t);
	t->addr_i++;
	if (!t->engaged)
		return;
	ev_timer_set(&t->retry, t->backoff, 0.);
	ev_timer_start(t->loop, &t->retry);
	t->backoff = t->backoff * 2 > TCP_BACKOFF_MAX ? TCP_BACKOFF_MAX : t->backoff * 2;
}

/* Write what is queued; false if the connection was lost. */
static bool tcp_flush(struct tcp *t)
{
	while (t->out_len) {
		ssize_t w = send(t->fd, t->out + t->out_off, t->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w < 0) {
			tcp_lost(t, "send: %s", strerror(errno));
			return false;
		}
		t->out_off += (size_t)w;
		t->out_len -= (size_t)w;
	}
	if (t->out_len) {
		ev_io_start(t->loop, &t->wr);
	} else {
		t->out_off = 0;
		ev_io_stop(t->loop, &t->wr);
	}
	return true;
}

static void tcp_deliver(struct tcp *t, unsigned n)
{
	*t->rx_dgrams += n;
	zt_transport_rx(t->zi, t->rxd, n);
}

static void tcp_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tcp *t = w->data;
	size_t off = 0;
	unsigned n = 0;
	ssize_t got;

	got = recv(t->fd, t->in + t->in_len, TCP_READ_BUF, MSG_DONTWAIT);
	if (got < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (got <= 0) {
		tcp_lost(t, "%s", got ? strerror(errno) : "closed by the relay");
		return;
	}
	t->in_len += (size_t)got;
	for (;;) {
		const uint8_t *body, *data;
		size_t blen, len;
		int rec = tcpf_record(t->in + off, t->in_len - off, TCPF_MAX_BODY, &body, &blen), err;

		if (rec == -EMSGSIZE) {
			(*t->rx_bad)++;
			tcp_lost(t, "record over %u bytes", TCPF_MAX_BODY);
			return;
		}
		if (rec == 0)
			break;
		off += (size_t)rec;
		if (blen == TCPF_GREETING_LEN)
			continue;   /* the relay's greeting, if any: ignored */
		err = tcpf_dgram(body, blen, &t->rxd[n].peer, &data, &len);
		if (err == -EAFNOSUPPORT && blen && body[0] == 0) {
			(*t->rx_no_addr)++;   /* no source: nothing to answer */
			continue;
		}
		if (err < 0) {
			(*t->rx_bad)++;
			if (n)
				tcp_deliver(t, n);
			tcp_lost(t, "malformed datagram record (type %u, %zu bytes)", blen ? body[0] : 0, blen);
			return;
		}
		t->rxd[n].local = 0;
		t->rxd[n].data = (uint8_t *)data;
		t->rxd[n].len = len;
		*t->rx_bytes += len;
		if (++n == TCP_RX_BATCH) {
			tcp_deliver(t, n);
			n = 0;
			if (t->fd < 0)
				return;
		}
	}
	if (n)
		tcp_deliver(t, n);
	if (t->fd < 0)
		return;
	memmove(t->in, t->in + off, t->in_len - off);
	t->in_len -= off;
}

/* Queue a record at the end: the greeting goes first on a new stream. */
static void tcp_queue_greeting(struct tcp *t)
{
	uint8_t g[TCPF_HDR + TCPF_GREETING_LEN];

	tcpf_greeting(g, t->vmajor, t->vminor, t->vrev);
	memmove(t->out + sizeof g, t->out + t->out_off, t->out_len);
	memcpy(t->out, g, sizeof g);
	t->out_off = 0;
	t->out_len += sizeof g;
}

static void tcp_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tcp *t = w->data;
	char as[ZT_SOCKADDR_STRLEN];
	int err = 0;
	socklen_t elen = sizeof err;

	if (t->conn == TCP_CONNECTING) {
		if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = errno;
		if (err) {
			tcp_lost(t, "connect: %s", strerror(err));
			return;
		}
		ev_timer_stop(loop, &t->timeout);
		t->conn = TCP_UP;
		t->backoff = TCP_BACKOFF_MIN;
		(*t->connects)++;
		zt_log(t->zi, ZT_LOG_INFO, "connected to relay %s",
		       zt_sockaddr_fmt(&t->relay_addr, as, sizeof as));
		ev_io_start(loop, &t->rd);
	}
	tcp_flush(t);
}

static void tcp_connect_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	tcp_lost(w->data, "connect: timed out");
}

/* Connect to the next address of the current relay, or to the next
 * relay once its addresses are used up. */
static void tcp_connect_next(struct tcp *t)
{
	int fd, one = 1;

	if (t->addr_i >= t->naddrs) {
		t->naddrs = 0;
		for (unsigned tries = 0; tries < t->nrelays && !t->naddrs; tries++) {
			t->relay_i = (t->relay_i + 1) % t->nrelays;
			tcp_resolve(t, t->relay_i);
		}
		if (!t->naddrs) {
			(*t->connect_failures)++;
			ev_timer_set(&t->retry, t->backoff, 0.);
			ev_timer_start(t->loop, &t->retry);
			t->backoff = t->backoff * 2 > TCP_BACKOFF_MAX ? TCP_BACKOFF_MAX : t->backoff * 2;
			return;
		}
	}
	t->relay_addr = t->addrs[t->addr_i];
	fd = socket(t->relay_addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		tcp_lost(t, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	t->fd = fd;
	t->conn = TCP_CONNECTING;
	t->in_len = 0;
	tcp_queue_greeting(t);
	if (connect(fd, &t->relay_addr.sa, t->relay_addr.sa.sa_family == AF_INET6 ?
		    sizeof t->relay_addr.in6 : sizeof t->relay_addr.in4) < 0 && errno != EINPROGRESS) {
		tcp_lost(t, "connect: %s", strerror(errno));
		return;
	}
	ev_io_set(&t->rd, fd, EV_READ);
	ev_io_set(&t->wr, fd, EV_WRITE);
	ev_io_start(t->loop, &t->wr);
	ev_timer_set(&t->timeout, TCP_CONNECT_TIMEOUT, 0.);
	ev_timer_start(t->loop, &t->timeout);
}

static void tcp_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tcp *t = w->data;

	if (t->engaged && t->fd < 0)
		tcp_connect_next(t);
}

/* ---- engaging ---- */

static void tcp_engage(struct tcp *t, bool on, const char *why)
{
	if (t->engaged == on)
		return;
	t->engaged = on;
	*t->engaged_now = on;
	zt_log(t->zi, ZT_LOG_INFO, "%s: %s", on ? "engaged" : "disengaged", why);
	if (on) {
		(*t->engages)++;
		ev_timer_stop(t->loop, &t->linger);
		t->backoff = TCP_BACKOFF_MIN;
		if (t->fd < 0)
			tcp_connect_next(t);
		return;
	}
	ev_timer_stop(t->loop, &t->retry);
	if (t->conn == TCP_UP)
		ev_timer_again(t->loop, &t->linger);
	else
		tcp_close(t);
}

static void tcp_linger_end(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tcp *t = w->data;

	ev_timer_stop(loop, w);
	if (!t->engaged)
		tcp_close(t);
}

/* Once a second: engage after `after` without packets over other
 * transports (and `after` since start, so UDP has its chance); let go
 * when they arrive again within half of it (1.14: 60 s and 30 s). */
static void tcp_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tcp *t = w->data;
	struct zt_core *core = zt_inst_core(t->zi);
	double age = core ? (double)zt_core_receive_age(core, t->zi) / 1000 : -1;

	if (t->force)
		return;
	if (!t->engaged && (age < 0 || age >= t->after_s) && ev_now(loop) - t->started_at >= t->after_s)
		tcp_engage(t, true, "nothing received over UDP lately");
	else if (t->engaged && age >= 0 && age < t->after_s / 2)
		tcp_engage(t, false, "UDP works again");
}

/* ---- send ---- */

static bool tcp_scope_ok(const struct tcp *t, const union zt_sockaddr *a)
{
	return !t->global_only || (a->sa.sa_family == AF_INET && zt_inetaddr_scope(a) == ZT_SCOPE_GLOBAL);
}

static int tcp_send(void *state, const struct zt_dgram *d, unsigned n)
{
	struct tcp *t = state;
	unsigned i, sent = 0;

	if (!t->started)
		return -ENOTCONN;
	if (!t->engaged && t->conn != TCP_UP) {
		*t->tx_standby += n;
		return 0;
	}
	for (i = 0; i < n; i++) {
		uint8_t *p;
		int pre;

		if (d[i].len < TCP_MIN_DGRAM || d[i].len > TCPF_MAX_DGRAM) {
			(*t->tx_dropped_short)++;
			continue;
		}
		if (!tcp_scope_ok(t, &d[i].peer)) {
			(*t->tx_dropped_scope)++;
			continue;
		}
		if (t->out_len + TCPF_HDR + TCPF_ADDR6_LEN + d[i].len > t->queue_max) {
			(*t->tx_dropped_full)++;
			continue;
		}
		if (t->out_off + t->out_len + TCPF_MAX_RECORD > t->queue_max + TCPF_MAX_RECORD) {
			/* the queue is at most queue_max: room for a record at its end */
			memmove(t->out, t->out + t->out_off, t->out_len);
			t->out_off = 0;
		}
		p = t->out + t->out_off + t->out_len;
		pre = tcpf_dgram_head(p, &d[i].peer, d[i].len);
		if (pre < 0) {
			(*t->tx_dropped_scope)++;
			continue;
		}
		memcpy(p + pre, d[i].data, d[i].len);
		t->out_len += (size_t)pre + d[i].len;
		*t->tx_bytes += d[i].len;
		sent++;
	}
	*t->tx_dgrams += sent;
	if (sent && !t->engaged)
		ev_timer_again(t->loop, &t->linger);   /* still in use: linger on */
	if (t->conn == TCP_UP)
		tcp_flush(t);
	return (int)sent;
}

/* ---- lifecycle ---- */

static void tcp_destroy(void *state)
{
	struct tcp *t = state;

	if (!t)
		return;
	for (unsigned i = 0; i < t->nrelays; i++)
		free(t->relay[i]);
	free(t->out);
	free(t->in);
	free(t);
}

static int tcp_counters(struct tcp *t)
{
	static const struct zt_counter_field fields[] = {
		ZT_COUNTER_FIELD(struct tcp, engaged_now),
		ZT_COUNTER_FIELD(struct tcp, engages),
		ZT_COUNTER_FIELD(struct tcp, connects),
		ZT_COUNTER_FIELD(struct tcp, connect_failures),
		ZT_COUNTER_FIELD(struct tcp, disconnects),
		ZT_COUNTER_FIELD(struct tcp, rx_dgrams),
		ZT_COUNTER_FIELD(struct tcp, rx_bytes),
		ZT_COUNTER_FIELD(struct tcp, rx_no_addr),
		ZT_COUNTER_FIELD(struct tcp, rx_bad),
		ZT_COUNTER_FIELD(struct tcp, tx_dgrams),
		ZT_COUNTER_FIELD(struct tcp, tx_bytes),
		ZT_COUNTER_FIELD(struct tcp, tx_standby),
		ZT_COUNTER_FIELD(struct tcp, tx_dropped_full),
		ZT_COUNTER_FIELD(struct tcp, tx_dropped_scope),
		ZT_COUNTER_FIELD(struct tcp, tx_dropped_short),
	};

	return zt_counters_bind(t->zi, t, fields, sizeof fields / sizeof fields[0]);
}

static const struct zt_node *tcp_at(const struct zt_node *conf, const char *key)
{
	const struct zt_node *n = zt_node_get(conf, key);

	return n ? n : conf;
}

/* The relays: a "host:port" or a list of them. */
static int tcp_relays(struct tcp *t, const struct zt_node *conf)
{
	const struct zt_node *list = zt_node_get(conf, "relays");
	size_t n = zt_node_scalar(list) ? 1 : zt_node_len(list);
	char host[256], port[8];

	if (n == 0 || n > TCP_MAX_RELAYS) {
		zt_node_error(list, "needs 1 to %u relays (\"host:port\")", TCP_MAX_RELAYS);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct zt_node *item = zt_node_scalar(list) ? list : zt_node_at(list, i);
		const char *s = zt_node_scalar(item);

		if (!s || tcp_split(s, host, sizeof host, port, sizeof port) < 0) {
			zt_node_error(item, "relay %zu: expected \"host:port\" or \"[v6]:port\"", i + 1);
			return -EINVAL;
		}
		if (!(t->relay[t->nrelays] = strdup(s)))
			return -ENOMEM;
		t->nrelays++;
	}
	return 0;
}

static int tcp_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	struct tcp *t = calloc(1, sizeof *t);
	const char *scope = zt_conf_str(conf, "scope");
	uint64_t after = zt_conf_duration_ms(conf, "after");
	int err;

	if (!t)
		return -ENOMEM;
	t->zi = zi;
	t->fd = -1;
	if ((err = tcp_relays(t, conf)) < 0)
		goto fail;
	if (strcmp(scope, "any") != 0 && strcmp(scope, "global") != 0) {
		zt_node_error(tcp_at(conf, "scope"), "must be any or global");
		err = -EINVAL;
		goto fail;
	}
	if (after < 1000) {
		zt_node_error(tcp_at(conf, "after"), "must be at least 1s");
		err = -EINVAL;
		goto fail;
	}
	t->global_only = strcmp(scope, "global") == 0;
	t->after_s = (double)after / 1000;
	t->force = zt_conf_bool(conf, "force");
	t->queue_max = zt_conf_uint(conf, "queue");
	sscanf(PACKAGE_VERSION, "%u.%u.%u", &t->vmajor, &t->vminor, &t->vrev);
	t->out = malloc(t->queue_max + TCPF_MAX_RECORD);
	t->in = malloc(TCP_READ_BUF + TCPF_MAX_RECORD);
	if (!t->out || !t->in || tcp_counters(t) < 0) {
		err = -ENOMEM;
		goto fail;
	}
	*state = t;
	return 0;
fail:
	tcp_destroy(t);
	return err;
}

static void tcp_stop(void *state)
{
	struct tcp *t = state;

	if (!t->started)
		return;
	tcp_close(t);
	ev_timer_stop(t->loop, &t->tick);
	ev_timer_stop(t->loop, &t->linger);
	ev_timer_stop(t->loop, &t->retry);
	t->engaged = false;
	*t->engaged_now = 0;
	t->started = false;
}

static int tcp_start(void *state, struct ev_loop *loop)
{
	struct tcp *t = state;

	if (t->started)
		return 0;
	t->loop = loop;
	t->started = true;
	t->started_at = ev_now(loop);
	t->naddrs = t->addr_i = 0;
	t->relay_i = t->nrelays - 1;   /* the first connect moves on to relay 0 */
	ev_io_init(&t->rd, tcp_readable, -1, EV_READ);
	ev_io_init(&t->wr, tcp_writable, -1, EV_WRITE);
	ev_timer_init(&t->retry, tcp_retry, 0., 0.);
	ev_timer_init(&t->timeout, tcp_connect_timeout, TCP_CONNECT_TIMEOUT, 0.);
	ev_timer_init(&t->tick, tcp_tick, 1., 1.);
	ev_timer_init(&t->linger, tcp_linger_end, 0., TCP_LINGER_S);
	t->rd.data = t->wr.data = t->retry.data = t->timeout.data = t->tick.data = t->linger.data = t;
	ev_timer_start(loop, &t->tick);
	zt_transport_fallback(t->zi);
	if (t->force) {
		zt_transport_force(t->zi);
		tcp_engage(t, true, "force");
	}
	return 0;
}

static const struct zt_transport_ops tcp_ops = {
	.send = tcp_send,
};

static const struct zt_opt tcp_opts[] = {
	ZT_OPT_ANY("relays", ZT_REQUIRED, "relays to connect to, \"host:port\", tried in turn"),
	ZT_OPT_BOOL("force", 0, "always use the relay, and no other transport: no UDP at all"),
	ZT_OPT_DURATION("after", "60s", "engage when nothing came over other transports for this long"),
	ZT_OPT_STR("scope", "any", "destinations sent through the relay: any, or global (IPv4 "
		   "global scope only, as 1.14)"),
	ZT_OPT_UINT("queue", 65536, 4096, 16777216, "bytes queued for the relay before dropping"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI,
	.name = "tcp",
	.kind = ZT_TRANSPORT,
	.summary = "datagrams through a TCP-443 relay, where UDP is blocked",
	.opts = tcp_opts,
	.create = tcp_create,
	.start = tcp_start,
	.stop = tcp_stop,
	.destroy = tcp_destroy,
	.ops.transport = &tcp_ops,
};
