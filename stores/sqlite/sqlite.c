/* sqlite: a store (zt-store(7)) in one SQLite file, the controller's
 * default.  See zt-store-sqlite(7).
 *
 * One database file in WAL mode with synchronous=FULL: a put or delete
 * that returned is on disk, and a process killed in the middle of a
 * transaction leaves the database as it was before that transaction.
 * Network ids and member addresses are kept as lowercase hex text
 * (16 and 10 digits) so that the file reads well in sqlite3(1).
 *
 * The schema's version is in the table schema_version; open() brings an
 * older file up to date with the migrations below, in one transaction.
 * A file that is not a database, fails SQLite's quick_check, holds other
 * tables than a store's, or has a newer schema than this module is
 * refused and left exactly as it was.
 *
 * commit_async COMMITs at once, on the loop, and calls done back from
 * the loop's next iteration: a user answers its writes there, after the
 * COMMIT, and meanwhile gathers the writes that arrive into the next
 * transaction (reads see the open transaction's own writes: one
 * connection), so that a herd of them shares one COMMIT and one fsync. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <ev.h>
#include <sqlite3.h>

#include <zt/module.h>
#include <zt/store.h>

#define STORE_SCHEMA_VERSION 4

struct store {
	struct zt_inst *zi;
	char *path;                 /* as configured, NULL: <home>/controller.db */
	char file[4096];            /* the file open */
	sqlite3 *db;
	unsigned depth;             /* nested store_begin calls */
	bool failed;                /* an error inside the open transaction */
	char err[512];
	struct ev_loop *loop;       /* the user's, for commit_async's callbacks */
	ev_timer later;             /* calls them back, in the next iteration */
	struct store_done *done;    /* committed, their done not called yet */
	size_t ndone, done_cap;
	uint64_t *commits;          /* transactions committed (each one fsync) */
};

/* A commit_async whose done is to be called. */
struct store_done {
	void (*fn)(void *ctx, int err);
	void *ctx;
};

/* Version 1: networks, members and their IPs (the controller's store
 * before stores were modules; its version was in PRAGMA user_version). */
static const char schema_v1[] =
	"CREATE TABLE IF NOT EXISTS networks ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" name TEXT NOT NULL DEFAULT '',"
	" private INTEGER NOT NULL DEFAULT 1,"
	" enable_broadcast INTEGER NOT NULL DEFAULT 1,"
	" mtu INTEGER NOT NULL DEFAULT 2800,"
	" multicast_limit INTEGER NOT NULL DEFAULT 32,"
	" v4_zt INTEGER NOT NULL DEFAULT 0,"
	" v6_rfc4193 INTEGER NOT NULL DEFAULT 0,"
	" v6_6plane INTEGER NOT NULL DEFAULT 0,"
	" v6_zt INTEGER NOT NULL DEFAULT 0,"
	" ip_pools TEXT NOT NULL DEFAULT '[]',"
	" routes TEXT NOT NULL DEFAULT '[]',"
	" rules TEXT NOT NULL DEFAULT '[]',"
	" dns TEXT NOT NULL DEFAULT '[]',"
	" auth_tokens TEXT NOT NULL DEFAULT '[null]',"
	" remote_trace_target TEXT,"
	" remote_trace_level INTEGER NOT NULL DEFAULT 0,"
	" ctmd INTEGER,"
	" revision INTEGER NOT NULL,"
	" creation_time INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS members ("
	" network_id TEXT NOT NULL REFERENCES networks(id) ON DELETE CASCADE,"
	" address TEXT NOT NULL,"
	" identity TEXT,"
	" name TEXT,"
	" authorized INTEGER NOT NULL DEFAULT 0,"
	" active_bridge INTEGER NOT NULL DEFAULT 0,"
	" no_auto_assign_ips INTEGER NOT NULL DEFAULT 0,"
	" remote_trace_target TEXT,"
	" remote_trace_level INTEGER NOT NULL DEFAULT 0,"
	" last_authorized_time INTEGER NOT NULL DEFAULT 0,"
	" last_deauthorized_time INTEGER NOT NULL DEFAULT 0,"
	" last_authorized_credential_type TEXT,"
	" last_authorized_credential TEXT,"
	" v_major INTEGER NOT NULL DEFAULT -1,"
	" v_minor INTEGER NOT NULL DEFAULT -1,"
	" v_rev INTEGER NOT NULL DEFAULT -1,"
	" v_proto INTEGER NOT NULL DEFAULT -1,"
	" revision INTEGER NOT NULL,"
	" creation_time INTEGER NOT NULL,"
	" PRIMARY KEY (network_id, address));"
	"CREATE TABLE IF NOT EXISTS member_ips ("
	" network_id TEXT NOT NULL,"
	" address TEXT NOT NULL,"
	" pos INTEGER NOT NULL,"
	" ip TEXT NOT NULL,"
	" PRIMARY KEY (network_id, address, pos),"
	" FOREIGN KEY (network_id, address) REFERENCES members(network_id, address) ON DELETE CASCADE);"
	"CREATE INDEX IF NOT EXISTS member_ips_by_ip ON member_ips(network_id, ip);";


