/* Identities (wire.md §1) and signatures (wire.md §2.3). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <zt/identity.h>

#include "wire.h"

/* §1.2: 2 MiB of 64-byte blocks, then 131072 digest rounds; the round
 * keystream is made 64 KiB at a time after the buffer. */
#define POW_BLOCK 64
#define POW_MEM (32768 * POW_BLOCK)
#define POW_WORDS (POW_MEM / 8)
#define POW_ROUNDS 131072
#define POW_CHUNK_BLOCKS 1024
#define POW_WORK_LEN (POW_MEM + POW_CHUNK_BLOCKS * POW_BLOCK)
#define POW_LIMIT 17

#define ADDR_MASK 0xffffffffffULL

bool zt_address_reserved(uint64_t address)
{
	address &= ADDR_MASK;
	return address == 0 || (address >> 32) == 0xff;
}

bool zt_hex_parse(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n > 16)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

uint64_t zt_address_read(const uint8_t p[ZT_ADDR_LEN])
{
	uint64_t a = 0;

	for (int i = 0; i < ZT_ADDR_LEN; i++)
		a = (a << 8) | p[i];
	return a;
}

void zt_address_write(uint64_t address, uint8_t p[ZT_ADDR_LEN])
{
	for (int i = ZT_ADDR_LEN - 1; i >= 0; i--, address >>= 8)
		p[i] = (uint8_t)address;
}

static const char hexdigits[] = "0123456789abcdef";

static void hex_put(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		*out++ = hexdigits[p[i] >> 4];
		*out++ = hexdigits[p[i] & 15];
	}
	*out = '\0';
}

