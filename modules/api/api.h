/* api: what the module's files share: its state, one connection and one
 * request, the routes, and the few functions more than one file calls.
 * Each function is declared under the file that defines it. */
#ifndef ZT_API_API_H
#define ZT_API_API_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include <zt/module.h>
#include <zt/node.h>

#include "cidr.h"
#include "http.h"
#include "request.h"

/* Listen addresses one instance may have. */
#define API_MAX_LISTEN 16
/* Longest token read from the token file, in bytes. */
#define API_TOKEN_MAX 256
/* Length of a token this module creates (networks.md §9.1). */
#define API_TOKEN_LEN 24
/* Largest accepted max-body, and the JSON flags of every response. */
#define API_BODY_LIMIT (64u << 20)
#define API_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)
/* Bytes read from a connection at once (and kept, unparsed, at most). */
#define API_IN_SIZE 4096
/* An output buffer larger than this is freed once it is sent. */
#define API_OUT_KEEP 16384
/* Seconds a connection may take to read an answer that closes it. */
#define API_LINGER_S 2.0
/* Seconds accepting pauses when there are no file descriptors left. */
#define API_BACKOFF_S 0.25
/* Connections accepted per wakeup: those accepted get read between
 * batches. */
#define API_ACCEPT_BATCH 64
/* Seconds a connection is safe from eviction after its accept or its
 * last complete request header: time enough to send a request. */
#define API_EVICT_AFTER_S 1.0
/* CIDRs of allow-from. */
#define API_MAX_ALLOW 32

struct api;


/* One listening socket. */
struct api_listener {
	struct api *a;
	union zt_sockaddr addr;     /* as configured, then as bound */
	int fd;
	ev_io io;                   /* readable: connections to accept */
};

struct api {
	struct zt_inst *zi;
	struct ev_loop *loop;
	struct zt_core *core;       /* NULL when the pipeline has no node */
	bool allow_remote;
	bool started;
	char *token_file;           /* as configured, or NULL for <home>/authtoken.secret */
	size_t max_body;
	unsigned max_conns, conns;
	unsigned timeout_s;
	double header_timeout_s;    /* from accept, or a request's first byte, to its whole header */
	unsigned nallow;
	struct api_cidr allow[API_MAX_ALLOW];   /* allow-from, besides loopback */
	char token[API_TOKEN_MAX + 1];
	size_t token_len;
	char mtoken[API_TOKEN_MAX + 1];   /* <home>/metricstoken.secret, for /metrics only */
	size_t mtoken_len;                /* 0: none (no home) */
	unsigned nlisten;
	struct api_listener listen[API_MAX_LISTEN];
	/* open connections, oldest first by their last complete request
	 * header (or their accept): the first is the one evicted */
	struct api_conn *conn_list, *conn_tail;
	ev_timer backoff;                 /* accepting paused: out of fds */
	ev_timer full;                    /* paused: max-connections open, none evictable yet */

	uint64_t *requests, *unauthorized, *refused, *too_large, *bad_requests, *errors;
	uint64_t *evicted, *header_timeouts;
};

/* One HTTP request, from its headers to its completion. */
struct api_req {
	int route;                  /* what the request asks for, API_R_* */
	int method;                 /* API_M_* */
	uint64_t nwid;              /* the network or moon in the path, if any */
	char *url;                  /* the path, decoded */
	const char *query;          /* after '?' in the target, or NULL */
	const char *method_name;    /* API_R_SERVICE: passed on to the core */
	uint64_t peer;              /* the address in the path, if any */
	size_t len;
	const char *body;           /* borrowed from the connection's parser */
};

/* One client connection. */
struct api_conn {
	struct api *a;
	struct api_conn *prev, *next;
	int fd;
	ev_io io;
	ev_timer timer;             /* idle timeout, then the lingering close */
	ev_timer head_timer;        /* header-timeout: a request header not complete in time */
	bool awaiting_head;         /* between requests, or in a request's header */
	ev_tstamp since;            /* accepted, or its last request header completed */
	struct api_http http;
	struct api_req rq;
	bool head;                  /* a HEAD request: no body in the answer */
	bool keep_alive;            /* the client keeps the connection open */
	bool closing;               /* close once the output is sent */
	bool lingering;             /* output sent, write side shut: reading to EOF */
	bool eof;                   /* the client sent all it will */
	bool broken;                /* close now */
	struct zt_api_pending *pending;  /* a service answers later: hold the request */
	char *out;
	size_t out_off, out_len, out_cap;
	size_t in_off, in_len;
	char in[API_IN_SIZE];
};

/* api.c: routing and dispatch */
bool api_is_loopback(const union zt_sockaddr *a);
int api_handle(struct api *a, struct api_conn *c, struct api_req *rq);

/* conn.c: listening, connections, reading requests, answering */
int api_listen(struct api *a, struct api_listener *l);
void api_backoff_cb(struct ev_loop *loop, ev_timer *w, int revents);
void api_full_cb(struct ev_loop *loop, ev_timer *w, int revents);
void api_conn_free(struct api_conn *c);
/* A pending request was answered (err: api_reply's): send the answer
 * and go on with the connection. */
void api_conn_resume(struct api_conn *c, int err);
int api_respond(struct api_conn *c, unsigned status, const char *type,
		const char *allow, const char *body, size_t len);
int api_reply(struct api *a, struct api_conn *c, unsigned status, json_t *j);
int api_reply_empty(struct api *a, struct api_conn *c, unsigned status);
int api_fail(struct api *a, struct api_conn *c, unsigned status, const char *fmt, ...)
	ZT_PRINTF(4, 5);

/* json.c: building blocks of the JSON bodies */
uint16_t api_port(const union zt_sockaddr *a);
json_t *api_addr_json(const union zt_sockaddr *a);
json_t *api_addrs_json(const union zt_sockaddr *a, size_t n);
unsigned api_primary_port(const union zt_sockaddr *a, size_t n);
int api_set(json_t *obj, const char *key, json_t *v);
json_t *api_hex40(uint64_t address);
const char *api_role(enum zt_role r);
int api_set_version(json_t *o);
json_t *api_error_json(unsigned code, const char *text);

/* status.c: /status, /health, /peer */
int api_status(struct api *a, struct api_conn *c, int route);
int api_peers(struct api *a, struct api_conn *c);
int api_peer(struct api *a, struct api_conn *c, uint64_t address);
int api_peer_echo(struct api *a, struct api_conn *c, struct api_req *rq);

/* networks.c: /network */
int api_networks(struct api *a, struct api_conn *c);
int api_network(struct api *a, struct api_conn *c, struct api_req *rq);

/* moons.c: /moon */
int api_moons(struct api *a, struct api_conn *c);
int api_moon(struct api *a, struct api_conn *c, struct api_req *rq);

/* config.c: /config */
json_t *api_config_json(const struct zt_status *st);
int api_config(struct api *a, struct api_conn *c);
int api_config_settings(struct api *a, struct api_conn *c, struct api_req *rq);

/* metrics.c: /metrics */
int api_metrics(struct api *a, struct api_conn *c);
/* rules.c */
int api_network_rules(struct api *a, struct api_conn *c, uint64_t nwid);
int api_network_explain(struct api *a, struct api_conn *c, struct api_req *rq);
void api_rule_metrics(struct api *a, FILE *f);

/* service.c: paths other services registered (the controller's) */
int api_service(struct api *a, struct api_conn *c, struct api_req *rq);

#endif
