/* The network configuration (networks.md §3.6): its dictionary read into
 * struct zt_netconf and written back, lookups in it, and the auth-info
 * dictionary (§3.10).  Its chunks, the request and the credentials are
 * netpackets.c's; names netnames.c's; the dictionary codec dict.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <zt/inetaddr.h>
#include <zt/netconf.h>

/* ---- the network configuration ---- */

static void netconf_defaults(struct zt_netconf *nc)
{
	memset(nc, 0, sizeof *nc);
	nc->version = ZT_NETCONF_VERSION;
	nc->mtu = ZT_NET_MTU_DEFAULT;
	nc->ctmd = ZT_CTMD_DEFAULT;
}

struct zt_netconf *zt_netconf_new(void)
{
	struct zt_netconf *nc = malloc(sizeof *nc);

	if (nc)
		netconf_defaults(nc);
	return nc;
}

void zt_netconf_reset(struct zt_netconf *nc)
{
	free(nc->owned);
	netconf_defaults(nc);
}

void zt_netconf_free(struct zt_netconf *nc)
{
	if (!nc)
		return;
	free(nc->owned);
	free(nc);
}

/* Unescaped value of key into buf (cap bytes): length, -ENOENT. */
static int blob(const struct zt_dict *d, const char *key, uint8_t *buf, size_t cap)
{
	return zt_dict_get(d, key, buf, cap);
}

static size_t raw_len(const struct zt_dict *d, const char *key)
{
	struct zt_dict_entry e;

	return zt_dict_find(d, key, &e) == 0 ? e.val_len : 0;
}

static void sort_caps(struct zt_cap *c, unsigned n)
{
	unsigned i, j;

	for (i = 1; i < n; i++) {
		struct zt_cap t = c[i];

		for (j = i; j > 0 && c[j - 1].id > t.id; j--)
			c[j] = c[j - 1];
		c[j] = t;
	}
}

static void sort_tags(struct zt_tag *t, unsigned n)
{
	unsigned i, j;

	for (i = 1; i < n; i++) {
		struct zt_tag x = t[i];

		for (j = i; j > 0 && t[j - 1].id > x.id; j--)
			t[j] = t[j - 1];
		t[j] = x;
	}
}

static int parse_scalars(struct zt_netconf *nc, const struct zt_dict *d)
{
	uint64_t u;

	if (zt_dict_get_u64(d, "nwid", &nc->nwid) < 0 || !nc->nwid)
		return -EINVAL;
	nc->ts = 0;
	nc->ctmd = 0;
	zt_dict_get_i64(d, "ts", &nc->ts);
	zt_dict_get_i64(d, "ctmd", &nc->ctmd);
	zt_dict_get_u64(d, "r", &nc->revision);
	if (zt_dict_get_u64(d, "id", &nc->issued_to) < 0 || !(nc->issued_to &= 0xffffffffffULL))
		return -EINVAL;
	if (zt_dict_get_u64(d, "tt", &nc->trace_target) == 0)
		nc->trace_target &= 0xffffffffffULL;
	zt_dict_get_u64(d, "tl", &nc->trace_level);
	zt_dict_get_u64(d, "ml", &nc->mcast_limit);
	zt_dict_get_str(d, "n", nc->name, sizeof nc->name);
	if (zt_dict_get_u64(d, "mtu", &u) == 0)
		nc->mtu = u < ZT_NET_MTU_MIN ? ZT_NET_MTU_MIN : u > ZT_NET_MTU_MAX ? ZT_NET_MTU_MAX : u;
	else
		nc->mtu = ZT_NET_MTU_DEFAULT;
	if (zt_dict_get_u64(d, "v", &nc->version) < 0 || nc->version < ZT_NETCONF_MIN_VERSION)
		return -EINVAL;
	zt_dict_get_u64(d, "f", &nc->flags);
	zt_dict_get_u64(d, "t", &nc->type);
	return 0;
}

