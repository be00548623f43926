/* The pipeline: reads ztd.yaml into module instances and chains.
 *
 *   node:       { home, planet, orbit, log-level, syslog, cipher, workers, busy-poll,
 *                 nat-probe, dns-backend, max-members }
 *   modules:    { path: [dirs] }
 *   transports, nat, stores, policies, services:   lists of instances
 *   networks:   [ { id, iface: instance, ingress: chain, egress: chain,
 *                   allow-managed, allow-global, allow-default, allow-dns } ]
 *   joined:     { iface: instance, ingress: chain, egress: chain }, templates
 *               for each network joined at run time
 *
 * An instance is a mapping with `use:` (the module), optional `instance:`
 * (its name) and the module's own keys.  A chain is a list whose items are
 * inline policy instances or names of instances under `policies:`. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "core.h"
#include "netcache.h"
#include "network.h"
#include "pipeline.h"
#include "worker.h"

#define PL_MAX_CHAIN 32

struct pl_inst {
	struct zt_node *node;
	const struct zt_module *mod;
	const char *name;
	enum zt_kind kind;
	char *owned_name;       /* generated names */
	bool net_owned;         /* a network's port or inline policy */
	struct zt_inst *zi;
};

struct pl_network {
	uint64_t id;
	struct zt_node *node;
	struct pl_inst *iface;
	struct pl_inst *ingress[PL_MAX_CHAIN], *egress[PL_MAX_CHAIN];
	size_t n_ingress, n_egress;
	struct zt_net_settings settings;   /* local settings ztd.yaml gives ... */
	unsigned settings_set;             /* ... bits of zt_net_setting_names */
	struct zt_network *network;    /* once the core is made */
};

struct zt_pipeline {
	struct zt_conf *conf;
	struct zt_kernel *kernel;
	char *home, *planet;
	struct zt_core_conf core_conf;
	struct zt_core *core;
	enum zt_log_level log_level;
	bool use_syslog;
	struct pl_inst *insts;      /* in creation order */
	size_t n_insts, cap_insts;
	struct pl_network *nets;
	size_t n_nets;
	/* the templates of networks joined at run time: joined.iface,
	 * .ingress and .egress, or else those of joined_default */
	struct zt_conf *joined_default;
	const struct zt_node *joined_iface, *joined_ingress, *joined_egress;
	bool started;
};

/* What a network joined at run time gets where `joined:` says nothing:
 * a tap port and the controller's rules both ways, as ZeroTier One. */
static const char joined_default[] =
	"{ iface: { use: tap }, ingress: [ { use: rules } ], egress: [ { use: rules } ] }";

static const struct {
	const char *key;
	enum zt_kind kind;
} sections[] = {
	/* creation order: what others use comes first */
	{ "stores", ZT_STORE },
	{ "transports", ZT_TRANSPORT },
	{ "nat", ZT_NAT },
	{ "policies", ZT_POLICY },
	{ "services", ZT_SERVICE },
};

static const char *const top_keys[] = {
	"node", "modules", "stores", "transports", "nat", "policies", "services", "networks", "joined",
};

static bool is_a(enum zt_kind k)
{
	return k == ZT_IFACE;   /* "an iface", "a transport" */
}

/* ---- instances ---- */

static struct pl_inst *pl_find(struct zt_pipeline *p, const char *name)
{
	for (size_t i = 0; i < p->n_insts; i++)
		if (strcmp(p->insts[i].name, name) == 0)
			return &p->insts[i];
	return NULL;
}

/* A module by name, or by a path to its file (relative to the config). */
static const struct zt_module *pl_load(struct zt_pipeline *p, const char *use, char *why, size_t len)
{
	const struct zt_module *mod;
	char *copy, *file;

	if (!strchr(use, '/') || use[0] == '/')
		return zt_module_load(use, why, len);
	copy = strdup(p->conf->file);
	if (!copy || asprintf(&file, "%s/%s", dirname(copy), use) < 0) {
		free(copy);
		snprintf(why, len, "out of memory");
		return NULL;
	}
	mod = zt_module_load(file, why, len);
	free(file);
	free(copy);
	return mod;
}

/* The module of an instance mapping, checked to be of the kind. */
static const struct zt_module *pl_module(struct zt_pipeline *p, const struct zt_node *n, enum zt_kind kind)
{
	const struct zt_node *use_n;
	const struct zt_module *mod;
	char why[4096];
	const char *use;

	if (n->type != ZT_NODE_MAP) {
		zt_node_error(n, "must be a mapping with 'use: <module>', not %s", zt_node_type_name(n->type));
		return NULL;
	}
	use_n = zt_node_get(n, "use");
	use = zt_node_scalar(use_n);
	if (!use) {
		zt_node_error(n, use_n ? "'use' must name a module" : "missing required key 'use' (the %s module)",
			      zt_kind_name(kind));
		return NULL;
	}
	mod = pl_load(p, use, why, sizeof why);
	if (!mod) {
		zt_node_error_at(use_n, n, "%s", why);
		return NULL;
	}
	if (mod->kind != kind) {
		zt_node_error_at(use_n, n, "'%s' is a%s %s, not a%s %s", use, is_a(mod->kind) ? "n" : "",
			      zt_kind_name(mod->kind), is_a(kind) ? "n" : "", zt_kind_name(kind));
		return NULL;
	}
	return mod;
}

/* Check an instance mapping, load its module and check its options. */
static struct pl_inst *pl_add(struct zt_pipeline *p, struct zt_node *n, enum zt_kind kind,
			      const char *default_suffix)
{
	const struct zt_node *use_n = zt_node_get(n, "use"), *inst_n;
	const struct zt_module *mod = pl_module(p, n, kind);
	struct pl_inst *pi, *dup;

	if (!mod)
		return NULL;
	if (p->n_insts == p->cap_insts) {
		/* networks point into insts, so they reserve room up front */
		size_t cap = p->cap_insts ? 2 * p->cap_insts : 16;
		struct pl_inst *v = p->n_nets ? NULL : realloc(p->insts, cap * sizeof *v);

		if (!v) {
			zt_node_error(n, "out of memory");
			return NULL;
		}
		p->insts = v;
		p->cap_insts = cap;
	}
	pi = &p->insts[p->n_insts];
	memset(pi, 0, sizeof *pi);
	pi->node = n;
	pi->mod = mod;
	pi->kind = kind;
	pi->net_owned = default_suffix != NULL;
	inst_n = zt_node_get(n, "instance");
	if (inst_n) {
		pi->name = zt_node_scalar(inst_n);
		if (!pi->name || !pi->name[0]) {
			zt_node_error(inst_n, "must be a name");
			return NULL;
		}
	} else if (default_suffix) {
		if (asprintf(&pi->owned_name, "%s@%s", mod->name, default_suffix) < 0)
			return NULL;
		pi->name = pi->owned_name;
	} else {
		pi->name = mod->name;
	}
	dup = pl_find(p, pi->name);
	if (dup) {
		zt_node_error_at(inst_n ? inst_n : use_n, n,
			      "two instances named '%s' (the other at line %u); give one an 'instance:' name",
			      pi->name, dup->node->line);
		free(pi->owned_name);
		return NULL;
	}
	p->n_insts++;
	zt_conf_check_opts(n, mod->opts, pi->name);
	return pi;
}

static void pl_section(struct zt_pipeline *p, struct zt_node *list, enum zt_kind kind)
{
	if (list->type != ZT_NODE_SEQ) {
		zt_node_error(list, "must be a list of %s instances", zt_kind_name(kind));
		return;
	}
	for (size_t i = 0; i < list->n; i++)
		pl_add(p, list->items[i], kind, NULL);
}

