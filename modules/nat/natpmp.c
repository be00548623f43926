/* natpmp: map the node's UDP port on the gateway with NAT-PMP (RFC 6886)
 * through libnatpmp, whose non-blocking interface runs on the node's
 * loop: the socket is watched for answers and a timer drives libnatpmp's
 * retransmissions, renewals and checks.  A check asks for the public
 * address, whose epoch tells a gateway that restarted, then renews the
 * mapping: the epoch misses a gateway that restarts soon after it had
 * started (RFC 6886 §3.6 allows 2 s and an eighth of the time elapsed),
 * and the renewal makes the mapping again all the same. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#define ENABLE_STRNATPMPERR 1   /* libnatpmp has it; its header hides it otherwise */
#include <natpmp.h>

#include "natbase.h"

enum natpmp_phase { NATPMP_IDLE, NATPMP_ADDR, NATPMP_MAP, NATPMP_CHECK };

struct natpmp {
	struct natbase b;
	struct in_addr forced_gw;     /* from the config; 0: the default route's */
	natpmp_t n;
	bool open;
	enum natpmp_phase phase;
	struct in_addr public_addr;
	uint32_t epoch;               /* the gateway's, at epoch_at */
	double epoch_at;
	bool have_epoch;
	double renew_at;              /* ev_now when the lease is renewed */
	ev_io io;
	ev_timer timer;
};

static void natpmp_begin(struct natpmp *s);

static void natpmp_close(struct natpmp *s)
{
	ev_io_stop(s->b.loop, &s->io);
	if (s->open)
		closenatpmp(&s->n);
	s->open = false;
}

static void natpmp_fail(struct natpmp *s, const char *why)
{
	(*s->b.failures)++;
	if (strcmp(s->b.m.state, why) != 0)
		zt_log(s->b.zi, ZT_LOG_WARN, "%s; trying again in %.0f s", why, s->b.retry_s);
	natpmp_close(s);
	s->have_epoch = false;
	natbase_state(&s->b, why);
	s->phase = NATPMP_IDLE;
	natbase_later(&s->b, &s->timer, s->b.retry_s);
}

/* A request was sent: wait for the answer or libnatpmp's next resend. */
static void natpmp_wait(struct natpmp *s, enum natpmp_phase phase, int sent)
{
	struct timeval tv;

	if (sent < 0) {
		natpmp_fail(s, "failed: cannot send");
		return;
	}
	s->phase = phase;
	if (getnatpmprequesttimeout(&s->n, &tv) < 0)
		tv.tv_sec = 0, tv.tv_usec = 250000;
	natbase_later(&s->b, &s->timer, tv.tv_sec + tv.tv_usec / 1e6 + 0.001);
}

static void natpmp_ask_map(struct natpmp *s, uint32_t lifetime)
{
	natpmp_wait(s, NATPMP_MAP, sendnewportmappingrequest(&s->n, NATPMP_PROTOCOL_UDP, s->b.port,
								s->b.want_port, lifetime));
}

/* RFC 6886 §3.6: an epoch that did not advance about as much as our own
 * clock did means the gateway restarted and may have lost the mapping. */
static bool natpmp_epoch_ok(struct natpmp *s, uint32_t epoch)
{
	double now = ev_now(s->b.loop);
	bool ok = true;

	if (s->have_epoch) {
		double expect = s->epoch + (now - s->epoch_at) * 7.0 / 8.0 - 2.0;

		ok = (double)epoch >= expect;
	}
	s->epoch = epoch;
	s->epoch_at = now;
	s->have_epoch = true;
	return ok;
}

