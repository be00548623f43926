/* tap: a network's Ethernet port on a Linux host, as a TAP device.  Frames
 * the host sends on the device go up to the network; frames the network
 * delivers are written to it.  Link settings, addresses and routes are set
 * through rtnetlink (libmnl), and the device's multicast groups are read
 * from /proc/net/dev_mcast.  With offloads, the device carries a
 * virtio_net_hdr before each frame: the host hands over TCP super-frames
 * of up to 64 KB and frames whose checksum is still to be computed, and
 * this module cuts them into segments that fit the port's MTU and fills in
 * the checksums.  In the other direction, consecutive TCP segments of one
 * flow are merged into one such super-frame for the host (GRO), written
 * before the loop next waits.  A queue, for a data-path worker, is another
 * fd on the same device (IFF_MULTI_QUEUE) read and written the same way;
 * only the instance configures the device.  See zt-tap(7). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>

#include <ev.h>
#include <libmnl/libmnl.h>

#include <zt/dptrace.h>
#include <zt/module.h>

#include "../lib/iflink.h"
#include "../lib/offload.h"

/* Room for one frame: MTU plus Ethernet header plus a VLAN tag. */
#define TAP_SLOT_EXTRA (OFFLOAD_ETH_HLEN + OFFLOAD_VLAN_HLEN)
#define TAP_MTU_MIN 1280
#define TAP_MTU_MAX 10000
#define TAP_MCAST_PATH "/proc/net/dev_mcast"
/* With offloads: the largest frame the host may hand over in one read
 * (a 64 KB IP packet, Ethernet header and a VLAN tag). */
#define TAP_GSO_MAX (OFFLOAD_GSO_IPMAX + TAP_SLOT_EXTRA)
#define TAP_GBUF_SIZE (TAP_MTU_MAX + TAP_SLOT_EXTRA + TAP_GSO_MAX)

/* An instance, or a queue of one: a queue uses only the data path's part
 * (fd, buffers, watchers, counters), of its own, on its own thread. */
struct tap {
	struct zt_inst *zi;
	struct ev_loop *loop;
	struct tap *instance;    /* a queue's; NULL on the instance */
	bool multi_queue;        /* the device has queues: IFF_MULTI_QUEUE */
	unsigned queues_open;    /* the instance's, counted by its queues (atomic) */
	char name[IFNAMSIZ];     /* as configured; empty: the kernel names it */
	unsigned opt_mtu;
	unsigned batch;
	double mcast_every;
	bool opt_offload;        /* the option */
	bool offload;            /* the device carries vnet headers */
	bool opt_gro;            /* the option */
	bool gro_on;             /* with offloads: TCP segments merged */
	bool started;

	int fd;

	/* The device, its settings and what this module set on it. */
	struct iflink link;

	/* Reading. */
	ev_io io;
	uint8_t *buf;            /* batch slots of slot bytes */
	size_t slot;
	struct zt_frame *frames;
	uint8_t *gbuf;           /* with offloads: TAP_GBUF_SIZE, a super-frame */

	/* Writing with GRO: the merged frame is written out at the latest
	 * just before the loop waits. */
	struct offload_gro gro;
	ev_prepare prep;

	/* Multicast groups of the device, sorted, as last reported. */
	ev_timer mtimer;
	struct iflink_set mcast;    /* 6-byte MACs */
	struct iflink_set mcast_new;
	bool mcast_failed;

	uint64_t *rx_frames, *rx_bytes, *rx_short, *rx_oversize, *rx_errors;
	uint64_t *tx_short, *tx_oversize;
	struct offload_tx_counts txc; /* tx_frames, tx_bytes, tx_dropped, tx_errors, gro_* */
	uint64_t *tso_frames, *tso_segments, *csum_fixed, *offload_dropped;
};


static int tap_configure(void *state, const struct zt_iface_settings *s)
{
	struct tap *p = state;

	return iflink_configure(&p->link, s, p->started);
}

