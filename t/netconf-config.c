/* The network config (networks.md §4.4-§4.7) and its chunks (§3.8):
 * rejection rules, defaults and clamps, limits, blobs, SSO keys,
 * truncation; a config of many chunks split, reassembled in any order
 * with duplicates and other updates in between; chunk errors. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <stdio.h>
#include <zt/inetaddr.h>
#include <zt/netconf.h>
#include "tap.h"
#include "packet-vec.h"

static struct zt_identity ctl;
static uint64_t nwid;
static uint8_t vdict[4096], d[ZT_DICT_CONFIG_CAP], e[ZT_DICT_CONFIG_CAP];
static size_t vlen, dlen;
static struct zt_netconf *nc;

/* the vector config with one key replaced (val NULL: removed) */
static size_t with(const char *key, const char *val, size_t vallen)
{
	struct zt_dict dd;
	struct zt_dict_entry en;
	struct zt_wr w;
	size_t off = 0;
	bool done = false;

	zt_dict_init(&dd, vdict, vlen, 0);
	zt_wr_init(&w, d, sizeof d);
	while (zt_dict_next(&dd, &off, &en)) {
		bool match = en.key_len == strlen(key) && !memcmp(en.key, key, en.key_len);

		if (match && !done) {
			done = true;
			if (val) {
				if (w.len)
					zt_wr_u8(&w, '\n');
				zt_wr_bytes(&w, key, strlen(key));
				zt_wr_u8(&w, '=');
				zt_wr_bytes(&w, val, vallen);
			}
			continue;
		}
		if (w.len)
			zt_wr_u8(&w, '\n');
		zt_wr_bytes(&w, en.key, (size_t)(en.val + en.val_len - en.key));
	}
	if (!done && val) {
		zt_wr_u8(&w, '\n');
		zt_wr_bytes(&w, key, strlen(key));
		zt_wr_u8(&w, '=');
		zt_wr_bytes(&w, val, vallen);
	}
	return w.len;
}

static size_t WITH(const char *k, const char *v)
{
	return with(k, v, v ? strlen(v) : 0);
}

static void rejects(void)
{
	size_t k;
	unsigned bad = 0;

	is_int(zt_netconf_parse(nc, d, WITH("nwid", NULL)), -EINVAL, "no nwid: rejected");
	is_int(zt_netconf_parse(nc, d, WITH("nwid", "0")), -EINVAL, "nwid 0: rejected");
	is_int(zt_netconf_parse(nc, d, WITH("id", NULL)), -EINVAL, "no id: rejected");
	is_int(zt_netconf_parse(nc, d, WITH("v", NULL)), -EINVAL, "no v: rejected");
	is_int(zt_netconf_parse(nc, d, WITH("v", "5")), -EINVAL, "v 5: rejected");
	ok(zt_netconf_parse(nc, d, WITH("v", "6")) == 0 && nc->version == 6, "v 6: accepted");
	ok(zt_netconf_parse(nc, d, WITH("mtu", NULL)) == 0 && nc->mtu == 2800, "no mtu: 2800");
	ok(zt_netconf_parse(nc, d, WITH("mtu", "10")) == 0 && nc->mtu == 1280, "mtu 16: clamped to 1280");
	ok(zt_netconf_parse(nc, d, WITH("mtu", "ffff")) == 0 && nc->mtu == 10000, "mtu 65535: clamped to 10000");
	ok(zt_netconf_parse(nc, d, WITH("t", NULL)) == 0 && nc->type == ZT_NET_PRIVATE, "no t: private");
	ok(zt_netconf_parse(nc, d, WITH("ts", "-10")) == 0 && nc->ts == -16, "signed ts");
	ok(zt_netconf_parse(nc, d, WITH("C", "\\0")) == -EINVAL && nc->nwid == 0, "malformed C: rejected, config reset");
	is_int(zt_netconf_parse(nc, d, WITH("COO", "xyz")), -EINVAL, "malformed COO: rejected");
	is_int(zt_netconf_parse(nc, d, WITH("S", "1234567")), -EINVAL, "S not a multiple of 8: rejected");
	is_int(zt_netconf_parse(nc, d, WITH("RT", "\\6")), -EINVAL, "malformed RT: rejected");
	is_int(zt_netconf_parse(nc, d, WITH("I", "\x07")), -EINVAL, "I of unknown type: rejected");
	is_int(zt_netconf_parse(nc, d, WITH("R", "\x01\x05")), -EINVAL, "truncated rule: rejected");
	is_int(zt_netconf_parse(nc, d, WITH("DNS", "abc")), -EINVAL, "short DNS: rejected");
	ok(zt_netconf_parse(nc, d, WITH("CAP", "garbage")) == 0 && nc->ncaps == 0, "malformed CAP entry ends the list");
	ok(zt_netconf_parse(nc, d, WITH("TAG", "garbage")) == 0 && nc->ntags == 0, "malformed TAG entry ends the list");
	{
		char n[300];

		memset(n, 'x', sizeof n - 1);
		n[sizeof n - 1] = 0;
		ok(zt_netconf_parse(nc, d, WITH("n", n)) == 0 && strlen(nc->name) == 127, "name cut to 127 bytes");
	}
	for (k = 0; k < vlen; k++) {
		int rc = zt_netconf_parse(nc, vdict, k);

		if (rc != 0 && rc != -EINVAL)
			bad++;
	}
	is_int(bad, 0, "every truncation of the vector config parses or is -EINVAL");
	memset(d, 'a', ZT_DICT_CONFIG_CAP);
	is_int(zt_netconf_parse(nc, d, ZT_DICT_CONFIG_CAP), -EMSGSIZE, "dictionary at capacity: -EMSGSIZE");
}

