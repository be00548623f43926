/* controller: the controller HTTP API (§8.8) under /controller and
 * /unstable/controller, called through the api module. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "build.h"
#include "controller.h"
#include "route.h"

static int ctl_reply(struct zt_api_response *rs, int status, json_t *j)
{
	rs->status = status;
	rs->body = NULL;
	if (j) {
		rs->body = json_dumps(j, CTL_JSON_FLAGS | JSON_ENCODE_ANY);
		json_decref(j);
		if (!rs->body) {
			rs->status = 500;
			rs->body = strdup("{\"description\":\"out of memory\",\"error\":500}");
		}
	}
	return 0;
}

static int ctl_reply_error(struct ctl *c, struct zt_api_response *rs, int status, const char *why)
{
	json_t *j = json_object();

	(*c->api_errors)++;
	json_object_set_new(j, "error", json_integer(status));
	if (why)
		json_object_set_new(j, "description", json_string(why));
	return ctl_reply(rs, status, j);
}

static int ctl_reply_status(struct ctl *c, struct zt_api_response *rs, int status)
{
	(*c->api_errors)++;
	return ctl_reply(rs, status, NULL);
}

/* The request body as a JSON object: empty is {}.  NULL and rs set on
 * error. */
static json_t *ctl_body(struct ctl *c, const struct zt_api_request *rq, struct zt_api_response *rs)
{
	json_error_t jerr;
	json_t *j;
	char why[256];

	if (!rq->body || !rq->body_len)
		return json_object();
	j = json_loadb(rq->body, rq->body_len, 0, &jerr);
	if (!j) {
		snprintf(why, sizeof why, "invalid JSON: %s", jerr.text);
		ctl_reply_error(c, rs, 400, why);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		ctl_reply_error(c, rs, 400, "the body is not a JSON object");
		return NULL;
	}
	return j;
}

static int ctl_api_status(struct ctl *c, struct zt_api_response *rs)
{
	char buf[160];

	snprintf(buf, sizeof buf, "{\n\t\"controller\": true,\n\t\"apiVersion\": 4,\n\t\"clock\": %" PRId64
		 ",\n\t\"databaseReady\": %s\n}\n", ctl_now(), c->store ? "true" : "false");
	rs->status = c->store ? 200 : 503;
	rs->body = strdup(buf);
	return 0;
}

static int ctl_api_list(struct ctl *c, struct zt_api_response *rs, bool unstable)
{
	uint64_t *ids = NULL;
	size_t n = 0, i, total, authorized;
	json_t *arr = json_array(), *o, *meta;
	struct zt_store_network net;

	if (zt_store_network_ids(c->store, &ids, &n) < 0) {
		json_decref(arr);
		return ctl_reply_error(c, rs, 500, zt_store_error(c->store));
	}
	for (i = 0; i < n; i++) {
		if (!unstable) {
			json_array_append_new(arr, ctl_hex(ids[i], 16));
			continue;
		}
		if (zt_store_network_get(c->store, ids[i], &net) < 0)
			continue;
		o = ctl_network_json(&net);
		zt_store_network_clear(&net);
		if (!o)
			continue;
		total = authorized = 0;
		zt_store_member_count(c->store, ids[i], &total, &authorized);
		meta = json_object();
		json_object_set_new(meta, "totalMemberCount", json_integer((json_int_t)total));
		json_object_set_new(meta, "authorizedMemberCount", json_integer((json_int_t)authorized));
		json_object_set_new(o, "meta", meta);
		json_array_append_new(arr, o);
	}
	free(ids);
	if (!unstable)
		return ctl_reply(rs, 200, arr);
	o = json_object();
	json_object_set_new(o, "data", arr);
	meta = json_object();
	json_object_set_new(meta, "networkCount", json_integer((json_int_t)n));
	json_object_set_new(o, "meta", meta);
	return ctl_reply(rs, 200, o);
}

/* A random network id of this controller that is not used yet, or 0. */
static uint64_t ctl_new_id(struct ctl *c)
{
	struct zt_store_network net;
	uint32_t r;
	uint64_t id;
	int i, err;

	for (i = 0; i < 1000; i++) {
		randombytes_buf(&r, sizeof r);
		r &= 0xffffff;
		if (!r)
			r = 1;
		id = c->address << 24 | r;
		err = zt_store_network_get(c->store, id, &net);
		if (err == -ENOENT)
			return id;
		if (err < 0)
			return 0;
		zt_store_network_clear(&net);
	}
	return 0;
}

