#!/bin/sh
# Set everything up and run zt's whole test suite: the plain build, the
# same tests under AddressSanitizer and UndefinedBehaviorSanitizer, and
# make distcheck (a release tarball built and tested out of tree).
# The last line is the total: "N passed, N failed, N skipped".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
out=${ZT_BUILD_ROOT:-$top/_build}
jobs=$(nproc 2>/dev/null || echo 2)
# the end-to-end tests mostly wait on protocol timers (a 2-minute test
# uses about 10 s of CPU), so they run two per core
test_jobs=${ZT_TEST_JOBS:-$((jobs * 2))}

"$top/scripts/setup.sh" || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
(cd "$top" && ./autogen.sh > /dev/null 2>&1) || { echo "autogen failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 skipped=0
count() {
	# count BUILD-DIR [SUITE-LOG]: add the totals of a build's test-suite.log
	log=$1/${2:-test-suite.log}
	[ -f "$log" ] || return
	p=$(sed -n 's/^# PASS: *//p' "$log"); f=$(sed -n 's/^# FAIL: *//p' "$log")
	e=$(sed -n 's/^# ERROR: *//p' "$log"); x=$(sed -n 's/^# XPASS: *//p' "$log")
	s=$(sed -n 's/^# SKIP: *//p' "$log")
	passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0} + ${x:-0}))
	skipped=$((skipped + ${s:-0}))
}
show_failures() {
	# show_failures BUILD-DIR: the failed and erred tests, with their logs' context
	grep -hE '^(FAIL|ERROR|XPASS):' "$1"/t/*.log "$1"/test-suite.log 2>/dev/null | sort -u
	for t in $(grep -lE '^(not ok|Bail out)' "$1"/t/*.log 2>/dev/null); do
		echo "--- $t"; grep -E -B2 -A6 '^(not ok|Bail out)' "$t" | head -60
	done
	for t in $(grep -lE '^:(global-)?test-result: ERROR' "$1"/t/*.trs 2>/dev/null); do
		echo "--- ${t%.trs}.log (erred)"; tail -30 "${t%.trs}.log"
	done
}
run_build() {
	# run_build NAME CONFIGURE-ARGS...
	name=$1; shift
	dir=$out/$name
	rm -rf "$dir"; mkdir -p "$dir"
	echo "== $name: configure $*"
	(cd "$dir" && "$top/configure" -q "$@" > configure.out 2>&1) || { cat "$dir/configure.out"; failed=$((failed + 1)); return; }
	echo "== $name: make"
	(cd "$dir" && make -j"$jobs" > make.out 2>&1) || { tail -40 "$dir/make.out"; failed=$((failed + 1)); return; }
	echo "== $name: make check"
	(cd "$dir" && make -j"$test_jobs" check > check.out 2>&1)
	grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):' "$dir/check.out" | grep -v '^PASS' || true
	grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' "$dir/check.out" || true
	show_failures "$dir"
	count "$dir"
}

run_build plain

echo "== Debian packages (t/deb.sh)"
dir=$out/plain
if [ -f "$dir/Makefile" ]; then
	(cd "$dir" && make check-deb > deb.out 2>&1)
	grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' "$dir/deb.out" || tail -20 "$dir/deb.out"
	grep -q '^not ok' "$dir/t/deb.log" 2>/dev/null && grep -E -B2 -A6 '^not ok' "$dir/t/deb.log" | head -60
	count "$dir" t/deb-suite.log
fi

run_build sanitizers --enable-sanitizers

echo "== distcheck"
dir=$out/plain
if (cd "$dir" && make -j"$test_jobs" distcheck > distcheck.out 2>&1); then
	passed=$((passed + 1)); echo "distcheck: ok"
else
	failed=$((failed + 1)); tail -40 "$dir/distcheck.out"
	# the failed tarball build is left in place: name the tests that failed
	sub=$(find "$dir" -path '*/_build/sub' -type d 2>/dev/null | head -1)
	[ -n "$sub" ] && show_failures "$sub"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
