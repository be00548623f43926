/* A shared object without a zt_module descriptor. */
#include <zt/module.h>

ZT_EXPORT int zt_modul(void);

int zt_modul(void)
{
	return 0;
}