static void roundtrip(const char *name)
{
	struct zt_netconf *b = zt_netconf_new();
	struct zt_wr w, w2;

	zt_wr_init(&w, d, ZT_DICT_CONFIG_CAP - 1);
	zt_wr_init(&w2, e, ZT_DICT_CONFIG_CAP - 1);
	dlen = 0;
	ok(zt_netconf_write(nc, &w) == 0 && (dlen = w.len) && zt_netconf_parse(b, d, w.len) == 0 && zt_netconf_write(b, &w2) == 0 &&
	   w.len == w2.len && !memcmp(d, e, w.len), name);
	zt_netconf_free(b);
}

static void blobs(void)
{
	unsigned i;
	char txt[ZT_INETADDR_TEXT_MAX];
	static uint8_t rules[ZT_NETCONF_MAX_RULES * 2 + 2];
	struct zt_tag t;
	struct zt_cap c;

	zt_netconf_parse(nc, vdict, vlen);
	nc->ts = -5;
	nc->nspecialists = 2;
	nc->specialists[0] = ZT_SPECIALIST_ACTIVE_BRIDGE | 0x1122334455ULL;
	nc->specialists[1] = ZT_SPECIALIST_ANCHOR | 0x0a0a0a0a0aULL;
	zt_inetaddr_from_text(&nc->routes[1].target, "0.0.0.0/0");
	zt_inetaddr_from_text(&nc->routes[1].via, "10.147.17.1/0");
	zt_inetaddr_from_text(&nc->routes[2].target, "fd00::/8");
	nc->routes[2].metric = 7;
	nc->nroutes = 3;
	strcpy(nc->dns.domain, "zt.example");
	zt_inetaddr_from_text(&nc->dns.servers[1], "10.147.17.53/53");
	zt_inetaddr_from_text(&nc->ips[1], "fd00::2/88");
	nc->nips = 2;
	roundtrip("specialists, gateway and IPv6 routes, DNS, IPv6 IP, negative ts round trip");
	ok(nc->issued_to && zt_netconf_specialist(nc, 0x1122334455ULL) == ZT_SPECIALIST_ACTIVE_BRIDGE &&
	   zt_netconf_specialist(nc, 1) == 0, "specialist roles");
	zt_netconf_parse(nc, d, dlen);
	zt_inetaddr_to_text(&nc->routes[1].via, txt, sizeof txt);
	ok(nc->ts == -5 && nc->nroutes == 3 && !strcmp(txt, "10.147.17.1/0") && nc->routes[2].metric == 7 &&
	   !strcmp(nc->dns.domain, "zt.example") && nc->dns.servers[1].sa.sa_family == AF_INET, "fields after the round trip");
	ok(memmem(d, dlen, "ts=-0000000000000005", 20) != NULL, "negative ts written with '-'");

	nc->sso_enabled = true;
	strcpy(nc->auth_url, "https://sso.example/x=1");
	nc->auth_expiry = 1234;
	roundtrip("SSO version 0 round trip");
	ok(memmem(d, dlen, "ssoe=1\naurl=https://sso.example/x\\e1\naexpt=00000000000004d2", 59) != NULL,
	   "SSO version 0 keys");
	nc->sso_version = 1;
	strcpy(nc->issuer_url, "https://issuer");
	strcpy(nc->nonce, "n");
	strcpy(nc->provider, "default");
	roundtrip("SSO version 1 round trip");
	zt_netconf_parse(nc, d, dlen);
	ok(nc->sso_version == 1 && !strcmp(nc->issuer_url, "https://issuer") && !strcmp(nc->nonce, "n") &&
	   nc->auth_url[0] == 0, "SSO version 1 fields");

	/* limits: read up to the limit */
	zt_netconf_parse(nc, vdict, vlen);
	for (i = 0; i < 40; i++)
		zt_inetaddr_from_text(&nc->ips[i % ZT_NETCONF_MAX_IPS], "10.0.0.1/8");
	nc->nips = ZT_NETCONF_MAX_IPS;
	for (i = 0; i < ZT_NETCONF_MAX_RULES + 1; i++) {
		rules[2 * i] = 1;
		rules[2 * i + 1] = 0;
	}
	nc->rules = rules;
	nc->nrules = ZT_NETCONF_MAX_RULES + 1;
	nc->rules_len = sizeof rules;
	{
		struct zt_wr w;

		zt_wr_init(&w, d, ZT_DICT_CONFIG_CAP - 1);
		zt_netconf_write(nc, &w);
		zt_netconf_parse(nc, d, w.len);
		ok(nc->nrules == ZT_NETCONF_MAX_RULES && nc->rules_len == 2 * ZT_NETCONF_MAX_RULES && nc->nips == 32,
		   "1025 rules: 1024 kept; 32 static IPs");
	}

	/* CAP and TAG lists come out sorted by id */
	zt_netconf_parse(nc, vdict, vlen);
	t = nc->tags[0];
	c = nc->caps[0];
	nc->tags[0].id = 20;
	nc->tags[1] = t;
	nc->tags[2] = t;
	nc->tags[2].id = 5;
	nc->ntags = 3;
	nc->caps[1] = c;
	nc->caps[0].id = 300;
	nc->ncaps = 2;
	{
		struct zt_wr w;

		zt_wr_init(&w, d, ZT_DICT_CONFIG_CAP - 1);
		zt_netconf_write(nc, &w);
		zt_netconf_parse(nc, d, w.len);
	}
	ok(nc->ntags == 3 && nc->tags[0].id == 5 && nc->tags[1].id == 10 && nc->tags[2].id == 20 &&
	   nc->ncaps == 2 && nc->caps[0].id == 200 && nc->caps[1].id == 300, "tags and capabilities sorted by id");
	ok(zt_netconf_cap(nc, 200) && zt_cap_verify(zt_netconf_cap(nc, 200), NULL, NULL) == -ENOKEY &&
	   !zt_netconf_cap(nc, 1) && !zt_netconf_tag(nc, 1), "lookups by id");
	{
		struct zt_wr w;

		zt_wr_init(&w, d, 100);
		is_int(zt_netconf_write(nc, &w), -ENOSPC, "write into too small a buffer: -ENOSPC");
	}
}

