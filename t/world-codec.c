/* Worlds (wire.md §6) built here: round trips at the limits, truncation,
 * malformed input, moon dictionaries, signing, key rotation and the update
 * rule. */
#include <errno.h>
#include <unistd.h>
#include <sodium.h>
#include <zt/inetaddr.h>
#include <zt/world.h>
#include "tap.h"

static uint8_t bin[ZT_WORLD_BIN_MAX + 4096], bin2[ZT_WORLD_BIN_MAX + 4096];
static struct zt_world w, w2, v2;

static void make_keypair(uint8_t kp[ZT_KEYPAIR_LEN], uint8_t tag)
{
	uint8_t seed[32], sk[64];

	memset(seed, tag, sizeof seed);
	memset(kp, tag ^ 0x55, 32);               /* X25519 half: unused here */
	crypto_sign_ed25519_seed_keypair(kp + 32, sk, seed);
	memset(kp + 64, tag ^ 0xaa, 32);
	memcpy(kp + 96, seed, 32);
}

/* 4 roots of 32 endpoints, alternating IPv4 and IPv6. */
static void make_world(struct zt_world *x, uint8_t type, uint64_t ts, const uint8_t *key)
{
	unsigned r, e;

	memset(x, 0, sizeof *x);
	x->type = type;
	x->id = 0x48b374b5daULL;
	x->ts = ts;
	memcpy(x->update_key, key, ZT_PUB_LEN);
	x->n_roots = ZT_WORLD_MAX_ROOTS;
	for (r = 0; r < x->n_roots; r++) {
		struct zt_world_root *root = &x->roots[r];

		root->id.address = 0x1000000000ULL * (r + 1) + r;
		memset(root->id.pub, 0x30 + (int)r, ZT_PUB_LEN);
		root->n_endpoints = ZT_WORLD_MAX_ENDPOINTS;
		for (e = 0; e < root->n_endpoints; e++) {
			char s[64];

			snprintf(s, sizeof s, e % 2 ? "2001:db8::%u:%u/%u" : "198.18.%u.%u/%u", r, e,
				 9993 + e);
			zt_inetaddr_from_text(&root->endpoints[e], s);
		}
	}
}

static bool same_world(const struct zt_world *a, const struct zt_world *b)
{
	unsigned r, e;

	if (a->type != b->type || a->id != b->id || a->ts != b->ts || a->n_roots != b->n_roots ||
	    memcmp(a->update_key, b->update_key, ZT_PUB_LEN) || memcmp(a->sig, b->sig, ZT_SIG_LEN))
		return false;
	for (r = 0; r < a->n_roots; r++) {
		if (a->roots[r].id.address != b->roots[r].id.address ||
		    memcmp(a->roots[r].id.pub, b->roots[r].id.pub, ZT_PUB_LEN) ||
		    a->roots[r].n_endpoints != b->roots[r].n_endpoints)
			return false;
		for (e = 0; e < a->roots[r].n_endpoints; e++)
			if (!zt_inetaddr_equal(&a->roots[r].endpoints[e], &b->roots[r].endpoints[e], true))
				return false;
	}
	return true;
}

static void round_trip(void)
{
	uint8_t kp[ZT_KEYPAIR_LEN];
	int n, i;
	bool good = true;

	make_keypair(kp, 1);
	make_world(&w, ZT_WORLD_PLANET, 1000, kp);
	ok(zt_world_sign(&w, kp) == 0 && zt_world_verify(&w, kp), "a planet signs and verifies");
	n = zt_world_to_bin(&w, bin, sizeof bin);
	is_int(n, 178 + 4 * (71 + 1 + 16 * 7 + 16 * 19), "4 roots x 32 endpoints serialize");
	ok(zt_world_from_bin(&w2, bin, (size_t)n) == n && same_world(&w, &w2) &&
	   zt_world_to_bin(&w2, bin2, sizeof bin2) == n && !memcmp(bin, bin2, (size_t)n),
	   "and parse back to the same world and bytes");
	ok(zt_world_verify(&w2, kp), "the parsed world verifies");
	for (i = 0; i < n; i++)
		good = good && zt_world_from_bin(&w2, bin, (size_t)i) == -EMSGSIZE;
	ok(good, "every truncation is -EMSGSIZE");
	memset(bin + n, 0xee, 100);
	is_int(zt_world_from_bin(&w2, bin, (size_t)n + 100), n, "trailing bytes are not consumed");
	good = true;
	for (i = 0; i < n; i++)
		good = good && zt_world_to_bin(&w, bin2, (size_t)i) == -EMSGSIZE;
	ok(good, "serializing into too little room fails");
	ok(zt_world_signed_msg(&w, bin2, sizeof bin2) == n - ZT_SIG_LEN + 16 &&
	   !memcmp(bin2, "\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f", 8) &&
	   !memcmp(bin2 + n - ZT_SIG_LEN + 8, "\xf7\xf7\xf7\xf7\xf7\xf7\xf7\xf7", 8) &&
	   !memcmp(bin2 + 8, bin, 81) && !memcmp(bin2 + 89, bin + 177, (size_t)n - 177),
	   "signed message: framed, without the signature");
	w2 = w;
	w2.roots[2].endpoints[7].in6.sin6_port ^= 1;
	ok(!zt_world_verify(&w2, kp), "changing an endpoint breaks the signature");
	make_keypair(kp, 2);
	ok(!zt_world_verify(&w, kp), "another key does not verify");
}

