/* udp: the UDP transport.  Binds one non-blocking socket per listen
 * address, reads with recvmmsg in batches and writes with sendmmsg.
 * Runs of equal-size datagrams to one address go out as one message
 * with UDP_SEGMENT (GSO), and runs the kernel coalesced on receive
 * (UDP_GRO) are cut back into datagrams in place.  With pace, each
 * destination gets a token bucket and what exceeds it waits for a timer,
 * so that a slower receiver is not flooded.  A queue, for a
 * data-path worker, is the same state with sockets of its own bound to
 * the instance's addresses with SO_REUSEPORT.  See zt-udp(7). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include <ev.h>

#include <zt/dptrace.h>
#include <zt/inetaddr.h>
#include <zt/module.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* Largest datagram accepted: a whole ZeroTier packet and some slack;
 * longer datagrams are counted as truncated and dropped. */
#define UDP_BUFSZ 10100
/* With gro, a read takes at most this many messages, each a datagram or
 * a run the kernel coalesced, into buffers of this size (the largest
 * UDP message): 512 KiB per instance. */
#define UDP_GRO_SLOTS 8
#define UDP_GRO_BUFSZ 65536
/* With gso, one message carries at most this many datagrams (the
 * kernel's UDP_MAX_SEGMENTS, 64 in most versions) and this many bytes
 * (under the 65507 an IPv4 UDP message can hold). */
#define UDP_GSO_SEGS 64
#define UDP_GSO_BYTES 65000
/* Sockets one instance may bind. */
#define UDP_MAX_SOCKS 64
/* Datagrams read per wakeup, in batches, before other watchers get
 * their turn. */
#define UDP_ROUNDS 8
/* Pacing: destinations tracked at once (past that, the least recently
 * filled idle one is forgotten; with all of them waiting, datagrams to a
 * new one go unpaced), the largest datagram that can wait (the node's
 * fragments are at most 1432 bytes), and the bucket's floor in seconds
 * at pace: the loop's timers fire about once a millisecond at best. */
#define UDP_PACE_PEERS 64
#define UDP_PACE_SLOT 1500
#define UDP_PACE_MIN_S 0.002
/* A destination waiting for tokens is woken when it has this many (or
 * half its bucket, if less): runs of a dozen datagrams rather than one
 * datagram per timer, which a busy-polling loop would fire every few
 * microseconds. */
#define UDP_PACE_QUANTUM 16384
#define UDP_PACE_NIL UINT32_MAX

/* Extra sockets (extra_open: the node's symmetric-NAT probing, zt-nat(7)):
 * at most UDP_EXTRA_MAX at once, local indexes from UDP_EXTRA_BASE, far
 * above any listen list. */
#define UDP_EXTRA_MAX 512
#define UDP_EXTRA_BASE ZT_TRANSPORT_EXTRA_BASE

struct udp;

struct udp_sock {
	struct udp *u;
	ev_io w;
	int fd;
	uint32_t index;           /* position in the listen list, or UDP_EXTRA_BASE + slot */
	bool gso, gro;            /* in use on this socket */
	union zt_sockaddr addr;   /* as configured, then as bound */
};

/* Control buffers, aligned for struct cmsghdr. */
union udp_ctl_rx {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

/* The options; a queue has a copy of its instance's. */
struct udp_conf {
	unsigned batch;
	int rcvbuf, sndbuf;
	bool reuseport;           /* configured, or the instance has queues */
	bool gso, gro;
	uint64_t pace;            /* bits per second per destination, 0: off */
	uint64_t pace_burst;      /* bytes */
	unsigned pace_queue;      /* datagrams that may wait */
	long secondary;           /* UDP_SECONDARY_*, or a port */
};

/* secondary-port: a second socket for each listen address with a port
 * (wire.md §7.8 point 2), on a port derived from the node's address as
 * ZeroTier One 1.2 to 1.4 did (auto; stable across restarts, so the
 * paths peers remember stay good), a random one as 1.14 does, or a
 * given one. */
#define UDP_SECONDARY_OFF 0
#define UDP_SECONDARY_AUTO (-1)
#define UDP_SECONDARY_RANDOM (-2)
#define UDP_SECONDARY_MIN 20000
#define UDP_SECONDARY_SPAN 45500

/* A datagram waiting for its destination's tokens. */
struct udp_pace_slot {
	uint32_t next;            /* the next of the same destination, or a free one */
	uint32_t local;
	size_t len;
	uint8_t data[UDP_PACE_SLOT];
};

/* A destination's token bucket and the FIFO of its waiting datagrams. */
struct udp_pace_peer {
	union zt_sockaddr addr;
	double tokens;            /* bytes; below 0 by at most one datagram */
	ev_tstamp filled;         /* when tokens was last brought up to date */
	uint32_t head, tail, queued;
	bool used;
};

struct udp_pacer {
	double rate, burst;       /* bytes per second, bytes */
	double quantum;           /* bytes a waiting destination is woken with */
	struct udp_pace_peer peers[UDP_PACE_PEERS];
	unsigned last;            /* the peer found last */
	struct udp_pace_slot *slots;
	uint32_t free;            /* free list through next */
	ev_timer timer;
};

/* An instance, or a queue of one: nothing of it is shared, so that each
 * can run on a thread of its own. */
struct udp {
	struct zt_inst *zi;
	struct ev_loop *loop;
	struct udp_conf conf;
	const struct udp *instance;   /* a queue's; NULL on the instance */
	bool started;
	unsigned nsocks;
	unsigned nprimary;        /* the listen addresses; the secondary ones follow */
	struct udp_sock *socks;
	struct udp_sock *extra;   /* UDP_EXTRA_MAX, allocated by the first extra_open */
	unsigned n_extra;         /* open now */

