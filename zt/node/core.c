/* The core's lifecycle: the node's identity and worlds in its home
 * directory, its upstreams, its timer, and what modules may read of it.
 * The top of the node: it calls VL1, the networks, the workers and the
 * peers; VL1 calls back only to cache a new peer and install a world. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "core.h"
#include "netcache.h"
#include "network.h"
#include "worker.h"

/* ---- files ---- */

int zt_file_read(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (got < cap && (n = read(fd, buf + got, cap - got)) > 0)
		got += n;
	close(fd);
	if (got == cap)
		return -EFBIG;
	*len = got;
	return 0;
}

/* Write a file atomically (temp + rename), so a crash leaves the old or
 * the new contents, never half of one. */
int zt_file_write(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4096];
	int fd, rc = 0;

	snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) < 0)
		rc = -errno ? -errno : -EIO;
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static char *home_path(const struct zt_core *c, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", c->home, name) < 0 ? NULL : p;
}

/* ---- identity ---- */

/* identity.secret written by another tool may be open to others. */
static void secret_protect(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		zt_secret_protect(NULL, fd, path);
		close(fd);
	}
}

static void generate_progress(uint64_t hashes, void *arg)
{
}

static int identity_load(struct zt_core *c)
{
	char *secret = home_path(c, "identity.secret"), *public = home_path(c, "identity.public");
	char text[ZT_ID_TEXT_MAX + 8];
	size_t len;
	int rc;

	if (!secret || !public) {
		rc = -ENOMEM;
		goto out;
	}
	rc = zt_file_read(secret, (uint8_t *)text, sizeof text - 1, &len);
	if (rc == 0) {
		secret_protect(secret);
		text[len] = 0;
		if (zt_identity_from_text(&c->self, text) < 0 || !c->self.has_private ||
		    !zt_identity_keys_match(&c->self)) {
			zt_logf(ZT_LOG_ERR, "%s: not a secret identity (address:0:public:private)", secret);
			rc = -EINVAL;
		}
		sodium_memzero(text, sizeof text);
		goto out;
	}
	if (rc != -ENOENT) {
		zt_logf(ZT_LOG_ERR, "%s: %s", secret, strerror(-rc));
		goto out;
	}
	zt_logf(ZT_LOG_INFO, "no identity in %s: generating one (this takes a few seconds)", c->home);
	rc = zt_identity_generate_mt(&c->self, sysconf(_SC_NPROCESSORS_ONLN) > 0 ?
				     (unsigned)sysconf(_SC_NPROCESSORS_ONLN) : 1, generate_progress, NULL);
	if (rc < 0) {
		zt_logf(ZT_LOG_ERR, "identity generation failed: %s", strerror(-rc));
		goto out;
	}
	zt_identity_to_text(&c->self, text, true);
	rc = zt_file_write(secret, text, strlen(text), 0600);
	sodium_memzero(text, sizeof text);
	if (rc == 0) {
		zt_identity_to_text(&c->self, text, false);
		rc = zt_file_write(public, text, strlen(text), 0644);
	}
	if (rc < 0)
		zt_logf(ZT_LOG_ERR, "%s: cannot write the identity: %s", c->home, strerror(-rc));
out:
	if (rc == 0) {
		char a[11];

		sodium_mlock(&c->self, sizeof c->self);
		zt_address_fmt(c->self.address, a);
		zt_logf(ZT_LOG_INFO, "identity %s", a);
	}
	free(secret);
	free(public);
	return rc;
}

/* ---- worlds ---- */

static int world_load(const char *path, struct zt_world *w)
{
	static uint8_t buf[ZT_WORLD_BIN_MAX + 1];
	size_t len;
	int rc = zt_file_read(path, buf, sizeof buf, &len);

	if (rc < 0)
		return rc;
	rc = zt_world_from_bin(w, buf, len);
	if (rc < 0)
		return rc;
	return zt_world_verify(w, w->update_key) ? 0 : -EBADMSG;
}

