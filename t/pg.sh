# A private PostgreSQL 15 for one test.  Source after tap.sh.
#
# The server runs as an unprivileged user (the `postgres` system user the
# postgresql-15 package creates, else `nobody`; the test's own user when it
# is not root), from a data directory under /tmp/zt-pg.<test's PID>, and
# listens only on a Unix socket in that directory: no TCP at all
# (listen_addresses is empty), so nothing outside the machine can reach it
# and parallel tests never share a socket.  The port only names the socket
# file; it is still drawn from the PID so that two servers' SysV
# shared-memory keys do not start at the same place.  Everything is named
# by the test's PID ($$, the same in its subshells), so a server started
# inside $(...) is the one the test's EXIT trap stops.
#
#   pg_start                 initdb and start (once per test), create
#                            database zt; exports PG_CONNINFO
#   pg_db NAME               create database NAME if missing; prints its conninfo
#   pg_psql SQL [CONNINFO]   run SQL (psql -Atq), in database zt by default
#   pg_server_stop [MODE]    stop the server (pg_ctl -m MODE, default fast)
#   pg_server_start          start it again on the same socket and data
#   pg_cleanup               stop and remove everything: call it from the
#                            test's EXIT trap (t/store.sh's zt_store_cleanup
#                            does)
#   zt_pg_stanza DIR         for t/store.sh: the controller's store: mapping,
#                            one database per DIR
#
# A test that cannot find the binaries bails: setup.sh installs them, and
# a database test never skips.

pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=/tmp/zt-pg.$$
PG_PORT=$((20000 + $$ % 40000))
PG_CONNINFO="host=$PG_DIR/sock port=$PG_PORT user=zt dbname=zt"
export PG_CONNINFO
pg_user=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
	pg_user=nobody
	id postgres > /dev/null 2>&1 && pg_user=postgres
fi

# pg_as CMD...: run CMD as the server's user, from a directory it can read
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$PG_DIR" && runuser -u "$pg_user" -- "$@")
	else
		(cd "$PG_DIR" && "$@")
	fi
}

pg_cleanup() {
	[ -d "$PG_DIR" ] || return 0
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pg_as "$pg_bin/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop > /dev/null 2>&1
	fi
	if [ -n "${ZT_KEEP_LAB:-}" ]; then echo "# kept $PG_DIR"; else rm -rf "$PG_DIR"; fi
}
zt_pg_cleanup() { pg_cleanup; }

pg_server_start() {
	if ! pg_as "$pg_bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 120 start > /dev/null; then
		sed 's/^/# /' "$PG_DIR/log"
		bail "postgres did not start"
	fi
}

pg_server_stop() {
	pg_as "$pg_bin/pg_ctl" -D "$PG_DIR/data" -m "${1:-fast}" -w -t 120 stop > /dev/null
}

pg_psql() {
	"$pg_bin/psql" -X -Atq -v ON_ERROR_STOP=1 "${2:-$PG_CONNINFO}" -c "$1"
}

pg_start() {
	[ -f "$PG_DIR/ready" ] && return 0
	[ -x "$pg_bin/initdb" ] && [ -x "$pg_bin/pg_ctl" ] ||
		bail "no PostgreSQL 15 in $pg_bin (scripts/setup.sh installs postgresql-15)"
	# a directory left by an earlier process of this PID
	pg_cleanup
	mkdir -m 755 "$PG_DIR" || bail "mkdir $PG_DIR"
	mkdir "$PG_DIR/data" "$PG_DIR/sock"
	: > "$PG_DIR/log"
	[ "$(id -u)" -eq 0 ] && chown "$pg_user" "$PG_DIR/data" "$PG_DIR/sock" "$PG_DIR/log"
	chmod 700 "$PG_DIR/data"
	if ! pg_as "$pg_bin/initdb" -D "$PG_DIR/data" -U zt --auth=trust -E UTF8 --locale=C \
			--no-sync > "$PG_DIR/initdb.log" 2>&1; then
		sed 's/^/# /' "$PG_DIR/initdb.log"
		bail "initdb failed"
	fi
	# Unix socket only; small, and fast rather than crash-safe (fsync
	# protects against the machine failing, which no test does)
	cat >> "$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $PG_PORT
unix_socket_directories = '$PG_DIR/sock'
max_connections = 40
shared_buffers = 16MB
fsync = off
full_page_writes = off
log_min_messages = warning
CONF
	pg_server_start
	"$pg_bin/createdb" -h "$PG_DIR/sock" -p "$PG_PORT" -U zt zt || bail "createdb failed"
	: > "$PG_DIR/ready"
}

pg_db() {
	pg_start
	if [ -z "$(pg_psql "SELECT 1 FROM pg_database WHERE datname = '$1'")" ]; then
		"$pg_bin/createdb" -h "$PG_DIR/sock" -p "$PG_PORT" -U zt "$1" || bail "createdb $1 failed"
	fi
	echo "host=$PG_DIR/sock port=$PG_PORT user=zt dbname=$1"
}

# pg_freeze, pg_thaw: stop (SIGSTOP) and continue the server's processes,
# the postmaster and its children: a database that answers nothing
pg_pids() {
	pm=$(head -1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || return 0
	echo "$pm $(pgrep -P "$pm" | tr '\n' ' ')"
}
pg_freeze() { kill -STOP $(pg_pids); }
pg_thaw() { [ -f "$PG_DIR/data/postmaster.pid" ] && kill -CONT $(pg_pids) 2>/dev/null; return 0; }

zt_pg_stanza() {
	db=zt_$(printf '%s' "$1" | md5sum | cut -c1-12)
	ci=$(pg_db "$db") || return 1
	printf '{ use: postgres, conninfo: "%s" }\n' "$ci"
}
