/* rules: a policy that evaluates the network's ZeroTier flow rules
 * (networks.md §6) on the frames of an ingress or egress chain.
 *
 * The rule table arrives with every config (rules()); it is validated and
 * decoded once into fixed-size entries, so judge() only reads it and
 * bounds-checks the frame.  See zt-rules(7). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include <zt/credential.h>
#include <zt/inetaddr.h>
#include <zt/module.h>
#include <zt/netconf.h>

#define RULES_MAX 1024                  /* base table limit, §6.1 */
#define RULES_CAP_MAX 64                /* rules in a capability, §5.2 */
#define RULES_CAPS_MAX 128              /* capabilities in a config, §4.4 */
#define RULES_TAGS_MAX 128              /* tags in a config, §4.4 */
#define RULES_ADDR_MASK 0xffffffffffULL /* ZeroTier addresses are 40 bits */
#define RULES_FLAG_UNKNOWN_MATCH 0x08ULL

#define RULES_NOT 0x80
#define RULES_OR 0x40

/* Rule types, §6.1. */
enum {
	RULES_A_DROP = 0,
	RULES_A_ACCEPT = 1,
	RULES_A_TEE = 2,
	RULES_A_WATCH = 3,
	RULES_A_REDIRECT = 4,
	RULES_A_BREAK = 5,
	RULES_A_PRIORITY = 6,
	RULES_A_LAST = 15,
	RULES_M_ZT_SOURCE = 24,
	RULES_M_ZT_DEST = 25,
	RULES_M_VLAN_ID = 26,
	RULES_M_VLAN_PCP = 27,
	RULES_M_VLAN_DEI = 28,
	RULES_M_MAC_SOURCE = 29,
	RULES_M_MAC_DEST = 30,
	RULES_M_IPV4_SOURCE = 31,
	RULES_M_IPV4_DEST = 32,
	RULES_M_IPV6_SOURCE = 33,
	RULES_M_IPV6_DEST = 34,
	RULES_M_IP_TOS = 35,
	RULES_M_IP_PROTOCOL = 36,
	RULES_M_ETHERTYPE = 37,
	RULES_M_ICMP = 38,
	RULES_M_SPORT = 39,
	RULES_M_DPORT = 40,
	RULES_M_CHARACTERISTICS = 41,
	RULES_M_FRAME_SIZE = 42,
	RULES_M_RANDOM = 43,
	RULES_M_TAGS_DIFFERENCE = 44,
	RULES_M_TAGS_AND = 45,
	RULES_M_TAGS_OR = 46,
	RULES_M_TAGS_XOR = 47,
	RULES_M_TAGS_EQUAL = 48,
	RULES_M_TAG_SENDER = 49,
	RULES_M_TAG_RECEIVER = 50,
	RULES_M_INTEGER_RANGE = 51,
};

/* The value length a type needs (§6.1); 0 for types without a value and
 * for unassigned types, which may carry anything. */
static const uint8_t rules_minlen[64] = {
	[RULES_A_TEE] = 14, [RULES_A_WATCH] = 14, [RULES_A_REDIRECT] = 14,
	[RULES_M_ZT_SOURCE] = 5, [RULES_M_ZT_DEST] = 5,
	[RULES_M_VLAN_ID] = 2, [RULES_M_VLAN_PCP] = 1, [RULES_M_VLAN_DEI] = 1,
	[RULES_M_MAC_SOURCE] = 6, [RULES_M_MAC_DEST] = 6,
	[RULES_M_IPV4_SOURCE] = 5, [RULES_M_IPV4_DEST] = 5,
	[RULES_M_IPV6_SOURCE] = 17, [RULES_M_IPV6_DEST] = 17,
	[RULES_M_IP_TOS] = 3, [RULES_M_IP_PROTOCOL] = 1, [RULES_M_ETHERTYPE] = 2,
	[RULES_M_ICMP] = 3, [RULES_M_SPORT] = 4, [RULES_M_DPORT] = 4,
	[RULES_M_CHARACTERISTICS] = 8, [RULES_M_FRAME_SIZE] = 4, [RULES_M_RANDOM] = 4,
	[RULES_M_TAGS_DIFFERENCE] = 8, [RULES_M_TAGS_AND] = 8, [RULES_M_TAGS_OR] = 8,
	[RULES_M_TAGS_XOR] = 8, [RULES_M_TAGS_EQUAL] = 8, [RULES_M_TAG_SENDER] = 8,
	[RULES_M_TAG_RECEIVER] = 8, [RULES_M_INTEGER_RANGE] = 19,
};

/* Characteristics bits, §6.3. */
#define RULES_CF_INBOUND   0x8000000000000000ULL
#define RULES_CF_MULTICAST 0x4000000000000000ULL
#define RULES_CF_BROADCAST 0x2000000000000000ULL
#define RULES_CF_IP_AUTH   0x1000000000000000ULL
#define RULES_CF_MAC_AUTH  0x0800000000000000ULL

/* Frame classes for which each rule (its matches and action) is judged
 * once, when the table is decoded: IPv4 frames of these protocols. */
enum { RULES_CLASS_TCP4, RULES_CLASS_UDP4, RULES_CLASS_ICMP4, RULES_CLASSES, RULES_CLASS_NONE = RULES_CLASSES };
static const uint8_t rules_class_proto[RULES_CLASSES] = { 6, 17, 1 };

/* One decoded rule. */
struct rules_rule {
	uint8_t t;          /* as encoded: NOT, OR, type */
	uint8_t type;       /* t & 63 */
	bool first;         /* the first entry of a rule (its matches and action) */
	uint16_t skip;      /* the next entry that is an action or an OR match */
	/* first: per frame class, the first entry of the first rule from
	 * this one on that may decide a frame of the class (n: none) */
	uint16_t next[RULES_CLASSES];
	union {
		uint64_t addr;                                  /* ZT source/dest */
		struct { uint64_t addr; uint16_t len; } fwd;    /* TEE, WATCH, REDIRECT */
		uint8_t mac[6];
		struct { uint8_t ip[16]; uint8_t bits; } ip;
		struct { uint8_t mask, start, end; } tos;
		struct { uint8_t type, code, flags; } icmp;
		struct { uint16_t start, end; } range;
		struct { uint32_t id, value, own; bool has_own; } tag;  /* own: the node's value */
		struct { uint64_t start; uint32_t span; uint16_t idx; uint8_t format; } num;
		uint64_t mask;
		uint32_t u32;
		uint16_t u16;
		uint8_t u8;
	} v;
};

/* A decoded table: the base rules, or a capability's. */
struct rules_table {
	uint32_t id;                /* the capability's */
	unsigned n;
	struct rules_rule *r;
};

/* Per-rule counters: frames and bytes by direction and outcome. */
struct rules_counts {
	uint64_t frames[2][ZT_RULE_OUTCOMES];   /* [0] outbound, [1] inbound */
	uint64_t bytes[2][ZT_RULE_OUTCOMES];
};

/* Capabilities' counters, by (id, entry): a fixed open-addressed table
 * whose slots a lane claims with one compare-and-swap, since inbound
 * capabilities are the senders' and not known when the rules arrive. */
#define RULES_CAP_SLOTS 256
struct rules_cap_slot {
	uint64_t key;               /* 0 free, else RULES_CAP_KEY */
	struct rules_counts c;
};
#define RULES_CAP_KEY(id, index) (1ULL << 63 | (uint64_t)(id) << 16 | (index))

struct rules {
	struct zt_inst *zi;
	bool default_accept;        /* verdict until the first table arrives */
	bool have_table;
	struct rules_rule *table;
	unsigned n;
	struct zt_policy_tag *tags; /* the node's own, sorted by id */
	unsigned ntags;
	struct rules_table *caps;   /* the node's own, ascending id */
	unsigned ncaps;
	uint64_t flags;
	struct zt_coo coos[ZT_NETCONF_MAX_COOS];   /* the node's own certificates of ownership */
	unsigned ncoos;
	union zt_sockaddr ip6s[ZT_NETCONF_MAX_IPS];   /* its static IPv6 addresses (port: bits) */
	unsigned nip6s;
	uint64_t rng;               /* MATCH_RANDOM's generator state */
	uint64_t digest;            /* of the table and own capabilities the counters are for */
	struct rules_counts *counts;          /* n + 1: per entry, and the end of the table */
	struct rules_cap_slot *cap_slots;     /* RULES_CAP_SLOTS */

	uint64_t *accepted, *dropped, *no_match, *malformed_tables, *short_frames;
	uint64_t *copies_not_sent, *redirects_not_done;
	uint64_t *cap_accepted, *malformed_caps, *copies, *redirects, *rule_counts_lost;
};

/* Results of evaluating one table, §6.2. */
enum rules_result { RULES_NO_MATCH, RULES_DROP, RULES_ACCEPT, RULES_SUPER_ACCEPT, RULES_REDIRECT };

/* A match's outcome: plain 0/1 (NOT applies), or hardNo/hardYes (NOT ignored). */
enum { RULES_M0 = 0, RULES_M1 = 1, RULES_HARD_NO = 2, RULES_HARD_YES = 3 };

/* What judge() knows about the frame: what every rule may ask is parsed
 * once per frame, on demand (the IPv6 walk, the ports, the
 * characteristics), not once per rule. */
