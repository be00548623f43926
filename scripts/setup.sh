#!/bin/sh
# Install what zt needs to build, test and run its lab, on Debian 12.
# Idempotent: packages already present are left alone.
set -e
# miniupnpd-nftables is only the daemon (no unit, no init script, no
# debconf question in Debian 12): the NAT tests run it in a namespace with
# their own config; it never starts on the host.  debhelper, dpkg-dev,
# fakeroot and lintian build and check the Debian packages (t/deb.sh).
# libldns-dev builds the dns module; bind9-dnsutils is dig for t/dns.sh.
# dbus-daemon is the private system bus of t/net-resolved.sh.
packages="build-essential autoconf automake libtool pkg-config
	libsodium-dev libev-dev libyaml-dev libpcap-dev libssl-dev liblz4-dev
	libhttp-parser-dev libjansson-dev libcurl4-openssl-dev libmnl-dev libsqlite3-dev sqlite3
	libminiupnpc-dev libnatpmp-dev miniupnpd-nftables
	libpq-dev postgresql-15
	libldns-dev bind9-dnsutils
	clang libclang-rt-14-dev
	iproute2 nftables iputils-ping tcpdump procps psmisc curl jq netcat-openbsd prometheus python3
	libsystemd-dev systemd dbus-daemon util-linux socat faketime
	debhelper dpkg-dev fakeroot lintian"
missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq $missing > /dev/null
fi

# systemd-resolved for t/net-resolved.sh, unpacked into $resolved_dir and
# never installed: its postinst would make the host's /etc/resolv.conf its
# own.  The test runs it on its own bus in a namespace.  Its version is the
# installed systemd's, whose libsystemd-shared it links.
resolved_dir=/var/cache/zt-ci/systemd-resolved
resolved_version=$(dpkg-query -W -f='${Version}' systemd)
if [ "$(cat "$resolved_dir/version" 2>/dev/null)" != "$resolved_version" ]; then
	echo "setup: unpacking systemd-resolved $resolved_version into $resolved_dir"
	tmp=$(mktemp -d)
	chmod 755 "$tmp"   # apt's download sandbox (user _apt) writes there
	(cd "$tmp" && { apt-get download -qq "systemd-resolved=$resolved_version" ||
		{ apt-get update -qq && apt-get download -qq "systemd-resolved=$resolved_version"; }; }) > /dev/null
	rm -rf "$resolved_dir"
	mkdir -p "$resolved_dir"
	dpkg-deb -x "$tmp"/systemd-resolved_*.deb "$resolved_dir"
	echo "$resolved_version" > "$resolved_dir/version"
	rm -rf "$tmp"
fi
