/*
 * cli/doctor.c - `faultline doctor`: which mechanisms this kernel offers, and
 * which faults and targets therefore work here.
 *
 * The probing is the library's (injector/probe.c: each mechanism is tried,
 * never inferred from a version number); this file parses the flags and
 * prints the report as three aligned tables or as JSON.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "faultline/probe.h"

/* Exit code when the core (BTF and tcx or clsact) is missing: no packet fault works. */
#define FL_DOCTOR_EXIT_MISSING 1

static void doctor_usage(FILE *f)
{
	fputs(
	    "Usage: faultline doctor [--json] [--help]\n"
	    "\n"
	    "Probe this kernel for every mechanism faultline builds faults from, and tell\n"
	    "which faults therefore work here and, for those that do not, what is missing;\n"
	    "and on which side (egress, ingress) the --cgroup target means what it says.\n"
	    "\n"
	    "Each mechanism is probed by trying it on a small scale, not by reading version\n"
	    "numbers: a BPF program is loaded, a tcx link created, a qdisc added, a queue\n"
	    "bound, a connect() refused, UDP sent across a veth. Network probes run in a\n"
	    "forked child inside network namespaces of its own, so nothing they make\n"
	    "outlives them; the bpf_set_retval and cgroup probes use a temporary cgroup\n"
	    "that they remove. Run as root: without CAP_BPF, CAP_NET_ADMIN and\n"
	    "CAP_SYS_ADMIN most probes fail.\n"
	    "\n"
	    "Options:\n"
	    "  -j, --json   print the report as one JSON object:\n"
	    "               {\"core_ok\": bool,\n"
	    "                \"mechanisms\": [{\"id\", \"name\", \"ok\", \"detail\", \"errno\"}],\n"
	    "                \"faults\": [{\"fault\", \"works\", \"via\", \"reason\"}],\n"
	    "                \"targets\": [{\"target\", \"egress\", \"ingress\", \"via\",\n"
	    "                             \"reason\"}]}\n"
	    "               (\"errno\" only for a missing mechanism, \"via\" null when a\n"
	    "               fault or target does not work)\n"
	    "  -h, --help   show this help and exit\n"
	    "\n"
	    "Mechanisms (id: what is tried):\n"
	    "  btf             /sys/kernel/btf/vmlinux loads (CO-RE programs need it)\n"
	    "  bpffs           /sys/fs/bpf is a mounted bpf file system\n"
	    "  bpf_syscall     a tc program loads, and whether the JIT compiled it\n"
	    "  tcx             tcx ingress and egress links attach (Linux 6.6+)\n"
	    "  clsact          a clsact qdisc and cls_bpf filters attach (pre-tcx kernels)\n"
	    "  cgroup2         a cgroup v2 hierarchy is mounted (found in mountinfo)\n"
	    "  bpf_set_retval  a cgroup/connect4 program makes connect() fail with\n"
	    "                  ECONNREFUSED in a temporary cgroup\n"
	    "  cgroup_egress   UDP from a temporary cgroup across a veth to a second\n"
	    "                  network namespace: tc egress's bpf_skb_cgroup_id() is the\n"
	    "                  sending socket's cgroup (what --cgroup matches)\n"
	    "  cgroup_ingress  the same packets at the receiver's tc ingress, and packets\n"
	    "                  forwarded back: whose cgroup ingress sees (informational:\n"
	    "                  the remote sender's across a veth, 0 without a local socket)\n"
	    "  bpf_lsm         \"bpf\" is an active LSM and an lsm/file_permission program\n"
	    "                  attaches\n"
	    "  nfqueue         an nfnetlink queue binds and the iptables NFQUEUE target exists\n"
	    "  sch_netem       a netem qdisc can be added\n"
	    "  sch_fq          an fq qdisc can be added (EDT pacing)\n"
	    "  ringbuf         a BPF ring buffer map can be created\n"
	    "  bpf_timer       the verifier knows bpf_timer_init\n"
	    "  programs        faultline's own programs load: the classifier (Linux 6.2+),\n"
	    "                  the exit watchdog, refuse's connect() programs\n"
	    "\n"
	    "Faults and what they need:\n"
	    "  loss, duplicate, corrupt, rate, blackhole, reset, dns, http\n"
	    "                  btf, programs, and tcx or clsact (the packet classifier)\n"
	    "  delay, reorder  the same, and ringbuf (faultline's delay line)\n"
	    "  refuse          cgroup2; with bpf_set_retval connect() fails with the errno\n"
	    "                  asked for, without it (Linux < 5.18) with EPERM\n"
	    "  io              not in this release (it will need bpf_lsm)\n"
	    "\n"
	    "Targets whose meaning the kernel decides:\n"
	    "  cgroup          --cgroup PATH: on egress, with btf, tcx or clsact, and\n"
	    "                  cgroup_egress; never on ingress, where bpf_skb_cgroup_id()\n"
	    "                  is not the receiving socket's cgroup (see cgroup_ingress)\n"
	    "\n"
	    "Exit status:\n"
	    "  0  the core works: btf, programs, and tcx or clsact\n"
	    "  1  the core is missing: no packet fault can work on this kernel\n"
	    "  2  bad usage\n"
	    "\n"
	    "Environment:\n"
	    "  FAULTLINE_DISABLE=tcx,bpf_set_retval,bpf_lsm  report these missing and use the\n"
	    "                  fallbacks of an older kernel (docs/kernels.md)\n"
	    "\n"
	    "Examples:\n"
	    "  sudo faultline doctor\n"
	    "  sudo faultline doctor --json | jq -r '.faults[] | select(.works | not) | .fault'\n",
	    f);
}

