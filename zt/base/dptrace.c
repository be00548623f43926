/* The data path's stage trace (<zt/dptrace.h>, --enable-dptrace). */
#include "config.h"

#ifdef ZT_DPTRACE
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <zt/dptrace.h>

#define DPTRACE_MAX 64

struct dptrace_stamp {
	const char *stage;
	int64_t ns;
	size_t bytes;
};

/* per thread: workers trace their own packets */
static _Thread_local struct dptrace_stamp stamps[DPTRACE_MAX];
static _Thread_local unsigned n_stamps;

static void dptrace_print(void)
{
	for (unsigned i = 0; i < n_stamps; i++)
		fprintf(stderr, "dptrace %s %lld %zu\n", stamps[i].stage, (long long)stamps[i].ns, stamps[i].bytes);
	fflush(stderr);
	n_stamps = 0;
}

void zt_dptrace(const char *stage, size_t bytes, int last)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	stamps[n_stamps++] = (struct dptrace_stamp){ stage, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, bytes };
	if (last || n_stamps == DPTRACE_MAX)
		dptrace_print();
}
#endif
