/* lan: LAN discovery (zt-lan(7)).  Every interval, on each chosen LAN
 * interface, sends the node's beacons to the peers' port: to the
 * interface's IPv4 broadcast address, and to an IPv6 link-local
 * multicast group (from a routable address of the interface, so that
 * the answer can become a path; link-local sources cannot, wire.md
 * §7.3).  The beacons are the kernel's (zt_transport_beacon): the
 * reference's 13 bytes, and zt's own that carries the node's identity,
 * signed.  Nodes receive beacons on their udp transport (they are
 * datagrams to its port); the kernel answers with a HELLO to where the
 * beacon came from.
 *
 * It is a transport of its own, with its own sockets, rather than a
 * helper that sends through the udp transport: modules never reach into
 * each other, and the udp sockets are the data path's, which should not
 * carry SO_BROADCAST, multicast memberships or per-datagram source
 * selection.  Since a beacon's source is this transport's socket, what
 * peers answer there (HELLO, OK, a reference node's NOP) comes back here
 * and goes to the kernel like any transport's datagrams: the lan socket
 * is a path of its own, in private scope, used like any other. */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include <zt/inetaddr.h>
#include <zt/module.h>

#define LAN_MAX_NAMES 32
#define LAN_MAX_SOCKS 4
#define LAN_MAX_JOINED 64
#define LAN_BUFSZ 10100          /* a whole packet and some slack */
#define LAN_ROUNDS 64            /* datagrams read per wakeup */
#define LAN_FIRST_S 0.2          /* first beacons soon after start */
/* zt's IPv6 link-local group for beacons: ff02::7a74 ("zt") */
static const struct in6_addr lan_group = { { { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7a, 0x74 } } };

struct lan;

struct lan_sock {
	struct lan *l;
	ev_io w;
	int fd;
	union zt_sockaddr addr;   /* as configured, then as bound */
};

struct lan {
	struct zt_inst *zi;
	struct ev_loop *loop;
	bool started;
	unsigned nsocks;
	struct lan_sock socks[LAN_MAX_SOCKS];
	uint16_t port;            /* where peers listen */
	double interval;
	bool legacy;
	char *allow[LAN_MAX_NAMES], *deny[LAN_MAX_NAMES];
	unsigned nallow, ndeny;
	unsigned joined[LAN_MAX_JOINED];   /* interfaces the IPv6 group is joined on */
	unsigned njoined;
	ev_timer timer;
	uint8_t rx[LAN_BUFSZ];
	uint64_t *beacons_sent, *beacon_errors, *interfaces, *rx_dgrams, *rx_errors, *tx_dgrams, *tx_errors;
};

/* ---- choosing interfaces ---- */

static bool lan_listed(char *const *names, unsigned n, const char *ifname)
{
	for (unsigned i = 0; i < n; i++)
		if (fnmatch(names[i], ifname, 0) == 0)
			return true;
	return false;
}

static bool lan_private(const struct sockaddr *sa)
{
	union zt_sockaddr a;

	memset(&a, 0, sizeof a);
	memcpy(&a, sa, sa->sa_family == AF_INET6 ? sizeof a.in6 : sizeof a.in4);
	return zt_inetaddr_scope(&a) == ZT_SCOPE_PRIVATE;
}

/* An interface beacons if it is up, not loopback, not denied, and either
 * listed in interfaces or (with no list) has a private-scope address. */
static bool lan_chosen(const struct lan *l, const struct ifaddrs *all, const struct ifaddrs *ifa)
{
	if (!(ifa->ifa_flags & IFF_UP) || (ifa->ifa_flags & IFF_LOOPBACK) ||
	    lan_listed(l->deny, l->ndeny, ifa->ifa_name))
		return false;
	if (l->nallow)
		return lan_listed(l->allow, l->nallow, ifa->ifa_name);
	for (const struct ifaddrs *i = all; i; i = i->ifa_next)
		if (i->ifa_addr && strcmp(i->ifa_name, ifa->ifa_name) == 0 &&
		    (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6) &&
		    lan_private(i->ifa_addr))
			return true;
	return false;
}

