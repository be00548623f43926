/* pcap: a network port whose host side is a pair of pcap files.  Frames
 * read from one file are injected as if the host had sent them; frames
 * delivered to the host are written to the other.  See pcap(7). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <pcap/pcap.h>

#include <zt/module.h>

#define PCAPIF_ETH_HLEN 14
#define PCAPIF_VLAN_HLEN 4
/* Timer granularity when a rate is set: at most this many ticks a second. */
#define PCAPIF_MAX_TICKS 1000

struct pcapif {
	struct zt_inst *zi;
	struct ev_loop *loop;
	char *read_path;
	char *write_path;
	unsigned rate;          /* frames per second, 0 = as fast as possible */
	unsigned batch;
	unsigned snaplen;
	bool loop_read;
	bool rewrite_source;
	bool have_mac;
	uint8_t mac[6];
	unsigned mtu;           /* 0 until configured: no length check */
	bool started;

	/* Reading. */
	pcap_t *rd;
	uint64_t pass_frames;   /* frames injected from the current pass */
	uint64_t injected;      /* frames injected since start, for the rate */
	ev_tstamp t0;
	ev_idle idle;
	ev_timer timer;
	uint8_t *buf;           /* batch * snaplen */
	struct zt_frame *frames;

	/* Writing. */
	pcap_t *dead;
	pcap_dumper_t *dump;
	bool write_failed;

	uint64_t *rx_frames, *rx_bytes, *rx_short, *rx_truncated, *rx_oversize;
	uint64_t *tx_frames, *tx_bytes, *tx_short, *tx_oversize, *tx_discarded;
	uint64_t *write_errors;
};

/* ---- reading: the host's transmissions ---- */

static void pcapif_read_stop(struct pcapif *p)
{
	if (p->loop) {
		ev_idle_stop(p->loop, &p->idle);
		ev_timer_stop(p->loop, &p->timer);
	}
	if (p->rd) {
		pcap_close(p->rd);
		p->rd = NULL;
	}
}

/* Opens the read file; logs and returns -errno on failure. */
static int pcapif_read_open(struct pcapif *p)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	FILE *fp;
	pcap_t *rd;
	int dlt, err;

	fp = fopen(p->read_path, "rb");
	if (!fp) {
		err = -errno;
		zt_log(p->zi, ZT_LOG_ERR, "read %s: %s", p->read_path, strerror(errno));
		return err;
	}
	rd = pcap_fopen_offline(fp, errbuf);
	if (!rd) {
		fclose(fp);
		zt_log(p->zi, ZT_LOG_ERR, "read %s: %s", p->read_path,
		       errbuf[0] ? errbuf : "not a pcap file");
		return -EINVAL;
	}
	dlt = pcap_datalink(rd);
	if (dlt != DLT_EN10MB) {
		const char *name = pcap_datalink_val_to_name(dlt);

		zt_log(p->zi, ZT_LOG_ERR, "read %s: link type %s (%d), not Ethernet",
		       p->read_path, name ? name : "unknown", dlt);
		pcap_close(rd);
		return -EINVAL;
	}
	p->rd = rd;
	p->pass_frames = 0;
	return 0;
}

/* At the end of the read file: start over when looping, else stop.
 * Returns true if reading goes on. */
static bool pcapif_read_eof(struct pcapif *p)
{
	if (p->loop_read && p->pass_frames > 0) {
		pcap_close(p->rd);
		p->rd = NULL;
		if (pcapif_read_open(p) == 0)
			return true;
		pcapif_read_stop(p);
		return false;
	}
	if (p->loop_read)
		zt_log(p->zi, ZT_LOG_INFO, "read %s: no frames to replay", p->read_path);
	else
		zt_log(p->zi, ZT_LOG_INFO, "read %s: end of file after %llu frames",
		       p->read_path, (unsigned long long)p->injected);
	pcapif_read_stop(p);
	return false;
}

