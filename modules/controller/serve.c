/* controller: answering NETWORK_CONFIG_REQUESTs (networks.md §8.1), with
 * the members heard from (rate limit, who is online), and pushing fresh
 * configs and revocations to them (§8.4). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "build.h"
#include "controller.h"

/* A member is online while its last request is this recent (§8.4). */
#define CTL_ONLINE_MS 120000
/* Requests per member and network: one per this many ms (§8.1). */
#define CTL_RATE_MS 1000
#define CTL_REV_MAX 512

static int ctl_sign(void *ctx, const void *msg, size_t len, uint8_t sig[ZT_SIG_LEN])
{
	struct ctl *c = ctx;

	return zt_core_sign(c->core, msg, len, sig);
}

/* ---- members heard from ---- */

static size_t ctl_seen_hash(uint64_t nwid, uint64_t address, size_t buckets)
{
	uint64_t h = (nwid ^ (address * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;

	return (size_t)(h >> 32) & (buckets - 1);
}

static struct ctl_seen *ctl_seen_find(struct ctl *c, uint64_t nwid, uint64_t address)
{
	struct ctl_seen *s;

	if (!c->seen)
		return NULL;
	for (s = c->seen[ctl_seen_hash(nwid, address, c->seen_buckets)]; s; s = s->next)
		if (s->nwid == nwid && s->address == address)
			return s;
	return NULL;
}

static void ctl_seen_link(struct ctl_seen **buckets, size_t n, struct ctl_seen *s)
{
	struct ctl_seen **head = &buckets[ctl_seen_hash(s->nwid, s->address, n)];

	s->next = *head;
	*head = s;
}

/* Twice the buckets (or the first ones): 0 or -ENOMEM, the table as it was. */
static int ctl_seen_grow(struct ctl *c)
{
	size_t nb = c->seen ? 2 * c->seen_buckets : CTL_SEEN_MIN_BUCKETS;
	struct ctl_seen **t = calloc(nb, sizeof *t), *s, *next;

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < c->seen_buckets; i++)
		for (s = c->seen[i]; s; s = next) {
			next = s->next;
			ctl_seen_link(t, nb, s);
		}
	free(c->seen);
	c->seen = t;
	c->seen_buckets = nb;
	return 0;
}

/* ---- networks with members heard from ---- */

/* A list: networks are few next to their members, and it is walked only
 * when a member is heard from for the first time, a push or a
 * revocation, not per request. */
static struct ctl_net *ctl_net_find(struct ctl *c, uint64_t nwid)
{
	struct ctl_net *n;

	for (n = c->nets; n; n = n->next)
		if (n->nwid == nwid)
			return n;
	return NULL;
}

/* Every cached config of the network is stale. */
static void ctl_net_changed(struct ctl *c, uint64_t nwid)
{
	struct ctl_net *n = ctl_net_find(c, nwid);

	if (n)
		n->gen++;
}

static void ctl_net_free_if_empty(struct ctl *c, struct ctl_net *n)
{
	struct ctl_net **pp;

	if (n->members)
		return;
	for (pp = &c->nets; *pp != n; pp = &(*pp)->next)
		;
	*pp = n->next;
	free(n);
}

static void ctl_lru_unlink(struct ctl *c, struct ctl_seen *s)
{
	*(s->lru_prev ? &s->lru_prev->lru_next : &c->oldest) = s->lru_next;
	*(s->lru_next ? &s->lru_next->lru_prev : &c->newest) = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

/* s is the member heard from last: the newest of the list by last request. */
static void ctl_lru_append(struct ctl *c, struct ctl_seen *s)
{
	s->lru_prev = c->newest;
	s->lru_next = NULL;
	*(c->newest ? &c->newest->lru_next : &c->oldest) = s;
	c->newest = s;
}

/* A member heard from for the first time: NULL if memory is short. */
static struct ctl_seen *ctl_seen_add(struct ctl *c, uint64_t nwid, uint64_t address)
{
	struct ctl_net *n = ctl_net_find(c, nwid);
	struct ctl_seen *s;

	/* a table that cannot grow stays usable, with longer chains */
	if ((!c->seen || c->n_seen >= c->seen_buckets) && ctl_seen_grow(c) < 0 && !c->seen)
		return NULL;
	if (!n) {
		if (!(n = calloc(1, sizeof *n)))
			return NULL;
		n->nwid = nwid;
		n->next = c->nets;
		c->nets = n;
	}
	if (!(s = calloc(1, sizeof *s))) {
		ctl_net_free_if_empty(c, n);
		return NULL;
	}
	s->nwid = nwid;
	s->address = address;
	ctl_seen_link(c->seen, c->seen_buckets, s);
	s->net = n;
	s->net_next = n->members;
	if (n->members)
		n->members->net_prev = s;
	n->members = s;
	ctl_lru_append(c, s);
	c->n_seen++;
	return s;
}

/* Out of every list, and freed. */
static void ctl_seen_forget(struct ctl *c, struct ctl_seen *s)
{
	struct ctl_seen **pp = &c->seen[ctl_seen_hash(s->nwid, s->address, c->seen_buckets)];
	struct ctl_net *n = s->net;

	while (*pp != s)
		pp = &(*pp)->next;
	*pp = s->next;
	*(s->net_prev ? &s->net_prev->net_next : &n->members) = s->net_next;
	if (s->net_next)
		s->net_next->net_prev = s->net_prev;
	ctl_net_free_if_empty(c, n);
	ctl_lru_unlink(c, s);
	c->n_seen--;
	ctl_cache_drop(&s->config);
	sodium_memzero(s, sizeof *s);
	free(s);
}

/* Forget members not heard from for CTL_ONLINE_MS once the store has
 * had their last request (all: every one, at stop, after the flush).
 * The list by last request holds the ones to forget at its front: a
 * prune visits those and the few still unsaved, not every member. */
void ctl_seen_prune(struct ctl *c, int64_t now, bool all)
{
	struct ctl_seen *s, *next;

	for (s = c->oldest; s && (all || now - s->last_request >= CTL_ONLINE_MS); s = next) {
		next = s->lru_next;
		if (all || !s->unsaved)
			ctl_seen_forget(c, s);
	}
	if (all) {
		free(c->seen);
		c->seen = NULL;
		c->seen_buckets = 0;
		c->unsaved = NULL;
	}
}

void ctl_prune_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ctl_seen_prune(w->data, ctl_now(), false);
}

/* Hand the store every last request it has not had (zt_store_seen). */
void ctl_seen_flush(struct ctl *c)
{
	struct zt_store_seen batch[256];
	struct ctl_seen *s, *next;
	size_t n = 0;
	int err;

	for (s = c->unsaved; s; s = next) {
		next = s->next_unsaved;
		s->next_unsaved = NULL;
		s->unsaved = false;
		batch[n++] = (struct zt_store_seen){ s->nwid, s->address, s->last_request };
		if (n < sizeof batch / sizeof batch[0] && next)
			continue;
		if ((err = zt_store_seen(c->store, batch, n)) < 0)
			zt_log(c->zi, ZT_LOG_WARN, "last seen of %zu members not stored: %s", n,
			       zt_store_error(c->store));
		n = 0;
	}
	c->unsaved = NULL;
}

void ctl_flush_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ctl_seen_flush(w->data);
}

