/* udp: the UDP transport.  Binds one non-blocking socket per listen
 * address, reads with recvmmsg in batches and writes with sendmmsg.
 * See udp(7). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <ev.h>

#include <zt/module.h>

/* Largest datagram read: a whole ZeroTier packet and some slack; longer
 * datagrams are counted as truncated and dropped. */
#define UDP_BUFSZ 10100
/* Sockets one instance may bind. */
#define UDP_MAX_SOCKS 64
/* recvmmsg calls per wakeup before other watchers get their turn. */
#define UDP_ROUNDS 8
/* Longest text of an address, "[v6%scope]:port". */
#define UDP_ADDRSTRLEN (INET6_ADDRSTRLEN + 24)

struct udp;

struct udp_sock {
	struct udp *u;
	ev_io w;
	int fd;
	uint32_t index;           /* position in the listen list */
	union zt_sockaddr addr;   /* as configured, then as bound */
};

struct udp {
	struct zt_inst *zi;
	struct ev_loop *loop;
	unsigned batch;
	int rcvbuf, sndbuf;
	bool reuseport;
	bool started;
	unsigned nsocks;
	struct udp_sock *socks;

	/* Receive side, batch entries each, allocated in create. */
	uint8_t *rxbuf;
	struct mmsghdr *rxmsg;
	struct iovec *rxiov;
	struct zt_dgram *rxd;
	/* Send side, batch entries each. */
	struct mmsghdr *txmsg;
	struct iovec *txiov;

	uint64_t *rx_dgrams, *rx_bytes, *rx_truncated, *rx_errors;
	uint64_t *tx_dgrams, *tx_bytes, *tx_dropped, *tx_errors, *tx_unroutable;
};

static socklen_t udp_addrlen(const union zt_sockaddr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof a->in6 : sizeof a->in4;
}

static const char *udp_addr_str(const union zt_sockaddr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof host);
		if (a->in6.sin6_scope_id)
			snprintf(buf, len, "[%s%%%u]:%u", host, (unsigned)a->in6.sin6_scope_id,
				 ntohs(a->in6.sin6_port));
		else
			snprintf(buf, len, "[%s]:%u", host, ntohs(a->in6.sin6_port));
	} else if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof host);
		snprintf(buf, len, "%s:%u", host, ntohs(a->in4.sin_port));
	} else {
		snprintf(buf, len, "(family %d)", a->sa.sa_family);
	}
	return buf;
}

/* ---- receive ---- */

static void udp_rx_prepare(struct udp *u)
{
	unsigned i;

	for (i = 0; i < u->batch; i++) {
		struct msghdr *h = &u->rxmsg[i].msg_hdr;

		u->rxiov[i].iov_base = u->rxbuf + (size_t)i * UDP_BUFSZ;
		u->rxiov[i].iov_len = UDP_BUFSZ;
		h->msg_name = &u->rxd[i].peer;
		h->msg_namelen = sizeof u->rxd[i].peer;
		h->msg_iov = &u->rxiov[i];
		h->msg_iovlen = 1;
		h->msg_control = NULL;
		h->msg_controllen = 0;
		h->msg_flags = 0;
	}
}

static void udp_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct udp_sock *s = w->data;
	struct udp *u = s->u;
	unsigned round;

	for (round = 0; round < UDP_ROUNDS; round++) {
		unsigned i, n = 0;
		int r;

		udp_rx_prepare(u);
		r = recvmmsg(s->fd, u->rxmsg, u->batch, MSG_DONTWAIT, NULL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				(*u->rx_errors)++;
			return;
		}
		for (i = 0; i < (unsigned)r; i++) {
			struct msghdr *h = &u->rxmsg[i].msg_hdr;
			size_t len = u->rxmsg[i].msg_len;

			if (h->msg_flags & MSG_TRUNC) {
				(*u->rx_truncated)++;
				continue;
			}
			/* the same bytes for the same peer, whatever came before */
			if (u->rxd[i].peer.sa.sa_family == AF_INET)
				memset((char *)&u->rxd[i].peer + sizeof u->rxd[i].peer.in4, 0,
				       sizeof u->rxd[i].peer - sizeof u->rxd[i].peer.in4);
			if (n != i)
				u->rxd[n].peer = u->rxd[i].peer;
			u->rxd[n].local = s->index;
			u->rxd[n].data = u->rxiov[i].iov_base;
			u->rxd[n].len = len;
			*u->rx_bytes += len;
			n++;
		}
		*u->rx_dgrams += n;
		if (n)
			zt_transport_rx(u->zi, u->rxd, n);
		/* the receiver may have stopped us */
		if (s->fd < 0 || (unsigned)r < u->batch)
			return;
	}
}