static int world_save(const char *path, const struct zt_world *w)
{
	static uint8_t buf[ZT_WORLD_BIN_MAX];
	int n = zt_world_to_bin(w, buf, sizeof buf);

	return n < 0 ? n : zt_file_write(path, buf, n, 0644);
}

static char *seed_path(const struct zt_core *c, uint64_t id)
{
	char *p;

	return asprintf(&p, "%s/moons.d/%016llx.seed", c->home, (unsigned long long)id) < 0 ? NULL : p;
}

static char *moon_path(const struct zt_core *c, uint64_t id)
{
	char *p;

	return asprintf(&p, "%s/moons.d/%016llx.moon", c->home, (unsigned long long)id) < 0 ? NULL : p;
}

/* The peers of every root of the planet and of our moons, with their
 * stable endpoints; we are a root if we are among them. */
static void upstreams_build(struct zt_core *c)
{
	const struct zt_world *worlds[1 + ZT_MAX_MOONS];
	unsigned nw = 0;

	worlds[nw++] = &c->planet;
	for (unsigned i = 0; i < c->n_moons; i++)
		worlds[nw++] = &c->moons[i];
	for (unsigned i = 0; i < c->n_upstreams; i++) {
		c->upstreams[i]->upstream = false;
		c->upstreams[i]->root = NULL;
		c->upstreams[i]->role = ZT_ROLE_LEAF;
	}
	c->n_upstreams = 0;
	c->is_root = false;
	for (unsigned w = 0; w < nw; w++)
		for (unsigned r = 0; r < worlds[w]->n_roots; r++) {
			const struct zt_world_root *root = &worlds[w]->roots[r];
			struct zt_peer *p;

			if (root->id.address == c->self.address) {
				c->is_root = true;
				continue;
			}
			p = zt_peer_find(c, root->id.address);
			if (p && !zt_identity_equal(&p->id, &root->id)) {
				zt_peer_remove(c, p);
				p = NULL;
			}
			if (!p && !(p = zt_peer_add(c, &root->id)))
				continue;
			if (p->upstream)
				continue;
			p->upstream = true;
			p->root = root;
			p->role = worlds[w]->type == ZT_WORLD_PLANET ? ZT_ROLE_PLANET : ZT_ROLE_MOON;
			if (c->n_upstreams < ZT_MAX_UPSTREAMS)
				c->upstreams[c->n_upstreams++] = p;
		}
}

static bool world_has_root(const struct zt_world *w, uint64_t address)
{
	for (unsigned r = 0; r < w->n_roots; r++)
		if (w->roots[r].id.address == address)
			return true;
	return false;
}

/* Which worlds this node is a root of, each by its kind and id. */
static void roots_log(const struct zt_core *c)
{
	if (world_has_root(&c->planet, c->self.address))
		zt_logf(ZT_LOG_INFO, "this node is a root of planet %llu", (unsigned long long)c->planet.id);
	for (unsigned i = 0; i < c->n_moons; i++)
		if (world_has_root(&c->moons[i], c->self.address))
			zt_logf(ZT_LOG_INFO, "this node is a root of moon %016llx", (unsigned long long)c->moons[i].id);
}

/* A world from a peer (OK(HELLO)): install it if the update rule (§6.3)
 * or a pending moon seed allows. */
void zt_core_world_install(struct zt_core *c, const struct zt_world *w)
{
	struct zt_world *slot = NULL;
	char *path = NULL;

	if (w->type == ZT_WORLD_PLANET) {
		if (!zt_world_update_ok(&c->planet, w))
			return;
		slot = &c->planet;
		path = strdup(c->planet_path);
	} else if (w->type == ZT_WORLD_MOON) {
		for (unsigned i = 0; i < c->n_moons; i++)
			if (c->moons[i].id == w->id) {
				if (!zt_world_update_ok(&c->moons[i], w))
					return;
				slot = &c->moons[i];
			}
		for (unsigned i = 0; !slot && i < c->n_seeds; i++)
			if (c->seeds[i].id == w->id && c->n_moons < ZT_MAX_MOONS && zt_world_verify(w, w->update_key)) {
				char *sp = seed_path(c, w->id);

				slot = &c->moons[c->n_moons++];
				c->seeds[i] = c->seeds[--c->n_seeds];
				if (sp)
					unlink(sp);   /* the moon file replaces it */
				free(sp);
			}
		if (!slot)
			return;
		path = moon_path(c, w->id);
	}
	if (!slot)
		return;
	*slot = *w;
	zt_logf(ZT_LOG_INFO, "%s %016llx updated to revision %llu", w->type == ZT_WORLD_PLANET ? "planet" : "moon",
		(unsigned long long)w->id, (unsigned long long)w->ts);
	if (path && world_save(path, w) < 0)
		zt_logf(ZT_LOG_WARN, "%s: cannot save the world update", path);
	free(path);
	upstreams_build(c);
}

