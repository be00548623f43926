/* The postgres store module (zt-store-postgres(7)): the controller's
 * networks and members in PostgreSQL, through libpq.
 *
 * Reads are served from a cache of the whole database kept in memory
 * (cache.h) and never touch the database: a config request is answered
 * from it, also while the database is away.  A database thread
 * (worker.c) keeps the cache current: a snapshot after every
 * (re)connection, and the rows others change, which triggers announce
 * with NOTIFY.  Writes are the store interface's promise, durable when
 * they return: the loop hands them to the thread and waits for their
 * COMMIT (at most write-timeout; at once -EAGAIN when the database is
 * away), or, through commit_async, is called back when it returns and
 * does not wait.  Last-seen times are queued and written by the thread in
 * batches.  Two controllers with one identity on one database are a
 * pair: the one whose session holds pg_try_advisory_lock(<controller
 * address>) is active. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <zt/module.h>
#include <zt/store.h>

#include "postgres.h"

/* Last-seen times queued for the database at most (24 bytes each). */
#define PG_SEEN_MAX (1u << 20)

/* "host=... dbname=..." without password: for every message. */
static void pg_redact(const char *conninfo, char *out, size_t len)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	size_t used = 0;

	out[0] = '\0';
	if (!opts) {
		snprintf(out, len, "(a conninfo libpq cannot parse)");
		return;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !strcmp(o->keyword, "password"))
			continue;
		used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%s=%s",
					 used ? " " : "", o->keyword, o->val);
	}
	PQconninfoFree(opts);
}

/* ---- events from the thread ---- */

/* Tell the user: later, from the async watcher, so that a callback never
 * runs inside one of the user's own calls into the store. */
static void pg_note(struct pg *s, enum zt_store_change what, uint64_t nwid, uint64_t addr,
		    bool is_active, bool active)
{
	struct pg_note *n;

	if (s->nnotes == s->notes_cap) {
		size_t cap = s->notes_cap ? s->notes_cap * 2 : 16;
		struct pg_note *v = realloc(s->notes, cap * sizeof *v);

		if (!v) {
			zt_log(s->zi, ZT_LOG_ERR, "change of %016" PRIx64 " not passed on: %s",
			       nwid, strerror(ENOMEM));
			return;
		}
		s->notes = v;
		s->notes_cap = cap;
	}
	n = &s->notes[s->nnotes++];
	*n = (struct pg_note){ .what = what, .nwid = nwid, .address = addr,
			       .is_active = is_active, .active = active };
	ev_async_send(s->loop, &s->wake);
}

static void pg_changed(struct pg *s, enum zt_store_change what, uint64_t nwid, uint64_t addr)
{
	pg_note(s, what, nwid, addr, false, false);
}

static void pg_notes_flush(struct pg *s)
{
	/* a callback may call the store, which may add notes */
	for (size_t i = 0; i < s->nnotes; i++) {
		struct pg_note n = s->notes[i];

		if (n.is_active && s->user.active)
			s->user.active(s->user.ctx, n.active);
		else if (!n.is_active && s->user.changed)
			s->user.changed(s->user.ctx, n.what, n.nwid, n.address);
	}
	s->nnotes = 0;
}

/* A new snapshot: every network in the old or the new cache may have
 * changed while the thread was not listening. */
static void pg_take_snapshot(struct pg *s, struct pg_cache *c)
{
	struct pg_cache old = s->cache;
	bool first = !s->loaded;

	s->cache = *c;
	free(c);
	s->loaded = true;
	if (!first) {
		for (size_t i = 0; i < old.n; i++)
			if (!pg_cache_net(&s->cache, old.nets[i].n.id))
				pg_changed(s, ZT_STORE_NETWORK, old.nets[i].n.id, 0);
		for (size_t i = 0; i < s->cache.n; i++)
			pg_changed(s, ZT_STORE_NETWORK, s->cache.nets[i].n.id, 0);
	}
	pg_cache_free(&old);
}

/* Last seen only grows, and the cache may hold a newer one than the
 * database's (seen() batches); a put leaves it alone. */
static void pg_keep_last_seen(struct pg *s, struct pg_event *e)
{
	const struct zt_store_member *old = pg_cache_member(&s->cache, e->nwid, e->address);
	int64_t kept = old ? old->last_seen : 0;

	if (e->own || kept > e->m.last_seen)
		e->m.last_seen = kept;
}

