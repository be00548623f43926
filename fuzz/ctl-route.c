/* libFuzzer: the controller API's routes (modules/controller/route.c).
 * An input is a method, a space and a path ("POST /controller/network/
 * <nwid>/member/<address>"; a path ends at a NUL).  Whatever the path, a
 * route that names a resource is one of the methods it allows, and its
 * ids are those of the path: the path written back in canonical form
 * (lower case, no empty segments, no query) routes to the same place. */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../modules/controller/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool method_is(const char *m, const char *a, const char *b)
{
	return !strcmp(m, a) || (b && !strcmp(m, b));
}

/* The canonical path of a route that names a resource, or false. */
static bool canonical(const struct ctl_route *r, char *out, size_t cap)
{
	const char *pre = r->unstable ? "/unstable/controller" : "/controller";

	switch (r->kind) {
	case CTL_ROUTE_STATUS:
		snprintf(out, cap, "%s", pre);
		return true;
	case CTL_ROUTE_NETWORKS:
		snprintf(out, cap, "%s/network", pre);
		return true;
	case CTL_ROUTE_NETWORK_NEW:
		if (r->by_address)
			snprintf(out, cap, "%s/network/%010" PRIx64 "______", pre, r->address);
		else
			snprintf(out, cap, "%s/network", pre);
		return true;
	case CTL_ROUTE_NETWORK:
		snprintf(out, cap, "%s/network/%016" PRIx64, pre, r->nwid);
		return true;
	case CTL_ROUTE_MEMBERS:
		snprintf(out, cap, "%s/network/%016" PRIx64 "/member", pre, r->nwid);
		return true;
	case CTL_ROUTE_MEMBER:
		snprintf(out, cap, "%s/network/%016" PRIx64 "/member/%010" PRIx64, pre, r->nwid, r->address);
		return true;
	case CTL_ROUTE_DNS_SERVICE:
		snprintf(out, cap, "%s/network/%016" PRIx64 "/dns-service", pre, r->nwid);
		return true;
	default:
		return false;
	}
}

static void check(const char *method, const char *path)
{
	struct ctl_route r, again;
	char canon[128];

	ctl_route(method, path, &r);
	switch (r.kind) {
	case CTL_ROUTE_STATUS:
	case CTL_ROUTE_NETWORKS:
	case CTL_ROUTE_MEMBERS:
		if (!method_is(method, "GET", NULL))
			abort();
		break;
	case CTL_ROUTE_NETWORK_NEW:
		if (!method_is(method, "POST", "PUT") || r.unstable)
			abort();
		break;
	case CTL_ROUTE_NETWORK:
	case CTL_ROUTE_MEMBER:
	case CTL_ROUTE_DNS_SERVICE:
		if (!method_is(method, "GET", NULL) && !method_is(method, "POST", "PUT") &&
		    !method_is(method, "DELETE", NULL))
			abort();
		break;
	case CTL_ROUTE_FOREIGN:
		if (r.needs_store)
			abort();
		/* fall through */
	case CTL_ROUTE_NONE:
	case CTL_ROUTE_NOT_ALLOWED:
		break;
	default:
		abort();
	}
	/* only /controller itself (its status, or 405) and others' paths are
	 * answered without the database */
	if (r.address >> 40 || (r.kind == CTL_ROUTE_STATUS && r.needs_store) ||
	    (!r.needs_store && r.kind != CTL_ROUTE_FOREIGN && r.kind != CTL_ROUTE_STATUS &&
	     r.kind != CTL_ROUTE_NOT_ALLOWED))
		abort();
	if (!canonical(&r, canon, sizeof canon))
		return;
	ctl_route(method, canon, &again);
	if (again.kind != r.kind || again.unstable != r.unstable || again.needs_store != r.needs_store ||
	    again.by_address != r.by_address || again.nwid != r.nwid || again.address != r.address)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *path;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	path = strchr(text, ' ');
	if (path) {
		*path++ = '\0';
		check(text, path);
	} else {
		check("GET", text);
	}
	free(text);
	return 0;
}
