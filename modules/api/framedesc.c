/* api: frame descriptions for dry runs of the rules (framedesc.h).
 * The grammar (zt-rules(7), EXPLAIN) is a list of words split at
 * blanks; the rules compiler's lexer reads a whole source with macros
 * and comments, more than these few words need. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framedesc.h"

#define FDESC_MAX_WORDS 64

struct fdesc_parser {
	char *w[FDESC_MAX_WORDS];
	unsigned n, i;
	char *why;
	size_t whylen;
};

static bool fdesc_fail(struct fdesc_parser *p, unsigned at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* why names the word at (counted from 1) or the end of the text. */
static bool fdesc_fail(struct fdesc_parser *p, unsigned at, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (at < p->n)
		snprintf(p->why, p->whylen, "word %u '%.40s': %s", at + 1, p->w[at], what);
	else
		snprintf(p->why, p->whylen, "at the end: %s", what);
	return false;
}

/* The next word, or NULL with why "expected <what>". */
static const char *fdesc_next(struct fdesc_parser *p, const char *what)
{
	if (p->i >= p->n) {
		fdesc_fail(p, p->n, "expected %s", what);
		return NULL;
	}
	return p->w[p->i++];
}

/* A whole decimal or 0x-hex number within [0, max]. */
static bool fdesc_num(const char *s, long max, long *out)
{
	char *end;
	long v;

	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || v < 0 || v > max)
		return false;
	*out = v;
	return true;
}

static bool fdesc_arg_num(struct fdesc_parser *p, long max, const char *what, long *out)
{
	const char *s = fdesc_next(p, what);

	if (!s)
		return false;
	if (!fdesc_num(s, max, out))
		return fdesc_fail(p, p->i - 1, "expected %s", what);
	return true;
}

static int fdesc_hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A member: 10 hex digits, a MAC as 6 pairs split by ':' or '-' or as
 * 12 hex digits, or "broadcast". */
static bool fdesc_who(struct fdesc_parser *p, struct fdesc_who *who)
{
	static const char *what = "a ZeroTier address (10 hex digits), a MAC (xx:xx:xx:xx:xx:xx) or 'broadcast'";
	const char *s = fdesc_next(p, what);
	uint8_t nib[12];
	size_t n = 0, len;

	if (!s)
		return false;
	if (who->given)
		return fdesc_fail(p, p->i - 2, "said twice");
	who->given = true;
	if (!strcasecmp(s, "broadcast")) {
		who->is_mac = true;
		memset(who->mac, 0xff, 6);
		return true;
	}
	len = strlen(s);
	for (size_t k = 0; k < len; k++) {
		int d = fdesc_hex((unsigned char)s[k]);

		if (d >= 0 && n < 12)
			nib[n++] = (uint8_t)d;
		else if (!(len == 17 && k % 3 == 2 && (s[k] == ':' || s[k] == '-')))
			return fdesc_fail(p, p->i - 1, "expected %s", what);
	}
	if (n == 10 && len == 10) {
		who->addr = 0;
		for (size_t k = 0; k < 10; k++)
			who->addr = who->addr << 4 | nib[k];
		return true;
	}
	if (n == 12 && (len == 12 || len == 17)) {
		who->is_mac = true;
		for (size_t k = 0; k < 6; k++)
			who->mac[k] = (uint8_t)(nib[2 * k] << 4 | nib[2 * k + 1]);
		return true;
	}
	return fdesc_fail(p, p->i - 1, "expected %s", what);
}

static bool fdesc_ip(struct fdesc_parser *p, struct fdesc *d)
{
	const char *src, *arrow, *dst;
	int fam;

	if (d->family)
		return fdesc_fail(p, p->i - 1, "said twice");
	if (!(src = fdesc_next(p, "a source IP address")))
		return false;
	fam = strchr(src, ':') ? 6 : 4;
	if (inet_pton(fam == 6 ? AF_INET6 : AF_INET, src, d->src) != 1)
		return fdesc_fail(p, p->i - 1, "expected a source IP address");
	/* the arrow may be left out: a shell takes an unquoted > for a redirection */
	arrow = p->i < p->n ? p->w[p->i] : NULL;
	if (arrow && !strcmp(arrow, "->"))
		p->i++;
	if (!(dst = fdesc_next(p, "a destination IP address")))
		return false;
	if (inet_pton(fam == 6 ? AF_INET6 : AF_INET, dst, d->dst) != 1)
		return fdesc_fail(p, p->i - 1, "expected a destination IPv%d address like the source", fam);
	d->family = fam;
	return true;
}

static const struct { const char *name; uint8_t bit; } fdesc_flags[] = {
	{ "fin", 0x01 }, { "syn", 0x02 }, { "rst", 0x04 }, { "psh", 0x08 },
	{ "ack", 0x10 }, { "urg", 0x20 }, { "ece", 0x40 }, { "cwr", 0x80 },
};

