/* bench/scale-gen: many simulated ZeroTier nodes against one root and/or
 * one controller, each node with a real identity and a UDP socket of its
 * own (see bench/scale and bench/README, "Scale").
 *
 * Peers (--root): HELLO on start, then what a 1.14 leaf sends its root
 * (wire.md §7.5): a full HELLO every 224 s and a WHOIS every ping check
 * (5 s), here for another simulated peer's address; pairs of peers send
 * each other an ECHO through the root every second, armored with their
 * pair key; some peers leave (socket closed) and come back later from a
 * new port with a HELLO.
 *
 * Members (--controller): HELLO to the controller, then a
 * NETWORK_CONFIG_REQUEST for one of the networks, until every chunk of
 * the config is in, as OK(NETWORK_CONFIG_REQUEST) or NETWORK_CONFIG
 * (verified against the controller's identity), at a
 * steady rate or all at once (--rate 0, the thundering herd).
 *
 * Identities come from a pool file (one secret identity in text form a
 * line), made larger with --generate on all CPUs. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zt/crypto.h>
#include <zt/fragment.h>
#include <zt/identity.h>
#include <zt/inetaddr.h>
#include <zt/netconf.h>
#include <zt/packet.h>

#define PROG "scale-gen"
/* What a 1.14 leaf does (wire.md §7.2, §7.5, appendix of constants). */
#define PING_CHECK_MS 5000
#define ROOT_HELLO_MS 224000
#define RELAY_MS 1000
#define TICK_MS 10
#define PROTO 12          /* protocol version of 1.14 */

/* ---- options ---- */

struct opts {
	const char *ids;
	unsigned generate, threads;
	union zt_sockaddr root, ctl;
	struct zt_identity root_id, ctl_id;
	bool has_root, has_ctl;
	unsigned peers, members, offset;
	uint64_t nets[64];
	unsigned n_nets;
	union zt_sockaddr binds[256];
	unsigned n_binds;
	double duration, ramp, rate, pairs, churn, away, timeout;
	int pid;
	long rss_base_kib;     /* the target's RSS before any node, if not at our start */
	unsigned procs;        /* processes to run the nodes in (0: as RLIMIT_NOFILE asks) */
	unsigned whois_ms, hello_ms;
};

static struct opts o = {
	.duration = 60, .ramp = 10, .rate = 0, .pairs = 0.1, .churn = 1, .away = 30,
	.timeout = 10, .whois_ms = PING_CHECK_MS, .hello_ms = ROOT_HELLO_MS,
};

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [OPTION]...\n"
	      "Simulate many ZeroTier nodes against a root and/or a controller.\n\n"
	      "  --ids FILE          identity pool, one secret identity a line\n"
	      "                      (default ~/.cache/zt-bench/identities)\n"
	      "  --generate N        first grow the pool to N identities (all CPUs)\n"
	      "  --threads T         threads for --generate (default: online CPUs)\n"
	      "  --root IP/PORT      the root to load (e.g. 198.18.0.1/9993)\n"
	      "  --root-id ID|FILE   its identity (public text form, or a file)\n"
	      "  --peers N           simulated leaves of the root\n"
	      "  --pairs F           share of peers relaying ECHOs in pairs (0.1)\n"
	      "  --churn P           percent of peers leaving per minute (1)\n"
	      "  --away S            seconds a leaving peer stays away (30)\n"
	      "  --whois-ms MS       WHOIS period per peer (5000, 1.14's ping check)\n"
	      "  --hello-ms MS       HELLO period per peer (224000, 1.14's to a root)\n"
	      "  --controller IP/PORT --controller-id ID|FILE   the controller\n"
	      "  --network NWID      a network of it (repeat: members spread over them)\n"
	      "  --members M         simulated members requesting a config once\n"
	      "  --rate R            members starting per second (0: all at once)\n"
	      "  --offset K          members use pool identities K.. (default after peers)\n"
	      "  --bind IP           a source address (repeat: nodes spread over them)\n"
	      "  --duration S        seconds of load, ramp included (60)\n"
	      "  --ramp S            seconds over which the peers start (10)\n"
	      "  --timeout S         an answer later than this is a drop (10)\n"
	      "  --pid PID           the target's process, for its CPU and memory\n"
	      "  --rss-base KIB      its RSS with no node yet (default: read at start;\n"
	      "                      give it when the target already holds them, e.g.\n"
	      "                      peers loaded from its peer cache)\n"
	      "  --procs K           run the nodes in K processes (default: as many as\n"
	      "                      RLIMIT_NOFILE asks, a socket a node; pairs and the\n"
	      "                      WHOIS each peer asks stay within its process)\n"
	      "  -h, --help          this text\n"
	      "Prints a report, then a line \"result key=value...\" for scripts.\n", f);
}

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* An identity from its text or from a file holding it. */
static void parse_identity(struct zt_identity *id, const char *s)
{
	char buf[ZT_ID_TEXT_MAX * 2];
	FILE *f;

	if (zt_identity_from_text(id, s) == 0)
		return;
	if (!(f = fopen(s, "r")) || !fgets(buf, sizeof buf, f))
		die("no identity in %s", s);
	fclose(f);
	buf[strcspn(buf, "\r\n")] = 0;
	if (zt_identity_from_text(id, buf) < 0)
		die("bad identity in %s", s);
}

static void parse_addr(union zt_sockaddr *sa, const char *s, bool port)
{
	if (zt_inetaddr_from_text(sa, s) < 0 || (port && !zt_inetaddr_port(sa)))
		die(port ? "bad address %s (want IP/PORT)" : "bad address %s", s);
}

static double parse_num(const char *s, double min, double max)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= min && v <= max))
		die("bad number %s", s);
	return v;
}

