/* A network's rules as its policies count them, and dry runs of a frame
 * through a chain (the local API's /network/<nwid>/rules, zt-rules(7)).
 * On the main loop; the policies sum what the lanes counted. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "network.h"

struct rulestat_visit {
	const char *policy;
	bool ingress;
	void (*fn)(void *ctx, const char *policy, bool ingress, const struct zt_policy_rule *r);
	void *ctx;
};

static void rulestat_rule(void *ctx, const struct zt_policy_rule *r)
{
	struct rulestat_visit *v = ctx;

	v->fn(v->ctx, v->policy, v->ingress, r);
}

int zt_core_network_rules(const struct zt_core *c, uint64_t nwid,
			  void (*fn)(void *ctx, const char *policy, bool ingress, const struct zt_policy_rule *r),
			  void *ctx)
{
	const struct zt_network *n = zt_network_find(c, nwid);
	struct rulestat_visit v = { .fn = fn, .ctx = ctx };

	if (!n)
		return -ENOENT;
	for (unsigned chain = 0; chain < 2; chain++) {
		struct zt_inst *const *insts = chain ? n->egress : n->ingress;
		unsigned count = chain ? n->n_egress : n->n_ingress;

		v.ingress = !chain;
		for (unsigned i = 0; i < count; i++) {
			const struct zt_module *m = zt_inst_module(insts[i]);

			if (!m->ops.policy->rule_list)
				continue;
			v.policy = zt_inst_name(insts[i]);
			m->ops.policy->rule_list(zt_inst_state(insts[i]), rulestat_rule, &v);
		}
	}
	return 0;
}

int zt_core_network_explain(const struct zt_core *c, uint64_t nwid, bool inbound, uint64_t peer,
			    const struct zt_frame *f, struct zt_policy_explain *out, const char **policy)
{
	struct zt_network *n = zt_network_find(c, nwid);
	struct zt_policy_ctx ctx = { 0 };
	const struct member *m;
	struct zt_inst *const *insts;
	unsigned count;
	int rc = -EOPNOTSUPP;

	if (!n)
		return -ENOENT;
	insts = inbound ? n->ingress : n->egress;
	count = inbound ? n->n_ingress : n->n_egress;
	ctx.nwid = nwid;
	ctx.self = c->self.address;
	ctx.inbound = inbound;
	ctx.source = inbound ? peer : c->self.address;
	ctx.dest = inbound ? c->self.address : peer;
	/* what the node holds of the remote member, as the data path gives it */
	m = peer ? zt_network_member(n, peer, false) : NULL;
	if (m && m->creds) {
		ctx.peer_tags = m->creds->usable_tags;
		ctx.n_peer_tags = m->creds->n_usable_tags;
		ctx.peer_caps = m->creds->usable_caps;
		ctx.n_peer_caps = m->creds->n_usable_caps;
	}
	if (m) {
		ctx.peer_coos = m->coos;
		ctx.n_peer_coos = m->n_usable_coos;
	}
	/* the chain's policies in order, until one drops the frame; the
	 * answer is the last one that explained it */
	for (unsigned i = 0; i < count; i++) {
		const struct zt_module *mod = zt_inst_module(insts[i]);
		struct zt_policy_out fwd = { 0 };

		if (!mod->ops.policy->explain)
			continue;
		ctx.out = &fwd;
		if ((rc = mod->ops.policy->explain(zt_inst_state(insts[i]), &ctx, f, out)) < 0)
			return rc;
		*policy = zt_inst_name(insts[i]);
		if (out->verdict != ZT_ACCEPT)
			break;
	}
	return rc;
}