static void moons_scan(struct zt_core *c, const char *dir)
{
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[4096];
		struct zt_world m;

		if (strstr(e->d_name, ".seed") && strlen(e->d_name) == 21 && c->n_seeds < ZT_MAX_MOONS) {
			char text[16] = "";
			size_t len;

			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			if (zt_file_read(path, (uint8_t *)text, sizeof text - 1, &len) == 0 && len >= 10) {
				c->seeds[c->n_seeds].id = strtoull(e->d_name, NULL, 16);
				c->seeds[c->n_seeds].seed = strtoull(text, NULL, 16);
				c->n_seeds++;
			}
			continue;
		}
		if (!strstr(e->d_name, ".moon"))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (world_load(path, &m) < 0 || m.type != ZT_WORLD_MOON) {
			zt_logf(ZT_LOG_WARN, "%s: not a valid signed moon; ignored", path);
			continue;
		}
		if (c->n_moons == ZT_MAX_MOONS) {
			zt_logf(ZT_LOG_WARN, "%s: more than %d moons; ignored", path, ZT_MAX_MOONS);
			continue;
		}
		c->moons[c->n_moons++] = m;
		zt_logf(ZT_LOG_INFO, "moon %016llx (revision %llu)", (unsigned long long)m.id, (unsigned long long)m.ts);
	}
	if (d)
		closedir(d);
}

static int worlds_load(struct zt_core *c)
{
	char *dir = home_path(c, "moons.d");
	int rc = world_load(c->planet_path, &c->planet);

	if (rc < 0) {
		if (rc == -ENOENT)
			zt_logf(ZT_LOG_ERR, "%s: no planet file.  zt has no built-in planet: make one with "
				"zt-mkworld (see zt-mkworld(1)) or copy your roots' planet file there", c->planet_path);
		else
			zt_logf(ZT_LOG_ERR, "%s: not a valid signed planet: %s", c->planet_path,
				rc == -EBADMSG ? "the signature does not verify" : strerror(-rc));
		free(dir);
		return rc;
	}
	if (c->planet.type != ZT_WORLD_PLANET) {
		zt_logf(ZT_LOG_ERR, "%s: a moon, not a planet", c->planet_path);
		free(dir);
		return -EINVAL;
	}
	/* every stored moon is installed as it is (§6.5); seeds of moons we
	 * already hold are satisfied */
	moons_scan(c, dir);
	for (unsigned i = 0; i < c->n_seeds; i++) {
		bool dup = false;

		for (unsigned k = 0; k < c->n_moons; k++)
			dup |= c->moons[k].id == c->seeds[i].id;
		for (unsigned k = 0; k < i; k++)
			dup |= c->seeds[k].id == c->seeds[i].id;
		if (dup)
			c->seeds[i--] = c->seeds[--c->n_seeds];
	}
	if (dir)
		mkdir(dir, 0755);
	free(dir);
	return 0;
}

/* ---- the peer cache: identities survive a restart, so a restarted
 * root still knows the leaves that keep talking to it ---- */

