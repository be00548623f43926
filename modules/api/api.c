/* api: the local HTTP/JSON service API (networks.md §9), served over
 * HTTP/1.1 on the loop ztd gives us: non-blocking sockets, one ev_io and
 * one idle timer per connection, requests read by http.c (libhttp-parser)
 * and bodies built by jansson.  See api(7).  The module's files:
 *   api.c       the module: options, create/start/stop, token and port
 *               files, dispatching a request to its resource
 *   api.h       what the files share: state, connection, request
 *   request.c   what a request asks, without I/O: the route of its path,
 *               what its JSON body says (request.h, fuzz/api-body)
 *   conn.c      HTTP plumbing: listening, accepting, reading requests,
 *               the token check, answering, timeouts
 *   http.c      the request reader over libhttp-parser, without I/O
 *   cidr.c      allow-from's CIDRs: parsed and matched, without I/O
 *   json.c      JSON building blocks: addresses, ids, roles, version
 *   status.c    /status, /health, /peer     networks.c  /network
 *   moons.c     /moon                       config.c    /config
 *   metrics.c   /metrics (Prometheus)
 *   rules.c     /network/<nwid>/rules: rule counters and dry runs
 *   framedesc.c the frame descriptions of dry runs, without I/O
 *   service.c   paths of other services (the controller's /controller) */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"

bool api_is_loopback(const union zt_sockaddr *a)
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

/* ---- dispatch ---- */

/* Answer a request whose head and body are in, by its route. */
int api_handle(struct api *a, struct api_conn *c, struct api_req *rq)
{
	if (!a->core)
		return api_reply_empty(a, c, 503);
	switch (rq->route) {
	case API_R_SERVICE:
		return api_service(a, c, rq);
	case API_R_STATUS:
	case API_R_HEALTH:
		return api_status(a, c, rq->route);
	case API_R_NETWORKS:
		return api_networks(a, c);
	case API_R_NETWORK:
		return api_network(a, c, rq);
	case API_R_MOONS:
		return api_moons(a, c);
	case API_R_MOON:
		return api_moon(a, c, rq);
	case API_R_CONFIG:
		return api_config(a, c);
	case API_R_CONFIG_SETTINGS:
		return api_config_settings(a, c, rq);
	case API_R_METRICS:
		return api_metrics(a, c);
	case API_R_NETWORK_RULES:
		return api_network_rules(a, c, rq->nwid);
	case API_R_NETWORK_EXPLAIN:
		return api_network_explain(a, c, rq);
	case API_R_PEERS:
		return api_peers(a, c);
	case API_R_PEER:
		return api_peer(a, c, rq->peer);
	case API_R_ECHO:
		return api_peer_echo(a, c, rq);
	}
	return api_reply_empty(a, c, 404);
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

/* fsync the directory of path: its new name lasts a power loss too. */
static void api_sync_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd;

	if (!slash || slash == path || (size_t)(slash - path) >= sizeof dir)
		return;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Create the token file: 24 characters of a-z0-9, mode 0600.  Written
 * to a temporary file, synced, then linked to its name (which fails if
 * another process made it meanwhile): a crash never leaves an empty or
 * half-written token that the next start would refuse. */
static int api_make_token(struct api *a, const char *path)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	char tok[API_TOKEN_LEN], tmp[4096 + 16];
	size_t i, off = 0;
	int fd, err = 0;

	if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	for (i = 0; i < sizeof tok; i++)
		tok[i] = set[randombytes_uniform(sizeof set - 1)];
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		zt_log(a->zi, ZT_LOG_ERR, "create %s: %s", tmp, strerror(-err));
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
	if (!err && link(tmp, path) < 0)
		err = -errno;
	unlink(tmp);
	if (err == -EEXIST)
		return err;
	if (err) {
		zt_log(a->zi, ZT_LOG_ERR, "write %s: %s", path, strerror(-err));
		return err;
	}
	api_sync_dir(path);
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
	good = write(fd, text, (size_t)len) == len && fsync(fd) == 0;
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

/* allow-from: a CIDR or a list of them. */
static int api_allow_from(struct api *a, const struct zt_node *conf)
{
	const struct zt_node *list = zt_node_get(conf, "allow-from");
	size_t n, i;

	if (!list)
		return 0;
	if (zt_node_scalar(list)) {
		if (!api_cidr_parse(zt_node_scalar(list), &a->allow[0])) {
			zt_node_error(list, "not an address or CIDR (a.b.c.d/n, v6/n)");
			return -EINVAL;
		}
		a->nallow = 1;
		return 0;
	}
	n = zt_node_len(list);
	if (n > API_MAX_ALLOW) {
		zt_node_error(list, "at most %u CIDRs", API_MAX_ALLOW);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		const struct zt_node *item = zt_node_at(list, i);
		const char *text = zt_node_scalar(item);

		if (!text || !api_cidr_parse(text, &a->allow[i])) {
			zt_node_error(item, "not an address or CIDR (a.b.c.d/n, v6/n)");
			return -EINVAL;
		}
	}
	a->nallow = (unsigned)n;
	return 0;
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
		ZT_COUNTER_FIELD(struct api, evicted),
		ZT_COUNTER_FIELD(struct api, header_timeouts),
	};

	return zt_counters_bind(a->zi, a, fields, sizeof fields / sizeof fields[0]);
}

