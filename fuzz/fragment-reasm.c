/* libFuzzer: a sequence of datagrams through one reassembly table.
 * Input: records of [2] length (big-endian, taken modulo 1600) [1] time
 * step (ms/64) and that many bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <zt/fragment.h>
#include <zt/packet.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[ZT_PKT_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zt_reasm *t = zt_reasm_new(8);
	int64_t now = 0;

	if (!t)
		abort();
	while (size >= 3) {
		size_t n = ((size_t)data[0] << 8 | data[1]) % 1600;
		int rc;

		now += (int64_t)data[2] * 64;
		data += 3;
		size -= 3;
		if (n > size)
			n = size;
		rc = zt_reasm_input(t, data, n, now, out, sizeof out);
		if (rc > ZT_PKT_MAX)
			abort();
		data += n;
		size -= n;
	}
	if (zt_reasm_expire(t, now) > 8)
		abort();
	zt_reasm_free(t);
	return 0;
}
