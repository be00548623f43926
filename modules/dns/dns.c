/* dns: a DNS server for the members of a controller's networks.
 * It answers on the node's own addresses in each network (UDP and TCP,
 * port 53 by default) for <member name>.<domain> and <member id>.<domain>
 * (A, AAAA: assigned, RFC4193 and 6PLANE addresses) and the PTR of those
 * addresses, the domain being the network's dns.domain.  It reads the
 * networks and members from the controller of the same ztd through the
 * local API's in-process dispatch (zt_core_api_dispatch: no HTTP, no
 * token), and polls it: a cheap look at the revisions every `poll`
 * (250 ms), the member list fetched again only when one changed.  See
 * zt-dns(7).  With controller-url it reads another ztd's controller
 * over its HTTP API instead (remote.c, libcurl on the loop): a member
 * with the controller's token serves the names as well.  In process, it
 * tells the controller the addresses it answers on (push), which gives
 * them to members as the network's DNS servers when the network names
 * none.  The files:
 *   dns.c    the module: options, polling the controller, sockets
 *   remote.c GETs to a remote controller's API
 *   zone.c   the zone of a network, built from the controller's JSON
 *   query.c  one query answered from a zone (ldns) */
#include "config.h"

#include <errno.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <sodium.h>

#include <zt/module.h>
#include <zt/node.h>

#include "query.h"
#include "remote.h"
#include "zone.h"

#define DNS_MAX_NETS 64
#define DNS_MAX_ADDRS ZT_INFO_MAX_ADDRS
#define DNS_UDP_BATCH 64            /* datagrams read per wakeup */
#define DNS_TCP_MAX_CONNS 64
#define DNS_TCP_IDLE_S 10.0
#define DNS_TCP_BACKLOG 16
#define DNS_RETRY_S 10.0            /* between binds of an address that failed */
#define DNS_ANNOUNCE_S 5.0          /* between announcements of the same servers */
#define DNS_ANNOUNCE_MAX 256        /* {"servers":[4 IPs]} */

struct dns;
struct dns_net;

/* counters, named in dns_counter_names */
enum {
	DNS_C_QUERIES, DNS_C_ANSWERS, DNS_C_NXDOMAIN, DNS_C_REFUSED, DNS_C_NOTIMP, DNS_C_MALFORMED,
	DNS_C_TRUNCATED, DNS_C_FAILED, DNS_C_TCP_CONNECTIONS, DNS_C_TCP_REJECTED, DNS_C_NAMES_SKIPPED,
	DNS_C_REBUILDS, DNS_N_COUNTERS
};
static const char *const dns_counter_names[DNS_N_COUNTERS] = {
	"queries", "answers", "nxdomain", "refused", "notimp", "malformed",
	"truncated", "failed", "tcp_connections", "tcp_rejected", "names_skipped",
	"zone_rebuilds",
};

/* One of the node's addresses in a network: a UDP and a TCP socket. */
struct dns_listener {
	struct dns *d;
	struct dns_net *net;
	union zt_sockaddr addr;
	int ufd, tfd;
	ev_io urd, acc;
	bool seen;                  /* still one of the node's addresses */
	ev_tstamp retry_at;         /* no sockets (the bind failed): when to try again */
};

struct dns_net {
	struct dns *d;
	uint64_t nwid;
	bool seen;                  /* still joined */
	bool served;                /* the controller answers for it */
	struct dns_zone *zone;      /* NULL: no usable domain (all refused) */
	char *net_body, *rev_body;  /* the controller's answers the zone was built from */
	char *new_net, *new_rev;    /* those of the look under way */
	char *skipped, *skipping;   /* names the last zone and the one being built left out */
	bool busy;                  /* a look is under way */
	bool down;                  /* the controller failed the last look */
	struct dns_req *req;        /* its remote GET */
	char why[160];              /* why there is no zone, as last logged */
	uint32_t serial;
	char announced[DNS_ANNOUNCE_MAX]; /* the servers last given to the controller, "" none */
	ev_tstamp announced_at;
	size_t n_listeners;
	struct dns_listener listeners[DNS_MAX_ADDRS];
};

/* A TCP client: queries and answers with a two-byte length each. */
struct dns_conn {
	struct dns *d;
	struct dns_conn *prev, *next;
	uint64_t nwid;
	int fd;
	ev_io io;
	ev_timer idle;
	size_t in_len, out_len, out_off;
	uint8_t in[2 + DNS_TCP_MAX];
	uint8_t out[2 + DNS_TCP_MAX];
};