static bool ctl_online(const struct ctl_seen *s, int64_t now)
{
	return now - s->last_request < CTL_ONLINE_MS;
}

/* ---- answering requests (§8.1) ---- */

/* The token of request metadata `a` ("token:<t>"), or NULL. */
static const char *ctl_meta_token(const struct zt_ncreq_meta *md)
{
	if (!md->token[0])
		return NULL;
	if (!strncmp(md->token, "token:", 6))
		return md->token[6] ? md->token + 6 : NULL;
	return md->token;
}

static bool ctl_token_ok(const struct zt_store_network *net, const char *token, int64_t now)
{
	json_t *tokens, *v;
	bool ok = false;

	if (!token)
		return false;
	tokens = json_loads(net->auth_tokens ? net->auth_tokens : "[null]", 0, NULL);
	v = json_object_get(tokens, token);
	if (json_is_integer(v))
		ok = json_integer_value(v) == 0 || json_integer_value(v) > now;
	else if (json_is_real(v))
		ok = json_real_value(v) == 0 || json_real_value(v) > (double)now;
	json_decref(tokens);
	return ok;
}

static void ctl_error(struct ctl *c, const struct zt_netconf_request *rq, unsigned code)
{
	int err;

	if (!rq)
		return;
	err = zt_core_netconf_error(c->core, rq, code);
	if (err < 0)
		zt_log(c->zi, ZT_LOG_DEBUG, "network %016" PRIx64 ": cannot answer an error: %s",
		       rq->nwid, strerror(-err));
}

/* Who is served: member id on nwid with its request's metadata; asked:
 * answering a request (now, rq, or later, after a write queued behind
 * others), else a push. */
struct ctl_ask {
	uint64_t nwid;
	const struct zt_identity *id;
	const uint8_t *meta;
	size_t meta_len;
	bool asked;
};