/* The subnet's broadcast address: the one configured, or from the
 * netmask when none is (ip addr add without brd leaves 0.0.0.0, which
 * would be this host).  False for /31 and /32. */
static bool lan_broadcast(const struct ifaddrs *ifa, struct sockaddr_in *out)
{
	const struct sockaddr_in *ip = (const void *)ifa->ifa_addr, *mask = (const void *)ifa->ifa_netmask;
	const struct sockaddr_in *brd = (const void *)ifa->ifa_broadaddr;
	uint32_t m;

	if (!mask || mask->sin_family != AF_INET)
		return false;
	m = ntohl(mask->sin_addr.s_addr);
	if (m == 0 || (~m & 0xffffffffu) < 3)
		return false;
	memset(out, 0, sizeof *out);
	out->sin_family = AF_INET;
	if (brd && brd->sin_family == AF_INET && brd->sin_addr.s_addr != htonl(INADDR_ANY) &&
	    brd->sin_addr.s_addr != ip->sin_addr.s_addr)
		out->sin_addr = brd->sin_addr;
	else
		out->sin_addr.s_addr = ip->sin_addr.s_addr | htonl(~m);
	return true;
}

static struct lan_sock *lan_sock_of(struct lan *l, int family)
{
	for (unsigned i = 0; i < l->nsocks; i++)
		if (l->socks[i].fd >= 0 && l->socks[i].addr.sa.sa_family == family)
			return &l->socks[i];
	return NULL;
}

/* ---- beacons ---- */

static void lan_send_one(struct lan *l, int fd, const void *to, socklen_t tolen, const uint8_t *b, size_t len,
			 const struct in6_pktinfo *src)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)b, len };
	struct msghdr m = { .msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &iov, .msg_iovlen = 1 };

	if (src) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof ctl);
		m.msg_control = ctl.buf;
		m.msg_controllen = sizeof ctl.buf;
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof *src);
		memcpy(CMSG_DATA(cm), src, sizeof *src);
	}
	if (sendmsg(fd, &m, 0) < 0)
		(*l->beacon_errors)++;
	else
		(*l->beacons_sent)++;
}

/* The group joined on ifindex, so that the host takes the beacons
 * sent to it there (the udp socket on the port then receives them). */
static void lan_join(struct lan *l, int fd, unsigned ifindex, const char *ifname)
{
	struct ipv6_mreq mr = { .ipv6mr_multiaddr = lan_group, .ipv6mr_interface = ifindex };

	for (unsigned i = 0; i < l->njoined; i++)
		if (l->joined[i] == ifindex)
			return;
	if (l->njoined == LAN_MAX_JOINED)
		return;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof mr) < 0 && errno != EADDRINUSE) {
		zt_log(l->zi, ZT_LOG_WARN, "%s: join ff02::7a74: %s", ifname, strerror(errno));
		return;
	}
	l->joined[l->njoined++] = ifindex;
}

/* The beacons of this round: IPv4 ones to each broadcast address, IPv6
 * ones to the group on each interface with a routable IPv6 address. */
