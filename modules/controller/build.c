/* The controller's config builder: rules from JSON (networks.md §6.1,
 * §6.5), IP assignment (§8.2) and the config of a member (§8.3), with its
 * COM and COO; revocations (§8.4).  See build.h. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <zt/credential.h>
#include <zt/dict.h>
#include <zt/inetaddr.h>

#include "build.h"

/* ---- numbers and addresses ---- */

/* A JSON number, decimal string or boolean, as 1.14 reads rule fields. */
static bool ctl_num(const json_t *v, uint64_t *out)
{
	const char *s;
	char *end;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return false;
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		if (json_real_value(v) < 0 || json_real_value(v) > 1.8e19)
			return false;
		*out = (uint64_t)json_real_value(v);
		return true;
	}
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return true;
	}
	if (json_is_string(v)) {
		s = json_string_value(v);
		if (!isdigit((unsigned char)*s))
			return false;
		errno = 0;
		*out = strtoull(s, &end, 10);
		return !errno && !*end;
	}
	return false;
}

/* A JSON boolean read as the 1.14 controller reads one (ztncui sends
 * "true"): true, a number that is not 0 once its fraction is dropped, a
 * string starting with t, T or 1; false, null, 0 and any other string
 * are false.  Returns false for an array or object. */
bool ctl_json_bool(const json_t *v, bool *out)
{
	const char *s;

	if (json_is_boolean(v) || json_is_null(v))
		*out = json_is_true(v);
	else if (json_is_integer(v))
		*out = json_integer_value(v) != 0;
	else if (json_is_real(v))
		*out = json_real_value(v) >= 1.0 || json_real_value(v) <= -1.0;
	else if ((s = json_string_value(v)))
		*out = *s == 't' || *s == 'T' || *s == '1';
	else
		return false;
	return true;
}

/* A field of a rule within [0, max]. */
static bool ctl_field(const json_t *r, const char *key, uint64_t max, uint64_t *out)
{
	return ctl_num(json_object_get(r, key), out) && *out <= max;
}

/* 10 hex digits. */
static bool ctl_addr40(const json_t *v, uint64_t *out)
{
	const char *s = json_string_value(v);
	char *end;

	if (!s || strlen(s) != 10)
		return false;
	*out = strtoull(s, &end, 16);
	return !*end;
}

int ctl_ip_parse(const char *s, union zt_sockaddr *sa)
{
	memset(sa, 0, sizeof *sa);
	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, &sa->in4.sin_addr) == 1) {
		sa->in4.sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sa->in6.sin6_addr) == 1) {
		sa->in6.sin6_family = AF_INET6;
		return 0;
	}
	memset(sa, 0, sizeof *sa);
	return -EINVAL;
}

int ctl_ip_text(const union zt_sockaddr *sa, char out[CTL_IP_TEXT])
{
	const void *a;

	if (sa->sa.sa_family == AF_INET)
		a = &sa->in4.sin_addr;
	else if (sa->sa.sa_family == AF_INET6)
		a = &sa->in6.sin6_addr;
	else
		return -EINVAL;
	return inet_ntop(sa->sa.sa_family, a, out, CTL_IP_TEXT) ? 0 : -EINVAL;
}

static void ctl_set_port(union zt_sockaddr *sa, unsigned port)
{
	if (sa->sa.sa_family == AF_INET)
		sa->in4.sin_port = htons((uint16_t)port);
	else
		sa->in6.sin6_port = htons((uint16_t)port);
}

static unsigned ctl_port(const union zt_sockaddr *sa)
{
	return ntohs(sa->sa.sa_family == AF_INET ? sa->in4.sin_port : sa->in6.sin6_port);
}

static unsigned ctl_family_bits(const union zt_sockaddr *sa)
{
	return sa->sa.sa_family == AF_INET ? 32 : 128;
}

static const uint8_t *ctl_ip_bytes(const union zt_sockaddr *sa)
{
	return sa->sa.sa_family == AF_INET ? (const uint8_t *)&sa->in4.sin_addr
					   : (const uint8_t *)&sa->in6.sin6_addr;
}

int ctl_cidr_parse(const char *s, union zt_sockaddr *sa)
{
	char buf[CTL_IP_TEXT + 8], *slash, *end;
	unsigned long bits;

	if (!s || strlen(s) >= sizeof buf)
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash || !isdigit((unsigned char)slash[1]))
		return -EINVAL;
	*slash = 0;
	bits = strtoul(slash + 1, &end, 10);
	if (*end || ctl_ip_parse(buf, sa) < 0 || bits > ctl_family_bits(sa))
		return -EINVAL;
	ctl_set_port(sa, (unsigned)bits);
	return 0;
}

/* The first bits of a and b are equal (same family). */
static bool ctl_prefix_eq(const union zt_sockaddr *a, const union zt_sockaddr *b, unsigned bits)
{
	const uint8_t *x = ctl_ip_bytes(a), *y = ctl_ip_bytes(b);
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(x, y, full))
		return false;
	if (!rest)
		return true;
	return ((x[full] ^ y[full]) & (uint8_t)(0xff00 >> rest)) == 0;
}

/* ip lies in the network target/port(target). */
static bool ctl_contains(const union zt_sockaddr *target, const union zt_sockaddr *ip)
{
	return target->sa.sa_family == ip->sa.sa_family &&
	       ctl_prefix_eq(target, ip, ctl_port(target));
}

/* The target address equals ip with its host bits cleared: the target
 * address itself has no host bits set. */
static bool ctl_is_network_of(const union zt_sockaddr *target, const union zt_sockaddr *ip)
{
	const uint8_t *t = ctl_ip_bytes(target);
	unsigned bits = ctl_port(target), n = ctl_family_bits(target) / 8, i;

	if (!ctl_contains(target, ip))
		return false;
	for (i = 0; i < n; i++) {
		uint8_t host = i * 8 >= bits ? 0xff : i * 8 + 8 <= bits ? 0 : (uint8_t)(0xff >> (bits - i * 8));

		if (t[i] & host)
			return false;
	}
	return true;
}

/* ---- rules (§6.1, §6.5) ---- */

