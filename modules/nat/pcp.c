/* pcp: map the node's UDP port on the gateway with a PCP MAP request
 * (RFC 6887), written here (no Debian library has a PCP client).  One
 * non-blocking UDP socket connected to the gateway, on the node's loop:
 * requests are resent at 1, 2, 4, 8 s (§8.1.1, shortened), the mapping is
 * refreshed at every check (a MAP with the same nonce, §11.2.1) and at
 * half its lifetime, and each answer's epoch (§8.5) tells a gateway that
 * restarted and lost the mapping: it is then asked again at once. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <sodium.h>

#include "natbase.h"
#include "pcpwire.h"

#define PCP_TRIES 4

struct pcp {
	struct natbase b;
	union zt_sockaddr gw;         /* from the config, or the default route's (port 5351) */
	bool gw_forced;
	int fd;
	struct in6_addr client;       /* our address towards the gateway, as PCP writes it */
	struct pcp_map want;          /* what we ask: nonce, ports */
	bool waiting;                 /* a request is out */
	uint32_t asked_lifetime;
	unsigned tries;
	uint32_t epoch;
	double epoch_at;
	bool have_epoch;
	double renew_at;
	ev_io io;
	ev_timer timer;
};

static void pcp_close(struct pcp *s)
{
	ev_io_stop(s->b.loop, &s->io);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->waiting = false;
}

static void pcp_fail(struct pcp *s, const char *why)
{
	(*s->b.failures)++;
	if (strcmp(s->b.m.state, why) != 0)
		zt_log(s->b.zi, ZT_LOG_WARN, "%s; trying again in %.0f s", why, s->b.retry_s);
	pcp_close(s);
	s->have_epoch = false;
	natbase_state(&s->b, why);
	natbase_later(&s->b, &s->timer, s->b.retry_s);
}

static void pcp_send(struct pcp *s)
{
	uint8_t req[PCP_MAP_LEN];

	pcp_map_request(req, &s->client, s->asked_lifetime, &s->want);
	if (send(s->fd, req, sizeof req, 0) < 0 && errno != EAGAIN)
		zt_log(s->b.zi, ZT_LOG_DEBUG, "send: %s", strerror(errno));
	natbase_later(&s->b, &s->timer, (double)(1u << s->tries));
	s->tries++;
}

static void pcp_ask(struct pcp *s, uint32_t lifetime)
{
	s->waiting = true;
	s->asked_lifetime = lifetime;
	s->tries = 0;
	pcp_send(s);
}

/* Open the socket towards the gateway and learn our address on its
 * side: PCP's requests carry it (§8.1) and the gateway checks it. */
static int pcp_open(struct pcp *s)
{
	union zt_sockaddr me;
	socklen_t len = sizeof me;

	if (!s->gw_forced) {
		memset(&s->gw, 0, sizeof s->gw);
		s->gw.in4.sin_family = AF_INET;
		s->gw.in4.sin_port = htons(PCP_PORT);
		if (natbase_default_gateway(&s->gw.in4.sin_addr) < 0)
			return -ENETUNREACH;
	}
	natbase_gateway(&s->b, &s->gw);
	s->fd = socket(s->gw.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	if (connect(s->fd, &s->gw.sa, s->gw.sa.sa_family == AF_INET ? sizeof s->gw.in4 : sizeof s->gw.in6) < 0 ||
	    getsockname(s->fd, &me.sa, &len) < 0) {
		int rc = -errno;

		pcp_close(s);
		return rc;
	}
	if (me.sa.sa_family == AF_INET) {
		memset(&s->client, 0, sizeof s->client);
		s->client.s6_addr[10] = s->client.s6_addr[11] = 0xff;
		memcpy(&s->client.s6_addr[12], &me.in4.sin_addr, 4);
	} else {
		s->client = me.in6.sin6_addr;
	}
	ev_io_set(&s->io, s->fd, EV_READ);
	ev_io_start(s->b.loop, &s->io);
	return 0;
}

static void pcp_begin(struct pcp *s)
{
	int rc = pcp_open(s);

	if (rc < 0) {
		pcp_fail(s, rc == -ENETUNREACH ? "failed: no gateway" : "failed: no socket");
		return;
	}
	pcp_ask(s, s->b.lease_s);
}

/* §8.5: the server's epoch must advance about as our clock does; less
 * means it restarted and may have lost its state. */
static bool pcp_epoch_ok(struct pcp *s, uint32_t epoch)
{
	double now = ev_now(s->b.loop);
	bool ok = !s->have_epoch || (double)epoch + 2.0 >= s->epoch + (now - s->epoch_at) * 7.0 / 8.0;

	s->epoch = epoch;
	s->epoch_at = now;
	s->have_epoch = true;
	return ok;
}

static void pcp_external(const struct pcp_map *m, union zt_sockaddr *out)
{
	memset(out, 0, sizeof *out);
	if (IN6_IS_ADDR_V4MAPPED(&m->external)) {
		out->in4.sin_family = AF_INET;
		memcpy(&out->in4.sin_addr, &m->external.s6_addr[12], 4);
		out->in4.sin_port = htons(m->external_port);
	} else {
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_addr = m->external;
		out->in6.sin6_port = htons(m->external_port);
	}
}

static void pcp_answer(struct pcp *s, const struct pcp_answer *a)
{
	union zt_sockaddr ext;
	bool restarted;

	if (memcmp(a->map.nonce, s->want.nonce, sizeof s->want.nonce) != 0 ||
	    a->map.protocol != PCP_PROTO_UDP || a->map.internal_port != s->want.internal_port) {
		natbase_bad(&s->b, "answer for another mapping (nonce, protocol or port)");
		return;
	}
	s->waiting = false;
	restarted = !pcp_epoch_ok(s, a->epoch);
	if (a->result != 0) {
		zt_log(s->b.zi, ZT_LOG_WARN, "gateway: %s", pcp_result_name(a->result));
		pcp_fail(s, "failed: refused");
		return;
	}
	if (restarted && strcmp(s->b.m.state, "mapped") == 0) {
		/* this answer is already the new mapping: say so */
		zt_log(s->b.zi, ZT_LOG_INFO, "gateway restarted (epoch %" PRIu32 "): mapping again", a->epoch);
		natbase_state(&s->b, "remapping");
	}
	pcp_external(&a->map, &ext);
	natbase_mapped(&s->b, &ext, a->lifetime);
	s->want.external_port = a->map.external_port;   /* ask for it again when renewing */
	s->want.external = a->map.external;
	s->renew_at = ev_now(s->b.loop) + a->lifetime / 2.0;
	natbase_later(&s->b, &s->timer, natbase_next(&s->b, a->lifetime));
}

static void pcp_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct pcp *s = w->data;
	uint8_t buf[PCP_MAX_LEN + 4];
	struct pcp_answer a;
	char why[64];
	ssize_t n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);

	if (n < 0)
		return;   /* e.g. ICMP port unreachable: the retries go on */
	if (pcp_answer_parse(buf, (size_t)n, &a, why, sizeof why) < 0) {
		natbase_bad(&s->b, "answer of %zd bytes: %s", n, why);
		return;
	}
	if (!s->waiting) {
		natbase_bad(&s->b, "an answer nothing was asked for");
		return;
	}
	pcp_answer(s, &a);
}

