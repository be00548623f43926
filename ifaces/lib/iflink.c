/* iflink: a network's port as a Linux network device, made to match the
 * settings the network gives it (<zt/module.h>, struct zt_iface_settings)
 * through rtnetlink (libmnl): MAC, MTU, state, addresses and routes, of
 * which only what this code added is ever removed.  Shared by the tap and
 * utun modules, compiled into each. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <sodium.h>

#include "iflink.h"

/* ---- small sets ---- */

static int iflink_set_reserve(struct iflink_set *s, unsigned n, size_t size)
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

int iflink_set_add(struct iflink_set *s, const void *item, size_t size)
{
	int err = iflink_set_reserve(s, s->n + 1, size);

	if (err < 0)
		return err;
	memcpy((uint8_t *)s->v + (size_t)s->n * size, item, size);
	s->n++;
	return 0;
}

bool iflink_set_has(const struct iflink_set *s, const void *item, size_t size)
{
	for (unsigned i = 0; i < s->n; i++)
		if (memcmp((const uint8_t *)s->v + (size_t)i * size, item, size) == 0)
			return true;
	return false;
}

static void iflink_set_del(struct iflink_set *s, unsigned i, size_t size)
{
	uint8_t *v = s->v;

	s->n--;
	if (i != s->n)
		memmove(v + (size_t)i * size, v + (size_t)(i + 1) * size, (size_t)(s->n - i) * size);
}

