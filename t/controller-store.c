/* The controller's SQLite store (create, update, list, delete, persistence,
 * a kill -9 in the middle of a transaction) and its config builder (IP
 * pools without duplicates, the config of a member parsed back with the
 * netconf codec, COM, COO and revocation signatures, and the 1.14 vector
 * config reproduced byte for byte), and the member's config kept for its
 * repeats. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include <zt/credential.h>
#include <zt/dict.h>
#include <zt/identity.h>
#include <zt/inetaddr.h>
#include <zt/kernel.h>
#include <zt/netconf.h>
#include <zt/store.h>

#include "build.h"
#include "tap.h"

static char dir[256], dbpath[300];

static int test_sign(void *ctx, const void *msg, size_t len, uint8_t sig[ZT_SIG_LEN])
{
	return zt_sign(ctx, msg, len, sig);
}

static struct zt_kernel *kernel;
static struct zt_store *store;
static struct zt_store_user user;

/* Open the store under test: the instance ZT_TEST_STORE_STANZA describes
 * (t/store.sh writes it for the store ZT_TEST_STORE names), or else
 * sqlite in a temporary directory.  NULL with the reason in err. */
static struct zt_store *test_open(char *err, size_t errlen)
{
	const char *yaml = getenv("ZT_TEST_STORE_STANZA");
	char dflt[400];
	struct zt_inst *zi;

	if (!store) {
		if (!yaml || !*yaml) {
			snprintf(dflt, sizeof dflt, "{ use: sqlite, path: '%s' }", dbpath);
			yaml = dflt;
		}
		kernel = zt_kernel_new(ev_default_loop(0));
		if (!kernel)
			bail("out of memory");
		zi = zt_kernel_instance(kernel, ZT_STORE, yaml, err, errlen);
		if (!zi || !(store = zt_store_of(zi)))
			return NULL;
		user.home = dir;
	}
	if (zt_store_open(store, zt_kernel_loop(kernel), &user, err, errlen) < 0)
		return NULL;
	return store;
}

static void test_close(struct zt_store *s)
{
	if (s)
		zt_store_close(s);
}

static struct zt_store *reopen(struct zt_store *s)
{
	char err[512];
	struct zt_store *n;

	test_close(s);
	n = test_open(err, sizeof err);
	if (!n)
		bail("store open: %s", err);
	return n;
}

static void net_init(struct zt_store_network *n, uint64_t id, const char *name)
{
	memset(n, 0, sizeof *n);
	n->id = id;
	n->name = strdup(name);
	n->priv = true;
	n->enable_broadcast = true;
	n->mtu = 2800;
	n->multicast_limit = 32;
	n->pools = strdup("[]");
	n->routes = strdup("[]");
	n->rules = strdup("[{\"type\":\"ACTION_ACCEPT\"}]");
	n->dns = strdup("[]");
	n->auth_tokens = strdup("[null]");
	n->revision = 1;
	n->creation_time = 1700000000000;
}

static void mem_init(struct zt_store_member *m, uint64_t nwid, uint64_t addr)
{
	memset(m, 0, sizeof *m);
	m->nwid = nwid;
	m->address = addr;
	m->v_major = m->v_minor = m->v_rev = m->v_proto = -1;
	m->revision = 1;
	m->creation_time = 1700000000000;
}

static int count_visit(void *ctx, const struct zt_store_member *m)
{
	uint64_t *last = ctx;

	if (m->address <= last[0])
		last[1] = 1;   /* out of order */
	last[0] = m->address;
	last[2]++;
	return 0;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (s[0] && s[1] && n < cap && sscanf(s, "%2x", &v) == 1) {
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

/* A "key: value" line of t/vectors/networks.txt, malloc'd. */
static char *vector(const char *key)
{
	char path[512], line[8192], *v = NULL;
	const char *vd = getenv("VECTORS");
	size_t kl = strlen(key);
	FILE *f;

	snprintf(path, sizeof path, "%s/networks.txt", vd ? vd : "t/vectors");
	f = fopen(path, "r");
	if (!f)
		bail("%s: cannot open", path);
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, key, kl) && line[kl] == ':' && line[kl + 1] == ' ') {
			line[strcspn(line, "\n")] = 0;
			v = strdup(line + kl + 2);
			break;
		}
	}
	fclose(f);
	if (!v)
		bail("vector %s missing", key);
	return v;
}

/* ---- store ---- */

static struct zt_store *test_store(void)
{
	struct zt_store_network n, g;
	struct zt_store_member m, mg;
	struct zt_store *s;
	uint64_t *ids = NULL, holder, walk[3] = { 0, 0, 0 };
	size_t nids = 0, total, authd;
	char err[512];

	s = test_open(err, sizeof err);
	ok(s != NULL, "store opens a new database");
	if (!s)
		bail("store open: %s", err);

