/* libFuzzer: networks.d/<nwid>.local.conf (zt/wire/localconf.c) on any
 * file contents.  What is accepted is written again and reads back the
 * same; what is refused leaves the settings alone.  The same bytes as a
 * pushed DNS search domain: one accepted holds nothing that could break
 * a resolv.conf line (no space, control byte or '#'). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zt/netconf.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void domain_check(const uint8_t *data, size_t size)
{
	char domain[ZT_DNS_DOMAIN_LEN] = { 0 };

	memcpy(domain, data, size < sizeof domain - 1 ? size : sizeof domain - 1);
	if (!zt_dns_domain_ok(domain))
		return;
	for (size_t i = 0; domain[i]; i++)
		if ((unsigned char)domain[i] <= ' ' || (unsigned char)domain[i] >= 0x7f || domain[i] == '#')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zt_net_settings s = { .allow_global = true, .allow_dns = true }, before = s, back;
	uint8_t *copy = malloc(size ? size : 1), out[256];   /* exact size: ASan sees overreads */
	struct zt_wr w;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (zt_net_settings_parse(&s, copy, size) < 0) {
		if (memcmp(&s, &before, sizeof s))
			abort();   /* refused, yet changed */
	} else {
		zt_wr_init(&w, out, sizeof out);
		if (zt_net_settings_write(&s, &w) < 0 || zt_net_settings_parse(&back, out, w.len) < 0 ||
		    memcmp(&s, &back, sizeof s))
			abort();
	}
	domain_check(copy, size);
	free(copy);
	return 0;
}
