/* controller: what the module's files share: its state, the members heard
 * from, and the few functions more than one file calls.  Each function is
 * declared under the file that defines it. */
#ifndef ZT_CONTROLLER_CONTROLLER_H
#define ZT_CONTROLLER_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include <zt/credential.h>
#include <zt/module.h>
#include <zt/netconf.h>
#include <zt/node.h>
#include <zt/packet.h>

#include <zt/store.h>

#include "build.h"

#define CTL_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)
/* buckets of the members heard from, at first: doubled as they fill */
#define CTL_SEEN_MIN_BUCKETS 1024
/* a new network's rules: accept everything */
#define CTL_DEFAULT_RULES "[{\"not\":false,\"or\":false,\"type\":\"ACTION_ACCEPT\"}]"
/* seconds between batches of last requests handed to the store */
#define CTL_FLUSH_S 5.0

/* The dns module of this ztd answering for a network (zt-dns(7)): the
 * addresses it listens on, given as the network's DNS servers while the
 * network names none itself.  Held in memory only (see dns.c). */
struct ctl_dns_service {
	struct ctl_dns_service *next;
	uint64_t nwid;
	struct zt_dns servers;      /* domain unused */
};

/* A network with members heard from: its list of them, so that a push
 * or a revocation to the network visits only its own, and the generation
 * of its configs, raised by any change that may alter every member's
 * (network written or deleted, bridges, revocations, this ztd's DNS
 * servers), so that the members' cached configs are not answered again. */
struct ctl_net {
	struct ctl_net *next;
	uint64_t nwid, gen;
	struct ctl_seen *members;   /* linked by net_prev/net_next */
};

/* A member heard from recently: for the rate limit and for pushes. */
struct ctl_seen {
	struct ctl_seen *next;
	struct ctl_seen *next_unsaved;   /* in ctl.unsaved while unsaved */
	/* in its network's list, and in ctl's list by last request, oldest
	 * first, which pruning eats from the front */
	struct ctl_seen *net_prev, *net_next, *lru_prev, *lru_next;
	struct ctl_net *net;
	struct ctl_config_cache config;  /* the last config sent, for its repeats */
	uint64_t nwid, address;
	int64_t last_request;
	bool unsaved;               /* last_request not yet given to the store's seen() */
	bool pending;               /* a write of this member is queued or awaits its COMMIT */
	struct zt_identity id;
	size_t meta_len;
	uint8_t meta[ZT_NCREQ_META_READ_MAX];
};

struct ctl {
	struct zt_inst *zi;
	struct zt_core *core;
	struct ev_loop *loop;
	struct zt_store *store;
	struct zt_store_user store_user;
	bool store_open;
	uint64_t address;
	bool started, api_main, api_unstable, role;
	struct zt_netconf *nc;
	uint8_t *dict;
	uint8_t *rules_buf;
	/* members heard from, hashed by network and address: a table that
	 * grows with them, so that a request finds its member in a few
	 * steps with 100,000 online; and those whose last request the store
	 * has not had, so that a flush visits only them */
	struct ctl_seen **seen;
	size_t seen_buckets, n_seen;
	struct ctl_seen *unsaved;
	struct ctl_seen *oldest, *newest;    /* by last request */
	struct ctl_net *nets;
	ev_timer prune;
	ev_timer flush;             /* hands the store the last requests, in batches */
	struct ctl_dns_service *dns_services;

	uint64_t *cached;               /* requests answered from a member's cached config */
	uint64_t *requests, *rate_limited, *not_found, *denied, *configs, *pushes,
		 *revocations, *failures, *api_requests, *api_errors, *standby;
	uint64_t *network_changes, *member_changes, *member_auths, *member_deauths;
	/* API writes waiting for their COMMIT (api-write.c) */
	struct ctl_write *deferring;    /* its handler is running: pushes wait */
	struct ctl_write *writing;      /* in flight */
	struct ctl_write *write_queue, **write_queue_tail;
	/* config requests' writes (serve.c): the batch awaiting its COMMIT,
	 * and the one being filled in an open transaction */
	struct ctl_member_batch *member_writing, *batch;
	bool member_turn;           /* a queued one is being served: it writes now */
	bool stopping;
};

/* controller.c: the module, and saving what changed */
int64_t ctl_now(void);
bool ctl_network_same(const struct zt_store_network *a, const struct zt_store_network *b);
bool ctl_member_same(const struct zt_store_member *a, const struct zt_store_member *b);
int ctl_member_save(struct ctl *c, const struct zt_store_member *old, struct zt_store_member *m);

