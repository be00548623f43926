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

#define EXIT_USAGE 2
#define ID_FILE_MAX 4096      /* an identity file is at most 270 bytes */
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

/* Does the Ed25519 public half of a key pair derive from its seed? */
static bool keypair_consistent(const uint8_t kp[ZT_KEYPAIR_LEN])
{
	uint8_t pk[crypto_sign_ed25519_PUBLICKEYBYTES], sk[crypto_sign_ed25519_SECRETKEYBYTES];
	bool good;

	crypto_sign_ed25519_seed_keypair(pk, sk, kp + ZT_PUB_LEN + 32);
	good = sodium_memcmp(pk, kp + 32, sizeof pk) == 0;
	sodium_memzero(sk, sizeof sk);
	return good;
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

struct desc {
	struct zt_conf *conf;
	char *dir;                  /* the description's directory, with '/', or "" */
	struct zt_world w;
	uint8_t keypair[ZT_KEYPAIR_LEN];
	bool have_key;
};

/* A path from the description, relative to its directory. */
static char *desc_path(const struct desc *d, const char *p)
{
	size_t dl = p[0] == '/' ? 0 : strlen(d->dir), pl = strlen(p);
	char *out = malloc(dl + pl + 1);

	if (out) {
		memcpy(out, d->dir, dl);
		memcpy(out + dl, p, pl + 1);
	}
	return out;
}

/* A scalar value or an error at n; NULL after reporting. */
static const char *want_scalar(const struct zt_node *n, const char *what)
{
	const char *s = zt_node_scalar(n);

	if (!s)
		zt_node_error(n, "must be %s, not %s", what, zt_node_type_name(n->type));
	else if (!s[0])
		zt_node_error(n, "must be %s, not empty", what);
	else
		return s;
	return NULL;
}

/* Decimal, or hex with 0x; nothing else (no octal, no sign, no spaces). */
static int parse_u64(const char *s, uint64_t *out)
{
	int base = 10;
	uint64_t v = 0;
	const char *p = s;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		unsigned dgt;

		if (*p >= '0' && *p <= '9')
			dgt = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			dgt = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			dgt = (unsigned)(*p - 'A' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX - dgt) / (uint64_t)base)
			return -ERANGE;
		v = v * (uint64_t)base + dgt;
	}
	*out = v;
	return 0;
}

static bool desc_u64(const struct zt_node *n, const char *what, uint64_t *out)
{
	const char *s = want_scalar(n, what);
	int rc;

	if (!s)
		return false;
	if ((rc = parse_u64(s, out)) < 0) {
		if (rc == -ERANGE)
			zt_node_error(n, "'%s' does not fit in 64 bits", s);
		else
			zt_node_error(n, "'%s' is not %s", s, what);
		return false;
	}
	if (*out == 0) {
		zt_node_error(n, "must not be 0");
		return false;
	}
	return true;
}

