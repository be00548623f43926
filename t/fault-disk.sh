#!/bin/sh
# Host faults: a member's state directory full, then read-only.  The
# daemon logs which file it could not write and why, keeps running what it
# has (traffic on its network goes on), and leaves no file half-written
# (state is written to a temporary file, synced, renamed); once the disk
# is writable again a restart finds its identity and network as before.
#
#   root 198.18.0.1 --- bridge --- ctl 198.18.0.2 (controller)
#                              |-- a 198.18.0.11, home on a 1 MB tmpfs
#                              \-- b 198.18.0.12
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
plan 16

api_url=http://127.0.0.1:9993
ahome=$ns_tmp/a
mkdir -p "$ahome"
# mounted before a's ztd starts, so that the mount namespace ip netns exec
# gives it has the tmpfs too (and a remount read-only reaches it)
mount -t tmpfs -o size=1m,mode=0700 zt-fault-disk "$ahome" || bail "cannot mount a tmpfs on $ahome"
trap 'umount -l "$ahome" 2>/dev/null; ns_cleanup' EXIT
# a's log outside the tmpfs, or it could not say what went wrong
ln -s "$ns_tmp/a.log" "$ahome/log"

zt_lab a:11 b:12
zt_tap_network disk 9
net1=$net
zt_start a
zt_start b
zt_authorize true a b
zt_wait 30 zt_has_ip a && zt_wait 30 zt_has_ip b; ok $? "a and b have addresses"
ipa=$(zt_net_ip a); ipb=$(zt_net_ip b)
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "a pings b"
# a second network, public, that a joins through its API while the disk is full
net2=$(zt_ctl_network '{"name":"disk2","private":false}')
id_a=$(cat "$ahome/identity.secret")
cache1=$(sha256sum < "$ahome/networks.d/$net1.netconf")

# ---- full ----
dd if=/dev/zero of="$ahome/filler" bs=4k > /dev/null 2>&1
is "$(df --output=avail "$ahome" | tail -1 | tr -d ' ')" 0 "a's state directory is full"
zt_api a -X POST -d '{}' "$api_url/network/$net2" > /dev/null
net=$net2 zt_wait 30 zt_is_status a OK; ok $? "a joins another network with a full disk"
grep -q "$ahome/networks.d/$net2.netconf: cannot cache the network's config: No space left on device" "$ns_tmp/a.log"
ok $? "the log names the config cache it could not write, and why"
# settings_and_traffic DNS ERROR STATE: a local setting changed (DNS
# true/false) is logged as not saved with ERROR, and a still reaches b
settings_and_traffic() {
	zt_api a -X POST -d "{\"allowDNS\":$1}" "$api_url/network/$net1" > /dev/null
	grep -q "$ahome/networks.d/$net1.local.conf: $2" "$ns_tmp/a.log"
	ok $? "... and the local settings file ($2)"
	ns_exec a ping -c 3 -i 0.2 -W 1 "$ipb" > "$ns_tmp/ping" 2>&1
	like "$(cat "$ns_tmp/ping")" " 0% packet loss" "traffic goes on with the disk $3"
}
settings_and_traffic true "No space left on device" full

# ---- read-only ----
rm -f "$ahome/filler"
mount -o remount,ro "$ahome" || bail "cannot remount $ahome read-only"
zt_api a -X DELETE "$api_url/network/$net2" > /dev/null
grep -q "$ahome/networks.d/$net2.join: Read-only file system: the network will be joined again after a restart" \
	"$ns_tmp/a.log"
ok $? "read-only: the log names the join it could not forget"
settings_and_traffic false "Read-only file system" read-only
eval "kill -0 \$zt_pid_a"; ok $? "a's ztd is still running"

# ---- nothing half-written ----
mount -o remount,rw "$ahome"
is "$(find "$ahome" -name '*.tmp.*' | wc -l)" 0 "no temporary file is left behind"
is "$(sha256sum < "$ahome/networks.d/$net1.netconf")" "$cache1" "a's config cache is the one written before"
zt_stop a
is "$(cat "$ahome/identity.secret")" "$id_a" "a's identity is intact"
ctl_down() { zt_stop ctl; }
ctl_down
# from its cache alone, with the controller away
zt_start a
net=$net1 zt_wait 30 zt_is_status a OK && [ "$(net=$net1 zt_net_ip a)" = "$ipa" ]
ok $? "restarted with the controller away, a is OK on its network with its address, from its cache"
zt_wait 30 ns_exec a ping -c 1 -W 1 "$ipb"; ok $? "and reaches b"
[ $tap_failed -eq 0 ] || { sed 's/^/#   /' "$ns_tmp/a.log"; }
tap_done
