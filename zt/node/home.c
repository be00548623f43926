/* The node's home directory and the state it keeps there: the identity,
 * the planet and moons (installed at start, from a peer's OK(HELLO), by
 * orbit and deorbit at run time), the upstreams they make, and the cache
 * of peers' identities.  Below VL1, which tells it of a new peer and an
 * offered world; it calls only peer.c and the layers below the node. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "core.h"

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

/* fsync the directory holding path, so that a rename or a new name in it
 * lasts a power loss too, not only a crash of the process. */
static int dir_sync(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, rc = 0;

	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path) >= (int)sizeof dir)
		return -ENAMETOOLONG;
	if (!dir[0])
		snprintf(dir, sizeof dir, "/");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Write a file through a temp file renamed over it, so a full or
 * read-only disk leaves the old file as it was; durable: fsync of the
 * file and of its directory, so a crash or power loss leaves the old or
 * the new contents, never half of one. */
static int file_write(const char *path, const void *data, size_t len, mode_t mode, bool durable)
{
	char tmp[4096];
	const uint8_t *p = data;
	size_t off = 0;
	int fd, rc = 0;

	if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (rc == 0 && durable && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	return durable ? dir_sync(path) : 0;
}

int zt_file_write(const char *path, const void *data, size_t len, mode_t mode)
{
	return file_write(path, data, len, mode, true);
}

/* Whether path holds exactly data. */
static bool file_holds(const char *path, const void *data, size_t len)
{
	uint8_t buf[4096];
	size_t got;

	return len < sizeof buf && zt_file_read(path, buf, sizeof buf, &got) == 0 && got == len &&
	       !memcmp(buf, data, len);
}

/* The two fsyncs cost ~6 ms on a VM's disk: a controller learning the
 * paths of 10,000 members after a restart would stall a minute on them.
 * A cache's file lost or emptied by a power loss costs a HELLO.  And
 * what a restart learns again is mostly what the file holds: left as it
 * is, without making a temp file's inode (most of the kernel's time in
 * such a herd). */
int zt_file_write_cache(const char *path, const void *data, size_t len, mode_t mode)
{
	if (file_holds(path, data, len))
		return 0;
	return file_write(path, data, len, mode, false);
}

/* A temporary file of zt_file_write ("<name>.tmp.<pid>") whose writer
 * is gone was left by a crash between create and rename: remove it, so
 * it neither piles up nor is taken for a state file by a scan. */
static bool stale_temp(const char *name)
{
	const char *t = strstr(name, ".tmp.");
	char *end;
	long pid;

	if (!t || t == name)
		return false;
	errno = 0;
	pid = strtol(t + 5, &end, 10);
	if (errno || *end || end == t + 5 || pid <= 0)
		return false;
	return pid != (long)getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static void temps_sweep(const char *home, const char *sub)
{
	char dir[4096], path[4096 + 256];
	struct dirent *e;
	DIR *d;

	if (snprintf(dir, sizeof dir, "%s%s%s", home, sub[0] ? "/" : "", sub) >= (int)sizeof dir || !(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		if (!stale_temp(e->d_name))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (unlink(path) == 0)
			zt_logf(ZT_LOG_INFO, "%s: removed, left by a write a crash interrupted", path);
	}
	closedir(d);
}

/* Every directory zt_file_write writes into. */
static void home_temps_sweep(const char *home)
{
	static const char *const subs[] = { "", "networks.d", "peers.d", "moons.d" };

	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
		temps_sweep(home, subs[i]);
}

char *zt_home_path(const struct zt_core *c, const char *name)
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

/* identity.public is written after identity.secret: a crash in between
 * leaves only the secret one, so write the public one again from it. */
static void public_restore(const struct zt_identity *id, const char *public)
{
	char text[ZT_ID_TEXT_MAX + 8];
	int rc;

	if (access(public, F_OK) == 0 || errno != ENOENT)
		return;
	zt_identity_to_text(id, text, false);
	rc = zt_file_write(public, text, strlen(text), 0644);
	if (rc < 0)
		zt_logf(ZT_LOG_WARN, "%s: cannot write the public identity: %s", public, strerror(-rc));
	else
		zt_logf(ZT_LOG_INFO, "%s: missing, written again from the secret identity", public);
}

static void generate_progress(uint64_t hashes, void *arg)
{
}

static int identity_load(struct zt_core *c)
{
	char *secret = zt_home_path(c, "identity.secret"), *public = zt_home_path(c, "identity.public");
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
		if (rc == 0)
			public_restore(&c->self, public);
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

void zt_core_public_identity(const struct zt_core *c, struct zt_identity *out)
{
	*out = c->self;
	out->has_private = false;
	sodium_memzero(out->priv, sizeof out->priv);
}

/* ---- worlds ---- */

static int world_decode(const uint8_t *buf, size_t len, struct zt_world *w)
{
	int rc = zt_world_from_bin(w, buf, len);

	if (rc < 0)
		return rc;
	return zt_world_verify(w, w->update_key) ? 0 : -EBADMSG;
}

static int world_load(const char *path, struct zt_world *w)
{
	static uint8_t buf[ZT_WORLD_BIN_MAX + 1];
	size_t len;
	int rc = zt_file_read(path, buf, sizeof buf, &len);

	return rc < 0 ? rc : world_decode(buf, len, w);
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
	int rc;

	if (w->type == ZT_WORLD_PLANET) {
		if (!zt_world_update_ok(&c->planet, w))
			return;
		slot = &c->planet;
		c->planet_builtin = false;    /* saved to planet_path below */
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
	if (path && (rc = world_save(path, w)) < 0)
		zt_logf(ZT_LOG_WARN, "%s: cannot save the world update: %s", path, strerror(-rc));
	free(path);
	upstreams_build(c);
}

/* moons.d/<id>.seed: a moon orbited through a seed that has not come yet. */
static void seed_load(struct zt_core *c, const char *dir, const char *name)
{
	char path[4096], text[16];
	uint64_t id, seed;
	size_t len;
	int rc;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (zt_moon_seed_name(name, &id) < 0) {
		zt_logf(ZT_LOG_WARN, "%s: not a seed file (<moon id, 16 hex digits>.seed); ignored", path);
		return;
	}
	rc = zt_file_read(path, (uint8_t *)text, sizeof text, &len);
	if (rc < 0 && rc != -EFBIG) {
		zt_logf(ZT_LOG_WARN, "%s: %s; ignored", path, strerror(-rc));
		return;
	}
	if (rc == -EFBIG || zt_moon_seed_text(text, len, &seed) < 0) {
		zt_logf(ZT_LOG_WARN, "%s: must hold the address of one of the moon's roots (10 hex digits); ignored",
			path);
		return;
	}
	if (c->n_seeds == ZT_MAX_MOONS) {
		zt_logf(ZT_LOG_WARN, "%s: more than %d moons; ignored", path, ZT_MAX_MOONS);
		return;
	}
	c->seeds[c->n_seeds].id = id;
	c->seeds[c->n_seeds].seed = seed;
	c->n_seeds++;
}

static void moons_scan(struct zt_core *c, const char *dir)
{
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;

	while (d && (e = readdir(d))) {
		size_t nl = strlen(e->d_name);
		char path[4096];
		struct zt_world m;

		if (nl > 5 && strcmp(e->d_name + nl - 5, ".seed") == 0) {
			seed_load(c, dir, e->d_name);
			continue;
		}
		/* <id>.moon exactly: not a writer's <id>.moon.tmp.<pid> */
		if (nl != 21 || strcmp(e->d_name + 16, ".moon"))
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

static int worlds_load(struct zt_core *c, const struct zt_core_conf *conf)
{
	char *dir = zt_home_path(c, "moons.d");
	int rc = world_load(c->planet_path, &c->planet);

	if (rc == -ENOENT && !conf->planet && conf->builtin_planet) {
		rc = world_decode(conf->builtin_planet, conf->builtin_planet_len, &c->planet);
		c->planet_builtin = rc == 0;
		if (rc == 0)
			zt_logf(ZT_LOG_INFO, "no %s: using the built-in planet %llu (ZeroTier's public roots)",
				c->planet_path, (unsigned long long)c->planet.id);
	}
	if (rc < 0) {
		if (rc == -ENOENT)
			zt_logf(ZT_LOG_ERR, "%s: no planet file: make one with zt-mkworld (see zt-mkworld(1)) "
				"or copy your roots' planet file there", c->planet_path);
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
		mkdir(dir, 0700);
	free(dir);
	return 0;
}

/* ---- the peer cache: identities survive a restart, so a restarted
 * root still knows the leaves that keep talking to it ---- */

void zt_core_peer_learned(struct zt_core *c, const struct zt_peer *p)
{
	char name[64], text[ZT_ID_TEXT_MAX], a[11];
	char *path;
	int rc;

	zt_address_fmt(p->id.address, a);
	snprintf(name, sizeof name, "peers.d/%s.peer", a);
	path = zt_home_path(c, name);
	if (!path)
		return;
	zt_identity_to_text(&p->id, text, false);
	if ((rc = zt_file_write_cache(path, text, strlen(text), 0644)) < 0 && !c->cache_warned) {
		zt_logf(ZT_LOG_WARN, "%s: cannot write the peer cache: %s", path, strerror(-rc));
		c->cache_warned = true;
	}
	free(path);
}

static void peers_cache_load(struct zt_core *c)
{
	char *dir = zt_home_path(c, "peers.d");
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;
	int64_t now = zt_core_now(c);

	if (!d) {
		if (dir)
			mkdir(dir, 0700);
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
	if (rc < 0)
		zt_logf(ZT_LOG_WARN, "%s: %s: the moon will not be orbited again after a restart", path,
			strerror(-rc));
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

/* ---- loading it all ---- */

int zt_home_load(struct zt_core *c, const struct zt_core_conf *conf)
{
	int rc;

	home_temps_sweep(c->home);
	if ((rc = identity_load(c)) < 0 || (rc = worlds_load(c, conf)) < 0)
		return rc;
	zt_core_public_identity(c, &c->self_peer.id);
	peers_cache_load(c);
	upstreams_build(c);
	roots_log(c);
	return 0;
}