static void parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ids", 1, 0, 'i' }, { "generate", 1, 0, 'g' }, { "threads", 1, 0, 'T' },
		{ "root", 1, 0, 'r' }, { "root-id", 1, 0, 'R' }, { "peers", 1, 0, 'n' },
		{ "pairs", 1, 0, 'p' }, { "churn", 1, 0, 'c' }, { "away", 1, 0, 'a' },
		{ "whois-ms", 1, 0, 'W' }, { "hello-ms", 1, 0, 'H' },
		{ "controller", 1, 0, 'C' }, { "controller-id", 1, 0, 'I' },
		{ "network", 1, 0, 'N' }, { "members", 1, 0, 'm' }, { "rate", 1, 0, 'x' },
		{ "offset", 1, 0, 'o' }, { "bind", 1, 0, 'b' }, { "duration", 1, 0, 'd' },
		{ "ramp", 1, 0, 'u' }, { "timeout", 1, 0, 't' }, { "pid", 1, 0, 'P' },
		{ "rss-base", 1, 0, 'B' }, { "procs", 1, 0, 'X' },
		{ "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
	};
	bool has_offset = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'i': o.ids = optarg; break;
		case 'g': o.generate = (unsigned)parse_num(optarg, 0, 1e7); break;
		case 'T': o.threads = (unsigned)parse_num(optarg, 1, 1024); break;
		case 'r': parse_addr(&o.root, optarg, true); o.has_root = true; break;
		case 'R': parse_identity(&o.root_id, optarg); break;
		case 'n': o.peers = (unsigned)parse_num(optarg, 0, 1e7); break;
		case 'p': o.pairs = parse_num(optarg, 0, 1); break;
		case 'c': o.churn = parse_num(optarg, 0, 100); break;
		case 'a': o.away = parse_num(optarg, 0, 1e6); break;
		case 'W': o.whois_ms = (unsigned)parse_num(optarg, 0, 1e9); break;
		case 'H': o.hello_ms = (unsigned)parse_num(optarg, 1000, 1e9); break;
		case 'C': parse_addr(&o.ctl, optarg, true); o.has_ctl = true; break;
		case 'I': parse_identity(&o.ctl_id, optarg); break;
		case 'N':
			if (o.n_nets == 64)
				die("too many networks (64 at most)");
			if (strlen(optarg) != 16 || strspn(optarg, "0123456789abcdefABCDEF") != 16)
				die("bad network id %s (16 hex digits)", optarg);
			o.nets[o.n_nets++] = strtoull(optarg, NULL, 16);
			break;
		case 'm': o.members = (unsigned)parse_num(optarg, 0, 1e7); break;
		case 'x': o.rate = parse_num(optarg, 0, 1e7); break;
		case 'o': o.offset = (unsigned)parse_num(optarg, 0, 1e7); has_offset = true; break;
		case 'b':
			if (o.n_binds == 256)
				die("too many --bind (256 at most)");
			parse_addr(&o.binds[o.n_binds++], optarg, false);
			break;
		case 'd': o.duration = parse_num(optarg, 1, 1e6); break;
		case 'u': o.ramp = parse_num(optarg, 0, 1e6); break;
		case 't': o.timeout = parse_num(optarg, 0.1, 1e4); break;
		case 'P': o.pid = (int)parse_num(optarg, 1, 1e9); break;
		case 'B': o.rss_base_kib = (long)parse_num(optarg, 1, 1e9); break;
		case 'X': o.procs = (unsigned)parse_num(optarg, 1, 256); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc)
		die("unexpected argument %s (see --help)", argv[optind]);
	if (o.peers && (!o.has_root || !o.root_id.address))
		die("--peers needs --root and --root-id");
	if (o.members && (!o.has_ctl || !o.ctl_id.address || !o.n_nets))
		die("--members needs --controller, --controller-id and --network");
	for (unsigned i = 0; i < o.n_nets; i++)
		if (zt_nwid_controller(o.nets[i]) != o.ctl_id.address)
			die("a --network is not the controller's (its first 10 digits are its address)");
	if (!has_offset)
		o.offset = o.peers;
	if (o.ramp > o.duration)
		o.ramp = o.duration;
}

/* ---- time, randomness ---- */

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: packet ids and schedules, not secrets */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static int64_t rnd_below(int64_t n) { return n > 0 ? (int64_t)(rnd() % (uint64_t)n) : 0; }

/* ---- the identity pool ---- */

struct pool {
	struct zt_identity *ids;
	unsigned n, cap;
};

static void pool_add(struct pool *p, const struct zt_identity *id)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 1024;
		if (!(p->ids = realloc(p->ids, p->cap * sizeof *p->ids)))
			die("out of memory");
	}
	p->ids[p->n++] = *id;
}

/* Lines that do not hold a secret identity are skipped (comments, a line
 * cut short by an interrupted --generate). */
static void pool_load(struct pool *p, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[ZT_ID_TEXT_MAX * 2];
	struct zt_identity id;

	if (!f) {
		if (errno != ENOENT)
			die("cannot read %s", path);
		return;
	}
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (zt_identity_from_text(&id, line) == 0 && id.has_private)
			pool_add(p, &id);
	}
	fclose(f);
}

struct gen {
	FILE *out;
	pthread_mutex_t lock;
	atomic_uint made;
	unsigned want;
	atomic_bool failed;
};

static void *gen_thread(void *arg)
{
	struct gen *g = arg;
	struct zt_identity id;
	char text[ZT_ID_TEXT_MAX];

	while (atomic_load(&g->made) < g->want && !atomic_load(&g->failed)) {
		if (zt_identity_generate(&id) < 0) {
			atomic_store(&g->failed, true);
			break;
		}
		zt_identity_to_text(&id, text, true);
		zt_identity_wipe(&id);
		pthread_mutex_lock(&g->lock);
		/* each line is flushed: an interrupted run keeps what it made */
		if (atomic_load(&g->made) < g->want) {
			if (fprintf(g->out, "%s\n", text) < 0 || fflush(g->out) != 0)
				atomic_store(&g->failed, true);
			else
				atomic_fetch_add(&g->made, 1);
		}
		pthread_mutex_unlock(&g->lock);
	}
	return NULL;
}

/* have: in the pool before this run, made: by this run */
static void progress_bar(unsigned have, unsigned made, unsigned want, double elapsed)
{
	unsigned done = have + made;
	int w = 30, fill = want ? (int)((double)done * w / want) : w;
	double rate = elapsed > 0 ? made / elapsed : 0;

	fprintf(stderr, "\ridentities %u/%u [%.*s%*s] %.1f/s eta %.0f s   ", done, want, fill,
		"##############################", w - fill, "", rate,
		rate > 0 ? (want - done) / rate : 0.0);
}

/* Grow the pool file to want identities, threads in parallel. */
static void pool_generate(const char *path, unsigned have, unsigned want, unsigned threads)
{
	struct gen g = { .want = want - have };
	pthread_t th[1024];
	int64_t t0 = now_us();

	if (!(g.out = fopen(path, "a")))
		die("cannot write %s", path);
	pthread_mutex_init(&g.lock, NULL);
	if (!threads)
		threads = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (!threads)
		threads = 1;
	for (unsigned i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, gen_thread, &g) != 0)
			die("cannot start threads");
	while (atomic_load(&g.made) < g.want && !atomic_load(&g.failed)) {
		progress_bar(have, atomic_load(&g.made), want, (now_us() - t0) / 1e6);
		usleep(200000);
	}
	for (unsigned i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	progress_bar(have, atomic_load(&g.made), want, (now_us() - t0) / 1e6);
	fputc('\n', stderr);
	if (fclose(g.out) != 0 || atomic_load(&g.failed))
		die("generating identities into %s failed", path);
}

/* ---- latency records ---- */

enum kind { K_HELLO, K_WHOIS, K_CONFIG, K_N };
static const char *const kind_name[K_N] = { "hello", "whois", "config" };

struct stat_k {
	uint64_t sent, answered, errors, drops;
	uint32_t *lat_us;
	size_t n, cap;
};

static struct stat_k st[K_N];

static void stat_answer(enum kind k, int64_t sent_us, int64_t now)
{
	struct stat_k *s = &st[k];
	int64_t d = now - sent_us;

	s->answered++;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		if (!(s->lat_us = realloc(s->lat_us, s->cap * sizeof *s->lat_us)))
			die("out of memory");
	}
	s->lat_us[s->n++] = (uint32_t)(d > UINT32_MAX ? UINT32_MAX : d);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static double pct_ms(const struct stat_k *s, double q)
{
	size_t i;

	if (!s->n)
		return 0;
	i = (size_t)ceil(q * (double)s->n);
	i = i ? i - 1 : 0;
	return s->lat_us[i < s->n ? i : s->n - 1] / 1000.0;
}

