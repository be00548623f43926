/* zt-import: a reference controller's network or member JSON object into
 * a store object (import.c). */
#ifndef ZT_CONTROLLER_IMPORT_H
#define ZT_CONTROLLER_IMPORT_H

#include <stdint.h>

#include <jansson.h>

#include <zt/store.h>

/* Fill n (made by ctl_network_defaults) from the object o of
 * network/<nwid>.json: 0, or -EINVAL with why naming the field, -ENOMEM. */
int ctl_import_network(struct zt_store_network *n, const json_t *o, const char **why);
/* Fill m (made by ctl_member_init) from the object o of a member file,
 * now being the time of the import: 0, -EINVAL with why, -ENOMEM. */
int ctl_import_member(struct zt_store_member *m, const json_t *o, int64_t now, const char **why);

#endif
