/* Decode every peer-level verb captured in t/vectors/packets.txt, compare
 * with the decoded JSON there, and re-encode byte for byte. */
#include <errno.h>
#include <zt/fragment.h>
#include <zt/inetaddr.h>
#include <zt/packet.h>
#include <zt/world.h>
#include "tap.h"
#include "packet-vec.h"

static uint8_t pt[ZT_PKT_MAX], enc[ZT_PKT_MAX], dgram[ZT_PKT_MAX + 100];

static void json_ip(struct sb *b, const union zt_sockaddr *sa, bool pair)
{
	char txt[ZT_INETADDR_TEXT_MAX], *slash;

	if (zt_inetaddr_to_text(sa, txt, sizeof txt) < 0) {
		sb_printf(b, "null");
		return;
	}
	slash = strrchr(txt, '/');
	*slash = '\0';
	if (pair)
		sb_printf(b, "[\"%s\", %s]", txt, slash + 1);
	else
		sb_printf(b, "\"%s\"", txt);
}

static void json_identity(struct sb *b, const uint8_t *id)
{
	sb_printf(b, "\"");
	sb_hex(b, id, 5);
	sb_printf(b, ":0:");
	sb_hex(b, id + 6, 64);
	sb_printf(b, "\"");
}

/* The value of "key": "..." in a JSON line (a string value). */
static const char *json_str(const char *json, const char *key, char *out, size_t cap)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof pat, "\"%s\": \"", key);
	if (!(p = strstr(json, pat)))
		return NULL;
	p += strlen(pat);
	if (!(e = strchr(p, '"')) || (size_t)(e - p) >= cap)
		return NULL;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return out;
}

static int hello_json(struct sb *b, uint8_t *pl, size_t len, const char *want)
{
	struct zt_moon_ref moons[16];
	struct zt_hello h;
	char tail[256];
	uint8_t dec[128];
	struct zt_wr w;
	long n;
	unsigned i;
	int rc;

	if ((rc = zt_hello_decode(&h, pl, len)) < 0)
		return rc;
	sb_printf(b, "{\"decrypted_tail_hex\": \"%s\", \"encrypted_tail_hex\": \"",
		  json_str(want, "decrypted_tail_hex", tail, sizeof tail) ? tail : "?");
	sb_hex(b, pl + h.tail_off, h.tail_len);
	/* the tail is decrypted by the crypto layer; take its result */
	n = vec_unhex(tail, dec, sizeof dec);
	if (n != (long)h.tail_len)
		return -EINVAL;
	memcpy(pl + h.tail_off, dec, (size_t)n);
	if ((rc = zt_hello_decode_moons(&h, pl)) < 0 || h.n_moons > 16)
		return rc < 0 ? rc : -E2BIG;
	sb_printf(b, "\", \"identity\": ");
	json_identity(b, h.id);
	sb_printf(b, ", \"major\": %u, \"minor\": %u, \"moons\": [", h.major, h.minor);
	for (i = 0; i < h.n_moons; i++) {
		zt_hello_moon(&h, i, &moons[i]);
		sb_printf(b, "%s[%u, %llu, %llu]", i ? ", " : "", moons[i].type,
			  (unsigned long long)moons[i].id, (unsigned long long)moons[i].ts);
	}
	sb_printf(b, "], \"phys_dest\": ");
	json_ip(b, &h.dest, true);
	sb_printf(b, ", \"planet_id\": %llu, \"planet_ts\": %llu, \"proto\": %u, "
		  "\"revision\": %u, \"timestamp\": %llu}",
		  (unsigned long long)h.planet_id, (unsigned long long)h.planet_ts, h.proto,
		  h.revision, (unsigned long long)h.timestamp);
	zt_wr_init(&w, enc, sizeof enc);
	if ((rc = zt_hello_encode(&w, &h, moons, h.n_moons)) < 0)
		return rc;
	return (int)w.len;
}

static int ok_hello_json(struct sb *b, const struct zt_ok *ok, struct zt_wr *w)
{
	struct zt_ok_hello o;
	struct zt_world world;
	size_t off = 0;
	int rc, n = 0;

	if ((rc = zt_ok_hello_decode(&o, ok->data, ok->len)) < 0)
		return rc;
	sb_printf(b, "\"major\": %u, \"minor\": %u, \"phys_addr\": ", o.major, o.minor);
	json_ip(b, &o.addr, true);
	sb_printf(b, ", \"proto\": %u, \"revision\": %u, \"ts_echo\": %llu, "
		  "\"world_update_len\": %zu, \"worlds\": [", o.proto, o.revision,
		  (unsigned long long)o.timestamp, o.worlds_len);
	while (off < o.worlds_len) {
		if ((rc = zt_world_from_bin(&world, o.worlds + off, o.worlds_len - off)) < 0)
			return rc;
		off += (size_t)rc;
		sb_printf(b, "%s{\"id\": %llu, \"ts\": %llu, \"type\": %u}", n++ ? ", " : "",
			  (unsigned long long)world.id, (unsigned long long)world.ts, world.type);
	}
	sb_printf(b, "]}");
	return zt_ok_hello_encode(w, &o);
}

