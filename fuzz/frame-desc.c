/* libFuzzer: the frame descriptions of the api's rule dry runs
 * (modules/api/framedesc.c).  The input, cut at its first NUL, is a
 * description: one refused says why; one parsed builds a frame within
 * FDESC_FRAME_MAX whose Ethernet header holds the MACs given and whose
 * ethertype is that of its IP addresses, if it has any. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../modules/api/framedesc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t smac[6] = { 0x02, 0x11, 0x11, 0x11, 0x11, 0x11 };
	static const uint8_t dmac[6] = { 0x02, 0x22, 0x22, 0x22, 0x22, 0x22 };
	char *text = malloc(size + 1), why[256];
	uint8_t *frame = malloc(FDESC_FRAME_MAX);
	struct fdesc d;
	size_t len;

	if (!text || !frame) {
		free(text);
		free(frame);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = 0;
	why[0] = 0;
	if (!fdesc_parse(text, &d, why, sizeof why)) {
		assert(why[0]);
	} else {
		len = fdesc_build(&d, smac, dmac, frame);
		assert(len >= 14 && len <= FDESC_FRAME_MAX);
		assert(!memcmp(frame, dmac, 6) && !memcmp(frame + 6, smac, 6));
		if (d.family == 4)
			assert(frame[12] == 0x08 && frame[13] == 0x00 && len >= 34);
		if (d.family == 6)
			assert(frame[12] == 0x86 && frame[13] == 0xdd && len >= 54);
		if (d.size >= 0)
			assert(len == 14 + (size_t)d.size);
	}
	free(text);
	free(frame);
	return 0;
}
