/* zt-import: the reference controller's controller.d (network/<nwid>.json,
 * network/<nwid>/member/<address>.json) into a store, directly through
 * the store module: the daemon may be stopped, any store works.  The
 * files have the shape the /controller API speaks (networks.md §8.6,
 * §8.7), so they are read with the API's own code (json.c).  Every field
 * is accounted for: imported, or reported as not imported with why.
 * See zt-import(1). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>

#include <zt/identity.h>
#include <zt/kernel.h>
#include <zt/store.h>

#include "build.h"
#include "controller.h"
#include "import.h"

static const char usage[] =
	"Usage: zt-import [-s <store>] [-H <home>] <controller.d>\n"
	"\n"
	"Imports the reference controller's networks and members into a store.\n"
	"  -s, --store <yaml>  the store, as the controller's store: key\n"
	"                      (default { use: sqlite }: <home>/controller.db)\n"
	"  -H, --home <dir>    the node's home (default " ZT_DEFAULT_HOME ")\n"
	"  -h, --help          this text\n"
	"Exit status: 0 all files imported, 1 failure (nothing or part imported),\n"
	"2 some files skipped (each named with its reason), the rest imported.\n";

/* What happens to a field of a reference file. */
enum field_fate { F_IMPORTED, F_KEY, F_DROPPED };

struct field {
	const char *key;
	enum field_fate fate;
	const char *why;            /* F_DROPPED: the reason */
};

/* The fields of network/<nwid>.json (ZeroTierOne controller/
 * EmbeddedNetworkController.cpp, DB::initNetwork). */
static const struct field network_fields[] = {
	{ "id", F_KEY, NULL }, { "nwid", F_KEY, NULL }, { "objtype", F_KEY, NULL },
	{ "name", F_IMPORTED, NULL }, { "private", F_IMPORTED, NULL },
	{ "enableBroadcast", F_IMPORTED, NULL }, { "mtu", F_IMPORTED, NULL },
	{ "multicastLimit", F_IMPORTED, NULL }, { "v4AssignMode", F_IMPORTED, NULL },
	{ "v6AssignMode", F_IMPORTED, NULL }, { "ipAssignmentPools", F_IMPORTED, NULL },
	{ "routes", F_IMPORTED, NULL }, { "rules", F_IMPORTED, NULL }, { "dns", F_IMPORTED, NULL },
	{ "authTokens", F_IMPORTED, NULL }, { "remoteTraceTarget", F_IMPORTED, NULL },
	{ "remoteTraceLevel", F_IMPORTED, NULL }, { "creationTime", F_IMPORTED, NULL },
	{ "revision", F_IMPORTED, NULL }, { "tags", F_IMPORTED, NULL },
	{ "capabilities", F_IMPORTED, NULL },
	{ "rulesSource", F_DROPPED, "the rules are imported compiled (rules)" },
	{ "ssoEnabled", F_DROPPED, "zt's controller has no SSO" },
	{ "authorizationEndpoint", F_DROPPED, "zt's controller has no SSO" },
	{ "clientId", F_DROPPED, "zt's controller has no SSO" },
	{ "issuerUrl", F_DROPPED, "zt's controller has no SSO" },
	{ "ssoProvider", F_DROPPED, "zt's controller has no SSO" },
	{ NULL, 0, NULL }
};

/* The fields of network/<nwid>/member/<address>.json (DB::initMember). */
static const struct field member_fields[] = {
	{ "id", F_KEY, NULL }, { "address", F_KEY, NULL }, { "nwid", F_KEY, NULL },
	{ "objtype", F_KEY, NULL },
	{ "authorized", F_IMPORTED, NULL }, { "activeBridge", F_IMPORTED, NULL },
	{ "noAutoAssignIps", F_IMPORTED, NULL }, { "name", F_IMPORTED, NULL },
	{ "ipAssignments", F_IMPORTED, NULL }, { "identity", F_IMPORTED, NULL },
	{ "remoteTraceTarget", F_IMPORTED, NULL }, { "remoteTraceLevel", F_IMPORTED, NULL },
	{ "lastAuthorizedTime", F_IMPORTED, NULL }, { "lastDeauthorizedTime", F_IMPORTED, NULL },
	{ "lastAuthorizedCredentialType", F_IMPORTED, NULL },
	{ "lastAuthorizedCredential", F_IMPORTED, NULL },
	{ "vMajor", F_IMPORTED, NULL }, { "vMinor", F_IMPORTED, NULL }, { "vRev", F_IMPORTED, NULL },
	{ "vProto", F_IMPORTED, NULL }, { "creationTime", F_IMPORTED, NULL },
	{ "revision", F_IMPORTED, NULL }, { "tags", F_IMPORTED, NULL },
	{ "capabilities", F_IMPORTED, NULL },
	{ "ssoExempt", F_DROPPED, "zt's controller has no SSO" },
	{ "authenticationExpiryTime", F_DROPPED, "zt's controller has no SSO" },
	{ NULL, 0, NULL }
};

