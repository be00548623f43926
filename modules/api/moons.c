/* api: /moon, orbiting and deorbiting (networks.md §9.3). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <sodium.h>

#include "api.h"

/* Lower-case hex of n bytes. */
static json_t *api_hexbytes_json(const uint8_t *b, size_t n)
{
	char buf[2 * 128 + 1];

	if (n > 128)
		return NULL;
	sodium_bin2hex(buf, sizeof buf, b, n);
	return json_string(buf);
}

/* A moon object (networks.md §9.3); one being waited for has no roots yet. */
static json_t *api_moon_json(const struct zt_moon_info *m)
{
	json_t *o, *roots;
	char id[17], ident[ZT_ID_TEXT_MAX];
	unsigned i, n = m->n_roots;
	int err = 0;

	snprintf(id, sizeof id, "%016" PRIx64, m->id);
	if (m->waiting)
		return json_pack("{s:s,s:[],s:i,s:n,s:n,s:b}", "id", id, "roots", "timestamp", 0,
				 "signature", "updatesMustBeSignedBy", "waiting", 1);
	o = json_object();
	roots = json_array();
	if (!o || !roots)
		goto fail;
	if (n > sizeof m->roots / sizeof m->roots[0])
		n = sizeof m->roots / sizeof m->roots[0];
	for (i = 0; i < n; i++) {
		unsigned ne = m->roots[i].n_endpoints;
		json_t *r;

		if (ne > sizeof m->roots[i].endpoints / sizeof m->roots[i].endpoints[0])
			ne = sizeof m->roots[i].endpoints / sizeof m->roots[i].endpoints[0];
		zt_identity_to_text(&m->roots[i].id, ident, false);
		r = json_object();
		if (!r || json_array_append_new(roots, r) < 0)
			goto fail;
		err |= api_set(r, "identity", json_string(ident));
		err |= api_set(r, "stableEndpoints", api_addrs_json(m->roots[i].endpoints, ne));
	}
	err |= api_set(o, "roots", roots);
	roots = NULL;
	err |= api_set(o, "id", json_string(id));
	err |= api_set(o, "timestamp", json_integer((json_int_t)m->timestamp));
	err |= api_set(o, "signature", api_hexbytes_json(m->signature, sizeof m->signature));
	err |= api_set(o, "updatesMustBeSignedBy", api_hexbytes_json(m->update_key, sizeof m->update_key));
	err |= api_set(o, "waiting", json_false());
	if (err)
		goto fail;
	return o;
fail:
	json_decref(roots);
	json_decref(o);
	return NULL;
}

struct api_moons_ctx {
	json_t *arr;
	bool failed;
};

static void api_moons_visit(void *ctx, const struct zt_moon_info *m)
{
	struct api_moons_ctx *mc = ctx;
	json_t *j;

	if (mc->failed)
		return;
	j = api_moon_json(m);
	if (!j || json_array_append_new(mc->arr, j) < 0)
		mc->failed = true;
}

static int api_moon_reply(struct api *a, struct api_conn *c,
				      const struct zt_moon_info *m)
{
	json_t *j = api_moon_json(m);

	if (!j)
		return api_fail(a, c, 500, "out of memory");
	return api_reply(a, c, 200, j);
}

/* POST /moon/<id> {"seed":"<address>"}: orbit.  A moon already held is
 * returned as it is; one not held is orbited through the seed (again, if
 * it was being waited for); without a seed nothing happens and the answer
 * is {} (or the moon being waited for). */
static int api_moon_orbit(struct api *a, struct api_conn *c, struct api_req *rq)
{
	struct zt_moon_info mi;
	json_t *body = api_body_object(rq->body, rq->len);
	uint64_t seed;
	bool known;
	int err;

	err = api_body_seed(body, &seed);
	json_decref(body);
	if (err < 0)
		return api_fail(a, c, 400, "seed: must be an address, 10 hex digits");
	memset(&mi, 0, sizeof mi);
	known = zt_core_moon(a->core, rq->nwid, &mi) == 0;
	if (known && !mi.waiting)
		return api_moon_reply(a, c, &mi);
	if (!seed)
		return known ? api_moon_reply(a, c, &mi) : api_reply_empty(a, c, 200);
	if (!rq->nwid)
		return api_fail(a, c, 400, "0000000000000000 is not a moon id");
	err = zt_core_orbit(a->core, rq->nwid, seed);
	if (err == -EINVAL)
		return api_fail(a, c, 400, "orbit %016" PRIx64 " by %010" PRIx64 ": %s",
				rq->nwid, seed, strerror(-err));
	if (err < 0)
		return api_fail(a, c, 500, "orbit %016" PRIx64 ": %s", rq->nwid, strerror(-err));
	memset(&mi, 0, sizeof mi);
	if (zt_core_moon(a->core, rq->nwid, &mi) < 0) {
		/* orbited, but the kernel shows nothing: say what was asked */
		memset(&mi, 0, sizeof mi);
		mi.id = rq->nwid;
		mi.waiting = true;
		mi.seed = seed;
	}
	return api_moon_reply(a, c, &mi);
}

/* DELETE /moon/<id>: {"result":true}, or {} if it was not orbited. */
static int api_moon_deorbit(struct api *a, struct api_conn *c, struct api_req *rq)
{
	int err = zt_core_deorbit(a->core, rq->nwid);

	if (err == -ENOENT)
		return api_reply_empty(a, c, 200);
	if (err == -EPERM)
		return api_fail(a, c, 403,
				"moon %016" PRIx64 " is orbited by ztd.yaml: remove it there to deorbit it",
				rq->nwid);
	if (err < 0)
		return api_fail(a, c, 500, "deorbit %016" PRIx64 ": %s", rq->nwid, strerror(-err));
	return api_reply(a, c, 200, json_pack("{s:b}", "result", 1));
}
/* GET /moon: every moon orbited or waited for. */
int api_moons(struct api *a, struct api_conn *c)
{
	struct api_moons_ctx mc = { json_array(), false };

	if (!mc.arr)
		return api_fail(a, c, 500, "out of memory");
	zt_core_moons(a->core, api_moons_visit, &mc);
	if (mc.failed) {
		json_decref(mc.arr);
		return api_fail(a, c, 500, "out of memory");
	}
	return api_reply(a, c, 200, mc.arr);
}

/* /moon/<id>: GET ({} if not orbited), POST (orbit) or DELETE (deorbit). */
int api_moon(struct api *a, struct api_conn *c, struct api_req *rq)
{
	struct zt_moon_info mi;

	if (rq->method == API_M_POST)
		return api_moon_orbit(a, c, rq);
	if (rq->method == API_M_DELETE)
		return api_moon_deorbit(a, c, rq);
	memset(&mi, 0, sizeof mi);
	if (zt_core_moon(a->core, rq->nwid, &mi) < 0)
		return api_reply_empty(a, c, 200);
	return api_moon_reply(a, c, &mi);
}
