#!/bin/sh
# Hostile LAN beacons (zt-lan(7)): malformed, wrongly signed, forged and
# replayed beacons and floods are refused with a log line (one per 10 s
# at most), counted, rate-limited, and the node goes on working.
#
#   bridge --- v 198.18.0.11 (udp only: it hears beacons)
#          |-- k 198.18.0.12 (lan: v learns it from its beacons)
#          \-- x 198.18.0.13 (t/beacon-send, no ztd)
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
plan 13

ns_bridge
ns_host v 198.18.0.11/24
ns_host k 198.18.0.12/24
ns_host x 198.18.0.13/24
zt_world root 198.18.0.1/9993   # never started: no root reachable
zt_start v
zt_transports="  - { use: lan, interval: 1s }" zt_start k
zt_wait 30 zt_direct v k || bail "v does not learn k from its beacons"
mkdir -p "$ns_tmp/x"
"$builddir/zt-idtool" generate "$ns_tmp/x/identity.secret" "$ns_tmp/x/identity.public" > /dev/null ||
	bail "zt-idtool generate"
xaddr=$(cut -c1-10 "$ns_tmp/x/identity.public")
kaddr=$(zt_address k)

# beacon MODE COUNT [ADDRESS]: x sends v beacons
beacon() { ns_exec x "$builddir/t/beacon-send" "$1" "$ns_tmp/x/identity.secret" 198.18.0.11 9993 "$2" ${3:+"$3"}; }
# refused MODE WHY [ADDRESS]: one more beacon, then v has logged WHY
refused() { beacon "$1" 1 ${3:+"$3"}; grep -q "lan beacon from 198.18.0.13:[0-9]* refused: $2" "$ns_tmp/v/log"; }

zt_wait 40 refused short "wrong length"; ok $? "a truncated beacon is refused: wrong length"
zt_wait 40 refused version "unknown version"; ok $? "an unknown version is refused by name"
zt_wait 40 refused badsig "wrong signature"; ok $? "a wrong signature is refused"
zt_wait 40 refused forged "identity differs from the one known for $kaddr (forged)" "$kaddr"
ok $? "a beacon with k's address and another key is refused: forged"
zt_wait 40 refused forged "identity fails validation (forged)" 1122334455
ok $? "an identity that fails validation is refused: forged"
zt_knows v x; ok $(( $? == 0 )) "... and none of them made a peer"
# (each sender's beacons are looked at once per 2.5 s, and a new identity
# once per 2 s per prefix: the checks retry until one gets through)
met() { beacon good 1; grep -q "peer $xaddr: new, from a lan beacon" "$ns_tmp/v/log"; }
zt_wait 30 met; ok $? "a good beacon of x's makes x a peer"
# one beacon three times, 3 s apart: the second or the third is a replay
replayed() { beacon replay 3; grep -q "refused: replayed (not newer than the last one)" "$ns_tmp/v/log"; }
zt_wait 60 replayed; ok $? "the same beacon again is refused: replayed"

# ---- floods ----
lines=$(grep -c "lan beacon from" "$ns_tmp/v/log")
t0=$(date +%s)
beacon good 20000 && beacon badsig 20000 && beacon forged 20000 ffeeddccbb
ok $? "x sends 60000 beacons"
# one line per 10 s: as many as the flood lasted, plus the one in flight
bound=$(( ($(date +%s) - t0) / 10 + 2 ))
kill -0 "$zt_pid_v"; ok $? "v is still running"
[ "$(zt_counter v beacons_limited)" -gt 10000 ]; ok $? "most are rate-limited before any check ($(zt_counter v beacons_limited))"
now=$(grep -c "lan beacon from" "$ns_tmp/v/log")
[ $(( now - lines )) -le $bound ]; ok $? "and logged $(( now - lines )) times (one line per 10 s, at most $bound)"
zt_wait 20 zt_direct v k; ok $? "v still has its direct path to k"
[ $tap_failed -eq 0 ] || { zt_log v; }
tap_done
