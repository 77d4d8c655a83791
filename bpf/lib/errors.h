/*
 * bpf/lib/errors.h - the error actions of the classifier (docs/errors.md):
 * reset (a TCP segment of a chosen connection becomes a RST for the local
 * socket), dns (a response's rcode rewritten, or the response dropped) and
 * http (a response's status code rewritten, optionally its first segment
 * delayed).
 *
 * Every packet that is not exactly what an action expects passes
 * unchanged: a parser that gives up must never break traffic. Packets are
 * read with bpf_skb_load_bytes() only (no direct access), so the helpers
 * that change the packet invalidate nothing here.
 *
 * Checksums. An edit in place of a few bytes is written without
 * BPF_F_RECOMPUTE_CSUM and compensated with bpf_l3/l4_csum_replace(): the
 * bytes' one's-complement sum is unchanged, so a CHECKSUM_COMPLETE skb->csum
 * stays right, and a CHECKSUM_PARTIAL checksum field (a pseudo-header sum
 * the device completes) is left alone by the helper. A rewrite that trims
 * the segment (reset, UDP dns) writes with BPF_F_RECOMPUTE_CSUM and then
 * sets the L4 checksum from scratch for the skb's state (fl_l4_csum_set()).
 *
 * Limits: IPv4 fragments and IPv6 packets with extension headers pass
 * unchanged (fl_geom()).
 */
#ifndef FL_BPF_ERRORS_H
#define FL_BPF_ERRORS_H

#include <bpf/bpf_core_read.h>

#include "faultline/rule.h"
#include "lib/parse.h"
#include "lib/classify.h"
#include "lib/act.h"

/* fl_errors()'s verdict for an http response start the rule delays: the
 * caller sends it through the delay line. */
#define FL_ERR_DELAY_IT (-2)

#define FL_CHECKSUM_PARTIAL 3
#define FL_TCP_FIN	    0x01
#define FL_TCP_SYN	    0x02
#define FL_TCP_RST	    0x04
#define FL_TCP_ACK	    0x10

/* Per-CPU scratch: a DNS question, the head of a TCP payload, or an L4
 * segment being checksummed; starts[] marks the label starts of the
 * question name (bit p: a label begins at byte p). */
#define FL_SCRATCH_SIZE 512
#define FL_SCRATCH_MASK (FL_SCRATCH_SIZE - 1)
struct fl_scratch {
	__u8 b[FL_SCRATCH_SIZE];
	__u64 starts[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_scratch);
} fl_err_scratch SEC(".maps");

/* Per-connection state of reset (thresholds) and http --path. The key's
 * rule field is the rule id | fl_conn_gen[id] << 8: user space bumps the
 * generation whenever it installs a rule under an id, so entries left by an
 * earlier rule of the same id are never seen (the LRU ages them out). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fl_conn_key);
	__type(value, struct fl_conn);
} fl_conns SEC(".maps");

/* dns --domain: hashes of wire-format names (and wildcard suffixes) ->
 * the rules that name them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_MAX_RULES *FL_DNS_PATTERNS_MAX);
	__type(key, struct fl_dns_key);
	__type(value, __u64);
} fl_dns_names SEC(".maps");

/* http --path prefixes, http_path_len bytes, written before the rule is
 * live; the connection-key generation of each rule id. */
__u8 fl_http_paths[FL_MAX_RULES][FL_HTTP_PATH_MAX];
__u32 fl_conn_gen[FL_MAX_RULES];

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

static __always_inline int fl_csum_is_partial(struct __sk_buff *ctx)
{
	struct sk_buff *skb = bpf_cast_to_kern_ctx(ctx);

	return BPF_CORE_READ_BITFIELD(skb, ip_summed) == FL_CHECKSUM_PARTIAL;
}

static __always_inline struct fl_scratch *fl_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fl_err_scratch, &zero);
}

/* v &= mask in a register the verifier then sees bounded: the compiler
 * can neither drop the mask nor check a different copy of v. */
#define FL_BOUND(v, mask) asm volatile("%[x] &= %[m]" : [x] "+r"(v) : [m] "i"(mask))

