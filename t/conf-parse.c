/* Config parsing: typed scalars, YAML errors with positions, option
 * checks against a module's declared options, defaults. */
#include "config.h"

#include <arpa/inet.h>
#include <ev.h>
#include <string.h>

#include "conf.h"
#include "internal.h"
#include "tap.h"

static struct zt_kernel *k;

static void refused(const char *yaml, const char *want, const char *name)
{
	char err[512] = "";

	ok(zt_kernel_instance(k, ZT_SERVICE, yaml, err, sizeof err) == NULL, name);
	is_str(err, want, name);
}

int main(void)
{
	union zt_sockaddr a;
	uint64_t u;
	bool b;
	char s[64], err[512];
	struct zt_inst *zi;
	struct zt_conf *c;

	plan(57);
	k = zt_kernel_new(EV_DEFAULT);

	ok(zt_parse_uint("42", &u) == 0 && u == 42, "uint");
	ok(zt_parse_uint("-1", &u) < 0, "negative uint refused");
	ok(zt_parse_uint("12x", &u) < 0, "trailing junk refused");
	ok(zt_parse_uint("99999999999999999999999", &u) < 0, "overflow refused");
	ok(zt_parse_bool("yes", &b) == 0 && b, "yes");
	ok(zt_parse_bool("Off", &b) == 0 && !b, "Off");
	ok(zt_parse_bool("maybe", &b) < 0, "maybe refused");
	ok(zt_parse_duration_ms("250ms", &u) == 0 && u == 250, "250ms");
	ok(zt_parse_duration_ms("10s", &u) == 0 && u == 10000, "10s");
	ok(zt_parse_duration_ms("5m", &u) == 0 && u == 300000, "5m");
	ok(zt_parse_duration_ms("2", &u) == 0 && u == 2000, "bare seconds");
	ok(zt_parse_duration_ms("3d", &u) < 0, "unknown unit refused");
	ok(zt_parse_sockaddr("198.18.0.1:9993", &a) == 0 && a.sa.sa_family == AF_INET &&
	   ntohs(a.in4.sin_port) == 9993, "IPv4 address");
	zt_sockaddr_fmt(&a, s, sizeof s);
	is_str(s, "198.18.0.1:9993", "IPv4 formats back");
	ok(zt_parse_sockaddr("[2001:db8::1]:443", &a) == 0 && a.sa.sa_family == AF_INET6, "IPv6 address");
	zt_sockaddr_fmt(&a, s, sizeof s);
	is_str(s, "[2001:db8::1]:443", "IPv6 formats back");
	ok(zt_parse_sockaddr("2001:db8::1:443", &a) < 0, "IPv6 without brackets refused");
	ok(zt_parse_sockaddr("198.18.0.1:65536", &a) < 0, "port out of range refused");
	ok(zt_parse_sockaddr("198.18.0.1", &a) < 0, "missing port refused");
	ok(zt_parse_sockaddr("198.18.0.1:09", &a) < 0, "leading zero port refused");

	c = zt_conf_parse("x.yaml", "a: [1, 2\nb: 3\n", true);
	ok(c->errors > 0 && strncmp(c->first_error, "x.yaml:2:", 9) == 0, "syntax error has a position");
	diag("%s", c->first_error);
	zt_conf_free(c);
	c = zt_conf_parse("x.yaml", "a: 1\nb: 2\na: 3\n", true);
	is_str(c->first_error, "x.yaml:3:1: duplicate key 'a' (first at line 1)", "duplicate key");
	zt_conf_free(c);
	c = zt_conf_parse("x.yaml", "a: &x 1\nb: *x\n", true);
	is_str(c->first_error, "x.yaml:2:4: aliases (*x) are not supported", "alias refused");
	zt_conf_free(c);
	c = zt_conf_parse("x.yaml", "a: 1\n---\nb: 2\n", true);
	ok(c->errors == 1 && strstr(c->first_error, "only one YAML document"), "one document only");
	zt_conf_free(c);

	refused("{ use: probe, lable: x }", "(inline):1:15: probe: unknown key 'lable'", "unknown key");
	refused("{ use: probe, count: many }", "(inline):1:22: probe: count: 'many' is not a non-negative integer", "wrong type");
	refused("{ use: probe, count: 102 }", "(inline):1:22: probe: count: must be between 0 and 100", "out of range");
	refused("{ use: probe, count: 3 }", "(inline):1:22: probe: count: must be even", "module's own check");
	refused("{ use: probe, flag: [1] }", "(inline):1:15: probe: flag: must be true or false, not a list", "list for bool");
	refused("{ use: probe, addrs: ['198.18.0.1:1', 'x'] }",
		"(inline):1:39: probe: addrs[1]: must be an address like 198.18.0.1:9993 or [2001:db8::1]:9993",
		"bad address in a list");
	refused("{ use: probe, instance: p1, every: soon }",
		"(inline):1:36: p1: every: 'soon' is not a duration like 500ms, 10s, 5m or 1h", "instance name in message");
	ok(zt_kernel_instance(k, ZT_SERVICE, "{ use: nosuch }", err, sizeof err) == NULL, "unknown module");
	ok(strncmp(err, "(inline):1:8: no module 'nosuch' (looked for nosuch.so in ", 58) == 0, "search path listed");
	refused("{ count: 2 }", "(inline):1:1: missing required key 'use' (the module)", "missing use");

	zi = zt_kernel_instance(k, ZT_TRANSPORT, "{ use: probe }", err, sizeof err);
	ok(zi == NULL, "wrong kind refused");
	is_str(err, "(inline):1:8: 'probe' is a service, not a transport", "kinds named");

	zi = zt_kernel_instance(k, ZT_SERVICE, "{ use: probe, label: hi, flag: on }", err, sizeof err);
	ok(zi != NULL, "good instance created");
	if (!zi)
		bail("%s", err);
	is_str(zt_inst_name(zi), "probe", "instance named after its module");
	ok(zt_inst_start(zi) == 0, "starts");
	is_int(zt_inst_counter(zi, "starts"), 1, "counter registered and bumped");
	ok(zt_inst_start(zi) == 0 && zt_inst_counter(zi, "starts") == 1, "start twice starts once");
	ok(zt_inst_queue(zi, 1) == NULL, "a module without queue(): no queue");
	zt_inst_stop(zi);
	zt_inst_stop(zi);
	ok(1, "stop twice is safe");
	zt_inst_destroy(zi);

	/* defaults are visible to the module through the accessors */
	c = zt_conf_parse("d.yaml", "{ use: probe }", true);
	zt_conf_check_opts(c->root, zt_module_load("probe", err, sizeof err)->opts, "probe");
	is_int(zt_conf_uint(c->root, "count"), 2, "uint default");
	is_int(zt_conf_duration_ms(c->root, "every"), 10000, "duration default");
	ok(!zt_conf_bool(c->root, "flag"), "bool default");
	is_str(zt_conf_str(c->root, "label"), "none", "string default");
	{
		union zt_sockaddr addrs[4];

		is_int(zt_conf_addrs(c->root, "addrs", addrs, 4), 2, "list default");
		ok(addrs[1].sa.sa_family == AF_INET6, "second default address is IPv6");
	}
	zt_conf_free(c);

	zt_kernel_free(k);
	zt_module_unload_all();
	return tap_done();
}
