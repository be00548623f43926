/* The core's lifecycle, its timer, where transports' datagrams go, and
 * what modules may read of the node.  The top of the node: it calls the
 * workers, VL1, the networks, the send half, the home directory (home.c)
 * and the peers; nothing in the node calls it. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "core.h"
#include "netcache.h"
#include "network.h"
#include "send.h"
#include "worker.h"

/* ---- lifecycle ---- */

/* The node's one timer: the core owns the schedule and calls each layer
 * below it, VL1 then the networks (wire.md §7.2, §7.4, §7.5). */
static void core_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct zt_core *c = w->data;
	int64_t now = zt_core_now(c);

	zt_vl1_whois_retry(c, now);
	if (now - c->last_ping_check >= ZT_PING_CHECK_MS) {
		c->last_ping_check = now;
		zt_vl1_ping_check(c, now);
		zt_push_paths_tick(c, now);
		zt_lan_tick(c, now);
		zt_networks_tick(c, now);
	}
	/* peers, paths and members whose time has come, a few each tick */
	zt_peers_housekeep(c, now);
	zt_networks_housekeep(c, now);
	zt_identity_work_idle(ZT_POW_WORK_IDLE_MS);
	if (now - c->last_housekeeping >= ZT_HOUSEKEEPING_MS) {
		c->last_housekeeping = now;
		zt_reasm_expire(c->reasm, now);
	}
}

static void core_flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
	zt_vl1_flush(w->data);
}

struct zt_core *zt_core_new(const struct zt_core_conf *conf, struct ev_loop *loop)
{
	struct zt_core *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	if (zt_crypto_init() < 0) {
		zt_logf(ZT_LOG_ERR, "cannot initialise libcrypto");
		free(c);
		return NULL;
	}
	c->loop = loop;
	c->home = strdup(conf->home);
	c->salsa_only = conf->salsa_only;
	zt_spin_init(&c->spin, loop, conf->busy_poll_us);
	c->busy_poll_us = conf->busy_poll_us;
	c->dns_backend = conf->dns_backend;
	if (conf->planet)
		c->planet_path = strdup(conf->planet);
	else
		c->planet_path = zt_home_path(c, "planet");
	c->workers = conf->workers ? conf->workers : 1;
	c->max_members = conf->max_members ? conf->max_members : ZT_NET_MAX_MEMBERS_DEFAULT;
	c->loop_in = zt_vl1_loop_in;   /* packets to ourselves: see send.c */
	ZT_LANE_OVER(&c->lane, c, c);
	randombytes_buf(&c->packet_id_mask, sizeof c->packet_id_mask);
	c->packet_id_mask |= 1;
	c->txq = calloc(ZT_QUEUE_LEN, sizeof *c->txq);
	c->rxq = calloc(ZT_QUEUE_LEN, sizeof *c->rxq);
	c->reasm = c->lane.reasm = zt_reasm_new(ZT_REASM_SLOTS);
	for (unsigned i = 0; i < conf->n_orbit && i < ZT_MAX_MOONS; i++) {
		c->seeds[i].id = conf->orbit[i].id;
		c->seeds[i].seed = conf->orbit[i].seed;
		c->n_seeds++;
	}
	if (!c->home || !c->planet_path || !c->txq || !c->rxq || !c->reasm) {
		zt_core_free(c);
		return NULL;
	}
	if (mkdir(c->home, 0700) < 0 && errno != EEXIST) {
		zt_logf(ZT_LOG_ERR, "%s: cannot create the home directory: %s", c->home, strerror(errno));
		goto fail;
	}
	if (zt_home_load(c, conf) < 0)
		goto fail;
	if (conf->no_nat_probe)
		zt_logf(ZT_LOG_DEBUG, "nat-probe: off");
	else if (zt_natprobe_new(c) < 0)
		goto fail;
	return c;
fail:
	zt_core_free(c);
	return NULL;
}

static unsigned transport_index(const struct zt_core *c, const struct zt_inst *zi)
{
	for (unsigned i = 0; i < c->n_transports; i++)
		if (c->transports[i].zi == zi)
			return i;
	return c->n_transports;
}

/* A transport's datagrams: the lane's fast path first while workers run,
 * else VL1. */