	net_init(&n, 0x26b7ab6cb8000002ULL, "second");
	ok(zt_store_network_put(s, &n) == 0, "network put");
	zt_store_network_clear(&n);
	net_init(&n, 0x26b7ab6cb8000001ULL, "first");
	n.v4_zt = n.v6_rfc4193 = true;
	n.has_trace_target = true;
	n.trace_target = 0x92bf35da82ULL;
	n.ctmd = 600000;
	ok(zt_store_network_put(s, &n) == 0, "a second network put");
	memset(&g, 0, sizeof g);
	ok(zt_store_network_get(s, n.id, &g) == 0, "network get");
	is_str(g.name, "first", "... name");
	ok(g.priv && g.enable_broadcast && g.v4_zt && g.v6_rfc4193 && !g.v6_6plane && !g.v6_zt,
	   "... flags and modes");
	ok(g.has_trace_target && g.trace_target == 0x92bf35da82ULL && g.ctmd == 600000 &&
	   g.mtu == 2800 && g.multicast_limit == 32 && g.revision == 1 &&
	   g.creation_time == 1700000000000, "... numbers");
	is_str(g.rules, "[{\"type\":\"ACTION_ACCEPT\"}]", "... rules text");
	zt_store_network_clear(&g);

	free(n.name);
	n.name = strdup("renamed");
	n.revision = 2;
	n.has_trace_target = false;
	ok(zt_store_network_put(s, &n) == 0, "network update");
	zt_store_network_get(s, n.id, &g);
	ok(!strcmp(g.name, "renamed") && g.revision == 2 && !g.has_trace_target, "... is read back");
	zt_store_network_clear(&g);
	ok(zt_store_network_get(s, 0x26b7ab6cb8000099ULL, &g) == -ENOENT, "unknown network: -ENOENT");

	ok(zt_store_network_ids(s, &ids, &nids) == 0 && nids == 2 &&
	   ids[0] == 0x26b7ab6cb8000001ULL && ids[1] == 0x26b7ab6cb8000002ULL, "network ids, ascending");
	free(ids);

	mem_init(&m, n.id, 0x92bf35da82ULL);
	m.identity = vector("member_identity_public");
	m.authorized = true;
	m.auth_cred_type = strdup("api");
	zt_store_member_add_ip(&m, "198.19.1.7");
	zt_store_member_add_ip(&m, "fd00::7");
	zt_store_member_add_ip(&m, "198.19.1.3");
	ok(zt_store_member_put(s, &m) == 0, "member put");
	memset(&mg, 0, sizeof mg);
	ok(zt_store_member_get(s, n.id, m.address, &mg) == 0, "member get");
	ok(mg.authorized && mg.nips == 3 && !strcmp(mg.ips[0], "198.19.1.7") &&
	   !strcmp(mg.ips[1], "fd00::7") && !strcmp(mg.ips[2], "198.19.1.3"),
	   "... authorized, IPs in order");
	ok(mg.identity && !strcmp(mg.identity, m.identity) && !strcmp(mg.auth_cred_type, "api") &&
	   !mg.auth_cred && !mg.name && mg.v_major == -1, "... identity, credential, absent fields");
	zt_store_member_clear(&mg);
	ok(zt_store_ip_holder(s, n.id, "fd00::7", &holder) == 0 && holder == m.address, "IP holder");
	ok(zt_store_ip_holder(s, n.id, "198.19.1.8", &holder) == -ENOENT, "free IP: -ENOENT");
	ok(zt_store_ip_holder(s, 0x26b7ab6cb8000002ULL, "fd00::7", &holder) == -ENOENT,
	   "IPs are per network");
	{
		struct zt_store_seen seen[2] = { { n.id, m.address, 1700000000123LL },
						 { n.id, 0x9999999999ULL, 5 } };

		ok(zt_store_seen(s, seen, 2) == 0 && zt_store_member_get(s, n.id, m.address, &mg) == 0 &&
		   mg.last_seen == 1700000000123LL && mg.revision == m.revision,
		   "seen: the last request is written, the revision kept, an unknown member ignored");
		zt_store_member_clear(&mg);
	}

	/* update replaces the IP list */
	free(m.ips[2]);
	m.nips = 2;
	m.revision = 2;
	ok(zt_store_member_put(s, &m) == 0 && zt_store_member_get(s, n.id, m.address, &mg) == 0 &&
	   mg.nips == 2 && mg.revision == 2 && mg.last_seen == 1700000000123LL,
	   "member update replaces its IPs, keeps the last request");
	zt_store_member_clear(&mg);
	ok(zt_store_ip_holder(s, n.id, "198.19.1.3", &holder) == -ENOENT, "... the dropped IP is free");
	zt_store_member_clear(&m);

