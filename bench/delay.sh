#!/usr/bin/env bash
# The delay action's own figures (docs/delay.md: the egress delay line, a
# copy-out of tcx egress and an AF_PACKET re-inject by a thread of the
# faultline process), between two network namespaces joined by a veth pair:
#
#   A  fld-a-<pid>  va 10.220.0.1/24  (senders, clients; faultline on va egress)
#   B  fld-b-<pid>  vb 10.220.0.2/24  (receivers, servers)
#
# 1. Accuracy: UDP from A to B, RATE packets/s to port 7777 (delayed by
#    `faultline inject delay 10ms --dev va --protocol udp --port 7777`) and,
#    from a second sender over the same seconds, REF_RATE packets/s to port
#    7778 (untargeted), at RATE 1 000 and 50 000. Error at percentile X =
#    latency of 7777 at X - 10 ms - latency of 7778 at X (fl-traffic's
#    one-way latency, CLOCK_MONOTONIC send to receive); with the delay line's
#    own lateness (send time minus due time, its counters) and the most
#    packets it held. Each rate also runs once without faultline first
#    (`_nofault_`): what the same traffic sees on this host with no delay
#    line, to compare with the untargeted port's latency beside it.
# 2. CPU: the faultline process's CPU time (all its threads, from
#    /proc/PID/task/*/schedstat, ns) while the traffic of 1 ran, less its
#    idle CPU (faultline up, no traffic, 1 s before each run, also printed),
#    over the packets it delayed.
# 3. TCP: iperf3 -t TCP_S from A to B without faultline, then with
#    `delay 10ms` on A's egress (data delayed, ACKs not): throughput, ratio,
#    iperf3's RTT, the ceiling the peak send window allows at that RTT.
#    "The same RTT without faultline" needs sch_netem; the script tries it
#    and says when the kernel does not have it (these VMs do not).
# 4. HTTP, if toxy (a user-space HTTP fault proxy, npm) is or can be
#    installed into BUILD/toxy and node runs: a node HTTP server in B, a
#    keep-alive client in A with HTTP_CONC connections in a closed loop for
#    HTTP_S s each: (a) direct, no fault, each request after 50 ms idle (the
#    fault runs' pattern: the baseline); (b) through toxy in A with no delay,
#    paced the same (toxy's own cost); (c) through toxy with its latency
#    poison 50 ms; (d) direct with `faultline inject delay 50ms --protocol
#    tcp --port 8080` (each request's packets held 50 ms). Handshakes are
#    not timed. Error = latency - 50 ms - (a), at p50 and p99; requests/s;
#    toxy against faultline; CPU per request of toxy's and faultline's
#    processes; and one connection back to back, direct ("hot").
#    Otherwise it says why and skips this part (exit 0).
#
# Last, delay_host_steal_pct: the vCPU time the hypervisor gave to others
# during the run (/proc/stat steal), since on a busy host the delay line is
# late, and its 3 ms stall rule then passes packets undelayed.
#
# Output: "name value unit" lines, '#' comments.
# Usage: bench/delay.sh [BUILD]   (root; needs build/faultline,
#   build/fl-traffic, iperf3, jq, ip, nsenter; node and npm for part 4)
# Environment: FL_DELAY_BENCH_TIME_LIMIT (150: seconds for the whole script;
#   parts that would not fit are left out, and said so), FL_DELAY_BENCH_UDP_S
#   (3: seconds of traffic per UDP rate), FL_DELAY_BENCH_TCP_S (5),
#   FL_DELAY_BENCH_HTTP_S (4), FL_DELAY_BENCH_TOXY (1; 0 skips part 4);
#   faultline's own tuning (FL_DELAY_FIFO, FL_DELAY_SPIN_NS: docs/delay.md)
#   passes through to it.
# Everything it creates (namespaces, veth, processes, temporary files) is
# removed on exit, failure and signals included; BUILD/toxy stays, a cache.
# shellcheck disable=SC2015 # "A && B || die": die whenever A or B fails
set -u

BUILD=${1:-build}
LIMIT=${FL_DELAY_BENCH_TIME_LIMIT:-150}
UDP_S=${FL_DELAY_BENCH_UDP_S:-3}
TCP_S=${FL_DELAY_BENCH_TCP_S:-5}
HTTP_S=${FL_DELAY_BENCH_HTTP_S:-4}
TOXY=${FL_DELAY_BENCH_TOXY:-1}
DELAY_MS=10
HTTP_DELAY_MS=50
HTTP_CONC=16
REF_RATE=1000 # the untargeted port's packets/s
TOXY_VERSION=0.3.16