static __always_inline __u32 fl_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u32)s;
}

/* Where the IP packet ends in the frame (Ethernet padding excluded), and
 * for TCP where its payload starts. -1: not a packet these actions edit. */
struct fl_geom {
	__u32 end;  /* end of the IP packet */
	__u32 pay;  /* TCP: offset of the payload */
	__u32 plen; /* TCP: payload length */
	__u8 flags; /* TCP flags */
	__u8 pad[3];
};

static __always_inline int fl_geom(struct __sk_buff *skb, const struct fl_pkt *pkt,
				   struct fl_geom *g)
{
	__u32 l3 = pkt->l3_off, l4 = pkt->l4_off;
	__be16 v;

	if (!pkt->has_l4)
		return -1;
	if (pkt->family == 4) {
		__be16 frag;

		if (bpf_skb_load_bytes(skb, l3 + 6, &frag, 2) || (frag & bpf_htons(0x3fff)))
			return -1;
		if (bpf_skb_load_bytes(skb, l3 + 2, &v, 2))
			return -1;
		g->end = l3 + bpf_ntohs(v);
	} else {
		if (l4 != l3 + 40 || bpf_skb_load_bytes(skb, l3 + 4, &v, 2) || !v)
			return -1;
		g->end = l3 + 40 + bpf_ntohs(v);
	}
	if (g->end > skb->len || g->end < l4 + (pkt->l4proto == 6 ? 20 : 8))
		return -1;
	if (pkt->l4proto == 6) {
		__u8 th[2];
		__u32 doff;

		if (bpf_skb_load_bytes(skb, l4 + 12, th, 2))
			return -1;
		doff = (th[0] >> 4) * 4;
		if (doff < 20 || l4 + doff > g->end)
			return -1;
		g->pay = l4 + doff;
		g->plen = g->end - g->pay;
		g->flags = th[1];
	}
	return 0;
}

/* The IP header's length field for a packet now ending at new_end. */
static __always_inline int fl_set_ip_len(struct __sk_buff *skb, const struct fl_pkt *pkt,
					 __u32 new_end)
{
	__u32 l3 = pkt->l3_off;
	__be16 old, v;

	if (pkt->family == 4) {
		if (bpf_skb_load_bytes(skb, l3 + 2, &old, 2))
			return -1;
		v = bpf_htons((__u16)(new_end - l3));
		/* the pair leaves the bytes' sum as it was (CHECKSUM_COMPLETE) */
		if (bpf_skb_store_bytes(skb, l3 + 2, &v, 2, 0))
			return -1;
		return bpf_l3_csum_replace(skb, l3 + 10, old, v, 2) ? -1 : 0;
	}
	v = bpf_htons((__u16)(new_end - l3 - 40));
	return bpf_skb_store_bytes(skb, l3 + 4, &v, 2, BPF_F_RECOMPUTE_CSUM) ? -1 : 0;
}

/*
 * Make the L4 checksum right for a segment of l4_len bytes at pkt->l4_off
 * after a rewrite: CHECKSUM_PARTIAL: the folded pseudo-header sum (the
 * device or the stack completes it; a received one is trusted); otherwise
 * the full checksum over the pseudo-header and the segment. The addresses
 * may have been swapped: the pseudo-header sum does not depend on their
 * order. csum_at: the field's offset in the L4 header (TCP 16, UDP 6).
 */
