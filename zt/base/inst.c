/* Module instances: lifecycle, names, counters, logging, and the hooks
 * through which modules hand received datagrams and frames to the kernel. */
#include "config.h"

#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "internal.h"

struct counter {
	uint64_t value;         /* the pointer handed out points here */
	struct counter *next;
	char name[];
};

struct zt_inst {
	struct zt_kernel *k;
	const struct zt_module *mod;
	char *name;
	void *state;
	bool created, started;
	struct counter *counters;
	zt_dgram_sink *dgram_sink;
	zt_frame_sink *frame_sink;
	zt_mcast_sink *mcast_sink;
	void *sink_ctx, *mcast_ctx;
	struct zt_inst *next;       /* the kernel's list, newest first */
	struct zt_conf *own_conf;   /* kept for instances made from text */
	void *owner;                /* whom it serves (the node), if anyone */
};

struct zt_kernel {
	struct ev_loop *loop;
	struct zt_inst *insts;
};

struct zt_kernel *zt_kernel_new(struct ev_loop *loop)
{
	struct zt_kernel *k = calloc(1, sizeof *k);

	if (k)
		k->loop = loop;
	return k;
}

void zt_kernel_free(struct zt_kernel *k)
{
	if (!k)
		return;
	/* the list is newest first: the reverse of creation order */
	for (struct zt_inst *zi = k->insts; zi; zi = zi->next)
		zt_inst_stop(zi);
	while (k->insts)
		zt_inst_destroy(k->insts);
	free(k);
}

void zt_kernel_each_instance(const struct zt_kernel *k, void (*fn)(void *ctx, struct zt_inst *zi), void *ctx)
{
	for (struct zt_inst *zi = k->insts; zi; zi = zi->next)
		fn(ctx, zi);
}

struct zt_inst *zt_kernel_find(const struct zt_kernel *k, const char *name)
{
	for (struct zt_inst *zi = k->insts; zi; zi = zi->next)
		if (strcmp(zi->name, name) == 0)
			return zi;
	return NULL;
}

struct zt_kernel *zt_inst_kernel(const struct zt_inst *zi)
{
	return zi->k;
}

struct ev_loop *zt_kernel_loop(const struct zt_kernel *k)
{
	return k->loop;
}

static void inst_free(struct zt_inst *zi)
{
	while (zi->counters) {
		struct counter *c = zi->counters;

		zi->counters = c->next;
		free(c);
	}
	zt_conf_free(zi->own_conf);
	free(zi->name);
	free(zi);
}

struct zt_inst *zt_inst_create(struct zt_kernel *k, const struct zt_module *mod,
			       const char *name, const struct zt_node *conf)
{
	struct zt_inst *zi = calloc(1, sizeof *zi);
	unsigned errors_before = conf->conf->errors;
	int rc;

	if (!zi || !(zi->name = strdup(name))) {
		free(zi);
		zt_node_error(conf, "out of memory");
		return NULL;
	}
	zi->k = k;
	zi->mod = mod;
	rc = mod->create(zi, conf, &zi->state);
	if (rc < 0) {
		/* say something if the module did not */
		if (conf->conf->errors == errors_before)
			zt_node_error(conf, "%s", strerror(-rc));
		inst_free(zi);
		return NULL;
	}
	zi->created = true;
	zi->next = k->insts;
	k->insts = zi;
	return zi;
}

struct zt_inst *zt_inst_queue(struct zt_inst *zi, unsigned queue)
{
	struct zt_inst *q;
	char name[256];
	int rc;

	if (!zi->mod->queue) {
		zt_log(zi, ZT_LOG_ERR, "queue %u: module %s has no queues", queue, zi->mod->name);
		return NULL;
	}
	q = calloc(1, sizeof *q);
	snprintf(name, sizeof name, "%s/q%u", zi->name, queue);
	if (!q || !(q->name = strdup(name))) {
		free(q);
		zt_log(zi, ZT_LOG_ERR, "queue %u: %s", queue, strerror(ENOMEM));
		return NULL;
	}
	q->k = zi->k;
	q->mod = zi->mod;
	rc = zi->mod->queue(zi->state, q, queue, &q->state);
	if (rc < 0) {
		zt_log(zi, ZT_LOG_ERR, "queue %u: %s", queue, strerror(-rc));
		inst_free(q);
		return NULL;
	}
	/* newer than its instance: the kernel stops and destroys it first */
	q->created = true;
	q->next = zi->k->insts;
	zi->k->insts = q;
	return q;
}

void zt_inst_destroy(struct zt_inst *zi)
{
	struct zt_inst **pp;

	if (!zi)
		return;
	zt_inst_stop(zi);
	for (pp = &zi->k->insts; *pp; pp = &(*pp)->next)
		if (*pp == zi) {
			*pp = zi->next;
			break;
		}
	if (zi->created)
		zi->mod->destroy(zi->state);
	inst_free(zi);
}

int zt_inst_start(struct zt_inst *zi)
{
	return zt_inst_start_on(zi, zi->k->loop);
}

int zt_inst_start_on(struct zt_inst *zi, struct ev_loop *loop)
{
	int rc = 0;

	if (zi->started)
		return 0;
	if (zi->mod->start)
		rc = zi->mod->start(zi->state, loop);
	if (rc < 0)
		return rc;
	zi->started = true;
	return 0;
}

void zt_inst_stop(struct zt_inst *zi)
{
	if (!zi->started)
		return;
	if (zi->mod->stop)
		zi->mod->stop(zi->state);
	zi->started = false;
}

void *zt_inst_state(const struct zt_inst *zi)
{
	return zi->state;
}

const struct zt_module *zt_inst_module(const struct zt_inst *zi)
{
	return zi->mod;
}

