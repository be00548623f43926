/* impair: a UDP forwarder that impairs what it forwards, for the fault
 * suite (t/fault-*.sh).  This kernel has no netem, so loss, duplication,
 * delay with jitter and reordering are made here, in user space.
 *
 *   impair [options] A-LISTEN A-PEER B-LISTEN B-PEER
 *
 * Datagrams from A-PEER arriving on A-LISTEN leave from B-LISTEN to
 * B-PEER, and datagrams from B-PEER arriving on B-LISTEN leave from
 * A-LISTEN to A-PEER; anything else is counted as foreign and dropped.
 * Addresses are IPv4 "1.2.3.4:5" or IPv6 "[2001:db8::1]:5".
 *
 *   -l P   drop each datagram with probability P (0..1)
 *   -d P   send each datagram twice with probability P
 *   -D MS  delay every datagram by MS milliseconds
 *   -j MS  add a uniform jitter of -MS..+MS to that delay (order kept:
 *          a datagram never leaves before one that arrived earlier)
 *   -r P   hold each datagram back with probability P by 1..W ms more,
 *          outside of that order, so later ones overtake it
 *   -w MS  the reordering window W (default 10)
 *   -s N   seed of the random choices (default 1): a run is repeatable
 *
 * Counters per direction are printed on SIGUSR1 and at exit (SIGTERM,
 * SIGINT), one line each:
 *   a>b in=N out=N lost=N duplicated=N reordered=N overflow=N foreign=N
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IMPAIR_MAX_DGRAM 65536
#define IMPAIR_QUEUE 4096 /* datagrams held at once; beyond, overflow drops */

struct side {
	int fd;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	ev_io io;
};

struct counters {
	unsigned long in, out, lost, duplicated, reordered, overflow, foreign;
};

struct held {
	double due;
	uint64_t seq; /* ties leave in arrival order */
	int to;       /* the side it leaves from */
	size_t len;
	unsigned char *data;
};

static struct {
	double loss, dup, reorder, delay_ms, jitter_ms, window_ms;
	unsigned short rng[3];
	struct side side[2];
	struct counters count[2]; /* [0] a>b, [1] b>a */
	double last_due[2];       /* per direction, for the order jitter keeps */
	struct held heap[IMPAIR_QUEUE];
	size_t n_held;
	uint64_t seq;
	ev_timer timer;
} g;

static double chance(void) { return erand48(g.rng); }

static bool held_before(const struct held *x, const struct held *y)
{
	return x->due < y->due || (x->due == y->due && x->seq < y->seq);
}

static void heap_swap(size_t i, size_t j)
{
	struct held t = g.heap[i];

	g.heap[i] = g.heap[j];
	g.heap[j] = t;
}

static void heap_push(struct held h)
{
	size_t i = g.n_held++;

	g.heap[i] = h;
	while (i > 0 && held_before(&g.heap[i], &g.heap[(i - 1) / 2])) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct held heap_pop(void)
{
	struct held top = g.heap[0];
	size_t i = 0;

	g.heap[0] = g.heap[--g.n_held];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < g.n_held && held_before(&g.heap[l], &g.heap[m]))
			m = l;
		if (r < g.n_held && held_before(&g.heap[r], &g.heap[m]))
			m = r;
		if (m == i)
			break;
		heap_swap(i, m);
		i = m;
	}
	return top;
}

static void transmit(int to, const unsigned char *data, size_t len)
{
	struct side *s = &g.side[to];

	/* a full socket buffer loses the datagram, as a congested link would */
	if (sendto(s->fd, data, len, 0, (struct sockaddr *)&s->peer, s->peer_len) == (ssize_t)len)
		g.count[!to].out++;
}

static void arm_timer(struct ev_loop *loop)
{
	ev_timer_stop(loop, &g.timer);
	if (g.n_held == 0)
		return;
	ev_now_update(loop);
	double wait = g.heap[0].due - ev_now(loop);
	ev_timer_set(&g.timer, wait > 0 ? wait : 0, 0);
	ev_timer_start(loop, &g.timer);
}

