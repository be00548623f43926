/* upnp: map the node's UDP port on an Internet Gateway Device with
 * libminiupnpc (SSDP discovery, SOAP AddPortMapping).  Those calls block
 * (discovery waits, SOAP is synchronous HTTP), so they run on a thread of
 * this instance: the loop hands it one job at a time (map, check, unmap)
 * and the thread posts the result back with an ev_async.  A check asks
 * the IGD for the mapping (GetSpecificPortMappingEntry): a gateway that
 * restarted has lost it, or no longer answers, and is found and asked
 * again. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>

#include "natbase.h"

enum upnp_job { UPNP_NONE, UPNP_MAP, UPNP_CHECK, UPNP_QUIT };

enum upnp_outcome {
	UPNP_OK,                      /* mapped (MAP) or still there (CHECK) */
	UPNP_NO_IGD,                  /* discovery found no connected IGD */
	UPNP_GONE,                    /* CHECK: the mapping is not there (or the IGD is not) */
	UPNP_REFUSED,                 /* the IGD answered with an error */
	UPNP_BAD,                     /* the IGD answered nonsense */
};

struct upnp_result {
	enum upnp_job job;
	enum upnp_outcome outcome;
	union zt_sockaddr gateway, external;
	uint32_t lease_s;
	char why[128];
};

struct upnp {
	struct natbase b;
	unsigned discover_ms;
	/* the thread's: only it touches these */
	struct UPNPUrls urls;
	struct IGDdatas data;
	bool have_igd;
	bool have_mapping;            /* one we made and have not seen lost */
	char lanaddr[64];
	uint16_t ext_port;            /* the external port of the mapping */
	/* shared, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum upnp_job job;
	bool busy, done;
	struct upnp_result result;
	/* the loop's */
	pthread_t thread;
	bool running;
	ev_async async;
	ev_timer timer;
};

/* ---- on the thread ---- */

static void upnp_forget_igd(struct upnp *s)
{
	if (s->have_igd)
		FreeUPNPUrls(&s->urls);
	s->have_igd = false;
}

static void upnp_addr(union zt_sockaddr *out, const char *ip, uint16_t port)
{
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, ip, &out->in4.sin_addr) == 1) {
		out->in4.sin_family = AF_INET;
		out->in4.sin_port = htons(port);
	}
}

static bool upnp_discover(struct upnp *s, struct upnp_result *r)
{
	int err = 0, found;
	struct UPNPDev *devs;
	char *host, *colon;

	if (s->have_igd)
		return true;
	devs = upnpDiscover((int)s->discover_ms, NULL, NULL, 0, 0, 2, &err);
	if (!devs) {
		r->outcome = UPNP_NO_IGD;
		snprintf(r->why, sizeof r->why, "no UPnP device answered");
		return false;
	}
	found = UPNP_GetValidIGD(devs, &s->urls, &s->data, s->lanaddr, sizeof s->lanaddr);
	freeUPNPDevlist(devs);
	/* 2: an IGD that says it is not connected; gateways behind another
	 * NAT, or with a reserved external address, say so and still map */
	if (found != 1 && found != 2) {
		if (found)
			FreeUPNPUrls(&s->urls);
		r->outcome = UPNP_NO_IGD;
		snprintf(r->why, sizeof r->why, "no Internet Gateway Device (%s)",
			 found ? "a UPnP device that is not one" : "none found");
		return false;
	}
	s->have_igd = true;
	/* the gateway, for /status: the host of its control URL */
	host = strstr(s->urls.controlURL, "://");
	if (host && (host = strdup(host + 3))) {
		if ((colon = strpbrk(host, ":/")))
			*colon = '\0';
		upnp_addr(&r->gateway, host, 0);
		free(host);
	}
	return true;
}