/* A config request's (or push's) write of its member with a store that
 * has commit_async: the config goes out after the COMMIT, so that an
 * address handed out is durable before the member hears of it. */
struct ctl_member_write {
	struct ctl_member_write *next;   /* in its batch */
	struct ctl *c;
	uint64_t nwid;
	struct zt_identity id;
	uint8_t meta[ZT_NCREQ_META_READ_MAX];
	size_t meta_len;
	bool asked;
	uint8_t *config;            /* sent once committed; NULL: nothing to send */
	size_t config_len;
	uint64_t changes[4];        /* what the save counted, undone on failure */
};

static void ctl_serve(struct ctl *c, const struct ctl_ask *q, const struct zt_netconf_request *rq);

/* A request's identity (public part) and metadata kept beyond the
 * request's call: the metadata's length kept. */
static size_t ctl_keep_request(struct zt_identity *id, uint8_t meta[ZT_NCREQ_META_READ_MAX],
			       const struct zt_identity *from, const uint8_t *from_meta, size_t len)
{
	*id = *from;
	id->has_private = false;
	sodium_memzero(id->priv, sizeof id->priv);
	if (len > ZT_NCREQ_META_READ_MAX)
		len = ZT_NCREQ_META_READ_MAX;
	if (len)
		memcpy(meta, from_meta, len);
	return len;
}

void ctl_member_write_free(struct ctl_member_write *mw)
{
	if (!mw)
		return;
	free(mw->config);
	sodium_memzero(mw, sizeof *mw);
	free(mw);
}

static struct ctl_member_write *ctl_member_write_new(struct ctl *c, const struct ctl_ask *q,
						     const uint8_t *config, size_t len)
{
	struct ctl_member_write *mw = calloc(1, sizeof *mw);

	if (!mw)
		return NULL;
	mw->c = c;
	mw->nwid = q->nwid;
	mw->meta_len = ctl_keep_request(&mw->id, mw->meta, q->id, q->meta, q->meta_len);
	mw->asked = q->asked;
	if (config && len) {
		if (!(mw->config = malloc(len))) {
			free(mw);
			return NULL;
		}
		memcpy(mw->config, config, len);
		mw->config_len = len;
	}
	return mw;
}

static void ctl_member_pending(struct ctl *c, uint64_t nwid, uint64_t address, bool pending)
{
	struct ctl_seen *s = ctl_seen_find(c, nwid, address);

	if (s)
		s->pending = pending;
}

/* A queued write's turn: serve it again on what is committed now. */
void ctl_member_write_run(struct ctl *c, struct ctl_member_write *mw)
{
	struct ctl_ask q = { mw->nwid, &mw->id, mw->meta, mw->meta_len, mw->asked };

	ctl_member_pending(c, mw->nwid, mw->id.address, false);
	c->member_turn = true;
	ctl_serve(c, &q, NULL);
	c->member_turn = false;
	ctl_member_write_free(mw);
}

/* mw's write is durable (err 0: its config goes out) or not (nothing
 * is sent: the member asks again). */
static void ctl_member_write_done(struct ctl *c, struct ctl_member_write *mw, int err)
{
	char a[11];

	ctl_member_pending(c, mw->nwid, mw->id.address, false);
	zt_address_fmt(mw->id.address, a);
	if (err) {
		zt_log(c->zi, ZT_LOG_WARN, "member %016" PRIx64 "/%s: not stored, no config sent: %s",
		       mw->nwid, a, zt_store_error(c->store));
		ctl_write_uncount(c, mw->changes);
		(*c->failures)++;
	} else if (mw->config && c->core && !c->stopping) {
		err = zt_core_netconf_push(c->core, mw->id.address, mw->nwid, mw->config, mw->config_len);
		if (err < 0)
			zt_log(c->zi, ZT_LOG_WARN, "member %016" PRIx64 "/%s: cannot send the config: %s",
			       mw->nwid, a, strerror(-err));
		else if (mw->asked)
			(*c->configs)++;
		else
			(*c->pushes)++;
	}
	ctl_member_write_free(mw);
}

/* Every write of the batch is done with err; the batch is freed. */
static void ctl_batch_finish(struct ctl_member_batch *b, int err)
{
	struct ctl_member_write *mw;

	while ((mw = b->head)) {
		b->head = mw->next;
		ctl_member_write_done(b->c, mw, err);
	}
	free(b);
}

/* The store's answer to the batch's COMMIT, from the loop. */
static void ctl_batch_committed(void *ctx, int err)
{
	struct ctl_member_batch *b = ctx;
	struct ctl *c = b->c;

	c->member_writing = NULL;
	ctl_batch_finish(b, err);
	ctl_write_next(c);
}

