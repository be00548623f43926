/* Per-network local settings and the pushed DNS checks (zt/wire/
 * localconf.c, networks.md §9.4, §4.5.5): local.conf as 1.14 writes and
 * reads it, which managed addresses and routes each setting lets
 * through, and what of a controller's DNS may reach the host. */
#include <errno.h>
#include <zt/inetaddr.h>
#include <zt/netconf.h>
#include "tap.h"

static int parse_text(struct zt_net_settings *s, const char *text)
{
	return zt_net_settings_parse(s, (const uint8_t *)text, strlen(text));
}

/* The four settings as "MGDN" letters, '-' for false. */
static const char *flags(const struct zt_net_settings *s)
{
	static char out[5];

	out[0] = s->allow_managed ? 'M' : '-';
	out[1] = s->allow_global ? 'G' : '-';
	out[2] = s->allow_default ? 'D' : '-';
	out[3] = s->allow_dns ? 'N' : '-';
	return out;
}

static const char *parsed(const char *text)
{
	struct zt_net_settings s;

	if (parse_text(&s, text) < 0)
		return "error";
	return flags(&s);
}

static void names(void)
{
	struct zt_net_settings s;

	zt_net_settings_default(&s);
	is_str(flags(&s), "M---", "the defaults: allowManaged only, as 1.14");
	is_int(zt_net_setting_index("allowManaged"), 0, "allowManaged is setting 0");
	is_int(zt_net_setting_index("allowDNS"), 3, "allowDNS is setting 3");
	is_int(zt_net_setting_index("allowdns"), -1, "names are case-sensitive");
	is_int(zt_net_setting_index(NULL), -1, "no name, no setting");
	ok(zt_net_setting(&s, 2) == &s.allow_default, "setting 2 is allowDefault");
	ok(zt_net_setting(&s, ZT_NET_SETTINGS) == NULL, "no setting past the last");
}

static void parsing(void)
{
	static const struct { const char *text, *want, *name; } cases[] = {
		{ "", "M---", "an empty file: the defaults" },
		{ "allowManaged=1\nallowGlobal=0\nallowDefault=0\nallowDNS=0\n", "M---", "1.14's file" },
		{ "allowManaged=0\nallowGlobal=1\nallowDefault=1\nallowDNS=1\n", "-GDN", "every setting flipped" },
		{ "allowDNS=true\nallowGlobal=T\n", "MG-N", "true and T are true; absent keys keep the default" },
		{ "allowDefault=yes\nallowDNS=2\n", "M---", "anything not starting with 1, t or T is false" },
		{ "allowManaged=false\n", "----", "allowManaged=false" },
		{ "allowManaged=10.0.0.0/8,fd00::/8\n", "M---", "1.14's list of CIDRs for allowManaged: managed" },
		{ "allowManaged=0.0.0.0/0\n", "M---", "... even one starting with 0" },
		{ "allowManaged=\n", "M---", "an empty value keeps the default" },
		{ "allowManaged=0\nallowManaged=1\n", "----", "a repeated key: the first counts" },
		{ "allowglobal=1\nfoo=bar\n", "M---", "unknown keys are ignored" },
	};
	struct zt_net_settings s;
	char big[5000];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		is_str(parsed(cases[i].text), cases[i].want, cases[i].name);
	is_int(zt_net_settings_parse(&s, (const uint8_t *)"allowDNS=1\0allowGlobal=1\n", 25), 0, "a NUL inside");
	is_str(flags(&s), "M--N", "... ends the dictionary");
	memset(big, 'x', sizeof big);
	memcpy(big, "allowDNS=1\n", 11);
	zt_net_settings_default(&s);
	is_int(zt_net_settings_parse(&s, (const uint8_t *)big, sizeof big), -EINVAL, "a file over 4 KiB: -EINVAL");
	ok(!s.allow_dns, "... and the settings are left as they were");
	is_int(zt_net_settings_parse(&s, (const uint8_t *)big, 4000), 0, "a 4000-byte file is read");
	is_str(flags(&s), "M--N", "... with its settings");
}

static void writing(void)
{
	struct zt_net_settings s = { .allow_managed = false, .allow_global = true, .allow_default = false,
				     .allow_dns = true }, back;
	uint8_t buf[256], tiny[20];
	struct zt_wr w;

	zt_wr_init(&w, buf, sizeof buf);
	is_int(zt_net_settings_write(&s, &w), 0, "written");
	buf[w.len] = 0;
	is_str((char *)buf, "allowManaged=0\nallowGlobal=1\nallowDefault=0\nallowDNS=1\n", "... as 1.14 writes it");
	ok(zt_net_settings_parse(&back, buf, w.len) == 0 && !memcmp(&back, &s, sizeof s), "... and reads back the same");
	zt_wr_init(&w, tiny, sizeof tiny);
	is_int(zt_net_settings_write(&s, &w), -ENOSPC, "no room: -ENOSPC");
}

/* Whether a managed target (address/prefix as text) passes settings "MGDN". */
static bool allows(const char *settings, const char *target)
{
	struct zt_net_settings s = { .allow_managed = strchr(settings, 'M') != NULL,
				     .allow_global = strchr(settings, 'G') != NULL,
				     .allow_default = strchr(settings, 'D') != NULL };
	union zt_sockaddr t;

	if (zt_inetaddr_from_text(&t, target) < 0)
		bail("bad target %s", target);
	return zt_net_settings_allow(&s, &t);
}

