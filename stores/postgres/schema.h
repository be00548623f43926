/* The postgres store's SQL: the schema as an ordered list of migrations
 * and every statement the store runs, prepared once per connection. */
#ifndef ZT_STORES_POSTGRES_SCHEMA_H
#define ZT_STORES_POSTGRES_SCHEMA_H

#include <stddef.h>

/* Migration i (from 0) takes the schema from version i to i + 1; the
 * newest version this build knows is pg_schema_nmigrations. */
extern const char *const pg_migrations[];
extern const size_t pg_schema_nmigrations;

/* The channel the tables' triggers notify on; payloads are
 * "n <nwid>" and "m <nwid> <address>" (hex, as stored). */
#define PG_CHANNEL "zt_store"

/* Prepared statements, by index into pg_statements. */
enum pg_stmt {
	PG_NET_ALL,             /* -> network columns, every network */
	PG_NET_GET,             /* id -> network columns */
	PG_NET_PUT,             /* network columns */
	PG_NET_DELETE,          /* id */
	PG_MEM_ALL,             /* -> member columns, every member by network, address */
	PG_MEM_GET,             /* nwid, address -> member columns */
	PG_MEM_PUT,             /* member columns (not last_seen) -> revision */
	PG_MEM_CAS,             /* member columns, the revision replaced */
	PG_MEM_DELETE,          /* nwid, address */
	PG_IPS_ALL,             /* -> nwid, address, ip, every IP in order */
	PG_IPS_GET,             /* nwid, address -> ip in order */
	PG_IPS_CLEAR,           /* nwid, address */
	PG_IPS_PUT,             /* nwid, address, ip text[] (position = index) */
	PG_SEEN,                /* nwid text[], address text[], time bigint[] */
	PG_LOCK,                /* key -> whether this session now holds it */
	PG_NSTMTS
};

struct pg_statement {
	const char *name;
	const char *sql;
	int nparams;
};

extern const struct pg_statement pg_statements[PG_NSTMTS];

/* Column order of the network and member statements. */
#define PG_NET_NCOLS 23
#define PG_MEM_NCOLS 22

/* The member columns a put writes, by name, in the statements' order
 * (PG_MEM_NCOLS - 1: not last_seen); revision is at PG_COL_REVISION. */
extern const char *const pg_member_cols[];
#define PG_COL_REVISION 17

#endif
