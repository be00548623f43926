/* offload: the virtio_net_hdr offloads of a Linux tun/tap device, for the
 * ports that carry them (tap, utun).  The host hands over TCP
 * super-frames of up to 64 KB and frames whose checksum is left to us:
 * they are cut into segments that fit the port's MTU and their checksums
 * filled in.  The other way, consecutive TCP segments of one flow are
 * merged into one super-frame for the host (GRO).  Frames here are
 * Ethernet frames; a layer-3 port (utun) puts an Ethernet header before
 * its packets and moves the header's offsets by OFFLOAD_ETH_HLEN.  Pure
 * code, no I/O; compiled into each module that uses it. */
#ifndef ZT_OFFLOAD_H
#define ZT_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#define OFFLOAD_ETH_HLEN 14
#define OFFLOAD_VLAN_HLEN 4
/* The header before each frame, and the offloads asked of the device. */
#define OFFLOAD_VNET_HLEN ((unsigned)sizeof(struct virtio_net_hdr))
#define OFFLOAD_TUN_FLAGS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)
/* The largest IP packet the host may hand over in one read. */
#define OFFLOAD_GSO_IPMAX 65536
/* GRO: at most this many segments in one merged frame, whose IP packet
 * is at most OFFLOAD_GRO_IPMAX bytes. */
#define OFFLOAD_GRO_SEGS 44
#define OFFLOAD_GRO_IPMAX 65535
#define OFFLOAD_GRO_SIZE (OFFLOAD_ETH_HLEN + OFFLOAD_GRO_IPMAX)

/* GRO: the frame being merged, the first segment's headers followed by
 * the payloads of all segments taken so far. */
/* How a port writes one frame or packet, after the vnet header h when
 * its device has them: 0 or -errno. */
typedef int offload_write_fn(void *port, const struct virtio_net_hdr *h, const uint8_t *d, size_t len);

struct offload_gro {
	/* the port's, set once: how it writes, and the bytes of a frame
	 * before its device's packet: 0 for a TAP, OFFLOAD_ETH_HLEN for a
	 * tun (its packets have no Ethernet header) */
	offload_write_fn *write;
	void *port;
	size_t skip;
	uint8_t *buf;            /* OFFLOAD_GRO_SIZE bytes */
	size_t len;              /* bytes in buf; 0: nothing held */
	size_t l4;               /* offset of the TCP header */
	size_t hlen;             /* Ethernet, IP and TCP headers */
	size_t mss;              /* the first segment's payload */
	uint64_t bytes;          /* the segments' lengths as they came */
	unsigned nseg;
	uint32_t seq;            /* the next segment's sequence number */
	unsigned id;             /* the last segment's IPv4 id */
	bool v6;
	bool closed;             /* nothing more joins: PSH, short, 44th, full */
};

/* A frame that may be merged: where its headers are. */
struct offload_seg {
	size_t l4, hlen, payload;
	bool v6;
};

/* A TCP super-frame taken apart: where its headers are and how it is cut. */
struct offload_gso {
	size_t l3;        /* offset of the IP header */
	size_t l4;        /* offset of the TCP header */
	size_t hlen;      /* Ethernet, IP and TCP headers: copied to each segment */
	size_t payload;   /* TCP payload bytes after them */
	size_t mss;       /* payload bytes per segment */
	unsigned nseg;
	bool v6;
};

/* Before each frame written with offloads: its checksums need no check,
 * the network's MAC has authenticated it. */
extern const struct virtio_net_hdr offload_vnet_valid;

unsigned offload_get16(const uint8_t *d);
void offload_put16(uint8_t *d, size_t v);

/* Checks a GSO frame of len bytes and plans its segments: each one's IP
 * packet fits mtu.  0, or -EINVAL for anything but a well-formed IPv4 or
 * IPv6 TCP frame of the type the header says. */
int offload_gso_parse(const struct virtio_net_hdr *h, const uint8_t *f, size_t len,
		      unsigned mtu, struct offload_gso *g);

/* Writes segment i of the super-frame f into out (room for l3 plus the
 * MTU given to offload_gso_parse) with its lengths, IPv4 id, sequence number,
 * flags and checksums set; returns the segment's length. */
size_t offload_gso_segment(const struct offload_gso *g, const uint8_t *f, unsigned i, uint8_t *out);

/* Fills in the checksum the host left to us (VIRTIO_NET_HDR_F_NEEDS_CSUM):
 * from csum_start to the end of the frame, where the host already put the
 * pseudo-header's sum, stored at csum_start + csum_offset.  0 or -EINVAL. */
int offload_csum_partial(const struct virtio_net_hdr *h, uint8_t *f, size_t len);

/* Checks whether a frame for the host may be merged with others: an
 * untagged Ethernet frame holding exactly one IPv4 packet (no options, not
 * a fragment) or IPv6 packet (TCP right after the fixed header) of TCP
 * with payload and the flags ACK or ACK and PSH.  0 and s filled, or
 * -EINVAL. */
int offload_gro_seg(const uint8_t *f, size_t len, struct offload_seg *s);

/* Whether the segment f (checked by offload_gro_seg) continues the frame being
 * merged: the same Ethernet header; the same IP version, addresses, TOS or
 * traffic class and flow label, TTL or hop limit and DF bit; the IPv4 id
 * one more than the last segment's (or the same, with DF); the same ports,
 * acknowledgement, window and TCP options; the next sequence number; no
 * more payload than the first segment; and room for it. */
bool offload_gro_fits(const struct offload_gro *g, const uint8_t *f, const struct offload_seg *s);

/* Takes the segment f of len bytes (checked by offload_gro_seg): the first one
 * whole, the others' payload after it.  A segment with PSH, one shorter
 * than the first, the last one allowed, or one that fills the buffer
 * closes the frame. */
void offload_gro_take(struct offload_gro *g, const uint8_t *f, size_t len, const struct offload_seg *s);

/* Finishes the frame held and fills in its vnet header h; returns its
 * length.  A single segment goes as it came.  A merged frame gets its IP
 * length (and IPv4 header checksum) and, as Linux does for a TCP GSO
 * packet, the pseudo-header's sum in the TCP checksum field, with GSO and
 * NEEDS_CSUM in h: the host cuts it or checks it as a whole. */
size_t offload_gro_close(struct offload_gro *g, struct virtio_net_hdr *h);

/* A port's counters of what it writes to its device (bound by the module
 * under its own names): packets (or frames) written and their bytes, lost
 * to a full device (dropped) or to another error, and frames merged. */
struct offload_tx_counts {
	uint64_t *packets, *bytes, *dropped, *errors, *gro_frames, *gro_segments;
};


/* Counts n frames of bytes in all written, or lost to err (< 0). */
void offload_tx_count(const struct offload_tx_counts *c, int err, unsigned n, uint64_t bytes);

/* Writes out the frame being merged, if any, through g's write (from
 * g->skip bytes in, the header's offsets moved to match); counts it in c.
 * Then nothing is held. */
void offload_gro_flush(struct offload_gro *g, const struct offload_tx_counts *c);
/* Merges the frame f of len bytes with the one held, or starts a new one
 * with it (the one held written out): true.  False if it cannot be merged;
 * what was held has then been written out, to keep the order. */
bool offload_gro_add(struct offload_gro *g, const uint8_t *f, size_t len, const struct offload_tx_counts *c);

#endif
