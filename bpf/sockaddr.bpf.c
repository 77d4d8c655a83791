// SPDX-License-Identifier: GPL-2.0
/*
 * bpf/sockaddr.bpf.c - the refuse fault: connect() fails at once with a
 * chosen errno (injector/refuse.c, faultline/refuse.h).
 *
 * Two cgroup sock_addr programs, connect4 and connect6, attached to one
 * cgroup v2 directory. They run inside the connect() system call of every
 * TCP and UDP socket of that cgroup (and below it), before any packet
 * exists. A call that matches the rule returns 0 after
 * bpf_set_retval(-err): connect() then fails with exactly that errno
 * (without set_retval the kernel would report EPERM). Everything else
 * returns 1, which lets the call go on untouched.
 *
 * Kernels before 5.18 have no bpf_set_retval, and refuse a program that
 * calls it: the fl_refuse_eperm* twins return 0 alone, and connect() fails
 * with the kernel's EPERM (injector/refuse.c loads them when the others do
 * not load, or when FAULTLINE_DISABLE names bpf_set_retval).
 *
 * The file is not called refuse.bpf.c because its skeleton would then be
 * struct fl_refuse, the name of the library's own handle.
 *
 * One object holds one rule, in .bss, which user space writes through the
 * skeleton's mmap. connect() is not a hot path (a few per request at most),
 * so the rule is a plain struct scanned linearly: no maps to keep in step.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "faultline/rule.h"

/* errno values, socket types and protocols are macros, which vmlinux.h
 * cannot carry */
#define FL_SOCK_STREAM 1
#define FL_SOCK_DGRAM  2
#define FL_IPPROTO_TCP 6
#define FL_IPPROTO_UDP 17
/* FL_PORT_RANGES_MAX and FL_CIDRS_MAX, whose headers are user space's
 * (injector/refuse.c asserts that they agree) */
#define FL_RANGES 32
#define FL_CIDRS  16

/* fl_refuse_rule.proto */
#define FL_REFUSE_TCP (1u << 0)
#define FL_REFUSE_UDP (1u << 1)

/*
 * The rule. User space writes it in this order (injector/refuse.c): gen
 * made odd, until_ns 0, the other fields, until_ns, gen made even. The
 * programs read gen before and after everything else and let the call
 * pass when it was odd or changed: a connect() that runs while the rule is
 * being replaced is never judged by half of the old rule and half of the
 * new one. renew() only stores until_ns, one aligned 8-byte store.
 */
struct {
	__u32 gen;
	__u32 err;	/* errno, 1..4095 */
	__u64 until_ns; /* bpf_ktime_get_ns() deadline; 0: inert */
	__u64 thresh;	/* refuse when a 32-bit random < thresh; 2^32: always */
	__u32 proto;	/* FL_REFUSE_* */
	__u16 n_ports;	/* spec->ports: the remote port must be in one (if any) */
	__u16 n_rports; /* spec->remote_ports: and in one of these (if any) */
	__u16 ports_lo[FL_RANGES];
	__u16 ports_hi[FL_RANGES];
	__u16 rports_lo[FL_RANGES];
	__u16 rports_hi[FL_RANGES];
	__u16 mgmt_ports[FL_MGMT_PORTS_MAX]; /* never refused; 0: unused slot */
	__u16 n_cidr4;			     /* remote prefixes: the address must be in one */
	__u16 n_cidr6;			     /* of them when there are any (of either family) */
	__u32 cidr4_net[FL_CIDRS];	     /* network order, already masked */
	__u32 cidr4_mask[FL_CIDRS];
	__u32 cidr6_net[FL_CIDRS][4];
	__u32 cidr6_mask[FL_CIDRS][4];
} fl_refuse_rule = {};

/* Only matched, refused and expired are used. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_counters);
} fl_refuse_counters SEC(".maps");

#define READ_ONCE(x) (*(const volatile typeof(x) *)&(x))
/* keep the compiler from moving the rule's loads across the gen reads */
#define barrier() asm volatile("" ::: "memory")

static __always_inline int in_ranges(__u16 port, const __u16 *lo, const __u16 *hi, __u32 n)
{
	for (__u32 i = 0; i < FL_RANGES; i++) {
		if (i >= n)
			break;
		if (port >= lo[i] && port <= hi[i])
			return 1;
	}
	return 0;
}

static __always_inline int port_ok(__u16 port)
{
	for (int i = 0; i < FL_MGMT_PORTS_MAX; i++)
		if (fl_refuse_rule.mgmt_ports[i] && fl_refuse_rule.mgmt_ports[i] == port)
			return 0;
	if (fl_refuse_rule.n_ports && !in_ranges(port, fl_refuse_rule.ports_lo,
						 fl_refuse_rule.ports_hi, fl_refuse_rule.n_ports))
		return 0;
	if (fl_refuse_rule.n_rports &&
	    !in_ranges(port, fl_refuse_rule.rports_lo, fl_refuse_rule.rports_hi,
		       fl_refuse_rule.n_rports))
		return 0;
	return 1;
}

