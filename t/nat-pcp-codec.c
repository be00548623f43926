/* PCP MAP (RFC 6887): the request's bytes, an answer as miniupnpd sends
 * it, and the answers the pcp helper refuses. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "../modules/nat/pcpwire.h"

static struct pcp_map want(void)
{
	struct pcp_map m;

	memset(&m, 0, sizeof m);
	memset(m.nonce, 0xab, sizeof m.nonce);
	m.protocol = PCP_PROTO_UDP;
	m.internal_port = 9993;
	m.external_port = 9993;
	return m;
}

/* An answer to req: result, lifetime, epoch, external 198.18.0.21:port. */
static void answer(uint8_t out[PCP_MAP_LEN], const uint8_t req[PCP_MAP_LEN], uint8_t result, uint32_t life,
		   uint16_t port)
{
	memcpy(out, req, PCP_MAP_LEN);
	out[1] |= 0x80;
	out[3] = result;
	out[4] = (uint8_t)(life >> 24), out[5] = (uint8_t)(life >> 16), out[6] = (uint8_t)(life >> 8), out[7] = (uint8_t)life;
	memset(out + 8, 0, 16);
	out[11] = 42;   /* epoch */
	out[42] = (uint8_t)(port >> 8), out[43] = (uint8_t)port;
	memset(out + 44, 0, 16);
	out[54] = out[55] = 0xff;
	out[56] = 198, out[57] = 18, out[58] = 0, out[59] = 21;
}

int main(void)
{
	struct pcp_map m = want();
	struct in6_addr client;
	uint8_t req[PCP_MAP_LEN], ans[PCP_MAP_LEN + 12];
	struct pcp_answer a;
	char why[64];

	plan(16);
	inet_pton(AF_INET6, "::ffff:198.18.10.2", &client);
	pcp_map_request(req, &client, 3600, &m);
	ok(req[0] == 2 && req[1] == 1, "request: version 2, MAP, R clear");
	ok(req[4] == 0 && req[5] == 0 && req[6] == 0x0e && req[7] == 0x10, "request: lifetime 3600");
	ok(memcmp(req + 8, &client, 16) == 0, "request: client address, IPv4-mapped");
	ok(req[36] == 17 && req[40] == 0x27 && req[41] == 0x09, "request: UDP, internal port 9993");

	answer(ans, req, 0, 1800, 40000);
	is_int(pcp_answer_parse(ans, PCP_MAP_LEN, &a, why, sizeof why), 0, "a success answer parses");
	ok(a.lifetime == 1800 && a.epoch == 42 && a.map.external_port == 40000 && a.map.internal_port == 9993,
	   "its lifetime, epoch and ports");
	ok(memcmp(a.map.nonce, m.nonce, 12) == 0 && a.map.external.s6_addr[15] == 21, "its nonce and address");

	is_int(pcp_answer_parse(ans, 23, &a, why, sizeof why), -EBADMSG, "truncated: refused");
	is_int(pcp_answer_parse(ans, 58, &a, why, sizeof why), -EBADMSG, "not a multiple of 4: refused");
	is_int(pcp_answer_parse(req, PCP_MAP_LEN, &a, why, sizeof why), -EBADMSG, "a request: refused");
	is_str(why, "a request, not an answer", "and why");
	ans[0] = 0;
	is_int(pcp_answer_parse(ans, PCP_MAP_LEN, &a, why, sizeof why), -EBADMSG, "version 0: refused");
	answer(ans, req, 0, 1800, 0);
	is_int(pcp_answer_parse(ans, PCP_MAP_LEN, &a, why, sizeof why), -EBADMSG, "success without a port: refused");
	answer(ans, req, 0, 1800, 40000);
	ans[60] = 0x12, ans[61] = 0, ans[62] = 0, ans[63] = 40;   /* an option of 40 bytes in 8 */
	is_int(pcp_answer_parse(ans, PCP_MAP_LEN + 8, &a, why, sizeof why), -EBADMSG, "an option past the end: refused");
	answer(ans, req, 2, 0, 0);
	is_int(pcp_answer_parse(ans, 24, &a, why, sizeof why), 0, "an error answer without MAP data parses");
	is_str(pcp_result_name(a.result), "not authorized", "and names its result");
	return tap_done();
}
