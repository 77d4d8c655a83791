/*
 * injector/probe.c - find what this kernel can do by trying each mechanism.
 *
 * Version numbers lie in both directions (back-ported features, options
 * compiled out), so every probe does the real thing on a small scale: load
 * a program, create a link, add a qdisc, bind a queue, make connect() fail,
 * send UDP across a veth and see what a tc program is told about it.
 *
 * Nothing a probe makes may outlive it:
 * - probes that touch the network run in a forked child that first calls
 *   unshare(CLONE_NEWNET): its lo is private, and the kernel destroys the
 *   namespace, with every qdisc, filter and queue in it, when the child exits;
 * - BPF programs and links are held only by file descriptors of that child;
 * - the BPF LSM probe mounts securityfs, when the host has not, inside a
 *   private mount namespace of its own;
 * - the cgroup probe puts the far end of a veth in a second network
 *   namespace, which only a file descriptor of the same child holds;
 * - the bpf_set_retval and cgroup probes need a real cgroup: a temporary
 *   directory under the cgroup v2 mount, removed by the child and again by
 *   the parent in case the child died half-way.
 * The child sends its verdict back through a pipe as one fixed-size message;
 * a child that crashes or hangs (an alarm ends it) is reported as such.
 *
 * The fault verdicts at the end follow DESIGN.md section 5.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/magic.h>
#include <linux/netfilter.h>
#include <linux/pkt_sched.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>

#include <cjson/cJSON.h>

#include "faultline/probe.h"
#include "faultline/refuse.h"
#include "faultline/rule.h" /* the classifier's types, for its skeleton */
#include "classifier.skel.h"
#include "probes.skel.h"
#include "watchdog.skel.h"

/* libbpf 1.1.2's and linux-libc-dev 6.1's headers predate tcx (Linux 6.6). */
#ifndef FL_BPF_TCX_INGRESS
#define FL_BPF_TCX_INGRESS 46
#define FL_BPF_TCX_EGRESS  47
#endif

/* A probe child still running after this long is stuck: SIGALRM ends it. */
#define FL_PROBE_TIMEOUT_S 10
/* Far from the small queue numbers people pick; private to the child's netns anyway. */
#define FL_PROBE_NFQUEUE_NUM 65519
#define FL_PROBE_SECURITYFS  "/sys/kernel/security"

static const struct {
	const char *id;
	const char *name;
} mech_names[FL_MECH__COUNT] = {
    [FL_MECH_BTF] = {"btf", "kernel BTF (CO-RE)"},
    [FL_MECH_BPFFS] = {"bpffs", "BPF filesystem"},
    [FL_MECH_BPF_SYSCALL] = {"bpf_syscall", "bpf() loads a tc program"},
    [FL_MECH_TCX] = {"tcx", "tcx links (Linux 6.6+)"},
    [FL_MECH_CLSACT] = {"clsact", "clsact qdisc + cls_bpf filter"},
    [FL_MECH_CGROUP2] = {"cgroup2", "cgroup v2 hierarchy"},
    [FL_MECH_SET_RETVAL] = {"bpf_set_retval", "cgroup/connect4 + bpf_set_retval"},
    [FL_MECH_CGROUP_EGRESS] = {"cgroup_egress", "bpf_skb_cgroup_id() on tc egress"},
    [FL_MECH_CGROUP_INGRESS] = {"cgroup_ingress",
				"bpf_skb_cgroup_id() on tc ingress (informational)"},
    [FL_MECH_BPF_LSM] = {"bpf_lsm", "BPF LSM"},
    [FL_MECH_NFQUEUE] = {"nfqueue", "NFQUEUE target + nfnetlink_queue"},
    [FL_MECH_SCH_NETEM] = {"sch_netem", "netem qdisc"},
    [FL_MECH_SCH_FQ] = {"sch_fq", "fq qdisc (EDT pacing)"},
    [FL_MECH_RINGBUF] = {"ringbuf", "BPF ring buffer"},
    [FL_MECH_BPF_TIMER] = {"bpf_timer", "bpf_timer helpers"},
    [FL_MECH_PROGRAMS] = {"programs", "faultline's programs pass the verifier"},
};

static const char *const fault_names[FL_FAULT__COUNT] = {
    [FL_FAULT_LOSS] = "loss",		[FL_FAULT_DUPLICATE] = "duplicate",
    [FL_FAULT_CORRUPT] = "corrupt",	[FL_FAULT_RATE] = "rate",
    [FL_FAULT_BLACKHOLE] = "blackhole", [FL_FAULT_DELAY] = "delay",
    [FL_FAULT_REORDER] = "reorder",	[FL_FAULT_RESET] = "reset",
    [FL_FAULT_REFUSE] = "refuse",	[FL_FAULT_DNS] = "dns",
    [FL_FAULT_HTTP] = "http",		[FL_FAULT_IO] = "io",
};

/* ---- filling an entry ---------------------------------------------------- */

static __attribute__((format(printf, 2, 3))) void probe_pass(struct fl_probe *p, const char *fmt,
							     ...)
{
	va_list ap;

	p->ok = true;
	p->err = 0;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
}

/* Missing, for a reason the message states in full. */
static __attribute__((format(printf, 3, 4))) void probe_note(struct fl_probe *p, int err,
							     const char *fmt, ...)
{
	va_list ap;

	p->ok = false;
	p->err = err;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
}

/* Missing because a step failed with -err: "<step>: <strerror>[ (hint)]". */
static __attribute__((format(printf, 3, 4))) void probe_fail(struct fl_probe *p, int err,
							     const char *fmt, ...)
{
	const char *hint = "";
	va_list ap;
	size_t n;

	p->ok = false;
	p->err = err < 0 ? err : -EIO;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
	n = strlen(p->detail);
	if (p->err == -EPERM)
		hint = geteuid() ? " (run as root)" : " (even as root)";
	snprintf(p->detail + n, sizeof(p->detail) - n, ": %s%s", strerror(-p->err), hint);
}

/* ---- libbpf's messages, inside a probe child ----------------------------- */

/*
 * The library never prints, but the verifier's last words are the best
 * explanation of a failed load ("unknown func bpf_set_retval#187"). In a
 * probe child libbpf's messages are captured, and the last line of the last
 * verifier log is kept for the failure detail.
 */
static char verifier_hint[96];

static int capture_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static char msg[8192];
	char *end, *start;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	end = strstr(msg, "-- END PROG LOAD LOG --");
	if (!end)
		return 0;
	while (end > msg && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	start = end;
	while (start > msg && start[-1] != '\n')
		start--;
	if (end > start)
		snprintf(verifier_hint, sizeof(verifier_hint), "%.*s", (int)(end - start), start);
	return 0;
}

/*
 * Open the probe skeleton and load only the n programs called names[] (into
 * progs_out[]). The maps are created only when with_maps: the programs that
 * use none then load with nothing else, as a mechanism alone.
 */
static struct fl_probes *load_progs(struct fl_probe *p, const char *const *names, size_t n,
				    bool with_maps, struct bpf_program **progs_out)
{
	struct bpf_program *prog;
	struct fl_probes *skel;
	struct bpf_map *map;
	size_t found = 0;
	int err;

	skel = fl_probes__open();
	if (!skel) {
		probe_fail(p, -errno, "opening the probe programs");
		return NULL;
	}
	bpf_object__for_each_program(prog, skel->obj)
	{
		bool mine = false;

		for (size_t i = 0; i < n; i++)
			if (!strcmp(bpf_program__name(prog), names[i])) {
				progs_out[i] = prog;
				mine = true;
				found++;
			}
		bpf_program__set_autoload(prog, mine);
	}
	if (found != n) {
		fl_probes__destroy(skel);
		probe_note(p, -ENOENT, "no program %s in the probe object",
			   n == 1 ? names[0] : "of this probe");
		return NULL;
	}
	bpf_object__for_each_map(map, skel->obj)
	{
		bpf_map__set_autocreate(map, with_maps);
	}
	verifier_hint[0] = '\0';
	err = fl_probes__load(skel);
	if (err) {
		const char *name = n == 1 ? names[0] : "the probe programs";
		enum bpf_prog_type type = bpf_program__type(progs_out[0]);

		fl_probes__destroy(skel);
		if (verifier_hint[0])
			probe_note(p, err, "loading %s: %s (verifier: %s)", name, strerror(-err),
				   verifier_hint);
		else if (err == -EPERM && geteuid() == 0)
			/* Before the verifier: a policy of this kernel, not our privileges. */
			probe_note(p, err,
				   "loading %s: %s even as root: this kernel refuses %s "
				   "programs",
				   name, strerror(-err), libbpf_bpf_prog_type_str(type));
		else
			probe_fail(p, err, "loading %s", name);
		return NULL;
	}
	return skel;
}

