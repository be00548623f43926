/* controller: the embedded network controller (networks.md §8).  It
 * answers NETWORK_CONFIG_REQUESTs for the networks of this node, keeps
 * networks and members in a store module (<zt/store.h>, zt-store(7);
 * sqlite unless the `store` option names another), and serves the
 * controller HTTP API (§8.8) under /controller through the api module.
 * See zt-controller(7).  The module's files:
 *   controller.c  the module: options, create/start/stop, saving changes
 *   controller.h  what the files share: state, members heard from
 *   serve.c       answering config requests, pushes, revocations
 *   build.c       building the config (dictionary, COM, rules) answered
 *   api.c         the HTTP API: routes and resources
 *   dns-service.c the servers of this ztd's dns module, given to members
 *   json.c        networks and members as JSON, POST bodies applied */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build.h"
#include "controller.h"

int64_t ctl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- change detection ---- */

static bool ctl_str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Equal in everything but the revision. */
bool ctl_network_same(const struct zt_store_network *a, const struct zt_store_network *b)
{
	return a->id == b->id && ctl_str_eq(a->name, b->name) && a->priv == b->priv &&
	       a->enable_broadcast == b->enable_broadcast && a->mtu == b->mtu &&
	       a->multicast_limit == b->multicast_limit && a->v4_zt == b->v4_zt &&
	       a->v6_rfc4193 == b->v6_rfc4193 && a->v6_6plane == b->v6_6plane &&
	       a->v6_zt == b->v6_zt && ctl_str_eq(a->pools, b->pools) &&
	       ctl_str_eq(a->routes, b->routes) && ctl_str_eq(a->rules, b->rules) &&
	       ctl_str_eq(a->tags, b->tags) && ctl_str_eq(a->capabilities, b->capabilities) &&
	       ctl_str_eq(a->dns, b->dns) && ctl_str_eq(a->auth_tokens, b->auth_tokens) &&
	       a->has_trace_target == b->has_trace_target && a->trace_target == b->trace_target &&
	       a->trace_level == b->trace_level && a->ctmd == b->ctmd &&
	       a->creation_time == b->creation_time && ctl_str_eq(a->rules_source, b->rules_source);
}

bool ctl_member_same(const struct zt_store_member *a, const struct zt_store_member *b)
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
	       a->creation_time == b->creation_time && ctl_str_eq(a->tags, b->tags) &&
	       ctl_str_eq(a->capabilities, b->capabilities);
}

/* Save m if it differs from old (NULL: new), with the next revision.
 * 1 saved, 0 unchanged, or a negative errno (logged). */
