/* Virtual networks, member side (networks.md §3, §5.7): a network's
 * state and lifecycle, its config (requested, received in chunks,
 * applied, cached) and status, the members and the credentials we push
 * and receive (COMs, revocations), the port's settings, joining and
 * leaving at run time, what modules may read.  Frames, the inbound gate
 * and multicast are port.c's.
 *
 * Below VL1 dispatch, which hands it the network verbs it receives; it
 * sends through the send half (zt_vl1_send in send.c).  It calls up to
 * the workers (worker.c) for a port joined at run time: the main loop is
 * a lane too, and a new port needs a queue on each of the workers'
 * threads, made before it starts and started after it
 * (doc/architecture.md). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include "netcache.h"
#include "network.h"
#include "worker.h"

static const char *const nc_names[NC_COUNT] = {
	"rx_frames", "tx_frames", "rx_gate_dropped", "policy_dropped", "dropped_no_config", "bad_frames",
	"rx_dropped", "tx_dropped", "tx_not_bridge", "rx_not_bridge", "tx_bridged", "rx_bridged",
	"ndp_emulated", "members_refused",
};

/* ---- networks ---- */

struct zt_network *zt_network_find(const struct zt_core *c, uint64_t nwid)
{
	for (unsigned i = 0; i < c->n_nets; i++)
		if (c->nets[i]->id == nwid)
			return c->nets[i];
	return NULL;
}

uint64_t zt_iface_nwid(const struct zt_inst *zi)
{
	const struct zt_core *c = zt_inst_core(zi);

	for (unsigned i = 0; c && i < c->n_nets; i++)
		if (c->nets[i]->iface == zi)
			return c->nets[i]->id;
	return 0;
}

/* Does a table hold a TEE, WATCH or REDIRECT (networks.md §6.1)? */
static bool rules_may_forward(const uint8_t *rules, size_t len)
{
	for (size_t pos = 0; pos + 2 <= len; pos += 2u + rules[pos + 1]) {
		unsigned type = rules[pos] & 63;

		if (type >= 2 && type <= 4)
			return true;
	}
	return false;
}

/* Members are kept in an array (walked when our groups or the
 * revocations change) and found through an address map: a frame's
 * lookup costs the same with 2 members or 100,000.  Each waits on the
 * core's wheel of members (c->member_due) for its next announcement or
 * its forgetting, so that a tick looks only at the members due. */
struct member *zt_network_member(struct zt_network *n, uint64_t address, bool create)
{
	uint32_t i = zt_addrmap_get(&n->member_index, address);
	struct member_due *due;
	struct member *m;

	if (i != ZT_ADDRMAP_NONE)
		return &n->members[i];
	if (!create || address == 0 || n->n_members >= n->core->max_members) {
		if (create && address)
			NC_INC(n, NC_MEMBERS_REFUSED);
		return NULL;
	}
	if (n->n_members == n->cap_members) {
		unsigned cap = n->cap_members ? 2 * n->cap_members : 16;
		struct member *v = realloc(n->members, cap * sizeof *v);

		if (!v)
			return NULL;
		n->members = v;
		n->cap_members = cap;
	}
	if (!(due = malloc(sizeof *due)))
		return NULL;
	if (zt_addrmap_put(&n->member_index, address, n->n_members) < 0) {
		free(due);
		return NULL;
	}
	*due = (struct member_due){ .n = n, .address = address };
	m = &n->members[n->n_members++];
	memset(m, 0, sizeof *m);
	m->address = address;
	m->com_threshold = ZT_REV_NONE;
	m->due = due;
	/* a new member hears our groups at the next tick, if it may */
	zt_wheel_set(&n->core->member_due, &due->due, zt_core_now(n->core));
	return m;
}

/* The last member takes the place of the one forgotten. */
static void member_forget(struct zt_network *n, uint32_t i)
{
	uint64_t address = n->members[i].address;
	unsigned last = --n->n_members;

	free(n->members[i].creds);
	free(n->members[i].coos);
	zt_wheel_cancel(&n->core->member_due, &n->members[i].due->due);
	free(n->members[i].due);
	zt_addrmap_del(&n->member_index, address);
	if (i != last) {
		n->members[i] = n->members[last];
		zt_addrmap_put(&n->member_index, n->members[i].address, i);   /* replaces: never allocates */
	}
}

/* A member whose peer the node forgot (nothing heard for
 * ZT_PEER_ACTIVITY_MS) and that we have not sent to meanwhile goes, its
 * credentials with it; one revoked by the controller (its COM, a tag or
 * a capability) stays, so that what was revoked is never taken again.
 * A member coming back shows its credentials again when asked (§3.10). */
static bool member_forgettable(struct zt_core *c, const struct member *m, int64_t now)
{
	return m->com_threshold == ZT_REV_NONE && !(m->creds && m->creds->nrevs) &&
	       now - m->pushed >= ZT_PEER_ACTIVITY_MS && now - m->announced >= ZT_PEER_ACTIVITY_MS &&
	       !zt_peer_find(c, m->address);
}

/* When m is next worth a look, just looked at: its next announcement
 * (ZT_ANNOUNCE_MS after the last; if it got none, as its peer is not
 * known or not through the gate, ZT_ANNOUNCE_MS from now, as the walk
 * of every member did), or earlier the time it may be forgotten. */
static int64_t member_next_look(const struct member *m, int64_t now)
{
	int64_t announce = m->announced + ZT_ANNOUNCE_MS;
	int64_t forget = (m->pushed > m->announced ? m->pushed : m->announced) + ZT_PEER_ACTIVITY_MS;

	if (announce <= now)
		announce = now + ZT_ANNOUNCE_MS;
	return forget > now && forget < announce ? forget : announce;
}

/* Times only move later unseen by the wheel (a frame's announcement, a
 * push): what is not due yet when its entry comes up waits again. */
