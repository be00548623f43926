/* dns: answering a query from a zone (query.h).  ldns reads the query
 * and writes the answer; this file decides what the answer holds. */
#include "config.h"

#include <string.h>

#include <ldns/ldns.h>

#include "query.h"

#define DNS_HEADER_LEN 12
#define DNS_TYPE_SOA 6
#define DNS_TYPE_ANY 255
/* the SOA's timers: nothing transfers this zone, they only have to be sane */
#define DNS_SOA_REFRESH 3600
#define DNS_SOA_RETRY 600
#define DNS_SOA_EXPIRE 86400

const char *dns_outcome_name(enum dns_outcome o)
{
	switch (o) {
	case DNS_ANSWERED: return "answered";
	case DNS_NODATA: return "nodata";
	case DNS_NXDOMAIN: return "nxdomain";
	case DNS_REFUSED: return "refused";
	case DNS_NOTIMP: return "notimp";
	case DNS_FORMERR: return "formerr";
	case DNS_DROPPED: return "dropped";
	case DNS_FAILED: return "failed";
	}
	return "?";
}

/* What the question asks, as the zone names it. */
struct dns_question {
	const ldns_rdf *qname;      /* as asked: answers echo its case */
	char name[DNS_NAME_MAX * 4 + 2];   /* lower case, final dot (escapes may lengthen it) */
	uint16_t qtype;
};

static ldns_rr *dns_rr_new(const ldns_rdf *owner, uint16_t type, uint32_t ttl)
{
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *o = ldns_rdf_clone(owner);

	if (!rr || !o) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(o);
		return NULL;
	}
	ldns_rr_set_owner(rr, o);
	ldns_rr_set_type(rr, type);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, ttl);
	return rr;
}

/* Push rdf onto rr; false (rdf freed) on no memory. */
static bool dns_rr_push(ldns_rr *rr, ldns_rdf *rdf)
{
	if (rdf && ldns_rr_push_rdf(rr, rdf))
		return true;
	ldns_rdf_deep_free(rdf);
	return false;
}

static bool dns_push(ldns_pkt *p, ldns_pkt_section s, ldns_rr *rr)
{
	if (ldns_pkt_push_rr(p, s, rr))
		return true;
	ldns_rr_free(rr);
	return false;
}

static bool dns_add_soa(ldns_pkt *p, ldns_pkt_section s, const struct dns_zone *z)
{
	char rname[DNS_NAME_MAX + 16];
	ldns_rdf *apex = ldns_dname_new_frm_str(z->domain);
	ldns_rr *rr = apex ? dns_rr_new(apex, DNS_TYPE_SOA, z->ttl) : NULL;
	bool ok;

	snprintf(rname, sizeof rname, "hostmaster.%s", z->domain);
	ok = rr && dns_rr_push(rr, ldns_rdf_clone(apex)) &&
	     dns_rr_push(rr, ldns_dname_new_frm_str(rname)) &&
	     dns_rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, z->serial)) &&
	     dns_rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, DNS_SOA_REFRESH)) &&
	     dns_rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, DNS_SOA_RETRY)) &&
	     dns_rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, DNS_SOA_EXPIRE)) &&
	     dns_rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, z->ttl));
	ldns_rdf_deep_free(apex);
	if (!ok) {
		ldns_rr_free(rr);
		return false;
	}
	return dns_push(p, s, rr);
}

static bool dns_add_rec(ldns_pkt *p, const struct dns_question *q, const struct dns_zone *z,
			const struct dns_rec *rec)
{
	ldns_rr *rr = dns_rr_new(q->qname, rec->type, z->ttl);
	ldns_rdf *data;

	if (!rr)
		return false;
	if (rec->type == DNS_TYPE_A)
		data = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, rec->addr);
	else if (rec->type == DNS_TYPE_AAAA)
		data = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, rec->addr);
	else
		data = ldns_dname_new_frm_str(rec->target);
	if (!dns_rr_push(rr, data)) {
		ldns_rr_free(rr);
		return false;
	}
	return dns_push(p, LDNS_SECTION_ANSWER, rr);
}

