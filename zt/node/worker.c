/* Data-path workers and the lanes' fast path (see worker.h for the
 * locking).  A lane handles what it can without changing shared state:
 * FRAME and EXT_FRAME from a peer on a path it already knows, unicast
 * frames to a member with a live direct path.  The rest goes to the main
 * loop, which runs the whole protocol as before.
 *
 * Above VL1, the network layer and the send half, which a lane calls;
 * the core hands it the main loop's datagrams while workers run.  The
 * network layer calls back for the lock's steps around the main loop's
 * frames and the queues of a port joined at run time (see port.c and
 * doc/architecture.md). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "network.h"
#include "send.h"
#include "worker.h"

/* ---- the hand-off ring: one worker to the main loop ---- */

#define HANDOFF_SLOTS 64

enum handoff_kind { HO_DGRAM, HO_PACKET, HO_ACCEPT, HO_FRAME };

struct handoff {
	enum handoff_kind kind;
	unsigned transport;
	uint32_t local;
	union zt_sockaddr addr;
	uint64_t nwid;                 /* HO_FRAME */
	size_t len;
	uint8_t data[ZT_PKT_MAX + 64];
};

/* Single producer (the worker), single consumer (the main loop). */
struct ring {
	unsigned head, tail;           /* atomics: written by one side each */
	struct handoff *slots;         /* HANDOFF_SLOTS, touched as used */
};

struct worker {
	struct zt_lane lane;
	struct zt_workers *pool;
	struct ev_loop *loop;
	pthread_t thread;
	bool running;
	ev_async stop, wake;
	ev_prepare flush;
	struct zt_spin spin;           /* node busy-poll, on this loop */
	struct zt_transport_ref transports[ZT_MAX_TRANSPORTS];
	struct ring ring;
	struct lane_keys keys;
	uint64_t counters[ZT_C_ALL];
	uint8_t frag[ZT_MTU_DEFAULT];
	uint8_t tx[ZT_PKT_MAX + 64];
	uint8_t buf[ZT_PKT_MAX + 64];
};

struct zt_workers {
	struct zt_core *core;
	pthread_rwlock_t lock;
	bool main_writes;              /* the main loop holds it for writing */
	ev_async drain;                /* on the main loop: hand-offs waiting */
	unsigned n;                    /* workers[1..n-1] */
	struct worker *w[ZT_MAX_WORKERS];
};

/* ---- receiving ---- */

/* A whole packet for us: FRAME and EXT_FRAME from a peer on a path it is
 * known on are delivered here; anything else is left to the main loop. */
static enum zt_fast lane_packet_in(struct zt_lane *l, uint8_t *pkt, size_t len, struct zt_path *path, int64_t now)
{
	struct zt_core *c = l->core;
	struct zt_hdr h;
	struct zt_peer *p;
	struct zt_peer_path *pp;
	const struct zt_peer_key *key;
	uint8_t verb;

	if (zt_hdr_read(&h, pkt, len) < 0 || zt_flags_hops(h.flags) != 0 || !(p = zt_peer_find(c, h.src)) ||
	    p->upstream || !(pp = zt_peer_path_find(p, path)) || !(key = zt_lane_key(l, p)))
		return ZT_FAST_PACKET;
	if (zt_dearmor(key, pkt, len) < 0) {
		ZT_LANE_COUNT(l, rx_mac_fail);
		return ZT_FAST_DONE;
	}
	verb = pkt[ZT_HDR_VERB];   /* a compressed one has its flag set: not fast */
	if ((verb != ZT_VERB_FRAME && verb != ZT_VERB_EXT_FRAME) ||
	    !zt_network_fast_in(l, p, verb, pkt + ZT_HDR_PAYLOAD, len - ZT_HDR_PAYLOAD, now))
		return ZT_FAST_ACCEPT;
	ZT_LANE_COUNT(l, rx_packets);
	ZT_LANE_COUNT(l, rx_fast);
	l->counters[ZT_C_rx_verb + verb]++;
	ZT_PEER_COUNT(p, rx);
	ZT_STORE(p->last_receive, now);
	ZT_STORE(pp->last_receive, now);
	return ZT_FAST_DONE;
}

