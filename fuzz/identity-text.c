/* libFuzzer: identity text and binary parsers; whatever parses must
 * write back to the same identity. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <zt/identity.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void text_round_trip(const uint8_t *data, size_t size)
{
	char s[1024], out[ZT_ID_TEXT_MAX];
	struct zt_identity id, back;

	if (size >= sizeof s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (zt_identity_from_text(&id, s) != 0)
		return;
	zt_identity_to_text(&id, out, true);
	if (zt_identity_from_text(&back, out) != 0 || !zt_identity_equal(&id, &back) ||
	    back.has_private != id.has_private ||
	    (id.has_private && memcmp(id.priv, back.priv, ZT_PRIV_LEN) != 0))
		abort();
}

static void bin_round_trip(const uint8_t *data, size_t size)
{
	uint8_t out[ZT_ID_BIN_SECRET];
	struct zt_identity id;
	int n = zt_identity_from_bin(&id, data, size);

	if (n < 0)
		return;
	if ((size_t)n > size || zt_identity_to_bin(&id, out, true) != (size_t)n ||
	    memcmp(out, data, (size_t)n) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	text_round_trip(data, size);
	bin_round_trip(data, size);
	return 0;
}
