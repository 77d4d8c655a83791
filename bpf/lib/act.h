/*
 * bpf/lib/act.h - what a rule does to a packet it matched, and the random
 * processes behind it (netem's models: correlated random, Gilbert-Elliott,
 * 4-state Markov).
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

/* A 32-bit random number: the kernel's, or with --seed a per-CPU per-rule
 * xorshift64* sequence so that the same packet sequence on the same CPU
 * gets the same decisions. */
static __always_inline __u32 fl_rand(const struct fl_rule *rule, struct fl_rule_state *st)
{
	__u64 x;

	if (!(rule->flags & FL_RULE_SEEDED))
		return bpf_get_prandom_u32();
	x = st->prng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	st->prng = x;
	return (__u32)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

/* netem's get_crandom(): a random number correlated with the previous one. */
static __always_inline __u32 fl_crand(const struct fl_rule *rule, struct fl_rule_state *st,
				      __u32 corr, __u32 *last)
{
	__u64 value = fl_rand(rule, st), rho;
	__u32 answer;

	if (!corr)
		return (__u32)value;
	rho = (__u64)corr + 1;
	answer = (__u32)((value * ((1ULL << 32) - rho) + (__u64)*last * rho) >> 32);
	*last = answer;
	return answer;
}

/* Gilbert-Elliott, in netem's order: in the good state, maybe move to bad,
 * then lose with 1-k; in the bad state, maybe move to good, then lose with
 * 1-h. loss_p = {p, r, 1-h, 1-k}; loss_state 0 = good, 1 = bad. */
static __always_inline int fl_loss_gemodel(const struct fl_rule *r, struct fl_rule_state *st)
{
	if (st->loss_state == 0) {
		if (fl_rand(r, st) < r->loss_p[0])
			st->loss_state = 1;
		return fl_rand(r, st) < r->loss_p[3];
	}
	if (fl_rand(r, st) < r->loss_p[1])
		st->loss_state = 0;
	return fl_rand(r, st) < r->loss_p[2];
}

/* netem's 4-state model (loss_4state): states 1 TX in gap, 2 TX in burst,
 * 3 lost in gap (isolated loss), 4 lost in burst. loss_p = {p13, p31, p32,
 * p23, p14}; a state of 0 is the initial TX in gap. */
static __always_inline int fl_loss_4state(const struct fl_rule *r, struct fl_rule_state *st)
{
	__u64 rnd = fl_rand(r, st);
	__u64 p13 = r->loss_p[0], p31 = r->loss_p[1], p32 = r->loss_p[2], p23 = r->loss_p[3],
	      p14 = r->loss_p[4];

	switch (st->loss_state) {
	case 0:
	case 1:
		if (rnd < p14) {
			st->loss_state = 3;
			return 1;
		}
		if (rnd < p13 + p14) {
			st->loss_state = 4;
			return 1;
		}
		st->loss_state = 1;
		return 0;
	case 2:
		if (rnd < p23) {
			st->loss_state = 4;
			return 1;
		}
		return 0;
	case 4:
		if (rnd < p32) {
			st->loss_state = 2;
			return 0;
		}
		if (rnd < p31 + p32) {
			st->loss_state = 1;
			return 0;
		}
		return 1;
	default: /* 3: an isolated loss is followed by a transmission */
		st->loss_state = 1;
		return 0;
	}
}

#endif