/* ---- networks ---- */

static int parse_hex(const char *s, size_t digits, uint64_t *out)
{
	if (!s || strlen(s) != digits || strspn(s, "0123456789abcdefABCDEF") != digits)
		return -EINVAL;
	*out = strtoull(s, NULL, 16);
	return 0;
}

static size_t pl_chain(struct zt_pipeline *p, struct zt_node *list, const char *nwid,
		       struct pl_inst **out)
{
	size_t n = 0;

	if (list->type != ZT_NODE_SEQ) {
		zt_node_error(list, "must be a list of policies (names or { use: ... })");
		return 0;
	}
	for (size_t i = 0; i < list->n; i++) {
		struct zt_node *item = list->items[i];
		struct pl_inst *pi;

		if (n == PL_MAX_CHAIN) {
			zt_node_error(item, "a chain holds at most %d policies", PL_MAX_CHAIN);
			break;
		}
		if (item->type == ZT_NODE_SCALAR) {
			pi = pl_find(p, item->text);
			if (!pi)
				zt_node_error(item, "no instance named '%s' (define it under 'policies:')", item->text);
			else if (pi->kind != ZT_POLICY)
				zt_node_error(item, "'%s' is a%s %s, not a policy", item->text,
					      is_a(pi->kind) ? "n" : "", zt_kind_name(pi->kind));
			else
				out[n++] = pi;
			continue;
		}
		pi = pl_add(p, item, ZT_POLICY, nwid);
		if (pi)
			out[n++] = pi;
	}
	return n;
}

/* The local settings of a network section: allow-managed: true ... */
static const char *const pl_setting_keys[ZT_NET_SETTINGS] = {
	"allow-managed", "allow-global", "allow-default", "allow-dns",
};

static void pl_network_settings(struct zt_node *n, struct pl_network *net)
{
	zt_net_settings_default(&net->settings);
	for (unsigned i = 0; i < ZT_NET_SETTINGS; i++) {
		const struct zt_node *v = zt_node_get(n, pl_setting_keys[i]);

		if (!v)
			continue;
		if (!zt_node_scalar(v) || zt_parse_bool(zt_node_scalar(v), zt_net_setting(&net->settings, i)) < 0)
			zt_node_error((struct zt_node *)v, "%s: must be true or false", pl_setting_keys[i]);
		net->settings_set |= 1u << i;
	}
}

static void pl_network(struct zt_pipeline *p, struct zt_node *n, struct pl_network *net)
{
	static const char *const keys[] = { "id", "iface", "ingress", "egress", "allow-managed", "allow-global",
					    "allow-default", "allow-dns" };
	struct zt_node *v;
	const char *id;

	net->node = n;
	if (n->type != ZT_NODE_MAP) {
		zt_node_error(n, "must be a mapping with 'id:' and 'iface:'");
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		size_t k;

		for (k = 0; k < sizeof keys / sizeof keys[0]; k++)
			if (strcmp(n->keys[i]->text, keys[k]) == 0)
				break;
		if (k == sizeof keys / sizeof keys[0])
			zt_node_error(n->keys[i], "unknown key '%s' (a network has id, iface, ingress, egress, "
				      "allow-managed, allow-global, allow-default, allow-dns)", n->keys[i]->text);
	}
	v = (struct zt_node *)zt_node_get(n, "id");
	id = zt_node_scalar(v);
	if (!v) {
		zt_node_error(n, "missing required key 'id' (16 hex digits)");
		return;
	}
	if (parse_hex(id, 16, &net->id) < 0) {
		zt_node_error(v, "'%s' is not a network id (16 hex digits)", id ? id : "");
		return;
	}
	for (struct pl_network *o = p->nets; o < net; o++)
		if (o->id == net->id)
			zt_node_error(v, "network %016" PRIx64 " is listed twice (first at line %u)",
				      net->id, o->node->line);
	v = (struct zt_node *)zt_node_get(n, "iface");
	if (!v)
		zt_node_error(n, "missing required key 'iface' (the network's port, e.g. { use: tap })");
	else
		net->iface = pl_add(p, v, ZT_IFACE, id);
	pl_network_settings(n, net);
	/* inline policies are named <module>@<id>.ingress or .egress */
	if ((v = (struct zt_node *)zt_node_get(n, "ingress"))) {
		char suffix[32];

		snprintf(suffix, sizeof suffix, "%s.ingress", id);
		net->n_ingress = pl_chain(p, v, suffix, net->ingress);
	}
	if ((v = (struct zt_node *)zt_node_get(n, "egress"))) {
		char suffix[32];

		snprintf(suffix, sizeof suffix, "%s.egress", id);
		net->n_egress = pl_chain(p, v, suffix, net->egress);
	}
}

/* Every instance a network section may add: each network adds at most
 * an iface and two full chains. */
static size_t networks_reserve(const struct zt_node *list)
{
	return list && list->type == ZT_NODE_SEQ ? list->n * (1 + 2 * PL_MAX_CHAIN) : 0;
}

static void pl_networks(struct zt_pipeline *p, struct zt_node *list)
{
	size_t need = p->n_insts + networks_reserve(list);

	if (list->type != ZT_NODE_SEQ) {
		zt_node_error(list, "must be a list of networks");
		return;
	}
	if (need > p->cap_insts) {
		struct pl_inst *v = realloc(p->insts, need * sizeof *v);

		if (!v) {
			zt_node_error(list, "out of memory");
			return;
		}
		p->insts = v;
		p->cap_insts = need;
	}
	p->nets = calloc(list->n ? list->n : 1, sizeof *p->nets);
	if (!p->nets) {
		zt_node_error(list, "out of memory");
		return;
	}
	for (size_t i = 0; i < list->n; i++) {
		p->n_nets = i + 1;
		pl_network(p, list->items[i], &p->nets[i]);
	}
}

/* ---- networks joined at run time ---- */

/* A template of joined: an instance mapping whose names are made per
 * network.  It is checked now, by its module too: an instance is made of
 * it and destroyed (create opens nothing). */
static const struct zt_module *pl_template(struct zt_pipeline *p, struct zt_node *n, enum zt_kind kind,
					   const char *label)
{
	const struct zt_module *mod = pl_module(p, n, kind);
	const struct zt_node *v;

	if (!mod)
		return NULL;
	if (zt_conf_check_opts(n, mod->opts, label) == 0)
		zt_inst_destroy(zt_inst_create(p->kernel, mod, label, n));
	if ((v = zt_node_get(n, "instance")))
		zt_node_error_at(v, n, "each joined network's instances are named after it (%s@<network id>%s): "
				 "remove 'instance'", mod->name, kind == ZT_POLICY ? ".ingress or .egress" : "");
	if (kind == ZT_IFACE && (v = zt_node_get(n, "name")))
		zt_node_error_at(v, n, "each joined network's port is named after it, as ZeroTier One names it "
				 "(zt and 8 characters): remove 'name'");
	return mod;
}

static void pl_joined_chain(struct zt_pipeline *p, struct zt_node *list, const char *label)
{
	const struct zt_module *mods[PL_MAX_CHAIN];

	if (list->type != ZT_NODE_SEQ) {
		zt_node_error(list, "must be a list of policies ({ use: <module> })");
		return;
	}
	for (size_t i = 0; i < list->n; i++) {
		struct zt_node *item = list->items[i];

		if (i == PL_MAX_CHAIN) {
			zt_node_error(item, "a chain holds at most %d policies", PL_MAX_CHAIN);
			return;
		}
		if (item->type == ZT_NODE_SCALAR) {
			zt_node_error(item, "'%s': each joined network gets policies of its own: write { use: <module> }, "
				      "not the name of an instance", item->text);
			mods[i] = NULL;
			continue;
		}
		mods[i] = pl_template(p, item, ZT_POLICY, label);
		for (size_t k = 0; k < i && mods[i]; k++)
			if (mods[k] == mods[i])
				zt_node_error(item, "'%s' twice in one chain: both would be named %s@<network id>.%s",
					      mods[i]->name, mods[i]->name, strchr(label, '.') + 1);
	}
}