static int ok_json(struct sb *b, const uint8_t *pl, size_t len)
{
	struct zt_ok_whois ow;
	struct zt_ok ok;
	struct zt_wr w;
	const uint8_t *id;
	size_t idlen;
	unsigned i;
	int rc;

	if ((rc = zt_ok_decode(&ok, pl, len)) < 0)
		return rc;
	zt_wr_init(&w, enc, sizeof enc);
	zt_ok_encode(&w, ok.in_re_verb, ok.in_re_id);
	if (ok.in_re_verb == ZT_VERB_WHOIS) {
		if ((rc = zt_ok_whois_decode(&ow, ok.data, ok.len)) < 0)
			return rc;
		sb_printf(b, "{\"identities\": [");
		for (i = 0; i < ow.count; i++) {
			id = zt_ok_whois_id(&ow, i, &idlen);
			sb_printf(b, "%s", i ? ", " : "");
			json_identity(b, id);
			zt_wr_bytes(&w, id, idlen);
		}
		sb_printf(b, "], ");
	} else {
		sb_printf(b, "{");
	}
	sb_printf(b, "\"in_re_packet_id\": \"%016llx\", \"in_re_verb\": \"%s\"",
		  (unsigned long long)ok.in_re_id, zt_verb_name(ok.in_re_verb));
	if (ok.in_re_verb == ZT_VERB_HELLO) {
		sb_printf(b, ", ");
		if ((rc = ok_hello_json(b, &ok, &w)) < 0)
			return rc;
	} else if (ok.in_re_verb != ZT_VERB_WHOIS) {
		sb_printf(b, ", \"payload\": \"");
		sb_hex(b, ok.data, ok.len);
		sb_printf(b, "\"}");
		zt_echo_encode(&w, ok.data, ok.len);
	} else {
		sb_printf(b, "}");
	}
	return w.err ? -EMSGSIZE : (int)w.len;
}

static int whois_json(struct sb *b, const uint8_t *pl, size_t len)
{
	uint64_t addrs[64];
	struct zt_whois q;
	struct zt_wr w;
	unsigned i;
	int rc;

	if ((rc = zt_whois_decode(&q, pl, len)) < 0 || q.count > 64)
		return rc < 0 ? rc : -E2BIG;
	sb_printf(b, "{\"addresses\": [");
	for (i = 0; i < q.count; i++) {
		addrs[i] = zt_whois_addr(&q, i);
		sb_printf(b, "%s\"%010llx\"", i ? ", " : "", (unsigned long long)addrs[i]);
	}
	sb_printf(b, "]}");
	zt_wr_init(&w, enc, sizeof enc);
	zt_whois_encode(&w, addrs, q.count);
	return w.err ? -EMSGSIZE : (int)w.len;
}

static int rendezvous_json(struct sb *b, const uint8_t *pl, size_t len)
{
	struct zt_rendezvous rv;
	struct zt_wr w;
	int rc;

	if ((rc = zt_rendezvous_decode(&rv, pl, len)) < 0)
		return rc;
	sb_printf(b, "{\"flags\": %u, \"ip\": ", rv.flags);
	json_ip(b, &rv.addr, false);
	sb_printf(b, ", \"port\": %u, \"with\": \"%010llx\"}", zt_inetaddr_port(&rv.addr),
		  (unsigned long long)rv.with);
	zt_wr_init(&w, enc, sizeof enc);
	if ((rc = zt_rendezvous_encode(&w, &rv)) < 0)
		return rc;
	return (int)w.len;
}

static int push_json(struct sb *b, const uint8_t *pl, size_t len)
{
	union zt_sockaddr addrs[64];
	struct zt_push_paths pp;
	struct zt_path_rec rec;
	struct zt_wr w;
	size_t off = 0;
	unsigned n = 0;
	int rc;

	if ((rc = zt_push_paths_decode(&pp, pl, len)) < 0)
		return rc;
	sb_printf(b, "{\"paths\": [");
	while (n < 64 && zt_push_paths_next(&pp, &off, &rec)) {
		sb_printf(b, "%s[%u, ", n ? ", " : "", rec.flags);
		json_ip(b, &rec.addr, false);
		sb_printf(b, ", %u]", zt_inetaddr_port(&rec.addr));
		addrs[n++] = rec.addr;
	}
	sb_printf(b, "]}");
	if (n != pp.count)
		return -EINVAL;
	zt_wr_init(&w, enc, sizeof enc);
	if ((rc = zt_push_paths_encode(&w, addrs, n, ZT_PAYLOAD_MAX)) != (int)n)
		return rc < 0 ? rc : -EMSGSIZE;
	return (int)w.len;
}

