/* Per-network local settings (networks.md §9.4) and the pushed DNS
 * (§4.5.5) on the host.  The settings live in <home>/networks.d/
 * <nwid>.local.conf as 1.14 writes them; ztd.yaml may fix some of them
 * (the config wins, as it does over a join).  The port's addresses and
 * routes pass zt_net_settings_allow in port_configure (network.c), so
 * every iface module gets only what the settings let through.  The DNS
 * is applied with allowDNS by writing <home>/networks.d/<nwid>.resolv.conf
 * (a resolv.conf fragment, ztd.yaml(5)) and, where systemd-resolved runs,
 * as the port's per-link DNS (resolved.c); it goes away with allowDNS, an
 * empty DNS, the network or the node. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/stat.h>
#include <zt/inetaddr.h>

#include "network.h"

/* <home>/networks.d/<nwid>.<ext>: the files of a network on the host (NULL
 * without a home). */
char *zt_network_file(const struct zt_core *c, uint64_t nwid, const char *ext)
{
	char *p;

	if (!c->home)
		return NULL;
	return asprintf(&p, "%s/networks.d/%016llx.%s", c->home, (unsigned long long)nwid, ext) < 0 ? NULL : p;
}

/* <home>/networks.d, made before a network's file is written there. */
void zt_networks_dir_make(const struct zt_core *c)
{
	char *dir;

	if (c->home && asprintf(&dir, "%s/networks.d", c->home) >= 0) {
		mkdir(dir, 0700);
		free(dir);
	}
}

/* ---- settings ---- */

void zt_network_settings_load(struct zt_network *n)
{
	char *path = zt_network_file(n->core, n->id, "local.conf");
	uint8_t buf[4096];
	size_t len;

	zt_net_settings_default(&n->settings);
	if (path && zt_file_read(path, buf, sizeof buf, &len) == 0 &&
	    zt_net_settings_parse(&n->settings, buf, len) < 0)
		zt_logf(ZT_LOG_WARN, "%s: not a dictionary of local settings: the defaults apply", path);
	free(path);
}

static void settings_save(struct zt_network *n)
{
	char *path = zt_network_file(n->core, n->id, "local.conf");
	uint8_t buf[256];
	struct zt_wr w;
	int rc;

	if (!path)
		return;
	zt_networks_dir_make(n->core);
	zt_wr_init(&w, buf, sizeof buf);
	if ((rc = zt_net_settings_write(&n->settings, &w)) == 0)
		rc = zt_file_write(path, buf, w.len, 0644);
	if (rc < 0)
		zt_logf(ZT_LOG_WARN, "%s: %s: the local settings will not last a restart", path, strerror(-rc));
	free(path);
}

static void settings_log(const struct zt_network *n, const char *how)
{
	zt_logf(ZT_LOG_INFO, "network %s: local settings %s: allowManaged=%d allowGlobal=%d allowDefault=%d "
		"allowDNS=%d", n->name, how, n->settings.allow_managed, n->settings.allow_global,
		n->settings.allow_default, n->settings.allow_dns);
}

static void settings_merge(struct zt_network *n, const struct zt_net_settings *s, unsigned mask)
{
	struct zt_net_settings in = *s;

	for (unsigned i = 0; i < ZT_NET_SETTINGS; i++)
		if (mask & 1u << i)
			*zt_net_setting(&n->settings, i) = *zt_net_setting(&in, i);
}

void zt_network_settings_fix(struct zt_network *n, const struct zt_net_settings *s, unsigned mask)
{
	if (!mask)
		return;
	settings_merge(n, s, mask);
	n->settings_fixed = mask;
	settings_log(n, "from ztd.yaml");
	zt_network_port_configure(n);
}

int zt_core_network_set(struct zt_core *c, uint64_t nwid, const struct zt_net_settings *s, unsigned mask)
{
	struct zt_network *n = zt_network_find(c, nwid);
	struct zt_net_settings before;

	if (!n)
		return -ENOENT;
	for (unsigned i = 0; i < ZT_NET_SETTINGS; i++) {
		struct zt_net_settings in = *s;

		if ((mask & n->settings_fixed & 1u << i) &&
		    *zt_net_setting(&in, i) != *zt_net_setting(&n->settings, i))
			return -EPERM;
	}
	before = n->settings;
	settings_merge(n, s, mask);
	if (!memcmp(&before, &n->settings, sizeof before))
		return 0;
	settings_save(n);
	settings_log(n, "changed");
	zt_network_port_configure(n);
	return 0;
}

