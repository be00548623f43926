/* Per-network local settings (networks.md §9.4): local.conf's codec and
 * the decision which managed addresses and routes a port gets; and the
 * checks the pushed DNS (§4.5.5) passes before the host's resolver sees
 * it.  Their interface is <zt/netconf.h>. */
#include <errno.h>
#include <string.h>
#include <zt/inetaddr.h>
#include <zt/netconf.h>

#include "wire.h"

#define LOCALCONF_MAX 4096

const char *const zt_net_setting_names[ZT_NET_SETTINGS] = {
	"allowManaged", "allowGlobal", "allowDefault", "allowDNS",
};

void zt_net_settings_default(struct zt_net_settings *s)
{
	*s = (struct zt_net_settings){ .allow_managed = true };
}

bool *zt_net_setting(struct zt_net_settings *s, unsigned i)
{
	switch (i) {
	case 0: return &s->allow_managed;
	case 1: return &s->allow_global;
	case 2: return &s->allow_default;
	case 3: return &s->allow_dns;
	default: return NULL;
	}
}

int zt_net_setting_index(const char *name)
{
	for (unsigned i = 0; i < ZT_NET_SETTINGS; i++)
		if (name && !strcmp(name, zt_net_setting_names[i]))
			return (int)i;
	return -1;
}

int zt_net_settings_parse(struct zt_net_settings *s, const uint8_t *p, size_t len)
{
	struct zt_net_settings out;
	struct zt_dict d;
	struct zt_dict_entry e;

	if (zt_dict_init(&d, p, len, LOCALCONF_MAX) < 0)
		return -EINVAL;
	zt_net_settings_default(&out);
	for (unsigned i = 0; i < ZT_NET_SETTINGS; i++)
		*zt_net_setting(&out, i) = zt_dict_get_bool(&d, zt_net_setting_names[i], *zt_net_setting(&out, i));
	/* 1.14's list of CIDRs in place of allowManaged means "managed, within
	 * those": read as managed (the list itself is not kept) */
	if (zt_dict_find(&d, "allowManaged", &e) == 0 && e.val_len > 5)
		out.allow_managed = true;
	*s = out;
	return 0;
}

int zt_net_settings_write(const struct zt_net_settings *s, struct zt_wr *w)
{
	struct zt_net_settings copy = *s;
	int rc;

	for (unsigned i = 0; i < ZT_NET_SETTINGS; i++)
		if ((rc = zt_dict_add_bool(w, zt_net_setting_names[i], *zt_net_setting(&copy, i))) < 0)
			return rc;
	zt_wr_u8(w, '\n');
	return w->err ? -ENOSPC : 0;
}

static bool is_default_route(const union zt_sockaddr *t)
{
	static const uint8_t zero[16];

	if (zt_inetaddr_port(t) != 0)
		return false;
	if (t->sa.sa_family == AF_INET)
		return t->in4.sin_addr.s_addr == 0;
	return t->sa.sa_family == AF_INET6 && !memcmp(t->in6.sin6_addr.s6_addr, zero, 16);
}

bool zt_net_settings_allow(const struct zt_net_settings *s, const union zt_sockaddr *target)
{
	if (!s->allow_managed)
		return false;
	if (is_default_route(target))
		return s->allow_default;
	switch (zt_inetaddr_scope(target)) {
	case ZT_SCOPE_PRIVATE:
	case ZT_SCOPE_SHARED:
	case ZT_SCOPE_PSEUDOPRIVATE:
		return true;
	case ZT_SCOPE_GLOBAL:
		return s->allow_global;
	default:   /* none, loopback, link-local, multicast */
		return false;
	}
}

/* ---- DNS ---- */

static bool label_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool zt_dns_domain_ok(const char *domain)
{
	size_t len = strnlen(domain, ZT_DNS_DOMAIN_LEN), label = 0;

	if (len == ZT_DNS_DOMAIN_LEN || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = domain[i];

		if (c == '.') {
			/* no empty label but one final dot */
			if (label == 0 || domain[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!label_byte(c) || ++label > 63 || (label == 1 && c == '-'))
			return false;
	}
	return label == 0 ? len == 0 || domain[len - 1] == '.' : domain[len - 1] != '-';
}

unsigned zt_dns_servers(const struct zt_dns *d, union zt_sockaddr out[ZT_DNS_SERVERS])
{
	unsigned n = 0;

	for (unsigned i = 0; i < ZT_DNS_SERVERS; i++) {
		enum zt_ip_scope sc = zt_inetaddr_scope(&d->servers[i]);

		if (sc != ZT_SCOPE_NONE && sc != ZT_SCOPE_MULTICAST)
			out[n++] = d->servers[i];
	}
	return n;
}

bool zt_dns_empty(const struct zt_dns *d)
{
	union zt_sockaddr s[ZT_DNS_SERVERS];

	return !d->domain[0] && zt_dns_servers(d, s) == 0;
}
