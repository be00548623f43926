/* libFuzzer: PCP answers (RFC 6887) as the pcp helper reads them from
 * its gateway; what parses must be within the limits the parser claims. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "../modules/nat/pcpwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcp_answer a;
	char why[64];
	int rc = pcp_answer_parse(data, size, &a, why, sizeof why);

	if (rc != 0 && rc != -EBADMSG)
		abort();
	if (rc == 0 && (size < 24 || size > PCP_MAX_LEN || size % 4 ||
			(a.result == 0 && a.lifetime && !a.map.external_port)))
		abort();
	(void)pcp_result_name(a.result);
	return 0;
}