void zt_core_rx(void *ctx, struct zt_inst *from, struct zt_dgram *d, unsigned n)
{
	struct zt_core *c = ctx;
	unsigned t = transport_index(c, from);
	int64_t now = zt_core_now(c);

	if (t == c->n_transports || ZT_LOAD(c->silent))
		return;
	zt_lane_count_rx(&c->lane, t, d, n);
	zt_spin_kick(&c->spin);
	if (c->pool) {
		zt_workers_main_rx(c, t, d, n, now);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		zt_vl1_dgram_in(c, t, &d[i], now);
}

/* A slot a reload emptied (zt_core_remove_transport), else a new one. */
static struct zt_transport_ref *transport_slot(struct zt_core *c)
{
	struct zt_transport_ref *t;

	for (unsigned i = 0; i < c->n_transports; i++)
		if (!c->transports[i].zi)
			return &c->transports[i];
	if (c->n_transports == ZT_MAX_TRANSPORTS)
		return NULL;
	t = &c->transports[c->n_transports];
	t->txq = calloc(1, sizeof *t->txq);
	if (!t->txq)
		return NULL;
	c->n_transports++;
	return t;
}

int zt_core_add_transport(struct zt_core *c, struct zt_inst *zi)
{
	struct zt_transport_ref *t = transport_slot(c);

	if (!t)
		return c->n_transports == ZT_MAX_TRANSPORTS ? -E2BIG : -ENOMEM;
	t->zi = zi;
	t->fallback = false;
	t->ops = zt_inst_module(zi)->ops.transport;
	t->state = zt_inst_state(zi);
	zt_inst_set_dgram_sink(zi, zt_core_rx, c);
	zt_core_bind_inst(zi, c);
	return 0;
}

void zt_core_remove_transport(struct zt_core *c, struct zt_inst *zi)
{
	unsigned t = transport_index(c, zi);

	if (t == c->n_transports)
		return;
	/* what waits to go out on it goes nowhere now */
	c->transports[t].txq->n = 0;
	zt_inst_set_dgram_sink(zi, NULL, NULL);
	c->transports[t].zi = NULL;
	c->transports[t].ops = NULL;
	c->transports[t].state = NULL;
	c->transports[t].fallback = false;
	if (c->forced == t + 1)
		c->forced = 0;
	for (unsigned i = 0; i < sizeof c->pending_rv / sizeof c->pending_rv[0]; i++)
		if (c->pending_rv[i].transport == t)
			c->pending_rv[i].with = 0;
	zt_natprobe_transport_gone(c, t);
	zt_paths_forget_transport(c, t);
}

int zt_core_start(struct zt_core *c)
{
	int rc;

	zt_networks_rejoin(c);
	zt_networks_restore(c);
	zt_core_paths_contact(c);
	ev_timer_init(&c->tick, core_tick, 0.0, ZT_WHOIS_RETRY_MS / 1000.0);
	c->tick.data = c;
	ev_timer_start(c->loop, &c->tick);
	ev_prepare_init(&c->flush, core_flush);
	c->flush.data = c;
	ev_prepare_start(c->loop, &c->flush);
	zt_spin_start(&c->spin);
	if ((rc = zt_workers_start(c)) < 0) {
		zt_logf(ZT_LOG_ERR, "cannot start %u data-path workers: %s", c->workers - 1, strerror(-rc));
		zt_core_stop(c);
		return rc;
	}
	c->started = true;
	return 0;
}

void zt_core_set_silent(struct zt_core *c, bool silent)
{
	bool was = c->silent;

	ZT_STORE(c->silent, silent);
	if (was && !silent && c->started)
		zt_vl1_announce(c, zt_core_now(c));
}

void zt_core_stop(struct zt_core *c)
{
	if (!c || !c->started)
		return;
	zt_workers_stop(c);
	zt_natprobe_stop(c);
	ev_timer_stop(c->loop, &c->tick);
	ev_prepare_stop(c->loop, &c->flush);
	zt_spin_stop(&c->spin);
	zt_vl1_flush(c);
	c->started = false;
}

void zt_core_free(struct zt_core *c)
{
	if (!c)
		return;
	zt_core_stop(c);
	zt_workers_free(c);
	zt_natprobe_free(c);
	for (unsigned i = 0; i < c->n_api; i++)
		free(c->api[i].prefix);
	while (c->n_nets)
		zt_network_free(c->nets[0]);
	free(c->nets);
	zt_resolved_close(c);
	zt_mcast_free(c);
	zt_peers_free(c);
	zt_paths_free(c);
	for (unsigned i = 0; i < c->n_transports; i++)
		free(c->transports[i].txq);
	zt_reasm_free(c->reasm);
	free(c->txq);
	free(c->rxq);
	sodium_munlock(&c->self, sizeof c->self);
	free(c->home);
	free(c->planet_path);
	free(c);
}

/* ---- what modules may read (node.h) ---- */

static void listening_put(struct zt_status *st, const union zt_sockaddr *a)
{
	if (st->n_listening < sizeof st->listening / sizeof st->listening[0])
		st->listening[st->n_listening++] = *a;
}

/* A bound address as 1.14 lists it: a socket bound to the wildcard is
 * listed as the interface addresses it receives on, those usable for
 * paths (§7.3) of interfaces other than ZeroTier's own ("zt..."). */
static void listening_add(struct zt_status *st, const union zt_sockaddr *a)
{
	struct ifaddrs *ifs, *i;
	bool any4 = a->sa.sa_family == AF_INET && a->in4.sin_addr.s_addr == htonl(INADDR_ANY);
	bool any6 = a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr);

	if ((!any4 && !any6) || getifaddrs(&ifs) != 0) {
		listening_put(st, a);
		return;
	}
	for (i = ifs; i; i = i->ifa_next) {
		union zt_sockaddr ia;

		if (!i->ifa_addr || i->ifa_addr->sa_family != a->sa.sa_family || !(i->ifa_flags & IFF_UP) ||
		    strncmp(i->ifa_name, "zt", 2) == 0)
			continue;
		memset(&ia, 0, sizeof ia);
		if (any4) {
			ia.in4 = *(const struct sockaddr_in *)i->ifa_addr;
			ia.in4.sin_port = a->in4.sin_port;
		} else {
			ia.in6 = *(const struct sockaddr_in6 *)i->ifa_addr;
			ia.in6.sin6_port = a->in6.sin6_port;
		}
		if (zt_inetaddr_path_usable(&ia))
			listening_put(st, &ia);
	}
	freeifaddrs(ifs);
}

