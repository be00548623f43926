/* Network credentials (networks.md §5). */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <zt/credential.h>

#define SIGIN_PAD 8              /* 7f bytes before and after a signing input */
#define CAP_SIGNING_MAX (2 * SIGIN_PAD + 8 + 8 + 4 + 2 + ZT_CAP_MAX_RULES * 257 + 1 + 2)

/* Finish a read: -EMSGSIZE if the cursor ran out, else rc. */
static int rd_done(const struct zt_rd *r, int rc)
{
	return r->err ? -EMSGSIZE : rc;
}

static int wr_done(const struct zt_wr *w)
{
	return w->err ? -ENOSPC : 0;
}

int zt_rules_skip(struct zt_rd *r, unsigned n)
{
	while (n--) {
		zt_rd_skip(r, 1);
		zt_rd_skip(r, zt_rd_u8(r));
	}
	return rd_done(r, 0);
}

static int sigfield_read(struct zt_rd *r, struct zt_sigfield *s)
{
	s->type = zt_rd_u8(r);
	s->len = zt_rd_u16(r);
	if (r->err)
		return -EMSGSIZE;
	if (s->type == 1 && s->len != ZT_SIG_LEN)
		return -EINVAL;
	memset(s->sig, 0, sizeof s->sig);
	zt_rd_copy(r, s->sig, s->len < ZT_SIG_LEN ? s->len : ZT_SIG_LEN);
	if (s->len > ZT_SIG_LEN)
		zt_rd_skip(r, s->len - ZT_SIG_LEN);
	return rd_done(r, 0);
}

static void sigfield_write(struct zt_wr *w, const struct zt_sigfield *s)
{
	zt_wr_u8(w, s->type);
	zt_wr_u16(w, s->len);
	zt_wr_bytes(w, s->sig, s->len < ZT_SIG_LEN ? s->len : ZT_SIG_LEN);
	if (s->len > ZT_SIG_LEN) {
		uint8_t *q = zt_wr_ptr(w, s->len - ZT_SIG_LEN);

		if (q)
			memset(q, 0, s->len - ZT_SIG_LEN);
	}
}

static bool sigfield_equal(const struct zt_sigfield *a, const struct zt_sigfield *b)
{
	return a->type == b->type && a->len == b->len && memcmp(a->sig, b->sig, sizeof a->sig) == 0;
}

/* The "additional fields" at the end of every credential but the COM. */
static void ext_read(struct zt_rd *r)
{
	zt_rd_skip(r, zt_rd_u16(r));
}

static void sigin_pad(struct zt_wr *w)
{
	uint8_t *q = zt_wr_ptr(w, SIGIN_PAD);

	if (q)
		memset(q, 0x7f, SIGIN_PAD);
}

static int sign_into(struct zt_sigfield *s, const struct zt_identity *id, const uint8_t *msg, size_t len)
{
	if (!id || !id->has_private)
		return -EINVAL;
	if (zt_sign(id, msg, len, s->sig) < 0)
		return -EINVAL;
	s->type = 1;
	s->len = ZT_SIG_LEN;
	return 0;
}

/* Common part of verification: signer must be the controller and the
 * identity at hand. */
static int check_signer(uint64_t nwid, uint64_t signer, const struct zt_identity *id)
{
	if (!signer || signer != zt_nwid_controller(nwid))
		return -EACCES;
	if (!id || id->address != signer)
		return -ENOKEY;
	return 0;
}

static int verify_sigfield(const struct zt_sigfield *s, const struct zt_identity *id,
			   const uint8_t *msg, size_t len)
{
	if (s->type != 1 || s->len != ZT_SIG_LEN)
		return -EACCES;
	return zt_sig_verify(id->pub, msg, len, s->sig, ZT_SIG_LEN) ? 0 : -EBADMSG;
}

/* ---- COM ---- */

