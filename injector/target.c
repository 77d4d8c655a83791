/*
 * injector/target.c - from what a user writes about a target to what the
 * engine needs.
 *
 * Three translations, each checked the way a user would want to hear about a
 * mistake (the message names the flag, the bad text and the expected form):
 *  - remote addresses, "10.0.0.2", "fd00::/64", into struct fl_cidr;
 *  - a cgroup v2 path into its id (the inode number of the directory, which
 *    is what bpf_skb_cgroup_id() returns). The cgroup2 mount is read from
 *    /proc/self/mountinfo, because it is not always /sys/fs/cgroup (hybrid
 *    hosts mount it at /sys/fs/cgroup/unified);
 *  - the interfaces to attach to. Named ones are taken as they are;
 *    otherwise the kernel is asked, with one RTM_GETROUTE per address, which
 *    interface it sends that address's packets through *now*. Loopback is
 *    never chosen by itself: a user who names a host that routes through lo
 *    most likely made a mistake, and is told how to mean it.
 *
 * Nothing here prints or changes the system.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "faultline/probe.h" /* fl_cgroup2_mount() */
#include "faultline/target.h"

/* The bad text between quotes in a message: printable ASCII, cut at 64. */
static const char *quote(const char *s, size_t n, char *buf, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + 8 >= len || i == 64) {
			snprintf(buf + o, len - o, "...");
			return buf;
		}
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

const char *fl_fmt_cidr(const struct fl_cidr *c, int with_len, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family, c->addr, addr, sizeof(addr)))
		snprintf(addr, sizeof(addr), "?");
	if (with_len)
		snprintf(buf, len, "%s/%u", addr, c->prefixlen);
	else
		snprintf(buf, len, "%s", addr);
	return buf;
}

/* Clear the bits of c->addr below its prefix length; 1 if any was set. */
static int clear_host_bits(struct fl_cidr *c)
{
	unsigned bytes = c->family == AF_INET ? 4 : 16, changed = 0;

	for (unsigned i = 0; i < bytes; i++) {
		unsigned first = i * 8;
		uint8_t mask;

		if (first + 8 <= c->prefixlen)
			continue;
		mask = first >= c->prefixlen ? 0 : (uint8_t)(0xffu << (8 - (c->prefixlen - first)));
		if (c->addr[i] & ~mask)
			changed = 1;
		c->addr[i] &= mask;
	}
	return changed;
}

/* ::ffff:a.b.c.d (IN6_IS_ADDR_V4MAPPED needs an aligned struct in6_addr) */
static int is_v4_mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return !memcmp(a, prefix, sizeof(prefix));
}

static int parse_one_cidr(const char *item, size_t n, const char *field, int host_only,
			  struct fl_cidr *c, struct fl_error *err)
{
	const char *expected = host_only ? "a bare address such as 10.0.0.2 or fd00::2"
					 : "ADDR/LEN such as 10.0.0.0/8 or fd00::/64";
	char text[INET6_ADDRSTRLEN + 8], q[128], net[64];
	char *slash;
	unsigned max, plen = 0;

	quote(item, n, q, sizeof(q));
	if (n >= sizeof(text))
		return fl_error_set(
		    err, field, "\"%s\" is not an IPv4 or IPv6 address (expected %s)", q, expected);
	memcpy(text, item, n);
	text[n] = '\0';
	slash = strchr(text, '/');
	if (host_only && slash)
		return fl_error_set(
		    err, field, "\"%s\" has a prefix length (expected %s; --cidr takes networks)",
		    q, expected);
	if (!host_only && !slash)
		return fl_error_set(
		    err, field,
		    "\"%s\" has no prefix length (expected %s; --host takes a single address)", q,
		    expected);
	if (slash)
		*slash = '\0';

