/*
 * tests/tools/fl-traffic.c - bounded UDP traffic for tests and the demo.
 *
 *   fl-traffic recv --port P[,P..] [--idle MS] [--max-time S] [--ready FILE]
 *       Count UDP packets per port until nothing arrived for --idle ms
 *       (default 500, counted from the first packet; before it, --max-time
 *       bounds the wait, default 30 s). Prints one JSON object:
 *       {"7777":{"received":N,"dup":D,"max_gap_ns":G,"gap_end_ns":T}, ...}
 *       max_gap_ns is the largest jump in send time between two packets in
 *       sequence order with packets missing between them, gap_end_ns the send
 *       time (CLOCK_MONOTONIC) of the first packet after it; first_seq and
 *       first_sent_ns describe the first packet received; lost and
 *       loss_runs count the packets missing between received ones and the
 *       runs they form (mean burst length = lost / loss_runs); corrupt counts
 *       packets whose payload pattern is wrong. lat_n, lat_p50_ns,
 *       lat_p99_ns, lat_p999_ns, lat_max_ns (and lat_min_ns) describe the
 *       one-way latency of each packet: CLOCK_MONOTONIC at its reception minus
 *       its send time (one clock for every namespace of the host).
 *       With --by-source, "sources"
 *       maps each sender port to its packet count (one flow per port).
 *   fl-traffic send --to ADDR --port P[,P..] --count N [--rate PPS] [--size B]
 *                   [--flows F]
 *       Send N packets to each port (from each of F sockets, i.e. F flows,
 *       default 1), interleaved, paced at PPS packets per second in total
 *       (default 20000, at most 1000000). Each payload holds a sequence
 *       number, the CLOCK_MONOTONIC send time, then a pattern derived from
 *       the sequence number. Prints {"sent":N,"seconds":S}.
 *   fl-traffic kill PID      print CLOCK_MONOTONIC ns, then SIGKILL PID
 *   fl-traffic now           print CLOCK_MONOTONIC ns
 *
 * Every loop is bounded in count and time (the project's network rule).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS   128
#define MAX_FLOWS   1024
#define MAX_SOURCES 4096

/* Payload bytes after the header: derived from both header fields, so that
 * a flipped bit anywhere in the payload is detected. */
static uint8_t pattern(uint64_t seq, uint64_t sent_ns, size_t i)
{
	uint64_t h = seq * 0x9e3779b97f4a7c15ull ^ sent_ns;

	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	h ^= h >> 31;
	return (uint8_t)((h >> ((i % 8) * 8)) + i * 13);
}

