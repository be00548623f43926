/* The dns module's zone and query path (modules/dns/zone.c, query.c):
 * a zone built from controller JSON, queries made and answers read with
 * ldns.  Names, ids, A/AAAA (assigned, RFC4193, 6PLANE), PTR, negative
 * answers, refusals, odd names from the controller, truncation, and
 * malformed queries. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include <zt/netconf.h>

#include "query.h"
#include "tap.h"
#include "zone.h"

#define NWID "8056c2e21c000001"
#define NET "{\"id\":\"" NWID "\",\"dns\":{\"domain\":\"Lab.Example\",\"servers\":[]}," \
	"\"v6AssignMode\":{\"rfc4193\":true,\"6plane\":true,\"zt\":false}," \
	"\"routes\":[{\"target\":\"198.19.5.0/24\",\"via\":null},{\"target\":\"fd00:5::/64\",\"via\":null}]}"

static int skipped;

static void skip_cb(void *ctx, uint64_t member, const char *name, const char *why)
{
	(void)ctx;
	skipped++;
	diag("left out: %010llx '%s': %s", (unsigned long long)member, name, why);
}

/* A member object; ips is a JSON array text. */
static void member(char *buf, size_t len, const char *id, const char *name, int auth, const char *ips)
{
	size_t off = strlen(buf);

	snprintf(buf + off, len - off, "%s{\"id\":\"%s\",%s%s%s\"authorized\":%s,\"ipAssignments\":%s}",
		 off > 1 ? "," : "", id, name ? "\"name\":\"" : "", name ? name : "", name ? "\"," : "",
		 auth ? "true" : "false", ips);
}

/* Ask z for name/type; the answer parsed, or NULL (r says why). */
static ldns_pkt *ask(const struct dns_zone *z, const char *name, ldns_rr_type type, ldns_rr_class cls,
		     bool tcp, uint16_t edns, struct dns_reply *r)
{
	static uint8_t out[DNS_TCP_MAX];
	ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, cls, LDNS_RD), *a = NULL;
	uint8_t *wire = NULL;
	size_t len;

	if (edns)
		ldns_pkt_set_edns_udp_size(q, edns);
	ldns_pkt_set_id(q, 0x1234);
	if (ldns_pkt2wire(&wire, q, &len) != LDNS_STATUS_OK)
		bail("ldns_pkt2wire");
	dns_answer(z, wire, len, tcp, out, tcp ? DNS_TCP_MAX : DNS_UDP_MAX, r);
	if (r->len && ldns_wire2pkt(&a, out, r->len) != LDNS_STATUS_OK)
		a = NULL;
	free(wire);
	ldns_pkt_free(q);
	return a;
}

/* The answer section's rdata, as "a b c" in order. */
static const char *rdata(const ldns_pkt *p, ldns_pkt_section s)
{
	static char buf[4096];
	const ldns_rr_list *l = s == LDNS_SECTION_ANSWER ? ldns_pkt_answer(p) : ldns_pkt_authority(p);

	buf[0] = '\0';
	for (size_t i = 0; p && i < ldns_rr_list_rr_count(l); i++) {
		char *t = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(l, i), 0));

		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? " " : "", t);
		free(t);
	}
	return buf;
}

/* The answer's records for name/type over UDP are want. */
static void expect(const struct dns_zone *z, const char *name, ldns_rr_type type, const char *want,
		   const char *label)
{
	struct dns_reply r;
	ldns_pkt *a = ask(z, name, type, LDNS_RR_CLASS_IN, false, 0, &r);

	is_str(rdata(a, LDNS_SECTION_ANSWER), want, label);
	ldns_pkt_free(a);
}

static const char *ip6(uint8_t b[16])
{
	static char s[2][INET6_ADDRSTRLEN];
	static int k;

	k ^= 1;
	return inet_ntop(AF_INET6, b, s[k], sizeof s[k]);
}