static void allowing(void)
{
	ok(allows("M", "198.19.3.5/24"), "a private IPv4 address with allowManaged");
	ok(allows("M", "fd00:3::5/64"), "a private IPv6 one (fd00::/8)");
	ok(allows("M", "100.64.0.1/10"), "a shared one (100.64.0.0/10)");
	ok(allows("M", "25.0.0.1/8"), "a pseudo-private one (25.0.0.0/8)");
	ok(!allows("GD", "198.19.3.5/24"), "nothing without allowManaged, not even private");
	ok(!allows("GD", "0.0.0.0/0"), "... nor a default route");
	ok(!allows("M", "2001:db8:ff19::5/64"), "a global IPv6 address without allowGlobal");
	ok(allows("MG", "2001:db8:ff19::5/64"), "... with it");
	ok(!allows("M", "8.8.8.0/24"), "a global IPv4 route without allowGlobal");
	ok(allows("MG", "8.8.8.0/24"), "... with it");
	ok(!allows("MG", "0.0.0.0/0"), "the IPv4 default route without allowDefault, even with allowGlobal");
	ok(allows("MD", "0.0.0.0/0"), "... with allowDefault");
	ok(!allows("MG", "::/0"), "the IPv6 default route without allowDefault");
	ok(allows("MD", "::/0"), "... with it");
	ok(allows("MG", "128.0.0.0/1"), "half the IPv4 space is a global route, not a default one");
	ok(!allows("MGD", "0.0.0.0/1"), "the other half is in 0.0.0.0/8, unspecified: refused, as 1.14 does");
	ok(!allows("MGD", "127.0.0.1/8"), "never loopback");
	ok(!allows("MGD", "169.254.1.1/16"), "never link-local IPv4");
	ok(!allows("MGD", "fe80::1:2/64"), "never link-local IPv6");
	ok(!allows("MGD", "224.0.0.0/4"), "never multicast");
	ok(!allows("MGD", "ff02::1/16"), "never IPv6 multicast");
	ok(!allows("MGD", "0.0.0.0/8"), "0.0.0.0/8 with a prefix is no default route: refused as unspecified");
}

static void dns_domains(void)
{
	char long_label[80], long_name[300];

	ok(zt_dns_domain_ok(""), "an empty domain");
	ok(zt_dns_domain_ok("zt.test"), "zt.test");
	ok(zt_dns_domain_ok("zt.test."), "one final dot");
	ok(zt_dns_domain_ok("_srv.a-b.C0"), "'_', '-' inside, digits, capitals");
	ok(!zt_dns_domain_ok("."), "only a dot");
	ok(!zt_dns_domain_ok("a..b"), "an empty label");
	ok(!zt_dns_domain_ok(".a"), "a leading dot");
	ok(!zt_dns_domain_ok("-a.b"), "a label starting with '-'");
	ok(!zt_dns_domain_ok("a-.b"), "a label ending with '-'");
	ok(!zt_dns_domain_ok("a.b-"), "the last label ending with '-'");
	ok(!zt_dns_domain_ok("a b"), "a space (resolv.conf would read two domains)");
	ok(!zt_dns_domain_ok("a\nnameserver 1.2.3.4"), "a newline (a line injected into resolv.conf)");
	ok(!zt_dns_domain_ok("a/b"), "a slash");
	memset(long_label, 'a', 63);
	long_label[63] = 0;
	ok(zt_dns_domain_ok(long_label), "a label of 63 bytes");
	long_label[63] = 'a', long_label[64] = 0;
	ok(!zt_dns_domain_ok(long_label), "one of 64");
	for (size_t i = 0; i < sizeof long_name - 1; i++)
		long_name[i] = i % 2 ? '.' : 'a';
	long_name[127] = 0;
	ok(zt_dns_domain_ok(long_name), "a name of 127 bytes, as many as the field holds");
	long_name[127] = 'a', long_name[253] = 0;
	ok(!zt_dns_domain_ok(long_name), "one of 253: longer than the field, refused");
}

static void dns_servers(void)
{
	struct zt_dns d;
	union zt_sockaddr out[ZT_DNS_SERVERS];
	char ip[ZT_INETADDR_TEXT_MAX];

	memset(&d, 0, sizeof d);
	ok(zt_dns_empty(&d), "no domain, no servers: empty");
	zt_inetaddr_from_text(&d.servers[0], "0.0.0.0");
	zt_inetaddr_from_text(&d.servers[1], "224.0.0.251");
	ok(zt_dns_empty(&d), "unspecified and multicast servers do not count");
	zt_inetaddr_from_text(&d.servers[2], "fd00:3::53");
	zt_inetaddr_from_text(&d.servers[3], "198.19.3.53");
	ok(!zt_dns_empty(&d), "a usable server: not empty");
	is_int(zt_dns_servers(&d, out), 2, "two usable servers of four");
	zt_inetaddr_to_text(&out[0], ip, sizeof ip);
	is_str(ip, "fd00:3::53/0", "in order: the IPv6 one first");
	memset(&d, 0, sizeof d);
	strcpy(d.domain, "zt.test");
	ok(!zt_dns_empty(&d), "a domain alone: not empty");
	is_int(zt_dns_servers(&d, out), 0, "... with no server");
}

int main(void)
{
	plan(74);
	names();
	parsing();
	writing();
	allowing();
	dns_domains();
	dns_servers();
	return tap_done();
}
