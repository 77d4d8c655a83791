/*
 * tests/bpf/test_errors.c - the error actions of bpf/classifier.bpf.c
 * (bpf/lib/errors.h) on crafted packets: dns (rcode rewritten and the
 * response trimmed to the question, dropped, --domain exact and wildcard,
 * malformed responses passed), http (status rewritten, --path, delay of the
 * first segment) and reset (ingress rewritten in place, egress reflected),
 * asserted on verdicts, output bytes, IP and L4 checksums recomputed here,
 * and counters. bpf_prog_test_run's skb is CHECKSUM_NONE: the checksums the
 * program writes are full ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "tests/lib/bpf_test.h"

#define REDIRECT 7u /* TC_ACT_REDIRECT: bpf_redirect()'s verdict */
#define ETH	 14
#define TCP_FIN	 0x01
#define TCP_SYN	 0x02
#define TCP_RST	 0x04
#define TCP_PSH	 0x08
#define TCP_ACK	 0x10

#define CLIENT4 "10.0.0.1"
#define SERVER4 "10.0.0.53"
#define CLIENT6 "fd00::1"
#define SERVER6 "fd00::53"

/* ---- frames ------------------------------------------------------------ */

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += get16(b + i);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Where the parts of one of this file's frames are. */
struct geo {
	int v6;
	uint8_t proto;
	uint32_t l3, l4, l4len, end;
};

static struct geo geo_of(const struct pkt *p)
{
	struct geo g = {.l3 = ETH};

	g.v6 = get16(p->b + 12) == 0x86DD;
	if (g.v6) {
		g.proto = p->b[ETH + 6];
		g.l4 = ETH + 40;
		g.l4len = get16(p->b + ETH + 4);
	} else {
		uint32_t ihl = (p->b[ETH] & 15u) * 4;

		g.proto = p->b[ETH + 9];
		g.l4 = ETH + ihl;
		g.l4len = get16(p->b + ETH + 2) - ihl;
	}
	g.end = g.l4 + g.l4len;
	return g;
}

/* The L4 checksum the segment must carry (its field taken as 0). */
static uint16_t l4_csum(const struct pkt *p)
{
	struct geo g = geo_of(p);
	uint32_t alen = g.v6 ? 16 : 4, aoff = g.v6 ? 8 : 12, coff = g.proto == 6 ? 16 : 6, s;
	uint8_t seg[2048];

	memcpy(seg, p->b + g.l4, g.l4len);
	seg[coff] = seg[coff + 1] = 0;
	s = sum16(p->b + g.l3 + aoff, 2 * alen, 0);
	s += g.proto + g.l4len;
	s = sum16(seg, g.l4len, s);
	s = (uint16_t)~fold(s);
	if (g.proto == 17 && s == 0)
		s = 0xffff;
	return (uint16_t)s;
}

static void set_csums(struct pkt *p, int udp_no_csum)
{
	struct geo g = geo_of(p);

	if (!g.v6) {
		put16(p->b + ETH + 10, 0);
		put16(p->b + ETH + 10, (uint16_t)~fold(sum16(p->b + ETH, 20, 0)));
	}
	put16(p->b + g.l4 + (g.proto == 6 ? 16 : 6), 0);
	if (!(g.proto == 17 && udp_no_csum))
		put16(p->b + g.l4 + (g.proto == 6 ? 16 : 6), l4_csum(p));
}

/* The frame's lengths agree and its IP and L4 checksums are valid. */
static void assert_valid(const struct pkt *p)
{
	struct geo g = geo_of(p);

	assert_int_equal(p->len, g.end);
	if (!g.v6)
		assert_int_equal(fold(sum16(p->b + ETH, 20, 0)), 0xffff);
	if (g.proto == 17)
		assert_int_equal(get16(p->b + g.l4 + 4), g.l4len);
	assert_int_equal(get16(p->b + g.l4 + (g.proto == 6 ? 16 : 6)), l4_csum(p));
}

/* Ethernet + IPv4/IPv6 + TCP/UDP + payload, checksums valid. */
static void frame(struct pkt *p, int v6, uint8_t proto, const char *src, uint16_t sport,
		  const char *dst, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		  const void *pay, uint32_t plen)
{
	uint32_t l4 = ETH + (v6 ? 40 : 20), hl = proto == 6 ? 20 : 8, l4len = hl + plen;
	uint8_t *ip = p->b + ETH, *th = p->b + l4;

	memset(p, 0, sizeof(*p));
	memcpy(p->b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	put16(p->b + 12, v6 ? 0x86DD : 0x0800);
	if (v6) {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = proto;
		ip[7] = 64;
		assert_int_equal(inet_pton(AF_INET6, src, ip + 8), 1);
		assert_int_equal(inet_pton(AF_INET6, dst, ip + 24), 1);
	} else {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + l4len));
		put16(ip + 4, 0x1234);
		ip[6] = 0x40;
		ip[8] = 64;
		ip[9] = proto;
		assert_int_equal(inet_pton(AF_INET, src, ip + 12), 1);
		assert_int_equal(inet_pton(AF_INET, dst, ip + 16), 1);
	}
	put16(th, sport);
	put16(th + 2, dport);
	if (proto == 6) {
		put32(th + 4, seq);
		put32(th + 8, ack);
		th[12] = 5 << 4;
		th[13] = flags;
		put16(th + 14, 0xfff0);
	} else {
		put16(th + 4, (uint16_t)l4len);
	}
	memcpy(th + hl, pay, plen);
	p->len = l4 + l4len;
	set_csums(p, 0);
}

static void assert_same(const struct pkt *a, const struct pkt *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->b, b->b, a->len);
}

/* Run and expect the packet to pass byte for byte. */
static void assert_passes(int dir, struct pkt *p)
{
	assert_int_equal(run(dir, p, 1), PASS);
	assert_same(&last_out, p);
}