static void pcp_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct pcp *s = w->data;

	if (s->fd < 0)
		pcp_begin(s);
	else if (s->waiting && s->tries >= PCP_TRIES)
		pcp_fail(s, "failed: no answer");
	else if (s->waiting)
		pcp_send(s);
	else
		pcp_ask(s, s->b.lease_s);   /* renew, and with it check the epoch */
}

static int pcp_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	struct pcp *s = calloc(1, sizeof *s);
	int rc;

	if (!s)
		return -ENOMEM;
	if ((rc = natbase_create(&s->b, zi, conf, "pcp")) < 0) {
		free(s);
		return rc;
	}
	if (zt_conf_addrs(conf, "gateway", &s->gw, 1) == 1)
		s->gw_forced = true;
	s->fd = -1;
	ev_io_init(&s->io, pcp_readable, -1, EV_READ);
	ev_timer_init(&s->timer, pcp_timer, 0., 0.);
	s->io.data = s->timer.data = s;
	*state = s;
	return 0;
}

static int pcp_start(void *state, struct ev_loop *loop)
{
	struct pcp *s = state;
	int rc = natbase_start(&s->b, loop);

	if (rc < 0)
		return rc;
	randombytes_buf(s->want.nonce, sizeof s->want.nonce);
	s->want.protocol = PCP_PROTO_UDP;
	s->want.internal_port = s->b.port;
	s->want.external_port = s->b.want_port;
	pcp_begin(s);
	return 0;
}

/* A clean stop deletes the mapping: MAP with lifetime 0 and the same
 * nonce (§15), one short wait for the answer, resent once. */
static void pcp_unmap(struct pcp *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	uint8_t req[PCP_MAP_LEN], buf[PCP_MAX_LEN + 4];
	struct pcp_answer a;
	char why[64];

	pcp_map_request(req, &s->client, 0, &s->want);
	for (int tries = 0; tries < 2; tries++) {
		ssize_t n;

		if (send(s->fd, req, sizeof req, 0) < 0)
			break;
		if (poll(&p, 1, 500) != 1 || (n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT)) < 0)
			continue;
		if (pcp_answer_parse(buf, (size_t)n, &a, why, sizeof why) < 0 ||
		    memcmp(a.map.nonce, s->want.nonce, sizeof a.map.nonce) != 0 || a.lifetime)
			continue;   /* not the answer to this request */
		if (a.result == 0)
			zt_log(s->b.zi, ZT_LOG_INFO, "mapping of udp port %u deleted", s->b.port);
		else
			zt_log(s->b.zi, ZT_LOG_WARN, "gateway refused to delete the mapping: %s",
			       pcp_result_name(a.result));
		return;
	}
	zt_log(s->b.zi, ZT_LOG_WARN, "gateway did not confirm deleting the mapping");
}

static void pcp_stop(void *state)
{
	struct pcp *s = state;

	if (!s->b.loop)
		return;
	ev_timer_stop(s->b.loop, &s->timer);
	if (s->fd >= 0 && strcmp(s->b.m.state, "mapped") == 0)
		pcp_unmap(s);
	pcp_close(s);
	natbase_clear(&s->b);
}

static void pcp_destroy(void *state)
{
	free(state);
}

static const struct zt_opt pcp_opts[] = {
	NATBASE_OPTS,
	ZT_OPT_ADDR("gateway", 0, NULL, "the PCP server; default: the IPv4 default route's, port 5351"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI, .name = "pcp", .kind = ZT_NAT,
	.summary = "maps the node's UDP port on the gateway with PCP MAP (RFC 6887)",
	.opts = pcp_opts,
	.create = pcp_create, .start = pcp_start,
	.stop = pcp_stop, .destroy = pcp_destroy,
};
