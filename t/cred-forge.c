/* cred-forge: a member that shows another member capabilities and tags
 * it was not given, for t/net-rules-forged.sh.
 *
 *   cred-forge MODE SELF LENDER CONTROLLER CTL-IP TARGET TARGET-IP NWID DST-IP PORT...
 *
 * SELF and LENDER are secret identities (files) of two authorized
 * members, CONTROLLER and TARGET public ones (files) of the network's
 * controller and of a member running ztd; the ZeroTier ports are 9993,
 * cred-forge's own too.
 * cred-forge asks the controller for SELF's config (and for LENDER's:
 * its capabilities and tags), says HELLO to TARGET, pushes it
 * NETWORK_CREDENTIALS with SELF's certificate of membership and, by MODE:
 *
 *   own         SELF's own capabilities and tags, as the controller gave them
 *   borrowed    LENDER's, as the controller signed them for LENDER
 *   selfsigned  LENDER's capabilities and tags issued to SELF, signed by
 *               SELF instead of the controller
 *   reissued    LENDER's with SELF as the member they were issued to,
 *               the controller's signatures kept (which then do not match)
 *   save:FILE   as own, and SELF's capabilities and tags kept in FILE
 *   replay:FILE those kept in FILE, whatever the controller says now
 *
 * then sends TARGET one FRAME per PORT: an IPv4 UDP datagram from SELF's
 * managed address to DST-IP:PORT whose payload is "PORT\n".  Credentials
 * and frames go three times, 300 ms apart.  Exit 0 once sent, 1 on an
 * error (said on stderr), 2 on a usage error. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zt/crypto.h>
#include <zt/fragment.h>
#include <zt/identity.h>
#include <zt/netconf.h>
#include <zt/packet.h>

#define PROG "cred-forge"
#define PROTO 12                    /* protocol version of 1.14 */
#define ZT_PORT 9993
#define WAIT_MS 10000

struct peer {
	struct zt_identity id;
	struct sockaddr_in at;
};

static int fd = -1;
static uint8_t pkt[ZT_PKT_MAX];

