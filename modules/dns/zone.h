/* dns: the zone of one network, names to records, built from what the
 * controller's API says of the network and its members.  Pure: no I/O,
 * no loop; the module (dns.c) rebuilds it when the members change and
 * the query path (query.c) reads it.  See zt-dns(7). */
#ifndef ZT_DNS_ZONE_H
#define ZT_DNS_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Names are kept as presentation text, lower case, with the final dot:
 * "alice.example.zt." */
#define DNS_NAME_MAX 255
#define DNS_TYPE_A 1
#define DNS_TYPE_PTR 12
#define DNS_TYPE_AAAA 28

struct dns_rec {
	const char *owner;          /* points into the zone */
	uint16_t type;              /* DNS_TYPE_A, _AAAA or _PTR */
	uint8_t addr[16];           /* A: 4 bytes, AAAA: 16 */
	const char *target;         /* PTR: the name it points to */
};

struct dns_zone {
	char domain[DNS_NAME_MAX + 1];
	uint64_t nwid;
	uint32_t ttl;               /* seconds, also the negative TTL of the SOA */
	uint32_t serial;
	struct dns_rec *recs;       /* sorted by owner once built */
	size_t n, cap;
	char **names;               /* the owner and target strings the zone holds */
	size_t n_names, cap_names;
};

/* Called for each member name (or address) left out, with why. */
typedef void dns_zone_skip_fn(void *ctx, uint64_t member, const char *name, const char *why);

/* The zone of a network from the controller's JSON: network is the
 * object of GET /controller/network/<nwid> (its dns.domain and
 * v6AssignMode), members the array of member objects, or GET
 * /unstable/controller/network/<nwid>/member's object holding it in "data".  Authorized members only;
 * a member whose name is no valid DNS name keeps its id name.  NULL with
 * why filled when the network gives no usable domain or on no memory. */
struct dns_zone *dns_zone_from_json(const char *network, const char *members, uint32_t ttl,
				    uint32_t serial, dns_zone_skip_fn *skip, void *ctx,
				    char *why, size_t whylen);
void dns_zone_free(struct dns_zone *z);

/* The records owned by name (lower case, final dot): *first and the
 * count, 0 when it owns none. */
size_t dns_zone_find(const struct dns_zone *z, const char *name, const struct dns_rec **first);
/* name is the zone's domain or below it. */
bool dns_zone_has(const struct dns_zone *z, const char *name);
/* A member name as one or more DNS labels: lower-cased into out, or
 * false with why (characters, label or name lengths). */
bool dns_name_valid(const char *name, char *out, size_t outlen, const char **why);
/* The reverse name (in-addr.arpa. or ip6.arpa.) of an address. */
void dns_reverse_name(int family, const uint8_t *addr, char *out, size_t outlen);

#endif
