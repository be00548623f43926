/* Dictionaries (networks.md §4.1, §4.2): escaping, lookups, value
 * conventions, limits, malformed input. */
#include <errno.h>
#include <zt/dict.h>
#include "tap.h"

#define S(x) (const uint8_t *)(x), sizeof(x) - 1

static struct zt_dict mk(const char *s, size_t len)
{
	struct zt_dict d;

	if (zt_dict_init(&d, s, len, 0) < 0)
		bail("init");
	return d;
}

static void escaping(void)
{
	uint8_t buf[600], val[300], all[256];
	struct zt_wr w;
	struct zt_dict d;
	unsigned i;

	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_dict_add(&w, "k", "a=b\\c\r\n", 7) == 0, "add k");
	ok(w.len == 13 && !memcmp(buf, "k=a\\eb\\\\c\\r\\n", 13), "k=a\\eb\\\\c\\r\\n (spec example)");
	ok(zt_dict_add(&w, "bin", "x\0y", 3) == 0, "add bin");
	ok(w.len == 22 && !memcmp(buf + 13, "\nbin=x\\0y", 9), "LF then bin=x\\0y, no trailing LF");
	d = mk((char *)buf, w.len);
	ok(zt_dict_get(&d, "k", val, sizeof val) == 7 && !memcmp(val, "a=b\\c\r\n", 7), "k reads back");
	ok(zt_dict_get(&d, "bin", val, sizeof val) == 3 && !memcmp(val, "x\0y", 3), "bin reads back");

	for (i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_dict_add(&w, "all", all, 256) == 0 && w.len == 4 + 256 + 5, "256 byte values: 5 escaped");
	d = mk((char *)buf, w.len);
	ok(zt_dict_get(&d, "all", val, sizeof val) == 256 && !memcmp(val, all, 256), "every byte value round trips");
	ok(zt_dict_get(&d, "all", val, 255) == -ENOSPC, "-ENOSPC when the value does not fit");
	ok(zt_dict_unescape(S("a\\xb\\"), val, sizeof val) == 3 && !memcmp(val, "axb", 3),
	   "unknown escape is the byte itself; lone final backslash dropped");
	ok(zt_dict_unescape(S("\\r\\n\\0\\e\\\\"), NULL, 0) == -ENOSPC &&
	   zt_dict_unescape(S("\\r\\n\\0\\e\\\\"), val, 5) == 5 && !memcmp(val, "\r\n\0=\\", 5),
	   "all five escapes");
}

static void lookups(void)
{
	const char s[] = "CAP=cap\nC=com\nnokey\n=x\r\nC=second\n\nn=a\\\nb\nlast=1";
	struct zt_dict d = mk(s, sizeof s - 1);
	struct zt_dict_entry e;
	uint8_t v[64];
	size_t off = 0;
	unsigned n = 0;

	ok(zt_dict_get(&d, "C", v, sizeof v) == 3 && !memcmp(v, "com", 3), "C does not match CAP; first C wins");
	ok(zt_dict_get(&d, "CAP", v, sizeof v) == 3, "CAP found");
	ok(zt_dict_get(&d, "nokey", v, sizeof v) == -ENOENT, "entry without '=' has no value");
	ok(zt_dict_get(&d, "", v, sizeof v) == -ENOENT, "empty key never matches");
	ok(zt_dict_get(&d, "n", v, sizeof v) == 3 && !memcmp(v, "a\nb", 3), "backslash-LF is an LF inside the value");
	ok(zt_dict_get(&d, "last", v, sizeof v) == 1, "last entry without LF");
	ok(zt_dict_get(&d, "ca", v, sizeof v) == -ENOENT && zt_dict_get(&d, "CA", v, sizeof v) == -ENOENT,
	   "case-sensitive, no prefix match");
	while (zt_dict_next(&d, &off, &e))
		n++;
	is_int(n, 9, "entries split at LF and CR (CR LF gives an empty entry)");

	{
		const char t[] = "a=1\0b=2";
		struct zt_dict d2;

		ok(zt_dict_init(&d2, t, sizeof t - 1, 0) == 0 && d2.len == 3 && zt_dict_get(&d2, "b", v, sizeof v) == -ENOENT,
		   "NUL ends the dictionary");
		ok(zt_dict_init(&d2, "abcd", 4, 4) == -EMSGSIZE && zt_dict_init(&d2, "abc", 3, 4) == 0,
		   "capacity counts the NUL: cap - 1 bytes at most");
		ok(zt_dict_init(&d2, "abcd\0", 5, 5) == 0, "NUL inside the limit is fine");
		ok(zt_dict_init(&d2, NULL, 0, 10) == 0 && zt_dict_get(&d2, "a", v, sizeof v) == -ENOENT, "empty dictionary");
	}
}

