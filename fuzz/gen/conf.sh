#!/bin/sh
# Seeds of fuzz/conf-yaml: every example config of conf/, as ztd reads
# ztd.yaml.  Usage: fuzz/gen/conf.sh [SRCDIR [OUTDIR]]
set -e
src=${1:-$(dirname "$0")/../..}
out=${2:-$src/fuzz/seeds/conf-yaml}
mkdir -p "$out"
cp "$src"/conf/*.yaml "$out"/
