// SPDX-License-Identifier: GPL-2.0
/*
 * bpf/classifier.bpf.c - the per-packet path of faultline.
 *
 * One program per direction (fl_ingress, fl_egress), attached with tcx links
 * owned by the injector's file descriptors (clsact only on kernels without
 * tcx). Each packet is classified to at most one rule in O(1) (lib/classify.h)
 * and the rule's actions are applied. Every rule has a deadline (until_ns)
 * checked here, so a stopped or hung injector cannot prolong a fault beyond
 * its lease.
 *
 * The rule tables are global variables (.bss): the injector writes them
 * through the skeleton's mmap, and the program reads them without a helper
 * call. A packet on an interface whose instance has no live rule costs one
 * load and a compare.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "faultline/rule.h"
#include "lib/parse.h"
#include "lib/classify.h"
#include "lib/act.h"

char LICENSE[] SEC("license") = "GPL";

struct fl_match_tables fl_tables;
struct fl_rule fl_rules[FL_MAX_RULES];
/* Rules per port, either side of the flow: index = port in host order.
 * Port 0 (no ports: ICMP, fragments) never has a bit set. */
__u64 fl_port_bits[65536];

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_MAX_RULES);
	__type(key, __u32);
	__type(value, struct fl_counters);
} fl_counters SEC(".maps");

static __always_inline int fl_handle(struct __sk_buff *skb, const int dir)
{
	__u64 bits = fl_tables.active & fl_tables.dir[dir];
	struct fl_counters *cnt;
	struct fl_rule *rule;
	struct fl_pkt pkt;
	__u32 id;

	if (!bits)
		return FL_PASS;
	if (fl_parse(skb, &pkt))
		return FL_PASS;
	bits = fl_classify(&fl_tables, fl_port_bits, &pkt, bits);
	if (!bits)
		return FL_PASS;

	id = fl_lowest_bit(bits) & (FL_MAX_RULES - 1);
	rule = &fl_rules[id];
	cnt = bpf_map_lookup_elem(&fl_counters, &id);
	if (!cnt)
		return FL_PASS;
	if (bpf_ktime_get_ns() >= rule->until_ns) {
		cnt->expired++;
		return FL_PASS;
	}
	cnt->matched++;
	cnt->bytes += skb->len;

	if ((rule->actions & FL_ACT_LOSS) && fl_chance(rule->loss_thresh)) {
		cnt->acted++;
		return fl_drop_silently();
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

/* The baseline for `make bench`: the cheapest possible tc program. */
SEC("tc")
int fl_baseline(struct __sk_buff *skb)
{
	return FL_PASS;
}
