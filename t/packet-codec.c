/* The packet codec: cursor, header, and every peer-level verb (wire.md
 * §3.1-§3.3, §4): round trips, truncation at every length, malformed and
 * oversized input, writers short of room. */
#include <errno.h>
#include <zt/inetaddr.h>
#include <zt/packet.h>
#include "tap.h"

static uint8_t buf[ZT_PKT_MAX], buf2[ZT_PKT_MAX];

/* A binary identity: public form, or secret form when secret. */
static size_t make_id(uint8_t *p, uint64_t addr, bool secret)
{
	size_t i;

	for (i = 0; i < 5; i++)
		p[i] = (uint8_t)(addr >> (32 - 8 * i));
	p[5] = 0;
	for (i = 0; i < 64; i++)
		p[6 + i] = (uint8_t)(i * 7 + addr);
	p[70] = secret ? 64 : 0;
	for (i = 0; secret && i < 64; i++)
		p[71 + i] = (uint8_t)(i ^ 0x5a);
	return secret ? 135 : 71;
}

static void cursor(void)
{
	static const uint8_t three[3] = { 1, 2, 3 };
	uint8_t out[4] = { 0xaa, 0xaa, 0xaa, 0xaa }, copy[4];
	struct zt_rd r;
	struct zt_wr w;

	zt_rd_init(&r, three, sizeof three);
	ok(zt_rd_u16(&r) == 0x0102 && !r.err && zt_rd_left(&r) == 1, "reader: u16");
	ok(zt_rd_u16(&r) == 0 && r.err && zt_rd_left(&r) == 0, "reader: past the end gives 0 and err");
	ok(zt_rd_u8(&r) == 0 && r.err, "reader: stays in error");
	zt_rd_init(&r, three, sizeof three);
	zt_rd_copy(&r, copy, 4);
	ok(r.err && !memcmp(copy, "\0\0\0\0", 4) && zt_rd_ptr(&r, 0) == NULL,
	   "reader: a short copy zeroes the destination");
	zt_rd_init(&r, NULL, 0);
	ok(zt_rd_u64(&r) == 0 && r.err, "reader: empty");
	zt_wr_init(&w, out, 3);
	zt_wr_u16(&w, 0x0102);
	ok(!w.err && w.len == 2, "writer: u16");
	zt_wr_u16(&w, 0x0304);
	ok(w.err && w.len == 2 && out[2] == 0xaa && out[3] == 0xaa, "writer: past cap writes nothing");
	zt_wr_u8(&w, 9);
	ok(w.err && out[2] == 0xaa, "writer: stays in error");
	zt_wr_init(&w, out, 4);
	zt_wr_u40(&w, 0x0102030405ULL);
	ok(w.err && w.len == 0, "writer: a u40 does not fit in 4 bytes");
}