struct dns {
	struct zt_inst *zi;
	struct zt_core *core;
	struct ev_loop *loop;
	bool started;
	bool push;                  /* announce the listeners to the controller as DNS servers */
	unsigned port;
	uint32_t ttl;
	double poll_s;
	size_t n_only;              /* networks: given, only these */
	uint64_t only[DNS_MAX_NETS];
	size_t n_nets;
	struct dns_net *nets[DNS_MAX_NETS];
	ev_timer poll;
	char *url;                  /* controller-url: a remote controller's API */
	char *token_file;
	struct dns_remote *remote;  /* NULL: the controller of this ztd */
	struct dns_conn *conns;
	size_t n_conns;
	uint8_t in[DNS_TCP_MAX], out[DNS_TCP_MAX];

	uint64_t *counters[DNS_N_COUNTERS];
};

#define DNS_COUNT(d, c) (*(d)->counters[c])++

/* ---- answering ---- */

static struct dns_net *dns_net_find(struct dns *d, uint64_t nwid)
{
	for (size_t i = 0; i < d->n_nets; i++)
		if (d->nets[i]->nwid == nwid)
			return d->nets[i];
	return NULL;
}

static void dns_count(struct dns *d, const struct dns_reply *r)
{
	DNS_COUNT(d, DNS_C_QUERIES);
	switch (r->outcome) {
	case DNS_ANSWERED:
	case DNS_NODATA: DNS_COUNT(d, DNS_C_ANSWERS); break;
	case DNS_NXDOMAIN: DNS_COUNT(d, DNS_C_NXDOMAIN); break;
	case DNS_REFUSED: DNS_COUNT(d, DNS_C_REFUSED); break;
	case DNS_NOTIMP: DNS_COUNT(d, DNS_C_NOTIMP); break;
	case DNS_FORMERR:
	case DNS_DROPPED: DNS_COUNT(d, DNS_C_MALFORMED); break;
	case DNS_FAILED: DNS_COUNT(d, DNS_C_FAILED); break;
	}
	if (r->truncated)
		DNS_COUNT(d, DNS_C_TRUNCATED);
}

static void dns_udp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dns_listener *l = w->data;
	struct dns *d = l->d;
	union zt_sockaddr from;
	struct dns_reply r;
	socklen_t flen;
	ssize_t n;
	int i;

	(void)loop;
	(void)revents;
	for (i = 0; i < DNS_UDP_BATCH; i++) {
		flen = sizeof from;
		n = recvfrom(l->ufd, d->in, sizeof d->in, 0, &from.sa, &flen);
		if (n < 0)
			return;   /* EAGAIN, or an ICMP error of an earlier answer */
		dns_answer(l->net->zone, d->in, (size_t)n, false, d->out, DNS_UDP_MAX, &r);
		dns_count(d, &r);
		if (r.len)
			sendto(l->ufd, d->out, r.len, MSG_DONTWAIT, &from.sa, flen);
	}
}

static void dns_conn_close(struct dns_conn *c)
{
	struct dns *d = c->d;

	ev_io_stop(d->loop, &c->io);
	ev_timer_stop(d->loop, &c->idle);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	d->n_conns--;
	free(c);
}

static void dns_conn_want(struct dns_conn *c, int events)
{
	ev_io_stop(c->d->loop, &c->io);
	ev_io_set(&c->io, c->fd, events);
	ev_io_start(c->d->loop, &c->io);
}

/* A whole query is in c->in: answer it into c->out. */
static void dns_conn_query(struct dns_conn *c)
{
	struct dns *d = c->d;
	struct dns_net *net = dns_net_find(d, c->nwid);
	size_t qlen = (size_t)c->in[0] << 8 | c->in[1];
	struct dns_reply r;

	dns_answer(net ? net->zone : NULL, c->in + 2, qlen, true, c->out + 2, DNS_TCP_MAX, &r);
	dns_count(d, &r);
	memmove(c->in, c->in + 2 + qlen, c->in_len - 2 - qlen);
	c->in_len -= 2 + qlen;
	if (!r.len)
		return;
	c->out[0] = (uint8_t)(r.len >> 8);
	c->out[1] = (uint8_t)r.len;
	c->out_len = 2 + r.len;
	c->out_off = 0;
}

