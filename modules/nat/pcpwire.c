/* PCP MAP, RFC 6887 §7 (common header) and §11 (MAP); see pcpwire.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pcpwire.h"

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void pcp_map_request(uint8_t out[PCP_MAP_LEN], const struct in6_addr *client, uint32_t lifetime,
		     const struct pcp_map *m)
{
	memset(out, 0, PCP_MAP_LEN);
	out[0] = PCP_VERSION;
	out[1] = PCP_OP_MAP;                 /* R = 0: a request */
	put32(out + 4, lifetime);
	memcpy(out + 8, client, 16);
	memcpy(out + 24, m->nonce, 12);
	out[36] = m->protocol;
	out[40] = (uint8_t)(m->internal_port >> 8), out[41] = (uint8_t)m->internal_port;
	out[42] = (uint8_t)(m->external_port >> 8), out[43] = (uint8_t)m->external_port;
	memcpy(out + 44, &m->external, 16);
}

static int bad(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -EBADMSG;
}

/* Options after the MAP data (§7.3): each a 4-byte header and its data
 * padded to 4, none running past the end. */
static int options_check(const uint8_t *p, size_t len, char *err, size_t errlen)
{
	while (len) {
		size_t olen;

		if (len < 4)
			return bad(err, errlen, "truncated option header");
		olen = (size_t)p[2] << 8 | p[3];
		olen = (olen + 3) & ~(size_t)3;
		if (olen > len - 4)
			return bad(err, errlen, "option runs past the end");
		p += 4 + olen;
		len -= 4 + olen;
	}
	return 0;
}

int pcp_answer_parse(const uint8_t *buf, size_t len, struct pcp_answer *out, char *err, size_t errlen)
{
	struct pcp_answer a;

	if (len < 4)
		return bad(err, errlen, "shorter than a header");
	if (buf[0] != PCP_VERSION)
		return bad(err, errlen, buf[0] == 0 ? "version 0 (a NAT-PMP gateway)" : "unknown version");
	if (!(buf[1] & 0x80))
		return bad(err, errlen, "a request, not an answer");
	if ((buf[1] & 0x7f) != PCP_OP_MAP)
		return bad(err, errlen, "not an answer to MAP");
	if (len > PCP_MAX_LEN || len % 4)
		return bad(err, errlen, "length not a multiple of 4 up to 1100");
	memset(&a, 0, sizeof a);
	a.result = buf[3];
	if (len < 24)
		return bad(err, errlen, "shorter than a header");
	a.lifetime = get32(buf + 4);
	a.epoch = get32(buf + 8);
	/* §7.2: an error answer may carry no MAP data when the request was
	 * malformed; every other answer carries it */
	if (len < PCP_MAP_LEN) {
		if (a.result == 0)
			return bad(err, errlen, "success without MAP data");
		*out = a;
		return 0;
	}
	memcpy(a.map.nonce, buf + 24, 12);
	a.map.protocol = buf[36];
	a.map.internal_port = (uint16_t)(buf[40] << 8 | buf[41]);
	a.map.external_port = (uint16_t)(buf[42] << 8 | buf[43]);
	memcpy(&a.map.external, buf + 44, 16);
	if (options_check(buf + PCP_MAP_LEN, len - PCP_MAP_LEN, err, errlen) < 0)
		return -EBADMSG;
	if (a.result == 0 && a.lifetime && (!a.map.external_port || IN6_IS_ADDR_UNSPECIFIED(&a.map.external)))
		return bad(err, errlen, "success without an external port and address");
	*out = a;
	return 0;
}

const char *pcp_result_name(uint8_t result)
{
	static const char *const names[] = {
		"success", "unsupported version", "not authorized", "malformed request",
		"unsupported opcode", "unsupported option", "malformed option", "network failure",
		"no resources", "unsupported protocol", "user exceeded quota", "cannot provide external",
		"address mismatch", "excessive remote peers",
	};

	return result < sizeof names / sizeof names[0] ? names[result] : "unknown result";
}
