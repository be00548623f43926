/* InetAddress (wire.md §5): the serialized physical address of HELLO,
 * OK(HELLO) and worlds, its text form, and IP scopes (§7.3). */
#ifndef ZT_INETADDR_H
#define ZT_INETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zt/module.h>
#include <zt/packet.h>

#define ZT_INETADDR_MAX 19          /* longest form a writer emits */
#define ZT_INETADDR_TEXT_MAX 56     /* INET6_ADDRSTRLEN + "/65535" */

/* Scope values as 1.14 ranks them. */
enum zt_ip_scope {
	ZT_SCOPE_NONE = 0,
	ZT_SCOPE_MULTICAST = 1,
	ZT_SCOPE_LOOPBACK = 2,
	ZT_SCOPE_PSEUDOPRIVATE = 3,
	ZT_SCOPE_GLOBAL = 4,
	ZT_SCOPE_LINK_LOCAL = 5,
	ZT_SCOPE_SHARED = 6,
	ZT_SCOPE_PRIVATE = 7,
};

/* Read one InetAddress at the cursor.  Types 0..3 yield AF_UNSPEC (1..3
 * are skipped); any other type than 4 or 6 is -EINVAL; truncation is
 * -EMSGSIZE.  sa is written only on success. */
int zt_inetaddr_read(struct zt_rd *r, union zt_sockaddr *sa);
/* Write type 4, 6, or 0 for anything else. */
void zt_inetaddr_write(struct zt_wr *w, const union zt_sockaddr *sa);
/* The bytes zt_inetaddr_write emits for sa: 7, 19 or 1. */
size_t zt_inetaddr_len(const union zt_sockaddr *sa);
/* Buffer forms: bytes consumed / written, or a negative errno. */
int zt_inetaddr_from_bin(union zt_sockaddr *sa, const uint8_t *p, size_t len);
int zt_inetaddr_to_bin(const union zt_sockaddr *sa, uint8_t *out, size_t cap);

/* Text form "1.2.3.4/9993", "2001:db8::1/9993"; a missing port is 0.
 * from_text: 0 or -EINVAL.  to_text: length or -ENOSPC/-EAFNOSUPPORT. */
int zt_inetaddr_from_text(union zt_sockaddr *sa, const char *s);
int zt_inetaddr_to_text(const union zt_sockaddr *sa, char *out, size_t cap);

/* Helpers for building addresses from raw bytes (network order). */
void zt_inetaddr_set4(union zt_sockaddr *sa, const uint8_t ip[4], uint16_t port);
void zt_inetaddr_set6(union zt_sockaddr *sa, const uint8_t ip[16], uint16_t port);
uint16_t zt_inetaddr_port(const union zt_sockaddr *sa);
/* Same family, IP and port (port ignored if !with_port). */
bool zt_inetaddr_equal(const union zt_sockaddr *a, const union zt_sockaddr *b, bool with_port);

enum zt_ip_scope zt_inetaddr_scope(const union zt_sockaddr *sa);
/* The address part of "usable for a path" (§7.3): IPv4 or IPv6 of scope
 * private, pseudo-private, shared or global, and not 2001:470::/32.  The
 * caller still applies its per-peer and per-network rules. */
bool zt_inetaddr_path_usable(const union zt_sockaddr *sa);

#endif