/* Reads up to max frames (and at most max records) and hands them up. */
static void pcapif_inject(struct pcapif *p, unsigned max)
{
	unsigned n = 0, seen = 0;
	bool more = true;

	while (more && seen < max) {
		struct pcap_pkthdr *h;
		const u_char *data;
		uint8_t *dst;
		int r = pcap_next_ex(p->rd, &h, &data);

		if (r == PCAP_ERROR_BREAK) {
			more = pcapif_read_eof(p);
			continue;
		}
		if (r != 1) {
			zt_log(p->zi, ZT_LOG_ERR, "read %s: %s", p->read_path, pcap_geterr(p->rd));
			pcapif_read_stop(p);
			more = false;
			continue;
		}
		seen++;
		if (h->caplen < PCAPIF_ETH_HLEN) {
			(*p->rx_short)++;
			continue;
		}
		if (h->caplen < h->len) {
			(*p->rx_truncated)++;
			continue;
		}
		if (h->caplen > p->snaplen) {
			(*p->rx_oversize)++;
			continue;
		}
		dst = p->buf + (size_t)n * p->snaplen;
		memcpy(dst, data, h->caplen);
		if (p->rewrite_source && p->have_mac)
			memcpy(dst + 6, p->mac, 6);
		p->frames[n].data = dst;
		p->frames[n].len = h->caplen;
		*p->rx_bytes += h->caplen;
		p->injected++;
		p->pass_frames++;
		n++;
	}
	*p->rx_frames += n;
	if (n)
		zt_iface_rx(p->zi, p->frames, n);
}

static void pcapif_on_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct pcapif *p = w->data;

	pcapif_inject(p, p->batch);
}

static void pcapif_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pcapif *p = w->data;
	double elapsed = ev_now(loop) - p->t0;
	uint64_t due = (uint64_t)(elapsed * p->rate + 1e-6) + 1;

	if (due > p->injected) {
		uint64_t n = due - p->injected;

		pcapif_inject(p, n < p->batch ? (unsigned)n : p->batch);
	}
}

/* ---- writing: frames delivered to the host ---- */

static void pcapif_write_close(struct pcapif *p)
{
	if (p->dump) {
		pcap_dump_close(p->dump);
		p->dump = NULL;
	}
	if (p->dead) {
		pcap_close(p->dead);
		p->dead = NULL;
	}
}

static int pcapif_write_open(struct pcapif *p)
{
	int err;

	p->dead = pcap_open_dead(DLT_EN10MB, (int)p->snaplen);
	if (!p->dead) {
		zt_log(p->zi, ZT_LOG_ERR, "write %s: %s", p->write_path, strerror(ENOMEM));
		return -ENOMEM;
	}
	errno = 0;
	p->dump = pcap_dump_open(p->dead, p->write_path);
	if (!p->dump) {
		err = errno ? -errno : -EIO;
		zt_log(p->zi, ZT_LOG_ERR, "write %s: %s", p->write_path, strerror(-err));
		pcapif_write_close(p);
		return err;
	}
	/* The header on disk at once: the file is valid while we run. */
	if (pcap_dump_flush(p->dump) < 0) {
		err = errno ? -errno : -EIO;
		zt_log(p->zi, ZT_LOG_ERR, "write %s: %s", p->write_path, strerror(-err));
		pcapif_write_close(p);
		return err;
	}
	p->write_failed = false;
	return 0;
}

/* The longest frame the port passes: MTU plus the Ethernet header, plus a
 * VLAN tag if the frame carries one. */
static size_t pcapif_max_len(const struct pcapif *p, const uint8_t *frame)
{
	size_t max = (size_t)p->mtu + PCAPIF_ETH_HLEN;
	unsigned type = (unsigned)frame[12] << 8 | frame[13];

	if (type == 0x8100 || type == 0x88a8)
		max += PCAPIF_VLAN_HLEN;
	return max;
}

