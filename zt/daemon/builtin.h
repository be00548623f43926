/* What ztd carries built in, generated at build time by
 * scripts/embed-c.sh: the public ZeroTier planet (t/vectors/planet-earth.txt)
 * and the default pipeline (conf/ztd-default.yaml). */
#ifndef ZT_BUILTIN_H
#define ZT_BUILTIN_H

#include <stddef.h>
#include <stdint.h>

extern const uint8_t zt_builtin_planet[];
extern const size_t zt_builtin_planet_len;
extern const char zt_default_config[];

#endif
