#!/usr/bin/env bats
# tests/e2e/run.bats - `faultline run FILE [-- CMD]`: a whole experiment on real
# traffic between the test's two namespaces (A: 10.200.0.1 on va, B:
# 10.200.0.2 on vb). faultline runs in A through nsenter (not ip netns exec,
# which mounts a fresh /sys and hides the cgroup2 mount the command's cgroup
# lives in). Every assertion is on a measured effect: packets that arrived or
# not, times in the report or on the wall clock, exit codes, files the
# command wrote.

load ../lib/common

setup() {
	fl_setup_netns
	T=$BATS_TEST_TMPDIR
}
teardown() {
	fl_teardown_netns
	[ -n "${FL_USER_DIR:-}" ] && rm -rf "$FL_USER_DIR"
	return 0
}

# run_fl ARGS...: `faultline run ARGS` in A, bounded at 60 s; sets RC and
# ELAPSED (wall-clock seconds); stdout and stderr go to $T/run.out, $T/run.err.
run_fl() {
	local t0 t1
	t0=$(date +%s%N)
	RC=0
	timeout -k 5 60 nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINE" run "$@" \
		>"$T/run.out" 2>"$T/run.err" || RC=$?
	t1=$(date +%s%N)
	ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	echo "# faultline run $* -> exit $RC after ${ELAPSED}s; stderr:"
	cat "$T/run.err"
}

# run_fl_bg ARGS...: the same in the background; sets FL_RUN_PID (faultline
# itself: nsenter execs it) and records the start in FL_RUN_T0 (ns).
run_fl_bg() {
	FL_RUN_T0=$(date +%s%N)
	nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINE" run "$@" >"$T/run.out" 2>"$T/run.err" &
	FL_RUN_PID=$!
	FL_PIDS+=("$FL_RUN_PID")
}

# lt A B: is the number A below B? Says so either way.
lt() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%s < %s: %s\n", a, b, (a < b) ? "yes" : "NO"; exit !(a < b) }'; }

# tdiff T1 T2: seconds from RFC 3339 time T1 to T2 (the report's times)
tdiff() {
	python3 -c 'import sys, datetime as d
f = lambda s: d.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
print("%.3f" % (f(sys.argv[2]) - f(sys.argv[1])).total_seconds())' "$1" "$2"
}

# the final line of the progress on stderr must be
# "faultline: verdict: VERDICT (exit N): REASON"
assert_verdict_line() {
	local last
	last=$(tail -n 1 "$T/run.err")
	echo "last stderr line: $last"
	[[ "$last" =~ ^faultline:\ verdict:\ $1\ \(exit\ $2\):\ .+ ]]
}

# python3 -m http.server in B on 10.200.0.2:8080, serving /health; waits
# (bounded) until A can fetch it.
start_http_b() {
	mkdir -p "$T/www"
	echo ok >"$T/www/health"
	ip netns exec "$FL_NS_B" /usr/bin/python3 -m http.server --bind 10.200.0.2 --directory "$T/www" 8080 \
		>/dev/null 2>&1 &
	FL_PIDS+=("$!")
	local i
	for i in $(seq 1 100); do
		ns_a curl -s --noproxy '*' -o /dev/null --max-time 1 http://10.200.0.2:8080/health && return 0
		sleep 0.05
	done
	echo "http server in B did not come up" >&2
	return 1
}

# (Background processes are started with `ip netns exec` itself, not through
# ns_a/ns_b: a function run with & is a subshell, and killing its PID in
# teardown would orphan the real process, which keeps bats' fd 3 open.)

# fl-traffic receiver in B on PORT (options after it); output in FILE. Sets RPID.
start_recv_b() {
	local port=$1 out=$2 ready="$T/ready.$RANDOM"
	shift 2
	ip netns exec "$FL_NS_B" "$FL_TRAFFIC" recv --port "$port" --ready "$ready" "$@" >"$out" &
	RPID=$!
	FL_PIDS+=("$RPID")
	local i
	for i in $(seq 1 100); do [ -e "$ready" ] && return 0; sleep 0.02; done
	echo "receiver did not start" >&2
	return 1
}

