/* Packet header and peer-level verb codec (wire.md §3.1-§3.3, §4). */
#include <errno.h>
#include <arpa/inet.h>
#include <zt/inetaddr.h>
#include <zt/packet.h>

static const char *const verb_names[] = {
	[ZT_VERB_NOP] = "NOP",
	[ZT_VERB_HELLO] = "HELLO",
	[ZT_VERB_ERROR] = "ERROR",
	[ZT_VERB_OK] = "OK",
	[ZT_VERB_WHOIS] = "WHOIS",
	[ZT_VERB_RENDEZVOUS] = "RENDEZVOUS",
	[ZT_VERB_FRAME] = "FRAME",
	[ZT_VERB_EXT_FRAME] = "EXT_FRAME",
	[ZT_VERB_ECHO] = "ECHO",
	[ZT_VERB_MULTICAST_LIKE] = "MULTICAST_LIKE",
	[ZT_VERB_NETWORK_CREDENTIALS] = "NETWORK_CREDENTIALS",
	[ZT_VERB_NETWORK_CONFIG_REQUEST] = "NETWORK_CONFIG_REQUEST",
	[ZT_VERB_NETWORK_CONFIG] = "NETWORK_CONFIG",
	[ZT_VERB_MULTICAST_GATHER] = "MULTICAST_GATHER",
	[ZT_VERB_MULTICAST_FRAME] = "MULTICAST_FRAME",
	[ZT_VERB_PUSH_DIRECT_PATHS] = "PUSH_DIRECT_PATHS",
	[ZT_VERB_ACK] = "ACK",
	[ZT_VERB_QOS_MEASUREMENT] = "QOS_MEASUREMENT",
	[ZT_VERB_USER_MESSAGE] = "USER_MESSAGE",
	[ZT_VERB_REMOTE_TRACE] = "REMOTE_TRACE",
	[ZT_VERB_PATH_NEGOTIATION_REQUEST] = "PATH_NEGOTIATION_REQUEST",
};

const char *zt_verb_name(unsigned verb)
{
	if (verb >= sizeof verb_names / sizeof verb_names[0])
		return NULL;
	return verb_names[verb];
}

/* The status of a finished read: truncation unless a stricter error was
 * already chosen. */
static int rd_status(const struct zt_rd *r)
{
	return r->err ? -EMSGSIZE : 0;
}

static int wr_status(const struct zt_wr *w)
{
	return w->err ? -EMSGSIZE : 0;
}

uint8_t zt_flags_make(enum zt_cipher cipher, bool fragmented)
{
	uint8_t f = (uint8_t)((cipher & 7) << 3);

	if (cipher == ZT_CIPHER_POLY1305_SALSA2012)
		f |= ZT_FLAG_ENCRYPTED;
	if (fragmented)
		f |= ZT_FLAG_FRAGMENTED;
	return f;
}

int zt_hdr_read(struct zt_hdr *h, const uint8_t *p, size_t len)
{
	struct zt_rd r;

	if (len < ZT_PKT_MIN)
		return -EMSGSIZE;
	zt_rd_init(&r, p, len);
	h->id = zt_rd_u64(&r);
	h->dest = zt_rd_u40(&r);
	h->src = zt_rd_u40(&r);
	h->flags = zt_rd_u8(&r);
	zt_rd_copy(&r, h->mac, sizeof h->mac);
	h->verb = zt_rd_u8(&r);
	return 0;
}

int zt_hdr_write(struct zt_wr *w, const struct zt_hdr *h)
{
	zt_wr_u64(w, h->id);
	zt_wr_u40(w, h->dest);
	zt_wr_u40(w, h->src);
	zt_wr_u8(w, h->flags);
	zt_wr_bytes(w, h->mac, sizeof h->mac);
	zt_wr_u8(w, h->verb);
	return wr_status(w);
}

int zt_idbin_len(const uint8_t *p, size_t len)
{
	if (len < 71)
		return -EMSGSIZE;
	if (p[5] != 0)
		return -EINVAL;
	if (p[70] == 0)
		return 71;
	if (p[70] != 64)
		return -EINVAL;
	return len < 135 ? -EMSGSIZE : 135;
}

/* Consume one binary identity at the cursor. */
static int rd_identity(struct zt_rd *r, const uint8_t **id, size_t *idlen)
{
	int n = zt_rd_left(r) ? zt_idbin_len(r->p + r->pos, zt_rd_left(r)) : -EMSGSIZE;

	if (n < 0) {
		r->err = true;
		return n;
	}
	*id = zt_rd_ptr(r, (size_t)n);
	*idlen = (size_t)n;
	return 0;
}

