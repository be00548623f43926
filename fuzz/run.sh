#!/bin/sh
# `make fuzz`: run each libFuzzer target for SECONDS seconds and print a
# summary line per target.  Usage: fuzz/run.sh SECONDS SRCDIR TARGET...
# (TARGET is the built program, fuzz/<name>).
#
# A target starts from a working corpus fuzz/corpus-<name>/ in the build
# tree (where libFuzzer keeps what it learns) and the checked-in seeds
# fuzz/seeds/<name>/ and regression inputs fuzz/regressions/<name>/.  An
# input that crashes a target, trips an assert or hangs it (over 30 s) is
# written to SRCDIR/fuzz/regressions/<name>/: `make check` replays that
# directory (t/fuzz-replay.sh), so the file, committed with its fix, is
# the regression test.  The run goes on with the next target; the exit
# status is 1 if any target failed.  The summary is also written to
# fuzz/last-run.txt, to be recorded in fuzz/README.
set -u
seconds=$1 srcdir=$2
shift 2
summary=fuzz/last-run.txt
mkdir -p fuzz
: > "$summary.tmp"
failed=0
started=$(date -u '+%Y-%m-%d %H:%M UTC')
for t in "$@"; do
	name=$(basename "$t")
	corpus=fuzz/corpus-$name regress=$srcdir/fuzz/regressions/$name
	mkdir -p "$corpus" "$regress"
	set -- "$corpus"
	[ -d "$srcdir/fuzz/seeds/$name" ] && set -- "$@" "$srcdir/fuzz/seeds/$name"
	set -- "$@" "$regress"
	log=fuzz/$name.log
	echo "fuzz: $name for $seconds s (log: $log)"
	"./$t" -max_total_time="$seconds" -timeout=30 -print_final_stats=1 \
		-artifact_prefix="$regress/" "$@" > "$log" 2>&1
	rc=$?
	rmdir "$regress" 2>/dev/null   # only if libFuzzer left nothing there
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	# the last status line: "#N <event> cov: C ft: F corp: K/..."
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	if [ "$rc" -eq 0 ]; then
		verdict=ok
	else
		failed=1
		found=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		verdict="FAILED (exit $rc${found:+, input $found})"
	fi
	line=$(printf '%-20s %12s execs  cov %6s  ft %7s  corpus %6s  %s' "$name" \
		"${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$verdict")
	echo "fuzz: $line"
	echo "$line" >> "$summary.tmp"
done
{
	echo "# make fuzz FUZZ_SECONDS=$seconds, started $started ($(uname -m), $(${CC:-cc} --version 2>/dev/null | head -1))"
	cat "$summary.tmp"
} > "$summary"
rm -f "$summary.tmp"
echo "fuzz: summary in $summary"
cat "$summary"
exit "$failed"
