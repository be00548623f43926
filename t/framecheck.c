/* framecheck: send frames of every size on an Ethernet interface, and
 * check on another that every one arrived byte for byte.
 *
 *   framecheck send IFACE DST-MAC [options]
 *   framecheck recv IFACE SRC-MAC TIMEOUT [options]
 *
 * Twelve kinds: IPv4 TCP, UDP and ICMP echo, IPv6 TCP, UDP and ICMPv6
 * echo, each untagged and with an IEEE 802.1Q tag.  Every frame is a
 * function of its kind and length alone, so the receiver regenerates what
 * it should have got.  The kind and the length ride in the headers (TCP
 * and UDP ports 0x7a70 + kind -> length, ICMP identifier 0x7a70 + kind and
 * sequence number = length), where even the smallest frame has room; the
 * payload is filler drawn from a generator seeded with both.  Source and
 * destination addresses are 198.19.254.1 -> 198.19.254.2 and
 * fd00:7a74:fc::1 -> fd00:7a74:fc::2: addresses no host of a test owns,
 * so a receiving kernel that does not forward drops them without an answer.
 * Checksums (IPv4 header, TCP, UDP, ICMP, ICMPv6) are correct; TCP
 * sequence numbers are drawn from the same generator, so no two segments
 * continue each other, and each length is a flow of its own (its port):
 * nothing can coalesce them.
 *
 * Each kind runs from the smallest frame that holds its headers (at least
 * --min, default 60) to --max (default 2814: an MTU of 2800 plus the
 * Ethernet header) untagged, and to --max-tagged (default --max + 4)
 * tagged.  Linux's AF_PACKET sends frames up to the device's MTU plus the
 * Ethernet header, plus 4 when the frame carries an 802.1Q tag.
 *
 * The receiver captures with AF_PACKET (the kernel hands a received tag
 * beside the frame; it is put back in place), counts frames from SRC-MAC
 * that parse as one of ours, and prints one line per kind:
 *
 *   ipv4-tcp 60..2814: 2755/2755 intact, 0 corrupted, 0 missing, 0 duplicates
 *
 * then the first missing lengths and the first corruptions.  The sender
 * paces itself (--pause-every, --pause-us), or with --progress FILE keeps
 * at most --window frames ahead of what the receiver has taken, which the
 * receiver writes to FILE.  The receiver exits 0 when every frame arrived
 * intact (with --absent: when none arrived at all), 1 otherwise; either
 * exits 2 on a usage or system error. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FC_KINDS 12
#define FC_BASE_KINDS 6
#define FC_PORT 0x7a70
#define FC_MAX_FRAME 10040
#define FC_SHOW 10

enum { FC_TCP, FC_UDP, FC_ICMP };

struct fc_opts {
	unsigned min, max, min_tagged, max_tagged, vid;
	unsigned pause_every, pause_us, window;
	bool absent, quiet;
	const char *ready, *progress;
	bool kinds[FC_KINDS];
};

static const char *const fc_names[FC_BASE_KINDS] = {
	"ipv4-tcp", "ipv4-udp", "ipv4-icmp", "ipv6-tcp", "ipv6-udp", "ipv6-icmp",
};

static bool fc_v6(unsigned kind) { return kind % FC_BASE_KINDS >= 3; }
static unsigned fc_proto(unsigned kind) { return kind % 3; }
static bool fc_tagged(unsigned kind) { return kind >= FC_BASE_KINDS; }

static void fc_name(unsigned kind, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s", fc_names[kind % FC_BASE_KINDS], fc_tagged(kind) ? "+vlan" : "");
}

/* Ethernet (and tag), IP and transport headers. */
static unsigned fc_hlen(unsigned kind)
{
	static const unsigned l4[] = { 20, 8, 8 };

	return 14 + (fc_tagged(kind) ? 4 : 0) + (fc_v6(kind) ? 40 : 20) + l4[fc_proto(kind)];
}

static unsigned fc_lo(const struct fc_opts *o, unsigned kind)
{
	unsigned lo = fc_tagged(kind) ? o->min_tagged : o->min;

	return lo < fc_hlen(kind) ? fc_hlen(kind) : lo;
}

