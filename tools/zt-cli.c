/* zt-cli: talk to a running ztd through its local API (the api module),
 * with the commands and output formats of zerotier-cli (networks.md §10),
 * plus zt's own "ping".  See zt-cli(1). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "compile.h"

#define CLI_TOKEN_MAX 256
#define CLI_BODY_MAX (64u << 20)

struct cli {
	const char *home;
	const char *host;
	unsigned port;
	char token[CLI_TOKEN_MAX + 1];
	bool json;
	double wait_s;       /* ping: how long to wait for an answer */
	CURL *curl;
};

struct cli_resp {
	long status;         /* 0: no connection */
	char *body;
	size_t len;
	bool overflow;
	char err[CURL_ERROR_SIZE];
};

static void cli_help(FILE *f)
{
	fprintf(f,
		"zt-cli %s: talk to a running ztd through its local API\n"
		"usage: zt-cli [-options] <command> [<args>]\n"
		"options:\n"
		"  -h, -?       this help\n"
		"  -v           print the version of zt\n"
		"  -j           print JSON instead of text\n"
		"  -D<path>     home directory (default $ZT_HOME, else %s)\n"
		"  -p<port>     API port (default: <home>/zerotier-one.port)\n"
		"  -T<token>    auth token (default: <home>/authtoken.secret)\n"
		"  -H<ip>       API host (default 127.0.0.1)\n"
		"  -t<seconds>  ping: how long to wait for an answer (default 5)\n"
		"  -q           ignored\n"
		"commands:\n"
		"  info | status          this node's address, version and state\n"
		"  listpeers              one line per peer\n"
		"  listnetworks           one line per joined network\n"
		"  peers                  peers as a table\n"
		"  join <nwid> [--allow-managed|global|default|dns] [--no-allow-...]\n"
		"                         join a network, with local settings\n"
		"  leave <nwid>           leave a network joined with join\n"
		"  set <nwid> <setting>=<value>\n"
		"                         allowManaged, allowGlobal, allowDefault, allowDNS\n"
		"  get <nwid> <field>     a field of a network, or ip, ip4, ip6, ip6plane, ip6prefix\n"
		"  listmoons              the moons orbited, as JSON\n"
		"  orbit <id> <seed>      orbit a moon through one of its roots\n"
		"  deorbit <id>           stop orbiting a moon\n"
		"  ping <address>         ECHO a peer and show its latency and path\n"
		"  /<path>                GET an API path and print the body\n"
		"  rules compile <file>   compile a flow rules source (- for stdin) to the\n"
		"                         controller's rules, capabilities and tags JSON\n"
		"  rules <nwid>           the network's rules with the frames each decided\n"
		"  rules explain <nwid> <frame description>\n"
		"                         which rule would decide such a frame, and why\n",
		PACKAGE_VERSION, ZT_DEFAULT_HOME);
}

/* ---- files ---- */

/* The contents of path with surrounding whitespace removed, into buf;
 * 0, or -errno (-EINVAL: empty or too long). */
static int cli_read_trimmed(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n, s = 0;
	int err;

	if (!f)
		return -errno;
	n = fread(buf, 1, size, f);
	err = ferror(f) ? -EIO : 0;
	fclose(f);
	if (err)
		return err;
	if (n == size)
		return -EINVAL;
	while (n && isspace((unsigned char)buf[n - 1]))
		n--;
	while (s < n && isspace((unsigned char)buf[s]))
		s++;
	if (s == n)
		return -EINVAL;
	memmove(buf, buf + s, n - s);
	buf[n - s] = 0;
	return 0;
}

static bool cli_token_ok(const char *t)
{
	if (!*t || strlen(t) > CLI_TOKEN_MAX)
		return false;
	for (; *t; t++)
		if ((unsigned char)*t < 0x21 || *t == 0x7f)
			return false;
	return true;
}

static bool cli_parse_port(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 65535)
		return false;
	*out = (unsigned)v;
	return true;
}

/* ---- HTTP ---- */

static size_t cli_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct cli_resp *r = ctx;
	size_t n = size * nmemb;
	char *b;

	if (r->len + n > CLI_BODY_MAX) {
		r->overflow = true;
		return 0;
	}
	b = realloc(r->body, r->len + n + 1);
	if (!b)
		return 0;
	memcpy(b + r->len, data, n);
	r->body = b;
	r->len += n;
	r->body[r->len] = 0;
	return n;
}

static void cli_resp_clear(struct cli_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

/* One request; r->status is the HTTP status, or 0 with r->err set when
 * no answer came.  r->body is always a string. */
static void cli_request(struct cli *c, const char *method, const char *path, const char *body,
			struct cli_resp *r)
{
	struct curl_slist *hdrs = NULL, *h;
	char url[8192], auth[CLI_TOKEN_MAX + 32];
	bool v6 = strchr(c->host, ':') != NULL;
	CURLcode rc;

	memset(r, 0, sizeof *r);
	if (snprintf(url, sizeof url, "http://%s%s%s:%u%s", v6 ? "[" : "", c->host,
		     v6 ? "]" : "", c->port, path) >= (int)sizeof url) {
		snprintf(r->err, sizeof r->err, "path too long");
		goto out;
	}
	snprintf(auth, sizeof auth, "X-ZT1-Auth: %s", c->token);
	h = curl_slist_append(hdrs, auth);
	if (h)
		hdrs = h;
	h = h ? curl_slist_append(hdrs, "Expect:") : NULL;
	if (!h) {
		curl_slist_free_all(hdrs);
		snprintf(r->err, sizeof r->err, "out of memory");
		goto out;
	}
	hdrs = h;
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, cli_write);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, r->err);
	if (strcmp(method, "POST") == 0) {
		if (!body)
			body = "{}";
		curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	}
	rc = curl_easy_perform(c->curl);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		if (r->overflow)
			snprintf(r->err, sizeof r->err, "response larger than %u bytes", CLI_BODY_MAX);
		else if (!r->err[0])
			snprintf(r->err, sizeof r->err, "%s", curl_easy_strerror(rc));
		r->status = 0;
		free(r->body);
		r->body = NULL;
		r->len = 0;
	} else {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	}
