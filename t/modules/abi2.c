/* A module built for another ABI: the loader must refuse it. */
#include <stdlib.h>

#include <zt/module.h>

static int abi2_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	abort();   /* never called: refused before any code runs */
}

static void abi2_destroy(void *state)
{
}

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI + 1, .name = "abi2", .kind = ZT_SERVICE,
	.create = abi2_create, .destroy = abi2_destroy,
};