static void member_look(void *ctx, struct zt_due *e)
{
	struct zt_due_ctx *x = ctx;
	struct member_due *due = zt_due_owner(e, struct member_due, due);
	struct zt_network *n = due->n;
	uint32_t i = zt_addrmap_get(&n->member_index, due->address);
	struct member *m = &n->members[i];

	x->c->member_visits++;
	if (x->now - m->announced >= ZT_ANNOUNCE_MS)
		zt_member_announce(n, m, x->now);
	if (member_forgettable(x->c, m, x->now)) {
		member_forget(n, i);
		return;
	}
	zt_wheel_set(&x->c->member_due, e, member_next_look(m, x->now));
}

void zt_networks_housekeep(struct zt_core *c, int64_t now)
{
	struct zt_due_ctx x = { c, now };

	zt_wheel_expire(&c->member_due, now, member_look, &x);
}

/* A new config's rule table, with our own tags and capabilities, goes
 * to every policy that takes one. */
static void policy_rules(struct zt_network *n)
{
	struct zt_policy_tag tags[ZT_NETCONF_MAX_TAGS];
	struct zt_policy_cap caps[ZT_NETCONF_MAX_CAPS];
	struct zt_policy_rules r = { n->cfg->rules, n->cfg->rules_len, n->cfg->nrules, n->cfg->flags,
				     tags, 0, caps, 0, n->cfg->coos, n->cfg->ncoos, n->cfg->ips, n->cfg->nips };
	struct zt_inst *const *chains[2] = { n->ingress, n->egress };
	unsigned counts[2] = { n->n_ingress, n->n_egress };

	/* the config's tags come sorted by id (netconf.c); a repeated id
	 * keeps the first, as 1.14's lookup finds it */
	for (unsigned i = 0; i < n->cfg->ntags && i < ZT_NETCONF_MAX_TAGS; i++)
		if (!r.ntags || tags[r.ntags - 1].id != n->cfg->tags[i].id)
			tags[r.ntags++] = (struct zt_policy_tag){ n->cfg->tags[i].id, n->cfg->tags[i].value };
	for (unsigned i = 0; i < n->cfg->ncaps && i < ZT_NETCONF_MAX_CAPS; i++) {
		const struct zt_cap *cp = &n->cfg->caps[i];
		bool dup = false;

		for (unsigned j = 0; j < r.ncaps; j++)
			dup |= caps[j].id == cp->id;
		if (!dup)
			caps[r.ncaps++] = (struct zt_policy_cap){ cp->id, cp->rules, cp->rules_len, cp->nrules };
	}

	/* the capabilities other members hold are added as they come
	 * (zt_member_usable) */
	n->rules_forward = rules_may_forward(r.rules, r.len);
	for (unsigned i = 0; i < r.ncaps && !n->rules_forward; i++)
		n->rules_forward = rules_may_forward(caps[i].rules, caps[i].len);
	for (unsigned c = 0; c < 2; c++)
		for (unsigned i = 0; i < counts[c]; i++) {
			const struct zt_module *m = zt_inst_module(chains[c][i]);

			if (m->ops.policy->rules && m->ops.policy->rules(zt_inst_state(chains[c][i]), &r) < 0)
				zt_logf(ZT_LOG_ERR, "network %s: %s refused the controller's rules", n->name,
					zt_inst_name(chains[c][i]));
		}
}

/* ---- credentials (§5.6, §5.7) ---- */

static int64_t member_rev_threshold(const struct member *m, uint8_t type, uint32_t id)
{
	for (unsigned i = 0; m->creds && i < m->creds->nrevs; i++)
		if (m->creds->revs[i].type == type && m->creds->revs[i].id == id)
			return m->creds->revs[i].threshold;
	return ZT_REV_NONE;
}

/* m's credential record, made on first use; NULL without memory. */
static struct member_creds *member_creds(struct member *m)
{
	if (!m->creds)
		m->creds = calloc(1, sizeof *m->creds);
	return m->creds;
}

/* Records a (type, id) threshold; the oldest entry makes room. */
static void member_rev_set(struct member *m, uint8_t type, uint32_t id, int64_t threshold)
{
	struct member_creds *mc = member_creds(m);
	unsigned i;

	if (!mc)
		return;

	for (i = 0; i < mc->nrevs; i++)
		if (mc->revs[i].type == type && mc->revs[i].id == id)
			break;
	if (i == mc->nrevs) {
		if (mc->nrevs == ZT_MEMBER_REVS)
			memmove(mc->revs, mc->revs + 1, --mc->nrevs * sizeof *mc->revs);
		i = mc->nrevs++;
		mc->revs[i].type = type;
		mc->revs[i].id = id;
	}
	mc->revs[i].threshold = threshold;
}

/* Rebuilds what the rules may use of m's tags, capabilities and
 * certificates of ownership: those
 * within ctmd of our config's timestamp and not revoked (§5.6). */
void zt_member_usable(struct zt_network *n, struct member *m)
{
	const struct zt_netconf *cfg = n->cfg;

	struct member_creds *c = m->creds;

	m->n_usable_coos = 0;
	if (c)
		c->n_usable_tags = c->n_usable_caps = 0;
	if (!n->configured)
		return;
	/* the usable certificates of ownership are moved to the front (they
	 * are found by id, in no order) rather than copied: they are big */
	for (unsigned i = 0; i < m->ncoos; i++)
		if (zt_cred_usable(m->coos[i].ts, cfg->ts, cfg->ctmd,
				   member_rev_threshold(m, ZT_CRED_COO, m->coos[i].id))) {
			struct zt_coo tmp = m->coos[m->n_usable_coos];

			m->coos[m->n_usable_coos++] = m->coos[i];
			m->coos[i] = tmp;
		}
	if (!c)
		return;
	for (unsigned i = 0; i < c->ntags; i++)
		if (zt_cred_usable(c->tag_ts[i], cfg->ts, cfg->ctmd,
				   member_rev_threshold(m, ZT_CRED_TAG, c->tags[i].id)))
			c->usable_tags[c->n_usable_tags++] = c->tags[i];
	for (unsigned i = 0; i < c->ncaps; i++) {
		const struct member_cap *mc = &c->caps[i];

		if (!zt_cred_usable(mc->ts, cfg->ts, cfg->ctmd, member_rev_threshold(m, ZT_CRED_CAPABILITY, mc->id)))
			continue;
		c->usable_caps[c->n_usable_caps++] = (struct zt_policy_cap){ mc->id, mc->rules, mc->len, mc->n };
		n->rules_forward |= rules_may_forward(mc->rules, mc->len);
	}
}

