/* The wire layer's declarations private to libztk.  The codecs' own
 * interfaces are the public headers in zt/include/zt/; this layer
 * includes nothing of the node or the daemon (t/layers.sh). */
#ifndef ZT_WIRE_H
#define ZT_WIRE_H

/* Set libcrypto up before its first use, without the system openssl.cnf
 * and error strings; once per process, later calls return the result. */
int zt_crypto_init(void);

#endif
