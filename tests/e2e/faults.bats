#!/usr/bin/env bats
# Packet faults: each measured against what was asked, on real traffic.

load ../lib/common

setup() { fl_setup_netns; }
teardown() { fl_teardown_netns; }

# stream N packets A -> B:7777 (payload SIZE bytes) and print the receiver JSON
stream() {
	local n=$1 size=${2:-64} rate=${3:-50000}
	local ready="$BATS_TEST_TMPDIR/ready.$RANDOM" out="$BATS_TEST_TMPDIR/stream.$RANDOM"
	ns_b "$FL_TRAFFIC" recv --port 7777 --idle 500 --max-time 10 --ready "$ready" >"$out" &
	local rpid=$!
	FL_PIDS+=("$rpid")
	for i in $(seq 1 100); do [ -e "$ready" ] && break; sleep 0.02; done
	ns_a "$FL_TRAFFIC" send --to 10.200.0.2 --port 7777 --count "$n" --size "$size" --rate "$rate" >/dev/null
	wait "$rpid"
	jq -c '."7777"' "$out"
}

stop_inject() {
	kill -TERM "$FL_INJECT_PID"
	fl_wait_exit "$FL_INJECT_PID" 5
	[ "$FL_EXIT" -eq 0 ]
}

@test "loss_10pct_over_100k_packets_within_binomial_bound" {
	fl_inject_bg loss 10% --dev va --protocol udp --port 7777
	s=$(stream 100000)
	within_binomial $((100000 - $(jq .received <<<"$s"))) 100000 10
}

@test "gemodel_mean_burst_length_within_5pct_of_the_model" {
	# p = 5%, r = 20%, 1-h = 100%, 1-k = 0: bursts are geometric, mean 1/r = 5
	fl_inject_bg loss gemodel 5% 20% 100% 0% --dev va --protocol udp --port 7777
	s=$(stream 100000)
	lost=$(jq .lost <<<"$s")
	runs=$(jq .loss_runs <<<"$s")
	awk -v l="$lost" -v r="$runs" 'BEGIN {
		m = l / r; printf "lost %d in %d bursts: mean burst %.3f (model 5)\n", l, r, m
		exit !(m >= 4.75 && m <= 5.25) }'
	# and the loss rate is the model's stationary one, p / (p + r) = 20%
	awk -v l="$lost" 'BEGIN { exit !(l / 100000 > 0.18 && l / 100000 < 0.22) }'
}

@test "correlated_loss_has_netems_rate_and_burst_length" {
	fl_inject_bg loss 30% --correlation 50% --dev va --protocol udp --port 7777
	s=$(stream 100000)
	# netem's get_crandom() simulated: next = (1 - rho) * U + rho * last.
	# (netem's correlation lowers the loss rate too: 13% here, not 30%; the
	# model's sd over 100k packets is 1.3% of the rate, 0.7% of the burst)
	awk -v l="$(jq .lost <<<"$s")" -v r="$(jq .loss_runs <<<"$s")" 'BEGIN {
		srand(1); last = 0; lost = 0; runs = 0; prev = 0
		for (i = 0; i < 2000000; i++) {
			v = 0.5 * rand() + 0.5 * last; last = v
			x = v < 0.3; lost += x; if (x && !prev) runs++; prev = x
		}
		mrate = lost / 2000000; mburst = lost / runs
		printf "measured: rate %.4f, mean burst %.3f; model: rate %.4f, mean burst %.3f (independent: 0.3, 1.43)\n", l / 100000, l / r, mrate, mburst
		exit !(l / r > 0.95 * mburst && l / r < 1.05 * mburst && l / 100000 > 0.95 * mrate && l / 100000 < 1.05 * mrate) }'
}

@test "duplicate_rate_within_binomial_bound" {
	fl_inject_bg duplicate 10% --dev va --protocol udp --port 7777 --json
	s=$(stream 20000)
	stop_inject
	dup=$(jq .dup <<<"$s")
	[ "$(jq .received <<<"$s")" -eq $((20000 + dup)) ]
	within_binomial "$dup" 20000 10
	[ "$(jq .counters.duplicated "$BATS_TEST_TMPDIR/inject.out")" -eq "$dup" ]
}

