/* bench/rules-engine: the rules policy's cost per frame (issue #18).
 *
 * Compiles a rules source (default bench/rules.src: 20 rules, 2
 * capabilities, 3 tags) with the controller's compiler and encoder, loads
 * it into instances of the rules policy as members a (the iperf3 sender),
 * b (its server), m (an admin holding both capabilities) and s (of
 * another department) would hold it, and judges realistic frames through
 * the module's judge(), the function the data path calls: in nanoseconds
 * per frame with no table yet (the module's default accept), with the
 * controller's default table (one ACCEPT) and with the rule set.  Each
 * frame's verdict is checked first, and which rule decides it is found
 * by evaluating the base rules cut after each rule in turn.
 *
 * Usage: bench/rules-engine [-n COUNT] [SECONDS [SOURCE]]   (SECONDS per figure, 0.5)
 * With -n, each frame is judged COUNT times with the rule set, untimed
 * (for callgrind's instruction counts); ONLY=TEXT in the environment
 * keeps the frames whose description contains TEXT. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>
#include <zt/kernel.h>
#include <zt/module.h>

#include "../modules/controller/build.h"
#include "../policies/rules/compile.h"

#define REPEATS 5               /* timed runs per figure; the fastest is shown */
#define MAX_TAGS 8
#define MAX_CAPS 8
#define CAP_BYTES (64 * 21)

#define ADDR_A 0xaaaaaaaaa1ULL
#define ADDR_B 0xbbbbbbbbb2ULL
#define ADDR_M 0xccccccccc3ULL
#define ADDR_S 0xddddddddd4ULL
#define NWID 0x8056c2e21c000001ULL

static struct zt_kernel *kernel;
static double run_secs = 0.5;
/* -n N: judge each frame N times with the rule set only, untimed, for
 * instruction counts (callgrind --toggle-collect=rules_judge); ONLY=TEXT:
 * only the frames whose description contains TEXT. */
static unsigned long count_only;

/* ---- the compiled source ---- */

struct encoded {
	uint8_t *b;
	size_t len;
	unsigned n;
};

static json_t *compiled;
static struct encoded base;
static json_t *base_rules;              /* normalized, for the cut tables */
static struct zt_policy_cap caps[MAX_CAPS];
static uint8_t cap_bytes[MAX_CAPS][CAP_BYTES];
static unsigned ncaps;
static unsigned nactions;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench/rules-engine: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(RULEC_MAX_SOURCE + 1);

	if (!f || !buf)
		fail("cannot read %s", path);
	*len = fread(buf, 1, RULEC_MAX_SOURCE + 1, f);
	if (ferror(f) || *len > RULEC_MAX_SOURCE)
		fail("cannot read %s (or over 1 MiB)", path);
	fclose(f);
	return buf;
}

/* The rules of a compiled array, normalized as the controller stores them. */
static json_t *normalized(const json_t *rules)
{
	json_t *out = json_array(), *n;
	const json_t *r;
	size_t i;

	json_array_foreach(rules, i, r) {
		if (!(n = ctl_rule_normalize(r)))
			fail("%s", "the controller's parser refuses a compiled rule");
		json_array_append_new(out, n);
	}
	return out;
}

static void encode(const json_t *rules, uint8_t *out, size_t cap, struct encoded *e)
{
	int len = ctl_rules_encode(rules, out, cap, &e->n);

	if (len < 0)
		fail("%s", "rules too large to encode");
	e->b = out;
	e->len = (size_t)len;
}

static bool is_action(const json_t *rule)
{
	return strncmp(json_string_value(json_object_get(rule, "type")), "ACTION_", 7) == 0;
}

