/* api: /network, joining and leaving (networks.md §9.3, §9.4). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* An IP without port, or null. */
static json_t *api_ip_json(const union zt_sockaddr *a)
{
	char host[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof host);
	else if (a->sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof host);
	else
		return json_null();
	return json_string(host);
}

/* "ip/bits" of an address whose port field holds the prefix length. */
static json_t *api_cidr_json(const union zt_sockaddr *a)
{
	return api_addr_json(a);
}

/* The pushed DNS as 1.14 shows it: {"domain": "...", "servers": [ips]}. */
static json_t *api_dns_json(const struct zt_dns *d)
{
	union zt_sockaddr servers[ZT_DNS_SERVERS];
	unsigned count = zt_dns_servers(d, servers);
	json_t *list = json_array();

	for (unsigned i = 0; list && i < count; i++)
		if (json_array_append_new(list, api_ip_json(&servers[i])) < 0) {
			json_decref(list);
			return NULL;
		}
	return list ? json_pack("{s:s%,s:o}", "domain", d->domain, strnlen(d->domain, ZT_DNS_DOMAIN_LEN - 1),
				"servers", list) : NULL;
}

static json_t *api_network_json(const struct zt_network_info *n)
{
	json_t *o = json_object(), *addrs = json_array(), *routes = json_array(), *groups = json_array();
	char mac[18], id[17];
	int err = 0;

	if (!o || !addrs || !routes || !groups)
		goto fail;
	for (unsigned i = 0; i < n->n_addrs; i++)
		err |= json_array_append_new(addrs, api_cidr_json(&n->addrs[i]));
	for (unsigned i = 0; i < n->n_routes; i++) {
		json_t *r = json_object();

		if (!r)
			goto fail;
		err |= api_set(r, "target", api_cidr_json(&n->routes[i].target));
		err |= json_object_set_new(r, "via", api_ip_json(&n->routes[i].via));
		err |= api_set(r, "flags", json_integer(n->routes[i].flags));
		err |= api_set(r, "metric", json_integer(n->routes[i].metric));
		err |= json_array_append_new(routes, r);
	}
	for (unsigned i = 0; i < n->n_groups; i++) {
		json_t *g = json_object();

		if (!g)
			goto fail;
		snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", n->groups[i].mac[0], n->groups[i].mac[1],
			 n->groups[i].mac[2], n->groups[i].mac[3], n->groups[i].mac[4], n->groups[i].mac[5]);
		err |= api_set(g, "mac", json_string(mac));
		err |= api_set(g, "adi", json_integer(n->groups[i].adi));
		err |= json_array_append_new(groups, g);
	}
	snprintf(id, sizeof id, "%016" PRIx64, n->nwid);
	snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2],
		 n->mac[3], n->mac[4], n->mac[5]);
	err |= api_set(o, "id", json_string(id));
	err |= api_set(o, "nwid", json_string(id));
	err |= api_set(o, "mac", json_string(mac));
	err |= api_set(o, "name", json_string(n->name));
	err |= api_set(o, "status", json_string(n->status ? n->status : "REQUESTING_CONFIGURATION"));
	err |= api_set(o, "type", json_string(n->public_net ? "PUBLIC" : "PRIVATE"));
	err |= api_set(o, "mtu", json_integer(n->mtu));
	err |= api_set(o, "dhcp", json_false());
	err |= api_set(o, "bridge", json_boolean(n->bridge));
	err |= api_set(o, "broadcastEnabled", json_boolean(n->broadcast));
	err |= api_set(o, "portError", json_integer(n->status && !strcmp(n->status, "PORT_ERROR") ? -999 : 0));
	err |= api_set(o, "netconfRevision", json_integer((json_int_t)n->revision));
	err |= api_set(o, "portDeviceName", json_string(n->port ? n->port : ""));
	for (unsigned i = 0; i < ZT_NET_SETTINGS; i++) {
		struct zt_net_settings st = n->settings;

		err |= api_set(o, zt_net_setting_names[i], json_boolean(*zt_net_setting(&st, i)));
	}
	err |= api_set(o, "assignedAddresses", addrs);
	err |= api_set(o, "routes", routes);
	err |= api_set(o, "multicastSubscriptions", groups);
	err |= api_set(o, "dns", api_dns_json(&n->dns));
	err |= api_set(o, "dnsApplied", json_boolean(n->dns_applied));
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
fail:
	json_decref(addrs);
	json_decref(routes);
	json_decref(groups);
	json_decref(o);
	return NULL;
}

