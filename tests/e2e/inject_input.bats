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
@test "missing_dev_is_refused" {
	bad "--dev is required" loss 5%
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
@test "help_exits_0_and_documents_every_option" {
	run "$FAULTLINE" inject --help
	assert_success
	for o in --dev --direction --protocol --port --for --lease --json --attach; do
		[[ "$output" == *"$o"* ]] || { echo "missing $o"; return 1; }
	done
}
