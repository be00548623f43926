/* api: the CIDRs of allow-from, parsed from their text and matched
 * against a peer's address, without I/O (a fuzz target reads them). */
#ifndef ZT_API_CIDR_H
#define ZT_API_CIDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* A peer whose first bits bits are those of addr is inside. */
struct api_cidr {
	int family;                 /* AF_INET or AF_INET6 */
	unsigned bits;              /* up to 32 or 128 */
	uint8_t addr[16];           /* network byte order; 4 used for AF_INET */
};

/* "a.b.c.d/n", "v6/n", or a bare address (all its bits): false if it is
 * none of these. */
bool api_cidr_parse(const char *text, struct api_cidr *out);
/* Whether peer (AF_INET or AF_INET6) is inside r. */
bool api_cidr_has(const struct api_cidr *r, const struct sockaddr *peer);

#endif
