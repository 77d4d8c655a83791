#!/usr/bin/env bash
# The measurements behind docs/comparison.md: faultline against the
# no-program baseline, and against a user-space TCP proxy in the architecture
# Toxiproxy uses (socat, TCP-LISTEN ... fork -> TCP), between two network
# namespaces joined by a veth pair:
#
#   A  flc-a-<pid>  ca 10.231.0.1/24  (clients; faultline on ca; the proxy on
#                                      127.0.0.1 in A, as a sidecar would be)
#   B  flc-b-<pid>  cb 10.231.0.2/24  (servers: iperf3 -s, redis-server)
#
# 0. Whether tc netem exists on this kernel (tried on ca, removed at once) and
#    whether Toxiproxy or Go are installed: said, not measured.
# 1. Delay accuracy: UDP from A to B, 1 000 pkt/s to port 7777 (targeted by
#    `faultline inject delay ... --protocol udp --port 7777`) and 1 000 pkt/s
#    to port 7778 (untargeted) from the same sender over the same seconds.
#    Measured added delay at pX = latency of 7777 at pX - latency of 7778 at
#    p50 (fl-traffic's one-way latency: the path's own tail stays in the
#    figure, which overstates rather than hides an error); asked = the distribution's pX
#    (constant: TIME; uniform +-J: TIME + 0.98 J at p99; normal sigma J:
#    TIME + 2.326 J at p99).
# 2. Loss accuracy: N packets to 7777 (targeted) and N to 7778, interleaved;
#    lost = sent - received; for random loss the 99.9% binomial interval;
#    for gemodel P R the stationary loss P/(P+R) and mean burst 1/R.
# 3. Cost, ROUNDS rounds, each running every case once (order rotated):
#    iperf3 TCP A->B for TCP_S s (one stream), and redis PING latency over one
#    connection (tests/tools/reqlat.py, REQS requests back to back):
#      none   direct to 10.231.0.2, no program anywhere (the baseline)
#      fl     direct, faultline holding `delay 10ms --protocol tcp --port
#             9999` on ca (delay line up, classifier on every packet) that
#             the flows do not match: what untargeted traffic pays
#      proxy  through socat on 127.0.0.1 in A (client pointed at the proxy),
#             no fault: what merely putting a proxy in the path costs
#    Figures: medians over the rounds; ratios computed within each round
#    against `none` of that round, then the median.
# 4. No client change: the same redis client, same address 10.231.0.2:6379,
#    with `faultline inject delay 10ms --protocol tcp --port 6379`: the added
#    latency; and how many connections the proxy saw from that unchanged
#    client (a proxy only faults clients pointed at it).
# 5. Crash of the injector: kill -9 of faultline during `delay 10ms` on 6379,
#    then a request from the unchanged client (p50 back to baseline?) and
#    which of the BPF links and programs it held (its fds) still exist; kill -9 of the proxy's listener, then a
#    client pointed at it (connection refused?).
#
# Output: "name value unit" lines, '#' comments, then a summary table.
# Usage: bench/compare.sh [BUILD]   (root; needs BUILD/faultline,
#   BUILD/fl-traffic, iperf3, jq, socat, redis-server, python3, ip, nsenter)
# Environment: FL_CMP_TIME_LIMIT (180: seconds for the whole script; parts
#   that would not fit are left out and said so), FL_CMP_ROUNDS (5),
#   FL_CMP_TCP_S (4), FL_CMP_REQS (3000), FL_CMP_UDP_S (3: seconds per delay
#   case), FL_CMP_LOSS_N (20000: packets per port per loss case).
# Everything it creates (namespaces, veth, processes, temporary files) is
# removed on exit, failure and SIGINT/SIGTERM; processes are ended by PID.
# shellcheck disable=SC2015 # "A && B || die": die whenever A or B fails
set -u

