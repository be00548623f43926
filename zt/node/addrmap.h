/* A map from 40-bit addresses (any 64-bit key but 0) to indexes into
 * an array its user keeps: open addressing with linear probing, at most
 * half full, deletion by backward shift (no tombstones), so a lookup
 * looks at a few slots whatever the number of entries.  Kernel-private.
 *
 * Lookups only read: the lanes (worker.h) may look up while holding the
 * core lock for reading; puts and deletes, which may move every slot
 * (growing), need it for writing, as any change of a network does. */
#ifndef ZT_ADDRMAP_H
#define ZT_ADDRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zt_addrmap_slot {
	uint64_t key;                  /* 0: free */
	uint32_t value;
};

struct zt_addrmap {
	struct zt_addrmap_slot *slots; /* NULL until the first put */
	size_t mask;                   /* slots - 1, the number a power of two */
	size_t n;
};

#define ZT_ADDRMAP_NONE UINT32_MAX

/* The value of key, or ZT_ADDRMAP_NONE. */
uint32_t zt_addrmap_get(const struct zt_addrmap *m, uint64_t key);
/* Set key's value (added or replaced): 0, -EINVAL for key 0, -ENOMEM
 * (the map is then unchanged). */
int zt_addrmap_put(struct zt_addrmap *m, uint64_t key, uint32_t value);
/* Remove key: true if it was there. */
bool zt_addrmap_del(struct zt_addrmap *m, uint64_t key);
void zt_addrmap_free(struct zt_addrmap *m);

#endif