ping_ok() { ns_a ping -c 3 -i 0.1 -W 1 10.200.0.2 | grep -q " 0% packet loss"; }

validate_json_report() {
	python3 -c 'import json, jsonschema, sys
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "$1" docs/report.schema.json
}

@test "probe_failing_during_a_blackhole_aborts_in_time_and_rolls_back" {
	start_http_b
	cat >"$T/s.yaml" <<-EOF
		version: 1
		name: partition-aborts
		duration: 30s
		targets:
		  b: {dev: va, host: 10.200.0.2, direction: both}
		steady_state:
		  - name: b-http
		    http: {url: "http://10.200.0.2:8080/health", status: 200, timeout: 200ms}
		    every: 300ms
		    max_failures: 2
		faults:
		  - {target: b, at: 1s, for: 20s, blackhole: {}}
	EOF
	run_fl --report-json "$T/r.json" "$T/s.yaml"
	[ "$RC" -eq 3 ]
	assert_verdict_line aborted 3
	r="$T/r.json"
	jq -e '.verdict == "aborted" and .exit_code == 3 and .rollback.ok == true' "$r"
	jq -e '.steps[0] | .applied and .cut_short and (.end_cause | startswith("aborted"))' "$r"
	# the abort came within every * (max_failures + 1) + 1s of the blackhole's
	# start, and not before the third failure could have happened
	in_force=$(tdiff "$(jq -r '.steps[0].started' "$r")" "$(jq -r '.steps[0].ended' "$r")")
	lt "$in_force" 1.9
	lt 0.55 "$in_force"
	# exactly max_failures + 1 failures while the blackhole was in force; the
	# steady state held before and held again after the rollback
	jq -e '[.probes[0].results[] | select(.phase == "during" and (.ok | not))] | length == 3' "$r"
	jq -e '[.probes[0].results[] | select(.phase == "before")] | length == 1 and .[0].ok' "$r"
	jq -e '[.probes[0].results[] | select(.phase == "after")] | length == 1 and .[0].ok' "$r"
	# the whole run: 1 s before the blackhole, at most 1.9 s of it, the rest
	# is start-up, the probes before and after, and the rollback
	lt "$ELAPSED" 4.5
	# B is reachable again
	ns_a curl -s --noproxy '*' --max-time 2 http://10.200.0.2:8080/health | grep -qx ok
	ping_ok
	assert_no_residue_when_alone
}

@test "command_exit_0_passes_and_command_exit_7_is_the_exit_code" {
	start_http_b
	cat >"$T/s.yaml" <<-EOF
		version: 1
		name: cmd-exit
		duration: 20s
		targets:
		  b-udp: {host: 10.200.0.2, protocol: udp, port: 9999}
		steady_state:
		  - name: b-tcp
		    tcp: {host: 10.200.0.2, port: 8080, timeout: 500ms}
		    every: 500ms
		faults:
		  - {target: b-udp, loss: 50%}
		report: {json: $T/r.json}
	EOF
	run_fl "$T/s.yaml" -- sh -c 'exit 0'
	[ "$RC" -eq 0 ]
	assert_verdict_line passed 0
	jq -e '.verdict == "passed" and .exit_code == 0' "$T/r.json"
	jq -e '.command.ran and .command.exit_code == 0 and .command.argv == ["sh", "-c", "exit 0"]' "$T/r.json"
	# it ended at the command's exit, not at the 20 s cap
	lt "$ELAPSED" 5

	rm -f "$T/r.json"
	run_fl "$T/s.yaml" -- sh -c 'exit 7'
	[ "$RC" -eq 7 ]
	assert_verdict_line failed 7
	jq -e '.verdict == "failed" and .exit_code == 7 and .command.exit_code == 7' "$T/r.json"
	jq -e '.steps[0].applied and .rollback.ok' "$T/r.json"
	lt "$ELAPSED" 5
	assert_no_residue_when_alone
}

