/* dns: the zone of one network (zone.h). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <zt/netconf.h>

#include "zone.h"

#define DNS_LABEL_MAX 63

bool dns_name_valid(const char *name, char *out, size_t outlen, const char **why)
{
	size_t i, label = 0, len = strlen(name);

	if (len == 0)
		return *why = "empty", false;
	if (len >= outlen)
		return *why = "too long for a DNS name", false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '.') {
			if (label == 0)
				return *why = "an empty label", false;
			if (name[i - 1] == '-')
				return *why = "a label ends with '-'", false;
			label = 0;
		} else if (isascii(ch) && (isalnum(ch) || ch == '-')) {
			if (label == 0 && ch == '-')
				return *why = "a label starts with '-'", false;
			if (++label > DNS_LABEL_MAX)
				return *why = "a label longer than 63 characters", false;
		} else {
			return *why = "a character other than letters, digits, '-' and '.'", false;
		}
		out[i] = (char)tolower(ch);
	}
	if (label == 0)
		return *why = "an empty label", false;
	if (name[len - 1] == '-')
		return *why = "a label ends with '-'", false;
	out[len] = '\0';
	return true;
}

void dns_reverse_name(int family, const uint8_t *addr, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t off = 0;
	int i;

	if (family == AF_INET) {
		snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa.", addr[3], addr[2], addr[1], addr[0]);
		return;
	}
	for (i = 15; i >= 0 && off + 4 < outlen; i--) {
		out[off++] = hex[addr[i] & 15];
		out[off++] = '.';
		out[off++] = hex[addr[i] >> 4];
		out[off++] = '.';
	}
	snprintf(out + off, outlen - off, "ip6.arpa.");
}

/* ---- building ---- */

static const char *dns_zone_keep(struct dns_zone *z, const char *s)
{
	char *copy;

	if (z->n_names == z->cap_names) {
		size_t cap = z->cap_names ? z->cap_names * 2 : 64;
		char **v = realloc(z->names, cap * sizeof *v);

		if (!v)
			return NULL;
		z->names = v;
		z->cap_names = cap;
	}
	copy = strdup(s);
	if (copy)
		z->names[z->n_names++] = copy;
	return copy;
}

static int dns_zone_add(struct dns_zone *z, const char *owner, uint16_t type, const uint8_t *addr,
			const char *target)
{
	struct dns_rec *r;

	if (z->n == z->cap) {
		size_t cap = z->cap ? z->cap * 2 : 64;
		struct dns_rec *v = realloc(z->recs, cap * sizeof *v);

		if (!v)
			return -ENOMEM;
		z->recs = v;
		z->cap = cap;
	}
	r = &z->recs[z->n++];
	memset(r, 0, sizeof *r);
	r->owner = owner;
	r->type = type;
	if (addr)
		memcpy(r->addr, addr, type == DNS_TYPE_A ? 4 : 16);
	r->target = target;
	return 0;
}

/* The network's route targets: an assigned address reaches its member
 * only inside one (the controller sends no other). */
struct dns_routes {
	size_t n;
	struct { int family; uint8_t addr[16]; unsigned bits; } r[64];
};

static void dns_routes_read(const json_t *net, struct dns_routes *rt)
{
	const json_t *routes = json_object_get(net, "routes");
	size_t i;

	rt->n = 0;
	for (i = 0; i < json_array_size(routes) && rt->n < 64; i++) {
		const char *t = json_string_value(json_object_get(json_array_get(routes, i), "target"));
		char ip[INET6_ADDRSTRLEN + 1];
		const char *slash = t ? strchr(t, '/') : NULL;
		unsigned long bits;
		char *end;
		int family;

		if (!slash || (size_t)(slash - t) >= sizeof ip)
			continue;
		memcpy(ip, t, (size_t)(slash - t));
		ip[slash - t] = '\0';
		family = strchr(ip, ':') ? AF_INET6 : AF_INET;
		bits = strtoul(slash + 1, &end, 10);
		if (*end || bits > (family == AF_INET ? 32u : 128u) ||
		    inet_pton(family, ip, rt->r[rt->n].addr) != 1)
			continue;
		rt->r[rt->n].family = family;
		rt->r[rt->n].bits = (unsigned)bits;
		rt->n++;
	}
}

