# A private PostgreSQL 15 for one test.  Source after tap.sh.
#
# The server runs as an unprivileged user (the `postgres` system user the
# postgresql-15 package creates, else `nobody`; the test's own user when it
# is not root), from a data directory in a fresh temporary directory, and
# listens only on a Unix socket in that directory: no TCP at all
# (listen_addresses is empty), so nothing outside the machine can reach it
# and parallel tests never share a socket.  The port only names the socket
# file; it is still drawn from the test's PID so that two servers' SysV
# shared-memory keys do not start at the same place.
#
#   pg_start                 initdb, start, create database zt; sets
#                            PG_CONNINFO (exported), PG_DIR, PG_PORT
#   pg_psql SQL              run SQL in the test's database (psql -Atq)
#   pg_server_stop [MODE]    stop the server (pg_ctl -m MODE, default fast)
#   pg_server_start          start it again on the same socket and data
#   pg_cleanup               stop and remove everything (the EXIT trap;
#                            a test with a trap of its own calls it there)
#
# A test that cannot find the binaries bails: setup.sh installs them, and
# a database test never skips.

pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=""
PG_PORT=""
PG_CONNINFO=""

# pg_as CMD...: run CMD as the server's user, from a directory it can read
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$PG_DIR" && runuser -u "$pg_user" -- "$@")
	else
		(cd "$PG_DIR" && "$@")
	fi
}

pg_cleanup() {
	[ -n "$PG_DIR" ] && [ -d "$PG_DIR" ] || return 0
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pg_as "$pg_bin/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop > /dev/null 2>&1
	fi
	if [ -n "${ZT_KEEP_LAB:-}" ]; then echo "# kept $PG_DIR"; else rm -rf "$PG_DIR"; fi
	PG_DIR=""
}
trap pg_cleanup EXIT
trap 'exit 1' INT TERM

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
	"$pg_bin/psql" -X -Atq -v ON_ERROR_STOP=1 "$PG_CONNINFO" -c "$1"
}

pg_start() {
	[ -x "$pg_bin/initdb" ] && [ -x "$pg_bin/pg_ctl" ] ||
		bail "no PostgreSQL 15 in $pg_bin (scripts/setup.sh installs postgresql-15)"
	pg_user=$(id -un)
	if [ "$(id -u)" -eq 0 ]; then
		pg_user=nobody
		id postgres > /dev/null 2>&1 && pg_user=postgres
	fi
	PG_DIR=$(mktemp -d /tmp/zt-pg.XXXXXX) || bail "mktemp"
	chmod 755 "$PG_DIR"
	mkdir "$PG_DIR/data" "$PG_DIR/sock"
	: > "$PG_DIR/log"
	[ "$(id -u)" -eq 0 ] && chown "$pg_user" "$PG_DIR/data" "$PG_DIR/sock" "$PG_DIR/log"
	chmod 700 "$PG_DIR/data"
	PG_PORT=$((20000 + $$ % 40000))
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
	PG_CONNINFO="host=$PG_DIR/sock port=$PG_PORT user=zt dbname=zt"
	export PG_CONNINFO
	"$pg_bin/createdb" -h "$PG_DIR/sock" -p "$PG_PORT" -U zt zt ||
		bail "createdb failed"
}