/* Version 2: when members last asked for their config (seen()), and the
 * version in a table of its own. */
static const char schema_v2[] =
	"ALTER TABLE members ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE schema_version (version INTEGER NOT NULL);";

/* Version 3: an index of the authorized active bridges, which every
 * config lists (member_bridges), so that building one walks no members. */
static const char schema_v3[] =
	"CREATE INDEX IF NOT EXISTS members_bridges ON members(network_id, address)"
	" WHERE active_bridge != 0 AND authorized != 0;";
/* Version 4: the flow rules (zt-rules(7), networks.md §8.6, §8.7): a
 * network's rules source (NULL: none), its tag definitions and
 * capabilities, and a member's tags and capability ids, as JSON. */
static const char schema_v4[] =
	"ALTER TABLE networks ADD COLUMN rules_source TEXT;"
	"ALTER TABLE networks ADD COLUMN capabilities TEXT NOT NULL DEFAULT '[]';"
	"ALTER TABLE networks ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';"
	"ALTER TABLE members ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';"
	"ALTER TABLE members ADD COLUMN capabilities TEXT NOT NULL DEFAULT '[]';";

/* migrations[v] takes a file from version v to v + 1 */
static const char *const migrations[STORE_SCHEMA_VERSION] = { schema_v1, schema_v2, schema_v3, schema_v4 };

static void store_set_err(struct store *s, const char *what)
{
	snprintf(s->err, sizeof s->err, "%s: %s", what, sqlite3_errmsg(s->db));
}

static void store_hex(char *out, size_t len, uint64_t v, int digits)
{
	snprintf(out, len, "%0*" PRIx64, digits, v);
}

static bool store_parse_hex(const unsigned char *t, uint64_t *v)
{
	char *end;

	if (!t || !*t)
		return false;
	errno = 0;
	*v = strtoull((const char *)t, &end, 16);
	return !errno && !*end;
}

static int store_exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(s->err, sizeof s->err, "%s", msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int store_prepare(struct store *s, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
		store_set_err(s, "prepare");
		return -EIO;
	}
	return 0;
}

static const char *store_error(const void *state)
{
	const struct store *s = state;

	return s->err;
}

/* The one integer a query answers: 0, -ENOENT (no row) or -EIO. */
static int store_query_int(struct store *s, const char *sql, int64_t *v)
{
	sqlite3_stmt *st;
	int rc;

	if (store_prepare(s, sql, &st) < 0)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		store_set_err(s, sql);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* The file's schema version, read without writing: 0 for a new file.
 * Refuses (-EIO, reason in s->err) what is no store of ours. */
static int store_version(struct store *s, int64_t *version)
{
	sqlite3_stmt *st;
	int64_t tables, has_table;
	int rc;

	/* the first read: "file is not a database" shows here */
	if (store_query_int(s, "SELECT count(*) FROM sqlite_master", &tables) < 0) {
		if (sqlite3_errcode(s->db) == SQLITE_NOTADB)
			snprintf(s->err, sizeof s->err, "not an SQLite database (%s)", sqlite3_errmsg(s->db));
		return -EIO;
	}
	if (store_prepare(s, "PRAGMA quick_check", &st) < 0)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		snprintf(s->err, sizeof s->err, "corrupt database (quick_check: %s)",
			 rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		return -EIO;
	}
	sqlite3_finalize(st);
	if (store_query_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
			    " AND name = 'schema_version'", &has_table) < 0)
		return -EIO;
	if (has_table) {
		rc = store_query_int(s, "SELECT max(version) FROM schema_version WHERE version IS NOT NULL"
				     " HAVING count(*) > 0", version);
		if (rc == -ENOENT)
			snprintf(s->err, sizeof s->err, "table schema_version is empty");
		return rc < 0 ? -EIO : 0;
	}
	/* before the table, version 1 was in user_version */
	if (store_query_int(s, "PRAGMA user_version", version) < 0)
		return -EIO;
	if (*version == 0 && tables) {
		snprintf(s->err, sizeof s->err, "has tables but no store schema version: not a zt store");
		return -EIO;
	}
	if (*version > 1) {
		snprintf(s->err, sizeof s->err, "user_version %" PRId64 " without table schema_version: not a zt store",
			 *version);
		return -EIO;
	}
	return 0;
}

/* Bring the file from version to STORE_SCHEMA_VERSION, all or nothing. */
static int store_migrate(struct store *s, int64_t version)
{
	char sql[128];

	if (version == STORE_SCHEMA_VERSION)
		return 0;
	if (store_exec(s, "BEGIN IMMEDIATE") < 0)
		return -EIO;
	for (int64_t v = version; v < STORE_SCHEMA_VERSION; v++)
		if (store_exec(s, migrations[v]) < 0)
			goto fail;
	snprintf(sql, sizeof sql, "DELETE FROM schema_version; INSERT INTO schema_version VALUES (%d);"
		 " PRAGMA user_version = %d", STORE_SCHEMA_VERSION, STORE_SCHEMA_VERSION);
	if (store_exec(s, sql) < 0 || store_exec(s, "COMMIT") < 0)
		goto fail;
	if (version)
		zt_log(s->zi, ZT_LOG_INFO, "%s: schema migrated from version %" PRId64 " to %d", s->file,
		       version, STORE_SCHEMA_VERSION);
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -EIO;
}

