#!/usr/bin/env bats
# tests/e2e/scenario_cli.bats - `faultline validate` and `faultline plan`:
# every bad scenario under tests/scenarios/bad/ is refused with exactly the
# lines of its .expected file (all its problems, sorted, with line:col and
# the field's path) and exit 2; every example and good scenario is accepted;
# plan shows the compiled rules and applies nothing. Needs no root but for
# plan's doctor probes (skipped with --no-doctor where they do not matter).

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

setup() {
	export FAULTLINE=${FAULTLINE:-build/san/faultline}
	BAD=tests/scenarios/bad
	GOOD=tests/scenarios/good
}

@test "every_bad_scenario_gives_exactly_its_expected_errors_and_exit_2" {
	local n=0 failed=()
	for f in "$BAD"/*; do
		case $f in *.expected) continue ;; esac
		n=$((n + 1))
		run "$FAULTLINE" validate "$f"
		# the .expected files name the file relative to tests/scenarios/bad
		local want
		want=$(sed "s|^|$BAD/|" "$f.expected")
		if [ "$status" -ne 2 ] || [ "$output" != "$want" ]; then
			failed+=("$f")
			echo "--- $f (exit $status)"
			diff <(echo "$want") <(echo "$output") || true
		fi
	done
	[ "$n" -ge 40 ]
	[ ${#failed[@]} -eq 0 ]
}

@test "every_example_and_good_scenario_is_valid" {
	run "$FAULTLINE" validate examples/*.yaml "$GOOD"/*
	assert_success
	for f in examples/*.yaml "$GOOD"/*; do
		assert_line "$f: ok"
	done
}

@test "several_files_exit_2_when_one_is_bad_and_each_is_reported" {
	run "$FAULTLINE" validate examples/partition.yaml "$BAD/unknown-target.yaml"
	assert_failure 2
	assert_line --index 0 "examples/partition.yaml: ok"
	assert_line --index 1 --partial "unknown-target.yaml:7:14: faults[0].target: no target named \"rdis\" (did you mean \"redis\"?)"
}

@test "all_errors_of_a_file_are_reported_sorted_by_position" {
	run "$FAULTLINE" validate "$BAD/many-errors.yaml"
	assert_failure 2
	[ "${#lines[@]}" -ge 8 ]
	# sorted: line numbers never go down
	local prev=0 l
	for line in "${lines[@]}"; do
		l=$(cut -d: -f2 <<<"$line")
		[ "$l" -ge "$prev" ]
		prev=$l
	done
}

@test "did_you_mean_for_keys_targets_and_actions" {
	run "$FAULTLINE" validate "$BAD/unknown-delay-key.yaml" "$BAD/unknown-action.yaml" "$BAD/unknown-top-key.yaml"
	assert_failure 2
	assert_output --partial 'faults[0].delay.jiter: unknown key (did you mean "jitter"?)'
	assert_output --partial 'faults[0].delya: unknown key (did you mean "delay"?)'
	assert_output --partial 'stedy_state: unknown key (did you mean "steady_state"?)'
}

@test "validate_json_lists_every_error_as_an_object" {
	run "$FAULTLINE" validate --json "$BAD/many-errors.yaml" examples/ci-smoke.yaml
	assert_failure 2
	jq -e '.ok == false' <<<"$output"
	jq -e '.files | length == 2' <<<"$output"
	jq -e '.files[1] == {"file": "examples/ci-smoke.yaml", "ok": true}' <<<"$output"
	jq -e '[.errors[] | keys] | unique == [["col","file","line","message","path"]]' <<<"$output"
	jq -e '.errors[0] | .line == 5 and .col == 54 and .path == "targets.redis.intreface"' <<<"$output"
	[ "$(jq '.errors | length' <<<"$output")" -eq "$(wc -l <"$BAD/many-errors.yaml.expected")" ]
}

@test "validate_json_of_valid_files_is_ok_with_no_errors" {
	run "$FAULTLINE" validate --json examples/redis-latency.yaml
	assert_success
	jq -e '.ok == true and (.errors | length == 0)' <<<"$output"
}

@test "json_errors_carry_line_and_col" {
	run "$FAULTLINE" validate "$BAD/json-syntax.json" "$BAD/json-truncated.json" "$BAD/json-by-content.scenario"
	assert_failure 2
	assert_line --index 0 --regexp '^tests/scenarios/bad/json-syntax.json:5:1: JSON syntax'
	assert_line --index 1 --regexp '^tests/scenarios/bad/json-truncated.json:3:14: JSON syntax'
	assert_line --index 2 --regexp '^tests/scenarios/bad/json-by-content.scenario:1:46: JSON syntax'
}

@test "a_missing_file_and_a_directory_are_errors" {
	run "$FAULTLINE" validate /nonexistent.yaml tests/scenarios
	assert_failure 2
	assert_line --index 0 "/nonexistent.yaml: cannot read: No such file or directory"
	assert_line --index 1 "tests/scenarios: is a directory (expected a scenario file)"
}

@test "a_file_over_1_MiB_is_refused" {
	local f="$BATS_TEST_TMPDIR/big.yaml"
	{ echo "version: 1"; head -c 1100000 /dev/zero | tr '\0' '#'; echo; } >"$f"
	run "$FAULTLINE" validate "$f"
	assert_failure 2
	assert_output --partial "more than a scenario may have (expected at most 1 MiB)"
}

@test "validate_usage_errors_and_help" {
	run "$FAULTLINE" validate
	assert_failure 2
	assert_output --partial "missing FILE"
	run "$FAULTLINE" validate --bogus x.yaml
	assert_failure 2
	assert_output --partial "unknown option --bogus"
	run "$FAULTLINE" validate --help
	assert_success
	assert_output --partial "Usage: faultline validate [--json] FILE..."
	run "$FAULTLINE" plan --help
	assert_success
	assert_output --partial "Usage: faultline plan [--json] [--no-doctor] FILE"
	run "$FAULTLINE" --help
	assert_output --partial "validate"
	assert_output --partial "plan"
}

@test "plan_shows_rules_per_interface_and_direction_and_the_timeline" {
	run "$FAULTLINE" plan --no-doctor "$GOOD/local.yaml"
	assert_success
	assert_line --index 0 'plan for tests/scenarios/good/local.yaml: "local", 30s; nothing is applied'
	assert_line '  faults[0] 0s -> 10s  echo: loss gemodel p 1% r 20% 1-h 100% 1-k 0%, duplicate 0.5%'
	assert_line '    lo egress: protocol udp, port 7777,8000-8100, 50% of flows'
	assert_line '    lo ingress: protocol tcp, local port 8080'
	assert_line '    lo egress: protocol tcp, local port 8080'
	assert_line --partial '  faults[1] 5s -> 30s  web: rate 1mbit burst 64kb, corrupt 0.1% payload, delay 10ms jitter 2ms correlation 25% normal limit 500, reorder 10% gap 3'
	assert_line '  web-up: tcp connect 127.0.0.1 port 8080, timeout 1s; every 2s, aborts after 3 failures'
}

@test "plan_of_yaml_and_json_forms_is_the_same" {
	run "$FAULTLINE" plan --json --no-doctor "$GOOD/local.yaml"
	assert_success
	local a b
	a=$(jq -S 'del(.file)' <<<"$output")
	run "$FAULTLINE" plan --json --no-doctor "$GOOD/local.json"
	assert_success
	b=$(jq -S 'del(.file)' <<<"$output")
	[ "$a" = "$b" ]
	jq -e '.steps[1].rules | length == 2' <<<"$output"
	jq -e '.steps[0].start_ns == 0 and .steps[0].end_ns == 10000000000' <<<"$output"
	jq -e '.unsupported == null' <<<"$output"
}

@test "plan_reports_doctor_findings_for_the_faults_used" {
	[ "$(id -u)" -eq 0 ] || skip "doctor's probes need root"
	run "$FAULTLINE" plan --json "$GOOD/local.yaml"
	assert_success
	jq -e '.unsupported | type == "array"' <<<"$output"
	run "$FAULTLINE" plan "$GOOD/local.yaml"
	assert_success
	assert_output --regexp '(every fault used can run here|cannot run here) \(faultline doctor\)'
}

@test "plan_exits_2_on_invalid_input_and_on_what_this_host_cannot_resolve" {
	run "$FAULTLINE" plan "$BAD/many-errors.yaml"
	assert_failure 2
	assert_output --partial "faults[2].target: no target named \"wbe\""
	local f="$BATS_TEST_TMPDIR/nodev.yaml"
	printf 'version: 1\nname: x\nduration: 10s\ntargets:\n  t: {dev: fl-no-such0}\nfaults:\n  - {target: t, loss: 1%%}\n' >"$f"
	run "$FAULTLINE" plan --no-doctor "$f"
	assert_failure 2
	assert_output --partial 'targets.t.dev: no interface named "fl-no-such0" here'
}

@test "plan_applies_nothing" {
	command -v bpftool >/dev/null || skip "no bpftool"
	[ "$(id -u)" -eq 0 ] || skip "needs root to list links"
	local before after
	before=$(bpftool link show 2>/dev/null | wc -l)
	run "$FAULTLINE" plan --no-doctor "$GOOD/local.yaml"
	assert_success
	after=$(bpftool link show 2>/dev/null | wc -l)
	[ "$before" -eq "$after" ]
}
