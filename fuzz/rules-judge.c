/* libFuzzer: the rules policy (policies/rules/rules.c) on a rule table,
 * capabilities, tags and a frame, all from the input: the table a
 * controller sends (networks.md §6.1), checked and decoded by rules();
 * the frame and the sender's capabilities a peer sends, read by judge()
 * (Ethernet, VLAN-less IPv4 and IPv6 headers, extension headers, ports,
 * ICMP, TCP flags, integer ranges).  The module is linked into the target
 * and made by a kernel of its own for each input, as ztd makes it.
 *
 * Input: [u8 flags][u8 tag counts] own tags, peer tags (u32 id, u32 value
 * each) [u8 capability count] capabilities (u32 id, u16 length, entries)
 * [u16 length] the table, then the frame.  flags: 0x01 inbound, 0x02 the
 * config's flag 0x08 (unknown matches match), 0x04 no_copy, 0x08 a caller
 * that cannot copy, 0x10 the destination unknown (a multicast).  Tag
 * counts: own in bits 0-1, peer in bits 2-3.  Capability count: bits 0-1,
 * the same capabilities are the node's own and the remote member's.
 *
 * Checked: a verdict is ACCEPT or DROP; a copy is never longer than the
 * frame's payload; a dry run (explain) of a table without RANDOM gives
 * judge()'s verdict, within its step limit; every rule lists. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <zt/kernel.h>
#include <zt/module.h>
#include <zt/packet.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct zt_module zt_module;   /* policies/rules/rules.c, linked in */

#define MATCH_RANDOM 43

/* Entries in a table, as the kernel counts them from the config; whether
 * one is a RANDOM match (whose result differs from one run to the next). */
static unsigned entries(const uint8_t *b, size_t len, bool *random)
{
	size_t pos = 0;
	unsigned n = 0;

	while (pos + 2 <= len) {
		if ((b[pos] & 63) == MATCH_RANDOM)
			*random = true;
		pos += 2u + b[pos + 1];
		n++;
	}
	return n;
}

static int tag_cmp(const void *a, const void *b)
{
	const struct zt_policy_tag *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* n tags, sorted by id with one value per id, as the kernel hands them */
static void read_tags(struct zt_rd *rd, unsigned n, struct zt_policy_tag *tags, unsigned *kept)
{
	*kept = 0;
	for (unsigned i = 0; i < n; i++) {
		tags[i].id = zt_rd_u32(rd);
		tags[i].value = zt_rd_u32(rd);
	}
	qsort(tags, n, sizeof *tags, tag_cmp);
	for (unsigned i = 0; i < n; i++)
		if (*kept == 0 || tags[*kept - 1].id != tags[i].id)
			tags[(*kept)++] = tags[i];
}

static void read_caps(struct zt_rd *rd, unsigned n, struct zt_policy_cap *caps, bool *random)
{
	for (unsigned i = 0; i < n; i++) {
		caps[i].id = zt_rd_u32(rd);
		caps[i].len = zt_rd_u16(rd);
		caps[i].rules = zt_rd_ptr(rd, caps[i].len);
		caps[i].n = caps[i].rules ? entries(caps[i].rules, caps[i].len, random) : 0;
	}
}

static void rule_seen(void *ctx, const struct zt_policy_rule *r)
{
	unsigned *n = ctx;

	if (r->action > ZT_RULE_OUTCOMES)
		abort();
	(*n)++;
}

static void judge_and_explain(struct zt_inst *zi, const struct zt_policy_ctx *ctx, const struct zt_frame *f,
			      bool random)
{
	const struct zt_policy_ops *ops = zt_inst_module(zi)->ops.policy;
	void *st = zt_inst_state(zi);
	static struct zt_policy_explain ex;
	enum zt_verdict v;
	unsigned listed = 0;

	v = ops->judge(st, ctx, f);
	if (v != ZT_ACCEPT && v != ZT_DROP)
		abort();
	if (ctx->out && ctx->out->copy_to && (f->len < 14 || ctx->out->copy_len > f->len - 14))
		abort();   /* a copy longer than the payload it is cut from */
	if (ops->explain(st, ctx, f, &ex) == 0) {
		if (!random && ex.verdict != v)
			abort();   /* a dry run judges as judge() does */
		if (ex.n_steps > ZT_POLICY_STEPS_MAX)
			abort();
		for (unsigned i = 0; i < ex.n_steps; i++)
			if (!memchr(ex.steps[i].text, '\0', sizeof ex.steps[i].text))
				abort();
		if (!memchr(ex.why, '\0', sizeof ex.why))
			abort();
	}
	ops->rule_list(st, rule_seen, &listed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct zt_module *const linked[] = { &zt_module, NULL };
	struct zt_policy_tag own[3], peer[3];
	struct zt_policy_cap caps[3];
	struct zt_policy_out out = { 0 };
	const uint8_t *table;
	unsigned flags, counts, ncaps, n_own, n_peer;
	bool random = false;
	struct zt_kernel *k;
	struct zt_inst *zi;
	struct zt_rd rd;
	char err[256];
	size_t len;

	zt_rd_init(&rd, data, size);
	flags = zt_rd_u8(&rd);
	counts = zt_rd_u8(&rd);
	read_tags(&rd, counts & 3, own, &n_own);
	read_tags(&rd, counts >> 2 & 3, peer, &n_peer);
	ncaps = zt_rd_u8(&rd) & 3;
	read_caps(&rd, ncaps, caps, &random);
	len = zt_rd_u16(&rd);
	table = zt_rd_ptr(&rd, len);
	if (rd.err)
		return 0;
	zt_module_use_linked(linked);
	if (!(k = zt_kernel_new(ev_default_loop(0))))
		abort();
	if (!(zi = zt_kernel_instance(k, ZT_POLICY, "{ use: rules }", err, sizeof err)))
		abort();
	{
		struct zt_policy_rules r = { table, len, entries(table, len, &random), flags & 0x02 ? 0x08 : 0,
					     own, n_own, caps, ncaps, NULL, 0, NULL, 0 };
		bool inbound = flags & 0x01;
		uint64_t remote = flags & 0x10 ? 0 : 0x2222222222ULL;
		struct zt_policy_ctx ctx = { 0x8056c2e21c000001ULL, 0x1111111111ULL,
					     inbound ? remote : 0x1111111111ULL, inbound ? 0x1111111111ULL : remote,
					     inbound, peer, n_peer, caps, ncaps,
					     flags & 0x08 ? NULL : &out, flags & 0x04, NULL, 0 };
		struct zt_frame f = { (uint8_t *)data + rd.pos, zt_rd_left(&rd) };

		(void)zt_inst_module(zi)->ops.policy->rules(zt_inst_state(zi), &r);
		judge_and_explain(zi, &ctx, &f, random);
	}
	zt_kernel_free(k);
	return 0;
}
