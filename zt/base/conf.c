/* YAML config: parsing into a position-keeping tree, typed scalars, and
 * checking a module instance's keys against its declared options. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/udp.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103           /* Linux 4.18; older libc headers lack it */
#endif

#include "conf.h"
#include "internal.h"

#define CONF_MAX_DEPTH 64

/* ---- errors ---- */

static void conf_report(struct zt_conf *conf, const char *msg)
{
	if (conf->errors++ == 0)
		snprintf(conf->first_error, sizeof conf->first_error, "%s", msg);
	if (!conf->quiet)
		fprintf(stderr, "%s\n", msg);
}

void zt_conf_error(struct zt_conf *conf, unsigned line, unsigned col, const char *fmt, ...)
{
	char msg[4096];
	int n;
	va_list ap;

	n = snprintf(msg, sizeof msg, "%s:%u:%u: ", conf->file, line, col);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof msg - n, fmt, ap);
	va_end(ap);
	conf_report(conf, msg);
}

/* The nearest enclosing module instance, for the "label: key:" prefix. */
static const struct zt_node *node_instance(const struct zt_node *n)
{
	for (; n; n = n->parent)
		if (n->label)
			return n;
	return NULL;
}

static ZT_PRINTF(3, 0) void node_report(const struct zt_node *pos, const struct zt_node *n, const char *fmt,
					va_list ap)
{
	char msg[4096], where[400] = "";
	const struct zt_node *inst = node_instance(n);
	const struct zt_node *at = zt_node_key_node(pos);
	int len;

	if (inst) {
		/* "instance: key.sub: " */
		char path[160], ipath[160];
		size_t il;

		zt_node_path(n, path, sizeof path);
		zt_node_path(inst, ipath, sizeof ipath);
		il = strlen(ipath);
		if (strcmp(path, ipath) == 0)
			snprintf(where, sizeof where, "%s: ", inst->label);
		else
			snprintf(where, sizeof where, "%s: %s: ", inst->label,
				 path + il + (path[il] == '.' ? 1 : 0));
	} else {
		char path[160];

		zt_node_path(n, path, sizeof path);
		if (path[0])
			snprintf(where, sizeof where, "%s: ", path);
	}
	len = snprintf(msg, sizeof msg, "%s:%u:%u: %s", n->conf->file, at->line, at->col, where);
	if (len < 0 || (size_t)len >= sizeof msg)
		len = sizeof msg - 1;
	vsnprintf(msg + len, sizeof msg - len, fmt, ap);
	conf_report(n->conf, msg);
}

void zt_node_verror(const struct zt_node *n, const char *fmt, va_list ap)
{
	if (!n)
		return;   /* nothing to place it at: the caller's error code speaks */
	node_report(n, n, fmt, ap);
}

void zt_node_error_at(const struct zt_node *pos, const struct zt_node *ctx, const char *fmt, ...)
{
	va_list ap;

	if (!pos || !ctx)
		return;
	va_start(ap, fmt);
	node_report(pos, ctx, fmt, ap);
	va_end(ap);
}

void zt_node_error(const struct zt_node *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	zt_node_verror(n, fmt, ap);
	va_end(ap);
}

const struct zt_node *zt_node_key_node(const struct zt_node *n)
{
	const struct zt_node *p = n->parent;

	/* Point a message about a scalar value at the value itself, but one
	 * about a whole mapping or sequence at its key. */
	if (p && p->type == ZT_NODE_MAP && n->type != ZT_NODE_SCALAR)
		for (size_t i = 0; i < p->n; i++)
			if (p->items[i] == n)
				return p->keys[i];
	return n;
}

void zt_node_path(const struct zt_node *n, char *out, size_t len)
{
	char tmp[160];

	if (!n->parent) {
		snprintf(out, len, "%s", "");
		return;
	}
	if (n->is_key) {
		zt_node_path(n->parent, out, len);
		return;
	}
	zt_node_path(n->parent, tmp, sizeof tmp);
	if (n->key)
		snprintf(out, len, "%s%s%s", tmp, tmp[0] ? "." : "", n->key);
	else
		snprintf(out, len, "%s[%zu]", tmp, n->index);
}

