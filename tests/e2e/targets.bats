#!/usr/bin/env bats
# Targeting: a fault touches exactly the flows it names, and nothing else.

load ../lib/common

setup() { fl_setup_netns; }
teardown() {
	fl_teardown_netns
	[ -n "${FL_CG:-}" ] && rmdir "$FL_CG" 2>/dev/null
	return 0
}

@test "ipv6_cidr_without_dev_resolves_the_route_and_spares_ipv4" {
	fl_inject_bg loss 100% --cidr fd00:200::/64 --protocol udp
	grep -q "va" "$BATS_TEST_TMPDIR/inject.err"
	out=$(udp_phase a fd00:200::2 7777 2000)
	[ "$(received "$out" 7777)" -eq 0 ]
	out=$(udp_phase a 10.200.0.2 7777 2000)
	[ "$(received "$out" 7777)" -eq 2000 ]
}

@test "cidr_list_targets_each_prefix_and_no_other_address" {
	ip -n "$FL_NS_B" addr add 10.202.0.2/24 dev vb
	ip -n "$FL_NS_A" route add 10.202.0.0/24 dev va
	fl_inject_bg loss 100% --cidr 10.200.0.0/24,fd00:200::2/128 --protocol udp --dev va
	out=$(udp_phase a 10.200.0.2 7777 1000)
	[ "$(received "$out" 7777)" -eq 0 ]
	out=$(udp_phase a fd00:200::2 7777 1000)
	[ "$(received "$out" 7777)" -eq 0 ]
	out=$(udp_phase a 10.202.0.2 7777 1000)
	[ "$(received "$out" 7777)" -eq 1000 ]
}

@test "host_target_hits_only_that_host" {
	ip -n "$FL_NS_B" addr add 10.200.0.3/24 dev vb
	fl_inject_bg loss 100% --host 10.200.0.3 --protocol udp
	out=$(udp_phase a 10.200.0.3 7777 1000)
	[ "$(received "$out" 7777)" -eq 0 ]
	out=$(udp_phase a 10.200.0.2 7777 1000)
	[ "$(received "$out" 7777)" -eq 1000 ]
}

@test "port_range_hits_its_members_only" {
	fl_inject_bg loss 100% --dev va --protocol udp --port 7000-7010
	out=$(udp_phase a 10.200.0.2 7000,7005,7010,6999,7011 1000)
	for p in 7000 7005 7010; do [ "$(received "$out" $p)" -eq 0 ]; done
	for p in 6999 7011; do [ "$(received "$out" $p)" -eq 1000 ]; done
}

@test "port_list_hits_its_members_only" {
	fl_inject_bg loss 100% --dev va --protocol udp --port 7001,7003,7100-7101
	out=$(udp_phase a 10.200.0.2 7001,7002,7003,7101 1000)
	[ "$(received "$out" 7001)" -eq 0 ]
	[ "$(received "$out" 7002)" -eq 1000 ]
	[ "$(received "$out" 7003)" -eq 0 ]
	[ "$(received "$out" 7101)" -eq 0 ]
}

@test "remote_port_on_egress_and_local_port_on_ingress" {
	fl_inject_bg loss 100% --dev va --direction both --protocol udp --remote-port 7777
	out=$(udp_phase a 10.200.0.2 7777 1000) # A -> B:7777, remote side on egress
	[ "$(received "$out" 7777)" -eq 0 ]
	out=$(udp_phase b 10.200.0.1 7777 1000) # B -> A:7777, 7777 is local on ingress
	[ "$(received "$out" 7777)" -eq 1000 ]
}

@test "local_port_on_ingress_targets_this_hosts_service" {
	fl_inject_bg loss 100% --dev va --direction ingress --protocol udp --local-port 7777
	out=$(udp_phase b 10.200.0.1 7777,7778 1000)
	[ "$(received "$out" 7777)" -eq 0 ]
	[ "$(received "$out" 7778)" -eq 1000 ]
}

@test "share_50pct_of_200_flows_is_binomial_and_all_or_nothing" {
	fl_inject_bg loss 100% --dev va --protocol udp --port 7777 --share 50%
	local ready="$BATS_TEST_TMPDIR/ready" out="$BATS_TEST_TMPDIR/flows"
	ns_b "$FL_TRAFFIC" recv --port 7777 --idle 500 --max-time 10 --ready "$ready" --by-source >"$out" &
	local rpid=$!
	FL_PIDS+=("$rpid")
	for i in $(seq 1 100); do [ -e "$ready" ] && break; sleep 0.02; done
	ns_a "$FL_TRAFFIC" send --to 10.200.0.2 --port 7777 --count 50 --flows 200 --rate 20000 >/dev/null
	wait "$rpid"
	# flows that got through got all 50 packets; the rest got none
	partial=$(jq '[."7777".sources[] | select(. != 50)] | length' "$out")
	through=$(jq '."7777".sources | length' "$out")
	echo "flows through: $through of 200; partial flows: $partial"
	[ "$partial" -eq 0 ]
	within_binomial $((200 - through)) 200 50
}

