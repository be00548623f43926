/* api: the local HTTP/JSON service API (networks.md §9), served over
 * HTTP/1.1 on the loop ztd gives us: non-blocking sockets, one ev_io and
 * one idle timer per connection, requests read by http.c (libhttp-parser)
 * and bodies built by jansson.  See api(7). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>
#include <sodium.h>

#include <zt/module.h>
#include <zt/node.h>

#include "http.h"

/* Listen addresses one instance may have. */
#define API_MAX_LISTEN 16
/* Longest token read from the token file, in bytes. */
#define API_TOKEN_MAX 256
/* Length of a token this module creates (networks.md §9.1). */
#define API_TOKEN_LEN 24
/* Longest text of an address, "[v6]:port" or "v6/port". */
#define API_ADDRSTRLEN (INET6_ADDRSTRLEN + 16)
/* Largest accepted max-body, and the JSON flags of every response. */
#define API_BODY_LIMIT (64u << 20)
#define API_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)
/* Bytes read from a connection at once (and kept, unparsed, at most). */
#define API_IN_SIZE 4096
/* An output buffer larger than this is freed once it is sent. */
#define API_OUT_KEEP 16384
/* Seconds a connection may take to read an answer that closes it. */
#define API_LINGER_S 2.0
/* Seconds accepting pauses when there are no file descriptors left. */
#define API_BACKOFF_S 0.25

struct api;

/* One listening socket. */
struct api_listener {
	struct api *a;
	union zt_sockaddr addr;     /* as configured, then as bound */
	int fd;
	ev_io io;                   /* readable: connections to accept */
};

struct api {
	struct zt_inst *zi;
	struct ev_loop *loop;
	struct zt_core *core;       /* NULL when the pipeline has no node */
	bool allow_remote;
	bool started;
	char *token_file;           /* as configured, or NULL for <home>/authtoken.secret */
	size_t max_body;
	unsigned max_conns, conns;
	unsigned timeout_s;
	char token[API_TOKEN_MAX + 1];
	size_t token_len;
	char mtoken[API_TOKEN_MAX + 1];   /* <home>/metricstoken.secret, for /metrics only */
	size_t mtoken_len;                /* 0: none (no home) */
	unsigned nlisten;
	struct api_listener listen[API_MAX_LISTEN];
	struct api_conn *conn_list;       /* open connections */
	ev_timer backoff;                 /* accepting paused: out of fds */

	uint64_t *requests, *unauthorized, *refused, *too_large, *bad_requests, *errors;
};

/* One HTTP request, from its headers to its completion. */
struct api_req {
	int route;                  /* what the request asks for, API_R_* */
	int method;                 /* API_M_* */
	uint64_t nwid;              /* the network or moon in the path, if any */
	char *url;                  /* the path, decoded */
	const char *query;          /* after '?' in the target, or NULL */
	const char *method_name;    /* API_R_SERVICE: passed on to the core */
	uint64_t peer;              /* the address in the path, if any */
	size_t len;
	const char *body;           /* borrowed from the connection's parser */
};

/* One client connection. */
struct api_conn {
	struct api *a;
	struct api_conn *prev, *next;
	int fd;
	ev_io io;
	ev_timer timer;             /* idle timeout, then the lingering close */
	struct api_http http;
	struct api_req rq;
	bool head;                  /* a HEAD request: no body in the answer */
	bool keep_alive;            /* the client keeps the connection open */
	bool closing;               /* close once the output is sent */
	bool lingering;             /* output sent, write side shut: reading to EOF */
	bool eof;                   /* the client sent all it will */
	bool broken;                /* close now */
	char *out;
	size_t out_off, out_len, out_cap;
	size_t in_off, in_len;
	char in[API_IN_SIZE];
};

enum {
	API_R_STATUS = 1,
	API_R_HEALTH,
	API_R_PEERS,
	API_R_PEER,
	API_R_ECHO,
	API_R_SERVICE,              /* a path another service registered */
	API_R_NETWORKS,
	API_R_NETWORK,
	API_R_MOONS,
	API_R_MOON,
	API_R_CONFIG,
	API_R_CONFIG_SETTINGS,
	API_R_METRICS,
};

/* Methods, as a mask of what a route takes (HEAD is GET, PUT is POST). */
enum {
	API_M_GET = 1,
	API_M_POST = 2,
	API_M_DELETE = 4,
};

/* ---- addresses ---- */

static socklen_t api_addrlen(const union zt_sockaddr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof a->in6 : sizeof a->in4;
}

static uint16_t api_port(const union zt_sockaddr *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in4.sin_port);
}

/* "198.18.0.1:9993", "[::1]:9993": for log messages. */
static const char *api_addr_str(const union zt_sockaddr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof host);
		snprintf(buf, len, "[%s]:%u", host, ntohs(a->in6.sin6_port));
	} else if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof host);
		snprintf(buf, len, "%s:%u", host, ntohs(a->in4.sin_port));
	} else {
		snprintf(buf, len, "(family %d)", a->sa.sa_family);
	}
	return buf;
}

/* "198.18.0.1/9993", "2001:db8::1/9993": ZeroTier's text of an address
 * with a port, as the API shows it.  NULL for other families. */
static json_t *api_addr_json(const union zt_sockaddr *a)
{
	char host[INET6_ADDRSTRLEN], buf[API_ADDRSTRLEN];

	if (a->sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof host);
	else if (a->sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof host);
	else
		return NULL;
	snprintf(buf, sizeof buf, "%s/%u", host, api_port(a));
	return json_string(buf);
}

