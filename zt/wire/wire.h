/* The wire layer's declarations and helpers private to libztk.  The codecs' own
 * interfaces are the public headers in zt/include/zt/; this layer
 * includes nothing of the node or the daemon (t/layers.sh). */
#ifndef ZT_WIRE_H
#define ZT_WIRE_H

/* Set libcrypto up before its first use, without the system openssl.cnf
 * and error strings; once per process, later calls return the result. */
int zt_crypto_init(void);

/* A hex digit's value, either case; -1 for any other character. */
static inline int zt_hex_nibble(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