static bool dns_routes_contain(const struct dns_routes *rt, int family, const uint8_t *addr)
{
	size_t i;

	for (i = 0; i < rt->n; i++) {
		unsigned bits = rt->r[i].bits, full = bits / 8, rest = bits % 8;

		if (rt->r[i].family != family || memcmp(rt->r[i].addr, addr, full))
			continue;
		if (!rest || !((rt->r[i].addr[full] ^ addr[full]) & (0xff00 >> rest)))
			return true;
	}
	return false;
}

/* One address of a member: A or AAAA under each of its names, and the
 * PTR of its reverse name to the first (its own name if valid). */
static int dns_zone_add_addr(struct dns_zone *z, const char *const *names, size_t n_names,
			     int family, const uint8_t *addr)
{
	char rev[80];
	const char *owner;
	size_t i;

	for (i = 0; i < n_names; i++)
		if (dns_zone_add(z, names[i], family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA, addr, NULL) < 0)
			return -ENOMEM;
	dns_reverse_name(family, addr, rev, sizeof rev);
	owner = dns_zone_keep(z, rev);
	if (!owner || dns_zone_add(z, owner, DNS_TYPE_PTR, NULL, names[0]) < 0)
		return -ENOMEM;
	return 0;
}

static int dns_zone_member(struct dns_zone *z, const json_t *m, const struct dns_routes *rt,
			   bool rfc4193, bool sixplane, dns_zone_skip_fn *skip, void *ctx)
{
	const char *id = json_string_value(json_object_get(m, "id"));
	const char *name = json_string_value(json_object_get(m, "name"));
	const json_t *ips = json_object_get(m, "ipAssignments");
	char buf[2 * DNS_NAME_MAX + 2], label[DNS_NAME_MAX + 1];
	const char *names[2], *why;
	size_t n_names = 0, i;
	uint64_t address;
	uint8_t ip[16];
	char *end;

	if (!json_is_true(json_object_get(m, "authorized")))
		return 0;
	if (!id || strlen(id) != 10 || (address = strtoull(id, &end, 16), *end)) {
		if (skip)
			skip(ctx, 0, id ? id : "", "not a member id");
		return 0;
	}
	/* its name first: the PTR points to it */
	if (name && *name) {
		if (!dns_name_valid(name, label, sizeof label, &why)) {
			if (skip)
				skip(ctx, address, name, why);
		} else if (strlen(label) + 1 + strlen(z->domain) > DNS_NAME_MAX) {
			if (skip)
				skip(ctx, address, name, "too long with the domain");
		} else {
			snprintf(buf, sizeof buf, "%s.%s", label, z->domain);
			if (!(names[n_names++] = dns_zone_keep(z, buf)))
				return -ENOMEM;
		}
	}
	snprintf(buf, sizeof buf, "%010" PRIx64 ".%s", address, z->domain);
	if (!(names[n_names++] = dns_zone_keep(z, buf)))
		return -ENOMEM;
	for (i = 0; i < json_array_size(ips); i++) {
		const char *text = json_string_value(json_array_get(ips, i));
		int family = text && strchr(text, ':') ? AF_INET6 : AF_INET;

		if (!text || inet_pton(family, text, ip) != 1) {
			if (skip)
				skip(ctx, address, text ? text : "", "not an IP address");
			continue;
		}
		if (!dns_routes_contain(rt, family, ip))
			continue;
		if (dns_zone_add_addr(z, names, n_names, family, ip) < 0)
			return -ENOMEM;
	}
	/* the controller gives these only to members it may auto-assign */
	if (json_is_true(json_object_get(m, "noAutoAssignIps")))
		rfc4193 = sixplane = false;
	if (rfc4193) {
		zt_ip6_rfc4193(z->nwid, address, ip);
		if (dns_zone_add_addr(z, names, n_names, AF_INET6, ip) < 0)
			return -ENOMEM;
	}
	if (sixplane) {
		zt_ip6_6plane(z->nwid, address, ip);
		if (dns_zone_add_addr(z, names, n_names, AF_INET6, ip) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int dns_rec_cmp(const void *a, const void *b)
{
	const struct dns_rec *x = a, *y = b;
	int c = strcmp(x->owner, y->owner);

	if (c)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	c = memcmp(x->addr, y->addr, sizeof x->addr);
	if (c || x->target == y->target)
		return c;
	return strcmp(x->target ? x->target : "", y->target ? y->target : "");
}

/* Sorted, and each record once: an assigned address may also be the
 * computed one. */
static void dns_zone_sort(struct dns_zone *z)
{
	size_t i, out = 0;

	if (!z->n)
		return;
	qsort(z->recs, z->n, sizeof *z->recs, dns_rec_cmp);
	for (i = 1; i < z->n; i++)
		if (dns_rec_cmp(&z->recs[out], &z->recs[i]))
			z->recs[++out] = z->recs[i];
	z->n = out + 1;
}

/* The domain of the network's dns object, checked and lower-cased with
 * the final dot; false with why. */
static bool dns_zone_domain(const json_t *net, char *out, size_t outlen, const char **why)
{
	const char *d = json_string_value(json_object_get(json_object_get(net, "dns"), "domain"));
	char label[DNS_NAME_MAX + 1];
	size_t len;

	if (!d || !*d)
		return *why = "the network has no dns.domain", false;
	len = strlen(d);
	if (d[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof label - 1) {
		*why = "dns.domain: empty or too long";
		return false;
	}
	memcpy(label, d, len);
	label[len] = '\0';
	if (!dns_name_valid(label, out, outlen - 1, why))
		return false;
	strcat(out, ".");
	return true;
}

struct dns_zone *dns_zone_from_json(const char *network, const char *members, uint32_t ttl,
				    uint32_t serial, dns_zone_skip_fn *skip, void *ctx,
				    char *why, size_t whylen)
{
	json_t *net = json_loads(network, 0, NULL), *body = json_loads(members, 0, NULL);
	/* the unstable API's {"data": [...], "meta": ...} or the array */
	json_t *mem = json_is_object(body) ? json_object_get(body, "data") : body;
	const char *nwid, *reason = NULL;
	struct dns_zone *z = NULL;
	struct dns_routes routes;
	const json_t *v6;
	char *end;
	size_t i;

	if (!json_is_object(net) || !json_is_array(mem)) {
		reason = "the controller's answer is not a network and a member list";
		goto out;
	}
	z = calloc(1, sizeof *z);
	if (!z) {
		reason = strerror(ENOMEM);
		goto out;
	}
	z->ttl = ttl;
	z->serial = serial;
	nwid = json_string_value(json_object_get(net, "id"));
	if (!nwid || strlen(nwid) != 16 || (z->nwid = strtoull(nwid, &end, 16), *end)) {
		reason = "the network has no id";
		goto fail;
	}
	if (!dns_zone_domain(net, z->domain, sizeof z->domain, &reason))
		goto fail;
	v6 = json_object_get(net, "v6AssignMode");
	dns_routes_read(net, &routes);
	for (i = 0; i < json_array_size(mem); i++)
		if (dns_zone_member(z, json_array_get(mem, i), &routes, json_is_true(json_object_get(v6, "rfc4193")),
				    json_is_true(json_object_get(v6, "6plane")), skip, ctx) < 0) {
			reason = strerror(ENOMEM);
			goto fail;
		}
	dns_zone_sort(z);
	goto out;
fail:
	dns_zone_free(z);
	z = NULL;
out:
	if (reason)
		snprintf(why, whylen, "%s", reason);
	json_decref(net);
	json_decref(body);
	return z;
}

void dns_zone_free(struct dns_zone *z)
{
	size_t i;

	if (!z)
		return;
	for (i = 0; i < z->n_names; i++)
		free(z->names[i]);
	free(z->names);
	free(z->recs);
	free(z);
}

/* ---- reading ---- */

size_t dns_zone_find(const struct dns_zone *z, const char *name, const struct dns_rec **first)
{
	size_t lo = 0, hi = z->n, end;

	while (lo < hi) {   /* the first record whose owner is not below name */
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(z->recs[mid].owner, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < z->n && !strcmp(z->recs[end].owner, name); end++)
		;
	*first = z->recs + lo;
	return end - lo;
}

bool dns_zone_has(const struct dns_zone *z, const char *name)
{
	size_t n = strlen(name), d = strlen(z->domain);

	if (n < d || strcmp(name + n - d, z->domain))
		return false;
	return n == d || name[n - d - 1] == '.';
}
