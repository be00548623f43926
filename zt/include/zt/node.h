/* What modules may read of, and ask of, the local ZeroTier node (the
 * "core"): status, peers and their paths, worlds.  Modules never see keys. */
#ifndef ZT_NODE_H
#define ZT_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <zt/identity.h>
#include <zt/module.h>
#include <zt/netconf.h>

struct zt_core;

/* The node of the pipeline an instance belongs to; NULL outside ztd
 * (e.g. an instance made with zt_kernel_instance in a test). */
struct zt_core *zt_inst_core(const struct zt_inst *zi);

struct zt_status {
	uint64_t address;
	char public_identity[ZT_ID_TEXT_MAX];
	bool online;                 /* an upstream was heard from in the last 500 s (roots: always) */
	uint64_t clock_ms;           /* now, ms since the epoch */
	uint64_t planet_id, planet_timestamp;
	bool planet_builtin;         /* the daemon's built-in planet: no planet file */
	unsigned protocol_version;   /* what this node advertises in HELLO */
	const char *home;
	size_t n_listening;          /* bound transport addresses */
	union zt_sockaddr listening[16];
	size_t n_surface;            /* our external addresses as peers report them */
	union zt_sockaddr surface[16];
};

enum zt_role { ZT_ROLE_LEAF = 0, ZT_ROLE_MOON, ZT_ROLE_PLANET };

#define ZT_INFO_MAX_PATHS 16

/* Packets to and from a peer and its latency samples, counted as 1.14's
 * zt_peer_* metrics count them.  Lanes count packets at once (relaxed
 * atomic adds, like a network's frames); latency is the main loop's. */
#define ZT_LATENCY_BUCKETS 10
#define ZT_LATENCY_BOUNDS { 1, 3, 6, 10, 30, 60, 100, 300, 600, 1000 }   /* ms, 1.14's */
struct zt_peer_traffic {
	uint64_t rx, tx, rx_errors;
	uint64_t latency_le[ZT_LATENCY_BUCKETS];   /* samples <= ZT_LATENCY_BOUNDS[i] ms */
	uint64_t latency_sum, latency_count;
};

struct zt_path_info {
	union zt_sockaddr address;
	uint64_t last_send, last_receive;   /* ms since the epoch, 0 if never */
	bool alive;                         /* a datagram came in on it in the last 19 s */
	bool active;                        /* as 1.14 reports it: held, not expired */
	bool expired;                       /* nothing from this peer on it for 243 s */
	bool preferred;                     /* the path traffic to the peer uses now */
	uint32_t local_socket;              /* opaque: transport and socket index */
	uint16_t local_port;
};

struct zt_peer_info {
	uint64_t address;
	int version_major, version_minor, version_rev;   /* -1 if unknown */
	int protocol_version;                            /* -1 if unknown */
	int latency;                                     /* ms, -1 if unknown */
	enum zt_role role;
	bool direct;       /* a preferred direct path exists; else traffic is relayed */
	unsigned n_paths;
	struct zt_path_info paths[ZT_INFO_MAX_PATHS];
	struct zt_peer_traffic traffic;
};

void zt_core_status(const struct zt_core *c, struct zt_status *out);
/* Visit every known peer in ascending address order. */
void zt_core_peers(const struct zt_core *c,
		   void (*fn)(void *ctx, const struct zt_peer_info *peer), void *ctx);
/* One peer; -ENOENT if unknown. */
int zt_core_peer(const struct zt_core *c, uint64_t address, struct zt_peer_info *out);

/* Visit the core's named counters (drops, relayed packets, ...). */
void zt_core_counters(const struct zt_core *c,
		      void (*fn)(void *ctx, const char *name, uint64_t value), void *ctx);

/* Traffic as 1.14's metrics count it, the lanes added up: packets by
 * verb, ERROR packets by error code, bytes by transport. */
#define ZT_TRAFFIC_VERBS 32
#define ZT_TRAFFIC_ERRORS 16
struct zt_traffic {
	uint64_t rx_verbs[ZT_TRAFFIC_VERBS], tx_verbs[ZT_TRAFFIC_VERBS];
	uint64_t rx_errors[ZT_TRAFFIC_ERRORS], tx_errors[ZT_TRAFFIC_ERRORS];
	struct { const char *protocol; uint64_t rx_bytes, tx_bytes; } transports[8];
	unsigned n_transports;
};
void zt_core_traffic(const struct zt_core *c, struct zt_traffic *out);

