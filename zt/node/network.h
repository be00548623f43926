/* Virtual networks (networks.md): joining, configs from the controller,
 * the port, frames, multicast and credentials.  Kernel-private; network.c
 * and port.c implement it, and share the part below marked theirs. */
#ifndef ZT_NETWORK_H
#define ZT_NETWORK_H

#include <zt/netconf.h>

#include "addrmap.h"
#include "core.h"
#include "send.h"     /* where the layer's packets go */
#include "worker.h"   /* ZT_MAX_WORKERS: a port has a queue per lane */

/* Members a network remembers at most (node.max-members, ztd.yaml(5)):
 * a bound on memory (some 400 bytes each), not on lookups, which take
 * the same time however many there are. */
#define ZT_NET_MAX_MEMBERS_DEFAULT 1048576
#define ZT_NET_MAX_MEMBERS_MIN 16
#define ZT_NET_MAX_MEMBERS_MAX 16777216
#define ZT_NET_MAX_OWN_GROUPS 64
/* member lists of groups (port.c): at most so many, each of at most
 * node.max-members */
#define ZT_MCAST_MAX_LISTS 262144
#define ZT_MCAST_LIKE_TTL_MS 600000
#define ZT_ANNOUNCE_MS 60000
#define ZT_CONFIG_RETRY_MS 5000
#define ZT_CONFIG_REFRESH_MS 60000
#define ZT_CREDS_REPUSH_MS 500000

struct zt_network;

/* From the pipeline: a network with its port and policy chains. */
struct zt_network *zt_network_new(struct zt_core *c, uint64_t nwid, struct zt_inst *iface,
				  struct zt_inst *const *ingress, unsigned n_ingress,
				  struct zt_inst *const *egress, unsigned n_egress);
void zt_network_free(struct zt_network *n);
/* From the pipeline: the settings ztd.yaml gives (bits of mask, in the
 * order of zt_net_setting_names); the API cannot change those. */
void zt_network_settings_fix(struct zt_network *n, const struct zt_net_settings *s, unsigned mask);
/* <home>/networks.d/<nwid>.<ext> (join, local.conf, netconf, resolv.conf;
 * malloc'd, NULL without a home), and the folder made (netlocal.c). */
char *zt_network_file(const struct zt_core *c, uint64_t nwid, const char *ext);
void zt_networks_dir_make(const struct zt_core *c);
/* Networks joined at run time (zt_core_join) and those joined again
 * at start from <home>/networks.d/. */
void zt_networks_rejoin(struct zt_core *c);
/* The networks' cached configs (netcache.h), applied at start. */
void zt_networks_restore(struct zt_core *c);
struct zt_network *zt_network_find(const struct zt_core *c, uint64_t nwid);

/* From vl1.c: network-layer verbs of an authenticated packet.  Returns
 * false if the packet does not count as received (an unexpected OK). */
struct zt_net_rx {
	struct zt_peer *peer;
	struct zt_path *path;
	uint8_t verb;
	uint64_t id;
	uint8_t *pl;             /* writable: frames are delivered in place */
	size_t pl_len;
	int64_t now;
};
void zt_network_verb(struct zt_core *c, const struct zt_net_rx *r);
/* OK(NETWORK_CONFIG_REQUEST), OK(MULTICAST_GATHER), OK(MULTICAST_FRAME) */
void zt_network_ok(struct zt_core *c, const struct zt_net_rx *r, uint8_t in_re_verb,
		   const uint8_t *data, size_t len);
/* ERROR codes of the network layer (networks.md §3.9). */
void zt_network_error(struct zt_core *c, const struct zt_net_rx *r, const struct zt_error *e);
void zt_networks_online(struct zt_core *c, int64_t now);
/* The networks' counters, as instance "network@<id>". */
void zt_networks_counters(const struct zt_core *c,
			  void (*fn)(void *ctx, const char *instance, const char *name, uint64_t value), void *ctx);
/* Timers: config requests, announcements to the controller and the
 * roots, the member lists' expiry. */
