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

# ztd_started LOG PID: wait up to 30 s for ztd (PID) to log that it started
# in LOG; if it does not, show LOG and bail out.
ztd_started() {
	for i in $(seq 300); do
		grep -q 'ztd: info: started' "$1" && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	grep -q 'ztd: info: started' "$1" && return 0
	sed 's/^/# /' "$1"
	bail "ztd did not start"
}
