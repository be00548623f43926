/* Worlds: binary form (wire.md §6.1), signing (§6.2), updates (§6.3). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include <zt/inetaddr.h>
#include <zt/packet.h>
#include <zt/world.h>

static const uint8_t sign_prefix[8] = { 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f };
static const uint8_t sign_suffix[8] = { 0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7, 0xf7 };

static int root_read(struct zt_rd *r, struct zt_world_root *root)
{
	unsigned i;
	int n, rc;

	n = zt_identity_from_bin(&root->id, r->p + r->pos, zt_rd_left(r));
	if (n < 0)
		return n;
	zt_rd_skip(r, (size_t)n);
	root->n_endpoints = zt_rd_u8(r);
	if (r->err)
		return -EMSGSIZE;
	if (root->n_endpoints > ZT_WORLD_MAX_ENDPOINTS)
		return -E2BIG;
	for (i = 0; i < root->n_endpoints; i++)
		if ((rc = zt_inetaddr_read(r, &root->endpoints[i])) < 0)
			return rc;
	return 0;
}

static int world_read(struct zt_rd *r, struct zt_world *w)
{
	unsigned i;
	int rc;

	w->type = zt_rd_u8(r);
	if (!r->err && w->type != ZT_WORLD_NULL && w->type != ZT_WORLD_PLANET &&
	    w->type != ZT_WORLD_MOON)
		return -EINVAL;
	w->id = zt_rd_u64(r);
	w->ts = zt_rd_u64(r);
	zt_rd_copy(r, w->update_key, sizeof w->update_key);
	zt_rd_copy(r, w->sig, sizeof w->sig);
	w->n_roots = zt_rd_u8(r);
	if (r->err)
		return -EMSGSIZE;
	if (w->n_roots > ZT_WORLD_MAX_ROOTS)
		return -E2BIG;
	for (i = 0; i < w->n_roots; i++)
		if ((rc = root_read(r, &w->roots[i])) < 0)
			return rc;
	if (w->type == ZT_WORLD_MOON)
		zt_rd_skip(r, zt_rd_u16(r));
	return r->err ? -EMSGSIZE : 0;
}

int zt_world_from_bin(struct zt_world *w, const uint8_t *p, size_t len)
{
	struct zt_world tmp;
	struct zt_rd r;
	int rc;

	memset(&tmp, 0, sizeof tmp);
	zt_rd_init(&r, p, len);
	if ((rc = world_read(&r, &tmp)) < 0)
		return rc;
	*w = tmp;
	return (int)r.pos;
}

/* The serialization, with the signature or framed for signing. */
static void world_write(struct zt_wr *wr, const struct zt_world *w, bool for_sign)
{
	unsigned i, j;

	if (for_sign)
		zt_wr_bytes(wr, sign_prefix, sizeof sign_prefix);
	zt_wr_u8(wr, w->type);
	zt_wr_u64(wr, w->id);
	zt_wr_u64(wr, w->ts);
	zt_wr_bytes(wr, w->update_key, sizeof w->update_key);
	if (!for_sign)
		zt_wr_bytes(wr, w->sig, sizeof w->sig);
	zt_wr_u8(wr, (uint8_t)w->n_roots);
	for (i = 0; i < w->n_roots && i < ZT_WORLD_MAX_ROOTS; i++) {
		const struct zt_world_root *root = &w->roots[i];
		/* public form always, as 1.14 writes it: a root loaded from an
		 * identity.secret must not leak its key into a world */
		uint8_t *id = zt_wr_ptr(wr, ZT_ID_BIN_PUB);

		if (id)
			zt_identity_to_bin(&root->id, id, false);
		zt_wr_u8(wr, (uint8_t)root->n_endpoints);
		for (j = 0; j < root->n_endpoints && j < ZT_WORLD_MAX_ENDPOINTS; j++)
			zt_inetaddr_write(wr, &root->endpoints[j]);
	}
	if (w->type == ZT_WORLD_MOON)
		zt_wr_u16(wr, 0);
	if (for_sign)
		zt_wr_bytes(wr, sign_suffix, sizeof sign_suffix);
}