static __always_inline int fl_l4_csum_set(struct __sk_buff *skb, const struct fl_pkt *pkt,
					  __u32 l4_len, __u32 csum_at)
{
	__be32 ph[10];
	struct fl_scratch *s;
	__u64 n4; /* 64-bit: the bounds are checked on the register passed */
	__u32 sum;
	__u16 c;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		ph[i] = pkt->saddr[i];
		ph[4 + i] = pkt->daddr[i];
	}
	ph[8] = bpf_htonl(l4_len);
	ph[9] = bpf_htonl(pkt->l4proto);
	sum = fl_fold((__u32)bpf_csum_diff(0, 0, ph, sizeof(ph), 0));
	if (fl_csum_is_partial(skb)) {
		c = (__u16)sum;
		return bpf_skb_store_bytes(skb, pkt->l4_off + csum_at, &c, 2, BPF_F_RECOMPUTE_CSUM)
			   ? -1
			   : 0;
	}
	s = fl_scratch();
	if (!s || l4_len < 8 || l4_len > 300)
		return -1;
	n4 = l4_len;
	FL_BOUND(n4, 0x1ff);
	if (n4 < 8 || n4 > 300)
		return -1;
	/* zero-padded to a multiple of 4 */
	*(__u32 *)&s->b[n4 & 0x1fc] = 0;
	if (bpf_skb_load_bytes(skb, pkt->l4_off, s->b, n4))
		return -1;
	s->b[csum_at & 0x1f] = 0;
	s->b[(csum_at + 1) & 0x1f] = 0;
	n4 = (l4_len + 3) & 0x1fc;
	sum = fl_fold((__u32)bpf_csum_diff(0, 0, (__be32 *)s->b, n4, sum));
	c = (__u16)~sum;
	if (pkt->l4proto == 17 && !c)
		c = 0xffff;
	return bpf_skb_store_bytes(skb, pkt->l4_off + csum_at, &c, 2, BPF_F_RECOMPUTE_CSUM) ? -1
											    : 0;
}

/* The connection key of fl_conns, normalised to this host. */
static __always_inline void fl_conn_key_of(struct fl_conn_key *k, const struct fl_pkt *pkt,
					   const int dir, __u32 id)
{
	const __u32 *local = dir == FL_DIR_EGRESS ? pkt->saddr : pkt->daddr;
	const __u32 *remote = dir == FL_DIR_EGRESS ? pkt->daddr : pkt->saddr;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		k->local[i] = local[i];
		k->remote[i] = remote[i];
	}
	k->lport = dir == FL_DIR_EGRESS ? pkt->sport : pkt->dport;
	k->rport = dir == FL_DIR_EGRESS ? pkt->dport : pkt->sport;
	k->rule = id | (fl_conn_gen[id & (FL_MAX_RULES - 1)] << 8);
}

/* ---- reset ---------------------------------------------------------- */

/* The connection's draw: the same for both directions and every segment. */
static __always_inline __u32 fl_conn_hash(const struct fl_pkt *pkt, const int dir, __u32 id)
{
	return fl_fmix32(fl_mix(fl_flow_hash(pkt, dir), id + 0x9e3779b9u));
}

/* Ingress: the segment becomes a RST|ACK for the local socket, same seq
 * (rcv_nxt for an in-order segment), same ack, no payload. */
static __always_inline int fl_rst_in_place(struct __sk_buff *skb, const struct fl_pkt *pkt,
					   const struct fl_geom *g)
{
	__u8 flags = FL_TCP_RST | FL_TCP_ACK;
	__u32 l4 = pkt->l4_off;

	if (g->plen && bpf_skb_change_tail(skb, g->pay, 0))
		return -1;
	if (bpf_skb_store_bytes(skb, l4 + 13, &flags, 1, BPF_F_RECOMPUTE_CSUM))
		return -1;
	if (g->plen && fl_set_ip_len(skb, pkt, g->pay))
		return -1;
	return fl_l4_csum_set(skb, pkt, g->pay - l4, 16);
}

/* Egress: the local socket sent this segment; it comes back to it as a RST
 * from the peer: MACs, addresses and ports swapped, seq = the segment's
 * ack_seq (the socket's rcv_nxt), RST alone, no payload. */