@test "hypothesis_failing_before_injection_injects_nothing_and_runs_no_command" {
	# nothing listens on B:8081; the step would drop every ICMP packet to B
	cat >"$T/s.yaml" <<-EOF
		version: 1
		name: broken-before
		duration: 20s
		targets:
		  b-icmp: {host: 10.200.0.2, protocol: icmp}
		steady_state:
		  - name: slow-but-fine
		    command: {run: "sleep 0.6"}
		  - name: service-up
		    tcp: {host: 10.200.0.2, port: 8081, timeout: 500ms}
		faults:
		  - {target: b-icmp, at: 0s, loss: 100%}
	EOF
	# ping B all through the run: a fault applied even for a moment loses some
	ip netns exec "$FL_NS_A" ping -c 100 -i 0.02 -W 1 10.200.0.2 >"$T/ping" &
	ppid=$!
	FL_PIDS+=("$ppid")
	sleep 0.1
	run_fl --report-json "$T/r.json" "$T/s.yaml" -- sh -c 'echo ran > "$1"' sh "$T/marker"
	[ "$RC" -eq 3 ]
	wait "$ppid" || true
	cat "$T/ping"
	grep -q " 0% packet loss" "$T/ping"
	# the command never ran
	[ ! -e "$T/marker" ]
	r="$T/r.json"
	jq -e '.exit_code == 3 and (.verdict == "failed" or .verdict == "aborted")' "$r"
	jq -e '.command == null or (.command.ran == false and .command.exit_code == null)' "$r"
	# no step was applied
	jq -e '.steps | length == 1 and all(.[]; .applied == false and .started == null)' "$r"
	jq -e '[.steps[0].counters[]] | all(. == 0)' "$r"
	# the failing probe says why; no probe ran during or after faults
	jq -e '.probes[1].results[0] | .phase == "before" and (.ok | not) and (.detail | test("refused"))' "$r"
	jq -e '[.probes[].results[] | select(.phase != "before")] | length == 0' "$r"
	assert_verdict_line '(failed|aborted)' 3
	assert_no_residue_when_alone
}

@test "command_target_hits_only_the_commands_own_flows" {
	cat >"$T/s.yaml" <<-EOF
		version: 1
		name: command-only
		duration: 20s
		targets:
		  mine: {command: true, protocol: udp}
		faults:
		  - {target: mine, loss: 100%}
	EOF
	start_recv_b 7777 "$T/recv" --by-source --idle 500 --max-time 15
	# a sender outside the command, started before the run, 5 s long
	ip netns exec "$FL_NS_A" "$FL_TRAFFIC" send --to 10.200.0.2 --port 7777 --count 5000 --rate 1000 >/dev/null &
	opid=$!
	FL_PIDS+=("$opid")
	# the command: 1000 packets to the same port, at the same time
	run_fl_bg --report-json "$T/r.json" "$T/s.yaml" -- \
		"$FL_TRAFFIC" send --to 10.200.0.2 --port 7777 --count 1000 --rate 2000
	fl_wait_exit "$FL_RUN_PID" 10
	cat "$T/run.err"
	[ "$FL_EXIT" -eq 0 ]
	# the command ran entirely while the outside sender was sending
	kill -0 "$opid"
	wait "$opid"
	wait "$RPID"
	cat "$T/recv"
	# only the outside flow arrived, every packet of it
	[ "$(jq '."7777".sources | length' "$T/recv")" -eq 1 ]
	[ "$(jq '[."7777".sources[]] | add' "$T/recv")" -eq 5000 ]
	# the step matched and dropped exactly the command's 1000 packets
	jq -e '.steps[0] | .applied and .counters.matched == 1000 and .counters.dropped == 1000' "$T/r.json"
	jq -e '.command.exit_code == 0 and .verdict == "passed"' "$T/r.json"
	assert_no_residue_when_alone
	# the command's cgroup (FL_RUN_CGROUP_PARENT/run-PID-N) is gone
	cg2=$(cgroup2_mount)
	[ -n "$cg2" ]
	[ -z "$(ls -d "$cg2/faultline/run-$FL_RUN_PID-"* 2>/dev/null)" ]
}

