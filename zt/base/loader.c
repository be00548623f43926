/* The module loader: find a module by name on the search path, dlopen it
 * and check its descriptor before any of its functions runs. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zt/store.h>

#include "internal.h"

struct loaded {
	char *file;
	void *handle;
	const struct zt_module *mod;
	struct loaded *next;
};

static struct loaded *loaded_modules;
static const struct zt_module *const *linked_modules;
static char **search_dirs;
static size_t search_ndirs;

const char *zt_kind_name(enum zt_kind kind)
{
	switch (kind) {
	case ZT_TRANSPORT: return "transport";
	case ZT_IFACE: return "iface";
	case ZT_POLICY: return "policy";
	case ZT_NAT: return "nat";
	case ZT_SERVICE: return "service";
	case ZT_STORE: return "store";
	}
	return "unknown";
}

static void dirs_free(void)
{
	for (size_t i = 0; i < search_ndirs; i++)
		free(search_dirs[i]);
	free(search_dirs);
	search_dirs = NULL;
	search_ndirs = 0;
}

static int dirs_add(const char *dir, size_t len)
{
	char **d;

	if (len == 0)
		return 0;
	d = realloc(search_dirs, (search_ndirs + 1) * sizeof *d);
	if (!d)
		return -ENOMEM;
	search_dirs = d;
	if (!(d[search_ndirs] = strndup(dir, len)))
		return -ENOMEM;
	search_ndirs++;
	return 0;
}

/* The config's dirs, then $ZT_MODULE_PATH (colon-separated), then MODULEDIR. */
int zt_module_path_set(const char *const *dirs, size_t n)
{
	const char *env = getenv("ZT_MODULE_PATH");

	dirs_free();
	for (size_t i = 0; i < n; i++)
		if (dirs_add(dirs[i], strlen(dirs[i])) < 0)
			return -ENOMEM;
	while (env && *env) {
		/* automake joins lists with spaces; accept both separators */
		size_t len = strcspn(env, ": ");

		if (dirs_add(env, len) < 0)
			return -ENOMEM;
		env += len + (env[len] != 0);
	}
	return dirs_add(MODULEDIR, strlen(MODULEDIR));
}

