/* A store whose operations table is empty: the loader must refuse
 * it before calling into it. */
#include <stdlib.h>

#include <zt/module.h>
#include <zt/store.h>

static int storeholes_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	abort();
}

static void storeholes_destroy(void *state)
{
}

static const struct zt_store_ops storeholes_ops = { .open = NULL };   /* and nothing else */

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI, .name = "storeholes", .kind = ZT_STORE,
	.create = storeholes_create, .destroy = storeholes_destroy,
	.ops.store = &storeholes_ops,
};
