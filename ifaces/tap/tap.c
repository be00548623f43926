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

#include <zt/module.h>

#define TAP_ETH_HLEN 14
#define TAP_VLAN_HLEN 4
/* Room for one frame: MTU plus Ethernet header plus a VLAN tag. */
#define TAP_SLOT_EXTRA (TAP_ETH_HLEN + TAP_VLAN_HLEN)
#define TAP_MTU_MIN 1280
#define TAP_MTU_MAX 10000
#define TAP_NL_TIMEOUT_S 2
#define TAP_MCAST_PATH "/proc/net/dev_mcast"
/* With offloads: the header before each frame, and the largest frame the
 * host may hand over in one read (a 64 KB IP packet, Ethernet header and
 * a VLAN tag). */
#define TAP_VNET_HLEN ((unsigned)sizeof(struct virtio_net_hdr))
#define TAP_GSO_MAX (65536 + TAP_SLOT_EXTRA)
#define TAP_GBUF_SIZE (TAP_MTU_MAX + TAP_SLOT_EXTRA + TAP_GSO_MAX)
#define TAP_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)
/* GRO: at most this many segments in one merged frame, whose IP packet
 * is at most TAP_GRO_IPMAX bytes. */
#define TAP_GRO_SEGS 44
#define TAP_GRO_IPMAX 65535
#define TAP_GRO_SIZE (TAP_ETH_HLEN + TAP_GRO_IPMAX)

/* An address or route in the form sent to the kernel: zeroed, then
 * filled, so that two of them compare with memcmp. */
struct tap_addr {
	uint8_t family;
	uint8_t prefix;
	uint8_t ip[16];
};

struct tap_route {
	uint8_t family;
	uint8_t prefix;
	uint8_t has_gw;
	uint8_t dst[16];
	uint8_t gw[16];
	uint32_t metric;
};

/* GRO: the frame being merged, the first segment's headers followed by
 * the payloads of all segments taken so far. */
struct tap_gro {
	uint8_t *buf;            /* TAP_GRO_SIZE bytes */
	size_t len;              /* bytes in buf; 0: nothing held */
	size_t l4;               /* offset of the TCP header */
	size_t hlen;             /* Ethernet, IP and TCP headers */
	size_t mss;              /* the first segment's payload */
	uint64_t bytes;          /* the segments' lengths as they came */
	unsigned nseg;
	uint32_t seq;            /* the next segment's sequence number */
	unsigned id;             /* the last segment's IPv4 id */
	bool v6;
	bool closed;             /* nothing more joins: PSH, short, 44th, full */
};

/* A frame that may be merged: where its headers are. */
struct tap_seg {
	size_t l4, hlen, payload;
	bool v6;
};

/* A growable array of fixed-size items. */
struct tap_set {
	void *v;
	unsigned n, cap;
};

/* An instance, or a queue of one: a queue uses only the data path's part
 * (fd, buffers, watchers, counters), of its own, on its own thread. */
struct tap {
	struct zt_inst *zi;
	struct ev_loop *loop;
	struct tap *instance;    /* a queue's; NULL on the instance */
	bool multi_queue;        /* the device has queues: IFF_MULTI_QUEUE */
	unsigned queues_open;    /* the instance's, counted by its queues (atomic) */
	char name[IFNAMSIZ];     /* as configured; empty: the kernel names it */
	char dev[IFNAMSIZ];      /* as the kernel named it */
	unsigned opt_mtu;
	unsigned txqueuelen;
	unsigned batch;
	double mcast_every;
	bool opt_offload;        /* the option */
	bool offload;            /* the device carries vnet headers */
	bool opt_gro;            /* the option */
	bool gro_on;             /* with offloads: TCP segments merged */
	bool started;

	int fd;
	int ifindex;
	struct mnl_socket *nl;
	uint32_t nl_portid;
	uint32_t nl_seq;
	uint8_t *nlbuf;          /* MNL_SOCKET_BUFFER_SIZE */

	/* The last settings given to configure(); applied by start too. */
	bool have_settings;
	uint8_t mac[6];
	unsigned mtu;            /* effective: configured, or the option; queues
				  * on other threads follow the instance's (atomic) */
	bool up;
	struct tap_set want_addrs;   /* struct tap_addr */
	struct tap_set want_routes;  /* struct tap_route, defaults split */

	/* What the device was last set to, so that only changes are sent. */
	uint8_t cur_mac[6];
	unsigned cur_mtu;
	int cur_up;              /* -1: not set yet */

	/* What this module added and so may remove. */
	struct tap_set own_addrs;
	struct tap_set own_routes;

	/* Reading. */
	ev_io io;
	uint8_t *buf;            /* batch slots of slot bytes */
	size_t slot;
	struct zt_frame *frames;
	uint8_t *gbuf;           /* with offloads: TAP_GBUF_SIZE, a super-frame */

	/* Writing with GRO: the merged frame is written out at the latest
	 * just before the loop waits. */
	struct tap_gro gro;
	ev_prepare prep;

	/* Multicast groups of the device, sorted, as last reported. */
	ev_timer mtimer;
	struct tap_set mcast;    /* 6-byte MACs */
	struct tap_set mcast_new;
	bool mcast_failed;

	uint64_t *rx_frames, *rx_bytes, *rx_short, *rx_oversize, *rx_errors;
	uint64_t *tx_frames, *tx_bytes, *tx_short, *tx_oversize, *tx_dropped, *tx_errors;
	uint64_t *netlink_errors;
	uint64_t *tso_frames, *tso_segments, *csum_fixed, *offload_dropped;
	uint64_t *gro_frames, *gro_segments;
};

/* ---- small sets ---- */

static int tap_set_reserve(struct tap_set *s, unsigned n, size_t size)
{
	void *v;
	unsigned cap;

	if (n <= s->cap)
		return 0;
	cap = s->cap ? s->cap : 8;
	while (cap < n)
		cap *= 2;
	v = realloc(s->v, (size_t)cap * size);
	if (!v)
		return -ENOMEM;
	s->v = v;
	s->cap = cap;
	return 0;
}

static int tap_set_add(struct tap_set *s, const void *item, size_t size)
{
	int err = tap_set_reserve(s, s->n + 1, size);

	if (err < 0)
		return err;
	memcpy((uint8_t *)s->v + (size_t)s->n * size, item, size);
	s->n++;
	return 0;
}

static bool tap_set_has(const struct tap_set *s, const void *item, size_t size)
{
	for (unsigned i = 0; i < s->n; i++)
		if (memcmp((const uint8_t *)s->v + (size_t)i * size, item, size) == 0)
			return true;
	return false;
}

static void tap_set_del(struct tap_set *s, unsigned i, size_t size)
{
	uint8_t *v = s->v;

	s->n--;
	if (i != s->n)
		memmove(v + (size_t)i * size, v + (size_t)(i + 1) * size, (size_t)(s->n - i) * size);
}

