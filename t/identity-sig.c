/* Every signature of t/vectors/signatures.txt (wire.md §2.3). */
#include "config.h"

#include <zt/identity.h>

#include "crypto-vec.h"

#define MSG_MAX 4096

static int nsig;

static char *nm(const char *what)
{
	static char name[128];

	snprintf(name, sizeof name, "signature %d: %s", nsig, what);
	return name;
}

/* Every single-bit flip of sig must fail. */
static int bitflips_accepted(const struct zt_identity *id, const uint8_t *msg, size_t mlen,
			     const uint8_t sig[ZT_SIG_LEN])
{
	uint8_t s[ZT_SIG_LEN];
	int accepted = 0;

	for (int bit = 0; bit < ZT_SIG_LEN * 8; bit++) {
		memcpy(s, sig, ZT_SIG_LEN);
		s[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		accepted += zt_sig_verify(id->pub, msg, mlen, s, ZT_SIG_LEN);
	}
	return accepted;
}

static void check(const struct vec_block *b)
{
	static uint8_t msg[MSG_MAX], tmsg[MSG_MAX];
	uint8_t want[ZT_SIG_LEN + 1], got[ZT_SIG_LEN], tsig[ZT_SIG_LEN + 1], h[32], big[ZT_SIG_LEN + 1];
	struct zt_identity sec, pub;
	size_t mlen, tlen;

	nsig++;
	if (zt_identity_from_text(&sec, vec_get(b, "signer_secret") ? vec_get(b, "signer_secret") : "") ||
	    zt_identity_from_text(&pub, vec_get(b, "signer_public") ? vec_get(b, "signer_public") : ""))
		bail("line %d: bad signer", b->line);
	mlen = vec_hex(b, "message_hex", msg, sizeof msg);
	is_int(mlen, atoi(vec_get(b, "message_len") ? vec_get(b, "message_len") : "-1"), nm("message length"));
	if (vec_hex(b, "signature", want, sizeof want) != ZT_SIG_LEN)
		bail("line %d: signature is not 96 bytes", b->line);
	vec_hex(b, "sha512_first32", h, sizeof h);

	ok(zt_sign(&sec, msg, mlen, got) == 0 && memcmp(got, want, ZT_SIG_LEN) == 0,
	   nm("reproduced byte for byte"));
	ok(memcmp(got + 64, h, 32) == 0, nm("bytes 64..95 are SHA-512(msg)[0..31]"));
	ok(zt_sig_verify(pub.pub, msg, mlen, want, ZT_SIG_LEN), nm("verifies"));
	tlen = vec_hex(b, "tampered_message_hex", tmsg, sizeof tmsg);
	ok(!zt_sig_verify(pub.pub, tmsg, tlen, want, ZT_SIG_LEN), nm("tampered message fails"));
	vec_hex(b, "tampered_signature", tsig, sizeof tsig);
	ok(!zt_sig_verify(pub.pub, msg, mlen, tsig, ZT_SIG_LEN), nm("tampered signature fails"));
	is_int(bitflips_accepted(&pub, msg, mlen, want), 0, nm("every flipped bit fails"));
	memcpy(big, want, ZT_SIG_LEN);
	big[ZT_SIG_LEN] = 0;
	ok(!zt_sig_verify(pub.pub, msg, mlen, want, ZT_SIG_LEN - 1) &&
	   !zt_sig_verify(pub.pub, msg, mlen, big, ZT_SIG_LEN + 1) &&
	   !zt_sig_verify(pub.pub, msg, mlen, NULL, 0), nm("lengths other than 96 fail"));
	ok(zt_sign(&pub, msg, mlen, got) < 0, nm("signing without a private key fails"));
	zt_identity_wipe(&sec);
}

int main(void)
{
	FILE *f = vec_open("signatures.txt");
	static struct vec_block b;
	int line = 0;

	while (vec_next(f, &b, &line))
		if (vec_get(&b, "signature"))
			check(&b);
	fclose(f);
	vec_free(&b);
	is_int(nsig, 7, "7 signatures in the file");
	plan(tap_run);
	return tap_done();
}