void zt_core_peer_learned(struct zt_core *c, const struct zt_peer *p)
{
	char name[64], text[ZT_ID_TEXT_MAX], a[11];
	char *path;

	zt_address_fmt(p->id.address, a);
	snprintf(name, sizeof name, "peers.d/%s.peer", a);
	path = home_path(c, name);
	if (!path)
		return;
	zt_identity_to_text(&p->id, text, false);
	if (zt_file_write(path, text, strlen(text), 0644) < 0 && !c->cache_warned) {
		zt_logf(ZT_LOG_WARN, "%s: cannot write the peer cache: %s", path, strerror(errno));
		c->cache_warned = true;
	}
	free(path);
}

static void peers_cache_load(struct zt_core *c)
{
	char *dir = home_path(c, "peers.d");
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;
	int64_t now = zt_core_now(c);

	if (!d) {
		if (dir)
			mkdir(dir, 0755);
		free(dir);
		return;
	}
	while ((e = readdir(d))) {
		char path[4096], text[ZT_ID_TEXT_MAX + 8];
		struct zt_identity id;
		struct zt_peer *p;
		size_t len;

		if (!strstr(e->d_name, ".peer"))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (zt_file_read(path, (uint8_t *)text, sizeof text - 1, &len) < 0)
			continue;
		text[len] = 0;
		if (zt_identity_from_text(&id, text) < 0 || id.address == c->self.address ||
		    zt_peer_find(c, id.address)) {
			if (id.address != c->self.address)
				unlink(path);   /* damaged or stale: forget it */
			continue;
		}
		p = zt_peer_add(c, &id);
		if (p)
			p->last_receive = now;   /* a grace period before housekeeping */
	}
	closedir(d);
	free(dir);
}

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
	if (now - c->last_housekeeping >= ZT_HOUSEKEEPING_MS) {
		c->last_housekeeping = now;
		zt_peers_housekeep(c, now);
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
	if (conf->planet)
		c->planet_path = strdup(conf->planet);
	else
		c->planet_path = home_path(c, "planet");
	c->workers = conf->workers ? conf->workers : 1;
	c->lane.core = c;
	c->lane.transports = c->transports;
	c->lane.counters = c->counters;
	c->lane.frag = c->frag;
	c->lane.tx = c->tx;
	c->lane.buf = c->buf;
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
	if (identity_load(c) < 0 || worlds_load(c) < 0)
		goto fail;
	zt_core_public_identity(c, &c->self_peer.id);
	peers_cache_load(c);
	upstreams_build(c);
	roots_log(c);
	return c;
fail:
	zt_core_free(c);
	return NULL;
}

