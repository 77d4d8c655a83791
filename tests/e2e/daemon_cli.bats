#!/usr/bin/env bats
# tests/e2e/daemon_cli.bats - the faultline CLI as a client of faultlined
# (ls, status [--wait], stop [--all], schedule add|ls|rm, run --detach), held
# to docs/faultline.1.md and docs/api.md: what each prints, and its exit code
# (0 ok, 2 bad input, 4 refused, 1 the daemon cannot be reached).
# Each test starts its own daemon in namespace A (socket and store under the
# test's tmpdir, --foreground) and kills it by PID in teardown; traffic only
# flows between the test's own namespaces (va 10.200.0.1 <-> vb 10.200.0.2).

load ../lib/common

setup() {
	FAULTLINED=${FAULTLINED:-$(dirname "$FAULTLINE")/faultlined}
	SOCK=$BATS_TEST_TMPDIR/d.sock
	STATE=$BATS_TEST_TMPDIR/state
	export FAULTLINE_SOCKET=$SOCK
	unset FAULTLINE_URL FAULTLINE_TOKEN_FILE
	fl_setup_netns
	DPID=
}

teardown() {
	# SIGTERM first: the daemon rolls back and stops; teardown_netns KILLs
	# whatever is left
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID"
		local i
		for i in $(seq 1 100); do
			kill -0 "$DPID" 2>/dev/null || break
			sleep 0.05
		done
	fi
	# shown when the test failed
	[ -f "$BATS_TEST_TMPDIR/d.log" ] && sed 's/^/# daemon: /' "$BATS_TEST_TMPDIR/d.log" >&2
	fl_teardown_netns
}


# scenario FILE NAME DURATION TARGET STEP [EXTRA YAML]: write a scenario file
scenario() {
	printf 'version: 1\nname: %s\nduration: %s\ntargets:\n  t: %s\nfaults:\n  - %s\n%s' \
		"$2" "$3" "$4" "$5" "${6:-}" >"$1"
}

# detach FILE: run --detach; sets ID to the new experiment's id
detach() {
	run "$FAULTLINE" run --detach "$1"
	assert_success
	ID=$(grep -o 'e-[0-9a-f]\{12\}' <<<"$output" | head -1)
	[ -n "$ID" ]
}

# wait_state ID STATE: poll `faultline status --json` (5 s)
wait_state() {
	local i s
	for i in $(seq 1 100); do
		s=$("$FAULTLINE" status --json "$1" | jq -r .state)
		[ "$s" = "$2" ] && return 0
		sleep 0.05
	done
	echo "experiment $1 did not reach $2 (last: $s)" >&2
	return 1
}

# matched ID: the first step's matched counter, from the human status output
matched() { "$FAULTLINE" status "$1" | sed -nE 's/.*step 1 .* matched ([0-9]+) packets.*/\1/p'; }

