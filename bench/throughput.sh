#!/usr/bin/env bash
# Throughput of untargeted traffic (DESIGN.md section 9: "within 2% of no
# program"): iperf3 between two network namespaces joined by a veth pair,
# with no program, with faultline holding 1 and 64 rules that do not match
# the flow, and with nftables holding 64 equivalent drop rules, as ratios to
# no program measured in the same rounds.
#
#   sender   netns flb-snd-<pid>  flb0 10.210.0.1/24  (iperf3 client)
#   receiver netns flb-rcv-<pid>  flb1 10.210.0.2/24  (iperf3 server)
#
# Cases (the rules of bench/hold_rules.c; nft: the same 64 rules as a netdev
# chain, one nft rule per faultline rule):
#   none        no program
#   fl1         faultline, 1 rule, on the sender's flb0 egress
#   fl64        faultline, 64 rules, on the sender's flb0 egress
#   nft64       nftables netdev egress chain on flb0, 64 rules
#   fl64_in     faultline, 64 rules, on the receiver's flb1 ingress
#   nft64_in    nftables netdev ingress chain on flb1, 64 rules
# Every case runs TCP (iperf3 -t TCP_S, the receiver's bits/s); the egress
# cases also run UDP with 64-byte payloads at full speed (-u -b 0 -l 64, the
# datagrams the sender got out per second): TCP over veth moves 64 KB GSO
# packets, so the per-packet cost shows more in the UDP figure.
# ROUNDS rounds, each running every case once, starting from a different case
# each round; a figure is the median over the rounds, a ratio the median of
# the per-round ratios (both sides measured within the same round).
# Then the real-path phase: one run each of UDP with 0, 1 and 64 rules and TCP
# with 0 and 64 rules, with the kernel's BPF run-time statistics on
# (hold_rules -s), gives the classifier's own mean time per packet in this
# traffic and the share of one CPU it took: the per-packet cost in the real
# stack, which the throughput figures of this noisy VM cannot resolve. (The
# statistics read the clock around every run of every BPF program on the
# host, which adds to these figures; no throughput is measured with them on.)
#
# Output: "name value unit" lines, '#' comments (with every round's values).
# Usage: bench/throughput.sh [BUILD]   (root; needs iperf3, jq, nft, ip)
# Environment: FL_BENCH_ROUNDS (3), FL_BENCH_TCP_SECONDS (5),
#   FL_BENCH_UDP_SECONDS (3), FL_BENCH_TIME_LIMIT (170: seconds for the whole
#   script; rounds that would not fit are left out, and said so).
# Everything it creates (namespaces, veth, nft tables, processes, temporary
# files) is removed on exit, failure and signals included.
# shellcheck disable=SC2015 # "A && B || die": die whenever A or B fails
set -u

BUILD=${1:-build}
ROUNDS=${FL_BENCH_ROUNDS:-3}
TCP_S=${FL_BENCH_TCP_SECONDS:-5}
UDP_S=${FL_BENCH_UDP_SECONDS:-3}
LIMIT=${FL_BENCH_TIME_LIMIT:-170}
NRULES=64
FLOW_PORT=5201 # iperf3's, and the port the kind-0 rules name

NS_S=flb-snd-$$
NS_R=flb-rcv-$$
DEV_S=flb0
DEV_R=flb1
ADDR_S=10.210.0.1
ADDR_R=10.210.0.2

die() {
	echo "bench/throughput.sh: $*" >&2
	exit 1
}

for n in ROUNDS TCP_S UDP_S LIMIT; do
	case ${!n} in '' | *[!0-9]*) die "$n must be a number" ;; esac
done
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 99 ] || die "FL_BENCH_ROUNDS: 1..99"
[ "$TCP_S" -ge 1 ] && [ "$UDP_S" -ge 1 ] || die "durations must be >= 1 s"
[ "$(id -u)" -eq 0 ] || die "needs root (namespaces, BPF, nftables)"
for t in iperf3 jq nft ip timeout; do
	command -v "$t" >/dev/null || die "$t not found (make deps installs it)"
done
HOLD=$(realpath -e "$BUILD/bench/hold_rules" 2>/dev/null) || die "no $BUILD/bench/hold_rules (make bench builds it)"

START=$SECONDS
WORK=$(mktemp -d /tmp/fl-bench-tput.XXXXXX) || die "mktemp failed"
PIDS=()  # the iperf3 server
fl_pid= # the rule holder (bench/hold_rules), ended by kill_fl
NAME=bench/throughput.sh
NS_A=$NS_S NS_B=$NS_R # bench_cleanup removes both
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
cleanup() { bench_cleanup $?; }
trap cleanup EXIT
trap 'echo "bench/throughput.sh: interrupted" >&2; exit 130' INT TERM
bench_watchdog