/* ---- dns messages ------------------------------------------------------ */

/* name "www.example.com" -> wire format; returns its length. */
static uint32_t qname(uint8_t *w, const char *name)
{
	uint32_t n = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		w[n++] = (uint8_t)l;
		memcpy(w + n, name, l);
		n += (uint32_t)l;
		name += l + (dot ? 1 : 0);
	}
	w[n++] = 0;
	return n;
}

/* A DNS message: header with flags, one question (qd counts), an answers
 * of type A, and one OPT record when ar. Returns its length. */
static uint32_t dns_msg(uint8_t *m, uint16_t flags, uint16_t qd, const char *name, int an, int ar)
{
	uint32_t n = 12;

	memset(m, 0, 12);
	put16(m, 0xbeef);
	put16(m + 2, flags);
	put16(m + 4, qd);
	put16(m + 6, (uint16_t)an);
	put16(m + 10, (uint16_t)ar);
	n += qname(m + n, name);
	put16(m + n, 1); /* A */
	put16(m + n + 2, 1);
	n += 4;
	for (int i = 0; i < an; i++) {
		memcpy(m + n, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\x0a\x01\x02", 15);
		m[n + 15] = (uint8_t)i;
		n += 16;
	}
	if (ar) {
		memcpy(m + n, "\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00", 11);
		n += 11;
	}
	return n;
}

/* A UDP DNS response from the server (port 53) to the client. */
static uint32_t dns_udp(struct pkt *p, int v6, const char *name, uint16_t flags)
{
	uint8_t m[600];
	uint32_t n = dns_msg(m, flags, 1, name, 2, 1);

	frame(p, v6, 17, v6 ? SERVER6 : SERVER4, 53, v6 ? CLIENT6 : CLIENT4, 40000, 0, 0, 0, m, n);
	return n;
}

static struct fl_rule_spec dns_spec(int rcode)
{
	struct fl_rule_spec s = {.dir_mask = FL_DIRMASK_BOTH, .protocol = FL_PROTOCOL_ANY};

	s.dns.rcode = rcode;
	return s;
}

/* The response was trimmed to its question, with rcode and counts set. */
static void assert_dns_rewritten(const struct pkt *in, const struct pkt *out, const char *name,
				 int rcode)
{
	struct geo gi = geo_of(in), go = geo_of(out);
	uint8_t w[300];
	uint32_t qn = qname(w, name), msg = go.l4 + 8;

	assert_valid(out);
	assert_int_equal(go.l4len, 8 + 12 + qn + 4);
	/* id, QR/opcode/RD kept, AA and TC cleared; RA kept, rcode set */
	assert_memory_equal(out->b + msg, in->b + gi.l4 + 8, 2);
	assert_int_equal(out->b[msg + 2], in->b[gi.l4 + 8 + 2] & ~0x06);
	assert_int_equal(out->b[msg + 3], (in->b[gi.l4 + 8 + 3] & 0xf0) | rcode);
	assert_memory_equal(out->b + msg + 4, "\x00\x01\x00\x00\x00\x00\x00\x00", 8);
	/* the question as it was */
	assert_memory_equal(out->b + msg + 12, in->b + gi.l4 + 8 + 12, qn + 4);
	/* the headers before the UDP payload: only lengths and checksums moved */
	assert_memory_equal(out->b, in->b, ETH + (go.v6 ? 4 : 2));
	assert_memory_equal(out->b + go.l4, in->b + gi.l4, 4);
}

static void dns_udp_v4_rcodes_trim_to_the_question(void **state)
{
	static const int rcodes[] = {FL_DNS_RCODE_SERVFAIL, FL_DNS_RCODE_NXDOMAIN,
				     FL_DNS_RCODE_REFUSED};
	struct pkt p;
	int id;

	(void)state;
	for (int i = 0; i < 3; i++) {
		id = add(dns_spec(rcodes[i]));
		/* AA and TC set in the original: both cleared */
		dns_udp(&p, 0, "www.example.com", 0x8780);
		assert_int_equal(run(i == 1 ? FL_DIR_EGRESS : FL_DIR_INGRESS, &p, 1), PASS);
		assert_true(last_out.len < p.len);
		assert_dns_rewritten(&p, &last_out, "www.example.com", rcodes[i]);
		assert_int_equal(counters(id).rewritten, 1);
		assert_int_equal(counters(id).matched, 1);
		assert_int_equal(fl_engine__remove_rule(E, id), 0);
	}
}

static void dns_udp_v6_servfail(void **state)
{
	struct pkt p;
	int id;

	(void)state;
	id = add(dns_spec(FL_DNS_RCODE_SERVFAIL));
	dns_udp(&p, 1, "db.internal", 0x8180);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
	assert_dns_rewritten(&p, &last_out, "db.internal", 2);
	assert_int_equal(get16(last_out.b + ETH + 4), 8 + 12 + 13 + 4); /* payload_len */
	assert_int_equal(counters(id).rewritten, 1);
}

static void dns_udp_v4_zero_checksum_stays_zero(void **state)
{
	struct pkt p;

	(void)state;
	add(dns_spec(FL_DNS_RCODE_NXDOMAIN));
	dns_udp(&p, 0, "www.example.com", 0x8180);
	set_csums(&p, 1);
	assert_int_equal(get16(p.b + ETH + 20 + 6), 0);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
	assert_int_equal(get16(last_out.b + ETH + 20 + 6), 0);
	assert_int_equal(last_out.b[ETH + 20 + 8 + 3] & 15, 3);
	assert_int_equal(fold(sum16(last_out.b + ETH, 20, 0)), 0xffff);
	assert_int_equal(get16(last_out.b + ETH + 2), last_out.len - ETH);
}

static void dns_drop_drops_the_response(void **state)
{
	struct pkt p;
	int id;

	(void)state;
	id = add(dns_spec(FL_DNS_RCODE_DROP));
	dns_udp(&p, 0, "www.example.com", 0x8180);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), DROP);
	dns_udp(&p, 1, "www.example.com", 0x8180);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
	assert_int_equal(counters(id).dropped, 2);
	assert_int_equal(counters(id).rewritten, 0);
}