/* ---- fallback transports (the tcp relay client) ---- */

/* Called by a transport in start(): its paths are used only while no
 * path of another transport to the same peer is alive. */
void zt_transport_fallback(struct zt_inst *zi);
/* Called by a transport in start() instead of being a fallback: while
 * the node runs it makes no path over any other transport, so it sends
 * nothing over them and drops what arrives on them (the tcp transport
 * with force: no UDP at all, even beside a udp transport). */
void zt_transport_force(struct zt_inst *zi);
/* Milliseconds since a peer's packet last arrived over a transport other
 * than zi, or -1 if none ever did (or zi serves no node). */
int64_t zt_core_receive_age(const struct zt_core *c, const struct zt_inst *zi);
/* The module name ("udp", "tcp") of the transport of a path's
 * local_socket, NULL if there is none. */
const char *zt_core_path_transport(const struct zt_core *c, uint32_t local_socket);

/* ---- networks (networks.md §9.3) ---- */

#define ZT_INFO_MAX_ADDRS 32
#define ZT_INFO_MAX_ROUTES 64
#define ZT_INFO_MAX_GROUPS 64
#define ZT_INFO_MAX_TAGS 128

struct zt_network_info {
	uint64_t nwid;
	uint8_t mac[6];
	char name[128];
	const char *status;          /* REQUESTING_CONFIGURATION, OK, ACCESS_DENIED, ... */
	bool public_net;             /* type PUBLIC (false until configured) */
	unsigned mtu;
	bool broadcast;
	bool bridge;                 /* the controller made this node an active bridge */
	uint64_t revision;           /* 0 until configured */
	const char *port;            /* the iface instance's name */
	unsigned n_addrs;
	union zt_sockaddr addrs[ZT_INFO_MAX_ADDRS];   /* port = prefix length */
	unsigned n_routes;
	struct { union zt_sockaddr target, via; unsigned flags, metric; } routes[ZT_INFO_MAX_ROUTES];
	unsigned n_groups;
	struct { uint8_t mac[6]; uint32_t adi; } groups[ZT_INFO_MAX_GROUPS];
	uint64_t rx_frames, rx_dropped;   /* frames from peers delivered, dropped */
	uint64_t tx_frames, tx_dropped;   /* frames from the port sent, dropped */
	struct zt_net_settings settings;  /* local settings (§9.4) */
	unsigned settings_fixed;          /* bits of those ztd.yaml sets */
	struct zt_dns dns;                /* pushed by the controller (empty until configured) */
	bool dns_applied;                 /* on the host now (allowDNS, a valid domain) */
	unsigned n_tags;                  /* the node's own tags from the config, by id */
	struct zt_policy_tag tags[ZT_INFO_MAX_TAGS];
};

/* Visit joined networks in ascending id order; one network: -ENOENT if not joined. */
void zt_core_networks(const struct zt_core *c,
		      void (*fn)(void *ctx, const struct zt_network_info *net), void *ctx);
int zt_core_network(const struct zt_core *c, uint64_t nwid, struct zt_network_info *out);

/* Join a network at run time: a `tap` port named as ZeroTier names it
 * (zt + 8 characters), remembered in <home>/networks.d/ so it is joined
 * again after a restart.  0 (also if already joined), or -errno. */
int zt_core_join(struct zt_core *c, uint64_t nwid);
/* Change local settings (§9.4) of a joined network: those of mask (bit
 * i: zt_net_setting_names[i]) take s's values, are saved in
 * networks.d/<nwid>.local.conf and applied at once (addresses, routes,
 * DNS).  0, -ENOENT if not joined, -EPERM if ztd.yaml sets one of them
 * to another value (nothing changed then). */
int zt_core_network_set(struct zt_core *c, uint64_t nwid, const struct zt_net_settings *s, unsigned mask);
/* Leave a network joined at run time: the port goes away, the file too.
 * -ENOENT if not joined, -EPERM for a network listed in ztd.yaml. */
int zt_core_leave(struct zt_core *c, uint64_t nwid);

/* The rules of a joined network's policies that count them (rule_list,
 * e.g. the rules policy), with their counters: fn gets each rule with
 * the policy instance's name and whether it is on the ingress chain.
 * -ENOENT if not joined. */