/* A tag shown by a member, about itself (§5.6): kept if the controller
 * signed it, it is not older than the one held, and not revoked. */
static bool member_tag_in(struct member *m, const struct zt_tag *t, const struct zt_identity *ctl)
{
	struct member_creds *c = member_creds(m);
	unsigned i = 0;

	if (!c)
		return false;
	while (i < c->ntags && c->tags[i].id < t->id)
		i++;
	if (i < c->ntags && c->tags[i].id == t->id &&
	    (c->tag_ts[i] > t->ts || (c->tag_ts[i] == t->ts && c->tags[i].value == t->value)))
		return false;
	if (member_rev_threshold(m, ZT_CRED_TAG, t->id) >= t->ts || zt_tag_verify(t, ctl) < 0)
		return false;
	if (i == c->ntags || c->tags[i].id != t->id) {
		if (c->ntags == ZT_MEMBER_TAGS)
			return false;
		memmove(&c->tags[i + 1], &c->tags[i], (c->ntags - i) * sizeof *c->tags);
		memmove(&c->tag_ts[i + 1], &c->tag_ts[i], (c->ntags - i) * sizeof *c->tag_ts);
		c->ntags++;
	}
	c->tags[i] = (struct zt_policy_tag){ t->id, t->value };
	c->tag_ts[i] = t->ts;
	return true;
}

/* A capability shown by a member: as a tag, and its custody chain must
 * verify and end at the member (§5.2). */
static bool member_cap_in(struct member *m, const struct zt_cap *cp, zt_identity_lookup_fn lookup, void *arg)
{
	struct member_creds *c = member_creds(m);
	unsigned i;

	if (!c)
		return false;
	for (i = 0; i < c->ncaps && c->caps[i].id != cp->id; i++)
		;
	if (i < c->ncaps && c->caps[i].ts >= cp->ts)
		return false;
	if (cp->rules_len > ZT_MEMBER_CAP_BYTES || zt_cap_issued_to(cp) != m->address ||
	    member_rev_threshold(m, ZT_CRED_CAPABILITY, cp->id) >= cp->ts || zt_cap_verify(cp, lookup, arg) < 0)
		return false;
	if (i == c->ncaps) {
		if (c->ncaps == ZT_MEMBER_CAPS)
			return false;
		c->ncaps++;
	}
	c->caps[i].id = cp->id;
	c->caps[i].ts = cp->ts;
	c->caps[i].n = cp->nrules;
	c->caps[i].len = cp->rules_len;
	memcpy(c->caps[i].rules, cp->rules, cp->rules_len);
	return true;
}

/* A certificate of ownership shown by a member (§5.4), about itself:
 * kept by id as a tag is; 1.14 has the ipauth and macauth
 * characteristics consult them (§6.3). */
static bool member_coo_in(struct member *m, const struct zt_coo *o, const struct zt_identity *ctl)
{
	unsigned i;

	for (i = 0; i < m->ncoos && m->coos[i].id != o->id; i++)
		;
	if (zt_coo_accept(i < m->ncoos ? &m->coos[i] : NULL, member_rev_threshold(m, ZT_CRED_COO, o->id), o,
			  ctl) != ZT_CRED_ACCEPTED)
		return false;
	if (i == m->ncoos) {
		struct zt_coo *v;

		if (m->ncoos == ZT_MEMBER_COOS || !(v = realloc(m->coos, (m->ncoos + 1u) * sizeof *v)))
			return false;
		m->coos = v;
		m->ncoos++;
	}
	m->coos[i] = *o;
	return true;
}

static void creds_build(struct zt_network *n)
{
	struct zt_wr w;

	n->creds_len = 0;
	if (!n->cfg->has_com)
		return;
	zt_wr_init(&w, n->creds, sizeof n->creds);
	if (zt_netcreds_encode(&w, &n->cfg->com, n->cfg->caps, n->cfg->ncaps, n->cfg->tags, n->cfg->ntags,
			       NULL, 0, n->cfg->coos, n->cfg->ncoos) == 0 && !w.err)
		n->creds_len = w.len;
}

/* Are our credentials due at m: never sent since the config changed, or
 * long ago (a second ago, when it asked)? */
bool zt_network_creds_due(const struct zt_network *n, const struct member *m, int64_t now, bool asked)
{
	return m->pushed <= n->config_changed || now - m->pushed >= (asked ? 1000 : ZT_CREDS_REPUSH_MS);
}

void zt_network_creds_push(struct zt_network *n, struct member *m, int64_t now, bool asked)
{
	struct zt_core *c = n->core;
	struct zt_peer *p;

	if (!n->creds_len || !m || !zt_network_creds_due(n, m, now, asked))
		return;
	/* 1.14 pushes nothing to roots or to the controller */
	p = zt_peer_find(c, m->address);
	if ((p && p->upstream) || m->address == zt_nwid_controller(n->id))
		return;
	if (zt_vl1_send(c, m->address, ZT_VERB_NETWORK_CREDENTIALS, n->creds, n->creds_len, now) == 0)
		m->pushed = now;
}

