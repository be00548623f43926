/* Address to index maps (addrmap.h): a network's members today. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "addrmap.h"

#define ADDRMAP_MIN_SLOTS 16

/* Addresses are not random in their low bits (a test's, a vanity
 * generator's): mix all 64 bits down (the finalizer of MurmurHash3). */
static size_t addrmap_home(uint64_t key, size_t mask)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	key *= 0xc4ceb9fe1a85ec53ULL;
	key ^= key >> 33;
	return (size_t)key & mask;
}

uint32_t zt_addrmap_get(const struct zt_addrmap *m, uint64_t key)
{
	if (!m->slots || key == 0)
		return ZT_ADDRMAP_NONE;
	for (size_t i = addrmap_home(key, m->mask);; i = (i + 1) & m->mask) {
		if (m->slots[i].key == key)
			return m->slots[i].value;
		if (m->slots[i].key == 0)
			return ZT_ADDRMAP_NONE;
	}
}

static void addrmap_place(struct zt_addrmap_slot *slots, size_t mask, uint64_t key, uint32_t value)
{
	size_t i = addrmap_home(key, mask);

	while (slots[i].key != 0 && slots[i].key != key)
		i = (i + 1) & mask;
	slots[i].key = key;
	slots[i].value = value;
}

/* Twice the slots (or the first ones), every entry placed again. */
static int addrmap_grow(struct zt_addrmap *m)
{
	size_t count = m->slots ? 2 * (m->mask + 1) : ADDRMAP_MIN_SLOTS;
	struct zt_addrmap_slot *slots = calloc(count, sizeof *slots);

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; m->slots && i <= m->mask; i++)
		if (m->slots[i].key)
			addrmap_place(slots, count - 1, m->slots[i].key, m->slots[i].value);
	free(m->slots);
	m->slots = slots;
	m->mask = count - 1;
	return 0;
}

int zt_addrmap_put(struct zt_addrmap *m, uint64_t key, uint32_t value)
{
	if (key == 0)
		return -EINVAL;
	if (zt_addrmap_get(m, key) == ZT_ADDRMAP_NONE) {
		/* at most half full: probe runs stay short */
		if ((!m->slots || 2 * (m->n + 1) > m->mask + 1) && addrmap_grow(m) < 0)
			return -ENOMEM;
		m->n++;
	}
	addrmap_place(m->slots, m->mask, key, value);
	return 0;
}

/* Is slot `at` in [from, to), going round? */
static bool addrmap_between(size_t from, size_t to, size_t at, size_t mask)
{
	return ((at - from) & mask) < ((to - from) & mask);
}

bool zt_addrmap_del(struct zt_addrmap *m, uint64_t key)
{
	size_t hole, i;

	if (!m->slots || key == 0)
		return false;
	for (hole = addrmap_home(key, m->mask); m->slots[hole].key != key; hole = (hole + 1) & m->mask)
		if (m->slots[hole].key == 0)
			return false;
	/* backward shift: a later entry of the run moves into the hole
	 * when the hole lies between its home slot and where it is */
	for (i = (hole + 1) & m->mask; m->slots[i].key != 0; i = (i + 1) & m->mask) {
		size_t home = addrmap_home(m->slots[i].key, m->mask);

		if (addrmap_between(home, i, hole, m->mask)) {
			m->slots[hole] = m->slots[i];
			hole = i;
		}
	}
	m->slots[hole].key = 0;
	m->n--;
	return true;
}

void zt_addrmap_free(struct zt_addrmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->mask = 0;
	m->n = 0;
}
