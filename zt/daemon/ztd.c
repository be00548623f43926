/* ztd: the zt daemon.  Loads a pipeline config (or, with none, the
 * built-in default pipeline), starts its modules on one event loop and
 * runs until SIGINT or SIGTERM. */
#include "config.h"

#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "builtin.h"
#include "pipeline.h"

/* The name the built-in default pipeline has in messages. */
#define DEFAULT_PIPELINE "ztd-default.yaml (built in)"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ztd [options] [-c FILE]\n"
		"       ztd --check-config [FILE]\n"
		"\n"
		"Run a zt node (a leaf, root or controller) as its pipeline config says.\n"
		"\n"
		"  -c, --config FILE     the pipeline config (default %s;\n"
		"                        without it, the built-in default pipeline)\n"
		"  -H, --home DIR        the node's home directory, instead of node.home\n"
		"                        (default %s)\n"
		"  -t, --check-config    check the config, print the resolved pipeline, exit\n"
		"  -l, --log-level LEVEL error, warning, info or debug (overrides node.log-level)\n"
		"  -s, --syslog          log to syslog instead of stderr\n"
		"  -h, --help            show this help\n"
		"  -V, --version         show the version\n"
		"\n"
		"Modules are searched in the config's modules.path, then $ZT_MODULE_PATH,\n"
		"then %s.  See ztd(8) and ztd.yaml(5).\n",
		ZT_DEFAULT_CONFIG, ZT_DEFAULT_HOME, MODULEDIR);
}

/* Tell systemd (Type=notify) how ztd is; nothing without it. */
static void notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#endif
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	zt_logf(ZT_LOG_INFO, "%s: stopping", strsignal(w->signum));
	ev_break(loop, EVBREAK_ALL);
}

/* The config: -c's file, else the default file if it exists, else the
 * built-in default pipeline (text). */
struct source {
	const char *given, *file, *text;
};

static void source_pick(struct source *src)
{
	src->file = src->given;
	src->text = NULL;
	if (src->given)
		return;
	src->file = ZT_DEFAULT_CONFIG;
	if (access(ZT_DEFAULT_CONFIG, F_OK) < 0 && errno == ENOENT) {
		zt_logf(ZT_LOG_INFO, "no %s: running the default pipeline (see ztd(8))", ZT_DEFAULT_CONFIG);
		src->file = DEFAULT_PIPELINE;
		src->text = zt_default_config;
	}
}

struct hup {
	struct zt_pipeline *p;
	struct source *src;
	/* the command line's log settings, which win over node: */
	bool level_given, use_syslog;
	enum zt_log_level level;
};

static void on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct hup *h = w->data;

	zt_logf(ZT_LOG_INFO, "SIGHUP: reloading");
	notify("RELOADING=1");
	source_pick(h->src);
	/* node.log-level and node.syslog apply at once */
	if (zt_pipeline_reload(h->p, h->src->file, h->src->text) == 0)
		zt_log_setup(h->level_given ? h->level : zt_pipeline_log_level(h->p),
			     h->use_syslog || zt_pipeline_syslog(h->p), "ztd");
	notify("READY=1");
}

static void on_usr1(struct ev_loop *loop, ev_signal *w, int revents)
{
	zt_pipeline_log_counters(w->data);
}

static int parse_level(const char *s, enum zt_log_level *out)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

/* Once stopping, a second SIGINT or SIGTERM must not cut the stop short
 * (timeout(1) signals the child, then its whole process group): they stay
 * pending until exit. */
static void block_stop_signals(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
}

static int run(struct zt_pipeline *p, struct hup *hup, struct ev_loop *loop)
{
	ev_signal sigint, sigterm, sighup, sigusr1;

	signal(SIGPIPE, SIG_IGN);
	ev_signal_init(&sigint, on_signal, SIGINT);
	ev_signal_init(&sigterm, on_signal, SIGTERM);
	ev_signal_init(&sighup, on_hup, SIGHUP);
	sighup.data = hup;
	ev_signal_start(loop, &sigint);
	ev_signal_start(loop, &sigterm);
	ev_signal_start(loop, &sighup);
	ev_signal_init(&sigusr1, on_usr1, SIGUSR1);
	sigusr1.data = p;
	ev_signal_start(loop, &sigusr1);
	if (zt_pipeline_start(p) < 0)
		return 1;
	zt_logf(ZT_LOG_INFO, "started (zt %s)", PACKAGE_VERSION);
	/* the instances are listening: the API answers once the loop runs */
	notify("READY=1");
	ev_run(loop, 0);
	block_stop_signals();
	notify("STOPPING=1");
	zt_pipeline_log_counters(p);
	zt_pipeline_stop(p);
	ev_signal_stop(loop, &sigusr1);
	ev_signal_stop(loop, &sigint);
	ev_signal_stop(loop, &sigterm);
	ev_signal_stop(loop, &sighup);
	zt_logf(ZT_LOG_INFO, "stopped");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "home", required_argument, NULL, 'H' },
		{ "check-config", no_argument, NULL, 't' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "syslog", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL;
	struct source src = { NULL, NULL, NULL };
	bool check = false, use_syslog = false, level_given = false;
	enum zt_log_level level = ZT_LOG_INFO;
	struct zt_pipeline *p;
	struct ev_loop *loop;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:H:tl:shV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			src.given = optarg;
			break;
		case 'H':
			home = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'l':
			if (parse_level(optarg, &level) < 0) {
				fprintf(stderr, "ztd: --log-level: '%s' is not error, warning, info or debug\n", optarg);
				return 2;
			}
			level_given = true;
			break;
		case 's':
			use_syslog = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ztd (zt) %s, module ABI %d\n", PACKAGE_VERSION, ZT_MODULE_ABI);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc && check)
		src.given = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "ztd: unexpected argument '%s' (see ztd --help)\n", argv[optind]);
		return 2;
	}
	zt_log_setup(level, false, "ztd");
	source_pick(&src);
	loop = ev_default_loop(EVFLAG_AUTO);
	if (!loop) {
		fprintf(stderr, "ztd: cannot initialise the event loop\n");
		return 1;
	}
	p = zt_pipeline_load(src.file, src.text, loop);
	if (!p || (home && zt_pipeline_set_home(p, home) < 0)) {
		zt_pipeline_free(p);
		zt_module_unload_all();
		return 1;
	}
	zt_pipeline_set_builtin_planet(p, zt_builtin_planet, zt_builtin_planet_len);
	if (check) {
		zt_pipeline_print(p, stdout);
		printf("%s: ok\n", src.file);
		rc = 0;
	} else {
		struct hup hup = { p, &src, level_given, use_syslog, level };

		zt_log_setup(level_given ? level : zt_pipeline_log_level(p),
			     use_syslog || zt_pipeline_syslog(p), "ztd");
		rc = run(p, &hup, loop);
	}
	zt_pipeline_free(p);
	zt_module_unload_all();
	ev_loop_destroy(loop);
	return rc;
}