/* Open the probe skeleton and load only the program called name. */
static struct fl_probes *load_only(struct fl_probe *p, const char *name,
				   struct bpf_program **prog_out)
{
	return load_progs(p, &name, 1, false, prog_out);
}

/* ---- running a probe in a child ------------------------------------------ */

struct probe_msg {
	int ok;
	int err;
	char detail[FL_PROBE_DETAIL_MAX];
};

typedef void (*probe_fn)(struct fl_probe *p);

/* At most this many entries come from one child (one measurement, several facts). */
#define FL_PROBE_CHILD_MAX 2
_Static_assert(FL_PROBE_CHILD_MAX * sizeof(struct probe_msg) <= PIPE_BUF, "one atomic pipe write");

/*
 * Run fn in a forked child (after unshare(unshare_flags) when not 0) and copy
 * its verdicts into p[0..n-1]: fn fills all n entries, from one measurement.
 * Returns 0, or -errno when no child could be run.
 */
static int run_child_n(struct fl_probe *p, size_t n, int unshare_flags, probe_fn fn)
{
	struct probe_msg m[FL_PROBE_CHILD_MAX];
	int fds[2], status = 0;
	ssize_t got;
	pid_t pid;

	if (n < 1 || n > FL_PROBE_CHILD_MAX)
		return -EINVAL;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		int err = -errno;

		for (size_t i = 0; i < n; i++)
			probe_fail(&p[i], err, "pipe");
		return err;
	}
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(fds[0]);
		close(fds[1]);
		for (size_t i = 0; i < n; i++)
			probe_fail(&p[i], err, "fork");
		return err;
	}
	if (pid == 0) {
		size_t len = n * sizeof(m[0]);

		close(fds[0]);
		signal(SIGALRM, SIG_DFL);
		alarm(FL_PROBE_TIMEOUT_S);
		libbpf_set_print(capture_libbpf);
		if (unshare_flags && unshare(unshare_flags) < 0)
			for (size_t i = 0; i < n; i++)
				probe_fail(&p[i], -errno, "unshare");
		else
			fn(p);
		memset(m, 0, sizeof(m));
		for (size_t i = 0; i < n; i++) {
			m[i].ok = p[i].ok;
			m[i].err = p[i].err;
			memcpy(m[i].detail, p[i].detail, sizeof(m[i].detail));
			m[i].detail[sizeof(m[i].detail) - 1] = '\0';
		}
		got = write(fds[1], m, len);
		_exit(got == (ssize_t)len ? 0 : 1);
	}
	close(fds[1]);
	do
		got = read(fds[0], m, n * sizeof(m[0]));
	while (got < 0 && errno == EINTR);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	for (size_t i = 0; i < n; i++) {
		if (got == (ssize_t)(n * sizeof(m[0]))) {
			p[i].ok = m[i].ok;
			p[i].err = m[i].err;
			memcpy(p[i].detail, m[i].detail, sizeof(p[i].detail));
			p[i].detail[sizeof(p[i].detail) - 1] = '\0';
		} else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
			probe_note(&p[i], -ETIMEDOUT, "probe did not finish within %d s",
				   FL_PROBE_TIMEOUT_S);
		} else if (WIFSIGNALED(status)) {
			probe_note(&p[i], -EINTR, "probe killed by signal %d (%s)",
				   WTERMSIG(status), strsignal(WTERMSIG(status)));
		} else {
			probe_note(&p[i], -EIO, "probe exited with status %d and no verdict",
				   WEXITSTATUS(status));
		}
	}
	return 0;
}

static int run_child(struct fl_probe *p, int unshare_flags, probe_fn fn)
{
	return run_child_n(p, 1, unshare_flags, fn);
}

/* ---- the probes ---------------------------------------------------------- */

static void probe_btf(struct fl_probe *p)
{
	libbpf_print_fn_t old;
	struct btf *btf;
	int err;

	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0) {
		probe_fail(p, -errno,
			   "/sys/kernel/btf/vmlinux (kernel built without "
			   "CONFIG_DEBUG_INFO_BTF?)");
		return;
	}
	old = libbpf_set_print(NULL);
	btf = btf__load_vmlinux_btf();
	err = btf ? 0 : -errno;
	libbpf_set_print(old);
	if (!btf) {
		probe_fail(p, err, "parsing /sys/kernel/btf/vmlinux");
		return;
	}
	probe_pass(p, "/sys/kernel/btf/vmlinux loads: %u types", btf__type_cnt(btf) - 1);
	btf__free(btf);
}

static void probe_bpffs(struct fl_probe *p)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) < 0 || st.f_type != BPF_FS_MAGIC) {
		probe_note(p, -ENOENT,
			   "not mounted: run make deps or mount -t bpf bpf /sys/fs/bpf");
		return;
	}
	probe_pass(p, "mounted at /sys/fs/bpf");
}

static void probe_bpf_syscall_child(struct fl_probe *p)
{
	struct bpf_prog_info info;
	struct bpf_program *prog;
	struct fl_probes *skel;
	__u32 len = sizeof(info);

	skel = load_only(p, "fl_probe_tc", &prog);
	if (!skel)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) < 0)
		probe_pass(p, "tc program loaded");
	else if (info.jited_prog_len)
		probe_pass(p, "tc program loaded and JIT-compiled (%u bytes of native code)",
			   info.jited_prog_len);
	else
		probe_pass(p, "tc program loaded but interpreted: JIT is off "
			      "(sysctl net.core.bpf_jit_enable=1)");
	fl_probes__destroy(skel);
}

/* Instructions the verifier went through for the program fd (0 when the
 * kernel does not say: before 5.16). */
static unsigned long long verified_insns(int fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.verified_insns : 0;
}

/* The same for every program of obj, counted in *nprogs. */
static unsigned long long obj_insns(struct bpf_object *obj, unsigned *nprogs)
{
	unsigned long long sum = 0;
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj)
	{
		(*nprogs)++;
		sum += verified_insns(bpf_program__fd(prog));
	}
	return sum;
}

/*
 * The programs faultline runs, loaded as the engine loads them (nothing
 * attached): the classifier (every packet and error fault), the exit
 * watchdog and refuse's connect() programs (fl_refuse__open, which picks
 * the pair this kernel takes). This is what says this kernel's verifier
 * accepts them, whatever its version.
 */
static void probe_programs_child(struct fl_probe *p)
{
	unsigned long long insns = 0;
	unsigned n = 0;
	struct fl_classifier *cls;
	struct fl_watchdog *wd;
	struct fl_refuse *ref = NULL;
	int r;

	errno = 0;
	cls = fl_classifier__open_and_load();
	if (!cls) {
		probe_fail(p, errno ? -errno : -EINVAL,
			   "loading the classifier (Linux 6.2+ needed)");
		return;
	}
	insns += obj_insns(cls->obj, &n);
	fl_classifier__destroy(cls);
	wd = fl_watchdog__open();
	if (!wd || fl_watchdog__load(wd)) {
		probe_fail(p, errno ? -errno : -EINVAL, "loading the exit watchdog");
		fl_watchdog__destroy(wd);
		return;
	}
	insns += obj_insns(wd->obj, &n);
	fl_watchdog__destroy(wd);
	r = fl_refuse__open(&ref);
	if (r) {
		probe_fail(p, r, "loading the connect() programs of refuse");
		return;
	}
	insns +=
	    verified_insns(fl_refuse__prog_fd(ref, 0)) + verified_insns(fl_refuse__prog_fd(ref, 1));
	n += 2;
	probe_pass(
	    p,
	    "the classifier, the exit watchdog and refuse's connect() programs (%s) load: %u "
	    "programs, %llu instructions verified",
	    fl_refuse__errno_fixed(ref) ? "without bpf_set_retval (EPERM)" : "with bpf_set_retval",
	    n, insns);
	fl_refuse__close(ref);
}

