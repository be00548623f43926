/* What modules may read of, and ask of, the local ZeroTier node (the
 * "core"): status, peers and their paths, worlds.  Modules never see keys. */
#ifndef ZT_NODE_H
#define ZT_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include <zt/identity.h>
#include <zt/module.h>

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
	unsigned protocol_version;   /* what this node advertises in HELLO */
	const char *home;
	size_t n_listening;          /* bound transport addresses */
	union zt_sockaddr listening[16];
	size_t n_surface;            /* our external addresses as peers report them */
	union zt_sockaddr surface[16];
};

enum zt_role { ZT_ROLE_LEAF = 0, ZT_ROLE_MOON, ZT_ROLE_PLANET };

#define ZT_INFO_MAX_PATHS 16

struct zt_path_info {
	union zt_sockaddr address;
	uint64_t last_send, last_receive;   /* ms since the epoch, 0 if never */
	bool active;                        /* alive: heard from in the last 19 s */
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

/* Send an ECHO to a peer (asking a root for its identity first if needed);
 * its OK(ECHO) refreshes the peer's path and latency.  0 or -errno. */
int zt_core_echo(struct zt_core *c, uint64_t address);

#endif
