/* neigh: what a host's kernel does for its neighbours on an Ethernet
 * port, for ports that answer for it (networks.md §2.5, NDP emulation):
 * ARP and IPv6 neighbour discovery messages read from frames and built
 * into frames, and a table of IP to MAC mappings.  Pure code, no I/O:
 * the utun module uses it, TAP's NDP emulation may too; compiled into
 * each module that uses it. */
#ifndef ZT_NEIGH_H
#define ZT_NEIGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NEIGH_ETH_HLEN 14
#define NEIGH_ETH_IP4 0x0800
#define NEIGH_ETH_ARP 0x0806
#define NEIGH_ETH_IP6 0x86dd
/* The longest frame neigh_*_build writes: an NS or NA with one option. */
#define NEIGH_FRAME_MAX (NEIGH_ETH_HLEN + 40 + 32)

enum neigh_kind {
	NEIGH_ARP_REQUEST = 1,
	NEIGH_ARP_REPLY,
	NEIGH_NS,            /* neighbour solicitation */
	NEIGH_NA,            /* neighbour advertisement */
};

/* An ARP or NDP message.  Addresses are 4 (ARP) or 16 bytes, in network
 * order. */
struct neigh_msg {
	enum neigh_kind kind;
	int family;          /* AF_INET (ARP) or AF_INET6 */
	uint8_t eth_src[6];  /* the frame's source */
	uint8_t sender_ip[16];   /* ARP's sender, the IPv6 source (:: for DAD) */
	uint8_t sender_mac[6];   /* ARP's sender, NS: its source link-layer
				  * option, NA: its target link-layer option,
				  * else the frame's source */
	bool has_lla;            /* the NDP message carried that option */
	uint8_t target_ip[16];
	bool solicited;          /* NA: the S flag */
};

/* Reads an Ethernet frame: 1 and m filled for an ARP request or reply
 * (Ethernet, IPv4) or an IPv6 NS or NA; 0 for any other frame; -EINVAL
 * for an ARP or NDP message that is malformed (short, wrong sizes, hop
 * limit not 255, bad ICMPv6 checksum, bad option, multicast target...). */
int neigh_parse(const uint8_t *frame, size_t len, struct neigh_msg *m);

/* Frames, written to out (NEIGH_FRAME_MAX bytes); each returns its
 * length.  ARP: op 1 (request, to broadcast, target MAC zero) or 2 (reply,
 * to tha). */
size_t neigh_arp_build(uint8_t *out, unsigned op, const uint8_t sha[6], const uint8_t spa[4],
		       const uint8_t tha[6], const uint8_t tpa[4]);
/* An NS from mac/src for target, to its solicited-node group. */
size_t neigh_ns_build(uint8_t *out, const uint8_t mac[6], const uint8_t src[16], const uint8_t target[16]);
/* A solicited NA for target (one of ours, at mac) to dst_mac/dst. */
size_t neigh_na_build(uint8_t *out, const uint8_t mac[6], const uint8_t target[16],
		      const uint8_t dst_mac[6], const uint8_t dst[16]);

/* The Ethernet multicast MAC of an IPv4 multicast (01:00:5e) or IPv6
 * multicast (33:33) destination. */
void neigh_mcast_mac(int family, const uint8_t *ip, uint8_t mac[6]);

/* ---- the table: IP to MAC, fixed size, set-associative ---- */

struct neigh_entry {
	uint8_t family;      /* 0: empty */
	uint8_t mac[6];
	uint8_t ip[16];
	double seen;         /* when it was learned or last confirmed */
};

struct neigh_table {
	struct neigh_entry *v;
	unsigned sets;       /* a power of two; NEIGH_WAYS entries each */
	unsigned n;          /* entries in use */
};
#define NEIGH_WAYS 4

/* Room for at least cap entries: 0 or -ENOMEM. */
int neigh_table_init(struct neigh_table *t, unsigned cap);
void neigh_table_free(struct neigh_table *t);
/* The entry of ip, NULL if none. */
struct neigh_entry *neigh_lookup(struct neigh_table *t, int family, const uint8_t *ip);
/* Learns or refreshes ip at mac; a full set gives up its oldest entry.
 * Returns true if the mapping is new or changed. */
bool neigh_learn(struct neigh_table *t, int family, const uint8_t *ip, const uint8_t mac[6], double now);
/* Forgets every entry. */
void neigh_flush(struct neigh_table *t);

#endif
