/* The postgres store's schema and statements (schema.h).
 *
 * The data model is the sqlite store's: network ids and member addresses
 * as lowercase hex text (16 and 10 digits), the lists the controller
 * interprets as JSON text kept verbatim, a member's IPs in a table of
 * their own in order.  Triggers notify PG_CHANNEL of every change to a
 * network or member, whoever made it (the other controller of a pair,
 * an operator's psql), except a member's last_seen alone: that is
 * written in batches and interests nobody else. */
#include "config.h"

#include "schema.h"

const char *const pg_migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE networks ("
	" id text PRIMARY KEY,"
	" name text NOT NULL DEFAULT '',"
	" private boolean NOT NULL DEFAULT true,"
	" enable_broadcast boolean NOT NULL DEFAULT true,"
	" mtu bigint NOT NULL DEFAULT 2800,"
	" multicast_limit bigint NOT NULL DEFAULT 32,"
	" v4_zt boolean NOT NULL DEFAULT false,"
	" v6_rfc4193 boolean NOT NULL DEFAULT false,"
	" v6_6plane boolean NOT NULL DEFAULT false,"
	" v6_zt boolean NOT NULL DEFAULT false,"
	" ip_pools text NOT NULL DEFAULT '[]',"
	" routes text NOT NULL DEFAULT '[]',"
	" rules text NOT NULL DEFAULT '[]',"
	" dns text NOT NULL DEFAULT '[]',"
	" auth_tokens text NOT NULL DEFAULT '[null]',"
	" remote_trace_target text,"
	" remote_trace_level bigint NOT NULL DEFAULT 0,"
	" ctmd bigint,"
	" revision bigint NOT NULL,"
	" creation_time bigint NOT NULL);"
	"CREATE TABLE members ("
	" network_id text NOT NULL REFERENCES networks(id) ON DELETE CASCADE,"
	" address text NOT NULL,"
	" identity text,"
	" name text,"
	" authorized boolean NOT NULL DEFAULT false,"
	" active_bridge boolean NOT NULL DEFAULT false,"
	" no_auto_assign_ips boolean NOT NULL DEFAULT false,"
	" remote_trace_target text,"
	" remote_trace_level bigint NOT NULL DEFAULT 0,"
	" last_authorized_time bigint NOT NULL DEFAULT 0,"
	" last_deauthorized_time bigint NOT NULL DEFAULT 0,"
	" last_authorized_credential_type text,"
	" last_authorized_credential text,"
	" v_major integer NOT NULL DEFAULT -1,"
	" v_minor integer NOT NULL DEFAULT -1,"
	" v_rev integer NOT NULL DEFAULT -1,"
	" v_proto integer NOT NULL DEFAULT -1,"
	" revision bigint NOT NULL,"
	" creation_time bigint NOT NULL,"
	" last_seen bigint NOT NULL DEFAULT 0,"
	" PRIMARY KEY (network_id, address));"
	"CREATE TABLE member_ips ("
	" network_id text NOT NULL,"
	" address text NOT NULL,"
	" pos integer NOT NULL,"
	" ip text NOT NULL,"
	" PRIMARY KEY (network_id, address, pos),"
	" FOREIGN KEY (network_id, address) REFERENCES members(network_id, address)"
	"  ON DELETE CASCADE);"
	"CREATE INDEX member_ips_by_ip ON member_ips(network_id, ip);"
	"CREATE FUNCTION zt_store_notify() RETURNS trigger LANGUAGE plpgsql AS $$"
	" DECLARE r record;"
	" BEGIN"
	"  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;"
	"  IF TG_TABLE_NAME = 'networks' THEN"
	"   PERFORM pg_notify('" PG_CHANNEL "', 'n ' || r.id);"
	"  ELSE"
	"   PERFORM pg_notify('" PG_CHANNEL "', 'm ' || r.network_id || ' ' || r.address);"
	"  END IF;"
	"  RETURN NULL;"
	" END $$;"
	"CREATE TRIGGER networks_notify AFTER INSERT OR UPDATE OR DELETE ON networks"
	" FOR EACH ROW EXECUTE FUNCTION zt_store_notify();"
	"CREATE TRIGGER members_notify AFTER INSERT OR DELETE OR UPDATE OF"
	" identity, name, authorized, active_bridge, no_auto_assign_ips, remote_trace_target,"
	" remote_trace_level, last_authorized_time, last_deauthorized_time,"
	" last_authorized_credential_type, last_authorized_credential, v_major, v_minor,"
	" v_rev, v_proto, revision, creation_time ON members"
	" FOR EACH ROW EXECUTE FUNCTION zt_store_notify();",
	/* 1 -> 2: the flow rules (zt-rules(7), networks.md §8.6, §8.7): a
	 * network's rules source (NULL: none), its tag definitions and
	 * capabilities, a member's tags and capability ids, as JSON; a
	 * member's are changes the other controller must hear of */
	"ALTER TABLE networks ADD COLUMN rules_source text,"
	" ADD COLUMN capabilities text NOT NULL DEFAULT '[]',"
	" ADD COLUMN tags text NOT NULL DEFAULT '[]';"
	"ALTER TABLE members ADD COLUMN tags text NOT NULL DEFAULT '[]',"
	" ADD COLUMN capabilities text NOT NULL DEFAULT '[]';"
	"DROP TRIGGER members_notify ON members;"
	"CREATE TRIGGER members_notify AFTER INSERT OR DELETE OR UPDATE OF"
	" identity, name, authorized, active_bridge, no_auto_assign_ips, remote_trace_target,"
	" remote_trace_level, last_authorized_time, last_deauthorized_time,"
	" last_authorized_credential_type, last_authorized_credential, v_major, v_minor,"
	" v_rev, v_proto, revision, creation_time, tags, capabilities ON members"
	" FOR EACH ROW EXECUTE FUNCTION zt_store_notify();",
	/* 2 -> 3: the authorized active bridges, which every config lists
	 * (the sqlite store's schema 3): found in an index, not by reading
	 * every member of the network; in parentheses, as clang asks of
	 * a two-line literal that could be a missing comma */
	("CREATE INDEX IF NOT EXISTS members_bridges ON members(network_id, address)"
	 " WHERE active_bridge AND authorized;"),
};

