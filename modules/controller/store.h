/* The controller's storage: networks and their members (networks.md §8.6,
 * §8.7).  One backend today, SQLite (store-sqlite.c); a PostgreSQL
 * backend would be a second implementation of these functions, chosen
 * by the controller's `store` option.
 *
 * Objects are plain structs; the lists the controller interprets (IP
 * pools, routes, rules, DNS, join tokens) are kept as JSON text.  Every
 * put and delete is one transaction and is durable when it returns;
 * store_begin/store_commit group several into one.  Functions return 0
 * or a negative errno (-ENOENT: no such object, -EIO: the database
 * failed, the message is in store_error). */
#ifndef ZT_CONTROLLER_STORE_H
#define ZT_CONTROLLER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct store_network {
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
	char *dns;                  /* JSON: {"domain":..,"servers":[..]} or [] */
	char *auth_tokens;          /* JSON: {token: expiry ms} or [null] */
	bool has_trace_target;
	uint64_t trace_target;
	uint64_t trace_level;
	int64_t ctmd;               /* certificateTimeoutWindowSize, 0: not set */
	uint64_t revision;
	int64_t creation_time;
};

struct store_member {
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
	int v_major, v_minor, v_rev, v_proto;   /* -1: unknown */
	uint64_t revision;
	int64_t creation_time;
};

/* Open (creating if needed) the database at path.  NULL on failure, with
 * the reason in err. */
struct store *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store *s);
/* The last database error, for log messages. */
const char *store_error(const struct store *s);

/* Group the puts and deletes that follow into one transaction; nested
 * begins only count.  rollback undoes everything since the outer begin. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* Free what a struct holds (not the struct); safe on a zeroed one. */
void store_network_clear(struct store_network *n);
void store_member_clear(struct store_member *m);
/* Deep copies: 0 or -ENOMEM (dst is then cleared). */
int store_network_copy(struct store_network *dst, const struct store_network *src);
int store_member_copy(struct store_member *dst, const struct store_member *src);
/* Append an IP text to a member's list: 0 or -ENOMEM. */
int store_member_add_ip(struct store_member *m, const char *ip);

int store_network_get(struct store *s, uint64_t id, struct store_network *out);
/* Insert or replace. */
int store_network_put(struct store *s, const struct store_network *n);
/* Removes the network and all its members. */
int store_network_delete(struct store *s, uint64_t id);
/* All network ids, ascending; *ids is malloc'd (NULL when n is 0). */
int store_network_ids(struct store *s, uint64_t **ids, size_t *n);

int store_member_get(struct store *s, uint64_t nwid, uint64_t address, struct store_member *out);
/* Insert or replace; the network must exist (-ENOENT otherwise). */
int store_member_put(struct store *s, const struct store_member *m);
int store_member_delete(struct store *s, uint64_t nwid, uint64_t address);
/* Visit the members of a network in ascending address order; the member
 * is borrowed for the call.  A non-zero return of fn stops the walk and
 * is returned. */
int store_member_each(struct store *s, uint64_t nwid,
		      int (*fn)(void *ctx, const struct store_member *m), void *ctx);
/* Members of a network: all of them and the authorized ones. */
int store_member_count(struct store *s, uint64_t nwid, size_t *total, size_t *authorized);
/* The member of nwid whose ipAssignments list ip (canonical text): 0 and
 * *address, or -ENOENT. */
int store_ip_holder(struct store *s, uint64_t nwid, const char *ip, uint64_t *address);

#endif