out:
	if (!r->body)
		r->body = strdup("");
	if (!r->body) {
		fprintf(stderr, "zt-cli: out of memory\n");
		exit(1);
	}
}

/* The message for a command that could not reach the service; exit 1. */
static int cli_unreachable(const struct cli *c, const struct cli_resp *r)
{
	printf("Error connecting to the ZeroTier service: %s\n\n"
	       "Please check that the service is running and that TCP port %u can be contacted via %s.\n",
	       r->err, c->port, c->host);
	return 1;
}

/* "<status> <command> <body>" for a status other than 200; exit 1. */
static int cli_failed(const char *command, const struct cli_resp *r)
{
	printf("%ld %s %s\n", r->status, command, r->status ? r->body : r->err);
	return 1;
}

/* GET path and parse the body; returns the JSON, or NULL after printing
 * what went wrong (*rc is then the exit status). */
static json_t *cli_get_json(struct cli *c, const char *path, const char *command, int *rc)
{
	struct cli_resp r;
	json_error_t jerr;
	json_t *j;

	cli_request(c, "GET", path, NULL, &r);
	if (r.status == 0) {
		*rc = cli_unreachable(c, &r);
		cli_resp_clear(&r);
		return NULL;
	}
	if (r.status != 200) {
		*rc = cli_failed(command, &r);
		cli_resp_clear(&r);
		return NULL;
	}
	j = json_loadb(r.body, r.len, JSON_DECODE_ANY, &jerr);
	if (!j) {
		printf("%ld %s invalid JSON response: %s\n", r.status, command, jerr.text);
		*rc = 1;
	}
	cli_resp_clear(&r);
	return j;
}

static void cli_print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	if (!s) {
		fprintf(stderr, "zt-cli: out of memory\n");
		exit(1);
	}
	printf("%s\n", s);
	free(s);
}

/* ---- JSON fields ---- */

static const char *cli_str(const json_t *o, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : def;
}

static long long cli_int(const json_t *o, const char *key, long long def)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return def;
}