/* Several peers report the same external address: list it once. */
static bool surface_listed(const struct zt_status *st, const union zt_sockaddr *a)
{
	for (size_t i = 0; i < st->n_surface; i++)
		if (zt_inetaddr_equal(&st->surface[i], a, true))
			return true;
	return false;
}

static struct zt_transport_ref *transport_ref(const struct zt_core *c, const struct zt_inst *zi)
{
	for (unsigned i = 0; i < c->n_transports; i++)
		if (c->transports[i].zi == zi)
			return (struct zt_transport_ref *)&c->transports[i];
	return NULL;
}

void zt_transport_fallback(struct zt_inst *zi)
{
	struct zt_core *c = zt_inst_core(zi);
	struct zt_transport_ref *t = c ? transport_ref(c, zi) : NULL;

	if (!t)
		return;
	t->fallback = true;
	for (size_t b = 0; b < c->path_buckets; b++)
		for (struct zt_path *p = c->paths[b]; p; p = p->next)
			if (&c->transports[p->transport] == t)
				p->fallback = true;
}

void zt_transport_force(struct zt_inst *zi)
{
	struct zt_core *c = zt_inst_core(zi);
	struct zt_transport_ref *t = c ? transport_ref(c, zi) : NULL;

	if (t)
		c->forced = (unsigned)(t - c->transports) + 1;
}

int64_t zt_core_receive_age(const struct zt_core *c, const struct zt_inst *zi)
{
	const struct zt_transport_ref *t = c ? transport_ref(c, zi) : NULL;
	int64_t last = 0;

	if (!t)
		return -1;
	for (size_t b = 0; b < c->peer_buckets; b++)
		for (const struct zt_peer *p = c->peers[b]; p; p = p->next)
			for (unsigned i = 0; i < p->n_paths; i++) {
				int64_t lr = ZT_LOAD(p->paths[i].last_receive);

				if (&c->transports[p->paths[i].path->transport] != t && lr > last)
					last = lr;
			}
	return last ? zt_core_now(c) - last : -1;
}

const char *zt_core_path_transport(const struct zt_core *c, uint32_t local_socket)
{
	unsigned t = local_socket >> 16;

	return t < c->n_transports && c->transports[t].zi ? zt_inst_module(c->transports[t].zi)->name : NULL;
}

struct zt_core *zt_inst_core(const struct zt_inst *zi)
{
	return zt_inst_owner(zi);
}

void zt_core_status(const struct zt_core *c, struct zt_status *out)
{
	int64_t now = zt_core_now(c);

	memset(out, 0, sizeof *out);
	out->address = c->self.address;
	zt_identity_to_text(&c->self, out->public_identity, false);
	out->online = c->is_root || (c->last_upstream_receive && now - c->last_upstream_receive < ZT_PEER_ACTIVITY_MS);
	out->clock_ms = now;
	out->planet_id = c->planet.id;
	out->planet_timestamp = c->planet.ts;
	out->planet_builtin = c->planet_builtin;
	out->protocol_version = ZT_PROTO_VERSION;
	out->home = c->home;
	for (unsigned t = 0; t < c->n_transports; t++) {
		const struct zt_transport_ref *tr = &c->transports[t];
		union zt_sockaddr locals[16];
		size_t n = tr->ops && tr->ops->locals ? tr->ops->locals(tr->state, locals, 16) : 0;

		for (size_t i = 0; i < n && i < 16; i++)
			listening_add(out, &locals[i]);
	}
	for (unsigned i = 0; i < 16 && out->n_surface < 16; i++)
		if (c->surface[i].reporter && now - c->surface[i].at < ZT_SURFACE_TTL_MS &&
		    !surface_listed(out, &c->surface[i].addr))
			out->surface[out->n_surface++] = c->surface[i].addr;
}