void iflink_set_free(struct iflink_set *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

/* ---- text for log messages ---- */

static const char *iflink_ip_str(int family, const uint8_t *ip, char *out, size_t len)
{
	if (!inet_ntop(family, ip, out, (socklen_t)len))
		snprintf(out, len, "?");
	return out;
}

static const char *iflink_addr_str(const struct iflink_addr *a, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	snprintf(out, len, "%s/%u", iflink_ip_str(a->family, a->ip, ip, sizeof ip), a->prefix);
	return out;
}

static const char *iflink_route_str(const struct iflink_route *r, char *out, size_t len)
{
	char dst[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];

	if (r->has_gw)
		snprintf(out, len, "route %s/%u via %s", iflink_ip_str(r->family, r->dst, dst, sizeof dst),
			 r->prefix, iflink_ip_str(r->family, r->gw, gw, sizeof gw));
	else
		snprintf(out, len, "route %s/%u on-link", iflink_ip_str(r->family, r->dst, dst, sizeof dst),
			 r->prefix);
	return out;
}

const char *iflink_mac_str(const uint8_t *mac, char *out, size_t len)
{
	snprintf(out, len, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return out;
}

/* ---- rtnetlink ---- */

int iflink_nl_open(struct iflink *p)
{
	struct timeval tv = { .tv_sec = IFLINK_NL_TIMEOUT_S };
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

void iflink_nl_close(struct iflink *p)
{
	if (p->nl) {
		mnl_socket_close(p->nl);
		p->nl = NULL;
	}
}

static struct nlmsghdr *iflink_nl_msg(struct iflink *p, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(p->nlbuf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++p->nl_seq;
	return nlh;
}

/* Sends a request built in nlbuf and waits for its acknowledgement.
 * 0 or the kernel's -errno. */
static int iflink_nl_talk(struct iflink *p, struct nlmsghdr *req)
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

static struct nlmsghdr *iflink_nl_link_msg(struct iflink *p, unsigned flags, unsigned change)
{
	struct nlmsghdr *nlh = iflink_nl_msg(p, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = p->ifindex;
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	return nlh;
}

/* Sends a link request; logs a failure as "what: error". */
static int iflink_nl_link_send(struct iflink *p, const char *what, struct nlmsghdr *nlh)
{
	int err = iflink_nl_talk(p, nlh);

	if (err < 0) {
		(*p->netlink_errors)++;
		zt_log(p->zi, ZT_LOG_ERR, "%s: %s", what, strerror(-err));
	}
	return err;
}

static int iflink_nl_link(struct iflink *p, const char *what, unsigned flags, unsigned change,
		       uint16_t attr, const void *data, size_t len)
{
	struct nlmsghdr *nlh = iflink_nl_link_msg(p, flags, change);

	if (attr)
		mnl_attr_put(nlh, attr, len, data);
	return iflink_nl_link_send(p, what, nlh);
}

/* Sets the device's IPv4 promote_secondaries: removing an address this
 * module added must not take with it the addresses others put in the same
 * subnet after it (by default the kernel deletes a primary address's
 * secondaries with it). */
static int iflink_nl_promote_secondaries(struct iflink *p)
{
	struct nlmsghdr *nlh = iflink_nl_link_msg(p, 0, 0);
	struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	struct nlattr *inet = mnl_attr_nest_start(nlh, AF_INET);
	struct nlattr *conf = mnl_attr_nest_start(nlh, IFLA_INET_CONF);

	mnl_attr_put_u32(nlh, IPV4_DEVCONF_PROMOTE_SECONDARIES, 1);
	mnl_attr_nest_end(nlh, conf);
	mnl_attr_nest_end(nlh, inet);
	mnl_attr_nest_end(nlh, spec);
	return iflink_nl_link_send(p, "promote_secondaries", nlh);
}

/* Adds or removes one address.  0 or -errno, not logged. */
static int iflink_nl_addr(struct iflink *p, uint16_t type, const struct iflink_addr *a)
{
	struct nlmsghdr *nlh = iflink_nl_msg(p, type,
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
	return iflink_nl_talk(p, nlh);
}

/* Adds or removes one route through the device.  0 or -errno, not logged. */
static int iflink_nl_route(struct iflink *p, uint16_t type, const struct iflink_route *r)
{
	struct nlmsghdr *nlh = iflink_nl_msg(p, type,
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
	return iflink_nl_talk(p, nlh);
}

/* ---- the desired state ---- */

static bool iflink_mac_set(const uint8_t *mac)
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, 6) != 0;
}

/* The address bytes of a sockaddr of family AF_INET or AF_INET6. */
static const uint8_t *iflink_sa_ip(const union zt_sockaddr *sa)
{
	return sa->sa.sa_family == AF_INET ? (const uint8_t *)&sa->in4.sin_addr
					   : (const uint8_t *)&sa->in6.sin6_addr;
}

static unsigned iflink_family_bits(int family)
{
	return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

void iflink_mask(uint8_t *ip, unsigned bits, unsigned prefix)
{
	for (unsigned i = 0; i < bits / 8; i++) {
		unsigned keep = prefix >= (i + 1) * 8 ? 8 : prefix > i * 8 ? prefix - i * 8 : 0;

		ip[i] &= (uint8_t)(0xff00u >> keep);
	}
}

/* Checks one address of the settings; logs and returns -errno if bad. */
static int iflink_addr_from(struct iflink *p, const struct zt_iface_addr *in, struct iflink_addr *out)
{
	int family = in->addr.sa.sa_family;
	unsigned bits = iflink_family_bits(family);
	char text[INET6_ADDRSTRLEN + 8];

	if (!bits) {
		zt_log(p->zi, ZT_LOG_ERR, "address of family %d: %s", family, strerror(EAFNOSUPPORT));
		return -EAFNOSUPPORT;
	}
	memset(out, 0, sizeof *out);
	out->family = (uint8_t)family;
	memcpy(out->ip, iflink_sa_ip(&in->addr), bits / 8);
	out->prefix = (uint8_t)(in->prefix <= bits ? in->prefix : bits);
	if (in->prefix > bits) {
		iflink_ip_str(family, out->ip, text, sizeof text);
		zt_log(p->zi, ZT_LOG_ERR, "add %s/%u: %s", text, in->prefix, strerror(EINVAL));
		return -EINVAL;
	}
	return 0;
}

static int iflink_route_want(struct iflink *p, const struct iflink_route *r)
{
	if (iflink_set_has(&p->want_routes, r, sizeof *r))
		return 0;
	return iflink_set_add(&p->want_routes, r, sizeof *r);
}

/* Checks one route of the settings and adds what the kernel gets for it to
 * the wanted set: a default route becomes two halves, so that it wins over
 * the host's default without replacing it.  Logs and returns -errno if bad. */
static int iflink_route_from(struct iflink *p, const struct zt_iface_route *in)
{
	int family = in->target.sa.sa_family, gwf = in->via.sa.sa_family;
	unsigned bits = iflink_family_bits(family);
	struct iflink_route r;
	char text[INET6_ADDRSTRLEN + 8];
	int err;

	if (!bits) {
		zt_log(p->zi, ZT_LOG_ERR, "route of family %d: %s", family, strerror(EAFNOSUPPORT));
		return -EAFNOSUPPORT;
	}
	memset(&r, 0, sizeof r);
	r.family = (uint8_t)family;
	memcpy(r.dst, iflink_sa_ip(&in->target), bits / 8);
	iflink_ip_str(family, r.dst, text, sizeof text);
	if (in->prefix > bits) {
		zt_log(p->zi, ZT_LOG_ERR, "route %s/%u: %s", text, in->prefix, strerror(EINVAL));
		return -EINVAL;
	}
	if (gwf != AF_UNSPEC && gwf != family) {
		zt_log(p->zi, ZT_LOG_ERR, "route %s/%u: gateway of another family", text, in->prefix);
		return -EINVAL;
	}
	r.prefix = (uint8_t)in->prefix;
	iflink_mask(r.dst, bits, r.prefix);
	if (gwf != AF_UNSPEC) {
		r.has_gw = 1;
		memcpy(r.gw, iflink_sa_ip(&in->via), bits / 8);
		/* a gateway that is one of our own addresses would route to itself */
		for (unsigned i = 0; i < p->want_addrs.n; i++) {
			const struct iflink_addr *a = (const struct iflink_addr *)p->want_addrs.v + i;

			if (a->family == family && memcmp(a->ip, r.gw, bits / 8) == 0)
				return 0;
		}
	} else {
		/* the kernel already has the connected route of each address */
		for (unsigned i = 0; i < p->want_addrs.n; i++) {
			struct iflink_addr a = ((const struct iflink_addr *)p->want_addrs.v)[i];

			iflink_mask(a.ip, bits, a.prefix);
			if (a.family == family && a.prefix == r.prefix && memcmp(a.ip, r.dst, bits / 8) == 0)
				return 0;
		}
	}
	r.metric = in->metric;
	if (r.prefix == 0) {
		r.prefix = 1;
		if ((err = iflink_route_want(p, &r)) < 0)
			return err;
		r.dst[0] = 0x80;
	}
	return iflink_route_want(p, &r);
}

/* Keeps a copy of the settings; logs and returns the first -errno of a bad
 * part (the good parts are kept). */
int iflink_settings_keep(struct iflink *p, const struct zt_iface_settings *s)
{
	int err = 0, e;

	p->want_addrs.n = 0;
	p->want_routes.n = 0;
	if (s->n_addrs && !s->addrs) {
		zt_log(p->zi, ZT_LOG_ERR, "%u addresses: %s", s->n_addrs, strerror(EINVAL));
		err = -EINVAL;
	} else if (iflink_set_reserve(&p->want_addrs, s->n_addrs, sizeof(struct iflink_addr)) < 0) {
		return -ENOMEM;
	} else {
		for (unsigned i = 0; i < s->n_addrs; i++) {
			struct iflink_addr a;

			e = iflink_addr_from(p, &s->addrs[i], &a);
			if (e == 0 && !iflink_set_has(&p->want_addrs, &a, sizeof a))
				e = iflink_set_add(&p->want_addrs, &a, sizeof a);
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
			e = iflink_route_from(p, &s->routes[i]);
			if (e < 0 && !err)
				err = e;
		}
	}
	if (iflink_mac_set(s->mac)) {
		if (s->mac[0] & 1) {
			char mac[18];

			zt_log(p->zi, ZT_LOG_ERR, "mac %s: a multicast address",
			       iflink_mac_str(s->mac, mac, sizeof mac));
			if (!err)
				err = -EINVAL;
		} else {
			memcpy(p->mac, s->mac, 6);
		}
	}
	if (s->mtu) {
		if (s->mtu < IFLINK_MTU_MIN || s->mtu > IFLINK_MTU_MAX) {
			zt_log(p->zi, ZT_LOG_ERR, "mtu %u: must be between %u and %u",
			       s->mtu, IFLINK_MTU_MIN, IFLINK_MTU_MAX);
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
int iflink_link_apply(struct iflink *p, bool first)
{
	char what[64], mac[18];
	uint32_t u;
	int err = 0, e;

	if (first) {
		memset(p->cur_mac, 0, sizeof p->cur_mac);
		p->cur_mtu = 0;
		p->cur_up = -1;
	}
	if (p->has_mac && iflink_mac_set(p->mac) && memcmp(p->mac, p->cur_mac, 6) != 0) {
		snprintf(what, sizeof what, "mac %s", iflink_mac_str(p->mac, mac, sizeof mac));
		e = iflink_nl_link(p, what, 0, 0, IFLA_ADDRESS, p->mac, 6);
		if (e == 0)
			memcpy(p->cur_mac, p->mac, 6);
		else if (!err)
			err = e;
	}
	if (p->mtu != p->cur_mtu) {
		u = p->mtu;
		snprintf(what, sizeof what, "mtu %u", p->mtu);
		e = iflink_nl_link(p, what, 0, 0, IFLA_MTU, &u, sizeof u);
		if (e == 0)
			p->cur_mtu = p->mtu;
		else if (!err)
			err = e;
	}
	if (first) {
		e = iflink_nl_promote_secondaries(p);
		if (e < 0 && !err)
			err = e;
		u = p->txqueuelen;
		snprintf(what, sizeof what, "txqueuelen %u", p->txqueuelen);
		e = iflink_nl_link(p, what, 0, 0, IFLA_TXQLEN, &u, sizeof u);
		if (e < 0 && !err)
			err = e;
	}
	if (p->cur_up != (int)p->up) {
		e = iflink_nl_link(p, p->up ? "up" : "down",
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
int iflink_prune(struct iflink *p, bool all)
{
	char text[INET6_ADDRSTRLEN + 80];
	int err = 0, e;

	for (unsigned i = p->own_routes.n; i-- > 0;) {
		const struct iflink_route *r = (const struct iflink_route *)p->own_routes.v + i;

		if (!all && p->up && iflink_set_has(&p->want_routes, r, sizeof *r))
			continue;
		e = iflink_nl_route(p, RTM_DELROUTE, r);
		/* gone already: the kernel drops routes of a device going down */
		if (e < 0 && e != -ESRCH && e != -ENOENT && e != -ENODEV) {
			(*p->netlink_errors)++;
			zt_log(p->zi, ZT_LOG_ERR, "del %s: %s", iflink_route_str(r, text, sizeof text),
			       strerror(-e));
			if (!err)
				err = e;
			if (!all)
				continue;
		}
		iflink_set_del(&p->own_routes, i, sizeof *r);
	}
	for (unsigned i = p->own_addrs.n; i-- > 0;) {
		const struct iflink_addr *a = (const struct iflink_addr *)p->own_addrs.v + i;

		if (!all && iflink_set_has(&p->want_addrs, a, sizeof *a))
			continue;
		e = iflink_nl_addr(p, RTM_DELADDR, a);
		if (e < 0 && e != -EADDRNOTAVAIL && e != -ENOENT && e != -ENODEV) {
			(*p->netlink_errors)++;
			zt_log(p->zi, ZT_LOG_ERR, "del %s: %s", iflink_addr_str(a, text, sizeof text),
			       strerror(-e));
			if (!err)
				err = e;
			if (!all)
				continue;
		}
		iflink_set_del(&p->own_addrs, i, sizeof *a);
	}
	return err;
}

/* Adds every wanted address and route the device lacks.  Those present
 * already are left as they are, and this module only takes ownership of
 * what it added itself. */
int iflink_fill(struct iflink *p)
{
	char text[INET6_ADDRSTRLEN * 2 + 80];
	int err = 0, e;

	for (unsigned i = 0; i < p->want_addrs.n; i++) {
		const struct iflink_addr *a = (const struct iflink_addr *)p->want_addrs.v + i;

		e = iflink_nl_addr(p, RTM_NEWADDR, a);
		if (e == 0 && !iflink_set_has(&p->own_addrs, a, sizeof *a))
			e = iflink_set_add(&p->own_addrs, a, sizeof *a);
		if (e < 0 && e != -EEXIST) {
			if (e != -ENOMEM)
				(*p->netlink_errors)++;
			zt_log(p->zi, ZT_LOG_ERR, "add %s: %s", iflink_addr_str(a, text, sizeof text),
			       strerror(-e));
			if (!err)
				err = e;
		}
	}
	/* a device that is down takes no routes */
	for (unsigned i = 0; p->up && i < p->want_routes.n; i++) {
		const struct iflink_route *r = (const struct iflink_route *)p->want_routes.v + i;

		e = iflink_nl_route(p, RTM_NEWROUTE, r);
		if (e == 0 && !iflink_set_has(&p->own_routes, r, sizeof *r))
			e = iflink_set_add(&p->own_routes, r, sizeof *r);
		if (e < 0 && e != -EEXIST) {
			if (e != -ENOMEM)
				(*p->netlink_errors)++;
			zt_log(p->zi, ZT_LOG_ERR, "add %s: %s", iflink_route_str(r, text, sizeof text),
			       strerror(-e));
			if (!err)
				err = e;
		}
	}
	return err;
}

int iflink_apply(struct iflink *p, bool first)
{
	int err, e;

	err = iflink_prune(p, false);
	e = iflink_link_apply(p, first);
	if (e < 0 && !err)
		err = e;
	e = iflink_fill(p);
	if (e < 0 && !err)
		err = e;
	return err;
}

int iflink_configure(struct iflink *p, const struct zt_iface_settings *s, bool started)
{
	int err, e;

	if (!s) {
		zt_log(p->zi, ZT_LOG_ERR, "configure without settings: %s", strerror(EINVAL));
		return -EINVAL;
	}
	err = iflink_settings_keep(p, s);
	if (err == -ENOMEM) {
		zt_log(p->zi, ZT_LOG_ERR, "configure: %s", strerror(ENOMEM));
		return err;
	}
	if (!started)
		return err;
	e = iflink_apply(p, false);
	return err < 0 ? err : e;
}

/* What the kernel accepts as an interface name (a "%d" in it is a
 * template the kernel fills). */
void iflink_close(struct iflink *p)
{
	if (p->nl && p->ifindex > 0)
		iflink_prune(p, true);
	p->own_addrs.n = 0;
	p->own_routes.n = 0;
	iflink_nl_close(p);
	p->ifindex = 0;
}

void iflink_free(struct iflink *p)
{
	iflink_set_free(&p->want_addrs);
	iflink_set_free(&p->want_routes);
	iflink_set_free(&p->own_addrs);
	iflink_set_free(&p->own_routes);
	free(p->nlbuf);
	p->nlbuf = NULL;
}

bool iflink_hex_bytes(const char *hex, uint8_t *out, size_t n)
{
	size_t len = strlen(hex), got = 0;
	const char *end = NULL;

	return len == 2 * n && sodium_hex2bin(out, n, hex, len, NULL, &got, &end) == 0 && got == n &&
	       end == hex + len;
}

static int iflink_mac_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 6);
}

void iflink_mcast_update(struct zt_inst *zi, struct iflink_set *cur, struct iflink_set *next)
{
	struct iflink_set t;
	unsigned out = 0;

	if (next->n > 1)
		qsort(next->v, next->n, 6, iflink_mac_cmp);
	for (unsigned i = 0; i < next->n; i++) {
		uint8_t *m = (uint8_t *)next->v + (size_t)i * 6;

		if (out && memcmp(m, (uint8_t *)next->v + (size_t)(out - 1) * 6, 6) == 0)
			continue;
		memmove((uint8_t *)next->v + (size_t)out * 6, m, 6);
		out++;
	}
	next->n = out;
	if (next->n == cur->n && (cur->n == 0 || memcmp(next->v, cur->v, (size_t)cur->n * 6) == 0))
		return;
	t = *cur;
	*cur = *next;
	*next = t;
	zt_iface_multicast(zi, cur->v, cur->n);
}

const char *iflink_name_check(const char *name)
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