	mem_init(&m, n.id, 0x1111111111ULL);
	zt_store_member_put(s, &m);
	zt_store_member_clear(&m);
	mem_init(&m, n.id, 0xaaaaaaaaaaULL);
	zt_store_member_put(s, &m);
	zt_store_member_clear(&m);
	ok(zt_store_member_each(s, n.id, count_visit, walk) == 0 && walk[2] == 3 && !walk[1],
	   "members visited in ascending order");
	ok(zt_store_member_count(s, n.id, &total, &authd) == 0 && total == 3 && authd == 1,
	   "member counts");
	{
		/* bridges: authorized active bridges only, ascending, at most max */
		static const struct { uint64_t address; bool bridge, authorized; } b[] = {
			{ 0x5555555555ULL, true, true }, { 0x3333333333ULL, true, true },
			{ 0x4444444444ULL, true, false }, { 0x6666666666ULL, false, true },
		};
		uint64_t got[4];
		size_t nb = 99;

		for (size_t i = 0; i < 4; i++) {
			mem_init(&m, n.id, b[i].address);
			m.active_bridge = b[i].bridge;
			m.authorized = b[i].authorized;
			zt_store_member_put(s, &m);
			zt_store_member_clear(&m);
		}
		ok(zt_store_member_bridges(s, n.id, got, 4, &nb) == 0 && nb == 2 && got[0] == 0x3333333333ULL &&
		   got[1] == 0x5555555555ULL, "bridges: the authorized active ones, ascending");
		ok(zt_store_member_bridges(s, n.id, got, 1, &nb) == 0 && nb == 1 && got[0] == 0x3333333333ULL,
		   "... at most as many as asked for");
		mem_init(&m, n.id, 0x5555555555ULL);
		m.active_bridge = false;
		m.authorized = true;
		zt_store_member_put(s, &m);
		zt_store_member_clear(&m);
		ok(zt_store_member_bridges(s, n.id, got, 4, &nb) == 0 && nb == 1 && got[0] == 0x3333333333ULL,
		   "... a member no longer a bridge is no longer listed");
		for (size_t i = 0; i < 4; i++)
			zt_store_member_delete(s, n.id, b[i].address);
		ok(zt_store_member_bridges(s, n.id, got, 4, &nb) == 0 && nb == 0, "... nor a deleted one");
	}
	mem_init(&m, 0x26b7ab6cb80000ffULL, 0x1111111111ULL);
	ok(zt_store_member_put(s, &m) == -ENOENT, "member of an unknown network: -ENOENT");
	zt_store_member_clear(&m);

	ok(zt_store_member_delete(s, n.id, 0x1111111111ULL) == 0, "member delete");
	ok(zt_store_member_delete(s, n.id, 0x1111111111ULL) == -ENOENT, "... twice: -ENOENT");

	zt_store_network_clear(&n);

	/* rollback */
	ok(zt_store_begin(s) == 0, "begin");
	net_init(&n, 0x26b7ab6cb8000003ULL, "rolled back");
	zt_store_network_put(s, &n);
	zt_store_network_clear(&n);
	zt_store_rollback(s);
	ok(zt_store_network_get(s, 0x26b7ab6cb8000003ULL, &g) == -ENOENT, "a rolled back put is gone");
	/* nested transactions commit once */
	zt_store_begin(s);
	zt_store_begin(s);
	net_init(&n, 0x26b7ab6cb8000003ULL, "nested");
	zt_store_network_put(s, &n);
	zt_store_network_clear(&n);
	ok(zt_store_commit(s) == 0 && zt_store_commit(s) == 0, "nested commits");
	ok(zt_store_network_get(s, 0x26b7ab6cb8000003ULL, &g) == 0, "... the put is there");
	zt_store_network_clear(&g);

	ok(zt_store_network_delete(s, 0x26b7ab6cb8000003ULL) == 0, "network delete");
	ok(zt_store_network_delete(s, 0x26b7ab6cb8000003ULL) == -ENOENT, "... twice: -ENOENT");

	/* persistence */
	s = reopen(s);
	ok(zt_store_network_get(s, 0x26b7ab6cb8000001ULL, &g) == 0 && !strcmp(g.name, "renamed"),
	   "networks survive close and reopen");
	zt_store_network_clear(&g);
	ok(zt_store_member_get(s, 0x26b7ab6cb8000001ULL, 0x92bf35da82ULL, &mg) == 0 && mg.nips == 2,
	   "... members and their IPs too");
	zt_store_member_clear(&mg);

	/* deleting a network takes its members and IPs */
	net_init(&n, 0x26b7ab6cb8000004ULL, "doomed");
	zt_store_network_put(s, &n);
	mem_init(&m, n.id, 0x2222222222ULL);
	zt_store_member_add_ip(&m, "198.19.9.9");
	zt_store_member_put(s, &m);
	zt_store_member_clear(&m);
	ok(zt_store_network_delete(s, n.id) == 0 && zt_store_member_get(s, n.id, 0x2222222222ULL, &mg) == -ENOENT &&
	   zt_store_ip_holder(s, n.id, "198.19.9.9", &holder) == -ENOENT, "network delete removes members and IPs");
	zt_store_network_put(s, &n);
	ok(zt_store_member_count(s, n.id, &total, &authd) == 0 && total == 0, "... a new network of that id is empty");
	zt_store_network_delete(s, n.id);
	zt_store_network_clear(&n);
	return s;
}

/* A child writes one committed transaction, starts another and is killed
 * with SIGKILL before committing it. */