/* ---- nodes ---- */

enum role { PEER, MEMBER };
enum mstate { M_WAIT, M_HELLO, M_CONFIG, M_DONE, M_FAILED };

struct node {
	const struct zt_identity *id;
	enum role role;
	int fd;                         /* -1: away (left) or not started */
	unsigned bind;
	struct zt_peer_key key;         /* with the root or controller */
	struct zt_peer_key pair_key;    /* with the partner */
	int partner;                    /* -1: none */
	int64_t start, next_whois, next_hello, next_relay, back_at;
	/* HELLOs pending: the last and the one before (a slow target's
	 * answer to it still counts), each 0 once answered or dropped */
	uint64_t hello_id, hello_prev_id, whois_id, ncr_id;
	int64_t hello_sent, hello_prev_sent, whois_sent, ncr_sent, ncr_first, up_at;
	bool confirmed;                 /* answered a HELLO of its target */
	bool started;                   /* its socket was opened once */
	bool up;                        /* has its OK(HELLO) */
	uint64_t relay_seq;
	uint64_t nwid;
	enum mstate ms;
	struct zt_reasm *reasm;
	struct zt_config_asm *casm;
};

static struct node *nodes;
static unsigned n_nodes, peers_up;
/* The nodes this process runs: all of them, or with --procs (a process
 * holds a socket a node and RLIMIT_NOFILE may be low) a share, pairs
 * kept together; indices into nodes[], peers first. */
static unsigned *mine, n_mine, n_mine_peers;
static int ep;
static struct { uint64_t sent, delivered; } relay;
static struct { uint64_t leaves, rejoins, rendezvous, answered, ncr_retries, other, bad; } misc;
static int64_t t_first_member, t_last_member;

static const union zt_sockaddr *target(const struct node *n)
{
	return n->role == PEER ? &o.root : &o.ctl;
}

static const struct zt_identity *target_id(const struct node *n)
{
	return n->role == PEER ? &o.root_id : &o.ctl_id;
}

static bool node_open(struct node *n, unsigned idx)
{
	const union zt_sockaddr *to = target(n);
	socklen_t sl = to->sa.sa_family == AF_INET6 ? sizeof to->in6 : sizeof to->in4;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = idx };

	n->fd = socket(to->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (n->fd < 0)
		return false;
	if (o.n_binds) {
		union zt_sockaddr b = o.binds[n->bind];

		if (b.sa.sa_family == AF_INET)
			b.in4.sin_port = 0;
		else
			b.in6.sin6_port = 0;
		if (bind(n->fd, &b.sa, b.sa.sa_family == AF_INET6 ? sizeof b.in6 : sizeof b.in4) < 0)
			goto fail;
	}
	/* connected: the kernel passes us only what comes from the target */
	if (connect(n->fd, &to->sa, sl) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, n->fd, &ev) < 0)
		goto fail;
	return true;
fail:
	close(n->fd);
	n->fd = -1;
	return false;
}

static void node_close(struct node *n)
{
	if (n->fd >= 0)
		close(n->fd);  /* leaves the epoll set with it */
	n->fd = -1;
	if (n->up && n->role == PEER)
		peers_up--;
	n->up = false;
	n->confirmed = false;
}

/* ---- sending ---- */

static uint8_t pkt[ZT_PKT_MAX], frag[ZT_PKT_MAX];

static void pkt_begin(struct zt_wr *w, const struct node *n, uint64_t dest, uint8_t verb)
{
	struct zt_hdr h = { .id = rnd(), .dest = dest, .src = n->id->address, .verb = verb };

	zt_wr_init(w, pkt, sizeof pkt);
	zt_hdr_write(w, &h);
}

/* Armor the packet in pkt and send it (cut in fragments when over the
 * MTU); returns its packet id, or 0 if it could not go. */
static uint64_t pkt_send(struct node *n, const struct zt_peer_key *key, size_t len, unsigned suite,
			 size_t hello_tail)
{
	struct zt_rd r;
	int count, size;

	if (n->fd < 0)
		return 0;
	pkt[ZT_HDR_FLAGS] = zt_flags_make(suite, len > ZT_MTU_DEFAULT);
	if (hello_tail && zt_hello_crypt(key, pkt, len, hello_tail) < 0)
		return 0;
	if (zt_armor(key, pkt, len, suite) < 0)
		return 0;
	count = zt_frag_count(len, ZT_MTU_DEFAULT);
	size = zt_frag_size(len, ZT_MTU_DEFAULT);
	if (count < 1 || size < 0)
		return 0;
	if (send(n->fd, pkt, count > 1 ? (size_t)size : len, 0) < 0)
		return 0;
	for (int i = 1; i < count; i++) {
		int fl = zt_frag_build(pkt, len, (unsigned)size, (unsigned)i, frag, sizeof frag);

		if (fl < 0 || send(n->fd, frag, (size_t)fl, 0) < 0)
			return 0;
	}
	zt_rd_init(&r, pkt, 8);
	return zt_rd_u64(&r);
}

/* A HELLO from n to its target, saying where it sends it. */
static void send_hello(struct node *n, int64_t now)
{
	uint8_t idbin[ZT_ID_BIN_PUB];
	struct zt_hello h = {
		.proto = PROTO, .major = 1, .minor = 14, .revision = 2,
		.timestamp = (uint64_t)(now / 1000), .id = idbin, .id_len = ZT_ID_BIN_PUB,
		.has_dest = true, .dest = *target(n),
	};
	struct zt_wr w;

	zt_identity_to_bin(n->id, idbin, false);
	pkt_begin(&w, n, target_id(n)->address, ZT_VERB_HELLO);
	if (zt_hello_encode(&w, &h, NULL, 0) < 0 || w.err)
		return;
	if (n->hello_prev_id)
		st[K_HELLO].drops++;   /* two later and still no answer */
	n->hello_prev_id = n->hello_id;
	n->hello_prev_sent = n->hello_sent;
	n->hello_id = pkt_send(n, &n->key, w.len, ZT_SUITE_POLY1305_NONE, ZT_HDR_PAYLOAD + h.tail_off);
	n->hello_sent = now;
	if (n->hello_id)
		st[K_HELLO].sent++;
}

static void send_whois(struct node *n, int64_t now)
{
	uint64_t who = o.root_id.address;   /* what 1.14 asks its root every 5 s */
	struct zt_wr w;

	/* else another peer the root knows (a root need not answer for
	 * addresses it has never heard of) */
	for (int tries = 0; tries < 4 && n_mine_peers; tries++) {
		const struct node *x = &nodes[mine[rnd_below(n_mine_peers)]];

		if (x != n && x->up) {
			who = x->id->address;
			break;
		}
	}
	pkt_begin(&w, n, o.root_id.address, ZT_VERB_WHOIS);
	if (zt_whois_encode(&w, &who, 1) < 0 || w.err)
		return;
	n->whois_id = pkt_send(n, &n->key, w.len, ZT_SUITE_AES_GMAC_SIV, 0);
	n->whois_sent = now;
	if (n->whois_id)
		st[K_WHOIS].sent++;
}

