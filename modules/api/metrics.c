/* api: /metrics in the Prometheus text exposition format 0.0.4. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

struct api_sample {
	char *family;               /* zt_<name>_total */
	const char *instance;       /* borrowed from ctx->names; NULL: the core */
	const char *name;           /* as counted */
	uint64_t value;
};

struct api_samples {
	struct api_sample *v;
	size_t n, cap;
	char **names;               /* copies of instance and counter names */
	size_t n_names;
	bool failed;
};

static const char *api_keep(struct api_samples *ss, const char *s)
{
	char **nn, *d;

	if (!s)
		return NULL;
	nn = realloc(ss->names, (ss->n_names + 1) * sizeof *nn);
	if (!nn)
		return NULL;
	ss->names = nn;
	d = strdup(s);
	if (d)
		ss->names[ss->n_names++] = d;
	return d;
}

static void api_counter_visit(void *ctx, const char *instance, const char *name, uint64_t value)
{
	struct api_samples *ss = ctx;
	struct api_sample *sm;
	size_t n = strlen(name), i;
	bool total = n >= 6 && strcmp(name + n - 6, "_total") == 0;
	char *f;

	if (ss->failed)
		return;
	if (ss->n == ss->cap) {
		size_t cap = ss->cap ? ss->cap * 2 : 64;
		struct api_sample *v = realloc(ss->v, cap * sizeof *v);

		if (!v) {
			ss->failed = true;
			return;
		}
		ss->v = v;
		ss->cap = cap;
	}
	f = malloc(3 + n + 7);
	if (!f) {
		ss->failed = true;
		return;
	}
	memcpy(f, "zt_", 3);
	for (i = 0; i < n; i++)
		f[3 + i] = isalnum((unsigned char)name[i]) ? name[i] : '_';
	strcpy(f + 3 + n, total ? "" : "_total");
	sm = &ss->v[ss->n];
	sm->family = f;
	sm->value = value;
	sm->name = api_keep(ss, name);
	sm->instance = api_keep(ss, instance);
	if (!sm->name || (instance && !sm->instance)) {
		free(f);
		ss->failed = true;
		return;
	}
	ss->n++;
}

static int api_sample_cmp(const void *x, const void *y)
{
	const struct api_sample *a = x, *b = y;
	int d = strcmp(a->family, b->family);

	if (d)
		return d;
	if (!a->instance || !b->instance)
		return !!a->instance - !!b->instance;
	return strcmp(a->instance, b->instance);
}

static void api_samples_free(struct api_samples *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		free(ss->v[i].family);
	for (i = 0; i < ss->n_names; i++)
		free(ss->names[i]);
	free(ss->v);
	free(ss->names);
}

/* s with \, " and newlines escaped as a label value (or, quote false,
 * as HELP text, where " stays). */