@test "run_user_runs_the_command_as_that_user_without_capabilities_and_its_flows_are_still_the_target" {
	getent passwd nobody >/dev/null || skip "no user nobody"
	cat >"$T/s.yaml" <<-EOF
		version: 1
		name: as-user
		duration: 20s
		targets:
		  mine: {command: true, protocol: udp}
		faults:
		  - {target: mine, loss: 100%}
	EOF
	start_recv_b 7777 "$T/recv" --by-source --idle 500 --max-time 15
	# a copy of fl-traffic nobody can run, whatever the checkout's modes
	FL_USER_DIR=$(mktemp -d /tmp/fl-user.XXXXXX)
	chmod 0755 "$FL_USER_DIR"
	install -m 0755 "$FL_TRAFFIC" "$FL_USER_DIR/fl-traffic"
	# the command says who it is (on faultline's stdout: nobody may not
	# write in the test's directory), then sends 500 packets
	run_fl --user nobody --report-json "$T/r.json" "$T/s.yaml" -- sh -c \
		'id -u; id -g; grep -E "^Cap(Eff|Prm):" /proc/self/status; echo "HOME=$HOME USER=$USER"; exec "$0" send --to 10.200.0.2 --port 7777 --count 500 --rate 2000 >/dev/null' \
		"$FL_USER_DIR/fl-traffic"
	[ "$RC" -eq 0 ]
	cat "$T/run.out"
	[ "$(sed -n 1p "$T/run.out")" = "$(id -u nobody)" ]
	[ "$(sed -n 2p "$T/run.out")" = "$(id -g nobody)" ]
	[ "$(grep -c '^Cap\(Eff\|Prm\):[[:space:]]*0000000000000000$' "$T/run.out")" -eq 2 ]
	grep -qx "HOME=$(getent passwd nobody | cut -d: -f6) USER=nobody" "$T/run.out"
	# its packets were still its cgroup's: every one matched and dropped
	jq -e '.steps[0] | .applied and .counters.matched == 500 and .counters.dropped == 500' "$T/r.json"
	wait "$RPID"
	[ "$(jq '[."7777".sources[]?] | add // 0' "$T/recv")" -eq 0 ]
	# the report faultline created is the user's
	[ "$(stat -c %U "$T/r.json")" = nobody ]
	assert_no_residue_when_alone

	# refused before anything runs: an unknown user, --user without a
	# command, --user with --detach
	run_fl --user faultline-no-such-user-$$ "$T/s.yaml" -- true
	[ "$RC" -eq 2 ]
	grep -q -- '--user: no user "faultline-no-such-user-' "$T/run.err"
	run_fl --user nobody "$T/s.yaml"
	[ "$RC" -eq 2 ]
	grep -q -- "--user: says who runs CMD" "$T/run.err"
	run_fl --user nobody --detach "$T/s.yaml"
	[ "$RC" -eq 2 ]
	ping_ok
}

