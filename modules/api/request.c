/* api: what the module reads from a request, without I/O (request.h):
 * the route of its path, and what its JSON body asks of /network, /moon,
 * /config/settings and /peer/<address>/echo. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "request.h"

/* ---- routes ---- */

/* Exactly len hex digits, len 10 (an address) or 6 (the low part of a
 * network id). */
bool api_parse_addr(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len != 10 && len != 6)
		return false;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		v = (v << 4) | (uint64_t)d;
	}
	*out = v;
	return true;
}

/* A network id: 16 hex digits. */
static bool api_parse_nwid(const char *s, size_t len, uint64_t *out)
{
	uint64_t hi, lo;

	if (len != 16 || !api_parse_addr(s, 10, &hi) || !api_parse_addr(s + 10, 6, &lo))
		return false;
	*out = hi << 24 | lo;
	return true;
}

/* The route of a path (empty segments ignored), or 0 if none. */
int api_route(const char *url, uint64_t *peer, uint64_t *nwid)
{
	const char *seg[4];
	size_t len[4], n = 0;
	const char *p = url;

	while (*p) {
		const char *e;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		if (!e)
			e = p + strlen(p);
		if (n == 4)
			return 0;
		seg[n] = p;
		len[n] = (size_t)(e - p);
		n++;
		p = e;
	}
#define SEG(i, s) (len[i] == sizeof(s) - 1 && memcmp(seg[i], s, len[i]) == 0)
	if (n == 1 && SEG(0, "status"))
		return API_R_STATUS;
	if (n == 1 && SEG(0, "health"))
		return API_R_HEALTH;
	if (n == 1 && SEG(0, "network"))
		return API_R_NETWORKS;
	if (n == 2 && SEG(0, "network") && api_parse_nwid(seg[1], len[1], nwid))
		return API_R_NETWORK;
	if (n >= 3 && SEG(0, "network") && SEG(2, "rules") && api_parse_nwid(seg[1], len[1], nwid)) {
		if (n == 3)
			return API_R_NETWORK_RULES;
		if (n == 4 && SEG(3, "explain"))
			return API_R_NETWORK_EXPLAIN;
	}
	if (n == 1 && SEG(0, "moon"))
		return API_R_MOONS;
	/* a moon by its 16 hex digits, or by 10 as ZeroTier One takes it */
	if (n == 2 && SEG(0, "moon") && ((len[1] == 10 && api_parse_addr(seg[1], 10, nwid)) ||
					 api_parse_nwid(seg[1], len[1], nwid)))
		return API_R_MOON;
	if (n == 1 && SEG(0, "config"))
		return API_R_CONFIG;
	if (n == 2 && SEG(0, "config") && SEG(1, "settings"))
		return API_R_CONFIG_SETTINGS;
	if (n == 1 && SEG(0, "metrics"))
		return API_R_METRICS;
	if (n >= 1 && SEG(0, "peer")) {
		if (n == 1)
			return API_R_PEERS;
		if (!api_parse_addr(seg[1], len[1], peer))
			return 0;
		if (n == 2)
			return API_R_PEER;
		if (n == 3 && SEG(2, "echo"))
			return API_R_ECHO;
	}
#undef SEG
	return 0;
}

/* The methods a route takes, and its Allow header. */
unsigned api_route_methods(int route, const char **allow)
{
	switch (route) {
	case API_R_ECHO:
	case API_R_CONFIG_SETTINGS:
	case API_R_NETWORK_EXPLAIN:
		*allow = "POST, PUT";
		return API_M_POST;
	case API_R_NETWORK:
	case API_R_MOON:
		*allow = "GET, HEAD, POST, PUT, DELETE";
		return API_M_GET | API_M_POST | API_M_DELETE;
	default:
		*allow = "GET, HEAD";
		return API_M_GET;
	}
}

/* ---- bodies ---- */

/* The request body as a JSON object, or NULL when it is empty, not JSON
 * or not an object: /network and /moon then take it as {} (§9.2).  A
 * string may hold \u0000 (it is JSON): taken, the string is refused by
 * what reads it, rather than the whole body silently taken as {}. */
json_t *api_body_object(const char *body, size_t len)
{
	json_t *j;

	if (!len)
		return NULL;
	j = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* The boolean local settings (§9.4) of a POST /network body; other types
 * are ignored, as ZeroTier One ignores them.  The mask of those given. */
unsigned api_body_settings(const json_t *body, struct zt_net_settings *s)
{
	unsigned mask = 0;

	zt_net_settings_default(s);
	for (unsigned i = 0; i < ZT_NET_SETTINGS; i++) {
		const json_t *v = json_object_get(body, zt_net_setting_names[i]);

		if (json_is_boolean(v)) {
			*zt_net_setting(s, i) = json_is_true(v);
			mask |= 1u << i;
		}
	}
	return mask;
}

/* The "seed" of a POST /moon body: 0 and *seed 0 if there is none, 1 and
 * the address if it is one (10 hex digits, not 0), -1 if it is not. */
int api_body_seed(const json_t *body, uint64_t *seed)
{
	const json_t *sv = json_object_get(body, "seed");
	const char *ss = json_string_value(sv);

	*seed = 0;
	if (!sv)
		return 0;
	/* the string's length, not strlen: "eb17d0df38\u0000..." is not an address */
	if (!ss || json_string_length(sv) != 10 || !api_parse_addr(ss, 10, seed) || !*seed)
		return -1;
	return 1;
}

/* A body that must be JSON if there is one (POST /peer/<address>/echo):
 * false, and why, if it is not. */
bool api_body_is_json(const char *body, size_t len, char *why, size_t cap)
{
	json_error_t jerr;
	json_t *j;

	if (!len)
		return true;
	j = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
	if (!j) {
		snprintf(why, cap, "invalid JSON body: %s", jerr.text);
		return false;
	}
	json_decref(j);
	return true;
}

/* POST /config/settings: zt has no local.conf and changes nothing at run
 * time, so {} (nothing to merge) is accepted; anything else is refused,
 * false and why. */
bool api_body_config_settings(const char *body, size_t len, char *why, size_t cap)
{
	json_error_t jerr;
	const char *key;
	json_t *j;

	if (!len) {
		snprintf(why, cap, "the body must be a JSON object");
		return false;
	}
	j = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
	if (!j) {
		snprintf(why, cap, "invalid JSON body: %s", jerr.text);
		return false;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(why, cap, "the body must be a JSON object");
		return false;
	}
	key = json_object_iter_key(json_object_iter(j));
	if (key)
		snprintf(why, cap, "%.64s: zt has no local.conf: settings are made in ztd.yaml", key);
	json_decref(j);
	return !key;
}
