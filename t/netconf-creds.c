/* Credentials (networks.md §5): truncation and malformed input, signature
 * failure modes, a two-entry custody chain, COM agreement, the acceptance
 * rules of §5.6 and NETWORK_CREDENTIALS framing. */
#include <errno.h>
#include <zt/inetaddr.h>
#include <zt/netconf.h>
#include "tap.h"
#include "packet-vec.h"

/* root 48b374b5da controls network NWID; a and b are members */
static struct zt_identity root, a, b;
#define NWID 0x48b374b5da000001ULL
#define TS 1700000000000LL

static const struct zt_identity *lookup(uint64_t addr, void *arg)
{
	(void)arg;
	if (addr == root.address)
		return &root;
	if (addr == a.address)
		return &a;
	if (addr == b.address)
		return &b;
	return NULL;
}

static uint8_t buf[4096], buf2[4096];

/* Every strict prefix of a serialized credential is -EMSGSIZE. */
#define TRUNC(type, rd, len, name) do { \
	size_t k_; unsigned bad_ = 0; type x_; struct zt_rd r_; \
	for (k_ = 0; k_ < (len); k_++) { \
		zt_rd_init(&r_, buf, k_); \
		if (rd(&r_, &x_) != -EMSGSIZE) bad_++; \
	} \
	is_int(bad_, 0, name); \
} while (0)

