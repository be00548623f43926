/* The flow rules language compiled to the controller API's JSON
 * (compile.h).  Three steps, as the reference compiler takes them: the
 * source is cut into words and ';'; the top level is read into tag,
 * capability and macro definitions and the base rule items (so a tag or
 * macro may be used before it is defined); then the capabilities and the
 * base rules are rendered to rule objects, with the reference's field
 * names and key order. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "compile.h"

/* ---- words ---- */

struct rulec_tok {
	char *text;                 /* NULL for ';' */
	unsigned line, col;
};

/* A list of token indexes: where each rule or include of a block starts. */
struct rulec_items {
	size_t *v;
	size_t n, cap;
};

struct rulec_tag {
	char *name;
	json_t *def;                /* {"id", "default", "enums", "flags"} */
};

struct rulec_cap {
	char *name;
	uint32_t id;
	bool dflt;
	struct rulec_items items;
	size_t at;                  /* the name's token */
};

struct rulec_macro {
	char *name;
	char **params;              /* "$name", lower case */
	size_t nparams;
	struct rulec_items items;
};

/* A macro's parameters bound to an include's arguments. */
struct rulec_scope {
	char **names, **values;
	size_t n;
};

struct rulec {
	struct rulec_tok *toks;
	size_t ntoks, pos;
	unsigned end_line, end_col;
	struct rulec_error *err;
	bool failed;
	struct rulec_tag *tags;
	size_t ntags;
	struct rulec_cap *caps;
	size_t ncaps;
	struct rulec_macro *macros;
	size_t nmacros;
	struct rulec_items base;
	unsigned expansions;        /* includes expanded so far */
};

static const char *const rulec_reserved[] = {
	"macro", "tag", "cap", "default", "drop", "accept", "tee", "watch", "redirect", "break",
	"priority", "ztsrc", "ztdest", "vlan", "vlanpcp", "vlandei", "ethertype", "macsrc",
	"macdest", "ipsrc", "ipdest", "iptos", "ipprotocol", "icmp", "sport", "dport", "chr",
	"framesize", "random", "tand", "tor", "txor", "tdiff", "teq", "tseq", "treq", "type",
	"enum", "class", "define", "import", "include", "log", "not", "xor", "or", "and", "set",
	"var", "let",
};

static bool rulec_fail_at(struct rulec *c, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Record the first failure only: later ones follow from it. */
static bool rulec_fail_at(struct rulec *c, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return false;
	c->failed = true;
	c->err->line = line;
	c->err->col = col;
	va_start(ap, fmt);
	vsnprintf(c->err->what, sizeof c->err->what, fmt, ap);
	va_end(ap);
	return false;
}

static bool rulec_oom(struct rulec *c)
{
	return rulec_fail_at(c, 0, 0, "out of memory");
}

/* The token at i, or the end of input. */
static const struct rulec_tok *rulec_tok(const struct rulec *c, size_t i)
{
	return i < c->ntoks ? &c->toks[i] : NULL;
}

static unsigned rulec_line(const struct rulec *c, size_t i)
{
	return i < c->ntoks ? c->toks[i].line : c->end_line;
}

static unsigned rulec_col(const struct rulec *c, size_t i)
{
	return i < c->ntoks ? c->toks[i].col : c->end_col;
}

/* How a token reads in a message: 'word', ';' or end of input. */
static const char *rulec_shown(const struct rulec *c, size_t i, char *buf, size_t size)
{
	const struct rulec_tok *t = rulec_tok(c, i);

	if (!t)
		return "end of input";
	if (!t->text)
		return "';'";
	snprintf(buf, size, "'%.60s%s'", t->text, strlen(t->text) > 60 ? "..." : "");
	return buf;
}

/* Fail at token i: "<what>, got <token>". */
static bool rulec_expected(struct rulec *c, size_t i, const char *what)
{
	char buf[80];

	return rulec_fail_at(c, rulec_line(c, i), rulec_col(c, i), "%s, got %s", what,
			     rulec_shown(c, i, buf, sizeof buf));
}

static bool rulec_is_word(const struct rulec *c, size_t i)
{
	return i < c->ntoks && c->toks[i].text;
}

static bool rulec_lower_is(const struct rulec *c, size_t i, const char *kw)
{
	return rulec_is_word(c, i) && !strcasecmp(c->toks[i].text, kw);
}

static bool rulec_push_tok(struct rulec *c, char *text, unsigned line, unsigned col)
{
	struct rulec_tok *t;

	if (!(c->ntoks & (c->ntoks + 1)) || !c->toks) {
		t = realloc(c->toks, (c->ntoks + 1) * 2 * sizeof *t);
		if (!t) {
			free(text);
			return rulec_oom(c);
		}
		c->toks = t;
	}
	c->toks[c->ntoks++] = (struct rulec_tok){ text, line, col };
	return true;
}

static bool rulec_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v';
}

/* Cut the source into words and ';'; '#' comments to the end of the line. */
static bool rulec_lex(struct rulec *c, const char *s, size_t len)
{
	unsigned line = 1, col = 1;
	size_t i = 0, start;

	while (i < len) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\n') {
			line++, col = 1, i++;
		} else if (rulec_space((char)ch)) {
			col++, i++;
		} else if (ch == '#') {
			while (i < len && s[i] != '\n')
				i++;
		} else if (ch == ';') {
			if (!rulec_push_tok(c, NULL, line, col))
				return false;
			col++, i++;
		} else if (ch < 0x20 || ch == 0x7f) {
			return rulec_fail_at(c, line, col, "unexpected control character 0x%02x", ch);
		} else {
			char *w;

			for (start = i; i < len && !rulec_space(s[i]) && s[i] != ';' && s[i] != '#' &&
			     (unsigned char)s[i] >= 0x20 && s[i] != 0x7f; i++)
				;
			w = strndup(s + start, i - start);
			if (!w || !rulec_push_tok(c, w, line, col))
				return w ? false : rulec_oom(c);
			col += (unsigned)(i - start);
		}
	}
	c->end_line = line;
	c->end_col = col;
	return true;
}

/* ---- small parsers ---- */

static void rulec_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* A whole decimal or 0x-hex integer, with an optional '-'. */
static bool rulec_int(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	uint64_t v = 0;
	unsigned base = 10;
	int d;

	if (neg)
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2])
		s += 2, base = 16;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (isdigit((unsigned char)*s))
			d = *s - '0';
		else if (base == 16 && isxdigit((unsigned char)*s))
			d = tolower((unsigned char)*s) - 'a' + 10;
		else
			return false;
		v = v * base + (unsigned)d;
		if (v > 0xffffffffffULL)
			return false;
	}
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

