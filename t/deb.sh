#!/bin/sh
# The Debian packages (debian/): built with dpkg-buildpackage from the
# files the release tarball ships (make distdir), lintian-clean, installed
# with apt on this machine; the installed ztd runs with the installed
# default config as the unit runs it (user zt, CAP_NET_ADMIN only, via
# setpriv) in a namespace with no route out (the default config uses the
# public planet: nothing may reach it), zt-cli finds its token with no
# flags, a module built against libztk-dev loads, the man pages name the
# package's paths; reinstalling, upgrading to the next version, then
# removing keeps the node's state, purging removes it.
#
# It installs zt's packages system-wide while other tests run: they use
# the build tree's ztd, modules (ZT_MODULE_PATH, their own moduledir) and
# tools, never /usr/sbin/ztd or the packaged modules.  Whatever happens,
# the packages are purged at exit.
#
#   namespace "deb": lo only; /usr/sbin/ztd as the unit runs it
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
for c in dpkg-buildpackage dh lintian apt-get setpriv systemd-analyze pkg-config; do
	command -v "$c" > /dev/null || skip_all "needs $c (scripts/setup.sh installs it)"
done
plan 19

deb_packages="ztd zt-tools libztk-dev libztk0"
# deb_installed PACKAGE...: how many of them are installed
deb_installed() { dpkg-query -W -f='${Status}\n' "$@" 2>/dev/null | grep -c 'ok installed'; }
deb_purge() {
	# shellcheck disable=SC2086
	[ "$(deb_installed $deb_packages)" -eq 0 ] || dpkg --purge $deb_packages > "$ns_tmp/purge.log" 2>&1
}
deb_cleanup() { ns_cleanup_pids; deb_purge; ns_cleanup; }
ns_cleanup_pids() { for p in $ns_pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap deb_cleanup EXIT
if [ "$(deb_installed $deb_packages)" -gt 0 ]; then
	diag "zt packages installed on this machine (an earlier run killed?): purged first"
	deb_purge
fi

# ---- build and lint ----
chmod 0755 "$ns_tmp"     # apt reads the .debs as its user _apt
version=$(sed -n '1s/^zt (\([^)]*\)).*/\1/p' "$srcdir/debian/changelog")
src=$ns_tmp/zt-$version
make -s -C "$builddir" distdir distdir="$src" > "$ns_tmp/distdir.log" 2>&1 || {
	sed 's/^/# /' "$ns_tmp/distdir.log"; bail "make distdir"; }
(cd "$src" && DEB_BUILD_OPTIONS="nocheck noddebs parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
	> "$ns_tmp/build.log" 2>&1
ok $? "dpkg-buildpackage -us -uc -b builds the packages"
[ -f "$ns_tmp/zt_${version}_$(dpkg --print-architecture).changes" ] || {
	tail -40 "$ns_tmp/build.log" | sed 's/^/# /'; bail "no .changes"; }
is "$(ls "$ns_tmp"/*.deb | sed 's|.*/||; s|_.*||' | sort | tr '\n' ' ')" "libztk-dev libztk0 zt-tools ztd " \
	"packages: ztd, zt-tools, libztk0 (SONAME libztk.so.0), libztk-dev"
# (its only word on stderr: it runs as root)
findings=$(lintian --fail-on error,warning "$ns_tmp"/*.changes 2> "$ns_tmp/lintian.err")
is "$?:$findings" "0:" "lintian: no error, no warning"

# ---- install ----
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$ns_tmp"/*.deb \
	> "$ns_tmp/install.log" 2>&1
ok $? "apt-get install ./*.deb"
[ "$(deb_installed $deb_packages)" -eq 4 ] || { sed 's/^/# /' "$ns_tmp/install.log"; bail "not installed"; }
is "$(stat -c '%U %G %a' /var/lib/zt) $(getent passwd zt | cut -d: -f6)" "zt zt 700 /var/lib/zt" \
	"system user zt, its home /var/lib/zt (mode 0700) made by the package"
moduledir=$(pkg-config --variable=moduledir ztk)
is "$moduledir" "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/zt/modules" \
	"ztk.pc: modules in the multiarch library directory"
like "$(ZT_MODULE_PATH= /usr/sbin/ztd --check-config 2>&1)" "udp +transport +udp +$moduledir/udp.so" \
	"installed ztd reads /etc/zt/ztd.yaml and finds its modules there"
man8=$(zcat /usr/share/man/man8/ztd.8.gz)
man5=$(zcat /usr/share/man/man5/ztd.yaml.5.gz)
! printf '%s\n' "$man8" "$man5" "$(zcat /usr/share/man/man1/zt-cli.1.gz)" | grep -q /usr/local &&
	echo "$man8" | grep -q '^\.IR /etc/zt/ztd.yaml$' &&
	echo "$man8" | grep -q '^\.IR /usr/share/zt/ztd\\-default.yaml ,$' &&
	echo "$man5" | grep -q '^\.IR /var/lib/zt ;$'
ok $? "man pages name the package's paths (/etc/zt, /var/lib/zt, /usr/share/zt), not /usr/local"
unit=$(pkg-config --variable=systemdsystemunitdir systemd)/ztd.service
is "$(systemd-analyze verify --man=no "$unit" 2>&1)" "" "systemd-analyze verify: the installed unit"

# ---- ztd as the unit runs it: user zt, CAP_NET_ADMIN only ----
ns_netns deb
log=$ns_tmp/ztd.log
(umask 077 && exec env -u ZT_MODULE_PATH ip netns exec "$(ns_name deb)" \
	setpriv --reuid=zt --regid=zt --clear-groups --no-new-privs \
	--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin --bounding-set=-all,+net_admin \
	/usr/sbin/ztd) > "$log" 2>&1 &
ztd_pid=$!
ns_pids="$ns_pids $ztd_pid"
zt_wait 60 grep -q "info: started" "$log" || { sed 's/^/# /' "$log"; bail "installed ztd did not start"; }
is "$(awk '/^Uid:/ { print $2 } /^CapEff:/ { print $2 }' "/proc/$ztd_pid/status" | tr '\n' ' ')" \
	"$(id -u zt) 0000000000001000 " "ztd runs as zt with only CAP_NET_ADMIN"
address=$(cut -c1-10 /var/lib/zt/identity.public)
zt_wait 30 test -s /var/lib/zt/zerotier-one.port
is "$(ns_exec deb env -u ZT_HOME zt-cli info | cut -d' ' -f1-3,5)" "200 info $address OFFLINE" \
	"zt-cli info, no flags (as root: the token in /var/lib/zt)"
# a network joined: its file in networks.d is part of the state an upgrade keeps
ns_exec deb env -u ZT_HOME zt-cli join a1b2c3d4e5000001 > /dev/null 2>&1
zt_wait 10 test -f /var/lib/zt/networks.d/a1b2c3d4e5000001.join
ok $? "zt-cli join, no flags: the network is in /var/lib/zt/networks.d"
kill -TERM "$ztd_pid"; wait "$ztd_pid"

# ---- an out-of-tree module against libztk-dev ----
cp -r "$srcdir/examples/hello" "$ns_tmp/hello" && chmod -R u+w "$ns_tmp/hello"
make -s -C "$ns_tmp/hello" > "$ns_tmp/hello.log" 2>&1
ok $? "examples/hello builds with pkg-config ztk (libztk-dev)"
mkdir -p "$ns_tmp/hello-home"
cat > "$ns_tmp/hello.yaml" <<YAML
node: { home: $ns_tmp/hello-home }
modules: { path: ["$ns_tmp/hello"] }
services:
  - { use: hello, greeting: "hello from the package", every: 100ms }
YAML
env -u ZT_MODULE_PATH timeout --preserve-status -s INT 2 /usr/sbin/ztd -c "$ns_tmp/hello.yaml" \
	> "$ns_tmp/hello-run.log" 2>&1
like "$(cat "$ns_tmp/hello-run.log")" "hello: hello from the package \\(greeting 3\\)" \
	"installed ztd loads it"

# ---- upgrade, remove, purge ----
# state_sum: every file of the node's state (identity, networks, controller
# data), names, owners, modes and contents
state_sum() { (cd /var/lib/zt && find . -type f -printf '%p %u %m\n' -exec md5sum {} + | sort | md5sum); }
state=$(state_sum)
dpkg -i "$ns_tmp"/*.deb > "$ns_tmp/upgrade.log" 2>&1 && [ "$(state_sum)" = "$state" ]
ok $? "installing again (the upgrade path of the maintainer scripts) keeps the state as it was"
# the next build: the same packages repacked as version+1 (and their
# dependencies on each other), installed over these by apt
next=$version+1
mkdir "$ns_tmp/next"
for deb in "$ns_tmp"/*.deb; do
	dpkg-deb -R "$deb" "$ns_tmp/unpacked" &&
	sed -i "s/^Version: .*/Version: $next/; s/(\([=>]*\) $version)/(\1 $next)/g" "$ns_tmp/unpacked/DEBIAN/control" &&
	dpkg-deb -b "$ns_tmp/unpacked" "$ns_tmp/next/" > /dev/null && rm -rf "$ns_tmp/unpacked" || bail "repacking $deb"
done
chmod 0755 "$ns_tmp/next"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$ns_tmp"/next/*.deb \
	> "$ns_tmp/upgrade-next.log" 2>&1 &&
	[ "$(dpkg-query -W -f='${Version}' ztd)" = "$next" ] && [ "$(state_sum)" = "$state" ]
ok $? "upgrade with apt to the next version ($next) keeps the state as it was"
# shellcheck disable=SC2086
dpkg --remove $deb_packages > "$ns_tmp/remove.log" 2>&1 && [ ! -e /usr/sbin/ztd ] &&
	[ "$(state_sum)" = "$state" ] && [ -f /etc/zt/ztd.yaml ]
ok $? "remove: the programs go, the state and the config stay"
# shellcheck disable=SC2086
dpkg --purge $deb_packages > "$ns_tmp/purge.log" 2>&1
ok $? "purge"
[ ! -e /var/lib/zt ] && [ ! -e /etc/zt ] && [ "$(deb_installed $deb_packages)" -eq 0 ]
ok $? "purge: the state (/var/lib/zt) and the config (/etc/zt) are gone"
tap_done