static int pcapif_tx(void *state, const struct zt_frame *f, unsigned n)
{
	struct pcapif *p = state;
	struct pcap_pkthdr h;
	struct timespec now;
	unsigned i, taken = 0;

	if (!p->write_path) {
		*p->tx_discarded += n;
		return (int)n;
	}
	if (!p->dump)
		return -ENOTCONN;
	clock_gettime(CLOCK_REALTIME, &now);
	h.ts.tv_sec = now.tv_sec;
	h.ts.tv_usec = now.tv_nsec / 1000;
	for (i = 0; i < n; i++) {
		if (f[i].len < PCAPIF_ETH_HLEN) {
			(*p->tx_short)++;
			continue;
		}
		if (p->mtu && f[i].len > pcapif_max_len(p, f[i].data)) {
			(*p->tx_oversize)++;
			continue;
		}
		h.len = (bpf_u_int32)f[i].len;
		h.caplen = f[i].len < p->snaplen ? (bpf_u_int32)f[i].len : p->snaplen;
		pcap_dump((u_char *)p->dump, &h, f[i].data);
		*p->tx_bytes += f[i].len;
		taken++;
	}
	*p->tx_frames += taken;
	if (taken && pcap_dump_flush(p->dump) < 0) {
		(*p->write_errors)++;
		if (!p->write_failed)
			zt_log(p->zi, ZT_LOG_ERR, "write %s: %s", p->write_path, strerror(errno));
		p->write_failed = true;
	}
	return (int)taken;
}

static int pcapif_configure(void *state, const struct zt_iface_settings *s)
{
	struct pcapif *p = state;

	if (s->mtu < 68 || s->mtu > 65535) {
		zt_log(p->zi, ZT_LOG_ERR, "mtu %u: must be between 68 and 65535", s->mtu);
		return -EINVAL;
	}
	memcpy(p->mac, s->mac, sizeof p->mac);
	p->have_mac = true;
	p->mtu = s->mtu;
	return 0;
}

/* ---- lifecycle ---- */

static void pcapif_stop(void *state)
{
	struct pcapif *p = state;

	pcapif_read_stop(p);
	pcapif_write_close(p);
	p->started = false;
}

static int pcapif_start(void *state, struct ev_loop *loop)
{
	struct pcapif *p = state;
	int err;

	if (p->started)
		return 0;
	p->loop = loop;
	if (p->read_path) {
		err = pcapif_read_open(p);
		if (err < 0)
			return err;
	}
	if (p->write_path) {
		err = pcapif_write_open(p);
		if (err < 0) {
			pcapif_read_stop(p);
			return err;
		}
	}
	if (p->rd) {
		p->injected = 0;
		p->t0 = ev_now(loop);
		if (p->rate) {
			double every = 1.0 / p->rate;

			if (every < 1.0 / PCAPIF_MAX_TICKS)
				every = 1.0 / PCAPIF_MAX_TICKS;
			ev_timer_set(&p->timer, 0., every);
			ev_timer_start(loop, &p->timer);
		} else {
			ev_idle_start(loop, &p->idle);
		}
	}
	p->started = true;
	return 0;
}

static void pcapif_destroy(void *state)
{
	struct pcapif *p = state;

	if (!p)
		return;
	free(p->read_path);
	free(p->write_path);
	free(p->buf);
	free(p->frames);
	free(p);
}

static int pcapif_counters(struct pcapif *p)
{
	static const struct zt_counter_field fields[] = {
		ZT_COUNTER_FIELD(struct pcapif, rx_frames),
		ZT_COUNTER_FIELD(struct pcapif, rx_bytes),
		ZT_COUNTER_FIELD(struct pcapif, rx_short),
		ZT_COUNTER_FIELD(struct pcapif, rx_truncated),
		ZT_COUNTER_FIELD(struct pcapif, rx_oversize),
		ZT_COUNTER_FIELD(struct pcapif, tx_frames),
		ZT_COUNTER_FIELD(struct pcapif, tx_bytes),
		ZT_COUNTER_FIELD(struct pcapif, tx_short),
		ZT_COUNTER_FIELD(struct pcapif, tx_oversize),
		ZT_COUNTER_FIELD(struct pcapif, tx_discarded),
		ZT_COUNTER_FIELD(struct pcapif, write_errors),
	};

	return zt_counters_bind(p->zi, p, fields, sizeof fields / sizeof fields[0]);
}