static void header(void)
{
	struct zt_hdr h = { .id = 0x0102030405060708ULL, .dest = 0x89e92ceee5ULL,
			    .src = 0x48b374b5daULL, .mac = { 1, 2, 3, 4, 5, 6, 7, 8 },
			    .verb = ZT_VERB_NOP }, h2;
	struct zt_wr w;
	size_t n;
	bool good = true;

	h.flags = zt_flags_make(ZT_CIPHER_POLY1305_SALSA2012, false) | 2;
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_hdr_write(&w, &h) == 0 && w.len == ZT_PKT_MIN && buf[ZT_HDR_FLAGS] == 0x8a &&
	   buf[ZT_HDR_VERB] == 0 && buf[ZT_HDR_DEST] == 0x89 && buf[ZT_HDR_SRC + 4] == 0xda,
	   "NOP packet: header and verb at their offsets");
	ok(zt_hdr_read(&h2, buf, w.len) == 0 && h2.id == h.id && h2.dest == h.dest &&
	   h2.src == h.src && h2.flags == h.flags && !memcmp(h2.mac, h.mac, 8) && h2.verb == 0,
	   "header round trip");
	ok(zt_flags_cipher(h2.flags) == 1 && zt_flags_hops(h2.flags) == 2 &&
	   !zt_flags_fragmented(h2.flags), "flags: suite, hops, not fragmented");
	ok(zt_flags_make(ZT_CIPHER_POLY1305_NONE, false) == 0x00 &&
	   zt_flags_make(ZT_CIPHER_POLY1305_SALSA2012, false) == 0x88 &&
	   zt_flags_make(ZT_CIPHER_POLY1305_SALSA2012, true) == 0xc8 &&
	   zt_flags_make(ZT_CIPHER_TRUSTED, false) == 0x10 &&
	   zt_flags_make(ZT_CIPHER_AES_GMAC_SIV, false) == 0x18 &&
	   zt_flags_make(ZT_CIPHER_AES_GMAC_SIV, true) == 0x58, "flags as 1.14 sends them");
	for (n = 0; n < ZT_PKT_MIN; n++)
		good = good && zt_hdr_read(&h2, buf, n) == -EMSGSIZE;
	ok(good, "header: every length under 28 is -EMSGSIZE");
	good = true;
	for (n = 0; n < ZT_PKT_MIN; n++) {
		zt_wr_init(&w, buf2, n);
		good = good && zt_hdr_write(&w, &h) == -EMSGSIZE;
	}
	ok(good, "header: writing into less than 28 bytes fails");
	ok(!strcmp(zt_verb_name(ZT_VERB_HELLO), "HELLO") &&
	   !strcmp(zt_verb_name(ZT_VERB_PATH_NEGOTIATION_REQUEST), "PATH_NEGOTIATION_REQUEST") &&
	   zt_verb_name(0x0f) == NULL && zt_verb_name(0x11) == NULL && zt_verb_name(0x1f) == NULL &&
	   zt_verb_name(255) == NULL, "verb names");
}

/* Lengths at which a HELLO of this layout (IPv6 dest, 2 moons) decodes. */
static bool hello_len_ok(size_t n, size_t full)
{
	return n == 84 || n == 103 || n == 119 || (n >= 121 && n <= full);
}