static void pg_apply(struct pg *s, struct pg_event *e)
{
	switch (e->kind) {
	case PG_EV_SNAPSHOT:
		pg_take_snapshot(s, e->cache);
		e->cache = NULL;
		zt_log(s->zi, ZT_LOG_INFO, "%s: %zu networks loaded", s->where, s->cache.n);
		break;
	case PG_EV_NET:
		if (pg_cache_put_net(&s->cache, &e->n) == 0 && !e->own)
			pg_changed(s, ZT_STORE_NETWORK, e->nwid, 0);
		break;
	case PG_EV_NET_GONE:
		if (pg_cache_del_net(&s->cache, e->nwid) == 0 && !e->own)
			pg_changed(s, ZT_STORE_NETWORK, e->nwid, 0);
		break;
	case PG_EV_MEMBER:
		pg_keep_last_seen(s, e);
		if (pg_cache_put_member(&s->cache, &e->m) == 0 && !e->own)
			pg_changed(s, ZT_STORE_MEMBER, e->nwid, e->address);
		break;
	case PG_EV_MEMBER_GONE:
		if (pg_cache_del_member(&s->cache, e->nwid, e->address) == 0 && !e->own)
			pg_changed(s, ZT_STORE_MEMBER, e->nwid, e->address);
		break;
	case PG_EV_ACTIVE:
		if (s->active == e->active)
			break;
		s->active = e->active;
		zt_log(s->zi, ZT_LOG_INFO, "%s: %s", s->where, e->active ?
		       "active: this controller holds the pair's lock" :
		       "standby: another controller holds the pair's lock");
		pg_note(s, (enum zt_store_change)0, 0, 0, true, e->active);
		break;
	case PG_EV_LOG:
		zt_log(s->zi, (enum zt_log_level)e->level, "%s", e->msg);
		break;
	}
}

static void pg_event_free(struct pg_event *e)
{
	zt_store_network_clear(&e->n);
	zt_store_member_clear(&e->m);
	if (e->cache) {
		pg_cache_free(e->cache);
		free(e->cache);
	}
	free(e);
}

/* Apply what the thread posted, in order. */
static void pg_drain(struct pg *s)
{
	struct pg_event *e, *next;

	pthread_mutex_lock(&s->mu);
	e = s->events;
	s->events = NULL;
	s->events_tail = &s->events;
	pthread_mutex_unlock(&s->mu);
	for (; e; e = next) {
		next = e->next;
		pg_apply(s, e);
		pg_event_free(e);
	}
}

static void pg_async_complete(struct pg *s);

static void pg_wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	pg_async_complete(w->data);
	pg_notes_flush(w->data);
}

/* ---- writes ---- */

static struct pg_job *pg_job_new(void)
{
	return calloc(1, sizeof(struct pg_job));
}

static struct pg_op *pg_job_add(struct pg_job *j)
{
	if (j->nops == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 4;
		struct pg_op *v = realloc(j->ops, cap * sizeof *v);

		if (!v)
			return NULL;
		j->ops = v;
		j->cap = cap;
	}
	memset(&j->ops[j->nops], 0, sizeof j->ops[0]);
	return &j->ops[j->nops++];
}

/* A write while the thread is not connected: -EAGAIN, and why. */
static int pg_unreachable(struct pg *s)
{
	if (s->fatal)
		snprintf(s->err, sizeof s->err, "%s", s->fatal_msg);
	else
		snprintf(s->err, sizeof s->err, "%s: the database is unreachable (reconnecting)", s->where);
	return -EAGAIN;
}

/* Hand the job to the thread and wait for its COMMIT: its result, or
 * -ETIMEDOUT when the loop gave up waiting (the thread then owns j). */
static int pg_submit(struct pg *s, struct pg_job *j)
{
	struct timespec ts;
	int err;

	pthread_mutex_lock(&s->mu);
	if (!s->connected) {
		pthread_mutex_unlock(&s->mu);
		return pg_unreachable(s);
	}
	*s->jobs_tail = j;
	s->jobs_tail = &j->next;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pg_kick(s);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(s->write_timeout_ms / 1000);
	ts.tv_nsec += (long)(s->write_timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->mu);
	while (!j->done)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
			break;
	if (!j->done) {
		j->abandoned = true;
		pthread_mutex_unlock(&s->mu);
		snprintf(s->err, sizeof s->err, "%s: no answer in %" PRIu64 " ms", s->where,
			 s->write_timeout_ms);
		return -ETIMEDOUT;
	}
	pthread_mutex_unlock(&s->mu);
	err = j->err;
	if (err)
		snprintf(s->err, sizeof s->err, "%s: %s", s->where, j->msg);
	return err;
}

