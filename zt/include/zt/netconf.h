/* The network layer's names and codecs (networks.md §2, §3.6-§3.10, §4,
 * §11.1): MACs, multicast groups, managed IPv6 addresses, device names;
 * the network configuration and its dictionary; config chunks and their
 * reassembly; NETWORK_CONFIG_REQUEST; NETWORK_CREDENTIALS.
 *
 * Functions return 0 (or a length) or a negative errno and write their
 * out-parameters only on success.  The dictionary codec is <zt/dict.h>,
 * the credentials are <zt/credential.h>. */
#ifndef ZT_NETCONF_H
#define ZT_NETCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zt/credential.h>
#include <zt/dict.h>
#include <zt/identity.h>
#include <zt/module.h>
#include <zt/packet.h>

/* ---- names (§2, §11.1) ---- */

#define ZT_MAC_TEXT_LEN 18          /* "xx:xx:xx:xx:xx:xx" and NUL */
#define ZT_RFC4193_PREFIX 88
#define ZT_6PLANE_PREFIX 40
#define ZT_DEVNAME_LEN 11           /* "zt" + 8 characters + NUL */

/* First octet of every member MAC on nwid (§2.3). */
uint8_t zt_nwid_mac_prefix(uint64_t nwid);
/* MAC of address on nwid. */
void zt_mac_from_address(uint64_t nwid, uint64_t addr, uint8_t mac[6]);
/* Address behind a member MAC: 0, or -EINVAL if mac[0] is not this
 * network's first octet. */
int zt_mac_to_address(uint64_t nwid, const uint8_t mac[6], uint64_t *addr);
void zt_mac_fmt(const uint8_t mac[6], char out[ZT_MAC_TEXT_LEN]);
/* "xx:xx:xx:xx:xx:xx" (either case): 0 or -EINVAL. */
int zt_mac_parse(uint8_t mac[6], const char *s);
static inline bool zt_mac_is_multicast(const uint8_t mac[6]) { return mac[0] & 1; }
bool zt_mac_is_broadcast(const uint8_t mac[6]);

#define ZT_ETHERTYPE_VLAN 0x8100
/* Whether a frame whose payload after the 14-byte Ethernet header is len
 * bytes fits a network of this MTU.  An IEEE 802.1Q tag comes on top, as
 * on any Ethernet: a VLAN device on the port has the port's MTU, and its
 * frames are MTU + 18 bytes. */
static inline bool zt_frame_fits(unsigned mtu, uint16_t ethertype, size_t len)
{
	return len <= (size_t)mtu + (ethertype == ZT_ETHERTYPE_VLAN ? 4 : 0);
}

/* A multicast group (§2.4); ordered by MAC as a 48-bit integer, then ADI. */
struct zt_mcast_group {
	uint8_t mac[6];
	uint32_t adi;
};

int zt_mcast_cmp(const struct zt_mcast_group *a, const struct zt_mcast_group *b);
/* (ff:ff:ff:ff:ff:ff, 0). */
void zt_mcast_broadcast(struct zt_mcast_group *g);
/* (ff:ff:ff:ff:ff:ff, ipv4) for an ARP request for ipv4 (host order). */
void zt_mcast_arp(struct zt_mcast_group *g, uint32_t ipv4);
/* (33:33:ff:XX:YY:ZZ, 0): the solicited-node group of an IPv6 address. */
void zt_mcast_solicited_node(struct zt_mcast_group *g, const uint8_t ip6[16]);
/* The group an outbound frame goes to: (to, 0), or the ARP group for an
 * IPv4 ARP request sent to broadcast (§2.4). */
void zt_mcast_for_frame(struct zt_mcast_group *g, const uint8_t to[6], uint16_t ethertype,
			const uint8_t *payload, size_t len);
/* True iff ethertype/payload is an IPv4 ARP request (1.14's test, §2.4);
 * *target is the target protocol address (host order). */
bool zt_arp_request_target(uint16_t ethertype, const uint8_t *payload, size_t len, uint32_t *target);

/* ZeroTier-managed IPv6 addresses (§2.5): rfc4193 (/88) and 6PLANE (/40),
 * as raw bytes or as an address whose port is the prefix length. */
