/* A service with a queue hook: only transports and ifaces have queues,
 * so the loader must refuse it. */
#include <stdlib.h>

#include <zt/module.h>

static int svcqueue_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	abort();
}

static void svcqueue_destroy(void *state)
{
}

static int svcqueue_queue(void *state, struct zt_inst *zi, unsigned queue, void **out)
{
	abort();
}

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI, .name = "svcqueue", .kind = ZT_SERVICE,
	.create = svcqueue_create, .destroy = svcqueue_destroy,
	.queue = svcqueue_queue,
};