# ---- the network ----------------------------------------------------------
ip netns add "$NS_S" || die "ip netns add $NS_S failed"
ip netns add "$NS_R" || die "ip netns add $NS_R failed"
ip link add "$DEV_S" netns "$NS_S" type veth peer name "$DEV_R" netns "$NS_R" ||
	die "creating the veth pair failed"
ip -n "$NS_S" addr add "$ADDR_S/24" dev "$DEV_S" &&
	ip -n "$NS_R" addr add "$ADDR_R/24" dev "$DEV_R" &&
	ip -n "$NS_S" link set lo up && ip -n "$NS_R" link set lo up &&
	ip -n "$NS_S" link set "$DEV_S" up && ip -n "$NS_R" link set "$DEV_R" up ||
	die "configuring the veth pair failed"

# client on CPU 0, server on CPU 1 when there are two: fewer migrations
PIN=()
# shellcheck disable=SC2054 # "0,1" is one argument of -A
[ "$(nproc)" -ge 2 ] && PIN=(-A 0,1)

ip netns exec "$NS_R" iperf3 -s -B "$ADDR_R" -p "$FLOW_PORT" >"$WORK/server.log" 2>&1 &
srv_pid=$!
PIDS+=("$srv_pid")
for ((i = 0; i < 50; i++)); do
	ip netns exec "$NS_R" ss -Hltn "sport = :$FLOW_PORT" 2>/dev/null | grep -q . && break
	kill -0 "$srv_pid" 2>/dev/null || die "iperf3 server exited: $(cat "$WORK/server.log")"
	sleep 0.1
done
[ "$i" -lt 50 ] || die "iperf3 server not listening after 5 s"

# ---- the rule sets ----------------------------------------------------------
# nftables twin of hold_rules' rules: rule i of kind i % 4, expressions in the
# classifier's order (protocol, port, address). faultline's port matches
# either side of the flow; the nft rules test the destination port only (the
# one iperf3's data packets carry), one rule each: nft does no more work than
# a strict equivalent, which would need two rules per port.
# $1: egress (sender, remote = destination) or ingress (receiver, remote =
# source); $2 device.
nft_ruleset() {
	local hook=$1 dev=$2 raddr=daddr i
	[ "$hook" = ingress ] && raddr=saddr
	echo "table netdev fl_bench {"
	echo "  chain c { type filter hook $hook device \"$dev\" priority 0; policy accept;"
	for ((i = 0; i < NRULES; i++)); do
		case $((i % 4)) in
		0) echo "    meta l4proto { tcp, udp } th dport $FLOW_PORT ip $raddr 10.211.$i.0/24 drop" ;;
		1) echo "    meta l4proto tcp ip $raddr 10.212.$i.0/24 drop" ;;
		2) echo "    tcp dport $((9000 + i)) drop" ;;
		3) echo "    udp dport $((9000 + i)) drop" ;;
		esac
	done
	echo "  }"
	echo "}"
}
nft_ruleset egress "$DEV_S" >"$WORK/nft_egress.nft"
nft_ruleset ingress "$DEV_R" >"$WORK/nft_ingress.nft"

ATTACH_MODE=
# $1 netns, $2 device, $3 rules, $4 direction; HOLD_FLAGS: hold_rules options
start_hold() {
	local i
	: >"$WORK/hold.out"
	# shellcheck disable=SC2086 # HOLD_FLAGS: zero or more words
	ip netns exec "$1" "$HOLD" ${HOLD_FLAGS:-} "$2" "$3" "$4" $((LIMIT + 30)) \
		>"$WORK/hold.out" 2>"$WORK/hold.err" &
	fl_pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -qx ready "$WORK/hold.out" && break
		kill -0 "$fl_pid" 2>/dev/null || break
		sleep 0.05
	done
	grep -qx ready "$WORK/hold.out" || die "hold_rules $2 $3 $4 not ready: $(cat "$WORK/hold.err")"
	ATTACH_MODE=$(sed -n 's/.*(\(.*\))$/\1/p' "$WORK/hold.err" | head -n1)
}

# The holder must still be alive, exit 0 and report that no packet matched.
stop_hold() {
	kill -0 "$fl_pid" 2>/dev/null || die "hold_rules died during the run: $(cat "$WORK/hold.err")"
	kill_fl
	local rc=$?
	[ "$rc" -eq 0 ] || die "hold_rules exited $rc: $(cat "$WORK/hold.err") $(cat "$WORK/hold.out")"
	grep -qx "matched 0" "$WORK/hold.out" ||
		die "a faultline rule matched the benchmark flow: $(cat "$WORK/hold.out")"
}

