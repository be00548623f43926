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

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#include <ev.h>

#include <zt/module.h>

#include "../../transports/tcp/tcpframe.h"

#define RELAY_MAX_LISTEN 8
/* What the reference relay forwards: destination ports above 1024,
 * datagrams of at least 16 bytes, 128 KiB queued towards a client. */
#define RELAY_MIN_PORT 1025
#define RELAY_MIN_DGRAM 16
#define RELAY_OUT_BUF (128 * 1024)
/* Bytes read from a client's stream per wakeup, into a buffer the relay
 * shares between its clients; the end of a record cut there waits in
 * the client's own buffer of one record. */
#define RELAY_READ_BUF (256 * 1024)
/* Datagrams go out with one sendmmsg per client read: up to this many
 * messages and datagrams, a run of equal-size ones to the same address
 * as one message the kernel segments (UDP_SEGMENT: at most 64 and
 * 65000 bytes, as the udp transport). */
#define RELAY_TX_MSGS 64
#define RELAY_TX_DGRAMS 256
#define RELAY_GSO_SEGS 64
#define RELAY_GSO_BYTES 65000
/* Datagrams read from a client's socket with one recvmmsg (fewer when
 * its queue has no room for that many), and reads per wakeup. */
#define RELAY_RX_SLOTS 32
#define RELAY_RX_ROUNDS 4
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

/* The datagrams of one client read, waiting for one sendmmsg. */
struct relay_tx {
	struct relay_client *owner;  /* whose socket they go out of */
	unsigned nmsg, niov;
	size_t seg, bytes;           /* the last message's segment size and bytes */
	bool more;                   /* the last message can take another datagram */
	struct mmsghdr msg[RELAY_TX_MSGS];
	union zt_sockaddr to[RELAY_TX_MSGS];
	union zt_gso_ctl ctl[RELAY_TX_MSGS];
	struct iovec iov[RELAY_TX_DGRAMS];
};

/* Receive slots for one recvmmsg on a client's socket. */
struct relay_rx {
	struct mmsghdr msg[RELAY_RX_SLOTS];
	struct iovec iov[RELAY_RX_SLOTS];
	union zt_sockaddr from[RELAY_RX_SLOTS];
	uint8_t buf[RELAY_RX_SLOTS][TCPF_MAX_DGRAM + 1];
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
	bool gso;                   /* UDP_SEGMENT works here */
	struct relay_tx tx;
	struct relay_rx rx;
	uint8_t read_buf[TCPF_MAX_RECORD + RELAY_READ_BUF];

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

/* ---- sending the clients' datagrams ---- */

static bool relay_same_addr(const union zt_sockaddr *a, const union zt_sockaddr *b)
{
	return memcmp(a, b, relay_addrlen(a)) == 0;
}

/* Errors that say the kernel or the socket cannot segment at all (a
 * route whose MTU is below the segment size gives EMSGSIZE: that run
 * goes one by one and the next tries again). */
static bool relay_gso_refused(int err)
{
	return err == EINVAL || err == ENOPROTOOPT || err == EOPNOTSUPP || err == EIO;
}

/* The datagrams of message h one by one; false if the socket is full. */
static bool relay_send_each(struct relay_client *c, const struct msghdr *h)
{
	struct relay *r = c->r;

	for (size_t i = 0; i < h->msg_iovlen; i++) {
		struct msghdr one = {
			.msg_name = h->msg_name, .msg_namelen = h->msg_namelen,
			.msg_iov = &h->msg_iov[i], .msg_iovlen = 1,
		};
		ssize_t w;

		do
			w = sendmsg(c->ufd, &one, MSG_DONTWAIT);
		while (w < 0 && errno == EINTR);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			*r->drop_udp_full += h->msg_iovlen - i;
			return false;
		}
		if (w < 0) {
			(*r->drop_udp_error)++;
			continue;
		}
		(*r->udp_tx_dgrams)++;
		*r->udp_tx_bytes += h->msg_iov[i].iov_len;
	}
	return true;
}