const char *zt_node_type_name(enum zt_node_type t)
{
	switch (t) {
	case ZT_NODE_SCALAR: return "a scalar";
	case ZT_NODE_SEQ: return "a list";
	case ZT_NODE_MAP: return "a mapping";
	}
	return "nothing";
}

/* ---- building the tree from libyaml events ---- */

struct builder {
	yaml_parser_t parser;
	struct zt_conf *conf;
	bool failed;
};

static struct zt_node *node_new(struct zt_conf *conf, enum zt_node_type type, const yaml_mark_t *m)
{
	struct zt_node *n = calloc(1, sizeof *n);

	if (!n)
		return NULL;
	n->type = type;
	n->conf = conf;
	n->line = m->line + 1;
	n->col = m->column + 1;
	return n;
}

static void node_free(struct zt_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		node_free(n->items[i]);
		if (n->keys)
			node_free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->text);
	free(n);
}

static int node_append(struct zt_node *parent, struct zt_node *key, struct zt_node *val)
{
	struct zt_node **items = realloc(parent->items, (parent->n + 1) * sizeof *items);

	if (!items)
		return -ENOMEM;
	parent->items = items;
	if (parent->type == ZT_NODE_MAP) {
		struct zt_node **keys = realloc(parent->keys, (parent->n + 1) * sizeof *keys);

		if (!keys)
			return -ENOMEM;
		parent->keys = keys;
		keys[parent->n] = key;
		key->parent = parent;
		key->is_key = true;
		val->key = key->text;
	}
	val->parent = parent;
	val->index = parent->n;
	items[parent->n++] = val;
	return 0;
}

static bool builder_next(struct builder *b, yaml_event_t *ev)
{
	if (yaml_parser_parse(&b->parser, ev))
		return true;
	zt_conf_error(b->conf, b->parser.problem_mark.line + 1, b->parser.problem_mark.column + 1,
		      "%s%s%s", b->parser.problem ? b->parser.problem : "YAML syntax error",
		      b->parser.context ? " " : "", b->parser.context ? b->parser.context : "");
	b->failed = true;
	return false;
}

static struct zt_node *build_node(struct builder *b, yaml_event_t *ev, unsigned depth);

static struct zt_node *build_collection(struct builder *b, struct zt_node *n, yaml_event_type_t end, unsigned depth)
{
	yaml_event_t ev;

	for (;;) {
		struct zt_node *key = NULL, *val;

		if (!builder_next(b, &ev))
			goto fail;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return n;
		}
		if (n->type == ZT_NODE_MAP) {
			key = build_node(b, &ev, depth + 1);
			yaml_event_delete(&ev);
			if (!key)
				goto fail;
			if (key->type != ZT_NODE_SCALAR) {
				zt_conf_error(b->conf, key->line, key->col, "mapping keys must be scalars");
				node_free(key);
				goto fail;
			}
			for (size_t i = 0; i < n->n; i++)
				if (strcmp(n->keys[i]->text, key->text) == 0) {
					zt_conf_error(b->conf, key->line, key->col,
						      "duplicate key '%s' (first at line %u)", key->text, n->keys[i]->line);
					b->failed = true;
				}
			if (!builder_next(b, &ev)) {
				node_free(key);
				goto fail;
			}
		}
		val = build_node(b, &ev, depth + 1);
		yaml_event_delete(&ev);
		if (!val || node_append(n, key, val) < 0) {
			node_free(key);
			node_free(val);
			goto fail;
		}
	}
fail:
	node_free(n);
	return NULL;
}

static struct zt_node *build_node(struct builder *b, yaml_event_t *ev, unsigned depth)
{
	struct zt_node *n;

