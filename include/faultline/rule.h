/*
 * faultline/rule.h - the structures shared by the BPF classifier and user space.
 *
 * This header is included both by the BPF programs (after vmlinux.h) and by the
 * injector. Every struct here is fixed-width with explicit padding and a size
 * assertion, so both sides agree on the layout byte for byte.
 *
 * Classification is O(1) in the number of rules: each packet field is looked
 * up once and yields a bitmap of the rules that accept that value (a rule
 * that does not constrain a field is in that field's *_any bitmap); the
 * bitmaps are ANDed and the lowest set bit is the rule that acts.
 */
#ifndef FAULTLINE_RULE_H
#define FAULTLINE_RULE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */
#endif

/* Live rules per classifier instance: one bit each in a __u64 bitmap. */
#define FL_MAX_RULES 64

/* Directions, as indexes into fl_match_tables.dir[]. */
#define FL_DIR_INGRESS 0
#define FL_DIR_EGRESS  1
#define FL_DIR_COUNT   2

/* Protocol classes, as indexes into fl_match_tables.proto[]. */
enum fl_proto_class {
	FL_PROTO_OTHER = 0, /* any other IP protocol */
	FL_PROTO_TCP = 1,
	FL_PROTO_UDP = 2,
	FL_PROTO_ICMP = 3, /* ICMP and ICMPv6 */
	FL_PROTO_COUNT = 4,
};

/* Action bits in fl_rule.actions, applied in this order. */
#define FL_ACT_RATE	 (1u << 0) /* token-bucket policer */
#define FL_ACT_LOSS	 (1u << 1) /* random / correlated / Markov loss */
#define FL_ACT_CORRUPT	 (1u << 2)
#define FL_ACT_DUPLICATE (1u << 3)
#define FL_ACT_DELAY	 (1u << 4) /* egress: copy to the delay line, sink the original */
/* Errors (docs/errors.md). A rule with one of these has no other action
 * but FL_ACT_DELAY (with FL_ACT_HTTP: the delay applies only to the first
 * segment of each chosen response). */
#define FL_ACT_RESET                                                                               \
	(1u << 5) /* TCP: the next segment of a chosen connection becomes a RST                    \
		   * for the local socket (ingress: rewritten in place; egress:                    \
		   * reflected into the device's ingress) */
#define FL_ACT_DNS                                                                                 \
	(1u << 6)		/* DNS responses: rcode rewritten (UDP: trimmed to the             \
				 * question), or dropped */
#define FL_ACT_HTTP   (1u << 7) /* HTTP/1.x responses: the 3-digit status rewritten in place */
#define FL_ACT_ERRORS (FL_ACT_RESET | FL_ACT_DNS | FL_ACT_HTTP)

/* fl_rule.dns_rcode: drop the response instead of rewriting it. */
#define FL_DNS_DROP 0xff

/* fl_rule.err_flags */
#define FL_ERR_DNS_DOMAINS (1u << 0) /* only names in fl_dns_names with this rule's bit */

/* HTTP --path prefixes: fl_http_paths[rule id], http_path_len bytes. */
#define FL_HTTP_PATH_MAX 64

/* DNS --domain patterns: at most this many per rule, and the names in
 * wire format (length-prefixed labels, lower case, ending in a 0 byte) are
 * at most FL_DNS_NAME_MAX bytes. */
#define FL_DNS_PATTERNS_MAX 16
#define FL_DNS_NAME_MAX	    255

/* Key of fl_dns_names: the hash of a wire-format name (or, wild = 1, of the
 * suffix after the '*.' of a wildcard pattern, matched at a label boundary
 * below the first label). Value: a __u64 bitmap of rules. */
struct fl_dns_key {
	__u64 hash;
	__u32 wild;
	__u32 pad;
};

/* The hash of a wire-format name, both sides: computed from the last byte
 * back, so that the BPF side gets the hash of every suffix in one pass:
 * h(i) = (lower(b[i]) + 1) + FL_DNS_HASH_MUL * h(i + 1), h(len) = 0. */