/* In a private network namespace: tcx links on its lo, both directions. */
static void probe_tcx_child(struct fl_probe *p)
{
	static const struct {
		int type;
		const char *dir;
	} hooks[] = {{FL_BPF_TCX_INGRESS, "ingress"}, {FL_BPF_TCX_EGRESS, "egress"}};
	struct bpf_program *prog;
	struct fl_probes *skel;
	int ifindex = if_nametoindex("lo");

	skel = load_only(p, "fl_probe_tc", &prog);
	if (!skel)
		return;
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		int fd = bpf_link_create(bpf_program__fd(prog), ifindex,
					 (enum bpf_attach_type)hooks[i].type, NULL);

		if (fd < 0) {
			if (fd == -EINVAL)
				probe_note(p, fd, "tcx %s link on lo: %s (tcx needs Linux 6.6+)",
					   hooks[i].dir, strerror(-fd));
			else
				probe_fail(p, fd, "tcx %s link on lo", hooks[i].dir);
			fl_probes__destroy(skel);
			return;
		}
		close(fd);
	}
	probe_pass(p, "ingress and egress links on lo (private netns)");
	fl_probes__destroy(skel);
}

/* In a private network namespace: clsact qdisc and cls_bpf filters on its lo. */
static void probe_clsact_child(struct fl_probe *p)
{
	static const struct {
		enum bpf_tc_attach_point point;
		const char *dir;
	} hooks[] = {{BPF_TC_INGRESS, "ingress"}, {BPF_TC_EGRESS, "egress"}};
	struct bpf_program *prog;
	struct fl_probes *skel;
	int err, ifindex = if_nametoindex("lo");

	skel = load_only(p, "fl_probe_tc", &prog);
	if (!skel)
		return;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		probe_fail(p, err, "adding a clsact qdisc on lo");
		goto out;
	}
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(prog));

		hook.attach_point = hooks[i].point;
		err = bpf_tc_attach(&hook, &opts);
		if (err) {
			probe_fail(p, err, "cls_bpf %s filter on lo", hooks[i].dir);
			goto out;
		}
	}
	probe_pass(p, "clsact qdisc, ingress and egress cls_bpf filters on lo (private netns)");
out:
	/* The namespace takes them with it; removing them is only tidiness. */
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	bpf_tc_hook_destroy(&hook);
	fl_probes__destroy(skel);
}

/* mountinfo escapes blanks and backslashes in paths as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

int fl_cgroup2_mount(char *buf, size_t len)
{
	char line[4096], mnt[PATH_MAX];
	int r = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* "36 25 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw" */
		const char *sep = strstr(line, " - ");

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		unescape_octal(mnt);
		if (strlen(mnt) >= len) {
			r = -ENAMETOOLONG;
			break;
		}
		strcpy(buf, mnt);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

static char cgroup2_path[PATH_MAX];

static void probe_cgroup2(struct fl_probe *p)
{
	struct statfs st;
	int r;

	r = fl_cgroup2_mount(cgroup2_path, sizeof(cgroup2_path));
	if (r == -ENOENT) {
		probe_note(p, r,
			   "no cgroup2 mount in /proc/self/mountinfo "
			   "(mount -t cgroup2 none /sys/fs/cgroup/unified)");
		return;
	}
	if (r < 0) {
		probe_fail(p, r, "reading /proc/self/mountinfo");
		return;
	}
	if (statfs(cgroup2_path, &st) < 0) {
		probe_fail(p, -errno, "%s", cgroup2_path);
		return;
	}
	if (st.f_type != CGROUP2_SUPER_MAGIC) {
		probe_note(p, -ENOENT, "%s is not a cgroup2 file system", cgroup2_path);
		return;
	}
	probe_pass(p, "mounted at %s", cgroup2_path);
}

/* The temporary cgroup of the bpf_set_retval probe; the parent removes it too. */
static char retval_cgroup[PATH_MAX + 64];

/* A process's report from inside the temporary cgroup. */
struct connect_msg {
	int stage; /* 0 joining the cgroup, 1 socket(), 2 connect() */
	int err;   /* errno of that stage, 0 when it succeeded */
};

/* Move the calling process into the cgroup v2 directory dir. */
static int join_cgroup(const char *dir)
{
	char path[PATH_MAX + 80], pid[32];
	int fd, len, err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, pid, len) != len)
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

/* In the grandchild: join the cgroup, then connect a UDP socket to 127.0.0.1:9. */
static void connect_from_cgroup(int wfd)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
	struct connect_msg m = {0, 0};
	int fd;

	m.err = -join_cgroup(retval_cgroup);
	if (m.err)
		goto out;
	m.stage = 1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		m.err = errno;
		goto out;
	}
	m.stage = 2;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		m.err = errno;
	close(fd);
out:
	if (write(wfd, &m, sizeof(m)) != sizeof(m))
		_exit(1);
	_exit(0);
}

/* Remove a temporary cgroup; its last process may take a moment to leave. */
static void remove_cgroup(const char *path)
{
	for (int i = 0; i < 50; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			return;
		usleep(10000);
	}
}

/*
 * A SIGKILL of the whole process group between mkdir and rmdir leaves a
 * temporary cgroup behind; the next doctor removes those whose owner is gone:
 * "faultline-doctor.PID", or "faultline-doctor.PID.WHAT".
 */
static void remove_stale_cgroups(const char *parent)
{
	struct dirent *de;
	DIR *d;

	d = opendir(parent);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX + 64];
		int pid, end = 0;

		if (sscanf(de->d_name, "faultline-doctor.%d%n", &pid, &end) != 1 || pid <= 0 ||
		    (de->d_name[end] != '\0' && de->d_name[end] != '.'))
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", parent, de->d_name) < (int)sizeof(path))
			rmdir(path);
	}
	closedir(d);
}

/*
 * A Ctrl-C in a probe that made a cgroup would leave it behind: hold such
 * signals until the child has removed it (they die with it, undelivered; the
 * alarm still bounds how long that takes).
 */
static void hold_signals(void)
{
	sigset_t quiet;

	sigemptyset(&quiet);
	sigaddset(&quiet, SIGINT);
	sigaddset(&quiet, SIGTERM);
	sigaddset(&quiet, SIGHUP);
	sigaddset(&quiet, SIGQUIT);
	sigprocmask(SIG_BLOCK, &quiet, NULL);
}

static void probe_set_retval_child(struct fl_probe *p)
{
	struct connect_msg m = {-1, 0};
	struct bpf_program *prog;
	struct fl_probes *skel = NULL;
	int cg_fd = -1, link_fd = -1, fds[2] = {-1, -1};
	ssize_t n = 0;
	pid_t pid;

	hold_signals();
	if (mkdir(retval_cgroup, 0700) < 0) {
		probe_fail(p, -errno, "making the temporary cgroup %s", retval_cgroup);
		return;
	}
	cg_fd = open(retval_cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		probe_fail(p, -errno, "opening %s", retval_cgroup);
		goto out;
	}
	skel = load_only(p, "fl_probe_conn4", &prog);
	if (!skel)
		goto out;
	link_fd = bpf_link_create(bpf_program__fd(prog), cg_fd, BPF_CGROUP_INET4_CONNECT, NULL);
	if (link_fd < 0) {
		probe_fail(p, link_fd, "attaching cgroup/connect4 to %s", retval_cgroup);
		goto out;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		probe_fail(p, -errno, "pipe");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		probe_fail(p, -errno, "fork");
		goto out;
	}
	if (pid == 0) {
		close(fds[0]);
		connect_from_cgroup(fds[1]);
	}
	close(fds[1]);
	fds[1] = -1;
	do
		n = read(fds[0], &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != sizeof(m))
		probe_note(p, -EIO, "the process in the temporary cgroup gave no answer");
	else if (m.stage == 0)
		probe_fail(p, -m.err, "moving a process into %s", retval_cgroup);
	else if (m.stage == 1)
		probe_fail(p, -m.err, "socket(AF_INET, SOCK_DGRAM)");
	else if (m.err == ECONNREFUSED)
		probe_pass(p, "connect() in a temporary cgroup failed with ECONNREFUSED, "
			      "the errno the program chose");
	else if (m.err == EPERM)
		probe_note(p, -EOPNOTSUPP,
			   "connect() failed with EPERM, not the ECONNREFUSED "
			   "the program chose: bpf_set_retval ignored (Linux 5.18+)");
	else if (m.err == 0)
		probe_note(p, -EOPNOTSUPP,
			   "connect() succeeded: the cgroup/connect4 program "
			   "did not run");
	else
		probe_note(p, -m.err, "connect() failed with %s, not ECONNREFUSED",
			   strerror(m.err));
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	if (link_fd >= 0)
		close(link_fd);
	fl_probes__destroy(skel);
	if (cg_fd >= 0)
		close(cg_fd);
	remove_cgroup(retval_cgroup);
}

