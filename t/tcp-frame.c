/* The TCP relay framing (wire.md §8.1): records, greeting, addressed
 * datagrams of both families, and what the parser refuses. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "../transports/tcp/tcpframe.h"

static void greeting(void)
{
	static const uint8_t ref[] = { 0x17, 0x03, 0x03, 0x00, 0x04, 0x01, 0x0e, 0x00, 0x01 };
	uint8_t g[TCPF_HDR + TCPF_GREETING_LEN];
	const uint8_t *body;
	size_t n;

	tcpf_greeting(g, 1, 14, 1);
	is_mem(g, ref, sizeof ref, "greeting of 1.14.1 is the reference's bytes");
	is_int(tcpf_record(g, sizeof g, TCPF_MAX_BODY, &body, &n), 9, "greeting is one record of 9 bytes");
	is_int((int)n, 4, "its body is 4 bytes");
}

static void partial(void)
{
	uint8_t r[TCPF_HDR + 3] = { 0x17, 0x03, 0x03, 0x00, 0x03, 'a', 'b', 'c' };
	const uint8_t *body = NULL;
	size_t n = 0;
	int got = 1;

	for (size_t len = 0; len < sizeof r && got == 1; len++)
		got = tcpf_record(r, len, TCPF_MAX_BODY, &body, &n) == 0;
	ok(got, "every prefix of a record is incomplete");
	is_int(tcpf_record(r, sizeof r, TCPF_MAX_BODY, &body, &n), 8, "the whole record parses");
	ok(body == r + 5 && n == 3, "body points into the buffer");
	r[0] = 0x16;
	is_int(tcpf_record(r, sizeof r, TCPF_MAX_BODY, &body, &n), 8,
	       "the first three bytes are not checked (as the reference)");
	r[3] = 0xff;
	is_int(tcpf_record(r, sizeof r, TCPF_MAX_BODY, &body, &n), -EMSGSIZE, "a body over the limit is refused");
	is_int(tcpf_record(r, 4, TCPF_MAX_BODY, &body, &n), 0, "... but only once its length is known");
}

static void v4(void)
{
	static const uint8_t ref[] = { 0x17, 0x03, 0x03, 0x00, 0x09, 4, 198, 18, 0, 1, 0x27, 0x09, 'h', 'i' };
	uint8_t rec[64];
	union zt_sockaddr a = { 0 }, back;
	const uint8_t *body, *data;
	size_t n, len;
	int pre;

	a.in4.sin_family = AF_INET;
	inet_pton(AF_INET, "198.18.0.1", &a.in4.sin_addr);
	a.in4.sin_port = htons(9993);
	pre = tcpf_dgram_head(rec, &a, 2);
	is_int(pre, 12, "IPv4 prefix is header and 7 bytes");
	memcpy(rec + pre, "hi", 2);
	is_mem(rec, ref, sizeof ref, "IPv4 datagram record as the reference writes it");
	is_int(tcpf_record(rec, sizeof ref, TCPF_MAX_BODY, &body, &n), 14, "parses as one record");
	is_int(tcpf_dgram(body, n, &back, &data, &len), 0, "addressed IPv4 body decodes");
	ok(back.sa.sa_family == AF_INET && back.in4.sin_port == htons(9993) &&
	   back.in4.sin_addr.s_addr == a.in4.sin_addr.s_addr, "address and port back");
	ok(len == 2 && memcmp(data, "hi", 2) == 0, "payload back");
	is_int(tcpf_dgram(body, 6, &back, &data, &len), -EINVAL, "IPv4 prefix cut short is refused");
}

static void v6(void)
{
	uint8_t rec[64];
	union zt_sockaddr a = { 0 }, back;
	const uint8_t *body, *data;
	size_t n, len;
	int pre;

	a.in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::7", &a.in6.sin6_addr);
	a.in6.sin6_port = htons(443);
	pre = tcpf_dgram_head(rec, &a, 0);
	is_int(pre, 24, "IPv6 prefix is header and 19 bytes");
	ok(rec[3] == 0 && rec[4] == 19 && rec[5] == 6, "length 19, type 6");
	is_int(tcpf_record(rec, (size_t)pre, TCPF_MAX_BODY, &body, &n), 24, "parses");
	is_int(tcpf_dgram(body, n, &back, &data, &len), 0, "addressed IPv6 body decodes");
	ok(back.sa.sa_family == AF_INET6 && back.in6.sin6_port == htons(443) &&
	   memcmp(&back.in6.sin6_addr, &a.in6.sin6_addr, 16) == 0 && len == 0, "IPv6 address back, empty payload");
	is_int(tcpf_dgram(body, 18, &back, &data, &len), -EINVAL, "IPv6 prefix cut short is refused");
}

static void unknown(void)
{
	static const uint8_t zero[] = { 0, 1, 2, 3 }, five[] = { 5, 1, 2, 3, 4, 5, 6, 7 };
	union zt_sockaddr a, unix_addr = { .sa.sa_family = AF_UNIX };
	const uint8_t *data;
	size_t len;
	uint8_t rec[64];

	is_int(tcpf_dgram(zero, sizeof zero, &a, &data, &len), -EAFNOSUPPORT, "type 0 (no address) is refused");
	is_int(tcpf_dgram(five, sizeof five, &a, &data, &len), -EAFNOSUPPORT, "type 5 is refused");
	is_int(tcpf_dgram(five, 0, &a, &data, &len), -EINVAL, "empty body is refused");
	is_int(tcpf_dgram_head(rec, &unix_addr, 1), -EAFNOSUPPORT, "no record for a non-IP address");
}

int main(void)
{
	plan(26);
	greeting();
	partial();
	v4();
	v6();
	unknown();
	return tap_done();
}
