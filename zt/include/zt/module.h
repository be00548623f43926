/* The module ABI: what a zt module exports and what it may call.
 *
 * A module is one shared object exporting one const descriptor named
 * zt_module.  No code runs at load; the kernel checks the descriptor (ABI,
 * kind, options) before calling create().  See ztd.yaml(5) and
 * examples/hello for a module built outside the tree. */
#ifndef ZT_MODULE_H
#define ZT_MODULE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define ZT_MODULE_ABI 6   /* bump on any incompatible change (4: store commit_async, member_bridges,
                             network rules_source, tags and capabilities, member tags and
                             capabilities; policies get tags, capabilities and zt_policy_out;
                             5: policies' rule_list and explain; 6: zt_policy_ctx no_copy and
                             peer_coos, zt_policy_rules coos and ips, store reads_own_writes) */

#if defined(__GNUC__)
#define ZT_EXPORT __attribute__((visibility("default")))
#define ZT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ZT_EXPORT
#define ZT_PRINTF(a, b)
#endif

struct ev_loop;
struct zt_inst;   /* a module instance, owned by the kernel */
struct zt_node;   /* a node of the YAML config, borrowed during create() */
struct zt_store_ops;   /* stores: <zt/store.h> */

enum zt_kind { ZT_TRANSPORT = 1, ZT_IFACE, ZT_POLICY, ZT_NAT, ZT_SERVICE, ZT_STORE };

/* ---- options: the keys a module accepts, checked before create() ---- */

enum zt_opt_type {
	ZT_OPT_T_STR = 1,   /* a scalar string */
	ZT_OPT_T_UINT,      /* a non-negative integer within [min, max] */
	ZT_OPT_T_BOOL,      /* true/false, yes/no, on/off */
	ZT_OPT_T_ADDR,      /* one socket address: 198.18.0.1:9993, [2001:db8::1]:9993 */
	ZT_OPT_T_ADDRS,     /* a socket address or a list of them */
	ZT_OPT_T_DURATION,  /* 250ms, 10s, 5m, 1h, or a bare number of seconds */
	ZT_OPT_T_ANY,       /* any YAML value; the module reads it with zt_node_* */
};

#define ZT_REQUIRED 1u

struct zt_opt {
	const char *key;
	enum zt_opt_type type;
	unsigned flags;
	const char *def;     /* default, as YAML text; NULL for none */
	uint64_t min, max;   /* ZT_OPT_T_UINT: inclusive range (max 0 = no limit) */
	const char *help;
};

#define ZT_OPT_STR(k, d, h)         { (k), ZT_OPT_T_STR, 0, (d), 0, 0, (h) }
#define ZT_OPT_STR_REQ(k, h)        { (k), ZT_OPT_T_STR, ZT_REQUIRED, NULL, 0, 0, (h) }
#define ZT_OPT_UINT(k, d, lo, hi, h) { (k), ZT_OPT_T_UINT, 0, #d, (lo), (hi), (h) }
#define ZT_OPT_BOOL(k, d, h)        { (k), ZT_OPT_T_BOOL, 0, (d) ? "true" : "false", 0, 0, (h) }
#define ZT_OPT_ADDR(k, fl, d, h)    { (k), ZT_OPT_T_ADDR, (fl), (d), 0, 0, (h) }
#define ZT_OPT_ADDRS(k, fl, d, h)   { (k), ZT_OPT_T_ADDRS, (fl), (d), 0, 0, (h) }
#define ZT_OPT_DURATION(k, d, h)    { (k), ZT_OPT_T_DURATION, 0, (d), 0, 0, (h) }
#define ZT_OPT_ANY(k, fl, h)        { (k), ZT_OPT_T_ANY, (fl), NULL, 0, 0, (h) }
#define ZT_OPT_END                  { NULL, 0, 0, NULL, 0, 0, NULL }

/* ---- reading options inside create(); defaults are already applied ---- */

union zt_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/* "198.18.0.1:9993", "[2001:db8::1]:9993" (with "%scope" if it has one),
 * for logs; out is returned.  ZT_SOCKADDR_STRLEN always fits. */
