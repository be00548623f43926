/* api: paths another service registered with the core (the
 * controller's /controller...), forwarded to it. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* The service's answer, now or late: its JSON re-emitted. */
static int api_service_answer(struct api *a, struct api_conn *c, int err, struct zt_api_response *rs)
{
	json_t *j;

	if (err == -ENOENT)
		return api_reply_empty(a, c, 404);
	if (err < 0) {
		free(rs->body);
		return api_reply(a, c, 500, api_error_json(500, strerror(-err)));
	}
	if (!rs->body)
		return api_reply_empty(a, c, rs->status);
	j = json_loads(rs->body, JSON_DECODE_ANY, NULL);
	free(rs->body);
	if (!j)
		return api_reply(a, c, 500, api_error_json(500, "service answered invalid JSON"));
	return api_reply(a, c, rs->status, j);
}

/* A late answer: the connection was held (api_conn_run reads no further
 * request meanwhile, its idle timeout still runs). */
static void api_service_done(void *ctx, struct zt_api_response *rs)
{
	struct api_conn *c = ctx;

	c->pending = NULL;
	api_conn_resume(c, api_service_answer(c->a, c, 0, rs));
}

/* Paths offered by other services (the controller's /controller...):
 * the core finds the handler; its JSON is re-emitted in our conventions.
 * A handler that answers later (a database write) leaves the connection
 * pending until it does. */
int api_service(struct api *a, struct api_conn *c, struct api_req *rq)
{
	struct zt_api_request q = {
		.method = rq->method_name, .path = rq->url, .body = "", .body_len = rq->len,
	};
	struct zt_api_response rs = { 0, NULL };
	char *body = NULL;
	int err;

	if (rq->len) {
		/* NUL-terminated for the service */
		body = malloc(rq->len + 1);
		if (!body)
			return api_reply(a, c, 500, api_error_json(500, "out of memory"));
		memcpy(body, rq->body, rq->len);
		body[rq->len] = 0;
		q.body = body;
	}
	err = zt_core_api_dispatch_async(a->core, &q, &rs, api_service_done, c, &c->pending);
	free(body);
	if (err == ZT_API_PENDING)
		return 0;
	return api_service_answer(a, c, err, &rs);
}
