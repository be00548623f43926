/* utun on Linux: a tun device (/dev/net/tun, IFF_TUN without packet
 * information), read and written one IP packet at a time. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "utun-os.h"

int utun_os_open(const struct zt_inst *zi, const char *name, char dev[IFNAMSIZ], int *ifindex)
{
	struct ifreq ifr;
	int err, fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		err = -errno;
		zt_log(zi, ZT_LOG_ERR, "open /dev/net/tun: %s", strerror(errno));
		return err;
	}
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		zt_log(zi, ZT_LOG_ERR, "tun %s: %s", *name ? name : "(any name)", strerror(errno));
		close(fd);
		return err;
	}
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

ssize_t utun_os_read(int fd, uint8_t *buf, size_t cap)
{
	uint8_t spare;
	/* a byte past the buffer tells a packet too long for it */
	struct iovec iov[2] = { { buf, cap }, { &spare, 1 } };
	ssize_t r;

	do
		r = readv(fd, iov, 2);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return r;
}

int utun_os_write(int fd, const uint8_t *ip, size_t len)
{
	ssize_t w;

	do
		w = write(fd, ip, len);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : 0;
}