void zt_networks_tick(struct zt_core *c, int64_t now);
/* The members whose time has come (c->member_due), each tick: our
 * groups announced to those due, the members of forgotten peers
 * forgotten too. */
void zt_networks_housekeep(struct zt_core *c, int64_t now);
/* Roots and controllers keep member lists of networks they have not joined. */
void zt_mcast_free(struct zt_core *c);
/* A member of a group (a LIKE, a gather's answer): added or refreshed,
 * the group's pending multicasts sent to a new one. */
void zt_mcast_like(struct zt_core *c, uint64_t nwid, const struct zt_mcast_group *g, uint64_t address, int64_t now);
/* A gather result for requester into w (§3.4), at most limit addresses. */
struct zt_wr;
void zt_mcast_gather(struct zt_core *c, struct zt_wr *w, struct zt_network *n, uint64_t nwid,
		     const struct zt_mcast_group *g, uint64_t requester, unsigned limit);
/* Members known of a group. */
size_t zt_mcast_members(const struct zt_core *c, uint64_t nwid, const struct zt_mcast_group *g);

/* The lanes' fast path (worker.c): a FRAME or EXT_FRAME delivered
 * through the lane's queue of the port; false leaves it to the main loop. */
bool zt_network_fast_in(struct zt_lane *l, struct zt_peer *p, uint8_t verb, uint8_t *pl, size_t len, int64_t now);
/* A frame a worker left to the main loop. */
/* port.c: a member met on the LAN (lan.c) gets our credentials and groups */
void zt_network_meet(struct zt_network *n, struct zt_peer *p, int64_t now);
void zt_network_frame_in(struct zt_core *c, uint64_t nwid, uint8_t *data, size_t len);
/* The port's queue for a worker lane (1..), before the workers start. */
int zt_network_add_queue(struct zt_network *n, unsigned lane, struct zt_inst *queue);
struct zt_inst *zt_network_queue(const struct zt_network *n, unsigned lane);
/* A queue that did not start: the lane leaves the port's frames to the main loop. */
void zt_network_queue_off(struct zt_network *n, unsigned lane);
struct zt_core *zt_network_core(const struct zt_network *n);
uint64_t zt_network_id(const struct zt_network *n);

/* ---- inside the network layer: network.c and port.c ---- */

/* What a member holds besides its COM (networks.md §5.6): tags,
 * capabilities and certificates of ownership keyed by id, with revocation thresholds per (type, id).
 * Allocated for a member when it first shows or loses one, so that the
 * members that have none cost a pointer, and never moved: the usable
 * capabilities point into it. */
#define ZT_MEMBER_TAGS 32
#define ZT_MEMBER_CAPS 8
#define ZT_MEMBER_CAP_BYTES 512  /* encoded rules of one capability */
#define ZT_MEMBER_REVS 16
#define ZT_MEMBER_COOS 4

struct member_cap {
	uint32_t id;
	int64_t ts;
	unsigned n;
	size_t len;
	uint8_t rules[ZT_MEMBER_CAP_BYTES];
};

struct member_rev {
	uint8_t type;            /* ZT_CRED_TAG, ZT_CRED_CAPABILITY or ZT_CRED_COO */
	uint32_t id;
	int64_t threshold;
};

struct member_creds {
	unsigned ntags, ncaps, nrevs;
	struct zt_policy_tag tags[ZT_MEMBER_TAGS];   /* sorted by id */
	int64_t tag_ts[ZT_MEMBER_TAGS];
	struct member_cap caps[ZT_MEMBER_CAPS];
	struct member_rev revs[ZT_MEMBER_REVS];
	/* what the rules may use now (time-valid against our config, not
	 * revoked), rebuilt when either changes; handed to the policies */
	unsigned n_usable_tags, n_usable_caps;
	struct zt_policy_tag usable_tags[ZT_MEMBER_TAGS];
	struct zt_policy_cap usable_caps[ZT_MEMBER_CAPS];
};