/* JSON of the payload into b; re-encoding into enc, returning its length. */
static int verb_json(struct sb *b, unsigned verb, uint8_t *pl, size_t len, const char *want)
{
	switch (verb) {
	case ZT_VERB_HELLO:
		return hello_json(b, pl, len, want);
	case ZT_VERB_OK:
		return ok_json(b, pl, len);
	case ZT_VERB_WHOIS:
		return whois_json(b, pl, len);
	case ZT_VERB_RENDEZVOUS:
		return rendezvous_json(b, pl, len);
	case ZT_VERB_PUSH_DIRECT_PATHS:
		return push_json(b, pl, len);
	case ZT_VERB_ECHO:
		sb_printf(b, "{\"payload\": \"");
		sb_hex(b, pl, len);
		sb_printf(b, "\"}");
		memcpy(enc, pl, len);
		return (int)len;
	default:
		return -ENOTSUP;
	}
}

static bool peer_verb(const struct vec_rec *r)
{
	const char *v = vec_get(r, "verb");
	static const char *const verbs[] = { "HELLO", "OK", "WHOIS", "RENDEZVOUS", "ECHO",
		"PUSH_DIRECT_PATHS", "ERROR", "NOP", "USER_MESSAGE" };
	size_t i;

	for (i = 0; v && i < sizeof verbs / sizeof verbs[0]; i++)
		if (!strcmp(v, verbs[i]))
			return true;
	return false;
}

/* Header fields against the "flags:", "sender:" and "recipient:" lines. */
static void check_header(const struct vec_rec *r, const char *name)
{
	unsigned flags, suite, hops;
	unsigned long long src, dst;
	uint8_t back[ZT_PKT_MIN];
	struct zt_hdr h;
	struct zt_wr w;
	const char *hex = vec_get(r, "udp_payload_hex"), *fl = vec_get(r, "flags");
	const char *s = vec_get(r, "sender"), *d = vec_get(r, "recipient");
	long n = hex ? vec_unhex(hex, dgram, sizeof dgram) : -1;
	bool good = fl && s && d && n >= ZT_PKT_MIN && zt_hdr_read(&h, dgram, (size_t)n) == 0;

	good = good && sscanf(fl, "%x cipher_suite: %u hops: %u",
			      &flags, &suite, &hops) == 3;
	good = good && sscanf(s, "%llx", &src) == 1 && sscanf(d, "%llx", &dst) == 1;
	good = good && h.flags == flags && zt_flags_cipher(h.flags) == suite &&
	       zt_flags_hops(h.flags) == hops && h.src == src && h.dest == dst;
	zt_wr_init(&w, back, sizeof back);
	good = good && zt_hdr_write(&w, &h) == 0 && memcmp(back, dgram, ZT_PKT_MIN) == 0;
	ok(good, name);
}

static void check_packet(const struct vec_rec *r, const char *idx, struct sb *b)
{
	const char *want = vec_get(r, "decoded"), *verb = vec_get(r, "verb");
	char name[128];
	const char *hex = vec_get(r, "plaintext_from_verb_hex");
	long n = hex ? vec_unhex(hex, pt, sizeof pt) : -1;
	int rc;

	if (!want || !verb)
		bail("packet %s: no decoded or verb line", idx);
	snprintf(name, sizeof name, "packet %s %s: header", idx, verb);
	check_header(r, name);
	sb_reset(b);
	rc = n >= 1 ? verb_json(b, pt[0] & ZT_VERB_MASK, pt + 1, (size_t)n - 1, want) : -EINVAL;
	snprintf(name, sizeof name, "packet %s %s: decoded fields", idx, verb);
	if (rc < 0)
		diag("decode failed: %d", rc);
	is_str(rc >= 0 ? b->s : "", want, name);
	/* pt now holds the decrypted HELLO tail, as the encoder writes it */
	snprintf(name, sizeof name, "packet %s %s: re-encodes byte for byte", idx, verb);
	ok(rc == n - 1 && memcmp(enc, pt + 1, (size_t)rc) == 0, name);
}

int main(void)
{
	struct vec_file vf = vec_load("packets.txt", "packet");
	struct sb b = { NULL, 0, 0 };
	size_t i, count = 0;

	for (i = 0; i < vf.n; i++)
		count += peer_verb(&vf.rec[i]);
	if (count < 100)
		bail("only %zu peer-level packets in packets.txt", count);
	plan((int)(3 * count));
	for (i = 0; i < vf.n; i++)
		if (peer_verb(&vf.rec[i]))
			check_packet(&vf.rec[i], vec_get(&vf.rec[i], "packet"), &b);
	free(b.s);
	vec_free(&vf);
	return tap_done();
}