static void dns_domain_exact_match_only(void **state)
{
	struct fl_rule_spec s = dns_spec(FL_DNS_RCODE_NXDOMAIN);
	struct pkt p;
	int id;

	(void)state;
	strcpy(s.dns.domains, "www.example.com,db.example.org.");
	id = add(s);
	/* case-insensitive */
	dns_udp(&p, 0, "WWW.Example.COM", 0x8180);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
	assert_dns_rewritten(&p, &last_out, "WWW.Example.COM", 3);
	dns_udp(&p, 0, "db.example.org", 0x8180);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
	assert_dns_rewritten(&p, &last_out, "db.example.org", 3);
	/* others: byte-identical */
	dns_udp(&p, 0, "api.example.com", 0x8180);
	assert_passes(FL_DIR_INGRESS, &p);
	dns_udp(&p, 0, "www.example.com.evil", 0x8180);
	assert_passes(FL_DIR_INGRESS, &p);
	dns_udp(&p, 0, "a.www.example.com", 0x8180);
	assert_passes(FL_DIR_INGRESS, &p);
	assert_int_equal(counters(id).rewritten, 2);
	assert_int_equal(counters(id).matched, 5);
}

static void dns_domain_wildcard_matches_names_below_only(void **state)
{
	struct fl_rule_spec s = dns_spec(FL_DNS_RCODE_SERVFAIL);
	struct pkt p;
	int id;

	(void)state;
	strcpy(s.dns.domains, "*.svc.local");
	id = add(s);
	dns_udp(&p, 0, "a.svc.local", 0x8180);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
	assert_dns_rewritten(&p, &last_out, "a.svc.local", 2);
	dns_udp(&p, 1, "A.B.SVC.local", 0x8180);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
	assert_dns_rewritten(&p, &last_out, "A.B.SVC.local", 2);
	dns_udp(&p, 0, "svc.local", 0x8180);
	assert_passes(FL_DIR_INGRESS, &p);
	dns_udp(&p, 0, "xsvc.local", 0x8180);
	assert_passes(FL_DIR_INGRESS, &p);
	dns_udp(&p, 0, "a.svc.locale", 0x8180);
	assert_passes(FL_DIR_INGRESS, &p);
	assert_int_equal(counters(id).rewritten, 2);
	/* removing the rule removes its names: a new rule of the same id
	 * without domains is not confused by them, and one with other
	 * domains does not match the old ones */
	assert_int_equal(fl_engine__remove_rule(E, id), 0);
	strcpy(s.dns.domains, "other.example");
	id = add(s);
	dns_udp(&p, 0, "a.svc.local", 0x8180);
	assert_passes(FL_DIR_INGRESS, &p);
	assert_int_equal(counters(id).rewritten, 0);
}

static void dns_queries_and_other_ports_pass(void **state)
{
	uint8_t m[600];
	struct pkt p;
	uint32_t n;
	int id;

	(void)state;
	id = add(dns_spec(FL_DNS_RCODE_SERVFAIL));
	/* a query (QR = 0) from port 53 */
	n = dns_msg(m, 0x0100, 1, "www.example.com", 0, 0);
	frame(&p, 0, 17, SERVER4, 53, CLIENT4, 40000, 0, 0, 0, m, n);
	assert_passes(FL_DIR_INGRESS, &p);
	/* a query to port 53 */
	frame(&p, 0, 17, CLIENT4, 40000, SERVER4, 53, 0, 0, 0, m, n);
	assert_passes(FL_DIR_EGRESS, &p);
	/* a response from another port */
	n = dns_msg(m, 0x8180, 1, "www.example.com", 2, 0);
	frame(&p, 0, 17, SERVER4, 5353, CLIENT4, 53, 0, 0, 0, m, n);
	assert_passes(FL_DIR_INGRESS, &p);
	/* opcode 2 (STATUS) */
	n = dns_msg(m, 0x9180, 1, "www.example.com", 2, 0);
	frame(&p, 0, 17, SERVER4, 53, CLIENT4, 40000, 0, 0, 0, m, n);
	assert_passes(FL_DIR_INGRESS, &p);
	assert_int_equal(counters(id).rewritten, 0);
	assert_int_equal(counters(id).matched, 4);
}

static void dns_custom_port(void **state)
{
	struct fl_rule_spec s = dns_spec(FL_DNS_RCODE_REFUSED);
	uint8_t m[600];
	struct pkt p;
	uint32_t n;

	(void)state;
	s.dns.port = 5353;
	add(s);
	n = dns_msg(m, 0x8180, 1, "x.local", 1, 0);
	frame(&p, 0, 17, SERVER4, 5353, CLIENT4, 40000, 0, 0, 0, m, n);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
	assert_dns_rewritten(&p, &last_out, "x.local", 5);
	dns_udp(&p, 0, "x.local", 0x8180); /* port 53: not this rule's */
	assert_passes(FL_DIR_INGRESS, &p);
}

