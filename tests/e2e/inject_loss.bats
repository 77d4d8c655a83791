#!/usr/bin/env bats
# faultline inject loss: precise, targeted, and never outliving its process.

load ../lib/common

setup() { fl_setup_netns; }
teardown() { fl_teardown_netns; }

# Run loss PCT on udp/7777 egress, send N to 7777 and 7778, stop with
# SIGTERM; check the drop count is inside the binomial bound, 7778 untouched,
# and the counters agree with what the receiver saw.
check_loss_rate() {
	local pct=$1 n=$2
	fl_inject_bg loss "$pct%" --dev va --protocol udp --port 7777 --json
	local out
	out=$(udp_phase a 10.200.0.2 7777,7778 "$n" 50000)
	kill -TERM "$FL_INJECT_PID"
	fl_wait_exit "$FL_INJECT_PID" 5
	[ "$FL_EXIT" -eq 0 ]
	local got7777 got7778
	got7777=$(received "$out" 7777)
	got7778=$(received "$out" 7778)
	echo "7777 received $got7777 of $n; 7778 received $got7778 of $n"
	[ "$got7778" -eq "$n" ]
	within_binomial $((n - got7777)) "$n" "$pct"
	# the kernel's counters saw exactly what the receiver missed
	local summary="$BATS_TEST_TMPDIR/inject.out"
	[ "$(jq -r .counters.matched "$summary")" -eq "$n" ]
	[ "$(jq -r .counters.dropped "$summary")" -eq $((n - got7777)) ]
	[ "$(jq -r .rolled_back "$summary")" = true ]
	# the loss is silent, as on a wire: no send failed in the sender
	[ "$(udp_sndbuf_errors)" -eq 0 ]
	assert_no_residue
}

# UDP SndbufErrors of namespace A (sends that failed locally).
udp_sndbuf_errors() {
	ns_a awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "SndbufErrors") c = i; h = 1 } else print $c }' /proc/net/snmp
}

@test "loss_30pct_within_binomial_bound_and_other_port_untouched" {
	check_loss_rate 30 20000
}

@test "loss_1pct_within_binomial_bound" {
	check_loss_rate 1 20000
}

@test "loss_100pct_drops_every_targeted_packet" {
	fl_inject_bg loss 100% --dev va --protocol udp --port 7777
	out=$(udp_phase a 10.200.0.2 7777,7778 10000 50000)
	[ "$(received "$out" 7777)" -eq 0 ]
	[ "$(received "$out" 7778)" -eq 10000 ]
}

@test "loss_targets_ipv6_flows_too" {
	fl_inject_bg loss 100% --dev va --protocol udp --port 7777
	out=$(udp_phase a fd00:200::2 7777,7778 2000)
	[ "$(received "$out" 7777)" -eq 0 ]
	[ "$(received "$out" 7778)" -eq 2000 ]
}

@test "egress_fault_leaves_reverse_direction_untouched" {
	fl_inject_bg loss 100% --dev va --protocol udp --port 7777
	out=$(udp_phase b 10.200.0.1 7777 5000)
	[ "$(received "$out" 7777)" -eq 5000 ]
}

@test "ingress_direction_drops_arriving_packets_only" {
	fl_inject_bg loss 100% --dev va --direction ingress --protocol udp --port 7777
	out=$(udp_phase b 10.200.0.1 7777 2000)
	[ "$(received "$out" 7777)" -eq 0 ]
	out=$(udp_phase a 10.200.0.2 7777 2000)
	[ "$(received "$out" 7777)" -eq 2000 ]
}

@test "protocol_filter_spares_other_protocols" {
	fl_inject_bg loss 100% --dev va --protocol tcp --port 7777
	out=$(udp_phase a 10.200.0.2 7777 2000)
	[ "$(received "$out" 7777)" -eq 2000 ]
}

@test "icmp_loss_hits_ping" {
	fl_inject_bg loss 100% --dev va --protocol icmp
	run ns_a ping -c 5 -i 0.05 -W 1 10.200.0.2
	assert_output --partial "100% packet loss"
	run ns_a ping -6 -c 5 -i 0.05 -W 1 fd00:200::2
	assert_output --partial "100% packet loss"
}

@test "fault_expires_after_for_and_exits_0" {
	fl_inject_bg loss 100% --dev va --protocol udp --port 7777 --for 1500ms --json
	out=$(udp_phase a 10.200.0.2 7777 1000)
	[ "$(received "$out" 7777)" -eq 0 ]
	fl_wait_exit "$FL_INJECT_PID" 5
	[ "$FL_EXIT" -eq 0 ]
	[ "$(jq -r .ended "$BATS_TEST_TMPDIR/inject.out")" = expired ]
	out=$(udp_phase a 10.200.0.2 7777 2000)
	[ "$(received "$out" 7777)" -eq 2000 ]
	assert_no_residue
}