/* ---- reading: frames the host sends ---- */

/* A queue takes the MTU its instance was last configured with. */
static void tap_mtu_follow(struct tap *p)
{
	if (p->instance)
		p->link.mtu = __atomic_load_n(&p->instance->link.mtu, __ATOMIC_RELAXED);
}

/* Buffers for frames up to the current MTU; called where no frame is
 * borrowed.  On failure the old ones stay and longer frames are lost. */
static void tap_buffers_fit(struct tap *p)
{
	size_t slot = (size_t)p->link.mtu + TAP_SLOT_EXTRA;
	uint8_t *buf;

	if (p->buf && p->slot >= slot)
		return;
	buf = malloc((size_t)p->batch * slot);
	if (!buf) {
		if (p->buf)
			return;
		zt_log(p->zi, ZT_LOG_ERR, "frame buffers: %s", strerror(ENOMEM));
		return;
	}
	free(p->buf);
	p->buf = buf;
	p->slot = slot;
}

/* Hands the frames gathered so far up to the network. */
static void tap_flush(struct tap *p, unsigned *n)
{
	if (*n) {
		*p->rx_frames += *n;
		zt_iface_rx(p->zi, p->frames, *n);
		*n = 0;
	}
}

/* Cuts a super-frame read into slot n (and on into gbuf) into segments in
 * the slots from n on, handing up full batches on the way; returns the
 * number of slots in use. */
static unsigned tap_rx_gso(struct tap *p, const struct virtio_net_hdr *h, size_t len, unsigned n)
{
	uint8_t *f = p->gbuf;
	unsigned mtu = p->link.mtu;
	struct offload_gso g;

	/* the whole frame in one place, out of the slots it is cut into */
	memcpy(f, p->buf + (size_t)n * p->slot, len < p->slot ? len : p->slot);
	/* buffers that could not grow with the MTU bound the segments */
	if (mtu > p->slot - TAP_SLOT_EXTRA)
		mtu = (unsigned)(p->slot - TAP_SLOT_EXTRA);
	if (offload_gso_parse(h, f, len, mtu, &g) < 0) {
		(*p->offload_dropped)++;
		return n;
	}
	(*p->tso_frames)++;
	*p->tso_segments += g.nseg;
	for (unsigned i = 0; i < g.nseg; i++) {
		uint8_t *out;
		size_t l;

		if (n == p->batch)
			tap_flush(p, &n);
		out = p->buf + (size_t)n * p->slot;
		l = offload_gso_segment(&g, f, i, out);
		p->frames[n].data = out;
		p->frames[n].len = l;
		*p->rx_bytes += l;
		n++;
	}
	return n;
}

/* One frame from the device: its length, or -1 when there is nothing
 * more to read now (empty, or an error, counted; a deleted device also
 * stops the watcher, since its fd stays readable). */
static ssize_t tap_readv(struct tap *p, struct ev_loop *loop, ev_io *w, const struct iovec *iov, int n)
{
	ssize_t r;

	do
		r = readv(p->fd, iov, n);
	while (r < 0 && errno == EINTR);
	if (r >= 0 || errno == EAGAIN || errno == EWOULDBLOCK)
		return r;
	(*p->rx_errors)++;
	if (errno == EBADFD || errno == ENODEV) {
		zt_log(p->zi, ZT_LOG_ERR, "read %s: %s", p->link.dev, strerror(errno));
		ev_io_stop(loop, w);
	}
	return -1;
}

/* Reads with a vnet header before each frame: a frame that fits a slot
 * lands there, a super-frame goes on into gbuf. */
