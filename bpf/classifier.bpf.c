// SPDX-License-Identifier: GPL-2.0
/*
 * bpf/classifier.bpf.c - the per-packet path of faultline.
 *
 * One program per direction (fl_ingress, fl_egress), attached with tcx links
 * owned by the injector's file descriptors (clsact only on kernels without
 * tcx). Each packet is classified to at most one rule in O(1)
 * (lib/classify.h) and the rule's actions are applied in a fixed order:
 * rate (policer), loss, corrupt, duplicate, delay (egress: the frame is
 * copied to the delay line's ring buffer and the original sunk); a rule with
 * an error action (reset, dns, http: lib/errors.h) does that alone. Every rule has a deadline
 * (until_ns) checked here, so a stopped or hung injector cannot prolong a
 * fault beyond its lease.
 *
 * The bitmap tables are global variables (.bss): the injector writes them
 * through the skeleton's mmap, and the program reads them without a helper
 * call. A packet on an interface whose instance has no live rule for its
 * direction costs one load and a compare.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#include "faultline/rule.h"
#include "lib/parse.h"
#include "lib/classify.h"
#include "lib/act.h"
#include "lib/errors.h"

char LICENSE[] SEC("license") = "GPL";

struct fl_match_tables fl_tables;
struct fl_rule fl_rules[FL_MAX_RULES];
/* Rules per port, index = port in host order. Port 0 (no ports: ICMP,
 * fragments) never has a bit set. */
__u64 fl_port_bits[65536];  /* --port: either side */
__u64 fl_lport_bits[65536]; /* --local-port */
__u64 fl_rport_bits[65536]; /* --remote-port */
/* Rules per flow-hash bucket (--share). */
__u64 fl_share_bits[FL_SHARE_BUCKETS];

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_MAX_RULES);
	__type(key, __u32);
	__type(value, struct fl_counters);
} fl_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_MAX_RULES);
	__type(key, __u32);
	__type(value, struct fl_rule_state);
} fl_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FL_MAX_RULES);
	__type(key, __u32);
	__type(value, struct fl_rate_state);
} fl_rate SEC(".maps");

/* Remote address prefixes -> rules. An entry holds the rules of every
 * prefix that contains it, so the longest match is the whole answer. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fl_lpm4_key);
	__type(value, __u64);
} fl_addr4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fl_lpm6_key);
	__type(value, __u64);
} fl_addr6 SEC(".maps");

/* The delay line: frames copied out of egress, with their due time; the
 * injector's delay-line thread sends each again at its due time
 * (injector/delay_line.c). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FL_DELAY_RB_SIZE);
} fl_delay_rb SEC(".maps");

/* Stamped by bpf/watchdog.bpf.c when the injector's main thread exits
 * (kill -9 included): packets then pass undelayed at once, long before the
 * kernel gets round to detaching this program. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fl_owner_exit SEC(".maps");

/* This classifier's place on a stacked hook (FL_RANK_MASK in rule.h); set by
 * the injector before it attaches. */
__u32 fl_rank = 1;

/* Is anyone still consuming the ring? When records have waited unconsumed
 * for FL_DELAY_STALL_NS, the consumer is dead (kill -9: its tcx link goes
 * only once the kernel has torn the process down, which takes milliseconds)
 * or hung: frames then pass undelayed (fail open). Shared by the CPUs
 * without a lock: a race costs at most one misjudged frame. */
__u64 fl_delay_cons_seen;  /* consumer position last seen */
__u64 fl_delay_pending_ns; /* since when records wait unconsumed; 0: none */

/* Jitter distribution tables (FL_DIST_TABLES x FL_DIST_ENTRIES), written
 * by the injector before any rule uses them. */
__s32 fl_dist_tables[4][FL_DIST_ENTRIES];

