/* libFuzzer: dictionaries.  Every entry of the input is unescaped and
 * written again; the result must read back as the same entries, and the
 * getters must stay in bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zt/dict.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[70000], val[70000], val2[70000];
static char key[70000];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zt_dict d, d2;
	struct zt_dict_entry e, e2;
	struct zt_wr w;
	size_t off = 0, off2 = 0;
	uint64_t u;
	int64_t s;
	char str[16];

	if (size > 65536 || zt_dict_init(&d, data, size, 0) < 0)
		return 0;
	zt_dict_get_u64(&d, "v", &u);
	zt_dict_get_i64(&d, "ts", &s);
	zt_dict_get_bool(&d, "ssoe", false);
	zt_dict_get_str(&d, "n", str, sizeof str);
	zt_wr_init(&w, out, sizeof out);
	while (zt_dict_next(&d, &off, &e)) {
		int n;

		if (!e.has_value || !e.key_len)
			continue;
		memcpy(key, e.key, e.key_len);
		key[e.key_len] = '\0';
		if (strlen(key) != e.key_len)
			continue;
		n = zt_dict_unescape(e.val, e.val_len, val, sizeof val);
		if (n < 0 || zt_dict_add(&w, key, val, (size_t)n) < 0)
			abort();
	}
	if (zt_dict_init(&d2, out, w.len, 0) < 0 || d2.len != w.len)
		abort();
	off = 0;
	while (zt_dict_next(&d, &off, &e)) {
		int n, m;

		if (!e.has_value || !e.key_len || memchr(e.key, 0, e.key_len))
			continue;
		if (!zt_dict_next(&d2, &off2, &e2) || e2.key_len != e.key_len ||
		    memcmp(e.key, e2.key, e.key_len) != 0)
			abort();
		n = zt_dict_unescape(e.val, e.val_len, val, sizeof val);
		m = zt_dict_unescape(e2.val, e2.val_len, val2, sizeof val2);
		if (n != m || memcmp(val, val2, (size_t)n) != 0)
			abort();
	}
	if (zt_dict_next(&d2, &off2, &e2))
		abort();
	return 0;
}