static bool rulec_uint(const char *s, int64_t max, int64_t *out)
{
	return rulec_int(s, out) && *out >= 0 && *out <= max;
}

/* "start" or "start-end" within 0..max, start <= end. */
static bool rulec_range(const char *s, int64_t max, int64_t *lo, int64_t *hi)
{
	const char *dash = strchr(s, '-');
	char first[24];

	if (!dash || dash == s) {
		if (!rulec_uint(s, max, lo))
			return false;
		*hi = *lo;
		return true;
	}
	if ((size_t)(dash - s) >= sizeof first)
		return false;
	memcpy(first, s, (size_t)(dash - s));
	first[dash - s] = 0;
	return rulec_uint(first, max, lo) && rulec_uint(dash + 1, max, hi) && *lo <= *hi;
}

/* Exactly n hex digits, lower-cased into out (n + 1 bytes); with
 * separators, any non-hex character between them is skipped. */
static bool rulec_hex(const char *s, unsigned n, bool separators, char *out)
{
	unsigned k = 0;

	for (; *s; s++) {
		if (!isxdigit((unsigned char)*s)) {
			if (!separators)
				return false;
			continue;
		}
		if (k == n)
			return false;
		out[k++] = (char)tolower((unsigned char)*s);
	}
	out[k] = 0;
	return k == n;
}

/* Tag, capability, macro, enum and flag names: letters (any non-ASCII
 * byte counts as one), digits and '_', not starting with a digit. */
static bool rulec_valid_name(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && (unsigned char)*s < 0x80)
			return false;
	return true;
}

static bool rulec_is_reserved(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof rulec_reserved / sizeof rulec_reserved[0]; i++)
		if (!strcasecmp(s, rulec_reserved[i]))
			return true;
	return false;
}

static bool rulec_items_add(struct rulec *c, struct rulec_items *l, size_t at)
{
	size_t *v;

	if (l->n == l->cap) {
		v = realloc(l->v, (l->cap ? l->cap * 2 : 8) * sizeof *v);
		if (!v)
			return rulec_oom(c);
		l->v = v;
		l->cap = l->cap ? l->cap * 2 : 8;
	}
	l->v[l->n++] = at;
	return true;
}

/* A name( args ) call or macro head: the words from pos joined until one
 * holds ')', when the first opens '('; pos is left after them. */
static char *rulec_call_text(struct rulec *c, size_t *pos)
{
	size_t i = *pos, len = 0;
	char *s;

	if (!strchr(c->toks[i].text, '(')) {
		*pos = i + 1;
		return strdup(c->toks[i].text);
	}
	while (rulec_is_word(c, i) && !strchr(c->toks[i].text, ')'))
		len += strlen(c->toks[i++].text);
	if (!rulec_is_word(c, i)) {
		rulec_expected(c, i, "expected ')' closing the parameter list");
		return NULL;
	}
	len += strlen(c->toks[i].text);
	s = malloc(len + 1);
	if (!s) {
		rulec_oom(c);
		return NULL;
	}
	*s = 0;
	for (; *pos <= i; (*pos)++)
		strcat(s, c->toks[*pos].text);
	return s;
}

/* Split "name(a,b)" in place: the name, and up to max non-empty arguments
 * (-1 when more, or text after the ')'). */
