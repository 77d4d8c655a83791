#!/usr/bin/env bats
# tests/e2e/daemon.bats - faultlined and its clients, against docs/api.md.
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

# start_daemon [ARGS...]: faultlined in A; waits until /v1/health answers.
start_daemon() {
	nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINED" --foreground --socket "$SOCK" \
		--state-dir "$STATE" "$@" 2>>"$BATS_TEST_TMPDIR/d.log" &
	DPID=$!
	FL_PIDS+=("$DPID")
	local i
	for i in $(seq 1 100); do
		curl -sf --unix-socket "$SOCK" http://localhost/v1/health >/dev/null && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$BATS_TEST_TMPDIR/d.log" >&2
	return 1
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

# a scenario: NAME DURATION TARGET-FLOW-MAP STEP
scenario() {
	printf 'version: 1\nname: %s\nduration: %s\ntargets:\n  t: %s\nfaults:\n  - %s\n' "$@"
}

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

@test "endpoints_and_status_codes" {
	start_daemon
	api GET /v1/health
	[ "$CODE" = 200 ] && [ "$(jq -r .status <<<"$BODY")" = ok ]
	api GET /v1/capabilities
	[ "$CODE" = 200 ] && jq -e '.core_ok == true and (.mechanisms | length > 0)' <<<"$BODY"

	# YAML, created at once, Location, running, faults act
	post_yaml /v1/experiments "$(scenario icmp 30s '{dev: va, protocol: icmp}' '{target: t, loss: 100%}')"
	[ "$CODE" = 201 ]
	id=$(jq -r .id <<<"$BODY")
	grep -qi "^Location: /v1/experiments/$id" <<<"$HEADERS"
	wait_state "$id" running
	[ "$(ping_loss 5)" = 100 ]
	api GET "/v1/experiments/$id"
	jq -e '.steps[0].state == "live" and .steps[0].matched >= 1' <<<"$BODY"
	api GET "/v1/experiments/$id/report"
	[ "$CODE" = 404 ] # no report while it runs

	# the same flows again: 409 naming the holder; other flows: 201 (JSON body)
	post_yaml /v1/experiments "$(scenario icmp2 30s '{dev: va, protocol: icmp}' '{target: t, loss: 1%}')"
	[ "$CODE" = 409 ] && [ "$(jq -r .holder <<<"$BODY")" = "$id" ]
	api POST /v1/experiments -H 'Content-Type: application/json' --data-binary \
		'{"version":1,"name":"udp","duration":"30s","targets":{"u":{"dev":"va","protocol":"udp","port":7777}},"faults":[{"target":"u","loss":"10%"}]}'
	[ "$CODE" = 201 ]
	id2=$(jq -r .id <<<"$BODY")
	wait_state "$id2" running
	# two experiments, one program on the hook: untargeted packets pay once
	links=$(grep -l 'link_type:[[:space:]]*tcx' /proc/"$DPID"/fdinfo/* 2>/dev/null | wc -l)
	echo "# tcx links of the daemon with two experiments on va egress: $links"
	[ "$links" -eq 1 ]

	api GET '/v1/experiments?state=running'
	[ "$(jq '.experiments | length' <<<"$BODY")" -eq 2 ]
	api GET '/v1/experiments?state=bogus'
	[ "$CODE" = 400 ] && [ "$CTYPE" = application/problem+json ]
	api GET '/v1/experiments?limit=0'
	[ "$CODE" = 400 ]
	api GET /v1/experiments/e-000000000000
	[ "$CODE" = 404 ] && [ "$(jq -r .type <<<"$BODY")" = urn:faultline:problem:not-found ]
	api GET /v1/nothing
	[ "$CODE" = 404 ]
	api PUT /v1/experiments
	[ "$CODE" = 405 ] && grep -qi '^Allow: GET, POST' <<<"$HEADERS"

	# stop: 200 with the final object; traffic flows; a second stop is 409
	api DELETE "/v1/experiments/$id"
	[ "$CODE" = 200 ] && [ "$(jq -r .state <<<"$BODY")" = aborted ]
	[ "$(ping_loss 5)" = 0 ]
	api DELETE "/v1/experiments/$id"
	[ "$CODE" = 409 ]
	api GET "/v1/experiments/$id/report"
	[ "$CODE" = 200 ] && [ "$CTYPE" = application/json ]
	echo "$BODY" >"$BATS_TEST_TMPDIR/r.json"
	fl_report_valid "$BATS_TEST_TMPDIR/r.json"
	api GET "/v1/experiments/$id/report?format=junit"
	[ "$CODE" = 200 ] && [ "$CTYPE" = application/xml ]
	echo "$BODY" >"$BATS_TEST_TMPDIR/r.xml"
	xmllint --noout --schema docs/junit.xsd "$BATS_TEST_TMPDIR/r.xml"
	api GET "/v1/experiments/$id/report?format=pdf"
	[ "$CODE" = 400 ]
	api DELETE "/v1/experiments/$id2"
	[ "$CODE" = 200 ]
}

@test "bad_bodies_get_the_right_problem_and_change_nothing" {
	start_daemon
	local n=0 failed=0 line status ctype body want before after
	api GET /v1/experiments
	before=$(jq '.experiments | length' <<<"$BODY")
	# STATUS|CONTENT-TYPE|BODY (printf escapes) |SUBSTRING of the problem (type or message)
	while IFS='|' read -r status ctype body want; do
		[ -z "$status" ] && continue
		n=$((n + 1))
		printf '%b' "$body" >"$BATS_TEST_TMPDIR/body"
		api POST /v1/experiments -H "Content-Type: $ctype" --data-binary "@$BATS_TEST_TMPDIR/body"
		if [ "$CODE" != "$status" ] || [ "$CTYPE" != application/problem+json ] ||
			[ "$(jq -r .status <<<"$BODY")" != "$status" ] || ! grep -qF -- "$want" <<<"$BODY"; then
			echo "case $n ($body): got $CODE $CTYPE $BODY, want $status containing '$want'"
			failed=$((failed + 1))
		fi
	done <<'EOF'
415|text/plain|version: 1\n|unsupported-media-type
415|application/xml|<a/>|unsupported-media-type
400|application/yaml||empty body
400|application/yaml|version: 1\nname: [unclosed\n|bad-request
400|application/json|{"version": 1,|bad-request
400|application/json|{"version": 1}}|bad-request
400|application/yaml|\xff\xfe\xfd|not UTF-8
400|application/yaml|version: 1\nname: a\x00b\n|not UTF-8
400|application/yaml|name: "\xc3\x28"\n|not UTF-8
400|application/yaml|name: "\xed\xa0\x80"\n|not UTF-8
422|application/json|[1, 2, 3]|invalid-scenario
422|application/json|"just a string"|invalid-scenario
422|application/json|42|invalid-scenario
422|application/yaml|- a\n- b\n|invalid-scenario
422|application/yaml|name: x\n|version
422|application/yaml|version: 2\nname: x\nduration: 1s\n|version
422|application/yaml|version: one\nname: x\nduration: 1s\n|version
422|application/yaml|version: 1\nduration: 1s\n|name
422|application/yaml|version: 1\nname: x\n|duration
422|application/yaml|version: 1\nname: x\nduration: 5\n|needs a unit
422|application/yaml|version: 1\nname: x\nduration: -5s\n|duration
422|application/yaml|version: 1\nname: x\nduration: 5 parsecs\n|duration
422|application/yaml|version: 1\nname: x\nduration: 5s\ndurration: 3s\n|did you mean
422|application/yaml|version: 1\nname: x\nduration: 5s\nfaults: {}\n|faults
422|application/yaml|version: 1\nname: x\nduration: 5s\nfaults: [{target: nope, loss: 1%}]\n|nope
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: []\n|targets
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t}]\n|faults[0]
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, loss: 130%}]\n|130%
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, loss: -1%}]\n|loss
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, los: 1%}]\n|did you mean
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, delay: {time: 10}}]\n|delay.time
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, delay: {time: 2h}}]\n|delay.time
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, rate: fast}]\n|rate
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, reorder: 10%}]\n|reorder
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, loss: 1%, blackhole: {}}]\n|blackhole
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, at: 10s, loss: 1%}]\n|at
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, for: 10s, loss: 1%}]\n|for
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, port: 70000}}\nfaults: [{target: t, loss: 1%}]\n|port
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, protocol: sctp}}\nfaults: [{target: t, loss: 1%}]\n|protocol
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, direction: up}}\nfaults: [{target: t, loss: 1%}]\n|direction
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, cidr: 10.0.0.1/8}}\nfaults: [{target: t, loss: 1%}]\n|10.0.0.0/8
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, host: not-an-ip}}\nfaults: [{target: t, loss: 1%}]\n|host
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, share: 0%}}\nfaults: [{target: t, loss: 1%}]\n|share
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, colour: red}}\nfaults: [{target: t, loss: 1%}]\n|colour
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: no-such-if0}}\nfaults: [{target: t, loss: 1%}]\n|no-such-if0
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, cgroup: /no/such/cgroup}}\nfaults: [{target: t, loss: 1%}]\n|cgroup
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, pid: 999999999}}\nfaults: [{target: t, loss: 1%}]\n|pid
422|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {command: true}}\nfaults: [{target: t, loss: 1%}]\n|targets.t.command
422|application/yaml|version: 1\nname: x\nduration: 5s\nsteady_state: [{name: p}]\n|steady_state
422|application/yaml|version: 1\nname: x\nduration: 5s\nsteady_state: [{name: p, http: {url: ftp://x}}]\n|url
422|application/yaml|version: 1\nname: x\nduration: 5s\nsteady_state: [{name: p, tcp: {host: 10.200.0.2}}]\n|port
422|application/yaml|version: 1\nname: x\nduration: 5s\nsteady_state: [{name: p, tcp: {host: 10.200.0.2, port: 80}, every: 0s}]\n|every
422|application/yaml|version: 1\nname: x\nduration: 5s\nschedule: "61 * * * *"\n|schedule
422|application/yaml|version: 1\nname: x\nduration: 5s\nreport: {xml: r.xml}\n|report
422|application/json|{"version":1,"name":"x","duration":5}|duration
422|application/json|{"version":1,"name":{"a":1},"duration":"5s"}|name
400|application/yaml|a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n|aliases
EOF
	echo "# $n bad bodies, $failed answered wrong"
	[ "$n" -ge 50 ]
	[ "$failed" -eq 0 ]
	# 1 MiB and more: 413
	head -c 1100000 /dev/zero | tr '\0' 'a' >"$BATS_TEST_TMPDIR/big"
	api POST /v1/experiments -H 'Content-Type: application/yaml' --data-binary "@$BATS_TEST_TMPDIR/big"
	[ "$CODE" = 413 ] && [ "$CTYPE" = application/problem+json ]
	# a schema error names the field with line:col, as `faultline validate` says it
	printf 'version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, loss: 130%%}]\n' >"$BATS_TEST_TMPDIR/s.yaml"
	api POST /v1/experiments -H 'Content-Type: application/yaml' --data-binary "@$BATS_TEST_TMPDIR/s.yaml"
	run "$FAULTLINE" validate "$BATS_TEST_TMPDIR/s.yaml"
	want=$(jq -r '.errors[0] | "\(.line):\(.col): \(.path): \(.message)"' <<<"$BODY")
	[[ "$output" == *"$want"* ]]
	# nothing was created, nothing is loaded
	api GET /v1/experiments
	after=$(jq '.experiments | length' <<<"$BODY")
	[ "$after" -eq "$before" ]
	[ "$(grep -l 'link_type:[[:space:]]*tcx' /proc/"$DPID"/fdinfo/* 2>/dev/null | wc -l)" -eq 0 ]
}

@test "tcp_needs_the_bearer_token" {
	local tok port=17070
	tok=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	printf '%s\n' "$tok" >"$BATS_TEST_TMPDIR/token"
	chmod 0600 "$BATS_TEST_TMPDIR/token"
	start_daemon --listen "127.0.0.1:$port" --token-file "$BATS_TEST_TMPDIR/token"
	t() { ns_a curl -s -o /dev/null -w '%{http_code}' "$@"; }
	[ "$(t "http://127.0.0.1:$port/v1/health")" = 401 ]
	ns_a curl -s -D - -o /dev/null "http://127.0.0.1:$port/v1/health" | grep -qi '^WWW-Authenticate: Bearer'
	[ "$(t -H 'Authorization: Bearer wrong' "http://127.0.0.1:$port/v1/health")" = 401 ]
	[ "$(t -H "Authorization: Bearer ${tok}x" "http://127.0.0.1:$port/v1/health")" = 401 ]
	[ "$(t -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/v1/health")" = 200 ]
	# a wrong token runs nothing
	[ "$(t -X POST -H 'Authorization: Bearer wrong' -H 'Content-Type: application/yaml' \
		--data-binary "$(scenario icmp 10s '{dev: va, protocol: icmp}' '{target: t, loss: 100%}')" \
		"http://127.0.0.1:$port/v1/experiments")" = 401 ]
	[ "$(ping_loss 5)" = 0 ]
	api GET /v1/experiments
	[ "$(jq '.experiments | length' <<<"$BODY")" -eq 0 ]
	# the CLI over TCP
	run ns_a "$FAULTLINE" ls --url "http://127.0.0.1:$port" --token-file "$BATS_TEST_TMPDIR/token"
	assert_success
	run ns_a "$FAULTLINE" ls --url "http://127.0.0.1:$port"
	[ "$status" -eq 2 ]
	# refusals at start
	run "$FAULTLINED" --foreground --socket none --listen 127.0.0.1:17071
	[ "$status" -eq 2 ]
	chmod 0644 "$BATS_TEST_TMPDIR/token"
	run "$FAULTLINED" --foreground --socket none --listen 127.0.0.1:17071 --token-file "$BATS_TEST_TMPDIR/token"
	[ "$status" -eq 1 ] && [[ "$output" == *"readable by others"* ]]
}

@test "a_hundred_concurrent_requests_while_an_experiment_runs" {
	start_daemon
	post_yaml /v1/experiments "$(scenario udp 30s '{dev: va, protocol: udp, port: 7777}' '{target: t, loss: 30%}')"
	id=$(jq -r .id <<<"$BODY")
	wait_state "$id" running
	# 100 requests, 50 at a time, on every read endpoint, while UDP flows
	for i in $(seq 1 100); do
		case $((i % 4)) in
		0) echo /v1/health ;; 1) echo /v1/experiments ;; 2) echo /metrics ;; 3) echo "/v1/experiments/$id" ;;
		esac
	done >"$BATS_TEST_TMPDIR/urls"
	xargs -P 50 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 --unix-socket "$SOCK" \
		"http://localhost{}" <"$BATS_TEST_TMPDIR/urls" >"$BATS_TEST_TMPDIR/codes" &
	local xpid=$!
	out=$(udp_phase a 10.200.0.2 7777 20000 20000)
	wait "$xpid"
	[ "$(grep -c '^200$' "$BATS_TEST_TMPDIR/codes")" -eq 100 ]
	got=$(received "$out" 7777)
	within_binomial $((20000 - got)) 20000 30
	api GET "/v1/experiments/$id"
	[ "$(jq -r .state <<<"$BODY")" = running ]
}

@test "kill_9_of_the_daemon_ends_its_faults_at_once_and_the_restart_marks_them_aborted" {
	# timed on the release build users run: an ASan build's shadow mappings
	# make the kernel's teardown of the process take milliseconds
	[ -n "${FAULTLINE_RELEASE:-}" ] && FAULTLINED=$(dirname "$FAULTLINE_RELEASE")/faultlined
	start_daemon
	post_yaml /v1/experiments "$(scenario udp 60s '{dev: va, protocol: udp, port: 7777}' '{target: t, loss: 100%}')"
	id=$(jq -r .id <<<"$BODY")
	wait_state "$id" running
	local ready="$BATS_TEST_TMPDIR/ready" out="$BATS_TEST_TMPDIR/stream"
	ns_b "$FL_TRAFFIC" recv --port 7777 --idle 500 --max-time 10 --ready "$ready" >"$out" &
	local rpid=$!
	FL_PIDS+=("$rpid")
	for i in $(seq 1 100); do [ -e "$ready" ] && break; sleep 0.02; done
	ns_a "$FL_TRAFFIC" send --to 10.200.0.2 --port 7777 --count 40000 --rate 20000 >/dev/null &
	local spid=$!
	FL_PIDS+=("$spid")
	sleep 0.7
	t_kill=$("$FL_TRAFFIC" kill "$DPID")
	wait "$spid"
	wait "$rpid"
	first=$(jq -r '."7777".first_sent_ns' "$out")
	first_seq=$(jq -r '."7777".first_seq' "$out")
	recovery_us=$(((first - t_kill) / 1000))
	echo "# first packet through (seq $first_seq) was sent ${recovery_us} us after kill -9 of faultlined"
	[ "$first_seq" -gt 0 ]
	[ "$recovery_us" -lt 10000 ]
	[ "$(jq -r '."7777".received' "$out")" -eq $((40000 - first_seq)) ]
	# the restart: the experiment is history, aborted, and nothing is re-applied
	rm -f "$SOCK"
	start_daemon
	api GET "/v1/experiments/$id"
	[ "$(jq -r .state <<<"$BODY")" = aborted ]
	[ "$(jq -r .reason <<<"$BODY")" = "daemon restarted" ]
	[ "$(ping_loss 3)" = 0 ]
	kill "$DPID"
	wait "$DPID" || true
	assert_no_residue_when_alone
}

@test "a_schedule_every_5s_fires_is_listed_and_rm_stops_it" {
	start_daemon
	local sc
	sc=$(printf 'version: 1\nname: tick\nduration: 1s\nschedule: "@every 5s"\ntargets:\n  t: {dev: va, protocol: udp, port: 7999}\nfaults:\n  - {target: t, loss: 1%%}\n')
	post_yaml /v1/schedules "$sc"
	[ "$CODE" = 201 ]
	sid=$(jq -r .id <<<"$BODY")
	# no schedule key: 422
	post_yaml /v1/schedules "$(scenario x 1s '{dev: va}' '{target: t, loss: 1%}')"
	[ "$CODE" = 422 ]
	for i in $(seq 1 80); do
		api GET "/v1/experiments"
		[ "$(jq --arg s "$sid" '[.experiments[] | select(.schedule_id == $s)] | length' <<<"$BODY")" -ge 1 ] && break
		sleep 0.1
	done
	[ "$(jq --arg s "$sid" '[.experiments[] | select(.schedule_id == $s)] | length' <<<"$BODY")" -ge 1 ]
	api GET "/v1/schedules/$sid"
	jq -e '.runs >= 1 and (.experiments | length) >= 1 and .schedule == "@every 5s"' <<<"$BODY"
	run "$FAULTLINE" schedule ls
	assert_success
	[[ "$output" == *"$sid"* ]]
	api DELETE "/v1/schedules/$sid"
	[ "$CODE" = 204 ]
	api GET "/v1/schedules/$sid"
	[ "$CODE" = 404 ]
	api GET /v1/experiments
	n=$(jq '.experiments | length' <<<"$BODY")
	sleep 6
	api GET /v1/experiments
	[ "$(jq '.experiments | length' <<<"$BODY")" -eq "$n" ]
}

@test "metrics_parse_and_count_a_running_experiment" {
	start_daemon
	post_yaml /v1/experiments "$(scenario icmp 30s '{dev: va, protocol: icmp}' '{target: t, loss: 50%}')"
	id=$(jq -r .id <<<"$BODY")
	wait_state "$id" running
	ping_loss 10 >/dev/null
	sleep 0.4
	api GET /metrics
	[ "$CODE" = 200 ] && [[ "$CTYPE" == text/plain* ]]
	echo "$BODY" >"$BATS_TEST_TMPDIR/m1"
	/usr/bin/python3 - "$BATS_TEST_TMPDIR/m1" "$id" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
exp = sys.argv[2]
assert "faultline_build_info" in fams, fams.keys()
states = {s.labels["state"]: s.value for s in fams["faultline_experiments"].samples}
assert states.get("running") == 1, states
m = [s.value for s in fams["faultline_fault_matched_packets"].samples
     if s.labels.get("experiment") == exp]
assert m and m[0] >= 10, m
d = [s.value for s in fams["faultline_fault_acted_packets"].samples
     if s.labels.get("experiment") == exp and s.labels.get("action") == "dropped"]
assert d and 1 <= d[0] <= m[0], d
print("# matched", m[0], "dropped", d[0])
PY
	ping_loss 10 >/dev/null
	sleep 0.4
	api GET /metrics
	m2=$(grep "^faultline_fault_matched_packets_total{experiment=\"$id\"" <<<"$BODY" | awk '{print $2}')
	m1=$(grep "^faultline_fault_matched_packets_total{experiment=\"$id\"" "$BATS_TEST_TMPDIR/m1" | awk '{print $2}')
	[ "$m2" -gt "$m1" ]
}

@test "the_cli_client_and_detached_runs" {
	start_daemon
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
	scenario short 1s '{dev: va, protocol: icmp}' '{target: t, loss: 1%}' >"$BATS_TEST_TMPDIR/s.yaml"
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
	start_daemon --lease 500ms
	post_yaml /v1/experiments "$(scenario icmp 60s '{dev: va, protocol: icmp}' '{target: t, loss: 100%}')"
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
	start_daemon
	scenario short 1s '{dev: va, protocol: icmp}' '{target: t, loss: 1%}' >"$BATS_TEST_TMPDIR/s.yaml"
	post_yaml /v1/experiments "$(cat "$BATS_TEST_TMPDIR/s.yaml")"
	id=$(jq -r .id <<<"$BODY")
	wait_state "$id" completed
	post_yaml /v1/schedules "$(printf 'version: 1\nname: nightly\nduration: 1s\nschedule: "0 3 * * *"\ntargets:\n  t: {dev: va, protocol: icmp}\nfaults:\n  - {target: t, loss: 1%%}\n')"
	[ "$CODE" = 201 ]
	sid=$(jq -r .id <<<"$BODY")
	next=$(jq -r .next_run <<<"$BODY")
	kill "$DPID"
	wait "$DPID" || true
	start_daemon
	api GET "/v1/experiments/$id"
	[ "$CODE" = 200 ] && [ "$(jq -r .state <<<"$BODY")" = completed ]
	api GET "/v1/experiments/$id/report"
	[ "$CODE" = 200 ] && [ "$(jq -r .verdict <<<"$BODY")" = passed ]
	api GET "/v1/schedules/$sid"
	[ "$CODE" = 200 ] && [ "$(jq -r .next_run <<<"$BODY")" = "$next" ]
}