/* An ECHO to the partner, through the root: its payload the sequence. */
static void send_relay(struct node *n)
{
	struct node *b = &nodes[n->partner];
	uint8_t seq[8];
	struct zt_wr w, sw;

	zt_wr_init(&sw, seq, sizeof seq);
	zt_wr_u64(&sw, ++n->relay_seq);
	pkt_begin(&w, n, b->id->address, ZT_VERB_ECHO);
	zt_echo_encode(&w, seq, sizeof seq);
	if (!w.err && pkt_send(n, &n->pair_key, w.len, ZT_SUITE_AES_GMAC_SIV, 0))
		relay.sent++;
}

static void send_ncr(struct node *n, int64_t now)
{
	uint8_t meta[ZT_DICT_META_CAP];
	struct zt_ncreq_meta m;
	struct zt_ncreq q = { .nwid = n->nwid, .has_tail = true };
	struct zt_wr mw, w;

	zt_ncreq_meta_default(&m, "linux/x86_64");
	m.majv = 1;
	m.minv = 14;
	m.revv = 2;
	zt_wr_init(&mw, meta, sizeof meta);
	if (zt_ncreq_meta_write(&m, &mw) < 0 || mw.err)
		return;
	q.meta = meta;
	q.meta_len = mw.len;
	pkt_begin(&w, n, o.ctl_id.address, ZT_VERB_NETWORK_CONFIG_REQUEST);
	if (zt_ncreq_encode(&w, &q) < 0 || w.err)
		return;
	n->ncr_id = pkt_send(n, &n->key, w.len, ZT_SUITE_AES_GMAC_SIV, 0);
	n->ncr_sent = now;
	if (n->ms == M_CONFIG) {
		misc.ncr_retries++;
	} else {
		n->ms = M_CONFIG;
		n->ncr_first = now;
		st[K_CONFIG].sent++;
	}
}

/* A member is done (its config in) or failed: its round is over. */
static void member_end(struct node *n, enum mstate ms, int64_t now)
{
	n->ms = ms;
	n->ncr_id = 0;
	t_last_member = now;
	zt_config_asm_fini(n->casm);
	free(n->casm);
	n->casm = NULL;
	zt_reasm_free(n->reasm);
	n->reasm = NULL;
	node_close(n);
}

/* ---- receiving ---- */

/* What a leaf owes its root: OK(HELLO) to a HELLO (the root learns our
 * path only from an OK, wire.md §7.3) and OK(ECHO) to an ECHO. */
static void reply_hello(struct node *n, uint64_t id, const uint8_t *pl, size_t len)
{
	struct zt_hello h;
	struct zt_ok_hello ok = { .proto = PROTO, .major = 1, .minor = 14, .revision = 2,
				  .has_addr = true, .addr = *target(n) };
	struct zt_wr w;

	if (zt_hello_decode(&h, pl, len) < 0) {
		misc.bad++;
		return;
	}
	ok.timestamp = h.timestamp;
	pkt_begin(&w, n, target_id(n)->address, ZT_VERB_OK);
	zt_ok_encode(&w, ZT_VERB_HELLO, id);
	zt_ok_hello_encode(&w, &ok);
	if (!w.err)
		pkt_send(n, &n->key, w.len, ZT_SUITE_AES_GMAC_SIV, 0);
	n->confirmed = true;
	misc.answered++;
}

static void reply_echo(struct node *n, uint64_t id, const uint8_t *pl, size_t len)
{
	struct zt_wr w;

	pkt_begin(&w, n, target_id(n)->address, ZT_VERB_OK);
	zt_ok_encode(&w, ZT_VERB_ECHO, id);
	zt_echo_encode(&w, pl, len);
	if (!w.err)
		pkt_send(n, &n->key, w.len, ZT_SUITE_AES_GMAC_SIV, 0);
	misc.answered++;
}

static void rx_config_chunk(struct node *n, const uint8_t *body, size_t len, int64_t now)
{
	struct zt_config_chunk ch;
	const uint8_t *dict;
	size_t dlen;
	int rc;

	if (n->ms != M_CONFIG || zt_chunk_decode(&ch, body, len) < 0 || ch.nwid != n->nwid ||
	    zt_config_asm_is_dup(n->casm, &ch) || zt_chunk_verify(&ch, &o.ctl_id) < 0) {
		misc.bad++;
		return;
	}
	rc = zt_config_asm_add(n->casm, &ch, &dict, &dlen);
	if (rc < 0) {
		misc.bad++;
	} else if (rc == 1) {
		stat_answer(K_CONFIG, n->ncr_first, now);
		member_end(n, M_DONE, now);
	}
}

/* Whether a reply in re id answers the request *pending of kind k: then
 * its latency is counted and the request is no longer pending. */
static bool answers(enum kind k, uint64_t *pending, int64_t sent, uint64_t in_re_id, bool error,
		    int64_t now)
{
	if (!*pending || in_re_id != *pending)
		return false;
	stat_answer(k, sent, now);
	st[k].errors += error;
	*pending = 0;
	return true;
}

static void rx_ok(struct node *n, const uint8_t *pl, size_t len, int64_t now)
{
	struct zt_ok ok;

	if (zt_ok_decode(&ok, pl, len) < 0) {
		misc.bad++;
		return;
	}
	if (ok.in_re_verb == ZT_VERB_HELLO &&
	    (answers(K_HELLO, &n->hello_id, n->hello_sent, ok.in_re_id, false, now) ||
	     answers(K_HELLO, &n->hello_prev_id, n->hello_prev_sent, ok.in_re_id, false, now))) {
		if (!n->up && n->role == PEER)
			peers_up++;
		n->up = true;
		n->up_at = now;
	} else if (ok.in_re_verb == ZT_VERB_WHOIS && n->whois_id == ok.in_re_id) {
		struct zt_ok_whois w;
		bool good = zt_ok_whois_decode(&w, ok.data, ok.len) == 0 && w.count;

		misc.bad += !good;
		answers(K_WHOIS, &n->whois_id, n->whois_sent, ok.in_re_id, !good, now);
	} else if (ok.in_re_verb == ZT_VERB_NETWORK_CONFIG_REQUEST && n->ms == M_CONFIG) {
		/* an answer to any of its requests (1.14 remembers the ids
		 * of the last 1024 packets it sent): the chunk is signed */
		rx_config_chunk(n, ok.data, ok.len, now);
	} else {
		misc.other++;
	}
}

/* An ERROR answers the request too (a config request to a private
 * network: access denied; a WHOIS, from a target that reports unknown
 * addresses, which 1.14 and zt do not: they stay silent). */
