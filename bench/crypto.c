/* Crypto benchmark: armor+dearmor of 1400-byte packets on one core for
 * suites 1 and 3 next to bare libsodium Salsa20/12+Poly1305, then H(pub)
 * and identity generation.  Usage: bench/crypto [seconds-per-run] */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sodium.h>

#include <zt/crypto.h>

#define PKT_LEN 1400
#define GEN_RUNS 10

static uint8_t pkt[PKT_LEN];
static double run_secs = 1.0;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs fn in batches until run_secs pass; returns round trips per second. */
static double rate(int (*fn)(void *), void *arg)
{
	double t0 = now(), t;
	unsigned long n = 0;

	do {
		for (int i = 0; i < 1000; i++)
			if (fn(arg) != 0) {
				fprintf(stderr, "bench/crypto: round trip failed\n");
				exit(1);
			}
		n += 1000;
		t = now() - t0;
	} while (t < run_secs);
	return (double)n / t;
}

struct keys {
	struct zt_peer_key a, b;
	unsigned suite;
};

static int zt_round_trip(void *arg)
{
	struct keys *k = arg;

	pkt[ZT_PKT_IDX_FLAGS] = 0;
	if (zt_armor(&k->a, pkt, PKT_LEN, k->suite) != 0)
		return -1;
	return zt_dearmor(&k->b, pkt, PKT_LEN);
}

/* The same work with libsodium alone: encrypt+MAC, then MAC+decrypt. */
static int bare_round_trip(void *arg)
{
	static const uint8_t key[32] = { 1 }, nonce[8] = { 2 };
	uint8_t tag[16], tag2[16];

	crypto_stream_salsa2012_xor(pkt, pkt, PKT_LEN, nonce, key);
	crypto_onetimeauth_poly1305(tag, pkt, PKT_LEN, key);
	crypto_onetimeauth_poly1305(tag2, pkt, PKT_LEN, key);
	crypto_stream_salsa2012_xor(pkt, pkt, PKT_LEN, nonce, key);
	return sodium_memcmp(tag, tag2, 8);
}

static void report(const char *what, double pps, double ref)
{
	printf("%-36s %10.0f packets/s %7.2f Gbit/s", what, pps, pps * PKT_LEN * 8 / 1e9);
	if (ref > 0)
		printf("   %.2f x bare libsodium", pps / ref);
	putchar('\n');
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double gen_median(unsigned threads)
{
	double t[GEN_RUNS];
	struct zt_identity id;

	for (int i = 0; i < GEN_RUNS; i++) {
		double t0 = now();

		if (zt_identity_generate_mt(&id, threads, NULL, NULL) != 0) {
			fprintf(stderr, "bench/crypto: generation failed\n");
			exit(1);
		}
		t[i] = now() - t0;
	}
	zt_identity_wipe(&id);
	qsort(t, GEN_RUNS, sizeof *t, cmp_double);
	return (t[GEN_RUNS / 2 - 1] + t[GEN_RUNS / 2]) / 2;
}

static double hash_median(void)
{
	uint8_t pub[ZT_PUB_LEN], d[ZT_POW_DIGEST_LEN];
	double t[GEN_RUNS];

	for (int i = 0; i < GEN_RUNS; i++) {
		double t0;

		randombytes_buf(pub, sizeof pub);
		t0 = now();
		if (zt_identity_hash(pub, d) != 0)
			exit(1);
		t[i] = now() - t0;
	}
	qsort(t, GEN_RUNS, sizeof *t, cmp_double);
	return (t[GEN_RUNS / 2 - 1] + t[GEN_RUNS / 2]) / 2;
}

static void keys_setup(struct keys *k)
{
	struct zt_identity a = { .has_private = true }, b = { .has_private = true };

	randombytes_buf(a.priv, sizeof a.priv);
	randombytes_buf(b.priv, sizeof b.priv);
	zt_identity_derive_public(a.priv, a.pub);
	zt_identity_derive_public(b.priv, b.pub);
	if (zt_peer_key_agree(&k->a, &a, &b) != 0 || zt_peer_key_agree(&k->b, &b, &a) != 0) {
		fprintf(stderr, "bench/crypto: key setup failed\n");
		exit(1);
	}
	zt_identity_wipe(&a);
	zt_identity_wipe(&b);
}

int main(int argc, char **argv)
{
	struct keys k;
	double bare, s1, s3;

	if (argc > 1)
		run_secs = atof(argv[1]) > 0 ? atof(argv[1]) : 1.0;
	if (sodium_init() < 0)
		return 1;
	keys_setup(&k);
	randombytes_buf(pkt, sizeof pkt);
	printf("%d-byte packets, armor+dearmor round trips on one core:\n", PKT_LEN);
	bare = rate(bare_round_trip, NULL);
	report("bare libsodium salsa2012+poly1305", bare, 0);
	k.suite = ZT_SUITE_POLY1305_SALSA2012;
	s1 = rate(zt_round_trip, &k);
	report("zt suite 1 (Salsa20/12+Poly1305)", s1, bare);
	k.suite = ZT_SUITE_AES_GMAC_SIV;
	s3 = rate(zt_round_trip, &k);
	report("zt suite 3 (AES-GMAC-SIV)", s3, bare);
	zt_peer_key_clear(&k.a);
	zt_peer_key_clear(&k.b);

	printf("\nidentities, median of %d:\n", GEN_RUNS);
	printf("%-36s %8.1f ms\n", "H(pub)", hash_median() * 1e3);
	printf("%-36s %8.1f ms\n", "generate, 1 thread", gen_median(1) * 1e3);
	printf("%-36s %8.1f ms\n", "generate, all CPUs", gen_median(0) * 1e3);
	return 0;
}
