/* api: the frame descriptions of POST /network/<nwid>/rules/explain
 * (zt-rules(7), EXPLAIN), parsed and made into an Ethernet frame,
 * without I/O (fuzz/frame-desc). */
#ifndef ZT_API_FRAMEDESC_H
#define ZT_API_FRAMEDESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest description taken, and largest payload built (`size`). */
#define FDESC_MAX_TEXT 1024u
#define FDESC_MAX_PAYLOAD 10240u
#define FDESC_FRAME_MAX (14u + FDESC_MAX_PAYLOAD)

/* A member by ZeroTier address or a MAC. */
struct fdesc_who {
	bool given, is_mac;
	uint64_t addr;
	uint8_t mac[6];
};

struct fdesc {
	int inbound;                /* -1 not said, 0 outbound, 1 inbound */
	struct fdesc_who from, to;
	bool has_ethertype;
	uint16_t ethertype;
	int family;                 /* 0 no IP header, 4 or 6 */
	uint8_t src[16], dst[16];
	int proto;                  /* -1: none (an IP header with protocol 0 then) */
	int sport, dport;           /* -1: not said */
	int icmp_type, icmp_code;   /* -1: not said */
	uint8_t tcp_flags;          /* TCP's flag bits, FIN 0x01 to CWR 0x80 */
	uint8_t tos;
	int size;                   /* payload bytes after the Ethernet header, -1: the headers' */
};

/* Parses text (NUL-terminated) into *d: true, or false with why filled
 * in ("word 4 'tcpp': expected ...", "at the end: expected ..."). */
bool fdesc_parse(const char *text, struct fdesc *d, char *why, size_t whylen);

/* The frame d describes between these MACs into out (room for
 * FDESC_FRAME_MAX): its length. */
size_t fdesc_build(const struct fdesc *d, const uint8_t src_mac[6], const uint8_t dst_mac[6], uint8_t *out);

#endif
