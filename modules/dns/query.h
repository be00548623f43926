/* dns: answering one DNS query message from a zone (zone.h), with ldns
 * parsing the query and building the answer.  Pure, like the zone: the
 * module hands it what a socket read, the fuzz target what it made. */
#ifndef ZT_DNS_QUERY_H
#define ZT_DNS_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zone.h"

/* UDP answers fit 512 bytes, or what the query's EDNS allows up to this */
#define DNS_UDP_MAX 1232
#define DNS_TCP_MAX 65535

enum dns_outcome {
	DNS_ANSWERED = 1,           /* NOERROR with records */
	DNS_NODATA,                 /* NOERROR, the name has none of that type */
	DNS_NXDOMAIN,
	DNS_REFUSED,                /* not in the zone, not class IN, a zone transfer, no zone */
	DNS_NOTIMP,                 /* an opcode other than QUERY */
	DNS_FORMERR,                /* malformed, answered with FORMERR */
	DNS_DROPPED,                /* malformed or a response: nothing sent */
	DNS_FAILED,                 /* out of memory: nothing sent */
};

struct dns_reply {
	enum dns_outcome outcome;
	bool truncated;             /* the records did not fit: TC set, none sent */
	size_t len;                 /* bytes of the answer in out (0: send nothing) */
};

/* Answer query q (qlen bytes) from z (NULL: refuse everything) into out
 * (outcap bytes, at least DNS_TCP_MAX over TCP, DNS_UDP_MAX over UDP). */
void dns_answer(const struct dns_zone *z, const uint8_t *q, size_t qlen, bool tcp,
		uint8_t *out, size_t outcap, struct dns_reply *r);
const char *dns_outcome_name(enum dns_outcome o);

#endif
