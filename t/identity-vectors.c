/* Every identity of t/vectors/identities.txt (wire.md §1). */
#include "config.h"

#include <errno.h>

#include <zt/identity.h>

#include "crypto-vec.h"

static char name[256];

static const char *nm(const char *addr, const char *what)
{
	snprintf(name, sizeof name, "%s: %s", addr, what);
	return name;
}

static void check_bin(const struct vec_block *b, const char *a, const struct zt_identity *sec)
{
	uint8_t want[ZT_ID_BIN_SECRET], got[ZT_ID_BIN_SECRET];
	struct zt_identity id;
	size_t n;
	int bad = 0;

	n = vec_hex(b, "public_bin", want, sizeof want);
	is_int(zt_identity_to_bin(sec, got, false), n, nm(a, "public binary length"));
	ok(n == ZT_ID_BIN_PUB && memcmp(got, want, n) == 0, nm(a, "public binary form byte-exact"));
	ok(zt_identity_from_bin(&id, want, n) == ZT_ID_BIN_PUB && zt_identity_equal(&id, sec) &&
	   !id.has_private, nm(a, "public binary form parses"));

	n = vec_hex(b, "secret_bin", want, sizeof want);
	is_int(zt_identity_to_bin(sec, got, true), n, nm(a, "secret binary length"));
	ok(n == ZT_ID_BIN_SECRET && memcmp(got, want, n) == 0, nm(a, "secret binary form byte-exact"));
	ok(zt_identity_from_bin(&id, want, n) == ZT_ID_BIN_SECRET && zt_identity_equal(&id, sec) &&
	   id.has_private && memcmp(id.priv, sec->priv, ZT_PRIV_LEN) == 0,
	   nm(a, "secret binary form parses"));
	for (size_t len = 0; len < n; len++)
		bad += zt_identity_from_bin(&id, want, len) != -EMSGSIZE;
	is_int(bad, 0, nm(a, "every truncated binary form is -EMSGSIZE"));
}

static void check_valid(const struct vec_block *b)
{
	const char *a = vec_get(b, "address"), *sec = vec_get(b, "secret"), *pub = vec_get(b, "public");
	struct zt_identity s, p;
	char text[ZT_ID_TEXT_MAX];
	uint8_t want[64], got[64];

	if (!a || !sec || !pub)
		bail("line %d: incomplete valid identity", b->line);
	ok(zt_identity_from_text(&s, sec) == 0 && s.has_private, nm(a, "secret text parses"));
	ok(zt_identity_from_text(&p, pub) == 0 && !p.has_private, nm(a, "public text parses"));
	zt_address_fmt(s.address, text);
	is_str(text, a, nm(a, "address"));
	ok(zt_identity_equal(&s, &p), nm(a, "secret and public forms are the same identity"));
	zt_identity_to_text(&s, text, true);
	is_str(text, sec, nm(a, "secret text round trip"));
	zt_identity_to_text(&s, text, false);
	is_str(text, pub, nm(a, "public text from secret"));
	check_bin(b, a, &s);

	vec_hex(b, "pow_digest", want, sizeof want);
	ok(zt_identity_hash(p.pub, got) == 0 && memcmp(got, want, 64) == 0, nm(a, "H(pub) digest"));
	zt_identity_derive_public(s.priv, got);
	vec_hex(b, "x25519_public_from_private", want, sizeof want);
	ok(memcmp(got, want, 32) == 0, nm(a, "X25519 public half from private"));
	vec_hex(b, "ed25519_public_from_seed", want, sizeof want);
	ok(memcmp(got + 32, want, 32) == 0, nm(a, "Ed25519 public half from seed"));
	ok(zt_identity_keys_match(&s), nm(a, "public key matches private key"));
	ok(zt_identity_validate(&p), nm(a, "validates"));
	zt_identity_wipe(&s);
}

static void check_invalid(const struct vec_block *b)
{
	const char *why = vec_get(b, "why"), *pub = vec_get(b, "public");
	const char *verdict = vec_get(b, "spec_verdict"), *dig = vec_get(b, "pow_digest");
	struct zt_identity id;
	uint8_t want[64], got[64];
	int rc;

	if (!why || !pub || !verdict)
		bail("line %d: incomplete invalid identity", b->line);
	rc = zt_identity_from_text(&id, pub);
	if (strncmp(verdict, "rejected at parse", 17) == 0) {
		is_int(rc, -EINVAL, nm(why, "rejected at parse"));
		return;
	}
	is_int(rc, 0, nm(why, "parses"));
	ok(rc == 0 && !zt_identity_validate(&id), nm(why, "fails validation"));
	if (dig) {
		vec_hex(b, "pow_digest", want, sizeof want);
		ok(zt_identity_hash(id.pub, got) == 0 && memcmp(got, want, 64) == 0,
		   nm(why, "H(pub) digest"));
	}
}

int main(void)
{
	FILE *f = vec_open("identities.txt");
	static struct vec_block b;
	int line = 0, nvalid = 0, ninvalid = 0;

	while (vec_next(f, &b, &line)) {
		const char *kind = vec_get(&b, "kind");

		if (!kind)
			continue;
		if (strcmp(kind, "valid") == 0) {
			check_valid(&b);
			nvalid++;
		} else if (strcmp(kind, "invalid") == 0) {
			check_invalid(&b);
			ninvalid++;
		}
	}
	fclose(f);
	vec_free(&b);
	is_int(nvalid, 10, "10 valid identities in the file");
	is_int(ninvalid, 7, "7 invalid identities in the file");
	plan(tap_run);
	return tap_done();
}
