/* The postgres store's database thread (postgres.h): the only code that
 * talks to PostgreSQL, so that the event loop never waits on a query it
 * did not ask to wait for. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "postgres.h"
#include "schema.h"

#define PG_BACKOFF_MIN_MS 250
#define PG_BACKOFF_MAX_MS 8000
#define PG_LOCK_RETRY_MS 1000
/* pg_advisory_xact_lock(key1, key2) held while migrating: the two-key
 * space, apart from the pair's one-key lock */
#define PG_MIGRATE_KEY "2053, 17"

static uint64_t pg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void pg_kick(struct pg *s)
{
	uint64_t one = 1;

	if (write(s->wake_fd, &one, sizeof one) < 0) {
		/* the counter is full: the thread is woken anyway */
	}
}

void pg_post(struct pg *s, struct pg_event *e)
{
	e->next = NULL;
	*s->events_tail = e;
	s->events_tail = &e->next;
	ev_async_send(s->loop, &s->wake);
}

void pg_post_log(struct pg *s, int level, const char *fmt, ...)
{
	struct pg_event *e = calloc(1, sizeof *e);
	va_list ap;

	if (!e)
		return;
	e->kind = PG_EV_LOG;
	e->level = level;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&s->mu);
	pg_post(s, e);
	pthread_mutex_unlock(&s->mu);
}

void pg_job_free(struct pg_job *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->nops; i++) {
		zt_store_network_clear(&j->ops[i].n);
		zt_store_member_clear(&j->ops[i].m);
		zt_store_member_clear(&j->ops[i].base);
	}
	free(j->ops);
	free(j);
}

/* libpq's message without its final newline. */
static const char *pg_msg(PGconn *conn, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%s", PQerrorMessage(conn));
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return buf;
}

/* ---- values to and from text ---- */

#define PG_HEX_NWID 16
#define PG_HEX_ADDR 10

struct pg_params {
	const char *v[PG_NET_NCOLS];
	char buf[PG_NET_NCOLS][24];
	int n;
};

static void pg_p_text(struct pg_params *p, const char *t)
{
	p->v[p->n++] = t;
}

static void pg_p_hex(struct pg_params *p, uint64_t v, int digits)
{
	snprintf(p->buf[p->n], sizeof p->buf[p->n], "%0*" PRIx64, digits, v);
	p->v[p->n] = p->buf[p->n];
	p->n++;
}

static void pg_p_int(struct pg_params *p, int64_t v)
{
	snprintf(p->buf[p->n], sizeof p->buf[p->n], "%" PRId64, v);
	p->v[p->n] = p->buf[p->n];
	p->n++;
}

static void pg_p_bool(struct pg_params *p, bool v)
{
	pg_p_text(p, v ? "t" : "f");
}

static bool pg_parse_hex(const char *t, uint64_t *v)
{
	char *end;

	if (!t || !*t)
		return false;
	errno = 0;
	*v = strtoull(t, &end, 16);
	return !errno && !*end;
}

static char *pg_col_dup(const PGresult *r, int row, int col, bool *oom)
{
	char *t;

	if (PQgetisnull(r, row, col))
		return NULL;
	t = strdup(PQgetvalue(r, row, col));
	if (!t)
		*oom = true;
	return t;
}

static int64_t pg_col_int(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static bool pg_col_bool(const PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col)[0] == 't';
}

/* A network from a row of the network columns: 0, -EINVAL (bad id) or -ENOMEM. */
static int pg_row_network(const PGresult *r, int row, struct zt_store_network *n)
{
	bool oom = false;

	memset(n, 0, sizeof *n);
	if (!pg_parse_hex(PQgetvalue(r, row, 0), &n->id))
		return -EINVAL;
	n->name = pg_col_dup(r, row, 1, &oom);
	n->priv = pg_col_bool(r, row, 2);
	n->enable_broadcast = pg_col_bool(r, row, 3);
	n->mtu = (uint64_t)pg_col_int(r, row, 4);
	n->multicast_limit = (uint64_t)pg_col_int(r, row, 5);
	n->v4_zt = pg_col_bool(r, row, 6);
	n->v6_rfc4193 = pg_col_bool(r, row, 7);
	n->v6_6plane = pg_col_bool(r, row, 8);
	n->v6_zt = pg_col_bool(r, row, 9);
	n->pools = pg_col_dup(r, row, 10, &oom);
	n->routes = pg_col_dup(r, row, 11, &oom);
	n->rules = pg_col_dup(r, row, 12, &oom);
	n->dns = pg_col_dup(r, row, 13, &oom);
	n->auth_tokens = pg_col_dup(r, row, 14, &oom);
	n->has_trace_target = pg_parse_hex(PQgetvalue(r, row, 15), &n->trace_target);
	if (!n->has_trace_target)
		n->trace_target = 0;
	n->trace_level = (uint64_t)pg_col_int(r, row, 16);
	n->ctmd = pg_col_int(r, row, 17);
	n->revision = (uint64_t)pg_col_int(r, row, 18);
	n->creation_time = pg_col_int(r, row, 19);
	n->rules_source = pg_col_dup(r, row, 20, &oom);
	n->capabilities = pg_col_dup(r, row, 21, &oom);
	n->tags = pg_col_dup(r, row, 22, &oom);
	if (oom) {
		zt_store_network_clear(n);
		return -ENOMEM;
	}
	return 0;
}