static void rx_error(struct node *n, const uint8_t *pl, size_t len, int64_t now)
{
	struct zt_error e;

	if (zt_error_decode(&e, pl, len) < 0) {
		misc.bad++;
		return;
	}
	if (e.in_re_verb == ZT_VERB_NETWORK_CONFIG_REQUEST &&
	    answers(K_CONFIG, &n->ncr_id, n->ncr_first, e.in_re_id, true, now))
		member_end(n, M_FAILED, now);
	else if (!(e.in_re_verb == ZT_VERB_WHOIS &&
		   answers(K_WHOIS, &n->whois_id, n->whois_sent, e.in_re_id, true, now)))
		misc.other++;
}

static void rx_packet(struct node *n, uint8_t *p, size_t len, int64_t now)
{
	static uint8_t dec[ZT_PKT_MAX];
	const struct zt_peer_key *key;
	struct zt_hdr h;
	struct zt_rd r;
	int dl;

	if (zt_hdr_read(&h, p, len) < 0 || h.dest != n->id->address) {
		misc.bad++;
		return;
	}
	if (h.src == target_id(n)->address)
		key = &n->key;
	else if (n->partner >= 0 && h.src == nodes[n->partner].id->address)
		key = &n->pair_key;
	else {
		misc.bad++;
		return;
	}
	if (zt_dearmor(key, p, len) < 0) {
		misc.bad++;
		return;
	}
	if (p[ZT_HDR_VERB] & ZT_VERB_COMPRESSED) {
		if ((dl = zt_packet_decompress(p, len, dec, sizeof dec)) < 0) {
			misc.bad++;
			return;
		}
		p = dec;
		len = (size_t)dl;
	}
	switch (p[ZT_HDR_VERB] & ZT_VERB_MASK) {
	case ZT_VERB_OK:
		rx_ok(n, p + ZT_HDR_PAYLOAD, len - ZT_HDR_PAYLOAD, now);
		break;
	case ZT_VERB_ERROR:
		rx_error(n, p + ZT_HDR_PAYLOAD, len - ZT_HDR_PAYLOAD, now);
		break;
	case ZT_VERB_HELLO:
		if (key == &n->key)
			reply_hello(n, h.id, p + ZT_HDR_PAYLOAD, len - ZT_HDR_PAYLOAD);
		else
			misc.other++;
		break;
	case ZT_VERB_ECHO:
		zt_rd_init(&r, p + ZT_HDR_PAYLOAD, len - ZT_HDR_PAYLOAD);
		if (key == &n->key)
			reply_echo(n, h.id, p + ZT_HDR_PAYLOAD, len - ZT_HDR_PAYLOAD);
		else if (zt_rd_u64(&r) && !r.err)
			relay.delivered++;
		else
			misc.other++;
		break;
	case ZT_VERB_NETWORK_CONFIG:
		/* a config the controller sends on its own answers too, as for
		 * 1.14: zt's, when the member's write had to wait for its COMMIT */
		if (key == &n->key && n->ms == M_CONFIG)
			rx_config_chunk(n, p + ZT_HDR_PAYLOAD, len - ZT_HDR_PAYLOAD, now);
		else
			misc.other++;
		break;
	case ZT_VERB_RENDEZVOUS:
		misc.rendezvous++;
		break;
	default:
		misc.other++;
	}
}

static void rx_node(struct node *n, int64_t now)
{
	static uint8_t buf[ZT_PKT_MAX + 64], whole[ZT_PKT_MAX];
	ssize_t len;
	int pl;

	while (n->fd >= 0 && (len = recv(n->fd, buf, sizeof buf, 0)) >= 0) {
		switch (zt_dgram_classify(buf, (size_t)len)) {
		case ZT_DGRAM_PACKET:
			rx_packet(n, buf, (size_t)len, now);
			break;
		case ZT_DGRAM_HEAD:
		case ZT_DGRAM_FRAGMENT:
			if (!n->reasm && !(n->reasm = zt_reasm_new(4)))
				die("out of memory");
			pl = zt_reasm_input(n->reasm, buf, (size_t)len, now / 1000, whole, sizeof whole);
			if (pl > 0)
				rx_packet(n, whole, (size_t)pl, now);
			else if (pl < 0)
				misc.bad++;
			break;
		default:
			misc.bad++;
		}
	}
}

/* ---- schedule ---- */

static void hello_expire(struct node *n, int64_t now)
{
	int64_t limit = (int64_t)(o.timeout * 1e6);

	if (n->hello_prev_id && now - n->hello_prev_sent > limit) {
		st[K_HELLO].drops++;
		n->hello_prev_id = 0;
	}
	if (n->hello_id && now - n->hello_sent > limit) {
		st[K_HELLO].drops++;
		n->hello_id = 0;
	}
}

/* Whether the target has a path to n: it learns one from n's OK to its
 * confirming HELLO (wire.md §7.3); a target that sends none has had a
 * second since its OK(HELLO). */
static bool reachable(const struct node *n, int64_t now)
{
	return n->up && (n->confirmed || now - n->up_at >= 1000000);
}

static void peer_tick(struct node *n, unsigned idx, int64_t now, bool loading)
{
	if (n->fd < 0) {
		/* its start, or its return after leaving: a new socket */
		if (!loading || now < (n->back_at ? n->back_at : n->start) || (n->started && !n->back_at))
			return;
		if (n->back_at)
			misc.rejoins++;
		n->back_at = 0;
		n->started = true;
		if (!node_open(n, idx))
			die("cannot open a socket (%s)", strerror(errno));
		send_hello(n, now);
		n->next_hello = now + (int64_t)o.hello_ms * 1000;
		return;
	}
	hello_expire(n, now);
	if (n->whois_id && now - n->whois_sent > (int64_t)(o.timeout * 1e6)) {
		st[K_WHOIS].drops++;
		n->whois_id = 0;
	}
	if (!loading)
		return;
	/* a root that has not answered gets a HELLO every ping check (§7.5):
	 * a root drops HELLOs of new identities beyond one per source /24
	 * (or IPv6 /48) every 2 s, so those of a crowd behind one prefix
	 * come in over time */
	if (!n->up && n->hello_sent && now - n->hello_sent >= PING_CHECK_MS * 1000) {
		send_hello(n, now);
	} else if (now >= n->next_hello && !n->hello_id) {
		send_hello(n, now);
		n->next_hello = now + (int64_t)o.hello_ms * 1000;
	}
	/* one WHOIS at a time: a slow root is not asked faster than it answers */
	if (o.whois_ms && n->up && !n->whois_id && now >= n->next_whois) {
		send_whois(n, now);
		n->next_whois = now + (int64_t)o.whois_ms * 1000;
	}
	/* the lower of a pair sends for both once the root can reach both */
	if (n->partner > (int)idx && reachable(n, now) && reachable(&nodes[n->partner], now) &&
	    now >= n->next_relay) {
		send_relay(n);
		send_relay(&nodes[n->partner]);
		n->next_relay = now + RELAY_MS * 1000;
	}
}

