/* The local ZeroTier node ("core"): identity, worlds, peers, paths and
 * the peer-level protocol of wire.md §4-§7.  Kernel-private. */
#ifndef ZT_CORE_H
#define ZT_CORE_H

#include <ev.h>
#include <sys/types.h>

#include <zt/crypto.h>
#include <zt/fragment.h>
#include <zt/identity.h>
#include <zt/inetaddr.h>
#include <zt/node.h>
#include <zt/nat.h>
#include <zt/packet.h>
#include <zt/world.h>

#include "internal.h"
#include "spin.h"
#include "wheel.h"
#include "wire.h"

/* What we advertise: 12 since suite 3 (AES-GMAC-SIV) is implemented. */
#define ZT_PROTO_VERSION 12
#define ZT_PROTO_MIN 4

/* wire.md §9 */
#define ZT_PING_CHECK_MS 5000
#define ZT_HOUSEKEEPING_MS 30000
#define ZT_POW_WORK_IDLE_MS 2000   /* the identity check's 2 MiB, unused this long, go */
#define ZT_HEARTBEAT_MS 14000
#define ZT_PATH_ALIVE_MS 19000
#define ZT_PATH_EXPIRE_MS 243000
#define ZT_PEER_HELLO_MS 60000
#define ZT_PEER_ACTIVITY_MS 500000
#define ZT_TRUST_MS 600000
#define ZT_RENDEZVOUS_MS 30000
#define ZT_WHOIS_RETRY_MS 500
#define ZT_QUEUE_TIMEOUT_MS 5000
#define ZT_QUEUE_LEN 32
#define ZT_VALIDATE_LIMIT_MS 2000
#define ZT_WHOIS_LIMIT_MS 100
#define ZT_ECHO_LIMIT_MS 166
#define ZT_CONFIRM_LIMIT_MS 1000
#define ZT_PUSH_WINDOW_MS 30000
#define ZT_PUSH_PER_WINDOW 8
#define ZT_SURFACE_TTL_MS 600000
#define ZT_LATENCY_UNKNOWN 65535

#define ZT_PEER_PATHS 16      /* 1.14 allows 64; 16 keeps a root's peers small */
/* Peers whose AES contexts (~3 KiB each) are kept, besides those we
 * exchange frames with: the others share these, used last first out
 * (peer.c), so a root's 100,000 peers do not each hold a set */
#define ZT_PEER_KEYS_KEPT 64
#define ZT_MAX_TRANSPORTS 8
#define ZT_MAX_MOONS 8
#define ZT_MAX_UPSTREAMS (ZT_WORLD_MAX_ROOTS * (1 + ZT_MAX_MOONS))

struct zt_core;

/* A physical path: one local socket of one transport and a remote
 * address.  Shared by every peer reached over it. */
struct zt_path {
	unsigned transport;            /* index into core->transports */
	uint32_t local;                /* the transport's socket index */
	union zt_sockaddr addr;
	int64_t last_in, last_out, last_trust, last_echo, last_confirm;
	unsigned refs;                 /* peer paths pointing here */
	bool fallback;                 /* over a fallback transport */
	int64_t last_probe;            /* fallback: last HELLO on every transport */
	struct zt_path *next;          /* hash chain */
	struct zt_due expiry;          /* while no peer path points here: when it may go */
};

struct zt_peer_path {
	struct zt_path *path;
	int64_t last_receive;          /* "lr": last packet from this peer on it */
	unsigned priority;
	unsigned latency;
};

#define ZT_PEER_COUNT(p, field) __atomic_fetch_add(&(p)->traffic.field, 1, __ATOMIC_RELAXED)

/* A peer's AES contexts, while it has them (zt_peer_key) */
struct zt_key_slot {
	struct zt_peer_key key;
	struct zt_peer *owner;
	struct zt_key_slot *newer, *older;
};

