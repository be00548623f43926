/* zt-mkworld: make, show and check worlds (planets and moons, wire.md §6)
 * from a YAML description and 128-byte signing key pair files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <zt/identity.h>
#include <zt/inetaddr.h>
#include <zt/world.h>

#include "conf.h"
#include "world-desc.h"

#define EXIT_USAGE 2
#define WORLD_FILE_MAX 65536  /* far above ZT_WORLD_BIN_MAX: room to say "trailing bytes" */

static const char usage[] =
	"Usage: zt-mkworld <command> [<args>]\n"
	"\n"
	"Commands:\n"
	"  keygen <key-file>                   write a new world signing key pair (128 bytes, mode 0600)\n"
	"  make <description.yaml> <world>     build and sign a planet or moon from a YAML description\n"
	"  show [--json] <world>               print a world and check its signature against its own key\n"
	"  check-update <old-world> <new-world>\n"
	"                                      would a node holding old-world accept new-world?\n"
	"\n"
	"Options: -h, --help (this text), --version.  See zt-mkworld(1).\n";

static int usage_error(const char *fmt, ...) ZT_PRINTF(1, 2);

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("zt-mkworld: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'zt-mkworld --help'.\n", stderr);
	return EXIT_USAGE;
}

static const char *type_name(uint8_t type)
{
	switch (type) {
	case ZT_WORLD_PLANET: return "planet";
	case ZT_WORLD_MOON: return "moon";
	case ZT_WORLD_NULL: return "null";
	}
	return "invalid";
}

static void hex(char *out, const uint8_t *p, size_t len)
{
	sodium_bin2hex(out, 2 * len + 1, p, len);
}

/* ---- writing files ---- */

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Replace path with data atomically: a temporary file beside it, then rename. */
static int file_replace(const char *path, const uint8_t *data, size_t len, mode_t mode)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 8);
	int fd, rc;

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".XXXXXX", 8);
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = -errno;
		free(tmp);
		return rc;
	}
	if (fchmod(fd, mode) < 0 || (rc = write_all(fd, data, len)) < 0 || fsync(fd) < 0) {
		rc = errno ? -errno : -EIO;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return rc;
}

/* ---- keygen ---- */

static int cmd_keygen(const char *path)
{
	uint8_t kp[ZT_KEYPAIR_LEN];
	char pubhex[2 * ZT_PUB_LEN + 1];
	int fd, rc;

	/* both halves real: X25519 secret || Ed25519 seed, as an identity's */
	randombytes_buf(kp + ZT_PUB_LEN, ZT_PRIV_LEN);
	zt_identity_derive_public(kp + ZT_PUB_LEN, kp);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = errno;
		fprintf(stderr, "zt-mkworld: %s: %s%s\n", path, strerror(rc),
			rc == EEXIST ? " (refusing to overwrite a key)" : "");
		sodium_memzero(kp, sizeof kp);
		return 1;
	}
	if (fchmod(fd, 0600) < 0 || (rc = write_all(fd, kp, sizeof kp)) < 0 || fsync(fd) < 0) {
		rc = errno ? errno : EIO;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = errno;
		goto fail;
	}
	hex(pubhex, kp, ZT_PUB_LEN);
	sodium_memzero(kp, sizeof kp);
	printf("%s written\npublic key: %s\n", path, pubhex);
	return 0;
fail:
	fprintf(stderr, "zt-mkworld: %s: %s\n", path, strerror(rc));
	if (fd >= 0)
		close(fd);
	unlink(path);
	sodium_memzero(kp, sizeof kp);
	return 1;
}

/* ---- printing a world ---- */