/* joined: { iface, ingress, egress }; a key left out keeps its default. */
static void pl_joined(struct zt_pipeline *p, struct zt_node *n)
{
	struct zt_node *v;

	if (n->type != ZT_NODE_MAP) {
		zt_node_error(n, "must be a mapping (iface, ingress, egress)");
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->text;

		if (strcmp(k, "iface") != 0 && strcmp(k, "ingress") != 0 && strcmp(k, "egress") != 0)
			zt_node_error(n->keys[i], "unknown key '%s' (joined has iface, ingress, egress)", k);
	}
	if ((v = (struct zt_node *)zt_node_get(n, "iface"))) {
		pl_template(p, v, ZT_IFACE, "joined.iface");
		p->joined_iface = v;
	}
	if ((v = (struct zt_node *)zt_node_get(n, "ingress"))) {
		pl_joined_chain(p, v, "joined.ingress");
		p->joined_ingress = v;
	}
	if ((v = (struct zt_node *)zt_node_get(n, "egress"))) {
		pl_joined_chain(p, v, "joined.egress");
		p->joined_egress = v;
	}
}

static bool opt_declared(const struct zt_module *mod, const char *key)
{
	for (const struct zt_opt *o = mod->opts; o && o->key; o++)
		if (strcmp(o->key, key) == 0)
			return true;
	return false;
}

/* An instance of a template for network nwid, named <module>@<suffix>;
 * its errors name the template's place in the config. */
static struct zt_inst *pl_instantiate(struct zt_pipeline *p, const struct zt_node *t, enum zt_kind kind,
				      uint64_t nwid, const char *suffix)
{
	struct zt_conf *copy = zt_conf_copy(t);
	const struct zt_module *mod;
	struct zt_inst *zi = NULL;
	char devname[ZT_DEVNAME_LEN];
	char *name = NULL;

	if (!copy) {
		zt_logf(ZT_LOG_ERR, "network %016" PRIx64 ": %s", nwid, strerror(ENOMEM));
		return NULL;
	}
	mod = pl_module(p, copy->root, kind);
	if (mod && asprintf(&name, "%s@%s", mod->name, suffix) < 0)
		name = NULL;
	zt_linux_devname(nwid, 0, devname);
	if (name && (kind != ZT_IFACE || !opt_declared(mod, "name") ||
		     zt_node_add_scalar(copy->root, "name", devname) == 0) &&
	    zt_conf_check_opts(copy->root, mod->opts, name) == 0)
		zi = zt_inst_create(p->kernel, mod, name, copy->root);
	if (zi)
		zt_core_bind_inst(zi, p->core);
	else
		zt_logf(ZT_LOG_ERR, "network %016" PRIx64 ": cannot make its %s: %s", nwid,
			kind == ZT_IFACE ? "port" : "policies", copy->errors ? copy->first_error : strerror(ENOMEM));
	free(name);
	zt_conf_free(copy);
	return zi;
}

static bool pl_instantiate_chain(struct zt_pipeline *p, const struct zt_node *list, uint64_t nwid,
				 const char *dir, struct zt_inst **out, unsigned *n)
{
	char suffix[32];

	snprintf(suffix, sizeof suffix, "%016" PRIx64 ".%s", nwid, dir);
	for (size_t i = 0; i < list->n && i < ZT_MAX_CHAIN; i++) {
		if (!(out[*n] = pl_instantiate(p, list->items[i], ZT_POLICY, nwid, suffix)))
			return false;
		(*n)++;
	}
	return true;
}

/* The core's zt_join_maker: on failure out holds what was made. */
static int pl_join_ports(void *ctx, uint64_t nwid, struct zt_join_ports *out)
{
	struct zt_pipeline *p = ctx;
	char id[17];

	snprintf(id, sizeof id, "%016" PRIx64, nwid);
	out->iface = pl_instantiate(p, p->joined_iface, ZT_IFACE, nwid, id);
	if (!out->iface || !pl_instantiate_chain(p, p->joined_ingress, nwid, "ingress", out->ingress, &out->n_ingress) ||
	    !pl_instantiate_chain(p, p->joined_egress, nwid, "egress", out->egress, &out->n_egress))
		return -ENODEV;
	return 0;
}

/* ---- node and modules ---- */

/* orbit: [ { id: <10 or 16 hex digits>, seed: <10 hex digits> } ] (wire.md §6.5) */
static void pl_orbit(struct zt_pipeline *p, struct zt_node *list)
{
	struct zt_core_conf *cc = &p->core_conf;

	if (list->type != ZT_NODE_SEQ) {
		zt_node_error(list, "must be a list of { id: <moon id>, seed: <root address> }");
		return;
	}
	for (size_t i = 0; i < list->n; i++) {
		struct zt_node *m = list->items[i];
		const struct zt_node *id = zt_node_get(m, "id"), *seed = zt_node_get(m, "seed");

		if (m->type != ZT_NODE_MAP || !id || !seed || m->n != 2) {
			zt_node_error(m, "must be { id: <moon id, 10 hex digits>, seed: <10 hex digits> }");
			continue;
		}
		if (cc->n_orbit == ZT_MAX_MOONS) {
			zt_node_error(m, "at most %d moons", ZT_MAX_MOONS);
			return;
		}
		if (parse_hex(zt_node_scalar(id), 16, &cc->orbit[cc->n_orbit].id) < 0 &&
		    parse_hex(zt_node_scalar(id), 10, &cc->orbit[cc->n_orbit].id) < 0) {
			zt_node_error(id, "must be a moon id (10 or 16 hex digits)");
			continue;
		}
		if (parse_hex(zt_node_scalar(seed), 10, &cc->orbit[cc->n_orbit].seed) < 0) {
			zt_node_error(seed, "must be the address of one of the moon's roots (10 hex digits)");
			continue;
		}
		cc->n_orbit++;
	}
}

/* node.workers: data-path loops, "auto" for one per online CPU. */
static void pl_workers(struct zt_pipeline *p, const struct zt_node *v)
{
	const char *s = zt_node_scalar(v);
	uint64_t n;

	if (s && strcmp(s, "auto") == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		p->core_conf.workers = cpus < 1 ? 1 : cpus > ZT_MAX_WORKERS ? ZT_MAX_WORKERS : (unsigned)cpus;
	} else if (zt_parse_uint(s, &n) < 0 || n < 1 || n > ZT_MAX_WORKERS) {
		zt_node_error(v, "must be auto or a number of data-path loops from 1 to %d", ZT_MAX_WORKERS);
	} else {
		p->core_conf.workers = (unsigned)n;
	}
}

/* busy-poll: a whole number of microseconds, not a duration: a bare
 * duration means seconds, and this is at most 10 ms. */
static void pl_busy_poll(struct zt_pipeline *p, const struct zt_node *v)
{
	uint64_t us;

	if (zt_parse_uint(zt_node_scalar(v), &us) < 0 || us > ZT_SPIN_MAX_USEC)
		zt_node_error(v, "must be microseconds from 0 (off) to %u", ZT_SPIN_MAX_USEC);
	else
		p->core_conf.busy_poll_us = us;
}

