/* libFuzzer: NDP emulation (networks.md §2.5) on what a host sends on its
 * port: an IPv6 packet judged against a member's rfc4193 and 6PLANE
 * addresses; what is answered names another member, and the answer's
 * ICMPv6 checksum sums to zero. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zt/inetaddr.h>
#include <zt/netconf.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint64_t nwid = 0x8056c2e21c000001ULL, self = 0x89e92ceee5ULL;
	union zt_sockaddr ips[3] = { 0 };
	uint8_t na[ZT_NDP_ADVERT_LEN], *copy = malloc(size ? size : 1);   /* exact size: ASan sees overreads */
	uint64_t peer = 0;
	uint32_t sum = 58 + 32;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	zt_sockaddr_rfc4193(&ips[0], nwid, self);
	zt_sockaddr_6plane(&ips[1], nwid, self);
	ips[2].sa.sa_family = AF_INET;
	if (zt_ndp_advert(nwid, self, ips, 3, copy, size, na, &peer) == 0) {
		if (peer == self || peer == 0 || na[40] != 136)
			abort();
		for (size_t i = 8; i < ZT_NDP_ADVERT_LEN; i += 2)
			sum += (uint32_t)(na[i] << 8 | na[i + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		if (sum != 0xffff)
			abort();
	}
	free(copy);
	return 0;
}
