/* libFuzzer: the header and every peer-level verb decoder on one input.
 * The first byte picks the verb; the rest is the payload. */
#include <stdint.h>
#include <string.h>
#include <zt/inetaddr.h>
#include <zt/packet.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t buf[ZT_PKT_MAX];

static void hello(uint8_t *pl, size_t len)
{
	struct zt_moon_ref m;
	struct zt_hello h;
	unsigned i;

	if (zt_hello_decode(&h, pl, len) < 0 || zt_hello_decode_moons(&h, pl) < 0)
		return;
	for (i = 0; i < h.n_moons; i++)
		zt_hello_moon(&h, i, &m);
}

static void ok(const uint8_t *pl, size_t len)
{
	struct zt_ok_hello oh;
	struct zt_ok_whois ow;
	struct zt_ok o;
	size_t idlen;
	unsigned i;

	if (zt_ok_decode(&o, pl, len) < 0)
		return;
	(void)zt_ok_hello_decode(&oh, o.data, o.len);
	if (zt_ok_whois_decode(&ow, o.data, o.len) == 0)
		for (i = 0; i < ow.count; i++)
			(void)zt_ok_whois_id(&ow, i, &idlen);
}

static void others(const uint8_t *pl, size_t len)
{
	struct zt_push_paths pp;
	struct zt_path_rec rec;
	struct zt_rendezvous rv;
	struct zt_user_msg um;
	struct zt_natmsg nm;
	struct zt_error e;
	struct zt_whois q;
	size_t off = 0;
	unsigned i;

	(void)zt_error_decode(&e, pl, len);
	(void)zt_rendezvous_decode(&rv, pl, len);
	if (zt_user_msg_decode(&um, pl, len) == 0)
		(void)zt_natmsg_decode(&nm, um.data, um.len);
	(void)zt_natmsg_decode(&nm, pl, len);
	if (zt_whois_decode(&q, pl, len) == 0)
		for (i = 0; i < q.count; i++)
			(void)zt_whois_addr(&q, i);
	if (zt_push_paths_decode(&pp, pl, len) == 0)
		while (zt_push_paths_next(&pp, &off, &rec))
			(void)zt_inetaddr_scope(&rec.addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zt_hdr h;

	if (size > sizeof buf)
		return 0;
	(void)zt_hdr_read(&h, data, size);
	/* decoders take exactly their bytes: copy so reads past are caught */
	memcpy(buf, data, size);
	hello(buf, size);
	ok(data, size);
	others(data, size);
	return 0;
}