/* Call back the commit_asyncs committed so far (a done may commit
 * again: those wait for the next call). */
static void store_done_run(struct store *s)
{
	struct store_done *v = s->done;
	size_t n = s->ndone;

	s->done = NULL;
	s->ndone = s->done_cap = 0;
	for (size_t i = 0; i < n; i++)
		v[i].fn(v[i].ctx, 0);
	free(v);
}

static void store_later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	store_done_run(w->data);
}

static void store_close(void *state)
{
	struct store *s = state;

	if (!s->db)
		return;
	/* what was committed is durable: said so before the file closes */
	while (s->ndone)
		store_done_run(s);
	if (s->loop)
		ev_timer_stop(s->loop, &s->later);
	s->loop = NULL;
	if (s->depth)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->depth = 0;
	sqlite3_close(s->db);
	s->db = NULL;
}

/* SQLite gives a database's -wal and -shm files the database's own mode:
 * a new database is created 0600 before SQLite opens it, so that none of
 * the three is ever open to others, whatever the umask. */
static int store_create_private(struct store *s, char *err, size_t errlen)
{
	int fd = open(s->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600), e;

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	e = errno;
	snprintf(err, errlen, "%s: %s", s->file, strerror(e));
	return -e;
}

/* An existing database (known to be ours: its schema was read) and its
 * -wal and -shm files that group or others may use are made 0600, with
 * a warning: they hold the controller's networks and members.  Called
 * with no connection open: closing any descriptor of a file drops every
 * POSIX lock the process holds on it, SQLite's among them, and another
 * process (the sqlite3 shell, a backup) would then reset the -shm under
 * our feet (SIGBUS) or write beside us. */
static int store_tighten(struct store *s, char *err, size_t errlen)
{
	static const char *const ext[] = { "", "-wal", "-shm" };
	char path[sizeof s->file + 8];
	size_t i;

	for (i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		int fd, e;

		snprintf(path, sizeof path, "%s%s", s->file, ext[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0) {
			e = errno;
			snprintf(err, errlen, "%s: %s", path, strerror(e));
			return -e;
		}
		e = zt_secret_protect(s->zi, fd, path);
		close(fd);
		if (e < 0) {
			snprintf(err, errlen, "%s: open to others and cannot be made 0600: %s", path,
				 strerror(-e));
			return e;
		}
	}
	return 0;
}

static int store_connect(struct store *s, char *err, size_t errlen)
{
	if (sqlite3_open_v2(s->file, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", s->file, s->db ? sqlite3_errmsg(s->db) : strerror(ENOMEM));
		return -EIO;
	}
	sqlite3_busy_timeout(s->db, 5000);
	return 0;
}

static int store_open(void *state, struct ev_loop *loop, const struct zt_store_user *user,
		      char *err, size_t errlen)
{
	struct store *s = state;
	int64_t version = 0;

	if (s->db) {
		snprintf(err, errlen, "%s: already open", s->file);
		return -EBUSY;
	}
	if (s->path)
		snprintf(s->file, sizeof s->file, "%s", s->path);
	else if (!user || !user->home ||
		 snprintf(s->file, sizeof s->file, "%s/controller.db", user->home) >= (int)sizeof s->file) {
		snprintf(err, errlen, "no home directory for controller.db: set path: <file>");
		return -EINVAL;
	}
	s->err[0] = 0;
	if (store_create_private(s, err, errlen) < 0)
		return -EIO;
	if (store_connect(s, err, errlen) < 0)
		goto fail;
	/* nothing is written before the file is known to be ours */
	if (store_version(s, &version) < 0) {
		snprintf(err, errlen, "%s: %s: refused, the file is left as it is", s->file, s->err);
		goto fail;
	}
	if (version > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: schema version %" PRId64 " is newer than this sqlite store's %d:"
			 " refused, the file is left as it is (use a newer zt)", s->file, version,
			 STORE_SCHEMA_VERSION);
		goto fail;
	}
	sqlite3_close(s->db);
	s->db = NULL;
	if (store_tighten(s, err, errlen) < 0 || store_connect(s, err, errlen) < 0)
		goto fail;
	if (store_exec(s, "PRAGMA journal_mode=WAL") < 0 ||
	    store_exec(s, "PRAGMA synchronous=FULL") < 0 ||
	    store_exec(s, "PRAGMA foreign_keys=ON") < 0 || store_migrate(s, version) < 0) {
		snprintf(err, errlen, "%s: %s", s->file, s->err);
		goto fail;
	}
	zt_log(s->zi, ZT_LOG_INFO, "%s: schema version %d", s->file, STORE_SCHEMA_VERSION);
	s->loop = loop;
	ev_timer_init(&s->later, store_later_cb, 0., 0.);
	s->later.data = s;
	return 0;
fail:
	sqlite3_close(s->db);
	s->db = NULL;
	return -EIO;
}

static int store_begin(void *state)
{
	struct store *s = state;
	if (s->depth++)
		return 0;
	s->failed = false;
	if (store_exec(s, "BEGIN IMMEDIATE") < 0) {
		s->depth = 0;
		return -EIO;
	}
	return 0;
}

static int store_commit(void *state)
{
	struct store *s = state;
	if (!s->depth)
		return -EINVAL;
	if (--s->depth)
		return s->failed ? -EIO : 0;
	if (s->failed) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -EIO;
	}
	if (store_exec(s, "COMMIT") < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -EIO;
	}
	(*s->commits)++;
	return 0;
}