static void tap_read_vnet(struct tap *p, struct ev_loop *loop, ev_io *w)
{
	unsigned n = 0, tries;

	for (tries = 0; tries < p->batch; tries++) {
		struct virtio_net_hdr h;
		uint8_t *dst;
		struct iovec iov[3] = {
			{ .iov_base = &h, .iov_len = OFFLOAD_VNET_HLEN },
			{ .iov_base = NULL, .iov_len = p->slot },
			{ .iov_base = p->gbuf + p->slot, .iov_len = TAP_GBUF_SIZE - p->slot },
		};
		ssize_t r;
		size_t len;

		/* segments of a super-frame may have taken the last slot */
		if (n == p->batch)
			tap_flush(p, &n);
		dst = iov[1].iov_base = p->buf + (size_t)n * p->slot;
		r = tap_readv(p, loop, w, iov, 3);
		if (r < 0)
			break;
		if (r < (ssize_t)(OFFLOAD_VNET_HLEN + OFFLOAD_ETH_HLEN)) {
			(*p->rx_short)++;
			continue;
		}
		len = (size_t)r - OFFLOAD_VNET_HLEN;
		ZT_TRACE("tap-read", len);
		/* a frame that filled the buffer may have been cut */
		if (len >= TAP_GBUF_SIZE) {
			(*p->offload_dropped)++;
			continue;
		}
		if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
			n = tap_rx_gso(p, &h, len, n);
			continue;
		}
		if (len > p->slot) {
			(*p->rx_oversize)++;
			continue;
		}
		if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			if (offload_csum_partial(&h, dst, len) < 0) {
				(*p->offload_dropped)++;
				continue;
			}
			(*p->csum_fixed)++;
		}
		p->frames[n].data = dst;
		p->frames[n].len = len;
		*p->rx_bytes += len;
		n++;
	}
	tap_flush(p, &n);
}

static void tap_on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tap *p = w->data;
	unsigned n = 0, tries;

	tap_mtu_follow(p);
	tap_buffers_fit(p);
	if (!p->buf)
		return;
	if (p->offload) {
		tap_read_vnet(p, loop, w);
		return;
	}
	for (tries = 0; tries < p->batch; tries++) {
		uint8_t *dst = p->buf + (size_t)n * p->slot, spare;
		/* a byte past the slot tells a frame too long for it */
		struct iovec iov[2] = {
			{ .iov_base = dst, .iov_len = p->slot },
			{ .iov_base = &spare, .iov_len = 1 },
		};
		ssize_t r = tap_readv(p, loop, w, iov, 2);

		if (r < 0)
			break;
		ZT_TRACE("tap-read", (size_t)r);
		if (r < OFFLOAD_ETH_HLEN) {
			(*p->rx_short)++;
			continue;
		}
		if ((size_t)r > p->slot) {
			(*p->rx_oversize)++;
			continue;
		}
		p->frames[n].data = dst;
		p->frames[n].len = (size_t)r;
		*p->rx_bytes += (uint64_t)r;
		n++;
	}
	tap_flush(p, &n);
}

/* ---- writing: frames for the host ---- */

/* Writes one frame, after the vnet header h with offloads.  0 or -errno. */
static int tap_write(void *port, const struct virtio_net_hdr *h, const uint8_t *d, size_t len)
{
	struct tap *p = port;
	struct iovec iov[2] = {
		{ .iov_base = (void *)h, .iov_len = OFFLOAD_VNET_HLEN },
		{ .iov_base = (void *)d, .iov_len = len },
	};
	ssize_t w;

	ZT_TRACE("tap-write", len);
	do
		w = p->offload ? writev(p->fd, iov, 2) : write(p->fd, d, len);
	while (w < 0 && errno == EINTR);
	ZT_TRACE_END("tap-written", len);
	return w < 0 ? -errno : 0;
}

/* Writes out the frame being merged, if any. */
static void tap_gro_flush(struct tap *p)
{
	offload_gro_flush(&p->gro, &p->txc);
}

/* Just before the loop waits: nothing held across it. */
static void tap_on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	tap_gro_flush(w->data);
}

