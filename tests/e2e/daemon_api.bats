#!/usr/bin/env bats
# tests/e2e/daemon_api.bats - the REST API of faultlined against docs/api.md:
# every endpoint and status code, 60+ bad bodies, the bearer token on TCP,
# 100 concurrent requests during an experiment, kill -9 of the daemon, an
# @every schedule, and /metrics read by a strict Prometheus parser.
#
# Each test starts its own daemon in namespace A (A: 10.200.0.1 on va, B:
# 10.200.0.2 on vb) through nsenter (not ip netns exec, which mounts a fresh
# /sys and hides the cgroup2 mount), its socket and store under the test's
# tmpdir, and talks to it with curl --unix-socket. Scenarios name `dev: va`,
# so they resolve inside A; traffic only flows between A and B. Teardown
# kills every process by PID (FL_PIDS) and removes the namespaces.

load ../lib/common

setup() {
	fl_daemon_setup
}

teardown() {
	fl_teardown_netns
}

# --- helpers -----------------------------------------------------------------


post() { # post PATH CONTENT-TYPE BODY
	fl_api POST "$1" -H "Content-Type: $2" --data-binary "$3"
}

# is_problem STATUS TYPE: the last response is that problem+json (RFC 9457)
is_problem() {
	[ "$CODE" = "$1" ] || { echo "status $CODE, expected $1"; return 1; }
	[ "$CTYPE" = application/problem+json ] || { echo "Content-Type '$CTYPE', expected application/problem+json"; return 1; }
	jq -e --arg t "urn:faultline:problem:$2" --argjson s "$1" \
		'.type == $t and .status == $s and (.title | type == "string" and length > 0) and (.detail | type == "string")' \
		<<<"$BODY" >/dev/null || { echo "problem body is not {type: $2, status: $1, title, detail}: $BODY"; return 1; }
}

# create CONTENT-TYPE BODY: POST /v1/experiments, must be 201; sets ID
create() {
	post /v1/experiments "$1" "$2"
	[ "$CODE" = 201 ] || { echo "POST /v1/experiments: $CODE, expected 201"; return 1; }
	ID=$(jq -r .id <<<"$BODY")
}

# ping_loss COUNT: the loss in per cent of COUNT pings from A to B
ping_loss() {
	ns_a ping -n -q -c "$1" -i 0.02 -W 0.5 10.200.0.2 | sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p'
}

# bpf_fds PID: the BPF programs and links the process holds
bpf_fds() { find "/proc/$1/fd" -lname 'anon_inode:bpf-prog' -o -lname 'anon_inode:bpf_link' 2>/dev/null | wc -l; }

# n_experiments: how many experiments GET /v1/experiments lists
n_experiments() { curl -s --max-time 5 --unix-socket "$SOCK" 'http://localhost/v1/experiments?limit=1000' | jq '.experiments | length'; }

validate_report_json() {
	/usr/bin/python3 -c 'import json, jsonschema, sys
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "$1" \
		"$BATS_TEST_DIRNAME/../../docs/report.schema.json"
}

# --- 1. every endpoint and status code ---------------------------------------