static void dns_conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dns_conn *c = w->data;
	ssize_t n;

	ev_timer_again(loop, &c->idle);
	if (revents & EV_WRITE) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			dns_conn_close(c);
			return;
		}
		if (n > 0)
			c->out_off += (size_t)n;
	} else {
		n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			dns_conn_close(c);
			return;
		}
		if (n > 0)
			c->in_len += (size_t)n;
	}
	/* answer what is complete while nothing waits to be written */
	while (c->out_off == c->out_len && c->in_len >= 2 &&
	       c->in_len >= 2 + ((size_t)c->in[0] << 8 | c->in[1])) {
		c->out_len = c->out_off = 0;
		dns_conn_query(c);
	}
	dns_conn_want(c, c->out_off < c->out_len ? EV_WRITE : EV_READ);
}

static void dns_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	dns_conn_close(w->data);
}

static void dns_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dns_listener *l = w->data;
	struct dns *d = l->d;
	struct dns_conn *c;
	int fd;

	(void)revents;
	fd = accept4(l->tfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (d->n_conns >= DNS_TCP_MAX_CONNS || !(c = calloc(1, sizeof *c))) {
		DNS_COUNT(d, DNS_C_TCP_REJECTED);
		close(fd);
		return;
	}
	DNS_COUNT(d, DNS_C_TCP_CONNECTIONS);
	c->d = d;
	c->fd = fd;
	c->nwid = l->net->nwid;
	ev_io_init(&c->io, dns_conn_cb, fd, EV_READ);
	c->io.data = c;
	ev_io_start(loop, &c->io);
	ev_init(&c->idle, dns_idle_cb);
	c->idle.repeat = DNS_TCP_IDLE_S;
	c->idle.data = c;
	ev_timer_again(loop, &c->idle);
	c->next = d->conns;
	if (c->next)
		c->next->prev = c;
	d->conns = c;
	d->n_conns++;
}

/* ---- sockets on the node's addresses ---- */

/* A socket bound to a; -1 (logged unless quiet) on failure. */
static int dns_socket(struct dns *d, const union zt_sockaddr *a, int type, bool quiet)
{
	char name[ZT_SOCKADDR_STRLEN];
	int one = 1, fd;
	socklen_t len = a->sa.sa_family == AF_INET ? sizeof a->in4 : sizeof a->in6;

	fd = socket(a->sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* the address may not be on the port yet: bind before it is */
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (a->sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, &a->sa, len) < 0 || (type == SOCK_STREAM && listen(fd, DNS_TCP_BACKLOG) < 0))
		goto fail;
	return fd;
fail:
	if (!quiet)
		zt_log(d->zi, ZT_LOG_ERR, "%s %s: %s (tried again every %.0f s)", type == SOCK_STREAM ? "tcp" : "udp",
		       zt_sockaddr_fmt(a, name, sizeof name), strerror(errno), DNS_RETRY_S);
	if (fd >= 0)
		close(fd);
	return -1;
}

static void dns_listener_close(struct dns *d, struct dns_listener *l)
{
	ev_io_stop(d->loop, &l->urd);
	ev_io_stop(d->loop, &l->acc);
	if (l->ufd >= 0)
		close(l->ufd);
	if (l->tfd >= 0)
		close(l->tfd);
	l->ufd = l->tfd = -1;
}

static void dns_listener_watch(struct dns *d, struct dns_listener *l)
{
	ev_io_init(&l->urd, dns_udp_cb, l->ufd, EV_READ);
	l->urd.data = l;
	ev_io_start(d->loop, &l->urd);
	ev_io_init(&l->acc, dns_accept_cb, l->tfd, EV_READ);
	l->acc.data = l;
	ev_io_start(d->loop, &l->acc);
}

static bool dns_addr_eq(const union zt_sockaddr *a, const union zt_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16);
}

/* Bind l's sockets and watch them; kept without sockets on failure, to
 * be tried again (quietly) after DNS_RETRY_S. */
static void dns_listener_open(struct dns *d, struct dns_listener *l, bool quiet)
{
	char name[ZT_SOCKADDR_STRLEN];

	l->ufd = dns_socket(d, &l->addr, SOCK_DGRAM, quiet);
	l->tfd = l->ufd < 0 ? -1 : dns_socket(d, &l->addr, SOCK_STREAM, quiet);
	if (l->tfd < 0) {
		dns_listener_close(d, l);
		l->retry_at = ev_now(d->loop) + DNS_RETRY_S;
		return;
	}
	dns_listener_watch(d, l);
	zt_log(d->zi, ZT_LOG_INFO, "network %016" PRIx64 ": listening on %s", l->net->nwid,
	       zt_sockaddr_fmt(&l->addr, name, sizeof name));
}

