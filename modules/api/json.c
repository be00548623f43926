/* api: the building blocks of the JSON bodies several resources share:
 * addresses, ids, roles, the version, the error object. */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api.h"

/* ---- addresses ---- */

uint16_t api_port(const union zt_sockaddr *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in4.sin_port);
}

/* "198.18.0.1/9993", "2001:db8::1/9993": ZeroTier's text of an address
 * with a port, as the API shows it.  NULL for other families. */
json_t *api_addr_json(const union zt_sockaddr *a)
{
	char host[INET6_ADDRSTRLEN], buf[ZT_SOCKADDR_STRLEN];

	if (a->sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof host);
	else if (a->sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof host);
	else
		return NULL;
	snprintf(buf, sizeof buf, "%s/%u", host, api_port(a));
	return json_string(buf);
}

/* ---- JSON bodies ---- */

int api_set(json_t *obj, const char *key, json_t *v)
{
	return v ? json_object_set_new(obj, key, v) : -1;
}

json_t *api_hex40(uint64_t address)
{
	char buf[16];

	snprintf(buf, sizeof buf, "%010" PRIx64, address & (uint64_t)0xffffffffff);
	return json_string(buf);
}

const char *api_role(enum zt_role r)
{
	switch (r) {
	case ZT_ROLE_PLANET: return "PLANET";
	case ZT_ROLE_MOON: return "MOON";
	default: return "LEAF";
	}
}

/* zt's own version, "major.minor.rev", as the API reports it. */
static void api_version(int v[3])
{
	v[0] = v[1] = v[2] = 0;
	sscanf(PACKAGE_VERSION, "%d.%d.%d", &v[0], &v[1], &v[2]);
}

int api_set_version(json_t *o)
{
	char buf[48];
	int v[3], err = 0;

	api_version(v);
	snprintf(buf, sizeof buf, "%d.%d.%d", v[0], v[1], v[2]);
	err |= api_set(o, "version", json_string(buf));
	err |= api_set(o, "versionMajor", json_integer(v[0]));
	err |= api_set(o, "versionMinor", json_integer(v[1]));
	err |= api_set(o, "versionRev", json_integer(v[2]));
	err |= api_set(o, "versionBuild", json_integer(0));
	return err;
}

json_t *api_addrs_json(const union zt_sockaddr *a, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < n; i++) {
		json_t *s = api_addr_json(&a[i]);

		if (s && json_array_append_new(arr, s) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* The node's primary port: that of its first IPv4 listening address,
 * else of its first address, else 0. */
unsigned api_primary_port(const union zt_sockaddr *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].sa.sa_family == AF_INET)
			return api_port(&a[i]);
	return n ? api_port(&a[0]) : 0;
}

json_t *api_error_json(unsigned code, const char *text)
{
	return json_pack("{s:i,s:s}", "error", (int)code, "description", text);
}