struct zt_peer {
	struct zt_identity id;         /* public part only */
	uint8_t k[ZT_KEY_LEN];         /* the session secret K (§2.2) */
	uint8_t k0[ZT_AES_KEY_LEN], k1[ZT_AES_KEY_LEN];   /* AES-GMAC-SIV's, from K (§2.4.5) */
	struct zt_key_slot *keyslot;   /* the keys made from it lately, or NULL */
	int proto, vmajor, vminor, vrev;   /* -1 while unknown */
	int64_t last_receive, last_nontrivial, last_hello, last_whois_in, last_trust;
	int64_t push_window_start;
	unsigned push_count;
	int64_t last_push;             /* PUSH_DIRECT_PATHS we sent (push.c) */
	unsigned latency;              /* ZT_LATENCY_UNKNOWN until measured */
	bool upstream;
	enum zt_role role;
	const struct zt_world_root *root;  /* stable endpoints, for upstreams */
	unsigned n_paths, cap_paths;   /* cap_paths grows to ZT_PEER_PATHS as needed */
	struct zt_peer_path *paths;
	struct zt_peer_traffic traffic;   /* what /metrics shows of the peer */
	struct zt_peer *next;          /* hash chain */
	struct zt_due expiry;          /* when a path or the peer may expire */
	/* on the core's busy list: frames were exchanged lately */
	bool busy;
	int64_t busy_marked;
	struct zt_peer *busy_prev, *busy_next;
};

#define ZT_TXQ_LEN 64
/* Slots of ZT_MTU_DEFAULT bytes behind them: half as many again as
 * datagrams, since a packet sealed in place (zt_lane_tx_buf) keeps the
 * slots of its whole length while its head and fragments go out. */
#define ZT_TXQ_SLOTS (ZT_TXQ_LEN + ZT_TXQ_LEN / 2)

/* Datagrams waiting to go out on one transport: sent together (one
 * sendmmsg) when full and before the loop sleeps.  Their bytes are in
 * the slots, contiguous: slots [0, used) are taken (only while n > 0). */
struct zt_txq {
	unsigned n;
	unsigned used;
	struct zt_dgram d[ZT_TXQ_LEN];
	uint8_t buf[ZT_TXQ_SLOTS][ZT_MTU_DEFAULT];
};

struct zt_transport_ref {
	struct zt_inst *zi;
	const struct zt_transport_ops *ops;
	void *state;
	struct zt_txq *txq;
	bool fallback;                 /* zt_transport_fallback(): used when nothing else is alive */
};

/* A data path: the main loop's (lane 0, inside struct zt_core) or a
 * worker's (worker.c).  What a packet on its way in or out needs that two
 * threads must not share: send queues, scratch buffers, packet ids and
 * counters.  Peers, paths and networks are shared, read-only in workers. */
struct zt_lane {
	struct zt_core *core;
	unsigned index;                /* 0: the main loop */
	struct zt_transport_ref *transports;   /* the core's, or the worker's queues */
	uint64_t *counters;            /* ZT_C_ALL */
	uint64_t next_packet_id;       /* this lane's own range, see zt_lane_packet_id */
	uint8_t *frag;                 /* ZT_MTU_DEFAULT bytes: a fragment being cut */
	uint8_t *tx;                   /* ZT_PKT_MAX bytes: a packet being built */
	uint8_t *buf;                  /* ZT_PKT_MAX bytes: a reassembled packet */
	struct zt_reasm *reasm;
	struct lane_keys *keys;        /* workers: their copies of peer keys */
};
/* Lane l of core c over owner's queues, counters and buffers (the
 * core's own for the main loop, a worker's), which have these names. */
#define ZT_LANE_OVER(l, c, owner) \
	((l)->core = (c), (l)->transports = (owner)->transports, (l)->counters = (owner)->counters, \
	 (l)->frag = (owner)->frag, (l)->tx = (owner)->tx, (l)->buf = (owner)->buf)

/* Where the pushed DNS goes besides <home>/networks.d/<nwid>.resolv.conf
 * (node.dns-backend, ztd.yaml(5)). */
enum zt_dns_backend {
	ZT_DNS_AUTO,                   /* systemd-resolved while it is on the system bus */
	ZT_DNS_FILE,                   /* the file only */
	ZT_DNS_RESOLVED,               /* systemd-resolved, an error when it is not there */
};