static __always_inline int fl_rst_reflect(struct __sk_buff *skb, const struct fl_pkt *pkt,
					  const struct fl_geom *g)
{
	__u32 l3 = pkt->l3_off, l4 = pkt->l4_off;
	__u8 mac[12], sw[12];
	__u32 addr[8], swa[8];
	__u32 hdr[3]; /* seq, ack_seq, doff/flags/window */
	__u16 ports[2], swp[2];
	__u32 aoff = pkt->family == 4 ? 12 : 8;

	if (g->plen && bpf_skb_change_tail(skb, g->pay, 0))
		return -1;
	if (bpf_skb_load_bytes(skb, 0, mac, 12))
		return -1;
	__builtin_memcpy(sw, mac + 6, 6);
	__builtin_memcpy(sw + 6, mac, 6);
	if (bpf_skb_store_bytes(skb, 0, sw, 12, BPF_F_RECOMPUTE_CSUM))
		return -1;
	if (pkt->family == 4) {
		if (bpf_skb_load_bytes(skb, l3 + aoff, addr, 8))
			return -1;
		swa[0] = addr[1];
		swa[1] = addr[0];
		if (bpf_skb_store_bytes(skb, l3 + aoff, swa, 8, BPF_F_RECOMPUTE_CSUM))
			return -1;
	} else {
		if (bpf_skb_load_bytes(skb, l3 + aoff, addr, 32))
			return -1;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			swa[i] = addr[4 + i];
			swa[4 + i] = addr[i];
		}
		if (bpf_skb_store_bytes(skb, l3 + aoff, swa, 32, BPF_F_RECOMPUTE_CSUM))
			return -1;
	}
	if (bpf_skb_load_bytes(skb, l4, ports, 4) || bpf_skb_load_bytes(skb, l4 + 4, hdr, 12))
		return -1;
	swp[0] = ports[1];
	swp[1] = ports[0];
	if (bpf_skb_store_bytes(skb, l4, swp, 4, BPF_F_RECOMPUTE_CSUM))
		return -1;
	hdr[0] = hdr[1];
	hdr[1] = 0;
	((__u8 *)hdr)[9] = FL_TCP_RST;
	if (bpf_skb_store_bytes(skb, l4 + 4, hdr, 12, BPF_F_RECOMPUTE_CSUM))
		return -1;
	if (g->plen && fl_set_ip_len(skb, pkt, g->pay))
		return -1;
	return fl_l4_csum_set(skb, pkt, g->pay - l4, 16);
}

static __always_inline int fl_err_reset(struct __sk_buff *skb, const struct fl_rule *rule,
					struct fl_counters *cnt, const struct fl_pkt *pkt, __u32 id,
					__u64 now, const int dir)
{
	struct fl_geom g;
	__u8 f;

	if (pkt->l4proto != 6 || fl_geom(skb, pkt, &g))
		return FL_PASS;
	if ((__u64)fl_conn_hash(pkt, dir, id) >= rule->err_thresh)
		return FL_PASS;
	f = g.flags;
	if (rule->reset_after_bytes || rule->reset_after_ns) {
		struct fl_conn_key k;
		struct fl_conn *c;

		fl_conn_key_of(&k, pkt, dir, id);
		if (f & FL_TCP_SYN) {
			/* a new connection on this 4-tuple: count afresh */
			struct fl_conn fresh = {.first_ns = now};

			if (!(f & FL_TCP_RST))
				bpf_map_update_elem(&fl_conns, &k, &fresh, BPF_ANY);
			return FL_PASS;
		}
		if ((f & FL_TCP_RST) || !(f & FL_TCP_ACK))
			return FL_PASS;
		c = bpf_map_lookup_elem(&fl_conns, &k);
		if (!c) {
			struct fl_conn fresh = {.first_ns = now};

			bpf_map_update_elem(&fl_conns, &k, &fresh, BPF_NOEXIST);
			c = bpf_map_lookup_elem(&fl_conns, &k);
			if (!c)
				return FL_PASS;
		}
		__sync_fetch_and_add(&c->bytes, (__u64)g.plen);
		if (c->bytes < rule->reset_after_bytes || now - c->first_ns < rule->reset_after_ns)
			return FL_PASS;
		c->done = 1;
	} else if (f & (FL_TCP_SYN | FL_TCP_RST) || !(f & FL_TCP_ACK)) {
		return FL_PASS;
	}
	if (dir == FL_DIR_INGRESS) {
		if (fl_rst_in_place(skb, pkt, &g))
			return FL_PASS;
		cnt->reset++;
		return FL_PASS;
	}
	if (fl_rst_reflect(skb, pkt, &g))
		return FL_PASS;
	cnt->reset++;
	return bpf_redirect(skb->ifindex, BPF_F_INGRESS);
}