static void upnp_do_map(struct upnp *s, struct upnp_result *r)
{
	char ext[8], in[8], lease[16], ip[64] = "";
	int rc;

	if (!upnp_discover(s, r))
		return;
	snprintf(ext, sizeof ext, "%u", s->ext_port);
	snprintf(in, sizeof in, "%u", s->b.port);
	snprintf(lease, sizeof lease, "%" PRIu32, s->b.lease_s);
	rc = UPNP_AddPortMapping(s->urls.controlURL, s->data.first.servicetype, ext, in, s->lanaddr, "zt", "UDP",
				 NULL, lease);
	if (rc == 725) {   /* OnlyPermanentLeasesSupported: ask for one, renewed the same */
		rc = UPNP_AddPortMapping(s->urls.controlURL, s->data.first.servicetype, ext, in, s->lanaddr,
					 "zt", "UDP", NULL, "0");
		snprintf(lease, sizeof lease, "0");
	}
	if (rc != UPNPCOMMAND_SUCCESS) {
		r->outcome = UPNP_REFUSED;
		snprintf(r->why, sizeof r->why, "AddPortMapping: %d %s", rc, strupnperror(rc));
		upnp_forget_igd(s);
		return;
	}
	rc = UPNP_GetExternalIPAddress(s->urls.controlURL, s->data.first.servicetype, ip);
	ip[sizeof ip - 1] = '\0';
	upnp_addr(&r->external, ip, s->ext_port);
	if (rc != UPNPCOMMAND_SUCCESS || r->external.sa.sa_family != AF_INET ||
	    !r->external.in4.sin_addr.s_addr) {
		r->outcome = UPNP_BAD;
		snprintf(r->why, sizeof r->why, "GetExternalIPAddress: %d, address '%.40s'", rc, ip);
		return;
	}
	r->outcome = UPNP_OK;
	r->lease_s = (uint32_t)strtoul(lease, NULL, 10);
	s->have_mapping = true;
}

/* Is our mapping still there, to us?  Anything else needs a new one. */
static void upnp_do_check(struct upnp *s, struct upnp_result *r)
{
	char ext[8], client[64] = "", port[64] = "", desc[128] = "", enabled[64] = "", lease[64] = "";
	int rc;

	if (!s->have_igd) {
		r->outcome = UPNP_GONE;
		snprintf(r->why, sizeof r->why, "no gateway");
		return;
	}
	snprintf(ext, sizeof ext, "%u", s->ext_port);
	rc = UPNP_GetSpecificPortMappingEntry(s->urls.controlURL, s->data.first.servicetype, ext, "UDP", NULL,
					      client, port, desc, enabled, lease);
	if (rc != UPNPCOMMAND_SUCCESS) {
		r->outcome = UPNP_GONE;
		snprintf(r->why, sizeof r->why, "GetSpecificPortMappingEntry: %d %s", rc, strupnperror(rc));
		s->have_mapping = false;
		upnp_forget_igd(s);
		return;
	}
	client[sizeof client - 1] = port[sizeof port - 1] = '\0';
	if (strcmp(client, s->lanaddr) != 0 || strtoul(port, NULL, 10) != s->b.port) {
		r->outcome = UPNP_GONE;
		s->have_mapping = false;
		snprintf(r->why, sizeof r->why, "port %s is mapped to %.40s:%.8s, not us", ext, client, port);
		return;
	}
	r->outcome = UPNP_OK;
}

static void upnp_do_unmap(struct upnp *s)
{
	char ext[8];

	if (!s->have_igd || !s->have_mapping)
		return;
	snprintf(ext, sizeof ext, "%u", s->ext_port);
	UPNP_DeletePortMapping(s->urls.controlURL, s->data.first.servicetype, ext, "UDP", NULL);
}

static void *upnp_thread(void *arg)
{
	struct upnp *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		enum upnp_job job;
		struct upnp_result r;

		while (s->job == UPNP_NONE)
			pthread_cond_wait(&s->cv, &s->mu);
		job = s->job;
		s->job = UPNP_NONE;
		if (job == UPNP_QUIT)
			break;
		pthread_mutex_unlock(&s->mu);
		memset(&r, 0, sizeof r);
		r.job = job;
		if (job == UPNP_MAP)
			upnp_do_map(s, &r);
		else
			upnp_do_check(s, &r);
		pthread_mutex_lock(&s->mu);
		s->result = r;
		s->done = true;
		ev_async_send(s->b.loop, &s->async);
	}
	/* a clean stop: delete the mapping if there is one */
	pthread_mutex_unlock(&s->mu);
	upnp_do_unmap(s);
	upnp_forget_igd(s);
	return NULL;
}

/* ---- on the loop ---- */

