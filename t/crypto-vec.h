/* Readers for the 'key: value' block files in t/vectors (tests only). */
#ifndef ZT_T_CRYPTO_VEC_H
#define ZT_T_CRYPTO_VEC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define VEC_FIELDS 128

struct vec_field {
	char *key;
	char *val;
};

/* One block: the fields between blank lines, comments skipped. */
struct vec_block {
	int n;
	int line;
	struct vec_field f[VEC_FIELDS];
};

static inline FILE *vec_open(const char *name)
{
	const char *dir = getenv("VECTORS");
	char path[4096];
	FILE *f;

	if (!dir)
		dir = "t/vectors";
	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		bail("cannot open %s", path);
	return f;
}

static inline void vec_free(struct vec_block *b)
{
	for (int i = 0; i < b->n; i++) {
		free(b->f[i].key);
		free(b->f[i].val);
	}
	b->n = 0;
}

static inline void vec_add(struct vec_block *b, char *line)
{
	char *colon = strchr(line, ':'), *key = line, *val;

	if (!colon || b->n == VEC_FIELDS)
		return;
	*colon = '\0';
	while (*key == ' ')
		key++;
	val = colon + 1;
	if (*val == ' ')
		val++;
	b->f[b->n].key = strdup(key);
	b->f[b->n].val = strdup(val);
	b->n++;
}

/* Reads the next non-empty block; returns 0 at end of file. */
static inline int vec_next(FILE *f, struct vec_block *b, int *lineno)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	vec_free(b);
	while ((len = getline(&line, &cap, f)) >= 0) {
		++*lineno;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (line[0] == '#')
			continue;
		if (len == 0) {
			if (b->n)
				break;
			continue;
		}
		if (!b->n)
			b->line = *lineno;
		vec_add(b, line);
	}
	free(line);
	return b->n > 0;
}

static inline const char *vec_get(const struct vec_block *b, const char *key)
{
	for (int i = 0; i < b->n; i++)
		if (strcmp(b->f[i].key, key) == 0)
			return b->f[i].val;
	return NULL;
}

static inline int vec_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex (up to the first space or end) to bytes; out must hold strlen/2. */
static inline long vec_unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (s[0] && s[0] != ' ' && s[0] != '"') {
		int hi = vec_nibble(s[0]), lo = s[1] ? vec_nibble(s[1]) : -1;

		if (hi < 0 || lo < 0 || n == cap)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return (long)n;
}

/* Hex of a field, which must exist and be valid; bails otherwise. */
static inline size_t vec_hex(const struct vec_block *b, const char *key, uint8_t *out, size_t cap)
{
	const char *v = vec_get(b, key);
	long n;

	if (!v)
		bail("line %d: no field %s", b->line, key);
	n = vec_unhex(v, out, cap);
	if (n < 0)
		bail("line %d: bad hex in %s", b->line, key);
	return (size_t)n;
}

static inline void vec_tohex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

#endif