/* Exactly 2n hex digits (either case) into n bytes. */
static int hex_get(uint8_t *out, size_t n, const char *s, size_t slen)
{
	if (slen != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = zt_hex_nibble(s[2 * i]), lo = zt_hex_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void zt_address_fmt(uint64_t address, char out[11])
{
	uint8_t b[ZT_ADDR_LEN];

	zt_address_write(address, b);
	hex_put(out, b, ZT_ADDR_LEN);
}

/* ---- H(pub), §1.2 ---- */

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void store64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* M block n ^= M block n-1, in native words: XOR does not care about order. */
static void pow_chain(uint8_t *m)
{
	for (size_t i = POW_BLOCK; i < POW_MEM; i += 8)
		store64(m + i, load64(m + i) ^ load64(m + i - POW_BLOCK));
}

static void pow_rounds(uint8_t *m, uint8_t *ks, uint8_t d[64],
		       const uint8_t key[32], const uint8_t nonce[8])
{
	for (uint32_t it = 0; it < POW_ROUNDS; it++) {
		uint32_t blk = it % POW_CHUNK_BLOCKS;
		const uint8_t *w = m + 16 * (size_t)it;
		unsigned i1 = w[7] & 7;
		size_t i2 = (size_t)(w[13] & 3) << 16 | (size_t)w[14] << 8 | w[15];
		uint64_t t;

		if (blk == 0) {
			memset(ks, 0, POW_CHUNK_BLOCKS * POW_BLOCK);
			crypto_stream_salsa20_xor_ic(ks, ks, POW_CHUNK_BLOCKS * POW_BLOCK,
						     nonce, 32768 + it, key);
		}
		t = load64(m + 8 * i2);
		store64(m + 8 * i2, load64(d + 8 * i1));
		store64(d + 8 * i1, t);
		for (int j = 0; j < 64; j += 8)
			store64(d + j, load64(d + j) ^ load64(ks + blk * POW_BLOCK + j));
	}
}

/* The work area, POW_WORK_LEN bytes, is mapped for each hash and unmapped
 * after: from malloc, glibc would raise its mmap threshold on the first
 * free and keep every later one's 2 MiB resident in the heap for good. */
static uint8_t *pow_work_new(void)
{
	void *w = mmap(NULL, POW_WORK_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return w == MAP_FAILED ? NULL : w;
}

static void pow_work_free(uint8_t *work)
{
	if (work)
		munmap(work, POW_WORK_LEN);
}

/* work: POW_WORK_LEN bytes, reused across calls. */
static void pow_hash(const uint8_t pub[ZT_PUB_LEN], uint8_t d[64], uint8_t *work)
{
	uint8_t key[32], nonce[8];

	crypto_hash_sha512(d, pub, ZT_PUB_LEN);
	memcpy(key, d, 32);
	memcpy(nonce, d + 32, 8);
	crypto_stream_salsa20(work, POW_MEM, nonce, key);
	pow_chain(work);
	pow_rounds(work, work + POW_MEM, d, key, nonce);
}

/* Each thread's work area, mapped at its first check and kept while
 * checks keep coming: a root or controller checks an identity for every
 * new peer, and mapping, faulting in and unmapping 2 MiB each time was a
 * fifth of a check's cost; a leaf checks a few and should not hold it. */
static _Thread_local uint8_t *pow_work_kept;
static _Thread_local int64_t pow_work_used_ms;

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int zt_identity_hash(const uint8_t pub[ZT_PUB_LEN], uint8_t digest[ZT_POW_DIGEST_LEN])
{
	if (sodium_init() < 0)
		return -EIO;
	if (!pow_work_kept && !(pow_work_kept = pow_work_new()))
		return -ENOMEM;
	pow_hash(pub, digest, pow_work_kept);
	pow_work_used_ms = monotonic_ms();
	return 0;
}

void zt_identity_work_idle(int64_t idle_ms)
{
	if (pow_work_kept && monotonic_ms() - pow_work_used_ms >= idle_ms) {
		pow_work_free(pow_work_kept);
		pow_work_kept = NULL;
	}
}

static bool pow_accepts(const uint8_t d[64], uint64_t address)
{
	return d[0] < POW_LIMIT && zt_address_read(d + 59) == address;
}

bool zt_identity_validate(const struct zt_identity *id)
{
	uint8_t d[ZT_POW_DIGEST_LEN];

	if (zt_address_reserved(id->address) || id->address > ADDR_MASK)
		return false;
	if (zt_identity_hash(id->pub, d) < 0)
		return false;
	return pow_accepts(d, id->address);
}

/* ---- key halves ---- */

static void ed25519_public(const uint8_t seed[32], uint8_t pk[32])
{
	uint8_t sk[crypto_sign_ed25519_SECRETKEYBYTES];

	crypto_sign_ed25519_seed_keypair(pk, sk, seed);
	sodium_memzero(sk, sizeof sk);
}

void zt_identity_derive_public(const uint8_t priv[ZT_PRIV_LEN], uint8_t pub[ZT_PUB_LEN])
{
	crypto_scalarmult_curve25519_base(pub, priv);
	ed25519_public(priv + 32, pub + 32);
}

bool zt_identity_keys_match(const struct zt_identity *id)
{
	uint8_t pub[ZT_PUB_LEN];

	if (!id->has_private)
		return false;
	zt_identity_derive_public(id->priv, pub);
	return memcmp(pub, id->pub, ZT_PUB_LEN) == 0;
}

bool zt_identity_equal(const struct zt_identity *a, const struct zt_identity *b)
{
	return a->address == b->address && memcmp(a->pub, b->pub, ZT_PUB_LEN) == 0;
}

void zt_identity_wipe(struct zt_identity *id)
{
	sodium_memzero(id, sizeof *id);
}

/* ---- binary form, §1.6 ---- */

#define BIN_TYPE 5
#define BIN_PUB 6
#define BIN_PRIVLEN 70
#define BIN_PRIV 71

int zt_identity_from_bin(struct zt_identity *id, const uint8_t *p, size_t len)
{
	size_t need = ZT_ID_BIN_PUB;

	if (len < ZT_ID_BIN_PUB)
		return -EMSGSIZE;
	if (p[BIN_TYPE] != 0)
		return -EINVAL;
	if (p[BIN_PRIVLEN] == ZT_PRIV_LEN)
		need = ZT_ID_BIN_SECRET;
	else if (p[BIN_PRIVLEN] != 0)
		return -EINVAL;
	if (len < need)
		return -EMSGSIZE;
	id->address = zt_address_read(p);
	memcpy(id->pub, p + BIN_PUB, ZT_PUB_LEN);
	id->has_private = need == ZT_ID_BIN_SECRET;
	if (id->has_private)
		memcpy(id->priv, p + BIN_PRIV, ZT_PRIV_LEN);
	else
		sodium_memzero(id->priv, ZT_PRIV_LEN);
	return (int)need;
}

size_t zt_identity_to_bin(const struct zt_identity *id, uint8_t *out, bool include_private)
{
	bool priv = include_private && id->has_private;

	zt_address_write(id->address, out);
	out[BIN_TYPE] = 0;
	memcpy(out + BIN_PUB, id->pub, ZT_PUB_LEN);
	out[BIN_PRIVLEN] = priv ? ZT_PRIV_LEN : 0;
	if (!priv)
		return ZT_ID_BIN_PUB;
	memcpy(out + BIN_PRIV, id->priv, ZT_PRIV_LEN);
	return ZT_ID_BIN_SECRET;
}

/* ---- text form, §1.5 ---- */

static bool is_trailing_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Split s[0..n) on ':' into at most 4 fields; -EINVAL on more. */
static int text_split(const char *s, size_t n, const char *f[4], size_t flen[4])
{
	int nf = 0;
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != ':')
			continue;
		if (nf == 4)
			return -EINVAL;
		f[nf] = s + start;
		flen[nf++] = i - start;
		start = i + 1;
	}
	return nf;
}

int zt_identity_from_text(struct zt_identity *id, const char *s)
{
	struct zt_identity t = { 0 };
	uint8_t a[ZT_ADDR_LEN];
	const char *f[4];
	size_t flen[4], n = strlen(s);
	int nf, rc = -EINVAL;

	while (n > 0 && is_trailing_space(s[n - 1]))
		n--;
	nf = text_split(s, n, f, flen);
	if (nf < 3)
		return -EINVAL;
	if (hex_get(a, ZT_ADDR_LEN, f[0], flen[0]) < 0)
		goto out;
	t.address = zt_address_read(a);
	if (zt_address_reserved(t.address))
		goto out;
	if (flen[1] != 1 || f[1][0] != '0')
		goto out;
	if (hex_get(t.pub, ZT_PUB_LEN, f[2], flen[2]) < 0)
		goto out;
	if (nf == 4) {
		if (hex_get(t.priv, ZT_PRIV_LEN, f[3], flen[3]) < 0)
			goto out;
		t.has_private = true;
	}
	*id = t;
	rc = 0;
out:
	sodium_memzero(&t, sizeof t);
	return rc;
}

void zt_identity_to_text(const struct zt_identity *id, char out[ZT_ID_TEXT_MAX], bool include_private)
{
	char *p = out;

	zt_address_fmt(id->address, p);
	p += 10;
	memcpy(p, ":0:", 3);
	p += 3;
	hex_put(p, id->pub, ZT_PUB_LEN);
	p += 2 * ZT_PUB_LEN;
	if (include_private && id->has_private) {
		*p++ = ':';
		hex_put(p, id->priv, ZT_PRIV_LEN);
	}
}

/* ---- signatures, §2.3 ---- */

int zt_sign(const struct zt_identity *id, const void *msg, size_t len, uint8_t sig[ZT_SIG_LEN])
{
	uint8_t h[crypto_hash_sha512_BYTES];
	uint8_t pk[crypto_sign_ed25519_PUBLICKEYBYTES];
	uint8_t sk[crypto_sign_ed25519_SECRETKEYBYTES];

	if (!id->has_private)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	crypto_hash_sha512(h, msg, len);
	crypto_sign_ed25519_seed_keypair(pk, sk, id->priv + 32);
	crypto_sign_ed25519_detached(sig, NULL, h, 32, sk);
	memcpy(sig + 64, h, 32);
	sodium_memzero(sk, sizeof sk);
	return 0;
}

bool zt_sig_verify(const uint8_t pub[ZT_PUB_LEN], const void *msg, size_t len,
		   const uint8_t *sig, size_t siglen)
{
	uint8_t h[crypto_hash_sha512_BYTES];

	if (!sig || siglen != ZT_SIG_LEN)
		return false;
	crypto_hash_sha512(h, msg, len);
	if (sodium_memcmp(sig + 64, h, 32) != 0)
		return false;
	return crypto_sign_ed25519_verify_detached(sig, h, 32, pub + 32) == 0;
}

/* ---- generation, §1.3 ---- */

static void le64_add(uint8_t *p, uint64_t v)
{
	uint64_t x = 0;

	for (int i = 7; i >= 0; i--)
		x = x << 8 | p[i];
	x += v;
	for (int i = 0; i < 8; i++, x >>= 8)
		p[i] = (uint8_t)x;
}

struct gen {
	atomic_bool done;
	atomic_uint_fast64_t hashes;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned running;
	int err;
	struct zt_identity result;
};

/* One search from a fresh random key; -ECANCELED once g->done is set. */
static int gen_search(struct gen *g, struct zt_identity *id, uint8_t *work)
{
	uint8_t d[ZT_POW_DIGEST_LEN];

	for (;;) {
		randombytes_buf(id->priv, ZT_PRIV_LEN);
		ed25519_public(id->priv + 32, id->pub + 32);
		d[0] = 0xff;
		while (d[0] >= POW_LIMIT) {
			if (atomic_load_explicit(&g->done, memory_order_relaxed))
				return -ECANCELED;
			le64_add(id->priv + 8, 1);
			le64_add(id->priv + 16, UINT64_MAX);
			/* an all-zero X25519 public key: start over */
			if (crypto_scalarmult_curve25519_base(id->pub, id->priv) != 0)
				break;
			pow_hash(id->pub, d, work);
			atomic_fetch_add_explicit(&g->hashes, 1, memory_order_relaxed);
		}
		if (d[0] >= POW_LIMIT)
			continue;
		id->address = zt_address_read(d + 59);
		if (!zt_address_reserved(id->address))
			break;
	}
	id->has_private = true;
	return 0;
}

static void gen_finish(struct gen *g, const struct zt_identity *id, int err)
{
	pthread_mutex_lock(&g->lock);
	if (err == 0 && !atomic_load(&g->done)) {
		g->result = *id;
		atomic_store(&g->done, true);
	} else if (err != -ECANCELED && g->err == 0) {
		g->err = err;
	}
	g->running--;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static void *gen_thread(void *arg)
{
	struct gen *g = arg;
	struct zt_identity id;
	uint8_t *work = pow_work_new();
	int err = -ENOMEM;

	if (work) {
		err = gen_search(g, &id, work);
		pow_work_free(work);
	}
	gen_finish(g, &id, err);
	sodium_memzero(&id, sizeof id);
	return NULL;
}

int zt_identity_generate(struct zt_identity *id)
{
	return zt_identity_generate_mt(id, 1, NULL, NULL);
}

static unsigned gen_threads(unsigned n)
{
	long cpus;

	if (n)
		return n > 256 ? 256 : n;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus < 1 ? 1 : cpus > 256 ? 256 : (unsigned)cpus;
}

/* Wait for a result or for every thread to give up, reporting progress. */
static void gen_wait(struct gen *g, void (*progress)(uint64_t, void *), void *arg)
{
	struct timespec ts;

	pthread_mutex_lock(&g->lock);
	while (!atomic_load(&g->done) && g->running > 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000 * 1000 * 1000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000 * 1000 * 1000;
		}
		pthread_cond_timedwait(&g->cond, &g->lock, &ts);
		if (progress) {
			pthread_mutex_unlock(&g->lock);
			progress(atomic_load(&g->hashes), arg);
			pthread_mutex_lock(&g->lock);
		}
	}
	pthread_mutex_unlock(&g->lock);
}

int zt_identity_generate_mt(struct zt_identity *id, unsigned nthreads,
			    void (*progress)(uint64_t hashes, void *arg), void *arg)
{
	struct gen g = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	pthread_t tid[256];
	unsigned n = gen_threads(nthreads), started;
	int rc;

	if (sodium_init() < 0)
		return -EIO;
	atomic_init(&g.done, false);
	atomic_init(&g.hashes, 0);
	for (started = 0; started < n; started++) {
		pthread_mutex_lock(&g.lock);
		g.running++;
		pthread_mutex_unlock(&g.lock);
		if (pthread_create(&tid[started], NULL, gen_thread, &g) != 0) {
			pthread_mutex_lock(&g.lock);
			g.running--;
			pthread_mutex_unlock(&g.lock);
			break;
		}
	}
	if (started == 0)
		return -EAGAIN;
	gen_wait(&g, progress, arg);
	atomic_store(&g.done, true);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	rc = g.result.has_private ? 0 : g.err ? g.err : -EAGAIN;
	if (rc == 0)
		*id = g.result;
	sodium_memzero(&g.result, sizeof g.result);
	pthread_mutex_destroy(&g.lock);
	pthread_cond_destroy(&g.cond);
	return rc;
}