/* a big config: many routes and rules, cut into chunks */
static size_t big(void)
{
	static uint8_t rules[27000];
	struct zt_wr w;
	unsigned i;

	zt_netconf_parse(nc, vdict, vlen);
	for (i = 0; i < ZT_NETCONF_MAX_ROUTES; i++) {
		char s[40];

		snprintf(s, sizeof s, "10.%u.%u.0/24", i, i);
		zt_inetaddr_from_text(&nc->routes[i].target, s);
	}
	nc->nroutes = ZT_NETCONF_MAX_ROUTES;
	for (i = 0; i < sizeof rules / 9; i++) {
		memcpy(rules + 9 * i, "\x2a\x04\x00\x10\x00\x20", 6);   /* frame size range */
		memcpy(rules + 9 * i + 6, "\x25\x01\x06", 3);            /* ip protocol */
	}
	nc->rules = rules;
	nc->rules_len = sizeof rules;
	nc->nrules = 2 * (sizeof rules / 9);
	zt_wr_init(&w, e, ZT_DICT_CONFIG_CAP - 1);
	if (zt_netconf_write(nc, &w) < 0)
		bail("big config");
	return w.len;
}

static void chunking(void)
{
	static uint8_t bodies[8][ZT_PKT_MAX];
	size_t blen[8], total = big(), off = 0;
	unsigned n = 0, i, order[] = { 2, 0, 1, 1 }, bad = 0;
	struct zt_config_chunk ch[8], x;
	struct zt_config_asm as;
	const uint8_t *dict;
	size_t dl;
	int rc;

	ok(total > 3 * ZT_CHUNK_SLICE_MAX && total < 4 * ZT_CHUNK_SLICE_MAX, "big config needs 4 chunks");
	while (off < total) {
		struct zt_wr w;

		zt_wr_init(&w, bodies[n], ZT_PKT_MAX - 28 - 9);
		rc = zt_chunk_encode(&w, nwid, e, total, off, 0, 0xfeedULL, &ctl);
		if (rc <= 0 || zt_chunk_decode(&ch[n], bodies[n], w.len) < 0 || zt_chunk_verify(&ch[n], &ctl) < 0)
			bail("chunk %u: %d", n, rc);
		blen[n++] = w.len;
		off += (size_t)rc;
	}
	ok(n == 4 && ch[3].offset == 3 * ZT_CHUNK_SLICE_MAX && ch[0].len == ZT_CHUNK_SLICE_MAX &&
	   blen[0] == ZT_CHUNK_SLICE_MAX + ZT_CHUNK_OVERHEAD, "4 chunks of at most 9740 bytes, 126 bytes around each");

	zt_config_asm_init(&as);
	for (i = 0; i < 4; i++) {
		rc = zt_config_asm_add(&as, &ch[order[i]], &dict, &dl);
		if (rc != (i == 3 ? -EALREADY : 0))
			bad++;
	}
	is_int(bad, 0, "chunks 2 0 1 taken, 1 again is a duplicate");
	{
		/* other updates in between: still 3 slots, this one touched last */
		struct zt_config_chunk o = ch[0];

		o.update_id = 1;
		ok(zt_config_asm_add(&as, &o, &dict, &dl) == 0, "another update takes a slot");
		o.update_id = 2;
		ok(zt_config_asm_add(&as, &o, &dict, &dl) == 0, "and a third");
	}
	ok(zt_config_asm_add(&as, &ch[3], &dict, &dl) == 1 && dl == total && !memcmp(dict, e, total),
	   "the last chunk completes the config");
	ok(zt_netconf_parse(nc, dict, dl) == 0 && nc->nroutes == ZT_NETCONF_MAX_ROUTES, "reassembled config parses");
	ok(zt_config_asm_is_dup(&as, &ch[0]) && zt_config_asm_add(&as, &ch[0], &dict, &dl) == -EALREADY,
	   "a complete update takes nothing more");
	{
		struct zt_config_chunk o = ch[0];

		o.update_id = 3;
		o.total++;
		zt_config_asm_add(&as, &o, &dict, &dl);
		o.update_id = 4;
		zt_config_asm_add(&as, &o, &dict, &dl);
		o.update_id = 5;
		zt_config_asm_add(&as, &o, &dict, &dl);
		ok(!zt_config_asm_is_dup(&as, &ch[0]), "three newer updates recycle the slot of the oldest");
		o.update_id = 5;
		o.total--;
		is_int(zt_config_asm_add(&as, &o, &dict, &dl), -EINVAL, "T differing from the first chunk: -EINVAL");
		o.update_id = 6;
		o.total = (uint32_t)o.len + 1;
		o.offset = 0;
		ok(zt_config_asm_add(&as, &o, &dict, &dl) == 0, "slice of C bytes for T = C + 1");
		o.sig = ch[1].sig;
		o.offset = 1;
		is_int(zt_config_asm_add(&as, &o, &dict, &dl), -EINVAL, "another slice of C bytes: more than T, -EINVAL");
	}
	{
		/* 474 chunks at most per update */
		struct zt_config_chunk o;
		uint8_t sig[96];

		memset(&o, 0, sizeof o);
		memset(sig, 0, sizeof sig);
		o.update_id = 9;
		o.total = 1000;
		o.len = 1;
		o.data = (const uint8_t *)"x";
		o.sig = sig;
		bad = 0;
		for (i = 0; i < ZT_CONFIG_MAX_CHUNKS; i++) {
			sig[0] = (uint8_t)i;
			sig[1] = (uint8_t)(i >> 8);
			o.offset = i;
			if (zt_config_asm_add(&as, &o, &dict, &dl) != 0)
				bad++;
		}
		sig[2] = 1;
		is_int(bad, 0, "474 chunks taken");
		is_int(zt_config_asm_add(&as, &o, &dict, &dl), -E2BIG, "the 475th: -E2BIG");
	}
	zt_config_asm_fini(&as);

	/* decoding errors */
	bad = 0;
	for (i = 0; i < blen[3]; i++) {
		rc = zt_chunk_decode(&x, bodies[3], i);
		/* 10 + C bytes exactly is the legacy form */
		if (i == 10 + ch[3].len ? rc != 0 || !x.legacy : rc != -EMSGSIZE)
			bad++;
	}
	is_int(bad, 0, "every truncation of a chunk: -EMSGSIZE (or the legacy form)");
	ok(zt_chunk_decode(&x, bodies[3], 10 + ch[3].len) == 0 && x.legacy && x.total == x.len &&
	   zt_chunk_verify(&x, &ctl) == -EACCES, "legacy form: whole, unsigned");
	{
		uint8_t *p = bodies[1];
		size_t c = ch[1].len;

		p[10 + c + 16] ^= 1;                /* offset */
		ok(zt_chunk_decode(&x, p, blen[1]) == 0 && zt_chunk_verify(&x, &ctl) == -EBADMSG, "tampered: bad signature");
		p[10 + c + 16] ^= 1;
		p[10 + c + 13] = 1;                 /* offset far past T */
		is_int(zt_chunk_decode(&x, p, blen[1]), -EINVAL, "offset + C > T: -EINVAL");
		p[10 + c + 13] = 0;
		p[10 + c + 9] = 0x07;               /* T = 0x07xxxxxx */
		is_int(zt_chunk_decode(&x, p, blen[1]), -EMSGSIZE, "T beyond the capacity: -EMSGSIZE");
		p[10 + c + 9] = 0;
		p[10 + c + 17] = 2;
		is_int(zt_chunk_decode(&x, p, blen[1]), -EINVAL, "signature type 2: -EINVAL");
		p[10 + c + 17] = 1;
		p[10 + c + 19] = 95;
		is_int(zt_chunk_decode(&x, p, blen[1]), -EINVAL, "signature length 95: -EINVAL");
		p[10 + c + 19] = 96;
		ok(zt_chunk_decode(&x, p, blen[1]) == 0 && zt_chunk_verify(&x, &ctl) == 0, "restored chunk verifies");
		is_int(zt_chunk_verify(&x, NULL), -EACCES, "no controller: -EACCES");
	}
	{
		struct zt_wr w;

		zt_wr_init(&w, bodies[0], 100);
		is_int(zt_chunk_encode(&w, nwid, e, total, 0, 0, 1, &ctl), -ENOSPC, "chunk into a small buffer: -ENOSPC");
		zt_wr_init(&w, bodies[0], ZT_PKT_MAX);
		ok(zt_chunk_encode(&w, nwid, e, total, total, 0, 1, &ctl) == -EINVAL &&
		   zt_chunk_encode(&w, nwid, e, total, 0, 0, 0, &ctl) == -EINVAL, "offset at the end, update ID 0: -EINVAL");
	}
}