/* Send what the batch holds from its owner's socket, one sendmmsg (more
 * if the kernel takes part of it); drops are counted, not fatal. */
static void relay_tx_flush(struct relay *r)
{
	struct relay_tx *b = &r->tx;
	struct relay_client *c = b->owner;
	unsigned off = 0;

	while (off < b->nmsg) {
		int n = sendmmsg(c->ufd, b->msg + off, b->nmsg - off, MSG_DONTWAIT);
		int err = n < 0 ? errno : EIO;
		struct msghdr *h = &b->msg[off].msg_hdr;

		if (n < 0 && err == EINTR)
			continue;
		if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS))
			break;
		if (n <= 0 && h->msg_controllen) {
			if (r->gso && relay_gso_refused(err)) {
				r->gso = false;
				zt_log(r->zi, ZT_LOG_INFO, "UDP segmentation offload: %s, sending "
				       "datagrams one by one", strerror(err));
			}
			off++;
			if (!relay_send_each(c, h))
				break;   /* full: the rest is counted below */
			continue;
		}
		if (n <= 0) {
			*r->drop_udp_error += h->msg_iovlen;
			off++;
			continue;
		}
		for (int i = 0; i < n; i++, off++) {
			h = &b->msg[off].msg_hdr;
			*r->udp_tx_dgrams += h->msg_iovlen;
			for (size_t j = 0; j < h->msg_iovlen; j++)
				*r->udp_tx_bytes += h->msg_iov[j].iov_len;
		}
	}
	for (; off < b->nmsg; off++)
		*r->drop_udp_full += b->msg[off].msg_hdr.msg_iovlen;
	b->nmsg = b->niov = 0;
	b->more = false;
	b->owner = NULL;
}

/* Add a datagram of c's to the batch: to the last message if it goes to
 * the same address and continues its run of equal sizes, else as a new
 * message.  data must stay put until the batch is flushed. */