static int tap_tx(void *state, const struct zt_frame *f, unsigned n)
{
	struct tap *p = state;
	unsigned i, taken = 0;

	if (p->fd < 0)
		return -ENOTCONN;
	tap_mtu_follow(p);
	for (i = 0; i < n; i++) {
		size_t max = (size_t)p->link.mtu + OFFLOAD_ETH_HLEN;
		int err;

		if (f[i].len < OFFLOAD_ETH_HLEN) {
			(*p->tx_short)++;
			continue;
		}
		if (f[i].data[12] == 0x81 && f[i].data[13] == 0x00)
			max += OFFLOAD_VLAN_HLEN;
		if (f[i].len > max) {
			(*p->tx_oversize)++;
			continue;
		}
		if (p->gro_on && offload_gro_add(&p->gro, f[i].data, f[i].len, &p->txc)) {
			taken++;
			continue;
		}
		err = tap_write(p, &offload_vnet_valid, f[i].data, f[i].len);
		offload_tx_count(&p->txc, err, 1, f[i].len);
		taken += err == 0;
	}
	return (int)taken;
}

/* ---- multicast groups ---- */

/* Reads the device's link-layer groups into mcast_new, sorted and unique.
 * Lines are "index name refcount global-users address-in-hex". */
static int tap_mcast_read(struct tap *p)
{
	struct iflink_set *s = &p->mcast_new;
	char line[256];
	FILE *fp = fopen(TAP_MCAST_PATH, "re");

	if (!fp)
		return -errno;
	s->n = 0;
	while (fgets(line, sizeof line, fp)) {
		char name[IFNAMSIZ + 1], hex[64];
		unsigned users, gusers;
		uint8_t mac[6];
		int idx;

		if (sscanf(line, "%d %16s %u %u %63s", &idx, name, &users, &gusers, hex) != 5)
			continue;
		if (idx != p->link.ifindex || !iflink_hex_bytes(hex, mac, 6))
			continue;
		if (iflink_set_add(s, mac, 6) < 0) {
			fclose(fp);
			return -ENOMEM;
		}
	}
	fclose(fp);
	return 0;
}

static void tap_mcast_poll(struct tap *p)
{
	int err = tap_mcast_read(p);

	if (err < 0) {
		if (!p->mcast_failed)
			zt_log(p->zi, ZT_LOG_WARN, "read %s: %s", TAP_MCAST_PATH, strerror(-err));
		p->mcast_failed = true;
		return;
	}
	p->mcast_failed = false;
	iflink_mcast_update(p->zi, &p->mcast, &p->mcast_new);
}

static void tap_on_mcast_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	tap_mcast_poll(w->data);
}

/* ---- lifecycle ---- */

/* The instance stopping before its queues: the device stays, without
 * the addresses and routes it set, until the last queue closes it. */
static void tap_stop_warn_queues(struct tap *p)
{
	unsigned open = __atomic_load_n(&p->queues_open, __ATOMIC_RELAXED);

	if (p->started && open)
		zt_log(p->zi, ZT_LOG_WARN, "%s stays while %u queue%s open", p->link.dev, open,
		       open > 1 ? "s are" : " is");
}

static void tap_stop(void *state)
{
	struct tap *p = state;

	tap_stop_warn_queues(p);
	if (p->instance && p->started)
		__atomic_sub_fetch(&p->instance->queues_open, 1, __ATOMIC_RELAXED);
	if (p->fd >= 0)
		tap_gro_flush(p);
	p->gro.len = 0;
	if (p->loop) {
		ev_io_stop(p->loop, &p->io);
		ev_timer_stop(p->loop, &p->mtimer);
		ev_prepare_stop(p->loop, &p->prep);
	}
	iflink_close(&p->link);
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
		zt_log(p->zi, ZT_LOG_INFO, "%s%s closed", p->link.dev, p->instance ? ": queue" : "");
	}
	p->mcast.n = 0;
	p->started = false;
}

/* Opens the TAP device, with vnet headers and offloads if asked; logs
 * and returns -errno on failure, -EOPNOTSUPP (logged at info) if the
 * kernel refuses the offloads. */