/* ---- HELLO ---- */

static int hello_optional(struct zt_hello *h, struct zt_rd *r)
{
	int rc;

	h->has_dest = zt_rd_left(r) > 0;
	if (h->has_dest && (rc = zt_inetaddr_read(r, &h->dest)) < 0)
		return rc;
	/* Only the moon list is optional after the planet: every 1.14
	 * sender writes both planet fields or neither. */
	h->has_planet = zt_rd_left(r) > 0;
	if (h->has_planet) {
		h->planet_id = zt_rd_u64(r);
		h->planet_ts = zt_rd_u64(r);
		if (r->err)
			return -EMSGSIZE;
	}
	h->tail_off = r->pos;
	h->tail_len = zt_rd_left(r);
	/* a count needs two bytes; checked again once decrypted */
	return h->tail_len == 1 ? -EMSGSIZE : 0;
}

int zt_hello_decode(struct zt_hello *h, const uint8_t *pl, size_t len)
{
	struct zt_rd r;
	int rc;

	memset(h, 0, sizeof *h);
	zt_rd_init(&r, pl, len);
	h->proto = zt_rd_u8(&r);
	h->major = zt_rd_u8(&r);
	h->minor = zt_rd_u8(&r);
	h->revision = zt_rd_u16(&r);
	h->timestamp = zt_rd_u64(&r);
	if (r.err)
		return -EMSGSIZE;
	if ((rc = rd_identity(&r, &h->id, &h->id_len)) < 0)
		return rc;
	return hello_optional(h, &r);
}

int zt_hello_decode_moons(struct zt_hello *h, const uint8_t *pl)
{
	struct zt_rd r;
	unsigned n;

	h->moons = NULL;
	h->n_moons = 0;
	if (h->tail_len == 0)
		return 0;
	zt_rd_init(&r, pl + h->tail_off, h->tail_len);
	n = zt_rd_u16(&r);
	h->moons = zt_rd_ptr(&r, (size_t)n * ZT_MOON_REF_LEN);
	if (r.err) {
		h->moons = NULL;
		return -EMSGSIZE;
	}
	h->n_moons = n;
	return 0;
}

void zt_hello_moon(const struct zt_hello *h, unsigned i, struct zt_moon_ref *m)
{
	struct zt_rd r;

	if (i < h->n_moons)
		zt_rd_init(&r, h->moons + (size_t)i * ZT_MOON_REF_LEN, ZT_MOON_REF_LEN);
	else
		zt_rd_init(&r, NULL, 0);
	m->type = zt_rd_u8(&r);
	m->id = zt_rd_u64(&r);
	m->ts = zt_rd_u64(&r);
}

int zt_hello_encode(struct zt_wr *w, struct zt_hello *h,
		    const struct zt_moon_ref *moons, unsigned n_moons)
{
	size_t start = w->len;
	unsigned i;

	if (!h->id || zt_idbin_len(h->id, h->id_len) != (int)h->id_len || n_moons > 0xffff)
		return -EINVAL;
	zt_wr_u8(w, h->proto);
	zt_wr_u8(w, h->major);
	zt_wr_u8(w, h->minor);
	zt_wr_u16(w, h->revision);
	zt_wr_u64(w, h->timestamp);
	zt_wr_bytes(w, h->id, h->id_len);
	zt_inetaddr_write(w, &h->dest);
	zt_wr_u64(w, h->planet_id);
	zt_wr_u64(w, h->planet_ts);
	h->tail_off = w->len - start;
	zt_wr_u16(w, (uint16_t)n_moons);
	for (i = 0; i < n_moons; i++) {
		zt_wr_u8(w, moons[i].type);
		zt_wr_u64(w, moons[i].id);
		zt_wr_u64(w, moons[i].ts);
	}
	h->tail_len = w->len - start - h->tail_off;
	return wr_status(w);
}

/* ---- ERROR ---- */

/* Which codes carry a network ID, and whether it is mandatory. */
static int error_nwid_rule(const struct zt_error *e)
{
	switch (e->code) {
	case ZT_ERR_OBJ_NOT_FOUND:
	case ZT_ERR_UNSUPPORTED_OPERATION:
		return e->in_re_verb == ZT_VERB_NETWORK_CONFIG_REQUEST ? 2 : 0;
	case ZT_ERR_NEED_MEMBERSHIP_CERTIFICATE:
	case ZT_ERR_NETWORK_ACCESS_DENIED:
	case ZT_ERR_UNWANTED_MULTICAST:
	case ZT_ERR_NETWORK_AUTHENTICATION_REQUIRED:
		return 2;
	default:
		return 0;
	}
}

