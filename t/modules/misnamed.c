/* misnamed.so declares the module "other": the loader must refuse it. */
#include <stdlib.h>

#include <zt/module.h>

static int misnamed_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	abort();
}

static void misnamed_destroy(void *state)
{
}

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI, .name = "other", .kind = ZT_SERVICE,
	.create = misnamed_create, .destroy = misnamed_destroy,
};