/* ---- send ---- */

/* The socket for a datagram: the one named by local if it has the
 * destination's family, else the first socket of that family. */
static struct udp_sock *udp_route(struct udp *u, const struct zt_dgram *d)
{
	sa_family_t fam = d->peer.sa.sa_family;
	unsigned i;

	if (d->local < u->nsocks && u->socks[d->local].addr.sa.sa_family == fam)
		return &u->socks[d->local];
	for (i = 0; i < u->nsocks; i++)
		if (u->socks[i].addr.sa.sa_family == fam)
			return &u->socks[i];
	return NULL;
}

/* Hand msgs [0, cnt) to fd; returns how many the OS took.  A datagram the
 * OS refuses is counted and skipped so the rest still go out; when the
 * socket buffer is full the rest of the run is counted as dropped. */
static unsigned udp_flush(struct udp *u, int fd, unsigned cnt)
{
	unsigned off = 0, sent = 0;

	while (off < cnt) {
		int r = sendmmsg(fd, u->txmsg + off, cnt - off, MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			/* the socket buffer is full: the rest would not fit either */
			*u->tx_dropped += cnt - off;
			break;
		}
		if (r <= 0) {
			(*u->tx_errors)++;
			off++;
			continue;
		}
		for (int i = 0; i < r; i++)
			*u->tx_bytes += u->txiov[off + i].iov_len;
		off += r;
		sent += r;
	}
	*u->tx_dgrams += sent;
	return sent;
}

static int udp_send(void *state, const struct zt_dgram *d, unsigned n)
{
	struct udp *u = state;
	struct udp_sock *cur = NULL;
	unsigned i, cnt = 0, sent = 0;

	if (!u->started)
		return -ENOTCONN;
	for (i = 0; i < n; i++) {
		struct udp_sock *s = udp_route(u, &d[i]);
		struct msghdr *h;

		if (!s) {
			(*u->tx_unroutable)++;
			continue;
		}
		if (cnt && (s != cur || cnt == u->batch)) {
			sent += udp_flush(u, cur->fd, cnt);
			cnt = 0;
		}
		cur = s;
		u->txiov[cnt].iov_base = d[i].data;
		u->txiov[cnt].iov_len = d[i].len;
		h = &u->txmsg[cnt].msg_hdr;
		h->msg_name = (void *)&d[i].peer;
		h->msg_namelen = udp_addrlen(&d[i].peer);
		h->msg_iov = &u->txiov[cnt];
		h->msg_iovlen = 1;
		h->msg_control = NULL;
		h->msg_controllen = 0;
		h->msg_flags = 0;
		cnt++;
	}
	if (cnt)
		sent += udp_flush(u, cur->fd, cnt);
	return (int)sent;
}

static size_t udp_locals(void *state, union zt_sockaddr *out, size_t max)
{
	struct udp *u = state;
	size_t i;

	for (i = 0; i < u->nsocks && i < max; i++)
		out[i] = u->socks[i].addr;
	return u->nsocks;
}

/* ---- lifecycle ---- */

/* The node of key for an error message, or the instance's own. */
static const struct zt_node *udp_at(const struct zt_node *conf, const char *key)
{
	const struct zt_node *n = zt_node_get(conf, key);

	return n ? n : conf;
}

static void udp_destroy(void *state)
{
	struct udp *u = state;

	if (!u)
		return;
	free(u->socks);
	free(u->rxbuf);
	free(u->rxmsg);
	free(u->rxiov);
	free(u->rxd);
	free(u->txmsg);
	free(u->txiov);
	free(u);
}