int ctl_batch_open(struct ctl *c)
{
	struct ctl_member_batch *b = calloc(1, sizeof *b);
	int err;

	if (!b)
		return -ENOMEM;
	if ((err = zt_store_begin(c->store)) < 0) {
		zt_log(c->zi, ZT_LOG_WARN, "members' writes: cannot begin a transaction: %s",
		       zt_store_error(c->store));
		free(b);
		return err;
	}
	b->c = c;
	b->tail = &b->head;
	c->batch = b;
	return 0;
}

void ctl_batch_close(struct ctl *c)
{
	struct ctl_member_batch *b = c->batch;
	int err;

	c->batch = NULL;
	if (!b->head || b->failed) {
		zt_store_rollback(c->store);
		ctl_batch_finish(b, -EIO);
		return;
	}
	c->member_writing = b;
	if ((err = zt_store_commit_async(c->store, ctl_batch_committed, b)) < 0) {
		c->member_writing = NULL;
		ctl_batch_finish(b, err);
		return;
	}
	zt_log(c->zi, ZT_LOG_DEBUG, "%zu members' writes in one COMMIT", b->n);
}

/* Save m (old NULL: new) for q in the open batch, config (if any) sent
 * once it is committed: 1, or a negative errno (logged; the batch's
 * transaction is then dropped). */
static int ctl_batch_add(struct ctl *c, const struct ctl_ask *q, const struct zt_store_member *old,
			 struct zt_store_member *m, const uint8_t *config, size_t len)
{
	struct ctl_member_batch *b = c->batch;
	struct ctl_member_write *mw = ctl_member_write_new(c, q, config, len);
	uint64_t before[4], after[4];
	int err;

	if (!mw)
		return -ENOMEM;
	ctl_write_counts(c, before);
	err = ctl_member_save(c, old, m);
	ctl_write_counts(c, after);
	for (int i = 0; i < 4; i++)
		mw->changes[i] = after[i] - before[i];
	if (err <= 0) {
		ctl_write_uncount(c, mw->changes);
		ctl_member_write_free(mw);
		b->failed = err < 0;
		return err < 0 ? err : -EINVAL;
	}
	*b->tail = mw;
	b->tail = &mw->next;
	b->n++;
	ctl_member_pending(c, q->nwid, q->id->address, true);
	{
		char a[11];

		zt_address_fmt(q->id->address, a);
		zt_log(c->zi, ZT_LOG_DEBUG, "member %016" PRIx64 "/%s: config waits for the COMMIT", q->nwid, a);
	}
	return 1;
}

/* Whether q's write must wait behind the writes under way (a store with
 * commit_async, no batch being filled, not q's own turn). */
static bool ctl_serve_must_queue(const struct ctl *c)
{
	return zt_store_can_wait(c->store) && !c->batch && !c->member_turn && ctl_writes_busy(c);
}

/* Queue q's write behind the others: served again, built and signed, at
 * its turn.  1, or a negative errno. */
static int ctl_serve_queue(struct ctl *c, const struct ctl_ask *q)
{
	struct ctl_seen *s = ctl_seen_find(c, q->nwid, q->id->address);
	struct ctl_member_write *mw;
	int err;

	/* one write per member at a time */
	if (s && s->pending)
		return 1;
	if (!(mw = ctl_member_write_new(c, q, NULL, 0)))
		return -ENOMEM;
	if ((err = ctl_write_enqueue_member(c, mw)) < 0) {
		ctl_member_write_free(mw);
		return err;
	}
	if (s)
		s->pending = true;
	return 1;
}

/* Save m (old NULL: new) for q: at once with a store without
 * commit_async, else in a transaction committed without the loop
 * waiting, config (if any) sent once it is durable: in the batch being
 * filled, or in one of its own when no write is under way.  0: saved or
 * unchanged, the caller answers now; 1: the write is pending (or queued
 * behind others, to be served again at its turn), the caller sends
 * nothing; or a negative errno (logged). */
static int ctl_serve_save(struct ctl *c, const struct ctl_ask *q, const struct zt_store_member *old,
			  struct zt_store_member *m, const uint8_t *config, size_t len)
{
	int err;

	if (!zt_store_can_wait(c->store)) {
		err = ctl_member_save(c, old, m);
		return err < 0 ? err : 0;
	}
	if (old && ctl_member_same(old, m))
		return 0;   /* nothing to write: answered from the cache */
	if (c->batch)
		return ctl_batch_add(c, q, old, m, config, len);
	if (ctl_serve_must_queue(c))
		return ctl_serve_queue(c, q);
	if ((err = ctl_batch_open(c)) < 0)
		return err;
	err = ctl_batch_add(c, q, old, m, config, len);
	ctl_batch_close(c);
	return err;
}