struct rules_frame {
	const uint8_t *dst, *src;   /* Ethernet header */
	const uint8_t *p;           /* payload */
	size_t len;
	uint16_t ethertype;
	bool ip4, ip6;
	unsigned ihl;
	int walk;                   /* -1 not yet, 0 failed, 1 done */
	uint8_t nh;                 /* final next header after the walk */
	size_t pos;                 /* its offset */
	unsigned cls;               /* its class, RULES_CLASS_NONE: none */
	int ports;                  /* -1 not yet; RULES_M1: sport, dport read; else what a port match gives */
	uint16_t sport, dport;
	bool have_cf;
	uint64_t cf;                /* the characteristics, once have_cf */
};

/* One evaluation of a table: where it ended, and in a dry run the trace
 * of the entries it went through. */
struct rules_run {
	unsigned at;                /* the deciding entry (the table's length: none) */
	int copy_at;                /* the entry whose TEE or WATCH set the copy, -1: none */
	struct zt_policy_explain *trace;   /* NULL on the data path */
	bool cap;
	uint32_t cap_id;
};

static uint64_t rules_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* splitmix64: a fast generator for MATCH_RANDOM, seeded from getrandom(). */
/* judge() runs on every data-path lane at once (node workers): its
 * counters and the random state are bumped atomically. */