/* A name below name owns records: name is an empty non-terminal
 * (b.example. when a.b.example. exists), NODATA rather than NXDOMAIN. */
static bool dns_zone_below(const struct dns_zone *z, const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; i < z->n; i++) {
		size_t len = strlen(z->recs[i].owner);

		if (len > n && z->recs[i].owner[len - n - 1] == '.' && !strcmp(z->recs[i].owner + len - n, name))
			return true;
	}
	return false;
}

static bool dns_type_wanted(uint16_t qtype, uint16_t type)
{
	return qtype == type || qtype == DNS_TYPE_ANY;
}

/* The records of the answer and its outcome; false on no memory. */
static bool dns_fill(ldns_pkt *p, const struct dns_zone *z, const struct dns_question *q, bool records,
		     enum dns_outcome *outcome)
{
	const struct dns_rec *rec;
	size_t n, i, added = 0;

	n = dns_zone_find(z, q->name, &rec);
	if (n == 0 && !dns_zone_has(z, q->name)) {
		*outcome = DNS_REFUSED;
		return true;
	}
	ldns_pkt_set_aa(p, true);
	if (n == 0 && !strcmp(q->name, z->domain) && dns_type_wanted(q->qtype, DNS_TYPE_SOA)) {
		*outcome = DNS_ANSWERED;
		return !records || dns_add_soa(p, LDNS_SECTION_ANSWER, z);
	}
	for (i = 0; i < n; i++)
		if (dns_type_wanted(q->qtype, rec[i].type)) {
			if (records && !dns_add_rec(p, q, z, &rec[i]))
				return false;
			added++;
		}
	if (added) {
		*outcome = DNS_ANSWERED;
		return true;
	}
	if (n == 0 && strcmp(q->name, z->domain) && !dns_zone_below(z, q->name)) {
		*outcome = DNS_NXDOMAIN;
		ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
	} else {
		*outcome = DNS_NODATA;
	}
	/* the SOA tells resolvers how long to remember there is nothing */
	return !records || dns_add_soa(p, LDNS_SECTION_AUTHORITY, z);
}

/* The answer's header, question and EDNS, as the query asks. */
static ldns_pkt *dns_reply_new(const ldns_pkt *query)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *question;

	if (!p)
		return NULL;
	ldns_pkt_set_id(p, ldns_pkt_id(query));
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_opcode(p, ldns_pkt_get_opcode(query));
	ldns_pkt_set_rd(p, ldns_pkt_rd(query));
	ldns_pkt_set_cd(p, ldns_pkt_cd(query));
	if (ldns_pkt_edns(query))
		ldns_pkt_set_edns_udp_size(p, DNS_UDP_MAX);
	if (ldns_pkt_qdcount(query) == 1) {
		question = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(query), 0));
		if (!question || !dns_push(p, LDNS_SECTION_QUESTION, question)) {
			ldns_pkt_free(p);
			return NULL;
		}
	}
	return p;
}

/* Write p into out if it fits within limit; its length, 0 if it does
 * not fit, -1 on no memory. */
static long dns_wire(const ldns_pkt *p, uint8_t *out, size_t limit)
{
	uint8_t *wire = NULL;
	size_t len = 0;

	if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK) {
		free(wire);
		return -1;
	}
	if (len > limit) {
		free(wire);
		return 0;
	}
	memcpy(out, wire, len);
	free(wire);
	return (long)len;
}