/* ---- dns ------------------------------------------------------------ */

struct fl_dns_walk {
	__u32 p;     /* offset of the next label's length byte */
	__u32 avail; /* question bytes loaded */
	__u32 end;   /* the name's length (with its 0 byte); 0: not found */
	__u32 bad;
};

/* One label of the question name (the name is in the scratch buffer). */
static long fl_dns_walk_cb(__u32 i, void *ctx)
{
	struct fl_dns_walk *w = ctx;
	struct fl_scratch *s = fl_scratch();
	__u32 p = w->p;
	__u8 len;

	if (!s || p >= FL_DNS_NAME_MAX || p >= w->avail) {
		w->bad = 1;
		return 1;
	}
	len = s->b[p & 0xff];
	if (len == 0) {
		w->end = p + 1;
		return 1;
	}
	if (len & 0xc0) { /* a compression pointer, or a label above 63 */
		w->bad = 1;
		return 1;
	}
	s->starts[(p >> 6) & 3] |= 1ull << (p & 63);
	w->p = p + 1 + len;
	return 0;
}

struct fl_dns_match {
	__u64 h;
	__u64 bit; /* the rule's */
	__u32 end;
	__u32 hit;
};

/* One byte of the name from the end: the hash of the suffix starting at
 * it, looked up at each label start (the whole name at 0, wildcard
 * suffixes below it). */
static long fl_dns_hash_cb(__u32 i, void *ctx)
{
	struct fl_dns_match *m = ctx;
	struct fl_scratch *s = fl_scratch();
	__u32 p;

	if (!s || i >= m->end)
		return 1;
	p = (m->end - 1 - i) & 0xff;
	m->h = fl_dns_hash_step(m->h, s->b[p]);
	if ((s->starts[p >> 6] >> (p & 63)) & 1) {
		struct fl_dns_key k = {.hash = m->h, .wild = p != 0, .pad = 0};
		__u64 *bits = bpf_map_lookup_elem(&fl_dns_names, &k);

		if (bits && (*bits & m->bit)) {
			m->hit = 1;
			return 1;
		}
	}
	return 0;
}