void zt_ip6_rfc4193(uint64_t nwid, uint64_t addr, uint8_t ip[16]);
void zt_ip6_6plane(uint64_t nwid, uint64_t addr, uint8_t ip[16]);
void zt_sockaddr_rfc4193(union zt_sockaddr *sa, uint64_t nwid, uint64_t addr);
void zt_sockaddr_6plane(union zt_sockaddr *sa, uint64_t nwid, uint64_t addr);
/* NDP emulation (§2.5): the ZeroTier address an NS target names, given one
 * of the node's own IPv6 static IPs (own/prefix).  0, or -ENOENT. */
int zt_ip6_ndp_peer(uint64_t nwid, const uint8_t own[16], unsigned prefix,
		    const uint8_t target[16], uint64_t *peer);
/* NDP emulation (§2.5): if payload, the IPv6 packet (ethertype 0x86dd)
 * of a frame the port sent, is a neighbour solicitation for the rfc4193
 * or 6PLANE address of another member (self excluded), judged against the
 * node's own static IPs ips[n] (port = prefix length), write the IPv6
 * neighbour advertisement 1.14 forges into na (ZT_NDP_ADVERT_LEN bytes)
 * and the member's address into *peer: 0, else -ENOENT. */
#define ZT_NDP_ADVERT_LEN 72
int zt_ndp_advert(uint64_t nwid, uint64_t self, const union zt_sockaddr *ips, unsigned n,
		  const uint8_t *payload, size_t len, uint8_t na[ZT_NDP_ADVERT_LEN], uint64_t *peer);

/* Linux device name (§11.1) for trial 0, 1, 2, ... */
void zt_linux_devname(uint64_t nwid, unsigned trial, char out[ZT_DEVNAME_LEN]);

/* ---- network status (§3.10) ---- */

enum zt_net_status {
	ZT_NET_REQUESTING_CONFIGURATION = 0,
	ZT_NET_OK = 1,
	ZT_NET_ACCESS_DENIED = 2,
	ZT_NET_NOT_FOUND = 3,
	ZT_NET_PORT_ERROR = 4,
	ZT_NET_CLIENT_TOO_OLD = 5,
	ZT_NET_AUTHENTICATION_REQUIRED = 6,
};

/* The JSON string ("OK", "ACCESS_DENIED", ...), NULL for other values. */
const char *zt_net_status_name(int status);

/* ---- the network configuration (§4.4, §4.5, §4.7) ---- */

#define ZT_NETCONF_VERSION 7
#define ZT_NETCONF_MIN_VERSION 6
#define ZT_NET_MTU_DEFAULT 2800
#define ZT_NET_MTU_MIN 1280
#define ZT_NET_MTU_MAX 10000
#define ZT_NETCONF_NAME_MAX 127
#define ZT_NETCONF_MAX_ROUTES 128
#define ZT_NETCONF_MAX_IPS 32
#define ZT_NETCONF_MAX_SPECIALISTS 256
#define ZT_NETCONF_MAX_RULES 1024
#define ZT_NETCONF_MAX_CAPS 128
#define ZT_NETCONF_MAX_TAGS 128
#define ZT_NETCONF_MAX_COOS 4
#define ZT_DNS_DOMAIN_LEN 128
#define ZT_DNS_SERVERS 4
#define ZT_DNS_LEN_EMPTY 132

#define ZT_CTMD_DEFAULT 1800000
#define ZT_CTMD_MIN 300000
#define ZT_CTMD_MAX 7200000

/* flags (`f`) */
#define ZT_NETCONF_F_BROADCAST 0x02
#define ZT_NETCONF_F_NDP_EMULATION 0x04
#define ZT_NETCONF_F_UNSUPPORTED_MATCH 0x08
#define ZT_NETCONF_F_NO_MCAST_COMPRESSION 0x10

/* specialist roles (`S`, §4.5.4) */
#define ZT_SPECIALIST_ACTIVE_BRIDGE 0x0000020000000000ULL
#define ZT_SPECIALIST_ANCHOR 0x0000040000000000ULL
#define ZT_SPECIALIST_REPLICATOR 0x0000080000000000ULL

enum zt_net_type {
	ZT_NET_PRIVATE = 0,
	ZT_NET_PUBLIC = 1,
};