static ssize_t rulec_call_split(char *s, char **args, size_t max)
{
	char *open = strchr(s, '('), *close, *a, *save = NULL;
	size_t n = 0;

	if (!open)
		return 0;
	close = strchr(open, ')');
	if (!close || close[1])
		return -1;
	*open = *close = 0;
	for (a = strtok_r(open + 1, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return -1;
		args[n++] = a;
	}
	return (ssize_t)n;
}

/* ---- the top level: definitions and rule items ---- */

static bool rulec_is_action(const char *w)
{
	static const char *const actions[] = { "drop", "accept", "break", "tee", "watch", "redirect" };
	size_t i;

	for (i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (!strcasecmp(w, actions[i]))
			return true;
	return false;
}

/* One rule (an action to its ';') or include; its start joins l. */
static bool rulec_scan_item(struct rulec *c, struct rulec_items *l)
{
	size_t start = c->pos;
	char *call;

	if (rulec_lower_is(c, start, "include")) {
		c->pos++;
		if (!rulec_is_word(c, c->pos))
			return rulec_expected(c, c->pos, "include: expected a macro name");
		if (!(call = rulec_call_text(c, &c->pos)))
			return false;
		free(call);
		return rulec_items_add(c, l, start);
	}
	if (!rulec_is_word(c, start) || !rulec_is_action(c->toks[start].text))
		return rulec_expected(c, start, "expected an action (drop, accept, break, tee, watch, "
				      "redirect), include, tag, cap or macro");
	while (rulec_is_word(c, ++c->pos))
		;
	if (c->pos >= c->ntoks)
		return rulec_fail_at(c, c->end_line, c->end_col,
				     "expected ';' ending the rule begun at %u:%u, got end of input",
				     c->toks[start].line, c->toks[start].col);
	c->pos++;
	return rulec_items_add(c, l, start);
}

/* A definition's name: valid, not reserved, lower-cased. */
static char *rulec_def_name(struct rulec *c, const char *kind, const char *text, size_t at)
{
	char *name;

	if (!rulec_valid_name(text) || rulec_is_reserved(text)) {
		rulec_fail_at(c, rulec_line(c, at), rulec_col(c, at), "%s: expected a name (letters, "
			      "digits and '_', not a digit first, not a keyword), got '%.60s'", kind, text);
		return NULL;
	}
	if (!(name = strdup(text)))
		rulec_oom(c);
	else
		rulec_lower(name);
	return name;
}

static bool rulec_id(struct rulec *c, const char *kind, size_t at, int64_t *id)
{
	char what[80];

	snprintf(what, sizeof what, "%s: expected a number from 0 to 4294967295", kind);
	if (!rulec_is_word(c, at) || !rulec_uint(c->toks[at].text, UINT32_MAX, id))
		return rulec_expected(c, at, what);
	return true;
}

static struct rulec_tag *rulec_find_tag(const struct rulec *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ntags; i++)
		if (!strcasecmp(c->tags[i].name, name))
			return &c->tags[i];
	return NULL;
}

/* flag's bits: indexes 0..31 and names of flags defined before, by ','. */
static bool rulec_flag_bits(struct rulec *c, const json_t *flags, size_t at, int64_t *mask)
{
	char *s = strdup(c->toks[at].text), *b, *save = NULL;
	const json_t *known;
	int64_t bit;

	if (!s)
		return rulec_oom(c);
	*mask = 0;
	for (b = strtok_r(s, ",", &save); b; b = strtok_r(NULL, ",", &save)) {
		rulec_lower(b);
		if ((known = json_object_get(flags, b)))
			*mask |= json_integer_value(known);
		else if (rulec_uint(b, 31, &bit))
			*mask |= (int64_t)1 << bit;
		else
			break;
	}
	free(s);
	if (b || !*mask)
		return rulec_expected(c, at, "flag: expected bit indexes 0 to 31 or flag names, by ','");
	return true;
}

/* enum VALUE NAME or flag BITS NAME, into the tag's enums or flags. */
static bool rulec_tag_value(struct rulec *c, json_t *def, bool is_flag)
{
	const char *kind = is_flag ? "flag" : "enum";
	json_t *set = json_object_get(def, is_flag ? "flags" : "enums");
	size_t at = c->pos + 1;
	int64_t v;
	char *name, what[80];

	if (is_flag && !rulec_is_word(c, at))
		return rulec_expected(c, at, "flag: expected bit indexes 0 to 31");
	if (is_flag ? !rulec_flag_bits(c, set, at, &v) : !rulec_id(c, kind, at, &v))
		return false;
	snprintf(what, sizeof what, "%s: expected a name after the value", kind);
	if (!rulec_is_word(c, at + 1))
		return rulec_expected(c, at + 1, what);
	if (!rulec_valid_name(c->toks[at + 1].text)) {
		snprintf(what, sizeof what, "%s: expected a name (letters, digits and '_')", kind);
		return rulec_expected(c, at + 1, what);
	}
	if (!(name = strdup(c->toks[at + 1].text)))
		return rulec_oom(c);
	rulec_lower(name);
	if (json_object_get(set, name)) {
		free(name);
		return rulec_fail_at(c, rulec_line(c, at + 1), rulec_col(c, at + 1),
				     "%s: '%s' is defined twice in this tag", kind, c->toks[at + 1].text);
	}
	json_object_set_new(set, name, json_integer(v));
	free(name);
	c->pos = at + 2;
	return true;
}

/* default: an enum or flag name of the tag, or a number. */
static bool rulec_tag_default(struct rulec *c, json_t *def, size_t at)
{
	const char *text = c->toks[at].text;
	const json_t *v = NULL;
	char *low = strdup(text);
	int64_t n;

	if (!low)
		return rulec_oom(c);
	rulec_lower(low);
	if (!(v = json_object_get(json_object_get(def, "enums"), low)))
		v = json_object_get(json_object_get(def, "flags"), low);
	free(low);
	if (v)
		n = json_integer_value(v);
	else if (!rulec_uint(text, UINT32_MAX, &n))
		return rulec_expected(c, at, "default: expected an enum or flag name of this tag or "
				      "a number from 0 to 4294967295");
	json_object_set_new(def, "default", json_integer(n));
	return true;
}

static bool rulec_dup_id(struct rulec *c, const char *kind, int64_t id, size_t at)
{
	size_t i;

	for (i = 0; i < c->ntags && !strcmp(kind, "tag"); i++)
		if (json_is_integer(json_object_get(c->tags[i].def, "id")) &&
		    json_integer_value(json_object_get(c->tags[i].def, "id")) == id)
			goto dup;
	for (i = 0; i < c->ncaps && !strcmp(kind, "cap"); i++)
		if (c->caps[i].id == id)
			goto dup;
	return false;
dup:
	rulec_fail_at(c, rulec_line(c, at), rulec_col(c, at), "%s: id %" PRId64 " is already used",
		      kind, id);
	return true;
}

/* Inside a block begun at token begun: true while a word is next, false
 * at its ';' (left on it) or, failing, at the end of input. */
static bool rulec_block_more(struct rulec *c, const char *kind, size_t begun)
{
	if (c->failed)
		return false;
	if (c->pos >= c->ntoks)
		return rulec_fail_at(c, c->end_line, c->end_col, "expected ';' ending the %s begun at "
				     "%u:%u, got end of input", kind, c->toks[begun].line, c->toks[begun].col);
	return c->toks[c->pos].text != NULL;
}

/* tag NAME { id N | default V | enum V NAME | flag BITS NAME } ; */
static bool rulec_tag_body(struct rulec *c, json_t *def, size_t name_at, size_t *dflt_at)
{
	int64_t id;

	while (rulec_block_more(c, "tag", name_at)) {
		if (rulec_lower_is(c, c->pos, "id")) {
			if (json_is_integer(json_object_get(def, "id")))
				return rulec_expected(c, c->pos, "tag: expected one id");
			if (!rulec_id(c, "id", c->pos + 1, &id) || rulec_dup_id(c, "tag", id, c->pos + 1))
				return false;
			json_object_set_new(def, "id", json_integer(id));
			c->pos += 2;
		} else if (rulec_lower_is(c, c->pos, "default")) {
			if (*dflt_at)
				return rulec_expected(c, c->pos, "tag: expected one default");
			if (!rulec_is_word(c, c->pos + 1))
				return rulec_expected(c, c->pos + 1, "default: expected a value");
			*dflt_at = c->pos + 1;
			c->pos += 2;
		} else if (rulec_lower_is(c, c->pos, "enum") || rulec_lower_is(c, c->pos, "flag")) {
			if (!rulec_tag_value(c, def, rulec_lower_is(c, c->pos, "flag")))
				return false;
		} else {
			return rulec_expected(c, c->pos, "tag: expected id, default, enum, flag or ';'");
		}
	}
	if (c->failed)
		return false;
	c->pos++;
	if (!json_is_integer(json_object_get(def, "id")))
		return rulec_fail_at(c, rulec_line(c, name_at), rulec_col(c, name_at),
				     "tag '%s' has no id", c->toks[name_at].text);
	return true;
}

static bool rulec_tag(struct rulec *c)
{
	size_t name_at = ++c->pos, dflt_at = 0;
	struct rulec_tag *t;
	json_t *def;
	char *name;

	if (!rulec_is_word(c, name_at))
		return rulec_expected(c, name_at, "tag: expected a name");
	if (!(name = rulec_def_name(c, "tag", c->toks[name_at].text, name_at)))
		return false;
	if (rulec_find_tag(c, name) || c->ntags == RULEC_MAX_TAGS) {
		free(name);
		return c->ntags == RULEC_MAX_TAGS ?
		       rulec_fail_at(c, rulec_line(c, name_at), rulec_col(c, name_at), "tag: more than "
				     "%u tags", RULEC_MAX_TAGS) :
		       rulec_expected(c, name_at, "tag: expected a name not defined before");
	}
	def = json_pack("{s:n, s:n, s:{}, s:{}}", "id", "default", "enums", "flags");
	t = realloc(c->tags, (c->ntags + 1) * sizeof *t);
	if (!def || !t) {
		free(name);
		json_decref(def);
		return rulec_oom(c);
	}
	c->tags = t;
	c->tags[c->ntags++] = (struct rulec_tag){ name, def };
	c->pos++;
	if (!rulec_tag_body(c, def, name_at, &dflt_at))
		return false;
	return !dflt_at || rulec_tag_default(c, def, dflt_at);
}

/* cap NAME { id N | default | rule | include } ; */
static bool rulec_cap(struct rulec *c)
{
	size_t name_at = ++c->pos, i;
	struct rulec_cap *cap;
	bool has_id = false;
	int64_t id;
	char *name;

	if (!rulec_is_word(c, name_at))
		return rulec_expected(c, name_at, "cap: expected a name");
	if (!(name = rulec_def_name(c, "cap", c->toks[name_at].text, name_at)))
		return false;
	if (c->ncaps == RULEC_MAX_CAPS) {
		free(name);
		return rulec_fail_at(c, rulec_line(c, name_at), rulec_col(c, name_at),
				     "cap: more than %u capabilities", RULEC_MAX_CAPS);
	}
	for (i = 0; i < c->ncaps && strcmp(c->caps[i].name, name); i++)
		;
	if (i < c->ncaps || !(cap = realloc(c->caps, (c->ncaps + 1) * sizeof *cap))) {
		free(name);
		return i < c->ncaps ? rulec_expected(c, name_at, "cap: expected a name not defined before") :
		       rulec_oom(c);
	}
	c->caps = cap;
	cap = &c->caps[c->ncaps++];
	*cap = (struct rulec_cap){ .name = name, .at = name_at };
	for (c->pos++; rulec_block_more(c, "capability", name_at);) {
		if (rulec_lower_is(c, c->pos, "id")) {
			if (has_id)
				return rulec_expected(c, c->pos, "cap: expected one id");
			if (!rulec_id(c, "id", c->pos + 1, &id) || rulec_dup_id(c, "cap", id, c->pos + 1))
				return false;
			cap->id = (uint32_t)id;
			has_id = true;
			c->pos += 2;
		} else if (rulec_lower_is(c, c->pos, "default")) {
			cap->dflt = true;
			c->pos++;
		} else {
			rulec_scan_item(c, &cap->items);
		}
	}
	if (c->failed)
		return false;
	c->pos++;
	if (!has_id)
		return rulec_fail_at(c, rulec_line(c, name_at), rulec_col(c, name_at),
				     "capability '%s' has no id", c->toks[name_at].text);
	return true;
}

/* macro NAME[($a,$b)] { rule | include } ; */
static bool rulec_macro_head(struct rulec *c, struct rulec_macro *m, size_t at)
{
	char *head = rulec_call_text(c, &c->pos), *args[32];
	ssize_t n, i;

	if (!head)
		return false;
	rulec_lower(head);
	n = rulec_call_split(head, args, 32);
	for (i = 0; i < n && args[i][0] == '$' && rulec_valid_name(args[i] + 1); i++)
		;
	if (n < 0 || i < n) {
		free(head);
		return rulec_expected(c, at, "macro: expected name($parameter,...), each parameter a $name");
	}
	m->name = rulec_def_name(c, "macro", head, at);
	m->params = n ? calloc((size_t)n, sizeof *m->params) : NULL;
	for (i = 0; i < n && m->params; i++)
		if (!(m->params[m->nparams++] = strdup(args[i])))
			break;
	free(head);
	if (!m->name)
		return false;
	if (n && (!m->params || i < n))
		return rulec_oom(c);
	for (i = 0; i < (ssize_t)c->nmacros - 1; i++)
		if (!strcmp(c->macros[i].name, m->name))
			return rulec_expected(c, at, "macro: expected a name not defined before");
	return true;
}

static bool rulec_macro(struct rulec *c)
{
	size_t at = ++c->pos;
	struct rulec_macro *m;

	if (!rulec_is_word(c, at))
		return rulec_expected(c, at, "macro: expected a name");
	if (c->nmacros == RULEC_MAX_MACROS)
		return rulec_fail_at(c, rulec_line(c, at), rulec_col(c, at), "macro: more than %u macros",
				     RULEC_MAX_MACROS);
	if (!(m = realloc(c->macros, (c->nmacros + 1) * sizeof *m)))
		return rulec_oom(c);
	c->macros = m;
	m = &c->macros[c->nmacros++];
	*m = (struct rulec_macro){ 0 };
	if (!rulec_macro_head(c, m, at))
		return false;
	while (rulec_block_more(c, "macro", at))
		rulec_scan_item(c, &m->items);
	c->pos++;
	return !c->failed;
}

/* The whole source: definitions, base rule items and stray ';'. */
static bool rulec_top(struct rulec *c)
{
	while (c->pos < c->ntoks && !c->failed) {
		if (!c->toks[c->pos].text)
			c->pos++;
		else if (rulec_lower_is(c, c->pos, "tag"))
			rulec_tag(c);
		else if (rulec_lower_is(c, c->pos, "cap"))
			rulec_cap(c);
		else if (rulec_lower_is(c, c->pos, "macro"))
			rulec_macro(c);
		else
			rulec_scan_item(c, &c->base);
	}
	return !c->failed;
}

/* ---- rendering rules ---- */

enum rulec_kind { RK_ZT, RK_NUM, RK_MAC, RK_IP, RK_TOS, RK_ICMP, RK_RANGE, RK_CHR, RK_RANDOM, RK_TAG };

struct rulec_match {
	const char *kw, *type;
	enum rulec_kind kind;
	const char *field;          /* RK_NUM's key */
	int64_t max;                /* RK_NUM's and RK_RANGE's largest value */
	const char *expect;         /* what the (first) argument is */
};

static const struct rulec_match rulec_matches[] = {
	{ "ztsrc", "MATCH_SOURCE_ZEROTIER_ADDRESS", RK_ZT, NULL, 0, "a ZeroTier address (10 hex digits)" },
	{ "ztdest", "MATCH_DEST_ZEROTIER_ADDRESS", RK_ZT, NULL, 0, "a ZeroTier address (10 hex digits)" },
	{ "vlan", "MATCH_VLAN_ID", RK_NUM, "vlanId", 4095, "a VLAN ID from 0 to 4095" },
	{ "vlanpcp", "MATCH_VLAN_PCP", RK_NUM, "vlanPcp", 7, "a VLAN PCP from 0 to 7" },
	{ "vlandei", "MATCH_VLAN_DEI", RK_NUM, "vlanDei", 1, "a VLAN DEI, 0 or 1" },
	{ "ethertype", "MATCH_ETHERTYPE", RK_NUM, "etherType", 0xffff,
	  "an ethertype from 0 to 0xffff or a name (ipv4, arp, wol, rarp, ipv6, atalk, aarp, ipx_a, ipx_b)" },
	{ "macsrc", "MATCH_MAC_SOURCE", RK_MAC, NULL, 0, "a MAC address (12 hex digits)" },
	{ "macdest", "MATCH_MAC_DEST", RK_MAC, NULL, 0, "a MAC address (12 hex digits)" },
	{ "ipsrc", "SOURCE", RK_IP, NULL, 0, "an IPv4 or IPv6 address/prefix length" },
	{ "ipdest", "DEST", RK_IP, NULL, 0, "an IPv4 or IPv6 address/prefix length" },
	{ "iptos", "MATCH_IP_TOS", RK_TOS, NULL, 0xff, "a mask from 0 to 255" },
	{ "ipprotocol", "MATCH_IP_PROTOCOL", RK_NUM, "ipProtocol", 0xff,
	  "an IP protocol from 0 to 255 or a name (icmp, igmp, ipip, tcp, egp, igp, udp, rdp, esp, ah, "
	  "icmp6, l2tp, sctp, udplite)" },
	{ "icmp", "MATCH_ICMP", RK_ICMP, NULL, 0xff, "an ICMP type from 0 to 255" },
	{ "sport", "MATCH_IP_SOURCE_PORT_RANGE", RK_RANGE, NULL, 0xffff, "a port or range from 0 to 65535" },
	{ "dport", "MATCH_IP_DEST_PORT_RANGE", RK_RANGE, NULL, 0xffff, "a port or range from 0 to 65535" },
	{ "chr", "MATCH_CHARACTERISTICS", RK_CHR, NULL, 0,
	  "characteristic names or bit indexes 0 to 63, by ','" },
	{ "framesize", "MATCH_FRAME_SIZE_RANGE", RK_RANGE, NULL, 0xffff,
	  "a frame size or range from 0 to 65535" },
	{ "random", "MATCH_RANDOM", RK_RANDOM, NULL, 0, "a probability from 0.0 to 1.0" },
	{ "tand", "MATCH_TAGS_BITWISE_AND", RK_TAG, NULL, 0, "a tag name or id" },
	{ "tor", "MATCH_TAGS_BITWISE_OR", RK_TAG, NULL, 0, "a tag name or id" },
	{ "txor", "MATCH_TAGS_BITWISE_XOR", RK_TAG, NULL, 0, "a tag name or id" },
	{ "tdiff", "MATCH_TAGS_DIFFERENCE", RK_TAG, NULL, 0, "a tag name or id" },
	{ "teq", "MATCH_TAGS_EQUAL", RK_TAG, NULL, 0, "a tag name or id" },
	{ "tseq", "MATCH_TAG_SENDER", RK_TAG, NULL, 0, "a tag name or id" },
	{ "treq", "MATCH_TAG_RECEIVER", RK_TAG, NULL, 0, "a tag name or id" },
};

struct rulec_name { const char *name; int64_t value; };

static const struct rulec_name rulec_ethertypes[] = {
	{ "ipv4", 0x0800 }, { "arp", 0x0806 }, { "wol", 0x0842 }, { "rarp", 0x8035 },
	{ "ipv6", 0x86dd }, { "atalk", 0x809b }, { "aarp", 0x80f3 }, { "ipx_a", 0x8137 },
	{ "ipx_b", 0x8138 }, { NULL, 0 },
};

static const struct rulec_name rulec_protocols[] = {
	{ "icmp", 0x01 }, { "icmp4", 0x01 }, { "icmpv4", 0x01 }, { "igmp", 0x02 }, { "ipip", 0x04 },
	{ "tcp", 0x06 }, { "egp", 0x08 }, { "igp", 0x09 }, { "udp", 0x11 }, { "rdp", 0x1b },
	{ "esp", 0x32 }, { "ah", 0x33 }, { "icmp6", 0x3a }, { "icmpv6", 0x3a }, { "l2tp", 0x73 },
	{ "sctp", 0x84 }, { "udplite", 0x88 }, { NULL, 0 },
};

/* Bit indexes of the characteristics, 0 the least significant. */
static const struct rulec_name rulec_chr_bits[] = {
	{ "inbound", 63 }, { "multicast", 62 }, { "broadcast", 61 }, { "ipauth", 60 },
	{ "macauth", 59 }, { "tcp_fin", 0 }, { "tcp_syn", 1 }, { "tcp_rst", 2 }, { "tcp_psh", 3 },
	{ "tcp_ack", 4 }, { "tcp_urg", 5 }, { "tcp_ece", 6 }, { "tcp_cwr", 7 }, { "tcp_ns", 8 },
	{ "tcp_rs2", 9 }, { "tcp_rs1", 10 }, { "tcp_rs0", 11 }, { NULL, 0 },
};

static bool rulec_named(const struct rulec_name *names, const char *s, int64_t *out)
{
	for (; names && names->name; names++)
		if (!strcasecmp(names->name, s)) {
			*out = names->value;
			return true;
		}
	return false;
}

/* An argument: a word at i, a macro parameter replaced by its value. */
struct rulec_arg {
	const char *text;
	size_t at;
};

static bool rulec_arg(struct rulec *c, const struct rulec_scope *sc, size_t i, const char *what,
		      struct rulec_arg *a)
{
	size_t k;

	/* a keyword may be a value ("ipprotocol icmp"); one that is not is
	 * refused by the match's own check, naming what was expected */
	if (!rulec_is_word(c, i))
		return rulec_expected(c, i, what);
	a->at = i;
	a->text = c->toks[i].text;
	if (a->text[0] != '$')
		return true;
	for (k = 0; sc && k < sc->n; k++)
		if (!strcasecmp(sc->names[k], a->text)) {
			a->text = sc->values[k];
			return true;
		}
	return rulec_fail_at(c, c->toks[i].line, c->toks[i].col, sc ? "'%s' is not a parameter of "
			     "the macro" : "'%s': parameters are only known in a macro", a->text);
}

static bool rulec_bad(struct rulec *c, const struct rulec_match *m, const struct rulec_arg *a,
		      const char *what)
{
	return rulec_fail_at(c, c->toks[a->at].line, c->toks[a->at].col, "%s: expected %s, got '%.60s'",
			     m->kw, what, a->text);
}

static bool rulec_ip(struct rulec *c, const struct rulec_match *m, json_t *o, const struct rulec_arg *a)
{
	char addr[INET6_ADDRSTRLEN + 1], type[32];
	const char *slash = strchr(a->text, '/');
	unsigned char bin[16];
	int64_t bits;
	bool v6;

	if (!slash || slash == a->text || (size_t)(slash - a->text) >= sizeof addr)
		return rulec_bad(c, m, a, m->expect);
	memcpy(addr, a->text, (size_t)(slash - a->text));
	addr[slash - a->text] = 0;
	v6 = strchr(addr, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, bin) != 1 || !rulec_uint(slash + 1, v6 ? 128 : 32, &bits))
		return rulec_bad(c, m, a, m->expect);
	snprintf(type, sizeof type, "MATCH_IPV%c_%s", v6 ? '6' : '4', m->type);
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "ip", json_string(a->text));
	return true;
}

