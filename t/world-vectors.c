/* t/vectors/planet-earth.txt and planet-testbed.txt: parse, re-serialize,
 * signed message, signatures, re-signing and the update rule. */
#include <errno.h>
#include <unistd.h>
#include <zt/identity.h>
#include <zt/inetaddr.h>
#include <zt/world.h>
#include "tap.h"
#include "packet-vec.h"

static uint8_t bin[ZT_WORLD_BIN_MAX], out[ZT_WORLD_BIN_MAX], msg[ZT_WORLD_SIGNED_MAX];

static long need_hex(const struct vec_rec *r, const char *key, uint8_t *p, size_t cap)
{
	const char *v = vec_get(r, key);
	long n = v ? vec_unhex(v, p, cap) : -1;

	if (n < 0)
		bail("vector %s missing or malformed", key);
	return n;
}

static uint64_t need_u64(const struct vec_rec *r, const char *key)
{
	const char *v = vec_get(r, key);

	if (!v)
		bail("vector %s missing", key);
	return strtoull(v, NULL, 10);
}

/* "addr:0:pub" of a root, as in the vectors. */
static void id_text(const struct zt_identity *id, char *s, size_t cap)
{
	char addr[11];
	size_t i, n;

	zt_address_fmt(id->address, addr);
	n = (size_t)snprintf(s, cap, "%s:0:", addr);
	for (i = 0; i < ZT_PUB_LEN && n + 2 < cap; i++, n += 2)
		snprintf(s + n, cap - n, "%02x", id->pub[i]);
}

static void endpoints_text(const struct zt_world_root *root, struct sb *b)
{
	char t[ZT_INETADDR_TEXT_MAX];
	unsigned i;

	sb_reset(b);
	for (i = 0; i < root->n_endpoints; i++) {
		if (zt_inetaddr_to_text(&root->endpoints[i], t, sizeof t) < 0)
			snprintf(t, sizeof t, "?");
		sb_printf(b, "%s%s", i ? " " : "", t);
	}
}

/* Parse <prefix>_hex and check it against the <prefix>_* fields that are
 * there; verify with key. */
static void check_world(const struct vec_rec *r, const char *prefix, struct zt_world *w,
			const uint8_t key[ZT_PUB_LEN], const char *keyname)
{
	uint8_t want_msg[ZT_WORLD_SIGNED_MAX], field[ZT_SIG_LEN];
	char k[128], name[160];
	bool good;
	long n, m;
	int rc;

	snprintf(k, sizeof k, "%s_hex", prefix);
	n = need_hex(r, k, bin, sizeof bin);
	rc = zt_world_from_bin(w, bin, (size_t)n);
	snprintf(name, sizeof name, "%s: parses, all %ld bytes", prefix, n);
	is_int(rc, n, name);
	snprintf(k, sizeof k, "%s_world_id", prefix);
	good = w->id == need_u64(r, k);
	snprintf(k, sizeof k, "%s_timestamp", prefix);
	good = good && w->ts == need_u64(r, k);
	snprintf(k, sizeof k, "%s_type", prefix);
	good = good && w->type == need_u64(r, k);
	snprintf(k, sizeof k, "%s_updates_must_be_signed_by", prefix);
	if (vec_get(r, k))
		good = good && need_hex(r, k, field, ZT_PUB_LEN) == ZT_PUB_LEN &&
		       !memcmp(w->update_key, field, ZT_PUB_LEN);
	snprintf(k, sizeof k, "%s_signature", prefix);
	if (vec_get(r, k))
		good = good && need_hex(r, k, field, ZT_SIG_LEN) == ZT_SIG_LEN &&
		       !memcmp(w->sig, field, ZT_SIG_LEN);
	snprintf(name, sizeof name, "%s: type, id, timestamp, key, signature", prefix);
	ok(good, name);
	snprintf(name, sizeof name, "%s: re-serializes byte for byte", prefix);
	ok(zt_world_to_bin(w, out, sizeof out) == n && !memcmp(out, bin, (size_t)n), name);
	snprintf(k, sizeof k, "%s_signed_message_hex", prefix);
	m = need_hex(r, k, want_msg, sizeof want_msg);
	snprintf(name, sizeof name, "%s: signed message", prefix);
	ok(zt_world_signed_msg(w, msg, sizeof msg) == m && !memcmp(msg, want_msg, (size_t)m), name);
	snprintf(name, sizeof name, "%s: signature verifies with %s", prefix, keyname);
	ok(zt_world_verify(w, key), name);
}