/* A route: target's port is the prefix length; via AF_UNSPEC = on-link. */
struct zt_route {
	union zt_sockaddr target;
	union zt_sockaddr via;
	uint16_t flags, metric;
};

struct zt_dns {
	char domain[ZT_DNS_DOMAIN_LEN];          /* NUL-padded */
	union zt_sockaddr servers[ZT_DNS_SERVERS]; /* AF_UNSPEC: unused */
};

#define ZT_SSO_URL_MAX 2048
#define ZT_SSO_NONCE_MAX 128
#define ZT_SSO_STATE_MAX 256
#define ZT_SSO_CLIENT_ID_MAX 256
#define ZT_SSO_PROVIDER_MAX 64

struct zt_netconf {
	uint64_t version;           /* v */
	uint64_t nwid;
	int64_t ts;
	int64_t ctmd;               /* credential time max delta */
	uint64_t revision;          /* r */
	uint64_t issued_to;         /* id */
	uint64_t trace_target;      /* tt */
	uint64_t trace_level;       /* tl */
	uint64_t flags;             /* f */
	uint64_t mcast_limit;       /* ml */
	uint64_t type;              /* t: enum zt_net_type */
	char name[ZT_NETCONF_NAME_MAX + 1];
	uint64_t mtu;

	bool has_com;
	struct zt_com com;          /* C */
	unsigned ncaps;
	struct zt_cap caps[ZT_NETCONF_MAX_CAPS];   /* CAP, sorted by id */
	unsigned ntags;
	struct zt_tag tags[ZT_NETCONF_MAX_TAGS];   /* TAG, sorted by id */
	unsigned ncoos;
	struct zt_coo coos[ZT_NETCONF_MAX_COOS];   /* COO */
	unsigned nspecialists;
	uint64_t specialists[ZT_NETCONF_MAX_SPECIALISTS]; /* S */
	unsigned nroutes;
	struct zt_route routes[ZT_NETCONF_MAX_ROUTES];    /* RT */
	unsigned nips;
	union zt_sockaddr ips[ZT_NETCONF_MAX_IPS]; /* I: port = prefix length */
	unsigned nrules;
	const uint8_t *rules;       /* R: nrules encoded rules (§6.1) */
	size_t rules_len;
	struct zt_dns dns;

	uint64_t sso_version;       /* ssov */
	bool sso_enabled;           /* ssoe */
	char auth_url[ZT_SSO_URL_MAX];           /* aurl (version 0) */
	int64_t auth_expiry;        /* aexpt (version 0) */
	char issuer_url[ZT_SSO_URL_MAX];         /* iurl (version 1) */
	char central_url[ZT_SSO_URL_MAX];        /* ssoce */
	char nonce[ZT_SSO_NONCE_MAX];            /* sson */
	char state[ZT_SSO_STATE_MAX];            /* ssos */
	char client_id[ZT_SSO_CLIENT_ID_MAX];    /* ssocid */
	char provider[ZT_SSO_PROVIDER_MAX];      /* ssop */

	/* Storage of rules and capability rules after zt_netconf_parse.
	 * A caller that fills the struct itself points rules and caps[].rules
	 * at memory of its own, which it keeps alive. */
	void *owned;
};

/* A config with 1.14's defaults (version 7, MTU 2800, ctmd 1800000);
 * NULL without memory.  The struct is large (about 150 KB). */
struct zt_netconf *zt_netconf_new(void);
void zt_netconf_free(struct zt_netconf *nc);
/* Back to the defaults, freeing what parse allocated. */
void zt_netconf_reset(struct zt_netconf *nc);

/* Parse a config dictionary as 1.14 does (§4.7) into nc (reset first).
 * 0; -EMSGSIZE if the dictionary reaches the 484 520-byte capacity;
 * -EINVAL if nwid or id is missing or 0, v < 6, or C, COO, S, RT, I, R or
 * DNS is malformed (a malformed CAP or TAG entry ends its list); -ENOMEM.
 * Lists longer than the limits above are read up to the limit. */
int zt_netconf_parse(struct zt_netconf *nc, const uint8_t *dict, size_t len);