/* Core lifecycle, from the pipeline. */
struct zt_core_conf {
	const char *home;
	const char *planet;            /* NULL: <home>/planet */
	/* the planet when planet is NULL and <home>/planet does not exist
	 * (the daemon's built-in one); NULL: that is an error */
	const uint8_t *builtin_planet;
	size_t builtin_planet_len;
	unsigned n_orbit;              /* moons to orbit: id and a seed root */
	struct { uint64_t id, seed; } orbit[ZT_MAX_MOONS];
	bool salsa_only;               /* never send AES-GMAC-SIV (cipher: salsa2012) */
	unsigned workers;              /* data-path loops, the main one included */
	unsigned busy_poll_us;         /* busy-poll window after activity; 0: off */
	unsigned max_members;          /* members a network remembers; 0: the default */
	bool no_nat_probe;             /* nat-probe: false (natprobe.c) */
	enum zt_dns_backend dns_backend;
};
struct zt_core *zt_core_new(const struct zt_core_conf *conf, struct ev_loop *loop);

/* The port and policy chains of a network joined at run time, made by
 * the pipeline from its `joined:` templates (created, not started).  The
 * maker logs why it failed and returns a negative errno. */
#define ZT_MAX_CHAIN 32
struct zt_join_ports {
	struct zt_inst *iface;
	struct zt_inst *ingress[ZT_MAX_CHAIN], *egress[ZT_MAX_CHAIN];
	unsigned n_ingress, n_egress;
};
typedef int zt_join_maker(void *ctx, uint64_t nwid, struct zt_join_ports *out);
int zt_core_add_transport(struct zt_core *c, struct zt_inst *zi);
/* A reload takes a transport out (before stopping it): its slot stays,
 * empty (ops NULL) until the next transport added takes it, and the
 * peers' paths over it are forgotten. */
void zt_core_remove_transport(struct zt_core *c, struct zt_inst *zi);
int zt_core_start(struct zt_core *c);
void zt_core_stop(struct zt_core *c);
void zt_core_free(struct zt_core *c);


/* Named counters of the core: drops and traffic, never logged per packet. */
#define ZT_CORE_COUNTERS(X) \
	X(rx_datagrams) X(rx_junk) X(rx_bad_fragment) X(rx_own_source) X(rx_mac_fail) \
	X(rx_bad_packet) X(rx_unknown_source) X(rx_queue_overflow) X(rx_unexpected_ok) \
	X(rx_rate_limited) X(rx_bad_hello) X(rx_decompress_fail) X(rx_packets) \
	X(relayed) X(relay_dropped) X(rendezvous_sent) \
	X(tx_packets) X(tx_aes_gmac_siv) X(tx_salsa2012) X(tx_no_path) X(tx_queue_overflow) X(tx_failed) X(whois_sent) \
	X(rx_fast) X(tx_fast) X(handoffs) X(handoff_dropped) \
	X(beacons_in) X(beacons_refused) X(beacons_limited) X(paths_pushed) \
	X(natprobe_msgs_in) X(natprobe_msgs_out) X(natprobe_msgs_bad) X(natprobe_sprayed) X(natprobe_probes) \
	X(natprobe_direct) X(natprobe_failed)

/* After the named counters, unnamed ones for the reference's families
 * (zt_packet, zt_packet_error, zt_data): packets by verb, ERRORs by
 * code, bytes by transport. */
enum zt_core_counter {
#define ZT_X(name) ZT_C_##name,
	ZT_CORE_COUNTERS(ZT_X)
#undef ZT_X
	ZT_C_COUNT,
	ZT_C_rx_verb = ZT_C_COUNT,
	ZT_C_tx_verb = ZT_C_rx_verb + ZT_TRAFFIC_VERBS,
	ZT_C_rx_error = ZT_C_tx_verb + ZT_TRAFFIC_VERBS,
	ZT_C_tx_error = ZT_C_rx_error + ZT_TRAFFIC_ERRORS,
	ZT_C_rx_bytes = ZT_C_tx_error + ZT_TRAFFIC_ERRORS,
	ZT_C_tx_bytes = ZT_C_rx_bytes + ZT_MAX_TRANSPORTS,
	ZT_C_ALL = ZT_C_tx_bytes + ZT_MAX_TRANSPORTS
};