HERE=$(cd "$(dirname "$0")" && pwd)
NS_A=fld-a-$$
NS_B=fld-b-$$
ADDR_A=10.220.0.1
ADDR_B=10.220.0.2

die() {
	echo "bench/delay.sh: $*" >&2
	exit 1
}
note() { echo "# delay: $*"; }

for n in LIMIT UDP_S TCP_S HTTP_S; do
	case ${!n} in '' | *[!0-9]*) die "$n must be a number" ;; esac
done
[ "$UDP_S" -ge 1 ] && [ "$TCP_S" -ge 1 ] && [ "$HTTP_S" -ge 1 ] || die "durations must be >= 1 s"
[ "$(id -u)" -eq 0 ] || die "needs root (namespaces, BPF)"
for t in iperf3 jq ip nsenter timeout awk; do
	command -v "$t" >/dev/null || die "$t not found (make deps installs it)"
done
FL=$(realpath -e "$BUILD/faultline" 2>/dev/null) || die "no $BUILD/faultline (make)"
TRAFFIC=$(realpath -e "$BUILD/fl-traffic" 2>/dev/null) || die "no $BUILD/fl-traffic (make $BUILD/fl-traffic)"
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

START=$SECONDS
# CPU steal (time the hypervisor ran something else on our vCPUs), to say how
# busy the host was: /proc/stat's "cpu" line, 8th value, clock ticks
steal_ticks() { awk '$1 == "cpu" { print $9 }' /proc/stat; }
STEAL0=$(steal_ticks)
WORK=$(mktemp -d /tmp/fl-bench-delay.XXXXXX) || die "mktemp failed"
PIDS=() # every background process, by pid (servers, receivers, senders)
fl_pid=
NAME=bench/delay.sh
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
cleanup() { bench_cleanup $?; }
trap cleanup EXIT
trap 'echo "bench/delay.sh: interrupted" >&2; exit 130' INT TERM
bench_watchdog

# ---- the network ----------------------------------------------------------
ip netns add "$NS_A" || die "ip netns add $NS_A failed"
ip netns add "$NS_B" || die "ip netns add $NS_B failed"
ip link add va netns "$NS_A" type veth peer name vb netns "$NS_B" ||
	die "creating the veth pair failed"
ip -n "$NS_A" addr add "$ADDR_A/24" dev va &&
	ip -n "$NS_B" addr add "$ADDR_B/24" dev vb &&
	ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up &&
	ip -n "$NS_A" link set va up && ip -n "$NS_B" link set vb up ||
	die "configuring the veth pair failed"

# nsenter (not ip netns exec, which forks) keeps the pid of the program
# itself; an array, not a function: "func ... &" would give the pid of a subshell
IN_A=(nsenter --net="/run/netns/$NS_A")
FL_DEV=va # fl_start's device (bench/lib.sh)
IN_B=(nsenter --net="/run/netns/$NS_B")

now_ns() { date +%s%N; }

# CPU time of every thread of PID, ns: schedstat's run time (ns), summed over
# the threads; /proc/PID/stat's utime + stime (clock ticks) without schedstat.
cpu_ns() {
	if [ -r "/proc/$1/schedstat" ]; then
		cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
	else
		awk -v hz="$HZ" '{ printf "%.0f\n", ($14 + $15) * 1e9 / hz }' "/proc/$1/stat"
	fi
}

cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n1)
note "veth between two netns, $(nproc) CPUs (${cpu:-?}), kernel $(uname -r)"

# ---- toxy, first: its install is the only step of unknown length ------------
# toxy (npm) has no command of its own (no "bin": npx toxy runs nothing); it is
# a library, installed into BUILD/toxy (kept as a cache) and driven by the
# node helper of part 4. TOXY_SKIP: why part 4 is skipped, empty if it runs.
TOXY_DIR=$(realpath -m "$BUILD/toxy")
TOXY_SKIP=
if [ "$TOXY" != 1 ]; then
	TOXY_SKIP="FL_DELAY_BENCH_TOXY=$TOXY"
elif ! command -v node >/dev/null; then
	TOXY_SKIP="node not found (apt-get install nodejs npm)"
elif [ ! -f "$TOXY_DIR/node_modules/toxy/package.json" ]; then
	if ! command -v npm >/dev/null; then
		TOXY_SKIP="npm not found (apt-get install nodejs npm)"
	else
		mkdir -p "$TOXY_DIR"
		if ! timeout 60 npm install --prefix "$TOXY_DIR" --no-audit --no-fund --no-save \
			"toxy@$TOXY_VERSION" >"$WORK/npm.log" 2>&1; then
			TOXY_SKIP="npm install toxy@$TOXY_VERSION failed or took over 60 s: $(tail -n 3 "$WORK/npm.log" | tr '\n' ' ')"
		fi
	fi
