/* Stores in use (<zt/store.h>): finding or making the store instance a
 * module's option names, calling its operations, and the plain structs
 * both sides share.  Nothing here knows a database. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zt/store.h>

#include "conf.h"
#include "internal.h"

struct zt_store {
	struct zt_inst *zi;
	const struct zt_store_ops *ops;
	void *state;
	bool own;                   /* made by zt_store_use: destroyed on release */
	bool open;
	struct zt_conf *own_conf;   /* the default { use: ... } when the key is absent */
};

static struct zt_store *store_wrap(struct zt_inst *zi, bool own)
{
	struct zt_store *s;

	if (zt_inst_module(zi)->kind != ZT_STORE)
		return NULL;
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->zi = zi;
	s->ops = zt_inst_module(zi)->ops.store;
	s->state = zt_inst_state(zi);
	s->own = own;
	return s;
}

struct zt_store *zt_store_of(struct zt_inst *zi)
{
	return zi ? store_wrap(zi, false) : NULL;
}

/* A scalar: an instance of the config's `stores:` section, made before. */
static struct zt_store *store_named(struct zt_inst *user, const struct zt_node *n)
{
	struct zt_inst *zi = zt_kernel_find(zt_inst_kernel(user), n->text);
	struct zt_store *s;

	if (!zi || zt_inst_module(zi)->kind != ZT_STORE) {
		zt_node_error(n, "no store named '%s' (define it under 'stores:', or write { use: <module>, ... })",
			      n->text);
		return NULL;
	}
	if (!(s = store_wrap(zi, false)))
		zt_node_error(n, "%s", strerror(ENOMEM));
	return s;
}

/* A mapping: an instance of the user's own. */
static struct zt_store *store_inline(struct zt_inst *user, struct zt_node *n, const char *def_use)
{
	const struct zt_node *use_n = zt_node_get(n, "use");
	const char *use = use_n ? zt_node_scalar(use_n) : def_use;
	const char *name = zt_conf_str(n, "instance");
	const struct zt_module *mod;
	struct zt_inst *zi;
	struct zt_store *s;
	char why[4096];

	if (!use) {
		zt_node_error(use_n, "'use' must name a store module");
		return NULL;
	}
	if (!(mod = zt_module_load(use, why, sizeof why))) {
		zt_node_error_at(use_n ? use_n : n, n, "%s", why);
		return NULL;
	}
	if (mod->kind != ZT_STORE) {
		zt_node_error_at(use_n ? use_n : n, n, "'%s' is a%s %s, not a store", use,
				 mod->kind == ZT_IFACE ? "n" : "", zt_kind_name(mod->kind));
		return NULL;
	}
	if (!name)
		name = mod->name;
	if (zt_conf_check_opts(n, mod->opts, name))
		return NULL;
	if (!(zi = zt_inst_create(zt_inst_kernel(user), mod, name, n)))
		return NULL;
	if (!(s = store_wrap(zi, true))) {
		zt_inst_destroy(zi);
		zt_node_error(n, "%s", strerror(ENOMEM));
	}
	return s;
}

struct zt_store *zt_store_use(struct zt_inst *user, const struct zt_node *conf,
			      const char *key, const char *def_use)
{
	struct zt_node *n = (struct zt_node *)zt_node_get(conf, key);
	struct zt_conf *dflt;
	struct zt_store *s;
	char text[128];

	if (n && n->type == ZT_NODE_SCALAR)
		return store_named(user, n);
	if (n && n->type == ZT_NODE_MAP)
		return store_inline(user, n, def_use);
	if (n) {
		zt_node_error(n, "must be a mapping { use: <store module>, ... } or the name of a store");
		return NULL;
	}
	snprintf(text, sizeof text, "{ use: %s }", def_use);
	dflt = zt_conf_parse(conf ? conf->conf->file : "(default store)", text, true);
	if (!dflt || dflt->errors || !dflt->root) {
		zt_node_error(conf, "%s: default store '%s': %s", key, def_use,
			      dflt && dflt->errors ? dflt->first_error : strerror(ENOMEM));
		zt_conf_free(dflt);
		return NULL;
	}
	s = store_inline(user, dflt->root, def_use);
	if (!s && dflt->errors)
		zt_node_error(conf, "%s: %s", key, dflt->first_error);
	if (s)
		s->own_conf = dflt;
	else
		zt_conf_free(dflt);
	return s;
}