static void com(void)
{
	struct zt_com c, c2, ca, cb;
	struct zt_wr w;
	struct zt_rd r;

	ok(zt_com_issue(&c, NWID, TS, ZT_CTMD_DEFAULT, &a) == 0 && zt_com_sign(&c, &root) == 0, "COM for a");
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_com_write(&w, &c) == 0 && w.len == ZT_COM_LEN_1_14, "COM written");
	TRUNC(struct zt_com, zt_com_read, w.len, "COM: every truncation is -EMSGSIZE");
	buf[0] = 2;
	zt_rd_init(&r, buf, w.len);
	is_int(zt_com_read(&r, &c2), -EINVAL, "COM version 2 refused");
	buf[0] = 1;
	buf[2] = 9;
	zt_rd_init(&r, buf, w.len);
	is_int(zt_com_read(&r, &c2), -EINVAL, "COM with 9 qualifiers refused");
	buf[2] = 7;
	buf[3 + 24 + 7] = 5;            /* qualifier 1 gets id 5: then 2 decreases */
	zt_rd_init(&r, buf, w.len);
	is_int(zt_com_read(&r, &c2), -EINVAL, "COM with decreasing ids refused");
	buf[3 + 24 + 7] = 1;
	buf[85] ^= 1;                   /* in the value of qualifier 3 */
	zt_rd_init(&r, buf, w.len);
	ok(zt_com_read(&r, &c2) == 0, "tampered COM still parses");
	is_int(zt_com_verify(&c2, &root), -EBADMSG, "tampered COM fails verification");
	is_int(zt_com_verify(&c, NULL), -ENOKEY, "unknown signer: -ENOKEY");
	is_int(zt_com_verify(&c, &a), -ENOKEY, "other identity than the signer: -ENOKEY");
	ok(zt_com_issue(&c2, NWID, TS, ZT_CTMD_DEFAULT, &a) == 0 && zt_com_sign(&c2, &b) == 0, "COM signed by b");
	is_int(zt_com_verify(&c2, &b), -EACCES, "not the controller: -EACCES");
	c2.signer = 0;
	zt_wr_init(&w, buf2, sizeof buf2);
	ok(zt_com_write(&w, &c2) == 0 && w.len == 3 + 7 * 24 + 5, "unsigned COM has no signature bytes");
	zt_rd_init(&r, buf2, w.len);
	ok(zt_com_read(&r, &c2) == 0 && zt_rd_left(&r) == 0 && zt_com_verify(&c2, &root) == -EACCES,
	   "unsigned COM parses and is invalid");
	ok(zt_com_sign(&c2, &a) == 0 && zt_com_issue(&c2, NWID, TS, 1, &a) == 0, "sign needs a private key only");
	{
		struct zt_identity pub = root;

		pub.has_private = false;
		is_int(zt_com_sign(&c2, &pub), -EINVAL, "no private key: -EINVAL");
	}

	/* agreement */
	zt_com_issue(&ca, NWID, TS, 1000, &a);
	zt_com_issue(&cb, NWID, TS + 1000, 1000, &b);
	ok(zt_com_agrees(&ca, &cb, &b) && zt_com_agrees(&cb, &ca, &a), "1000 ms apart, window 1000: agree");
	cb.q[0].value++;
	ok(!zt_com_agrees(&ca, &cb, &b), "1001 ms apart: no");
	cb.q[0].max_delta = 5000;
	ok(zt_com_agrees(&cb, &ca, &a) && !zt_com_agrees(&ca, &cb, &b), "the receiver's window counts: not symmetric");
	zt_com_issue(&cb, NWID + 1, TS, 1000, &b);
	ok(!zt_com_agrees(&ca, &cb, &b), "other network: no");
	zt_com_issue(&cb, NWID, TS, 1000, &b);
	ok(!zt_com_agrees(&ca, &cb, &a), "COM of b presented for a: identity hash mismatch");
	cb.nq = 3;
	ok(!zt_com_agrees(&ca, &cb, &b), "theirs without hash qualifiers while mine has them: no");
	ca.nq = 3;
	ok(zt_com_agrees(&ca, &cb, &a), "neither has hash qualifiers: hash not checked");
	ca.nq = 0;
	ok(!zt_com_agrees(&ca, &cb, &b) && !zt_com_agrees(&cb, &ca, &a), "no qualifiers: never agrees");

	/* §5.6 for COMs and the gate */
	zt_com_issue(&ca, NWID, TS, 1000, &a);
	zt_com_sign(&ca, &root);
	c2 = ca;
	is_int(zt_com_accept(NULL, ZT_REV_NONE, &ca, &root), ZT_CRED_ACCEPTED, "first COM accepted");
	is_int(zt_com_accept(&c2, ZT_REV_NONE, &ca, &root), ZT_CRED_REDUNDANT, "same COM again: redundant");
	is_int(zt_com_accept(NULL, TS, &ca, &root), ZT_CRED_REJECTED, "timestamp <= revocation threshold: rejected");
	is_int(zt_com_accept(NULL, ZT_REV_NONE, &ca, NULL), ZT_CRED_DEFER, "unknown signer: defer");
	zt_com_issue(&cb, NWID, TS - 1, 1000, &a);
	zt_com_sign(&cb, &root);
	is_int(zt_com_accept(&c2, ZT_REV_NONE, &cb, &root), ZT_CRED_REJECTED, "older than the stored one: rejected");
	zt_com_issue(&cb, NWID, TS, 1000, &b);
	zt_com_sign(&cb, &root);
	ok(zt_com_gate(&ca, &cb, ZT_REV_NONE, &b) && !zt_com_gate(&ca, &cb, TS, &b) && !zt_com_gate(&ca, NULL, 0, &b),
	   "gate: agreeing and not revoked");
}

static const uint8_t rules[] = { 0x24, 0x01, 0x06, 0x01, 0x00 };

