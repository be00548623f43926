/* The postgres store's cache (cache.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

/* ---- the IP index ---- */

static size_t pg_ip_hash(const char *ip)
{
	size_t h = 1469598103934665603ULL;

	for (; *ip; ip++)
		h = (h ^ (unsigned char)*ip) * 1099511628211ULL;
	return h;
}

static void pg_ip_free(struct pg_net *net)
{
	for (size_t i = 0; i < net->ipt_cap; i++)
		for (struct pg_ipnode *e = net->ipt[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	free(net->ipt);
	net->ipt = NULL;
	net->ipt_n = net->ipt_cap = 0;
}

/* Twice the buckets when the entries outnumber them. */
static int pg_ip_grow(struct pg_net *net)
{
	size_t cap = net->ipt_cap ? net->ipt_cap * 2 : 64;
	struct pg_ipnode **t = calloc(cap, sizeof *t);

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < net->ipt_cap; i++)
		for (struct pg_ipnode *e = net->ipt[i], *next; e; e = next) {
			size_t b = pg_ip_hash(e->ip) & (cap - 1);

			next = e->next;
			e->next = t[b];
			t[b] = e;
		}
	free(net->ipt);
	net->ipt = t;
	net->ipt_cap = cap;
	return 0;
}

static int pg_ip_add(struct pg_net *net, const char *ip, uint64_t address)
{
	size_t len = strlen(ip) + 1, b;
	struct pg_ipnode *e;

	if (net->ipt_n >= net->ipt_cap && pg_ip_grow(net) < 0)
		return -ENOMEM;
	if (!(e = malloc(sizeof *e + len)))
		return -ENOMEM;
	memcpy(e->ip, ip, len);
	e->address = address;
	b = pg_ip_hash(ip) & (net->ipt_cap - 1);
	e->next = net->ipt[b];
	net->ipt[b] = e;
	net->ipt_n++;
	return 0;
}

static void pg_ip_del(struct pg_net *net, const char *ip, uint64_t address)
{
	struct pg_ipnode **pp;

	if (!net->ipt_cap)
		return;
	for (pp = &net->ipt[pg_ip_hash(ip) & (net->ipt_cap - 1)]; *pp; pp = &(*pp)->next)
		if ((*pp)->address == address && !strcmp((*pp)->ip, ip)) {
			struct pg_ipnode *e = *pp;

			*pp = e->next;
			free(e);
			net->ipt_n--;
			return;
		}
}

static void pg_ip_del_member(struct pg_net *net, const struct zt_store_member *m)
{
	for (size_t i = 0; i < m->nips; i++)
		pg_ip_del(net, m->ips[i], m->address);
}

static int pg_ip_add_member(struct pg_net *net, const struct zt_store_member *m)
{
	for (size_t i = 0; i < m->nips; i++)
		if (pg_ip_add(net, m->ips[i], m->address) < 0) {
			pg_ip_del_member(net, m);
			return -ENOMEM;
		}
	return 0;
}

int pg_cache_ip_holder(const struct pg_cache *c, uint64_t nwid, const char *ip, uint64_t *address)
{
	struct pg_net *net = pg_cache_net(c, nwid);
	bool found = false;
	uint64_t best = 0;

	if (!net || !net->ipt_cap)
		return -ENOENT;
	for (struct pg_ipnode *e = net->ipt[pg_ip_hash(ip) & (net->ipt_cap - 1)]; e; e = e->next)
		if (!strcmp(e->ip, ip) && (!found || e->address < best)) {
			best = e->address;
			found = true;
		}
	if (!found)
		return -ENOENT;
	*address = best;
	return 0;
}

/* ---- networks and members ---- */

static void pg_net_free(struct pg_net *net)
{
	pg_ip_free(net);
	zt_store_network_clear(&net->n);
	for (size_t i = 0; i < net->nmems; i++)
		zt_store_member_clear(&net->mems[i]);
	free(net->mems);
}

void pg_cache_free(struct pg_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		pg_net_free(&c->nets[i]);
	free(c->nets);
	memset(c, 0, sizeof *c);
}

/* Where id is or would go: true if it is there. */
static bool pg_net_index(const struct pg_cache *c, uint64_t id, size_t *at)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->nets[mid].n.id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return lo < c->n && c->nets[lo].n.id == id;
}