static bool rulec_chr(struct rulec *c, const struct rulec_match *m, json_t *o, const struct rulec_arg *a)
{
	char *s = strdup(a->text), *b, *save = NULL, hex[17];
	uint64_t mask = 0;
	int64_t bit;

	if (!s)
		return rulec_oom(c);
	for (b = strtok_r(s, ",", &save); b; b = strtok_r(NULL, ",", &save)) {
		if (!rulec_named(rulec_chr_bits, b, &bit) && !rulec_uint(b, 63, &bit))
			break;
		mask |= 1ULL << bit;
	}
	free(s);
	if (b || !mask)
		return rulec_bad(c, m, a, m->expect);
	snprintf(hex, sizeof hex, "%016" PRIx64, mask);
	json_object_set_new(o, "mask", json_string(hex));
	return true;
}

/* A tag match: the tag by name (its value may then be one of its enum or
 * flag names) or by number, and a value. */
static bool rulec_tag_match(struct rulec *c, const struct rulec_match *m, json_t *o,
			    const struct rulec_arg *a)
{
	const struct rulec_tag *t = rulec_find_tag(c, a[0].text);
	const json_t *named = NULL;
	int64_t id, value;
	char *low;

	if (t)
		id = json_integer_value(json_object_get(t->def, "id"));
	else if (!rulec_uint(a[0].text, UINT32_MAX, &id))
		return rulec_bad(c, m, &a[0], "a tag name or id from 0 to 4294967295");
	if (t) {
		if (!(low = strdup(a[1].text)))
			return rulec_oom(c);
		rulec_lower(low);
		if (!(named = json_object_get(json_object_get(t->def, "flags"), low)))
			named = json_object_get(json_object_get(t->def, "enums"), low);
		free(low);
	}
	if (named)
		value = json_integer_value(named);
	else if (!rulec_uint(a[1].text, UINT32_MAX, &value))
		return rulec_bad(c, m, &a[1], t ? "an enum or flag name of the tag or a value from 0 to "
				 "4294967295" : "a value from 0 to 4294967295");
	json_object_set_new(o, "id", json_integer(id));
	json_object_set_new(o, "value", json_integer(value));
	return true;
}

