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

/* An integer field, if present, into *out (left alone if absent or
 * null): 0, or -EINVAL with why naming the field. */
static int get_int(const json_t *o, const char *key, int64_t *out, const char **why)
{
	static char msg[64];
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v)) {
		snprintf(msg, sizeof msg, "%s: not an integer", key);
		return *why = msg, -EINVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

/* A version number (vMajor, ...): -1 for unknown, as the reference writes. */
static int get_version(const json_t *o, const char *key, int *out, const char **why)
{
	int64_t v = *out;

	if (get_int(o, key, &v, why) < 0)
		return -EINVAL;
	*out = v < -1 || v > 0xffff ? -1 : (int)v;
	return 0;
}

/* The object's revision, plus one: newer than what members saw. */
static int get_revision(const json_t *o, uint64_t *out, const char **why)
{
	int64_t v = 0;

	if (get_int(o, "revision", &v, why) < 0)
		return -EINVAL;
	if (v < 0)
		return *why = "revision: negative", -EINVAL;
	*out = (uint64_t)v + 1;
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
	if (get_int(o, "lastAuthorizedTime", &m->last_authorized_time, why) < 0 ||
	    get_int(o, "lastDeauthorizedTime", &m->last_deauthorized_time, why) < 0 ||
	    get_int(o, "creationTime", &m->creation_time, why) < 0 ||
	    get_version(o, "vMajor", &m->v_major, why) < 0 || get_version(o, "vMinor", &m->v_minor, why) < 0 ||
	    get_version(o, "vRev", &m->v_rev, why) < 0 || get_version(o, "vProto", &m->v_proto, why) < 0 ||
	    get_revision(o, &m->revision, why) < 0)
		return -EINVAL;
	ct = json_string_value(json_object_get(o, "lastAuthorizedCredentialType"));
	cred = json_string_value(json_object_get(o, "lastAuthorizedCredential"));
	free(m->auth_cred_type);
	free(m->auth_cred);
	m->auth_cred_type = ct ? strdup(ct) : m->authorized ? strdup("api") : NULL;
	m->auth_cred = cred ? strdup(cred) : NULL;
	if ((!m->auth_cred_type && (ct || m->authorized)) || (!m->auth_cred && cred))
		return -ENOMEM;
	return 0;
}

int ctl_import_network(struct zt_store_network *n, const json_t *o, const char **why)
{
	/* the reference keeps rulesSource as opaque text beside the rules it
	 * was compiled into elsewhere: the rules are imported, not the text */
	json_t *body = json_copy((json_t *)o);
	int err;

	if (!body)
		return -ENOMEM;
	json_object_del(body, "rulesSource");
	err = check_bools(o, network_bools, why) < 0 || ctl_network_apply(n, body, why) < 0 ||
	      get_int(o, "creationTime", &n->creation_time, why) < 0 ||
	      get_revision(o, &n->revision, why) < 0 ? -EINVAL : 0;
	json_decref(body);
	return err;
}