static void store_rollback(void *state)
{
	struct store *s = state;
	if (!s->depth)
		return;
	s->failed = true;
	if (--s->depth)
		return;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* COMMIT now; done from the loop's next iteration, so that the user
 * answers after the COMMIT and never inside its own call. */
static int store_commit_async(void *state, void (*done)(void *ctx, int err), void *ctx)
{
	struct store *s = state;
	int err;

	if (s->depth != 1 || !s->loop) {
		snprintf(s->err, sizeof s->err, "commit_async: %s",
			 s->loop ? "not the outermost transaction" : "no loop to call back from");
		if (s->depth == 1)
			store_rollback(s);
		return -EINVAL;
	}
	/* room first: once committed, done must be called */
	if (s->ndone == s->done_cap) {
		size_t cap = s->done_cap ? 2 * s->done_cap : 16;
		struct store_done *v = realloc(s->done, cap * sizeof *v);

		if (!v) {
			snprintf(s->err, sizeof s->err, "commit_async: %s", strerror(ENOMEM));
			store_rollback(s);
			return -ENOMEM;
		}
		s->done = v;
		s->done_cap = cap;
	}
	if ((err = store_commit(s)) < 0)
		return err;
	s->done[s->ndone++] = (struct store_done){ done, ctx };
	ev_timer_start(s->loop, &s->later);
	return 0;
}

/* Run one write statement inside the current transaction. */
static int store_step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE) {
		store_set_err(s, what);
		return rc == SQLITE_CONSTRAINT ? -ENOENT : -EIO;
	}
	return 0;
}

/* ---- networks ---- */

static char *store_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? strdup((const char *)t) : NULL;
}

