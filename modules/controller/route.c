/* controller: routing of the /controller API (route.h). */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include <zt/identity.h>

#include "route.h"

#define CTL_MAX_SEGMENTS 5

/* Path segments, at most CTL_MAX_SEGMENTS. */
struct ctl_path {
	unsigned n;
	const char *seg[CTL_MAX_SEGMENTS];
	size_t len[CTL_MAX_SEGMENTS];
};

/* Split at '/' up to a '?'; false if there are too many segments for any
 * resource of the controller's. */
static bool ctl_split(const char *p, struct ctl_path *out)
{
	const char *q;

	out->n = 0;
	while (*p && *p != '?') {
		while (*p == '/')
			p++;
		if (!*p || *p == '?')
			break;
		q = p;
		while (*q && *q != '/' && *q != '?')
			q++;
		if (out->n == CTL_MAX_SEGMENTS)
			return false;
		out->seg[out->n] = p;
		out->len[out->n++] = (size_t)(q - p);
		p = q;
	}
	return true;
}

static bool ctl_seg(const struct ctl_path *p, unsigned i, const char *s)
{
	return i < p->n && p->len[i] == strlen(s) && !memcmp(p->seg[i], s, p->len[i]);
}

/* A hex id of exactly n digits (either case). */
static bool ctl_parse_id(const char *s, size_t len, size_t n, uint64_t *out)
{
	return len == n && zt_hex_parse(s, n, out);
}

struct ctl_methods {
	bool get, post, del;
};

/* kind if the method is one of those allowed, else NOT_ALLOWED. */
static void ctl_allow(struct ctl_route *r, enum ctl_route_kind kind, bool allowed)
{
	r->kind = allowed ? kind : CTL_ROUTE_NOT_ALLOWED;
}

/* <nwid>/...: what follows a network id. */
static void ctl_route_network(const struct ctl_path *p, unsigned base, struct ctl_methods m,
			      struct ctl_route *r)
{
	if (r->unstable) {
		if (p->n == base + 4 && ctl_seg(p, base + 3, "member"))
			ctl_allow(r, CTL_ROUTE_MEMBERS, m.get);
		else if (p->n == base + 4 && ctl_seg(p, base + 3, "dns-service"))
			ctl_allow(r, CTL_ROUTE_DNS_SERVICE, m.get || m.post || m.del);
		return;
	}
	if (p->n == base + 3)
		ctl_allow(r, CTL_ROUTE_NETWORK, m.get || m.post || m.del);
	else if (!ctl_seg(p, base + 3, "member"))
		return;
	else if (p->n == base + 4)
		ctl_allow(r, CTL_ROUTE_MEMBERS, m.get);
	else if (p->n == base + 5 && ctl_parse_id(p->seg[base + 4], p->len[base + 4], 10, &r->address))
		ctl_allow(r, CTL_ROUTE_MEMBER, m.get || m.post || m.del);
}

void ctl_route(const char *method, const char *path, struct ctl_route *r)
{
	struct ctl_methods m = {
		.get = !strcmp(method, "GET"),
		.post = !strcmp(method, "POST") || !strcmp(method, "PUT"),
		.del = !strcmp(method, "DELETE"),
	};
	struct ctl_path p;
	unsigned base;
	const char *id;

	memset(r, 0, sizeof *r);
	r->kind = CTL_ROUTE_FOREIGN;
	if (!ctl_split(path, &p))
		return;
	r->unstable = ctl_seg(&p, 0, "unstable");
	base = r->unstable ? 1 : 0;
	if (!ctl_seg(&p, base, "controller"))
		return;
	r->kind = CTL_ROUTE_NONE;
	if (p.n == base + 1 && !r->unstable) {
		ctl_allow(r, CTL_ROUTE_STATUS, m.get);
		return;
	}
	r->needs_store = true;
	if (!ctl_seg(&p, base + 1, "network"))
		return;
	if (p.n == base + 2) {
		if (m.get)
			r->kind = CTL_ROUTE_NETWORKS;
		else
			ctl_allow(r, CTL_ROUTE_NETWORK_NEW, m.post && !r->unstable);
		return;
	}
	id = p.seg[base + 2];
	if (ctl_parse_id(id, p.len[base + 2], 16, &r->nwid)) {
		ctl_route_network(&p, base, m, r);
		return;
	}
	/* <own address>______: a new network with a random number */
	if (!r->unstable && p.n == base + 3 && p.len[base + 2] == 16 && !memcmp(id + 10, "______", 6) &&
	    ctl_parse_id(id, 10, 10, &r->address)) {
		r->by_address = true;
		ctl_allow(r, CTL_ROUTE_NETWORK_NEW, m.post);
	}
}