static bool api_is_loopback(const union zt_sockaddr *a)
{
	if (a->sa.sa_family == AF_INET)
		return (ntohl(a->in4.sin_addr.s_addr) >> 24) == 127;
	if (a->sa.sa_family == AF_INET6) {
		const uint8_t *b = a->in6.sin6_addr.s6_addr;

		if (IN6_IS_ADDR_LOOPBACK(&a->in6.sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr) && b[12] == 127;
	}
	return false;
}

/* ---- JSON bodies ---- */

static int api_set(json_t *obj, const char *key, json_t *v)
{
	return v ? json_object_set_new(obj, key, v) : -1;
}

static json_t *api_hex40(uint64_t address)
{
	char buf[16];

	snprintf(buf, sizeof buf, "%010" PRIx64, address & (uint64_t)0xffffffffff);
	return json_string(buf);
}

static const char *api_role(enum zt_role r)
{
	switch (r) {
	case ZT_ROLE_PLANET: return "PLANET";
	case ZT_ROLE_MOON: return "MOON";
	default: return "LEAF";
	}
}

/* zt's own version, "major.minor.rev", as the API reports it. */
static void api_version(int v[3])
{
	v[0] = v[1] = v[2] = 0;
	sscanf(PACKAGE_VERSION, "%d.%d.%d", &v[0], &v[1], &v[2]);
}

static int api_set_version(json_t *o)
{
	char buf[48];
	int v[3], err = 0;

	api_version(v);
	snprintf(buf, sizeof buf, "%d.%d.%d", v[0], v[1], v[2]);
	err |= api_set(o, "version", json_string(buf));
	err |= api_set(o, "versionMajor", json_integer(v[0]));
	err |= api_set(o, "versionMinor", json_integer(v[1]));
	err |= api_set(o, "versionRev", json_integer(v[2]));
	err |= api_set(o, "versionBuild", json_integer(0));
	return err;
}

static json_t *api_addrs_json(const union zt_sockaddr *a, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < n; i++) {
		json_t *s = api_addr_json(&a[i]);

		if (s && json_array_append_new(arr, s) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* The node's primary port: that of its first IPv4 listening address,
 * else of its first address, else 0. */
static unsigned api_primary_port(const union zt_sockaddr *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].sa.sa_family == AF_INET)
			return api_port(&a[i]);
	return n ? api_port(&a[0]) : 0;
}

/* The "config" object of /status and GET /config: zt has no local.conf,
 * so it is only "settings" with what the node actually runs with. */
static json_t *api_config_json(const struct zt_status *st)
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

static json_t *api_status_json(const struct zt_status *st)
{
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	err |= api_set(o, "config", api_config_json(st));
	err |= api_set(o, "address", api_hex40(st->address));
	err |= api_set(o, "publicIdentity", json_string(st->public_identity));
	err |= api_set(o, "online", json_boolean(st->online));
	err |= api_set(o, "tcpFallbackActive", json_false());
	err |= api_set(o, "clock", json_integer((json_int_t)st->clock_ms));
	err |= api_set(o, "planetWorldId", json_integer((json_int_t)st->planet_id));
	err |= api_set(o, "planetWorldTimestamp", json_integer((json_int_t)st->planet_timestamp));
	err |= api_set_version(o);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *api_health_json(const struct zt_status *st)
{
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	err |= api_set(o, "clock", json_integer((json_int_t)st->clock_ms));
	err |= api_set(o, "online", json_boolean(st->online));
	err |= api_set_version(o);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *api_path_json(const struct zt_core *core, const struct zt_path_info *p)
{
	const char *transport = zt_core_path_transport(core, p->local_socket);
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	err |= api_set(o, "address", api_addr_json(&p->address));
	err |= api_set(o, "lastSend", json_integer((json_int_t)p->last_send));
	err |= api_set(o, "lastReceive", json_integer((json_int_t)p->last_receive));
	err |= api_set(o, "trustedPathId", json_integer(0));
	err |= api_set(o, "active", json_boolean(p->active));
	err |= api_set(o, "expired", json_boolean(p->expired));
	err |= api_set(o, "preferred", json_boolean(p->preferred));
	err |= api_set(o, "localSocket", json_integer(p->local_socket));
	err |= api_set(o, "localPort", json_integer(p->local_port));
	err |= api_set(o, "transport", json_string(transport ? transport : ""));
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *api_peer_json(const struct zt_core *core, const struct zt_peer_info *p)
{
	bool tunneled = false;
	json_t *o = json_object(), *paths = json_array();
	char ver[48];
	unsigned i, n = p->n_paths;
	int err = 0;

	if (!o || !paths)
		goto fail;
	if (n > ZT_INFO_MAX_PATHS)
		n = ZT_INFO_MAX_PATHS;
	for (i = 0; i < n; i++) {
		json_t *pj = api_path_json(core, &p->paths[i]);
		const char *t = zt_core_path_transport(core, p->paths[i].local_socket);

		if (p->paths[i].preferred && t && strcmp(t, "tcp") == 0)
			tunneled = true;

		if (!pj || json_array_append_new(paths, pj) < 0)
			goto fail;
	}
	err |= api_set(o, "paths", paths);
	paths = NULL;
	snprintf(ver, sizeof ver, "%d.%d.%d", p->version_major, p->version_minor, p->version_rev);
	err |= api_set(o, "address", api_hex40(p->address));
	err |= api_set(o, "versionMajor", json_integer(p->version_major));
	err |= api_set(o, "versionMinor", json_integer(p->version_minor));
	err |= api_set(o, "versionRev", json_integer(p->version_rev));
	err |= api_set(o, "version", json_string(ver));
	err |= api_set(o, "latency", json_integer(p->latency));
	err |= api_set(o, "role", json_string(api_role(p->role)));
	err |= api_set(o, "isBonded", json_false());
	err |= api_set(o, "tunneled", json_boolean(tunneled));
	if (err)
		goto fail;
	return o;
fail:
	json_decref(paths);
	json_decref(o);
	return NULL;
}

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
	err |= api_set(o, "bridge", json_false());
	err |= api_set(o, "broadcastEnabled", json_boolean(n->broadcast));
	err |= api_set(o, "portError", json_integer(n->status && !strcmp(n->status, "PORT_ERROR") ? -999 : 0));
	err |= api_set(o, "netconfRevision", json_integer((json_int_t)n->revision));
	err |= api_set(o, "portDeviceName", json_string(n->port ? n->port : ""));
	err |= api_set(o, "allowManaged", json_true());
	err |= api_set(o, "allowGlobal", json_false());
	err |= api_set(o, "allowDefault", json_false());
	err |= api_set(o, "allowDNS", json_false());
	err |= api_set(o, "assignedAddresses", addrs);
	err |= api_set(o, "routes", routes);
	err |= api_set(o, "multicastSubscriptions", groups);
	err |= api_set(o, "dns", json_pack("{s:s,s:[]}", "domain", "", "servers"));
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

/* Lower-case hex of n bytes. */
static json_t *api_hexbytes_json(const uint8_t *b, size_t n)
{
	char buf[2 * 128 + 1];

	if (n > 128)
		return NULL;
	sodium_bin2hex(buf, sizeof buf, b, n);
	return json_string(buf);
}

/* A moon object (networks.md §9.3); one being waited for has no roots yet. */
static json_t *api_moon_json(const struct zt_moon_info *m)
{
	json_t *o, *roots;
	char id[17], ident[ZT_ID_TEXT_MAX];
	unsigned i, n = m->n_roots;
	int err = 0;

	snprintf(id, sizeof id, "%016" PRIx64, m->id);
	if (m->waiting)
		return json_pack("{s:s,s:[],s:i,s:n,s:n,s:b}", "id", id, "roots", "timestamp", 0,
				 "signature", "updatesMustBeSignedBy", "waiting", 1);
	o = json_object();
	roots = json_array();
	if (!o || !roots)
		goto fail;
	if (n > sizeof m->roots / sizeof m->roots[0])
		n = sizeof m->roots / sizeof m->roots[0];
	for (i = 0; i < n; i++) {
		unsigned ne = m->roots[i].n_endpoints;
		json_t *r;

		if (ne > sizeof m->roots[i].endpoints / sizeof m->roots[i].endpoints[0])
			ne = sizeof m->roots[i].endpoints / sizeof m->roots[i].endpoints[0];
		zt_identity_to_text(&m->roots[i].id, ident, false);
		r = json_object();
		if (!r || json_array_append_new(roots, r) < 0)
			goto fail;
		err |= api_set(r, "identity", json_string(ident));
		err |= api_set(r, "stableEndpoints", api_addrs_json(m->roots[i].endpoints, ne));
	}
	err |= api_set(o, "roots", roots);
	roots = NULL;
	err |= api_set(o, "id", json_string(id));
	err |= api_set(o, "timestamp", json_integer((json_int_t)m->timestamp));
	err |= api_set(o, "signature", api_hexbytes_json(m->signature, sizeof m->signature));
	err |= api_set(o, "updatesMustBeSignedBy", api_hexbytes_json(m->update_key, sizeof m->update_key));
	err |= api_set(o, "waiting", json_false());
	if (err)
		goto fail;
	return o;
fail:
	json_decref(roots);
	json_decref(o);
	return NULL;
}

struct api_moons_ctx {
	json_t *arr;
	bool failed;
};

static void api_moons_visit(void *ctx, const struct zt_moon_info *m)
{
	struct api_moons_ctx *mc = ctx;
	json_t *j;

	if (mc->failed)
		return;
	j = api_moon_json(m);
	if (!j || json_array_append_new(mc->arr, j) < 0)
		mc->failed = true;
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

struct api_peers_ctx {
	const struct zt_core *core;
	json_t *arr;
	bool failed;
};

static void api_peers_visit(void *ctx, const struct zt_peer_info *peer)
{
	struct api_peers_ctx *pc = ctx;
	json_t *pj;

	if (pc->failed)
		return;
	pj = api_peer_json(pc->core, peer);
	if (!pj || json_array_append_new(pc->arr, pj) < 0)
		pc->failed = true;
}

static json_t *api_error_json(unsigned code, const char *text)
{
	return json_pack("{s:i,s:s}", "error", (int)code, "description", text);
}

/* ---- responses ---- */

static bool api_jsonp_ok(const char *fn)
{
	if (!*fn || strlen(fn) > 128)
		return false;
	for (; *fn; fn++)
		if (!isalnum((unsigned char)*fn) && *fn != '_' && *fn != '$' && *fn != '.')
			return false;
	return true;
}

/* Percent-decode s[0..n) into out (size bytes, NUL-terminated, cut if
 * short), '+' as a space if plus; the whole decoded length. */
static size_t api_unescape(const char *s, size_t n, char *out, size_t size, bool plus)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int ch = (unsigned char)s[i];

		if (ch == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], 0 };

			ch = (int)strtol(hex, NULL, 16);
			i += 2;
		} else if (ch == '+' && plus) {
			ch = ' ';
		}
		if (o + 1 < size)
			out[o] = (char)ch;
		o++;
	}
	if (size)
		out[o < size ? o : size - 1] = 0;
	return o;
}

/* The query parameter key, decoded into buf: its length (size or more:
 * cut), -2 when it has no value, -1 when absent.  The first one counts. */
static ssize_t api_arg(const struct api_req *rq, const char *key, char *buf, size_t size)
{
	const char *p = rq->query;
	char name[32];

	while (p && *p) {
		const char *e = strchr(p, '&'), *eq;
		size_t n;

		if (!e)
			e = p + strlen(p);
		eq = memchr(p, '=', (size_t)(e - p));
		n = (size_t)((eq ? eq : e) - p);
		if (api_unescape(p, n, name, sizeof name, true) < sizeof name && strcmp(name, key) == 0) {
			if (!eq)
				return -2;
			return (ssize_t)api_unescape(eq + 1, (size_t)(e - eq - 1), buf, size, true);
		}
		p = *e ? e + 1 : e;
	}
	return -1;
}

static int api_out(struct api_conn *c, const char *data, size_t n)
{
	if (n > c->out_cap - c->out_len) {
		size_t cap = c->out_cap ? c->out_cap : 1024;
		char *b;

		while (cap - c->out_len < n)
			cap *= 2;
		b = realloc(c->out, cap);
		if (!b)
			return -ENOMEM;
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, n);
	c->out_len += n;
	return 0;
}

/* Queue an answer: status line, headers and, unless for HEAD, body. */
static int api_respond(struct api_conn *c, unsigned status, const char *type,
		       const char *allow, const char *body, size_t len)
{
	char head[512], date[64];
	const http_parser *p = &c->http.parser;
	struct tm tm;
	time_t now = time(NULL);
	int n;

	if (status >= 500)
		(*c->a->errors)++;
	if (!c->keep_alive)
		c->closing = true;
	if (!gmtime_r(&now, &tm) || !strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm))
		date[0] = 0;
	n = snprintf(head, sizeof head,
		     "HTTP/1.1 %u %s\r\nDate: %s\r\nContent-Type: %s\r\nCache-Control: no-cache\r\n"
		     "%s%s%sContent-Length: %zu\r\n%s\r\n",
		     status, http_status_str((enum http_status)status), date, type,
		     allow ? "Allow: " : "", allow ? allow : "", allow ? "\r\n" : "", len,
		     c->closing ? "Connection: close\r\n" :
		     p->http_major == 1 && p->http_minor == 0 ? "Connection: keep-alive\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof head)
		return -EINVAL;
	if (api_out(c, head, (size_t)n) < 0 || (!c->head && len && api_out(c, body, len) < 0))
		return -ENOMEM;
	return 0;
}

/* Queue status with body j (taken; NULL means {}).  With ?jsonp=fn the
 * body is wrapped as fn(...); (networks.md §9.2). */
static int api_reply_allow(struct api *a, struct api_conn *c,
			   unsigned status, json_t *j, const char *allow)
{
	const char *type = "application/json";
	char fn[192], *text, *out;
	ssize_t fl = api_arg(&c->rq, "jsonp", fn, sizeof fn);
	size_t len;
	int err;

	if (fl >= 0 && ((size_t)fl >= sizeof fn || !api_jsonp_ok(fn))) {
		json_decref(j);
		j = api_error_json(400, "jsonp: not a function name");
		status = 400;
		fl = -1;
	}
	text = j ? json_dumps(j, API_JSON_FLAGS | JSON_ENCODE_ANY) : strdup("{}");
	json_decref(j);
	if (!text)
		return -ENOMEM;
	if (fl >= 0) {
		len = strlen(fn) + strlen(text) + 4;
		out = malloc(len);
		if (!out) {
			free(text);
			return -ENOMEM;
		}
		snprintf(out, len, "%s(%s);", fn, text);
		free(text);
		text = out;
		type = "application/javascript";
	}
	err = api_respond(c, status, type, allow, text, strlen(text));
	free(text);
	return err;
}

static int api_reply(struct api *a, struct api_conn *c,
		     unsigned status, json_t *j)
{
	return api_reply_allow(a, c, status, j, NULL);
}

static int api_reply_empty(struct api *a, struct api_conn *c, unsigned status)
{
	return api_reply(a, c, status, NULL);
}

/* ---- authentication (networks.md §9.1) ---- */

static bool api_token_ok(const char *token, size_t len, const char *got)
{
	size_t n = strlen(got);

	if (n != len)
		return false;
	return sodium_memcmp(got, token, n) == 0;
}

/* The token a request presents, by the first method present: header
 * X-ZT1-Auth, ?auth=, Authorization: Bearer.  NULL if none is.  buf
 * (API_TOKEN_MAX + 2 bytes) holds ?auth=; a longer one is cut, which no
 * token matches. */
static const char *api_presented(struct api_conn *c, char *buf, size_t size)
{
	const char *v;
	ssize_t n;

	v = api_http_header(&c->http, API_HTTP_H_ZT1_AUTH, NULL);
	if (v)
		return v;
	/* present even without a value: "?auth" alone is an empty token */
	n = api_arg(&c->rq, "auth", buf, size);
	if (n == -2)
		return "";
	if (n >= 0)
		return buf;
	v = api_http_header(&c->http, API_HTTP_H_AUTHORIZATION, NULL);
	if (!v)
		return NULL;
	if (strncasecmp(v, "Bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
		return "";
	v += 6;
	while (*v == ' ' || *v == '\t')
		v++;
	return v;
}

/* ---- routing ---- */

/* Exactly 10 hex digits. */
static bool api_parse_addr(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len != 10 && len != 6)
		return false;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		v = (v << 4) | (uint64_t)d;
	}
	*out = v;
	return true;
}

/* The route of a path (empty segments ignored), or 0 if none. */
static bool api_parse_nwid(const char *s, size_t len, uint64_t *out)
{
	uint64_t hi, lo;

	if (len != 16 || !api_parse_addr(s, 10, &hi) || !api_parse_addr(s + 10, 6, &lo))
		return false;
	*out = hi << 24 | lo;
	return true;
}

static int api_route(const char *url, uint64_t *peer, uint64_t *nwid)
{
	const char *seg[4];
	size_t len[4], n = 0;
	const char *p = url;

	while (*p) {
		const char *e;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		if (!e)
			e = p + strlen(p);
		if (n == 4)
			return 0;
		seg[n] = p;
		len[n] = (size_t)(e - p);
		n++;
		p = e;
	}
#define SEG(i, s) (len[i] == sizeof(s) - 1 && memcmp(seg[i], s, len[i]) == 0)
	if (n == 1 && SEG(0, "status"))
		return API_R_STATUS;
	if (n == 1 && SEG(0, "health"))
		return API_R_HEALTH;
	if (n == 1 && SEG(0, "network"))
		return API_R_NETWORKS;
	if (n == 2 && SEG(0, "network") && api_parse_nwid(seg[1], len[1], nwid))
		return API_R_NETWORK;
	if (n == 1 && SEG(0, "moon"))
		return API_R_MOONS;
	/* a moon by its 16 hex digits, or by 10 as ZeroTier One takes it */
	if (n == 2 && SEG(0, "moon") && ((len[1] == 10 && api_parse_addr(seg[1], 10, nwid)) ||
					 api_parse_nwid(seg[1], len[1], nwid)))
		return API_R_MOON;
	if (n == 1 && SEG(0, "config"))
		return API_R_CONFIG;
	if (n == 2 && SEG(0, "config") && SEG(1, "settings"))
		return API_R_CONFIG_SETTINGS;
	if (n == 1 && SEG(0, "metrics"))
		return API_R_METRICS;
	if (n >= 1 && SEG(0, "peer")) {
		if (n == 1)
			return API_R_PEERS;
		if (!api_parse_addr(seg[1], len[1], peer))
			return 0;
		if (n == 2)
			return API_R_PEER;
		if (n == 3 && SEG(2, "echo"))
			return API_R_ECHO;
	}
#undef SEG
	return 0;
}

/* The methods a route takes, and its Allow header. */
static unsigned api_route_methods(int route, const char **allow)
{
	switch (route) {
	case API_R_ECHO:
	case API_R_CONFIG_SETTINGS:
		*allow = "POST, PUT";
		return API_M_POST;
	case API_R_NETWORK:
	case API_R_MOON:
		*allow = "GET, HEAD, POST, PUT, DELETE";
		return API_M_GET | API_M_POST | API_M_DELETE;
	default:
		*allow = "GET, HEAD";
		return API_M_GET;
	}
}

/* ---- handlers ---- */

/* Paths offered by other services (the controller's /controller...):
 * the core finds the handler; its JSON is re-emitted in our conventions. */
static int api_service(struct api *a, struct api_conn *c, struct api_req *rq)
{
	struct zt_api_request q = {
		.method = rq->method_name, .path = rq->url, .body = "", .body_len = rq->len,
	};
	struct zt_api_response rs = { 0, NULL };
	char *body = NULL;
	json_t *j;
	int err;

	if (rq->len) {
		/* NUL-terminated for the service */
		body = malloc(rq->len + 1);
		if (!body)
			return api_reply(a, c, 500, api_error_json(500, "out of memory"));
		memcpy(body, rq->body, rq->len);
		body[rq->len] = 0;
		q.body = body;
	}
	err = zt_core_api_dispatch(a->core, &q, &rs);
	free(body);
	if (err == -ENOENT)
		return api_reply_empty(a, c, 404);
	if (err < 0) {
		free(rs.body);
		return api_reply(a, c, 500, api_error_json(500, strerror(-err)));
	}
	if (!rs.body)
		return api_reply_empty(a, c, rs.status);
	j = json_loads(rs.body, JSON_DECODE_ANY, NULL);
	free(rs.body);
	if (!j)
		return api_reply(a, c, 500, api_error_json(500, "service answered invalid JSON"));
	return api_reply(a, c, rs.status, j);
}

/* A 4xx/5xx with {"error":status,"description":text}. */
static int api_fail(struct api *a, struct api_conn *c, unsigned status,
				const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (status == 400)
		(*a->bad_requests)++;
	return api_reply(a, c, status, api_error_json(status, msg));
}

/* The request body as a JSON object, or NULL when it is empty, not JSON
 * or not an object: /network and /moon then take it as {} (§9.2). */
static json_t *api_body_object(const struct api_req *rq)
{
	json_t *j;

	if (!rq->len)
		return NULL;
	j = json_loadb(rq->body, rq->len, JSON_DECODE_ANY, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
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

/* The per-network local settings of §9.4 and the only values zt has:
 * managed addresses and routes are always applied, the others never. */
static const struct { const char *key; bool value; } api_local_settings[] = {
	{ "allowManaged", true },
	{ "allowGlobal", false },
	{ "allowDefault", false },
	{ "allowDNS", false },
};

/* POST /network/<nwid>: join.  A boolean local setting other than zt's
 * fixed value is refused before anything changes; non-booleans are
 * ignored, as ZeroTier One ignores them. */
static int api_network_join(struct api *a, struct api_conn *c, struct api_req *rq)
{
	json_t *body = api_body_object(rq);
	size_t i;
	int err;

	for (i = 0; i < sizeof api_local_settings / sizeof api_local_settings[0]; i++) {
		const json_t *v = json_object_get(body, api_local_settings[i].key);

		if (json_is_boolean(v) && json_is_true(v) != api_local_settings[i].value) {
			json_decref(body);
			return api_fail(a, c, 400,
					"%s: zt has no local network settings: it is always %s",
					api_local_settings[i].key,
					api_local_settings[i].value ? "true" : "false");
		}
	}
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

static int api_moon_reply(struct api *a, struct api_conn *c,
				      const struct zt_moon_info *m)
{
	json_t *j = api_moon_json(m);

	if (!j)
		return api_fail(a, c, 500, "out of memory");
	return api_reply(a, c, 200, j);
}

/* POST /moon/<id> {"seed":"<address>"}: orbit.  A moon already held is
 * returned as it is; one not held is orbited through the seed (again, if
 * it was being waited for); without a seed nothing happens and the answer
 * is {} (or the moon being waited for). */
static int api_moon_orbit(struct api *a, struct api_conn *c, struct api_req *rq)
{
	struct zt_moon_info mi;
	json_t *body = api_body_object(rq);
	const json_t *sv = json_object_get(body, "seed");
	const char *ss = json_string_value(sv);
	uint64_t seed = 0;
	bool known;
	int err;

	if (sv && (!ss || strlen(ss) != 10 || !api_parse_addr(ss, 10, &seed) || !seed)) {
		json_decref(body);
		return api_fail(a, c, 400, "seed: must be an address, 10 hex digits");
	}
	json_decref(body);
	memset(&mi, 0, sizeof mi);
	known = zt_core_moon(a->core, rq->nwid, &mi) == 0;
	if (known && !mi.waiting)
		return api_moon_reply(a, c, &mi);
	if (!seed)
		return known ? api_moon_reply(a, c, &mi) : api_reply_empty(a, c, 200);
	if (!rq->nwid)
		return api_fail(a, c, 400, "0000000000000000 is not a moon id");
	err = zt_core_orbit(a->core, rq->nwid, seed);
	if (err == -EINVAL)
		return api_fail(a, c, 400, "orbit %016" PRIx64 " by %010" PRIx64 ": %s",
				rq->nwid, seed, strerror(-err));
	if (err < 0)
		return api_fail(a, c, 500, "orbit %016" PRIx64 ": %s", rq->nwid, strerror(-err));
	memset(&mi, 0, sizeof mi);
	if (zt_core_moon(a->core, rq->nwid, &mi) < 0) {
		/* orbited, but the kernel shows nothing: say what was asked */
		memset(&mi, 0, sizeof mi);
		mi.id = rq->nwid;
		mi.waiting = true;
		mi.seed = seed;
	}
	return api_moon_reply(a, c, &mi);
}

/* DELETE /moon/<id>: {"result":true}, or {} if it was not orbited. */
static int api_moon_deorbit(struct api *a, struct api_conn *c, struct api_req *rq)
{
	int err = zt_core_deorbit(a->core, rq->nwid);

	if (err == -ENOENT)
		return api_reply_empty(a, c, 200);
	if (err == -EPERM)
		return api_fail(a, c, 403,
				"moon %016" PRIx64 " is orbited by ztd.yaml: remove it there to deorbit it",
				rq->nwid);
	if (err < 0)
		return api_fail(a, c, 500, "deorbit %016" PRIx64 ": %s", rq->nwid, strerror(-err));
	return api_reply(a, c, 200, json_pack("{s:b}", "result", 1));
}

/* POST /config/settings: zt has no local.conf and changes nothing at
 * run time; {} (nothing to merge) is accepted, anything else is 400. */
static int api_config_settings(struct api *a, struct api_conn *c, struct api_req *rq)
{
	json_error_t jerr;
	const char *key;
	json_t *j;

	if (!rq->len)
		return api_fail(a, c, 400, "the body must be a JSON object");
	j = json_loadb(rq->body, rq->len, JSON_DECODE_ANY, &jerr);
	if (!j)
		return api_fail(a, c, 400, "invalid JSON body: %s", jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return api_fail(a, c, 400, "the body must be a JSON object");
	}
	key = json_object_iter_key(json_object_iter(j));
	if (key) {
		int ret;

		ret = api_fail(a, c, 400,
			       "%.64s: zt has no local.conf: settings are made in ztd.yaml", key);
		json_decref(j);
		return ret;
	}
	json_decref(j);
	return api_reply_empty(a, c, 200);
}

/* ---- metrics: Prometheus text exposition 0.0.4 ---- */

struct api_sample {
	char *family;               /* zt_<name>_total */
	const char *instance;       /* borrowed from ctx->names; NULL: the core */
	const char *name;           /* as counted */
	uint64_t value;
};

struct api_samples {
	struct api_sample *v;
	size_t n, cap;
	char **names;               /* copies of instance and counter names */
	size_t n_names;
	bool failed;
};

static const char *api_keep(struct api_samples *ss, const char *s)
{
	char **nn, *d;

	if (!s)
		return NULL;
	nn = realloc(ss->names, (ss->n_names + 1) * sizeof *nn);
	if (!nn)
		return NULL;
	ss->names = nn;
	d = strdup(s);
	if (d)
		ss->names[ss->n_names++] = d;
	return d;
}

static void api_counter_visit(void *ctx, const char *instance, const char *name, uint64_t value)
{
	struct api_samples *ss = ctx;
	struct api_sample *sm;
	size_t n = strlen(name), i;
	bool total = n >= 6 && strcmp(name + n - 6, "_total") == 0;
	char *f;

	if (ss->failed)
		return;
	if (ss->n == ss->cap) {
		size_t cap = ss->cap ? ss->cap * 2 : 64;
		struct api_sample *v = realloc(ss->v, cap * sizeof *v);

		if (!v) {
			ss->failed = true;
			return;
		}
		ss->v = v;
		ss->cap = cap;
	}
	f = malloc(3 + n + 7);
	if (!f) {
		ss->failed = true;
		return;
	}
	memcpy(f, "zt_", 3);
	for (i = 0; i < n; i++)
		f[3 + i] = isalnum((unsigned char)name[i]) ? name[i] : '_';
	strcpy(f + 3 + n, total ? "" : "_total");
	sm = &ss->v[ss->n];
	sm->family = f;
	sm->value = value;
	sm->name = api_keep(ss, name);
	sm->instance = api_keep(ss, instance);
	if (!sm->name || (instance && !sm->instance)) {
		free(f);
		ss->failed = true;
		return;
	}
	ss->n++;
}

static int api_sample_cmp(const void *x, const void *y)
{
	const struct api_sample *a = x, *b = y;
	int d = strcmp(a->family, b->family);

	if (d)
		return d;
	if (!a->instance || !b->instance)
		return !!a->instance - !!b->instance;
	return strcmp(a->instance, b->instance);
}

static void api_samples_free(struct api_samples *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		free(ss->v[i].family);
	for (i = 0; i < ss->n_names; i++)
		free(ss->names[i]);
	free(ss->v);
	free(ss->names);
}

/* s with \, " and newlines escaped as a label value (or, quote false,
 * as HELP text, where " stays). */
static void api_prom_escape(FILE *f, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' && quote)
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

struct api_peer_stats {
	FILE *f;
	unsigned direct, relayed;
	bool lines;                 /* second pass: write the latency samples */
};

static void api_peer_metric(void *ctx, const struct zt_peer_info *p)
{
	struct api_peer_stats *ps = ctx;
	char addr[API_ADDRSTRLEN] = "", host[INET6_ADDRSTRLEN];
	unsigned i, n = p->n_paths < ZT_INFO_MAX_PATHS ? p->n_paths : ZT_INFO_MAX_PATHS;

	if (!ps->lines) {
		if (p->direct)
			ps->direct++;
		else
			ps->relayed++;
		return;
	}
	if (p->latency < 0)
		return;
	for (i = 0; i < n; i++) {
		const union zt_sockaddr *sa = &p->paths[i].address;

		if (!p->paths[i].preferred)
			continue;
		if (sa->sa.sa_family == AF_INET6)
			inet_ntop(AF_INET6, &sa->in6.sin6_addr, host, sizeof host);
		else if (sa->sa.sa_family == AF_INET)
			inet_ntop(AF_INET, &sa->in4.sin_addr, host, sizeof host);
		else
			continue;
		snprintf(addr, sizeof addr, "%s/%u", host, api_port(sa));
		break;
	}
	fprintf(ps->f, "zt_peer_latency_seconds{peer=\"%010" PRIx64 "\",role=\"%s\",path=\"%s\"} %d.%03d\n",
		p->address, api_role(p->role), addr[0] ? addr : "relayed",
		p->latency / 1000, p->latency % 1000);
}

/* ---- the families of ZeroTier One 1.14 (node/Metrics.cpp), by its names,
 * types and labels, so that dashboards made for it read zt too ---- */

/* packet_type by verb number, NULL: a verb 1.14 has no sample for */
static const char *const api_verb_names[ZT_TRAFFIC_VERBS] = {
	"nop", "hello", "error", "ok", "whois", "rendezvous", "frame", "ext_frame", "echo",
	"multicast_like", "network_credentials", "network_config_request", "network_config",
	"multicast_gather", "multicast_frame", NULL, "push_direct_paths", NULL, "ack", "qos",
	"user_message", "remote_trace", "path_negotiation_request",
};

/* error_type by error code, likewise */
static const char *const api_error_names[ZT_TRAFFIC_ERRORS] = {
	NULL, NULL, NULL, "obj_not_found", "identity_collision", "unsupported_operation",
	"need_membership_certificate", "network_access_denied", "unwanted_multicast",
	"authentication_required",
};

static void api_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The samples of a family labelled direction and label, one per direction
 * and named index: rx[i] and tx[i] where names[i] is not NULL. */
static void api_named_counts(FILE *f, const char *family, const char *label, const char *const *names,
			     unsigned n, const uint64_t *rx, const uint64_t *tx)
{
	for (unsigned d = 0; d < 2; d++)
		for (unsigned i = 0; i < n; i++)
			if (names[i])
				fprintf(f, "%s{direction=\"%s\",%s=\"%s\"} %" PRIu64 "\n", family, d ? "tx" : "rx",
					label, names[i], d ? tx[i] : rx[i]);
}

static void api_ref_traffic(FILE *f, const struct zt_traffic *t)
{
	const char *protocols[8];
	unsigned n_protocols = 0;

	api_family(f, "zt_packet", "counter", "incoming packet type counts");
	api_named_counts(f, "zt_packet", "packet_type", api_verb_names, ZT_TRAFFIC_VERBS, t->rx_verbs, t->tx_verbs);
	api_family(f, "zt_packet_error", "counter", "incoming packet errors");
	api_named_counts(f, "zt_packet_error", "error_type", api_error_names, ZT_TRAFFIC_ERRORS, t->rx_errors,
			 t->tx_errors);
	api_family(f, "zt_data", "counter", "number of bytes ZeroTier has transmitted or received");
	for (unsigned i = 0; i < t->n_transports; i++) {
		uint64_t rx = 0, tx = 0;
		unsigned k;

		for (k = 0; k < n_protocols && strcmp(protocols[k], t->transports[i].protocol); k++)
			;
		if (k < n_protocols)
			continue;   /* summed when first met */
		protocols[n_protocols++] = t->transports[i].protocol;
		for (unsigned j = i; j < t->n_transports; j++)
			if (strcmp(t->transports[j].protocol, t->transports[i].protocol) == 0) {
				rx += t->transports[j].rx_bytes;
				tx += t->transports[j].tx_bytes;
			}
		fprintf(f, "zt_data{direction=\"rx\",protocol=\"%s\"} %" PRIu64 "\n", t->transports[i].protocol, rx);
		fprintf(f, "zt_data{direction=\"tx\",protocol=\"%s\"} %" PRIu64 "\n", t->transports[i].protocol, tx);
	}
}

struct api_ref_ctx {
	FILE *f;
	unsigned n_networks;
	int family;
	int64_t now;
};

enum { API_REF_NET_GROUPS, API_REF_NET_PACKETS, API_REF_PEER_LATENCY, API_REF_PEER_PATHS,
       API_REF_PEER_PACKETS, API_REF_PEER_ERRORS };

static void api_ref_net(void *ctx, const struct zt_network_info *n)
{
	struct api_ref_ctx *rc = ctx;

	rc->n_networks++;
	if (rc->family == API_REF_NET_GROUPS) {
		fprintf(rc->f, "zt_network_multicast_groups_subscribed{network_id=\"%016" PRIx64 "\"} %u\n", n->nwid,
			n->n_groups);
		return;
	}
	fprintf(rc->f, "zt_network_packets{accepted=\"yes\",direction=\"rx\",network_id=\"%016" PRIx64 "\"} %" PRIu64 "\n"
		"zt_network_packets{accepted=\"no\",direction=\"rx\",network_id=\"%016" PRIx64 "\"} %" PRIu64 "\n"
		"zt_network_packets{accepted=\"yes\",direction=\"tx\",network_id=\"%016" PRIx64 "\"} %" PRIu64 "\n"
		"zt_network_packets{accepted=\"no\",direction=\"tx\",network_id=\"%016" PRIx64 "\"} %" PRIu64 "\n",
		n->nwid, n->rx_frames, n->nwid, n->rx_dropped, n->nwid, n->tx_frames, n->nwid, n->tx_dropped);
}

static void api_ref_peer(void *ctx, const struct zt_peer_info *p)
{
	static const unsigned bounds[ZT_LATENCY_BUCKETS] = ZT_LATENCY_BOUNDS;
	struct api_ref_ctx *rc = ctx;
	const struct zt_peer_traffic *t = &p->traffic;
	unsigned alive = 0;

	switch (rc->family) {
	case API_REF_PEER_LATENCY:
		for (unsigned i = 0; i < ZT_LATENCY_BUCKETS; i++)
			fprintf(rc->f, "zt_peer_latency_bucket{node_id=\"%010" PRIx64 "\",le=\"%u\"} %" PRIu64 "\n",
				p->address, bounds[i], t->latency_le[i]);
		fprintf(rc->f, "zt_peer_latency_bucket{node_id=\"%010" PRIx64 "\",le=\"+Inf\"} %" PRIu64 "\n"
			"zt_peer_latency_sum{node_id=\"%010" PRIx64 "\"} %" PRIu64 "\n"
			"zt_peer_latency_count{node_id=\"%010" PRIx64 "\"} %" PRIu64 "\n",
			p->address, t->latency_count, p->address, t->latency_sum, p->address, t->latency_count);
		break;
	case API_REF_PEER_PATHS:
		for (unsigned i = 0; i < p->n_paths; i++)
			alive += p->paths[i].alive;
		fprintf(rc->f, "zt_peer_path_count{node_id=\"%010" PRIx64 "\",status=\"alive\"} %u\n"
			"zt_peer_path_count{node_id=\"%010" PRIx64 "\",status=\"dead\"} %u\n",
			p->address, alive, p->address, p->n_paths - alive);
		break;
	case API_REF_PEER_PACKETS:
		fprintf(rc->f, "zt_peer_packets{direction=\"rx\",node_id=\"%010" PRIx64 "\"} %" PRIu64 "\n"
			"zt_peer_packets{direction=\"tx\",node_id=\"%010" PRIx64 "\"} %" PRIu64 "\n",
			p->address, t->rx, p->address, t->tx);
		break;
	default:
		fprintf(rc->f, "zt_peer_packet_errors{node_id=\"%010" PRIx64 "\"} %" PRIu64 "\n", p->address,
			t->rx_errors);
	}
}

static void api_reference_metrics(struct api *a, FILE *f)
{
	struct zt_traffic t;
	struct api_ref_ctx rc = { .f = f };
	static const struct { const char *name, *type, *help; } peer_families[] = {
		[API_REF_PEER_LATENCY] = { "zt_peer_latency", "histogram", "peer latency (ms)" },
		[API_REF_PEER_PATHS] = { "zt_peer_path_count", "gauge", "number of paths to peer" },
		[API_REF_PEER_PACKETS] = { "zt_peer_packets", "counter", "number of packets to/from a peer" },
		[API_REF_PEER_ERRORS] = { "zt_peer_packet_errors", "counter",
					  "number of incoming packet errors from a peer" },
	};

	zt_core_traffic(a->core, &t);
	api_ref_traffic(f, &t);
	api_family(f, "zt_network_multicast_groups_subscribed", "gauge",
		   "number of multicast groups networks are subscribed to");
	rc.family = API_REF_NET_GROUPS;
	zt_core_networks(a->core, api_ref_net, &rc);
	api_family(f, "zt_num_networks", "gauge", "number of networks this instance is joined to");
	fprintf(f, "zt_num_networks %u\n", rc.n_networks);
	api_family(f, "zt_network_packets", "counter", "number of incoming/outgoing packets per network");
	rc.family = API_REF_NET_PACKETS;
	zt_core_networks(a->core, api_ref_net, &rc);
	for (int k = API_REF_PEER_LATENCY; k <= API_REF_PEER_ERRORS; k++) {
		api_family(f, peer_families[k].name, peer_families[k].type, peer_families[k].help);
		rc.family = k;
		zt_core_peers(a->core, api_ref_peer, &rc);
	}
	zt_core_controller_metrics(a->core, f);
}

/* The exposition text: every counter of the node and its instances, then
 * gauges of the peers, then 1.14's families. */
static char *api_metrics_text(struct api *a, size_t *len)
{
	struct api_samples ss = { 0 };
	struct api_peer_stats ps = { 0 };
	char *text = NULL;
	size_t i;
	FILE *f;

	zt_core_all_counters(a->core, api_counter_visit, &ss);
	if (ss.failed) {
		api_samples_free(&ss);
		return NULL;
	}
	if (ss.n)
		qsort(ss.v, ss.n, sizeof *ss.v, api_sample_cmp);
	f = open_memstream(&text, len);
	if (!f) {
		api_samples_free(&ss);
		return NULL;
	}
	for (i = 0; i < ss.n; i++) {
		const struct api_sample *sm = &ss.v[i];
		uint64_t v = sm->value;

		if (i == 0 || strcmp(sm->family, ss.v[i - 1].family)) {
			fprintf(f, "# HELP %s zt counter ", sm->family);
			api_prom_escape(f, sm->name, false);
			fprintf(f, "\n# TYPE %s counter\n", sm->family);
		}
		/* names that differ only in characters a metric name cannot
		 * carry: one sample of their sum */
		while (i + 1 < ss.n && api_sample_cmp(sm, &ss.v[i + 1]) == 0)
			v += ss.v[++i].value;
		fputs(sm->family, f);
		if (sm->instance) {
			fputs("{instance=\"", f);
			api_prom_escape(f, sm->instance, true);
			fputs("\"}", f);
		}
		fprintf(f, " %" PRIu64 "\n", v);
	}
	api_samples_free(&ss);
	ps.f = f;
	zt_core_peers(a->core, api_peer_metric, &ps);
	fprintf(f, "# HELP zt_peers peers known, by whether traffic to them goes direct or through a root\n"
		"# TYPE zt_peers gauge\n"
		"zt_peers{path=\"direct\"} %u\nzt_peers{path=\"relayed\"} %u\n", ps.direct, ps.relayed);
	fputs("# HELP zt_peer_latency_seconds round-trip latency to a peer\n"
	      "# TYPE zt_peer_latency_seconds gauge\n", f);
	ps.lines = true;
	zt_core_peers(a->core, api_peer_metric, &ps);
	api_reference_metrics(a, f);
	if (ferror(f)) {
		fclose(f);
		free(text);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static int api_metrics(struct api *a, struct api_conn *c)
{
	size_t len = 0;
	char *text = api_metrics_text(a, &len);
	int err;

	if (!text)
		return api_fail(a, c, 500, "out of memory");
	err = api_respond(c, 200, "text/plain; version=0.0.4", NULL, text, len);
	free(text);
	return err;
}

static int api_handle(struct api *a, struct api_conn *c, struct api_req *rq)
{
	struct zt_status st;
	struct zt_peer_info pi;
	json_t *j;
	int err;

	if (!a->core)
		return api_reply_empty(a, c, 503);
	switch (rq->route) {
	case API_R_SERVICE:
		return api_service(a, c, rq);
	case API_R_STATUS:
	case API_R_HEALTH:
		memset(&st, 0, sizeof st);
		zt_core_status(a->core, &st);
		j = rq->route == API_R_STATUS ? api_status_json(&st) : api_health_json(&st);
		if (!j)
			return api_reply(a, c, 500, api_error_json(500, "out of memory"));
		return api_reply(a, c, 200, j);
	case API_R_NETWORKS: {
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
	case API_R_NETWORK:
		if (rq->method == API_M_POST)
			return api_network_join(a, c, rq);
		if (rq->method == API_M_DELETE)
			return api_network_leave(a, c, rq);
		return api_network_reply(a, c, rq->nwid);
	case API_R_MOONS: {
		struct api_moons_ctx mc = { json_array(), false };

		if (!mc.arr)
			return api_fail(a, c, 500, "out of memory");
		zt_core_moons(a->core, api_moons_visit, &mc);
		if (mc.failed) {
			json_decref(mc.arr);
			return api_fail(a, c, 500, "out of memory");
		}
		return api_reply(a, c, 200, mc.arr);
	}
	case API_R_MOON: {
		struct zt_moon_info mi;

		if (rq->method == API_M_POST)
			return api_moon_orbit(a, c, rq);
		if (rq->method == API_M_DELETE)
			return api_moon_deorbit(a, c, rq);
		memset(&mi, 0, sizeof mi);
		if (zt_core_moon(a->core, rq->nwid, &mi) < 0)
			return api_reply_empty(a, c, 200);
		return api_moon_reply(a, c, &mi);
	}
	case API_R_CONFIG:
		memset(&st, 0, sizeof st);
		zt_core_status(a->core, &st);
		j = api_config_json(&st);
		if (!j)
			return api_fail(a, c, 500, "out of memory");
		return api_reply(a, c, 200, j);
	case API_R_CONFIG_SETTINGS:
		return api_config_settings(a, c, rq);
	case API_R_METRICS:
		return api_metrics(a, c);
	case API_R_PEERS: {
		struct api_peers_ctx pc = { a->core, json_array(), false };

		if (!pc.arr)
			return api_reply(a, c, 500, api_error_json(500, "out of memory"));
		zt_core_peers(a->core, api_peers_visit, &pc);
		if (pc.failed) {
			json_decref(pc.arr);
			return api_reply(a, c, 500, api_error_json(500, "out of memory"));
		}
		return api_reply(a, c, 200, pc.arr);
	}
	case API_R_PEER:
		memset(&pi, 0, sizeof pi);
		if (zt_core_peer(a->core, rq->peer, &pi) < 0)
			return api_reply_empty(a, c, 200);
		j = api_peer_json(a->core, &pi);
		if (!j)
			return api_reply(a, c, 500, api_error_json(500, "out of memory"));
		return api_reply(a, c, 200, j);
	case API_R_ECHO:
		if (rq->len) {
			json_error_t jerr;
			char msg[256];

			j = json_loadb(rq->body, rq->len, JSON_DECODE_ANY, &jerr);
			if (!j) {
				(*a->bad_requests)++;
				snprintf(msg, sizeof msg, "invalid JSON body: %s", jerr.text);
				return api_reply(a, c, 400, api_error_json(400, msg));
			}
			json_decref(j);
		}
		err = zt_core_echo(a->core, rq->peer);
		if (err == -ENOENT)
			return api_reply_empty(a, c, 404);
		if (err < 0)
			return api_reply(a, c, 503,
					 api_error_json(503, strerror(-err)));
		return api_reply(a, c, 200, json_pack("{s:b}", "sent", 1));
	}
	return api_reply_empty(a, c, 404);
}

/* ---- requests ---- */

static void api_req_clear(struct api_conn *c)
{
	free(c->rq.url);
	memset(&c->rq, 0, sizeof c->rq);
}

/* The request line and headers are in: route the request, check its
 * token and what it may send.  A refusal is answered before the body,
 * and the connection closed after it. */
static int api_conn_head(struct api_conn *c)
{
	struct api *a = c->a;
	struct api_req *rq = &c->rq;
	const http_parser *p = &c->http.parser;
	const char *url = c->http.url ? c->http.url : "", *q, *tok, *allow, *expect;
	char buf[API_TOKEN_MAX + 2];
	bool is_post = false;
	size_t plen;

	api_req_clear(c);
	(*a->requests)++;
	c->head = p->method == HTTP_HEAD;
	c->keep_alive = http_should_keep_alive(p) && !p->upgrade;
	if (c->http.url_long) {
		c->closing = true;
		return api_reply(a, c, 414, api_error_json(414, "request target too long"));
	}
	switch (p->method) {
	case HTTP_GET:
	case HTTP_HEAD:
		rq->method = API_M_GET;
		break;
	case HTTP_POST:
	case HTTP_PUT:
		rq->method = API_M_POST;
		is_post = true;
		break;
	case HTTP_DELETE:
		rq->method = API_M_DELETE;
		break;
	}
	q = strchr(url, '?');
	plen = q ? (size_t)(q - url) : strlen(url);
	rq->query = q ? q + 1 : NULL;
	rq->url = malloc(plen + 1);
	if (!rq->url)
		return -ENOMEM;
	api_unescape(url, plen, rq->url, plen + 1, false);
	rq->route = api_route(rq->url, &rq->peer, &rq->nwid);
	if (rq->route != API_R_HEALTH) {
		tok = api_presented(c, buf, sizeof buf);
		if (!tok || !(api_token_ok(a->token, a->token_len, tok) ||
			      (rq->route == API_R_METRICS && a->mtoken_len &&
			       api_token_ok(a->mtoken, a->mtoken_len, tok)))) {
			(*a->unauthorized)++;
			c->closing = true;
			return api_reply_empty(a, c, 401);
		}
	}
	if (!rq->route) {
		/* maybe another service's: decided once the body is in */
		rq->route = API_R_SERVICE;
		rq->method_name = is_post ? "POST" : http_method_str((enum http_method)p->method);
	} else if (!(api_route_methods(rq->route, &allow) & rq->method)) {
		c->closing = true;
		return api_reply_allow(a, c, 405, NULL, allow);
	}
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > a->max_body) {
		char msg[96];

		(*a->too_large)++;
		c->closing = true;
		snprintf(msg, sizeof msg, "request body over %zu bytes", a->max_body);
		return api_reply(a, c, 413, api_error_json(413, msg));
	}
	expect = api_http_header(&c->http, API_HTTP_H_EXPECT, NULL);
	if (expect && strcasecmp(expect, "100-continue") == 0 && p->http_major == 1 && p->http_minor >= 1 &&
	    ((p->flags & F_CHUNKED) || ((p->flags & F_CONTENTLENGTH) && p->content_length > 0)))
		return api_out(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	return 0;
}

/* The whole request is in: answer it. */
static int api_conn_done(struct api_conn *c)
{
	struct api *a = c->a;
	int err;

	if (c->http.too_large) {
		char msg[96];

		(*a->too_large)++;
		snprintf(msg, sizeof msg, "request body over %zu bytes", a->max_body);
		err = api_reply(a, c, 413, api_error_json(413, msg));
	} else {
		c->rq.body = c->http.body;
		c->rq.len = c->http.body_len;
		err = api_handle(a, c, &c->rq);
	}
	api_req_clear(c);
	api_http_clear(&c->http);
	return err;
}

/* Not HTTP/1.x, or too large headers: say why and close. */
static int api_conn_bad(struct api_conn *c)
{
	unsigned status = api_http_status(&c->http);
	const char *why = api_http_reason(&c->http);

	api_req_clear(c);
	c->keep_alive = false;
	c->head = false;
	if (status == 400)
		(*c->a->bad_requests)++;
	zt_log(c->a->zi, ZT_LOG_DEBUG, "http: %s", why);
	return api_reply(c->a, c, status, api_error_json(status, why));
}

/* ---- connections ---- */

/* Accept while under max-connections and not out of descriptors. */
static void api_accepting(struct api *a)
{
	bool full = a->conns >= a->max_conns;
	bool on = !full && !ev_is_active(&a->backoff);
	unsigned i;

	for (i = 0; i < a->nlisten; i++) {
		struct api_listener *l = &a->listen[i];

		if (l->fd < 0)
			continue;
		if (on && !ev_is_active(&l->io)) {
			ev_io_start(a->loop, &l->io);
		} else if (!on && ev_is_active(&l->io)) {
			ev_io_stop(a->loop, &l->io);
			if (full && i == 0)
				(*a->refused)++;
		}
	}
}

static void api_conn_free(struct api_conn *c)
{
	struct api *a = c->a;

	ev_io_stop(a->loop, &c->io);
	ev_timer_stop(a->loop, &c->timer);
	close(c->fd);
	api_req_clear(c);
	api_http_clear(&c->http);
	free(c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		a->conn_list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	a->conns--;
	free(c);
	api_accepting(a);
}

/* Read one step of what is buffered: at most one event of the parser. */
static void api_conn_parse(struct api_conn *c)
{
	size_t used = 0;
	int ev, err = 0;

	ev = api_http_feed(&c->http, c->in + c->in_off, c->in_len - c->in_off, &used);
	c->in_off += used;
	switch (ev) {
	case API_HTTP_HEAD:
		err = api_conn_head(c);
		break;
	case API_HTTP_DONE:
		err = api_conn_done(c);
		break;
	case API_HTTP_ERROR:
		err = api_conn_bad(c);
		break;
	default:
		if (!used)
			err = -EPROTO;   /* no progress: cannot happen */
		break;
	}
	if (err < 0)
		c->broken = true;
}

/* Send what is queued, read what is buffered, and wait for what is next:
 * one answer at a time, so a client that does not read cannot make us
 * queue more. */
static void api_conn_run(struct api_conn *c)
{
	struct api *a = c->a;
	int want = EV_READ;

	for (;;) {
		if (c->broken) {
			api_conn_free(c);
			return;
		}
		if (c->out_off < c->out_len) {
			ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				want = EV_WRITE;
				break;
			}
			if (n < 0) {
				api_conn_free(c);
				return;
			}
			c->out_off += (size_t)n;
			ev_timer_again(a->loop, &c->timer);
			continue;
		}
		c->out_off = c->out_len = 0;
		if (c->out_cap > API_OUT_KEEP) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
		if (c->closing) {
			if (c->eof) {
				api_conn_free(c);
				return;
			}
			if (!c->lingering) {
				/* let the client read the answer before the close:
				 * unread input would make the kernel reset it */
				c->lingering = true;
				shutdown(c->fd, SHUT_WR);
				if (c->timer.repeat > API_LINGER_S)
					c->timer.repeat = API_LINGER_S;
				ev_timer_again(a->loop, &c->timer);
			}
			break;
		}
		if (c->in_off < c->in_len) {
			api_conn_parse(c);
			continue;
		}
		if (c->eof) {
			api_conn_free(c);
			return;
		}
		break;
	}
	if (c->in_off == c->in_len) {
		c->in_off = c->in_len = 0;
	} else if (c->in_off) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	if ((c->io.events & (EV_READ | EV_WRITE)) != want) {
		ev_io_stop(a->loop, &c->io);
		ev_io_set(&c->io, c->fd, want);
		ev_io_start(a->loop, &c->io);
	}
}

static void api_conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct api_conn *c = w->data;
	ssize_t n;

	if (revents & EV_READ) {
		if (c->lingering) {
			char sink[API_IN_SIZE];

			n = recv(c->fd, sink, sizeof sink, 0);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
				api_conn_free(c);
			return;
		}
		if (!c->eof && c->in_len < sizeof c->in) {
			n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
			if (n > 0) {
				c->in_len += (size_t)n;
				ev_timer_again(loop, &c->timer);
			} else if (n == 0) {
				c->eof = true;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				api_conn_free(c);
				return;
			}
		}
	}
	api_conn_run(c);
}

/* Idle for the timeout, or lingering too long: close. */
static void api_conn_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	api_conn_free(w->data);
}

static void api_backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	api_accepting(w->data);
}

static void api_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct api_listener *l = w->data;
	struct api *a = l->a;

	while (a->conns < a->max_conns) {
		struct api_conn *c;
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* pause rather than spin on a pending connection */
				zt_log(a->zi, ZT_LOG_WARN, "accept: %s", strerror(errno));
				ev_timer_set(&a->backoff, API_BACKOFF_S, 0.);
				ev_timer_start(loop, &a->backoff);
			}
			break;
		}
		c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			ev_timer_set(&a->backoff, API_BACKOFF_S, 0.);
			ev_timer_start(loop, &a->backoff);
			break;
		}
		c->a = a;
		c->fd = fd;
		api_http_init(&c->http, a->max_body);
		ev_io_init(&c->io, api_conn_cb, fd, EV_READ);
		c->io.data = c;
		ev_init(&c->timer, api_conn_timeout);
		c->timer.repeat = (double)a->timeout_s;
		c->timer.data = c;
		ev_io_start(loop, &c->io);
		ev_timer_again(loop, &c->timer);
		c->next = a->conn_list;
		if (c->next)
			c->next->prev = c;
		a->conn_list = c;
		a->conns++;
	}
	api_accepting(a);
}

/* ---- token and port files ---- */

/* Read a token file into tok (API_TOKEN_MAX + 1 bytes) and *tlen. */
static int api_read_token(struct api *a, const char *path, char *tok, size_t *tlen)
{
	char buf[API_TOKEN_MAX + 2];
	ssize_t n;
	size_t len, s = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	zt_secret_protect(a->zi, fd, path);
	n = read(fd, buf, sizeof buf - 1);
	err = errno;
	close(fd);
	if (n < 0) {
		zt_log(a->zi, ZT_LOG_ERR, "read %s: %s", path, strerror(err));
		return -err;
	}
	if ((size_t)n > API_TOKEN_MAX) {
		zt_log(a->zi, ZT_LOG_ERR, "%s: token longer than %u bytes", path, API_TOKEN_MAX);
		return -EINVAL;
	}
	len = (size_t)n;
	while (len && isspace((unsigned char)buf[len - 1]))
		len--;
	while (s < len && isspace((unsigned char)buf[s]))
		s++;
	if (s == len) {
		zt_log(a->zi, ZT_LOG_ERR, "%s: empty token", path);
		return -EINVAL;
	}
	if (memchr(buf + s, 0, len - s)) {
		zt_log(a->zi, ZT_LOG_ERR, "%s: token contains a NUL byte", path);
		return -EINVAL;
	}
	memcpy(tok, buf + s, len - s);
	tok[len - s] = 0;
	*tlen = len - s;
	sodium_memzero(buf, sizeof buf);
	return 0;
}

/* Create the token file: 24 characters of a-z0-9, mode 0600. */
static int api_make_token(struct api *a, const char *path)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	char tok[API_TOKEN_LEN];
	size_t i, off = 0;
	int fd, err = 0;

	for (i = 0; i < sizeof tok; i++)
		tok[i] = set[randombytes_uniform(sizeof set - 1)];
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		if (err != -EEXIST)
			zt_log(a->zi, ZT_LOG_ERR, "create %s: %s", path, strerror(-err));
		sodium_memzero(tok, sizeof tok);
		return err;
	}
	while (off < sizeof tok) {
		ssize_t w = write(fd, tok + off, sizeof tok - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)w;
	}
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	sodium_memzero(tok, sizeof tok);
	if (err) {
		zt_log(a->zi, ZT_LOG_ERR, "write %s: %s", path, strerror(-err));
		unlink(path);
		return err;
	}
	zt_log(a->zi, ZT_LOG_INFO, "created %s", path);
	return 0;
}