static void compile_source(const char *path)
{
	static uint8_t buf[CTL_BASE_RULES_MAX_BYTES];
	struct rulec_error err;
	const json_t *cap, *r;
	size_t len, i;
	char *src = slurp(path, &len);

	if (!(compiled = rulec_compile(src, len, &err))) {
		fprintf(stderr, "bench/rules-engine: %s:%u:%u: %s\n", path, err.line, err.col, err.what);
		exit(1);
	}
	free(src);
	base_rules = normalized(json_object_get(compiled, "rules"));
	encode(base_rules, buf, sizeof buf, &base);
	json_array_foreach(base_rules, i, r)
		nactions += is_action(r);
	json_array_foreach(json_object_get(compiled, "capabilities"), i, cap) {
		json_t *rules = normalized(json_object_get(cap, "rules"));
		struct encoded e;

		if (ncaps == MAX_CAPS)
			fail("%s", "too many capabilities for the bench");
		encode(rules, cap_bytes[ncaps], CAP_BYTES, &e);
		caps[ncaps].id = (uint32_t)json_integer_value(json_object_get(cap, "id"));
		caps[ncaps].rules = e.b;
		caps[ncaps].len = e.len;
		caps[ncaps].n = e.n;
		ncaps++;
		json_decref(rules);
	}
}

/* A tag's id and a value of it by their names in the source. */
static struct zt_policy_tag tag(const char *name, const char *value)
{
	const json_t *t = json_object_get(json_object_get(compiled, "tagsByName"), name);
	const json_t *v = json_object_get(json_object_get(t, "enums"), value);

	if (!t || !v)
		fail("the source has no tag %s with an enum value %s (the bench needs those of bench/rules.src)",
		     name, value);
	return (struct zt_policy_tag){ (uint32_t)json_integer_value(json_object_get(t, "id")),
				       (uint32_t)json_integer_value(v) };
}

static const struct zt_policy_cap *cap_named(const char *name)
{
	const json_t *c = json_object_get(json_object_get(compiled, "capabilitiesByName"), name);
	uint32_t id = (uint32_t)json_integer_value(c);

	for (unsigned i = 0; c && i < ncaps; i++)
		if (caps[i].id == id)
			return &caps[i];
	fail("the source has no capability %s", name);
}

/* ---- members: what each holds, and its rules policy ---- */

struct member {
	const char *name;
	uint64_t addr;
	struct zt_policy_tag tags[MAX_TAGS];
	unsigned ntags;
	struct zt_policy_cap caps[MAX_CAPS];
	unsigned ncaps;
	struct zt_inst *zi;
	const struct zt_policy_ops *ops;
	void *st;
	void *fresh;                /* an instance no config has reached */
};

static int tag_cmp(const void *x, const void *y)
{
	const struct zt_policy_tag *a = x, *b = y;

	return a->id < b->id ? -1 : a->id > b->id;
}

static void member_init(struct member *m, const char *name, uint64_t addr, const char *dept, const char *role,
			const char *project)
{
	struct zt_inst *zi;
	char err[256];

	memset(m, 0, sizeof *m);
	m->name = name;
	m->addr = addr;
	m->tags[m->ntags++] = tag("department", dept);
	m->tags[m->ntags++] = tag("role", role);
	m->tags[m->ntags++] = tag("project", project);
	qsort(m->tags, m->ntags, sizeof m->tags[0], tag_cmp);
	if (!(m->zi = zt_kernel_instance(kernel, ZT_POLICY, "{ use: rules }", err, sizeof err)))
		fail("rules policy: %s (set ZT_MODULE_PATH?)", err);
	m->ops = zt_inst_module(m->zi)->ops.policy;
	m->st = zt_inst_state(m->zi);
	if (!(zi = zt_kernel_instance(kernel, ZT_POLICY, "{ use: rules }", err, sizeof err)))
		fail("rules policy: %s", err);
	m->fresh = zt_inst_state(zi);
}

static void member_grant(struct member *m, const char *cap)
{
	m->caps[m->ncaps++] = *cap_named(cap);
}

/* Tables as a config would hand them over. */
enum table { NO_TABLE, ACCEPT_ALL, RULE_SET };

static void load(struct member *m, const struct encoded *t, bool with_caps)
{
	struct zt_policy_rules r = { t->b, t->len, t->n, 0, m->tags, m->ntags,
				     with_caps ? m->caps : NULL, with_caps ? m->ncaps : 0, NULL, 0, NULL, 0 };

	if (m->ops->rules(m->st, &r) < 0)
		fail("%s: the rules policy refused the table", m->name);
}