int zt_core_network_rules(const struct zt_core *c, uint64_t nwid,
			  void (*fn)(void *ctx, const char *policy, bool ingress, const struct zt_policy_rule *r),
			  void *ctx);
/* A dry run of frame f (zt-rules(7), EXPLAIN): inbound from member peer
 * through the ingress chain, or outbound to peer through the egress
 * chain, with what the node holds of peer (its tags and capabilities),
 * by each policy that can explain (explain op) until one drops it.
 * Nothing is counted, copied or redirected.  0 with *out and *policy
 * (the instance's name, valid until the network goes) filled in;
 * -ENOENT if not joined, -EOPNOTSUPP if no policy of the chain explains. */
int zt_core_network_explain(const struct zt_core *c, uint64_t nwid, bool inbound, uint64_t peer,
			    const struct zt_frame *f, struct zt_policy_explain *out, const char **policy);

/* ---- moons (wire.md §6.5) ---- */

struct zt_moon_info {
	uint64_t id, timestamp;
	bool waiting;                /* orbiting by seed, not received yet */
	uint64_t seed;               /* waiting: the root asked for it */
	uint8_t signature[ZT_SIG_LEN];
	uint8_t update_key[ZT_PUB_LEN];
	unsigned n_roots;
	struct { struct zt_identity id; unsigned n_endpoints; union zt_sockaddr endpoints[4]; } roots[4];
};
void zt_core_moons(const struct zt_core *c, void (*fn)(void *ctx, const struct zt_moon_info *m), void *ctx);
int zt_core_moon(const struct zt_core *c, uint64_t id, struct zt_moon_info *out);
/* Orbit a moon by id through one of its roots (saved across restarts);
 * deorbit forgets it and its file.  0 or -errno (-ENOENT: not orbited). */
int zt_core_orbit(struct zt_core *c, uint64_t id, uint64_t seed);
int zt_core_deorbit(struct zt_core *c, uint64_t id);

/* Every counter of the node and of every module instance, e.g. for
 * metrics: instance is NULL for the core's own counters. */
void zt_core_all_counters(const struct zt_core *c,
			  void (*fn)(void *ctx, const char *instance, const char *name, uint64_t value),
			  void *ctx);

/* Send an ECHO to a peer (asking a root for its identity first if needed);
 * its OK(ECHO) refreshes the peer's path and latency.  0 or -errno. */
int zt_core_echo(struct zt_core *c, uint64_t address);

/* ---- the local API: services answer paths under a prefix ---- */

struct zt_api_request {
	const char *method;     /* "GET", "POST" (PUT is passed as POST), "DELETE" */
	const char *path;       /* e.g. "/controller/network/8056c2e21c000001" */
	const char *body;       /* NUL-terminated, possibly empty */
	size_t body_len;
};

struct zt_api_response {
	int status;             /* HTTP status */
	char *body;             /* malloc'd JSON text, freed by the caller; NULL: "{}" */
};

/* Answer rq into rs; return 0 (rs filled) or -ENOENT (not this
 * handler's path: the caller answers 404). */
typedef int zt_api_handler(void *state, const struct zt_api_request *rq, struct zt_api_response *rs);

/* A service offers the paths under prefix (e.g. "/controller"); one
 * handler per prefix.  0, -EEXIST or -ENOMEM. */
int zt_core_api_register(struct zt_core *c, const char *prefix, zt_api_handler *fn, void *state);
void zt_core_api_unregister(struct zt_core *c, const char *prefix);
/* Used by the api module for paths it does not answer itself.  An
 * asynchronous handler is called with no way to answer later, so it
 * answers at once (its synchronous form). */
int zt_core_api_dispatch(struct zt_core *c, const struct zt_api_request *rq, struct zt_api_response *rs);

/* Answers given later: a handler that would otherwise make the loop wait
 * (a database write) keeps the request's pending token, returns
 * ZT_API_PENDING and answers from the loop once it knows the outcome. */
struct zt_api_pending;
#define ZT_API_PENDING 1

/* Like zt_api_handler, with p: when p is non-NULL the handler may return
 * ZT_API_PENDING and later call zt_api_pending_done(p, ...) exactly once,
 * from the loop (also before it returns); everything it needs from rq it
 * copies first, rq is gone when it returns.  With p NULL it answers at
 * once, like a zt_api_handler. */