static void lan_beacon_round(struct lan *l, const uint8_t *const *b, const size_t *len, unsigned nb)
{
	struct lan_sock *s4 = lan_sock_of(l, AF_INET), *s6 = lan_sock_of(l, AF_INET6);
	struct ifaddrs *all, *ifa;
	unsigned chosen = 0;

	if (getifaddrs(&all) < 0) {
		zt_log(l->zi, ZT_LOG_WARN, "getifaddrs: %s", strerror(errno));
		return;
	}
	for (ifa = all; ifa; ifa = ifa->ifa_next) {
		union zt_sockaddr a;

		if (!ifa->ifa_addr || !lan_chosen(l, all, ifa))
			continue;
		memset(&a, 0, sizeof a);
		if (ifa->ifa_addr->sa_family == AF_INET && s4 && (ifa->ifa_flags & IFF_BROADCAST)) {
			if (!lan_broadcast(ifa, &a.in4))
				continue;
			a.in4.sin_port = htons(l->port);
			for (unsigned i = 0; i < nb; i++)
				lan_send_one(l, s4->fd, &a.in4, sizeof a.in4, b[i], len[i], NULL);
			chosen++;
		} else if (ifa->ifa_addr->sa_family == AF_INET6 && s6) {
			struct in6_pktinfo src = { .ipi6_ifindex = if_nametoindex(ifa->ifa_name) };

			a.in6 = *(const struct sockaddr_in6 *)ifa->ifa_addr;
			if (!src.ipi6_ifindex || !zt_inetaddr_path_usable(&a))
				continue;   /* one routable source address per interface */
			src.ipi6_addr = a.in6.sin6_addr;
			lan_join(l, s6->fd, src.ipi6_ifindex, ifa->ifa_name);
			memset(&a, 0, sizeof a);
			a.in6.sin6_family = AF_INET6;
			a.in6.sin6_addr = lan_group;
			a.in6.sin6_port = htons(l->port);
			a.in6.sin6_scope_id = src.ipi6_ifindex;
			for (unsigned i = 0; i < nb; i++)
				lan_send_one(l, s6->fd, &a.in6, sizeof a.in6, b[i], len[i], &src);
			chosen++;
		}
	}
	*l->interfaces = chosen;
	freeifaddrs(all);
}

static void lan_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lan *l = w->data;
	uint8_t zt[ZT_TRANSPORT_BEACON_MAX], legacy[16];
	const uint8_t *b[2];
	size_t len[2];
	unsigned nb = 0;
	int n;

	(void)loop;
	(void)revents;
	n = zt_transport_beacon(l->zi, false, zt, sizeof zt);
	if (n > 0) {
		b[nb] = zt;
		len[nb++] = (size_t)n;
	}
	if (l->legacy && (n = zt_transport_beacon(l->zi, true, legacy, sizeof legacy)) > 0) {
		b[nb] = legacy;
		len[nb++] = (size_t)n;
	}
	if (nb)
		lan_beacon_round(l, b, len, nb);
	ev_timer_set(w, l->interval, 0);
	ev_timer_start(l->loop, w);
}

/* ---- the transport: what peers answer comes back here ---- */

static void lan_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lan_sock *s = w->data;
	struct lan *l = s->l;

	(void)loop;
	(void)revents;
	for (unsigned round = 0; round < LAN_ROUNDS; round++) {
		struct zt_dgram d;
		socklen_t alen = sizeof d.peer;
		ssize_t n;

		memset(&d.peer, 0, sizeof d.peer);
		n = recvfrom(s->fd, l->rx, sizeof l->rx, MSG_TRUNC, &d.peer.sa, &alen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				(*l->rx_errors)++;
			return;
		}
		if ((size_t)n > sizeof l->rx) {
			(*l->rx_errors)++;
			continue;
		}
		(*l->rx_dgrams)++;
		d.local = (uint32_t)(s - l->socks);
		d.data = l->rx;
		d.len = (size_t)n;
		zt_transport_rx(l->zi, &d, 1);
	}
}

static int lan_send(void *state, const struct zt_dgram *d, unsigned n)
{
	struct lan *l = state;
	int sent = 0;

	if (!l->started)
		return -ENOTCONN;
	for (unsigned i = 0; i < n; i++) {
		struct lan_sock *s = d[i].local < l->nsocks ? &l->socks[d[i].local] : NULL;
		socklen_t alen = d[i].peer.sa.sa_family == AF_INET6 ? sizeof d[i].peer.in6 : sizeof d[i].peer.in4;

		if (!s || s->fd < 0 || s->addr.sa.sa_family != d[i].peer.sa.sa_family ||
		    sendto(s->fd, d[i].data, d[i].len, 0, &d[i].peer.sa, alen) < 0) {
			(*l->tx_errors)++;
			continue;
		}
		(*l->tx_dgrams)++;
		sent++;
	}
	return sent;
}

