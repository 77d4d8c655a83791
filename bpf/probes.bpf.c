/*
 * bpf/probes.bpf.c - the smallest programs that show whether a kernel
 * mechanism works, for `faultline doctor` (injector/probe.c).
 *
 * Each program does nothing harmful when attached: the tc program passes
 * every packet on, the LSM program allows every access, and the connect4
 * program refuses connections only inside the temporary cgroup the probe
 * makes for it; the cgroup id programs only count packets to the probe's
 * ports, inside the network namespaces the probe makes for them. Each probe
 * loads only its own programs (the others have autoload turned off, and the
 * map is created only for the cgroup probe) so that a mechanism this kernel
 * lacks fails only its own probe.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* errno values are macros, which vmlinux.h cannot carry. */
#define FL_ECONNREFUSED 111
#define FL_ETH_P_IP	0x0800
#define FL_IPPROTO_UDP	17

/*
 * The cgroup probe's UDP ports (injector/probe.c has the same numbers): the
 * packets to FL_PROBE_CG_PORT go straight to the receiver, those to the next
 * port are routed back by the receiver's namespace, so they arrive forwarded.
 */
#define FL_PROBE_CG_PORT 9

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
 * What bpf_skb_cgroup_id() said, one slot per place the cgroup probe looks
 * (injector/probe.c has the same layout). Only that probe creates this map.
 */
enum fl_cg_slot {
	FL_CG_EGRESS,	 /* sender's veth, egress, packets to FL_PROBE_CG_PORT */
	FL_CG_INGRESS,	 /* receiver's veth peer, ingress, the same packets */
	FL_CG_FORWARDED, /* sender's veth, ingress, packets to port + 1 routed back */
	FL_CG__SLOTS
};

struct fl_cg_seen {
	__u64 packets;
	__u64 cgroup_id; /* of the first packet */
	__u64 varied;	 /* 1 when a later packet had another id */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FL_CG__SLOTS);
	__type(key, __u32);
	__type(value, struct fl_cg_seen);
} fl_cg_seen SEC(".maps");

/* Record the cgroup id of an IPv4 UDP packet to port in slot; pass it on. */
static __always_inline int record_cgroup(struct __sk_buff *skb, __u32 slot, __u16 port)
{
	struct fl_cg_seen *seen;
	struct udphdr udp;
	struct iphdr ip;
	__u64 id;

	if (skb->protocol != bpf_htons(FL_ETH_P_IP) ||
	    bpf_skb_load_bytes(skb, sizeof(struct ethhdr), &ip, sizeof(ip)) ||
	    ip.protocol != FL_IPPROTO_UDP ||
	    bpf_skb_load_bytes(skb, sizeof(struct ethhdr) + ip.ihl * 4, &udp, sizeof(udp)) ||
	    udp.dest != bpf_htons(port))
		return -1;
	seen = bpf_map_lookup_elem(&fl_cg_seen, &slot);
	if (!seen)
		return -1;
	id = bpf_skb_cgroup_id(skb);
	if (__sync_fetch_and_add(&seen->packets, 1) == 0)
		seen->cgroup_id = id;
	else if (seen->cgroup_id != id)
		seen->varied = 1;
	return -1;
}

/* The cgroup probe's programs, one per place: they count, and pass every packet on. */
SEC("tc")
int fl_probe_cg_egress(struct __sk_buff *skb)
{
	return record_cgroup(skb, FL_CG_EGRESS, FL_PROBE_CG_PORT);
}

SEC("tc")
int fl_probe_cg_ingress(struct __sk_buff *skb)
{
	return record_cgroup(skb, FL_CG_INGRESS, FL_PROBE_CG_PORT);
}

SEC("tc")
int fl_probe_cg_fwd(struct __sk_buff *skb)
{
	return record_cgroup(skb, FL_CG_FORWARDED, FL_PROBE_CG_PORT + 1);
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
