/* zt-import's reading of the reference controller's JSON objects into
 * store objects (import.h): the API's own code (json.c) and what the API
 * does not take from a body (times, versions, credentials, identity,
 * revision).  Apart from main so that fuzz/import-json reaches it. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zt/identity.h>

#include "controller.h"
#include "import.h"

/* An integer field, if present: 0 (absent or set), -EINVAL. */
static int get_int(const json_t *o, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return -EINVAL;
	*out = json_integer_value(v);
	return 0;
}

/* The API reads "yes" or 1 as 1.14 does; a file that says so is not one
 * the reference wrote: refuse it rather than guess. */
static int check_bools(const json_t *o, const char *const *keys, const char **why)
{
	static char msg[64];

	for (; *keys; keys++) {
		const json_t *v = json_object_get(o, *keys);

		if (v && !json_is_boolean(v)) {
			snprintf(msg, sizeof msg, "%s: not true or false", *keys);
			return *why = msg, -EINVAL;
		}
	}
	return 0;
}

static const char *const member_bools[] = { "authorized", "activeBridge", "noAutoAssignIps", NULL };
static const char *const network_bools[] = { "private", "enableBroadcast", NULL };

int ctl_import_member(struct zt_store_member *m, const json_t *o, int64_t now, const char **why)
{
	const char *idt = json_string_value(json_object_get(o, "identity"));
	const char *ct, *cred;
	struct zt_identity id;
	int64_t v;

	if (check_bools(o, member_bools, why) < 0 || ctl_member_apply(m, o, now, why) < 0)
		return -EINVAL;
	if (idt && *idt) {
		if (zt_identity_from_text(&id, idt) < 0 || id.address != m->address)
			return *why = "identity: not the identity of this address", -EINVAL;
		free(m->identity);
		if (!(m->identity = strdup(idt)))
			return -ENOMEM;
	}
	/* the times and credential as they were, not as of this import */
	v = m->last_authorized_time;
	if (get_int(o, "lastAuthorizedTime", &v) < 0)
		return *why = "lastAuthorizedTime: not an integer", -EINVAL;
	m->last_authorized_time = v;
	v = m->last_deauthorized_time;
	if (get_int(o, "lastDeauthorizedTime", &v) < 0)
		return *why = "lastDeauthorizedTime: not an integer", -EINVAL;
	m->last_deauthorized_time = v;
	ct = json_string_value(json_object_get(o, "lastAuthorizedCredentialType"));
	cred = json_string_value(json_object_get(o, "lastAuthorizedCredential"));
	free(m->auth_cred_type);
	free(m->auth_cred);
	m->auth_cred_type = ct ? strdup(ct) : m->authorized ? strdup("api") : NULL;
	m->auth_cred = cred ? strdup(cred) : NULL;
	v = m->v_major;
	if (get_int(o, "vMajor", &v) < 0)
		return *why = "vMajor: not an integer", -EINVAL;
	m->v_major = (int)v;
	v = m->v_minor;
	if (get_int(o, "vMinor", &v) < 0)
		return *why = "vMinor: not an integer", -EINVAL;
	m->v_minor = (int)v;
	v = m->v_rev;
	if (get_int(o, "vRev", &v) < 0)
		return *why = "vRev: not an integer", -EINVAL;
	m->v_rev = (int)v;
	v = m->v_proto;
	if (get_int(o, "vProto", &v) < 0)
		return *why = "vProto: not an integer", -EINVAL;
	m->v_proto = (int)v;
	if (get_int(o, "creationTime", &m->creation_time) < 0)
		return *why = "creationTime: not an integer", -EINVAL;
	v = 0;
	if (get_int(o, "revision", &v) < 0 || v < 0)
		return *why = "revision: not a non-negative integer", -EINVAL;
	m->revision = (uint64_t)v + 1;   /* newer than what members saw */
	return 0;
}

int ctl_import_network(struct zt_store_network *n, const json_t *o, const char **why)
{
	int64_t rev = 0;

	if (check_bools(o, network_bools, why) < 0 || ctl_network_apply(n, o, why) < 0)
		return -EINVAL;
	if (get_int(o, "creationTime", &n->creation_time) < 0)
		return *why = "creationTime: not an integer", -EINVAL;
	if (get_int(o, "revision", &rev) < 0 || rev < 0)
		return *why = "revision: not a non-negative integer", -EINVAL;
	n->revision = (uint64_t)rev + 1;
	return 0;
}