static void dns_listen_on(struct dns *d, struct dns_net *net, const union zt_sockaddr *addr)
{
	struct dns_listener *l;
	union zt_sockaddr a = *addr;
	size_t i;

	if (a.sa.sa_family == AF_INET)
		a.in4.sin_port = htons((uint16_t)d->port);
	else if (a.sa.sa_family == AF_INET6)
		a.in6.sin6_port = htons((uint16_t)d->port);
	else
		return;
	for (i = 0; i < net->n_listeners; i++)
		if (dns_addr_eq(&net->listeners[i].addr, &a)) {
			l = &net->listeners[i];
			l->seen = true;
			if (l->ufd < 0 && ev_now(d->loop) >= l->retry_at)
				dns_listener_open(d, l, true);
			return;
		}
	if (net->n_listeners == DNS_MAX_ADDRS)
		return;
	l = &net->listeners[net->n_listeners++];
	memset(l, 0, sizeof *l);
	l->d = d;
	l->net = net;
	l->addr = a;
	l->seen = true;
	l->ufd = l->tfd = -1;
	dns_listener_open(d, l, false);
}

/* Listen on the addresses the node has in the network now, and on no others. */
static void dns_net_listen(struct dns *d, struct dns_net *net, const struct zt_network_info *info)
{
	size_t i, kept = 0;

	for (i = 0; i < net->n_listeners; i++)
		net->listeners[i].seen = false;
	for (i = 0; info && net->served && i < info->n_addrs; i++)
		dns_listen_on(d, net, &info->addrs[i]);
	for (i = 0; i < net->n_listeners; i++) {
		struct dns_listener *l = &net->listeners[i];

		if (!l->seen) {
			dns_listener_close(d, l);
			continue;
		}
		if (kept != i) {
			/* the watchers point at the listener: move them with it */
			ev_io_stop(d->loop, &l->urd);
			ev_io_stop(d->loop, &l->acc);
			net->listeners[kept] = *l;
			if (l->ufd >= 0)
				dns_listener_watch(d, &net->listeners[kept]);
		}
		kept++;
	}
	net->n_listeners = kept;
}

/* ---- DNS servers announced to the controller ---- */

/* The body announcing the addresses net answers on: IPv4 first (a
 * resolver tries them in order), then IPv6, at most ZT_DNS_SERVERS;
 * "" when there are none to announce (no names served, no socket). */
static void dns_net_servers(const struct dns *d, const struct dns_net *net, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	size_t i, n = 0, len;
	int pass;

	out[0] = '\0';
	if (!d->push || !net->served || !net->zone)
		return;
	len = (size_t)snprintf(out, cap, "{\"servers\":[");
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < net->n_listeners && n < ZT_DNS_SERVERS; i++) {
			const struct dns_listener *l = &net->listeners[i];
			int family = pass ? AF_INET6 : AF_INET;

			if (l->ufd < 0 || l->addr.sa.sa_family != family)
				continue;
			inet_ntop(family, family == AF_INET ? (const void *)&l->addr.in4.sin_addr
							   : (const void *)&l->addr.in6.sin6_addr, ip, sizeof ip);
			len += (size_t)snprintf(out + len, cap - len, "%s\"%s\"", n++ ? "," : "", ip);
		}
	snprintf(out + len, cap - len, "]}");
	if (!n)
		out[0] = '\0';
}

/* Tell the controller of this ztd the servers net answers on (POST), or
 * that there are none (DELETE): it gives them to the network's members
 * as DNS servers while the network names none (zt-controller(7)).  The
 * same servers are told again every DNS_ANNOUNCE_S: the controller holds
 * them in memory, and one started again (a reload) learns them so. */