static void dns_malformed_responses_pass_unchanged(void **state)
{
	uint8_t m[600];
	struct pkt p;
	uint32_t n;
	int id;

	(void)state;
	id = add(dns_spec(FL_DNS_RCODE_SERVFAIL));
	/* truncated header */
	n = dns_msg(m, 0x8180, 1, "www.example.com", 0, 0);
	frame(&p, 0, 17, SERVER4, 53, CLIENT4, 40000, 0, 0, 0, m, 8);
	assert_passes(FL_DIR_INGRESS, &p);
	/* header only */
	frame(&p, 0, 17, SERVER4, 53, CLIENT4, 40000, 0, 0, 0, m, 12);
	assert_passes(FL_DIR_INGRESS, &p);
	/* the question name runs past the end */
	frame(&p, 0, 17, SERVER4, 53, CLIENT4, 40000, 0, 0, 0, m, 12 + 9);
	assert_passes(FL_DIR_INGRESS, &p);
	/* the name ends but QTYPE/QCLASS are cut */
	frame(&p, 0, 17, SERVER4, 53, CLIENT4, 40000, 0, 0, 0, m, n - 2);
	assert_passes(FL_DIR_INGRESS, &p);
	/* a label length above 63 */
	n = dns_msg(m, 0x8180, 1, "www.example.com", 1, 0);
	m[12 + 4] = 64;
	frame(&p, 0, 17, SERVER4, 53, CLIENT4, 40000, 0, 0, 0, m, n);
	assert_passes(FL_DIR_INGRESS, &p);
	/* a compression pointer in the question */
	n = dns_msg(m, 0x8180, 1, "www.example.com", 1, 0);
	m[12 + 4] = 0xc0;
	m[12 + 5] = 0x0c;
	frame(&p, 0, 17, SERVER4, 53, CLIENT4, 40000, 0, 0, 0, m, n);
	assert_passes(FL_DIR_INGRESS, &p);
	/* two questions */
	n = dns_msg(m, 0x8180, 2, "www.example.com", 1, 0);
	frame(&p, 0, 17, SERVER4, 53, CLIENT4, 40000, 0, 0, 0, m, n);
	assert_passes(FL_DIR_INGRESS, &p);
	/* a name longer than 255 bytes (5 labels of 63) */
	{
		char name[400];
		size_t o = 0;

		for (int l = 0; l < 5; l++) {
			memset(name + o, 'a' + l, 63);
			o += 63;
			name[o++] = '.';
		}
		name[o - 1] = 0;
		n = dns_msg(m, 0x8180, 1, name, 0, 0);
		frame(&p, 0, 17, SERVER4, 53, CLIENT4, 40000, 0, 0, 0, m, n);
		assert_passes(FL_DIR_INGRESS, &p);
		/* 4 labels of 63: 4 * 64 + 1 = 257 bytes, still too long;
		 * 3 labels of 63 and one of 61: 255, the longest name */
		name[3 * 64 + 61] = 0;
		n = dns_msg(m, 0x8180, 1, name, 0, 0);
		frame(&p, 0, 17, SERVER4, 53, CLIENT4, 40000, 0, 0, 0, m, n);
		assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
		assert_dns_rewritten(&p, &last_out, name, 2);
	}
	assert_int_equal(counters(id).rewritten, 1);
}

static void dns_over_tcp_rewrites_the_rcode_in_place(void **state)
{
	uint8_t m[600];
	struct pkt p;
	uint32_t n;
	int id;

	(void)state;
	id = add(dns_spec(FL_DNS_RCODE_NXDOMAIN));
	for (int v6 = 0; v6 < 2; v6++) {
		struct geo g;

		n = dns_msg(m + 2, 0x8180, 1, "www.example.com", 2, 1);
		put16(m, (uint16_t)n);
		frame(&p, v6, 6, v6 ? SERVER6 : SERVER4, 53, v6 ? CLIENT6 : CLIENT4, 40000, 1000,
		      2000, TCP_ACK | TCP_PSH, m, n + 2);
		assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
		g = geo_of(&last_out);
		assert_int_equal(last_out.len, p.len);
		assert_valid(&last_out);
		assert_int_equal(last_out.b[g.l4 + 20 + 2 + 3], 0x83);
		/* nothing else moved */
		last_out.b[g.l4 + 20 + 2 + 3] = p.b[g.l4 + 20 + 2 + 3];
		last_out.b[g.l4 + 16] = p.b[g.l4 + 16];
		last_out.b[g.l4 + 17] = p.b[g.l4 + 17];
		assert_same(&last_out, &p);
	}
	/* a segment too short for a DNS header passes */
	frame(&p, 0, 6, SERVER4, 53, CLIENT4, 40000, 1000, 2000, TCP_ACK, m, 13);
	assert_passes(FL_DIR_INGRESS, &p);
	assert_int_equal(counters(id).rewritten, 2);
}

/* |k - n p| within 3.29 sigma (a 0.1% false alarm) */
static void assert_binomial(int k, int n, double pr)
{
	double sd = sqrt(n * pr * (1 - pr));

	if (fabs(k - n * pr) > 3.29 * sd)
		print_error("%d of %d, expected %.0f +- %.0f\n", k, n, n * pr, 3.29 * sd);
	assert_true(fabs(k - n * pr) <= 3.29 * sd);
}

static void dns_percent_rewrites_that_share(void **state)
{
	struct fl_rule_spec s = dns_spec(FL_DNS_RCODE_SERVFAIL);
	struct pkt p;
	int id, k = 0;

	(void)state;
	s.dns.ppb = FL_PPB_100 / 2;
	s.has_seed = 1;
	s.seed = 7;
	id = add(s);
	dns_udp(&p, 0, "www.example.com", 0x8180);
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
		if (last_out.len != p.len) {
			assert_dns_rewritten(&p, &last_out, "www.example.com", 2);
			k++;
		} else {
			assert_same(&last_out, &p);
		}
	}
	assert_binomial(k, 2000, 0.5);
	assert_int_equal(counters(id).rewritten, k);
}

/* ---- http -------------------------------------------------------------- */

#define WEB4 "10.0.0.80"
#define WEB6 "fd00::80"

static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

static struct fl_rule_spec http_spec(int status)
{
	struct fl_rule_spec s = {.dir_mask = FL_DIRMASK_BOTH, .protocol = FL_PROTO_TCP};

	s.http.on = 1;
	s.http.status = status;
	return s;
}