void zt_store_release(struct zt_store *s)
{
	if (!s)
		return;
	zt_store_close(s);
	if (s->own)
		zt_inst_destroy(s->zi);
	zt_conf_free(s->own_conf);
	free(s);
}

struct zt_inst *zt_store_inst(const struct zt_store *s)
{
	return s->zi;
}

/* ---- operations ---- */

int zt_store_open(struct zt_store *s, struct ev_loop *loop, const struct zt_store_user *user,
		  char *err, size_t errlen)
{
	int rc = zt_inst_start_on(s->zi, loop);

	if (rc < 0) {
		snprintf(err, errlen, "%s: could not start: %s", zt_inst_name(s->zi), strerror(-rc));
		return rc;
	}
	rc = s->ops->open(s->state, loop, user, err, errlen);
	s->open = rc == 0;
	return rc;
}

void zt_store_close(struct zt_store *s)
{
	if (s->open)
		s->ops->close(s->state);
	s->open = false;
	if (s->own)
		zt_inst_stop(s->zi);
}

const char *zt_store_error(const struct zt_store *s)
{
	return s->ops->error(s->state);
}

bool zt_store_active(const struct zt_store *s)
{
	return !s->ops->active || s->ops->active(s->state);
}

int zt_store_begin(struct zt_store *s)
{
	return s->ops->begin(s->state);
}

int zt_store_commit(struct zt_store *s)
{
	return s->ops->commit(s->state);
}

int zt_store_commit_async(struct zt_store *s, zt_store_done_fn *done, void *ctx)
{
	if (s->ops->commit_async)
		return s->ops->commit_async(s->state, done, ctx);
	/* a store that commits at once, without commit_async */
	done(ctx, s->ops->commit(s->state));
	return 0;
}

bool zt_store_can_wait(const struct zt_store *s)
{
	return s->ops->commit_async != NULL;
}

bool zt_store_can_group(const struct zt_store *s)
{
	return s->ops->reads_own_writes;
}

void zt_store_rollback(struct zt_store *s)
{
	s->ops->rollback(s->state);
}

int zt_store_network_get(struct zt_store *s, uint64_t id, struct zt_store_network *out)
{
	return s->ops->network_get(s->state, id, out);
}

int zt_store_network_put(struct zt_store *s, const struct zt_store_network *n)
{
	return s->ops->network_put(s->state, n);
}

int zt_store_network_delete(struct zt_store *s, uint64_t id)
{
	return s->ops->network_delete(s->state, id);
}

int zt_store_network_ids(struct zt_store *s, uint64_t **ids, size_t *n)
{
	return s->ops->network_ids(s->state, ids, n);
}

int zt_store_member_get(struct zt_store *s, uint64_t nwid, uint64_t address, struct zt_store_member *out)
{
	return s->ops->member_get(s->state, nwid, address, out);
}

int zt_store_member_put(struct zt_store *s, const struct zt_store_member *m)
{
	return s->ops->member_put(s->state, m);
}

int zt_store_member_delete(struct zt_store *s, uint64_t nwid, uint64_t address)
{
	return s->ops->member_delete(s->state, nwid, address);
}

int zt_store_member_each(struct zt_store *s, uint64_t nwid,
			 int (*fn)(void *ctx, const struct zt_store_member *m), void *ctx)
{
	return s->ops->member_each(s->state, nwid, fn, ctx);
}

int zt_store_member_count(struct zt_store *s, uint64_t nwid, size_t *total, size_t *authorized)
{
	return s->ops->member_count(s->state, nwid, total, authorized);
}

int zt_store_ip_holder(struct zt_store *s, uint64_t nwid, const char *ip, uint64_t *address)
{
	return s->ops->ip_holder(s->state, nwid, ip, address);
}

