/* A test service with one option of every type, to exercise the config
 * checks and the instance lifecycle.  Not installed. */
#include <errno.h>
#include <stdlib.h>

#include <zt/module.h>

struct probe {
	struct zt_inst *zi;
	uint64_t *starts;
};

static int probe_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	struct probe *p;

	if (zt_conf_uint(conf, "count") % 2) {
		zt_node_error(zt_node_get(conf, "count"), "must be even");
		return -EINVAL;
	}
	p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->zi = zi;
	p->starts = zt_counter(zi, "starts");
	*state = p;
	return 0;
}

static int probe_start(void *state, struct ev_loop *loop)
{
	struct probe *p = state;

	(*p->starts)++;
	zt_log(p->zi, ZT_LOG_INFO, "probe started");
	return 0;
}

static void probe_stop(void *state)
{
	struct probe *p = state;

	zt_log(p->zi, ZT_LOG_INFO, "probe stopped");
}

static void probe_destroy(void *state)
{
	free(state);
}

static const struct zt_opt probe_opts[] = {
	ZT_OPT_STR("label", "none", "a label"),
	ZT_OPT_UINT("count", 2, 0, 100, "an even number up to 100"),
	ZT_OPT_BOOL("flag", 0, "a flag"),
	ZT_OPT_ADDR("addr", 0, NULL, "one address"),
	ZT_OPT_ADDRS("addrs", 0, "['198.18.0.1:9993', '[2001:db8::1]:9993']", "addresses"),
	ZT_OPT_DURATION("every", "10s", "a period"),
	ZT_OPT_ANY("extra", 0, "anything"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI, .name = "probe", .kind = ZT_SERVICE,
	.summary = "test service with every option type",
	.opts = probe_opts,
	.create = probe_create, .start = probe_start,
	.stop = probe_stop, .destroy = probe_destroy,
};
