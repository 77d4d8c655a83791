/*
 * injector/delay_line.c - hold delayed frames and send each at its due time.
 *
 * One thread. It sleeps in epoll_wait() on three descriptors: the ring
 * buffer map (readable when the classifier submitted frames), a timerfd
 * armed at an absolute CLOCK_MONOTONIC time (the clock of bpf_ktime_get_ns)
 * FL_DELAY_SPIN_NS before the earliest due time, and an eventfd that asks it
 * to stop. A wake-up of a timer is late by 50-150 us on these VMs
 * (../shared/KERNEL.md), so the thread wakes early and spins the rest of the
 * way: the frame leaves within a few microseconds of its due time.
 *
 * Order: a min-heap on (due time, arrival). With a constant delay the due
 * times of a flow only grow, so its frames leave in the order they came
 * (FIFO); with jitter a frame may overtake an earlier one whose due time is
 * later, as in netem's tfifo.
 *
 * Bounds: at most `limit` frames held per rule (netem's limit, default
 * 1000); a frame arriving beyond it is dropped and counted (netem drops
 * too). The ring buffer itself is FL_DELAY_RB_SIZE bytes; when it is full
 * the classifier passes frames undelayed and counts delay_overflow.
 */
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "faultline/rule.h"
#include "injector/delay_line.h"

/* Wake this long before a due time and spin the rest (measured: a timer
 * wake-up is 50-150 us late here). */
#define FL_DELAY_SPIN_NS 150000ull

/* The backup thread sends a frame its primary has not sent this long after
 * its due time (backup()). */
#define FL_DELAY_BACKUP_NS 250000ull

static uint64_t spin_ns = FL_DELAY_SPIN_NS;
static int fifo_prio = 1;

struct held {
	uint64_t due_ns;
	uint64_t seq;
	struct fl_delay_rec *rec; /* header and frame, malloc()ed */
};

struct fl_delay_line {
	pthread_t thread, backup;
	int started, backup_started;
	int rb_fd, ep_fd, timer_fd, stop_fd, pkt_fd;
	uint32_t rank_bits;		    /* the engine's rank, in FL_RANK_MASK */
	int bk_ep_fd, bk_timer_fd, kick_fd; /* the backup's; kick: wakes the primary */
	int cpu[2];			    /* where each thread runs; -1: anywhere */
	int lo_ifindex;			    /* ingress frames leave by lo (fl_reinject) */
	/* CPU budget of the spin (may_spin) */
	uint64_t win_start, win_cpu, spin_off_windows;
	int spin_ok;
	int fifo; /* the primary runs SCHED_FIFO now */
	struct ring_buffer *rb;
	atomic_int stop;
	/* the ring, the heap and the packet socket: under mu, shared by the
	 * primary and the backup thread */
	pthread_mutex_t mu;
	struct held *heap;
	size_t n, cap;
	uint64_t seq;
	/* per rule, under lock */
	pthread_mutex_t lock;
	uint32_t limit[FL_MAX_RULES];
	struct fl_delay_stats st[FL_MAX_RULES];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int before(const struct held *a, const struct held *b)
{
	return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static int heap_push(struct fl_delay_line *dl, struct held h)
{
	size_t i;

	if (dl->n == dl->cap) {
		size_t cap = dl->cap ? dl->cap * 2 : 256;
		struct held *p = realloc(dl->heap, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		dl->heap = p;
		dl->cap = cap;
	}
	i = dl->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(&h, &dl->heap[parent]))
			break;
		dl->heap[i] = dl->heap[parent];
		i = parent;
	}
	dl->heap[i] = h;
	return 0;
}

static struct held heap_pop(struct fl_delay_line *dl)
{
	struct held top = dl->heap[0], last = dl->heap[--dl->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= dl->n)
			break;
		if (c + 1 < dl->n && before(&dl->heap[c + 1], &dl->heap[c]))
			c++;
		if (!before(&dl->heap[c], &last))
			break;
		dl->heap[i] = dl->heap[c];
		i = c;
	}
	if (dl->n)
		dl->heap[i] = last;
	return top;
}