/* The node of key for an error message, or the instance's own. */
static const struct zt_node *pcapif_at(const struct zt_node *conf, const char *key)
{
	const struct zt_node *n = zt_node_get(conf, key);

	return n ? n : conf;
}

static int pcapif_create(struct zt_inst *zi, const struct zt_node *conf, void **state)
{
	const char *rpath = zt_conf_str(conf, "read");
	const char *wpath = zt_conf_str(conf, "write");
	struct pcapif *p;
	int err = -ENOMEM;

	if (rpath && !*rpath) {
		zt_node_error(pcapif_at(conf, "read"), "must not be empty");
		return -EINVAL;
	}
	if (wpath && !*wpath) {
		zt_node_error(pcapif_at(conf, "write"), "must not be empty");
		return -EINVAL;
	}
	if (!rpath && !wpath) {
		zt_node_error(conf, "needs 'read', 'write' or both");
		return -EINVAL;
	}
	if (rpath && access(rpath, R_OK) < 0) {
		err = -errno;
		zt_node_error(pcapif_at(conf, "read"), "%s: %s", rpath, strerror(-err));
		return err;
	}
	if (rpath && wpath && strcmp(rpath, wpath) == 0) {
		zt_node_error(pcapif_at(conf, "write"), "%s: same file as 'read'", wpath);
		return -EINVAL;
	}

	p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->zi = zi;
	p->rate = (unsigned)zt_conf_uint(conf, "rate");
	p->batch = (unsigned)zt_conf_uint(conf, "batch");
	p->snaplen = (unsigned)zt_conf_uint(conf, "snaplen");
	p->loop_read = zt_conf_bool(conf, "loop");
	p->rewrite_source = zt_conf_bool(conf, "rewrite-source");
	if (p->batch < 1 || p->batch > 1024) {
		zt_node_error(pcapif_at(conf, "batch"), "must be between 1 and 1024");
		err = -EINVAL;
		goto fail;
	}
	if (p->snaplen < 64 || p->snaplen > 262144) {
		zt_node_error(pcapif_at(conf, "snaplen"), "must be between 64 and 262144");
		err = -EINVAL;
		goto fail;
	}
	if (rpath) {
		p->read_path = strdup(rpath);
		p->buf = malloc((size_t)p->batch * p->snaplen);
		p->frames = calloc(p->batch, sizeof *p->frames);
		if (!p->read_path || !p->buf || !p->frames)
			goto fail;
	}
	if (wpath && !(p->write_path = strdup(wpath)))
		goto fail;
	ev_idle_init(&p->idle, pcapif_on_idle);
	p->idle.data = p;
	ev_init(&p->timer, pcapif_on_timer);
	p->timer.data = p;
	err = pcapif_counters(p);
	if (err < 0)
		goto fail;
	*state = p;
	return 0;
fail:
	pcapif_destroy(p);
	return err;
}

static const struct zt_iface_ops pcapif_ops = {
	.tx = pcapif_tx,
	.configure = pcapif_configure,
};

static const struct zt_opt pcapif_opts[] = {
	ZT_OPT_STR("read", NULL, "pcap file whose Ethernet frames the host sends"),
	ZT_OPT_STR("write", NULL, "pcap file the frames delivered to the host go to"),
	ZT_OPT_UINT("rate", 0, 0, 10000000, "frames injected per second, 0 for as fast as possible"),
	ZT_OPT_BOOL("loop", 0, "replay the read file forever"),
	ZT_OPT_UINT("snaplen", 65535, 64, 262144, "longest frame read or written in full"),
	ZT_OPT_UINT("batch", 32, 1, 1024, "frames injected per wakeup"),
	ZT_OPT_BOOL("rewrite-source", 0, "give injected frames the port's MAC as source"),
	ZT_OPT_END
};

ZT_EXPORT const struct zt_module zt_module = {
	.abi = ZT_MODULE_ABI,
	.name = "pcap",
	.kind = ZT_IFACE,
	.summary = "frames to and from pcap files",
	.opts = pcapif_opts,
	.create = pcapif_create,
	.start = pcapif_start,
	.stop = pcapif_stop,
	.destroy = pcapif_destroy,
	.ops.iface = &pcapif_ops,
};