# daemon_links: the tcx links the daemon holds (its file descriptors); other
# daemons and tests on this host do not count
daemon_links() { grep -l '^link_type:[[:space:]]*tcx' /proc/"$DPID"/fdinfo/* 2>/dev/null | wc -l; }

# assert_va_clean: nothing of the daemon's is attached to va any more (tcx
# links, or the clsact fallback's filters), though the daemon still runs
assert_va_clean() {
	[ "$(daemon_links)" -eq 0 ] || { echo "the daemon still holds $(daemon_links) tcx link(s)" >&2; return 1; }
	[ -z "$(tc -n "$FL_NS_A" filter show dev va egress)" ] || { echo "tc egress filter left on va" >&2; return 1; }
	[ -z "$(tc -n "$FL_NS_A" filter show dev va ingress)" ] || { echo "tc ingress filter left on va" >&2; return 1; }
}

ping_loss() { ns_a ping -c "$1" -i 0.05 -W 1 -q 10.200.0.2 | sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p'; }

@test "ls_is_empty_then_lists_a_detached_experiment" {
	fl_start_daemon
	run "$FAULTLINE" ls
	assert_success
	assert_output --regexp '^ID +NAME +STATE +STARTED +VERDICT +REASON$'
	run "$FAULTLINE" ls --json
	assert_success
	[ "$(jq '.experiments | length' <<<"$output")" -eq 0 ]

	scenario "$BATS_TEST_TMPDIR/s.yaml" icmp-drop 30s '{dev: va, protocol: icmp}' '{target: t, loss: 100%}'
	detach "$BATS_TEST_TMPDIR/s.yaml"
	assert_output "faultline: experiment $ID (icmp-drop) started on faultlined; 'faultline status $ID' to follow it, 'faultline stop $ID' to end it"
	wait_state "$ID" running
	run "$FAULTLINE" ls
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 1 --regexp "^$ID +icmp-drop +running +20[0-9-]+T[0-9:.]+Z +- +-$"
	run "$FAULTLINE" ls --state running --limit 1 --json
	assert_success
	[ "$(jq -r '.experiments[0].id' <<<"$output")" = "$ID" ]
	run "$FAULTLINE" ls --state completed
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	# bad query values are the daemon's 400: exit 2
	run "$FAULTLINE" ls --state bogus
	[ "$status" -eq 2 ]
	assert_output --partial 'faultline: bad query parameter: state: "bogus" is not a state'
	run "$FAULTLINE" ls --limit 0
	[ "$status" -eq 2 ]
}

@test "status_shows_the_steps_with_matched_growing_stop_rolls_back_and_says_aborted" {
	fl_start_daemon
	scenario "$BATS_TEST_TMPDIR/s.yaml" icmp-drop 60s '{dev: va, protocol: icmp}' '{target: t, loss: 100%}'
	detach "$BATS_TEST_TMPDIR/s.yaml"
	wait_state "$ID" running
	run "$FAULTLINE" status "$ID"
	assert_success
	assert_line --index 0 "$ID  icmp-drop"
	assert_line --regexp '^  state +running$'
	assert_line --regexp '^  started +20[0-9-]+T[0-9:.]+Z$'
	assert_line --regexp '^  step 1 +live +loss 100% on t: matched [0-9]+ packets \([0-9]+ bytes\)$'
	m0=$(matched "$ID")
	loss=$(ping_loss 20)
	echo "# ping loss while the step is live: $loss%"
	[ "$loss" = 100 ]
	sleep 0.6 # the daemon reads the counters every 250 ms
	m1=$(matched "$ID")
	echo "# matched $m0 -> $m1"
	[ "$m1" -ge $((m0 + 20)) ]
	run "$FAULTLINE" status --json "$ID"
	assert_success
	jq -e --arg id "$ID" '.id == $id and .steps[0].state == "live" and .steps[0].bytes > 0 and .exit_code == null' <<<"$output"
	[ "$(daemon_links)" -ge 1 ] || [ -n "$(tc -n "$FL_NS_A" filter show dev va egress)" ]

	# stop: rolled back at once, the final state printed
	run "$FAULTLINE" stop "$ID"
	assert_success
	assert_output --regexp "^$ID aborted: .+"
	loss=$(ping_loss 10)
	echo "# ping loss after stop: $loss%"
	[ "$loss" = 0 ]
	run "$FAULTLINE" status "$ID"
	assert_success
	assert_line --regexp '^  state +aborted: .+'
	assert_line --regexp '^  ended +20[0-9-]+T[0-9:.]+Z$'
	assert_line --regexp '^  verdict +aborted \(exit [0-9]+\)$'
	assert_line --regexp '^  step 1 +done +loss 100% on t: matched [0-9]+ packets'

	# stopping it again: 409, exit 4; an unknown id: 404, exit 2
	run "$FAULTLINE" stop "$ID"
	[ "$status" -eq 4 ]
	assert_output --partial "faultline: the experiment has ended: "
	run "$FAULTLINE" status e-000000000000
	[ "$status" -eq 2 ]
	assert_output --partial "faultline: no such experiment: "
	run "$FAULTLINE" stop e-000000000000
	[ "$status" -eq 2 ]
	assert_va_clean
}

@test "status_wait_exits_with_the_experiments_exit_code" {
	fl_start_daemon
	scenario "$BATS_TEST_TMPDIR/ok.yaml" short 1s '{dev: va, protocol: icmp}' '{target: t, loss: 1%}'
	detach "$BATS_TEST_TMPDIR/ok.yaml"
	SECONDS=0
	run "$FAULTLINE" status --wait "$ID"
	echo "# status --wait returned after ${SECONDS}s"
	assert_success
	assert_line --regexp '^  state +completed'
	assert_line --regexp '^  verdict +passed \(exit 0\)$'
	# the steady state does not hold before (nothing listens on port 9 in
	# B): nothing is injected, verdict failed, exit 3
	scenario "$BATS_TEST_TMPDIR/probe.yaml" probe-fails 5s '{dev: va, protocol: icmp}' '{target: t, loss: 1%}' \
		"$(printf 'steady_state:\n  - {name: closed, tcp: {host: 10.200.0.2, port: 9, timeout: 200ms}}\n')"
	detach "$BATS_TEST_TMPDIR/probe.yaml"
	run "$FAULTLINE" status "$ID" --wait --json
	[ "$status" -eq 3 ]
	jq -e '.verdict == "failed" and .exit_code == 3' <<<"$output"
}

@test "stop_all_is_the_halt_button" {
	fl_start_daemon
	run "$FAULTLINE" stop --all
	assert_success # nothing to stop
	scenario "$BATS_TEST_TMPDIR/icmp.yaml" icmp 60s '{dev: va, protocol: icmp}' '{target: t, loss: 100%}'
	scenario "$BATS_TEST_TMPDIR/udp.yaml" udp 60s '{dev: va, protocol: udp, port: 7777}' '{target: t, loss: 50%}'
	detach "$BATS_TEST_TMPDIR/icmp.yaml"
	id1=$ID
	detach "$BATS_TEST_TMPDIR/udp.yaml"
	id2=$ID
	wait_state "$id1" running
	wait_state "$id2" running
	# the same flows again: 409 naming the holder, exit 4
	run "$FAULTLINE" run --detach "$BATS_TEST_TMPDIR/icmp.yaml"
	[ "$status" -eq 4 ]
	assert_output --partial "faultline: the flows are held by another experiment: "
	assert_output --partial "$id1"
	[ "$(ping_loss 5)" = 100 ]
	run "$FAULTLINE" stop --all
	assert_success
	assert_line --regexp "^$id1 aborted: "
	assert_line --regexp "^$id2 aborted: "
	[ "$(ping_loss 5)" = 0 ]
	run "$FAULTLINE" ls --state running --json
	[ "$(jq '.experiments | length' <<<"$output")" -eq 0 ]
	run "$FAULTLINE" ls --state aborted --json
	[ "$(jq '.experiments | length' <<<"$output")" -eq 2 ]
	assert_va_clean
}

@test "schedule_add_ls_rm_round_trip" {
	fl_start_daemon
	scenario "$BATS_TEST_TMPDIR/sched.yaml" hourly 1s '{dev: va, protocol: udp, port: 7999}' '{target: t, loss: 1%}' \
		"$(printf 'schedule: "@every 1h"\n')"
	run "$FAULTLINE" schedule add "$BATS_TEST_TMPDIR/sched.yaml"
	assert_success
	sid=$(grep -o 's-[0-9a-f]\{12\}' <<<"$output" | head -1)
	[ -n "$sid" ]
	assert_output --regexp "^faultline: schedule $sid \(hourly, @every 1h\) added; next run 20[0-9-]+T[0-9:.]+Z$"
	run "$FAULTLINE" schedule ls
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 1 --regexp "^$sid +hourly +@every 1h +20[0-9-]+T[0-9:.]+Z +0 +0$"
	run "$FAULTLINE" schedule ls --json
	assert_success
	# first fires an hour after it was added
	jq -e --arg s "$sid" '.schedules | length == 1 and .[0].id == $s and .[0].runs == 0 and
		((.[0].next_run | sub("\\.[0-9]+Z$"; "Z") | fromdate) - now) > 3500' <<<"$output"
	# JSON by the file's name, too
	printf '{"version": 1, "name": "j", "duration": "1s", "schedule": "@every 1h", "targets": {"t": {"dev": "va", "protocol": "udp", "port": 7998}}, "faults": [{"target": "t", "loss": "1%%"}]}' \
		>"$BATS_TEST_TMPDIR/j.json"
	run "$FAULTLINE" schedule add --json "$BATS_TEST_TMPDIR/j.json"
	assert_success
	sid2=$(jq -r .id <<<"$output")
	jq -e '.name == "j" and .schedule == "@every 1h"' <<<"$output"
	run "$FAULTLINE" schedule rm "$sid" "$sid2"
	assert_success
	assert_line "$sid removed"
	assert_line "$sid2 removed"
	run "$FAULTLINE" schedule ls
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	run "$FAULTLINE" schedule rm "$sid"
	[ "$status" -eq 2 ]
	assert_output --partial "faultline: no such schedule: "
	# no schedule: key: the daemon's 422, exit 2
	scenario "$BATS_TEST_TMPDIR/none.yaml" none 1s '{dev: va}' '{target: t, loss: 1%}'
	run "$FAULTLINE" schedule add "$BATS_TEST_TMPDIR/none.yaml"
	[ "$status" -eq 2 ]
	assert_output --partial "schedule:"
	# nothing ran
	run "$FAULTLINE" ls --json
	[ "$(jq '.experiments | length' <<<"$output")" -eq 0 ]
}

@test "a_bad_scenario_prints_file_line_col_errors_and_exits_2" {
	fl_start_daemon
	printf 'version: 1\nname: x\nduration: 5\nschedule: "@every 1h"\n' >"$BATS_TEST_TMPDIR/bad.yaml"
	run "$FAULTLINE" schedule add "$BATS_TEST_TMPDIR/bad.yaml"
	[ "$status" -eq 2 ]
	assert_line --index 0 --partial "faultline: the scenario is invalid: "
	assert_line "$BATS_TEST_TMPDIR/bad.yaml:3:11: duration: \"5\" needs a unit, e.g. 5s, 500ms, 2m"
	# JSON, every problem at once, the same lines as faultline validate
	printf '{"version": 1, "name": "j", "duration": "1x", "schedule": "@every 1h", "targets": {"t": {"dev": "va"}}, "faults": [{"target": "t", "loss": "200%%"}]}' \
		>"$BATS_TEST_TMPDIR/bad.json"
	run "$FAULTLINE" validate "$BATS_TEST_TMPDIR/bad.json"
	[ "$status" -eq 2 ]
	want=$output
	run "$FAULTLINE" schedule add "$BATS_TEST_TMPDIR/bad.json"
	[ "$status" -eq 2 ]
	[ "$(grep -c "^$BATS_TEST_TMPDIR/bad.json:1:[0-9]*: " <<<"$output")" -eq 2 ]
	[ "$(grep "^$BATS_TEST_TMPDIR/bad.json:" <<<"$output")" = "$want" ]
	# YAML syntax: 400, its line:col
	printf 'version: 1\nname: [x\n' >"$BATS_TEST_TMPDIR/syntax.yaml"
	run "$FAULTLINE" schedule add "$BATS_TEST_TMPDIR/syntax.yaml"
	[ "$status" -eq 2 ]
	assert_line --regexp "^$BATS_TEST_TMPDIR/syntax.yaml:[0-9]+:[0-9]+: YAML syntax: "
	# valid, but cannot be resolved on this host: 422 with the field's line
	scenario "$BATS_TEST_TMPDIR/nodev.yaml" nodev 10s '{dev: nosuch0, protocol: icmp}' '{target: t, loss: 1%}'
	run "$FAULTLINE" run --detach "$BATS_TEST_TMPDIR/nodev.yaml"
	[ "$status" -eq 2 ]
	assert_line "$BATS_TEST_TMPDIR/nodev.yaml:5:3: targets.t.dev: no interface named \"nosuch0\" here"
	# a file that cannot be read
	run "$FAULTLINE" schedule add "$BATS_TEST_TMPDIR/missing.yaml"
	[ "$status" -eq 2 ]
	run "$FAULTLINE" ls --json
	[ "$(jq '.experiments | length' <<<"$output")" -eq 0 ]
	run "$FAULTLINE" schedule ls --json
	[ "$(jq '.schedules | length' <<<"$output")" -eq 0 ]
}

@test "over_tcp_with_the_bearer_token" {
	local tok port=17170
	tok=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	printf '%s\n' "$tok" >"$BATS_TEST_TMPDIR/token"
	printf 'wrong\n' >"$BATS_TEST_TMPDIR/wrong"
	chmod 0600 "$BATS_TEST_TMPDIR/token" "$BATS_TEST_TMPDIR/wrong"
	fl_start_daemon --listen "127.0.0.1:$port" --token-file "$BATS_TEST_TMPDIR/token"
	unset FAULTLINE_SOCKET
	run ns_a "$FAULTLINE" ls --url "http://127.0.0.1:$port" --token-file "$BATS_TEST_TMPDIR/token"
	assert_success
	assert_output --regexp '^ID +NAME'
	run ns_a env FAULTLINE_URL="http://127.0.0.1:$port" FAULTLINE_TOKEN_FILE="$BATS_TEST_TMPDIR/token" \
		"$FAULTLINE" schedule ls
	assert_success
	run ns_a "$FAULTLINE" ls --url "http://127.0.0.1:$port" --token-file "$BATS_TEST_TMPDIR/wrong"
	[ "$status" -eq 2 ]
	assert_output --partial "faultline: unauthorized: "
	run ns_a "$FAULTLINE" ls --url "http://127.0.0.1:$port"
	[ "$status" -eq 2 ]
	# --socket wins over $FAULTLINE_URL
	run ns_a env FAULTLINE_URL="http://127.0.0.1:$port" "$FAULTLINE" ls --socket "$SOCK"
	assert_success
	run ns_a "$FAULTLINE" ls --url "127.0.0.1:$port"
	[ "$status" -eq 2 ]
}

@test "flags_help_and_usage_errors" {
	for c in ls status stop "schedule"; do
		# shellcheck disable=SC2086
		run "$FAULTLINE" $c --help
		assert_success
		assert_line --index 0 --partial "Usage: faultline $c"
		assert_output --partial "--socket PATH"
		assert_output --partial "--url URL"
		assert_output --partial "--token-file FILE"
		assert_output --partial "--json"
	done
	run "$FAULTLINE" status --help
	assert_output --partial "--wait"
	run "$FAULTLINE" stop --help
	assert_output --partial "--all"
	run "$FAULTLINE" ls --bogus
	[ "$status" -eq 2 ]
	assert_output --partial "faultline ls: unknown option '--bogus'"
	run "$FAULTLINE" ls extra
	[ "$status" -eq 2 ]
	run "$FAULTLINE" status
	[ "$status" -eq 2 ]
	run "$FAULTLINE" status e-1 e-2
	[ "$status" -eq 2 ]
	run "$FAULTLINE" stop
	[ "$status" -eq 2 ]
	run "$FAULTLINE" stop --all e-1
	[ "$status" -eq 2 ]
	run "$FAULTLINE" schedule
	[ "$status" -eq 2 ]
	run "$FAULTLINE" schedule frob
	[ "$status" -eq 2 ]
	run "$FAULTLINE" schedule add
	[ "$status" -eq 2 ]
	run "$FAULTLINE" schedule rm
	[ "$status" -eq 2 ]
	run "$FAULTLINE" ls --socket "$SOCK" --url http://127.0.0.1:1
	[ "$status" -eq 2 ]
}

@test "the_daemon_down_exits_1_with_the_reason" {
	fl_start_daemon
	run "$FAULTLINE" ls
	assert_success
	kill -TERM "$DPID"
	wait "$DPID" || true
	local hint="(is it running? 'sudo faultlined' or 'systemctl start faultlined')"
	for c in "ls" "status e-000000000000" "stop --all" "schedule ls"; do
		# shellcheck disable=SC2086
		run "$FAULTLINE" $c
		[ "$status" -eq 1 ]
		assert_output --regexp "^faultline: cannot reach faultlined at $SOCK: .+"
		assert_output --partial "$hint"
	done
	scenario "$BATS_TEST_TMPDIR/s.yaml" s 10s '{dev: va, protocol: icmp}' '{target: t, loss: 1%}'
	run "$FAULTLINE" run --detach "$BATS_TEST_TMPDIR/s.yaml"
	[ "$status" -eq 1 ]
	assert_output --partial "cannot reach faultlined at $SOCK"
	run "$FAULTLINE" ls --socket "$BATS_TEST_TMPDIR/none.sock"
	[ "$status" -eq 1 ]
	assert_output --partial "cannot reach faultlined at $BATS_TEST_TMPDIR/none.sock: "
	# without --socket and $FAULTLINE_SOCKET: the default socket, named
	if [ ! -e /run/faultline/faultlined.sock ]; then
		run env -u FAULTLINE_SOCKET "$FAULTLINE" ls
		[ "$status" -eq 1 ]
		assert_output --partial "cannot reach faultlined at /run/faultline/faultlined.sock: "
	fi
}

@test "ids_and_query_values_are_data_and_wait_on_a_restart_aborted_run_is_no_success" {
	fl_start_daemon
	run "$FAULTLINE" ls --socket
	[ "$status" -eq 2 ]
	assert_output --partial "faultline ls: --socket needs a value"
	run "$FAULTLINE" ls --state 'a b'
	[ "$status" -eq 2 ]
	run "$FAULTLINE" status 'x y'
	[ "$status" -eq 2 ]
	run "$FAULTLINE" status ../health
	[ "$status" -eq 2 ]
	run "$FAULTLINE" stop
	[ "$status" -eq 2 ]
	refute_output --partial "not both"
	# kill -9 of the daemon: on restart its experiment is aborted with no
	# exit code; status --wait must not call that a success
	scenario "$BATS_TEST_TMPDIR/s.yaml" s 60s '{dev: va, protocol: icmp}' '{target: t, loss: 100%}'
	detach "$BATS_TEST_TMPDIR/s.yaml"
	wait_state "$ID" running
	kill -KILL "$DPID"
	wait "$DPID" || true
	rm -f "$SOCK"
	fl_start_daemon
	run "$FAULTLINE" status --wait "$ID"
	[ "$status" -eq 4 ]
	assert_line --regexp '^  state +aborted: daemon restarted$'
}