/* A ring buffer record: keep a copy, unless the rule holds its limit. */
static int on_record(void *ctx, void *data, size_t size)
{
	struct fl_delay_line *dl = ctx;
	const struct fl_delay_rec *rec = data;
	struct fl_delay_stats *st;
	struct held h;
	int drop;

	if (size < sizeof(*rec) || rec->len > size - sizeof(*rec) || rec->rule >= FL_MAX_RULES)
		return 0;
	st = &dl->st[rec->rule];
	pthread_mutex_lock(&dl->lock);
	st->received++;
	drop = st->held >= dl->limit[rec->rule];
	if (drop)
		st->limit_dropped += rec->copies;
	pthread_mutex_unlock(&dl->lock);
	if (drop)
		return 0;
	h.rec = malloc(sizeof(*rec) + rec->len);
	if (!h.rec)
		goto lost;
	memcpy(h.rec, rec, sizeof(*rec) + rec->len);
	h.due_ns = rec->due_ns;
	h.seq = dl->seq++;
	if (heap_push(dl, h)) {
		free(h.rec);
		goto lost;
	}
	pthread_mutex_lock(&dl->lock);
	if (++st->held > st->held_max)
		st->held_max = st->held;
	pthread_mutex_unlock(&dl->lock);
	return 0;
lost:
	pthread_mutex_lock(&dl->lock);
	st->send_errors += rec->copies;
	pthread_mutex_unlock(&dl->lock);
	return 0;
}

/* Send a frame on its device, with the offload state it had. */
static int send_frame(struct fl_delay_line *dl, const struct fl_delay_rec *rec)
{
	struct virtio_net_hdr vh = {0};
	struct sockaddr_ll sll = {0};
	struct iovec iov[2];
	struct msghdr msg = {0};
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} cbuf;
	uint32_t mark;

	if (rec->len < ETH_HLEN)
		return -EINVAL;
	if (rec->flags & FL_DELAY_F_CSUM_PARTIAL) {
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.csum_start = rec->csum_start;
		vh.csum_offset = rec->csum_offset;
	}
	if (rec->gso_size && rec->gso_type != FL_GSO_NONE) {
		vh.gso_type = rec->gso_type;
		vh.gso_size = rec->gso_size;
	}
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)rec->ifindex;
	if (rec->flags & FL_DELAY_F_INGRESS) {
		/* out of lo, where fl_reinject redirects it into the ingress
		 * of its device: the mark names the device */
		struct cmsghdr *cm;

		sll.sll_ifindex = dl->lo_ifindex;
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = sizeof(cbuf.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SO_MARK;
		cm->cmsg_len = CMSG_LEN(sizeof(uint32_t));
		mark = FL_DELAY_MARK | FL_REINJECT_MARK | dl->rank_bits |
		       (rec->ifindex & FL_REINJECT_IFINDEX);
		memcpy(CMSG_DATA(cm), &mark, sizeof(mark));
	}
	memcpy(&sll.sll_protocol, rec->data + 12, 2); /* network order already */
	sll.sll_halen = ETH_ALEN;
	memcpy(sll.sll_addr, rec->data, ETH_ALEN);
	iov[0].iov_base = &vh;
	iov[0].iov_len = sizeof(vh);
	iov[1].iov_base = (void *)rec->data;
	iov[1].iov_len = rec->len;
	msg.msg_name = &sll;
	msg.msg_namelen = sizeof(sll);
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	return sendmsg(dl->pkt_fd, &msg, 0) < 0 ? -errno : 0;
}

static void release(struct fl_delay_line *dl, struct held h, uint64_t now, int by_backup)
{
	struct fl_delay_stats *st = &dl->st[h.rec->rule];
	uint64_t late = now > h.due_ns ? now - h.due_ns : 0;
	int ok = 0, bad = 0;

	for (int c = 0; c < h.rec->copies; c++) {
		if (send_frame(dl, h.rec) == 0)
			ok++;
		else
			bad++;
	}
	pthread_mutex_lock(&dl->lock);
	st->held--;
	st->released += (uint64_t)ok;
	if (by_backup)
		st->backup_released += (uint64_t)ok;
	st->send_errors += (uint64_t)bad;
	if (ok) {
		st->late_sum_ns += late;
		if (late > st->late_max_ns)
			st->late_max_ns = late;
	}
	pthread_mutex_unlock(&dl->lock);
	free(h.rec);
}