static void member_table(struct member *m, enum table t)
{
	static uint8_t accept_all[2] = { 1, 0 };        /* ACTION_ACCEPT, the controller's default */
	static const struct encoded accept = { accept_all, 2, 1 };

	if (t != NO_TABLE)
		load(m, t == ACCEPT_ALL ? &accept : &base, true);
}

/* ---- frames ---- */

struct frame {
	uint8_t b[1514];
	size_t len;
};

static void mac_of(uint8_t mac[6], uint64_t addr)
{
	mac[0] = 0x32;
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(addr >> (8 * (5 - i)));
}

static uint16_t ip_sum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An Ethernet frame from member src to dst of len bytes in all, IPv4 with
 * protocol proto (ethertype ipv4) or just the ethertype given. */
static struct frame ip4_frame(uint64_t src, uint64_t dst, unsigned ethertype, uint8_t proto, size_t len)
{
	struct frame f;
	uint8_t *ip = f.b + 14;

	memset(&f, 0, sizeof f);
	f.len = len;
	mac_of(f.b, dst);
	mac_of(f.b + 6, src);
	put16(f.b + 12, ethertype);
	if (ethertype != 0x0800)
		return f;
	ip[0] = 0x45;
	put16(ip + 2, (unsigned)(len - 14));
	ip[6] = 0x40;                           /* DF */
	ip[8] = 64;
	ip[9] = proto;
	ip[12] = 198, ip[13] = 19, ip[14] = 7, ip[15] = (uint8_t)src;
	ip[16] = 198, ip[17] = 19, ip[18] = 7, ip[19] = (uint8_t)dst;
	put16(ip + 10, ip_sum(ip, 20));
	return f;
}

#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

static struct frame tcp(uint64_t src, uint64_t dst, unsigned sport, unsigned dport, uint8_t flags, size_t len)
{
	struct frame f = ip4_frame(src, dst, 0x0800, 6, len);
	uint8_t *t = f.b + 34;

	put16(t, sport);
	put16(t + 2, dport);
	t[12] = 0x50;
	t[13] = flags;
	put16(t + 14, 65535);
	return f;
}

static struct frame udp(uint64_t src, uint64_t dst, unsigned sport, unsigned dport, size_t len)
{
	struct frame f = ip4_frame(src, dst, 0x0800, 17, len);
	uint8_t *u = f.b + 34;

	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (unsigned)(len - 34));
	return f;
}

/* ---- judging ---- */

static struct member ma, mb, mm, ms;

/* A frame judged where the data path judges it: on the sender's egress
 * (outbound) or the receiver's ingress (inbound, with the sender's tags
 * and capabilities as the kernel holds them). */
struct judging {
	struct member *at, *peer;
	bool inbound;
	const struct frame *f;
	struct zt_policy_ctx ctx;
	struct zt_frame zf;
	struct zt_policy_out out;
	void *st;                   /* the instance judging: at's, or its fresh one */
};

static void judging_init(struct judging *j, struct member *at, struct member *peer, bool inbound,
			 const struct frame *f, bool peer_caps)
{
	memset(j, 0, sizeof *j);
	j->at = at;
	j->peer = peer;
	j->inbound = inbound;
	j->f = f;
	j->ctx.nwid = NWID;
	j->ctx.self = at->addr;
	j->ctx.source = inbound ? peer->addr : at->addr;
	j->ctx.dest = inbound ? at->addr : peer->addr;
	j->ctx.inbound = inbound;
	j->ctx.peer_tags = peer->tags;
	j->ctx.n_peer_tags = peer->ntags;
	j->ctx.peer_caps = inbound && peer_caps ? peer->caps : NULL;
	j->ctx.n_peer_caps = inbound && peer_caps ? peer->ncaps : 0;
	j->ctx.out = &j->out;
	j->zf.data = (uint8_t *)f->b;
	j->zf.len = f->len;
	j->st = at->st;
}

static enum zt_verdict judge(struct judging *j)
{
	return j->at->ops->judge(j->st, &j->ctx, &j->zf);
}

