/* The flow rules language compiler (policies/rules/compile.c) on the
 * sources of t/rules-sources/: each NAME.rules compiles to the JSON of
 * NAME.json (checked in, written from the reference's documented meaning
 * of each construct), and each err-NAME.rules, whose first line is
 * "# expect: LINE:COL: message", is refused with exactly that message. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "compile.h"
#include "tap.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) &&
	    (buf = malloc((size_t)n + 1))) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = 0;
	}
	if (f)
		fclose(f);
	return buf;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_source(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 6 && !strcmp(d->d_name + n - 6, ".rules");
}

/* A source that must compile to the JSON beside it. */
static void check_output(const char *name, const char *src, size_t len)
{
	char path[4096];
	struct rulec_error err;
	json_error_t jerr;
	json_t *want, *got;
	char *text;

	snprintf(path, sizeof path, "%s/%.*s.json", RULES_DIR, (int)(strlen(name) - 6), name);
	want = json_load_file(path, 0, &jerr);
	got = rulec_compile(src, len, &err);
	if (!got)
		diag("%s:%u:%u: %s", name, err.line, err.col, err.what);
	if (!want)
		diag("%s: %s", path, jerr.text);
	snprintf(path, sizeof path, "%s compiles to its .json", name);
	ok(want && got && json_equal(want, got), path);
	if (want && got && !json_equal(want, got) && (text = json_dumps(got, JSON_INDENT(1)))) {
		diag("got %s", text);
		free(text);
	}
	json_decref(want);
	json_decref(got);
}

/* A source that must be refused with the message of its first line. */
static void check_error(const char *name, const char *src, size_t len)
{
	const char *expect = src + strlen("# expect: ");
	size_t elen = strcspn(expect, "\n");
	struct rulec_error err;
	char got[300], title[400];
	json_t *out;

	out = rulec_compile(src, len, &err);
	snprintf(got, sizeof got, "%u:%u: %s", err.line, err.col, err.what);
	snprintf(title, sizeof title, "%s: refused at %.*s", name, (int)strcspn(expect, " "), expect);
	ok(!out && strlen(got) == elen && !strncmp(got, expect, elen), title);
	if (out || strlen(got) != elen || strncmp(got, expect, elen))
		diag("got %s", out ? "a result" : got);
	json_decref(out);
}

int main(void)
{
	struct dirent **list;
	char path[4096];
	struct rulec_error err;
	size_t len;
	char *src;
	int n, i;

	n = scandir(RULES_DIR, &list, is_source, by_name);
	if (n <= 0)
		bail("no sources in " RULES_DIR);
	plan(n + 2);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", RULES_DIR, list[i]->d_name);
		src = slurp(path, &len);
		if (!src)
			bail("cannot read %s", path);
		if (!strncmp(list[i]->d_name, "err-", 4) && !strncmp(src, "# expect: ", 10))
			check_error(list[i]->d_name, src, len);
		else
			check_output(list[i]->d_name, src, len);
		free(src);
		free(list[i]);
	}
	free(list);
	/* what no file can hold: a NUL byte, and a source over the size limit */
	ok(!rulec_compile("accept\0;", 8, &err) && err.line == 1 && err.col == 7 &&
	   !strcmp(err.what, "unexpected control character 0x00"), "a NUL byte is refused at 1:7");
	src = calloc(1, RULEC_MAX_SOURCE + 1);
	ok(src && !rulec_compile(src, RULEC_MAX_SOURCE + 1, &err) && err.line == 0 &&
	   strstr(err.what, "longer than"), "a source over the size limit is refused");
	free(src);
	return tap_done();
}