static void values(void)
{
	const char s[] = "a=00000000000000ff\nb=FF\nc=0x1A\nd=-0000000000000010\ne=\nf=12zz\ng=ffffffffffffffffff\n"
			 "t=true\nT=T\no=1\nz=0\ny=yes\nn=abcdefgh\nesc=\\e\\e";
	struct zt_dict d = mk(s, sizeof s - 1);
	uint64_t u = 0;
	int64_t i = 0;
	char str[5];

	ok(zt_dict_get_u64(&d, "a", &u) == 0 && u == 0xff, "16 digits");
	ok(zt_dict_get_u64(&d, "b", &u) == 0 && u == 0xff, "fewer digits, upper case");
	ok(zt_dict_get_u64(&d, "c", &u) == 0 && u == 0x1a, "0x prefix");
	ok(zt_dict_get_i64(&d, "d", &i) == 0 && i == -16, "signed: '-' and the magnitude");
	ok(zt_dict_get_u64(&d, "e", &u) == -ENOENT, "empty value is absent");
	ok(zt_dict_get_u64(&d, "f", &u) == 0 && u == 0x12, "digits up to the first other byte");
	ok(zt_dict_get_u64(&d, "g", &u) == 0 && u == UINT64_MAX, "too many digits saturate");
	ok(zt_dict_get_u64(&d, "nope", &u) == -ENOENT, "absent");
	ok(zt_dict_get_bool(&d, "t", false) && zt_dict_get_bool(&d, "T", false) && zt_dict_get_bool(&d, "o", false),
	   "booleans: t, T, 1 are true");
	ok(!zt_dict_get_bool(&d, "z", true) && !zt_dict_get_bool(&d, "y", true), "0 and yes are false");
	ok(zt_dict_get_bool(&d, "nope", true) && !zt_dict_get_bool(&d, "e", false), "absent or empty: default");
	ok(zt_dict_get_str(&d, "n", str, sizeof str) == 4 && !strcmp(str, "abcd"), "string cut to the buffer");
	ok(zt_dict_get_str(&d, "esc", str, sizeof str) == 2 && !strcmp(str, "=="), "string unescaped");
	ok(zt_dict_get_str(&d, "nope", str, sizeof str) == -ENOENT, "absent string");
}

static void writing(void)
{
	uint8_t buf[64];
	struct zt_wr w;

	zt_wr_init(&w, buf, 61);
	ok(zt_dict_add_u64(&w, "v", 7) == 0 && zt_dict_add_i64(&w, "ts", -2) == 0 &&
	   zt_dict_add_addr(&w, "id", 0x92bf35da82ULL) == 0 && zt_dict_add_bool(&w, "b", true) == 0, "add typed values");
	ok(w.len == 57 && !memcmp(buf, "v=0000000000000007\nts=-0000000000000002\nid=92bf35da82\nb=1", 57),
	   "u64 16 digits, negative i64 with '-', address 10 digits, bool 1");
	ok(zt_dict_add_str(&w, "x", "12") == -ENOSPC && w.len == 57 && !w.err, "entry that does not fit: nothing written");
	ok(zt_dict_add_str(&w, "x", "1") == 0 && w.len == 61, "the writer is still usable");
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_dict_add_str(&w, "", "v") == -EINVAL && zt_dict_add_str(&w, "a=b", "v") == -EINVAL &&
	   zt_dict_add_str(&w, "a\nb", "v") == -EINVAL && zt_dict_add_str(&w, "a\rb", "v") == -EINVAL && w.len == 0,
	   "bad keys refused");
	ok(zt_dict_add_i64(&w, "m", INT64_MIN) == 0 && !memcmp(buf, "m=-8000000000000000", 19), "INT64_MIN");
	ok(zt_dict_entry_len(0, "k", "=", 1) == 4 && zt_dict_entry_len(1, "k", "a", 1) == 4, "entry length");
}

static void garbage(void)
{
	uint8_t in[512], v[600];
	uint64_t st = 1;
	unsigned i, k, crashes = 0;

	for (i = 0; i < 2000; i++) {
		struct zt_dict d;
		struct zt_dict_entry e;
		size_t off = 0, n = 1 + i % 500;
		uint64_t u;
		char str[8];

		for (k = 0; k < n; k++) {
			st = st * 6364136223846793005ULL + 1442695040888963407ULL;
			in[k] = "ab=\\\n\r0e\x01\xff"[(st >> 33) % 10];
		}
		if (zt_dict_init(&d, in, n, 0) < 0)
			crashes++;
		while (zt_dict_next(&d, &off, &e))
			if (e.has_value && zt_dict_unescape(e.val, e.val_len, v, sizeof v) < 0)
				crashes++;
		zt_dict_get_u64(&d, "a", &u);
		zt_dict_get_str(&d, "b", str, sizeof str);
		zt_dict_get_bool(&d, "ab", false);
	}
	is_int(crashes, 0, "2000 random dictionaries read within bounds");
}

int main(void)
{
	plan(45);
	escaping();
	lookups();
	values();
	writing();
	garbage();
	return tap_done();
}
