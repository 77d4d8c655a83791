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

# mech_detail ID: print .detail of the mechanism ID
mech_detail() {
	report | jq -r --arg id "$1" '.mechanisms[] | select(.id == $id) | .detail'
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
	echo "# the cgroup probe's veth (flcg0, flcg1)"
	ip -o link show | grep -c flcg || true
	echo "# securityfs mounts"
	grep -c ' /sys/kernel/security ' /proc/self/mountinfo || true
}

@test "doctor_exits_0_where_the_core_works" {
	run "$FAULTLINE" doctor
	assert_success
	assert_output --partial "core (btf, programs, and tcx or clsact): ok"
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

@test "doctor_loads_faultlines_own_programs_through_the_verifier" {
	[ "$(mech_ok programs)" = true ]
	run mech_detail programs
	assert_output --regexp "load: 7 programs, [1-9][0-9]* instructions verified"
	jq -e '.core_ok' "$BATS_FILE_TMPDIR/report.json"
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
	assert_output "true ringbuf"
	run jq -r '.faults[] | select(.fault == "delay") | .reason' "$BATS_FILE_TMPDIR/report.json"
	assert_output --partial "delay line"
	assert_output --partial "no sch_fq, so no EDT"
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

@test "doctor_measures_the_sending_sockets_cgroup_on_egress" {
	# What --cgroup relies on: tc egress sees the cgroup of the socket that sent.
	[ "$(mech_ok cgroup_egress)" = true ]
	run mech_detail cgroup_egress
	assert_output --regexp "^tcx egress: the sending socket's cgroup \(id [0-9]+, the inode of its temporary cgroup\) on 3/3 UDP packets over a veth; 3 received$"
}

@test "doctor_measures_what_ingress_sees_the_remote_sender_or_0" {
	local egress_id ingress_id receiver_id
	[ "$(mech_ok cgroup_ingress)" = true ]
	run mech_detail cgroup_ingress
	# Measured here: across a veth, ingress sees the *sender's* cgroup (veth
	# keeps skb->sk); forwarded packets, like a NIC's, have no socket: 0.
	assert_output --regexp "^tcx ingress: the sender's cgroup across a veth \(id [0-9]+, the remote sending socket's, not the receiver's [0-9]+\); 0 on 3 forwarded \(no local socket, as from a NIC\): --cgroup is egress only$"
	egress_id=$(mech_detail cgroup_egress | sed -E 's/.*\(id ([0-9]+),.*/\1/')
	ingress_id=$(mech_detail cgroup_ingress | sed -E 's/.*\(id ([0-9]+),.*/\1/')
	receiver_id=$(mech_detail cgroup_ingress | sed -E "s/.*not the receiver's ([0-9]+)\).*/\1/")
	[ "$egress_id" = "$ingress_id" ]
	[ "$ingress_id" != "$receiver_id" ]
}

@test "doctor_says_the_cgroup_target_works_on_egress_only_and_why" {
	run jq -r '.targets[] | select(.target == "cgroup") | "\(.egress) \(.ingress) \(.via)"' \
		"$BATS_FILE_TMPDIR/report.json"
	assert_output "true false cgroup_egress"
	run jq -r '.targets[] | select(.target == "cgroup") | .reason' "$BATS_FILE_TMPDIR/report.json"
	assert_output --partial "egress only: there bpf_skb_cgroup_id() is the sending socket's cgroup"
	assert_output --partial "not the receiver's"
	run "$FAULTLINE" doctor
	assert_success
	assert_line --regexp '^TARGET +EGRESS +INGRESS +HOW / WHY NOT$'
	assert_line --regexp "^cgroup +works +no +egress only: .*sending socket's cgroup"
	assert_line --regexp '^cgroup_ingress +ok +tcx ingress: the sender.s cgroup across a veth'
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