static void store_bind_text(sqlite3_stmt *st, int i, const char *t)
{
	if (t)
		sqlite3_bind_text(st, i, t, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void store_bind_hex(sqlite3_stmt *st, int i, uint64_t v, int digits)
{
	char buf[24];

	store_hex(buf, sizeof buf, v, digits);
	sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
}

static void store_bind_opt_addr(sqlite3_stmt *st, int i, bool has, uint64_t v)
{
	if (has)
		store_bind_hex(st, i, v, 10);
	else
		sqlite3_bind_null(st, i);
}

static void store_col_opt_addr(sqlite3_stmt *st, int i, bool *has, uint64_t *v)
{
	*has = store_parse_hex(sqlite3_column_text(st, i), v);
	if (!*has)
		*v = 0;
}

#define STORE_NET_COLS "id, name, private, enable_broadcast, mtu, multicast_limit, v4_zt," \
	" v6_rfc4193, v6_6plane, v6_zt, ip_pools, routes, rules, dns, auth_tokens," \
	" remote_trace_target, remote_trace_level, ctmd, revision, creation_time," \
	" rules_source, capabilities, tags"

static int store_network_get(void *state, uint64_t id, struct zt_store_network *out)
{
	struct store *s = state;
	sqlite3_stmt *st;
	struct zt_store_network n;
	int rc, err;

	if (store_prepare(s, "SELECT " STORE_NET_COLS " FROM networks WHERE id = ?1", &st) < 0)
		return -EIO;
	store_bind_hex(st, 1, id, 16);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		err = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		store_set_err(s, "select network");
		err = -EIO;
		goto out;
	}
	memset(&n, 0, sizeof n);
	n.id = id;
	n.name = store_col_text(st, 1);
	n.priv = sqlite3_column_int(st, 2);
	n.enable_broadcast = sqlite3_column_int(st, 3);
	n.mtu = (uint64_t)sqlite3_column_int64(st, 4);
	n.multicast_limit = (uint64_t)sqlite3_column_int64(st, 5);
	n.v4_zt = sqlite3_column_int(st, 6);
	n.v6_rfc4193 = sqlite3_column_int(st, 7);
	n.v6_6plane = sqlite3_column_int(st, 8);
	n.v6_zt = sqlite3_column_int(st, 9);
	n.pools = store_col_text(st, 10);
	n.routes = store_col_text(st, 11);
	n.rules = store_col_text(st, 12);
	n.dns = store_col_text(st, 13);
	n.auth_tokens = store_col_text(st, 14);
	store_col_opt_addr(st, 15, &n.has_trace_target, &n.trace_target);
	n.trace_level = (uint64_t)sqlite3_column_int64(st, 16);
	n.ctmd = sqlite3_column_int64(st, 17);
	n.revision = (uint64_t)sqlite3_column_int64(st, 18);
	n.creation_time = sqlite3_column_int64(st, 19);
	n.rules_source = store_col_text(st, 20);
	n.capabilities = store_col_text(st, 21);
	n.tags = store_col_text(st, 22);
	if (!n.name || !n.pools || !n.routes || !n.rules || !n.dns || !n.auth_tokens || !n.tags ||
	    !n.capabilities || (sqlite3_column_type(st, 20) != SQLITE_NULL && !n.rules_source)) {
		zt_store_network_clear(&n);
		err = -ENOMEM;
		goto out;
	}
	*out = n;
	err = 0;
out:
	sqlite3_finalize(st);
	return err;
}

static int store_network_put(void *state, const struct zt_store_network *n)
{
	struct store *s = state;
	sqlite3_stmt *st;
	int err;

	err = store_begin(s);
	if (err < 0)
		return err;
	err = store_prepare(s, "INSERT INTO networks (" STORE_NET_COLS ") VALUES"
			    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
			    " ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
			    " ON CONFLICT(id) DO UPDATE SET name = ?2, private = ?3,"
			    " enable_broadcast = ?4, mtu = ?5, multicast_limit = ?6, v4_zt = ?7,"
			    " v6_rfc4193 = ?8, v6_6plane = ?9, v6_zt = ?10, ip_pools = ?11,"
			    " routes = ?12, rules = ?13, dns = ?14, auth_tokens = ?15,"
			    " remote_trace_target = ?16, remote_trace_level = ?17, ctmd = ?18,"
			    " revision = ?19, creation_time = ?20, rules_source = ?21,"
			    " capabilities = ?22, tags = ?23", &st);
	if (err < 0)
		goto fail;
	store_bind_hex(st, 1, n->id, 16);
	store_bind_text(st, 2, n->name ? n->name : "");
	sqlite3_bind_int(st, 3, n->priv);
	sqlite3_bind_int(st, 4, n->enable_broadcast);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)n->mtu);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)n->multicast_limit);
	sqlite3_bind_int(st, 7, n->v4_zt);
	sqlite3_bind_int(st, 8, n->v6_rfc4193);
	sqlite3_bind_int(st, 9, n->v6_6plane);
	sqlite3_bind_int(st, 10, n->v6_zt);
	store_bind_text(st, 11, n->pools ? n->pools : "[]");
	store_bind_text(st, 12, n->routes ? n->routes : "[]");
	store_bind_text(st, 13, n->rules ? n->rules : "[]");
	store_bind_text(st, 14, n->dns ? n->dns : "[]");
	store_bind_text(st, 15, n->auth_tokens ? n->auth_tokens : "[null]");
	store_bind_opt_addr(st, 16, n->has_trace_target, n->trace_target);
	sqlite3_bind_int64(st, 17, (sqlite3_int64)n->trace_level);
	if (n->ctmd)
		sqlite3_bind_int64(st, 18, n->ctmd);
	else
		sqlite3_bind_null(st, 18);
	sqlite3_bind_int64(st, 19, (sqlite3_int64)n->revision);
	sqlite3_bind_int64(st, 20, n->creation_time);
	store_bind_text(st, 21, n->rules_source);
	store_bind_text(st, 22, n->capabilities ? n->capabilities : "[]");
	store_bind_text(st, 23, n->tags ? n->tags : "[]");
	err = store_step_done(s, st, "write network");
	sqlite3_finalize(st);
	if (err < 0)
		goto fail;
	return store_commit(s);
fail:
	store_rollback(s);
	return err;
}

static int store_delete_where(struct store *s, const char *sql, uint64_t nwid,
			      bool with_addr, uint64_t addr, int *changes)
{
	sqlite3_stmt *st;
	int err;

	if (store_prepare(s, sql, &st) < 0)
		return -EIO;
	store_bind_hex(st, 1, nwid, 16);
	if (with_addr)
		store_bind_hex(st, 2, addr, 10);
	err = store_step_done(s, st, "delete");
	sqlite3_finalize(st);
	if (changes)
		*changes = sqlite3_changes(s->db);
	return err;
}

static int store_network_delete(void *state, uint64_t id)
{
	struct store *s = state;
	int err, changes = 0;

	err = store_begin(s);
	if (err < 0)
		return err;
	/* the cascades would do it; say it so it also holds without them */
	err = store_delete_where(s, "DELETE FROM member_ips WHERE network_id = ?1", id, false, 0, NULL);
	if (!err)
		err = store_delete_where(s, "DELETE FROM members WHERE network_id = ?1", id, false, 0, NULL);
	if (!err)
		err = store_delete_where(s, "DELETE FROM networks WHERE id = ?1", id, false, 0, &changes);
	if (!err && !changes)
		err = -ENOENT;
	if (err < 0) {
		store_rollback(s);
		return err;
	}
	return store_commit(s);
}

