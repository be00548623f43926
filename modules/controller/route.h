/* controller: where a /controller request goes (§8.8), from its method
 * and path alone, before any database lookup.  Kept apart from the
 * handlers so that it is fuzzed on its own (fuzz/ctl-route). */
#ifndef ZT_CONTROLLER_ROUTE_H
#define ZT_CONTROLLER_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

enum ctl_route_kind {
	CTL_ROUTE_FOREIGN,      /* not under /controller: another handler's */
	CTL_ROUTE_NONE,         /* under /controller, but no such resource: 404 */
	CTL_ROUTE_NOT_ALLOWED,  /* a resource, not with this method: 405 */
	CTL_ROUTE_STATUS,       /* GET /controller */
	CTL_ROUTE_NETWORKS,     /* GET /controller/network */
	CTL_ROUTE_NETWORK_NEW,  /* POST /controller/network, .../<address>______ */
	CTL_ROUTE_NETWORK,      /* GET, POST, DELETE /controller/network/<nwid> */
	CTL_ROUTE_MEMBERS,      /* GET /controller/network/<nwid>/member */
	CTL_ROUTE_MEMBER,       /* GET, POST, DELETE .../member/<address> */
	CTL_ROUTE_DNS_SERVICE,  /* GET, POST, DELETE /unstable/.../<nwid>/dns-service */
};

struct ctl_route {
	enum ctl_route_kind kind;
	bool unstable;          /* under /unstable/controller (answers with details) */
	bool needs_store;       /* answered from the database (all but /controller) */
	bool by_address;        /* NETWORK_NEW named by <address>______: address holds it */
	uint64_t nwid;          /* NETWORK, MEMBERS, MEMBER, DNS_SERVICE */
	uint64_t address;       /* MEMBER; NETWORK_NEW by_address */
};

/* Route method (GET, POST or PUT, DELETE; others are refused) and path
 * (a query after '?' ignored; empty segments too). */
void ctl_route(const char *method, const char *path, struct ctl_route *out);

#endif
