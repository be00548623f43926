/* api: what the module reads from a request, without I/O: the route of
 * its path and what its JSON body asks.  Kept apart from the connection
 * code so that fuzz/api-body reads paths and bodies exactly as the
 * resources do. */
#ifndef ZT_API_REQUEST_H
#define ZT_API_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <zt/netconf.h>

enum {
	API_R_STATUS = 1,
	API_R_HEALTH,
	API_R_PEERS,
	API_R_PEER,
	API_R_ECHO,
	API_R_SERVICE,              /* a path another service registered */
	API_R_NETWORKS,
	API_R_NETWORK,
	API_R_MOONS,
	API_R_MOON,
	API_R_CONFIG,
	API_R_CONFIG_SETTINGS,
	API_R_METRICS,
	API_R_NETWORK_RULES,        /* /network/<nwid>/rules */
	API_R_NETWORK_EXPLAIN,      /* /network/<nwid>/rules/explain */
};

/* Methods, as a mask of what a route takes (HEAD is GET, PUT is POST). */
enum {
	API_M_GET = 1,
	API_M_POST = 2,
	API_M_DELETE = 4,
};

/* Room for why a body is refused (the text of a 400). */
#define API_WHY_MAX 256

/* Routes */
bool api_parse_addr(const char *s, size_t len, uint64_t *out);
int api_route(const char *url, uint64_t *peer, uint64_t *nwid);
unsigned api_route_methods(int route, const char **allow);

/* Bodies */
json_t *api_body_object(const char *body, size_t len);
unsigned api_body_settings(const json_t *body, struct zt_net_settings *s);
int api_body_seed(const json_t *body, uint64_t *seed);
bool api_body_is_json(const char *body, size_t len, char *why, size_t cap);
bool api_body_config_settings(const char *body, size_t len, char *why, size_t cap);

#endif
