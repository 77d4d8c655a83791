/*
 * faultline/rule.h - the structures shared by the BPF classifier and user space.
 *
 * This header is included both by the BPF programs (after vmlinux.h) and by the
 * injector. Every struct here is fixed-width with explicit padding and a size
 * assertion, so both sides agree on the layout byte for byte.
 *
 * Classification is O(1) in the number of rules: each packet field is looked
 * up once and yields a bitmap of the rules that accept that value; the
 * bitmaps are ANDed and the lowest set bit is the rule that acts.
 */
#ifndef FAULTLINE_RULE_H
#define FAULTLINE_RULE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
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

/* Action bits in fl_rule.actions. */
#define FL_ACT_LOSS (1u << 0)

/* Probabilities are thresholds against bpf_get_prandom_u32(): the action
 * fires when rand < thresh. FL_PROB_ALWAYS (2^32) makes 100% exact. */
#define FL_PROB_ALWAYS (1ULL << 32)

struct fl_rule {
	/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) after which the rule is inert:
	 * min(end of the experiment, now + lease). 0 = inert. */
	__u64 until_ns;
	__u64 loss_thresh; /* FL_ACT_LOSS: drop when rand < loss_thresh */
	__u32 actions;	   /* FL_ACT_* */
	__u32 pad0;
	__u64 reserved[5];
};

/* Per-rule, per-CPU counters (BPF_MAP_TYPE_PERCPU_ARRAY, index = rule id). */
struct fl_counters {
	__u64 matched; /* packets classified to the rule while it was live */
	__u64 acted;   /* packets the rule acted on (dropped, ...) */
	__u64 bytes;   /* bytes of matched packets */
	__u64 expired; /* packets that matched after until_ns: passed */
};

/* The per-field bitmaps. Port bitmaps (65536 entries) live beside them. */
struct fl_match_tables {
	__u64 active;		     /* rules that exist */
	__u64 dir[FL_DIR_COUNT];     /* rules per direction */
	__u64 proto[FL_PROTO_COUNT]; /* rules accepting each protocol class */
	__u64 port_any;		     /* rules with no port constraint */
};

_Static_assert(sizeof(struct fl_rule) == 64, "fl_rule layout");
_Static_assert(sizeof(struct fl_counters) == 32, "fl_counters layout");
_Static_assert(sizeof(struct fl_match_tables) == 64, "fl_match_tables layout");

#endif /* FAULTLINE_RULE_H */
