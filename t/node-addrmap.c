/* The address map under a network's members (zt/node/addrmap.c): what
 * is put is found, what is deleted is gone and leaves the rest findable
 * (deletion moves entries back along their probe runs), across many
 * growths and hundreds of thousands of entries, against a plain array
 * as the reference. */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "addrmap.h"
#include "tap.h"

#define MANY 300000
#define SMALL_KEYS 4096
#define RANDOM_OPS 2000000

/* splitmix64: reproducible, and every bit of it varies */
static uint64_t next_random(void)
{
	static uint64_t state = 0x243f6a8885a308d3ULL;
	uint64_t z = (state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 40-bit addresses spread over the space, never 0 */
static uint64_t address_of(unsigned i)
{
	return ((uint64_t)i * 0x9e3779b97fULL + 1) & 0xffffffffffULL;
}

static void empty_map(void)
{
	struct zt_addrmap m = { 0 };

	ok(zt_addrmap_get(&m, 0x1122334455) == ZT_ADDRMAP_NONE, "an empty map finds nothing");
	ok(!zt_addrmap_del(&m, 0x1122334455), "nor deletes anything");
	is_int(zt_addrmap_put(&m, 0, 1), -EINVAL, "key 0 is refused");
	ok(m.n == 0 && zt_addrmap_get(&m, 0) == ZT_ADDRMAP_NONE, "and not stored");
	zt_addrmap_free(&m);
}

/* n entries whose keys are key(i), each mapped to i: all found? */
static unsigned count_found(const struct zt_addrmap *m, unsigned n, uint64_t (*key)(unsigned), unsigned step,
			    unsigned from)
{
	unsigned found = 0;

	for (unsigned i = from; i < n; i += step)
		found += zt_addrmap_get(m, key(i)) == i;
	return found;
}

static uint64_t sequential(unsigned i)
{
	return i + 1;
}

/* keys that differ only in their high bits: all one value in the low ones */
static uint64_t high_bits(unsigned i)
{
	return ((uint64_t)(i + 1) << 20) | 0x12345;
}

static void many(const char *what, uint64_t (*key)(unsigned))
{
	struct zt_addrmap m = { 0 };
	unsigned failed = 0, absent = 0;
	char name[128];

	for (unsigned i = 0; i < MANY; i++)
		failed += zt_addrmap_put(&m, key(i), i) != 0;
	snprintf(name, sizeof name, "%s: %u entries put", what, MANY);
	ok(failed == 0 && m.n == MANY, name);
	snprintf(name, sizeof name, "%s: every one found with its value", what);
	is_int(count_found(&m, MANY, key, 1, 0), MANY, name);
	snprintf(name, sizeof name, "%s: at most half of the slots used", what);
	ok(2 * m.n <= m.mask + 1, name);
	for (unsigned i = 0; i < MANY; i += 2)
		failed += !zt_addrmap_del(&m, key(i));
	for (unsigned i = 0; i < MANY; i += 2)
		absent += zt_addrmap_get(&m, key(i)) == ZT_ADDRMAP_NONE;
	snprintf(name, sizeof name, "%s: every other one deleted, and gone", what);
	ok(failed == 0 && absent == MANY / 2 && m.n == MANY / 2, name);
	snprintf(name, sizeof name, "%s: the others still found", what);
	is_int(count_found(&m, MANY, key, 2, 1), MANY / 2, name);
	for (unsigned i = 1; i < MANY; i += 2)
		failed += zt_addrmap_put(&m, key(i), i + 7) != 0;
	snprintf(name, sizeof name, "%s: a put replaces a value, adds no entry", what);
	ok(failed == 0 && m.n == MANY / 2 && zt_addrmap_get(&m, key(1)) == 8, name);
	for (unsigned i = 1; i < MANY; i += 2)
		failed += !zt_addrmap_del(&m, key(i));
	snprintf(name, sizeof name, "%s: all deleted: empty", what);
	ok(failed == 0 && m.n == 0 && zt_addrmap_get(&m, key(1)) == ZT_ADDRMAP_NONE, name);
	zt_addrmap_free(&m);
}

/* Random puts and deletes over a few thousand keys, so that runs form,
 * wrap around the end of the slots and are cut by deletions; the map
 * must agree with an array after every step's lookup. */
static void against_reference(void)
{
	static uint32_t ref[SMALL_KEYS];
	struct zt_addrmap m = { 0 };
	unsigned disagreed = 0, entries = 0;

	for (unsigned k = 0; k < SMALL_KEYS; k++)
		ref[k] = ZT_ADDRMAP_NONE;
	for (unsigned op = 0; op < RANDOM_OPS; op++) {
		uint64_t r = next_random();
		unsigned k = r % SMALL_KEYS;
		uint64_t key = address_of(k);

		if ((r >> 32) % 3 == 0) {
			bool was = ref[k] != ZT_ADDRMAP_NONE;

			disagreed += zt_addrmap_del(&m, key) != was;
			entries -= was;
			ref[k] = ZT_ADDRMAP_NONE;
		} else {
			entries += ref[k] == ZT_ADDRMAP_NONE;
			ref[k] = (uint32_t)(r >> 40);
			disagreed += zt_addrmap_put(&m, key, ref[k]) != 0;
		}
		k = (r >> 16) % SMALL_KEYS;
		disagreed += zt_addrmap_get(&m, address_of(k)) != ref[k];
	}
	for (unsigned k = 0; k < SMALL_KEYS; k++)
		disagreed += zt_addrmap_get(&m, address_of(k)) != ref[k];
	is_int(disagreed, 0, "2,000,000 random puts, deletes and lookups agree with an array");
	is_int(m.n, entries, "and the map counts the same entries");
	zt_addrmap_free(&m);
	ok(m.slots == NULL && m.n == 0, "freed, the map is empty again");
}

int main(void)
{
	plan(4 + 3 * 7 + 3);
	empty_map();
	many("spread addresses", address_of);
	many("sequential keys", sequential);
	many("keys alike in their low 20 bits", high_bits);
	against_reference();
	return tap_done();
}