fi

# ---- 1 and 2: UDP accuracy and CPU per delayed packet ------------------------
# udp_run RATE LABEL MODE: RATE pkt/s to 7777 for UDP_S s, and REF_RATE to
# 7778 (never targeted) from a second sender over the same seconds; MODE fl:
# with faultline delaying 7777, none: without faultline (the same traffic's
# own latency, to see what the delay line does to the rest of the host).
IDLE_NS=()
udp_run() {
	local rate=$1 label=$2 mode=$3 n nref rpid spid c0 c1 c2 t1 t2 r
	n=$((rate * UDP_S))
	nref=$((REF_RATE * UDP_S))
	rm -f "$WORK/ready"
	# recv: done 500 ms after the last packet, or 20 s with none
	"${IN_B[@]}" "$TRAFFIC" recv --port 7777,7778 --idle 500 --max-time 20 --ready "$WORK/ready" \
		>"$WORK/recv.json" 2>"$WORK/recv.err" &
	rpid=$!
	PIDS+=("$rpid")
	wait_file "$WORK/ready" 5 "$rpid" || die "fl-traffic recv not ready: $(cat "$WORK/recv.err")"
	if [ "$mode" = fl ]; then
		fl_start delay "${DELAY_MS}ms" --protocol udp --port 7777
		sleep 0.2
		# idle: faultline with its rule and delay line up, no traffic
		c0=$(cpu_ns "$fl_pid")
		sleep 1
		c1=$(cpu_ns "$fl_pid")
		IDLE_NS+=($((c1 - c0)))
		t1=$(now_ns)
		c1=$(cpu_ns "$fl_pid")
	fi
	timeout $((UDP_S + 20)) ip netns exec "$NS_A" "$TRAFFIC" send --to "$ADDR_B" --port 7778 \
		--count "$nref" --rate "$REF_RATE" >"$WORK/send_ref.json" 2>"$WORK/send_ref.err" &
	spid=$!
	PIDS+=("$spid")
	timeout $((UDP_S + 20)) ip netns exec "$NS_A" "$TRAFFIC" send --to "$ADDR_B" --port 7777 \
		--count "$n" --rate "$rate" >"$WORK/send.json" 2>"$WORK/send.err" ||
		die "fl-traffic send failed: $(cat "$WORK/send.err")"
	wait "$spid" || die "fl-traffic send (reference) failed: $(cat "$WORK/send_ref.err")"
	if [ "$mode" = fl ]; then
		sleep 0.05 # the last delayed packets leave 10 ms after they were sent
		c2=$(cpu_ns "$fl_pid")
		t2=$(now_ns)
	fi
	wait "$rpid" || die "fl-traffic recv failed: $(cat "$WORK/recv.err")"
	r=$WORK/recv.json
	local got sent secs
	got=$(jq -r '."7777".received' "$r")
	sent=$(jq -r '.sent' "$WORK/send.json")
	secs=$(jq -r '.seconds' "$WORK/send.json")
	note "$label $mode: sent $sent to 7777 in ${secs}s and $nref to 7778; received $got and $(jq -r '."7778".received' "$r")"
	note "$label $mode: latency p50/p99/p99.9/max, 7777 $(jq -r '."7777" | [.lat_p50_ns, .lat_p99_ns, .lat_p999_ns, .lat_max_ns] | map(. / 1000 | floor) | join("/")' "$r") us;" \
		"7778 $(jq -r '."7778" | [.lat_p50_ns, .lat_p99_ns, .lat_p999_ns, .lat_max_ns] | map(. / 1000 | floor) | join("/")' "$r") us"
	if [ "$mode" = none ]; then
		fig "delay_udp_${label}_nofault_p50_us" "$(jq -r '."7777".lat_p50_ns / 1000' "$r")" us %.1f
		fig "delay_udp_${label}_nofault_p99_us" "$(jq -r '."7777".lat_p99_ns / 1000' "$r")" us %.1f
		return 0
	fi
	fl_stop
	local delayed
	delayed=$(ctr delayed)
	note "$label fl: delayed $delayed, overflow $(ctr delay_overflow), limit-dropped $(ctr delay_limit_dropped)," \
		"send errors $(ctr delay_send_errors)"
	[ "$delayed" -gt 0 ] || die "$label: faultline delayed nothing"
	local p
	for p in p50 p99 max; do
		fig "delay_udp_${label}_err_${p}_us" "$(jq -r --argjson d $((DELAY_MS * 1000000)) \
			"(.\"7777\".lat_${p}_ns - \$d - .\"7778\".lat_${p}_ns) / 1000" "$r")" us %+.1f
	done
	fig "delay_udp_${label}_untargeted_p50_us" "$(jq -r '."7778".lat_p50_ns / 1000' "$r")" us %.1f
	fig "delay_udp_${label}_untargeted_p99_us" "$(jq -r '."7778".lat_p99_ns / 1000' "$r")" us %.1f
	fig "delay_udp_${label}_late_mean_us" "$(jq -r '.counters.delay_late_mean_ns / 1000' "$WORK/fl.out")" us %.1f
	fig "delay_udp_${label}_late_max_us" "$(jq -r '.counters.delay_late_max_ns / 1000' "$WORK/fl.out")" us %.1f
	fig "delay_udp_${label}_held_max" "$(ctr delay_held_max)" pkts %d
	fig "delay_udp_${label}_lost" $((n - got)) pkts %d
	# CPU: the window t1..t2, less the idle rate of this run over it
	awk -v c="$((c2 - c1))" -v t="$((t2 - t1))" -v i="${IDLE_NS[-1]}" -v d="$delayed" -v l="$label" 'BEGIN {
		printf "# delay: %s fl: faultline CPU %.1f ms over %.3f s of traffic, %.1f ms idle over 1 s before it\n", l, c / 1e6, t / 1e9, i / 1e6
		printf "delay_udp_%s_cpu_pct %.1f %%\n", l, 100 * c / t
		printf "delay_udp_%s_cpu_per_pkt_us %.2f us\n", l, (c - i * t / 1e9) / d / 1e3 }'
}

