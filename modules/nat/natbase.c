/* The NAT helpers' common part; see natbase.h. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "natbase.h"

int natbase_create(struct natbase *b, struct zt_inst *zi, const struct zt_node *conf, const char *protocol)
{
	uint64_t lease_ms = zt_conf_duration_ms(conf, "lease");

	memset(b, 0, sizeof *b);
	b->zi = zi;
	b->protocol = protocol;
	if (lease_ms < 2000 || lease_ms > 86400000ull) {
		zt_node_error(zt_node_get(conf, "lease"), "must be between 2s and 24h");
		return -EINVAL;
	}
	b->lease_s = (uint32_t)(lease_ms / 1000);
	b->check_s = (double)zt_conf_duration_ms(conf, "check") / 1000.0;
	b->retry_s = (double)zt_conf_duration_ms(conf, "retry") / 1000.0;
	if (b->check_s < 0.5 || b->retry_s < 0.5) {
		zt_node_error(conf, "check and retry must be at least 500ms");
		return -EINVAL;
	}
	b->want_port = (uint16_t)zt_conf_uint(conf, "external-port");
	snprintf(b->m.helper, sizeof b->m.helper, "%s", zt_inst_name(zi));
	snprintf(b->m.protocol, sizeof b->m.protocol, "%s", protocol);
	if (!(b->bad_answers = zt_counter(zi, "bad_answers")) || !(b->mapped = zt_counter(zi, "mapped")) ||
	    !(b->lost = zt_counter(zi, "lost")) || !(b->failures = zt_counter(zi, "failures")))
		return -ENOMEM;
	return 0;
}

int natbase_start(struct natbase *b, struct ev_loop *loop)
{
	b->loop = loop;
	b->core = zt_inst_core(b->zi);
	if (!b->core) {
		zt_log(b->zi, ZT_LOG_ERR, "a NAT helper needs a node (a pipeline with a udp transport)");
		return -EINVAL;
	}
	b->port = zt_core_udp_port(b->core);
	if (!b->port) {
		zt_log(b->zi, ZT_LOG_ERR, "no udp transport: nothing to map");
		return -EINVAL;
	}
	if (!b->want_port)
		b->want_port = b->port;
	b->m.internal_port = b->port;
	natbase_state(b, "discovering");
	return 0;
}

static void natbase_report(struct natbase *b)
{
	if (b->core && zt_core_external_set(b->core, &b->m) < 0)
		zt_log(b->zi, ZT_LOG_WARN, "the node keeps no more than %d NAT helpers' states", ZT_NAT_MAX);
}

void natbase_state(struct natbase *b, const char *state)
{
	if (strcmp(b->m.state, "mapped") == 0)
		(*b->lost)++;
	snprintf(b->m.state, sizeof b->m.state, "%s", state);
	memset(&b->m.external, 0, sizeof b->m.external);
	b->m.lease_end = 0;
	natbase_report(b);
}

void natbase_gateway(struct natbase *b, const union zt_sockaddr *gw)
{
	b->m.gateway = *gw;
	natbase_report(b);
}

void natbase_mapped(struct natbase *b, const union zt_sockaddr *external, uint32_t lease_s)
{
	char ext[ZT_SOCKADDR_STRLEN], gw[ZT_SOCKADDR_STRLEN];
	bool changed = strcmp(b->m.state, "mapped") != 0 ||
		       memcmp(&b->m.external, external, sizeof *external) != 0;

	snprintf(b->m.state, sizeof b->m.state, "mapped");
	b->m.external = *external;
	b->m.lease_end = (int64_t)(ev_now(b->loop) * 1000.0) + (int64_t)lease_s * 1000;
	natbase_report(b);
	if (!changed)
		return;
	(*b->mapped)++;
	zt_log(b->zi, ZT_LOG_INFO, "udp port %u mapped on gateway %s as %s for %" PRIu32 " s", b->port,
	       b->m.gateway.sa.sa_family ? zt_sockaddr_fmt(&b->m.gateway, gw, sizeof gw) : "?",
	       zt_sockaddr_fmt(external, ext, sizeof ext), lease_s);
}

void natbase_clear(struct natbase *b)
{
	if (b->core)
		zt_core_external_clear(b->core, b->m.helper);
	b->m.state[0] = '\0';
}

void natbase_bad(struct natbase *b, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	double now = b->loop ? ev_now(b->loop) : 0;

	(*b->bad_answers)++;
	if (b->last_complaint && now - b->last_complaint < 10.0)
		return;
	b->last_complaint = now;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	zt_log(b->zi, ZT_LOG_WARN, "refused: %s (%" PRIu64 " bad answers so far; logged once per 10 s)", msg,
	       *b->bad_answers);
}

double natbase_next(const struct natbase *b, uint32_t granted_s)
{
	double renew = granted_s / 2.0;

	if (renew < 1.0)
		renew = 1.0;
	return renew < b->check_s ? renew : b->check_s;
}

void natbase_later(struct natbase *b, ev_timer *t, double after)
{
	ev_timer_stop(b->loop, t);
	ev_timer_set(t, after, 0.);
	ev_timer_start(b->loop, t);
}

int natbase_default_gateway(struct in_addr *gw)
{
	FILE *f = fopen("/proc/net/route", "r");
	char line[256], ifname[64];
	unsigned long dest, gateway, flags;
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "%63s %lx %lx %lx", ifname, &dest, &gateway, &flags) == 4 && dest == 0 &&
		    (flags & 0x2)) {   /* RTF_GATEWAY; the file is in host order of a network-order value */
			gw->s_addr = (in_addr_t)gateway;
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}