static void hello(void)
{
	struct zt_moon_ref moons[2] = { { 0x7f, 0x48b374b5daULL, 1795417756182ULL },
					{ 0x7f, 0x1234, 0 } }, m;
	uint8_t id[135];
	struct zt_hello h = { .proto = 11, .major = 1, .minor = 14, .revision = 1,
			      .timestamp = 1795417631175ULL, .id = id, .has_planet = true,
			      .planet_id = 149604618ULL, .planet_ts = 1644592324813ULL }, d;
	struct zt_wr w;
	size_t n, full;
	bool good = true, moons_ok = true;

	h.id_len = make_id(id, 0x89e92ceee5ULL, false);
	zt_inetaddr_from_text(&h.dest, "2001:db8::1/9993");
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_hello_encode(&w, &h, moons, 2) == 0 && w.len == 13 + 71 + 19 + 16 + 2 + 34 &&
	   h.tail_off == 119 && h.tail_len == 36, "HELLO encodes; tail located");
	full = w.len;
	ok(zt_hello_decode(&d, buf, full) == 0 && d.proto == 11 && d.major == 1 && d.minor == 14 &&
	   d.revision == 1 && d.timestamp == h.timestamp && d.id_len == 71 &&
	   !memcmp(d.id, id, 71) && d.has_dest && zt_inetaddr_equal(&d.dest, &h.dest, true) &&
	   d.has_planet && d.planet_id == h.planet_id && d.planet_ts == h.planet_ts &&
	   d.tail_off == 119 && d.tail_len == 36, "HELLO decodes");
	ok(zt_hello_decode_moons(&d, buf) == 0 && d.n_moons == 2, "HELLO moon list");
	zt_hello_moon(&d, 0, &m);
	ok(m.type == 0x7f && m.id == moons[0].id && m.ts == moons[0].ts, "HELLO moon 0");
	zt_hello_moon(&d, 1, &m);
	ok(m.type == 0x7f && m.id == 0x1234 && m.ts == 0, "HELLO moon 1: wanted");
	zt_hello_moon(&d, 2, &m);
	ok(m.type == 0 && m.id == 0 && m.ts == 0, "HELLO moon past the list reads zeros");
	for (n = 0; n < full + 40; n++) {
		int rc = zt_hello_decode(&d, buf, n);

		good = good && (rc == 0) == hello_len_ok(n, full + 40);
		if (rc == 0 && n != 84 && n != 103)
			moons_ok = moons_ok && (zt_hello_decode_moons(&d, buf) == 0) ==
					       (n == 119 || n >= full);
	}
	ok(good, "HELLO: truncation at every length is refused except after optional fields");
	ok(moons_ok, "HELLO: a moon count running past the end is refused");
	memcpy(buf2, buf, full);
	buf2[13 + 5] = 1;
	is_int(zt_hello_decode(&d, buf2, full), -EINVAL, "HELLO: identity type 1 is malformed");
	memcpy(buf2, buf, full);
	buf2[13 + 70] = 32;
	is_int(zt_hello_decode(&d, buf2, full), -EINVAL, "HELLO: private key length 32 is malformed");
	memcpy(buf2, buf, full);
	buf2[84] = 0x05;
	is_int(zt_hello_decode(&d, buf2, full), -EINVAL, "HELLO: InetAddress type 5 is malformed");
	/* a relayed HELLO: no destination, type 0; a secret-form identity */
	h.id_len = make_id(id, 0x89e92ceee5ULL, true);
	memset(&h.dest, 0, sizeof h.dest);
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_hello_encode(&w, &h, NULL, 0) == 0 && zt_hello_decode(&d, buf, w.len) == 0 &&
	   d.id_len == 135 && d.has_dest && d.dest.sa.sa_family == AF_UNSPEC &&
	   zt_hello_decode_moons(&d, buf) == 0 && d.n_moons == 0 && d.tail_len == 2,
	   "HELLO via a relay, no moons, secret-form identity");
	good = true;
	for (n = 0; n < w.len; n++) {
		struct zt_wr s;

		zt_wr_init(&s, buf2, n);
		good = good && zt_hello_encode(&s, &h, NULL, 0) == -EMSGSIZE;
	}
	ok(good, "HELLO: encoding into too little room fails");
	h.id_len = 70;
	zt_wr_init(&w, buf, sizeof buf);
	is_int(zt_hello_encode(&w, &h, NULL, 0), -EINVAL, "HELLO: a bad identity is not encoded");
}