static struct zt_store *test_crash(struct zt_store *s)
{
	struct zt_store_network n, g;
	struct zt_store_member m;
	pid_t pid;
	int st;

	test_close(s);
	pid = fork();
	if (pid < 0)
		bail("fork");
	if (pid == 0) {
		char err[512];
		struct zt_store *c = test_open(err, sizeof err);

		if (!c)
			_exit(2);
		net_init(&n, 0x26b7ab6cb8000010ULL, "committed");
		if (zt_store_network_put(c, &n) < 0)
			_exit(3);
		mem_init(&m, n.id, 0x3333333333ULL);
		zt_store_member_add_ip(&m, "198.19.3.3");
		zt_store_begin(c);
		zt_store_member_put(c, &m);
		net_init(&n, 0x26b7ab6cb8000011ULL, "uncommitted");
		zt_store_network_put(c, &n);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	waitpid(pid, &st, 0);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the writer was killed with SIGKILL");
	s = reopen(NULL);
	ok(zt_store_network_get(s, 0x26b7ab6cb8000010ULL, &g) == 0 && !strcmp(g.name, "committed"),
	   "what it committed is there");
	zt_store_network_clear(&g);
	ok(zt_store_network_get(s, 0x26b7ab6cb8000011ULL, &g) == -ENOENT &&
	   zt_store_member_get(s, 0x26b7ab6cb8000010ULL, 0x3333333333ULL, &m) == -ENOENT,
	   "what it had not committed is not");
	ok(zt_store_network_get(s, 0x26b7ab6cb8000001ULL, &g) == 0, "earlier data is intact");
	zt_store_network_clear(&g);
	return s;
}

/* ---- IP assignment ---- */

struct ctx {
	struct zt_store *s;
	struct zt_identity ctl;
	struct ctl_signer sg;
	struct zt_netconf *nc;
	uint8_t *rules;
	const struct zt_dns *dns_service;   /* the servers of a dns module, or NULL */
};

/* Build a config for a member (created if new) and save it. */
static int build_for(struct ctx *x, uint64_t nwid, const struct zt_identity *id, uint64_t revr,
		     int64_t now)
{
	struct zt_store_network net;
	struct zt_store_member m;
	struct ctl_build b;
	int err;

	if (zt_store_network_get(x->s, nwid, &net) < 0)
		return -ENOENT;
	if (zt_store_member_get(x->s, nwid, id->address, &m) == -ENOENT)
		mem_init(&m, nwid, id->address);
	b.store = x->s;
	b.net = &net;
	b.member = &m;
	b.identity = id;
	b.revr = revr;
	b.now = now;
	b.signer = &x->sg;
	b.rules_buf = x->rules;
	b.dns_service = x->dns_service;
	err = ctl_build_config(&b, x->nc);
	if (!err)
		err = zt_store_member_put(x->s, &m);
	zt_store_member_clear(&m);
	zt_store_network_clear(&net);
	return err;
}

static uint32_t ip4_of(const struct zt_netconf *nc, unsigned *bits)
{
	unsigned i;

	for (i = 0; i < nc->nips; i++) {
		if (nc->ips[i].sa.sa_family == AF_INET) {
			*bits = ntohs(nc->ips[i].in4.sin_port);
			return ntohl(nc->ips[i].in4.sin_addr.s_addr);
		}
	}
	return 0;
}

static void test_pools(struct ctx *x)
{
	struct zt_store_network n;
	struct zt_identity id;
	uint32_t got[60], want;
	unsigned bits = 0, i, j, bad = 0, dup = 0;
	uint64_t nwid = 0x26b7ab6cb8000020ULL;
	char text[64];
	union zt_sockaddr sa;

	net_init(&n, nwid, "pool");
	n.v4_zt = true;
	free(n.pools);
	free(n.routes);
	n.pools = strdup("[{\"ipRangeStart\":\"198.19.1.1\",\"ipRangeEnd\":\"198.19.1.254\"}]");
	n.routes = strdup("[{\"target\":\"198.19.1.0/24\",\"via\":null}]");
	zt_store_network_put(x->s, &n);
	zt_store_network_clear(&n);

	memset(&id, 0, sizeof id);
	for (i = 0; i < 60; i++) {
		/* addresses chosen to collide: same low 32 bits modulo the span */
		id.address = 0x0100000000ULL * (i + 1) + 0x1234;
		if (build_for(x, nwid, &id, 0, 1700000000000) < 0)
			bail("build for member %u", i);
		got[i] = ip4_of(x->nc, &bits);
		if (!got[i] || got[i] < 0xc6130101 || got[i] >= 0xc61301fe || (got[i] & 0xff) == 0xff ||
		    bits != 24)
			bad++;
		for (j = 0; j < i; j++)
			dup += got[j] == got[i];
	}
	want = 0xc6130101 + (0x0100001234ULL & 0xffffffff) % 253;
	is_int(got[0], want, "first member: start + (address mod span)");
	ok(!bad, "60 members: every IPv4 in the pool, /24, never .255 nor the pool's end");
	ok(!dup, "... and no two the same although their addresses collide");
	id.address = 0x0100001234ULL;
	build_for(x, nwid, &id, 0, 1700000000001);
	is_int(ip4_of(x->nc, &bits), got[0], "a member keeps its address");

	/* a pool of three: the end is never chosen */
	nwid = 0x26b7ab6cb8000021ULL;
	net_init(&n, nwid, "small");
	n.v4_zt = true;
	free(n.pools);
	free(n.routes);
	n.pools = strdup("[{\"ipRangeStart\":\"198.19.2.1\",\"ipRangeEnd\":\"198.19.2.3\"}]");
	n.routes = strdup("[{\"target\":\"198.19.2.0/24\",\"via\":null}]");
	zt_store_network_put(x->s, &n);
	zt_store_network_clear(&n);
	for (i = 0; i < 3; i++) {
		id.address = 0x5500000000ULL + i;
		build_for(x, nwid, &id, 0, 1700000000000);
		got[i] = ip4_of(x->nc, &bits);
	}
	ok(got[0] && got[1] && got[0] != got[1] && got[0] != 0xc6130203 && got[1] != 0xc6130203,
	   "small pool: two members get the two first addresses");
	is_int(got[2], 0, "... the third gets none (the end is never handed out)");

	/* IPv6: rfc4193, 6plane and a zt pool; static IPs outside routes are not sent */
	nwid = 0x26b7ab6cb8000022ULL;
	net_init(&n, nwid, "six");
	n.v6_rfc4193 = n.v6_6plane = n.v6_zt = true;
	free(n.pools);
	free(n.routes);
	n.pools = strdup("[{\"ipRangeStart\":\"fd00:1::\",\"ipRangeEnd\":\"fd00:1::ffff:ffff:ffff:ffff\"}]");
	n.routes = strdup("[{\"target\":\"fd00:1::/64\",\"via\":null}]");
	zt_store_network_put(x->s, &n);
	zt_store_network_clear(&n);
	{
		struct zt_store_member m;

		mem_init(&m, nwid, 0x92bf35da82ULL);
		zt_store_member_add_ip(&m, "198.19.5.5");
		zt_store_member_put(x->s, &m);
		zt_store_member_clear(&m);
	}
	id.address = 0x92bf35da82ULL;
	build_for(x, nwid, &id, 0, 1700000000000);
	ok(x->nc->nips == 3, "IPv6: three static IPs (the IPv4 outside every route is not sent)");
	zt_inetaddr_to_text(&x->nc->ips[0], text, sizeof text);
	is_str(text, "fd26:b7ab:6cb8:0:2299:9392:bf35:da82/88", "... rfc4193 first");
	zt_sockaddr_6plane(&sa, nwid, id.address);
	ok(zt_inetaddr_equal(&x->nc->ips[1], &sa, true), "... then 6plane /40");
	zt_inetaddr_to_text(&x->nc->ips[2], text, sizeof text);
	is_str(text, "fd00:1::92:bf35:da82/64", "... then the pool: start + address, /64");
	ok(x->nc->flags & ZT_NETCONF_F_NDP_EMULATION, "... and NDP emulation is on");
}

/* ---- the config ---- */

/* Build for a fresh member of network nwid whose dns object is dns,
 * with service as the dns module's servers: the DNS in the config. */
static struct zt_dns dns_built(struct ctx *x, uint64_t nwid, const char *dns, const struct zt_dns *service)
{
	struct zt_store_network n;
	struct zt_identity id;
	struct zt_dns got;