#define FL_DNS_HASH_MUL 0x100000001b3ull
static inline __u64 fl_dns_hash_step(__u64 h_next, __u8 b)
{
	if (b >= 'A' && b <= 'Z')
		b = (__u8)(b + 32);
	return (__u64)b + 1 + FL_DNS_HASH_MUL * h_next;
}

/* Per-connection state of error rules (fl_conns, an LRU hash): reset's
 * thresholds and http --path's pending request. Normalised to this host:
 * local = the source on egress, the destination on ingress. */
struct fl_conn_key {
	__u32 local[4];
	__u32 remote[4];
	__u16 lport;
	__u16 rport;
	__u32 rule;
};
struct fl_conn {
	__u64 first_ns;	 /* when a rule first saw the connection (reset at SYN) */
	__u64 bytes;	 /* TCP payload bytes seen */
	__u32 http_want; /* the last request matched --path */
	__u32 done;	 /* reset: a RST was made */
};

/* Loss models (fl_rule.loss_model), netem's. */
#define FL_LOSS_RANDOM	0 /* independent, or correlated by loss_corr */
#define FL_LOSS_GEMODEL 1 /* Gilbert-Elliott: p, r, 1-h, 1-k */
#define FL_LOSS_4STATE	2 /* 4-state Markov: p13, p31, p32, p23, p14 */

/* fl_rule.flags */
#define FL_RULE_SEEDED		(1u << 0) /* use the per-CPU PRNG in fl_rule_state */
#define FL_RULE_CORRUPT_PAYLOAD (1u << 1) /* flip a payload byte, keep checksums valid */

/* Probabilities are thresholds against a 32-bit random number: the event
 * fires when rand < thresh. FL_PROB_ALWAYS (2^32) makes 100% exact. */
#define FL_PROB_ALWAYS (1ULL << 32)

/* --share: flows hash to one of FL_SHARE_BUCKETS buckets (the top bits of
 * the flow hash); a rule with share s accepts the buckets below
 * s * FL_SHARE_BUCKETS (steps of 0.006%). A power of two, so that the
 * bucket index is a shift the verifier can bound. */
#define FL_SHARE_BITS	 14
#define FL_SHARE_BUCKETS (1u << FL_SHARE_BITS)

/* Management ports that no rule matches unless it allows it. */
#define FL_MGMT_PORTS_MAX 4

/* The redirect-to-self duplicate carries this mark bit so the classifier
 * passes the copy instead of classifying it again. */
#define FL_DUP_MARK 0x80000000u

/* Frames the delay line sends again at their due time carry this mark bit
 * (SO_MARK of its packet socket). */
#define FL_DELAY_MARK 0x40000000u

/* With either bit above, the rank of the classifier that emitted the frame.
 * Classifiers stacked on one hook (a runner's steps, attached in step
 * order) have ranks 1, 2, ...: a re-emitted frame comes back to the start
 * of the hook, and each classifier of a rank up to the emitter's passes it
 * untouched (it has seen it), while the later ones act on it as on any
 * packet. So a loss step and a delay step both act once on a packet, in
 * either order. The bits stay on the frame (nothing clears them: no
 * classifier knows it is the last). */
#define FL_RANK_SHIFT 24
#define FL_RANK_MASK  0x1f000000u
#define FL_RANK_MAX   31

/* Ingress delay: the delay line sends the frame out of `lo` with this mark
 * bit and the frame's device index in the low 24 bits; the program on lo's
 * egress (fl_reinject) redirects it into that device's ingress with
 * FL_DELAY_MARK, so it arrives as if just received. */
#define FL_REINJECT_MARK    0x20000000u
#define FL_REINJECT_IFINDEX 0x00ffffffu

/* The delay line's ring buffer (BPF_MAP_TYPE_RINGBUF) and its records: a
 * header, then the frame from its Ethernet header. A record is reserved in
 * one of three fixed sizes (the verifier wants a constant), the smallest
 * that holds the frame; a frame above FL_DELAY_FRAME_MAX passes undelayed. */