/* Answer a request (rq) or push a config (rq NULL) to q's member.
 * Pushes send nothing when the member may not have a config. */
static void ctl_serve(struct ctl *c, const struct ctl_ask *q, const struct zt_netconf_request *rq)
{
	uint64_t nwid = q->nwid;
	const struct zt_identity *id = q->id;
	struct zt_store_network net;
	struct zt_store_member old, m;
	struct zt_ncreq_meta md;
	struct zt_identity rec;
	struct ctl_signer sg = { c->address, ctl_sign, c };
	struct ctl_build b;
	struct ctl_seen *seen;
	struct zt_wr w;
	char a[11];
	bool is_new = false;
	int64_t now = ctl_now();
	int err;

	memset(&net, 0, sizeof net);
	memset(&old, 0, sizeof old);
	memset(&m, 0, sizeof m);
	/* built again from the store: what was cached goes */
	if ((seen = ctl_seen_find(c, nwid, id->address)))
		ctl_cache_drop(&seen->config);
	zt_address_fmt(id->address, a);
	memset(&md, 0, sizeof md);
	zt_ncreq_meta_parse(&md, q->meta, q->meta_len);

	err = zt_store_network_get(c->store, nwid, &net);
	if (err < 0) {
		if (err != -ENOENT)
			zt_log(c->zi, ZT_LOG_ERR, "network %016" PRIx64 ": %s", nwid, zt_store_error(c->store));
		if (rq)
			(*c->not_found)++;
		ctl_error(c, rq, ZT_ERR_OBJ_NOT_FOUND);
		return;
	}
	err = zt_store_member_get(c->store, nwid, id->address, &old);
	if (err == -ENOENT) {
		is_new = true;
		ctl_member_init(&m, nwid, id->address, now);
		if (ctl_member_default_caps(&m, &net) < 0) {
			ctl_error(c, rq, ZT_ERR_OBJ_NOT_FOUND);
			goto out;
		}
	} else if (err < 0 || zt_store_member_copy(&m, &old) < 0) {
		zt_log(c->zi, ZT_LOG_ERR, "member %016" PRIx64 "/%s: %s", nwid, a,
		       err < 0 ? zt_store_error(c->store) : strerror(ENOMEM));
		ctl_error(c, rq, ZT_ERR_OBJ_NOT_FOUND);
		goto out;
	}
	if (m.identity) {
		if (zt_identity_from_text(&rec, m.identity) < 0 || !zt_identity_equal(&rec, id)) {
			zt_log(c->zi, ZT_LOG_WARN, "member %016" PRIx64 "/%s: identity differs from the one on record",
			       nwid, a);
			if (rq)
				(*c->denied)++;
			ctl_error(c, rq, ZT_ERR_NETWORK_ACCESS_DENIED);
			goto out;
		}
	} else {
		char text[ZT_ID_TEXT_MAX];

		zt_identity_to_text(id, text, false);
		m.identity = strdup(text);
		if (!m.identity) {
			ctl_error(c, rq, ZT_ERR_OBJ_NOT_FOUND);
			goto out;
		}
	}
	/* recorded for members still waiting too, so that they show once
	 * authorized through the API */
	if (q->asked) {
		m.v_major = (int)md.majv;
		m.v_minor = (int)md.minv;
		m.v_rev = (int)md.revv;
		m.v_proto = (int)md.pv;
	}
	if (!m.authorized && q->asked) {
		const char *type = NULL, *token = ctl_meta_token(&md);

		if (!net.priv)
			type = "public";
		else if (ctl_token_ok(&net, token, now))
			type = "token";
		if (type) {
			free(m.auth_cred_type);
			free(m.auth_cred);
			m.authorized = true;
			m.last_authorized_time = now;
			m.auth_cred_type = strdup(type);
			m.auth_cred = !strcmp(type, "token") ? strdup(token) : NULL;
		}
	}
	if (!m.authorized) {
		if (q->asked) {
			/* the error goes out now: it hands out nothing */
			ctl_serve_save(c, q, is_new ? NULL : &old, &m, NULL, 0);
			if (rq)
				(*c->denied)++;
		}
		ctl_error(c, rq, ZT_ERR_NETWORK_ACCESS_DENIED);
		goto out;
	}
	if (is_new && ctl_serve_must_queue(c)) {
		/* a write for certain, behind others: built and signed once,
		 * at its turn, not now as well */
		if (ctl_serve_queue(c, q) < 0) {
			(*c->failures)++;
			ctl_error(c, rq, ZT_ERR_OBJ_NOT_FOUND);
		}
		goto out;
	}
	b.store = c->store;
	b.net = &net;
	b.member = &m;
	b.identity = id;
	b.revr = md.revr;
	b.now = now;
	b.signer = &sg;
	b.rules_buf = c->rules_buf;
	b.dns_service = ctl_dns_service_find(c, nwid);
	err = ctl_build_config(&b, c->nc);
	if (!err) {
		zt_wr_init(&w, c->dict, ZT_DICT_CONFIG_CAP - 1);
		err = zt_netconf_write(c->nc, &w);
	}
	if (err < 0) {
		zt_log(c->zi, ZT_LOG_ERR, "member %016" PRIx64 "/%s: cannot build a config: %s", nwid, a,
		       err == -EIO ? zt_store_error(c->store) : strerror(-err));
		(*c->failures)++;
		ctl_error(c, rq, ZT_ERR_OBJ_NOT_FOUND);
		goto out;
	}
	err = ctl_serve_save(c, q, is_new ? NULL : &old, &m, w.p, w.len);
	if (err < 0) {
		(*c->failures)++;
		ctl_error(c, rq, ZT_ERR_OBJ_NOT_FOUND);
		goto out;
	}
	if (err > 0)
		goto out;   /* sent once committed */
	if (rq) {
		err = zt_core_netconf_reply(c->core, rq, w.p, w.len);
		if (!err)
			(*c->configs)++;
	} else {
		err = zt_core_netconf_push(c->core, id->address, nwid, w.p, w.len);
		if (!err && q->asked)
			(*c->configs)++;
		else if (!err)
			(*c->pushes)++;
	}
	/* a repeat of the request is answered with the same bytes (a write
	 * of the member went before: what was built is what is stored) */
	if (!err && seen && seen->net)
		ctl_cache_put(&seen->config, w.p, w.len, seen->net->gen, md.revr, now);
	if (err < 0)
		zt_log(c->zi, ZT_LOG_WARN, "member %016" PRIx64 "/%s: cannot send the config: %s",
		       nwid, a, strerror(-err));
	else
		zt_log(c->zi, ZT_LOG_DEBUG, "member %016" PRIx64 "/%s: config %s (%zu bytes, %u IPs)",
		       nwid, a, rq ? "sent" : "pushed", w.len, c->nc->nips);
out:
	zt_store_network_clear(&net);
	zt_store_member_clear(&old);
	zt_store_member_clear(&m);
}

