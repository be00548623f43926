/* controller: the embedded network controller (networks.md §8).  It
 * answers NETWORK_CONFIG_REQUESTs for the networks of this node, keeps
 * networks and members in its store (store.h, SQLite), and serves the
 * controller HTTP API (§8.8) under /controller through the api module.
 * See zt-controller(7). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>
#include <sodium.h>

#include <zt/credential.h>
#include <zt/module.h>
#include <zt/netconf.h>
#include <zt/node.h>
#include <zt/packet.h>

#include "build.h"
#include "store.h"

#define CTL_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)
/* A member is online while its last request is this recent (§8.4). */
#define CTL_ONLINE_MS 120000
/* Requests per member and network: one per this many ms (§8.1). */
#define CTL_RATE_MS 1000
#define CTL_SEEN_BUCKETS 1024
#define CTL_REV_MAX 512
#define CTL_DEFAULT_RULES "[{\"not\":false,\"or\":false,\"type\":\"ACTION_ACCEPT\"}]"

/* A member heard from recently: for the rate limit and for pushes. */
struct ctl_seen {
	struct ctl_seen *next;
	uint64_t nwid, address;
	int64_t last_request;
	struct zt_identity id;
	size_t meta_len;
	uint8_t meta[ZT_NCREQ_META_READ_MAX];
};

struct ctl {
	struct zt_inst *zi;
	struct zt_core *core;
	struct ev_loop *loop;
	struct store *store;
	char *store_path;           /* as configured, NULL: <home>/controller.db */
	uint64_t address;
	bool started, api_main, api_unstable, role;
	struct zt_netconf *nc;
	uint8_t *dict;
	uint8_t *rules_buf;
	struct ctl_seen *seen[CTL_SEEN_BUCKETS];
	ev_timer prune;

	uint64_t *requests, *rate_limited, *not_found, *denied, *configs, *pushes,
		 *revocations, *failures, *api_requests, *api_errors;
	uint64_t *network_changes, *member_changes, *member_auths, *member_deauths;
};

static int64_t ctl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ctl_sign(void *ctx, const void *msg, size_t len, uint8_t sig[ZT_SIG_LEN])
{
	struct ctl *c = ctx;

	return zt_core_sign(c->core, msg, len, sig);
}

/* ---- members heard from ---- */