enum zt_fast zt_lane_dgram_in(struct zt_lane *l, unsigned t, struct zt_dgram *d, int64_t now,
			      uint8_t **pkt, size_t *len)
{
	struct zt_core *c = l->core;
	enum zt_dgram_kind kind = zt_dgram_classify(d->data, d->len);
	struct zt_path *path;
	int n;

	if (kind == ZT_DGRAM_JUNK || kind == ZT_DGRAM_BEACON ||
	    zt_address_read(d->data + ZT_HDR_DEST) != c->self.address ||
	    (kind != ZT_DGRAM_FRAGMENT && zt_address_read(d->data + ZT_HDR_SRC) == c->self.address) ||
	    !(path = zt_path_find(c, t, d->local, &d->peer)))
		return ZT_FAST_DGRAM;
	ZT_LANE_COUNT(l, rx_datagrams);
	ZT_STORE(path->last_in, now);
	*pkt = d->data;
	*len = d->len;
	if (kind != ZT_DGRAM_PACKET) {
		n = zt_reasm_take(l->reasm, d->data, d->len, now, l->buf, ZT_PKT_MAX + 64, pkt);
		if (n <= 0) {
			if (n < 0)
				ZT_LANE_COUNT(l, rx_bad_fragment);
			return ZT_FAST_DONE;
		}
		*len = n;
	}
	return lane_packet_in(l, *pkt, *len, path, now);
}

/* ---- the main loop's side ---- */

static void main_lock(struct zt_workers *pool, bool write)
{
	if (write)
		pthread_rwlock_wrlock(&pool->lock);
	else
		pthread_rwlock_rdlock(&pool->lock);
	pool->main_writes = write;
}

void zt_workers_read(struct zt_core *c)
{
	if (c->pool && c->pool->main_writes) {
		pthread_rwlock_unlock(&c->pool->lock);
		main_lock(c->pool, false);
	}
}

void zt_workers_write(struct zt_core *c)
{
	if (c->pool && !c->pool->main_writes) {
		/* the only writer: nothing read so far can change meanwhile */
		pthread_rwlock_unlock(&c->pool->lock);
		main_lock(c->pool, true);
	}
}

static void main_release(struct ev_loop *loop)
{
	struct zt_workers *pool = ev_userdata(loop);

	pthread_rwlock_unlock(&pool->lock);
}

static void main_acquire(struct ev_loop *loop)
{
	main_lock(ev_userdata(loop), true);
}

static void slow_in(struct zt_core *c, enum zt_fast f, unsigned t, struct zt_dgram *d, uint8_t *pkt, size_t len,
		    int64_t now)
{
	struct zt_path *path;

	if (f == ZT_FAST_DGRAM) {
		zt_vl1_dgram_in(c, t, d, now);
		return;
	}
	if (!(path = zt_path_get(c, t, d->local, &d->peer)))
		return;
	if (f == ZT_FAST_PACKET)
		zt_vl1_packet_in(c, pkt, len, path, now);
	else
		zt_vl1_accept(c, pkt, len, path, now);
}

void zt_workers_main_rx(struct zt_core *c, unsigned t, struct zt_dgram *d, unsigned n, int64_t now)
{
	zt_workers_read(c);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *pkt;
		size_t len;
		enum zt_fast f = zt_lane_dgram_in(&c->lane, t, &d[i], now, &pkt, &len);

		if (f == ZT_FAST_DONE)
			continue;
		zt_workers_write(c);
		slow_in(c, f, t, &d[i], pkt, len, now);
		zt_workers_read(c);
	}
	zt_workers_write(c);
}

static void handoff_take(struct zt_core *c, struct handoff *h, int64_t now)
{
	struct zt_dgram d = { .peer = h->addr, .local = h->local, .data = h->data, .len = h->len };
	static const enum zt_fast fast[] = { [HO_DGRAM] = ZT_FAST_DGRAM, [HO_PACKET] = ZT_FAST_PACKET,
					     [HO_ACCEPT] = ZT_FAST_ACCEPT };

	if (h->kind == HO_FRAME)
		zt_network_frame_in(c, h->nwid, h->data, h->len);
	else
		slow_in(c, fast[h->kind], h->transport, &d, h->data, h->len, now);
}

