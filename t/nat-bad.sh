#!/bin/sh
# The NAT helpers against a hostile gateway (t/nat-hostile.py): every
# NAT-PMP and PCP request is answered with a burst of malformed, forged
# and random datagrams, SSDP with descriptions that are junk.  Nothing
# is mapped, each bad answer is counted, the complaints are logged at
# most once per 10 s, and ztd keeps running.
#
#   gw 198.18.0.21 | 198.18.10.1 (hostile) --- a 198.18.10.2
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
command -v python3 > /dev/null || skip_all "needs python3"
plan 8

ns_bridge
ns_nat gw 198.18.0.21/24 198.18.10.1/24 symmetric
ns_behind a gw 198.18.10.2/24
ip netns exec "$(ns_name gw)" python3 "$srcdir/t/nat-hostile.py" 198.18.10.1 > "$ns_tmp/hostile.log" 2>&1 &
ns_pids="$ns_pids $!"
zt_world root 198.18.0.1/9993
zt_nat='  - { use: upnp, check: 1s, retry: 1s, discover: 500ms }
  - { use: natpmp, check: 1s, retry: 1s }
  - { use: pcp, check: 1s, retry: 1s }'
zt_start a

nat_state() {
	zt_api a http://127.0.0.1:9993/status | jq -r ".natHelpers[] | select(.helper == \"$1\") | .state"
}
bad_seen() { [ "$(zt_inst_counter a "$1" bad_answers)" -gt 10 ]; }
zt_wait 60 bad_seen natpmp; ok $? "natpmp: the bad answers are counted ($(zt_inst_counter a natpmp bad_answers))"
zt_wait 60 bad_seen pcp; ok $? "pcp: the bad answers are counted ($(zt_inst_counter a pcp bad_answers))"
no_igd() { grep -q "upnp: no Internet Gateway Device" "$ns_tmp/a/log"; }
zt_wait 60 no_igd; ok $? "upnp: junk descriptions are no gateway, and said so"
sleep 12   # two of the complaints' 10 s windows: the count below checks rate-limiting, not timing
kill -0 "$zt_pid_a"; ok $? "ztd is still running"
[ "$(nat_state natpmp)" != mapped ] && [ "$(nat_state pcp)" != mapped ] && [ "$(nat_state upnp)" != mapped ]
ok $? "nothing is taken for a mapping ($(nat_state natpmp), $(nat_state pcp), $(nat_state upnp))"
grep -q "natpmp: refused: " "$ns_tmp/a/log" && grep -q "pcp: refused: " "$ns_tmp/a/log"
ok $? "the refusals are logged, naming what was wrong"
# at most one line per 10 s per helper: over the test's run, a handful
runtime=$(( $(date +%s) - $(stat -c %Y "$ns_tmp/a/ztd.yaml") ))
limit=$(( runtime / 10 + 2 ))
n=$(grep -c "natpmp: refused: " "$ns_tmp/a/log"); p=$(grep -c "pcp: refused: " "$ns_tmp/a/log")
[ "$n" -le "$limit" ] && [ "$p" -le "$limit" ]
ok $? "logged at most once per 10 s ($n and $p lines in $runtime s)"
zt_stop a
grep -q "info: stopped" "$ns_tmp/a/log"; ok $? "ztd stops cleanly"
[ $tap_failed -eq 0 ] || { zt_log a | tail -40; }
tap_done
