/* controller: the DNS servers of the dns module of this ztd, network by
 * network (zt-dns(7)).  The module announces the addresses it answers on
 * (POST /unstable/controller/network/<nwid>/dns-service, in process) and
 * withdraws them when it stops; build.c gives them to members as the
 * network's DNS servers while the network names none.
 *
 * Why in memory and not written into the network's dns object: the
 * servers are true only while the module runs.  Stored, they would
 * outlive a module that is removed or a ztd that stops, could not be
 * told apart from servers an operator set, and would change the
 * network's revision at every start.  Here they go with the process,
 * the operator's dns.servers are never touched, and a restarted
 * controller learns them again from the module's next announcement. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zt/inetaddr.h>

#include "controller.h"

static bool ctl_dns_same(const struct zt_dns *a, const struct zt_dns *b)
{
	for (size_t i = 0; i < ZT_DNS_SERVERS; i++)
		if (a->servers[i].sa.sa_family != b->servers[i].sa.sa_family ||
		    (a->servers[i].sa.sa_family != AF_UNSPEC &&
		     !zt_inetaddr_equal(&a->servers[i], &b->servers[i], false)))
			return false;
	return true;
}

const struct zt_dns *ctl_dns_service_find(const struct ctl *c, uint64_t nwid)
{
	for (const struct ctl_dns_service *s = c->dns_services; s; s = s->next)
		if (s->nwid == nwid)
			return &s->servers;
	return NULL;
}

/* The module's servers for nwid: servers (the first ones set, the rest
 * AF_UNSPEC), or none when servers is NULL or holds none.  1 changed, 0
 * the same, -ENOMEM. */
int ctl_dns_service_set(struct ctl *c, uint64_t nwid, const struct zt_dns *servers)
{
	struct ctl_dns_service **pp, *s;
	bool none = !servers || servers->servers[0].sa.sa_family == AF_UNSPEC;

	for (pp = &c->dns_services; (s = *pp); pp = &s->next)
		if (s->nwid == nwid)
			break;
	if (none) {
		if (!s)
			return 0;
		*pp = s->next;
		free(s);
		return 1;
	}
	if (s) {
		if (ctl_dns_same(&s->servers, servers))
			return 0;
	} else {
		if (!(s = calloc(1, sizeof *s)))
			return -ENOMEM;
		s->nwid = nwid;
		s->next = c->dns_services;
		c->dns_services = s;
	}
	memcpy(s->servers.servers, servers->servers, sizeof s->servers.servers);
	return 1;
}

void ctl_dns_services_free(struct ctl *c)
{
	struct ctl_dns_service *s;

	while ((s = c->dns_services)) {
		c->dns_services = s->next;
		free(s);
	}
}
