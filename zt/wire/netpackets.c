/* The network verbs' payloads (networks.md §3.7-§3.9, §5): a config cut
 * into signed chunks and assembled again, NETWORK_CONFIG_REQUEST and its
 * metadata, NETWORK_CREDENTIALS.  Their interface is <zt/netconf.h>. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <zt/inetaddr.h>
#include <zt/netconf.h>

/* ---- config chunks ---- */

int zt_chunk_decode(struct zt_config_chunk *c, const uint8_t *body, size_t len)
{
	struct zt_config_chunk t;
	struct zt_rd r;

	memset(&t, 0, sizeof t);
	zt_rd_init(&r, body, len);
	t.body = body;
	t.nwid = zt_rd_u64(&r);
	t.len = zt_rd_u16(&r);
	t.data = zt_rd_ptr(&r, t.len);
	if (r.err)
		return -EMSGSIZE;
	if (!zt_rd_left(&r)) {
		t.legacy = true;
		t.total = (uint32_t)t.len;
		*c = t;
		return 0;
	}
	t.flags = zt_rd_u8(&r);
	t.update_id = zt_rd_u64(&r);
	t.total = zt_rd_u32(&r);
	t.offset = zt_rd_u32(&r);
	t.signed_len = r.pos;
	if (zt_rd_u8(&r) != 1 || zt_rd_u16(&r) != ZT_SIG_LEN)
		return r.err ? -EMSGSIZE : -EINVAL;
	t.sig = zt_rd_ptr(&r, ZT_SIG_LEN);
	if (r.err)
		return -EMSGSIZE;
	if (t.total >= ZT_DICT_CONFIG_CAP)
		return -EMSGSIZE;
	if ((uint64_t)t.offset + t.len > t.total)
		return -EINVAL;
	*c = t;
	return 0;
}

int zt_chunk_verify(const struct zt_config_chunk *c, const struct zt_identity *controller)
{
	if (c->legacy || !c->sig)
		return -EACCES;
	if (!controller || controller->address != zt_nwid_controller(c->nwid))
		return -EACCES;
	return zt_sig_verify(controller->pub, c->body, c->signed_len, c->sig, ZT_SIG_LEN) ? 0 : -EBADMSG;
}

uint64_t zt_chunk_ident(const struct zt_config_chunk *c)
{
	uint64_t v = 0;
	unsigned i;

	if (!c->sig)
		return 0;
	for (i = 0; i < 8; i++)
		v = v << 8 | (uint8_t)(c->sig[i] ^ c->sig[i + 8]);
	return v;
}

int zt_chunk_encode(struct zt_wr *w, uint64_t nwid, const uint8_t *dict, size_t total,
		    size_t offset, uint8_t flags, uint64_t update_id,
		    const struct zt_identity *controller)
{
	uint8_t sig[ZT_SIG_LEN];
	size_t n, start = w->len;

	if (!controller || !controller->has_private || !update_id)
		return -EINVAL;
	if (total >= ZT_DICT_CONFIG_CAP || offset > total || (offset == total && total))
		return -EINVAL;
	n = total - offset;
	if (n > ZT_CHUNK_SLICE_MAX)
		n = ZT_CHUNK_SLICE_MAX;
	zt_wr_u64(w, nwid);
	zt_wr_u16(w, (uint16_t)n);
	zt_wr_bytes(w, dict + offset, n);
	zt_wr_u8(w, flags);
	zt_wr_u64(w, update_id);
	zt_wr_u32(w, (uint32_t)total);
	zt_wr_u32(w, (uint32_t)offset);
	if (w->err)
		return -ENOSPC;
	if (zt_sign(controller, w->p + start, w->len - start, sig) < 0)
		return -EINVAL;
	zt_wr_u8(w, 1);
	zt_wr_u16(w, ZT_SIG_LEN);
	zt_wr_bytes(w, sig, ZT_SIG_LEN);
	return w->err ? -ENOSPC : (int)n;
}

void zt_config_asm_init(struct zt_config_asm *a)
{
	memset(a, 0, sizeof *a);
}

void zt_config_asm_fini(struct zt_config_asm *a)
{
	unsigned i;

	for (i = 0; i < ZT_CONFIG_ASM_SLOTS; i++)
		free(a->slot[i].buf);
	memset(a, 0, sizeof *a);
}

static struct zt_config_asm_slot *asm_find(const struct zt_config_asm *a, uint64_t update_id)
{
	unsigned i;