static int peer_cmp(const void *a, const void *b)
{
	uint64_t x = (*(struct zt_peer *const *)a)->id.address, y = (*(struct zt_peer *const *)b)->id.address;

	return x < y ? -1 : x > y;
}

void zt_core_peers(const struct zt_core *c, void (*fn)(void *ctx, const struct zt_peer_info *peer), void *ctx)
{
	struct zt_peer **all = malloc((c->n_peers + 1) * sizeof *all);
	struct zt_peer_info info;
	size_t n = 0;

	if (!all)
		return;
	for (size_t b = 0; b < c->peer_buckets; b++)
		for (struct zt_peer *p = c->peers[b]; p; p = p->next)
			all[n++] = p;
	qsort(all, n, sizeof *all, peer_cmp);
	for (size_t i = 0; i < n; i++) {
		zt_peer_info(c, all[i], &info);
		fn(ctx, &info);
	}
	free(all);
}

int zt_core_peer(const struct zt_core *c, uint64_t address, struct zt_peer_info *out)
{
	const struct zt_peer *p = zt_peer_find(c, address);

	if (!p)
		return -ENOENT;
	zt_peer_info(c, p, out);
	return 0;
}

int zt_core_echo(struct zt_core *c, uint64_t address)
{
	return zt_vl1_echo(c, address, zt_core_now(c));
}

void zt_core_counters(const struct zt_core *c,
		      void (*fn)(void *ctx, const char *name, uint64_t value), void *ctx)
{
	static const char *const names[] = {
#define ZT_X(name) #name,
		ZT_CORE_COUNTERS(ZT_X)
#undef ZT_X
	};

	uint64_t sum[ZT_C_ALL];

	memcpy(sum, c->counters, sizeof sum);
	zt_workers_counters(c, sum);
	for (unsigned i = 0; i < ZT_C_COUNT; i++)
		fn(ctx, names[i], sum[i]);
}

void zt_core_traffic(const struct zt_core *c, struct zt_traffic *out)
{
	uint64_t sum[ZT_C_ALL];

	memcpy(sum, c->counters, sizeof sum);
	zt_workers_counters(c, sum);
	memset(out, 0, sizeof *out);
	memcpy(out->rx_verbs, sum + ZT_C_rx_verb, sizeof out->rx_verbs);
	memcpy(out->tx_verbs, sum + ZT_C_tx_verb, sizeof out->tx_verbs);
	memcpy(out->rx_errors, sum + ZT_C_rx_error, sizeof out->rx_errors);
	memcpy(out->tx_errors, sum + ZT_C_tx_error, sizeof out->tx_errors);
	for (unsigned t = 0; t < c->n_transports; t++) {
		out->transports[t].protocol = c->transports[t].zi ? zt_inst_module(c->transports[t].zi)->name
						 : "(removed)";
		out->transports[t].rx_bytes = sum[ZT_C_rx_bytes + t];
		out->transports[t].tx_bytes = sum[ZT_C_tx_bytes + t];
	}
	out->n_transports = c->n_transports;
}

/* ---- every counter ---- */

struct all_counters_ctx {
	void (*fn)(void *ctx, const char *instance, const char *name, uint64_t value);
	void *ctx;
	const char *instance;
};

static void core_counter_visit(void *ctx, const char *name, uint64_t value)
{
	struct all_counters_ctx *a = ctx;

	a->fn(a->ctx, a->instance, name, value);
}

static void inst_counters_visit(void *ctx, struct zt_inst *zi)
{
	struct all_counters_ctx *a = ctx;

	a->instance = zt_inst_name(zi);
	zt_inst_counters(zi, core_counter_visit, a);
}

void zt_core_all_counters(const struct zt_core *c,
			  void (*fn)(void *ctx, const char *instance, const char *name, uint64_t value),
			  void *ctx)
{
	struct all_counters_ctx a = { fn, ctx, NULL };

	zt_core_counters(c, core_counter_visit, &a);
	zt_networks_counters(c, fn, ctx);
	if (c->kernel)
		zt_kernel_each_instance(c->kernel, inst_counters_visit, &a);
}