# $1 netns, $2 egress|ingress
start_nft() {
	timeout 20 ip netns exec "$1" nft -f "$WORK/nft_$2.nft" || die "nft -f (netdev $2) failed"
	[ "$(ip netns exec "$1" nft -a list chain netdev fl_bench c | grep -c ' drop # handle')" -eq $NRULES ] ||
		die "nft: expected $NRULES rules in netdev fl_bench"
}
stop_nft() {
	timeout 20 ip netns exec "$1" nft delete table netdev fl_bench || die "nft delete table failed"
}

case_setup() {
	case $1 in
	none) ;;
	fl1) start_hold "$NS_S" "$DEV_S" 1 egress ;;
	fl64) start_hold "$NS_S" "$DEV_S" $NRULES egress ;;
	nft64) start_nft "$NS_S" egress ;;
	fl64_in) start_hold "$NS_R" "$DEV_R" $NRULES ingress ;;
	nft64_in) start_nft "$NS_R" ingress ;;
	esac
}
case_teardown() {
	case $1 in
	none) ;;
	fl*) stop_hold ;;
	nft64) stop_nft "$NS_S" ;;
	nft64_in) stop_nft "$NS_R" ;;
	esac
}

# ---- measurements -----------------------------------------------------------
# $1 seconds. Gbit/s received by the server; the JSON stays in $WORK/tcp.json
run_tcp() {
	timeout $(($1 + 20)) ip netns exec "$NS_S" iperf3 -c "$ADDR_R" -p "$FLOW_PORT" "${PIN[@]}" \
		-t "$1" -J >"$WORK/tcp.json" 2>"$WORK/tcp.err" ||
		die "iperf3 TCP failed: $(jq -r '.error // empty' "$WORK/tcp.json" 2>/dev/null) $(cat "$WORK/tcp.err")"
	jq -er '.end.sum_received.bits_per_second / 1e9' "$WORK/tcp.json" ||
		die "no end.sum_received.bits_per_second in iperf3's output"
}

# $1 seconds. Thousands of 64-byte datagrams per second the client sent
run_udp() {
	timeout $(($1 + 20)) ip netns exec "$NS_S" iperf3 -c "$ADDR_R" -p "$FLOW_PORT" "${PIN[@]}" \
		-u -b 0 -l 64 -t "$1" -J >"$WORK/udp.json" 2>"$WORK/udp.err" ||
		die "iperf3 UDP failed: $(jq -r '.error // empty' "$WORK/udp.json" 2>/dev/null) $(cat "$WORK/udp.err")"
	jq -er '(.end.sum_sent // .end.sum) | select(.seconds > 0) | .packets / .seconds / 1000' \
		"$WORK/udp.json" || die "no packet count in iperf3's UDP output"
}

CASES=(none fl1 fl64 nft64 fl64_in nft64_in)
declare -A TCP UDP
udp_case() { case $1 in none | fl1 | fl64 | nft64) return 0 ;; esac; return 1; }