static void dns_net_announce(struct dns *d, struct dns_net *net, bool stopping)
{
	struct zt_api_request rq = { 0 };
	struct zt_api_response rs = { 0 };
	char path[128], body[DNS_ANNOUNCE_MAX];

	if (d->remote)
		return;
	if (stopping)
		body[0] = '\0';
	else
		dns_net_servers(d, net, body, sizeof body);
	if (!body[0] && !net->announced[0])
		return;
	if (body[0] && !strcmp(body, net->announced) && ev_now(d->loop) < net->announced_at + DNS_ANNOUNCE_S)
		return;
	snprintf(path, sizeof path, "/unstable/controller/network/%016" PRIx64 "/dns-service", net->nwid);
	rq.method = body[0] ? "POST" : "DELETE";
	rq.path = path;
	rq.body = body;
	rq.body_len = strlen(body);
	if (zt_core_api_dispatch(d->core, &rq, &rs) < 0 || rs.status != 200) {
		/* the controller is not there (yet, or any more): told at the next poll */
		free(rs.body);
		net->announced[0] = '\0';
		return;
	}
	free(rs.body);
	if (strcmp(body, net->announced))
		zt_log(d->zi, ZT_LOG_INFO, "network %016" PRIx64 ": %s%s", net->nwid,
		       body[0] ? "DNS servers announced to the controller: " : "DNS servers withdrawn from the controller",
		       body[0] ? body + strlen("{\"servers\":") : "");
	snprintf(net->announced, sizeof net->announced, "%s", body);
	net->announced_at = ev_now(d->loop);
}

/* ---- following the controller ---- */

static bool dns_str_eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* Append text to the malloc'd string *s ("" when NULL); false on no memory. */
static bool dns_append(char **s, const char *text)
{
	size_t have = *s ? strlen(*s) : 0, len = strlen(text);
	char *n = realloc(*s, have + len + 1);

	if (!n)
		return false;
	memcpy(n + have, text, len + 1);
	*s = n;
	return true;
}

/* A name left out of the zone being built: logged and counted only if
 * the last zone did not leave it out already (each rebuild meets them
 * all again). */