static int read_small_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Is word one of the items of list (separated by commas or blanks)? */
static bool list_has(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *s = list + strspn(list, ", \t"); *s; s += strspn(s, ", \t")) {
		size_t l = strcspn(s, ", \t");

		if (l == wl && !strncmp(s, word, wl))
			return true;
		s += l;
	}
	return false;
}

/*
 * BPF LSM must be both built and listed in the active LSMs (lsm= on the
 * kernel command line); the list is only visible through securityfs, which
 * this child mounts in a private mount namespace when the host has not.
 */
static void probe_bpf_lsm_child(struct fl_probe *p)
{
	const char *lsm_file = FL_PROBE_SECURITYFS "/lsm";
	struct bpf_program *prog;
	struct fl_probes *skel;
	struct bpf_link *link;
	bool mounted = false;
	char lsms[256];
	int r;

	r = read_small_file(lsm_file, lsms, sizeof(lsms));
	if (r == -ENOENT) {
		if (unshare(CLONE_NEWNS) < 0) {
			probe_fail(p, -errno, "unshare(CLONE_NEWNS) to mount securityfs");
			return;
		}
		/* Private first, or a shared / would carry the mount back to the host. */
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			probe_fail(p, -errno, "making / private in the probe's mount namespace");
			return;
		}
		if (mount("securityfs", FL_PROBE_SECURITYFS, "securityfs", 0, NULL) < 0) {
			probe_fail(p, -errno, "mounting securityfs on " FL_PROBE_SECURITYFS);
			return;
		}
		mounted = true;
		r = read_small_file(lsm_file, lsms, sizeof(lsms));
	}
	if (r < 0) {
		probe_fail(p, r, "reading %s", lsm_file);
		return;
	}
	if (!list_has(lsms, "bpf")) {
		probe_note(p, -EOPNOTSUPP,
			   "active LSMs are %s: bpf is not among them (boot with "
			   "lsm=%s,bpf)",
			   lsms, lsms);
		return;
	}
	skel = load_only(p, "fl_probe_lsm", &prog);
	if (!skel) {
		char why[sizeof(p->detail)];

		memcpy(why, p->detail, sizeof(why));
		if (snprintf(p->detail, sizeof(p->detail), "bpf is an active LSM, but %s", why) >=
		    (int)sizeof(p->detail))
			p->detail[sizeof(p->detail) - 1] = '\0';
		return;
	}
	link = bpf_program__attach_lsm(prog);
	if (!link) {
		probe_fail(p, -errno, "attaching lsm/file_permission");
		fl_probes__destroy(skel);
		return;
	}
	probe_pass(p, "active LSMs %s%s; an lsm/file_permission program attached", lsms,
		   mounted ? " (securityfs not mounted: read privately)" : "");
	bpf_link__destroy(link);
	fl_probes__destroy(skel);
}

static int nfq_ignore(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
		      void *data)
{
	(void)qh;
	(void)msg;
	(void)nfa;
	(void)data;
	return 0;
}

/* Is NAME a line of file (e.g. a target of /proc/net/ip_tables_targets)? */
static int file_has_line(const char *path, const char *name)
{
	char line[128];
	int found = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		found = !strcmp(line, name);
	}
	fclose(f);
	return found;
}

/* In a private network namespace: bind a queue, and find the iptables target. */
static void probe_nfqueue_child(struct fl_probe *p)
{
	struct nfq_q_handle *qh;
	struct nfq_handle *h;
	int r;

	h = nfq_open();
	if (!h) {
		probe_fail(p, -errno, "opening nfnetlink_queue");
		return;
	}
	qh = nfq_create_queue(h, FL_PROBE_NFQUEUE_NUM, nfq_ignore, NULL);
	if (!qh) {
		probe_fail(p, -errno, "binding queue %d", FL_PROBE_NFQUEUE_NUM);
		nfq_close(h);
		return;
	}
	if (nfq_set_mode(qh, NFQNL_COPY_PACKET, 0xffff) < 0) {
		probe_fail(p, -errno, "setting queue %d to copy packets", FL_PROBE_NFQUEUE_NUM);
		nfq_destroy_queue(qh);
		nfq_close(h);
		return;
	}
	nfq_destroy_queue(qh);
	nfq_close(h);

	r = file_has_line("/proc/net/ip_tables_targets", "NFQUEUE");
	if (r < 0)
		probe_fail(p, r, "queue %d binds, but reading /proc/net/ip_tables_targets",
			   FL_PROBE_NFQUEUE_NUM);
	else if (!r)
		probe_note(p, -ENOENT,
			   "queue %d binds, but there is no NFQUEUE target in "
			   "/proc/net/ip_tables_targets",
			   FL_PROBE_NFQUEUE_NUM);
	else
		probe_pass(p, "queue %d bound (private netns); NFQUEUE iptables target present",
			   FL_PROBE_NFQUEUE_NUM);
}

static int nl_to_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_EXIST:
		return -EEXIST;
	default:
		return -EIO;
	}
}

/* In a private network namespace: add a root qdisc of this kind on lo. */
static void try_qdisc(struct fl_probe *p, const char *kind)
{
	struct rtnl_qdisc *q = NULL;
	struct nl_sock *sk;
	int r;

	sk = nl_socket_alloc();
	if (!sk) {
		probe_fail(p, -ENOMEM, "allocating a netlink socket");
		return;
	}
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		probe_note(p, nl_to_errno(r), "connecting to rtnetlink: %s", nl_geterror(r));
		goto out;
	}
	q = rtnl_qdisc_alloc();
	if (!q) {
		probe_fail(p, -ENOMEM, "allocating a qdisc");
		goto out;
	}
	rtnl_tc_set_ifindex(TC_CAST(q), (int)if_nametoindex("lo"));
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_kind(TC_CAST(q), kind);
	/* netem refuses a request without options; a limit is the plainest one. */
	if (!strcmp(kind, "netem"))
		rtnl_netem_set_limit(q, 1000);
	r = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL);
	if (r == -NLE_OBJ_NOTFOUND || r == -NLE_OPNOTSUPP)
		probe_note(p, nl_to_errno(r),
			   "tc qdisc add dev lo root %s: %s (not in this kernel)", kind,
			   nl_geterror(r));
	else if (r < 0)
		probe_note(p, nl_to_errno(r), "tc qdisc add dev lo root %s: %s", kind,
			   nl_geterror(r));
	else
		probe_pass(p, "%s qdisc added on lo (private netns)", kind);
out:
	if (q)
		rtnl_qdisc_put(q);
	nl_socket_free(sk);
}

static void probe_netem_child(struct fl_probe *p)
{
	try_qdisc(p, "netem");
}

static void probe_fq_child(struct fl_probe *p)
{
	try_qdisc(p, "fq");
}

/* ---- what bpf_skb_cgroup_id() names on egress and on ingress ------------- */

/*
 * --cgroup PATH matches bpf_skb_cgroup_id(). This probe measures what that
 * is on both sides of a veth, the way containers are wired:
 *
 *   this child's netns (A)                   a second private netns (B)
 *   flcg0 10.255.255.1/30  <---- veth ---->  flcg1 10.255.255.2/30
 *   tcx egress, tcx ingress                  tcx ingress, a receiver on :9
 *   a sender in a temporary cgroup           10.255.255.4/30 routed back to A
 *
 * The sender sends FL_PROBE_CG_PACKETS UDP packets to 10.255.255.2:9, and as
 * many to 10.255.255.6:10, which B forwards back to A: those arrive at A's
 * ingress forwarded, without a local socket, like traffic from a NIC.
 * A dies with this child and B is held only by its file descriptor: the
 * veth, the routes and the links go with them. The cgroup is removed here,
 * and again by the parent in case this child died half-way.
 */