static void relay_tx_add(struct relay_client *c, const union zt_sockaddr *to, const uint8_t *data, size_t len)
{
	struct relay *r = c->r;
	struct relay_tx *b = &r->tx;
	struct msghdr *h = b->nmsg ? &b->msg[b->nmsg - 1].msg_hdr : NULL;

	if (b->owner && (b->owner != c || b->niov == RELAY_TX_DGRAMS))
		relay_tx_flush(r);
	if (b->nmsg && b->more && len <= b->seg && b->bytes + len <= RELAY_GSO_BYTES &&
	    h->msg_iovlen < RELAY_GSO_SEGS && relay_same_addr(&b->to[b->nmsg - 1], to)) {
		b->iov[b->niov].iov_base = (void *)data;
		b->iov[b->niov++].iov_len = len;
		if (++h->msg_iovlen == 2)
			zt_gso_ctl_set(h, &b->ctl[b->nmsg - 1], b->seg);
		b->bytes += len;
		b->more = len == b->seg;
		return;
	}
	if (b->nmsg == RELAY_TX_MSGS)
		relay_tx_flush(r);
	b->owner = c;
	b->to[b->nmsg] = *to;
	b->iov[b->niov].iov_base = (void *)data;
	b->iov[b->niov].iov_len = len;
	h = &b->msg[b->nmsg].msg_hdr;
	memset(h, 0, sizeof *h);
	h->msg_name = &b->to[b->nmsg];
	h->msg_namelen = relay_addrlen(to);
	h->msg_iov = &b->iov[b->niov++];
	h->msg_iovlen = 1;
	b->nmsg++;
	b->seg = b->bytes = len;
	b->more = r->gso;
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
	if (r->tx.owner == c)
		relay_tx_flush(r);   /* what it sent before the bad record goes out */
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

/* How many datagrams to read for c now: as many as its queue has room
 * for after writing what it holds, at least one (which closes a client
 * too slow to make room: the reference's rule); 0 if it was closed. */
static unsigned relay_rx_slots(struct relay_client *c)
{
	size_t room;

	if (c->out_len && !relay_flush(c))
		return 0;
	room = (RELAY_OUT_BUF - c->out_len) / TCPF_MAX_RECORD;
	return room < 1 ? 1 : room > RELAY_RX_SLOTS ? RELAY_RX_SLOTS : (unsigned)room;
}

/* Datagrams for c, read with recvmmsg a batch at a time, each queued as
 * a record; the queue is written once per batch. */
static void relay_udp_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay_client *c = w->data;
	struct relay *r = c->r;
	struct relay_rx *rx = &r->rx;

	for (unsigned round = 0; round < RELAY_RX_ROUNDS; round++) {
		unsigned slots = relay_rx_slots(c);
		int got;

		if (!slots)
			return;
		for (unsigned i = 0; i < slots; i++) {
			rx->iov[i].iov_base = rx->buf[i];
			rx->iov[i].iov_len = sizeof rx->buf[i];
			rx->msg[i].msg_hdr = (struct msghdr){
				.msg_name = &rx->from[i], .msg_namelen = sizeof rx->from[i],
				.msg_iov = &rx->iov[i], .msg_iovlen = 1,
			};
		}
		got = recvmmsg(c->ufd, rx->msg, slots, MSG_DONTWAIT, NULL);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				(*r->drop_udp_error)++;
			break;
		}
		for (int i = 0; i < got; i++) {
			size_t n = rx->msg[i].msg_len;

			if (n < RELAY_MIN_DGRAM || n > TCPF_MAX_DGRAM ||
			    (rx->msg[i].msg_hdr.msg_flags & MSG_TRUNC)) {
				(*r->drop_udp_size)++;
				continue;
			}
			relay_unmap(&rx->from[i]);
			(*r->udp_rx_dgrams)++;
			*r->udp_rx_bytes += n;
			if (!relay_queue(c, &rx->from[i], rx->buf[i], n))
				return;
		}
		if ((unsigned)got < slots)
			break;
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
	if (r->gso && setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) < 0) {
		r->gso = false;   /* the kernel (before 4.18) has none */
		zt_log(r->zi, ZT_LOG_INFO, "no UDP segmentation offload: %s", strerror(errno));
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

/* One datagram for the client into the batch; drops are counted. */
static void relay_send_udp(struct relay_client *c, const union zt_sockaddr *to, const uint8_t *data, size_t len)
{
	struct relay *r = c->r;
	union zt_sockaddr mapped;

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
		to = &mapped;
	}
	relay_tx_add(c, to, data, len);
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

/* Read a large chunk of the stream into the shared buffer, behind the
 * end of a record left from the last read, and forward every whole
 * record in it: the datagrams go out in one batch.  What is left, less
 * than a record, waits in the client's buffer. */
static void relay_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay_client *c = w->data;
	struct relay *r = c->r;
	uint8_t *buf = r->read_buf;
	size_t off = 0, len = c->in_len;
	ssize_t n;

	memcpy(buf, c->in, len);
	n = recv(c->fd, buf + len, RELAY_READ_BUF, MSG_DONTWAIT);
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
	len += (size_t)n;
	c->last_active = ev_now(loop);
	for (;;) {
		const uint8_t *body;
		size_t blen;
		int rec;

		if (len - off >= 3 && !tcpf_head_ok(buf + off)) {
			relay_close(c, r->closed_garbage, "not a record (%02x %02x %02x)",
				    buf[off], buf[off + 1], buf[off + 2]);
			return;
		}
		rec = tcpf_record(buf + off, len - off, TCPF_MAX_BODY, &body, &blen);
		if (rec == -EMSGSIZE) {
			relay_close(c, r->closed_oversize, "record of %u bytes over the limit of %u",
				    (unsigned)buf[off + 3] << 8 | buf[off + 4], TCPF_MAX_BODY);
			return;
		}
		if (rec == 0)
			break;
		if (!relay_record(c, body, blen))
			return;
		off += (size_t)rec;
	}
	if (r->tx.owner)
		relay_tx_flush(r);
	/* an incomplete record is shorter than a whole one: it fits */
	memcpy(c->in, buf + off, len - off);
	c->in_len = len - off;
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
	r->gso = true;
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
