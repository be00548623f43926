/* What the core offers service modules beyond reading its state: a
 * registry of local-API paths, and the network controller role. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "core.h"
#include "send.h"

/* ---- local API registry ---- */

static int api_route_add(struct zt_core *c, const char *prefix, zt_api_handler *fn,
			 zt_api_async_handler *async_fn, void *state)
{
	struct zt_api_route *r;

	for (unsigned i = 0; i < c->n_api; i++)
		if (strcmp(c->api[i].prefix, prefix) == 0)
			return -EEXIST;
	if (c->n_api == sizeof c->api / sizeof c->api[0])
		return -ENOSPC;
	r = &c->api[c->n_api];
	if (!(r->prefix = strdup(prefix)))
		return -ENOMEM;
	r->fn = fn;
	r->async_fn = async_fn;
	r->state = state;
	c->n_api++;
	return 0;
}

int zt_core_api_register(struct zt_core *c, const char *prefix, zt_api_handler *fn, void *state)
{
	return api_route_add(c, prefix, fn, NULL, state);
}

int zt_core_api_register_async(struct zt_core *c, const char *prefix, zt_api_async_handler *fn, void *state)
{
	return api_route_add(c, prefix, NULL, fn, state);
}

void zt_core_api_unregister(struct zt_core *c, const char *prefix)
{
	for (unsigned i = 0; i < c->n_api; i++)
		if (strcmp(c->api[i].prefix, prefix) == 0) {
			free(c->api[i].prefix);
			c->api[i] = c->api[--c->n_api];
			return;
		}
}

/* A path belongs to a prefix if it is the prefix or continues with '/'. */
static bool path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 && (path[n] == 0 || path[n] == '/' || path[n] == '?');
}

static const struct zt_api_route *api_route_find(const struct zt_core *c, const char *path)
{
	for (unsigned i = 0; i < c->n_api; i++)
		if (path_under(path, c->api[i].prefix))
			return &c->api[i];
	return NULL;
}

int zt_core_api_dispatch(struct zt_core *c, const struct zt_api_request *rq, struct zt_api_response *rs)
{
	const struct zt_api_route *r = api_route_find(c, rq->path);

	if (!r)
		return -ENOENT;
	return r->fn ? r->fn(r->state, rq, rs) : r->async_fn(r->state, rq, rs, NULL);
}

/* A promised answer: owned by the handler until it answers; the caller
 * only marks it cancelled. */
struct zt_api_pending {
	zt_api_done_fn *done;
	void *ctx;
	bool in_handler;            /* the handler has not returned yet */
	bool answered;              /* ... and already answered: rs */
	bool cancelled;             /* the caller is gone */
	struct zt_api_response rs;
};

int zt_core_api_dispatch_async(struct zt_core *c, const struct zt_api_request *rq,
			       struct zt_api_response *rs, zt_api_done_fn *done, void *ctx,
			       struct zt_api_pending **pending)
{
	const struct zt_api_route *r = api_route_find(c, rq->path);
	struct zt_api_pending *p;
	int err;

	*pending = NULL;
	if (!r)
		return -ENOENT;
	if (r->fn)
		return r->fn(r->state, rq, rs);
	if (!(p = calloc(1, sizeof *p)))
		return -ENOMEM;
	p->done = done;
	p->ctx = ctx;
	p->in_handler = true;
	err = r->async_fn(r->state, rq, rs, p);
	p->in_handler = false;
	if (err != ZT_API_PENDING) {
		free(p);
		return err;
	}
	if (p->answered) {
		*rs = p->rs;
		free(p);
		return 0;
	}
	*pending = p;
	return ZT_API_PENDING;
}

void zt_api_pending_done(struct zt_api_pending *p, int status, char *body)
{
	struct zt_api_response rs = { status, body };

	if (p->in_handler) {
		p->rs = rs;
		p->answered = true;
		return;
	}
	if (p->cancelled)
		free(body);
	else
		p->done(p->ctx, &rs);
	free(p);
}

void zt_api_pending_cancel(struct zt_api_pending *p)
{
	p->cancelled = true;
}

/* ---- the controller role ---- */

int zt_core_controller_register(struct zt_core *c, const struct zt_controller_ops *ops, void *state)
{
	if (c->ctl_ops)
		return -EEXIST;
	c->ctl_ops = ops;
	c->ctl_state = state;
	return 0;
}

void zt_core_controller_unregister(struct zt_core *c)
{
	c->ctl_ops = NULL;
	c->ctl_state = NULL;
}

void zt_core_controller_metrics(const struct zt_core *c, FILE *f)
{
	if (c->ctl_ops && c->ctl_ops->metrics)
		c->ctl_ops->metrics(c->ctl_state, f);
}

int zt_core_netconf_reply(struct zt_core *c, const struct zt_netconf_request *rq,
			  const uint8_t *dict, size_t len)
{
	return zt_vl1_netconf_reply(c, rq->opaque, dict, len);
}

int zt_core_netconf_error(struct zt_core *c, const struct zt_netconf_request *rq, unsigned code)
{
	return zt_vl1_netconf_error(c, rq->opaque, code, rq->nwid);
}

int zt_core_netconf_push(struct zt_core *c, uint64_t member, uint64_t nwid,
			 const uint8_t *dict, size_t len)
{
	return zt_vl1_netconf_push(c, member, nwid, dict, len);
}

int zt_core_credentials_send(struct zt_core *c, uint64_t member, const uint8_t *payload, size_t len)
{
	return zt_vl1_send_credentials(c, member, payload, len);
}

int zt_core_sign(struct zt_core *c, const void *msg, size_t len, uint8_t sig[ZT_SIG_LEN])
{
	return zt_sign(&c->self, msg, len, sig);
}