/* A segment from the web server (port 80) to the client. */
static void http_from_server(struct pkt *p, int v6, const char *pay)
{
	frame(p, v6, 6, v6 ? WEB6 : WEB4, 80, v6 ? CLIENT6 : CLIENT4, 40000, 5000, 6000,
	      TCP_ACK | TCP_PSH, pay, (uint32_t)strlen(pay));
}

static void http_to_server(struct pkt *p, int v6, const char *pay)
{
	frame(p, v6, 6, v6 ? CLIENT6 : CLIENT4, 40000, v6 ? WEB6 : WEB4, 80, 6000, 5000,
	      TCP_ACK | TCP_PSH, pay, (uint32_t)strlen(pay));
}

/* The response's status was rewritten to code, nothing else moved. */
static void assert_status(const struct pkt *in, const struct pkt *out, const char *code)
{
	struct geo g = geo_of(out);
	struct pkt x = *out;

	assert_valid(out);
	assert_int_equal(out->len, in->len);
	assert_memory_equal(out->b + g.l4 + 20, "HTTP/1.1 ", 9);
	assert_memory_equal(out->b + g.l4 + 20 + 9, code, 3);
	memcpy(x.b + g.l4 + 20 + 9, in->b + g.l4 + 20 + 9, 3);
	x.b[g.l4 + 16] = in->b[g.l4 + 16];
	x.b[g.l4 + 17] = in->b[g.l4 + 17];
	assert_same(&x, in);
}

static void http_status_is_rewritten_v4_and_v6(void **state)
{
	struct pkt p;
	int id;

	(void)state;
	id = add(http_spec(503));
	for (int v6 = 0; v6 < 2; v6++) {
		http_from_server(&p, v6, RESP);
		assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
		assert_status(&p, &last_out, "503");
		/* server side: the response leaves on egress */
		assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
		assert_status(&p, &last_out, "503");
	}
	http_from_server(&p, 0, "HTTP/1.0 404\r\n\r\n");
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
	assert_memory_equal(last_out.b + ETH + 20 + 20, "HTTP/1.0 503\r\n", 14);
	assert_valid(&last_out);
	assert_int_equal(counters(id).rewritten, 5);
}

static void http_other_segments_pass_unchanged(void **state)
{
	static const char *const not_starts[] = {
	    "hello world, a body segment", "HTTP/2 200 OK\r\n\r\n",  "HTTP/1.1 20",
	    "HTTP/1.1 2000 OK\r\n",	   "HTTP/1.2 200 OK\r\n",    "http/1.1 200 OK\r\n",
	    "HTTP/1.1 2x0 OK\r\n",	   "GET / HTTP/1.1\r\n\r\n",
	};
	struct pkt p;
	int id;

	(void)state;
	id = add(http_spec(500));
	for (size_t i = 0; i < sizeof(not_starts) / sizeof(not_starts[0]); i++) {
		http_from_server(&p, (int)(i & 1), not_starts[i]);
		assert_passes(FL_DIR_INGRESS, &p);
	}
	/* no payload */
	frame(&p, 0, 6, WEB4, 80, CLIENT4, 40000, 1, 2, TCP_ACK, "", 0);
	assert_passes(FL_DIR_INGRESS, &p);
	/* UDP */
	frame(&p, 0, 17, WEB4, 80, CLIENT4, 40000, 0, 0, 0, RESP, sizeof(RESP) - 1);
	assert_passes(FL_DIR_INGRESS, &p);
	assert_int_equal(counters(id).rewritten, 0);
}

static void http_path_chooses_responses_by_their_request(void **state)
{
	struct fl_rule_spec s = http_spec(503);
	struct pkt req, resp;
	int id;

	(void)state;
	strcpy(s.http.path, "/api/");
	id = add(s);
	http_from_server(&resp, 0, RESP);
	/* no request seen: unchanged */
	assert_passes(FL_DIR_INGRESS, &resp);
	/* client side: request out, response in */
	http_to_server(&req, 0, "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_passes(FL_DIR_EGRESS, &req);
	assert_int_equal(run(FL_DIR_INGRESS, &resp, 1), PASS);
	assert_status(&resp, &last_out, "503");
	/* one response per request */
	assert_passes(FL_DIR_INGRESS, &resp);
	http_to_server(&req, 0, "GET /other HTTP/1.1\r\n\r\n");
	assert_passes(FL_DIR_EGRESS, &req);
	assert_passes(FL_DIR_INGRESS, &resp);
	/* a matching request then one that does not: the last one counts */
	http_to_server(&req, 0, "POST /api/y HTTP/1.1\r\n\r\n");
	assert_passes(FL_DIR_EGRESS, &req);
	http_to_server(&req, 0, "GET /ap HTTP/1.1\r\n\r\n");
	assert_passes(FL_DIR_EGRESS, &req);
	assert_passes(FL_DIR_INGRESS, &resp);
	/* server side (v6): request in, response out */
	frame(&req, 1, 6, CLIENT6, 40000, WEB6, 80, 1, 2, TCP_ACK | TCP_PSH,
	      "DELETE /api/z HTTP/1.1", 22);
	assert_passes(FL_DIR_INGRESS, &req);
	http_from_server(&resp, 1, RESP);
	assert_int_equal(run(FL_DIR_EGRESS, &resp, 1), PASS);
	assert_status(&resp, &last_out, "503");
	/* a request on another connection does not choose this one */
	frame(&req, 0, 6, CLIENT4, 40001, WEB4, 80, 1, 2, TCP_ACK | TCP_PSH, "GET /api/ HTTP/1.1",
	      18);
	assert_passes(FL_DIR_EGRESS, &req);
	http_from_server(&resp, 0, RESP);
	assert_passes(FL_DIR_INGRESS, &resp);
	assert_int_equal(counters(id).rewritten, 2);
}

static void http_percent_rewrites_that_share(void **state)
{
	struct fl_rule_spec s = http_spec(502);
	struct pkt p;
	int id, k = 0;

	(void)state;
	s.http.ppb = FL_PPB_100 / 2;
	s.has_seed = 1;
	s.seed = 11;
	id = add(s);
	http_from_server(&p, 0, RESP);
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
		if (memcmp(last_out.b, p.b, p.len)) {
			assert_status(&p, &last_out, "502");
			k++;
		}
	}
	assert_binomial(k, 2000, 0.5);
	assert_int_equal(counters(id).rewritten, k);
}