@test "reports_validate_and_hold_both_steps_with_their_counters" {
	start_http_b
	cat >"$T/s.yaml" <<-EOF
		version: 1
		name: two-steps
		duration: 10s
		targets:
		  udp7777: {dev: va, protocol: udp, remote_port: 7777}
		  b-icmp: {host: 10.200.0.2, protocol: icmp}
		steady_state:
		  - name: b-tcp
		    tcp: {host: 10.200.0.2, port: 8080, timeout: 500ms}
		    every: 200ms
		faults:
		  - {target: udp7777, at: 0s, loss: 10%}
		  - {target: b-icmp, at: 0s, for: 8s, delay: 20ms}
		report: {json: $T/unused.json, junit: $T/unused.xml}
	EOF
	start_recv_b 7777 "$T/recv" --idle 500 --max-time 15
	run_fl --report-json "$T/r.json" --junit "$T/r.xml" "$T/s.yaml" -- sh -c \
		'"$1" send --to 10.200.0.2 --port 7777 --count 2000 --rate 4000 >/dev/null && ping -c 5 -i 0.1 -q 10.200.0.2 >"$2"' \
		sh "$FL_TRAFFIC" "$T/ping"
	[ "$RC" -eq 0 ]
	wait "$RPID"
	# the command-line paths win over the scenario's report: key
	[ ! -e "$T/unused.json" ]
	[ ! -e "$T/unused.xml" ]
	validate_json_report "$T/r.json"
	xmllint --noout --schema docs/junit.xsd "$T/r.xml"
	r="$T/r.json"
	jq -e '.verdict == "passed" and .exit_code == 0 and .rollback.ok' "$r"
	jq -e '.steps | length == 2 and all(.[]; .applied and .started != null and .ended != null)' "$r"
	jq -e '[.steps[].index] == [0, 1] and .steps[0].target == "udp7777" and .steps[1].target == "b-icmp"' "$r"
	# step 0 saw every UDP packet and dropped what the receiver missed
	received=$(jq '."7777".received' "$T/recv")
	jq -e --argjson rx "$received" '.steps[0].counters | .matched == 2000 and .dropped == 2000 - $rx' "$r"
	within_binomial $((2000 - received)) 2000 10
	# step 1 delayed the 5 echo requests, each once: every round trip took
	# 20 ms, plus a little
	cat "$T/ping"
	awk -F'[/ ]' '/^rtt/ { print "rtt min " $7 " ms, max " $9 " ms"; exit !($7 >= 20 && $9 < 60) }' "$T/ping"
	jq -e '.steps[1].counters | .matched == 5 and .delayed == 5' "$r"
	# the probe ran before, during and after
	for ph in before during after; do
		jq -e --arg ph "$ph" '[.probes[0].results[] | select(.phase == $ph)] | length >= 1 and all(.[]; .ok)' "$r"
	done
	jq -e '.probes[0] | .name == "b-tcp" and .kind == "tcp" and .failures == 0 and .runs >= 3' "$r"
	# JUnit: one probe, two steps, the command and the rollback, none failed
	[ "$(xmllint --xpath 'count(//testsuite[@name="two-steps"]/testcase)' "$T/r.xml")" -eq 5 ]
	[ "$(xmllint --xpath 'count(//testcase[@classname="faults"])' "$T/r.xml")" -eq 2 ]
	[ "$(xmllint --xpath 'count(//testcase[@classname="steady_state"][@name="b-tcp"])' "$T/r.xml")" -eq 1 ]
	[ "$(xmllint --xpath 'count(//failure) + count(//error)' "$T/r.xml")" -eq 0 ]
	[ "$(xmllint --xpath 'string(//testsuite/@failures)' "$T/r.xml")" = 0 ]
	assert_no_residue_when_alone
}

