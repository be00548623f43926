/* libFuzzer: the dns module's zone built from a controller's answers
 * (modules/dns/zone.c), which it reads from a remote controller's API
 * too (controller-url): the input, cut at its first NUL, is the network
 * object and the member list.  A refusal says why; a zone built holds
 * names within DNS limits, under its domain or in a reverse zone, and
 * each record is found again by its owner. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../modules/dns/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void skipped(void *ctx, uint64_t member, const char *name, const char *why)
{
	if (!why || !*why)
		abort();   /* a member left out says why */
}

static bool reverse(const char *name)
{
	size_t n = strlen(name);

	return (n >= 14 && !strcmp(name + n - 14, ".in-addr.arpa.")) ||
	       (n >= 10 && !strcmp(name + n - 10, ".ip6.arpa."));
}

static void zone_check(const struct dns_zone *z)
{
	for (size_t i = 0; i < z->n; i++) {
		const struct dns_rec *r = &z->recs[i], *first;
		size_t found;

		if (!r->owner || strlen(r->owner) > DNS_NAME_MAX)
			abort();
		if (r->type != DNS_TYPE_A && r->type != DNS_TYPE_AAAA && r->type != DNS_TYPE_PTR)
			abort();
		if (r->type == DNS_TYPE_PTR ? !r->target || !reverse(r->owner) : !dns_zone_has(z, r->owner))
			abort();
		found = dns_zone_find(z, r->owner, &first);
		if (!found || r < first || r >= first + found)
			abort();   /* not found again by its owner */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), why[160] = "";
	const char *members;
	struct dns_zone *z;
	size_t cut;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	cut = strlen(text);
	members = cut < size ? text + cut + 1 : "[]";
	z = dns_zone_from_json(text, members, 60, 1, skipped, NULL, why, sizeof why);
	if (z)
		zone_check(z);
	else if (!why[0])
		abort();   /* a refusal always says why */
	dns_zone_free(z);
	free(text);
	return 0;
}
