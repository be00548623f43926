/* zt_spin on a real loop: after a kick the loop polls without sleeping
 * (many iterations) for the window, then stops and sleeps again (few);
 * off (0) and not started it never spins. */
#include "config.h"

#include <ev.h>

#include "spin.h"
#include "tap.h"

/* long, so that a test machine busy with other work cannot make it flaky */
#define WINDOW_US 200000

static unsigned iterations;

static void count(struct ev_loop *loop, ev_prepare *w, int revents)
{
	iterations++;
}

static void nothing(struct ev_loop *loop, ev_timer *w, int revents)
{
}

/* Run the loop for sec seconds; returns its iterations meanwhile. */
static unsigned run_for(struct ev_loop *loop, double sec)
{
	ev_timer t;

	iterations = 0;
	ev_timer_init(&t, nothing, sec, 0);
	ev_timer_start(loop, &t);
	while (ev_is_active(&t))
		ev_run(loop, EVRUN_ONCE);
	return iterations;
}

int main(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct zt_spin s;
	ev_prepare p;
	unsigned spun, slept;

	plan(8);
	ev_prepare_init(&p, count);
	ev_prepare_start(loop, &p);

	zt_spin_init(&s, loop, 0);
	zt_spin_start(&s);
	zt_spin_kick(&s);
	ok(!ev_is_active(&s.idle), "window 0: a kick does not spin");
	zt_spin_stop(&s);

	zt_spin_init(&s, loop, WINDOW_US);
	zt_spin_kick(&s);
	ok(!ev_is_active(&s.idle), "not started: a kick does not spin");
	zt_spin_start(&s);
	ev_now_update(loop);
	zt_spin_kick(&s);
	ok(ev_is_active(&s.idle), "started: a kick spins");
	spun = run_for(loop, WINDOW_US / 5e6);
	ok(ev_is_active(&s.idle), "still spinning within the window");
	diag("%u loop iterations in the first fifth of the window", spun);
	/* a sleeping loop wakes once or twice in that time; a spinning one,
	 * yielding the CPU each turn, still turns often on a loaded machine */
	ok(spun > 10, "within the window the loop does not sleep");
	run_for(loop, WINDOW_US * 1.2e-6);
	ok(!ev_is_active(&s.idle), "stopped once the window has passed");
	slept = run_for(loop, WINDOW_US / 1e6);
	diag("%u loop iterations in a window's time after it", slept);
	ok(slept <= 3, "after the window the loop sleeps");
	zt_spin_stop(&s);
	zt_spin_stop(&s);
	zt_spin_kick(&s);
	ok(!ev_is_active(&s.idle), "stopped twice: a kick does not spin");

	ev_prepare_stop(loop, &p);
	ev_loop_destroy(loop);
	return tap_done();
}