const size_t pg_schema_nmigrations = sizeof pg_migrations / sizeof pg_migrations[0];

#define PG_NET_COLS "id, name, private, enable_broadcast, mtu, multicast_limit, v4_zt," \
	" v6_rfc4193, v6_6plane, v6_zt, ip_pools, routes, rules, dns, auth_tokens," \
	" remote_trace_target, remote_trace_level, ctmd, revision, creation_time," \
	" rules_source, capabilities, tags"
#define PG_MEM_COLS "network_id, address, identity, name, authorized, active_bridge," \
	" no_auto_assign_ips, remote_trace_target, remote_trace_level, last_authorized_time," \
	" last_deauthorized_time, last_authorized_credential_type, last_authorized_credential," \
	" v_major, v_minor, v_rev, v_proto, revision, creation_time, tags, capabilities"

const char *const pg_member_cols[PG_MEM_NCOLS - 1] = {
	"network_id", "address", "identity", "name", "authorized", "active_bridge",
	"no_auto_assign_ips", "remote_trace_target", "remote_trace_level", "last_authorized_time",
	"last_deauthorized_time", "last_authorized_credential_type", "last_authorized_credential",
	"v_major", "v_minor", "v_rev", "v_proto", "revision", "creation_time", "tags", "capabilities",
};