static double now(void)
{
	struct timespec ts;

	/* the thread's CPU time: on a machine busy with other work, the
	 * time others run is not the frames' */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU ns per judge(): the fastest of REPEATS runs of run_secs / REPEATS
 * (the least disturbed by other work on the machine: caches, migrations). */
static double ns_per_frame(struct judging *j)
{
	double best = 0;

	if (count_only) {
		for (unsigned long i = 0; i < count_only; i++)
			judge(j);
		return 0;
	}
	for (int r = 0; r < REPEATS; r++) {
		double t0 = now(), t;
		unsigned long n = 0;
		unsigned long accepted = 0;

		do {
			for (int i = 0; i < 4096; i++)
				accepted += judge(j) == ZT_ACCEPT;
			n += 4096;
			t = now() - t0;
		} while (t < run_secs / REPEATS);
		if (accepted != 0 && accepted != n)
			fail("%s", "a frame's verdict changed between judgements");
		if (!best || t / (double)n < best)
			best = t / (double)n;
	}
	return best * 1e9;
}

/* The base rules leave the frame undecided: which capability, given
 * alone to the member that holds it, accepts it? */
static void cap_decider(struct judging *j, char *out, size_t cap)
{
	struct member *holder = j->inbound ? j->peer : j->at;
	struct zt_policy_cap held[MAX_CAPS];
	unsigned nheld = holder->ncaps;

	memcpy(held, holder->caps, sizeof held);
	for (unsigned c = 0; c < nheld; c++) {
		struct judging one;

		holder->caps[0] = held[c];
		holder->ncaps = 1;
		member_table(j->at, RULE_SET);
		judging_init(&one, j->at, j->peer, j->inbound, j->f, true);
		if (judge(&one) == ZT_ACCEPT) {
			snprintf(out, cap, "capability %u", held[c].id);
			break;
		}
	}
	memcpy(holder->caps, held, sizeof held);
	holder->ncaps = nheld;
}

/* What decides the frame under the rule set: "rule N" (the Nth action of
 * the base rules, counting from 1), "capability ID" or "no rule".  The base
 * rules are loaded cut after each action in turn, without capabilities:
 * the first cut at which the frame no longer falls through (no_match)
 * ends with the deciding rule (a BREAK also leaves it to the
 * capabilities). */
static void decider(struct judging *j, char *out, size_t cap)
{
	static uint8_t buf[CTL_BASE_RULES_MAX_BYTES];
	json_t *cut = json_array();
	const json_t *r;
	unsigned k = 0;
	size_t i;

	snprintf(out, cap, "no rule");
	json_array_foreach(base_rules, i, r) {
		struct encoded e;
		uint64_t before;

		json_array_append(cut, (json_t *)r);
		if (!is_action(r))
			continue;
		k++;
		encode(cut, buf, sizeof buf, &e);
		load(j->at, &e, false);
		j->ctx.n_peer_caps = 0;
		before = zt_inst_counter(j->at->zi, "no_match");
		judge(j);
		if (zt_inst_counter(j->at->zi, "no_match") == before) {
			snprintf(out, cap, "rule %u", k);
			break;
		}
	}
	json_decref(cut);
	if (strcmp(out, "no rule") == 0)
		cap_decider(j, out, cap);
	member_table(j->at, RULE_SET);
}

struct scenario {
	const char *what;
	struct member *from, *to;
	struct frame f;
	enum zt_verdict expect;
};

static const char *verdict_name(enum zt_verdict v)
{
	return v == ZT_ACCEPT ? "accept" : "drop";
}

/* One row per place the frame is judged: egress at its sender, ingress at
 * its receiver. */
static void run(const struct scenario *sc)
{
	for (int inbound = 0; inbound <= 1; inbound++) {
		struct member *at = inbound ? sc->to : sc->from, *peer = inbound ? sc->from : sc->to;
		struct judging j;
		double ns[3] = { 0, 0, 0 };
		char who[32], where[24];

		judging_init(&j, at, peer, inbound, &sc->f, true);
		for (enum table t = count_only ? RULE_SET : NO_TABLE; t <= RULE_SET; t++) {
			member_table(at, t);
			j.st = t == NO_TABLE ? at->fresh : at->st;
			if (t == RULE_SET && judge(&j) != sc->expect) {
				fprintf(stderr, "bench/rules-engine: %s at %s: %s, expected %s\n", sc->what, at->name,
					verdict_name(judge(&j)), verdict_name(sc->expect));
				exit(1);
			}
			ns[t] = ns_per_frame(&j);
		}
		decider(&j, who, sizeof who);
		snprintf(where, sizeof where, "%s %s", at->name, inbound ? "ingress" : "egress");
		printf("%-38s %-10s %-7s %8.1f %8.1f %8.1f   %s\n", inbound ? "" : sc->what, where,
		       verdict_name(sc->expect), ns[NO_TABLE], ns[ACCEPT_ALL], ns[RULE_SET], who);
	}
}

int main(int argc, char **argv)
{
	const char *src, *only = getenv("ONLY");
	struct ev_loop *loop;

	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		count_only = strtoul(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	src = argc > 2 ? argv[2] : RULES_SOURCE;
	if ((argc > 1 && (run_secs = atof(argv[1])) <= 0) || (argc > 3)) {
		fprintf(stderr, "usage: bench/rules-engine [-n COUNT] [SECONDS [SOURCE]]\n");
		return 2;
	}
	/* the build tree's module unless told otherwise */
	setenv("ZT_MODULE_PATH", RULES_MODULE_DIR, 0);
	compile_source(src);
	loop = ev_default_loop(0);
	if (!(kernel = zt_kernel_new(loop)))
		fail("%s", "no kernel");
	member_init(&ma, "a", ADDR_A, "engineering", "user", "apollo");
	member_init(&mb, "b", ADDR_B, "engineering", "service", "apollo");
	member_init(&mm, "m", ADDR_M, "engineering", "admin", "apollo");
	member_grant(&mm, "ssh");
	member_grant(&mm, "monitoring");
	member_init(&ms, "s", ADDR_S, "sales", "user", "gemini");

	const struct scenario sc[] = {
		{ "iperf3 data, TCP 1514 B a->b:5201", &ma, &mb, tcp(ADDR_A, ADDR_B, 40000, 5201, TCP_ACK | TCP_PSH, 1514),
		  ZT_ACCEPT },
		{ "iperf3 ACK, TCP 66 B b:5201->a", &mb, &ma, tcp(ADDR_B, ADDR_A, 5201, 40000, TCP_ACK, 66), ZT_ACCEPT },
		{ "iperf3 SYN, a->b:5201", &ma, &mb, tcp(ADDR_A, ADDR_B, 40000, 5201, TCP_SYN, 74), ZT_ACCEPT },
		{ "SSH SYN, admin m->b:22", &mm, &mb, tcp(ADDR_M, ADDR_B, 40001, 22, TCP_SYN, 74), ZT_ACCEPT },
		{ "SNMP, UDP m->b:161", &mm, &mb, udp(ADDR_M, ADDR_B, 40002, 161, 120), ZT_ACCEPT },
		{ "SSH SYN, user a->b:22", &ma, &mb, tcp(ADDR_A, ADDR_B, 40003, 22, TCP_SYN, 74), ZT_DROP },
		{ "IPX frame a->b", &ma, &mb, ip4_frame(ADDR_A, ADDR_B, 0x8137, 0, 100), ZT_DROP },
		{ "telnet SYN a->b:23", &ma, &mb, tcp(ADDR_A, ADDR_B, 40004, 23, TCP_SYN, 74), ZT_DROP },
		{ "UDP sales s->b:8080", &ms, &mb, udp(ADDR_S, ADDR_B, 40005, 8080, 200), ZT_DROP },
	};

	printf("bench/rules-engine: %s: %u rules (%u entries), %u capabilities, %zu tags; judge() CPU ns per frame,\n"
	       "the fastest of %d runs of %.2f CPU s each\n\n", src, nactions, base.n, ncaps,
	       json_array_size(json_object_get(compiled, "tags")), REPEATS, run_secs / REPEATS);
	printf("%-38s %-10s %-7s %8s %8s %8s   %s\n", "frame", "judged at", "verdict", "no table", "accept", "rules",
	       "decided by");
	for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++)
		if (!only || strstr(sc[i].what, only))
			run(&sc[i]);

	zt_kernel_free(kernel);
	json_decref(base_rules);
	json_decref(compiled);
	return 0;
}
