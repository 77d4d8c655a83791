/*
 * tests/bpf/test_refuse.c - the refuse fault (injector/refuse.c,
 * bpf/sockaddr.bpf.c) on real connect() calls.
 *
 * The programs are attached to a temporary cgroup v2 directory made under
 * the cgroup2 mount. Each connect() runs in a forked child that first moves
 * itself into that cgroup, and reports its errno (and how long the call
 * took) through a pipe; the test process stays outside, unaffected. The
 * peers are listeners of the test's own on ephemeral ports of 127.0.0.1
 * and ::1 (dual-stack TCP sockets, and a UDP socket for UDP connect()).
 * Needs root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "faultline/probe.h"
#include "faultline/refuse.h"

#define MS_NS  1000000ull
#define SEC_NS 1000000000ull
#define LEASE  (60 * SEC_NS)

static char CG[PATH_MAX]; /* the temporary cgroup */
static int CGFD = -1;
static struct fl_refuse *R; /* opened and attached to CG by setup() */
static pid_t KEEP = -1;	    /* a child that teardown() must kill (kill -9 test) */
static int TCP1 = -1, TCP2 = -1, UDP1 = -1;
static uint16_t P; /* TCP1's port: the targeted one */
static uint16_t Q; /* TCP2's port: another one */
static uint16_t U; /* UDP1's port: targeted too */

static uint16_t bound_port(int fd)
{
	struct sockaddr_in6 a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return 0;
	return ntohs(a.sin6_port);
}

/* A dual-stack socket on [::] (so both 127.0.0.1 and ::1 reach it). */
static int listener(int type, uint16_t *port)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
	int fd = socket(AF_INET6, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), off = 0;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 1024) < 0)) {
		close(fd);
		return -1;
	}
	*port = bound_port(fd);
	return fd;
}

/* Accept and close what the children's connections left queued. */
static void drain(int fd)
{
	int c;

	while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(c);
}