static bool rulec_tos(struct rulec *c, const struct rulec_match *m, json_t *o, const struct rulec_arg *a)
{
	int64_t mask, lo, hi;

	if (!rulec_uint(a[0].text, 0xff, &mask))
		return rulec_bad(c, m, &a[0], m->expect);
	if (!rulec_range(a[1].text, 0xff, &lo, &hi))
		return rulec_bad(c, m, &a[1], "a value or range from 0 to 255");
	json_object_set_new(o, "mask", json_integer(mask));
	json_object_set_new(o, "start", json_integer(lo));
	json_object_set_new(o, "end", json_integer(hi));
	return true;
}

static bool rulec_icmp(struct rulec *c, const struct rulec_match *m, json_t *o, const struct rulec_arg *a)
{
	int64_t type, code;

	if (!rulec_uint(a[0].text, 0xff, &type))
		return rulec_bad(c, m, &a[0], m->expect);
	if (!rulec_int(a[1].text, &code) || code < -1 || code > 0xff)
		return rulec_bad(c, m, &a[1], "an ICMP code from 0 to 255, or -1 for any");
	json_object_set_new(o, "icmpType", json_integer(type));
	json_object_set_new(o, "icmpCode", code < 0 ? json_null() : json_integer(code));
	return true;
}

static bool rulec_simple(struct rulec *c, const struct rulec_match *m, json_t *o,
			 const struct rulec_arg *a)
{
	char hex[13], mac[18];
	int64_t v, hi;
	double p;
	char *end;

	switch (m->kind) {
	case RK_ZT:
		if (!rulec_hex(a->text, 10, false, hex))
			return rulec_bad(c, m, a, m->expect);
		json_object_set_new(o, "zt", json_string(hex));
		return true;
	case RK_NUM:
		if (!rulec_named(!strcmp(m->kw, "ethertype") ? rulec_ethertypes :
				 !strcmp(m->kw, "ipprotocol") ? rulec_protocols : NULL, a->text, &v) &&
		    !rulec_uint(a->text, m->max, &v))
			return rulec_bad(c, m, a, m->expect);
		json_object_set_new(o, m->field, json_integer(v));
		return true;
	case RK_MAC:
		if (!rulec_hex(a->text, 12, true, hex))
			return rulec_bad(c, m, a, m->expect);
		snprintf(mac, sizeof mac, "%.2s:%.2s:%.2s:%.2s:%.2s:%.2s", hex, hex + 2, hex + 4,
			 hex + 6, hex + 8, hex + 10);
		json_object_set_new(o, "mac", json_string(mac));
		return true;
	case RK_RANGE:
		if (!rulec_range(a->text, m->max, &v, &hi))
			return rulec_bad(c, m, a, m->expect);
		json_object_set_new(o, "start", json_integer(v));
		json_object_set_new(o, "end", json_integer(hi));
		return true;
	case RK_RANDOM:
		errno = 0;
		p = strtod(a->text, &end);
		if (*end || end == a->text || errno || !(p >= 0.0 && p <= 1.0))
			return rulec_bad(c, m, a, m->expect);
		json_object_set_new(o, "probability", json_integer((json_int_t)(4294967295.0 * p)));
		return true;
	default:
		return false;
	}
}