static unsigned ctl_seen_hash(uint64_t nwid, uint64_t address)
{
	uint64_t h = (nwid ^ (address * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;

	return (unsigned)(h >> 32) % CTL_SEEN_BUCKETS;
}

static struct ctl_seen *ctl_seen_find(struct ctl *c, uint64_t nwid, uint64_t address)
{
	struct ctl_seen *s;

	for (s = c->seen[ctl_seen_hash(nwid, address)]; s; s = s->next)
		if (s->nwid == nwid && s->address == address)
			return s;
	return NULL;
}

static void ctl_seen_prune(struct ctl *c, int64_t now, bool all)
{
	struct ctl_seen **pp, *s;
	unsigned i;

	for (i = 0; i < CTL_SEEN_BUCKETS; i++) {
		pp = &c->seen[i];
		while ((s = *pp)) {
			if (all || now - s->last_request >= CTL_ONLINE_MS) {
				*pp = s->next;
				sodium_memzero(s, sizeof *s);
				free(s);
			} else {
				pp = &s->next;
			}
		}
	}
}

static void ctl_prune_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ctl_seen_prune(w->data, ctl_now(), false);
}

static bool ctl_online(const struct ctl_seen *s, int64_t now)
{
	return now - s->last_request < CTL_ONLINE_MS;
}

/* ---- change detection ---- */

static bool ctl_str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Equal in everything but the revision. */
static bool ctl_network_same(const struct store_network *a, const struct store_network *b)
{
	return a->id == b->id && ctl_str_eq(a->name, b->name) && a->priv == b->priv &&
	       a->enable_broadcast == b->enable_broadcast && a->mtu == b->mtu &&
	       a->multicast_limit == b->multicast_limit && a->v4_zt == b->v4_zt &&
	       a->v6_rfc4193 == b->v6_rfc4193 && a->v6_6plane == b->v6_6plane &&
	       a->v6_zt == b->v6_zt && ctl_str_eq(a->pools, b->pools) &&
	       ctl_str_eq(a->routes, b->routes) && ctl_str_eq(a->rules, b->rules) &&
	       ctl_str_eq(a->dns, b->dns) && ctl_str_eq(a->auth_tokens, b->auth_tokens) &&
	       a->has_trace_target == b->has_trace_target && a->trace_target == b->trace_target &&
	       a->trace_level == b->trace_level && a->ctmd == b->ctmd &&
	       a->creation_time == b->creation_time;
}

static bool ctl_member_same(const struct store_member *a, const struct store_member *b)
{
	size_t i;

	if (a->nips != b->nips)
		return false;
	for (i = 0; i < a->nips; i++)
		if (strcmp(a->ips[i], b->ips[i]))
			return false;
	return a->nwid == b->nwid && a->address == b->address &&
	       ctl_str_eq(a->identity, b->identity) && ctl_str_eq(a->name, b->name) &&
	       a->authorized == b->authorized && a->active_bridge == b->active_bridge &&
	       a->no_auto_assign_ips == b->no_auto_assign_ips &&
	       a->has_trace_target == b->has_trace_target && a->trace_target == b->trace_target &&
	       a->trace_level == b->trace_level &&
	       a->last_authorized_time == b->last_authorized_time &&
	       a->last_deauthorized_time == b->last_deauthorized_time &&
	       ctl_str_eq(a->auth_cred_type, b->auth_cred_type) &&
	       ctl_str_eq(a->auth_cred, b->auth_cred) && a->v_major == b->v_major &&
	       a->v_minor == b->v_minor && a->v_rev == b->v_rev && a->v_proto == b->v_proto &&
	       a->creation_time == b->creation_time;
}

/* Save m if it differs from old (NULL: new), with the next revision.
 * 1 saved, 0 unchanged, or a negative errno (logged). */
static int ctl_member_save(struct ctl *c, const struct store_member *old, struct store_member *m)
{
	char a[11];
	int err;

	if (old && ctl_member_same(old, m))
		return 0;
	m->revision = old ? old->revision + 1 : 1;
	err = store_member_put(c->store, m);
	if (err < 0) {
		zt_address_fmt(m->address, a);
		zt_log(c->zi, ZT_LOG_ERR, "member %016" PRIx64 "/%s: %s", m->nwid, a, store_error(c->store));
		if (old)
			m->revision = old->revision;
		return err;
	}
	(*c->member_changes)++;
	if (m->authorized && !(old && old->authorized))
		(*c->member_auths)++;
	else if (!m->authorized && old && old->authorized)
		(*c->member_deauths)++;
	return 1;
}

static void ctl_member_init(struct store_member *m, uint64_t nwid, uint64_t address, int64_t now)
{
	memset(m, 0, sizeof *m);
	m->nwid = nwid;
	m->address = address;
	m->v_major = m->v_minor = m->v_rev = m->v_proto = -1;
	m->creation_time = now;
}

/* ---- answering requests (§8.1) ---- */

/* The token of request metadata `a` ("token:<t>"), or NULL. */
static const char *ctl_meta_token(const struct zt_ncreq_meta *md)
{
	if (!md->token[0])
		return NULL;
	if (!strncmp(md->token, "token:", 6))
		return md->token[6] ? md->token + 6 : NULL;
	return md->token;
}

static bool ctl_token_ok(const struct store_network *net, const char *token, int64_t now)
{
	json_t *tokens, *v;
	bool ok = false;

	if (!token)
		return false;
	tokens = json_loads(net->auth_tokens ? net->auth_tokens : "[null]", 0, NULL);
	v = json_object_get(tokens, token);
	if (json_is_integer(v))
		ok = json_integer_value(v) == 0 || json_integer_value(v) > now;
	else if (json_is_real(v))
		ok = json_real_value(v) == 0 || json_real_value(v) > (double)now;
	json_decref(tokens);
	return ok;
}

static void ctl_error(struct ctl *c, const struct zt_netconf_request *rq, unsigned code)
{
	int err;

	if (!rq)
		return;
	err = zt_core_netconf_error(c->core, rq, code);
	if (err < 0)
		zt_log(c->zi, ZT_LOG_DEBUG, "network %016" PRIx64 ": cannot answer an error: %s",
		       rq->nwid, strerror(-err));
}

/* Answer a request (rq) or push a config (rq NULL) to member id on nwid.
 * Pushes send nothing when the member may not have a config. */
static void ctl_serve(struct ctl *c, uint64_t nwid, const struct zt_identity *id,
		      const uint8_t *meta, size_t meta_len, const struct zt_netconf_request *rq)
{
	struct store_network net;
	struct store_member old, m;
	struct zt_ncreq_meta md;
	struct zt_identity rec;
	struct ctl_signer sg = { c->address, ctl_sign, c };
	struct ctl_build b;
	struct zt_wr w;
	char a[11];
	bool is_new = false;
	int64_t now = ctl_now();
	int err;

	memset(&net, 0, sizeof net);
	memset(&old, 0, sizeof old);
	memset(&m, 0, sizeof m);
	zt_address_fmt(id->address, a);
	memset(&md, 0, sizeof md);
	zt_ncreq_meta_parse(&md, meta, meta_len);

	err = store_network_get(c->store, nwid, &net);
	if (err < 0) {
		if (err != -ENOENT)
			zt_log(c->zi, ZT_LOG_ERR, "network %016" PRIx64 ": %s", nwid, store_error(c->store));
		if (rq)
			(*c->not_found)++;
		ctl_error(c, rq, ZT_ERR_OBJ_NOT_FOUND);
		return;
	}
	err = store_member_get(c->store, nwid, id->address, &old);
	if (err == -ENOENT) {
		is_new = true;
		ctl_member_init(&m, nwid, id->address, now);
	} else if (err < 0 || store_member_copy(&m, &old) < 0) {
		zt_log(c->zi, ZT_LOG_ERR, "member %016" PRIx64 "/%s: %s", nwid, a,
		       err < 0 ? store_error(c->store) : strerror(ENOMEM));
		ctl_error(c, rq, ZT_ERR_OBJ_NOT_FOUND);
		goto out;
	}
	if (m.identity) {
		if (zt_identity_from_text(&rec, m.identity) < 0 || !zt_identity_equal(&rec, id)) {
			zt_log(c->zi, ZT_LOG_WARN, "member %016" PRIx64 "/%s: identity differs from the one on record",
			       nwid, a);
			if (rq)
				(*c->denied)++;
			ctl_error(c, rq, ZT_ERR_NETWORK_ACCESS_DENIED);
			goto out;
		}
	} else {
		char text[ZT_ID_TEXT_MAX];

		zt_identity_to_text(id, text, false);
		m.identity = strdup(text);
		if (!m.identity) {
			ctl_error(c, rq, ZT_ERR_OBJ_NOT_FOUND);
			goto out;
		}
	}
	/* recorded for members still waiting too, so that they show once
	 * authorized through the API */
	if (rq) {
		m.v_major = (int)md.majv;
		m.v_minor = (int)md.minv;
		m.v_rev = (int)md.revv;
		m.v_proto = (int)md.pv;
	}
	if (!m.authorized && rq) {
		const char *type = NULL, *token = ctl_meta_token(&md);

		if (!net.priv)
			type = "public";
		else if (ctl_token_ok(&net, token, now))
			type = "token";
		if (type) {
			free(m.auth_cred_type);
			free(m.auth_cred);
			m.authorized = true;
			m.last_authorized_time = now;
			m.auth_cred_type = strdup(type);
			m.auth_cred = !strcmp(type, "token") ? strdup(token) : NULL;
		}
	}
	if (!m.authorized) {
		if (rq) {
			ctl_member_save(c, is_new ? NULL : &old, &m);
			(*c->denied)++;
		}
		ctl_error(c, rq, ZT_ERR_NETWORK_ACCESS_DENIED);
		goto out;
	}
	b.store = c->store;
	b.net = &net;
	b.member = &m;
	b.identity = id;
	b.revr = md.revr;
	b.now = now;
	b.signer = &sg;
	b.rules_buf = c->rules_buf;
	err = ctl_build_config(&b, c->nc);
	if (!err) {
		zt_wr_init(&w, c->dict, ZT_DICT_CONFIG_CAP - 1);
		err = zt_netconf_write(c->nc, &w);
	}
	if (err < 0) {
		zt_log(c->zi, ZT_LOG_ERR, "member %016" PRIx64 "/%s: cannot build a config: %s", nwid, a,
		       err == -EIO ? store_error(c->store) : strerror(-err));
		(*c->failures)++;
		ctl_error(c, rq, ZT_ERR_OBJ_NOT_FOUND);
		goto out;
	}
	if (ctl_member_save(c, is_new ? NULL : &old, &m) < 0) {
		(*c->failures)++;
		ctl_error(c, rq, ZT_ERR_OBJ_NOT_FOUND);
		goto out;
	}
	if (rq) {
		err = zt_core_netconf_reply(c->core, rq, w.p, w.len);
		if (!err)
			(*c->configs)++;
	} else {
		err = zt_core_netconf_push(c->core, id->address, nwid, w.p, w.len);
		if (!err)
			(*c->pushes)++;
	}
	if (err < 0)
		zt_log(c->zi, ZT_LOG_WARN, "member %016" PRIx64 "/%s: cannot send the config: %s",
		       nwid, a, strerror(-err));
	else
		zt_log(c->zi, ZT_LOG_DEBUG, "member %016" PRIx64 "/%s: config %s (%zu bytes, %u IPs)",
		       nwid, a, rq ? "sent" : "pushed", w.len, c->nc->nips);
out:
	store_network_clear(&net);
	store_member_clear(&old);
	store_member_clear(&m);
}

static void ctl_request(void *state, const struct zt_netconf_request *rq)
{
	struct ctl *c = state;
	struct ctl_seen *s;
	int64_t now = ctl_now();
	unsigned h;

	if (!c->store || zt_nwid_controller(rq->nwid) != c->address)
		return;
	(*c->requests)++;
	s = ctl_seen_find(c, rq->nwid, rq->member->address);
	if (s && now - s->last_request >= 0 && now - s->last_request <= CTL_RATE_MS) {
		(*c->rate_limited)++;
		return;
	}
	if (!s) {
		s = calloc(1, sizeof *s);
		if (!s) {
			zt_log(c->zi, ZT_LOG_ERR, "%s", strerror(ENOMEM));
			return;
		}
		s->nwid = rq->nwid;
		s->address = rq->member->address;
		h = ctl_seen_hash(s->nwid, s->address);
		s->next = c->seen[h];
		c->seen[h] = s;
	}
	s->last_request = now;
	s->id = *rq->member;
	s->id.has_private = false;
	sodium_memzero(s->id.priv, sizeof s->id.priv);
	s->meta_len = rq->meta_len < sizeof s->meta ? rq->meta_len : sizeof s->meta;
	if (s->meta_len)
		memcpy(s->meta, rq->meta, s->meta_len);
	ctl_serve(c, rq->nwid, &s->id, s->meta, s->meta_len, rq);
}

/* 1.14's controller_* families (node/Metrics.cpp): the networks and
 * members served, and changes, authorizations and deauthorizations of
 * them through the API. */
static void ctl_metrics(void *state, FILE *f)
{
	struct ctl *c = state;
	uint64_t *ids = NULL;
	size_t n = 0, members = 0;

	if (store_network_ids(c->store, &ids, &n) < 0)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		size_t total = 0, authorized;

		if (store_member_count(c->store, ids[i], &total, &authorized) == 0)
			members += total;
	}
	free(ids);
	fprintf(f, "# HELP controller_network_count number of networks the controller is serving\n"
		"# TYPE controller_network_count gauge\ncontroller_network_count %zu\n"
		"# HELP controller_member_count number of network members the controller is serving\n"
		"# TYPE controller_member_count gauge\ncontroller_member_count %zu\n", n, members);
	fprintf(f, "# HELP controller_network_change_count number of times a network configuration is changed\n"
		"# TYPE controller_network_change_count counter\ncontroller_network_change_count %" PRIu64 "\n"
		"# HELP controller_member_change_count number of times a network member configuration is changed\n"
		"# TYPE controller_member_change_count counter\ncontroller_member_change_count %" PRIu64 "\n"
		"# HELP controller_member_auth_count number of network member auths\n"
		"# TYPE controller_member_auth_count counter\ncontroller_member_auth_count %" PRIu64 "\n"
		"# HELP controller_member_deauth_count number of network member deauths\n"
		"# TYPE controller_member_deauth_count counter\ncontroller_member_deauth_count %" PRIu64 "\n",
		*c->network_changes, *c->member_changes, *c->member_auths, *c->member_deauths);
}