BUILD=${1:-build}
LIMIT=${FL_CMP_TIME_LIMIT:-180}
ROUNDS=${FL_CMP_ROUNDS:-5}
TCP_S=${FL_CMP_TCP_S:-4}
REQS=${FL_CMP_REQS:-3000}
UDP_S=${FL_CMP_UDP_S:-3}
LOSS_N=${FL_CMP_LOSS_N:-20000}

NS_A=flc-a-$$
NS_B=flc-b-$$
ADDR_A=10.231.0.1
ADDR_B=10.231.0.2
HERE=$(cd "$(dirname "$0")" && pwd)
REQLAT=$HERE/../tests/tools/reqlat.py

die() {
	echo "bench/compare.sh: $*" >&2
	exit 1
}
note() { echo "# compare: $*"; }

for n in LIMIT ROUNDS TCP_S REQS UDP_S LOSS_N; do
	case ${!n} in '' | *[!0-9]*) die "$n must be a number" ;; esac
done
[ "$ROUNDS" -ge 1 ] && [ "$TCP_S" -ge 1 ] && [ "$UDP_S" -ge 1 ] && [ "$REQS" -ge 10 ] &&
	[ "$LOSS_N" -ge 100 ] && [ "$LOSS_N" -le 200000 ] || die "bad durations or counts"
[ "$(id -u)" -eq 0 ] || die "needs root (namespaces, BPF)"
for t in iperf3 jq ip nsenter timeout awk socat redis-server python3; do
	command -v "$t" >/dev/null || die "$t not found"
done
[ -r "$REQLAT" ] || die "no $REQLAT"
FL=$(realpath -e "$BUILD/faultline" 2>/dev/null) || die "no $BUILD/faultline (make)"
TRAFFIC=$(realpath -e "$BUILD/fl-traffic" 2>/dev/null) || die "no $BUILD/fl-traffic (make tools)"
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

START=$SECONDS
WORK=$(mktemp -d /tmp/fl-bench-compare.XXXXXX) || die "mktemp failed"
PIDS=() # every background process, by pid
fl_pid=
NAME=bench/compare.sh
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
cleanup() { bench_cleanup $?; }
trap cleanup EXIT
trap 'echo "bench/compare.sh: interrupted" >&2; exit 130' INT TERM
bench_watchdog
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- the network -------------------------------------------------------------
ip netns add "$NS_A" || die "ip netns add $NS_A failed"
ip netns add "$NS_B" || die "ip netns add $NS_B failed"
ip link add ca netns "$NS_A" type veth peer name cb netns "$NS_B" || die "creating the veth pair failed"
ip -n "$NS_A" addr add "$ADDR_A/24" dev ca &&
	ip -n "$NS_B" addr add "$ADDR_B/24" dev cb &&
	ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up &&
	ip -n "$NS_A" link set ca up && ip -n "$NS_B" link set cb up ||
	die "configuring the veth pair failed"
IN_A=(nsenter --net="/run/netns/$NS_A")
FL_DEV=ca # fl_start's device (bench/lib.sh)
IN_B=(nsenter --net="/run/netns/$NS_B")

# wait_listen NS_ARRAY_NAME PORT PID: until something listens on PORT (5 s)
wait_listen() {
	local i
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q . && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
# CPU time of PID and its reaped children (socat forks one per connection), ns
cpu_ns() { awk -v hz="$HZ" '{ printf "%.0f\n", ($14 + $15 + $16 + $17) * 1e9 / hz }' "/proc/$1/stat"; }

cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n1)
note "$(date -u '+%F %T') UTC; veth between two netns, $(nproc) CPUs (${cpu:-?}), kernel $(uname -r)"
note "faultline $("$FL" --version 2>/dev/null | head -n1); $(socat -V 2>/dev/null | awk '/socat version/ { print "socat " $3 }');" \
	"iperf3 $(iperf3 --version | awk 'NR == 1 { print $2 }'); redis $(redis-server --version | awk '{ print $3 }')"