	if (depth > CONF_MAX_DEPTH) {
		zt_conf_error(b->conf, ev->start_mark.line + 1, ev->start_mark.column + 1,
			      "nested deeper than %d levels", CONF_MAX_DEPTH);
		b->failed = true;
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n = node_new(b->conf, ZT_NODE_SCALAR, &ev->start_mark);
		if (!n || !(n->text = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length))) {
			free(n);
			return NULL;
		}
		n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		return n;
	case YAML_SEQUENCE_START_EVENT:
		n = node_new(b->conf, ZT_NODE_SEQ, &ev->start_mark);
		return n ? build_collection(b, n, YAML_SEQUENCE_END_EVENT, depth) : NULL;
	case YAML_MAPPING_START_EVENT:
		n = node_new(b->conf, ZT_NODE_MAP, &ev->start_mark);
		return n ? build_collection(b, n, YAML_MAPPING_END_EVENT, depth) : NULL;
	case YAML_ALIAS_EVENT:
		zt_conf_error(b->conf, ev->start_mark.line + 1, ev->start_mark.column + 1,
			      "aliases (*%s) are not supported", ev->data.alias.anchor);
		b->failed = true;
		return NULL;
	default:
		zt_conf_error(b->conf, ev->start_mark.line + 1, ev->start_mark.column + 1,
			      "unexpected YAML event");
		b->failed = true;
		return NULL;
	}
}

/* stream-start, document-start, node, document-end, stream-end */
static struct zt_node *build_document(struct builder *b)
{
	yaml_event_t ev;
	struct zt_node *root = NULL;

	while (builder_next(b, &ev)) {
		yaml_event_type_t t = ev.type;

		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
		    t == YAML_MAPPING_START_EVENT || t == YAML_ALIAS_EVENT) {
			if (root) {
				zt_conf_error(b->conf, ev.start_mark.line + 1, ev.start_mark.column + 1,
					      "only one YAML document is allowed");
				b->failed = true;
				yaml_event_delete(&ev);
				break;
			}
			root = build_node(b, &ev, 0);
			yaml_event_delete(&ev);
			if (!root)
				break;
			continue;
		}
		yaml_event_delete(&ev);
	}
	return root;
}

struct zt_conf *zt_conf_parse(const char *file, const char *text, bool quiet)
{
	struct zt_conf *conf = calloc(1, sizeof *conf);
	struct builder b = { .conf = conf };
	FILE *f = NULL;

	if (!conf || !(conf->file = strdup(file))) {
		free(conf);
		return NULL;
	}
	conf->quiet = quiet;
	if (!text && !(f = fopen(file, "rb"))) {
		char msg[512];

		snprintf(msg, sizeof msg, "%s: %s", file, strerror(errno));
		conf_report(conf, msg);
		return conf;
	}
	yaml_parser_initialize(&b.parser);
	if (f)
		yaml_parser_set_input_file(&b.parser, f);
	else
		yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, strlen(text));
	conf->root = build_document(&b);
	yaml_parser_delete(&b.parser);
	if (f)
		fclose(f);
	if (b.failed && conf->errors == 0)
		zt_conf_error(conf, 1, 1, "out of memory");
	return conf;
}

void zt_conf_free(struct zt_conf *conf)
{
	if (!conf)
		return;
	node_free(conf->root);
	free(conf->file);
	free(conf);
}

/* A copy of src in conf, positions kept. */
static struct zt_node *node_copy(struct zt_conf *conf, const struct zt_node *src)
{
	struct zt_node *n = calloc(1, sizeof *n);

	if (!n)
		return NULL;
	n->type = src->type;
	n->conf = conf;
	n->line = src->line;
	n->col = src->col;
	n->quoted = src->quoted;
	if (src->text && !(n->text = strdup(src->text)))
		goto fail;
	for (size_t i = 0; i < src->n; i++) {
		struct zt_node *key = NULL, *val = node_copy(conf, src->items[i]);

		if (!val || (src->keys && !(key = node_copy(conf, src->keys[i]))) || node_append(n, key, val) < 0) {
			node_free(val);
			node_free(key);
			goto fail;
		}
	}
	return n;
fail:
	node_free(n);
	return NULL;
}