struct import {
	struct zt_store *store;
	const char *root;
	unsigned networks, members, skipped, fields_dropped;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void skip(struct import *im, const char *file, const char *fmt, ...) ZT_PRINTF(3, 4);
static void skip(struct import *im, const char *file, const char *fmt, ...)
{
	va_list ap;

	printf("%s: skipped: ", file);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	im->skipped++;
}

/* Report every field of o that is not imported: dropped with its
 * reason, or not understood. */
static void report_fields(struct import *im, const char *file, const json_t *o, const struct field *fields)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)o, k, v) {
		const struct field *f = fields;

		while (f->key && strcmp(f->key, k))
			f++;
		if (f->key && f->fate != F_DROPPED)
			continue;
		/* an empty list or false says nothing that is lost */
		if (json_is_false(v) || (json_is_array(v) && !json_array_size(v)) ||
		    (json_is_string(v) && !*json_string_value(v)))
			continue;
		printf("%s: %s: not imported: %s\n", file, k, f->key ? f->why : "not understood");
		im->fields_dropped++;
	}
}

/* rules: each that zt's rule code cannot read is reported by index. */
static void report_rules(struct import *im, const char *file, const json_t *rules)
{
	size_t i;
	json_t *r, *n;

	json_array_foreach((json_t *)rules, i, r) {
		if ((n = ctl_rule_normalize(r))) {
			json_decref(n);
			continue;
		}
		printf("%s: rules[%zu]: not imported: not understood (type %s)\n", file, i,
		       json_string_value(json_object_get(r, "type")) ? json_string_value(json_object_get(r, "type"))
								      : "missing");
		im->fields_dropped++;
	}
}