static void error(void)
{
	static const uint8_t dict[] = "a=1\nb=2\n";
	struct zt_error cases[] = {
		{ .in_re_verb = ZT_VERB_HELLO, .code = ZT_ERR_INVALID_REQUEST },
		{ .in_re_verb = ZT_VERB_HELLO, .code = ZT_ERR_BAD_PROTOCOL_VERSION },
		{ .in_re_verb = ZT_VERB_WHOIS, .code = ZT_ERR_OBJ_NOT_FOUND },
		{ .in_re_verb = ZT_VERB_NETWORK_CONFIG_REQUEST, .code = ZT_ERR_OBJ_NOT_FOUND,
		  .has_nwid = true, .nwid = 0x8056c2e21c000001ULL },
		{ .in_re_verb = ZT_VERB_HELLO, .code = ZT_ERR_IDENTITY_COLLISION },
		{ .in_re_verb = ZT_VERB_NETWORK_CONFIG_REQUEST, .code = ZT_ERR_UNSUPPORTED_OPERATION,
		  .has_nwid = true, .nwid = 0x8056c2e21c000001ULL },
		{ .in_re_verb = ZT_VERB_FRAME, .code = ZT_ERR_NEED_MEMBERSHIP_CERTIFICATE,
		  .has_nwid = true, .nwid = 7 },
		{ .in_re_verb = ZT_VERB_NETWORK_CONFIG_REQUEST, .code = ZT_ERR_NETWORK_ACCESS_DENIED,
		  .has_nwid = true, .nwid = 8 },
		{ .in_re_verb = ZT_VERB_MULTICAST_FRAME, .code = ZT_ERR_UNWANTED_MULTICAST,
		  .has_nwid = true, .nwid = 9, .mac = 0x01005e000001ULL, .adi = 0xc6130020 },
		{ .in_re_verb = ZT_VERB_NETWORK_CONFIG_REQUEST,
		  .code = ZT_ERR_NETWORK_AUTHENTICATION_REQUIRED, .has_nwid = true, .nwid = 10 },
		{ .in_re_verb = ZT_VERB_NETWORK_CONFIG_REQUEST,
		  .code = ZT_ERR_NETWORK_AUTHENTICATION_REQUIRED, .has_nwid = true, .nwid = 10,
		  .dict = dict, .dict_len = sizeof dict - 1 },
		{ .in_re_verb = ZT_VERB_ECHO, .code = 0x42 },
	};
	static const size_t sizes[] = { 10, 10, 10, 18, 10, 18, 18, 18, 28, 18, 28, 10 };
	struct zt_error d;
	struct zt_wr w;
	size_t i, n;
	char name[96];

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct zt_error *e = &cases[i];
		bool good;

		cases[i].in_re_id = 0x1122334455667700ULL + i;
		zt_wr_init(&w, buf, sizeof buf);
		good = zt_error_encode(&w, e) == 0 && w.len == sizes[i] &&
		       zt_error_decode(&d, buf, w.len) == 0 && d.in_re_verb == e->in_re_verb &&
		       d.in_re_id == e->in_re_id && d.code == e->code && d.has_nwid == e->has_nwid &&
		       d.nwid == e->nwid && d.mac == e->mac && d.adi == e->adi &&
		       d.dict_len == e->dict_len && (!e->dict || !memcmp(d.dict, dict, d.dict_len)) &&
		       d.rest_len == w.len - 10;
		for (n = 0; n < w.len; n++) {
			int rc = zt_error_decode(&d, buf, n);

			/* a dictionary is optional: the form without one stands */
			good = good && (rc == 0 ? e->dict && n == 18 : rc == -EMSGSIZE);
		}
		snprintf(name, sizeof name, "ERROR code %#x: round trip, every truncation refused",
			 e->code);
		ok(good, name);
	}
}

