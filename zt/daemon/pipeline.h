/* The daemon's pipeline: the config file's instances and the chains
 * between them, checked as a whole before anything starts. */
#ifndef ZT_PIPELINE_H
#define ZT_PIPELINE_H

#include <stdio.h>

#include "conf.h"
#include "internal.h"

struct zt_pipeline;

/* Parse and check a config file (or text, named file in errors, when not
 * NULL): schema, modules, options, then each module's own create()
 * checks.  Prints every error as file:line:col and returns NULL if there
 * was any. */
struct zt_pipeline *zt_pipeline_load(const char *file, const char *text, struct ev_loop *loop);
/* The same from a parsed config (zt_conf_parse; a quiet one keeps its
 * first error in conf->first_error and prints nothing), which the
 * pipeline takes, also when it returns NULL. */
struct zt_pipeline *zt_pipeline_load_conf(struct zt_conf *conf, struct ev_loop *loop);
/* Before start: the home directory instead of node.home (ztd --home), and
 * the planet used when neither node.planet nor <home>/planet exists. */
int zt_pipeline_set_home(struct zt_pipeline *p, const char *home);
void zt_pipeline_set_builtin_planet(struct zt_pipeline *p, const uint8_t *planet, size_t len);
/* Start instances in order; on failure stop what started and return -errno. */
int zt_pipeline_start(struct zt_pipeline *p);
/* Stop in reverse order; safe twice. */
void zt_pipeline_stop(struct zt_pipeline *p);
void zt_pipeline_free(struct zt_pipeline *p);
/* Read the config again and apply the whole difference: instances of
 * every section added, removed, or changed (made again), networks
 * likewise; the rest runs on untouched.  A config with errors, or one
 * changing what cannot change live (node identity and data-path keys,
 * modules.path, transports under workers), is refused, logged, and the
 * running one kept.  0 or -errno. */
int zt_pipeline_reload(struct zt_pipeline *p, const char *file, const char *text);
/* The resolved pipeline, for --check-config. */
void zt_pipeline_print(const struct zt_pipeline *p, FILE *out);

/* Log every non-zero counter of the core and the instances. */
void zt_pipeline_log_counters(const struct zt_pipeline *p);

const char *zt_pipeline_home(const struct zt_pipeline *p);
enum zt_log_level zt_pipeline_log_level(const struct zt_pipeline *p);
bool zt_pipeline_syslog(const struct zt_pipeline *p);

#endif
