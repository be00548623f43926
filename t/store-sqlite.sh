#!/bin/sh
# The sqlite store under ztd's controller: where its file is by default
# and with the old `store: { path }` form, the migration of a version 1
# file (before stores were modules), and the files it refuses, each left
# byte for byte as it was: not a database, a damaged database, someone
# else's database, a schema newer than the module's.
#
#   ztd: udp 127.0.0.1:<any>, controller, api 127.0.0.1:<any>; one at a time
. "$srcdir/t/tap.sh"
command -v sqlite3 > /dev/null || skip_all "needs sqlite3 (apt-get install sqlite3)"
command -v curl > /dev/null || skip_all "needs curl"
command -v perl > /dev/null || skip_all "needs perl"

tmp=$(mktemp -d) || bail "mktemp"
ztd_pid=""
trap '[ -n "$ztd_pid" ] && kill -9 $ztd_pid 2>/dev/null; rm -rf "$tmp"' EXIT
plan 27

home=$tmp/home
mkdir -p "$home"
sed -n 's/^planet_v1_hex: //p' "$VECTORS/planet-testbed.txt" |
	perl -ne 'chomp; print pack "H*", $_' > "$home/planet"

# conf STORE-KEY [STORES]: ztd.yaml with the controller's store: key (or
# none) and a stores: section (or none)
conf() {
	cat > "$tmp/ztd.yaml" <<YAML
node: { home: $home, log-level: debug }
${2:+stores: [ $2 ]}
transports: [ { use: udp, listen: ["127.0.0.1:0"] } ]
services:
  - { use: controller${1:+, store: $1} }
  - { use: api, listen: ["127.0.0.1:0"] }
YAML
}
# run: ztd until it has started (0) or exited (1); its log in $tmp/log
run() { ztd_launch "$tmp/log" "$ZTD" -c "$tmp/ztd.yaml"; }
stop() { kill $ztd_pid; wait $ztd_pid 2>/dev/null; ztd_pid=""; }
# refused FILE WHAT: ztd does not start on FILE, says WHAT, and FILE is
# unchanged, its mode too
refused() {
	sum="$(sha256sum "$1") $(stat -c %a "$1")"
	conf "{ use: sqlite, path: \"$1\" }"
	run
	is "$?" 1 "ztd does not start on $2"
	like "$(cat "$tmp/log")" "controller: store sqlite: $1: $3" "... and says why, naming the file"
	is "$(sha256sum "$1") $(stat -c %a "$1") $(ls "$1"-wal "$1"-journal 2>/dev/null)" "$sum " \
		"... which is left as it was"
	[ -n "$ztd_pid" ] && stop
}

# ---- where the file is ----
conf ""
run; ok $? "ztd starts with the controller and no store: key"
like "$(cat "$tmp/log")" "sqlite: $home/controller.db: schema version 4" "the default store is <home>/controller.db"
stop
conf "{ path: \"$tmp/old-form.db\" }"
run; ok $? "the old form store: { path } starts"
like "$(cat "$tmp/log")" "sqlite: $tmp/old-form.db: schema version 4" "... with sqlite on that file"
is "$(sqlite3 "$tmp/old-form.db" 'SELECT version FROM schema_version; PRAGMA journal_mode')" "4
wal" "the file has its schema version in schema_version, and is in WAL mode"
stop

conf main "{ use: sqlite, instance: main, path: \"$tmp/old-form.db\" }"
run; ok $? "a store named under stores: starts"
like "$(cat "$tmp/log")" "main: $tmp/old-form.db: schema version 4" "... opens its file"
like "$(cat "$tmp/log")" "controller: controller [0-9a-f]{10}, store main" "... as the controller's store"
# an existing file's SQLite locks survive the open (closing any
# descriptor of the file drops them all): a sqlite3 shell beside ztd
# must find the -shm in use, not reset it under ztd (SIGBUS in the next
# checkpoint, or two writers unlocked)
shm=$(stat -c %i "$tmp/old-form.db-shm")
grep -q "POSIX .* $ztd_pid [0-9a-f]*:[0-9a-f]*:$shm " /proc/locks
ok $? "ztd holds SQLite's lock on an existing file's -shm while it runs"
sqlite3 "$tmp/old-form.db" "INSERT INTO networks (id, name, revision, creation_time)
	VALUES ('26b7ab6cb8000002', 'beside ztd', 1, 1700000000000);
	DELETE FROM networks WHERE id = '26b7ab6cb8000002'"
