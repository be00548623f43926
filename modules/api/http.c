/* api: HTTP/1.1 requests read with libhttp-parser.  The parser pauses
 * after the headers and after each request, so that the caller answers
 * one request at a time and can refuse one before its body. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

static const char *const api_http_names[API_HTTP_H_N] = {
	[API_HTTP_H_ZT1_AUTH] = "x-zt1-auth",
	[API_HTTP_H_AUTHORIZATION] = "authorization",
	[API_HTTP_H_EXPECT] = "expect",
};

static struct api_http *api_http_of(http_parser *p)
{
	return p->data;
}

void api_http_clear(struct api_http *h)
{
	int i;

	free(h->url);
	free(h->body);
	h->url = h->body = NULL;
	h->url_len = h->body_len = h->body_cap = 0;
	h->url_long = h->too_large = false;
	h->field_len = 0;
	h->in_value = false;
	h->cur = -1;
	for (i = 0; i < API_HTTP_H_N; i++) {
		h->hdr[i].len = 0;
		h->hdr[i].set = h->hdr[i].overlong = false;
	}
}

static int api_http_begin(http_parser *p)
{
	api_http_clear(api_http_of(p));
	return 0;
}

static int api_http_url(http_parser *p, const char *at, size_t n)
{
	struct api_http *h = api_http_of(p);
	char *u;

	if (h->url_long)
		return 0;
	if (n > API_HTTP_URL_MAX - h->url_len) {
		h->url_long = true;
		free(h->url);
		h->url = NULL;
		h->url_len = 0;
		return 0;
	}
	u = realloc(h->url, h->url_len + n + 1);
	if (!u) {
		h->oom = true;
		return -1;
	}
	memcpy(u + h->url_len, at, n);
	h->url_len += n;
	u[h->url_len] = 0;
	h->url = u;
	return 0;
}

/* The name just read is complete: which header is it? */
static void api_http_named(struct api_http *h)
{
	int i;

	h->cur = -1;
	if (h->field_len >= sizeof h->field)
		return;
	h->field[h->field_len] = 0;
	for (i = 0; i < API_HTTP_H_N; i++)
		if (strcasecmp(h->field, api_http_names[i]) == 0 && !h->hdr[i].set) {
			h->cur = i;
			h->hdr[i].set = true;
			return;
		}
}

static int api_http_field(http_parser *p, const char *at, size_t n)
{
	struct api_http *h = api_http_of(p);

	if (h->in_value) {
		h->in_value = false;
		h->field_len = 0;
	}
	if (n >= sizeof h->field - h->field_len) {
		h->field_len = sizeof h->field;   /* too long for a name we read */
		return 0;
	}
	memcpy(h->field + h->field_len, at, n);
	h->field_len += n;
	return 0;
}

static int api_http_value(http_parser *p, const char *at, size_t n)
{
	struct api_http *h = api_http_of(p);
	struct api_http_value *v;

	if (!h->in_value) {
		h->in_value = true;
		api_http_named(h);
	}
	if (h->cur < 0)
		return 0;
	v = &h->hdr[h->cur];
	if (n > API_HTTP_VALUE_MAX - v->len) {
		v->overlong = true;
		n = API_HTTP_VALUE_MAX - v->len;
	}
	memcpy(v->v + v->len, at, n);
	v->len += n;
	v->v[v->len] = 0;
	return 0;
}

static int api_http_headers_done(http_parser *p)
{
	struct api_http *h = api_http_of(p);
	int i;

	for (i = 0; i < API_HTTP_H_N; i++) {
		struct api_http_value *v = &h->hdr[i];

		while (v->len && (v->v[v->len - 1] == ' ' || v->v[v->len - 1] == '\t'))
			v->v[--v->len] = 0;
	}
	h->event = API_HTTP_HEAD;
	http_parser_pause(p, 1);
	return 0;
}

static int api_http_body(http_parser *p, const char *at, size_t n)
{
	struct api_http *h = api_http_of(p);

	if (h->too_large)
		return 0;
	if (n > h->max_body - h->body_len) {
		/* drop what came; the caller answers 413 at the end */
		h->too_large = true;
		free(h->body);
		h->body = NULL;
		h->body_len = h->body_cap = 0;
		return 0;
	}
	if (h->body_len + n > h->body_cap) {
		size_t cap = h->body_cap ? h->body_cap : 1024;
		char *b;

		while (cap < h->body_len + n)
			cap *= 2;
		if (cap > h->max_body)
			cap = h->max_body;
		b = realloc(h->body, cap);
		if (!b) {
			h->oom = true;
			return -1;
		}
		h->body = b;
		h->body_cap = cap;
	}
	memcpy(h->body + h->body_len, at, n);
	h->body_len += n;
	return 0;
}

static int api_http_complete(http_parser *p)
{
	struct api_http *h = api_http_of(p);

	h->event = API_HTTP_DONE;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings api_http_settings = {
	.on_message_begin = api_http_begin,
	.on_url = api_http_url,
	.on_header_field = api_http_field,
	.on_header_value = api_http_value,
	.on_headers_complete = api_http_headers_done,
	.on_body = api_http_body,
	.on_message_complete = api_http_complete,
};

void api_http_init(struct api_http *h, size_t max_body)
{
	memset(h, 0, sizeof *h);
	http_parser_init(&h->parser, HTTP_REQUEST);
	h->parser.data = h;
	h->max_body = max_body;
	h->cur = -1;
}

int api_http_feed(struct api_http *h, const char *buf, size_t len, size_t *used)
{
	enum http_errno err;

	h->event = API_HTTP_MORE;
	*used = http_parser_execute(&h->parser, &api_http_settings, buf, len);
	err = HTTP_PARSER_ERRNO(&h->parser);
	if (err == HPE_PAUSED) {
		http_parser_pause(&h->parser, 0);
		return h->event;
	}
	if (err != HPE_OK || h->oom)
		return API_HTTP_ERROR;
	if (h->parser.upgrade && h->event == API_HTTP_MORE)
		return API_HTTP_ERROR;
	return h->event;
}

const char *api_http_header(const struct api_http *h, int which, bool *overlong)
{
	const struct api_http_value *v = &h->hdr[which];

	if (overlong)
		*overlong = v->overlong;
	return v->set ? v->v : NULL;
}

unsigned api_http_status(const struct api_http *h)
{
	if (h->oom)
		return 500;
	if (HTTP_PARSER_ERRNO(&h->parser) == HPE_HEADER_OVERFLOW)
		return 431;
	return 400;
}

const char *api_http_reason(const struct api_http *h)
{
	if (h->oom)
		return "out of memory";
	if (HTTP_PARSER_ERRNO(&h->parser) == HPE_OK)
		return "protocol upgrades are not supported";
	return http_errno_description(HTTP_PARSER_ERRNO(&h->parser));
}