static const struct zt_controller_ops ctl_ops = {
	.request = ctl_request,
	.metrics = ctl_metrics,
};

/* ---- pushes and revocations (§8.4) ---- */

/* Push a fresh config to member (every online member of nwid if
 * member is 0). */
static void ctl_push(struct ctl *c, uint64_t nwid, uint64_t member)
{
	struct ctl_seen *s, *next;
	int64_t now = ctl_now();
	unsigned i;

	if (!c->core)
		return;
	for (i = 0; i < CTL_SEEN_BUCKETS; i++) {
		for (s = c->seen[i]; s; s = next) {
			next = s->next;
			if (s->nwid == nwid && (!member || s->address == member) && ctl_online(s, now))
				ctl_serve(c, nwid, &s->id, s->meta, s->meta_len, NULL);
		}
	}
}

/* Revoke target's COM on nwid at every online member of the network,
 * the target included. */
static void ctl_revoke(struct ctl *c, uint64_t nwid, uint64_t target)
{
	struct ctl_signer sg = { c->address, ctl_sign, c };
	uint8_t buf[CTL_REV_MAX];
	struct ctl_seen *s;
	int64_t now = ctl_now();
	uint32_t id;
	unsigned i;
	int len, err;
	char a[11];

	if (!c->core)
		return;
	randombytes_buf(&id, sizeof id);
	len = ctl_revocation(&sg, nwid, target, now, id, buf, sizeof buf);
	zt_address_fmt(target, a);
	if (len < 0) {
		zt_log(c->zi, ZT_LOG_ERR, "member %016" PRIx64 "/%s: cannot sign a revocation: %s",
		       nwid, a, strerror(-len));
		return;
	}
	(*c->revocations)++;
	for (i = 0; i < CTL_SEEN_BUCKETS; i++) {
		for (s = c->seen[i]; s; s = s->next) {
			if (s->nwid != nwid || !ctl_online(s, now))
				continue;
			err = zt_core_credentials_send(c->core, s->address, buf, (size_t)len);
			if (err < 0)
				zt_log(c->zi, ZT_LOG_DEBUG, "revocation of %s to %010" PRIx64 ": %s",
				       a, s->address, strerror(-err));
		}
	}
	zt_log(c->zi, ZT_LOG_INFO, "member %016" PRIx64 "/%s: deauthorized, COM revoked", nwid, a);
}

/* ---- JSON of the objects (§8.6, §8.7) ---- */

static json_t *ctl_json_text(const char *text, const char *dflt)
{
	json_t *j = json_loads(text ? text : dflt, JSON_DECODE_ANY, NULL);

	return j ? j : json_loads(dflt, JSON_DECODE_ANY, NULL);
}

static json_t *ctl_hex(uint64_t v, int digits)
{
	char buf[24];

	snprintf(buf, sizeof buf, "%0*" PRIx64, digits, v);
	return json_string(buf);
}