/* Run j now, or keep it for commit inside begin/commit. */
static int pg_write(struct pg *s, struct pg_job *j)
{
	int err;

	if (s->depth) {
		for (size_t i = 0; i < j->nops; i++)
			if (!pg_job_add(s->group)) {
				pg_job_free(j);
				s->group_failed = true;
				return -ENOMEM;
			} else {
				s->group->ops[s->group->nops - 1] = j->ops[i];
			}
		j->nops = 0;
		pg_job_free(j);
		return 0;
	}
	err = pg_submit(s, j);
	if (err == -ETIMEDOUT)
		return -EIO;  /* abandoned: the thread frees it */
	/* the thread queued the written objects at the COMMIT, after what
	 * it read before and before what it read since: a read that
	 * follows sees this write, and nothing newer goes under it */
	if (!err)
		pg_drain(s);
	pg_job_free(j);
	return err;
}

/* ---- writes that call back (commit_async) ---- */

static void pg_inflight_unlink(struct pg *s, struct pg_job *j)
{
	for (struct pg_job **p = &s->inflight; *p; p = &(*p)->inflight_next)
		if (*p == j) {
			*p = j->inflight_next;
			j->inflight_next = NULL;
			return;
		}
}

/* j's outcome to its user; err and s->err say it. */
static void pg_async_call(struct pg *s, struct pg_job *j, int err)
{
	void (*cb)(void *, int) = j->cb;
	void *ctx = j->cb_ctx;

	ev_timer_stop(s->loop, &j->timeout);
	if (err && err != -ETIMEDOUT)
		snprintf(s->err, sizeof s->err, "%s: %s", s->where, j->msg);
	pg_job_free(j);
	cb(ctx, err);
}

/* The jobs the thread is done with, called back in submission order
 * after the cache took what they wrote: the done flags are read before
 * the events are drained, and a job's objects are queued before its
 * done is set, so a caller sees its own write in the cache. */
static void pg_async_complete(struct pg *s)
{
	struct pg_job *done = NULL, **tail = &done, *j;

	pthread_mutex_lock(&s->mu);
	for (struct pg_job **p = &s->inflight; *p;) {
		j = *p;
		if (j->done) {
			*p = j->inflight_next;
			j->inflight_next = NULL;
			*tail = j;
			tail = &j->inflight_next;
		} else {
			p = &j->inflight_next;
		}
	}
	pthread_mutex_unlock(&s->mu);
	pg_drain(s);
	while ((j = done)) {
		done = j->inflight_next;
		pg_async_call(s, j, j->err);
	}
}

/* No COMMIT within write-timeout: a job the thread has not taken yet is
 * withdrawn (never written); one it is running is left to it, and may
 * still be committed. */
static void pg_async_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pg_job *j = w->data;
	struct pg *s = j->store;
	void (*cb)(void *, int) = j->cb;
	void *ctx = j->cb_ctx;
	bool queued = false;

	pthread_mutex_lock(&s->mu);
	if (j->done) {
		/* the wakeup is on its way: pg_async_complete */
		pthread_mutex_unlock(&s->mu);
		return;
	}
	for (struct pg_job **p = &s->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			if (!*p)
				s->jobs_tail = p;
			queued = true;
			break;
		}
	pg_inflight_unlink(s, j);
	if (!queued)
		j->abandoned = true;   /* the thread frees it: j is not ours from here */
	pthread_mutex_unlock(&s->mu);
	snprintf(s->err, sizeof s->err, "%s: no COMMIT in %" PRIu64 " ms: %s", s->where,
		 s->write_timeout_ms, queued ? "not written" :
		 "the write was sent and may still be committed");
	if (queued)
		pg_async_call(s, j, -ETIMEDOUT);
	else
		cb(ctx, -ETIMEDOUT);
}