/* Read a token file, creating it first if it does not exist. */
static int api_load_token(struct api *a, const char *path, char *tok, size_t *tlen)
{
	int err = api_read_token(a, path, tok, tlen);

	if (err != -ENOENT) {
		if (err < 0 && err != -EINVAL)
			zt_log(a->zi, ZT_LOG_ERR, "open %s: %s", path, strerror(-err));
		return err;
	}
	err = api_make_token(a, path);
	if (err < 0 && err != -EEXIST)
		return err;
	/* made by us, or by someone else just now */
	err = api_read_token(a, path, tok, tlen);
	if (err < 0 && err != -EINVAL)
		zt_log(a->zi, ZT_LOG_ERR, "open %s: %s", path, strerror(-err));
	return err;
}

/* <home>/zerotier-one.port: the port of the first IPv4 listener (else the
 * first), in decimal, so that zt-cli finds us.  Written through a
 * temporary file so a reader never sees half of it. */
static void api_write_port(struct api *a, const char *home)
{
	union zt_sockaddr bound[API_MAX_LISTEN];
	char path[4096], tmp[4096 + 8], text[8];
	unsigned i, port;
	int fd, len;
	bool good;

	for (i = 0; i < a->nlisten; i++)
		bound[i] = a->listen[i].addr;
	port = api_primary_port(bound, a->nlisten);
	if (snprintf(path, sizeof path, "%s/zerotier-one.port", home) >= (int)sizeof path ||
	    snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		zt_log(a->zi, ZT_LOG_WARN, "%s: path too long for the port file", home);
		return;
	}
	len = snprintf(text, sizeof text, "%u", port);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		zt_log(a->zi, ZT_LOG_WARN, "create %s: %s", tmp, strerror(errno));
		return;
	}
	good = write(fd, text, (size_t)len) == len;
	if (close(fd) < 0)
		good = false;
	if (!good || rename(tmp, path) < 0) {
		zt_log(a->zi, ZT_LOG_WARN, "write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
}

/* ---- lifecycle ---- */

static const struct zt_node *api_at(const struct zt_node *conf, const char *key)
{
	const struct zt_node *n = zt_node_get(conf, key);

	return n ? n : conf;
}

static void api_destroy(void *state)
{
	struct api *a = state;

	if (!a)
		return;
	sodium_memzero(a->token, sizeof a->token);
	sodium_memzero(a->mtoken, sizeof a->mtoken);
	free(a->token_file);
	free(a);
}

static int api_counters(struct api *a)
{
	static const struct zt_counter_field fields[] = {
		/* not "requests": a family of its own, apart from the controller's config requests */
		{ "api_requests", offsetof(struct api, requests) },
		ZT_COUNTER_FIELD(struct api, unauthorized),
		ZT_COUNTER_FIELD(struct api, refused),
		ZT_COUNTER_FIELD(struct api, too_large),
		ZT_COUNTER_FIELD(struct api, bad_requests),
		ZT_COUNTER_FIELD(struct api, errors),
	};

	return zt_counters_bind(a->zi, a, fields, sizeof fields / sizeof fields[0]);
}

static int api_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	union zt_sockaddr addrs[API_MAX_LISTEN];
	char as[API_ADDRSTRLEN];
	const char *tf;
	struct api *a;
	uint64_t max_body, max_conns, timeout_ms;
	bool allow_remote;
	size_t n, i;
	int err = -ENOMEM;

	n = zt_conf_addrs(conf, "listen", addrs, API_MAX_LISTEN);
	if (n == 0) {
		zt_node_error(api_at(conf, "listen"), "needs at least one address");
		return -EINVAL;
	}
	if (n > API_MAX_LISTEN) {
		zt_node_error(api_at(conf, "listen"), "at most %u addresses", API_MAX_LISTEN);
		return -EINVAL;
	}
	allow_remote = zt_conf_bool(conf, "allow-remote");
	for (i = 0; i < n; i++) {
		sa_family_t fam = addrs[i].sa.sa_family;

		if (fam != AF_INET && fam != AF_INET6) {
			zt_node_error(api_at(conf, "listen"), "address %zu is not IPv4 or IPv6", i + 1);
			return -EINVAL;
		}
		if (!allow_remote && !api_is_loopback(&addrs[i])) {
			zt_node_error(api_at(conf, "listen"),
				      "%s is not a loopback address (set allow-remote: true to serve it)",
				      api_addr_str(&addrs[i], as, sizeof as));
			return -EINVAL;
		}
	}
	max_body = zt_conf_uint(conf, "max-body");
	if (max_body < 1 || max_body > API_BODY_LIMIT) {
		zt_node_error(api_at(conf, "max-body"), "must be between 1 and %u", API_BODY_LIMIT);
		return -EINVAL;
	}
	max_conns = zt_conf_uint(conf, "max-connections");
	if (max_conns < 1 || max_conns > 65536) {
		zt_node_error(api_at(conf, "max-connections"), "must be between 1 and 65536");
		return -EINVAL;
	}
	timeout_ms = zt_conf_duration_ms(conf, "timeout");
	if (timeout_ms < 1000 || timeout_ms > 86400000) {
		zt_node_error(api_at(conf, "timeout"), "must be between 1s and 24h");
		return -EINVAL;
	}
	tf = zt_conf_str(conf, "token-file");
	if (tf && !*tf) {
		zt_node_error(api_at(conf, "token-file"), "must not be empty");
		return -EINVAL;
	}
	if (sodium_init() < 0)
		return -EIO;

	a = calloc(1, sizeof *a);
	if (!a)
		return -ENOMEM;
	a->zi = zi;
	a->allow_remote = allow_remote;
	a->max_body = (size_t)max_body;
	a->max_conns = (unsigned)max_conns;
	a->timeout_s = (unsigned)((timeout_ms + 999) / 1000);
	a->nlisten = (unsigned)n;
	ev_init(&a->backoff, api_backoff_cb);
	a->backoff.data = a;
	for (i = 0; i < n; i++) {
		a->listen[i].a = a;
		a->listen[i].fd = -1;
		a->listen[i].addr = addrs[i];
	}
	if (tf && !(a->token_file = strdup(tf)))
		goto fail;
	err = api_counters(a);
	if (err < 0)
		goto fail;
	*state = a;
	return 0;
fail:
	api_destroy(a);
	return err;
}

