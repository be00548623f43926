/* iflink: a network's port as a Linux network device, made to match the
 * settings the network gives it through rtnetlink.  The tap and utun
 * modules each compile it in; the names are not exported. */
#ifndef ZT_IFLINK_H
#define ZT_IFLINK_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include <libmnl/libmnl.h>

#include <zt/module.h>

#define IFLINK_NL_TIMEOUT_S 2
#define IFLINK_MTU_MIN 1280
#define IFLINK_MTU_MAX 10000

/* An address or route in the form sent to the kernel: zeroed, then
 * filled, so that two of them compare with memcmp. */
struct iflink_addr {
	uint8_t family;
	uint8_t prefix;
	uint8_t ip[16];
};

struct iflink_route {
	uint8_t family;
	uint8_t prefix;
	uint8_t has_gw;
	uint8_t dst[16];
	uint8_t gw[16];
	uint32_t metric;
};

/* A growable array of fixed-size items. */
struct iflink_set {
	void *v;
	unsigned n, cap;
};

int iflink_set_add(struct iflink_set *s, const void *item, size_t size);
bool iflink_set_has(const struct iflink_set *s, const void *item, size_t size);
void iflink_set_free(struct iflink_set *s);

/* A device and what is wanted of it.  The owner fills zi, dev, ifindex,
 * has_mac, txqueuelen, nlbuf (MNL_SOCKET_BUFFER_SIZE bytes) and
 * netlink_errors; the rest is this code's. */
struct iflink {
	struct zt_inst *zi;
	char dev[IFNAMSIZ];      /* as the kernel named it */
	int ifindex;
	bool has_mac;            /* an Ethernet device (TAP), not a tun */
	unsigned txqueuelen;
	struct mnl_socket *nl;
	uint32_t nl_portid;
	uint32_t nl_seq;
	uint8_t *nlbuf;

	/* The last settings given; applied when the device opens too. */
	bool have_settings;
	uint8_t mac[6];
	unsigned mtu;            /* effective: configured, or the option; data
				  * paths on other threads read it atomically */
	bool up;
	struct iflink_set want_addrs;   /* struct iflink_addr */
	struct iflink_set want_routes;  /* struct iflink_route, defaults split */

	/* What the device was last set to, so that only changes are sent. */
	uint8_t cur_mac[6];
	unsigned cur_mtu;
	int cur_up;              /* -1: not set yet */

	/* What this code added and so may remove. */
	struct iflink_set own_addrs;
	struct iflink_set own_routes;

	uint64_t *netlink_errors;
};

/* "xx:xx:xx:xx:xx:xx" into out, returned. */
const char *iflink_mac_str(const uint8_t *mac, char *out, size_t len);
/* Clears the host bits of ip (bits long) after prefix. */
void iflink_mask(uint8_t *ip, unsigned bits, unsigned prefix);

/* The rtnetlink socket: 0 or -errno (logged). */
int iflink_nl_open(struct iflink *p);
void iflink_nl_close(struct iflink *p);

/* Keeps a copy of the settings; logs and returns the first -errno of a bad
 * part (the good parts are kept). */
int iflink_settings_keep(struct iflink *p, const struct zt_iface_settings *s);
/* Sets what changed of the device's MAC, MTU and state (everything, with
 * its txqueuelen and promote_secondaries, the first time). */
int iflink_link_apply(struct iflink *p, bool first);
/* Removes what this code added and is no longer wanted (all: everything
 * it added). */
int iflink_prune(struct iflink *p, bool all);
/* Adds every wanted address and route the device lacks. */
int iflink_fill(struct iflink *p);
/* Prune, link, fill: the device made to match.  0 or the first -errno. */
int iflink_apply(struct iflink *p, bool first);
/* configure() of an iface: keeps the settings, and once the device is
 * open (started) applies them.  0 or the first -errno, logged. */
int iflink_configure(struct iflink *p, const struct zt_iface_settings *s, bool started);
/* Before the device closes: removes everything this code added, closes
 * the rtnetlink socket, forgets the index. */
void iflink_close(struct iflink *p);
/* Frees the sets and nlbuf. */
void iflink_free(struct iflink *p);
/* Exactly 2 * n hex digits (either case) into out: true, else false. */
bool iflink_hex_bytes(const char *hex, uint8_t *out, size_t n);
/* The device's multicast groups read anew into next (6-byte MACs, in any
 * order, repeats allowed): sorted and made unique, and if they differ
 * from cur, they become cur and are reported (zt_iface_multicast). */
void iflink_mcast_update(struct zt_inst *zi, struct iflink_set *cur, struct iflink_set *next);
/* Why the kernel would refuse name as an interface name (a "%d" in it is
 * a template the kernel fills), NULL if it would not. */
const char *iflink_name_check(const char *name);

#endif
