/* InetAddress serialization (wire.md §5), text form and scopes (§7.3). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zt/inetaddr.h>

#define INET_NONE 0x00
#define INET_ETHERNET 0x01
#define INET_BLUETOOTH 0x02
#define INET_OTHER 0x03
#define INET_V4 0x04
#define INET_V6 0x06

void zt_inetaddr_set4(union zt_sockaddr *sa, const uint8_t ip[4], uint16_t port)
{
	memset(sa, 0, sizeof *sa);
	sa->in4.sin_family = AF_INET;
	memcpy(&sa->in4.sin_addr, ip, 4);
	sa->in4.sin_port = htons(port);
}

void zt_inetaddr_set6(union zt_sockaddr *sa, const uint8_t ip[16], uint16_t port)
{
	memset(sa, 0, sizeof *sa);
	sa->in6.sin6_family = AF_INET6;
	memcpy(&sa->in6.sin6_addr, ip, 16);
	sa->in6.sin6_port = htons(port);
}

uint16_t zt_inetaddr_port(const union zt_sockaddr *sa)
{
	switch (sa->sa.sa_family) {
	case AF_INET:
		return ntohs(sa->in4.sin_port);
	case AF_INET6:
		return ntohs(sa->in6.sin6_port);
	default:
		return 0;
	}
}

bool zt_inetaddr_equal(const union zt_sockaddr *a, const union zt_sockaddr *b, bool with_port)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (with_port && zt_inetaddr_port(a) != zt_inetaddr_port(b))
		return false;
	switch (a->sa.sa_family) {
	case AF_INET:
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	case AF_INET6:
		return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
	default:
		return true;
	}
}

int zt_inetaddr_read(struct zt_rd *r, union zt_sockaddr *sa)
{
	union zt_sockaddr tmp;
	const uint8_t *ip;
	uint8_t type = zt_rd_u8(r);

	memset(&tmp, 0, sizeof tmp);
	tmp.sa.sa_family = AF_UNSPEC;
	switch (r->err ? 0xff : type) {
	case INET_NONE:
		break;
	case INET_ETHERNET:
	case INET_BLUETOOTH:
		zt_rd_skip(r, 6);
		break;
	case INET_OTHER:
		zt_rd_skip(r, zt_rd_u16(r));
		break;
	case INET_V4:
		ip = zt_rd_ptr(r, 4);
		if (ip)
			zt_inetaddr_set4(&tmp, ip, zt_rd_u16(r));
		break;
	case INET_V6:
		ip = zt_rd_ptr(r, 16);
		if (ip)
			zt_inetaddr_set6(&tmp, ip, zt_rd_u16(r));
		break;
	default:
		if (r->err)
			return -EMSGSIZE;
		r->err = true;
		return -EINVAL;
	}
	if (r->err)
		return -EMSGSIZE;
	*sa = tmp;
	return 0;
}

void zt_inetaddr_write(struct zt_wr *w, const union zt_sockaddr *sa)
{
	switch (sa->sa.sa_family) {
	case AF_INET:
		zt_wr_u8(w, INET_V4);
		zt_wr_bytes(w, &sa->in4.sin_addr, 4);
		zt_wr_u16(w, ntohs(sa->in4.sin_port));
		break;
	case AF_INET6:
		zt_wr_u8(w, INET_V6);
		zt_wr_bytes(w, &sa->in6.sin6_addr, 16);
		zt_wr_u16(w, ntohs(sa->in6.sin6_port));
		break;
	default:
		zt_wr_u8(w, INET_NONE);
	}
}

size_t zt_inetaddr_len(const union zt_sockaddr *sa)
{
	switch (sa->sa.sa_family) {
	case AF_INET:
		return 7;
	case AF_INET6:
		return 19;
	default:
		return 1;
	}
}

int zt_inetaddr_from_bin(union zt_sockaddr *sa, const uint8_t *p, size_t len)
{
	struct zt_rd r;
	int rc;

	zt_rd_init(&r, p, len);
	rc = zt_inetaddr_read(&r, sa);
	return rc < 0 ? rc : (int)r.pos;
}

int zt_inetaddr_to_bin(const union zt_sockaddr *sa, uint8_t *out, size_t cap)
{
	struct zt_wr w;

	zt_wr_init(&w, out, cap);
	zt_inetaddr_write(&w, sa);
	return w.err ? -EMSGSIZE : (int)w.len;
}

/* Split "addr/port" (port optional) and parse both halves. */
int zt_inetaddr_from_text(union zt_sockaddr *sa, const char *s)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *slash = strrchr(s, '/');
	size_t iplen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long port = 0;
	uint8_t raw[16];
	char *end;

	if (iplen == 0 || iplen >= sizeof ip)
		return -EINVAL;
	memcpy(ip, s, iplen);
	ip[iplen] = '\0';
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		port = strtoul(slash + 1, &end, 10);
		if (errno || *end || port > 65535)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, ip, raw) == 1)
		zt_inetaddr_set4(sa, raw, (uint16_t)port);
	else if (inet_pton(AF_INET6, ip, raw) == 1)
		zt_inetaddr_set6(sa, raw, (uint16_t)port);
	else
		return -EINVAL;
	return 0;
}