struct zt_queued {
	int64_t at;                    /* 0: free */
	uint64_t address;              /* the peer we wait for */
	struct zt_path *path;          /* rx: where it came from */
	size_t len;
	uint8_t pkt[ZT_PKT_MAX];       /* tx: plaintext packet; rx: as received */
};

struct zt_whois_wait {
	uint64_t address;              /* 0: free */
	int64_t first, last_sent;
};

struct zt_surface {
	uint64_t reporter;             /* 0: free */
	union zt_sockaddr addr;
	int64_t at;
};

/* lan.c: what the node remembers of LAN beacons' senders */
#define ZT_LAN_SEEN 64
#define ZT_LAN_PREFIXES 256
struct zt_lan_seen {
	uint64_t address;              /* 0: free; bit 40: of IPv6 beacons */
	int64_t checked;               /* last beacon looked at */
	int64_t timestamp;             /* its sender's clock: later ones only */
};
struct zt_lan_state {
	struct zt_lan_seen seen[ZT_LAN_SEEN];
	int64_t validate[ZT_LAN_PREFIXES];   /* new identities, per source prefix */
	int64_t legacy_at;             /* last answer to a 13-byte beacon */
	int64_t log_at;                /* last refusal logged */
	unsigned log_skipped;
};

struct zt_core {
	struct ev_loop *loop;
	struct zt_kernel *kernel;      /* its instances' counters */
	zt_join_maker *join_ports;     /* ports of networks joined at run time */
	void *join_ctx;
	char *home, *planet_path;
	struct zt_identity self;
	struct zt_world planet;
	bool planet_builtin;           /* the conf's built-in planet, not a file */
	struct zt_world moons[ZT_MAX_MOONS];
	unsigned n_moons;
	bool is_root;
	bool salsa_only;
	unsigned workers;              /* data-path loops, this one included */
	unsigned max_members;          /* members a network remembers (network.c) */
	struct zt_workers *pool;       /* worker.c: the other loops, NULL while 1 */
	struct zt_peer *upstreams[ZT_MAX_UPSTREAMS];
	unsigned n_upstreams;
	struct zt_transport_ref transports[ZT_MAX_TRANSPORTS];
	unsigned n_transports;
	unsigned forced;               /* zt_transport_force(): 1 + its index; paths only over it */
	struct zt_peer **peers;
	size_t peer_buckets, n_peers;
	/* Peers we exchanged frames with lately (zt_peer_busy): the ping
	 * checks' keepalives and path pushes visit these, not every peer (a
	 * root's 100,000 never are) */
	struct zt_peer *busy;
	size_t n_busy;
	/* peers' AES contexts (zt_peer_key), the one used last first */
	struct zt_key_slot *keys_newest, *keys_oldest;
	size_t n_keys;
	/* peers and unused paths by when they may expire (housekeeping) */
	struct zt_wheel peer_expiry, path_expiry;
	size_t expiry_visits;          /* peers housekeeping looked at, for tests */
	struct zt_path **paths;
	size_t path_buckets, n_paths;
	struct zt_lane lane;           /* the main loop's data path */
	bool silent;                   /* zt_core_set_silent(): nothing in or out */
	uint64_t packet_id_mask;       /* see zt_lane_packet_id() */
	uint32_t expect[256][32];      /* upper 32 bits of sent packet ids (§3.4) */
	uint8_t expect_next[256];
	struct zt_reasm *reasm;
	struct zt_queued *txq, *rxq;   /* ZT_QUEUE_LEN each */
	struct zt_whois_wait whois[ZT_QUEUE_LEN];
	struct { uint64_t id; uint64_t seed; } seeds[ZT_MAX_MOONS];   /* moons we wait for */
	unsigned n_seeds;
	int64_t validate_limit[16384];
	struct { uint64_t pair; int64_t at; } rendezvous[1024];
	struct zt_surface surface[16];
	struct zt_nat_mapping externals[ZT_NAT_MAX];   /* NAT helpers' states (external.c) */
	unsigned n_externals;
	const char *nat_type;          /* as the surface reports show it (external.c) */
	/* the addresses we listen on, as zt_core_status lists them, read
	 * again at most every ZT_LISTENING_MS by the NAT classification
	 * (external.c), which runs on every surface report: a controller
	 * gets one from each member of a herd, and each reading is a
	 * netlink dump of the interfaces */
	union zt_sockaddr listening[16];
	size_t n_listening;
	int64_t listening_at;
	struct zt_natprobe *natprobe;  /* crossing a symmetric NAT (natprobe.c); NULL: off */
	struct zt_lan_state lan;       /* lan.c */
	struct zt_pending_rv {         /* RENDEZVOUS naming a peer we did not know yet */
		uint64_t with;             /* 0: free */
		union zt_sockaddr addr;
		unsigned transport;
		uint32_t local;
		int64_t at;
	} pending_rv[8];
	struct zt_api_route {
		char *prefix;
		zt_api_handler *fn;             /* one of fn and async_fn */
		zt_api_async_handler *async_fn;
		void *state;
	} api[8];
	unsigned n_api;
	struct zt_network **nets;
	unsigned n_nets;
	struct mcast_list **mcast;     /* member lists of multicast groups (port.c), hashed */
	size_t mcast_buckets, n_mcast, mcast_members;
	struct zt_wheel mcast_expiry;  /* lists by when their oldest LIKE runs out */
	size_t mcast_visits;           /* lists expiry looked at, for tests */
	struct zt_wheel member_due;    /* networks' members by when to look at them (network.c) */
	size_t member_visits;          /* members looked at, for tests */
	const struct zt_controller_ops *ctl_ops;
	void *ctl_state;
	struct zt_peer self_peer;      /* we, as the sender of packets to ourselves (send.c, vl1.c) */
	struct zt_looped *looped;      /* those not handled yet (send.c) */
	bool looping;                  /* handling them */
	/* where they are received: VL1's zt_vl1_loop_in, set by the core */
	void (*loop_in)(struct zt_core *c, uint8_t *pkt, size_t len, int64_t now);
	ev_timer tick;
	ev_prepare flush;              /* sends queued datagrams before the loop sleeps */
	struct zt_spin spin;           /* busy-poll after datagrams and frames */
	unsigned busy_poll_us;         /* the workers' loops poll as long */
	enum zt_dns_backend dns_backend;
	struct sd_bus *resolved_bus;   /* the system bus, once the DNS needed it (resolved.c) */
	bool resolved_warned;          /* said that resolved is not there */
	int64_t last_ping_check, last_housekeeping, last_upstream_receive;
	bool started, cache_warned;
	uint64_t counters[ZT_C_ALL];
	uint8_t buf[ZT_PKT_MAX + 64];  /* reassembled packets */
	uint8_t tx[ZT_PKT_MAX + 64];   /* packets being built */
	uint8_t dec[ZT_PKT_MAX + 64];  /* decompressed packets */
	uint8_t frag[ZT_MTU_DEFAULT + 64];
	uint8_t worlds[ZT_PKT_PAYLOAD_MAX];   /* worlds for an OK(HELLO) */
};