#define ZT_SOCKADDR_STRLEN (INET6_ADDRSTRLEN + 24)
const char *zt_sockaddr_fmt(const union zt_sockaddr *a, char *out, size_t len);

/* A UDP GSO send (UDP_SEGMENT): message h carries datagrams of seg bytes
 * (the last may be shorter) to one address; ctl becomes its control
 * buffer. */
union zt_gso_ctl {
	char buf[CMSG_SPACE(sizeof(uint16_t))];
	struct cmsghdr align;
};
void zt_gso_ctl_set(struct msghdr *h, union zt_gso_ctl *ctl, size_t seg);

const char *zt_conf_str(const struct zt_node *conf, const char *key);      /* NULL if absent */
uint64_t zt_conf_uint(const struct zt_node *conf, const char *key);
bool zt_conf_bool(const struct zt_node *conf, const char *key);
uint64_t zt_conf_duration_ms(const struct zt_node *conf, const char *key);
/* Addresses of an ADDR or ADDRS key: fills up to max, returns how many there are. */
size_t zt_conf_addrs(const struct zt_node *conf, const char *key, union zt_sockaddr *out, size_t max);
/* The node of a key (for ZT_OPT_T_ANY) and generic accessors. */
const struct zt_node *zt_node_get(const struct zt_node *map, const char *key);
const char *zt_node_scalar(const struct zt_node *n);   /* NULL unless a scalar */
size_t zt_node_len(const struct zt_node *n);            /* items of a sequence */
const struct zt_node *zt_node_at(const struct zt_node *seq, size_t i);
/* Report a config error at n: prints "file:line:col: instance: key: message".
 * create() then returns a negative errno. */
void zt_node_error(const struct zt_node *n, const char *fmt, ...) ZT_PRINTF(2, 3);

/* ---- logging and counters ---- */

enum zt_log_level { ZT_LOG_ERR = 0, ZT_LOG_WARN, ZT_LOG_INFO, ZT_LOG_DEBUG };

/* "instance: message"; never write to stderr directly. */
void zt_log(const struct zt_inst *zi, enum zt_log_level level, const char *fmt, ...) ZT_PRINTF(3, 4);
const char *zt_inst_name(const struct zt_inst *zi);

/* A secret (key, token) file open as fd, perhaps written by another tool:
 * if its group or others may use it, make it 0600 and log that, naming
 * path.  0, or a negative errno (logged) if it stays open to them. */
int zt_secret_protect(const struct zt_inst *zi, int fd, const char *path);

/* A named 64-bit counter of this instance (e.g. "rx_dropped_short"),
 * registered in create(), bumped on the hot path through the pointer. */
uint64_t *zt_counter(struct zt_inst *zi, const char *name);

/* Counters kept as `uint64_t *field` members of a module's state, each
 * registered under its field's name: list them with ZT_COUNTER_FIELD and
 * bind them all in create().  0 or -ENOMEM. */
struct zt_counter_field {
	const char *name;
	size_t offset;
};
#define ZT_COUNTER_FIELD(type, field) { #field, offsetof(type, field) }
int zt_counters_bind(struct zt_inst *zi, void *state, const struct zt_counter_field *fields, size_t n);

/* ---- transports: datagrams to and from physical endpoints ---- */

struct zt_dgram {
	union zt_sockaddr peer;  /* source on receive, destination on send */
	uint32_t local;          /* transport-defined local socket index */
	uint8_t *data;
	size_t len;
};

#define ZT_TRANSPORT_EXTRA_BASE 0x8000u   /* extra sockets' local indexes; listen sockets' are below */