static int pg_commit_async(void *state, void (*cb)(void *ctx, int err), void *ctx)
{
	struct pg *s = state;
	struct pg_job *j;

	if (s->depth != 1) {
		snprintf(s->err, sizeof s->err, "commit_async: not the outermost transaction");
		return -EINVAL;
	}
	s->depth = 0;
	j = s->group;
	s->group = NULL;
	if (s->group_failed) {
		pg_job_free(j);
		return -EIO;
	}
	j->async = true;
	j->cb = cb;
	j->cb_ctx = ctx;
	j->store = s;
	ev_timer_init(&j->timeout, pg_async_timeout, (double)s->write_timeout_ms / 1000., 0.);
	j->timeout.data = j;
	pthread_mutex_lock(&s->mu);
	if (!j->nops) {
		j->done = true;   /* nothing to write: called back from the loop */
	} else if (!s->connected) {
		pthread_mutex_unlock(&s->mu);
		pg_job_free(j);
		return pg_unreachable(s);
	} else {
		*s->jobs_tail = j;
		s->jobs_tail = &j->next;
	}
	pthread_mutex_unlock(&s->mu);
	/* in submission order */
	{
		struct pg_job **p = &s->inflight;

		while (*p)
			p = &(*p)->inflight_next;
		*p = j;
	}
	ev_timer_start(s->loop, &j->timeout);
	if (j->nops)
		pg_kick(s);
	else
		ev_async_send(s->loop, &s->wake);
	return 0;
}

static int pg_begin(void *state)
{
	struct pg *s = state;

	if (s->depth++)
		return 0;
	s->group_failed = false;
	if (!(s->group = pg_job_new())) {
		s->depth = 0;
		return -ENOMEM;
	}
	return 0;
}

static int pg_commit(void *state)
{
	struct pg *s = state;
	struct pg_job *j;

	if (!s->depth)
		return -EINVAL;
	if (--s->depth)
		return s->group_failed ? -EIO : 0;
	j = s->group;
	s->group = NULL;
	if (s->group_failed) {
		pg_job_free(j);
		return -EIO;
	}
	return pg_write(s, j);
}

static void pg_rollback(void *state)
{
	struct pg *s = state;

	if (!s->depth)
		return;
	s->group_failed = true;
	if (--s->depth)
		return;
	pg_job_free(s->group);
	s->group = NULL;
}

static int pg_network_put(void *state, const struct zt_store_network *n)
{
	struct pg_job *j = pg_job_new();
	struct pg_op *op = j ? pg_job_add(j) : NULL;

	if (!op || zt_store_network_copy(&op->n, n) < 0) {
		pg_job_free(j);
		return -ENOMEM;
	}
	op->kind = PG_OP_NET_PUT;
	return pg_write(state, j);
}

static int pg_network_delete(void *state, uint64_t id)
{
	struct pg_job *j = pg_job_new();
	struct pg_op *op = j ? pg_job_add(j) : NULL;

	if (!op) {
		pg_job_free(j);
		return -ENOMEM;
	}
	op->kind = PG_OP_NET_DEL;
	op->nwid = id;
	return pg_write(state, j);
}

static int pg_member_put(void *state, const struct zt_store_member *m)
{
	struct pg *s = state;
	const struct zt_store_member *base;
	struct pg_job *j;
	struct pg_op *op;

	if (s->loaded && !s->depth && !pg_cache_net(&s->cache, m->nwid)) {
		snprintf(s->err, sizeof s->err, "no network %016" PRIx64, m->nwid);
		return -ENOENT;
	}
	j = pg_job_new();
	op = j ? pg_job_add(j) : NULL;
	if (!op || zt_store_member_copy(&op->m, m) < 0) {
		pg_job_free(j);
		return -ENOMEM;
	}
	op->kind = PG_OP_MEM_PUT;
	if ((base = pg_cache_member(&s->cache, m->nwid, m->address))) {
		if (zt_store_member_copy(&op->base, base) < 0) {
			pg_job_free(j);
			return -ENOMEM;
		}
		op->has_base = true;
	}
	return pg_write(s, j);
}

static int pg_member_delete(void *state, uint64_t nwid, uint64_t address)
{
	struct pg_job *j = pg_job_new();
	struct pg_op *op = j ? pg_job_add(j) : NULL;

	if (!op) {
		pg_job_free(j);
		return -ENOMEM;
	}
	op->kind = PG_OP_MEM_DEL;
	op->nwid = nwid;
	op->address = address;
	return pg_write(state, j);
}