static unsigned fc_hi(const struct fc_opts *o, unsigned kind)
{
	return fc_tagged(kind) ? o->max_tagged : o->max;
}

/* splitmix64: the frame's filler, sequence numbers and IDs */
static uint64_t fc_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fc_put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void fc_put32(uint8_t *p, uint32_t v) { fc_put16(p, v >> 16); fc_put16(p + 2, v & 0xffff); }

static uint32_t fc_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

static unsigned fc_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static const uint8_t fc_src4[4] = { 198, 19, 254, 1 }, fc_dst4[4] = { 198, 19, 254, 2 };
static const uint8_t fc_src6[16] = { 0xfd, 0, 0x7a, 0x74, 0, 0xfc, [15] = 1 };
static const uint8_t fc_dst6[16] = { 0xfd, 0, 0x7a, 0x74, 0, 0xfc, [15] = 2 };

/* Writes the frame of this kind and length (at least fc_hlen) to f. */
static void fc_build(uint8_t *f, unsigned kind, unsigned len, const uint8_t dst[6], const uint8_t src[6],
		     unsigned vid)
{
	uint64_t seed = (uint64_t)kind << 32 | len, r = fc_next(&seed);
	unsigned at = 12, ip, l4, l4len, proto, sum;
	uint32_t pseudo;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (fc_tagged(kind)) {
		fc_put16(f + at, 0x8100);
		fc_put16(f + at + 2, vid);
		at += 4;
	}
	fc_put16(f + at, fc_v6(kind) ? 0x86dd : 0x0800);
	ip = at + 2;
	proto = fc_proto(kind) == FC_TCP ? 6 : fc_proto(kind) == FC_UDP ? 17 : fc_v6(kind) ? 58 : 1;
	if (fc_v6(kind)) {
		l4 = ip + 40;
		l4len = len - l4;
		fc_put32(f + ip, 0x60000000 | (uint32_t)(r & 0xfffff));
		fc_put16(f + ip + 4, l4len);
		f[ip + 6] = (uint8_t)proto;
		f[ip + 7] = 64;
		memcpy(f + ip + 8, fc_src6, 16);
		memcpy(f + ip + 24, fc_dst6, 16);
		pseudo = fc_sum(0, f + ip + 8, 32) + l4len + proto;
	} else {
		l4 = ip + 20;
		l4len = len - l4;
		f[ip] = 0x45;
		f[ip + 1] = 0;
		fc_put16(f + ip + 2, len - ip);
		fc_put16(f + ip + 4, (unsigned)(r >> 32) & 0xffff);
		fc_put16(f + ip + 6, 0x4000);   /* DF */
		f[ip + 8] = 64;
		f[ip + 9] = (uint8_t)proto;
		fc_put16(f + ip + 10, 0);
		memcpy(f + ip + 12, fc_src4, 4);
		memcpy(f + ip + 16, fc_dst4, 4);
		fc_put16(f + ip + 10, fc_fold(fc_sum(0, f + ip, 20)));
		pseudo = fc_sum(0, f + ip + 12, 8) + l4len + proto;
	}
	/* the transport header, its checksum zero for now */
	if (fc_proto(kind) == FC_ICMP) {
		f[l4] = fc_v6(kind) ? 128 : 8;
		f[l4 + 1] = 0;
		fc_put16(f + l4 + 2, 0);
		fc_put16(f + l4 + 4, FC_PORT + kind);
		fc_put16(f + l4 + 6, len);
		if (!fc_v6(kind))
			pseudo = 0;   /* ICMPv4 sums only itself */
	} else {
		fc_put16(f + l4, FC_PORT + kind);
		fc_put16(f + l4 + 2, len);
	}
	if (fc_proto(kind) == FC_TCP) {
		fc_put32(f + l4 + 4, (uint32_t)fc_next(&seed));    /* sequence */
		fc_put32(f + l4 + 8, (uint32_t)fc_next(&seed));    /* acknowledgement */
		f[l4 + 12] = 5 << 4;
		f[l4 + 13] = 0x18;                                  /* PSH, ACK */
		fc_put16(f + l4 + 14, 65535);
		fc_put16(f + l4 + 16, 0);
		fc_put16(f + l4 + 18, 0);
	} else if (fc_proto(kind) == FC_UDP) {
		fc_put16(f + l4 + 4, l4len);
		fc_put16(f + l4 + 6, 0);
	}
	for (unsigned i = fc_hlen(kind); i < len; i += 8) {
		uint64_t v = fc_next(&seed);

		for (unsigned k = 0; k < 8 && i + k < len; k++)
			f[i + k] = (uint8_t)(v >> (8 * k));
	}
	sum = fc_fold(fc_sum(pseudo, f + l4, l4len));
	if (fc_proto(kind) == FC_UDP && sum == 0)
		sum = 0xffff;
	fc_put16(f + l4 + (fc_proto(kind) == FC_TCP ? 16 : fc_proto(kind) == FC_UDP ? 6 : 2), sum);
}