static void arm(int timer_fd, uint64_t at_ns)
{
	struct itimerspec its = {0};

	its.it_value.tv_sec = (time_t)(at_ns / 1000000000ull);
	its.it_value.tv_nsec = (long)(at_ns % 1000000000ull);
	if (at_ns == 0)
		its.it_value.tv_nsec = 0; /* disarm */
	timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Spinning is allowed while the thread used less than FL_DELAY_BUSY_MAX of
 * its CPU over the last window. Busier (tens of kpps, or TCP), it sleeps to
 * each due time instead: a SCHED_FIFO thread that never sleeps is throttled
 * by the kernel (sched_rt_runtime_us: 50 ms out of every second, measured
 * here), which would hold every frame 50 ms late. */
#define FL_DELAY_WINDOW_NS 100000000ull
#define FL_DELAY_BUSY_MAX  0.7
#define FL_DELAY_FIFO_MAX  0.4
static int may_spin(struct fl_delay_line *dl, uint64_t now)
{
	if (now - dl->win_start >= FL_DELAY_WINDOW_NS) {
		uint64_t cpu = thread_cpu_ns();

		double busy = (double)(cpu - dl->win_cpu) / (double)(now - dl->win_start);

		dl->spin_ok = busy < FL_DELAY_BUSY_MAX;
		if (!dl->spin_ok)
			dl->spin_off_windows++;
		/* real-time only while it leaves the CPU to others most of the
		 * time: busier (tens of kpps), as a real-time thread it starved
		 * the host (an untargeted flow's p99 went from 0.08 to 20-100 ms
		 * at 50 kpps, docs/benchmarks.md); as an ordinary one it shares */
		if (fifo_prio > 0 && dl->fifo && busy > FL_DELAY_FIFO_MAX) {
			struct sched_param sp = {.sched_priority = 0};

			if (!pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp))
				dl->fifo = 0;
		} else if (fifo_prio > 0 && !dl->fifo && busy < FL_DELAY_FIFO_MAX / 2) {
			struct sched_param sp = {.sched_priority = fifo_prio};

			if (!pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp))
				dl->fifo = 1;
		}
		dl->win_start = now;
		dl->win_cpu = cpu;
	}
	return dl->spin_ok;
}

/* SCHED_FIFO 1: ahead of every ordinary task, so a busy CPU does not make
 * frames late (measured: TCP through 10 ms, mean lateness 66 -> 4 us, max
 * 3.5 -> 0.7 ms); pinned to its CPU, so that the primary and the backup do
 * not share one. Refused (no CAP_SYS_NICE): stay as we are. */
static int set_sched(int cpu)
{
	int fifo = 0;

	if (fifo_prio > 0) {
		struct sched_param sp = {.sched_priority = fifo_prio};

		fifo = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	return fifo;
}

/* The first two CPUs this process may run on: the primary's and the
 * backup's; -1 for the backup when there is one CPU. */
static void pick_cpus(int cpu[2])
{
	cpu_set_t set;
	int k = 0;

	cpu[0] = cpu[1] = -1;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int c = 0; c < CPU_SETSIZE && k < 2; c++)
		if (CPU_ISSET(c, &set))
			cpu[k++] = c;
	if (k < 2)
		cpu[0] = -1;
}

static void *run(void *arg)
{
	struct fl_delay_line *dl = arg;
	struct epoll_event ev[4];
	uint64_t armed = 0;

	/* the default 50 us timer slack would add to every wake-up */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	dl->fifo = set_sched(dl->cpu[0]);
	for (;;) {
		uint64_t now, next = 0, junk;
		int stopping = atomic_load(&dl->stop), n;

		pthread_mutex_lock(&dl->mu);
		ring_buffer__consume(dl->rb);
		now = mono_ns();
		while (dl->n && (stopping || dl->heap[0].due_ns <= now)) {
			release(dl, heap_pop(dl), now, 0);
			/* keep consuming: the classifier takes a ring left
			 * unconsumed for FL_DELAY_STALL_NS for a dead consumer */
			ring_buffer__consume(dl->rb);
			now = mono_ns();
		}
		if (dl->n)
			next = dl->heap[0].due_ns;
		pthread_mutex_unlock(&dl->mu);
		if (stopping)
			break;
		if (next) {
			if (next - now <= spin_ns && may_spin(dl, now)) {
				/* spin, still taking records (they are due later) */
				while (mono_ns() < next && !atomic_load(&dl->stop)) {
					pthread_mutex_lock(&dl->mu);
					ring_buffer__consume(dl->rb);
					pthread_mutex_unlock(&dl->mu);
				}
				continue;
			}
			if (armed != next - (dl->spin_ok ? spin_ns : 0)) {
				armed = next - (dl->spin_ok ? spin_ns : 0);
				arm(dl->timer_fd, armed);
			}
		} else if (armed) {
			armed = 0;
			arm(dl->timer_fd, 0);
		}
		n = epoll_wait(dl->ep_fd, ev, 4, -1);
		for (int k = 0; k < n; k++) {
			if (ev[k].data.fd == dl->timer_fd) {
				if (read(dl->timer_fd, &junk, sizeof(junk)) > 0)
					armed = 0;
			} else if (ev[k].data.fd == dl->kick_fd) {
				if (read(dl->kick_fd, &junk, sizeof(junk)) < 0)
					continue;
			}
			/* stop_fd stays readable: both threads see it */
		}
	}
	return NULL;
}

