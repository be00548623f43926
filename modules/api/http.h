/* api: HTTP/1.1 requests read with libhttp-parser, without I/O: the
 * connection code feeds bytes in and answers what comes out. */
#ifndef ZT_API_HTTP_H
#define ZT_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <http_parser.h>

/* Longest request target, in bytes (longer is 414). */
#define API_HTTP_URL_MAX 8192
/* Longest value kept of a header the API reads (longer is kept as
 * overlong, which no token matches). */
#define API_HTTP_VALUE_MAX 511

/* The headers the API reads; the others are only parsed. */
enum {
	API_HTTP_H_ZT1_AUTH,        /* X-ZT1-Auth */
	API_HTTP_H_AUTHORIZATION,
	API_HTTP_H_EXPECT,
	API_HTTP_H_N,
};

/* What api_http_feed stopped at. */
enum {
	API_HTTP_MORE,              /* all bytes used: feed more */
	API_HTTP_HEAD,              /* the request line and headers are in */
	API_HTTP_DONE,              /* the whole request is in */
	API_HTTP_ERROR,             /* not HTTP/1.x: answer api_http_status() and close */
};

struct api_http_value {
	char v[API_HTTP_VALUE_MAX + 1];
	size_t len;
	bool set, overlong;
};

struct api_http {
	http_parser parser;
	size_t max_body;
	int event;                  /* API_HTTP_*, set by the callbacks */
	bool oom;

	/* the request being read */
	char *url;                  /* NUL-terminated, as sent */
	size_t url_len;
	bool url_long;              /* over API_HTTP_URL_MAX: not kept */
	char *body;                 /* not NUL-terminated; NULL when empty */
	size_t body_len, body_cap;
	bool too_large;             /* over max_body: dropped */
	char field[32];             /* the header name being read */
	size_t field_len;
	bool in_value;
	int cur;                    /* API_HTTP_H_* of the value being read, or -1 */
	struct api_http_value hdr[API_HTTP_H_N];
};

void api_http_init(struct api_http *h, size_t max_body);
/* Free the request read so far (the parser keeps its place). */
void api_http_clear(struct api_http *h);
/* Read from buf; *used is how much was taken, the rest is for the next call. */
int api_http_feed(struct api_http *h, const char *buf, size_t len, size_t *used);
/* A header's value (first one sent, trimmed), or NULL if absent. */
const char *api_http_header(const struct api_http *h, int which, bool *overlong);
/* After API_HTTP_ERROR: the status to answer, and why. */
unsigned api_http_status(const struct api_http *h);
const char *api_http_reason(const struct api_http *h);

#endif
