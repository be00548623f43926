/* The network config cache's parser (zt/netcache.c): a file of chunks as
 * the controller signed them is taken whole; a truncated, altered,
 * foreign or padded one is refused with a reason, never half applied. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <zt/identity.h>

#include "netcache.h"
#include "tap.h"

/* a controller's identity (secret: it signs the chunks here) */
#define CONTROLLER "eb17d0df38:0:46863cc8e285473018f6ab7c2581eb702f7b2245c1802ec31262c198b08d1b7692ea253303c5481aaf868d23cb4dfe108774fd75f73ed5f7ed3e1ea08cd9c582:936399453e9721f8b8b23a24aa4649440f6a8237138d138ef7c074be91818b047b6057f49e8b236f6ed81a1e37f8ab31dccd5070bc8a1db7edb05f0fc245bc40"
#define NWID 0xeb17d0df38000001ULL
#define MAGIC_LEN (sizeof ZT_NETCACHE_MAGIC - 1)

static struct zt_identity ctl;
static uint8_t dict[20000], file[40000];
static size_t config_len;   /* of the last file made */

/* A cache file of dict[0..len), in chunks of ZT_CHUNK_SLICE_MAX bytes. */
static size_t file_make(uint64_t nwid, size_t len, uint64_t update_id)
{
	size_t at = MAGIC_LEN;

	config_len = len;
	memcpy(file, ZT_NETCACHE_MAGIC, MAGIC_LEN);
	for (size_t off = 0; off < len;) {
		uint8_t body[ZT_CHUNK_SLICE_MAX + ZT_CHUNK_OVERHEAD];
		struct zt_wr w;
		int n;

		zt_wr_init(&w, body, sizeof body);
		n = zt_chunk_encode(&w, nwid, dict, len, off, 0, update_id, &ctl);
		if (n <= 0)
			bail("zt_chunk_encode: %d", n);
		file[at++] = 0;
		file[at++] = 0;
		file[at++] = (uint8_t)(w.len >> 8);
		file[at++] = (uint8_t)w.len;
		memcpy(file + at, body, w.len);
		at += w.len;
		off += (size_t)n;
	}
	return at;
}

static int parse(size_t len, uint64_t nwid, const struct zt_identity *id, const char **why)
{
	struct zt_config_asm a;
	const uint8_t *d;
	size_t dlen;
	int rc;

	*why = "";
	zt_config_asm_init(&a);
	rc = zt_netcache_parse(file, len, nwid, id, &a, &d, &dlen, why);
	if (rc == 0 && (dlen != config_len || memcmp(d, dict, dlen) != 0))
		rc = -EPROTO;   /* parsed, but not the config written */
	zt_config_asm_fini(&a);
	return rc;
}

int main(void)
{
	struct zt_identity other;
	const char *why;
	size_t len;
	unsigned refused = 0, silent = 0;

	plan(11);
	if (zt_identity_from_text(&ctl, CONTROLLER) < 0)
		bail("controller identity");
	other = ctl;
	other.pub[40] ^= 1;   /* another key under the same address */
	for (size_t i = 0; i < sizeof dict; i++)
		dict[i] = (uint8_t)('a' + i % 26);

	len = file_make(NWID, 5000, 7);
	is_int(parse(len, NWID, &ctl, &why), 0, "one chunk: parsed, the config as written");
	len = file_make(NWID, 15000, 8);
	is_int(parse(len, NWID, &ctl, &why), 0, "two chunks: parsed, the config as written");

	for (size_t cut = 0; cut < len; cut += cut < 200 ? 1 : 97)
		refused += parse(cut, NWID, &ctl, &why) < 0 && *why;
	ok(refused == 200 + (len - 200 + 96) / 97, "every truncation refused with a reason");
	is_int(parse(len - 1, NWID, &ctl, &why), -EMSGSIZE, "one byte short: -EMSGSIZE");
	is_str(why, "truncated", "... \"truncated\"");

	for (size_t i = MAGIC_LEN + 4; i < MAGIC_LEN + 4 + 1000; i += 7) {
		file[i] ^= 0x10;
		if (parse(len, NWID, &ctl, &why) == 0)
			silent++;
		file[i] ^= 0x10;
	}
	ok(silent == 0, "a flipped bit in the first chunk is never accepted");
	file[MAGIC_LEN + 4 + 10 + 500] ^= 1;   /* inside the first slice */
	is_int(parse(len, NWID, &ctl, &why), -EBADMSG, "an altered slice: -EBADMSG");
	is_str(why, "the controller's signature does not verify", "... the signature does not verify");
	file[MAGIC_LEN + 4 + 10 + 500] ^= 1;

	ok(parse(len, NWID, &other, &why) < 0, "another controller key: refused");
	ok(parse(len, NWID + 1, &ctl, &why) < 0, "a cache of another network: refused");
	file[len] = 0;   /* a zero-length chunk after the complete config */
	file[len + 1] = file[len + 2] = file[len + 3] = 0;
	ok(parse(len + 4, NWID, &ctl, &why) < 0, "bytes after the complete config: refused");
	return tap_done();
}