struct api_nets_ctx {
	json_t *arr;
	bool failed;
};

static void api_nets_visit(void *ctx, const struct zt_network_info *net)
{
	struct api_nets_ctx *nc = ctx;
	json_t *j;

	if (nc->failed)
		return;
	j = api_network_json(net);
	if (!j || json_array_append_new(nc->arr, j) < 0)
		nc->failed = true;
}

/* One network's object, or 404 {} if it is not joined (any more). */
static int api_network_reply(struct api *a, struct api_conn *c, uint64_t nwid)
{
	struct zt_network_info *ni = malloc(sizeof *ni);
	json_t *j;

	if (!ni)
		return api_fail(a, c, 500, "out of memory");
	if (zt_core_network(a->core, nwid, ni) < 0) {
		free(ni);
		return api_reply_empty(a, c, 404);
	}
	j = api_network_json(ni);
	free(ni);
	if (!j)
		return api_fail(a, c, 500, "out of memory");
	return api_reply(a, c, 200, j);
}

/* POST /network/<nwid>: join (if not joined yet), then apply the local
 * settings the body gives. */
static int api_network_join(struct api *a, struct api_conn *c, struct api_req *rq)
{
	json_t *body = api_body_object(rq->body, rq->len);
	struct zt_net_settings s;
	unsigned mask = api_body_settings(body, &s);
	int err;

	json_decref(body);
	err = zt_core_join(a->core, rq->nwid);
	if (err == -EINVAL && (rq->nwid >> 56) == 0xff)
		return api_fail(a, c, 400,
				"join %016" PRIx64 ": ad-hoc networks (ff...) are not supported", rq->nwid);
	if (err == -EINVAL)
		return api_fail(a, c, 400, "join %016" PRIx64 ": %s", rq->nwid, strerror(-err));
	if (err == -ENODEV)
		return api_fail(a, c, 500, "join %016" PRIx64 ": its port could not be made (see the log)",
				rq->nwid);
	if (err < 0)
		return api_fail(a, c, 500, "join %016" PRIx64 ": %s", rq->nwid, strerror(-err));
	err = mask ? zt_core_network_set(a->core, rq->nwid, &s, mask) : 0;
	if (err == -EPERM)
		return api_fail(a, c, 403, "network %016" PRIx64 ": ztd.yaml sets this local setting: change it there",
				rq->nwid);
	if (err < 0)
		return api_fail(a, c, 500, "network %016" PRIx64 ": %s", rq->nwid, strerror(-err));
	return api_network_reply(a, c, rq->nwid);
}

/* DELETE /network/<nwid>: leave; {"result":true}, or {} if not joined. */
static int api_network_leave(struct api *a, struct api_conn *c, struct api_req *rq)
{
	int err = zt_core_leave(a->core, rq->nwid);

	if (err == -ENOENT)
		return api_reply_empty(a, c, 200);
	if (err == -EPERM)
		return api_fail(a, c, 403,
				"network %016" PRIx64 " is listed in ztd.yaml: remove it there to leave it",
				rq->nwid);
	if (err < 0)
		return api_fail(a, c, 500, "leave %016" PRIx64 ": %s", rq->nwid, strerror(-err));
	return api_reply(a, c, 200, json_pack("{s:b}", "result", 1));
}
/* GET /network: every network joined. */
int api_networks(struct api *a, struct api_conn *c)
{
	struct api_nets_ctx nc = { json_array(), false };

	if (!nc.arr)
		return api_reply(a, c, 500, api_error_json(500, "out of memory"));
	zt_core_networks(a->core, api_nets_visit, &nc);
	if (nc.failed) {
		json_decref(nc.arr);
		return api_reply(a, c, 500, api_error_json(500, "out of memory"));
	}
	return api_reply(a, c, 200, nc.arr);
}

/* /network/<nwid>: GET, POST (join) or DELETE (leave). */
int api_network(struct api *a, struct api_conn *c, struct api_req *rq)
{
	if (rq->method == API_M_POST)
		return api_network_join(a, c, rq);
	if (rq->method == API_M_DELETE)
		return api_network_leave(a, c, rq);
	return api_network_reply(a, c, rq->nwid);
}
