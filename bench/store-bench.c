/* bench/store-bench: the controller's work per member against one store,
 * as the controller does it (see bench/store and bench/README).
 *
 *   store-bench STANZA MEMBERS
 *
 * STANZA is the store's YAML mapping ({ use: sqlite, path: ... } or
 * { use: postgres, conninfo: ... }), on an empty database.  Prints one
 * line of key=value:
 *   writes_s     member puts per second (what an API write does: one
 *                authorized member, durable on return)
 *   first_s      first config requests per second (how many were made
 *                in the pass's 20 s, at most MEMBERS): network and member
 *                read, an address from the pool (ip_holder), the config
 *                built and signed, the member written back
 *   again_s      later config requests per second, of the members that
 *                had a first: the same without the write (nothing changed)
 *   rss_kib      this process's resident memory at the end (the store's
 *                cache included), and rss_base_kib before the store opened
 * The member identity is one generated key pair under each address (the
 * builder reads only its address and public key). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include <zt/dict.h>
#include <zt/identity.h>
#include <zt/kernel.h>
#include <zt/netconf.h>
#include <zt/packet.h>
#include <zt/store.h>

#include "build.h"

#define BENCH_PASS_S 20.0

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static int bench_sign(void *ctx, const void *msg, size_t len, uint8_t sig[ZT_SIG_LEN])
{
	return zt_sign(ctx, msg, len, sig);
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "store-bench: %s: %s\n", what, why);
	exit(1);
}

/* One config request of member addr, as serve.c answers it. */
static void request(struct zt_store *s, uint64_t nwid, struct zt_identity *id, uint64_t addr,
		    const struct ctl_signer *sg, struct zt_netconf *nc, uint8_t *rules, uint8_t *dict)
{
	struct zt_store_network net;
	struct zt_store_member m;
	struct ctl_build b;
	struct zt_wr w;
	size_t nips;

	if (zt_store_network_get(s, nwid, &net) < 0 || zt_store_member_get(s, nwid, addr, &m) < 0)
		die("request", zt_store_error(s));
	nips = m.nips;
	id->address = addr;
	b = (struct ctl_build){ .store = s, .net = &net, .member = &m, .identity = id,
				.now = 1700000000000, .signer = sg, .rules_buf = rules };
	if (ctl_build_config(&b, nc) < 0)
		die("build", zt_store_error(s));
	zt_wr_init(&w, dict, ZT_DICT_CONFIG_CAP - 1);
	if (zt_netconf_write(nc, &w) < 0)
		die("netconf", "write");
	if (m.nips != nips && zt_store_member_put(s, &m) < 0)
		die("member put", zt_store_error(s));
	zt_store_member_clear(&m);
	zt_store_network_clear(&net);
}

int main(int argc, char **argv)
{
	struct zt_kernel *k;
	struct zt_store *s;
	struct zt_store_user user = { .home = "/tmp" };
	struct zt_store_network n;
	struct zt_identity ctl, mem;
	struct ctl_signer sg;
	struct zt_netconf *nc;
	uint8_t *rules, *dict;
	char err[512];
	unsigned count, done, done2;
	uint64_t nwid, base = 0x1000000000ULL;
	long rss_base;
	double t0, writes, first, again;
	struct zt_inst *zi;

	if (argc != 3 || !(count = (unsigned)strtoul(argv[2], NULL, 10)))
		die("usage", "store-bench STANZA MEMBERS");
	if (zt_identity_generate(&ctl) < 0 || zt_identity_generate(&mem) < 0)
		die("identity", "generate");
	rss_base = rss_kib();
	k = zt_kernel_new(ev_default_loop(0));
	zi = k ? zt_kernel_instance(k, ZT_STORE, argv[1], err, sizeof err) : NULL;
	if (!zi || !(s = zt_store_of(zi)))
		die("store", err);
	user.controller = ctl.address;
	if (zt_store_open(s, zt_kernel_loop(k), &user, err, sizeof err) < 0)
		die("open", err);

	nwid = ctl.address << 24 | 1;
	memset(&n, 0, sizeof n);
	n.id = nwid;
	n.name = strdup("bench");
	n.priv = true;
	n.enable_broadcast = true;
	n.mtu = 2800;
	n.multicast_limit = 32;
	n.v4_zt = true;
	n.pools = strdup("[{\"ipRangeStart\":\"198.19.0.1\",\"ipRangeEnd\":\"198.19.255.254\"}]");
	n.routes = strdup("[{\"target\":\"198.19.0.0/16\",\"via\":null}]");
	n.rules = strdup("[{\"type\":\"ACTION_ACCEPT\"}]");
	n.dns = strdup("[]");
	n.auth_tokens = strdup("[null]");
	n.revision = 1;
	n.creation_time = 1700000000000;
	if (zt_store_network_put(s, &n) < 0)
		die("network put", zt_store_error(s));
	zt_store_network_clear(&n);

	t0 = now_s();
	for (unsigned i = 0; i < count; i++) {
		struct zt_store_member m = { .nwid = nwid, .address = base + i, .authorized = true,
					     .v_major = -1, .v_minor = -1, .v_rev = -1, .v_proto = -1,
					     .revision = 1, .creation_time = 1700000000000 };
		char text[ZT_ID_TEXT_MAX];

		mem.address = base + i;
		zt_identity_to_text(&mem, text, false);
		m.identity = text;
		if (zt_store_member_put(s, &m) < 0)
			die("member put", zt_store_error(s));
	}
	writes = count / (now_s() - t0);

	sg = (struct ctl_signer){ .address = ctl.address, .sign = bench_sign, .ctx = &ctl };
	nc = zt_netconf_new();
	rules = malloc(CTL_RULES_MAX_BYTES);
	dict = malloc(ZT_DICT_CONFIG_CAP);
	if (!nc || !rules || !dict)
		die("memory", "out of memory");
	/* each pass stops after BENCH_PASS_S seconds: a store slow per
	 * request would take hours at 10k members */
	t0 = now_s();
	for (done = 0; done < count && now_s() - t0 < BENCH_PASS_S; done++)
		request(s, nwid, &mem, base + done, &sg, nc, rules, dict);
	first = done / (now_s() - t0);
	t0 = now_s();
	for (done2 = 0; done2 < count && now_s() - t0 < BENCH_PASS_S; done2++)
		request(s, nwid, &mem, base + done2 % done, &sg, nc, rules, dict);
	again = done2 / (now_s() - t0);

	printf("members=%u writes_s=%.0f first_s=%.0f (%u) again_s=%.0f (%u) rss_base_kib=%ld rss_kib=%ld\n",
	       count, writes, first, done, again, done2, rss_base, rss_kib());
	zt_netconf_free(nc);
	free(rules);
	free(dict);
	zt_store_release(s);
	zt_kernel_free(k);
	return 0;
}