/* A member from a row of the member columns, without its IPs. */
static int pg_row_member(const PGresult *r, int row, struct zt_store_member *m)
{
	bool oom = false;

	memset(m, 0, sizeof *m);
	if (!pg_parse_hex(PQgetvalue(r, row, 0), &m->nwid) ||
	    !pg_parse_hex(PQgetvalue(r, row, 1), &m->address))
		return -EINVAL;
	m->identity = pg_col_dup(r, row, 2, &oom);
	m->name = pg_col_dup(r, row, 3, &oom);
	m->authorized = pg_col_bool(r, row, 4);
	m->active_bridge = pg_col_bool(r, row, 5);
	m->no_auto_assign_ips = pg_col_bool(r, row, 6);
	m->has_trace_target = pg_parse_hex(PQgetvalue(r, row, 7), &m->trace_target);
	if (!m->has_trace_target)
		m->trace_target = 0;
	m->trace_level = (uint64_t)pg_col_int(r, row, 8);
	m->last_authorized_time = pg_col_int(r, row, 9);
	m->last_deauthorized_time = pg_col_int(r, row, 10);
	m->auth_cred_type = pg_col_dup(r, row, 11, &oom);
	m->auth_cred = pg_col_dup(r, row, 12, &oom);
	m->v_major = (int)pg_col_int(r, row, 13);
	m->v_minor = (int)pg_col_int(r, row, 14);
	m->v_rev = (int)pg_col_int(r, row, 15);
	m->v_proto = (int)pg_col_int(r, row, 16);
	m->revision = (uint64_t)pg_col_int(r, row, 17);
	m->creation_time = pg_col_int(r, row, 18);
	m->tags = pg_col_dup(r, row, 19, &oom);
	m->capabilities = pg_col_dup(r, row, 20, &oom);
	m->last_seen = pg_col_int(r, row, 21);
	if (oom) {
		zt_store_member_clear(m);
		return -ENOMEM;
	}
	return 0;
}

/* ---- running statements ---- */

/* Run a prepared statement: the result (PQclear it) when its status is
 * the one expected, else NULL with the reason in msg. */
static PGresult *pg_run(struct pg *s, enum pg_stmt st, const struct pg_params *p,
			ExecStatusType want, char *msg, size_t len)
{
	PGresult *r = PQexecPrepared(s->conn, pg_statements[st].name, p ? p->n : 0,
				     p ? p->v : NULL, NULL, NULL, 0);
	char buf[256];

	if (r && PQresultStatus(r) == want)
		return r;
	snprintf(msg, len, "%s: %s", pg_statements[st].name,
		 r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r) : pg_msg(s->conn, buf, sizeof buf));
	msg[strcspn(msg, "\n")] = '\0';
	PQclear(r);
	return NULL;
}

static bool pg_cmd(struct pg *s, const char *sql, char *msg, size_t len)
{
	PGresult *r = PQexec(s->conn, sql);
	bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	char buf[256];

	if (!ok) {
		snprintf(msg, len, "%s", r ? PQresultErrorMessage(r) : pg_msg(s->conn, buf, sizeof buf));
		msg[strcspn(msg, "\n")] = '\0';
	}
	PQclear(r);
	return ok;
}

/* The member's IPs, in order: 0, -EIO or -ENOMEM. */
static int pg_member_ips(struct pg *s, struct zt_store_member *m, char *msg, size_t len)
{
	struct pg_params p = { .n = 0 };
	PGresult *r;
	int err = 0;

	pg_p_hex(&p, m->nwid, PG_HEX_NWID);
	pg_p_hex(&p, m->address, PG_HEX_ADDR);
	r = pg_run(s, PG_IPS_GET, &p, PGRES_TUPLES_OK, msg, len);
	if (!r)
		return -EIO;
	for (int i = 0; i < PQntuples(r) && !err; i++)
		err = zt_store_member_add_ip(m, PQgetvalue(r, i, 0));
	PQclear(r);
	return err;
}