#define FL_PROBE_CG_PORT    9 /* bpf/probes.bpf.c has the same; + 1: forwarded */
#define FL_PROBE_CG_PACKETS 3
#define FL_PROBE_CG_A	    "flcg0"
#define FL_PROBE_CG_B	    "flcg1"
#define FL_PROBE_CG_ADDR_A  "10.255.255.1"
#define FL_PROBE_CG_ADDR_B  "10.255.255.2"
#define FL_PROBE_CG_FWD_NET "10.255.255.4" /* /30, routed A -> B -> A */
#define FL_PROBE_CG_FWD_DST "10.255.255.6"
#define FL_PROBE_CG_MASK    "255.255.255.252"

/* The slots of the fl_cg_seen map, as in bpf/probes.bpf.c. */
enum { CG_EGRESS, CG_INGRESS, CG_FORWARDED, CG__SLOTS };

struct cg_seen {
	__u64 packets;
	__u64 cgroup_id; /* of the first packet */
	__u64 varied;	 /* 1 when a later packet had another id */
};

/* The temporary cgroup of the sender; the parent removes it too. */
static char sender_cgroup[PATH_MAX + 64];
/* "tcx", or "clsact" once a clsact filter stood in for a missing tcx. */
static const char *cg_hook = "tcx";

static void set_sin(struct sockaddr *sa, const char *addr, unsigned short port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, addr, &sin->sin_addr);
}

/* In the current netns: ADDR/30 on ifname, which goes up. */
static int if_up_with_addr(const char *ifname, const char *addr)
{
	struct ifreq ifr;
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	set_sin(&ifr.ifr_addr, addr, 0);
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0)
		goto fail;
	set_sin(&ifr.ifr_netmask, FL_PROBE_CG_MASK, 0);
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0)
		goto fail;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		goto fail;
	close(fd);
	return 0;
fail:
	err = -errno;
	close(fd);
	return err;
}

/* In the current netns: route FL_PROBE_CG_FWD_NET/30 via gw. */
static int add_fwd_route(const char *gw)
{
	struct rtentry rt;
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&rt, 0, sizeof(rt));
	set_sin(&rt.rt_dst, FL_PROBE_CG_FWD_NET, 0);
	set_sin(&rt.rt_genmask, FL_PROBE_CG_MASK, 0);
	set_sin(&rt.rt_gateway, gw, 0);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	if (ioctl(fd, SIOCADDRT, &rt) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* In the current netns: net.ipv4.ip_forward = on. */
static int set_ip_forward(bool on)
{
	int fd, err = 0;

	fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, on ? "1\n" : "0\n", 2) != 2)
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

/* In netns A: the veth pair FL_PROBE_CG_A, with its peer FL_PROBE_CG_B made in netns ns_b. */
static int make_veth(int ns_b)
{
	struct rtnl_link *link, *peer;
	struct nl_sock *sk;
	int r;

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0)
		goto out;
	link = rtnl_link_veth_alloc();
	if (!link) {
		r = -NLE_NOMEM;
		goto out;
	}
	rtnl_link_set_name(link, FL_PROBE_CG_A);
	peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(peer, FL_PROBE_CG_B);
	rtnl_link_set_ns_fd(peer, ns_b);
	rtnl_link_put(peer);
	r = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_veth_release(link);
out:
	nl_socket_free(sk);
	return r < 0 ? nl_to_errno(r) : 0;
}

/*
 * Attach prog_fd to ifindex (in the current netns): a tcx link, or where
 * this kernel has no tcx a clsact filter; the netns takes either with it.
 */
static int attach_tc(int prog_fd, const char *ifname, bool ingress, int *link_fd)
{
	int ifindex = (int)if_nametoindex(ifname), fd, err;

	if (!ifindex)
		return -errno;
	fd = bpf_link_create(
	    prog_fd, ifindex,
	    (enum bpf_attach_type)(ingress ? FL_BPF_TCX_INGRESS : FL_BPF_TCX_EGRESS), NULL);
	if (fd >= 0) {
		*link_fd = fd;
		return 0;
	}
	if (fd != -EINVAL)
		return fd;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	cg_hook = "clsact";
	return bpf_tc_attach(&hook, &opts);
}

/* The cgroup v2 id (the inode of its directory) of this process's cgroup. */
static int own_cgroup_id(__u64 *id)
{
	char line[PATH_MAX], path[2 * PATH_MAX];
	struct stat st;
	int r = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, sizeof(path), "%s%s", cgroup2_path, line + 3);
		r = stat(path, &st) < 0 ? -errno : 0;
		if (!r)
			*id = st.st_ino;
		break;
	}
	fclose(f);
	return r;
}

/* The sender's report from inside the temporary cgroup. */
struct sender_msg {
	int stage; /* 0 joining the cgroup, 1 socket(), 2 sendto() */
	int err;   /* errno of that stage, 0 when it succeeded */
};

