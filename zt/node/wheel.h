/* A timer wheel for expiry: entries due at a time, in slots of one
 * second, so that whoever expires things visits only the entries whose
 * time has come (peers, paths) instead of walking all of them.  Times
 * move later without the wheel knowing (a peer heard from again): the
 * owner checks what it finds due and sets a new time if it is not done.
 * Not thread-safe: the main loop's.  Kernel-private. */
#ifndef ZT_WHEEL_H
#define ZT_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZT_WHEEL_SLOTS 1024            /* seconds; later times wait for a turn */

struct zt_due {
	int64_t at;                    /* ms */
	struct zt_due *prev, *next;
	unsigned slot;                 /* where it is queued */
	bool queued;
};

struct zt_wheel {
	struct zt_due *slot[ZT_WHEEL_SLOTS];
	int64_t done;                  /* seconds up to this one are handled; 0: none yet */
	size_t n;                      /* entries queued */
};

/* Queue e at `at` (ms), or move it there. */
void zt_wheel_set(struct zt_wheel *w, struct zt_due *e, int64_t at);
/* ... only if that is earlier than where it is queued. */
void zt_wheel_set_earlier(struct zt_wheel *w, struct zt_due *e, int64_t at);
void zt_wheel_cancel(struct zt_wheel *w, struct zt_due *e);
/* Call fn for each entry due at now or before, taken off the wheel
 * first (fn may set it again, or free it).  Returns how many. */
size_t zt_wheel_expire(struct zt_wheel *w, int64_t now, void (*fn)(void *ctx, struct zt_due *e), void *ctx);

#define zt_due_owner(e, type, member) ((type *)(void *)((char *)(e) - offsetof(type, member)))

#endif