/* The kind and length a captured frame claims, or -1 if it is not ours. */
static int fc_parse(const uint8_t *f, size_t len, unsigned *kind, unsigned *flen)
{
	unsigned at = 12, k = 0, type, proto, ident;
	const uint8_t *l4;

	if (len < 14)
		return -1;
	type = (unsigned)(f[at] << 8 | f[at + 1]);
	if (type == 0x8100) {
		if (len < 18)
			return -1;
		k = FC_BASE_KINDS;
		at += 4;
		type = (unsigned)(f[at] << 8 | f[at + 1]);
	}
	at += 2;
	if (type == 0x0800) {
		if (len < at + 28 || f[at] != 0x45 || memcmp(f + at + 12, fc_src4, 4) != 0 ||
		    memcmp(f + at + 16, fc_dst4, 4) != 0)
			return -1;
		proto = f[at + 9];
		l4 = f + at + 20;
		k += proto == 6 ? 0 : proto == 17 ? 1 : proto == 1 ? 2 : 99;
	} else if (type == 0x86dd) {
		if (len < at + 48 || (f[at] >> 4) != 6 || memcmp(f + at + 8, fc_src6, 16) != 0 ||
		    memcmp(f + at + 24, fc_dst6, 16) != 0)
			return -1;
		proto = f[at + 6];
		l4 = f + at + 40;
		k += proto == 6 ? 3 : proto == 17 ? 4 : proto == 58 ? 5 : 99;
	} else {
		return -1;
	}
	if (k >= FC_KINDS)
		return -1;
	ident = fc_proto(k) == FC_ICMP ? (unsigned)(l4[4] << 8 | l4[5]) : (unsigned)(l4[0] << 8 | l4[1]);
	if (ident != FC_PORT + k)
		return -1;
	*kind = k;
	*flen = fc_proto(k) == FC_ICMP ? (unsigned)(l4[6] << 8 | l4[7]) : (unsigned)(l4[2] << 8 | l4[3]);
	return 0;
}

static int fc_mac(const char *s, uint8_t mac[6])
{
	unsigned m[6];
	char extra;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &extra) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (m[i] > 0xff)
			return -1;
		mac[i] = (uint8_t)m[i];
	}
	return 0;
}

