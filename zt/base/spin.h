/* Adaptive busy-poll of one event loop: for a short window after
 * data-path activity the loop polls without sleeping, so that the reply
 * to what just went through finds the daemon awake instead of paying a
 * wakeup from idle (the bulk of the overlay's round-trip time).  An idle
 * daemon sleeps as before.  One per loop; kernel-private. */
#ifndef ZT_SPIN_H
#define ZT_SPIN_H

#include <stdbool.h>
#include <ev.h>

#define ZT_SPIN_MAX_USEC 10000
#define ZT_SPIN_DEFAULT_USEC 100    /* node busy-poll when not set */

struct zt_spin {
	struct ev_loop *loop;
	ev_idle idle;           /* active: libev polls with timeout 0 */
	ev_tstamp window;       /* seconds; 0: off */
	ev_tstamp last;         /* ev_now of the last activity */
	bool running;           /* started with a window */
};

/* usec: how long to keep polling after activity; 0 turns it off. */
void zt_spin_init(struct zt_spin *s, struct ev_loop *loop, unsigned usec);
void zt_spin_start(struct zt_spin *s);
/* Safe twice, and without start. */
void zt_spin_stop(struct zt_spin *s);

/* Data-path activity: keep polling for the window from now.  Per batch,
 * so cheap: ev_now reads the loop's time, no clock call. */
static inline void zt_spin_kick(struct zt_spin *s)
{
	s->last = ev_now(s->loop);
	if (s->running && !ev_is_active(&s->idle))
		ev_idle_start(s->loop, &s->idle);
}

#endif