static int ctl_api_network_post(struct ctl *c, uint64_t id, const struct zt_api_request *rq,
				struct zt_api_response *rs)
{
	struct zt_store_network old, n;
	const char *why = NULL;
	bool exists;
	json_t *body;
	int err;

	body = ctl_body(c, rq, rs);
	if (!body)
		return 0;
	if (!id && !(id = ctl_new_id(c))) {
		json_decref(body);
		return ctl_reply_error(c, rs, 503, "no free network id");
	}
	memset(&old, 0, sizeof old);
	err = zt_store_network_get(c->store, id, &old);
	if (err < 0 && err != -ENOENT) {
		json_decref(body);
		return ctl_reply_error(c, rs, 500, zt_store_error(c->store));
	}
	exists = err == 0;
	if (exists)
		err = zt_store_network_copy(&n, &old);
	else
		ctl_network_defaults(&n, id, ctl_now()), err = 0;
	if (!err && (!n.name || !n.pools || !n.routes || !n.rules || !n.dns || !n.auth_tokens || !n.tags ||
		     !n.capabilities))
		err = -ENOMEM;
	if (!err)
		err = ctl_network_apply(&n, body, &why);
	json_decref(body);
	if (err < 0) {
		zt_store_network_clear(&n);
		zt_store_network_clear(&old);
		return ctl_reply_error(c, rs, err == -EINVAL ? 400 : 500, why ? why : strerror(-err));
	}
	if (!exists || !ctl_network_same(&old, &n)) {
		n.revision = exists ? old.revision + 1 : 1;
		err = zt_store_network_put(c->store, &n);
		if (err < 0) {
			zt_log(c->zi, ZT_LOG_ERR, "network %016" PRIx64 ": %s", id, zt_store_error(c->store));
			zt_store_network_clear(&n);
			zt_store_network_clear(&old);
			return ctl_reply_error(c, rs, 500, zt_store_error(c->store));
		}
		(*c->network_changes)++;
		if (exists)
			ctl_push(c, id, 0);
		else
			zt_log(c->zi, ZT_LOG_INFO, "network %016" PRIx64 ": created", id);
	}
	ctl_reply(rs, 200, ctl_network_json(&n));
	zt_store_network_clear(&n);
	zt_store_network_clear(&old);
	return 0;
}

/* Whether the controller has network nwid; if not, rs is answered (404,
 * or 500 when the store fails). */
static bool ctl_network_exists(struct ctl *c, uint64_t nwid, struct zt_api_response *rs)
{
	struct zt_store_network net;
	int err = zt_store_network_get(c->store, nwid, &net);

	if (err == -ENOENT)
		ctl_reply_status(c, rs, 404);
	else if (err < 0)
		ctl_reply_error(c, rs, 500, zt_store_error(c->store));
	else
		zt_store_network_clear(&net);
	return err == 0;
}

struct ctl_collect {
	json_t *out;                /* object addr -> revision, or array of members */
	size_t n;
	uint64_t *addrs;
	size_t authorized;
};

static int ctl_collect_rev(void *ctx, const struct zt_store_member *m)
{
	struct ctl_collect *cc = ctx;
	char a[11];

	zt_address_fmt(m->address, a);
	json_object_set_new(cc->out, a, json_integer((json_int_t)m->revision));
	return 0;
}

static int ctl_collect_obj(void *ctx, const struct zt_store_member *m)
{
	struct ctl_collect *cc = ctx;

	json_array_append_new(cc->out, ctl_member_json(m));
	cc->n++;
	cc->authorized += m->authorized;
	return 0;
}

static int ctl_collect_addr(void *ctx, const struct zt_store_member *m)
{
	struct ctl_collect *cc = ctx;
	uint64_t *v = realloc(cc->addrs, (cc->n + 1) * sizeof *v);

	if (!v)
		return -ENOMEM;
	cc->addrs = v;
	cc->addrs[cc->n++] = m->address;
	return 0;
}

static int ctl_api_network_delete(struct ctl *c, uint64_t id, struct zt_api_response *rs)
{
	struct zt_store_network net;
	struct ctl_collect cc = { 0 };
	json_t *j;
	size_t i;
	int err;

	err = zt_store_network_get(c->store, id, &net);
	if (err == -ENOENT)
		return ctl_reply_status(c, rs, 404);
	if (err < 0)
		return ctl_reply_error(c, rs, 500, zt_store_error(c->store));
	j = ctl_network_json(&net);
	zt_store_network_clear(&net);
	err = zt_store_member_each(c->store, id, ctl_collect_addr, &cc);
	if (!err)
		err = zt_store_network_delete(c->store, id);
	if (err < 0) {
		free(cc.addrs);
		json_decref(j);
		return ctl_reply_error(c, rs, 500, err == -ENOMEM ? strerror(ENOMEM) : zt_store_error(c->store));
	}
	zt_log(c->zi, ZT_LOG_INFO, "network %016" PRIx64 ": deleted", id);
	for (i = 0; i < cc.n; i++)
		ctl_revoke(c, id, cc.addrs[i]);
	free(cc.addrs);
	return ctl_reply(rs, 200, j);
}