static void on_drain(struct ev_loop *loop, ev_async *a, int revents)
{
	struct zt_workers *pool = a->data;
	int64_t now = zt_core_now(pool->core);

	for (unsigned i = 1; i < pool->n; i++) {
		struct ring *r = &pool->w[i]->ring;
		unsigned head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);

		for (unsigned tail = r->tail; tail != head; tail++) {
			handoff_take(pool->core, &r->slots[tail % HANDOFF_SLOTS], now);
			__atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE);
		}
	}
}

/* ---- a worker ---- */

static struct handoff *handoff_slot(struct worker *w, enum handoff_kind kind, size_t len)
{
	struct ring *r = &w->ring;
	unsigned tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	struct handoff *h;

	if (r->head - tail == HANDOFF_SLOTS || len > sizeof h->data) {
		ZT_LANE_COUNT(&w->lane, handoff_dropped);
		return NULL;
	}
	h = &r->slots[r->head % HANDOFF_SLOTS];
	h->kind = kind;
	h->len = len;
	return h;
}

static void handoff_push(struct worker *w)
{
	__atomic_store_n(&w->ring.head, w->ring.head + 1, __ATOMIC_RELEASE);
	ZT_LANE_COUNT(&w->lane, handoffs);
	ev_async_send(w->pool->core->loop, &w->pool->drain);
}

static void worker_rx(void *ctx, struct zt_inst *from, struct zt_dgram *d, unsigned n)
{
	struct worker *w = ctx;
	struct zt_core *c = w->pool->core;
	int64_t now = (int64_t)(ev_now(w->loop) * 1000.0);
	unsigned t = 0;

	zt_spin_kick(&w->spin);
	while (t < c->n_transports && w->transports[t].zi != from)
		t++;
	zt_lane_count_rx(&w->lane, t, d, n);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *pkt;
		size_t len;
		enum zt_fast f = zt_lane_dgram_in(&w->lane, t, &d[i], now, &pkt, &len);
		struct handoff *h;

		if (f == ZT_FAST_DONE)
			continue;
		if (f == ZT_FAST_DGRAM) {
			pkt = d[i].data;
			len = d[i].len;
		}
		if (!(h = handoff_slot(w, f == ZT_FAST_DGRAM ? HO_DGRAM : f == ZT_FAST_PACKET ? HO_PACKET : HO_ACCEPT, len)))
			continue;
		h->transport = t;
		h->local = d[i].local;
		h->addr = d[i].peer;
		memcpy(h->data, pkt, len);
		handoff_push(w);
	}
}

void zt_workers_port_rx(void *ctx, struct zt_inst *from, struct zt_frame *f, unsigned n)
{
	struct zt_network *net = ctx;
	struct zt_core *c = zt_network_core(net);
	struct worker *w = NULL;
	int64_t now;

	for (unsigned i = 1; i < c->pool->n && !w; i++)
		if (zt_network_queue(net, i) == from)
			w = c->pool->w[i];
	if (!w)
		return;
	zt_spin_kick(&w->spin);
	now = (int64_t)(ev_now(w->loop) * 1000.0);
	for (unsigned i = 0; i < n; i++) {
		struct handoff *h;

		if (zt_lane_frame_out(&w->lane, net, &f[i], now) || !(h = handoff_slot(w, HO_FRAME, f[i].len)))
			continue;
		h->nwid = zt_network_id(net);
		memcpy(h->data, f[i].data, f[i].len);
		handoff_push(w);
	}
}

static void worker_flush(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct worker *w = p->data;

	zt_lane_flush(&w->lane);
}

static void worker_release(struct ev_loop *loop)
{
	struct worker *w = ev_userdata(loop);

	pthread_rwlock_unlock(&w->pool->lock);
}

static void worker_acquire(struct ev_loop *loop)
{
	struct worker *w = ev_userdata(loop);

	pthread_rwlock_rdlock(&w->pool->lock);
}

static void on_stop(struct ev_loop *loop, ev_async *a, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
	/* nothing: the loop looks at its watchers again */
}

/* The queues of the worker's lane, started and stopped on its thread. */
/* A queue that does not start is left out: its lane sends the traffic
 * it would have carried through the main loop. */