struct zt_conf *zt_conf_copy(const struct zt_node *n)
{
	struct zt_conf *conf = calloc(1, sizeof *conf);

	if (!conf || !(conf->file = strdup(n->conf->file)) || !(conf->root = node_copy(conf, n))) {
		zt_conf_free(conf);
		return NULL;
	}
	conf->quiet = true;
	return conf;
}

/* Append key: val to a mapping, the key placed at the mapping. */
static int map_put(struct zt_node *map, const char *key, struct zt_node *val)
{
	yaml_mark_t m = { 0, map->line - 1, map->col - 1 };
	struct zt_node *k = node_new(map->conf, ZT_NODE_SCALAR, &m);

	if (!k || !(k->text = strdup(key)) || node_append(map, k, val) < 0) {
		node_free(k);
		return -ENOMEM;
	}
	return 0;
}

int zt_node_add_scalar(struct zt_node *map, const char *key, const char *text)
{
	yaml_mark_t m = { 0, map->line - 1, map->col - 1 };
	struct zt_node *v = node_new(map->conf, ZT_NODE_SCALAR, &m);

	if (!v || !(v->text = strdup(text)) || map_put(map, key, v) < 0) {
		node_free(v);
		return -ENOMEM;
	}
	v->quoted = true;   /* a string, whatever it looks like */
	return 0;
}

/* ---- typed scalars ---- */

int zt_parse_uint(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int zt_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return -EINVAL;
}

int zt_parse_duration_ms(const char *s, uint64_t *out)
{
	static const struct { const char *unit; uint64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "", 1000 },
	};
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(end, units[i].unit) == 0) {
			if (v > UINT64_MAX / units[i].ms)
				return -EINVAL;
			*out = v * units[i].ms;
			return 0;
		}
	return -EINVAL;
}

static int parse_port(const char *s, uint16_t *port)
{
	uint64_t v;

	if (zt_parse_uint(s, &v) < 0 || v > 65535 || (s[0] == '0' && s[1]))
		return -EINVAL;
	*port = v;
	return 0;
}

/* 198.18.0.1:9993 or [2001:db8::1]:9993 */
int zt_parse_sockaddr(const char *s, union zt_sockaddr *out)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	uint16_t port;
	union zt_sockaddr a;

	memset(&a, 0, sizeof a);
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		size_t hl;

		if (!close || close[1] != ':')
			return -EINVAL;
		hl = close - s - 1;
		if (hl >= sizeof host)
			return -EINVAL;
		memcpy(host, s + 1, hl);
		host[hl] = 0;
		if (inet_pton(AF_INET6, host, &a.in6.sin6_addr) != 1 || parse_port(close + 2, &port) < 0)
			return -EINVAL;
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(port);
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof host || strchr(s, ':') != colon)
			return -EINVAL;
		memcpy(host, s, colon - s);
		host[colon - s] = 0;
		if (inet_pton(AF_INET, host, &a.in4.sin_addr) != 1 || parse_port(colon + 1, &port) < 0)
			return -EINVAL;
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons(port);
	}
	*out = a;
	return 0;
}

const char *zt_sockaddr_fmt(const union zt_sockaddr *a, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof host);
		if (a->in6.sin6_scope_id)
			snprintf(out, len, "[%s%%%u]:%u", host, (unsigned)a->in6.sin6_scope_id,
				 ntohs(a->in6.sin6_port));
		else
			snprintf(out, len, "[%s]:%u", host, ntohs(a->in6.sin6_port));
	} else if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof host);
		snprintf(out, len, "%s:%u", host, ntohs(a->in4.sin_port));
	} else {
		snprintf(out, len, "(family %d)", a->sa.sa_family);
	}
	return out;
}