/* A repeated request (its answer lost, or a herd's retry) answered with
 * the config sent last, while nothing it was built from changed: no
 * store read, no signature.  True if answered. */
static bool ctl_cached_reply(struct ctl *c, struct ctl_seen *s, const struct zt_netconf_request *rq, int64_t now)
{
	struct zt_ncreq_meta md;
	const uint8_t *bytes;
	size_t len;

	if (!s->config.bytes)
		return false;
	memset(&md, 0, sizeof md);
	zt_ncreq_meta_parse(&md, s->meta, s->meta_len);
	if (!(bytes = ctl_cache_get(&s->config, s->net->gen, md.revr, now, &len)))
		return false;
	if (zt_core_netconf_reply(c->core, rq, bytes, len) < 0)
		return false;
	(*c->configs)++;
	(*c->cached)++;
	return true;
}

static void ctl_request(void *state, const struct zt_netconf_request *rq)
{
	struct ctl *c = state;
	struct ctl_seen *s;
	int64_t now = ctl_now();

	if (!c->store_open || zt_nwid_controller(rq->nwid) != c->address)
		return;
	(*c->requests)++;
	if (!zt_store_active(c->store)) {
		/* the active controller of the pair answers */
		(*c->standby)++;
		return;
	}
	s = ctl_seen_find(c, rq->nwid, rq->member->address);
	if (s && now - s->last_request >= 0 && now - s->last_request <= CTL_RATE_MS) {
		(*c->rate_limited)++;
		return;
	}
	if (!s && !(s = ctl_seen_add(c, rq->nwid, rq->member->address))) {
		zt_log(c->zi, ZT_LOG_ERR, "%s", strerror(ENOMEM));
		return;
	}
	s->last_request = now;
	ctl_lru_unlink(c, s);
	ctl_lru_append(c, s);
	if (!s->unsaved) {
		s->unsaved = true;
		s->next_unsaved = c->unsaved;
		c->unsaved = s;
	}
	if (!zt_identity_equal(&s->id, rq->member))
		ctl_cache_drop(&s->config);   /* built for the identity checked then */
	s->meta_len = ctl_keep_request(&s->id, s->meta, rq->member, rq->meta, rq->meta_len);
	if (s->pending) {
		/* its write is under way: answered when it is committed */
		(*c->rate_limited)++;
		return;
	}
	if (ctl_cached_reply(c, s, rq, now))
		return;
	ctl_serve(c, &(struct ctl_ask){ rq->nwid, &s->id, s->meta, s->meta_len, true }, rq);
}

