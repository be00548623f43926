#!/bin/sh
# ztd starts a pipeline, logs what it does, stops cleanly on SIGTERM with
# modules stopped in reverse order, and refuses to run a pipeline whose
# module cannot start.
. "$srcdir/t/tap.sh"
tmp=$(mktemp -d) || bail "mktemp"
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
plan 9

cat > "$tmp/run.yaml" <<YAML
node: { home: $tmp, log-level: debug }
services:
  - { use: probe, instance: first }
  - { use: probe, instance: second }
YAML

"$ZTD" -c "$tmp/run.yaml" 2> "$tmp/log" &
pid=$!
for i in $(seq 50); do grep -q started "$tmp/log" && break; sleep 0.1; done
like "$(cat "$tmp/log")" "ztd: info: started" "ztd says it started"
kill -TERM $pid
wait $pid
rc=$?
is $rc 0 "exit status 0 after SIGTERM"
log=$(cat "$tmp/log")
like "$log" "first: probe started" "first instance started"
like "$log" "Terminated: stopping" "signal logged"
is "$(grep -o '[a-z]*: probe stopped' "$tmp/log" | tr '\n' ' ')" "second: probe stopped first: probe stopped " "stopped in reverse order"
like "$log" "ztd: info: stopped" "ztd says it stopped"

"$ZTD" --help > "$tmp/help"
like "$(cat "$tmp/help")" "--check-config" "--help lists options"
like "$("$ZTD" --version)" "^ztd \\(zt\\) [0-9]" "--version"

"$ZTD" -c "$tmp/missing.yaml" 2> "$tmp/err"
is "$?/$(cat "$tmp/err")" "1/$tmp/missing.yaml: No such file or directory" "missing config named"
tap_done