static void api_stop(void *state)
{
	struct api *a = state;
	unsigned i;

	for (i = 0; i < a->nlisten; i++) {
		struct api_listener *l = &a->listen[i];

		if (l->fd >= 0) {
			if (a->loop)
				ev_io_stop(a->loop, &l->io);
			close(l->fd);
			l->fd = -1;
		}
	}
	if (a->loop)
		ev_timer_stop(a->loop, &a->backoff);
	while (a->conn_list)
		api_conn_free(a->conn_list);
	a->conns = 0;
	a->started = false;
}

static int api_listen(struct api *a, struct api_listener *l)
{
	char as[API_ADDRSTRLEN];
	int fam = l->addr.sa.sa_family, one = 1, fd, err;
	union zt_sockaddr bound;
	socklen_t blen = sizeof bound;

	api_addr_str(&l->addr, as, sizeof as);
	fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0) {
		err = -errno;
		zt_log(a->zi, ZT_LOG_ERR, "socket %s: %s", as, strerror(errno));
		return err;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (fam == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)) {
		err = -errno;
		zt_log(a->zi, ZT_LOG_ERR, "setsockopt %s: %s", as, strerror(errno));
		close(fd);
		return err;
	}
	if (bind(fd, &l->addr.sa, api_addrlen(&l->addr)) < 0 || listen(fd, SOMAXCONN) < 0) {
		err = -errno;
		zt_log(a->zi, ZT_LOG_ERR, "bind %s: %s", as, strerror(errno));
		close(fd);
		return err;
	}
	memset(&bound, 0, sizeof bound);
	if (getsockname(fd, &bound.sa, &blen) < 0) {
		err = -errno;
		zt_log(a->zi, ZT_LOG_ERR, "getsockname %s: %s", as, strerror(errno));
		close(fd);
		return err;
	}
	l->addr = bound;
	l->fd = fd;
	ev_io_init(&l->io, api_accept_cb, fd, EV_READ);
	l->io.data = l;
	ev_io_start(a->loop, &l->io);
	zt_log(a->zi, ZT_LOG_INFO, "listening on %s", api_addr_str(&l->addr, as, sizeof as));
	return 0;
}