int zt_error_decode(struct zt_error *e, const uint8_t *pl, size_t len)
{
	struct zt_rd r;

	memset(e, 0, sizeof *e);
	zt_rd_init(&r, pl, len);
	e->in_re_verb = zt_rd_u8(&r);
	e->in_re_id = zt_rd_u64(&r);
	e->code = zt_rd_u8(&r);
	if (r.err)
		return -EMSGSIZE;
	e->rest = pl + r.pos;
	e->rest_len = zt_rd_left(&r);
	if (error_nwid_rule(e)) {
		e->has_nwid = true;
		e->nwid = zt_rd_u64(&r);
	}
	if (e->code == ZT_ERR_UNWANTED_MULTICAST) {
		e->mac = zt_rd_uint(&r, 6);
		e->adi = zt_rd_u32(&r);
	}
	if (e->code == ZT_ERR_NETWORK_AUTHENTICATION_REQUIRED && zt_rd_left(&r) > 0) {
		e->dict_len = zt_rd_u16(&r);
		e->dict = zt_rd_ptr(&r, e->dict_len);
	}
	return rd_status(&r);
}

int zt_error_encode(struct zt_wr *w, const struct zt_error *e)
{
	zt_wr_u8(w, e->in_re_verb);
	zt_wr_u64(w, e->in_re_id);
	zt_wr_u8(w, e->code);
	if (error_nwid_rule(e) || e->has_nwid)
		zt_wr_u64(w, e->nwid);
	if (e->code == ZT_ERR_UNWANTED_MULTICAST) {
		zt_wr_uint(w, e->mac, 6);
		zt_wr_u32(w, e->adi);
	}
	if (e->code == ZT_ERR_NETWORK_AUTHENTICATION_REQUIRED && e->dict) {
		if (e->dict_len > 0xffff)
			return -EMSGSIZE;
		zt_wr_u16(w, (uint16_t)e->dict_len);
		zt_wr_bytes(w, e->dict, e->dict_len);
	}
	return wr_status(w);
}

/* ---- OK ---- */

int zt_ok_decode(struct zt_ok *ok, const uint8_t *pl, size_t len)
{
	struct zt_rd r;

	zt_rd_init(&r, pl, len);
	ok->in_re_verb = zt_rd_u8(&r);
	ok->in_re_id = zt_rd_u64(&r);
	if (r.err)
		return -EMSGSIZE;
	ok->data = pl + r.pos;
	ok->len = zt_rd_left(&r);
	return 0;
}

int zt_ok_encode(struct zt_wr *w, uint8_t in_re_verb, uint64_t in_re_id)
{
	zt_wr_u8(w, in_re_verb);
	zt_wr_u64(w, in_re_id);
	return wr_status(w);
}

int zt_ok_hello_decode(struct zt_ok_hello *o, const uint8_t *data, size_t len)
{
	struct zt_rd r;
	int rc;

	memset(o, 0, sizeof *o);
	zt_rd_init(&r, data, len);
	o->timestamp = zt_rd_u64(&r);
	o->proto = zt_rd_u8(&r);
	o->major = zt_rd_u8(&r);
	o->minor = zt_rd_u8(&r);
	o->revision = zt_rd_u16(&r);
	if (r.err)
		return -EMSGSIZE;
	o->has_addr = zt_rd_left(&r) > 0;
	if (o->has_addr && (rc = zt_inetaddr_read(&r, &o->addr)) < 0)
		return rc;
	o->has_worlds = zt_rd_left(&r) > 0;
	if (o->has_worlds) {
		o->worlds_len = zt_rd_u16(&r);
		o->worlds = zt_rd_ptr(&r, o->worlds_len);
	}
	return rd_status(&r);
}

int zt_ok_hello_encode(struct zt_wr *w, const struct zt_ok_hello *o)
{
	if (o->worlds_len > 0xffff)
		return -EMSGSIZE;
	zt_wr_u64(w, o->timestamp);
	zt_wr_u8(w, o->proto);
	zt_wr_u8(w, o->major);
	zt_wr_u8(w, o->minor);
	zt_wr_u16(w, o->revision);
	zt_inetaddr_write(w, &o->addr);
	zt_wr_u16(w, (uint16_t)o->worlds_len);
	zt_wr_bytes(w, o->worlds, o->worlds_len);
	return wr_status(w);
}

