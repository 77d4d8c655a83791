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
 *
 * An entry names a filter to remove, so the journal directory must be one
 * only its user can write: it is opened without following a symbolic link
 * and refused (and not replayed) unless it is a directory owned by the
 * effective user, writable by no group or other; entries are created with
 * O_EXCL|O_NOFOLLOW and read with O_NOFOLLOW.
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

static __thread char journal_why[256];

const char *fl_attach_journal_refusal(void)
{
	return journal_why[0] ? journal_why : NULL;
}

/* The journal directory JDIR, opened: a real directory (not a link to one)
 * of this user's, writable by it alone; else -ELOOP or -EPERM, said in
 * journal_why. */
static int journal_dir_open(const char *jdir)
{
	struct stat st;
	int fd, r;

	journal_why[0] = 0;
	fd = open(jdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP || r == -ENOTDIR)
			snprintf(journal_why, sizeof(journal_why),
				 "the clsact journal %s is a symbolic link or not a directory: "
				 "refused (it names filters to remove)",
				 jdir);
		return r == -ENOTDIR ? -ELOOP : r;
	}
	if (fstat(fd, &st)) {
		r = -errno;
		close(fd);
		return r;
	}
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(journal_why, sizeof(journal_why),
			 "the clsact journal %s is owned by uid %u with mode %04o: refused, "
			 "it must be uid %u's and writable by it alone",
			 jdir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
			 (unsigned)geteuid());
		close(fd);
		return -EPERM;
	}
	return fd;
}

static int journal_write(const struct fl_attachment *a)
{
	char tmp[PATH_MAX + 8];
	FILE *f;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", a->journal);
	/* a stale or planted .tmp goes; O_EXCL never opens what is there */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		int r = -errno;

		close(fd);
		unlink(tmp);
		return r;
	}
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
	r = journal_dir_open(jdir);
	if (r < 0)
		return r;
	close(r);
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
	journal_why[0] = 0;
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
	char jdir[PATH_MAX];
	struct dirent *de;
	int removed = 0, dfd;
	DIR *d;

	snprintf(jdir, sizeof(jdir), "%s/journal", run_dir ? run_dir : FL_RUN_DIR_DEFAULT);
	dfd = journal_dir_open(jdir);
	if (dfd < 0)
		return dfd == -ENOENT ? 0 : dfd;
	d = fdopendir(dfd);
	if (!d) {
		int r = -errno;

		close(dfd);
		return r;
	}
	while ((de = readdir(d))) {
		int pid, ifindex, dir, qdisc_created, fd;
		unsigned handle, priority;
		FILE *f;

		if (strncmp(de->d_name, "clsact-", 7) || strstr(de->d_name, ".tmp"))
			continue;
		fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ELOOP)
				unlinkat(dfd, de->d_name, 0); /* a link is no entry of ours */
			continue;
		}
		f = fdopen(fd, "r");
		if (!f) {
			close(fd);
			continue;
		}
		if (fscanf(f, "%d %d %d %u %u %d", &pid, &ifindex, &dir, &handle, &priority,
			   &qdisc_created) != 6) {
			fclose(f);
			/* torn write before the rename: nothing was created */
			unlinkat(dfd, de->d_name, 0);
			continue;
		}
		fclose(f);
		if (pid == getpid() || owner_alive(pid))
			continue;
		clsact_remove(ifindex, dir, handle, priority, qdisc_created);
		unlinkat(dfd, de->d_name, 0);
		removed++;
	}
	closedir(d);
	return removed;
}