static bool name_valid(const char *name)
{
	if (!name[0] || strlen(name) > 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9') && *p != '-' && *p != '_')
			return false;
	return true;
}

static struct loaded *loaded_find_file(const char *file)
{
	for (struct loaded *l = loaded_modules; l; l = l->next)
		if (strcmp(l->file, file) == 0)
			return l;
	return NULL;
}

static struct loaded *loaded_find(const char *name)
{
	for (struct loaded *l = loaded_modules; l; l = l->next)
		if (strcmp(l->mod->name, name) == 0)
			return l;
	return NULL;
}

/* Every operation but the optional seen() and active(). */
static bool store_ops_present(const struct zt_store_ops *o)
{
	return o && o->open && o->close && o->error && o->begin && o->commit && o->rollback &&
	       o->network_get && o->network_put && o->network_delete && o->network_ids &&
	       o->member_get && o->member_put && o->member_delete && o->member_each &&
	       o->member_count && o->ip_holder;
}

static bool ops_present(const struct zt_module *m)
{
	switch (m->kind) {
	case ZT_TRANSPORT:
		return m->ops.transport && m->ops.transport->send;
	case ZT_IFACE:
		return m->ops.iface && m->ops.iface->tx;
	case ZT_POLICY:
		return m->ops.policy && m->ops.policy->judge;
	case ZT_STORE:
		return store_ops_present(m->ops.store);
	case ZT_NAT:
	case ZT_SERVICE:
		return true;
	}
	return false;
}

/* Every reason to refuse a descriptor, checked before calling into it. */
static int descriptor_check(const struct zt_module *m, const char *file, const char *name,
			    char *err, size_t errlen)
{
	if (m->abi != ZT_MODULE_ABI) {
		snprintf(err, errlen, "%s: module ABI %u, ztd ABI %u", file, m->abi, ZT_MODULE_ABI);
		return -EPROTO;
	}
	if (!m->name || !name_valid(m->name) || (name && strcmp(m->name, name) != 0)) {
		snprintf(err, errlen, "%s: declares module '%s', not '%s'", file,
			 m->name ? m->name : "(null)", name ? name : "a valid name");
		return -EINVAL;
	}
	if (strcmp(zt_kind_name(m->kind), "unknown") == 0) {
		snprintf(err, errlen, "%s: unknown module kind %d", file, (int)m->kind);
		return -EINVAL;
	}
	if (!m->create || !m->destroy || !ops_present(m)) {
		snprintf(err, errlen, "%s: incomplete descriptor (create, destroy or %s operations missing)",
			 file, zt_kind_name(m->kind));
		return -EINVAL;
	}
	/* only the data path has queues: a worker has no use for others */
	if (m->queue && m->kind != ZT_TRANSPORT && m->kind != ZT_IFACE) {
		snprintf(err, errlen, "%s: a %s cannot have queues (queue is for transports and ifaces)",
			 file, zt_kind_name(m->kind));
		return -EINVAL;
	}
	return 0;
}

static const struct zt_module *load_file(const char *file, const char *name, char *err, size_t errlen)
{
	void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
	const struct zt_module *m;
	struct loaded *l, *dup;

	if (!h) {
		snprintf(err, errlen, "%s", dlerror());
		return NULL;
	}
	m = dlsym(h, "zt_module");
	if (!m) {
		snprintf(err, errlen, "%s: no zt_module descriptor", file);
		goto fail;
	}
	if (descriptor_check(m, file, name, err, errlen) < 0)
		goto fail;
	dup = loaded_find(m->name);
	if (dup) {
		snprintf(err, errlen, "%s: module '%s' is already loaded from %s", file, m->name, dup->file);
		goto fail;
	}
	l = calloc(1, sizeof *l);
	if (!l || !(l->file = strdup(file))) {
		free(l);
		snprintf(err, errlen, "%s: out of memory", file);
		goto fail;
	}
	l->handle = h;
	l->mod = m;
	l->next = loaded_modules;
	loaded_modules = l;
	return m;
fail:
	dlclose(h);
	return NULL;
}

void zt_module_use_linked(const struct zt_module *const *mods)
{
	linked_modules = mods;
}

static const struct zt_module *linked_find(const char *name, char *err, size_t errlen)
{
	if (strchr(name, '/')) {
		snprintf(err, errlen, "%s: this program loads no module file (its modules are linked in)", name);
		return NULL;
	}
	for (const struct zt_module *const *m = linked_modules; *m; m++)
		if (strcmp((*m)->name, name) == 0)
			return *m;
	snprintf(err, errlen, "no module '%s' linked into this program", name);
	return NULL;
}

const struct zt_module *zt_module_load(const char *name, char *err, size_t errlen)
{
	struct loaded *l;
	char file[4096];
	struct stat st;
	size_t used;

	if (linked_modules)
		return linked_find(name, err, errlen);
	if (strchr(name, '/')) {
		/* a file named directly: its descriptor names the module */
		l = loaded_find_file(name);
		return l ? l->mod : load_file(name, NULL, err, errlen);
	}
	l = loaded_find(name);
	if (l)
		return l->mod;
	if (!name_valid(name)) {
		snprintf(err, errlen, "'%s' is not a module name (lower-case letters, digits, - and _)", name);
		return NULL;
	}
	if (!search_dirs && zt_module_path_set(NULL, 0) < 0) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < search_ndirs; i++) {
		snprintf(file, sizeof file, "%s/%s.so", search_dirs[i], name);
		if (stat(file, &st) == 0)
			return load_file(file, name, err, errlen);
	}
	used = snprintf(err, errlen, "no module '%s' (looked for %s.so in", name, name);
	for (size_t i = 0; i < search_ndirs && used < errlen; i++)
		used += snprintf(err + used, errlen - used, "%s %s", i ? "," : "", search_dirs[i]);
	if (used < errlen)
		snprintf(err + used, errlen - used, ")");
	return NULL;
}

const char *zt_module_file(const struct zt_module *m)
{
	for (struct loaded *l = loaded_modules; l; l = l->next)
		if (l->mod == m)
			return l->file;
	return "(built in)";
}

void zt_module_unload_all(void)
{
	while (loaded_modules) {
		struct loaded *l = loaded_modules;

		loaded_modules = l->next;
		dlclose(l->handle);
		free(l->file);
		free(l);
	}
	dirs_free();
}