/* http --delay: an engine without the delay-line thread; the test reads
 * the ring itself. */
static struct ring_buffer *RB;
static int n_rec;
static struct pkt rec_frame;

static int on_record(void *ctx, void *data, size_t size)
{
	const struct fl_delay_rec *rec = data;

	(void)ctx;
	if (size < sizeof(*rec) || rec->len > sizeof(rec_frame.b))
		return 0;
	n_rec++;
	rec_frame.len = rec->len;
	memcpy(rec_frame.b, rec->data, rec->len);
	return 0;
}

static int setup_ring(void **state)
{
	struct fl_engine_opts o = {.sz = sizeof(o), .no_delay_line = 1};

	(void)state;
	if (fl_engine__open(&o, &E))
		return -1;
	RB = ring_buffer__new(fl_engine__delay_ring_fd(E), on_record, NULL, NULL);
	n_rec = 0;
	return RB ? 0 : -1;
}

static int teardown_ring(void **state)
{
	ring_buffer__free(RB);
	RB = NULL;
	return teardown(state);
}

static void http_delay_holds_the_first_segment_of_chosen_responses(void **state)
{
	struct fl_rule_spec s = http_spec(503);
	struct pkt p;
	int id;

	(void)state;
	s.dir_mask = FL_DIRMASK_EGRESS;
	s.delay.ns = 10 * 1000000ull;
	id = add(s);
	http_from_server(&p, 0, RESP);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP); /* the sink: the copy goes on */
	assert_true(ring_buffer__consume(RB) >= 0);
	assert_int_equal(n_rec, 1);
	assert_status(&p, &rec_frame, "503"); /* the delayed copy is the rewritten one */
	/* a body segment passes at once */
	http_from_server(&p, 0, "more of the body");
	assert_passes(FL_DIR_EGRESS, &p);
	assert_true(ring_buffer__consume(RB) >= 0);
	assert_int_equal(n_rec, 1);
	assert_int_equal(counters(id).delayed, 1);
	assert_int_equal(counters(id).rewritten, 1);

	/* delay alone (status 0): held, not rewritten */
	assert_int_equal(fl_engine__remove_rule(E, id), 0);
	s.http.status = 0;
	id = add(s);
	http_from_server(&p, 1, RESP);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
	assert_true(ring_buffer__consume(RB) >= 0);
	assert_int_equal(n_rec, 2);
	assert_same(&rec_frame, &p);
	assert_int_equal(counters(id).delayed, 1);
	assert_int_equal(counters(id).rewritten, 0);
}

/* ---- reset ------------------------------------------------------------- */

#define PEER4 "10.0.0.2"
#define PEER6 "fd00::2"

static struct fl_rule_spec reset_spec(void)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_BOTH, FL_PROTO_TCP, 0, 0);

	s.reset.on = 1;
	return s;
}

static uint8_t PAYLOAD[100];

/* A segment of an established connection, peer:5000 <-> local:lport. */
static void seg_in(struct pkt *p, int v6, uint16_t lport, uint8_t flags, uint32_t plen)
{
	frame(p, v6, 6, v6 ? PEER6 : PEER4, 5000, v6 ? CLIENT6 : CLIENT4, lport, 0x11111111,
	      0x22222222, flags, PAYLOAD, plen);
}

static void seg_out(struct pkt *p, int v6, uint16_t lport, uint8_t flags, uint32_t plen)
{
	frame(p, v6, 6, v6 ? CLIENT6 : CLIENT4, lport, v6 ? PEER6 : PEER4, 5000, 0x22222222,
	      0x11111111, flags, PAYLOAD, plen);
}

static void reset_ingress_rewrites_the_segment_into_a_rst(void **state)
{
	struct pkt p;
	int id;

	(void)state;
	id = add(reset_spec());
	for (int v6 = 0; v6 < 2; v6++) {
		struct geo g;

		seg_in(&p, v6, 40000, TCP_ACK | TCP_PSH, 100);
		assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
		g = geo_of(&last_out);
		assert_valid(&last_out);
		assert_int_equal(last_out.len, g.l4 + 20);
		assert_int_equal(g.l4len, 20);
		/* same addresses, ports, seq and ack; RST|ACK */
		assert_memory_equal(last_out.b, p.b, 12);
		assert_memory_equal(last_out.b + g.l4, p.b + g.l4, 12);
		assert_int_equal(get32(last_out.b + g.l4 + 4), 0x11111111);
		assert_int_equal(get32(last_out.b + g.l4 + 8), 0x22222222);
		assert_int_equal(last_out.b[g.l4 + 13], TCP_RST | TCP_ACK);
		assert_memory_equal(last_out.b + ETH + (v6 ? 8 : 12), p.b + ETH + (v6 ? 8 : 12),
				    v6 ? 32 : 8);
	}
	assert_int_equal(counters(id).reset, 2);
}