static __always_inline int fl_err_dns(struct __sk_buff *skb, const struct fl_rule *rule,
				      struct fl_rule_state *st, struct fl_counters *cnt,
				      const struct fl_pkt *pkt, __u32 id)
{
	struct fl_dns_walk w = {};
	struct fl_scratch *s;
	struct fl_geom g;
	__u32 msg, mlen;
	__u64 avail;
	__u8 hdr[12];

	if (pkt->sport != rule->dns_port || (pkt->l4proto != 6 && pkt->l4proto != 17) ||
	    fl_geom(skb, pkt, &g))
		return FL_PASS;
	if (pkt->l4proto == 17) {
		__be16 ulen;

		if (bpf_skb_load_bytes(skb, pkt->l4_off + 4, &ulen, 2))
			return FL_PASS;
		mlen = bpf_ntohs(ulen);
		if (mlen < 8 + 12 || pkt->l4_off + mlen > g.end)
			return FL_PASS;
		msg = pkt->l4_off + 8;
		mlen -= 8;
	} else {
		__be16 tlen;

		if (g.plen < 14 || bpf_skb_load_bytes(skb, g.pay, &tlen, 2))
			return FL_PASS;
		msg = g.pay + 2;
		mlen = bpf_ntohs(tlen);
		if (mlen > g.plen - 2)
			mlen = g.plen - 2;
		if (mlen < 12)
			return FL_PASS;
	}
	if (bpf_skb_load_bytes(skb, msg, hdr, 12))
		return FL_PASS;
	/* a response (QR), opcode QUERY, one question */
	if (!(hdr[2] & 0x80) || (hdr[2] & 0x78) || hdr[4] != 0 || hdr[5] != 1)
		return FL_PASS;
	s = fl_scratch();
	if (!s)
		return FL_PASS;
	avail = mlen - 12;
	if (avail > FL_DNS_NAME_MAX + 4)
		avail = FL_DNS_NAME_MAX + 4;
	FL_BOUND(avail, 0x1ff);
	if (avail < 5 || avail > FL_DNS_NAME_MAX + 4 ||
	    bpf_skb_load_bytes(skb, msg + 12, s->b, avail))
		return FL_PASS;
	s->starts[0] = s->starts[1] = s->starts[2] = s->starts[3] = 0;
	w.avail = avail;
	bpf_loop(FL_DNS_NAME_MAX / 2 + 1, fl_dns_walk_cb, &w, 0);
	if (w.bad || !w.end || w.end + 4 > avail)
		return FL_PASS;
	if (rule->err_flags & FL_ERR_DNS_DOMAINS) {
		struct fl_dns_match m = {.bit = 1ull << id, .end = w.end};

		bpf_loop(FL_DNS_NAME_MAX, fl_dns_hash_cb, &m, 0);
		if (!m.hit)
			return FL_PASS;
	}
	if ((__u64)fl_rand(rule, st) >= rule->err_thresh)
		return FL_PASS;
	if (rule->dns_rcode == FL_DNS_DROP) {
		cnt->dropped++;
		return fl_drop_silently();
	}
	if (pkt->l4proto == 6) {
		/* in place: the flags word only (no trimming over TCP) */
		__be16 old = *(__be16 *)&hdr[2], new;

		hdr[3] = (hdr[3] & 0xf0) | (rule->dns_rcode & 0x0f);
		new = *(__be16 *)&hdr[2];
		if (bpf_skb_store_bytes(skb, msg + 2, &new, 2, 0) ||
		    bpf_l4_csum_replace(skb, pkt->l4_off + 16, old, new, 2))
			return FL_PASS;
		cnt->rewritten++;
		return FL_PASS;
	} else {
		/* the header and the question alone */
		__u32 ulen = 8 + 12 + w.end + 4, end = pkt->l4_off + ulen;
		__be16 ulen_be = bpf_htons((__u16)ulen), csum;

		if (bpf_skb_load_bytes(skb, pkt->l4_off + 6, &csum, 2))
			return FL_PASS;
		if (end != skb->len && bpf_skb_change_tail(skb, end, 0))
			return FL_PASS;
		hdr[2] &= ~0x06; /* AA, TC */
		hdr[3] = (hdr[3] & 0xf0) | (rule->dns_rcode & 0x0f);
		hdr[6] = hdr[7] = hdr[8] = hdr[9] = hdr[10] = hdr[11] = 0;
		if (bpf_skb_store_bytes(skb, msg + 2, &hdr[2], 10, BPF_F_RECOMPUTE_CSUM) ||
		    bpf_skb_store_bytes(skb, pkt->l4_off + 4, &ulen_be, 2, BPF_F_RECOMPUTE_CSUM) ||
		    fl_set_ip_len(skb, pkt, end))
			return FL_PASS;
		/* an IPv4 UDP checksum of 0 means none: it stays so */
		if ((csum || pkt->family == 6) && fl_l4_csum_set(skb, pkt, ulen, 6))
			return FL_PASS;
		cnt->rewritten++;
		return FL_PASS;
	}
}

/* ---- http ----------------------------------------------------------- */

static __always_inline int fl_is_digit(__u8 c)
{
	return c >= '0' && c <= '9';
}

#define FL_HTTP_HEAD 128 /* payload bytes looked at */