/* A raw socket bound to the interface; its index and MAC. */
static int fc_socket(const char *iface, int proto, int *ifindex, uint8_t mac[6])
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = (uint16_t)proto };
	struct ifreq ifr = { 0 };
	int fd = socket(AF_PACKET, SOCK_RAW, proto);

	if (fd < 0) {
		fprintf(stderr, "framecheck: socket: %s\n", strerror(errno));
		return -1;
	}
	if (strlen(iface) >= sizeof ifr.ifr_name) {
		fprintf(stderr, "framecheck: %s: name too long\n", iface);
		goto fail;
	}
	strcpy(ifr.ifr_name, iface);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		fprintf(stderr, "framecheck: %s: %s\n", iface, strerror(errno));
		goto fail;
	}
	*ifindex = sll.sll_ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		fprintf(stderr, "framecheck: %s: MAC: %s\n", iface, strerror(errno));
		goto fail;
	}
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
		fprintf(stderr, "framecheck: bind %s: %s\n", iface, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static double fc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Flow control through a file both sides see: the receiver writes how many
 * of our frames it has taken, the sender keeps at most --window frames
 * ahead of that.  A lost frame must not stall the sender: after 200 ms
 * without progress it goes on. */
static unsigned long fc_progress_read(int fd)
{
	char buf[24] = "";

	if (pread(fd, buf, sizeof buf - 1, 0) <= 0)
		return 0;
	return strtoul(buf, NULL, 10);
}

static void fc_progress_write(int fd, unsigned long n)
{
	char buf[24];
	int len = snprintf(buf, sizeof buf, "%20lu\n", n);

	if (fd >= 0 && pwrite(fd, buf, (size_t)len, 0) != len)
		fprintf(stderr, "framecheck: progress: %s\n", strerror(errno));
}

static void fc_window_wait(int fd, unsigned long sent, unsigned window)
{
	unsigned long got = fc_progress_read(fd), last = got;
	double since = fc_now();

	while (sent > got + window && fc_now() - since < 0.2) {
		usleep(100);
		got = fc_progress_read(fd);
		if (got != last) {
			last = got;
			since = fc_now();
		}
	}
}

static int fc_send(const char *iface, const uint8_t dst[6], const struct fc_opts *o)
{
	static uint8_t f[FC_MAX_FRAME];
	uint8_t src[6];
	int ifindex, fd = fc_socket(iface, 0, &ifindex, src);
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = 6 };
	unsigned long sent = 0, failed = 0;
	unsigned hi = 0, lo = ~0u;
	int pfd = -1;

	if (fd < 0)
		return 2;
	if (o->progress && (pfd = open(o->progress, O_RDONLY | O_CREAT, 0644)) < 0) {
		fprintf(stderr, "framecheck: %s: %s\n", o->progress, strerror(errno));
		close(fd);
		return 2;
	}
	to.sll_ifindex = ifindex;
	memcpy(to.sll_addr, dst, 6);
	/* sizes outermost: each kind's frames interleave with the others' */
	for (unsigned k = 0; k < FC_KINDS; k++) {
		if (o->kinds[k] && fc_hi(o, k) > hi)
			hi = fc_hi(o, k);
		if (o->kinds[k] && fc_lo(o, k) < lo)
			lo = fc_lo(o, k);
	}
	for (unsigned len = lo; len <= hi; len++) {
		for (unsigned k = 0; k < FC_KINDS; k++) {
			ssize_t w;

			if (!o->kinds[k] || len < fc_lo(o, k) || len > fc_hi(o, k))
				continue;
			fc_build(f, k, len, dst, src, o->vid);
			for (int tries = 0;; tries++) {
				w = sendto(fd, f, len, 0, (struct sockaddr *)&to, sizeof to);
				if (w >= 0 || (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) || tries == 100)
					break;
				usleep(1000);
			}
			if (w != (ssize_t)len) {
				char name[32];

				fc_name(k, name, sizeof name);
				if (failed++ < FC_SHOW)
					fprintf(stderr, "framecheck: send %s of %u bytes: %s\n", name, len,
						w < 0 ? strerror(errno) : "short write");
				continue;
			}
			if (++sent % o->pause_every == 0 && o->pause_us)
				usleep(o->pause_us);
			if (pfd >= 0 && sent % 16 == 0)
				fc_window_wait(pfd, sent, o->window);
		}
	}
	close(fd);
	if (pfd >= 0)
		close(pfd);
	if (!o->quiet)
		printf("sent %lu frames, %lu failed\n", sent, failed);
	return failed ? 1 : 0;
}

struct fc_kind_stats {
	unsigned intact, corrupted, dups;
	unsigned char *seen;   /* per length: 0 none, 1 intact, 2 corrupted */
};