@test "ctrl_c_rolls_back_and_exits_130" {
	fl_inject_bg loss 100% --dev va --protocol udp --port 7777
	kill -INT "$FL_INJECT_PID"
	fl_wait_exit "$FL_INJECT_PID" 5
	[ "$FL_EXIT" -eq 130 ]
	grep -q "rolled back" "$BATS_TEST_TMPDIR/inject.out"
	out=$(udp_phase a 10.200.0.2 7777 2000)
	[ "$(received "$out" 7777)" -eq 2000 ]
	assert_no_residue
}

@test "sigstop_fault_ends_within_lease_and_resume_exits_4" {
	fl_inject_bg loss 100% --dev va --protocol udp --port 7777 --lease 1s
	out=$(udp_phase a 10.200.0.2 7777 1000)
	[ "$(received "$out" 7777)" -eq 0 ]
	kill -STOP "$FL_INJECT_PID"
	sleep 1.3
	out=$(udp_phase a 10.200.0.2 7777 5000)
	[ "$(received "$out" 7777)" -eq 5000 ]
	kill -CONT "$FL_INJECT_PID"
	fl_wait_exit "$FL_INJECT_PID" 5
	[ "$FL_EXIT" -eq 4 ]
	grep -q "lease lapsed" "$BATS_TEST_TMPDIR/inject.err"
	assert_no_residue
}

@test "kill9_leaves_no_fault_and_no_residue" {
	# timed on the release build users run: the kernel tears a process's
	# memory down before its files, and an ASan build's huge shadow
	# mappings make that take milliseconds
	FL_INJECT_BIN=${FAULTLINE_RELEASE:-$FAULTLINE} fl_inject_bg loss 100% --dev va --protocol udp --port 7777
	# a continuous stream at 20 kpps; kill -9 in the middle of it
	local ready="$BATS_TEST_TMPDIR/ready" out="$BATS_TEST_TMPDIR/stream"
	ns_b "$FL_TRAFFIC" recv --port 7777 --idle 500 --max-time 10 --ready "$ready" >"$out" &
	local rpid=$!
	FL_PIDS+=("$rpid")
	for i in $(seq 1 100); do [ -e "$ready" ] && break; sleep 0.02; done
	ns_a "$FL_TRAFFIC" send --to 10.200.0.2 --port 7777 --count 40000 --rate 20000 >/dev/null &
	local spid=$!
	FL_PIDS+=("$spid")
	sleep 0.7
	t_kill=$("$FL_TRAFFIC" kill "$FL_INJECT_PID")
	wait "$spid"
	wait "$rpid"
	# the fault dropped everything before the kill: the first packet that got
	# through is the first one the kernel let pass after it
	first=$(jq -r '."7777".first_sent_ns' "$out")
	first_seq=$(jq -r '."7777".first_seq' "$out")
	recovery_us=$(((first - t_kill) / 1000))
	echo "first packet through (seq $first_seq) was sent ${recovery_us} us after kill -9"
	[ "$first_seq" -gt 0 ]
	[ "$recovery_us" -lt 10000 ]
	# and from then on nothing was lost
	[ "$(jq -r '."7777".received' "$out")" -eq $((40000 - first_seq)) ]
	[ "$(jq -r '."7777".max_gap_ns' "$out")" -eq 0 ]
	assert_no_residue
}

@test "device_vanishing_midway_rolls_back_and_exits_4" {
	fl_inject_bg loss 100% --dev va --protocol udp --port 7777
	ip -n "$FL_NS_A" link del va
	fl_wait_exit "$FL_INJECT_PID" 5
	[ "$FL_EXIT" -eq 4 ]
	grep -q "went away" "$BATS_TEST_TMPDIR/inject.err"
	assert_no_residue
}

@test "clsact_fallback_works_and_is_removed_on_stop" {
	fl_inject_bg loss 100% --dev va --protocol udp --port 7777 --attach clsact
	grep -q "clsact" "$BATS_TEST_TMPDIR/inject.err"
	[ -n "$(tc -n "$FL_NS_A" filter show dev va egress)" ]
	out=$(udp_phase a 10.200.0.2 7777 1000)
	[ "$(received "$out" 7777)" -eq 0 ]
	kill -TERM "$FL_INJECT_PID"
	fl_wait_exit "$FL_INJECT_PID" 5
	[ "$FL_EXIT" -eq 0 ]
	assert_no_residue
}

@test "clsact_leftover_of_kill9_goes_inert_after_lease_and_is_removed_at_next_start" {
	fl_inject_bg loss 100% --dev va --protocol udp --port 7777 --attach clsact --lease 1s
	kill -KILL "$FL_INJECT_PID"
	wait "$FL_INJECT_PID" || true
	# the filter outlives its owner (clsact is not fd-owned) and is journaled
	[ -n "$(tc -n "$FL_NS_A" filter show dev va egress)" ]
	[ -n "$(ls -A /run/faultline/journal)" ]
	# ...but its rule's lease makes it inert
	sleep 1.2
	out=$(udp_phase a 10.200.0.2 7777 2000)
	[ "$(received "$out" 7777)" -eq 2000 ]
	# the next faultline start removes it
	run ns_a "$FAULTLINE" inject loss 1% --dev va --for 200ms
	assert_success
	assert_output --partial "removed 1 leftover"
	assert_no_residue
}
