/* The flow rules language (zt-rules(7), RULES LANGUAGE): a source of
 * rules, tags, capabilities and macros compiled to the controller API's
 * JSON, as ZeroTier's rule compiler (rule-compiler.js) produces it.
 * Compiled into zt-cli and the controller module; no state, no I/O. */
#ifndef ZT_RULES_COMPILE_H
#define ZT_RULES_COMPILE_H

#include <stddef.h>

#include <jansson.h>

/* Longest source accepted. */
#define RULEC_MAX_SOURCE (1024u * 1024u)
/* Entries of the base rule set and of each capability (as ZeroTier One). */
#define RULEC_MAX_RULES 1024u
#define RULEC_MAX_CAP_RULES 64u
/* Depth of macros including macros, and includes expanded in all, so
 * that no source makes the compiler work for long. */
#define RULEC_MAX_DEPTH 16u
#define RULEC_MAX_EXPANSIONS 4096u
/* Definitions (tags and capabilities as a network config holds them). */
#define RULEC_MAX_TAGS 128u
#define RULEC_MAX_CAPS 128u
#define RULEC_MAX_MACROS 1024u

/* Where and why a source was refused; line and column count from 1 (0
 * when the failure has no place, such as running out of memory). */
struct rulec_error {
	unsigned line, col;
	char what[240];
};

/* Compile len bytes of src to {"rules": [...], "capabilities": [...],
 * "tags": [...], "capabilitiesByName": {...}, "tagsByName": {...}}, or
 * NULL with *err filled in. */
json_t *rulec_compile(const char *src, size_t len, struct rulec_error *err);

#endif
