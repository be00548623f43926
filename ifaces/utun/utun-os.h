/* The platform's part of the utun module: a layer-3 tunnel device that
 * carries bare IPv4 and IPv6 packets.  utun-linux.c is Linux's
 * (/dev/net/tun, IFF_TUN); macOS utun (a PF_SYSTEM control socket with a
 * 4-byte address family before each packet) and the BSDs' tun(4) would
 * each be another file with these three functions, and no offloads. */
#ifndef ZT_UTUN_OS_H
#define ZT_UTUN_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <net/if.h>

#include <zt/module.h>

/* Opens the device named name (empty: the system chooses), non-blocking;
 * its name and index into dev and ifindex.  With *offload, asks for a
 * struct virtio_net_hdr before each packet and the offloads of
 * OFFLOAD_TUN_FLAGS (ifaces/lib/offload.h); if the system refuses them
 * (logged), the device is opened without and *offload set false.  The
 * fd, or -errno (logged). */
int utun_os_open(const struct zt_inst *zi, const char *name, bool *offload, char dev[IFNAMSIZ], int *ifindex);
/* One packet (after its header, with offloads) into the n buffers of
 * iov: its length, -EAGAIN for nothing more now, or another -errno. */
ssize_t utun_os_readv(int fd, const struct iovec *iov, int n);
/* One packet out, from the n buffers of iov: 0 or -errno. */
int utun_os_writev(int fd, const struct iovec *iov, int n);

#endif