	/* Receive side, allocated in create: nslots buffers of slotsz bytes
	 * (batch of UDP_BUFSZ, or with gro fewer of UDP_GRO_BUFSZ), and
	 * batch datagrams handed up at a time. */
	unsigned nslots;
	size_t slotsz;
	uint8_t *rxbuf;
	struct mmsghdr *rxmsg;
	struct iovec *rxiov;
	union zt_sockaddr *rxpeer;
	union udp_ctl_rx *rxctl;  /* with gro only */
	struct zt_dgram *rxd;
	/* Send side: batch messages, each with a control buffer, and room
	 * for batch datagrams plus a run that starts at the last of them. */
	struct mmsghdr *txmsg;
	union zt_gso_ctl *txctl;
	struct iovec *txiov;
	struct udp_pacer *pacer;  /* with pace only */

	uint64_t *rx_dgrams, *rx_bytes, *rx_truncated, *rx_errors;
	uint64_t *tx_dgrams, *tx_bytes, *tx_dropped, *tx_errors, *tx_unroutable;
	uint64_t *gso_sends, *gso_segments, *gso_refused, *gro_recvs, *gro_segments;
	uint64_t *pace_delayed, *pace_dropped;
};

static socklen_t udp_addrlen(const union zt_sockaddr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof a->in6 : sizeof a->in4;
}

/* ---- receive ---- */

static void udp_rx_prepare(struct udp *u)
{
	unsigned i;

	for (i = 0; i < u->nslots; i++) {
		struct msghdr *h = &u->rxmsg[i].msg_hdr;

		u->rxiov[i].iov_base = u->rxbuf + (size_t)i * u->slotsz;
		u->rxiov[i].iov_len = u->slotsz;
		h->msg_name = &u->rxpeer[i];
		h->msg_namelen = sizeof u->rxpeer[i];
		h->msg_iov = &u->rxiov[i];
		h->msg_iovlen = 1;
		h->msg_control = u->rxctl ? u->rxctl[i].buf : NULL;
		h->msg_controllen = u->rxctl ? sizeof u->rxctl[i].buf : 0;
		h->msg_flags = 0;
	}
}

/* The segment size of a message the kernel coalesced, else 0. */
static size_t udp_gro_size(struct msghdr *h)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int v;

			memcpy(&v, CMSG_DATA(c), sizeof v);
			return v > 0 ? (size_t)v : 0;
		}
	}
	return 0;
}

/* Hand the n datagrams in rxd up; false if the receiver stopped us. */
static bool udp_rx_deliver(struct udp *u, struct udp_sock *s, unsigned n)
{
	*u->rx_dgrams += n;
	zt_transport_rx(u->zi, u->rxd, n);
	return s->fd >= 0;
}

static void udp_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct udp_sock *s = w->data;
	struct udp *u = s->u;
	unsigned budget = UDP_ROUNDS * u->conf.batch;

	while (budget) {
		unsigned i, n = 0, got = 0;
		int r;

		udp_rx_prepare(u);
		r = recvmmsg(s->fd, u->rxmsg, u->nslots, MSG_DONTWAIT, NULL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				(*u->rx_errors)++;
			return;
		}
		ZT_TRACE("recvmsg", r ? u->rxmsg[0].msg_len : 0);
		for (i = 0; i < (unsigned)r; i++) {
			struct msghdr *h = &u->rxmsg[i].msg_hdr;
			union zt_sockaddr *peer = &u->rxpeer[i];
			uint8_t *p = u->rxiov[i].iov_base;
			size_t len = u->rxmsg[i].msg_len, seg = udp_gro_size(h), off = 0;
			bool run = seg != 0;

			if (run) {
				/* a run: whole segments only if the end was cut */
				(*u->gro_recvs)++;
				if (h->msg_flags & MSG_TRUNC) {
					(*u->rx_truncated)++;
					len -= len % seg;
					if (!len)
						continue;
				}
				if (seg > UDP_BUFSZ) {
					*u->rx_truncated += (len + seg - 1) / seg;
					continue;
				}
			} else if ((h->msg_flags & MSG_TRUNC) || len > UDP_BUFSZ) {
				(*u->rx_truncated)++;
				continue;
			} else {
				seg = len;
			}
			/* the same bytes for the same peer, whatever came before */
			if (peer->sa.sa_family == AF_INET)
				memset((char *)peer + sizeof peer->in4, 0,
				       sizeof *peer - sizeof peer->in4);
			do {
				size_t l = len - off < seg ? len - off : seg;

				u->rxd[n].peer = *peer;
				u->rxd[n].local = s->index;
				u->rxd[n].data = p + off;
				u->rxd[n].len = l;
				*u->rx_bytes += l;
				off += l;
				got++;
				*u->gro_segments += run;
				if (++n == u->conf.batch) {
					if (!udp_rx_deliver(u, s, n))
						return;
					n = 0;
				}
			} while (off < len);
		}
		if (n && !udp_rx_deliver(u, s, n))
			return;
		if ((unsigned)r < u->nslots)
			return;
		got = got > (unsigned)r ? got : (unsigned)r;
		budget -= got < budget ? got : budget;
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
	if (d->local >= UDP_EXTRA_BASE && d->local - UDP_EXTRA_BASE < UDP_EXTRA_MAX && u->extra) {
		struct udp_sock *x = &u->extra[d->local - UDP_EXTRA_BASE];

		if (x->fd >= 0 && x->addr.sa.sa_family == fam)
			return x;
	}
	for (i = 0; i < u->nsocks; i++)
		if (u->socks[i].addr.sa.sa_family == fam)
			return &u->socks[i];
	return NULL;
}

