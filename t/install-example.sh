#!/bin/sh
# Install zt into a staging directory, build examples/hello there against
# the installed headers and ztk.pc only, and load it with the installed ztd.
. "$srcdir/t/tap.sh"
tmp=$(mktemp -d) || bail "mktemp"
trap 'rm -rf "$tmp"' EXIT
plan 6

stage=$tmp/stage
make -s -C "$builddir" install DESTDIR="$stage" > "$tmp/install.log" 2>&1
ok $? "make install into a staging directory"
pc=$(find "$stage" -name ztk.pc | head -1)
ok $(test -n "$pc"; echo $?) "ztk.pc installed"
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$stage"
moduledir=$(pkg-config --variable=moduledir ztk)
case $moduledir in "$stage"*) ;; *) moduledir=$stage$moduledir ;; esac

cp -r "$srcdir/examples/hello" "$tmp/hello" && chmod -R u+w "$tmp/hello"
make -s -C "$tmp/hello" install moduledir="$moduledir" > "$tmp/build.log" 2>&1
ok $? "example builds and installs against the installed headers"
[ $? -eq 0 ] || sed 's/^/# /' "$tmp/build.log"

ztd=$(find "$stage" -name ztd -type f | head -1)
libdir=$(dirname "$(find "$stage" -name 'libztk.so*' | head -1)")
cat > "$tmp/hello.yaml" <<YAML
modules: { path: ["$moduledir"] }
services:
  - { use: hello, greeting: "hello from the example", every: 100ms }
YAML
out=$(LD_LIBRARY_PATH=$libdir ZT_MODULE_PATH= "$ztd" --check-config "$tmp/hello.yaml" 2>&1)
like "$out" "hello +service +hello +$moduledir/hello.so" "installed ztd resolves the module"
LD_LIBRARY_PATH=$libdir ZT_MODULE_PATH= timeout --preserve-status -s INT 1 "$ztd" -c "$tmp/hello.yaml" 2> "$tmp/run.log"
is $? 0 "installed ztd runs it and stops on SIGINT"
like "$(cat "$tmp/run.log")" "hello: hello from the example \\(greeting 3\\)" "the module ran on the loop"
tap_done