static int fail(const char *what)
{
	fprintf(stderr, PROG ": %s\n", what);
	return -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int load_identity(const char *path, struct zt_identity *id)
{
	char text[1024];
	FILE *f = fopen(path, "r");
	size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;

	if (f)
		fclose(f);
	text[len] = 0;
	if (!len || zt_identity_from_text(id, text) < 0) {
		fprintf(stderr, PROG ": %s: not an identity\n", path);
		return -1;
	}
	return 0;
}

/* Starts a packet from `from` to `to` in pkt. */
static void begin(struct zt_wr *w, const struct zt_identity *from, const struct peer *to, uint8_t verb)
{
	struct zt_hdr h = { .dest = to->id.address, .src = from->address, .verb = verb };

	if (getrandom(&h.id, sizeof h.id, 0) != (ssize_t)sizeof h.id)
		h.id = (uint64_t)now_ms();
	zt_wr_init(w, pkt, sizeof pkt);
	zt_hdr_write(w, &h);
}

/* Arms the packet in pkt (whole: small enough for one datagram) and sends it. */
static int finish(const struct zt_wr *w, const struct zt_identity *from, const struct peer *to,
		  enum zt_cipher suite, size_t hello_tail)
{
	struct zt_peer_key key;
	int rc = -1;

	if (w->err || w->len > ZT_MTU_DEFAULT)
		return fail("a packet does not fit");
	if (zt_peer_key_agree(&key, from, &to->id) < 0)
		return fail("key agreement failed");
	pkt[ZT_HDR_FLAGS] = zt_flags_make(suite, false);
	if ((!hello_tail || zt_hello_crypt(&key, pkt, w->len, hello_tail) == 0) &&
	    zt_armor(&key, pkt, w->len, suite) == 0 &&
	    sendto(fd, pkt, w->len, 0, (const struct sockaddr *)&to->at, sizeof to->at) == (ssize_t)w->len)
		rc = 0;
	zt_peer_key_clear(&key);
	return rc < 0 ? fail("cannot send") : 0;
}

static int send_hello(const struct zt_identity *self, const struct peer *to)
{
	uint8_t idbin[ZT_ID_BIN_PUB];
	struct zt_hello h = {
		.proto = PROTO, .major = 1, .minor = 14, .revision = 2,
		.timestamp = (uint64_t)time(NULL) * 1000, .id = idbin, .id_len = ZT_ID_BIN_PUB,
		.has_dest = true,
	};
	struct zt_wr w;

	memcpy(&h.dest.in4, &to->at, sizeof to->at);
	zt_identity_to_bin(self, idbin, false);
	begin(&w, self, to, ZT_VERB_HELLO);
	if (zt_hello_encode(&w, &h, NULL, 0) < 0)
		return fail("HELLO does not encode");
	return finish(&w, self, to, ZT_CIPHER_POLY1305_NONE, ZT_HDR_PAYLOAD + h.tail_off);
}

static int send_config_request(const struct zt_identity *self, const struct peer *ctl, uint64_t nwid)
{
	uint8_t meta[ZT_DICT_META_CAP];
	struct zt_ncreq_meta m;
	struct zt_ncreq q = { .nwid = nwid, .has_tail = true };
	struct zt_wr mw, w;

	zt_ncreq_meta_default(&m, "linux/x86_64");
	zt_wr_init(&mw, meta, sizeof meta);
	if (zt_ncreq_meta_write(&m, &mw) < 0 || mw.err)
		return fail("config request metadata does not encode");
	q.meta = meta;
	q.meta_len = mw.len;
	begin(&w, self, ctl, ZT_VERB_NETWORK_CONFIG_REQUEST);
	if (zt_ncreq_encode(&w, &q) < 0)
		return fail("config request does not encode");
	return finish(&w, self, ctl, ZT_CIPHER_AES_GMAC_SIV, 0);
}

/* OK(HELLO) to a peer's HELLO: a node talks to a new peer only once it
 * answered one (its path confirmed). */
static int reply_hello(const struct zt_identity *self, const struct peer *to, uint64_t id, const uint8_t *pl,
		       size_t len)
{
	struct zt_ok_hello ok = { .proto = PROTO, .major = 1, .minor = 14, .revision = 2, .has_addr = true };
	struct zt_hello h;
	struct zt_wr w;

	if (zt_hello_decode(&h, pl, len) < 0)
		return 0;
	ok.timestamp = h.timestamp;
	memcpy(&ok.addr.in4, &to->at, sizeof to->at);
	begin(&w, self, to, ZT_VERB_OK);
	zt_ok_encode(&w, ZT_VERB_HELLO, id);
	zt_ok_hello_encode(&w, &ok);
	return finish(&w, self, to, ZT_CIPHER_AES_GMAC_SIV, 0);
}

/* The next OK or ERROR from `from` to `self`, dearmored: its verb's
 * payload in *pl.  0, or -ETIMEDOUT past the deadline. */
static int receive(const struct zt_identity *self, const struct peer *from, struct zt_reasm *reasm,
		   int64_t deadline, uint8_t **pl, size_t *len, uint8_t *verb)
{
	static uint8_t buf[ZT_PKT_MAX + 64], whole[ZT_PKT_MAX], dec[ZT_PKT_MAX];
	struct zt_peer_key key;
	bool have_key = false;

	while (now_ms() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint8_t *at = buf;
		struct zt_hdr h;
		ssize_t got;
		int n;

		if (poll(&p, 1, (int)(deadline - now_ms())) <= 0 || (got = recv(fd, buf, sizeof buf, 0)) < 0)
			continue;
		switch (zt_dgram_classify(buf, (size_t)got)) {
		case ZT_DGRAM_PACKET:
			break;
		case ZT_DGRAM_HEAD:
		case ZT_DGRAM_FRAGMENT:
			if ((n = zt_reasm_input(reasm, buf, (size_t)got, now_ms(), whole, sizeof whole)) <= 0)
				continue;
			at = whole;
			got = n;
			break;
		default:
			continue;
		}
		if (zt_hdr_read(&h, at, (size_t)got) < 0 || h.dest != self->address || h.src != from->id.address)
			continue;

		if (!have_key && zt_peer_key_agree(&key, self, &from->id) < 0)
			return fail("key agreement failed");
		have_key = true;
		if (zt_dearmor(&key, at, (size_t)got) < 0)
			continue;
		if (at[ZT_HDR_VERB] & ZT_VERB_COMPRESSED) {
			if ((n = zt_packet_decompress(at, (size_t)got, dec, sizeof dec)) < 0)
				continue;
			at = dec;
			got = n;
		}
		*verb = at[ZT_HDR_VERB] & ZT_VERB_MASK;
		if (*verb == ZT_VERB_HELLO &&
		    reply_hello(self, from, h.id, at + ZT_HDR_PAYLOAD, (size_t)got - ZT_HDR_PAYLOAD) < 0)
			break;
		if (*verb != ZT_VERB_OK && *verb != ZT_VERB_ERROR)
			continue;
		*pl = at + ZT_HDR_PAYLOAD;
		*len = (size_t)got - ZT_HDR_PAYLOAD;
		zt_peer_key_clear(&key);
		return 0;
	}
	if (have_key)
		zt_peer_key_clear(&key);
	return -ETIMEDOUT;
}

/* HELLO to a peer until it answers OK(HELLO). */
static int hello(const struct zt_identity *self, const struct peer *to, struct zt_reasm *reasm)
{
	int64_t end = now_ms() + WAIT_MS;

	while (now_ms() < end) {
		uint8_t *pl, verb;
		size_t len;
		struct zt_ok ok;

		if (send_hello(self, to) < 0)
			return -1;
		if (receive(self, to, reasm, now_ms() + 1000, &pl, &len, &verb) == 0 && verb == ZT_VERB_OK &&
		    zt_ok_decode(&ok, pl, len) == 0 && ok.in_re_verb == ZT_VERB_HELLO)
			return 0;
	}
	return fail("no OK(HELLO)");
}

/* self's config from the controller, verified, into nc. */
static int fetch_config(const struct zt_identity *self, const struct peer *ctl, uint64_t nwid,
			struct zt_netconf *nc, struct zt_reasm *reasm)
{
	struct zt_config_asm casm;
	int64_t end = now_ms() + WAIT_MS, next = 0;
	int rc = -1;

	if (hello(self, ctl, reasm) < 0)
		return -1;
	zt_config_asm_init(&casm);
	while (rc < 0 && now_ms() < end) {
		struct zt_config_chunk ch;
		const uint8_t *dict;
		uint8_t *pl, verb;
		size_t len, dlen;
		struct zt_ok ok;

		/* again every second, as 1.14 does: the controller may have
		 * answered before it knew our path */
		if (now_ms() >= next) {
			if (send_config_request(self, ctl, nwid) < 0)
				break;
			next = now_ms() + 1000;
		}
		if (receive(self, ctl, reasm, next, &pl, &len, &verb) < 0)
			continue;
		if (verb == ZT_VERB_ERROR) {
			fail("the controller refused the config request");
			break;
		}
		if (zt_ok_decode(&ok, pl, len) < 0 || ok.in_re_verb != ZT_VERB_NETWORK_CONFIG_REQUEST ||
		    zt_chunk_decode(&ch, ok.data, ok.len) < 0 || ch.nwid != nwid ||
		    zt_config_asm_is_dup(&casm, &ch) || zt_chunk_verify(&ch, &ctl->id) < 0)
			continue;
		if (zt_config_asm_add(&casm, &ch, &dict, &dlen) == 1)
			rc = zt_netconf_parse(nc, dict, dlen) < 0 ? fail("the config does not parse") : 0;
	}
	zt_config_asm_fini(&casm);
	if (rc < 0 && now_ms() >= end)
		fail("no config from the controller");
	return rc;
}

/* save:FILE: SELF's own credentials, also written to FILE (without COM). */
static int keep(const char *path, const struct zt_netconf *own, struct zt_cap *caps, unsigned *ncaps,
		struct zt_tag *tags, unsigned *ntags)
{
	static uint8_t buf[ZT_PKT_MAX];
	struct zt_wr w;
	FILE *f;

	*ncaps = own->ncaps;
	*ntags = own->ntags;
	memcpy(caps, own->caps, own->ncaps * sizeof *caps);
	memcpy(tags, own->tags, own->ntags * sizeof *tags);
	zt_wr_init(&w, buf, sizeof buf);
	if (zt_netcreds_encode(&w, NULL, caps, *ncaps, tags, *ntags, NULL, 0, NULL, 0) < 0 || w.err)
		return fail("the credentials do not encode");
	if (!(f = fopen(path, "w")) || fwrite(buf, 1, w.len, f) != w.len || fclose(f) != 0)
		return fail("cannot write the credentials' file");
	return 0;
}

/* replay:FILE: the credentials save:FILE kept (the capabilities' rules
 * point into a static buffer). */
static int replay(const char *path, struct zt_cap *caps, unsigned *ncaps, struct zt_tag *tags, unsigned *ntags)
{
	static uint8_t buf[ZT_PKT_MAX];
	struct zt_netcreds nc;
	FILE *f = fopen(path, "r");
	size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;

	if (f)
		fclose(f);
	if (!len || zt_netcreds_decode(&nc, buf, len) < 0)
		return fail("the credentials' file does not decode");
	for (*ncaps = 0; *ncaps < ZT_NETCONF_MAX_CAPS && zt_netcreds_cap(&nc, *ncaps, &caps[*ncaps]) == 0; (*ncaps)++)
		;
	for (*ntags = 0; *ntags < ZT_NETCONF_MAX_TAGS && zt_netcreds_tag(&nc, *ntags, &tags[*ntags]) == 0; (*ntags)++)
		;
	return 0;
}

/* The credentials MODE asks for into caps and tags (room for the
 * config's maximum); their counts, or -1 for an unknown MODE. */
static int forge(const char *mode, const struct zt_identity *self, const struct zt_netconf *own,
		 const struct zt_netconf *lender, struct zt_cap *caps, unsigned *ncaps, struct zt_tag *tags,
		 unsigned *ntags)
{
	const struct zt_netconf *from = strcmp(mode, "own") == 0 ? own : lender;

	if (strncmp(mode, "save:", 5) == 0)
		return keep(mode + 5, own, caps, ncaps, tags, ntags);
	if (strncmp(mode, "replay:", 7) == 0)
		return replay(mode + 7, caps, ncaps, tags, ntags);
	if (strcmp(mode, "own") != 0 && strcmp(mode, "borrowed") != 0 && strcmp(mode, "selfsigned") != 0 &&
	    strcmp(mode, "reissued") != 0)
		return fail("MODE must be own, borrowed, selfsigned, reissued, save:FILE or replay:FILE");
	*ncaps = from->ncaps;
	*ntags = from->ntags;
	memcpy(caps, from->caps, from->ncaps * sizeof *caps);
	memcpy(tags, from->tags, from->ntags * sizeof *tags);
	if (strcmp(mode, "own") == 0 || strcmp(mode, "borrowed") == 0)
		return 0;
	for (unsigned i = 0; i < *ncaps; i++) {
		if (strcmp(mode, "reissued") == 0 && caps[i].nchain) {
			caps[i].chain[caps[i].nchain - 1].to = self->address;
			continue;
		}
		caps[i].nchain = 0;
		if (zt_cap_sign(&caps[i], self, self->address) < 0)
			return fail("cannot sign a capability");
	}
	for (unsigned i = 0; i < *ntags; i++) {
		tags[i].issued_to = self->address;
		if (strcmp(mode, "selfsigned") == 0 && zt_tag_sign(&tags[i], self) < 0)
			return fail("cannot sign a tag");
	}
	return 0;
}

static int send_credentials(const struct zt_identity *self, const struct peer *to, const struct zt_netconf *own,
			    const struct zt_cap *caps, unsigned ncaps, const struct zt_tag *tags, unsigned ntags)
{
	struct zt_wr w;

	begin(&w, self, to, ZT_VERB_NETWORK_CREDENTIALS);
	if (zt_netcreds_encode(&w, own->has_com ? &own->com : NULL, caps, ncaps, tags, ntags, NULL, 0, NULL, 0) < 0)
		return fail("the credentials do not encode");
	return finish(&w, self, to, ZT_CIPHER_AES_GMAC_SIV, 0);
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A FRAME to `to`: IPv4 UDP from src to dst:port, "PORT\n" (no UDP checksum). */
static int send_udp(const struct zt_identity *self, const struct peer *to, uint64_t nwid, const uint8_t src[4],
		    const uint8_t dst[4], unsigned port)
{
	uint8_t ip[64] = { 0x45 };
	char text[8];
	int n = snprintf(text, sizeof text, "%u\n", port);
	size_t len = 28 + (size_t)n;
	struct zt_wr w;

	ip[2] = (uint8_t)(len >> 8);
	ip[3] = (uint8_t)len;
	ip[6] = 0x40;                   /* DF */
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	ip[10] = (uint8_t)(ip_checksum(ip, 20) >> 8);
	ip[11] = (uint8_t)ip_checksum(ip, 20);
	ip[20] = 0x7a;                  /* source port 31337 */
	ip[21] = 0x69;
	ip[22] = (uint8_t)(port >> 8);
	ip[23] = (uint8_t)port;
	ip[24] = (uint8_t)((len - 20) >> 8);
	ip[25] = (uint8_t)(len - 20);
	memcpy(ip + 28, text, (size_t)n);
	begin(&w, self, to, ZT_VERB_FRAME);
	zt_wr_u64(&w, nwid);
	zt_wr_u16(&w, 0x0800);
	zt_wr_bytes(&w, ip, len);
	return finish(&w, self, to, ZT_CIPHER_AES_GMAC_SIV, 0);
}

static bool needs_lender(const char *mode)
{
	return strcmp(mode, "borrowed") == 0 || strcmp(mode, "selfsigned") == 0 || strcmp(mode, "reissued") == 0;
}

static int peer_at(struct peer *p, const char *identity, const char *ip)
{
	if (load_identity(identity, &p->id) < 0)
		return -1;
	p->at.sin_family = AF_INET;
	p->at.sin_port = htons(ZT_PORT);
	if (inet_pton(AF_INET, ip, &p->at.sin_addr) != 1) {
		fprintf(stderr, PROG ": '%s': not an IPv4 address\n", ip);
		return -1;
	}
	return 0;
}

static int run(char **argv, int ports, struct zt_netconf *own, struct zt_netconf *lent, struct zt_reasm *reasm)
{
	static struct zt_cap caps[ZT_NETCONF_MAX_CAPS];
	static struct zt_tag tags[ZT_NETCONF_MAX_TAGS];
	struct zt_identity self, lender;
	struct peer ctl, target;
	uint8_t src[4], dst[4];
	unsigned ncaps, ntags;
	char *end;
	uint64_t nwid = strtoull(argv[8], &end, 16);
	int rc = -1;

	if (*end || strlen(argv[8]) != 16 || inet_pton(AF_INET, argv[9], dst) != 1)
		return fail("NWID must be 16 hex digits and DST-IP an IPv4 address");
	if (load_identity(argv[2], &self) < 0)
		return -1;
	if (load_identity(argv[3], &lender) < 0 || peer_at(&ctl, argv[4], argv[5]) < 0 ||
	    peer_at(&target, argv[6], argv[7]) < 0)
		goto out;
	if (fetch_config(&self, &ctl, nwid, own, reasm) < 0 ||
	    (needs_lender(argv[1]) && fetch_config(&lender, &ctl, nwid, lent, reasm) < 0))
		goto out;
	if (!own->nips || own->ips[0].sa.sa_family != AF_INET) {
		fail("no managed IPv4 address in the config");
		goto out;
	}
	memcpy(src, &own->ips[0].in4.sin_addr, 4);
	if (forge(argv[1], &self, own, lent, caps, &ncaps, tags, &ntags) < 0 || hello(&self, &target, reasm) < 0)
		goto out;
	for (int round = 0; round < 3; round++) {
		if (send_credentials(&self, &target, own, caps, ncaps, tags, ntags) < 0)
			goto out;
		usleep(100000);
		for (int i = 0; i < ports; i++)
			if (send_udp(&self, &target, nwid, src, dst, (unsigned)atoi(argv[10 + i])) < 0)
				goto out;
		usleep(300000);
	}
	rc = 0;
out:
	zt_identity_wipe(&self);
	zt_identity_wipe(&lender);
	return rc;
}

int main(int argc, char **argv)
{
	struct zt_netconf *own = zt_netconf_new(), *lent = zt_netconf_new();
	struct zt_reasm *reasm = zt_reasm_new(4);
	struct sockaddr_in here = { .sin_family = AF_INET, .sin_port = htons(ZT_PORT) };
	int rc;

	if (argc < 11) {
		fprintf(stderr, "usage: " PROG " own|borrowed|selfsigned|reissued|save:FILE|replay:FILE SELF LENDER CONTROLLER CTL-IP "
			"TARGET TARGET-IP NWID DST-IP PORT...\n");
		return 2;
	}
	/* always from port 9993: the controller and the target keep the path
	 * of an earlier run, which another port would leave dead */
	if (!own || !lent || !reasm || (fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    bind(fd, (const struct sockaddr *)&here, sizeof here) < 0) {
		fprintf(stderr, PROG ": %s\n", strerror(errno));
		return 1;
	}
	rc = run(argv, argc - 10, own, lent, reasm);
	close(fd);
	zt_reasm_free(reasm);
	zt_netconf_free(own);
	zt_netconf_free(lent);
	return rc < 0 ? 1 : 0;
}