/* A protocol word with its ports or ICMP type: tcp, udp, sctp, icmp,
 * proto <n>.  false if w is none of them (nothing read). */
static bool fdesc_proto(struct fdesc_parser *p, struct fdesc *d, const char *w, bool *ok)
{
	long v;
	int proto;

	if (!strcasecmp(w, "tcp"))
		proto = 6;
	else if (!strcasecmp(w, "udp"))
		proto = 17;
	else if (!strcasecmp(w, "sctp"))
		proto = 132;
	else if (!strcasecmp(w, "icmp"))
		proto = 1;
	else if (!strcasecmp(w, "proto"))
		proto = 0;
	else
		return false;
	*ok = false;
	if (d->proto >= 0)
		return fdesc_fail(p, p->i - 1, "a protocol is already given"), true;
	if (!d->family)
		return fdesc_fail(p, p->i - 1, "needs 'ip <source> -> <destination>' before it"), true;
	if (proto == 0) {
		if (!fdesc_arg_num(p, 255, "an IP protocol number from 0 to 255", &v))
			return true;
		proto = (int)v;
	} else if (proto == 1) {
		if (d->family == 6)
			proto = 58;
		if (!fdesc_arg_num(p, 255, "an ICMP type from 0 to 255", &v))
			return true;
		d->icmp_type = (int)v;
		d->icmp_code = 0;
		if (p->i < p->n && fdesc_num(p->w[p->i], 255, &v)) {
			d->icmp_code = (int)v;
			p->i++;
		}
	} else {
		if (!fdesc_arg_num(p, 65535, "a destination port from 0 to 65535", &v))
			return true;
		d->dport = (int)v;
	}
	d->proto = proto;
	*ok = true;
	return true;
}

static bool fdesc_word(struct fdesc_parser *p, struct fdesc *d)
{
	const char *w = p->w[p->i++];
	bool ok;
	long v;

	if (!strcasecmp(w, "inbound") || !strcasecmp(w, "outbound")) {
		if (d->inbound >= 0)
			return fdesc_fail(p, p->i - 1, "the direction is already given");
		d->inbound = !strcasecmp(w, "inbound");
		return true;
	}
	if (!strcasecmp(w, "from"))
		return fdesc_who(p, &d->from);
	if (!strcasecmp(w, "to"))
		return fdesc_who(p, &d->to);
	if (!strcasecmp(w, "ip"))
		return fdesc_ip(p, d);
	if (fdesc_proto(p, d, w, &ok))
		return ok;
	for (size_t k = 0; k < sizeof fdesc_flags / sizeof fdesc_flags[0]; k++)
		if (!strcasecmp(w, fdesc_flags[k].name)) {
			if (d->proto != 6)
				return fdesc_fail(p, p->i - 1, "a TCP flag needs 'tcp <port>' before it");
			d->tcp_flags |= fdesc_flags[k].bit;
			return true;
		}
	if (!strcasecmp(w, "ethertype")) {
		const char *t = fdesc_next(p, "an ethertype: ipv4, arp, ipv6 or a number to 0xffff");

		if (!t)
			return false;
		if (d->has_ethertype)
			return fdesc_fail(p, p->i - 2, "said twice");
		if (!strcasecmp(t, "ipv4"))
			v = 0x0800;
		else if (!strcasecmp(t, "arp"))
			v = 0x0806;
		else if (!strcasecmp(t, "ipv6"))
			v = 0x86dd;
		else if (!fdesc_num(t, 0xffff, &v))
			return fdesc_fail(p, p->i - 1, "expected an ethertype: ipv4, arp, ipv6 or a number to 0xffff");
		d->has_ethertype = true;
		d->ethertype = (uint16_t)v;
		return true;
	}
	if (!strcasecmp(w, "sport")) {
		if (d->proto != 6 && d->proto != 17 && d->proto != 132)
			return fdesc_fail(p, p->i - 1, "needs 'tcp', 'udp' or 'sctp <port>' before it");
		if (!fdesc_arg_num(p, 65535, "a source port from 0 to 65535", &v))
			return false;
		d->sport = (int)v;
		return true;
	}
	if (!strcasecmp(w, "tos")) {
		if (!d->family)
			return fdesc_fail(p, p->i - 1, "needs 'ip <source> -> <destination>' before it");
		if (!fdesc_arg_num(p, 255, "a type of service from 0 to 255", &v))
			return false;
		d->tos = (uint8_t)v;
		return true;
	}
	if (!strcasecmp(w, "size")) {
		if (!fdesc_arg_num(p, FDESC_MAX_PAYLOAD, "a payload size in bytes, at most 10240", &v))
			return false;
		d->size = (int)v;
		return true;
	}
	return fdesc_fail(p, p->i - 1, "expected inbound, outbound, from, to, ethertype, ip, tcp, udp, sctp, "
			  "icmp, proto, sport, a TCP flag, tos or size");
}