	memset(c, 0, sizeof(*c));
	c->family = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(c->family, text, c->addr) != 1)
		return fl_error_set(
		    err, field, "\"%s\" is not an IPv4 or IPv6 address (expected %s)", q, expected);
	max = c->family == AF_INET ? 32 : 128;
	if (c->family == AF_INET6 && is_v4_mapped(c->addr)) {
		struct fl_cidr v4 = {.family = AF_INET};
		char a[64];

		memcpy(v4.addr, c->addr + 12, 4);
		return fl_error_set(err, field,
				    "\"%s\" is an IPv4-mapped IPv6 address (expected the IPv4 "
				    "address itself, %s: such packets travel as IPv4)",
				    q, fl_fmt_cidr(&v4, 0, a, sizeof(a)));
	}
	if (slash) {
		const char *p = slash + 1;

		if (!*p || strlen(p) > 3)
			goto bad_len;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				goto bad_len;
			plen = plen * 10 + (unsigned)(*p - '0');
		}
		if (plen > max)
			goto bad_len;
	} else {
		plen = max;
	}
	c->prefixlen = (uint8_t)plen;
	if (clear_host_bits(c))
		return fl_error_set(err, field, "\"%s\" has host bits set (did you mean %s?)", q,
				    fl_fmt_cidr(c, 1, net, sizeof(net)));
	return 0;
bad_len:
	return fl_error_set(err, field,
			    "\"%s\" has no valid prefix length (expected %s, with LEN 0-%u for "
			    "IPv%d)",
			    q, expected, max, max == 32 ? 4 : 6);
}

int fl_parse_cidrs(const char *s, const char *field, int host_only, struct fl_cidr *out,
		   unsigned *n, unsigned max, struct fl_error *err)
{
	unsigned count = *n;
	char q[128];
	const char *item, *end;

	if (!s || !*s)
		return fl_error_set(err, field, "\"\" is not an address (expected %s)",
				    host_only ? "a bare address such as 10.0.0.2 or fd00::2"
					      : "ADDR/LEN such as 10.0.0.0/8 or fd00::/64");
	for (item = s;; item = end + 1) {
		struct fl_cidr c;
		unsigned i;
		int r;

		end = strchr(item, ',');
		if (!end)
			end = item + strlen(item);
		if (end == item)
			return fl_error_set(err, field,
					    "\"%s\" has an empty item (expected a comma-separated "
					    "list such as %s)",
					    quote(s, strlen(s), q, sizeof(q)),
					    host_only ? "10.0.0.2,fd00::2"
						      : "10.0.0.0/8,fd00::/64");
		r = parse_one_cidr(item, (size_t)(end - item), field, host_only, &c, err);
		if (r < 0)
			return r;
		for (i = 0; i < count; i++)
			if (!memcmp(&out[i], &c, sizeof(c)))
				break;
		if (i == count) {
			if (count == max)
				return fl_error_set(err, field,
						    "more than %u addresses (expected at most %u "
						    "across every --host and --cidr)",
						    max, max);
			out[count++] = c;
		}
		if (*end == '\0')
			break;
	}
	*n = count;
	return 0;
}

/* Is full a directory on a cgroup2 file system? 0 (and its inode), or
 * -ENOENT, -ENOTDIR (not a directory), -EMEDIUMTYPE (not cgroup2), -errno. */