UDP_BUDGET=$((4 * UDP_S + 15))
if fits "$UDP_BUDGET"; then
	# warm-up, not counted: the first packets after the namespaces appear
	rm -f "$WORK/ready"
	"${IN_B[@]}" "$TRAFFIC" recv --port 7777 --idle 300 --max-time 5 --ready "$WORK/ready" >/dev/null 2>&1 &
	wpid=$!
	PIDS+=("$wpid")
	wait_file "$WORK/ready" 5 "$wpid" &&
		timeout 10 ip netns exec "$NS_A" "$TRAFFIC" send --to "$ADDR_B" --port 7777 --count 200 --rate 2000 >/dev/null
	wait "$wpid"
	note "UDP: delay ${DELAY_MS}ms on 7777, ${UDP_S}s per rate, untargeted 7778 at ${REF_RATE} pkt/s beside it, 64 B datagrams"
	udp_run 1000 1kpps none
	udp_run 1000 1kpps fl
	if fits $((2 * UDP_S + 8)); then
		udp_run 50000 50kpps none
		udp_run 50000 50kpps fl
	else
		note "time limit ${LIMIT}s: 50 kpps left out"
	fi
	idle=0
	for v in "${IDLE_NS[@]}"; do idle=$((idle + v)); done
	fig delay_idle_cpu_pct "$(awk -v s="$idle" -v n="${#IDLE_NS[@]}" 'BEGIN { print 100 * s / n / 1e9 }')" % %.2f
else
	note "time limit ${LIMIT}s: UDP part left out"
fi

# ---- 3: TCP throughput through the delay -------------------------------------
# tcp_run LABEL: iperf3 -c for TCP_S s; Gbit/s, RTT, retransmits from its JSON
tcp_run() {
	timeout $((TCP_S + 20)) ip netns exec "$NS_A" iperf3 -c "$ADDR_B" -p 5201 -t "$TCP_S" -J \
		>"$WORK/tcp_$1.json" 2>"$WORK/tcp.err" ||
		die "iperf3 ($1) failed: $(jq -r '.error // empty' "$WORK/tcp_$1.json" 2>/dev/null) $(cat "$WORK/tcp.err")"
	jq -er '.end.sum_received.bits_per_second' "$WORK/tcp_$1.json" >/dev/null ||
		die "no end.sum_received.bits_per_second in iperf3's output"
}
tcp_json() { jq -r "$2" "$WORK/tcp_$1.json"; }

# packets dropped where a burst of re-injected frames could be lost: va's
# and vb's counters, and the host's softnet backlog (all CPUs, host-wide)
drops() {
	local backlog=0 _ d _rest
	while read -r _ d _rest; do
		backlog=$((backlog + 16#$d))
	done </proc/net/softnet_stat
	echo "$(ip -n "$NS_A" -s -j link show dev va | jq '.[0].stats64.tx.dropped')" \
		"$(ip -n "$NS_B" -s -j link show dev vb | jq '.[0].stats64.rx.dropped')" "$backlog"
}

TCP_BUDGET=$((3 * TCP_S + 15))
if fits "$TCP_BUDGET"; then
	timeout $((LIMIT + 10)) ip netns exec "$NS_B" iperf3 -s -B "$ADDR_B" -p 5201 >"$WORK/iperf3_s.log" 2>&1 &
	srv=$!
	PIDS+=("$srv")
	for ((i = 0; i < 50; i++)); do
		ip netns exec "$NS_B" ss -Hltn "sport = :5201" 2>/dev/null | grep -q . && break
		kill -0 "$srv" 2>/dev/null || die "iperf3 server exited: $(cat "$WORK/iperf3_s.log")"
		sleep 0.1
	done
	[ "$i" -lt 50 ] || die "iperf3 server not listening after 5 s"
	TCP_S_SAVED=$TCP_S
	TCP_S=1 tcp_run warmup
	TCP_S=$TCP_S_SAVED
	tcp_run none
	fl_start delay "${DELAY_MS}ms" --protocol tcp --port 5201
	c1=$(cpu_ns "$fl_pid")
	drops0=$(drops)
	tcp_run delay
	drops1=$(drops)
	c2=$(cpu_ns "$fl_pid")
	fl_stop
	# the same RTT without faultline: only sch_netem could give it
	NETEM=
	if netem_err=$(ip netns exec "$NS_A" tc qdisc add dev va root netem delay "${DELAY_MS}ms" 2>&1); then
		NETEM=1
		tcp_run netem
		ip netns exec "$NS_A" tc qdisc del dev va root 2>/dev/null
	fi
	note "TCP: iperf3 $(iperf3 --version | awk 'NR == 1 { print $2 }') -t ${TCP_S}s, one stream, A to B; delay ${DELAY_MS}ms on A's egress (data delayed, ACKs not)"
	note "TCP delay: delayed $(ctr delayed) packets (GSO super-packets), overflow $(ctr delay_overflow)," \
		"limit-dropped $(ctr delay_limit_dropped), late mean $(ctr delay_late_mean_ns | awk '{ printf "%.1f", $1 / 1000 }') us" \
		"max $(ctr delay_late_max_ns | awk '{ printf "%.1f", $1 / 1000 }') us, held max $(ctr delay_held_max)"
	read -r d0a d0b d0s <<<"$drops0"
	read -r d1a d1b d1s <<<"$drops1"
	note "TCP delay: dropped during the run: va tx $((d1a - d0a)), vb rx $((d1b - d0b)), host softnet backlog $((d1s - d0s))"
	for c in none delay ${NETEM:+netem}; do
		note "TCP $c: $(tcp_json "$c" '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100') Gbit/s," \
			"retransmits $(tcp_json "$c" '.end.sum_sent.retransmits')," \
			"RTT mean $(tcp_json "$c" '.end.streams[0].sender.mean_rtt') us (min $(tcp_json "$c" '.end.streams[0].sender.min_rtt'), max $(tcp_json "$c" '.end.streams[0].sender.max_rtt'))," \
			"max cwnd $(tcp_json "$c" '.end.streams[0].sender.max_snd_cwnd') B, max send window $(tcp_json "$c" '.end.streams[0].sender.max_snd_wnd // "?"') B"
	done
	fig delay_tcp_none_gbps "$(tcp_json none '.end.sum_received.bits_per_second / 1e9')" gbit/s %.2f
	fig delay_tcp_10ms_gbps "$(tcp_json delay '.end.sum_received.bits_per_second / 1e9')" gbit/s %.2f
	fig delay_tcp_10ms_ratio "$(jq -rn --slurpfile a "$WORK/tcp_delay.json" --slurpfile b "$WORK/tcp_none.json" \
		'$a[0].end.sum_received.bits_per_second / $b[0].end.sum_received.bits_per_second')" x %.3f
	fig delay_tcp_none_rtt_us "$(tcp_json none '.end.streams[0].sender.mean_rtt')" us %d
	fig delay_tcp_10ms_rtt_us "$(tcp_json delay '.end.streams[0].sender.mean_rtt')" us %d
	fig delay_tcp_10ms_retransmits "$(tcp_json delay '.end.sum_sent.retransmits')" "" %d
	# what the peak send window allows at the measured RTT: the ceiling a
	# window-limited TCP has at this RTT, with or without faultline
	fig delay_tcp_10ms_window_bound_gbps "$(tcp_json delay \
		'(.end.streams[0].sender | (.max_snd_wnd // 0) * 8 / (.mean_rtt / 1e6) / 1e9)')" gbit/s %.2f
	fig delay_tcp_10ms_cpu_per_pkt_us "$(awk -v c="$((c2 - c1))" -v d="$(ctr delayed)" 'BEGIN { print c / d / 1e3 }')" us %.2f
	if [ -n "$NETEM" ]; then
		fig delay_tcp_netem_10ms_gbps "$(tcp_json netem '.end.sum_received.bits_per_second / 1e9')" gbit/s %.2f
		fig delay_tcp_10ms_over_netem_ratio "$(jq -rn --slurpfile a "$WORK/tcp_delay.json" --slurpfile b "$WORK/tcp_netem.json" \
			'$a[0].end.sum_received.bits_per_second / $b[0].end.sum_received.bits_per_second')" x %.3f
	else
		note "TCP: no same-RTT baseline without faultline: sch_netem is not available here" \
			"(tc: ${netem_err//$'\n'/ }); delay_tcp_none_gbps is at the veth's own RTT, so the ratio" \
			"is the cost of a ${DELAY_MS} ms RTT plus the delay line's, not the delay line's alone"
	fi
	kill -TERM "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
else
	note "time limit ${LIMIT}s: TCP part left out"
fi

# ---- 4: HTTP latency, toxy beside faultline ----------------------------------
toxy_skip() { note "toxy: skipped: $*"; }

# The HTTP helper: a server, a toxy proxy, a keep-alive closed-loop client.
write_http_js() {
	cat >"$WORK/http.js" <<'EOF'
'use strict'
// bench/delay.sh's HTTP helper. Every mode exits by itself.
//   server ADDR PORT MAX_S READY_FILE
//   proxy TOXY_DIR ADDR PORT TARGET_URL DELAY_MS MAX_S READY_FILE
//   client URL CONCURRENCY SECONDS [GAP_MS]   (prints one JSON object; GAP_MS:
//     each connection waits that long before each request, untimed)
const http = require('http')
const fs = require('fs')
const path = require('path')
const [mode, ...a] = process.argv.slice(2)
function ready (file) { fs.writeFileSync(file, 'ready\n') }
function bound (s) { setTimeout(() => process.exit(0), s * 1000).unref() }
if (mode === 'server') {
  const body = Buffer.alloc(128, 'x')
  const srv = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => { res.writeHead(200, { 'Content-Length': body.length }); res.end(body) })
  })
  srv.keepAliveTimeout = 60000
  srv.listen(+a[1], a[0], () => ready(a[3]))
  bound(+a[2])
} else if (mode === 'proxy') {
  const toxy = require(path.join(a[0], 'node_modules', 'toxy'))
  const proxy = toxy()
  proxy.forward(a[3])
  // latency({ jitter: N }) holds every request exactly N ms (toxy's "jitter"
  // is the fixed delay). toxy 0.3.16 answers nothing when no poison, or one
  // that calls next() at once, runs: for delay 0, one that yields a turn.
  proxy.poison(+a[4] > 0 ? toxy.poisons.latency({ jitter: +a[4] })
    : function none (req, res, next) { setImmediate(next) })
  proxy.all('/*')
  const srv = proxy.listen(+a[2], a[1])
  const s = srv && srv.server ? srv.server : srv
  if (s && s.listening) ready(a[6]); else s.once('listening', () => ready(a[6]))
  bound(+a[5])
} else if (mode === 'client') {
  const url = new URL(a[0]); const conc = +a[1]; const secs = +a[2]; const gap = +(a[3] || 0)
  const agent = new http.Agent({ keepAlive: true, maxSockets: conc })
  const lat = []; let errors = 0
  function get () {
    return new Promise((resolve) => {
      const t0 = process.hrtime.bigint()
      const req = http.get({ host: url.hostname, port: url.port, path: url.pathname, agent }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode === 200 ? Number(process.hrtime.bigint() - t0) : -1))
      })
      req.setTimeout(5000, () => req.destroy(new Error('timeout')))
      req.on('error', () => resolve(-1))
    })
  }
  async function worker (end) {
    for (let i = 0; i < 1e7 && Date.now() < end; i++) {
      if (gap > 0) await new Promise((resolve) => setTimeout(resolve, gap))
      const ns = await get()
      if (ns < 0) errors++; else lat.push(ns)
    }
  }
  ;(async () => {
    bound(secs + 30)
    // one untimed request on each connection first: handshakes are not timed
    await Promise.all(Array.from({ length: conc }, () => get()))
    const t0 = Date.now(); const end = t0 + secs * 1000
    await Promise.all(Array.from({ length: conc }, () => worker(end)))
    const el = (Date.now() - t0) / 1000
    lat.sort((x, y) => x - y)
    const q = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] : 0
    console.log(JSON.stringify({ requests: lat.length, errors, seconds: el, rps: lat.length / el,
      p50_ns: q(0.5), p99_ns: q(0.99), max_ns: lat.length ? lat[lat.length - 1] : 0 }))
    process.exit(0)
  })()
} else { console.error('usage: http.js server|proxy|client ...'); process.exit(2) }
EOF
}