static void ok_verbs(void)
{
	static const uint8_t worlds[5] = { 1, 2, 3, 4, 5 };
	struct zt_ok_hello oh = { .timestamp = 1795417631175ULL, .proto = 12, .major = 1,
				  .minor = 14, .revision = 1, .has_addr = true, .has_worlds = true,
				  .worlds = worlds, .worlds_len = 5 }, d;
	struct zt_ok_whois ow;
	struct zt_ok ok_;
	struct zt_wr w;
	const uint8_t *id;
	size_t n, idlen, data_len;
	bool good = true;

	zt_inetaddr_from_text(&oh.addr, "198.18.0.12/9993");
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_ok_encode(&w, ZT_VERB_HELLO, 0xeef1c6ae7d07c487ULL) == 0 &&
	   zt_ok_hello_encode(&w, &oh) == 0 && w.len == 9 + 13 + 7 + 2 + 5, "OK(HELLO) encodes");
	ok(zt_ok_decode(&ok_, buf, w.len) == 0 && ok_.in_re_verb == ZT_VERB_HELLO &&
	   ok_.in_re_id == 0xeef1c6ae7d07c487ULL && ok_.len == w.len - 9, "OK: in-re verb and ID");
	ok(zt_ok_hello_decode(&d, ok_.data, ok_.len) == 0 && d.timestamp == oh.timestamp &&
	   d.proto == 12 && d.major == 1 && d.minor == 14 && d.revision == 1 && d.has_addr &&
	   zt_inetaddr_equal(&d.addr, &oh.addr, true) && d.has_worlds && d.worlds_len == 5 &&
	   !memcmp(d.worlds, worlds, 5), "OK(HELLO) decodes");
	data_len = ok_.len;
	for (n = 0; n < data_len; n++) {
		int rc = zt_ok_hello_decode(&d, ok_.data, n);

		good = good && (rc == 0) == (n == 13 || n == 20 || n == 22 + 5);
	}
	ok(good, "OK(HELLO): every truncation refused but where optional fields end");
	good = true;
	for (n = 0; n < 9; n++)
		good = good && zt_ok_decode(&ok_, buf, n) == -EMSGSIZE;
	ok(good, "OK: shorter than in-re verb and ID is refused");

	zt_wr_init(&w, buf, sizeof buf);
	zt_ok_encode(&w, ZT_VERB_WHOIS, 42);
	n = make_id(buf + w.len, 0x1111111111ULL, false);
	n += make_id(buf + w.len + n, 0x2222222222ULL, true);
	n += make_id(buf + w.len + n, 0x3333333333ULL, false);
	ok(zt_ok_decode(&ok_, buf, w.len + n) == 0 &&
	   zt_ok_whois_decode(&ow, ok_.data, ok_.len) == 0 && ow.count == 3,
	   "OK(WHOIS): three identities");
	id = zt_ok_whois_id(&ow, 1, &idlen);
	ok(id && idlen == 135 && id[4] == 0x22 && zt_ok_whois_id(&ow, 2, &idlen) &&
	   idlen == 71 && zt_ok_whois_id(&ow, 3, &idlen) == NULL, "OK(WHOIS): each one found");
	good = true;
	for (n = 0; n < ok_.len; n++) {
		int rc = zt_ok_whois_decode(&ow, ok_.data, n);

		good = good && (rc == 0) == (n == 71 || n == 206);
	}
	ok(good, "OK(WHOIS): a partial identity is refused");
	buf[9 + 5] = 1;
	is_int(zt_ok_whois_decode(&ow, ok_.data, ok_.len), -EINVAL, "OK(WHOIS): bad identity type");

	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_ok_encode(&w, ZT_VERB_ECHO, 7) == 0 && zt_echo_encode(&w, "ping", 4) == 0 &&
	   zt_ok_decode(&ok_, buf, w.len) == 0 && ok_.len == 4 && !memcmp(ok_.data, "ping", 4),
	   "OK(ECHO) carries the ECHO payload");
}

static void whois_rendezvous(void)
{
	uint64_t addrs[3] = { 0x48b374b5daULL, 0x68f2c39c05ULL, 0xee6cfb6f3eULL };
	struct zt_rendezvous rv = { .flags = 0, .with = 0x68f2c39c05ULL }, d;
	struct zt_whois q;
	struct zt_wr w;
	size_t n;
	bool good = true;

	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_whois_encode(&w, addrs, 3) == 0 && w.len == 15, "WHOIS encodes 3 addresses");
	ok(zt_whois_decode(&q, buf, 17) == 0 && q.count == 3 &&
	   zt_whois_addr(&q, 0) == addrs[0] && zt_whois_addr(&q, 2) == addrs[2] &&
	   zt_whois_addr(&q, 3) == 0, "WHOIS decodes; a trailing partial address is ignored");
	for (n = 0; n < 5; n++)
		good = good && zt_whois_decode(&q, buf, n) == -EMSGSIZE;
	ok(good, "WHOIS without a whole address is refused");

	zt_inetaddr_from_text(&rv.addr, "198.18.0.11/9993");
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_rendezvous_encode(&w, &rv) == 0 && w.len == 13 && buf[8] == 4 &&
	   zt_rendezvous_decode(&d, buf, w.len) == 0 && d.with == rv.with &&
	   zt_inetaddr_equal(&d.addr, &rv.addr, true), "RENDEZVOUS IPv4 round trip");
	good = true;
	for (n = 0; n < w.len; n++)
		good = good && zt_rendezvous_decode(&d, buf, n) == -EMSGSIZE;
	ok(good, "RENDEZVOUS IPv4: every truncation refused");
	zt_inetaddr_from_text(&rv.addr, "2001:db8::12/40000");
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_rendezvous_encode(&w, &rv) == 0 && w.len == 25 && buf[8] == 16 &&
	   zt_rendezvous_decode(&d, buf, w.len) == 0 &&
	   zt_inetaddr_equal(&d.addr, &rv.addr, true), "RENDEZVOUS IPv6 round trip");
	good = true;
	for (n = 0; n < w.len; n++)
		good = good && zt_rendezvous_decode(&d, buf, n) < 0;
	ok(good, "RENDEZVOUS IPv6: every truncation refused");
	buf[8] = 6;
	is_int(zt_rendezvous_decode(&d, buf, w.len), -EINVAL, "RENDEZVOUS: IP length 6 is malformed");
	memset(&rv.addr, 0, sizeof rv.addr);
	zt_wr_init(&w, buf, sizeof buf);
	is_int(zt_rendezvous_encode(&w, &rv), -EAFNOSUPPORT, "RENDEZVOUS needs an IP address");
}