static inline int64_t zt_core_now(const struct zt_core *c)
{
	return (int64_t)(ev_now(c->loop) * 1000.0);
}

/* What the callbacks of the core's wheels (wheel.h) are handed. */
struct zt_due_ctx {
	struct zt_core *c;
	int64_t now;
};

#define ZT_COUNT(c, name) ((c)->counters[ZT_C_##name]++)
#define ZT_LANE_COUNT(l, name) ((l)->counters[ZT_C_##name]++)

/* A time stamp that workers write while holding the core lock for
 * reading (several at once): a relaxed atomic store, a plain mov on x86. */
#define ZT_STORE(field, value) __atomic_store_n(&(field), (value), __ATOMIC_RELAXED)
/* ... and what other workers read of them meanwhile */
#define ZT_LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* peer.c: peers, paths, choosing paths */
struct zt_peer *zt_peer_find(const struct zt_core *c, uint64_t address);
/* The same, or c->self_peer for our own address. */
struct zt_peer *zt_peer_or_self(struct zt_core *c, uint64_t address);
/* Make a peer from a public identity (key agreement once).  NULL if the
 * identity cannot be used (bad key) or memory is short. */
struct zt_peer *zt_peer_add(struct zt_core *c, const struct zt_identity *id);
/* p's keys for armoring on the main loop: its AES contexts made again
 * from K if another peer took them (a few µs), the least used lately
 * giving theirs up.  NULL only if memory is short.  Valid until the
 * next call for another peer. */
