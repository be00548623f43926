/* InetAddress (wire.md §5): binary and text forms, skipped and malformed
 * types, truncation, and IP scopes (§7.3). */
#include <errno.h>
#include <zt/inetaddr.h>
#include "tap.h"

static void text_round_trip(const char *s, int family, unsigned port)
{
	char back[ZT_INETADDR_TEXT_MAX], name[128];
	uint8_t bin[ZT_INETADDR_MAX];
	union zt_sockaddr a, b;
	int n;

	snprintf(name, sizeof name, "%s: text -> binary -> text", s);
	n = zt_inetaddr_from_text(&a, s) == 0 ? zt_inetaddr_to_bin(&a, bin, sizeof bin) : -1;
	ok(n == (family == AF_INET ? 7 : 19) && a.sa.sa_family == family &&
	   zt_inetaddr_port(&a) == port && zt_inetaddr_from_bin(&b, bin, (size_t)n) == n &&
	   zt_inetaddr_equal(&a, &b, true) && zt_inetaddr_to_text(&b, back, sizeof back) > 0 &&
	   !strcmp(back, s), name);
}

static void wire(void)
{
	static const uint8_t v4[] = { 0x04, 198, 18, 0, 1, 0x27, 0x09 };
	static const uint8_t v6[] = { 0x06, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
				      0x27, 0x09 };
	static const uint8_t skips[][12] = {
		{ 0x00 },
		{ 0x01, 1, 2, 3, 4, 5, 6 },
		{ 0x02, 1, 2, 3, 4, 5, 6 },
		{ 0x03, 0x00, 0x03, 9, 9, 9 },
	};
	static const size_t skip_len[] = { 1, 7, 7, 6 };
	char t[ZT_INETADDR_TEXT_MAX];
	union zt_sockaddr a;
	uint8_t out[32];
	size_t i, n;
	bool good;

	ok(zt_inetaddr_from_bin(&a, v4, sizeof v4) == 7 && zt_inetaddr_to_text(&a, t, sizeof t) > 0 &&
	   !strcmp(t, "198.18.0.1/9993"), "type 4 decodes");
	ok(zt_inetaddr_from_bin(&a, v6, sizeof v6) == 19 && zt_inetaddr_to_text(&a, t, sizeof t) > 0 &&
	   !strcmp(t, "2001:db8::1/9993"), "type 6 decodes");
	ok(zt_inetaddr_to_bin(&a, out, sizeof out) == 19 && !memcmp(out, v6, 19), "type 6 encodes");
	for (i = 0; i < 4; i++) {
		char name[64];

		snprintf(name, sizeof name, "type %zu is skipped: %zu bytes, no address", i, skip_len[i]);
		ok(zt_inetaddr_from_bin(&a, skips[i], skip_len[i]) == (int)skip_len[i] &&
		   a.sa.sa_family == AF_UNSPEC, name);
	}
	memset(&a, 0, sizeof a);
	ok(zt_inetaddr_to_bin(&a, out, sizeof out) == 1 && out[0] == 0 && zt_inetaddr_len(&a) == 1,
	   "no address encodes as type 0");
	good = true;
	for (i = 5; i < 256; i++) {
		uint8_t bad[20] = { (uint8_t)i };

		if (i == 6)
			continue;
		good = good && zt_inetaddr_from_bin(&a, bad, sizeof bad) == -EINVAL;
	}
	ok(good, "every other type byte is malformed (-EINVAL)");
	good = true;
	for (n = 0; n < sizeof v6; n++)
		good = good && zt_inetaddr_from_bin(&a, v6, n) == -EMSGSIZE;
	for (n = 0; n < sizeof v4; n++)
		good = good && zt_inetaddr_from_bin(&a, v4, n) == -EMSGSIZE;
	for (n = 1; n < skip_len[3]; n++)
		good = good && zt_inetaddr_from_bin(&a, skips[3], n) == -EMSGSIZE;
	ok(good, "every truncation is -EMSGSIZE");
	zt_inetaddr_from_bin(&a, v6, sizeof v6);
	good = true;
	for (n = 0; n < 19; n++)
		good = good && zt_inetaddr_to_bin(&a, out, n) == -EMSGSIZE;
	ok(good, "writing into too little room fails");
}

static void text(void)
{
	static const char *const bad[] = { "", "/9993", "1.2.3.4/", "1.2.3.4/65536",
		"1.2.3.4/-1", "1.2.3.4/99x", "1.2.3/9993", "300.1.1.1/1", "2001:db8::g/1",
		"[2001:db8::1]:9993", "1.2.3.4 /9993", "1.2.3.4/+5" };
	union zt_sockaddr a;
	char t[ZT_INETADDR_TEXT_MAX];
	size_t i;
	bool good = true;

	text_round_trip("1.2.3.4/9993", AF_INET, 9993);
	text_round_trip("198.18.0.1/0", AF_INET, 0);
	text_round_trip("2001:db8::1/9993", AF_INET6, 9993);
	text_round_trip("2605:9880:200:1200:30:571:e34:51/65535", AF_INET6, 65535);
	ok(zt_inetaddr_from_text(&a, "10.0.0.1") == 0 && zt_inetaddr_port(&a) == 0,
	   "a missing port is 0");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		good = good && zt_inetaddr_from_text(&a, bad[i]) == -EINVAL;
	ok(good, "malformed text is refused");
	zt_inetaddr_from_text(&a, "2001:db8::1/9993");
	is_int(zt_inetaddr_to_text(&a, t, 8), -ENOSPC, "text into too little room");
	memset(&a, 0, sizeof a);
	is_int(zt_inetaddr_to_text(&a, t, sizeof t), -EAFNOSUPPORT, "no address has no text");
}