static void parse_sso(struct zt_netconf *nc, const struct zt_dict *d)
{
	zt_dict_get_u64(d, "ssov", &nc->sso_version);
	nc->sso_enabled = zt_dict_get_bool(d, "ssoe", false);
	if (nc->sso_version == 0) {
		zt_dict_get_str(d, "aurl", nc->auth_url, sizeof nc->auth_url);
		zt_dict_get_i64(d, "aexpt", &nc->auth_expiry);
	} else if (nc->sso_version == 1) {
		zt_dict_get_str(d, "iurl", nc->issuer_url, sizeof nc->issuer_url);
		zt_dict_get_str(d, "ssoce", nc->central_url, sizeof nc->central_url);
		zt_dict_get_str(d, "sson", nc->nonce, sizeof nc->nonce);
		zt_dict_get_str(d, "ssos", nc->state, sizeof nc->state);
		zt_dict_get_str(d, "ssocid", nc->client_id, sizeof nc->client_id);
		if (zt_dict_get_str(d, "ssop", nc->provider, sizeof nc->provider) <= 0)
			snprintf(nc->provider, sizeof nc->provider, "default");
	}
}

/* Blobs that are parsed into structs, through the scratch buffer. */
static int parse_blobs(struct zt_netconf *nc, const struct zt_dict *d, uint8_t *s, size_t cap)
{
	struct zt_rd r;
	int n;

	if ((n = blob(d, "C", s, cap)) > 0) {
		zt_rd_init(&r, s, (size_t)n);
		if (zt_com_read(&r, &nc->com) < 0)
			return -EINVAL;
		nc->has_com = true;
	}
	if ((n = blob(d, "TAG", s, cap)) > 0) {
		zt_rd_init(&r, s, (size_t)n);
		while (zt_rd_left(&r) && nc->ntags < ZT_NETCONF_MAX_TAGS &&
		       zt_tag_read(&r, &nc->tags[nc->ntags]) == 0)
			nc->ntags++;
		sort_tags(nc->tags, nc->ntags);
	}
	if ((n = blob(d, "COO", s, cap)) > 0) {
		zt_rd_init(&r, s, (size_t)n);
		while (zt_rd_left(&r) && nc->ncoos < ZT_NETCONF_MAX_COOS)
			if (zt_coo_read(&r, &nc->coos[nc->ncoos++]) < 0)
				return -EINVAL;
	}
	if ((n = blob(d, "S", s, cap)) > 0) {
		zt_rd_init(&r, s, (size_t)n);
		while (zt_rd_left(&r) && nc->nspecialists < ZT_NETCONF_MAX_SPECIALISTS) {
			nc->specialists[nc->nspecialists++] = zt_rd_u64(&r);
			if (r.err)
				return -EINVAL;
		}
	}
	if ((n = blob(d, "RT", s, cap)) > 0) {
		zt_rd_init(&r, s, (size_t)n);
		while (zt_rd_left(&r) && nc->nroutes < ZT_NETCONF_MAX_ROUTES) {
			struct zt_route *rt = &nc->routes[nc->nroutes++];

			if (zt_inetaddr_read(&r, &rt->target) < 0 || zt_inetaddr_read(&r, &rt->via) < 0)
				return -EINVAL;
			rt->flags = zt_rd_u16(&r);
			rt->metric = zt_rd_u16(&r);
			if (r.err)
				return -EINVAL;
		}
	}
	if ((n = blob(d, "I", s, cap)) > 0) {
		zt_rd_init(&r, s, (size_t)n);
		while (zt_rd_left(&r) && nc->nips < ZT_NETCONF_MAX_IPS) {
			union zt_sockaddr sa;

			if (zt_inetaddr_read(&r, &sa) < 0)
				return -EINVAL;
			if (sa.sa.sa_family == AF_INET || sa.sa.sa_family == AF_INET6)
				nc->ips[nc->nips++] = sa;
		}
	}
	if ((n = blob(d, "DNS", s, cap)) > 0) {
		unsigned i;

		zt_rd_init(&r, s, (size_t)n);
		zt_rd_copy(&r, nc->dns.domain, ZT_DNS_DOMAIN_LEN);
		nc->dns.domain[ZT_DNS_DOMAIN_LEN - 1] = '\0';
		for (i = 0; i < ZT_DNS_SERVERS; i++)
			if (zt_inetaddr_read(&r, &nc->dns.servers[i]) < 0)
				return -EINVAL;
		if (r.err)
			return -EINVAL;
	}
	return 0;
}