static void natpmp_answer(struct natpmp *s, const natpmpresp_t *r)
{
	union zt_sockaddr ext;
	bool restarted = !natpmp_epoch_ok(s, r->epoch);

	if (s->phase == NATPMP_ADDR || s->phase == NATPMP_CHECK) {
		bool moved = s->public_addr.s_addr != r->pnu.publicaddress.addr.s_addr;

		if (r->type != NATPMP_RESPTYPE_PUBLICADDRESS || !r->pnu.publicaddress.addr.s_addr) {
			natbase_bad(&s->b, "public address answer of type %u, address 0", r->type);
			return;
		}
		s->public_addr = r->pnu.publicaddress.addr;
		if (s->phase == NATPMP_CHECK && (restarted || moved)) {
			zt_log(s->b.zi, ZT_LOG_INFO, "gateway %s (epoch %" PRIu32 "): mapping again",
			       restarted ? "restarted" : "changed its public address", r->epoch);
			natbase_state(&s->b, "remapping");
		}
		natpmp_ask_map(s, s->b.lease_s);
		return;
	}
	if (r->type != NATPMP_RESPTYPE_UDPPORTMAPPING || r->pnu.newportmapping.privateport != s->b.port ||
	    !r->pnu.newportmapping.mappedpublicport || !r->pnu.newportmapping.lifetime) {
		natbase_bad(&s->b, "mapping answer of type %u for port %u: public port %u, lifetime %" PRIu32,
			    r->type, r->pnu.newportmapping.privateport, r->pnu.newportmapping.mappedpublicport,
			    r->pnu.newportmapping.lifetime);
		return;
	}
	memset(&ext, 0, sizeof ext);
	ext.in4.sin_family = AF_INET;
	ext.in4.sin_addr = s->public_addr;
	ext.in4.sin_port = htons(r->pnu.newportmapping.mappedpublicport);
	natbase_mapped(&s->b, &ext, r->pnu.newportmapping.lifetime);
	s->renew_at = ev_now(s->b.loop) + r->pnu.newportmapping.lifetime / 2.0;
	s->phase = NATPMP_IDLE;
	natbase_later(&s->b, &s->timer, natbase_next(&s->b, r->pnu.newportmapping.lifetime));
}

/* The size an answer must have for the request pending (RFC 6886 §3.2,
 * §3.3): libnatpmp reads fields without checking it. */
static bool natpmp_size_ok(struct natpmp *s, ssize_t len)
{
	return s->phase == NATPMP_MAP ? len == 16 : len == 12;
}

static void natpmp_step(struct natpmp *s, bool readable)
{
	natpmpresp_t r;
	int rc;

	if (readable) {
		uint8_t peek[1];
		ssize_t len = recv(s->n.s, peek, sizeof peek, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);

		if (len >= 0 && !natpmp_size_ok(s, len)) {
			(void)recv(s->n.s, peek, sizeof peek, MSG_DONTWAIT);
			natbase_bad(&s->b, "answer of %zd bytes", len);
			return;
		}
	}
	memset(&r, 0, sizeof r);
	rc = readnatpmpresponseorretry(&s->n, &r);
	if (rc == NATPMP_TRYAGAIN) {
		natpmp_wait(s, s->phase, 0);
		return;
	}
	if (rc == NATPMP_ERR_NOGATEWAYSUPPORT) {
		natpmp_fail(s, "failed: no answer");
		return;
	}
	if (rc == NATPMP_ERR_WRONGPACKETSOURCE || rc == NATPMP_ERR_UNSUPPORTEDVERSION ||
	    rc == NATPMP_ERR_UNSUPPORTEDOPCODE || rc == NATPMP_ERR_RECVFROM) {
		natbase_bad(&s->b, "%s", strnatpmperr(rc));
		return;
	}
	if (rc < 0) {
		zt_log(s->b.zi, ZT_LOG_WARN, "gateway: %s", strnatpmperr(rc));
		natpmp_fail(s, "failed: refused");
		return;
	}
	natpmp_answer(s, &r);
}

static void natpmp_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct natpmp *s = w->data;

	if (s->phase != NATPMP_IDLE) {
		natpmp_step(s, true);
		return;
	}
	{	/* nothing asked: an announcement (§3.2.1) or junk; drain it */
		uint8_t buf[64];

		if (recv(s->n.s, buf, sizeof buf, MSG_DONTWAIT) >= 0)
			natbase_bad(&s->b, "an answer nothing was asked for");
	}
}

static void natpmp_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct natpmp *s = w->data;

	switch (s->phase) {
	case NATPMP_IDLE:
		if (!s->open) {
			natpmp_begin(s);
		} else if (ev_now(s->b.loop) >= s->renew_at) {
			natpmp_ask_map(s, s->b.lease_s);
		} else {
			natpmp_wait(s, NATPMP_CHECK, sendpublicaddressrequest(&s->n));
		}
		return;
	default:
		natpmp_step(s, false);
	}
}