typedef int zt_api_async_handler(void *state, const struct zt_api_request *rq,
				 struct zt_api_response *rs, struct zt_api_pending *p);
int zt_core_api_register_async(struct zt_core *c, const char *prefix, zt_api_async_handler *fn, void *state);
/* The handler's late answer: status and body (malloc'd JSON text, taken;
 * NULL: "{}").  p is freed; a caller that went away never sees it. */
void zt_api_pending_done(struct zt_api_pending *p, int status, char *body);

/* The caller's side (the api module): like zt_core_api_dispatch, but a
 * handler may answer later.  0: rs is filled now; ZT_API_PENDING: done
 * will be called once from the loop with the answer (rs then belongs to
 * done, which frees rs->body), unless the caller first gives up with
 * zt_api_pending_cancel(*pending) (a closed connection); -ENOENT or
 * -ENOMEM as zt_core_api_dispatch. */
typedef void zt_api_done_fn(void *ctx, struct zt_api_response *rs);
int zt_core_api_dispatch_async(struct zt_core *c, const struct zt_api_request *rq,
			       struct zt_api_response *rs, zt_api_done_fn *done, void *ctx,
			       struct zt_api_pending **pending);
void zt_api_pending_cancel(struct zt_api_pending *p);

/* ---- the network controller role (networks.md §8) ---- */

/* A NETWORK_CONFIG_REQUEST for a network whose id starts with this node's
 * address.  Valid only during the controller's request() call, which
 * must answer it with zt_core_netconf_reply or zt_core_netconf_error (or
 * neither, to ignore it). */
struct zt_netconf_request {
	uint64_t nwid;
	const struct zt_identity *member;   /* public identity of the requester */
	const uint8_t *meta;                /* metadata dictionary (networks.md §4.3) */
	size_t meta_len;
	void *opaque;                       /* the kernel's */
};

struct zt_controller_ops {
	void (*request)(void *state, const struct zt_netconf_request *rq);
	/* Its families (1.14's controller_*) for /metrics, in the text
	 * exposition format; may be NULL. */
	void (*metrics)(void *state, FILE *f);
};

int zt_core_controller_register(struct zt_core *c, const struct zt_controller_ops *ops, void *state);
void zt_core_controller_unregister(struct zt_core *c);
/* The controller's metrics families, if this node is one (the api's /metrics). */
void zt_core_controller_metrics(const struct zt_core *c, FILE *f);
/* Answer with a serialized network config dictionary: the kernel cuts it
 * into chunks, signs each with the node's identity and sends them as
 * OK(NETWORK_CONFIG_REQUEST).  0 or -errno. */
int zt_core_netconf_reply(struct zt_core *c, const struct zt_netconf_request *rq,
			  const uint8_t *dict, size_t len);
/* Answer with an ERROR: ZT_ERR_OBJ_NOT_FOUND, ZT_ERR_NETWORK_ACCESS_DENIED, ... */
int zt_core_netconf_error(struct zt_core *c, const struct zt_netconf_request *rq, unsigned code);
/* Push a config to a member unasked (NETWORK_CONFIG), e.g. after a change. */
int zt_core_netconf_push(struct zt_core *c, uint64_t member, uint64_t nwid,
			 const uint8_t *dict, size_t len);
/* Send a member credentials (a serialized NETWORK_CREDENTIALS payload,
 * e.g. a revocation) on behalf of the controller. */
int zt_core_credentials_send(struct zt_core *c, uint64_t member, const uint8_t *payload, size_t len);
/* Sign with the node's identity (wire.md §2.3): COMs, COOs, revocations. */
int zt_core_sign(struct zt_core *c, const void *msg, size_t len, uint8_t sig[ZT_SIG_LEN]);
/* The node's own identity, public part only. */
void zt_core_public_identity(const struct zt_core *c, struct zt_identity *out);

/* Silence: the node sends nothing and drops what it receives, so that no
 * peer learns a path to it; the standby of a controller pair
 * (zt-store-postgres(7)), which shares the active one's identity, keeps
 * it.  Leaving it sends the roots a HELLO at once, so that they relay the
 * address to this node from then on. */
void zt_core_set_silent(struct zt_core *c, bool silent);

#endif
