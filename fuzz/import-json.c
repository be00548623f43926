/* libFuzzer: zt-import's reading of a reference controller's network and
 * member files (modules/controller/import.c, over json.c): any bytes,
 * parsed as JSON, are read as a network and as a member; what is read
 * must be a well-formed object (strings present, IPs listed). */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "../modules/controller/controller.h"
#include "../modules/controller/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	struct zt_store_network n;
	struct zt_store_member m;
	const char *why = NULL;
	int rc;

	if (!json_is_object(o)) {
		json_decref(o);
		return 0;
	}
	ctl_network_defaults(&n, 0x26b7ab6cb8000007ULL, 1700000000000LL);
	rc = ctl_import_network(&n, o, &why);
	if (rc == 0)
		assert(n.name && n.pools && n.routes && n.rules && n.dns && n.auth_tokens);
	assert(rc != -EINVAL || why);
	zt_store_network_clear(&n);
	ctl_member_init(&m, 0x26b7ab6cb8000007ULL, 0xeb17d0df38ULL, 1700000000000LL);
	why = NULL;
	rc = ctl_import_member(&m, o, 1700000000000LL, &why);
	if (rc == 0)
		for (size_t i = 0; i < m.nips; i++)
			assert(m.ips[i] && *m.ips[i]);
	assert(rc != -EINVAL || why);
	zt_store_member_clear(&m);
	json_decref(o);
	return 0;
}