static int tap_open(struct tap *p, bool vnet)
{
	struct ifreq ifr;
	int err, fd, hlen = (int)OFFLOAD_VNET_HLEN;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		zt_log(p->zi, ZT_LOG_ERR, "open /dev/net/tun: %s", strerror(errno));
		return err;
	}
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0) |
			(p->multi_queue ? IFF_MULTI_QUEUE : 0);
	memcpy(ifr.ifr_name, p->name, sizeof p->name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		zt_log(p->zi, ZT_LOG_ERR, "tap %s: %s", p->name[0] ? p->name : "(any name)",
		       strerror(errno));
		close(fd);
		return err;
	}
	if (vnet && (ioctl(fd, TUNSETVNETHDRSZ, &hlen) < 0 ||
		     ioctl(fd, TUNSETOFFLOAD, (unsigned long)OFFLOAD_TUN_FLAGS) < 0)) {
		/* a queue cannot fall back: its device has vnet headers */
		zt_log(p->zi, p->instance ? ZT_LOG_ERR : ZT_LOG_INFO, "tap %s: offloads: %s%s",
		       ifr.ifr_name, strerror(errno), p->instance ? "" : "; frames one at a time");
		close(fd);
		return -EOPNOTSUPP;
	}
	/* a device left persistent by someone else goes away with us */
	ioctl(fd, TUNSETPERSIST, 0);
	memcpy(p->link.dev, ifr.ifr_name, sizeof p->link.dev);
	p->link.dev[sizeof p->link.dev - 1] = 0;
	p->link.ifindex = (int)if_nametoindex(p->link.dev);
	if (p->link.ifindex <= 0) {
		err = -errno;
		zt_log(p->zi, ZT_LOG_ERR, "tap %s: index: %s", p->link.dev, strerror(errno));
		close(fd);
		return err;
	}
	p->fd = fd;
	return 0;
}

/* Reading, and with GRO writing out what is held before the loop waits. */
static void tap_watch(struct tap *p, struct ev_loop *loop)
{
	p->loop = loop;
	p->gro_on = p->offload && p->opt_gro && p->gro.buf;
	p->gro.len = 0;
	ev_io_set(&p->io, p->fd, EV_READ);
	ev_io_start(loop, &p->io);
	if (p->gro_on)
		ev_prepare_start(loop, &p->prep);
}

/* A queue: another fd on the instance's device, with the flags and
 * offloads it got (a device's queues share them); never configures the
 * device. */
static int tap_queue_start(struct tap *q, struct ev_loop *loop)
{
	struct tap *p = q->instance;
	int err;

	if (!p->started) {
		zt_log(q->zi, ZT_LOG_ERR, "start: %s is not started", zt_inst_name(p->zi));
		return -ENOTCONN;
	}
	memcpy(q->name, p->link.dev, sizeof q->name);
	q->offload = p->offload;
	err = tap_open(q, q->offload);
	if (err < 0)
		return err;
	tap_watch(q, loop);
	q->started = true;
	__atomic_add_fetch(&p->queues_open, 1, __ATOMIC_RELAXED);
	zt_log(q->zi, ZT_LOG_INFO, "%s: queue open, offloads %s, gro %s", q->link.dev,
	       q->offload ? "on" : "off", q->gro_on ? "on" : "off");
	return 0;
}