static int cgroup_dir(const char *full, uint64_t *ino)
{
	struct statfs sfs;
	struct stat st;

	if (stat(full, &st))
		return errno == ENOTDIR ? -ENOENT : -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (statfs(full, &sfs))
		return -errno;
	if ((unsigned long)sfs.f_type != CGROUP2_SUPER_MAGIC)
		return -EMEDIUMTYPE;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

int fl_cgroup_id(const char *path, const char *field, char *abs, size_t abs_len, uint64_t *id,
		 struct fl_error *err)
{
	char mnt[4096], in_fs[4096], in_mnt[8200], q[160], expected[4300];
	const char *full, *rel = path;
	uint64_t ino = 0;
	int have_mnt, r = -ENOENT;

	if (!path || !*path)
		return fl_error_set(err, field,
				    "\"\" is not a cgroup (expected a cgroup v2 directory: an "
				    "absolute path, or one relative to the cgroup v2 mount)");
	quote(path, strlen(path), q, sizeof(q));
	have_mnt = fl_cgroup2_mount(mnt, sizeof(mnt)) == 0;
	if (have_mnt)
		snprintf(expected, sizeof(expected),
			 "expected a cgroup v2 directory such as %s/system.slice, or its path "
			 "under that mount: system.slice or /system.slice",
			 mnt);
	else
		snprintf(expected, sizeof(expected),
			 "expected a cgroup v2 directory; no cgroup v2 file system is mounted "
			 "here");

	/* A path in the file system first, when absolute. */
	if (path[0] == '/') {
		snprintf(in_fs, sizeof(in_fs), "%s", path);
		r = cgroup_dir(in_fs, &ino);
		if (r == 0) {
			full = in_fs;
			goto found;
		}
	} else if (!have_mnt) {
		return fl_error_set(err, field,
				    "\"%s\" is relative to the cgroup v2 mount, but no cgroup v2 "
				    "file system is mounted here (expected an absolute path to a "
				    "cgroup v2 directory)",
				    q);
	}
	/* Then a path in the hierarchy, as /proc/PID/cgroup writes it
	 * ("/system.slice/x.service", "/" for the root) or relative
	 * ("system.slice"). When neither names a cgroup, an absolute path that
	 * exists in the file system keeps its own error. */
	if (have_mnt) {
		int r2;

		while (*rel == '/')
			rel++;
		snprintf(in_mnt, sizeof(in_mnt), "%s%s%s", mnt,
			 *rel && mnt[strlen(mnt) - 1] != '/' ? "/" : "", rel);
		r2 = cgroup_dir(in_mnt, &ino);
		if (r2 == 0) {
			full = in_mnt;
			goto found;
		}
		if (path[0] != '/' || r2 != -ENOENT)
			r = r2;
	}
	switch (r) {
	case -ENOENT:
		return fl_error_set(err, field, "\"%s\" does not exist (%s)", q, expected);
	case -ENOTDIR:
		return fl_error_set(err, field, "\"%s\" is not a directory (%s)", q, expected);
	case -EMEDIUMTYPE:
		return fl_error_set(err, field, "\"%s\" is not on a cgroup v2 file system (%s)", q,
				    expected);
	default:
		fl_error_set(err, field, "cannot read \"%s\": %s", q, strerror(-r));
		return r;
	}
found:
	if (abs && abs_len)
		snprintf(abs, abs_len, "%s", full);
	*id = ino;
	return 0;
}

/* IFF_* flags of ifindex, or -errno. */
static int if_flags(int ifindex, short *flags)
{
	struct ifreq ifr;
	int fd, r = 0;

	memset(&ifr, 0, sizeof(ifr));
	if (!if_indextoname((unsigned)ifindex, ifr.ifr_name))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		r = -errno;
	else
		*flags = ifr.ifr_flags;
	close(fd);
	return r;
}

/* Add ifindex to the set unless it is there; -E2BIG when full. */
static int add_dev(int *ifindexes, int *n, int ifindex)
{
	for (int i = 0; i < *n; i++)
		if (ifindexes[i] == ifindex)
			return 0;
	if (*n == FL_TARGET_DEVS_MAX)
		return -E2BIG;
	ifindexes[(*n)++] = ifindex;
	return 0;
}

static int resolve_named(const char *const *devs, int n_devs, int *ifindexes, int *n_out,
			 struct fl_error *err)
{
	for (int i = 0; i < n_devs; i++) {
		char q[96];
		unsigned idx = 0;

		if (devs[i] && devs[i][0] && strlen(devs[i]) < IF_NAMESIZE)
			idx = if_nametoindex(devs[i]);
		if (!idx) {
			fl_error_set(err, "--dev", "no interface named \"%s\" here",
				     quote(devs[i] ? devs[i] : "", devs[i] ? strlen(devs[i]) : 0, q,
					   sizeof(q)));
			return -ENODEV;
		}
		if (add_dev(ifindexes, n_out, (int)idx)) {
			fl_error_set(err, "--dev", "more than %d interfaces (expected at most %d)",
				     FL_TARGET_DEVS_MAX, FL_TARGET_DEVS_MAX);
			return -E2BIG;
		}
	}
	return 0;
}

/* Every interface that is up, but loopback. */
static int resolve_wide(int *ifindexes, int *n_out, struct fl_error *err)
{
	struct if_nameindex *all = if_nameindex(), *p;
	int r = 0;

	if (!all) {
		r = -errno;
		fl_error_set(err, "--allow-wide", "cannot list the interfaces: %s", strerror(-r));
		return r;
	}
	for (p = all; p->if_index; p++) {
		short flags = 0;

		if (if_flags((int)p->if_index, &flags) || !(flags & IFF_UP) ||
		    (flags & IFF_LOOPBACK))
			continue;
		if (add_dev(ifindexes, n_out, (int)p->if_index)) {
			fl_error_set(err, "--allow-wide",
				     "more than %d interfaces are up (expected at most %d: name "
				     "them with --dev)",
				     FL_TARGET_DEVS_MAX, FL_TARGET_DEVS_MAX);
			r = -E2BIG;
			break;
		}
	}
	if_freenameindex(all);
	if (!r && !*n_out) {
		fl_error_set(err, "--allow-wide", "no interface other than loopback is up here");
		r = -ENODEV;
	}
	return r;
}

struct route_answer {
	int oif;
	int error; /* -errno from the kernel */
	int type;  /* RTN_* */
};

static int on_route(struct nl_msg *msg, void *arg)
{
	struct route_answer *a = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[RTA_MAX + 1];
	struct rtmsg *rtm;

	if (h->nlmsg_type != RTM_NEWROUTE)
		return NL_SKIP;
	rtm = nlmsg_data(h);
	a->type = rtm->rtm_type;
	if (nlmsg_parse(h, sizeof(*rtm), tb, RTA_MAX, NULL) == 0 && tb[RTA_OIF])
		a->oif = (int)nla_get_u32(tb[RTA_OIF]);
	return NL_STOP;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct route_answer *a = arg;

	(void)nla;
	a->error = e->error;
	return NL_STOP;
}

/* The interface the kernel routes c's (network) address through. */
static int route_oif(struct nl_sock *sk, const struct fl_cidr *c, struct route_answer *a)
{
	struct rtmsg rtm = {
	    .rtm_family = c->family,
	    .rtm_dst_len = (unsigned char)(c->family == AF_INET ? 32 : 128),
	};
	struct nl_msg *msg;
	int r;

	memset(a, 0, sizeof(*a));
	msg = nlmsg_alloc_simple(RTM_GETROUTE, 0);
	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    nla_put(msg, RTA_DST, c->family == AF_INET ? 4 : 16, c->addr) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	r = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (r < 0)
		return -EIO;
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_route, a);
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, on_error, a);
	r = nl_recvmsgs_default(sk);
	if (a->error)
		return a->error;
	if (r < 0)
		return -EIO;
	if (!a->oif)
		return -ENETUNREACH;
	return 0;
}

