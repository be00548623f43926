/* Virtual networks (networks.md): joining, configs from the controller,
 * the port, frames, multicast and credentials.  Kernel-private. */
#ifndef ZT_NETWORK_H
#define ZT_NETWORK_H

#include <zt/netconf.h>

#include "core.h"

#define ZT_NET_MAX_MEMBERS 1024
#define ZT_NET_MAX_OWN_GROUPS 64
#define ZT_MCAST_MAX_MEMBERS 256
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
/* Timers: config requests, announcements, expiry. */
void zt_networks_tick(struct zt_core *c, int64_t now);
/* Roots and controllers keep member lists of networks they have not joined. */
void zt_mcast_free(struct zt_core *c);

/* The lanes' fast path (worker.c): a FRAME or EXT_FRAME delivered
 * through the lane's queue of the port; false leaves it to the main loop. */
bool zt_network_fast_in(struct zt_lane *l, struct zt_peer *p, uint8_t verb, uint8_t *pl, size_t len, int64_t now);
/* A frame a worker left to the main loop. */
void zt_network_frame_in(struct zt_core *c, uint64_t nwid, uint8_t *data, size_t len);
/* The port's queue for a worker lane (1..), before the workers start. */
int zt_network_add_queue(struct zt_network *n, unsigned lane, struct zt_inst *queue);
struct zt_inst *zt_network_queue(const struct zt_network *n, unsigned lane);
/* A queue that did not start: the lane leaves the port's frames to the main loop. */
void zt_network_queue_off(struct zt_network *n, unsigned lane);
struct zt_core *zt_network_core(const struct zt_network *n);
uint64_t zt_network_id(const struct zt_network *n);

/* vl1.c offers the network layer these. */
int zt_vl1_send(struct zt_core *c, uint64_t dest, uint8_t verb, const uint8_t *pl, size_t len, int64_t now);
int zt_vl1_reply_ok(struct zt_core *c, struct zt_peer *p, uint8_t in_re_verb, uint64_t in_re_id,
		    const uint8_t *pl, size_t len, int64_t now);
int zt_vl1_error_send(struct zt_core *c, struct zt_peer *p, uint8_t in_re_verb, uint64_t in_re_id,
		      unsigned code, uint64_t nwid, int64_t now);

#endif