const struct zt_peer_key *zt_peer_key(struct zt_core *c, struct zt_peer *p);
void zt_peer_remove(struct zt_core *c, struct zt_peer *p);
void zt_peers_free(struct zt_core *c);
/* The known path, or NULL; never adds one (workers may call it). */
struct zt_path *zt_path_find(const struct zt_core *c, unsigned transport, uint32_t local,
			     const union zt_sockaddr *addr);
struct zt_path *zt_path_get(struct zt_core *c, unsigned transport, uint32_t local,
			    const union zt_sockaddr *addr);
void zt_paths_free(struct zt_core *c);
/* Peers stop using paths over transport t; the paths expire. */
void zt_paths_forget_transport(struct zt_core *c, unsigned t);
bool zt_path_alive(const struct zt_path *p, int64_t now);
bool zt_peer_path_expired(const struct zt_peer_path *pp, int64_t now);
struct zt_peer_path *zt_peer_path_find(struct zt_peer *p, const struct zt_path *path);
void zt_peer_path_learn(struct zt_core *c, struct zt_peer *p, struct zt_path *path, int64_t now);
void zt_peer_paths_prune(struct zt_core *c, struct zt_peer *p, int64_t now);
/* Best path to send on (§7.4), NULL if none usable. */
struct zt_peer_path *zt_peer_best_path(struct zt_peer *p, int64_t now, bool allow_expired);
/* p's best path if it is alive and not over a fallback transport, else
 * NULL: while there is one, nothing goes to p over a fallback. */
struct zt_path *zt_peer_beside_fallback(struct zt_peer *p, int64_t now);
/* Best path in one scope and family, for introductions (§7.7). */
struct zt_peer_path *zt_peer_best_in(struct zt_peer *p, int64_t now, enum zt_ip_scope scope, int family);
struct zt_peer *zt_best_upstream(struct zt_core *c, int64_t now);
void zt_peer_info(const struct zt_core *c, const struct zt_peer *p, struct zt_peer_info *out);
/* A round-trip time measured to p, into its latency histogram. */
void zt_peer_latency_sample(struct zt_peer *p, unsigned ms);
/* Housekeeping: forget dead peers and unused paths, visiting only those
 * whose time has come (c->peer_expiry, c->path_expiry). */
void zt_peers_housekeep(struct zt_core *c, int64_t now);
/* The main loop exchanges frames with p (a member's frame, our groups
 * announced to it): on the busy list for ZT_TRUST_MS at least.  A lane
 * changes no list; whatever it handles was marked by the main loop
 * within ZT_ANNOUNCE_MS (the fast path's condition). */
void zt_peer_busy(struct zt_core *c, struct zt_peer *p, int64_t now);
/* For the list's walkers: p leaves the list (false) once idle for
 * ZT_TRUST_MS: no frame, no trust, no mark. */
bool zt_peer_still_busy(struct zt_core *c, struct zt_peer *p, int64_t now);

/* vl1.c: receiving.  Bytes of n datagrams that came in on transport t,
 * for zt_data; a packet a worker authenticated and leaves to the main
 * loop; a whole packet; a datagram; a packet we sent ourselves (the
 * core registers it as c->loop_in). */