static int resolve_routes(const struct fl_rule_spec *spec, int *ifindexes, int *n_out,
			  struct fl_error *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r = 0;

	if (!sk) {
		fl_error_set(err, "--dev", "cannot ask the kernel for routes: out of memory");
		return -ENOMEM;
	}
	if (nl_connect(sk, NETLINK_ROUTE) < 0) {
		nl_socket_free(sk);
		fl_error_set(err, "--dev",
			     "cannot ask the kernel for routes (netlink unavailable); name the "
			     "interface with --dev IF");
		return -EIO;
	}
	/* one answer per request: the route, or an error */
	nl_socket_disable_auto_ack(sk);
	for (unsigned i = 0; i < spec->n_cidrs; i++) {
		const struct fl_cidr *c = &spec->cidrs[i];
		int host = c->prefixlen == (c->family == AF_INET ? 32 : 128);
		const char *field = host ? "--host" : "--cidr";
		struct route_answer a;
		char text[64], dev[IF_NAMESIZE];
		short flags = 0;

		fl_fmt_cidr(c, !host, text, sizeof(text));
		r = route_oif(sk, c, &a);
		if (r) {
			fl_error_set(err, field,
				     "%s has no route here (%s); name the interface with "
				     "--dev IF",
				     text, strerror(-r));
			break;
		}
		r = if_flags(a.oif, &flags);
		if (r) {
			fl_error_set(err, field,
				     "%s routes through interface %d, which is gone (%s); name "
				     "the interface with --dev IF",
				     text, a.oif, strerror(-r));
			break;
		}
		if ((flags & IFF_LOOPBACK) || a.type == RTN_LOCAL) {
			if (!if_indextoname((unsigned)a.oif, dev))
				snprintf(dev, sizeof(dev), "lo");
			fl_error_set(err, field,
				     "%s routes through %s; name it with --dev %s to target "
				     "loopback",
				     text, dev, dev);
			r = -EINVAL;
			break;
		}
		r = add_dev(ifindexes, n_out, a.oif);
		if (r) {
			fl_error_set(err, field,
				     "the addresses route through more than %d "
				     "interfaces (expected at most %d)",
				     FL_TARGET_DEVS_MAX, FL_TARGET_DEVS_MAX);
			break;
		}
	}
	nl_socket_free(sk);
	return r;
}

