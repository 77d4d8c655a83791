#!/usr/bin/env bats
# delay on egress: the copy-out + re-inject delay line (docs/delay.md),
# measured per packet against the same traffic without faultline.

load ../lib/common

setup() { fl_setup_netns; }
teardown() { fl_teardown_netns; }

# lat_phase COUNT RATE: COUNT packets to each of 7777 and 7778 from A to B,
# RATE packets/s in total; prints the receiver's JSON.
lat_phase() {
	udp_phase a 10.200.0.2 7777,7778 "$1" "$2"
}

# lat PORT FIELD JSON
lat() { jq -r ".\"$1\".$2" <<<"$3"; }

stop_inject() {
	kill -TERM "$FL_INJECT_PID"
	fl_wait_exit "$FL_INJECT_PID" 5
	[ "$FL_EXIT" -eq 0 ]
}

# The hypervisor's steal time (/proc/stat, all CPUs) since steal_mark: a
# vCPU stopped by the host is a clock no program on it can keep, faultline's
# delay line included. steal_ms: milliseconds stolen; steal_pct: in percent
# of all CPU time.
steal_mark() {
	local u n s i w q sq st
	read -r _ u n s i w q sq st _ < <(grep '^cpu ' /proc/stat)
	STEAL0=$st TOTAL0=$((u + n + s + i + w + q + sq + st))
}
steal_pct() {
	local u n s i w q sq st
	read -r _ u n s i w q sq st _ < <(grep '^cpu ' /proc/stat)
	awk -v a=$((st - STEAL0)) -v b=$((u + n + s + i + w + q + sq + st - TOTAL0)) 'BEGIN { printf "%.1f", b ? 100 * a / b : 0 }'
}
steal_ms() {
	local st
	read -r _ _ _ _ _ _ _ _ st _ < <(grep '^cpu ' /proc/stat)
	echo $(((st - STEAL0) * 1000 / $(getconf CLK_TCK)))
}

# An attempt counts as quiet when the host stole less than FL_QUIET_STEAL_MS
# (default 50) of CPU time during it. The figure comes from the bounds, not
# from a percentage: the tests send 1 packet/ms to the delayed port, so a
# vCPU stalled for about 50 ms in all makes 50 packets late by more than a
# millisecond: 1% of 5 000, the whole p99 bound of check_delay, and for the
# jitter tests (10 000 packets) about 6% of the standard deviation. (The old
# rule, steal < 2% of all CPU time, let 100 ms through in a 5 s attempt on 2
# vCPUs: twice what takes the bound, and a CI run failed on an attempt with
# 1.2% = 120 ms stolen.)

# judge_attempt OK: after an attempt; sets FL_DONE when it passed, counts
# attempts that missed while the host was quiet in FL_QUIET_MISS
judge_attempt() {
	local ms pct
	ms=$(steal_ms) pct=$(steal_pct)
	if [ "$1" -eq 0 ]; then
		FL_DONE=1
		return
	fi
	echo "  missed; hypervisor steal during the attempt: ${ms} ms (${pct}% of the CPU time)"
	[ "$ms" -lt "${FL_QUIET_STEAL_MS:-50}" ] && FL_QUIET_MISS=$((FL_QUIET_MISS + 1))
	return 0
}

# after_attempts: every attempt missed: fail if one did on a quiet host,
# else skip, saying the host's steal made precision unmeasurable
after_attempts() {
	[ "${FL_DONE:-0}" -eq 1 ] && return 0
	[ "$FL_QUIET_MISS" -eq 0 ] || return 1
	if kill -0 "$FL_INJECT_PID" 2>/dev/null; then stop_inject; fi
	assert_no_residue
	skip "the hypervisor stole ${FL_QUIET_STEAL_MS:-50} ms or more of CPU time in every attempt: precision not measurable now"
}