static void dns_skip_cb(void *ctx, uint64_t member, const char *name, const char *why)
{
	struct dns_net *net = ctx;
	char shown[65], line[256];
	size_t i;

	/* the name is the controller's: no control characters into the log */
	for (i = 0; name[i] && i < sizeof shown - 1; i++)
		shown[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
	shown[i] = '\0';
	/* lines between newlines: "\n<line>\n" matches a whole line only */
	snprintf(line, sizeof line, "\n%010" PRIx64 " %s\t%s\n", member, shown, why);
	if (!net->skipping && !dns_append(&net->skipping, "\n"))
		return;
	dns_append(&net->skipping, line + 1);
	if (net->skipped && strstr(net->skipped, line))
		return;
	DNS_COUNT(net->d, DNS_C_NAMES_SKIPPED);
	zt_log(net->d->zi, ZT_LOG_WARN, "member %010" PRIx64 ": '%s' left out: %s", member, shown, why);
}

static void dns_net_unserved(struct dns_net *net, const char *why);

/* GET <base>/network/<nwid><tail> from the controller; fn gets the body
 * if it answered 200.
 * In process (the controller of this ztd, through the API dispatch) fn
 * runs at once; from a remote controller's API, later from the loop. */
static void dns_fetch(struct dns_net *net, const char *base, const char *tail, dns_fetched_fn *fn)
{
	struct dns *d = net->d;
	struct zt_api_request rq = { .method = "GET", .body = "", .body_len = 0 };
	struct zt_api_response rs = { 0 };
	char path[128];

	snprintf(path, sizeof path, "%s/network/%016" PRIx64 "%s", base, net->nwid, tail);
	if (d->remote) {
		net->req = dns_remote_get(d->remote, path, fn, net);
		if (!net->req)
			fn(net, NULL, false, strerror(ENOMEM));
		return;
	}
	rq.path = path;
	if (zt_core_api_dispatch(d->core, &rq, &rs) < 0 || rs.status == 404) {
		free(rs.body);
		fn(net, NULL, true, "not a network of this ztd's controller");
		return;
	}
	if (rs.status != 200) {
		char why[48];

		free(rs.body);
		snprintf(why, sizeof why, "the controller answered %d", rs.status);
		fn(net, NULL, false, why);
		return;
	}
	fn(net, rs.body ? rs.body : strdup("{}"), false, "");
}

/* The controller failed or could not be reached: the zone it gave last
 * keeps being served, and the next poll looks again. */
static void dns_net_unreachable(struct dns_net *net, const char *why)
{
	if (!net->down)
		zt_log(net->d->zi, ZT_LOG_WARN, "network %016" PRIx64 ": the controller failed (%s): %s",
		       net->nwid, why, net->zone ? "the last names are kept" : "no names yet");
	net->down = true;
	net->busy = false;
	net->req = NULL;
	free(net->new_net);
	free(net->new_rev);
	net->new_net = net->new_rev = NULL;
}

/* A step's answer: true to go on with body, else what failed is handled. */
static bool dns_step_ok(struct dns_net *net, const char *body, bool gone, const char *why)
{
	net->req = NULL;
	if (!body) {
		if (gone)
			dns_net_unserved(net, why);
		else
			dns_net_unreachable(net, why);
		return false;
	}
	if (net->down)
		zt_log(net->d->zi, ZT_LOG_INFO, "network %016" PRIx64 ": the controller answers again", net->nwid);
	net->down = false;
	return true;
}

/* The controller does not serve the network (or cannot be reached). */
static void dns_net_unserved(struct dns_net *net, const char *why)
{
	struct dns *d = net->d;

	if (net->served || !net->net_body)
		zt_log(d->zi, net->served ? ZT_LOG_WARN : ZT_LOG_INFO,
		       "network %016" PRIx64 ": not served: %s", net->nwid, why);
	net->served = false;
	net->busy = false;
	net->req = NULL;
	dns_zone_free(net->zone);
	net->zone = NULL;
	free(net->net_body);
	net->net_body = strdup("");   /* logged once */
	free(net->new_net);
	free(net->new_rev);
	net->new_net = net->new_rev = NULL;
}

/* The third step: the member list, and the zone built again from it. */
static void dns_got_list(void *ctx, char *list, bool gone, const char *why)
{
	struct dns_net *net = ctx;
	struct dns *d = net->d;
	char reason[160] = "";
	struct dns_zone *z;
	uint32_t now = (uint32_t)time(NULL);

	if (!dns_step_ok(net, list, gone, why))
		return;
	/* the SOA serial only grows */
	net->serial = now > net->serial ? now : net->serial + 1;
	z = dns_zone_from_json(net->new_net, list, d->ttl, net->serial, dns_skip_cb, net, reason, sizeof reason);
	free(list);
	free(net->skipped);
	net->skipped = net->skipping;
	net->skipping = NULL;
	if (!z && strcmp(reason, net->why))
		zt_log(d->zi, ZT_LOG_WARN, "network %016" PRIx64 ": no names served: %s", net->nwid, reason);
	else if (z && (!net->zone || net->why[0]))
		zt_log(d->zi, ZT_LOG_INFO, "network %016" PRIx64 ": serving %s", net->nwid, z->domain);
	snprintf(net->why, sizeof net->why, "%s", z ? "" : reason);
	dns_zone_free(net->zone);
	net->zone = z;
	free(net->net_body);
	free(net->rev_body);
	net->net_body = net->new_net;
	net->rev_body = net->new_rev;
	net->new_net = net->new_rev = NULL;
	net->busy = false;
	DNS_COUNT(d, DNS_C_REBUILDS);
}

/* The second step: the members' revisions; the list is read only when
 * they or the network changed since the zone was built. */
static void dns_got_revisions(void *ctx, char *rev, bool gone, const char *why)
{
	struct dns_net *net = ctx;

	if (!dns_step_ok(net, rev, gone, why))
		return;
	net->served = true;
	if (dns_str_eq(net->new_net, net->net_body) && dns_str_eq(rev, net->rev_body)) {
		free(rev);
		free(net->new_net);
		net->new_net = NULL;
		net->busy = false;
		return;
	}
	net->new_rev = rev;
	dns_fetch(net, "/unstable/controller", "/member", dns_got_list);
}

/* The first step: the network object (its revision, dns and v6 modes). */
static void dns_got_network(void *ctx, char *body, bool gone, const char *why)
{
	struct dns_net *net = ctx;

	if (!dns_step_ok(net, body, gone, why))
		return;
	net->new_net = body;
	dns_fetch(net, "/controller", "/member", dns_got_revisions);
}

/* Whether the controller changed the network or a member since the zone
 * was built, and the zone built again if so; one look at a time. */
static void dns_net_follow(struct dns_net *net)
{
	if (net->busy)
		return;
	net->busy = true;
	dns_fetch(net, "/controller", "", dns_got_network);
}

static void dns_net_free(struct dns *d, struct dns_net *net)
{
	dns_net_announce(d, net, true);
	if (net->req)
		dns_remote_cancel(d->remote, net->req);
	free(net->new_net);
	free(net->new_rev);
	free(net->skipped);
	free(net->skipping);
	for (size_t i = 0; i < net->n_listeners; i++)
		dns_listener_close(d, &net->listeners[i]);
	dns_zone_free(net->zone);
	free(net->net_body);
	free(net->rev_body);
	free(net);
}

static bool dns_wanted(const struct dns *d, uint64_t nwid)
{
	if (!d->n_only)
		return true;
	for (size_t i = 0; i < d->n_only; i++)
		if (d->only[i] == nwid)
			return true;
	return false;
}

static void dns_joined_cb(void *ctx, const struct zt_network_info *info)
{
	struct dns *d = ctx;
	struct dns_net *net;

	if (!dns_wanted(d, info->nwid))
		return;
	net = dns_net_find(d, info->nwid);
	if (!net) {
		if (d->n_nets == DNS_MAX_NETS || !(net = calloc(1, sizeof *net)))
			return;
		net->nwid = info->nwid;
		net->d = d;
		d->nets[d->n_nets++] = net;
	}
	net->seen = true;
	dns_net_follow(net);
	dns_net_listen(d, net, info);
	dns_net_announce(d, net, false);
}

static void dns_poll(struct dns *d)
{
	size_t i, kept = 0;

	for (i = 0; i < d->n_nets; i++)
		d->nets[i]->seen = false;
	zt_core_networks(d->core, dns_joined_cb, d);
	for (i = 0; i < d->n_nets; i++) {
		if (d->nets[i]->seen) {
			d->nets[kept++] = d->nets[i];
			continue;
		}
		zt_log(d->zi, ZT_LOG_INFO, "network %016" PRIx64 ": left, not served", d->nets[i]->nwid);
		dns_net_free(d, d->nets[i]);
	}
	d->n_nets = kept;
}

static void dns_poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	dns_poll(w->data);
}