/* node.max-members: members each network remembers at most. */
static void pl_max_members(struct zt_pipeline *p, const struct zt_node *v)
{
	uint64_t n;

	if (zt_parse_uint(zt_node_scalar(v), &n) < 0 || n < ZT_NET_MAX_MEMBERS_MIN || n > ZT_NET_MAX_MEMBERS_MAX)
		zt_node_error(v, "must be a number of members from %d to %d", ZT_NET_MAX_MEMBERS_MIN,
			      ZT_NET_MAX_MEMBERS_MAX);
	else
		p->core_conf.max_members = (unsigned)n;
}

/* node.dns-backend: where the pushed DNS goes besides its file. */
static void pl_dns_backend(struct zt_pipeline *p, const struct zt_node *v)
{
	const char *s = zt_node_scalar(v);

	if (s && strcmp(s, "auto") == 0)
		p->core_conf.dns_backend = ZT_DNS_AUTO;
	else if (s && strcmp(s, "file") == 0)
		p->core_conf.dns_backend = ZT_DNS_FILE;
	else if (s && strcmp(s, "resolved") == 0 && !zt_resolved_built())
		zt_node_error(v, "resolved: this ztd was built without libsystemd (use auto or file)");
	else if (s && strcmp(s, "resolved") == 0)
		p->core_conf.dns_backend = ZT_DNS_RESOLVED;
	else
		zt_node_error(v, "must be auto, file or resolved");
}

static void pl_node(struct zt_pipeline *p, struct zt_node *n)
{
	static const char *const levels[] = { "error", "warning", "info", "debug" };

	if (n->type != ZT_NODE_MAP) {
		zt_node_error(n, "must be a mapping (home, planet, orbit, log-level, syslog, cipher, workers, busy-poll, nat-probe, dns-backend, max-members)");
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->text;
		struct zt_node *v = n->items[i];
		const char *s = zt_node_scalar(v);

		if (strcmp(k, "home") == 0) {
			if (!s || !s[0])
				zt_node_error(v, "must be a directory");
			else if (!(p->home = strdup(s)))
				zt_node_error(v, "out of memory");
		} else if (strcmp(k, "planet") == 0) {
			if (!s || !s[0])
				zt_node_error(v, "must be the path of a planet file");
			else if (!(p->planet = strdup(s)))
				zt_node_error(v, "out of memory");
		} else if (strcmp(k, "orbit") == 0) {
			pl_orbit(p, v);
		} else if (strcmp(k, "log-level") == 0) {
			size_t l;

			for (l = 0; l < 4; l++)
				if (s && strcmp(s, levels[l]) == 0)
					break;
			if (l == 4)
				zt_node_error(v, "must be error, warning, info or debug");
			else
				p->log_level = l;
		} else if (strcmp(k, "syslog") == 0) {
			if (!s || zt_parse_bool(s, &p->use_syslog) < 0)
				zt_node_error(v, "must be true or false");
		} else if (strcmp(k, "workers") == 0) {
			pl_workers(p, v);
		} else if (strcmp(k, "cipher") == 0) {
			if (s && strcmp(s, "aes-gmac-siv") == 0)
				p->core_conf.salsa_only = false;
			else if (s && strcmp(s, "salsa2012") == 0)
				p->core_conf.salsa_only = true;
			else
				zt_node_error(v, "must be aes-gmac-siv or salsa2012");
		} else if (strcmp(k, "busy-poll") == 0) {
			pl_busy_poll(p, v);
		} else if (strcmp(k, "nat-probe") == 0) {
			bool on;

			if (!s || zt_parse_bool(s, &on) < 0)
				zt_node_error(v, "must be true or false");
			else
				p->core_conf.no_nat_probe = !on;
		} else if (strcmp(k, "dns-backend") == 0) {
			pl_dns_backend(p, v);
		} else if (strcmp(k, "max-members") == 0) {
			pl_max_members(p, v);
		} else {
			zt_node_error(n->keys[i], "unknown key '%s' (node has home, planet, orbit, log-level, syslog, cipher, workers, busy-poll, nat-probe, dns-backend, max-members)", k);
		}
	}
}

/* modules.path: directories searched first; relative ones are taken from
 * the config file's directory. */
static void pl_modules(struct zt_pipeline *p, struct zt_node *n)
{
	const struct zt_node *path = zt_node_get(n, "path");
	char *dirs[64], *copy, *base;
	size_t nd = 0;

	if (n->type != ZT_NODE_MAP) {
		zt_node_error(n, "must be a mapping with 'path:'");
		return;
	}
	for (size_t i = 0; i < n->n; i++)
		if (strcmp(n->keys[i]->text, "path") != 0)
			zt_node_error(n->keys[i], "unknown key '%s' (modules has path)", n->keys[i]->text);
	if (!path)
		return;
	if (path->type == ZT_NODE_SCALAR || zt_node_len(path) == 0 || zt_node_len(path) > 64) {
		zt_node_error(path, "must be a list of 1 to 64 directories");
		return;
	}
	copy = strdup(p->conf->file);
	base = copy ? dirname(copy) : ".";
	for (size_t i = 0; i < path->n; i++) {
		const char *d = zt_node_scalar(path->items[i]);

		if (!d || !d[0]) {
			zt_node_error(path->items[i], "must be a directory");
			continue;
		}
		if (d[0] == '/' ? !(dirs[nd] = strdup(d)) : asprintf(&dirs[nd], "%s/%s", base, d) < 0)
			break;
		nd++;
	}
	if (zt_module_path_set((const char *const *)dirs, nd) < 0)
		zt_node_error(path, "out of memory");
	while (nd)
		free(dirs[--nd]);
	free(copy);
}

/* ---- the whole file ---- */

static void pl_check_top(struct zt_pipeline *p)
{
	struct zt_node *root = p->conf->root;

	for (size_t i = 0; i < root->n; i++) {
		size_t k;

		for (k = 0; k < sizeof top_keys / sizeof top_keys[0]; k++)
			if (strcmp(root->keys[i]->text, top_keys[k]) == 0)
				break;
		if (k == sizeof top_keys / sizeof top_keys[0])
			zt_node_error(root->keys[i], "unknown section '%s' (sections: node, modules, "
				      "transports, nat, stores, policies, services, networks, joined)", root->keys[i]->text);
	}
}

static void pl_create(struct zt_pipeline *p)
{
	for (size_t i = 0; i < p->n_insts; i++) {
		struct pl_inst *pi = &p->insts[i];

		pi->zi = zt_inst_create(p->kernel, pi->mod, pi->name, pi->node);
	}
}

struct zt_pipeline *zt_pipeline_load(const char *file, const char *text, struct ev_loop *loop)
{
	return zt_pipeline_load_conf(zt_conf_parse(file, text, false), loop);
}

struct zt_pipeline *zt_pipeline_load_conf(struct zt_conf *conf, struct ev_loop *loop)
{
	struct zt_pipeline *p = calloc(1, sizeof *p);
	struct zt_node *root, *v;