/* CAP and R stay in nc->owned: capabilities and the rule engine point there. */
static int parse_rules(struct zt_netconf *nc, const struct zt_dict *d, uint8_t *own, size_t cap)
{
	struct zt_rd r;
	int n;

	if ((n = blob(d, "CAP", own, cap)) > 0) {
		zt_rd_init(&r, own, (size_t)n);
		while (zt_rd_left(&r) && nc->ncaps < ZT_NETCONF_MAX_CAPS &&
		       zt_cap_read(&r, &nc->caps[nc->ncaps]) == 0)
			nc->ncaps++;
		sort_caps(nc->caps, nc->ncaps);
		own += n;
		cap -= (size_t)n;
	}
	if ((n = blob(d, "R", own, cap)) > 0) {
		zt_rd_init(&r, own, (size_t)n);
		while (zt_rd_left(&r) && nc->nrules < ZT_NETCONF_MAX_RULES) {
			if (zt_rules_skip(&r, 1) < 0)
				return -EINVAL;
			nc->nrules++;
		}
		nc->rules = own;
		nc->rules_len = r.pos;
	}
	return 0;
}

int zt_netconf_parse(struct zt_netconf *nc, const uint8_t *dict, size_t len)
{
	struct zt_dict d;
	size_t own_len, scratch_len;
	uint8_t *scratch = NULL;
	int rc;

	zt_netconf_reset(nc);
	if ((rc = zt_dict_init(&d, dict, len, ZT_DICT_CONFIG_CAP)) < 0)
		return rc;
	if ((rc = parse_scalars(nc, &d)) < 0)
		goto fail;
	own_len = raw_len(&d, "CAP") + raw_len(&d, "R");
	scratch_len = d.len;
	rc = -ENOMEM;
	if (own_len && !(nc->owned = malloc(own_len)))
		goto fail;
	if (!(scratch = malloc(scratch_len + 1)))
		goto fail;
	if ((rc = parse_blobs(nc, &d, scratch, scratch_len)) < 0)
		goto fail;
	if ((rc = parse_rules(nc, &d, nc->owned, own_len)) < 0)
		goto fail;
	parse_sso(nc, &d);
	free(scratch);
	return 0;
fail:
	free(scratch);
	zt_netconf_reset(nc);
	return rc;
}

/* Serialize one blob with fn into scratch, then add it escaped. */
static int add_blob(struct zt_wr *w, const char *key, uint8_t *s, size_t cap,
		    int (*fn)(struct zt_wr *b, const struct zt_netconf *nc), const struct zt_netconf *nc)
{
	struct zt_wr b;
	int rc;

	zt_wr_init(&b, s, cap);
	if ((rc = fn(&b, nc)) < 0)
		return rc;
	if (b.err)
		return -ENOSPC;
	return zt_dict_add(w, key, s, b.len);
}

static int blob_com(struct zt_wr *b, const struct zt_netconf *nc)
{
	return zt_com_write(b, &nc->com);
}

static int blob_caps(struct zt_wr *b, const struct zt_netconf *nc)
{
	unsigned i;
	int rc;

	for (i = 0; i < nc->ncaps && i < ZT_NETCONF_MAX_CAPS; i++)
		if ((rc = zt_cap_write(b, &nc->caps[i])) < 0)
			return rc;
	return 0;
}

static int blob_tags(struct zt_wr *b, const struct zt_netconf *nc)
{
	unsigned i;
	int rc;

	for (i = 0; i < nc->ntags && i < ZT_NETCONF_MAX_TAGS; i++)
		if ((rc = zt_tag_write(b, &nc->tags[i])) < 0)
			return rc;
	return 0;
}

static int blob_coos(struct zt_wr *b, const struct zt_netconf *nc)
{
	unsigned i;
	int rc;

	for (i = 0; i < nc->ncoos && i < ZT_NETCONF_MAX_COOS; i++)
		if ((rc = zt_coo_write(b, &nc->coos[i])) < 0)
			return rc;
	return 0;
}

static int blob_specialists(struct zt_wr *b, const struct zt_netconf *nc)
{
	unsigned i;

	for (i = 0; i < nc->nspecialists && i < ZT_NETCONF_MAX_SPECIALISTS; i++)
		zt_wr_u64(b, nc->specialists[i]);
	return 0;
}