static json_t *ctl_network_json(const struct store_network *n)
{
	json_t *o = json_object(), *v4 = json_object(), *v6 = json_object();

	if (!o || !v4 || !v6) {
		json_decref(o);
		json_decref(v4);
		json_decref(v6);
		return NULL;
	}
	json_object_set_new(o, "id", ctl_hex(n->id, 16));
	json_object_set_new(o, "nwid", ctl_hex(n->id, 16));
	json_object_set_new(o, "objtype", json_string("network"));
	json_object_set_new(o, "name", json_string(n->name ? n->name : ""));
	json_object_set_new(o, "private", json_boolean(n->priv));
	json_object_set_new(o, "enableBroadcast", json_boolean(n->enable_broadcast));
	json_object_set_new(o, "mtu", json_integer((json_int_t)n->mtu));
	json_object_set_new(o, "multicastLimit", json_integer((json_int_t)n->multicast_limit));
	json_object_set_new(v4, "zt", json_boolean(n->v4_zt));
	json_object_set_new(o, "v4AssignMode", v4);
	json_object_set_new(v6, "rfc4193", json_boolean(n->v6_rfc4193));
	json_object_set_new(v6, "6plane", json_boolean(n->v6_6plane));
	json_object_set_new(v6, "zt", json_boolean(n->v6_zt));
	json_object_set_new(o, "v6AssignMode", v6);
	json_object_set_new(o, "ipAssignmentPools", ctl_json_text(n->pools, "[]"));
	json_object_set_new(o, "routes", ctl_json_text(n->routes, "[]"));
	json_object_set_new(o, "rules", ctl_json_text(n->rules, "[]"));
	json_object_set_new(o, "dns", ctl_json_text(n->dns, "[]"));
	json_object_set_new(o, "authTokens", ctl_json_text(n->auth_tokens, "[null]"));
	json_object_set_new(o, "remoteTraceTarget", n->has_trace_target ? ctl_hex(n->trace_target, 10) : json_null());
	json_object_set_new(o, "remoteTraceLevel", json_integer((json_int_t)n->trace_level));
	if (n->ctmd)
		json_object_set_new(o, "certificateTimeoutWindowSize", json_integer(n->ctmd));
	json_object_set_new(o, "revision", json_integer((json_int_t)n->revision));
	json_object_set_new(o, "creationTime", json_integer(n->creation_time));
	return o;
}

static json_t *ctl_opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *ctl_member_json(const struct store_member *m)
{
	json_t *o = json_object(), *ips = json_array();
	size_t i;

	if (!o || !ips) {
		json_decref(o);
		json_decref(ips);
		return NULL;
	}
	json_object_set_new(o, "id", ctl_hex(m->address, 10));
	json_object_set_new(o, "address", ctl_hex(m->address, 10));
	json_object_set_new(o, "nwid", ctl_hex(m->nwid, 16));
	json_object_set_new(o, "objtype", json_string("member"));
	json_object_set_new(o, "authorized", json_boolean(m->authorized));
	json_object_set_new(o, "activeBridge", json_boolean(m->active_bridge));
	json_object_set_new(o, "noAutoAssignIps", json_boolean(m->no_auto_assign_ips));
	for (i = 0; i < m->nips; i++)
		json_array_append_new(ips, json_string(m->ips[i]));
	json_object_set_new(o, "ipAssignments", ips);
	if (m->name)
		json_object_set_new(o, "name", json_string(m->name));
	if (m->identity)
		json_object_set_new(o, "identity", json_string(m->identity));
	json_object_set_new(o, "remoteTraceTarget", m->has_trace_target ? ctl_hex(m->trace_target, 10) : json_null());
	json_object_set_new(o, "remoteTraceLevel", json_integer((json_int_t)m->trace_level));
	json_object_set_new(o, "lastAuthorizedTime", json_integer(m->last_authorized_time));
	json_object_set_new(o, "lastDeauthorizedTime", json_integer(m->last_deauthorized_time));
	json_object_set_new(o, "lastAuthorizedCredentialType", ctl_opt_str(m->auth_cred_type));
	json_object_set_new(o, "lastAuthorizedCredential", ctl_opt_str(m->auth_cred));
	json_object_set_new(o, "vMajor", json_integer(m->v_major));
	json_object_set_new(o, "vMinor", json_integer(m->v_minor));
	json_object_set_new(o, "vRev", json_integer(m->v_rev));
	json_object_set_new(o, "vProto", json_integer(m->v_proto));
	json_object_set_new(o, "revision", json_integer((json_int_t)m->revision));
	json_object_set_new(o, "creationTime", json_integer(m->creation_time));
	return o;
}

/* ---- applying a POST body ---- */

/* Replace *dst by the compact text of j (stolen).  false without memory. */
static bool ctl_set_json(char **dst, json_t *j)
{
	char *t = j ? json_dumps(j, CTL_JSON_FLAGS | JSON_ENCODE_ANY) : NULL;

	json_decref(j);
	if (!t)
		return false;
	free(*dst);
	*dst = t;
	return true;
}

static bool ctl_set_str(char **dst, const char *s)
{
	char *d = strdup(s);

	if (!d)
		return false;
	free(*dst);
	*dst = d;
	return true;
}

/* A boolean key if present (ctl_json_bool): 0, or -EINVAL (an array or
 * object). */
static int ctl_get_bool(const json_t *body, const char *key, bool *out)
{
	const json_t *v = json_object_get(body, key);

	return !v || ctl_json_bool(v, out) ? 0 : -EINVAL;
}

