/* Kernel-private declarations shared between libztk's files. */
#ifndef ZT_INTERNAL_H
#define ZT_INTERNAL_H

#include <zt/module.h>

/* Where log lines go: stderr (default) or syslog; and the threshold. */
void zt_log_setup(enum zt_log_level level, bool use_syslog, const char *ident);
void zt_logf(enum zt_log_level level, const char *fmt, ...) ZT_PRINTF(2, 3);
void zt_vlogf(enum zt_log_level level, const char *prefix, const char *fmt, va_list ap);

#endif
