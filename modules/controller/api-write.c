/* controller: /controller writes that wait for their COMMIT without the
 * loop waiting.  With a store that has commit_async (sqlite, postgres), a POST or
 * DELETE runs the API's own handler inside begin/commit_async: its puts
 * are gathered, its pushes and revocations kept, and the HTTP answer is
 * given once the store says the transaction is durable (then the kept
 * pushes go out) or failed (then nothing of it is reported).  Meanwhile
 * the loop serves packets, config requests and reads from the store's
 * cache.  Writes run one at a time, in arrival order: each is built on
 * what the previous one committed (revisions, IP assignments); the
 * config requests' writes (serve.c) queue here with them, and those
 * queued one after another share a transaction when the store's reads
 * see its open transaction (sqlite): one COMMIT for a herd of new
 * members, not one each. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"

#define CTL_STOPPING_JSON "{\"description\":\"the controller is stopping\",\"error\":503}"

struct ctl_after {
	bool revoke;                /* else push */
	uint64_t nwid, address;
	uint8_t type;               /* what a revocation revokes (ZT_CRED_COM, _TAG, ...) */
	uint32_t cred_id;
};

struct ctl_write {
	struct ctl_write *next;
	struct ctl *c;
	struct ctl_member_write *member;   /* a config request's, else an API write */
	struct zt_api_pending *p;
	char *method, *path, *body;
	size_t body_len;
	struct zt_api_response rs;  /* the answer once committed */
	struct ctl_after *after;    /* pushes and revocations once committed */
	size_t nafter, after_cap;
	uint64_t changes[4];        /* what the handler counted, undone on failure */
};

static void ctl_write_free(struct ctl_write *w)
{
	if (w->member)
		ctl_member_write_free(w->member);
	free(w->method);
	free(w->path);
	free(w->body);
	free(w->after);
	free(w);
}

/* ctl_push and ctl_revoke while a write's handler runs: kept for after
 * the COMMIT (a config built before it would not hold the change). */
bool ctl_defer(struct ctl *c, bool revoke, uint64_t nwid, uint64_t address, uint8_t type, uint32_t cred_id)
{
	struct ctl_write *w = c->deferring;

	if (!w)
		return false;
	if (w->nafter == w->after_cap) {
		size_t cap = w->after_cap ? w->after_cap * 2 : 4;
		struct ctl_after *v = realloc(w->after, cap * sizeof *v);

		if (!v) {
			zt_log(c->zi, ZT_LOG_ERR, "network %016" PRIx64 ": a push after the write is lost: %s",
			       nwid, strerror(ENOMEM));
			return true;
		}
		w->after = v;
		w->after_cap = cap;
	}
	w->after[w->nafter++] = (struct ctl_after){ revoke, nwid, address, type, cred_id };
	return true;
}

void ctl_write_counts(struct ctl *c, uint64_t v[4])
{
	v[0] = *c->network_changes;
	v[1] = *c->member_changes;
	v[2] = *c->member_auths;
	v[3] = *c->member_deauths;
}

void ctl_write_uncount(struct ctl *c, const uint64_t d[4])
{
	*c->network_changes -= d[0];
	*c->member_changes -= d[1];
	*c->member_auths -= d[2];
	*c->member_deauths -= d[3];
}

/* The store's error as the answer: 503 while the database is away, 504
 * when it did not COMMIT in time, else 500. */
static void ctl_write_error(struct ctl *c, struct zt_api_response *rs, int err)
{
	json_t *j = json_object();
	int status = err == -EAGAIN ? 503 : err == -ETIMEDOUT ? 504 : 500;

	(*c->api_errors)++;
	json_object_set_new(j, "error", json_integer(status));
	json_object_set_new(j, "description", json_string(zt_store_error(c->store)));
	rs->status = status;
	rs->body = json_dumps(j, CTL_JSON_FLAGS);
	json_decref(j);
}

static void ctl_write_done(void *ctx, int err)
{
	struct ctl_write *w = ctx;
	struct ctl *c = w->c;

	c->writing = NULL;
	if (err) {
		zt_log(c->zi, ZT_LOG_ERR, "%s %s: %s", w->method, w->path, zt_store_error(c->store));
		ctl_write_uncount(c, w->changes);
		free(w->rs.body);
		ctl_write_error(c, &w->rs, err);
	} else if (!c->stopping) {
		for (size_t i = 0; i < w->nafter; i++)
			if (w->after[i].revoke)
				ctl_revoke_cred(c, w->after[i].nwid, w->after[i].address, w->after[i].type,
						w->after[i].cred_id);
			else
				ctl_push(c, w->after[i].nwid, w->after[i].address);
	}
	zt_api_pending_done(w->p, w->rs.status, w->rs.body);
	ctl_write_free(w);
	ctl_write_next(c);
}

/* Run w's handler inside a transaction and commit it: ZT_API_PENDING
 * (w is the store's until ctl_write_done), or the answer in rs now (w
 * freed). */