/* The answer to a query ldns could read. */
static void dns_answer_pkt(const struct dns_zone *z, const ldns_pkt *query, size_t limit,
			   uint8_t *out, struct dns_reply *r)
{
	struct dns_question q = { 0 };
	const ldns_rr *question;
	ldns_rdf *canon = NULL;
	ldns_pkt *p = NULL;
	char *text = NULL;
	long len;

	r->outcome = DNS_FAILED;
	if (ldns_pkt_qr(query)) {
		r->outcome = DNS_DROPPED;   /* a response: never answer one */
		return;
	}
	p = dns_reply_new(query);
	if (!p)
		return;
	question = ldns_rr_list_rr(ldns_pkt_question(query), 0);
	if (ldns_pkt_get_opcode(query) != LDNS_PACKET_QUERY) {
		r->outcome = DNS_NOTIMP;
		ldns_pkt_set_rcode(p, LDNS_RCODE_NOTIMPL);
	} else if (ldns_pkt_qdcount(query) != 1 || !question || !ldns_rr_owner(question)) {
		r->outcome = DNS_FORMERR;
		ldns_pkt_set_rcode(p, LDNS_RCODE_FORMERR);
	} else if (!z || ldns_rr_get_class(question) != LDNS_RR_CLASS_IN ||
		   ldns_rr_get_type(question) == LDNS_RR_TYPE_AXFR ||
		   ldns_rr_get_type(question) == LDNS_RR_TYPE_IXFR) {
		r->outcome = DNS_REFUSED;
	} else {
		q.qname = ldns_rr_owner(question);
		q.qtype = (uint16_t)ldns_rr_get_type(question);
		canon = ldns_rdf_clone(q.qname);
		if (!canon)
			goto out;
		ldns_dname2canonical(canon);
		text = ldns_rdf2str(canon);
		if (!text || strlen(text) >= sizeof q.name)
			goto out;
		memcpy(q.name, text, strlen(text) + 1);
		if (!dns_fill(p, z, &q, true, &r->outcome))
			goto out;
	}
	if (r->outcome == DNS_REFUSED) {
		ldns_pkt_set_aa(p, false);
		ldns_pkt_set_rcode(p, LDNS_RCODE_REFUSED);
	}
	len = dns_wire(p, out, limit);
	if (len == 0 && (r->outcome == DNS_ANSWERED || r->outcome == DNS_NODATA ||
			 r->outcome == DNS_NXDOMAIN)) {
		/* too big: the header and question alone, TC set, so that the
		 * client asks again over TCP (RFC 1035 §4.2.1, RFC 2181 §9) */
		enum dns_outcome o = r->outcome;

		ldns_pkt_free(p);
		p = dns_reply_new(query);
		if (!p || !dns_fill(p, z, &q, false, &o))
			goto out;
		ldns_pkt_set_tc(p, true);
		r->truncated = true;
		len = dns_wire(p, out, limit);
	}
	if (len > 0)
		r->len = (size_t)len;
	else
		r->outcome = DNS_FAILED;
out:
	if (r->len == 0 && r->outcome != DNS_DROPPED)
		r->outcome = DNS_FAILED;
	free(text);
	ldns_rdf_deep_free(canon);
	ldns_pkt_free(p);
}

/* FORMERR to a query ldns could not read, if its header is one. */
static void dns_answer_formerr(const uint8_t *q, size_t qlen, uint8_t *out, struct dns_reply *r)
{
	r->outcome = DNS_DROPPED;
	if (qlen < DNS_HEADER_LEN || (q[2] & 0x80))
		return;   /* no header, or a response */
	memset(out, 0, DNS_HEADER_LEN);
	out[0] = q[0];
	out[1] = q[1];
	out[2] = 0x80 | (q[2] & 0x79);   /* QR, the query's opcode and RD */
	out[3] = LDNS_RCODE_FORMERR;
	r->len = DNS_HEADER_LEN;
	r->outcome = DNS_FORMERR;
}

void dns_answer(const struct dns_zone *z, const uint8_t *q, size_t qlen, bool tcp,
		uint8_t *out, size_t outcap, struct dns_reply *r)
{
	ldns_pkt *query = NULL;
	size_t limit;

	memset(r, 0, sizeof *r);
	if (ldns_wire2pkt(&query, q, qlen) != LDNS_STATUS_OK) {
		dns_answer_formerr(q, qlen, out, r);
		return;
	}
	if (tcp)
		limit = DNS_TCP_MAX;
	else if (ldns_pkt_edns(query) && ldns_pkt_edns_udp_size(query) > 512)
		limit = ldns_pkt_edns_udp_size(query) < DNS_UDP_MAX ? ldns_pkt_edns_udp_size(query) : DNS_UDP_MAX;
	else
		limit = 512;
	if (limit > outcap)
		limit = outcap;
	dns_answer_pkt(z, query, limit, out, r);
	ldns_pkt_free(query);
}