int zt_com_read(struct zt_rd *r, struct zt_com *c)
{
	struct zt_com t;
	unsigned i;

	if (zt_rd_u8(r) != 1)
		return rd_done(r, -EINVAL);
	t.nq = zt_rd_u16(r);
	if (r->err)
		return -EMSGSIZE;
	if (t.nq > ZT_COM_MAX_QUALIFIERS)
		return -EINVAL;
	for (i = 0; i < t.nq; i++) {
		t.q[i].id = zt_rd_u64(r);
		t.q[i].value = zt_rd_u64(r);
		t.q[i].max_delta = zt_rd_u64(r);
	}
	t.signer = zt_rd_u40(r);
	memset(t.sig, 0, sizeof t.sig);
	if (t.signer)
		zt_rd_copy(r, t.sig, ZT_SIG_LEN);
	if (r->err)
		return -EMSGSIZE;
	for (i = 1; i < t.nq; i++)
		if (t.q[i].id < t.q[i - 1].id)
			return -EINVAL;
	memset(&t.q[t.nq], 0, (ZT_COM_MAX_QUALIFIERS - t.nq) * sizeof t.q[0]);
	*c = t;
	return 0;
}

int zt_com_write(struct zt_wr *w, const struct zt_com *c)
{
	unsigned i;

	if (c->nq > ZT_COM_MAX_QUALIFIERS)
		return -EINVAL;
	zt_wr_u8(w, 1);
	zt_wr_u16(w, (uint16_t)c->nq);
	for (i = 0; i < c->nq; i++) {
		zt_wr_u64(w, c->q[i].id);
		zt_wr_u64(w, c->q[i].value);
		zt_wr_u64(w, c->q[i].max_delta);
	}
	zt_wr_u40(w, c->signer);
	if (c->signer)
		zt_wr_bytes(w, c->sig, ZT_SIG_LEN);
	return wr_done(w);
}

uint64_t zt_com_qual(const struct zt_com *c, uint64_t id)
{
	unsigned i;

	for (i = 0; i < c->nq && i < ZT_COM_MAX_QUALIFIERS; i++)
		if (c->q[i].id == id)
			return c->q[i].value;
	return 0;
}