/* In the grandchild, in netns A: join the cgroup, then send the probe packets. */
static void send_from_cgroup(int wfd)
{
	struct sender_msg m = {0, 0};
	struct sockaddr_storage to[2];
	int fd;

	m.err = -join_cgroup(sender_cgroup);
	if (m.err)
		goto out;
	m.stage = 1;
	/* After joining: a socket belongs to the cgroup its creator was in. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		m.err = errno;
		goto out;
	}
	m.stage = 2;
	set_sin((struct sockaddr *)&to[0], FL_PROBE_CG_ADDR_B, FL_PROBE_CG_PORT);
	set_sin((struct sockaddr *)&to[1], FL_PROBE_CG_FWD_DST, FL_PROBE_CG_PORT + 1);
	for (int i = 0; i < 2 * FL_PROBE_CG_PACKETS && !m.err; i++)
		if (sendto(fd, "faultline", 9, 0, (struct sockaddr *)&to[i % 2],
			   sizeof(struct sockaddr_in)) < 0)
			m.err = errno;
	close(fd);
out:
	if (write(wfd, &m, sizeof(m)) != sizeof(m))
		_exit(1);
	_exit(0);
}

/* Run the sender; 0 when it sent everything, else a failure noted in *p. */
static int run_sender(struct fl_probe *p)
{
	struct sender_msg m = {-1, 0};
	int fds[2];
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		probe_fail(p, -errno, "pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		probe_fail(p, -errno, "fork");
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		send_from_cgroup(fds[1]);
	}
	close(fds[1]);
	do
		n = read(fds[0], &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != sizeof(m))
		probe_note(p, -EIO, "the sender in the temporary cgroup gave no answer");
	else if (m.stage == 0 && m.err)
		probe_fail(p, -m.err, "moving the sender into %s", sender_cgroup);
	else if (m.stage == 1)
		probe_fail(p, -m.err, "socket(AF_INET, SOCK_DGRAM)");
	else if (m.err)
		probe_fail(p, -m.err, "sending UDP to " FL_PROBE_CG_ADDR_B " over the veth");
	else
		return 0;
	return -1;
}

/* Wait up to a second for every slot to count every packet; read them. */
static void wait_for_packets(int map_fd, int rx_fd, struct cg_seen seen[CG__SLOTS], int *received)
{
	char buf[64];

	for (int tries = 0; tries < 100; tries++) {
		bool all = true;

		while (recv(rx_fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
			(*received)++;
		for (__u32 k = 0; k < CG__SLOTS; k++) {
			if (bpf_map_lookup_elem(map_fd, &k, &seen[k]) < 0)
				memset(&seen[k], 0, sizeof(seen[k]));
			if (seen[k].packets < FL_PROBE_CG_PACKETS)
				all = false;
		}
		if (all && *received >= FL_PROBE_CG_PACKETS)
			return;
		usleep(10000);
	}
}

/* Whose cgroup id is this, for the ingress detail. */
static const char *whose(__u64 id, __u64 sender, __u64 receiver)
{
	if (id == sender)
		return "the sender's cgroup";
	if (id == receiver)
		return "the receiver's cgroup";
	return id ? "neither's cgroup" : "no cgroup (0)";
}

/* What was measured: p[0] the cgroup_egress verdict, p[1] cgroup_ingress. */
static void judge_cgroup_id(struct fl_probe *p, const struct cg_seen seen[CG__SLOTS], __u64 sender,
			    __u64 receiver, int received)
{
	const struct cg_seen *eg = &seen[CG_EGRESS], *in = &seen[CG_INGRESS];
	const struct cg_seen *fw = &seen[CG_FORWARDED];
	char fwd[96];

	if (!eg->packets)
		probe_note(&p[0], -EIO, "no probe packet reached %s egress of the veth", cg_hook);
	else if (eg->cgroup_id != sender || eg->varied)
		probe_note(&p[0], -EOPNOTSUPP,
			   "%s egress saw cgroup id %llu%s, not the sending socket's %llu", cg_hook,
			   (unsigned long long)eg->cgroup_id, eg->varied ? " (and others)" : "",
			   (unsigned long long)sender);
	else
		probe_pass(&p[0],
			   "%s egress: the sending socket's cgroup (id %llu, the inode of its "
			   "temporary cgroup) on %llu/%d UDP packets over a veth; %d received",
			   cg_hook, (unsigned long long)sender, (unsigned long long)eg->packets,
			   FL_PROBE_CG_PACKETS, received);

	if (!fw->packets)
		snprintf(fwd, sizeof(fwd), "forwarded packets not seen");
	else if (!fw->cgroup_id && !fw->varied)
		snprintf(fwd, sizeof(fwd), "0 on %llu forwarded (no local socket, as from a NIC)",
			 (unsigned long long)fw->packets);
	else
		snprintf(fwd, sizeof(fwd), "%s when forwarded (id %llu)",
			 whose(fw->cgroup_id, sender, receiver), (unsigned long long)fw->cgroup_id);
	if (!in->packets)
		probe_note(&p[1], -EIO, "no probe packet reached the receiver's %s ingress; %s",
			   cg_hook, fwd);
	else if (in->cgroup_id == sender && !in->varied)
		probe_pass(
		    &p[1],
		    "%s ingress: the sender's cgroup across a veth (id %llu, the remote "
		    "sending socket's, not the receiver's %llu); %s: --cgroup is egress only",
		    cg_hook, (unsigned long long)in->cgroup_id, (unsigned long long)receiver, fwd);
	else
		probe_pass(&p[1],
			   "%s ingress: %s across a veth (id %llu%s; sender %llu, receiver "
			   "%llu); %s: --cgroup is egress only",
			   cg_hook, whose(in->cgroup_id, sender, receiver),
			   (unsigned long long)in->cgroup_id, in->varied ? " and others" : "",
			   (unsigned long long)sender, (unsigned long long)receiver, fwd);
}

_Static_assert(FL_MECH_CGROUP_INGRESS == FL_MECH_CGROUP_EGRESS + 1, "one child fills both");

/* In a private network namespace (A): the whole measurement, for p[0] and p[1]. */
static void probe_cgroup_id_child(struct fl_probe *p)
{
	static const char *const names[CG__SLOTS] = {
	    [CG_EGRESS] = "fl_probe_cg_egress",
	    [CG_INGRESS] = "fl_probe_cg_ingress",
	    [CG_FORWARDED] = "fl_probe_cg_fwd",
	};
	struct bpf_program *progs[CG__SLOTS];
	struct cg_seen seen[CG__SLOTS];
	struct fl_probes *skel = NULL;
	int ns_a = -1, ns_b = -1, rx = -1, links[CG__SLOTS] = {-1, -1, -1};
	__u64 sender = 0, receiver = 0;
	struct sockaddr_storage at;
	bool made = false;
	struct stat st;
	int r, received = 0;

	hold_signals();
	probe_note(&p[1], -ECANCELED, "not measured");
	ns_a = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns_a < 0) {
		probe_fail(&p[0], -errno, "opening /proc/self/ns/net");
		goto out;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		probe_fail(&p[0], -errno, "unshare(CLONE_NEWNET) for the receiver");
		goto out;
	}
	ns_b = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns_b < 0) {
		probe_fail(&p[0], -errno, "opening /proc/self/ns/net");
		goto out;
	}
	if (setns(ns_a, CLONE_NEWNET) < 0) {
		probe_fail(&p[0], -errno, "setns back to the sender's netns");
		goto out;
	}

	/* Netns A: the veth, its address, the route of the forwarded packets. */
	r = make_veth(ns_b);
	if (r < 0) {
		probe_fail(&p[0], r,
			   "adding veth " FL_PROBE_CG_A " with its peer in a second netns");
		goto out;
	}
	r = if_up_with_addr(FL_PROBE_CG_A, FL_PROBE_CG_ADDR_A);
	if (r < 0) {
		probe_fail(&p[0], r, "setting " FL_PROBE_CG_A " up with " FL_PROBE_CG_ADDR_A "/30");
		goto out;
	}
	r = add_fwd_route(FL_PROBE_CG_ADDR_B);
	if (r == 0)
		r = set_ip_forward(false);
	if (r < 0) {
		probe_fail(&p[0], r, "routing " FL_PROBE_CG_FWD_NET "/30 via " FL_PROBE_CG_ADDR_B);
		goto out;
	}
	skel = load_progs(&p[0], names, CG__SLOTS, true, progs);
	if (!skel)
		goto out;
	r = attach_tc(bpf_program__fd(progs[CG_EGRESS]), FL_PROBE_CG_A, false, &links[CG_EGRESS]);
	if (r == 0)
		r = attach_tc(bpf_program__fd(progs[CG_FORWARDED]), FL_PROBE_CG_A, true,
			      &links[CG_FORWARDED]);
	if (r < 0) {
		probe_fail(&p[0], r, "attaching tc programs to " FL_PROBE_CG_A);
		goto out;
	}

	/* Netns B: the peer, the receiver, and the route back to A. */
	if (setns(ns_b, CLONE_NEWNET) < 0) {
		probe_fail(&p[0], -errno, "setns to the receiver's netns");
		goto out;
	}
	r = if_up_with_addr(FL_PROBE_CG_B, FL_PROBE_CG_ADDR_B);
	if (r < 0) {
		probe_fail(&p[0], r, "setting " FL_PROBE_CG_B " up with " FL_PROBE_CG_ADDR_B "/30");
		goto out;
	}
	r = add_fwd_route(FL_PROBE_CG_ADDR_A);
	if (r == 0)
		r = set_ip_forward(true);
	if (r < 0) {
		probe_fail(&p[0], r,
			   "routing " FL_PROBE_CG_FWD_NET "/30 back via " FL_PROBE_CG_ADDR_A);
		goto out;
	}
	r = attach_tc(bpf_program__fd(progs[CG_INGRESS]), FL_PROBE_CG_B, true, &links[CG_INGRESS]);
	if (r < 0) {
		probe_fail(&p[0], r, "attaching a tc program to " FL_PROBE_CG_B);
		goto out;
	}
	rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	set_sin((struct sockaddr *)&at, FL_PROBE_CG_ADDR_B, FL_PROBE_CG_PORT);
	if (rx < 0 || bind(rx, (struct sockaddr *)&at, sizeof(struct sockaddr_in)) < 0) {
		probe_fail(&p[0], -errno, "binding the receiver to " FL_PROBE_CG_ADDR_B);
		goto out;
	}
	if (setns(ns_a, CLONE_NEWNET) < 0) {
		probe_fail(&p[0], -errno, "setns back to the sender's netns");
		goto out;
	}

	/* The sender, in a cgroup of its own; the receiver stays in ours. */
	if (mkdir(sender_cgroup, 0700) < 0) {
		probe_fail(&p[0], -errno, "making the temporary cgroup %s", sender_cgroup);
		goto out;
	}
	made = true;
	if (stat(sender_cgroup, &st) < 0) {
		probe_fail(&p[0], -errno, "%s", sender_cgroup);
		goto out;
	}
	sender = st.st_ino;
	r = own_cgroup_id(&receiver);
	if (r < 0) {
		probe_fail(&p[0], r, "finding this process's cgroup v2 in /proc/self/cgroup");
		goto out;
	}
	if (run_sender(&p[0]) < 0)
		goto out;
	wait_for_packets(bpf_map__fd(skel->maps.fl_cg_seen), rx, seen, &received);
	judge_cgroup_id(p, seen, sender, receiver, received);
	goto done;
out:
	/* The measurement never ran: both entries say why. */
	p[1].ok = p[0].ok;
	p[1].err = p[0].err;
	memcpy(p[1].detail, p[0].detail, sizeof(p[1].detail));
done:
	for (int i = 0; i < CG__SLOTS; i++)
		if (links[i] >= 0)
			close(links[i]);
	fl_probes__destroy(skel);
	if (rx >= 0)
		close(rx);
	if (ns_b >= 0)
		close(ns_b);
	if (ns_a >= 0)
		close(ns_a);
	if (made)
		remove_cgroup(sender_cgroup);
}

/* Make a ring buffer map of one page and close it. */
static void probe_ringbuf(struct fl_probe *p)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "fl_probe_rb", 0, 0,
				(__u32)sysconf(_SC_PAGESIZE), NULL);

	if (fd >= 0) {
		close(fd);
		probe_pass(p, "a BPF_MAP_TYPE_RINGBUF map was created");
	} else if (fd == -EINVAL) {
		probe_note(p, fd, "the kernel refuses BPF_MAP_TYPE_RINGBUF (Linux 5.8+)");
	} else {
		probe_fail(p, fd, "creating a BPF_MAP_TYPE_RINGBUF map");
	}
}