static int store_network_ids(void *state, uint64_t **ids, size_t *n)
{
	struct store *s = state;
	sqlite3_stmt *st;
	uint64_t *v = NULL, *nv, id;
	size_t len = 0, cap = 0;
	int rc;

	if (store_prepare(s, "SELECT id FROM networks ORDER BY id", &st) < 0)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!store_parse_hex(sqlite3_column_text(st, 0), &id))
			continue;
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof *v);
			if (!nv) {
				free(v);
				sqlite3_finalize(st);
				return -ENOMEM;
			}
			v = nv;
		}
		v[len++] = id;
	}
	if (rc != SQLITE_DONE) {
		store_set_err(s, "list networks");
		free(v);
		sqlite3_finalize(st);
		return -EIO;
	}
	sqlite3_finalize(st);
	*ids = v;
	*n = len;
	return 0;
}

/* ---- members ---- */

#define STORE_MEM_COLS "network_id, address, identity, name, authorized, active_bridge," \
	" no_auto_assign_ips, remote_trace_target, remote_trace_level, last_authorized_time," \
	" last_deauthorized_time, last_authorized_credential_type, last_authorized_credential," \
	" v_major, v_minor, v_rev, v_proto, revision, creation_time, tags, capabilities"
/* what is read: the columns put() writes and last_seen, which only seen() writes */
#define STORE_MEM_READ STORE_MEM_COLS ", last_seen"

static int store_member_ips(struct store *s, struct zt_store_member *m)
{
	sqlite3_stmt *st;
	const unsigned char *t;
	int rc, err = 0;

	if (store_prepare(s, "SELECT ip FROM member_ips WHERE network_id = ?1 AND address = ?2"
			  " ORDER BY pos", &st) < 0)
		return -EIO;
	store_bind_hex(st, 1, m->nwid, 16);
	store_bind_hex(st, 2, m->address, 10);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t = sqlite3_column_text(st, 0);
		if (t && zt_store_member_add_ip(m, (const char *)t) < 0) {
			err = -ENOMEM;
			break;
		}
	}
	if (!err && rc != SQLITE_DONE) {
		store_set_err(s, "select member ips");
		err = -EIO;
	}
	sqlite3_finalize(st);
	return err;
}

/* A member from a row of STORE_MEM_READ, without its IPs. */
static int store_member_row(sqlite3_stmt *st, struct zt_store_member *m)
{
	memset(m, 0, sizeof *m);
	if (!store_parse_hex(sqlite3_column_text(st, 0), &m->nwid) ||
	    !store_parse_hex(sqlite3_column_text(st, 1), &m->address))
		return -EINVAL;
	m->identity = store_col_text(st, 2);
	m->name = store_col_text(st, 3);
	m->authorized = sqlite3_column_int(st, 4);
	m->active_bridge = sqlite3_column_int(st, 5);
	m->no_auto_assign_ips = sqlite3_column_int(st, 6);
	store_col_opt_addr(st, 7, &m->has_trace_target, &m->trace_target);
	m->trace_level = (uint64_t)sqlite3_column_int64(st, 8);
	m->last_authorized_time = sqlite3_column_int64(st, 9);
	m->last_deauthorized_time = sqlite3_column_int64(st, 10);
	m->auth_cred_type = store_col_text(st, 11);
	m->auth_cred = store_col_text(st, 12);
	m->v_major = sqlite3_column_int(st, 13);
	m->v_minor = sqlite3_column_int(st, 14);
	m->v_rev = sqlite3_column_int(st, 15);
	m->v_proto = sqlite3_column_int(st, 16);
	m->revision = (uint64_t)sqlite3_column_int64(st, 17);
	m->creation_time = sqlite3_column_int64(st, 18);
	m->tags = store_col_text(st, 19);
	m->capabilities = store_col_text(st, 20);
	m->last_seen = sqlite3_column_int64(st, 21);
	if ((sqlite3_column_type(st, 2) != SQLITE_NULL && !m->identity) ||
	    (sqlite3_column_type(st, 3) != SQLITE_NULL && !m->name) ||
	    (sqlite3_column_type(st, 11) != SQLITE_NULL && !m->auth_cred_type) ||
	    (sqlite3_column_type(st, 12) != SQLITE_NULL && !m->auth_cred) || !m->tags || !m->capabilities) {
		zt_store_member_clear(m);
		return -ENOMEM;
	}
	return 0;
}

static int store_member_get(void *state, uint64_t nwid, uint64_t address, struct zt_store_member *out)
{
	struct store *s = state;
	sqlite3_stmt *st;
	struct zt_store_member m;
	int rc, err;

	if (store_prepare(s, "SELECT " STORE_MEM_READ " FROM members"
			  " WHERE network_id = ?1 AND address = ?2", &st) < 0)
		return -EIO;
	store_bind_hex(st, 1, nwid, 16);
	store_bind_hex(st, 2, address, 10);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		return -ENOENT;
	}
	if (rc != SQLITE_ROW) {
		store_set_err(s, "select member");
		sqlite3_finalize(st);
		return -EIO;
	}
	err = store_member_row(st, &m);
	sqlite3_finalize(st);
	if (err == -EINVAL)
		return -ENOENT;
	if (err < 0)
		return err;
	err = store_member_ips(s, &m);
	if (err < 0) {
		zt_store_member_clear(&m);
		return err;
	}
	*out = m;
	return 0;
}