/* ---- lifecycle ---- */

static void dns_stop(void *state)
{
	struct dns *d = state;

	if (!d->started)
		return;
	ev_timer_stop(d->loop, &d->poll);
	while (d->conns)
		dns_conn_close(d->conns);
	for (size_t i = 0; i < d->n_nets; i++)
		dns_net_free(d, d->nets[i]);
	d->n_nets = 0;
	dns_remote_free(d->remote);
	d->remote = NULL;
	d->started = false;
}

/* The remote controller's API, with the token read from token-file. */
static int dns_remote_start(struct dns *d)
{
	char token[256], err[256];
	size_t len;
	FILE *f = fopen(d->token_file, "r");

	if (!f) {
		zt_log(d->zi, ZT_LOG_ERR, "token-file %s: %s", d->token_file, strerror(errno));
		return -1;
	}
	len = fread(token, 1, sizeof token - 1, f);
	fclose(f);
	token[len] = '\0';
	token[strcspn(token, "\r\n")] = '\0';
	if (!token[0]) {
		zt_log(d->zi, ZT_LOG_ERR, "token-file %s: empty", d->token_file);
		return -1;
	}
	d->remote = dns_remote_new(d->loop, d->url, token, err, sizeof err);
	sodium_memzero(token, sizeof token);
	if (!d->remote) {
		zt_log(d->zi, ZT_LOG_ERR, "controller-url %s: %s", d->url, err);
		return -1;
	}
	zt_log(d->zi, ZT_LOG_INFO, "following the controller at %s", d->url);
	return 0;
}

static int dns_start(void *state, struct ev_loop *loop)
{
	struct dns *d = state;

	if (d->started)
		return 0;
	d->core = zt_inst_core(d->zi);
	if (!d->core) {
		zt_log(d->zi, ZT_LOG_ERR, "the dns module needs a node");
		return -EINVAL;
	}
	d->loop = loop;
	if (d->url && dns_remote_start(d) < 0)
		return -EINVAL;
	d->started = true;
	ev_timer_init(&d->poll, dns_poll_cb, d->poll_s, d->poll_s);
	d->poll.data = d;
	ev_timer_start(loop, &d->poll);
	/* the controller (a service listed before or after) is started
	 * once the loop runs: the first look is the first tick's */
	return 0;
}

static void dns_destroy(void *state)
{
	struct dns *d = state;

	if (!d)
		return;
	free(d->url);
	free(d->token_file);
	free(d);
}

static int dns_networks(struct dns *d, const struct zt_node *conf)
{
	const struct zt_node *list = zt_node_get(conf, "networks");
	size_t i, n;

	if (!list)
		return 0;
	n = zt_node_len(list);
	if (!n && zt_node_scalar(list)) {
		zt_node_error(list, "not a list of network ids");
		return -EINVAL;
	}
	if (n > DNS_MAX_NETS) {
		zt_node_error(list, "at most %d networks", DNS_MAX_NETS);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		const struct zt_node *item = zt_node_at(list, i);
		const char *s = zt_node_scalar(item);
		char *end;

		if (!s || strlen(s) != 16 || (d->only[i] = strtoull(s, &end, 16), *end)) {
			zt_node_error(item, "not a network id (16 hex digits)");
			return -EINVAL;
		}
	}
	d->n_only = n;
	return 0;
}