	if (!p) {
		zt_conf_free(conf);
		return NULL;
	}
	p->log_level = ZT_LOG_INFO;
	p->core_conf.busy_poll_us = ZT_SPIN_DEFAULT_USEC;
	p->conf = conf;
	p->kernel = zt_kernel_new(loop);
	p->joined_default = zt_conf_parse("(the default of joined:)", joined_default, true);
	if (!p->conf || !p->kernel || !p->joined_default || p->joined_default->errors)
		goto fail;
	p->joined_iface = zt_node_get(p->joined_default->root, "iface");
	p->joined_ingress = zt_node_get(p->joined_default->root, "ingress");
	p->joined_egress = zt_node_get(p->joined_default->root, "egress");
	if (p->conf->errors)
		goto fail;
	root = p->conf->root;
	if (!root || root->type != ZT_NODE_MAP) {
		zt_conf_error(p->conf, root ? root->line : 1, root ? root->col : 1,
			      "the config must be a mapping of sections (node, transports, networks, ...)");
		goto fail;
	}
	pl_check_top(p);
	if ((v = (struct zt_node *)zt_node_get(root, "node")))
		pl_node(p, v);
	if ((v = (struct zt_node *)zt_node_get(root, "modules")))
		pl_modules(p, v);
	else
		zt_module_path_set(NULL, 0);
	for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++)
		if ((v = (struct zt_node *)zt_node_get(root, sections[s].key)))
			pl_section(p, v, sections[s].kind);
	if ((v = (struct zt_node *)zt_node_get(root, "networks"))) {
		pl_networks(p, v);
		if (!zt_node_get(root, "transports") && v->n)
			zt_node_error(v, "networks need a node: add a transport (e.g. transports: [ { use: udp } ])");
	}
	if ((v = (struct zt_node *)zt_node_get(root, "joined"))) {
		pl_joined(p, v);
		if (!zt_node_get(root, "transports"))
			zt_node_error(v, "networks need a node: add a transport (e.g. transports: [ { use: udp } ])");
	}
	if (p->conf->errors)
		goto fail;
	pl_create(p);
	if (p->conf->errors)
		goto fail;
	return p;
fail:
	zt_pipeline_free(p);
	return NULL;
}

/* One queue of an instance for each worker lane, where its module makes
 * them; without, the lane leaves that transport's or port's traffic to
 * the main loop. */
static int pl_queue(struct zt_pipeline *p, struct zt_inst *zi, unsigned lane, struct zt_inst **out)
{
	*out = NULL;
	if (!zt_inst_module(zi)->queue) {
		if (lane == 1)
			zt_logf(ZT_LOG_INFO, "%s: no queues for workers: its traffic goes through the main loop",
				zt_inst_name(zi));
		return 0;
	}
	if (!(*out = zt_inst_queue(zi, lane)))
		return -EIO;
	return 0;
}

static int pl_queues(struct zt_pipeline *p)
{
	unsigned t;
	struct zt_inst *q;
	int rc;

	for (unsigned lane = 1; lane < p->core->workers; lane++) {
		t = 0;
		for (size_t i = 0; i < p->n_insts; i++) {
			if (p->insts[i].kind != ZT_TRANSPORT)
				continue;
			if ((rc = pl_queue(p, p->insts[i].zi, lane, &q)) < 0 ||
			    (q && (rc = zt_workers_add_transport(p->core, lane, t, q)) < 0))
				return rc;
			t++;
		}
		for (size_t i = 0; i < p->n_nets; i++)
			if ((rc = pl_queue(p, p->nets[i].iface->zi, lane, &q)) < 0 ||
			    (q && (rc = zt_network_add_queue(p->nets[i].network, lane, q)) < 0))
				return rc;
	}
	return 0;
}

static bool pl_is_node(const struct zt_pipeline *p)
{
	for (size_t i = 0; i < p->n_insts; i++)
		if (p->insts[i].kind == ZT_TRANSPORT)
			return true;
	return false;
}

/* A pipeline with transports is a node: its core reads the identity and
 * planet from the home directory and takes the transports' datagrams. */
static int pl_core_create(struct zt_pipeline *p)
{
	struct zt_core_conf *cc = &p->core_conf;

	if (!pl_is_node(p))
		return 0;
	cc->home = zt_pipeline_home(p);
	cc->planet = p->planet;
	p->core = zt_core_new(cc, zt_kernel_loop(p->kernel));
	if (!p->core)
		return -EINVAL;
	p->core->kernel = p->kernel;
	p->core->join_ports = pl_join_ports;
	p->core->join_ctx = p;
	for (size_t i = 0; i < p->n_insts; i++) {
		if (p->insts[i].kind == ZT_TRANSPORT && zt_core_add_transport(p->core, p->insts[i].zi) < 0) {
			zt_logf(ZT_LOG_ERR, "%s: too many transports (at most %d)", p->insts[i].name, ZT_MAX_TRANSPORTS);
			return -E2BIG;
		}
		zt_core_bind_inst(p->insts[i].zi, p->core);
	}
	for (size_t i = 0; i < p->n_nets; i++) {
		struct pl_network *net = &p->nets[i];
		struct zt_inst *in[PL_MAX_CHAIN], *eg[PL_MAX_CHAIN];

		for (size_t k = 0; k < net->n_ingress; k++)
			in[k] = net->ingress[k]->zi;
		for (size_t k = 0; k < net->n_egress; k++)
			eg[k] = net->egress[k]->zi;
		if (!(net->network = zt_network_new(p->core, net->id, net->iface->zi, in, net->n_ingress, eg,
						    net->n_egress)))
			return -ENOMEM;
		zt_network_settings_fix(net->network, &net->settings, net->settings_set);
	}
	return pl_queues(p);
}

int zt_pipeline_start(struct zt_pipeline *p)
{
	int rc = pl_core_create(p);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < p->n_insts; i++) {
		rc = zt_inst_start(p->insts[i].zi);
		if (rc < 0) {
			zt_logf(ZT_LOG_ERR, "%s: could not start: %s", p->insts[i].name, strerror(-rc));
			zt_pipeline_stop(p);
			return rc;
		}
	}
	if (p->core)
		zt_core_start(p->core);
	p->started = true;
	return 0;
}

void zt_pipeline_stop(struct zt_pipeline *p)
{
	zt_core_stop(p->core);
	for (size_t i = p->n_insts; i-- > 0;)
		if (p->insts[i].zi)
			zt_inst_stop(p->insts[i].zi);
	p->started = false;
}

void zt_pipeline_free(struct zt_pipeline *p)
{
	if (!p)
		return;
	zt_pipeline_stop(p);
	for (size_t i = p->n_insts; i-- > 0;) {
		zt_inst_destroy(p->insts[i].zi);
		free(p->insts[i].owned_name);
	}
	zt_kernel_free(p->kernel);
	zt_core_free(p->core);
	free(p->insts);
	free(p->nets);
	free(p->home);
	free(p->planet);
	zt_conf_free(p->conf);
	zt_conf_free(p->joined_default);
	free(p);
}

static void print_chain(FILE *out, const char *what, struct pl_inst *const *c, size_t n)
{
	fprintf(out, "    %s:", what);
	if (n == 0)
		fprintf(out, " (none)");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s %s", i ? " ->" : "", c[i]->name);
	fprintf(out, "\n");
}

/* A template or a chain of them, by the names its instances will have. */
static void print_templates(FILE *out, const char *what, const struct zt_node *t, const char *suffix)
{
	size_t n = t->type == ZT_NODE_SEQ ? t->n : 1;

	fprintf(out, "    %s:", what);
	if (n == 0)
		fprintf(out, " (none)");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s %s@<network id>%s", i ? " ->" : "",
			zt_conf_str(t->type == ZT_NODE_SEQ ? t->items[i] : t, "use"), suffix);
	fprintf(out, "\n");
}

