/* Stores: where a controller keeps its networks and members (networks.md
 * §8.6, §8.7).  A store is a module of kind ZT_STORE whose descriptor's
 * ops.store is a struct zt_store_ops; the controller holds no database
 * code and reaches its store only through this interface.  The sqlite
 * module (stores/sqlite) is one store; an out-of-tree store (another
 * database) is another module exporting the same table.  See zt-store(7).
 *
 * Objects are plain structs; the lists the controller interprets (IP
 * pools, routes, rules, DNS, join tokens) are kept as JSON text, opaque
 * to the store.  Operations return 0 or a negative errno: -ENOENT no such
 * object, -EIO the database failed (the message is in error()), -EAGAIN
 * the database is unreachable for now (a store that keeps serving reads
 * from a cache fails writes with it).
 *
 * Threads: every operation and every callback runs on the loop the user
 * opened the store with.  Operations must complete without that loop
 * running (zt-import calls them and never runs it); the loop carries the
 * store's own watchers (notifications, batches).  The loop should not wait long on a database: a
 * remote store answers gets from a cache it keeps current, and writes
 * what seen() is given in batches, off the request path. */
#ifndef ZT_STORE_H
#define ZT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zt/module.h>

struct ev_loop;

struct zt_store_network {
	uint64_t id;
	char *name;                 /* never NULL after get */
	bool priv;                  /* private: members need authorization */
	bool enable_broadcast;
	uint64_t mtu;
	uint64_t multicast_limit;
	bool v4_zt;                 /* v4AssignMode.zt */
	bool v6_rfc4193, v6_6plane, v6_zt;
	char *pools;                /* JSON: [{"ipRangeStart":..,"ipRangeEnd":..}] */
	char *routes;               /* JSON: [{"target":"ip/bits","via":ip|null}] */
	char *rules;                /* JSON: rule objects (networks.md §6.5) */
	char *tags;                 /* JSON: [{"id":n,"default":n|null}], NULL: [] */
	char *capabilities;         /* JSON: [{"id":n,"default":b,"rules":[..]}], NULL: [] */
	char *dns;                  /* JSON: {"domain":..,"servers":[..]} or [] */
	char *auth_tokens;          /* JSON: {token: expiry ms} or [null] */
	bool has_trace_target;
	uint64_t trace_target;
	uint64_t trace_level;
	int64_t ctmd;               /* certificateTimeoutWindowSize, 0: not set */
	uint64_t revision;
	int64_t creation_time;
	char *rules_source;         /* the flow rules source rules, tags and capabilities were
				     * compiled from, NULL: none */
};

struct zt_store_member {
	uint64_t nwid;
	uint64_t address;
	char *identity;             /* public identity text, NULL before the first request */
	char *name;                 /* NULL: not set */
	bool authorized;
	bool active_bridge;
	bool no_auto_assign_ips;
	size_t nips;
	char **ips;                 /* canonical IP text, no prefix, in order */
	bool has_trace_target;
	uint64_t trace_target;
	uint64_t trace_level;
	int64_t last_authorized_time, last_deauthorized_time;
	char *auth_cred_type;       /* lastAuthorizedCredentialType, NULL: null */
	char *auth_cred;            /* lastAuthorizedCredential, NULL: null */
	char *tags;                 /* JSON: [[id, value], ..], NULL: [] */
	char *capabilities;         /* JSON: [id, ..], NULL: [] */
	int v_major, v_minor, v_rev, v_proto;   /* -1: unknown */
	uint64_t revision;
	int64_t creation_time;
	/* When the member last asked for its config (ms since the epoch, 0:
	 * never), as written by seen(); put() leaves the stored value alone. */
	int64_t last_seen;
};

/* One member's last config request, for seen(). */
struct zt_store_seen {
	uint64_t nwid, address;
	int64_t time;               /* ms since the epoch */
};

/* What changed in the database through another writer (another
 * controller on the same database, an operator's tool). */
enum zt_store_change {
	ZT_STORE_NETWORK = 1,       /* a network was written or deleted (address 0) */
	ZT_STORE_MEMBER,            /* a member was written or deleted */
};

/* Who uses an open store: the controller fills it in and keeps it valid
 * until close().  Callbacks may be NULL. */
