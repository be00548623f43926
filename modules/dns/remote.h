/* dns: GETs to a controller's HTTP API in another ztd (remote.c), with
 * libcurl's multi interface on the module's libev loop, so that the loop
 * never waits on the network. */
#ifndef ZT_DNS_REMOTE_H
#define ZT_DNS_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

struct ev_loop;
struct dns_remote;
struct dns_req;

/* The answer to a GET: body (malloc'd, the callee's to free) if the API
 * answered 200, else NULL with why, and gone if it answered 404 (it has
 * no such object) rather than failed or could not be reached. */
typedef void dns_fetched_fn(void *ctx, char *body, bool gone, const char *why);

/* base: "http://198.19.7.53:9993"; token: the controller's
 * authtoken.secret.  NULL with err filled on failure. */
struct dns_remote *dns_remote_new(struct ev_loop *loop, const char *base, const char *token,
				  char *err, size_t errlen);
/* Start a GET of base + path; fn is called once, later, from the loop.
 * NULL if it could not start (fn is not called). */
struct dns_req *dns_remote_get(struct dns_remote *r, const char *path, dns_fetched_fn *fn, void *ctx);
/* Forget a request still running: fn will not be called. */
void dns_remote_cancel(struct dns_remote *r, struct dns_req *q);
/* Cancels what runs. */
void dns_remote_free(struct dns_remote *r);

#endif