/* The whole database as a cache. */
static int pg_load(struct pg *s, struct pg_cache *c, char *msg, size_t len)
{
	PGresult *nets = NULL, *mems = NULL, *ips = NULL;
	struct zt_store_network n;
	struct zt_store_member m;
	struct zt_store_member *cur = NULL;
	int err = -EIO;

	memset(c, 0, sizeof *c);
	/* one snapshot of all three tables */
	if (!pg_cmd(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", msg, len))
		return -EIO;
	if (!(nets = pg_run(s, PG_NET_ALL, NULL, PGRES_TUPLES_OK, msg, len)) ||
	    !(mems = pg_run(s, PG_MEM_ALL, NULL, PGRES_TUPLES_OK, msg, len)) ||
	    !(ips = pg_run(s, PG_IPS_ALL, NULL, PGRES_TUPLES_OK, msg, len)))
		goto out;
	err = 0;
	for (int i = 0; i < PQntuples(nets) && !err; i++) {
		err = pg_row_network(nets, i, &n);
		if (err == -EINVAL) {
			err = 0;
			continue;
		}
		if (!err && (err = pg_cache_put_net(c, &n)) < 0)
			zt_store_network_clear(&n);
	}
	for (int i = 0; i < PQntuples(mems) && !err; i++) {
		err = pg_row_member(mems, i, &m);
		if (err == -EINVAL) {
			err = 0;
			continue;
		}
		if (!err && pg_cache_put_member(c, &m) < 0)
			zt_store_member_clear(&m);  /* its network is gone: skip */
	}
	for (int i = 0; i < PQntuples(ips) && !err; i++) {
		uint64_t nwid, addr;

		if (!pg_parse_hex(PQgetvalue(ips, i, 0), &nwid) ||
		    !pg_parse_hex(PQgetvalue(ips, i, 1), &addr))
			continue;
		if (!cur || cur->nwid != nwid || cur->address != addr)
			cur = pg_cache_member(c, nwid, addr);
		if (cur)
			err = pg_cache_add_ip(c, cur, PQgetvalue(ips, i, 2));
	}
	if (err)
		snprintf(msg, len, "%s", strerror(-err));
out:
	PQclear(nets);
	PQclear(mems);
	PQclear(ips);
	pg_cmd(s, err ? "ROLLBACK" : "COMMIT", msg, err ? 0 : len);
	if (err)
		pg_cache_free(c);
	return err;
}

/* ---- connecting ---- */

/* Create or migrate the schema.  0, -EIO (try again later) or -EPROTO
 * (the database's schema is newer: never). */
static int pg_migrate(struct pg *s, char *msg, size_t len)
{
	PGresult *r;
	long version;
	char sql[64];

	if (!pg_cmd(s, "BEGIN", msg, len))
		return -EIO;
	r = PQexec(s->conn, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_KEY ")");
	PQclear(r);
	if (!pg_cmd(s, "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)", msg, len))
		goto fail;
	r = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM schema_version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		snprintf(msg, len, "schema_version: %s", PQresultErrorMessage(r));
		msg[strcspn(msg, "\n")] = '\0';
		PQclear(r);
		goto fail;
	}
	version = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (version > (long)pg_schema_nmigrations) {
		snprintf(msg, len, "schema version %ld is newer than this store's %zu: refusing it",
			 version, pg_schema_nmigrations);
		pg_cmd(s, "ROLLBACK", msg, 0);
		return -EPROTO;
	}
	for (size_t i = (size_t)version; i < pg_schema_nmigrations; i++)
		if (!pg_cmd(s, pg_migrations[i], msg, len))
			goto fail;
	if (version < (long)pg_schema_nmigrations) {
		snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%zu)", pg_schema_nmigrations);
		if (!pg_cmd(s, "DELETE FROM schema_version", msg, len) || !pg_cmd(s, sql, msg, len))
			goto fail;
		pg_post_log(s, ZT_LOG_INFO, "%s: schema version %ld -> %zu", s->where,
			    version, pg_schema_nmigrations);
	}
	return pg_cmd(s, "COMMIT", msg, len) ? 0 : -EIO;
fail:
	pg_cmd(s, "ROLLBACK", msg, 0);
	return -EIO;
}

/* The connection is gone.  The lock went with the session, but the loop
 * is not told: an active controller goes on answering members from its
 * cache while the database is away, and learns at the next connection
 * whether it is still the active one. */
static void pg_drop(struct pg *s)
{
	PQfinish(s->conn);
	s->conn = NULL;
	s->holds_lock = false;
	pthread_mutex_lock(&s->mu);
	s->connected = false;
	pthread_mutex_unlock(&s->mu);
}

/* The server's notices (e.g. "relation ... already exists, skipping")
 * go to the debug log, not to stderr. */
static void pg_notice(void *arg, const char *message)
{
	struct pg *s = arg;

	pg_post_log(s, ZT_LOG_DEBUG, "%s: %.*s", s->where, (int)strcspn(message, "\n"), message);
}

/* Connect, migrate, prepare, LISTEN, and load the cache.  0, -EIO, or
 * -EPROTO (never try again); the reason in msg. */
static int pg_connect(struct pg *s, char *msg, size_t len)
{
	const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *vals[] = { "10", "ztd", s->conninfo, NULL };
	struct pg_event *e;
	char buf[256];
	int err;

	s->conn = PQconnectdbParams(keys, vals, 1);
	if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
		snprintf(msg, len, "%s", s->conn ? pg_msg(s->conn, buf, sizeof buf) : strerror(ENOMEM));
		msg[strcspn(msg, "\n")] = '\0';
		PQfinish(s->conn);
		s->conn = NULL;
		return -EIO;
	}
	PQsetNoticeProcessor(s->conn, pg_notice, s);
	s->backend_pid = PQbackendPID(s->conn);
	err = pg_migrate(s, msg, len);
	for (int i = 0; !err && i < PG_NSTMTS; i++) {
		PGresult *r = PQprepare(s->conn, pg_statements[i].name, pg_statements[i].sql,
					pg_statements[i].nparams, NULL);

		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			snprintf(msg, len, "prepare %s: %s", pg_statements[i].name, PQresultErrorMessage(r));
			msg[strcspn(msg, "\n")] = '\0';
			err = -EIO;
		}
		PQclear(r);
	}
	if (!err && !pg_cmd(s, "LISTEN " PG_CHANNEL, msg, len))
		err = -EIO;
	if (!err && !(e = calloc(1, sizeof *e)))
		err = -ENOMEM;
	if (!err && !(e->cache = calloc(1, sizeof *e->cache))) {
		free(e);
		err = -ENOMEM;
	}
	/* LISTEN came first: a change after the snapshot is notified */
	if (!err && (err = pg_load(s, e->cache, msg, len)) < 0) {
		free(e->cache);
		free(e);
	}
	if (err) {
		PQfinish(s->conn);
		s->conn = NULL;
		return err;
	}
	e->kind = PG_EV_SNAPSHOT;
	pthread_mutex_lock(&s->mu);
	s->connected = true;
	pg_post(s, e);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* ---- the pair's lock ---- */