static bool udp_same_peer(const union zt_sockaddr *a, const union zt_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return a->in6.sin6_port == b->in6.sin6_port &&
	       a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
	       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof a->in6.sin6_addr) == 0;
}

static size_t udp_msg_bytes(const struct msghdr *h)
{
	size_t i, bytes = 0;

	for (i = 0; i < h->msg_iovlen; i++)
		bytes += h->msg_iov[i].iov_len;
	return bytes;
}

/* Errors that say the kernel or the socket cannot segment at all.  A
 * route whose MTU is below the segment size gives EMSGSIZE (that run
 * goes one by one, the next tries again), but EINVAL on older kernels:
 * then the socket stops trying. */
static bool udp_gso_refused(int err)
{
	return err == EINVAL || err == ENOPROTOOPT || err == EOPNOTSUPP || err == EIO;
}

/* Send the datagrams of message h one by one (after UDP_SEGMENT failed):
 * returns how many the OS took; *full says the socket buffer is full. */
static unsigned udp_send_each(struct udp *u, struct udp_sock *s, const struct msghdr *h, bool *full)
{
	unsigned i, sent = 0;

	*full = false;
	for (i = 0; i < h->msg_iovlen; i++) {
		struct msghdr one = {
			.msg_name = h->msg_name, .msg_namelen = h->msg_namelen,
			.msg_iov = &h->msg_iov[i], .msg_iovlen = 1,
		};
		ssize_t r;

		do
			r = sendmsg(s->fd, &one, MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			*u->tx_dropped += h->msg_iovlen - i;
			*full = true;
			break;
		}
		if (r < 0) {
			(*u->tx_errors)++;
			continue;
		}
		*u->tx_bytes += h->msg_iov[i].iov_len;
		sent++;
	}
	return sent;
}

/* Hand messages [0, cnt) to s; returns how many datagrams the OS took.
 * A message the OS refuses is counted and skipped so the rest still go
 * out; when the socket buffer is full the rest of the run is counted as
 * dropped.  A run the kernel refuses to segment goes datagram by
 * datagram, and if the kernel or the socket cannot segment at all, the
 * socket stops trying. */
static unsigned udp_flush(struct udp *u, struct udp_sock *s, unsigned cnt)
{
	char as[ZT_SOCKADDR_STRLEN];
	unsigned off = 0, sent = 0;

	while (off < cnt) {
		int r, err;
		struct msghdr *h = &u->txmsg[off].msg_hdr;

		ZT_TRACE("sendmsg", udp_msg_bytes(h));
		r = sendmmsg(s->fd, u->txmsg + off, cnt - off, MSG_DONTWAIT);
		err = r < 0 ? errno : EIO;

		if (r < 0 && err == EINTR)
			continue;
		if (r < 0 && (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS)) {
			/* the socket buffer is full: the rest would not fit either */
			for (; off < cnt; off++)
				*u->tx_dropped += u->txmsg[off].msg_hdr.msg_iovlen;
			break;
		}
		if (r <= 0 && h->msg_controllen) {
			bool full;

			(*u->gso_refused)++;
			if (s->gso && udp_gso_refused(err)) {
				s->gso = false;
				zt_log(u->zi, ZT_LOG_INFO, "%s: UDP segmentation offload: %s, "
				       "sending datagrams one by one",
				       zt_sockaddr_fmt(&s->addr, as, sizeof as), strerror(err));
			}
			sent += udp_send_each(u, s, h, &full);
			off++;
			if (!full)
				continue;
			for (; off < cnt; off++)
				*u->tx_dropped += u->txmsg[off].msg_hdr.msg_iovlen;
			break;
		}
		if (r <= 0) {
			*u->tx_errors += h->msg_iovlen;
			off++;
			continue;
		}
		ZT_TRACE_END("sent", udp_msg_bytes(h));
		for (int i = 0; i < r; i++, off++) {
			h = &u->txmsg[off].msg_hdr;
			*u->tx_bytes += udp_msg_bytes(h);
			sent += (unsigned)h->msg_iovlen;
			if (h->msg_iovlen > 1) {
				(*u->gso_sends)++;
				*u->gso_segments += h->msg_iovlen;
			}
		}
	}
	*u->tx_dgrams += sent;
	return sent;
}

