/* zt-mkworld's world description: the YAML file that names a world's type,
 * id, timestamp, signing key pair files and roots (zt-mkworld(1)), read into
 * a world ready to sign.  Its own file so that fuzz/mkworld-desc can feed
 * it any text. */
#ifndef ZT_TOOLS_WORLD_DESC_H
#define ZT_TOOLS_WORLD_DESC_H

#include <stdbool.h>
#include <stdint.h>

#include <zt/world.h>

#include "conf.h"

struct world_desc {
	struct zt_conf *conf;       /* the parsed description; errors are counted here */
	char *dir;                  /* the description's directory, with '/', or "" */
	struct zt_world w;
	uint8_t keypair[ZT_KEYPAIR_LEN];
	bool have_key;
};

/* Fill d->w and d->keypair from d->conf; file names are relative to d->dir.
 * False if anything was reported (through d->conf, naming line and column). */
bool world_desc_load(struct world_desc *d);

#endif