static int group_setup(void **state)
{
	char mnt[PATH_MAX];

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test_refuse needs root\n");
		return -1;
	}
	if (fl_cgroup2_mount(mnt, sizeof(mnt)))
		return -1;
	if (snprintf(CG, sizeof(CG), "%.*s/fl-test-refuse-%d", PATH_MAX - 64, mnt, (int)getpid()) >=
	    (int)sizeof(CG))
		return -1;
	if (mkdir(CG, 0755) < 0 && errno != EEXIST)
		return -1;
	CGFD = open(CG, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	TCP1 = listener(SOCK_STREAM, &P);
	TCP2 = listener(SOCK_STREAM, &Q);
	UDP1 = listener(SOCK_DGRAM, &U);
	if (CGFD < 0 || TCP1 < 0 || TCP2 < 0 || UDP1 < 0 || !P || !Q || !U)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (TCP1 >= 0)
		close(TCP1);
	if (TCP2 >= 0)
		close(TCP2);
	if (UDP1 >= 0)
		close(UDP1);
	if (CGFD >= 0)
		close(CGFD);
	/* every child was reaped; a reaped task may leave the cgroup a moment
	 * later, so try a few times */
	for (int i = 0; i < 100 && CG[0] && rmdir(CG) < 0 && errno == EBUSY; i++)
		usleep(10000);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (fl_refuse__open(&R))
		return -1;
	if (fl_refuse__attach(R, CG)) {
		fl_refuse__close(R);
		R = NULL;
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (KEEP > 0) {
		kill(KEEP, SIGKILL);
		waitpid(KEEP, NULL, 0);
		KEEP = -1;
	}
	fl_refuse__close(R);
	R = NULL;
	drain(TCP1);
	drain(TCP2);
	return 0;
}

/* One connect(): family and type of the socket, the peer. */
struct op {
	int family;
	int type;
	const char *addr;
	uint16_t port;
};

struct res {
	int err; /* 0: connected; else errno */
	int pad;
	uint64_t ns; /* time connect() took */
};

static uint64_t now_ns(void)
{
	return fl_now_ns();
}

static int one_connect(const struct op *op, uint64_t *ns)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	uint64_t t0;
	int fd, r, off = 0;

	fd = socket(op->family, op->type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (op->family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		/* dual-stack: ::ffff:a.b.c.d goes through the connect6 hook */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(op->port);
		inet_pton(AF_INET6, op->addr, &a->sin6_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(op->port);
		inet_pton(AF_INET, op->addr, &a->sin_addr);
		len = sizeof(*a);
	}
	t0 = now_ns();
	r = connect(fd, (struct sockaddr *)&ss, len) < 0 ? errno : 0;
	*ns = now_ns() - t0;
	close(fd);
	return r;
}

/* Join CG (the child's own pid: "0"). */
static int join_cgroup(void)
{
	char path[PATH_MAX + 32];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", CG);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, "0", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

/* Run ops in a child inside CG; res[i] gets each result. */
static void run_in_cgroup(const struct op *ops, int n, struct res *res)
{
	size_t want = (size_t)n * sizeof(*res), got = 0;
	int p[2], status;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct res *out = calloc((size_t)n, sizeof(*out));
		size_t o = 0;

		close(p[0]);
		if (!out || join_cgroup() < 0)
			_exit(2);
		for (int i = 0; i < n; i++)
			out[i].err = one_connect(&ops[i], &out[i].ns);
		while (o < want) {
			ssize_t w = write(p[1], (char *)out + o, want - o);

			if (w <= 0)
				_exit(3);
			o += (size_t)w;
		}
		_exit(0);
	}
	close(p[1]);
	while (got < want) {
		ssize_t k = read(p[0], (char *)res + got, want - got);

		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(got, want);
}

/* One connect() from inside the cgroup: 0 or its errno. */
static int conn(int family, int type, const char *addr, uint16_t port)
{
	struct op op = {family, type, addr, port};
	struct res res;

	run_in_cgroup(&op, 1, &res);
	return res.err;
}

#define TCP4(port) conn(AF_INET, SOCK_STREAM, "127.0.0.1", port)
#define TCP6(port) conn(AF_INET6, SOCK_STREAM, "::1", port)
#define UDP4(port) conn(AF_INET, SOCK_DGRAM, "127.0.0.1", port)
#define UDP6(port) conn(AF_INET6, SOCK_DGRAM, "::1", port)

/* Refuse connect() to P and U with err, every call, for a minute. */
static struct fl_rule_spec target(int err)
{
	struct fl_rule_spec s;

	memset(&s, 0, sizeof(s));
	s.protocol = FL_PROTOCOL_ANY;
	s.refuse.err = err;
	s.ports.n = 2;
	s.ports.r[0].lo = s.ports.r[0].hi = P;
	s.ports.r[1].lo = s.ports.r[1].hi = U;
	return s;
}

static void set(const struct fl_rule_spec *s)
{
	assert_int_equal(fl_refuse__set_rule(R, s, now_ns(), LEASE), 0);
}

static struct fl_cidr cidr(const char *addr, int prefixlen)
{
	struct fl_cidr c = {.prefixlen = (uint8_t)prefixlen};

	c.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(c.family, addr, c.addr), 1);
	return c;
}

static struct fl_counters counters(void)
{
	struct fl_counters c;

	assert_int_equal(fl_refuse__counters(R, &c), 0);
	return c;
}

/* Programs attached to CG for connect() over IPv4 (or IPv6). */
static unsigned attached(int family6)
{
	__u32 cnt = 0, flags = 0;

	assert_int_equal(
	    bpf_prog_query(CGFD, family6 ? BPF_CGROUP_INET6_CONNECT : BPF_CGROUP_INET4_CONNECT, 0,
			   &flags, NULL, &cnt),
	    0);
	return cnt;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {.tv_sec = (time_t)(t / SEC_NS), .tv_nsec = (long)(t % SEC_NS)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void tcp4_refused_at_once_with_econnrefused(void **state)
{
	struct fl_rule_spec s = target(ECONNREFUSED);
	struct op op = {AF_INET, SOCK_STREAM, "127.0.0.1", P};
	struct res res;
	struct fl_counters c;

	(void)state;
	set(&s);
	run_in_cgroup(&op, 1, &res);
	assert_int_equal(res.err, ECONNREFUSED);
	assert_true(res.ns < 100 * MS_NS);
	c = counters();
	assert_int_equal(c.matched, 1);
	assert_int_equal(c.refused, 1);
	assert_int_equal(c.expired, 0);
}

static void each_errno_is_returned_exactly(void **state)
{
	static const int errs[] = {ECONNREFUSED, ETIMEDOUT, ENETUNREACH, EHOSTUNREACH, EACCES};

	(void)state;
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		struct fl_rule_spec s = target(errs[i]);

		set(&s);
		assert_int_equal(TCP4(P), errs[i]);
	}
}

static void tcp6_and_udp_are_refused(void **state)
{
	struct fl_rule_spec s = target(EHOSTUNREACH);

	(void)state;
	set(&s);
	assert_int_equal(TCP6(P), EHOSTUNREACH);
	assert_int_equal(UDP4(U), EHOSTUNREACH);
	assert_int_equal(UDP6(U), EHOSTUNREACH);
	assert_int_equal(counters().refused, 3);
}

static void other_port_connects(void **state)
{
	struct fl_rule_spec s = target(ECONNREFUSED);

	(void)state;
	set(&s);
	assert_int_equal(TCP4(Q), 0);
	assert_int_equal(TCP6(Q), 0);
	assert_int_equal(counters().matched, 0);
}

static void process_outside_the_cgroup_connects(void **state)
{
	struct fl_rule_spec s = target(ECONNREFUSED);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	int fd;

	(void)state;
	set(&s);
	a.sin_port = htons(P);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	assert_int_equal(TCP4(P), ECONNREFUSED); /* while inside it is refused */
}

static void protocol_udp_leaves_tcp_alone(void **state)
{
	struct fl_rule_spec s = target(ENETUNREACH);

	(void)state;
	s.protocol = FL_PROTO_UDP;
	set(&s);
	assert_int_equal(TCP4(P), 0);
	assert_int_equal(UDP4(U), ENETUNREACH);
	s.protocol = FL_PROTO_TCP;
	set(&s);
	assert_int_equal(TCP4(P), ENETUNREACH);
	assert_int_equal(UDP4(U), 0);
}

static void remote_ports_and_ports_must_both_hold(void **state)
{
	struct fl_rule_spec s = target(EACCES);

	(void)state;
	s.ports.n = 0;
	s.remote_ports.n = 1;
	s.remote_ports.r[0].lo = s.remote_ports.r[0].hi = P;
	set(&s);
	assert_int_equal(TCP4(P), EACCES);
	assert_int_equal(TCP4(Q), 0);
	/* ports {P, Q} and remote ports {Q}: only Q */
	s.ports.n = 2;
	s.ports.r[0].lo = s.ports.r[0].hi = P;
	s.ports.r[1].lo = s.ports.r[1].hi = Q;
	s.remote_ports.r[0].lo = s.remote_ports.r[0].hi = Q;
	set(&s);
	assert_int_equal(TCP4(P), 0);
	assert_int_equal(TCP4(Q), EACCES);
}

static void cidr_matches_the_remote_prefix(void **state)
{
	struct fl_rule_spec s = target(ETIMEDOUT);

	(void)state;
	s.n_cidrs = 1;
	s.cidrs[0] = cidr("10.0.0.0", 8);
	set(&s);
	assert_int_equal(TCP4(P), 0);
	assert_int_equal(TCP6(P), 0); /* an IPv4 prefix only: ::1 is not in it */
	s.cidrs[0] = cidr("127.0.0.0", 8);
	set(&s);
	assert_int_equal(TCP4(P), ETIMEDOUT);
	assert_int_equal(TCP6(P), 0);
	s.cidrs[0] = cidr("::1", 128);
	set(&s);
	assert_int_equal(TCP4(P), 0);
	assert_int_equal(TCP6(P), ETIMEDOUT);
	s.cidrs[0] = cidr("fd00::", 8);
	set(&s);
	assert_int_equal(TCP6(P), 0);
}

static void ipv4_mapped_address_matches_an_ipv4_prefix(void **state)
{
	struct fl_rule_spec s = target(ECONNREFUSED);

	(void)state;
	s.n_cidrs = 1;
	s.cidrs[0] = cidr("127.0.0.0", 8);
	set(&s);
	assert_int_equal(conn(AF_INET6, SOCK_STREAM, "::ffff:127.0.0.1", P), ECONNREFUSED);
	assert_int_equal(conn(AF_INET6, SOCK_DGRAM, "::ffff:127.0.0.1", U), ECONNREFUSED);
	s.cidrs[0] = cidr("10.0.0.0", 8);
	set(&s);
	assert_int_equal(conn(AF_INET6, SOCK_STREAM, "::ffff:127.0.0.1", P), 0);
}

static void half_the_calls_with_ppb_50(void **state)
{
	enum { N = 400 };
	struct fl_rule_spec s = target(EACCES);
	static struct op ops[N];
	static struct res res[N];
	unsigned refused = 0;
	struct fl_counters c;
	double mean = N * 0.5, sigma = sqrt(N * 0.25);

	(void)state;
	s.refuse.ppb = FL_PPB_100 / 2;
	set(&s);
	for (int i = 0; i < N; i++)
		ops[i] = (struct op){AF_INET, SOCK_STREAM, "127.0.0.1", P};
	run_in_cgroup(ops, N, res);
	for (int i = 0; i < N; i++) {
		assert_true(res[i].err == 0 || res[i].err == EACCES);
		refused += res[i].err == EACCES;
	}
	c = counters();
	assert_int_equal(c.matched, N);
	assert_int_equal(c.refused, refused);
	assert_true(fabs(refused - mean) <= 5 * sigma);
}

static void management_port_is_spared_unless_allowed(void **state)
{
	struct fl_rule_spec s = target(EACCES);
	struct fl_counters c;
	int e;

	(void)state;
	s.ports.n = 0; /* every port, 22 included */
	set(&s);
	/* the kernel's answer (refused, or connected if sshd runs), not ours */
	e = TCP4(22);
	assert_true(e == ECONNREFUSED || e == 0);
	c = counters();
	assert_int_equal(c.matched, 0);
	assert_int_equal(c.refused, 0);
	assert_int_equal(TCP4(P), EACCES); /* the rule is live */
	s.allow_management = 1;
	set(&s);
	assert_int_equal(TCP4(22), EACCES);
	assert_int_equal(counters().refused, 1);
}

static void rule_stops_at_its_end(void **state)
{
	struct fl_rule_spec s = target(ECONNREFUSED);
	uint64_t now = now_ns();
	struct fl_counters c;

	(void)state;
	s.end_ns = now + 200 * MS_NS;
	assert_int_equal(fl_refuse__set_rule(R, &s, now, LEASE), 0);
	assert_int_equal(TCP4(P), ECONNREFUSED);
	sleep_until(s.end_ns + 20 * MS_NS);
	assert_int_equal(TCP4(P), 0);
	c = counters();
	assert_int_equal(c.refused, 1);
	assert_int_equal(c.expired, 1);
	/* the end is not a lapse */
	assert_int_equal(fl_refuse__renew(R, now_ns(), LEASE), 0);
	assert_int_equal(TCP4(P), 0);
}

static void lapsed_lease_stops_and_renew_says_etime(void **state)
{
	struct fl_rule_spec s = target(ECONNREFUSED);
	uint64_t now = now_ns();

	(void)state;
	assert_int_equal(fl_refuse__set_rule(R, &s, now, 150 * MS_NS), 0);
	assert_int_equal(fl_refuse__renew(R, now + 100 * MS_NS, 150 * MS_NS), 0);
	sleep_until(now + 150 * MS_NS); /* the first lease, renewed: still live */
	assert_int_equal(TCP4(P), ECONNREFUSED);
	sleep_until(now + 270 * MS_NS);
	assert_int_equal(TCP4(P), 0);
	assert_int_equal(fl_refuse__renew(R, now_ns(), 150 * MS_NS), -ETIME);
	assert_int_equal(TCP4(P), 0);
}

static void clear_rule_lets_everything_pass(void **state)
{
	struct fl_rule_spec s = target(ECONNREFUSED);

	(void)state;
	set(&s);
	assert_int_equal(TCP4(P), ECONNREFUSED);
	fl_refuse__clear_rule(R);
	assert_int_equal(TCP4(P), 0);
	assert_int_equal(UDP6(U), 0);
	assert_int_equal(counters().matched, 1); /* an inert rule counts nothing */
	assert_int_equal(fl_refuse__renew(R, now_ns(), LEASE), 0);
	assert_int_equal(TCP4(P), 0);
	/* the programs stay attached */
	assert_int_equal(attached(0), 1);
	assert_int_equal(attached(1), 1);
}

static void bad_specs_are_einval(void **state)
{
	struct fl_rule_spec s;
	struct fl_refuse *other;

	(void)state;
	s = target(0);
	assert_int_equal(fl_refuse__set_rule(R, &s, now_ns(), LEASE), -EINVAL);
	s = target(4096);
	assert_int_equal(fl_refuse__set_rule(R, &s, now_ns(), LEASE), -EINVAL);
	s = target(ECONNREFUSED);
	s.local_ports.n = 1;
	s.local_ports.r[0].lo = s.local_ports.r[0].hi = 80;
	assert_int_equal(fl_refuse__set_rule(R, &s, now_ns(), LEASE), -EINVAL);
	s = target(ECONNREFUSED);
	s.protocol = FL_PROTO_ICMP;
	assert_int_equal(fl_refuse__set_rule(R, &s, now_ns(), LEASE), -EINVAL);
	s = target(ECONNREFUSED);
	s.n_cidrs = 1;
	s.cidrs[0] = cidr("10.0.0.0", 8);
	s.cidrs[0].prefixlen = 33;
	assert_int_equal(fl_refuse__set_rule(R, &s, now_ns(), LEASE), -EINVAL);
	/* once only */
	assert_int_equal(fl_refuse__attach(R, CG), -EBUSY);
	/* a missing directory, nothing left attached */
	assert_int_equal(fl_refuse__open(&other), 0);
	assert_int_equal(fl_refuse__attach(other, "/nonexistent/cgroup"), -ENOENT);
	fl_refuse__close(other);
	assert_int_equal(attached(0), 1);
}

static void close_detaches_both_programs(void **state)
{
	(void)state;
	assert_int_equal(attached(0), 1);
	assert_int_equal(attached(1), 1);
	fl_refuse__close(R);
	R = NULL;
	assert_int_equal(attached(0), 0);
	assert_int_equal(attached(1), 0);
	assert_int_equal(TCP4(P), 0);
}

static void kill_9_leaves_nothing_attached(void **state)
{
	int p[2], status;
	uint64_t t0, waited;
	char c = 0;

	(void)state;
	fl_refuse__close(R); /* only the child's programs this time */
	R = NULL;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	KEEP = fork();
	assert_true(KEEP >= 0);
	if (KEEP == 0) {
		struct fl_rule_spec s = target(ECONNREFUSED);
		struct fl_refuse *mine;

		close(p[0]);
		if (fl_refuse__open(&mine) || fl_refuse__attach(mine, CG) ||
		    fl_refuse__set_rule(mine, &s, now_ns(), LEASE))
			_exit(2);
		if (write(p[1], "r", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(c, 'r');
	assert_int_equal(attached(0), 1);
	assert_int_equal(attached(1), 1);
	assert_int_equal(TCP4(P), ECONNREFUSED);

	assert_int_equal(kill(KEEP, SIGKILL), 0);
	t0 = now_ns();
	assert_int_equal(waitpid(KEEP, &status, 0), KEEP);
	KEEP = -1;
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	while ((attached(0) || attached(1)) && now_ns() - t0 < 100 * MS_NS)
		usleep(1000);
	waited = now_ns() - t0;
	assert_int_equal(attached(0), 0);
	assert_int_equal(attached(1), 0);
	assert_true(waited < 100 * MS_NS);
	assert_int_equal(TCP4(P), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(tcp4_refused_at_once_with_econnrefused),
	    T(each_errno_is_returned_exactly),
	    T(tcp6_and_udp_are_refused),
	    T(other_port_connects),
	    T(process_outside_the_cgroup_connects),
	    T(protocol_udp_leaves_tcp_alone),
	    T(remote_ports_and_ports_must_both_hold),
	    T(cidr_matches_the_remote_prefix),
	    T(ipv4_mapped_address_matches_an_ipv4_prefix),
	    T(half_the_calls_with_ppb_50),
	    T(management_port_is_spared_unless_allowed),
	    T(rule_stops_at_its_end),
	    T(lapsed_lease_stops_and_renew_says_etime),
	    T(clear_rule_lets_everything_pass),
	    T(bad_specs_are_einval),
	    T(close_detaches_both_programs),
	    T(kill_9_leaves_nothing_attached),
	};

	return cmocka_run_group_tests_name("refuse", tests, group_setup, group_teardown);
}