/* ---- pacing ---- */

/* The bucket of a destination, made (full) if new; NULL if every one
 * tracked has datagrams waiting. */
static struct udp_pace_peer *udp_pace_peer(struct udp_pacer *p, const union zt_sockaddr *to, ev_tstamp now)
{
	struct udp_pace_peer *e = &p->peers[p->last], *idle = NULL;
	unsigned i;

	if (e->used && udp_same_peer(&e->addr, to))
		return e;
	for (i = 0; i < UDP_PACE_PEERS; i++) {
		e = &p->peers[i];
		if (e->used && udp_same_peer(&e->addr, to)) {
			p->last = i;
			return e;
		}
		if (!e->used || (!e->queued && (!idle || (idle->used && e->filled < idle->filled))))
			idle = e;
	}
	if (!idle)
		return NULL;
	*idle = (struct udp_pace_peer){
		.addr = *to, .tokens = p->burst, .filled = now,
		.head = UDP_PACE_NIL, .tail = UDP_PACE_NIL, .used = true,
	};
	p->last = (unsigned)(idle - p->peers);
	return idle;
}

static void udp_pace_fill(const struct udp_pacer *p, struct udp_pace_peer *e, ev_tstamp now)
{
	if (now > e->filled) {
		e->tokens += (now - e->filled) * p->rate;
		if (e->tokens > p->burst)
			e->tokens = p->burst;
	}
	e->filled = now;
}

/* Seconds until e, waiting, has a quantum of tokens. */
static ev_tstamp udp_pace_due(const struct udp_pacer *p, const struct udp_pace_peer *e)
{
	ev_tstamp t = (p->quantum - e->tokens) / p->rate;

	return t > 1e-6 ? t : 1e-6;
}

/* Run the timer in wait seconds, unless it runs sooner (0: already set). */
static void udp_pace_wake(struct udp *u, ev_tstamp wait)
{
	ev_timer *w = &u->pacer->timer;

	if (!wait || (ev_is_active(w) && ev_timer_remaining(u->loop, w) <= wait))
		return;
	ev_timer_stop(u->loop, w);
	ev_timer_set(w, wait, 0);
	ev_timer_start(u->loop, w);
}

/* Whether d may go out now: with tokens and nothing of its destination
 * waiting (so the order holds).  If not, it waits in a slot, or with
 * none free (or too long for one) is dropped; *held counts those that
 * wait. */
static bool udp_pace_admit(struct udp *u, const struct zt_dgram *d, unsigned *held)
{
	struct udp_pacer *p = u->pacer;
	ev_tstamp now = ev_now(u->loop);
	struct udp_pace_peer *e = udp_pace_peer(p, &d->peer, now);
	struct udp_pace_slot *slot;
	uint32_t i;

	if (!e)
		return true;
	udp_pace_fill(p, e, now);
	if (!e->queued && e->tokens > 0) {
		e->tokens -= (double)d->len;
		return true;
	}
	if (p->free == UDP_PACE_NIL || d->len > UDP_PACE_SLOT) {
		(*u->pace_dropped)++;
		return false;
	}
	i = p->free;
	slot = &p->slots[i];
	p->free = slot->next;
	slot->next = UDP_PACE_NIL;
	slot->local = d->local;
	slot->len = d->len;
	memcpy(slot->data, d->data, d->len);
	if (e->queued++)
		p->slots[e->tail].next = i;
	else
		e->head = i;
	e->tail = i;
	(*u->pace_delayed)++;
	(*held)++;
	udp_pace_wake(u, e->queued == 1 ? udp_pace_due(p, e) : 0);
	return false;
}

static unsigned udp_send_now(struct udp *u, const struct zt_dgram *d, unsigned n, bool paced, unsigned *held);

/* Take out of the FIFOs what the buckets allow now, up to a run's worth
 * per system call so that runs still go out with gso; then wait until
 * the first destination still waiting has a quantum of tokens. */
static void udp_pace_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct udp *u = w->data;
	struct udp_pacer *p = u->pacer;
	struct zt_dgram out[UDP_GSO_SEGS];
	uint32_t taken[UDP_GSO_SEGS];
	ev_tstamp now = ev_now(loop), wait = 0;
	unsigned i, n;

	(void)revents;
	do {
		n = 0;
		for (i = 0; i < UDP_PACE_PEERS && n < UDP_GSO_SEGS; i++) {
			struct udp_pace_peer *e = &p->peers[i];

			if (!e->queued)
				continue;
			udp_pace_fill(p, e, now);
			while (e->queued && e->tokens > 0 && n < UDP_GSO_SEGS) {
				struct udp_pace_slot *slot = &p->slots[e->head];

				e->tokens -= (double)slot->len;
				out[n] = (struct zt_dgram){
					.peer = e->addr, .local = slot->local,
					.data = slot->data, .len = slot->len,
				};
				taken[n++] = e->head;
				e->head = slot->next;
				e->queued--;
			}
		}
		udp_send_now(u, out, n, false, NULL);
		for (i = 0; i < n; i++) {
			p->slots[taken[i]].next = p->free;
			p->free = taken[i];
		}
	} while (n);
	for (i = 0; i < UDP_PACE_PEERS; i++) {
		const struct udp_pace_peer *e = &p->peers[i];

		if (e->queued && (!wait || udp_pace_due(p, e) < wait))
			wait = udp_pace_due(p, e);
	}
	if (wait) {
		ev_timer_set(w, wait, 0);
		ev_timer_start(loop, w);
	}
}