int main(void)
{
	char members[16384] = "[", why[160], want[512], rev[80], big_ips[4096] = "[";
	uint8_t rfc[16], six[16];
	struct dns_zone *z;
	struct dns_reply r;
	ldns_pkt *a;
	char *owner;
	int i;

	plan(50);
	member(members, sizeof members, "0000000aa1", "Alice", 1, "[\"198.19.5.10\",\"fd00:5::10\",\"198.19.6.1\"]");
	member(members, sizeof members, "0000000bb2", "bob", 0, "[\"198.19.5.11\"]");
	member(members, sizeof members, "0000000cc3", "bad name!", 1, "[\"198.19.5.12\"]");
	member(members, sizeof members, "0000000dd4", "-dash", 1, "[]");
	member(members, sizeof members, "0000000ee5", "line\\nbreak", 1, "[]");
	member(members, sizeof members, "0000000ff6",
	       "a234567890123456789012345678901234567890123456789012345678901234", 1, "[]");
	member(members, sizeof members, "0000000ab7", "web.prod", 1, "[\"198.19.5.13\",\"not-an-ip\"]");
	for (i = 0; i < 60; i++)
		snprintf(big_ips + strlen(big_ips), sizeof big_ips - strlen(big_ips), "%s\"fd00:5::1:%x\"",
			 i ? "," : "", i);
	strcat(big_ips, "]");
	member(members, sizeof members, "0000000bc8", "big", 1, big_ips);
	member(members, sizeof members, "0000000bc9", "fixed\",\"noAutoAssignIps\":true,\"x\":\"", 1, "[\"fd00:5::9\"]");
	strcat(members, "]");

	z = dns_zone_from_json(NET, members, 5, 42, skip_cb, NULL, why, sizeof why);
	ok(z != NULL, "a zone from the network and its members");
	if (!z)
		bail("no zone: %s", why);
	is_str(z->domain, "lab.example.", "the domain, lower case with the final dot");
	is_int(skipped, 5, "odd names (characters, '-' first, control, 64-long label) and a bad IP left out");

	/* ---- names and ids ---- */
	a = ask(z, "alice.lab.example.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false, 0, &r);
	is_str(rdata(a, LDNS_SECTION_ANSWER), "198.19.5.10", "A of a member's name (not of an address outside the routes)");
	ok(a && ldns_pkt_aa(a) && ldns_pkt_id(a) == 0x1234 && ldns_pkt_qr(a), "authoritative, the query's id");
	is_int(r.outcome, DNS_ANSWERED, "outcome: answered");
	ldns_pkt_free(a);
	a = ask(z, "ALICE.Lab.EXAMPLE.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false, 0, &r);
	is_str(rdata(a, LDNS_SECTION_ANSWER), "198.19.5.10", "names are case-insensitive");
	owner = a && ldns_pkt_ancount(a) ? ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(a), 0))) : NULL;
	is_str(owner, "ALICE.Lab.EXAMPLE.", "the answer keeps the question's case");
	free(owner);
	ldns_pkt_free(a);
	expect(z, "0000000aa1.lab.example.", LDNS_RR_TYPE_A, "198.19.5.10", "A of a member's id");
	zt_ip6_rfc4193(0x8056c2e21c000001ull, 0xaa1, rfc);
	zt_ip6_6plane(0x8056c2e21c000001ull, 0xaa1, six);
	a = ask(z, "alice.lab.example.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, false, 0, &r);
	ok(a && ldns_pkt_ancount(a) == 3, "AAAA: three addresses");
	ok(strstr(rdata(a, LDNS_SECTION_ANSWER), "fd00:5::10") != NULL, "... the assigned one");
	ok(strstr(rdata(a, LDNS_SECTION_ANSWER), ip6(rfc)) != NULL, "... the RFC4193 one");
	ok(strstr(rdata(a, LDNS_SECTION_ANSWER), ip6(six)) != NULL, "... the 6PLANE one");
	ldns_pkt_free(a);
	a = ask(z, "alice.lab.example.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_IN, true, 0, &r);
	ok(a && ldns_pkt_ancount(a) == 4, "ANY: the A and the three AAAA");
	ldns_pkt_free(a);
	expect(z, "fixed.lab.example.", LDNS_RR_TYPE_AAAA, "fd00:5::9", "noAutoAssignIps: the assigned AAAA only");
	expect(z, "0000000cc3.lab.example.", LDNS_RR_TYPE_A, "198.19.5.12", "a member with an odd name keeps its id name");
	expect(z, "web.prod.lab.example.", LDNS_RR_TYPE_A, "198.19.5.13", "a dotted name");

	/* ---- reverse ---- */
	expect(z, "10.5.19.198.in-addr.arpa.", LDNS_RR_TYPE_PTR, "alice.lab.example.", "PTR of an assigned IPv4 address");
	dns_reverse_name(AF_INET6, rfc, rev, sizeof rev);
	expect(z, rev, LDNS_RR_TYPE_PTR, "alice.lab.example.", "PTR of the RFC4193 address");
	dns_reverse_name(AF_INET6, six, rev, sizeof rev);
	expect(z, rev, LDNS_RR_TYPE_PTR, "alice.lab.example.", "PTR of the 6PLANE address");
	expect(z, "12.5.19.198.in-addr.arpa.", LDNS_RR_TYPE_PTR, "0000000cc3.lab.example.", "PTR to the id name when the name is odd");
	a = ask(z, "99.5.19.198.in-addr.arpa.", LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, false, 0, &r);
	ok(a && ldns_pkt_get_rcode(a) == LDNS_RCODE_REFUSED, "PTR of an address no member holds: REFUSED");
	ldns_pkt_free(a);

	/* ---- negative answers and refusals ---- */
	a = ask(z, "bob.lab.example.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false, 0, &r);
	ok(a && ldns_pkt_get_rcode(a) == LDNS_RCODE_NXDOMAIN && ldns_pkt_ancount(a) == 0,
	   "a deauthorized member: NXDOMAIN");
	is_int(r.outcome, DNS_NXDOMAIN, "outcome: nxdomain");
	snprintf(want, sizeof want, "lab.example.");
	is_str(rdata(a, LDNS_SECTION_AUTHORITY), want, "... with the zone's SOA");
	ldns_pkt_free(a);
	a = ask(z, "11.5.19.198.in-addr.arpa.", LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, false, 0, &r);
	ok(a && ldns_pkt_get_rcode(a) == LDNS_RCODE_REFUSED, "no PTR for a deauthorized member's address");
	ldns_pkt_free(a);
	a = ask(z, "alice.lab.example.", LDNS_RR_TYPE_MX, LDNS_RR_CLASS_IN, false, 0, &r);
	ok(a && ldns_pkt_get_rcode(a) == LDNS_RCODE_NOERROR && ldns_pkt_ancount(a) == 0 &&
	   ldns_pkt_nscount(a) == 1, "a type a name lacks: NODATA with the SOA");
	is_int(r.outcome, DNS_NODATA, "outcome: nodata");
	ldns_pkt_free(a);
	a = ask(z, "prod.lab.example.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false, 0, &r);
	ok(a && ldns_pkt_get_rcode(a) == LDNS_RCODE_NOERROR && ldns_pkt_ancount(a) == 0,
	   "an empty non-terminal: NODATA, not NXDOMAIN");
	ldns_pkt_free(a);
	a = ask(z, "lab.example.", LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, false, 0, &r);
	ok(a && ldns_pkt_ancount(a) == 1 &&
	   ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(a), 0), 2)) == 42,
	   "the apex's SOA, with the zone's serial");
	ldns_pkt_free(a);
	a = ask(z, "alice.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false, 0, &r);
	ok(a && ldns_pkt_get_rcode(a) == LDNS_RCODE_REFUSED && !ldns_pkt_aa(a), "a name outside the zone: REFUSED");
	is_int(r.outcome, DNS_REFUSED, "outcome: refused");
	ldns_pkt_free(a);
	a = ask(z, "xlab.example.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false, 0, &r);
	ok(a && ldns_pkt_get_rcode(a) == LDNS_RCODE_REFUSED, "a name that only ends like the domain: REFUSED");
	ldns_pkt_free(a);
	a = ask(z, "alice.lab.example.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_CH, false, 0, &r);
	ok(a && ldns_pkt_get_rcode(a) == LDNS_RCODE_REFUSED, "class CH: REFUSED");
	ldns_pkt_free(a);
	a = ask(z, "lab.example.", LDNS_RR_TYPE_AXFR, LDNS_RR_CLASS_IN, true, 0, &r);
	ok(a && ldns_pkt_get_rcode(a) == LDNS_RCODE_REFUSED, "a zone transfer: REFUSED");
	ldns_pkt_free(a);
	a = ask(NULL, "alice.lab.example.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false, 0, &r);
	ok(a && ldns_pkt_get_rcode(a) == LDNS_RCODE_REFUSED, "no zone (no domain): REFUSED");
	ldns_pkt_free(a);

	/* ---- truncation ---- */
	a = ask(z, "big.lab.example.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, false, 0, &r);
	ok(a && ldns_pkt_tc(a) && ldns_pkt_ancount(a) == 0 && r.len <= 512, "62 AAAA over UDP: TC, no records, within 512 bytes");
	ok(r.truncated && r.outcome == DNS_ANSWERED, "counted as truncated");
	ldns_pkt_free(a);
	a = ask(z, "big.lab.example.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, false, 4096, &r);
	ok(a && ldns_pkt_tc(a) && r.len <= DNS_UDP_MAX && ldns_pkt_edns(a), "with EDNS 4096: still TC within 1232 bytes, EDNS answered");
	ldns_pkt_free(a);
	a = ask(z, "big.lab.example.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, true, 0, &r);
	ok(a && !ldns_pkt_tc(a) && ldns_pkt_ancount(a) == 62 && !r.truncated, "over TCP: all 62");
	ldns_pkt_free(a);

	/* ---- malformed ---- */
	{
		static const uint8_t noq[12] = { 0xab, 0xcd, 0x01, 0x00, 0x00, 0x01 };   /* QDCOUNT 1, no question */
		static const uint8_t resp[12] = { 0xab, 0xcd, 0x81, 0x80 };
		static const uint8_t status[12] = { 0xab, 0xcd, 0x10, 0x00 };   /* opcode STATUS */
		static const uint8_t shortq[5] = { 1, 2, 3, 4, 5 };
		static const uint8_t noqd[12] = { 0xab, 0xcd, 0x01, 0x00 };   /* no question at all */
		uint8_t out[DNS_UDP_MAX];

		dns_answer(z, noq, sizeof noq, false, out, sizeof out, &r);
		ok(r.outcome == DNS_FORMERR && r.len == 12 && out[0] == 0xab && out[1] == 0xcd &&
		   (out[2] & 0x80) && (out[3] & 15) == LDNS_RCODE_FORMERR, "a question cut off: FORMERR with the id");
		dns_answer(z, shortq, sizeof shortq, false, out, sizeof out, &r);
		ok(r.outcome == DNS_DROPPED && r.len == 0, "5 bytes: dropped, no answer");
		dns_answer(z, resp, sizeof resp, false, out, sizeof out, &r);
		ok(r.outcome == DNS_DROPPED && r.len == 0, "a response: never answered");
		dns_answer(z, status, sizeof status, false, out, sizeof out, &r);
		ok(r.outcome == DNS_NOTIMP && r.len >= 12 && (out[3] & 15) == LDNS_RCODE_NOTIMPL, "opcode STATUS: NOTIMP");
		dns_answer(z, noqd, sizeof noqd, false, out, sizeof out, &r);
		ok(r.outcome == DNS_FORMERR && (out[3] & 15) == LDNS_RCODE_FORMERR, "no question: FORMERR");
	}
	dns_zone_free(z);

	/* ---- networks that give no zone ---- */
	z = dns_zone_from_json("{\"id\":\"" NWID "\",\"dns\":[]}", "[]", 5, 1, NULL, NULL, why, sizeof why);
	ok(!z, "a network without dns.domain: no zone");
	is_str(why, "the network has no dns.domain", "... and why");
	z = dns_zone_from_json("{\"id\":\"" NWID "\",\"dns\":{\"domain\":\"bad domain\"}}", "[]", 5, 1, NULL, NULL,
			       why, sizeof why);
	ok(!z, "a domain with a space: no zone");
	z = dns_zone_from_json("{\"id\":", "[]", 5, 1, NULL, NULL, why, sizeof why);
	ok(!z, "JSON cut off: no zone");
	z = dns_zone_from_json("{\"id\":\"" NWID "\",\"dns\":{\"domain\":\"zt.\"},\"routes\":[{\"target\":\"198.19.5.0/26\"}]}",
			       "{\"data\":[{\"id\":\"0000000aa1\",\"authorized\":true,\"name\":\"x\",\"ipAssignments\":[\"198.19.5.1\"]}]}",
			       5, 1, NULL, NULL, why, sizeof why);
	a = z ? ask(z, "x.zt.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false, 0, &r) : NULL;
	is_str(rdata(a, LDNS_SECTION_ANSWER), "198.19.5.1", "the unstable API's {\"data\": [...]} and a final dot");
	ldns_pkt_free(a);
	dns_zone_free(z);
	return tap_done();
}