/* ---- the port's settings ---- */

/* A route to a subnet we have an address in is the kernel's own. */
static bool route_on_link(const struct zt_route *r, const struct zt_iface_addr *addrs, unsigned n_addrs)
{
	for (unsigned k = 0; k < n_addrs && r->via.sa.sa_family == AF_UNSPEC; k++)
		if (addrs[k].prefix == zt_inetaddr_port(&r->target) &&
		    zt_inetaddr_equal(&addrs[k].addr, &r->target, false))
			return true;
	return false;
}

/* The one place managed addresses and routes meet the local settings
 * (§9.4): whatever the iface module, it gets only what they allow. */
void zt_network_port_configure(struct zt_network *n)
{
	struct zt_iface_addr addrs[ZT_NETCONF_MAX_IPS];
	struct zt_iface_route routes[ZT_NETCONF_MAX_ROUTES];
	struct zt_iface_settings s = { .mtu = n->configured ? n->cfg->mtu : ZT_NET_MTU_DEFAULT, .up = true,
				       .addrs = addrs, .routes = routes };

	memcpy(s.mac, n->mac, 6);
	for (unsigned i = 0; n->configured && i < n->cfg->nips; i++) {
		if (!zt_net_settings_allow(&n->settings, &n->cfg->ips[i]))
			continue;
		addrs[s.n_addrs].addr = n->cfg->ips[i];
		addrs[s.n_addrs].prefix = zt_inetaddr_port(&n->cfg->ips[i]);
		s.n_addrs++;
	}
	for (unsigned i = 0; n->configured && i < n->cfg->nroutes; i++) {
		const struct zt_route *r = &n->cfg->routes[i];

		if (!zt_net_settings_allow(&n->settings, &r->target) || route_on_link(r, addrs, s.n_addrs))
			continue;
		routes[s.n_routes].target = r->target;
		routes[s.n_routes].prefix = zt_inetaddr_port(&r->target);
		routes[s.n_routes].via = r->via;
		routes[s.n_routes].metric = r->metric;
		s.n_routes++;
	}
	if (n->ops->configure && n->ops->configure(n->port, &s) < 0) {
		n->status = ZT_NET_PORT_ERROR;
		zt_logf(ZT_LOG_ERR, "network %s: the port could not be configured", n->name);
	}
	zt_network_dns_sync(n);
}

/* ---- configs (§3.8, §4.7) ---- */

static bool config_apply(struct zt_network *n, const uint8_t *dict, size_t len, int64_t now)
{
	struct zt_netconf *cfg = zt_netconf_new();
	struct zt_core *c = n->core;

	if (!cfg)
		return false;
	if (zt_netconf_parse(cfg, dict, len) < 0 || cfg->nwid != n->id || cfg->issued_to != c->self.address) {
		zt_logf(ZT_LOG_WARN, "network %s: refused a malformed config or one for someone else", n->name);
		zt_netconf_free(cfg);
		return false;
	}
	zt_netconf_free(n->cfg);
	n->cfg = cfg;
	n->gate_epoch++;
	if (!n->configured || n->status != ZT_NET_OK)
		zt_logf(ZT_LOG_INFO, "network %s: configured (revision %llu, %u addresses)", n->name,
			(unsigned long long)cfg->revision, cfg->nips);
	n->configured = true;
	n->bridge = zt_netconf_specialist(cfg, c->self.address) & ZT_SPECIALIST_ACTIVE_BRIDGE;
	n->status = ZT_NET_OK;
	n->last_change = now;
	n->config_changed = now;
	creds_build(n);
	zt_network_groups_update(n);
	policy_rules(n);
	for (unsigned i = 0; i < n->n_members; i++)
		zt_member_usable(n, &n->members[i]);
	zt_network_port_configure(n);
	zt_network_announce(n, now);
	return true;
}

void zt_network_config_chunk(struct zt_network *n, struct zt_peer *from, const uint8_t *body, size_t len,
			     bool pushed, uint64_t push_id, int64_t now)
{
	struct zt_config_chunk ch;
	const uint8_t *dict;
	size_t dict_len;
	int rc;

	if (from->id.address != zt_nwid_controller(n->id))
		return;   /* relayed fast-propagate chunks are not supported */
	if (zt_chunk_decode(&ch, body, len) < 0 || ch.nwid != n->id || ch.legacy ||
	    zt_config_asm_is_dup(&n->assembly, &ch) || zt_chunk_verify(&ch, &from->id) < 0)
		return;
	rc = zt_config_asm_add(&n->assembly, &ch, &dict, &dict_len);
	if (rc >= 0)
		zt_netcache_chunk(n->cache, &ch);
	if (rc != 1)
		return;
	if (config_apply(n, dict, dict_len, now)) {
		n->from_cache = false;
		zt_netcache_save(n->core, n->cache, n->id, ch.update_id);
	}
	if (pushed) {
		uint8_t ack[64];
		struct zt_wr w;

		zt_wr_init(&w, ack, sizeof ack);
		zt_wr_u64(&w, n->id);
		zt_wr_u64(&w, ch.update_id);
		/* quirk of 1.14 (§3.8): the in-re verb byte of this OK is 0x08 */
		zt_vl1_reply_ok(n->core, from, ZT_VERB_ECHO, push_id, ack, w.len, now);
	}
}

