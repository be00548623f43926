/* What a node keeps across restarts so it works at once, before any root
 * or controller answers: each network's last signed config and the peers'
 * last good physical addresses.  Kernel-private. */
#ifndef ZT_NETCACHE_H
#define ZT_NETCACHE_H

#include <zt/netconf.h>

#include "core.h"

/* The first line of a cache file; then per chunk [4] length [length] the
 * chunk body as the controller signed it (NETWORK_CONFIG's payload). */
#define ZT_NETCACHE_MAGIC "zt network config cache 1\n"

/* The chunks of the config being received, kept until it is complete. */
struct zt_netcache;

struct zt_netcache *zt_netcache_new(void);
void zt_netcache_free(struct zt_netcache *nc);
/* A decoded, verified chunk the reassembly took. */
void zt_netcache_chunk(struct zt_netcache *nc, const struct zt_config_chunk *ch);
/* Update update_id, complete and applied: its chunks are written to
 * <home>/networks.d/<nwid>.netconf (owner only, atomically). */
void zt_netcache_save(struct zt_core *c, struct zt_netcache *nc, uint64_t nwid, uint64_t update_id);
/* A cache file's contents: every chunk decoded and verified against the
 * controller's identity and reassembled in a (*dict, *len valid as
 * zt_config_asm_add's).  0, or -errno with *why saying what is wrong. */
int zt_netcache_parse(const uint8_t *buf, size_t len, uint64_t nwid, const struct zt_identity *controller,
		      struct zt_config_asm *a, const uint8_t **dict, size_t *dict_len, const char **why);
/* Read, check and reassemble network nwid's cache file; a file that is
 * there but cannot be used is logged with its name.  0 or -errno. */
int zt_netcache_load(struct zt_core *c, uint64_t nwid, struct zt_config_asm *a, const uint8_t **dict,
		     size_t *dict_len, char **path);
void zt_netcache_remove(struct zt_core *c, uint64_t nwid);

/* peers.d/<address>.paths: a peer's direct paths, written when one is
 * learned; at start each remembered peer gets a HELLO on them. */
void zt_core_paths_learned(struct zt_core *c, const struct zt_peer *p);
void zt_core_paths_contact(struct zt_core *c);

#endif