static void reset_egress_reflects_a_rst_into_the_local_stack(void **state)
{
	struct pkt p;
	int id;

	(void)state;
	id = add(reset_spec());
	for (int v6 = 0; v6 < 2; v6++) {
		uint32_t a = v6 ? 8 : 12, alen = v6 ? 16 : 4;
		struct geo g;

		seg_out(&p, v6, 40000, TCP_ACK | TCP_PSH, 100);
		assert_int_equal(run(FL_DIR_EGRESS, &p, 1), REDIRECT);
		g = geo_of(&last_out);
		assert_valid(&last_out);
		assert_int_equal(last_out.len, g.l4 + 20);
		/* swapped MACs, addresses, ports */
		assert_memory_equal(last_out.b, p.b + 6, 6);
		assert_memory_equal(last_out.b + 6, p.b, 6);
		assert_memory_equal(last_out.b + ETH + a, p.b + ETH + a + alen, alen);
		assert_memory_equal(last_out.b + ETH + a + alen, p.b + ETH + a, alen);
		assert_int_equal(get16(last_out.b + g.l4), 5000);
		assert_int_equal(get16(last_out.b + g.l4 + 2), 40000);
		/* seq = the segment's ack (the socket's rcv_nxt), RST alone */
		assert_int_equal(get32(last_out.b + g.l4 + 4), 0x11111111);
		assert_int_equal(get32(last_out.b + g.l4 + 8), 0);
		assert_int_equal(last_out.b[g.l4 + 13], TCP_RST);
	}
	/* a segment without payload (a pure ACK) too */
	seg_out(&p, 0, 40000, TCP_ACK, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), REDIRECT);
	assert_valid(&last_out);
	assert_int_equal(last_out.b[ETH + 20 + 13], TCP_RST);
	assert_int_equal(counters(id).reset, 3);
}

static void reset_leaves_handshakes_and_rsts_alone(void **state)
{
	struct pkt p;
	int id;

	(void)state;
	id = add(reset_spec());
	seg_out(&p, 0, 40000, TCP_SYN, 0);
	assert_passes(FL_DIR_EGRESS, &p);
	seg_in(&p, 0, 40000, TCP_SYN | TCP_ACK, 0);
	assert_passes(FL_DIR_INGRESS, &p);
	seg_in(&p, 1, 40000, TCP_RST | TCP_ACK, 0);
	assert_passes(FL_DIR_INGRESS, &p);
	seg_in(&p, 0, 40000, TCP_PSH, 10); /* no ACK */
	assert_passes(FL_DIR_INGRESS, &p);
	/* UDP and non-TCP */
	frame(&p, 0, 17, PEER4, 5000, CLIENT4, 40000, 0, 0, 0, PAYLOAD, 50);
	assert_passes(FL_DIR_INGRESS, &p);
	assert_int_equal(counters(id).reset, 0);
}

static void reset_after_bytes_waits_for_the_threshold(void **state)
{
	struct fl_rule_spec s = reset_spec();
	struct pkt p;
	int id;

	(void)state;
	s.reset.after_bytes = 250;
	id = add(s);
	seg_out(&p, 0, 40000, TCP_SYN, 0);
	assert_passes(FL_DIR_EGRESS, &p);
	seg_in(&p, 0, 40000, TCP_ACK | TCP_PSH, 100);
	assert_passes(FL_DIR_INGRESS, &p); /* 100 */
	seg_out(&p, 0, 40000, TCP_ACK | TCP_PSH, 100);
	assert_passes(FL_DIR_EGRESS, &p); /* 200: both directions count */
	seg_in(&p, 0, 40000, TCP_ACK | TCP_PSH, 100);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS); /* 300: this one */
	assert_int_equal(last_out.b[ETH + 20 + 13], TCP_RST | TCP_ACK);
	assert_valid(&last_out);
	assert_int_equal(counters(id).reset, 1);
	/* a new connection on the same ports starts again from 0 */
	seg_in(&p, 0, 40000, TCP_SYN | TCP_ACK, 0);
	assert_passes(FL_DIR_INGRESS, &p);
	seg_in(&p, 0, 40000, TCP_ACK | TCP_PSH, 100);
	assert_passes(FL_DIR_INGRESS, &p);
	/* another connection has its own count (first seen mid-stream) */
	seg_in(&p, 0, 40001, TCP_ACK | TCP_PSH, 100);
	assert_passes(FL_DIR_INGRESS, &p);
	seg_in(&p, 1, 40001, TCP_ACK | TCP_PSH, 100);
	assert_passes(FL_DIR_INGRESS, &p);
	assert_int_equal(counters(id).reset, 1);
}

static void reset_after_time_waits(void **state)
{
	struct fl_rule_spec s = reset_spec();
	struct pkt p;
	int id;

	(void)state;
	s.reset.after_ns = 200 * 1000000ull;
	id = add(s);
	seg_in(&p, 0, 40000, TCP_ACK | TCP_PSH, 10);
	assert_passes(FL_DIR_INGRESS, &p);
	usleep(250 * 1000);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
	assert_int_equal(last_out.b[ETH + 20 + 13], TCP_RST | TCP_ACK);
	assert_int_equal(counters(id).reset, 1);
}

static void reset_percent_chooses_connections(void **state)
{
	struct fl_rule_spec s = reset_spec();
	const int n = 2000;
	struct pkt p;
	int id, k = 0;

	(void)state;
	s.reset.ppb = 300000000; /* 30% */
	id = add(s);
	for (int i = 0; i < n; i++) {
		uint16_t port = (uint16_t)(20000 + i);
		uint32_t in, again;

		seg_in(&p, 0, port, TCP_ACK, 10);
		assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
		in = last_out.len != p.len;
		/* the same connection, either direction: the same answer */
		seg_out(&p, 0, port, TCP_ACK, 10);
		again = run(FL_DIR_EGRESS, &p, 1) == REDIRECT;
		assert_int_equal(in, again);
		k += (int)in;
	}
	assert_binomial(k, n, 0.3);
	assert_int_equal(counters(id).reset, 2 * k);
}

/* ---- every error rule leaves what it does not target alone ------------- */