/* Serialize as a 1.14 controller does (keys and order of §4.4, integers as
 * 16 hex digits), appending to w (normally empty, capacity at most
 * ZT_DICT_CONFIG_CAP - 1).  0, -ENOSPC, -EINVAL (bad credential), -ENOMEM. */
int zt_netconf_write(const struct zt_netconf *nc, struct zt_wr *w);

/* Lookups in a parsed config. */
const struct zt_tag *zt_netconf_tag(const struct zt_netconf *nc, uint32_t id);
const struct zt_cap *zt_netconf_cap(const struct zt_netconf *nc, uint32_t id);
/* Specialist role bits (0 if addr is not listed). */
uint64_t zt_netconf_specialist(const struct zt_netconf *nc, uint64_t addr);

/* ---- auth-info dictionary (§4.6, ERROR NETWORK_AUTHENTICATION_REQUIRED) ---- */

struct zt_authinfo {
	uint64_t version;           /* aV */
	char url[ZT_SSO_URL_MAX];                /* aU */
	char issuer_url[ZT_SSO_URL_MAX];         /* iU */
	char central_url[ZT_SSO_URL_MAX];        /* aCU */
	char nonce[ZT_SSO_NONCE_MAX];            /* aN */
	char state[ZT_SSO_STATE_MAX];            /* aS */
	char client_id[ZT_SSO_CLIENT_ID_MAX];    /* aCID */
	char provider[ZT_SSO_PROVIDER_MAX];      /* aSSOp, "default" if absent */
};

int zt_authinfo_parse(struct zt_authinfo *a, const uint8_t *dict, size_t len);
/* Version 0: aV, aU; version 1: aV and the OIDC keys. */
int zt_authinfo_write(const struct zt_authinfo *a, struct zt_wr *w);

/* ---- config chunks (§3.8) ---- */

#define ZT_CHUNK_SLICE_MAX 9740
#define ZT_CHUNK_FAST_PROPAGATE 0x01
#define ZT_CHUNK_OVERHEAD 126       /* fields around the slice, signature included */
#define ZT_CONFIG_MAX_CHUNKS 474
#define ZT_CONFIG_ASM_SLOTS 3

/* A chunk body: the payload of NETWORK_CONFIG, or of
 * OK(NETWORK_CONFIG_REQUEST) after its 9-byte prefix.  Pointers borrow
 * the decoded buffer. */
struct zt_config_chunk {
	uint64_t nwid;
	const uint8_t *data;        /* the slice */
	size_t len;
	bool legacy;                /* ends after the slice: unsigned, whole config */
	uint8_t flags;
	uint64_t update_id;
	uint32_t total;             /* T */
	uint32_t offset;
	const uint8_t *sig;         /* 96-byte ZSIG over body[0 .. signed_len) */
	const uint8_t *body;
	size_t signed_len;
};

/* 0, -EMSGSIZE (truncated, or T reaches the dictionary capacity) or
 * -EINVAL (offset + C > T, signature type or length not 1/96). */
int zt_chunk_decode(struct zt_config_chunk *c, const uint8_t *body, size_t len);
/* 0, -EACCES (legacy, or the identity is not the network's controller),
 * -EBADMSG. */
int zt_chunk_verify(const struct zt_config_chunk *c, const struct zt_identity *controller);
/* The de-duplication identity: sig[i] ^ sig[i + 8], i = 0..7. */
uint64_t zt_chunk_ident(const struct zt_config_chunk *c);
/* Write the chunk of dict[0..total) that starts at offset (at most
 * ZT_CHUNK_SLICE_MAX bytes), signed by the controller.  Returns the
 * slice length, so the caller continues at offset + that, or -EINVAL,
 * -ENOSPC. */
int zt_chunk_encode(struct zt_wr *w, uint64_t nwid, const uint8_t *dict, size_t total,
		    size_t offset, uint8_t flags, uint64_t update_id,
		    const struct zt_identity *controller);

/* Reassembly: 3 slots keyed by update ID, least recently touched reused. */
struct zt_config_asm_slot {
	uint64_t update_id;         /* 0: free */
	uint64_t touched;
	uint32_t total;
	uint32_t received;
	bool done;
	unsigned nchunks;
	uint64_t idents[ZT_CONFIG_MAX_CHUNKS];
	uint8_t *buf;               /* total bytes, allocated on the first chunk */
};

