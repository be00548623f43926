/* The platform's part of the utun module: a layer-3 tunnel device that
 * carries bare IPv4 and IPv6 packets.  utun-linux.c is Linux's
 * (/dev/net/tun, IFF_TUN); macOS utun (a PF_SYSTEM control socket with a
 * 4-byte address family before each packet) and the BSDs' tun(4) would
 * each be another file with these three functions. */
#ifndef ZT_UTUN_OS_H
#define ZT_UTUN_OS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <net/if.h>

#include <zt/module.h>

/* Opens the device named name (empty: the system chooses), non-blocking;
 * its name and index into dev and ifindex.  The fd, or -errno (logged). */
int utun_os_open(const struct zt_inst *zi, const char *name, char dev[IFNAMSIZ], int *ifindex);
/* One packet into buf: its length (a packet longer than cap reads as
 * cap + 1), -EAGAIN for nothing more now, or another -errno. */
ssize_t utun_os_read(int fd, uint8_t *buf, size_t cap);
/* One packet out: 0 or -errno. */
int utun_os_write(int fd, const uint8_t *ip, size_t len);

#endif
