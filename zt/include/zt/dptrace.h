/* The data path's stage trace: when zt is configured with
 * --enable-dptrace, each stage a packet passes (tap-read; seal and
 * armored; sendmsg and sent, around the system call; recvmsg; dearmor and
 * dearmored; tap-write and tap-written, around the write into the port)
 * records CLOCK_MONOTONIC in a buffer of the thread's, printed to stderr
 * as
 *     dptrace <stage> <ns> <bytes>
 * when a stage that ends a chain (sent, tap-written) is recorded, so
 * that printing never falls between two stages of one packet.  Meant for single packets (one ping, bench/dptrace), not for
 * bulk traffic.  Without the option the macros compile to nothing. */
#ifndef ZT_DPTRACE_H
#define ZT_DPTRACE_H

#include <stddef.h>

#ifdef ZT_DPTRACE
void zt_dptrace(const char *stage, size_t bytes, int last);
#define ZT_TRACE(stage, bytes) zt_dptrace(stage, bytes, 0)
#define ZT_TRACE_END(stage, bytes) zt_dptrace(stage, bytes, 1)
#else
#define ZT_TRACE(stage, bytes) ((void)0)
#define ZT_TRACE_END(stage, bytes) ((void)0)
#endif

#endif
