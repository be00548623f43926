/* Dictionaries (networks.md §4.1, §4.2). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <zt/dict.h>

#include "wire.h"

int zt_dict_init(struct zt_dict *d, const void *p, size_t len, size_t cap)
{
	const uint8_t *nul = len ? memchr(p, 0, len) : NULL;

	if (nul)
		len = (size_t)(nul - (const uint8_t *)p);
	if (cap && len >= cap)
		return -EMSGSIZE;
	d->p = len ? p : NULL;
	d->len = len;
	return 0;
}

int zt_dict_next(const struct zt_dict *d, size_t *off, struct zt_dict_entry *e)
{
	const uint8_t *p = d->p;
	size_t i = *off, j;

	if (i >= d->len)
		return 0;
	e->key = p + i;
	while (i < d->len && p[i] != '=' && p[i] != '\r' && p[i] != '\n')
		i++;
	e->key_len = (size_t)(p + i - e->key);
	e->has_value = i < d->len && p[i] == '=';
	if (!e->has_value) {
		e->val = NULL;
		e->val_len = 0;
		*off = i < d->len ? i + 1 : d->len;
		return 1;
	}
	j = ++i;
	while (j < d->len && p[j] != '\r' && p[j] != '\n')
		j += p[j] == '\\' ? 2 : 1;
	if (j > d->len)
		j = d->len;    /* a backslash as the very last byte */
	e->val = p + i;
	e->val_len = j - i;
	*off = j < d->len ? j + 1 : d->len;
	return 1;
}

int zt_dict_unescape(const uint8_t *raw, size_t raw_len, void *out, size_t cap)
{
	uint8_t *o = out;
	size_t i, n = 0;

	if (raw_len > INT_MAX)
		return -ENOSPC;
	for (i = 0; i < raw_len; i++) {
		uint8_t c = raw[i];

		if (c == '\\') {
			if (++i == raw_len)
				break;
			c = raw[i];
			switch (c) {
			case 'r': c = '\r'; break;
			case 'n': c = '\n'; break;
			case '0': c = 0; break;
			case 'e': c = '='; break;
			default: break;
			}
		}
		if (n < cap)
			o[n] = c;
		n++;
	}
	return n > cap ? -ENOSPC : (int)n;
}

int zt_dict_find(const struct zt_dict *d, const char *key, struct zt_dict_entry *e)
{
	size_t off = 0, klen = strlen(key);

	if (!klen)
		return -ENOENT;
	while (zt_dict_next(d, &off, e))
		if (e->has_value && e->key_len == klen && memcmp(e->key, key, klen) == 0)
			return 0;
	return -ENOENT;
}

int zt_dict_get(const struct zt_dict *d, const char *key, void *out, size_t cap)
{
	struct zt_dict_entry e;
	int rc = zt_dict_find(d, key, &e);

	if (rc < 0)
		return rc;
	return zt_dict_unescape(e.val, e.val_len, out, cap);
}

int zt_dict_get_str(const struct zt_dict *d, const char *key, char *out, size_t cap)
{
	struct zt_dict_entry e;
	size_t i, n = 0;

	if (zt_dict_find(d, key, &e) < 0)
		return -ENOENT;
	/* unescape one byte at a time so that a long value is cut, not refused */
	for (i = 0; i < e.val_len && n + 1 < cap; i++) {
		size_t k = e.val[i] == '\\' ? 2 : 1;
		uint8_t c;

		if (i + k > e.val_len)
			break;
		if (zt_dict_unescape(e.val + i, k, &c, 1) != 1)
			break;
		out[n++] = (char)c;
		i += k - 1;
	}
	out[n] = '\0';
	return (int)n;
}

static uint64_t parse_hex(const uint8_t *s, size_t len)
{
	uint64_t v = 0;
	size_t i = 0;
	int h;

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		i = 2;
	for (; i < len && (h = zt_hex_nibble(s[i])) >= 0; i++) {
		if (v > UINT64_MAX >> 4)
			return UINT64_MAX;
		v = v << 4 | (uint64_t)h;
	}
	return v;
}

bool zt_dict_parse_u64(const uint8_t *s, size_t len, uint64_t *v)
{
	if (!len)
		return false;
	*v = parse_hex(s, len);
	return true;
}

bool zt_dict_parse_i64(const uint8_t *s, size_t len, int64_t *v)
{
	if (!len)
		return false;
	if (s[0] == '-')
		*v = (int64_t)(0 - parse_hex(s + 1, len - 1));
	else
		*v = (int64_t)parse_hex(s, len);
	return true;
}