static void tap_set_free(struct tap_set *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

/* ---- text for log messages ---- */

static const char *tap_ip_str(int family, const uint8_t *ip, char *out, size_t len)
{
	if (!inet_ntop(family, ip, out, (socklen_t)len))
		snprintf(out, len, "?");
	return out;
}

static const char *tap_addr_str(const struct tap_addr *a, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	snprintf(out, len, "%s/%u", tap_ip_str(a->family, a->ip, ip, sizeof ip), a->prefix);
	return out;
}

static const char *tap_route_str(const struct tap_route *r, char *out, size_t len)
{
	char dst[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];

	if (r->has_gw)
		snprintf(out, len, "route %s/%u via %s", tap_ip_str(r->family, r->dst, dst, sizeof dst),
			 r->prefix, tap_ip_str(r->family, r->gw, gw, sizeof gw));
	else
		snprintf(out, len, "route %s/%u on-link", tap_ip_str(r->family, r->dst, dst, sizeof dst),
			 r->prefix);
	return out;
}

static const char *tap_mac_str(const uint8_t *mac, char *out, size_t len)
{
	snprintf(out, len, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return out;
}

/* ---- rtnetlink ---- */

static int tap_nl_open(struct tap *p)
{
	struct timeval tv = { .tv_sec = TAP_NL_TIMEOUT_S };
	int err;

	p->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!p->nl) {
		err = -errno;
		zt_log(p->zi, ZT_LOG_ERR, "netlink socket: %s", strerror(errno));
		return err;
	}
	if (mnl_socket_bind(p->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		zt_log(p->zi, ZT_LOG_ERR, "netlink bind: %s", strerror(errno));
		mnl_socket_close(p->nl);
		p->nl = NULL;
		return err;
	}
	/* The kernel always answers; the timeout only guards against a
	 * reply that never comes. */
	setsockopt(mnl_socket_get_fd(p->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	p->nl_portid = mnl_socket_get_portid(p->nl);
	return 0;
}

static void tap_nl_close(struct tap *p)
{
	if (p->nl) {
		mnl_socket_close(p->nl);
		p->nl = NULL;
	}
}

static struct nlmsghdr *tap_nl_msg(struct tap *p, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(p->nlbuf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++p->nl_seq;
	return nlh;
}

/* Sends a request built in nlbuf and waits for its acknowledgement.
 * 0 or the kernel's -errno. */
static int tap_nl_talk(struct tap *p, struct nlmsghdr *req)
{
	uint32_t seq = req->nlmsg_seq;
	ssize_t n;

	if (!p->nl)
		return -ENOTCONN;
	if (mnl_socket_sendto(p->nl, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		const struct nlmsghdr *nlh;
		int len;

		n = mnl_socket_recvfrom(p->nl, p->nlbuf, MNL_SOCKET_BUFFER_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		len = (int)n;
		for (nlh = (const struct nlmsghdr *)p->nlbuf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct nlmsgerr *e;

			/* a late answer to a request that timed out */
			if (nlh->nlmsg_seq != seq || nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *e))
				return -EBADMSG;
			e = mnl_nlmsg_get_payload(nlh);
			return e->error;
		}
	}
}

static struct nlmsghdr *tap_nl_link_msg(struct tap *p, unsigned flags, unsigned change)
{
	struct nlmsghdr *nlh = tap_nl_msg(p, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = p->ifindex;
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	return nlh;
}

/* Sends a link request; logs a failure as "what: error". */
static int tap_nl_link_send(struct tap *p, const char *what, struct nlmsghdr *nlh)
{
	int err = tap_nl_talk(p, nlh);

	if (err < 0) {
		(*p->netlink_errors)++;
		zt_log(p->zi, ZT_LOG_ERR, "%s: %s", what, strerror(-err));
	}
	return err;
}

static int tap_nl_link(struct tap *p, const char *what, unsigned flags, unsigned change,
		       uint16_t attr, const void *data, size_t len)
{
	struct nlmsghdr *nlh = tap_nl_link_msg(p, flags, change);

	if (attr)
		mnl_attr_put(nlh, attr, len, data);
	return tap_nl_link_send(p, what, nlh);
}

/* Sets the device's IPv4 promote_secondaries: removing an address this
 * module added must not take with it the addresses others put in the same
 * subnet after it (by default the kernel deletes a primary address's
 * secondaries with it). */
static int tap_nl_promote_secondaries(struct tap *p)
{
	struct nlmsghdr *nlh = tap_nl_link_msg(p, 0, 0);
	struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	struct nlattr *inet = mnl_attr_nest_start(nlh, AF_INET);
	struct nlattr *conf = mnl_attr_nest_start(nlh, IFLA_INET_CONF);

	mnl_attr_put_u32(nlh, IPV4_DEVCONF_PROMOTE_SECONDARIES, 1);
	mnl_attr_nest_end(nlh, conf);
	mnl_attr_nest_end(nlh, inet);
	mnl_attr_nest_end(nlh, spec);
	return tap_nl_link_send(p, "promote_secondaries", nlh);
}

/* Adds or removes one address.  0 or -errno, not logged. */
static int tap_nl_addr(struct tap *p, uint16_t type, const struct tap_addr *a)
{
	struct nlmsghdr *nlh = tap_nl_msg(p, type,
					  type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);

	ifa->ifa_family = a->family;
	ifa->ifa_prefixlen = a->prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)p->ifindex;
	if (a->family == AF_INET) {
		uint32_t ip, bcast;

		memcpy(&ip, a->ip, 4);
		mnl_attr_put(nlh, IFA_LOCAL, 4, a->ip);
		mnl_attr_put(nlh, IFA_ADDRESS, 4, a->ip);
		if (type == RTM_NEWADDR && a->prefix < 31) {
			bcast = ip | htonl(0xffffffffu >> a->prefix);
			mnl_attr_put(nlh, IFA_BROADCAST, 4, &bcast);
		}
		if (type == RTM_NEWADDR)
			mnl_attr_put_strz(nlh, IFA_LABEL, p->dev);
	} else {
		mnl_attr_put(nlh, IFA_ADDRESS, 16, a->ip);
	}
	return tap_nl_talk(p, nlh);
}

/* Adds or removes one route through the device.  0 or -errno, not logged. */
static int tap_nl_route(struct tap *p, uint16_t type, const struct tap_route *r)
{
	struct nlmsghdr *nlh = tap_nl_msg(p, type,
					  type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
	size_t alen = r->family == AF_INET ? 4 : 16;

	rtm->rtm_family = r->family;
	rtm->rtm_dst_len = r->prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = r->has_gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (r->prefix)
		mnl_attr_put(nlh, RTA_DST, alen, r->dst);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)p->ifindex);
	if (r->has_gw)
		mnl_attr_put(nlh, RTA_GATEWAY, alen, r->gw);
	if (r->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->metric);
	return tap_nl_talk(p, nlh);
}

/* ---- the desired state ---- */

static bool tap_mac_set(const uint8_t *mac)
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, 6) != 0;
}

/* The address bytes of a sockaddr of family AF_INET or AF_INET6. */
static const uint8_t *tap_sa_ip(const union zt_sockaddr *sa)
{
	return sa->sa.sa_family == AF_INET ? (const uint8_t *)&sa->in4.sin_addr
					   : (const uint8_t *)&sa->in6.sin6_addr;
}

static unsigned tap_family_bits(int family)
{
	return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

static void tap_mask(uint8_t *ip, unsigned bits, unsigned prefix)
{
	for (unsigned i = 0; i < bits / 8; i++) {
		unsigned keep = prefix >= (i + 1) * 8 ? 8 : prefix > i * 8 ? prefix - i * 8 : 0;

		ip[i] &= (uint8_t)(0xff00u >> keep);
	}
}

/* Checks one address of the settings; logs and returns -errno if bad. */
static int tap_addr_from(struct tap *p, const struct zt_iface_addr *in, struct tap_addr *out)
{
	int family = in->addr.sa.sa_family;
	unsigned bits = tap_family_bits(family);
	char text[INET6_ADDRSTRLEN + 8];

	if (!bits) {
		zt_log(p->zi, ZT_LOG_ERR, "address of family %d: %s", family, strerror(EAFNOSUPPORT));
		return -EAFNOSUPPORT;
	}
	memset(out, 0, sizeof *out);
	out->family = (uint8_t)family;
	memcpy(out->ip, tap_sa_ip(&in->addr), bits / 8);
	out->prefix = (uint8_t)(in->prefix <= bits ? in->prefix : bits);
	if (in->prefix > bits) {
		tap_ip_str(family, out->ip, text, sizeof text);
		zt_log(p->zi, ZT_LOG_ERR, "add %s/%u: %s", text, in->prefix, strerror(EINVAL));
		return -EINVAL;
	}
	return 0;
}

static int tap_route_want(struct tap *p, const struct tap_route *r)
{
	if (tap_set_has(&p->want_routes, r, sizeof *r))
		return 0;
	return tap_set_add(&p->want_routes, r, sizeof *r);
}

/* Checks one route of the settings and adds what the kernel gets for it to
 * the wanted set: a default route becomes two halves, so that it wins over
 * the host's default without replacing it.  Logs and returns -errno if bad. */
static int tap_route_from(struct tap *p, const struct zt_iface_route *in)
{
	int family = in->target.sa.sa_family, gwf = in->via.sa.sa_family;
	unsigned bits = tap_family_bits(family);
	struct tap_route r;
	char text[INET6_ADDRSTRLEN + 8];
	int err;

	if (!bits) {
		zt_log(p->zi, ZT_LOG_ERR, "route of family %d: %s", family, strerror(EAFNOSUPPORT));
		return -EAFNOSUPPORT;
	}
	memset(&r, 0, sizeof r);
	r.family = (uint8_t)family;
	memcpy(r.dst, tap_sa_ip(&in->target), bits / 8);
	tap_ip_str(family, r.dst, text, sizeof text);
	if (in->prefix > bits) {
		zt_log(p->zi, ZT_LOG_ERR, "route %s/%u: %s", text, in->prefix, strerror(EINVAL));
		return -EINVAL;
	}
	if (gwf != AF_UNSPEC && gwf != family) {
		zt_log(p->zi, ZT_LOG_ERR, "route %s/%u: gateway of another family", text, in->prefix);
		return -EINVAL;
	}
	r.prefix = (uint8_t)in->prefix;
	tap_mask(r.dst, bits, r.prefix);
	if (gwf != AF_UNSPEC) {
		r.has_gw = 1;
		memcpy(r.gw, tap_sa_ip(&in->via), bits / 8);
		/* a gateway that is one of our own addresses would route to itself */
		for (unsigned i = 0; i < p->want_addrs.n; i++) {
			const struct tap_addr *a = (const struct tap_addr *)p->want_addrs.v + i;

			if (a->family == family && memcmp(a->ip, r.gw, bits / 8) == 0)
				return 0;
		}
	} else {
		/* the kernel already has the connected route of each address */
		for (unsigned i = 0; i < p->want_addrs.n; i++) {
			struct tap_addr a = ((const struct tap_addr *)p->want_addrs.v)[i];

			tap_mask(a.ip, bits, a.prefix);
			if (a.family == family && a.prefix == r.prefix && memcmp(a.ip, r.dst, bits / 8) == 0)
				return 0;
		}
	}
	r.metric = in->metric;
	if (r.prefix == 0) {
		r.prefix = 1;
		if ((err = tap_route_want(p, &r)) < 0)
			return err;
		r.dst[0] = 0x80;
	}
	return tap_route_want(p, &r);
}

/* Keeps a copy of the settings; logs and returns the first -errno of a bad
 * part (the good parts are kept). */
static int tap_settings_keep(struct tap *p, const struct zt_iface_settings *s)
{
	int err = 0, e;

	p->want_addrs.n = 0;
	p->want_routes.n = 0;
	if (s->n_addrs && !s->addrs) {
		zt_log(p->zi, ZT_LOG_ERR, "%u addresses: %s", s->n_addrs, strerror(EINVAL));
		err = -EINVAL;
	} else if (tap_set_reserve(&p->want_addrs, s->n_addrs, sizeof(struct tap_addr)) < 0) {
		return -ENOMEM;
	} else {
		for (unsigned i = 0; i < s->n_addrs; i++) {
			struct tap_addr a;

			e = tap_addr_from(p, &s->addrs[i], &a);
			if (e == 0 && !tap_set_has(&p->want_addrs, &a, sizeof a))
				e = tap_set_add(&p->want_addrs, &a, sizeof a);
			if (e < 0 && !err)
				err = e;
		}
	}
	if (s->n_routes && !s->routes) {
		zt_log(p->zi, ZT_LOG_ERR, "%u routes: %s", s->n_routes, strerror(EINVAL));
		if (!err)
			err = -EINVAL;
	} else {
		for (unsigned i = 0; i < s->n_routes; i++) {
			e = tap_route_from(p, &s->routes[i]);
			if (e < 0 && !err)
				err = e;
		}
	}
	if (tap_mac_set(s->mac)) {
		if (s->mac[0] & 1) {
			char mac[18];

			zt_log(p->zi, ZT_LOG_ERR, "mac %s: a multicast address",
			       tap_mac_str(s->mac, mac, sizeof mac));
			if (!err)
				err = -EINVAL;
		} else {
			memcpy(p->mac, s->mac, 6);
		}
	}
	if (s->mtu) {
		if (s->mtu < TAP_MTU_MIN || s->mtu > TAP_MTU_MAX) {
			zt_log(p->zi, ZT_LOG_ERR, "mtu %u: must be between %u and %u",
			       s->mtu, TAP_MTU_MIN, TAP_MTU_MAX);
			if (!err)
				err = -EINVAL;
		} else {
			__atomic_store_n(&p->mtu, s->mtu, __ATOMIC_RELAXED);
		}
	}
	p->up = s->up;
	p->have_settings = true;
	return err;
}

/* ---- making the device match ---- */

/* Sets what changed of the device's MAC, MTU and state (everything the
 * first time). */
static int tap_link_apply(struct tap *p, bool first)
{
	char what[64], mac[18];
	uint32_t u;
	int err = 0, e;

	if (first) {
		memset(p->cur_mac, 0, sizeof p->cur_mac);
		p->cur_mtu = 0;
		p->cur_up = -1;
	}
	if (tap_mac_set(p->mac) && memcmp(p->mac, p->cur_mac, 6) != 0) {
		snprintf(what, sizeof what, "mac %s", tap_mac_str(p->mac, mac, sizeof mac));
		e = tap_nl_link(p, what, 0, 0, IFLA_ADDRESS, p->mac, 6);
		if (e == 0)
			memcpy(p->cur_mac, p->mac, 6);
		else if (!err)
			err = e;
	}
	if (p->mtu != p->cur_mtu) {
		u = p->mtu;
		snprintf(what, sizeof what, "mtu %u", p->mtu);
		e = tap_nl_link(p, what, 0, 0, IFLA_MTU, &u, sizeof u);
		if (e == 0)
			p->cur_mtu = p->mtu;
		else if (!err)
			err = e;
	}
	if (first) {
		e = tap_nl_promote_secondaries(p);
		if (e < 0 && !err)
			err = e;
		u = p->txqueuelen;
		snprintf(what, sizeof what, "txqueuelen %u", p->txqueuelen);
		e = tap_nl_link(p, what, 0, 0, IFLA_TXQLEN, &u, sizeof u);
		if (e < 0 && !err)
			err = e;
	}
	if (p->cur_up != (int)p->up) {
		e = tap_nl_link(p, p->up ? "up" : "down",
				p->up ? IFF_UP | IFF_MULTICAST : IFF_MULTICAST,
				IFF_UP | IFF_MULTICAST, 0, NULL, 0);
		if (e == 0)
			p->cur_up = p->up;
		else if (!err)
			err = e;
	}
	return err;
}

/* Removes what this module added and is no longer wanted: routes first,
 * then addresses.  With all set, removes everything it added. */
static int tap_prune(struct tap *p, bool all)
{
	char text[INET6_ADDRSTRLEN + 80];
	int err = 0, e;

	for (unsigned i = p->own_routes.n; i-- > 0;) {
		const struct tap_route *r = (const struct tap_route *)p->own_routes.v + i;

		if (!all && p->up && tap_set_has(&p->want_routes, r, sizeof *r))
			continue;
		e = tap_nl_route(p, RTM_DELROUTE, r);
		/* gone already: the kernel drops routes of a device going down */
		if (e < 0 && e != -ESRCH && e != -ENOENT && e != -ENODEV) {
			(*p->netlink_errors)++;
			zt_log(p->zi, ZT_LOG_ERR, "del %s: %s", tap_route_str(r, text, sizeof text),
			       strerror(-e));
			if (!err)
				err = e;
			if (!all)
				continue;
		}
		tap_set_del(&p->own_routes, i, sizeof *r);
	}
	for (unsigned i = p->own_addrs.n; i-- > 0;) {
		const struct tap_addr *a = (const struct tap_addr *)p->own_addrs.v + i;

		if (!all && tap_set_has(&p->want_addrs, a, sizeof *a))
			continue;
		e = tap_nl_addr(p, RTM_DELADDR, a);
		if (e < 0 && e != -EADDRNOTAVAIL && e != -ENOENT && e != -ENODEV) {
			(*p->netlink_errors)++;
			zt_log(p->zi, ZT_LOG_ERR, "del %s: %s", tap_addr_str(a, text, sizeof text),
			       strerror(-e));
			if (!err)
				err = e;
			if (!all)
				continue;
		}
		tap_set_del(&p->own_addrs, i, sizeof *a);
	}
	return err;
}

/* Adds every wanted address and route the device lacks.  Those present
 * already are left as they are, and this module only takes ownership of
 * what it added itself. */
static int tap_fill(struct tap *p)
{
	char text[INET6_ADDRSTRLEN * 2 + 80];
	int err = 0, e;

	for (unsigned i = 0; i < p->want_addrs.n; i++) {
		const struct tap_addr *a = (const struct tap_addr *)p->want_addrs.v + i;

		e = tap_nl_addr(p, RTM_NEWADDR, a);
		if (e == 0 && !tap_set_has(&p->own_addrs, a, sizeof *a))
			e = tap_set_add(&p->own_addrs, a, sizeof *a);
		if (e < 0 && e != -EEXIST) {
			if (e != -ENOMEM)
				(*p->netlink_errors)++;
			zt_log(p->zi, ZT_LOG_ERR, "add %s: %s", tap_addr_str(a, text, sizeof text),
			       strerror(-e));
			if (!err)
				err = e;
		}
	}
	/* a device that is down takes no routes */
	for (unsigned i = 0; p->up && i < p->want_routes.n; i++) {
		const struct tap_route *r = (const struct tap_route *)p->want_routes.v + i;

		e = tap_nl_route(p, RTM_NEWROUTE, r);
		if (e == 0 && !tap_set_has(&p->own_routes, r, sizeof *r))
			e = tap_set_add(&p->own_routes, r, sizeof *r);
		if (e < 0 && e != -EEXIST) {
			if (e != -ENOMEM)
				(*p->netlink_errors)++;
			zt_log(p->zi, ZT_LOG_ERR, "add %s: %s", tap_route_str(r, text, sizeof text),
			       strerror(-e));
			if (!err)
				err = e;
		}
	}
	return err;
}

static int tap_apply(struct tap *p, bool first)
{
	int err, e;

	err = tap_prune(p, false);
	e = tap_link_apply(p, first);
	if (e < 0 && !err)
		err = e;
	e = tap_fill(p);
	if (e < 0 && !err)
		err = e;
	return err;
}

static int tap_configure(void *state, const struct zt_iface_settings *s)
{
	struct tap *p = state;
	int err, e;

	if (!s) {
		zt_log(p->zi, ZT_LOG_ERR, "configure without settings: %s", strerror(EINVAL));
		return -EINVAL;
	}
	err = tap_settings_keep(p, s);
	if (err == -ENOMEM) {
		zt_log(p->zi, ZT_LOG_ERR, "configure: %s", strerror(ENOMEM));
		return err;
	}
	if (!p->started)
		return err;
	e = tap_apply(p, false);
	return err < 0 ? err : e;
}

/* ---- offloads: super-frames and checksums the host left to us ---- */

/* The one's complement sum of len bytes, as 16-bit words loaded in host
 * order (the sum does not depend on the order, RFC 1071); an odd last byte
 * is padded with a zero.  Pieces summed one after the other must all have
 * an even length except the last. */
static uint64_t tap_sum(uint64_t acc, const uint8_t *d, size_t len)
{
	uint32_t w;
	uint16_t h;

	for (; len >= 4; d += 4, len -= 4) {
		memcpy(&w, d, 4);
		acc += w;
	}
	if (len >= 2) {
		memcpy(&h, d, 2);
		acc += h;
		d += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { d[0], 0 };

		memcpy(&h, last, 2);
		acc += h;
	}
	return acc;
}

/* The checksum of a sum, in the order the words were loaded. */
static uint16_t tap_csum(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

static unsigned tap_get16(const uint8_t *d)
{
	return (unsigned)d[0] << 8 | d[1];
}

static void tap_put16(uint8_t *d, size_t v)
{
	d[0] = (uint8_t)(v >> 8);
	d[1] = (uint8_t)v;
}

/* The offset of the network header and its ethertype: after the Ethernet
 * header and at most one 802.1Q or 802.1ad tag.  0 if the frame is too
 * short for them. */
static size_t tap_l3(const uint8_t *f, size_t len, unsigned *type)
{
	size_t l3 = TAP_ETH_HLEN;

	if (len < TAP_ETH_HLEN)
		return 0;
	*type = tap_get16(f + 12);
	if (*type == 0x8100 || *type == 0x88a8) {
		l3 += TAP_VLAN_HLEN;
		if (len < l3)
			return 0;
		*type = tap_get16(f + 16);
	}
	return l3;
}

/* A TCP super-frame taken apart: where its headers are and how it is cut. */
struct tap_gso {
	size_t l3;        /* offset of the IP header */
	size_t l4;        /* offset of the TCP header */
	size_t hlen;      /* Ethernet, IP and TCP headers: copied to each segment */
	size_t payload;   /* TCP payload bytes after them */
	size_t mss;       /* payload bytes per segment */
	unsigned nseg;
	bool v6;
};

/* Checks a GSO frame of len bytes and plans its segments: each one's IP
 * packet fits mtu.  0, or -EINVAL for anything but a well-formed IPv4 or
 * IPv6 TCP frame of the type the header says. */
static int tap_gso_parse(const struct virtio_net_hdr *h, const uint8_t *f, size_t len,
			 unsigned mtu, struct tap_gso *g)
{
	unsigned type = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN, et = 0, next;
	size_t l3, l4, iplen, thl;

	l3 = tap_l3(f, len, &et);
	if (!l3)
		return -EINVAL;
	if (type == VIRTIO_NET_HDR_GSO_TCPV4) {
		if (et != 0x0800 || len < l3 + 20 || f[l3] >> 4 != 4)
			return -EINVAL;
		l4 = l3 + (size_t)(f[l3] & 15) * 4;
		iplen = tap_get16(f + l3 + 2);
		/* no options cut short, TCP, not a fragment (MF or an offset) */
		if (l4 < l3 + 20 || len < l4 || f[l3 + 9] != IPPROTO_TCP ||
		    (f[l3 + 6] & 0x3f) || f[l3 + 7])
			return -EINVAL;
		g->v6 = false;
	} else if (type == VIRTIO_NET_HDR_GSO_TCPV6) {
		if (et != 0x86dd || len < l3 + 40 || f[l3] >> 4 != 6)
			return -EINVAL;
		iplen = tap_get16(f + l3 + 4);
		if (iplen)
			iplen += 40;
		/* hop-by-hop, routing and destination options may come first */
		next = f[l3 + 6];
		l4 = l3 + 40;
		while (next == 0 || next == 43 || next == 60) {
			if (len < l4 + 8 || l4 - l3 > 40 + 256)
				return -EINVAL;
			next = f[l4];
			l4 += ((size_t)f[l4 + 1] + 1) * 8;
		}
		if (next != IPPROTO_TCP)
			return -EINVAL;
		g->v6 = true;
	} else {
		return -EINVAL;
	}
	/* the IP length, if set, says where the packet ends */
	if (iplen) {
		if (iplen > len - l3)
			return -EINVAL;
		len = l3 + iplen;
	}
	if (len < l4 + 20)
		return -EINVAL;
	thl = (size_t)(f[l4 + 12] >> 4) * 4;
	if (thl < 20 || len < l4 + thl || h->gso_size == 0)
		return -EINVAL;
	g->l3 = l3;
	g->l4 = l4;
	g->hlen = l4 + thl;
	g->payload = len - g->hlen;
	if (mtu <= g->hlen - l3)
		return -EINVAL;
	g->mss = h->gso_size;
	if (g->mss > mtu - (g->hlen - l3))
		g->mss = mtu - (g->hlen - l3);
	g->nseg = g->payload ? (unsigned)((g->payload + g->mss - 1) / g->mss) : 1;
	return 0;
}

/* Writes segment i of the super-frame f into out (room for l3 plus the
 * MTU given to tap_gso_parse) with its lengths, IPv4 id, sequence number,
 * flags and checksums set; returns the segment's length. */
static size_t tap_gso_segment(const struct tap_gso *g, const uint8_t *f, unsigned i, uint8_t *out)
{
	size_t off = (size_t)i * g->mss;
	size_t chunk = g->payload - off < g->mss ? g->payload - off : g->mss;
	size_t tcplen = g->hlen - g->l4 + chunk;
	uint8_t *ip = out + g->l3, *tcp = out + g->l4, pseudo[8];
	uint32_t seq;
	uint64_t acc;
	uint16_t sum;

	memcpy(out, f, g->hlen);
	memcpy(out + g->hlen, f + g->hlen + off, chunk);
	if (!g->v6) {
		tap_put16(ip + 2, g->hlen - g->l3 + chunk);
		tap_put16(ip + 4, (tap_get16(ip + 4) + i) & 0xffff);
		ip[10] = ip[11] = 0;
		sum = tap_csum(tap_sum(0, ip, g->l4 - g->l3));
		memcpy(ip + 10, &sum, 2);
		acc = tap_sum(0, ip + 12, 8);
		pseudo[0] = 0;
		pseudo[1] = IPPROTO_TCP;
		tap_put16(pseudo + 2, tcplen);
		acc = tap_sum(acc, pseudo, 4);
	} else {
		tap_put16(ip + 4, g->hlen - g->l3 - 40 + chunk);
		acc = tap_sum(0, ip + 8, 32);
		tap_put16(pseudo, tcplen >> 16);
		tap_put16(pseudo + 2, tcplen & 0xffff);
		pseudo[4] = pseudo[5] = pseudo[6] = 0;
		pseudo[7] = IPPROTO_TCP;
		acc = tap_sum(acc, pseudo, 8);
	}
	seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
	seq += (uint32_t)off;
	tcp[4] = (uint8_t)(seq >> 24);
	tcp[5] = (uint8_t)(seq >> 16);
	tcp[6] = (uint8_t)(seq >> 8);
	tcp[7] = (uint8_t)seq;
	if (i + 1 < g->nseg)
		tcp[13] &= (uint8_t)~0x09;   /* FIN, PSH: the last segment's */
	if (i > 0)
		tcp[13] &= (uint8_t)~0x80;   /* CWR: the first segment's */
	tcp[16] = tcp[17] = 0;
	sum = tap_csum(tap_sum(acc, tcp, tcplen));
	memcpy(tcp + 16, &sum, 2);
	return g->hlen + chunk;
}

/* Fills in the checksum the host left to us (VIRTIO_NET_HDR_F_NEEDS_CSUM):
 * from csum_start to the end of the frame, where the host already put the
 * pseudo-header's sum, stored at csum_start + csum_offset.  0 or -EINVAL. */
static int tap_csum_partial(const struct virtio_net_hdr *h, uint8_t *f, size_t len)
{
	size_t start = h->csum_start, at = start + h->csum_offset;
	uint16_t sum;

	if (start >= len || at + 2 > len)
		return -EINVAL;
	sum = tap_csum(tap_sum(0, f + start, len - start));
	/* UDP's checksum field is at 6: there a zero means none */
	if (sum == 0 && h->csum_offset == 6)
		sum = 0xffff;
	memcpy(f + at, &sum, 2);
	return 0;
}

/* ---- reading: frames the host sends ---- */

/* A queue takes the MTU its instance was last configured with. */
static void tap_mtu_follow(struct tap *p)
{
	if (p->instance)
		p->mtu = __atomic_load_n(&p->instance->mtu, __ATOMIC_RELAXED);
}

/* Buffers for frames up to the current MTU; called where no frame is
 * borrowed.  On failure the old ones stay and longer frames are lost. */
static void tap_buffers_fit(struct tap *p)
{
	size_t slot = (size_t)p->mtu + TAP_SLOT_EXTRA;
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
	unsigned mtu = p->mtu;
	struct tap_gso g;

	/* the whole frame in one place, out of the slots it is cut into */
	memcpy(f, p->buf + (size_t)n * p->slot, len < p->slot ? len : p->slot);
	/* buffers that could not grow with the MTU bound the segments */
	if (mtu > p->slot - TAP_SLOT_EXTRA)
		mtu = (unsigned)(p->slot - TAP_SLOT_EXTRA);
	if (tap_gso_parse(h, f, len, mtu, &g) < 0) {
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
		l = tap_gso_segment(&g, f, i, out);
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
		zt_log(p->zi, ZT_LOG_ERR, "read %s: %s", p->dev, strerror(errno));
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
			{ .iov_base = &h, .iov_len = TAP_VNET_HLEN },
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
		if (r < (ssize_t)(TAP_VNET_HLEN + TAP_ETH_HLEN)) {
			(*p->rx_short)++;
			continue;
		}
		len = (size_t)r - TAP_VNET_HLEN;
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
			if (tap_csum_partial(&h, dst, len) < 0) {
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
		if (r < TAP_ETH_HLEN) {
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

/* With offloads, before each frame: its checksums need no check, the
 * network's MAC has authenticated it. */
static const struct virtio_net_hdr tap_vnet_valid = {
	.flags = VIRTIO_NET_HDR_F_DATA_VALID,
	.gso_type = VIRTIO_NET_HDR_GSO_NONE,
};

static uint32_t tap_get32(const uint8_t *d)
{
	return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

/* Checks whether a frame for the host may be merged with others: an
 * untagged Ethernet frame holding exactly one IPv4 packet (no options, not
 * a fragment) or IPv6 packet (TCP right after the fixed header) of TCP
 * with payload and the flags ACK or ACK and PSH.  0 and s filled, or
 * -EINVAL. */
static int tap_gro_seg(const uint8_t *f, size_t len, struct tap_seg *s)
{
	const uint8_t *ip = f + TAP_ETH_HLEN, *tcp;
	size_t l4, iplen, thl;

	if (len < TAP_ETH_HLEN + 20)
		return -EINVAL;
	switch (tap_get16(f + 12)) {
	case 0x0800:
		/* IHL 5, TCP, no flag but DF, offset 0 */
		if (ip[0] != 0x45 || ip[9] != IPPROTO_TCP || (ip[6] & 0xbf) || ip[7])
			return -EINVAL;
		iplen = tap_get16(ip + 2);
		l4 = TAP_ETH_HLEN + 20;
		s->v6 = false;
		break;
	case 0x86dd:
		if (len < TAP_ETH_HLEN + 40 || ip[0] >> 4 != 6 || ip[6] != IPPROTO_TCP)
			return -EINVAL;
		iplen = 40 + tap_get16(ip + 4);
		l4 = TAP_ETH_HLEN + 40;
		s->v6 = true;
		break;
	default:
		return -EINVAL;
	}
	/* the packet ends the frame: no padding after it */
	if (TAP_ETH_HLEN + iplen != len || len < l4 + 20)
		return -EINVAL;
	tcp = f + l4;
	thl = (size_t)(tcp[12] >> 4) * 4;
	/* no reserved bits nor AE; no SYN, FIN, RST, URG, ECE or CWR */
	if (thl < 20 || len <= l4 + thl || (tcp[12] & 0x0f) || (tcp[13] & ~0x08) != 0x10)
		return -EINVAL;
	s->l4 = l4;
	s->hlen = l4 + thl;
	s->payload = len - s->hlen;
	return 0;
}

/* Whether the segment f (checked by tap_gro_seg) continues the frame being
 * merged: the same Ethernet header; the same IP version, addresses, TOS or
 * traffic class and flow label, TTL or hop limit and DF bit; the IPv4 id
 * one more than the last segment's (or the same, with DF); the same ports,
 * acknowledgement, window and TCP options; the next sequence number; no
 * more payload than the first segment; and room for it. */
static bool tap_gro_fits(const struct tap_gro *g, const uint8_t *f, const struct tap_seg *s)
{
	const uint8_t *ip = f + TAP_ETH_HLEN, *tcp = f + s->l4;
	const uint8_t *gip = g->buf + TAP_ETH_HLEN, *gtcp = g->buf + g->l4;

	if (!g->len || g->closed || s->v6 != g->v6 || s->hlen != g->hlen ||
	    s->payload > g->mss || g->len + s->payload > TAP_GRO_SIZE)
		return false;
	if (memcmp(f, g->buf, TAP_ETH_HLEN) != 0)
		return false;
	if (g->v6) {
		if (memcmp(ip, gip, 4) != 0 || memcmp(ip + 6, gip + 6, 34) != 0)
			return false;
	} else {
		unsigned id = tap_get16(ip + 4);

		if (ip[1] != gip[1] || memcmp(ip + 6, gip + 6, 4) != 0 ||
		    memcmp(ip + 12, gip + 12, 8) != 0)
			return false;
		if (id != ((g->id + 1) & 0xffff) && !(id == g->id && (ip[6] & 0x40)))
			return false;
	}
	/* ports; acknowledgement and data offset; window; options */
	if (memcmp(tcp, gtcp, 4) != 0 || memcmp(tcp + 8, gtcp + 8, 5) != 0 ||
	    memcmp(tcp + 14, gtcp + 14, 2) != 0 || memcmp(tcp + 20, gtcp + 20, g->hlen - g->l4 - 20) != 0)
		return false;
	return tap_get32(tcp + 4) == g->seq;
}

/* Takes the segment f of len bytes (checked by tap_gro_seg): the first one
 * whole, the others' payload after it.  A segment with PSH, one shorter
 * than the first, the last one allowed, or one that fills the buffer
 * closes the frame. */
static void tap_gro_take(struct tap_gro *g, const uint8_t *f, size_t len, const struct tap_seg *s)
{
	const uint8_t *tcp = f + s->l4;

	if (!g->len) {
		memcpy(g->buf, f, len);
		g->len = len;
		g->l4 = s->l4;
		g->hlen = s->hlen;
		g->mss = s->payload;
		g->v6 = s->v6;
		g->nseg = 0;
		g->bytes = 0;
		g->closed = false;
	} else {
		memcpy(g->buf + g->len, f + s->hlen, s->payload);
		g->len += s->payload;
		g->buf[g->l4 + 13] |= tcp[13] & 0x08;
	}
	g->nseg++;
	g->bytes += len;
	g->seq = tap_get32(tcp + 4) + (uint32_t)s->payload;
	if (!g->v6)
		g->id = tap_get16(f + TAP_ETH_HLEN + 4);
	if ((tcp[13] & 0x08) || s->payload < g->mss || g->nseg >= TAP_GRO_SEGS || g->len == TAP_GRO_SIZE)
		g->closed = true;
}

/* Finishes the frame held and fills in its vnet header h; returns its
 * length.  A single segment goes as it came.  A merged frame gets its IP
 * length (and IPv4 header checksum) and, as Linux does for a TCP GSO
 * packet, the pseudo-header's sum in the TCP checksum field, with GSO and
 * NEEDS_CSUM in h: the host cuts it or checks it as a whole. */
static size_t tap_gro_close(struct tap_gro *g, struct virtio_net_hdr *h)
{
	uint8_t *ip = g->buf + TAP_ETH_HLEN, *tcp = g->buf + g->l4, pseudo[8];
	size_t iplen = g->len - TAP_ETH_HLEN, tcplen = g->len - g->l4;
	uint64_t acc;
	uint16_t sum;

	if (g->nseg < 2) {
		*h = tap_vnet_valid;
		return g->len;
	}
	if (!g->v6) {
		tap_put16(ip + 2, iplen);
		ip[10] = ip[11] = 0;
		sum = tap_csum(tap_sum(0, ip, 20));
		memcpy(ip + 10, &sum, 2);
		acc = tap_sum(0, ip + 12, 8);
		pseudo[0] = 0;
		pseudo[1] = IPPROTO_TCP;
		tap_put16(pseudo + 2, tcplen);
		acc = tap_sum(acc, pseudo, 4);
	} else {
		tap_put16(ip + 4, iplen - 40);
		acc = tap_sum(0, ip + 8, 32);
		memset(pseudo, 0, sizeof pseudo);
		tap_put16(pseudo + 2, tcplen);
		pseudo[7] = IPPROTO_TCP;
		acc = tap_sum(acc, pseudo, 8);
	}
	sum = (uint16_t)~tap_csum(acc);
	memcpy(tcp + 16, &sum, 2);
	memset(h, 0, sizeof *h);
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->gso_type = g->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h->hdr_len = (uint16_t)g->hlen;
	h->gso_size = (uint16_t)g->mss;
	h->csum_start = (uint16_t)g->l4;
	h->csum_offset = 16;
	return g->len;
}

/* Writes one frame, after the vnet header h with offloads.  0 or -errno. */
static int tap_write(struct tap *p, const struct virtio_net_hdr *h, const uint8_t *d, size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)h, .iov_len = TAP_VNET_HLEN },
		{ .iov_base = (void *)d, .iov_len = len },
	};
	ssize_t w;

	do
		w = p->offload ? writev(p->fd, iov, 2) : write(p->fd, d, len);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : 0;
}

/* Counts n frames for the host lost to a failed write. */
static void tap_tx_lost(struct tap *p, int err, unsigned n)
{
	if (err == -EAGAIN || err == -EWOULDBLOCK || err == -ENOBUFS)
		*p->tx_dropped += n;
	else
		*p->tx_errors += n;
}

/* Writes out the frame being merged, if any. */
static void tap_gro_flush(struct tap *p)
{
	struct tap_gro *g = &p->gro;
	struct virtio_net_hdr h;
	size_t len;
	int err;

	if (!g->len)
		return;
	len = tap_gro_close(g, &h);
	err = tap_write(p, &h, g->buf, len);
	if (err < 0) {
		tap_tx_lost(p, err, g->nseg);
	} else {
		*p->tx_frames += g->nseg;
		*p->tx_bytes += g->bytes;
		if (g->nseg > 1) {
			(*p->gro_frames)++;
			*p->gro_segments += g->nseg;
		}
	}
	g->len = 0;
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
		size_t max = (size_t)p->mtu + TAP_ETH_HLEN;
		struct tap_seg s;
		int err;

		if (f[i].len < TAP_ETH_HLEN) {
			(*p->tx_short)++;
			continue;
		}
		if (f[i].data[12] == 0x81 && f[i].data[13] == 0x00)
			max += TAP_VLAN_HLEN;
		if (f[i].len > max) {
			(*p->tx_oversize)++;
			continue;
		}
		if (p->gro_on) {
			if (tap_gro_seg(f[i].data, f[i].len, &s) == 0) {
				if (!tap_gro_fits(&p->gro, f[i].data, &s))
					tap_gro_flush(p);
				tap_gro_take(&p->gro, f[i].data, f[i].len, &s);
				if (p->gro.closed)
					tap_gro_flush(p);
				taken++;
				continue;
			}
			/* what cannot join goes after what is held */
			tap_gro_flush(p);
		}
		err = tap_write(p, &tap_vnet_valid, f[i].data, f[i].len);
		if (err < 0) {
			tap_tx_lost(p, err, 1);
			continue;
		}
		(*p->tx_frames)++;
		*p->tx_bytes += f[i].len;
		taken++;
	}
	return (int)taken;
}

/* ---- multicast groups ---- */

static int tap_mac_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 6);
}

static int tap_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads the device's link-layer groups into mcast_new, sorted and unique.
 * Lines are "index name refcount global-users address-in-hex". */
static int tap_mcast_read(struct tap *p)
{
	struct tap_set *s = &p->mcast_new;
	char line[256];
	FILE *fp = fopen(TAP_MCAST_PATH, "re");
	unsigned out;

	if (!fp)
		return -errno;
	s->n = 0;
	while (fgets(line, sizeof line, fp)) {
		char name[IFNAMSIZ + 1], hex[64];
		unsigned users, gusers;
		uint8_t mac[6];
		int idx, i;

		if (sscanf(line, "%d %16s %u %u %63s", &idx, name, &users, &gusers, hex) != 5)
			continue;
		if (idx != p->ifindex || strlen(hex) != 12)
			continue;
		for (i = 0; i < 6; i++) {
			int hi = tap_hex(hex[2 * i]), lo = tap_hex(hex[2 * i + 1]);

			if (hi < 0 || lo < 0)
				break;
			mac[i] = (uint8_t)(hi << 4 | lo);
		}
		if (i < 6)
			continue;
		if (tap_set_add(s, mac, 6) < 0) {
			fclose(fp);
			return -ENOMEM;
		}
	}
	fclose(fp);
	if (s->n > 1)
		qsort(s->v, s->n, 6, tap_mac_cmp);
	out = 0;
	for (unsigned i = 0; i < s->n; i++) {
		uint8_t *m = (uint8_t *)s->v + (size_t)i * 6;

		if (out && memcmp(m, (uint8_t *)s->v + (size_t)(out - 1) * 6, 6) == 0)
			continue;
		memmove((uint8_t *)s->v + (size_t)out * 6, m, 6);
		out++;
	}
	s->n = out;
	return 0;
}

static void tap_mcast_poll(struct tap *p)
{
	struct tap_set t;
	int err = tap_mcast_read(p);

	if (err < 0) {
		if (!p->mcast_failed)
			zt_log(p->zi, ZT_LOG_WARN, "read %s: %s", TAP_MCAST_PATH, strerror(-err));
		p->mcast_failed = true;
		return;
	}
	p->mcast_failed = false;
	if (p->mcast_new.n == p->mcast.n &&
	    (p->mcast.n == 0 || memcmp(p->mcast_new.v, p->mcast.v, (size_t)p->mcast.n * 6) == 0))
		return;
	t = p->mcast;
	p->mcast = p->mcast_new;
	p->mcast_new = t;
	zt_iface_multicast(p->zi, p->mcast.v, p->mcast.n);
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
		zt_log(p->zi, ZT_LOG_WARN, "%s stays while %u queue%s open", p->dev, open,
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
	if (p->nl && p->ifindex > 0)
		tap_prune(p, true);
	p->own_addrs.n = 0;
	p->own_routes.n = 0;
	tap_nl_close(p);
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
		zt_log(p->zi, ZT_LOG_INFO, "%s%s closed", p->dev, p->instance ? ": queue" : "");
	}
	p->ifindex = 0;
	p->mcast.n = 0;
	p->started = false;
}

/* Opens the TAP device, with vnet headers and offloads if asked; logs
 * and returns -errno on failure, -EOPNOTSUPP (logged at info) if the
 * kernel refuses the offloads. */
static int tap_open(struct tap *p, bool vnet)
{
	struct ifreq ifr;
	int err, fd, hlen = (int)TAP_VNET_HLEN;

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
		     ioctl(fd, TUNSETOFFLOAD, (unsigned long)TAP_OFFLOADS) < 0)) {
		/* a queue cannot fall back: its device has vnet headers */
		zt_log(p->zi, p->instance ? ZT_LOG_ERR : ZT_LOG_INFO, "tap %s: offloads: %s%s",
		       ifr.ifr_name, strerror(errno), p->instance ? "" : "; frames one at a time");
		close(fd);
		return -EOPNOTSUPP;
	}
	/* a device left persistent by someone else goes away with us */
	ioctl(fd, TUNSETPERSIST, 0);
	memcpy(p->dev, ifr.ifr_name, sizeof p->dev);
	p->dev[sizeof p->dev - 1] = 0;
	p->ifindex = (int)if_nametoindex(p->dev);
	if (p->ifindex <= 0) {
		err = -errno;
		zt_log(p->zi, ZT_LOG_ERR, "tap %s: index: %s", p->dev, strerror(errno));
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
	memcpy(q->name, p->dev, sizeof q->name);
	q->offload = p->offload;
	err = tap_open(q, q->offload);
	if (err < 0)
		return err;
	tap_watch(q, loop);
	q->started = true;
	__atomic_add_fetch(&p->queues_open, 1, __ATOMIC_RELAXED);
	zt_log(q->zi, ZT_LOG_INFO, "%s: queue open, offloads %s, gro %s", q->dev,
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
	if (!p->have_settings)
		p->up = true;
	/* refused offloads fall back to frames one at a time, for good */
	p->offload = p->opt_offload && p->gbuf;
	err = tap_open(p, p->offload);
	if (err == -EOPNOTSUPP && p->offload) {
		p->opt_offload = p->offload = false;
		err = tap_open(p, false);
	}
	if (err < 0)
		return err;
	err = tap_nl_open(p);
	if (err < 0)
		goto fail;
	/* the device itself must take its MAC, MTU and flags; addresses and
	 * routes that fail are logged and the port runs without them */
	err = tap_link_apply(p, true);
	if (err < 0)
		goto fail;
	tap_fill(p);
	tap_buffers_fit(p);
	if (!p->buf) {
		err = -ENOMEM;
		goto fail;
	}
	tap_watch(p, loop);
	ev_timer_set(&p->mtimer, 0., p->mcast_every);
	ev_timer_start(loop, &p->mtimer);
	p->started = true;
	zt_log(p->zi, ZT_LOG_INFO, "%s: index %d, mtu %u, %s, offloads %s, gro %s", p->dev,
	       p->ifindex, p->mtu, p->up ? "up" : "down", p->offload ? "on" : "off",
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
	tap_set_free(&p->want_addrs);
	tap_set_free(&p->want_routes);
	tap_set_free(&p->own_addrs);
	tap_set_free(&p->own_routes);
	tap_set_free(&p->mcast);
	tap_set_free(&p->mcast_new);
	free(p->nlbuf);
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
		ZT_COUNTER_FIELD(struct tap, tx_frames),
		ZT_COUNTER_FIELD(struct tap, tx_bytes),
		ZT_COUNTER_FIELD(struct tap, tx_short),
		ZT_COUNTER_FIELD(struct tap, tx_oversize),
		ZT_COUNTER_FIELD(struct tap, tx_dropped),
		ZT_COUNTER_FIELD(struct tap, tx_errors),
		ZT_COUNTER_FIELD(struct tap, netlink_errors),
		ZT_COUNTER_FIELD(struct tap, tso_frames),
		ZT_COUNTER_FIELD(struct tap, tso_segments),
		ZT_COUNTER_FIELD(struct tap, csum_fixed),
		ZT_COUNTER_FIELD(struct tap, offload_dropped),
		ZT_COUNTER_FIELD(struct tap, gro_frames),
		ZT_COUNTER_FIELD(struct tap, gro_segments),
	};

	return zt_counters_bind(p->zi, p, fields, sizeof fields / sizeof fields[0]);
}

/* The node of key for an error message, or the instance's own. */
static const struct zt_node *tap_at(const struct zt_node *conf, const char *key)
{
	const struct zt_node *n = zt_node_get(conf, key);

	return n ? n : conf;
}

/* What the kernel accepts as an interface name (a "%d" in it is a
 * template the kernel fills). */
static const char *tap_name_check(const char *name)
{
	if (!*name)
		return "must not be empty";
	if (strlen(name) >= IFNAMSIZ)
		return "must be at most 15 characters";
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return "must not be '.' or '..'";
	for (const char *c = name; *c; c++)
		if (*c == '/' || *c == ':' || *c == ' ' || (*c >= '\t' && *c <= '\r'))
			return "must not contain '/', ':' or white space";
	return NULL;
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
	p->fd = -1;
	p->batch = batch;
	p->mtu = mtu;
	p->opt_offload = offload;
	p->opt_gro = gro;
	p->frames = calloc(batch, sizeof *p->frames);
	if (offload)
		p->gbuf = malloc(TAP_GBUF_SIZE);
	if (offload && gro)
		p->gro.buf = malloc(TAP_GRO_SIZE);
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

	if (name && (why = tap_name_check(name))) {
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
	p->opt_mtu = p->mtu;
	p->txqueuelen = (unsigned)zt_conf_uint(conf, "txqueuelen");
	p->mcast_every = (double)every / 1000.;
	p->up = true;
	p->nlbuf = malloc(MNL_SOCKET_BUFFER_SIZE);
	if (!p->nlbuf) {
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
	q = tap_new(zi, p->batch, p->mtu, p->opt_offload, p->opt_gro);
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

	return t->dev[0] ? t->dev : NULL;
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