static void member_tick(struct node *n, unsigned idx, int64_t now, bool loading)
{
	if (n->ms == M_WAIT && loading && now >= n->start) {
		if (!node_open(n, idx))
			die("cannot open a socket (%s)", strerror(errno));
		if (!(n->casm = malloc(sizeof *n->casm)))
			die("out of memory");
		zt_config_asm_init(n->casm);
		if (!t_first_member)
			t_first_member = now;
		n->ms = M_HELLO;
		send_hello(n, now);
	} else if (n->ms == M_HELLO && n->up) {
		/* ask once the target knows our path (it confirms it with a
		 * HELLO, wire.md §7.3), or a second after its OK anyway */
		if (reachable(n, now))
			send_ncr(n, now);
	} else if (n->ms == M_HELLO && now - n->start > (int64_t)(o.timeout * 1e6)) {
		hello_expire(n, INT64_MAX);
		st[K_CONFIG].drops++;  /* never asked: counts against the config round */
		member_end(n, M_FAILED, now);
	} else if (n->ms == M_HELLO && now - n->hello_sent >= PING_CHECK_MS * 1000) {
		send_hello(n, now);    /* as 1.14 does to an upstream that does not answer */
	} else if (n->ms == M_CONFIG && now - n->ncr_first > (int64_t)(o.timeout * 1e6)) {
		st[K_CONFIG].drops++;
		member_end(n, M_FAILED, now);
	} else if (n->ms == M_CONFIG && now - n->ncr_sent >= PING_CHECK_MS * 1000) {
		send_ncr(n, now);      /* 1.14 asks every 5 s until a config comes */
	}
}

/* Churn: o.churn percent of the unpaired peers leave each minute. */
static void churn_tick(int64_t now, double dt_s)
{
	static double owed;
	unsigned tries;

	if (!o.churn || !n_mine_peers)
		return;
	owed += n_mine_peers * o.churn / 100.0 * dt_s / 60.0;
	for (; owed >= 1; owed--) {
		for (tries = 0; tries < 16; tries++) {
			struct node *n = &nodes[mine[rnd_below(n_mine_peers)]];

			if (n->partner >= 0 || n->fd < 0 || !n->up || n->back_at)
				continue;
			/* what it still waits for is not counted: it leaves */
			st[K_HELLO].sent -= !!n->hello_id + !!n->hello_prev_id;
			st[K_WHOIS].sent -= !!n->whois_id;
			n->hello_id = n->hello_prev_id = n->whois_id = 0;
			node_close(n);
			n->back_at = now + (int64_t)(o.away * 1e6);
			misc.leaves++;
			break;
		}
	}
}

/* ---- the target's process ---- */

struct proc_sample {
	bool ok;
	double cpu_s;
	long rss_kib;
};

/* What a run saw of the target besides the counters: its length, the
 * target's samples at the start, after the ramp and at the end, and the
 * peers up at the end. */
struct outcome {
	double secs, steady_s;
	struct proc_sample p0, p1, p2;
	unsigned up;
};

static struct proc_sample proc_read(int pid)
{
	struct proc_sample s = { 0 };
	char path[64], buf[4096], *p;
	unsigned long ut, stt;
	FILE *f;

	if (!pid)
		return s;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (!(f = fopen(path, "r")))
		return s;
	if (!fgets(buf, sizeof buf, f) || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt) != 2) {
		fclose(f);
		return s;
	}
	fclose(f);
	s.cpu_s = (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	if (!(f = fopen(path, "r")))
		return s;
	while (fgets(buf, sizeof buf, f))
		if (sscanf(buf, "VmRSS: %ld", &s.rss_kib) == 1)
			s.ok = true;
	fclose(f);
	return s;
}

/* ---- setup and the run ---- */

/* Raise RLIMIT_NOFILE toward need (root may raise the hard limit, where
 * it has CAP_SYS_RESOURCE); returns what it is then. */
static unsigned long raise_nofile(unsigned need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_max < need &&
	    setrlimit(RLIMIT_NOFILE, &(struct rlimit){ need, need }) == 0)
		return need;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

/* The processes to run the nodes in: --procs, or as many as the open
 * files limit asks (a socket a node, and a few more). */
static unsigned procs_needed(void)
{
	unsigned nodes_n = o.peers + o.members;
	unsigned long limit = raise_nofile(nodes_n + 64);
	unsigned long each = limit > 128 ? limit - 64 : 64;

	unsigned long procs = o.procs ? o.procs : (nodes_n + each - 1) / each;

	if (procs > 256)
		die("%u nodes need %lu processes at RLIMIT_NOFILE %lu (256 at most)", nodes_n, procs, limit);
	return procs ? (unsigned)procs : 1;
}

static void nodes_setup(const struct pool *p)
{
	unsigned npairs = (unsigned)(o.peers * o.pairs) / 2;

	n_nodes = o.peers + o.members;
	if (!(nodes = calloc(n_nodes ? n_nodes : 1, sizeof *nodes)))
		die("out of memory");
	for (unsigned i = 0; i < n_nodes; i++) {
		struct node *n = &nodes[i];
		bool peer = i < o.peers;
		unsigned pi = peer ? i : o.offset + (i - o.peers);

		n->id = &p->ids[pi];
		n->role = peer ? PEER : MEMBER;
		n->fd = -1;
		n->partner = -1;
		n->bind = o.n_binds ? i % o.n_binds : 0;
		if (zt_peer_key_agree(&n->key, n->id, target_id(n)) < 0)
			die("key agreement failed for an identity of the pool");
		if (peer) {
			n->start = (int64_t)(o.ramp * 1e6 * i / (o.peers ? o.peers : 1));
			n->next_hello = n->start;
			n->next_whois = n->start + rnd_below((int64_t)o.whois_ms * 1000);
			n->next_relay = 0;
			if (i < 2 * npairs) {
				n->partner = (int)(i ^ 1);
				if (zt_peer_key_agree(&n->pair_key, n->id, &p->ids[i ^ 1]) < 0)
					die("key agreement failed");
			}
		} else {
			unsigned m = i - o.peers;

			n->nwid = o.nets[m % o.n_nets];
			n->start = o.rate > 0 ? (int64_t)(m / o.rate * 1e6) : 0;
		}
	}
}

