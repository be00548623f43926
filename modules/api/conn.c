/* api: the HTTP plumbing: listening sockets, accepting (peers checked
 * against allow-from, the oldest connection evicted at max-connections),
 * one connection read through http.c, its token checked, its answer
 * queued and written, header and idle timeouts and the lingering close. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"

static socklen_t api_addrlen(const union zt_sockaddr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof a->in6 : sizeof a->in4;
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
int api_respond(struct api_conn *c, unsigned status, const char *type,
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

int api_reply(struct api *a, struct api_conn *c, unsigned status, json_t *j)
{
	return api_reply_allow(a, c, status, j, NULL);
}

int api_reply_empty(struct api *a, struct api_conn *c, unsigned status)
{
	return api_reply(a, c, status, NULL);
}

/* ---- authentication (networks.md §9.1) ---- */

/* Both are hashed and the hashes compared in constant time, so not even
 * the token's length shows in how long a wrong guess takes. */
static bool api_token_ok(const char *token, size_t len, const char *got)
{
	unsigned char want[crypto_generichash_BYTES], have[crypto_generichash_BYTES];
	bool same;

	crypto_generichash(want, sizeof want, (const unsigned char *)token, len, NULL, 0);
	crypto_generichash(have, sizeof have, (const unsigned char *)got, strlen(got), NULL, 0);
	same = crypto_verify_32(want, have) == 0;
	sodium_memzero(want, sizeof want);
	return same;
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

/* A 4xx/5xx with {"error":status,"description":text}. */
int api_fail(struct api *a, struct api_conn *c, unsigned status, const char *fmt, ...)
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
	if (c->pending)
		return err;   /* the request stays until its answer (jsonp) */
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

/* Accept unless paused: for want of file descriptors, or with
 * max-connections open and none evictable yet. */
static void api_accepting(struct api *a)
{
	bool on = !ev_is_active(&a->backoff) && !ev_is_active(&a->full);
	unsigned i;

	for (i = 0; i < a->nlisten; i++) {
		struct api_listener *l = &a->listen[i];

		if (l->fd < 0)
			continue;
		if (on && !ev_is_active(&l->io))
			ev_io_start(a->loop, &l->io);
		else if (!on && ev_is_active(&l->io))
			ev_io_stop(a->loop, &l->io);
	}
}

static void api_conn_unlink(struct api_conn *c)
{
	struct api *a = c->a;

	if (c->prev)
		c->prev->next = c->next;
	else
		a->conn_list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		a->conn_tail = c->prev;
	c->prev = c->next = NULL;
}

/* Last in the list: the newest, evicted last. */
static void api_conn_append(struct api_conn *c)
{
	struct api *a = c->a;

	c->prev = a->conn_tail;
	if (a->conn_tail)
		a->conn_tail->next = c;
	else
		a->conn_list = c;
	a->conn_tail = c;
}

void api_conn_free(struct api_conn *c)
{
	struct api *a = c->a;

	if (c->pending)
		zt_api_pending_cancel(c->pending);
	ev_io_stop(a->loop, &c->io);
	ev_timer_stop(a->loop, &c->timer);
	ev_timer_stop(a->loop, &c->head_timer);
	close(c->fd);
	api_req_clear(c);
	api_http_clear(&c->http);
	free(c->out);
	api_conn_unlink(c);
	a->conns--;
	free(c);
	if (ev_is_active(&a->full)) {
		/* a slot is free: take the next one now */
		ev_timer_stop(a->loop, &a->full);
		api_accepting(a);
	}
}

/* A request starts, or may: its header must be complete within
 * header-timeout. */
static void api_conn_await_head(struct api_conn *c)
{
	c->awaiting_head = true;
	ev_timer_set(&c->head_timer, c->a->header_timeout_s, 0.);
	ev_timer_start(c->a->loop, &c->head_timer);
}

/* A request's header is complete: the connection is the newest, the
 * last one eviction would pick. */
static void api_conn_got_head(struct api_conn *c)
{
	c->awaiting_head = false;
	c->since = ev_now(c->a->loop);
	ev_timer_stop(c->a->loop, &c->head_timer);
	api_conn_unlink(c);
	api_conn_append(c);
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
		api_conn_got_head(c);
		err = api_conn_head(c);
		break;
	case API_HTTP_DONE:
		err = api_conn_done(c);
		c->awaiting_head = true;
		/* a pipelined request already begun is timed from now */
		if (c->in_off < c->in_len && !c->pending)
			api_conn_await_head(c);
		break;
	case API_HTTP_ERROR:
		c->awaiting_head = false;
		ev_timer_stop(c->a->loop, &c->head_timer);
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
		if (c->pending) {
			/* nothing to read or parse until the answer: the idle
			 * timeout bounds the wait */
			want = 0;
			break;
		}
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
	if (!want) {
		ev_io_stop(a->loop, &c->io);
	} else if ((c->io.events & (EV_READ | EV_WRITE)) != want || !ev_is_active(&c->io)) {
		ev_io_stop(a->loop, &c->io);
		ev_io_set(&c->io, c->fd, want);
		ev_io_start(a->loop, &c->io);
	}
}

void api_conn_resume(struct api_conn *c, int err)
{
	api_req_clear(c);
	api_http_clear(&c->http);
	if (err < 0)
		c->broken = true;
	if (c->in_off < c->in_len)
		api_conn_await_head(c);   /* a pipelined request, timed from now */
	ev_timer_again(c->a->loop, &c->timer);
	api_conn_run(c);
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
				if (c->awaiting_head && !ev_is_active(&c->head_timer))
					api_conn_await_head(c);
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

/* No complete request header within header-timeout: a client that
 * trickles its header (slowloris) holds no slot for long. */
static void api_conn_head_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct api_conn *c = w->data;

	(*c->a->header_timeouts)++;
	api_conn_free(c);
}

void api_backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	api_accepting(w->data);
}

