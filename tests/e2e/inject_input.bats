#!/usr/bin/env bats
# Bad input to faultline inject: exit 2, one precise line, nothing attached.

load ../lib/common

setup() { fl_setup_netns; }
teardown() { fl_teardown_netns; }

bad() { # bad EXPECTED_MESSAGE ARGS...
	local msg=$1
	shift
	run ns_a "$FAULTLINE" inject "$@"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"$msg"* ]]
	[ "$(echo "$output" | wc -l)" -eq 1 ]
	assert_no_residue
}

@test "percentage_over_100_is_refused" {
	bad 'loss: "130%" is not a percentage between 0 and 100' loss 130% --dev va
}
@test "garbage_percentage_is_refused" {
	bad 'loss: "lots"' loss lots --dev va
}
@test "missing_percentage_is_refused" {
	bad "loss: missing PCT" loss --dev va
}
@test "unknown_fault_is_refused" {
	bad 'unknown fault "frobnicate"' frobnicate --dev va
}
@test "missing_fault_is_refused" {
	bad "missing FAULT" --dev va
}
@test "missing_dev_and_address_is_refused_unless_wide" {
	bad "--dev is required when no --host or --cidr says where the traffic goes (e.g. --dev eth0), or --allow-wide" loss 5%
}
@test "unknown_dev_is_refused" {
	bad '--dev: no interface named "nosuch0"' loss 5% --dev nosuch0
}
@test "bad_direction_is_refused" {
	bad '--direction: "sideways" is not a direction' loss 5% --dev va --direction sideways
}
@test "bad_protocol_is_refused" {
	bad '--protocol: "sctp" is not a protocol' loss 5% --dev va --protocol sctp
}
@test "port_out_of_range_is_refused" {
	bad '--port: "70000"' loss 5% --dev va --port 70000
}
@test "ports_with_icmp_are_refused" {
	bad "--port: ports need --protocol tcp, udp or any" loss 5% --dev va --protocol icmp --port 80
}
@test "duration_without_unit_is_refused" {
	bad '--for: "60" needs a unit' loss 5% --dev va --for 60
}
@test "too_short_lease_is_refused" {
	bad "--lease: \"10ms\" is too short" loss 5% --dev va --lease 10ms
}
@test "unknown_option_is_refused" {
	bad "unknown option --frobnicate" loss 5% --dev va --frobnicate
}
@test "extra_argument_is_refused" {
	bad 'unexpected argument "extra"' loss 5% extra --dev va
}

# Faults -------------------------------------------------------------------