/*
 * libbpf's helper probe loads a tc program calling bpf_timer_init and reads
 * the verifier's answer; any other failure (EPERM) it counts as "supported",
 * so it is only asked once bpf() is known to load tc programs.
 */
static void probe_bpf_timer(struct fl_probe *p, const struct fl_probe *bpf_syscall)
{
	libbpf_print_fn_t old;
	int r;

	if (!bpf_syscall->ok) {
		probe_note(p, bpf_syscall->err, "not tried: needs bpf_syscall");
		return;
	}
	old = libbpf_set_print(NULL);
	r = libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_timer_init, NULL);
	libbpf_set_print(old);
	if (r == 1)
		probe_pass(p, "the verifier knows bpf_timer_init in tc programs");
	else if (r == 0)
		probe_note(p, -EOPNOTSUPP,
			   "the verifier does not know bpf_timer_init (Linux 5.15+)");
	else
		probe_fail(p, r, "loading a tc program that calls bpf_timer_init");
}

/* ---- fault verdicts ------------------------------------------------------ */

static __attribute__((format(printf, 4, 5))) void fault_set(struct fl_fault_support *f, bool works,
							    const char *via, const char *fmt, ...)
{
	va_list ap;

	f->works = works;
	f->via = works ? via : NULL;
	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
	va_end(ap);
}

static void judge_faults(struct fl_probe_report *r)
{
	static const enum fl_fault_kind packet_faults[] = {
	    FL_FAULT_LOSS,	FL_FAULT_DUPLICATE, FL_FAULT_CORRUPT, FL_FAULT_RATE,
	    FL_FAULT_BLACKHOLE, FL_FAULT_RESET,	    FL_FAULT_DNS,     FL_FAULT_HTTP,
	};
	static const enum fl_fault_kind delay_faults[] = {FL_FAULT_DELAY, FL_FAULT_REORDER};
	const struct fl_probe *m = r->mech;
	bool btf = m[FL_MECH_BTF].ok, tcx = m[FL_MECH_TCX].ok, clsact = m[FL_MECH_CLSACT].ok;
	bool edt, line;

	for (int i = 0; i < FL_FAULT__COUNT; i++)
		r->faults[i].fault = fault_names[i];

	r->core_ok = btf && (tcx || clsact) && m[FL_MECH_PROGRAMS].ok;
	for (size_t i = 0; i < sizeof(packet_faults) / sizeof(packet_faults[0]); i++) {
		struct fl_fault_support *f = &r->faults[packet_faults[i]];

		if (!btf)
			fault_set(f, false, NULL, "needs btf");
		else if (!m[FL_MECH_PROGRAMS].ok)
			fault_set(f, false, NULL,
				  "needs programs: the classifier does not load here");
		else if (tcx)
			fault_set(f, true, "tcx", "classifier on tcx links");
		else if (clsact)
			fault_set(f, true, "clsact",
				  "classifier on clsact filters (no tcx: journaled, not fd-owned)");
		else
			fault_set(f, false, NULL, "needs tcx or clsact");
	}

	/* the error faults rewrite packets in the same classifier
	 * (docs/errors.md): say how */
	if (r->faults[FL_FAULT_RESET].works) {
		const char *hook = tcx ? "tcx" : "clsact";

		fault_set(&r->faults[FL_FAULT_RESET], true, hook,
			  "classifier on %s: a segment of the connection becomes a RST (ingress: "
			  "rewritten in place; egress: reflected into the device's ingress)",
			  hook);
		fault_set(&r->faults[FL_FAULT_DNS], true, hook,
			  "classifier on %s: the rcode of DNS responses rewritten (UDP: trimmed to "
			  "the question) or the response dropped, checksums fixed",
			  hook);
		fault_set(&r->faults[FL_FAULT_HTTP], true, hook,
			  "classifier on %s: the status of HTTP/1.x responses rewritten in place "
			  "(same length), checksum fixed",
			  hook);
	}

	/* faultline's delay line (docs/delay.md): the classifier copies the
	 * frame into a ring buffer and sinks it; faultline sends it again at
	 * its due time. EDT (skb->tstamp, released by sch_fq) is not built:
	 * say whether it could be. */
	edt = m[FL_MECH_SCH_FQ].ok;
	line = r->core_ok && m[FL_MECH_RINGBUF].ok;
	for (size_t i = 0; i < sizeof(delay_faults) / sizeof(delay_faults[0]); i++) {
		struct fl_fault_support *f = &r->faults[delay_faults[i]];

		if (line)
			fault_set(f, true, "ringbuf",
				  "delay line: copied out at %s into a ring buffer, sent again at "
				  "the due time by faultline (AF_PACKET; ingress via lo)%s",
				  tcx ? "tcx" : "clsact",
				  edt ? "; sch_fq is here, but faultline has no EDT backend"
				      : "; no sch_fq, so no EDT");
		else
			fault_set(f, false, NULL, "needs %s",
				  !r->core_ok ? "btf, and tcx or clsact" : "ringbuf");
	}

	if (!m[FL_MECH_CGROUP2].ok)
		fault_set(&r->faults[FL_FAULT_REFUSE], false, NULL, "needs cgroup2");
	else if (!m[FL_MECH_SET_RETVAL].ok)
		fault_set(
		    &r->faults[FL_FAULT_REFUSE], true, "cgroup",
		    "cgroup connect4/connect6 hooks (fd-owned links) without bpf_set_retval "
		    "(Linux < 5.18): connect() fails with EPERM, whatever errno is asked for");
	else
		fault_set(&r->faults[FL_FAULT_REFUSE], true, "bpf_set_retval",
			  "cgroup connect4/connect6 hooks (fd-owned links) with bpf_set_retval: "
			  "connect() fails with the errno asked for");

	/* io is designed (DESIGN.md: lsm/file_permission) but not built: no
	 * fault of this release needs BPF LSM */
	fault_set(&r->faults[FL_FAULT_IO], false, NULL,
		  "needs bpf_lsm (%s here), and is not in this release; no other fault uses "
		  "bpf_lsm",
		  m[FL_MECH_BPF_LSM].ok ? "present" : "missing");
}

/*
 * --cgroup matches bpf_skb_cgroup_id(): on egress where cgroup_egress saw the
 * sending socket's cgroup there; never on ingress, where it is not the
 * receiving socket's (cgroup_ingress says what it is instead).
 */