static bool cli_bool(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

static long long cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first preferred path of a peer object, or NULL. */
static const json_t *cli_preferred(const json_t *peer)
{
	const json_t *paths = json_object_get(peer, "paths"), *p;
	size_t i;

	json_array_foreach(paths, i, p)
		if (cli_bool(p, "preferred"))
			return p;
	return NULL;
}

/* ms since a timestamp, -1 if it is 0 (never). */
static long long cli_ago(long long now, long long t)
{
	return t ? now - t : -1;
}

/* "maj.min.rev", or "-" if unknown. */
static const char *cli_peer_version(const json_t *peer, char *buf, size_t len)
{
	long long maj = cli_int(peer, "versionMajor", -1);

	if (maj < 0)
		return "-";
	snprintf(buf, len, "%lld.%lld.%lld", maj, cli_int(peer, "versionMinor", 0),
		 cli_int(peer, "versionRev", 0));
	return buf;
}

/* ---- commands ---- */

static int cli_info(struct cli *c, const char *command)
{
	json_t *j;
	int rc = 0;

	j = cli_get_json(c, "/status", command, &rc);
	if (!j)
		return rc;
	if (c->json) {
		cli_print_json(j);
	} else {
		const char *state = cli_bool(j, "tcpFallbackActive") ? "TUNNELED" :
				    cli_bool(j, "online") ? "ONLINE" : "OFFLINE";

		printf("200 info %s %s %s\n", cli_str(j, "address", "-"),
		       cli_str(j, "version", "-"), state);
	}
	json_decref(j);
	return 0;
}

static int cli_listpeers(struct cli *c, const char *command)
{
	const json_t *peer;
	long long now;
	size_t i;
	json_t *j;
	int rc = 0;

	j = cli_get_json(c, "/peer", command, &rc);
	if (!j)
		return rc;
	if (c->json) {
		cli_print_json(j);
		json_decref(j);
		return 0;
	}
	now = cli_now_ms();
	printf("200 listpeers <ztaddr> <path> <latency> <version> <role>\n");
	json_array_foreach(j, i, peer) {
		const json_t *p = cli_preferred(peer);
		char path[256], ver[64];

		if (p)
			snprintf(path, sizeof path, "%s;%lld;%lld", cli_str(p, "address", "-"),
				 cli_ago(now, cli_int(p, "lastSend", 0)),
				 cli_ago(now, cli_int(p, "lastReceive", 0)));
		else
			snprintf(path, sizeof path, "-");
		printf("200 listpeers %s %s %lld %s %s\n", cli_str(peer, "address", "-"), path,
		       cli_int(peer, "latency", -1), cli_peer_version(peer, ver, sizeof ver),
		       cli_str(peer, "role", "-"));
	}
	json_decref(j);
	return 0;
}

static int cli_listnetworks(struct cli *c, const char *command)
{
	const json_t *net, *addr;
	size_t i, k;
	json_t *j;
	int rc = 0;

	j = cli_get_json(c, "/network", command, &rc);
	if (!j)
		return rc;
	if (c->json) {
		cli_print_json(j);
		json_decref(j);
		return 0;
	}
	printf("200 listnetworks <nwid> <name> <mac> <status> <type> <dev> <ZT assigned ips>\n");
	json_array_foreach(j, i, net) {
		const json_t *addrs = json_object_get(net, "assignedAddresses");

		printf("200 listnetworks %s %s %s %s %s %s ", cli_str(net, "nwid", "-"), cli_str(net, "name", ""),
		       cli_str(net, "mac", "-"), cli_str(net, "status", "-"), cli_str(net, "type", "-"),
		       cli_str(net, "portDeviceName", "-"));
		if (!json_array_size(addrs))
			printf("-");
		json_array_foreach(addrs, k, addr)
			printf("%s%s", k ? "," : "", json_string_value(addr) ? json_string_value(addr) : "");
		printf("\n");
	}
	json_decref(j);
	return 0;
}

static int cli_peers(struct cli *c, const char *command)
{
	const json_t *peer;
	bool tunneled = false;
	long long now;
	size_t i;
	json_t *j;
	int rc = 0;

	j = cli_get_json(c, "/peer", command, &rc);
	if (!j)
		return rc;
	if (c->json) {
		cli_print_json(j);
		json_decref(j);
		return 0;
	}
	now = cli_now_ms();
	printf("200 peers\n<ztaddr>   <ver>  <role> <lat> <link>   <lastTX> <lastRX> <path>\n");
	json_array_foreach(j, i, peer) {
		const json_t *p = cli_preferred(peer);
		bool tun = cli_bool(peer, "tunneled");
		char link[320], ver[64];

		tunneled |= tun;
		if (p)
			snprintf(link, sizeof link, "%s%-8lld %-8lld %s%s", tun ? "RELAY " : "DIRECT   ",
				 cli_ago(now, cli_int(p, "lastSend", 0)),
				 cli_ago(now, cli_int(p, "lastReceive", 0)),
				 cli_str(p, "address", "-"), tun ? " tcp" : "");
		else
			snprintf(link, sizeof link, "RELAY");
		printf("%s %-6s %-6s %5d %s\n", cli_str(peer, "address", "-"),
		       cli_peer_version(peer, ver, sizeof ver), cli_str(peer, "role", "-"),
		       (int)cli_int(peer, "latency", -1), link);
	}
	if (tunneled)
		printf("NOTE: Currently tunneling through a TCP relay. Ensure that UDP is not blocked.\n");
	json_decref(j);
	return 0;
}

static int cli_get_path(struct cli *c, const char *path)
{
	struct cli_resp r;
	int rc = 0;

	cli_request(c, "GET", path, NULL, &r);
	if (r.status == 200)
		fwrite(r.body, 1, r.len, stdout);
	else
		rc = cli_failed(path, &r);
	cli_resp_clear(&r);
	return rc;
}

static bool cli_is_address(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return i == 10;
}

static void cli_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ECHO a peer, then watch it until it has a latency or a preferred path. */
static int cli_ping(struct cli *c, const char *addr)
{
	char path[64], lower[11];
	struct cli_resp r;
	long long deadline;
	size_t i;

	if (!addr || !cli_is_address(addr)) {
		fprintf(stderr, "zt-cli: ping: the address must be 10 hex digits\n");
		return 2;
	}
	for (i = 0; i < 10; i++)
		lower[i] = (char)tolower((unsigned char)addr[i]);
	lower[10] = 0;
	snprintf(path, sizeof path, "/peer/%s/echo", lower);
	cli_request(c, "POST", path, NULL, &r);
	if (r.status == 0) {
		int rc = cli_unreachable(c, &r);

		cli_resp_clear(&r);
		return rc;
	}
	if (r.status != 200) {
		int rc = cli_failed("ping", &r);

		cli_resp_clear(&r);
		return rc;
	}
	cli_resp_clear(&r);

	snprintf(path, sizeof path, "/peer/%s", lower);
	deadline = cli_now_ms() + (long long)(c->wait_s * 1000.0);
	for (;;) {
		const json_t *p;
		long long lat;
		json_t *j;
		int rc = 0;

		j = cli_get_json(c, path, "ping", &rc);
		if (!j)
			return rc;
		p = cli_preferred(j);
		lat = cli_int(j, "latency", -1);
		if (json_object_get(j, "address") && (lat >= 0 || p)) {
			if (c->json)
				cli_print_json(j);
			else if (p)
				printf("200 ping %s %lld DIRECT %s\n", lower, lat, cli_str(p, "address", "-"));
			else
				printf("200 ping %s %lld RELAY\n", lower, lat);
			json_decref(j);
			return 0;
		}
		json_decref(j);
		if (cli_now_ms() >= deadline)
			break;
		cli_sleep_ms(100);
	}
	fprintf(stderr, "zt-cli: ping %s: no answer within %g s\n", lower, c->wait_s);
	return 1;
}

static const char *const cli_settings[] = { "allowManaged", "allowGlobal", "allowDefault", "allowDNS" };
static const char *const cli_setting_options[] = { "managed", "global", "default", "dns" };

/* The local setting of "<setting>=<value>", or NULL. */
static const char *cli_setting(const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t i, n = eq ? (size_t)(eq - arg) : 0;

	for (i = 0; i < sizeof cli_settings / sizeof cli_settings[0]; i++)
		if (strlen(cli_settings[i]) == n && !memcmp(arg, cli_settings[i], n))
			return cli_settings[i];
	return NULL;
}

/* A value of set's syntax: true iff it starts with t or 1. */
static bool cli_setting_value(const char *arg)
{
	const char *v = strchr(arg, '=') + 1;

	return v[0] == 't' || v[0] == '1';
}

/* One join option into the JSON body: --allow-<x>, --no-allow-<x> or
 * <setting>=<value>.  false if it is none of them. */
static bool cli_join_option(const char *arg, json_t *body)
{
	bool on = strncmp(arg, "--no-", 5) != 0;
	const char *name = arg + (on ? 2 : 5);
	size_t i;

	if (cli_setting(arg))
		return json_object_set_new(body, cli_setting(arg), json_boolean(cli_setting_value(arg))) == 0;
	if (strncmp(arg, "--", 2) || strncmp(name, "allow-", 6))
		return false;
	for (i = 0; i < sizeof cli_setting_options / sizeof cli_setting_options[0]; i++)
		if (!strcmp(name + 6, cli_setting_options[i]))
			return json_object_set_new(body, cli_settings[i], json_boolean(on)) == 0;
	return false;
}

/* The body of a join: {} or the local settings its options give; NULL
 * (and a message) on a bad option. */
static char *cli_join_body(char *const *opts, int n)
{
	json_t *body = json_object();
	char *text;

	for (int i = 0; body && i < n; i++)
		if (!cli_join_option(opts[i], body)) {
			fprintf(stderr, "zt-cli: join: '%s': not a local setting (--allow-managed, --allow-global, "
				"--allow-default, --allow-dns, their --no- forms, or allowDefault=1 ...)\n", opts[i]);
			json_decref(body);
			return NULL;
		}
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	return text;
}

/* join/leave: POST or DELETE /network/<nwid>; "200 join OK".  A join
 * may carry local settings: options after the network id. */
static int cli_join_leave(struct cli *c, const char *command, const char *nwid, char *const *opts, int n_opts)
{
	char path[64], *body = NULL;
	struct cli_resp r;
	int rc = 0;

	if (!strcmp(command, "join") && !(body = cli_join_body(opts, n_opts)))
		return 2;
	snprintf(path, sizeof path, "/network/%s", nwid);
	cli_request(c, strcmp(command, "join") ? "DELETE" : "POST", path, body ? body : "{}", &r);
	free(body);
	if (r.status != 200)
		rc = cli_failed(command, &r);
	else if (c->json)
		fwrite(r.body, 1, r.len, stdout);
	else
		printf("200 %s OK\n", command);
	cli_resp_clear(&r);
	return rc;
}

/* set <nwid> <setting>=<value>: POST {"<setting>":bool} to the network and
 * print the answer as it came (no newline added). */
static int cli_set(struct cli *c, const char *nwid, const char *arg)
{
	char path[64], body[64];
	struct cli_resp r;
	int rc = 0;

	snprintf(path, sizeof path, "/network/%s", nwid);
	snprintf(body, sizeof body, "{\"%s\":%s}", cli_setting(arg), cli_setting_value(arg) ? "true" : "false");
	cli_request(c, "POST", path, body, &r);
	if (r.status == 200)
		fwrite(r.body, 1, r.len, stdout);
	else
		rc = cli_failed("set", &r);
	cli_resp_clear(&r);
	return rc;
}

/* An assigned address "ip/bits" without its "/bits", into buf. */
static const char *cli_strip_bits(const char *a, char *buf, size_t len)
{
	const char *sl = strchr(a, '/');
	size_t n = sl ? (size_t)(sl - a) : strlen(a);

	if (n >= len)
		n = len - 1;
	memcpy(buf, a, n);
	buf[n] = 0;
	return buf;
}

/* get <nwid> ip|ip4|ip6: the assigned addresses (containing "." or ":" for
 * ip4 and ip6) without their prefix lengths. */
static json_t *cli_get_ips(const json_t *net, const char *which)
{
	const json_t *addrs = json_object_get(net, "assignedAddresses"), *a;
	json_t *out = json_array();
	char buf[128];
	size_t i;

	if (!out)
		return NULL;
	json_array_foreach(addrs, i, a) {
		const char *s = json_string_value(a);

		if (!s || (!strcmp(which, "ip4") && !strchr(s, '.')) || (!strcmp(which, "ip6") && !strchr(s, ':')))
			continue;
		if (json_array_append_new(out, json_string(cli_strip_bits(s, buf, sizeof buf))) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* ip6plane: the assigned address starting with "fc" without "/bits";
 * ip6prefix: its first 24 characters.  json null if there is none. */
static json_t *cli_get_plane(const json_t *net, bool prefix)
{
	const json_t *addrs = json_object_get(net, "assignedAddresses"), *a;
	char buf[128];
	size_t i;

	json_array_foreach(addrs, i, a) {
		const char *s = json_string_value(a);

		if (!s || strncmp(s, "fc", 2))
			continue;
		cli_strip_bits(s, buf, sizeof buf);
		if (prefix && strlen(buf) > 24)
			buf[24] = 0;
		return json_string(buf);
	}
	return json_null();
}

static int cli_get(struct cli *c, const char *nwid, const char *prop)
{
	const json_t *net = NULL, *n, *v;
	json_t *j, *val = NULL;
	size_t i;
	int rc = 0;

	j = cli_get_json(c, "/network", "get", &rc);
	if (!j)
		return rc;
	json_array_foreach(j, i, n)
		if (!strcasecmp(cli_str(n, "nwid", ""), nwid))
			net = n;
	if (!net) {
		fprintf(stderr, "unknown network ID, check that you are a member of the network\n");
		json_decref(j);
		return 0;
	}
	if (!strcmp(prop, "ip") || !strcmp(prop, "ip4") || !strcmp(prop, "ip6"))
		val = cli_get_ips(net, prop);
	else if (!strcmp(prop, "ip6plane") || !strcmp(prop, "ip6prefix"))
		val = cli_get_plane(net, !strcmp(prop, "ip6prefix"));
	else
		val = json_incref(json_object_get(net, prop));
	json_decref(j);
	if (c->json) {
		if (!val)
			val = json_null();
		cli_print_json(val);
	} else if (json_is_array(val) && !strncmp(prop, "ip", 2)) {
		json_array_foreach(val, i, v)
			printf("%s\n", json_string_value(v));
	} else if (json_is_string(val)) {
		printf("%s\n", json_string_value(val));
	} else if (json_is_integer(val)) {
		printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(val));
	} else if (json_is_real(val)) {
		printf("%g\n", json_real_value(val));
	} else if (json_is_boolean(val)) {
		printf("%d\n", json_is_true(val) ? 1 : 0);
	} else if (!json_is_null(val) || strncmp(prop, "ip6", 3)) {
		printf("error, unknown property name\n");
	}
	json_decref(val);
	return 0;
}

static int cli_listmoons(struct cli *c)
{
	json_t *j;
	int rc = 0;

	j = cli_get_json(c, "/moon", "listmoons", &rc);
	if (!j)
		return rc;
	cli_print_json(j);
	json_decref(j);
	return 0;
}

/* 1 to max hex digits, not zero. */
static bool cli_parse_hex(const char *s, size_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!s || !*s || strlen(s) > max)
		return false;
	for (i = 0; s[i]; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return false;
		v = v << 4 | (uint64_t)(isdigit((unsigned char)s[i]) ? s[i] - '0' :
					 tolower((unsigned char)s[i]) - 'a' + 10);
	}
	*out = v;
	return v != 0;
}

/* /moon/<id>: 10 hex digits when the id fits in them (a moon's id is
 * usually its first root's address), the only form ZeroTier One's API
 * takes; zt's takes 16 too. */
static void cli_moon_path(char *out, size_t len, uint64_t id)
{
	snprintf(out, len, id >> 40 ? "/moon/%016" PRIx64 : "/moon/%010" PRIx64, id);
}

/* orbit <world id> <seed>: POST /moon/<id> {"seed":"<seed>"}. */
static int cli_orbit(struct cli *c, const char *id_s, const char *seed_s)
{
	char path[64], body[64];
	uint64_t id, seed;
	struct cli_resp r;
	json_t *j;
	int rc = 0;

	cli_parse_hex(id_s, 16, &id);
	cli_parse_hex(seed_s, 10, &seed);
	cli_moon_path(path, sizeof path, id);
	snprintf(body, sizeof body, "{\"seed\":\"%010" PRIx64 "\"}", seed);
	cli_request(c, "POST", path, body, &r);
	if (r.status != 200) {
		rc = cli_failed("orbit", &r);
	} else if (!c->json) {
		printf("200 orbit OK\n");
	} else if ((j = json_loadb(r.body, r.len, JSON_DECODE_ANY, NULL))) {
		cli_print_json(j);
		json_decref(j);
	} else {
		printf("200 orbit invalid JSON response\n");
		rc = 1;
	}
	cli_resp_clear(&r);
	return rc;
}

static int cli_deorbit(struct cli *c, const char *id_s)
{
	char path[64];
	struct cli_resp r;
	uint64_t id;
	int rc = 0;

	cli_parse_hex(id_s, 16, &id);
	cli_moon_path(path, sizeof path, id);
	cli_request(c, "DELETE", path, NULL, &r);
	if (r.status != 200)
		rc = cli_failed("deorbit", &r);
	else if (c->json)
		fwrite(r.body, 1, r.len, stdout);
	else
		printf("200 deorbit OK\n");
	cli_resp_clear(&r);
	return rc;
}

/* Check a command's arguments before looking for the service: -1 if
 * they are good, else the exit status (the message is printed). */
static int cli_check(const char *command, const char *arg1, const char *arg2)
{
	uint64_t v;

	if (!strcmp(command, "join") || !strcmp(command, "leave")) {
		if (!arg1 || strlen(arg1) != 16) {
			printf("invalid network id\n");
			return 2;
		}
	} else if (!strcmp(command, "set") || !strcmp(command, "get")) {
		if (!arg1 || strlen(arg1) != 16) {
			fprintf(stderr, "invalid format: must be a 16-digit (network) ID\n");
			return 2;
		}
		if (!arg2) {
			fprintf(stderr, "invalid format: include a property name to %s\n", command);
			return 2;
		}
		if (command[0] == 'g')
			return -1;
		if (!strchr(arg2, '=')) {
			cli_help(stderr);
			return 2;
		}
		if (!cli_setting(arg2)) {
			fprintf(stderr, "zt-cli: set: '%.*s' is not a local setting (only allowManaged, "
				"allowGlobal, allowDefault and allowDNS are): nothing done\n",
				(int)(strchr(arg2, '=') - arg2), arg2);
			return 0;
		}
	} else if (!strcmp(command, "orbit")) {
		if (!cli_parse_hex(arg1, 16, &v) || !cli_parse_hex(arg2, 10, &v)) {
			fprintf(stderr, "zt-cli: orbit: needs a moon id (up to 16 hex digits) and a seed "
				"(the address of one of its roots, 10 hex digits), neither zero: nothing done\n");
			return 0;
		}
	} else if (!strcmp(command, "deorbit")) {
		if (!cli_parse_hex(arg1, 16, &v)) {
			fprintf(stderr, "zt-cli: deorbit: needs a moon id, up to 16 hex digits, not zero\n");
			return 2;
		}
	}
	return -1;
}

/* ---- rules compile: no service needed ---- */

/* The whole of path (or stdin for "-"), NUL-terminated, up to the
 * compiler's limit plus one byte so that a longer source is refused. */
static char *cli_slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(RULEC_MAX_SOURCE + 2);
	if (buf) {
		*len = fread(buf, 1, RULEC_MAX_SOURCE + 1, f);
		if (ferror(f)) {
			free(buf);
			buf = NULL;
		} else {
			buf[*len] = 0;
		}
	}
	if (f != stdin)
		fclose(f);
	return buf;
}

static int cli_rules_compile(const char *sub, const char *path)
{
	struct rulec_error err;
	size_t len = 0;
	json_t *out;
	char *src;

	if (!sub || strcmp(sub, "compile") || !path) {
		fprintf(stderr, "usage: zt-cli rules compile <file>\n");
		return 2;
	}
	if (!(src = cli_slurp(path, &len))) {
		fprintf(stderr, "zt-cli: %s: %s\n", path, strerror(errno));
		return 1;
	}
	out = rulec_compile(src, len, &err);
	free(src);
	if (!out) {
		if (err.line)
			fprintf(stderr, "%s:%u:%u: %s\n", path, err.line, err.col, err.what);
		else
			fprintf(stderr, "%s: %s\n", path, err.what);
		return 1;
	}
	json_dumpf(out, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(out);
	return fflush(stdout) ? 1 : 0;
}

static int cli_setup(struct cli *c);

/* ---- rules <nwid>, rules explain: a network's rules in the service ---- */

static bool cli_is_nwid(const char *s)
{
	return s && strlen(s) == 16 && strspn(s, "0123456789abcdefABCDEF") == 16;
}

/* "(inbound drop 3, outbound accept 2)": the outcomes a rule counted. */
static void cli_rule_outcomes(const json_t *rule)
{
	static const char *const dirs[] = { "inbound", "outbound" };
	const char *sep = "  (";

	for (unsigned d = 0; d < 2; d++) {
		const json_t *o = json_object_get(rule, dirs[d]), *v;
		const char *k;

		json_object_foreach((json_t *)o, k, v) {
			printf("%s%s %s %lld", sep, dirs[d], k, cli_int(v, "frames", 0));
			sep = ", ";
		}
	}
	if (strcmp(sep, "  ("))
		putchar(')');
}

/* One line per rule, under a heading per policy, chain and capability. */
static void cli_rules_print(const json_t *j)
{
	const json_t *rules = json_object_get(j, "rules"), *r, *tags = json_object_get(j, "tags"), *t;
	char last[160] = "", head[160];
	size_t i;

	json_array_foreach(rules, i, r) {
		const json_t *cap = json_object_get(r, "capability");
		const char *text = cli_str(r, "rule", NULL);

		if (json_is_integer(cap))
			snprintf(head, sizeof head, "capability %lld (policy %s, %s)", (long long)json_integer_value(cap),
				 cli_str(r, "policy", "?"), cli_str(r, "chain", "?"));
		else
			snprintf(head, sizeof head, "rules (policy %s, %s)", cli_str(r, "policy", "?"),
				 cli_str(r, "chain", "?"));
		if (strcmp(head, last)) {
			printf("%s%s:\n  %5s %12s %14s\n", last[0] ? "\n" : "", head, "rule", "frames", "bytes");
			snprintf(last, sizeof last, "%s", head);
		}
		if (!text)
			text = !strcmp(cli_str(r, "action", ""), "default") ? "(end: no rule decided)" :
			       "(a rule of another member's capability)";
		printf("  %5lld %12lld %14lld  %s", cli_int(r, "index", 0), cli_int(r, "frames", 0),
		       cli_int(r, "bytes", 0), text);
		cli_rule_outcomes(r);
		putchar('\n');
	}
	if (!json_array_size(rules))
		printf("no policy of this network counts its rules (zt-rules(7))\n");
	printf("%stags:", json_array_size(rules) ? "\n" : "");
	json_array_foreach(tags, i, t)
		printf(" %lld=%lld", cli_int(t, "id", 0), cli_int(t, "value", 0));
	printf("%s\n", json_array_size(tags) ? "" : " none");
}

static int cli_rules_show(struct cli *c, const char *nwid)
{
	char path[64];
	json_t *j;
	int rc = 0;

	snprintf(path, sizeof path, "/network/%s/rules", nwid);
	if (!(j = cli_get_json(c, path, "rules", &rc)))
		return rc;
	if (c->json)
		cli_print_json(j);
	else
		cli_rules_print(j);
	json_decref(j);
	return 0;
}

/* What the daemon answered to a dry run, as text. */
static void cli_explain_print(const json_t *j)
{
	const json_t *cap = json_object_get(j, "capability"), *trace = json_object_get(j, "trace"), *s;
	const char *peer = cli_str(j, "peer", NULL);
	size_t i;

	printf("%s %s %s: %s, ", cli_str(j, "direction", "?"),
	       !strcmp(cli_str(j, "direction", ""), "inbound") ? "from" : "to", peer ? peer : "(group)",
	       cli_str(j, "verdict", "?"));
	if (json_is_integer(cap))
		printf("capability %lld rule %lld", (long long)json_integer_value(cap), cli_int(j, "index", 0));
	else
		printf("rule %lld", cli_int(j, "index", 0));
	printf(" (%s, policy %s)\n%s\n", cli_str(j, "action", "?"), cli_str(j, "policy", "?"), cli_str(j, "why", ""));
	json_array_foreach(trace, i, s) {
		const json_t *sc = json_object_get(s, "capability");
		char where[40];

		if (json_is_integer(sc))
			snprintf(where, sizeof where, "cap %lld rule %lld", (long long)json_integer_value(sc),
				 cli_int(s, "index", 0));
		else
			snprintf(where, sizeof where, "rule %lld", cli_int(s, "index", 0));
		printf("  %-18s %-36s %s\n", where, cli_str(s, "entry", ""), cli_str(s, "result", ""));
	}
	if (cli_bool(j, "traceTruncated"))
		printf("  ... (trace truncated)\n");
}

static int cli_rules_explain(struct cli *c, const char *nwid, char *const *words, int n)
{
	char path[80], *text = NULL, *body;
	size_t len = 0;
	struct cli_resp r;
	json_error_t jerr;
	json_t *j;
	FILE *f = open_memstream(&text, &len);
	int rc = 0;

	if (!f) {
		fprintf(stderr, "zt-cli: out of memory\n");
		return 1;
	}
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? " " : "", words[i]);
	if (fclose(f) || !(j = json_pack("{s:s}", "frame", text)) || !(body = json_dumps(j, 0))) {
		fprintf(stderr, "zt-cli: out of memory\n");
		free(text);
		return 1;
	}
	free(text);
	json_decref(j);
	snprintf(path, sizeof path, "/network/%s/rules/explain", nwid);
	cli_request(c, "POST", path, body, &r);
	free(body);
	if (r.status == 0) {
		rc = cli_unreachable(c, &r);
	} else if (r.status != 200) {
		j = json_loadb(r.body, r.len, 0, NULL);
		fprintf(stderr, "zt-cli: rules explain: %s\n", j ? cli_str(j, "description", r.body) : r.body);
		json_decref(j);
		rc = 1;
	} else if (!(j = json_loadb(r.body, r.len, 0, &jerr))) {
		printf("%ld rules invalid JSON response: %s\n", r.status, jerr.text);
		rc = 1;
	} else {
		if (c->json)
			cli_print_json(j);
		else
			cli_explain_print(j);
		json_decref(j);
	}
	cli_resp_clear(&r);
	return rc;
}

/* rules compile <file> | rules <nwid> | rules explain <nwid> <words>... */
static int cli_rules(struct cli *c, char *const *args, int n)
{
	const char *usage = "usage: zt-cli rules compile <file>\n"
			    "       zt-cli rules <nwid>\n"
			    "       zt-cli rules explain <nwid> <frame description>\n";
	bool explain = n >= 1 && !strcmp(args[0], "explain");
	int rc;

	if (n >= 1 && !strcmp(args[0], "compile"))
		return cli_rules_compile(args[0], n >= 2 ? args[1] : NULL);
	if (explain ? n < 3 || !cli_is_nwid(args[1]) : n != 1 || !cli_is_nwid(args[0])) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	if ((rc = cli_setup(c)))
		return rc;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c->curl = curl_easy_init())) {
		fprintf(stderr, "zt-cli: cannot initialize libcurl\n");
		return 1;
	}
	rc = explain ? cli_rules_explain(c, args[1], args + 2, n - 2) : cli_rules_show(c, args[0]);
	curl_easy_cleanup(c->curl);
	curl_global_cleanup();
	return rc;
}