static void config_request(struct zt_network *n, int64_t now)
{
	uint8_t meta[ZT_DICT_META_CAP], pl[ZT_DICT_META_CAP + 64];
	struct zt_ncreq_meta m;
	struct zt_ncreq q = { .nwid = n->id, .has_tail = true };
	struct zt_wr mw, w;

	zt_ncreq_meta_default(&m, "linux/x86_64");
	m.majv = 1;
	m.minv = 14;
	m.revv = 1;
	zt_wr_init(&mw, meta, sizeof meta);
	if (zt_ncreq_meta_write(&m, &mw) < 0 || mw.err)
		return;
	q.meta = meta;
	q.meta_len = mw.len;
	if (n->configured) {
		q.revision = n->cfg->revision;
		q.ts = n->cfg->ts;
	}
	zt_wr_init(&w, pl, sizeof pl);
	if (zt_ncreq_encode(&w, &q) < 0 || w.err)
		return;
	n->last_request = now;
	zt_vl1_send(n->core, zt_nwid_controller(n->id), ZT_VERB_NETWORK_CONFIG_REQUEST, pl, w.len, now);
}

/* ---- verbs ---- */

/* A revocation from the controller (§5.5, §8.4): raise the target's
 * threshold; fast-propagate it to the members we know. */
static void rx_revocation(struct zt_core *c, const struct zt_net_rx *r, const struct zt_revocation *v)
{
	struct zt_network *n = zt_network_find(c, v->nwid);
	struct zt_peer *ctl;
	struct member *m;
	int64_t cred_threshold;

	if (!n || !(ctl = zt_peer_or_self(c, zt_nwid_controller(n->id))) ||
	    !(m = zt_network_member(n, v->target, true)))
		return;
	cred_threshold = member_rev_threshold(m, v->type, v->cred_id);
	if (zt_rev_accept(v, &ctl->id, &m->com_threshold, &cred_threshold) != ZT_CRED_ACCEPTED)
		return;
	if (v->type == ZT_CRED_TAG || v->type == ZT_CRED_CAPABILITY || v->type == ZT_CRED_COO) {
		member_rev_set(m, v->type, v->cred_id, cred_threshold);
		zt_member_usable(n, m);
	}
	m->gate_epoch = 0;
	zt_logf(ZT_LOG_INFO, "network %s: member %010llx revoked by the controller", n->name,
		(unsigned long long)v->target);
	if (v->flags & 0x01) {
		uint8_t pl[256];
		struct zt_wr w;

		zt_wr_init(&w, pl, sizeof pl);
		if (zt_netcreds_encode(&w, NULL, NULL, 0, NULL, 0, v, 1, NULL, 0) < 0 || w.err)
			return;
		for (unsigned i = 0; i < n->n_members; i++) {
			uint64_t a = n->members[i].address;

			if (a != r->peer->id.address && a != ctl->id.address && a != v->target)
				zt_vl1_send(c, a, ZT_VERB_NETWORK_CREDENTIALS, pl, w.len, r->now);
		}
	}
}

static const struct zt_identity *identity_lookup(uint64_t addr, void *arg)
{
	struct zt_peer *p = zt_peer_or_self(arg, addr);

	return p ? &p->id : NULL;
}

/* The member a tag or capability is about, on a network we are in, and
 * the controller that must have signed it. */
static struct member *cred_member(struct zt_core *c, uint64_t nwid, uint64_t issued_to, struct zt_network **np,
				  const struct zt_identity **ctl)
{
	struct zt_network *n = zt_network_find(c, nwid);
	struct zt_peer *p;

	if (!n || !n->configured || !issued_to || issued_to == c->self.address ||
	    !(p = zt_peer_or_self(c, zt_nwid_controller(nwid))))
		return NULL;
	*np = n;
	*ctl = &p->id;
	return zt_network_member(n, issued_to, true);
}

/* Tags, capabilities and certificates of ownership, filed under the
 * member they were issued to. */
static void rx_tags_caps(struct zt_core *c, const struct zt_netcreds *nc)
{
	const struct zt_identity *ctl;
	struct zt_network *n;
	struct member *m;
	struct zt_tag tag;
	struct zt_cap cap;
	struct zt_coo coo;

	for (unsigned i = 0; zt_netcreds_tag(nc, i, &tag) == 0; i++)
		if ((m = cred_member(c, tag.nwid, tag.issued_to, &n, &ctl)) && member_tag_in(m, &tag, ctl))
			zt_member_usable(n, m);
	for (unsigned i = 0; zt_netcreds_cap(nc, i, &cap) == 0; i++)
		if ((m = cred_member(c, cap.nwid, zt_cap_issued_to(&cap), &n, &ctl)) &&
		    member_cap_in(m, &cap, identity_lookup, c))
			zt_member_usable(n, m);
	for (unsigned i = 0; zt_netcreds_coo(nc, i, &coo) == 0; i++)
		if ((m = cred_member(c, coo.nwid, coo.issued_to, &n, &ctl)) && member_coo_in(m, &coo, ctl))
			zt_member_usable(n, m);
}

void zt_network_credentials_in(struct zt_core *c, const struct zt_net_rx *r)
{
	struct zt_netcreds nc;
	struct zt_com com;
	struct zt_revocation rev;

	if (zt_netcreds_decode(&nc, r->pl, r->pl_len) < 0)
		return;
	for (unsigned i = 0; zt_netcreds_rev(&nc, i, &rev) == 0; i++)
		rx_revocation(c, r, &rev);
	rx_tags_caps(c, &nc);
	for (unsigned i = 0; zt_netcreds_com(&nc, i, &com) == 0; i++) {
		struct zt_network *n = zt_network_find(c, zt_com_nwid(&com));
		struct zt_peer *ctl;
		struct member *m;

		if (!n || zt_com_issued_to(&com) != r->peer->id.address)
			continue;
		ctl = zt_peer_or_self(c, zt_nwid_controller(n->id));
		if (!ctl || zt_com_verify(&com, &ctl->id) < 0)
			continue;
		m = zt_network_member(n, r->peer->id.address, true);
		if (m && (!m->has_com || zt_com_timestamp(&com) >= zt_com_timestamp(&m->com))) {
			m->com = com;
			m->has_com = true;
			m->gate_epoch = 0;
		}
		/* a member that shows its credentials before we showed ours
		 * (one met on the LAN with no root, zt-lan(7)) gets ours and
		 * our groups, so that its broadcasts can reach us */
		if (m && !m->pushed)
			zt_network_meet(n, r->peer, r->now);
	}
}