/* cgroup v2 id -> rules (--cgroup). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_MAX_RULES);
	__type(key, __u64);
	__type(value, __u64);
} fl_cgroups SEC(".maps");

static __always_inline __u64 fl_match_addr(const struct fl_pkt *pkt, int dir, __u64 bits)
{
	const __u32 *remote = dir == FL_DIR_EGRESS ? pkt->daddr : pkt->saddr;
	__u64 *hit = 0;

	if (pkt->family == 4) {
		struct fl_lpm4_key k = {.prefixlen = 32};

		__builtin_memcpy(k.addr, remote, 4);
		hit = bpf_map_lookup_elem(&fl_addr4, &k);
	} else {
		struct fl_lpm6_key k = {.prefixlen = 128};

		__builtin_memcpy(k.addr, remote, 16);
		hit = bpf_map_lookup_elem(&fl_addr6, &k);
	}
	return bits & (fl_tables.addr_any | (hit ? *hit : 0));
}

static __always_inline __u64 fl_classify(struct __sk_buff *skb, const struct fl_pkt *pkt, int dir,
					 __u64 bits)
{
	__u16 lport = dir == FL_DIR_EGRESS ? pkt->sport : pkt->dport;
	__u16 rport = dir == FL_DIR_EGRESS ? pkt->dport : pkt->sport;

	bits &= fl_tables.proto[pkt->proto_class & (FL_PROTO_COUNT - 1)];
	if (bits & ~fl_tables.port_any)
		bits &= fl_tables.port_any | fl_port_bits[pkt->sport] | fl_port_bits[pkt->dport];
	if (bits & ~fl_tables.lport_any)
		bits &= fl_tables.lport_any | fl_lport_bits[lport];
	if (bits & ~fl_tables.rport_any)
		bits &= fl_tables.rport_any | fl_rport_bits[rport];
	if (bits & ~fl_tables.addr_any)
		bits = fl_match_addr(pkt, dir, bits);
	if (bits & ~fl_tables.cgroup_any) {
		__u64 id = bpf_skb_cgroup_id(skb);
		__u64 *hit = bpf_map_lookup_elem(&fl_cgroups, &id);

		bits &= fl_tables.cgroup_any | (hit ? *hit : 0);
	}
	if (bits & ~fl_tables.share_all) {
		__u32 bucket = fl_flow_hash(pkt, dir) >> (32 - FL_SHARE_BITS);

		bits &= fl_tables.share_all | fl_share_bits[bucket & (FL_SHARE_BUCKETS - 1)];
	}
	if (bits & fl_tables.mgmt_guard) {
#pragma unroll
		for (int i = 0; i < FL_MGMT_PORTS_MAX; i++) {
			__u16 p = fl_tables.mgmt_ports[i];

			if (p && (pkt->sport == p || pkt->dport == p))
				bits &= ~fl_tables.mgmt_guard;
		}
	}
	return bits;
}

/* Token bucket in ns of transmission time: credit grows with elapsed time up
 * to the burst; a packet costs its length at the rate. */
static __always_inline int fl_rate_exceeded(struct __sk_buff *skb, const struct fl_rule *rule,
					    __u32 id, __u64 now)
{
	struct fl_rate_state *rs = bpf_map_lookup_elem(&fl_rate, &id);
	__u64 cost = ((__u64)skb->len * rule->rate_ns_per_mbyte) >> 20;
	int over = 0;

	if (!rs)
		return 0;
	bpf_spin_lock(&rs->lock);
	if (rs->last_ns == 0 || now - rs->last_ns >= rule->rate_burst_ns)
		rs->credit_ns = rule->rate_burst_ns;
	else
		rs->credit_ns += now - rs->last_ns;
	if (rs->credit_ns > rule->rate_burst_ns)
		rs->credit_ns = rule->rate_burst_ns;
	rs->last_ns = now;
	if (rs->credit_ns >= cost)
		rs->credit_ns -= cost;
	else
		over = 1;
	bpf_spin_unlock(&rs->lock);
	return over;
}

/* Flip one random bit. Plain mode: anywhere after the Ethernet header, as
 * netem does (a receiver's checksum normally catches it). Payload mode: in
 * the L4 payload, with the L4 checksum fixed so the application gets it. */
static __always_inline int fl_corrupt(struct __sk_buff *skb, const struct fl_rule *rule,
				      struct fl_rule_state *st, const struct fl_pkt *pkt)
{
	__u32 rnd = fl_rand(rule, st), len = skb->len, start, off, csum_off, span;
	__u16 word, flipped;

	if (!(rule->flags & FL_RULE_CORRUPT_PAYLOAD)) {
		__u8 byte;

		if (len <= 14)
			return 0;
		off = 14 + (rnd >> 3) % (len - 14);
		if (bpf_skb_load_bytes(skb, off, &byte, 1))
			return 0;
		byte ^= (__u8)(1u << (rnd & 7));
		return bpf_skb_store_bytes(skb, off, &byte, 1, BPF_F_RECOMPUTE_CSUM) == 0;
	}