int zt_identity_sha384(const struct zt_identity *id, uint8_t out[48])
{
	uint8_t in[ZT_ADDR_LEN + ZT_PUB_LEN];
	unsigned len = 0;

	zt_address_write(id->address, in);
	memcpy(in + ZT_ADDR_LEN, id->pub, ZT_PUB_LEN);
	if (!EVP_Digest(in, sizeof in, out, &len, EVP_sha384(), NULL) || len != 48)
		return -EIO;
	return 0;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int zt_com_issue(struct zt_com *c, uint64_t nwid, int64_t ts, int64_t ctmd,
		 const struct zt_identity *member)
{
	uint8_t h[48];
	unsigned i;
	int rc;

	if ((rc = zt_identity_sha384(member, h)) < 0)
		return rc;
	memset(c, 0, sizeof *c);
	c->nq = 7;
	c->q[0] = (struct zt_com_qual){ ZT_COM_Q_TIMESTAMP, (uint64_t)ts, (uint64_t)ctmd };
	c->q[1] = (struct zt_com_qual){ ZT_COM_Q_NWID, nwid, 0 };
	c->q[2] = (struct zt_com_qual){ ZT_COM_Q_ISSUED_TO, member->address, UINT64_MAX };
	for (i = 0; i < 4; i++)
		c->q[3 + i] = (struct zt_com_qual){ ZT_COM_Q_IDHASH0 + i, be64(h + 8 * i), UINT64_MAX };
	return 0;
}

size_t zt_com_signed_msg(const struct zt_com *c, uint8_t *out, size_t cap)
{
	struct zt_wr w;
	unsigned i;

	zt_wr_init(&w, out, cap);
	for (i = 0; i < c->nq && i < ZT_COM_MAX_QUALIFIERS; i++) {
		zt_wr_u64(&w, c->q[i].id);
		zt_wr_u64(&w, c->q[i].value);
		zt_wr_u64(&w, c->q[i].max_delta);
	}
	return w.err ? 0 : w.len;
}

int zt_com_sign(struct zt_com *c, const struct zt_identity *id)
{
	uint8_t msg[24 * ZT_COM_MAX_QUALIFIERS];
	size_t n;

	if (!id || !id->has_private || c->nq > ZT_COM_MAX_QUALIFIERS)
		return -EINVAL;
	n = zt_com_signed_msg(c, msg, sizeof msg);
	if (zt_sign(id, msg, n, c->sig) < 0)
		return -EINVAL;
	c->signer = id->address;
	return 0;
}

int zt_com_verify(const struct zt_com *c, const struct zt_identity *signer)
{
	uint8_t msg[24 * ZT_COM_MAX_QUALIFIERS];
	size_t n;
	int rc;

	if (c->nq > ZT_COM_MAX_QUALIFIERS)
		return -EACCES;
	if ((rc = check_signer(zt_com_nwid(c), c->signer, signer)) < 0)
		return rc;
	n = zt_com_signed_msg(c, msg, sizeof msg);
	return zt_sig_verify(signer->pub, msg, n, c->sig, ZT_SIG_LEN) ? 0 : -EBADMSG;
}

static const struct zt_com_qual *find_qual(const struct zt_com *c, uint64_t id)
{
	unsigned i;

	for (i = 0; i < c->nq && i < ZT_COM_MAX_QUALIFIERS; i++)
		if (c->q[i].id == id)
			return &c->q[i];
	return NULL;
}

bool zt_com_agrees(const struct zt_com *mine, const struct zt_com *theirs,
		   const struct zt_identity *their_id)
{
	bool idhash = false;
	unsigned i;

	if (!mine->nq || !theirs->nq)
		return false;
	for (i = 0; i < mine->nq && i < ZT_COM_MAX_QUALIFIERS; i++) {
		const struct zt_com_qual *a = &mine->q[i], *b = find_qual(theirs, a->id);
		uint64_t d;

		if (!b)
			return false;
		d = a->value > b->value ? a->value - b->value : b->value - a->value;
		if (d > a->max_delta)
			return false;
		if (a->id >= ZT_COM_Q_IDHASH0 && a->id < ZT_COM_Q_IDHASH0 + 4)
			idhash = true;
	}
	if (idhash) {
		uint8_t h[48];

		if (!their_id || zt_identity_sha384(their_id, h) < 0)
			return false;
		for (i = 0; i < 4; i++) {
			const struct zt_com_qual *b = find_qual(theirs, ZT_COM_Q_IDHASH0 + i);

			if (!b || b->value != be64(h + 8 * i))
				return false;
		}
	}
	return true;
}

bool zt_com_equal(const struct zt_com *a, const struct zt_com *b)
{
	uint8_t x[ZT_COM_MAX_LEN], y[ZT_COM_MAX_LEN];
	struct zt_wr wa, wb;

	zt_wr_init(&wa, x, sizeof x);
	zt_wr_init(&wb, y, sizeof y);
	if (zt_com_write(&wa, a) < 0 || zt_com_write(&wb, b) < 0)
		return false;
	return wa.len == wb.len && memcmp(x, y, wa.len) == 0;
}

/* ---- capability ---- */

int zt_cap_read(struct zt_rd *r, struct zt_cap *c)
{
	struct zt_cap t;
	size_t start;
	int rc;

	t.nwid = zt_rd_u64(r);
	t.ts = (int64_t)zt_rd_u64(r);
	t.id = zt_rd_u32(r);
	t.nrules = zt_rd_u16(r);
	if (r->err)
		return -EMSGSIZE;
	if (t.nrules > ZT_CAP_MAX_RULES)
		return -EINVAL;
	start = r->pos;
	if ((rc = zt_rules_skip(r, t.nrules)) < 0)
		return rc;
	t.rules = r->p + start;
	t.rules_len = r->pos - start;
	t.max_chain = zt_rd_u8(r);
	memset(t.chain, 0, sizeof t.chain);
	for (t.nchain = 0;; t.nchain++) {
		struct zt_custody *e;
		uint64_t to = zt_rd_u40(r);

		if (r->err)
			return -EMSGSIZE;
		if (!to)
			break;
		if (t.nchain >= t.max_chain || t.nchain >= ZT_CAP_MAX_CHAIN)
			return -EINVAL;
		e = &t.chain[t.nchain];
		e->to = to;
		e->from = zt_rd_u40(r);
		if ((rc = sigfield_read(r, &e->sig)) < 0)
			return rc;
	}
	ext_read(r);
	if (r->err)
		return -EMSGSIZE;
	*c = t;
	return 0;
}

/* Everything but the custody chain and the additional fields. */
static void cap_body(struct zt_wr *w, const struct zt_cap *c)
{
	zt_wr_u64(w, c->nwid);
	zt_wr_u64(w, (uint64_t)c->ts);
	zt_wr_u32(w, c->id);
	zt_wr_u16(w, c->nrules);
	zt_wr_bytes(w, c->rules, c->rules_len);
	zt_wr_u8(w, c->max_chain);
}

int zt_cap_write(struct zt_wr *w, const struct zt_cap *c)
{
	unsigned i;

	if (c->nrules > ZT_CAP_MAX_RULES || c->nchain > ZT_CAP_MAX_CHAIN)
		return -EINVAL;
	cap_body(w, c);
	for (i = 0; i < c->nchain; i++) {
		if (!c->chain[i].to)
			return -EINVAL;
		zt_wr_u40(w, c->chain[i].to);
		zt_wr_u40(w, c->chain[i].from);
		sigfield_write(w, &c->chain[i].sig);
	}
	zt_wr_u40(w, 0);
	zt_wr_u16(w, 0);
	return wr_done(w);
}

int zt_cap_signing_input(const struct zt_cap *c, uint8_t *out, size_t cap)
{
	struct zt_wr w;

	zt_wr_init(&w, out, cap);
	sigin_pad(&w);
	cap_body(&w, c);
	zt_wr_u16(&w, 0);
	sigin_pad(&w);
	return w.err ? -ENOSPC : (int)w.len;
}

int zt_cap_sign(struct zt_cap *c, const struct zt_identity *id, uint64_t to)
{
	uint8_t msg[CAP_SIGNING_MAX];
	struct zt_custody e;
	int n, rc;

	if (!to || !id || !id->has_private)
		return -EINVAL;
	if (c->nchain >= c->max_chain || c->nchain >= ZT_CAP_MAX_CHAIN)
		return -ENOSPC;
	if ((n = zt_cap_signing_input(c, msg, sizeof msg)) < 0)
		return -EINVAL;
	e.to = to;
	e.from = id->address;
	if ((rc = sign_into(&e.sig, id, msg, (size_t)n)) < 0)
		return rc;
	c->chain[c->nchain++] = e;
	return 0;
}

int zt_cap_verify(const struct zt_cap *c, zt_identity_lookup_fn lookup, void *arg)
{
	uint8_t msg[CAP_SIGNING_MAX];
	unsigned i;
	int n, rc;

	if (c->max_chain < 1 || c->max_chain > ZT_CAP_MAX_CHAIN || c->nchain > c->max_chain)
		return -EACCES;
	if (!c->nchain || !c->chain[0].to || c->chain[0].from != zt_nwid_controller(c->nwid))
		return -EACCES;
	for (i = 1; i < c->nchain; i++)
		if (!c->chain[i].to || c->chain[i].from != c->chain[i - 1].to)
			return -EACCES;
	if ((n = zt_cap_signing_input(c, msg, sizeof msg)) < 0)
		return -EACCES;
	for (i = 0; i < c->nchain; i++) {
		const struct zt_identity *id = lookup ? lookup(c->chain[i].from, arg) : NULL;

		if (!id || id->address != c->chain[i].from)
			return -ENOKEY;
		if ((rc = verify_sigfield(&c->chain[i].sig, id, msg, (size_t)n)) < 0)
			return rc;
	}
	return 0;
}

uint64_t zt_cap_issued_to(const struct zt_cap *c)
{
	uint64_t to = 0;
	unsigned i;

	for (i = 0; i < c->nchain && i < ZT_CAP_MAX_CHAIN && c->chain[i].to; i++)
		to = c->chain[i].to;
	return to;
}

static bool cap_equal(const struct zt_cap *a, const struct zt_cap *b)
{
	unsigned i;

	if (a->nwid != b->nwid || a->ts != b->ts || a->id != b->id || a->nrules != b->nrules ||
	    a->rules_len != b->rules_len || a->max_chain != b->max_chain || a->nchain != b->nchain)
		return false;
	if (a->rules_len && memcmp(a->rules, b->rules, a->rules_len) != 0)
		return false;
	for (i = 0; i < a->nchain && i < ZT_CAP_MAX_CHAIN; i++)
		if (a->chain[i].to != b->chain[i].to || a->chain[i].from != b->chain[i].from ||
		    !sigfield_equal(&a->chain[i].sig, &b->chain[i].sig))
			return false;
	return true;
}

/* ---- tag ---- */

int zt_tag_read(struct zt_rd *r, struct zt_tag *t)
{
	struct zt_tag x;
	int rc;

	x.nwid = zt_rd_u64(r);
	x.ts = (int64_t)zt_rd_u64(r);
	x.id = zt_rd_u32(r);
	x.value = zt_rd_u32(r);
	x.issued_to = zt_rd_u40(r);
	x.signer = zt_rd_u40(r);
	if ((rc = sigfield_read(r, &x.sig)) < 0)
		return rc;
	ext_read(r);
	if (r->err)
		return -EMSGSIZE;
	*t = x;
	return 0;
}

static void tag_body(struct zt_wr *w, const struct zt_tag *t)
{
	zt_wr_u64(w, t->nwid);
	zt_wr_u64(w, (uint64_t)t->ts);
	zt_wr_u32(w, t->id);
	zt_wr_u32(w, t->value);
	zt_wr_u40(w, t->issued_to);
	zt_wr_u40(w, t->signer);
}

int zt_tag_write(struct zt_wr *w, const struct zt_tag *t)
{
	tag_body(w, t);
	sigfield_write(w, &t->sig);
	zt_wr_u16(w, 0);
	return wr_done(w);
}

int zt_tag_signing_input(const struct zt_tag *t, uint8_t *out, size_t cap)
{
	struct zt_wr w;

	zt_wr_init(&w, out, cap);
	sigin_pad(&w);
	tag_body(&w, t);
	zt_wr_u16(&w, 0);
	sigin_pad(&w);
	return w.err ? -ENOSPC : (int)w.len;
}

int zt_tag_sign(struct zt_tag *t, const struct zt_identity *id)
{
	uint8_t msg[64];
	int n;

	if (!id || !id->has_private)
		return -EINVAL;
	t->signer = id->address;
	n = zt_tag_signing_input(t, msg, sizeof msg);
	return sign_into(&t->sig, id, msg, (size_t)n);
}

int zt_tag_verify(const struct zt_tag *t, const struct zt_identity *signer)
{
	uint8_t msg[64];
	int n, rc;

	if ((rc = check_signer(t->nwid, t->signer, signer)) < 0)
		return rc;
	n = zt_tag_signing_input(t, msg, sizeof msg);
	return verify_sigfield(&t->sig, signer, msg, (size_t)n);
}

static bool tag_equal(const struct zt_tag *a, const struct zt_tag *b)
{
	return a->nwid == b->nwid && a->ts == b->ts && a->id == b->id && a->value == b->value &&
	       a->issued_to == b->issued_to && a->signer == b->signer && sigfield_equal(&a->sig, &b->sig);
}

/* ---- certificate of ownership ---- */

int zt_coo_read(struct zt_rd *r, struct zt_coo *c)
{
	struct zt_coo x;
	unsigned i;
	int rc;

	x.nwid = zt_rd_u64(r);
	x.ts = (int64_t)zt_rd_u64(r);
	x.flags = zt_rd_u64(r);
	x.id = zt_rd_u32(r);
	x.nthings = zt_rd_u16(r);
	if (r->err)
		return -EMSGSIZE;
	if (x.nthings > ZT_COO_MAX_THINGS)
		return -EINVAL;
	memset(x.thing_type, 0, sizeof x.thing_type);
	memset(x.thing, 0, sizeof x.thing);
	for (i = 0; i < x.nthings; i++) {
		x.thing_type[i] = zt_rd_u8(r);
		zt_rd_copy(r, x.thing[i], 16);
	}
	x.issued_to = zt_rd_u40(r);
	x.signer = zt_rd_u40(r);
	if ((rc = sigfield_read(r, &x.sig)) < 0)
		return rc;
	ext_read(r);
	if (r->err)
		return -EMSGSIZE;
	*c = x;
	return 0;
}

static void coo_body(struct zt_wr *w, const struct zt_coo *c)
{
	unsigned i;

	zt_wr_u64(w, c->nwid);
	zt_wr_u64(w, (uint64_t)c->ts);
	zt_wr_u64(w, c->flags);
	zt_wr_u32(w, c->id);
	zt_wr_u16(w, (uint16_t)c->nthings);
	for (i = 0; i < c->nthings && i < ZT_COO_MAX_THINGS; i++) {
		zt_wr_u8(w, c->thing_type[i]);
		zt_wr_bytes(w, c->thing[i], 16);
	}
	zt_wr_u40(w, c->issued_to);
	zt_wr_u40(w, c->signer);
}

int zt_coo_write(struct zt_wr *w, const struct zt_coo *c)
{
	if (c->nthings > ZT_COO_MAX_THINGS)
		return -EINVAL;
	coo_body(w, c);
	sigfield_write(w, &c->sig);
	zt_wr_u16(w, 0);
	return wr_done(w);
}

int zt_coo_signing_input(const struct zt_coo *c, uint8_t *out, size_t cap)
{
	struct zt_wr w;

	if (c->nthings > ZT_COO_MAX_THINGS)
		return -EINVAL;
	zt_wr_init(&w, out, cap);
	sigin_pad(&w);
	coo_body(&w, c);
	zt_wr_u16(&w, 0);
	sigin_pad(&w);
	return w.err ? -ENOSPC : (int)w.len;
}

#define COO_SIGNING_MAX (2 * SIGIN_PAD + 8 + 8 + 8 + 4 + 2 + 17 * ZT_COO_MAX_THINGS + 5 + 5 + 2)

int zt_coo_sign(struct zt_coo *c, const struct zt_identity *id)
{
	uint8_t msg[COO_SIGNING_MAX];
	int n;

	if (!id || !id->has_private)
		return -EINVAL;
	c->signer = id->address;
	if ((n = zt_coo_signing_input(c, msg, sizeof msg)) < 0)
		return n;
	return sign_into(&c->sig, id, msg, (size_t)n);
}

int zt_coo_verify(const struct zt_coo *c, const struct zt_identity *signer)
{
	uint8_t msg[COO_SIGNING_MAX];
	int n, rc;

	if ((rc = check_signer(c->nwid, c->signer, signer)) < 0)
		return rc;
	if ((n = zt_coo_signing_input(c, msg, sizeof msg)) < 0)
		return -EACCES;
	return verify_sigfield(&c->sig, signer, msg, (size_t)n);
}

static int coo_add(struct zt_coo *c, uint8_t type, const void *v, size_t len)
{
	if (c->nthings >= ZT_COO_MAX_THINGS)
		return -ENOSPC;
	c->thing_type[c->nthings] = type;
	memset(c->thing[c->nthings], 0, 16);
	memcpy(c->thing[c->nthings], v, len);
	c->nthings++;
	return 0;
}

int zt_coo_add_ip(struct zt_coo *c, const union zt_sockaddr *ip)
{
	if (ip->sa.sa_family == AF_INET)
		return coo_add(c, ZT_COO_IPV4, &ip->in4.sin_addr, 4);
	if (ip->sa.sa_family == AF_INET6)
		return coo_add(c, ZT_COO_IPV6, &ip->in6.sin6_addr, 16);
	return -EAFNOSUPPORT;
}

int zt_coo_add_mac(struct zt_coo *c, const uint8_t mac[6])
{
	return coo_add(c, ZT_COO_MAC, mac, 6);
}

static bool coo_owns(const struct zt_coo *c, uint8_t type, const void *v, size_t len)
{
	unsigned i;

	for (i = 0; i < c->nthings && i < ZT_COO_MAX_THINGS; i++)
		if (c->thing_type[i] == type && memcmp(c->thing[i], v, len) == 0)
			return true;
	return false;
}

bool zt_coo_owns_ip(const struct zt_coo *c, const union zt_sockaddr *ip)
{
	if (ip->sa.sa_family == AF_INET)
		return coo_owns(c, ZT_COO_IPV4, &ip->in4.sin_addr, 4);
	if (ip->sa.sa_family == AF_INET6)
		return coo_owns(c, ZT_COO_IPV6, &ip->in6.sin6_addr, 16);
	return false;
}

bool zt_coo_owns_mac(const struct zt_coo *c, const uint8_t mac[6])
{
	return coo_owns(c, ZT_COO_MAC, mac, 6);
}

static bool coo_equal(const struct zt_coo *a, const struct zt_coo *b)
{
	return a->nwid == b->nwid && a->ts == b->ts && a->flags == b->flags && a->id == b->id &&
	       a->nthings == b->nthings && a->issued_to == b->issued_to && a->signer == b->signer &&
	       memcmp(a->thing_type, b->thing_type, sizeof a->thing_type) == 0 &&
	       memcmp(a->thing, b->thing, sizeof a->thing) == 0 && sigfield_equal(&a->sig, &b->sig);
}

/* ---- revocation ---- */

int zt_rev_read(struct zt_rd *r, struct zt_revocation *v)
{
	struct zt_revocation x;
	int rc;

	zt_rd_skip(r, 4);
	x.id = zt_rd_u32(r);
	x.nwid = zt_rd_u64(r);
	zt_rd_skip(r, 4);
	x.cred_id = zt_rd_u32(r);
	x.threshold = (int64_t)zt_rd_u64(r);
	x.flags = zt_rd_u64(r);
	x.target = zt_rd_u40(r);
	x.signer = zt_rd_u40(r);
	x.type = zt_rd_u8(r);
	if ((rc = sigfield_read(r, &x.sig)) < 0)
		return rc;
	ext_read(r);
	if (r->err)
		return -EMSGSIZE;
	*v = x;
	return 0;
}

static void rev_body(struct zt_wr *w, const struct zt_revocation *v)
{
	zt_wr_u32(w, 0);
	zt_wr_u32(w, v->id);
	zt_wr_u64(w, v->nwid);
	zt_wr_u32(w, 0);
	zt_wr_u32(w, v->cred_id);
	zt_wr_u64(w, (uint64_t)v->threshold);
	zt_wr_u64(w, v->flags);
	zt_wr_u40(w, v->target);
	zt_wr_u40(w, v->signer);
	zt_wr_u8(w, v->type);
}

int zt_rev_write(struct zt_wr *w, const struct zt_revocation *v)
{
	rev_body(w, v);
	sigfield_write(w, &v->sig);
	zt_wr_u16(w, 0);
	return wr_done(w);
}

int zt_rev_signing_input(const struct zt_revocation *v, uint8_t *out, size_t cap)
{
	struct zt_wr w;

	zt_wr_init(&w, out, cap);
	sigin_pad(&w);
	rev_body(&w, v);
	zt_wr_u16(&w, 0);
	sigin_pad(&w);
	return w.err ? -ENOSPC : (int)w.len;
}

int zt_rev_sign(struct zt_revocation *v, const struct zt_identity *id)
{
	uint8_t msg[80];
	int n;

	if (!id || !id->has_private)
		return -EINVAL;
	v->signer = id->address;
	n = zt_rev_signing_input(v, msg, sizeof msg);
	return sign_into(&v->sig, id, msg, (size_t)n);
}

int zt_rev_verify(const struct zt_revocation *v, const struct zt_identity *signer)
{
	uint8_t msg[80];
	int n, rc;

	if ((rc = check_signer(v->nwid, v->signer, signer)) < 0)
		return rc;
	n = zt_rev_signing_input(v, msg, sizeof msg);
	return verify_sigfield(&v->sig, signer, msg, (size_t)n);
}

/* ---- acceptance (§5.6) ---- */

static enum zt_cred_verdict verdict(int rc)
{
	if (rc == 0)
		return ZT_CRED_ACCEPTED;
	return rc == -ENOKEY ? ZT_CRED_DEFER : ZT_CRED_REJECTED;
}

enum zt_cred_verdict zt_com_accept(const struct zt_com *stored, int64_t rev_threshold,
				   const struct zt_com *in, const struct zt_identity *signer)
{
	if (zt_com_timestamp(in) <= rev_threshold)
		return ZT_CRED_REJECTED;
	if (stored && zt_com_timestamp(in) < zt_com_timestamp(stored))
		return ZT_CRED_REJECTED;
	if (stored && zt_com_equal(stored, in))
		return ZT_CRED_REDUNDANT;
	return verdict(zt_com_verify(in, signer));
}

enum zt_cred_verdict zt_tag_accept(const struct zt_tag *stored, int64_t rev_threshold,
				   const struct zt_tag *in, const struct zt_identity *signer)
{
	if (stored && stored->ts > in->ts)
		return ZT_CRED_REJECTED;
	if (stored && tag_equal(stored, in))
		return ZT_CRED_REDUNDANT;
	if (rev_threshold >= in->ts)
		return ZT_CRED_REJECTED;
	return verdict(zt_tag_verify(in, signer));
}

enum zt_cred_verdict zt_cap_accept(const struct zt_cap *stored, int64_t rev_threshold,
				   const struct zt_cap *in, zt_identity_lookup_fn lookup, void *arg)
{
	if (stored && stored->ts > in->ts)
		return ZT_CRED_REJECTED;
	if (stored && cap_equal(stored, in))
		return ZT_CRED_REDUNDANT;
	if (rev_threshold >= in->ts)
		return ZT_CRED_REJECTED;
	return verdict(zt_cap_verify(in, lookup, arg));
}

enum zt_cred_verdict zt_coo_accept(const struct zt_coo *stored, int64_t rev_threshold,
				   const struct zt_coo *in, const struct zt_identity *signer)
{
	if (stored && stored->ts > in->ts)
		return ZT_CRED_REJECTED;
	if (stored && coo_equal(stored, in))
		return ZT_CRED_REDUNDANT;
	if (rev_threshold >= in->ts)
		return ZT_CRED_REJECTED;
	return verdict(zt_coo_verify(in, signer));
}

enum zt_cred_verdict zt_rev_accept(const struct zt_revocation *in, const struct zt_identity *signer,
				   int64_t *com_threshold, int64_t *cred_threshold)
{
	enum zt_cred_verdict v = verdict(zt_rev_verify(in, signer));

	if (v != ZT_CRED_ACCEPTED)
		return v;
	switch (in->type) {
	case ZT_CRED_COM:
		if (in->threshold <= *com_threshold)
			return ZT_CRED_REDUNDANT;
		*com_threshold = in->threshold;
		return ZT_CRED_ACCEPTED;
	case ZT_CRED_CAPABILITY:
	case ZT_CRED_TAG:
	case ZT_CRED_COO:
		if (in->threshold <= *cred_threshold)
			return ZT_CRED_REDUNDANT;
		*cred_threshold = in->threshold;
		*com_threshold = in->threshold;   /* quirk of 1.14 (Appendix B.5) */
		return ZT_CRED_ACCEPTED;
	default:
		return ZT_CRED_REJECTED;
	}
}

bool zt_cred_usable(int64_t ts, int64_t own_ts, int64_t own_ctmd, int64_t rev_threshold)
{
	uint64_t d = ts > own_ts ? (uint64_t)ts - (uint64_t)own_ts : (uint64_t)own_ts - (uint64_t)ts;

	return own_ctmd >= 0 && d <= (uint64_t)own_ctmd && ts > rev_threshold;
}

bool zt_com_gate(const struct zt_com *mine, const struct zt_com *theirs,
		 int64_t their_rev_threshold, const struct zt_identity *their_id)
{
	if (!mine || !theirs)
		return false;
	return zt_com_timestamp(theirs) > their_rev_threshold && zt_com_agrees(mine, theirs, their_id);
}