void zt_network_error(struct zt_core *c, const struct zt_net_rx *r, const struct zt_error *e)
{
	struct zt_network *n = e->has_nwid ? zt_network_find(c, e->nwid) : NULL;
	bool from_controller;

	if (!n)
		return;
	from_controller = r->peer->id.address == zt_nwid_controller(n->id);
	switch (e->code) {
	case ZT_ERR_OBJ_NOT_FOUND:
	case ZT_ERR_UNSUPPORTED_OPERATION:
		if (from_controller && e->in_re_verb == ZT_VERB_NETWORK_CONFIG_REQUEST && n->status != ZT_NET_NOT_FOUND) {
			n->status = ZT_NET_NOT_FOUND;
			zt_netcache_remove(c, n->id);
			zt_logf(ZT_LOG_WARN, "network %s: the controller does not know this network", n->name);
		}
		break;
	case ZT_ERR_NETWORK_ACCESS_DENIED:
		if (from_controller && n->status != ZT_NET_ACCESS_DENIED) {
			n->status = ZT_NET_ACCESS_DENIED;
			zt_netcache_remove(c, n->id);
			zt_logf(ZT_LOG_WARN, "network %s: access denied by the controller (not authorized)", n->name);
		}
		break;
	case ZT_ERR_NETWORK_AUTHENTICATION_REQUIRED:
		if (from_controller)
			n->status = ZT_NET_AUTHENTICATION_REQUIRED;
		break;
	case ZT_ERR_NEED_MEMBERSHIP_CERTIFICATE:
		zt_network_creds_push(n, zt_network_member(n, r->peer->id.address, true), r->now, true);
		break;
	default:
		break;
	}
}

/* The node just heard from a root for the first time: requests sent
 * before it could look up the controller may have timed out, so ask now. */
void zt_networks_online(struct zt_core *c, int64_t now)
{
	for (unsigned i = 0; i < c->n_nets; i++)
		if (!c->nets[i]->configured || c->nets[i]->from_cache)
			config_request(c->nets[i], now);
}

/* ---- timers ---- */

void zt_networks_tick(struct zt_core *c, int64_t now)
{
	for (unsigned i = 0; i < c->n_nets; i++) {
		struct zt_network *n = c->nets[i];

		if (now - n->last_request >= (n->configured && !n->from_cache ? ZT_CONFIG_REFRESH_MS : ZT_CONFIG_RETRY_MS))
			config_request(n, now);
		/* the members' own announcements are on the wheel */
		if (n->configured && now - n->last_announce >= ZT_ANNOUNCE_MS)
			zt_network_announce_upstream(n, now);
	}
	zt_mcast_expire(c, now);
}

/* ---- lifecycle ---- */

struct zt_network *zt_network_new(struct zt_core *c, uint64_t nwid, struct zt_inst *iface,
				  struct zt_inst *const *ingress, unsigned n_ingress,
				  struct zt_inst *const *egress, unsigned n_egress)
{
	struct zt_network *n = calloc(1, sizeof *n), **v;

	if (!n)
		return NULL;
	n->cfg = zt_netconf_new();
	n->gate_epoch = 1;   /* members start at 0: no verdict yet */
	n->pending = calloc(ZT_PENDING_MCAST, sizeof *n->pending);
	n->cache = zt_netcache_new();
	v = realloc(c->nets, (c->n_nets + 1) * sizeof *v);
	if (!n->cfg || !n->pending || !n->cache || !v) {
		zt_netcache_free(n->cache);
		free(n->pending);
		zt_netconf_free(n->cfg);
		free(v == c->nets ? NULL : v);
		free(n);
		return NULL;
	}
	c->nets = v;
	n->core = c;
	n->id = nwid;
	snprintf(n->name, sizeof n->name, "%016llx", (unsigned long long)nwid);
	n->iface = iface;
	n->ops = zt_inst_module(iface)->ops.iface;
	n->port = zt_inst_state(iface);
	n->queues[0] = (struct port_queue){ iface, n->ops, n->port };
	for (unsigned i = 0; i < n_ingress && i < ZT_MAX_CHAIN; i++)
		n->ingress[n->n_ingress++] = ingress[i];
	for (unsigned i = 0; i < n_egress && i < ZT_MAX_CHAIN; i++)
		n->egress[n->n_egress++] = egress[i];
	zt_mac_from_address(nwid, c->self.address, n->mac);
	zt_config_asm_init(&n->assembly);
	n->status = ZT_NET_REQUESTING_CONFIGURATION;
	n->last_request = -ZT_CONFIG_REFRESH_MS;
	zt_inst_set_frame_sink(iface, zt_port_rx, n);
	zt_inst_set_mcast_sink(iface, zt_port_mcast, n);
	c->nets[c->n_nets++] = n;
	zt_network_settings_load(n);
	zt_network_port_configure(n);
	zt_logf(ZT_LOG_INFO, "network %s: joining (controller %010llx)", n->name,
		(unsigned long long)zt_nwid_controller(nwid));
	return n;
}

void zt_network_free(struct zt_network *n)
{
	struct zt_core *c;

	if (!n)
		return;
	c = n->core;
	for (unsigned i = 0; i < c->n_nets; i++)
		if (c->nets[i] == n) {
			c->nets[i] = c->nets[--c->n_nets];
			break;
		}
	/* the port's sinks are left alone: by now the pipeline has stopped
	 * (and may have destroyed) the iface instance */
	zt_network_local_clear(n, false);
	zt_config_asm_fini(&n->assembly);
	zt_netconf_free(n->cfg);
	zt_netcache_free(n->cache);
	free(n->pending);
	free(n->routes);
	for (unsigned i = 0; i < n->n_members; i++) {
		free(n->members[i].creds);
		free(n->members[i].coos);
		zt_wheel_cancel(&c->member_due, &n->members[i].due->due);
		free(n->members[i].due);
	}
	free(n->members);
	zt_addrmap_free(&n->member_index);
	free(n);
}