# ---- 0: what else could be measured here --------------------------------------------
# tc netem on the veth (removed again at once; the namespace goes at exit anyway)
if netem_err=$(ip netns exec "$NS_A" tc qdisc add dev ca root netem delay 10ms 2>&1); then
	ip netns exec "$NS_A" tc qdisc del dev ca root 2>/dev/null
	note "tc netem: available on this kernel (not measured by this script)"
	echo "netem_available 1"
else
	note "tc netem: not available on this kernel: tc said: ${netem_err//$'\n'/ }"
	echo "netem_available 0"
fi
for t in toxiproxy-server toxiproxy-cli go; do
	command -v "$t" >/dev/null && note "$t: found at $(command -v "$t") (not used)" || note "$t: not installed"
done

# ---- 1: delay accuracy -----------------------------------------------------------
# udp_phase COUNT RATE: COUNT packets to each of 7777 and 7778 at RATE pkt/s
# in total, sender pinned to CPU 0; receiver JSON in $WORK/recv.json
udp_phase() {
	local rpid
	rm -f "$WORK/ready"
	"${IN_B[@]}" "$TRAFFIC" recv --port 7777,7778 --idle 500 --max-time 20 --ready "$WORK/ready" \
		>"$WORK/recv.json" 2>"$WORK/recv.err" &
	rpid=$!
	PIDS+=("$rpid")
	wait_file "$WORK/ready" 5 "$rpid" || die "fl-traffic recv not ready: $(cat "$WORK/recv.err")"
	timeout 60 "${IN_A[@]}" taskset -c 0 "$TRAFFIC" send --to "$ADDR_B" --port 7777,7778 \
		--count "$1" --rate "$2" >"$WORK/send.json" 2>"$WORK/send.err" ||
		die "fl-traffic send failed: $(cat "$WORK/send.err")"
	wait "$rpid" || die "fl-traffic recv failed: $(cat "$WORK/recv.err")"
}
rj() { jq -r "$1" "$WORK/recv.json"; }