# check_delay DELAY_NS ARG N [DIR]: N packets to each of 7777 (delayed) and
# 7778 (not) at 1 000 pkt/s each; the error of a percentile is the delayed
# port's latency minus the delay minus the same percentile of the untargeted
# port in the same seconds (the path's own latency, VM noise included).
# Bounds: p50 error < 100 us, p99 error < 1 ms, and the untargeted port's
# p99 within 100 us of its p99 in a run without faultline.
# This VM stalls a vCPU for milliseconds now and then (a plain SCHED_FIFO
# timer loop sees p99.9 0.4-1.5 ms here, docs/delay.md): a measurement is
# repeated, at most 5 times, when it misses a bound; every attempt is
# printed with the hypervisor's steal time during it. All 5 missing fails
# the test if any missed on a quiet host (less than 50 ms stolen, see
# judge_attempt); when the host stole more in every one, the test is skipped
# and says so.
check_delay() {
	local d=$1 arg=$2 n=$3 dir=${4:-egress} base out attempt from=a to=10.200.0.2
	[ "$dir" = ingress ] && from=b to=10.200.0.1
	base=$(udp_phase $from $to 7777,7778 "$n" 2000)
	# timing is the release build's (the sanitizer build's allocator adds
	# millisecond stalls now and then; the other tests run it)
	FL_INJECT_BIN=${FAULTLINE_RELEASE:-$FAULTLINE} \
		fl_inject_bg delay "$arg" --dev va --direction "$dir" --protocol udp --port 7777 --json
	FL_DONE=0 FL_QUIET_MISS=0
	for attempt in 1 2 3 4 5; do
		steal_mark
		out=$(udp_phase $from $to 7777,7778 "$n" 2000)
		[ "$(lat 7777 received "$out")" -eq "$n" ]
		[ "$(lat 7778 received "$out")" -eq "$n" ]
		local ok=0
		awk -v d="$d" -v a="$attempt" \
			-v p50="$(lat 7777 lat_p50_ns "$out")" -v p99="$(lat 7777 lat_p99_ns "$out")" \
			-v p999="$(lat 7777 lat_p999_ns "$out")" -v mx="$(lat 7777 lat_max_ns "$out")" \
			-v u50="$(lat 7778 lat_p50_ns "$out")" -v u99="$(lat 7778 lat_p99_ns "$out")" \
			-v ub99="$(lat 7778 lat_p99_ns "$base")" 'BEGIN {
			e50 = p50 - d - u50; e99 = p99 - d - u99
			printf "%s delay %.3f ms, attempt %d: delayed p50 %.1f p99 %.1f p99.9 %.1f max %.1f us; untargeted p50 %.1f p99 %.1f (without faultline %.1f) us\n", dir, d / 1e6, a, p50 / 1e3, p99 / 1e3, p999 / 1e3, mx / 1e3, u50 / 1e3, u99 / 1e3, ub99 / 1e3
			printf "  error p50 %+.1f us, p99 %+.1f us\n", e50 / 1e3, e99 / 1e3
			exit !(e50 > -100000 && e50 < 100000 && e99 > -1000000 && e99 < 1000000 && u99 < ub99 + 100000) }' dir="$dir" || ok=1
		judge_attempt $ok
		[ "$FL_DONE" -eq 1 ] && break
	done
	after_attempts
	stop_inject
	local summary="$BATS_TEST_TMPDIR/inject.out"
	[ "$(jq -r .counters.delayed "$summary")" -eq $((n * attempt)) ]
	[ "$(jq -r .counters.delay_released "$summary")" -eq $((n * attempt)) ]
	[ "$(jq -r .counters.delay_overflow "$summary")" -eq 0 ]
	jq -c '.counters | {delay_late_mean_ns, delay_late_max_ns, delay_held_max}' "$summary"
	assert_no_residue
}

@test "udp_delay_10ms_at_1kpps_p50_p99_error_and_untargeted_port_undelayed" {
	check_delay 10000000 10ms 5000
}

@test "udp_delay_1ms_and_100ms_at_1kpps" {
	check_delay 1000000 1ms 5000
	check_delay 100000000 100ms 5000
}

@test "ingress_udp_delay_10ms_as_egress_does" {
	check_delay 10000000 10ms 5000 ingress
}