static int ctl_write_run(struct ctl *c, struct ctl_write *w, struct zt_api_response *rs)
{
	struct zt_api_request rq = {
		.method = w->method, .path = w->path,
		.body = w->body ? w->body : "", .body_len = w->body_len,
	};
	uint64_t before[4], after[4];
	int ret, err;

	if ((err = zt_store_begin(c->store)) < 0) {
		ctl_write_error(c, rs, err);
		ctl_write_free(w);
		return 0;
	}
	ctl_write_counts(c, before);
	c->deferring = w;
	ret = ctl_api(c, &rq, &w->rs);
	c->deferring = NULL;
	ctl_write_counts(c, after);
	for (int i = 0; i < 4; i++)
		w->changes[i] = after[i] - before[i];
	if (ret < 0 || w->rs.status != 200) {
		/* refused before writing anything worth keeping */
		zt_store_rollback(c->store);
		*rs = w->rs;
		ctl_write_free(w);
		return ret;
	}
	c->writing = w;
	if ((err = zt_store_commit_async(c->store, ctl_write_done, w)) < 0) {
		c->writing = NULL;
		ctl_write_uncount(c, w->changes);
		free(w->rs.body);
		ctl_write_error(c, rs, err);
		ctl_write_free(w);
		return 0;
	}
	zt_log(c->zi, ZT_LOG_DEBUG, "%s %s: waiting for the COMMIT", w->method, w->path);
	return ZT_API_PENDING;
}

bool ctl_writes_busy(const struct ctl *c)
{
	return c->writing || c->member_writing || c->write_queue;
}

int ctl_write_enqueue_member(struct ctl *c, struct ctl_member_write *mw)
{
	struct ctl_write *w = calloc(1, sizeof *w);

	if (!w)
		return -ENOMEM;
	w->c = c;
	w->member = mw;
	*c->write_queue_tail = w;
	c->write_queue_tail = &w->next;
	return 0;
}

/* The members' writes at the head of the queue, in one transaction
 * (at most CTL_BATCH_MAX; one with a store whose reads do not see its
 * open transaction, each then built on what the previous committed). */
static void ctl_write_run_members(struct ctl *c)
{
	struct ctl_write *w;
	size_t n = 0;

	/* failing to open it, they go one by one, each in its own */
	if (zt_store_can_group(c->store))
		(void)ctl_batch_open(c);
	do {
		w = c->write_queue;
		if (!(c->write_queue = w->next))
			c->write_queue_tail = &c->write_queue;
		ctl_member_write_run(c, w->member);
		w->member = NULL;
		ctl_write_free(w);
	} while (c->batch && !c->batch->failed && ++n < CTL_BATCH_MAX && (w = c->write_queue) && w->member);
	if (c->batch)
		ctl_batch_close(c);
}

void ctl_write_next(struct ctl *c)
{
	struct ctl_write *w;
	struct zt_api_response rs;
	int ret;

	while (!c->writing && !c->member_writing && (w = c->write_queue)) {
		struct zt_api_pending *p = w->p;

		if (w->member && !c->stopping) {
			ctl_write_run_members(c);
			continue;
		}
		if (!(c->write_queue = w->next))
			c->write_queue_tail = &c->write_queue;
		if (c->stopping) {
			if (!p) {
				ctl_write_free(w);
				continue;
			}
			ctl_write_free(w);
			zt_api_pending_done(p, 503, strdup(CTL_STOPPING_JSON));
			continue;
		}
		rs = (struct zt_api_response){ 0, NULL };
		ret = ctl_write_run(c, w, &rs);
		if (ret == ZT_API_PENDING)
			continue;
		if (ret < 0)
			rs = (struct zt_api_response){ ret == -ENOENT ? 404 : 500, NULL };
		zt_api_pending_done(p, rs.status, rs.body);
	}
}

static struct ctl_write *ctl_write_new(struct ctl *c, const struct zt_api_request *rq,
				       struct zt_api_pending *p)
{
	struct ctl_write *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	w->c = c;
	w->p = p;
	w->method = strdup(rq->method);
	w->path = strdup(rq->path);
	w->body_len = rq->body_len;
	w->body = malloc(rq->body_len + 1);
	if (!w->method || !w->path || !w->body) {
		ctl_write_free(w);
		return NULL;
	}
	memcpy(w->body, rq->body, rq->body_len);
	w->body[rq->body_len] = 0;
	return w;
}

/* The API's handler (zt_api_async_handler): writes wait for the store
 * when it can say later; everything else is answered at once. */
int ctl_api_async(void *state, const struct zt_api_request *rq, struct zt_api_response *rs,
		  struct zt_api_pending *p)
{
	struct ctl *c = state;
	struct ctl_write *w;

	if (!p || !c->store || !c->store_open || !zt_store_can_wait(c->store) ||
	    !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD"))
		return ctl_api(state, rq, rs);
	if (c->stopping) {
		rs->status = 503;
		rs->body = strdup(CTL_STOPPING_JSON);
		return 0;
	}
	if (!(w = ctl_write_new(c, rq, p)))
		return -ENOMEM;
	if (ctl_writes_busy(c)) {
		*c->write_queue_tail = w;
		c->write_queue_tail = &w->next;
		return ZT_API_PENDING;
	}
	return ctl_write_run(c, w, rs);
}

/* Stopping: the store's close calls back what is in flight; what waits
 * behind it is answered 503. */
void ctl_writes_stop(struct ctl *c)
{
	c->stopping = true;
	ctl_write_next(c);
}