@test "cgroup_target_hits_a_process_in_the_cgroup_and_not_one_outside" {
	local cg2
	cg2=$(cgroup2_mount)
	[ -n "$cg2" ]
	FL_CG="$cg2/fl-test-$$-$BATS_TEST_NUMBER"
	mkdir "$FL_CG"
	fl_inject_bg loss 100% --dev va --protocol udp --port 7777 --cgroup "/${FL_CG#"$cg2"/}"
	local ready="$BATS_TEST_TMPDIR/ready" out="$BATS_TEST_TMPDIR/cg"
	ns_b "$FL_TRAFFIC" recv --port 7777 --idle 400 --max-time 10 --ready "$ready" --by-source >"$out" &
	local rpid=$!
	FL_PIDS+=("$rpid")
	for i in $(seq 1 100); do [ -e "$ready" ] && break; sleep 0.02; done
	# one sender inside the cgroup, one outside, at the same time
	sh -c 'echo $$ > "$1/cgroup.procs" && exec nsenter --net="/run/netns/$2" "$3" send --to 10.200.0.2 --port 7777 --count 1000 --rate 10000' \
		- "$FL_CG" "$FL_NS_A" "$FL_TRAFFIC" >/dev/null &
	local in_pid=$!
	nsenter --net="/run/netns/$FL_NS_A" "$FL_TRAFFIC" send --to 10.200.0.2 --port 7777 --count 1000 --rate 10000 >/dev/null
	wait "$in_pid"
	wait "$rpid"
	# only the outside sender's flow arrived, whole
	[ "$(jq '."7777".sources | length' "$out")" -eq 1 ]
	[ "$(jq '[."7777".sources[]] | add' "$out")" -eq 1000 ]
}

@test "management_port_22_is_spared_unless_allowed" {
	fl_inject_bg loss 100% --dev va --protocol udp
	out=$(udp_phase a 10.200.0.2 22,2222 1000)
	[ "$(received "$out" 22)" -eq 1000 ]
	[ "$(received "$out" 2222)" -eq 0 ]
	kill -TERM "$FL_INJECT_PID"
	fl_wait_exit "$FL_INJECT_PID" 5
	fl_inject_bg loss 100% --dev va --protocol udp --allow-management
	out=$(udp_phase a 10.200.0.2 22 1000)
	[ "$(received "$out" 22)" -eq 0 ]
}

@test "no_dev_and_no_address_is_refused_without_allow_wide" {
	run nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINE" inject loss 5% --protocol udp
	[ "$status" -eq 2 ]
	assert_output --partial "--allow-wide"
	assert_no_residue
}

@test "allow_wide_targets_every_interface_but_lo" {
	fl_inject_bg loss 100% --protocol udp --port 7777 --allow-wide
	out=$(udp_phase a 10.200.0.2 7777 1000)
	[ "$(received "$out" 7777)" -eq 0 ]
	# loopback inside A is untouched
	ready="$BATS_TEST_TMPDIR/lo-ready"
	ns_a "$FL_TRAFFIC" recv --port 7777 --idle 300 --max-time 5 --ready "$ready" >"$BATS_TEST_TMPDIR/lo" &
	rpid=$!
	FL_PIDS+=("$rpid")
	for i in $(seq 1 100); do [ -e "$ready" ] && break; sleep 0.02; done
	ns_a "$FL_TRAFFIC" send --to 127.0.0.1 --port 7777 --count 1000 >/dev/null
	wait "$rpid"
	[ "$(jq '."7777".received' "$BATS_TEST_TMPDIR/lo")" -eq 1000 ]
}

@test "64_live_rules_in_one_classifier_each_act_on_their_own_port" {
	nsenter --net="/run/netns/$FL_NS_A" "$FL_BUILD/helpers/fl-rules" va 64 9000 >"$BATS_TEST_TMPDIR/rules" &
	local hpid=$!
	FL_PIDS+=("$hpid")
	for t in $(seq 1 200); do grep -q ready "$BATS_TEST_TMPDIR/rules" && break; sleep 0.05; done
	grep -q ready "$BATS_TEST_TMPDIR/rules"
	ports=$(seq -s, 9000 9064)
	out=$(udp_phase a 10.200.0.2 "$ports" 200 40000)
	for p in $(seq 9000 9063); do [ "$(received "$out" "$p")" -eq 0 ]; done
	[ "$(received "$out" 9064)" -eq 200 ]
	kill -TERM "$hpid"
	wait "$hpid"
	# each rule dropped exactly its own port's 200 packets
	[ "$(tail -n 1 "$BATS_TEST_TMPDIR/rules" | jq '[.[] | select(. == 200)] | length')" -eq 64 ]
	assert_no_residue
}