static void release_due(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w, (void)revents;
	ev_now_update(loop);
	while (g.n_held > 0 && g.heap[0].due <= ev_now(loop)) {
		struct held h = heap_pop();

		transmit(h.to, h.data, h.len);
		free(h.data);
	}
	arm_timer(loop);
}

/* When a datagram of direction dir leaves: the delay, its jitter keeping
 * the order, and sometimes a hold-back that breaks it. */
static double due_time(int dir, double now, bool *reordered)
{
	double ms = g.delay_ms + (g.jitter_ms > 0 ? (2 * chance() - 1) * g.jitter_ms : 0);
	double due = now + (ms > 0 ? ms : 0) / 1000;

	if (due < g.last_due[dir])
		due = g.last_due[dir];
	g.last_due[dir] = due;
	*reordered = g.reorder > 0 && chance() < g.reorder;
	if (*reordered)
		due += (1 + chance() * (g.window_ms - 1)) / 1000;
	return due;
}

static void hold(struct ev_loop *loop, int dir, const unsigned char *data, size_t len)
{
	bool reordered;
	struct held h = { .seq = g.seq++, .to = !dir, .len = len };

	if (g.n_held == IMPAIR_QUEUE || !(h.data = malloc(len))) {
		g.count[dir].overflow++;
		return;
	}
	memcpy(h.data, data, len);
	ev_now_update(loop);
	h.due = due_time(dir, ev_now(loop), &reordered);
	g.count[dir].reordered += reordered;
	heap_push(h);
}

static bool same_peer(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr);
}

static void on_datagram(struct ev_loop *loop, ev_io *w, int revents)
{
	static unsigned char buf[IMPAIR_MAX_DGRAM];
	int dir = (struct side *)w->data == &g.side[0] ? 0 : 1;
	struct side *s = &g.side[dir];

	(void)revents;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage from;
		socklen_t from_len = sizeof from;
		ssize_t n = recvfrom(s->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &from_len);

		if (n < 0)
			break;
		if (!same_peer(&from, &s->peer)) {
			g.count[dir].foreign++;
			continue;
		}
		g.count[dir].in++;
		if (g.loss > 0 && chance() < g.loss) {
			g.count[dir].lost++;
			continue;
		}
		int copies = g.dup > 0 && chance() < g.dup ? 2 : 1;

		g.count[dir].duplicated += copies - 1;
		for (int c = 0; c < copies; c++)
			hold(loop, dir, buf, (size_t)n);
	}
	arm_timer(loop);
}

static void print_counters(void)
{
	static const char *names[2] = { "a>b", "b>a" };

	for (int d = 0; d < 2; d++) {
		const struct counters *c = &g.count[d];

		printf("%s in=%lu out=%lu lost=%lu duplicated=%lu reordered=%lu overflow=%lu foreign=%lu\n",
		       names[d], c->in, c->out, c->lost, c->duplicated, c->reordered, c->overflow, c->foreign);
	}
	fflush(stdout);
}

static void on_usr1(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	print_counters();
}

