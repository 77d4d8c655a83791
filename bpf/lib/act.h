/*
 * bpf/lib/act.h - what a rule does to a packet it matched.
 */
#ifndef FL_BPF_ACT_H
#define FL_BPF_ACT_H

#include "faultline/rule.h"

/* tcx verdict (TC_ACT_UNSPEC under clsact: same value). */
#define FL_PASS (-1) /* TCX_NEXT: let the next program or the stack decide */

/*
 * Drop a packet the way a lossy wire does: silently. Returning TCX_DROP on
 * egress makes the sender's send fail (NET_XMIT_DROP -> ENOBUFS): ping
 * counts no loss but prints errors, UDP senders count SndbufErrors and TCP
 * treats it as local congestion instead of loss. A redirect answers the
 * sender NET_XMIT_SUCCESS whatever happens next, and a redirect to ifindex 0
 * (no such device) is freed by skb_do_redirect(). The packet is counted as a
 * drop by the kernel, as netem's loss is.
 */
static __always_inline int fl_drop_silently(void)
{
	return bpf_redirect(0, 0); /* TC_ACT_REDIRECT (7) */
}

/* True with probability thresh / 2^32 (FL_PROB_ALWAYS: always). */
static __always_inline int fl_chance(__u64 thresh)
{
	return (__u64)bpf_get_prandom_u32() < thresh;
}

#endif
