#!/bin/sh
# Seeds of fuzz/api-body: the paths and bodies the api module's tests and
# zt-cli send (t/api.sh, t/api-networks.sh, tools/zt-cli.c).  Each input
# is read both as a path (to its first NUL) and as a body, so a seed is
# one or the other.  Usage: fuzz/gen/api-body.sh [OUTDIR]
set -e
out=${1:-$(dirname "$0")/../seeds/api-body}
mkdir -p "$out"
seed() { printf '%s' "$2" > "$out/$1"; }

# paths (the network and peer ids of t/vectors/identities.txt)
seed path-network /network/eb17d0df38000001
seed path-moon-10 /moon/eb17d0df38
seed path-moon-16 /moon/0000000000abcdef
seed path-echo /peer/eb17d0df38/echo
seed path-config-settings //config//settings/
seed path-status /status
seed path-metrics /metrics
# POST /network/<nwid>: what `zt-cli set` sends, and t/api-networks.sh
seed network-set '{"allowManaged":true,"allowGlobal":false,"allowDefault":false,"allowDNS":true}'
seed network-mixed '{"allowGlobal":"yes","allowManaged":1,"allowDNS":false}'
seed network-array '[true]'
# POST /moon/<id>
seed moon-seed '{"seed":"eb17d0df38"}'
seed moon-bad-seed '{"seed":"xyz"}'
seed moon-number-seed '{"seed":12}'
seed moon-nul-seed '{"seed":"eb17d0df38\u0000"}'
# POST /config/settings, and an echo's malformed body
seed config-empty '{}'
seed config-setting '{"primaryPort":9994}'
seed truncated '{"a":'
