/*
 * faultline/probe.h - what this kernel can do, found by trying it.
 *
 * fl_probe_all() tries every mechanism faultline builds faults from (load a
 * BPF program, attach a tcx link, add a qdisc, bind an NFQUEUE, ...) rather
 * than reading version numbers: a distribution kernel may lack a feature its
 * version promises, or carry one it does not. Every probe leaves nothing
 * behind: the network ones run in a forked child inside a network namespace
 * of its own, which the kernel tears down with the child.
 *
 * From the mechanisms it then derives which faults work here, and for each
 * one that does not, which missing mechanism is to blame; and on which side
 * (egress, ingress) a target such as --cgroup means what it says. `faultline doctor`
 * prints the report; the daemon serves it as GET /v1/capabilities.
 */
#ifndef FAULTLINE_PROBE_H
#define FAULTLINE_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/* The mechanisms, in the order they are probed and reported. */
enum fl_mech {
	FL_MECH_BTF,		/* kernel BTF: CO-RE programs load */
	FL_MECH_BPFFS,		/* bpf filesystem at /sys/fs/bpf */
	FL_MECH_BPF_SYSCALL,	/* bpf(2) loads a tc program (and JIT compiles it) */
	FL_MECH_TCX,		/* tcx links, kernel 6.6+ */
	FL_MECH_CLSACT,		/* clsact qdisc + cls_bpf filter, the pre-tcx way */
	FL_MECH_CGROUP2,	/* a cgroup v2 hierarchy is mounted */
	FL_MECH_SET_RETVAL,	/* cgroup/connect4 + bpf_set_retval chooses the errno */
	FL_MECH_CGROUP_EGRESS,	/* bpf_skb_cgroup_id() on tcx egress: the sender's cgroup */
	FL_MECH_CGROUP_INGRESS, /* the same on tcx ingress: informational, see below */
	FL_MECH_BPF_LSM,	/* BPF LSM is active and an lsm program attaches */
	FL_MECH_NFQUEUE,	/* nfnetlink_queue + the xt NFQUEUE target */
	FL_MECH_SCH_NETEM,	/* the netem qdisc */
	FL_MECH_SCH_FQ,		/* the fq qdisc (EDT pacing) */
	FL_MECH_RINGBUF,	/* BPF ring buffer maps */
	FL_MECH_BPF_TIMER,	/* bpf_timer helpers */
	FL_MECH_PROGRAMS,	/* faultline's own programs pass this kernel's verifier */
	FL_MECH__COUNT
};

/* The faults of DESIGN.md section 5, in its order. */
enum fl_fault_kind {
	FL_FAULT_LOSS,
	FL_FAULT_DUPLICATE,
	FL_FAULT_CORRUPT,
	FL_FAULT_RATE,
	FL_FAULT_BLACKHOLE,
	FL_FAULT_DELAY,
	FL_FAULT_REORDER,
	FL_FAULT_RESET,
	FL_FAULT_REFUSE,
	FL_FAULT_DNS,
	FL_FAULT_HTTP,
	FL_FAULT_IO,
	FL_FAULT__COUNT
};

#define FL_PROBE_DETAIL_MAX 224

struct fl_probe {
	const char *id;	  /* stable, for scripts: "tcx", "sch_fq", "bpf_set_retval" */
	const char *name; /* for people: "tcx links (tc BPF, Linux 6.6+)" */
	bool ok;
	int err; /* negative errno of the step that failed; 0 when ok */
	/* what was tried and what happened: "ingress and egress links on lo",
	 * "adding an fq qdisc on lo: No such file or directory (not built)" */
	char detail[FL_PROBE_DETAIL_MAX];
};

struct fl_fault_support {
	const char *fault; /* "delay" */
	bool works;
	const char *via; /* id of the mechanism used ("tcx", "nfqueue"); NULL when !works */
	/* works: how ("delay line (nfqueue); no sch_fq for EDT");
	 * else: what is missing ("needs bpf_lsm: ...") */
	char reason[FL_PROBE_DETAIL_MAX];
};

/*
 * The rule targets whose meaning the kernel decides. --cgroup PATH matches
 * bpf_skb_cgroup_id(), which the cgroup_egress and cgroup_ingress probes
 * measure: on egress it is the sending socket's cgroup; on ingress it is
 * never the receiving socket's (the remote sender's across a veth, 0 for a
 * packet without a local socket), so faultline refuses --cgroup there.
 */
enum fl_target_kind { FL_TARGET_CGROUP, FL_TARGET__COUNT };

struct fl_target_support {
	const char *target; /* "cgroup" */
	bool egress;	    /* the target matches what it says on egress here */
	bool ingress;	    /* ... and on ingress */
	const char *via;    /* id of the mechanism that showed it; NULL when neither */
	char reason[FL_PROBE_DETAIL_MAX];
};

struct fl_probe_report {
	struct fl_probe mech[FL_MECH__COUNT];
	struct fl_fault_support faults[FL_FAULT__COUNT];
	struct fl_target_support targets[FL_TARGET__COUNT];
	/* The core every packet fault needs: BTF and (tcx or clsact). */
	bool core_ok;
};

/*
 * Probe every mechanism and fill *out (all of it, whatever fails). A missing
 * mechanism is not an error: it is a probe with ok == false. Returns 0, or a
 * negative errno when probing itself was impossible (fork or pipe failed);
 * the entries not probed then say so.
 */
int fl_probe_all(struct fl_probe_report *out);

/*
 * Forced fallbacks, for testing a kernel without a feature on one that has
 * it: FAULTLINE_DISABLE is a list of feature ids (comma or space separated)
 * out of "tcx" (attach with clsact instead), "bpf_set_retval" (refuse
 * fails connect() with EPERM instead of the errno asked for) and "bpf_lsm"
 * (no fault uses it; doctor reports it missing). The probe reports a
 * disabled feature missing, and the engine never uses it.
 */
bool fl_feature_disabled(const char *id);
/* 0, or -EINVAL with a message in err when FAULTLINE_DISABLE names an
 * unknown feature. */
int fl_feature_check_env(char *err, size_t errlen);

/* The entry with that id, or NULL. */
const struct fl_probe *fl_probe_find(const struct fl_probe_report *r, const char *id);

/*
 * The mount point of the cgroup v2 hierarchy, from /proc/self/mountinfo (it
 * is /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones).
 * Returns 0, -ENOENT when none is mounted, -ENAMETOOLONG when buf is short.
 */
int fl_cgroup2_mount(char *buf, size_t len);

/* The report as the JSON object `faultline doctor --json` prints
 * ({core_ok, mechanisms, faults, targets}); malloc'd text, NULL on ENOMEM. */
char *fl_probe_report_json(const struct fl_probe_report *r);

#endif /* FAULTLINE_PROBE_H */