struct zt_config_asm {
	uint64_t clock;
	struct zt_config_asm_slot slot[ZT_CONFIG_ASM_SLOTS];
};

void zt_config_asm_init(struct zt_config_asm *a);
void zt_config_asm_fini(struct zt_config_asm *a);
/* True if this chunk was already taken (check before verifying). */
bool zt_config_asm_is_dup(const struct zt_config_asm *a, const struct zt_config_chunk *c);
/* Add a decoded and verified chunk: 0 while incomplete, 1 when the config
 * is complete (*dict, *len: valid until the next call or fini; for a
 * legacy chunk, its slice); -EALREADY (duplicate, or that update is
 * complete), -EINVAL (T differs from earlier chunks, or more bytes than
 * T), -E2BIG (more than 474 chunks), -ENOMEM. */
int zt_config_asm_add(struct zt_config_asm *a, const struct zt_config_chunk *c,
		      const uint8_t **dict, size_t *len);

/* OK to a NETWORK_CONFIG push (§3.8 step 8): the OK prefix with in-re
 * verb 0x08 (quirk), then nwid and update ID. */
int zt_config_ack_encode(struct zt_wr *w, uint64_t push_id, uint64_t nwid, uint64_t update_id);

/* ---- NETWORK_CONFIG_REQUEST (§3.7, §4.3) ---- */

#define ZT_NCREQ_META_READ_MAX 1023   /* the 1.14 controller reads this much */

struct zt_ncreq {
	uint64_t nwid;
	const uint8_t *meta;        /* metadata dictionary, borrowed */
	size_t meta_len;
	bool has_tail;              /* revision and ts present */
	uint64_t revision;
	uint64_t ts;
};

int zt_ncreq_decode(struct zt_ncreq *q, const uint8_t *pl, size_t len);
/* Writes every field (the tail too); -EINVAL if meta_len > 65535. */
int zt_ncreq_encode(struct zt_wr *w, const struct zt_ncreq *q);

struct zt_ncreq_meta {
	uint64_t v, vend, pv, majv, minv, revv, mr, mc, mcr, mt, f, revr;
	char os[128];               /* o; not written if empty */
	char token[256];            /* a ("token:<t>"); not written if empty */
};

/* What 1.14.1 sends; os is e.g. "linux/x86_64". */
void zt_ncreq_meta_default(struct zt_ncreq_meta *m, const char *os);
int zt_ncreq_meta_write(const struct zt_ncreq_meta *m, struct zt_wr *w);
/* Absent keys read as 0 (or empty); input past 1023 bytes is ignored. */
int zt_ncreq_meta_parse(struct zt_ncreq_meta *m, const uint8_t *p, size_t len);

/* ---- NETWORK_CREDENTIALS (§3.6) ---- */

/* The decoder checks every credential and records where each part is;
 * absent trailing parts have count 0. */
struct zt_netcreds {
	const uint8_t *p;
	size_t len;
	unsigned ncom, ncap, ntag, nrev, ncoo;
	size_t off_com, off_cap, off_tag, off_rev, off_coo;  /* first record of each part */
};

int zt_netcreds_decode(struct zt_netcreds *nc, const uint8_t *pl, size_t len);
/* The i-th credential of a part: 0 or -ENOENT. */
int zt_netcreds_com(const struct zt_netcreds *nc, unsigned i, struct zt_com *c);
int zt_netcreds_cap(const struct zt_netcreds *nc, unsigned i, struct zt_cap *c);
int zt_netcreds_tag(const struct zt_netcreds *nc, unsigned i, struct zt_tag *t);
int zt_netcreds_rev(const struct zt_netcreds *nc, unsigned i, struct zt_revocation *v);
int zt_netcreds_coo(const struct zt_netcreds *nc, unsigned i, struct zt_coo *c);
/* The layout 1.14 pushes: COM (if any), 00, then the four counted parts. */
int zt_netcreds_encode(struct zt_wr *w, const struct zt_com *com,
		       const struct zt_cap *caps, unsigned ncaps,
		       const struct zt_tag *tags, unsigned ntags,
		       const struct zt_revocation *revs, unsigned nrevs,
		       const struct zt_coo *coos, unsigned ncoos);

#endif