struct payload {
	uint64_t seq;
	uint64_t sent_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int parse_ports(const char *s, int *ports)
{
	char *copy = strdup(s), *save = NULL, *tok;
	int n = 0;

	for (tok = strtok_r(copy, ",", &save); tok && n < MAX_PORTS;
	     tok = strtok_r(NULL, ",", &save)) {
		int p = atoi(tok);

		if (p <= 0 || p > 65535) {
			fprintf(stderr, "fl-traffic: bad port %s\n", tok);
			exit(2);
		}
		ports[n++] = p;
	}
	free(copy);
	return n;
}

static void die(const char *what)
{
	fprintf(stderr, "fl-traffic: %s: %s\n", what, strerror(errno));
	exit(1);
}

struct port_stat {
	uint64_t received, dup, last_seq, last_sent, max_gap, gap_end, first_seq, first_sent;
	uint64_t lost, loss_runs, corrupt;
	uint64_t *lat; /* one-way latency of each packet, ns */
	uint64_t *seq; /* its sequence number */
	size_t n_lat, cap_lat;
	uint64_t ooo; /* arrived after a later-sent packet (reordered) */
	int seen;
	int n_src;
	struct {
		uint16_t port;
		uint64_t n;
	} src[MAX_SOURCES];
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Mean, standard deviation and lag-1 autocorrelation of the latencies, in
 * the order the packets were sent (jitter reorders arrivals). */
static void lat_moments(struct port_stat *s)
{
	size_t m = s->n_lat;
	uint64_t lo = UINT64_MAX, hi = 0;
	double *x, mean = 0, var = 0, cov = 0;
	size_t k = 0;

	for (size_t j = 0; j < m; j++) {
		lo = s->seq[j] < lo ? s->seq[j] : lo;
		hi = s->seq[j] > hi ? s->seq[j] : hi;
	}
	if (hi - lo > 100000000ull)
		return;
	x = calloc(hi - lo + 1, sizeof(*x));
	if (!x)
		die("calloc");
	for (size_t j = 0; j < hi - lo + 1; j++)
		x[j] = -1;
	for (size_t j = 0; j < m; j++)
		x[s->seq[j] - lo] = (double)s->lat[j];
	for (size_t j = 0; j < hi - lo + 1; j++)
		if (x[j] >= 0) {
			mean += x[j];
			k++;
		}
	mean /= (double)k;
	for (size_t j = 0; j < hi - lo + 1; j++)
		if (x[j] >= 0)
			var += (x[j] - mean) * (x[j] - mean);
	for (size_t j = 0; j + 1 < hi - lo + 1; j++)
		if (x[j] >= 0 && x[j + 1] >= 0)
			cov += (x[j] - mean) * (x[j + 1] - mean);
	printf(",\"lat_mean_ns\":%.0f,\"lat_std_ns\":%.0f,\"lat_ac1\":%.4f", mean,
	       sqrt(var / (double)k), var > 0 ? cov / var : 0.0);
	free(x);
}

static int cmd_recv(int argc, char **argv)
{
	static const struct option o[] = {{"port", 1, 0, 'p'},	    {"idle", 1, 0, 'i'},
					  {"max-time", 1, 0, 'm'},  {"ready", 1, 0, 'r'},
					  {"by-source", 0, 0, 's'}, {0}};
	int ports[MAX_PORTS], n = 0, c, idle_ms = 500, max_s = 30, by_source = 0;
	const char *ready = NULL;
	struct pollfd pfd[MAX_PORTS];
	static struct port_stat st[MAX_PORTS];
	uint64_t start, last_rx = 0;

	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		if (c == 'p')
			n = parse_ports(optarg, ports);
		else if (c == 'i')
			idle_ms = atoi(optarg);
		else if (c == 'm')
			max_s = atoi(optarg);
		else if (c == 'r')
			ready = optarg;
		else if (c == 's')
			by_source = 1;
		else
			return 2;
	}
	if (!n || idle_ms <= 0 || max_s <= 0 || max_s > 600) {
		fprintf(stderr, "fl-traffic recv: need --port, --idle > 0, --max-time 1..600\n");
		return 2;
	}
	memset(st, 0, sizeof(st));
	for (int i = 0; i < n; i++) {
		struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(ports[i])};
		int buf = 16 << 20, off = 0;
		int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);

