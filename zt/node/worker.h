/* Data-path workers (node `workers` > 1): more loops on more threads, each
 * with its own queue of every transport and of every network's port.
 * Kernel-private.
 *
 * Locking: one reader-writer lock per core.  The main loop holds it for
 * writing while it runs callbacks, so everything it does may change peers,
 * paths and networks as before; it steps down to reading for the data
 * path (zt_workers_read) and back (zt_workers_write).  A worker holds it
 * for reading while it runs callbacks.  Readers change nothing shared but
 * time stamps (ZT_STORE) and counters (atomic adds); whatever would
 * change more (a new path, a control verb, a multicast, a peer without a
 * direct path) goes to the main loop: from its own data path directly,
 * from a worker through a hand-off ring. */
#ifndef ZT_WORKER_H
#define ZT_WORKER_H

#include "core.h"

#define ZT_MAX_WORKERS 16

/* Start the workers' threads (c->workers - 1 of them; their queues were
 * added before) and hold the lock for the main loop.  0 or -errno. */
int zt_workers_start(struct zt_core *c);
/* Stop and join them; the main loop keeps running unlocked. */
void zt_workers_stop(struct zt_core *c);
void zt_workers_free(struct zt_core *c);

/* A transport's queue for worker `worker` (1..workers-1), before start. */
int zt_workers_add_transport(struct zt_core *c, unsigned worker, unsigned transport, struct zt_inst *queue);
/* Queues for a port made after the pipeline (a network joined at run
 * time): made before the port starts, started after it on the running
 * workers. */
void zt_workers_add_port(struct zt_core *c, struct zt_network *n, struct zt_inst *port);
void zt_workers_start_port(struct zt_core *c, struct zt_network *n);
/* The main loop's data path, between its lock steps (no-ops without workers). */
void zt_workers_read(struct zt_core *c);
void zt_workers_write(struct zt_core *c);
/* Where a worker's frames of a port queue go: the network's handler. */
struct zt_network;
void zt_workers_port_rx(void *ctx, struct zt_inst *from, struct zt_frame *f, unsigned n);

/* Datagrams of the main loop's own sockets, with workers running: the
 * fast path under the read lock, the rest under the write lock. */
void zt_workers_main_rx(struct zt_core *c, unsigned t, struct zt_dgram *d, unsigned n, int64_t now);

/* What a lane did with a datagram or frame. */
enum zt_fast {
	ZT_FAST_DONE,      /* handled (or dropped and counted) */
	ZT_FAST_DGRAM,     /* untouched: the main loop takes the datagram */
	ZT_FAST_PACKET,    /* a whole packet, not yet authenticated */
	ZT_FAST_ACCEPT,    /* a whole packet, authenticated and decrypted */
};

/* The data path of one lane: a received datagram (whole packets left in
 * *pkt / *len for the main loop), a frame from the host. */
enum zt_fast zt_lane_dgram_in(struct zt_lane *l, unsigned t, struct zt_dgram *d, int64_t now,
			      uint8_t **pkt, size_t *len);
bool zt_lane_frame_out(struct zt_lane *l, struct zt_network *n, const struct zt_frame *f, int64_t now);
/* The lanes' counters added to sum (the main loop's are the core's). */
void zt_workers_counters(const struct zt_core *c, uint64_t sum[ZT_C_ALL]);

#endif
