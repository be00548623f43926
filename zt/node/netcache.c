/* The node's memory across restarts (see netcache.h): network configs as
 * the controller signed them, and peers' last good paths. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netcache.h"
#include "network.h"
#include "send.h"

#define MAGIC_LEN (sizeof ZT_NETCACHE_MAGIC - 1)
#define CHUNK_MAX (ZT_CHUNK_SLICE_MAX + ZT_CHUNK_OVERHEAD)
/* the largest config in chunks of at least 1 KiB, as controllers send */
#define CACHE_MAX (MAGIC_LEN + ZT_DICT_CONFIG_CAP + ZT_CONFIG_MAX_CHUNKS * (4 + ZT_CHUNK_OVERHEAD))

struct zt_netcache {
	uint64_t update_id;
	uint32_t total, received;   /* bytes of the config, and in the chunks kept */
	size_t len, cap;
	uint8_t *buf;   /* the file being built: magic, then the chunks */
};

struct zt_netcache *zt_netcache_new(void)
{
	return calloc(1, sizeof(struct zt_netcache));
}

void zt_netcache_free(struct zt_netcache *nc)
{
	if (!nc)
		return;
	free(nc->buf);
	free(nc);
}

static size_t chunk_len(const struct zt_config_chunk *ch)
{
	return ch->signed_len + 3 + ZT_SIG_LEN;
}

void zt_netcache_chunk(struct zt_netcache *nc, const struct zt_config_chunk *ch)
{
	size_t n = chunk_len(ch);

	if (!nc)
		return;
	if (nc->update_id != ch->update_id) {
		nc->update_id = ch->update_id;
		nc->total = ch->total;
		nc->received = 0;
		nc->len = 0;
	}
	if (nc->len + MAGIC_LEN + 4 + n > nc->cap) {
		size_t cap = nc->len + MAGIC_LEN + 4 + n + 4 * CHUNK_MAX;
		uint8_t *b = cap <= CACHE_MAX ? realloc(nc->buf, cap) : NULL;

		if (!b) {
			nc->update_id = 0;   /* this config will not be cached */
			return;
		}
		nc->buf = b;
		nc->cap = cap;
	}
	if (!nc->len) {
		memcpy(nc->buf, ZT_NETCACHE_MAGIC, MAGIC_LEN);
		nc->len = MAGIC_LEN;
	}
	for (int i = 3; i >= 0; i--)
		nc->buf[nc->len++] = (uint8_t)(n >> (8 * i));
	memcpy(nc->buf + nc->len, ch->body, n);
	nc->len += n;
	nc->received += (uint32_t)ch->len;
}

void zt_netcache_save(struct zt_core *c, struct zt_netcache *nc, uint64_t nwid, uint64_t update_id)
{
	char *path;
	int rc;

	/* chunks of updates that interleave are not all kept: only a whole one is saved */
	if (!nc || !nc->update_id || nc->update_id != update_id || nc->received != nc->total || !nc->len)
		return;
	zt_networks_dir_make(c);
	if (!(path = zt_network_file(c, nwid, "netconf")))
		return;
	rc = zt_file_write(path, nc->buf, nc->len, 0600);
	if (rc < 0)
		zt_logf(ZT_LOG_WARN, "%s: cannot cache the network's config: %s", path, strerror(-rc));
	free(path);
	nc->update_id = 0;
	nc->len = 0;
}

int zt_netcache_parse(const uint8_t *buf, size_t len, uint64_t nwid, const struct zt_identity *controller,
		      struct zt_config_asm *a, const uint8_t **dict, size_t *dict_len, const char **why)
{
	struct zt_config_chunk ch;
	uint64_t update_id = 0;
	size_t pos = MAGIC_LEN;
	int rc = 0;

	if (len < MAGIC_LEN || memcmp(buf, ZT_NETCACHE_MAGIC, MAGIC_LEN) != 0) {
		*why = "not a network config cache";
		return -EINVAL;
	}
	while (pos < len) {
		size_t n;

		if (len - pos < 4) {
			*why = "truncated";
			return -EMSGSIZE;
		}
		n = (size_t)buf[pos] << 24 | (size_t)buf[pos + 1] << 16 | (size_t)buf[pos + 2] << 8 | buf[pos + 3];
		pos += 4;
		if (n > len - pos) {
			*why = "truncated";
			return -EMSGSIZE;
		}
		if (rc == 1) {
			*why = "bytes after the complete config";
			return -EINVAL;
		}
		if (zt_chunk_decode(&ch, buf + pos, n) < 0 || ch.legacy || chunk_len(&ch) != n) {
			*why = "a malformed chunk";
			return -EINVAL;
		}
		if (ch.nwid != nwid || (update_id && ch.update_id != update_id)) {
			*why = "a chunk of another network or update";
			return -EINVAL;
		}
		if (zt_chunk_verify(&ch, controller) < 0) {
			*why = "the controller's signature does not verify";
			return -EBADMSG;
		}
		update_id = ch.update_id;
		rc = zt_config_asm_add(a, &ch, dict, dict_len);
		if (rc < 0) {
			*why = "chunks that do not make one config";
			return -EINVAL;
		}
		pos += n;
	}
	if (rc != 1) {
		*why = "truncated";
		return -EMSGSIZE;
	}
	return 0;
}