/* Forget every waiting datagram (the instance stops). */
static void udp_pace_reset(struct udp *u)
{
	struct udp_pacer *p = u->pacer;
	uint32_t i, nslots = u->conf.pace_queue;

	if (!p)
		return;
	if (u->loop)
		ev_timer_stop(u->loop, &p->timer);
	memset(p->peers, 0, sizeof p->peers);
	p->last = 0;
	for (i = 0; i < nslots; i++)
		p->slots[i].next = i + 1 < nslots ? i + 1 : UDP_PACE_NIL;
	p->free = 0;
}

/* ---- sending ---- */

/* Datagrams go out in messages, a batch of them per sendmmsg: with gso,
 * a run of datagrams to the same address through the same socket, all
 * of the first one's size but the last, which may be shorter, goes as
 * one message that the kernel (or the NIC) cuts back into datagrams.
 * With paced, each datagram first asks its destination's bucket; those
 * that must wait are counted in *held. */
static unsigned udp_send_now(struct udp *u, const struct zt_dgram *d, unsigned n, bool paced, unsigned *held)
{
	struct udp_sock *cur = NULL;
	struct msghdr *h = NULL;
	unsigned i, cnt = 0, niov = 0, sent = 0;
	size_t seg = 0, bytes = 0;
	bool more = false;   /* the open message h can take another datagram */

	for (i = 0; i < n; i++) {
		struct udp_sock *s = udp_route(u, &d[i]);

		if (!s) {
			(*u->tx_unroutable)++;
			continue;
		}
		if (paced && !udp_pace_admit(u, &d[i], held))
			continue;
		if (more && s == cur && d[i].len <= seg && d[i].len > 0 &&
		    bytes + d[i].len <= UDP_GSO_BYTES && h->msg_iovlen < UDP_GSO_SEGS &&
		    udp_same_peer(h->msg_name, &d[i].peer)) {
			u->txiov[niov].iov_base = d[i].data;
			u->txiov[niov].iov_len = d[i].len;
			niov++;
			if (++h->msg_iovlen == 2)
				zt_gso_ctl_set(h, &u->txctl[cnt - 1], seg);
			bytes += d[i].len;
			more = d[i].len == seg;
			continue;
		}
		/* a new message: batch of them, and room for its run */
		if (cnt && (s != cur || niov >= u->conf.batch)) {
			sent += udp_flush(u, cur, cnt);
			cnt = niov = 0;
		}
		cur = s;
		u->txiov[niov].iov_base = d[i].data;
		u->txiov[niov].iov_len = d[i].len;
		h = &u->txmsg[cnt++].msg_hdr;
		h->msg_name = (void *)&d[i].peer;
		h->msg_namelen = udp_addrlen(&d[i].peer);
		h->msg_iov = &u->txiov[niov++];
		h->msg_iovlen = 1;
		h->msg_control = NULL;
		h->msg_controllen = 0;
		h->msg_flags = 0;
		seg = bytes = d[i].len;
		more = s->gso && seg > 0;
	}
	if (cnt)
		sent += udp_flush(u, cur, cnt);
	return sent;
}

/* Datagrams that wait for their bucket count as taken: they go out. */
static int udp_send(void *state, const struct zt_dgram *d, unsigned n)
{
	struct udp *u = state;
	unsigned held = 0, sent;

	if (!u->started)
		return -ENOTCONN;
	sent = udp_send_now(u, d, n, u->pacer != NULL, &held);
	return (int)(sent + held);
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
	free(u->extra);
	free(u->rxbuf);
	free(u->rxmsg);
	free(u->rxiov);
	free(u->rxpeer);
	free(u->rxctl);
	free(u->rxd);
	free(u->txmsg);
	free(u->txctl);
	free(u->txiov);
	if (u->pacer)
		free(u->pacer->slots);
	free(u->pacer);
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
		ZT_COUNTER_FIELD(struct udp, gso_sends),
		ZT_COUNTER_FIELD(struct udp, gso_segments),
		ZT_COUNTER_FIELD(struct udp, gso_refused),
		ZT_COUNTER_FIELD(struct udp, gro_recvs),
		ZT_COUNTER_FIELD(struct udp, gro_segments),
		ZT_COUNTER_FIELD(struct udp, pace_delayed),
		ZT_COUNTER_FIELD(struct udp, pace_dropped),
	};

	return zt_counters_bind(u->zi, u, fields, sizeof fields / sizeof fields[0]);
}

/* The pacer of pace: its slots, all free.  The bucket holds pace-burst
 * bytes, and at least what pace brings in UDP_PACE_MIN_S. */
