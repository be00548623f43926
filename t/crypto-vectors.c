/* Every captured packet of t/vectors/packets.txt (wire.md §2.2, §2.4,
 * §3.3): session keys, dearmor, LZ4, HELLO tail, and re-armoring back to
 * the captured bytes. */
#include "config.h"

#include <errno.h>

#include <openssl/evp.h>

#include <zt/crypto.h>

#include "crypto-vec.h"

static const char *const verbs[] = {
	"NOP", "HELLO", "ERROR", "OK", "WHOIS", "RENDEZVOUS", "FRAME", "EXT_FRAME", "ECHO",
	"MULTICAST_LIKE", "NETWORK_CREDENTIALS", "NETWORK_CONFIG_REQUEST", "NETWORK_CONFIG",
	"MULTICAST_GATHER", "MULTICAST_FRAME", NULL, "PUSH_DIRECT_PATHS", NULL, "ACK",
	"QOS_MEASUREMENT", "USER_MESSAGE", "REMOTE_TRACE", "PATH_NEGOTIATION_REQUEST",
};

struct node {
	char role[16];
	struct zt_identity id;
};

struct pair {
	uint64_t a, b;
	uint8_t k[ZT_KEY_LEN], k0[32], k1[32];
	struct zt_peer_key pk;
};

static struct node nodes[3];
static struct pair pairs[3];
static int nnodes, npairs, npackets, scenario;
static char name[160];

static const char *nm(int pkt, const char *what)
{
	if (pkt < 0)
		snprintf(name, sizeof name, "scenario %d: %s", scenario, what);
	else
		snprintf(name, sizeof name, "scenario %d packet %d: %s", scenario, pkt, what);
	return name;
}

static struct zt_identity *node_find(uint64_t addr)
{
	for (int i = 0; i < nnodes; i++)
		if (nodes[i].id.address == addr)
			return &nodes[i].id;
	return NULL;
}

static struct pair *pair_find(uint64_t x, uint64_t y)
{
	for (int i = 0; i < npairs; i++)
		if ((pairs[i].a == x && pairs[i].b == y) || (pairs[i].a == y && pairs[i].b == x))
			return &pairs[i];
	return NULL;
}

static void scenario_reset(void)
{
	for (int i = 0; i < npairs; i++)
		zt_peer_key_clear(&pairs[i].pk);
	for (int i = 0; i < nnodes; i++)
		zt_identity_wipe(&nodes[i].id);
	nnodes = npairs = 0;
	scenario++;
}

static void read_identities(const struct vec_block *b)
{
	for (int i = 0; i < b->n; i++) {
		const char *k = b->f[i].key;
		struct node *n = &nodes[nnodes];

		if (strncmp(k, "identity.", 9) != 0 || !strstr(k, ".secret"))
			continue;
		if (nnodes == 3 || zt_identity_from_text(&n->id, b->f[i].val) < 0)
			bail("line %d: bad identity %s", b->line, k);
		snprintf(n->role, sizeof n->role, "%.*s", (int)(strstr(k, ".secret") - k - 9), k + 9);
		nnodes++;
	}
}

static void pair_check(struct pair *p)
{
	struct zt_identity *a = node_find(p->a), *b = node_find(p->b);
	uint8_t k[ZT_KEY_LEN], k2[ZT_KEY_LEN], k0[32], k1[32];
	char what[64];

	if (!a || !b)
		bail("pair of unknown identities");
	snprintf(what, sizeof what, "K of %010llx-%010llx", (unsigned long long)p->a,
		 (unsigned long long)p->b);
	ok(zt_key_agree(a, b->pub, k) == 0 && memcmp(k, p->k, ZT_KEY_LEN) == 0, nm(-1, what));
	ok(zt_key_agree(b, a->pub, k2) == 0 && memcmp(k2, p->k, ZT_KEY_LEN) == 0,
	   nm(-1, "K is the same from the other side"));
	ok(zt_aes_keys_derive(k, k0, k1) == 0 && memcmp(k0, p->k0, 32) == 0 &&
	   memcmp(k1, p->k1, 32) == 0, nm(-1, "K0 and K1"));
	if (zt_peer_key_agree(&p->pk, a, b) < 0)
		bail("peer key setup failed");
}

