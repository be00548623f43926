/* Member lookups (issue 20): what finding a frame's sender among a
 * network's members costs, with zt_network_member (a hash table since
 * #20) next to the linear scan it replaced, at 2 to 1,000,000 members;
 * and the memory per member.  Usage: bench/members [seconds-per-run] */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sodium.h>

#include "network.h"

#define LOOKUP_KEYS 4096

static double run_secs = 0.5;
static volatile uint64_t sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The lookup before #20: every member compared, in order. */
static struct member *scan(struct zt_network *n, uint64_t address)
{
	for (unsigned i = 0; i < n->n_members; i++)
		if (n->members[i].address == address)
			return &n->members[i];
	return NULL;
}

/* Nanoseconds per lookup of a random present member, by table or scan. */
static double per_lookup(struct zt_network *n, const uint64_t *keys, bool by_scan)
{
	double t0 = now(), t;
	unsigned long done = 0;

	do {
		for (unsigned i = 0; i < LOOKUP_KEYS; i++) {
			struct member *m = by_scan ? scan(n, keys[i]) : zt_network_member(n, keys[i], false);

			if (!m) {
				fprintf(stderr, "bench/members: member %010llx not found\n", (unsigned long long)keys[i]);
				exit(1);
			}
			sink += m->address;
		}
		done += LOOKUP_KEYS;
		t = now();
	} while (t - t0 < run_secs);
	return (t - t0) * 1e9 / (double)done;
}

static uint64_t random_address(void)
{
	uint64_t a;

	do {
		randombytes_buf(&a, sizeof a);
		a &= 0xffffffffffULL;
	} while (a == 0 || (a >> 32) == 0xff);
	return a;
}

static void run(unsigned members, bool with_scan)
{
	struct zt_core *c = calloc(1, sizeof *c);
	struct zt_network *n = calloc(1, sizeof *n);
	uint64_t keys[LOOKUP_KEYS];
	double table, bytes;

	if (!c || !n) {
		fprintf(stderr, "bench/members: out of memory\n");
		exit(1);
	}
	c->max_members = members;
	n->core = c;
	while (n->n_members < members)
		if (!zt_network_member(n, random_address(), true)) {
			fprintf(stderr, "bench/members: could not add member %u\n", n->n_members);
			exit(1);
		}
	for (unsigned i = 0; i < LOOKUP_KEYS; i++)
		keys[i] = n->members[randombytes_uniform(members)].address;
	table = per_lookup(n, keys, false);
	bytes = ((double)n->cap_members * sizeof *n->members +
		 (double)(n->member_index.mask + 1) * sizeof *n->member_index.slots) / members;
	if (with_scan)
		printf("%10u  %10.1f  %12.1f  %10.0f\n", members, table, per_lookup(n, keys, true), bytes);
	else
		printf("%10u  %10.1f  %12s  %10.0f\n", members, table, "-", bytes);
	free(n->members);
	zt_addrmap_free(&n->member_index);
	free(n);
	free(c);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		run_secs = atof(argv[1]);
	if (sodium_init() < 0 || run_secs <= 0) {
		fprintf(stderr, "usage: bench/members [seconds-per-run]\n");
		return 2;
	}
	printf("%10s  %10s  %12s  %10s\n", "members", "table ns", "old scan ns", "bytes each");
	run(2, true);
	run(100, true);
	run(1000, true);
	run(10000, true);
	run(100000, false);
	run(1000000, false);
	return 0;
}