/* A JSON object from a file, or NULL after reporting why. */
static json_t *load(struct import *im, const char *file)
{
	json_error_t e;
	json_t *o = json_load_file(file, JSON_REJECT_DUPLICATES, &e);

	if (!o) {
		skip(im, file, "line %d: %s", e.line, e.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		skip(im, file, "not a JSON object");
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The object's id (key) must be the hex of the file's name. */
static int check_id(const json_t *o, const char *key, uint64_t want, int digits, const char **why)
{
	const char *t = json_string_value(json_object_get(o, key));
	char hex[24];

	snprintf(hex, sizeof hex, "%0*" PRIx64, digits, want);
	if (t && strcmp(t, hex) != 0)
		return *why = "its id is not the one its file name says", -EINVAL;
	return 0;
}

/* The id of a file named <digits hex digits>.json: 0, or -EINVAL. */
static int file_id(const char *name, size_t digits, uint64_t *v)
{
	char hex[24], *end;

	if (strlen(name) != digits + 5 || strcmp(name + digits, ".json") != 0)
		return -EINVAL;
	memcpy(hex, name, digits);
	hex[digits] = 0;
	errno = 0;
	*v = strtoull(hex, &end, 16);
	return errno || *end ? -EINVAL : 0;
}

static void import_member(struct import *im, uint64_t nwid, const char *dir, const char *name)
{
	char file[4096], a[11];
	const char *why = NULL;
	struct zt_store_member m;
	uint64_t address;
	json_t *o;
	int err;

	if (snprintf(file, sizeof file, "%s/%s", dir, name) >= (int)sizeof file)
		return skip(im, name, "path too long");
	if (file_id(name, 10, &address) < 0)
		return skip(im, file, "not <10 hex digits>.json");
	if (!(o = load(im, file)))
		return;
	ctl_member_init(&m, nwid, address, now_ms());
	if (check_id(o, "id", address, 10, &why) < 0 || check_id(o, "address", address, 10, &why) < 0 ||
	    check_id(o, "nwid", nwid, 16, &why) < 0 || (err = ctl_import_member(&m, o, now_ms(), &why)) < 0) {
		skip(im, file, "%s", why ? why : strerror(ENOMEM));
		goto out;
	}
	if ((err = zt_store_member_put(im->store, &m)) < 0) {
		skip(im, file, "store: %s", err == -EIO ? zt_store_error(im->store) : strerror(-err));
		goto out;
	}
	zt_address_fmt(address, a);
	printf("%s: imported member %s of %016" PRIx64 "%s", file, a, nwid, m.authorized ? ", authorized" : "");
	for (size_t i = 0; i < m.nips; i++)
		printf("%s%s", i ? " " : ", ", m.ips[i]);
	putchar('\n');
	report_fields(im, file, o, member_fields);
	im->members++;
out:
	zt_store_member_clear(&m);
	json_decref(o);
}

/* Each file of <nwid>/member/, in name order (a stable report). */
static void import_members(struct import *im, uint64_t nwid, const char *netdir)
{
	char dir[4096];
	struct dirent **names;
	int n;

	if (snprintf(dir, sizeof dir, "%s/member", netdir) >= (int)sizeof dir)
		return skip(im, netdir, "path too long");
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return;   /* a network without members */
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.')
			import_member(im, nwid, dir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

static void import_network(struct import *im, const char *netroot, const char *name)
{
	char file[4096], sub[4096];
	const char *why = NULL;
	struct zt_store_network n;
	uint64_t nwid;
	json_t *o;
	int err;

	if (snprintf(file, sizeof file, "%s/%s", netroot, name) >= (int)sizeof file)
		return skip(im, name, "path too long");
	if (file_id(name, 16, &nwid) < 0)
		return skip(im, file, "not <16 hex digits>.json");
	if (!(o = load(im, file)))
		return;
	ctl_network_defaults(&n, nwid, now_ms());
	if (!n.name || !n.pools || !n.routes || !n.rules || !n.dns || !n.auth_tokens) {
		skip(im, file, "%s", strerror(ENOMEM));
		goto out;
	}
	if (check_id(o, "id", nwid, 16, &why) < 0 || check_id(o, "nwid", nwid, 16, &why) < 0 ||
	    ctl_import_network(&n, o, &why) < 0) {
		skip(im, file, "%s; its members are not imported", why ? why : strerror(ENOMEM));
		goto out;
	}
	/* the network and its members: one transaction */
	if ((err = zt_store_begin(im->store)) < 0) {
		skip(im, file, "store: %s", err == -EIO ? zt_store_error(im->store) : strerror(-err));
		goto out;
	}
	if ((err = zt_store_network_put(im->store, &n)) < 0) {
		skip(im, file, "store: %s", err == -EIO ? zt_store_error(im->store) : strerror(-err));
		zt_store_rollback(im->store);
		goto out;
	}
	printf("%s: imported network %016" PRIx64 " \"%s\"\n", file, nwid, n.name);
	report_fields(im, file, o, network_fields);
	report_rules(im, file, json_object_get(o, "rules"));
	im->networks++;
	if (snprintf(sub, sizeof sub, "%s/%016" PRIx64, netroot, nwid) < (int)sizeof sub)
		import_members(im, nwid, sub);
	if (zt_store_commit(im->store) < 0) {
		printf("%s: not imported after all, nor its members: store: %s\n", file,
		       zt_store_error(im->store));
		im->skipped++;
	}
out:
	zt_store_network_clear(&n);
	json_decref(o);
}

/* network/<nwid>.json, in name order; <nwid>/ directories hold members. */
static int import_all(struct import *im)
{
	char netroot[4096];
	struct dirent **names;
	int n;

	if (snprintf(netroot, sizeof netroot, "%s/network", im->root) >= (int)sizeof netroot) {
		fprintf(stderr, "zt-import: %s: path too long\n", im->root);
		return -ENAMETOOLONG;
	}
	n = scandir(netroot, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "zt-import: %s: %s\n", netroot, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		const char *d = names[i]->d_name;
		size_t len = strlen(d);

		if (len > 5 && !strcmp(d + len - 5, ".json"))
			import_network(im, netroot, d);
		free(names[i]);
	}
	free(names);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "home", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store_yaml = "{ use: sqlite }", *home = ZT_DEFAULT_HOME;
	struct zt_store_user user = { 0 };
	struct import im = { 0 };
	struct zt_kernel *k;
	struct zt_inst *zi;
	char err[4096];
	int c, rc;

	while ((c = getopt_long(argc, argv, "s:H:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': store_yaml = optarg; break;
		case 'H': home = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 1;
		}
	}
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return 1;
	}
	im.root = argv[optind];
	k = zt_kernel_new(ev_default_loop(0));
	if (!k)
		return 1;
	zi = zt_kernel_instance(k, ZT_STORE, store_yaml, err, sizeof err);
	if (!zi || !(im.store = zt_store_of(zi))) {
		fprintf(stderr, "zt-import: --store: %s\n", zi ? strerror(ENOMEM) : err);
		zt_kernel_free(k);
		return 1;
	}
	user.home = home;
	if (zt_store_open(im.store, zt_kernel_loop(k), &user, err, sizeof err) < 0) {
		fprintf(stderr, "zt-import: store %s: %s\n", zt_inst_name(zi), err);
		rc = 1;
		goto out;
	}
	rc = import_all(&im) < 0 ? 1 : 0;
	printf("imported %u networks and %u members; %u fields not imported; %u files skipped\n",
	       im.networks, im.members, im.fields_dropped, im.skipped);
	if (!rc && im.skipped)
		rc = 2;
	zt_store_close(im.store);
out:
	zt_store_release(im.store);
	zt_kernel_free(k);
	return rc;
}