# http_client LABEL URL CONCURRENCY [GAP_MS]: the client in A; JSON in
# $WORK/http_LABEL.json
http_client() {
	timeout $((HTTP_S + 40)) "${IN_A[@]}" node "$WORK/http.js" client "$2" "$3" "$HTTP_S" "${4:-0}" \
		>"$WORK/http_$1.json" 2>"$WORK/http_$1.err" || die "HTTP client ($1) failed: $(cat "$WORK/http_$1.err")"
	jq -e '.requests > 0' "$WORK/http_$1.json" >/dev/null ||
		die "HTTP client ($1): no request completed: $(cat "$WORK/http_$1.json" "$WORK/http_$1.err")"
}
hj() { jq -r "$2" "$WORK/http_$1.json"; }

HTTP_BUDGET=$((5 * (HTTP_S + 2) + 15))
http_part() {
	[ -z "$TOXY_SKIP" ] || {
		toxy_skip "$TOXY_SKIP"
		return 0
	}
	fits "$HTTP_BUDGET" || {
		toxy_skip "time limit ${LIMIT}s"
		return 0
	}
	local tv srv px0 px50 c1 c2 d1 d2 t_toxy t_fl
	tv=$(jq -r .version "$TOXY_DIR/node_modules/toxy/package.json")
	write_http_js
	rm -f "$WORK/srv.ready" "$WORK/px0.ready" "$WORK/px50.ready"
	"${IN_B[@]}" node "$WORK/http.js" server "$ADDR_B" 8080 "$((LIMIT + 10))" "$WORK/srv.ready" >"$WORK/srv.log" 2>&1 &
	srv=$!
	PIDS+=("$srv")
	"${IN_A[@]}" node "$WORK/http.js" proxy "$TOXY_DIR" 127.0.0.1 3000 "http://$ADDR_B:8080" "$HTTP_DELAY_MS" \
		"$((LIMIT + 10))" "$WORK/px50.ready" >"$WORK/px50.log" 2>&1 &
	px50=$!
	PIDS+=("$px50")
	"${IN_A[@]}" node "$WORK/http.js" proxy "$TOXY_DIR" 127.0.0.1 3001 "http://$ADDR_B:8080" 0 \
		"$((LIMIT + 10))" "$WORK/px0.ready" >"$WORK/px0.log" 2>&1 &
	px0=$!
	PIDS+=("$px0")
	wait_file "$WORK/srv.ready" 10 "$srv" || die "HTTP server not ready: $(cat "$WORK/srv.log")"
	wait_file "$WORK/px50.ready" 10 "$px50" || {
		toxy_skip "toxy $tv did not start under node $(node --version): $(tail -n 3 "$WORK/px50.log" | tr '\n' ' ')"
		return 0
	}
	wait_file "$WORK/px0.ready" 10 "$px0" || die "toxy (no delay) not ready: $(cat "$WORK/px0.log")"
	note "HTTP: node $(node --version) server in B (128 B bodies), keep-alive client in A," \
		"$HTTP_CONC connections in a closed loop for ${HTTP_S}s; toxy $tv in A on 127.0.0.1;" \
		"faultline delay ${HTTP_DELAY_MS}ms --protocol tcp --port 8080 on va (direct connection)"
	# baselines: "hot", one connection back to back; "paced", the fault
	# runs' pattern without a fault: HTTP_CONC connections, each request
	# after HTTP_DELAY_MS idle (a request after an idle gap pays the wake-ups
	# of idle CPUs and processes, about 1 ms here; a back-to-back one does not)
	http_client direct "http://$ADDR_B:8080/" 1
	http_client paced "http://$ADDR_B:8080/" "$HTTP_CONC" "$HTTP_DELAY_MS"
	http_client toxy0 "http://127.0.0.1:3001/" "$HTTP_CONC" "$HTTP_DELAY_MS"
	c1=$(cpu_ns "$px50")
	http_client toxy "http://127.0.0.1:3000/" "$HTTP_CONC"
	c2=$(cpu_ns "$px50")
	t_toxy=$((c2 - c1))
	fl_start delay "${HTTP_DELAY_MS}ms" --protocol tcp --port 8080
	d1=$(cpu_ns "$fl_pid")
	http_client fl "http://$ADDR_B:8080/" "$HTTP_CONC"
	d2=$(cpu_ns "$fl_pid")
	t_fl=$((d2 - d1))
	fl_stop
	note "HTTP faultline: delayed $(ctr delayed) packets, overflow $(ctr delay_overflow), limit-dropped $(ctr delay_limit_dropped)," \
		"late mean $(ctr delay_late_mean_ns | awk '{ printf "%.1f", $1 / 1000 }') us max $(ctr delay_late_max_ns | awk '{ printf "%.1f", $1 / 1000 }') us"
	local c
	for c in direct paced toxy0 toxy fl; do
		note "HTTP $c: $(hj "$c" .requests) requests ($(hj "$c" .errors) errors) in $(hj "$c" .seconds)s," \
			"p50/p99/max $(hj "$c" '[.p50_ns, .p99_ns, .max_ns] | map(. / 1e4 | round / 100) | join("/")') ms"
	done
	# err C P [BASE]: latency of run C at P - the delay - run BASE (paced) at P, ms
	err() {
		jq -rn --slurpfile a "$WORK/http_$1.json" --slurpfile b "$WORK/http_${3:-paced}.json" \
			--argjson d "$HTTP_DELAY_MS" "(\$a[0].${2}_ns - \$b[0].${2}_ns) / 1e6 - \$d"
	}
	fig delay_http_direct_p50_ms "$(hj direct '.p50_ns / 1e6')" ms %.3f
	local p
	for p in p50 p99; do
		fig "delay_http_paced_${p}_ms" "$(hj paced ".${p}_ns / 1e6")" ms %.3f
	done
	for p in p50 p99; do
		fig "delay_http_toxy_nodelay_${p}_ms" "$(hj toxy0 ".${p}_ns / 1e6")" ms %.3f
	done
	for c in toxy fl; do
		local name=$c
		[ "$c" = fl ] && name=faultline
		for p in p50 p99; do
			fig "delay_http_${name}_${p}_ms" "$(hj "$c" ".${p}_ns / 1e6")" ms %.3f
			fig "delay_http_${name}_err_${p}_ms" "$(err "$c" "$p")" ms %+.3f
		done
		note "delay_http_${name}_err_p50_ms against the hot baseline: $(err "$c" p50 direct | awk '{ printf "%+.3f", $1 }') ms"
		fig "delay_http_${name}_rps" "$(hj "$c" .rps)" req/s %.1f
	done
	fig delay_http_ideal_rps "$(awk -v c="$HTTP_CONC" -v d="$HTTP_DELAY_MS" 'BEGIN { print c * 1000 / d }')" req/s %.1f
	fig delay_http_rps_toxy_over_faultline_ratio "$(jq -rn --slurpfile a "$WORK/http_toxy.json" \
		--slurpfile b "$WORK/http_fl.json" '$a[0].rps / $b[0].rps')" x %.3f
	# the difference of the errors always; their ratio only when faultline's
	# error is above the baselines' own spread (0.1 ms), else it means nothing
	for p in p50 p99; do
		local ef et
		ef=$(err fl "$p")
		et=$(err toxy "$p")
		fig "delay_http_err_${p}_toxy_minus_faultline_ms" "$(awk -v a="$et" -v b="$ef" 'BEGIN { print a - b }')" ms %+.3f
		if awk -v e="$ef" 'BEGIN { exit !(e >= 0.1) }'; then
			fig "delay_http_err_${p}_toxy_over_faultline_ratio" "$(awk -v a="$et" -v b="$ef" 'BEGIN { print a / b }')" x %.1f
		else
			note "delay_http_err_${p}_toxy_over_faultline_ratio: not given, faultline's error ($(printf %.3f "$ef") ms) is under 0.1 ms"
		fi
	done
	fig delay_http_toxy_cpu_per_req_us "$(awk -v c="$t_toxy" -v n="$(hj toxy .requests)" 'BEGIN { print c / n / 1e3 }')" us %.1f
	fig delay_http_faultline_cpu_per_req_us "$(awk -v c="$t_fl" -v n="$(hj fl .requests)" 'BEGIN { print c / n / 1e3 }')" us %.1f
	for p in "$srv" "$px50" "$px0"; do kill -TERM "$p" 2>/dev/null; done
	for p in "$srv" "$px50" "$px0"; do wait "$p" 2>/dev/null; done
	return 0
}
http_part

# the whole run's steal, as a share of all the vCPUs' time
fig delay_host_steal_pct "$(awk -v s="$(($(steal_ticks) - STEAL0))" -v t="$((SECONDS - START))" \
	-v n="$(nproc)" -v hz="$HZ" 'BEGIN { print (t > 0 ? 100 * s / hz / (t * n) : 0) }')" % %.1f
note "$((SECONDS - START))s"