/* A member's place on the core's wheel of members (c->member_due), kept
 * apart from the member, which moves in the array (growth, swap-remove):
 * the member is found again by its network and address. */
struct member_due {
	struct zt_due due;
	struct zt_network *n;
	uint64_t address;
};

struct member {
	uint64_t address;
	struct member_due *due;   /* when to look at it next (announce, forget) */
	bool has_com;
	struct zt_com com;
	int64_t com_threshold;   /* its COMs up to this timestamp are revoked */
	struct member_creds *creds;   /* NULL: none shown, none revoked */
	/* its certificates of ownership by id, the first n_usable_coos
	 * usable; apart from creds, as every member given IPs shows one */
	struct zt_coo *coos;
	uint8_t ncoos, n_usable_coos;
	uint64_t gate_epoch;     /* gate_ok holds for the network's gate_epoch */
	bool gate_ok;
	int64_t pushed;          /* our credentials pushed to it */
	int64_t announced;       /* our groups announced to it */
};

enum { NC_RX_FRAMES, NC_TX_FRAMES, NC_GATE_DROPS, NC_POLICY_DROPS, NC_NO_CONFIG, NC_BAD_FRAMES,
	NC_RX_DROPPED, NC_TX_DROPPED, NC_TX_NOT_BRIDGE, NC_RX_NOT_BRIDGE, NC_TX_BRIDGED, NC_RX_BRIDGED,
	NC_NDP_EMULATED, NC_MEMBERS_REFUSED, NC_COUNT };

/* A MAC learned behind an active bridge (§3.2): unicast to it goes there. */
#define ZT_BRIDGE_ROUTES 1024      /* per network, a power of two */
#define ZT_BRIDGE_PROBES 8
#define ZT_BRIDGE_FLOOD_MAX 32     /* bridges an unknown unicast goes to (§11) */
struct bridge_route {
	uint8_t mac[6];
	uint64_t bridge;           /* 0: free */
	int64_t seen;
};

struct zt_network {
	struct zt_core *core;
	uint64_t id;
	bool rules_forward;      /* the rules may TEE, WATCH or REDIRECT: the main
				  * loop takes every frame (it sends the copies) */
	bool dynamic;            /* joined at run time: its port is ours */
	char name[17];
	struct zt_inst *iface;
	const struct zt_iface_ops *ops;
	void *port;
	/* The port's queues (tap IFF_MULTI_QUEUE), one per worker lane;
	 * queues[0] is the port itself, empty slots have no ops. */
	struct port_queue {
		struct zt_inst *zi;
		const struct zt_iface_ops *ops;
		void *state;
	} queues[ZT_MAX_WORKERS];
	struct zt_inst *ingress[ZT_MAX_CHAIN], *egress[ZT_MAX_CHAIN];
	unsigned n_ingress, n_egress;
	uint8_t mac[6];
	/* Bumped with each config: the members' cached gate verdicts go
	 * stale (a member's own COM or revocation clears its verdict). */
	uint64_t gate_epoch;
	int status;
	bool configured;
	bool from_cache;         /* configured from the cache: the controller not heard yet */
	struct zt_netconf *cfg;
	struct zt_config_asm assembly;
	struct zt_netcache *cache;   /* the chunks of the config being received */
	int64_t last_request, last_change, last_announce, config_changed;
	uint8_t creds[4096];
	size_t creds_len;
	struct member *members;
	unsigned n_members, cap_members;
	struct zt_addrmap member_index;   /* address -> index into members */
	struct zt_mcast_group own[ZT_NET_MAX_OWN_GROUPS];
	unsigned n_own;
	struct zt_mcast_group host[ZT_NET_MAX_OWN_GROUPS];   /* from the port */
	unsigned n_host;
	bool bridge;             /* the config lists us as an active bridge */
	struct bridge_route *routes;   /* ZT_BRIDGE_ROUTES, made at the first one learned */
	uint64_t counters[NC_COUNT];
	struct pending_mcast *pending;   /* ZT_PENDING_MCAST slots */
	/* local settings (netlocal.c); bits of those ztd.yaml fixes */
	struct zt_net_settings settings;
	unsigned settings_fixed;
	char dns_applied[1024];          /* the resolv.conf fragment written, "" if none */
	int resolved_ifindex;            /* the link whose DNS resolved holds for us, 0: none */
	char resolved_port[16];          /* its name then (IF_NAMESIZE) */
};
/* A multicast sent while too few members of its group were known (§7.4):
 * kept for 5 s and sent to members learned meanwhile. */
