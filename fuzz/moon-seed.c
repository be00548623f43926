/* libFuzzer: moons.d/<id>.seed (zt_moon_seed_name, zt_moon_seed_text, read
 * by the node at start, zt/node/home.c).  An input is a file name and the
 * file's text, split at the first NUL (no NUL: all text, under a valid
 * name).  A name taken is 16 hex digits and .seed that print back the
 * same; a text taken is 10 hex digits (a newline after them) that print
 * back the same, a root's address that is not reserved. */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zt/world.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *name)
{
	char again[32];
	uint64_t id = 0;

	if (zt_moon_seed_name(name, &id) < 0)
		return;
	snprintf(again, sizeof again, "%016" PRIx64 ".seed", id);
	if (strcasecmp(again, name) != 0)
		abort();
}

static void check_text(const uint8_t *data, size_t size)
{
	/* a buffer of exactly the file's size: a read past it is caught */
	char *text = malloc(size ? size : 1), again[16];
	uint64_t seed = 0;

	if (!text)
		return;
	memcpy(text, data, size);
	if (zt_moon_seed_text(text, size, &seed) == 0) {
		snprintf(again, sizeof again, "%010" PRIx64, seed);
		if ((size != 10 && !(size == 11 && text[10] == '\n')) || seed >> 40 ||
		    zt_address_reserved(seed) || strncasecmp(again, text, 10) != 0)
			abort();
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	char *name;

	if (!nul) {
		check_name("eb17d0df38000001.seed");
		check_text(data, size);
		return 0;
	}
	name = strndup((const char *)data, (size_t)(nul - data));
	if (!name)
		return 0;
	check_name(name);
	free(name);
	check_text(nul + 1, size - (size_t)(nul - data) - 1);
	return 0;
}