static int api_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	union zt_sockaddr addrs[API_MAX_LISTEN];
	char as[ZT_SOCKADDR_STRLEN];
	const char *tf;
	struct api *a;
	uint64_t max_body, max_conns, timeout_ms, header_ms;
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
				      zt_sockaddr_fmt(&addrs[i], as, sizeof as));
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
	header_ms = zt_conf_duration_ms(conf, "header-timeout");
	if (header_ms < 100 || header_ms > 3600000) {
		zt_node_error(api_at(conf, "header-timeout"), "must be between 100ms and 1h");
		return -EINVAL;
	}
	if (allow_remote && !zt_node_get(conf, "allow-from")) {
		zt_node_error(api_at(conf, "allow-remote"),
			      "needs allow-from: the networks that may connect (0.0.0.0/0 and ::/0 for any)");
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
	a->header_timeout_s = (double)header_ms / 1000.;
	a->nlisten = (unsigned)n;
	ev_init(&a->backoff, api_backoff_cb);
	a->backoff.data = a;
	ev_init(&a->full, api_full_cb);
	a->full.data = a;
	for (i = 0; i < n; i++) {
		a->listen[i].a = a;
		a->listen[i].fd = -1;
		a->listen[i].addr = addrs[i];
	}
	if (tf && !(a->token_file = strdup(tf)))
		goto fail;
	err = api_allow_from(a, conf);
	if (err < 0)
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
	if (a->loop) {
		ev_timer_stop(a->loop, &a->backoff);
		ev_timer_stop(a->loop, &a->full);
	}
	while (a->conn_list)
		api_conn_free(a->conn_list);
	a->conns = 0;
	a->started = false;
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
	ZT_OPT_BOOL("allow-remote", 0, "allow listen addresses that are not loopback (with allow-from)"),
	ZT_OPT_ANY("allow-from", 0, "CIDRs of the peers that may connect, besides loopback"),
	ZT_OPT_STR("token-file", NULL, "the auth token file, default <home>/authtoken.secret"),
	ZT_OPT_UINT("max-body", 65536, 1, API_BODY_LIMIT, "largest request body in bytes"),
	ZT_OPT_UINT("max-connections", 256, 1, 65536,
		    "simultaneous connections; past it the one longest without a request is closed"),
	ZT_OPT_DURATION("timeout", "30s", "close a connection idle this long"),
	ZT_OPT_DURATION("header-timeout", "5s",
			"close a connection whose request header is not complete this long after it began"),
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