		if (fd < 0)
			die("socket");
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			die("bind");
		pfd[i].fd = fd;
		pfd[i].events = POLLIN;
	}
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
	}
	start = now_ns();
	for (;;) {
		uint64_t t = now_ns();
		int r;

		if (last_rx && t - last_rx > (uint64_t)idle_ms * 1000000ull)
			break;
		if (!last_rx && t - start > (uint64_t)max_s * 1000000000ull)
			break;
		if (last_rx && t - start > 600ull * 1000000000ull)
			break;
		r = poll(pfd, n, 50);
		if (r < 0 && errno != EINTR)
			die("poll");
		for (int i = 0; r > 0 && i < n; i++) {
			struct sockaddr_in6 from;
			socklen_t flen = sizeof(from);
			uint8_t buf[2048];
			struct payload p;
			ssize_t len;

			if (!(pfd[i].revents & POLLIN))
				continue;
			while ((len = recvfrom(pfd[i].fd, buf, sizeof(buf), 0,
					       (struct sockaddr *)&from, &flen)) > 0) {
				struct port_stat *s = &st[i];

				last_rx = now_ns();
				s->received++;
				flen = sizeof(from);
				if (by_source) {
					uint16_t sp = ntohs(from.sin6_port);
					int k;

					for (k = 0; k < s->n_src && s->src[k].port != sp; k++)
						;
					if (k == s->n_src && k < MAX_SOURCES) {
						s->src[k].port = sp;
						s->src[k].n = 0;
						s->n_src++;
					}
					if (k < MAX_SOURCES)
						s->src[k].n++;
				}
				if ((size_t)len < sizeof(p))
					continue;
				memcpy(&p, buf, sizeof(p));
				if (s->n_lat == s->cap_lat) {
					size_t cap = s->cap_lat ? s->cap_lat * 2 : 4096;
					uint64_t *l = realloc(s->lat, cap * sizeof(*l));
					uint64_t *q;

					if (!l)
						die("realloc");
					s->lat = l;
					q = realloc(s->seq, cap * sizeof(*q));
					if (!q)
						die("realloc");
					s->seq = q;
					s->cap_lat = cap;
				}
				s->seq[s->n_lat] = p.seq;
				s->lat[s->n_lat++] = last_rx > p.sent_ns ? last_rx - p.sent_ns : 0;
				for (size_t b = sizeof(p); b < (size_t)len; b++)
					if (buf[b] != pattern(p.seq, p.sent_ns, b)) {
						s->corrupt++;
						break;
					}
				if (s->seen && p.seq <= s->last_seq) {
					s->dup += p.seq == s->last_seq;
					s->ooo += p.seq < s->last_seq;
					continue;
				}
				if (s->seen && p.seq > s->last_seq + 1) {
					s->lost += p.seq - s->last_seq - 1;
					s->loss_runs++;
					if (p.sent_ns - s->last_sent > s->max_gap) {
						s->max_gap = p.sent_ns - s->last_sent;
						s->gap_end = p.sent_ns;
					}
				}
				if (!s->seen) {
					s->first_seq = p.seq;
					s->first_sent = p.sent_ns;
				}
				s->seen = 1;
				s->last_seq = p.seq;
				s->last_sent = p.sent_ns;
			}
		}
	}
	printf("{");
	for (int i = 0; i < n; i++) {
		printf("%s\"%d\":{\"received\":%llu,\"dup\":%llu,\"max_gap_ns\":%llu,"
		       "\"gap_end_ns\":%llu,\"first_seq\":%llu,\"first_sent_ns\":%llu,"
		       "\"lost\":%llu,\"loss_runs\":%llu,\"corrupt\":%llu",
		       i ? "," : "", ports[i], (unsigned long long)st[i].received,
		       (unsigned long long)st[i].dup, (unsigned long long)st[i].max_gap,
		       (unsigned long long)st[i].gap_end, (unsigned long long)st[i].first_seq,
		       (unsigned long long)st[i].first_sent, (unsigned long long)st[i].lost,
		       (unsigned long long)st[i].loss_runs, (unsigned long long)st[i].corrupt);
		printf(",\"reordered\":%llu", (unsigned long long)st[i].ooo);
		if (st[i].n_lat) {
			uint64_t *l = st[i].lat;
			size_t m = st[i].n_lat;

			lat_moments(&st[i]);
			qsort(l, m, sizeof(*l), cmp_u64);
			printf(",\"lat_n\":%zu,\"lat_min_ns\":%llu,\"lat_p50_ns\":%llu,"
			       "\"lat_p99_ns\":%llu,\"lat_p999_ns\":%llu,\"lat_max_ns\":%llu",
			       m, (unsigned long long)l[0], (unsigned long long)l[m / 2],
			       (unsigned long long)l[m * 99 / 100],
			       (unsigned long long)l[m * 999 / 1000], (unsigned long long)l[m - 1]);
		}
		free(st[i].lat);
		free(st[i].seq);
		if (by_source) {
			printf(",\"sources\":{");
			for (int k = 0; k < st[i].n_src; k++)
				printf("%s\"%u\":%llu", k ? "," : "", st[i].src[k].port,
				       (unsigned long long)st[i].src[k].n);
			printf("}");
		}
		printf("}");
	}
	printf("}\n");
	return 0;
}

