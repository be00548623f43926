/* The loader refuses broken modules with one clear line naming the file. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int main(void)
{
	char err[1024], want[128], cmd[2200], dir[] = "/tmp/zt-loader-XXXXXX", bad[64], copy[1024], src[1024];
	const struct zt_module *m;
	const char *mp = getenv("ZT_MODULE_PATH");
	FILE *f;

	plan(16);
	if (!mp)
		bail("ZT_MODULE_PATH is not set (run through make check)");
	if (!mkdtemp(dir))
		bail("mkdtemp failed");
	snprintf(bad, sizeof bad, "%s/bad.so", dir);
	f = fopen(bad, "w");
	fputs("this is not an ELF file\n", f);
	fclose(f);
	zt_module_path_set((const char *const []){ dir }, 1);

	m = zt_module_load("probe", err, sizeof err);
	ok(m != NULL, "probe loads from ZT_MODULE_PATH");
	ok(m && m->kind == ZT_SERVICE && strcmp(m->name, "probe") == 0, "descriptor read");
	ok(zt_module_load("probe", err, sizeof err) == m, "a second load returns the same module");

	ok(zt_module_load("abi2", err, sizeof err) == NULL, "other ABI refused");
	snprintf(want, sizeof want, "/abi2.so: module ABI %d, ztd ABI %d", ZT_MODULE_ABI + 1, ZT_MODULE_ABI);
	ok(ends_with(err, want), "both ABIs named");
	diag("%s", err);
	ok(zt_module_load("svcqueue", err, sizeof err) == NULL &&
	   ends_with(err, "/svcqueue.so: a service cannot have queues (queue is for transports and ifaces)"),
	   "queues on a service refused");
	ok(zt_module_load("storeholes", err, sizeof err) == NULL &&
	   ends_with(err, "/storeholes.so: incomplete descriptor (create, destroy or store operations missing)"),
	   "a store without its operations refused");

	ok(zt_module_load("nodesc", err, sizeof err) == NULL && ends_with(err, "/nodesc.so: no zt_module descriptor"),
	   "missing descriptor refused");
	ok(zt_module_load("misnamed", err, sizeof err) == NULL &&
	   ends_with(err, "/misnamed.so: declares module 'other', not 'misnamed'"), "misnamed module refused");
	ok(zt_module_load("bad", err, sizeof err) == NULL && strstr(err, bad) != NULL, "dlopen failure names the file");
	diag("%s", err);
	ok(zt_module_load("nosuch", err, sizeof err) == NULL && strncmp(err, "no module 'nosuch' (looked for nosuch.so in ", 44) == 0,
	   "missing module names the search path");
	ok(strstr(err, dir) != NULL, "search path starts with the config's directories");
	ok(zt_module_load("../etc/x", err, sizeof err) == NULL, "a module file that does not exist is refused");
	ok(zt_module_load("Bad Name", err, sizeof err) == NULL && strstr(err, "is not a module name"), "invalid name refused");

	/* the same module from another file: a duplicate name */
	snprintf(src, sizeof src, "%s", zt_module_file(m));
	snprintf(copy, sizeof copy, "%s/probe-copy.so", dir);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, copy);
	if (system(cmd) != 0)
		bail("cannot copy %s", src);
	ok(zt_module_load(copy, err, sizeof err) == NULL, "second file declaring 'probe' refused");
	ok(strstr(err, "module 'probe' is already loaded from") != NULL, "duplicate module name explained");
	diag("%s", err);

	unlink(copy);
	unlink(bad);
	rmdir(dir);
	zt_module_unload_all();
	return tap_done();
}