static int world_check(const struct zt_world *w)
{
	unsigned i;

	if (w->n_roots > ZT_WORLD_MAX_ROOTS)
		return -E2BIG;
	for (i = 0; i < w->n_roots; i++)
		if (w->roots[i].n_endpoints > ZT_WORLD_MAX_ENDPOINTS)
			return -E2BIG;
	return 0;
}

int zt_world_to_bin(const struct zt_world *w, uint8_t *out, size_t cap)
{
	struct zt_wr wr;
	int rc;

	if ((rc = world_check(w)) < 0)
		return rc;
	zt_wr_init(&wr, out, cap);
	world_write(&wr, w, false);
	return wr.err ? -EMSGSIZE : (int)wr.len;
}

int zt_world_signed_msg(const struct zt_world *w, uint8_t *out, size_t cap)
{
	struct zt_wr wr;
	int rc;

	if ((rc = world_check(w)) < 0)
		return rc;
	zt_wr_init(&wr, out, cap);
	world_write(&wr, w, true);
	return wr.err ? -EMSGSIZE : (int)wr.len;
}

int zt_world_sign(struct zt_world *w, const uint8_t keypair[ZT_KEYPAIR_LEN])
{
	uint8_t msg[ZT_WORLD_SIGNED_MAX];
	struct zt_identity signer;
	int len, rc;

	if ((len = zt_world_signed_msg(w, msg, sizeof msg)) < 0)
		return len;
	/* only the key halves matter to zt_sign, not the address */
	memset(&signer, 0, sizeof signer);
	memcpy(signer.pub, keypair, ZT_PUB_LEN);
	memcpy(signer.priv, keypair + ZT_PUB_LEN, ZT_PRIV_LEN);
	signer.has_private = true;
	rc = zt_sign(&signer, msg, (size_t)len, w->sig);
	sodium_memzero(&signer, sizeof signer);
	return rc;
}

bool zt_world_verify(const struct zt_world *w, const uint8_t pub[ZT_PUB_LEN])
{
	uint8_t msg[ZT_WORLD_SIGNED_MAX];
	int len = zt_world_signed_msg(w, msg, sizeof msg);

	return len > 0 && zt_sig_verify(pub, msg, (size_t)len, w->sig, sizeof w->sig);
}

bool zt_world_update_ok(const struct zt_world *existing, const struct zt_world *candidate)
{
	if (candidate->type != ZT_WORLD_PLANET && candidate->type != ZT_WORLD_MOON)
		return false;
	if (!existing || existing->type == ZT_WORLD_NULL)
		return true;
	return existing->id == candidate->id && existing->type == candidate->type &&
	       candidate->ts > existing->ts &&
	       zt_world_verify(candidate, existing->update_key);
}

int zt_moon_seed_name(const char *name, uint64_t *id)
{
	if (strlen(name) != 16 + 5 || strcmp(name + 16, ".seed") != 0 || !zt_hex_parse(name, 16, id))
		return -EINVAL;
	return 0;
}

int zt_moon_seed_text(const char *text, size_t len, uint64_t *seed)
{
	uint64_t v;

	/* what zt_core_orbit writes, or an operator's echo */
	if (len == 11 && text[10] == '\n')
		len = 10;
	if (len != 10 || !zt_hex_parse(text, 10, &v) || zt_address_reserved(v))
		return -EINVAL;
	*seed = v;
	return 0;
}

int zt_keypair_read(const char *path, uint8_t keypair[ZT_KEYPAIR_LEN])
{
	uint8_t buf[ZT_KEYPAIR_LEN + 1];
	size_t n;
	FILE *f = fopen(path, "rb");
	int rc = 0;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof buf, f);
	if (ferror(f))
		rc = -EIO;
	else if (n != ZT_KEYPAIR_LEN)
		rc = -EINVAL;
	else
		memcpy(keypair, buf, ZT_KEYPAIR_LEN);
	fclose(f);
	sodium_memzero(buf, sizeof buf);
	return rc;
}
