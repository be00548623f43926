/* controller: networks and members as the HTTP API shows them (§8.6,
 * §8.7), and a POST body applied to them. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "../../policies/rules/compile.h"
#include "controller.h"

/* ---- new objects ---- */

void ctl_network_defaults(struct zt_store_network *n, uint64_t id, int64_t now)
{
	memset(n, 0, sizeof *n);
	n->id = id;
	n->name = strdup("");
	n->priv = true;
	n->enable_broadcast = true;
	n->mtu = ZT_NET_MTU_DEFAULT;
	n->multicast_limit = 32;
	n->pools = strdup("[]");
	n->routes = strdup("[]");
	n->rules = strdup(CTL_DEFAULT_RULES);
	n->tags = strdup("[]");
	n->capabilities = strdup("[]");
	n->dns = strdup("[]");
	n->auth_tokens = strdup("[null]");
	n->creation_time = now;
}

void ctl_member_init(struct zt_store_member *m, uint64_t nwid, uint64_t address, int64_t now)
{
	memset(m, 0, sizeof *m);
	m->nwid = nwid;
	m->address = address;
	m->v_major = m->v_minor = m->v_rev = m->v_proto = -1;
	m->creation_time = now;
}

/* ---- JSON of the objects (§8.6, §8.7) ---- */

static json_t *ctl_json_text(const char *text, const char *dflt)
{
	json_t *j = json_loads(text ? text : dflt, JSON_DECODE_ANY, NULL);

	return j ? j : json_loads(dflt, JSON_DECODE_ANY, NULL);
}

json_t *ctl_hex(uint64_t v, int digits)
{
	char buf[24];

	snprintf(buf, sizeof buf, "%0*" PRIx64, digits, v);
	return json_string(buf);
}

json_t *ctl_network_json(const struct zt_store_network *n)
{
	json_t *o = json_object(), *v4 = json_object(), *v6 = json_object();

	if (!o || !v4 || !v6) {
		json_decref(o);
		json_decref(v4);
		json_decref(v6);
		return NULL;
	}
	json_object_set_new(o, "id", ctl_hex(n->id, 16));
	json_object_set_new(o, "nwid", ctl_hex(n->id, 16));
	json_object_set_new(o, "objtype", json_string("network"));
	json_object_set_new(o, "name", json_string(n->name ? n->name : ""));
	json_object_set_new(o, "private", json_boolean(n->priv));
	json_object_set_new(o, "enableBroadcast", json_boolean(n->enable_broadcast));
	json_object_set_new(o, "mtu", json_integer((json_int_t)n->mtu));
	json_object_set_new(o, "multicastLimit", json_integer((json_int_t)n->multicast_limit));
	json_object_set_new(v4, "zt", json_boolean(n->v4_zt));
	json_object_set_new(o, "v4AssignMode", v4);
	json_object_set_new(v6, "rfc4193", json_boolean(n->v6_rfc4193));
	json_object_set_new(v6, "6plane", json_boolean(n->v6_6plane));
	json_object_set_new(v6, "zt", json_boolean(n->v6_zt));
	json_object_set_new(o, "v6AssignMode", v6);
	json_object_set_new(o, "ipAssignmentPools", ctl_json_text(n->pools, "[]"));
	json_object_set_new(o, "routes", ctl_json_text(n->routes, "[]"));
	json_object_set_new(o, "rules", ctl_json_text(n->rules, "[]"));
	json_object_set_new(o, "rulesSource", json_string(n->rules_source ? n->rules_source : ""));
	json_object_set_new(o, "capabilities", ctl_json_text(n->capabilities, "[]"));
	json_object_set_new(o, "tags", ctl_json_text(n->tags, "[]"));
	json_object_set_new(o, "dns", ctl_json_text(n->dns, "[]"));
	json_object_set_new(o, "authTokens", ctl_json_text(n->auth_tokens, "[null]"));
	json_object_set_new(o, "remoteTraceTarget", n->has_trace_target ? ctl_hex(n->trace_target, 10) : json_null());
	json_object_set_new(o, "remoteTraceLevel", json_integer((json_int_t)n->trace_level));
	if (n->ctmd)
		json_object_set_new(o, "certificateTimeoutWindowSize", json_integer(n->ctmd));
	json_object_set_new(o, "revision", json_integer((json_int_t)n->revision));
	json_object_set_new(o, "creationTime", json_integer(n->creation_time));
	return o;
}