static inline void count(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static uint32_t rules_random(struct rules *s)
{
	uint64_t z = __atomic_add_fetch(&s->rng, 0x9e3779b97f4a7c15ULL, __ATOMIC_RELAXED);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* ---- the table ---- */

static const struct zt_policy_tag *rules_tag_find(const struct zt_policy_tag *t, unsigned n, uint32_t id);

/* Decodes one entry; a tag match also gets the node's own value of the
 * tag (tags: the node's, sorted by id), which comes with the table. */
static void rules_decode(struct rules_rule *r, uint8_t t, const uint8_t *v, const struct zt_policy_tag *tags,
			 unsigned ntags)
{
	const struct zt_policy_tag *own;

	memset(r, 0, sizeof *r);
	r->t = t;
	r->type = t & 63;
	switch (r->type) {
	case RULES_A_TEE:
	case RULES_A_WATCH:
	case RULES_A_REDIRECT:
		r->v.fwd.addr = rules_be(v, 8) & RULES_ADDR_MASK;
		r->v.fwd.len = (uint16_t)rules_be(v + 12, 2);
		break;
	case RULES_M_ZT_SOURCE:
	case RULES_M_ZT_DEST:
		r->v.addr = rules_be(v, 5);
		break;
	case RULES_M_VLAN_ID:
	case RULES_M_ETHERTYPE:
		r->v.u16 = (uint16_t)rules_be(v, 2);
		break;
	case RULES_M_VLAN_PCP:
	case RULES_M_VLAN_DEI:
	case RULES_M_IP_PROTOCOL:
		r->v.u8 = v[0];
		break;
	case RULES_M_MAC_SOURCE:
	case RULES_M_MAC_DEST:
		memcpy(r->v.mac, v, 6);
		break;
	case RULES_M_IPV4_SOURCE:
	case RULES_M_IPV4_DEST:
		memcpy(r->v.ip.ip, v, 4);
		r->v.ip.bits = v[4] > 32 ? 32 : v[4];
		break;
	case RULES_M_IPV6_SOURCE:
	case RULES_M_IPV6_DEST:
		memcpy(r->v.ip.ip, v, 16);
		r->v.ip.bits = v[16] > 128 ? 128 : v[16];
		break;
	case RULES_M_IP_TOS:
		r->v.tos.mask = v[0];
		r->v.tos.start = v[1];
		r->v.tos.end = v[2];
		break;
	case RULES_M_ICMP:
		r->v.icmp.type = v[0];
		r->v.icmp.code = v[1];
		r->v.icmp.flags = v[2];
		break;
	case RULES_M_SPORT:
	case RULES_M_DPORT:
	case RULES_M_FRAME_SIZE:
		r->v.range.start = (uint16_t)rules_be(v, 2);
		r->v.range.end = (uint16_t)rules_be(v + 2, 2);
		break;
	case RULES_M_CHARACTERISTICS:
		r->v.mask = rules_be(v, 8);
		break;
	case RULES_M_RANDOM:
		r->v.u32 = (uint32_t)rules_be(v, 4);
		break;
	case RULES_M_TAGS_DIFFERENCE:
	case RULES_M_TAGS_AND:
	case RULES_M_TAGS_OR:
	case RULES_M_TAGS_XOR:
	case RULES_M_TAGS_EQUAL:
	case RULES_M_TAG_SENDER:
	case RULES_M_TAG_RECEIVER:
		r->v.tag.id = (uint32_t)rules_be(v, 4);
		r->v.tag.value = (uint32_t)rules_be(v + 4, 4);
		if ((own = rules_tag_find(tags, ntags, r->v.tag.id))) {
			r->v.tag.own = own->value;
			r->v.tag.has_own = true;
		}
		break;
	case RULES_M_INTEGER_RANGE:
		/* §6.1: the reader keeps end - start in 32 bits */
		r->v.num.start = rules_be(v, 8);
		r->v.num.span = (uint32_t)(rules_be(v + 8, 8) - r->v.num.start);
		r->v.num.idx = (uint16_t)rules_be(v + 16, 2);
		r->v.num.format = v[18];
		break;
	default:
		break;
	}
}

/* Checks a whole encoded table of n entries in len bytes, at most max
 * of them; 0, or -EINVAL with why filled in. */
static int rules_check(const uint8_t *rules, size_t len, unsigned n, unsigned max, char *why, size_t whylen)
{
	size_t pos = 0;

	if (n > max) {
		snprintf(why, whylen, "%u entries, at most %u allowed", n, max);
		return -EINVAL;
	}
	if (len && !rules) {
		snprintf(why, whylen, "no table bytes");
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t type, vlen;

		if (len - pos < 2) {
			snprintf(why, whylen, "entry %u: truncated header", i);
			return -EINVAL;
		}
		type = rules[pos] & 63;
		vlen = rules[pos + 1];
		if (len - pos - 2 < vlen) {
			snprintf(why, whylen, "entry %u: value of %u bytes runs past the table", i, vlen);
			return -EINVAL;
		}
		if (vlen < rules_minlen[type]) {
			snprintf(why, whylen, "entry %u: type %u has %u bytes, needs %u", i, type, vlen,
				 rules_minlen[type]);
			return -EINVAL;
		}
		pos += 2u + vlen;
	}
	if (pos != len) {
		snprintf(why, whylen, "%zu bytes after the %u entries", len - pos, n);
		return -EINVAL;
	}
	return 0;
}

static bool rules_is_l4_ports(uint8_t proto);

/* A match's value on every IPv4 frame of protocol proto: 0, 1, or -1
 * when it depends on the frame (as rules_match() would find it). */
static int rules_class_value(const struct rules_rule *r, uint8_t proto)
{
	unsigned m;

	switch (r->type) {
	case RULES_M_ETHERTYPE:
		m = r->v.u16 == 0x0800;
		break;
	case RULES_M_IP_PROTOCOL:
		m = r->v.u8 == proto;
		break;
	case RULES_M_VLAN_ID:
		m = r->v.u16 == 0;
		break;
	case RULES_M_VLAN_PCP:
	case RULES_M_VLAN_DEI:
		m = r->v.u8 == 0;
		break;
	case RULES_M_ICMP:
		return proto == 1 ? -1 : 0;             /* hardNo: NOT does not apply */
	case RULES_M_IPV6_SOURCE:
	case RULES_M_IPV6_DEST:
		return 0;                               /* hardNo */
	case RULES_M_SPORT:
	case RULES_M_DPORT:
		if (rules_is_l4_ports(proto))
			return -1;
		m = RULES_M0;
		break;
	default:
		return -1;
	}
	return (int)(m ^ (unsigned)(r->t >> 7));
}

/* Does the rule of entries [from, to] (to its action) never fire on an
 * IPv4 frame of protocol proto, with no effect of its matches on the
 * rest?  Followed as rules_eval() evaluates it: a match that would be
 * evaluated and has an effect (a tag match may skip a later DROP,
 * RANDOM draws a number) keeps the rule. */
static bool rules_never_fires(const struct rules_rule *t, unsigned from, unsigned to, uint8_t proto)
{
	int set = 1;                            /* 0, 1, or -1: not known */

	if (t[to].type == RULES_A_TEE || t[to].type == RULES_A_WATCH || t[to].type == RULES_A_REDIRECT)
		return false;                   /* a TEE not fired still counts (super) */
	for (unsigned i = from; i < to; i++) {
		bool or = t[i].t & RULES_OR;
		int v;

		if (set == 0 && !or)
			continue;               /* not evaluated */
		if (t[i].type == RULES_M_RANDOM || (t[i].type >= RULES_M_TAGS_DIFFERENCE &&
						    t[i].type <= RULES_M_TAG_RECEIVER))
			return false;
		v = rules_class_value(&t[i], proto);
		if (or)
			set = set == 1 || v == 1 ? 1 : set == 0 && v == 0 ? 0 : -1;
		else
			set = set == 0 || v == 0 ? 0 : set == 1 && v == 1 ? 1 : -1;
	}
	return set == 0;
}

/* Marks the first entry of each rule and where a frame of each class
 * goes on from there.  Matches after the last action are a rule that
 * never fires, kept as it is. */
static void rules_classify(struct rules_rule *t, unsigned n)
{
	for (unsigned c = 0; c < RULES_CLASSES; c++) {
		unsigned next = n, end = n;

		for (unsigned i = n; i-- > 0;) {
			bool first = i == 0 || t[i - 1].type <= RULES_A_LAST;

			if (t[i].type <= RULES_A_LAST && end == n)
				end = i;
			if (!first)
				continue;
			t[i].first = true;
			if (end == n || !rules_never_fires(t, i, end, rules_class_proto[c]))
				next = i;
			t[i].next[c] = (uint16_t)next;
			end = n;
		}
	}
}

/* Decodes a checked table into out (room for n), with the node's own
 * tags.  Each entry learns where evaluation goes on when a match has
 * failed: the matches up to the next action or OR match are skipped. */
static void rules_decode_table(struct rules_rule *out, const uint8_t *rules, unsigned n,
			       const struct zt_policy_tag *tags, unsigned ntags, bool classify)
{
	size_t pos = 0;
	unsigned next = n;

	for (unsigned i = 0; i < n; i++) {
		rules_decode(&out[i], rules[pos], rules + pos + 2, tags, ntags);
		pos += 2u + rules[pos + 1];
	}
	for (unsigned i = n; i-- > 0;) {
		out[i].skip = (uint16_t)next;
		if (out[i].type <= RULES_A_LAST || (out[i].t & RULES_OR))
			next = i;
	}
	if (classify)
		rules_classify(out, n);
}

/* Checks what comes with a config besides the table: the own tags
 * (sorted by id, no duplicates) and capabilities (distinct ids, each a
 * valid table of at most 64 rules). */
static int rules_check_creds(const struct zt_policy_rules *r, char *why, size_t whylen)
{
	if (r->ntags > RULES_TAGS_MAX || (r->ntags && !r->tags)) {
		snprintf(why, whylen, "%u tags, at most %u allowed", r->ntags, RULES_TAGS_MAX);
		return -EINVAL;
	}
	for (unsigned i = 1; i < r->ntags; i++)
		if (r->tags[i].id <= r->tags[i - 1].id) {
			snprintf(why, whylen, "tag %u: ids not ascending", i);
			return -EINVAL;
		}
	if (r->ncaps > RULES_CAPS_MAX || (r->ncaps && !r->caps)) {
		snprintf(why, whylen, "%u capabilities, at most %u allowed", r->ncaps, RULES_CAPS_MAX);
		return -EINVAL;
	}
	for (unsigned i = 0; i < r->ncaps; i++) {
		char inner[80];

		for (unsigned j = 0; j < i; j++)
			if (r->caps[j].id == r->caps[i].id) {
				snprintf(why, whylen, "capability %u given twice", r->caps[i].id);
				return -EINVAL;
			}
		if (rules_check(r->caps[i].rules, r->caps[i].len, r->caps[i].n, RULES_CAP_MAX, inner,
				sizeof inner) < 0) {
			snprintf(why, whylen, "capability %u: %s", r->caps[i].id, inner);
			return -EINVAL;
		}
	}
	return 0;
}

static int rules_cap_cmp(const void *a, const void *b)
{
	const struct rules_table *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void rules_caps_free(struct rules_table *caps, unsigned n)
{
	for (unsigned i = 0; caps && i < n; i++)
		free(caps[i].r);
	free(caps);
}

/* The own capabilities decoded, in ascending id (§6.4 tries them so). */
static int rules_caps_decode(const struct zt_policy_rules *r, struct rules_table **out)
{
	struct rules_table *caps;

	*out = NULL;
	if (!r->ncaps)
		return 0;
	if (!(caps = calloc(r->ncaps, sizeof *caps)))
		return -ENOMEM;
	for (unsigned i = 0; i < r->ncaps; i++) {
		caps[i].id = r->caps[i].id;
		caps[i].n = r->caps[i].n;
		if (caps[i].n && !(caps[i].r = calloc(caps[i].n, sizeof *caps[i].r))) {
			rules_caps_free(caps, r->ncaps);
			return -ENOMEM;
		}
		rules_decode_table(caps[i].r, r->caps[i].rules, caps[i].n, r->tags, r->ntags, true);
	}
	qsort(caps, r->ncaps, sizeof *caps, rules_cap_cmp);
	*out = caps;
	return 0;
}

/* FNV-1a, to tell a new rule set from the same one pushed again. */
static uint64_t rules_fnv(uint64_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t rules_digest(const struct zt_policy_rules *r)
{
	uint64_t h = rules_fnv(0xcbf29ce484222325ULL, r->rules, r->len);

	for (unsigned i = 0; i < r->ncaps; i++) {
		uint8_t id[4] = { (uint8_t)(r->caps[i].id >> 24), (uint8_t)(r->caps[i].id >> 16),
				  (uint8_t)(r->caps[i].id >> 8), (uint8_t)r->caps[i].id };

		h = rules_fnv(rules_fnv(h, id, 4), r->caps[i].rules, r->caps[i].len);
	}
	return h;
}

/* What the ipauth and macauth characteristics need of the node: its own
 * certificates of ownership, and its IPv6 addresses whose prefix makes
 * an address unspoofable (§6.3). */
static void rules_own_addresses(struct rules *s, const struct zt_policy_rules *r)
{
	s->ncoos = 0;
	for (unsigned i = 0; r->coos && i < r->ncoos && s->ncoos < ZT_NETCONF_MAX_COOS; i++)
		s->coos[s->ncoos++] = r->coos[i];
	s->nip6s = 0;
	for (unsigned i = 0; r->ips && i < r->nips && s->nip6s < ZT_NETCONF_MAX_IPS; i++)
		if (r->ips[i].sa.sa_family == AF_INET6)
			s->ip6s[s->nip6s++] = r->ips[i];
}

static int rules_rules(void *state, const struct zt_policy_rules *r)
{
	struct rules *s = state;
	struct rules_rule *table = NULL;
	struct zt_policy_tag *tags = NULL;
	struct rules_table *caps = NULL;
	struct rules_counts *counts = NULL;
	uint64_t digest;
	bool same;
	char why[128];
	int err;

	if (!r) {
		(*s->malformed_tables)++;
		zt_log(s->zi, ZT_LOG_ERR, "rule table refused: none given");
		return -EINVAL;
	}
	if ((err = rules_check(r->rules, r->len, r->n, RULES_MAX, why, sizeof why)) < 0 ||
	    (err = rules_check_creds(r, why, sizeof why)) < 0) {
		(*s->malformed_tables)++;
		zt_log(s->zi, ZT_LOG_ERR, "rule table refused, keeping the previous one: %s", why);
		return err;
	}
	digest = rules_digest(r);
	same = s->have_table && digest == s->digest && r->n == s->n;
	if ((r->n && !(table = calloc(r->n, sizeof *table))) ||
	    (r->ntags && !(tags = malloc(r->ntags * sizeof *tags))) || rules_caps_decode(r, &caps) < 0 ||
	    (!same && !(counts = calloc(r->n + 1u, sizeof *counts)))) {
		zt_log(s->zi, ZT_LOG_ERR, "rule table of %u entries: out of memory", r->n);
		free(table);
		free(tags);
		rules_caps_free(caps, r->ncaps);
		return -ENOMEM;
	}
	/* the counters stay with the rules they count: a new table or new
	 * own capabilities start them again, the same ones pushed with a
	 * config refresh keep them */
	if (!same) {
		free(s->counts);
		s->counts = counts;
		memset(s->cap_slots, 0, RULES_CAP_SLOTS * sizeof *s->cap_slots);
		s->digest = digest;
	}
	rules_decode_table(table, r->rules, r->n, r->tags, r->ntags, true);
	if (r->ntags)
		memcpy(tags, r->tags, r->ntags * sizeof *tags);
	free(s->table);
	free(s->tags);
	rules_caps_free(s->caps, s->ncaps);
	s->table = table;
	s->n = r->n;
	s->tags = tags;
	s->ntags = r->ntags;
	s->caps = caps;
	s->ncaps = r->ncaps;
	s->flags = r->flags;
	rules_own_addresses(s, r);
	s->have_table = true;
	return 0;
}

/* ---- matches, §6.3 ---- */

/* §6.3.1: the IPv6 extension header walk, once per frame. */
static bool rules_walk(struct rules_frame *fr)
{
	size_t pos = 40;
	uint8_t nh;

	if (fr->walk >= 0)
		return fr->walk == 1;
	fr->walk = 0;
	nh = fr->p[6];
	while (pos <= fr->len) {
		if (nh == 0 || nh == 43 || nh == 60 || nh == 135) {
			if (pos + 8 > fr->len)
				return false;
			nh = fr->p[pos];
			pos += (size_t)fr->p[pos + 1] * 8 + 8;
		} else {
			fr->nh = nh;
			fr->pos = pos;
			fr->walk = 1;
			return true;
		}
	}
	return false;
}

static bool rules_is_l4_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

/* The top bits of a and b agree. */
static bool rules_prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest) {
		uint8_t m = (uint8_t)(0xff << (8 - rest));

		if ((a[whole] & m) != (b[whole] & m))
			return false;
	}
	return true;
}

/* IPv6: (address AND netmask) == rule address, host bits included. */
static bool rules_ip6_eq(const uint8_t *addr, const uint8_t *rule, unsigned bits)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned b = bits >= (i + 1) * 8 ? 8 : bits > i * 8 ? bits - i * 8 : 0;
		uint8_t m = b ? (uint8_t)(0xff << (8 - b)) : 0;

		if ((addr[i] & m) != rule[i])
			return false;
	}
	return true;
}