static int cmd_send(int argc, char **argv)
{
	static const struct option o[] = {{"to", 1, 0, 't'},
					  {"port", 1, 0, 'p'},
					  {"count", 1, 0, 'c'},
					  {"rate", 1, 0, 'r'},
					  {"size", 1, 0, 's'},
					  {"flows", 1, 0, 'f'},
					  {0}};
	int ports[MAX_PORTS], n = 0, c, fds[MAX_FLOWS], flows = 1, size = 64;
	long count = 0, rate = 20000;
	const char *to = NULL;
	struct sockaddr_storage dst = {0};
	socklen_t dlen;
	char buf[1500] = {0};
	uint64_t start, seq = 0;

	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		if (c == 't')
			to = optarg;
		else if (c == 'p')
			n = parse_ports(optarg, ports);
		else if (c == 'c')
			count = atol(optarg);
		else if (c == 'r')
			rate = atol(optarg);
		else if (c == 's')
			size = atoi(optarg);
		else if (c == 'f')
			flows = atoi(optarg);
		else
			return 2;
	}
	if (flows < 1 || flows > MAX_FLOWS) {
		fprintf(stderr, "fl-traffic send: --flows 1..%d\n", MAX_FLOWS);
		return 2;
	}
	if (!to || !n || count <= 0 || count > 10000000 || rate <= 0 || rate > 1000000 ||
	    size < (int)sizeof(struct payload) || size > (int)sizeof(buf)) {
		fprintf(stderr, "fl-traffic send: need --to, --port, --count 1..1e7, --rate "
				"1..1e6, --size 16..1500\n");
		return 2;
	}
	if (strchr(to, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&dst;

		a->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, to, &a->sin6_addr) != 1)
			return 2;
		dlen = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&dst;

		a->sin_family = AF_INET;
		if (inet_pton(AF_INET, to, &a->sin_addr) != 1)
			return 2;
		dlen = sizeof(*a);
	}
	for (int f = 0; f < flows; f++) {
		fds[f] = socket(dst.ss_family, SOCK_DGRAM, 0);
		if (fds[f] < 0)
			die("socket");
	}
	start = now_ns();
	for (long i = 0; i < count; i++) {
		for (int k = 0; k < n * flows; k++) {
			int fd = fds[k / n];
			struct payload p;
			uint64_t due = start + seq * 1000000000ull / (uint64_t)rate;

			while (now_ns() < due) {
				uint64_t d = due - now_ns();

				if (d > 200000) {
					struct timespec ts = {0, (long)(d - 100000)};

					nanosleep(&ts, NULL);
				}
			}
			if (dst.ss_family == AF_INET6)
				((struct sockaddr_in6 *)&dst)->sin6_port = htons(ports[k % n]);
			else
				((struct sockaddr_in *)&dst)->sin_port = htons(ports[k % n]);
			p.seq = (uint64_t)i;
			p.sent_ns = now_ns();
			memcpy(buf, &p, sizeof(p));
			for (size_t b = sizeof(p); b < (size_t)size; b++)
				buf[b] = pattern(p.seq, p.sent_ns, b);
			/* ENOBUFS/EPERM (a dropped send) still counts as sent */
			sendto(fd, buf, size, 0, (struct sockaddr *)&dst, dlen);
			seq++;
		}
	}
	printf("{\"sent\":%ld,\"seconds\":%.3f}\n", count * flows, (now_ns() - start) / 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "recv"))
		return cmd_recv(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "send"))
		return cmd_send(argc - 1, argv + 1);
	if (argc == 2 && !strcmp(argv[1], "now")) {
		printf("%llu\n", (unsigned long long)now_ns());
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "kill")) {
		pid_t pid = (pid_t)atoi(argv[2]);
		uint64_t t;

		if (pid <= 1)
			return 2;
		t = now_ns();
		if (kill(pid, SIGKILL))
			die("kill");
		printf("%llu\n", (unsigned long long)t);
		return 0;
	}
	fprintf(stderr, "usage: fl-traffic recv|send|kill PID|now (see the source header)\n");
	return 2;
}
