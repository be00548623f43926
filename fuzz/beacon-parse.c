/* libFuzzer: LAN beacons (zt-lan(7)); what parses has its identity's
 * length and a signature inside the datagram, and verifying never reads
 * past it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zt/beacon.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zt_beacon b;
	const char *why = NULL;
	uint8_t *copy = malloc(size ? size : 1);   /* exact size: ASan sees overreads */

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (zt_beacon_decode(&b, copy, size, &why) == 0) {
		if (b.signed_len + ZT_SIG_LEN != size || b.sig != copy + b.signed_len)
			abort();
		(void)zt_beacon_verify(&b, copy);
	} else if (!why) {
		abort();
	}
	free(copy);
	return 0;
}
