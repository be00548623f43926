/* Logging: one line per event, to stderr or syslog, filtered by level. */
#include "config.h"

#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "internal.h"

static enum zt_log_level log_threshold = ZT_LOG_INFO;
static bool log_syslog;

static const char *const level_names[] = { "error", "warning", "info", "debug" };
static const int level_syslog[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void zt_log_setup(enum zt_log_level level, bool use_syslog, const char *ident)
{
	log_threshold = level;
	if (log_syslog && !use_syslog)
		closelog();
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void zt_vlogf(enum zt_log_level level, const char *prefix, const char *fmt, va_list ap)
{
	char msg[1024];
	int n = 0;

	if (level > log_threshold)
		return;
	if (prefix)
		n = snprintf(msg, sizeof msg, "%s: ", prefix);
	vsnprintf(msg + n, sizeof msg - n, fmt, ap);
	if (log_syslog) {
		syslog(level_syslog[level], "%s", msg);
		return;
	}
	fprintf(stderr, "ztd: %s: %s\n", level_names[level], msg);
}

void zt_logf(enum zt_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	zt_vlogf(level, NULL, fmt, ap);
	va_end(ap);
}