static void request(void)
{
	struct zt_ncreq q, q2;
	struct zt_ncreq_meta m;
	uint8_t meta[ZT_DICT_META_CAP], pl[2048];
	struct zt_wr w;
	size_t k;
	unsigned bad = 0;

	zt_ncreq_meta_default(&m, "linux/x86_64");
	strcpy(m.token, "token:abc");
	zt_wr_init(&w, meta, sizeof meta - 1);
	zt_ncreq_meta_write(&m, &w);
	q.nwid = nwid;
	q.meta = meta;
	q.meta_len = w.len;
	q.revision = 3;
	q.ts = 77;
	zt_wr_init(&w, pl, sizeof pl);
	ok(zt_ncreq_encode(&w, &q) == 0 && w.len == 10 + q.meta_len + 16, "request encoded");
	ok(zt_ncreq_decode(&q2, pl, w.len) == 0 && q2.has_tail && q2.revision == 3 && q2.ts == 77 &&
	   q2.meta_len == q.meta_len, "request decoded");
	ok(zt_ncreq_meta_parse(&m, q2.meta, q2.meta_len) == 0 && !strcmp(m.token, "token:abc"), "join token read");
	ok(zt_ncreq_decode(&q2, pl, 10 + q.meta_len) == 0 && !q2.has_tail, "without the tail");
	for (k = 0; k < 10 + q.meta_len; k++)
		if (zt_ncreq_decode(&q2, pl, k) != -EMSGSIZE)
			bad++;
	is_int(bad, 0, "truncated before the end of the metadata: -EMSGSIZE");
	memset(meta, 'x', sizeof meta);
	memcpy(meta + 1020, "\nv=1", 4);
	ok(zt_ncreq_meta_parse(&m, meta, 1024) == 0 && m.v == 0, "metadata past 1023 bytes is not read");
}