#define FL_DELAY_RB_SIZE     (8u << 20)
#define FL_DELAY_FRAME_SMALL 256u
#define FL_DELAY_FRAME_MTU   2048u
#define FL_DELAY_FRAME_MAX   65536u

/* Records unconsumed this long: the delay line is dead or hung, and the
 * classifier passes frames undelayed (counted in delay_overflow). The
 * owner-exit watchdog (bpf/watchdog.bpf.c) catches kill -9 within
 * microseconds; this is the fallback where it cannot run, and the net for
 * a delay-line thread that hangs while the process lives. Long enough not
 * to fire when this VM steals a vCPU for a few ms (a false alarm passes
 * packets ahead of held ones: TCP then sees reordering). */
#define FL_DELAY_STALL_NS 20000000ull

/* Jitter distribution tables (normal, pareto, paretonormal: enum fl_dist
 * 1..3 of faultline/dist.h, table index dist - 1), FL_DIST_ENTRIES values
 * each, one sigma = 8192, written by the injector into the program's .bss. */
#define FL_DIST_ENTRIES 4096
#define FL_DIST_TABLES	3

/* fl_delay_rec.flags */
#define FL_DELAY_F_CSUM_PARTIAL (1u << 0) /* csum_start/csum_offset are valid */
#define FL_DELAY_F_INGRESS	(1u << 1) /* received: re-inject into the device's ingress */

/* fl_delay_rec.gso_type: virtio_net_hdr's values */
#define FL_GSO_NONE   0
#define FL_GSO_TCPV4  1
#define FL_GSO_UDP_L4 5
#define FL_GSO_TCPV6  4

struct fl_delay_rec {
	__u64 due_ns;	/* bpf_ktime_get_ns() at which to send it */
	__u32 len;	/* frame length (bytes of data[] that are valid) */
	__u32 ifindex;	/* the device it was leaving by */
	__u16 rule;	/* rule id */
	__u8 copies;	/* 1, or 2 when duplicate chose it too */
	__u8 flags;	/* FL_DELAY_F_* */
	__u16 gso_size; /* MSS of a GSO super-packet; 0: none */
	__u8 gso_type;	/* FL_GSO_* */
	__u8 pad0;
	__u16 csum_start;  /* from the frame's first byte */
	__u16 csum_offset; /* from csum_start */
	__u32 pad1;
	__u8 data[];
};

struct fl_rule {
	/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) after which the rule is inert:
	 * min(end of the experiment, now + lease). 0 = inert. */
	__u64 until_ns;
	__u32 actions; /* FL_ACT_* */
	__u32 flags;   /* FL_RULE_* */
	/* loss */
	__u64 loss_thresh; /* FL_LOSS_RANDOM: P(loss) */
	__u32 loss_model;  /* FL_LOSS_* */
	__u32 loss_corr;   /* correlation, 2^32 scale (netem's rho) */
	__u64 loss_p[5];   /* model transition/loss probabilities, thresholds */
	/* duplicate */
	__u64 dup_thresh;
	__u32 dup_corr;
	/* corrupt */
	__u32 pad0;
	__u64 corrupt_thresh;
	/* rate: a token bucket counted in ns of transmission time, as tbf does */
	__u64 rate_ns_per_mbyte; /* ns to send 2^20 bytes at the rate */
	__u64 rate_burst_ns;	 /* bucket depth */
	/* delay: due = now + tabledist(delay_ns, jitter_ns, delay_dist), netem's */
	__u64 delay_ns;
	__u64 jitter_ns;
	__u32 delay_corr; /* correlation of successive delays, 2^32 scale */
	__u32 delay_dist; /* FL_DIST_* (faultline/dist.h): 0 uniform */
	/* reorder (needs a delay): netem's; a packet sent at once, undelayed,
	 * when at least reorder_gap - 1 were delayed since the last one and
	 * a (correlated) draw falls below reorder_thresh */
	__u64 reorder_thresh;
	__u32 reorder_corr;
	__u32 reorder_gap; /* 0: no reorder */
	/* errors (FL_ACT_RESET, _DNS, _HTTP) */
	__u64 err_thresh;	 /* reset: share of connections (by flow hash);
				  * dns, http: of responses (a draw each) */
	__u64 reset_after_bytes; /* reset: once this many TCP payload bytes of the
				  * connection passed the rule's hooks (0: at once) */
	__u64 reset_after_ns;	 /* reset: and this long after the rule first saw it */
	__u16 http_status;	 /* 100..999; 0: kept (http --delay alone) */
	__u16 dns_port;		 /* the DNS server's port, host order (53) */
	__u8 dns_rcode;		 /* 1..15, or FL_DNS_DROP */
	__u8 http_path_len;	 /* 0: any path; else the prefix in fl_http_paths[id] */
	__u8 err_flags;		 /* FL_ERR_* */
	__u8 pad1;
	__u64 reserved[1];
};