static void on_exit_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w, (void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static bool parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(text, ':');
	char *end;

	if (!colon || (size_t)(colon - text) >= sizeof host)
		return false;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);

	if (errno || *end || end == colon + 1 || port == 0 || port > 65535)
		return false;
	memset(ss, 0, sizeof *ss);
	if (host[0] == '[') {
		struct sockaddr_in6 *s6 = (void *)ss;
		size_t hl = strlen(host);

		if (hl < 3 || host[hl - 1] != ']')
			return false;
		host[hl - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof *s6;
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1;
	}
	struct sockaddr_in *s4 = (void *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*len = sizeof *s4;
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1;
}

static bool parse_rate(const char *text, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(text, &end);
	return !errno && end != text && !*end && *out >= 0 && *out <= 1;
}

static bool parse_ms(const char *text, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(text, &end);
	return !errno && end != text && !*end && *out >= 0 && *out <= 60000;
}

static int usage(const char *why)
{
	fprintf(stderr, "impair: %s\n"
		"usage: impair [-l LOSS] [-d DUP] [-D DELAY-MS] [-j JITTER-MS] [-r REORDER] [-w WINDOW-MS]\n"
		"              [-s SEED] A-LISTEN A-PEER B-LISTEN B-PEER\n", why);
	return 2;
}

static int open_side(struct side *s, const char *listen_text, const char *peer_text)
{
	struct sockaddr_storage local;
	socklen_t local_len;
	int buf = 4 << 20;

	if (!parse_addr(listen_text, &local, &local_len))
		return usage("bad listen address");
	if (!parse_addr(peer_text, &s->peer, &s->peer_len))
		return usage("bad peer address");
	s->fd = socket(local.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&local, local_len) < 0) {
		fprintf(stderr, "impair: %s: %s\n", listen_text, strerror(errno));
		return 1;
	}
	/* bigger buffers than the default keep bursts from being lost here */
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long seed = 1;
	int opt, rc;
	char *end;

	g.window_ms = 10;
	while ((opt = getopt(argc, argv, "l:d:D:j:r:w:s:")) != -1) {
		bool good;

		switch (opt) {
		case 'l': good = parse_rate(optarg, &g.loss); break;
		case 'd': good = parse_rate(optarg, &g.dup); break;
		case 'r': good = parse_rate(optarg, &g.reorder); break;
		case 'D': good = parse_ms(optarg, &g.delay_ms); break;
		case 'j': good = parse_ms(optarg, &g.jitter_ms); break;
		case 'w': good = parse_ms(optarg, &g.window_ms) && g.window_ms >= 1; break;
		case 's':
			errno = 0;
			seed = strtoul(optarg, &end, 10);
			good = !errno && end != optarg && !*end;
			break;
		default: return usage("unknown option");
		}
		if (!good)
			return usage("bad value for an option (rates 0..1, times 0..60000 ms)");
	}
	if (argc - optind != 4)
		return usage("needs A-LISTEN A-PEER B-LISTEN B-PEER");
	g.rng[0] = 0x330e;
	g.rng[1] = (unsigned short)seed;
	g.rng[2] = (unsigned short)(seed >> 16);
	if ((rc = open_side(&g.side[0], argv[optind], argv[optind + 1])) ||
	    (rc = open_side(&g.side[1], argv[optind + 2], argv[optind + 3])))
		return rc;

	struct ev_loop *loop = EV_DEFAULT;
	ev_signal term, intr, usr1;

	for (int i = 0; i < 2; i++) {
		ev_io_init(&g.side[i].io, on_datagram, g.side[i].fd, EV_READ);
		g.side[i].io.data = &g.side[i];
		ev_io_start(loop, &g.side[i].io);
	}
	ev_timer_init(&g.timer, release_due, 0, 0);
	ev_signal_init(&term, on_exit_signal, SIGTERM);
	ev_signal_init(&intr, on_exit_signal, SIGINT);
	ev_signal_init(&usr1, on_usr1, SIGUSR1);
	ev_signal_start(loop, &term);
	ev_signal_start(loop, &intr);
	ev_signal_start(loop, &usr1);
	fprintf(stderr, "impair: forwarding, loss %g dup %g delay %g ms jitter %g ms reorder %g within %g ms, seed %lu\n",
		g.loss, g.dup, g.delay_ms, g.jitter_ms, g.reorder, g.window_ms, seed);
	ev_run(loop, 0);

	print_counters();
	while (g.n_held > 0)
		free(heap_pop().data);
	for (int i = 0; i < 2; i++)
		close(g.side[i].fd);
	ev_loop_destroy(loop);
	return 0;
}