/* One match from i, with its arguments; i is left after them. */
static bool rulec_match(struct rulec *c, const struct rulec_scope *sc, size_t *i, bool not_, bool or_,
			json_t *out)
{
	const struct rulec_match *m = NULL;
	struct rulec_arg a[2];
	unsigned nargs;
	size_t k;
	json_t *o;
	bool ok;

	for (k = 0; k < sizeof rulec_matches / sizeof rulec_matches[0]; k++)
		if (!strcasecmp(rulec_matches[k].kw, c->toks[*i].text))
			m = &rulec_matches[k];
	if (!m)
		return rulec_expected(c, *i, "expected a match (ztsrc, ztdest, vlan, vlanpcp, vlandei, "
				      "ethertype, macsrc, macdest, ipsrc, ipdest, iptos, ipprotocol, icmp, "
				      "sport, dport, chr, framesize, random, tand, tor, txor, tdiff, teq, "
				      "tseq, treq), and, or, not or ';'");
	nargs = m->kind == RK_TOS || m->kind == RK_ICMP || m->kind == RK_TAG ? 2 : 1;
	for (k = 0; k < nargs; k++) {
		char what[200];

		snprintf(what, sizeof what, "%s: expected %s", m->kw, k ? "a second argument" : m->expect);
		if (!rulec_arg(c, sc, *i + 1 + k, what, &a[k]))
			return false;
	}
	*i += 1 + nargs;
	o = json_pack("{s:s, s:b, s:b}", "type", m->type, "not", not_, "or", or_);
	if (!o)
		return rulec_oom(c);
	ok = m->kind == RK_IP ? rulec_ip(c, m, o, a) : m->kind == RK_CHR ? rulec_chr(c, m, o, a) :
	     m->kind == RK_TAG ? rulec_tag_match(c, m, o, a) : m->kind == RK_TOS ? rulec_tos(c, m, o, a) :
	     m->kind == RK_ICMP ? rulec_icmp(c, m, o, a) : rulec_simple(c, m, o, a);
	if (!ok) {
		json_decref(o);
		return false;
	}
	return json_array_append_new(out, o) < 0 ? rulec_oom(c) : true;
}

