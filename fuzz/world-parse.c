/* libFuzzer: world parsing; what parses must serialize within bounds and
 * parse back to the same serialization. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zt/world.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct zt_world w, w2;
static uint8_t a[ZT_WORLD_BIN_MAX], b[ZT_WORLD_BIN_MAX], msg[ZT_WORLD_SIGNED_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int n, m;

	if (zt_world_from_bin(&w, data, size) < 0)
		return 0;
	n = zt_world_to_bin(&w, a, sizeof a);
	if (n < 0 || zt_world_signed_msg(&w, msg, sizeof msg) < 0)
		abort();
	if (zt_world_from_bin(&w2, a, (size_t)n) != n)
		abort();
	m = zt_world_to_bin(&w2, b, sizeof b);
	if (m != n || memcmp(a, b, (size_t)n) != 0)
		abort();
	return 0;
}