static __always_inline int fl_err_http(struct __sk_buff *skb, const struct fl_rule *rule,
				       struct fl_rule_state *st, struct fl_counters *cnt,
				       const struct fl_pkt *pkt, __u32 id, const int dir)
{
	struct fl_scratch *s;
	struct fl_geom g;
	__u32 pl = rule->http_path_len;
	__u64 n;
	__u8 *b;
	int resp;

	if (pkt->l4proto != 6 || fl_geom(skb, pkt, &g) || g.plen < 3)
		return FL_PASS;
	s = fl_scratch();
	if (!s)
		return FL_PASS;
	b = s->b;
	n = g.plen < FL_HTTP_HEAD ? g.plen : FL_HTTP_HEAD;
	FL_BOUND(n, 0xff);
	if (n < 1 || n > FL_HTTP_HEAD || bpf_skb_load_bytes(skb, g.pay, b, n))
		return FL_PASS;
	resp = n >= 13 && b[0] == 'H' && b[1] == 'T' && b[2] == 'T' && b[3] == 'P' && b[4] == '/' &&
	       b[5] == '1' && b[6] == '.' && (b[7] == '0' || b[7] == '1') && b[8] == ' ' &&
	       fl_is_digit(b[9]) && fl_is_digit(b[10]) && fl_is_digit(b[11]) &&
	       (b[12] == ' ' || b[12] == '\r');
	if (pl) {
		struct fl_conn_key k;
		struct fl_conn *c;

		fl_conn_key_of(&k, pkt, dir, id);
		if (!resp) {
			struct fl_conn v = {};
			__u32 m = 0, t;
			int want = 1;

			/* a request start: METHOD SP target */
			for (int i = 0; i < 11; i++) {
				__u8 ch = b[i];

				if (ch == ' ' && i > 0) {
					m = i;
					break;
				}
				if (ch < 'A' || ch > 'Z' || (__u32)i + 1 >= n)
					return FL_PASS;
			}
			if (!m)
				return FL_PASS;
			t = m + 1;
			if (t + pl > n)
				want = 0;
			for (__u32 i = 0; i < FL_HTTP_PATH_MAX && want; i++) {
				if (i >= pl)
					break;
				if (b[(t + i) & (FL_HTTP_HEAD - 1)] !=
				    fl_http_paths[id & (FL_MAX_RULES - 1)][i])
					want = 0;
			}
			v.http_want = want;
			bpf_map_update_elem(&fl_conns, &k, &v, BPF_ANY);
			return FL_PASS;
		}
		c = bpf_map_lookup_elem(&fl_conns, &k);
		if (!c || !c->http_want)
			return FL_PASS;
		c->http_want = 0;
	} else if (!resp) {
		return FL_PASS;
	}
	if ((__u64)fl_rand(rule, st) >= rule->err_thresh)
		return FL_PASS;
	if (rule->http_status) {
		__u16 code = rule->http_status;
		__u8 old[4] = {b[8], b[9], b[10], b[11]};
		__u8 new[4] = {' ', (__u8)('0' + code / 100 % 10), (__u8)('0' + code / 10 % 10),
			       (__u8)('0' + code % 10)};

		/* " NNN" is 2-aligned from the TCP header (doff is 4n) */
		if (bpf_skb_store_bytes(skb, g.pay + 8, new, 4, 0) ||
		    bpf_l4_csum_replace(skb, pkt->l4_off + 16, *(__u32 *)old, *(__u32 *)new, 4))
			return FL_PASS;
		cnt->rewritten++;
	}
	if (rule->actions & FL_ACT_DELAY)
		return FL_ERR_DELAY_IT;
	return FL_PASS;
}

/* The error action of rule (FL_ACT_ERRORS): a verdict, or FL_ERR_DELAY_IT. */
static __always_inline int fl_errors(struct __sk_buff *skb, const struct fl_rule *rule,
				     struct fl_rule_state *st, struct fl_counters *cnt,
				     const struct fl_pkt *pkt, __u32 id, __u64 now, const int dir)
{
	if (rule->actions & FL_ACT_RESET)
		return fl_err_reset(skb, rule, cnt, pkt, id, now, dir);
	if (rule->actions & FL_ACT_DNS)
		return fl_err_dns(skb, rule, st, cnt, pkt, id);
	if (rule->actions & FL_ACT_HTTP)
		return fl_err_http(skb, rule, st, cnt, pkt, id, dir);
	return FL_PASS;
}

#endif