static void read_pairs(const struct vec_block *b)
{
	struct pair *p = NULL;

	for (int i = 0; i < b->n; i++) {
		const char *k = b->f[i].key, *v = b->f[i].val;

		if (strcmp(k, "pair") == 0) {
			if (npairs == 3)
				bail("too many pairs");
			p = &pairs[npairs++];
			p->a = strtoull(v, NULL, 16);
			p->b = strtoull(v + 11, NULL, 16);
		} else if (p && strcmp(k, "K") == 0) {
			vec_unhex(v, p->k, sizeof p->k);
		} else if (p && strcmp(k, "K0") == 0) {
			vec_unhex(v, p->k0, sizeof p->k0);
		} else if (p && strcmp(k, "K1") == 0) {
			vec_unhex(v, p->k1, sizeof p->k1);
		}
	}
	for (int i = 0; i < npairs; i++)
		pair_check(&pairs[i]);
}

/* The random IV a suite-3 sender chose: AES-256-ECB-decrypt under K1 of S. */
static void siv_iv(const uint8_t k1[32], const uint8_t *pkt, uint8_t iv[8])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t s[16], v[16];
	int n;

	memcpy(s, pkt, 8);
	memcpy(s + 8, pkt + ZT_PKT_IDX_MAC, 8);
	if (!c || EVP_DecryptInit_ex(c, EVP_aes_256_ecb(), NULL, k1, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c, 0) != 1 || EVP_DecryptUpdate(c, v, &n, s, 16) != 1)
		bail("OpenSSL ECB failed");
	memcpy(iv, v, 8);
	EVP_CIPHER_CTX_free(c);
}

static int truncations_accepted(const struct zt_peer_key *pk, const uint8_t *wire, size_t len)
{
	static uint8_t buf[ZT_PKT_MAX];
	int accepted = 0;

	for (size_t l = 0; l < len; l++) {
		memcpy(buf, wire, l);
		accepted += zt_dearmor(pk, buf, l) == 0;
	}
	return accepted;
}

/* The HELLO tail: decrypt, compare, encrypt back. */
static void hello_tail(int num, const struct vec_block *b, const struct zt_peer_key *pk,
		       uint8_t *pkt, size_t len)
{
	const char *dec = vec_get(b, "decoded"), *enc = dec ? strstr(dec, "\"encrypted_tail_hex\": \"") : NULL;
	const char *clear = dec ? strstr(dec, "\"decrypted_tail_hex\": \"") : NULL;
	uint8_t want[ZT_PKT_MAX];
	long elen, clen;
	size_t off;

	if (!enc || !clear)
		bail("packet %d: HELLO without tail fields", num);
	elen = vec_unhex(enc + 23, want, sizeof want);
	clen = vec_unhex(clear + 23, want, sizeof want);
	if (elen < 0 || elen != clen || (size_t)elen > len - ZT_PKT_MIN)
		bail("packet %d: bad tail fields", num);
	off = len - (size_t)elen;
	ok(zt_hello_crypt(pk, pkt, len, off) == 0 && memcmp(pkt + off, want, (size_t)clen) == 0,
	   nm(num, "HELLO tail decrypts"));
	zt_hello_crypt(pk, pkt, len, off);
}