/* A hand-made PUSH_DIRECT_PATHS covering every record shape. */
static size_t push_sample(uint8_t *p)
{
	static const uint8_t recs[] = {
		0x00, 6,
		0x00, 0x00, 0x00, 4, 6, 198, 18, 0, 12, 0x27, 0x09,
		0x00, 0x00, 0x03, 0xaa, 0xbb, 0xcc, 4, 6, 198, 18, 0, 11, 0x27, 0x09,
		0x01, 0x00, 0x00, 4, 6, 10, 0, 0, 1, 0x27, 0x09,
		0x02, 0x00, 0x00, 6, 18, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0x9c, 0x40,
		0x00, 0x00, 0x00, 5, 3, 1, 2, 3,
		0x00, 0x00, 0x00, 4, 5, 1, 2, 3, 4, 5,
	};

	memcpy(p, recs, sizeof recs);
	return sizeof recs;
}

static void push_paths(void)
{
	union zt_sockaddr addrs[300];
	struct zt_push_paths pp;
	struct zt_path_rec rec[8];
	char t[ZT_INETADDR_TEXT_MAX];
	struct zt_wr w;
	size_t len = push_sample(buf), off = 0, n;
	unsigned i = 0;
	bool good = true;
	int rc;

	ok(zt_push_paths_decode(&pp, buf, len) == 0 && pp.count == 6 && pp.len == len - 2,
	   "PUSH_DIRECT_PATHS: six records");
	while (i < 8 && zt_push_paths_next(&pp, &off, &rec[i]))
		i++;
	is_int(i, 6, "PUSH_DIRECT_PATHS: walks six records");
	ok(rec[0].flags == 0 && rec[0].type == 4 && zt_inetaddr_to_text(&rec[0].addr, t, sizeof t) > 0 &&
	   !strcmp(t, "198.18.0.12/9993"), "record 0: IPv4");
	ok(zt_inetaddr_to_text(&rec[1].addr, t, sizeof t) > 0 && !strcmp(t, "198.18.0.11/9993"),
	   "record 1: extension data skipped");
	ok(rec[2].flags == ZT_PUSH_FORGET, "record 2: forget flag");
	ok(rec[3].flags == ZT_PUSH_CLUSTER_REDIRECT && zt_inetaddr_to_text(&rec[3].addr, t, sizeof t) > 0 &&
	   !strcmp(t, "2001:db8::1/40000"), "record 3: IPv6, cluster redirect");
	ok(rec[4].type == 5 && rec[4].addr.sa.sa_family == AF_UNSPEC, "record 4: unknown type skipped");
	ok(rec[5].type == 4 && rec[5].addr.sa.sa_family == AF_UNSPEC,
	   "record 5: IPv4 with a wrong length is not an address");
	for (n = 0; n < len; n++)
		good = good && zt_push_paths_decode(&pp, buf, n) == -EMSGSIZE;
	ok(good, "PUSH_DIRECT_PATHS: every truncation refused");
	buf[1] = 0;
	ok(zt_push_paths_decode(&pp, buf, 2) == 0 && pp.count == 0 &&
	   !zt_push_paths_next(&pp, &off, &rec[0]), "PUSH_DIRECT_PATHS: no records");

	for (i = 0; i < 300; i++) {
		char s[64];

		snprintf(s, sizeof s, i % 3 ? "198.18.%u.%u/9993" : "2001:db8::%x:%x/9993", i / 7, i % 7);
		zt_inetaddr_from_text(&addrs[i], s);
	}
	memset(&addrs[5], 0, sizeof addrs[5]);
	zt_wr_init(&w, buf, sizeof buf);
	rc = zt_push_paths_encode(&w, addrs, 300, ZT_PUSH_FILL);
	ok(rc > 10 && rc < 300 && w.len <= ZT_PUSH_FILL && w.len + 23 > ZT_PUSH_FILL,
	   "PUSH_DIRECT_PATHS: filled to about 1200 bytes, the rest left over");
	good = zt_push_paths_decode(&pp, buf, w.len) == 0 && pp.count == (unsigned)rc - 1;
	for (off = 0, i = 0, n = 0; good && zt_push_paths_next(&pp, &off, &rec[0]); n++, i++) {
		if (i == 5)
			i++;
		good = zt_inetaddr_equal(&rec[0].addr, &addrs[i], true);
	}
	ok(good && n == pp.count, "PUSH_DIRECT_PATHS: what was encoded decodes, no address skipped");
	zt_wr_init(&w, buf, 20);
	is_int(zt_push_paths_encode(&w, addrs + 1, 2, 1200), -EMSGSIZE,
	       "PUSH_DIRECT_PATHS: a writer without room fails");
}