	if (!pkt->has_l4)
		return 0;
	if (pkt->l4proto == 17) {
		start = pkt->l4_off + 8;
		csum_off = pkt->l4_off + 6;
	} else if (pkt->l4proto == 6) {
		__u8 doff;

		if (bpf_skb_load_bytes(skb, pkt->l4_off + 12, &doff, 1))
			return 0;
		start = pkt->l4_off + ((doff >> 4) * 4);
		csum_off = pkt->l4_off + 16;
	} else {
		return 0;
	}
	/* a whole 16-bit word of the checksummed data, aligned to the L4 header */
	if (len < start + 2)
		return 0;
	span = (len - start) / 2;
	off = start + ((rnd >> 4) % span) * 2;
	if (bpf_skb_load_bytes(skb, off, &word, 2))
		return 0;
	flipped = word ^ (__u16)(1u << (rnd & 15));
	if (bpf_skb_store_bytes(skb, off, &flipped, 2, 0))
		return 0;
	/* BPF_F_MARK_MANGLED_0: an IPv4 UDP checksum of 0 means "none" */
	return bpf_l4_csum_replace(skb, csum_off, word, flipped,
				   2 | (pkt->l4proto == 17 ? BPF_F_MARK_MANGLED_0 : 0)) == 0;
}

/* The checksum and GSO state the frame needs when it is sent again: a frame
 * with a partial checksum (offload) carries only the pseudo-header sum. */
static __always_inline void fl_delay_meta(struct __sk_buff *ctx, struct fl_delay_rec *rec,
					  const struct fl_pkt *pkt)
{
	struct sk_buff *skb = bpf_cast_to_kern_ctx(ctx);

	if (BPF_CORE_READ_BITFIELD(skb, ip_summed) == 3 /* CHECKSUM_PARTIAL */) {
		rec->flags |= FL_DELAY_F_CSUM_PARTIAL;
		rec->csum_start = (__u16)(skb->csum_start - (__u16)(skb->data - skb->head));
		rec->csum_offset = skb->csum_offset;
	}
	if (ctx->gso_size && pkt->has_l4) {
		rec->gso_size = (__u16)ctx->gso_size;
		if (pkt->l4proto == 6)
			rec->gso_type = pkt->family == 4 ? FL_GSO_TCPV4 : FL_GSO_TCPV6;
		else if (pkt->l4proto == 17)
			rec->gso_type = FL_GSO_UDP_L4;
	}
}

/* Has the owner's main thread begun to exit (bpf/watchdog.bpf.c)? */
static __always_inline int fl_owner_dead(void)
{
	__u32 zero = 0;
	__u64 *dead = bpf_map_lookup_elem(&fl_owner_exit, &zero);

	return dead && *dead;
}

/* (An owner that is exiting was seen before: fl_handle passes its rules'
 * packets untouched.) */
static __always_inline int fl_delay_stalled(__u64 now)
{
	__u64 cons = bpf_ringbuf_query(&fl_delay_rb, BPF_RB_CONS_POS);
	__u64 avail = bpf_ringbuf_query(&fl_delay_rb, BPF_RB_AVAIL_DATA);

	if (!avail) {
		fl_delay_pending_ns = 0;
		fl_delay_cons_seen = cons;
		return 0;
	}
	if (cons != fl_delay_cons_seen || !fl_delay_pending_ns) {
		fl_delay_cons_seen = cons;
		fl_delay_pending_ns = now;
		return 0;
	}
	return now - fl_delay_pending_ns > FL_DELAY_STALL_NS;
}

