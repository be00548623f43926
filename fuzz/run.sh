#!/bin/sh
# `make fuzz`: run each libFuzzer target for SECONDS seconds and print a
# summary line per target.  Usage: fuzz/run.sh SECONDS SRCDIR TARGET...
# (TARGET is the built program, fuzz/<name>).  FUZZ_JOBS=N in the
# environment runs N targets at a time (default 1): give each a core of
# its own, or none of them gets its SECONDS of work.
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
jobs=${FUZZ_JOBS:-1}
summary=fuzz/last-run.txt
mkdir -p fuzz

# fuzz_one TARGET: run it, write its summary line to fuzz/<name>.result
fuzz_one() {
	name=$(basename "$1")
	corpus=fuzz/corpus-$name regress=$srcdir/fuzz/regressions/$name
	log=fuzz/$name.log
	mkdir -p "$corpus" "$regress"
	set -- "./$1" "$corpus"
	[ -d "$srcdir/fuzz/seeds/$name" ] && set -- "$@" "$srcdir/fuzz/seeds/$name"
	"$@" "$regress" -max_total_time="$seconds" -timeout=30 -print_final_stats=1 \
		-artifact_prefix="$regress/" > "$log" 2>&1
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
		found=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		verdict="FAILED (exit $rc${found:+, input $found})"
	fi
	line=$(printf '%-20s %12s execs  cov %6s  ft %7s  corpus %6s  %s' "$name" \
		"${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$verdict")
	echo "fuzz: $line"
	echo "$line" > "fuzz/$name.result"
}

started=$(date -u '+%Y-%m-%d %H:%M UTC')
targets=$*
running=0
for t in $targets; do
	echo "fuzz: $(basename "$t") for $seconds s (log: fuzz/$(basename "$t").log)"
	rm -f "fuzz/$(basename "$t").result"
	fuzz_one "$t" &
	running=$((running + 1))
	# in batches of FUZZ_JOBS: the targets of a batch end together
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait
failed=0
: > "$summary.tmp"
for t in $targets; do
	name=$(basename "$t")
	line=$(cat "fuzz/$name.result" 2>/dev/null) || line="$name: FAILED (no result)"
	case $line in *"  ok") ;; *) failed=1 ;; esac
	echo "$line" >> "$summary.tmp"
	rm -f "fuzz/$name.result"
done
{
	echo "# make fuzz FUZZ_SECONDS=$seconds FUZZ_JOBS=$jobs, started $started ($(uname -m), $(${CC:-cc} --version 2>/dev/null | head -1))"
	cat "$summary.tmp"
} > "$summary"
rm -f "$summary.tmp"
echo "fuzz: summary in $summary"
cat "$summary"
exit "$failed"
