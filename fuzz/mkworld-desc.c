/* libFuzzer: zt-mkworld's world description (tools/world-desc.c) above the
 * YAML reader.  Any text is read as a description in a directory holding
 * the files t/mkworld-fixtures names (the test-bed key pairs and root
 * identity of t/vectors/planet-testbed.txt, a short and a mismatched key
 * pair).  A refused description says why; an accepted one signs, and the
 * world written reads back as itself and verifies with its signing key,
 * the check zt-mkworld make does before it writes. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sodium.h>

#include "../tools/world-desc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* t/vectors/planet-testbed.txt: mkworld_previous_c25519_hex (also
 * current.c25519), the moon's signingKey || signingKey_SECRET, and the
 * root's identity in both forms. */
static const char previous_key_hex[] =
	"92481f76bd6a7f8b7d3ad336c16ed8d97e1a66fc46eca3e69d9c0ec326f1002a"
	"1a88f3479c4f488a96967d7d722a157fec4dfacc7a8bfc91e6202abf80dbce6c"
	"39d7684f184764041da76d849e0ac434e44a8b37e49301544bb6ad3fb0dba932"
	"dc297db0c34687e1a9a2ce393d18f6d8e8ea44bfff729eebf674ef2d5908a5ac";
static const char moon_key_hex[] =
	"72e614a3b7c5feb51c72ffe7656fdc64e848f11dabfd65220885d1f25cabe030"
	"41c25cd30a024aac88c75df91f99c087a5f81429522b8ea8e9012567f32ed386"
	"6f4bccab2238b48cb9cfac32732c0a406a9265dae91217bec605aa396e0779b5"
	"74e0cc78cdb5ff1a43234ac118cdeca24ee053c60d3124a4fa41c70dd5ab232c";
static const char root_public[] =
	"48b374b5da:0:54390ab629f432c083402c199e29612a7a51f2f9f2becc6d22c780b5893432076d16ade48f3b"
	"34d1c084036b705a447e7b40df4f7aadf0742ce51dc142d93865";
static const char root_secret_tail[] =
	":e15049f7867416f4379dc8a999c530c0c060ff51276436dcde3da7f98352cd09fb10349c5fdb8eabaa81b2b8"
	"8420323309967aa7d5e8dbfd5f433fb804ac16cb";

static char dir[4096];

static void write_file(const char *name, const void *p, size_t len)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof path, "%s%s", dir, name);
	if (!(f = fopen(path, "wb")) || fwrite(p, 1, len, f) != len || fclose(f) != 0)
		abort();
}

static void remove_dir(void)
{
	static const char *const names[] = { "previous.c25519", "current.c25519", "moon.c25519", "short.c25519",
					     "mismatched.c25519", "root.public", "root.secret" };
	char path[4200];

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* The directory the descriptions are read in, made once. */
static void make_dir(void)
{
	uint8_t previous[ZT_KEYPAIR_LEN], moon[ZT_KEYPAIR_LEN], mismatched[ZT_KEYPAIR_LEN];
	char secret[sizeof root_public + sizeof root_secret_tail];
	const char *tmp = getenv("TMPDIR");

	if (sodium_init() < 0)
		abort();
	/* one directory per process, under $TMPDIR like the tests'; one left
	 * by a crashed run of the same pid is written over */
	snprintf(dir, sizeof dir, "%s/zt-fuzz-mkworld.%ld/", tmp && *tmp ? tmp : "/tmp", (long)getpid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		abort();
	if (sodium_hex2bin(previous, sizeof previous, previous_key_hex, sizeof previous_key_hex - 1, NULL, NULL,
			   NULL) < 0 ||
	    sodium_hex2bin(moon, sizeof moon, moon_key_hex, sizeof moon_key_hex - 1, NULL, NULL, NULL) < 0)
		abort();
	memcpy(mismatched, previous, 64);
	memcpy(mismatched + 64, moon + 64, 64);
	snprintf(secret, sizeof secret, "%s%s", root_public, root_secret_tail);
	write_file("previous.c25519", previous, sizeof previous);
	write_file("current.c25519", previous, sizeof previous);
	write_file("moon.c25519", moon, sizeof moon);
	write_file("short.c25519", previous, 100);
	write_file("mismatched.c25519", mismatched, sizeof mismatched);
	write_file("root.public", root_public, strlen(root_public));
	write_file("root.secret", secret, strlen(secret));
	atexit(remove_dir);
}

/* What zt-mkworld make checks before it writes, as a hard failure. */
static void sign_and_read_back(struct world_desc *d)
{
	uint8_t bin[ZT_WORLD_BIN_MAX];
	struct zt_world check;
	int len;

	if (!d->have_key || d->w.n_roots == 0 || (d->w.type != ZT_WORLD_PLANET && d->w.type != ZT_WORLD_MOON))
		abort();
	if (zt_world_sign(&d->w, d->keypair) < 0)
		abort();
	len = zt_world_to_bin(&d->w, bin, sizeof bin);
	if (len < 0 || zt_world_from_bin(&check, bin, (size_t)len) != len || !zt_world_verify(&check, d->keypair))
		abort();
	for (unsigned i = 0; i < check.n_roots; i++)
		if (check.roots[i].id.has_private)
			abort();   /* a world carries public identities only */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world_desc d;
	char *text;

	if (!dir[0])
		make_dir();
	if (!(text = malloc(size + 1)))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&d, 0, sizeof d);
	d.dir = dir;
	d.conf = zt_conf_parse("(fuzz)", text, true);
	free(text);
	if (!d.conf)
		return 0;
	if (world_desc_load(&d))
		sign_and_read_back(&d);
	else if (!d.conf->first_error[0])
		abort();   /* a refusal always says why */
	sodium_memzero(d.keypair, sizeof d.keypair);
	zt_conf_free(d.conf);
	return 0;
}