static size_t lan_locals(void *state, union zt_sockaddr *out, size_t max)
{
	struct lan *l = state;

	for (unsigned i = 0; i < l->nsocks && i < max; i++)
		out[i] = l->socks[i].addr;
	return l->nsocks;
}

/* ---- lifecycle ---- */

static void lan_names_free(char **names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(names[i]);
}

static void lan_destroy(void *state)
{
	struct lan *l = state;

	if (!l)
		return;
	lan_names_free(l->allow, l->nallow);
	lan_names_free(l->deny, l->ndeny);
	free(l);
}

/* A list of interface names (globs): a name or a sequence of them. */
static int lan_names(const struct zt_node *conf, const char *key, char **out, unsigned *n)
{
	const struct zt_node *list = zt_node_get(conf, key);
	size_t len;

	*n = 0;
	if (!list)
		return 0;
	if (zt_node_scalar(list)) {
		out[0] = strdup(zt_node_scalar(list));
		*n = out[0] != NULL;
		return out[0] ? 0 : -ENOMEM;
	}
	len = zt_node_len(list);
	if (len > LAN_MAX_NAMES) {
		zt_node_error(list, "at most %u interface names", LAN_MAX_NAMES);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		const char *name = zt_node_scalar(zt_node_at(list, i));

		if (!name || !*name) {
			zt_node_error(zt_node_at(list, i), "an interface name (or glob) is needed");
			return -EINVAL;
		}
		if (!(out[*n] = strdup(name)))
			return -ENOMEM;
		(*n)++;
	}
	return 0;
}

static int lan_counters(struct lan *l)
{
	static const struct zt_counter_field fields[] = {
		ZT_COUNTER_FIELD(struct lan, beacons_sent),
		ZT_COUNTER_FIELD(struct lan, beacon_errors),
		ZT_COUNTER_FIELD(struct lan, interfaces),
		ZT_COUNTER_FIELD(struct lan, rx_dgrams),
		ZT_COUNTER_FIELD(struct lan, rx_errors),
		ZT_COUNTER_FIELD(struct lan, tx_dgrams),
		ZT_COUNTER_FIELD(struct lan, tx_errors),
	};

	return zt_counters_bind(l->zi, l, fields, sizeof fields / sizeof fields[0]);
}

static int lan_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	union zt_sockaddr addrs[LAN_MAX_SOCKS];
	struct lan *l;
	size_t n;
	uint64_t ms;
	int err;

	n = zt_conf_addrs(conf, "listen", addrs, LAN_MAX_SOCKS);
	if (n == 0 || n > LAN_MAX_SOCKS) {
		zt_node_error(zt_node_get(conf, "listen") ? zt_node_get(conf, "listen") : conf,
			      "1 to %u addresses", LAN_MAX_SOCKS);
		return -EINVAL;
	}
	ms = zt_conf_duration_ms(conf, "interval");
	if (ms < 1000 || ms > 3600000) {
		zt_node_error(zt_node_get(conf, "interval") ? zt_node_get(conf, "interval") : conf,
			      "must be between 1s and 1h");
		return -EINVAL;
	}
	l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	l->zi = zi;
	l->nsocks = (unsigned)n;
	for (unsigned i = 0; i < l->nsocks; i++) {
		sa_family_t fam = addrs[i].sa.sa_family;

		if (fam != AF_INET && fam != AF_INET6) {
			zt_node_error(zt_node_get(conf, "listen"), "address %u is not IPv4 or IPv6", i + 1);
			lan_destroy(l);
			return -EINVAL;
		}
		l->socks[i].l = l;
		l->socks[i].fd = -1;
		l->socks[i].addr = addrs[i];
	}
	l->port = (uint16_t)zt_conf_uint(conf, "port");
	l->interval = (double)ms / 1000;
	l->legacy = zt_conf_bool(conf, "legacy");
	if ((err = lan_names(conf, "interfaces", l->allow, &l->nallow)) < 0 ||
	    (err = lan_names(conf, "exclude", l->deny, &l->ndeny)) < 0 || (err = lan_counters(l)) < 0) {
		lan_destroy(l);
		return err == -EINVAL ? err : -ENOMEM;
	}
	if (!zt_node_get(conf, "exclude") && !(l->deny[l->ndeny++] = strdup("zt*"))) {
		lan_destroy(l);
		return -ENOMEM;
	}
	*state = l;
	return 0;
}

