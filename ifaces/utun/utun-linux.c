/* utun on Linux: a tun device (/dev/net/tun, IFF_TUN without packet
 * information), read and written one IP packet at a time, with a
 * virtio_net_hdr before each when offloads are on (IFF_VNET_HDR). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "../lib/offload.h"
#include "utun-os.h"

/* Opens the device with or without vnet headers and offloads: the fd, or
 * -errno (logged; -EOPNOTSUPP at info for refused offloads). */
static int utun_os_try(const struct zt_inst *zi, const char *name, bool vnet, struct ifreq *ifr)
{
	int err, hlen = (int)OFFLOAD_VNET_HLEN, fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		err = -errno;
		zt_log(zi, ZT_LOG_ERR, "open /dev/net/tun: %s", strerror(errno));
		return err;
	}
	memset(ifr, 0, sizeof *ifr);
	ifr->ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, ifr) < 0) {
		err = -errno;
		zt_log(zi, ZT_LOG_ERR, "tun %s: %s", *name ? name : "(any name)", strerror(errno));
		close(fd);
		return err;
	}
	if (vnet && (ioctl(fd, TUNSETVNETHDRSZ, &hlen) < 0 ||
		     ioctl(fd, TUNSETOFFLOAD, (unsigned long)OFFLOAD_TUN_FLAGS) < 0)) {
		zt_log(zi, ZT_LOG_INFO, "tun %s: offloads: %s; packets one at a time", ifr->ifr_name,
		       strerror(errno));
		close(fd);
		return -EOPNOTSUPP;
	}
	return fd;
}

int utun_os_open(const struct zt_inst *zi, const char *name, bool *offload, char dev[IFNAMSIZ], int *ifindex)
{
	struct ifreq ifr;
	int err, fd = utun_os_try(zi, name, *offload, &ifr);

	if (fd == -EOPNOTSUPP && *offload) {
		*offload = false;
		fd = utun_os_try(zi, name, false, &ifr);
	}
	if (fd < 0)
		return fd;
	/* a device left persistent by someone else goes away with us */
	ioctl(fd, TUNSETPERSIST, 0);
	memcpy(dev, ifr.ifr_name, IFNAMSIZ);
	dev[IFNAMSIZ - 1] = 0;
	*ifindex = (int)if_nametoindex(dev);
	if (*ifindex <= 0) {
		err = -errno;
		zt_log(zi, ZT_LOG_ERR, "tun %s: index: %s", dev, strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

ssize_t utun_os_readv(int fd, const struct iovec *iov, int n)
{
	ssize_t r;

	do
		r = readv(fd, iov, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return r;
}

int utun_os_writev(int fd, const struct iovec *iov, int n)
{
	ssize_t w;

	do
		w = writev(fd, iov, n);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : 0;
}