/* The backup thread, on another CPU: this VM's hypervisor now and then
 * stops one vCPU for milliseconds (steal), and a frame due meanwhile would
 * wait with it. The backup sleeps to FL_DELAY_BACKUP_NS after the earliest
 * due time (or 1 ms while nothing is held, to keep the ring drained) and
 * sends whatever the primary has not sent by then. When the primary is
 * well it finds nothing to do: a wake-up per held frame, no spin. */
static void *backup(void *arg)
{
	struct fl_delay_line *dl = arg;
	struct epoll_event ev[2];

	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	set_sched(dl->cpu[1]);
	while (!atomic_load(&dl->stop)) {
		uint64_t now, next, junk;
		int got;

		pthread_mutex_lock(&dl->mu);
		got = ring_buffer__consume(dl->rb);
		now = mono_ns();
		while (dl->n && dl->heap[0].due_ns + FL_DELAY_BACKUP_NS <= now) {
			release(dl, heap_pop(dl), now, 1);
			ring_buffer__consume(dl->rb);
			now = mono_ns();
		}
		next = dl->n ? dl->heap[0].due_ns + FL_DELAY_BACKUP_NS : now + 1000000;
		pthread_mutex_unlock(&dl->mu);
		if (got > 0) {
			/* the primary may have slept through these records'
			 * notification: tell it the heap changed */
			uint64_t one = 1;

			if (write(dl->kick_fd, &one, sizeof(one)) < 0) {
				/* a full counter has woken it already */
			}
		}
		arm(dl->bk_timer_fd, next);
		if (epoll_wait(dl->bk_ep_fd, ev, 2, -1) > 0 &&
		    read(dl->bk_timer_fd, &junk, sizeof(junk)) < 0) {
			/* not the timer: the stop eventfd, which the loop
			 * condition sees */
		}
	}
	return NULL;
}

static void destroy(struct fl_delay_line *dl)
{
	while (dl->n)
		free(heap_pop(dl).rec);
	free(dl->heap);
	ring_buffer__free(dl->rb);
	for (int *fd = &dl->ep_fd; fd <= &dl->pkt_fd; fd++)
		if (*fd >= 0)
			close(*fd);
	for (int *fd = &dl->bk_ep_fd; fd <= &dl->kick_fd; fd++)
		if (*fd >= 0)
			close(*fd);
	pthread_mutex_destroy(&dl->mu);
	pthread_mutex_destroy(&dl->lock);
	free(dl);
}