# jitter DIST: delay 20ms 5ms with DIST over 10 000 packets at 2 000 pkt/s;
# measured mean and standard deviation within 10% of what was asked
# (uniform: netem's +-JITTER, standard deviation JITTER/sqrt(3)).
jitter_shape() {
	local dist=$1 out attempt
	fl_inject_bg delay 20ms 5ms --distribution "$dist" --limit 5000 --dev va --protocol udp \
		--port 7777
	FL_DONE=0 FL_QUIET_MISS=0
	for attempt in 1 2 3; do
		steal_mark
		out=$(udp_phase a 10.200.0.2 7777 10000 2000)
		[ "$(lat 7777 received "$out")" -eq 10000 ]
		local ok=0
		awk -v dist="$dist" -v m="$(lat 7777 lat_mean_ns "$out")" -v sd="$(lat 7777 lat_std_ns "$out")" \
			-v p50="$(lat 7777 lat_p50_ns "$out")" -v ro="$(lat 7777 reordered "$out")" 'BEGIN {
			want_sd = dist == "uniform" ? 5e6 / sqrt(3) : 5e6
			printf "%s: mean %.3f ms (want 20), std %.3f ms (want %.3f), median %.3f ms, %d arrived out of order\n", dist, m / 1e6, sd / 1e6, want_sd / 1e6, p50 / 1e6, ro
			exit !(m > 18e6 && m < 22e6 && sd > 0.9 * want_sd && sd < 1.1 * want_sd) }' || ok=1
		judge_attempt $ok
		[ "$FL_DONE" -eq 1 ] && break
	done
	after_attempts
	stop_inject
}

@test "jitter_uniform_and_normal_have_the_asked_mean_and_std" {
	jitter_shape uniform
	jitter_shape normal
}

@test "jitter_pareto_and_paretonormal_have_the_asked_mean_and_std" {
	jitter_shape pareto
	jitter_shape paretonormal
}

@test "delay_correlation_raises_the_lag1_autocorrelation" {
	local out0 out9 attempt
	FL_DONE=0 FL_QUIET_MISS=0
	for attempt in 1 2 3; do
		steal_mark
		# the correlation memory is per CPU (docs/delay.md): one sending CPU
		fl_inject_bg delay 20ms 5ms --dev va --protocol udp --port 7777
		out0=$(FL_SEND_CPU=0 udp_phase a 10.200.0.2 7777 5000 1000)
		stop_inject
		fl_inject_bg delay 20ms 5ms 90% --dev va --protocol udp --port 7777
		out9=$(FL_SEND_CPU=0 udp_phase a 10.200.0.2 7777 5000 1000)
		local ok=0
		awk -v r0="$(lat 7777 lat_ac1 "$out0")" -v r9="$(lat 7777 lat_ac1 "$out9")" 'BEGIN {
			printf "lag-1 autocorrelation of the delays: %.3f without correlation, %.3f with 90%%\n", r0, r9
			exit !(r0 > -0.1 && r0 < 0.1 && r9 > 0.8 && r9 < 0.97) }' || ok=1
		judge_attempt $ok
		[ "$FL_DONE" -eq 1 ] && break
		stop_inject
	done
	after_attempts
	stop_inject
}

@test "reorder_25pct_sends_a_binomial_share_ahead" {
	local out n=10000
	fl_inject_bg delay 10ms reorder 25% --dev va --protocol udp --port 7777 --json
	out=$(udp_phase a 10.200.0.2 7777 $n 2000)
	stop_inject
	[ "$(lat 7777 received "$out")" -eq $n ]
	local re
	re=$(jq -r .counters.reordered "$BATS_TEST_TMPDIR/inject.out")
	within_binomial "$re" $n 25
	# the receiver sees them: out of order, and undelayed (latency < 1 ms)
	echo "receiver: $(lat 7777 reordered "$out") packets arrived after a later-sent one"
	[ "$(lat 7777 reordered "$out")" -gt $((re / 2)) ]
	[ "$(lat 7777 lat_min_ns "$out")" -lt 1000000 ]
}

# ping_pcts ADDR: 1 000 echo requests at 1 000/s, each round trip timed by
# tests/tools/icmplat.py (ping's own output has 0.1 ms resolution at 10 ms);
# prints "p50 p99" in ns.
ping_pcts() {
	local out
	out=$(ns_a python3 "$BATS_TEST_DIRNAME/../tools/icmplat.py" "$1" --count 1000 --rate 1000)
	[ "$(jq -r .received <<<"$out")" -ge 990 ] || return 1
	jq -r '"\(.p50_ns) \(.p99_ns)"' <<<"$out"
}