static bool pg_member_index(const struct pg_net *net, uint64_t address, size_t *at)
{
	size_t lo = 0, hi = net->nmems;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (net->mems[mid].address < address)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return lo < net->nmems && net->mems[lo].address == address;
}

struct pg_net *pg_cache_net(const struct pg_cache *c, uint64_t id)
{
	size_t at;

	return pg_net_index(c, id, &at) ? &c->nets[at] : NULL;
}

struct zt_store_member *pg_cache_member(const struct pg_cache *c, uint64_t nwid, uint64_t address)
{
	struct pg_net *net = pg_cache_net(c, nwid);
	size_t at;

	return net && pg_member_index(net, address, &at) ? &net->mems[at] : NULL;
}

/* Make room for one more element of size sz in *v (len used of *cap). */
static int pg_grow(void **v, size_t *cap, size_t len, size_t sz)
{
	size_t ncap;
	void *nv;

	if (len < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	nv = realloc(*v, ncap * sz);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

int pg_cache_put_net(struct pg_cache *c, struct zt_store_network *n)
{
	size_t at;

	if (pg_net_index(c, n->id, &at)) {
		zt_store_network_clear(&c->nets[at].n);
		c->nets[at].n = *n;
	} else {
		if (pg_grow((void **)&c->nets, &c->cap, c->n, sizeof *c->nets) < 0)
			return -ENOMEM;
		memmove(&c->nets[at + 1], &c->nets[at], (c->n - at) * sizeof *c->nets);
		memset(&c->nets[at], 0, sizeof *c->nets);
		c->nets[at].n = *n;
		c->n++;
	}
	memset(n, 0, sizeof *n);
	return 0;
}

int pg_cache_del_net(struct pg_cache *c, uint64_t id)
{
	size_t at;

	if (!pg_net_index(c, id, &at))
		return -ENOENT;
	pg_net_free(&c->nets[at]);
	memmove(&c->nets[at], &c->nets[at + 1], (c->n - at - 1) * sizeof *c->nets);
	c->n--;
	return 0;
}

int pg_cache_put_member(struct pg_cache *c, struct zt_store_member *m)
{
	struct pg_net *net = pg_cache_net(c, m->nwid);
	size_t at;

	if (!net)
		return -ENOENT;
	if (pg_ip_add_member(net, m) < 0)
		return -ENOMEM;
	if (pg_member_index(net, m->address, &at)) {
		pg_ip_del_member(net, &net->mems[at]);
		zt_store_member_clear(&net->mems[at]);
	} else {
		if (pg_grow((void **)&net->mems, &net->cap, net->nmems, sizeof *net->mems) < 0) {
			pg_ip_del_member(net, m);
			return -ENOMEM;
		}
		memmove(&net->mems[at + 1], &net->mems[at], (net->nmems - at) * sizeof *net->mems);
		net->nmems++;
	}
	net->mems[at] = *m;
	memset(m, 0, sizeof *m);
	return 0;
}

int pg_cache_del_member(struct pg_cache *c, uint64_t nwid, uint64_t address)
{
	struct pg_net *net = pg_cache_net(c, nwid);
	size_t at;

	if (!net || !pg_member_index(net, address, &at))
		return -ENOENT;
	pg_ip_del_member(net, &net->mems[at]);
	zt_store_member_clear(&net->mems[at]);
	memmove(&net->mems[at], &net->mems[at + 1], (net->nmems - at - 1) * sizeof *net->mems);
	net->nmems--;
	return 0;
}

int pg_cache_add_ip(struct pg_cache *c, struct zt_store_member *m, const char *ip)
{
	struct pg_net *net = pg_cache_net(c, m->nwid);
	int err;

	if (!net)
		return -ENOENT;
	if ((err = pg_ip_add(net, ip, m->address)) < 0)
		return err;
	if ((err = zt_store_member_add_ip(m, ip)) < 0)
		pg_ip_del(net, ip, m->address);
	return err;
}