static struct udp_pacer *udp_pacer_new(struct udp *u)
{
	struct udp_pacer *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	u->pacer = p;
	p->slots = malloc((size_t)u->conf.pace_queue * sizeof *p->slots);
	if (!p->slots)
		return NULL;
	p->rate = (double)u->conf.pace / 8;
	p->burst = (double)u->conf.pace_burst;
	if (p->burst < p->rate * UDP_PACE_MIN_S)
		p->burst = p->rate * UDP_PACE_MIN_S;
	p->quantum = p->burst / 2 < UDP_PACE_QUANTUM ? p->burst / 2 : UDP_PACE_QUANTUM;
	ev_init(&p->timer, udp_pace_timer);
	p->timer.data = u;
	udp_pace_reset(u);
	return p;
}

/* The state of an instance or a queue: its buffers, nsocks sockets not
 * open yet, its counters on zi.  NULL if out of memory. */
static struct udp *udp_new(struct zt_inst *zi, const struct udp_conf *conf, unsigned nsocks)
{
	struct udp *u = calloc(1, sizeof *u);
	unsigned i;

	if (!u)
		return NULL;
	u->zi = zi;
	u->conf = *conf;
	u->nsocks = nsocks;
	u->socks = calloc(nsocks, sizeof *u->socks);
	if (u->conf.gro) {
		u->nslots = u->conf.batch < UDP_GRO_SLOTS ? u->conf.batch : UDP_GRO_SLOTS;
		u->slotsz = UDP_GRO_BUFSZ;
		u->rxctl = calloc(u->nslots, sizeof *u->rxctl);
	} else {
		u->nslots = u->conf.batch;
		u->slotsz = UDP_BUFSZ;
	}
	u->rxbuf = malloc(u->nslots * u->slotsz);
	u->rxmsg = calloc(u->nslots, sizeof *u->rxmsg);
	u->rxiov = calloc(u->nslots, sizeof *u->rxiov);
	u->rxpeer = calloc(u->nslots, sizeof *u->rxpeer);
	u->rxd = calloc(u->conf.batch, sizeof *u->rxd);
	u->txmsg = calloc(u->conf.batch, sizeof *u->txmsg);
	u->txctl = calloc(u->conf.batch, sizeof *u->txctl);
	u->txiov = calloc(u->conf.batch + UDP_GSO_SEGS - 1, sizeof *u->txiov);
	if (u->conf.pace && !udp_pacer_new(u)) {
		udp_destroy(u);
		return NULL;
	}
	if (!u->socks || !u->rxbuf || !u->rxmsg || !u->rxiov || !u->rxpeer ||
	    (u->conf.gro && !u->rxctl) || !u->rxd || !u->txmsg || !u->txctl || !u->txiov ||
	    udp_counters(u) < 0) {
		udp_destroy(u);
		return NULL;
	}
	for (i = 0; i < nsocks; i++) {
		u->socks[i].u = u;
		u->socks[i].fd = -1;
		u->socks[i].index = i;
	}
	return u;
}

static int udp_secondary_conf(const struct zt_node *conf, long *out)
{
	const char *v = zt_conf_str(conf, "secondary-port");
	char *end;
	long port;

	if (!v || strcmp(v, "off") == 0 || strcmp(v, "false") == 0) {
		*out = UDP_SECONDARY_OFF;
		return 0;
	}
	if (strcmp(v, "auto") == 0) {
		*out = UDP_SECONDARY_AUTO;
		return 0;
	}
	if (strcmp(v, "random") == 0) {
		*out = UDP_SECONDARY_RANDOM;
		return 0;
	}
	port = strtol(v, &end, 10);
	if (*end || port < 1 || port > 65535) {
		zt_node_error(udp_at(conf, "secondary-port"), "off, auto, random or a port (1 to 65535)");
		return -EINVAL;
	}
	*out = port;
	return 0;
}

/* The secondary sockets' port, once the node has its address. */
static int udp_secondary_port(struct udp *u)
{
	uint16_t r;

	if (u->conf.secondary > 0)
		return (int)u->conf.secondary;
	if (u->conf.secondary == UDP_SECONDARY_AUTO) {
		uint64_t a = zt_inst_node_address(u->zi);

		if (!a) {
			zt_log(u->zi, ZT_LOG_ERR, "secondary-port auto: the node has no address yet");
			return -ENOTCONN;
		}
		return (int)(UDP_SECONDARY_MIN + a % UDP_SECONDARY_SPAN);
	}
	if (getrandom(&r, sizeof r, 0) != sizeof r)
		return -errno;
	return UDP_SECONDARY_MIN + r % UDP_SECONDARY_SPAN;
}

