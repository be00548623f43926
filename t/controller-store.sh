#!/bin/sh
# t/controller-store (the store and the config builder, in C) against the
# store ZT_TEST_STORE names (t/store.sh).
. "$srcdir/t/tap.sh"
. "$srcdir/t/store.sh"

tmp=$(mktemp -d) || bail "mktemp"
trap 'zt_store_cleanup; rm -rf "$tmp"' EXIT
ZT_TEST_STORE_STANZA=$(zt_store_stanza "$tmp") || bail "no store stanza"
export ZT_TEST_STORE_STANZA
./t/controller-store
