/* Every item of t/vectors/networks.txt reproduced byte for byte: derived
 * names, request metadata, the signed credentials, the config dictionary
 * (parsed, re-serialized and built from scratch), its chunk, and the
 * NETWORK_CREDENTIALS payload. */
#include <errno.h>
#include <arpa/inet.h>
#include <zt/inetaddr.h>
#include <zt/netconf.h>
#include "tap.h"
#include "packet-vec.h"

static struct vec_rec *V;
static struct zt_identity ctl, member;
static uint64_t nwid;
static int64_t now;

static const char *need(const char *key)
{
	const char *v = vec_get(V, key);

	if (!v)
		bail("networks.txt: no %s", key);
	return v;
}

static uint8_t want[20000];

/* got[0..len) equals the hex vector key. */
static void is_vec(const uint8_t *got, size_t len, const char *key)
{
	long n = vec_unhex(need(key), want, sizeof want);
	int pass = n >= 0 && (size_t)n == len && memcmp(got, want, len) == 0;

	if (!ok(pass, key)) {
		struct sb b = { 0 };

		sb_hex(&b, got, len);
		diag("got  %zu bytes: %s", len, b.s);
		diag("want %ld bytes: %s", n, need(key));
		free(b.s);
	}
}

static const uint8_t cap_rules[] = {
	0x24, 0x01, 0x06,                     /* ipprotocol tcp */
	0x28, 0x04, 0x00, 0x16, 0x00, 0x16,   /* dport 22 */
	0x01, 0x00,                           /* accept */
};

static void make_com(struct zt_com *c)
{
	if (zt_com_issue(c, nwid, now, ZT_CTMD_DEFAULT, &member) < 0 || zt_com_sign(c, &ctl) < 0)
		bail("cannot issue the COM");
}

static void make_cap(struct zt_cap *c)
{
	memset(c, 0, sizeof *c);
	c->nwid = nwid;
	c->ts = now;
	c->id = 200;
	c->nrules = 3;
	c->rules = cap_rules;
	c->rules_len = sizeof cap_rules;
	c->max_chain = 1;
	if (zt_cap_sign(c, &ctl, member.address) < 0)
		bail("cannot sign the capability");
}

static void make_tag(struct zt_tag *t)
{
	memset(t, 0, sizeof *t);
	t->nwid = nwid;
	t->ts = now;
	t->id = 10;
	t->value = 2;
	t->issued_to = member.address;
	if (zt_tag_sign(t, &ctl) < 0)
		bail("cannot sign the tag");
}

static void make_coo(struct zt_coo *c)
{
	union zt_sockaddr ip;

	memset(c, 0, sizeof *c);
	c->nwid = nwid;
	c->ts = now;
	c->id = 1;
	c->issued_to = member.address;
	zt_inetaddr_from_text(&ip, "10.147.17.42/24");
	if (zt_coo_add_ip(c, &ip) < 0 || zt_coo_sign(c, &ctl) < 0)
		bail("cannot sign the COO");
}

static const struct zt_identity *lookup(uint64_t addr, void *arg)
{
	(void)arg;
	return addr == ctl.address ? &ctl : NULL;
}

static void names(void)
{
	char mac_txt[ZT_MAC_TEXT_LEN], txt[ZT_INETADDR_TEXT_MAX], dev[ZT_DEVNAME_LEN];
	union zt_sockaddr sa;
	struct zt_mcast_group g;
	uint8_t mac[6];
	uint64_t a, n2 = 0x8056c2e21c000001ULL, a2 = 0x89e92ceee5ULL;

	zt_mac_from_address(nwid, member.address, mac);
	zt_mac_fmt(mac, mac_txt);
	is_str(mac_txt, need("member_mac"), "member_mac");
	ok(zt_mac_to_address(nwid, mac, &a) == 0 && a == member.address, "member_mac back to the address");
	zt_sockaddr_rfc4193(&sa, nwid, member.address);
	zt_inetaddr_to_text(&sa, txt, sizeof txt);
	is_str(txt, need("member_rfc4193"), "member_rfc4193");
	zt_sockaddr_6plane(&sa, nwid, member.address);
	zt_inetaddr_to_text(&sa, txt, sizeof txt);
	is_str(txt, need("member_6plane"), "member_6plane");
	zt_linux_devname(nwid, 0, dev);
	is_str(dev, need("linux_device_name"), "linux_device_name");

	zt_mac_from_address(n2, a2, mac);
	zt_mac_fmt(mac, mac_txt);
	is_str(mac_txt, need("mac_2"), "mac_2");
	ok(zt_mac_to_address(n2, mac, &a) == 0 && a == a2, "mac_2 back to the address");
	zt_sockaddr_rfc4193(&sa, n2, a2);
	zt_inetaddr_to_text(&sa, txt, sizeof txt);
	is_str(txt, need("rfc4193_2"), "rfc4193_2");
	zt_sockaddr_6plane(&sa, n2, a2);
	zt_inetaddr_to_text(&sa, txt, sizeof txt);
	is_str(txt, need("6plane_2"), "6plane_2");
	zt_linux_devname(n2, 0, dev);
	is_str(dev, need("linux_device_name_2"), "linux_device_name_2");

	zt_mac_from_address(0x1234567890abcd50ULL, a2, mac);
	zt_mac_fmt(mac, mac_txt);
	is_str(mac_txt, need("mac_3"), "mac_3 (0x52 becomes 0x32)");
	ok(zt_mac_to_address(0x1234567890abcd50ULL, mac, &a) == 0 && a == a2, "mac_3 back to the address");

	zt_mcast_arp(&g, 0x0a931105);
	zt_mac_fmt(g.mac, mac_txt);
	ok(!strcmp(mac_txt, "ff:ff:ff:ff:ff:ff") && g.adi == 0x0a931105, "ARP group for 10.147.17.5");
}

