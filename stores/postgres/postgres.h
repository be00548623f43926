/* The postgres store: what its loop side (postgres.c) and its database
 * thread (worker.c) share.
 *
 * The thread owns the one libpq connection: it connects (retrying with
 * backoff), migrates the schema, loads the whole database into a cache
 * for the loop, holds the pair's advisory lock when it can, LISTENs for
 * changes made by others, runs the loop's writes (jobs) and flushes the
 * batched last-seen times.  It tells the loop what happened through a
 * queue of events and an ev_async.  Everything under mu.
 *
 * The queue is the cache's only way in, in the order the thread saw the
 * database: a job's objects are queued when its COMMIT returns, before
 * any row the thread re-reads afterwards, so that the cache never goes
 * back over another writer's newer copy (of a member's IPs, say). */
#ifndef ZT_STORES_POSTGRES_H
#define ZT_STORES_POSTGRES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <ev.h>
#include <libpq-fe.h>
#include <zt/store.h>

#include "cache.h"

enum pg_op_kind { PG_OP_NET_PUT = 1, PG_OP_NET_DEL, PG_OP_MEM_PUT, PG_OP_MEM_DEL };

/* One write: the object (put) or its key (delete).  A member put
 * carries the cache's copy it replaces (base): the database row is
 * replaced whole only while it is still that copy; else only the fields
 * the write changed are written (worker.c). */
struct pg_op {
	enum pg_op_kind kind;
	struct zt_store_network n;
	struct zt_store_member m, base;
	bool has_base;
	uint64_t nwid, address;
};

/* Writes committed together; the loop waits for done, or (commit_async)
 * is woken when done is set and calls back. */
struct pg_job {
	struct pg_job *next;
	struct pg_op *ops;
	size_t nops, cap;
	bool done;
	bool abandoned;             /* the loop gave up waiting: the thread frees it */
	int err;
	char msg[512];
	/* commit_async's, the loop's own */
	bool async;                 /* the thread wakes the loop when done */
	void (*cb)(void *ctx, int err);
	void *cb_ctx;
	ev_timer timeout;           /* write-timeout */
	struct pg *store;
	struct pg_job *inflight_next;
};

enum pg_event_kind {
	PG_EV_SNAPSHOT = 1,         /* cache: the whole database */
	PG_EV_NET,                  /* n: written by someone else, or own */
	PG_EV_NET_GONE,             /* nwid */
	PG_EV_MEMBER,               /* m */
	PG_EV_MEMBER_GONE,          /* nwid, address */
	PG_EV_ACTIVE,               /* active */
	PG_EV_LOG,                  /* level, msg */
};

struct pg_event {
	struct pg_event *next;
	enum pg_event_kind kind;
	bool own;                   /* this store's own write, committed: no callback */
	struct pg_cache *cache;
	struct zt_store_network n;
	struct zt_store_member m;
	uint64_t nwid, address;
	bool active;
	int level;
	char msg[512];
};

/* A callback owed to the user. */
struct pg_note {
	enum zt_store_change what;
	uint64_t nwid, address;
	bool is_active, active;
};

struct pg {
	struct zt_inst *zi;
	char *conninfo;
	char where[256];            /* conninfo without its password, for messages */
	uint64_t write_timeout_ms, seen_interval_ms;

	/* the loop's side */
	struct ev_loop *loop;
	struct zt_store_user user;
	bool open;
	struct pg_cache cache;
	bool loaded;                /* cache holds a snapshot */
	bool active;
	unsigned depth;             /* nested begins */
	bool group_failed;
	struct pg_job *group;       /* writes between begin and commit */
	struct pg_job *inflight;    /* commit_async's jobs, not called back yet */
	char err[2048];
	ev_async wake;
	struct pg_note *notes;
	size_t nnotes, notes_cap;

	/* shared, under mu */
	pthread_t thread;
	bool thread_running;
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* jobs done, first attempt made, stop */
	int wake_fd;                /* eventfd: the thread's poll wakes on it */
	bool stopping;
	bool connected;
	bool fatal;                 /* e.g. schema too new: no more attempts */
	bool attempted;             /* the first connection attempt is over */
	char fatal_msg[1024];
	struct pg_job *jobs, **jobs_tail;
	struct pg_event *events, **events_tail;
	struct zt_store_seen *seen;
	size_t nseen, seen_cap;

	/* the thread's own */
	PGconn *conn;
	int backend_pid;
	bool holds_lock;
	bool told_active;           /* what the loop was last told */
};

/* worker.c */
void *pg_worker(void *arg);
/* Queue an event for the loop (mu held) and wake it. */
void pg_post(struct pg *s, struct pg_event *e);
void pg_post_log(struct pg *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void pg_job_free(struct pg_job *j);
/* The thread is done with j (mu held): wake a waiting loop, or free an
 * abandoned job. */
void pg_job_finish(struct pg *s, struct pg_job *j);
/* Wake the thread's poll. */
void pg_kick(struct pg *s);

#endif