@test "correlation_over_100_is_refused_positional_and_flag" {
	bad 'loss correlation: "101%" is not a percentage between 0 and 100' loss 5% 101% --dev va
	bad '--correlation: "101%" is not a percentage between 0 and 100' loss 5% --correlation 101% --dev va
	bad 'duplicate correlation: "101%"' duplicate 5% 101% --dev va
}
@test "correlation_given_twice_is_refused" {
	bad "loss: correlation given twice" loss 5% 10% --correlation 20% --dev va
}
@test "correlation_needs_a_value" {
	bad "--correlation: needs a value (expected a percentage such as 25%)" loss 5% --correlation --dev va
}
@test "correlation_away_from_its_fault_is_refused" {
	bad "--correlation: belongs right after 'loss PCT' or 'duplicate PCT'" corrupt 1% --correlation 5% --dev va
	bad "--correlation: belongs right after" loss 5% --dev va --correlation 5%
}
@test "gemodel_with_5_values_is_refused" {
	bad 'loss gemodel: "5%" is one value too many (expected at most 4' loss gemodel 1% 10% 70% 0.1% 5% --dev va
}
@test "gemodel_without_p_is_refused" {
	bad "loss gemodel: missing P" loss gemodel --dev va
}
@test "gemodel_value_over_100_is_refused" {
	bad 'loss gemodel 1-h: "170%" is not a percentage between 0 and 100' loss gemodel 1% 10% 170% --dev va
}
@test "gemodel_takes_no_correlation" {
	bad "--correlation: applies to 'loss PCT' (random loss), not to 'loss gemodel'" loss gemodel 1% --correlation 5% --dev va
}
@test "state_with_6_values_is_refused" {
	bad 'loss state: "6%" is one value too many (expected at most 5' loss state 1% 2% 3% 4% 5% 6% --dev va
}
@test "state_whose_exits_add_above_100_is_refused" {
	bad "loss state: p13 + p14 is above 100%" loss state 60% 40% 0% 100% 50% --dev va
	bad "loss state: p31 + p32 is above 100%" loss state 10% 60% 50% --dev va
}
@test "two_losses_are_refused" {
	bad "loss: given twice (expected each fault at most once)" loss 5% loss 3% --dev va
	bad "duplicate: given twice" duplicate 1% duplicate 2% --dev va
	bad "rate: given twice" rate 1mbit rate 2mbit --dev va
}
@test "blackhole_with_loss_is_refused_either_way" {
	bad "loss: cannot be combined with blackhole, which is loss 100%" blackhole loss 5% --dev va
	bad "blackhole: cannot be combined with loss" loss 5% blackhole --dev va
}
@test "blackhole_takes_no_value" {
	bad "blackhole takes no value" blackhole 50% --dev va
}
@test "duplicate_without_percentage_is_refused" {
	bad "duplicate: missing PCT" duplicate --dev va
}
@test "corrupt_correlation_is_refused" {
	bad "corrupt: \"25%\": a correlation is not supported for corrupt (expected 'corrupt PCT [--payload]')" corrupt 1% 25% --dev va
}
@test "payload_without_corrupt_is_refused" {
	bad "--payload: belongs right after 'corrupt PCT'" loss 5% --payload --dev va
	bad "--payload: belongs right after" --payload corrupt 1% --dev va
}
@test "payload_takes_no_value" {
	bad "--payload: takes no value" corrupt 1% --payload=yes --dev va
}
@test "rate_zero_is_refused" {
	bad 'rate: "0" is zero (expected a rate above 0)' rate 0 --dev va
}
@test "rate_without_unit_word_is_refused" {
	bad 'rate: "fast" is not a rate (expected a number and a unit' rate fast --dev va
}
@test "rate_above_what_the_policer_counts_is_refused" {
	bad 'rate: "2tbit" is above 1tbit, the fastest rate the policer can count' rate 2tbit --dev va
}
@test "rate_below_1kbit_is_refused" {
	bad 'rate: "500bit" is below 1kbit, the slowest rate the policer counts' rate 500bit --dev va
}
@test "rate_without_value_is_refused" {
	bad "rate: missing RATE" rate --dev va
}
@test "rate_overhead_is_refused" {
	bad "rate: \"20\": netem's packet overhead and cell size are not supported" rate 1mbit 20 --dev va
}
@test "burst_without_rate_is_refused" {
	bad "--burst: belongs right after 'rate RATE'" loss 5% --burst 64kb --dev va
}
@test "bad_burst_is_refused" {
	bad '--burst: "0" is zero' rate 1mbit --burst 0 --dev va
	bad '--burst: "lots" is not a size' rate 1mbit --burst=lots --dev va
	bad "--burst: needs a value" rate 1mbit --burst --dev va
}
@test "unknown_word_after_a_fault_is_refused" {
	bad 'unexpected argument "jitter" (expected a fault: loss, duplicate, corrupt, rate, blackhole, delay, reorder, refuse, reset, dns or http' loss 5% jitter 10% --dev va
}

# Target -------------------------------------------------------------------