static int tap_start(void *state, struct ev_loop *loop)
{
	struct tap *p = state;
	int err;

	if (p->started)
		return 0;
	if (p->instance)
		return tap_queue_start(p, loop);
	p->loop = loop;
	if (!p->link.have_settings)
		p->link.up = true;
	/* refused offloads fall back to frames one at a time, for good */
	p->offload = p->opt_offload && p->gbuf;
	err = tap_open(p, p->offload);
	if (err == -EOPNOTSUPP && p->offload) {
		p->opt_offload = p->offload = false;
		err = tap_open(p, false);
	}
	if (err < 0)
		return err;
	err = iflink_nl_open(&p->link);
	if (err < 0)
		goto fail;
	/* the device itself must take its MAC, MTU and flags; addresses and
	 * routes that fail are logged and the port runs without them */
	err = iflink_link_apply(&p->link, true);
	if (err < 0)
		goto fail;
	iflink_fill(&p->link);
	tap_buffers_fit(p);
	if (!p->buf) {
		err = -ENOMEM;
		goto fail;
	}
	tap_watch(p, loop);
	ev_timer_set(&p->mtimer, 0., p->mcast_every);
	ev_timer_start(loop, &p->mtimer);
	p->started = true;
	zt_log(p->zi, ZT_LOG_INFO, "%s: index %d, mtu %u, %s, offloads %s, gro %s", p->link.dev,
	       p->link.ifindex, p->link.mtu, p->link.up ? "up" : "down", p->offload ? "on" : "off",
	       p->gro_on ? "on" : "off");
	return 0;
fail:
	tap_stop(p);
	return err;
}

static void tap_destroy(void *state)
{
	struct tap *p = state;

	if (!p)
		return;
	if (p->fd >= 0)
		tap_stop(p);
	iflink_free(&p->link);
	iflink_set_free(&p->mcast);
	iflink_set_free(&p->mcast_new);
	free(p->buf);
	free(p->gbuf);
	free(p->gro.buf);
	free(p->frames);
	free(p);
}

static int tap_counters(struct tap *p)
{
	static const struct zt_counter_field fields[] = {
		ZT_COUNTER_FIELD(struct tap, rx_frames),
		ZT_COUNTER_FIELD(struct tap, rx_bytes),
		ZT_COUNTER_FIELD(struct tap, rx_short),
		ZT_COUNTER_FIELD(struct tap, rx_oversize),
		ZT_COUNTER_FIELD(struct tap, rx_errors),
		{ "tx_frames", offsetof(struct tap, txc.packets) },
		{ "tx_bytes", offsetof(struct tap, txc.bytes) },
		ZT_COUNTER_FIELD(struct tap, tx_short),
		ZT_COUNTER_FIELD(struct tap, tx_oversize),
		{ "tx_dropped", offsetof(struct tap, txc.dropped) },
		{ "tx_errors", offsetof(struct tap, txc.errors) },
		{ "netlink_errors", offsetof(struct tap, link.netlink_errors) },
		ZT_COUNTER_FIELD(struct tap, tso_frames),
		ZT_COUNTER_FIELD(struct tap, tso_segments),
		ZT_COUNTER_FIELD(struct tap, csum_fixed),
		ZT_COUNTER_FIELD(struct tap, offload_dropped),
		{ "gro_frames", offsetof(struct tap, txc.gro_frames) },
		{ "gro_segments", offsetof(struct tap, txc.gro_segments) },
	};

	return zt_counters_bind(p->zi, p, fields, sizeof fields / sizeof fields[0]);
}

/* The node of key for an error message, or the instance's own. */
static const struct zt_node *tap_at(const struct zt_node *conf, const char *key)
{
	const struct zt_node *n = zt_node_get(conf, key);

	return n ? n : conf;
}

/* The state of an instance or a queue with its data path's part: buffers
 * for batch frames of the MTU (with offload a super-frame, with gro too a
 * GRO frame), watchers, counters on zi.  NULL if out of memory. */
static struct tap *tap_new(struct zt_inst *zi, unsigned batch, unsigned mtu, bool offload, bool gro)
{
	struct tap *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	p->zi = zi;
	p->link.zi = zi;
	p->link.has_mac = true;
	p->fd = -1;
	p->batch = batch;
	p->link.mtu = mtu;
	p->opt_offload = offload;
	p->opt_gro = gro;
	p->frames = calloc(batch, sizeof *p->frames);
	if (offload)
		p->gbuf = malloc(TAP_GBUF_SIZE);
	if (offload && gro)
		p->gro.buf = malloc(OFFLOAD_GRO_SIZE);
	p->gro.write = tap_write;
	p->gro.port = p;
	tap_buffers_fit(p);
	if (!p->frames || (offload && !p->gbuf) || (offload && gro && !p->gro.buf) || !p->buf ||
	    tap_counters(p) < 0) {
		tap_destroy(p);
		return NULL;
	}
	ev_init(&p->io, tap_on_read);
	p->io.data = p;
	ev_init(&p->mtimer, tap_on_mcast_timer);
	p->mtimer.data = p;
	ev_prepare_init(&p->prep, tap_on_prepare);
	p->prep.data = p;
	return p;
}

