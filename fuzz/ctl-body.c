/* libFuzzer: the controller API's network and member bodies
 * (modules/controller/json.c), as a POST to /controller/network/<id> and
 * /controller/network/<id>/member/<address> reads them: any bytes parsed
 * as JSON are applied to a new network and to a new member.  A refusal
 * says why; what is accepted is rendered as the API's answer, and that
 * answer, posted again, is accepted.  Posting an answer is a fixed point
 * after one pass: the first render may show stored text the API would
 * normalise (the default rules spell out "not"/"or": false), so it is the
 * second and third renders that must be equal.  The same body is read as
 * the dns module's servers (POST .../dns-service), whose render reads
 * back to the same servers. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <jansson.h>
#include "../modules/controller/controller.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NWID 0x26b7ab6cb8000007ULL
#define MEMBER 0xeb17d0df38ULL
#define NOW 1700000000000LL

/* Post a rendered answer to a fresh object and render it again: NULL if
 * refused (which it must not be) or out of memory. */
static json_t *network_repost(const json_t *answer)
{
	struct zt_store_network n;
	const char *why = NULL;
	json_t *out = NULL;
	int rc;

	ctl_network_defaults(&n, NWID, NOW);
	rc = ctl_network_apply(&n, answer, &why);
	assert(rc == 0 || rc == -ENOMEM);
	if (rc == 0)
		out = ctl_network_json(&n);
	zt_store_network_clear(&n);
	return out;
}

static json_t *member_repost(const json_t *answer)
{
	struct zt_store_member m;
	const char *why = NULL;
	json_t *out = NULL;
	int rc;

	ctl_member_init(&m, NWID, MEMBER, NOW);
	rc = ctl_member_apply(&m, answer, NOW, &why);
	assert(rc == 0 || rc == -ENOMEM);
	if (rc == 0)
		out = ctl_member_json(&m);
	zt_store_member_clear(&m);
	return out;
}

/* answer → repost → repost: the last two renders are equal */
static void fixed_point(json_t *answer, json_t *(*repost)(const json_t *))
{
	json_t *once = answer ? repost(answer) : NULL, *twice = once ? repost(once) : NULL;

	if (twice)
		assert(json_equal(once, twice));
	json_decref(twice);
	json_decref(once);
	json_decref(answer);
}

static void network(const json_t *body)
{
	struct zt_store_network n;
	const char *why = NULL;
	int rc;

	ctl_network_defaults(&n, NWID, NOW);
	rc = ctl_network_apply(&n, body, &why);
	assert(rc == 0 || rc == -ENOMEM || (rc == -EINVAL && why));
	if (rc == 0)
		fixed_point(ctl_network_json(&n), network_repost);
	zt_store_network_clear(&n);
}

static void member(const json_t *body)
{
	struct zt_store_member m;
	const char *why = NULL;
	int rc;

	ctl_member_init(&m, NWID, MEMBER, NOW);
	rc = ctl_member_apply(&m, body, NOW, &why);
	assert(rc == 0 || rc == -ENOMEM || (rc == -EINVAL && why));
	if (rc == 0)
		fixed_point(ctl_member_json(&m), member_repost);
	zt_store_member_clear(&m);
}

/* The dns module's servers (dns-service): what is accepted renders as a
 * body that reads back to the same servers. */
static void dns_service(const json_t *body)
{
	struct zt_dns d, again;
	const char *why = NULL;
	json_t *out, *out2;

	memset(&d, 0, sizeof d);
	if (ctl_dns_servers_apply(&d, body, &why) < 0) {
		assert(why);
		return;
	}
	out = ctl_dns_servers_json(&d);
	assert(out);
	memset(&again, 0, sizeof again);
	assert(ctl_dns_servers_apply(&again, out, &why) == 0);
	out2 = ctl_dns_servers_json(&again);
	assert(json_equal(out, out2));
	json_decref(out2);
	json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the API's flags: api.c reads the body with json_loadb(..., 0) */
	json_t *o = json_loadb((const char *)data, size, 0, NULL);

	if (json_is_object(o)) {
		network(o);
		member(o);
		dns_service(o);
	}
	json_decref(o);
	return 0;
}