# check_icmp DELAY_NS ARG ADDR: per-packet RTT error against ping without
# faultline (same bounds and retries as check_delay; ICMP echo requests
# delayed on egress, the replies not).
check_icmp() {
	local d=$1 arg=$2 addr=$3 base got attempt
	base=$(ping_pcts "$addr")
	FL_INJECT_BIN=${FAULTLINE_RELEASE:-$FAULTLINE} fl_inject_bg delay "$arg" --dev va --protocol icmp
	FL_DONE=0 FL_QUIET_MISS=0
	for attempt in 1 2 3 4 5; do
		steal_mark
		got=$(ping_pcts "$addr")
		local ok=0
		awk -v d="$d" -v b="$base" -v g="$got" -v a="$attempt" -v addr="$addr" 'BEGIN {
			split(b, B, " "); split(g, G, " "); e50 = G[1] - d - B[1]; e99 = G[2] - d - B[2]
			printf "ping %s, delay %.3f ms, attempt %d: rtt p50 %.1f p99 %.1f us (without: %.1f, %.1f); error p50 %+.1f us, p99 %+.1f us\n", addr, d / 1e6, a, G[1] / 1e3, G[2] / 1e3, B[1] / 1e3, B[2] / 1e3, e50 / 1e3, e99 / 1e3
			exit !(e50 > -100000 && e50 < 100000 && e99 > -1000000 && e99 < 1000000) }' || ok=1
		judge_attempt $ok
		[ "$FL_DONE" -eq 1 ] && break
	done
	after_attempts
	stop_inject
}

@test "icmp_rtt_per_packet_grows_by_1ms_10ms_100ms_ipv4_and_ipv6" {
	check_icmp 1000000 1ms 10.200.0.2
	check_icmp 10000000 10ms 10.200.0.2
	check_icmp 100000000 100ms 10.200.0.2
	check_icmp 10000000 10ms fd00:200::2
	assert_no_residue
}

@test "tcp_through_delay_10ms_iperf3_and_a_request_complete" {
	# (3>&-: a server left running must not hold bats' output open)
	ns_b iperf3 -s -1 -p 5201 >/dev/null 2>&1 3>&- &
	FL_PIDS+=($!)
	ns_b /usr/bin/python3 -m http.server 8080 --bind 10.200.0.2 >/dev/null 2>&1 3>&- &
	FL_PIDS+=($!)
	sleep 0.5
	fl_inject_bg delay 10ms --dev va --protocol tcp --port 5201,8080 --json
	out=$(ns_a iperf3 -c 10.200.0.2 -p 5201 -t 5 -J)
	mbps=$(jq '.end.sum_received.bits_per_second / 1e6' <<<"$out")
	retr=$(jq '.end.sum_sent.retransmits' <<<"$out")
	rtt=$(ns_a curl -s -o /dev/null -w '%{time_total}' http://10.200.0.2:8080/)
	stop_inject
	echo "iperf3 through delay 10ms: ${mbps} Mbit/s, ${retr} retransmits; curl took ${rtt}s"
	awk -v m="$mbps" 'BEGIN { exit !(m > 100) }'
	# a request needs at least two round trips (handshake, request): >= 20 ms
	awk -v t="$rtt" 'BEGIN { exit !(t >= 0.020 && t < 2) }'
	jq -c .counters "$BATS_TEST_TMPDIR/inject.out"
	# (ip netns exec forks: the servers are not the PIDs recorded above)
	kill $(ip netns pids "$FL_NS_B") 2>/dev/null || true
	[ "$(jq -r .counters.delay_send_errors "$BATS_TEST_TMPDIR/inject.out")" -eq 0 ]
	assert_no_residue
}

@test "delay_combines_with_loss_and_duplicate" {
	local out n=5000
	fl_inject_bg delay 20ms loss 10% duplicate 5% --dev va --protocol udp --port 7777 --json
	out=$(udp_phase a 10.200.0.2 7777 $n 2000)
	stop_inject
	local dropped dup
	dropped=$(jq -r .counters.dropped "$BATS_TEST_TMPDIR/inject.out")
	dup=$(jq -r .counters.duplicated "$BATS_TEST_TMPDIR/inject.out")
	within_binomial "$dropped" $n 10
	# what was not lost arrived, 20 ms late, and the duplicates too
	[ "$(lat 7777 received "$out")" -eq $((n - dropped + dup)) ]
	[ "$(lat 7777 dup "$out")" -eq "$dup" ]
	awk -v p50="$(lat 7777 lat_p50_ns "$out")" 'BEGIN {
		printf "p50 latency %.3f ms with delay 20ms\n", p50 / 1e6
		exit !(p50 > 20e6 && p50 < 21e6) }'
}

