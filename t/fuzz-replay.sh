#!/bin/sh
# Every checked-in fuzz input through its target (fuzz/Makefile.inc): for
# each replay program fuzz/replay-<name>, its seeds fuzz/seeds/<name>/ and
# regression inputs fuzz/regressions/<name>/.  A target without seeds, or
# seeds without a target, fails: every target keeps a corpus.
srcdir=${srcdir:-.}
builddir=${builddir:-.}
. "$srcdir/t/tap.sh"

names=$( { for b in "$builddir"/fuzz/replay-*; do [ -x "$b" ] && basename "$b" | sed 's/^replay-//'; done
	   for d in "$srcdir"/fuzz/seeds/*/; do basename "$d"; done; } | sort -u)
plan $(echo "$names" | wc -l)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for name in $names; do
	bin="$builddir/fuzz/replay-$name"
	seeds="$srcdir/fuzz/seeds/$name"
	if [ ! -x "$bin" ]; then
		ok 1 "$name: seeds but no replay program fuzz/replay-$name"
		continue
	fi
	if [ ! -d "$seeds" ] || [ -z "$(ls "$seeds")" ]; then
		ok 1 "$name: no seeds in fuzz/seeds/$name"
		continue
	fi
	set -- "$seeds"
	[ -d "$srcdir/fuzz/regressions/$name" ] && set -- "$@" "$srcdir/fuzz/regressions/$name"
	if n=$("$bin" "$@" 2>"$log"); then
		ok 0 "$name: $n inputs replayed"
	else
		tail -20 "$log" | sed 's/^/# /'
		ok 1 "$name: an input failed (see above)"
	fi
done
tap_done