static void earth(void)
{
	struct vec_file vf = vec_load("planet-earth.txt", NULL);
	const struct vec_rec *r = &vf.rec[0];
	struct sb b = { NULL, 0, 0 };
	struct zt_world w;
	char k[64], id[200];
	unsigned i;
	long n;

	n = need_hex(r, "planet_hex", bin, sizeof bin);
	is_int(n, need_u64(r, "planet_length"), "earth: planet_length");
	is_int(zt_world_from_bin(&w, bin, (size_t)n), n, "earth: parses");
	ok(w.type == ZT_WORLD_PLANET && w.id == ZT_WORLD_EARTH_ID &&
	   w.ts == need_u64(r, "timestamp"), "earth: type, id, timestamp");
	is_int(w.n_roots, need_u64(r, "root_count"), "earth: root count");
	for (i = 0; i < w.n_roots; i++) {
		snprintf(k, sizeof k, "root.%u.identity", i);
		id_text(&w.roots[i].id, id, sizeof id);
		is_str(id, vec_get(r, k), k);
		snprintf(k, sizeof k, "root.%u.endpoints", i);
		endpoints_text(&w.roots[i], &b);
		is_str(b.s, vec_get(r, k), k);
	}
	ok(zt_world_to_bin(&w, out, sizeof out) == n && !memcmp(out, bin, (size_t)n),
	   "earth: re-serializes byte for byte");
	n = need_hex(r, "signed_message_hex", bin, sizeof bin);
	ok(zt_world_signed_msg(&w, msg, sizeof msg) == n && !memcmp(msg, bin, (size_t)n),
	   "earth: signed message");
	ok(!strcmp(vec_get(r, "signature_valid_with_updates_key"), "true") &&
	   zt_world_verify(&w, w.update_key), "earth: signature verifies with its updates key");
	ok(zt_world_update_ok(NULL, &w), "earth: accepted with no planet yet");
	ok(!zt_world_update_ok(&w, &w), "earth: not an update of itself");
	w.sig[10] ^= 1;
	ok(!zt_world_verify(&w, w.update_key), "earth: a flipped signature bit fails");
	free(b.s);
	vec_free(&vf);
}

/* moon_json's "key": "hex" values */
static void json_hex(const char *json, const char *key, uint8_t *p, size_t cap)
{
	char pat[64], hex[300];
	const char *s, *e;

	snprintf(pat, sizeof pat, "\"%s\": \"", key);
	if (!json || !(s = strstr(json, pat)))
		bail("moon_json: no %s", key);
	s += strlen(pat);
	if (!(e = strchr(s, '"')) || (size_t)(e - s) >= sizeof hex)
		bail("moon_json: bad %s", key);
	memcpy(hex, s, (size_t)(e - s));
	hex[e - s] = '\0';
	if (vec_unhex(hex, p, cap) != (long)cap)
		bail("moon_json: %s is not %zu bytes", key, cap);
}

/* Re-sign w with kp: Ed25519 is deterministic, so the bytes must match. */
static void resign(struct zt_world *w, const uint8_t *kp, const char *name)
{
	uint8_t sig[ZT_SIG_LEN];

	memcpy(sig, w->sig, sizeof sig);
	memset(w->sig, 0, sizeof w->sig);
	ok(zt_world_sign(w, kp) == 0 && !memcmp(sig, w->sig, sizeof sig), name);
}