	net_init(&n, nwid, "dns");
	free(n.dns);
	n.dns = strdup(dns);
	zt_store_network_put(x->s, &n);
	zt_store_network_clear(&n);
	memset(&id, 0, sizeof id);
	id.address = 0x0500000001ULL;
	x->dns_service = service;
	if (build_for(x, nwid, &id, 0, 1700000000000) < 0)
		bail("build for the dns member");
	x->dns_service = NULL;
	got = x->nc->dns;
	return got;
}

/* The dns module's servers (zt-dns(7)) fill an empty dns.servers when
 * there is a domain; the operator's servers win. */
static void test_dns_service(struct ctx *x)
{
	uint64_t nwid = 0x26b7ab6cb8000030ULL;
	struct zt_dns service, got;
	union zt_sockaddr a;
	char text[64];

	memset(&service, 0, sizeof service);
	ctl_ip_parse("198.19.7.53", &service.servers[0]);
	ctl_ip_parse("fd00:7::53", &service.servers[1]);

	got = dns_built(x, nwid, "{\"domain\":\"lab.zt.test\",\"servers\":[]}", &service);
	ok(!strcmp(got.domain, "lab.zt.test") && ctl_ip_text(&got.servers[0], text) == 0 &&
	   !strcmp(text, "198.19.7.53") && ctl_ip_text(&got.servers[1], text) == 0 &&
	   !strcmp(text, "fd00:7::53") && got.servers[2].sa.sa_family == AF_UNSPEC,
	   "no servers named: the dns module's, with the network's domain");
	got = dns_built(x, nwid, "{\"domain\":\"lab.zt.test\",\"servers\":[\"198.19.9.9\"]}", &service);
	ctl_ip_parse("198.19.9.9", &a);
	ok(zt_inetaddr_equal(&got.servers[0], &a, false) && got.servers[1].sa.sa_family == AF_UNSPEC,
	   "the operator's server wins: the module's are not added");
	got = dns_built(x, nwid, "{\"domain\":\"\",\"servers\":[]}", &service);
	ok(got.servers[0].sa.sa_family == AF_UNSPEC, "no domain: no server from the module");
	got = dns_built(x, nwid, "[]", &service);
	ok(got.servers[0].sa.sa_family == AF_UNSPEC && !got.domain[0], "no dns object: none either");
	got = dns_built(x, nwid, "{\"domain\":\"lab.zt.test\",\"servers\":[]}", NULL);
	ok(got.servers[0].sa.sa_family == AF_UNSPEC && !strcmp(got.domain, "lab.zt.test"),
	   "no dns module: the domain alone");
}

static void test_config(struct ctx *x)
{
	struct zt_store_network n;
	struct zt_store_member m;
	struct zt_identity member, other;
	struct zt_netconf *back = zt_netconf_new();
	struct zt_wr w;
	uint8_t *dict = malloc(ZT_DICT_CONFIG_CAP), *vec = malloc(4096), want[4096], buf[512];
	char *v;
	size_t vlen, wlen = 0, i, start;
	int len;
	uint64_t nwid = 0x26b7ab6cb8000001ULL;
	struct zt_netconf *mine2;
	json_t *rules;
	unsigned nr;

	if (!back || !dict || !vec)
		bail("out of memory");
	v = vector("member_identity_public");
	if (zt_identity_from_text(&member, v) < 0)
		bail("member identity");
	free(v);

	/* the vector's network: "testnet", revision 3, route 10.147.17.0/24, IP .42 */
	net_init(&n, nwid, "testnet");
	n.revision = 3;
	free(n.routes);
	n.routes = strdup("[{\"target\":\"10.147.17.0/24\",\"via\":null}]");
	zt_store_network_put(x->s, &n);
	zt_store_network_clear(&n);
	zt_store_member_delete(x->s, nwid, member.address);
	mem_init(&m, nwid, member.address);
	m.authorized = true;
	zt_store_member_add_ip(&m, "10.147.17.42");
	zt_store_member_put(x->s, &m);
	zt_store_member_clear(&m);

	ok(build_for(x, nwid, &member, 0, 1700000000000) == 0, "config built for the vector member");
	zt_wr_init(&w, dict, ZT_DICT_CONFIG_CAP - 1);
	ok(zt_netconf_write(x->nc, &w) == 0, "... and serialized");

	/* the vector config without its CAP and TAG entries */
	v = vector("config_dictionary");
	vlen = unhex(v, vec, 4096);
	free(v);
	for (start = 0, i = 0; i <= vlen; i++) {
		if (i < vlen && vec[i] != '\n')
			continue;
		if (!(i - start >= 4 && !memcmp(vec + start, "CAP=", 4)) &&
		    !(i - start >= 4 && !memcmp(vec + start, "TAG=", 4))) {
			if (wlen)
				want[wlen++] = '\n';
			memcpy(want + wlen, vec + start, i - start);
			wlen += i - start;
		}
		start = i + 1;
	}
	ok(w.len == wlen && !memcmp(w.p, want, wlen),
	   "byte for byte the 1.14 vector config (less its capability and tag)");
	if (w.len != wlen)
		diag("got %zu bytes, want %zu", w.len, wlen);

	ok(zt_netconf_parse(back, w.p, w.len) == 0, "the netconf codec parses it");
	ok(back->nwid == nwid && back->issued_to == member.address && back->ts == 1700000000000 &&
	   back->ctmd == ZT_CTMD_DEFAULT && back->revision == 3 && back->version == 7,
	   "... nwid, id, ts, ctmd, r, v");
	ok(back->type == ZT_NET_PRIVATE && !strcmp(back->name, "testnet") && back->mtu == 2800 &&
	   back->mcast_limit == 32 && back->flags == ZT_NETCONF_F_BROADCAST,
	   "... t, n, mtu, ml, f");
	ok(back->nroutes == 1 && back->nips == 1 && ntohs(back->ips[0].in4.sin_port) == 24,
	   "... one route, one static IP /24");
	ok(back->nrules == 1 && back->rules_len == 2 && back->rules[0] == 1,
	   "... without revr in the request: one ACCEPT");
	ok(back->has_com && zt_com_verify(&back->com, &x->ctl) == 0, "the COM verifies with the controller's identity");
	ok(zt_com_issued_to(&back->com) == member.address && zt_com_nwid(&back->com) == nwid,
	   "... issued to the member for the network");
	ok(back->ncoos == 1 && zt_coo_verify(&back->coos[0], &x->ctl) == 0 &&
	   zt_coo_owns_ip(&back->coos[0], &back->ips[0]), "the COO verifies and owns the static IP");
	other = x->ctl;
	other.address ^= 1;
	ok(zt_com_verify(&back->com, &other) != 0, "the COM does not verify with another identity");

	/* two members' COMs agree; a fresh build gives a fresh ts */
	memset(&other, 0, sizeof other);
	v = vector("controller_identity_secret");
	zt_identity_from_text(&other, v);
	free(v);
	other.has_private = false;
	mine2 = zt_netconf_new();
	build_for(x, nwid, &other, 1, 1700000060000);
	zt_wr_init(&w, dict, ZT_DICT_CONFIG_CAP - 1);
	zt_netconf_write(x->nc, &w);
	zt_netconf_parse(mine2, w.p, w.len);
	ok(mine2->ts == 1700000060000 && zt_com_agrees(&back->com, &mine2->com, &other) &&
	   zt_com_agrees(&mine2->com, &back->com, &member), "COMs of two members a minute apart agree");
	ok(mine2->nrules == 1 && mine2->rules[0] == 1, "revr 1: the network's rules");
	zt_netconf_free(mine2);

	/* rules: the example of §6.1 */
	rules = json_loads("[{\"type\":\"MATCH_ETHERTYPE\",\"etherType\":\"2048\",\"not\":true},"
			   "{\"type\":\"ACTION_DROP\"},{\"type\":\"ACTION_PRIORITY\"},{\"type\":\"ACTION_ACCEPT\"}]",
			   0, NULL);
	len = ctl_rules_encode(rules, buf, sizeof buf, &nr);
	ok(len == 8 && nr == 3 && !memcmp(buf, "\xa5\x02\x08\x00\x00\x00\x01\x00", 8),
	   "rules encode as the §6.1 example (PRIORITY dropped)");
	{
		json_t *r = ctl_rule_normalize(json_array_get(rules, 0));
		char *t = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);

		is_str(t, "{\"etherType\":2048,\"not\":true,\"or\":false,\"type\":\"MATCH_ETHERTYPE\"}",
		       "a rule normalized");
		free(t);
		json_decref(r);
		r = ctl_rule_normalize(json_array_get(rules, 2));
		ok(r == NULL, "ACTION_PRIORITY does not parse");
	}
	json_decref(rules);
	rules = json_loads("[{\"type\":\"MATCH_IPV4_DEST\",\"ip\":\"198.19.0.0/16\"},"
			   "{\"type\":\"MATCH_MAC_SOURCE\",\"mac\":\"02-92-BF-8D-B6-29\",\"or\":true},"
			   "{\"type\":\"MATCH_ICMP\",\"icmpType\":8,\"icmpCode\":null},"
			   "{\"type\":\"MATCH_IP_DEST_PORT_RANGE\",\"start\":22},"
			   "{\"type\":\"ACTION_TEE\",\"address\":\"92bf35da82\",\"flags\":0,\"length\":64}]", 0, NULL);
	len = ctl_rules_encode(rules, buf, sizeof buf, &nr);
	ok(len == 7 + 8 + 5 + 6 + 16 && nr == 5 &&
	   !memcmp(buf, "\x20\x05\xc6\x13\x00\x00\x10", 7) &&
	   !memcmp(buf + 7, "\x5d\x06\x02\x92\xbf\x8d\xb6\x29", 8) &&
	   !memcmp(buf + 15, "\x26\x03\x08\x00\x00", 5) &&
	   !memcmp(buf + 20, "\x28\x04\x00\x16\x00\x16", 6) &&
	   !memcmp(buf + 26, "\x02\x0e\x00\x00\x00\x92\xbf\x35\xda\x82\x00\x00\x00\x00\x00\x40", 16),
	   "IPv4, MAC (or), ICMP any code, port range, TEE encode");
	json_decref(rules);