/* ---- DNS ---- */

/* The resolv.conf fragment of the DNS the network should have on the
 * host now, or "" for none. */
static void dns_render(struct zt_network *n, char *out, size_t cap)
{
	const struct zt_dns *d = &n->cfg->dns;
	union zt_sockaddr servers[ZT_DNS_SERVERS];
	unsigned count;
	size_t len;

	out[0] = '\0';
	if (!n->configured || !n->settings.allow_dns || zt_dns_empty(d))
		return;
	if (!zt_dns_domain_ok(d->domain)) {
		zt_logf(ZT_LOG_WARN, "network %s: refused the controller's DNS: its domain is not a domain name "
			"(letters, digits, '-', '_' and dots)", n->name);
		return;
	}
	count = zt_dns_servers(d, servers);
	len = (size_t)snprintf(out, cap, "# network %s: DNS pushed by its controller (allowDNS)\n", n->name);
	if (d->domain[0])
		len += (size_t)snprintf(out + len, cap - len, "search %s\n", d->domain);
	for (unsigned i = 0; i < count; i++) {
		char ip[ZT_INETADDR_TEXT_MAX], *slash;

		if (zt_inetaddr_to_text(&servers[i], ip, sizeof ip) < 0)
			continue;
		if ((slash = strrchr(ip, '/')))
			*slash = '\0';
		len += (size_t)snprintf(out + len, cap - len, "nameserver %s\n", ip);
	}
}

/* The link to hand resolved the DNS of: the port's, 0 when there is no
 * DNS to apply (the port is not asked then: when the network goes away,
 * its iface may be gone), the port has no link (yet), or the DNS goes to
 * the file only. */
static int dns_link(struct zt_network *n, char port[16])
{
	const char *name;

	if (n->core->dns_backend == ZT_DNS_FILE || !n->dns_applied[0] || !n->ops->port_name ||
	    !(name = n->ops->port_name(n->port)) || strlen(name) >= 16)
		return 0;
	snprintf(port, 16, "%s", name);
	return (int)if_nametoindex(name);
}

/* systemd-resolved follows the file: set on the port's link when the DNS
 * changed or the link did, reverted on the old link when that goes. */
static void dns_resolved_sync(struct zt_network *n, bool changed)
{
	const struct zt_dns *d = &n->cfg->dns;
	union zt_sockaddr servers[ZT_DNS_SERVERS];
	char port[16] = "";
	int ifindex = dns_link(n, port);

	if (!changed && ifindex == n->resolved_ifindex)
		return;
	if (n->resolved_ifindex && n->resolved_ifindex != ifindex) {
		zt_resolved_revert(n->core, n->resolved_port, n->resolved_ifindex);
		n->resolved_ifindex = 0;
	}
	if (ifindex && zt_resolved_set(n->core, port, ifindex, servers, zt_dns_servers(d, servers), d->domain) == 0) {
		n->resolved_ifindex = ifindex;
		snprintf(n->resolved_port, sizeof n->resolved_port, "%s", port);
	}
}

void zt_network_dns_sync(struct zt_network *n)
{
	char want[sizeof n->dns_applied], *path;
	bool changed;
	int rc;

	dns_render(n, want, sizeof want);
	if ((changed = strcmp(want, n->dns_applied) != 0) && (path = zt_network_file(n->core, n->id, "resolv.conf"))) {
		if (want[0]) {
			zt_networks_dir_make(n->core);
			if ((rc = zt_file_write(path, want, strlen(want), 0644)) < 0)
				zt_logf(ZT_LOG_WARN, "%s: %s: the network's DNS is not applied", path, strerror(-rc));
			else
				zt_logf(ZT_LOG_INFO, "network %s: DNS applied: %s", n->name, path);
		} else if (unlink(path) == 0 || errno == ENOENT) {
			zt_logf(ZT_LOG_INFO, "network %s: DNS removed: %s", n->name, path);
		}
		free(path);
	}
	snprintf(n->dns_applied, sizeof n->dns_applied, "%s", want);
	dns_resolved_sync(n, changed);
}

/* The network goes away (left, or the node stops): its DNS with it;
 * a leave forgets its settings too. */
void zt_network_local_clear(struct zt_network *n, bool forget)
{
	char *path;

	n->configured = false;
	zt_network_dns_sync(n);
	if (forget && (path = zt_network_file(n->core, n->id, "local.conf"))) {
		unlink(path);
		free(path);
	}
}