/* Matches from i to the rule's ';': [and|or] [not] match args ... */
static bool rulec_matches_to_end(struct rulec *c, const struct rulec_scope *sc, size_t i, json_t *out)
{
	bool not_ = false, or_ = false, joined = false;

	while (c->toks[i].text) {
		if (!joined && (rulec_lower_is(c, i, "and") || rulec_lower_is(c, i, "or"))) {
			or_ = rulec_lower_is(c, i, "or");
			joined = true;
			i++;
		} else if (!not_ && rulec_lower_is(c, i, "not")) {
			not_ = true;
			i++;
		} else if (json_array_size(out) >= RULEC_MAX_RULES) {
			return rulec_fail_at(c, c->toks[i].line, c->toks[i].col, "more than %u rule entries",
					     RULEC_MAX_RULES);
		} else if (!rulec_match(c, sc, &i, not_, or_, out)) {
			return false;
		} else {
			not_ = or_ = joined = false;
		}
	}
	if (not_ || joined)
		return rulec_expected(c, i, "expected a match");
	return true;
}

/* tee/watch LENGTH ADDRESS and redirect ADDRESS: the action object,
 * *i left on the first match. */
static json_t *rulec_action(struct rulec *c, const struct rulec_scope *sc, size_t *i)
{
	const char *kw = c->toks[*i].text;
	bool tee = !strcasecmp(kw, "tee") || !strcasecmp(kw, "watch");
	char type[24], hex[11], what[120];
	struct rulec_arg len, addr;
	int64_t n = 0;
	size_t k;
	json_t *o;

	snprintf(type, sizeof type, "ACTION_%s", kw);
	for (k = 7; type[k]; k++)
		type[k] = (char)toupper((unsigned char)type[k]);
	if (!(o = json_pack("{s:s}", "type", type)))
		return rulec_oom(c), NULL;
	(*i)++;
	if (!strcasecmp(kw, "drop") || !strcasecmp(kw, "accept") || !strcasecmp(kw, "break"))
		return o;
	snprintf(what, sizeof what, "%s: expected a length (0 to 65535, -1 for the whole frame)", kw);
	if (tee && (!rulec_arg(c, sc, (*i)++, what, &len) || !rulec_int(len.text, &n) || n < -1 ||
		    n > 0xffff)) {
		if (!c->failed)
			rulec_expected(c, len.at, what);
		return json_decref(o), NULL;
	}
	snprintf(what, sizeof what, "%s: expected a ZeroTier address (10 hex digits)", kw);
	if (!rulec_arg(c, sc, (*i)++, what, &addr) || !rulec_hex(addr.text, 10, false, hex)) {
		if (!c->failed)
			rulec_expected(c, addr.at, what);
		return json_decref(o), NULL;
	}
	json_object_set_new(o, "address", json_string(hex));
	if (tee)
		json_object_set_new(o, "length", json_integer(n));
	return o;
}

static bool rulec_items_render(struct rulec *c, const struct rulec_items *l, const struct rulec_scope *sc,
			       unsigned depth, json_t *out);

/* include NAME(args): the macro's items with its parameters bound. */
static bool rulec_include(struct rulec *c, const struct rulec_scope *sc, size_t at, unsigned depth,
			  json_t *out)
{
	size_t pos = at + 1, k;
	char *call = rulec_call_text(c, &pos), *args[32];
	struct rulec_scope inner = { 0 };
	const struct rulec_macro *m = NULL;
	ssize_t n;
	bool ok = false;

	if (!call)
		return false;
	n = rulec_call_split(call, args, 32);
	for (k = 0; k < c->nmacros; k++)
		if (!strcasecmp(c->macros[k].name, call))
			m = &c->macros[k];
	if (n < 0)
		rulec_expected(c, at + 1, "include: expected name(argument,...)");
	else if (!m)
		rulec_fail_at(c, rulec_line(c, at + 1), rulec_col(c, at + 1),
			      "include: no macro named '%s'", call);
	else if ((size_t)n != m->nparams)
		rulec_fail_at(c, rulec_line(c, at + 1), rulec_col(c, at + 1),
			      "include: macro '%s' takes %zu arguments, got %zd", m->name, m->nparams, n);
	else if (depth >= RULEC_MAX_DEPTH)
		rulec_fail_at(c, rulec_line(c, at), rulec_col(c, at), "include: macros nested more than "
			      "%u deep (does '%s' include itself?)", RULEC_MAX_DEPTH, m->name);
	else if (++c->expansions > RULEC_MAX_EXPANSIONS)
		rulec_fail_at(c, rulec_line(c, at), rulec_col(c, at), "include: more than %u macros "
			      "expanded in all", RULEC_MAX_EXPANSIONS);
	else
		ok = true;
	for (k = 0; ok && k < (size_t)n; k++)   /* an argument may be the caller's parameter */
		if (args[k][0] == '$') {
			struct rulec_arg a = { 0 };
			size_t j;

			for (j = 0; sc && j < sc->n && strcasecmp(sc->names[j], args[k]); j++)
				;
			if (!sc || j == sc->n) {
				rulec_fail_at(c, rulec_line(c, at + 1), rulec_col(c, at + 1), sc ?
					      "'%s' is not a parameter of the macro" :
					      "'%s': parameters are only known in a macro", args[k]);
				ok = false;
			} else {
				a.text = sc->values[j];
				args[k] = (char *)a.text;
			}
		}
	if (ok) {
		inner = (struct rulec_scope){ m->params, args, m->nparams };
		ok = rulec_items_render(c, &m->items, &inner, depth + 1, out);
	}
	free(call);
	return ok;
}

