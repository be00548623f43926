/* What the NAT helpers (upnp, natpmp, pcp) share, compiled into each:
 * their options, the report to the node's list of external addresses
 * (<zt/nat.h>), rate-limited complaints about bad answers, the default
 * gateway and the schedule of renewals and checks. */
#ifndef ZT_NATBASE_H
#define ZT_NATBASE_H

#include <stdbool.h>
#include <stdint.h>
#include <ev.h>
#include <zt/nat.h>
#include <zt/node.h>

/* The options every helper takes (NATBASE_OPTS in its table). */
#define NATBASE_OPTS \
	ZT_OPT_DURATION("lease", "1h", "lifetime asked for the mapping; renewed at half of it"), \
	ZT_OPT_DURATION("check", "60s", "how often the gateway is asked whether the mapping still stands"), \
	ZT_OPT_DURATION("retry", "30s", "wait after a failure before trying again"), \
	ZT_OPT_UINT("external-port", 0, 0, 65535, "external port asked for; 0: the node's UDP port")

struct natbase {
	struct zt_inst *zi;
	struct zt_core *core;
	struct ev_loop *loop;
	const char *protocol;
	uint32_t lease_s;             /* asked for */
	double check_s, retry_s;
	uint16_t want_port;           /* external port asked for */
	uint16_t port;                /* the node's UDP port (internal) */
	struct zt_nat_mapping m;      /* what was reported last */
	double last_complaint;        /* ev_now of the last logged bad answer */
	uint64_t *bad_answers, *mapped, *lost, *failures;
};

int natbase_create(struct natbase *b, struct zt_inst *zi, const struct zt_node *conf, const char *protocol);
/* In start(): the loop, the core and the port.  0 or -errno (logged). */
int natbase_start(struct natbase *b, struct ev_loop *loop);
/* Report a state without a mapping ("discovering", "failed", ...). */
void natbase_state(struct natbase *b, const char *state);
/* Report a mapping: external address and port, lease granted (s). */
void natbase_mapped(struct natbase *b, const union zt_sockaddr *external, uint32_t lease_s);
void natbase_gateway(struct natbase *b, const union zt_sockaddr *gw);
/* Withdraw from the node's list (stop). */
void natbase_clear(struct natbase *b);
/* A bad or hostile answer: counted; logged at most once every 10 s. */
void natbase_bad(struct natbase *b, const char *fmt, ...) ZT_PRINTF(2, 3);
/* When to act next, in seconds from now, given the lease granted:
 * renew at half the lease, check in between. */
double natbase_next(const struct natbase *b, uint32_t granted_s);
/* (Re)arm a one-shot timer of the helper. */
void natbase_later(struct natbase *b, ev_timer *t, double after);
/* The IPv4 default gateway from /proc/net/route.  0 or -errno. */
int natbase_default_gateway(struct in_addr *gw);

#endif