static int udp_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	union zt_sockaddr addrs[UDP_MAX_SOCKS];
	struct udp_conf c;
	struct udp *u;
	size_t n, i, nsec;
	uint64_t batch, rcvbuf, sndbuf;

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

	c.batch = (unsigned)batch;
	c.rcvbuf = (int)rcvbuf;
	c.sndbuf = (int)sndbuf;
	c.reuseport = zt_conf_bool(conf, "reuseport");
	c.gso = zt_conf_bool(conf, "gso");
	c.gro = zt_conf_bool(conf, "gro");
	c.pace = zt_conf_uint(conf, "pace") * 1000000;
	c.pace_burst = zt_conf_uint(conf, "pace-burst");
	c.pace_queue = (unsigned)zt_conf_uint(conf, "pace-queue");
	if (udp_secondary_conf(conf, &c.secondary) < 0)
		return -EINVAL;
	nsec = 0;
	for (i = 0; c.secondary && i < n; i++)
		nsec += zt_inetaddr_port(&addrs[i]) != 0;
	u = udp_new(zi, &c, (unsigned)(n + nsec));
	if (!u)
		return -ENOMEM;
	u->nprimary = (unsigned)n;
	for (i = 0; i < n; i++)
		u->socks[i].addr = addrs[i];
	for (i = 0, nsec = n; c.secondary && i < n; i++)
		if (zt_inetaddr_port(&addrs[i]))
			u->socks[nsec++].addr = addrs[i];   /* its port is set at start */
	*state = u;
	return 0;
}

/* A queue: the same options, sockets of its own.  Every socket of a
 * SO_REUSEPORT group must set it before binding, the instance's too. */
static int udp_queue(void *state, struct zt_inst *zi, unsigned queue, void **out)
{
	struct udp *u = state, *q;

	if (u->started)
		return -EBUSY;
	u->conf.reuseport = true;
	q = udp_new(zi, &u->conf, u->nsocks);
	if (!q)
		return -ENOMEM;
	q->instance = u;
	*out = q;
	return 0;
}

/* ---- extra sockets ---- */

static int udp_open(struct udp *u, struct udp_sock *s, bool spare);

static void udp_extra_close(void *state, uint32_t local)
{
	struct udp *u = state;
	struct udp_sock *s;

	if (!u->extra || local < UDP_EXTRA_BASE || local - UDP_EXTRA_BASE >= UDP_EXTRA_MAX)
		return;
	s = &u->extra[local - UDP_EXTRA_BASE];
	if (s->fd < 0)
		return;
	ev_io_stop(u->loop, &s->w);
	close(s->fd);
	s->fd = -1;
	u->n_extra--;
}

/* One more socket on the address of listen socket like, its port chosen
 * by the system: its local index, or -errno. */
