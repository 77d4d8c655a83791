/*
 * injector/attach.c - tcx links, the clsact fallback and its journal.
 *
 * The journal is one file per clsact filter,
 *   <run_dir>/journal/clsact-<pid>-<ifindex>-<dir>-<seq>
 * holding "pid ifindex dir handle priority qdisc_created". It is written
 * before the filter is created and removed after the filter is, so a crash
 * at any point leaves either nothing or an entry that fl_journal_replay()
 * can act on. The filter's handle is the owner's pid, so replaying an entry
 * whose filter never got created is harmless (ENOENT).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "faultline/probe.h" /* fl_feature_disabled() */
#include "injector/attach.h"

static int attach_tcx(int prog_fd, int ifindex, int dir, struct fl_attachment *a)
{
	int fd = bpf_link_create(
	    prog_fd, ifindex, dir == FL_DIR_INGRESS ? FL_BPF_TCX_INGRESS : FL_BPF_TCX_EGRESS, NULL);

	if (fd < 0)
		return -errno;
	a->mode = FL_ATTACH_TCX;
	a->link_fd = fd;
	return 0;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int journal_write(const struct fl_attachment *a)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", a->journal);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d %d %d %u %u %d\n", (int)getpid(), a->ifindex, a->dir, a->handle, a->priority,
		a->qdisc_created);
	if (fflush(f) || fsync(fileno(f))) {
		int r = -errno;

		fclose(f);
		unlink(tmp);
		return r;
	}
	fclose(f);
	if (rename(tmp, a->journal)) {
		int r = -errno;

		unlink(tmp);
		return r;
	}
	return 0;
}

static void clsact_remove(int ifindex, int dir, uint32_t handle, uint32_t priority,
			  int qdisc_created)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = dir == FL_DIR_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);

	bpf_tc_detach(&hook, &opts);
	if (qdisc_created) {
		/* We made the clsact qdisc, so it is ours to remove (this also
		 * removes the other direction's hook: both are ours then). */
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
}

static int attach_clsact(const char *run_dir, int prog_fd, int ifindex, int dir,
			 struct fl_attachment *a)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = dir == FL_DIR_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
	static unsigned clsact_seq;
	char jdir[PATH_MAX - 64];
	unsigned seq;
	int r;

	snprintf(jdir, sizeof(jdir), "%s/journal", run_dir);
	r = mkdir_p(jdir);
	if (r)
		return r;
	/* several classifiers of one process may share a hook (a runner's
	 * steps): each its own priority, rising in attach order like tcx's
	 * append, and its own journal entry */
	seq = __atomic_fetch_add(&clsact_seq, 1, __ATOMIC_RELAXED);
	a->mode = FL_ATTACH_CLSACT;
	a->handle = (uint32_t)getpid();
	a->priority = FL_CLSACT_PRIO + (seq % 1000);
	snprintf(a->journal, sizeof(a->journal), "%s/clsact-%d-%d-%d-%u", jdir, (int)getpid(),
		 ifindex, dir, seq);

	/* Journal first: the qdisc may be created by the very next call. */
	a->qdisc_created = 1;
	r = journal_write(a);
	if (r)
		return r;
	r = bpf_tc_hook_create(&hook);
	if (r == -EEXIST) {
		a->qdisc_created = 0;
		r = journal_write(a);
	}
	if (r)
		goto fail;
	opts.handle = a->handle;
	opts.priority = a->priority;
	r = bpf_tc_attach(&hook, &opts);
	if (r)
		goto fail;
	return 0;
fail:
	clsact_remove(ifindex, dir, a->handle, a->priority, a->qdisc_created);
	unlink(a->journal);
	a->journal[0] = 0;
	return r;
}

int fl_attach(const char *run_dir, enum fl_attach_mode mode, int prog_fd, int ifindex, int dir,
	      struct fl_attachment *a)
{
	int r;

	memset(a, 0, sizeof(*a));
	a->ifindex = ifindex;
	a->dir = dir;
	a->link_fd = -1;
	if (mode != FL_ATTACH_CLSACT) {
		/* FAULTLINE_DISABLE=tcx: as on a kernel without tcx (EINVAL) */
		r = fl_feature_disabled("tcx") ? -EINVAL : attach_tcx(prog_fd, ifindex, dir, a);
		/* EINVAL: this kernel has no tcx attach type; fall back. */
		if (r != -EINVAL || mode == FL_ATTACH_TCX)
			return r;
	}
	return attach_clsact(run_dir, prog_fd, ifindex, dir, a);
}

void fl_detach(struct fl_attachment *a)
{
	if (a->mode == FL_ATTACH_TCX && a->link_fd >= 0) {
		close(a->link_fd);
		a->link_fd = -1;
	} else if (a->mode == FL_ATTACH_CLSACT && a->journal[0]) {
		clsact_remove(a->ifindex, a->dir, a->handle, a->priority, a->qdisc_created);
		unlink(a->journal);
		a->journal[0] = 0;
	}
}

/* Is pid a live faultline process (not a reused pid)? */
static int owner_alive(int pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (kill(pid, 0) && errno == ESRCH)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	return !strncmp(comm, "faultline", 9);
}

int fl_journal_replay(const char *run_dir)
{
	char jdir[PATH_MAX], path[PATH_MAX * 2];
	struct dirent *de;
	int removed = 0;
	DIR *d;

	snprintf(jdir, sizeof(jdir), "%s/journal", run_dir ? run_dir : FL_RUN_DIR_DEFAULT);
	d = opendir(jdir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		int pid, ifindex, dir, qdisc_created;
		unsigned handle, priority;
		FILE *f;

		if (strncmp(de->d_name, "clsact-", 7) || strstr(de->d_name, ".tmp"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", jdir, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%d %d %d %u %u %d", &pid, &ifindex, &dir, &handle, &priority,
			   &qdisc_created) != 6) {
			fclose(f);
			unlink(path); /* torn write before the rename: nothing was created */
			continue;
		}
		fclose(f);
		if (pid == getpid() || owner_alive(pid))
			continue;
		clsact_remove(ifindex, dir, handle, priority, qdisc_created);
		unlink(path);
		removed++;
	}
	closedir(d);
	return removed;
}
