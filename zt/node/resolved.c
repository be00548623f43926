/* The systemd-resolved backend of the pushed DNS (networks.md §4.5.5):
 * the network's servers and domain set as the per-link DNS of its port
 * (org.freedesktop.resolve1.Manager SetLinkDNS, SetLinkDomains on the
 * port's ifindex) and taken back with RevertLink.  The domain is a search
 * domain, which resolved also routes to the link, as ZeroTier One sets
 * it.  One system-bus connection per node, opened when first needed.
 *
 * The calls are synchronous on the main loop with a short timeout
 * (ZT_RESOLVED_TIMEOUT_USEC): they happen only when a network's DNS
 * changes, and resolved answers a root caller at once.  Built only with
 * libsystemd (sd-bus); without it the file backend stays alone. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>

#include "network.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-bus.h>

#define RESOLVE1 "org.freedesktop.resolve1"
#define RESOLVE1_PATH "/org/freedesktop/resolve1"
#define RESOLVE1_MANAGER "org.freedesktop.resolve1.Manager"
#define ZT_RESOLVED_TIMEOUT_USEC 500000

bool zt_resolved_built(void)
{
	return true;
}

/* The node's connection to the system bus, NULL (logged once) without one. */
static sd_bus *bus_get(struct zt_core *c)
{
	sd_bus *bus = c->resolved_bus;
	int rc;

	if (bus && sd_bus_is_open(bus) > 0)
		return bus;
	c->resolved_bus = sd_bus_flush_close_unref(bus);
	if ((rc = sd_bus_open_system(&bus)) < 0) {
		if (!c->resolved_warned)
			zt_logf(c->dns_backend == ZT_DNS_RESOLVED ? ZT_LOG_ERR : ZT_LOG_INFO,
				"pushed DNS: no system bus (%s): systemd-resolved is not told, "
				"only the file is written", strerror(-rc));
		c->resolved_warned = true;
		return NULL;
	}
	sd_bus_set_method_call_timeout(bus, ZT_RESOLVED_TIMEOUT_USEC);
	c->resolved_bus = bus;
	return bus;
}

/* auto: resolved is used only while it owns its name on the bus (a
 * resolved installed but not running is not started for us). */
static bool resolved_running(struct zt_core *c, sd_bus *bus)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int has = 0;

	if (c->dns_backend == ZT_DNS_RESOLVED)
		return true;
	if (sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
			       "NameHasOwner", &err, &reply, "s", RESOLVE1) < 0 ||
	    sd_bus_message_read(reply, "b", &has) < 0)
		has = 0;
	sd_bus_error_free(&err);
	sd_bus_message_unref(reply);
	if (!has && !c->resolved_warned)
		zt_logf(ZT_LOG_INFO, "pushed DNS: systemd-resolved is not on the system bus: only the file is written");
	c->resolved_warned = !has;
	return has;
}

static int append_servers(sd_bus_message *m, const union zt_sockaddr *servers, unsigned n)
{
	int rc = sd_bus_message_open_container(m, 'a', "(iay)");

	for (unsigned i = 0; rc >= 0 && i < n; i++) {
		const union zt_sockaddr *s = &servers[i];
		bool v4 = s->sa.sa_family == AF_INET;

		if ((rc = sd_bus_message_open_container(m, 'r', "iay")) < 0 ||
		    (rc = sd_bus_message_append(m, "i", (int32_t)s->sa.sa_family)) < 0 ||
		    (rc = sd_bus_message_append_array(m, 'y', v4 ? (const void *)&s->in4.sin_addr
								 : (const void *)&s->in6.sin6_addr,
						      v4 ? 4 : 16)) < 0)
			break;
		rc = sd_bus_message_close_container(m);
	}
	return rc < 0 ? rc : sd_bus_message_close_container(m);
}

/* One call to the manager, the message built by fill; 0 or -errno, the
 * bus's error text in why. */