/* One rule: its matches, then its action. */
static bool rulec_rule(struct rulec *c, const struct rulec_scope *sc, size_t at, json_t *out)
{
	size_t i = at;
	json_t *action = rulec_action(c, sc, &i);

	if (!action)
		return false;
	if (!rulec_matches_to_end(c, sc, i, out)) {
		json_decref(action);
		return false;
	}
	return json_array_append_new(out, action) < 0 ? rulec_oom(c) : true;
}

static bool rulec_items_render(struct rulec *c, const struct rulec_items *l, const struct rulec_scope *sc,
			       unsigned depth, json_t *out)
{
	size_t k;

	for (k = 0; k < l->n; k++) {
		if (rulec_lower_is(c, l->v[k], "include") ? !rulec_include(c, sc, l->v[k], depth, out) :
		    !rulec_rule(c, sc, l->v[k], out))
			return false;
		if (json_array_size(out) > RULEC_MAX_RULES)   /* also bounds what macros expand to */
			return rulec_fail_at(c, rulec_line(c, l->v[k]), rulec_col(c, l->v[k]),
					     "more than %u rule entries", RULEC_MAX_RULES);
	}
	return true;
}

/* ---- the result ---- */

static json_t *rulec_caps_json(struct rulec *c, json_t *by_name)
{
	json_t *caps = json_array(), *rules, *cap;
	size_t k;

	for (k = 0; caps && k < c->ncaps; k++) {
		if (!(rules = json_array()) || !rulec_items_render(c, &c->caps[k].items, NULL, 0, rules)) {
			json_decref(rules);
			break;
		}
		if (json_array_size(rules) > RULEC_MAX_CAP_RULES) {
			rulec_fail_at(c, rulec_line(c, c->caps[k].at), rulec_col(c, c->caps[k].at),
				      "capability '%s' has %zu rule entries, more than %u", c->caps[k].name,
				      json_array_size(rules), RULEC_MAX_CAP_RULES);
			json_decref(rules);
			break;
		}
		cap = json_pack("{s:I, s:b, s:o}", "id", (json_int_t)c->caps[k].id, "default",
				c->caps[k].dflt, "rules", rules);
		if (!cap || json_array_append_new(caps, cap) < 0 ||
		    json_object_set_new(by_name, c->caps[k].name, json_integer(c->caps[k].id)) < 0) {
			rulec_oom(c);
			break;
		}
	}
	if (!caps || k < c->ncaps) {
		if (!caps)
			rulec_oom(c);
		json_decref(caps);
		return NULL;
	}
	return caps;
}

static json_t *rulec_tags_json(struct rulec *c, json_t *by_name)
{
	json_t *tags = json_array(), *t;
	size_t k;

	for (k = 0; tags && k < c->ntags; k++) {
		t = json_pack("{s:O, s:O}", "id", json_object_get(c->tags[k].def, "id"), "default",
			      json_object_get(c->tags[k].def, "default"));
		if (!t || json_array_append_new(tags, t) < 0 ||
		    json_object_set(by_name, c->tags[k].name, c->tags[k].def) < 0)
			break;
	}
	if (!tags || k < c->ntags) {
		json_decref(tags);
		rulec_oom(c);
		return NULL;
	}
	return tags;
}

static void rulec_free(struct rulec *c)
{
	size_t k, j;

	for (k = 0; k < c->ntoks; k++)
		free(c->toks[k].text);
	free(c->toks);
	for (k = 0; k < c->ntags; k++) {
		free(c->tags[k].name);
		json_decref(c->tags[k].def);
	}
	free(c->tags);
	for (k = 0; k < c->ncaps; k++) {
		free(c->caps[k].name);
		free(c->caps[k].items.v);
	}
	free(c->caps);
	for (k = 0; k < c->nmacros; k++) {
		free(c->macros[k].name);
		for (j = 0; j < c->macros[k].nparams; j++)
			free(c->macros[k].params[j]);
		free(c->macros[k].params);
		free(c->macros[k].items.v);
	}
	free(c->macros);
	free(c->base.v);
}

json_t *rulec_compile(const char *src, size_t len, struct rulec_error *err)
{
	struct rulec c = { .err = err };
	json_t *out = NULL, *rules = NULL, *caps = NULL, *tags = NULL, *caps_by = json_object(),
	       *tags_by = json_object();

	memset(err, 0, sizeof *err);
	if (len > RULEC_MAX_SOURCE)
		rulec_fail_at(&c, 0, 0, "source longer than %u bytes", RULEC_MAX_SOURCE);
	else if (!caps_by || !tags_by || !(rules = json_array()))
		rulec_oom(&c);
	if (!c.failed && rulec_lex(&c, src, len) && rulec_top(&c) &&
	    (caps = rulec_caps_json(&c, caps_by)) && rulec_items_render(&c, &c.base, NULL, 0, rules) &&
	    (tags = rulec_tags_json(&c, tags_by))) {
		out = json_pack("{s:O, s:O, s:O, s:O, s:O}", "rules", rules, "capabilities", caps,
				"tags", tags, "capabilitiesByName", caps_by, "tagsByName", tags_by);
		if (!out)
			rulec_oom(&c);
	}
	json_decref(rules);
	json_decref(caps);
	json_decref(tags);
	json_decref(caps_by);
	json_decref(tags_by);
	rulec_free(&c);
	return out;
}
