/* tcpframe: see tcpframe.h and wire.md §8.1. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tcpframe.h"

int tcpf_record(const uint8_t *buf, size_t len, size_t max_body, const uint8_t **body, size_t *body_len)
{
	size_t n;

	if (len < TCPF_HDR)
		return 0;
	/* the first three bytes are not checked, as the reference does */
	n = (size_t)buf[3] << 8 | buf[4];
	if (n > max_body)
		return -EMSGSIZE;
	if (len - TCPF_HDR < n)
		return 0;
	*body = buf + TCPF_HDR;
	*body_len = n;
	return (int)(TCPF_HDR + n);
}

bool tcpf_head_ok(const uint8_t *buf)
{
	return buf[0] == 0x17 && buf[1] == 0x03 && buf[2] == 0x03;
}

int tcpf_dgram(const uint8_t *body, size_t n, union zt_sockaddr *addr, const uint8_t **data, size_t *len)
{
	size_t prefix;

	if (n < 1)
		return -EINVAL;
	memset(addr, 0, sizeof *addr);
	switch (body[0]) {
	case 4:
		prefix = TCPF_ADDR4_LEN;
		if (n < prefix)
			return -EINVAL;
		addr->in4.sin_family = AF_INET;
		memcpy(&addr->in4.sin_addr, body + 1, 4);
		memcpy(&addr->in4.sin_port, body + 5, 2);
		break;
	case 6:
		prefix = TCPF_ADDR6_LEN;
		if (n < prefix)
			return -EINVAL;
		addr->in6.sin6_family = AF_INET6;
		memcpy(&addr->in6.sin6_addr, body + 1, 16);
		memcpy(&addr->in6.sin6_port, body + 17, 2);
		break;
	default:
		return -EAFNOSUPPORT;
	}
	*data = body + prefix;
	*len = n - prefix;
	return 0;
}

void tcpf_head(uint8_t *out, size_t len)
{
	out[0] = 0x17;
	out[1] = 0x03;
	out[2] = 0x03;
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
}

int tcpf_dgram_head(uint8_t *out, const union zt_sockaddr *addr, size_t len)
{
	uint8_t *p = out + TCPF_HDR;

	if (addr->sa.sa_family == AF_INET) {
		p[0] = 4;
		memcpy(p + 1, &addr->in4.sin_addr, 4);
		memcpy(p + 5, &addr->in4.sin_port, 2);
		tcpf_head(out, TCPF_ADDR4_LEN + len);
		return TCPF_HDR + TCPF_ADDR4_LEN;
	}
	if (addr->sa.sa_family == AF_INET6) {
		p[0] = 6;
		memcpy(p + 1, &addr->in6.sin6_addr, 16);
		memcpy(p + 17, &addr->in6.sin6_port, 2);
		tcpf_head(out, TCPF_ADDR6_LEN + len);
		return TCPF_HDR + TCPF_ADDR6_LEN;
	}
	return -EAFNOSUPPORT;
}

void tcpf_greeting(uint8_t *out, unsigned major, unsigned minor, unsigned revision)
{
	tcpf_head(out, TCPF_GREETING_LEN);
	out[5] = (uint8_t)major;
	out[6] = (uint8_t)minor;
	out[7] = (uint8_t)(revision >> 8);
	out[8] = (uint8_t)revision;
}