@test "every_endpoint_and_status_code_as_docs_api_md_says" {
	fl_start_daemon
	local want_version
	want_version=$("$FAULTLINED" --version | awk '{ print $2 }')

	# the socket: 0660 and group faultline when that group exists, else 0600
	if getent group faultline >/dev/null; then
		[ "$(stat -c '%a %G' "$SOCK")" = "660 faultline" ]
	else
		[ "$(stat -c '%a' "$SOCK")" = 600 ]
	fi

	# GET /v1/health
	fl_api GET /v1/health
	[ "$CODE" = 200 ] && [ "$CTYPE" = application/json ]
	jq -e --arg v "$want_version" '.status == "ok" and .version == $v and (.uptime_s | type == "number" and . >= 0)
		and .experiments_running == 0' <<<"$BODY"

	# GET /v1/capabilities: the doctor's JSON for this host
	fl_api GET /v1/capabilities
	[ "$CODE" = 200 ] && [ "$CTYPE" = application/json ]
	echo "$BODY" >"$T/caps.json"
	nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINE" doctor --json >"$T/doctor.json" || true
	jq -e '.core_ok == true and (.mechanisms | length > 0) and all(.mechanisms[]; has("id") and has("ok"))' "$T/caps.json"
	[ "$(jq -cS 'keys' "$T/caps.json")" = "$(jq -cS 'keys' "$T/doctor.json")" ]
	[ "$(jq -c '[.core_ok, [.mechanisms[] | [.id, .ok]]]' "$T/caps.json")" = \
		"$(jq -c '[.core_ok, [.mechanisms[] | [.id, .ok]]]' "$T/doctor.json")" ]
	[ "$(jq -c '[.faults[] | [.fault, .works, .via]]' "$T/caps.json")" = \
		"$(jq -c '[.faults[] | [.fault, .works, .via]]' "$T/doctor.json")" ]

	# POST YAML (application/yaml): 201, Location, the experiment object
	create application/yaml "$(fl_scenario icmp-all 30s '{dev: va, protocol: icmp}' '{target: t, loss: 100%}')"
	local e1=$ID
	[[ "$e1" =~ ^e-[0-9a-f]{12}$ ]]
	[ "$CTYPE" = application/json ]
	[ "$(fl_hdr Location)" = "/v1/experiments/$e1" ]
	jq -e '.name == "icmp-all" and (.state == "pending" or .state == "running") and .reason == null
		and (.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")) and .ended == null
		and .verdict == null and .exit_code == null and .schedule_id == null and .duration_s == 30
		and (.steps | length == 1) and .steps[0].index == 0 and .steps[0].target == "t"
		and .steps[0].fault == "loss 100%" and .steps[0].at_s == 0
		and (.steps[0].state == "pending" or .steps[0].state == "live")
		and (.steps[0].matched | type == "number") and (.steps[0].bytes | type == "number")' <<<"$BODY"
	fl_wait_state "$e1" running
	[ "$(ping_loss 5)" = 100 ]
	sleep 0.4 # the counters are read about every 250 ms
	fl_api GET "/v1/experiments/$e1"
	[ "$CODE" = 200 ] && [ "$CTYPE" = application/json ]
	jq -e --arg id "$e1" '.id == $id and .state == "running" and (.started | type == "string")
		and .steps[0].state == "live" and .steps[0].matched >= 5 and .steps[0].bytes >= 5 * 84' <<<"$BODY"
	# no report while it runs
	fl_api GET "/v1/experiments/$e1/report"
	is_problem 404 not-found
	fl_api GET "/v1/experiments/$e1/report?format=junit"
	is_problem 404 not-found
	fl_api GET /v1/health
	jq -e '.experiments_running == 1' <<<"$BODY"

	# the other media types, each on flows of its own: 201
	create application/x-yaml "$(fl_scenario udp-7777 30s '{dev: va, protocol: udp, port: 7777}' '{target: t, loss: 10%}')"
	local e2=$ID
	[ "$(fl_hdr Location)" = "/v1/experiments/$e2" ]
	# schedule: is ignored here, report: paths too
	create text/yaml "$(fl_scenario tcp-8080 30s '{dev: va, protocol: tcp, port: 8080}' '{target: t, loss: 10%}' \
		"schedule: \"@every 1h\"
report: {json: $T/not-written.json, junit: $T/not-written.xml}
")"
	local e3=$ID
	jq -e '.schedule_id == null' <<<"$BODY"
	create 'application/json; charset=utf-8' \
		'{"version": 1, "name": "udp-7778", "duration": "30s", "targets": {"u": {"dev": "va", "protocol": "udp", "port": 7778}}, "faults": [{"target": "u", "loss": "10%"}]}'
	local e4=$ID
	[ "$(fl_hdr Location)" = "/v1/experiments/$e4" ]
	jq -e '.name == "udp-7778" and .steps[0].target == "u" and .steps[0].fault == "loss 10%"' <<<"$BODY"
	fl_api GET /v1/schedules
	[ "$CODE" = 200 ] && jq -e '.schedules == []' <<<"$BODY"

	# 400, 413, 415, 422 (60+ more in the bad bodies test)
	post /v1/experiments application/yaml 'version: 1
name: [unclosed'
	is_problem 400 bad-request
	head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >"$T/big"
	fl_api POST /v1/experiments -H 'Content-Type: application/yaml' --data-binary "@$T/big"
	is_problem 413 too-large
	post /v1/experiments text/plain "$(fl_scenario plain 30s '{dev: va, protocol: udp, port: 9}' '{target: t, loss: 1%}')"
	is_problem 415 unsupported-media-type
	post /v1/experiments application/yaml "$(fl_scenario bad 30s '{dev: va, protocol: udp, port: 9}' '{target: t, loss: 130%}')"
	is_problem 422 invalid-scenario
	jq -e '.errors == [{"path": "faults[0].loss", "line": 7, "col": 23,
		"message": "\"130%\" is not a percentage between 0 and 100"}]' <<<"$BODY"

	# 409: the same flows, or flows that overlap them, name their holder
	post /v1/experiments application/yaml "$(fl_scenario icmp-again 30s '{dev: va, protocol: icmp}' '{target: t, loss: 1%}')"
	is_problem 409 conflict
	[ "$(jq -r .holder <<<"$BODY")" = "$e1" ]
	post /v1/experiments application/yaml "$(fl_scenario udp-7777-again 30s '{dev: va, protocol: udp, port: 7777}' '{target: t, loss: 1%}')"
	is_problem 409 conflict
	[ "$(jq -r .holder <<<"$BODY")" = "$e2" ]
	# while one on other flows (another protocol, another port) is accepted
	create application/yaml "$(fl_scenario udp-7779 30s '{dev: va, protocol: udp, port: 7779}' '{target: t, loss: 1%}')"
	local e5=$ID

	# GET /v1/experiments: newest first, state filter, limit
	for id in "$e1" "$e2" "$e3" "$e4" "$e5"; do fl_wait_state "$id" running; done
	fl_api GET /v1/experiments
	[ "$CODE" = 200 ] && [ "$CTYPE" = application/json ]
	[ "$(jq -c '[.experiments[].id]' <<<"$BODY")" = "$(jq -nc --args '$ARGS.positional' "$e5" "$e4" "$e3" "$e2" "$e1")" ]
	fl_api GET '/v1/experiments?state=running'
	[ "$CODE" = 200 ] && [ "$(jq '[.experiments[] | select(.state == "running")] | length' <<<"$BODY")" -eq 5 ]
	[ "$(jq '.experiments | length' <<<"$BODY")" -eq 5 ]
	fl_api GET '/v1/experiments?state=completed'
	[ "$CODE" = 200 ] && jq -e '.experiments == []' <<<"$BODY"
	fl_api GET '/v1/experiments?limit=2'
	[ "$CODE" = 200 ] && [ "$(jq -c '[.experiments[].id]' <<<"$BODY")" = "$(jq -nc --args '$ARGS.positional' "$e5" "$e4")" ]
	fl_api GET '/v1/experiments?state=running&limit=1'
	[ "$CODE" = 200 ] && [ "$(jq -r '[.experiments[].id] | join(",")' <<<"$BODY")" = "$e5" ]
	fl_api GET '/v1/experiments?limit=1000'
	[ "$CODE" = 200 ]
	local q
	for q in 'state=bogus' 'state=RUNNING' 'state=' 'limit=0' 'limit=1001' 'limit=-1' 'limit=abc' 'limit=' 'limit=5x'; do
		fl_api GET "/v1/experiments?$q"
		is_problem 400 bad-request
	done

	# 404: unknown experiment, schedule, report, route
	fl_api GET /v1/experiments/e-000000000000
	is_problem 404 not-found
	fl_api DELETE /v1/experiments/e-000000000000
	is_problem 404 not-found
	fl_api GET /v1/experiments/e-000000000000/report
	is_problem 404 not-found
	fl_api GET /v1/schedules/s-000000000000
	is_problem 404 not-found
	fl_api DELETE /v1/schedules/s-000000000000
	is_problem 404 not-found
	for q in /v1/nothing /v2/experiments / /v1/experiments/ "/v1/experiments/$e1/nothing" /metrics/x; do
		fl_api GET "$q"
		is_problem 404 not-found
	done

	# 405 with an Allow header
	local spec m p allow
	for spec in 'PUT /v1/experiments GET,POST' 'PATCH /v1/experiments GET,POST' 'DELETE /v1/experiments GET,POST' \
		"PUT /v1/experiments/$e1 GET,DELETE" "POST /v1/experiments/$e1 GET,DELETE" \
		"POST /v1/experiments/$e1/report GET" 'POST /v1/health GET' 'DELETE /v1/capabilities GET' \
		'POST /metrics GET' 'PUT /v1/schedules GET,POST' 'PUT /v1/schedules/s-000000000000 GET,DELETE'; do
		read -r m p allow <<<"$spec"
		fl_api "$m" "$p"
		is_problem 405 method-not-allowed
		[ "$(fl_hdr Allow | tr -d ' ' | tr ',' '\n' | sort | paste -sd,)" = "$(tr ',' '\n' <<<"$allow" | sort | paste -sd,)" ]
	done

	# DELETE: 200 with the final object, aborted; the fault is gone
	fl_api DELETE "/v1/experiments/$e1"
	[ "$CODE" = 200 ] && [ "$CTYPE" = application/json ]
	jq -e --arg id "$e1" '.id == $id and .state == "aborted" and (.reason | type == "string" and length > 0)
		and (.ended | type == "string") and (.verdict | type == "string") and (.exit_code | type == "number")
		and .steps[0].state == "done" and .steps[0].matched >= 5' <<<"$BODY"
	[ "$(ping_loss 5)" = 0 ]
	fl_api DELETE "/v1/experiments/$e1"
	is_problem 409 conflict
	fl_api GET "/v1/experiments/$e1"
	[ "$CODE" = 200 ] && jq -e '.state == "aborted"' <<<"$BODY"
	fl_api GET '/v1/experiments?state=aborted'
	[ "$(jq -r '[.experiments[].id] | join(",")' <<<"$BODY")" = "$e1" ]

	# the reports: JSON (docs/report.schema.json) by default, JUnit on request
	fl_api GET "/v1/experiments/$e1/report"
	[ "$CODE" = 200 ] && [ "$CTYPE" = application/json ]
	echo "$BODY" >"$T/r.json"
	validate_report_json "$T/r.json"
	jq -e '.verdict == "aborted"' "$T/r.json"
	fl_api GET "/v1/experiments/$e1/report?format=json"
	[ "$CODE" = 200 ] && [ "$CTYPE" = application/json ]
	fl_api GET "/v1/experiments/$e1/report?format=junit"
	[ "$CODE" = 200 ] && [ "$CTYPE" = application/xml ]
	echo "$BODY" >"$T/r.xml"
	xmllint --noout --schema "$BATS_TEST_DIRNAME/../../docs/junit.xsd" "$T/r.xml"
	fl_api GET "/v1/experiments/$e1/report?format=pdf"
	is_problem 400 bad-request

	# the report: paths of a posted scenario were not used
	fl_api DELETE "/v1/experiments/$e3"
	[ "$CODE" = 200 ]
	[ ! -e "$T/not-written.json" ] && [ ! -e "$T/not-written.xml" ]
	fl_api GET /v1/schedules
	jq -e '.schedules == []' <<<"$BODY"
	for id in "$e2" "$e4" "$e5"; do
		fl_api DELETE "/v1/experiments/$id"
		[ "$CODE" = 200 ]
	done
	fl_api GET /v1/health
	jq -e '.experiments_running == 0' <<<"$BODY"
}

