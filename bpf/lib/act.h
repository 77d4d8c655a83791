/*
 * bpf/lib/act.h - what a rule does to a packet it matched.
 */
#ifndef FL_BPF_ACT_H
#define FL_BPF_ACT_H

#include "faultline/rule.h"

/* tcx verdicts (TC_ACT_UNSPEC / TC_ACT_SHOT under clsact: same values). */
#define FL_PASS (-1) /* TCX_NEXT: let the next program or the stack decide */
#define FL_DROP 2    /* TCX_DROP */

/* True with probability thresh / 2^32 (FL_PROB_ALWAYS: always). */
static __always_inline int fl_chance(__u64 thresh)
{
	return (__u64)bpf_get_prandom_u32() < thresh;
}

#endif
