/* libFuzzer: the pipeline layer of ztd.yaml (zt/daemon/pipeline.c) above
 * the YAML reader: node keys, orbit, modules.path, the sections of
 * instances, networks with their ports and chains, joined templates,
 * instance names.  No module is opened: the loader is given modules
 * linked in here (zt_module_use_linked), one per module of the tree with
 * its name and kind, whose create() only counts the instances made.
 *
 * A config is read as ztd reads it (quietly here: no output); whatever
 * it is, an accepted one has made each instance it lists once
 * (--check-config's print shows them, each name once), and freeing it,
 * or refusing it, destroys every instance it made, templates' checks
 * included. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "internal.h"
#include "pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long live_instances;

static int fake_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	(void)zi;
	if (!conf || conf->type != ZT_NODE_MAP)
		abort();   /* the pipeline hands modules their mapping only */
	/* memory of its own, so that an instance never destroyed is a leak */
	*state = malloc(1);
	if (!*state)
		return -1;
	live_instances++;
	return 0;
}

static void fake_destroy(void *state)
{
	free(state);
	live_instances--;
}

/* The keys the tree's modules take in conf/ (any value is theirs to
 * check, not the pipeline's); "name" as ports name themselves. */
static const struct zt_opt fake_opts[] = {
	ZT_OPT_STR("name", NULL, "a port's name"),
	ZT_OPT_ANY("listen", 0, NULL), ZT_OPT_ANY("secondary-port", 0, NULL), ZT_OPT_ANY("store", 0, NULL),
	ZT_OPT_ANY("path", 0, NULL), ZT_OPT_ANY("conninfo", 0, NULL), ZT_OPT_ANY("poll", 0, NULL),
	ZT_OPT_ANY("port", 0, NULL), ZT_OPT_ANY("push", 0, NULL), ZT_OPT_ANY("ttl", 0, NULL),
	ZT_OPT_ANY("exclude", 0, NULL), ZT_OPT_ANY("interval", 0, NULL), ZT_OPT_ANY("lease", 0, NULL),
	ZT_OPT_ANY("check", 0, NULL), ZT_OPT_ANY("after", 0, NULL), ZT_OPT_ANY("relays", 0, NULL),
	ZT_OPT_ANY("idle", 0, NULL), ZT_OPT_ANY("max-clients", 0, NULL), ZT_OPT_ANY("rate", 0, NULL),
	ZT_OPT_END
};

#define FAKE(n, k) { .abi = ZT_MODULE_ABI, .name = (n), .kind = (k), .opts = fake_opts, \
		     .create = fake_create, .destroy = fake_destroy }
static const struct zt_module fakes[] = {
	FAKE("udp", ZT_TRANSPORT), FAKE("tcp", ZT_TRANSPORT), FAKE("lan", ZT_TRANSPORT),
	FAKE("tap", ZT_IFACE), FAKE("pcap", ZT_IFACE), FAKE("utun", ZT_IFACE),
	FAKE("rules", ZT_POLICY),
	FAKE("natpmp", ZT_NAT), FAKE("upnp", ZT_NAT), FAKE("pcp", ZT_NAT),
	FAKE("sqlite", ZT_STORE), FAKE("postgres", ZT_STORE),
	FAKE("api", ZT_SERVICE), FAKE("controller", ZT_SERVICE), FAKE("dns", ZT_SERVICE),
	FAKE("tcp-relay", ZT_SERVICE),
};
static const struct zt_module *linked[sizeof fakes / sizeof fakes[0] + 1];

/* The print of an accepted config: each instance it lists, once. */
static void check_print(const struct zt_pipeline *p)
{
	char *text = NULL, *line, *save = NULL, *names[4096];
	size_t len = 0, n = 0;
	bool listing = false;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		return;
	zt_pipeline_print(p, out);
	fclose(out);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] != ' ') {
			listing = strcmp(line, "instances (in start order)") == 0;
			continue;
		}
		if (!listing)
			continue;
		line += strspn(line, " ");
		line[strcspn(line, " ")] = '\0';
		for (size_t i = 0; i < n; i++)
			if (strcmp(names[i], line) == 0)
				abort();   /* two instances of one name */
		if (n == sizeof names / sizeof names[0])
			break;
		names[n++] = line;
	}
	if ((long)n != live_instances)
		abort();   /* made and listed differ */
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct zt_pipeline *p;
	struct zt_conf *conf;

	if (!text)
		return 0;
	if (!linked[0]) {
		for (size_t i = 0; i < sizeof fakes / sizeof fakes[0]; i++)
			linked[i] = &fakes[i];
		zt_module_use_linked(linked);
		zt_log_setup(ZT_LOG_ERR, false, "fuzz");
	}
	memcpy(text, data, size);
	text[size] = '\0';
	/* a directory that does not exist: relative paths lead nowhere */
	conf = zt_conf_parse("/nonexistent/ztd.yaml", text, true);
	free(text);
	if (!conf)
		return 0;
	p = zt_pipeline_load_conf(conf, NULL);
	if (p)
		check_print(p);
	zt_pipeline_free(p);
	if (live_instances != 0)
		abort();   /* an instance made and never destroyed */
	return 0;
}