static int pg_seen(void *state, const struct zt_store_seen *v, size_t n)
{
	struct pg *s = state;
	struct zt_store_member *m;

	for (size_t i = 0; i < n; i++)
		if ((m = pg_cache_member(&s->cache, v[i].nwid, v[i].address)) && m->last_seen < v[i].time)
			m->last_seen = v[i].time;
	pthread_mutex_lock(&s->mu);
	if (s->nseen + n > PG_SEEN_MAX) {
		/* the database has been away long: last seen is advisory,
		 * and the cache keeps the newest for the API */
		snprintf(s->err, sizeof s->err, "%s: %zu last-seen times queued already", s->where, s->nseen);
		pthread_mutex_unlock(&s->mu);
		return -ENOBUFS;
	}
	if (s->nseen + n > s->seen_cap) {
		size_t cap = (s->nseen + n) * 2;
		struct zt_store_seen *nv = realloc(s->seen, cap * sizeof *nv);

		if (!nv) {
			pthread_mutex_unlock(&s->mu);
			return -ENOMEM;
		}
		s->seen = nv;
		s->seen_cap = cap;
	}
	memcpy(s->seen + s->nseen, v, n * sizeof *v);
	s->nseen += n;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* ---- reads, from the cache ---- */

/* Reads before the first snapshot: the database has not been reached
 * (or its snapshot is still in the queue: a user that does not run the
 * loop, like zt-import, takes it here). */
static int pg_unloaded(struct pg *s)
{
	pg_drain(s);
	if (s->loaded)
		return 0;
	snprintf(s->err, sizeof s->err, "%s: not loaded yet (the database is unreachable)", s->where);
	return -EAGAIN;
}

static int pg_network_get(void *state, uint64_t id, struct zt_store_network *out)
{
	struct pg *s = state;
	struct pg_net *net;

	if (!s->loaded && pg_unloaded(s) < 0)
		return -EAGAIN;
	if (!(net = pg_cache_net(&s->cache, id)))
		return -ENOENT;
	return zt_store_network_copy(out, &net->n);
}

static int pg_network_ids(void *state, uint64_t **ids, size_t *n)
{
	struct pg *s = state;
	uint64_t *v = NULL;

	if (!s->loaded && pg_unloaded(s) < 0)
		return -EAGAIN;
	if (s->cache.n && !(v = malloc(s->cache.n * sizeof *v)))
		return -ENOMEM;
	for (size_t i = 0; i < s->cache.n; i++)
		v[i] = s->cache.nets[i].n.id;
	*ids = v;
	*n = s->cache.n;
	return 0;
}

static int pg_member_get(void *state, uint64_t nwid, uint64_t address, struct zt_store_member *out)
{
	struct pg *s = state;
	struct zt_store_member *m;

	if (!s->loaded && pg_unloaded(s) < 0)
		return -EAGAIN;
	if (!(m = pg_cache_member(&s->cache, nwid, address)))
		return -ENOENT;
	return zt_store_member_copy(out, m);
}

static int pg_member_each(void *state, uint64_t nwid,
			  int (*fn)(void *ctx, const struct zt_store_member *m), void *ctx)
{
	struct pg *s = state;
	struct pg_net *net;
	int err;

	if (!s->loaded && pg_unloaded(s) < 0)
		return -EAGAIN;
	if (!(net = pg_cache_net(&s->cache, nwid)))
		return 0;
	for (size_t i = 0; i < net->nmems; i++)
		if ((err = fn(ctx, &net->mems[i])))
			return err;
	return 0;
}

static int pg_member_count(void *state, uint64_t nwid, size_t *total, size_t *authorized)
{
	struct pg *s = state;
	struct pg_net *net;
	size_t a = 0;

	if (!s->loaded && pg_unloaded(s) < 0)
		return -EAGAIN;
	net = pg_cache_net(&s->cache, nwid);
	for (size_t i = 0; net && i < net->nmems; i++)
		a += net->mems[i].authorized;
	*total = net ? net->nmems : 0;
	*authorized = a;
	return 0;
}

static int pg_ip_holder(void *state, uint64_t nwid, const char *ip, uint64_t *address)
{
	struct pg *s = state;

	if (!s->loaded && pg_unloaded(s) < 0)
		return -EAGAIN;
	return pg_cache_ip_holder(&s->cache, nwid, ip, address);
}

static const char *pg_error(const void *state)
{
	return ((const struct pg *)state)->err;
}

static bool pg_active(void *state)
{
	return ((struct pg *)state)->active;
}

/* ---- open and close ---- */

static void pg_close(void *state)
{
	struct pg *s = state;

	if (!s->open)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pg_kick(s);
	pthread_join(s->thread, NULL);
	s->thread_running = false;
	/* the thread answered every job it had: call them back */
	pg_async_complete(s);
	ev_async_stop(s->loop, &s->wake);
	pg_job_free(s->group);
	s->group = NULL;
	s->depth = 0;
	pg_cache_free(&s->cache);
	free(s->notes);
	s->notes = NULL;
	s->nnotes = s->notes_cap = 0;
	s->loaded = s->active = false;
	s->open = false;
}

static int pg_open(void *state, struct ev_loop *loop, const struct zt_store_user *user,
		   char *err, size_t errlen)
{
	struct pg *s = state;
	struct timespec ts;
	int rc;

	if (s->open) {
		snprintf(err, errlen, "%s: already open", zt_inst_name(s->zi));
		return -EBUSY;
	}
	s->loop = loop;
	s->user = *user;
	s->stopping = s->fatal = s->attempted = s->connected = false;
	ev_async_init(&s->wake, pg_wake_cb);
	s->wake.data = s;
	ev_async_start(loop, &s->wake);
	if ((rc = pthread_create(&s->thread, NULL, pg_worker, s)) != 0) {
		ev_async_stop(loop, &s->wake);
		snprintf(err, errlen, "%s: thread: %s", zt_inst_name(s->zi), strerror(rc));
		return -rc;
	}
	s->thread_running = s->open = true;
	/* wait for the first attempt (libpq's connect_timeout bounds it): a
	 * database that is only unreachable is retried in the background,
	 * one whose schema is too new is refused here */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += 30;
	pthread_mutex_lock(&s->mu);
	while (!s->attempted)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
			break;
	rc = s->fatal ? -EPROTO : 0;
	if (rc)
		snprintf(err, errlen, "%s", s->fatal_msg);
	pthread_mutex_unlock(&s->mu);
	pg_drain(s);
	if (rc)
		pg_close(s);
	return rc;
}

/* ---- the module ---- */

static int pg_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	struct pg *s = calloc(1, sizeof *s);
	const char *ci = zt_conf_str(conf, "conninfo");
	PQconninfoOption *parsed;
	pthread_condattr_t ca;

	if (!s)
		return -ENOMEM;
	s->zi = zi;
	if (!(s->conninfo = strdup(ci))) {
		free(s);
		return -ENOMEM;
	}
	if (!(parsed = PQconninfoParse(ci, NULL))) {
		zt_node_error(zt_node_get(conf, "conninfo"), "not a libpq connection string or URI");
		free(s->conninfo);
		free(s);
		return -EINVAL;
	}
	PQconninfoFree(parsed);
	pg_redact(ci, s->where, sizeof s->where);
	s->write_timeout_ms = zt_conf_duration_ms(conf, "write-timeout");
	s->seen_interval_ms = zt_conf_duration_ms(conf, "seen-interval");
	if (!s->seen_interval_ms)
		s->seen_interval_ms = 1;
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wake_fd < 0) {
		free(s->conninfo);
		free(s);
		return -errno;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	s->jobs_tail = &s->jobs;
	s->events_tail = &s->events;
	*state = s;
	return 0;
}

