/* libFuzzer: the api module's HTTP request reader (modules/api/http.c).
 * The first byte sets how the input is cut into reads; every request is
 * read to its end or to an error, as the connection code does, and what
 * is kept must stay within its bounds. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "../modules/api/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_http h;
	size_t step, off = 0;
	int i;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	api_http_init(&h, 1000);
	while (off < size) {
		size_t n = size - off < step ? size - off : step, used = 0;
		int ev = api_http_feed(&h, (const char *)data + off, n, &used);

		assert(used <= n);
		off += used;
		if (ev == API_HTTP_ERROR) {
			assert(api_http_status(&h) >= 400 && api_http_reason(&h));
			break;
		}
		if (ev == API_HTTP_HEAD) {
			assert(h.url_long ? !h.url : h.url_len <= API_HTTP_URL_MAX);
			for (i = 0; i < API_HTTP_H_N; i++) {
				const char *v = api_http_header(&h, i, NULL);

				assert(!v || strlen(v) <= API_HTTP_VALUE_MAX);
			}
		} else if (ev == API_HTTP_DONE) {
			assert(h.too_large ? !h.body : h.body_len <= 1000);
			api_http_clear(&h);
		} else if (!used) {
			break;
		}
	}
	api_http_clear(&h);
	return 0;
}
