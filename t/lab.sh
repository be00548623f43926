#!/bin/sh
# The README's first quick-start command, scripts/lab.sh, from this build
# tree (ZT_LAB_BUILD: no apt, no second build): its root, controller and
# two nodes come up, a pings b across the virtual LAN, and `lab.sh stop`
# leaves no namespace, bridge or process behind.  (It tears down a lab a
# user may have running: its names are fixed.)
. "$srcdir/t/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root"
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 5

out=$(ZT_LAB_BUILD=$builddir sh "$srcdir/scripts/lab.sh" 2>&1)
ok $? "scripts/lab.sh runs to its end"
like "$out" "the controller created network [0-9a-f]{16}" "the controller makes the lab's network"
like "$out" " 0% packet loss" "a pings b across the virtual LAN"
pids=$(cat /tmp/zt-lab/*/pid 2>/dev/null)
sh "$srcdir/scripts/lab.sh" stop > /dev/null 2>&1
left=$(ip netns list | grep -c '^zt-lab-'; ip link show zt-lab-br 2>/dev/null | grep -c zt-lab-br)
is "$(echo $left)" "0 0" "lab.sh stop removes its namespaces and bridge"
alive=0
for p in $pids; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
is "$alive" 0 "... and its ztd processes are gone"
[ $tap_failed -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
tap_done
