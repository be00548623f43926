/* libFuzzer: the network-layer decoders.  The first byte picks one: the
 * config dictionary (what parses must serialize and parse back to the
 * same bytes), config chunks and their reassembly, NETWORK_CREDENTIALS,
 * NETWORK_CONFIG_REQUEST, or one credential of each kind (written back
 * and read again identically). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zt/netconf.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct zt_netconf *nc, *nc2;
static uint8_t a[ZT_DICT_CONFIG_CAP], b[ZT_DICT_CONFIG_CAP];
static struct zt_config_asm as;

static void config(const uint8_t *p, size_t n)
{
	struct zt_wr w, w2;

	if (zt_netconf_parse(nc, p, n) < 0)
		return;
	zt_wr_init(&w, a, sizeof a - 1);
	if (zt_netconf_write(nc, &w) < 0)
		abort();
	if (zt_netconf_parse(nc2, a, w.len) < 0)
		abort();
	zt_wr_init(&w2, b, sizeof b - 1);
	if (zt_netconf_write(nc2, &w2) < 0 || w2.len != w.len || memcmp(a, b, w.len) != 0)
		abort();
}

static void chunks(const uint8_t *p, size_t n)
{
	/* a sequence of [u16 length][chunk body] */
	while (n >= 2) {
		size_t len = (size_t)p[0] << 8 | p[1];
		struct zt_config_chunk c;
		const uint8_t *dict;
		size_t dlen;

		p += 2;
		n -= 2;
		if (len > n)
			len = n;
		if (zt_chunk_decode(&c, p, len) == 0) {
			(void)zt_chunk_ident(&c);
			(void)zt_config_asm_is_dup(&as, &c);
			if (zt_config_asm_add(&as, &c, &dict, &dlen) == 1 && dlen && !dict)
				abort();
		}
		p += len;
		n -= len;
	}
}

static void credentials(const uint8_t *p, size_t n)
{
	struct zt_netcreds nc_;
	struct zt_com com;
	struct zt_cap cap;
	struct zt_tag tag;
	struct zt_revocation rev;
	struct zt_coo coo;
	unsigned i;

	if (zt_netcreds_decode(&nc_, p, n) < 0)
		return;
	for (i = 0; i < nc_.ncom; i++)
		if (zt_netcreds_com(&nc_, i, &com) < 0)
			abort();
	for (i = 0; i < nc_.ncap; i++)
		if (zt_netcreds_cap(&nc_, i, &cap) < 0)
			abort();
	for (i = 0; i < nc_.ntag; i++)
		if (zt_netcreds_tag(&nc_, i, &tag) < 0)
			abort();
	for (i = 0; i < nc_.nrev; i++)
		if (zt_netcreds_rev(&nc_, i, &rev) < 0)
			abort();
	for (i = 0; i < nc_.ncoo; i++)
		if (zt_netcreds_coo(&nc_, i, &coo) < 0)
			abort();
}

static void request(const uint8_t *p, size_t n)
{
	struct zt_ncreq q;
	struct zt_ncreq_meta m;
	struct zt_wr w;

	if (zt_ncreq_decode(&q, p, n) < 0)
		return;
	zt_ncreq_meta_parse(&m, q.meta, q.meta_len);
	zt_wr_init(&w, a, ZT_DICT_META_CAP - 1);
	zt_ncreq_meta_write(&m, &w);
}

/* read, write, read again, write again: the two writes are equal */
#define ROUND(type, rd, wr) do { \
	type x_, y_; \
	struct zt_rd r_; \
	struct zt_wr w_, v_; \
	zt_rd_init(&r_, p, n); \
	if (rd(&r_, &x_) == 0) { \
		zt_wr_init(&w_, a, sizeof a); \
		if (wr(&w_, &x_) < 0) abort(); \
		zt_rd_init(&r_, a, w_.len); \
		if (rd(&r_, &y_) < 0) abort(); \
		zt_wr_init(&v_, b, sizeof b); \
		if (wr(&v_, &y_) < 0 || v_.len != w_.len || memcmp(a, b, w_.len)) abort(); \
	} \
} while (0)

static void single(const uint8_t *p, size_t n)
{
	ROUND(struct zt_com, zt_com_read, zt_com_write);
	ROUND(struct zt_cap, zt_cap_read, zt_cap_write);
	ROUND(struct zt_tag, zt_tag_read, zt_tag_write);
	ROUND(struct zt_coo, zt_coo_read, zt_coo_write);
	ROUND(struct zt_revocation, zt_rev_read, zt_rev_write);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!nc) {
		nc = zt_netconf_new();
		nc2 = zt_netconf_new();
		zt_config_asm_init(&as);
		if (!nc || !nc2)
			abort();
	}
	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0: config(data + 1, size - 1); break;
	case 1: chunks(data + 1, size - 1); break;
	case 2: credentials(data + 1, size - 1); break;
	case 3: request(data + 1, size - 1); break;
	default: single(data + 1, size - 1); break;
	}
	return 0;
}
