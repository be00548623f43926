/* The frame descriptions of rule dry runs (modules/api/framedesc.c,
 * zt-rules(7) EXPLAIN): what parses builds the frame it says, byte for
 * byte where it matters, and what does not is refused naming the word
 * and what was expected. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "../modules/api/framedesc.h"
#include "tap.h"

static const uint8_t smac[6] = { 0x02, 0x11, 0x11, 0x11, 0x11, 0x11 };
static const uint8_t dmac[6] = { 0x02, 0x22, 0x22, 0x22, 0x22, 0x22 };
static uint8_t frame[FDESC_FRAME_MAX];
static char why[256];

static size_t build(const char *text, struct fdesc *d)
{
	why[0] = 0;
	if (!fdesc_parse(text, d, why, sizeof why))
		return 0;
	return fdesc_build(d, smac, dmac, frame);
}

static const char *refusal(const char *text)
{
	struct fdesc d;

	why[0] = 0;
	return fdesc_parse(text, &d, why, sizeof why) ? "(parsed)" : why;
}

int main(void)
{
	struct fdesc d;
	size_t len;

	plan(19);
	len = build("from 1122334455 to 2233445566 ip 198.19.1.2 -> 198.19.1.3 tcp 22 syn", &d);
	is_int((int)len, 14 + 20 + 20, "tcp over IPv4: Ethernet, IPv4 and TCP headers");
	ok(!d.from.is_mac && d.from.addr == 0x1122334455ULL && d.to.addr == 0x2233445566ULL && d.inbound < 0,
	   "... from and to as ZeroTier addresses, no direction said");
	ok(!memcmp(frame, dmac, 6) && !memcmp(frame + 6, smac, 6) && frame[12] == 0x08 && frame[13] == 0,
	   "... the MACs given and ethertype IPv4");
	ok(frame[14] == 0x45 && frame[23] == 6 && !memcmp(frame + 26, "\xc6\x13\x01\x02\xc6\x13\x01\x03", 8),
	   "... IPv4 version 4, protocol 6, the addresses");
	ok(frame[36] == 0 && frame[37] == 22 && frame[47] == 0x02, "... destination port 22, the SYN flag");
	len = build("inbound from 02:33:44:55:66:77 ip fd00::1 fd00::2 udp 53 sport 5353 size 100", &d);
	ok(len == 114 && d.inbound == 1 && d.from.is_mac && frame[12] == 0x86 && frame[13] == 0xdd &&
	   frame[20] == 17 && frame[54] == 0x14 && frame[55] == 0xe9 && frame[57] == 53,
	   "udp over IPv6 without the arrow, a MAC, a source port, padded to 100 bytes");
	len = build("to broadcast icmp 8", &d);
	is_str(why, "word 3 'icmp': needs 'ip <source> -> <destination>' before it", "icmp before ip is refused");
	len = build("to broadcast ip 198.19.1.2 -> 198.19.1.3 icmp 3 4", &d);
	ok(len == 14 + 28 && frame[23] == 1 && frame[34] == 3 && frame[35] == 4 && d.to.is_mac &&
	   !memcmp(d.to.mac, "\xff\xff\xff\xff\xff\xff", 6),
	   "icmp type 3 code 4 to broadcast");
	len = build("to 2233445566 ethertype arp size 28", &d);
	ok(len == 42 && frame[12] == 0x08 && frame[13] == 0x06, "an ARP frame of 28 bytes of payload");
	is_str(refusal("to 2233445566 ip 198.19.1.2 -> 198.19.1.3 tcpp 22"),
	       "word 7 'tcpp': expected inbound, outbound, from, to, ethertype, ip, tcp, udp, sctp, icmp, proto, "
	       "sport, a TCP flag, tos or size", "an unknown word is named");
	is_str(refusal("to 2233445566 ip 198.19.1.2 -> 198.19.1.3 tcp 70000"),
	       "word 8 '70000': expected a destination port from 0 to 65535", "a port out of range");
	is_str(refusal("to 12345 ethertype arp"),
	       "word 2 '12345': expected a ZeroTier address (10 hex digits), a MAC (xx:xx:xx:xx:xx:xx) or 'broadcast'",
	       "a member that is neither address nor MAC");
	is_str(refusal("to 2233445566"), "at the end: expected 'ip <source> -> <destination>' or 'ethertype <type>'",
	       "a frame without ethertype");
	is_str(refusal("to 2233445566 ip 198.19.1.2"), "at the end: expected a destination IP address",
	       "an IP header without its destination");
	is_str(refusal("to 2233445566 ip 198.19.1.2 fd00::1"),
	       "word 5 'fd00::1': expected a destination IPv4 address like the source", "mixed families");
	is_str(refusal("to 2233445566 ip 198.19.1.2 198.19.1.3 syn"),
	       "word 6 'syn': a TCP flag needs 'tcp <port>' before it", "a TCP flag without tcp");
	is_str(refusal("to 2233445566 ip 198.19.1.2 198.19.1.3 tcp 22 size 30"),
	       "at the end: a size of at least 40 bytes for these headers", "a size smaller than the headers");
	is_str(refusal("inbound outbound to 2233445566 ethertype arp"),
	       "word 2 'outbound': the direction is already given", "two directions");
	is_str(refusal("to 2233445566 ethertype ipv6 ip 198.19.1.2 198.19.1.3"),
	       "at the end: the ethertype is not that of the IPv4 addresses", "an ethertype against the addresses");
	return tap_done();
}
