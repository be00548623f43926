/* The network-layer packets captured in t/vectors/packets.txt:
 * NETWORK_CONFIG_REQUEST, OK(NETWORK_CONFIG_REQUEST) and NETWORK_CONFIG
 * chunks (verified with the controller, reassembled, parsed,
 * re-serialized), their OK(0x08) acknowledgements, NETWORK_CREDENTIALS
 * (COM and COO verified, COMs of the two members agreeing). */
#include <errno.h>
#include <zt/netconf.h>
#include "tap.h"
#include "packet-vec.h"

static uint8_t pt[ZT_PKT_MAX], enc[ZT_PKT_MAX];
static uint8_t dictbuf[ZT_DICT_CONFIG_CAP];

struct who {
	const char *name;
	struct zt_identity id;
	struct zt_com com;          /* the COM it pushed, once seen */
	bool has_com;
};

static struct who who[3] = { { .name = "root" }, { .name = "a" }, { .name = "b" } };
static const struct zt_identity *ctl;

static struct who *who_addr(uint64_t a)
{
	unsigned i;

	for (i = 0; i < 3; i++)
		if (who[i].id.address == a)
			return &who[i];
	return NULL;
}

static uint64_t rec_addr(const struct vec_rec *r, const char *key)
{
	const char *v = vec_get(r, key);

	return v ? strtoull(v, NULL, 16) : 0;
}

/* update IDs of the pushes seen, for the acknowledgements */
static uint64_t pushed[8];
static unsigned npushed;

static void config_chunk(const struct vec_rec *r, const uint8_t *body, size_t len, bool push)
{
	struct zt_netconf *nc = zt_netconf_new();
	struct zt_config_chunk ch;
	struct zt_config_asm as;
	const uint8_t *dict;
	size_t dlen;
	uint64_t to = rec_addr(r, "recipient");
	struct zt_wr w;
	const char *what = push ? "NETWORK_CONFIG" : "OK(NETWORK_CONFIG_REQUEST)";

	diag("packet %s: %s, %zu-byte chunk body", vec_get(r, "packet"), what, len);
	ok(zt_chunk_decode(&ch, body, len) == 0 && !ch.legacy && ch.nwid == 0x48b374b5da000001ULL &&
	   ch.offset == 0 && ch.total == ch.len, "chunk decodes: the whole config in one chunk");
	is_int(zt_chunk_verify(&ch, ctl), 0, "chunk signed by the controller");
	is_int(zt_chunk_verify(&ch, &who_addr(to)->id), -EACCES, "not by the member");
	zt_config_asm_init(&as);
	ok(zt_config_asm_add(&as, &ch, &dict, &dlen) == 1 && dlen == ch.total, "chunk reassembled");
	is_int(zt_netconf_parse(nc, dict, dlen), 0, "config parses");
	ok(nc->nwid == ch.nwid && nc->issued_to == to && nc->type == ZT_NET_PUBLIC &&
	   !strcmp(nc->name, "vectors") && nc->nips == 1 && nc->nroutes == 1, "config fields");
	ok(nc->has_com && zt_com_verify(&nc->com, ctl) == 0 && zt_com_issued_to(&nc->com) == to &&
	   zt_com_agrees(&nc->com, &nc->com, &who_addr(to)->id), "config COM verifies and is the member's");
	ok(nc->ncoos == 1 && zt_coo_verify(&nc->coos[0], ctl) == 0 && zt_coo_owns_ip(&nc->coos[0], &nc->ips[0]),
	   "config COO verifies and owns the static IP");
	zt_wr_init(&w, dictbuf, sizeof dictbuf - 1);
	ok(zt_netconf_write(nc, &w) == 0 && w.len == dlen && memcmp(dictbuf, dict, dlen) == 0,
	   "config re-serializes byte for byte");
	zt_wr_init(&w, enc, sizeof enc);
	ok(zt_chunk_encode(&w, ch.nwid, dict, dlen, 0, ch.flags, ch.update_id, &who[0].id) == (int)dlen &&
	   w.len == len && memcmp(enc, body, len) == 0, "chunk re-signed byte for byte");
	if (push && npushed < 8)
		pushed[npushed++] = ch.update_id;
	zt_config_asm_fini(&as);
	zt_netconf_free(nc);
}

static void request(const struct vec_rec *r, const uint8_t *pl, size_t len)
{
	struct zt_ncreq q;
	struct zt_ncreq_meta m, def;
	uint8_t meta[ZT_DICT_META_CAP];
	struct zt_wr w;

	diag("packet %s: NETWORK_CONFIG_REQUEST", vec_get(r, "packet"));
	ok(zt_ncreq_decode(&q, pl, len) == 0 && q.nwid == 0x48b374b5da000001ULL && q.has_tail &&
	   q.revision == 0 && q.ts == 0, "request decodes: nwid, no config held");
	ok(zt_ncreq_meta_parse(&m, q.meta, q.meta_len) == 0 && m.v == 7 && m.revr == 1 && m.pv == 12 &&
	   m.majv == 1 && m.minv == 14, "metadata parses");
	zt_ncreq_meta_default(&def, m.os);
	zt_wr_init(&w, meta, sizeof meta - 1);
	ok(zt_ncreq_meta_write(&def, &w) == 0 && w.len == q.meta_len && memcmp(meta, q.meta, w.len) == 0,
	   "metadata is what zt writes for the same platform");
	zt_wr_init(&w, enc, sizeof enc);
	ok(zt_ncreq_encode(&w, &q) == 0 && w.len == len && memcmp(enc, pl, len) == 0, "request re-encodes");
}

