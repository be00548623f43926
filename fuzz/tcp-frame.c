/* libFuzzer: the TCP relay framing as both the tcp transport and the
 * tcp-relay read it: a stream of records, each body a greeting or an
 * addressed datagram; what decodes must encode back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../transports/tcp/tcpframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void body_roundtrip(const uint8_t *body, size_t n)
{
	uint8_t back[TCPF_HDR + TCPF_ADDR6_LEN];
	union zt_sockaddr a;
	const uint8_t *payload;
	size_t len;
	int pre;

	if (n == TCPF_GREETING_LEN || tcpf_dgram(body, n, &a, &payload, &len) < 0)
		return;
	if (payload < body || payload + len != body + n)
		abort();
	pre = tcpf_dgram_head(back, &a, len);
	if (pre < TCPF_HDR || (size_t)pre - TCPF_HDR + len != n ||
	    memcmp(back + TCPF_HDR, body, (size_t)pre - TCPF_HDR) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	while (size) {
		const uint8_t *body;
		size_t n;
		int r = tcpf_record(data, size, TCPF_MAX_BODY, &body, &n);

		if (r <= 0)
			break;
		if ((size_t)r > size || body != data + TCPF_HDR || n + TCPF_HDR != (size_t)r)
			abort();
		body_roundtrip(body, n);
		data += r;
		size -= (size_t)r;
	}
	return 0;
}