static void ts_fmt(uint64_t ms, char *out, size_t len)
{
	time_t secs = (time_t)(ms / 1000);
	char secstr[32];
	struct tm tm;

	if (ms / 1000 > (uint64_t)253402300799ULL || !gmtime_r(&secs, &tm)) {
		snprintf(out, len, "beyond year 9999");
		return;
	}
	strftime(secstr, sizeof secstr, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03uZ", secstr, (unsigned)(ms % 1000));
}

static void world_print_text(FILE *f, const struct zt_world *w, size_t size, int self_ok)
{
	char keyhex[2 * ZT_PUB_LEN + 1], sighex[2 * ZT_SIG_LEN + 1], idtext[ZT_ID_TEXT_MAX];
	char ep[ZT_INETADDR_TEXT_MAX], when[40];

	hex(keyhex, w->update_key, sizeof w->update_key);
	hex(sighex, w->sig, sizeof w->sig);
	ts_fmt(w->ts, when, sizeof when);
	fprintf(f, "type: %s (%u)\n", type_name(w->type), w->type);
	fprintf(f, "id: %" PRIu64 " (0x%016" PRIx64 ")\n", w->id, w->id);
	fprintf(f, "timestamp: %" PRIu64 " (%s)\n", w->ts, when);
	fprintf(f, "updates-must-be-signed-by: %s\n", keyhex);
	fprintf(f, "signature: %s\n", sighex);
	fprintf(f, "roots: %u\n", w->n_roots);
	for (unsigned i = 0; i < w->n_roots; i++) {
		const struct zt_world_root *r = &w->roots[i];

		zt_identity_to_text(&r->id, idtext, false);
		fprintf(f, "  - identity: %s\n", idtext);
		fprintf(f, "    endpoints:%s\n", r->n_endpoints ? "" : " none");
		for (unsigned j = 0; j < r->n_endpoints; j++) {
			if (zt_inetaddr_to_text(&r->endpoints[j], ep, sizeof ep) < 0)
				snprintf(ep, sizeof ep, "(none)");
			fprintf(f, "      - %s\n", ep);
		}
	}
	fprintf(f, "size: %zu bytes\n", size);
	if (w->type == ZT_WORLD_MOON)
		fprintf(f, "file name: moons.d/%016" PRIx64 ".moon\n", w->id);
	if (self_ok >= 0)
		fprintf(f, "signature check: %s\n", self_ok ?
			"verifies with its own updates-must-be-signed-by key" :
			"does NOT verify with its own updates-must-be-signed-by key "
			"(fine only for a key rotation: check it with check-update)");
}

static void world_print_json(FILE *f, const struct zt_world *w, size_t size, bool self_ok)
{
	char keyhex[2 * ZT_PUB_LEN + 1], sighex[2 * ZT_SIG_LEN + 1], idtext[ZT_ID_TEXT_MAX];
	char ep[ZT_INETADDR_TEXT_MAX];

	hex(keyhex, w->update_key, sizeof w->update_key);
	hex(sighex, w->sig, sizeof w->sig);
	fprintf(f, "{\"type\": \"%s\", \"typeCode\": %u, \"id\": \"%016" PRIx64 "\", \"idDecimal\": %" PRIu64
		", \"timestamp\": %" PRIu64 ", \"updatesMustBeSignedBy\": \"%s\", \"signature\": \"%s\", "
		"\"roots\": [", type_name(w->type), w->type, w->id, w->id, w->ts, keyhex, sighex);
	for (unsigned i = 0; i < w->n_roots; i++) {
		const struct zt_world_root *r = &w->roots[i];

		zt_identity_to_text(&r->id, idtext, false);
		fprintf(f, "%s{\"identity\": \"%s\", \"stableEndpoints\": [", i ? ", " : "", idtext);
		for (unsigned j = 0; j < r->n_endpoints; j++) {
			if (zt_inetaddr_to_text(&r->endpoints[j], ep, sizeof ep) < 0)
				ep[0] = '\0';
			fprintf(f, "%s\"%s\"", j ? ", " : "", ep);
		}
		fputs("]}", f);
	}
	fprintf(f, "], \"size\": %zu, \"signatureValid\": %s}\n", size, self_ok ? "true" : "false");
}

/* ---- reading a world file ---- */

static int world_load(const char *path, struct zt_world *w, size_t *size)
{
	uint8_t *buf = malloc(WORLD_FILE_MAX + 1);
	size_t n;
	FILE *f;
	int rc;

	if (!buf) {
		fprintf(stderr, "zt-mkworld: out of memory\n");
		return -1;
	}
	if (!(f = fopen(path, "rb"))) {
		fprintf(stderr, "zt-mkworld: %s: %s\n", path, strerror(errno));
		goto fail;
	}
	n = fread(buf, 1, WORLD_FILE_MAX + 1, f);
	rc = ferror(f);
	fclose(f);
	if (rc) {
		fprintf(stderr, "zt-mkworld: %s: read error\n", path);
		goto fail;
	}
	if (n > WORLD_FILE_MAX) {
		fprintf(stderr, "zt-mkworld: %s: larger than %d bytes, not a world\n", path, WORLD_FILE_MAX);
		goto fail;
	}
	rc = zt_world_from_bin(w, buf, n);
	if (rc < 0) {
		fprintf(stderr, "zt-mkworld: %s: not a world: %s\n", path,
			rc == -EMSGSIZE ? "truncated" :
			rc == -E2BIG ? "more than 4 roots or 32 endpoints per root" :
			"bad type, identity or address");
		goto fail;
	}
	if ((size_t)rc != n) {
		fprintf(stderr, "zt-mkworld: %s: not a world: %zu trailing bytes after %d\n",
			path, n - (size_t)rc, rc);
		goto fail;
	}
	*size = n;
	free(buf);
	return 0;
fail:
	free(buf);
	return -1;
}

static int cmd_show(int argc, char **argv)
{
	bool json = false;
	const char *path = NULL;
	struct zt_world w;
	size_t size;
	bool self_ok;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("show: unknown option '%s'", argv[i]);
		else if (path)
			return usage_error("show: one world file, not more (extra '%s')", argv[i]);
		else
			path = argv[i];
	}
	if (!path)
		return usage_error("show: %s", "which world file?");
	if (world_load(path, &w, &size) < 0)
		return 1;
	self_ok = zt_world_verify(&w, w.update_key);
	if (json)
		world_print_json(stdout, &w, size, self_ok);
	else
		world_print_text(stdout, &w, size, self_ok);
	return 0;
}