@test "sigint_mid_run_rolls_back_and_exits_130" {
	cat >"$T/s.yaml" <<-EOF
		version: 1
		name: interrupted
		duration: 40s
		targets:
		  b-icmp: {host: 10.200.0.2, protocol: icmp}
		faults:
		  - {target: b-icmp, at: 0s, for: 30s, loss: 100%}
	EOF
	ping_ok
	run_fl_bg --report-json "$T/r.json" "$T/s.yaml"
	lost=0
	for i in $(seq 1 50); do
		if ! ns_a ping -c 1 -W 0.2 10.200.0.2 >/dev/null; then lost=1; break; fi
		kill -0 "$FL_RUN_PID" || break
		sleep 0.1
	done
	cat "$T/run.err"
	[ "$lost" -eq 1 ]
	kill -INT "$FL_RUN_PID"
	fl_wait_exit "$FL_RUN_PID" 5
	cat "$T/run.err"
	[ "$FL_EXIT" -eq 130 ]
	assert_verdict_line aborted 130
	ping_ok
	jq -e '.verdict == "aborted" and .exit_code == 130 and .rollback.ok' "$T/r.json"
	jq -e '.steps[0] | .applied and .cut_short' "$T/r.json"
	assert_no_residue_when_alone
}

@test "sigterm_mid_run_stops_the_command_rolls_back_and_exits_130" {
	cat >"$T/s.yaml" <<-EOF
		version: 1
		name: terminated
		duration: 40s
		targets:
		  b-icmp: {host: 10.200.0.2, protocol: icmp}
		faults:
		  - {target: b-icmp, at: 0s, loss: 100%}
	EOF
	run_fl_bg --report-json "$T/r.json" "$T/s.yaml" -- sh -c 'echo $$ > "$1"; exec sleep 30' sh "$T/cmd.pid"
	for i in $(seq 1 100); do [ -s "$T/cmd.pid" ] && break; sleep 0.05; done
	cpid=$(cat "$T/cmd.pid")
	kill -0 "$cpid"
	# (a bare `! cmd` never fails a bats test: hence `|| false`)
	! ns_a ping -c 2 -i 0.1 -W 0.3 10.200.0.2 >/dev/null || false
	kill -TERM "$FL_RUN_PID"
	fl_wait_exit "$FL_RUN_PID" 8
	cat "$T/run.err"
	[ "$FL_EXIT" -eq 130 ]
	# the command did not outlive the run: it was stopped with SIGTERM
	! kill -0 "$cpid" 2>/dev/null || false
	jq -e '.verdict == "aborted" and .exit_code == 130 and .command.exit_code == 143' "$T/r.json"
	ping_ok
	assert_no_residue_when_alone
}

@test "bad_input_exits_2_with_the_validate_errors_and_applies_nothing" {
	cat >"$T/bad.yaml" <<-EOF
		version: 1
		name: bad
		duration: 10s
		targets:
		  b: {host: 10.200.0.2, protocl: udp}
		faults:
		  - {target: b, loss: 130%}
	EOF
	run "$FAULTLINE" validate "$T/bad.yaml"
	[ "$status" -eq 2 ]
	want=$output
	[ "${#lines[@]}" -ge 2 ]
	run_fl --report-json "$T/r.json" "$T/bad.yaml"
	[ "$RC" -eq 2 ]
	# every error as validate prints it: FILE:LINE:COL: path: message
	while IFS= read -r line; do
		[[ "$line" =~ ^$T/bad.yaml:[0-9]+:[0-9]+:\  ]]
		grep -qxF "$line" "$T/run.err"
	done <<<"$want"

	# a command: true target with no command to run
	cat >"$T/nocmd.yaml" <<-EOF
		version: 1
		name: nocmd
		duration: 10s
		targets:
		  mine: {command: true, protocol: udp}
		faults:
		  - {target: mine, loss: 100%}
	EOF
	run_fl "$T/nocmd.yaml"
	[ "$RC" -eq 2 ]
	grep -q "targets.mine.command" "$T/run.err"

	# a target that cannot be resolved on this host
	cat >"$T/nocg.yaml" <<-EOF
		version: 1
		name: nocg
		duration: 10s
		targets:
		  gone: {cgroup: /faultline-test-no-such-cgroup-$$, protocol: udp}
		faults:
		  - {target: gone, loss: 100%}
	EOF
	run_fl "$T/nocg.yaml"
	[ "$RC" -eq 2 ]
	grep -q "faultline-test-no-such-cgroup" "$T/run.err"

	# usage errors
	run_fl
	[ "$RC" -eq 2 ]
	run_fl --grace bogus "$T/nocmd.yaml" -- true
	[ "$RC" -eq 2 ]
	run "$FAULTLINE" run --help
	[ "$status" -eq 0 ]
	for opt in --report-json --junit --lease --grace --quiet --user; do assert_output --partial -- "$opt"; done

	ping_ok
	assert_no_residue_when_alone
}

