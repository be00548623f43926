#!/bin/sh
# Worlds: leaf a starts with an older revision of the planet and takes the
# newer one its root sends.  Moons: node m is a root of a moon made with
# zt-mkworld; leaf a orbits it by id with m as the seed, fetches the moon
# from m through the planet's root, stores it, and from then on has m as
# a MOON upstream.
#
#   root 198.18.0.1 --- bridge --- m 198.18.0.5 (moon root)
#                              \-- a 198.18.0.11 (orbits the moon)
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
plan 8

ns_bridge
ns_host root 198.18.0.1/24
ns_host m 198.18.0.5/24
ns_host a 198.18.0.11/24
zt_world root 198.18.0.1/9993

zt_moon m 198.18.0.5/9993
ok $? "zt-mkworld makes a moon whose id is its root's address"

zt_start root
zt_start m
like "$(cat "$ns_tmp/m/log")" "moon $moon_id" "m loads its moon from moons.d"
sed 's/^type: planet$/type: planet\ntimestamp: 1000/' "$ns_tmp/planet.yaml" > "$ns_tmp/planet-old.yaml"
"$builddir/zt-mkworld" make "$ns_tmp/planet-old.yaml" "$ns_tmp/planet-old" > /dev/null
zt_planet=$ns_tmp/planet-old zt_node_extra="orbit: [ { id: \"$moon_id\", seed: \"$(zt_address m)\" } ]" zt_start a

zt_wait 40 test -s "$ns_tmp/a/moons.d/$moon_id.moon"
ok $? "a fetched the moon from its seed and stored it"
cmp -s "$ns_tmp/a/moons.d/$moon_id.moon" "$ns_tmp/m/moons.d/$moon_id.moon"
ok $? "the stored moon is the one m serves"

role=$(zt_api a "http://127.0.0.1:9993/peer/$(zt_address m)")
like "$role" '"role":"MOON"' "a lists m as a MOON"
zt_wait 30 zt_direct a m; ok $? "a reaches the moon root at its stable endpoint"
zt_wait 20 cmp -s "$ns_tmp/a/planet" "$ns_tmp/planet"
ok $? "a replaced its old planet with the root's newer revision"
like "$(cat "$ns_tmp/a/log")" "planet [0-9a-f]* updated to revision" "and logged it"
[ $tap_failed -eq 0 ] || { zt_log root; zt_log m; zt_log a; }
tap_done