/* The bytes of the IP and transport headers d asks for. */
static size_t fdesc_headers(const struct fdesc *d)
{
	size_t n = d->family == 4 ? 20 : d->family == 6 ? 40 : 0;

	switch (d->proto) {
	case 6:
		return n + 20;
	case 17:
		return n + 8;
	case 132:
		return n + 12;
	case 1:
	case 58:
		return n + 8;
	default:
		return n;
	}
}

bool fdesc_parse(const char *text, struct fdesc *d, char *why, size_t whylen)
{
	struct fdesc_parser p = { .why = why, .whylen = whylen };
	char *copy, *save = NULL;
	bool ok = true;

	memset(d, 0, sizeof *d);
	d->inbound = -1;
	d->proto = d->sport = d->dport = d->icmp_type = d->icmp_code = d->size = -1;
	if (strlen(text) > FDESC_MAX_TEXT) {
		snprintf(why, whylen, "a description of at most %u characters", FDESC_MAX_TEXT);
		return false;
	}
	if (!(copy = strdup(text))) {
		snprintf(why, whylen, "out of memory");
		return false;
	}
	for (char *w = strtok_r(copy, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
		if (p.n == FDESC_MAX_WORDS) {
			snprintf(why, whylen, "a description of at most %u words", FDESC_MAX_WORDS);
			free(copy);
			return false;
		}
		p.w[p.n++] = w;
	}
	while (ok && p.i < p.n)
		ok = fdesc_word(&p, d);
	if (ok && !d->family && !d->has_ethertype)
		ok = fdesc_fail(&p, p.n, "expected 'ip <source> -> <destination>' or 'ethertype <type>'");
	if (ok && d->family && d->has_ethertype && d->ethertype != (d->family == 4 ? 0x0800 : 0x86dd))
		ok = fdesc_fail(&p, p.n, "the ethertype is not that of the IPv%d addresses", d->family);
	if (ok && d->size >= 0 && (size_t)d->size < fdesc_headers(d))
		ok = fdesc_fail(&p, p.n, "a size of at least %zu bytes for these headers", fdesc_headers(d));
	free(copy);
	return ok;
}

static void fdesc_put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned fdesc_ip4_sum(const uint8_t *h)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i < 20; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

size_t fdesc_build(const struct fdesc *d, const uint8_t src_mac[6], const uint8_t dst_mac[6], uint8_t *out)
{
	size_t hdrs = fdesc_headers(d), len = d->size >= 0 ? (size_t)d->size : hdrs, ip;
	uint8_t *l3 = out + 14, *l4;
	uint16_t type = d->family == 4 ? 0x0800 : d->family == 6 ? 0x86dd : d->ethertype;
	unsigned proto = d->proto >= 0 ? (unsigned)d->proto : 0;

	memset(out, 0, 14 + len);
	memcpy(out, dst_mac, 6);
	memcpy(out + 6, src_mac, 6);
	fdesc_put16(out + 12, type);
	if (d->family == 4) {
		l3[0] = 0x45;
		l3[1] = d->tos;
		fdesc_put16(l3 + 2, (unsigned)len);
		l3[6] = 0x40;                       /* don't fragment */
		l3[8] = 64;
		l3[9] = (uint8_t)proto;
		memcpy(l3 + 12, d->src, 4);
		memcpy(l3 + 16, d->dst, 4);
		fdesc_put16(l3 + 10, fdesc_ip4_sum(l3));
		ip = 20;
	} else if (d->family == 6) {
		l3[0] = (uint8_t)(0x60 | d->tos >> 4);
		l3[1] = (uint8_t)(d->tos << 4);
		fdesc_put16(l3 + 4, (unsigned)(len - 40));
		l3[6] = (uint8_t)proto;
		l3[7] = 64;
		memcpy(l3 + 8, d->src, 16);
		memcpy(l3 + 24, d->dst, 16);
		ip = 40;
	} else {
		return 14 + len;
	}
	l4 = l3 + ip;
	if (proto == 6 || proto == 17 || proto == 132) {
		fdesc_put16(l4, d->sport >= 0 ? (unsigned)d->sport : 40000);
		fdesc_put16(l4 + 2, (unsigned)d->dport);
	}
	if (proto == 6) {
		l4[12] = 5 << 4;
		l4[13] = d->tcp_flags;
		fdesc_put16(l4 + 14, 65535);
	} else if (proto == 17) {
		fdesc_put16(l4 + 4, (unsigned)(len - ip));
	} else if (proto == 1 || proto == 58) {
		l4[0] = (uint8_t)d->icmp_type;
		l4[1] = (uint8_t)d->icmp_code;
	}
	return 14 + len;
}