static int max_width(int count, const char *(*name)(const struct fl_probe_report *, int),
		     const struct fl_probe_report *r, int floor)
{
	int w = floor;

	for (int i = 0; i < count; i++) {
		int l = (int)strlen(name(r, i));

		if (l > w)
			w = l;
	}
	return w;
}

static const char *mech_id(const struct fl_probe_report *r, int i)
{
	return r->mech[i].id;
}

static const char *fault_name(const struct fl_probe_report *r, int i)
{
	return r->faults[i].fault;
}

static const char *target_name(const struct fl_probe_report *r, int i)
{
	return r->targets[i].target;
}

static void print_human(const struct fl_probe_report *r)
{
	int w = max_width(FL_MECH__COUNT, mech_id, r, (int)strlen("MECHANISM"));

	printf("%-*s  %-7s  %s\n", w, "MECHANISM", "STATUS", "DETAIL");
	for (int i = 0; i < FL_MECH__COUNT; i++)
		printf("%-*s  %-7s  %s\n", w, r->mech[i].id, r->mech[i].ok ? "ok" : "missing",
		       r->mech[i].detail);

	w = max_width(FL_FAULT__COUNT, fault_name, r, (int)strlen("FAULT"));
	printf("\n%-*s  %-7s  %s\n", w, "FAULT", "STATUS", "HOW / WHY NOT");
	for (int i = 0; i < FL_FAULT__COUNT; i++)
		printf("%-*s  %-7s  %s\n", w, r->faults[i].fault,
		       r->faults[i].works ? "works" : "no", r->faults[i].reason);

	w = max_width(FL_TARGET__COUNT, target_name, r, (int)strlen("TARGET"));
	printf("\n%-*s  %-7s  %-7s  %s\n", w, "TARGET", "EGRESS", "INGRESS", "HOW / WHY NOT");
	for (int i = 0; i < FL_TARGET__COUNT; i++)
		printf("%-*s  %-7s  %-7s  %s\n", w, r->targets[i].target,
		       r->targets[i].egress ? "works" : "no",
		       r->targets[i].ingress ? "works" : "no", r->targets[i].reason);

	printf("\ncore (btf, programs, and tcx or clsact): %s\n", r->core_ok ? "ok" : "MISSING");
	if (geteuid() != 0)
		printf("note: not running as root; most probes need CAP_BPF, CAP_NET_ADMIN and "
		       "CAP_SYS_ADMIN\n");
}

static int print_json(const struct fl_probe_report *r)
{
	char *text = fl_probe_report_json(r);

	if (!text)
		return -1;
	puts(text);
	free(text);
	return 0;
}

/* arg is the argv element getopt refused; opt the short option it names, if any. */
static void bad_option(const char *arg, int opt)
{
	const char *eq = strchr(arg, '=');

	if (!strncmp(arg, "--", 2) && eq)
		fl_cli_err("doctor: option '%.*s' takes no value (see 'faultline doctor --help')",
			   (int)(eq - arg), arg);
	else if (!strncmp(arg, "--", 2))
		fl_cli_err("doctor: unknown option '%s' (see 'faultline doctor --help')", arg);
	else
		fl_cli_err("doctor: unknown option '-%c' (see 'faultline doctor --help')", opt);
}

int fl_cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct fl_probe_report report;
	bool json = false;
	int c, r;

	opterr = 0;
	optind = 1;
	for (;;) {
		/* "+": stop at the first operand, so argv[cur] is the element being parsed. */
		int cur = optind;

		c = getopt_long(argc, argv, "+jh", opts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			doctor_usage(stdout);
			return FL_EXIT_OK;
		default:
			bad_option(argv[cur], optopt);
			return FL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fl_cli_err("doctor: unexpected argument '%s' (see 'faultline doctor --help')",
			   argv[optind]);
		return FL_EXIT_USAGE;
	}

	r = fl_probe_all(&report);
	if (r < 0)
		fl_cli_err("doctor: some probes could not run: %s", strerror(-r));
	if (json) {
		if (print_json(&report) < 0) {
			fl_cli_err("doctor: out of memory building the JSON report");
			return FL_DOCTOR_EXIT_MISSING;
		}
	} else {
		print_human(&report);
	}
	fflush(stdout);
	return report.core_ok && r == 0 ? FL_EXIT_OK : FL_DOCTOR_EXIT_MISSING;
}