static void check_plain(int num, const struct vec_block *b, const uint8_t *pkt, size_t len)
{
	static uint8_t want[ZT_PKT_MAX], out[ZT_PKT_MAX];
	const char *verb = vec_get(b, "verb");
	size_t wlen = vec_hex(b, "plaintext_from_verb_hex", want, sizeof want);
	unsigned v = want[0] & ZT_PKT_VERB_MASK;
	int olen;

	ok(verb && v < sizeof verbs / sizeof *verbs && verbs[v] && strcmp(verbs[v], verb) == 0,
	   nm(num, verb ? verb : "verb"));
	if (!vec_get(b, "lz4_compressed")) {
		ok(len - ZT_PKT_HEADER == wlen && memcmp(pkt + ZT_PKT_HEADER, want, wlen) == 0,
		   nm(num, "plaintext"));
		return;
	}
	olen = vec_hex(b, "dearmored_before_lz4_hex", out, sizeof out);
	ok(len - ZT_PKT_HEADER == (size_t)olen && memcmp(pkt + ZT_PKT_HEADER, out, (size_t)olen) == 0,
	   nm(num, "plaintext before LZ4"));
	olen = zt_packet_decompress(pkt, len, out, sizeof out);
	ok(olen > 0 && (size_t)olen - ZT_PKT_HEADER == wlen &&
	   memcmp(out + ZT_PKT_HEADER, want, wlen) == 0, nm(num, "LZ4 payload decompresses"));
}

static void check_packet(const struct vec_block *b)
{
	static uint8_t wire[ZT_PKT_MAX], pkt[ZT_PKT_MAX];
	int num = atoi(vec_get(b, "packet"));
	size_t len = vec_hex(b, vec_get(b, "assembled_hex") ? "assembled_hex" : "udp_payload_hex",
			     wire, sizeof wire);
	struct pair *p;
	unsigned suite;
	uint8_t kp[32], want[32];

	if (len < ZT_PKT_MIN)
		bail("packet %d: too short", num);
	npackets++;
	p = pair_find(zt_address_read(wire + ZT_PKT_IDX_DEST), zt_address_read(wire + ZT_PKT_IDX_SOURCE));
	if (!p)
		bail("packet %d: no key for its addresses", num);
	suite = zt_pkt_suite(wire);
	if (vec_get(b, "salsa20_12_per_packet_key")) {
		vec_hex(b, "salsa20_12_per_packet_key", want, sizeof want);
		zt_salsa_packet_key(p->k, wire, len, kp);
		ok(memcmp(kp, want, 32) == 0, nm(num, "Salsa20/12 per-packet key"));
	}
	memcpy(pkt, wire, len);
	is_int(zt_dearmor(&p->pk, pkt, len), 0, nm(num, "dearmors"));
	check_plain(num, b, pkt, len);
	if ((pkt[ZT_PKT_IDX_VERB] & ZT_PKT_VERB_MASK) == 1)
		hello_tail(num, b, &p->pk, pkt, len);
	if (suite == ZT_SUITE_AES_GMAC_SIV)
		siv_iv(p->k1, wire, pkt);
	ok(zt_armor(&p->pk, pkt, len, suite) == 0 && memcmp(pkt, wire, len) == 0,
	   nm(num, "re-armoring reproduces the capture"));
	is_int(truncations_accepted(&p->pk, wire, len), 0, nm(num, "every truncation is rejected"));
}

int main(void)
{
	FILE *f = vec_open("packets.txt");
	static struct vec_block b;
	int line = 0;

	if (!EVP_get_cipherbyname("aes-256-ecb"))
		bail("no AES in libcrypto");
	while (vec_next(f, &b, &line)) {
		const char *kind = vec_get(&b, "kind");

		if (vec_get(&b, "scenario"))
			scenario_reset();
		else if (vec_get(&b, "identity.root.secret"))
			read_identities(&b);
		else if (vec_get(&b, "pair"))
			read_pairs(&b);
		else if (kind && strcmp(kind, "packet") == 0)
			check_packet(&b);
	}
	fclose(f);
	vec_free(&b);
	scenario_reset();
	is_int(npackets, 168, "168 captured packets");
	plan(tap_run);
	return tap_done();
}
