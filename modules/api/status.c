/* api: /status, /health and /peer (networks.md §9.3). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zt/nat.h>

#include "api.h"

/* A NAT helper's state: what it maps, where, and for how long yet. */
static json_t *api_nat_json(const struct zt_nat_mapping *m, uint64_t now)
{
	json_t *o = json_object();
	int err = 0;
	int64_t left = m->lease_end ? (m->lease_end - (int64_t)now) / 1000 : 0;

	if (!o)
		return NULL;
	err |= api_set(o, "helper", json_string(m->helper));
	err |= api_set(o, "protocol", json_string(m->protocol));
	err |= api_set(o, "state", json_string(m->state));
	err |= api_set(o, "gateway", m->gateway.sa.sa_family ? api_addr_json(&m->gateway) : json_null());
	err |= api_set(o, "externalAddress",
		       m->external.sa.sa_family ? api_addr_json(&m->external) : json_null());
	err |= api_set(o, "internalPort", json_integer(m->internal_port));
	err |= api_set(o, "leaseSeconds", json_integer(left > 0 ? left : 0));
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *api_nat_helpers_json(const struct zt_core *core, uint64_t now)
{
	struct zt_nat_mapping m[ZT_NAT_MAX];
	size_t n = zt_core_externals(core, m, ZT_NAT_MAX);
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n && i < ZT_NAT_MAX; i++)
		if (json_array_append_new(arr, api_nat_json(&m[i], now)) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static json_t *api_status_json(const struct zt_core *core, const struct zt_status *st)
{
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	err |= api_set(o, "config", api_config_json(st));
	err |= api_set(o, "address", api_hex40(st->address));
	err |= api_set(o, "publicIdentity", json_string(st->public_identity));
	err |= api_set(o, "online", json_boolean(st->online));
	err |= api_set(o, "tcpFallbackActive", json_false());
	err |= api_set(o, "clock", json_integer((json_int_t)st->clock_ms));
	err |= api_set(o, "planetWorldId", json_integer((json_int_t)st->planet_id));
	err |= api_set(o, "planetWorldTimestamp", json_integer((json_int_t)st->planet_timestamp));
	/* zt's own: no planet file, ztd's built-in planet (the public roots) */
	err |= api_set(o, "planetBuiltIn", json_boolean(st->planet_builtin));
	err |= api_set(o, "natHelpers", api_nat_helpers_json(core, st->clock_ms));
	err |= api_set(o, "natType", json_string(zt_core_nat_type(core)));
	err |= api_set(o, "natProbe", json_string(zt_core_nat_probe(core, 0)));
	err |= api_set_version(o);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *api_health_json(const struct zt_status *st)
{
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	err |= api_set(o, "clock", json_integer((json_int_t)st->clock_ms));
	err |= api_set(o, "online", json_boolean(st->online));
	err |= api_set_version(o);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *api_path_json(const struct zt_core *core, const struct zt_path_info *p)
{
	const char *transport = zt_core_path_transport(core, p->local_socket);
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	err |= api_set(o, "address", api_addr_json(&p->address));
	err |= api_set(o, "lastSend", json_integer((json_int_t)p->last_send));
	err |= api_set(o, "lastReceive", json_integer((json_int_t)p->last_receive));
	err |= api_set(o, "trustedPathId", json_integer(0));
	err |= api_set(o, "active", json_boolean(p->active));
	err |= api_set(o, "expired", json_boolean(p->expired));
	err |= api_set(o, "preferred", json_boolean(p->preferred));
	err |= api_set(o, "localSocket", json_integer(p->local_socket));
	err |= api_set(o, "localPort", json_integer(p->local_port));
	err |= api_set(o, "transport", json_string(transport ? transport : ""));
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Why a leaf peer is reached through a root: what this node knows of it. */
static const char *api_relay_reason(const struct zt_core *core, uint64_t peer)
{
	union zt_sockaddr ext[1];

	if (strcmp(zt_core_nat_probe(core, peer), "both symmetric: relayed") == 0)
		return "this node and the peer are both behind endpoint-dependent (symmetric) NATs and no NAT "
		       "helper maps a port: no direct path can be found";
	if (strcmp(zt_core_nat_type(core), "endpoint-dependent") == 0 && !zt_core_external_addrs(core, ext, 1))
		return "this node is behind an endpoint-dependent (symmetric) NAT and no NAT helper maps its port";
	return "no direct path found";
}

static json_t *api_peer_json(const struct zt_core *core, const struct zt_peer_info *p)
{
	bool tunneled = false;
	json_t *o = json_object(), *paths = json_array();
	char ver[48];
	unsigned i, n = p->n_paths;
	int err = 0;

	if (!o || !paths)
		goto fail;
	if (n > ZT_INFO_MAX_PATHS)
		n = ZT_INFO_MAX_PATHS;
	for (i = 0; i < n; i++) {
		json_t *pj = api_path_json(core, &p->paths[i]);
		const char *t = zt_core_path_transport(core, p->paths[i].local_socket);

		if (p->paths[i].preferred && t && strcmp(t, "tcp") == 0)
			tunneled = true;

		if (!pj || json_array_append_new(paths, pj) < 0)
			goto fail;
	}
	err |= api_set(o, "paths", paths);
	paths = NULL;
	snprintf(ver, sizeof ver, "%d.%d.%d", p->version_major, p->version_minor, p->version_rev);
	err |= api_set(o, "address", api_hex40(p->address));
	err |= api_set(o, "versionMajor", json_integer(p->version_major));
	err |= api_set(o, "versionMinor", json_integer(p->version_minor));
	err |= api_set(o, "versionRev", json_integer(p->version_rev));
	err |= api_set(o, "version", json_string(ver));
	err |= api_set(o, "latency", json_integer(p->latency));
	err |= api_set(o, "role", json_string(api_role(p->role)));
	err |= api_set(o, "isBonded", json_false());
	err |= api_set(o, "tunneled", json_boolean(tunneled));
	err |= api_set(o, "relayed", json_boolean(p->role == ZT_ROLE_LEAF && !p->direct));
	err |= api_set(o, "relayedBecause", p->role == ZT_ROLE_LEAF && !p->direct ?
		       json_string(api_relay_reason(core, p->address)) : json_null());
	err |= api_set(o, "natProbe", json_string(zt_core_nat_probe(core, p->address)));
	if (err)
		goto fail;
	return o;
fail:
	json_decref(paths);
	json_decref(o);
	return NULL;
}

struct api_peers_ctx {
	const struct zt_core *core;
	json_t *arr;
	bool failed;
};

static void api_peers_visit(void *ctx, const struct zt_peer_info *peer)
{
	struct api_peers_ctx *pc = ctx;
	json_t *pj;

	if (pc->failed)
		return;
	pj = api_peer_json(pc->core, peer);
	if (!pj || json_array_append_new(pc->arr, pj) < 0)
		pc->failed = true;
}
/* GET /status or /health (route). */
int api_status(struct api *a, struct api_conn *c, int route)
{
	struct zt_status st;
	json_t *j;

	memset(&st, 0, sizeof st);
	zt_core_status(a->core, &st);
	j = route == API_R_STATUS ? api_status_json(a->core, &st) : api_health_json(&st);
	if (!j)
		return api_reply(a, c, 500, api_error_json(500, "out of memory"));
	return api_reply(a, c, 200, j);
}

/* GET /peer: every peer. */
int api_peers(struct api *a, struct api_conn *c)
{
	struct api_peers_ctx pc = { a->core, json_array(), false };

	if (!pc.arr)
		return api_reply(a, c, 500, api_error_json(500, "out of memory"));
	zt_core_peers(a->core, api_peers_visit, &pc);
	if (pc.failed) {
		json_decref(pc.arr);
		return api_reply(a, c, 500, api_error_json(500, "out of memory"));
	}
	return api_reply(a, c, 200, pc.arr);
}

/* GET /peer/<address>: one peer, or {} if it is not known. */
int api_peer(struct api *a, struct api_conn *c, uint64_t address)
{
	struct zt_peer_info pi;
	json_t *j;

	memset(&pi, 0, sizeof pi);
	if (zt_core_peer(a->core, address, &pi) < 0)
		return api_reply_empty(a, c, 200);
	j = api_peer_json(a->core, &pi);
	if (!j)
		return api_reply(a, c, 500, api_error_json(500, "out of memory"));
	return api_reply(a, c, 200, j);
}

/* POST /peer/<address>/echo: send the peer an ECHO; a body, if any,
 * must be JSON. */
int api_peer_echo(struct api *a, struct api_conn *c, struct api_req *rq)
{
	char why[API_WHY_MAX];
	int err;

	if (!api_body_is_json(rq->body, rq->len, why, sizeof why)) {
		(*a->bad_requests)++;
		return api_reply(a, c, 400, api_error_json(400, why));
	}
	err = zt_core_echo(a->core, rq->peer);
	if (err == -ENOENT)
		return api_reply_empty(a, c, 404);
	if (err < 0)
		return api_reply(a, c, 503,
				 api_error_json(503, strerror(-err)));
	return api_reply(a, c, 200, json_pack("{s:b}", "sent", 1));
}
