/*
 * faultline/target.h - turn what a user writes about a target into what the
 * engine needs: remote addresses (--cidr, --host) into struct fl_cidr, a
 * cgroup v2 path into its id, and the target into the interfaces to attach
 * to (named ones, or those the kernel routes the target's addresses through).
 *
 * Like the rest of the library: functions return 0 or a negative errno, fill
 * a struct fl_error naming the field and the expected form, and never print.
 */
#ifndef FAULTLINE_TARGET_H
#define FAULTLINE_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "faultline/engine.h"
#include "faultline/error.h"

/* Interfaces one target may act on. */
#define FL_TARGET_DEVS_MAX 32

/*
 * A comma-separated list of remote addresses, IPv4 and IPv6, appended to
 * out[*n] (so that several flags add up; duplicates are kept once).
 *  host_only: bare addresses ("10.0.0.2", "fd00::2") that become /32, /128;
 *             a prefix length is refused.
 *  otherwise: networks "ADDR/LEN" ("10.0.0.0/8", "fd00::/64"); the length is
 *             required and no bit of ADDR below it may be set (the message
 *             names the network that was probably meant).
 * IPv4-mapped IPv6 addresses ("::ffff:10.0.0.1") are refused: the classifier
 * sees those packets as IPv4. At most max entries in all; -EINVAL otherwise.
 */
int fl_parse_cidrs(const char *s, const char *field, int host_only, struct fl_cidr *out,
		   unsigned *n, unsigned max, struct fl_error *err);

/* "10.0.0.0/8", "fd00::2/128" (with_len) or "fd00::2" into buf. */
const char *fl_fmt_cidr(const struct fl_cidr *c, int with_len, char *buf, size_t len);

/*
 * The id of the cgroup v2 at path: the inode number of its directory, which
 * is what bpf_skb_cgroup_id() reports. path is one of
 *  - an absolute path to a directory on a cgroup2 file system;
 *  - the cgroup's path in the hierarchy, as /proc/PID/cgroup writes it
 *    ("/system.slice/x.service"), or relative ("system.slice/x.service"):
 *    read under the cgroup2 mount (fl_cgroup2_mount() in faultline/probe.h,
 *    from /proc/self/mountinfo, as it is not always /sys/fs/cgroup).
 * The first that names a cgroup2 directory wins; its absolute path goes to
 * abs (may be NULL). -EINVAL with err filled (err->field = field) when
 * neither exists, is a directory, or is on a cgroup2 file system.
 */
int fl_cgroup_id(const char *path, const char *field, char *abs, size_t abs_len, uint64_t *id,
		 struct fl_error *err);

/* The cgroup v2 path of process pid in the hierarchy (the "0::/path" line
 * of /proc/PID/cgroup), for fl_cgroup_id(). -EINVAL with err filled when
 * there is no such process or it is in no cgroup v2. */
int fl_pid_cgroup(int pid, const char *field, char *out, size_t len, struct fl_error *err);

/* How fl_target_resolve_devs() found the interfaces. */
enum fl_devs_source {
	FL_DEVS_NAMED = 0, /* --dev */
	FL_DEVS_ROUTES,	   /* the routes to the spec's addresses */
	FL_DEVS_WIDE,	   /* every interface that is up, but loopback */
};

/*
 * The interfaces a rule acts on, deduplicated, into ifindexes[] (room for
 * FL_TARGET_DEVS_MAX), their count into *n_out:
 *  - devs named (n_devs > 0, each a name): those, loopback included;
 *  - else the spec's addresses: the interface the kernel routes each one
 *    through now (RTM_GETROUTE for the address, the network address of a
 *    prefix). An address routed through loopback is refused (name it with a
 *    device to mean it), as is one with no route;
 *  - else (no address, or a /0 prefix) allow_wide: every interface that is
 *    up except loopback; without allow_wide, refused.
 * Every failure is -errno with err filled (field "--dev", "--host" or
 * "--cidr"): nothing was resolved and nothing was touched.
 */
int fl_target_resolve_devs(const struct fl_rule_spec *spec, const char *const *devs, int n_devs,
			   int allow_wide, int *ifindexes, int *n_out, enum fl_devs_source *source,
			   struct fl_error *err);

#endif /* FAULTLINE_TARGET_H */
