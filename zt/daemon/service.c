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

int zt_core_api_register(struct zt_core *c, const char *prefix, zt_api_handler *fn, void *state)
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
	r->state = state;
	c->n_api++;
	return 0;
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

int zt_core_api_dispatch(struct zt_core *c, const struct zt_api_request *rq, struct zt_api_response *rs)
{
	for (unsigned i = 0; i < c->n_api; i++)
		if (path_under(rq->path, c->api[i].prefix))
			return c->api[i].fn(c->api[i].state, rq, rs);
	return -ENOENT;
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

