/* dns: GETs to a remote controller's API (remote.h): libcurl's multi
 * socket interface driven by libev watchers, one ev_io per socket curl
 * uses and one timer. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <ev.h>

#include "remote.h"

/* the member list of a big network is a few MiB; anything past this is not an answer */
#define DNS_REMOTE_MAX_BODY (64u << 20)
#define DNS_REMOTE_TIMEOUT_MS 5000L

struct dns_req {
	struct dns_remote *r;
	struct dns_req *prev, *next;
	CURL *easy;
	dns_fetched_fn *fn;
	void *ctx;
	char *body;
	size_t len;
	bool too_big;
	char err[CURL_ERROR_SIZE];
};

/* A socket curl watches. */
struct dns_sock {
	ev_io io;
	struct dns_remote *r;
};

struct dns_remote {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer;
	struct curl_slist *headers;
	char *base;
	struct dns_req *reqs;
	bool closing;               /* curl_multi_cleanup may still call back */
};

static void dns_req_free(struct dns_req *q)
{
	struct dns_remote *r = q->r;

	curl_multi_remove_handle(r->multi, q->easy);
	curl_easy_cleanup(q->easy);
	if (q->prev)
		q->prev->next = q->next;
	else
		r->reqs = q->next;
	if (q->next)
		q->next->prev = q->prev;
	free(q->body);
	free(q);
}

static void dns_remote_done(struct dns_remote *r)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(r->multi, &left))) {
		struct dns_req *q = NULL;
		char why[CURL_ERROR_SIZE + 32];
		long status = 0;
		char *body = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&q);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		if (msg->data.result != CURLE_OK)
			snprintf(why, sizeof why, "%s", q->too_big ? "answer too big" :
				 q->err[0] ? q->err : curl_easy_strerror(msg->data.result));
		else if (status != 200)
			snprintf(why, sizeof why, "HTTP status %ld", status);
		else if (!q->body && !(q->body = strdup("")))
			snprintf(why, sizeof why, "out of memory");
		else
			body = q->body, q->body = NULL, why[0] = '\0';
		/* the callback may start or cancel requests: q (and msg with
		 * it) is gone first */
		{
			dns_fetched_fn *fn = q->fn;
			void *ctx = q->ctx;
			bool gone = msg->data.result == CURLE_OK && status == 404;

			dns_req_free(q);
			fn(ctx, body, gone, why);
		}
	}
}

static void dns_remote_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dns_sock *s = w->data;
	struct dns_remote *r = s->r;
	int running, flags = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
			     (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);

	(void)loop;
	curl_multi_socket_action(r->multi, w->fd, flags, &running);
	dns_remote_done(r);
}

static void dns_remote_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dns_remote *r = w->data;
	int running;

	(void)loop;
	(void)revents;
	curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	dns_remote_done(r);
}

static int dns_remote_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct dns_remote *r = userp;
	struct dns_sock *s = socketp;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			ev_io_stop(r->loop, &s->io);
			free(s);
			curl_multi_assign(r->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof *s);
		if (!s)
			return -1;
		s->r = r;
		ev_init(&s->io, dns_remote_io_cb);
		s->io.data = s;
		curl_multi_assign(r->multi, fd, s);
	}
	ev_io_stop(r->loop, &s->io);
	ev_io_set(&s->io, fd, (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0));
	ev_io_start(r->loop, &s->io);
	return 0;
}

static int dns_remote_timer_set(CURLM *multi, long timeout_ms, void *userp)
{
	struct dns_remote *r = userp;

	(void)multi;
	ev_timer_stop(r->loop, &r->timer);
	if (timeout_ms >= 0 && !r->closing) {
		ev_timer_set(&r->timer, (double)timeout_ms / 1000.0, 0.0);
		ev_timer_start(r->loop, &r->timer);
	}
	return 0;
}

static size_t dns_remote_write(char *data, size_t size, size_t n, void *userp)
{
	struct dns_req *q = userp;
	size_t len = size * n;
	char *b;

	if (q->len + len > DNS_REMOTE_MAX_BODY) {
		q->too_big = true;
		return 0;
	}
	b = realloc(q->body, q->len + len + 1);
	if (!b)
		return 0;
	memcpy(b + q->len, data, len);
	q->len += len;
	b[q->len] = '\0';
	q->body = b;
	return len;
}

struct dns_remote *dns_remote_new(struct ev_loop *loop, const char *base, const char *token,
				  char *err, size_t errlen)
{
	struct dns_remote *r = calloc(1, sizeof *r);
	char hdr[512];

	if (!r || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "out of memory");
		free(r);
		return NULL;
	}
	snprintf(hdr, sizeof hdr, "X-ZT1-Auth: %s", token);
	r->loop = loop;
	r->base = strdup(base);
	r->multi = curl_multi_init();
	r->headers = curl_slist_append(NULL, hdr);
	if (!r->base || !r->multi || !r->headers) {
		snprintf(err, errlen, "out of memory");
		dns_remote_free(r);
		return NULL;
	}
	ev_init(&r->timer, dns_remote_timer_cb);
	r->timer.data = r;
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, dns_remote_sock_cb);
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, dns_remote_timer_set);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
	return r;
}

struct dns_req *dns_remote_get(struct dns_remote *r, const char *path, dns_fetched_fn *fn, void *ctx)
{
	struct dns_req *q = calloc(1, sizeof *q);
	size_t len = strlen(r->base) + strlen(path) + 1;
	char *url = malloc(len);

	if (!q || !url || !(q->easy = curl_easy_init())) {
		free(q);
		free(url);
		return NULL;
	}
	snprintf(url, len, "%s%s", r->base, path);
	q->r = r;
	q->fn = fn;
	q->ctx = ctx;
	curl_easy_setopt(q->easy, CURLOPT_URL, url);
	curl_easy_setopt(q->easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(q->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(q->easy, CURLOPT_TIMEOUT_MS, DNS_REMOTE_TIMEOUT_MS);
	curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(q->easy, CURLOPT_WRITEFUNCTION, dns_remote_write);
	curl_easy_setopt(q->easy, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(q->easy, CURLOPT_ERRORBUFFER, q->err);
	curl_easy_setopt(q->easy, CURLOPT_PRIVATE, q);
	curl_easy_setopt(q->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	free(url);   /* curl keeps its own copy */
	if (curl_multi_add_handle(r->multi, q->easy) != CURLM_OK) {
		curl_easy_cleanup(q->easy);
		free(q);
		return NULL;
	}
	q->next = r->reqs;
	if (q->next)
		q->next->prev = q;
	r->reqs = q;
	return q;
}

void dns_remote_cancel(struct dns_remote *r, struct dns_req *q)
{
	(void)r;
	if (q)
		dns_req_free(q);
}

void dns_remote_free(struct dns_remote *r)
{
	if (!r)
		return;
	r->closing = true;
	while (r->reqs)
		dns_req_free(r->reqs);
	if (r->multi) {
		ev_timer_stop(r->loop, &r->timer);
		curl_multi_cleanup(r->multi);
	}
	curl_slist_free_all(r->headers);
	free(r->base);
	free(r);
	/* curl_global_cleanup is not called: other users of libcurl in the
	 * process may still need it */
}
