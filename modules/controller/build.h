/* The controller's config builder (networks.md §8.2, §8.3) and its JSON
 * helpers: rules (§6.5), IP pools and routes, shared by the module and
 * the store test.  Signing goes through a callback, so that the module
 * signs with the node (zt_core_sign) and a test with an identity of its
 * own. */
#ifndef ZT_CONTROLLER_BUILD_H
#define ZT_CONTROLLER_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <zt/credential.h>
#include <zt/identity.h>
#include <zt/module.h>
#include <zt/netconf.h>

#include <zt/store.h>

/* Room for what the builder encodes: the base table (1024 rules of at
 * most 21 bytes) and the rules of every capability (128 of 64 rules). */
#define CTL_BASE_RULES_MAX_BYTES (ZT_NETCONF_MAX_RULES * 21)
#define CTL_RULES_MAX_BYTES (CTL_BASE_RULES_MAX_BYTES + ZT_NETCONF_MAX_CAPS * ZT_CAP_MAX_RULES * 21)
/* Room for IP text, "ffff:...:ffff" or "255.255.255.255". */
#define CTL_IP_TEXT 48

struct ctl_signer {
	uint64_t address;           /* the controller: nwid >> 24 of every network */
	int (*sign)(void *ctx, const void *msg, size_t len, uint8_t sig[ZT_SIG_LEN]);
	void *ctx;
};

/* ---- JSON of the network object ---- */

/* A boolean field as 1.14 reads it: true or false in *out, or false
 * for an array or object. */
bool ctl_json_bool(const json_t *v, bool *out);
/* One rule object (§6.5) to its normalized form (matches always have
 * "not" and "or"; actions never), NULL if it does not parse. */
json_t *ctl_rule_normalize(const json_t *in);
/* Encode a JSON array of normalized rules (§6.1): bytes, or -ENOSPC. */
int ctl_rules_encode(const json_t *rules, uint8_t *out, size_t cap, unsigned *nrules);

/* "10.147.17.5" or "fd00::1" (no prefix): 0, or -EINVAL. */
int ctl_ip_parse(const char *s, union zt_sockaddr *sa);
/* Canonical text of an IP (inet_ntop): 0, or -EINVAL. */
int ctl_ip_text(const union zt_sockaddr *sa, char out[CTL_IP_TEXT]);
/* "ip/bits" with bits within the family: 0 and the address with port =
 * bits, or -EINVAL. */
int ctl_cidr_parse(const char *s, union zt_sockaddr *sa);

/* Network "tags" (§8.6): [{"id": n, "default": n or null}] sorted by id,
 * the last of an id kept; NULL with why for anything else. */
json_t *ctl_tag_defs_normalize(const json_t *in, const char **why);
/* Network "capabilities": [{"id": n, "default": bool, "rules": [...]}]
 * sorted by id, the last of an id kept, rules normalized (unparsable
 * ones dropped, at most 64). */
json_t *ctl_cap_defs_normalize(const json_t *in, const char **why);
/* Member "tags": [[id, value]] sorted by id, the last value kept. */
json_t *ctl_member_tags_normalize(const json_t *in, const char **why);
/* Member "capabilities": [id] sorted, unique. */
json_t *ctl_member_caps_normalize(const json_t *in, const char **why);
/* A new member gets the network's capabilities marked default (§8.3):
 * 0 or -ENOMEM. */
int ctl_member_default_caps(struct zt_store_member *m, const struct zt_store_network *net);

/* ---- a member's config kept for its repeats ---- */

/* How long a config built for a member answers its repeated requests:
 * well inside the shortest credential time window (ZT_CTMD_MIN, 5 min),
 * so its COM agrees with those of members served fresh, and shorter
 * than the 60 s after which a member asks again for a fresh one. */
#define CTL_CACHE_MS 30000

/* The bytes of the config dictionary sent, with what it was built from:
 * the generation of the network's configs and the request's rules engine
 * revision, and the time it was built (its timestamp). */
struct ctl_config_cache {
	uint8_t *bytes;
	size_t len;
	int64_t ts;
	uint64_t gen, revr;
};

/* The cached config if it was built for this generation and revr less
 * than CTL_CACHE_MS before now (len set), else NULL. */
const uint8_t *ctl_cache_get(const struct ctl_config_cache *cc, uint64_t gen, uint64_t revr, int64_t now,
			     size_t *len);
/* Keep a copy of bytes: 0, or -ENOMEM with the cache emptied. */
int ctl_cache_put(struct ctl_config_cache *cc, const uint8_t *bytes, size_t len, uint64_t gen, uint64_t revr,
		  int64_t ts);
void ctl_cache_drop(struct ctl_config_cache *cc);

/* ---- building a config ---- */

struct ctl_build {
	struct zt_store *store;
	const struct zt_store_network *net;
	struct zt_store_member *member;        /* ipAssignments may grow (§8.2) */
	const struct zt_identity *identity; /* of the member, public part */
	uint64_t revr;                      /* rules engine revision of the request */
	int64_t now;
	const struct ctl_signer *signer;
	uint8_t *rules_buf;                 /* CTL_RULES_MAX_BYTES, kept alive with nc */
	const struct zt_dns *dns_service;   /* servers of this ztd's dns module, or NULL */
};

/* Fill nc (reset first) for the member as §8.3 says (its DNS servers
 * those of b->dns_service when the network has a domain and names no
 * server itself), allocating IPs from
 * the pools into b->member (§8.2), with a signed COM and, when there are
 * static IPs, a signed COO; with b->revr > 0, the member's tags and
 * capabilities, signed (§8.3).  0, -EIO (store), -ENOMEM, or the signer's
 * error. */
int ctl_build_config(const struct ctl_build *b, struct zt_netconf *nc);

/* The NETWORK_CREDENTIALS payload revoking member's COM on nwid (§8.4):
 * bytes written to out, or a negative errno. */
int ctl_revocation(const struct ctl_signer *sg, uint64_t nwid, uint64_t member,
		   int64_t now, uint32_t id, uint8_t *out, size_t cap);
/* The same for one credential of the member (type ZT_CRED_TAG or
 * ZT_CRED_CAPABILITY and its id) up to threshold. */
int ctl_cred_revocation(const struct ctl_signer *sg, uint64_t nwid, uint64_t member, uint8_t type,
			uint32_t cred_id, int64_t threshold, uint32_t id, uint8_t *out, size_t cap);

#endif