static int ctl_api_members(struct ctl *c, uint64_t nwid, struct zt_api_response *rs, bool unstable)
{
	struct ctl_collect cc = { 0 };
	json_t *o, *meta;
	int err;

	if (!ctl_network_exists(c, nwid, rs))
		return 0;
	cc.out = unstable ? json_array() : json_object();
	err = zt_store_member_each(c->store, nwid, unstable ? ctl_collect_obj : ctl_collect_rev, &cc);
	if (err < 0) {
		json_decref(cc.out);
		return ctl_reply_error(c, rs, 500, zt_store_error(c->store));
	}
	if (!unstable)
		return ctl_reply(rs, 200, cc.out);
	o = json_object();
	json_object_set_new(o, "data", cc.out);
	meta = json_object();
	json_object_set_new(meta, "totalCount", json_integer((json_int_t)cc.n));
	json_object_set_new(meta, "authorizedCount", json_integer((json_int_t)cc.authorized));
	json_object_set_new(o, "meta", meta);
	return ctl_reply(rs, 200, o);
}

static int ctl_api_member(struct ctl *c, uint64_t nwid, uint64_t addr,
			  const struct zt_api_request *rq, struct zt_api_response *rs)
{
	struct zt_store_member old, m;
	const char *why = NULL;
	bool exists, was_auth, was_bridge;
	json_t *body;
	int64_t now = ctl_now();
	int err;

	if (!ctl_network_exists(c, nwid, rs))
		return 0;
	memset(&old, 0, sizeof old);
	err = zt_store_member_get(c->store, nwid, addr, &old);
	if (err < 0 && err != -ENOENT)
		return ctl_reply_error(c, rs, 500, zt_store_error(c->store));
	exists = err == 0;
	if (!strcmp(rq->method, "GET")) {
		if (!exists)
			return ctl_reply_status(c, rs, 404);
		ctl_reply(rs, 200, ctl_member_json(&old));
		zt_store_member_clear(&old);
		return 0;
	}
	if (!strcmp(rq->method, "DELETE")) {
		if (!exists)
			return ctl_reply_status(c, rs, 404);
		err = zt_store_member_delete(c->store, nwid, addr);
		if (err < 0) {
			zt_store_member_clear(&old);
			return ctl_reply_error(c, rs, 500, zt_store_error(c->store));
		}
		if (old.authorized)
			ctl_revoke(c, nwid, addr);
		ctl_reply(rs, 200, ctl_member_json(&old));
		zt_store_member_clear(&old);
		return 0;
	}
	body = ctl_body(c, rq, rs);
	if (!body) {
		zt_store_member_clear(&old);
		return 0;
	}
	if (exists) {
		err = zt_store_member_copy(&m, &old);
	} else {
		ctl_member_init(&m, nwid, addr, now);
		err = 0;
	}
	was_auth = m.authorized;
	was_bridge = m.authorized && m.active_bridge;
	if (!err)
		err = ctl_member_apply(&m, body, now, &why);
	json_decref(body);
	if (!err)
		err = ctl_member_save(c, exists ? &old : NULL, &m);
	if (err < 0) {
		zt_store_member_clear(&m);
		zt_store_member_clear(&old);
		if (err == -EINVAL)
			return ctl_reply_error(c, rs, 400, why);
		return ctl_reply_error(c, rs, 500, err == -ENOMEM ? strerror(ENOMEM) : zt_store_error(c->store));
	}
	if (err > 0) {
		bool revoked = was_auth && !m.authorized;

		if (revoked)
			ctl_revoke(c, nwid, addr);
		else if (exists)
			ctl_revoke_dropped(c, &old, &m);
		/* an active bridge more or less changes every member's config (S) */
		if (was_bridge != (m.authorized && m.active_bridge))
			ctl_push(c, nwid, 0);
		else if (!revoked)
			ctl_push(c, nwid, addr);
	}
	ctl_reply(rs, 200, ctl_member_json(&m));
	zt_store_member_clear(&m);
	zt_store_member_clear(&old);
	return 0;
}