	if (!update_id)
		return NULL;
	for (i = 0; i < ZT_CONFIG_ASM_SLOTS; i++)
		if (a->slot[i].update_id == update_id)
			return (struct zt_config_asm_slot *)&a->slot[i];
	return NULL;
}

static bool slot_has(const struct zt_config_asm_slot *s, uint64_t ident)
{
	unsigned i;

	for (i = 0; i < s->nchunks; i++)
		if (s->idents[i] == ident)
			return true;
	return false;
}

bool zt_config_asm_is_dup(const struct zt_config_asm *a, const struct zt_config_chunk *c)
{
	const struct zt_config_asm_slot *s = asm_find(a, c->update_id);

	if (c->legacy || !s)
		return false;
	return s->done || slot_has(s, zt_chunk_ident(c));
}

int zt_config_asm_add(struct zt_config_asm *a, const struct zt_config_chunk *c,
		      const uint8_t **dict, size_t *len)
{
	struct zt_config_asm_slot *s;
	uint64_t ident;
	unsigned i;

	if (c->legacy) {
		*dict = c->data;
		*len = c->len;
		return 1;
	}
	if (!c->update_id || c->total >= ZT_DICT_CONFIG_CAP || (uint64_t)c->offset + c->len > c->total)
		return -EINVAL;
	if (!(s = asm_find(a, c->update_id))) {
		s = &a->slot[0];
		for (i = 1; i < ZT_CONFIG_ASM_SLOTS; i++)
			if (a->slot[i].touched < s->touched)
				s = &a->slot[i];
		free(s->buf);
		memset(s, 0, sizeof *s);
		if (!(s->buf = malloc(c->total ? c->total : 1)))
			return -ENOMEM;
		s->update_id = c->update_id;
		s->total = c->total;
	} else if (s->done) {
		return -EALREADY;
	} else if (s->total != c->total) {
		return -EINVAL;
	}
	s->touched = ++a->clock;
	ident = zt_chunk_ident(c);
	if (slot_has(s, ident))
		return -EALREADY;
	if (s->nchunks >= ZT_CONFIG_MAX_CHUNKS)
		return -E2BIG;
	if ((uint64_t)s->received + c->len > s->total)
		return -EINVAL;
	if (c->len)
		memcpy(s->buf + c->offset, c->data, c->len);
	s->idents[s->nchunks++] = ident;
	s->received += (uint32_t)c->len;
	if (s->received < s->total)
		return 0;
	s->done = true;
	*dict = s->buf;
	*len = s->total;
	return 1;
}

int zt_config_ack_encode(struct zt_wr *w, uint64_t push_id, uint64_t nwid, uint64_t update_id)
{
	int rc = zt_ok_encode(w, ZT_VERB_ECHO, push_id);

	if (rc < 0)
		return rc;
	zt_wr_u64(w, nwid);
	zt_wr_u64(w, update_id);
	return w->err ? -ENOSPC : 0;
}

/* ---- NETWORK_CONFIG_REQUEST ---- */

int zt_ncreq_decode(struct zt_ncreq *q, const uint8_t *pl, size_t len)
{
	struct zt_ncreq t;
	struct zt_rd r;

	memset(&t, 0, sizeof t);
	zt_rd_init(&r, pl, len);
	t.nwid = zt_rd_u64(&r);
	t.meta_len = zt_rd_u16(&r);
	t.meta = zt_rd_ptr(&r, t.meta_len);
	if (r.err)
		return -EMSGSIZE;
	if (zt_rd_left(&r) >= 16) {
		t.has_tail = true;
		t.revision = zt_rd_u64(&r);
		t.ts = zt_rd_u64(&r);
	}
	*q = t;
	return 0;
}

int zt_ncreq_encode(struct zt_wr *w, const struct zt_ncreq *q)
{
	if (q->meta_len > 0xffff)
		return -EINVAL;
	zt_wr_u64(w, q->nwid);
	zt_wr_u16(w, (uint16_t)q->meta_len);
	zt_wr_bytes(w, q->meta, q->meta_len);
	zt_wr_u64(w, q->revision);
	zt_wr_u64(w, q->ts);
	return w->err ? -ENOSPC : 0;
}