/* 1.14's controller_* families (node/Metrics.cpp): the networks and
 * members served, and changes, authorizations and deauthorizations of
 * them through the API. */
static void ctl_metrics(void *state, FILE *f)
{
	struct ctl *c = state;
	uint64_t *ids = NULL;
	size_t n = 0, members = 0;

	if (zt_store_network_ids(c->store, &ids, &n) < 0)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		size_t total = 0, authorized;

		if (zt_store_member_count(c->store, ids[i], &total, &authorized) == 0)
			members += total;
	}
	free(ids);
	fprintf(f, "# HELP controller_network_count number of networks the controller is serving\n"
		"# TYPE controller_network_count gauge\ncontroller_network_count %zu\n"
		"# HELP controller_member_count number of network members the controller is serving\n"
		"# TYPE controller_member_count gauge\ncontroller_member_count %zu\n", n, members);
	fprintf(f, "# HELP controller_network_change_count number of times a network configuration is changed\n"
		"# TYPE controller_network_change_count counter\ncontroller_network_change_count %" PRIu64 "\n"
		"# HELP controller_member_change_count number of times a network member configuration is changed\n"
		"# TYPE controller_member_change_count counter\ncontroller_member_change_count %" PRIu64 "\n"
		"# HELP controller_member_auth_count number of network member auths\n"
		"# TYPE controller_member_auth_count counter\ncontroller_member_auth_count %" PRIu64 "\n"
		"# HELP controller_member_deauth_count number of network member deauths\n"
		"# TYPE controller_member_deauth_count counter\ncontroller_member_deauth_count %" PRIu64 "\n",
		*c->network_changes, *c->member_changes, *c->member_auths, *c->member_deauths);
}

const struct zt_controller_ops ctl_ops = {
	.request = ctl_request,
	.metrics = ctl_metrics,
};

/* ---- pushes and revocations (§8.4) ---- */

/* Push a fresh config to member (every online member of nwid if
 * member is 0). */
void ctl_push(struct ctl *c, uint64_t nwid, uint64_t member)
{
	struct ctl_seen *s, *next;
	struct ctl_net *n;
	int64_t now = ctl_now();

	/* the change is in the store, or about to be: the configs cached
	 * are stale now (and again after a deferred write's COMMIT, when
	 * this is called again, for those built in between) */
	if (member) {
		if ((s = ctl_seen_find(c, nwid, member)))
			ctl_cache_drop(&s->config);
	} else {
		ctl_net_changed(c, nwid);
	}
	if (!c->core || ctl_defer(c, false, nwid, member, 0, 0))
		return;
	if (member) {
		/* one member: found, not searched for among all of them */
		s = ctl_seen_find(c, nwid, member);
		if (s && ctl_online(s, now))
			ctl_serve(c, &(struct ctl_ask){ nwid, &s->id, s->meta, s->meta_len, false }, NULL);
		return;
	}
	if (!(n = ctl_net_find(c, nwid)))
		return;
	/* serving does not forget members: the list holds */
	for (s = n->members; s; s = next) {
		next = s->net_next;
		if (ctl_online(s, now))
			ctl_serve(c, &(struct ctl_ask){ nwid, &s->id, s->meta, s->meta_len, false }, NULL);
	}
}

/* Revoke target's COM on nwid at every online member of the network,
 * the target included. */
/* A revocation of target's credential (type, cred_id; the COM for type
 * ZT_CRED_COM) to every online member. */