@test "the_list_is_newest_first_100_by_default_and_limit_goes_to_1000" {
	fl_start_daemon --write-rate-limit 0  # 210 writes at once
	# 105 experiments (no fault: nothing is applied), each stopped at once
	seq 1 105 | xargs -P 8 -I{} sh -c '
		id=$(curl -s --max-time 10 --unix-socket "$0" -X POST -H "Content-Type: application/yaml" \
			--data-binary "$(printf "version: 1\nname: n{}\nduration: 60s\n")" http://localhost/v1/experiments | jq -r .id)
		curl -s --max-time 10 --unix-socket "$0" -o /dev/null -w "%{http_code}\n" -X DELETE "http://localhost/v1/experiments/$id"' \
		"$SOCK" >"$T/codes"
	[ "$(grep -c '^200$' "$T/codes")" -eq 105 ]
	fl_api GET /v1/experiments >/dev/null
	[ "$CODE" = 200 ]
	[ "$(jq '.experiments | length' <<<"$BODY")" -eq 100 ]
	echo "$BODY" >"$T/default"
	fl_api GET '/v1/experiments?limit=1000' >/dev/null
	[ "$(jq '.experiments | length' <<<"$BODY")" -eq 105 ]
	# newest first, and the default is the newest 100 of them
	jq -e '[.experiments[].created] as $c | $c == ($c | sort | reverse)' <<<"$BODY"
	[ "$(jq -c '[.experiments[:100][].id]' <<<"$BODY")" = "$(jq -c '[.experiments[].id]' "$T/default")" ]
	fl_api GET '/v1/experiments?limit=3' >/dev/null
	[ "$(jq -c '[.experiments[].id]' <<<"$BODY")" = "$(jq -c '[.experiments[:3][].id]' "$T/default")" ]
	fl_api GET '/v1/experiments?state=aborted&limit=1000' >/dev/null
	[ "$(jq '[.experiments[] | select(.state == "aborted")] | length' <<<"$BODY")" -eq 105 ]
	fl_api GET '/v1/experiments?state=running' >/dev/null
	jq -e '.experiments == []' <<<"$BODY"
}

# --- 1, continued: the errors of a scenario are those of faultline validate ---

@test "scenario_errors_are_the_ones_faultline_validate_prints" {
	fl_start_daemon
	local f ct want got n=0 bad=0
	# a file with several schema errors: 422, errors[] {path, line, col, message}
	cat >"$T/many.yaml" <<-'EOF'
		version: 1
		name: many
		duration: 5
		targets:
		  web: {dev: va, interface: eth0, port: 70000}
		faults:
		  - {target: wbe, loss: 130%}
		  - {target: web, delay: {time: 100}}
	EOF
	fl_api POST /v1/experiments -H 'Content-Type: application/yaml' --data-binary "@$T/many.yaml"
	is_problem 422 invalid-scenario
	jq -e '(.errors | length) == 6 and all(.errors[]; (.path | type == "string") and (.line | type == "number")
		and (.col | type == "number") and (.message | type == "string"))' <<<"$BODY"
	# the same lines faultline validate prints, in the same order
	run "$FAULTLINE" validate "$T/many.yaml"
	[ "$status" -eq 2 ]
	[ "$(jq -r --arg f "$T/many.yaml" '.errors[] | "\($f):\(.line):\(.col): \(.path): \(.message)"' <<<"$BODY")" = "$output" ]

	# a syntax error: 400, with validate's message and position
	printf 'version: 1\nname: x\nduration: 5s\ntargets:\n  t: {dev: va\n' >"$T/syntax.yaml"
	fl_api POST /v1/experiments -H 'Content-Type: application/yaml' --data-binary "@$T/syntax.yaml"
	is_problem 400 bad-request
	run "$FAULTLINE" validate "$T/syntax.yaml"
	[ "$status" -eq 2 ]
	[ "$(jq -r --arg f "$T/syntax.yaml" '.errors[] | "\($f):\(.line):\(.col): \(.message)"' <<<"$BODY")" = "$output" ]

	# a command target: there is no command in the daemon
	post /v1/experiments application/yaml "$(fl_scenario cmd 5s '{command: true}' '{target: t, loss: 1%}')"
	is_problem 422 invalid-scenario
	jq -e '.errors[0].path == "targets.t.command" and .errors[0].line == 5 and (.errors[0].message | length > 0)' <<<"$BODY"
	[[ "$(jq -r .detail <<<"$BODY")" == *"targets.t.command"* ]]

	# every file of tests/scenarios/bad: 400 when refused as it is read
	# (syntax, encoding, anchors, aliases, tags, keys twice, a second
	# document, empty), else 422; errors[] as validate --json gives them
	for f in "$BATS_TEST_DIRNAME"/../scenarios/bad/*; do
		[[ "$f" == *.expected ]] && continue
		n=$((n + 1))
		case $f in *.json | *.scenario) ct=application/json ;; *) ct=application/yaml ;; esac
		fl_api POST /v1/experiments -H "Content-Type: $ct" --data-binary "@$f" >/dev/null
		want=$("$FAULTLINE" validate --json "$f" | jq -cS '[.errors[] | del(.file)]')
		got=$(jq -cS '[.errors[]?]' <<<"$BODY")
		if grep -qE 'syntax:|not valid UTF-8|anchors|aliases|tags \(|given twice|a second YAML document|the file is empty' "$f.expected"; then
			is_problem 400 bad-request >/dev/null || { echo "$f: $CODE, expected 400: $BODY"; bad=$((bad + 1)); continue; }
			# refused before the schema: what it says is a part of validate's errors
			if [ "$got" != "[]" ] && ! jq -e --argjson w "$want" 'all(.[]; . as $e | $w | index([$e]))' <<<"$got" >/dev/null; then
				echo "$f: errors $got are not among validate's $want"
				bad=$((bad + 1))
			fi
		else
			is_problem 422 invalid-scenario >/dev/null || { echo "$f: $CODE, expected 422: $BODY"; bad=$((bad + 1)); continue; }
			[ "$got" = "$want" ] || { echo "$f: errors $got, validate says $want"; bad=$((bad + 1)); }
		fi
	done
	echo "# $n files of tests/scenarios/bad, $bad answered otherwise"
	[ "$n" -ge 60 ]
	[ "$bad" -eq 0 ]
	[ "$(n_experiments)" -eq 0 ]
}

# --- 2. bad bodies -------------------------------------------------------------

# d_gen_bodies: the generated bodies of the table (files under $T)
d_gen_bodies() {
	head -c 1048577 /dev/zero | tr '\0' '#' >"$T/big" # 1 MiB + 1
	head -c 1100000 /dev/zero | tr '\0' 'a' >"$T/big2"
	# the billion laughs: 9^9 nodes if aliases were expanded
	{
		echo 'a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]'
		local prev=a l
		for l in b c d e f g h i; do
			printf '%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n' "$l" "$l" "$prev" "$prev" "$prev" "$prev" "$prev" "$prev" "$prev" "$prev" "$prev"
			prev=$l
		done
	} >"$T/laughs"
	printf '%.0s[' $(seq 1 5000) >"$T/deep-json-arrays"
	{ printf '%.0s{"a": ' $(seq 1 5000); printf '1'; printf '%.0s}' $(seq 1 5000); } >"$T/deep-json-objects"
	printf '%.0s[' $(seq 1 5000) >"$T/deep-yaml-flow"
	{ printf '%.0s- ' $(seq 1 3000); echo x; } >"$T/deep-yaml-block"
	{ for i in $(seq 1 200); do printf '%*sk%d:\n' "$i" '' "$i"; done; } >"$T/deep-yaml-indent"
	# valid UTF-8 in a string is fine: this one fails on the schema only
	printf 'version: 1\nname: "caf\xc3\xa9 \xe2\x9c\x93"\nduration: 5\n' >"$T/utf8-ok"
}

@test "sixty_bad_bodies_get_the_right_problem_and_change_nothing" {
	fl_start_daemon
	d_gen_bodies
	local n=0 failed=0 status type ctype body want before after held flat args t0 t1 f
	before=$(n_experiments)
	[ "$before" -eq 0 ]
	# STATUS|TYPE|CONTENT-TYPE ("-": none)|BODY (printf %b; "@NAME": file $T/NAME,
	# "@NAME+chunked": sent chunked, no Content-Length)|SUBSTRING of the title,
	# detail or an error "path: message"
	while IFS='|' read -r status type ctype body want; do
		[ -z "$status" ] || [[ "$status" == \#* ]] && continue
		n=$((n + 1))
		args=()
		[ "$ctype" = - ] || args+=(-H "Content-Type: $ctype")
		case $body in
		@*+chunked) f=${body#@} && args+=(-H 'Transfer-Encoding: chunked' --data-binary "@$T/${f%+chunked}") ;;
		@*) args+=(--data-binary "@$T/${body#@}") ;;
		*) printf '%b' "$body" >"$T/body" && args+=(--data-binary "@$T/body") ;;
		esac
		t0=$(date +%s%N)
		fl_api POST /v1/experiments "${args[@]}" >/dev/null
		t1=$(date +%s%N)
		flat=$(jq -r '[.title, .detail, (.errors[]? | "\(.path): \(.message)")] | join("\n")' <<<"$BODY" 2>/dev/null || true)
		after=$(n_experiments)
		held=$(bpf_fds "$DPID")
		if ! is_problem "$status" "$type" >"$T/why" || ! grep -qF -- "$want" <<<"$flat" ||
			[ "$after" != "$before" ] || [ "$held" -ne 0 ] || [ $(((t1 - t0) / 1000000)) -gt 5000 ]; then
			echo "case $n ($ctype, ${body:0:80}): got $CODE $CTYPE in $(((t1 - t0) / 1000000)) ms, experiments $after, bpf fds $held: ${BODY:0:300}"
			echo "   wanted $status $type containing '$want': $(cat "$T/why")"
			failed=$((failed + 1))
		fi
	done <<'EOF'
# media types
415|unsupported-media-type|text/plain|version: 1\nname: x\nduration: 5s\n|Content-Type
415|unsupported-media-type|application/xml|<scenario/>|Content-Type
415|unsupported-media-type|-|version: 1\n|Content-Type
415|unsupported-media-type|application/x-www-form-urlencoded|version=1|Content-Type
415|unsupported-media-type|application/jsonx|{}|Content-Type
415|unsupported-media-type|multipart/form-data; boundary=x|--x--|Content-Type
415|unsupported-media-type|yaml|version: 1\n|Content-Type
# too large
413|too-large|application/yaml|@big|1048576
413|too-large|application/yaml|@big2+chunked|1048576
# not a body, not UTF-8, NUL
400|bad-request|application/yaml||scenario
400|bad-request|application/json||scenario
400|bad-request|application/yaml|\xff\xfe\xfd|UTF-8
400|bad-request|application/yaml|name: "\xc3\x28"\n|UTF-8
400|bad-request|application/yaml|name: "\xc0\xaf"\n|UTF-8
400|bad-request|application/yaml|name: "\xed\xa0\x80"\n|UTF-8
400|bad-request|application/yaml|name: "\xf4\x90\x80\x80"\n|UTF-8
400|bad-request|application/yaml|version: 1\nname: \xe2\x82|UTF-8
400|bad-request|application/json|{"version": 1, "name": "caf\xe9"}|UTF-8
400|bad-request|application/yaml|version: 1\nname: a\x00b\nduration: 5s\n|NUL
400|bad-request|application/yaml|\x00|NUL
# syntax
400|bad-request|application/yaml|version: 1\nname: [unclosed\n|YAML syntax
400|bad-request|application/yaml|version: 1\nname: x\n  duration: 5s\n|YAML syntax
400|bad-request|application/yaml|version: 1\n\tname: x\n|YAML syntax
400|bad-request|application/yaml|name: "abc\n|YAML syntax
400|bad-request|application/json|{"version": 1,|JSON syntax
400|bad-request|application/json|{"version": 1}}|JSON syntax
400|bad-request|application/json|{"name": "abc|JSON syntax
400|bad-request|application/json|{'version': 1}|JSON syntax
400|bad-request|application/json|version: 1\nname: x\nduration: 5s\n|JSON syntax
400|bad-request|application/json|@deep-json-arrays|JSON syntax
400|bad-request|application/json|@deep-json-objects|JSON syntax
400|bad-request|application/yaml|@deep-yaml-flow|nested deeper
400|bad-request|application/yaml|@deep-yaml-block|nested deeper
400|bad-request|application/yaml|@deep-yaml-indent|nested deeper
# refused as they are read
400|bad-request|application/yaml|@laughs|anchors (&a) are not supported
400|bad-request|application/yaml|version: 1\nname: x\nduration: 5s\ntargets:\n  a: &t {dev: va}\n  b: *t\n|aliases (*t) are not supported
400|bad-request|application/yaml|version: 1\nname: !!str x\nduration: 5s\n|tags
400|bad-request|application/yaml|version: 1\nname: x\nname: y\nduration: 5s\n|name: given twice
400|bad-request|application/json|{"version": 1, "name": "x", "name": "y", "duration": "5s"}|name: given twice
400|bad-request|application/yaml|version: 1\nname: x\nduration: 5s\n---\nversion: 1\n|second YAML document
400|bad-request|application/yaml|# only a comment\n|empty
# well-formed, not a scenario
422|invalid-scenario|application/json|[1, 2, 3]|not a list
422|invalid-scenario|application/json|"just a string"|not a scalar
422|invalid-scenario|application/json|42|not a scalar
422|invalid-scenario|application/json|null|not null
422|invalid-scenario|application/yaml|- version: 1\n- name: x\n|not a list
422|invalid-scenario|application/yaml|hello|not a scalar
# the schema
422|invalid-scenario|application/yaml|name: x\nduration: 5s\n|version: missing
422|invalid-scenario|application/yaml|version: 2\nname: x\nduration: 5s\n|version: "2" is not a version
422|invalid-scenario|application/json|{"version": true, "name": "x", "duration": "5s"}|version: "true" is not a version
422|invalid-scenario|application/yaml|version: 1\nduration: 5s\n|name: missing
422|invalid-scenario|application/yaml|version: 1\nname: x\n|duration: missing
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5\n|duration: "5" needs a unit
422|invalid-scenario|application/json|{"version": 1, "name": "x", "duration": 5}|duration: "5" needs a unit
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 0s\n|duration: "0s" is zero
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5 parsecs\n|duration:
422|invalid-scenario|application/json|{"version": 1, "name": {"a": 1}, "duration": "5s"}|name: expected a name
422|invalid-scenario|application/yaml|@utf8-ok|duration: "5" needs a unit
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\nfaults: {}\n|faults: expected a list
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: []\n|targets: expected a mapping
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ndurration: 3s\n|did you mean "duration"
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, los: 1%}]\n|faults[0].los: unknown key (did you mean "loss"?)
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {web: {dev: va}}\nfaults: [{target: wbe, loss: 1%}]\n|did you mean "web"
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t}]\n|faults[0]: no fault
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, loss: 130%}]\n|faults[0].loss: "130%" is not a percentage
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, loss: -1%}]\n|faults[0].loss
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, delay: {time: 10}}]\n|faults[0].delay.time: "10" needs a unit
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, delay: 2h}]\n|above 1h
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, rate: fast}]\n|faults[0].rate
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, reorder: 10%}]\n|faults[0].reorder
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, loss: 1%, blackhole: {}}]\n|cannot be combined with loss
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, corrupt: {percent: 1, payload: yes}}]\n|"yes" is not a boolean
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, reset: {}, loss: 1%}]\n|step of its own
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, at: 10s, loss: 1%}]\n|faults[0].at
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va}}\nfaults: [{target: t, for: 10s, loss: 1%}]\n|faults[0].for
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, port: 70000}}\nfaults: [{target: t, loss: 1%}]\n|targets.t.port: "70000" is not a port
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, port: 22}}\nfaults: [{target: t, loss: 1%}]\n|management port
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, protocol: icmp, port: 80}}\nfaults: [{target: t, loss: 1%}]\n|ports need protocol
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, protocol: sctp}}\nfaults: [{target: t, loss: 1%}]\n|targets.t.protocol
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, direction: up}}\nfaults: [{target: t, loss: 1%}]\n|targets.t.direction
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {cidr: 10.0.0.1/8}}\nfaults: [{target: t, loss: 1%}]\n|did you mean 10.0.0.0/8
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, host: not-an-ip}}\nfaults: [{target: t, loss: 1%}]\n|targets.t.host
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, share: 0%}}\nfaults: [{target: t, loss: 1%}]\n|targets.t.share
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, colour: red}}\nfaults: [{target: t, loss: 1%}]\n|targets.t.colour: unknown key
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {protocol: tcp}}\nfaults: [{target: t, loss: 1%}]\n|dev is required
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {command: true}}\nfaults: [{target: t, loss: 1%}]\n|targets.t.command
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: no-such-if0}}\nfaults: [{target: t, loss: 1%}]\n|no-such-if0
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, cgroup: /no/such/cgroup}}\nfaults: [{target: t, loss: 1%}]\n|targets.t.cgroup
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\ntargets: {t: {dev: va, pid: 999999999}}\nfaults: [{target: t, loss: 1%}]\n|targets.t.pid
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\nsteady_state: [{name: p}]\n|steady_state[0]: no check
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\nsteady_state: [{name: p, http: {url: "ftp://x/"}}]\n|steady_state[0].http.url
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\nsteady_state: [{name: p, tcp: {host: 10.200.0.2}}]\n|steady_state[0].tcp.port: missing
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\nsteady_state: [{name: p, tcp: {host: 10.200.0.2, port: 80}, every: 0s}]\n|steady_state[0].every
422|invalid-scenario|application/yaml|version: 1\nname: x\nduration: 5s\nreport: {xml: r.xml}\n|report.xml: unknown key
422|invalid-scenario|text/yaml|version: 1\nname: x\nduration: 5\n|duration: "5" needs a unit
422|invalid-scenario|application/x-yaml|version: 1\nname: x\nduration: 5\n|duration: "5" needs a unit
422|invalid-scenario|application/yaml; charset=utf-8|version: 1\nname: x\nduration: 5\n|duration: "5" needs a unit
EOF
	echo "# $n bad bodies, $failed answered otherwise"
	[ "$n" -ge 50 ]
	[ "$failed" -eq 0 ]
	# nothing changed: no experiment, no schedule, no program, no link; the
	# daemon still answers
	[ "$(n_experiments)" -eq 0 ]
	fl_api GET /v1/schedules
	jq -e '.schedules == []' <<<"$BODY"
	[ "$(bpf_fds "$DPID")" -eq 0 ]
	[ -z "$(tc -n "$FL_NS_A" filter show dev va egress)" ] && [ -z "$(tc -n "$FL_NS_A" filter show dev va ingress)" ]
	fl_api GET /v1/health
	[ "$CODE" = 200 ] && jq -e '.experiments_running == 0' <<<"$BODY"
	[ "$(ping_loss 3)" = 0 ]
}

# --- 3. TCP and the bearer token ---------------------------------------------

@test "tcp_needs_the_bearer_token_and_a_wrong_one_runs_nothing" {
	local tok port url i
	tok=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	[ ${#tok} -eq 32 ]
	(umask 077 && printf '%s\n' "$tok" >"$T/token")
	[ "$(stat -c %a "$T/token")" = 600 ]
	# a free port in A's loopback
	for i in $(seq 1 20); do
		port=$((20000 + RANDOM % 40000))
		[ -z "$(ns_a ss -Hltn "sport = :$port")" ] && break
	done
	url=http://127.0.0.1:$port
	fl_start_daemon --listen "127.0.0.1:$port" --token-file "$T/token"
	[ -n "$(ns_a ss -Hltn "sport = :$port")" ]
	# tcurl ARGS...: curl in A on the TCP listener; sets TCODE, TBODY, THDRS
	tcurl() {
		TCODE=$(ns_a curl -s --max-time 10 -D "$T/th" -o "$T/tb" -w '%{http_code}' "$@") || true
		TBODY=$(cat "$T/tb")
		THDRS=$(tr -d '\r' <"$T/th")
		echo "tcp $* -> $TCODE ${TBODY:0:200}"
	}
	is_401() {
		[ "$TCODE" = 401 ] &&
			grep -qiE '^content-type: application/problem\+json$' <<<"$THDRS" &&
			grep -qiE '^www-authenticate: Bearer' <<<"$THDRS" &&
			jq -e '.type == "urn:faultline:problem:unauthorized" and .status == 401' <<<"$TBODY"
	}
	tcurl "$url/v1/health"
	is_401
	tcurl -H 'Authorization: Bearer ' "$url/v1/health"
	is_401
	tcurl -H 'Authorization: Bearer wrong' "$url/v1/health"
	is_401
	tcurl -H "Authorization: Bearer ${tok:0:31}" "$url/v1/health"
	is_401
	tcurl -H "Authorization: Bearer ${tok}0" "$url/v1/health"
	is_401
	tcurl -H "Authorization: Basic $(printf 'x:%s' "$tok" | base64 -w0)" "$url/v1/health"
	is_401
	tcurl -H "Authorization: $tok" "$url/v1/health"
	is_401
	tcurl "$url/v1/experiments"
	is_401
	tcurl -H "Authorization: Bearer $tok" "$url/v1/health"
	[ "$TCODE" = 200 ] && jq -e '.status == "ok"' <<<"$TBODY"
	tcurl -H "Authorization: Bearer $tok" "$url/metrics"
	[ "$TCODE" = 200 ]
	# RFC 6750's 1*SP after the scheme, and trailing white space that is not
	# the token's (found by fuzz/fuzz_api_http.c)
	tcurl -H "Authorization: bearer   $tok  " "$url/v1/health"
	[ "$TCODE" = 200 ]
	tcurl -H "Authorization: Bearer  ${tok}x " "$url/v1/health"
	is_401
	# a POST with a wrong or no token runs nothing
	fl_scenario icmp 20s '{dev: va, protocol: icmp}' '{target: t, loss: 100%}' >"$T/s.yaml"
	tcurl -X POST -H 'Authorization: Bearer wrong' -H 'Content-Type: application/yaml' \
		--data-binary "@$T/s.yaml" "$url/v1/experiments"
	is_401
	tcurl -X POST -H 'Content-Type: application/yaml' --data-binary "@$T/s.yaml" "$url/v1/experiments"
	is_401
	tcurl -X POST -H 'Authorization: Bearer wrong' -H 'Content-Type: application/yaml' \
		--data-binary "$(fl_scenario tick 1s '{dev: va, protocol: udp, port: 7999}' '{target: t, loss: 1%}' 'schedule: "@every 1s"')" \
		"$url/v1/schedules"
	is_401
	[ "$(ping_loss 5)" = 0 ]
	[ "$(bpf_fds "$DPID")" -eq 0 ]
	[ "$(n_experiments)" -eq 0 ]
	fl_api GET /v1/schedules
	jq -e '.schedules == []' <<<"$BODY"
	# the unix socket needs no token
	fl_api GET /v1/health
	[ "$CODE" = 200 ]
	# the right token: the whole API
	tcurl -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/yaml' \
		--data-binary "@$T/s.yaml" "$url/v1/experiments"
	[ "$TCODE" = 201 ]
	id=$(jq -r .id <<<"$TBODY")
	# who posted it: the TCP client's address (the unix socket's: its uid)
	jq -e '.created_by == "ip:127.0.0.1"' <<<"$TBODY"
	grep -q "experiment $id (icmp) created by ip:127.0.0.1" "$BATS_TEST_TMPDIR/d.log"
	fl_wait_state "$id" running
	[ "$(ping_loss 5)" = 100 ]
	tcurl -X DELETE -H "Authorization: Bearer $tok" "$url/v1/experiments/$id"
	[ "$TCODE" = 200 ] && jq -e '.state == "aborted" and .created_by == "ip:127.0.0.1"' <<<"$TBODY"
	[ "$(ping_loss 5)" = 0 ]
	fl_api POST /v1/schedules -H 'Content-Type: application/yaml' \
		--data-binary "$(fl_scenario tick 1s '{dev: va, protocol: udp, port: 7999}' '{target: t, loss: 1%}' 'schedule: "0 3 * * *"')"
	[ "$CODE" = 201 ] && jq -e --arg by "uid:$(id -u)" '.created_by == $by' <<<"$BODY"
	fl_api DELETE "/v1/schedules/$(jq -r .id <<<"$BODY")"

	# --listen without --token-file: exit 2; a token file others may read: exit 1
	run timeout -k 1 10 nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINED" --foreground \
		--socket "$T/x.sock" --state-dir "$T/x" --listen "127.0.0.1:$((port + 1))"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--token-file"* ]]
	cp "$T/token" "$T/token644"
	chmod 0644 "$T/token644"
	run timeout -k 1 10 nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINED" --foreground \
		--socket "$T/x.sock" --state-dir "$T/x" --listen "127.0.0.1:$((port + 1))" --token-file "$T/token644"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"token644"* ]]
	[ -z "$(ns_a ss -Hltn "sport = :$((port + 1))")" ]
	[ ! -e "$T/x.sock" ]
}

# --- 4. 100 concurrent requests during an experiment -------------------------

@test "a_hundred_concurrent_requests_while_a_30pct_loss_step_runs" {
	fl_start_daemon
	create application/yaml "$(fl_scenario udp-loss 60s '{dev: va, protocol: udp, port: 7777}' '{target: t, loss: 30%}')"
	local id=$ID i count=30000 ready=$T/ready out=$T/recv
	fl_wait_state "$id" running
	for i in $(seq 1 100); do
		case $((i % 5)) in
		0) echo "/v1/health $T/r.$i" ;;
		1) echo "/v1/experiments $T/r.$i" ;;
		2) echo "/metrics $T/r.$i" ;;
		3) echo "/v1/experiments/$id $T/r.$i" ;;
		4) echo "/v1/experiments?state=running $T/r.$i" ;;
		esac
	done >"$T/urls"
	# UDP from A to B for 3 s; the requests go while it flows
	ip netns exec "$FL_NS_B" "$FL_TRAFFIC" recv --port 7777 --idle 500 --max-time 10 --ready "$ready" >"$out" 3>&- &
	local rpid=$!
	FL_PIDS+=("$rpid")
	for i in $(seq 1 100); do [ -e "$ready" ] && break; sleep 0.02; done
	ip netns exec "$FL_NS_A" "$FL_TRAFFIC" send --to 10.200.0.2 --port 7777 --count "$count" --rate 10000 >/dev/null 3>&- &
	local spid=$!
	FL_PIDS+=("$spid")
	sleep 0.3
	xargs -P 50 -n 2 sh -c 'curl -s --max-time 20 --unix-socket "$0" -o "$2" -w "%{http_code} $1\n" "http://localhost$1"' \
		"$SOCK" <"$T/urls" >"$T/codes"
	# the traffic was still flowing when the last answer came
	kill -0 "$spid"
	wait "$spid"
	wait "$rpid"
	echo "answers: $(cut -d' ' -f1 "$T/codes" | sort | uniq -c | tr '\n' ' ')"
	[ "$(wc -l <"$T/codes")" -eq 100 ]
	[ "$(grep -c '^200 ' "$T/codes")" -eq 100 ]
	# every answer is the right document
	for i in $(seq 1 100); do
		case $((i % 5)) in
		0) jq -e '.status == "ok" and .experiments_running == 1' "$T/r.$i" >/dev/null ;;
		1 | 4) jq -e --arg id "$id" '[.experiments[].id] | index($id) != null' "$T/r.$i" >/dev/null ;;
		2) grep -q '^faultline_build_info{' "$T/r.$i" ;;
		3) jq -e --arg id "$id" '.id == $id and .state == "running"' "$T/r.$i" >/dev/null ;;
		esac || { echo "answer $i is wrong: $(head -c 300 "$T/r.$i")"; return 1; }
	done
	# the experiment went on as if nothing happened: its loss is 30%
	got=$(jq -r '."7777".received' "$out")
	within_binomial $((count - got)) "$count" 30
	sleep 0.5 # one more counter read
	fl_api GET "/v1/experiments/$id"
	jq -e --argjson n "$count" '.state == "running" and .steps[0].state == "live" and .steps[0].matched == $n' <<<"$BODY"
	fl_api GET /metrics
	dropped=$(grep -F "faultline_fault_acted_packets_total{experiment=\"$id\"," <<<"$BODY" | grep -F 'action="dropped"' | awk '{ print $2 }')
	echo "dropped $dropped, lost $((count - got))"
	[ "$dropped" -eq $((count - got)) ]
	fl_api DELETE "/v1/experiments/$id"
	[ "$CODE" = 200 ]
}

# --- 5. kill -9 of the daemon ---------------------------------------------------

@test "kill_9_of_the_daemon_ends_its_faults_within_10ms_and_the_restart_marks_them_aborted" {
	# timed on the release build users run, when there is one: an ASan
	# build's shadow mappings make the kernel's teardown of a process take
	# tens of milliseconds
	if [ -n "${FAULTLINE_RELEASE:-}" ] && [ -x "$(dirname "$FAULTLINE_RELEASE")/faultlined" ]; then
		FAULTLINED=$(dirname "$FAULTLINE_RELEASE")/faultlined
	fi
	echo "# daemon: $FAULTLINED"
	fl_start_daemon
	create application/yaml "$(printf 'version: 1\nname: to-be-killed\nduration: 60s\ntargets:\n  icmp: {dev: va, protocol: icmp}\n  udp: {dev: va, protocol: udp, port: 7777}\nfaults:\n  - {target: icmp, loss: 100%%}\n  - {target: udp, loss: 100%%}\n')"
	local id=$ID ready=$T/ready out=$T/stream i
	fl_wait_state "$id" running
	[ "$(ping_loss 5)" = 100 ]
	# UDP at 20000 packets/s from A to B, every one dropped until the kill
	ip netns exec "$FL_NS_B" "$FL_TRAFFIC" recv --port 7777 --idle 500 --max-time 10 --ready "$ready" >"$out" 3>&- &
	local rpid=$!
	FL_PIDS+=("$rpid")
	for i in $(seq 1 100); do [ -e "$ready" ] && break; sleep 0.02; done
	ip netns exec "$FL_NS_A" "$FL_TRAFFIC" send --to 10.200.0.2 --port 7777 --count 40000 --rate 20000 >/dev/null 3>&- &
	local spid=$!
	FL_PIDS+=("$spid")
	sleep 0.7
	t_kill=$("$FL_TRAFFIC" kill "$DPID")
	# pings every 2 ms from right after the kill
	ns_a ping -n -c 30 -i 0.002 -W 1 10.200.0.2 >"$T/ping" || true
	wait "$spid"
	wait "$rpid"
	wait "$DPID" || true
	cat "$out"
	first=$(jq -r '."7777".first_sent_ns' "$out")
	first_seq=$(jq -r '."7777".first_seq' "$out")
	recovery_us=$(((first - t_kill) / 1000))
	echo "# first UDP packet through (seq $first_seq) was sent ${recovery_us} us after kill -9 of faultlined"
	[ "$first_seq" -gt 1000 ]        # the fault was dropping them until then
	[ "$recovery_us" -gt -1000 ]     # not before the kill
	[ "$recovery_us" -lt 10000 ]     # within 10 ms
	[ "$(jq -r '."7777".received' "$out")" -eq $((40000 - first_seq)) ] # and every one after it
	# ICMP: every ping sent 10 ms or more after the kill was answered
	cat "$T/ping"
	for i in $(seq 6 30); do
		grep -q "icmp_seq=$i " "$T/ping" || { echo "ping $i (sent $((2 * (i - 1))) ms after the start) lost"; return 1; }
	done

	# the restart, on the same store and socket path: the experiment is history
	fl_start_daemon
	grep -q 'daemon restarted\|were running' "$T/d.log"
	fl_api GET "/v1/experiments/$id"
	[ "$CODE" = 200 ]
	jq -e '.state == "aborted" and .reason == "daemon restarted"' <<<"$BODY"
	fl_api GET '/v1/experiments?state=aborted'
	[ "$(jq -r '[.experiments[].id] | join(",")' <<<"$BODY")" = "$id" ]
	fl_api GET '/v1/experiments?state=running'
	jq -e '.experiments == []' <<<"$BODY"
	fl_api GET /v1/health
	jq -e '.experiments_running == 0' <<<"$BODY"
	# nothing was applied again
	[ "$(bpf_fds "$DPID")" -eq 0 ]
	[ "$(ping_loss 5)" = 0 ]
	# SIGTERM: exit 0
	kill -TERM "$DPID"
	fl_wait_exit "$DPID" 10
	[ "$FL_EXIT" -eq 0 ]
	d_wait_no_other_daemon 30
	assert_no_residue_when_alone
}

# d_wait_no_other_daemon MAX_S: wait (bounded) for a moment when no faultlined
# holds a BPF program (ours are stopped by now; the daemon of another test
# file keeps its classifiers loaded between experiments, and
# assert_no_residue_when_alone only waits for `faultline` processes)
d_wait_no_other_daemon() {
	local i p busy
	for i in $(seq 1 $(($1 * 5))); do
		busy=
		for p in $(pgrep -x faultlined); do
			[ "$(bpf_fds "$p")" -eq 0 ] || busy=$p
		done
		[ -z "$busy" ] && return 0
		sleep 0.2
	done
	echo "# faultlined $busy kept BPF programs loaded for ${1}s; judging anyway"
}

# --- 6. schedules ----------------------------------------------------------------

@test "a_schedule_every_5s_fires_is_listed_and_delete_stops_it" {
	fl_start_daemon
	local sc sid eid i n
	sc=$(fl_scenario tick 1s '{dev: va, protocol: udp, port: 7999}' '{target: t, loss: 1%}' 'schedule: "@every 5s"
')
	local t0 t1
	t0=$(date +%s%N)
	post /v1/schedules application/yaml "$sc"
	[ "$CODE" = 201 ] && [ "$CTYPE" = application/json ]
	sid=$(jq -r .id <<<"$BODY")
	[[ "$sid" =~ ^s-[0-9a-f]{12}$ ]]
	[ "$(fl_hdr Location)" = "/v1/schedules/$sid" ]
	jq -e '.name == "tick" and .schedule == "@every 5s" and (.created | type == "string")
		and (.next_run | type == "string") and .last_run == null and .runs == 0 and .skipped == 0
		and .experiments == []' <<<"$BODY"
	# it fires within ~7 s
	for i in $(seq 1 80); do
		eid=$(curl -s --max-time 5 --unix-socket "$SOCK" http://localhost/v1/experiments |
			jq -r --arg s "$sid" '[.experiments[] | select(.schedule_id == $s)] | last | .id // empty')
		[ -n "$eid" ] && break
		sleep 0.1
	done
	t1=$(date +%s%N)
	echo "# the first run appeared $(((t1 - t0) / 1000000)) ms after the POST"
	[ -n "$eid" ]
	[ $(((t1 - t0) / 1000000)) -le 7000 ]
	fl_api GET "/v1/experiments/$eid"
	jq -e --arg s "$sid" '.name == "tick" and .schedule_id == $s' <<<"$BODY"
	fl_api GET /v1/schedules
	[ "$CODE" = 200 ]
	jq -e --arg s "$sid" --arg e "$eid" '[.schedules[] | select(.id == $s)] | length == 1 and
		(.[0] | .runs >= 1 and (.experiments | index($e) != null) and (.last_run | type == "string"))' <<<"$BODY"
	fl_api GET "/v1/schedules/$sid"
	[ "$CODE" = 200 ]
	jq -e --arg e "$eid" '.runs >= 1 and (.experiments | index($e) != null)' <<<"$BODY"
	# the run goes its course (1 s)
	fl_wait_state "$eid" completed
	# DELETE: 204, and it never fires again
	fl_api DELETE "/v1/schedules/$sid"
	[ "$CODE" = 204 ] && [ -z "$BODY" ]
	fl_api GET "/v1/schedules/$sid"
	is_problem 404 not-found
	fl_api DELETE "/v1/schedules/$sid"
	is_problem 404 not-found
	fl_api GET /v1/schedules
	jq -e '.schedules == []' <<<"$BODY"
	n=$(curl -s --unix-socket "$SOCK" http://localhost/v1/experiments | jq --arg s "$sid" '[.experiments[] | select(.schedule_id == $s)] | length')
	sleep 7
	[ "$(curl -s --unix-socket "$SOCK" http://localhost/v1/experiments | jq --arg s "$sid" '[.experiments[] | select(.schedule_id == $s)] | length')" -eq "$n" ]
	# no schedule: key, or a bad one: 422
	post /v1/schedules application/yaml "$(fl_scenario x 1s '{dev: va, protocol: udp, port: 7999}' '{target: t, loss: 1%}')"
	is_problem 422 invalid-scenario
	jq -e '.errors[0].path == "schedule"' <<<"$BODY"
	local bad
	for bad in '"@every 500ms"' '"61 * * * *"' '"0 3 * *"' '"@sometimes"'; do
		post /v1/schedules application/yaml "$(fl_scenario x 1s '{dev: va, protocol: udp, port: 7999}' '{target: t, loss: 1%}' "schedule: $bad
")"
		is_problem 422 invalid-scenario
		jq -e '.errors[0].path == "schedule" and .errors[0].line == 8' <<<"$BODY"
	done
	fl_api GET /v1/schedules
	jq -e '.schedules == []' <<<"$BODY"
}

@test "a_schedule_skips_a_slot_while_its_previous_run_goes_on" {
	fl_start_daemon
	local sid i e1 e2
	post /v1/schedules application/yaml "$(fl_scenario slow-tick 2500ms '{dev: va, protocol: udp, port: 7998}' \
		'{target: t, loss: 1%}' 'schedule: "@every 1s"
')"
	[ "$CODE" = 201 ]
	sid=$(jq -r .id <<<"$BODY")
	# fires at +1 s (a run of 2.5 s), so +2 s and +3 s are skipped
	for i in $(seq 1 60); do
		fl_api GET "/v1/schedules/$sid" >/dev/null
		[ "$(jq .skipped <<<"$BODY")" -ge 1 ] && break
		sleep 0.1
	done
	echo "$BODY"
	jq -e '.skipped >= 1 and .runs >= 1 and (.experiments | length) == .runs' <<<"$BODY"
	e1=$(jq -r '.experiments | last' <<<"$BODY")
	# the skipped slots started nothing: one run of the schedule at a time
	fl_api GET '/v1/experiments?state=running'
	[ "$(jq --arg s "$sid" '[.experiments[] | select(.schedule_id == $s)] | length' <<<"$BODY")" -le 1 ]
	fl_api DELETE "/v1/schedules/$sid"
	[ "$CODE" = 204 ]
	# a DELETE of the schedule does not stop the run it started
	fl_api GET "/v1/experiments/$e1"
	jq -e '.state == "running" or .state == "completed"' <<<"$BODY"
	fl_wait_state "$e1" completed
}

@test "a_missing_schedule_key_is_reported_at_the_mapping_that_lacks_it" {
	# docs/api.md: errors[] {path, line, col, message} as faultline validate
	# gives them; docs/scenario.md: a missing key points at the mapping (1:1)
	fl_start_daemon
	post /v1/schedules application/yaml "$(fl_scenario x 1s '{dev: va, protocol: udp, port: 7999}' '{target: t, loss: 1%}')"
	is_problem 422 invalid-scenario
	jq -e '.errors | length == 1 and .[0].path == "schedule" and .[0].line == 1 and .[0].col == 1' <<<"$BODY"
}

# --- 7. /metrics ---------------------------------------------------------------

# metrics_check FILE EXPERIMENT: a strict reading of the exposition format
# (prometheus_client's parser, plus: every sample under a # HELP and # TYPE,
# no series twice, finite values, counters >= 0, a final newline); prints
# "matched dropped probe_ok" of the experiment's step 0
metrics_check() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import math, re, sys
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
exp = sys.argv[2]
assert text.endswith("\n"), "no final newline"
helps, types = set(), {}
for line in text.splitlines():
    if line.startswith("# HELP "):
        helps.add(line.split()[2])
    elif line.startswith("# TYPE "):
        _, _, name, typ = line.split()
        assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), line
        assert name not in types, "TYPE twice: " + line
        types[name] = typ
    elif line.startswith("#"):
        continue
    else:
        assert line.strip(), "blank line in the exposition"
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
        assert name in types, "sample before its TYPE: " + line
        assert name in helps, "sample without HELP: " + line
fams = {}
seen = set()
for f in text_string_to_metric_families(text):
    assert f.type in ("counter", "gauge"), (f.name, f.type)
    assert f.documentation, f.name
    fams[f.name] = f
    for s in f.samples:
        key = (s.name, tuple(sorted(s.labels.items())))
        assert key not in seen, "series twice: %r" % (key,)
        seen.add(key)
        assert math.isfinite(s.value), s
        assert f.type != "counter" or s.value >= 0, s
# counters: prometheus_client names the family without _total
fam = lambda n: fams.get(n) or fams[n[: -len("_total")]]
bi = fams["faultline_build_info"].samples
assert len(bi) == 1 and bi[0].value == 1 and bi[0].labels["version"], bi
states = {s.labels["state"]: s.value for s in fams["faultline_experiments"].samples}
assert set(states) == {"pending", "running", "completed", "aborted", "failed"}, states
assert states["running"] == 1, states
assert [s.value for s in fams["faultline_schedules"].samples] == [0]
def one(metric, **want):
    v = [s.value for s in fam(metric).samples
         if s.labels.get("experiment") == exp and all(s.labels.get(k) == w for k, w in want.items())]
    assert len(v) == 1, (metric, want, v)
    return v[0]
matched = one("faultline_fault_matched_packets_total", step="0", name="icmp-half")
mbytes = one("faultline_fault_matched_bytes_total", step="0")
dropped = one("faultline_fault_acted_packets_total", step="0", action="dropped")
for a in ("rate_dropped", "corrupted", "duplicated", "delayed", "reordered"):
    assert one("faultline_fault_acted_packets_total", step="0", action=a) == 0, a
one("faultline_delay_line_held", step="0")
one("faultline_delay_line_late_max_seconds", step="0")
ok = one("faultline_probe_runs_total", probe="alive", result="ok")
assert one("faultline_probe_runs_total", probe="alive", result="failed") == 0
one("faultline_probe_last_duration_seconds", probe="alive")
assert mbytes >= 84 * matched, (mbytes, matched)
assert 0 < dropped < matched, (dropped, matched)
print(int(matched), int(dropped), int(ok), " ".join("%s=%d" % kv for kv in sorted(states.items())))
PY
}

@test "metrics_parse_strictly_and_count_a_running_loss_step" {
	fl_start_daemon --allow-command-probes
	create application/yaml "$(fl_scenario icmp-half 60s '{dev: va, protocol: icmp}' '{target: t, loss: 50%}' \
		'steady_state:
  - {name: alive, command: {run: "true"}, every: 200ms}
')"
	local id=$ID m1 m2 d1 d2 ok1 ok2 rest
	fl_wait_state "$id" running
	ping_loss 40 >/dev/null || true
	sleep 0.5
	fl_api GET /metrics
	[ "$CODE" = 200 ]
	[ "$CTYPE" = 'text/plain; version=0.0.4; charset=utf-8' ]
	printf '%s\n' "$BODY" >"$T/m1"
	read -r m1 d1 ok1 rest < <(metrics_check "$T/m1" "$id")
	echo "# matched $m1 dropped $d1 probe runs $ok1; $rest"
	[ "$m1" -ge 40 ]
	# faultline_experiments agrees with the store
	local s
	for s in pending running completed aborted failed; do
		[ "$(grep -F "faultline_experiments{state=\"$s\"}" <<<"$BODY" | awk '{ print $2 }')" -eq \
			"$(curl -s --unix-socket "$SOCK" "http://localhost/v1/experiments?state=$s" | jq '.experiments | length')" ]
	done
	grep -qxF "faultline_build_info{version=\"$("$FAULTLINED" --version | awk '{ print $2 }')\"} 1" <<<"$BODY"
	# it grows with the traffic
	ping_loss 40 >/dev/null || true
	sleep 0.5
	fl_api GET /metrics
	printf '%s\n' "$BODY" >"$T/m2"
	read -r m2 d2 ok2 rest < <(metrics_check "$T/m2" "$id")
	echo "# matched $m2 dropped $d2 probe runs $ok2"
	[ "$m2" -ge $((m1 + 40)) ]
	[ "$d2" -gt "$d1" ]
	[ "$ok2" -gt "$ok1" ]
	# and the same figure as the experiment object (read a moment later: a
	# straggling packet may have matched in between)
	fl_api GET "/v1/experiments/$id"
	local mo
	mo=$(jq '.steps[0].matched' <<<"$BODY")
	[ "$mo" -ge "$m2" ] && [ "$mo" -le $((m2 + 3)) ] || { echo "object $mo, metrics $m2"; return 1; }
	fl_api DELETE "/v1/experiments/$id"
	[ "$CODE" = 200 ]
	# its counters stay exported after it ended (ten minutes)
	fl_api GET /metrics
	grep -qE "^faultline_fault_matched_packets_total\{experiment=\"$id\",.*\} [0-9]+$" <<<"$BODY"
	grep -qxF 'faultline_experiments{state="aborted"} 1' <<<"$BODY"
	grep -qxF 'faultline_experiments{state="running"} 0' <<<"$BODY"
}

# --- the transport's documented limits --------------------------------------

@test "transport_limits_headers_32k_256_connections_10s_timeout" {
	# docs/api.md: "request line and headers 32 KiB, 256 connections at once
	# (more are refused), 10 s connection timeout"; each limit
	# is judged, then the test fails if any was not kept
	fl_start_daemon
	local h wrong=0
	# headers up to 32 KiB are read, above that refused
	h=$(head -c 20000 /dev/zero | tr '\0' a)
	fl_api GET /v1/health -H "X-Pad: $h" >/dev/null
	echo "a request with 20000 bytes of headers: $CODE"
	[ "$CODE" = 200 ] || wrong=$((wrong + 1))
	h=$(head -c 40000 /dev/zero | tr '\0' a)
	fl_api GET /v1/health -H "X-Pad: $h" >/dev/null
	echo "a request with 40000 bytes of headers: $CODE"
	[ "$CODE" != 200 ] || { echo "  WRONG: above 32 KiB of headers, and answered"; wrong=$((wrong + 1)); }
	# 256 connections at once: a 257th is refused; an idle
	# connection is closed after 10 s
	run /usr/bin/python3 - "$SOCK" <<'PY'
import socket, sys, time
path = sys.argv[1]
held = []
for i in range(256):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)  # blocking: a full backlog waits for the accept
    s.settimeout(5)
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")  # not finished
    held.append(s)
t0 = time.time()
time.sleep(0.3)
s = socket.socket(socket.AF_UNIX)
s.settimeout(1)
try:
    s.connect(path)
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = s.recv(64)
except OSError as e:
    got = repr(e).encode()
print("257th: %r" % got[:20])
h = held[0]
h.settimeout(15)
try:
    h.recv(64)
except OSError:
    pass
print("idle connection closed after %.1f s" % (time.time() - t0))
PY
	echo "$output"
	[ "$status" -eq 0 ]
	if [[ "$output" == *"257th: b'HTTP/1.1 200"* ]]; then
		echo "  WRONG: a 257th connection was served while 256 were open"
		wrong=$((wrong + 1))
	fi
	closed=$(sed -nE 's/^idle connection closed after ([0-9.]+) s$/\1/p' <<<"$output")
	awk -v c="$closed" 'BEGIN { exit !(c >= 9 && c <= 12) }' || { echo "  WRONG: idle for ${closed}s"; wrong=$((wrong + 1)); }
	[ "$wrong" -eq 0 ]
}
