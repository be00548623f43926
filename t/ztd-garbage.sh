#!/bin/sh
# Bad input on the wire: a root and a leaf get tens of thousands of
# random datagrams, random "packets" with their real addresses in the
# header, bogus fragments and HELLOs that fail their MAC.  They must drop
# and count them, keep running, and still talk to each other.
#
#   root 198.18.0.1 --- bridge --- a 198.18.0.11
#                              \-- x 198.18.0.66 (sends the garbage)
. "$srcdir/t/tap.sh"
. "$srcdir/t/netns.sh"
ns_require
command -v perl > /dev/null || skip_all "needs perl"
plan 6

ns_bridge
ns_host root 198.18.0.1/24
ns_host a 198.18.0.11/24
ns_host x 198.18.0.66/24
zt_world root 198.18.0.1/9993
zt_start root
zt_start a
zt_wait 20 zt_online a; ok $? "leaf a is online"

# datagram kinds: random bytes; header to a real address with random rest;
# fragments (0xff at 13) with random counts; suite-0 HELLOs with bad MACs
blast() {
	ns_exec x perl -e '
		use IO::Socket::INET;
		my ($to, $dst, $src, $n) = @ARGV;
		my $s = IO::Socket::INET->new(PeerAddr => "$to:9993", Proto => "udp") or die;
		my $d = pack("H10", $dst); my $f = pack("H10", $src);
		for my $i (1 .. $n) {
			my $len = int(rand(1500));
			my $r = join("", map { chr(int(rand(256))) } 1 .. $len);
			my $k = $i % 4;
			if ($k == 1 && $len >= 28) { substr($r, 8, 5) = $d; substr($r, 13, 5) = $f; }
			if ($k == 2 && $len >= 16) { substr($r, 8, 5) = $d; substr($r, 13, 1) = "\xff"; }
			if ($k == 3 && $len >= 28) { substr($r, 8, 5) = $d; substr($r, 13, 5) = $f;
				substr($r, 18, 1) = "\x00"; substr($r, 27, 1) = "\x01"; }
			$s->send($r);
		}' "$1" "$2" "$3" "$4"
}
blast 198.18.0.1 "$(zt_address root)" "$(zt_address a)" 20000
blast 198.18.0.11 "$(zt_address a)" "$(zt_address root)" 20000
eval "kill -0 \$zt_pid_root"; ok $? "the root survives 20000 bad datagrams"
eval "kill -0 \$zt_pid_a"; ok $? "the leaf survives 20000 bad datagrams"
dropped=$(( $(zt_counter root rx_junk) + $(zt_counter root rx_mac_fail) + $(zt_counter root rx_bad_fragment) +
	$(zt_counter root rx_unknown_source) + $(zt_counter root rx_bad_hello) + $(zt_counter root relay_dropped) +
	$(zt_counter root rx_bad_packet) ))
ok $(( dropped > 10000 ? 0 : 1 )) "the root counted what it dropped ($dropped)"
zt_wait 20 zt_online a; ok $? "a still talks to the root"
like "$(zt_api root http://127.0.0.1:9993/status)" '"online":true' "the root still answers its API"
[ $tap_failed -eq 0 ] || { zt_log root; zt_log a; }
tap_done
