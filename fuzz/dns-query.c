/* libFuzzer: the dns module's query path (modules/dns/query.c), on a
 * zone of a few members built once.  The first byte chooses UDP or TCP;
 * the rest is the query.  An answer must fit the transport's limit, be
 * a DNS message ldns reads back, and carry the query's id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "../modules/dns/query.h"
#include "../modules/dns/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_net[] = "{\"id\":\"8056c2e21c000001\",\"dns\":{\"domain\":\"lab.zt.test\"},"
	"\"v6AssignMode\":{\"rfc4193\":true,\"6plane\":true},"
	"\"routes\":[{\"target\":\"198.19.5.0/24\"},{\"target\":\"fd00:5::/64\"}]}";
static const char fuzz_members[] = "[{\"id\":\"0000000aa1\",\"name\":\"alpha\",\"authorized\":true,"
	"\"ipAssignments\":[\"198.19.5.10\",\"fd00:5::10\"]},"
	"{\"id\":\"0000000bb2\",\"name\":\"web.prod\",\"authorized\":true,\"ipAssignments\":[\"198.19.5.11\"]},"
	"{\"id\":\"0000000cc3\",\"name\":\"big\",\"authorized\":true,\"ipAssignments\":["
	"\"fd00:5::1:1\",\"fd00:5::1:2\",\"fd00:5::1:3\",\"fd00:5::1:4\",\"fd00:5::1:5\",\"fd00:5::1:6\","
	"\"fd00:5::1:7\",\"fd00:5::1:8\",\"fd00:5::1:9\",\"fd00:5::1:a\",\"fd00:5::1:b\",\"fd00:5::1:c\","
	"\"fd00:5::1:d\",\"fd00:5::1:e\",\"fd00:5::1:f\",\"fd00:5::1:10\",\"fd00:5::1:11\",\"fd00:5::1:12\","
	"\"fd00:5::1:13\",\"fd00:5::1:14\",\"fd00:5::1:15\",\"fd00:5::1:16\",\"fd00:5::1:17\",\"fd00:5::1:18\"]}]";

static uint8_t fuzz_out[DNS_TCP_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_zone *z;
	struct dns_reply r;
	ldns_pkt *p = NULL;
	char why[160];
	bool tcp;

	if (!z && !(z = dns_zone_from_json(fuzz_net, fuzz_members, 5, 1, NULL, NULL, why, sizeof why)))
		abort();
	if (size < 1)
		return 0;
	tcp = data[0] & 1;
	data++;
	size--;
	dns_answer(z, data, size, tcp, fuzz_out, tcp ? DNS_TCP_MAX : DNS_UDP_MAX, &r);
	if (r.len > (tcp ? DNS_TCP_MAX : DNS_UDP_MAX))
		abort();
	if (!r.len)
		return 0;
	if (size < 2 || fuzz_out[0] != data[0] || fuzz_out[1] != data[1] || !(fuzz_out[2] & 0x80))
		abort();   /* an answer to no header, of another id, or not a response */
	if (ldns_wire2pkt(&p, fuzz_out, r.len) != LDNS_STATUS_OK)
		abort();
	ldns_pkt_free(p);
	return 0;
}