static void api_prom_escape(FILE *f, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' && quote)
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

struct api_peer_stats {
	FILE *f;
	unsigned direct, relayed;
	bool lines;                 /* second pass: write the latency samples */
};

static void api_peer_metric(void *ctx, const struct zt_peer_info *p)
{
	struct api_peer_stats *ps = ctx;
	char addr[ZT_SOCKADDR_STRLEN] = "", host[INET6_ADDRSTRLEN];
	unsigned i, n = p->n_paths < ZT_INFO_MAX_PATHS ? p->n_paths : ZT_INFO_MAX_PATHS;

	if (!ps->lines) {
		if (p->direct)
			ps->direct++;
		else
			ps->relayed++;
		return;
	}
	if (p->latency < 0)
		return;
	for (i = 0; i < n; i++) {
		const union zt_sockaddr *sa = &p->paths[i].address;

		if (!p->paths[i].preferred)
			continue;
		if (sa->sa.sa_family == AF_INET6)
			inet_ntop(AF_INET6, &sa->in6.sin6_addr, host, sizeof host);
		else if (sa->sa.sa_family == AF_INET)
			inet_ntop(AF_INET, &sa->in4.sin_addr, host, sizeof host);
		else
			continue;
		snprintf(addr, sizeof addr, "%s/%u", host, api_port(sa));
		break;
	}
	fprintf(ps->f, "zt_peer_latency_seconds{peer=\"%010" PRIx64 "\",role=\"%s\",path=\"%s\"} %d.%03d\n",
		p->address, api_role(p->role), addr[0] ? addr : "relayed",
		p->latency / 1000, p->latency % 1000);
}

/* ---- the families of ZeroTier One 1.14 (node/Metrics.cpp), by its names,
 * types and labels, so that dashboards made for it read zt too ---- */

/* packet_type by verb number, NULL: a verb 1.14 has no sample for */
static const char *const api_verb_names[ZT_TRAFFIC_VERBS] = {
	"nop", "hello", "error", "ok", "whois", "rendezvous", "frame", "ext_frame", "echo",
	"multicast_like", "network_credentials", "network_config_request", "network_config",
	"multicast_gather", "multicast_frame", NULL, "push_direct_paths", NULL, "ack", "qos",
	"user_message", "remote_trace", "path_negotiation_request",
};

/* error_type by error code, likewise */
static const char *const api_error_names[ZT_TRAFFIC_ERRORS] = {
	NULL, NULL, NULL, "obj_not_found", "identity_collision", "unsupported_operation",
	"need_membership_certificate", "network_access_denied", "unwanted_multicast",
	"authentication_required",
};

static void api_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The samples of a family labelled direction and label, one per direction
 * and named index: rx[i] and tx[i] where names[i] is not NULL. */
static void api_named_counts(FILE *f, const char *family, const char *label, const char *const *names,
			     unsigned n, const uint64_t *rx, const uint64_t *tx)
{
	for (unsigned d = 0; d < 2; d++)
		for (unsigned i = 0; i < n; i++)
			if (names[i])
				fprintf(f, "%s{direction=\"%s\",%s=\"%s\"} %" PRIu64 "\n", family, d ? "tx" : "rx",
					label, names[i], d ? tx[i] : rx[i]);
}

static void api_ref_traffic(FILE *f, const struct zt_traffic *t)
{
	const char *protocols[8];
	unsigned n_protocols = 0;

	api_family(f, "zt_packet", "counter", "incoming packet type counts");
	api_named_counts(f, "zt_packet", "packet_type", api_verb_names, ZT_TRAFFIC_VERBS, t->rx_verbs, t->tx_verbs);
	api_family(f, "zt_packet_error", "counter", "incoming packet errors");
	api_named_counts(f, "zt_packet_error", "error_type", api_error_names, ZT_TRAFFIC_ERRORS, t->rx_errors,
			 t->tx_errors);
	api_family(f, "zt_data", "counter", "number of bytes ZeroTier has transmitted or received");
	for (unsigned i = 0; i < t->n_transports; i++) {
		uint64_t rx = 0, tx = 0;
		unsigned k;

		for (k = 0; k < n_protocols && strcmp(protocols[k], t->transports[i].protocol); k++)
			;
		if (k < n_protocols)
			continue;   /* summed when first met */
		protocols[n_protocols++] = t->transports[i].protocol;
		for (unsigned j = i; j < t->n_transports; j++)
			if (strcmp(t->transports[j].protocol, t->transports[i].protocol) == 0) {
				rx += t->transports[j].rx_bytes;
				tx += t->transports[j].tx_bytes;
			}
		fprintf(f, "zt_data{direction=\"rx\",protocol=\"%s\"} %" PRIu64 "\n", t->transports[i].protocol, rx);
		fprintf(f, "zt_data{direction=\"tx\",protocol=\"%s\"} %" PRIu64 "\n", t->transports[i].protocol, tx);
	}
}

struct api_ref_ctx {
	FILE *f;
	unsigned n_networks;
	int family;
	int64_t now;
};

enum { API_REF_NET_GROUPS, API_REF_NET_PACKETS, API_REF_PEER_LATENCY, API_REF_PEER_PATHS,
       API_REF_PEER_PACKETS, API_REF_PEER_ERRORS };

static void api_ref_net(void *ctx, const struct zt_network_info *n)
{
	struct api_ref_ctx *rc = ctx;

	rc->n_networks++;
	if (rc->family == API_REF_NET_GROUPS) {
		fprintf(rc->f, "zt_network_multicast_groups_subscribed{network_id=\"%016" PRIx64 "\"} %u\n", n->nwid,
			n->n_groups);
		return;
	}
	fprintf(rc->f, "zt_network_packets{accepted=\"yes\",direction=\"rx\",network_id=\"%016" PRIx64 "\"} %" PRIu64 "\n"
		"zt_network_packets{accepted=\"no\",direction=\"rx\",network_id=\"%016" PRIx64 "\"} %" PRIu64 "\n"
		"zt_network_packets{accepted=\"yes\",direction=\"tx\",network_id=\"%016" PRIx64 "\"} %" PRIu64 "\n"
		"zt_network_packets{accepted=\"no\",direction=\"tx\",network_id=\"%016" PRIx64 "\"} %" PRIu64 "\n",
		n->nwid, n->rx_frames, n->nwid, n->rx_dropped, n->nwid, n->tx_frames, n->nwid, n->tx_dropped);
}

static void api_ref_peer(void *ctx, const struct zt_peer_info *p)
{
	static const unsigned bounds[ZT_LATENCY_BUCKETS] = ZT_LATENCY_BOUNDS;
	struct api_ref_ctx *rc = ctx;
	const struct zt_peer_traffic *t = &p->traffic;
	unsigned alive = 0;

	switch (rc->family) {
	case API_REF_PEER_LATENCY:
		for (unsigned i = 0; i < ZT_LATENCY_BUCKETS; i++)
			fprintf(rc->f, "zt_peer_latency_bucket{node_id=\"%010" PRIx64 "\",le=\"%u\"} %" PRIu64 "\n",
				p->address, bounds[i], t->latency_le[i]);
		fprintf(rc->f, "zt_peer_latency_bucket{node_id=\"%010" PRIx64 "\",le=\"+Inf\"} %" PRIu64 "\n"
			"zt_peer_latency_sum{node_id=\"%010" PRIx64 "\"} %" PRIu64 "\n"
			"zt_peer_latency_count{node_id=\"%010" PRIx64 "\"} %" PRIu64 "\n",
			p->address, t->latency_count, p->address, t->latency_sum, p->address, t->latency_count);
		break;
	case API_REF_PEER_PATHS:
		for (unsigned i = 0; i < p->n_paths; i++)
			alive += p->paths[i].alive;
		fprintf(rc->f, "zt_peer_path_count{node_id=\"%010" PRIx64 "\",status=\"alive\"} %u\n"
			"zt_peer_path_count{node_id=\"%010" PRIx64 "\",status=\"dead\"} %u\n",
			p->address, alive, p->address, p->n_paths - alive);
		break;
	case API_REF_PEER_PACKETS:
		fprintf(rc->f, "zt_peer_packets{direction=\"rx\",node_id=\"%010" PRIx64 "\"} %" PRIu64 "\n"
			"zt_peer_packets{direction=\"tx\",node_id=\"%010" PRIx64 "\"} %" PRIu64 "\n",
			p->address, t->rx, p->address, t->tx);
		break;
	default:
		fprintf(rc->f, "zt_peer_packet_errors{node_id=\"%010" PRIx64 "\"} %" PRIu64 "\n", p->address,
			t->rx_errors);
	}
}

static void api_reference_metrics(struct api *a, FILE *f)
{
	struct zt_traffic t;
	struct api_ref_ctx rc = { .f = f };
	static const struct { const char *name, *type, *help; } peer_families[] = {
		[API_REF_PEER_LATENCY] = { "zt_peer_latency", "histogram", "peer latency (ms)" },
		[API_REF_PEER_PATHS] = { "zt_peer_path_count", "gauge", "number of paths to peer" },
		[API_REF_PEER_PACKETS] = { "zt_peer_packets", "counter", "number of packets to/from a peer" },
		[API_REF_PEER_ERRORS] = { "zt_peer_packet_errors", "counter",
					  "number of incoming packet errors from a peer" },
	};

	zt_core_traffic(a->core, &t);
	api_ref_traffic(f, &t);
	api_family(f, "zt_network_multicast_groups_subscribed", "gauge",
		   "number of multicast groups networks are subscribed to");
	rc.family = API_REF_NET_GROUPS;
	zt_core_networks(a->core, api_ref_net, &rc);
	api_family(f, "zt_num_networks", "gauge", "number of networks this instance is joined to");
	fprintf(f, "zt_num_networks %u\n", rc.n_networks);
	api_family(f, "zt_network_packets", "counter", "number of incoming/outgoing packets per network");
	rc.family = API_REF_NET_PACKETS;
	zt_core_networks(a->core, api_ref_net, &rc);
	for (int k = API_REF_PEER_LATENCY; k <= API_REF_PEER_ERRORS; k++) {
		api_family(f, peer_families[k].name, peer_families[k].type, peer_families[k].help);
		rc.family = k;
		zt_core_peers(a->core, api_ref_peer, &rc);
	}
	zt_core_controller_metrics(a->core, f);
}

/* The exposition text: every counter of the node and its instances, then
 * gauges of the peers, then 1.14's families. */
static char *api_metrics_text(struct api *a, size_t *len)
{
	struct api_samples ss = { 0 };
	struct api_peer_stats ps = { 0 };
	char *text = NULL;
	size_t i;
	FILE *f;

	zt_core_all_counters(a->core, api_counter_visit, &ss);
	if (ss.failed) {
		api_samples_free(&ss);
		return NULL;
	}
	if (ss.n)
		qsort(ss.v, ss.n, sizeof *ss.v, api_sample_cmp);
	f = open_memstream(&text, len);
	if (!f) {
		api_samples_free(&ss);
		return NULL;
	}
	for (i = 0; i < ss.n; i++) {
		const struct api_sample *sm = &ss.v[i];
		uint64_t v = sm->value;

		if (i == 0 || strcmp(sm->family, ss.v[i - 1].family)) {
			fprintf(f, "# HELP %s zt counter ", sm->family);
			api_prom_escape(f, sm->name, false);
			fprintf(f, "\n# TYPE %s counter\n", sm->family);
		}
		/* names that differ only in characters a metric name cannot
		 * carry: one sample of their sum */
		while (i + 1 < ss.n && api_sample_cmp(sm, &ss.v[i + 1]) == 0)
			v += ss.v[++i].value;
		fputs(sm->family, f);
		if (sm->instance) {
			fputs("{instance=\"", f);
			api_prom_escape(f, sm->instance, true);
			fputs("\"}", f);
		}
		fprintf(f, " %" PRIu64 "\n", v);
	}
	api_samples_free(&ss);
	api_rule_metrics(a, f);
	ps.f = f;
	zt_core_peers(a->core, api_peer_metric, &ps);
	fprintf(f, "# HELP zt_peers peers known, by whether traffic to them goes direct or through a root\n"
		"# TYPE zt_peers gauge\n"
		"zt_peers{path=\"direct\"} %u\nzt_peers{path=\"relayed\"} %u\n", ps.direct, ps.relayed);
	fputs("# HELP zt_peer_latency_seconds round-trip latency to a peer\n"
	      "# TYPE zt_peer_latency_seconds gauge\n", f);
	ps.lines = true;
	zt_core_peers(a->core, api_peer_metric, &ps);
	api_reference_metrics(a, f);
	if (ferror(f)) {
		fclose(f);
		free(text);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int api_metrics(struct api *a, struct api_conn *c)
{
	size_t len = 0;
	char *text = api_metrics_text(a, &len);
	int err;

	if (!text)
		return api_fail(a, c, 500, "out of memory");
	err = api_respond(c, 200, "text/plain; version=0.0.4", NULL, text, len);
	free(text);
	return err;
}