/* Reserve a record of SZ data bytes and copy the frame into it. */
#define FL_DELAY_COPY(SZ)                                                                          \
	do {                                                                                       \
		rec = bpf_ringbuf_reserve(&fl_delay_rb, sizeof(*rec) + (SZ), 0);                   \
		if (!rec)                                                                          \
			return -1;                                                                 \
		n = len - 1;                                                                       \
		/* the verifier's bound, 1..SZ, where the compiler cannot drop it */               \
		asm volatile("%[n] &= %[m]" : [n] "+r"(n) : [m] "i"((SZ)-1));                      \
		if (bpf_skb_load_bytes(skb, 0, rec->data, n + 1)) {                                \
			bpf_ringbuf_discard(rec, BPF_RB_NO_WAKEUP);                                \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

/* netem's tabledist(): mu + sigma * t / 8192, t drawn from the rule's
 * distribution table by the top 12 bits of a (correlated) random number
 * (netem takes rnd % size, which loses the correlation: docs/delay.md), or
 * uniform in [mu - sigma, mu + sigma). faultline/dist.h's fl_dist_sample()
 * is the same in user space. Floored at 0; unsigned arithmetic
 * (no signed division in BPF before cpu v4). */
static __always_inline __u64 fl_tabledist(const struct fl_rule *rule, struct fl_rule_state *st)
{
	__u64 mu = rule->delay_ns, sigma = rule->jitter_ns, q;
	__u32 rnd, d = rule->delay_dist;
	__s32 t;

	if (!sigma)
		return mu;
	rnd = fl_crand(rule, st, rule->delay_corr, &st->delay_last);
	if (d == 0 || d > FL_DIST_TABLES) {
		/* scaled, not netem's rnd % (2 * sigma), which loses the
		 * correlation (faultline/dist.h); sigma <= FL_JITTER_MAX_NS */
		q = ((__u64)rnd * (2 * sigma)) >> 32;
		return mu + q >= sigma ? mu + q - sigma : 0;
	}
	t = fl_dist_tables[(d - 1) & 3][(rnd >> 20) & (FL_DIST_ENTRIES - 1)];
	if (t >= 0)
		return mu + (sigma * (__u64)t + 4096) / 8192;
	q = (sigma * (__u64)(-(__s64)t) + 4096) / 8192;
	return mu > q ? mu - q : 0;
}

/* netem's reorder: the packet goes at once, ahead of those held, when
 * reorder_gap - 1 were delayed since the last such one and a draw falls
 * below the threshold. */
static __always_inline int fl_reorder_now(const struct fl_rule *rule, struct fl_rule_state *st)
{
	if (!rule->reorder_gap || st->reorder_count + 1 < rule->reorder_gap ||
	    (__u64)fl_crand(rule, st, rule->reorder_corr, &st->reorder_last) >=
		rule->reorder_thresh) {
		st->reorder_count++;
		return 0;
	}
	st->reorder_count = 0;
	return 1;
}

/* Copy the frame to the delay line, due after the rule's delay. 0, or -1
 * when the ring is full or the frame too big: the caller then passes it
 * undelayed. */
static __always_inline int fl_delay(struct __sk_buff *skb, const struct fl_rule *rule,
				    struct fl_rule_state *st, const struct fl_pkt *pkt, __u32 id,
				    __u64 now, __u8 copies, const int dir)
{
	struct fl_delay_rec *rec;
	__u32 len = skb->len;
	__u64 delay, n;

	if (len == 0 || fl_delay_stalled(now))
		return -1;
	/* drawn only for a frame that will be held: one passed undelayed
	 * must not advance the correlation */
	delay = fl_tabledist(rule, st);
	if (len <= FL_DELAY_FRAME_SMALL)
		FL_DELAY_COPY(FL_DELAY_FRAME_SMALL);
	else if (len <= FL_DELAY_FRAME_MTU)
		FL_DELAY_COPY(FL_DELAY_FRAME_MTU);
	else if (len <= FL_DELAY_FRAME_MAX)
		FL_DELAY_COPY(FL_DELAY_FRAME_MAX);
	else
		return -1;
	rec->due_ns = now + delay;
	rec->len = len;
	rec->ifindex = skb->ifindex;
	rec->rule = (__u16)id;
	rec->copies = copies;
	rec->flags = dir == FL_DIR_INGRESS ? FL_DELAY_F_INGRESS : 0;
	rec->gso_size = 0;
	rec->gso_type = FL_GSO_NONE;
	rec->pad0 = 0;
	rec->csum_start = 0;
	rec->csum_offset = 0;
	rec->pad1 = 0;
	fl_delay_meta(skb, rec, pkt);
	bpf_ringbuf_submit(rec, 0);
	return 0;
}

static __always_inline int fl_handle(struct __sk_buff *skb, const int dir)
{
	__u64 bits = fl_tables.active & fl_tables.dir[dir];
	struct fl_rule_state *st;
	struct fl_counters *cnt;
	struct fl_rule *rule;
	struct fl_pkt pkt;
	int dup = 0;
	__u64 now;
	__u32 id;

	if (!bits)
		return FL_PASS;
	if ((skb->mark & (FL_DUP_MARK | FL_DELAY_MARK)) &&
	    fl_rank <= (skb->mark & FL_RANK_MASK) >> FL_RANK_SHIFT) {
		/* a duplicate or a delayed frame coming around again, sent by
		 * this classifier or one before it on the hook: seen, let it go */
		return FL_PASS;
	}
	if (fl_parse(skb, &pkt))
		return FL_PASS;
	bits = fl_classify(skb, &pkt, dir, bits);
	if (!bits)
		return FL_PASS;

	id = fl_lowest_bit(bits) & (FL_MAX_RULES - 1);
	rule = &fl_rules[id];
	cnt = bpf_map_lookup_elem(&fl_counters, &id);
	st = bpf_map_lookup_elem(&fl_state, &id);
	if (!cnt || !st)
		return FL_PASS;
	now = bpf_ktime_get_ns();
	if (now >= rule->until_ns || fl_owner_dead()) {
		/* past the deadline, or the process that owns the rule is
		 * exiting (kill -9): its links go only once the kernel has torn
		 * its memory down; the fault ends now, not then */
		cnt->expired++;
		return FL_PASS;
	}
	cnt->matched++;
	cnt->bytes += skb->len;

	if (rule->actions & FL_ACT_ERRORS) {
		/* an error rule has no other action, but http's delay of the
		 * first segment of each chosen response */
		int v = fl_errors(skb, rule, st, cnt, &pkt, id, now, dir);

		if (v != FL_ERR_DELAY_IT)
			return v;
		if (fl_delay(skb, rule, st, &pkt, id, now, 1, dir) == 0) {
			cnt->delayed++;
			return fl_drop_silently();
		}
		cnt->delay_overflow++;
		return FL_PASS;
	}

	if ((rule->actions & FL_ACT_RATE) && fl_rate_exceeded(skb, rule, id, now)) {
		cnt->rate_dropped++;
		return fl_drop_silently();
	}
	if (rule->actions & FL_ACT_LOSS) {
		int lost;

		if (rule->loss_model == FL_LOSS_GEMODEL)
			lost = fl_loss_gemodel(rule, st);
		else if (rule->loss_model == FL_LOSS_4STATE)
			lost = fl_loss_4state(rule, st);
		else
			lost = (__u64)fl_crand(rule, st, rule->loss_corr, &st->loss_last) <
			       rule->loss_thresh;
		if (lost) {
			cnt->dropped++;
			return fl_drop_silently();
		}
	}
	if ((rule->actions & FL_ACT_CORRUPT) && (__u64)fl_rand(rule, st) < rule->corrupt_thresh &&
	    fl_corrupt(skb, rule, st, &pkt))
		cnt->corrupted++;
	if ((rule->actions & FL_ACT_DUPLICATE) &&
	    (__u64)fl_crand(rule, st, rule->dup_corr, &st->dup_last) < rule->dup_thresh)
		dup = 1;
	if ((rule->actions & FL_ACT_DELAY) && fl_reorder_now(rule, st)) {
		cnt->reordered++;
	} else if (rule->actions & FL_ACT_DELAY) {
		/* a duplicate is delayed as well: the delay line sends it twice */
		if (fl_delay(skb, rule, st, &pkt, id, now, dup ? 2 : 1, dir) == 0) {
			cnt->delayed++;
			cnt->duplicated += dup;
			return fl_drop_silently(); /* the sink: the copy goes on */
		}
		cnt->delay_overflow++;
	}
	if (dup) {
		__u32 mark = skb->mark;

		/* the copy goes out (or in) on the same device, marked so that
		 * this program passes it instead of acting on it again */
		skb->mark = (mark & ~FL_RANK_MASK) | FL_DUP_MARK |
			    ((fl_rank << FL_RANK_SHIFT) & FL_RANK_MASK);
		if (!bpf_clone_redirect(skb, skb->ifindex,
					dir == FL_DIR_INGRESS ? BPF_F_INGRESS : 0))
			cnt->duplicated++;
		skb->mark = mark;
	}
	return FL_PASS;
}

SEC("tc")
int fl_ingress(struct __sk_buff *skb)
{
	return fl_handle(skb, FL_DIR_INGRESS);
}

SEC("tc")
int fl_egress(struct __sk_buff *skb)
{
	return fl_handle(skb, FL_DIR_EGRESS);
}

/* On lo's egress, while an ingress delay rule exists: a frame the delay
 * line sends out of lo for a device's ingress goes there, marked so that
 * the classifier lets it pass. Any other packet is left alone. */
SEC("tc")
int fl_reinject(struct __sk_buff *skb)
{
	__u32 mark = skb->mark;

	if ((mark & (FL_REINJECT_MARK | FL_DELAY_MARK)) != (FL_REINJECT_MARK | FL_DELAY_MARK))
		return FL_PASS;
	skb->mark = FL_DELAY_MARK | (mark & FL_RANK_MASK);
	return bpf_redirect(mark & FL_REINJECT_IFINDEX, BPF_F_INGRESS);
}

/* The baseline for `make bench`: the cheapest possible tc program. */
SEC("tc")
int fl_baseline(struct __sk_buff *skb)
{
	return FL_PASS;
}