enum { CTL_R_ACTION, CTL_R_TEE, CTL_R_REDIRECT, CTL_R_ZT, CTL_R_U16, CTL_R_U8, CTL_R_MAC,
       CTL_R_IP4, CTL_R_IP6, CTL_R_TOS, CTL_R_ICMP, CTL_R_RANGE, CTL_R_CHAR, CTL_R_U32,
       CTL_R_TAG };

struct ctl_rule_type {
	const char *name;
	uint8_t t, len, kind;
	const char *field;          /* the one field of U8/U16/U32 kinds */
};

static const struct ctl_rule_type ctl_rule_types[] = {
	{ "ACTION_DROP", 0, 0, CTL_R_ACTION, NULL },
	{ "ACTION_ACCEPT", 1, 0, CTL_R_ACTION, NULL },
	{ "ACTION_TEE", 2, 14, CTL_R_TEE, NULL },
	{ "ACTION_WATCH", 3, 14, CTL_R_TEE, NULL },
	{ "ACTION_REDIRECT", 4, 14, CTL_R_REDIRECT, NULL },
	{ "ACTION_BREAK", 5, 0, CTL_R_ACTION, NULL },
	{ "MATCH_SOURCE_ZEROTIER_ADDRESS", 24, 5, CTL_R_ZT, NULL },
	{ "MATCH_DEST_ZEROTIER_ADDRESS", 25, 5, CTL_R_ZT, NULL },
	{ "MATCH_VLAN_ID", 26, 2, CTL_R_U16, "vlanId" },
	{ "MATCH_VLAN_PCP", 27, 1, CTL_R_U8, "vlanPcp" },
	{ "MATCH_VLAN_DEI", 28, 1, CTL_R_U8, "vlanDei" },
	{ "MATCH_MAC_SOURCE", 29, 6, CTL_R_MAC, NULL },
	{ "MATCH_MAC_DEST", 30, 6, CTL_R_MAC, NULL },
	{ "MATCH_IPV4_SOURCE", 31, 5, CTL_R_IP4, NULL },
	{ "MATCH_IPV4_DEST", 32, 5, CTL_R_IP4, NULL },
	{ "MATCH_IPV6_SOURCE", 33, 17, CTL_R_IP6, NULL },
	{ "MATCH_IPV6_DEST", 34, 17, CTL_R_IP6, NULL },
	{ "MATCH_IP_TOS", 35, 3, CTL_R_TOS, NULL },
	{ "MATCH_IP_PROTOCOL", 36, 1, CTL_R_U8, "ipProtocol" },
	{ "MATCH_ETHERTYPE", 37, 2, CTL_R_U16, "etherType" },
	{ "MATCH_ICMP", 38, 3, CTL_R_ICMP, NULL },
	{ "MATCH_IP_SOURCE_PORT_RANGE", 39, 4, CTL_R_RANGE, NULL },
	{ "MATCH_IP_DEST_PORT_RANGE", 40, 4, CTL_R_RANGE, NULL },
	{ "MATCH_CHARACTERISTICS", 41, 8, CTL_R_CHAR, NULL },
	{ "MATCH_FRAME_SIZE_RANGE", 42, 4, CTL_R_RANGE, NULL },
	{ "MATCH_RANDOM", 43, 4, CTL_R_U32, "probability" },
	{ "MATCH_TAGS_DIFFERENCE", 44, 8, CTL_R_TAG, NULL },
	{ "MATCH_TAGS_BITWISE_AND", 45, 8, CTL_R_TAG, NULL },
	{ "MATCH_TAGS_BITWISE_OR", 46, 8, CTL_R_TAG, NULL },
	{ "MATCH_TAGS_BITWISE_XOR", 47, 8, CTL_R_TAG, NULL },
	{ "MATCH_TAGS_EQUAL", 48, 8, CTL_R_TAG, NULL },
	{ "MATCH_TAG_SENDER", 49, 8, CTL_R_TAG, NULL },
	{ "MATCH_TAG_RECEIVER", 50, 8, CTL_R_TAG, NULL },
};

/* One encoded rule: [t][len][value]. */
struct ctl_rule {
	const struct ctl_rule_type *type;
	bool not_, or_;
	uint8_t v[19];
};

