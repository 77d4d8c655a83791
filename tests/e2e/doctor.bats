#!/usr/bin/env bats
# tests/e2e/doctor.bats - `faultline doctor` probes this kernel by trying each
# mechanism, reports what it found (KERNEL.md lists what these machines have),
# and leaves nothing behind. Run as root, with $FAULTLINE the binary.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

setup_file() {
	export FAULTLINE=${FAULTLINE:-build/san/faultline}
	# One probe run serves every test that only reads the report.
	"$FAULTLINE" doctor --json >"$BATS_FILE_TMPDIR/report.json"
	echo $? >"$BATS_FILE_TMPDIR/report.rc"
}

report() {
	cat "$BATS_FILE_TMPDIR/report.json"
}

# mech_ok ID: print .ok of the mechanism ID ("true" / "false")
mech_ok() {
	report | jq -r --arg id "$1" '.mechanisms[] | select(.id == $id) | .ok'
}

cgroup2_mount() {
	awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
		/proc/self/mountinfo | head -n1
}

# Everything doctor could leave behind, one section per kind of residue.
residue() {
	local progs cg
	progs=$(bpftool -j prog show | jq -c '[.[] | select((.name // "") | startswith("fl_")) | .id]')
	echo "# bpf programs named fl_*"
	bpftool -j prog show | jq -r '.[] | select((.name // "") | startswith("fl_")) | "\(.id) \(.name)"' | sort
	echo "# bpf links of programs named fl_*"
	bpftool -j link show | jq -r --argjson p "$progs" '.[] | select(.prog_id as $i | $p | index($i)) | .id' | sort
	echo "# network namespaces"
	lsns -t net -n -o NS | sort
	ip netns list
	echo "# cgroup v2 directories"
	cg=$(cgroup2_mount)
	find "$cg" -mindepth 1 -maxdepth 1 -type d | sort
	echo "# tc on lo"
	tc qdisc show dev lo
	tc filter show dev lo ingress 2>&1 || true
	tc filter show dev lo egress 2>&1 || true
	echo "# securityfs mounts"
	grep -c ' /sys/kernel/security ' /proc/self/mountinfo || true
}

@test "doctor_exits_0_where_the_core_works" {
	run "$FAULTLINE" doctor
	assert_success
	assert_output --partial "core (btf, and tcx or clsact): ok"
	assert_line --regexp '^tcx +ok +'
	assert_line --regexp '^loss +works +'
}

@test "doctor_json_parses_and_exits_0" {
	[ "$(cat "$BATS_FILE_TMPDIR/report.rc")" -eq 0 ]
	run jq -e '.core_ok == true and (.mechanisms | length) > 0 and (.faults | length) == 12' \
		"$BATS_FILE_TMPDIR/report.json"
	assert_success
}

@test "doctor_finds_tcx_btf_set_retval_and_nfqueue_here" {
	[ "$(mech_ok tcx)" = true ]
	[ "$(mech_ok btf)" = true ]
	[ "$(mech_ok bpf_set_retval)" = true ]
	[ "$(mech_ok nfqueue)" = true ]
}

@test "doctor_reports_netem_and_fq_missing_with_the_reason" {
	[ "$(mech_ok sch_netem)" = false ]
	[ "$(mech_ok sch_fq)" = false ]
	run jq -r '.mechanisms[] | select(.id == "sch_fq") | .detail' "$BATS_FILE_TMPDIR/report.json"
	assert_output --partial "root fq: "
	assert_output --partial "not in this kernel"
}

@test "doctor_derives_delay_from_the_delay_line_when_fq_is_missing" {
	run jq -r '.faults[] | select(.fault == "delay") | "\(.works) \(.via)"' \
		"$BATS_FILE_TMPDIR/report.json"
	assert_output "true nfqueue"
	run jq -r '.faults[] | select(.fault == "refuse") | "\(.works) \(.via)"' \
		"$BATS_FILE_TMPDIR/report.json"
	assert_output "true bpf_set_retval"
}

@test "doctor_names_the_missing_mechanism_of_a_fault_that_cannot_work" {
	# Every fault that does not work says which mechanism it needs.
	run jq -r '.faults[] | select(.works | not) | .reason' "$BATS_FILE_TMPDIR/report.json"
	assert_success
	for reason in "${lines[@]}"; do
		[[ "$reason" == needs\ * ]]
	done
}

@test "doctor_help_exits_0" {
	run "$FAULTLINE" doctor --help
	assert_success
	assert_output --partial "Usage: faultline doctor"
	assert_output --partial "Exit status"
}

@test "doctor_bad_flag_exits_2_naming_the_flag" {
	run "$FAULTLINE" doctor --no-such-flag
	assert_failure 2
	assert_output --partial "--no-such-flag"
	run "$FAULTLINE" doctor -Z
	assert_failure 2
	assert_output --partial "-Z"
}

@test "doctor_leaves_no_residue" {
	local before after
	before=$(residue)
	run "$FAULTLINE" doctor
	assert_success
	"$FAULTLINE" doctor --json >/dev/null
	after=$(residue)
	if [ "$before" != "$after" ]; then
		diff <(echo "$before") <(echo "$after") >&2 || true
		false
	fi
	run find "$(cgroup2_mount)" -maxdepth 1 -name 'faultline-doctor.*'
	assert_output ""
}