static int store_member_put(void *state, const struct zt_store_member *m)
{
	struct store *s = state;
	sqlite3_stmt *st;
	size_t i;
	int err;

	err = store_begin(s);
	if (err < 0)
		return err;
	err = store_prepare(s, "INSERT INTO members (" STORE_MEM_COLS ") VALUES"
			    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
			    " ?16, ?17, ?18, ?19, ?20, ?21)"
			    " ON CONFLICT(network_id, address) DO UPDATE SET identity = ?3,"
			    " name = ?4, authorized = ?5, active_bridge = ?6, no_auto_assign_ips = ?7,"
			    " remote_trace_target = ?8, remote_trace_level = ?9,"
			    " last_authorized_time = ?10, last_deauthorized_time = ?11,"
			    " last_authorized_credential_type = ?12, last_authorized_credential = ?13,"
			    " v_major = ?14, v_minor = ?15, v_rev = ?16, v_proto = ?17,"
			    " revision = ?18, creation_time = ?19, tags = ?20, capabilities = ?21", &st);
	if (err < 0)
		goto fail;
	store_bind_hex(st, 1, m->nwid, 16);
	store_bind_hex(st, 2, m->address, 10);
	store_bind_text(st, 3, m->identity);
	store_bind_text(st, 4, m->name);
	sqlite3_bind_int(st, 5, m->authorized);
	sqlite3_bind_int(st, 6, m->active_bridge);
	sqlite3_bind_int(st, 7, m->no_auto_assign_ips);
	store_bind_opt_addr(st, 8, m->has_trace_target, m->trace_target);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)m->trace_level);
	sqlite3_bind_int64(st, 10, m->last_authorized_time);
	sqlite3_bind_int64(st, 11, m->last_deauthorized_time);
	store_bind_text(st, 12, m->auth_cred_type);
	store_bind_text(st, 13, m->auth_cred);
	sqlite3_bind_int(st, 14, m->v_major);
	sqlite3_bind_int(st, 15, m->v_minor);
	sqlite3_bind_int(st, 16, m->v_rev);
	sqlite3_bind_int(st, 17, m->v_proto);
	sqlite3_bind_int64(st, 18, (sqlite3_int64)m->revision);
	sqlite3_bind_int64(st, 19, m->creation_time);
	store_bind_text(st, 20, m->tags ? m->tags : "[]");
	store_bind_text(st, 21, m->capabilities ? m->capabilities : "[]");
	err = store_step_done(s, st, "write member");
	sqlite3_finalize(st);
	if (err < 0)
		goto fail;
	err = store_delete_where(s, "DELETE FROM member_ips WHERE network_id = ?1 AND address = ?2",
				 m->nwid, true, m->address, NULL);
	if (err < 0)
		goto fail;
	if (m->nips) {
		err = store_prepare(s, "INSERT INTO member_ips (network_id, address, pos, ip)"
				    " VALUES (?1, ?2, ?3, ?4)", &st);
		if (err < 0)
			goto fail;
		store_bind_hex(st, 1, m->nwid, 16);
		store_bind_hex(st, 2, m->address, 10);
		for (i = 0; i < m->nips && !err; i++) {
			sqlite3_bind_int64(st, 3, (sqlite3_int64)i);
			store_bind_text(st, 4, m->ips[i]);
			err = store_step_done(s, st, "write member ip");
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
		if (err < 0)
			goto fail;
	}
	return store_commit(s);
fail:
	store_rollback(s);
	return err;
}

static int store_member_delete(void *state, uint64_t nwid, uint64_t address)
{
	struct store *s = state;
	int err, changes = 0;

	err = store_begin(s);
	if (err < 0)
		return err;
	err = store_delete_where(s, "DELETE FROM member_ips WHERE network_id = ?1 AND address = ?2",
				 nwid, true, address, NULL);
	if (!err)
		err = store_delete_where(s, "DELETE FROM members WHERE network_id = ?1 AND address = ?2",
					 nwid, true, address, &changes);
	if (!err && !changes)
		err = -ENOENT;
	if (err < 0) {
		store_rollback(s);
		return err;
	}
	return store_commit(s);
}

static int store_member_each(void *state, uint64_t nwid,
		      int (*fn)(void *ctx, const struct zt_store_member *m), void *ctx)
{
	struct store *s = state;
	sqlite3_stmt *st;
	struct zt_store_member m;
	int rc, err = 0;

	if (store_prepare(s, "SELECT " STORE_MEM_READ " FROM members WHERE network_id = ?1"
			  " ORDER BY address", &st) < 0)
		return -EIO;
	store_bind_hex(st, 1, nwid, 16);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = store_member_row(st, &m);
		if (err == -EINVAL) {
			err = 0;
			continue;
		}
		if (!err)
			err = store_member_ips(s, &m);
		if (!err)
			err = fn(ctx, &m);
		zt_store_member_clear(&m);
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE) {
		store_set_err(s, "list members");
		err = -EIO;
	}
	sqlite3_finalize(st);
	return err;
}