static void pg_try_lock(struct pg *s)
{
	struct pg_params p = { .n = 0 };
	struct pg_event *e;
	char msg[256];
	PGresult *r;

	pg_p_int(&p, (int64_t)s->user.controller);
	r = pg_run(s, PG_LOCK, &p, PGRES_TUPLES_OK, msg, sizeof msg);
	if (!r)
		return;
	s->holds_lock = PQntuples(r) == 1 && pg_col_bool(r, 0, 0);
	PQclear(r);
	if (s->holds_lock == s->told_active || !(e = calloc(1, sizeof *e)))
		return;
	s->told_active = s->holds_lock;
	e->kind = PG_EV_ACTIVE;
	e->active = s->holds_lock;
	pthread_mutex_lock(&s->mu);
	pg_post(s, e);
	pthread_mutex_unlock(&s->mu);
}

/* ---- others' changes ---- */

static struct pg_event *pg_reload_network(struct pg *s, uint64_t nwid)
{
	struct pg_params p = { .n = 0 };
	struct pg_event *e = calloc(1, sizeof *e);
	char msg[256];
	PGresult *r;

	if (!e)
		return NULL;
	pg_p_hex(&p, nwid, PG_HEX_NWID);
	if (!(r = pg_run(s, PG_NET_GET, &p, PGRES_TUPLES_OK, msg, sizeof msg)))
		goto fail;
	e->nwid = nwid;
	e->kind = PG_EV_NET_GONE;
	if (PQntuples(r) == 1 && pg_row_network(r, 0, &e->n) == 0)
		e->kind = PG_EV_NET;
	PQclear(r);
	return e;
fail:
	free(e);
	return NULL;
}

static struct pg_event *pg_reload_member(struct pg *s, uint64_t nwid, uint64_t addr)
{
	struct pg_params p = { .n = 0 };
	struct pg_event *e = calloc(1, sizeof *e);
	char msg[256];
	PGresult *r;

	if (!e)
		return NULL;
	pg_p_hex(&p, nwid, PG_HEX_NWID);
	pg_p_hex(&p, addr, PG_HEX_ADDR);
	if (!(r = pg_run(s, PG_MEM_GET, &p, PGRES_TUPLES_OK, msg, sizeof msg)))
		goto fail;
	e->nwid = nwid;
	e->address = addr;
	e->kind = PG_EV_MEMBER_GONE;
	if (PQntuples(r) == 1 && pg_row_member(r, 0, &e->m) == 0) {
		e->kind = PG_EV_MEMBER;
		if (pg_member_ips(s, &e->m, msg, sizeof msg) < 0) {
			zt_store_member_clear(&e->m);
			PQclear(r);
			goto fail;
		}
	}
	PQclear(r);
	return e;
fail:
	free(e);
	return NULL;
}

/* Re-read what others' notifications name and tell the loop.  A payload
 * the thread cannot re-read now (the connection broke) is caught up by
 * the snapshot after reconnecting. */
static void pg_notifications(struct pg *s)
{
	PGnotify *nf;

	while (s->conn && (nf = PQnotifies(s->conn))) {
		uint64_t nwid, addr;
		char kind = 0, nw[24] = "", ad[16] = "";
		struct pg_event *e = NULL;

		if (nf->be_pid != s->backend_pid &&
		    sscanf(nf->extra, "%c %20s %12s", &kind, nw, ad) >= 2 && pg_parse_hex(nw, &nwid)) {
			if (kind == 'n')
				e = pg_reload_network(s, nwid);
			else if (kind == 'm' && pg_parse_hex(ad, &addr))
				e = pg_reload_member(s, nwid, addr);
		}
		PQfreemem(nf);
		if (e) {
			pthread_mutex_lock(&s->mu);
			pg_post(s, e);
			pthread_mutex_unlock(&s->mu);
		}
	}
}

/* ---- the loop's writes ---- */

static void pg_net_params(struct pg_params *p, const struct zt_store_network *n)
{
	pg_p_hex(p, n->id, PG_HEX_NWID);
	pg_p_text(p, n->name ? n->name : "");
	pg_p_bool(p, n->priv);
	pg_p_bool(p, n->enable_broadcast);
	pg_p_int(p, (int64_t)n->mtu);
	pg_p_int(p, (int64_t)n->multicast_limit);
	pg_p_bool(p, n->v4_zt);
	pg_p_bool(p, n->v6_rfc4193);
	pg_p_bool(p, n->v6_6plane);
	pg_p_bool(p, n->v6_zt);
	pg_p_text(p, n->pools ? n->pools : "[]");
	pg_p_text(p, n->routes ? n->routes : "[]");
	pg_p_text(p, n->rules ? n->rules : "[]");
	pg_p_text(p, n->dns ? n->dns : "[]");
	pg_p_text(p, n->auth_tokens ? n->auth_tokens : "[null]");
	if (n->has_trace_target)
		pg_p_hex(p, n->trace_target, PG_HEX_ADDR);
	else
		pg_p_text(p, NULL);
	pg_p_int(p, (int64_t)n->trace_level);
	if (n->ctmd)
		pg_p_int(p, n->ctmd);
	else
		pg_p_text(p, NULL);
	pg_p_int(p, (int64_t)n->revision);
	pg_p_int(p, n->creation_time);
	pg_p_text(p, n->rules_source);
	pg_p_text(p, n->capabilities ? n->capabilities : "[]");
	pg_p_text(p, n->tags ? n->tags : "[]");
}

