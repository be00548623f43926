/* libFuzzer: the network config cache's parser (zt/netcache.c) on any
 * file contents, against a fixed controller.  Whatever it accepts must be
 * a whole config of the network (reassembled, signed by the controller). */
#include "config.h"

#include <stdlib.h>
#include <zt/identity.h>

#include "netcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CONTROLLER "eb17d0df38:0:46863cc8e285473018f6ab7c2581eb702f7b2245c1802ec31262c198b08d1b7692ea253303c5481aaf868d23cb4dfe108774fd75f73ed5f7ed3e1ea08cd9c582"
#define NWID 0xeb17d0df38000001ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct zt_identity ctl;
	static struct zt_config_asm a;
	const uint8_t *dict = NULL;
	const char *why = NULL;
	size_t len = 0;

	if (!ctl.address && zt_identity_from_text(&ctl, CONTROLLER) < 0)
		abort();
	zt_config_asm_init(&a);
	if (zt_netcache_parse(data, size, NWID, &ctl, &a, &dict, &len, &why) == 0) {
		if (!dict && len)
			abort();
	} else if (!why) {
		abort();   /* a refusal always says why */
	}
	zt_config_asm_fini(&a);
	return 0;
}
