/* Network-layer names and codecs (networks.md §2, §3.6-§3.10, §4, §11.1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <zt/inetaddr.h>
#include <zt/netconf.h>

/* ---- names ---- */

uint8_t zt_nwid_mac_prefix(uint64_t nwid)
{
	uint8_t f = (uint8_t)((nwid & 0xfe) | 0x02);

	return f == 0x52 ? 0x32 : f;
}

/* byte i (1..5) of a member MAC, before or after the XOR */
static uint8_t mac_xor(uint64_t nwid, unsigned i)
{
	return (uint8_t)(nwid >> (8 * i));
}

void zt_mac_from_address(uint64_t nwid, uint64_t addr, uint8_t mac[6])
{
	unsigned i;

	mac[0] = zt_nwid_mac_prefix(nwid);
	for (i = 1; i < 6; i++)
		mac[i] = (uint8_t)(addr >> (8 * (5 - i))) ^ mac_xor(nwid, i);
}

int zt_mac_to_address(uint64_t nwid, const uint8_t mac[6], uint64_t *addr)
{
	uint64_t a = 0;
	unsigned i;

	if (mac[0] != zt_nwid_mac_prefix(nwid))
		return -EINVAL;
	for (i = 1; i < 6; i++)
		a = a << 8 | (uint8_t)(mac[i] ^ mac_xor(nwid, i));
	*addr = a;
	return 0;
}

void zt_mac_fmt(const uint8_t mac[6], char out[ZT_MAC_TEXT_LEN])
{
	snprintf(out, ZT_MAC_TEXT_LEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int zt_mac_parse(uint8_t mac[6], const char *s)
{
	uint8_t m[6];
	unsigned i;

	for (i = 0; i < 6; i++) {
		int h = hexdigit(s[3 * i]), l = h < 0 ? -1 : hexdigit(s[3 * i + 1]);

		if (h < 0 || l < 0)
			return -EINVAL;
		if (s[3 * i + 2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		m[i] = (uint8_t)(h << 4 | l);
	}
	memcpy(mac, m, 6);
	return 0;
}

bool zt_mac_is_broadcast(const uint8_t mac[6])
{
	static const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	return memcmp(mac, bc, 6) == 0;
}

int zt_mcast_cmp(const struct zt_mcast_group *a, const struct zt_mcast_group *b)
{
	int c = memcmp(a->mac, b->mac, 6);  /* big-endian bytes: integer order */

	if (c)
		return c < 0 ? -1 : 1;
	return a->adi < b->adi ? -1 : a->adi > b->adi;
}

void zt_mcast_broadcast(struct zt_mcast_group *g)
{
	memset(g->mac, 0xff, 6);
	g->adi = 0;
}

void zt_mcast_arp(struct zt_mcast_group *g, uint32_t ipv4)
{
	memset(g->mac, 0xff, 6);
	g->adi = ipv4;
}

void zt_mcast_solicited_node(struct zt_mcast_group *g, const uint8_t ip6[16])
{
	g->mac[0] = 0x33;
	g->mac[1] = 0x33;
	g->mac[2] = 0xff;
	memcpy(g->mac + 3, ip6 + 13, 3);
	g->adi = 0;
}

bool zt_arp_request_target(uint16_t ethertype, const uint8_t *p, size_t len, uint32_t *target)
{
	if (ethertype != 0x0806 || len < 28)
		return false;
	if (p[2] != 0x08 || p[3] != 0x00 || p[4] != 6 || p[5] != 4 || p[7] != 1)
		return false;
	*target = (uint32_t)p[24] << 24 | (uint32_t)p[25] << 16 | (uint32_t)p[26] << 8 | p[27];
	return true;
}

void zt_mcast_for_frame(struct zt_mcast_group *g, const uint8_t to[6], uint16_t ethertype,
			const uint8_t *payload, size_t len)
{
	uint32_t ip;

	if (zt_mac_is_broadcast(to) && zt_arp_request_target(ethertype, payload, len, &ip)) {
		zt_mcast_arp(g, ip);
		return;
	}
	memcpy(g->mac, to, 6);
	g->adi = 0;
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	while (n--) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

void zt_ip6_rfc4193(uint64_t nwid, uint64_t addr, uint8_t ip[16])
{
	ip[0] = 0xfd;
	put_be(ip + 1, nwid, 8);
	ip[9] = 0x99;
	ip[10] = 0x93;
	put_be(ip + 11, addr, 5);
}

static uint32_t sixplane_hash(uint64_t nwid)
{
	return (uint32_t)((nwid ^ (nwid >> 32)) & 0xffffffffu);
}

void zt_ip6_6plane(uint64_t nwid, uint64_t addr, uint8_t ip[16])
{
	ip[0] = 0xfc;
	put_be(ip + 1, sixplane_hash(nwid), 4);
	put_be(ip + 5, addr, 5);
	memset(ip + 10, 0, 5);
	ip[15] = 0x01;
}

void zt_sockaddr_rfc4193(union zt_sockaddr *sa, uint64_t nwid, uint64_t addr)
{
	uint8_t ip[16];

	zt_ip6_rfc4193(nwid, addr, ip);
	zt_inetaddr_set6(sa, ip, ZT_RFC4193_PREFIX);
}

void zt_sockaddr_6plane(union zt_sockaddr *sa, uint64_t nwid, uint64_t addr)
{
	uint8_t ip[16];

	zt_ip6_6plane(nwid, addr, ip);
	zt_inetaddr_set6(sa, ip, ZT_6PLANE_PREFIX);
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

int zt_ip6_ndp_peer(uint64_t nwid, const uint8_t own[16], unsigned prefix,
		    const uint8_t target[16], uint64_t *peer)
{
	if (prefix == ZT_RFC4193_PREFIX && own[0] == 0xfd && own[9] == 0x99 && own[10] == 0x93) {
		if (memcmp(target, own, 11) != 0)
			return -ENOENT;
		*peer = get_be(target + 11, 5);
		return 0;
	}
	if (prefix == ZT_6PLANE_PREFIX && own[0] == 0xfc && get_be(own + 1, 4) == sixplane_hash(nwid)) {
		if (memcmp(target, own, 5) != 0)
			return -ENOENT;
		*peer = get_be(target + 5, 5);
		return 0;
	}
	return -ENOENT;
}

void zt_linux_devname(uint64_t nwid, unsigned trial, char out[ZT_DEVNAME_LEN])
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint64_t v = ((nwid ^ (nwid >> 24)) + trial) & 0xffffffffffULL;
	unsigned i;

	out[0] = 'z';
	out[1] = 't';
	for (i = 0; i < 8; i++)
		out[2 + i] = b32[(v >> (35 - 5 * i)) & 31];
	out[10] = '\0';
}

const char *zt_net_status_name(int status)
{
	static const char *const names[] = {
		"REQUESTING_CONFIGURATION", "OK", "ACCESS_DENIED", "NOT_FOUND",
		"PORT_ERROR", "CLIENT_TOO_OLD", "AUTHENTICATION_REQUIRED",
	};

	if (status < 0 || (size_t)status >= sizeof names / sizeof names[0])
		return NULL;
	return names[status];
}

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
