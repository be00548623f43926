/* api: allow-from's CIDRs (see cidr.h). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

bool api_cidr_parse(const char *text, struct api_cidr *out)
{
	char ip[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t iplen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long bits, max;
	char *end;

	if (iplen == 0 || iplen >= sizeof ip)
		return false;
	memcpy(ip, text, iplen);
	ip[iplen] = 0;
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, ip, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, ip, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return false;
	}
	if (!slash) {
		out->bits = (unsigned)max;
		return true;
	}
	/* digits only: strtoul would take a sign or spaces */
	if (!isdigit((unsigned char)slash[1]))
		return false;
	errno = 0;
	bits = strtoul(slash + 1, &end, 10);
	if (errno || *end || bits > max)
		return false;
	out->bits = (unsigned)bits;
	return true;
}

bool api_cidr_has(const struct api_cidr *r, const struct sockaddr *peer)
{
	const uint8_t *p;
	unsigned bits = r->bits, i = 0;

	if (peer->sa_family != r->family)
		return false;
	if (peer->sa_family == AF_INET)
		p = (const uint8_t *)&((const struct sockaddr_in *)(const void *)peer)->sin_addr;
	else
		p = ((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr.s6_addr;
	for (; bits >= 8; i++, bits -= 8)
		if (r->addr[i] != p[i])
			return false;
	return !bits || !((r->addr[i] ^ p[i]) & (0xff00u >> bits) & 0xffu);
}