static int api_start(void *state, struct ev_loop *loop)
{
	struct api *a = state;
	struct zt_status st;
	char path[4096];
	const char *home = NULL;
	unsigned i;
	int err;

	if (a->started)
		return 0;
	a->loop = loop;
	a->core = zt_inst_core(a->zi);
	if (a->core) {
		memset(&st, 0, sizeof st);
		zt_core_status(a->core, &st);
		home = st.home;
	}
	if (a->token_file) {
		snprintf(path, sizeof path, "%s", a->token_file);
	} else if (home) {
		if (snprintf(path, sizeof path, "%s/authtoken.secret", home) >= (int)sizeof path) {
			zt_log(a->zi, ZT_LOG_ERR, "%s: path too long for the token file", home);
			return -ENAMETOOLONG;
		}
	} else {
		zt_log(a->zi, ZT_LOG_ERR, "no node home for authtoken.secret: set token-file");
		return -EINVAL;
	}
	err = api_load_token(a, path, a->token, &a->token_len);
	if (err < 0)
		return err;
	if (home) {
		if (snprintf(path, sizeof path, "%s/metricstoken.secret", home) >= (int)sizeof path) {
			zt_log(a->zi, ZT_LOG_ERR, "%s: path too long for the metrics token file", home);
			return -ENAMETOOLONG;
		}
		err = api_load_token(a, path, a->mtoken, &a->mtoken_len);
		if (err < 0)
			return err;
	}
	for (i = 0; i < a->nlisten; i++) {
		err = api_listen(a, &a->listen[i]);
		if (err < 0) {
			api_stop(a);
			return err;
		}
	}
	if (home)
		api_write_port(a, home);
	a->started = true;
	return 0;
}

static const struct zt_opt api_opts[] = {
	ZT_OPT_ADDRS("listen", 0, "['127.0.0.1:9993', '[::1]:9993']",
		     "addresses to serve the API on, port 0 for an ephemeral port"),
	ZT_OPT_BOOL("allow-remote", 0, "allow listen addresses that are not loopback"),
	ZT_OPT_STR("token-file", NULL, "the auth token file, default <home>/authtoken.secret"),
	ZT_OPT_UINT("max-body", 65536, 1, API_BODY_LIMIT, "largest request body in bytes"),
	ZT_OPT_UINT("max-connections", 256, 1, 65536, "simultaneous connections"),
	ZT_OPT_DURATION("timeout", "30s", "close a connection idle this long"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI,
	.name = "api",
	.kind = ZT_SERVICE,
	.summary = "the local HTTP/JSON service API",
	.opts = api_opts,
	.create = api_create,
	.start = api_start,
	.stop = api_stop,
	.destroy = api_destroy,
};