static int store_member_bridges(void *state, uint64_t nwid, uint64_t *out, size_t max, size_t *n)
{
	struct store *s = state;
	sqlite3_stmt *st;
	size_t found = 0;
	int rc, err = 0;

	/* the WHERE is the index's own: sqlite reads members_bridges only */
	if (store_prepare(s, "SELECT address FROM members INDEXED BY members_bridges WHERE network_id = ?1"
			  " AND active_bridge != 0 AND authorized != 0 ORDER BY address LIMIT ?2", &st) < 0)
		return -EIO;
	store_bind_hex(st, 1, nwid, 16);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (store_parse_hex(sqlite3_column_text(st, 0), &out[found]))
			found++;
	if (rc != SQLITE_DONE) {
		store_set_err(s, "list bridges");
		err = -EIO;
	} else {
		*n = found;
	}
	sqlite3_finalize(st);
	return err;
}

static int store_member_count(void *state, uint64_t nwid, size_t *total, size_t *authorized)
{
	struct store *s = state;
	sqlite3_stmt *st;
	int err = 0;

	if (store_prepare(s, "SELECT count(*), coalesce(sum(authorized != 0), 0) FROM members"
			  " WHERE network_id = ?1", &st) < 0)
		return -EIO;
	store_bind_hex(st, 1, nwid, 16);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*total = (size_t)sqlite3_column_int64(st, 0);
		*authorized = (size_t)sqlite3_column_int64(st, 1);
	} else {
		store_set_err(s, "count members");
		err = -EIO;
	}
	sqlite3_finalize(st);
	return err;
}

static int store_ip_holder(void *state, uint64_t nwid, const char *ip, uint64_t *address)
{
	struct store *s = state;
	sqlite3_stmt *st;
	int rc, err;

	if (store_prepare(s, "SELECT address FROM member_ips WHERE network_id = ?1 AND ip = ?2"
			  " ORDER BY address LIMIT 1", &st) < 0)
		return -EIO;
	store_bind_hex(st, 1, nwid, 16);
	store_bind_text(st, 2, ip);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = store_parse_hex(sqlite3_column_text(st, 0), address) ? 0 : -ENOENT;
	else if (rc == SQLITE_DONE)
		err = -ENOENT;
	else {
		store_set_err(s, "select ip");
		err = -EIO;
	}
	sqlite3_finalize(st);
	return err;
}

/* ---- last seen, in batches ---- */

static int store_seen(void *state, const struct zt_store_seen *seen, size_t n)
{
	struct store *s = state;
	sqlite3_stmt *st;
	int err;

	err = store_begin(s);
	if (err < 0)
		return err;
	err = store_prepare(s, "UPDATE members SET last_seen = max(last_seen, ?3)"
			    " WHERE network_id = ?1 AND address = ?2", &st);
	for (size_t i = 0; i < n && !err; i++) {
		store_bind_hex(st, 1, seen[i].nwid, 16);
		store_bind_hex(st, 2, seen[i].address, 10);
		sqlite3_bind_int64(st, 3, seen[i].time);
		err = store_step_done(s, st, "write last seen");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (err < 0) {
		store_rollback(s);
		return err;
	}
	return store_commit(s);
}

/* ---- the module ---- */

static void store_destroy(void *state)
{
	struct store *s = state;

	if (!s)
		return;
	store_close(s);
	free(s->path);
	free(s);
}

static int store_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	const char *path = zt_conf_str(conf, "path");
	struct store *s;

	if (path && !*path) {
		zt_node_error(zt_node_get(conf, "path"), "must be a file name");
		return -EINVAL;
	}
	s = calloc(1, sizeof *s);
	if (!s || (path && !(s->path = strdup(path)))) {
		free(s);
		return -ENOMEM;
	}
	s->zi = zi;
	s->commits = zt_counter(zi, "commits");
	*state = s;
	return 0;
}

static const struct zt_store_ops store_ops = {
	.open = store_open,
	.close = store_close,
	.error = store_error,
	.begin = store_begin,
	.commit = store_commit,
	.rollback = store_rollback,
	.network_get = store_network_get,
	.network_put = store_network_put,
	.network_delete = store_network_delete,
	.network_ids = store_network_ids,
	.member_get = store_member_get,
	.member_put = store_member_put,
	.member_delete = store_member_delete,
	.member_each = store_member_each,
	.member_count = store_member_count,
	.member_bridges = store_member_bridges,
	.ip_holder = store_ip_holder,
	.seen = store_seen,
	.commit_async = store_commit_async,
	.reads_own_writes = true,
};

static const struct zt_opt store_opts[] = {
	ZT_OPT_STR("path", NULL, "the database file, default <home>/controller.db"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI,
	.name = "sqlite",
	.kind = ZT_STORE,
	.summary = "a store in one SQLite file (WAL, versioned schema)",
	.opts = store_opts,
	.create = store_create,
	.destroy = store_destroy,
	.ops.store = &store_ops,
};