static int blob_routes(struct zt_wr *b, const struct zt_netconf *nc)
{
	unsigned i;

	for (i = 0; i < nc->nroutes && i < ZT_NETCONF_MAX_ROUTES; i++) {
		zt_inetaddr_write(b, &nc->routes[i].target);
		zt_inetaddr_write(b, &nc->routes[i].via);
		zt_wr_u16(b, nc->routes[i].flags);
		zt_wr_u16(b, nc->routes[i].metric);
	}
	return 0;
}

static int blob_ips(struct zt_wr *b, const struct zt_netconf *nc)
{
	unsigned i;

	for (i = 0; i < nc->nips && i < ZT_NETCONF_MAX_IPS; i++)
		zt_inetaddr_write(b, &nc->ips[i]);
	return 0;
}

static int blob_rules(struct zt_wr *b, const struct zt_netconf *nc)
{
	zt_wr_bytes(b, nc->rules, nc->rules_len);
	return 0;
}

static int blob_dns(struct zt_wr *b, const struct zt_netconf *nc)
{
	uint8_t dom[ZT_DNS_DOMAIN_LEN];
	unsigned i;

	memset(dom, 0, sizeof dom);
	memcpy(dom, nc->dns.domain, strnlen(nc->dns.domain, ZT_DNS_DOMAIN_LEN - 1));
	zt_wr_bytes(b, dom, sizeof dom);
	for (i = 0; i < ZT_DNS_SERVERS; i++)
		zt_inetaddr_write(b, &nc->dns.servers[i]);
	return 0;
}

static int write_sso(const struct zt_netconf *nc, struct zt_wr *w)
{
	int rc = 0;

	/* ssov and ssoe always; the other keys for versions 0 and 1 only */
	rc |= zt_dict_add_u64(w, "ssov", nc->sso_version);
	rc |= zt_dict_add_bool(w, "ssoe", nc->sso_enabled);
	if (rc || !nc->sso_enabled || nc->sso_version > 1)
		return rc ? -ENOSPC : 0;
	if (nc->sso_version == 0) {
		if (nc->auth_url[0])
			rc |= zt_dict_add_str(w, "aurl", nc->auth_url);
		rc |= zt_dict_add_u64(w, "aexpt", (uint64_t)nc->auth_expiry);
	} else {
		const struct { const char *key, *val; } kv[] = {
			{ "iurl", nc->issuer_url }, { "ssoce", nc->central_url },
			{ "sson", nc->nonce }, { "ssos", nc->state },
			{ "ssocid", nc->client_id }, { "ssop", nc->provider },
		};
		size_t i;

		for (i = 0; i < sizeof kv / sizeof kv[0]; i++)
			if (kv[i].val[0])
				rc |= zt_dict_add_str(w, kv[i].key, kv[i].val);
	}
	return rc ? -ENOSPC : 0;
}

