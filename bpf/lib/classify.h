/*
 * bpf/lib/classify.h - O(1) classification of a parsed packet to a rule.
 *
 * Each field is looked up once and gives the bitmap of rules that accept its
 * value; the bitmaps are ANDed and the lowest set bit wins. The cost is the
 * same with 1 rule or FL_MAX_RULES: no loop over rules.
 */
#ifndef FL_BPF_CLASSIFY_H
#define FL_BPF_CLASSIFY_H

#include "faultline/rule.h"
#include "lib/parse.h"

/* Index of the lowest set bit of a non-zero word: de Bruijn multiplication
 * (BPF has no ctz instruction, and a 64-step loop would cost per packet). */
static const __u8 fl_debruijn_idx[64] = {
    0,	1,  48, 2,  57, 49, 28, 3,  61, 58, 50, 42, 38, 29, 17, 4,  62, 55, 59, 36, 53, 51,
    43, 22, 45, 39, 33, 30, 24, 18, 12, 5,  63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21,
    44, 32, 23, 11, 46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9,  13, 8,  7,	6,
};

static __always_inline __u32 fl_lowest_bit(__u64 bits)
{
	return fl_debruijn_idx[((bits & -bits) * 0x03f79d71b4cb0a89ULL) >> 58];
}

/* tables: the per-field bitmaps; port_bits: rules per port (either side). */
static __always_inline __u64 fl_classify(const struct fl_match_tables *tables,
					 const __u64 *port_bits, const struct fl_pkt *pkt,
					 __u64 bits)
{
	bits &= tables->proto[pkt->proto_class & (FL_PROTO_COUNT - 1)];
	if (!bits)
		return 0;
	return bits & (tables->port_any | port_bits[pkt->sport] | port_bits[pkt->dport]);
}

#endif