void zt_gso_ctl_set(struct msghdr *h, union zt_gso_ctl *ctl, size_t seg)
{
	struct cmsghdr *c = &ctl->align;
	uint16_t v = (uint16_t)seg;

	memset(ctl, 0, sizeof *ctl);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof v);
	memcpy(CMSG_DATA(c), &v, sizeof v);
	h->msg_control = ctl->buf;
	h->msg_controllen = sizeof ctl->buf;
}

/* ---- options ---- */

static const struct zt_opt *opt_find(const struct zt_opt *opts, const char *key)
{
	for (; opts && opts->key; opts++)
		if (strcmp(opts->key, key) == 0)
			return opts;
	return NULL;
}

static const char *opt_type_name(enum zt_opt_type t)
{
	switch (t) {
	case ZT_OPT_T_STR: return "a string";
	case ZT_OPT_T_UINT: return "a non-negative integer";
	case ZT_OPT_T_BOOL: return "true or false";
	case ZT_OPT_T_ADDR: return "an address like 198.18.0.1:9993 or [2001:db8::1]:9993";
	case ZT_OPT_T_ADDRS: return "an address or a list of addresses like 198.18.0.1:9993";
	case ZT_OPT_T_DURATION: return "a duration like 500ms, 10s, 5m or 1h";
	case ZT_OPT_T_ANY: return "any value";
	}
	return "?";
}

static bool scalar_is_addr(const struct zt_node *n)
{
	union zt_sockaddr a;

	return n->type == ZT_NODE_SCALAR && zt_parse_sockaddr(n->text, &a) == 0;
}

/* Check one value against its option; report and return false if wrong. */
static bool opt_value_ok(const struct zt_node *v, const struct zt_opt *o)
{
	uint64_t u;
	bool b;

	switch (o->type) {
	case ZT_OPT_T_ANY:
		return true;
	case ZT_OPT_T_ADDRS:
		if (v->type == ZT_NODE_SEQ) {
			bool good = true;

			if (v->n == 0) {
				zt_node_error(v, "must list at least one address");
				return false;
			}
			for (size_t i = 0; i < v->n; i++)
				if (!scalar_is_addr(v->items[i])) {
					zt_node_error(v->items[i], "must be %s", opt_type_name(ZT_OPT_T_ADDR));
					good = false;
				}
			return good;
		}
		if (scalar_is_addr(v))
			return true;
		break;
	case ZT_OPT_T_ADDR:
		if (scalar_is_addr(v))
			return true;
		break;
	case ZT_OPT_T_STR:
		if (v->type == ZT_NODE_SCALAR)
			return true;
		break;
	case ZT_OPT_T_UINT:
		if (v->type != ZT_NODE_SCALAR || zt_parse_uint(v->text, &u) < 0)
			break;
		if (u < o->min || (o->max && u > o->max)) {
			if (o->max)
				zt_node_error(v, "must be between %" PRIu64 " and %" PRIu64, o->min, o->max);
			else
				zt_node_error(v, "must be at least %" PRIu64, o->min);
			return false;
		}
		return true;
	case ZT_OPT_T_BOOL:
		if (v->type == ZT_NODE_SCALAR && zt_parse_bool(v->text, &b) == 0)
			return true;
		break;
	case ZT_OPT_T_DURATION:
		if (v->type == ZT_NODE_SCALAR && zt_parse_duration_ms(v->text, &u) == 0)
			return true;
		break;
	}
	if (v->type == ZT_NODE_SCALAR)
		zt_node_error(v, "'%s' is not %s", v->text, opt_type_name(o->type));
	else
		zt_node_error(v, "must be %s, not %s", opt_type_name(o->type), zt_node_type_name(v->type));
	return false;
}

