/* The postgres store's copy of the database in memory: every network and
 * member, which the controller's reads are served from.  Networks sorted
 * by id, each network's members sorted by address (binary search, and
 * member_each walks in order).  Not thread-safe: the worker builds a whole
 * cache for a snapshot and hands it over; after that only the loop
 * touches it. */
#ifndef ZT_STORES_POSTGRES_CACHE_H
#define ZT_STORES_POSTGRES_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zt/store.h>

/* Who holds an IP: a chained hash table per network. */
struct pg_ipnode {
	struct pg_ipnode *next;
	uint64_t address;
	char ip[];
};

struct pg_net {
	struct zt_store_network n;
	struct zt_store_member *mems;
	size_t nmems, cap;
	struct pg_ipnode **ipt;
	size_t ipt_n, ipt_cap;      /* entries, buckets (a power of 2) */
};

struct pg_cache {
	struct pg_net *nets;
	size_t n, cap;
};

void pg_cache_free(struct pg_cache *c);
/* The network with this id, or NULL. */
struct pg_net *pg_cache_net(const struct pg_cache *c, uint64_t id);
struct zt_store_member *pg_cache_member(const struct pg_cache *c, uint64_t nwid, uint64_t address);
/* Take n (moved: the cache owns its strings; n is zeroed); a network
 * already there keeps its members.  0 or -ENOMEM. */
int pg_cache_put_net(struct pg_cache *c, struct zt_store_network *n);
/* -ENOENT if absent. */
int pg_cache_del_net(struct pg_cache *c, uint64_t id);
/* Take m (moved, as put_net); -ENOENT if its network is not there. */
int pg_cache_put_member(struct pg_cache *c, struct zt_store_member *m);
int pg_cache_del_member(struct pg_cache *c, uint64_t nwid, uint64_t address);
/* Append ip to m, a member in c (the snapshot's loading): 0 or -ENOMEM. */
int pg_cache_add_ip(struct pg_cache *c, struct zt_store_member *m, const char *ip);
/* The lowest address of the network's members that list ip: 0 or -ENOENT. */
int pg_cache_ip_holder(const struct pg_cache *c, uint64_t nwid, const char *ip, uint64_t *address);

#endif
