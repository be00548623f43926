#!/bin/sh
# Seeds of fuzz/moon-seed: moons.d/<id>.seed files, each a file name, a
# NUL and the file's text (no NUL: the text alone).  What zt_core_orbit
# writes, what an operator's echo writes, and near misses.
# Usage: fuzz/gen/moon-seed.sh [OUTDIR]
set -e
out=${1:-$(dirname "$0")/../seeds/moon-seed}
mkdir -p "$out"
# seed FILE NAME TEXT: NAME, a NUL, TEXT (printf escapes allowed in TEXT)
seed() { { printf '%s' "$2"; printf '\000'; printf "$3"; } > "$out/$1"; }

seed orbited 0000000000abcdef.seed eb17d0df38          # zt_core_orbit (api POST /moon)
seed echoed 000000eb17d0df38.seed 'eb17d0df38\n'     # echo eb17d0df38 > ...
seed upper-case 000000EB17D0DF38.seed 'EB17D0DF38'
seed reserved-ff 0000000000abcdef.seed ff00000001    # reserved addresses: refused
seed reserved-zero 0000000000abcdef.seed 0000000000
seed too-long 0000000000abcdef.seed 0000000000abcdef
seed crlf 0000000000abcdef.seed 'eb17d0df38\r\n'
seed short-name abcdef.seed eb17d0df38
seed temp-name 0000000000abcdef.seed.tmp.42 eb17d0df38
seed moon-name 0000000000abcdef.moon eb17d0df38
printf 'eb17d0df38' > "$out/text-only"
