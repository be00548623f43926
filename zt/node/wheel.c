/* The expiry wheel (wheel.h). */
#include "config.h"

#include "wheel.h"

static unsigned slot_of(int64_t sec)
{
	return (unsigned)((uint64_t)(sec < 0 ? 0 : sec) % ZT_WHEEL_SLOTS);
}

void zt_wheel_cancel(struct zt_wheel *w, struct zt_due *e)
{
	if (!e->queued)
		return;
	if (e->prev)
		e->prev->next = e->next;
	else
		w->slot[e->slot] = e->next;
	if (e->next)
		e->next->prev = e->prev;
	e->prev = e->next = NULL;
	e->queued = false;
	w->n--;
}

void zt_wheel_set(struct zt_wheel *w, struct zt_due *e, int64_t at)
{
	struct zt_due **s;

	zt_wheel_cancel(w, e);
	e->at = at;
	/* a time gone by: the slot looked at next */
	e->slot = slot_of(at / 1000 > w->done ? at / 1000 : w->done);
	s = &w->slot[e->slot];
	e->prev = NULL;
	e->next = *s;
	if (*s)
		(*s)->prev = e;
	*s = e;
	e->queued = true;
	w->n++;
}

void zt_wheel_set_earlier(struct zt_wheel *w, struct zt_due *e, int64_t at)
{
	if (!e->queued || at < e->at)
		zt_wheel_set(w, e, at);
}

/* The entries of one slot due by now, taken off into a list of their own
 * first: fn may queue an entry again, in this very slot. */
static size_t slot_expire(struct zt_wheel *w, struct zt_due **s, int64_t now,
			  void (*fn)(void *ctx, struct zt_due *e), void *ctx)
{
	struct zt_due *due = NULL, *e, *next;
	size_t n = 0;

	for (e = *s; e; e = next) {
		next = e->next;
		if (e->at > now)
			continue;      /* a later turn of the wheel */
		zt_wheel_cancel(w, e);
		e->next = due;
		due = e;
	}
	for (e = due; e; e = next) {
		next = e->next;
		e->next = NULL;
		fn(ctx, e);
		n++;
	}
	return n;
}

size_t zt_wheel_expire(struct zt_wheel *w, int64_t now, void (*fn)(void *ctx, struct zt_due *e), void *ctx)
{
	int64_t sec = now / 1000, from;
	size_t n = 0;

	/* from the second last handled (the rest of it may have come due
	 * since), or every slot once: the first call, or after a long pause */
	from = w->done && sec - w->done < ZT_WHEEL_SLOTS ? w->done : sec - ZT_WHEEL_SLOTS + 1;
	for (int64_t s = from; s <= sec; s++)
		n += slot_expire(w, &w->slot[slot_of(s)], now, fn, ctx);
	w->done = sec;
	return n;
}