static void cap(void)
{
	struct zt_cap c, c2, c3;
	struct zt_wr w;
	struct zt_rd r;

	memset(&c, 0, sizeof c);
	c.nwid = NWID;
	c.ts = TS;
	c.id = 7;
	c.nrules = 2;
	c.rules = rules;
	c.rules_len = sizeof rules;
	c.max_chain = 2;
	ok(zt_cap_sign(&c, &root, a.address) == 0 && zt_cap_sign(&c, &a, b.address) == 0, "chain root -> a -> b");
	is_int(zt_cap_sign(&c, &b, root.address), -ENOSPC, "chain full at max_chain");
	is_int(zt_cap_verify(&c, lookup, NULL), 0, "two-entry chain verifies");
	ok(zt_cap_issued_to(&c) == b.address, "issued to the last holder");
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_cap_write(&w, &c) == 0, "capability written");
	TRUNC(struct zt_cap, zt_cap_read, w.len, "capability: every truncation is -EMSGSIZE");
	zt_rd_init(&r, buf, w.len);
	ok(zt_cap_read(&r, &c2) == 0 && c2.nchain == 2 && zt_cap_verify(&c2, lookup, NULL) == 0, "and reads back");
	c2.rules = rules;              /* not the buffer changed below */
	buf[22 + sizeof rules] = 1;    /* max chain 1 with two entries */
	zt_rd_init(&r, buf, w.len);
	is_int(zt_cap_read(&r, &c3), -EINVAL, "more entries than the max chain length refused");
	buf[22 + sizeof rules] = 2;
	buf[21] = 65;                  /* rule count */
	zt_rd_init(&r, buf, w.len);
	is_int(zt_cap_read(&r, &c3), -EINVAL, "65 rules refused");
	buf[21] = 2;
	buf[22 + sizeof rules + 1 + 10 + 2] = 95;   /* first signature length */
	zt_rd_init(&r, buf, w.len);
	is_int(zt_cap_read(&r, &c3), -EINVAL, "signature type 1 with length 95 refused");
	buf[22 + sizeof rules + 1 + 10] = 2;        /* type 2, length 95: skipped */
	zt_rd_init(&r, buf, w.len);
	ok(zt_cap_read(&r, &c3) < 0, "type 2 length 95: skipped by its length, the rest is misaligned");
	buf[22 + sizeof rules + 1 + 10 + 2] = 96;
	zt_rd_init(&r, buf, w.len);
	ok(zt_cap_read(&r, &c3) == 0 && c3.chain[0].sig.type == 2 && zt_cap_verify(&c3, lookup, NULL) == -EACCES,
	   "type 2 length 96 parses and is invalid");
	c3 = c2;
	c3.chain[0].sig.type = 2;
	is_int(zt_cap_verify(&c3, lookup, NULL), -EACCES, "other signature type: invalid");
	c3 = c2;
	c3.chain[1].from = b.address;
	is_int(zt_cap_verify(&c3, lookup, NULL), -EACCES, "broken chain: invalid");
	c3 = c2;
	c3.chain[0].from = a.address;
	is_int(zt_cap_verify(&c3, lookup, NULL), -EACCES, "first entry not from the controller: invalid");
	c3 = c2;
	c3.max_chain = 0;
	is_int(zt_cap_verify(&c3, lookup, NULL), -EACCES, "max chain 0: invalid");
	c3 = c2;
	c3.id = 8;
	is_int(zt_cap_verify(&c3, lookup, NULL), -EBADMSG, "changed id: bad signature");
	is_int(zt_cap_verify(&c2, NULL, NULL), -ENOKEY, "no identities: -ENOKEY");

	/* §5.6 */
	c3 = c2;
	c3.ts = TS + 1;
	is_int(zt_cap_accept(NULL, ZT_REV_NONE, &c2, lookup, NULL), ZT_CRED_ACCEPTED, "capability accepted");
	is_int(zt_cap_accept(&c2, ZT_REV_NONE, &c2, lookup, NULL), ZT_CRED_REDUNDANT, "same again: redundant");
	is_int(zt_cap_accept(&c3, ZT_REV_NONE, &c2, lookup, NULL), ZT_CRED_REJECTED, "stored one newer: rejected");
	is_int(zt_cap_accept(NULL, TS, &c2, lookup, NULL), ZT_CRED_REJECTED, "revoked: rejected");
	is_int(zt_cap_accept(NULL, ZT_REV_NONE, &c3, lookup, NULL), ZT_CRED_REJECTED, "bad signature: rejected");
}