struct zt_store_user {
	void *ctx;
	/* The node's home directory: where a file store puts its default
	 * file (NULL: none; the store then needs its own path). */
	const char *home;
	/* The controller's ZeroTier address: two controllers with the same
	 * identity on one database are a pair (e.g. an advisory lock key). */
	uint64_t controller;
	/* A network or member changed, written by someone else: the
	 * controller re-reads it and pushes new configs.  Never called for
	 * the user's own writes. */
	void (*changed)(void *ctx, enum zt_store_change what, uint64_t nwid, uint64_t address);
	/* The store's answer to active() changed: a standby controller
	 * answers no config requests (the API keeps working). */
	void (*active)(void *ctx, bool active);
};

struct zt_store_ops {
	/* Open the database for user (at most one user at a time: -EBUSY).
	 * The instance was started before.  0, or a negative errno with a
	 * one-line reason in err naming the database (never a password). */
	int (*open)(void *state, struct ev_loop *loop, const struct zt_store_user *user,
		    char *err, size_t errlen);
	/* Undo open: flush what seen() queued, stop callbacks.  Safe twice. */
	void (*close)(void *state);
	/* The last database error, for log messages. */
	const char *(*error)(const void *state);

	/* Group the puts and deletes that follow into one transaction; nested
	 * begins only count.  rollback undoes everything since the outer
	 * begin.  Every put and delete outside begin/commit is a transaction
	 * of its own, durable (and seen by the other controller of a pair)
	 * when it returns 0. */
	int (*begin)(void *state);
	int (*commit)(void *state);
	void (*rollback)(void *state);

	int (*network_get)(void *state, uint64_t id, struct zt_store_network *out);
	/* Insert or replace. */
	int (*network_put)(void *state, const struct zt_store_network *n);
	/* Removes the network and all its members. */
	int (*network_delete)(void *state, uint64_t id);
	/* All network ids, ascending; *ids is malloc'd (NULL when n is 0). */
	int (*network_ids)(void *state, uint64_t **ids, size_t *n);

	int (*member_get)(void *state, uint64_t nwid, uint64_t address, struct zt_store_member *out);
	/* Insert or replace; the network must exist (-ENOENT otherwise). */
	int (*member_put)(void *state, const struct zt_store_member *m);
	int (*member_delete)(void *state, uint64_t nwid, uint64_t address);
	/* Visit the members of a network in ascending address order; the
	 * member is borrowed for the call, and fn must not call the store.
	 * A non-zero return of fn stops the walk and is returned. */
	int (*member_each)(void *state, uint64_t nwid,
			   int (*fn)(void *ctx, const struct zt_store_member *m), void *ctx);
	/* Members of a network: all of them and the authorized ones. */
	int (*member_count)(void *state, uint64_t nwid, size_t *total, size_t *authorized);
	/* The member of nwid whose ipAssignments list ip (canonical text): 0
	 * and *address, or -ENOENT. */
	int (*ip_holder)(void *state, uint64_t nwid, const char *ip, uint64_t *address);

	/* Optional.  Record when members last asked for their config.  The
	 * controller calls it with batches (every few seconds, and at
	 * close), never per request; entries for members that no longer
	 * exist are ignored.  Does not change a member's revision. */
	int (*seen)(void *state, const struct zt_store_seen *s, size_t n);
	/* Optional (NULL: always active).  Whether this controller is the
	 * active one of a pair sharing the database; a store that can change
	 * its mind calls user->active when it does. */
	bool (*active)(void *state);

	/* Optional (NULL: commit, which then makes the loop wait).  Like
	 * commit, but returns at once: 0, and done(ctx, err) is called
	 * once, later, from the loop, with what commit would have returned
	 * (0: durable, like a put's 0); or a negative errno, and done is
	 * never called (everything since begin is dropped).  Only for the
	 * outermost begin.  A store calls done with -ETIMEDOUT after its own
	 * limit, and at close, with an error, for what is still outstanding.
	 * Reads between commit_async and done see the data as before the
	 * transaction, or, with a store that commits before it returns and
	 * only calls done later (sqlite), as after it. */
	int (*commit_async)(void *state, void (*done)(void *ctx, int err), void *ctx);

	/* Optional (NULL: users walk member_each).  The authorized active
	 * bridges of a network, ascending: at most max addresses into out
	 * and their number into *n, found through an index rather than a
	 * walk of the members (the controller asks on every config). */
	int (*member_bridges)(void *state, uint64_t nwid, uint64_t *out, size_t max, size_t *n);