static int fc_recv(const char *iface, const uint8_t from[6], double timeout, const struct fc_opts *o)
{
	static uint8_t f[65536 + 4], want[FC_MAX_FRAME];
	struct fc_kind_stats st[FC_KINDS] = { 0 };
	uint8_t own[6];
	int ifindex, fd = fc_socket(iface, htons(ETH_P_ALL), &ifindex, own), one = 1, buf = 64 << 20, rc = 0;
	unsigned long expected = 0, done = 0, others = 0, taken = 0;
	int pfd = -1;
	char bad[FC_SHOW][128];
	unsigned n_bad = 0;
	double end = fc_now() + timeout;

	if (fd < 0)
		return 2;
	if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0 ||
	    (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) < 0 &&
	     setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf) < 0)) {
		fprintf(stderr, "framecheck: setsockopt: %s\n", strerror(errno));
		close(fd);
		return 2;
	}
	for (unsigned k = 0; k < FC_KINDS; k++) {
		if (!o->kinds[k])
			continue;
		st[k].seen = calloc(FC_MAX_FRAME + 1, 1);
		if (!st[k].seen) {
			fprintf(stderr, "framecheck: %s\n", strerror(ENOMEM));
			rc = 2;
			goto out;
		}
		if (fc_hi(o, k) >= fc_lo(o, k))
			expected += fc_hi(o, k) - fc_lo(o, k) + 1;
	}
	if (o->progress && (pfd = open(o->progress, O_RDWR | O_CREAT | O_TRUNC, 0644)) < 0) {
		fprintf(stderr, "framecheck: %s: %s\n", o->progress, strerror(errno));
		rc = 2;
		goto out;
	}
	fc_progress_write(pfd, 0);
	if (o->ready) {
		FILE *r = fopen(o->ready, "w");

		if (!r || fclose(r) != 0) {
			fprintf(stderr, "framecheck: %s: %s\n", o->ready, strerror(errno));
			rc = 2;
			goto out;
		}
	}
	/* until everything came (or, for --absent, the time is up) */
	while ((o->absent || done < expected) && fc_now() < end) {
		union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))]; } cbuf;
		struct sockaddr_ll sll;
		struct iovec iov = { f + 4, sizeof f - 4 };
		struct msghdr m = { .msg_name = &sll, .msg_namelen = sizeof sll, .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = &cbuf, .msg_controllen = sizeof cbuf };
		struct pollfd p = { fd, POLLIN, 0 };
		uint8_t *fr = f + 4;
		unsigned kind, flen;
		ssize_t r;
		size_t len;

		if (poll(&p, 1, (int)((end - fc_now()) * 1000) + 1) <= 0)
			continue;
		r = recvmsg(fd, &m, MSG_DONTWAIT | MSG_TRUNC);
		if (r < 0)
			continue;
		if (sll.sll_pkttype == PACKET_OUTGOING || r < 14 || memcmp(fr + 6, from, 6) != 0)
			continue;
		len = (size_t)r < sizeof f - 4 ? (size_t)r : sizeof f - 4;
		/* the kernel took the tag off: put it back */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			struct tpacket_auxdata a;

			if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
				continue;
			memcpy(&a, CMSG_DATA(c), sizeof a);
			if (!(a.tp_status & TP_STATUS_VLAN_VALID))
				continue;
			memmove(f, f + 4, 12);
			fr = f;
			fc_put16(fr + 12, a.tp_status & TP_STATUS_VLAN_TPID_VALID ? a.tp_vlan_tpid : 0x8100);
			fc_put16(fr + 14, a.tp_vlan_tci);
			len += 4;
		}
		if (fc_parse(fr, len, &kind, &flen) < 0 || !o->kinds[kind] || flen < fc_lo(o, kind) ||
		    flen > fc_hi(o, kind)) {
			others++;
			continue;
		}
		if (++taken % 16 == 0)
			fc_progress_write(pfd, taken);
		if (st[kind].seen[flen]) {
			st[kind].dups++;
			continue;
		}
		fc_build(want, kind, flen, own, from, o->vid);
		done++;
		if (len == flen && memcmp(fr, want, len) == 0) {
			st[kind].seen[flen] = 1;
			st[kind].intact++;
		} else {
			size_t at = 0;
			char name[32];

			while (at < len && at < flen && fr[at] == want[at])
				at++;
			st[kind].seen[flen] = 2;
			st[kind].corrupted++;
			fc_name(kind, name, sizeof name);
			if (n_bad < FC_SHOW)
				snprintf(bad[n_bad++], sizeof bad[0], "%s %u: got %zu bytes, first difference at byte %zu",
					 name, flen, len, at);
		}
	}
	for (unsigned k = 0; k < FC_KINDS; k++) {
		unsigned lo = fc_lo(o, k), hi = fc_hi(o, k), missing = 0, shown = 0;
		char name[32], list[FC_SHOW * 7 + 8] = "";

		if (!o->kinds[k])
			continue;
		for (unsigned l = lo; l <= hi; l++) {
			if (st[k].seen[l])
				continue;
			if (shown++ < FC_SHOW)
				snprintf(list + strlen(list), sizeof list - strlen(list), " %u", l);
			missing++;
		}
		if (missing > FC_SHOW)
			snprintf(list + strlen(list), sizeof list - strlen(list), " ...");
		fc_name(k, name, sizeof name);
		printf("%s %u..%u: %u/%u intact, %u corrupted, %u missing, %u duplicates\n", name, lo, hi,
		       st[k].intact, hi >= lo ? hi - lo + 1 : 0, st[k].corrupted, missing, st[k].dups);
		if (missing && !o->absent)
			printf("  %s missing:%s\n", name, list);
		if (o->absent ? st[k].intact + st[k].corrupted + st[k].dups > 0
			      : missing || st[k].corrupted || st[k].dups)
			rc = 1;
	}
	for (unsigned i = 0; i < n_bad; i++)
		printf("  corrupted: %s\n", bad[i]);
	if (!o->quiet)
		printf("other frames from the source: %lu\n", others);