/* The servers the dns module of this ztd answers on for the network
 * (zt-dns(7)): POST {"servers": [IP, ...]} announces them (at most 4; []
 * withdraws them), DELETE withdraws them, GET shows them.  Held in
 * memory (dns-service.c); a change pushes new configs to the online
 * members. */
static int ctl_api_dns_service(struct ctl *c, uint64_t nwid, const struct zt_api_request *rq,
			       struct zt_api_response *rs)
{
	const char *why = NULL;
	struct zt_dns d;
	json_t *body;
	int err;

	if (!ctl_network_exists(c, nwid, rs))
		return 0;
	if (!strcmp(rq->method, "GET"))
		return ctl_reply(rs, 200, ctl_dns_servers_json(ctl_dns_service_find(c, nwid)));
	memset(&d, 0, sizeof d);
	if (strcmp(rq->method, "DELETE")) {
		if (!(body = ctl_body(c, rq, rs)))
			return 0;
		err = ctl_dns_servers_apply(&d, body, &why);
		json_decref(body);
		if (err < 0)
			return ctl_reply_error(c, rs, 400, why);
	}
	err = ctl_dns_service_set(c, nwid, &d);
	if (err < 0)
		return ctl_reply_error(c, rs, 500, strerror(-err));
	if (err > 0) {
		zt_log(c->zi, ZT_LOG_INFO, "network %016" PRIx64 ": the dns module's servers %s", nwid,
		       d.servers[0].sa.sa_family == AF_UNSPEC ? "withdrawn" : "announced");
		ctl_push(c, nwid, 0);
	}
	return ctl_reply(rs, 200, ctl_dns_servers_json(&d));
}

static int ctl_method_not_allowed(struct ctl *c, struct zt_api_response *rs)
{
	return ctl_reply_status(c, rs, 405);
}

/* GET /controller/network/<nwid> */
static int ctl_api_network_get(struct ctl *c, uint64_t nwid, struct zt_api_response *rs)
{
	struct zt_store_network net;
	int err = zt_store_network_get(c->store, nwid, &net);

	if (err == -ENOENT)
		return ctl_reply_status(c, rs, 404);
	if (err < 0)
		return ctl_reply_error(c, rs, 500, zt_store_error(c->store));
	ctl_reply(rs, 200, ctl_network_json(&net));
	zt_store_network_clear(&net);
	return 0;
}

static int ctl_api_network(struct ctl *c, uint64_t nwid, const struct zt_api_request *rq,
			   struct zt_api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return ctl_api_network_get(c, nwid, rs);
	if (!strcmp(rq->method, "DELETE"))
		return ctl_api_network_delete(c, nwid, rs);
	return ctl_api_network_post(c, nwid, rq, rs);
}

int ctl_api(void *state, const struct zt_api_request *rq, struct zt_api_response *rs)
{
	struct ctl *c = state;
	struct ctl_route r;

	rs->status = 200;
	rs->body = NULL;
	ctl_route(rq->method, rq->path, &r);
	if (r.kind == CTL_ROUTE_FOREIGN)
		return -ENOENT;
	(*c->api_requests)++;
	if (r.needs_store && !c->store)
		return ctl_reply_error(c, rs, 503, "the database is not ready");
	switch (r.kind) {
	case CTL_ROUTE_FOREIGN:
	case CTL_ROUTE_NONE:
		break;
	case CTL_ROUTE_NOT_ALLOWED:
		return ctl_method_not_allowed(c, rs);
	case CTL_ROUTE_STATUS:
		return ctl_api_status(c, rs);
	case CTL_ROUTE_NETWORKS:
		return ctl_api_list(c, rs, r.unstable);
	case CTL_ROUTE_NETWORK_NEW:
		if (r.by_address && r.address != c->address)
			return ctl_reply_error(c, rs, 400, "not this controller's address");
		return ctl_api_network_post(c, 0, rq, rs);
	case CTL_ROUTE_NETWORK:
		return ctl_api_network(c, r.nwid, rq, rs);
	case CTL_ROUTE_MEMBERS:
		return ctl_api_members(c, r.nwid, rs, r.unstable);
	case CTL_ROUTE_MEMBER:
		return ctl_api_member(c, r.nwid, r.address, rq, rs);
	case CTL_ROUTE_DNS_SERVICE:
		return ctl_api_dns_service(c, r.nwid, rq, rs);
	}
	return -ENOENT;
}
