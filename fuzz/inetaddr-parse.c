/* libFuzzer: InetAddress binary and text forms; what parses must
 * serialize and parse back to the same address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zt/inetaddr.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void text(const uint8_t *data, size_t size)
{
	char s[128], back[ZT_INETADDR_TEXT_MAX];
	union zt_sockaddr a, b;

	if (size >= sizeof s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (zt_inetaddr_from_text(&a, s) < 0)
		return;
	if (zt_inetaddr_to_text(&a, back, sizeof back) < 0 ||
	    zt_inetaddr_from_text(&b, back) < 0 || !zt_inetaddr_equal(&a, &b, true))
		abort();
	(void)zt_inetaddr_scope(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t bin[ZT_INETADDR_MAX];
	union zt_sockaddr a, b;
	int n;

	text(data, size);
	if (zt_inetaddr_from_bin(&a, data, size) < 0)
		return 0;
	(void)zt_inetaddr_path_usable(&a);
	n = zt_inetaddr_to_bin(&a, bin, sizeof bin);
	if (n < 0 || zt_inetaddr_from_bin(&b, bin, (size_t)n) != n ||
	    !zt_inetaddr_equal(&a, &b, true))
		abort();
	return 0;
}
