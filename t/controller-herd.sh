#!/bin/sh
# The controller's group commit (sqlite store): 50 members new to a
# public network ask for their configs all at once (bench/scale-gen with
# the identities of t/scale-ids, each from a /24 of its own).  Each new
# member is a write (its address from the pool); the writes that queue
# while a COMMIT is in progress share the next one, so the store's
# `commits` counter (/metrics) grows by fewer than the members.  Every
# member gets its config; the controller killed with SIGKILL right after
# the last answer has every member in its database with an address of
# the pool, no address twice, and the file passes PRAGMA integrity_check.
# Then the same members on a new database on a full 1 MB tmpfs: COMMITs
# fail, and no member is told of a write that failed (every member
# answered is in the database after a SIGKILL, config_failures counts
# the others); once there is room, every member gets its config.
#
#   root 198.18.0.1/16 ---+--- bridge --- gen 198.18.1.10 ... 198.18.50.10
#   ctl 198.18.0.2/16 ----/
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
command -v jq > /dev/null || skip_all "needs jq"
command -v sqlite3 > /dev/null || skip_all "needs sqlite3 (apt-get install sqlite3)"
ZT_TEST_STORE=sqlite
plan 19

GEN=$builddir/bench/scale-gen
M=50
ns_bridge
ns_host root 198.18.0.1/16
ns_host ctl 198.18.0.2/16
binds=""
for i in $(seq $M); do binds="$binds --bind 198.18.$i.10"; done
# shellcheck disable=SC2046
ns_host gen $(for i in $(seq $M); do echo 198.18.$i.10/16; done)
zt_world root 198.18.0.1/9993
zt_start root
zt_services=$(zt_ctl_service) zt_start ctl
net=$(zt_ctl_network '{"name":"herd","private":false,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.0.10","ipRangeEnd":"198.19.0.200"}],
	"routes":[{"target":"198.19.0.0/24"}]}')
ok "$(echo "$net" | grep -qE '^[0-9a-f]{16}$'; echo $?)" "a public network with a pool ($net)"
db=$ns_tmp/ctl-store/controller.db