static void pg_member_params(struct pg_params *p, const struct zt_store_member *m)
{
	pg_p_hex(p, m->nwid, PG_HEX_NWID);
	pg_p_hex(p, m->address, PG_HEX_ADDR);
	pg_p_text(p, m->identity);
	pg_p_text(p, m->name);
	pg_p_bool(p, m->authorized);
	pg_p_bool(p, m->active_bridge);
	pg_p_bool(p, m->no_auto_assign_ips);
	if (m->has_trace_target)
		pg_p_hex(p, m->trace_target, PG_HEX_ADDR);
	else
		pg_p_text(p, NULL);
	pg_p_int(p, (int64_t)m->trace_level);
	pg_p_int(p, m->last_authorized_time);
	pg_p_int(p, m->last_deauthorized_time);
	pg_p_text(p, m->auth_cred_type);
	pg_p_text(p, m->auth_cred);
	pg_p_int(p, m->v_major);
	pg_p_int(p, m->v_minor);
	pg_p_int(p, m->v_rev);
	pg_p_int(p, m->v_proto);
	pg_p_int(p, (int64_t)m->revision);
	pg_p_int(p, m->creation_time);
	pg_p_text(p, m->tags ? m->tags : "[]");
	pg_p_text(p, m->capabilities ? m->capabilities : "[]");
}

/* A text[] literal of the IPs: {"a","b"}; IP text has no quote or
 * backslash.  NULL when out of memory. */
static char *pg_ip_array(const struct zt_store_member *m)
{
	size_t len = 3;
	char *a, *p;

	for (size_t i = 0; i < m->nips; i++)
		len += strlen(m->ips[i]) + 3;
	if (!(a = malloc(len)))
		return NULL;
	p = a;
	*p++ = '{';
	for (size_t i = 0; i < m->nips; i++)
		p += sprintf(p, "%s\"%s\"", i ? "," : "", m->ips[i]);
	*p++ = '}';
	*p = '\0';
	return a;
}

static bool pg_text_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool pg_ips_eq(const struct zt_store_member *a, const struct zt_store_member *b)
{
	if (a->nips != b->nips)
		return false;
	for (size_t i = 0; i < a->nips; i++)
		if (strcmp(a->ips[i], b->ips[i]))
			return false;
	return true;
}

/* The member's IPs replace the stored ones. */
static int pg_put_ips(struct pg *s, const struct zt_store_member *m, char *msg, size_t len)
{
	struct pg_params p = { .n = 0 };
	PGresult *r;
	char *ips;

	pg_p_hex(&p, m->nwid, PG_HEX_NWID);
	pg_p_hex(&p, m->address, PG_HEX_ADDR);
	if (!(r = pg_run(s, PG_IPS_CLEAR, &p, PGRES_COMMAND_OK, msg, len)))
		return -EIO;
	PQclear(r);
	if (!m->nips)
		return 0;
	if (!(ips = pg_ip_array(m))) {
		snprintf(msg, len, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	pg_p_text(&p, ips);
	r = pg_run(s, PG_IPS_PUT, &p, PGRES_COMMAND_OK, msg, len);
	free(ips);
	if (!r)
		return -EIO;
	PQclear(r);
	return 0;
}

/* Insert m, or replace the row whole (another writer created it since
 * the cache was read: a revision above both).  m's revision becomes the
 * stored one. */
static int pg_upsert_member(struct pg *s, struct zt_store_member *m, char *msg, size_t len)
{
	struct pg_params p = { .n = 0 };
	PGresult *r;

	pg_member_params(&p, m);
	if (!(r = pg_run(s, PG_MEM_PUT, &p, PGRES_TUPLES_OK, msg, len)))
		return strstr(msg, "foreign key") ? -ENOENT : -EIO;  /* no such network */
	if (PQntuples(r) == 1)
		m->revision = (uint64_t)pg_col_int(r, 0, 0);
	PQclear(r);
	return 0;
}

/* Another writer changed the row since the cache's copy (base) was read:
 * write only the columns this write changed, and a revision above both.
 * 1 written, 0 the row is gone, or -EIO. */
static int pg_update_changed(struct pg *s, const struct pg_op *op, char *msg, size_t len)
{
	struct pg_params now = { .n = 0 }, was = { .n = 0 };
	const char *vals[PG_MEM_NCOLS];
	char sql[1024], buf[256];
	size_t used;
	int n = 2;
	PGresult *r;

	pg_member_params(&now, &op->m);
	pg_member_params(&was, &op->base);
	vals[0] = now.v[0];
	vals[1] = now.v[1];
	used = (size_t)snprintf(sql, sizeof sql, "UPDATE members SET");
	for (int i = 2; i < now.n; i++) {
		if (i == PG_COL_REVISION || pg_text_eq(now.v[i], was.v[i]))
			continue;
		vals[n++] = now.v[i];
		used += (size_t)snprintf(sql + used, sizeof sql - used, " %s = $%d,", pg_member_cols[i], n);
	}
	vals[n++] = now.v[PG_COL_REVISION];
	snprintf(sql + used, sizeof sql - used, " revision = greatest(revision + 1, $%d::bigint)"
		 " WHERE network_id = $1 AND address = $2", n);
	r = PQexecParams(s->conn, sql, n, NULL, vals, NULL, NULL, 0);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(msg, len, "update of the changed columns: %s",
			 r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r) : pg_msg(s->conn, buf, sizeof buf));
		msg[strcspn(msg, "\n")] = '\0';
		PQclear(r);
		return -EIO;
	}
	n = strcmp(PQcmdTuples(r), "0") != 0;
	PQclear(r);
	return n;
}

