#!/bin/sh
# Every broken config is refused with its exact file:line:col message and a
# non-zero exit; every good one and every example in conf/ passes.
. "$srcdir/t/tap.sh"
cd "$srcdir/t/conf" || bail "no fixtures"
set -- bad-*.yaml
good=$(ls good-*.yaml)
examples=$(ls "$srcdir"/conf/*.yaml 2>/dev/null)
plan $(( $# * 2 + $(echo $good $examples | wc -w) ))
for f; do
	# the module search path differs between build trees: name it by its variable
	out=$("$ZTD" --check-config "$f" 2>&1; echo "rc=$?")
	rc=${out##*rc=}
	out=$(printf '%s\n' "${out%rc=*}" | sed '/^$/d; s|(looked for \([^ ]*\) in .*)$|(looked for \1 in ZT_MODULE_PATH)|')
	is "$out" "$(sed -n 's/^# expect: //p' "$f")" "$f: message"
	ok $(( rc == 0 )) "$f: refused"
done
for f in $good $examples; do
	out=$("$ZTD" --check-config "$f" 2>&1)
	ok $? "$(basename "$f") passes"
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
done
tap_done