	/* revocation: the vector, byte for byte */
	len = ctl_revocation(&x->sg, nwid, member.address, 1700000060000, 0x11223344, buf, sizeof buf);
	v = vector("revocation");
	vlen = unhex(v, vec, 4096);
	free(v);
	ok(len == (int)(7 + vlen + 2) && !memcmp(buf, "\x00\x00\x00\x00\x00\x00\x01", 7) &&
	   !memcmp(buf + 7, vec, vlen) && !memcmp(buf + 7 + vlen, "\x00\x00", 2),
	   "revocation payload: 00 0000 0000 0001, the vector revocation");
	{
		struct zt_netcreds nc;
		struct zt_revocation rev;

		ok(zt_netcreds_decode(&nc, buf, (size_t)len) == 0 && nc.nrev == 1 &&
		   zt_netcreds_rev(&nc, 0, &rev) == 0 && zt_rev_verify(&rev, &x->ctl) == 0 &&
		   rev.target == member.address && rev.type == ZT_CRED_COM &&
		   (rev.flags & ZT_REV_FAST_PROPAGATE), "... decodes and verifies: COM of the member, fast propagate");
	}
	zt_netconf_free(back);
	free(dict);
	free(vec);
}

/* The serialized config of member on nwid built at now, into out (cap
 * ZT_DICT_CONFIG_CAP): its length, 0 on failure. */
