/*
 * faultline/refuse.h - the refuse fault: connect() fails at once with a
 * chosen errno, through cgroup sock_addr hooks (bpf/sockaddr.bpf.c).
 *
 * One struct fl_refuse is one rule: a program pair (connect4, connect6)
 * attached to one cgroup v2 directory (the target's, or the root of the v2
 * mount for every process) with bpf_link_create() links owned by this
 * process's file descriptors: when it dies, even by kill -9, the kernel
 * detaches them at once (a child forked without exec shares them, and
 * keeps them attached until it exits too). The rule also has a deadline
 * checked in BPF, min(end, now + lease), renewed like a classifier rule's.
 *
 * The program matches the remote side only (connect() knows no more):
 * address prefixes (spec->cidrs), ports (spec->ports and
 * spec->remote_ports; local_ports is refused with -EINVAL), the protocol
 * (TCP and UDP, from the socket type and protocol) and the share of calls
 * (spec->refuse.ppb). Management ports (22 unless allow_management) are
 * never refused. spec->refuse.err is the errno (ECONNREFUSED, ETIMEDOUT,
 * ENETUNREACH, EHOSTUNREACH, EACCES or any 1..4095).
 *
 * Like libbpf: functions return 0 or a negative errno and never print.
 */
#ifndef FAULTLINE_REFUSE_H
#define FAULTLINE_REFUSE_H

#include <stdint.h>

#include "faultline/engine.h"

struct fl_refuse;

/* Load the programs (nothing attached, no rule). */
int fl_refuse__open(struct fl_refuse **out);

/* Attach to the cgroup v2 directory cgroup_dir (absolute path), for
 * connect() over IPv4 and IPv6. Once only. */
int fl_refuse__attach(struct fl_refuse *r, const char *cgroup_dir);

/* Install the rule, live until min(spec->end_ns, now_ns + lease_ns);
 * replaces any previous one (counters start at 0; no connect() is judged by
 * a mix of the two). -EINVAL for a spec the program cannot serve (no
 * refuse.err or one above 4095, local ports, ICMP, a share_ppb below 100%,
 * bad ports or prefixes). */
int fl_refuse__set_rule(struct fl_refuse *r, const struct fl_rule_spec *spec, uint64_t now_ns,
			uint64_t lease_ns);

/* Make the rule inert (the programs stay attached and pass everything). */
void fl_refuse__clear_rule(struct fl_refuse *r);

/* Renew the deadline; -ETIME when it had already passed before the end
 * (the lease lapsed), as fl_engine__renew(). */
int fl_refuse__renew(struct fl_refuse *r, uint64_t now_ns, uint64_t lease_ns);

/* matched: connect() calls that matched the rule while live; refused: of
 * them, failed with the errno; expired: matched after the deadline. */
int fl_refuse__counters(struct fl_refuse *r, struct fl_counters *out);

/* The program for IPv4 (family6 0) or IPv6 (family6 1), for tests. */
int fl_refuse__prog_fd(const struct fl_refuse *r, int family6);

/* EPERM when the programs cannot choose the errno (no bpf_set_retval: a
 * kernel before 5.18, or FAULTLINE_DISABLE=bpf_set_retval): a refused
 * connect() then fails with EPERM whatever was asked; else 0. */
int fl_refuse__errno_fixed(const struct fl_refuse *r);

/* Detach and free. */
void fl_refuse__close(struct fl_refuse *r);

#endif /* FAULTLINE_REFUSE_H */