struct store_bridges {
	uint64_t *out;
	size_t max, n;
};

static int store_bridge_visit(void *ctx, const struct zt_store_member *m)
{
	struct store_bridges *b = ctx;

	if (m->active_bridge && m->authorized && b->n < b->max)
		b->out[b->n++] = m->address;
	return 0;
}

int zt_store_member_bridges(struct zt_store *s, uint64_t nwid, uint64_t *out, size_t max, size_t *n)
{
	struct store_bridges b = { out, max, 0 };
	int err;

	if (s->ops->member_bridges)
		return s->ops->member_bridges(s->state, nwid, out, max, n);
	err = s->ops->member_each(s->state, nwid, store_bridge_visit, &b);
	if (err == 0)
		*n = b.n;
	return err;
}

int zt_store_seen(struct zt_store *s, const struct zt_store_seen *seen, size_t n)
{
	return s->ops->seen && n ? s->ops->seen(s->state, seen, n) : 0;
}

/* ---- the structs ---- */

void zt_store_network_clear(struct zt_store_network *n)
{
	free(n->name);
	free(n->pools);
	free(n->routes);
	free(n->rules);
	free(n->tags);
	free(n->capabilities);
	free(n->dns);
	free(n->auth_tokens);
	free(n->rules_source);
	memset(n, 0, sizeof *n);
}

void zt_store_member_clear(struct zt_store_member *m)
{
	for (size_t i = 0; i < m->nips; i++)
		free(m->ips[i]);
	free(m->ips);
	free(m->identity);
	free(m->name);
	free(m->auth_cred_type);
	free(m->auth_cred);
	free(m->tags);
	free(m->capabilities);
	memset(m, 0, sizeof *m);
}

/* Copy a string that may be NULL; false when out of memory. */
static bool store_dup(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

int zt_store_network_copy(struct zt_store_network *dst, const struct zt_store_network *src)
{
	*dst = *src;
	dst->name = dst->pools = dst->routes = dst->rules = dst->dns = dst->auth_tokens = NULL;
	dst->tags = dst->capabilities = dst->rules_source = NULL;
	if (!store_dup(&dst->name, src->name) || !store_dup(&dst->pools, src->pools) ||
	    !store_dup(&dst->routes, src->routes) || !store_dup(&dst->rules, src->rules) ||
	    !store_dup(&dst->tags, src->tags) || !store_dup(&dst->capabilities, src->capabilities) ||
	    !store_dup(&dst->dns, src->dns) || !store_dup(&dst->auth_tokens, src->auth_tokens) ||
	    !store_dup(&dst->rules_source, src->rules_source)) {
		zt_store_network_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

int zt_store_member_add_ip(struct zt_store_member *m, const char *ip)
{
	char **ips = realloc(m->ips, (m->nips + 1) * sizeof *ips);

	if (!ips)
		return -ENOMEM;
	m->ips = ips;
	if (!(ips[m->nips] = strdup(ip)))
		return -ENOMEM;
	m->nips++;
	return 0;
}

int zt_store_member_copy(struct zt_store_member *dst, const struct zt_store_member *src)
{
	*dst = *src;
	dst->identity = dst->name = dst->auth_cred_type = dst->auth_cred = NULL;
	dst->tags = dst->capabilities = NULL;
	dst->ips = NULL;
	dst->nips = 0;
	if (!store_dup(&dst->identity, src->identity) || !store_dup(&dst->name, src->name) ||
	    !store_dup(&dst->auth_cred_type, src->auth_cred_type) ||
	    !store_dup(&dst->auth_cred, src->auth_cred) || !store_dup(&dst->tags, src->tags) ||
	    !store_dup(&dst->capabilities, src->capabilities))
		goto fail;
	for (size_t i = 0; i < src->nips; i++)
		if (zt_store_member_add_ip(dst, src->ips[i]) < 0)
			goto fail;
	return 0;
fail:
	zt_store_member_clear(dst);
	return -ENOMEM;
}
