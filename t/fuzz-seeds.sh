#!/bin/sh
# The seed generators of fuzz/gen/ remake the checked-in seeds byte for
# byte (fuzz/README): a seed edited by hand, or a generator changed
# without its seeds, fails here.
srcdir=${srcdir:-.}
builddir=${builddir:-.}
. "$srcdir/t/tap.sh"

command -v python3 > /dev/null || bail "python3 is needed (scripts/setup.sh installs it)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
gens="vectors.py frames.py api-body.sh conf.sh signed.c moon-seed.sh ctl-route.sh conf-pipeline.sh mkworld-desc.sh rules-judge.py"
plan 10
for g in $gens; do
	rm -rf "$out/seeds" && mkdir -p "$out/seeds"
	case $g in
	rules-judge.py) python3 "$srcdir/fuzz/gen/$g" "$out/seeds/rules-judge" ;;
	*.py) python3 "$srcdir/fuzz/gen/$g" "$srcdir/t/vectors" "$out/seeds" ;;
	api-body.sh | moon-seed.sh | ctl-route.sh) sh "$srcdir/fuzz/gen/$g" "$out/seeds/${g%.sh}" ;;
	conf.sh) sh "$srcdir/fuzz/gen/$g" "$srcdir" "$out/seeds/conf-yaml" ;;
	conf-pipeline.sh | mkworld-desc.sh) sh "$srcdir/fuzz/gen/$g" "$srcdir" "$out/seeds/${g%.sh}" ;;
	signed.c) "$builddir/fuzz/gen-signed" "$srcdir/t/vectors" "$out/seeds" ;;
	esac
	rc=$?
	made=$(cd "$out/seeds" && find . -type f | sort)
	differ=
	for f in $made; do
		cmp -s "$out/seeds/$f" "$srcdir/fuzz/seeds/$f" || differ="$differ ${f#./}"
	done
	[ -n "$differ" ] && diag "$g: differ from fuzz/seeds/:$differ"
	[ "$rc" -eq 0 ] && [ -n "$made" ] && [ -z "$differ" ]
	ok $? "fuzz/gen/$g remakes its $(echo "$made" | wc -l) seeds"
done
tap_done