static void credentials(const struct vec_rec *r, const uint8_t *pl, size_t len)
{
	uint64_t from = rec_addr(r, "sender");
	struct who *s = who_addr(from);
	struct zt_netcreds nc;
	struct zt_com com;
	struct zt_coo coo;
	struct zt_wr w;
	unsigned i;

	diag("packet %s: NETWORK_CREDENTIALS from %s", vec_get(r, "packet"), s->name);
	ok(zt_netcreds_decode(&nc, pl, len) == 0 && nc.ncom == 1 && nc.ncap == 0 && nc.ntag == 0 &&
	   nc.nrev == 0 && nc.ncoo == 1, "credentials decode: COM and COO");
	ok(zt_netcreds_com(&nc, 0, &com) == 0 && zt_com_verify(&com, ctl) == 0 &&
	   zt_com_issued_to(&com) == from, "pushed COM verifies and is the sender's");
	ok(zt_netcreds_coo(&nc, 0, &coo) == 0 && zt_coo_verify(&coo, ctl) == 0 && coo.issued_to == from,
	   "pushed COO verifies");
	zt_wr_init(&w, enc, sizeof enc);
	ok(zt_netcreds_encode(&w, &com, NULL, 0, NULL, 0, NULL, 0, &coo, 1) == 0 && w.len == len &&
	   memcmp(enc, pl, len) == 0, "credentials re-encode");
	s->com = com;
	s->has_com = true;
	for (i = 0; i < 3; i++)
		if (&who[i] != s && who[i].has_com)
			ok(zt_com_agrees(&who[i].com, &com, &s->id) &&
			   zt_com_gate(&who[i].com, &com, ZT_REV_NONE, &s->id) &&
			   !zt_com_agrees(&who[i].com, &com, &who[i].id),
			   "the other member's COM agrees with it, for the sender's identity only");
}

static void ack(const struct vec_rec *r, const struct zt_ok *okm, const uint8_t *pl, size_t len)
{
	struct zt_rd rd;
	uint64_t nwid, upd;
	struct zt_wr w;
	unsigned i;
	bool known = false;

	diag("packet %s: OK(0x08) acknowledging a push", vec_get(r, "packet"));
	zt_rd_init(&rd, okm->data, okm->len);
	nwid = zt_rd_u64(&rd);
	upd = zt_rd_u64(&rd);
	for (i = 0; i < npushed; i++)
		known |= pushed[i] == upd;
	ok(!rd.err && nwid == 0x48b374b5da000001ULL && known, "ack names the network and a pushed update");
	zt_wr_init(&w, enc, sizeof enc);
	ok(zt_config_ack_encode(&w, okm->in_re_id, nwid, upd) == 0 && w.len == len && memcmp(enc, pl, len) == 0,
	   "ack re-encodes");
}

int main(void)
{
	struct vec_file vf = vec_load("packets.txt", "packet");
	const struct vec_rec *head = &vf.rec[0];
	size_t i;

	plan(70);
	if (zt_identity_from_text(&who[0].id, vec_get(head, "identity.root.public")) < 0 ||
	    zt_identity_from_text(&who[1].id, vec_get(head, "identity.a.public")) < 0 ||
	    zt_identity_from_text(&who[2].id, vec_get(head, "identity.b.secret")) < 0)
		bail("packets.txt: identities");
	/* the controller's secret, to re-sign chunks */
	if (zt_identity_from_text(&who[0].id, vec_get(head, "identity.root.secret")) < 0)
		bail("packets.txt: root secret");
	ctl = &who[0].id;
	for (i = 1; i < vf.n; i++) {
		const struct vec_rec *r = &vf.rec[i];
		const char *verb = vec_get(r, "verb"), *hex = vec_get(r, "plaintext_from_verb_hex");
		long n;

		if (!verb || !hex || strcmp(vec_get(r, "kind") ? vec_get(r, "kind") : "", "packet"))
			continue;
		if (strcmp(verb, "NETWORK_CONFIG_REQUEST") && strcmp(verb, "NETWORK_CONFIG") &&
		    strcmp(verb, "NETWORK_CREDENTIALS") && strcmp(verb, "OK"))
			continue;
		if ((n = vec_unhex(hex, pt, sizeof pt)) < 1)
			bail("packet %s: bad hex", vec_get(r, "packet"));
		if (!strcmp(verb, "NETWORK_CONFIG_REQUEST")) {
			request(r, pt + 1, (size_t)n - 1);
		} else if (!strcmp(verb, "NETWORK_CONFIG")) {
			config_chunk(r, pt + 1, (size_t)n - 1, true);
		} else if (!strcmp(verb, "NETWORK_CREDENTIALS")) {
			credentials(r, pt + 1, (size_t)n - 1);
		} else {
			struct zt_ok okm;

			if (zt_ok_decode(&okm, pt + 1, (size_t)n - 1) < 0)
				continue;
			if (okm.in_re_verb == ZT_VERB_NETWORK_CONFIG_REQUEST)
				config_chunk(r, okm.data, okm.len, false);
			else if (okm.in_re_verb == ZT_VERB_ECHO && okm.len == 16)
				ack(r, &okm, pt + 1, (size_t)n - 1);
		}
	}
	vec_free(&vf);
	return tap_done();
}