/* The sender's IP of §6.3 in ip: an IPv4 source, an ARP's sender, a
 * Neighbour Advertisement's target, an IPv6 source.  1: found, 0: none,
 * 2: a Neighbour Solicitation, which 1.14 counts as authenticated. */
static int rules_sender_ip(const struct rules_frame *fr, union zt_sockaddr *ip)
{
	const uint8_t *p = fr->p;

	memset(ip, 0, sizeof *ip);
	if (fr->ethertype == 0x0800 && fr->len >= 20) {
		ip->in4.sin_family = AF_INET;
		memcpy(&ip->in4.sin_addr, p + 12, 4);
	} else if (fr->ethertype == 0x0806 && fr->len >= 28) {
		ip->in4.sin_family = AF_INET;
		memcpy(&ip->in4.sin_addr, p + 14, 4);
	} else if (fr->ethertype == 0x86dd && fr->len >= 40) {
		bool ndp = fr->len >= 64 && p[6] == 58 && (p[40] == 135 || p[40] == 136);

		if (ndp && p[40] == 135)
			return 2;
		ip->in6.sin6_family = AF_INET6;
		memcpy(&ip->in6.sin6_addr, p + (ndp ? 48 : 8), 16);
	} else {
		return 0;
	}
	return 1;
}

static bool rules_coos_own(const struct zt_coo *coos, unsigned n, const union zt_sockaddr *ip, const uint8_t *mac)
{
	for (unsigned i = 0; i < n; i++)
		if (ip ? zt_coo_owns_ip(&coos[i], ip) : zt_coo_owns_mac(&coos[i], mac))
			return true;
	return false;
}

/* An IPv6 address in the prefix of one of our own rfc4193 (/88) or
 * 6PLANE (/40) addresses, with NDP emulation on: a member cannot have
 * another's, so 1.14 counts it as the sender's own. */
static bool rules_unspoofable(const struct rules *s, const struct zt_policy_ctx *ctx, const union zt_sockaddr *ip)
{
	uint64_t peer;

	if (ip->sa.sa_family != AF_INET6 || !(s->flags & ZT_NETCONF_F_NDP_EMULATION))
		return false;
	for (unsigned i = 0; i < s->nip6s; i++)
		if (zt_ip6_ndp_peer(ctx->nwid, s->ip6s[i].in6.sin6_addr.s6_addr, zt_inetaddr_port(&s->ip6s[i]),
				    ip->in6.sin6_addr.s6_addr, &peer) == 0)
			return true;
	return false;
}

/* §6.3's sender IP and MAC authenticated: on ingress by a certificate of
 * ownership the sender showed (or an unspoofable IPv6 address), on
 * egress by one of our own, as 1.14's Network.cpp decides them. */
static uint64_t rules_authenticated(const struct rules *s, const struct zt_policy_ctx *ctx,
				    const struct rules_frame *fr)
{
	const struct zt_coo *coos = ctx->inbound ? ctx->peer_coos : s->coos;
	unsigned n = ctx->inbound ? (ctx->peer_coos ? ctx->n_peer_coos : 0) : s->ncoos;
	union zt_sockaddr ip;
	uint64_t cf = 0;
	int has_ip = rules_sender_ip(fr, &ip);

	if (has_ip == 2 || (has_ip == 1 && (rules_coos_own(coos, n, &ip, NULL) ||
					     (ctx->inbound && rules_unspoofable(s, ctx, &ip)))))
		cf |= RULES_CF_IP_AUTH;
	if (rules_coos_own(coos, n, NULL, fr->src))
		cf |= RULES_CF_MAC_AUTH;
	return cf;
}

static uint64_t rules_characteristics(const struct rules *s, const struct zt_policy_ctx *ctx,
				      struct rules_frame *fr)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const uint8_t *p = fr->p;
	uint64_t cf = 0;

	if (ctx->inbound)
		cf |= RULES_CF_INBOUND;
	if (fr->dst[0] & 1)
		cf |= RULES_CF_MULTICAST;
	if (memcmp(fr->dst, bcast, 6) == 0)
		cf |= RULES_CF_BROADCAST;
	cf |= rules_authenticated(s, ctx, fr);
	if (fr->ip4 && p[9] == 6 && fr->len >= (size_t)fr->ihl + 14)
		cf |= (uint64_t)(p[fr->ihl + 12] & 0x0f) << 8 | p[fr->ihl + 13];
	else if (fr->ip6 && rules_walk(fr) && fr->nh == 6 && fr->len > fr->pos + 14)
		cf |= (uint64_t)(p[fr->pos + 12] & 0x0f) << 8 | p[fr->pos + 13];
	return cf;
}

/* The frame's ports, read once: fr->ports is RULES_M1 with sport and
 * dport, or what a port match gives without them (RULES_M0: a protocol
 * without ports or too short; RULES_HARD_NO: not IP, or the IPv6 walk
 * failed). */
static void rules_ports(struct rules_frame *fr)
{
	const uint8_t *p = fr->p;
	size_t at;

	fr->ports = RULES_HARD_NO;
	if (fr->ip4) {
		fr->ports = RULES_M0;
		if (!rules_is_l4_ports(p[9]) || fr->len <= (size_t)fr->ihl + 4)
			return;
		at = fr->ihl;
	} else if (fr->ip6 && rules_walk(fr)) {
		fr->ports = RULES_M0;
		if (!rules_is_l4_ports(fr->nh) || fr->len <= fr->pos + 4)
			return;
		at = fr->pos;
	} else {
		return;
	}
	fr->sport = (uint16_t)(p[at] << 8 | p[at + 1]);
	fr->dport = (uint16_t)(p[at + 2] << 8 | p[at + 3]);
	fr->ports = RULES_M1;
}

static unsigned rules_port(const struct rules_rule *r, struct rules_frame *fr)
{
	unsigned port;

	if (fr->ports < 0)
		rules_ports(fr);
	if (fr->ports != RULES_M1)
		return (unsigned)fr->ports;
	port = r->type == RULES_M_SPORT ? fr->sport : fr->dport;
	if (fr->ip6 && port == 0)       /* as 1.14: port 0 is in no range over IPv6 */
		return RULES_M0;
	return port >= r->v.range.start && port <= r->v.range.end;
}

static unsigned rules_icmp(const struct rules_rule *r, struct rules_frame *fr)
{
	const uint8_t *p = fr->p;
	size_t at;

	if (fr->ip4 && p[9] == 1 && fr->len >= (size_t)fr->ihl + 2)
		at = fr->ihl;
	else if (fr->ip6 && rules_walk(fr) && fr->nh == 58 && fr->len >= fr->pos + 2)
		at = fr->pos;
	else
		return RULES_HARD_NO;
	if (p[at] != r->v.icmp.type)
		return RULES_HARD_NO;
	if (r->v.icmp.flags & 0x01)
		return p[at + 1] == r->v.icmp.code;
	return RULES_HARD_YES;
}

/* INTEGER_RANGE, as 1.14 reads it (zt-rules(7)). */
static unsigned rules_integer(const struct rules_rule *r, const struct rules_frame *fr)
{
	unsigned bits = (r->v.num.format & 63) + 1, bytes = (bits + 7) / 8;
	uint64_t x = 0;
	size_t idx;

	if (!(r->v.num.format & 0x80)) {
		idx = (size_t)r->v.num.idx + 8 - bytes;
		if (idx + bytes <= fr->len)
			for (size_t i = idx; i < idx + bytes; i++)
				x = x << 8 | fr->p[i];
		x &= UINT64_MAX >> (64 - bits);
	} else {
		idx = r->v.num.idx;
		if (idx + bytes <= fr->len)
			for (size_t i = idx; i < idx + bytes; i++)
				x = x >> 8 | (uint64_t)fr->p[i] << 56;
		x >>= 64 - bits;
	}
	return x >= r->v.num.start && x <= r->v.num.start + (uint64_t)r->v.num.span;
}

