/* zt-mkworld's world description (world-desc.h): every key checked and
 * every error reported at its line and column, the key pair and identity
 * files read relative to the description's directory. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include <zt/identity.h>
#include <zt/inetaddr.h>

#include "world-desc.h"

#define ID_FILE_MAX 4096      /* an identity file is at most 270 bytes */

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


/* A path from the description, relative to its directory. */
static char *desc_path(const struct world_desc *d, const char *p)
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

/* path names a regular file (a FIFO or a device would block or never
 * end); reported at n if not. */
static bool regular_file(const struct zt_node *n, const char *path, struct stat *st)
{
	if (stat(path, st) < 0)
		zt_node_error(n, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(st->st_mode))
		zt_node_error(n, "%s: not a regular file", path);
	else
		return true;
	return false;
}

/* Read a key pair file named by n; report and return false on any problem. */
static bool desc_keypair(const struct world_desc *d, const struct zt_node *n, uint8_t kp[ZT_KEYPAIR_LEN])
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
	if (regular_file(n, path, &st)) {
		if (st.st_size != ZT_KEYPAIR_LEN)
			zt_node_error(n, "%s: %lld bytes, a key pair file has %d (public 64 || private 64)",
				      path, (long long)st.st_size, ZT_KEYPAIR_LEN);
		else if ((rc = zt_keypair_read(path, kp)) < 0)
			zt_node_error(n, "%s: %s", path,
				      rc == -EINVAL ? "not a 128-byte key pair file" : strerror(-rc));
		else if (!keypair_consistent(kp))
			zt_node_error(n, "%s: the Ed25519 public key does not belong to the private key", path);
		else
			good = true;
		if (!good)
			sodium_memzero(kp, ZT_KEYPAIR_LEN);
	}
	free(path);
	return good;
}

/* The identity text in the file f (named path, for n's errors); closes f. */
static bool identity_file_read(const struct zt_node *n, const char *path, FILE *f, struct zt_identity *id)
{
	char text[ID_FILE_MAX];
	size_t len = fread(text, 1, sizeof text - 1, f);
	bool good = false;

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
	return good;
}

/* An identity text, or a file holding one (like zt-idtool). */
static bool desc_identity(const struct world_desc *d, const struct zt_node *n, struct zt_identity *id)
{
	const char *s = want_scalar(n, "an identity (address:0:public) or a file holding one");
	struct stat st;
	char *path;
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
	if (regular_file(n, path, &st)) {
		if ((f = fopen(path, "rb")))
			good = identity_file_read(n, path, f, id);
		else
			zt_node_error(n, "%s: %s", path, strerror(errno));
	}
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

/* n is a list of 1 to max items (called items, each like one); reports if not. */
static bool list_in_bounds(const struct zt_node *n, const char *items, const char *shape, const char *one,
			   size_t max)
{
	if (n->type != ZT_NODE_SEQ)
		zt_node_error(n, "must be a list of %s%s, not %s", items, shape, zt_node_type_name(n->type));
	else if (n->n == 0)
		zt_node_error(n, "must list at least one %s", one);
	else if (n->n > max)
		zt_node_error(n, "lists %zu %s, at most %zu are allowed", n->n, items, max);
	else
		return true;
	return false;
}

static void desc_endpoints(const struct zt_node *eps, struct zt_world_root *root)
{
	if (!list_in_bounds(eps, "endpoints", " like [\"198.18.0.1/9993\"]", "endpoint like 198.18.0.1/9993",
			    ZT_WORLD_MAX_ENDPOINTS))
		return;
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

static void desc_root(struct world_desc *d, const struct zt_node *n, struct zt_world_root *root)
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

static void desc_roots(struct world_desc *d, const struct zt_node *n)
{
	struct zt_world *w = &d->w;
	const struct zt_node *where[ZT_WORLD_MAX_ROOTS];

	if (!list_in_bounds(n, "roots", " (each with identity and endpoints)", "root", ZT_WORLD_MAX_ROOTS))
		return;
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

bool world_desc_load(struct world_desc *d)
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
