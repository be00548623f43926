/* libFuzzer: the offload code of the tap and utun ports
 * (ifaces/lib/offload.c) on what a host or the network could hand them: a
 * virtio_net_hdr, an MTU and a frame.  A super-frame it accepts is cut into
 * segments that each fit the MTU, written into buffers of exactly that
 * room (ASan sees overruns); a checksum request never reads or writes past
 * the frame; a frame GRO accepts merges into a buffer of its size and
 * closes with a length that fits it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../ifaces/lib/offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_gso(const struct virtio_net_hdr *h, const uint8_t *f, size_t len, unsigned mtu)
{
	struct offload_gso g;
	uint8_t *out;

	if (offload_gso_parse(h, f, len, mtu, &g) < 0)
		return;
	if (g.hlen > len || g.mss == 0 || g.hlen - g.l3 + g.mss > mtu)
		abort();
	out = malloc(g.l3 + mtu);
	for (unsigned i = 0; out && i < g.nseg; i++)
		if (offload_gso_segment(&g, f, i, out) > g.l3 + mtu)
			abort();
	free(out);
}

static void fuzz_gro(const uint8_t *f, size_t len)
{
	struct offload_gro g = { 0 };
	struct offload_seg s;
	struct virtio_net_hdr h;

	if (offload_gro_seg(f, len, &s) < 0)
		return;
	g.buf = malloc(OFFLOAD_GRO_SIZE);
	if (!g.buf)
		return;
	offload_gro_take(&g, f, len, &s);
	if (offload_gro_fits(&g, f, &s))
		abort();    /* the same segment again: its sequence number is past */
	if (offload_gro_close(&g, &h) != len)
		abort();
	free(g.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_net_hdr h;
	unsigned mtu;
	uint8_t *f;
	size_t len;

	if (size < OFFLOAD_VNET_HLEN + 2)
		return 0;
	memcpy(&h, data, OFFLOAD_VNET_HLEN);
	mtu = 1280 + ((unsigned)data[OFFLOAD_VNET_HLEN] << 8 | data[OFFLOAD_VNET_HLEN + 1]) % (10000 - 1280 + 1);
	len = size - OFFLOAD_VNET_HLEN - 2;
	f = malloc(len ? len : 1);   /* exact size: ASan sees overreads */
	if (!f)
		return 0;
	memcpy(f, data + OFFLOAD_VNET_HLEN + 2, len);
	fuzz_gso(&h, f, len, mtu);
	offload_csum_partial(&h, f, len);
	fuzz_gro(f, len);
	free(f);
	return 0;
}