/* ---- check-update ---- */

static int cmd_check_update(const char *old_path, const char *new_path)
{
	struct zt_world old, cand;
	size_t size;
	unsigned reasons = 0;
	bool ok;

	if (world_load(old_path, &old, &size) < 0 || world_load(new_path, &cand, &size) < 0)
		return 1;
	ok = zt_world_update_ok(&old, &cand);
	if (cand.type != ZT_WORLD_PLANET && cand.type != ZT_WORLD_MOON) {
		printf("refused: the new world is of type %s, not a planet or moon\n", type_name(cand.type));
		reasons++;
	} else if (old.type == ZT_WORLD_NULL) {
		printf("accepted: the old world is null, any %s replaces it\n", type_name(cand.type));
		return ok ? 0 : 1;
	} else {
		if (old.id != cand.id) {
			printf("refused: world id %" PRIu64 " is not the old world's %" PRIu64 "\n",
			       cand.id, old.id);
			reasons++;
		}
		if (old.type != cand.type) {
			printf("refused: a %s cannot replace a %s\n", type_name(cand.type), type_name(old.type));
			reasons++;
		}
		if (cand.ts <= old.ts) {
			printf("refused: timestamp %" PRIu64 " is not newer than the old world's %" PRIu64 "\n",
			       cand.ts, old.ts);
			reasons++;
		}
		if (!zt_world_verify(&cand, old.update_key)) {
			printf("refused: the signature does not verify with the old world's "
			       "updates-must-be-signed-by key\n");
			reasons++;
		}
	}
	if (ok && reasons == 0) {
		printf("accepted: same %s id %" PRIu64 ", timestamp %" PRIu64 " > %" PRIu64
		       ", signed with the old world's updates-must-be-signed-by key\n",
		       type_name(cand.type), cand.id, cand.ts, old.ts);
		return 0;
	}
	if (reasons == 0)
		printf("refused: by the update rule\n");
	return 1;
}

/* ---- make: the YAML description ---- */

static int cmd_make(const char *desc_file, const char *out_path)
{
	uint8_t bin[ZT_WORLD_BIN_MAX];
	struct zt_world check;
	struct world_desc d;
	const char *slash;
	int len, rc, ret = 1;

	memset(&d, 0, sizeof d);
	slash = strrchr(desc_file, '/');
	d.dir = strndup(desc_file, slash ? (size_t)(slash - desc_file + 1) : 0);
	d.conf = zt_conf_parse(desc_file, NULL, false);
	if (!d.dir || !d.conf) {
		fprintf(stderr, "zt-mkworld: out of memory\n");
		goto done;
	}
	if (!world_desc_load(&d)) {
		fprintf(stderr, "zt-mkworld: %s: %u error%s, no world written\n", desc_file,
			d.conf->errors, d.conf->errors == 1 ? "" : "s");
		goto done;
	}
	if ((rc = zt_world_sign(&d.w, d.keypair)) < 0) {
		fprintf(stderr, "zt-mkworld: signing failed: %s\n", strerror(-rc));
		goto done;
	}
	/* what we write must read back as itself and verify with the signing key */
	len = zt_world_to_bin(&d.w, bin, sizeof bin);
	if (len < 0 || zt_world_from_bin(&check, bin, (size_t)len) != len ||
	    !zt_world_verify(&check, d.keypair)) {
		fprintf(stderr, "zt-mkworld: internal error: the world does not read back or verify\n");
		goto done;
	}
	if ((rc = file_replace(out_path, bin, (size_t)len, 0644)) < 0) {
		fprintf(stderr, "zt-mkworld: %s: %s\n", out_path, strerror(-rc));
		goto done;
	}
	printf("%s written\n", out_path);
	world_print_text(stdout, &check, (size_t)len, -1);
	ret = 0;
done:
	sodium_memzero(d.keypair, sizeof d.keypair);
	zt_conf_free(d.conf);
	free(d.dir);
	return ret;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd)
		return usage_error("%s", "which command?");
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("zt-mkworld %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "zt-mkworld: libsodium failed to initialize\n");
		return 1;
	}
	if (!strcmp(cmd, "keygen")) {
		if (argc != 3)
			return usage_error("%s", "keygen takes one argument: <key-file>");
		return cmd_keygen(argv[2]);
	}
	if (!strcmp(cmd, "make")) {
		if (argc != 4)
			return usage_error("%s", "make takes two arguments: <description.yaml> <world>");
		return cmd_make(argv[2], argv[3]);
	}
	if (!strcmp(cmd, "show"))
		return cmd_show(argc, argv);
	if (!strcmp(cmd, "check-update")) {
		if (argc != 4)
			return usage_error("%s", "check-update takes two arguments: <old-world> <new-world>");
		return cmd_check_update(argv[2], argv[3]);
	}
	return usage_error("unknown command '%s'", cmd);
}
