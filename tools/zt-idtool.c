/* zt-idtool: make and check identities, sign and verify files; the
 * commands, output and exit codes of zerotier-idtool. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <zt/identity.h>

#define ID_FILE_MAX 4096  /* an identity file is 270 bytes */

static const char usage[] =
	"Usage: zt-idtool <command> [<args>]\n"
	"\n"
	"Commands:\n"
	"  generate [<secret-file>] [<public-file>]  generate a new identity\n"
	"  validate <identity>                       check an identity's address and proof of work\n"
	"  getpublic <identity>                      print the public form of an identity\n"
	"  sign <identity> <file>                    sign a file with a secret identity\n"
	"  verify <identity> <file> <signature>      check a file's signature\n"
	"\n"
	"An <identity> is its text form or the name of a file holding it.\n"
	"Options: -h, --help (this text), --version.\n";

/* 1.14 prints without a newline; add one only for a person to read. */
static void put_line(const char *s)
{
	fputs(s, stdout);
	if (isatty(STDOUT_FILENO))
		putchar('\n');
}

/* A whole file into a NUL-terminated heap buffer; NULL on error. */
static char *file_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 0, n = 0, got;
	char *buf = NULL, *nb;

	if (!f)
		return NULL;
	do {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			nb = cap > SIZE_MAX / 4 ? NULL : realloc(buf, cap + 1);
			if (!nb)
				goto fail;
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (ferror(f))
		goto fail;
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

/* Like 1.14: a literal if it looks like one, otherwise a file name.  The
 * file is read into one stack buffer so no stray copy of a secret stays. */
static int id_from_arg(const char *arg, struct zt_identity *id)
{
	char text[ID_FILE_MAX];
	size_t n;
	FILE *f;
	int rc = -EINVAL;

	if (strlen(arg) > 32 && arg[10] == ':')
		return zt_identity_from_text(id, arg);
	f = fopen(arg, "rb");
	if (!f)
		return -errno;
	n = fread(text, 1, sizeof text, f);
	if (!ferror(f) && n < sizeof text && memchr(text, '\0', n) == NULL) {
		text[n] = '\0';
		rc = zt_identity_from_text(id, text);
	}
	fclose(f);
	sodium_memzero(text, sizeof text);
	return rc;
}

static int id_arg(const char *arg, struct zt_identity *id)
{
	if (id_from_arg(arg, id) == 0)
		return 0;
	fprintf(stderr, "Identity argument invalid or file unreadable: %s\n", arg);
	return -1;
}

static int file_write(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t len = strlen(text), off = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) < 0)
		goto fail;
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	return close(fd);
fail:
	close(fd);
	return -1;
}

static void progress(uint64_t hashes, void *arg)
{
	fprintf(stderr, "\rzt-idtool: generating identity, %llu hashes tried",
		(unsigned long long)hashes);
	*(bool *)arg = true;
}

static int cmd_generate(int argc, char **argv)
{
	char text[ZT_ID_TEXT_MAX];
	struct zt_identity id;
	bool shown = false;
	int rc = 0;

	if (argc > 4)
		goto usage_error;
	rc = zt_identity_generate_mt(&id, 0, isatty(STDERR_FILENO) ? progress : NULL, &shown);
	if (rc < 0) {
		fprintf(stderr, "zt-idtool: cannot generate an identity: %s\n", strerror(-rc));
		return 1;
	}
	if (shown)
		fputc('\n', stderr);
	zt_identity_to_text(&id, text, true);
	if (argc < 3) {
		put_line(text);
	} else if (file_write(argv[2], text, 0600) < 0) {
		fprintf(stderr, "Error writing to %s\n", argv[2]);
		rc = 1;
	} else {
		printf("%s written\n", argv[2]);
		zt_identity_to_text(&id, text, false);
		if (argc == 4 && file_write(argv[3], text, 0644) < 0) {
			fprintf(stderr, "Error writing to %s\n", argv[3]);
			rc = 1;
		} else if (argc == 4) {
			printf("%s written\n", argv[3]);
		}
	}
	sodium_memzero(text, sizeof text);
	zt_identity_wipe(&id);
	return rc;
usage_error:
	fputs(usage, stderr);
	return 1;
}

static int cmd_validate(const char *arg)
{
	struct zt_identity id;

	if (id_arg(arg, &id) < 0)
		return 1;
	if (!zt_identity_validate(&id)) {
		fprintf(stderr, "%s FAILED validation.\n", arg);
		zt_identity_wipe(&id);
		return 1;
	}
	printf("%s is a valid identity\n", arg);
	zt_identity_wipe(&id);
	return 0;
}

static int cmd_getpublic(const char *arg)
{
	char text[ZT_ID_TEXT_MAX];
	struct zt_identity id;

	if (id_arg(arg, &id) < 0)
		return 1;
	zt_identity_to_text(&id, text, false);
	put_line(text);
	zt_identity_wipe(&id);
	return 0;
}

static int cmd_sign(const char *idarg, const char *path)
{
	uint8_t sig[ZT_SIG_LEN];
	char hex[2 * ZT_SIG_LEN + 1];
	struct zt_identity id;
	size_t len;
	char *msg;

	if (id_arg(idarg, &id) < 0)
		return 1;
	if (!id.has_private) {
		fprintf(stderr, "%s does not contain a private key (must use private to sign)\n", idarg);
		zt_identity_wipe(&id);
		return 1;
	}
	msg = file_read(path, &len);
	if (!msg) {
		fprintf(stderr, "%s is not readable\n", path);
		zt_identity_wipe(&id);
		return 1;
	}
	zt_sign(&id, msg, len, sig);
	zt_identity_wipe(&id);
	free(msg);
	sodium_bin2hex(hex, sizeof hex, sig, sizeof sig);
	put_line(hex);
	return 0;
}

static int cmd_verify(const char *idarg, const char *path, const char *sighex)
{
	uint8_t sig[ZT_SIG_LEN + 1];
	struct zt_identity id;
	size_t len, siglen = 0;
	const char *end;
	char *msg;
	bool good;

	if (id_arg(idarg, &id) < 0)
		return 1;
	msg = file_read(path, &len);
	if (!msg) {
		fprintf(stderr, "%s is not readable\n", path);
		zt_identity_wipe(&id);
		return 1;
	}
	good = sodium_hex2bin(sig, sizeof sig, sighex, strlen(sighex), NULL, &siglen, &end) == 0 &&
	       *end == '\0' && zt_sig_verify(id.pub, msg, len, sig, siglen);
	zt_identity_wipe(&id);
	free(msg);
	if (!good) {
		fprintf(stderr, "%s signature check FAILED\n", path);
		return 1;
	}
	printf("%s signature valid\n", path);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (sodium_init() < 0) {
		fprintf(stderr, "zt-idtool: libsodium failed to initialize\n");
		return 1;
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("zt-idtool %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "generate"))
		return cmd_generate(argc, argv);
	if (!strcmp(cmd, "validate") && argc == 3)
		return cmd_validate(argv[2]);
	if (!strcmp(cmd, "getpublic") && argc == 3)
		return cmd_getpublic(argv[2]);
	if (!strcmp(cmd, "sign") && argc == 4)
		return cmd_sign(argv[2], argv[3]);
	if (!strcmp(cmd, "verify") && argc == 5)
		return cmd_verify(argv[2], argv[3], argv[4]);
	fputs(usage, stderr);
	return 1;
}