/* The controller's identity, as met before and checked again (its
 * address must be the hash of its key: the signatures then prove
 * the controller wrote the config). */
static const struct zt_identity *controller_identity(struct zt_core *c, uint64_t nwid)
{
	struct zt_peer *p = zt_peer_find(c, zt_nwid_controller(nwid));

	if (zt_nwid_controller(nwid) == c->self.address)
		return &c->self;
	return p && zt_identity_validate(&p->id) ? &p->id : NULL;
}

int zt_netcache_load(struct zt_core *c, uint64_t nwid, struct zt_config_asm *a, const uint8_t **dict,
		     size_t *dict_len, char **path_out)
{
	char *path = zt_network_file(c, nwid, "netconf");
	const struct zt_identity *ctl;
	const char *why = NULL;
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	if (!path)
		return -ENOMEM;
	if (!(buf = malloc(CACHE_MAX + 1))) {
		rc = -ENOMEM;
		goto out;
	}
	rc = zt_file_read(path, buf, CACHE_MAX + 1, &len);
	if (rc == -ENOENT)
		goto out;
	if (rc < 0) {
		why = strerror(-rc);
	} else if (!(ctl = controller_identity(c, nwid))) {
		why = "the controller's identity is not known (peers.d)";
		rc = -ENOKEY;
	} else {
		rc = zt_netcache_parse(buf, len, nwid, ctl, a, dict, dict_len, &why);
	}
	if (rc < 0)
		zt_logf(ZT_LOG_WARN, "%s: refused the cached config: %s; waiting for the controller", path, why);
out:
	free(buf);
	if (rc == 0)
		*path_out = path;
	else
		free(path);
	return rc;
}

void zt_netcache_remove(struct zt_core *c, uint64_t nwid)
{
	char *path = zt_network_file(c, nwid, "netconf");

	if (path && unlink(path) == 0)
		zt_logf(ZT_LOG_INFO, "%s: the cached config is removed", path);
	else if (path && errno != ENOENT)
		zt_logf(ZT_LOG_WARN, "%s: cannot remove the cached config: %s", path, strerror(errno));
	free(path);
}

/* ---- peers' paths ---- */

static char *paths_file(const struct zt_core *c, uint64_t address)
{
	char a[11], *p;

	zt_address_fmt(address, a);
	return asprintf(&p, "%s/peers.d/%s.paths", c->home, a) < 0 ? NULL : p;
}

void zt_core_paths_learned(struct zt_core *c, const struct zt_peer *p)
{
	char text[ZT_PEER_PATHS * (ZT_INETADDR_TEXT_MAX + 1)], *path;
	size_t len = 0;
	int rc;

	/* a root's leaves find it again on their own */
	if (c->is_root || p->upstream || !(path = paths_file(c, p->id.address)))
		return;
	for (unsigned i = 0; i < p->n_paths; i++) {
		if (zt_inetaddr_to_text(&p->paths[i].path->addr, text + len, sizeof text - len - 1) < 0)
			continue;
		len += strlen(text + len);
		text[len++] = '\n';
	}
	if ((rc = zt_file_write_cache(path, text, len, 0644)) < 0 && !c->cache_warned) {
		zt_logf(ZT_LOG_WARN, "%s: cannot write the peer cache: %s", path, strerror(-rc));
		c->cache_warned = true;
	}
	free(path);
}

static void paths_contact(struct zt_core *c, struct zt_peer *p, int64_t now)
{
	char text[ZT_PEER_PATHS * (ZT_INETADDR_TEXT_MAX + 1) + 1], *path = paths_file(c, p->id.address), *line, *save;
	size_t len;

	if (!path || zt_file_read(path, (uint8_t *)text, sizeof text, &len) < 0) {
		free(path);
		return;
	}
	text[len] = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		union zt_sockaddr addr;

		if (zt_inetaddr_from_text(&addr, line) == 0 && zt_inetaddr_path_usable(&addr))
			zt_vl1_hello(c, p, &addr, now);
		else
			zt_logf(ZT_LOG_WARN, "%s: '%s' is not an address; ignored", path, line);
	}
	free(path);
}

void zt_core_paths_contact(struct zt_core *c)
{
	int64_t now = zt_core_now(c);

	if (c->is_root)
		return;
	for (size_t b = 0; b < c->peer_buckets; b++)
		for (struct zt_peer *p = c->peers[b]; p; p = p->next)
			if (!p->upstream)
				paths_contact(c, p, now);
}