void zt_ncreq_meta_default(struct zt_ncreq_meta *m, const char *os)
{
	memset(m, 0, sizeof *m);
	m->v = ZT_NETCONF_VERSION;
	m->vend = 1;
	m->pv = 12;
	m->majv = 1;
	m->minv = 14;
	m->revv = 1;
	m->mr = ZT_NETCONF_MAX_RULES;
	m->mc = ZT_NETCONF_MAX_CAPS;
	m->mcr = ZT_CAP_MAX_RULES;
	m->mt = ZT_NETCONF_MAX_TAGS;
	m->f = 0;
	m->revr = 1;
	if (os)
		snprintf(m->os, sizeof m->os, "%s", os);
}

int zt_ncreq_meta_write(const struct zt_ncreq_meta *m, struct zt_wr *w)
{
	int rc = 0;

	rc |= zt_dict_add_u64(w, "v", m->v);
	rc |= zt_dict_add_u64(w, "vend", m->vend);
	rc |= zt_dict_add_u64(w, "pv", m->pv);
	rc |= zt_dict_add_u64(w, "majv", m->majv);
	rc |= zt_dict_add_u64(w, "minv", m->minv);
	rc |= zt_dict_add_u64(w, "revv", m->revv);
	rc |= zt_dict_add_u64(w, "mr", m->mr);
	rc |= zt_dict_add_u64(w, "mc", m->mc);
	rc |= zt_dict_add_u64(w, "mcr", m->mcr);
	rc |= zt_dict_add_u64(w, "mt", m->mt);
	rc |= zt_dict_add_u64(w, "f", m->f);
	rc |= zt_dict_add_u64(w, "revr", m->revr);
	if (m->os[0])
		rc |= zt_dict_add_str(w, "o", m->os);
	if (m->token[0])
		rc |= zt_dict_add_str(w, "a", m->token);
	return rc ? -ENOSPC : 0;
}

int zt_ncreq_meta_parse(struct zt_ncreq_meta *m, const uint8_t *p, size_t len)
{
	struct zt_ncreq_meta t;
	struct zt_dict d;

	if (len > ZT_NCREQ_META_READ_MAX)
		len = ZT_NCREQ_META_READ_MAX;
	zt_dict_init(&d, p, len, 0);
	memset(&t, 0, sizeof t);
	zt_dict_get_u64(&d, "v", &t.v);
	zt_dict_get_u64(&d, "vend", &t.vend);
	zt_dict_get_u64(&d, "pv", &t.pv);
	zt_dict_get_u64(&d, "majv", &t.majv);
	zt_dict_get_u64(&d, "minv", &t.minv);
	zt_dict_get_u64(&d, "revv", &t.revv);
	zt_dict_get_u64(&d, "mr", &t.mr);
	zt_dict_get_u64(&d, "mc", &t.mc);
	zt_dict_get_u64(&d, "mcr", &t.mcr);
	zt_dict_get_u64(&d, "mt", &t.mt);
	zt_dict_get_u64(&d, "f", &t.f);
	zt_dict_get_u64(&d, "revr", &t.revr);
	zt_dict_get_str(&d, "o", t.os, sizeof t.os);
	zt_dict_get_str(&d, "a", t.token, sizeof t.token);
	*m = t;
	return 0;
}

/* ---- NETWORK_CREDENTIALS ---- */

/* One credential of part `which` (0 COM, 1 cap, 2 tag, 3 rev, 4 COO). */
static int cred_read(struct zt_rd *r, int which, void *out)
{
	switch (which) {
	case 0: return zt_com_read(r, out);
	case 1: return zt_cap_read(r, out);
	case 2: return zt_tag_read(r, out);
	case 3: return zt_rev_read(r, out);
	default: return zt_coo_read(r, out);
	}
}

