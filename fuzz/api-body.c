/* libFuzzer: what the api module reads from a request once its HTTP is
 * read (modules/api/request.c): the input, cut at its first NUL, is the
 * path a request names, and the whole input is the body of POST
 * /network/<nwid>, POST /moon/<id>, POST /config/settings and POST
 * /peer/<address>/echo.  A path routes to a known resource or to none,
 * and the ids it took route again, written out, to the same place; each
 * body is read as the resource reads it: the settings given are those
 * the body holds as booleans, a seed is an address the body names, and a
 * body refused says why. */
#include <assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../modules/api/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A route and the ids it took are found again from a path written out. */
static void route_again(int route, uint64_t peer, uint64_t nwid)
{
	uint64_t p2 = 0, n2 = 0;
	char path[64];

	switch (route) {
	case API_R_NETWORK:
		snprintf(path, sizeof path, "/network/%016" PRIx64, nwid);
		break;
	case API_R_MOON:
		snprintf(path, sizeof path, "/moon/%016" PRIx64, nwid);
		break;
	case API_R_PEER:
		assert(peer >> 40 == 0);
		snprintf(path, sizeof path, "/peer/%010" PRIx64, peer);
		break;
	case API_R_ECHO:
		assert(peer >> 40 == 0);
		snprintf(path, sizeof path, "/peer/%010" PRIx64 "/echo", peer);
		break;
	case API_R_NETWORK_RULES:
		snprintf(path, sizeof path, "/network/%016" PRIx64 "/rules", nwid);
		break;
	case API_R_NETWORK_EXPLAIN:
		snprintf(path, sizeof path, "/network/%016" PRIx64 "/rules/explain", nwid);
		break;
	default:
		return;
	}
	assert(api_route(path, &p2, &n2) == route);
	if (route == API_R_NETWORK || route == API_R_MOON || route == API_R_NETWORK_RULES ||
	    route == API_R_NETWORK_EXPLAIN)
		assert(n2 == nwid);
	else
		assert(p2 == peer);
}

static void path(const uint8_t *data, size_t size)
{
	char *url = malloc(size + 1);
	uint64_t peer = 0, nwid = 0;
	const char *allow = NULL;
	unsigned methods;
	int route;

	if (!url)
		return;
	memcpy(url, data, size);
	url[size] = 0;
	route = api_route(url, &peer, &nwid);
	free(url);
	/* API_R_SERVICE comes from another service's registration, never
	 * from the path itself */
	assert(route >= 0 && route <= API_R_NETWORK_EXPLAIN && route != API_R_SERVICE);
	if (!route)
		return;
	methods = api_route_methods(route, &allow);
	assert(methods & (API_M_GET | API_M_POST));
	assert(allow && *allow);
	route_again(route, peer, nwid);
}

/* POST /network/<nwid>: a setting is given iff the body holds it as a
 * boolean, and then has that value; the others keep their default. */
static void network_body(const json_t *body)
{
	struct zt_net_settings s, dflt;
	unsigned mask = api_body_settings(body, &s);

	zt_net_settings_default(&dflt);
	assert(mask >> ZT_NET_SETTINGS == 0);
	for (unsigned i = 0; i < ZT_NET_SETTINGS; i++) {
		const json_t *v = json_object_get(body, zt_net_setting_names[i]);

		if (mask & 1u << i)
			assert(json_is_boolean(v) && *zt_net_setting(&s, i) == json_is_true(v));
		else
			assert(!json_is_boolean(v) && *zt_net_setting(&s, i) == *zt_net_setting(&dflt, i));
	}
}

/* POST /moon/<id>: a seed taken is the body's "seed", a non-zero address
 * in 10 hex digits and nothing more (a \u0000 in it is refused); none is
 * taken only when there is no "seed". */
static void moon_body(const json_t *body)
{
	const char *text = json_string_value(json_object_get(body, "seed"));
	uint64_t seed = 1;
	char again[11];
	int rc = api_body_seed(body, &seed);

	assert(rc >= -1 && rc <= 1);
	assert((rc == 0) == !json_object_get(body, "seed"));
	if (rc <= 0)
		return;
	assert(text && seed && seed >> 40 == 0);
	/* all of the string: no NUL ends it early */
	assert(json_string_length(json_object_get(body, "seed")) == 10);
	snprintf(again, sizeof again, "%010" PRIx64, seed);
	assert(strcasecmp(again, text) == 0);
}

static void bodies(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char why[API_WHY_MAX];
	json_t *j, *obj;
	bool is_json;

	obj = api_body_object(text, size);
	assert(!obj || json_is_object(obj));
	network_body(obj);
	moon_body(obj);
	json_decref(obj);

	j = size ? json_loadb(text, size, JSON_DECODE_ANY, NULL) : NULL;
	is_json = !size || j;
	why[0] = 0;
	assert(api_body_is_json(text, size, why, sizeof why) == is_json);
	assert(is_json || why[0]);
	/* /config/settings takes {} and nothing else */
	why[0] = 0;
	if (api_body_config_settings(text, size, why, sizeof why))
		assert(json_is_object(j) && json_object_size(j) == 0);
	else
		assert(why[0] && !(json_is_object(j) && json_object_size(j) == 0));
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);

	path(data, nul ? (size_t)(nul - data) : size);
	bodies(data, size);
	return 0;
}
