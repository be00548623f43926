/* The postgres store's cache (cache.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

static void pg_net_free(struct pg_net *net)
{
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
	if (pg_member_index(net, m->address, &at)) {
		zt_store_member_clear(&net->mems[at]);
	} else {
		if (pg_grow((void **)&net->mems, &net->cap, net->nmems, sizeof *net->mems) < 0)
			return -ENOMEM;
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
	zt_store_member_clear(&net->mems[at]);
	memmove(&net->mems[at], &net->mems[at + 1], (net->nmems - at - 1) * sizeof *net->mems);
	net->nmems--;
	return 0;
}