struct zt_transport_ops {
	/* Send n datagrams; returns how many were handed to the OS (the rest
	 * are counted as dropped by the transport) or a negative errno. */
	int (*send)(void *state, const struct zt_dgram *d, unsigned n);
	/* Local addresses this transport listens on, for path selection. */
	size_t (*locals)(void *state, union zt_sockaddr *out, size_t max);
	/* Optional (the node's symmetric-NAT probing, zt-nat(7)): open one
	 * more socket on the address of local socket `like`, on a port the
	 * system picks, receiving like the others.  Returns its local index,
	 * ZT_TRANSPORT_EXTRA_BASE or more (never one locals() lists, so full
	 * HELLOs do not go out from it), or a negative errno.  On the
	 * instance only, after start: a queue has no such socket, so the
	 * node sends on it from the main loop only. */
	int (*extra_open)(void *state, uint32_t like);
	/* Close a socket extra_open made; other indexes are ignored. */
	void (*extra_close)(void *state, uint32_t local);
};

/* A LAN beacon of the node the transport serves (zt-lan(7)): the
 * reference's 13 bytes (legacy), or zt's own with the node's identity,
 * signed by the kernel (modules never see keys).  Its length, or a
 * negative errno (-ENOSPC: cap too small, -ENOTCONN: no node yet). */
#define ZT_TRANSPORT_BEACON_MAX 512
int zt_transport_beacon(struct zt_inst *zi, bool legacy, uint8_t *out, size_t cap);

/* The 40-bit address of the node the instance serves, 0 before start. */
uint64_t zt_inst_node_address(const struct zt_inst *zi);

/* Called by a transport with datagrams it received.  The buffers are
 * borrowed for the call only; the kernel may modify them in place. */
void zt_transport_rx(struct zt_inst *zi, struct zt_dgram *d, unsigned n);

/* ---- ifaces: a network's Ethernet port on the host ---- */

struct zt_frame {
	uint8_t *data;   /* a whole Ethernet frame: dst(6) src(6) type(2) payload */
	size_t len;
};

/* An address assigned to the port (the sockaddr's port is unused). */
struct zt_iface_addr {
	union zt_sockaddr addr;
	unsigned prefix;
};

/* A route through the port: to target/prefix, via a gateway or (via of
 * family AF_UNSPEC) directly on the link. */
struct zt_iface_route {
	union zt_sockaddr target;
	unsigned prefix;
	union zt_sockaddr via;
	unsigned metric;
};

/* The whole desired state of the port.  configure() makes the host match
 * it: adds what is missing, removes what it added before and is no longer
 * listed, and leaves alone what others configured. */
struct zt_iface_settings {
	uint8_t mac[6];
	unsigned mtu;
	bool up;
	unsigned n_addrs;
	const struct zt_iface_addr *addrs;
	unsigned n_routes;
	const struct zt_iface_route *routes;
};

struct zt_iface_ops {
	/* Deliver n frames to the host; returns how many were taken or a negative errno. */
	int (*tx)(void *state, const struct zt_frame *f, unsigned n);
	/* Apply the settings (after start; before start they are kept and
	 * applied by start).  0 or -errno, logged by the module. */
	int (*configure)(void *state, const struct zt_iface_settings *s);
	/* The port's name on the host (e.g. "zt0"), NULL if it has none yet.
	 * Optional.  Settings fields left zero (MAC 00:..:00, MTU 0) keep
	 * their current value. */
	const char *(*port_name)(void *state);
};

/* The id of the network whose port the iface instance zi is, 0 if it is
 * none (yet: the network takes its port after create()).  On the main
 * loop only (e.g. in configure()). */
uint64_t zt_iface_nwid(const struct zt_inst *zi);

/* Called by an iface with frames the host sent; borrowed for the call. */
void zt_iface_rx(struct zt_inst *zi, struct zt_frame *f, unsigned n);

/* Called by an iface when the set of Ethernet multicast groups the host
 * listens to on the port changes: the whole new set, n MACs of 6 bytes. */
void zt_iface_multicast(struct zt_inst *zi, const uint8_t *macs, unsigned n);

/* ---- policies: judge frames on a network's ingress or egress chain ---- */

enum zt_verdict { ZT_ACCEPT = 0, ZT_DROP = 1 };

struct zt_coo;   /* <zt/credential.h> */

/* A member's tag (networks.md §5.3), verified and usable (§5.6). */
struct zt_policy_tag {
	uint32_t id, value;
};

/* A capability's rules (§5.2, encoded as §6.1), verified and usable. */
struct zt_policy_cap {
	uint32_t id;
	const uint8_t *rules;
	size_t len;
	unsigned n;
};