/* ---- main ---- */

static int cli_setup(struct cli *c)
{
	char path[4096], buf[CLI_TOKEN_MAX + 2];
	int err;

	if (!c->port) {
		if (snprintf(path, sizeof path, "%s/zerotier-one.port", c->home) >= (int)sizeof path) {
			fprintf(stderr, "zt-cli: home path too long\n");
			return 2;
		}
		err = cli_read_trimmed(path, buf, sizeof buf);
		if (err < 0 || !cli_parse_port(buf, &c->port)) {
			fprintf(stderr, "zt-cli: cannot read the API port from %s: %s (use -p<port>)\n",
				path, err < 0 && err != -EINVAL ? strerror(-err) : "not a port number");
			return 2;
		}
	}
	if (!c->token[0]) {
		if (snprintf(path, sizeof path, "%s/authtoken.secret", c->home) >= (int)sizeof path) {
			fprintf(stderr, "zt-cli: home path too long\n");
			return 2;
		}
		err = cli_read_trimmed(path, buf, sizeof buf);
		if (err < 0 || !cli_token_ok(buf)) {
			fprintf(stderr, "zt-cli: cannot read the auth token from %s: %s (use -T<token>)\n",
				path, err < 0 && err != -EINVAL ? strerror(-err) : "no token in it");
			return 2;
		}
		memcpy(c->token, buf, strlen(buf) + 1);   /* cli_token_ok: it fits */
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c = { .host = "127.0.0.1", .wait_s = 5.0 };
	const char *command = NULL, *arg1, *arg2;
	int i, rc;

	c.home = getenv("ZT_HOME");
	if (!c.home || !*c.home)
		c.home = ZT_DEFAULT_HOME;
	for (i = 1; i < argc && !command; i++) {
		const char *a = argv[i], *v;

		if (a[0] != '-' || !a[1]) {
			command = a;
			break;
		}
		v = a + 2;
		/* a value may be glued (-D/x, as zerotier-cli) or the next word */
		if (strchr("DpTHt", a[1]) && !*v && i + 1 < argc)
			v = argv[++i];
		switch (a[1]) {
		case 'h':
		case '?':
			cli_help(stdout);
			return 0;
		case 'v':
			printf("%s\n", PACKAGE_VERSION);
			return 0;
		case 'j':
			c.json = true;
			break;
		case 'q':
			break;
		case 'D':
			if (!*v) {
				fprintf(stderr, "zt-cli: -D needs a path\n");
				return 2;
			}
			c.home = v;
			break;
		case 'p':
			if (!cli_parse_port(v, &c.port)) {
				fprintf(stderr, "zt-cli: -p: not a port number: '%s'\n", v);
				return 2;
			}
			break;
		case 'T':
			if (!cli_token_ok(v)) {
				fprintf(stderr, "zt-cli: -T: not a token\n");
				return 2;
			}
			snprintf(c.token, sizeof c.token, "%s", v);
			break;
		case 'H':
			if (!*v || strlen(v) > 255) {
				fprintf(stderr, "zt-cli: -H needs an address\n");
				return 2;
			}
			c.host = v;
			break;
		case 't': {
			char *end;

			errno = 0;
			c.wait_s = strtod(v, &end);
			if (errno || end == v || *end || !(c.wait_s > 0) || c.wait_s > 86400) {
				fprintf(stderr, "zt-cli: -t: not a number of seconds: '%s'\n", v);
				return 2;
			}
			break;
		}
		default:
			cli_help(stderr);
			return 2;
		}
	}
	if (!command) {
		cli_help(stdout);
		return 0;
	}
	if (!strcmp(command, "rules"))
		return cli_rules(&c, argv + i + 1, argc - i - 1);
	if (command[0] != '/' && strcmp(command, "info") && strcmp(command, "status") &&
	    strcmp(command, "listpeers") && strcmp(command, "peers") && strcmp(command, "ping") &&
	    strcmp(command, "listnetworks") && strcmp(command, "join") && strcmp(command, "leave") &&
	    strcmp(command, "set") && strcmp(command, "get") && strcmp(command, "listmoons") &&
	    strcmp(command, "orbit") && strcmp(command, "deorbit")) {
		cli_help(stderr);
		return 0;
	}
	arg1 = i + 1 < argc ? argv[i + 1] : NULL;
	arg2 = i + 2 < argc ? argv[i + 2] : NULL;
	/* argument errors are told before looking for the service */
	rc = cli_check(command, arg1, arg2);
	if (rc >= 0)
		return rc;
	rc = cli_setup(&c);
	if (rc)
		return rc;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c.curl = curl_easy_init())) {
		fprintf(stderr, "zt-cli: cannot initialize libcurl\n");
		return 1;
	}
	if (command[0] == '/')
		rc = cli_get_path(&c, command);
	else if (!strcmp(command, "info") || !strcmp(command, "status"))
		rc = cli_info(&c, command);
	else if (!strcmp(command, "listpeers"))
		rc = cli_listpeers(&c, command);
	else if (!strcmp(command, "peers"))
		rc = cli_peers(&c, command);
	else if (!strcmp(command, "listnetworks"))
		rc = cli_listnetworks(&c, command);
	else if (!strcmp(command, "join") || !strcmp(command, "leave"))
		rc = cli_join_leave(&c, command, arg1, argv + i + 2, i + 2 < argc ? argc - i - 2 : 0);
	else if (!strcmp(command, "set"))
		rc = cli_set(&c, arg1, arg2);
	else if (!strcmp(command, "get"))
		rc = cli_get(&c, arg1, arg2);
	else if (!strcmp(command, "listmoons"))
		rc = cli_listmoons(&c);
	else if (!strcmp(command, "orbit"))
		rc = cli_orbit(&c, arg1, arg2);
	else if (!strcmp(command, "deorbit"))
		rc = cli_deorbit(&c, arg1);
	else
		rc = cli_ping(&c, arg1);
	curl_easy_cleanup(c.curl);
	curl_global_cleanup();
	return rc;
}
