/* api: /config and /config/settings (networks.md §9.3). */
#include "config.h"

#include <string.h>

#include "api.h"

/* The "config" object of /status and GET /config: zt has no local.conf,
 * so it is only "settings" with what the node actually runs with. */
json_t *api_config_json(const struct zt_status *st)
{
	json_t *conf = json_object(), *set = json_object();
	size_t nl = st->n_listening, ns = st->n_surface;
	int err = 0;

	if (!conf || !set)
		goto fail;
	if (nl > sizeof st->listening / sizeof st->listening[0])
		nl = sizeof st->listening / sizeof st->listening[0];
	if (ns > sizeof st->surface / sizeof st->surface[0])
		ns = sizeof st->surface / sizeof st->surface[0];
	err |= api_set(set, "allowTcpFallbackRelay", json_false());
	err |= api_set(set, "forceTcpRelay", json_false());
	err |= api_set(set, "homeDir", json_string(st->home ? st->home : ""));
	err |= api_set(set, "listeningOn", api_addrs_json(st->listening, nl));
	err |= api_set(set, "portMappingEnabled", json_false());
	err |= api_set(set, "primaryPort", json_integer(api_primary_port(st->listening, nl)));
	err |= api_set(set, "secondaryPort", json_integer(0));
	err |= api_set(set, "tertiaryPort", json_integer(0));
	err |= api_set(set, "softwareUpdate", json_string("disable"));
	err |= api_set(set, "softwareUpdateChannel", json_string("release"));
	err |= api_set(set, "surfaceAddresses", api_addrs_json(st->surface, ns));
	err |= api_set(conf, "settings", set);
	set = NULL;
	if (err)
		goto fail;
	return conf;
fail:
	json_decref(set);
	json_decref(conf);
	return NULL;
}

/* GET /config: {"settings":...}, what the node runs with. */
int api_config(struct api *a, struct api_conn *c)
{
	struct zt_status st;
	json_t *j;

	memset(&st, 0, sizeof st);
	zt_core_status(a->core, &st);
	j = api_config_json(&st);
	if (!j)
		return api_fail(a, c, 500, "out of memory");
	return api_reply(a, c, 200, j);
}

/* POST /config/settings: zt has no local.conf and changes nothing at
 * run time; {} (nothing to merge) is accepted, anything else is 400. */
int api_config_settings(struct api *a, struct api_conn *c, struct api_req *rq)
{
	char why[API_WHY_MAX];

	if (!api_body_config_settings(rq->body, rq->len, why, sizeof why))
		return api_fail(a, c, 400, "%s", why);
	return api_reply_empty(a, c, 200);
}