void api_full_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	api_accepting(w->data);
}

/* Whether a new connection may be taken: a slot is free, or the
 * connection longest without a complete request header may be evicted
 * for it.  Not when even that one is younger than API_EVICT_AFTER_S (a
 * client just accepted has not had time to send): accepting then pauses
 * until it is old enough or one closes, the next connection waiting in
 * the kernel's listen queue. */
static bool api_may_take(struct api *a)
{
	ev_tstamp wait;

	if (a->conns < a->max_conns)
		return true;
	wait = a->conn_list->since + API_EVICT_AFTER_S - ev_now(a->loop);
	if (wait <= 0)
		return true;
	ev_timer_set(&a->full, wait, 0.);
	ev_timer_start(a->loop, &a->full);
	return false;
}

/* Loopback, or in allow-from. */
static bool api_peer_allowed(const struct api *a, const union zt_sockaddr *p)
{
	unsigned i;

	if (api_is_loopback(p))
		return true;
	for (i = 0; i < a->nallow; i++)
		if (api_cidr_has(&a->allow[i], &p->sa))
			return true;
	return false;
}

static struct api_conn *api_conn_new(struct api *a, int fd)
{
	struct api_conn *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->a = a;
	c->fd = fd;
	c->since = ev_now(a->loop);
	api_http_init(&c->http, a->max_body);
	ev_io_init(&c->io, api_conn_cb, fd, EV_READ);
	c->io.data = c;
	ev_init(&c->timer, api_conn_timeout);
	c->timer.repeat = (double)a->timeout_s;
	c->timer.data = c;
	ev_init(&c->head_timer, api_conn_head_timeout);
	c->head_timer.data = c;
	ev_io_start(a->loop, &c->io);
	ev_timer_again(a->loop, &c->timer);
	api_conn_await_head(c);
	api_conn_append(c);
	a->conns++;
	return c;
}

/* Take pending connections, a batch at a time.  With max-connections
 * open, the one longest without a complete request header is closed
 * for each new one (see api_may_take): idle or trickling clients cannot
 * lock others out. */
static void api_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct api_listener *l = w->data;
	struct api *a = l->a;
	unsigned n;

	for (n = 0; n < API_ACCEPT_BATCH && api_may_take(a); n++) {
		union zt_sockaddr peer;
		socklen_t plen = sizeof peer;
		struct api_conn *c;
		int fd;

		memset(&peer, 0, sizeof peer);
		fd = accept4(l->fd, &peer.sa, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
		if (!api_peer_allowed(a, &peer)) {
			char ps[ZT_SOCKADDR_STRLEN];

			(*a->refused)++;
			zt_log(a->zi, ZT_LOG_DEBUG, "refused %s: not loopback nor in allow-from",
			       zt_sockaddr_fmt(&peer, ps, sizeof ps));
			close(fd);
			continue;
		}
		if (a->conns >= a->max_conns) {
			(*a->evicted)++;
			api_conn_free(a->conn_list);
		}
		c = api_conn_new(a, fd);
		if (!c) {
			close(fd);
			ev_timer_set(&a->backoff, API_BACKOFF_S, 0.);
			ev_timer_start(loop, &a->backoff);
			break;
		}
		/* a request already sent is answered at once, before the
		 * next batch could fill the slots again */
		api_conn_cb(loop, &c->io, EV_READ);
	}
	api_accepting(a);
}

int api_listen(struct api *a, struct api_listener *l)
{
	char as[ZT_SOCKADDR_STRLEN];
	int fam = l->addr.sa.sa_family, one = 1, fd, err;
	union zt_sockaddr bound;
	socklen_t blen = sizeof bound;

	zt_sockaddr_fmt(&l->addr, as, sizeof as);
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
	zt_log(a->zi, ZT_LOG_INFO, "listening on %s", zt_sockaddr_fmt(&l->addr, as, sizeof as));
	return 0;
}