@test "cidr_without_prefix_is_refused" {
	bad '--cidr: "10.200.0.2" has no prefix length (expected ADDR/LEN' loss 5% --cidr 10.200.0.2
}
@test "cidr_with_host_bits_names_the_network" {
	bad '--cidr: "10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)' loss 5% --cidr 10.0.0.1/8
	bad '--cidr: "fd00:200::1/64" has host bits set (did you mean fd00:200::/64?)' loss 5% --cidr fd00:200::1/64
}
@test "cidr_prefix_too_long_is_refused" {
	bad '--cidr: "10.0.0.0/33" has no valid prefix length' loss 5% --cidr 10.0.0.0/33
}
@test "host_with_prefix_is_refused" {
	bad '--host: "10.200.0.0/24" has a prefix length (expected a bare address' loss 5% --host 10.200.0.0/24
}
@test "bad_ipv6_is_refused" {
	bad '--host: "fd00::zz" is not an IPv4 or IPv6 address' loss 5% --host fd00::zz
	bad '--host: "fd00:200::2:" is not an IPv4 or IPv6 address' loss 5% --host fd00:200::2:
}
@test "empty_address_item_is_refused" {
	bad '--host: "10.200.0.2,,fd00:200::2" has an empty item' loss 5% --host 10.200.0.2,,fd00:200::2
}
@test "more_than_16_addresses_are_refused" {
	local list
	list=$(seq -s, -f '10.9.0.%g' 1 16)
	bad "--host: more than 16 addresses (expected at most 16 across every --host and --cidr)" loss 5% --host "$list" --host 10.9.1.1
}
@test "host_routed_through_loopback_is_refused" {
	bad "--host: 127.0.0.1 routes through lo; name it with --dev lo to target loopback" loss 5% --host 127.0.0.1
	bad "--host: 10.200.0.1 routes through lo" loss 5% --host 10.200.0.1
}
@test "host_without_route_is_refused" {
	bad "--host: 203.0.113.9 has no route here" loss 5% --host 203.0.113.9
}
@test "cidr_of_everything_needs_dev_or_wide" {
	bad "--cidr: 0.0.0.0/0 covers every address" loss 5% --cidr 0.0.0.0/0
}
@test "share_zero_is_refused" {
	bad '--share: "0%" is zero (expected a share of the flows above 0%' loss 5% --dev va --share 0%
}
@test "share_over_100_is_refused" {
	bad '--share: "150%" is not a percentage between 0 and 100' loss 5% --dev va --share 150%
}
@test "share_below_one_bucket_is_refused" {
	bad '--share: "0.001%" is below the smallest share' loss 5% --dev va --share 0.001%
}
@test "bad_seed_is_refused" {
	bad '--seed: "-1" is not a seed (expected a whole number from 0 to 18446744073709551615)' loss 5% --dev va --seed -1
	bad '--seed: "abc" is not a seed' loss 5% --dev va --seed abc
	bad '--seed: "18446744073709551616" is not a seed' loss 5% --dev va --seed 18446744073709551616
	bad '--seed: "" is not a seed' loss 5% --dev va --seed ''
}
@test "cgroup_missing_dir_is_refused" {
	bad '--cgroup: "/nonexistent/faultline" does not exist (expected a cgroup v2 directory' loss 5% --dev va --cgroup /nonexistent/faultline
}
@test "cgroup_not_a_cgroup_is_refused" {
	bad '--cgroup: "/etc" is not on a cgroup v2 file system' loss 5% --dev va --cgroup /etc
}
@test "cgroup_with_ingress_is_refused" {
	bad "--cgroup: targets egress only, not --direction ingress: on ingress the kernel reports the sender's cgroup on veth and none from a real NIC" loss 5% --dev va --cgroup /sys/fs/cgroup --direction ingress
	bad "--cgroup: targets egress only, not --direction both" loss 5% --dev va --direction both --cgroup /sys/fs/cgroup
}
@test "cgroup_given_twice_is_refused" {
	bad "--cgroup: given twice" loss 5% --dev va --cgroup a --cgroup b
}
@test "local_and_remote_ports_with_icmp_are_refused" {
	bad "--local-port: ports need --protocol tcp, udp or any, not icmp" loss 5% --dev va --protocol icmp --local-port 80
	bad "--remote-port: ports need --protocol tcp, udp or any, not icmp" loss 5% --dev va --remote-port 80 --protocol icmp
}
@test "bad_local_and_remote_ports_are_refused" {
	bad '--local-port: "0" is not a port between 1 and 65535' loss 5% --dev va --local-port 0
	bad '--remote-port: "9000-8000" is not a range' loss 5% --dev va --remote-port 9000-8000
}
@test "management_port_alone_needs_allow_management" {
	bad "--port: 22 is a management port (ssh), never faulted unless --allow-management is given" loss 5% --dev va --port 22
}
@test "dev_list_with_empty_item_is_refused" {
	bad '--dev: "va," has an empty item' loss 5% --dev va,
}
@test "dev_list_with_unknown_dev_is_refused" {
	bad '--dev: no interface named "nosuch0" here' loss 5% --dev va,nosuch0
}
@test "ambiguous_option_is_refused_naming_the_candidates" {
	bad "option --p is ambiguous (expected one of --protocol, --port, --pid)" loss 5% --dev va --p 80
}
@test "option_without_value_is_refused" {
	bad "option --dev needs a value" loss 5% --dev
}