/* The stored member (this transaction's view) replaces m. */
static int pg_reread_member(struct pg *s, struct zt_store_member *m, char *msg, size_t len)
{
	struct pg_params p = { .n = 0 };
	struct zt_store_member fresh;
	PGresult *r;
	int err = 0;

	memset(&fresh, 0, sizeof fresh);
	pg_p_hex(&p, m->nwid, PG_HEX_NWID);
	pg_p_hex(&p, m->address, PG_HEX_ADDR);
	if (!(r = pg_run(s, PG_MEM_GET, &p, PGRES_TUPLES_OK, msg, len)))
		return -EIO;
	if (PQntuples(r) == 1 && (err = pg_row_member(r, 0, &fresh)) == 0 &&
	    (err = pg_member_ips(s, &fresh, msg, len)) == 0) {
		zt_store_member_clear(m);
		*m = fresh;
	} else {
		zt_store_member_clear(&fresh);
		if (err != -ENOMEM && err != -EIO)
			snprintf(msg, len, "cannot read back the member written");
		err = err == -ENOMEM ? -ENOMEM : -EIO;
	}
	PQclear(r);
	return err;
}

/* A member put.  The row is replaced whole while it is still the copy
 * the write was made from (its revision); if another writer (the other
 * controller of a pair) changed it since, only the fields this write
 * changed are written, so that neither write loses the other's fields,
 * and op->m becomes the row as it now is, for the cache. */
static int pg_put_member(struct pg *s, struct pg_op *op, char *msg, size_t len)
{
	struct pg_params p = { .n = 0 };
	bool replaced = false, updated = false;
	PGresult *r;
	int err;

	if (op->has_base) {
		pg_member_params(&p, &op->m);
		pg_p_int(&p, (int64_t)op->base.revision);
		if (!(r = pg_run(s, PG_MEM_CAS, &p, PGRES_COMMAND_OK, msg, len)))
			return -EIO;
		replaced = strcmp(PQcmdTuples(r), "0") != 0;
		PQclear(r);
		if (!replaced) {
			pg_post_log(s, ZT_LOG_DEBUG, "member %016" PRIx64 "/%010" PRIx64 ": written meanwhile"
				    " by another writer: only the fields this write changed are written",
				    op->m.nwid, op->m.address);
			if ((err = pg_update_changed(s, op, msg, len)) < 0)
				return err;
			updated = err > 0;
		}
	}
	/* new, or gone since the cache's copy */
	if (!replaced && !updated && (err = pg_upsert_member(s, &op->m, msg, len)) < 0)
		return err;
	if ((!updated || !pg_ips_eq(&op->m, &op->base)) && (err = pg_put_ips(s, &op->m, msg, len)) < 0)
		return err;
	return updated ? pg_reread_member(s, &op->m, msg, len) : 0;
}

/* Run one write inside the job's transaction: 0, -ENOENT or -EIO. */
static int pg_run_op(struct pg *s, struct pg_op *op, char *msg, size_t len)
{
	struct pg_params p = { .n = 0 };
	enum pg_stmt st;
	PGresult *r;
	int err = 0;

	switch (op->kind) {
	case PG_OP_MEM_PUT:
		return pg_put_member(s, op, msg, len);
	case PG_OP_NET_PUT:
		st = PG_NET_PUT;
		pg_net_params(&p, &op->n);
		break;
	case PG_OP_NET_DEL:
		st = PG_NET_DELETE;
		pg_p_hex(&p, op->nwid, PG_HEX_NWID);
		break;
	default:
		st = PG_MEM_DELETE;
		pg_p_hex(&p, op->nwid, PG_HEX_NWID);
		pg_p_hex(&p, op->address, PG_HEX_ADDR);
		break;
	}
	r = pg_run(s, st, &p, PGRES_COMMAND_OK, msg, len);
	if (!r) {
		/* a member of a network that is not there */
		return strstr(msg, "foreign key") ? -ENOENT : -EIO;
	}
	if (op->kind != PG_OP_NET_PUT && !strcmp(PQcmdTuples(r), "0")) {
		snprintf(msg, len, "no such %s", op->kind == PG_OP_NET_DEL ? "network" : "member");
		err = -ENOENT;
	}
	PQclear(r);
	return err;
}

