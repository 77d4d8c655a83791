#!/usr/bin/env bats
# tests/e2e/daemon.bats - faultlined beyond its API contract (which
# daemon_api.bats proves endpoint by endpoint) and its CLI (daemon_cli.bats):
# experiments share one classifier per hook, a hung daemon stops faulting
# within its lease, history and schedules survive a restart, and inject
# --detach / run --detach hand their faults to the daemon.
# Each test starts its own daemon in namespace A (socket and store under the
# test's tmpdir), talks to it with curl --unix-socket (or TCP with a token)
# and with the faultline CLI, and sends real traffic between A and B.
# Teardown kills every process by PID and removes the namespaces.

load ../lib/common

setup() {
	FAULTLINED=${FAULTLINED:-$(dirname "$FAULTLINE")/faultlined}
	SOCK=$BATS_TEST_TMPDIR/d.sock
	STATE=$BATS_TEST_TMPDIR/state
	export FAULTLINE_SOCKET=$SOCK
	fl_setup_netns
}

teardown() {
	fl_teardown_netns
}


# api METHOD PATH [CURL ARGS...]: sets CODE, BODY, CTYPE
api() {
	local m=$1 p=$2 hdr=$BATS_TEST_TMPDIR/hdr.$RANDOM
	shift 2
	BODY=$(curl -s --unix-socket "$SOCK" -X "$m" -D "$hdr" -w '\n%{http_code}' "$@" \
		"http://localhost$p")
	CODE=${BODY##*$'\n'}
	BODY=${BODY%$'\n'*}
	CTYPE=$(awk -F': ' 'tolower($1) == "content-type" { sub("\r", "", $2); print $2 }' "$hdr")
	HEADERS=$(cat "$hdr")
}

post_yaml() { api POST "$1" -H 'Content-Type: application/yaml' --data-binary "$2"; }

wait_state() { # ID STATE
	local i
	for i in $(seq 1 100); do
		api GET "/v1/experiments/$1"
		[ "$(jq -r .state <<<"$BODY")" = "$2" ] && return 0
		sleep 0.05
	done
	echo "experiment $1 did not reach $2: $BODY" >&2
	return 1
}

ping_loss() { ns_a ping -c "$1" -i 0.05 -W 1 -q 10.200.0.2 | sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p'; }

@test "two_experiments_on_one_hook_hold_one_tcx_link" {
	fl_start_daemon
	post_yaml /v1/experiments "$(fl_scenario icmp 30s '{dev: va, protocol: icmp}' '{target: t, loss: 100%}')"
	[ "$CODE" = 201 ]
	id=$(jq -r .id <<<"$BODY")
	post_yaml /v1/experiments "$(fl_scenario udp 30s '{dev: va, protocol: udp, port: 7777}' '{target: t, loss: 10%}')"
	[ "$CODE" = 201 ]
	id2=$(jq -r .id <<<"$BODY")
	wait_state "$id" running
	wait_state "$id2" running
	[ "$(ping_loss 5)" = 100 ]
	# two experiments, one program on the hook: untargeted packets pay once
	links=$(grep -l 'link_type:[[:space:]]*tcx' /proc/"$DPID"/fdinfo/* 2>/dev/null | wc -l)
	echo "# tcx links of the daemon with two experiments on va egress: $links"
	[ "$links" -eq 1 ]
	api DELETE "/v1/experiments/$id"
	[ "$CODE" = 200 ]
	[ "$(ping_loss 5)" = 0 ]
	api DELETE "/v1/experiments/$id2"
	[ "$CODE" = 200 ]
	# the last experiment gone, the hook is free
	[ "$(grep -l 'link_type:[[:space:]]*tcx' /proc/"$DPID"/fdinfo/* 2>/dev/null | wc -l)" -eq 0 ]
}

@test "the_cli_client_and_detached_runs" {
	fl_start_daemon
	run "$FAULTLINE" ls
	assert_success
	[ "$(echo "$output" | wc -l)" -eq 1 ] # the header only
	# inject --detach: the daemon applies it
	run nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINE" inject loss 100% --dev va --protocol icmp --for 30s --detach
	assert_success
	id=$(grep -o 'e-[0-9a-f]\{12\}' <<<"$output" | head -1)
	wait_state "$id" running
	[ "$(ping_loss 5)" = 100 ]
	run "$FAULTLINE" status "$id"
	assert_success
	[[ "$output" == *"loss 100% on inject"* ]]
	run "$FAULTLINE" stop "$id"
	assert_success
	[ "$(ping_loss 5)" = 0 ]
	run "$FAULTLINE" stop "$id"
	[ "$status" -eq 4 ]
	run "$FAULTLINE" status e-000000000000
	[ "$status" -eq 2 ]
	run "$FAULTLINE" inject loss 1% --dev lo --detach
	[ "$status" -eq 2 ] # --for is required
	# run --detach, status --wait gives the experiment's exit code
	fl_scenario short 1s '{dev: va, protocol: icmp}' '{target: t, loss: 1%}' >"$BATS_TEST_TMPDIR/s.yaml"
	run "$FAULTLINE" run --detach "$BATS_TEST_TMPDIR/s.yaml"
	assert_success
	id=$(grep -o 'e-[0-9a-f]\{12\}' <<<"$output" | head -1)
	run "$FAULTLINE" status --wait "$id"
	assert_success
	[[ "$output" == *"completed"* ]]
	# the halt button
	nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINE" inject loss 100% --dev va --protocol icmp --for 30s --detach
	nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINE" inject loss 100% --dev va --protocol udp --for 30s --detach
	run "$FAULTLINE" stop --all
	assert_success
	run "$FAULTLINE" ls --state running --json
	[ "$(jq '.experiments | length' <<<"$output")" -eq 0 ]
	# bad scenario via schedule add: file:line:col, exit 2
	printf 'version: 1\nname: x\nduration: 5\n' >"$BATS_TEST_TMPDIR/bad.yaml"
	run "$FAULTLINE" schedule add "$BATS_TEST_TMPDIR/bad.yaml"
	[ "$status" -eq 2 ]
	[[ "$output" == *"bad.yaml:3:11: duration:"* ]]
	# the daemon down: exit 1 with the reason
	kill "$DPID"
	wait "$DPID" || true
	run "$FAULTLINE" ls
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot reach faultlined"* ]]
}

@test "a_hung_daemon_stops_faulting_within_its_lease" {
	fl_start_daemon --lease 500ms
	post_yaml /v1/experiments "$(fl_scenario icmp 60s '{dev: va, protocol: icmp}' '{target: t, loss: 100%}')"
	id=$(jq -r .id <<<"$BODY")
	wait_state "$id" running
	[ "$(ping_loss 3)" = 100 ]
	kill -STOP "$DPID"
	sleep 1
	# frozen for twice its lease: the kernel ended the fault by itself
	[ "$(ping_loss 5)" = 0 ]
	kill -CONT "$DPID"
	# awake again, the daemon sees the lapsed lease and rolls back
	for i in $(seq 1 50); do
		api GET "/v1/experiments/$id"
		[ "$(jq -r .state <<<"$BODY")" != running ] && break
		sleep 0.1
	done
	[ "$(jq -r .state <<<"$BODY")" = failed ]
	[[ "$(jq -r .reason <<<"$BODY")" == *"lease lapsed"* ]]
	[ "$(ping_loss 3)" = 0 ]
}

@test "history_and_schedules_survive_a_restart" {
	fl_start_daemon
	fl_scenario short 1s '{dev: va, protocol: icmp}' '{target: t, loss: 1%}' >"$BATS_TEST_TMPDIR/s.yaml"
	post_yaml /v1/experiments "$(cat "$BATS_TEST_TMPDIR/s.yaml")"
	id=$(jq -r .id <<<"$BODY")
	wait_state "$id" completed
	post_yaml /v1/schedules "$(printf 'version: 1\nname: nightly\nduration: 1s\nschedule: "0 3 * * *"\ntargets:\n  t: {dev: va, protocol: icmp}\nfaults:\n  - {target: t, loss: 1%%}\n')"
	[ "$CODE" = 201 ]
	sid=$(jq -r .id <<<"$BODY")
	next=$(jq -r .next_run <<<"$BODY")
	kill "$DPID"
	wait "$DPID" || true
	fl_start_daemon
	api GET "/v1/experiments/$id"
	[ "$CODE" = 200 ] && [ "$(jq -r .state <<<"$BODY")" = completed ]
	api GET "/v1/experiments/$id/report"
	[ "$CODE" = 200 ] && [ "$(jq -r .verdict <<<"$BODY")" = passed ]
	api GET "/v1/schedules/$sid"
	[ "$CODE" = 200 ] && [ "$(jq -r .next_run <<<"$BODY")" = "$next" ]
}

@test "the_store_keeps_keep_history_ended_experiments_as_each_ends_and_at_start_up" {
	metric() { # NAME[{LABELS}]: its value on /metrics
		api GET /metrics
		awk -v n="$1" '$1 == n { print $2 }' <<<"$BODY"
	}
	fl_start_daemon --keep-history 2
	ids=()
	for n in 1 2 3; do
		post_yaml /v1/experiments "$(fl_scenario "h$n" 1s "{dev: va, protocol: udp, port: 900$n}" '{target: t, loss: 1%}')"
		[ "$CODE" = 201 ]
		ids+=("$(jq -r .id <<<"$BODY")")
	done
	for id in "${ids[@]}"; do fl_wait_state "$id" completed; done
	# three ended, two kept: the oldest went as the last ones ended
	[ "$(metric 'faultline_experiments{state="completed"}')" = 2 ]
	[ "$(metric faultline_store_pruned_total)" = 1 ]
	kill "$DPID"
	wait "$DPID" || true

	# a smaller limit at start-up: only the newest stays in the store
	fl_start_daemon --keep-history 1
	api GET "/v1/experiments/${ids[2]}"
	[ "$CODE" = 200 ]
	[ "$(jq -r .state <<<"$BODY")" = completed ]
	for id in "${ids[0]}" "${ids[1]}"; do
		api GET "/v1/experiments/$id"
		[ "$CODE" = 404 ]
	done
	[ "$(metric faultline_store_pruned_total)" = 1 ]
	grep -q "deleted 1 ended experiment(s) from the store: it keeps the 1 newest" "$BATS_TEST_TMPDIR/d.log"
	kill "$DPID"
	wait "$DPID" || true

	# 0 keeps everything; a value that is no count is refused
	fl_start_daemon --keep-history 0
	[ "$(metric 'faultline_experiments{state="completed"}')" = 1 ]
	[ "$(metric faultline_store_pruned_total)" = 0 ]
	run "$FAULTLINED" --keep-history -3 --foreground --socket none --state-dir "$STATE"
	[ "$status" -eq 2 ]
	[[ "$output" == *'--keep-history: "-3" is not a number from 0 to 100000000'* ]]
}