const char *zt_inst_name(const struct zt_inst *zi)
{
	return zi->name;
}

struct zt_inst *zt_kernel_instance(struct zt_kernel *k, enum zt_kind kind,
				   const char *yaml, char *err, size_t errlen)
{
	struct zt_conf *conf = zt_conf_parse("(inline)", yaml, true);
	const struct zt_module *mod;
	const char *use, *name;
	struct zt_inst *zi = NULL;
	char why[512];

	if (!conf) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (conf->errors)
		goto fail;
	if (!conf->root || conf->root->type != ZT_NODE_MAP) {
		zt_conf_error(conf, 1, 1, "an instance must be a mapping");
		goto fail;
	}
	use = zt_conf_str(conf->root, "use");
	if (!use) {
		zt_node_error(conf->root, "missing required key 'use' (the module)");
		goto fail;
	}
	mod = zt_module_load(use, why, sizeof why);
	if (!mod) {
		zt_node_error_at(zt_node_get(conf->root, "use"), conf->root, "%s", why);
		goto fail;
	}
	if (mod->kind != kind) {
		zt_node_error_at(zt_node_get(conf->root, "use"), conf->root, "'%s' is a%s %s, not a%s %s", use,
			      mod->kind == ZT_IFACE ? "n" : "", zt_kind_name(mod->kind),
			      kind == ZT_IFACE ? "n" : "", zt_kind_name(kind));
		goto fail;
	}
	name = zt_conf_str(conf->root, "instance");
	if (!name)
		name = use;
	if (zt_conf_check_opts(conf->root, mod->opts, name))
		goto fail;
	zi = zt_inst_create(k, mod, name, conf->root);
	if (!zi)
		goto fail;
	zi->own_conf = conf;
	return zi;
fail:
	snprintf(err, errlen, "%s", conf->first_error);
	zt_conf_free(conf);
	return NULL;
}

/* ---- counters ---- */

uint64_t *zt_counter(struct zt_inst *zi, const char *name)
{
	static uint64_t overflow;   /* only if out of memory: counts nowhere useful */
	struct counter *c;

	for (c = zi->counters; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return &c->value;
	c = calloc(1, sizeof *c + strlen(name) + 1);
	if (!c)
		return &overflow;
	strcpy(c->name, name);
	c->next = zi->counters;
	zi->counters = c;
	return &c->value;
}

int zt_counters_bind(struct zt_inst *zi, void *state, const struct zt_counter_field *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t *c = zt_counter(zi, fields[i].name);

		if (!c)
			return -ENOMEM;
		memcpy((char *)state + fields[i].offset, &c, sizeof c);
	}
	return 0;
}

uint64_t zt_inst_counter(const struct zt_inst *zi, const char *name)
{
	for (const struct counter *c = zi->counters; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c->value;
	return 0;
}

void zt_inst_counters(const struct zt_inst *zi,
		      void (*fn)(void *ctx, const char *name, uint64_t value), void *ctx)
{
	for (const struct counter *c = zi->counters; c; c = c->next)
		fn(ctx, c->name, c->value);
}

/* ---- logging ---- */

void zt_log(const struct zt_inst *zi, enum zt_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	zt_vlogf(level, zi ? zi->name : NULL, fmt, ap);
	va_end(ap);
}

/* ---- files ---- */

int zt_secret_protect(const struct zt_inst *zi, int fd, const char *path)
{
	struct stat st;
	int err;

	if (fstat(fd, &st) < 0) {
		err = errno;
		zt_log(zi, ZT_LOG_ERR, "%s: %s", path, strerror(err));
		return -err;
	}
	if (!(st.st_mode & 077))
		return 0;
	if (fchmod(fd, 0600) < 0) {
		err = errno;
		zt_log(zi, ZT_LOG_ERR, "%s: mode %04o lets others at it and cannot be changed to 0600: %s", path,
		       (unsigned)(st.st_mode & 07777), strerror(err));
		return -err;
	}
	zt_log(zi, ZT_LOG_WARN, "%s: was mode %04o, open to others: changed to 0600", path,
	       (unsigned)(st.st_mode & 07777));
	return 0;
}

/* ---- the node ---- */
/* ---- the owner ---- */

void zt_inst_set_owner(struct zt_inst *zi, void *owner)
{
	zi->owner = owner;
}

void *zt_inst_owner(const struct zt_inst *zi)
{
	return zi->owner;
}

/* ---- hooks ---- */

void zt_inst_set_dgram_sink(struct zt_inst *zi, zt_dgram_sink *fn, void *ctx)
{
	zi->dgram_sink = fn;
	zi->sink_ctx = ctx;
}

void zt_inst_set_frame_sink(struct zt_inst *zi, zt_frame_sink *fn, void *ctx)
{
	zi->frame_sink = fn;
	zi->sink_ctx = ctx;
}

void zt_inst_set_mcast_sink(struct zt_inst *zi, zt_mcast_sink *fn, void *ctx)
{
	zi->mcast_sink = fn;
	zi->mcast_ctx = ctx;
}

void zt_iface_multicast(struct zt_inst *zi, const uint8_t *macs, unsigned n)
{
	if (zi->mcast_sink)
		zi->mcast_sink(zi->mcast_ctx, zi, macs, n);
}

void zt_transport_rx(struct zt_inst *zi, struct zt_dgram *d, unsigned n)
{
	if (zi->dgram_sink)
		zi->dgram_sink(zi->sink_ctx, zi, d, n);
}

void zt_iface_rx(struct zt_inst *zi, struct zt_frame *f, unsigned n)
{
	if (zi->frame_sink)
		zi->frame_sink(zi->sink_ctx, zi, f, n);
}