static int manager_call(sd_bus *bus, const char *method, int ifindex,
			int (*fill)(sd_bus_message *m, const void *arg), const void *arg,
			char *why, size_t cap)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL;
	int rc;

	if ((rc = sd_bus_message_new_method_call(bus, &m, RESOLVE1, RESOLVE1_PATH, RESOLVE1_MANAGER, method)) >= 0 &&
	    (rc = sd_bus_message_append(m, "i", (int32_t)ifindex)) >= 0 && (!fill || (rc = fill(m, arg)) >= 0))
		rc = sd_bus_call(bus, m, 0, &err, NULL);
	snprintf(why, cap, "%s", err.message ? err.message : strerror(rc < 0 ? -rc : 0));
	sd_bus_error_free(&err);
	sd_bus_message_unref(m);
	return rc < 0 ? rc : 0;
}

struct dns_servers {
	const union zt_sockaddr *list;
	unsigned n;
};

static int fill_servers(sd_bus_message *m, const void *arg)
{
	const struct dns_servers *s = arg;

	return append_servers(m, s->list, s->n);
}

/* The domain as a search domain (route-only false), or none. */
static int fill_domains(sd_bus_message *m, const void *arg)
{
	const char *domain = arg;

	return domain[0] ? sd_bus_message_append(m, "a(sb)", 1, domain, 0) : sd_bus_message_append(m, "a(sb)", 0);
}

int zt_resolved_set(struct zt_core *c, const char *port, int ifindex, const union zt_sockaddr *servers,
		    unsigned n, const char *domain)
{
	struct dns_servers s = { servers, n };
	char why[256];
	sd_bus *bus = bus_get(c);
	int rc;

	if (!bus || !resolved_running(c, bus))
		return -ENOTCONN;
	if ((rc = manager_call(bus, "SetLinkDNS", ifindex, fill_servers, &s, why, sizeof why)) == 0)
		rc = manager_call(bus, "SetLinkDomains", ifindex, fill_domains, domain, why, sizeof why);
	if (rc < 0)
		zt_logf(c->dns_backend == ZT_DNS_RESOLVED ? ZT_LOG_ERR : ZT_LOG_WARN,
			"pushed DNS: systemd-resolved refused the DNS of %s: %s", port, why);
	else
		zt_logf(ZT_LOG_INFO, "pushed DNS: set on link %s (%d) by systemd-resolved", port, ifindex);
	return rc;
}

void zt_resolved_revert(struct zt_core *c, const char *port, int ifindex)
{
	char why[256], now[IF_NAMESIZE];
	sd_bus *bus;

	/* a port gone took its link's DNS with it (and its ifindex may be
	 * another link's by now) */
	if (!if_indextoname((unsigned)ifindex, now) || strcmp(now, port) != 0)
		return;
	if (!(bus = bus_get(c)))
		return;
	if (manager_call(bus, "RevertLink", ifindex, NULL, NULL, why, sizeof why) < 0)
		zt_logf(ZT_LOG_WARN, "pushed DNS: systemd-resolved kept the DNS of %s: %s", port, why);
	else
		zt_logf(ZT_LOG_INFO, "pushed DNS: removed from link %s (%d) in systemd-resolved", port, ifindex);
}

void zt_resolved_close(struct zt_core *c)
{
	c->resolved_bus = sd_bus_flush_close_unref(c->resolved_bus);
}

#else /* !HAVE_SYSTEMD */

bool zt_resolved_built(void)
{
	return false;
}

int zt_resolved_set(struct zt_core *c, const char *port, int ifindex, const union zt_sockaddr *servers,
		    unsigned n, const char *domain)
{
	(void)c, (void)port, (void)ifindex, (void)servers, (void)n, (void)domain;
	return -ENOTSUP;
}

void zt_resolved_revert(struct zt_core *c, const char *port, int ifindex)
{
	(void)c, (void)port, (void)ifindex;
}

void zt_resolved_close(struct zt_core *c)
{
	(void)c;
}

#endif
