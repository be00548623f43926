/* PCP (RFC 6887) MAP requests and answers: the codec of the pcp helper,
 * without I/O (fuzz/pcp-answer.c feeds it). */
#ifndef ZT_PCPWIRE_H
#define ZT_PCPWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define PCP_PORT 5351
#define PCP_VERSION 2
#define PCP_OP_MAP 1
#define PCP_MAP_LEN 60          /* header 24 + MAP 36 */
#define PCP_MAX_LEN 1100        /* §7 */
#define PCP_PROTO_UDP 17

struct pcp_map {
	uint8_t nonce[12];
	uint8_t protocol;
	uint16_t internal_port, external_port;
	struct in6_addr external;   /* IPv4 as ::ffff:a.b.c.d */
};

struct pcp_answer {
	uint8_t result;             /* 0: success; else RFC 6887 §7.4's codes */
	uint32_t lifetime, epoch;
	struct pcp_map map;
};

/* The MAP request asking for m (external: a suggestion, may be zero) for
 * client, for lifetime seconds (0 deletes).  Fills out[PCP_MAP_LEN]. */
void pcp_map_request(uint8_t out[PCP_MAP_LEN], const struct in6_addr *client, uint32_t lifetime,
		     const struct pcp_map *m);
/* Parse an answer to a MAP request.  0, or -EBADMSG with why (a short
 * phrase) in err. */
int pcp_answer_parse(const uint8_t *buf, size_t len, struct pcp_answer *out, char *err, size_t errlen);
/* The phrase for a result code. */
const char *pcp_result_name(uint8_t result);

#endif