static json_t *ctl_opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *ctl_member_json(const struct zt_store_member *m)
{
	json_t *o = json_object(), *ips = json_array();
	size_t i;

	if (!o || !ips) {
		json_decref(o);
		json_decref(ips);
		return NULL;
	}
	json_object_set_new(o, "id", ctl_hex(m->address, 10));
	json_object_set_new(o, "address", ctl_hex(m->address, 10));
	json_object_set_new(o, "nwid", ctl_hex(m->nwid, 16));
	json_object_set_new(o, "objtype", json_string("member"));
	json_object_set_new(o, "authorized", json_boolean(m->authorized));
	json_object_set_new(o, "activeBridge", json_boolean(m->active_bridge));
	json_object_set_new(o, "noAutoAssignIps", json_boolean(m->no_auto_assign_ips));
	for (i = 0; i < m->nips; i++)
		json_array_append_new(ips, json_string(m->ips[i]));
	json_object_set_new(o, "ipAssignments", ips);
	json_object_set_new(o, "capabilities", ctl_json_text(m->capabilities, "[]"));
	json_object_set_new(o, "tags", ctl_json_text(m->tags, "[]"));
	if (m->name)
		json_object_set_new(o, "name", json_string(m->name));
	if (m->identity)
		json_object_set_new(o, "identity", json_string(m->identity));
	json_object_set_new(o, "remoteTraceTarget", m->has_trace_target ? ctl_hex(m->trace_target, 10) : json_null());
	json_object_set_new(o, "remoteTraceLevel", json_integer((json_int_t)m->trace_level));
	json_object_set_new(o, "lastAuthorizedTime", json_integer(m->last_authorized_time));
	json_object_set_new(o, "lastDeauthorizedTime", json_integer(m->last_deauthorized_time));
	json_object_set_new(o, "lastAuthorizedCredentialType", ctl_opt_str(m->auth_cred_type));
	json_object_set_new(o, "lastAuthorizedCredential", ctl_opt_str(m->auth_cred));
	json_object_set_new(o, "vMajor", json_integer(m->v_major));
	json_object_set_new(o, "vMinor", json_integer(m->v_minor));
	json_object_set_new(o, "vRev", json_integer(m->v_rev));
	json_object_set_new(o, "vProto", json_integer(m->v_proto));
	json_object_set_new(o, "revision", json_integer((json_int_t)m->revision));
	json_object_set_new(o, "creationTime", json_integer(m->creation_time));
	return o;
}

/* ---- applying a POST body ---- */

/* Replace *dst by the compact text of j (stolen).  false without memory. */
static bool ctl_set_json(char **dst, json_t *j)
{
	char *t = j ? json_dumps(j, CTL_JSON_FLAGS | JSON_ENCODE_ANY) : NULL;

	json_decref(j);
	if (!t)
		return false;
	free(*dst);
	*dst = t;
	return true;
}

static bool ctl_set_str(char **dst, const char *s)
{
	char *d = strdup(s);

	if (!d)
		return false;
	free(*dst);
	*dst = d;
	return true;
}

/* A boolean key if present (ctl_json_bool): 0, or -EINVAL (an array or
 * object). */
static int ctl_get_bool(const json_t *body, const char *key, bool *out)
{
	const json_t *v = json_object_get(body, key);

	return !v || ctl_json_bool(v, out) ? 0 : -EINVAL;
}