static int add_fd(int ep, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int fl_delay_line__start(int rb_fd, unsigned rank, struct fl_delay_line **out)
{
	struct fl_delay_line *dl = calloc(1, sizeof(*dl));
	uint32_t rank_bits = (rank << FL_RANK_SHIFT) & FL_RANK_MASK;
	int one = 1, mark = (int)(FL_DELAY_MARK | rank_bits), sndbuf = 32 << 20, r;

	if (!dl)
		return -ENOMEM;
	pthread_mutex_init(&dl->lock, NULL);
	pthread_mutex_init(&dl->mu, NULL);
	dl->rb_fd = rb_fd;
	dl->rank_bits = rank_bits;
	dl->ep_fd = dl->timer_fd = dl->stop_fd = dl->pkt_fd = -1;
	dl->bk_ep_fd = dl->bk_timer_fd = dl->kick_fd = -1;
	if (getenv("FL_DELAY_SPIN_NS")) /* for measurements */
		spin_ns = strtoull(getenv("FL_DELAY_SPIN_NS"), NULL, 10);
	if (getenv("FL_DELAY_FIFO")) /* 0: ordinary threads */
		fifo_prio = atoi(getenv("FL_DELAY_FIFO"));
	pick_cpus(dl->cpu);
	if (getenv("FL_DELAY_PIN") && !atoi(getenv("FL_DELAY_PIN")))
		dl->cpu[0] = -1; /* for measurements: the primary unpinned */
	for (int k = 0; k < FL_MAX_RULES; k++)
		dl->limit[k] = FL_DELAY_LIMIT_DEFAULT;
	dl->lo_ifindex = (int)if_nametoindex("lo");
	dl->spin_ok = 1;
	dl->rb = ring_buffer__new(rb_fd, on_record, dl, NULL);
	if (!dl->rb) {
		r = -errno ? -errno : -EINVAL;
		goto fail;
	}
	dl->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	dl->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	dl->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dl->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dl->bk_ep_fd = epoll_create1(EPOLL_CLOEXEC);
	dl->bk_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (dl->kick_fd < 0 || dl->bk_ep_fd < 0 || dl->bk_timer_fd < 0) {
		r = -errno;
		goto fail;
	}
	/* protocol 0: this socket only sends, it never receives a copy */
	dl->pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (dl->ep_fd < 0 || dl->timer_fd < 0 || dl->stop_fd < 0 || dl->pkt_fd < 0) {
		r = -errno;
		goto fail;
	}
	if (setsockopt(dl->pkt_fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ||
	    setsockopt(dl->pkt_fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark))) {
		r = -errno;
		goto fail;
	}
	if (setsockopt(dl->pkt_fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)))
		setsockopt(dl->pkt_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	r = add_fd(dl->ep_fd, rb_fd);
	if (!r)
		r = add_fd(dl->ep_fd, dl->timer_fd);
	if (!r)
		r = add_fd(dl->ep_fd, dl->stop_fd);
	if (!r)
		r = add_fd(dl->ep_fd, dl->kick_fd);
	if (!r)
		r = add_fd(dl->bk_ep_fd, dl->bk_timer_fd);
	if (!r)
		r = add_fd(dl->bk_ep_fd, dl->stop_fd);
	if (r)
		goto fail;
	r = -pthread_create(&dl->thread, NULL, run, dl);
	if (r)
		goto fail;
	dl->started = 1;
	/* one CPU only: no backup (it could not run while the primary cannot) */
	if (dl->cpu[1] >= 0 && pthread_create(&dl->backup, NULL, backup, dl) == 0)
		dl->backup_started = 1;
	*out = dl;
	return 0;
fail:
	destroy(dl);
	return r;
}

void fl_delay_line__reset_rule(struct fl_delay_line *dl, int rule, uint32_t limit)
{
	uint64_t held;

	if (rule < 0 || rule >= FL_MAX_RULES)
		return;
	pthread_mutex_lock(&dl->lock);
	held = dl->st[rule].held; /* frames of a former rule of that id */
	memset(&dl->st[rule], 0, sizeof(dl->st[rule]));
	dl->st[rule].held = held;
	dl->limit[rule] = limit ? limit : FL_DELAY_LIMIT_DEFAULT;
	pthread_mutex_unlock(&dl->lock);
}

void fl_delay_line__stats(struct fl_delay_line *dl, int rule, struct fl_delay_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (rule < 0 || rule >= FL_MAX_RULES)
		return;
	pthread_mutex_lock(&dl->lock);
	*out = dl->st[rule];
	pthread_mutex_unlock(&dl->lock);
}

void fl_delay_line__stop(struct fl_delay_line *dl)
{
	uint64_t one = 1;

	if (!dl)
		return;
	if (dl->started) {
		atomic_store(&dl->stop, 1);
		if (write(dl->stop_fd, &one, sizeof(one)) < 0) {
			/* the flag alone stops them at their next wake-up */
		}
		if (dl->backup_started)
			pthread_join(dl->backup, NULL);
		/* the primary sends what is held, then ends */
		pthread_join(dl->thread, NULL);
	}
	destroy(dl);
}
