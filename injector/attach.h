/*
 * injector/attach.h - putting a classifier program on an interface.
 *
 * tcx first: a bpf_link owned by our file descriptor, gone when we are.
 * clsact only where tcx is missing (or when asked): a netlink filter that
 * outlives us, so it is journaled before it is created (attach.c).
 */
#ifndef FL_INJECTOR_ATTACH_H
#define FL_INJECTOR_ATTACH_H

#include <limits.h>
#include <stdint.h>

#include "faultline/engine.h"

/* libbpf 1.1.2's headers predate tcx (kernel 6.6): the uapi values. */
#define FL_BPF_TCX_INGRESS 46
#define FL_BPF_TCX_EGRESS  47

/* The tc priority faultline's clsact filters use; the handle is the pid. */
#define FL_CLSACT_PRIO 0xF1

struct fl_attachment {
	int ifindex;
	int dir; /* FL_DIR_* */
	enum fl_attach_mode mode;
	int link_fd; /* tcx */
	uint32_t handle;
	uint32_t priority;
	int qdisc_created;
	char journal[PATH_MAX];
};

int fl_attach(const char *run_dir, enum fl_attach_mode mode, int prog_fd, int ifindex, int dir,
	      struct fl_attachment *a);
void fl_detach(struct fl_attachment *a);

#endif