static void tag_coo_rev(void)
{
	struct zt_tag t, t2;
	struct zt_coo o, o2;
	struct zt_revocation v, v2;
	union zt_sockaddr ip, ip6, other;
	uint8_t mac[6] = { 2, 1, 2, 3, 4, 5 };
	int64_t comth, credth;
	struct zt_wr w;
	struct zt_rd r;
	unsigned i;

	memset(&t, 0, sizeof t);
	t.nwid = NWID; t.ts = TS; t.id = 1; t.value = 42; t.issued_to = a.address;
	ok(zt_tag_sign(&t, &root) == 0 && zt_tag_verify(&t, &root) == 0, "tag signed and verified");
	zt_wr_init(&w, buf, sizeof buf);
	zt_tag_write(&w, &t);
	TRUNC(struct zt_tag, zt_tag_read, w.len, "tag: every truncation is -EMSGSIZE");
	t2 = t;
	t2.value = 43;
	is_int(zt_tag_verify(&t2, &root), -EBADMSG, "changed value: bad signature");
	ok(zt_tag_sign(&t2, &a) == 0 && zt_tag_verify(&t2, &a) == -EACCES, "tag signed by a member: invalid");
	is_int(zt_tag_accept(NULL, ZT_REV_NONE, &t, &root), ZT_CRED_ACCEPTED, "tag accepted");
	is_int(zt_tag_accept(&t, ZT_REV_NONE, &t, &root), ZT_CRED_REDUNDANT, "tag redundant");
	is_int(zt_tag_accept(NULL, TS, &t, &root), ZT_CRED_REJECTED, "tag revoked");
	is_int(zt_tag_accept(NULL, ZT_REV_NONE, &t, NULL), ZT_CRED_DEFER, "tag signer unknown: defer");
	ok(zt_cred_usable(TS, TS + 1000, 1000, ZT_REV_NONE) && !zt_cred_usable(TS, TS + 1001, 1000, ZT_REV_NONE) &&
	   !zt_cred_usable(TS, TS, 1000, TS), "usable within ctmd of own ts and not revoked");

	memset(&o, 0, sizeof o);
	o.nwid = NWID; o.ts = TS; o.id = 1; o.issued_to = a.address;
	zt_inetaddr_from_text(&ip, "10.1.2.3/0");
	zt_inetaddr_from_text(&ip6, "fd00::1/0");
	zt_inetaddr_from_text(&other, "10.1.2.4/0");
	ok(zt_coo_add_ip(&o, &ip) == 0 && zt_coo_add_ip(&o, &ip6) == 0 && zt_coo_add_mac(&o, mac) == 0, "COO things");
	ok(zt_coo_owns_ip(&o, &ip) && zt_coo_owns_ip(&o, &ip6) && zt_coo_owns_mac(&o, mac) && !zt_coo_owns_ip(&o, &other),
	   "COO ownership");
	ok(zt_coo_sign(&o, &root) == 0 && zt_coo_verify(&o, &root) == 0, "COO signed and verified");
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_coo_write(&w, &o) == 0 && w.len == 8 + 8 + 8 + 4 + 2 + 3 * 17 + 10 + 99 + 2, "COO length");
	TRUNC(struct zt_coo, zt_coo_read, w.len, "COO: every truncation is -EMSGSIZE");
	zt_rd_init(&r, buf, w.len);
	ok(zt_coo_read(&r, &o2) == 0 && zt_coo_accept(&o, ZT_REV_NONE, &o2, &root) == ZT_CRED_REDUNDANT, "COO reads back");
	buf[29] = 17;
	zt_rd_init(&r, buf, w.len);
	is_int(zt_coo_read(&r, &o2), -EINVAL, "COO with 17 things refused");
	for (i = o.nthings; i < ZT_COO_MAX_THINGS; i++)
		zt_coo_add_mac(&o, mac);
	is_int(zt_coo_add_ip(&o, &ip), -ENOSPC, "at most 16 things");

	memset(&v, 0, sizeof v);
	v.id = 5; v.nwid = NWID; v.threshold = TS; v.target = a.address; v.type = ZT_CRED_TAG; v.cred_id = 1;
	ok(zt_rev_sign(&v, &root) == 0 && zt_rev_verify(&v, &root) == 0, "revocation signed and verified");
	zt_wr_init(&w, buf, sizeof buf);
	zt_rev_write(&w, &v);
	TRUNC(struct zt_revocation, zt_rev_read, w.len, "revocation: every truncation is -EMSGSIZE");
	comth = TS + 50;
	credth = ZT_REV_NONE;
	ok(zt_rev_accept(&v, &root, &comth, &credth) == ZT_CRED_ACCEPTED && credth == TS && comth == TS,
	   "tag revocation raises its threshold and overwrites (even lowers) the COM threshold");
	ok(zt_rev_accept(&v, &root, &comth, &credth) == ZT_CRED_REDUNDANT, "same revocation again: redundant");
	v2 = v;
	v2.type = ZT_CRED_COM;
	v2.threshold = TS + 10;
	zt_rev_sign(&v2, &root);
	ok(zt_rev_accept(&v2, &root, &comth, &credth) == ZT_CRED_ACCEPTED && comth == TS + 10 && credth == TS,
	   "COM revocation raises the COM threshold only");
	v2.type = 5;
	zt_rev_sign(&v2, &root);
	is_int(zt_rev_accept(&v2, &root, &comth, &credth), ZT_CRED_REJECTED, "revocation of type 5 rejected");
	is_int(zt_rev_accept(&v, NULL, &comth, &credth), ZT_CRED_DEFER, "revocation signer unknown: defer");
	v2 = v;
	v2.threshold++;
	is_int(zt_rev_accept(&v2, &root, &comth, &credth), ZT_CRED_REJECTED, "tampered revocation rejected");
}