void ctl_revoke_cred(struct ctl *c, uint64_t nwid, uint64_t target, uint8_t type, uint32_t cred_id)
{
	struct ctl_signer sg = { c->address, ctl_sign, c };
	uint8_t buf[CTL_REV_MAX];
	struct ctl_seen *s;
	struct ctl_net *n;
	int64_t now = ctl_now();
	uint32_t id;
	int len, err;
	char a[11];

	/* the member lost something, or the network went: no config cached
	 * for it may be answered again */
	ctl_net_changed(c, nwid);
	if (!c->core || ctl_defer(c, true, nwid, target, type, cred_id))
		return;
	randombytes_buf(&id, sizeof id);
	/* a tag or capability: up to just before now, since the receivers
	 * raise the COM threshold too (networks.md §5.6) and the member's new
	 * config, signed from now on, must pass */
	len = type == ZT_CRED_COM ? ctl_revocation(&sg, nwid, target, now, id, buf, sizeof buf) :
		ctl_cred_revocation(&sg, nwid, target, type, cred_id, now - 1, id, buf, sizeof buf);
	zt_address_fmt(target, a);
	if (len < 0) {
		zt_log(c->zi, ZT_LOG_ERR, "member %016" PRIx64 "/%s: cannot sign a revocation: %s",
		       nwid, a, strerror(-len));
		return;
	}
	(*c->revocations)++;
	for (s = (n = ctl_net_find(c, nwid)) ? n->members : NULL; s; s = s->net_next) {
		if (!ctl_online(s, now))
			continue;
		err = zt_core_credentials_send(c->core, s->address, buf, (size_t)len);
		if (err < 0)
			zt_log(c->zi, ZT_LOG_DEBUG, "revocation of %s to %010" PRIx64 ": %s",
			       a, s->address, strerror(-err));
	}
	if (type == ZT_CRED_COM)
		zt_log(c->zi, ZT_LOG_INFO, "member %016" PRIx64 "/%s: deauthorized, COM revoked", nwid, a);
	else
		zt_log(c->zi, ZT_LOG_INFO, "member %016" PRIx64 "/%s: %s %" PRIu32 " revoked", nwid, a,
		       type == ZT_CRED_TAG ? "tag" : "capability", cred_id);
}

void ctl_revoke(struct ctl *c, uint64_t nwid, uint64_t target)
{
	ctl_revoke_cred(c, nwid, target, ZT_CRED_COM, 0);
}

/* The u32 ids of a JSON array ([id] or [[id, value]]) not in another. */
static void ctl_revoke_missing(struct ctl *c, const struct zt_store_member *m, const char *was, const char *now,
			       uint8_t type)
{
	json_t *a = json_loads(was ? was : "[]", 0, NULL), *b = json_loads(now ? now : "[]", 0, NULL), *e, *f;
	size_t i, j;

	json_array_foreach(a, i, e) {
		json_int_t id = json_integer_value(json_is_array(e) ? json_array_get(e, 0) : e);
		bool kept = false;

		json_array_foreach(b, j, f)
			kept |= json_integer_value(json_is_array(f) ? json_array_get(f, 0) : f) == id;
		if (!kept)
			ctl_revoke_cred(c, m->nwid, m->address, type, (uint32_t)id);
	}
	json_decref(a);
	json_decref(b);
}

void ctl_revoke_dropped(struct ctl *c, const struct zt_store_member *old, const struct zt_store_member *m)
{
	ctl_revoke_missing(c, m, old->capabilities, m->capabilities, ZT_CRED_CAPABILITY);
	ctl_revoke_missing(c, m, old->tags, m->tags, ZT_CRED_TAG);
}

/* ---- changes made elsewhere (the other controller of a pair) ---- */

/* A network or member written by another writer of the store: push the
 * new configs, and revoke a member we served that may no longer be in. */
void ctl_store_changed(void *ctx, enum zt_store_change what, uint64_t nwid, uint64_t address)
{
	struct ctl *c = ctx;
	struct zt_store_member m;
	bool in = false;
	int err;

	memset(&m, 0, sizeof m);
	if (!c->store_open || !zt_store_active(c->store))
		return;
	if (what == ZT_STORE_NETWORK) {
		ctl_push(c, nwid, 0);
		return;
	}
	/* another writer's member may be a bridge now, or no longer one:
	 * every member's config may differ */
	ctl_net_changed(c, nwid);
	err = zt_store_member_get(c->store, nwid, address, &m);
	if (err == 0)
		in = m.authorized;
	zt_store_member_clear(&m);
	if (err < 0 && err != -ENOENT)
		return;
	if (!in && ctl_seen_find(c, nwid, address))
		ctl_revoke(c, nwid, address);
	ctl_push(c, nwid, address);
}

/* The standby of a pair is silent on the network: it shares the active
 * one's identity, and a member or root that found a path to it would
 * send it requests it does not answer.  Taking over, it announces itself
 * to the roots, which relay the address to it from then on. */
void ctl_store_active(void *ctx, bool active)
{
	struct ctl *c = ctx;

	/* the other controller may have written anything meanwhile */
	for (struct ctl_net *n = c->nets; n; n = n->next)
		n->gen++;
	if (c->core)
		zt_core_set_silent(c->core, !active);
	zt_log(c->zi, ZT_LOG_INFO, "%s: this controller is now %s", zt_inst_name(zt_store_inst(c->store)),
	       active ? "active: it answers members" : "standby: the other one answers members");
}
