/* NAT helpers (modules of kind nat, in the `nat:` section) and the list
 * of external addresses they learn, which the node shows (/status) and
 * advertises.  A helper maps the node's UDP port on its gateway, renews
 * the lease, reports each change with zt_core_external_set and withdraws
 * with zt_core_external_clear when it stops or loses the mapping.  All
 * calls are made on the node's loop (a helper's worker thread posts its
 * results back first). */
#ifndef ZT_NAT_H
#define ZT_NAT_H

#include <stdint.h>
#include <zt/module.h>

struct zt_core;

#define ZT_NAT_MAX 8          /* helpers the node keeps state for */
#define ZT_NAT_NAME_MAX 64
#define ZT_NAT_STATE_MAX 24

struct zt_nat_mapping {
	char helper[ZT_NAT_NAME_MAX];     /* the instance's name, e.g. "upnp" */
	char protocol[ZT_NAT_STATE_MAX];  /* "upnp", "natpmp", "pcp" */
	char state[ZT_NAT_STATE_MAX];     /* "discovering", "mapped", "failed: ..." (short) */
	union zt_sockaddr gateway;        /* AF_UNSPEC until known */
	union zt_sockaddr external;       /* the mapped address and port; AF_UNSPEC if none */
	uint16_t internal_port;           /* the node's UDP port it maps */
	int64_t lease_end;                /* ms since the epoch; 0 if no lease */
};

/* The helper named m->helper reports its state (a new one, or a change).
 * 0, or -ENOSPC when ZT_NAT_MAX helpers already report. */
int zt_core_external_set(struct zt_core *c, const struct zt_nat_mapping *m);
/* The helper withdraws: its mapping is gone (stopped, lost). */
void zt_core_external_clear(struct zt_core *c, const char *helper);
/* Copy up to max helpers' states into out; returns how many there are. */
size_t zt_core_externals(const struct zt_core *c, struct zt_nat_mapping *out, size_t max);
/* The external addresses mapped now (state "mapped", lease not over),
 * deduplicated: what the node advertises as its own.  Returns how many. */
size_t zt_core_external_addrs(const struct zt_core *c, union zt_sockaddr *out, size_t max);
/* The port a helper maps: the first `udp` transport's bound port, 0 if
 * the node has none (yet: call it after start). */
uint16_t zt_core_udp_port(const struct zt_core *c);

/* The NAT in front of the node, as the addresses other nodes (roots
 * first) report seeing it at show it: "unknown" (fewer than two
 * reports), "none" (they see a local address), "endpoint-independent"
 * (one external port for all), "endpoint-dependent" (a port per
 * destination: a symmetric NAT, which hole punching does not cross). */
const char *zt_core_nat_type(const struct zt_core *c);

/* Symmetric-NAT probing (node key nat-probe, zt-nat(7)): with peer 0,
 * the node's: "off", "idle", "spraying", "probing" or "spraying,
 * probing"; with a peer's address, what it found for that peer: "idle",
 * "spraying", "probing", "direct", "both symmetric: relayed" or
 * "failed: relayed" ("off" when switched off). */
const char *zt_core_nat_probe(const struct zt_core *c, uint64_t peer);

#endif