/* The unescaped value of key, cut at 40 bytes: plenty for any integer. */
static int get_short(const struct zt_dict *d, const char *key, uint8_t buf[40], size_t *n)
{
	struct zt_dict_entry e;
	size_t raw = 0;
	int len;

	if (zt_dict_find(d, key, &e) < 0)
		return -ENOENT;
	/* whole escape sequences only */
	while (raw < e.val_len && raw < 40)
		raw += e.val[raw] == '\\' ? 2 : 1;
	if (raw > e.val_len)
		raw = e.val_len;
	len = zt_dict_unescape(e.val, raw, buf, 40);
	if (len <= 0)
		return -ENOENT;
	*n = (size_t)len;
	return 0;
}

int zt_dict_get_u64(const struct zt_dict *d, const char *key, uint64_t *v)
{
	uint8_t buf[40];
	size_t n;

	if (get_short(d, key, buf, &n) < 0)
		return -ENOENT;
	zt_dict_parse_u64(buf, n, v);
	return 0;
}

int zt_dict_get_i64(const struct zt_dict *d, const char *key, int64_t *v)
{
	uint8_t buf[40];
	size_t n;

	if (get_short(d, key, buf, &n) < 0)
		return -ENOENT;
	zt_dict_parse_i64(buf, n, v);
	return 0;
}

bool zt_dict_get_bool(const struct zt_dict *d, const char *key, bool dflt)
{
	uint8_t buf[40];
	size_t n;

	if (get_short(d, key, buf, &n) < 0)
		return dflt;
	return buf[0] == '1' || buf[0] == 't' || buf[0] == 'T';
}

/* ---- writing ---- */

static size_t escaped_len(const uint8_t *v, size_t len)
{
	size_t i, n = len;

	for (i = 0; i < len; i++)
		if (v[i] == 0 || v[i] == '\r' || v[i] == '\n' || v[i] == '\\' || v[i] == '=')
			n++;
	return n;
}

size_t zt_dict_entry_len(size_t cur_len, const char *key, const void *val, size_t len)
{
	return (cur_len ? 1 : 0) + strlen(key) + 1 + escaped_len(val, len);
}

int zt_dict_add(struct zt_wr *w, const char *key, const void *val, size_t len)
{
	const uint8_t *v = val;
	size_t klen = strlen(key), need, i;
	uint8_t *q;

	if (!klen || strpbrk(key, "\r\n="))
		return -EINVAL;
	need = zt_dict_entry_len(w->len, key, val, len);
	if (w->err || need > w->cap - w->len)
		return -ENOSPC;
	q = zt_wr_ptr(w, need);
	if (w->len != need)
		*q++ = '\n';
	memcpy(q, key, klen);
	q += klen;
	*q++ = '=';
	for (i = 0; i < len; i++) {
		switch (v[i]) {
		case 0: *q++ = '\\'; *q++ = '0'; break;
		case '\r': *q++ = '\\'; *q++ = 'r'; break;
		case '\n': *q++ = '\\'; *q++ = 'n'; break;
		case '\\': *q++ = '\\'; *q++ = '\\'; break;
		case '=': *q++ = '\\'; *q++ = 'e'; break;
		default: *q++ = v[i]; break;
		}
	}
	return 0;
}

int zt_dict_add_str(struct zt_wr *w, const char *key, const char *s)
{
	return zt_dict_add(w, key, s, strlen(s));
}

static void hex_digits(uint64_t v, char *out, unsigned n)
{
	static const char hx[] = "0123456789abcdef";

	while (n--) {
		out[n] = hx[v & 15];
		v >>= 4;
	}
}

int zt_dict_add_u64(struct zt_wr *w, const char *key, uint64_t v)
{
	char s[16];

	hex_digits(v, s, 16);
	return zt_dict_add(w, key, s, 16);
}

int zt_dict_add_i64(struct zt_wr *w, const char *key, int64_t v)
{
	char s[17];

	if (v >= 0)
		return zt_dict_add_u64(w, key, (uint64_t)v);
	s[0] = '-';
	hex_digits(0 - (uint64_t)v, s + 1, 16);
	return zt_dict_add(w, key, s, 17);
}

int zt_dict_add_addr(struct zt_wr *w, const char *key, uint64_t addr)
{
	char s[10];

	hex_digits(addr & 0xffffffffffULL, s, 10);
	return zt_dict_add(w, key, s, 10);
}

int zt_dict_add_bool(struct zt_wr *w, const char *key, bool v)
{
	return zt_dict_add(w, key, v ? "1" : "0", 1);
}