int zt_ok_whois_decode(struct zt_ok_whois *o, const uint8_t *data, size_t len)
{
	struct zt_rd r;
	const uint8_t *id;
	size_t idlen;
	int rc;

	o->ids = data;
	o->len = len;
	o->count = 0;
	zt_rd_init(&r, data, len);
	do {
		if ((rc = rd_identity(&r, &id, &idlen)) < 0)
			return rc;
		o->count++;
	} while (zt_rd_left(&r) > 0);
	return 0;
}

const uint8_t *zt_ok_whois_id(const struct zt_ok_whois *o, unsigned i, size_t *idlen)
{
	struct zt_rd r;
	const uint8_t *id = NULL;

	if (i >= o->count)
		return NULL;
	zt_rd_init(&r, o->ids, o->len);
	do {
		if (rd_identity(&r, &id, idlen) < 0)
			return NULL;
	} while (i--);
	return id;
}

/* ---- WHOIS, RENDEZVOUS, ECHO ---- */

int zt_whois_decode(struct zt_whois *q, const uint8_t *pl, size_t len)
{
	q->addrs = pl;
	q->count = (unsigned)(len / 5);
	return q->count ? 0 : -EMSGSIZE;
}

uint64_t zt_whois_addr(const struct zt_whois *q, unsigned i)
{
	struct zt_rd r;

	if (i < q->count)
		zt_rd_init(&r, q->addrs + (size_t)i * 5, 5);
	else
		zt_rd_init(&r, NULL, 0);
	return zt_rd_u40(&r);
}

int zt_whois_encode(struct zt_wr *w, const uint64_t *addrs, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		zt_wr_u40(w, addrs[i]);
	return wr_status(w);
}

int zt_rendezvous_decode(struct zt_rendezvous *rv, const uint8_t *pl, size_t len)
{
	struct zt_rd r;
	const uint8_t *ip;
	uint16_t port;
	uint8_t iplen;

	zt_rd_init(&r, pl, len);
	rv->flags = zt_rd_u8(&r);
	rv->with = zt_rd_u40(&r);
	port = zt_rd_u16(&r);
	iplen = zt_rd_u8(&r);
	if (r.err)
		return -EMSGSIZE;
	if (iplen != 4 && iplen != 16)
		return -EINVAL;
	if (!(ip = zt_rd_ptr(&r, iplen)))
		return -EMSGSIZE;
	if (iplen == 4)
		zt_inetaddr_set4(&rv->addr, ip, port);
	else
		zt_inetaddr_set6(&rv->addr, ip, port);
	return 0;
}

int zt_rendezvous_encode(struct zt_wr *w, const struct zt_rendezvous *rv)
{
	zt_wr_u8(w, rv->flags);
	zt_wr_u40(w, rv->with);
	zt_wr_u16(w, zt_inetaddr_port(&rv->addr));
	if (rv->addr.sa.sa_family == AF_INET) {
		zt_wr_u8(w, 4);
		zt_wr_bytes(w, &rv->addr.in4.sin_addr, 4);
	} else if (rv->addr.sa.sa_family == AF_INET6) {
		zt_wr_u8(w, 16);
		zt_wr_bytes(w, &rv->addr.in6.sin6_addr, 16);
	} else {
		return -EAFNOSUPPORT;
	}
	return wr_status(w);
}

int zt_echo_encode(struct zt_wr *w, const void *data, size_t len)
{
	zt_wr_bytes(w, data, len);
	return wr_status(w);
}

/* ---- PUSH_DIRECT_PATHS ---- */

/* One record; the address is decoded only for well-formed types 4/6. */
static void push_rec_read(struct zt_rd *r, struct zt_path_rec *rec)
{
	const uint8_t *a;
	uint8_t alen;

	rec->flags = zt_rd_u8(r);
	zt_rd_skip(r, zt_rd_u16(r));
	rec->type = zt_rd_u8(r);
	alen = zt_rd_u8(r);
	a = zt_rd_ptr(r, alen);
	memset(&rec->addr, 0, sizeof rec->addr);
	rec->addr.sa.sa_family = AF_UNSPEC;
	if (!a)
		return;
	if (rec->type == 4 && alen == 6)
		zt_inetaddr_set4(&rec->addr, a, (uint16_t)(a[4] << 8 | a[5]));
	else if (rec->type == 6 && alen == 18)
		zt_inetaddr_set6(&rec->addr, a, (uint16_t)(a[16] << 8 | a[17]));
}