int zt_netcreds_decode(struct zt_netcreds *nc, const uint8_t *pl, size_t len)
{
	union {
		struct zt_com com;
		struct zt_cap cap;
		struct zt_tag tag;
		struct zt_revocation rev;
		struct zt_coo coo;
	} any;
	struct zt_netcreds t;
	unsigned *counts[4];
	size_t *offs[4];
	struct zt_rd r;
	unsigned part, i;
	int rc;

	memset(&t, 0, sizeof t);
	t.p = pl;
	t.len = len;
	counts[0] = &t.ncap; counts[1] = &t.ntag; counts[2] = &t.nrev; counts[3] = &t.ncoo;
	offs[0] = &t.off_cap; offs[1] = &t.off_tag; offs[2] = &t.off_rev; offs[3] = &t.off_coo;
	zt_rd_init(&r, pl, len);
	for (;;) {
		if (!zt_rd_left(&r))
			return -EMSGSIZE;
		if (pl[r.pos] == 0) {
			zt_rd_skip(&r, 1);
			break;
		}
		if ((rc = zt_com_read(&r, &any.com)) < 0)
			return rc;
		t.ncom++;
	}
	for (part = 0; part < 4; part++) {
		unsigned n;

		*offs[part] = r.pos + 2;
		if (!zt_rd_left(&r))
			break;
		n = zt_rd_u16(&r);
		if (r.err)
			return -EMSGSIZE;
		for (i = 0; i < n; i++)
			if ((rc = cred_read(&r, (int)part + 1, &any)) < 0)
				return rc;
		*counts[part] = n;
	}
	*nc = t;
	return 0;
}

static int netcreds_get(const struct zt_netcreds *nc, int which, unsigned i, void *out)
{
	static const size_t offs[] = {
		offsetof(struct zt_netcreds, off_com), offsetof(struct zt_netcreds, off_cap),
		offsetof(struct zt_netcreds, off_tag), offsetof(struct zt_netcreds, off_rev),
		offsetof(struct zt_netcreds, off_coo),
	};
	static const size_t cnts[] = {
		offsetof(struct zt_netcreds, ncom), offsetof(struct zt_netcreds, ncap),
		offsetof(struct zt_netcreds, ntag), offsetof(struct zt_netcreds, nrev),
		offsetof(struct zt_netcreds, ncoo),
	};
	size_t off = *(const size_t *)((const char *)nc + offs[which]);
	unsigned n = *(const unsigned *)((const char *)nc + cnts[which]), k;
	struct zt_rd r;

	if (i >= n)
		return -ENOENT;
	zt_rd_init(&r, nc->p, nc->len);
	zt_rd_skip(&r, off);
	for (k = 0; k <= i; k++)
		if (cred_read(&r, which, out) < 0)
			return -ENOENT;   /* decode checked them all */
	return 0;
}

int zt_netcreds_com(const struct zt_netcreds *nc, unsigned i, struct zt_com *c)
{
	return netcreds_get(nc, 0, i, c);
}

int zt_netcreds_cap(const struct zt_netcreds *nc, unsigned i, struct zt_cap *c)
{
	return netcreds_get(nc, 1, i, c);
}

int zt_netcreds_tag(const struct zt_netcreds *nc, unsigned i, struct zt_tag *t)
{
	return netcreds_get(nc, 2, i, t);
}

int zt_netcreds_rev(const struct zt_netcreds *nc, unsigned i, struct zt_revocation *v)
{
	return netcreds_get(nc, 3, i, v);
}

int zt_netcreds_coo(const struct zt_netcreds *nc, unsigned i, struct zt_coo *c)
{
	return netcreds_get(nc, 4, i, c);
}

int zt_netcreds_encode(struct zt_wr *w, const struct zt_com *com,
		       const struct zt_cap *caps, unsigned ncaps,
		       const struct zt_tag *tags, unsigned ntags,
		       const struct zt_revocation *revs, unsigned nrevs,
		       const struct zt_coo *coos, unsigned ncoos)
{
	unsigned i;
	int rc;

	if (ncaps > 0xffff || ntags > 0xffff || nrevs > 0xffff || ncoos > 0xffff)
		return -EINVAL;
	if (com && (rc = zt_com_write(w, com)) < 0)
		return rc;
	zt_wr_u8(w, 0);
	zt_wr_u16(w, (uint16_t)ncaps);
	for (i = 0; i < ncaps; i++)
		if ((rc = zt_cap_write(w, &caps[i])) < 0)
			return rc;
	zt_wr_u16(w, (uint16_t)ntags);
	for (i = 0; i < ntags; i++)
		if ((rc = zt_tag_write(w, &tags[i])) < 0)
			return rc;
	zt_wr_u16(w, (uint16_t)nrevs);
	for (i = 0; i < nrevs; i++)
		if ((rc = zt_rev_write(w, &revs[i])) < 0)
			return rc;
	zt_wr_u16(w, (uint16_t)ncoos);
	for (i = 0; i < ncoos; i++)
		if ((rc = zt_coo_write(w, &coos[i])) < 0)
			return rc;
	return w->err ? -ENOSPC : 0;
}