/* What a policy asks of the kernel for a frame it accepts (the flow
 * rules' TEE, WATCH and REDIRECT, networks.md §6.4); the kernel zeroes it
 * before a chain and acts on it after. */
struct zt_policy_out {
	uint64_t copy_to;            /* TEE/WATCH: a copy to this member, 0: none */
	size_t copy_len;             /* of the payload (after the Ethernet header) */
	bool copy_watch;             /* WATCH rather than TEE */
	uint64_t redirect_to;        /* REDIRECT: the frame goes there instead, 0: no */
	bool super_accept;           /* this node is the target of a copy or redirect:
				      * deliver it whatever its destination MAC */
};

/* Who a frame is between: ZeroTier addresses (0 when unknown, e.g. the
 * destination of a multicast), the network, and the direction; and what
 * the node holds of the remote member (the sender inbound, the
 * destination outbound, nothing when it is unknown): its tags, sorted
 * by id, and its capabilities.  All borrowed for the call. */
struct zt_policy_ctx {
	uint64_t nwid;
	uint64_t self;
	uint64_t source, dest;
	bool inbound;                /* from the network to the host */
	const struct zt_policy_tag *peer_tags;
	unsigned n_peer_tags;
	const struct zt_policy_cap *peer_caps;
	unsigned n_peer_caps;
	struct zt_policy_out *out;   /* NULL: the caller cannot copy or redirect */
	bool no_copy;                /* no TEE or WATCH copy from this judgement, REDIRECT
				      * still: one of a frame's judgements for each bridge
				      * or multicast recipient it goes to, after the one
				      * that made its copies (1.14's noTee, networks.md
				      * §2.6, §7.4) */
	const struct zt_coo *peer_coos;   /* the remote member's certificates of
					   * ownership (§5.4), usable as its tags */
	unsigned n_peer_coos;
};

/* The rule table of the network's current config (networks.md §6.1),
 * handed to a policy on every config change, with the node's own tags
 * (sorted by id) and capabilities; borrowed for the call. */
struct zt_policy_rules {
	const uint8_t *rules;        /* n encoded rules */
	size_t len;
	unsigned n;
	uint64_t flags;              /* the config's flags (0x08: unknown matches match) */
	const struct zt_policy_tag *tags;
	unsigned ntags;
	const struct zt_policy_cap *caps;
	unsigned ncaps;
	const struct zt_coo *coos;    /* the node's own certificates of ownership */
	unsigned ncoos;
	const union zt_sockaddr *ips; /* the node's static IPs (port: netmask bits) */
	unsigned nips;
};

/* What decided a frame at one rule of a policy, for its per-rule
 * counters (ZT_RULE_*, named by ZT_RULE_OUTCOME_NAMES): accepted,
 * dropped, a TEE or WATCH copy made (the frame is counted again where it
 * is decided), redirected, a BREAK that left the frame to the
 * capabilities and the default drop, or no rule of the table decided. */
enum { ZT_RULE_ACCEPT, ZT_RULE_DROP, ZT_RULE_TEE, ZT_RULE_WATCH, ZT_RULE_REDIRECT, ZT_RULE_BREAK,
       ZT_RULE_DEFAULT, ZT_RULE_OUTCOMES };
#define ZT_RULE_OUTCOME_NAMES { "accept", "drop", "tee", "watch", "redirect", "break", "default" }

/* One rule of a policy with its counters (rule_list()): the action
 * entry at index of the base table or of capability cap_id; index equal
 * to the table's length stands for the end of the table (no rule
 * decided).  text is the rule in the language of zt-rules(7), NULL for a
 * capability only seen on frames of other members. */
struct zt_policy_rule {
	bool cap;
	uint32_t cap_id;
	unsigned index;
	unsigned action;            /* ZT_RULE_* the entry decides when reached (DEFAULT: the
				     * end; ZT_RULE_OUTCOMES: an action that never decides) */
	const char *text;
	uint64_t frames[2][ZT_RULE_OUTCOMES];   /* [0] outbound, [1] inbound */
	uint64_t bytes[2][ZT_RULE_OUTCOMES];
};

