/* libFuzzer: the flow rules language compiler (policies/rules/compile.c)
 * on any bytes as a source.  A refusal names a place within the source
 * (or none, for its size); what compiles is JSON whose every rule, of the
 * base set and of each capability, the controller's rule parser
 * (modules/controller/build.c) accepts, since the controller stores what
 * the compiler produces. */
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <jansson.h>
#include "../modules/controller/build.h"
#include "../policies/rules/compile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rules(const json_t *rules)
{
	const json_t *r;
	json_t *n;
	size_t i;

	assert(json_is_array(rules));
	json_array_foreach(rules, i, r) {
		n = ctl_rule_normalize(r);
		assert(n);
		json_decref(n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rulec_error err;
	const json_t *cap;
	unsigned lines = 1;
	json_t *out;
	size_t i;

	out = rulec_compile((const char *)data, size, &err);
	if (!out) {
		for (i = 0; i < size; i++)
			lines += data[i] == '\n';
		assert(err.what[0]);
		assert(err.line <= lines);
		assert(!err.line == !err.col);
		return 0;
	}
	check_rules(json_object_get(out, "rules"));
	json_array_foreach(json_object_get(out, "capabilities"), i, cap)
		check_rules(json_object_get(cap, "rules"));
	assert(json_array_size(json_object_get(out, "tags")) ==
	       json_object_size(json_object_get(out, "tagsByName")));
	json_decref(out);
	return 0;
}