static int tap_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	const char *name = zt_conf_str(conf, "name");
	uint64_t every = zt_conf_duration_ms(conf, "multicast-poll");
	const char *why;
	struct tap *p;

	if (name && (why = iflink_name_check(name))) {
		zt_node_error(tap_at(conf, "name"), "%s", why);
		return -EINVAL;
	}
	if (every < 100 || every > 3600 * 1000) {
		zt_node_error(tap_at(conf, "multicast-poll"), "must be between 100ms and 1h");
		return -EINVAL;
	}
	p = tap_new(zi, (unsigned)zt_conf_uint(conf, "batch"), (unsigned)zt_conf_uint(conf, "mtu"),
		    zt_conf_bool(conf, "offload"), zt_conf_bool(conf, "gro"));
	if (!p)
		return -ENOMEM;
	if (name)
		memcpy(p->name, name, strlen(name) + 1);
	p->opt_mtu = p->link.mtu;
	p->link.txqueuelen = (unsigned)zt_conf_uint(conf, "txqueuelen");
	p->mcast_every = (double)every / 1000.;
	p->link.up = true;
	p->link.nlbuf = malloc(MNL_SOCKET_BUFFER_SIZE);
	if (!p->link.nlbuf) {
		tap_destroy(p);
		return -ENOMEM;
	}
	*state = p;
	return 0;
}

/* A queue of the instance: the data path's options, the rest unused.
 * From now on the instance opens the device with IFF_MULTI_QUEUE too. */
static int tap_queue(void *state, struct zt_inst *zi, unsigned queue, void **out)
{
	struct tap *p = state, *q;

	if (p->started)
		return -EBUSY;
	q = tap_new(zi, p->batch, p->link.mtu, p->opt_offload, p->opt_gro);
	if (!q)
		return -ENOMEM;
	q->instance = p;
	q->multi_queue = true;
	p->multi_queue = true;
	*out = q;
	return 0;
}

static const char *tap_port_name(void *state)
{
	struct tap *t = state;

	return t->link.dev[0] ? t->link.dev : NULL;
}

static const struct zt_iface_ops tap_ops = {
	.tx = tap_tx,
	.configure = tap_configure,
	.port_name = tap_port_name,
};

static const struct zt_opt tap_opts[] = {
	ZT_OPT_STR("name", NULL, "device name, at most 15 characters (default: chosen by the kernel)"),
	ZT_OPT_UINT("mtu", 2800, TAP_MTU_MIN, TAP_MTU_MAX, "MTU until the network sets one"),
	ZT_OPT_UINT("txqueuelen", 1000, 0, 100000, "the device's transmit queue length"),
	ZT_OPT_UINT("batch", 64, 1, 1024, "frames read per wakeup"),
	ZT_OPT_DURATION("multicast-poll", "2s", "how often to read the device's multicast groups"),
	ZT_OPT_BOOL("offload", true, "TCP segmentation and checksum offloads from the host"),
	ZT_OPT_BOOL("gro", true, "with offloads, merge TCP segments for the host into super-frames"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI,
	.name = "tap",
	.kind = ZT_IFACE,
	.summary = "a Linux TAP device",
	.opts = tap_opts,
	.create = tap_create,
	.start = tap_start,
	.stop = tap_stop,
	.destroy = tap_destroy,
	.ops.iface = &tap_ops,
	.queue = tap_queue,
};