# commits: the sqlite store's COMMITs so far (its counter in /metrics)
commits() { zt_api ctl http://127.0.0.1:9993/metrics | sed -n 's/^zt_commits_total{instance="[^"]*"} //p'; }
c0=$(commits)
ok "$([ -n "$c0" ] && [ "$c0" -ge 1 ]; echo $?)" "/metrics counts the store's COMMITs ($c0 so far: the network's)"

ns_exec gen "$GEN" --ids "$srcdir/t/scale-ids" --controller 198.18.0.2/9993 \
	--controller-id "$ns_tmp/ctl/identity.public" --network "$net" --members $M --offset 0 \
	--rate 0 --timeout 60 $binds > "$ns_tmp/out" 2> "$ns_tmp/err"
ok $? "scale-gen ran against the controller"
c1=$(commits)
zt_kill_ctl() { kill -KILL "$zt_pid_ctl"; wait "$zt_pid_ctl" 2>/dev/null; }
zt_kill_ctl
sed 's/^/# /' "$ns_tmp/out" "$ns_tmp/err"
res=$(grep '^result ' "$ns_tmp/out")
val() { printf '%s\n' $res | sed -n "s/^$1=//p"; }
is "$(val config_answered)/$(val config_errors)/$(val config_drops)" "$M/0/0" \
	"all $M members new to the network have their config"
commits_herd=$(( c1 - c0 ))
ok "$([ "$commits_herd" -ge 1 ] && [ "$commits_herd" -lt $M ]; echo $?)" \
	"their writes took fewer COMMITs than members ($commits_herd for $M)"

# after SIGKILL, right after the last answer
is "$(sqlite3 "$db" 'PRAGMA integrity_check')" ok "the database passes PRAGMA integrity_check after the kill"
is "$(sqlite3 "$db" "SELECT count(*) FROM members WHERE network_id = '$net' AND authorized = 1")" $M \
	"every member answered is in the database, authorized"
is "$(sqlite3 "$db" "SELECT count(DISTINCT m.address) FROM members m JOIN member_ips i
	ON i.network_id = m.network_id AND i.address = m.address WHERE m.network_id = '$net'")" $M \
	"... each with an address"
is "$(sqlite3 "$db" "SELECT count(DISTINCT ip) FROM member_ips WHERE network_id = '$net'")" $M \
	"... no address twice"
is "$(sqlite3 "$db" "SELECT count(*) FROM member_ips WHERE network_id = '$net'
	AND ip NOT LIKE '198.19.0.%'")" 0 "... all from the pool"

# ---- a full disk: failed COMMITs answer nobody ----
full=$ns_tmp/ctl-store
mv "$full" "$ns_tmp/ctl-store.first"
mkdir -p "$full"
# mounted before ctl's ztd starts, so that its mount namespace has it
mount -t tmpfs -o size=1m,mode=0700 zt-ctl-herd "$full" || bail "cannot mount a tmpfs on $full"
trap 'umount -l "$full" 2>/dev/null; ns_cleanup' EXIT
zt_services=$(zt_ctl_service) zt_start ctl
net=$(zt_ctl_network '{"name":"full","private":false,"v4AssignMode":{"zt":true},
	"ipAssignmentPools":[{"ipRangeStart":"198.19.0.10","ipRangeEnd":"198.19.0.200"}],
	"routes":[{"target":"198.19.0.0/24"}]}')
ok "$(echo "$net" | grep -qE '^[0-9a-f]{16}$'; echo $?)" "a network on a new database on a 1 MB tmpfs ($net)"
dd if=/dev/zero of="$full/filler" bs=64k > /dev/null 2>&1
ns_exec gen "$GEN" --ids "$srcdir/t/scale-ids" --controller 198.18.0.2/9993 \
	--controller-id "$ns_tmp/ctl/identity.public" --network "$net" --members $M --offset 0 \
	--rate 0 --timeout 8 $binds > "$ns_tmp/out" 2> "$ns_tmp/err"
sed 's/^/# /' "$ns_tmp/out" "$ns_tmp/err"
res=$(grep '^result ' "$ns_tmp/out")
answered=$(val config_answered)
failures=$(zt_api ctl http://127.0.0.1:9993/metrics | sed -n 's/^zt_config_failures_total{[^}]*} //p')
zt_kill_ctl
ok "$([ "${failures:-0}" -ge 1 ]; echo $?)" "with the disk full, COMMITs fail (config_failures $failures)"
ok "$([ -n "$answered" ] && [ "$answered" -lt $M ]; echo $?)" "... and not every member gets a config ($answered of $M)"
grep -q "not stored, no config sent" "$ns_tmp/ctl/log"
ok $? "... the controller says which were not stored"
rm -f "$full/filler"
stored=$(sqlite3 "$db" "SELECT count(*) FROM members m JOIN member_ips i ON i.network_id = m.network_id
	AND i.address = m.address WHERE m.network_id = '$net'")
ok "$([ -n "$answered" ] && [ "$stored" -ge "$answered" ]; echo $?)" \
	"after SIGKILL, the database holds the members answered, each with an address ($stored >= $answered)"
zt_services=$(zt_ctl_service) zt_start ctl
ns_exec gen "$GEN" --ids "$srcdir/t/scale-ids" --controller 198.18.0.2/9993 \
	--controller-id "$ns_tmp/ctl/identity.public" --network "$net" --members $M --offset 0 \
	--rate 0 --timeout 60 $binds > "$ns_tmp/out" 2> "$ns_tmp/err"
res=$(grep '^result ' "$ns_tmp/out")
is "$(val config_answered)/$(val config_errors)/$(val config_drops)" "$M/0/0" \
	"with room again, every member gets its config"
is "$(sqlite3 "$db" "SELECT count(DISTINCT ip) FROM member_ips WHERE network_id = '$net'")" $M \
	"... each its own address"
is "$(sqlite3 "$db" 'PRAGMA integrity_check')" ok "the database passes PRAGMA integrity_check"
zt_stop ctl
is "$(cat "$ns_tmp/ctl/log" "$ns_tmp/err" | grep -c -e 'Sanitizer' -e 'runtime error')" 0 \
	"no sanitizer reports (ctl stopped cleanly at the end, scale-gen)"
tap_done
