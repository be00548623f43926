#!/bin/sh
# Seeds of fuzz/mkworld-desc: every world description of t/mkworld-fixtures
# (the test-bed planets and moon, and each broken description t/mkworld.sh
# refuses).  Usage: fuzz/gen/mkworld-desc.sh [SRCDIR [OUTDIR]]
set -e
src=${1:-$(dirname "$0")/../..}
out=${2:-$src/fuzz/seeds/mkworld-desc}
mkdir -p "$out"
cp "$src"/t/mkworld-fixtures/*.yaml "$out"/
