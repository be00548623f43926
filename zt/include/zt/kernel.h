/* Embedding the kernel: instances outside a full pipeline (tests, tools). */
#ifndef ZT_KERNEL_H
#define ZT_KERNEL_H

#include <zt/module.h>

struct zt_kernel;

struct zt_kernel *zt_kernel_new(struct ev_loop *loop);
void zt_kernel_free(struct zt_kernel *k);   /* stops and destroys its instances */
struct ev_loop *zt_kernel_loop(const struct zt_kernel *k);

/* Create an instance of the given kind from one YAML mapping, e.g.
 * "{ use: udp, listen: ['127.0.0.1:0'] }".  The module is found on
 * ZT_MODULE_PATH, then the installed moduledir.  On failure returns NULL
 * and writes the first error, "file:line:col: message", to err. */
struct zt_inst *zt_kernel_instance(struct zt_kernel *k, enum zt_kind kind,
				   const char *yaml, char *err, size_t errlen);
int zt_inst_start(struct zt_inst *zi);
void zt_inst_stop(struct zt_inst *zi);
void *zt_inst_state(const struct zt_inst *zi);
const struct zt_module *zt_inst_module(const struct zt_inst *zi);
/* The value of a named counter, 0 if it was never registered. */
uint64_t zt_inst_counter(const struct zt_inst *zi, const char *name);

/* Where an instance's received datagrams or frames go.  The pipeline sets
 * these to the kernel's switch; tests set their own. */
typedef void zt_dgram_sink(void *ctx, struct zt_inst *from, struct zt_dgram *d, unsigned n);
typedef void zt_frame_sink(void *ctx, struct zt_inst *from, struct zt_frame *f, unsigned n);
typedef void zt_mcast_sink(void *ctx, struct zt_inst *from, const uint8_t *macs, unsigned n);
void zt_inst_set_dgram_sink(struct zt_inst *zi, zt_dgram_sink *fn, void *ctx);
void zt_inst_set_frame_sink(struct zt_inst *zi, zt_frame_sink *fn, void *ctx);
void zt_inst_set_mcast_sink(struct zt_inst *zi, zt_mcast_sink *fn, void *ctx);

#endif
