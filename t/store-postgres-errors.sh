#!/bin/sh
# The postgres store's bad cases: a conninfo libpq cannot parse is a
# config error at its line; a database unreachable at start is named
# (without its password) and retried with backoff until it comes, then
# used; a schema newer than the store's is refused, naming both versions,
# and left as it was; a version 2 schema is migrated to 3 (the index of
# active bridges).
#
#   ztd: udp 127.0.0.1:<any>, controller on postgres, api 127.0.0.1:<any>
. "$srcdir/t/tap.sh"
. "$srcdir/t/pg.sh"

tmp=$(mktemp -d) || bail "mktemp"
pid=""
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; pg_cleanup; rm -rf "$tmp"' EXIT
plan 11

home=$tmp/ctl
mkdir -p "$home"
sed -n 's/^planet_v1_hex: //p' "$VECTORS/planet-testbed.txt" |
	perl -ne 'chomp; print pack "H*", $_' > "$home/planet"
config() {
	cat > "$tmp/ctl.yaml" <<YAML
node: { home: $home, log-level: debug }
transports: [ { use: udp, listen: ["127.0.0.1:0"] } ]
services:
  - { use: controller, store: { use: postgres, conninfo: "$1" } }
  - { use: api, listen: ["127.0.0.1:0"] }
YAML
}

config "host=/nonexistent port=== oops"
"$ZTD" -c "$tmp/ctl.yaml" > "$tmp/out" 2>&1
like "$?/$(cat "$tmp/out")" "^1/.*ctl.yaml:4:.*conninfo: not a libpq connection string" \
	"a conninfo libpq cannot parse is refused at its line"

# the server is not there yet: PG_DIR's socket does not exist
ci="host=$PG_DIR/sock port=$PG_PORT user=zt password=s3cret dbname=zt"
config "$ci"
"$ZTD" -c "$tmp/ctl.yaml" 2> "$tmp/log" &
pid=$!
zt_wait() {
	deadline=$(( $(date +%s) + $1 )); shift
	while ! "$@" > /dev/null 2>&1; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.5
	done
}
zt_wait 60 grep -q "cannot use the database" "$tmp/log"
like "$(grep -m1 "cannot use the database" "$tmp/log")" \
	"cannot use the database (.* )?(host=$PG_DIR/sock .*dbname=zt|dbname=zt .*host=$PG_DIR/sock).*retrying in [0-9]+ ms" \
	"an unreachable database is named, with the retry"
is "$(grep -c s3cret "$tmp/log")" 0 "... never with its password"
zt_wait 30 sh -c "[ \$(grep -c 'retrying in' '$tmp/log') -ge 3 ]"
like "$(grep -o 'retrying in [0-9]* ms' "$tmp/log" | head -3 | tr '\n' ' ')" \
	"retrying in 250 ms retrying in 500 ms retrying in 1000 ms" "... with backoff"
kill -0 $pid
ok $? "ztd keeps running meanwhile"

pg_start
zt_wait 60 grep -q "networks loaded" "$tmp/log"
ok $? "once the database is there the store connects and loads it"
kill $pid
wait $pid
pid=""

pg_psql "UPDATE schema_version SET version = 99"
config "$PG_CONNINFO"
"$ZTD" -c "$tmp/ctl.yaml" > "$tmp/out" 2>&1
like "$?/$(grep -c "schema version 99 is newer than this store's 3" "$tmp/out")" "^1/1\$" \
	"a newer schema is refused once, naming both versions"
is "$(pg_psql "SELECT version FROM schema_version")" 99 "... and left as it was"

# a version 2 database, as the store before the index of active bridges made it
pg_psql "UPDATE schema_version SET version = 2"
pg_psql "DROP INDEX members_bridges"
"$ZTD" -c "$tmp/ctl.yaml" 2> "$tmp/log2" &
pid=$!
zt_wait 60 grep -q "networks loaded" "$tmp/log2"
ok $? "ztd starts on a version 2 database"
like "$(cat "$tmp/log2")" "schema version 2 -> 3" "... migrates it and says so"
is "$(pg_psql "SELECT version FROM schema_version")/$(pg_psql \
	"SELECT indexdef FROM pg_indexes WHERE indexname = 'members_bridges'")" \
	"3/CREATE INDEX members_bridges ON public.members USING btree (network_id, address) WHERE (active_bridge AND authorized)" \
	"... to version 3, with the index of authorized active bridges"
kill $pid
wait $pid
pid=""
tap_done