static void netcreds(void)
{
	struct zt_com c;
	struct zt_revocation v;
	struct zt_netcreds nc;
	struct zt_wr w;
	size_t k, full;
	unsigned bad = 0;

	zt_com_issue(&c, NWID, TS, 1000, &a);
	zt_com_sign(&c, &root);
	memset(&v, 0, sizeof v);
	v.nwid = NWID; v.threshold = TS; v.target = a.address; v.type = ZT_CRED_COM;
	zt_rev_sign(&v, &root);
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_netcreds_encode(&w, NULL, NULL, 0, NULL, 0, &v, 1, NULL, 0) == 0 && w.len == 1 + 2 + 2 + 2 + 152 + 2 &&
	   buf[0] == 0 && buf[6] == 1, "revocation alone: 00 0000 0000 0001 <rev> 0000");
	ok(zt_netcreds_decode(&nc, buf, w.len) == 0 && nc.ncom == 0 && nc.nrev == 1 && nc.ncap == 0, "and decodes");
	zt_wr_init(&w, buf, sizeof buf);
	zt_netcreds_encode(&w, &c, NULL, 0, NULL, 0, &v, 1, NULL, 0);
	full = w.len;
	for (k = 0; k < full; k++) {
		int rc = zt_netcreds_decode(&nc, buf, k);
		/* whole parts may end the packet: after the 00, after each part */
		bool boundary = k == 273 || k == 275 || k == 277 || k == 277 + 2 + 152;

		if (boundary ? rc != 0 : rc != -EMSGSIZE)
			bad++;
	}
	is_int(bad, 0, "every truncation: -EMSGSIZE, or fine exactly between parts");
	ok(zt_netcreds_decode(&nc, buf, 275) == 0 && nc.ncom == 1 && nc.ncap == 0 && nc.nrev == 0,
	   "stops at the end of the packet between parts");
	buf[0] = 2;
	is_int(zt_netcreds_decode(&nc, buf, full), -EINVAL, "a COM must start with 01");
	buf[0] = 0;
	ok(zt_netcreds_decode(&nc, buf, 1) == 0 && nc.ncom == 0 && nc.ncoo == 0, "just 00: nothing");
	is_int(zt_netcreds_decode(&nc, buf, 0), -EMSGSIZE, "empty payload");
}

int main(void)
{
	struct vec_file vf = vec_load("packets.txt", "packet");

	plan(85);
	if (zt_identity_from_text(&root, vec_get(&vf.rec[0], "identity.root.secret")) < 0 ||
	    zt_identity_from_text(&a, vec_get(&vf.rec[0], "identity.a.secret")) < 0 ||
	    zt_identity_from_text(&b, vec_get(&vf.rec[0], "identity.b.secret")) < 0)
		bail("packets.txt: identities");
	vec_free(&vf);
	com();
	cap();
	tag_coo_rev();
	netcreds();
	return tap_done();
}