static int ctl_get_uint(const json_t *body, const char *key, uint64_t max, uint64_t *out)
{
	const json_t *v = json_object_get(body, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
		return -EINVAL;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* remoteTraceTarget: 10 hex digits, anything else clears it. */
static void ctl_get_trace(const json_t *body, bool *has, uint64_t *target)
{
	const json_t *v = json_object_get(body, "remoteTraceTarget");
	const char *s = json_string_value(v);
	char *end;

	if (!v)
		return;
	*has = false;
	*target = 0;
	if (s && strlen(s) == 10) {
		uint64_t t = strtoull(s, &end, 16);

		if (!*end) {
			*has = true;
			*target = t;
		}
	}
}

static json_t *ctl_ip_json(const union zt_sockaddr *sa)
{
	char t[CTL_IP_TEXT];

	return ctl_ip_text(sa, t) < 0 ? NULL : json_string(t);
}

/* Rules as the builder reads them (build.c), those it cannot read left
 * out as the reference does, at most ZT_NETCONF_MAX_RULES; NULL when out
 * of memory. */
static json_t *ctl_rules_normalized(const json_t *rules)
{
	json_t *arr = json_array(), *r;
	const json_t *e;
	size_t i;

	json_array_foreach(rules, i, e) {
		r = ctl_rule_normalize(e);
		if (r && json_array_size(arr) < ZT_NETCONF_MAX_RULES)
			json_array_append_new(arr, r);
		else
			json_decref(r);
	}
	return arr;
}

/* A failed compilation's message: where, and what was expected. */
static _Thread_local char ctl_source_why[sizeof ((struct rulec_error *)0)->what + 48];

/* rulesSource: a flow rules source compiled (zt-rules(7)) into the
 * network's rules, capabilities and tags, kept with them; "" or null
 * drop the source and keep the rules, capabilities and tags. */
static int ctl_apply_source(struct zt_store_network *n, const json_t *v, const char **why)
{
	struct rulec_error err;
	json_t *out, *rules, *caps, *tags;
	char *text;
	bool ok;

	if (json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
		free(n->rules_source);
		n->rules_source = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return *why = "rulesSource: not a string", -EINVAL;
	out = rulec_compile(json_string_value(v), json_string_length(v), &err);
	if (!out) {
		if (err.line)
			snprintf(ctl_source_why, sizeof ctl_source_why, "rulesSource:%u:%u: %s", err.line,
				 err.col, err.what);
		else
			snprintf(ctl_source_why, sizeof ctl_source_why, "rulesSource: %s", err.what);
		return *why = ctl_source_why, strcmp(err.what, "out of memory") ? -EINVAL : -ENOMEM;
	}
	/* the capabilities and tags in the shapes the API takes them, so that
	 * members get them as credentials alike (build.c) */
	caps = ctl_cap_defs_normalize(json_object_get(out, "capabilities"), why);
	tags = caps ? ctl_tag_defs_normalize(json_object_get(out, "tags"), why) : NULL;
	rules = ctl_rules_normalized(json_object_get(out, "rules"));
	json_decref(out);
	if (!caps || !tags) {
		json_decref(caps);
		json_decref(rules);
		return -EINVAL;
	}
	/* each set takes its JSON, so all three run */
	ok = ctl_set_json(&n->rules, rules);
	ok = ctl_set_json(&n->capabilities, caps) && ok;
	ok = ctl_set_json(&n->tags, tags) && ok;
	if (!ok || !(text = strdup(json_string_value(v))))
		return -ENOMEM;
	free(n->rules_source);
	n->rules_source = text;
	return 0;
}

/* Apply a POST body to a network: 0, or -EINVAL with why (n is then
 * partly changed: the caller works on a copy), -ENOMEM. */
int ctl_network_apply(struct zt_store_network *n, const json_t *body, const char **why)
{
	const json_t *v, *e;
	union zt_sockaddr s, t;
	json_t *arr;
	size_t i;
	uint64_t u;

	if ((v = json_object_get(body, "name"))) {
		if (!json_is_string(v))
			return *why = "name: not a string", -EINVAL;
		if (!ctl_set_str(&n->name, json_string_value(v)))
			return -ENOMEM;
	}
	if (ctl_get_bool(body, "private", &n->priv) < 0)
		return *why = "private: not a boolean", -EINVAL;
	if (ctl_get_bool(body, "enableBroadcast", &n->enable_broadcast) < 0)
		return *why = "enableBroadcast: not a boolean", -EINVAL;
	if (ctl_get_uint(body, "multicastLimit", UINT32_MAX, &n->multicast_limit) < 0)
		return *why = "multicastLimit: not a non-negative integer", -EINVAL;
	u = n->mtu;
	if (ctl_get_uint(body, "mtu", UINT32_MAX, &u) < 0)
		return *why = "mtu: not a non-negative integer", -EINVAL;
	n->mtu = u < ZT_NET_MTU_MIN ? ZT_NET_MTU_MIN : u > ZT_NET_MTU_MAX ? ZT_NET_MTU_MAX : u;
	if ((v = json_object_get(body, "v4AssignMode"))) {
		if (json_is_string(v))
			n->v4_zt = !strcmp(json_string_value(v), "zt");
		else if (!json_is_object(v) || ctl_get_bool(v, "zt", &n->v4_zt) < 0)
			return *why = "v4AssignMode: not {\"zt\": boolean}", -EINVAL;
	}
	if ((v = json_object_get(body, "v6AssignMode"))) {
		if (json_is_string(v)) {
			char buf[256], *tok, *save;

			snprintf(buf, sizeof buf, "%s", json_string_value(v));
			n->v6_rfc4193 = n->v6_6plane = n->v6_zt = false;
			for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (!strcmp(tok, "rfc4193"))
					n->v6_rfc4193 = true;
				else if (!strcmp(tok, "6plane"))
					n->v6_6plane = true;
				else if (!strcmp(tok, "zt"))
					n->v6_zt = true;
			}
		} else if (!json_is_object(v) || ctl_get_bool(v, "rfc4193", &n->v6_rfc4193) < 0 ||
			   ctl_get_bool(v, "6plane", &n->v6_6plane) < 0 ||
			   ctl_get_bool(v, "zt", &n->v6_zt) < 0) {
			return *why = "v6AssignMode: not {\"rfc4193\", \"6plane\", \"zt\": boolean}", -EINVAL;
		}
	}
	if ((v = json_object_get(body, "ipAssignmentPools"))) {
		if (!json_is_array(v))
			return *why = "ipAssignmentPools: not an array", -EINVAL;
		arr = json_array();
		json_array_foreach(v, i, e) {
			json_t *p;

			if (ctl_ip_parse(json_string_value(json_object_get(e, "ipRangeStart")), &s) < 0 ||
			    ctl_ip_parse(json_string_value(json_object_get(e, "ipRangeEnd")), &t) < 0 ||
			    s.sa.sa_family != t.sa.sa_family) {
				json_decref(arr);
				return *why = "ipAssignmentPools: each needs ipRangeStart and ipRangeEnd, IPs of one family", -EINVAL;
			}
			p = json_object();
			json_object_set_new(p, "ipRangeStart", ctl_ip_json(&s));
			json_object_set_new(p, "ipRangeEnd", ctl_ip_json(&t));
			json_array_append_new(arr, p);
		}
		if (!ctl_set_json(&n->pools, arr))
			return -ENOMEM;
	}
	if ((v = json_object_get(body, "routes"))) {
		if (!json_is_array(v))
			return *why = "routes: not an array", -EINVAL;
		arr = json_array();
		json_array_foreach(v, i, e) {
			char text[CTL_IP_TEXT], cidr[CTL_IP_TEXT + 8];
			json_t *r;
			unsigned bits;

			if (ctl_cidr_parse(json_string_value(json_object_get(e, "target")), &t) < 0) {
				json_decref(arr);
				return *why = "routes: each needs a target ip/bits", -EINVAL;
			}
			bits = ntohs(t.sa.sa_family == AF_INET ? t.in4.sin_port : t.in6.sin6_port);
			ctl_ip_text(&t, text);
			snprintf(cidr, sizeof cidr, "%s/%u", text, bits);
			r = json_object();
			json_object_set_new(r, "target", json_string(cidr));
			if (ctl_ip_parse(json_string_value(json_object_get(e, "via")), &s) == 0 &&
			    s.sa.sa_family == t.sa.sa_family)
				json_object_set_new(r, "via", ctl_ip_json(&s));
			else
				json_object_set_new(r, "via", json_null());
			json_array_append_new(arr, r);
		}
		if (!ctl_set_json(&n->routes, arr))
			return -ENOMEM;
	}
	if ((v = json_object_get(body, "rules"))) {
		if (!json_is_array(v))
			return *why = "rules: not an array", -EINVAL;
		if (!ctl_set_json(&n->rules, ctl_rules_normalized(v)))
			return -ENOMEM;
	}
	if ((v = json_object_get(body, "tags")) &&
	    (arr = ctl_tag_defs_normalize(v, why), !arr || !ctl_set_json(&n->tags, arr)))
		return arr ? -ENOMEM : -EINVAL;
	if ((v = json_object_get(body, "capabilities")) &&
	    (arr = ctl_cap_defs_normalize(v, why), !arr || !ctl_set_json(&n->capabilities, arr)))
		return arr ? -ENOMEM : -EINVAL;
	/* a source given wins over the rules, capabilities and tags beside
	 * it; any of them given alone replaces its part and forgets the
	 * source, which no longer says what the network holds */
	if ((v = json_object_get(body, "rulesSource"))) {
		int err = ctl_apply_source(n, v, why);

		if (err < 0)
			return err;
	} else if (json_object_get(body, "rules") || json_object_get(body, "tags") ||
		   json_object_get(body, "capabilities")) {
		ctl_apply_source(n, json_null(), why);
	}
	if ((v = json_object_get(body, "dns"))) {
		if (json_is_object(v)) {
			const json_t *d = json_object_get(v, "domain"), *sv = json_object_get(v, "servers");
			json_t *o, *servers;

			if ((d && !json_is_string(d)) || (sv && !json_is_array(sv)))
				return *why = "dns: not {\"domain\": string, \"servers\": [IPs]}", -EINVAL;
			servers = json_array();
			json_array_foreach(sv, i, e) {
				if (ctl_ip_parse(json_string_value(e), &s) < 0) {
					json_decref(servers);
					return *why = "dns: servers: not an IP", -EINVAL;
				}
				json_array_append_new(servers, ctl_ip_json(&s));
			}
			o = json_object();
			json_object_set_new(o, "domain", json_string(d ? json_string_value(d) : ""));
			json_object_set_new(o, "servers", servers);
			if (!ctl_set_json(&n->dns, o))
				return -ENOMEM;
		} else if (json_is_array(v) && !json_array_size(v)) {
			if (!ctl_set_json(&n->dns, json_array()))
				return -ENOMEM;
		} else {
			return *why = "dns: not an object", -EINVAL;
		}
	}
	if ((v = json_object_get(body, "authTokens"))) {
		json_t *o;
		const char *k;

		if (json_is_object(v)) {
			o = json_object();
			json_object_foreach((json_t *)v, k, e)
				if (json_is_integer(e) && json_integer_value(e) >= 0)
					json_object_set_new(o, k, json_integer(json_integer_value(e)));
		} else {
			o = json_loads("[null]", 0, NULL);
		}
		if (!ctl_set_json(&n->auth_tokens, o))
			return -ENOMEM;
	}
	ctl_get_trace(body, &n->has_trace_target, &n->trace_target);
	if (ctl_get_uint(body, "remoteTraceLevel", 255, &n->trace_level) < 0)
		return *why = "remoteTraceLevel: not an integer 0..255", -EINVAL;
	return 0;
}

static bool ctl_has_ip_text(const struct zt_store_member *m, const char *t)
{
	size_t i;

	for (i = 0; i < m->nips; i++)
		if (!strcmp(m->ips[i], t))
			return true;
	return false;
}

int ctl_member_apply(struct zt_store_member *m, const json_t *body, int64_t now, const char **why)
{
	const json_t *v, *e;
	json_t *arr;
	bool auth = m->authorized;
	union zt_sockaddr sa;
	char t[CTL_IP_TEXT];
	size_t i;

	if (ctl_get_bool(body, "authorized", &auth) < 0)
		return *why = "authorized: not a boolean", -EINVAL;
	if (ctl_get_bool(body, "activeBridge", &m->active_bridge) < 0)
		return *why = "activeBridge: not a boolean", -EINVAL;
	if (ctl_get_bool(body, "noAutoAssignIps", &m->no_auto_assign_ips) < 0)
		return *why = "noAutoAssignIps: not a boolean", -EINVAL;
	if ((v = json_object_get(body, "name"))) {
		if (json_is_null(v)) {
			free(m->name);
			m->name = NULL;
		} else if (!json_is_string(v)) {
			return *why = "name: not a string", -EINVAL;
		} else if (!ctl_set_str(&m->name, json_string_value(v))) {
			return -ENOMEM;
		}
	}
	if ((v = json_object_get(body, "ipAssignments"))) {
		struct zt_store_member tmp;

		if (!json_is_array(v))
			return *why = "ipAssignments: not an array", -EINVAL;
		memset(&tmp, 0, sizeof tmp);
		json_array_foreach(v, i, e) {
			if (ctl_ip_parse(json_string_value(e), &sa) < 0 || ctl_ip_text(&sa, t) < 0 ||
			    ctl_has_ip_text(&tmp, t))
				continue;
			if (zt_store_member_add_ip(&tmp, t) < 0) {
				zt_store_member_clear(&tmp);
				return -ENOMEM;
			}
		}
		for (i = 0; i < m->nips; i++)
			free(m->ips[i]);
		free(m->ips);
		m->ips = tmp.ips;
		m->nips = tmp.nips;
	}
	if ((v = json_object_get(body, "tags")) &&
	    (arr = ctl_member_tags_normalize(v, why), !arr || !ctl_set_json(&m->tags, arr)))
		return arr ? -ENOMEM : -EINVAL;
	if ((v = json_object_get(body, "capabilities")) &&
	    (arr = ctl_member_caps_normalize(v, why), !arr || !ctl_set_json(&m->capabilities, arr)))
		return arr ? -ENOMEM : -EINVAL;
	ctl_get_trace(body, &m->has_trace_target, &m->trace_target);
	if (ctl_get_uint(body, "remoteTraceLevel", 255, &m->trace_level) < 0)
		return *why = "remoteTraceLevel: not an integer 0..255", -EINVAL;
	if (auth != m->authorized) {
		m->authorized = auth;
		if (auth) {
			m->last_authorized_time = now;
			if (!ctl_set_str(&m->auth_cred_type, "api"))
				return -ENOMEM;
			free(m->auth_cred);
			m->auth_cred = NULL;
		} else {
			m->last_deauthorized_time = now;
		}
	}
	return 0;
}

/* ---- the dns module's servers ---- */

int ctl_dns_servers_apply(struct zt_dns *d, const json_t *body, const char **why)
{
	const json_t *servers = json_object_get(body, "servers"), *v;
	size_t i;

	if (!json_is_array(servers) || json_array_size(servers) > ZT_DNS_SERVERS) {
		*why = "servers: not an array of at most 4 IPs";
		return -EINVAL;
	}
	json_array_foreach(servers, i, v) {
		if (ctl_ip_parse(json_string_value(v), &d->servers[i]) < 0) {
			*why = "servers: not an IP";
			return -EINVAL;
		}
	}
	return 0;
}

json_t *ctl_dns_servers_json(const struct zt_dns *d)
{
	json_t *arr = json_array();
	char text[CTL_IP_TEXT];

	for (size_t i = 0; d && i < ZT_DNS_SERVERS; i++)
		if (d->servers[i].sa.sa_family != AF_UNSPEC && ctl_ip_text(&d->servers[i], text) == 0)
			json_array_append_new(arr, json_string(text));
	return json_pack("{so}", "servers", arr);
}
