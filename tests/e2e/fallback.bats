#!/usr/bin/env bats
# tests/e2e/fallback.bats - the kernel matrix on one kernel: each fallback
# faultline has for an older kernel, forced with FAULTLINE_DISABLE
# (docs/kernels.md), with real traffic between namespaces A (10.200.0.1) and
# B (10.200.0.2):
#   tcx             -> clsact qdisc and cls_bpf filters (Linux < 6.6)
#   bpf_set_retval  -> refuse's connect() fails with EPERM (Linux < 5.18)
#   bpf_lsm         -> nothing changes: no fault of this release uses it
# and a name it does not know is refused.

load ../lib/common

EC="$BATS_TEST_DIRNAME/../tools/errclient.py"

setup() { fl_setup_netns; }
teardown() {
	fl_teardown_netns
	[ -n "${FL_CG:-}" ] && rmdir "$FL_CG" 2>/dev/null
	journal_restore
	return 0
}

# the clsact journal as faultline makes it: a root-only directory (a test
# below replaces it with a link and with a world-writable one)
J=/run/faultline/journal
journal_restore() {
	[ -n "${FL_J_TAMPERED:-}" ] || return 0
	if [ -L "$J" ] || [ "$(stat -c %a "$J" 2>/dev/null)" != 755 ]; then
		rm -rf "$J"
		mkdir -m 0755 "$J"
	fi
}

ec_a() { ns_a /usr/bin/python3 "$EC" "$@"; }