int zt_inetaddr_to_text(const union zt_sockaddr *sa, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	const void *src;
	int n;

	if (sa->sa.sa_family == AF_INET)
		src = &sa->in4.sin_addr;
	else if (sa->sa.sa_family == AF_INET6)
		src = &sa->in6.sin6_addr;
	else
		return -EAFNOSUPPORT;
	if (!inet_ntop(sa->sa.sa_family, src, ip, sizeof ip))
		return -EAFNOSUPPORT;
	n = snprintf(out, cap, "%s/%u", ip, zt_inetaddr_port(sa));
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

struct v4_range {
	uint32_t net;
	uint8_t bits;
	uint8_t scope;
};

/* First match wins, so narrower ranges come before wider ones. */
static const struct v4_range v4_ranges[] = {
	{ 0x00000000, 8, ZT_SCOPE_NONE },
	{ 0xff000000, 8, ZT_SCOPE_NONE },
	{ 0x7f000000, 8, ZT_SCOPE_LOOPBACK },
	{ 0xa9fe0000, 16, ZT_SCOPE_LINK_LOCAL },
	{ 0xe0000000, 4, ZT_SCOPE_MULTICAST },
	{ 0x0a000000, 8, ZT_SCOPE_PRIVATE },
	{ 0xac100000, 12, ZT_SCOPE_PRIVATE },
	{ 0xc0a80000, 16, ZT_SCOPE_PRIVATE },
	{ 0x64400000, 10, ZT_SCOPE_PRIVATE },
	{ 0xc0000200, 24, ZT_SCOPE_PRIVATE },
	{ 0xc6120000, 15, ZT_SCOPE_PRIVATE },
	{ 0xc6336400, 24, ZT_SCOPE_PRIVATE },
	{ 0xcb007100, 24, ZT_SCOPE_PRIVATE },
	{ 0x06000000, 8, ZT_SCOPE_PSEUDOPRIVATE },
	{ 0x0b000000, 8, ZT_SCOPE_PSEUDOPRIVATE },
	{ 0x15000000, 8, ZT_SCOPE_PSEUDOPRIVATE },
	{ 0x16000000, 8, ZT_SCOPE_PSEUDOPRIVATE },
	{ 0x19000000, 8, ZT_SCOPE_PSEUDOPRIVATE },
	{ 0x1a000000, 8, ZT_SCOPE_PSEUDOPRIVATE },
	{ 0x1c000000, 8, ZT_SCOPE_PSEUDOPRIVATE },
	{ 0x1d000000, 8, ZT_SCOPE_PSEUDOPRIVATE },
	{ 0x1e000000, 8, ZT_SCOPE_PSEUDOPRIVATE },
	{ 0x33000000, 8, ZT_SCOPE_PSEUDOPRIVATE },
	{ 0x37000000, 8, ZT_SCOPE_PSEUDOPRIVATE },
	{ 0x38000000, 8, ZT_SCOPE_PSEUDOPRIVATE },
	{ 0xf0000000, 4, ZT_SCOPE_PSEUDOPRIVATE },
};

static enum zt_ip_scope scope4(uint32_t ip)
{
	size_t i;

	for (i = 0; i < sizeof v4_ranges / sizeof v4_ranges[0]; i++) {
		uint32_t mask = ~(uint32_t)0 << (32 - v4_ranges[i].bits);

		if ((ip & mask) == v4_ranges[i].net)
			return v4_ranges[i].scope;
	}
	return ZT_SCOPE_GLOBAL;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static enum zt_ip_scope scope6(const uint8_t *ip)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (ip[0] == 0xff)
		return ZT_SCOPE_MULTICAST;
	if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80) {
		/* fe80::1 is the loopback of some stacks */
		if (ip[1] == 0x80 && all_zero(ip + 2, 13) && ip[15] == 1)
			return ZT_SCOPE_LOOPBACK;
		return ZT_SCOPE_LINK_LOCAL;
	}
	if ((ip[0] & 0xfe) == 0xfc)
		return ZT_SCOPE_PRIVATE;
	if (all_zero(ip, 15))
		return ip[15] == 1 ? ZT_SCOPE_LOOPBACK : ip[15] == 0 ? ZT_SCOPE_NONE : ZT_SCOPE_GLOBAL;
	if (memcmp(ip, mapped, 12) == 0 && ip[12] == 127)
		return ZT_SCOPE_LOOPBACK;
	return ZT_SCOPE_GLOBAL;
}

enum zt_ip_scope zt_inetaddr_scope(const union zt_sockaddr *sa)
{
	switch (sa->sa.sa_family) {
	case AF_INET:
		return scope4(ntohl(sa->in4.sin_addr.s_addr));
	case AF_INET6:
		return scope6(sa->in6.sin6_addr.s6_addr);
	default:
		return ZT_SCOPE_NONE;
	}
}

bool zt_inetaddr_path_usable(const union zt_sockaddr *sa)
{
	static const uint8_t tunnel_broker[4] = { 0x20, 0x01, 0x04, 0x70 };

	switch (zt_inetaddr_scope(sa)) {
	case ZT_SCOPE_PRIVATE:
	case ZT_SCOPE_PSEUDOPRIVATE:
	case ZT_SCOPE_SHARED:
	case ZT_SCOPE_GLOBAL:
		break;
	default:
		return false;
	}
	return !(sa->sa.sa_family == AF_INET6 &&
		 memcmp(sa->in6.sin6_addr.s6_addr, tunnel_broker, 4) == 0);
}