/* serve.c: answering config requests, pushes and revocations */
extern const struct zt_controller_ops ctl_ops;
void ctl_seen_prune(struct ctl *c, int64_t now, bool all);
void ctl_prune_cb(struct ev_loop *loop, ev_timer *w, int revents);
void ctl_seen_flush(struct ctl *c);
void ctl_flush_cb(struct ev_loop *loop, ev_timer *w, int revents);
void ctl_store_changed(void *ctx, enum zt_store_change what, uint64_t nwid, uint64_t address);
void ctl_store_active(void *ctx, bool active);
void ctl_push(struct ctl *c, uint64_t nwid, uint64_t member);
void ctl_revoke(struct ctl *c, uint64_t nwid, uint64_t target);
/* Revoke one credential of target (ZT_CRED_COM, _TAG or _CAPABILITY, by
 * id); during an API write, once it has committed. */
void ctl_revoke_cred(struct ctl *c, uint64_t nwid, uint64_t target, uint8_t type, uint32_t cred_id);
/* Revokes the tags and capabilities old held that m no longer does. */
void ctl_revoke_dropped(struct ctl *c, const struct zt_store_member *old, const struct zt_store_member *m);
/* A member's write queued behind others: run at its turn (served
 * again, on what is then committed or written earlier in the batch), or
 * freed unrun. */
struct ctl_member_write;
void ctl_member_write_run(struct ctl *c, struct ctl_member_write *mw);
void ctl_member_write_free(struct ctl_member_write *mw);
/* Members' writes in one transaction, made durable by one COMMIT, after
 * which each member's config goes out (group commit): with a store whose
 * reads see its open transaction's writes, the writes queued while a
 * COMMIT was in progress share the next one. */
#define CTL_BATCH_MAX 256
struct ctl_member_batch {
	struct ctl *c;
	struct ctl_member_write *head, **tail;
	size_t n;
	bool failed;                /* a write failed: the transaction is dropped */
};
/* Open c->batch (begin): 0 or a negative errno (logged). */
int ctl_batch_open(struct ctl *c);
/* Close c->batch: COMMIT it, its configs sent once durable, or drop it
 * (nothing in it, or failed: each member is told nothing and asks again). */
void ctl_batch_close(struct ctl *c);

/* dns-service.c: the DNS servers a dns module announces (through
 * /unstable/controller/network/<nwid>/dns-service in api.c) */
const struct zt_dns *ctl_dns_service_find(const struct ctl *c, uint64_t nwid);
int ctl_dns_service_set(struct ctl *c, uint64_t nwid, const struct zt_dns *servers);
void ctl_dns_services_free(struct ctl *c);

/* json.c: new networks and members, as JSON, and POST bodies applied to
 * them (also compiled into zt-import) */
void ctl_network_defaults(struct zt_store_network *n, uint64_t id, int64_t now);
void ctl_member_init(struct zt_store_member *m, uint64_t nwid, uint64_t address, int64_t now);
json_t *ctl_hex(uint64_t v, int digits);
json_t *ctl_network_json(const struct zt_store_network *n);
json_t *ctl_member_json(const struct zt_store_member *m);
int ctl_network_apply(struct zt_store_network *n, const json_t *body, const char **why);
int ctl_member_apply(struct zt_store_member *m, const json_t *body, int64_t now, const char **why);
/* The dns module's servers (/unstable/controller/network/<nwid>/dns-service):
 * {"servers": [IP, ...]} (at most ZT_DNS_SERVERS) read into d, or -EINVAL
 * and why; and d as that body. */
int ctl_dns_servers_apply(struct zt_dns *d, const json_t *body, const char **why);
json_t *ctl_dns_servers_json(const struct zt_dns *d);

/* api.c: the HTTP API under /controller */
int ctl_api(void *state, const struct zt_api_request *rq, struct zt_api_response *rs);
/* api-write.c: the API's writes, answered after their COMMIT */
int ctl_api_async(void *state, const struct zt_api_request *rq, struct zt_api_response *rs,
		  struct zt_api_pending *p);
/* Keep a push (or revocation) for after the COMMIT of the write being
 * built: true if kept. */
bool ctl_defer(struct ctl *c, bool revoke, uint64_t nwid, uint64_t address, uint8_t type, uint32_t cred_id);
void ctl_writes_stop(struct ctl *c);
/* Whether a write is in flight or queued: a new one waits its turn. */
bool ctl_writes_busy(const struct ctl *c);
/* Queue mw behind the writes in flight; 0 or -ENOMEM (mw not taken). */
int ctl_write_enqueue_member(struct ctl *c, struct ctl_member_write *mw);
/* The next queued writes, once none is in flight. */
void ctl_write_next(struct ctl *c);
/* The change counters, to undo what a failed write counted. */
void ctl_write_counts(struct ctl *c, uint64_t v[4]);
void ctl_write_uncount(struct ctl *c, const uint64_t d[4]);

#endif