static void pg_run_job(struct pg *s, struct pg_job *j)
{
	char buf[256];

	j->err = 0;
	if (!pg_cmd(s, "BEGIN", j->msg, sizeof j->msg))
		j->err = -EIO;
	for (size_t i = 0; i < j->nops && !j->err; i++)
		j->err = pg_run_op(s, &j->ops[i], j->msg, sizeof j->msg);
	if (!j->err && !pg_cmd(s, "COMMIT", j->msg, sizeof j->msg))
		j->err = -EIO;
	if (j->err)
		pg_cmd(s, "ROLLBACK", buf, sizeof buf);
	if (j->err && PQstatus(s->conn) != CONNECTION_OK) {
		/* COMMIT may or may not have happened: say so */
		snprintf(j->msg, sizeof j->msg, "%s: connection lost during the write", s->where);
		j->err = -EIO;
	}
}

/* The committed job's objects, moved to the loop's queue (postgres.h):
 * nothing the thread reads after the COMMIT can be queued before them.
 * An object that cannot be queued (out of memory) is caught
 * up by the next snapshot. */
static void pg_post_own(struct pg *s, struct pg_job *j)
{
	static const enum pg_event_kind kinds[] = {
		[PG_OP_NET_PUT] = PG_EV_NET, [PG_OP_NET_DEL] = PG_EV_NET_GONE,
		[PG_OP_MEM_PUT] = PG_EV_MEMBER, [PG_OP_MEM_DEL] = PG_EV_MEMBER_GONE,
	};

	for (size_t i = 0; i < j->nops; i++) {
		struct pg_op *op = &j->ops[i];
		struct pg_event *e = calloc(1, sizeof *e);

		if (!e) {
			pg_post_log(s, ZT_LOG_ERR, "%s: %s: the cache misses a write until the next reconnection",
				    s->where, strerror(ENOMEM));
			continue;
		}
		e->kind = kinds[op->kind];
		e->own = true;
		e->n = op->n;
		e->m = op->m;
		memset(&op->n, 0, sizeof op->n);
		memset(&op->m, 0, sizeof op->m);
		e->nwid = op->kind == PG_OP_NET_PUT ? e->n.id : op->kind == PG_OP_MEM_PUT ? e->m.nwid : op->nwid;
		e->address = op->kind == PG_OP_MEM_PUT ? e->m.address : op->address;
		pthread_mutex_lock(&s->mu);
		pg_post(s, e);
		pthread_mutex_unlock(&s->mu);
	}
}

/* ---- last seen, in batches ---- */

/* Write what seen() queued; on failure it is queued again. */
static void pg_flush_seen(struct pg *s)
{
	struct zt_store_seen *v;
	size_t n, len;
	char *a[3], *p[3], msg[256];
	struct pg_params pp = { .n = 0 };
	PGresult *r;

	pthread_mutex_lock(&s->mu);
	v = s->seen;
	n = s->nseen;
	s->seen = NULL;
	s->nseen = s->seen_cap = 0;
	pthread_mutex_unlock(&s->mu);
	if (!n)
		return;
	len = n * 24 + 3;
	for (int k = 0; k < 3; k++) {
		a[k] = malloc(len);
		p[k] = a[k];
		if (a[k])
			*p[k]++ = '{';
	}
	if (!a[0] || !a[1] || !a[2])
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *sep = i ? "," : "";

		p[0] += sprintf(p[0], "%s%016" PRIx64, sep, v[i].nwid);
		p[1] += sprintf(p[1], "%s%010" PRIx64, sep, v[i].address);
		p[2] += sprintf(p[2], "%s%" PRId64, sep, v[i].time);
	}
	for (int k = 0; k < 3; k++) {
		strcpy(p[k], "}");
		pg_p_text(&pp, a[k]);
	}
	r = pg_run(s, PG_SEEN, &pp, PGRES_COMMAND_OK, msg, sizeof msg);
	if (r) {
		PQclear(r);
		free(v);
		v = NULL;
	} else {
		pg_post_log(s, ZT_LOG_WARN, "%s: last seen of %zu members: %s", s->where, n, msg);
	}
out:
	for (int k = 0; k < 3; k++)
		free(a[k]);
	if (!v)
		return;
	/* keep them for the next flush, before what came meanwhile */
	pthread_mutex_lock(&s->mu);
	if (s->nseen) {
		struct zt_store_seen *nv = realloc(v, (n + s->nseen) * sizeof *v);

		if (nv) {
			memcpy(nv + n, s->seen, s->nseen * sizeof *v);
			v = nv;
			n += s->nseen;
		}
		free(s->seen);
	}
	s->seen = v;
	s->nseen = s->seen_cap = n;
	pthread_mutex_unlock(&s->mu);
}

/* ---- the thread ---- */

void pg_job_finish(struct pg *s, struct pg_job *j)
{
	j->done = true;
	if (j->abandoned)
		pg_job_free(j);
	else if (j->async)
		ev_async_send(s->loop, &s->wake);
}

static void pg_fail_jobs(struct pg *s, int err, const char *why)
{
	struct pg_job *j;

	while ((j = s->jobs)) {
		s->jobs = j->next;
		j->err = err;
		/* the server's message may be longer than a job's: cut it */
		snprintf(j->msg, sizeof j->msg, "%.*s", (int)sizeof j->msg - 1, why);
		pg_job_finish(s, j);
	}
	s->jobs_tail = &s->jobs;
	pthread_cond_broadcast(&s->cv);
}