static int udp_counters(struct udp *u)
{
	static const struct zt_counter_field fields[] = {
		ZT_COUNTER_FIELD(struct udp, rx_dgrams),
		ZT_COUNTER_FIELD(struct udp, rx_bytes),
		ZT_COUNTER_FIELD(struct udp, rx_truncated),
		ZT_COUNTER_FIELD(struct udp, rx_errors),
		ZT_COUNTER_FIELD(struct udp, tx_dgrams),
		ZT_COUNTER_FIELD(struct udp, tx_bytes),
		ZT_COUNTER_FIELD(struct udp, tx_dropped),
		ZT_COUNTER_FIELD(struct udp, tx_errors),
		ZT_COUNTER_FIELD(struct udp, tx_unroutable),
	};

	return zt_counters_bind(u->zi, u, fields, sizeof fields / sizeof fields[0]);
}

static int udp_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	union zt_sockaddr addrs[UDP_MAX_SOCKS];
	struct udp *u;
	size_t n, i;
	uint64_t batch, rcvbuf, sndbuf;
	int err = -ENOMEM;

	n = zt_conf_addrs(conf, "listen", addrs, UDP_MAX_SOCKS);
	if (n == 0) {
		zt_node_error(udp_at(conf, "listen"), "needs at least one address");
		return -EINVAL;
	}
	if (n > UDP_MAX_SOCKS) {
		zt_node_error(udp_at(conf, "listen"), "at most %u addresses", UDP_MAX_SOCKS);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		sa_family_t fam = addrs[i].sa.sa_family;

		if (fam != AF_INET && fam != AF_INET6) {
			zt_node_error(udp_at(conf, "listen"), "address %zu is not IPv4 or IPv6", i + 1);
			return -EINVAL;
		}
	}
	batch = zt_conf_uint(conf, "batch");
	if (batch < 1 || batch > 1024) {
		zt_node_error(udp_at(conf, "batch"), "must be between 1 and 1024");
		return -EINVAL;
	}
	rcvbuf = zt_conf_uint(conf, "rcvbuf");
	sndbuf = zt_conf_uint(conf, "sndbuf");
	if (rcvbuf > 1u << 30) {
		zt_node_error(udp_at(conf, "rcvbuf"), "must be at most %u", 1u << 30);
		return -EINVAL;
	}
	if (sndbuf > 1u << 30) {
		zt_node_error(udp_at(conf, "sndbuf"), "must be at most %u", 1u << 30);
		return -EINVAL;
	}

	u = calloc(1, sizeof *u);
	if (!u)
		return -ENOMEM;
	u->zi = zi;
	u->batch = (unsigned)batch;
	u->rcvbuf = (int)rcvbuf;
	u->sndbuf = (int)sndbuf;
	u->reuseport = zt_conf_bool(conf, "reuseport");
	u->nsocks = (unsigned)n;
	u->socks = calloc(n, sizeof *u->socks);
	u->rxbuf = malloc((size_t)u->batch * UDP_BUFSZ);
	u->rxmsg = calloc(u->batch, sizeof *u->rxmsg);
	u->rxiov = calloc(u->batch, sizeof *u->rxiov);
	u->rxd = calloc(u->batch, sizeof *u->rxd);
	u->txmsg = calloc(u->batch, sizeof *u->txmsg);
	u->txiov = calloc(u->batch, sizeof *u->txiov);
	if (!u->socks || !u->rxbuf || !u->rxmsg || !u->rxiov || !u->rxd ||
	    !u->txmsg || !u->txiov)
		goto fail;
	for (i = 0; i < n; i++) {
		u->socks[i].u = u;
		u->socks[i].fd = -1;
		u->socks[i].index = (uint32_t)i;
		u->socks[i].addr = addrs[i];
	}
	err = udp_counters(u);
	if (err < 0)
		goto fail;
	*state = u;
	return 0;
fail:
	udp_destroy(u);
	return err;
}

static void udp_stop(void *state)
{
	struct udp *u = state;
	unsigned i;

	for (i = 0; i < u->nsocks; i++) {
		struct udp_sock *s = &u->socks[i];

		if (s->fd < 0)
			continue;
		ev_io_stop(u->loop, &s->w);
		close(s->fd);
		s->fd = -1;
	}
	u->started = false;
}

/* Socket buffer sizes: the forced variant works past the sysctl limits
 * when we have CAP_NET_ADMIN; otherwise the plain one, capped by them. */
static void udp_set_buf(struct udp *u, int fd, int force, int plain, int bytes)
{
	if (bytes == 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof bytes) == 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, plain, &bytes, sizeof bytes) < 0)
		zt_log(u->zi, ZT_LOG_WARN, "socket buffer of %d bytes: %s", bytes, strerror(errno));
}

