/*
 * tests/lib/bpf_test.h - shared by the BPF program tests (tests/bpf/): crafting
 * packets, running the real classifier on them with bpf_prog_test_run_opts(),
 * installing rules through the engine, reading counters.
 *
 * Include once per test binary, after <cmocka.h>; E is the engine that
 * setup() opens and teardown() closes around each test.
 */
#ifndef FL_TESTS_BPF_TEST_H
#define FL_TESTS_BPF_TEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include <bpf/bpf.h>

#include "faultline/engine.h"

#define PASS   0xffffffffu /* TCX_NEXT (-1) */
#define DROP   7u	   /* TC_ACT_REDIRECT to no device: a silent drop (bpf/lib/act.h) */
#define SEC_NS 1000000000ull

struct pkt {
	uint8_t b[2048];
	uint32_t len;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet header, optionally with one 802.1Q tag; returns its length. */
static uint32_t eth(struct pkt *p, uint16_t proto, int vlan)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	if (vlan) {
		put16(p->b + 12, 0x8100);
		put16(p->b + 14, 42);
		put16(p->b + 16, proto);
		return 18;
	}
	put16(p->b + 12, proto);
	return 14;
}

/* IPv4 + L4 (UDP/TCP ports, or ICMP echo). */
static void ipv4(struct pkt *p, uint8_t proto, uint16_t sport, uint16_t dport, int vlan)
{
	uint32_t off = eth(p, 0x0800, vlan);
	uint8_t *ip = p->b + off;

	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, "\x0a\xc8\x00\x01\x0a\xc8\x00\x02", 8);
	put16(ip + 4, 0x1234);
	off += 20;
	if (proto == 6 || proto == 17) {
		put16(p->b + off, sport);
		put16(p->b + off + 2, dport);
		if (proto == 17)
			put16(p->b + off + 4, 8 + 16); /* UDP length */
		else
			p->b[off + 12] = 5 << 4; /* TCP data offset: 20 bytes */
		off += proto == 6 ? 20 : 8;
	} else {
		p->b[off] = 8; /* echo request */
		off += 8;
	}
	for (int i = 0; i < 16; i++) /* payload */
		p->b[off + i] = (uint8_t)(0xa0 + i);
	off += 16;
	put16(ip + 2, (uint16_t)(off - (vlan ? 18 : 14)));
	p->len = off;
}

/* IPv6, optionally behind extension headers given as next-header values. */
static void ipv6(struct pkt *p, uint8_t proto, uint16_t sport, uint16_t dport, const uint8_t *ext,
		 int n_ext)
{
	uint32_t off = eth(p, 0x86DD, 0);
	uint8_t *ip = p->b + off;

	ip[0] = 0x60;
	ip[6] = n_ext ? ext[0] : proto;
	ip[7] = 64;
	ip[8] = 0xfd;
	ip[23] = 1;
	ip[24] = 0xfd;
	ip[39] = 2;
	off += 40;
	for (int i = 0; i < n_ext; i++) {
		uint8_t next = i + 1 < n_ext ? ext[i + 1] : proto;

		p->b[off] = next;
		p->b[off + 1] = 0; /* 8 bytes; for a fragment header: offset 0 */
		off += 8;
	}
	if (proto == 6 || proto == 17) {
		put16(p->b + off, sport);
		put16(p->b + off + 2, dport);
		off += proto == 6 ? 20 : 8;
	} else {
		p->b[off] = 128; /* ICMPv6 echo request */
		off += 8;
	}
	off += 16;
	put16(ip + 4, (uint16_t)(off - 54));
	p->len = off;
}

static struct fl_engine *E;

static int setup(void **state)
{
	(void)state;
	return fl_engine__open(NULL, &E);
}

static int teardown(void **state)
{
	(void)state;
	fl_engine__close(E);
	E = NULL;
	return 0;
}

/* The packet as the program left it, after the last run(). */
static struct pkt last_out;

static uint32_t run(int dir, struct pkt *p, int repeat)
{
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->b, .data_size_in = p->len,
			    .data_out = last_out.b, .data_size_out = sizeof(last_out.b),
			    .repeat = repeat);
	int r = bpf_prog_test_run_opts(fl_engine__prog_fd(E, dir), &o);

	if (r)
		print_error("test_run of a %u-byte packet: %d\n", p->len, r);
	assert_int_equal(r, 0);
	last_out.len = o.data_size_out;
	return o.retval;
}

static struct fl_rule_spec spec(unsigned dirs, int proto, uint16_t port, uint32_t loss_ppb)
{
	struct fl_rule_spec s = {.dir_mask = dirs, .protocol = proto, .loss.ppb = loss_ppb};

	if (port) {
		s.ports.n = 1;
		s.ports.r[0].lo = s.ports.r[0].hi = port;
	}
	return s;
}

static int add(struct fl_rule_spec s)
{
	int id = -1;

	assert_int_equal(fl_engine__add_rule(E, &s, fl_now_ns(), 60 * SEC_NS, &id), 0);
	return id;
}

static struct fl_counters counters(int id)
{
	struct fl_counters c;

	assert_int_equal(fl_engine__counters(E, id, &c), 0);
	return c;
}

#endif