static void metadata(void)
{
	struct zt_ncreq_meta m, m2;
	uint8_t buf[ZT_DICT_META_CAP];
	struct zt_wr w;

	zt_ncreq_meta_default(&m, "linux/x86_64");
	zt_wr_init(&w, buf, ZT_DICT_META_CAP - 1);
	ok(zt_ncreq_meta_write(&m, &w) == 0, "metadata written");
	is_vec(buf, w.len, "request_metadata");
	ok(zt_ncreq_meta_parse(&m2, buf, w.len) == 0 && m2.revr == 1 && m2.minv == 14 &&
	   !strcmp(m2.os, "linux/x86_64") && m2.mr == 1024, "metadata parses back");
}

static void rules(void)
{
	uint8_t r[16];
	long n = vec_unhex(need("rules_example"), r, sizeof r);
	struct zt_rd rd;

	zt_rd_init(&rd, r, (size_t)n);
	ok(zt_rules_skip(&rd, 3) == 0 && zt_rd_left(&rd) == 0, "rules_example: three rules exactly");
	zt_rd_init(&rd, r, (size_t)n);
	ok(zt_rules_skip(&rd, 4) == -EMSGSIZE, "rules_example: no fourth rule");
}

static void credentials(void)
{
	uint8_t buf[4096], msg[512];
	struct zt_com com, com2;
	struct zt_cap cap, cap2;
	struct zt_tag tag, tag2;
	struct zt_coo coo, coo2;
	struct zt_revocation rev, rev2;
	struct zt_wr w;
	struct zt_rd r;
	size_t n;

	make_com(&com);
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_com_write(&w, &com) == 0 && w.len == ZT_COM_LEN_1_14, "COM is 272 bytes");
	is_vec(buf, w.len, "com");
	n = zt_com_signed_msg(&com, msg, sizeof msg);
	is_vec(msg, n, "com_signed_message");
	is_mem(buf + 3, msg, n, "COM signed message is COM bytes 3..170");
	zt_rd_init(&r, want, ZT_COM_LEN_1_14);
	vec_unhex(need("com"), want, sizeof want);
	ok(zt_com_read(&r, &com2) == 0 && zt_rd_left(&r) == 0 && zt_com_equal(&com, &com2), "COM parses");
	is_int(zt_com_verify(&com2, &ctl), 0, "COM verifies with the controller");
	ok(zt_com_nwid(&com2) == nwid && zt_com_timestamp(&com2) == now &&
	   zt_com_issued_to(&com2) == member.address, "COM qualifiers");
	ok(zt_com_agrees(&com2, &com2, &member), "COM agrees with itself for the member");

	make_cap(&cap);
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_cap_write(&w, &cap) == 0, "capability written");
	is_vec(buf, w.len, "capability");
	is_vec(msg, (size_t)zt_cap_signing_input(&cap, msg, sizeof msg), "capability_signing_input");
	zt_rd_init(&r, buf, w.len);
	ok(zt_cap_read(&r, &cap2) == 0 && zt_rd_left(&r) == 0 && cap2.id == 200 && cap2.nrules == 3 &&
	   cap2.nchain == 1 && zt_cap_issued_to(&cap2) == member.address, "capability parses");
	is_int(zt_cap_verify(&cap2, lookup, NULL), 0, "capability verifies");

	make_tag(&tag);
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_tag_write(&w, &tag) == 0 && w.len == ZT_TAG_LEN, "tag is 135 bytes");
	is_vec(buf, w.len, "tag");
	is_vec(msg, (size_t)zt_tag_signing_input(&tag, msg, sizeof msg), "tag_signing_input");
	zt_rd_init(&r, buf, w.len);
	ok(zt_tag_read(&r, &tag2) == 0 && tag2.id == 10 && tag2.value == 2, "tag parses");
	is_int(zt_tag_verify(&tag2, &ctl), 0, "tag verifies");

	make_coo(&coo);
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_coo_write(&w, &coo) == 0 && w.len == 158, "COO is 158 bytes");
	is_vec(buf, w.len, "coo");
	is_vec(msg, (size_t)zt_coo_signing_input(&coo, msg, sizeof msg), "coo_signing_input");
	zt_rd_init(&r, buf, w.len);
	ok(zt_coo_read(&r, &coo2) == 0 && coo2.nthings == 1 && coo2.thing_type[0] == ZT_COO_IPV4, "COO parses");
	is_int(zt_coo_verify(&coo2, &ctl), 0, "COO verifies");

	memset(&rev, 0, sizeof rev);
	rev.id = 0x11223344;
	rev.nwid = nwid;
	rev.threshold = now + 60000;
	rev.flags = ZT_REV_FAST_PROPAGATE;
	rev.target = member.address;
	rev.type = ZT_CRED_COM;
	ok(zt_rev_sign(&rev, &ctl) == 0, "revocation signed");
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_rev_write(&w, &rev) == 0 && w.len == ZT_REV_LEN, "revocation is 152 bytes");
	is_vec(buf, w.len, "revocation");
	is_vec(msg, (size_t)zt_rev_signing_input(&rev, msg, sizeof msg), "revocation_signing_input");
	zt_rd_init(&r, buf, w.len);
	ok(zt_rev_read(&r, &rev2) == 0 && rev2.id == 0x11223344 && rev2.threshold == now + 60000, "revocation parses");
	is_int(zt_rev_verify(&rev2, &ctl), 0, "revocation verifies");

	/* NETWORK_CREDENTIALS as a 1.14 member pushes it */
	zt_wr_init(&w, buf, sizeof buf);
	ok(zt_netcreds_encode(&w, &com, &cap, 1, &tag, 1, NULL, 0, &coo, 1) == 0, "credentials encoded");
	is_vec(buf, w.len, "network_credentials_payload");
	{
		struct zt_netcreds nc;

		ok(zt_netcreds_decode(&nc, buf, w.len) == 0 && nc.ncom == 1 && nc.ncap == 1 &&
		   nc.ntag == 1 && nc.nrev == 0 && nc.ncoo == 1, "credentials decode: 1 1 1 0 1");
		ok(zt_netcreds_com(&nc, 0, &com2) == 0 && zt_com_verify(&com2, &ctl) == 0 &&
		   zt_netcreds_cap(&nc, 0, &cap2) == 0 && zt_cap_verify(&cap2, lookup, NULL) == 0 &&
		   zt_netcreds_tag(&nc, 0, &tag2) == 0 && zt_tag_verify(&tag2, &ctl) == 0 &&
		   zt_netcreds_coo(&nc, 0, &coo2) == 0 && zt_coo_verify(&coo2, &ctl) == 0,
		   "every pushed credential verifies");
		ok(zt_netcreds_rev(&nc, 0, &rev2) == -ENOENT, "no revocation in the push");
	}
}