/* One entry of a dry run (explain()): a match and whether it held, or
 * an action and whether it was reached with its matches true. */
struct zt_policy_step {
	bool cap;
	uint32_t cap_id;
	unsigned index;
	bool action;
	int result;                 /* 1 matched / taken, 0 not, -1 skipped (an AND already false) */
	char text[80];              /* the entry in the rules language: "not ipprotocol 1", "accept" */
};

#define ZT_POLICY_STEPS_MAX 512

/* The answer of a dry run: the verdict, what decided it and why, and
 * the entries evaluated in order (at most ZT_POLICY_STEPS_MAX). */
struct zt_policy_explain {
	enum zt_verdict verdict;
	bool cap;                   /* decided by capability cap_id */
	uint32_t cap_id;
	unsigned index;             /* the deciding entry, as zt_policy_rule's */
	unsigned outcome;           /* ZT_RULE_* */
	char why[200];
	struct zt_policy_out out;   /* what the kernel would be asked (not done) */
	unsigned n_steps;
	bool truncated;
	struct zt_policy_step steps[ZT_POLICY_STEPS_MAX];
};

struct zt_policy_ops {
	/* With node workers, judge() runs on several threads at once: it may
	 * only read its state, apart from atomic counters.  rules() never runs
	 * at the same time as judge(). */
	enum zt_verdict (*judge)(void *state, const struct zt_policy_ctx *ctx, const struct zt_frame *f);
	/* Optional: take the network's rule table (copy what you keep). */
	int (*rules)(void *state, const struct zt_policy_rules *r);
	/* Optional, on the main loop: visit the rules with their counters
	 * (summed over the data-path lanes). */
	void (*rule_list)(void *state, void (*fn)(void *ctx, const struct zt_policy_rule *r), void *ctx);
	/* Optional, on the main loop: judge f as judge() would, with the same
	 * evaluation, but change no counter and ask nothing of the kernel;
	 * fill *out.  0 or -errno. */
	int (*explain)(void *state, const struct zt_policy_ctx *ctx, const struct zt_frame *f,
		       struct zt_policy_explain *out);
};

/* ---- the descriptor ---- */

struct zt_module {
	uint32_t abi;               /* ZT_MODULE_ABI at build time */
	const char *name;           /* "udp", file udp.so */
	enum zt_kind kind;
	const char *summary;
	const struct zt_opt *opts;  /* keys the kernel checks, ZT_OPT_END last */
	/* Check meaning and allocate; no fds, no watchers.  0 or -errno. */
	int  (*create)(struct zt_inst *zi, const struct zt_node *conf, void **state);
	/* Open fds and start watchers on the loop.  0 or -errno. */
	int  (*start)(void *state, struct ev_loop *loop);
	/* Undo start; safe to call twice. */
	void (*stop)(void *state);
	/* Free what create took. */
	void (*destroy)(void *state);
	union {
		const void *any;
		const struct zt_transport_ops *transport;
		const struct zt_iface_ops *iface;
		const struct zt_policy_ops *policy;
		const struct zt_store_ops *store;
	} ops;
	/* Optional (transports and ifaces), for data-path workers (node
	 * `workers` > 1): make queue number `queue` (1, 2, ...) of this
	 * instance: the same settings, its own fds (a UDP socket bound to the
	 * same addresses with SO_REUSEPORT; another queue of the same TAP
	 * device, IFF_MULTI_QUEUE).  Called after create() and before the
	 * instance's start(); zi is the queue's own instance (its counters,
	 * logs, and zt_transport_rx/zt_iface_rx of what it receives).  The
	 * queue state is started with start(q, worker_loop) after the
	 * instance's start(), on the worker's thread, and stopped there
	 * before the instance stops; destroy(q) frees it.  Its ops (send,
	 * tx) are called only from that worker's thread; configure,
	 * port_name and locals only on the instance.  0 or -errno. */
	int (*queue)(void *state, struct zt_inst *zi, unsigned queue, void **out);
};

#endif