/* Per-rule, per-CPU counters (BPF_MAP_TYPE_PERCPU_ARRAY, index = rule id). */
struct fl_counters {
	__u64 matched;	    /* packets classified to the rule while it was live */
	__u64 bytes;	    /* bytes of matched packets */
	__u64 expired;	    /* packets that matched after until_ns: passed */
	__u64 dropped;	    /* by loss (or blackhole) */
	__u64 rate_dropped; /* by the rate policer */
	__u64 corrupted;
	__u64 duplicated;
	__u64 delayed;	      /* copied to the delay line (and the original sunk) */
	__u64 delay_overflow; /* ring full, frame too big or consumer stalled: passed undelayed */
	__u64 reordered;      /* sent at once, ahead of the delayed ones (reorder) */
	__u64 rewritten;      /* dns, http: responses rewritten */
	__u64 reset;	      /* reset: segments turned into RSTs */
	__u64 refused;	      /* refuse: connect() calls failed */
};

/* Per-rule, per-CPU state of the random processes. */
struct fl_rule_state {
	__u64 prng;	 /* xorshift64* state when FL_RULE_SEEDED */
	__u32 loss_last; /* correlation memory (netem's crndstate.last) */
	__u32 dup_last;
	__u32 loss_state; /* Markov state */
	__u32 delay_last; /* delay correlation memory */
	__u32 reorder_last;
	__u32 reorder_count; /* packets delayed since the last reordered one */
};

/* Per-rule token bucket, shared by the CPUs under a spin lock. */
struct fl_rate_state {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 credit_ns;
	__u64 last_ns;
};

/* The per-field bitmaps. Port, share and address tables live beside them. */
struct fl_match_tables {
	__u64 active;			     /* rules that exist */
	__u64 dir[FL_DIR_COUNT];	     /* rules per direction */
	__u64 proto[FL_PROTO_COUNT];	     /* rules accepting each protocol class */
	__u64 port_any;			     /* rules without --port */
	__u64 lport_any;		     /* rules without --local-port */
	__u64 rport_any;		     /* rules without --remote-port */
	__u64 addr_any;			     /* rules without --cidr/--host */
	__u64 cgroup_any;		     /* rules without --cgroup */
	__u64 share_all;		     /* rules that take every flow */
	__u64 mgmt_guard;		     /* rules that must not touch management ports */
	__u16 mgmt_ports[FL_MGMT_PORTS_MAX]; /* 0 = unused slot */
	__u64 reserved;
};

/* LPM trie keys for remote addresses. */
struct fl_lpm4_key {
	__u32 prefixlen;
	__u8 addr[4];
};
struct fl_lpm6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

_Static_assert(sizeof(struct fl_rule) == 192, "fl_rule layout");
_Static_assert(sizeof(struct fl_counters) == 104, "fl_counters layout");
_Static_assert(sizeof(struct fl_delay_rec) == 32, "fl_delay_rec layout");
_Static_assert(sizeof(struct fl_rule_state) == 32, "fl_rule_state layout");
_Static_assert(sizeof(struct fl_match_tables) == 128, "fl_match_tables layout");

#endif /* FAULTLINE_RULE_H */