static int pg_start(void *state, struct ev_loop *loop)
{
	return 0;
}

static void pg_stop(void *state)
{
	pg_close(state);
}

static void pg_destroy(void *state)
{
	struct pg *s = state;

	pg_close(s);
	close(s->wake_fd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->seen);
	free(s->conninfo);
	free(s);
}

static const struct zt_opt pg_opts[] = {
	ZT_OPT_STR_REQ("conninfo", "libpq connection string or URI (host=... dbname=...)"),
	ZT_OPT_DURATION("write-timeout", "10s", "longest wait for a write's COMMIT"),
	ZT_OPT_DURATION("seen-interval", "5s", "how often members' last-seen times are written"),
	ZT_OPT_END
};

static const struct zt_store_ops pg_ops = {
	.open = pg_open, .close = pg_close, .error = pg_error,
	.begin = pg_begin, .commit = pg_commit, .rollback = pg_rollback,
	.network_get = pg_network_get, .network_put = pg_network_put,
	.network_delete = pg_network_delete, .network_ids = pg_network_ids,
	.member_get = pg_member_get, .member_put = pg_member_put,
	.member_delete = pg_member_delete, .member_each = pg_member_each,
	.member_count = pg_member_count, .ip_holder = pg_ip_holder,
	.seen = pg_seen, .active = pg_active, .commit_async = pg_commit_async,
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI, .name = "postgres", .kind = ZT_STORE,
	.summary = "the controller's networks and members in PostgreSQL (libpq), for one or a pair of controllers",
	.opts = pg_opts,
	.create = pg_create, .start = pg_start, .stop = pg_stop, .destroy = pg_destroy,
	.ops.store = &pg_ops,
};