	/* Whether reads inside begin/commit see that transaction's own puts
	 * and deletes (sqlite: one connection; not postgres, whose reads
	 * come from a cache of what is committed).  A user may then build
	 * several independent writes one on another in one transaction,
	 * made durable by one COMMIT (the controller's group commit of new
	 * members); otherwise it commits each before building the next. */
	bool reads_own_writes;
};

/* ---- using a store (the controller, tools, tests) ---- */

struct zt_store;   /* a store in use: an instance and its operations */

/* The store named by option key of the user's config conf, from inside
 * the user's create(): a mapping is an instance of the user's own
 * ({ use: sqlite, path: ... }; without `use:`, module def_use), a scalar
 * the name of an instance under `stores:`; an absent key is
 * { use: def_use }.  Errors are reported at the config (file, line, key)
 * and NULL is returned. */
struct zt_store *zt_store_use(struct zt_inst *user, const struct zt_node *conf,
			      const char *key, const char *def_use);
/* A store instance made otherwise (zt_kernel_instance): NULL if zi is not
 * a store. */
struct zt_store *zt_store_of(struct zt_inst *zi);
/* Let go: destroys the instance if zt_store_use made it. */
void zt_store_release(struct zt_store *s);
struct zt_inst *zt_store_inst(const struct zt_store *s);

/* Start the instance (if not yet) and open it. */
int zt_store_open(struct zt_store *s, struct ev_loop *loop, const struct zt_store_user *user,
		  char *err, size_t errlen);
void zt_store_close(struct zt_store *s);
const char *zt_store_error(const struct zt_store *s);
bool zt_store_active(const struct zt_store *s);

int zt_store_begin(struct zt_store *s);
int zt_store_commit(struct zt_store *s);
void zt_store_rollback(struct zt_store *s);
/* Commit without making the loop wait (ops.commit_async); with a store
 * that has no commit_async, commit and call done before returning 0. */
typedef void zt_store_done_fn(void *ctx, int err);
int zt_store_commit_async(struct zt_store *s, zt_store_done_fn *done, void *ctx);
/* Whether the store has commit_async (its writes may take a while). */
bool zt_store_can_wait(const struct zt_store *s);
/* Whether independent writes may share one transaction (ops.reads_own_writes). */
bool zt_store_can_group(const struct zt_store *s);
int zt_store_network_get(struct zt_store *s, uint64_t id, struct zt_store_network *out);
int zt_store_network_put(struct zt_store *s, const struct zt_store_network *n);
int zt_store_network_delete(struct zt_store *s, uint64_t id);
int zt_store_network_ids(struct zt_store *s, uint64_t **ids, size_t *n);
int zt_store_member_get(struct zt_store *s, uint64_t nwid, uint64_t address, struct zt_store_member *out);
int zt_store_member_put(struct zt_store *s, const struct zt_store_member *m);
int zt_store_member_delete(struct zt_store *s, uint64_t nwid, uint64_t address);
int zt_store_member_each(struct zt_store *s, uint64_t nwid,
			 int (*fn)(void *ctx, const struct zt_store_member *m), void *ctx);
int zt_store_member_count(struct zt_store *s, uint64_t nwid, size_t *total, size_t *authorized);
int zt_store_ip_holder(struct zt_store *s, uint64_t nwid, const char *ip, uint64_t *address);
/* The store's member_bridges, or a walk of member_each without it. */
int zt_store_member_bridges(struct zt_store *s, uint64_t nwid, uint64_t *out, size_t max, size_t *n);
/* 0 if the store has no seen(). */
int zt_store_seen(struct zt_store *s, const struct zt_store_seen *seen, size_t n);

/* ---- the structs (for stores and users alike) ---- */

/* Free what a struct holds (not the struct); safe on a zeroed one. */
void zt_store_network_clear(struct zt_store_network *n);
void zt_store_member_clear(struct zt_store_member *m);
/* Deep copies: 0 or -ENOMEM (dst is then cleared). */
int zt_store_network_copy(struct zt_store_network *dst, const struct zt_store_network *src);
int zt_store_member_copy(struct zt_store_member *dst, const struct zt_store_member *src);
/* Append an IP text to a member's list: 0 or -ENOMEM. */
int zt_store_member_add_ip(struct zt_store_member *m, const char *ip);

#endif