struct zt_core *zt_network_core(const struct zt_network *n)
{
	return n->core;
}

uint64_t zt_network_id(const struct zt_network *n)
{
	return n->id;
}

/* ---- what modules may read ---- */

static void network_info(const struct zt_network *n, struct zt_network_info *out)
{
	memset(out, 0, sizeof *out);
	out->nwid = n->id;
	memcpy(out->mac, n->mac, 6);
	out->status = zt_net_status_name(n->status);
	out->mtu = ZT_NET_MTU_DEFAULT;
	out->port = n->ops->port_name ? n->ops->port_name(n->port) : NULL;
	if (!out->port)
		out->port = zt_inst_name(n->iface);
	out->rx_frames = ZT_LOAD(n->counters[NC_RX_FRAMES]);
	out->rx_dropped = ZT_LOAD(n->counters[NC_RX_DROPPED]);
	out->tx_frames = ZT_LOAD(n->counters[NC_TX_FRAMES]);
	out->tx_dropped = ZT_LOAD(n->counters[NC_TX_DROPPED]);
	out->settings = n->settings;
	out->settings_fixed = n->settings_fixed;
	out->dns_applied = n->dns_applied[0] != '\0';
	if (!n->configured)
		return;
	out->dns = n->cfg->dns;
	snprintf(out->name, sizeof out->name, "%s", n->cfg->name);
	out->public_net = n->cfg->type == ZT_NET_PUBLIC;
	out->mtu = n->cfg->mtu;
	out->broadcast = n->cfg->flags & ZT_NETCONF_F_BROADCAST;
	out->bridge = n->bridge;
	out->revision = n->cfg->revision;
	for (unsigned i = 0; i < n->cfg->nips && out->n_addrs < ZT_INFO_MAX_ADDRS; i++)
		out->addrs[out->n_addrs++] = n->cfg->ips[i];
	for (unsigned i = 0; i < n->cfg->nroutes && out->n_routes < ZT_INFO_MAX_ROUTES; i++) {
		out->routes[out->n_routes].target = n->cfg->routes[i].target;
		out->routes[out->n_routes].via = n->cfg->routes[i].via;
		out->routes[out->n_routes].flags = n->cfg->routes[i].flags;
		out->routes[out->n_routes].metric = n->cfg->routes[i].metric;
		out->n_routes++;
	}
	for (unsigned i = 0; i < n->n_own && out->n_groups < ZT_INFO_MAX_GROUPS; i++) {
		if (zt_mac_is_broadcast(n->own[i].mac) && n->own[i].adi == 0)
			continue;   /* §9.3: not the broadcast group */
		memcpy(out->groups[out->n_groups].mac, n->own[i].mac, 6);
		out->groups[out->n_groups++].adi = n->own[i].adi;
	}
	for (unsigned i = 0; i < n->cfg->ntags && out->n_tags < ZT_INFO_MAX_TAGS; i++)
		out->tags[out->n_tags++] = (struct zt_policy_tag){ n->cfg->tags[i].id, n->cfg->tags[i].value };
}

static int net_cmp(const void *a, const void *b)
{
	uint64_t x = (*(struct zt_network *const *)a)->id, y = (*(struct zt_network *const *)b)->id;

	return x < y ? -1 : x > y;
}

void zt_core_networks(const struct zt_core *c,
		      void (*fn)(void *ctx, const struct zt_network_info *net), void *ctx)
{
	struct zt_network **sorted = malloc((c->n_nets + 1) * sizeof *sorted);
	struct zt_network_info *info = malloc(sizeof *info);

	if (sorted && info) {
		if (c->n_nets)   /* c->nets is NULL while none was joined */
			memcpy(sorted, c->nets, c->n_nets * sizeof *sorted);
		qsort(sorted, c->n_nets, sizeof *sorted, net_cmp);
		for (unsigned i = 0; i < c->n_nets; i++) {
			network_info(sorted[i], info);
			fn(ctx, info);
		}
	}
	free(info);
	free(sorted);
}

int zt_core_network(const struct zt_core *c, uint64_t nwid, struct zt_network_info *out)
{
	const struct zt_network *n = zt_network_find(c, nwid);

	if (!n)
		return -ENOENT;
	network_info(n, out);
	return 0;
}

/* ---- joining and leaving at run time ---- */

/* A joined network's port and chains, the port first. */
static void ports_destroy(const struct zt_join_ports *jp)
{
	zt_inst_destroy(jp->iface);
	for (unsigned i = 0; i < jp->n_ingress; i++)
		zt_inst_destroy(jp->ingress[i]);
	for (unsigned i = 0; i < jp->n_egress; i++)
		zt_inst_destroy(jp->egress[i]);
}

static int chain_start(struct zt_network *n, struct zt_inst *const *chain, unsigned count)
{
	int rc;

	for (unsigned i = 0; i < count; i++)
		if ((rc = zt_inst_start(chain[i])) < 0) {
			zt_logf(ZT_LOG_ERR, "network %s: %s could not start: %s", n->name, zt_inst_name(chain[i]),
				strerror(-rc));
			return rc;
		}
	return 0;
}

