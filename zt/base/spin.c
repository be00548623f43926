/* Adaptive busy-poll: see spin.h. */
#include "config.h"

#include <sched.h>

#include "spin.h"

/* Runs when a poll found nothing (ev_now was just updated after it):
 * stop once the window has passed, so the next poll sleeps.  Inside it,
 * yield, so that on a busy machine the spinning loop gives its CPU to the
 * peer daemon or the application it waits for. */
static void spin_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct zt_spin *s = w->data;

	if (ev_now(loop) - s->last >= s->window)
		ev_idle_stop(loop, w);
	else
		sched_yield();
}

void zt_spin_init(struct zt_spin *s, struct ev_loop *loop, unsigned usec)
{
	s->loop = loop;
	s->window = usec / 1e6;
	s->last = 0;
	s->running = false;
	ev_idle_init(&s->idle, spin_idle);
	s->idle.data = s;
}

void zt_spin_start(struct zt_spin *s)
{
	s->running = s->window > 0;
}

void zt_spin_stop(struct zt_spin *s)
{
	s->running = false;
	if (s->loop)
		ev_idle_stop(s->loop, &s->idle);
}