out:
	for (unsigned k = 0; k < FC_KINDS; k++)
		free(st[k].seen);
	if (pfd >= 0)
		close(pfd);
	close(fd);
	return rc;
}

static void fc_usage(FILE *out)
{
	fprintf(out,
		"usage: framecheck send IFACE DST-MAC [options]\n"
		"       framecheck recv IFACE SRC-MAC TIMEOUT [options]\n"
		"\n"
		"Sends, or receives and checks byte for byte, Ethernet frames of every\n"
		"length: IPv4 and IPv6 TCP, UDP and ICMP echo, untagged and 802.1Q-tagged.\n"
		"recv exits 0 once every expected frame arrived intact, 1 if any is\n"
		"missing, corrupted or duplicated when TIMEOUT seconds are up.\n"
		"\n"
		"options (give the receiver the sender's):\n"
		"  --min N           shortest frame, untagged (default 60)\n"
		"  --max N           longest frame, untagged (default 2814)\n"
		"  --min-tagged N    shortest tagged frame (default --min)\n"
		"  --max-tagged N    longest tagged frame (default --max + 4)\n"
		"  --vid N           VLAN ID of the tagged kinds (default 5)\n"
		"  --kinds LIST      comma-separated kinds (default all): ipv4-tcp, ipv4-udp,\n"
		"                    ipv4-icmp, ipv6-tcp, ipv6-udp, ipv6-icmp, each also\n"
		"                    with +vlan; 'untagged', 'tagged'\n"
		"  --pause-every N   send: pause after every N frames (default 32)\n"
		"  --pause-us N      send: pause this many microseconds (default 1000)\n"
		"  --progress FILE   flow control: recv writes to FILE how many frames it\n"
		"                    took, send stays at most --window frames ahead\n"
		"  --window N        send: frames in flight with --progress (default 256)\n"
		"  --ready FILE      recv: create FILE once capturing\n"
		"  --absent          recv: succeed only if no frame arrived\n"
		"  --quiet           print only the per-kind lines\n");
}

static int fc_uint(const char *s, unsigned max, unsigned *v)
{
	char *end;
	unsigned long u;

	errno = 0;
	u = strtoul(s, &end, 10);
	if (errno || end == s || *end || u > max || s[0] == '-')
		return -1;
	*v = (unsigned)u;
	return 0;
}

static int fc_kinds(const char *list, bool kinds[FC_KINDS])
{
	char *copy = strdup(list), *save = NULL;
	int rc = 0;

	if (!copy)
		return -1;
	memset(kinds, 0, FC_KINDS * sizeof kinds[0]);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool found = false;

		for (unsigned k = 0; k < FC_KINDS; k++) {
			char name[32];

			fc_name(k, name, sizeof name);
			if (strcmp(t, name) == 0 || (strcmp(t, "untagged") == 0 && !fc_tagged(k)) ||
			    (strcmp(t, "tagged") == 0 && fc_tagged(k)) || strcmp(t, "all") == 0)
				kinds[k] = found = true;
		}
		if (!found) {
			fprintf(stderr, "framecheck: unknown kind '%s'\n", t);
			rc = -1;
		}
	}
	free(copy);
	return rc;
}