static __always_inline int proto_ok(const struct bpf_sock_addr *ctx)
{
	__u32 type = ctx->type, protocol = ctx->protocol;

	/* the type alone is not enough: ICMP ping sockets are SOCK_DGRAM and
	 * run these hooks too, MPTCP sockets are SOCK_STREAM (their subflows
	 * are TCP sockets of their own, matched when they connect) */
	if (type == FL_SOCK_STREAM && protocol == FL_IPPROTO_TCP)
		return fl_refuse_rule.proto & FL_REFUSE_TCP;
	if (type == FL_SOCK_DGRAM && protocol == FL_IPPROTO_UDP)
		return fl_refuse_rule.proto & FL_REFUSE_UDP;
	return 0;
}

static __always_inline int in_cidr4(__u32 addr)
{
	for (__u32 i = 0; i < FL_CIDRS; i++) {
		if (i >= fl_refuse_rule.n_cidr4)
			break;
		if ((addr & fl_refuse_rule.cidr4_mask[i]) == fl_refuse_rule.cidr4_net[i])
			return 1;
	}
	return 0;
}

static __always_inline int in_cidr6(const __u32 *addr)
{
	for (__u32 i = 0; i < FL_CIDRS; i++) {
		if (i >= fl_refuse_rule.n_cidr6)
			break;
		if ((addr[0] & fl_refuse_rule.cidr6_mask[i][0]) == fl_refuse_rule.cidr6_net[i][0] &&
		    (addr[1] & fl_refuse_rule.cidr6_mask[i][1]) == fl_refuse_rule.cidr6_net[i][1] &&
		    (addr[2] & fl_refuse_rule.cidr6_mask[i][2]) == fl_refuse_rule.cidr6_net[i][2] &&
		    (addr[3] & fl_refuse_rule.cidr6_mask[i][3]) == fl_refuse_rule.cidr6_net[i][3])
			return 1;
	}
	return 0;
}

/*
 * The decision for one connect(). family6: the connect6 hook, whose
 * address is in ip6 (an IPv4-mapped ::ffff:a.b.c.d also gives ip4, so that
 * IPv4 prefixes cover dual-stack sockets); else the address is ip4.
 */
static __always_inline int judge(struct bpf_sock_addr *ctx, int family6, __u32 ip4,
				 const __u32 *ip6, const int set_retval)
{
	struct fl_counters *c;
	__u32 gen, key = 0;
	__u64 until, now;
	int addr_ok, refuse = 0;
	__u32 err;

	gen = READ_ONCE(fl_refuse_rule.gen);
	if (gen & 1)
		return 1; /* being written */
	barrier();
	until = READ_ONCE(fl_refuse_rule.until_ns);
	if (!until)
		return 1; /* no rule */
	if (!proto_ok(ctx) || !port_ok(bpf_ntohs((__u16)ctx->user_port)))
		return 1;
	if (!fl_refuse_rule.n_cidr4 && !fl_refuse_rule.n_cidr6) {
		addr_ok = 1;
	} else if (family6) {
		addr_ok = in_cidr6(ip6);
		if (!addr_ok && ip6[0] == 0 && ip6[1] == 0 && ip6[2] == bpf_htonl(0xffff))
			addr_ok = in_cidr4(ip6[3]);
	} else {
		addr_ok = in_cidr4(ip4);
	}
	if (!addr_ok)
		return 1;
	err = fl_refuse_rule.err;
	now = bpf_ktime_get_ns();
	if (now < until)
		refuse = fl_refuse_rule.thresh >= FL_PROB_ALWAYS ||
			 (__u64)bpf_get_prandom_u32() < fl_refuse_rule.thresh;
	barrier();
	if (READ_ONCE(fl_refuse_rule.gen) != gen)
		return 1; /* replaced meanwhile: judged by neither rule */

	c = bpf_map_lookup_elem(&fl_refuse_counters, &key);
	if (now >= until) {
		if (c)
			c->expired++;
		return 1;
	}
	if (c) {
		c->matched++;
		if (refuse)
			c->refused++;
	}
	if (!refuse)
		return 1;
	if (set_retval)
		bpf_set_retval(-(int)err);
	return 0;
}

/* one 4-byte load per word: the context allows no wider access */
#define FL_USER_IP6(ctx, ip6)                                                                      \
	do {                                                                                       \
		ip6[0] = ctx->user_ip6[0];                                                         \
		ip6[1] = ctx->user_ip6[1];                                                         \
		ip6[2] = ctx->user_ip6[2];                                                         \
		ip6[3] = ctx->user_ip6[3];                                                         \
	} while (0)

SEC("cgroup/connect4")
int fl_refuse_connect4(struct bpf_sock_addr *ctx)
{
	__u32 none[4] = {};

	return judge(ctx, 0, ctx->user_ip4, none, 1);
}

SEC("cgroup/connect6")
int fl_refuse_connect6(struct bpf_sock_addr *ctx)
{
	__u32 ip6[4];

	FL_USER_IP6(ctx, ip6);
	return judge(ctx, 1, 0, ip6, 1);
}

SEC("cgroup/connect4")
int fl_refuse_eperm4(struct bpf_sock_addr *ctx)
{
	__u32 none[4] = {};

	return judge(ctx, 0, ctx->user_ip4, none, 0);
}

SEC("cgroup/connect6")
int fl_refuse_eperm6(struct bpf_sock_addr *ctx)
{
	__u32 ip6[4];

	FL_USER_IP6(ctx, ip6);
	return judge(ctx, 1, 0, ip6, 0);
}

char LICENSE[] SEC("license") = "GPL";