void zt_pipeline_print(const struct zt_pipeline *p, FILE *out)
{
	static const char *const levels[] = { "error", "warning", "info", "debug" };
	static const char *const dns_backends[] = { "auto", "file", "resolved" };

	fprintf(out, "config %s\n", p->conf->file);
	fprintf(out, "node\n    home: %s\n    planet: %s%s%s\n    log-level: %s\n    syslog: %s\n    cipher: %s\n"
		"    workers: %u\n    busy-poll: %u\n    nat-probe: %s\n    dns-backend: %s\n    max-members: %u\n",
		zt_pipeline_home(p), p->planet ? p->planet : zt_pipeline_home(p), p->planet ? "" : "/planet",
		!p->planet && p->core_conf.builtin_planet ? " (else the built-in planet)" : "",
		levels[p->log_level], p->use_syslog ? "true" : "false",
		p->core_conf.salsa_only ? "salsa2012" : "aes-gmac-siv", p->core_conf.workers ? p->core_conf.workers : 1,
		p->core_conf.busy_poll_us, p->core_conf.no_nat_probe ? "false" : "true",
		dns_backends[p->core_conf.dns_backend],
		p->core_conf.max_members ? p->core_conf.max_members : ZT_NET_MAX_MEMBERS_DEFAULT);
	fprintf(out, "instances (in start order)\n");
	for (size_t i = 0; i < p->n_insts; i++) {
		const struct pl_inst *pi = &p->insts[i];

		fprintf(out, "    %-24s %-9s %-10s %s\n", pi->name, zt_kind_name(pi->kind),
			pi->mod->name, zt_module_file(pi->mod));
	}
	for (size_t i = 0; i < p->n_nets; i++) {
		const struct pl_network *net = &p->nets[i];

		fprintf(out, "network %016" PRIx64 "\n    iface: %s\n", net->id, net->iface->name);
		print_chain(out, "ingress", net->ingress, net->n_ingress);
		print_chain(out, "egress", net->egress, net->n_egress);
	}
	if (!pl_is_node(p))
		return;
	fprintf(out, "networks joined at run time\n");
	print_templates(out, "iface", p->joined_iface, "");
	print_templates(out, "ingress", p->joined_ingress, ".ingress");
	print_templates(out, "egress", p->joined_egress, ".egress");
}

static void counter_append(void *ctx, const char *name, uint64_t value)
{
	char *line = ctx;
	size_t used = strlen(line);

	if (value && used < 900)
		snprintf(line + used, 1024 - used, " %s=%llu", name, (unsigned long long)value);
}

/* One line per network: counters arrive grouped by network. */
struct net_line {
	char instance[64];
	char line[1024];
};

static void net_line_flush(struct net_line *nl)
{
	if (nl->line[0])
		zt_logf(ZT_LOG_INFO, "%s: counters:%s", nl->instance, nl->line);
	nl->line[0] = 0;
}

static void network_counters_log(void *ctx, const char *instance, const char *name, uint64_t value)
{
	struct net_line *nl = ctx;

	if (strcmp(nl->instance, instance) != 0) {
		net_line_flush(nl);
		snprintf(nl->instance, sizeof nl->instance, "%s", instance);
	}
	counter_append(nl->line, name, value);
}

static void inst_log_counters(struct zt_inst *zi)
{
	char line[1024] = "";

	zt_inst_counters(zi, counter_append, line);
	if (line[0])
		zt_logf(ZT_LOG_INFO, "%s: counters:%s", zt_inst_name(zi), line);
}

/* Instances the kernel made after the config: workers' queues, ports of
 * networks joined at run time. */
static void extra_log_counters(void *ctx, struct zt_inst *zi)
{
	const struct zt_pipeline *p = ctx;

	for (size_t i = 0; i < p->n_insts; i++)
		if (p->insts[i].zi == zi)
			return;
	inst_log_counters(zi);
}

void zt_pipeline_log_counters(const struct zt_pipeline *p)
{
	char line[1024];

	if (p->core) {
		struct net_line nl = { "", "" };

		line[0] = 0;
		zt_core_counters(p->core, counter_append, line);
		zt_logf(ZT_LOG_INFO, "counters:%s", line[0] ? line : " (all zero)");
		zt_networks_counters(p->core, network_counters_log, &nl);
		net_line_flush(&nl);
	}
	for (size_t i = 0; i < p->n_insts; i++)
		if (p->insts[i].zi)
			inst_log_counters(p->insts[i].zi);
	zt_kernel_each_instance(p->kernel, extra_log_counters, (void *)p);
}

int zt_pipeline_set_home(struct zt_pipeline *p, const char *home)
{
	char *copy = strdup(home);

	if (!copy)
		return -ENOMEM;
	free(p->home);
	p->home = copy;
	return 0;
}

void zt_pipeline_set_builtin_planet(struct zt_pipeline *p, const uint8_t *planet, size_t len)
{
	p->core_conf.builtin_planet = planet;
	p->core_conf.builtin_planet_len = len;
}

const char *zt_pipeline_home(const struct zt_pipeline *p)
{
	return p->home ? p->home : ZT_DEFAULT_HOME;
}

enum zt_log_level zt_pipeline_log_level(const struct zt_pipeline *p)
{
	return p->log_level;
}

bool zt_pipeline_syslog(const struct zt_pipeline *p)
{
	return p->use_syslog;
}

/* ---- reload ----
 *
 * The new config is loaded and checked whole, as at start, into a
 * pipeline of its own (its own kernel: create() opens nothing).  Then a
 * plan says, for each of its instances, whether the running instance of
 * that name goes on (same module, same options) or a new one is made;
 * networks likewise.  What cannot change live refuses the reload.  The
 * new instances are made in the running kernel before anything stops:
 * if one fails, nothing changed.  Then what is gone or changed stops,
 * what is new starts, and the running pipeline takes the new config. */

static bool node_equal(const struct zt_node *a, const struct zt_node *b)
{
	if (!a || !b)
		return a == b;
	if (a->type != b->type || a->n != b->n)
		return false;
	if (a->type == ZT_NODE_SCALAR)
		return strcmp(a->text, b->text) == 0;
	for (size_t i = 0; i < a->n; i++)
		if ((a->type == ZT_NODE_MAP && strcmp(a->keys[i]->text, b->keys[i]->text) != 0) ||
		    !node_equal(a->items[i], b->items[i]))
			return false;
	return true;
}

/* An instance a network section made for itself (its port, an inline
 * policy), not one of policies: it names. */
static bool pl_owned(const struct pl_network *net, const struct pl_inst *pi)
{
	return pi->net_owned && (pi == net->iface || (pi->node->parent && pi->node->parent->parent == net->node));
}

/* An instance of a section (not a network's own) by name. */
static struct pl_inst *pl_find_section(struct zt_pipeline *p, const char *name)
{
	struct pl_inst *pi = pl_find(p, name);

	return pi && !pi->net_owned ? pi : NULL;
}

static struct pl_network *pl_find_net(struct zt_pipeline *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_nets; i++)
		if (p->nets[i].id == id)
			return &p->nets[i];
	return NULL;
}

struct pl_plan {
	struct zt_pipeline *run, *cfg;  /* running, and the new config */
	struct zt_inst **made;          /* per cfg instance: in the running kernel */
	bool *remade;                   /* per cfg instance: made anew (else the running one) */
	struct pl_network **keep;       /* per cfg network: the running one it keeps, or NULL */
	bool *gone;                     /* per running instance: stopped and destroyed */
	bool transports_changed;
};

/* A scalar anywhere in n (but its own use: and instance:) naming a store
 * made anew: its user is made anew with it. */
static bool names_remade_store(const struct pl_plan *pl, const struct zt_node *n, bool top)
{
	if (n->type == ZT_NODE_SCALAR) {
		for (size_t i = 0; i < pl->cfg->n_insts; i++)
			if (pl->remade[i] && pl->cfg->insts[i].kind == ZT_STORE && strcmp(pl->cfg->insts[i].name, n->text) == 0)
				return true;
		return false;
	}
	for (size_t i = 0; i < n->n; i++)
		if (!(top && n->type == ZT_NODE_MAP &&
		      (strcmp(n->keys[i]->text, "use") == 0 || strcmp(n->keys[i]->text, "instance") == 0)) &&
		    names_remade_store(pl, n->items[i], false))
			return true;
	return false;
}