static void malformed(void)
{
	static const uint8_t types[] = { 2, 0x7e, 0x80, 0xff };
	uint8_t kp[ZT_KEYPAIR_LEN];
	size_t i;
	int n;
	bool good = true;

	make_keypair(kp, 3);
	make_world(&w, ZT_WORLD_PLANET, 1, kp);
	w.n_roots = 1;
	w.roots[0].n_endpoints = 2;
	n = zt_world_to_bin(&w, bin, sizeof bin);     /* 178 + 71 + 1 + 7 + 19 */
	for (i = 0; i < sizeof types; i++) {
		bin[0] = types[i];
		good = good && zt_world_from_bin(&w2, bin, (size_t)n) == -EINVAL;
	}
	ok(good, "world types other than 0, 1, 127 are malformed");
	bin[0] = ZT_WORLD_NULL;
	ok(zt_world_from_bin(&w2, bin, (size_t)n) == n && w2.type == ZT_WORLD_NULL,
	   "type 0 (null) parses");
	ok(zt_world_update_ok(&w2, &w) && !zt_world_update_ok(&w, &w2),
	   "a null world is replaced by anything, and replaces nothing");
	bin[0] = ZT_WORLD_PLANET;
	bin[178 + 71 + 1] = 0x05;
	is_int(zt_world_from_bin(&w2, bin, (size_t)n), -EINVAL, "a bad endpoint type is malformed");
	bin[178 + 71 + 1] = 0x04;
	bin[178 + 5] = 1;
	is_int(zt_world_from_bin(&w2, bin, (size_t)n), -EINVAL, "a bad identity type is malformed");
	bin[178 + 5] = 0;
	bin[177] = 5;
	is_int(zt_world_from_bin(&w2, bin, (size_t)n), -E2BIG, "5 roots are over the limit");
	bin[177] = 1;
	bin[178 + 71] = 33;
	is_int(zt_world_from_bin(&w2, bin, (size_t)n), -E2BIG, "33 endpoints are over the limit");
	w.n_roots = 5;
	ok(zt_world_to_bin(&w, bin2, sizeof bin2) == -E2BIG &&
	   zt_world_signed_msg(&w, bin2, sizeof bin2) == -E2BIG, "5 roots are not serialized");
	w.n_roots = 1;
	w.roots[0].n_endpoints = 33;
	is_int(zt_world_to_bin(&w, bin2, sizeof bin2), -E2BIG, "nor 33 endpoints");
}

static void odd_forms(void)
{
	static const uint8_t skipped[] = { 0x01, 1, 2, 3, 4, 5, 6, 0x03, 0, 2, 9, 9 };
	uint8_t kp[ZT_KEYPAIR_LEN];
	size_t base;
	int n;

	make_keypair(kp, 4);
	make_world(&w, ZT_WORLD_PLANET, 1, kp);
	w.n_roots = 1;
	w.roots[0].n_endpoints = 0;
	base = (size_t)zt_world_to_bin(&w, bin, sizeof bin);
	/* a secret-form identity and two endpoints of skipped types */
	bin[178 + 70] = 64;
	memset(bin + 178 + 71, 0x77, 64);
	bin[178 + 135] = 2;
	memcpy(bin + 178 + 136, skipped, sizeof skipped);
	n = zt_world_from_bin(&w2, bin, base + 64 + sizeof skipped);
	ok(n == (int)(base + 64 + sizeof skipped) && w2.roots[0].id.has_private &&
	   w2.roots[0].n_endpoints == 2 && w2.roots[0].endpoints[0].sa.sa_family == AF_UNSPEC &&
	   w2.roots[0].endpoints[1].sa.sa_family == AF_UNSPEC,
	   "secret-form root identity and skipped endpoint types parse");
	n = zt_world_to_bin(&w2, bin2, sizeof bin2);
	ok(n == (int)base + 2 && bin2[178 + 70] == 0 && bin2[178 + 71] == 2 &&
	   bin2[178 + 72] == 0 && bin2[178 + 73] == 0,
	   "written back: public form, skipped endpoints as type 0");

	/* a moon with a 5-byte dictionary, followed by a planet */
	make_world(&w, ZT_WORLD_MOON, 7, kp);
	w.n_roots = 1;
	w.roots[0].n_endpoints = 1;
	zt_world_sign(&w, kp);
	n = zt_world_to_bin(&w, bin, sizeof bin);
	ok(n > 2 && bin[n - 2] == 0 && bin[n - 1] == 0, "a moon ends with an empty dictionary");
	bin[n - 1] = 5;
	memcpy(bin + n, "x=1\n\0", 5);
	base = (size_t)n + 5;
	make_world(&v2, ZT_WORLD_PLANET, 8, kp);
	n = zt_world_to_bin(&v2, bin + base, sizeof bin - base);
	ok(zt_world_from_bin(&w2, bin, base + (size_t)n) == (int)base && w2.type == ZT_WORLD_MOON &&
	   zt_world_verify(&w2, kp) &&
	   zt_world_from_bin(&v2, bin + base, (size_t)n) == n && v2.type == ZT_WORLD_PLANET,
	   "a moon's dictionary is skipped, signature unaffected; the next world follows");
	is_int(zt_world_from_bin(&w2, bin, base - 1), -EMSGSIZE, "a truncated dictionary");
}