static void judge_targets(struct fl_probe_report *r)
{
	struct fl_target_support *t = &r->targets[FL_TARGET_CGROUP];
	const struct fl_probe *m = r->mech;

	t->target = "cgroup";
	t->ingress = false;
	t->egress = r->core_ok && m[FL_MECH_CGROUP_EGRESS].ok;
	t->via = t->egress ? m[FL_MECH_CGROUP_EGRESS].id : NULL;
	if (!r->core_ok)
		snprintf(t->reason, sizeof(t->reason), "needs btf, and tcx or clsact");
	else if (!m[FL_MECH_CGROUP_EGRESS].ok)
		snprintf(t->reason, sizeof(t->reason), "needs cgroup_egress");
	else
		snprintf(t->reason, sizeof(t->reason),
			 "egress only: there bpf_skb_cgroup_id() is the sending socket's cgroup "
			 "(cgroup_egress); on ingress it is the remote sender's or 0, not the "
			 "receiver's (cgroup_ingress), so --cgroup is refused there");
}

/* ---- the whole report ---------------------------------------------------- */

const struct fl_probe *fl_probe_find(const struct fl_probe_report *r, const char *id)
{
	for (int i = 0; i < FL_MECH__COUNT; i++)
		if (r->mech[i].id && !strcmp(r->mech[i].id, id))
			return &r->mech[i];
	return NULL;
}

static const char *const disable_ids[] = {"tcx", "bpf_set_retval", "bpf_lsm"};

bool fl_feature_disabled(const char *id)
{
	const char *v = getenv("FAULTLINE_DISABLE");

	return v && list_has(v, id);
}

int fl_feature_check_env(char *err, size_t errlen)
{
	const char *v = getenv("FAULTLINE_DISABLE");

	for (const char *p = v ? v + strspn(v, ", \t") : ""; *p; p += strspn(p, ", \t")) {
		size_t w = strcspn(p, ", \t");
		char word[65];
		bool known = false;

		snprintf(word, sizeof(word), "%.*s", (int)(w < 64 ? w : 64), p);
		for (size_t i = 0; i < sizeof(disable_ids) / sizeof(disable_ids[0]); i++)
			known |= !strcmp(word, disable_ids[i]);
		if (!known) {
			snprintf(err, errlen,
				 "FAULTLINE_DISABLE: unknown feature \"%.*s\" (expected tcx, "
				 "bpf_set_retval or bpf_lsm, comma separated)",
				 (int)(w > 64 ? 64 : w), p);
			return -EINVAL;
		}
		p += w;
	}
	return 0;
}

int fl_probe_all(struct fl_probe_report *out)
{
	struct fl_probe *m = out->mech;
	int r, ret = 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < FL_MECH__COUNT; i++) {
		m[i].id = mech_names[i].id;
		m[i].name = mech_names[i].name;
		probe_note(&m[i], -ECANCELED, "not probed");
	}

	probe_btf(&m[FL_MECH_BTF]);
	probe_bpffs(&m[FL_MECH_BPFFS]);
	r = run_child(&m[FL_MECH_BPF_SYSCALL], 0, probe_bpf_syscall_child);
	ret = ret ?: r;
	r = run_child(&m[FL_MECH_PROGRAMS], 0, probe_programs_child);
	ret = ret ?: r;
	r = run_child(&m[FL_MECH_TCX], CLONE_NEWNET, probe_tcx_child);
	ret = ret ?: r;
	r = run_child(&m[FL_MECH_CLSACT], CLONE_NEWNET, probe_clsact_child);
	ret = ret ?: r;
	probe_cgroup2(&m[FL_MECH_CGROUP2]);
	if (m[FL_MECH_CGROUP2].ok) {
		remove_stale_cgroups(cgroup2_path);
		snprintf(retval_cgroup, sizeof(retval_cgroup), "%s/faultline-doctor.%d",
			 cgroup2_path, (int)getpid());
		r = run_child(&m[FL_MECH_SET_RETVAL], 0, probe_set_retval_child);
		ret = ret ?: r;
		remove_cgroup(retval_cgroup);
		snprintf(sender_cgroup, sizeof(sender_cgroup), "%s/faultline-doctor.%d.cgroup_id",
			 cgroup2_path, (int)getpid());
		r = run_child_n(&m[FL_MECH_CGROUP_EGRESS], 2, CLONE_NEWNET, probe_cgroup_id_child);
		ret = ret ?: r;
		remove_cgroup(sender_cgroup);
	} else {
		probe_note(&m[FL_MECH_SET_RETVAL], -ENOENT, "not tried: needs cgroup2");
		probe_note(&m[FL_MECH_CGROUP_EGRESS], -ENOENT, "not tried: needs cgroup2");
		probe_note(&m[FL_MECH_CGROUP_INGRESS], -ENOENT, "not tried: needs cgroup2");
	}
	r = run_child(&m[FL_MECH_BPF_LSM], 0, probe_bpf_lsm_child);
	ret = ret ?: r;
	r = run_child(&m[FL_MECH_NFQUEUE], CLONE_NEWNET, probe_nfqueue_child);
	ret = ret ?: r;
	r = run_child(&m[FL_MECH_SCH_NETEM], CLONE_NEWNET, probe_netem_child);
	ret = ret ?: r;
	r = run_child(&m[FL_MECH_SCH_FQ], CLONE_NEWNET, probe_fq_child);
	ret = ret ?: r;
	probe_ringbuf(&m[FL_MECH_RINGBUF]);
	probe_bpf_timer(&m[FL_MECH_BPF_TIMER], &m[FL_MECH_BPF_SYSCALL]);

	/* forced fallbacks: what the engine will not use is reported missing */
	for (int i = 0; i < FL_MECH__COUNT; i++) {
		char was[FL_PROBE_DETAIL_MAX];

		if (!fl_feature_disabled(m[i].id))
			continue;
		snprintf(was, sizeof(was), "%s", m[i].detail);
		probe_note(&m[i], -EPERM, "disabled by FAULTLINE_DISABLE (forced fallback)%s%.160s",
			   m[i].ok ? "; the kernel has it" : "; the kernel lacks it too: ",
			   m[i].ok ? "" : was);
	}

	judge_faults(out);
	judge_targets(out);
	return ret;
}

char *fl_probe_report_json(const struct fl_probe_report *r)
{
	cJSON *root, *mechs, *faults, *targets;
	char *text;

	root = cJSON_CreateObject();
	if (!root)
		return NULL;
	cJSON_AddBoolToObject(root, "core_ok", r->core_ok);
	mechs = cJSON_AddArrayToObject(root, "mechanisms");
	faults = cJSON_AddArrayToObject(root, "faults");
	targets = cJSON_AddArrayToObject(root, "targets");
	if (!mechs || !faults || !targets)
		goto fail;
	for (int i = 0; i < FL_MECH__COUNT; i++) {
		const struct fl_probe *p = &r->mech[i];
		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddItemToArray(mechs, o))
			goto fail;
		cJSON_AddStringToObject(o, "id", p->id);
		cJSON_AddStringToObject(o, "name", p->name);
		cJSON_AddBoolToObject(o, "ok", p->ok);
		cJSON_AddStringToObject(o, "detail", p->detail);
		if (!p->ok)
			cJSON_AddNumberToObject(o, "errno", -p->err);
	}
	for (int i = 0; i < FL_FAULT__COUNT; i++) {
		const struct fl_fault_support *f = &r->faults[i];
		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddItemToArray(faults, o))
			goto fail;
		cJSON_AddStringToObject(o, "fault", f->fault);
		cJSON_AddBoolToObject(o, "works", f->works);
		if (f->via)
			cJSON_AddStringToObject(o, "via", f->via);
		else
			cJSON_AddNullToObject(o, "via");
		cJSON_AddStringToObject(o, "reason", f->reason);
	}
	for (int i = 0; i < FL_TARGET__COUNT; i++) {
		const struct fl_target_support *t = &r->targets[i];
		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddItemToArray(targets, o))
			goto fail;
		cJSON_AddStringToObject(o, "target", t->target);
		cJSON_AddBoolToObject(o, "egress", t->egress);
		cJSON_AddBoolToObject(o, "ingress", t->ingress);
		if (t->via)
			cJSON_AddStringToObject(o, "via", t->via);
		else
			cJSON_AddNullToObject(o, "via");
		cJSON_AddStringToObject(o, "reason", t->reason);
	}
	text = cJSON_Print(root);
	cJSON_Delete(root);
	return text;
fail:
	cJSON_Delete(root);
	return NULL;
}