static void plan_sections(struct pl_plan *pl)
{
	bool again = true;

	for (size_t i = 0; i < pl->cfg->n_insts; i++) {
		const struct pl_inst *pi = &pl->cfg->insts[i];
		const struct pl_inst *old = pl_find_section(pl->run, pi->name);

		if (!pi->net_owned)
			pl->remade[i] = !old || old->mod != pi->mod || !old->zi || !node_equal(old->node, pi->node);
	}
	while (again) {
		again = false;
		for (size_t i = 0; i < pl->cfg->n_insts; i++)
			if (!pl->cfg->insts[i].net_owned && !pl->remade[i] &&
			    names_remade_store(pl, pl->cfg->insts[i].node, true))
				pl->remade[i] = again = true;
	}
}

static bool chain_remade(const struct pl_plan *pl, struct pl_inst *const *chain, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (!chain[k]->net_owned && pl->remade[chain[k] - pl->cfg->insts])
			return true;
	return false;
}

/* A network goes on if its section is the same and so are the policies
 * of policies: it names; its own instances then go on with it. */
static void plan_networks(struct pl_plan *pl)
{
	for (size_t k = 0; k < pl->cfg->n_nets; k++) {
		struct pl_network *net = &pl->cfg->nets[k];
		struct pl_network *old = pl_find_net(pl->run, net->id);

		if (old && old->network && node_equal(old->node, net->node) &&
		    !chain_remade(pl, net->ingress, net->n_ingress) && !chain_remade(pl, net->egress, net->n_egress))
			pl->keep[k] = old;
		for (size_t i = 0; i < pl->cfg->n_insts; i++)
			if (pl_owned(net, &pl->cfg->insts[i]))
				pl->remade[i] = !pl->keep[k];
	}
	for (size_t i = 0; i < pl->run->n_insts; i++) {
		const struct pl_inst *old = &pl->run->insts[i];
		const struct pl_inst *now = old->net_owned ? NULL : pl_find_section(pl->cfg, old->name);

		if (old->net_owned)
			continue;   /* with its network */
		pl->gone[i] = old->zi && (!now || pl->remade[now - pl->cfg->insts]);
		if (old->kind == ZT_TRANSPORT && (pl->gone[i] || !old->zi))
			pl->transports_changed = true;
	}
	for (size_t i = 0; i < pl->cfg->n_insts; i++)
		if (pl->cfg->insts[i].kind == ZT_TRANSPORT && pl->remade[i])
			pl->transports_changed = true;
}

/* What a reload cannot change: the node's identity, worlds and data-path
 * setup, where modules are found; and transports while workers run
 * (each worker has its own queue of each).  Logged, naming the field. */
static bool plan_refused(const struct pl_plan *pl, const char *file)
{
	static const char *const fixed[] = { "home", "planet", "orbit", "cipher", "workers", "busy-poll", "nat-probe",
					     "dns-backend" };
	const struct zt_node *a = zt_node_get(pl->run->conf->root, "node"), *b = zt_node_get(pl->cfg->conf->root, "node");
	size_t n_transports = 0;

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (!node_equal(a ? zt_node_get(a, fixed[i]) : NULL, b ? zt_node_get(b, fixed[i]) : NULL)) {
			zt_logf(ZT_LOG_ERR, "%s: reload refused: node.%s changed: restart ztd to apply it; "
				"the running config is kept", file, fixed[i]);
			return true;
		}
	if (!node_equal(zt_node_get(pl->run->conf->root, "modules"), zt_node_get(pl->cfg->conf->root, "modules"))) {
		zt_logf(ZT_LOG_ERR, "%s: reload refused: modules.path changed: restart ztd to apply it; "
			"the running config is kept", file);
		return true;
	}
	if (pl->transports_changed && pl->run->core->workers > 1) {
		zt_logf(ZT_LOG_ERR, "%s: reload refused: transports changed while node.workers is %u (each worker "
			"has a queue of each transport): restart ztd to apply it; the running config is kept",
			file, pl->run->core->workers);
		return true;
	}
	for (size_t i = 0; i < pl->cfg->n_insts; i++)
		n_transports += pl->cfg->insts[i].kind == ZT_TRANSPORT;
	if (n_transports > ZT_MAX_TRANSPORTS) {
		zt_logf(ZT_LOG_ERR, "%s: reload refused: %zu transports (at most %d); the running config is kept",
			file, n_transports, ZT_MAX_TRANSPORTS);
		return true;
	}
	return false;
}

/* The cfg instance's running instance: its network's, or its section's. */
static struct zt_inst *plan_running(const struct pl_plan *pl, const struct pl_inst *pi)
{
	const struct pl_inst *old = pl_find(pl->run, pi->name);

	return old && old->net_owned == pi->net_owned ? old->zi : NULL;
}

/* A network joined at run time and now listed: it stays as joined. */
static bool plan_joined_at_run_time(const struct pl_plan *pl, const struct pl_network *net)
{
	const struct pl_network *old = pl_find_net(pl->run, net->id);

	return (!old || !old->network) && zt_network_find(pl->run->core, net->id);
}

static bool plan_skipped(const struct pl_plan *pl, const struct pl_inst *pi)
{
	for (size_t k = 0; k < pl->cfg->n_nets; k++)
		if (pl_owned(&pl->cfg->nets[k], pi))
			return plan_joined_at_run_time(pl, &pl->cfg->nets[k]);
	return false;
}

/* Every new instance, made in the running kernel in creation order (a
 * store before its users find it by name: the newest of a name is found
 * first).  On failure the ones made are destroyed: nothing changed. */
static int plan_make(struct pl_plan *pl)
{
	for (size_t i = 0; i < pl->cfg->n_insts; i++) {
		const struct pl_inst *pi = &pl->cfg->insts[i];

		if (!pl->remade[i]) {
			pl->made[i] = plan_running(pl, pi);
			continue;
		}
		if (plan_skipped(pl, pi))
			continue;
		pl->made[i] = zt_inst_create(pl->run->kernel, pi->mod, pi->name, pi->node);
		if (!pl->made[i]) {
			while (i-- > 0)
				if (pl->remade[i])
					zt_inst_destroy(pl->made[i]);
			return -EINVAL;
		}
		zt_core_bind_inst(pl->made[i], pl->run->core);
	}
	return 0;
}

/* Take a network out of the running node, as leaving does, and destroy
 * the instances it owns (the port first: frames stop there). */
static void pl_network_drop(struct zt_network *n, struct zt_inst *const *own, size_t n_own)
{
	for (unsigned i = 1; i < ZT_MAX_WORKERS; i++)
		if (n->queues[i].zi) {
			zt_inst_stop(n->queues[i].zi);
			zt_inst_destroy(n->queues[i].zi);
		}
	zt_inst_stop(n->iface);
	zt_network_free(n);
	for (size_t k = 0; k < n_own; k++)
		zt_inst_destroy(own[k]);
}

static void pl_remove_network(struct zt_pipeline *p, struct pl_network *net)
{
	struct zt_inst *own[1 + 2 * PL_MAX_CHAIN];
	size_t n_own = 0;

	for (size_t i = 0; i < p->n_insts; i++)
		if (pl_owned(net, &p->insts[i]) && p->insts[i].zi) {
			own[n_own++] = p->insts[i].zi;
			p->insts[i].zi = NULL;
		}
	pl_network_drop(net->network, own, n_own);
	net->network = NULL;
}

/* Running networks the new config drops or changes, then running
 * instances it drops or changes, in reverse order. */