/* Read a key pair file named by n; report and return false on any problem. */
static bool desc_keypair(const struct desc *d, const struct zt_node *n, uint8_t kp[ZT_KEYPAIR_LEN])
{
	const char *s = want_scalar(n, "the name of a 128-byte key pair file (zt-mkworld keygen)");
	struct stat st;
	char *path;
	bool good = false;
	int rc;

	if (!s)
		return false;
	if (!(path = desc_path(d, s))) {
		zt_node_error(n, "out of memory");
		return false;
	}
	if (stat(path, &st) < 0) {
		zt_node_error(n, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		zt_node_error(n, "%s: not a regular file", path);
	} else if (st.st_size != ZT_KEYPAIR_LEN) {
		zt_node_error(n, "%s: %lld bytes, a key pair file has %d (public 64 || private 64)",
			      path, (long long)st.st_size, ZT_KEYPAIR_LEN);
	} else if ((rc = zt_keypair_read(path, kp)) < 0) {
		zt_node_error(n, "%s: %s", path, rc == -EINVAL ? "not a 128-byte key pair file" : strerror(-rc));
	} else if (!keypair_consistent(kp)) {
		zt_node_error(n, "%s: the Ed25519 public key does not belong to the private key", path);
		sodium_memzero(kp, ZT_KEYPAIR_LEN);
	} else {
		good = true;
	}
	free(path);
	return good;
}

/* An identity text, or a file holding one (like zt-idtool). */
static bool desc_identity(const struct desc *d, const struct zt_node *n, struct zt_identity *id)
{
	const char *s = want_scalar(n, "an identity (address:0:public) or a file holding one");
	char text[ID_FILE_MAX];
	char *path;
	size_t len;
	FILE *f;
	bool good = false;

	if (!s)
		return false;
	/* 10 hex digits and a colon: the text form, anything else a file name */
	if (strlen(s) > 10 && s[10] == ':') {
		if (zt_identity_from_text(id, s) < 0) {
			zt_node_error(n, "not an identity (address:0:public key, 10 and 128 hex digits)");
			return false;
		}
		return true;
	}
	if (!(path = desc_path(d, s))) {
		zt_node_error(n, "out of memory");
		return false;
	}
	if (!(f = fopen(path, "rb"))) {
		zt_node_error(n, "%s: %s", path, strerror(errno));
		free(path);
		return false;
	}
	len = fread(text, 1, sizeof text - 1, f);
	if (ferror(f))
		zt_node_error(n, "%s: read error", path);
	else if (len == sizeof text - 1 || memchr(text, '\0', len))
		zt_node_error(n, "%s: not an identity file", path);
	else if ((text[len] = '\0', zt_identity_from_text(id, text)) < 0)
		zt_node_error(n, "%s: not an identity (address:0:public key, 10 and 128 hex digits)", path);
	else
		good = true;
	fclose(f);
	sodium_memzero(text, sizeof text);
	free(path);
	return good;
}

static bool desc_endpoint(const struct zt_node *n, union zt_sockaddr *sa)
{
	const char *s = want_scalar(n, "an endpoint like 198.18.0.1/9993 or 2001:db8::1/9993");
	static const uint8_t zero[16];

	if (!s)
		return false;
	if (zt_inetaddr_from_text(sa, s) < 0) {
		const char *colon = strrchr(s, ':');

		if (s[0] == '[' || (colon && strchr(s, ':') == colon && strchr(s, '.')))
			zt_node_error(n, "'%s' is not an endpoint: write address/port, like 198.18.0.1/9993 "
				      "or 2001:db8::1/9993", s);
		else
			zt_node_error(n, "'%s' is not an endpoint like 198.18.0.1/9993 or 2001:db8::1/9993", s);
		return false;
	}
	if (!strchr(s, '/')) {
		zt_node_error(n, "'%s' has no port: write address/port, like %s/9993", s, s);
		return false;
	}
	if (zt_inetaddr_port(sa) == 0) {
		zt_node_error(n, "'%s': the port must be 1 to 65535", s);
		return false;
	}
	if ((sa->sa.sa_family == AF_INET && sa->in4.sin_addr.s_addr == 0) ||
	    (sa->sa.sa_family == AF_INET6 && !memcmp(&sa->in6.sin6_addr, zero, 16))) {
		zt_node_error(n, "'%s' is the unspecified address, which no node can reach", s);
		return false;
	}
	return true;
}

static void desc_endpoints(const struct zt_node *eps, struct zt_world_root *root)
{
	if (eps->type != ZT_NODE_SEQ) {
		zt_node_error(eps, "must be a list of endpoints like [\"198.18.0.1/9993\"], not %s",
			      zt_node_type_name(eps->type));
		return;
	}
	if (eps->n == 0) {
		zt_node_error(eps, "must list at least one endpoint like 198.18.0.1/9993");
		return;
	}
	if (eps->n > ZT_WORLD_MAX_ENDPOINTS) {
		zt_node_error(eps, "lists %zu endpoints, at most %d are allowed", eps->n, ZT_WORLD_MAX_ENDPOINTS);
		return;
	}
	for (size_t i = 0; i < eps->n; i++) {
		union zt_sockaddr *sa = &root->endpoints[root->n_endpoints];

		if (!desc_endpoint(eps->items[i], sa))
			continue;
		for (unsigned j = 0; j < root->n_endpoints; j++)
			if (zt_inetaddr_equal(&root->endpoints[j], sa, true)) {
				zt_node_error(eps->items[i], "'%s' is listed twice", eps->items[i]->text);
				sa = NULL;
				break;
			}
		if (sa)
			root->n_endpoints++;
	}
}

static void desc_root(struct desc *d, const struct zt_node *n, struct zt_world_root *root)
{
	const struct zt_node *idn, *eps;

	if (n->type != ZT_NODE_MAP) {
		zt_node_error(n, "must be a mapping with identity and endpoints, not %s", zt_node_type_name(n->type));
		return;
	}
	idn = zt_node_get(n, "identity");
	eps = zt_node_get(n, "endpoints");
	if (!idn)
		zt_node_error(n, "missing required key 'identity' (the root's identity or a file holding it)");
	if (!eps)
		zt_node_error(n, "missing required key 'endpoints' (a list like [\"198.18.0.1/9993\"])");
	if (idn && desc_identity(d, idn, &root->id)) {
		char addr[11];

		zt_address_fmt(root->id.address, addr);
		/* a world carries public identities only */
		if (root->id.has_private) {
			sodium_memzero(root->id.priv, sizeof root->id.priv);
			root->id.has_private = false;
		}
		if (!zt_identity_validate(&root->id))
			zt_node_error(idn, "identity %s fails validation (its address does not match the "
				      "proof of work of its public key)", addr);
	}
	if (eps)
		desc_endpoints(eps, root);
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->text;

		if (strcmp(k, "identity") && strcmp(k, "endpoints"))
			zt_node_error(n->keys[i], "unknown key '%s' (a root has identity, endpoints)", k);
	}
}