/* Insert the parsed default of o into map, positioned at the map. */
static int opt_insert_default(struct zt_node *map, const struct zt_opt *o)
{
	struct zt_conf *tmp = zt_conf_parse(map->conf->file, o->def, true);
	struct zt_node *val;

	if (!tmp)
		return -ENOMEM;
	val = tmp->root;
	tmp->root = NULL;
	zt_conf_free(tmp);
	if (!val)
		return -ENOMEM;
	/* the default belongs to this document now */
	for (struct zt_node *stack[CONF_MAX_DEPTH + 2], **sp = (stack[0] = val, stack + 1); sp > stack;) {
		struct zt_node *x = *--sp;

		x->conf = map->conf;
		x->line = map->line;
		x->col = map->col;
		for (size_t i = 0; i < x->n && sp - stack < CONF_MAX_DEPTH; i++)
			*sp++ = x->items[i];
	}
	if (map_put(map, o->key, val) < 0) {
		node_free(val);
		return -ENOMEM;
	}
	return 0;
}

unsigned zt_conf_check_opts(struct zt_node *map, const struct zt_opt *opts, const char *label)
{
	unsigned before = map->conf->errors;

	map->label = label;
	map->opts = opts;
	for (size_t i = 0; i < map->n; i++) {
		const char *k = map->keys[i]->text;
		const struct zt_opt *o;

		if (strcmp(k, "use") == 0 || strcmp(k, "instance") == 0)
			continue;
		o = opt_find(opts, k);
		if (!o)
			zt_node_error(map->keys[i], "unknown key '%s'", k);
		else
			opt_value_ok(map->items[i], o);
	}
	for (const struct zt_opt *o = opts; o && o->key; o++) {
		if (zt_node_get(map, o->key))
			continue;
		if (o->flags & ZT_REQUIRED)
			zt_node_error(map, "missing required key '%s' (%s)", o->key, o->help ? o->help : opt_type_name(o->type));
		else if (o->def && opt_insert_default(map, o) < 0)
			zt_node_error(map, "out of memory");
	}
	return map->conf->errors - before;
}

/* ---- accessors for modules ---- */

const struct zt_node *zt_node_get(const struct zt_node *map, const char *key)
{
	if (!map || map->type != ZT_NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i]->text, key) == 0)
			return map->items[i];
	return NULL;
}

const char *zt_node_scalar(const struct zt_node *n)
{
	return n && n->type == ZT_NODE_SCALAR ? n->text : NULL;
}

size_t zt_node_len(const struct zt_node *n)
{
	return n && n->type == ZT_NODE_SEQ ? n->n : 0;
}

const struct zt_node *zt_node_at(const struct zt_node *seq, size_t i)
{
	return seq && seq->type == ZT_NODE_SEQ && i < seq->n ? seq->items[i] : NULL;
}

const char *zt_conf_str(const struct zt_node *conf, const char *key)
{
	return zt_node_scalar(zt_node_get(conf, key));
}

uint64_t zt_conf_uint(const struct zt_node *conf, const char *key)
{
	uint64_t v = 0;
	const char *s = zt_conf_str(conf, key);

	if (s)
		zt_parse_uint(s, &v);
	return v;
}

bool zt_conf_bool(const struct zt_node *conf, const char *key)
{
	bool v = false;
	const char *s = zt_conf_str(conf, key);

	if (s)
		zt_parse_bool(s, &v);
	return v;
}

uint64_t zt_conf_duration_ms(const struct zt_node *conf, const char *key)
{
	uint64_t v = 0;
	const char *s = zt_conf_str(conf, key);

	if (s)
		zt_parse_duration_ms(s, &v);
	return v;
}

size_t zt_conf_addrs(const struct zt_node *conf, const char *key, union zt_sockaddr *out, size_t max)
{
	const struct zt_node *n = zt_node_get(conf, key);
	size_t count = 0;

	if (!n)
		return 0;
	if (n->type == ZT_NODE_SCALAR) {
		if (max > 0 && zt_parse_sockaddr(n->text, &out[0]) < 0)
			return 0;
		return 1;
	}
	for (size_t i = 0; i < zt_node_len(n); i++) {
		const char *s = zt_node_scalar(n->items[i]);
		union zt_sockaddr a;

		if (!s || zt_parse_sockaddr(s, &a) < 0)
			continue;
		if (count < max)
			out[count] = a;
		count++;
	}
	return count;
}
