/* tcpframe: the TCP relay framing of wire.md §8.1, shared by the tcp
 * transport, the tcp-relay module and the fuzz target.  No state, no
 * I/O: records of "17 03 03 len body" and the addressed datagram inside
 * a body ([type] [address] [port] datagram). */
#ifndef TCPFRAME_H
#define TCPFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zt/module.h>

#define TCPF_HDR 5                /* 17 03 03 and a 16-bit length */
#define TCPF_GREETING_LEN 4       /* major, minor, 16-bit revision */
#define TCPF_ADDR4_LEN 7          /* type 4, IPv4 address, port */
#define TCPF_ADDR6_LEN 19         /* type 6, IPv6 address, port */
/* Largest datagram carried (the udp transport's too), and so the
 * largest body accepted: longer records close the connection. */
#define TCPF_MAX_DGRAM 10100
#define TCPF_MAX_BODY (TCPF_ADDR6_LEN + TCPF_MAX_DGRAM)
#define TCPF_MAX_RECORD (TCPF_HDR + TCPF_MAX_BODY)

/* The first record in buf[0, len): its body and length through out;
 * returns the record's whole length (> 0), 0 if it is not complete
 * yet, or -EMSGSIZE if its body is longer than max_body. */
int tcpf_record(const uint8_t *buf, size_t len, size_t max_body, const uint8_t **body, size_t *body_len);

/* Whether the first three bytes are 17 03 03.  The reference's readers
 * do not check them; the relay does, to close clients that speak
 * something else (its own clients always send them). */
bool tcpf_head_ok(const uint8_t *buf);

/* A datagram body: its address (source or destination) and payload.
 * 0, -EAFNOSUPPORT for an address type other than 4 or 6 (0 carries no
 * address: the client drops it), -EINVAL if shorter than its prefix. */
int tcpf_dgram(const uint8_t *body, size_t n, union zt_sockaddr *addr, const uint8_t **data, size_t *len);

/* The record header and address prefix of a datagram of len bytes to or
 * from addr, written to out (room for TCPF_HDR + TCPF_ADDR6_LEN); the
 * datagram follows.  Returns the prefix's length, or -EAFNOSUPPORT. */
int tcpf_dgram_head(uint8_t *out, const union zt_sockaddr *addr, size_t len);

/* A record header for a body of len bytes (len <= 65535). */
void tcpf_head(uint8_t *out, size_t len);

/* A greeting record (TCPF_HDR + 4 bytes) with a software version. */
void tcpf_greeting(uint8_t *out, unsigned major, unsigned minor, unsigned revision);

#endif