static void upnp_post(struct upnp *s, enum upnp_job job)
{
	pthread_mutex_lock(&s->mu);
	s->job = job;
	s->busy = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static double upnp_renew_at(const struct upnp *s);

static void upnp_result(struct upnp *s, const struct upnp_result *r)
{
	double renew;

	if (r->gateway.sa.sa_family)
		natbase_gateway(&s->b, &r->gateway);
	switch (r->outcome) {
	case UPNP_OK:
		if (r->job == UPNP_MAP) {
			natbase_mapped(&s->b, &r->external, r->lease_s ? r->lease_s : s->b.lease_s);
			if (!r->lease_s)   /* permanent: renewed all the same */
				s->b.m.lease_end = 0;
		}
		renew = upnp_renew_at(s);
		natbase_later(&s->b, &s->timer, renew < 0.5 ? 0.5 : renew < s->b.check_s ? renew : s->b.check_s);
		return;
	case UPNP_GONE:
		zt_log(s->b.zi, ZT_LOG_INFO, "mapping lost (%s): gateway restarted? mapping again", r->why);
		natbase_state(&s->b, "remapping");
		upnp_post(s, UPNP_MAP);
		return;
	case UPNP_BAD:
		natbase_bad(&s->b, "%s", r->why);
		break;
	case UPNP_NO_IGD:
	case UPNP_REFUSED:
		if (strncmp(s->b.m.state, "failed", 6) != 0)
			zt_log(s->b.zi, ZT_LOG_WARN, "%s; trying again in %.0f s", r->why, s->b.retry_s);
		break;
	}
	(*s->b.failures)++;
	natbase_state(&s->b, r->outcome == UPNP_NO_IGD ? "failed: no gateway" : "failed: refused");
	natbase_later(&s->b, &s->timer, s->b.retry_s);
}

static void upnp_async(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop, (void)revents;
	struct upnp *s = w->data;
	struct upnp_result r;
	bool done;

	pthread_mutex_lock(&s->mu);
	done = s->done;
	r = s->result;
	s->done = false;
	s->busy = false;
	pthread_mutex_unlock(&s->mu);
	if (!done)
		return;
	upnp_result(s, &r);
}

/* Renew (AddPortMapping again: §2.4.16 of the IGD spec allows it) at
 * half the lease, check in between. */
static double upnp_renew_at(const struct upnp *s)
{
	int64_t left = s->b.m.lease_end - (int64_t)(ev_now(s->b.loop) * 1000.0);

	/* a permanent mapping is renewed as often as a leased one */
	if (!s->b.m.lease_end)
		return (double)s->b.lease_s / 2.0;
	return (double)left / 1000.0 - (double)s->b.lease_s / 2.0;
}

static void upnp_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct upnp *s = w->data;

	if (s->busy)
		return;
	if (strcmp(s->b.m.state, "mapped") == 0 && upnp_renew_at(s) > 0)
		upnp_post(s, UPNP_CHECK);
	else
		upnp_post(s, UPNP_MAP);
}

static int upnp_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	struct upnp *s = calloc(1, sizeof *s);
	int rc;

	if (!s)
		return -ENOMEM;
	if ((rc = natbase_create(&s->b, zi, conf, "upnp")) < 0) {
		free(s);
		return rc;
	}
	s->discover_ms = (unsigned)zt_conf_duration_ms(conf, "discover");
	if (s->discover_ms < 100 || s->discover_ms > 60000) {
		zt_node_error(zt_node_get(conf, "discover"), "must be between 100ms and 60s");
		free(s);
		return -EINVAL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	ev_async_init(&s->async, upnp_async);
	ev_timer_init(&s->timer, upnp_timer, 0., 0.);
	s->async.data = s->timer.data = s;
	*state = s;
	return 0;
}

static int upnp_start(void *state, struct ev_loop *loop)
{
	struct upnp *s = state;
	int rc = natbase_start(&s->b, loop);

	if (rc < 0)
		return rc;
	s->ext_port = s->b.want_port;
	ev_async_start(loop, &s->async);
	if ((rc = pthread_create(&s->thread, NULL, upnp_thread, s)) != 0) {
		zt_log(s->b.zi, ZT_LOG_ERR, "thread: %s", strerror(rc));
		ev_async_stop(loop, &s->async);
		return -rc;
	}
	s->running = true;
	upnp_post(s, UPNP_MAP);
	return 0;
}

static void upnp_stop(void *state)
{
	struct upnp *s = state;

	if (!s->running)
		return;
	ev_timer_stop(s->b.loop, &s->timer);
	pthread_mutex_lock(&s->mu);
	s->job = UPNP_QUIT;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);   /* a job under way ends first (bounded by miniupnpc's timeouts) */
	s->running = false;
	if (strcmp(s->b.m.state, "mapped") == 0)
		zt_log(s->b.zi, ZT_LOG_INFO, "mapping of udp port %u deleted", s->b.port);
	ev_async_stop(s->b.loop, &s->async);
	natbase_clear(&s->b);
}

static void upnp_destroy(void *state)
{
	struct upnp *s = state;

	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

static const struct zt_opt upnp_opts[] = {
	NATBASE_OPTS,
	ZT_OPT_DURATION("discover", "2s", "how long SSDP discovery waits for gateways"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI, .name = "upnp", .kind = ZT_NAT,
	.summary = "maps the node's UDP port on a UPnP Internet Gateway Device (libminiupnpc)",
	.opts = upnp_opts,
	.create = upnp_create, .start = upnp_start,
	.stop = upnp_stop, .destroy = upnp_destroy,
};