static void testbed(void)
{
	struct vec_file vf = vec_load("planet-testbed.txt", NULL);
	const struct vec_rec *r = &vf.rec[0];
	uint8_t kp[ZT_KEYPAIR_LEN], cur[ZT_KEYPAIR_LEN], upd[ZT_PUB_LEN], file_kp[ZT_KEYPAIR_LEN], moon_kp[ZT_KEYPAIR_LEN];
	static struct zt_world v1, v2, moon, other;
	struct zt_identity root;
	char path[] = "/tmp/zt-world-keyXXXXXX", t[ZT_INETADDR_TEXT_MAX];
	FILE *f;
	int fd;

	need_hex(r, "mkworld_previous_c25519_hex", kp, sizeof kp);
	need_hex(r, "mkworld_current_c25519_hex", cur, sizeof cur);
	check_world(r, "planet_v1", &v1, kp, "previous.c25519");
	check_world(r, "planet_v2", &v2, kp, "previous.c25519");
	ok(!memcmp(v2.update_key, cur, ZT_PUB_LEN), "planet_v2 names current.c25519 for updates");
	ok(zt_identity_from_text(&root, vec_get(r, "root_identity_public")) == 0 &&
	   v1.n_roots == 1 && v1.roots[0].id.address == root.address &&
	   !memcmp(v1.roots[0].id.pub, root.pub, ZT_PUB_LEN), "planet_v1: the root identity");
	ok(v1.roots[0].n_endpoints == 1 &&
	   zt_inetaddr_to_text(&v1.roots[0].endpoints[0], t, sizeof t) > 0 &&
	   !strcmp(t, vec_get(r, "root_stable_endpoint")), "planet_v1: the root's stable endpoint");

	ok(!strcmp(vec_get(r, "update_rule_v1_to_v2_spec"), "true") && zt_world_update_ok(&v1, &v2),
	   "planet_v2 is accepted as an update of planet_v1");
	ok(!zt_world_update_ok(&v2, &v1), "planet_v1 is not an update of planet_v2 (older)");
	other = v2;
	other.id++;
	ok(!zt_world_update_ok(&v1, &other), "another world ID is not an update");
	other = v2;
	other.sig[0] ^= 0x80;
	ok(!zt_world_update_ok(&v1, &other), "a bad signature is not an update");
	other = v2;
	memset(other.update_key, 0, sizeof other.update_key);
	ok(zt_world_update_ok(&v1, &v2) && !zt_world_update_ok(&other, &v2),
	   "updates are checked with the existing world's key");

	/* the key pair as mkworld stores it, read back from a file */
	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (!f || fwrite(kp, 1, sizeof kp, f) != sizeof kp || fclose(f) != 0)
		bail("cannot write %s", path);
	ok(zt_keypair_read(path, file_kp) == 0 && !memcmp(file_kp, kp, sizeof kp),
	   "key pair file reads back");
	unlink(path);
	is_int(zt_keypair_read(path, file_kp), -ENOENT, "missing key pair file");
	resign(&v1, file_kp, "planet_v1: re-signing reproduces the signature");
	resign(&v2, file_kp, "planet_v2: re-signing reproduces the signature");

	json_hex(vec_get(r, "moon_json"), "signingKey", moon_kp, ZT_PUB_LEN);
	json_hex(vec_get(r, "moon_json"), "signingKey_SECRET", moon_kp + ZT_PUB_LEN, ZT_PRIV_LEN);
	json_hex(vec_get(r, "moon_json"), "updatesMustBeSignedBy", upd, ZT_PUB_LEN);
	check_world(r, "moon", &moon, moon_kp, "signingKey");
	ok(!memcmp(moon.update_key, upd, ZT_PUB_LEN), "moon: updatesMustBeSignedBy");
	ok(moon.type == ZT_WORLD_MOON && moon.id == 0x48b374b5daULL && moon.n_roots == 1 &&
	   moon.roots[0].id.address == moon.id, "moon: ID is its seed root's address");
	ok(zt_world_update_ok(NULL, &moon), "moon: accepted as new");
	resign(&moon, moon_kp, "moon: re-signing with signingKey reproduces the signature");
	ok(!zt_world_update_ok(&v2, &moon), "a moon is not an update of a planet");
	vec_free(&vf);
}

int main(void)
{
	plan(50);
	earth();
	testbed();
	return tap_done();
}