static void plan_stop(struct pl_plan *pl)
{
	struct zt_pipeline *run = pl->run;

	for (size_t i = 0; i < run->n_nets; i++) {
		struct pl_network *old = &run->nets[i];
		bool kept = false, listed = pl_find_net(pl->cfg, old->id) != NULL;

		for (size_t k = 0; k < pl->cfg->n_nets; k++)
			kept |= pl->keep[k] == old;
		if (!old->network || kept)
			continue;
		zt_logf(ZT_LOG_INFO, "network %s: %s", old->network->name,
			listed ? "changed: made again" : "removed from the config");
		pl_remove_network(run, old);
	}
	for (size_t i = run->n_insts; i-- > 0;) {
		struct pl_inst *old = &run->insts[i];

		if (!pl->gone[i])
			continue;
		zt_logf(ZT_LOG_INFO, "%s: %s", old->name,
			pl_find_section(pl->cfg, old->name) ? "changed: made again" : "removed from the config");
		if (old->kind == ZT_TRANSPORT)
			zt_core_remove_transport(run->core, old->zi);
		zt_inst_destroy(old->zi);   /* stops it first */
		old->zi = NULL;
	}
}

/* A network of the new config into the running node, as joining does:
 * its policies start before its port, whose frames they judge. */
static void plan_start_network(struct pl_plan *pl, struct pl_network *net)
{
	struct zt_core *c = pl->run->core;
	struct zt_inst *in[PL_MAX_CHAIN], *eg[PL_MAX_CHAIN];
	struct zt_network *n;
	int rc = 0;

	for (size_t k = 0; k < net->n_ingress; k++)
		in[k] = net->ingress[k]->zi;
	for (size_t k = 0; k < net->n_egress; k++)
		eg[k] = net->egress[k]->zi;
	n = net->network = zt_network_new(c, net->id, net->iface->zi, in, net->n_ingress, eg, net->n_egress);
	if (!n) {
		zt_logf(ZT_LOG_ERR, "network %016" PRIx64 ": cannot add it: %s", net->id, strerror(ENOMEM));
		return;
	}
	zt_network_settings_fix(n, &net->settings, net->settings_set);
	zt_logf(ZT_LOG_INFO, "network %s: added to the config", n->name);
	zt_workers_add_port(c, n, net->iface->zi);
	for (size_t k = 0; k < pl->cfg->n_insts && rc >= 0; k++)
		if (pl_owned(net, &pl->cfg->insts[k]) && &pl->cfg->insts[k] != net->iface)
			rc = zt_inst_start(pl->cfg->insts[k].zi);
	if (rc >= 0 && (rc = zt_inst_start(net->iface->zi)) >= 0) {
		zt_workers_start_port(c, n);
		return;
	}
	zt_logf(ZT_LOG_ERR, "network %s: could not start its port or policies: %s", n->name, strerror(-rc));
	n->status = ZT_NET_PORT_ERROR;
}

/* The new instances start in order; one that cannot (an address taken
 * since the check) is logged and left stopped. */
static void plan_start(struct pl_plan *pl)
{
	struct zt_pipeline *cfg = pl->cfg;

	for (size_t i = 0; i < cfg->n_insts; i++)
		cfg->insts[i].zi = pl->made[i];
	for (size_t i = 0; i < cfg->n_insts; i++) {
		struct pl_inst *pi = &cfg->insts[i];
		int rc;

		if (!pl->remade[i] || pi->net_owned || !pi->zi)
			continue;
		if (pl_find_section(pl->run, pi->name) == NULL)
			zt_logf(ZT_LOG_INFO, "%s: added to the config", pi->name);
		if (pi->kind == ZT_TRANSPORT && zt_core_add_transport(pl->run->core, pi->zi) < 0)
			zt_logf(ZT_LOG_ERR, "%s: too many transports (at most %d)", pi->name, ZT_MAX_TRANSPORTS);
		if ((rc = zt_inst_start(pi->zi)) < 0)
			zt_logf(ZT_LOG_ERR, "%s: could not start: %s: left stopped (fix the config and reload)",
				pi->name, strerror(-rc));
	}
	for (size_t k = 0; k < cfg->n_nets; k++) {
		struct pl_network *net = &cfg->nets[k];

		if (pl->keep[k])
			net->network = pl->keep[k]->network;
		else if (plan_joined_at_run_time(pl, net))
			zt_logf(ZT_LOG_WARN, "network %016" PRIx64 ": joined at run time: leave it before listing it "
				"in the config, or restart ztd", net->id);
		else
			plan_start_network(pl, net);
	}
	if (pl->transports_changed)
		zt_core_paths_contact(pl->run->core);   /* HELLO over the new ones */
}

/* The running pipeline takes the new config; it keeps its kernel, core,
 * home and planet.  The validation instances go; the rest of the old
 * pipeline was destroyed or moved over. */
static void plan_adopt(struct zt_pipeline *run, struct zt_pipeline *cfg)
{
	struct zt_pipeline old = *run;

	zt_kernel_free(cfg->kernel);
	cfg->kernel = old.kernel;
	cfg->core = old.core;
	free(cfg->home);
	free(cfg->planet);
	cfg->home = old.home;
	cfg->planet = old.planet;
	cfg->core_conf = old.core_conf;
	cfg->started = old.started;
	*run = *cfg;
	free(cfg);
	for (size_t i = 0; i < old.n_insts; i++)
		free(old.insts[i].owned_name);
	free(old.insts);
	free(old.nets);
	zt_conf_free(old.conf);
	zt_conf_free(old.joined_default);
}

/* Loading the new config set its modules.path: the running one's again. */
static void pl_module_path_restore(struct zt_pipeline *p)
{
	struct zt_node *m = (struct zt_node *)zt_node_get(p->conf->root, "modules");

	if (m)
		pl_modules(p, m);
	else
		zt_module_path_set(NULL, 0);
}

int zt_pipeline_reload(struct zt_pipeline *p, const char *file, const char *text)
{
	struct pl_plan pl = { .run = p };
	int rc = -EINVAL;

	if (!p->core) {
		zt_logf(ZT_LOG_WARN, "%s: reload: not a node (no transport): restart ztd to apply the config", file);
		return -EINVAL;
	}
	pl.cfg = zt_pipeline_load(file, text, zt_kernel_loop(p->kernel));
	if (!pl.cfg) {
		zt_logf(ZT_LOG_ERR, "%s: reload refused: the running config is kept", file);
		pl_module_path_restore(p);
		return -EINVAL;
	}
	pl.made = calloc(pl.cfg->n_insts + 1, sizeof *pl.made);
	pl.remade = calloc(pl.cfg->n_insts + 1, sizeof *pl.remade);
	pl.keep = calloc(pl.cfg->n_nets + 1, sizeof *pl.keep);
	pl.gone = calloc(p->n_insts + 1, sizeof *pl.gone);
	if (!pl.made || !pl.remade || !pl.keep || !pl.gone) {
		zt_logf(ZT_LOG_ERR, "%s: reload refused: %s", file, strerror(ENOMEM));
		goto out;
	}
	plan_sections(&pl);
	plan_networks(&pl);
	if (plan_refused(&pl, file))
		goto out;
	if (plan_make(&pl) < 0) {
		zt_logf(ZT_LOG_ERR, "%s: reload refused: the running config is kept", file);
		goto out;
	}
	plan_stop(&pl);
	plan_start(&pl);
	plan_adopt(p, pl.cfg);
	pl.cfg = NULL;
	zt_logf(ZT_LOG_INFO, "%s: reloaded", file);
	rc = 0;
out:
	if (pl.cfg) {
		zt_pipeline_free(pl.cfg);
		pl_module_path_restore(p);
	}
	free(pl.made);
	free(pl.remade);
	free(pl.keep);
	free(pl.gone);
	return rc;
}