# The real-path phase (after the rounds): the classifier's own time per
# packet in this traffic, from the kernel's BPF run-time statistics
# (hold_rules -s), UDP 0/1/64 rules and TCP 0/64 rules, STATS_S seconds each.
STATS_S=2
STATS_RUNS=("udp 0" "udp 1" "udp 64" "tcp 0" "tcp 64")
stats_budget=$((${#STATS_RUNS[@]} * (STATS_S + 2)))

# warm-up, not counted: the first run after the namespaces appear is off
run_tcp 2 >/dev/null
budget_round=$((${#CASES[@]} * (TCP_S + 2) + 4 * (UDP_S + 1)))
done_rounds=0
# shellcheck disable=SC2034 # TCP and UDP are read through values()' nameref
for ((r = 0; r < ROUNDS; r++)); do
	if [ $((SECONDS - START + budget_round + stats_budget)) -gt "$LIMIT" ]; then
		echo "# throughput: time limit ${LIMIT}s: $done_rounds of $ROUNDS rounds"
		break
	fi
	round_start=$SECONDS
	for ((k = 0; k < ${#CASES[@]}; k++)); do
		c=${CASES[(r + k) % ${#CASES[@]}]}
		case_setup "$c"
		TCP[$c,$r]=$(run_tcp "$TCP_S") || exit 1
		if udp_case "$c"; then
			UDP[$c,$r]=$(run_udp "$UDP_S") || exit 1
		fi
		case_teardown "$c"
	done
	done_rounds=$((r + 1))
	# a measured round is a better estimate than the formula
	budget_round=$((SECONDS - round_start + 1))
done
[ "$done_rounds" -ge 1 ] || die "no round fits in ${LIMIT}s"

# real path: per-packet ns and the share of one CPU the program took
declare -A PATH_NS PATH_PCT
PATH_NOTES=
if [ $((SECONDS - START + stats_budget)) -le "$LIMIT" ]; then
	for run in "${STATS_RUNS[@]}"; do
		read -r proto n <<<"$run"
		HOLD_FLAGS=-s start_hold "$NS_S" "$DEV_S" "$n" egress
		if [ "$proto" = udp ]; then
			run_udp "$STATS_S" >/dev/null || exit 1
			secs=$(jq -r '(.end.sum_sent // .end.sum).seconds' "$WORK/udp.json")
		else
			run_tcp "$STATS_S" >/dev/null || exit 1
			secs=$(jq -r '.end.sum_sent.seconds' "$WORK/tcp.json")
		fi
		stop_hold
		cnt=$(awk '$1 == "run_cnt" { print $2 }' "$WORK/hold.out")
		ns=$(awk '$1 == "run_time_ns" { print $2 }' "$WORK/hold.out")
		[ -n "$cnt" ] && [ "$cnt" -gt 0 ] && [ -n "$ns" ] || die "hold_rules -s: no run-time statistics"
		PATH_NS[$proto,$n]=$(awk -v t="$ns" -v c="$cnt" 'BEGIN { print t / c }')
		PATH_PCT[$proto,$n]=$(awk -v t="$ns" -v s="$secs" 'BEGIN { print 100 * t / (s * 1e9) }')
		PATH_NOTES+="# real path $proto $n rules: run_cnt $cnt run_time_ns $ns over ${secs}s"$'\n'
	done
else
	echo "# throughput: time limit ${LIMIT}s: real-path phase left out"
fi

# ---- figures -----------------------------------------------------------------
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# values of $2 ("TCP" or "UDP") for case $1 over the rounds
values() {
	local -n arr=$2
	local r
	for ((r = 0; r < done_rounds; r++)); do printf '%s ' "${arr[$1,$r]}"; done
}
# $2[$1,r] / $2[$3,r] for every round r
ratios() {
	local -n arr=$2
	local r
	for ((r = 0; r < done_rounds; r++)); do
		awk -v a="${arr[$1,$r]}" -v b="${arr[$3,$r]}" 'BEGIN { printf "%.3f ", a / b }'
	done
}
# name, case, array, reference case: the median of the per-round ratios, and
# the ratios themselves as a comment
ratio_fig() {
	local v
	v=$(ratios "$2" "$3" "$4")
	echo "# $1 rounds: $v"
	# shellcheck disable=SC2086 # one word per round
	fig "$1" "$(median $v)" x %.3f
}

echo "# throughput: veth between two netns, iperf3 $(iperf3 --version | awk 'NR == 1 { print $2 }'), $done_rounds rounds," \
	"TCP ${TCP_S}s, UDP 64 B ${UDP_S}s, faultline attach ${ATTACH_MODE:-?}, nft netdev, ${NRULES} rules"
declare -A NAME=([none]=none [fl1]=faultline_1_rules [fl64]=faultline_64_rules
	[nft64]=nft_64_rules [fl64_in]=faultline_64_rules_ingress [nft64_in]=nft_64_rules_ingress)
for c in "${CASES[@]}"; do
	echo "# tput_${NAME[$c]}_gbps rounds: $(values "$c" TCP)"
	# shellcheck disable=SC2046
	fig "tput_${NAME[$c]}_gbps" "$(median $(values "$c" TCP))" gbit/s %.2f
done
for c in fl1 fl64 nft64 fl64_in nft64_in; do
	ratio_fig "tput_${NAME[$c]}_ratio" "$c" TCP none
done
ratio_fig faultline_over_nft_64_ratio fl64 TCP nft64
ratio_fig faultline_over_nft_64_ingress_ratio fl64_in TCP nft64_in
for c in none fl1 fl64 nft64; do
	echo "# udp64_${NAME[$c]}_kpps rounds: $(values "$c" UDP)"
	# shellcheck disable=SC2046
	fig "udp64_${NAME[$c]}_kpps" "$(median $(values "$c" UDP))" kpps %.1f
done
for c in fl1 fl64 nft64; do
	ratio_fig "udp64_${NAME[$c]}_ratio" "$c" UDP none
done
ratio_fig udp64_faultline_over_nft_64_ratio fl64 UDP nft64
printf '%s' "$PATH_NOTES"
for run in "${STATS_RUNS[@]}"; do
	read -r proto n <<<"$run"
	[ -n "${PATH_NS[$proto,$n]:-}" ] || continue
	name=real_path_${proto/udp/udp64}_${n}_rules
	fig "${name}_ns" "${PATH_NS[$proto,$n]}" ns %.1f
	fig "${name}_cpu_pct" "${PATH_PCT[$proto,$n]}" % %.2f
done
echo "# throughput: $((SECONDS - START))s"