int zt_netconf_write(const struct zt_netconf *nc, struct zt_wr *w)
{
	size_t cap = w->err ? 0 : w->cap - w->len;
	uint8_t *s;
	int rc = 0;

	if (cap > ZT_DICT_CONFIG_CAP)
		cap = ZT_DICT_CONFIG_CAP;
	if (!(s = malloc(cap + 1)))
		return -ENOMEM;
	rc |= zt_dict_add_u64(w, "v", nc->version);
	rc |= zt_dict_add_u64(w, "nwid", nc->nwid);
	rc |= zt_dict_add_i64(w, "ts", nc->ts);
	rc |= zt_dict_add_i64(w, "ctmd", nc->ctmd);
	rc |= zt_dict_add_u64(w, "r", nc->revision);
	rc |= zt_dict_add_addr(w, "id", nc->issued_to);
	rc |= zt_dict_add_addr(w, "tt", nc->trace_target);
	rc |= zt_dict_add_u64(w, "tl", nc->trace_level);
	rc |= zt_dict_add_u64(w, "f", nc->flags);
	rc |= zt_dict_add_u64(w, "ml", nc->mcast_limit);
	rc |= zt_dict_add_u64(w, "t", nc->type);
	rc |= zt_dict_add(w, "n", nc->name, strnlen(nc->name, ZT_NETCONF_NAME_MAX));
	rc |= zt_dict_add_u64(w, "mtu", nc->mtu);
	if (rc) {
		rc = -ENOSPC;
		goto out;
	}
	if ((nc->has_com && (rc = add_blob(w, "C", s, cap, blob_com, nc)) < 0) ||
	    (nc->ncaps && (rc = add_blob(w, "CAP", s, cap, blob_caps, nc)) < 0) ||
	    (nc->ntags && (rc = add_blob(w, "TAG", s, cap, blob_tags, nc)) < 0) ||
	    (nc->ncoos && (rc = add_blob(w, "COO", s, cap, blob_coos, nc)) < 0) ||
	    (nc->nspecialists && (rc = add_blob(w, "S", s, cap, blob_specialists, nc)) < 0) ||
	    (nc->nroutes && (rc = add_blob(w, "RT", s, cap, blob_routes, nc)) < 0) ||
	    (nc->nips && (rc = add_blob(w, "I", s, cap, blob_ips, nc)) < 0) ||
	    (nc->rules_len && (rc = add_blob(w, "R", s, cap, blob_rules, nc)) < 0) ||
	    (rc = add_blob(w, "DNS", s, cap, blob_dns, nc)) < 0)
		goto out;
	rc = write_sso(nc, w);
out:
	free(s);
	return rc;
}

const struct zt_tag *zt_netconf_tag(const struct zt_netconf *nc, uint32_t id)
{
	unsigned i;

	for (i = 0; i < nc->ntags; i++)
		if (nc->tags[i].id == id)
			return &nc->tags[i];
	return NULL;
}

const struct zt_cap *zt_netconf_cap(const struct zt_netconf *nc, uint32_t id)
{
	unsigned i;

	for (i = 0; i < nc->ncaps; i++)
		if (nc->caps[i].id == id)
			return &nc->caps[i];
	return NULL;
}

uint64_t zt_netconf_specialist(const struct zt_netconf *nc, uint64_t addr)
{
	unsigned i;

	for (i = 0; i < nc->nspecialists; i++)
		if ((nc->specialists[i] & 0xffffffffffULL) == addr)
			return nc->specialists[i] & ~0xffffffffffULL;
	return 0;
}

/* ---- auth-info ---- */

int zt_authinfo_parse(struct zt_authinfo *a, const uint8_t *dict, size_t len)
{
	struct zt_authinfo t;
	struct zt_dict d;
	int rc;

	if ((rc = zt_dict_init(&d, dict, len, ZT_DICT_AUTHINFO_CAP)) < 0)
		return rc;
	memset(&t, 0, sizeof t);
	zt_dict_get_u64(&d, "aV", &t.version);
	zt_dict_get_str(&d, "aU", t.url, sizeof t.url);
	zt_dict_get_str(&d, "iU", t.issuer_url, sizeof t.issuer_url);
	zt_dict_get_str(&d, "aCU", t.central_url, sizeof t.central_url);
	zt_dict_get_str(&d, "aN", t.nonce, sizeof t.nonce);
	zt_dict_get_str(&d, "aS", t.state, sizeof t.state);
	zt_dict_get_str(&d, "aCID", t.client_id, sizeof t.client_id);
	if (zt_dict_get_str(&d, "aSSOp", t.provider, sizeof t.provider) <= 0)
		snprintf(t.provider, sizeof t.provider, "default");
	*a = t;
	return 0;
}

int zt_authinfo_write(const struct zt_authinfo *a, struct zt_wr *w)
{
	int rc = zt_dict_add_u64(w, "aV", a->version);

	if (a->version == 0) {
		rc |= zt_dict_add_str(w, "aU", a->url);
	} else {
		rc |= zt_dict_add_str(w, "iU", a->issuer_url);
		rc |= zt_dict_add_str(w, "aCU", a->central_url);
		rc |= zt_dict_add_str(w, "aN", a->nonce);
		rc |= zt_dict_add_str(w, "aS", a->state);
		rc |= zt_dict_add_str(w, "aCID", a->client_id);
		rc |= zt_dict_add_str(w, "aSSOp", a->provider);
	}
	return rc ? -ENOSPC : 0;
}
