/*
 * bpf/lib/classify.h - O(1) classification of a parsed packet to a rule.
 *
 * Each field is looked up once and gives the bitmap of rules that accept its
 * value; a rule that does not constrain a field is in that field's *_any
 * bitmap. The bitmaps are ANDed and the lowest set bit wins. The cost is the
 * same with 1 rule or FL_MAX_RULES: no loop over rules. A lookup is skipped
 * when no live rule constrains its field, and classification stops at the
 * first empty intersection, so an untargeted packet pays for the cheapest
 * field that rules it out.
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

/* A flow hash that is the same for both directions of a connection as this
 * host sees it: (local address, local port, remote address, remote port). */
static __always_inline __u32 fl_mix(__u32 h, __u32 v)
{
	h ^= v * 0xcc9e2d51u;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64u;
}

/* murmur3's finaliser: every input bit reaches every output bit */
static __always_inline __u32 fl_fmix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static __always_inline __u32 fl_flow_hash(const struct fl_pkt *pkt, int dir)
{
	const __u32 *local = dir == FL_DIR_EGRESS ? pkt->saddr : pkt->daddr;
	const __u32 *remote = dir == FL_DIR_EGRESS ? pkt->daddr : pkt->saddr;
	__u16 lport = dir == FL_DIR_EGRESS ? pkt->sport : pkt->dport;
	__u16 rport = dir == FL_DIR_EGRESS ? pkt->dport : pkt->sport;
	__u32 h = pkt->l4proto;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		h = fl_mix(h, local[i]);
		h = fl_mix(h, remote[i]);
	}
	h = fl_mix(h, ((__u32)lport << 16) | rport);
	return fl_fmix32(h);
}

#endif