@test "delay_and_reorder_input_errors_name_the_field" {
	run "$FAULTLINE" inject delay 10ms 20x --dev lo
	[ "$status" -eq 2 ]
	run "$FAULTLINE" inject delay --dev lo
	[ "$status" -eq 2 ]
	run "$FAULTLINE" inject delay 10ms --limit 0 --dev lo
	[ "$status" -eq 2 ]
	[[ "$output" == *"--limit"* ]]
	run "$FAULTLINE" inject delay 10ms 1ms --distribution gauss --dev lo
	[ "$status" -eq 2 ]
	[[ "$output" == *"--distribution"*"expected uniform, normal, pareto or paretonormal"* ]]
	run "$FAULTLINE" inject delay 10ms --distribution normal --dev lo
	[ "$status" -eq 2 ]
	[[ "$output" == *"JITTER"* ]]
	run "$FAULTLINE" inject delay 10ms 1ms 25% 3 --dev lo
	[ "$status" -eq 2 ]
	[[ "$output" == *"too many values"* ]]
	run "$FAULTLINE" inject reorder 25% --dev lo
	[ "$status" -eq 2 ]
	[[ "$output" == *"reorder"*"nothing is delayed"* ]]
	run "$FAULTLINE" inject delay 10ms reorder 25% --gap 0 --dev lo
	[ "$status" -eq 2 ]
	[[ "$output" == *"--gap"* ]]
	run "$FAULTLINE" inject delay 10ms reorder 125% --dev lo
	[ "$status" -eq 2 ]
}

@test "kill9_during_100ms_delay_new_packets_undelayed_within_10ms" {
	FL_INJECT_BIN=${FAULTLINE_RELEASE:-$FAULTLINE} fl_inject_bg delay 100ms --limit 5000 \
		--dev va --protocol udp --port 7777
	local ready="$BATS_TEST_TMPDIR/ready" out="$BATS_TEST_TMPDIR/stream"
	ns_b "$FL_TRAFFIC" recv --port 7777 --idle 500 --max-time 10 --ready "$ready" >"$out" &
	local rpid=$!
	FL_PIDS+=("$rpid")
	for i in $(seq 1 100); do [ -e "$ready" ] && break; sleep 0.02; done
	ns_a "$FL_TRAFFIC" send --to 10.200.0.2 --port 7777 --count 10000 --rate 5000 >/dev/null &
	local spid=$!
	FL_PIDS+=("$spid")
	sleep 0.8
	t_kill=$("$FL_TRAFFIC" kill "$FL_INJECT_PID")
	wait "$spid"
	wait "$rpid"
	# the frames held at the kill (100 ms worth) are lost with the process;
	# the first packet after that gap is the first the kernel let pass
	gap_end=$(jq -r '."7777".gap_end_ns' "$out")
	gap_ms=$(jq -r '."7777".max_gap_ns / 1e6' "$out")
	recovery_us=$(((gap_end - t_kill) / 1000))
	echo "lost $(jq -r '."7777".lost' "$out") packets in $(jq -r '."7777".loss_runs' "$out") run(s), the longest a gap of ${gap_ms} ms of sending; first undelayed packet sent ${recovery_us} us after kill -9"
	[ "$recovery_us" -ge 0 ]
	[ "$recovery_us" -lt 10000 ]
	assert_no_residue
}