static void config(void)
{
	static uint8_t dict[ZT_DICT_CONFIG_CAP], out[ZT_DICT_CONFIG_CAP], body[ZT_PKT_MAX];
	struct zt_netconf *nc = zt_netconf_new(), *built = zt_netconf_new();
	char txt[ZT_INETADDR_TEXT_MAX];
	struct zt_config_chunk ch;
	struct zt_config_asm as;
	const uint8_t *whole;
	size_t whole_len;
	struct zt_wr w;
	long n;
	int slice;

	n = vec_unhex(need("config_dictionary"), dict, sizeof dict);
	is_int(n, 1458, "config_dictionary is 1458 bytes");
	is_int(zt_netconf_parse(nc, dict, (size_t)n), 0, "config parses");
	ok(nc->version == 7 && nc->nwid == nwid && nc->ts == now && nc->ctmd == 1800000 &&
	   nc->revision == 3 && nc->issued_to == member.address && nc->trace_target == 0 &&
	   nc->flags == ZT_NETCONF_F_BROADCAST && nc->mcast_limit == 32 && nc->type == ZT_NET_PRIVATE &&
	   !strcmp(nc->name, "testnet") && nc->mtu == 2800, "config scalars");
	ok(nc->has_com && zt_com_verify(&nc->com, &ctl) == 0, "config COM verifies");
	ok(nc->ncaps == 1 && nc->caps[0].id == 200 && zt_cap_verify(&nc->caps[0], lookup, NULL) == 0,
	   "config capability verifies");
	ok(nc->ntags == 1 && zt_netconf_tag(nc, 10) && zt_netconf_tag(nc, 10)->value == 2 &&
	   zt_tag_verify(&nc->tags[0], &ctl) == 0, "config tag verifies");
	ok(nc->ncoos == 1 && zt_coo_verify(&nc->coos[0], &ctl) == 0, "config COO verifies");
	zt_inetaddr_to_text(&nc->routes[0].target, txt, sizeof txt);
	ok(nc->nroutes == 1 && !strcmp(txt, "10.147.17.0/24") &&
	   nc->routes[0].via.sa.sa_family == AF_UNSPEC, "config route 10.147.17.0/24 on-link");
	zt_inetaddr_to_text(&nc->ips[0], txt, sizeof txt);
	ok(nc->nips == 1 && !strcmp(txt, "10.147.17.42/24"), "config static IP 10.147.17.42/24");
	ok(nc->nrules == 1 && nc->rules_len == 2 && nc->rules[0] == 1, "config rules: ACCEPT");
	ok(nc->dns.domain[0] == 0 && nc->dns.servers[0].sa.sa_family == AF_UNSPEC, "config DNS empty");
	ok(nc->sso_version == 0 && !nc->sso_enabled, "config SSO off");

	zt_wr_init(&w, out, ZT_DICT_CONFIG_CAP - 1);
	is_int(zt_netconf_write(nc, &w), 0, "parsed config re-serialized");
	is_vec(out, w.len, "config_dictionary");

	/* the same config from scratch, signed now */
	built->nwid = nwid;
	built->ts = now;
	built->ctmd = ZT_CTMD_DEFAULT;
	built->revision = 3;
	built->issued_to = member.address;
	built->flags = ZT_NETCONF_F_BROADCAST;
	built->mcast_limit = 32;
	built->type = ZT_NET_PRIVATE;
	strcpy(built->name, "testnet");
	built->has_com = true;
	make_com(&built->com);
	built->ncaps = 1;
	make_cap(&built->caps[0]);
	built->ntags = 1;
	make_tag(&built->tags[0]);
	built->ncoos = 1;
	make_coo(&built->coos[0]);
	built->nroutes = 1;
	zt_inetaddr_from_text(&built->routes[0].target, "10.147.17.0/24");
	built->nips = 1;
	zt_inetaddr_from_text(&built->ips[0], "10.147.17.42/24");
	built->nrules = 1;
	built->rules = (const uint8_t *)"\x01\x00";
	built->rules_len = 2;
	zt_wr_init(&w, out, ZT_DICT_CONFIG_CAP - 1);
	is_int(zt_netconf_write(built, &w), 0, "config built by a controller");
	is_vec(out, w.len, "config_dictionary");

	/* one chunk */
	zt_wr_init(&w, body, sizeof body);
	slice = zt_chunk_encode(&w, nwid, dict, (size_t)n, 0, 0, 0x0123456789abcdefULL, &ctl);
	is_int(slice, 1458, "one chunk takes the whole config");
	is_vec(body, w.len, "config_chunk_body");
	vec_unhex(need("config_chunk_body"), body, sizeof body);
	ok(zt_chunk_decode(&ch, body, w.len) == 0 && !ch.legacy && ch.nwid == nwid && ch.len == 1458 &&
	   ch.total == 1458 && ch.offset == 0 && ch.flags == 0 && ch.update_id == 0x0123456789abcdefULL,
	   "chunk fields");
	is_int(zt_chunk_verify(&ch, &ctl), 0, "chunk signature verifies");
	zt_config_asm_init(&as);
	ok(!zt_config_asm_is_dup(&as, &ch), "chunk not seen yet");
	ok(zt_config_asm_add(&as, &ch, &whole, &whole_len) == 1 && whole_len == 1458 &&
	   memcmp(whole, dict, 1458) == 0, "one chunk completes the config");
	ok(zt_config_asm_is_dup(&as, &ch), "the chunk again is a duplicate");
	zt_config_asm_fini(&as);

	zt_netconf_free(nc);
	zt_netconf_free(built);
}

int main(void)
{
	struct vec_file vf = vec_load("networks.txt", NULL);

	V = &vf.rec[0];
	plan(76);
	if (zt_identity_from_text(&ctl, need("controller_identity_secret")) < 0 ||
	    zt_identity_from_text(&member, need("member_identity_public")) < 0)
		bail("bad identities in networks.txt");
	nwid = strtoull(need("nwid"), NULL, 16);
	now = strtoll(need("now_ms"), NULL, 10);
	ok(zt_nwid_controller(nwid) == ctl.address, "the controller of nwid is the controller identity");

	names();
	metadata();
	rules();
	credentials();
	config();
	vec_free(&vf);
	return tap_done();
}
