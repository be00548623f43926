/* libFuzzer: the api module's allow-from CIDRs (modules/api/cidr.c).
 * The input, cut at its first NUL, is parsed; what parses must be within
 * bounds, print back to text that parses to the same CIDR, and hold its
 * own address. */
#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../modules/api/cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), ip[INET6_ADDRSTRLEN], again[INET6_ADDRSTRLEN + 8];
	struct api_cidr c, d;
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	struct sockaddr *own;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (!api_cidr_parse(text, &c)) {
		free(text);
		return 0;
	}
	free(text);
	assert(c.family == AF_INET || c.family == AF_INET6);
	assert(c.bits <= (c.family == AF_INET ? 32u : 128u));
	assert(inet_ntop(c.family, c.addr, ip, sizeof ip));
	snprintf(again, sizeof again, "%s/%u", ip, c.bits);
	assert(api_cidr_parse(again, &d));
	assert(memcmp(&c, &d, sizeof c) == 0);
	memset(&s4, 0, sizeof s4);
	memset(&s6, 0, sizeof s6);
	if (c.family == AF_INET) {
		s4.sin_family = AF_INET;
		memcpy(&s4.sin_addr, c.addr, 4);
		own = (struct sockaddr *)&s4;
	} else {
		s6.sin6_family = AF_INET6;
		memcpy(&s6.sin6_addr, c.addr, 16);
		own = (struct sockaddr *)&s6;
	}
	assert(api_cidr_has(&c, own));
	return 0;
}