static void user_msg(void)
{
	struct zt_user_msg m = { .type = 0x10000, .data = (const uint8_t *)"hello", .len = 5 }, d;
	struct zt_wr w;
	size_t n;
	bool good = true;

	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_user_msg_encode(&w, &m) == 0 && w.len == 13 && zt_user_msg_decode(&d, buf, w.len) == 0 &&
	   d.type == m.type && d.len == 5 && !memcmp(d.data, "hello", 5), "USER_MESSAGE round trip");
	for (n = 0; n < 8; n++)
		good = good && zt_user_msg_decode(&d, buf, n) == -EMSGSIZE;
	ok(good, "USER_MESSAGE: shorter than 8 bytes is refused");
}

/* zt's NAT message (zt-nat(7)): a round trip of each form, and every
 * kind of bad data refused with its own error. */
static void natmsg(void)
{
	static const uint8_t ip[4] = { 198, 18, 0, 21 }, ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 5 };
	struct zt_natmsg m = { .nat = ZT_NATMSG_DEPENDENT, .flags = ZT_NATMSG_SPRAYING, .sockets = 256 }, d;
	struct zt_user_msg um;
	struct zt_wr w;
	uint8_t bad[32];
	size_t n;
	bool good = true;

	zt_inetaddr_set4(&m.external, ip, 40000);
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_natmsg_encode(&w, &m) == 0 && w.len == 8 + 5 + 7, "NAT message: 20 bytes with an IPv4 address");
	ok(zt_user_msg_decode(&um, buf, w.len) == 0 && um.type == 0x7a744e4154000001ULL &&
	   zt_natmsg_decode(&d, um.data, um.len) == 0 && d.nat == ZT_NATMSG_DEPENDENT &&
	   d.flags == ZT_NATMSG_SPRAYING && d.sockets == 256 && zt_inetaddr_equal(&d.external, &m.external, true),
	   "NAT message: a user message of type \"ztNAT\" + 1 that decodes to what was encoded");
	memcpy(bad, um.data, um.len);
	for (n = 0; n < um.len; n++)
		good = good && zt_natmsg_decode(&d, bad, n) == -EMSGSIZE;
	ok(good, "NAT message: every truncation is -EMSGSIZE");
	bad[um.len] = 0;
	is_int(zt_natmsg_decode(&d, bad, um.len + 1), -EMSGSIZE, "NAT message: a trailing byte is refused");
	bad[0] = 2;
	is_int(zt_natmsg_decode(&d, bad, um.len), -EPROTONOSUPPORT, "NAT message: another version is refused");
	bad[0] = 1, bad[1] = 4;
	is_int(zt_natmsg_decode(&d, bad, um.len), -EINVAL, "NAT message: an unknown NAT type is refused");
	bad[1] = 3, bad[2] = 0x80;
	is_int(zt_natmsg_decode(&d, bad, um.len), -EINVAL, "NAT message: unknown flags are refused");
	bad[2] = 0, bad[5] = 9;
	is_int(zt_natmsg_decode(&d, bad, um.len), -EINVAL, "NAT message: an address of unknown type is refused");

	m = (struct zt_natmsg){ .nat = ZT_NATMSG_INDEPENDENT };
	zt_inetaddr_set6(&m.external, ip6, 9993);
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_natmsg_encode(&w, &m) == 0 && zt_natmsg_decode(&d, buf + 8, w.len - 8) == 0 &&
	   d.nat == ZT_NATMSG_INDEPENDENT && !d.flags && zt_inetaddr_equal(&d.external, &m.external, true),
	   "NAT message: an IPv6 address round trip");
	m.external.sa.sa_family = AF_UNSPEC;
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_natmsg_encode(&w, &m) == 0 && w.len == 8 + 5 + 1 && zt_natmsg_decode(&d, buf + 8, w.len - 8) == 0 &&
	   d.external.sa.sa_family == AF_UNSPEC, "NAT message: no address known");
	zt_wr_init(&w, buf, 12);
	is_int(zt_natmsg_encode(&w, &m), -EMSGSIZE, "NAT message: a writer without room fails");
}