static void pg_wait_ms(struct pg *s, uint64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

/* Not connected (mu held): one attempt, then back off. */
static void pg_reconnect(struct pg *s, uint64_t *backoff, char *last, size_t lastlen)
{
	char msg[512];
	int err;

	pthread_mutex_unlock(&s->mu);
	err = pg_connect(s, msg, sizeof msg);
	if (err == -EPROTO) {
		/* at the first attempt open() reports it */
		if (s->attempted)
			pg_post_log(s, ZT_LOG_ERR, "%s: %s", s->where, msg);
	} else if (err) {
		pg_post_log(s, strcmp(msg, last) ? ZT_LOG_ERR : ZT_LOG_DEBUG,
			    "cannot use the database %s: %s; retrying in %" PRIu64 " ms",
			    s->where, msg, *backoff);
	} else if (*last) {
		pg_post_log(s, ZT_LOG_INFO, "connected again to %s", s->where);
	}
	if (!err)
		pg_try_lock(s);
	pthread_mutex_lock(&s->mu);
	s->attempted = true;
	if (err == -EPROTO) {
		s->fatal = true;
		snprintf(s->fatal_msg, sizeof s->fatal_msg, "%s: %s", s->where, msg);
	}
	snprintf(last, lastlen, "%s", err ? msg : "");
	pthread_cond_broadcast(&s->cv);
	if (!err) {
		*backoff = PG_BACKOFF_MIN_MS;
		return;
	}
	pg_fail_jobs(s, -EAGAIN, s->fatal ? s->fatal_msg : "the database is unreachable");
	if (!s->stopping)
		pg_wait_ms(s, s->fatal ? 60000 : *backoff);
	if (*backoff < PG_BACKOFF_MAX_MS)
		*backoff *= 2;
}

/* Connected (mu held): run jobs, else wait for notifications, jobs or a
 * timer (the lock's retry, the seen batch). */
static void pg_serve(struct pg *s, uint64_t *last_lock, uint64_t *last_seen)
{
	struct pg_job *j = s->jobs;
	struct pollfd fds[2];
	uint64_t now, wait;
	bool flush;

	if (j) {
		s->jobs = j->next;
		if (!s->jobs)
			s->jobs_tail = &s->jobs;
		pthread_mutex_unlock(&s->mu);
		pg_run_job(s, j);
		if (!j->err)
			pg_post_own(s, j);
		pg_notifications(s);
		pthread_mutex_lock(&s->mu);
		pg_job_finish(s, j);
		pthread_cond_broadcast(&s->cv);
		if (s->conn && PQstatus(s->conn) != CONNECTION_OK) {
			pthread_mutex_unlock(&s->mu);
			pg_post_log(s, ZT_LOG_ERR, "lost the database %s; reconnecting", s->where);
			pg_drop(s);
			pthread_mutex_lock(&s->mu);
		}
		return;
	}
	now = pg_now_ms();
	flush = s->nseen && (now - *last_seen >= s->seen_interval_ms || s->stopping);
	pthread_mutex_unlock(&s->mu);
	if (flush) {
		pg_flush_seen(s);
		*last_seen = now;
	}
	if (!s->holds_lock && now - *last_lock >= PG_LOCK_RETRY_MS) {
		pg_try_lock(s);
		*last_lock = now;
	}
	wait = PG_LOCK_RETRY_MS < s->seen_interval_ms ? PG_LOCK_RETRY_MS : s->seen_interval_ms;
	fds[0] = (struct pollfd){ .fd = PQsocket(s->conn), .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
	if (poll(fds, 2, (int)wait) > 0) {
		if (fds[1].revents & POLLIN) {
			uint64_t v;

			if (read(s->wake_fd, &v, sizeof v) < 0) {
				/* nothing to read: another wakeup took it */
			}
		}
		if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(s->conn)) {
			pg_post_log(s, ZT_LOG_ERR, "lost the database %s; reconnecting", s->where);
			pg_drop(s);
		}
		pg_notifications(s);
	}
	if (s->conn && PQstatus(s->conn) != CONNECTION_OK) {
		pg_post_log(s, ZT_LOG_ERR, "lost the database %s; reconnecting", s->where);
		pg_drop(s);
	}
	pthread_mutex_lock(&s->mu);
}

void *pg_worker(void *arg)
{
	struct pg *s = arg;
	uint64_t backoff = PG_BACKOFF_MIN_MS, last_lock = 0, last_seen = pg_now_ms();
	char last[512] = "";

	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		if (s->fatal) {
			pg_fail_jobs(s, -EAGAIN, s->fatal_msg);
			pg_wait_ms(s, 60000);
		} else if (!s->conn) {
			pg_reconnect(s, &backoff, last, sizeof last);
		} else {
			pg_serve(s, &last_lock, &last_seen);
		}
	}
	pg_fail_jobs(s, -EAGAIN, "the store is closing");
	pthread_mutex_unlock(&s->mu);
	if (s->conn) {
		pg_flush_seen(s);
		PQfinish(s->conn);
		s->conn = NULL;
	}
	return NULL;
}