int ctl_member_save(struct ctl *c, const struct zt_store_member *old, struct zt_store_member *m)
{
	char a[11];
	int err;

	if (old && ctl_member_same(old, m))
		return 0;
	m->revision = old ? old->revision + 1 : 1;
	err = zt_store_member_put(c->store, m);
	if (err < 0) {
		zt_address_fmt(m->address, a);
		zt_log(c->zi, ZT_LOG_ERR, "member %016" PRIx64 "/%s: %s", m->nwid, a, zt_store_error(c->store));
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

/* ---- lifecycle ---- */

static void ctl_destroy(void *state)
{
	struct ctl *c = state;

	if (!c)
		return;
	zt_store_release(c->store);
	free(c);
}

static int ctl_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	struct ctl *c = calloc(1, sizeof *c);

	if (!c)
		return -ENOMEM;
	c->zi = zi;
	/* { path: <file> } without use: is the sqlite store, as before stores were modules */
	c->store = zt_store_use(zi, conf, "store", "sqlite");
	if (!c->store) {
		free(c);
		return -EINVAL;
	}
	c->write_queue_tail = &c->write_queue;
	c->requests = zt_counter(zi, "config_requests");
	c->cached = zt_counter(zi, "configs_cached");
	c->rate_limited = zt_counter(zi, "requests_rate_limited");
	c->not_found = zt_counter(zi, "requests_not_found");
	c->denied = zt_counter(zi, "requests_denied");
	c->configs = zt_counter(zi, "configs_sent");
	c->pushes = zt_counter(zi, "configs_pushed");
	c->revocations = zt_counter(zi, "revocations");
	c->failures = zt_counter(zi, "config_failures");
	c->api_requests = zt_counter(zi, "api_requests");
	c->api_errors = zt_counter(zi, "api_errors");
	c->standby = zt_counter(zi, "requests_standby");
	c->network_changes = zt_counter(zi, "network_changes");
	c->member_changes = zt_counter(zi, "member_changes");
	c->member_auths = zt_counter(zi, "member_auths");
	c->member_deauths = zt_counter(zi, "member_deauths");
	if (!c->requests || !c->cached || !c->rate_limited || !c->not_found || !c->denied || !c->configs ||
	    !c->pushes || !c->revocations || !c->failures || !c->api_requests || !c->api_errors || !c->standby ||
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
	ctl_writes_stop(c);
	if (c->role)
		zt_core_controller_unregister(c->core);
	if (c->api_main)
		zt_core_api_unregister(c->core, "/controller");
	if (c->api_unstable)
		zt_core_api_unregister(c->core, "/unstable/controller");
	c->role = c->api_main = c->api_unstable = false;
	ev_timer_stop(c->loop, &c->prune);
	ev_timer_stop(c->loop, &c->flush);
	if (c->store_open)
		ctl_seen_flush(c);
	ctl_seen_prune(c, 0, true);
	/* a dns module still running announces its servers again */
	ctl_dns_services_free(c);
	zt_store_close(c->store);
	c->store_open = false;
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
	char err[512];
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
	c->loop = loop;
	c->started = true;
	c->stopping = false;
	c->nc = zt_netconf_new();
	c->dict = malloc(ZT_DICT_CONFIG_CAP);
	c->rules_buf = malloc(CTL_RULES_MAX_BYTES);
	if (!c->nc || !c->dict || !c->rules_buf) {
		zt_log(c->zi, ZT_LOG_ERR, "%s", strerror(ENOMEM));
		e = -ENOMEM;
		goto fail;
	}
	c->store_user = (struct zt_store_user){
		.ctx = c, .home = stt.home, .controller = c->address,
		.changed = ctl_store_changed, .active = ctl_store_active,
	};
	e = zt_store_open(c->store, loop, &c->store_user, err, sizeof err);
	if (e < 0) {
		zt_log(c->zi, ZT_LOG_ERR, "store %s: %s", zt_inst_name(zt_store_inst(c->store)), err);
		goto fail;
	}
	c->store_open = true;
	/* before the loop runs: a standby sends not even its first HELLO */
	if (!zt_store_active(c->store))
		zt_core_set_silent(c->core, true);
	ev_timer_init(&c->prune, ctl_prune_cb, 60.0, 60.0);
	c->prune.data = c;
	ev_timer_start(loop, &c->prune);
	ev_timer_init(&c->flush, ctl_flush_cb, CTL_FLUSH_S, CTL_FLUSH_S);
	c->flush.data = c;
	ev_timer_start(loop, &c->flush);
	e = zt_core_controller_register(c->core, &ctl_ops, c);
	if (e < 0) {
		zt_log(c->zi, ZT_LOG_ERR, "cannot take the controller role: %s", strerror(-e));
		goto fail;
	}
	c->role = true;
	e = zt_core_api_register_async(c->core, "/controller", ctl_api_async, c);
	if (e < 0) {
		zt_log(c->zi, ZT_LOG_ERR, "cannot serve /controller: %s", strerror(-e));
		goto fail;
	}
	c->api_main = true;
	e = zt_core_api_register_async(c->core, "/unstable/controller", ctl_api_async, c);
	if (e < 0) {
		zt_log(c->zi, ZT_LOG_ERR, "cannot serve /unstable/controller: %s", strerror(-e));
		goto fail;
	}
	c->api_unstable = true;
	zt_log(c->zi, ZT_LOG_INFO, "controller %010" PRIx64 ", store %s%s", c->address,
	       zt_inst_name(zt_store_inst(c->store)), zt_store_active(c->store) ? "" : " (standby)");
	return 0;
fail:
	ctl_stop(c);
	return e;
}

static const struct zt_opt ctl_opts[] = {
	ZT_OPT_ANY("store", 0, "the store: { use: <store module>, ... } or the name of one under stores:,"
		   " default { use: sqlite } (<home>/controller.db)"),
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

