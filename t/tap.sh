# Test Anything Protocol helpers for zt's shell tests.  Source this file.
tap_n=0
tap_failed=0
plan() { echo "1..$1"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
bail() { echo "Bail out! $*"; exit 1; }
diag() { printf '# %s\n' "$*"; }
ok() {
	# ok CONDITION-EXIT-STATUS NAME
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}
is() {
	# is GOT WANT NAME
	tap_n=$((tap_n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $tap_n - $3"
	else
		echo "not ok $tap_n - $3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
		tap_failed=$((tap_failed + 1))
	fi
}
like() {
	# like GOT REGEX NAME
	tap_n=$((tap_n + 1))
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		echo "ok $tap_n - $3"
	else
		echo "not ok $tap_n - $3"
		printf '#   got:  %s\n#   want match: %s\n' "$1" "$2"
		tap_failed=$((tap_failed + 1))
	fi
}
tap_done() { [ "$tap_failed" -eq 0 ]; }

# ztd_launch LOG CMD...: start CMD, a ztd, in the background with its
# output in LOG, and wait up to 30 s for it to log that it started;
# ztd_pid is its pid.  LOG is emptied here, not by the background child:
# a wait that ran before the child opened LOG would read an earlier
# start's "started".  1 if ztd exits first (it is reaped, ztd_pid is
# empty) or has not started in time (it still runs).
ztd_launch() {
	ztd_log=$1
	shift
	: > "$ztd_log"
	"$@" >> "$ztd_log" 2>&1 &
	ztd_pid=$!
	for ztd_try in $(seq 300); do
		grep -q 'ztd: info: started' "$ztd_log" && return 0
		kill -0 "$ztd_pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q 'ztd: info: started' "$ztd_log" && return 0
	kill -0 "$ztd_pid" 2>/dev/null || { wait "$ztd_pid"; ztd_pid=""; }
	return 1
}
# ztd_start LOG CMD...: ztd_launch; if ztd did not start, kill it (if it
# still runs) and bail out, showing LOG.
ztd_start() {
	ztd_launch "$@" && return 0
	[ -n "$ztd_pid" ] && kill -9 "$ztd_pid" 2>/dev/null
	sed 's/^/# /' "$1"
	bail "ztd did not start"
}
