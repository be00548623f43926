/* libFuzzer: the YAML config (zt/base/conf.c) as ztd.yaml and inline
 * instances are read from a buffer: any text is parsed quietly; a refused
 * document says why; an accepted mapping is checked against options of
 * every type (defaults inserted), and every node's path and every scalar
 * through the typed parsers stay within bounds. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct zt_opt fuzz_opts[] = {
	ZT_OPT_STR("name", "zt0", "a string with a default"),
	ZT_OPT_UINT("port", 9993, 1, 65535, "a bounded integer"),
	ZT_OPT_BOOL("enabled", true, "a boolean"),
	ZT_OPT_ADDR("bind", 0, NULL, "one address"),
	ZT_OPT_ADDRS("peers", 0, NULL, "addresses"),
	ZT_OPT_DURATION("interval", "30s", "a duration"),
	ZT_OPT_ANY("extra", 0, "any YAML"),
	ZT_OPT_END
};

/* Every node: its path, and each scalar as each typed value. */
static void walk(const struct zt_node *n, unsigned depth)
{
	union zt_sockaddr a;
	char path[256];
	uint64_t u;
	bool b;

	if (!n || depth > 100)
		abort();   /* the parser allows 64 levels */
	zt_node_path(n, path, sizeof path);
	if (strlen(path) >= sizeof path)
		abort();
	if (n->type == ZT_NODE_SCALAR) {
		if (!n->text)
			abort();
		(void)zt_parse_uint(n->text, &u);
		(void)zt_parse_bool(n->text, &b);
		(void)zt_parse_duration_ms(n->text, &u);
		(void)zt_parse_sockaddr(n->text, &a);
		return;
	}
	for (size_t i = 0; i < n->n; i++)
		walk(n->items[i], depth + 1);
}

/* How many addresses an accepted ADDRS key lists: zt_conf_addrs counts
 * them all, however few fit in its array (callers refuse too many). */
static size_t listed_addrs(const struct zt_node *map, const char *key)
{
	const struct zt_node *v = zt_node_get(map, key);

	if (!v)
		return 0;
	return v->type == ZT_NODE_SCALAR ? 1 : zt_node_len(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct zt_conf *c;
	union zt_sockaddr peers[4];

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	c = zt_conf_parse("(fuzz)", text, true);
	free(text);
	if (!c)
		return 0;
	if (c->errors && !c->first_error[0])
		abort();   /* a refusal always says why */
	if (!c->errors && c->root) {
		walk(c->root, 0);
		if (c->root->type == ZT_NODE_MAP && zt_conf_check_opts(c->root, fuzz_opts, "fuzz") == 0) {
			/* accepted: every option with a default now has a value of its type */
			if (!zt_conf_str(c->root, "name") || !zt_conf_uint(c->root, "port") ||
			    zt_conf_uint(c->root, "port") > 65535)
				abort();
			(void)zt_conf_bool(c->root, "enabled");
			(void)zt_conf_duration_ms(c->root, "interval");
			if (zt_conf_addrs(c->root, "peers", peers, 4) != listed_addrs(c->root, "peers"))
				abort();
		}
	}
	zt_conf_free(c);
	return 0;
}
