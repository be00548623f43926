#!/bin/sh
# Set everything up, build zt, and run its main job on this machine.
#
# The full lab (a root, a controller and two nodes in network namespaces
# with a virtual LAN between them) needs the network layer, which zt does
# not have yet.  Until then this builds zt and runs one ztd with
# conf/example.yaml in the foreground; Ctrl-C stops it.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ZT_BUILD_ROOT:-$top/_build}/lab
"$top/scripts/setup.sh"
(cd "$top" && ./autogen.sh > /dev/null 2>&1)
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" -q
make -j"$(nproc)" -s
export ZT_MODULE_PATH="$build/transports/udp/.libs:$build/ifaces/pcap/.libs"
./ztd --check-config "$top/conf/example.yaml"
echo "lab: starting ztd; Ctrl-C stops it"
exec ./ztd -c "$top/conf/example.yaml"
