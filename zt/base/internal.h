/* The base layer's private declarations: logging, the module registry and
 * instances.  ZeroTier-agnostic; included by the layers above, never the
 * other way round (t/layers.sh). */
#ifndef ZT_INTERNAL_H
#define ZT_INTERNAL_H

#include <zt/module.h>

/* Where log lines go: stderr (default) or syslog; and the threshold. */
void zt_log_setup(enum zt_log_level level, bool use_syslog, const char *ident);
void zt_logf(enum zt_log_level level, const char *fmt, ...) ZT_PRINTF(2, 3);
void zt_vlogf(enum zt_log_level level, const char *prefix, const char *fmt, va_list ap) ZT_PRINTF(3, 0);

#endif

#include <zt/kernel.h>

/* ---- the module registry (process-wide, like dlopen itself) ---- */

/* Directories searched before $ZT_MODULE_PATH and the installed moduledir. */
int zt_module_path_set(const char *const *dirs, size_t n);
/* Find, dlopen and check a module by name; NULL with a one-line reason. */
const struct zt_module *zt_module_load(const char *name, char *err, size_t errlen);
/* A program whose modules are linked into it (fuzz/conf-pipeline) names
 * them here, a NULL-terminated list: the loader then finds modules among
 * them only, by name, and opens no file.  NULL: from files again. */
void zt_module_use_linked(const struct zt_module *const *mods);
/* The file a loaded module came from. */
const char *zt_module_file(const struct zt_module *m);
void zt_module_unload_all(void);
const char *zt_kind_name(enum zt_kind kind);

/* ---- instances ---- */

struct zt_node;

/* Make an instance of mod from its checked config node.  Reports errors at
 * the node; returns NULL on failure. */
struct zt_inst *zt_inst_create(struct zt_kernel *k, const struct zt_module *mod,
			       const char *name, const struct zt_node *conf);
void zt_inst_destroy(struct zt_inst *zi);
/* Queue number queue (1, 2, ...) of zi for a data-path worker, named
 * "<name>/q<queue>", through the module's queue(); in the kernel's list
 * after zi, so stopped and destroyed before it.  Call it before zi
 * starts, and start the queue with zt_inst_start_on(q, worker_loop)
 * after zi started.  NULL (logged) if the module has no queues or
 * queue() failed. */
struct zt_inst *zt_inst_queue(struct zt_inst *zi, unsigned queue);
/* zt_inst_start on another loop than the kernel's (a worker's). */
int zt_inst_start_on(struct zt_inst *zi, struct ev_loop *loop);
/* Whom an instance serves (the node, for ztd's instances): opaque here,
 * set and read by the layer above. */
void zt_inst_set_owner(struct zt_inst *zi, void *owner);
void *zt_inst_owner(const struct zt_inst *zi);
const char *zt_inst_name(const struct zt_inst *zi);
/* The kernel an instance belongs to, and an instance by name (NULL). */
struct zt_kernel *zt_inst_kernel(const struct zt_inst *zi);
struct zt_inst *zt_kernel_find(const struct zt_kernel *k, const char *name);
/* Visit every instance of a kernel. */
void zt_kernel_each_instance(const struct zt_kernel *k, void (*fn)(void *ctx, struct zt_inst *zi), void *ctx);
/* Visit each counter of an instance. */
void zt_inst_counters(const struct zt_inst *zi,
		      void (*fn)(void *ctx, const char *name, uint64_t value), void *ctx);