int zt_push_paths_decode(struct zt_push_paths *pp, const uint8_t *pl, size_t len)
{
	struct zt_path_rec rec;
	struct zt_rd r;
	unsigned i;

	zt_rd_init(&r, pl, len);
	pp->count = zt_rd_u16(&r);
	pp->recs = r.err ? NULL : pl + r.pos;
	for (i = 0; i < pp->count && !r.err; i++)
		push_rec_read(&r, &rec);
	pp->len = r.err ? 0 : r.pos - 2;
	return rd_status(&r);
}

int zt_push_paths_next(const struct zt_push_paths *pp, size_t *off, struct zt_path_rec *rec)
{
	struct zt_rd r;

	if (*off >= pp->len)
		return 0;
	zt_rd_init(&r, pp->recs, pp->len);
	r.pos = *off;
	push_rec_read(&r, rec);
	if (r.err)
		return 0;
	*off = r.pos;
	return 1;
}

int zt_push_paths_encode(struct zt_wr *w, const union zt_sockaddr *addrs, size_t n,
			 size_t max_len)
{
	size_t start = w->len, i;
	uint8_t *count = zt_wr_ptr(w, 2);
	unsigned written = 0;

	if (!count)
		return -EMSGSIZE;
	for (i = 0; i < n && written < 0xffff; i++) {
		size_t alen = addrs[i].sa.sa_family == AF_INET ? 6 :
			      addrs[i].sa.sa_family == AF_INET6 ? 18 : 0;

		if (!alen)
			continue;
		if (w->len - start + 5 + alen > max_len)
			break;
		zt_wr_u8(w, 0);
		zt_wr_u16(w, 0);
		zt_wr_u8(w, alen == 6 ? 4 : 6);
		zt_wr_u8(w, (uint8_t)alen);
		/* the InetAddress form minus its type byte is exactly ip||port */
		zt_wr_bytes(w, alen == 6 ? (const void *)&addrs[i].in4.sin_addr :
			    (const void *)&addrs[i].in6.sin6_addr, alen - 2);
		zt_wr_u16(w, zt_inetaddr_port(&addrs[i]));
		written++;
	}
	if (w->err)
		return -EMSGSIZE;
	count[0] = (uint8_t)(written >> 8);
	count[1] = (uint8_t)written;
	return (int)i;
}

/* ---- USER_MESSAGE ---- */

int zt_user_msg_decode(struct zt_user_msg *m, const uint8_t *pl, size_t len)
{
	struct zt_rd r;

	zt_rd_init(&r, pl, len);
	m->type = zt_rd_u64(&r);
	if (r.err)
		return -EMSGSIZE;
	m->data = pl + r.pos;
	m->len = zt_rd_left(&r);
	return 0;
}

int zt_user_msg_encode(struct zt_wr *w, const struct zt_user_msg *m)
{
	zt_wr_u64(w, m->type);
	zt_wr_bytes(w, m->data, m->len);
	return wr_status(w);
}

int zt_natmsg_decode(struct zt_natmsg *m, const uint8_t *data, size_t len)
{
	struct zt_natmsg out = { 0 };
	struct zt_rd r;
	unsigned version, nat;
	int rc;

	zt_rd_init(&r, data, len);
	version = zt_rd_u8(&r);
	nat = zt_rd_u8(&r);
	out.flags = zt_rd_u8(&r);
	out.sockets = zt_rd_u16(&r);
	if (r.err)
		return -EMSGSIZE;
	if (version != ZT_NATMSG_VERSION)
		return -EPROTONOSUPPORT;
	if (nat > ZT_NATMSG_DEPENDENT || (out.flags & ~ZT_NATMSG_FLAGS))
		return -EINVAL;
	out.nat = (enum zt_natmsg_nat)nat;
	rc = zt_inetaddr_read(&r, &out.external);
	if (rc < 0)
		return rc;
	if (r.err || zt_rd_left(&r))
		return -EMSGSIZE;
	*m = out;
	return 0;
}

int zt_natmsg_encode(struct zt_wr *w, const struct zt_natmsg *m)
{
	zt_wr_u64(w, ZT_NATMSG_TYPE);
	zt_wr_u8(w, ZT_NATMSG_VERSION);
	zt_wr_u8(w, (uint8_t)m->nat);
	zt_wr_u8(w, m->flags);
	zt_wr_u16(w, m->sockets);
	zt_inetaddr_write(w, &m->external);
	return wr_status(w);
}