static void print_report(const struct outcome *out)
{
	double secs = out->secs, steady_s = out->steady_s;
	struct proc_sample p0 = out->p0, p1 = out->p1, p2 = out->p2;
	unsigned up = out->up;
	char res[2048];
	size_t rl = 0;

	printf("# %u peers (%u up at the end), %u members, %.1f s", o.peers, up, o.members, secs);
	if (o.peers)
		printf("; steady window %.1f s", steady_s);
	printf("\n");
	rl += (size_t)snprintf(res + rl, sizeof res - rl, "result peers=%u members=%u up=%u", o.peers,
			       o.members, up);
	for (int k = 0; k < K_N; k++) {
		struct stat_k *s = &st[k];
		double pa = s->sent ? 100.0 * s->answered / s->sent : 0;

		if (!s->sent)
			continue;
		if (s->n)   /* none answered: no array to sort */
			qsort(s->lat_us, s->n, sizeof *s->lat_us, cmp_u32);
		printf("%-7s sent %" PRIu64 " answered %" PRIu64 " (%.2f%%, %" PRIu64
		       " errors) drops %" PRIu64 "  ms p50 %.2f p90 %.2f p99 %.2f max %.2f\n",
		       kind_name[k], s->sent, s->answered, pa, s->errors, s->drops, pct_ms(s, 0.5),
		       pct_ms(s, 0.9), pct_ms(s, 0.99), s->n ? s->lat_us[s->n - 1] / 1000.0 : 0);
		rl += (size_t)snprintf(res + rl, sizeof res - rl,
				       " %s_sent=%" PRIu64 " %s_answered=%" PRIu64 " %s_errors=%" PRIu64
				       " %s_drops=%" PRIu64 " %s_p50=%.2f %s_p90=%.2f %s_p99=%.2f %s_max=%.2f",
				       kind_name[k], s->sent, kind_name[k], s->answered, kind_name[k],
				       s->errors, kind_name[k], s->drops, kind_name[k], pct_ms(s, 0.5),
				       kind_name[k], pct_ms(s, 0.9), kind_name[k], pct_ms(s, 0.99),
				       kind_name[k], s->n ? s->lat_us[s->n - 1] / 1000.0 : 0);
	}
	if (o.members) {
		double round = (t_last_member - t_first_member) / 1e6;

		printf("members: round over (every member configured or given up) %.2f s after the first HELLO;"
		       " %" PRIu64 " requests repeated\n", round, misc.ncr_retries);
		rl += (size_t)snprintf(res + rl, sizeof res - rl, " config_round_s=%.2f", round);
	}
	if (o.peers) {
		printf("relay   sent %" PRIu64 " delivered %" PRIu64 " lost %" PRIu64 "\n", relay.sent,
		       relay.delivered, relay.sent > relay.delivered ? relay.sent - relay.delivered : 0);
		rl += (size_t)snprintf(res + rl, sizeof res - rl,
				       " relay_sent=%" PRIu64 " relay_delivered=%" PRIu64, relay.sent,
				       relay.delivered);
	}
	printf("misc    %" PRIu64 " left, %" PRIu64 " came back; %" PRIu64 " HELLO/ECHO from the target answered, %"
	       PRIu64 " RENDEZVOUS, %" PRIu64 " other packets, %" PRIu64 " bad\n", misc.leaves,
	       misc.rejoins, misc.answered, misc.rendezvous, misc.other, misc.bad);
	rl += (size_t)snprintf(res + rl, sizeof res - rl, " leaves=%" PRIu64 " bad=%" PRIu64,
			       misc.leaves, misc.bad);
	if (p0.ok && p2.ok) {
		double cpu = steady_s > 0 && p1.ok ? 100.0 * (p2.cpu_s - p1.cpu_s) / steady_s : 0;
		double all = 100.0 * (p2.cpu_s - p0.cpu_s) / secs;
		unsigned n = o.peers + o.members;
		double per = n ? (double)(p2.rss_kib - p0.rss_kib) / n : 0;

		printf("target  pid %d cpu", o.pid);
		if (o.peers)
			printf(" %.1f%% steady,", cpu);
		printf(" %.1f%% over the run; rss %ld -> %ld KiB, %.2f KiB per node\n", all, p0.rss_kib,
		       p2.rss_kib, per);
		rl += (size_t)snprintf(res + rl, sizeof res - rl,
				       " cpu_steady_pct=%.1f cpu_all_pct=%.1f rss0_kib=%ld rss_kib=%ld kib_per_node=%.2f",
				       cpu, all, p0.rss_kib, p2.rss_kib, per);
	} else if (o.pid) {
		printf("target  pid %d: cannot read /proc/%d\n", o.pid, o.pid);
	}
	printf("%s\n", res);
}

static bool members_pending(void)
{
	for (unsigned k = n_mine_peers; k < n_mine; k++) {
		const struct node *n = &nodes[mine[k]];

		if (n->ms == M_WAIT || n->ms == M_HELLO || n->ms == M_CONFIG)
			return true;
	}
	return false;
}

static bool answers_pending(void)
{
	if (relay.delivered < relay.sent)
		return true;   /* some may still be on their way */
	for (unsigned k = 0; k < n_mine_peers; k++) {
		const struct node *n = &nodes[mine[k]];

		if (n->hello_id || n->hello_prev_id || n->whois_id)
			return true;
	}
	return members_pending();
}

static struct outcome run(void)
{
	struct outcome out = { 0 };
	struct epoll_event evs[256];
	struct proc_sample p0, p1 = { 0 }, p2;
	int64_t t0, now, end, grace_end, last_tick, t_end = 0;
	double steady_s = 0;
	bool loading = true, ramped = false;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll: %s", strerror(errno));
	p0 = proc_read(o.pid);
	if (o.rss_base_kib)
		p0.rss_kib = o.rss_base_kib;
	t0 = now_us();
	for (unsigned i = 0; i < n_nodes; i++) {
		nodes[i].start += t0;
		nodes[i].next_hello += t0;
		nodes[i].next_whois += t0;
	}
	end = t0 + (int64_t)(o.duration * 1e6);
	grace_end = end;
	last_tick = t0;
	for (;;) {
		int ne = epoll_wait(ep, evs, 256, TICK_MS);

		now = now_us();
		for (int e = 0; e < ne; e++)
			rx_node(&nodes[evs[e].data.u32], now);
		if (now - last_tick < TICK_MS * 1000 && ne > 0)
			continue;
		/* the steady window opens after the ramp, once every peer is up
		 * (a root validating a crowd of new identities lags behind) */
		if (!ramped && now >= t0 + (int64_t)(o.ramp * 1e6) &&
		    (peers_up == n_mine_peers || now >= end - (int64_t)((o.duration - o.ramp) * 5e5))) {
			ramped = true;
			p1 = proc_read(o.pid);
			steady_s = -(now / 1e6);
		}
		/* peers: the run lasts o.duration; members alone: until every
		 * member has its answer (or timed out) */
		if (loading && (o.peers ? now >= end : !members_pending())) {
			loading = false;
			p2 = proc_read(o.pid);
			steady_s += now / 1e6;
			t_end = now;
			grace_end = now + (int64_t)(o.timeout * 1e6);
		}
		for (unsigned k = 0; k < n_mine; k++) {
			unsigned i = mine[k];

			if (nodes[i].role == PEER)
				peer_tick(&nodes[i], i, now, loading);
			else
				member_tick(&nodes[i], i, now, loading || nodes[i].ms != M_WAIT);
		}
		if (loading && ramped)
			churn_tick(now, (now - last_tick) / 1e6);
		last_tick = now;
		if (!loading && (now >= grace_end || !answers_pending()))
			break;
	}
	if (!ramped)
		steady_s = 0;
	out.secs = (t_end - t0) / 1e6;
	out.steady_s = steady_s;
	out.p0 = p0;
	out.p1 = p1;
	out.p2 = p2;
	for (unsigned k = 0; k < n_mine_peers; k++)
		out.up += nodes[mine[k]].up;
	return out;
}

/* ---- running in several processes ---- */

static void write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("writing to the parent: %s", strerror(errno));
		p += w;
		len -= (size_t)w;
	}
}

