/* The YAML config as a typed tree that remembers where each node came from. */
#ifndef ZT_CONF_H
#define ZT_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include <zt/module.h>

enum zt_node_type { ZT_NODE_SCALAR = 1, ZT_NODE_SEQ, ZT_NODE_MAP };

struct zt_conf;

struct zt_node {
	enum zt_node_type type;
	struct zt_conf *conf;       /* the document it belongs to */
	struct zt_node *parent;
	const char *key;            /* key in the parent map, NULL otherwise */
	size_t index;               /* position in the parent sequence */
	unsigned line, col;         /* 1-based */
	char *text;                 /* scalars */
	bool quoted;                /* scalar written with quotes: always a string */
	bool is_key;                /* a mapping key: located by its map */
	size_t n;                   /* items of a sequence, entries of a map */
	struct zt_node **items;     /* values */
	struct zt_node **keys;      /* maps: the key scalars, for positions */
	const char *label;          /* set on module instances: their name */
	const struct zt_opt *opts;  /* set on module instances: their options */
};

struct zt_conf {
	char *file;
	struct zt_node *root;
	unsigned errors;
	bool quiet;                 /* collect the first error only, print nothing */
	char first_error[4096];
};

/* Parse a YAML file (or, with text != NULL, the string text named file).
 * Returns NULL only when out of memory; syntax errors are reported and
 * counted in conf->errors (root may then be NULL). */
struct zt_conf *zt_conf_parse(const char *file, const char *text, bool quiet);
void zt_conf_free(struct zt_conf *conf);
/* A quiet document holding a copy of n, with n's file name and positions:
 * an instance made from a template at run time is placed in the config. */
struct zt_conf *zt_conf_copy(const struct zt_node *n);
/* Add key: text (a string) to a mapping that lacks key; 0 or -ENOMEM. */
int zt_node_add_scalar(struct zt_node *map, const char *key, const char *text);

/* Report an error at a node or at a position ("file:line:col: ..."). */
void zt_conf_error(struct zt_conf *conf, unsigned line, unsigned col, const char *fmt, ...) ZT_PRINTF(4, 5);
void zt_node_verror(const struct zt_node *n, const char *fmt, va_list ap) ZT_PRINTF(2, 0);
/* An error positioned at pos but named after ctx's place, e.g. a problem
 * with 'use:' that is reported as the instance's. */
void zt_node_error_at(const struct zt_node *pos, const struct zt_node *ctx, const char *fmt, ...) ZT_PRINTF(3, 4);

/* Where a node sits, e.g. "networks[0].iface", for messages. */
void zt_node_path(const struct zt_node *n, char *out, size_t len);
const char *zt_node_type_name(enum zt_node_type t);
/* The key scalar of a map entry (for its position), or n itself. */
const struct zt_node *zt_node_key_node(const struct zt_node *n);

/* Typed scalar parsing; 0 or -EINVAL.  Used for options and core keys. */
int zt_parse_uint(const char *s, uint64_t *out);
int zt_parse_bool(const char *s, bool *out);
int zt_parse_duration_ms(const char *s, uint64_t *out);
int zt_parse_sockaddr(const char *s, union zt_sockaddr *out);

/* Check a module instance's mapping against its options: unknown keys,
 * wrong types, ranges, missing required keys; then insert defaults.
 * "use" and "instance" are the kernel's and skipped.  Returns errors found. */
unsigned zt_conf_check_opts(struct zt_node *map, const struct zt_opt *opts, const char *label);

#endif