static void desc_roots(struct desc *d, const struct zt_node *n)
{
	struct zt_world *w = &d->w;
	const struct zt_node *where[ZT_WORLD_MAX_ROOTS];

	if (n->type != ZT_NODE_SEQ) {
		zt_node_error(n, "must be a list of roots (each with identity and endpoints), not %s",
			      zt_node_type_name(n->type));
		return;
	}
	if (n->n == 0) {
		zt_node_error(n, "must list at least one root");
		return;
	}
	if (n->n > ZT_WORLD_MAX_ROOTS) {
		zt_node_error(n, "lists %zu roots, at most %d are allowed", n->n, ZT_WORLD_MAX_ROOTS);
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		struct zt_world_root *root = &w->roots[w->n_roots];
		unsigned before = d->conf->errors;
		const struct zt_node *idn = zt_node_get(n->items[i], "identity");
		bool dup = false;

		memset(root, 0, sizeof *root);
		desc_root(d, n->items[i], root);
		if (d->conf->errors != before)
			continue;
		for (unsigned j = 0; j < w->n_roots; j++)
			if (w->roots[j].id.address == root->id.address) {
				char addr[11];

				zt_address_fmt(root->id.address, addr);
				zt_node_error(idn, "root %s is listed twice (first at line %u)",
					      addr, where[j]->line);
				dup = true;
			}
		if (!dup)
			where[w->n_roots++] = idn;
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Fill d->w and d->keypair from the description; false if anything was reported. */
static bool desc_load(struct desc *d)
{
	const struct zt_node *root = d->conf->root;
	const struct zt_node *type_n = NULL, *id_n = NULL, *ts_n = NULL, *key_n = NULL, *next_n = NULL,
			     *roots_n = NULL;
	struct zt_world *w = &d->w;
	uint8_t next[ZT_KEYPAIR_LEN];

	if (d->conf->errors)
		return false;
	if (!root) {
		zt_conf_error(d->conf, 1, 1, "the file is empty; a world description is a mapping with "
			      "type, id, signing-key and roots");
		return false;
	}
	if (root->type != ZT_NODE_MAP) {
		zt_node_error(root, "a world description is a mapping with type, id, signing-key and roots, "
			      "not %s", zt_node_type_name(root->type));
		return false;
	}
	type_n = zt_node_get(root, "type");
	id_n = zt_node_get(root, "id");
	ts_n = zt_node_get(root, "timestamp");
	key_n = zt_node_get(root, "signing-key");
	next_n = zt_node_get(root, "next-key");
	roots_n = zt_node_get(root, "roots");
	if (!type_n)
		zt_node_error(root, "missing required key 'type' (planet or moon)");
	if (!key_n)
		zt_node_error(root, "missing required key 'signing-key' (the key pair file that signs this revision)");
	if (!roots_n)
		zt_node_error(root, "missing required key 'roots' (a list of identity and endpoints)");

	if (type_n) {
		const char *s = want_scalar(type_n, "planet or moon");

		if (s && !strcmp(s, "planet"))
			w->type = ZT_WORLD_PLANET;
		else if (s && !strcmp(s, "moon"))
			w->type = ZT_WORLD_MOON;
		else if (s)
			zt_node_error(type_n, "'%s' is not planet or moon", s);
	}
	if (w->type == ZT_WORLD_PLANET && !id_n)
		zt_node_error(root, "missing required key 'id' (the planet's world id, decimal or 0x hex)");
	if (id_n)
		desc_u64(id_n, "a world id (decimal or 0x hex)", &w->id);
	if (!ts_n)
		w->ts = now_ms();
	else
		desc_u64(ts_n, "a timestamp in milliseconds since 1970", &w->ts);
	if (key_n)
		d->have_key = desc_keypair(d, key_n, d->keypair);
	if (next_n && desc_keypair(d, next_n, next)) {
		memcpy(w->update_key, next, ZT_PUB_LEN);
		sodium_memzero(next, sizeof next);
	} else if (!next_n && d->have_key) {
		memcpy(w->update_key, d->keypair, ZT_PUB_LEN);
	}
	if (roots_n)
		desc_roots(d, roots_n);
	for (size_t i = 0; i < root->n; i++) {
		static const char *const known[] = { "type", "id", "timestamp", "signing-key", "next-key", "roots" };
		const char *k = root->keys[i]->text;
		size_t j;

		for (j = 0; j < sizeof known / sizeof known[0] && strcmp(k, known[j]); j++)
			;
		if (j == sizeof known / sizeof known[0])
			zt_node_error(root->keys[i], "unknown key '%s' (a world has type, id, timestamp, "
				      "signing-key, next-key, roots)", k);
	}
	if (w->type == ZT_WORLD_MOON && !id_n && w->n_roots > 0)
		w->id = w->roots[0].id.address;
	return d->conf->errors == 0;
}

static int cmd_make(const char *desc_file, const char *out_path)
{
	uint8_t bin[ZT_WORLD_BIN_MAX];
	struct zt_world check;
	struct desc d;
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
	if (!desc_load(&d)) {
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