static int join(struct zt_core *c, uint64_t nwid)
{
	struct zt_join_ports jp = { 0 };
	struct zt_network *n;
	int rc;

	if (zt_network_find(c, nwid))
		return 0;
	if (!c->join_ports || (nwid >> 56) == 0xff)
		return -EINVAL;   /* ad-hoc networks are not supported */
	if ((rc = c->join_ports(c->join_ctx, nwid, &jp)) < 0) {
		ports_destroy(&jp);
		return rc;
	}
	n = zt_network_new(c, nwid, jp.iface, jp.ingress, jp.n_ingress, jp.egress, jp.n_egress);
	if (!n) {
		ports_destroy(&jp);
		return -ENOMEM;
	}
	n->dynamic = true;
	zt_workers_add_port(c, n, jp.iface);
	/* a port without its chains would pass what the rules forbid */
	if (chain_start(n, n->ingress, n->n_ingress) < 0 || chain_start(n, n->egress, n->n_egress) < 0) {
		n->status = ZT_NET_PORT_ERROR;
	} else if ((rc = zt_inst_start(jp.iface)) < 0) {
		zt_logf(ZT_LOG_ERR, "network %s: its port %s could not start: %s", n->name,
			zt_inst_name(jp.iface), strerror(-rc));
		n->status = ZT_NET_PORT_ERROR;
	} else {
		zt_workers_start_port(c, n);
	}
	return 0;
}

/* A network listed in ztd.yaml is the config's: joining it at run time
 * changes nothing, and a join remembered from before it was listed there
 * is forgotten. */
static bool in_config(const struct zt_core *c, uint64_t nwid, const char *join_path)
{
	const struct zt_network *n = zt_network_find(c, nwid);

	if (!n || n->dynamic)
		return false;
	if (unlink(join_path) == 0)
		zt_logf(ZT_LOG_WARN, "network %s: listed in ztd.yaml, which wins over %s (a join at run time): "
			"removed it", n->name, join_path);
	else
		zt_logf(ZT_LOG_INFO, "network %s: listed in ztd.yaml: joined there already", n->name);
	return true;
}

int zt_core_join(struct zt_core *c, uint64_t nwid)
{
	char *path = zt_network_file(c, nwid, "join");
	int rc, werr;

	if (!path)
		return -ENOMEM;
	if (in_config(c, nwid, path)) {
		free(path);
		return 0;
	}
	rc = join(c, nwid);
	if (rc == 0) {
		zt_networks_dir_make(c);
		/* the join is acknowledged once it would outlast a crash */
		werr = zt_file_write(path, "", 0, 0644);
		if (werr < 0)
			zt_logf(ZT_LOG_WARN, "%s: %s: the network will not be joined again after a restart",
				path, strerror(-werr));
	}
	free(path);
	return rc;
}

int zt_core_leave(struct zt_core *c, uint64_t nwid)
{
	struct zt_network *n = zt_network_find(c, nwid);
	struct zt_join_ports jp;
	char *path;

	if (!n)
		return -ENOENT;
	if (!n->dynamic)
		return -EPERM;
	jp.iface = n->iface;
	jp.n_ingress = n->n_ingress;
	jp.n_egress = n->n_egress;
	memcpy(jp.ingress, n->ingress, n->n_ingress * sizeof *n->ingress);
	memcpy(jp.egress, n->egress, n->n_egress * sizeof *n->egress);
	zt_logf(ZT_LOG_INFO, "network %s: left", n->name);
	/* the workers are out of their callbacks while we write */
	for (unsigned i = 1; i < ZT_MAX_WORKERS; i++)
		if (n->queues[i].zi) {
			zt_inst_stop(n->queues[i].zi);
			zt_inst_destroy(n->queues[i].zi);
		}
	/* while the port is still on the host: its DNS is taken back from
	 * systemd-resolved, not merely lost with the link */
	zt_network_local_clear(n, true);
	zt_inst_stop(jp.iface);
	zt_network_free(n);
	ports_destroy(&jp);
	path = zt_network_file(c, nwid, "join");
	if (path && unlink(path) < 0 && errno != ENOENT)
		zt_logf(ZT_LOG_WARN, "%s: %s: the network will be joined again after a restart", path,
			strerror(errno));
	free(path);
	zt_netcache_remove(c, nwid);
	return 0;
}

void zt_networks_rejoin(struct zt_core *c)
{
	char *dir, *path;
	DIR *d;
	struct dirent *e;

	if (asprintf(&dir, "%s/networks.d", c->home) < 0)
		return;
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		char *end;
		uint64_t nwid;

		if (strlen(e->d_name) != 21 || strcmp(e->d_name + 16, ".join") != 0)
			continue;
		nwid = strtoull(e->d_name, &end, 16);
		if (end != e->d_name + 16)
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0)
			continue;
		if (!in_config(c, nwid, path))
			join(c, nwid);
		free(path);
	}
	if (d)
		closedir(d);
	free(dir);
}

void zt_networks_counters(const struct zt_core *c,
			  void (*fn)(void *ctx, const char *instance, const char *name, uint64_t value), void *ctx)
{
	for (unsigned i = 0; i < c->n_nets; i++) {
		char name[32];

		snprintf(name, sizeof name, "network@%s", c->nets[i]->name);
		for (unsigned k = 0; k < NC_COUNT; k++)
			fn(ctx, name, nc_names[k], c->nets[i]->counters[k]);
	}
}

/* At start: each network's cached config, until its controller answers. */
void zt_networks_restore(struct zt_core *c)
{
	int64_t now = zt_core_now(c);

	for (unsigned i = 0; i < c->n_nets; i++) {
		struct zt_network *n = c->nets[i];
		const uint8_t *dict;
		size_t len;
		char *path;

		if (n->configured || zt_netcache_load(c, n->id, &n->assembly, &dict, &len, &path) < 0)
			continue;
		n->from_cache = config_apply(n, dict, len, now);
		if (n->from_cache)
			zt_logf(ZT_LOG_INFO, "network %s: revision %llu from %s until the controller answers", n->name,
				(unsigned long long)n->cfg->revision, path);
		free(path);
	}
}