static void scopes(void)
{
	static const struct {
		const char *addr;
		enum zt_ip_scope scope;
		bool usable;
	} cases[] = {
		{ "0.1.2.3", ZT_SCOPE_NONE, false },
		{ "255.255.255.255", ZT_SCOPE_NONE, false },
		{ "127.0.0.1", ZT_SCOPE_LOOPBACK, false },
		{ "169.254.1.1", ZT_SCOPE_LINK_LOCAL, false },
		{ "224.0.0.1", ZT_SCOPE_MULTICAST, false },
		{ "239.255.255.250", ZT_SCOPE_MULTICAST, false },
		{ "10.1.2.3", ZT_SCOPE_PRIVATE, true },
		{ "172.16.0.1", ZT_SCOPE_PRIVATE, true },
		{ "172.31.255.255", ZT_SCOPE_PRIVATE, true },
		{ "172.32.0.1", ZT_SCOPE_GLOBAL, true },
		{ "192.168.1.1", ZT_SCOPE_PRIVATE, true },
		{ "100.64.0.1", ZT_SCOPE_PRIVATE, true },
		{ "100.128.0.1", ZT_SCOPE_GLOBAL, true },
		{ "192.0.2.1", ZT_SCOPE_PRIVATE, true },
		{ "198.18.0.1", ZT_SCOPE_PRIVATE, true },
		{ "198.19.255.1", ZT_SCOPE_PRIVATE, true },
		{ "198.20.0.1", ZT_SCOPE_GLOBAL, true },
		{ "198.51.100.7", ZT_SCOPE_PRIVATE, true },
		{ "203.0.113.9", ZT_SCOPE_PRIVATE, true },
		{ "6.1.1.1", ZT_SCOPE_PSEUDOPRIVATE, true },
		{ "11.1.1.1", ZT_SCOPE_PSEUDOPRIVATE, true },
		{ "21.1.1.1", ZT_SCOPE_PSEUDOPRIVATE, true },
		{ "22.1.1.1", ZT_SCOPE_PSEUDOPRIVATE, true },
		{ "25.1.1.1", ZT_SCOPE_PSEUDOPRIVATE, true },
		{ "26.1.1.1", ZT_SCOPE_PSEUDOPRIVATE, true },
		{ "28.1.1.1", ZT_SCOPE_PSEUDOPRIVATE, true },
		{ "29.1.1.1", ZT_SCOPE_PSEUDOPRIVATE, true },
		{ "30.1.1.1", ZT_SCOPE_PSEUDOPRIVATE, true },
		{ "51.1.1.1", ZT_SCOPE_PSEUDOPRIVATE, true },
		{ "55.1.1.1", ZT_SCOPE_PSEUDOPRIVATE, true },
		{ "56.1.1.1", ZT_SCOPE_PSEUDOPRIVATE, true },
		{ "240.0.0.1", ZT_SCOPE_PSEUDOPRIVATE, true },
		{ "254.1.1.1", ZT_SCOPE_PSEUDOPRIVATE, true },
		{ "27.1.1.1", ZT_SCOPE_GLOBAL, true },
		{ "104.194.8.134", ZT_SCOPE_GLOBAL, true },
		{ "8.8.8.8", ZT_SCOPE_GLOBAL, true },
		{ "ff02::1", ZT_SCOPE_MULTICAST, false },
		{ "fe80::1", ZT_SCOPE_LOOPBACK, false },
		{ "fe80::1234", ZT_SCOPE_LINK_LOCAL, false },
		{ "febf::1", ZT_SCOPE_LINK_LOCAL, false },
		{ "fc00::1", ZT_SCOPE_PRIVATE, true },
		{ "fd12:3456::1", ZT_SCOPE_PRIVATE, true },
		{ "::1", ZT_SCOPE_LOOPBACK, false },
		{ "::", ZT_SCOPE_NONE, false },
		{ "::ffff:127.0.0.1", ZT_SCOPE_LOOPBACK, false },
		{ "2001:db8::1", ZT_SCOPE_GLOBAL, true },
		{ "2001:470::1", ZT_SCOPE_GLOBAL, false },
		{ "2605:9880:200:1200:30:571:e34:51", ZT_SCOPE_GLOBAL, true },
	};
	union zt_sockaddr a;
	char name[96];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(name, sizeof name, "%s: scope %d%s", cases[i].addr, cases[i].scope,
			 cases[i].usable ? ", usable" : "");
		ok(zt_inetaddr_from_text(&a, cases[i].addr) == 0 &&
		   zt_inetaddr_scope(&a) == cases[i].scope &&
		   zt_inetaddr_path_usable(&a) == cases[i].usable, name);
	}
	memset(&a, 0, sizeof a);
	ok(zt_inetaddr_scope(&a) == ZT_SCOPE_NONE && !zt_inetaddr_path_usable(&a),
	   "no address: scope none, not usable");
}

int main(void)
{
	plan(11 + 8 + 49);
	wire();
	text();
	scopes();
	return tap_done();
}