static int udp_extra_open(void *state, uint32_t like)
{
	struct udp *u = state;
	struct udp_sock *s = NULL;
	unsigned i;
	int err;

	if (!u->started || u->instance)
		return -ENOTCONN;
	if (like >= u->nsocks || u->socks[like].fd < 0)
		return -EINVAL;
	if (!u->extra) {
		u->extra = calloc(UDP_EXTRA_MAX, sizeof *u->extra);
		if (!u->extra)
			return -ENOMEM;
		for (i = 0; i < UDP_EXTRA_MAX; i++) {
			u->extra[i].u = u;
			u->extra[i].fd = -1;
			u->extra[i].index = UDP_EXTRA_BASE + i;
		}
	}
	for (i = 0; i < UDP_EXTRA_MAX && !s; i++)
		if (u->extra[i].fd < 0)
			s = &u->extra[i];
	if (!s)
		return -ENOSPC;
	s->addr = u->socks[like].addr;
	if (s->addr.sa.sa_family == AF_INET)
		s->addr.in4.sin_port = 0;
	else
		s->addr.in6.sin6_port = 0;
	err = udp_open(u, s, true);
	if (err < 0)
		return err;
	u->n_extra++;
	return (int)s->index;
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
	for (i = 0; u->extra && i < UDP_EXTRA_MAX; i++)
		udp_extra_close(u, UDP_EXTRA_BASE + i);
	udp_pace_reset(u);
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

/* Turn on GSO and GRO as configured, where the kernel has them (4.18
 * and 5.0); without them the socket works as before. */
static void udp_offloads(struct udp *u, struct udp_sock *s)
{
	char as[ZT_SOCKADDR_STRLEN];
	int zero = 0, one = 1;

	s->gso = u->conf.gso;
	if (s->gso && setsockopt(s->fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) < 0) {
		s->gso = false;
		zt_log(u->zi, ZT_LOG_INFO, "%s: no UDP segmentation offload: %s",
		       zt_sockaddr_fmt(&s->addr, as, sizeof as), strerror(errno));
	}
	s->gro = u->conf.gro;
	if (s->gro && setsockopt(s->fd, SOL_UDP, UDP_GRO, &one, sizeof one) < 0) {
		s->gro = false;
		zt_log(u->zi, ZT_LOG_INFO, "%s: no UDP receive coalescing: %s",
		       zt_sockaddr_fmt(&s->addr, as, sizeof as), strerror(errno));
	}
}

/* Open and bind s; a spare one (an extra socket) takes the system's
 * defaults: no shared port, buffers or offloads, and is not logged. */
static int udp_open(struct udp *u, struct udp_sock *s, bool spare)
{
	char as[ZT_SOCKADDR_STRLEN];
	int fam = s->addr.sa.sa_family, one = 1, fd, err;
	union zt_sockaddr bound;
	socklen_t blen = sizeof bound;

	fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0) {
		err = -errno;
		zt_log(u->zi, ZT_LOG_ERR, "socket %s: %s",
		       zt_sockaddr_fmt(&s->addr, as, sizeof as), strerror(errno));
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
	if (!spare && u->conf.reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
		goto sockopt_fail;
	if (!spare) {
		udp_set_buf(u, fd, SO_RCVBUFFORCE, SO_RCVBUF, u->conf.rcvbuf);
		udp_set_buf(u, fd, SO_SNDBUFFORCE, SO_SNDBUF, u->conf.sndbuf);
	}
	if (bind(fd, &s->addr.sa, udp_addrlen(&s->addr)) < 0) {
		err = -errno;
		zt_log(u->zi, ZT_LOG_ERR, "bind %s: %s",
		       zt_sockaddr_fmt(&s->addr, as, sizeof as), strerror(errno));
		close(fd);
		return err;
	}
	memset(&bound, 0, sizeof bound);
	if (getsockname(fd, &bound.sa, &blen) < 0) {
		err = -errno;
		zt_log(u->zi, ZT_LOG_ERR, "getsockname %s: %s",
		       zt_sockaddr_fmt(&s->addr, as, sizeof as), strerror(errno));
		close(fd);
		return err;
	}
	s->addr = bound;
	s->fd = fd;
	s->gso = s->gro = false;
	if (!spare)
		udp_offloads(u, s);
	ev_io_init(&s->w, udp_readable, fd, EV_READ);
	s->w.data = s;
	ev_io_start(u->loop, &s->w);
	if (!spare)
		zt_log(u->zi, ZT_LOG_DEBUG, "listening on %s", zt_sockaddr_fmt(&s->addr, as, sizeof as));
	return 0;

sockopt_fail:
	err = -errno;
	zt_log(u->zi, ZT_LOG_ERR, "setsockopt %s: %s",
	       zt_sockaddr_fmt(&s->addr, as, sizeof as), strerror(errno));
	close(fd);
	return err;
}

/* A queue binds where its instance is bound, socket for socket, so
 * that a datagram's local index means the same on both (and a port 0
 * means the port the instance got). */
static int udp_queue_addrs(struct udp *q)
{
	const struct udp *u = q->instance;
	unsigned i;

	if (!u->started) {
		zt_log(q->zi, ZT_LOG_ERR, "start: %s is not started", zt_inst_name(u->zi));
		return -ENOTCONN;
	}
	for (i = 0; i < q->nsocks; i++)
		q->socks[i].addr = u->socks[i].addr;
	return 0;
}

static int udp_start(void *state, struct ev_loop *loop)
{
	struct udp *u = state;
	unsigned i;
	int err;

	if (u->started)
		return 0;
	if (u->instance && (err = udp_queue_addrs(u)) < 0)
		return err;
	if (!u->instance && u->nsocks > u->nprimary) {
		int port = udp_secondary_port(u);

		if (port < 0)
			return port;
		for (i = u->nprimary; i < u->nsocks; i++) {
			if (u->socks[i].addr.sa.sa_family == AF_INET)
				u->socks[i].addr.in4.sin_port = htons((uint16_t)port);
			else
				u->socks[i].addr.in6.sin6_port = htons((uint16_t)port);
		}
	}
	u->loop = loop;
	for (i = 0; i < u->nsocks; i++) {
		err = udp_open(u, &u->socks[i], false);
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
	.extra_open = udp_extra_open,
	.extra_close = udp_extra_close,
};

static const struct zt_opt udp_opts[] = {
	ZT_OPT_ADDRS("listen", 0, "['0.0.0.0:9993', '[::]:9993']",
		     "addresses to bind, port 0 for an ephemeral port"),
	ZT_OPT_UINT("batch", 32, 1, 1024, "datagrams read or written per system call"),
	ZT_OPT_UINT("rcvbuf", 4194304, 0, 1073741824, "socket receive buffer in bytes, 0 for the system default"),
	ZT_OPT_UINT("sndbuf", 4194304, 0, 1073741824, "socket send buffer in bytes, 0 for the system default"),
	ZT_OPT_BOOL("reuseport", 0, "set SO_REUSEPORT so several sockets share a port"),
	ZT_OPT_BOOL("gso", 1, "send runs of equal-size datagrams to one address as one "
		    "message (UDP_SEGMENT)"),
	ZT_OPT_BOOL("gro", 1, "let the kernel coalesce received runs (UDP_GRO); reads "
		    "then take 8 messages of up to 64 KiB"),
	ZT_OPT_UINT("pace", 0, 0, 1000000, "most Mbit/s sent to one address, 0 for no limit; "
		    "what exceeds it waits"),
	ZT_OPT_UINT("pace-burst", 65536, 1500, 16777216, "bytes one address may get at once "
		    "past pace (at least 2 ms of pace)"),
	ZT_OPT_UINT("pace-queue", 2048, 1, 65536, "datagrams that may wait for pace, "
		    "1500 bytes each"),
	ZT_OPT_STR("secondary-port", "off", "a second socket per listen address: off, auto "
		   "(20000 + the node's address mod 45500), random (20000..65499) or a port"),
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
	.queue = udp_queue,
};