fl_stop() {
	kill -TERM "$FL_INJECT_PID"
	fl_wait_exit "$FL_INJECT_PID" 5
	[ "$FL_EXIT" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/inject.err" >&2; return 1; }
}

ping_loss() { ns_a ping -n -q -c "$1" -i 0.02 -W 0.5 10.200.0.2 | sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p'; }

tcx_links_on_va() { # tcx links on A's va (bpftool net in A)
	ns_a bpftool net show dev va 2>/dev/null | grep -c 'tcx/' || true
}

@test "FAULTLINE_DISABLE=tcx: inject attaches with clsact by itself, and removes it all on stop" {
	FAULTLINE_DISABLE=tcx fl_inject_bg loss 100% --dev va --protocol icmp
	grep -q "(clsact" "$BATS_TEST_TMPDIR/inject.err" || { cat "$BATS_TEST_TMPDIR/inject.err"; return 1; }
	tc -n "$FL_NS_A" qdisc show dev va | grep -q clsact
	[ -n "$(tc -n "$FL_NS_A" filter show dev va egress)" ]
	[ "$(tcx_links_on_va)" -eq 0 ]
	[ "$(ping_loss 20)" = 100 ]
	fl_stop
	[ "$(ping_loss 10)" = 0 ]
	assert_no_residue
}

@test "FAULTLINE_DISABLE=tcx: --attach tcx is refused rather than quietly changed" {
	run env FAULTLINE_DISABLE=tcx nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINE" inject loss 100% \
		--dev va --protocol icmp --attach tcx --for 2s
	[ "$status" -ne 0 ]
	[ "$(ping_loss 5)" = 0 ]
	assert_no_residue
}

@test "FAULTLINE_DISABLE=tcx: a run scenario attaches with clsact too" {
	cat >"$BATS_TEST_TMPDIR/s.yaml" <<'EOF'
version: 1
name: clsact
duration: 2s
targets:
  icmp: {dev: va, protocol: icmp}
faults:
  - {target: icmp, loss: 100%}
EOF
	run env FAULTLINE_DISABLE=tcx nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINE" run \
		"$BATS_TEST_TMPDIR/s.yaml" -- sh -c "tc qdisc show dev va | grep -q clsact && ! ping -n -q -c 3 -i 0.05 -W 0.5 10.200.0.2"
	echo "$output"
	assert_success
	assert_no_residue
}

@test "FAULTLINE_DISABLE=bpf_set_retval: refuse still refuses, with EPERM, and says so" {
	FAULTLINE_DISABLE=bpf_set_retval fl_inject_bg refuse --errno ETIMEDOUT --host 10.200.0.2 --port 9999
	grep -q "no bpf_set_retval: connect() fails with EPERM" "$BATS_TEST_TMPDIR/inject.err" ||
		{ cat "$BATS_TEST_TMPDIR/inject.err"; return 1; }
	bpftool cgroup tree "$(cgroup2_mount)" | grep -q fl_refuse_eper
	! bpftool cgroup tree "$(cgroup2_mount)" | grep -q fl_refuse_conn
	[ "$(ec_a connect 10.200.0.2 9999 | jq -r .errno)" = EPERM ]
	[ "$(ec_a connect 10.200.0.2 9999 --udp | jq -r .errno)" = EPERM ]
	[ "$(ec_a connect 10.200.0.2 9998 --udp | jq -r .errno)" = ok ]
	fl_stop
	grep -q "refused 2" "$BATS_TEST_TMPDIR/inject.out" || { cat "$BATS_TEST_TMPDIR/inject.out"; return 1; }
	[ "$(ec_a connect 10.200.0.2 9999 --udp | jq -r .errno)" = ok ]
	# without the switch the same command gets the errno it asks for
	fl_inject_bg refuse --errno ETIMEDOUT --host 10.200.0.2 --port 9999
	[ "$(ec_a connect 10.200.0.2 9999 --udp | jq -r .errno)" = ETIMEDOUT ]
	fl_stop
	assert_no_residue
}

@test "FAULTLINE_DISABLE=bpf_set_retval: a cgroup target is refused with EPERM and others are not" {
	FL_CG="$(cgroup2_mount)/fl-fallback-$$-$BATS_TEST_NUMBER"
	mkdir "$FL_CG"
	FAULTLINE_DISABLE=bpf_set_retval fl_inject_bg refuse --cgroup "$FL_CG" --port 9999
	got=$(nsenter --net="/run/netns/$FL_NS_A" sh -c 'echo $$ > "$1/cgroup.procs" && exec /usr/bin/python3 "$2" connect 10.200.0.2 9999 --udp' sh "$FL_CG" "$EC" | jq -r .errno)
	[ "$got" = EPERM ]
	[ "$(ec_a connect 10.200.0.2 9999 --udp | jq -r .errno)" = ok ]
	fl_stop
	assert_no_residue
}

@test "doctor reports each forced fallback and what still works" {
	run env FAULTLINE_DISABLE=tcx,bpf_set_retval,bpf_lsm "$FAULTLINE" doctor --json
	assert_success
	echo "$output" >"$BATS_TEST_TMPDIR/d.json"
	jq -e '.core_ok' "$BATS_TEST_TMPDIR/d.json"
	for id in tcx bpf_set_retval bpf_lsm; do
		jq -e --arg id "$id" '.mechanisms[] | select(.id == $id) | (.ok | not) and (.detail | test("disabled by FAULTLINE_DISABLE"))' \
			"$BATS_TEST_TMPDIR/d.json" >/dev/null || { jq --arg id "$id" '.mechanisms[] | select(.id == $id)' "$BATS_TEST_TMPDIR/d.json"; return 1; }
	done
	jq -e '.faults[] | select(.fault == "loss") | .works and .via == "clsact"' "$BATS_TEST_TMPDIR/d.json"
	jq -e '.faults[] | select(.fault == "refuse") | .works and .via == "cgroup" and (.reason | test("EPERM"))' "$BATS_TEST_TMPDIR/d.json"
	# every fault that works on this kernel still works with the three off
	run "$FAULTLINE" doctor --json
	assert_success
	want=$(jq -c '[.faults[] | select(.works) | .fault]' <<<"$output")
	got=$(jq -c '[.faults[] | select(.works) | .fault]' "$BATS_TEST_TMPDIR/d.json")
	[ "$got" = "$want" ] || { echo "works with all on: $want; with the fallbacks: $got"; return 1; }
}

@test "FAULTLINE_DISABLE=bpf_lsm changes no fault" {
	run "$FAULTLINE" doctor --json
	want=$(jq -c '[.faults[] | {fault, works, via}]' <<<"$output")
	run env FAULTLINE_DISABLE=bpf_lsm "$FAULTLINE" doctor --json
	assert_success
	got=$(jq -c '[.faults[] | {fault, works, via}]' <<<"$output")
	[ "$got" = "$want" ]
	FAULTLINE_DISABLE=bpf_lsm fl_inject_bg loss 100% --dev va --protocol icmp
	[ "$(ping_loss 10)" = 100 ]
	fl_stop
	assert_no_residue
}

@test "FAULTLINE_DISABLE with a name it does not know is refused before anything is applied" {
	run env FAULTLINE_DISABLE=tcx,tcp nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINE" inject loss 100% --dev va --for 2s
	[ "$status" -eq 2 ]
	assert_output --partial 'FAULTLINE_DISABLE: unknown feature "tcp" (expected tcx, bpf_set_retval or bpf_lsm'
	run env FAULTLINE_DISABLE=lsm "$(dirname "$FAULTLINE")/faultlined" --foreground --socket "$BATS_TEST_TMPDIR/s" \
		--state-dir "$BATS_TEST_TMPDIR/st"
	[ "$status" -eq 2 ]
	assert_output --partial 'unknown feature "lsm"'
	[ ! -e "$BATS_TEST_TMPDIR/s" ]
	assert_no_residue
}

@test "the clsact journal is refused when it is a symbolic link or others may write it, and a linked entry is not read" {
	local out="$BATS_TEST_TMPDIR/elsewhere" victim="$BATS_TEST_TMPDIR/victim"
	mkdir -p /run/faultline "$out"
	[ -z "$(ls -A "$J" 2>/dev/null)" ] # no entry of another faultline
	FL_J_TAMPERED=1
	rm -rf "$J"
	ln -s "$out" "$J"
	run env FAULTLINE_DISABLE=tcx nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINE" inject loss 100% \
		--dev va --protocol icmp --for 2s
	echo "$output"
	[ "$status" -ne 0 ]
	grep -q "cannot attach to va: the clsact journal $J is a symbolic link" <<<"$output"
	[ -z "$(ls -A "$out")" ]                                 # nothing written through the link
	[ -z "$(tc -n "$FL_NS_A" filter show dev va egress)" ] # nothing attached
	[ "$(ping_loss 5)" = 0 ]

	rm "$J"
	mkdir "$J"
	chmod 0777 "$J"
	run env FAULTLINE_DISABLE=tcx nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINE" inject loss 100% \
		--dev va --protocol icmp --for 2s
	echo "$output"
	[ "$status" -ne 0 ]
	grep -q "the clsact journal $J is owned by uid 0 with mode 0777: refused" <<<"$output"
	[ -z "$(ls -A "$J")" ]
	[ -z "$(tc -n "$FL_NS_A" filter show dev va egress)" ]

	# a root-only journal again, holding a link where an entry should be: the
	# next start removes the link without reading through it
	chmod 0755 "$J"
	echo "1 1 1 1 1 0" >"$victim"
	ln -s "$victim" "$J/clsact-1-1-1-1"
	FAULTLINE_DISABLE=tcx fl_inject_bg loss 100% --dev va --protocol icmp
	[ ! -e "$J/clsact-1-1-1-1" ] && [ ! -L "$J/clsact-1-1-1-1" ]
	[ "$(cat "$victim")" = "1 1 1 1 1 0" ]
	[ "$(ls "$J" | grep -c '^clsact-')" -eq 1 ] # its own entry
	[ "$(ping_loss 10)" = 100 ]
	fl_stop
	[ "$(ping_loss 10)" = 0 ]
	assert_no_residue
}