static void lan_stop(void *state)
{
	struct lan *l = state;

	if (l->loop)
		ev_timer_stop(l->loop, &l->timer);
	for (unsigned i = 0; i < l->nsocks; i++) {
		struct lan_sock *s = &l->socks[i];

		if (s->fd < 0)
			continue;
		ev_io_stop(l->loop, &s->w);
		close(s->fd);   /* leaves the groups joined on it */
		s->fd = -1;
	}
	l->njoined = 0;
	l->started = false;
}

static int lan_open(struct lan *l, struct lan_sock *s)
{
	char as[ZT_SOCKADDR_STRLEN];
	int fam = s->addr.sa.sa_family, one = 1, fd, err;
	socklen_t alen = fam == AF_INET6 ? sizeof s->addr.in6 : sizeof s->addr.in4;

	fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		goto fail;
	if (fam == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
		goto fail;
	if (fam == AF_INET && setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0)
		goto fail;
	if (bind(fd, &s->addr.sa, alen) < 0 || getsockname(fd, &s->addr.sa, &alen) < 0)
		goto fail;
	s->fd = fd;
	ev_io_init(&s->w, lan_readable, fd, EV_READ);
	s->w.data = s;
	ev_io_start(l->loop, &s->w);
	zt_log(l->zi, ZT_LOG_DEBUG, "beacons from %s to port %u every %gs",
	       zt_sockaddr_fmt(&s->addr, as, sizeof as), l->port, l->interval);
	return 0;

fail:
	err = -errno;
	zt_log(l->zi, ZT_LOG_ERR, "socket %s: %s", zt_sockaddr_fmt(&s->addr, as, sizeof as), strerror(errno));
	if (fd >= 0)
		close(fd);
	return err;
}

static int lan_start(void *state, struct ev_loop *loop)
{
	struct lan *l = state;
	int err;

	if (l->started)
		return 0;
	l->loop = loop;
	for (unsigned i = 0; i < l->nsocks; i++)
		if ((err = lan_open(l, &l->socks[i])) < 0) {
			lan_stop(l);
			return err;
		}
	ev_timer_init(&l->timer, lan_tick, LAN_FIRST_S, 0);
	l->timer.data = l;
	ev_timer_start(loop, &l->timer);
	l->started = true;
	return 0;
}

static const struct zt_transport_ops lan_ops = {
	.send = lan_send,
	.locals = lan_locals,
};

static const struct zt_opt lan_opts[] = {
	ZT_OPT_ADDRS("listen", 0, "['0.0.0.0:0', '[::]:0']",
		     "this transport's sockets: beacons go out from them, answers come back"),
	ZT_OPT_UINT("port", 9993, 1, 65535, "the port peers listen on (their udp transport's)"),
	ZT_OPT_DURATION("interval", "30s", "time between rounds of beacons (1s to 1h)"),
	ZT_OPT_BOOL("legacy", 1, "send the reference's 13-byte beacon too"),
	ZT_OPT_ANY("interfaces", 0, "interfaces (names or globs) to beacon on, whatever their "
		   "addresses; default: those with a private-scope address"),
	ZT_OPT_ANY("exclude", 0, "interfaces never to beacon on (default: zt*)"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI,
	.name = "lan",
	.kind = ZT_TRANSPORT,
	.summary = "LAN discovery: beacons by IPv4 broadcast and IPv6 link-local multicast",
	.opts = lan_opts,
	.create = lan_create,
	.start = lan_start,
	.stop = lan_stop,
	.destroy = lan_destroy,
	.ops.transport = &lan_ops,
};