static void ctl_put(uint8_t *p, uint64_t v, unsigned n)
{
	while (n--) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t ctl_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

static bool ctl_rule_mac(const json_t *v, uint8_t mac[6])
{
	const char *s = json_string_value(v);
	unsigned n = 0;
	int d;

	if (!s)
		return false;
	memset(mac, 0, 6);
	for (; *s; s++) {
		if (!isxdigit((unsigned char)*s))
			continue;
		if (n == 12)
			return false;
		d = isdigit((unsigned char)*s) ? *s - '0' : tolower((unsigned char)*s) - 'a' + 10;
		mac[n / 2] |= (uint8_t)(n % 2 ? d : d << 4);
		n++;
	}
	return n == 12;
}

static bool ctl_rule_parse(const json_t *in, struct ctl_rule *r)
{
	const char *name = json_string_value(json_object_get(in, "type"));
	const json_t *b;
	union zt_sockaddr sa;
	uint64_t a, x, y, z;
	size_t i;

	if (!json_is_object(in) || !name)
		return false;
	memset(r, 0, sizeof *r);
	for (i = 0; i < sizeof ctl_rule_types / sizeof ctl_rule_types[0]; i++)
		if (!strcmp(ctl_rule_types[i].name, name))
			r->type = &ctl_rule_types[i];
	if (!r->type)
		return false;
	if (r->type->t >= 16) {
		b = json_object_get(in, "not");
		if (b && !ctl_json_bool(b, &r->not_))
			return false;
		b = json_object_get(in, "or");
		if (b && !ctl_json_bool(b, &r->or_))
			return false;
	}
	switch (r->type->kind) {
	case CTL_R_ACTION:
		return true;
	case CTL_R_TEE:
	case CTL_R_REDIRECT:
		if (!ctl_addr40(json_object_get(in, "address"), &a))
			return false;
		x = y = 0;
		if (json_object_get(in, "flags") && !ctl_field(in, "flags", UINT32_MAX, &x))
			return false;
		b = json_object_get(in, "length");
		if (r->type->kind == CTL_R_TEE && json_is_integer(b) && json_integer_value(b) == -1)
			y = UINT16_MAX;   /* the rules language's "whole frame", as 1.x reads it */
		else if (r->type->kind == CTL_R_TEE && b && !ctl_field(in, "length", UINT16_MAX, &y))
			return false;
		ctl_put(r->v, a, 8);
		ctl_put(r->v + 8, x, 4);
		ctl_put(r->v + 12, y, 2);
		return true;
	case CTL_R_ZT:
		if (!ctl_addr40(json_object_get(in, "zt"), &a))
			return false;
		ctl_put(r->v, a, 5);
		return true;
	case CTL_R_U8:
	case CTL_R_U16:
	case CTL_R_U32:
		if (!ctl_field(in, r->type->field, r->type->len == 1 ? 0xff :
			       r->type->len == 2 ? 0xffff : UINT32_MAX, &a))
			return false;
		ctl_put(r->v, a, r->type->len);
		return true;
	case CTL_R_MAC:
		return ctl_rule_mac(json_object_get(in, "mac"), r->v);
	case CTL_R_IP4:
	case CTL_R_IP6:
		if (ctl_cidr_parse(json_string_value(json_object_get(in, "ip")), &sa) < 0 ||
		    sa.sa.sa_family != (r->type->kind == CTL_R_IP4 ? AF_INET : AF_INET6))
			return false;
		memcpy(r->v, ctl_ip_bytes(&sa), r->type->len - 1);
		r->v[r->type->len - 1] = (uint8_t)ctl_port(&sa);
		return true;
	case CTL_R_TOS:
		if (!ctl_field(in, "mask", 0xff, &x) || !ctl_field(in, "start", 0xff, &y) ||
		    !ctl_field(in, "end", 0xff, &z))
			return false;
		r->v[0] = (uint8_t)x;
		r->v[1] = (uint8_t)y;
		r->v[2] = (uint8_t)z;
		return true;
	case CTL_R_ICMP:
		if (!ctl_field(in, "icmpType", 0xff, &x))
			return false;
		b = json_object_get(in, "icmpCode");
		r->v[0] = (uint8_t)x;
		if (b && !json_is_null(b)) {
			if (!ctl_num(b, &y) || y > 0xff)
				return false;
			r->v[1] = (uint8_t)y;
			r->v[2] = 0x01;
		}
		return true;
	case CTL_R_RANGE:
		if (!ctl_field(in, "start", 0xffff, &x))
			return false;
		y = x;
		if (json_object_get(in, "end") && !ctl_field(in, "end", 0xffff, &y))
			return false;
		ctl_put(r->v, x, 2);
		ctl_put(r->v + 2, y, 2);
		return true;
	case CTL_R_CHAR:
		b = json_object_get(in, "mask");
		if (json_is_string(b)) {
			const char *s = json_string_value(b);
			char *end;

			if (!strncmp(s, "0x", 2))
				s += 2;
			if (!*s || strlen(s) > 16)
				return false;
			x = strtoull(s, &end, 16);
			if (*end)
				return false;
		} else if (!ctl_num(b, &x)) {
			return false;
		}
		ctl_put(r->v, x, 8);
		return true;
	case CTL_R_TAG:
		if (!ctl_field(in, "id", UINT32_MAX, &x) || !ctl_field(in, "value", UINT32_MAX, &y))
			return false;
		ctl_put(r->v, x, 4);
		ctl_put(r->v + 4, y, 4);
		return true;
	}
	return false;
}

static json_t *ctl_rule_json(const struct ctl_rule *r)
{
	json_t *o = json_object();
	char buf[CTL_IP_TEXT + 8], ip[CTL_IP_TEXT];
	union zt_sockaddr sa;
	const uint8_t *v = r->v;

	if (!o)
		return NULL;
	json_object_set_new(o, "type", json_string(r->type->name));
	if (r->type->t >= 16) {
		json_object_set_new(o, "not", json_boolean(r->not_));
		json_object_set_new(o, "or", json_boolean(r->or_));
	}
	switch (r->type->kind) {
	case CTL_R_TEE:
	case CTL_R_REDIRECT:
		snprintf(buf, sizeof buf, "%010" PRIx64, (uint64_t)(ctl_get(v, 8) & 0xffffffffffULL));
		json_object_set_new(o, "address", json_string(buf));
		json_object_set_new(o, "flags", json_integer((json_int_t)ctl_get(v + 8, 4)));
		if (r->type->kind == CTL_R_TEE)
			json_object_set_new(o, "length", json_integer((json_int_t)ctl_get(v + 12, 2)));
		break;
	case CTL_R_ZT:
		snprintf(buf, sizeof buf, "%010" PRIx64, ctl_get(v, 5));
		json_object_set_new(o, "zt", json_string(buf));
		break;
	case CTL_R_U8:
	case CTL_R_U16:
	case CTL_R_U32:
		json_object_set_new(o, r->type->field, json_integer((json_int_t)ctl_get(v, r->type->len)));
		break;
	case CTL_R_MAC:
		snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", v[0], v[1], v[2], v[3], v[4], v[5]);
		json_object_set_new(o, "mac", json_string(buf));
		break;
	case CTL_R_IP4:
	case CTL_R_IP6:
		memset(&sa, 0, sizeof sa);
		if (r->type->kind == CTL_R_IP4) {
			sa.in4.sin_family = AF_INET;
			memcpy(&sa.in4.sin_addr, v, 4);
		} else {
			sa.in6.sin6_family = AF_INET6;
			memcpy(&sa.in6.sin6_addr, v, 16);
		}
		ctl_ip_text(&sa, ip);
		snprintf(buf, sizeof buf, "%s/%u", ip, v[r->type->len - 1]);
		json_object_set_new(o, "ip", json_string(buf));
		break;
	case CTL_R_TOS:
		json_object_set_new(o, "mask", json_integer(v[0]));
		json_object_set_new(o, "start", json_integer(v[1]));
		json_object_set_new(o, "end", json_integer(v[2]));
		break;
	case CTL_R_ICMP:
		json_object_set_new(o, "icmpType", json_integer(v[0]));
		json_object_set_new(o, "icmpCode", v[2] & 1 ? json_integer(v[1]) : json_null());
		break;
	case CTL_R_RANGE:
		json_object_set_new(o, "start", json_integer((json_int_t)ctl_get(v, 2)));
		json_object_set_new(o, "end", json_integer((json_int_t)ctl_get(v + 2, 2)));
		break;
	case CTL_R_CHAR:
		snprintf(buf, sizeof buf, "%016" PRIx64, ctl_get(v, 8));
		json_object_set_new(o, "mask", json_string(buf));
		break;
	case CTL_R_TAG:
		json_object_set_new(o, "id", json_integer((json_int_t)ctl_get(v, 4)));
		json_object_set_new(o, "value", json_integer((json_int_t)ctl_get(v + 4, 4)));
		break;
	default:
		break;
	}
	return o;
}

json_t *ctl_rule_normalize(const json_t *in)
{
	struct ctl_rule r;

	return ctl_rule_parse(in, &r) ? ctl_rule_json(&r) : NULL;
}

/* Encodes the first max rules that parse. */
static int ctl_rules_encode_max(const json_t *rules, uint8_t *out, size_t cap, unsigned max, unsigned *nrules)
{
	struct ctl_rule r;
	size_t i, len = 0;
	unsigned n = 0;

	for (i = 0; i < json_array_size(rules) && n < max; i++) {
		if (!ctl_rule_parse(json_array_get(rules, i), &r))
			continue;
		if (cap - len < 2u + r.type->len)
			return -ENOSPC;
		out[len++] = (uint8_t)(r.type->t | (r.not_ ? 0x80 : 0) | (r.or_ ? 0x40 : 0));
		out[len++] = r.type->len;
		memcpy(out + len, r.v, r.type->len);
		len += r.type->len;
		n++;
	}
	*nrules = n;
	return (int)len;
}

int ctl_rules_encode(const json_t *rules, uint8_t *out, size_t cap, unsigned *nrules)
{
	return ctl_rules_encode_max(rules, out, cap, ZT_NETCONF_MAX_RULES, nrules);
}

/* ---- tags and capabilities (§8.6, §8.7) ---- */

static bool ctl_u32(const json_t *v, uint32_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
		return false;
	*out = (uint32_t)json_integer_value(v);
	return true;
}

/* An entry of a list keyed by a u32 id, in input order (pos). */
struct ctl_keyed {
	uint32_t id;
	size_t pos;
	json_t *v;          /* owned */
};

static int ctl_keyed_cmp(const void *a, const void *b)
{
	const struct ctl_keyed *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The entries sorted by id, the last of each id kept (NULL without
 * memory); frees the rest. */
static json_t *ctl_keyed_array(struct ctl_keyed *k, size_t n)
{
	json_t *arr = json_array();

	qsort(k, n, sizeof *k, ctl_keyed_cmp);
	for (size_t i = 0; i < n; i++) {
		if (arr && (i + 1 == n || k[i + 1].id != k[i].id))
			json_array_append_new(arr, k[i].v);
		else
			json_decref(k[i].v);
	}
	free(k);
	return arr;
}

/* Normalizes each element of in with one(elem, &id, why) into a sorted,
 * deduplicated array. */
static json_t *ctl_keyed_normalize(const json_t *in, const char *what, const char **why,
				   json_t *(*one)(const json_t *e, uint32_t *id, const char **why))
{
	struct ctl_keyed *k;
	const json_t *e;
	size_t i, n;

	if (!json_is_array(in))
		return *why = what, NULL;
	n = json_array_size(in);
	if (!(k = calloc(n ? n : 1, sizeof *k)))
		return *why = "out of memory", NULL;
	json_array_foreach(in, i, e) {
		k[i].pos = i;
		if (!(k[i].v = one(e, &k[i].id, why))) {
			while (i--)
				json_decref(k[i].v);
			free(k);
			return NULL;
		}
	}
	return ctl_keyed_array(k, n);
}

static json_t *ctl_tag_def(const json_t *e, uint32_t *id, const char **why)
{
	const json_t *d = json_object_get(e, "default");
	json_t *o;
	uint32_t v = 0;

	if (!json_is_object(e) || !ctl_u32(json_object_get(e, "id"), id))
		return *why = "tags: each needs an id 0..4294967295", NULL;
	if (d && !json_is_null(d) && !ctl_u32(d, &v))
		return *why = "tags: default must be null or 0..4294967295", NULL;
	o = json_object();
	json_object_set_new(o, "id", json_integer(*id));
	json_object_set_new(o, "default", d && !json_is_null(d) ? json_integer(v) : json_null());
	return o;
}

json_t *ctl_tag_defs_normalize(const json_t *in, const char **why)
{
	return ctl_keyed_normalize(in, "tags: not an array", why, ctl_tag_def);
}

static json_t *ctl_cap_def(const json_t *e, uint32_t *id, const char **why)
{
	const json_t *rules = json_object_get(e, "rules"), *r;
	json_t *o, *arr;
	bool dflt = false;
	size_t i;

	if (!json_is_object(e) || !ctl_u32(json_object_get(e, "id"), id))
		return *why = "capabilities: each needs an id 0..4294967295", NULL;
	if (json_object_get(e, "default") && !ctl_json_bool(json_object_get(e, "default"), &dflt))
		return *why = "capabilities: default must be a boolean", NULL;
	if (rules && !json_is_array(rules))
		return *why = "capabilities: rules must be an array", NULL;
	arr = json_array();
	json_array_foreach(rules, i, r) {
		json_t *n = ctl_rule_normalize(r);

		if (n && json_array_size(arr) < ZT_CAP_MAX_RULES)
			json_array_append_new(arr, n);
		else
			json_decref(n);
	}
	o = json_object();
	json_object_set_new(o, "id", json_integer(*id));
	json_object_set_new(o, "default", json_boolean(dflt));
	json_object_set_new(o, "rules", arr);
	return o;
}

json_t *ctl_cap_defs_normalize(const json_t *in, const char **why)
{
	return ctl_keyed_normalize(in, "capabilities: not an array", why, ctl_cap_def);
}

static json_t *ctl_member_tag(const json_t *e, uint32_t *id, const char **why)
{
	uint32_t v;

	if (!json_is_array(e) || json_array_size(e) != 2 || !ctl_u32(json_array_get(e, 0), id) ||
	    !ctl_u32(json_array_get(e, 1), &v))
		return *why = "tags: each must be [id, value], both 0..4294967295", NULL;
	return json_pack("[II]", (json_int_t)*id, (json_int_t)v);
}

json_t *ctl_member_tags_normalize(const json_t *in, const char **why)
{
	return ctl_keyed_normalize(in, "tags: not an array", why, ctl_member_tag);
}

static json_t *ctl_member_cap(const json_t *e, uint32_t *id, const char **why)
{
	if (!ctl_u32(e, id))
		return *why = "capabilities: each must be an id 0..4294967295", NULL;
	return json_integer(*id);
}

json_t *ctl_member_caps_normalize(const json_t *in, const char **why)
{
	return ctl_keyed_normalize(in, "capabilities: not an array", why, ctl_member_cap);
}

int ctl_member_default_caps(struct zt_store_member *m, const struct zt_store_network *net)
{
	json_t *defs = json_loads(net->capabilities ? net->capabilities : "[]", 0, NULL);
	json_t *have = json_loads(m->capabilities ? m->capabilities : "[]", 0, NULL), *e, *norm;
	const char *why;
	char *text;
	size_t i;

	if (!defs || !have) {
		json_decref(defs);
		json_decref(have);
		return 0;               /* nothing readable to add */
	}
	json_array_foreach(defs, i, e)
		if (json_is_true(json_object_get(e, "default")))
			json_array_append(have, json_object_get(e, "id"));
	norm = ctl_member_caps_normalize(have, &why);
	json_decref(have);
	json_decref(defs);
	text = norm ? json_dumps(norm, JSON_COMPACT) : NULL;
	json_decref(norm);
	if (!text)
		return -ENOMEM;
	free(m->capabilities);
	m->capabilities = text;
	return 0;
}

/* ---- IP assignment (§8.2) ---- */

struct ctl_route_set {
	unsigned n;
	struct zt_route *r;
};

static bool ctl_has_ip(const struct zt_netconf *nc, const union zt_sockaddr *ip)
{
	unsigned i;

	for (i = 0; i < nc->nips; i++)
		if (zt_inetaddr_equal(&nc->ips[i], ip, false))
			return true;
	return false;
}

static void ctl_add_static(struct zt_netconf *nc, const union zt_sockaddr *ip, unsigned bits)
{
	if (nc->nips >= ZT_NETCONF_MAX_IPS || ctl_has_ip(nc, ip))
		return;
	nc->ips[nc->nips] = *ip;
	ctl_set_port(&nc->ips[nc->nips], bits);
	nc->nips++;
}

static bool ctl_member_lists(const struct zt_store_member *m, const char *ip)
{
	size_t i;

	for (i = 0; i < m->nips; i++)
		if (!strcmp(m->ips[i], ip))
			return true;
	return false;
}

/* Free for allocation: no member of the network lists it, nor does this
 * member (whose list may be ahead of the store).  1 free, 0 taken, <0. */
static int ctl_ip_free(const struct ctl_build *b, const union zt_sockaddr *ip, char text[CTL_IP_TEXT])
{
	uint64_t holder;
	int err;

	if (ctl_ip_text(ip, text) < 0)
		return 0;
	if (ctl_member_lists(b->member, text))
		return 0;
	err = zt_store_ip_holder(b->store, b->net->id, text, &holder);
	if (err == -ENOENT)
		return 1;
	return err < 0 ? err : 0;
}

static int ctl_assign_v6(const struct ctl_build *b, struct zt_netconf *nc, const union zt_sockaddr *s,
			 const union zt_sockaddr *e)
{
	const uint8_t *sb = ctl_ip_bytes(s), *eb = ctl_ip_bytes(e);
	uint64_t s0 = ctl_get(sb, 8), s1 = ctl_get(sb + 8, 8), e0 = ctl_get(eb, 8), e1 = ctl_get(eb + 8, 8);
	uint64_t r[2];
	union zt_sockaddr c;
	char text[CTL_IP_TEXT];
	unsigned k, i, bits;
	int free_, err;

	for (k = 0; k < 1000; k++) {
		if (k == 0 && e1 > s1 && e1 - s1 >= 0xffffffffffULL) {
			r[0] = s0;
			r[1] = s1 + b->member->address;
		} else {
			randombytes_buf(r, sizeof r);
			r[0] = s0 + (e0 > s0 ? r[0] % (e0 - s0) : 0);
			r[1] = s1 + (e1 > s1 ? r[1] % (e1 - s1) : 0);
		}
		memset(&c, 0, sizeof c);
		c.in6.sin6_family = AF_INET6;
		ctl_put(c.in6.sin6_addr.s6_addr, r[0], 8);
		ctl_put(c.in6.sin6_addr.s6_addr + 8, r[1], 8);
		bits = 0;
		for (i = 0; i < nc->nroutes; i++)
			if (nc->routes[i].via.sa.sa_family == AF_UNSPEC &&
			    ctl_contains(&nc->routes[i].target, &c))
				bits = ctl_port(&nc->routes[i].target);
		if (!bits)
			continue;
		free_ = ctl_ip_free(b, &c, text);
		if (free_ < 0)
			return free_;
		if (!free_)
			continue;
		err = zt_store_member_add_ip(b->member, text);
		if (err < 0)
			return err;
		ctl_add_static(nc, &c, bits);
		return 1;
	}
	return 0;
}

static int ctl_assign_v4(const struct ctl_build *b, struct zt_netconf *nc, const union zt_sockaddr *s,
			 const union zt_sockaddr *e)
{
	uint32_t sv = (uint32_t)ctl_get(ctl_ip_bytes(s), 4), ev = (uint32_t)ctl_get(ctl_ip_bytes(e), 4);
	uint32_t span, ctr, ip;
	uint64_t tries, k;
	union zt_sockaddr c;
	char text[CTL_IP_TEXT];
	unsigned i, bits;
	int free_, err;

	if (!sv || sv > ev)
		return 0;
	span = ev - sv;
	ctr = (uint32_t)(b->member->address & 0xffffffff);
	tries = (uint64_t)span + 1 < 1000 ? (uint64_t)span + 1 : 1000;
	for (k = 0; k < tries; k++) {
		ip = span ? sv + ctr % span : sv;
		ctr++;
		if ((ip & 0xff) == 0xff)
			continue;
		memset(&c, 0, sizeof c);
		c.in4.sin_family = AF_INET;
		c.in4.sin_addr.s_addr = htonl(ip);
		bits = 0;
		for (i = 0; i < nc->nroutes; i++) {
			if (nc->routes[i].target.sa.sa_family == AF_INET &&
			    ctl_is_network_of(&nc->routes[i].target, &c)) {
				bits = ctl_port(&nc->routes[i].target);
				break;
			}
		}
		if (!bits)
			continue;
		free_ = ctl_ip_free(b, &c, text);
		if (free_ < 0)
			return free_;
		if (!free_)
			continue;
		err = zt_store_member_add_ip(b->member, text);
		if (err < 0)
			return err;
		ctl_add_static(nc, &c, bits);
		return 1;
	}
	return 0;
}

static int ctl_assign(const struct ctl_build *b, struct zt_netconf *nc)
{
	const struct zt_store_network *net = b->net;
	struct zt_store_member *m = b->member;
	union zt_sockaddr sa, s, e;
	bool have4 = false, have6 = false;
	json_t *pools;
	unsigned i, bits;
	size_t k, npre;
	int found, err = 0;

	if (net->v6_rfc4193 && !m->no_auto_assign_ips) {
		zt_sockaddr_rfc4193(&sa, net->id, m->address);
		ctl_add_static(nc, &sa, ZT_RFC4193_PREFIX);
		nc->flags |= ZT_NETCONF_F_NDP_EMULATION;
	}
	if (net->v6_6plane && !m->no_auto_assign_ips) {
		zt_sockaddr_6plane(&sa, net->id, m->address);
		ctl_add_static(nc, &sa, ZT_6PLANE_PREFIX);
		nc->flags |= ZT_NETCONF_F_NDP_EMULATION;
	}
	npre = m->nips;
	for (k = 0; k < npre; k++) {
		if (ctl_ip_parse(m->ips[k], &sa) < 0)
			continue;
		found = 0;
		bits = 0;
		for (i = 0; i < nc->nroutes; i++) {
			if (ctl_contains(&nc->routes[i].target, &sa) &&
			    (!found || ctl_port(&nc->routes[i].target) > bits)) {
				bits = ctl_port(&nc->routes[i].target);
				found = 1;
			}
		}
		if (!found)
			continue;
		ctl_add_static(nc, &sa, bits);
		if (sa.sa.sa_family == AF_INET)
			have4 = true;
		else
			have6 = true;
	}
	if (m->no_auto_assign_ips || (!(net->v6_zt && !have6) && !(net->v4_zt && !have4)))
		return 0;
	pools = json_loads(net->pools ? net->pools : "[]", 0, NULL);
	for (k = 0; net->v6_zt && !have6 && k < json_array_size(pools); k++) {
		json_t *p = json_array_get(pools, k);

		if (ctl_ip_parse(json_string_value(json_object_get(p, "ipRangeStart")), &s) < 0 ||
		    ctl_ip_parse(json_string_value(json_object_get(p, "ipRangeEnd")), &e) < 0 ||
		    s.sa.sa_family != AF_INET6 || e.sa.sa_family != AF_INET6)
			continue;
		err = ctl_assign_v6(b, nc, &s, &e);
		if (err < 0)
			goto out;
		have6 = err > 0;
	}
	for (k = 0; net->v4_zt && !have4 && k < json_array_size(pools); k++) {
		json_t *p = json_array_get(pools, k);

		if (ctl_ip_parse(json_string_value(json_object_get(p, "ipRangeStart")), &s) < 0 ||
		    ctl_ip_parse(json_string_value(json_object_get(p, "ipRangeEnd")), &e) < 0 ||
		    s.sa.sa_family != AF_INET || e.sa.sa_family != AF_INET)
			continue;
		err = ctl_assign_v4(b, nc, &s, &e);
		if (err < 0)
			goto out;
		have4 = err > 0;
	}
	err = 0;
out:
	json_decref(pools);
	return err;
}

/* ---- the config (§8.3) ---- */

static void ctl_routes(const struct zt_store_network *net, struct zt_netconf *nc)
{
	json_t *routes = json_loads(net->routes ? net->routes : "[]", 0, NULL);
	union zt_sockaddr t, v;
	size_t i;

	for (i = 0; i < json_array_size(routes) && nc->nroutes < ZT_NETCONF_MAX_ROUTES; i++) {
		json_t *r = json_array_get(routes, i);

		if (ctl_cidr_parse(json_string_value(json_object_get(r, "target")), &t) < 0)
			continue;
		memset(&nc->routes[nc->nroutes], 0, sizeof nc->routes[0]);
		nc->routes[nc->nroutes].target = t;
		if (ctl_ip_parse(json_string_value(json_object_get(r, "via")), &v) == 0 &&
		    v.sa.sa_family == t.sa.sa_family)
			nc->routes[nc->nroutes].via = v;
		nc->nroutes++;
	}
	json_decref(routes);
}

/* The network's dns object; its servers are those of the dns module of
 * this ztd (service) when the operator names none and there is a domain
 * (without a domain members apply no DNS, and the module answers
 * nothing).  The operator's servers always win: the module's are never
 * stored, only added here, config by config. */
static void ctl_dns(const struct zt_store_network *net, const struct zt_dns *service, struct zt_netconf *nc)
{
	json_t *dns = json_loads(net->dns ? net->dns : "[]", 0, NULL);
	json_t *servers;
	const char *domain;
	size_t i;
	bool named = false;

	memset(&nc->dns, 0, sizeof nc->dns);
	if (json_is_object(dns)) {
		domain = json_string_value(json_object_get(dns, "domain"));
		if (domain)
			strncpy(nc->dns.domain, domain, sizeof nc->dns.domain - 1);
		servers = json_object_get(dns, "servers");
		for (i = 0; i < json_array_size(servers) && i < ZT_DNS_SERVERS; i++)
			if (ctl_ip_parse(json_string_value(json_array_get(servers, i)), &nc->dns.servers[i]) == 0)
				named = true;
	}
	json_decref(dns);
	if (!named && service && nc->dns.domain[0])
		memcpy(nc->dns.servers, service->servers, sizeof nc->dns.servers);
}

/* The active bridges, from the store's index: a config costs the same
 * in a network of 10 members or 100,000. */
static int ctl_bridges(const struct ctl_build *b, struct zt_netconf *nc)
{
	uint64_t bridges[ZT_NETCONF_MAX_SPECIALISTS];
	size_t n = 0;
	int err;

	err = zt_store_member_bridges(b->store, b->net->id, bridges, ZT_NETCONF_MAX_SPECIALISTS, &n);
	if (err < 0)
		return err;
	for (size_t i = 0; i < n && nc->nspecialists < ZT_NETCONF_MAX_SPECIALISTS; i++)
		nc->specialists[nc->nspecialists++] = ZT_SPECIALIST_ACTIVE_BRIDGE | bridges[i];
	return 0;
}

static int ctl_sign_com(const struct ctl_build *b, struct zt_netconf *nc)
{
	uint8_t msg[24 * ZT_COM_MAX_QUALIFIERS];
	size_t len;
	int err;

	err = zt_com_issue(&nc->com, nc->nwid, nc->ts, nc->ctmd, b->identity);
	if (err < 0)
		return err;
	len = zt_com_signed_msg(&nc->com, msg, sizeof msg);
	if (!len)
		return -EINVAL;
	err = b->signer->sign(b->signer->ctx, msg, len, nc->com.sig);
	if (err < 0)
		return err;
	nc->com.signer = b->signer->address;
	nc->has_com = true;
	return 0;
}

static int ctl_sign_coo(const struct ctl_build *b, struct zt_netconf *nc)
{
	struct zt_coo *coo = &nc->coos[0];
	uint8_t msg[512];
	unsigned i;
	int len, err;

	memset(coo, 0, sizeof *coo);
	coo->nwid = nc->nwid;
	coo->ts = nc->ts;
	coo->id = 1;
	for (i = 0; i < nc->nips; i++) {
		err = zt_coo_add_ip(coo, &nc->ips[i]);
		if (err < 0)
			return err;
	}
	coo->issued_to = b->member->address;
	coo->signer = b->signer->address;
	coo->sig.type = 1;
	coo->sig.len = ZT_SIG_LEN;
	len = zt_coo_signing_input(coo, msg, sizeof msg);
	if (len < 0)
		return len;
	err = b->signer->sign(b->signer->ctx, msg, (size_t)len, coo->sig.sig);
	if (err < 0)
		return err;
	nc->ncoos = 1;
	return 0;
}

/* TAG (§8.3): the member's pairs, then the network's defaults for the
 * ids it lacks; one signed tag per id, ascending. */
static int ctl_sign_tags(const struct ctl_build *b, struct zt_netconf *nc)
{
	json_t *mine = json_loads(b->member->tags ? b->member->tags : "[]", 0, NULL);
	json_t *defs = json_loads(b->net->tags ? b->net->tags : "[]", 0, NULL), *all, *e;
	const char *why;
	size_t i;
	int err = 0;

	all = json_array();
	json_array_foreach(defs, i, e)
		if (json_is_integer(json_object_get(e, "default")))
			json_array_append_new(all, json_pack("[OO]", json_object_get(e, "id"),
							     json_object_get(e, "default")));
	json_array_extend(all, mine);           /* the member's own win: later in the list */
	json_decref(mine);
	json_decref(defs);
	mine = ctl_member_tags_normalize(all, &why);
	json_decref(all);
	json_array_foreach(mine, i, e) {
		struct zt_tag *t = &nc->tags[nc->ntags];
		uint8_t msg[64];
		int len;

		if (nc->ntags == ZT_NETCONF_MAX_TAGS)
			break;
		memset(t, 0, sizeof *t);
		t->nwid = nc->nwid;
		t->ts = nc->ts;
		t->id = (uint32_t)json_integer_value(json_array_get(e, 0));
		t->value = (uint32_t)json_integer_value(json_array_get(e, 1));
		t->issued_to = b->member->address;
		t->signer = b->signer->address;
		t->sig.type = 1;
		t->sig.len = ZT_SIG_LEN;
		if ((len = zt_tag_signing_input(t, msg, sizeof msg)) < 0 ||
		    (err = b->signer->sign(b->signer->ctx, msg, (size_t)len, t->sig.sig)) < 0)
			break;
		nc->ntags++;
	}
	json_decref(mine);
	return err < 0 ? err : 0;
}

/* The network's capability with this id, or NULL. */
static const json_t *ctl_cap_def_find(const json_t *defs, json_int_t id)
{
	const json_t *e;
	size_t i;

	json_array_foreach(defs, i, e)
		if (json_integer_value(json_object_get(e, "id")) == id)
			return e;
	return NULL;
}

/* CAP (§8.3): each of the member's capability ids the network defines,
 * its rules encoded after the base table in rules_buf, signed to the
 * member (max chain 1). */
static int ctl_sign_caps(const struct ctl_build *b, struct zt_netconf *nc, size_t used)
{
	json_t *ids = json_loads(b->member->capabilities ? b->member->capabilities : "[]", 0, NULL);
	json_t *defs = json_loads(b->net->capabilities ? b->net->capabilities : "[]", 0, NULL), *e;
	size_t i;
	int err = 0;

	json_array_foreach(ids, i, e) {
		const json_t *def = ctl_cap_def_find(defs, json_integer_value(e));
		struct zt_cap *c = &nc->caps[nc->ncaps];
		uint8_t msg[ZT_CAP_MAX_RULES * 260 + 64];
		unsigned n;
		int len;

		if (!def || !json_is_integer(e))
			continue;
		if (nc->ncaps == ZT_NETCONF_MAX_CAPS)
			break;
		memset(c, 0, sizeof *c);
		len = ctl_rules_encode_max(json_object_get(def, "rules"), b->rules_buf + used,
					   CTL_RULES_MAX_BYTES - used, ZT_CAP_MAX_RULES, &n);
		if (len < 0) {
			err = len;
			break;
		}
		c->nwid = nc->nwid;
		c->ts = nc->ts;
		c->id = (uint32_t)json_integer_value(e);
		c->nrules = (uint16_t)n;
		c->rules = b->rules_buf + used;
		c->rules_len = (size_t)len;
		c->max_chain = 1;
		used += (size_t)len;
		if ((len = zt_cap_signing_input(c, msg, sizeof msg)) < 0) {
			err = len;
			break;
		}
		c->chain[0].to = b->member->address;
		c->chain[0].from = b->signer->address;
		c->chain[0].sig.type = 1;
		c->chain[0].sig.len = ZT_SIG_LEN;
		if ((err = b->signer->sign(b->signer->ctx, msg, (size_t)len, c->chain[0].sig.sig)) < 0)
			break;
		c->nchain = 1;
		nc->ncaps++;
	}
	json_decref(ids);
	json_decref(defs);
	return err;
}

int ctl_build_config(const struct ctl_build *b, struct zt_netconf *nc)
{
	const struct zt_store_network *net = b->net;
	const struct zt_store_member *m = b->member;
	json_t *rules;
	int64_t ctmd;
	int len, err;

	zt_netconf_reset(nc);
	nc->version = ZT_NETCONF_VERSION;
	nc->nwid = net->id;
	nc->ts = b->now;
	ctmd = net->ctmd ? net->ctmd : ZT_CTMD_DEFAULT;
	nc->ctmd = ctmd < ZT_CTMD_MIN ? ZT_CTMD_MIN : ctmd > ZT_CTMD_MAX ? ZT_CTMD_MAX : ctmd;
	nc->revision = net->revision;
	nc->issued_to = m->address;
	if (m->has_trace_target) {
		nc->trace_target = m->trace_target;
		nc->trace_level = m->trace_level;
	} else {
		nc->trace_target = net->has_trace_target ? net->trace_target : 0;
		nc->trace_level = net->trace_level;
	}
	nc->flags = net->enable_broadcast ? ZT_NETCONF_F_BROADCAST : 0;
	nc->mcast_limit = net->multicast_limit;
	nc->type = net->priv ? ZT_NET_PRIVATE : ZT_NET_PUBLIC;
	snprintf(nc->name, sizeof nc->name, "%s", net->name ? net->name : "");
	nc->mtu = net->mtu < ZT_NET_MTU_MIN ? ZT_NET_MTU_MIN : net->mtu > ZT_NET_MTU_MAX ? ZT_NET_MTU_MAX : net->mtu;

	err = ctl_bridges(b, nc);
	if (err < 0)
		return err;
	if (b->revr == 0) {
		b->rules_buf[0] = 1;    /* ACTION_ACCEPT */
		b->rules_buf[1] = 0;
		nc->rules_len = 2;
		nc->nrules = 1;
	} else {
		rules = json_loads(net->rules ? net->rules : "[]", 0, NULL);
		len = ctl_rules_encode(rules, b->rules_buf, CTL_BASE_RULES_MAX_BYTES, &nc->nrules);
		json_decref(rules);
		if (len < 0)
			return len;
		nc->rules_len = (size_t)len;
		if ((err = ctl_sign_caps(b, nc, nc->rules_len)) < 0 || (err = ctl_sign_tags(b, nc)) < 0)
			return err;
	}
	nc->rules = b->rules_buf;
	ctl_routes(net, nc);
	err = ctl_assign(b, nc);
	if (err < 0)
		return err;
	ctl_dns(net, b->dns_service, nc);
	if (nc->nips) {
		err = ctl_sign_coo(b, nc);
		if (err < 0)
			return err;
	}
	err = ctl_sign_com(b, nc);
	if (err < 0)
		return err;
	nc->sso_version = 0;
	nc->sso_enabled = false;
	return 0;
}

/* ---- a member's config kept for its repeats ---- */

const uint8_t *ctl_cache_get(const struct ctl_config_cache *cc, uint64_t gen, uint64_t revr, int64_t now,
			     size_t *len)
{
	if (!cc->bytes || cc->gen != gen || cc->revr != revr || now < cc->ts || now - cc->ts >= CTL_CACHE_MS)
		return NULL;
	*len = cc->len;
	return cc->bytes;
}

int ctl_cache_put(struct ctl_config_cache *cc, const uint8_t *bytes, size_t len, uint64_t gen, uint64_t revr,
		  int64_t ts)
{
	uint8_t *copy = len <= cc->len && cc->bytes ? cc->bytes : realloc(cc->bytes, len ? len : 1);

	if (!copy) {
		ctl_cache_drop(cc);
		return -ENOMEM;
	}
	memcpy(copy, bytes, len);
	*cc = (struct ctl_config_cache){ copy, len, ts, gen, revr };
	return 0;
}

void ctl_cache_drop(struct ctl_config_cache *cc)
{
	free(cc->bytes);
	memset(cc, 0, sizeof *cc);
}

/* ---- revocation (§5.5, §8.4) ---- */

int ctl_revocation(const struct ctl_signer *sg, uint64_t nwid, uint64_t member,
		   int64_t now, uint32_t id, uint8_t *out, size_t cap)
{
	return ctl_cred_revocation(sg, nwid, member, ZT_CRED_COM, 0, now, id, out, cap);
}

int ctl_cred_revocation(const struct ctl_signer *sg, uint64_t nwid, uint64_t member, uint8_t type,
			uint32_t cred_id, int64_t threshold, uint32_t id, uint8_t *out, size_t cap)
{
	struct zt_revocation rev;
	struct zt_wr w;
	uint8_t msg[256];
	int len, err;

	memset(&rev, 0, sizeof rev);
	rev.id = id;
	rev.nwid = nwid;
	rev.cred_id = cred_id;
	rev.threshold = threshold;
	rev.flags = ZT_REV_FAST_PROPAGATE;
	rev.target = member;
	rev.signer = sg->address;
	rev.type = type;
	rev.sig.type = 1;
	rev.sig.len = ZT_SIG_LEN;
	len = zt_rev_signing_input(&rev, msg, sizeof msg);
	if (len < 0)
		return len;
	err = sg->sign(sg->ctx, msg, (size_t)len, rev.sig.sig);
	if (err < 0)
		return err;
	zt_wr_init(&w, out, cap);
	err = zt_netcreds_encode(&w, NULL, NULL, 0, NULL, 0, &rev, 1, NULL, 0);
	if (err < 0)
		return err;
	return w.err ? -ENOSPC : (int)w.len;
}
