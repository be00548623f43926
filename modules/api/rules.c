/* api: a network's rules with their counters (GET /network/<nwid>/rules,
 * and in /metrics), and dry runs of a described frame through them (POST
 * /network/<nwid>/rules/explain).  See zt-rules(7), COUNTERS and EXPLAIN. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zt/netconf.h>

#include "api.h"
#include "framedesc.h"

static const char *const api_outcomes[ZT_RULE_OUTCOMES] = ZT_RULE_OUTCOME_NAMES;
static const char *const api_dirs[2] = { "outbound", "inbound" };

/* ---- GET /network/<nwid>/rules ---- */

/* {"accept": {"frames": n, "bytes": n}, ...}: the outcomes counted. */
static json_t *api_rule_dir_json(const struct zt_policy_rule *r, unsigned dir)
{
	json_t *o = json_object();

	for (unsigned k = 0; o && k < ZT_RULE_OUTCOMES; k++)
		if (r->frames[dir][k] &&
		    json_object_set_new(o, api_outcomes[k], json_pack("{s:I,s:I}", "frames", (json_int_t)r->frames[dir][k],
									"bytes", (json_int_t)r->bytes[dir][k])) < 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static void api_rule_visit(void *ctx, const char *policy, bool ingress, const struct zt_policy_rule *r)
{
	json_t *list = ctx, *o;
	uint64_t frames = 0, bytes = 0;

	/* frames decided: a TEE or WATCH copy is counted where it is decided too */
	for (unsigned d = 0; d < 2; d++)
		for (unsigned k = 0; k < ZT_RULE_OUTCOMES; k++) {
			if (k == ZT_RULE_TEE || k == ZT_RULE_WATCH)
				continue;
			frames += r->frames[d][k];
			bytes += r->bytes[d][k];
		}
	o = json_pack("{s:s,s:s,s:o,s:o,s:i,s:o,s:I,s:I,s:o,s:o}", "policy", policy,
		      "chain", ingress ? "ingress" : "egress",
		      "action", r->action < ZT_RULE_OUTCOMES ? json_string(api_outcomes[r->action]) : json_null(),
		      "capability", r->cap ? json_integer(r->cap_id) : json_null(), "index", (int)r->index,
		      "rule", r->text ? json_string(r->text) : json_null(), "frames", (json_int_t)frames,
		      "bytes", (json_int_t)bytes, "outbound", api_rule_dir_json(r, 0),
		      "inbound", api_rule_dir_json(r, 1));
	if (o)
		json_array_append_new(list, o);
}

int api_network_rules(struct api *a, struct api_conn *c, uint64_t nwid)
{
	struct zt_network_info *info = malloc(sizeof *info);
	json_t *rules = json_array(), *tags = json_array(), *o;
	char id[17];

	if (!info || !rules || !tags) {
		free(info);
		json_decref(rules);
		json_decref(tags);
		return api_fail(a, c, 500, "out of memory");
	}
	if (zt_core_network(a->core, nwid, info) < 0 || zt_core_network_rules(a->core, nwid, api_rule_visit, rules) < 0) {
		free(info);
		json_decref(rules);
		json_decref(tags);
		return api_reply_empty(a, c, 404);
	}
	for (unsigned i = 0; i < info->n_tags; i++)
		json_array_append_new(tags, json_pack("{s:I,s:I}", "id", (json_int_t)info->tags[i].id,
						      "value", (json_int_t)info->tags[i].value));
	snprintf(id, sizeof id, "%016" PRIx64, nwid);
	o = json_pack("{s:s,s:I,s:o,s:o}", "nwid", id, "revision", (json_int_t)info->revision, "rules", rules,
		      "tags", tags);
	free(info);
	return o ? api_reply(a, c, 200, o) : api_fail(a, c, 500, "out of memory");
}

/* ---- in /metrics ---- */

struct api_rule_metric {
	FILE *f;
	uint64_t nwid;
	bool bytes;
};

static void api_rule_metric(void *ctx, const char *policy, bool ingress, const struct zt_policy_rule *r)
{
	const struct api_rule_metric *m = ctx;
	char cap[12] = "";

	if (r->cap)
		snprintf(cap, sizeof cap, "%" PRIu32, r->cap_id);
	/* every outcome counted, and a rule's own action even at 0 in the
	 * chain's direction (ingress: inbound), so that its series exists
	 * from the start */
	for (unsigned d = 0; d < 2; d++)
		for (unsigned k = 0; k < ZT_RULE_OUTCOMES; k++) {
			if (!r->frames[d][k] && (k != r->action || d != (unsigned)ingress))
				continue;
			fprintf(m->f, "zt_rule_%s_total{network=\"%016" PRIx64 "\",policy=\"%s\",chain=\"%s\","
				"capability=\"%s\",rule=\"%u\",direction=\"%s\",action=\"%s\"} %" PRIu64 "\n",
				m->bytes ? "bytes" : "frames", m->nwid, policy, ingress ? "ingress" : "egress", cap,
				r->index, api_dirs[d], api_outcomes[k], m->bytes ? r->bytes[d][k] : r->frames[d][k]);
		}
}

struct api_nwids {
	uint64_t *v;
	size_t n;
	bool failed;
};

static void api_nwid_add(void *ctx, const struct zt_network_info *net)
{
	struct api_nwids *ids = ctx;
	uint64_t *v = realloc(ids->v, (ids->n + 1) * sizeof *v);

	if (!v) {
		ids->failed = true;
		return;
	}
	ids->v = v;
	ids->v[ids->n++] = net->nwid;
}

/* zt_rule_frames_total and zt_rule_bytes_total of every joined network. */
void api_rule_metrics(struct api *a, FILE *f)
{
	struct api_nwids ids = { 0 };

	zt_core_networks(a->core, api_nwid_add, &ids);
	for (unsigned b = 0; b < 2; b++) {
		struct api_rule_metric m = { .f = f, .bytes = b };

		fprintf(f, "# HELP zt_rule_%s_total %s decided by a rule of a network's policy (zt-rules(7))\n"
			"# TYPE zt_rule_%s_total counter\n", b ? "bytes" : "frames", b ? "bytes of frames" : "frames",
			b ? "bytes" : "frames");
		for (size_t i = 0; i < ids.n; i++) {
			m.nwid = ids.v[i];
			zt_core_network_rules(a->core, ids.v[i], api_rule_metric, &m);
		}
	}
	free(ids.v);
}

/* ---- POST /network/<nwid>/rules/explain ---- */

/* A member's MAC on the network, and its address if it has one (0 for
 * a group MAC); false if a unicast MAC is no member's. */
static bool api_who(uint64_t nwid, const struct fdesc_who *w, uint8_t mac[6], uint64_t *addr)
{
	if (!w->is_mac) {
		*addr = w->addr;
		zt_mac_from_address(nwid, w->addr, mac);
		return true;
	}
	memcpy(mac, w->mac, 6);
	*addr = 0;
	return (w->mac[0] & 1) || zt_mac_to_address(nwid, w->mac, addr) == 0;
}

/* The frame a description asks for, as seen from this node: its
 * direction, the remote member, and the bytes.  false and why if the
 * description does not say enough. */
static bool api_explain_frame(const struct zt_network_info *net, const struct fdesc *d, bool *inbound,
			      uint64_t *peer, uint8_t *frame, size_t *len, char *why, size_t whylen)
{
	uint8_t smac[6], dmac[6];
	uint64_t from = 0, to = 0, self = 0;

	zt_mac_to_address(net->nwid, net->mac, &self);
	if (d->from.given && !api_who(net->nwid, &d->from, smac, &from)) {
		snprintf(why, whylen, "from: a MAC of no member; give the member's ZeroTier address");
		return false;
	}
	if (d->to.given && !api_who(net->nwid, &d->to, dmac, &to)) {
		snprintf(why, whylen, "to: a MAC of no member; give the member's ZeroTier address");
		return false;
	}
	/* inbound unless said otherwise when the frame comes from another member */
	*inbound = d->inbound >= 0 ? d->inbound : d->from.given && from != self;
	if (*inbound) {
		if (!d->from.given || from == self) {
			snprintf(why, whylen, "inbound: say 'from <member>', another member than this node");
			return false;
		}
		if (!d->to.given)
			memcpy(dmac, net->mac, 6);
		*peer = from;
	} else {
		if (!d->to.given) {
			snprintf(why, whylen, "outbound: say 'to <member or MAC>'");
			return false;
		}
		if (!d->from.given)
			memcpy(smac, net->mac, 6);
		*peer = to;
	}
	*len = fdesc_build(d, smac, dmac, frame);
	return true;
}

static json_t *api_explain_json(const struct zt_policy_explain *ex, const char *policy, bool inbound, uint64_t peer)
{
	json_t *trace = json_array(), *o;

	for (unsigned i = 0; trace && i < ex->n_steps; i++) {
		const struct zt_policy_step *st = &ex->steps[i];

		json_array_append_new(trace, json_pack("{s:o,s:i,s:s,s:s,s:s}", "capability",
						       st->cap ? json_integer(st->cap_id) : json_null(),
						       "index", (int)st->index, "entry", st->text,
						       "kind", st->action ? "action" : "match",
						       "result", st->result < 0 ? "skipped" : st->action ?
						       (st->result ? "reached" : "not reached") :
						       st->result ? "matched" : "not matched"));
	}
	o = json_pack("{s:s,s:s,s:o,s:s,s:o,s:i,s:s,s:s,s:o,s:b}", "policy", policy,
		      "direction", inbound ? "inbound" : "outbound", "peer", peer ? api_hex40(peer) : json_null(),
		      "verdict", ex->verdict == ZT_ACCEPT ? "accept" : "drop",
		      "capability", ex->cap ? json_integer(ex->cap_id) : json_null(), "index", (int)ex->index,
		      "action", api_outcomes[ex->outcome < ZT_RULE_OUTCOMES ? ex->outcome : ZT_RULE_DEFAULT],
		      "why", ex->why, "trace", trace ? trace : json_null(), "traceTruncated", ex->truncated);
	if (o && ex->out.copy_to)
		json_object_set_new(o, ex->out.copy_watch ? "watchTo" : "teeTo", api_hex40(ex->out.copy_to));
	if (o && ex->out.redirect_to)
		json_object_set_new(o, "redirectTo", api_hex40(ex->out.redirect_to));
	return o;
}

int api_network_explain(struct api *a, struct api_conn *c, struct api_req *rq)
{
	struct zt_network_info *net = malloc(sizeof *net);
	struct zt_policy_explain *ex = malloc(sizeof *ex);
	uint8_t *frame = malloc(FDESC_FRAME_MAX);
	json_t *body = api_body_object(rq->body, rq->len), *reply = NULL;
	const char *text = json_string_value(json_object_get(body, "frame")), *policy = "";
	char why[API_WHY_MAX];
	unsigned status = 200;
	struct fdesc d;
	struct zt_frame f;
	bool inbound;
	uint64_t peer;
	int err;

	if (!net || !ex || !frame) {
		status = 500;
		snprintf(why, sizeof why, "out of memory");
	} else if (zt_core_network(a->core, rq->nwid, net) < 0) {
		status = 404;
		snprintf(why, sizeof why, "network %016" PRIx64 " is not joined", rq->nwid);
	} else if (!text) {
		status = 400;
		snprintf(why, sizeof why, "the body must be {\"frame\": \"<frame description>\"}");
	} else if (!fdesc_parse(text, &d, why, sizeof why) ||
		   !api_explain_frame(net, &d, &inbound, &peer, frame, &f.len, why, sizeof why)) {
		status = 400;
	} else {
		f.data = frame;
		err = zt_core_network_explain(a->core, rq->nwid, inbound, peer, &f, ex, &policy);
		if (err == -EOPNOTSUPP) {
			status = 409;
			snprintf(why, sizeof why, "no policy on the %s chain explains its decisions",
				 inbound ? "ingress" : "egress");
		} else if (err < 0) {
			status = 500;
			snprintf(why, sizeof why, "%s", strerror(-err));
		} else if (!(reply = api_explain_json(ex, policy, inbound, peer))) {
			status = 500;
			snprintf(why, sizeof why, "out of memory");
		}
	}
	json_decref(body);
	free(net);
	free(ex);
	free(frame);
	if (status != 200)
		return api_fail(a, c, status, "%s", why);
	return api_reply(a, c, 200, reply);
}