int zt_core_add_transport(struct zt_core *c, struct zt_inst *zi)
{
	struct zt_transport_ref *t;

	if (c->n_transports == ZT_MAX_TRANSPORTS)
		return -E2BIG;
	t = &c->transports[c->n_transports];
	t->txq = calloc(1, sizeof *t->txq);
	if (!t->txq)
		return -ENOMEM;
	c->n_transports++;
	t->zi = zi;
	t->ops = zt_inst_module(zi)->ops.transport;
	t->state = zt_inst_state(zi);
	zt_inst_set_dgram_sink(zi, zt_core_rx, c);
	zt_core_bind_inst(zi, c);
	return 0;
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

void zt_core_stop(struct zt_core *c)
{
	if (!c || !c->started)
		return;
	zt_workers_stop(c);
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
	for (unsigned i = 0; i < c->n_api; i++)
		free(c->api[i].prefix);
	while (c->n_nets)
		zt_network_free(c->nets[0]);
	free(c->nets);
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

	return t < c->n_transports ? zt_inst_module(c->transports[t].zi)->name : NULL;
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
	out->protocol_version = ZT_PROTO_VERSION;
	out->home = c->home;
	for (unsigned t = 0; t < c->n_transports; t++) {
		const struct zt_transport_ref *tr = &c->transports[t];
		union zt_sockaddr locals[16];
		size_t n = tr->ops->locals ? tr->ops->locals(tr->state, locals, 16) : 0;

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
		out->transports[t].protocol = zt_inst_module(c->transports[t].zi)->name;
		out->transports[t].rx_bytes = sum[ZT_C_rx_bytes + t];
		out->transports[t].tx_bytes = sum[ZT_C_tx_bytes + t];
	}
	out->n_transports = c->n_transports;
}

/* ---- moons at run time (wire.md §6.5) ---- */

static void moon_info(const struct zt_world *w, struct zt_moon_info *out)
{
	memset(out, 0, sizeof *out);
	out->id = w->id;
	out->timestamp = w->ts;
	memcpy(out->signature, w->sig, sizeof out->signature);
	memcpy(out->update_key, w->update_key, sizeof out->update_key);
	for (unsigned r = 0; r < w->n_roots && r < 4; r++) {
		out->roots[r].id = w->roots[r].id;
		out->roots[r].id.has_private = false;
		for (unsigned e = 0; e < w->roots[r].n_endpoints && e < 4; e++)
			out->roots[r].endpoints[out->roots[r].n_endpoints++] = w->roots[r].endpoints[e];
		out->n_roots++;
	}
}

void zt_core_moons(const struct zt_core *c, void (*fn)(void *ctx, const struct zt_moon_info *m), void *ctx)
{
	struct zt_moon_info m;

	for (unsigned i = 0; i < c->n_moons; i++) {
		moon_info(&c->moons[i], &m);
		fn(ctx, &m);
	}
	for (unsigned i = 0; i < c->n_seeds; i++) {
		memset(&m, 0, sizeof m);
		m.id = c->seeds[i].id;
		m.seed = c->seeds[i].seed;
		m.waiting = true;
		fn(ctx, &m);
	}
}

int zt_core_moon(const struct zt_core *c, uint64_t id, struct zt_moon_info *out)
{
	for (unsigned i = 0; i < c->n_moons; i++)
		if (c->moons[i].id == id) {
			moon_info(&c->moons[i], out);
			return 0;
		}
	for (unsigned i = 0; i < c->n_seeds; i++)
		if (c->seeds[i].id == id) {
			memset(out, 0, sizeof *out);
			out->id = id;
			out->seed = c->seeds[i].seed;
			out->waiting = true;
			return 0;
		}
	return -ENOENT;
}

int zt_core_orbit(struct zt_core *c, uint64_t id, uint64_t seed)
{
	char *path, text[16];
	int rc;

	for (unsigned i = 0; i < c->n_moons; i++)
		if (c->moons[i].id == id)
			return 0;
	for (unsigned i = 0; i < c->n_seeds; i++)
		if (c->seeds[i].id == id)
			return 0;
	if (zt_address_reserved(seed))
		return -EINVAL;
	if (c->n_seeds == ZT_MAX_MOONS)
		return -ENOSPC;
	c->seeds[c->n_seeds].id = id;
	c->seeds[c->n_seeds].seed = seed;
	c->n_seeds++;
	path = seed_path(c, id);
	if (!path)
		return -ENOMEM;
	snprintf(text, sizeof text, "%010llx", (unsigned long long)seed);
	rc = zt_file_write(path, text, strlen(text), 0644);
	free(path);
	zt_logf(ZT_LOG_INFO, "moon %016llx: orbiting through %s", (unsigned long long)id, text);
	return rc;
}

int zt_core_deorbit(struct zt_core *c, uint64_t id)
{
	char *mp = moon_path(c, id), *sp = seed_path(c, id);
	bool found = false;

	for (unsigned i = 0; i < c->n_moons; i++)
		if (c->moons[i].id == id) {
			c->moons[i--] = c->moons[--c->n_moons];
			found = true;
		}
	for (unsigned i = 0; i < c->n_seeds; i++)
		if (c->seeds[i].id == id) {
			c->seeds[i--] = c->seeds[--c->n_seeds];
			found = true;
		}
	if (mp)
		unlink(mp);
	if (sp)
		unlink(sp);
	free(mp);
	free(sp);
	if (!found)
		return -ENOENT;
	upstreams_build(c);
	zt_logf(ZT_LOG_INFO, "moon %016llx: deorbited", (unsigned long long)id);
	return 0;
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
