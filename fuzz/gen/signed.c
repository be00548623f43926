/* Seeds that need a signature, made with libztk and the identity
 * eb17d0df38 of t/vectors/identities.txt (Ed25519 is deterministic, so
 * they come out the same each time):
 *
 *   beacon-parse/signed         a LAN beacon of eb17d0df38 at
 *                               1700000000000 ms (its 8 leading bytes,
 *                               random in a real one, fixed here)
 *   beacon-parse/bad-signature  the same with a byte of its public key
 *                               flipped after signing
 *   netcache-parse/one-chunk    a config cache file of network
 *                               eb17d0df38000001 (fuzz/netcache-parse.c's
 *                               controller): the config dictionary of
 *                               t/vectors/networks.txt in one chunk,
 *                               update 7, signed by eb17d0df38
 *   netcache-parse/truncated    its first 1000 bytes
 *   netcache-parse/empty        the cache file's first line alone
 *
 * Usage: fuzz/gen-signed VECTORS_DIR SEEDS_DIR (t/fuzz-seeds.sh runs it). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include <zt/beacon.h>
#include <zt/dict.h>
#include <zt/identity.h>
#include <zt/netconf.h>
#include <zt/packet.h>

#include "../../zt/node/netcache.h"

#define NOW_MS 1700000000000LL
#define NWID 0xeb17d0df38000001ULL
#define UPDATE_ID 7
/* the reference's random bytes of the beacon seed, kept as they were */
static const uint8_t beacon_lead[8] = { 0x39, 0x15, 0x4b, 0x33, 0xce, 0xd2, 0xd2, 0x5d };

static void die(const char *what)
{
	fprintf(stderr, "gen-signed: %s\n", what);
	exit(1);
}

/* The value of the first "key: value" line of a vector file, malloc'd. */
static char *vector(const char *dir, const char *file, const char *key)
{
	char path[4096], *line = NULL;
	size_t cap = 0, klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	if (!(f = fopen(path, "r")))
		die(path);
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':' && line[klen + 1] == ' ') {
			char *v = strdup(line + klen + 2);

			v[strcspn(v, "\r\n")] = 0;
			free(line);
			fclose(f);
			return v;
		}
	}
	die(key);
	return NULL;
}

static void write_seed(const char *seeds, const char *name, const uint8_t *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", seeds, name);
	*strrchr(path, '/') = 0;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path);
	snprintf(path, sizeof path, "%s/%s", seeds, name);
	if (!(f = fopen(path, "wb")) || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		die(path);
}

static void beacons(const struct zt_identity *id, const char *seeds)
{
	uint8_t b[ZT_BEACON_MAX];
	int n = zt_beacon_encode(id, NOW_MS, b, sizeof b);
	size_t signed_len;

	if (n < ZT_SIG_LEN)
		die("beacon");
	signed_len = (size_t)n - ZT_SIG_LEN;
	memcpy(b, beacon_lead, sizeof beacon_lead);
	if (zt_sign(id, b, signed_len, b + signed_len) < 0)
		die("beacon signature");
	write_seed(seeds, "beacon-parse/signed", b, (size_t)n);
	b[ZT_BEACON_HDR + 9] ^= 0x01;   /* the 4th byte of the public key */
	write_seed(seeds, "beacon-parse/bad-signature", b, (size_t)n);
}

static void netcache(const struct zt_identity *id, const char *vectors, const char *seeds)
{
	static uint8_t file[64 + ZT_DICT_CONFIG_CAP + ZT_CHUNK_OVERHEAD], dict[ZT_DICT_CONFIG_CAP];
	char *hex = vector(vectors, "networks.txt", "config_dictionary");
	size_t dlen, magic = strlen(ZT_NETCACHE_MAGIC);
	struct zt_wr w;
	int slice;

	if (sodium_hex2bin(dict, sizeof dict, hex, strlen(hex), NULL, &dlen, NULL) < 0)
		die("config_dictionary");
	free(hex);
	memcpy(file, ZT_NETCACHE_MAGIC, magic);
	zt_wr_init(&w, file + magic + 4, sizeof file - magic - 4);
	slice = zt_chunk_encode(&w, NWID, dict, dlen, 0, 0, UPDATE_ID, id);
	if (slice < 0 || (size_t)slice != dlen || w.err)
		die("chunk");
	for (int i = 0; i < 4; i++)
		file[magic + i] = (uint8_t)(w.len >> (24 - 8 * i));
	write_seed(seeds, "netcache-parse/one-chunk", file, magic + 4 + w.len);
	write_seed(seeds, "netcache-parse/truncated", file, 1000);
	write_seed(seeds, "netcache-parse/empty", file, magic);
}

int main(int argc, char **argv)
{
	struct zt_identity id;
	char *secret;

	if (argc != 3)
		die("usage: gen-signed VECTORS_DIR SEEDS_DIR");
	if (sodium_init() < 0)
		die("libsodium");
	secret = vector(argv[1], "signatures.txt", "signer_secret");
	if (zt_identity_from_text(&id, secret) < 0 || !id.has_private || id.address != NWID >> 24)
		die("signer_secret is not eb17d0df38's secret identity");
	free(secret);
	beacons(&id, argv[2]);
	netcache(&id, argv[1], argv[2]);
	return 0;
}