static void error_rules_pass_what_they_do_not_target(void **state)
{
	struct fl_rule_spec specs[3] = {reset_spec(), dns_spec(FL_DNS_RCODE_DROP), http_spec(503)};
	struct pkt p;

	(void)state;
	for (int i = 0; i < 3; i++) {
		int id;

		specs[i].protocol = FL_PROTOCOL_ANY;
		id = add(specs[i]);
		frame(&p, 0, 17, PEER4, 5000, CLIENT4, 40000, 0, 0, 0, PAYLOAD, 64);
		assert_passes(FL_DIR_INGRESS, &p);
		assert_passes(FL_DIR_EGRESS, &p);
		frame(&p, 1, 17, PEER6, 5000, CLIENT6, 40000, 0, 0, 0, PAYLOAD, 64);
		assert_passes(FL_DIR_INGRESS, &p);
		ipv4(&p, 1, 0, 0, 0); /* ICMP */
		assert_passes(FL_DIR_INGRESS, &p);
		ipv6(&p, 58, 0, 0, NULL, 0); /* ICMPv6 */
		assert_passes(FL_DIR_EGRESS, &p);
		if (i != 0) { /* TCP: reset's target */
			seg_in(&p, 0, 40000, TCP_ACK | TCP_PSH, 100);
			assert_passes(FL_DIR_INGRESS, &p);
			seg_out(&p, 1, 40000, TCP_ACK | TCP_PSH, 100);
			assert_passes(FL_DIR_EGRESS, &p);
		}
		assert_true(counters(id).matched >= 5);
		assert_int_equal(fl_engine__remove_rule(E, id), 0);
	}
}

/* ---- the engine's side ------------------------------------------------- */

static void bad_error_specs_are_refused(void **state)
{
	struct fl_rule_spec s;
	char why[256];
	int id;

	(void)state;
	s = reset_spec();
	s.loss.ppb = 1;
	assert_int_equal(fl_engine__add_rule(E, &s, fl_now_ns(), SEC_NS, &id), -EINVAL);
	s = reset_spec();
	s.delay.ns = 1000;
	assert_int_equal(fl_engine__add_rule(E, &s, fl_now_ns(), SEC_NS, &id), -EINVAL);
	s = reset_spec();
	s.dns.rcode = 2;
	assert_int_equal(fl_engine__add_rule(E, &s, fl_now_ns(), SEC_NS, &id), -EINVAL);
	s = http_spec(1000);
	assert_int_equal(fl_engine__add_rule(E, &s, fl_now_ns(), SEC_NS, &id), -EINVAL);
	s = http_spec(99);
	assert_int_equal(fl_engine__add_rule(E, &s, fl_now_ns(), SEC_NS, &id), -EINVAL);
	s = http_spec(503);
	s.http.ppb = FL_PPB_100 + 1;
	assert_int_equal(fl_engine__add_rule(E, &s, fl_now_ns(), SEC_NS, &id), -EINVAL);
	s = dns_spec(16);
	assert_int_equal(fl_engine__add_rule(E, &s, fl_now_ns(), SEC_NS, &id), -EINVAL);
	s = dns_spec(2);
	strcpy(s.dns.domains, "a..b");
	assert_int_equal(fl_engine__add_rule(E, &s, fl_now_ns(), SEC_NS, &id), -EINVAL);
	s = (struct fl_rule_spec){.dir_mask = FL_DIRMASK_BOTH, .protocol = FL_PROTOCOL_ANY};
	s.refuse.err = 111;
	assert_int_equal(fl_engine__add_rule(E, &s, fl_now_ns(), SEC_NS, &id), -EINVAL);

	assert_int_equal(fl_dns_domains_check("a..b", why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "\"a..b\" has an empty label (expected names such as example.com "
				 "or *.example.com)");
	assert_int_equal(fl_dns_domains_check("a.*.b", why, sizeof(why)), -EINVAL);
	assert_int_equal(fl_dns_domains_check("*.", why, sizeof(why)), -EINVAL);
	assert_int_equal(fl_dns_domains_check("a b.c", why, sizeof(why)), -EINVAL);
	assert_int_equal(fl_dns_domains_check("x,", why, sizeof(why)), -EINVAL);
	assert_int_equal(fl_dns_domains_check("example.com,*.svc.local,A-b_c.d.", why, sizeof(why)),
			 0);
	assert_int_equal(fl_dns_domains_check("", why, sizeof(why)), 0);
}

#define T(f)  cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TR(f) cmocka_unit_test_setup_teardown(f, setup_ring, teardown_ring)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(dns_udp_v4_rcodes_trim_to_the_question),
	    T(dns_udp_v6_servfail),
	    T(dns_udp_v4_zero_checksum_stays_zero),
	    T(dns_drop_drops_the_response),
	    T(dns_domain_exact_match_only),
	    T(dns_domain_wildcard_matches_names_below_only),
	    T(dns_queries_and_other_ports_pass),
	    T(dns_custom_port),
	    T(dns_malformed_responses_pass_unchanged),
	    T(dns_over_tcp_rewrites_the_rcode_in_place),
	    T(dns_percent_rewrites_that_share),
	    T(http_status_is_rewritten_v4_and_v6),
	    T(http_other_segments_pass_unchanged),
	    T(http_path_chooses_responses_by_their_request),
	    T(http_percent_rewrites_that_share),
	    TR(http_delay_holds_the_first_segment_of_chosen_responses),
	    T(reset_ingress_rewrites_the_segment_into_a_rst),
	    T(reset_egress_reflects_a_rst_into_the_local_stack),
	    T(reset_leaves_handshakes_and_rsts_alone),
	    T(reset_after_bytes_waits_for_the_threshold),
	    T(reset_after_time_waits),
	    T(reset_percent_chooses_connections),
	    T(error_rules_pass_what_they_do_not_target),
	    T(bad_error_specs_are_refused),
	};

	return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