int fl_target_resolve_devs(const struct fl_rule_spec *spec, const char *const *devs, int n_devs,
			   int allow_wide, int *ifindexes, int *n_out, enum fl_devs_source *source,
			   struct fl_error *err)
{
	const struct fl_cidr *everything = NULL;
	enum fl_devs_source src;
	int r;

	*n_out = 0;
	for (unsigned i = 0; i < spec->n_cidrs; i++)
		if (spec->cidrs[i].prefixlen == 0)
			everything = &spec->cidrs[i];

	if (n_devs > 0) {
		src = FL_DEVS_NAMED;
		r = resolve_named(devs, n_devs, ifindexes, n_out, err);
	} else if (spec->n_cidrs && !everything) {
		src = FL_DEVS_ROUTES;
		r = resolve_routes(spec, ifindexes, n_out, err);
	} else if (allow_wide) {
		src = FL_DEVS_WIDE;
		r = resolve_wide(ifindexes, n_out, err);
	} else if (everything) {
		char text[64];

		return fl_error_set(err, "--cidr",
				    "%s covers every address, so no route says which interface "
				    "to use (expected --dev IF, or --allow-wide for every "
				    "interface that is up)",
				    fl_fmt_cidr(everything, 1, text, sizeof(text)));
	} else {
		return fl_error_set(err, "",
				    "--dev is required when no --host or --cidr says where the "
				    "traffic goes (e.g. --dev eth0), or --allow-wide for every "
				    "interface that is up");
	}
	if (r) {
		*n_out = 0;
		return r;
	}
	if (source)
		*source = src;
	return 0;
}

/* The cgroup v2 path of a process: the "0::/path" line of /proc/PID/cgroup. */
int fl_pid_cgroup(int pid, const char *field, char *out, size_t len, struct fl_error *err)
{
	char file[64], line[4096];
	FILE *f;
	int found = 0;

	snprintf(file, sizeof(file), "/proc/%d/cgroup", pid);
	f = fopen(file, "re");
	if (!f)
		return fl_error_set(err, field, "no process %d here (expected a running process)",
				    pid);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, len, "%s", line + 3);
			found = 1;
			break;
		}
	}
	fclose(f);
	if (!found)
		return fl_error_set(
		    err, field,
		    "process %d is in no cgroup v2 (expected a host with the unified "
		    "cgroup hierarchy)",
		    pid);
	return 0;
}