static int dns_remote_opts(struct dns *d, const struct zt_node *conf)
{
	const char *url = zt_conf_str(conf, "controller-url"), *token = zt_conf_str(conf, "token-file");

	if (!url && !token)
		return 0;
	if (!url || !token) {
		zt_node_error(zt_node_get(conf, url ? "controller-url" : "token-file"),
			      "controller-url and token-file go together");
		return -1;
	}
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		zt_node_error(zt_node_get(conf, "controller-url"), "not an http:// or https:// URL");
		return -1;
	}
	d->url = strdup(url);
	d->token_file = strdup(token);
	if (!d->url || !d->token_file)
		return -1;
	/* no final slash: paths start with one */
	if (d->url[strlen(d->url) - 1] == '/')
		d->url[strlen(d->url) - 1] = '\0';
	return 0;
}

/* push: on by default where it can work, an error where asked for and
 * it cannot: resolvers ask port 53 (a network's DNS servers have no
 * port), and only the controller of this ztd is told, in process.  An
 * ANY option, as a bool one would always be given (its default). */
static int dns_push_opt(struct dns *d, const struct zt_node *conf)
{
	static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
	const struct zt_node *given = zt_node_get(conf, "push");
	const char *s = zt_node_scalar(given);
	bool can = d->port == 53 && !d->url;
	size_t i;

	d->push = can;
	if (!given)
		return 0;
	for (i = 0; s && i < 3; i++) {
		if (!strcasecmp(s, no[i])) {
			d->push = false;
			return 0;
		}
		if (!strcasecmp(s, yes[i])) {
			if (can)
				return 0;
			zt_node_error(given, d->url ? "not with controller-url (only the controller of this ztd is told)"
						    : "needs port 53 (members' resolvers ask port 53)");
			return -1;
		}
	}
	zt_node_error(given, "must be true or false");
	return -1;
}

static int dns_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	struct dns *d = calloc(1, sizeof *d);
	uint64_t poll_ms;
	size_t i;

	if (!d)
		return -ENOMEM;
	d->zi = zi;
	d->port = (unsigned)zt_conf_uint(conf, "port");
	d->ttl = (uint32_t)zt_conf_uint(conf, "ttl");
	poll_ms = zt_conf_duration_ms(conf, "poll");
	if (poll_ms < 10 || poll_ms > 60000) {
		zt_node_error(zt_node_get(conf, "poll"), "must be between 10ms and 60s");
		free(d);
		return -EINVAL;
	}
	d->poll_s = (double)poll_ms / 1000.0;
	if (dns_networks(d, conf) < 0 || dns_remote_opts(d, conf) < 0 || dns_push_opt(d, conf) < 0) {
		dns_destroy(d);
		return -EINVAL;
	}
	for (i = 0; i < DNS_N_COUNTERS; i++)
		if (!(d->counters[i] = zt_counter(zi, dns_counter_names[i]))) {
			dns_destroy(d);
			return -ENOMEM;
		}
	*state = d;
	return 0;
}

static const struct zt_opt dns_opts[] = {
	ZT_OPT_ANY("networks", 0, "network ids to serve (default: every joined network this node's controller runs)"),
	ZT_OPT_UINT("port", 53, 1, 65535, "UDP and TCP port on the node's addresses in each network"),
	ZT_OPT_UINT("ttl", 5, 0, 86400, "seconds resolvers may keep an answer (and a negative one)"),
	ZT_OPT_DURATION("poll", "250ms", "how often the controller's revisions are looked at"),
	ZT_OPT_STR("controller-url", NULL, "a remote controller's API, http://host:port (default: the controller of this ztd)"),
	ZT_OPT_STR("token-file", NULL, "with controller-url: that controller's authtoken.secret"),
	ZT_OPT_ANY("push", 0, "true or false: the controller gives members this module's addresses as DNS"
		   " servers while a network names none (default true with port 53 and no controller-url)"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI,
	.name = "dns",
	.kind = ZT_SERVICE,
	.summary = "DNS names of the controller's members, on the node's addresses in each network",
	.opts = dns_opts,
	.create = dns_create,
	.start = dns_start,
	.stop = dns_stop,
	.destroy = dns_destroy,
};
