/* libFuzzer: ARP and NDP read from an Ethernet frame (ifaces/lib/neigh,
 * the utun module's parser): never reads past the frame; what it accepts
 * has a unicast sender MAC and, for NDP, a unicast target; learning it
 * into a small table keeps the table within its room. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../ifaces/lib/neigh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct neigh_table t;
	uint8_t *copy = malloc(size ? size : 1);   /* exact size: ASan sees overreads */
	struct neigh_msg m;

	if (!copy || (!t.v && neigh_table_init(&t, 8) < 0)) {
		free(copy);
		return 0;
	}
	memcpy(copy, data, size);
	if (neigh_parse(copy, size, &m) == 1) {
		if ((m.sender_mac[0] & 1) || (m.family == AF_INET6 && m.target_ip[0] == 0xff))
			abort();
		neigh_learn(&t, m.family, m.kind == NEIGH_NA ? m.target_ip : m.sender_ip, m.sender_mac, (double)size);
		if (t.n > t.sets * NEIGH_WAYS)
			abort();
	}
	free(copy);
	return 0;
}