/* The tag with this id in a list sorted by id, or NULL. */
static const struct zt_policy_tag *rules_tag_find(const struct zt_policy_tag *t, unsigned n, uint32_t id)
{
	unsigned lo = 0, hi = n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (t[mid].id == id)
			return &t[mid];
		if (t[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Tag matches, §6.3: the own tags from the config, the remote member's
 * (sender inbound, destination outbound) from the context.  A remote tag
 * that is not known yet does not stop a frame on the side that cannot
 * know it; the other side enforces it. */
static unsigned rules_tag(const struct rules_rule *r, const struct zt_policy_ctx *ctx, bool super, bool *skip_drop)
{
	const struct zt_policy_tag *remote = ctx->peer_tags ?
		rules_tag_find(ctx->peer_tags, ctx->n_peer_tags, r->v.tag.id) : NULL;
	uint32_t x = r->v.tag.value, own = r->v.tag.own;

	if (r->type == RULES_M_TAG_SENDER || r->type == RULES_M_TAG_RECEIVER) {
		bool sender = r->type == RULES_M_TAG_SENDER;

		if (super) {
			*skip_drop = true;
			return RULES_HARD_YES;
		}
		if (sender != ctx->inbound)          /* our own side of the frame */
			return r->v.tag.has_own ? own == x : RULES_HARD_NO;
		if (remote)
			return remote->value == x;
		if (sender)
			return RULES_HARD_NO;
		*skip_drop = true;                   /* the receiver enforces it */
		return RULES_HARD_YES;
	}
	if (!r->v.tag.has_own)
		return RULES_HARD_NO;
	if (!remote) {
		if (ctx->inbound && !super)
			return RULES_HARD_NO;
		*skip_drop = true;
		return RULES_HARD_YES;
	}
	switch (r->type) {
	case RULES_M_TAGS_DIFFERENCE:
		return (own > remote->value ? own - remote->value : remote->value - own) <= x;
	case RULES_M_TAGS_AND:
		return (own & remote->value) == x;
	case RULES_M_TAGS_OR:
		return (own | remote->value) == x;
	case RULES_M_TAGS_XOR:
		return (own ^ remote->value) == x;
	default:                                     /* TAGS_EQUAL */
		return own == x && remote->value == x;
	}
}

/* Inlined into each copy of the table loop, as it was into the one loop
 * before there were two. */
static inline __attribute__((always_inline)) unsigned
rules_match(struct rules *s, const struct rules_rule *r, const struct zt_policy_ctx *ctx, struct rules_frame *fr,
	    uint64_t zs, uint64_t zd, bool super, bool *skip_drop)
{
	const uint8_t *p = fr->p;

	switch (r->type) {
	case RULES_M_ZT_SOURCE:
		return zs == r->v.addr;
	case RULES_M_ZT_DEST:
		return zd == r->v.addr;
	case RULES_M_VLAN_ID:
		return r->v.u16 == 0;       /* frames carry VLAN ID 0 */
	case RULES_M_VLAN_PCP:
	case RULES_M_VLAN_DEI:
		return r->v.u8 == 0;
	case RULES_M_MAC_SOURCE:
		return memcmp(fr->src, r->v.mac, 6) == 0;
	case RULES_M_MAC_DEST:
		return memcmp(fr->dst, r->v.mac, 6) == 0;
	case RULES_M_IPV4_SOURCE:
	case RULES_M_IPV4_DEST:
		if (!fr->ip4)
			return RULES_HARD_NO;
		return rules_prefix_eq(p + (r->type == RULES_M_IPV4_SOURCE ? 12 : 16), r->v.ip.ip, r->v.ip.bits);
	case RULES_M_IPV6_SOURCE:
	case RULES_M_IPV6_DEST:
		if (!fr->ip6)
			return RULES_HARD_NO;
		return rules_ip6_eq(p + (r->type == RULES_M_IPV6_SOURCE ? 8 : 24), r->v.ip.ip, r->v.ip.bits);
	case RULES_M_IP_TOS: {
		unsigned x;

		if (fr->ip4)
			x = p[1] & r->v.tos.mask;
		else if (fr->ip6)
			x = (unsigned)((p[0] << 4) | (p[1] >> 4)) & 0xff & r->v.tos.mask;
		else
			return RULES_HARD_NO;
		return x >= r->v.tos.start && x <= r->v.tos.end;
	}
	case RULES_M_IP_PROTOCOL:
		if (fr->ip4)
			return p[9] == r->v.u8;
		if (fr->ip6 && rules_walk(fr))
			return fr->nh == r->v.u8;
		return RULES_HARD_NO;
	case RULES_M_ETHERTYPE:
		return fr->ethertype == r->v.u16;
	case RULES_M_ICMP:
		return rules_icmp(r, fr);
	case RULES_M_SPORT:
	case RULES_M_DPORT:
		return rules_port(r, fr);
	case RULES_M_CHARACTERISTICS:
		if (!fr->have_cf) {
			fr->cf = rules_characteristics(s, ctx, fr);
			fr->have_cf = true;
		}
		return (fr->cf & r->v.mask) != 0;
	case RULES_M_FRAME_SIZE:
		return fr->len >= r->v.range.start && fr->len <= r->v.range.end;
	case RULES_M_RANDOM:
		return rules_random(s) <= r->v.u32;
	case RULES_M_TAGS_DIFFERENCE:
	case RULES_M_TAGS_AND:
	case RULES_M_TAGS_OR:
	case RULES_M_TAGS_XOR:
	case RULES_M_TAGS_EQUAL:
	case RULES_M_TAG_SENDER:
	case RULES_M_TAG_RECEIVER:
		return rules_tag(r, ctx, super, skip_drop);
	case RULES_M_INTEGER_RANGE:
		return rules_integer(r, fr);
	default:                            /* unassigned */
		return (s->flags & RULES_FLAG_UNKNOWN_MATCH) ? RULES_M1 : RULES_M0;
	}
}

/* ---- evaluation, §6.2 ---- */

/* A TEE, WATCH or REDIRECT to a third member that fired: with a kernel
 * that acts on it (ctx->out), the copy target or the new destination
 * goes into out (REDIRECT then decides, §6.2); without, evaluation goes
 * on and it is counted. */
static bool rules_forward(struct rules *s, const struct rules_rule *r, const struct zt_policy_ctx *ctx,
			  const struct rules_frame *fr, struct zt_policy_out *out, bool counting)
{
	if (r->type == RULES_A_REDIRECT) {
		if (!ctx->out) {
			if (counting)
				count(s->redirects_not_done);
			return false;
		}
		out->redirect_to = r->v.fwd.addr;
		return true;
	}
	out->copy_to = r->v.fwd.addr;
	out->copy_len = r->v.fwd.len && r->v.fwd.len < fr->len ? r->v.fwd.len : fr->len;
	out->copy_watch = r->type == RULES_A_WATCH;
	return false;
}

static void rules_text_entry(const struct rules_rule *r, char *out, size_t len);

/* A dry run records each entry it goes through; out of line, so that
 * the data path only tests whether it traces. */
static __attribute__((noinline, cold)) void rules_step(struct rules_run *run, const struct rules_rule *r,
						       unsigned i, int result)
{
	struct zt_policy_explain *ex = run->trace;
	struct zt_policy_step *st;

	if (ex->n_steps == ZT_POLICY_STEPS_MAX) {
		ex->truncated = true;
		return;
	}
	st = &ex->steps[ex->n_steps++];
	st->cap = run->cap;
	st->cap_id = run->cap_id;
	st->index = i;
	st->action = r->type <= RULES_A_LAST;
	st->result = result;
	rules_text_entry(r, st->text, sizeof st->text);
}

/* §6.2 on one table.  Inlined twice by rules_eval(), tracing a
 * constant in each: the data path's copy has no trace tests at all, and
 * the dry run's is the same code with the steps recorded. */
static inline __attribute__((always_inline)) enum rules_result
rules_eval_table(struct rules *s, const struct rules_rule *table, unsigned n, const struct zt_policy_ctx *ctx,
		 struct rules_frame *fr, struct zt_policy_out *out, struct rules_run *run, const bool tracing)
{
	uint64_t me = ctx->self & RULES_ADDR_MASK, zs = ctx->source & RULES_ADDR_MASK;
	uint64_t zd = ctx->dest & RULES_ADDR_MASK;
	bool set = true, skip_drop = false, super = false;

	memset(out, 0, sizeof *out);
	run->copy_at = -1;
	for (unsigned i = 0; i < n; i++) {
		const struct rules_rule *r = &table[i];
		unsigned m, v;

		/* rules that never fire on frames of this class are passed over
		 * (a dry run goes through them all, to show each) */
		if (!tracing && r->first && fr->cls != RULES_CLASS_NONE && r->next[fr->cls] != i) {
			if ((i = r->next[fr->cls]) >= n)
				break;
			r = &table[i];
		}

		if (r->type <= RULES_A_LAST) {
			bool fwd = r->type == RULES_A_TEE || r->type == RULES_A_WATCH || r->type == RULES_A_REDIRECT;

			run->at = i;        /* where a return below decides */
			if (tracing)
				rules_step(run, r, i, set);
			if (!set) {
				if (ctx->inbound && fwd && r->v.fwd.addr == me)
					super = true;
				set = true;
				continue;
			}
			switch (r->type) {
			case RULES_A_PRIORITY:
				return RULES_ACCEPT;
			case RULES_A_DROP:
				if (skip_drop) {
					skip_drop = false;
					continue;
				}
				return RULES_DROP;
			case RULES_A_ACCEPT:
				return super ? RULES_SUPER_ACCEPT : RULES_ACCEPT;
			case RULES_A_TEE:
			case RULES_A_WATCH:
			case RULES_A_REDIRECT:
				if (r->v.fwd.addr == zs)
					continue;
				if (r->v.fwd.addr == me) {
					if (ctx->inbound)
						return RULES_SUPER_ACCEPT;
					continue;
				}
				if (r->v.fwd.addr == zd)
					continue;
				if (rules_forward(s, r, ctx, fr, out, !tracing))
					return RULES_REDIRECT;
				if (out->copy_to)
					run->copy_at = (int)i;
				continue;
			case RULES_A_BREAK:
				return RULES_NO_MATCH;
			default:
				continue;
			}
		}
		if (!set && !(r->t & RULES_OR)) {
			if (tracing)
				rules_step(run, r, i, -1);
			else
				i = r->skip - 1u;       /* the matches up to there are skipped too */
			continue;
		}
		m = rules_match(s, r, ctx, fr, zs, zd, super, &skip_drop);
		v = m == RULES_HARD_NO ? 0 : m == RULES_HARD_YES ? 1 : m ^ (unsigned)(r->t >> 7);
		if (tracing)
			rules_step(run, r, i, (int)v);
		set = (r->t & RULES_OR) ? (set || v) : (set && v);
	}
	run->at = n;
	return RULES_NO_MATCH;
}

static enum rules_result rules_eval(struct rules *s, const struct rules_rule *table, unsigned n,
				    const struct zt_policy_ctx *ctx, struct rules_frame *fr, struct zt_policy_out *out,
				    struct rules_run *run)
{
	if (run->trace)
		return rules_eval_table(s, table, n, ctx, fr, out, run, true);
	return rules_eval_table(s, table, n, ctx, fr, out, run, false);
}

/* §6.4 step 2: does a capability accept what the base rules left
 * undecided?  Outbound the node's own, in ascending id; inbound the
 * sender's, as the kernel holds them (verified, usable), decoded here
 * onto the stack since they change with every sender.  A DROP in a
 * capability only ends that capability. */
static enum rules_result rules_caps(struct rules *s, const struct zt_policy_ctx *ctx, struct rules_frame *fr,
				    struct zt_policy_out *out, struct rules_run *run)
{
	run->cap = true;
	if (!ctx->inbound) {
		for (unsigned i = 0; i < s->ncaps; i++) {
			enum rules_result r;

			run->cap_id = s->caps[i].id;
			r = rules_eval(s, s->caps[i].r, s->caps[i].n, ctx, fr, out, run);
			if (r != RULES_NO_MATCH && r != RULES_DROP)
				return r;
		}
		return RULES_NO_MATCH;
	}
	for (unsigned i = 0; ctx->peer_caps && i < ctx->n_peer_caps; i++) {
		const struct zt_policy_cap *c = &ctx->peer_caps[i];
		struct rules_rule table[RULES_CAP_MAX];
		enum rules_result r;
		char why[80];

		if (rules_check(c->rules, c->len, c->n, RULES_CAP_MAX, why, sizeof why) < 0) {
			if (!run->trace)
				count(s->malformed_caps);
			continue;
		}
		/* decoded for this frame only: not worth classifying */
		rules_decode_table(table, c->rules, c->n, s->tags, s->ntags, false);
		run->cap_id = c->id;
		r = rules_eval(s, table, c->n, ctx, fr, out, run);
		if (r != RULES_NO_MATCH && r != RULES_DROP)
			return r;
	}
	return RULES_NO_MATCH;
}

/* The frame as the matches read it.  This, rules_decide() and
 * rules_port() are forced inline: the compiler stopped inlining them
 * once the table loop had its dry-run twin, and each call showed in the
 * data path's instruction count. */
static inline __attribute__((always_inline)) void rules_frame_init(struct rules_frame *fr, const struct zt_frame *f)
{
	fr->dst = f->data;
	fr->src = f->data + 6;
	fr->ethertype = (uint16_t)(f->data[12] << 8 | f->data[13]);
	fr->p = f->data + 14;
	fr->len = f->len - 14;
	fr->ip4 = fr->ethertype == 0x0800 && fr->len >= 20;
	fr->ip6 = fr->ethertype == 0x86dd && fr->len >= 40;
	fr->ihl = fr->ip4 ? (fr->p[0] & 15u) * 4 : 0;
	fr->walk = -1;
	fr->nh = 0;
	fr->pos = 0;
	fr->cls = RULES_CLASS_NONE;
	for (unsigned c = 0; fr->ip4 && c < RULES_CLASSES; c++)
		if (fr->p[9] == rules_class_proto[c])
			fr->cls = c;
	fr->ports = -1;
	fr->sport = fr->dport = 0;
	fr->have_cf = false;
	fr->cf = 0;
}

/* §6.4: the base table, then the capabilities if it did not decide.
 * run tells where it was decided: a capability's entry, or the base
 * table's (its BREAK, or its end when nothing matched). */
static inline __attribute__((always_inline)) enum rules_result
rules_decide(struct rules *s, const struct zt_policy_ctx *ctx, struct rules_frame *fr, struct zt_policy_out *out,
	     struct rules_run *run)
{
	enum rules_result res;
	unsigned base_at;
	int base_copy;

	run->cap = false;
	run->cap_id = 0;
	res = rules_eval(s, s->table, s->n, ctx, fr, out, run);
	if (res != RULES_NO_MATCH)
		return res;
	base_at = run->at;
	base_copy = run->copy_at;
	if ((res = rules_caps(s, ctx, fr, out, run)) == RULES_NO_MATCH) {
		run->cap = false;
		run->cap_id = 0;
		run->at = base_at;
		run->copy_at = base_copy;
	}
	return res;
}

/* The counter outcome of a decision. */
static unsigned rules_outcome(const struct rules *s, enum rules_result res, const struct rules_run *run)
{
	switch (res) {
	case RULES_DROP:
		return ZT_RULE_DROP;
	case RULES_REDIRECT:
		return ZT_RULE_REDIRECT;
	case RULES_ACCEPT:
	case RULES_SUPER_ACCEPT:
		return ZT_RULE_ACCEPT;
	default:
		return run->at < s->n ? ZT_RULE_BREAK : ZT_RULE_DEFAULT;
	}
}

/* The counters of a capability's entry: its slot, claimed on first use;
 * NULL when all slots are taken. */
static struct rules_counts *rules_cap_counts(struct rules *s, uint32_t id, unsigned index)
{
	uint64_t key = RULES_CAP_KEY(id, index), h = key * 0x9e3779b97f4a7c15ULL;

	for (unsigned k = 0; k < RULES_CAP_SLOTS; k++) {
		struct rules_cap_slot *sl = &s->cap_slots[(h >> 56 ^ k) % RULES_CAP_SLOTS];
		uint64_t cur = __atomic_load_n(&sl->key, __ATOMIC_RELAXED), free_key = 0;

		if (cur == key)
			return &sl->c;
		if (!cur && (__atomic_compare_exchange_n(&sl->key, &free_key, key, false, __ATOMIC_RELAXED,
							 __ATOMIC_RELAXED) || free_key == key))
			return &sl->c;
	}
	return NULL;
}

static void rules_bump(struct rules *s, bool cap, uint32_t cap_id, unsigned at, bool inbound, unsigned outcome,
		       size_t bytes)
{
	struct rules_counts *c = cap ? rules_cap_counts(s, cap_id, at) : s->counts ? &s->counts[at] : NULL;

	if (!c) {
		count(s->rule_counts_lost);
		return;
	}
	count(&c->frames[inbound][outcome]);
	__atomic_fetch_add(&c->bytes[inbound][outcome], bytes, __ATOMIC_RELAXED);
}

static enum zt_verdict rules_judge(void *state, const struct zt_policy_ctx *ctx, const struct zt_frame *f)
{
	struct rules *s = state;
	struct rules_frame fr;
	struct rules_run run = { 0 };
	enum rules_result res;
	struct zt_policy_out out;

	if (!f || !f->data || f->len < 14) {
		count(s->short_frames);
		count(s->dropped);
		return ZT_DROP;
	}
	if (!s->have_table) {
		count(s->default_accept ? s->accepted : s->dropped);
		return s->default_accept ? ZT_ACCEPT : ZT_DROP;
	}
	rules_frame_init(&fr, f);
	res = rules_decide(s, ctx, &fr, &out, &run);
	if (run.cap && res != RULES_NO_MATCH)
		count(s->cap_accepted);
	rules_bump(s, run.cap, run.cap_id, run.at, ctx->inbound, rules_outcome(s, res, &run), f->len);
	switch (res) {
	case RULES_ACCEPT:
	case RULES_SUPER_ACCEPT:
	case RULES_REDIRECT:
		out.super_accept = res == RULES_SUPER_ACCEPT;
		/* a caller that cannot copy, or a judgement of which 1.14
		 * makes no copy (no_copy), gets the verdict without it */
		if (out.copy_to && (!ctx->out || ctx->no_copy)) {
			count(s->copies_not_sent);
			out.copy_to = 0;
			out.copy_len = 0;
			out.copy_watch = false;
		}
		if (ctx->out) {
			*ctx->out = out;
			if (out.copy_to)
				count(s->copies);
			if (out.redirect_to)
				count(s->redirects);
		}
		if (out.copy_to && run.copy_at >= 0)
			rules_bump(s, run.cap, run.cap_id, (unsigned)run.copy_at, ctx->inbound,
				   out.copy_watch ? ZT_RULE_WATCH : ZT_RULE_TEE, f->len);
		count(s->accepted);
		return ZT_ACCEPT;
	case RULES_DROP:
		count(s->dropped);
		return ZT_DROP;
	case RULES_NO_MATCH:
		break;
	}
	/* §6.4: neither the table nor a capability accepted it */
	count(s->no_match);
	count(s->dropped);
	return ZT_DROP;
}

/* ---- the rules as text, for rule_list() and explain() ---- */

static const char *const rules_chr_names[64] = {
	[63] = "inbound", [62] = "multicast", [61] = "broadcast", [60] = "ipauth", [59] = "macauth",
	[0] = "tcp_fin", [1] = "tcp_syn", [2] = "tcp_rst", [3] = "tcp_psh", [4] = "tcp_ack",
	[5] = "tcp_urg", [6] = "tcp_ece", [7] = "tcp_cwr", [8] = "tcp_ns", [9] = "tcp_rs2",
	[10] = "tcp_rs1", [11] = "tcp_rs0",
};

static const char *const rules_tag_words[] = {
	[RULES_M_TAGS_DIFFERENCE - RULES_M_TAGS_DIFFERENCE] = "tdiff",
	[RULES_M_TAGS_AND - RULES_M_TAGS_DIFFERENCE] = "tand",
	[RULES_M_TAGS_OR - RULES_M_TAGS_DIFFERENCE] = "tor",
	[RULES_M_TAGS_XOR - RULES_M_TAGS_DIFFERENCE] = "txor",
	[RULES_M_TAGS_EQUAL - RULES_M_TAGS_DIFFERENCE] = "teq",
	[RULES_M_TAG_SENDER - RULES_M_TAGS_DIFFERENCE] = "tseq",
	[RULES_M_TAG_RECEIVER - RULES_M_TAGS_DIFFERENCE] = "treq",
};

/* "a" or "a-b" */
static int rules_text_range(char *out, size_t len, const char *kw, unsigned a, unsigned b)
{
	return a == b ? snprintf(out, len, "%s %u", kw, a) : snprintf(out, len, "%s %u-%u", kw, a, b);
}

static void rules_text_chr(uint64_t mask, char *out, size_t len)
{
	size_t pos = (size_t)snprintf(out, len, "chr ");

	for (int b = 63; b >= 0 && pos < len; b--)
		if (mask >> b & 1)
			pos += (size_t)(rules_chr_names[b] ? snprintf(out + pos, len - pos, "%s,", rules_chr_names[b]) :
					snprintf(out + pos, len - pos, "%d,", b));
	if (pos < len && out[pos - 1] == ',')
		out[pos - 1] = 0;
}

/* A match's text in the language of zt-rules(7), without NOT/OR; what
 * the language cannot say (INTEGER_RANGE, unassigned types) in plain words. */
static void rules_text_match(const struct rules_rule *r, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	const uint8_t *m = r->v.mac;

	if (r->type >= RULES_M_TAGS_DIFFERENCE && r->type <= RULES_M_TAG_RECEIVER) {
		snprintf(out, len, "%s %" PRIu32 " %" PRIu32, rules_tag_words[r->type - RULES_M_TAGS_DIFFERENCE],
			 r->v.tag.id, r->v.tag.value);
		return;
	}
	switch (r->type) {
	case RULES_M_ZT_SOURCE:
	case RULES_M_ZT_DEST:
		snprintf(out, len, "%s %010" PRIx64, r->type == RULES_M_ZT_SOURCE ? "ztsrc" : "ztdest", r->v.addr);
		return;
	case RULES_M_VLAN_ID:
		snprintf(out, len, "vlan %u", r->v.u16);
		return;
	case RULES_M_VLAN_PCP:
	case RULES_M_VLAN_DEI:
		snprintf(out, len, "%s %u", r->type == RULES_M_VLAN_PCP ? "vlanpcp" : "vlandei", r->v.u8);
		return;
	case RULES_M_MAC_SOURCE:
	case RULES_M_MAC_DEST:
		snprintf(out, len, "%s %02x:%02x:%02x:%02x:%02x:%02x", r->type == RULES_M_MAC_SOURCE ? "macsrc" :
			 "macdest", m[0], m[1], m[2], m[3], m[4], m[5]);
		return;
	case RULES_M_IPV4_SOURCE:
	case RULES_M_IPV4_DEST:
	case RULES_M_IPV6_SOURCE:
	case RULES_M_IPV6_DEST: {
		bool v6 = r->type == RULES_M_IPV6_SOURCE || r->type == RULES_M_IPV6_DEST;
		bool src = r->type == RULES_M_IPV4_SOURCE || r->type == RULES_M_IPV6_SOURCE;

		inet_ntop(v6 ? AF_INET6 : AF_INET, r->v.ip.ip, ip, sizeof ip);
		snprintf(out, len, "%s %s/%u", src ? "ipsrc" : "ipdest", ip, r->v.ip.bits);
		return;
	}
	case RULES_M_IP_TOS:
		snprintf(out, len, "iptos 0x%02x %u-%u", r->v.tos.mask, r->v.tos.start, r->v.tos.end);
		return;
	case RULES_M_IP_PROTOCOL:
		snprintf(out, len, "ipprotocol %u", r->v.u8);
		return;
	case RULES_M_ETHERTYPE:
		snprintf(out, len, "ethertype 0x%04x", r->v.u16);
		return;
	case RULES_M_ICMP:
		if (r->v.icmp.flags & 0x01)
			snprintf(out, len, "icmp %u %u", r->v.icmp.type, r->v.icmp.code);
		else
			snprintf(out, len, "icmp %u -1", r->v.icmp.type);
		return;
	case RULES_M_SPORT:
	case RULES_M_DPORT:
	case RULES_M_FRAME_SIZE:
		rules_text_range(out, len, r->type == RULES_M_SPORT ? "sport" : r->type == RULES_M_DPORT ? "dport" :
				 "framesize", r->v.range.start, r->v.range.end);
		return;
	case RULES_M_CHARACTERISTICS:
		rules_text_chr(r->v.mask, out, len);
		return;
	case RULES_M_RANDOM:
		snprintf(out, len, "random %.6f", (double)r->v.u32 / 4294967295.0);
		return;
	case RULES_M_INTEGER_RANGE:
		snprintf(out, len, "(integer range %" PRIu64 "-%" PRIu64 " at byte %u, format 0x%02x)",
			 r->v.num.start, r->v.num.start + r->v.num.span, r->v.num.idx, r->v.num.format);
		return;
	default:
		snprintf(out, len, "(match type %u)", r->type);
		return;
	}
}

/* An entry's text: an action with its arguments, or a match with its
 * "or " and "not " (AND is the language's default between matches). */
static void rules_text_entry(const struct rules_rule *r, char *out, size_t len)
{
	static const char *const actions[] = { "drop", "accept", "tee", "watch", "redirect", "break", "priority" };
	size_t pos = 0;

	if (r->type <= RULES_A_LAST) {
		if (r->type == RULES_A_TEE || r->type == RULES_A_WATCH)
			snprintf(out, len, "%s %d %010" PRIx64, actions[r->type], r->v.fwd.len == 0xffff ? -1 :
				 (int)r->v.fwd.len, r->v.fwd.addr);
		else if (r->type == RULES_A_REDIRECT)
			snprintf(out, len, "redirect %010" PRIx64, r->v.fwd.addr);
		else if (r->type <= RULES_A_PRIORITY)
			snprintf(out, len, "%s", actions[r->type]);
		else
			snprintf(out, len, "(action type %u)", r->type);
		return;
	}
	if (r->t & RULES_OR)
		pos += (size_t)snprintf(out, len, "or ");
	if ((r->t & RULES_NOT) && pos < len)
		pos += (size_t)snprintf(out + pos, len - pos, "not ");
	if (pos < len)
		rules_text_match(r, out + pos, len - pos);
}

/* The rule that ends at action entry `at`: the action, its matches,
 * ";".  Allocated; NULL if out of memory. */
static char *rules_text_rule(const struct rules_rule *table, unsigned at)
{
	unsigned first = at;
	char entry[96], *text = NULL;
	size_t len = 0;
	FILE *f;

	while (first > 0 && table[first - 1].type > RULES_A_LAST)
		first--;
	if (!(f = open_memstream(&text, &len)))
		return NULL;
	rules_text_entry(&table[at], entry, sizeof entry);
	fputs(entry, f);
	for (unsigned i = first; i < at; i++) {
		rules_text_entry(&table[i], entry, sizeof entry);
		fprintf(f, " %s", entry);
	}
	fputc(';', f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- counters and dry runs, on the main loop ---- */

static void rules_counts_load(struct zt_policy_rule *pr, const struct rules_counts *c)
{
	for (unsigned d = 0; d < 2; d++)
		for (unsigned o = 0; o < ZT_RULE_OUTCOMES; o++) {
			pr->frames[d][o] = __atomic_load_n(&c->frames[d][o], __ATOMIC_RELAXED);
			pr->bytes[d][o] = __atomic_load_n(&c->bytes[d][o], __ATOMIC_RELAXED);
		}
}

/* What an action entry decides when reached (for zt_policy_rule). */
static unsigned rules_entry_action(const struct rules_table *t, unsigned i)
{
	if (i == t->n)
		return ZT_RULE_DEFAULT;
	switch (t->r[i].type) {
	case RULES_A_DROP:
		return ZT_RULE_DROP;
	case RULES_A_ACCEPT:
	case RULES_A_PRIORITY:
		return ZT_RULE_ACCEPT;
	case RULES_A_TEE:
		return ZT_RULE_TEE;
	case RULES_A_WATCH:
		return ZT_RULE_WATCH;
	case RULES_A_REDIRECT:
		return ZT_RULE_REDIRECT;
	case RULES_A_BREAK:
		return ZT_RULE_BREAK;
	default:
		return ZT_RULE_OUTCOMES;
	}
}

/* A table's action entries and its end, with their counters (NULL
 * counts: a capability's, from its slots). */
static void rules_list_table(struct rules *s, const struct rules_table *t, const struct rules_counts *counts,
			     void (*fn)(void *ctx, const struct zt_policy_rule *r), void *ctx)
{
	for (unsigned i = 0; i <= t->n; i++) {
		struct zt_policy_rule pr = { .cap = !counts, .cap_id = t->id, .index = i };
		const struct rules_counts *c = counts ? &counts[i] : NULL;
		char *text = NULL;

		if (i < t->n && t->r[i].type > RULES_A_LAST)
			continue;
		pr.action = rules_entry_action(t, i);
		if (!counts) {
			/* find its slot without claiming one */
			for (unsigned k = 0; k < RULES_CAP_SLOTS && !c; k++)
				if (__atomic_load_n(&s->cap_slots[k].key, __ATOMIC_RELAXED) == RULES_CAP_KEY(t->id, i))
					c = &s->cap_slots[k].c;
		}
		if (c)
			rules_counts_load(&pr, c);
		if (i < t->n)
			pr.text = text = rules_text_rule(t->r, i);
		fn(ctx, &pr);
		free(text);
	}
}

static bool rules_own_cap(const struct rules *s, uint32_t id)
{
	for (unsigned i = 0; i < s->ncaps; i++)
		if (s->caps[i].id == id)
			return true;
	return false;
}

static void rules_rule_list(void *state, void (*fn)(void *ctx, const struct zt_policy_rule *r), void *ctx)
{
	struct rules *s = state;
	struct rules_table base = { 0, s->n, s->table };

	if (!s->have_table)
		return;
	rules_list_table(s, &base, s->counts, fn, ctx);
	for (unsigned i = 0; i < s->ncaps; i++)
		rules_list_table(s, &s->caps[i], NULL, fn, ctx);
	/* other members' capabilities that decided frames here (inbound) */
	for (unsigned k = 0; k < RULES_CAP_SLOTS; k++) {
		uint64_t key = __atomic_load_n(&s->cap_slots[k].key, __ATOMIC_RELAXED);
		struct zt_policy_rule pr = { .cap = true, .action = ZT_RULE_OUTCOMES };

		if (!key || rules_own_cap(s, (uint32_t)(key >> 16)))
			continue;
		pr.cap_id = (uint32_t)(key >> 16);
		pr.index = (unsigned)(key & 0xffff);
		rules_counts_load(&pr, &s->cap_slots[k].c);
		fn(ctx, &pr);
	}
}

/* Why the decision, in words, from the last steps of the trace. */
static void rules_explain_why(const struct rules *s, enum rules_result res, const struct rules_run *run,
			      struct zt_policy_explain *ex)
{
	char where[48];

	if (run->cap)
		snprintf(where, sizeof where, "capability %" PRIu32 " rule %u", run->cap_id, run->at);
	else
		snprintf(where, sizeof where, "rule %u", run->at);
	switch (res) {
	case RULES_DROP:
		snprintf(ex->why, sizeof ex->why, "%s drops it: all its matches hold", where);
		break;
	case RULES_ACCEPT:
		snprintf(ex->why, sizeof ex->why, "%s accepts it: all its matches hold%s", where,
			 run->cap ? " (the base rules did not decide)" : "");
		break;
	case RULES_SUPER_ACCEPT:
		snprintf(ex->why, sizeof ex->why, "%s accepts it: this member is the target of a copy or "
			 "redirect", where);
		break;
	case RULES_REDIRECT:
		snprintf(ex->why, sizeof ex->why, "%s redirects it to %010" PRIx64, where, ex->out.redirect_to);
		break;
	case RULES_NO_MATCH:
		if (run->at < s->n)
			snprintf(ex->why, sizeof ex->why, "rule %u breaks out of the base rules and no capability "
				 "accepts it: dropped by default", run->at);
		else
			snprintf(ex->why, sizeof ex->why, "no rule decides and no capability accepts it: dropped "
				 "by default");
		break;
	}
}

static int rules_explain(void *state, const struct zt_policy_ctx *ctx, const struct zt_frame *f,
			 struct zt_policy_explain *ex)
{
	struct rules *s = state;
	struct rules_frame fr;
	struct rules_run run = { 0 };
	enum rules_result res;

	memset(ex, 0, sizeof *ex);
	run.trace = ex;
	if (!f || !f->data || f->len < 14) {
		ex->verdict = ZT_DROP;
		ex->outcome = ZT_RULE_DROP;
		snprintf(ex->why, sizeof ex->why, "a frame of %zu bytes is shorter than an Ethernet header",
			 f ? f->len : 0);
		return 0;
	}
	if (!s->have_table) {
		ex->verdict = s->default_accept ? ZT_ACCEPT : ZT_DROP;
		ex->outcome = ZT_RULE_DEFAULT;
		snprintf(ex->why, sizeof ex->why, "no rule table from the controller yet: the policy's default, %s",
			 s->default_accept ? "accept" : "drop");
		return 0;
	}
	rules_frame_init(&fr, f);
	res = rules_decide(s, ctx, &fr, &ex->out, &run);
	ex->verdict = res == RULES_ACCEPT || res == RULES_SUPER_ACCEPT || res == RULES_REDIRECT ? ZT_ACCEPT : ZT_DROP;
	ex->out.super_accept = res == RULES_SUPER_ACCEPT;
	if (ex->verdict == ZT_DROP)
		memset(&ex->out, 0, sizeof ex->out);
	ex->cap = run.cap;
	ex->cap_id = run.cap_id;
	ex->index = run.at;
	ex->outcome = rules_outcome(s, res, &run);
	rules_explain_why(s, res, &run, ex);
	return 0;
}

/* ---- the module ---- */

static int rules_counters(struct rules *s)
{
	static const struct zt_counter_field fields[] = {
		ZT_COUNTER_FIELD(struct rules, accepted),
		ZT_COUNTER_FIELD(struct rules, dropped),
		ZT_COUNTER_FIELD(struct rules, no_match),
		ZT_COUNTER_FIELD(struct rules, malformed_tables),
		ZT_COUNTER_FIELD(struct rules, short_frames),
		ZT_COUNTER_FIELD(struct rules, copies_not_sent),
		ZT_COUNTER_FIELD(struct rules, redirects_not_done),
		ZT_COUNTER_FIELD(struct rules, cap_accepted),
		ZT_COUNTER_FIELD(struct rules, malformed_caps),
		ZT_COUNTER_FIELD(struct rules, copies),
		ZT_COUNTER_FIELD(struct rules, redirects),
		ZT_COUNTER_FIELD(struct rules, rule_counts_lost),
	};

	return zt_counters_bind(s->zi, s, fields, sizeof fields / sizeof fields[0]);
}

static int rules_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	const char *def = zt_conf_str(conf, "default");
	struct rules *s;
	int err;

	if (def && strcmp(def, "accept") != 0 && strcmp(def, "drop") != 0) {
		const struct zt_node *at = zt_node_get(conf, "default");

		zt_node_error(at ? at : conf, "must be 'accept' or 'drop'");
		return -EINVAL;
	}
	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->zi = zi;
	s->default_accept = !def || strcmp(def, "accept") == 0;
	if (getrandom(&s->rng, sizeof s->rng, GRND_NONBLOCK) != (ssize_t)sizeof s->rng)
		s->rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)s;
	if (!(s->cap_slots = calloc(RULES_CAP_SLOTS, sizeof *s->cap_slots))) {
		err = -ENOMEM;
		goto fail;
	}
	if ((err = rules_counters(s)) < 0)
		goto fail;
	*state = s;
	return 0;
fail:
	free(s->cap_slots);
	free(s);
	return err;
}

static void rules_destroy(void *state)
{
	struct rules *s = state;

	if (!s)
		return;
	free(s->table);
	free(s->tags);
	rules_caps_free(s->caps, s->ncaps);
	free(s->counts);
	free(s->cap_slots);
	free(s);
}

static const struct zt_policy_ops rules_ops = {
	.judge = rules_judge,
	.rules = rules_rules,
	.rule_list = rules_rule_list,
	.explain = rules_explain,
};

static const struct zt_opt rules_opts[] = {
	ZT_OPT_STR("default", "accept", "verdict until the network's first rule table arrives: accept or drop"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI, .name = "rules", .kind = ZT_POLICY,
	.summary = "ZeroTier flow rules from the network's config",
	.opts = rules_opts,
	.create = rules_create, .destroy = rules_destroy,
	.ops.policy = &rules_ops,
};