@test "corrupt_payload_reaches_the_application_with_valid_checksums" {
	fl_inject_bg corrupt 10% --payload --dev va --protocol udp --port 7777 --json
	s=$(stream 20000 200)
	stop_inject
	# nothing lost: the checksums stayed valid
	[ "$(jq .received <<<"$s")" -eq 20000 ]
	echo "faultline corrupted $(jq .counters.corrupted "$BATS_TEST_TMPDIR/inject.out"), receiver saw $(jq .corrupt <<<"$s")"
	# the receiver saw exactly the packets faultline corrupted
	bad=$(jq .corrupt <<<"$s")
	[ "$(jq .counters.corrupted "$BATS_TEST_TMPDIR/inject.out")" -eq "$bad" ]
	within_binomial "$bad" 20000 10
}

@test "corrupt_flips_bits_at_the_asked_rate" {
	fl_inject_bg corrupt 10% --dev va --protocol udp --port 7777 --json
	s=$(stream 20000 200)
	stop_inject
	corrupted=$(jq .counters.corrupted "$BATS_TEST_TMPDIR/inject.out")
	within_binomial "$corrupted" 20000 10
	# every corrupted packet was either refused by the receiver's stack or
	# arrived with a wrong byte (a flip that lands on a byte nobody checks,
	# like an IP TOS bit, is neither)
	seen=$(( $(jq .corrupt <<<"$s") + 20000 - $(jq .received <<<"$s") ))
	echo "corrupted $corrupted, seen by the receiver $seen"
	[ "$seen" -le "$corrupted" ]
	[ "$seen" -ge $((corrupted * 8 / 10)) ]
}

# rate_within_5pct RATE_MBIT SEND_MBIT: iperf3 UDP through the policer
rate_within_5pct() {
	local mbit=$1 send=$2 port=5201
	fl_inject_bg rate "${mbit}mbit" --dev va --protocol udp --port $port
	ns_b iperf3 -s -1 -p $port >/dev/null 2>&1 &
	local spid=$!
	FL_PIDS+=("$spid")
	sleep 0.5
	run ns_a iperf3 -c 10.200.0.2 -p $port -u -b "${send}M" -l 1400 -t 5 -J
	[ "$status" -eq 0 ]
	wait "$spid" || true
	# iperf3 counts UDP payload; the policer counts frames: 1400 + 42 bytes
	got=$(jq '.end.sum.bytes * 8 * (1442 / 1400) / .end.sum.seconds' <<<"$output")
	got_rx=$(jq '(.end.sum.packets - .end.sum.lost_packets) * 1442 * 8 / .end.sum.seconds' <<<"$output")
	awk -v g="$got_rx" -v m="$mbit" 'BEGIN {
		printf "asked %s mbit/s, delivered %.3f mbit/s (frames), ratio %.4f\n", m, g / 1e6, g / (m * 1e6)
		exit !(g >= 0.95 * m * 1e6 && g <= 1.05 * m * 1e6) }'
	: "$got"
}

@test "rate_1mbit_within_5pct" {
	rate_within_5pct 1 3
}

@test "rate_10mbit_within_5pct" {
	rate_within_5pct 10 20
}

@test "rate_100mbit_within_5pct" {
	rate_within_5pct 100 200
}

@test "blackhole_both_directions_partitions_the_host" {
	fl_inject_bg blackhole --host 10.200.0.2 --direction both
	run ns_a ping -c 3 -i 0.1 -W 1 10.200.0.2
	assert_output --partial "100% packet loss"
	run ns_b ping -c 3 -i 0.1 -W 1 10.200.0.1
	assert_output --partial "100% packet loss"
	# another address of the same peer is not partitioned
	ip -n "$FL_NS_B" addr add 10.200.0.3/24 dev vb
	run ns_a ping -c 3 -i 0.1 -W 1 10.200.0.3
	assert_output --partial " 0% packet loss"
}

@test "several_faults_in_one_inject_each_act" {
	fl_inject_bg loss 5% duplicate 5% corrupt 5% --payload --dev va --protocol udp --port 7777 --json
	s=$(stream 20000 200)
	stop_inject
	c="$BATS_TEST_TMPDIR/inject.out"
	within_binomial "$(jq .counters.dropped "$c")" 20000 5
	# duplicate and corrupt see only the packets that loss let through
	passed=$((20000 - $(jq .counters.dropped "$c")))
	within_binomial "$(jq .counters.duplicated "$c")" "$passed" 5
	within_binomial "$(jq .counters.corrupted "$c")" "$passed" 5
}