is "$(sqlite3 "$tmp/old-form.db" 'PRAGMA integrity_check') $(kill -0 "$ztd_pid" 2>/dev/null && echo running)" \
	"ok running" "... and runs on after a sqlite3 shell wrote to the file, which is sound"
stop

# ---- a version 1 file: migrated ----
cp "$tmp/old-form.db" "$tmp/v1.db"
sqlite3 "$tmp/v1.db" "INSERT INTO networks (id, name, revision, creation_time)
	VALUES ('26b7ab6cb8000001', 'from v1', 1, 1700000000000);
	ALTER TABLE members DROP COLUMN last_seen; DROP TABLE schema_version; PRAGMA user_version = 1;
	ALTER TABLE networks DROP COLUMN rules_source; ALTER TABLE networks DROP COLUMN capabilities;
	ALTER TABLE networks DROP COLUMN tags; ALTER TABLE members DROP COLUMN tags;
	ALTER TABLE members DROP COLUMN capabilities; DROP INDEX members_bridges" ||
	bail "cannot make a version 1 file"
conf "{ use: sqlite, path: \"$tmp/v1.db\" }"
run; ok $? "ztd starts on a version 1 file"
like "$(cat "$tmp/log")" "$tmp/v1.db: schema migrated from version 1 to 4" "... migrates it and says so"
is "$(sqlite3 "$tmp/v1.db" "SELECT version FROM schema_version;
	SELECT name, quote(rules_source), capabilities, tags FROM networks")" "4
from v1|NULL|[]|[]" "... to version 4, its data kept, no rules source, capabilities or tags"
is "$(sqlite3 "$tmp/v1.db" "EXPLAIN QUERY PLAN SELECT address FROM members WHERE network_id = 'x'
	AND active_bridge != 0 AND authorized != 0 ORDER BY address" | grep -c 'INDEX members_bridges')" 1 \
	"... with the index of active bridges, which the bridges' query searches"
stop

# ---- refused, untouched ----
head -c 8192 /dev/urandom > "$tmp/garbage.db"
refused "$tmp/garbage.db" "a file that is not a database" \
	"not an SQLite database \(file is not a database\): refused, the file is left as it is"
cp "$tmp/old-form.db" "$tmp/damaged.db"
sqlite3 "$tmp/damaged.db" "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500)
	INSERT INTO networks (id, name, revision, creation_time) SELECT printf('%016x', x), 'n' || x, 1, 0 FROM c"
perl -e 'print "\xff" x 4096' | dd of="$tmp/damaged.db" bs=4096 seek=3 conv=notrunc 2>/dev/null
refused "$tmp/damaged.db" "a damaged database" "corrupt database \(quick_check: "
sqlite3 "$tmp/foreign.db" "CREATE TABLE accounts (id INTEGER); INSERT INTO accounts VALUES (1)"
refused "$tmp/foreign.db" "someone else's database" "has tables but no store schema version: not a zt store"
cp "$tmp/old-form.db" "$tmp/newer.db"
sqlite3 "$tmp/newer.db" "UPDATE schema_version SET version = 99"
refused "$tmp/newer.db" "a newer schema" "schema version 99 is newer than this sqlite store's 4: refused"
is "$(grep -c -e 'Sanitizer' -e 'runtime error' "$tmp/log")" 0 "no sanitizer reports"
tap_done