static void updates(void)
{
	uint8_t a[ZT_KEYPAIR_LEN], b[ZT_KEYPAIR_LEN];

	make_keypair(a, 5);
	make_keypair(b, 6);
	/* v1 signed by a names b for the next update */
	make_world(&w, ZT_WORLD_PLANET, 100, b);
	zt_world_sign(&w, a);
	make_world(&v2, ZT_WORLD_PLANET, 200, b);
	zt_world_sign(&v2, b);
	ok(zt_world_update_ok(NULL, &w), "anything replaces no world");
	ok(zt_world_update_ok(&w, &v2), "v2 signed with the key v1 names is an update");
	zt_world_sign(&v2, a);
	ok(!zt_world_update_ok(&w, &v2), "v2 signed with v1's own signer is not");
	zt_world_sign(&v2, b);
	v2.ts = 100;
	zt_world_sign(&v2, b);
	ok(!zt_world_update_ok(&w, &v2), "the same timestamp is not newer");
	v2.ts = 200;
	v2.type = ZT_WORLD_MOON;
	zt_world_sign(&v2, b);
	ok(!zt_world_update_ok(&w, &v2), "a moon does not update a planet of the same ID");
	v2.type = ZT_WORLD_PLANET;
	v2.id = ZT_WORLD_EARTH_ID;
	zt_world_sign(&v2, b);
	ok(!zt_world_update_ok(&w, &v2), "another world ID is no update");
}

static void keypair_file(void)
{
	char path[] = "/tmp/zt-world-kpXXXXXX";
	uint8_t kp[ZT_KEYPAIR_LEN];
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, bin, 127) != 127)
		bail("cannot write %s", path);
	is_int(zt_keypair_read(path, kp), -EINVAL, "a 127-byte key pair file is refused");
	if (write(fd, bin, 2) != 2)
		bail("cannot write %s", path);
	is_int(zt_keypair_read(path, kp), -EINVAL, "a 129-byte key pair file is refused");
	close(fd);
	unlink(path);
}

/* moons.d/<id>.seed: what the node writes and what it refuses. */
static void seed_files(void)
{
	uint64_t id = 0, seed = 0;

	ok(zt_moon_seed_name("000000eb17d0DF38.seed", &id) == 0 && id == 0xeb17d0df38ULL,
	   "a seed file's name is the moon id (either case) and .seed");
	ok(zt_moon_seed_name("eb17d0df38.seed", &id) < 0 && zt_moon_seed_name("000000eb17d0df38.seed.tmp.7", &id) < 0 &&
	   zt_moon_seed_name("000000eb17d0dg38.seed", &id) < 0, "... 16 hex digits, nothing after");
	ok(zt_moon_seed_text("eb17d0df38", 10, &seed) == 0 && seed == 0xeb17d0df38ULL &&
	   zt_moon_seed_text("eb17d0df39\n", 11, &seed) == 0 && seed == 0xeb17d0df39ULL,
	   "its text is the root's address, a newline after it allowed");
	seed = 1;
	ok(zt_moon_seed_text("eb17d0df38\n\n", 12, &seed) < 0 && zt_moon_seed_text("eb17d0df3", 9, &seed) < 0 &&
	   zt_moon_seed_text("0000eb17d0df38", 14, &seed) < 0 && zt_moon_seed_text("eb17d0df3\0", 10, &seed) < 0 &&
	   seed == 1, "other lengths and characters are refused, and change nothing");
	ok(zt_moon_seed_text("ff17d0df38", 10, &seed) < 0 && zt_moon_seed_text("0000000000", 10, &seed) < 0,
	   "so are reserved addresses");
}

int main(void)
{
	if (sodium_init() < 0)
		bail("sodium_init");
	plan(10 + 9 + 5 + 6 + 2 + 5);
	round_trip();
	malformed();
	odd_forms();
	updates();
	keypair_file();
	seed_files();
	return tap_done();
}