static bool queue_start(struct worker *w, struct zt_inst *q)
{
	int rc = zt_inst_start_on(q, w->loop);

	if (rc < 0)
		zt_logf(ZT_LOG_ERR, "%s: could not start: %s; worker %u leaves its traffic to the main loop",
			zt_inst_name(q), strerror(-rc), w->lane.index);
	return rc == 0;
}

static void worker_queues(struct worker *w, bool start)
{
	struct zt_core *c = w->pool->core;
	unsigned index = w->lane.index;

	for (unsigned t = 0; t < c->n_transports; t++) {
		struct zt_transport_ref *ref = &w->transports[t];

		if (!ref->zi)
			continue;
		if (!start)
			zt_inst_stop(ref->zi);
		else if (!queue_start(w, ref->zi))
			ref->ops = NULL;
	}
	for (unsigned i = 0; i < c->n_nets; i++) {
		struct zt_inst *q = zt_network_queue(c->nets[i], index);

		if (!q)
			continue;
		if (!start)
			zt_inst_stop(q);
		else if (!queue_start(w, q))
			zt_network_queue_off(c->nets[i], index);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	char name[16];

	snprintf(name, sizeof name, "ztd-w%u", w->lane.index);
	pthread_setname_np(pthread_self(), name);   /* for top -H, perf */
	pthread_rwlock_rdlock(&w->pool->lock);
	worker_queues(w, true);
	ev_prepare_start(w->loop, &w->flush);
	zt_spin_start(&w->spin);
	ev_async_start(w->loop, &w->stop);
	ev_async_start(w->loop, &w->wake);
	ev_set_userdata(w->loop, w);
	ev_set_loop_release_cb(w->loop, worker_release, worker_acquire);
	ev_run(w->loop, 0);
	ev_set_loop_release_cb(w->loop, NULL, NULL);
	zt_lane_flush(&w->lane);
	worker_queues(w, false);
	ev_prepare_stop(w->loop, &w->flush);
	zt_spin_stop(&w->spin);
	ev_async_stop(w->loop, &w->stop);
	ev_async_stop(w->loop, &w->wake);
	pthread_rwlock_unlock(&w->pool->lock);
	return NULL;
}

static struct worker *worker_new(struct zt_workers *pool, unsigned index)
{
	struct worker *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	w->pool = pool;
	w->loop = ev_loop_new(EVFLAG_AUTO);
	w->ring.slots = calloc(HANDOFF_SLOTS, sizeof *w->ring.slots);
	w->lane.reasm = zt_reasm_new(ZT_REASM_SLOTS);
	if (!w->loop || !w->ring.slots || !w->lane.reasm) {
		if (w->loop)
			ev_loop_destroy(w->loop);
		free(w->ring.slots);
		zt_reasm_free(w->lane.reasm);
		free(w);
		return NULL;
	}
	ZT_LANE_OVER(&w->lane, pool->core, w);
	w->lane.index = index;
	w->lane.keys = &w->keys;
	zt_spin_init(&w->spin, w->loop, pool->core->busy_poll_us);
	ev_async_init(&w->stop, on_stop);
	ev_async_init(&w->wake, on_wake);
	ev_prepare_init(&w->flush, worker_flush);
	w->flush.data = w;
	return w;
}

static void worker_free(struct worker *w)
{
	for (unsigned t = 0; t < ZT_MAX_TRANSPORTS; t++)
		free(w->transports[t].txq);
	zt_lane_keys_clear(&w->keys);
	zt_reasm_free(w->lane.reasm);
	free(w->ring.slots);
	ev_loop_destroy(w->loop);
	free(w);
}

/* ---- the pool ---- */

static struct zt_workers *pool_get(struct zt_core *c)
{
	pthread_rwlockattr_t attr;

	if (c->pool || c->workers < 2)
		return c->pool;
	c->pool = calloc(1, sizeof *c->pool);
	if (!c->pool)
		return NULL;
	c->pool->core = c;
	c->pool->n = c->workers;
	/* a waiting main loop goes before new readers, or workers busy in
	 * turns would keep it out */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&c->pool->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	for (unsigned i = 1; i < c->workers; i++)
		if (!(c->pool->w[i] = worker_new(c->pool, i))) {
			zt_workers_free(c);
			return NULL;
		}
	ev_async_init(&c->pool->drain, on_drain);
	c->pool->drain.data = c->pool;
	return c->pool;
}

int zt_workers_add_transport(struct zt_core *c, unsigned worker, unsigned transport, struct zt_inst *queue)
{
	struct zt_workers *pool = pool_get(c);
	struct zt_transport_ref *t;

	if (!pool)
		return -ENOMEM;
	if (worker < 1 || worker >= pool->n || transport >= ZT_MAX_TRANSPORTS)
		return -EINVAL;
	t = &pool->w[worker]->transports[transport];
	t->txq = calloc(1, sizeof *t->txq);
	if (!t->txq)
		return -ENOMEM;
	t->zi = queue;
	t->ops = zt_inst_module(queue)->ops.transport;
	t->state = zt_inst_state(queue);
	zt_inst_set_dgram_sink(queue, worker_rx, pool->w[worker]);
	zt_core_bind_inst(queue, c);
	return 0;
}

void zt_workers_add_port(struct zt_core *c, struct zt_network *n, struct zt_inst *port)
{
	if (c->workers < 2 || !zt_inst_module(port)->queue || !pool_get(c))
		return;
	for (unsigned lane = 1; lane < c->pool->n; lane++) {
		struct zt_inst *q = zt_inst_queue(port, lane);

		if (q && zt_network_add_queue(n, lane, q) < 0)
			zt_inst_destroy(q);
	}
}

void zt_workers_start_port(struct zt_core *c, struct zt_network *n)
{
	for (unsigned lane = 1; c->pool && lane < c->pool->n; lane++) {
		struct worker *w = c->pool->w[lane];
		struct zt_inst *q = zt_network_queue(n, lane);

		/* libev allows this while the worker is out of its callbacks
		 * (we hold the lock for writing); the wake makes it poll the fd.
		 * Workers not running yet start their queues themselves. */
		if (!q || !w->running)
			continue;
		if (queue_start(w, q))
			ev_async_send(w->loop, &w->wake);
		else
			zt_network_queue_off(n, lane);
	}
}

int zt_workers_start(struct zt_core *c)
{
	struct zt_workers *pool = pool_get(c);
	int rc;

	if (c->workers < 2)
		return 0;
	if (!pool)
		return -ENOMEM;
	main_lock(pool, true);
	ev_set_userdata(c->loop, pool);
	ev_set_loop_release_cb(c->loop, main_release, main_acquire);
	ev_async_start(c->loop, &pool->drain);
	for (unsigned i = 1; i < pool->n; i++) {
		struct worker *w = pool->w[i];

		if ((rc = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
			zt_workers_stop(c);
			return -rc;
		}
		w->running = true;
	}
	return 0;
}

void zt_workers_stop(struct zt_core *c)
{
	struct zt_workers *pool = c->pool;

	if (!pool || !ev_is_active(&pool->drain))
		return;
	/* the workers need the lock to see their stop */
	pthread_rwlock_unlock(&pool->lock);
	for (unsigned i = 1; i < pool->n; i++) {
		struct worker *w = pool->w[i];

		if (!w->running)
			continue;
		ev_async_send(w->loop, &w->stop);
		pthread_join(w->thread, NULL);
		w->running = false;
	}
	ev_set_loop_release_cb(c->loop, NULL, NULL);
	ev_async_stop(c->loop, &pool->drain);
	on_drain(c->loop, &pool->drain, 0);
}

void zt_workers_free(struct zt_core *c)
{
	struct zt_workers *pool = c->pool;

	if (!pool)
		return;
	zt_workers_stop(c);
	for (unsigned i = 1; i < pool->n; i++)
		if (pool->w[i])
			worker_free(pool->w[i]);
	pthread_rwlock_destroy(&pool->lock);
	free(pool);
	c->pool = NULL;
}

/* The lanes' counters, added up for zt_core_counters. */
void zt_workers_counters(const struct zt_core *c, uint64_t sum[ZT_C_ALL])
{
	for (unsigned i = 1; c->pool && i < c->pool->n; i++)
		for (unsigned k = 0; k < ZT_C_ALL; k++)
			sum[k] += c->pool->w[i]->counters[k];
}