static int ctl_get_uint(const json_t *body, const char *key, uint64_t max, uint64_t *out)
{
	const json_t *v = json_object_get(body, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
		return -EINVAL;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* remoteTraceTarget: 10 hex digits, anything else clears it. */
static void ctl_get_trace(const json_t *body, bool *has, uint64_t *target)
{
	const json_t *v = json_object_get(body, "remoteTraceTarget");
	const char *s = json_string_value(v);
	char *end;

	if (!v)
		return;
	*has = false;
	*target = 0;
	if (s && strlen(s) == 10) {
		uint64_t t = strtoull(s, &end, 16);

		if (!*end) {
			*has = true;
			*target = t;
		}
	}
}

static json_t *ctl_ip_json(const union zt_sockaddr *sa)
{
	char t[CTL_IP_TEXT];

	return ctl_ip_text(sa, t) < 0 ? NULL : json_string(t);
}

/* Apply a POST body to a network: 0, or -EINVAL with why (n is then
 * partly changed: the caller works on a copy), -ENOMEM. */
static int ctl_network_apply(struct store_network *n, const json_t *body, const char **why)
{
	const json_t *v, *e;
	union zt_sockaddr s, t;
	json_t *arr;
	size_t i;
	uint64_t u;

	if ((v = json_object_get(body, "name"))) {
		if (!json_is_string(v))
			return *why = "name: not a string", -EINVAL;
		if (!ctl_set_str(&n->name, json_string_value(v)))
			return -ENOMEM;
	}
	if (ctl_get_bool(body, "private", &n->priv) < 0)
		return *why = "private: not a boolean", -EINVAL;
	if (ctl_get_bool(body, "enableBroadcast", &n->enable_broadcast) < 0)
		return *why = "enableBroadcast: not a boolean", -EINVAL;
	if (ctl_get_uint(body, "multicastLimit", UINT32_MAX, &n->multicast_limit) < 0)
		return *why = "multicastLimit: not a non-negative integer", -EINVAL;
	u = n->mtu;
	if (ctl_get_uint(body, "mtu", UINT32_MAX, &u) < 0)
		return *why = "mtu: not a non-negative integer", -EINVAL;
	n->mtu = u < ZT_NET_MTU_MIN ? ZT_NET_MTU_MIN : u > ZT_NET_MTU_MAX ? ZT_NET_MTU_MAX : u;
	if ((v = json_object_get(body, "v4AssignMode"))) {
		if (json_is_string(v))
			n->v4_zt = !strcmp(json_string_value(v), "zt");
		else if (!json_is_object(v) || ctl_get_bool(v, "zt", &n->v4_zt) < 0)
			return *why = "v4AssignMode: not {\"zt\": boolean}", -EINVAL;
	}
	if ((v = json_object_get(body, "v6AssignMode"))) {
		if (json_is_string(v)) {
			char buf[256], *tok, *save;

			snprintf(buf, sizeof buf, "%s", json_string_value(v));
			n->v6_rfc4193 = n->v6_6plane = n->v6_zt = false;
			for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (!strcmp(tok, "rfc4193"))
					n->v6_rfc4193 = true;
				else if (!strcmp(tok, "6plane"))
					n->v6_6plane = true;
				else if (!strcmp(tok, "zt"))
					n->v6_zt = true;
			}
		} else if (!json_is_object(v) || ctl_get_bool(v, "rfc4193", &n->v6_rfc4193) < 0 ||
			   ctl_get_bool(v, "6plane", &n->v6_6plane) < 0 ||
			   ctl_get_bool(v, "zt", &n->v6_zt) < 0) {
			return *why = "v6AssignMode: not {\"rfc4193\", \"6plane\", \"zt\": boolean}", -EINVAL;
		}
	}
	if ((v = json_object_get(body, "ipAssignmentPools"))) {
		if (!json_is_array(v))
			return *why = "ipAssignmentPools: not an array", -EINVAL;
		arr = json_array();
		json_array_foreach(v, i, e) {
			json_t *p;

			if (ctl_ip_parse(json_string_value(json_object_get(e, "ipRangeStart")), &s) < 0 ||
			    ctl_ip_parse(json_string_value(json_object_get(e, "ipRangeEnd")), &t) < 0 ||
			    s.sa.sa_family != t.sa.sa_family) {
				json_decref(arr);
				return *why = "ipAssignmentPools: each needs ipRangeStart and ipRangeEnd, IPs of one family", -EINVAL;
			}
			p = json_object();
			json_object_set_new(p, "ipRangeStart", ctl_ip_json(&s));
			json_object_set_new(p, "ipRangeEnd", ctl_ip_json(&t));
			json_array_append_new(arr, p);
		}
		if (!ctl_set_json(&n->pools, arr))
			return -ENOMEM;
	}
	if ((v = json_object_get(body, "routes"))) {
		if (!json_is_array(v))
			return *why = "routes: not an array", -EINVAL;
		arr = json_array();
		json_array_foreach(v, i, e) {
			char text[CTL_IP_TEXT], cidr[CTL_IP_TEXT + 8];
			json_t *r;
			unsigned bits;

			if (ctl_cidr_parse(json_string_value(json_object_get(e, "target")), &t) < 0) {
				json_decref(arr);
				return *why = "routes: each needs a target ip/bits", -EINVAL;
			}
			bits = ntohs(t.sa.sa_family == AF_INET ? t.in4.sin_port : t.in6.sin6_port);
			ctl_ip_text(&t, text);
			snprintf(cidr, sizeof cidr, "%s/%u", text, bits);
			r = json_object();
			json_object_set_new(r, "target", json_string(cidr));
			if (ctl_ip_parse(json_string_value(json_object_get(e, "via")), &s) == 0 &&
			    s.sa.sa_family == t.sa.sa_family)
				json_object_set_new(r, "via", ctl_ip_json(&s));
			else
				json_object_set_new(r, "via", json_null());
			json_array_append_new(arr, r);
		}
		if (!ctl_set_json(&n->routes, arr))
			return -ENOMEM;
	}
	if ((v = json_object_get(body, "rules"))) {
		if (!json_is_array(v))
			return *why = "rules: not an array", -EINVAL;
		arr = json_array();
		json_array_foreach(v, i, e) {
			json_t *r = ctl_rule_normalize(e);

			if (r && json_array_size(arr) < ZT_NETCONF_MAX_RULES)
				json_array_append_new(arr, r);
			else
				json_decref(r);
		}
		if (!ctl_set_json(&n->rules, arr))
			return -ENOMEM;
	}
	if ((v = json_object_get(body, "dns"))) {
		if (json_is_object(v)) {
			const json_t *d = json_object_get(v, "domain"), *sv = json_object_get(v, "servers");
			json_t *o, *servers;

			if ((d && !json_is_string(d)) || (sv && !json_is_array(sv)))
				return *why = "dns: not {\"domain\": string, \"servers\": [IPs]}", -EINVAL;
			servers = json_array();
			json_array_foreach(sv, i, e) {
				if (ctl_ip_parse(json_string_value(e), &s) < 0) {
					json_decref(servers);
					return *why = "dns: servers: not an IP", -EINVAL;
				}
				json_array_append_new(servers, ctl_ip_json(&s));
			}
			o = json_object();
			json_object_set_new(o, "domain", json_string(d ? json_string_value(d) : ""));
			json_object_set_new(o, "servers", servers);
			if (!ctl_set_json(&n->dns, o))
				return -ENOMEM;
		} else if (json_is_array(v) && !json_array_size(v)) {
			if (!ctl_set_json(&n->dns, json_array()))
				return -ENOMEM;
		} else {
			return *why = "dns: not an object", -EINVAL;
		}
	}
	if ((v = json_object_get(body, "authTokens"))) {
		json_t *o;
		const char *k;

		if (json_is_object(v)) {
			o = json_object();
			json_object_foreach((json_t *)v, k, e)
				if (json_is_integer(e) && json_integer_value(e) >= 0)
					json_object_set_new(o, k, json_integer(json_integer_value(e)));
		} else {
			o = json_loads("[null]", 0, NULL);
		}
		if (!ctl_set_json(&n->auth_tokens, o))
			return -ENOMEM;
	}
	ctl_get_trace(body, &n->has_trace_target, &n->trace_target);
	if (ctl_get_uint(body, "remoteTraceLevel", 255, &n->trace_level) < 0)
		return *why = "remoteTraceLevel: not an integer 0..255", -EINVAL;
	return 0;
}

static bool ctl_has_ip_text(const struct store_member *m, const char *t)
{
	size_t i;

	for (i = 0; i < m->nips; i++)
		if (!strcmp(m->ips[i], t))
			return true;
	return false;
}

static int ctl_member_apply(struct store_member *m, const json_t *body, int64_t now, const char **why)
{
	const json_t *v, *e;
	bool auth = m->authorized;
	union zt_sockaddr sa;
	char t[CTL_IP_TEXT];
	size_t i;

	if (ctl_get_bool(body, "authorized", &auth) < 0)
		return *why = "authorized: not a boolean", -EINVAL;
	if (ctl_get_bool(body, "activeBridge", &m->active_bridge) < 0)
		return *why = "activeBridge: not a boolean", -EINVAL;
	if (ctl_get_bool(body, "noAutoAssignIps", &m->no_auto_assign_ips) < 0)
		return *why = "noAutoAssignIps: not a boolean", -EINVAL;
	if ((v = json_object_get(body, "name"))) {
		if (json_is_null(v)) {
			free(m->name);
			m->name = NULL;
		} else if (!json_is_string(v)) {
			return *why = "name: not a string", -EINVAL;
		} else if (!ctl_set_str(&m->name, json_string_value(v))) {
			return -ENOMEM;
		}
	}
	if ((v = json_object_get(body, "ipAssignments"))) {
		struct store_member tmp;

		if (!json_is_array(v))
			return *why = "ipAssignments: not an array", -EINVAL;
		memset(&tmp, 0, sizeof tmp);
		json_array_foreach(v, i, e) {
			if (ctl_ip_parse(json_string_value(e), &sa) < 0 || ctl_ip_text(&sa, t) < 0 ||
			    ctl_has_ip_text(&tmp, t))
				continue;
			if (store_member_add_ip(&tmp, t) < 0) {
				store_member_clear(&tmp);
				return -ENOMEM;
			}
		}
		for (i = 0; i < m->nips; i++)
			free(m->ips[i]);
		free(m->ips);
		m->ips = tmp.ips;
		m->nips = tmp.nips;
	}
	ctl_get_trace(body, &m->has_trace_target, &m->trace_target);
	if (ctl_get_uint(body, "remoteTraceLevel", 255, &m->trace_level) < 0)
		return *why = "remoteTraceLevel: not an integer 0..255", -EINVAL;
	if (auth != m->authorized) {
		m->authorized = auth;
		if (auth) {
			m->last_authorized_time = now;
			if (!ctl_set_str(&m->auth_cred_type, "api"))
				return -ENOMEM;
			free(m->auth_cred);
			m->auth_cred = NULL;
		} else {
			m->last_deauthorized_time = now;
		}
	}
	return 0;
}

/* ---- the HTTP API (§8.8) ---- */

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

/* Parse a hex id of exactly n digits (either case). */
static bool ctl_parse_id(const char *s, size_t len, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;
	int d;

	if (len != n)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return true;
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
	struct store_network net;

	if (store_network_ids(c->store, &ids, &n) < 0) {
		json_decref(arr);
		return ctl_reply_error(c, rs, 500, store_error(c->store));
	}
	for (i = 0; i < n; i++) {
		if (!unstable) {
			json_array_append_new(arr, ctl_hex(ids[i], 16));
			continue;
		}
		if (store_network_get(c->store, ids[i], &net) < 0)
			continue;
		o = ctl_network_json(&net);
		store_network_clear(&net);
		if (!o)
			continue;
		total = authorized = 0;
		store_member_count(c->store, ids[i], &total, &authorized);
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
	struct store_network net;
	uint32_t r;
	uint64_t id;
	int i, err;

	for (i = 0; i < 1000; i++) {
		randombytes_buf(&r, sizeof r);
		r &= 0xffffff;
		if (!r)
			r = 1;
		id = c->address << 24 | r;
		err = store_network_get(c->store, id, &net);
		if (err == -ENOENT)
			return id;
		if (err < 0)
			return 0;
		store_network_clear(&net);
	}
	return 0;
}

static void ctl_network_defaults(struct store_network *n, uint64_t id, int64_t now)
{
	memset(n, 0, sizeof *n);
	n->id = id;
	n->name = strdup("");
	n->priv = true;
	n->enable_broadcast = true;
	n->mtu = ZT_NET_MTU_DEFAULT;
	n->multicast_limit = 32;
	n->pools = strdup("[]");
	n->routes = strdup("[]");
	n->rules = strdup(CTL_DEFAULT_RULES);
	n->dns = strdup("[]");
	n->auth_tokens = strdup("[null]");
	n->creation_time = now;
}

static int ctl_api_network_post(struct ctl *c, uint64_t id, const struct zt_api_request *rq,
				struct zt_api_response *rs)
{
	struct store_network old, n;
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
	err = store_network_get(c->store, id, &old);
	if (err < 0 && err != -ENOENT) {
		json_decref(body);
		return ctl_reply_error(c, rs, 500, store_error(c->store));
	}
	exists = err == 0;
	if (exists)
		err = store_network_copy(&n, &old);
	else
		ctl_network_defaults(&n, id, ctl_now()), err = 0;
	if (!err && (!n.name || !n.pools || !n.routes || !n.rules || !n.dns || !n.auth_tokens))
		err = -ENOMEM;
	if (!err)
		err = ctl_network_apply(&n, body, &why);
	json_decref(body);
	if (err < 0) {
		store_network_clear(&n);
		store_network_clear(&old);
		return ctl_reply_error(c, rs, err == -EINVAL ? 400 : 500, why ? why : strerror(-err));
	}
	if (!exists || !ctl_network_same(&old, &n)) {
		n.revision = exists ? old.revision + 1 : 1;
		err = store_network_put(c->store, &n);
		if (err < 0) {
			zt_log(c->zi, ZT_LOG_ERR, "network %016" PRIx64 ": %s", id, store_error(c->store));
			store_network_clear(&n);
			store_network_clear(&old);
			return ctl_reply_error(c, rs, 500, store_error(c->store));
		}
		(*c->network_changes)++;
		if (exists)
			ctl_push(c, id, 0);
		else
			zt_log(c->zi, ZT_LOG_INFO, "network %016" PRIx64 ": created", id);
	}
	ctl_reply(rs, 200, ctl_network_json(&n));
	store_network_clear(&n);
	store_network_clear(&old);
	return 0;
}

struct ctl_collect {
	json_t *out;                /* object addr -> revision, or array of members */
	size_t n;
	uint64_t *addrs;
	size_t authorized;
};

static int ctl_collect_rev(void *ctx, const struct store_member *m)
{
	struct ctl_collect *cc = ctx;
	char a[11];

	zt_address_fmt(m->address, a);
	json_object_set_new(cc->out, a, json_integer((json_int_t)m->revision));
	return 0;
}

static int ctl_collect_obj(void *ctx, const struct store_member *m)
{
	struct ctl_collect *cc = ctx;

	json_array_append_new(cc->out, ctl_member_json(m));
	cc->n++;
	cc->authorized += m->authorized;
	return 0;
}

static int ctl_collect_addr(void *ctx, const struct store_member *m)
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
	struct store_network net;
	struct ctl_collect cc = { 0 };
	json_t *j;
	size_t i;
	int err;

	err = store_network_get(c->store, id, &net);
	if (err == -ENOENT)
		return ctl_reply_status(c, rs, 404);
	if (err < 0)
		return ctl_reply_error(c, rs, 500, store_error(c->store));
	j = ctl_network_json(&net);
	store_network_clear(&net);
	err = store_member_each(c->store, id, ctl_collect_addr, &cc);
	if (!err)
		err = store_network_delete(c->store, id);
	if (err < 0) {
		free(cc.addrs);
		json_decref(j);
		return ctl_reply_error(c, rs, 500, err == -ENOMEM ? strerror(ENOMEM) : store_error(c->store));
	}
	zt_log(c->zi, ZT_LOG_INFO, "network %016" PRIx64 ": deleted", id);
	for (i = 0; i < cc.n; i++)
		ctl_revoke(c, id, cc.addrs[i]);
	free(cc.addrs);
	return ctl_reply(rs, 200, j);
}

static int ctl_api_members(struct ctl *c, uint64_t nwid, struct zt_api_response *rs, bool unstable)
{
	struct store_network net;
	struct ctl_collect cc = { 0 };
	json_t *o, *meta;
	int err;

	err = store_network_get(c->store, nwid, &net);
	if (err == -ENOENT)
		return ctl_reply_status(c, rs, 404);
	if (err < 0)
		return ctl_reply_error(c, rs, 500, store_error(c->store));
	store_network_clear(&net);
	cc.out = unstable ? json_array() : json_object();
	err = store_member_each(c->store, nwid, unstable ? ctl_collect_obj : ctl_collect_rev, &cc);
	if (err < 0) {
		json_decref(cc.out);
		return ctl_reply_error(c, rs, 500, store_error(c->store));
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
	struct store_network net;
	struct store_member old, m;
	const char *why = NULL;
	bool exists, was_auth;
	json_t *body;
	int64_t now = ctl_now();
	int err;

	err = store_network_get(c->store, nwid, &net);
	if (err == -ENOENT)
		return ctl_reply_status(c, rs, 404);
	if (err < 0)
		return ctl_reply_error(c, rs, 500, store_error(c->store));
	store_network_clear(&net);
	memset(&old, 0, sizeof old);
	err = store_member_get(c->store, nwid, addr, &old);
	if (err < 0 && err != -ENOENT)
		return ctl_reply_error(c, rs, 500, store_error(c->store));
	exists = err == 0;
	if (!strcmp(rq->method, "GET")) {
		if (!exists)
			return ctl_reply_status(c, rs, 404);
		ctl_reply(rs, 200, ctl_member_json(&old));
		store_member_clear(&old);
		return 0;
	}
	if (!strcmp(rq->method, "DELETE")) {
		if (!exists)
			return ctl_reply_status(c, rs, 404);
		err = store_member_delete(c->store, nwid, addr);
		if (err < 0) {
			store_member_clear(&old);
			return ctl_reply_error(c, rs, 500, store_error(c->store));
		}
		if (old.authorized)
			ctl_revoke(c, nwid, addr);
		ctl_reply(rs, 200, ctl_member_json(&old));
		store_member_clear(&old);
		return 0;
	}
	body = ctl_body(c, rq, rs);
	if (!body) {
		store_member_clear(&old);
		return 0;
	}
	if (exists) {
		err = store_member_copy(&m, &old);
	} else {
		ctl_member_init(&m, nwid, addr, now);
		err = 0;
	}
	was_auth = m.authorized;
	if (!err)
		err = ctl_member_apply(&m, body, now, &why);
	json_decref(body);
	if (!err)
		err = ctl_member_save(c, exists ? &old : NULL, &m);
	if (err < 0) {
		store_member_clear(&m);
		store_member_clear(&old);
		if (err == -EINVAL)
			return ctl_reply_error(c, rs, 400, why);
		return ctl_reply_error(c, rs, 500, err == -ENOMEM ? strerror(ENOMEM) : store_error(c->store));
	}
	if (err > 0) {
		if (was_auth && !m.authorized)
			ctl_revoke(c, nwid, addr);
		else
			ctl_push(c, nwid, addr);
	}
	ctl_reply(rs, 200, ctl_member_json(&m));
	store_member_clear(&m);
	store_member_clear(&old);
	return 0;
}

/* Path segments after the prefix, at most 5. */
struct ctl_path {
	unsigned n;
	const char *seg[5];
	size_t len[5];
};

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
		if (out->n == 5)
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

static int ctl_method_not_allowed(struct ctl *c, struct zt_api_response *rs)
{
	return ctl_reply_status(c, rs, 405);
}

static int ctl_api(void *state, const struct zt_api_request *rq, struct zt_api_response *rs)
{
	struct ctl *c = state;
	struct ctl_path p;
	bool unstable, get, post, del;
	unsigned base;
	uint64_t nwid, addr;

	rs->status = 200;
	rs->body = NULL;
	if (!ctl_split(rq->path, &p))
		return -ENOENT;
	unstable = ctl_seg(&p, 0, "unstable");
	base = unstable ? 1 : 0;
	if (!ctl_seg(&p, base, "controller"))
		return -ENOENT;
	(*c->api_requests)++;
	get = !strcmp(rq->method, "GET");
	post = !strcmp(rq->method, "POST") || !strcmp(rq->method, "PUT");
	del = !strcmp(rq->method, "DELETE");
	if (p.n == base + 1 && !unstable)
		return get ? ctl_api_status(c, rs) : ctl_method_not_allowed(c, rs);
	if (!c->store)
		return ctl_reply_error(c, rs, 503, "the database is not ready");
	if (!ctl_seg(&p, base + 1, "network"))
		return -ENOENT;
	if (p.n == base + 2) {
		if (get)
			return ctl_api_list(c, rs, unstable);
		if (post && !unstable)
			return ctl_api_network_post(c, 0, rq, rs);
		return ctl_method_not_allowed(c, rs);
	}
	if (!ctl_parse_id(p.seg[base + 2], p.len[base + 2], 16, &nwid)) {
		/* <own address>______: a new network with a random number */
		if (!unstable && p.n == base + 3 && p.len[base + 2] == 16 &&
		    !memcmp(p.seg[base + 2] + 10, "______", 6) &&
		    ctl_parse_id(p.seg[base + 2], 10, 10, &addr)) {
			if (!post)
				return ctl_method_not_allowed(c, rs);
			if (addr != c->address)
				return ctl_reply_error(c, rs, 400, "not this controller's address");
			return ctl_api_network_post(c, 0, rq, rs);
		}
		return -ENOENT;
	}
	if (unstable) {
		if (p.n == base + 4 && ctl_seg(&p, base + 3, "member"))
			return get ? ctl_api_members(c, nwid, rs, true) : ctl_method_not_allowed(c, rs);
		return -ENOENT;
	}
	if (p.n == base + 3) {
		if (get) {
			struct store_network net;
			int err = store_network_get(c->store, nwid, &net);

			if (err == -ENOENT)
				return ctl_reply_status(c, rs, 404);
			if (err < 0)
				return ctl_reply_error(c, rs, 500, store_error(c->store));
			ctl_reply(rs, 200, ctl_network_json(&net));
			store_network_clear(&net);
			return 0;
		}
		if (post)
			return ctl_api_network_post(c, nwid, rq, rs);
		if (del)
			return ctl_api_network_delete(c, nwid, rs);
		return ctl_method_not_allowed(c, rs);
	}
	if (!ctl_seg(&p, base + 3, "member"))
		return -ENOENT;
	if (p.n == base + 4)
		return get ? ctl_api_members(c, nwid, rs, false) : ctl_method_not_allowed(c, rs);
	if (p.n == base + 5 && ctl_parse_id(p.seg[base + 4], p.len[base + 4], 10, &addr)) {
		if (!get && !post && !del)
			return ctl_method_not_allowed(c, rs);
		return ctl_api_member(c, nwid, addr, rq, rs);
	}
	return -ENOENT;
}

/* ---- lifecycle ---- */

static void ctl_destroy(void *state)
{
	struct ctl *c = state;

	if (!c)
		return;
	free(c->store_path);
	free(c);
}

static int ctl_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	const struct zt_node *st = zt_node_get(conf, "store"), *pn;
	struct ctl *c;

	if (st && (zt_node_scalar(st) || zt_node_len(st))) {
		zt_node_error(st, "must be a mapping: { path: <file> }");
		return -EINVAL;
	}
	pn = zt_node_get(st, "path");
	if (pn && (!zt_node_scalar(pn) || !*zt_node_scalar(pn))) {
		zt_node_error(pn, "must be a file name");
		return -EINVAL;
	}
	c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->zi = zi;
	if (pn && !(c->store_path = strdup(zt_node_scalar(pn)))) {
		free(c);
		return -ENOMEM;
	}
	c->requests = zt_counter(zi, "config_requests");
	c->rate_limited = zt_counter(zi, "requests_rate_limited");
	c->not_found = zt_counter(zi, "requests_not_found");
	c->denied = zt_counter(zi, "requests_denied");
	c->configs = zt_counter(zi, "configs_sent");
	c->pushes = zt_counter(zi, "configs_pushed");
	c->revocations = zt_counter(zi, "revocations");
	c->failures = zt_counter(zi, "config_failures");
	c->api_requests = zt_counter(zi, "api_requests");
	c->api_errors = zt_counter(zi, "api_errors");
	c->network_changes = zt_counter(zi, "network_changes");
	c->member_changes = zt_counter(zi, "member_changes");
	c->member_auths = zt_counter(zi, "member_auths");
	c->member_deauths = zt_counter(zi, "member_deauths");
	if (!c->requests || !c->rate_limited || !c->not_found || !c->denied || !c->configs ||
	    !c->pushes || !c->revocations || !c->failures || !c->api_requests || !c->api_errors ||
	    !c->network_changes || !c->member_changes || !c->member_auths || !c->member_deauths) {
		ctl_destroy(c);
		return -ENOMEM;
	}
	*state = c;
	return 0;
}

static void ctl_stop(void *state)
{
	struct ctl *c = state;

	if (!c->started)
		return;
	if (c->role)
		zt_core_controller_unregister(c->core);
	if (c->api_main)
		zt_core_api_unregister(c->core, "/controller");
	if (c->api_unstable)
		zt_core_api_unregister(c->core, "/unstable/controller");
	c->role = c->api_main = c->api_unstable = false;
	ev_timer_stop(c->loop, &c->prune);
	ctl_seen_prune(c, 0, true);
	store_close(c->store);
	c->store = NULL;
	zt_netconf_free(c->nc);
	c->nc = NULL;
	free(c->dict);
	c->dict = NULL;
	free(c->rules_buf);
	c->rules_buf = NULL;
	c->started = false;
}

static int ctl_start(void *state, struct ev_loop *loop)
{
	struct ctl *c = state;
	struct zt_status stt;
	char path[4096], err[512];
	int e;

	if (c->started)
		return 0;
	c->core = zt_inst_core(c->zi);
	if (!c->core) {
		zt_log(c->zi, ZT_LOG_ERR, "the controller needs a node");
		return -EINVAL;
	}
	memset(&stt, 0, sizeof stt);
	zt_core_status(c->core, &stt);
	c->address = stt.address;
	if (c->store_path) {
		snprintf(path, sizeof path, "%s", c->store_path);
	} else if (!stt.home ||
		   snprintf(path, sizeof path, "%s/controller.db", stt.home) >= (int)sizeof path) {
		zt_log(c->zi, ZT_LOG_ERR, "no room for <home>/controller.db: set store: { path: <file> }");
		return -EINVAL;
	}
	c->loop = loop;
	c->started = true;
	c->nc = zt_netconf_new();
	c->dict = malloc(ZT_DICT_CONFIG_CAP);
	c->rules_buf = malloc(CTL_RULES_MAX_BYTES);
	if (!c->nc || !c->dict || !c->rules_buf) {
		zt_log(c->zi, ZT_LOG_ERR, "%s", strerror(ENOMEM));
		e = -ENOMEM;
		goto fail;
	}
	c->store = store_open(path, err, sizeof err);
	if (!c->store) {
		zt_log(c->zi, ZT_LOG_ERR, "store: %s", err);
		e = -EIO;
		goto fail;
	}
	ev_timer_init(&c->prune, ctl_prune_cb, 60.0, 60.0);
	c->prune.data = c;
	ev_timer_start(loop, &c->prune);
	e = zt_core_controller_register(c->core, &ctl_ops, c);
	if (e < 0) {
		zt_log(c->zi, ZT_LOG_ERR, "cannot take the controller role: %s", strerror(-e));
		goto fail;
	}
	c->role = true;
	e = zt_core_api_register(c->core, "/controller", ctl_api, c);
	if (e < 0) {
		zt_log(c->zi, ZT_LOG_ERR, "cannot serve /controller: %s", strerror(-e));
		goto fail;
	}
	c->api_main = true;
	e = zt_core_api_register(c->core, "/unstable/controller", ctl_api, c);
	if (e < 0) {
		zt_log(c->zi, ZT_LOG_ERR, "cannot serve /unstable/controller: %s", strerror(-e));
		goto fail;
	}
	c->api_unstable = true;
	zt_log(c->zi, ZT_LOG_INFO, "controller %010" PRIx64 ", store %s", c->address, path);
	return 0;
fail:
	ctl_stop(c);
	return e;
}

static const struct zt_opt ctl_opts[] = {
	ZT_OPT_ANY("store", 0, "the database: { path: <file> }, default <home>/controller.db"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI,
	.name = "controller",
	.kind = ZT_SERVICE,
	.summary = "the network controller: networks, members, configs, /controller API",
	.opts = ctl_opts,
	.create = ctl_create,
	.start = ctl_start,
	.stop = ctl_stop,
	.destroy = ctl_destroy,
};
