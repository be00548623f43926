/* Test helpers for the packet, fragment and world tests: reading the
 * "key: value" vector files, hex, and a string builder for JSON. */
#ifndef ZT_T_PACKET_VEC_H
#define ZT_T_PACKET_VEC_H

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vec_kv {
	char *key;
	char *val;
};

/* One block of "key: value" lines; packets.txt has one per "packet:". */
struct vec_rec {
	struct vec_kv *kv;
	size_t n;
};

struct vec_file {
	struct vec_rec *rec;
	size_t n;
};

static inline char *vec_path(const char *name)
{
	const char *dir = getenv("VECTORS");
	static char buf[4096];

	if (!dir || !*dir) {
		const char *src = getenv("srcdir");

		snprintf(buf, sizeof buf, "%s/t/vectors/%s", src ? src : ".", name);
	} else {
		snprintf(buf, sizeof buf, "%s/%s", dir, name);
	}
	return buf;
}

static inline void vec_add(struct vec_rec *r, const char *key, size_t klen, const char *val)
{
	size_t vlen = strlen(val);

	while (vlen && isspace((unsigned char)val[vlen - 1]))
		vlen--;
	r->kv = realloc(r->kv, (r->n + 1) * sizeof *r->kv);
	r->kv[r->n].key = strndup(key, klen);
	r->kv[r->n].val = strndup(val, vlen);
	r->n++;
}

/* Records start at lines whose key is split_key (NULL: one record). */
static inline struct vec_file vec_load(const char *name, const char *split_key)
{
	struct vec_file vf = { NULL, 0 };
	FILE *f = fopen(vec_path(name), "r");
	char *line = NULL;
	size_t cap = 0;

	if (!f) {
		printf("Bail out! cannot open %s\n", vec_path(name));
		exit(1);
	}
	vf.rec = calloc(1, sizeof *vf.rec);
	vf.n = 1;
	while (getline(&line, &cap, f) > 0) {
		size_t k = 0;

		while (isalnum((unsigned char)line[k]) || line[k] == '_' || line[k] == '.')
			k++;
		if (k == 0 || line[k] != ':' || line[k + 1] != ' ')
			continue;
		if (split_key && strlen(split_key) == k && !strncmp(line, split_key, k)) {
			vf.rec = realloc(vf.rec, (vf.n + 1) * sizeof *vf.rec);
			memset(&vf.rec[vf.n], 0, sizeof vf.rec[vf.n]);
			vf.n++;
		}
		vec_add(&vf.rec[vf.n - 1], line, k, line + k + 2);
	}
	free(line);
	fclose(f);
	return vf;
}

static inline void vec_free(struct vec_file *vf)
{
	size_t i, j;

	for (i = 0; i < vf->n; i++) {
		for (j = 0; j < vf->rec[i].n; j++) {
			free(vf->rec[i].kv[j].key);
			free(vf->rec[i].kv[j].val);
		}
		free(vf->rec[i].kv);
	}
	free(vf->rec);
	vf->rec = NULL;
	vf->n = 0;
}

static inline const char *vec_get(const struct vec_rec *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->kv[i].key, key))
			return r->kv[i].val;
	return NULL;
}

/* Hex to bytes: length, or -1 on a bad digit or if it does not fit. */
static inline long vec_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex), i;

	if (n % 2 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]))
			return -1;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return (long)(n / 2);
}

/* A growing string. */
struct sb {
	char *s;
	size_t len;
	size_t cap;
};

static inline void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n + 64;
		b->s = realloc(b->s, b->cap);
	}
}

static inline void sb_hex(struct sb *b, const uint8_t *p, size_t n)
{
	size_t i;

	sb_printf(b, "%s", "");
	for (i = 0; i < n; i++)
		sb_printf(b, "%02x", p[i]);
}

static inline void sb_reset(struct sb *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

#endif