@test "duration_caps_a_long_command_with_sigterm" {
	cat >"$T/s.yaml" <<-EOF
		version: 1
		name: capped
		duration: 2s
		targets:
		  b-udp: {host: 10.200.0.2, protocol: udp, port: 9999}
		faults:
		  - {target: b-udp, loss: 100%}
	EOF
	run_fl --report-json "$T/r.json" "$T/s.yaml" -- sleep 30
	# stopped at the cap, well before the command's own end and the grace
	lt "$ELAPSED" 4
	lt 1.9 "$ELAPSED"
	# sleep died of the SIGTERM (128 + 15), not of a SIGKILL
	jq -e '.command.ran and .command.exit_code == 143' "$T/r.json"
	# the command's own code is the exit code (docs/faultline.1.md: 143 for a
	# command still running at `duration`)
	[ "$RC" -eq 143 ]
	jq -e '.exit_code == 143 and .verdict == "failed"' "$T/r.json"
	assert_no_residue_when_alone
}

@test "a_command_ignoring_sigterm_is_killed_after_the_grace" {
	cat >"$T/s.yaml" <<-EOF
		version: 1
		name: stubborn
		duration: 2s
		targets:
		  b-udp: {host: 10.200.0.2, protocol: udp, port: 9999}
		faults:
		  - {target: b-udp, loss: 100%}
	EOF
	run_fl --grace 1s --report-json "$T/r.json" "$T/s.yaml" -- sh -c 'trap "" TERM; sleep 30'
	# cap (2 s) + grace (1 s), then SIGKILL
	lt 2.9 "$ELAPSED"
	lt "$ELAPSED" 5
	jq -e '.command.ran and .command.exit_code == 137' "$T/r.json"
	[ "$RC" -eq 137 ]
	jq -e '.exit_code == 137' "$T/r.json"
	assert_no_residue_when_alone
}

@test "an_after_probe_failure_exits_3_unless_the_command_failed" {
	# the probe is healthy until the command breaks the "service" (a file)
	cat >"$T/s.yaml" <<-EOF
		version: 1
		name: broken-after
		duration: 10s
		targets:
		  b-udp: {host: 10.200.0.2, protocol: udp, port: 9999}
		steady_state:
		  - name: not-broken
		    command: {run: "test ! -e $T/broken", timeout: 1s}
		    every: 100ms
		    max_failures: 1000
		faults:
		  - {target: b-udp, loss: 100%}
		report: {json: $T/r.json}
	EOF
	run_fl "$T/s.yaml" -- sh -c 'touch "$1"; sleep 0.5' sh "$T/broken"
	[ "$RC" -eq 3 ]
	assert_verdict_line failed 3
	jq -e '.verdict == "failed" and .exit_code == 3 and .command.exit_code == 0' "$T/r.json"
	jq -e '[.probes[0].results[] | select(.phase == "after")] | length == 1 and (.[0].ok | not)' "$T/r.json"
	# failures during the faults were within max_failures: no abort
	jq -e '.steps[0].cut_short == false' "$T/r.json"

	# the command's own non-zero code comes before the after probe's 3
	rm -f "$T/broken" "$T/r.json"
	run_fl "$T/s.yaml" -- sh -c 'touch "$1"; exit 5' sh "$T/broken"
	[ "$RC" -eq 5 ]
	jq -e '.exit_code == 5 and .command.exit_code == 5' "$T/r.json"
	assert_no_residue_when_alone
}