const struct pg_statement pg_statements[PG_NSTMTS] = {
	[PG_NET_ALL] = { "net_all", "SELECT " PG_NET_COLS " FROM networks ORDER BY id", 0 },
	[PG_NET_GET] = { "net_get", "SELECT " PG_NET_COLS " FROM networks WHERE id = $1", 1 },
	[PG_NET_PUT] = { "net_put",
		"INSERT INTO networks (" PG_NET_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
		" $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
		" ON CONFLICT (id) DO UPDATE SET name = $2, private = $3, enable_broadcast = $4,"
		" mtu = $5, multicast_limit = $6, v4_zt = $7, v6_rfc4193 = $8, v6_6plane = $9,"
		" v6_zt = $10, ip_pools = $11, routes = $12, rules = $13, dns = $14,"
		" auth_tokens = $15, remote_trace_target = $16, remote_trace_level = $17,"
		" ctmd = $18, revision = $19, creation_time = $20, rules_source = $21,"
		" capabilities = $22, tags = $23", 23 },
	[PG_NET_DELETE] = { "net_delete", "DELETE FROM networks WHERE id = $1", 1 },
	[PG_MEM_ALL] = { "mem_all", "SELECT " PG_MEM_COLS ", last_seen FROM members"
		" ORDER BY network_id, address", 0 },
	[PG_MEM_GET] = { "mem_get", "SELECT " PG_MEM_COLS ", last_seen FROM members"
		" WHERE network_id = $1 AND address = $2", 2 },
	[PG_MEM_PUT] = { "mem_put",
		"INSERT INTO members (" PG_MEM_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
		" $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
		" ON CONFLICT (network_id, address) DO UPDATE SET identity = $3, name = $4,"
		" authorized = $5, active_bridge = $6, no_auto_assign_ips = $7,"
		" remote_trace_target = $8, remote_trace_level = $9, last_authorized_time = $10,"
		" last_deauthorized_time = $11, last_authorized_credential_type = $12,"
		" last_authorized_credential = $13, v_major = $14, v_minor = $15, v_rev = $16,"
		" v_proto = $17, revision = greatest(members.revision + 1, $18), creation_time = $19,"
		" tags = $20, capabilities = $21"
		" RETURNING revision", 21 },
	/* the row is still the copy the write was made from */
	[PG_MEM_CAS] = { "mem_cas",
		"UPDATE members SET identity = $3, name = $4,"
		" authorized = $5, active_bridge = $6, no_auto_assign_ips = $7,"
		" remote_trace_target = $8, remote_trace_level = $9, last_authorized_time = $10,"
		" last_deauthorized_time = $11, last_authorized_credential_type = $12,"
		" last_authorized_credential = $13, v_major = $14, v_minor = $15, v_rev = $16,"
		" v_proto = $17, revision = $18, creation_time = $19, tags = $20, capabilities = $21"
		" WHERE network_id = $1 AND address = $2 AND revision = $22", 22 },
	[PG_MEM_DELETE] = { "mem_delete",
		"DELETE FROM members WHERE network_id = $1 AND address = $2", 2 },
	[PG_IPS_ALL] = { "ips_all", "SELECT network_id, address, ip FROM member_ips"
		" ORDER BY network_id, address, pos", 0 },
	[PG_IPS_GET] = { "ips_get", "SELECT ip FROM member_ips"
		" WHERE network_id = $1 AND address = $2 ORDER BY pos", 2 },
	[PG_IPS_CLEAR] = { "ips_clear",
		"DELETE FROM member_ips WHERE network_id = $1 AND address = $2", 2 },
	[PG_IPS_PUT] = { "ips_put",
		"INSERT INTO member_ips (network_id, address, pos, ip)"
		" SELECT $1, $2, o - 1, ip FROM unnest($3::text[]) WITH ORDINALITY AS u(ip, o)", 3 },
	[PG_SEEN] = { "seen",
		"UPDATE members m SET last_seen = greatest(m.last_seen, v.t)"
		" FROM unnest($1::text[], $2::text[], $3::bigint[]) AS v(n, a, t)"
		" WHERE m.network_id = v.n AND m.address = v.a", 3 },
	[PG_LOCK] = { "lock", "SELECT pg_try_advisory_lock($1::bigint)", 1 },
};
