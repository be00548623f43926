/* hello: a zt service module built outside the zt tree, against the
 * installed headers.  It logs a greeting when it starts and then again
 * every `every` (0: only once). */
#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include <zt/module.h>

struct hello {
	struct zt_inst *zi;
	char *greeting;
	double every;
	ev_timer timer;
	struct ev_loop *loop;
	uint64_t *greetings;
};

static void hello_greet(struct hello *h)
{
	(*h->greetings)++;
	zt_log(h->zi, ZT_LOG_INFO, "%s (greeting %llu)", h->greeting, (unsigned long long)*h->greetings);
}

static void hello_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	hello_greet(w->data);
}

static int hello_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	const char *greeting = zt_conf_str(conf, "greeting");
	struct hello *h;

	if (!greeting[0]) {
		zt_node_error(zt_node_get(conf, "greeting"), "must not be empty");
		return -EINVAL;
	}
	h = calloc(1, sizeof *h);
	if (!h || !(h->greeting = strdup(greeting))) {
		free(h);
		return -ENOMEM;
	}
	h->zi = zi;
	h->every = zt_conf_duration_ms(conf, "every") / 1000.0;
	h->greetings = zt_counter(zi, "greetings");
	*state = h;
	return 0;
}

static int hello_start(void *state, struct ev_loop *loop)
{
	struct hello *h = state;

	h->loop = loop;
	hello_greet(h);
	if (h->every > 0) {
		ev_timer_init(&h->timer, hello_tick, h->every, h->every);
		h->timer.data = h;
		ev_timer_start(loop, &h->timer);
	}
	return 0;
}

static void hello_stop(void *state)
{
	struct hello *h = state;

	if (h->loop)
		ev_timer_stop(h->loop, &h->timer);
	h->loop = NULL;
}

static void hello_destroy(void *state)
{
	struct hello *h = state;

	free(h->greeting);
	free(h);
}

static const struct zt_opt hello_opts[] = {
	ZT_OPT_STR("greeting", "hello from outside the tree", "what to log"),
	ZT_OPT_DURATION("every", "0", "how often to log again (0: once)"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI, .name = "hello", .kind = ZT_SERVICE,
	.summary = "an example service built outside the tree",
	.opts = hello_opts,
	.create = hello_create, .start = hello_start,
	.stop = hello_stop, .destroy = hello_destroy,
};