void zt_lane_count_rx(struct zt_lane *l, unsigned t, const struct zt_dgram *d, unsigned n);
void zt_vl1_accept(struct zt_core *c, uint8_t *pkt, size_t len, struct zt_path *path, int64_t now);
void zt_vl1_packet_in(struct zt_core *c, uint8_t *pkt, size_t len, struct zt_path *path, int64_t now);
void zt_vl1_dgram_in(struct zt_core *c, unsigned t, struct zt_dgram *d, int64_t now);
void zt_vl1_loop_in(struct zt_core *c, uint8_t *pkt, size_t len, int64_t now);
/* vl1.c: what the controller role needs to answer a request */
struct zt_rx_ref;
int zt_vl1_netconf_reply(struct zt_core *c, void *rx, const uint8_t *dict, size_t len);
int zt_vl1_netconf_error(struct zt_core *c, void *rx, unsigned code, uint64_t nwid);

/* core.c: where a transport's datagrams go */
void zt_core_rx(void *ctx, struct zt_inst *from, struct zt_dgram *d, unsigned n);

/* lan.c: a LAN beacon (zt-lan(7)) among received datagrams: handled
 * (true) or not one (false). */
bool zt_lan_dgram_in(struct zt_core *c, const struct zt_dgram *d, enum zt_dgram_kind kind, int64_t now);
/* lan.c, on ping checks: beacons' senders with a live path meet our networks */
void zt_lan_tick(struct zt_core *c, int64_t now);
/* push.c: PUSH_DIRECT_PATHS to trusted peers (wire.md §4.8, §7.8 point 3) */
size_t zt_push_candidates(struct zt_core *c, union zt_sockaddr *out, size_t max, int64_t now);
void zt_push_paths_tick(struct zt_core *c, int64_t now);

/* home.c: a whole file into buf (at most cap - 1 bytes, else -EFBIG);
 * a file written atomically (temp file, fsync, rename).  0 or -errno. */
int zt_file_read(const char *path, uint8_t *buf, size_t cap, size_t *len);
int zt_file_write(const char *path, const void *data, size_t len, mode_t mode);
/* The same without the fsyncs, for the peer cache (peers.d): after a
 * power loss the file may be old, empty or gone, never half written over
 * by a crash of the process; its readers skip what does not parse. */
int zt_file_write_cache(const char *path, const void *data, size_t len, mode_t mode);
/* An instance serves this node (zt_inst_core, in core.c, reads it back). */
static inline void zt_core_bind_inst(struct zt_inst *zi, struct zt_core *c)
{
	zt_inst_set_owner(zi, c);
}
/* home.c: remember a new peer's identity across restarts */
void zt_core_peer_learned(struct zt_core *c, const struct zt_peer *p);
/* natprobe.c: crossing one symmetric NAT (zt-nat(7)).  Made with the
 * core (0 or -ENOMEM), stopped and freed with it; a transport taken out;
 * a RENDEZVOUS with a known peer (addr: where the root sees it, via: our
 * path to the root); the data of a "ztNAT" user message; whether a path
 * goes through one of its extra sockets (a HELLO to confirm it must go
 * out there, not from every listen socket). */
int zt_natprobe_new(struct zt_core *c);
void zt_natprobe_stop(struct zt_core *c);
void zt_natprobe_free(struct zt_core *c);
void zt_natprobe_transport_gone(struct zt_core *c, unsigned t);
void zt_natprobe_rendezvous(struct zt_core *c, struct zt_peer *with, const union zt_sockaddr *addr,
			    const struct zt_path *via, int64_t now);
void zt_natprobe_msg_in(struct zt_core *c, struct zt_peer *from, const uint8_t *data, size_t len, int64_t now);
bool zt_natprobe_owns(const struct zt_core *c, const struct zt_path *path);
/* external.c: the NAT type from c->surface, logged when it changes */
void zt_core_nat_classify(struct zt_core *c);
/* home.c: a world offered by a peer, installed if the update rule allows */
void zt_core_world_install(struct zt_core *c, const struct zt_world *w);

/* home.c: a file of the home directory (malloc'ed, NULL if out of
 * memory); the node's state loaded from it at creation (the identity,
 * made if there is none, the worlds, cached peers, the upstreams): 0 or
 * -errno, said in the log. */
char *zt_home_path(const struct zt_core *c, const char *name);
int zt_home_load(struct zt_core *c, const struct zt_core_conf *conf);

#endif