#define ZT_PENDING_MCAST 8
#define ZT_PENDING_MCAST_MS 5000
#define ZT_PENDING_MCAST_SENT 32

struct pending_mcast {
	int64_t at;                      /* 0: free */
	struct zt_mcast_group g;
	unsigned limit, n_sent;
	uint64_t sent[ZT_PENDING_MCAST_SENT];
	size_t len;
	uint8_t pl[ZT_PKT_MAX];          /* the MULTICAST_FRAME payload */
};


/* Frames are counted by every lane at once. */
#define NC_INC(n, k) __atomic_fetch_add(&(n)->counters[k], 1, __ATOMIC_RELAXED)
/* A frame dropped for reason k, also counted by direction (zt_network_packets). */
#define NC_DROP(n, k, dir) (NC_INC(n, k), NC_INC(n, dir))

/* network.c: members, credentials, configs. */
struct member *zt_network_member(struct zt_network *n, uint64_t address, bool create);
/* Rebuilds m's usable tags and capabilities (after a credential or a
 * config arrived, or the records moved). */
void zt_member_usable(struct zt_network *n, struct member *m);
bool zt_network_creds_due(const struct zt_network *n, const struct member *m, int64_t now, bool asked);
void zt_network_creds_push(struct zt_network *n, struct member *m, int64_t now, bool asked);
void zt_network_credentials_in(struct zt_core *c, const struct zt_net_rx *r);
void zt_network_config_chunk(struct zt_network *n, struct zt_peer *from, const uint8_t *body, size_t len,
			     bool pushed, uint64_t push_id, int64_t now);
/* port.c: the port's sinks, own groups and their announcement, member lists' expiry. */
void zt_port_rx(void *arg, struct zt_inst *from, struct zt_frame *f, unsigned count);
void zt_port_mcast(void *ctx, struct zt_inst *from, const uint8_t *macs, unsigned count);
void zt_network_groups_update(struct zt_network *n);
/* Our groups to the controller and the roots (each ZT_ANNOUNCE_MS), and
 * with them to every member (our groups or config changed). */
void zt_network_announce_upstream(struct zt_network *n, int64_t now);
void zt_network_announce(struct zt_network *n, int64_t now);
/* Our groups to member m, if its peer is known, not a root and through
 * the gate. */
void zt_member_announce(struct zt_network *n, struct member *m, int64_t now);
void zt_mcast_expire(struct zt_core *c, int64_t now);
/* network.c: the port's addresses and routes from the config, as the
 * local settings allow; the DNS too. */
void zt_network_port_configure(struct zt_network *n);
/* netlocal.c: local settings (§9.4) and the pushed DNS on the host. */
void zt_network_settings_load(struct zt_network *n);
void zt_network_dns_sync(struct zt_network *n);
/* The network goes away: its DNS is removed; forget: its settings too. */
void zt_network_local_clear(struct zt_network *n, bool forget);
/* resolved.c: the pushed DNS as per-link DNS of systemd-resolved (the
 * backend built only with libsystemd).  set: 0 or -errno (logged);
 * revert: nothing when the port is gone. */
bool zt_resolved_built(void);
int zt_resolved_set(struct zt_core *c, const char *port, int ifindex, const union zt_sockaddr *servers,
		    unsigned n, const char *domain);
void zt_resolved_revert(struct zt_core *c, const char *port, int ifindex);
void zt_resolved_close(struct zt_core *c);

#endif