# Good input reaches the engine whole --------------------------------------

@test "every_fault_and_target_field_reaches_the_summary" {
	fl_inject_bg loss 1% 25% duplicate 0.5% --correlation 10% corrupt 0.1% --payload \
		rate 1mbit --burst 64kb --host 10.200.0.2 --cidr fd00:200::/64 --protocol udp \
		--local-port 5000-5100 --remote-port 7777 --share 50% --seed 18446744073709551615 \
		--for 300ms --json
	local first
	first=$(head -n 1 "$BATS_TEST_TMPDIR/inject.err")
	echo "$first"
	[[ "$first" == "faultline: injecting rate 1mbit burst 64kb, loss 1% correlation 25%, corrupt 0.1% payload, duplicate 0.5% correlation 10% on va egress"* ]]
	[[ "$first" == *"protocol udp, local port 5000-5100, remote port 7777, remote 10.200.0.2,fd00:200::/64, 50% of flows, seed 18446744073709551615, for 300ms"* ]]
	fl_wait_exit "$FL_INJECT_PID" 5
	[ "$FL_EXIT" -eq 0 ]
	local out="$BATS_TEST_TMPDIR/inject.out"
	[ "$(jq -c .faults "$out")" = '[{"type":"rate","rate":"1mbit","bits_per_sec":1000000,"burst_bytes":65536,"burst_default":false},{"type":"loss","model":"random","percent":1,"correlation":25},{"type":"corrupt","percent":0.1,"payload":true},{"type":"duplicate","percent":0.5,"correlation":10}]' ]
	[ "$(jq -c .target.devices "$out")" = '["va"]' ]
	[ "$(jq -r .target.devices_from "$out")" = routes ]
	[ "$(jq -c .target.cidrs "$out")" = '["10.200.0.2/32","fd00:200::/64"]' ]
	[ "$(jq -r .target.local_port "$out")" = 5000-5100 ]
	[ "$(jq -r .target.remote_port "$out")" = 7777 ]
	[ "$(jq -r .target.share_percent "$out")" = 50 ]
	[ "$(jq -r .target.seed "$out")" = 18446744073709551615 ]
	[ "$(jq -r '.counters | keys | join(",")' "$out")" = after_deadline,bytes,corrupted,dropped,duplicated,matched,rate_dropped,refused,reset,rewritten ]
	[ "$(jq -r .ended "$out")" = expired ]
	assert_no_residue
}

@test "gemodel_and_state_defaults_are_netems" {
	fl_inject_bg loss gemodel 1% --dev va --for 200ms --json
	grep -q "faultline: injecting loss gemodel p 1% r 100% 1-h 100% 1-k 0% on va egress" "$BATS_TEST_TMPDIR/inject.err"
	fl_wait_exit "$FL_INJECT_PID" 5
	fl_inject_bg loss state 2% --dev va --for 200ms --json
	grep -q "faultline: injecting loss state p13 2% p31 98% p32 0% p23 100% p14 0% on va egress" "$BATS_TEST_TMPDIR/inject.err"
	fl_wait_exit "$FL_INJECT_PID" 5
	[ "$(jq -c '.faults[0]' "$BATS_TEST_TMPDIR/inject.out")" = '{"type":"loss","model":"state","p13":2,"p31":98,"p32":0,"p23":100,"p14":0}' ]
}

@test "help_exits_0_and_documents_every_option" {
	run "$FAULTLINE" inject --help
	assert_success
	for o in --dev --direction --protocol --port --local-port --remote-port --cidr --host \
		--cgroup --share --seed --allow-management --allow-wide --for --lease --json --attach \
		--correlation --payload --burst loss gemodel state blackhole duplicate corrupt rate; do
		[[ "$output" == *"$o"* ]] || { echo "missing $o"; return 1; }
	done
}
