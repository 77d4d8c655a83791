// SPDX-License-Identifier: GPL-2.0
/*
 * bpf/watchdog.bpf.c - tell the classifier at once that its owner died.
 *
 * On kill -9 the kernel detaches faultline's tc links only when it closes
 * the process's files, after tearing its memory down: about 14 ms with a
 * delay line's ring buffer mapped. Meanwhile the classifier would go on
 * copying packets into a ring nobody reads, and dropping, corrupting,
 * policing what its rules match. This raw tracepoint runs when a task
 * starts to exit; when the task is the injector's main thread it stamps
 * fl_owner_exit, which the classifier checks for every packet a rule
 * matches: from then on they pass untouched (measured: within 50 us of the
 * kill). The map is the classifier's own (bpf_map__reuse_fd).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "faultline/rule.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fl_owner_exit SEC(".maps");

/* the injector's process, in its own pid namespace */
const volatile __u32 fl_owner_tgid = 0;
const volatile __u64 fl_pidns_dev = 0;
const volatile __u64 fl_pidns_ino = 0;

SEC("raw_tp/sched_process_exit")
int fl_watch_exit(void *ctx)
{
	struct bpf_pidns_info ns;
	__u32 key = 0;
	__u64 *v;

	if (bpf_get_ns_current_pid_tgid(fl_pidns_dev, fl_pidns_ino, &ns, sizeof(ns)))
		return 0;
	/* the main thread: the process is going (threads of its own that
	 * end, such as the delay line's at a normal stop, do not count) */
	if (ns.tgid != fl_owner_tgid || ns.pid != fl_owner_tgid)
		return 0;
	v = bpf_map_lookup_elem(&fl_owner_exit, &key);
	if (v)
		*v = bpf_ktime_get_ns();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