static void natpmp_begin(struct natpmp *s)
{
	union zt_sockaddr gw;
	int rc = initnatpmp(&s->n, s->forced_gw.s_addr != 0, s->forced_gw.s_addr);

	if (rc < 0) {
		natpmp_fail(s, rc == NATPMP_ERR_CANNOTGETGATEWAY ? "failed: no gateway" : "failed: no socket");
		return;
	}
	s->open = true;
	memset(&gw, 0, sizeof gw);
	gw.in4.sin_family = AF_INET;
	gw.in4.sin_addr.s_addr = s->n.gateway;
	gw.in4.sin_port = htons(5351);
	natbase_gateway(&s->b, &gw);
	ev_io_set(&s->io, s->n.s, EV_READ);
	ev_io_start(s->b.loop, &s->io);
	natpmp_wait(s, NATPMP_ADDR, sendpublicaddressrequest(&s->n));
}

static int natpmp_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	struct natpmp *s = calloc(1, sizeof *s);
	union zt_sockaddr gw;
	int rc;

	if (!s)
		return -ENOMEM;
	if ((rc = natbase_create(&s->b, zi, conf, "natpmp")) < 0) {
		free(s);
		return rc;
	}
	if (zt_conf_addrs(conf, "gateway", &gw, 1) == 1) {
		if (gw.sa.sa_family != AF_INET) {
			zt_node_error(zt_node_get(conf, "gateway"), "NAT-PMP gateways are IPv4");
			free(s);
			return -EINVAL;
		}
		s->forced_gw = gw.in4.sin_addr;
	}
	ev_io_init(&s->io, natpmp_readable, -1, EV_READ);
	ev_timer_init(&s->timer, natpmp_timer, 0., 0.);
	s->io.data = s->timer.data = s;
	*state = s;
	return 0;
}

static int natpmp_start(void *state, struct ev_loop *loop)
{
	struct natpmp *s = state;
	int rc = natbase_start(&s->b, loop);

	if (rc < 0)
		return rc;
	natpmp_begin(s);
	return 0;
}

/* A clean stop deletes the mapping (lifetime 0, §3.4): one request and a
 * short wait for its answer, resent once; the loop is stopping. */
static void natpmp_unmap(struct natpmp *s)
{
	struct pollfd p = { .fd = s->n.s, .events = POLLIN };
	natpmpresp_t r;

	for (int tries = 0; tries < 2; tries++) {
		if (sendnewportmappingrequest(&s->n, NATPMP_PROTOCOL_UDP, s->b.port, 0, 0) < 0)
			return;
		if (poll(&p, 1, 500) == 1 && readnatpmpresponseorretry(&s->n, &r) == 0) {
			zt_log(s->b.zi, ZT_LOG_INFO, "mapping of udp port %u deleted", s->b.port);
			return;
		}
	}
	zt_log(s->b.zi, ZT_LOG_WARN, "gateway did not confirm deleting the mapping");
}

static void natpmp_stop(void *state)
{
	struct natpmp *s = state;

	if (!s->b.loop)
		return;
	ev_timer_stop(s->b.loop, &s->timer);
	if (s->open && strcmp(s->b.m.state, "mapped") == 0)
		natpmp_unmap(s);
	natpmp_close(s);
	natbase_clear(&s->b);
	s->phase = NATPMP_IDLE;
}

static void natpmp_destroy(void *state)
{
	free(state);
}

static const struct zt_opt natpmp_opts[] = {
	NATBASE_OPTS,
	ZT_OPT_ADDR("gateway", 0, NULL, "the NAT-PMP gateway; default: the IPv4 default route's"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI, .name = "natpmp", .kind = ZT_NAT,
	.summary = "maps the node's UDP port on the gateway with NAT-PMP (libnatpmp)",
	.opts = natpmp_opts,
	.create = natpmp_create, .start = natpmp_start,
	.stop = natpmp_stop, .destroy = natpmp_destroy,
};