/* Oversized and random input: no crash, no read outside the buffer
 * (the sanitizer build checks the latter). */
static void garbage(void)
{
	struct zt_ok_hello oh;
	struct zt_ok_whois ow;
	struct zt_push_paths pp;
	struct zt_rendezvous rv;
	struct zt_user_msg um;
	struct zt_natmsg nm;
	struct zt_hello h;
	struct zt_error e;
	struct zt_whois q;
	struct zt_path_rec rec;
	uint32_t x = 12345;
	size_t i, k, off;

	for (k = 0; k < 20000; k++) {
		size_t len = k < 100 ? sizeof buf : x % 300;

		for (i = 0; i < len; i++) {
			x = x * 1103515245 + 12345;
			buf2[i] = (uint8_t)(x >> 16);
		}
		if (k % 3 == 0 && len > 84) {
			make_id(buf2 + 13, x, x & 1);
			buf2[84] = (uint8_t)(x % 8);
		}
		if (zt_hello_decode(&h, buf2, len) == 0)
			(void)zt_hello_decode_moons(&h, buf2);
		(void)zt_ok_hello_decode(&oh, buf2, len);
		(void)zt_ok_whois_decode(&ow, buf2, len);
		(void)zt_error_decode(&e, buf2, len);
		(void)zt_whois_decode(&q, buf2, len);
		(void)zt_rendezvous_decode(&rv, buf2, len);
		(void)zt_user_msg_decode(&um, buf2, len);
		(void)zt_natmsg_decode(&nm, buf2, len);
		if (zt_push_paths_decode(&pp, buf2, len) == 0)
			for (off = 0; zt_push_paths_next(&pp, &off, &rec);)
				;
	}
	ok(1, "20000 random and oversized inputs through every decoder");
}

int main(void)
{
	plan(9 + 7 + 14 + 12 + 10 + 9 + 13 + 2 + 11 + 1);
	cursor();
	header();
	hello();
	error();
	ok_verbs();
	whois_rendezvous();
	push_paths();
	user_msg();
	natmsg();
	garbage();
	return tap_done();
}
