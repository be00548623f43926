/* The pcap iface, loaded through the kernel: frames read from a pcap file
 * reach the sink in order, frames sent to the host land in a pcap file
 * that libpcap reads back, and bad settings give clear errors. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <pcap/pcap.h>
#include <zt/kernel.h>

#include "tap.h"

#define NFRAMES 20
#define MAXSEEN 64

static struct ev_loop *loop;
static struct zt_kernel *k;
static char dir[256];

/* ---- fixtures ---- */

static uint8_t frames[NFRAMES][1514];
static size_t lens[NFRAMES];

/* An Ethernet frame between two locally administered MACs, its payload
 * numbered so that order and content can be checked. */
static size_t make_frame(uint8_t *f, unsigned i, size_t len, unsigned type)
{
	static const uint8_t dst[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
	static const uint8_t src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = type >> 8;
	f[13] = type & 0xff;
	for (size_t j = 14; j < len; j++)
		f[j] = (uint8_t)(i * 7 + j);
	return len;
}

static void path_in(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* in.pcap: NFRAMES good frames with a short and a truncated record among
 * them, which the module must skip. */
static void write_fixture(const char *path)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = dead ? pcap_dump_open(dead, path) : NULL;
	struct pcap_pkthdr h;
	uint8_t junk[64] = { 0 };

	if (!d)
		bail("cannot write %s", path);
	for (unsigned i = 0; i < NFRAMES; i++) {
		lens[i] = make_frame(frames[i], i, 60 + (i * 97) % 1455, 0x0800);
		h.ts.tv_sec = 1700000000 + i;
		h.ts.tv_usec = i;
		h.caplen = h.len = (bpf_u_int32)lens[i];
		pcap_dump((u_char *)d, &h, frames[i]);
		if (i == 5) {   /* shorter than an Ethernet header */
			h.caplen = h.len = 10;
			pcap_dump((u_char *)d, &h, junk);
		}
		if (i == 11) {  /* captured with a short snaplen */
			h.caplen = 40;
			h.len = 400;
			pcap_dump((u_char *)d, &h, frames[i]);
		}
	}
	pcap_dump_close(d);
	pcap_close(dead);
}

/* A pcap file of another link type. */
static void write_raw_ip(const char *path)
{
	pcap_t *dead = pcap_open_dead(DLT_RAW, 65535);
	pcap_dumper_t *d = dead ? pcap_dump_open(dead, path) : NULL;
	struct pcap_pkthdr h = { .caplen = 20, .len = 20 };
	uint8_t ip[20] = { 0x45 };

	if (!d)
		bail("cannot write %s", path);
	pcap_dump((u_char *)d, &h, ip);
	pcap_dump_close(d);
	pcap_close(dead);
}

/* ---- the sink and the loop ---- */

struct seen {
	unsigned n, calls, largest;
	size_t len[MAXSEEN];
	uint8_t data[MAXSEEN][1600];
};

static void sink(void *ctx, struct zt_inst *from, struct zt_frame *f, unsigned n)
{
	struct seen *s = ctx;

	s->calls++;
	if (n > s->largest)
		s->largest = n;
	for (unsigned i = 0; i < n && s->n < MAXSEEN; i++, s->n++) {
		s->len[s->n] = f[i].len;
		memcpy(s->data[s->n], f[i].data, f[i].len < 1600 ? f[i].len : 1600);
	}
}

static void on_timeout(struct ev_loop *l, ev_timer *w, int revents)
{
	*(int *)w->data = 1;
}

/* Run the loop until the sink holds want frames or secs passed. */
static int run_until(const struct seen *s, unsigned want, double secs)
{
	ev_timer t;
	int expired = 0;

	ev_timer_init(&t, on_timeout, secs, 0.);
	t.data = &expired;
	ev_timer_start(loop, &t);
	while (s->n < want && !expired)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	return s->n >= want;
}

/* ---- capturing what the kernel logs to stderr ---- */

static int cap_fd = -1, cap_saved = -1;

static void capture_begin(void)
{
	char tmpl[300];

	snprintf(tmpl, sizeof tmpl, "%s/log-XXXXXX", dir);
	cap_fd = mkstemp(tmpl);
	if (cap_fd < 0)
		bail("mkstemp: %s", strerror(errno));
	unlink(tmpl);
	fflush(stderr);
	cap_saved = dup(2);
	dup2(cap_fd, 2);
}

static void capture_end(char *out, size_t len)
{
	ssize_t got;

	fflush(stderr);
	dup2(cap_saved, 2);
	close(cap_saved);
	lseek(cap_fd, 0, SEEK_SET);
	got = read(cap_fd, out, len - 1);
	if (got < 0)
		got = 0;
	while (got > 0 && out[got - 1] == '\n')
		got--;
	out[got] = 0;
	close(cap_fd);
}

/* ---- helpers ---- */

static struct zt_inst *instance(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static struct zt_inst *instance(char *err, size_t errlen, const char *fmt, ...)
{
	char yaml[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(yaml, sizeof yaml, fmt, ap);
	va_end(ap);
	return zt_kernel_instance(k, ZT_IFACE, yaml, err, errlen);
}

static int conf_error(const char *err, const char *what)
{
	unsigned line, col;
	char file[64];

	return sscanf(err, "%63[^:]:%u:%u: ", file, &line, &col) == 3 && strstr(err, what);
}

static void refused(const char *yaml, const char *what, const char *name)
{
	char err[512] = "", label[256];
	struct zt_inst *zi = zt_kernel_instance(k, ZT_IFACE, yaml, err, sizeof err);

	snprintf(label, sizeof label, "%s: refused", name);
	ok(zi == NULL, label);
	snprintf(label, sizeof label, "%s: message names %s", name, what);
	ok(conf_error(err, what), label);
	diag("%s", err);
}

static const struct zt_iface_ops *ops_of(struct zt_inst *zi)
{
	return zt_inst_module(zi)->ops.iface;
}

/* ---- the tests ---- */

static void test_options(const char *in, const char *out)
{
	char yaml[1024], err[512] = "", missing[300];

	refused("{ use: pcap }", "needs 'read', 'write' or both", "no file");
	refused("{ use: pcap, write: '' }", "write", "empty write");
	path_in(missing, sizeof missing, "no-such.pcap");
	snprintf(yaml, sizeof yaml, "{ use: pcap, read: '%s' }", missing);
	ok(zt_kernel_instance(k, ZT_IFACE, yaml, err, sizeof err) == NULL, "missing read file: refused");
	ok(conf_error(err, missing) && strstr(err, strerror(ENOENT)),
	   "missing read file: message names the file and the cause");
	diag("%s", err);
	snprintf(yaml, sizeof yaml, "{ use: pcap, read: '%s', write: '%s' }", in, in);
	refused(yaml, "same file", "read and write the same file");
	snprintf(yaml, sizeof yaml, "{ use: pcap, write: '%s', snaplen: 10 }", out);
	refused(yaml, "snaplen", "snaplen: 10");
	snprintf(yaml, sizeof yaml, "{ use: pcap, write: '%s', batch: 0 }", out);
	refused(yaml, "batch", "batch: 0");
	snprintf(yaml, sizeof yaml, "{ use: pcap, write: '%s', rate: fast }", out);
	refused(yaml, "rate", "rate: fast");
}

static void test_read(const char *in)
{
	static struct seen seen;
	char err[512] = "", log[2048], want[400];
	struct zt_inst *zi = instance(err, sizeof err,
				      "{ use: pcap, instance: rd, read: '%s', batch: 4 }", in);
	unsigned i;

	if (!ok(zi != NULL, "read: created"))
		bail("%s", err);
	zt_inst_set_frame_sink(zi, sink, &seen);
	is_int(zt_inst_start(zi), 0, "read: started");
	capture_begin();
	run_until(&seen, NFRAMES + 1, 0.5);
	capture_end(log, sizeof log);
	is_int(seen.n, NFRAMES, "read: every good frame reaches the sink, nothing more");
	for (i = 0; i < NFRAMES && i < seen.n; i++)
		if (seen.len[i] != lens[i] || memcmp(seen.data[i], frames[i], lens[i]))
			break;
	is_int(i, NFRAMES, "read: frames intact and in order");
	ok(seen.largest <= 4 && seen.calls >= NFRAMES / 4, "read: handed up in batches of at most 4");
	is_int(zt_inst_counter(zi, "rx_frames"), NFRAMES, "read: counter rx_frames");
	is_int(zt_inst_counter(zi, "rx_short"), 1, "read: short record counted");
	is_int(zt_inst_counter(zi, "rx_truncated"), 1, "read: truncated record counted");
	snprintf(want, sizeof want, "rd: read %s: end of file after %u frames", in, NFRAMES);
	ok(strstr(log, want) != NULL, "read: end of file logged");
	{
		const char *at = log;
		unsigned times = 0;

		while ((at = strstr(at, "end of file"))) {
			times++;
			at++;
		}
		is_int(times, 1, "read: logged once");
	}
	diag("log: %s", log);

	/* only read: frames for the host are taken and counted */
	{
		struct zt_frame f = { frames[0], lens[0] };

		is_int(ops_of(zi)->tx(zt_inst_state(zi), &f, 1), 1, "read only: tx takes the frame");
		is_int(zt_inst_counter(zi, "tx_discarded"), 1, "read only: counted as discarded");
	}
	zt_inst_stop(zi);
	zt_inst_module(zi)->stop(zt_inst_state(zi));
	ok(1, "read: stop twice is harmless");
}

static void test_rate_loop(const char *in)
{
	static struct seen seen;
	struct zt_iface_settings set = { { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee }, 2800 };
	char err[512] = "";
	struct zt_inst *zi;
	ev_tstamp t0;

	zi = instance(err, sizeof err, "{ use: pcap, instance: slow, read: '%s', rate: 50 }", in);
	if (!ok(zi != NULL, "rate: created"))
		bail("%s", err);
	zt_inst_set_frame_sink(zi, sink, &seen);
	ev_now_update(loop);
	t0 = ev_now(loop);
	is_int(zt_inst_start(zi), 0, "rate: started");
	ok(run_until(&seen, NFRAMES, 3.0), "rate: all frames arrive");
	ev_now_update(loop);
	ok(ev_now(loop) - t0 >= 0.3, "rate: 20 frames at 50/s take at least 0.3 s");
	diag("rate: %.3f s for %u frames", ev_now(loop) - t0, seen.n);
	/* Unpaced, the 20 frames would come in one batch; a loop stalled by a
	 * busy machine may catch up a few at once, so count deliveries. */
	ok(seen.calls >= NFRAMES / 4, "rate: frames come a few at a time");
	diag("rate: %u deliveries, largest %u", seen.calls, seen.largest);
	zt_inst_stop(zi);

	memset(&seen, 0, sizeof seen);
	zi = instance(err, sizeof err,
		      "{ use: pcap, instance: looped, read: '%s', loop: true, rewrite-source: true }", in);
	if (!ok(zi != NULL, "loop: created"))
		bail("%s", err);
	zt_inst_set_frame_sink(zi, sink, &seen);
	is_int(ops_of(zi)->configure(zt_inst_state(zi), &set), 0, "loop: configured");
	is_int(zt_inst_start(zi), 0, "loop: started");
	ok(run_until(&seen, 2 * NFRAMES + 5, 3.0), "loop: the file replays");
	ok(seen.len[NFRAMES] == lens[0] && memcmp(seen.data[NFRAMES] + 12, frames[0] + 12, lens[0] - 12) == 0 &&
	   seen.len[2 * NFRAMES + 4] == lens[4] &&
	   memcmp(seen.data[2 * NFRAMES + 4] + 12, frames[4] + 12, lens[4] - 12) == 0,
	   "loop: second and third passes repeat the first");
	ok(memcmp(seen.data[3] + 6, set.mac, 6) == 0 && memcmp(seen.data[3], frames[3], 6) == 0,
	   "rewrite-source: source MAC is the port's, destination kept");
	zt_inst_stop(zi);
}

static int read_back(const char *path, struct seen *s, unsigned *caplen_ne_len)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, errbuf);
	struct pcap_pkthdr *h;
	const u_char *data;
	int dlt;

	memset(s, 0, sizeof *s);
	*caplen_ne_len = 0;
	if (!p) {
		diag("%s", errbuf);
		return -1;
	}
	dlt = pcap_datalink(p);
	while (pcap_next_ex(p, &h, &data) == 1 && s->n < MAXSEEN) {
		if (h->caplen != h->len)
			(*caplen_ne_len)++;
		s->len[s->n] = h->caplen;
		memcpy(s->data[s->n], data, h->caplen < 1600 ? h->caplen : 1600);
		s->n++;
	}
	pcap_close(p);
	return dlt;
}

static void test_write(const char *out)
{
	static struct seen back;
	static uint8_t big[4][1600];
	struct zt_iface_settings set = { { 0x02, 0, 0, 0, 0, 0x09 }, 1500 };
	struct zt_frame f[NFRAMES];
	char err[512] = "";
	struct zt_inst *zi;
	unsigned i, partial;

	zi = instance(err, sizeof err, "{ use: pcap, instance: wr, write: '%s' }", out);
	if (!ok(zi != NULL, "write: created"))
		bail("%s", err);
	is_int(zt_inst_start(zi), 0, "write: started");
	is_int(read_back(out, &back, &partial), DLT_EN10MB, "write: an Ethernet pcap file from the start");
	is_int(back.n, 0, "write: empty at first");

	for (i = 0; i < 3; i++) {
		f[i].data = frames[i];
		f[i].len = lens[i];
	}
	is_int(ops_of(zi)->tx(zt_inst_state(zi), f, 3), 3, "write: tx takes 3 frames");
	read_back(out, &back, &partial);
	is_int(back.n, 3, "write: 3 frames readable while running");
	ok(back.len[2] == lens[2] && memcmp(back.data[2], frames[2], lens[2]) == 0,
	   "write: content identical");

	/* the MTU, with and without a VLAN tag */
	is_int(ops_of(zi)->configure(zt_inst_state(zi), &set), 0, "write: configured MTU 1500");
	make_frame(big[0], 100, 1514, 0x0800);
	make_frame(big[1], 101, 1515, 0x0800);
	make_frame(big[2], 102, 1518, 0x8100);
	make_frame(big[3], 103, 1519, 0x8100);
	f[0] = (struct zt_frame){ big[0], 1514 };
	f[1] = (struct zt_frame){ big[1], 1515 };
	f[2] = (struct zt_frame){ big[2], 1518 };
	f[3] = (struct zt_frame){ big[3], 1519 };
	f[4] = (struct zt_frame){ big[0], 10 };
	is_int(ops_of(zi)->tx(zt_inst_state(zi), f, 5), 2, "write: 2 of 5 frames fit");
	is_int(zt_inst_counter(zi, "tx_oversize"), 2, "write: two oversize frames counted");
	is_int(zt_inst_counter(zi, "tx_short"), 1, "write: a short frame counted");
	is_int(zt_inst_counter(zi, "tx_frames"), 5, "write: counter tx_frames");
	zt_inst_stop(zi);
	zt_inst_module(zi)->stop(zt_inst_state(zi));

	is_int(read_back(out, &back, &partial), DLT_EN10MB, "write: closed file reads back");
	is_int(back.n, 5, "write: 5 frames in the file");
	ok(back.len[3] == 1514 && memcmp(back.data[3], big[0], 1514) == 0 &&
	   back.len[4] == 1518 && memcmp(back.data[4], big[2], 1518) == 0,
	   "write: the frames that fit, in order and whole");
	is_int(partial, 0, "write: nothing cut short");

	{
		struct zt_iface_settings tiny = { { 0 }, 10 };
		char log[512];
		int rc;

		capture_begin();
		rc = ops_of(zi)->configure(zt_inst_state(zi), &tiny);
		capture_end(log, sizeof log);
		is_int(rc, -EINVAL, "configure: MTU 10 refused");
		ok(strstr(log, "wr: mtu 10: must be between 68 and 65535") != NULL, "configure: the log says why");
	}

	/* a short snaplen records the start of long frames */
	zi = instance(err, sizeof err, "{ use: pcap, instance: snap, write: '%s', snaplen: 128 }", out);
	ok(zi && zt_inst_start(zi) == 0, "snaplen: started");
	f[0] = (struct zt_frame){ big[0], 1000 };
	if (zi)
		ops_of(zi)->tx(zt_inst_state(zi), f, 1);
	read_back(out, &back, &partial);
	ok(back.n == 1 && back.len[0] == 128 && partial == 1 && memcmp(back.data[0], big[0], 128) == 0,
	   "snaplen: 128 bytes of a 1000-byte frame kept, length recorded");
	if (zi)
		zt_inst_stop(zi);
}

static void test_start_errors(void)
{
	char path[300], want[400], log[2048], err[512] = "";
	struct zt_inst *zi;
	FILE *fp;
	int rc;

	path_in(path, sizeof path, "no-dir/out.pcap");
	zi = instance(err, sizeof err, "{ use: pcap, instance: nodir, write: '%s' }", path);
	ok(zi != NULL, "write in a missing directory: created");
	capture_begin();
	rc = zi ? zt_inst_start(zi) : 0;
	capture_end(log, sizeof log);
	is_int(rc, -ENOENT, "write in a missing directory: start fails with -ENOENT");
	snprintf(want, sizeof want, "nodir: write %s: %s", path, strerror(ENOENT));
	ok(strstr(log, want) != NULL, "write in a missing directory: log names the file");
	diag("log: %s", log);

	path_in(path, sizeof path, "text.pcap");
	fp = fopen(path, "w");
	if (!fp)
		bail("cannot write %s", path);
	fputs("this is not a capture file, only a line of text that is long enough\n", fp);
	fclose(fp);
	zi = instance(err, sizeof err, "{ use: pcap, instance: text, read: '%s' }", path);
	capture_begin();
	rc = zi ? zt_inst_start(zi) : 0;
	capture_end(log, sizeof log);
	is_int(rc, -EINVAL, "read a text file: start fails with -EINVAL");
	snprintf(want, sizeof want, "text: read %s: ", path);
	ok(strstr(log, want) != NULL, "read a text file: log names the file");
	diag("log: %s", log);

	path_in(path, sizeof path, "raw.pcap");
	write_raw_ip(path);
	zi = instance(err, sizeof err, "{ use: pcap, instance: raw, read: '%s' }", path);
	capture_begin();
	rc = zi ? zt_inst_start(zi) : 0;
	capture_end(log, sizeof log);
	is_int(rc, -EINVAL, "read raw IP: start fails with -EINVAL");
	ok(strstr(log, "link type") && strstr(log, "not Ethernet"), "read raw IP: log names the link type");
	diag("log: %s", log);
	unlink(path);
	path_in(path, sizeof path, "text.pcap");
	unlink(path);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char in[300], out[300];

	snprintf(dir, sizeof dir, "%s/zt-pcap-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		bail("mkdtemp: %s", strerror(errno));
	loop = ev_loop_new(EVFLAG_AUTO);
	k = zt_kernel_new(loop);
	if (!loop || !k)
		bail("no loop or kernel");
	path_in(in, sizeof in, "in.pcap");
	path_in(out, sizeof out, "out.pcap");
	write_fixture(in);

	plan(65);
	test_options(in, out);
	test_read(in);
	test_rate_loop(in);
	test_write(out);
	test_start_errors();

	zt_kernel_free(k);
	ev_loop_destroy(loop);
	unlink(in);
	unlink(out);
	rmdir(dir);
	return tap_done();
}