int main(void)
{
	struct vec_file vf = vec_load("networks.txt", NULL);
	long n;

	plan(73);
	nc = zt_netconf_new();
	if (!nc || zt_identity_from_text(&ctl, vec_get(&vf.rec[0], "controller_identity_secret")) < 0)
		bail("setup");
	nwid = strtoull(vec_get(&vf.rec[0], "nwid"), NULL, 16);
	n = vec_unhex(vec_get(&vf.rec[0], "config_dictionary"), vdict, sizeof vdict);
	if (n < 0)
		bail("config_dictionary");
	vlen = (size_t)n;
	vec_free(&vf);
	rejects();
	blobs();
	chunking();
	request();
	{
		struct zt_authinfo ai, ai2;
		struct zt_wr w;

		memset(&ai, 0, sizeof ai);
		ai.version = 1;
		strcpy(ai.issuer_url, "https://i");
		strcpy(ai.provider, "keycloak");
		zt_wr_init(&w, d, ZT_DICT_AUTHINFO_CAP - 1);
		ok(zt_authinfo_write(&ai, &w) == 0 && zt_authinfo_parse(&ai2, d, w.len) == 0 && ai2.version == 1 &&
		   !strcmp(ai2.issuer_url, "https://i") && !strcmp(ai2.provider, "keycloak"), "auth-info round trip");
		ok(zt_authinfo_parse(&ai2, (const uint8_t *)"aU=x", 4) == 0 && !strcmp(ai2.url, "x") &&
		   !strcmp(ai2.provider, "default"), "auth-info version 0, provider default");
	}
	ok(zt_frame_fits(2800, 0x0800, 2800) && !zt_frame_fits(2800, 0x0800, 2801), "a frame's payload fits the MTU");
	ok(zt_frame_fits(2800, 0x86dd, 2800) && !zt_frame_fits(2800, 0x86dd, 2801), "IPv6 too");
	ok(zt_frame_fits(2800, 0x8100, 2804), "an 802.1Q tag comes on top of the MTU");
	ok(!zt_frame_fits(2800, 0x8100, 2805), "but one byte more does not fit");
	ok(zt_frame_fits(1280, 0x88a8, 1280) && !zt_frame_fits(1280, 0x88a8, 1281), "an 802.1ad tag does not");
	zt_netconf_free(nc);
	return tap_done();
}