static int udp_open(struct udp *u, struct udp_sock *s)
{
	char as[UDP_ADDRSTRLEN];
	int fam = s->addr.sa.sa_family, one = 1, fd, err;
	union zt_sockaddr bound;
	socklen_t blen = sizeof bound;

	fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0) {
		err = -errno;
		zt_log(u->zi, ZT_LOG_ERR, "socket %s: %s",
		       udp_addr_str(&s->addr, as, sizeof as), strerror(errno));
		return err;
	}
	if (fam == AF_INET6) {
		/* So that 0.0.0.0 and [::] can be bound side by side. */
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
			goto sockopt_fail;
#ifdef IPV6_MTU_DISCOVER
		{
			int pmtu = IPV6_PMTUDISC_DONT;
			setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
		}
#endif
	} else {
#ifdef IP_MTU_DISCOVER
		/* The protocol fragments on its own; let the IP layer
		 * fragment oversized datagrams instead of refusing them. */
		int pmtu = IP_PMTUDISC_DONT;
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
#endif
	}
	if (u->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
		goto sockopt_fail;
	udp_set_buf(u, fd, SO_RCVBUFFORCE, SO_RCVBUF, u->rcvbuf);
	udp_set_buf(u, fd, SO_SNDBUFFORCE, SO_SNDBUF, u->sndbuf);
	if (bind(fd, &s->addr.sa, udp_addrlen(&s->addr)) < 0) {
		err = -errno;
		zt_log(u->zi, ZT_LOG_ERR, "bind %s: %s",
		       udp_addr_str(&s->addr, as, sizeof as), strerror(errno));
		close(fd);
		return err;
	}
	memset(&bound, 0, sizeof bound);
	if (getsockname(fd, &bound.sa, &blen) < 0) {
		err = -errno;
		zt_log(u->zi, ZT_LOG_ERR, "getsockname %s: %s",
		       udp_addr_str(&s->addr, as, sizeof as), strerror(errno));
		close(fd);
		return err;
	}
	s->addr = bound;
	s->fd = fd;
	ev_io_init(&s->w, udp_readable, fd, EV_READ);
	s->w.data = s;
	ev_io_start(u->loop, &s->w);
	zt_log(u->zi, ZT_LOG_DEBUG, "listening on %s", udp_addr_str(&s->addr, as, sizeof as));
	return 0;

sockopt_fail:
	err = -errno;
	zt_log(u->zi, ZT_LOG_ERR, "setsockopt %s: %s",
	       udp_addr_str(&s->addr, as, sizeof as), strerror(errno));
	close(fd);
	return err;
}

static int udp_start(void *state, struct ev_loop *loop)
{
	struct udp *u = state;
	unsigned i;
	int err;

	if (u->started)
		return 0;
	u->loop = loop;
	for (i = 0; i < u->nsocks; i++) {
		err = udp_open(u, &u->socks[i]);
		if (err < 0) {
			udp_stop(u);
			return err;
		}
	}
	u->started = true;
	return 0;
}

static const struct zt_transport_ops udp_ops = {
	.send = udp_send,
	.locals = udp_locals,
};

static const struct zt_opt udp_opts[] = {
	ZT_OPT_ADDRS("listen", 0, "['0.0.0.0:9993', '[::]:9993']",
		     "addresses to bind, port 0 for an ephemeral port"),
	ZT_OPT_UINT("batch", 32, 1, 1024, "datagrams read or written per system call"),
	ZT_OPT_UINT("rcvbuf", 4194304, 0, 1073741824, "socket receive buffer in bytes, 0 for the system default"),
	ZT_OPT_UINT("sndbuf", 4194304, 0, 1073741824, "socket send buffer in bytes, 0 for the system default"),
	ZT_OPT_BOOL("reuseport", 0, "set SO_REUSEPORT so several sockets share a port"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI,
	.name = "udp",
	.kind = ZT_TRANSPORT,
	.summary = "datagrams over UDP, IPv4 and IPv6",
	.opts = udp_opts,
	.create = udp_create,
	.start = udp_start,
	.stop = udp_stop,
	.destroy = udp_destroy,
	.ops.transport = &udp_ops,
};