# cases: label | faultline arguments | asked p50 ms | asked p99 ms
DELAY_CASES=(
	"10ms|delay 10ms|10|10"
	"50ms|delay 50ms|50|50"
	"10ms_2ms_uniform|delay 10ms 2ms|10|11.96"
	"50ms_10ms_normal|delay 50ms 10ms --distribution normal|50|73.26"
)
declare -A R # every figure kept for the summary
if fits $((${#DELAY_CASES[@]} * (UDP_S + 3) + 5)); then
	note "delay: UDP 1000 pkt/s to 7777 (targeted) and 1000 pkt/s to 7778 (untargeted), ${UDP_S}s per case," \
		"faultline on ca egress; added at pX = 7777's pX - 7778's p50 (the path's own latency)"
	for c in "${DELAY_CASES[@]}"; do
		IFS='|' read -r label args a50 a99 <<<"$c"
		# shellcheck disable=SC2086 # the fault's words
		fl_start $args --protocol udp --port 7777
		udp_phase $((1000 * UDP_S)) 2000
		fl_stop
		for p in 50 99; do
			m=$(rj "(.\"7777\".lat_p${p}_ns - .\"7778\".lat_p50_ns) / 1e6")
			R[delay_${label}_p${p}]=$m
			a=$a50
			[ "$p" = 99 ] && a=$a99
			R[delay_${label}_asked_p${p}]=$a
			fig "delay_${label}_added_p${p}_ms" "$m" ms %.3f
			fig "delay_${label}_err_p${p}_ms" "$(awk -v m="$m" -v a="$a" 'BEGIN { print m - a }')" ms %+.3f
		done
		R[delay_${label}_lost]=$(($(jq -r .sent "$WORK/send.json") / 2 - $(rj '."7777".received')))
		R[delay_${label}_ref_p99]=$(rj '."7778".lat_p99_ns / 1000')
		fig "delay_${label}_untargeted_p99_us" "${R[delay_${label}_ref_p99]}" us %.1f
		note "delay $label: sent $(jq -r .sent "$WORK/send.json") (both ports), received 7777 $(rj '."7777".received')," \
			"7778 $(rj '."7778".received'); 7778 (untargeted) p50/p99 $(rj '."7778" | [.lat_p50_ns, .lat_p99_ns] | map(. / 1000 | floor) | join("/")') us;" \
			"delayed $(ctr delayed), overflow $(ctr delay_overflow), limit-dropped $(ctr delay_limit_dropped)," \
			"late mean/max $(ctr delay_late_mean_ns | awk '{ printf "%.1f", $1 / 1000 }')/$(ctr delay_late_max_ns | awk '{ printf "%.1f", $1 / 1000 }') us"
	done
else
	note "time limit ${LIMIT}s: delay part left out"
fi

# ---- 2: loss accuracy --------------------------------------------------------------
# label | faultline arguments | kind: random PCT, or ge P R (percent)
LOSS_CASES=(
	"1pct|loss 1%|random 1"
	"10pct|loss 10%|random 10"
	"50pct|loss 50%|random 50"
	"gemodel_1pct_30pct|loss gemodel 1% 30%|ge 1 30"
)
LOSS_RATE=40000
if fits $((${#LOSS_CASES[@]} * (LOSS_N * 2 / LOSS_RATE + 3) + 5)); then
	note "loss: $LOSS_N packets to 7777 (targeted) and $LOSS_N to 7778 (untargeted), interleaved, $LOSS_RATE pkt/s in total"
	for c in "${LOSS_CASES[@]}"; do
		IFS='|' read -r label args kind <<<"$c"
		# shellcheck disable=SC2086
		fl_start $args --protocol udp --port 7777
		udp_phase "$LOSS_N" "$LOSS_RATE"
		fl_stop
		got=$(rj '."7777".received')
		ref=$(rj '."7778".received')
		lost=$((LOSS_N - got))
		R[loss_${label}_pct]=$(awk -v l="$lost" -v n="$LOSS_N" 'BEGIN { printf "%.3f", 100 * l / n }')
		R[loss_${label}_ref_lost]=$((LOSS_N - ref))
		fig "loss_${label}_measured_pct" "${R[loss_${label}_pct]}" % %.3f
		fig "loss_${label}_untargeted_lost" "$((LOSS_N - ref))" pkts %d
		read -r -a kv <<<"$kind"
		set -- "${kv[@]}"
		if [ "$1" = random ]; then
			R[loss_${label}_asked]=$2
			iv=$(awk -v n="$LOSS_N" -v p="$2" -v d="$lost" 'BEGIN { p /= 100; m = n * p; sd = sqrt(n * p * (1 - p));
				printf "%.3f-%.3f %s", 100 * (m - 3.29 * sd) / n, 100 * (m + 3.29 * sd) / n, (d >= m - 3.29 * sd && d <= m + 3.29 * sd) ? "yes" : "no" }')
			R[loss_${label}_interval]=${iv% *}
			R[loss_${label}_inside]=${iv##* }
			note "loss $label: asked $2%, lost $lost of $LOSS_N; 99.9% binomial interval ${iv% *}%, inside: ${iv##* };" \
				"faultline counted matched $(ctr matched) dropped $(ctr dropped)"
		else
			R[loss_${label}_asked]=$(awk -v p="$2" -v r="$3" 'BEGIN { printf "%.3f", 100 * p / (p + r) }')
			runs=$(rj '."7777".loss_runs')
			R[loss_${label}_burst]=$(awk -v l="$(rj '."7777".lost')" -v r="$runs" 'BEGIN { printf "%.2f", r ? l / r : 0 }')
			R[loss_${label}_burst_asked]=$(awk -v r="$3" 'BEGIN { printf "%.2f", 100 / r }')
			fig "loss_${label}_mean_burst" "${R[loss_${label}_burst]}" pkts %.2f
			note "loss $label: stationary loss asked P/(P+R) = ${R[loss_${label}_asked]}%, measured ${R[loss_${label}_pct]}%;" \
				"mean burst asked 1/R = ${R[loss_${label}_burst_asked]}, measured ${R[loss_${label}_burst]} ($runs runs)"
		fi
	done
else
	note "time limit ${LIMIT}s: loss part left out"
fi

# ---- servers and the proxy ------------------------------------------------------------
"${IN_B[@]}" iperf3 -s -B "$ADDR_B" -p 5201 >"$WORK/iperf3_s.log" 2>&1 &
iperf_srv=$!
PIDS+=("$iperf_srv")
"${IN_B[@]}" redis-server --port 6379 --bind "$ADDR_B" --save '' --appendonly no --daemonize no \
	--protected-mode no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
redis_srv=$!
PIDS+=("$redis_srv")
# the proxy: what Toxiproxy is without its toxics - a user-space process
# that accepts the client's connection and opens its own to the upstream
start_proxy() { # LOCAL_PORT UPSTREAM_PORT LOG
	"${IN_A[@]}" socat -d -d "TCP-LISTEN:$1,bind=127.0.0.1,fork,reuseaddr" "TCP:$ADDR_B:$2" >"$3" 2>&1 &
	PIDS+=("$!")
	echo "$!"
}
px_tcp=$(start_proxy 15201 5201 "$WORK/px_tcp.log")
px_redis=$(start_proxy 16379 6379 "$WORK/px_redis.log")
wait_listen "$NS_B" 5201 "$iperf_srv" || die "iperf3 -s not listening: $(cat "$WORK/iperf3_s.log")"
wait_listen "$NS_B" 6379 "$redis_srv" || die "redis-server not listening: $(cat "$WORK/redis.log")"
wait_listen "$NS_A" 15201 "$px_tcp" || die "socat (iperf3) not listening: $(cat "$WORK/px_tcp.log")"
wait_listen "$NS_A" 16379 "$px_redis" || die "socat (redis) not listening: $(cat "$WORK/px_redis.log")"
accepted() { grep -c "accepting connection" "$1"; }

# tcp_run OUT HOST PORT: iperf3 TCP for TCP_S s, Gbit/s
tcp_run() {
	timeout $((TCP_S + 20)) "${IN_A[@]}" iperf3 -c "$2" -p "$3" -t "$TCP_S" -J >"$1" 2>"$WORK/tcp.err" ||
		die "iperf3 to $2:$3 failed: $(jq -r '.error // empty' "$1" 2>/dev/null) $(cat "$WORK/tcp.err")"
	jq -er '.end.sum_received.bits_per_second / 1e9' "$1" || die "no throughput in iperf3's output"
}
# req_run OUT HOST PORT [N]: redis PINGs over one connection; p50 and p99, us
req_run() {
	timeout 60 "${IN_A[@]}" python3 "$REQLAT" --proto redis --host "$2" --port "$3" -n "${4:-$REQS}" \
		--warmup 20 --max-time 50 >"$1" 2>"$WORK/req.err" || die "reqlat to $2:$3 failed: $(cat "$WORK/req.err")"
	jq -r '"\(.p50_ns / 1000) \(.p99_ns / 1000)"' "$1"
}

# ---- 3: cost: none / faultline untargeted / proxy, in rounds ---------------------------
CASES=(none fl proxy)
declare -A T P50 P99 CPU
ROUND_S=$((3 * (TCP_S + 4)))
done_rounds=0
if fits $((ROUND_S + 25)); then
	TCP_S_SAVED=$TCP_S
	TCP_S=1
	tcp_run "$WORK/warm.json" "$ADDR_B" 5201 >/dev/null
	TCP_S=$TCP_S_SAVED
	for ((r = 0; r < ROUNDS; r++)); do
		fits $((ROUND_S + 20)) || {
			note "time limit ${LIMIT}s: rounds $((r + 1))-$ROUNDS left out"
			break
		}
		for ((k = 0; k < 3; k++)); do
			c=${CASES[$(((r + k) % 3))]}
			host=$ADDR_B tport=5201 rport=6379
			case $c in
			fl) fl_start delay 10ms --protocol tcp --port 9999 ;;
			proxy)
				host=127.0.0.1 tport=15201 rport=16379
				c0=$(cpu_ns "$px_tcp")
				;;
			esac
			T[$c,$r]=$(tcp_run "$WORK/tcp_${c}_$r.json" "$host" "$tport")
			[ "$c" = proxy ] && sleep 0.3 # socat reaps its per-connection children
			[ "$c" = proxy ] && CPU[$r]=$(awk -v a="$c0" -v b="$(cpu_ns "$px_tcp")" \
				-v s="$(jq -r .end.sum_received.seconds "$WORK/tcp_${c}_$r.json")" 'BEGIN { print 100 * (b - a) / 1e9 / s }')
			read -r "P50[$c,$r]" "P99[$c,$r]" < <(req_run "$WORK/req_${c}_$r.json" "$host" "$rport")
			if [ "$c" = fl ]; then
				fl_stop
				[ "$(ctr matched)" = 0 ] || die "the untargeted rule matched $(ctr matched) packets"
			fi
			note "round $((r + 1)) $c: TCP ${T[$c,$r]} Gbit/s, retransmits $(jq -r .end.sum_sent.retransmits "$WORK/tcp_${c}_$r.json");" \
				"redis PING p50/p99 ${P50[$c,$r]}/${P99[$c,$r]} us"
		done
		note "round $((r + 1)) proxy: socat (listener and its per-connection children) used ${CPU[$r]}% of a CPU during iperf3"
		done_rounds=$((r + 1))
	done
else
	note "time limit ${LIMIT}s: cost part left out"
fi
# per-case medians, and per-round ratios against that round's none
if [ "$done_rounds" -gt 0 ]; then
	for c in "${CASES[@]}"; do
		vals='' rt='' r50='' r99='' v50='' v99=''
		for ((r = 0; r < done_rounds; r++)); do
			vals+=" ${T[$c,$r]}" v50+=" ${P50[$c,$r]}" v99+=" ${P99[$c,$r]}"
			rt+=" $(awk -v a="${T[$c,$r]}" -v b="${T[none,$r]}" 'BEGIN { print a / b }')"
			r50+=" $(awk -v a="${P50[$c,$r]}" -v b="${P50[none,$r]}" 'BEGIN { print a / b }')"
			r99+=" $(awk -v a="${P99[$c,$r]}" -v b="${P99[none,$r]}" 'BEGIN { print a / b }')"
		done
		echo "# cost_${c}_tcp_gbps rounds:$vals"
		echo "# cost_${c}_req_p50_us rounds:$v50"
		R[$c,t]=$(median <<<"$vals") R[$c,tr]=$(median <<<"$rt")
		R[$c,p50]=$(median <<<"$v50") R[$c,p50r]=$(median <<<"$r50")
		R[$c,p99]=$(median <<<"$v99") R[$c,p99r]=$(median <<<"$r99")
		fig "cost_${c}_tcp_gbps" "${R[$c,t]}" gbit/s %.2f
		fig "cost_${c}_req_p50_us" "${R[$c,p50]}" us %.1f
		fig "cost_${c}_req_p99_us" "${R[$c,p99]}" us %.1f
		if [ "$c" != none ]; then
			fig "cost_${c}_tcp_ratio" "${R[$c,tr]}" x %.3f
			fig "cost_${c}_req_p50_ratio" "${R[$c,p50r]}" x %.3f
			fig "cost_${c}_req_p99_ratio" "${R[$c,p99r]}" x %.3f
		fi
	done
	cv=
	for ((r = 0; r < done_rounds; r++)); do cv+=" ${CPU[$r]}"; done
	R[proxy,cpu]=$(median <<<"$cv")
	fig cost_proxy_cpu_pct "${R[proxy,cpu]}" % %.1f
fi

# ---- 4: no client change ------------------------------------------------------------
if fits 25; then
	a0=$(accepted "$WORK/px_redis.log")
	read -r b50 _ < <(req_run "$WORK/nc_base.json" "$ADDR_B" 6379 500)
	fl_start delay 10ms --protocol tcp --port 6379
	read -r d50 _ < <(req_run "$WORK/nc_fl.json" "$ADDR_B" 6379 200)
	fl_stop
	a1=$(accepted "$WORK/px_redis.log")
	R[nc_added]=$(awk -v a="$d50" -v b="$b50" 'BEGIN { printf "%.3f", (a - b) / 1000 }')
	R[nc_proxy_seen]=$((a1 - a0))
	fig noclientchange_faultline_added_p50_ms "${R[nc_added]}" ms %.3f
	fig noclientchange_proxy_connections_seen "${R[nc_proxy_seen]}" "" %d
	note "no client change: redis client on $ADDR_B:6379 throughout; p50 $b50 us without, $d50 us with faultline delay 10ms" \
		"(requests delayed on ca egress, $(ctr delayed) packets delayed); the proxy on 127.0.0.1:16379 accepted" \
		"$((a1 - a0)) connections from that client meanwhile: a proxy faults only clients re-pointed at it"
else
	note "time limit ${LIMIT}s: no-client-change part left out"
fi

# ---- 5: crash of the injector ----------------------------------------------------------
if fits 20; then
	fl_start delay 10ms --protocol tcp --port 6379
	read -r k50 _ < <(req_run "$WORK/k_during.json" "$ADDR_B" 6379 50)
	# the BPF links and programs this faultline holds, from its fds
	links=$(cat /proc/"$fl_pid"/fdinfo/* 2>/dev/null | awk '$1 == "link_id:" { print $2 }' | sort -u)
	progs=$(cat /proc/"$fl_pid"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -u)
	kill -KILL "$fl_pid"
	wait "$fl_pid" 2>/dev/null
	fl_pid=
	read -r a50 _ < <(req_run "$WORK/k_after.json" "$ADDR_B" 6379 200)
	left=0
	for id in $links; do bpftool link show id "$id" >/dev/null 2>&1 && left=$((left + 1)); done
	lp=0
	for id in $progs; do bpftool prog show id "$id" >/dev/null 2>&1 && lp=$((lp + 1)); done
	note "kill -9: faultline held $(wc -w <<<"$links") BPF links and $(wc -w <<<"$progs") programs; after it was reaped:" \
		"$left links and $lp programs of those ids still exist"
	left=$((left + lp))
	R[k_during]=$k50 R[k_after]=$a50 R[k_left]=$left
	fig crash_faultline_p50_during_us "$k50" us %.1f
	fig crash_faultline_p50_after_kill9_us "$a50" us %.1f
	fig crash_faultline_links_and_programs_left "$left" "" %d
	note "kill -9 of faultline during delay 10ms: the same client's p50 ${k50} us before, ${a50} us right after;" \
		"its BPF links and programs still present: $left"
	# the proxy: kill -9 its listener, then a client pointed at it
	kill -KILL "$px_redis"
	wait "$px_redis" 2>/dev/null
	if timeout 10 "${IN_A[@]}" python3 "$REQLAT" --proto redis --host 127.0.0.1 --port 16379 -n 5 \
		>/dev/null 2>"$WORK/k_px.err"; then
		R[k_px]="requests still served"
	else
		R[k_px]=$(grep . "$WORK/k_px.err" | tail -n1 | sed 's/^reqlat: //')
	fi
	note "kill -9 of the proxy (socat listener): a client pointed at it: ${R[k_px]}"
	echo "crash_proxy_client_result ${R[k_px]// /_}"
else
	note "time limit ${LIMIT}s: crash part left out"
fi

# ---- summary --------------------------------------------------------------------------
echo
echo "# ===== summary (bench/compare.sh, $((SECONDS - START)) s) ====="
if [ -n "${R[delay_10ms_p50]:-}" ]; then
	echo "# delay accuracy (faultline; added = targeted pX - untargeted p50, same seconds; last column: untargeted p99)"
	printf '# %-38s %9s %9s %9s %9s %10s\n' "asked" "p50 asked" "p50 got" "p99 asked" "p99 got" "other p99"
	for c in "${DELAY_CASES[@]}"; do
		IFS='|' read -r label args _ _ <<<"$c"
		[ -n "${R[delay_${label}_p50]:-}" ] || continue
		printf '# %-38s %9s %9.3f %9s %9.3f %7.3f ms\n' "$args" "${R[delay_${label}_asked_p50]}" "${R[delay_${label}_p50]}" \
			"${R[delay_${label}_asked_p99]}" "${R[delay_${label}_p99]}" "$(awk -v u="${R[delay_${label}_ref_p99]}" 'BEGIN { print u / 1000 }')"
	done
fi
if [ -n "${R[loss_1pct_pct]:-}" ]; then
	echo "# loss accuracy (faultline; $LOSS_N packets per case; untargeted port's losses in the last column)"
	printf '# %-26s %9s %9s %-22s %s\n' "asked" "asked %" "got %" "99.9% interval, inside" "untargeted lost"
	for c in "${LOSS_CASES[@]}"; do
		IFS='|' read -r label args _ <<<"$c"
		[ -n "${R[loss_${label}_pct]:-}" ] || continue
		extra="${R[loss_${label}_interval]:-} ${R[loss_${label}_inside]:-}"
		[ -n "${R[loss_${label}_burst]:-}" ] && extra="burst ${R[loss_${label}_burst]} (asked ${R[loss_${label}_burst_asked]})"
		printf '# %-26s %9s %9s %-22s %s\n' "$args" "${R[loss_${label}_asked]}" "${R[loss_${label}_pct]}" "$extra" "${R[loss_${label}_ref_lost]}"
	done
fi
if [ "$done_rounds" -gt 0 ]; then
	echo "# cost ($done_rounds rounds, medians; ratio = case / none of the same round, median)"
	printf '# %-40s %10s %7s %12s %7s %12s %7s\n' "case" "TCP Gbit/s" "ratio" "PING p50 us" "ratio" "PING p99 us" "ratio"
	for c in "${CASES[@]}"; do
		case $c in
		none) d="direct, no program (baseline)" ;;
		fl) d="direct, faultline rule not matching" ;;
		proxy) d="through socat proxy, no fault" ;;
		esac
		printf '# %-40s %10.2f %7.3f %12.1f %7.3f %12.1f %7.3f\n' "$d" "${R[$c,t]}" "${R[$c,tr]}" \
			"${R[$c,p50]}" "${R[$c,p50r]}" "${R[$c,p99]}" "${R[$c,p99r]}"
	done
	echo "# socat's CPU during iperf3: ${R[proxy,cpu]}% of one CPU"
fi
[ -n "${R[nc_added]:-}" ] && echo "# unchanged client, faultline delay 10ms: +${R[nc_added]} ms at p50; proxy saw ${R[nc_proxy_seen]} of its connections"
[ -n "${R[k_after]:-}" ] && echo "# kill -9: faultline -> same client p50 ${R[k_during]} us -> ${R[k_after]} us, ${R[k_left]} of its BPF links/programs left; proxy -> ${R[k_px]}"
note "done in $((SECONDS - START))s"
