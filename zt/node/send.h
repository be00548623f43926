/* VL1's send half (send.c): the one interface every packet the node sends
 * goes through, below VL1 dispatch, the network layer and the workers,
 * above the peers.  Kernel-private.  It includes no header of the layers
 * above it (t/layers.sh checks). */
#ifndef ZT_SEND_H
#define ZT_SEND_H

#include "core.h"

/* Functions of the node's own, called from other files of libztk only:
 * hidden, so calls to them are direct and need no PLT entry. */
#define ZT_NODE_CALL __attribute__((visibility("hidden")))

/* zt's version, as HELLO and OK(HELLO) say it */
#define VERSION_MAJOR 0
#define VERSION_MINOR 1
#define VERSION_REV 0

/* A worker's copies of peer keys: the AES contexts are scratch state,
 * so no two threads may use one key. */
#define LANE_KEYS 64

struct lane_key {
	uint64_t address;              /* 0: empty */
	struct zt_peer_key key;
};

struct lane_keys {
	struct lane_key slot[LANE_KEYS];
};

/* Sending on a lane (the main loop's or a worker's). */
void zt_lane_flush(struct zt_lane *l);
void zt_lane_packet_id(struct zt_lane *l, uint8_t out[8]);
/* Give a built packet its id and suite, encrypt a HELLO's tail (from
 * hello_tail, 0: none) and armor it with key.  Its length or -errno. */
int zt_lane_seal(struct zt_lane *l, const struct zt_peer_key *key, struct zt_peer *p, uint8_t *pkt,
		 size_t len, size_t hello_tail);
/* An armored packet on a path, cut into fragments if it is longer than the MTU. */
bool zt_lane_send_packet(struct zt_lane *l, struct zt_path *path, uint8_t *pkt, size_t len, int64_t now);
/* The key to armor and dearmor with p on lane l: the core's (zt_peer_key)
 * on the main loop, a copy in the worker's cache elsewhere. */
const struct zt_peer_key *zt_lane_key(struct zt_lane *l, const struct zt_peer *p);
void zt_lane_keys_clear(struct lane_keys *k);
/* p's best direct path if this lane can send on it (it has a queue of
 * the path's transport), else NULL: the main loop relays or queues. */
struct zt_peer_path *zt_lane_route(struct zt_lane *l, struct zt_peer *p, int64_t now);
/* Where to build a packet of len bytes that goes out on path: in the
 * send queue of the path's transport, where it is sealed and its head
 * queued without a copy (what was queued before goes out first if the
 * queue lacks room), else l->tx.  Room for len bytes, up to ZT_PKT_MAX. */
uint8_t *zt_lane_tx_buf(struct zt_lane *l, const struct zt_path *path, size_t len);
/* Send the packet whose payload the caller wrote at pkt + ZT_HDR_PAYLOAD
 * (pkt from zt_lane_tx_buf for pp's path, or l->tx) to p on pp (from
 * zt_lane_route).  False only if the lane cannot make p's key. */
bool zt_lane_send(struct zt_lane *l, struct zt_peer *p, struct zt_peer_path *pp, uint8_t *pkt, uint8_t verb,
		  size_t pl_len, int64_t now);

/* The network layer's packets: to an address (queued while WHOIS asks
 * for its identity), an OK and an ERROR to a peer.  0 or -errno. */
int zt_vl1_send(struct zt_core *c, uint64_t dest, uint8_t verb, const uint8_t *pl, size_t len, int64_t now);
int zt_vl1_reply_ok(struct zt_core *c, struct zt_peer *p, uint8_t in_re_verb, uint64_t in_re_id,
		    const uint8_t *pl, size_t len, int64_t now);
int zt_vl1_error_send(struct zt_core *c, struct zt_peer *p, uint8_t in_re_verb, uint64_t in_re_id,
		      unsigned code, uint64_t nwid, int64_t now);
/* The controller role's pushes: a config in chunks, credentials. */
int zt_vl1_netconf_push(struct zt_core *c, uint64_t member, uint64_t nwid, const uint8_t *dict, size_t len);
int zt_vl1_send_credentials(struct zt_core *c, uint64_t member, const uint8_t *payload, size_t len);

/* VL1's own: datagrams queued on the main loop sent before it sleeps;
 * contacting a peer's address (ECHO or HELLO), an ECHO to an address, a
 * HELLO to an address remembered from an earlier run.  Timers, run by
 * the core's tick: WHOIS retries and queue expiry, and contacting
 * upstreams and keeping paths to active peers alive. */
void zt_vl1_flush(struct zt_core *c);
void zt_vl1_contact(struct zt_core *c, struct zt_peer *p, struct zt_path *path, int64_t now);
int zt_vl1_echo(struct zt_core *c, uint64_t address, int64_t now);
void zt_vl1_hello(struct zt_core *c, struct zt_peer *p, const union zt_sockaddr *addr, int64_t now);
/* natprobe.c: a full HELLO over one path only; an ECHO to p at addr from
 * local socket `local` of transport t, making no path (probes go to
 * thousands of addresses, one packet each). */
bool zt_vl1_hello_on(struct zt_core *c, struct zt_peer *p, struct zt_path *path, int64_t now);
bool zt_vl1_echo_from(struct zt_core *c, struct zt_peer *p, unsigned t, uint32_t local,
		      const union zt_sockaddr *addr, int64_t now);
void zt_vl1_whois_retry(struct zt_core *c, int64_t now);
void zt_vl1_ping_check(struct zt_core *c, int64_t now);
/* A full HELLO to every root now (the node leaves its silence). */
void zt_vl1_announce(struct zt_core *c, int64_t now);

/* For VL1 dispatch (vl1.c): a packet begun in c->tx (the writer left at
 * the payload) and sent to p on via, or on p's route (NULL); a datagram
 * relayed as it is; a WHOIS; a packet kept in a WHOIS queue (c->txq,
 * c->rxq) for address until its identity is known, and WHOIS sent (false
 * if the queue was full and an older packet went); what waited for
 * p's identity sent; whether an OK answers a packet we sent (its id);
 * a config sent in chunks, as OKs to a request or pushed (in_re_verb 0). */
ZT_NODE_CALL void zt_pkt_begin(struct zt_core *c, struct zt_wr *w, uint64_t dest, uint8_t verb);
ZT_NODE_CALL int zt_pkt_send(struct zt_core *c, struct zt_peer *p, struct zt_wr *w, struct zt_path *via,
			     int64_t now);
ZT_NODE_CALL bool zt_dgram_send(struct zt_core *c, struct zt_path *path, uint8_t *data, size_t len,
				int64_t now);
ZT_NODE_CALL void zt_whois_send(struct zt_core *c, uint64_t address, int64_t now);
ZT_NODE_CALL bool zt_queue_add(struct zt_core *c, struct zt_queued *q, uint64_t address, const uint8_t *pkt,
			       size_t len, struct zt_path *path, int64_t now);
ZT_NODE_CALL void zt_send_queued(struct zt_core *c, struct zt_peer *p, int64_t now);
ZT_NODE_CALL bool zt_send_expected(const struct zt_core *c, uint64_t id);
ZT_NODE_CALL int zt_config_send(struct zt_core *c, uint64_t dest, uint8_t in_re_verb, uint64_t in_re_id,
				 uint64_t nwid, const uint8_t *dict, size_t len, int64_t now);

#endif
