/*
 * bpf/probes.bpf.c - the smallest programs that show whether a kernel
 * mechanism works, for `faultline doctor` (injector/probe.c).
 *
 * Each program does nothing harmful when attached: the tc program passes
 * every packet on, the LSM program allows every access, and the connect4
 * program refuses connections only inside the temporary cgroup the probe
 * makes for it. The probe loads one program at a time (the others have
 * autoload turned off) so that a mechanism this kernel lacks fails only its
 * own probe.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* errno values are macros, which vmlinux.h cannot carry. */
#define FL_ECONNREFUSED 111

/*
 * -1 is TCX_NEXT for a tcx link and TC_ACT_UNSPEC for a clsact filter: both
 * mean "not my packet, carry on", so one program probes both attach modes.
 * Spelled as a number so the object builds against a pre-6.6 vmlinux.h too.
 */
SEC("tc")
int fl_probe_tc(struct __sk_buff *skb)
{
	return -1;
}

/*
 * A cgroup sock_addr program that returns 0 makes connect() fail with EPERM;
 * bpf_set_retval (kernel 5.18+) chooses the errno instead. The probe checks
 * that the caller sees ECONNREFUSED, not EPERM.
 */
SEC("cgroup/connect4")
int fl_probe_conn4(struct bpf_sock_addr *ctx)
{
	bpf_set_retval(-FL_ECONNREFUSED);
	return 0;
}

/* Allow everything: attaching this proves BPF LSM is active, nothing more. */
SEC("lsm/file_permission")
int BPF_PROG(fl_probe_lsm, struct file *file, int mask)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