int main(int argc, char **argv)
{
	struct fc_opts o = { .min = 60, .max = 2814, .min_tagged = ~0u, .max_tagged = ~0u, .vid = 5,
			     .pause_every = 32, .pause_us = 1000, .window = 256 };
	bool recv;
	unsigned fixed, timeout = 0;
	uint8_t mac[6];

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fc_usage(stdout);
		return 0;
	}
	if (argc < 2 || (strcmp(argv[1], "send") != 0 && strcmp(argv[1], "recv") != 0)) {
		fc_usage(stderr);
		return 2;
	}
	recv = strcmp(argv[1], "recv") == 0;
	fixed = recv ? 5 : 4;
	if ((unsigned)argc < fixed) {
		fprintf(stderr, "framecheck: %s needs IFACE %s\n", argv[1], recv ? "SRC-MAC TIMEOUT" : "DST-MAC");
		fc_usage(stderr);
		return 2;
	}
	if (fc_mac(argv[3], mac) < 0) {
		fprintf(stderr, "framecheck: '%s': not a MAC address\n", argv[3]);
		return 2;
	}
	if (recv && fc_uint(argv[4], 3600, &timeout) < 0) {
		fprintf(stderr, "framecheck: '%s': not a number of seconds\n", argv[4]);
		return 2;
	}
	for (unsigned k = 0; k < FC_KINDS; k++)
		o.kinds[k] = true;
	for (int i = (int)fixed; i < argc; i++) {
		static const struct { const char *name; unsigned *v, max; } nums[] = {
			{ "--min", NULL, FC_MAX_FRAME }, { "--max", NULL, FC_MAX_FRAME - 4 },
			{ "--min-tagged", NULL, FC_MAX_FRAME }, { "--max-tagged", NULL, FC_MAX_FRAME },
			{ "--vid", NULL, 4095 }, { "--pause-every", NULL, 1u << 30 }, { "--pause-us", NULL, 1000000 },
			{ "--window", NULL, 1u << 20 },
		};
		unsigned *vals[] = { &o.min, &o.max, &o.min_tagged, &o.max_tagged, &o.vid, &o.pause_every,
				     &o.pause_us, &o.window };
		const char *a = argv[i];
		bool known = false;

		for (unsigned n = 0; n < sizeof nums / sizeof nums[0]; n++) {
			if (strcmp(a, nums[n].name) != 0)
				continue;
			known = true;
			if (i + 1 >= argc || fc_uint(argv[i + 1], nums[n].max, vals[n]) < 0) {
				fprintf(stderr, "framecheck: %s needs a number up to %u\n", a, nums[n].max);
				return 2;
			}
			i++;
		}
		if (known)
			continue;
		if (strcmp(a, "--kinds") == 0 && i + 1 < argc) {
			if (fc_kinds(argv[++i], o.kinds) < 0)
				return 2;
		} else if (strcmp(a, "--progress") == 0 && i + 1 < argc) {
			o.progress = argv[++i];
		} else if (strcmp(a, "--ready") == 0 && i + 1 < argc && recv) {
			o.ready = argv[++i];
		} else if (strcmp(a, "--absent") == 0 && recv) {
			o.absent = true;
		} else if (strcmp(a, "--quiet") == 0) {
			o.quiet = true;
		} else {
			fprintf(stderr, "framecheck: %s: unknown option '%s'\n", argv[1], a);
			fc_usage(stderr);
			return 2;
		}
	}
	if (o.min_tagged == ~0u)
		o.min_tagged = o.min;
	if (o.max_tagged == ~0u)
		o.max_tagged = o.max + 4;
	if (o.pause_every == 0)
		o.pause_every = 1;
	return recv ? fc_recv(argv[2], mac, timeout, &o) : fc_send(argv[2], mac, &o);
}