static bool read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		len -= (size_t)r;
	}
	return true;
}

/* Process `me` of `procs` runs every procs-th pair of peers and every
 * procs-th member. */
static void share_nodes(unsigned me, unsigned procs)
{
	if (!(mine = malloc((n_nodes ? n_nodes : 1) * sizeof *mine)))
		die("out of memory");
	n_mine = 0;
	for (unsigned i = 0; i < o.peers; i++)
		if ((i / 2) % procs == me)
			mine[n_mine++] = i;
	n_mine_peers = n_mine;
	for (unsigned i = o.peers; i < n_nodes; i++)
		if ((i - o.peers) % procs == me)
			mine[n_mine++] = i;
}

/* A child's results to its parent: the outcome, the counters, then the
 * latencies. */
struct counts {
	struct outcome out;
	uint64_t sent[K_N], answered[K_N], errors[K_N], drops[K_N], n[K_N];
	uint64_t relay_sent, relay_delivered;
	uint64_t misc[7];
	int64_t t_first_member, t_last_member;
};
/* misc's counters travel as an array: the two must stay the same size */
_Static_assert(sizeof misc == sizeof ((struct counts *)0)->misc, "misc and counts.misc differ");

static void report_to_parent(int fd, const struct outcome *out)
{
	struct counts c = { .out = *out };

	for (int k = 0; k < K_N; k++) {
		c.sent[k] = st[k].sent;
		c.answered[k] = st[k].answered;
		c.errors[k] = st[k].errors;
		c.drops[k] = st[k].drops;
		c.n[k] = st[k].n;
	}
	c.relay_sent = relay.sent;
	c.relay_delivered = relay.delivered;
	memcpy(c.misc, &misc, sizeof c.misc);
	c.t_first_member = t_first_member;
	c.t_last_member = t_last_member;
	write_all(fd, &c, sizeof c);
	for (int k = 0; k < K_N; k++)
		write_all(fd, st[k].lat_us, st[k].n * sizeof *st[k].lat_us);
}

/* Add a child's results to ours; the target's samples are the first
 * child's (all ran at once). */
static bool merge_child(int fd, bool first, struct outcome *out)
{
	struct counts c;
	uint64_t m[sizeof c.misc / sizeof c.misc[0]];

	if (!read_all(fd, &c, sizeof c))
		return false;
	for (int k = 0; k < K_N; k++) {
		struct stat_k *s = &st[k];

		s->sent += c.sent[k];
		s->answered += c.answered[k];
		s->errors += c.errors[k];
		s->drops += c.drops[k];
		if (c.n[k] && !(s->lat_us = realloc(s->lat_us, (s->n + c.n[k]) * sizeof *s->lat_us)))
			die("out of memory");
		if (c.n[k] && !read_all(fd, s->lat_us + s->n, c.n[k] * sizeof *s->lat_us))
			return false;
		s->n += c.n[k];
		s->cap = s->n;
	}
	relay.sent += c.relay_sent;
	relay.delivered += c.relay_delivered;
	memcpy(m, &misc, sizeof m);
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		m[i] += c.misc[i];
	memcpy(&misc, m, sizeof m);
	if (c.t_first_member && (!t_first_member || c.t_first_member < t_first_member))
		t_first_member = c.t_first_member;
	if (c.t_last_member > t_last_member)
		t_last_member = c.t_last_member;
	if (first) {
		*out = c.out;
		out->up = 0;
	}
	out->up += c.out.up;
	return true;
}

/* Run the nodes in `procs` child processes at once and merge what they
 * saw into one report. */
static struct outcome run_procs(unsigned procs)
{
	struct outcome out = { 0 };
	pid_t pids[256];   /* --procs is at most 256 */
	int fds[256];
	bool ok = true;

	fflush(NULL);
	for (unsigned me = 0; me < procs; me++) {
		int pfd[2];

		if (pipe(pfd) < 0 || (pids[me] = fork()) < 0)
			die("cannot start process %u: %s", me, strerror(errno));
		if (pids[me] == 0) {
			struct outcome mine_out;

			close(pfd[0]);
			share_nodes(me, procs);
			mine_out = run();
			report_to_parent(pfd[1], &mine_out);
			_exit(0);
		}
		close(pfd[1]);
		fds[me] = pfd[0];
	}
	for (unsigned me = 0; me < procs; me++) {
		int status;

		ok &= merge_child(fds[me], me == 0, &out);
		close(fds[me]);
		ok &= waitpid(pids[me], &status, 0) == pids[me] && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0;
	}
	if (!ok)
		die("a process of the run failed");
	return out;
}

int main(int argc, char **argv)
{
	char defpath[4096];
	struct pool pool = { 0 };
	struct outcome out;
	unsigned need, procs;

	parse_opts(argc, argv);
	if (getrandom(&rng_state, sizeof rng_state, 0) != sizeof rng_state || !rng_state)
		rng_state = (uint64_t)now_us() | 1;
	if (!o.ids) {
		const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

		/* $XDG_CACHE_HOME or ~/.cache, made if missing, then zt-bench */
		if (xdg && *xdg)
			snprintf(defpath, sizeof defpath, "%s", xdg);
		else
			snprintf(defpath, sizeof defpath, "%s/.cache", home ? home : ".");
		mkdir(defpath, 0700);
		strncat(defpath, "/zt-bench", sizeof defpath - strlen(defpath) - 1);
		mkdir(defpath, 0700);
		strncat(defpath, "/identities", sizeof defpath - strlen(defpath) - 1);
		o.ids = defpath;
	}
	pool_load(&pool, o.ids);
	need = o.peers > o.offset + o.members ? o.peers : o.offset + o.members;
	if (o.generate > pool.n) {
		pool_generate(o.ids, pool.n, o.generate, o.threads);
		pool.n = 0;
		pool_load(&pool, o.ids);
	}
	if (!o.peers && !o.members) {
		printf("%s: %u identities\n", o.ids, pool.n);
		return 0;
	}
	if (pool.n < need) {
		fprintf(stderr, PROG ": %s holds %u identities, %u needed (add --generate %u)\n", o.ids,
			pool.n, need, need);
		return 2;
	}
	procs = procs_needed();
	nodes_setup(&pool);
	if (procs > 1) {
		printf("# %u processes (RLIMIT_NOFILE: a socket a node)\n", procs);
		out = run_procs(procs);
	} else {
		share_nodes(0, 1);
		out = run();
	}
	print_report(&out);
	for (unsigned i = 0; i < n_nodes; i++) {
		node_close(&nodes[i]);
		zt_peer_key_clear(&nodes[i].key);
		zt_peer_key_clear(&nodes[i].pair_key);
		zt_reasm_free(nodes[i].reasm);
		if (nodes[i].casm)
			zt_config_asm_fini(nodes[i].casm);
		free(nodes[i].casm);
	}
	free(nodes);
	free(mine);
	for (int k = 0; k < K_N; k++)
		free(st[k].lat_us);
	for (unsigned i = 0; i < pool.n; i++)
		zt_identity_wipe(&pool.ids[i]);
	free(pool.ids);
	close(ep);
	return 0;
}