static size_t config_bytes(struct ctx *x, uint64_t nwid, const struct zt_identity *member, uint64_t revr,
			   int64_t now, uint8_t *out)
{
	struct zt_wr w;

	if (build_for(x, nwid, member, revr, now) < 0)
		return 0;
	zt_wr_init(&w, out, ZT_DICT_CONFIG_CAP - 1);
	return zt_netconf_write(x->nc, &w) == 0 ? w.len : 0;
}

/* A member's config kept for its repeats (serve.c answers them from it):
 * the same bytes as a fresh build, and stale after each kind of change. */
static void test_cache(struct ctx *x)
{
	const int64_t t = 1700000000000;
	const uint64_t nwid = 0x26b7ab6cb8000001ULL, gen = 7;
	struct ctl_config_cache cc = { 0 };
	struct zt_store_network n;
	struct zt_identity member;
	uint8_t *built = malloc(ZT_DICT_CONFIG_CAP), *fresh = malloc(ZT_DICT_CONFIG_CAP);
	const uint8_t *got;
	size_t blen, flen, glen = 0;
	char *v;

	if (!built || !fresh)
		bail("out of memory");
	v = vector("member_identity_public");
	if (zt_identity_from_text(&member, v) < 0)
		bail("member identity");
	free(v);
	blen = config_bytes(x, nwid, &member, 1, t, built);
	ok(blen > 0 && ctl_cache_put(&cc, built, blen, gen, 1, t) == 0, "cache: a config built and kept");
	memset(built, 0, blen);     /* the cache has its own copy */
	flen = config_bytes(x, nwid, &member, 1, t, fresh);
	got = ctl_cache_get(&cc, gen, 1, t + CTL_CACHE_MS - 1, &glen);
	ok(got && glen == flen && !memcmp(got, fresh, flen),
	   "cache: answered until its window ends, byte for byte a fresh build from the same inputs");
	ok(!ctl_cache_get(&cc, gen, 1, t + CTL_CACHE_MS, &glen) && !ctl_cache_get(&cc, gen, 1, t - 1, &glen),
	   "cache: stale once CTL_CACHE_MS old (and with the clock set back)");
	ok(!ctl_cache_get(&cc, gen + 1, 1, t + 1, &glen),
	   "cache: stale once the network's generation moves (network, bridges, revocation, DNS)");
	ok(!ctl_cache_get(&cc, gen, 0, t + 1, &glen), "cache: stale for a request of another rules engine revision");

	/* why a network change must make it stale: the same build differs */
	if (zt_store_network_get(x->s, nwid, &n) < 0)
		bail("network");
	free(n.name);
	n.name = strdup("renamed");
	n.revision++;
	zt_store_network_put(x->s, &n);
	zt_store_network_clear(&n);
	flen = config_bytes(x, nwid, &member, 1, t, fresh);
	got = ctl_cache_get(&cc, gen, 1, t + 1, &glen);
	ok(flen && got && (glen != flen || memcmp(got, fresh, flen)),
	   "cache: after a network change a fresh build differs from the cached one");
	ok(ctl_cache_put(&cc, fresh, flen, gen + 1, 1, t + 1) == 0 &&
	   (got = ctl_cache_get(&cc, gen + 1, 1, t + 2, &glen)) && glen == flen && !memcmp(got, fresh, flen),
	   "cache: replaced by the new build");
	ctl_cache_drop(&cc);
	ok(!ctl_cache_get(&cc, gen + 1, 1, t + 2, &glen) && !cc.bytes, "cache: dropped (a member's change)");
	free(built);
	free(fresh);
}

int main(void)
{
	struct ctx x;
	struct zt_store *s;
	char *v;

	plan(89);
	snprintf(dir, sizeof dir, "%s/zt-ctl-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		bail("mkdtemp");
	snprintf(dbpath, sizeof dbpath, "%s/controller.db", dir);

	s = test_store();
	s = test_crash(s);

	memset(&x, 0, sizeof x);
	x.s = s;
	v = vector("controller_identity_secret");
	if (zt_identity_from_text(&x.ctl, v) < 0)
		bail("controller identity");
	free(v);
	x.sg.address = x.ctl.address;
	x.sg.sign = test_sign;
	x.sg.ctx = &x.ctl;
	x.nc = zt_netconf_new();
	x.rules = malloc(CTL_RULES_MAX_BYTES);
	if (!x.nc || !x.rules)
		bail("out of memory");
	test_pools(&x);
	test_config(&x);
	test_dns_service(&x);
	test_cache(&x);

	zt_netconf_free(x.nc);
	free(x.rules);
	zt_identity_wipe(&x.ctl);
	test_close(s);
	zt_store_release(store);
	zt_kernel_free(kernel);
	{
		char cmd[400];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			diag("could not remove %s", dir);
	}
	return tap_done();
}
