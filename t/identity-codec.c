/* Addresses, text and binary forms at their edges, generation and
 * signing round trips (wire.md §1, §2.3). */
#include "config.h"

#include <errno.h>

#include <zt/identity.h>

#include "tap.h"

/* identities.txt, first identity */
#define SECRET "eb17d0df38:0:46863cc8e285473018f6ab7c2581eb702f7b2245c1802ec31262c198b08d1b7692ea253303c5481aaf868d23cb4dfe108774fd75f73ed5f7ed3e1ea08cd9c582:936399453e9721f8b8b23a24aa4649440f6a8237138d138ef7c074be91818b047b6057f49e8b236f6ed81a1e37f8ab31dccd5070bc8a1db7edb05f0fc245bc40"
#define PUBLIC_LEN 141

static void test_address(void)
{
	uint8_t b[ZT_ADDR_LEN];
	char s[11];

	ok(zt_address_reserved(0), "0000000000 is reserved");
	ok(zt_address_reserved(0xff00000000ULL) && zt_address_reserved(0xffffffffffULL),
	   "ff........ is reserved");
	ok(!zt_address_reserved(1) && !zt_address_reserved(0xfeffffffffULL),
	   "0000000001 and feffffffff are not");
	zt_address_write(0x89e92ceee5ULL, b);
	ok(memcmp(b, "\x89\xe9\x2c\xee\xe5", 5) == 0, "address written big-endian");
	is_int(zt_address_read(b), 0x89e92ceee5ULL, "address read back");
	zt_address_fmt(0x000000000aULL, s);
	is_str(s, "000000000a", "address formatted as 10 lowercase digits");
}

static int parses(const char *s)
{
	struct zt_identity id;

	return zt_identity_from_text(&id, s) == 0;
}

static char *edit(const char *s, size_t at, char c)
{
	static char buf[512];

	snprintf(buf, sizeof buf, "%s", s);
	buf[at] = c;
	return buf;
}

static void test_text(void)
{
	char buf[512], out[ZT_ID_TEXT_MAX];
	struct zt_identity id, keep;
	int bad = 0;

	ok(parses(SECRET), "secret text parses");
	snprintf(buf, sizeof buf, "%s \t\r\n", SECRET);
	ok(parses(buf), "trailing whitespace tolerated");
	snprintf(buf, sizeof buf, " %s", SECRET);
	ok(!parses(buf), "leading whitespace refused");
	for (size_t i = 0; buf[i]; i++)
		buf[i] = (char)(buf[i] >= 'a' && buf[i] <= 'f' ? buf[i] - 32 : buf[i]);
	ok(parses(buf + 1), "upper-case hex accepted");
	ok(zt_identity_from_text(&id, buf + 1) == 0 && (zt_identity_to_text(&id, out, true), 1) &&
	   strcmp(out, SECRET) == 0, "written back in lower case");
	ok(!parses(edit(SECRET, 20, 'g')), "non-hex digit in the public key refused");
	ok(!parses(edit(SECRET, 200, ' ')), "space inside the private key refused");
	ok(!parses(edit(SECRET, 3, 'x')), "non-hex digit in the address refused");
	ok(!parses(edit(SECRET, 11, '1')), "identity type 1 refused");
	snprintf(buf, sizeof buf, "%.11s0%s", SECRET, SECRET + 11);
	ok(!parses(buf), "identity type 00 refused");
	snprintf(buf, sizeof buf, "%s:00", SECRET);
	ok(!parses(buf), "five fields refused");
	snprintf(buf, sizeof buf, "%s0", SECRET);
	ok(!parses(buf), "129-digit private key refused");
	snprintf(buf, sizeof buf, "%.*s0:%s", PUBLIC_LEN, SECRET, SECRET + PUBLIC_LEN + 1);
	ok(!parses(buf), "129-digit public key refused");
	ok(!parses("") && !parses(":") && !parses("::") && !parses(":::"), "empty forms refused");
	for (size_t len = 0; len < strlen(SECRET); len++) {
		snprintf(buf, sizeof buf, "%.*s", (int)len, SECRET);
		bad += parses(buf) != (len == PUBLIC_LEN);
	}
	is_int(bad, 0, "every prefix refused except the public form");
	zt_identity_from_text(&keep, SECRET);
	id = keep;
	ok(zt_identity_from_text(&id, "nonsense") == -EINVAL && memcmp(&id, &keep, sizeof id) == 0,
	   "failed parse leaves the output alone");
	snprintf(buf, sizeof buf, "%.*s", PUBLIC_LEN, SECRET);
	ok(zt_identity_from_text(&id, buf) == 0 && !id.has_private &&
	   (zt_identity_to_text(&id, out, true), strcmp(out, buf) == 0),
	   "public form has no private key, even when asked");
}

static void test_bin(void)
{
	struct zt_identity id, back;
	uint8_t b[ZT_ID_BIN_SECRET + 8];

	zt_identity_from_text(&id, SECRET);
	is_int(zt_identity_to_bin(&id, b, true), ZT_ID_BIN_SECRET, "secret binary is 135 bytes");
	memset(b + ZT_ID_BIN_SECRET, 0xee, 8);
	is_int(zt_identity_from_bin(&back, b, sizeof b), ZT_ID_BIN_SECRET,
	       "trailing bytes are not consumed");
	b[5] = 1;
	is_int(zt_identity_from_bin(&back, b, sizeof b), -EINVAL, "type byte 1 refused");
	b[5] = 0;
	b[70] = 32;
	is_int(zt_identity_from_bin(&back, b, sizeof b), -EINVAL, "private key length 32 refused");
	b[70] = 0;
	is_int(zt_identity_from_bin(&back, b, ZT_ID_BIN_PUB), ZT_ID_BIN_PUB,
	       "length byte 0 makes the public form");
	ok(!back.has_private && zt_identity_equal(&back, &id), "public form equals the identity");
}

static void progress(uint64_t hashes, void *arg)
{
	uint64_t *last = arg;

	if (hashes >= *last)
		*last = hashes;
	else
		*last = UINT64_MAX;
}

static void test_generate(void)
{
	struct zt_identity a, b, z;
	uint8_t sig[ZT_SIG_LEN];
	uint64_t seen = 0;

	is_int(zt_identity_generate(&a), 0, "generate");
	ok(a.has_private && zt_identity_keys_match(&a), "generated keys belong together");
	ok(zt_identity_validate(&a), "generated identity validates");
	ok(zt_sign(&a, "zt", 2, sig) == 0 && zt_sig_verify(a.pub, "zt", 2, sig, sizeof sig),
	   "generated identity signs and verifies");
	is_int(zt_identity_generate_mt(&b, 2, progress, &seen), 0, "generate with two threads");
	ok(zt_identity_validate(&b) && zt_identity_keys_match(&b), "threaded result validates");
	ok(seen != UINT64_MAX, "progress counts never go backwards");
	ok(!zt_identity_equal(&a, &b), "two generations differ");
	ok(!zt_sig_verify(b.pub, "zt", 2, sig, sizeof sig), "another key does not verify");
	zt_identity_wipe(&a);
	memset(&z, 0, sizeof z);
	ok(memcmp(&a, &z, sizeof z) == 0, "wipe clears the identity");
	zt_identity_wipe(&b);
}

int main(void)
{
	plan(6 + 17 + 6 + 10);
	test_address();
	test_text();
	test_bin();
	test_generate();
	return tap_done();
}
