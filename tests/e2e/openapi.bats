#!/usr/bin/env bats
# tests/e2e/openapi.bats - docs/openapi.json, the OpenAPI 3.0 description of
# faultlined's REST API (docs/api.md): it is valid OpenAPI (the official
# JSON Schema, vendored in tests/tools), its routes are those api/server.c
# answers, the daemon serves it at GET /v1/openapi.json, and every response
# of a real daemon (each operation, its errors, a loss and a delay step on
# the veth, a restart that reads experiments back from the store) matches
# the document (tests/tools/openapi_check.py).
#
# Each test starts its own daemon in namespace A (A: 10.200.0.1 on va, B:
# 10.200.0.2 on vb) through nsenter, its socket and store under the test's
# tmpdir; teardown kills every process by PID (FL_PIDS) and removes the
# namespaces.

load ../lib/common

CHECK="$BATS_TEST_DIRNAME/../tools/openapi_check.py"
SPEC="$BATS_TEST_DIRNAME/../../docs/openapi.json"

setup() {
	fl_daemon_setup
	EX=$T/ex # the exchanges openapi_check.py responses reads
	mkdir -p "$EX"
	N=0
}

teardown() {
	fl_teardown_netns
}

# --- helpers -----------------------------------------------------------------

# record METHOD PATH CURL-ARGS...: one request (30 s at most) with curl (or
# what CURL, an array, says), kept in $EX for openapi_check.py; sets CODE,
# BODY, HDRS (CR removed), CTYPE
CURL=(curl)
record() {
	local m=$1 p=$2 f
	shift 2
	N=$((N + 1))
	f=$EX/$N
	echo "$m $p" >"$f.req"
	if [ "$m" = HEAD ]; then
		CODE=$("${CURL[@]}" -s --max-time 30 -I -D "$f.h" -o /dev/null -w '%{http_code}' "$@") || true
		: >"$f.b"
	else
		CODE=$("${CURL[@]}" -s --max-time 30 -X "$m" -D "$f.h" -o "$f.b" -w '%{http_code}' "$@") || true
	fi
	BODY=$(cat "$f.b" 2>/dev/null || true)
	HDRS=$(tr -d '\r' <"$f.h" 2>/dev/null || true)
	CTYPE=$(fl_hdr Content-Type)
	echo "$m $p -> $CODE $CTYPE ${BODY:0:300}"
}

# api METHOD PATH [CURL ARGS...]: on the unix socket
api() {
	local m=$1 p=$2
	shift 2
	record "$m" "$p" --unix-socket "$SOCK" "$@" "http://localhost$p"
}

# tapi METHOD PATH [CURL ARGS...]: on the TCP listener ($PORT in A)
tapi() {
	local m=$1 p=$2 CURL=(ip netns exec "$FL_NS_A" curl)
	shift 2
	record "$m" "$p" "$@" "http://127.0.0.1:$PORT$p"
}

# is_problem STATUS TYPE: the last response is that problem+json
is_problem() {
	[ "$CODE" = "$1" ] || { echo "status $CODE, expected $1"; return 1; }
	[ "$CTYPE" = application/problem+json ] || { echo "Content-Type '$CTYPE'"; return 1; }
	jq -e --arg t "urn:faultline:problem:$2" '.type == $t' <<<"$BODY" >/dev/null
}

# ping_loss COUNT: the loss in per cent of COUNT pings from A to B
ping_loss() {
	ns_a ping -n -q -c "$1" -i 0.02 -W 0.5 10.200.0.2 | sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p'
}

# ping_min_ms COUNT: the least round trip of COUNT pings from A to B, in ms
ping_min_ms() {
	ns_a ping -n -q -c "$1" -i 0.05 -W 2 10.200.0.2 | sed -nE 's|^rtt [^=]*= ([0-9.]+)/.*|\1|p'
}

# free_port: a TCP port nothing listens on in A
free_port() {
	local _ p
	for _ in $(seq 1 20); do
		p=$((20000 + RANDOM % 40000))
		[ -z "$(ns_a ss -Hltn "sport = :$p")" ] && { echo "$p"; return 0; }
	done
	return 1
}

# check_all [ARGS]: every recorded exchange against the document
check_all() {
	run python3 "$CHECK" responses "$EX" "$@"
	echo "$output"
	[ "$status" -eq 0 ]
}

# --- the document ---------------------------------------------------------------

@test "the_document_is_valid_openapi_3_0_and_every_ref_resolves" {
	# the vendored schema is the official one for 3.0
	jq -e '.id == "https://spec.openapis.org/oas/3.0/schema/2021-09-28"
		and ."$schema" == "http://json-schema.org/draft-04/schema#"' \
		"$BATS_TEST_DIRNAME/../tools/openapi-3.0.schema.json"
	run python3 "$CHECK" spec
	echo "$output"
	[ "$status" -eq 0 ]
	jq -e '.openapi == "3.0.3"' "$SPEC"
	# the version is the daemon's
	[ "$(jq -r .info.version "$SPEC")" = "$("$FAULTLINED" --version | awk '{ print $2 }')" ]
	# bearer on TCP; the unix socket needs none ({} in security)
	jq -e '.components.securitySchemes.bearer == (.components.securitySchemes.bearer
		| select(.type == "http" and .scheme == "bearer"))
		and (.security | index({}) != null) and (.security | index({"bearer": []}) != null)' "$SPEC"
	# every operation documents the answers any request may get
	jq -e '[.paths[][] | objects | select(has("responses")) | .responses
		| (has("401") and has("413") and has("414") and has("429") and has("431"))] | all' "$SPEC"
	# and 429 says Retry-After
	jq -e '.components.responses.RateLimited.headers["Retry-After"].required == true' "$SPEC"
}

@test "the_paths_and_methods_are_those_api_server_c_routes" {
	run python3 "$CHECK" routes
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"9 paths, 13 operations"* ]]
}

@test "the_checker_refuses_responses_that_do_not_match" {
	# a negative control: real shapes, each broken once, must each fail
	local e='{"id": "e-5f1c0a9b2d3e", "name": "x", "state": "running", "reason": null,
		"created": "2026-11-26T19:00:00.000Z", "started": "2026-11-26T19:00:00.120Z", "ended": null,
		"verdict": null, "exit_code": null, "schedule_id": null, "created_by": "uid:0", "duration_s": 60,
		"steps": [{"index": 0, "target": "t", "fault": "loss 100%", "at_s": 0, "for_s": null,
		"state": "live", "matched": 3, "bytes": 252}]}'
	echo "$e" >"$T/good.json"
	run python3 "$CHECK" response GET /v1/experiments/e-5f1c0a9b2d3e 200 --content-type application/json --body "$T/good.json"
	echo "$output"
	[ "$status" -eq 0 ]
	local bad
	for bad in 'del(.steps)' '.extra = 1' '.state = "done"' '.created = null' '.steps[0].matched = -1' \
		'.exit_code = "0"' '.steps[0].for_s = "30s"' '.id = "x-1"' '.created_by = "root"'; do
		jq "$bad" "$T/good.json" >"$T/bad.json"
		run python3 "$CHECK" response GET /v1/experiments/e-5f1c0a9b2d3e 200 --content-type application/json --body "$T/bad.json"
		echo "$bad: $status $output"
		[ "$status" -eq 1 ]
	done
	# the right body under the wrong status, content type or operation
	run python3 "$CHECK" response GET /v1/experiments/e-5f1c0a9b2d3e 201 --content-type application/json --body "$T/good.json"
	[ "$status" -eq 1 ]
	run python3 "$CHECK" response GET /v1/experiments/e-5f1c0a9b2d3e 200 --content-type text/plain --body "$T/good.json"
	[ "$status" -eq 1 ]
	run python3 "$CHECK" response GET /v1/health 200 --content-type application/json --body "$T/good.json"
	[ "$status" -eq 1 ]
	# a 405 whose Allow is not the path's methods
	printf '{"type": "urn:faultline:problem:method-not-allowed", "title": "method not allowed", "status": 405, "detail": "x"}' >"$T/p.json"
	printf 'HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, DELETE\r\n\r\n' >"$T/h"
	run python3 "$CHECK" response PUT /v1/experiments 405 --content-type application/problem+json --body "$T/p.json" --headers "$T/h"
	echo "$output"
	[ "$status" -eq 1 ]
	printf 'HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, POST\r\n\r\n' >"$T/h"
	run python3 "$CHECK" response PUT /v1/experiments 405 --content-type application/problem+json --body "$T/p.json" --headers "$T/h"
	[ "$status" -eq 0 ]
	# a 429 without Retry-After
	printf '{"type": "urn:faultline:problem:rate-limited", "title": "too many requests", "status": 429, "detail": "x"}' >"$T/p.json"
	printf 'HTTP/1.1 429 Too Many Requests\r\n\r\n' >"$T/h"
	run python3 "$CHECK" response GET /v1/health 429 --content-type application/problem+json --body "$T/p.json" --headers "$T/h"
	echo "$output"
	[ "$status" -eq 1 ]
}

# --- the daemon serves it --------------------------------------------------------

@test "get_v1_openapi_json_returns_docs_openapi_json" {
	fl_start_daemon
	api GET /v1/openapi.json
	[ "$CODE" = 200 ] && [ "$CTYPE" = application/json ]
	echo "$BODY" >"$T/served.json"
	[ "$(jq -cS . "$T/served.json")" = "$(jq -cS . "$SPEC")" ]
	api HEAD /v1/openapi.json
	[ "$CODE" = 200 ] && [ "$CTYPE" = application/json ]
	api POST /v1/openapi.json
	is_problem 405 method-not-allowed
	[ "$(fl_hdr Allow)" = GET ]
	check_all
}

# --- every operation against a real daemon ----------------------------------------

@test "every_operation_and_its_errors_match_the_document" {
	local tok id1 id2 sid x
	tok=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	(umask 077 && printf '%s\n' "$tok" >"$T/token")
	PORT=$(free_port)
	fl_start_daemon --listen "127.0.0.1:$PORT" --token-file "$T/token"

	# the daemon's own paths
	api GET /v1/health
	[ "$CODE" = 200 ]
	api HEAD /v1/health
	[ "$CODE" = 200 ]
	api GET /v1/capabilities
	[ "$CODE" = 200 ]
	api GET /v1/openapi.json
	[ "$CODE" = 200 ]
	api GET /metrics
	[ "$CODE" = 200 ]
	api GET /v1/experiments
	[ "$CODE" = 200 ] && jq -e '.experiments == []' <<<"$BODY"
	api GET /v1/schedules
	[ "$CODE" = 200 ] && jq -e '.schedules == []' <<<"$BODY"

	# TCP: 401 without the token or with a wrong one; the token: 200
	tapi GET /v1/health
	is_problem 401 unauthorized
	tapi GET /v1/experiments -H 'Authorization: Bearer wrong'
	is_problem 401 unauthorized
	tapi POST /v1/experiments -H 'Authorization: Bearer wrong' -H 'Content-Type: application/yaml' \
		--data-binary "$(fl_scenario no 5s '{dev: va, protocol: icmp}' '{target: t, loss: 100%}')"
	is_problem 401 unauthorized
	tapi GET /v1/health -H "Authorization: Bearer $tok"
	[ "$CODE" = 200 ]
	tapi GET /v1/openapi.json -H "Authorization: Bearer $tok"
	[ "$CODE" = 200 ]
	[ "$(ping_loss 5)" = 0 ]

	# a loss step on the veth: 201, Location; ICMP from A to B is lost
	api POST /v1/experiments -H 'Content-Type: application/yaml' \
		--data-binary "$(fl_scenario icmp-loss 30s '{dev: va, protocol: icmp}' '{target: t, loss: 100%}')"
	[ "$CODE" = 201 ]
	id1=$(jq -r .id <<<"$BODY")
	[ "$(fl_hdr Location)" = "/v1/experiments/$id1" ]
	fl_wait_state "$id1" running 15
	[ "$(ping_loss 5)" = 100 ]
	sleep 0.4 # the counters are read about every 250 ms
	api GET "/v1/experiments/$id1"
	[ "$CODE" = 200 ] && jq -e '.state == "running" and .steps[0].state == "live" and .steps[0].matched >= 5' <<<"$BODY"
	api GET "/v1/experiments?state=running&limit=10"
	[ "$CODE" = 200 ] && [ "$(jq '.experiments | length' <<<"$BODY")" -eq 1 ]
	api GET /metrics
	[ "$CODE" = 200 ] && grep -q "faultline_fault_matched_packets_total{experiment=\"$id1\"" <<<"$BODY"
	# no report while it runs
	api GET "/v1/experiments/$id1/report"
	is_problem 404 not-found
	# the same flows again: 409 naming the holder
	api POST /v1/experiments -H 'Content-Type: application/yaml' \
		--data-binary "$(fl_scenario icmp-again 30s '{dev: va, protocol: icmp}' '{target: t, loss: 1%}')"
	is_problem 409 conflict
	[ "$(jq -r .holder <<<"$BODY")" = "$id1" ]
	# DELETE: 200, aborted; the fault is gone; again: 409
	api DELETE "/v1/experiments/$id1"
	[ "$CODE" = 200 ] && jq -e '.state == "aborted" and .steps[0].state == "done"' <<<"$BODY"
	[ "$(ping_loss 5)" = 0 ]
	api DELETE "/v1/experiments/$id1"
	is_problem 409 conflict
	api GET "/v1/experiments/$id1/report"
	[ "$CODE" = 200 ] && [ "$CTYPE" = application/json ] && jq -e '.verdict == "aborted"' <<<"$BODY"
	echo "$BODY" >"$T/r1.json"
	fl_report_valid "$T/r1.json"
	api GET "/v1/experiments/$id1/report?format=junit"
	[ "$CODE" = 200 ] && [ "$CTYPE" = application/xml ]
	api GET "/v1/experiments/$id1/report?format=json"
	[ "$CODE" = 200 ]

	# a delay step (JSON body) with a TCP probe, that runs its course
	ns_b python3 -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.200.0.2", 7100)); s.listen(128); time.sleep(60)' 3>&- &
	FL_PIDS+=($!)
	for x in $(seq 1 100); do
		[ -n "$(ns_b ss -Hltn "sport = :7100")" ] && break
		sleep 0.05
	done
	api POST /v1/experiments -H 'Content-Type: application/json' --data-binary '{"version": 1, "name": "icmp-delay",
		"duration": "3s", "targets": {"t": {"dev": "va", "protocol": "icmp"}},
		"faults": [{"target": "t", "for": "2500ms", "delay": {"time": "100ms"}}],
		"steady_state": [{"name": "b-port", "tcp": {"host": "10.200.0.2", "port": 7100}, "every": "500ms"}]}'
	[ "$CODE" = 201 ]
	id2=$(jq -r .id <<<"$BODY")
	fl_wait_state "$id2" running 15
	x=$(ping_min_ms 5)
	echo "# the least RTT under a 100 ms delay: $x ms"
	awk -v x="$x" 'BEGIN { exit !(x >= 95) }'
	api GET "/v1/experiments/$id2"
	[ "$CODE" = 200 ]
	fl_wait_state "$id2" completed 15
	api GET "/v1/experiments/$id2"
	[ "$CODE" = 200 ] && jq -e '.verdict == "passed" and .exit_code == 0 and .steps[0].matched >= 5' <<<"$BODY"
	api GET "/v1/experiments/$id2/report"
	[ "$CODE" = 200 ] && jq -e '.verdict == "passed" and (.probes | length == 1) and .probes[0].runs >= 2' <<<"$BODY"
	echo "$BODY" >"$T/r2.json"
	fl_report_valid "$T/r2.json"
	api GET "/v1/experiments/$id2/report?format=junit"
	[ "$CODE" = 200 ]
	x=$(ping_min_ms 3)
	awk -v x="$x" 'BEGIN { exit !(x < 50) }'

	# the other media types; 400, 413, 415, 422
	api POST /v1/experiments -H 'Content-Type: application/x-yaml' \
		--data-binary "$(fl_scenario udp-9 1s '{dev: va, protocol: udp, port: 9}' '{target: t, loss: 1%}')"
	[ "$CODE" = 201 ]
	api POST /v1/experiments -H 'Content-Type: text/yaml' \
		--data-binary "$(fl_scenario udp-10 1s '{dev: va, protocol: udp, port: 10}' '{target: t, loss: 1%}')"
	[ "$CODE" = 201 ]
	api POST /v1/experiments -H 'Content-Type: text/plain' \
		--data-binary "$(fl_scenario plain 5s '{dev: va, protocol: udp, port: 9}' '{target: t, loss: 1%}')"
	is_problem 415 unsupported-media-type
	api POST /v1/experiments -H 'Content-Type: application/yaml' --data-binary ''
	is_problem 400 bad-request
	api POST /v1/experiments -H 'Content-Type: application/yaml' --data-binary $'version: 1\nname: [unclosed'
	is_problem 400 bad-request
	printf 'version: 1\nname: \xff\xfe\n' >"$T/latin1"
	api POST /v1/experiments -H 'Content-Type: application/yaml' --data-binary "@$T/latin1"
	is_problem 400 bad-request
	api POST /v1/experiments -H 'Content-Type: application/json' --data-binary '{"version": 1,'
	is_problem 400 bad-request
	head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >"$T/big"
	api POST /v1/experiments -H 'Content-Type: application/yaml' --data-binary "@$T/big"
	is_problem 413 too-large
	api POST /v1/experiments -H 'Content-Type: application/yaml' \
		--data-binary "$(fl_scenario bad 5s '{dev: va, protocol: udp, port: 9}' '{target: t, loss: 130%}')"
	is_problem 422 invalid-scenario
	jq -e '.errors[0].path == "faults[0].loss"' <<<"$BODY"
	api POST /v1/experiments -H 'Content-Type: application/yaml' \
		--data-binary "$(fl_scenario cmd 5s '{command: true}' '{target: t, loss: 1%}')"
	is_problem 422 invalid-scenario
	api POST /v1/experiments -H 'Content-Type: application/yaml' \
		--data-binary "$(fl_scenario nodev 5s '{dev: nosuch0, protocol: udp, port: 9}' '{target: t, loss: 1%}')"
	is_problem 422 invalid-scenario

	# 400: the query parameters
	for x in 'state=bogus' 'limit=0' 'limit=1001' 'limit=abc'; do
		api GET "/v1/experiments?$x"
		is_problem 400 bad-request
	done
	api GET "/v1/experiments/$id1/report?format=pdf"
	is_problem 400 bad-request

	# schedules: 201 (it would fire in an hour), list, one, 422, 204, 404
	api POST /v1/schedules -H 'Content-Type: application/yaml' --data-binary \
		"$(fl_scenario hourly 1s '{dev: va, protocol: udp, port: 7999}' '{target: t, loss: 1%}' 'schedule: "@every 1h"
')"
	[ "$CODE" = 201 ]
	sid=$(jq -r .id <<<"$BODY")
	[ "$(fl_hdr Location)" = "/v1/schedules/$sid" ]
	api GET /v1/schedules
	[ "$CODE" = 200 ] && [ "$(jq '.schedules | length' <<<"$BODY")" -eq 1 ]
	api GET "/v1/schedules/$sid"
	[ "$CODE" = 200 ]
	api POST /v1/schedules -H 'Content-Type: application/yaml' \
		--data-binary "$(fl_scenario nosched 1s '{dev: va, protocol: udp, port: 7999}' '{target: t, loss: 1%}')"
	is_problem 422 invalid-scenario
	api POST /v1/schedules -H 'Content-Type: application/yaml' --data-binary \
		"$(fl_scenario badsched 1s '{dev: va, protocol: udp, port: 7999}' '{target: t, loss: 1%}' 'schedule: "@every 500ms"
')"
	is_problem 422 invalid-scenario
	api POST /v1/schedules -H 'Content-Type: application/octet-stream' --data-binary 'x'
	is_problem 415 unsupported-media-type
	api POST /v1/schedules -H 'Content-Type: application/yaml' --data-binary 'a: ['
	is_problem 400 bad-request
	api DELETE "/v1/schedules/$sid"
	[ "$CODE" = 204 ] && [ -z "$BODY" ]
	api GET "/v1/schedules/$sid"
	is_problem 404 not-found
	api DELETE "/v1/schedules/$sid"
	is_problem 404 not-found

	# 404: unknown ids and routes
	api GET /v1/experiments/e-000000000000
	is_problem 404 not-found
	api DELETE /v1/experiments/e-000000000000
	is_problem 404 not-found
	api GET /v1/experiments/e-000000000000/report
	is_problem 404 not-found
	api GET /v1/experiments/e-000000000000/report?format=junit
	is_problem 404 not-found
	for x in /v1/nothing / /v1/experiments/ "/v1/experiments/$id1/nothing" /metrics/x /v1/schedules/s-0/x; do
		api GET "$x"
		is_problem 404 not-found
	done

	# 405 on every path, with the path's methods in Allow
	for x in 'POST /v1/health' 'DELETE /v1/capabilities' 'PUT /v1/openapi.json' 'POST /metrics' \
		'PUT /v1/experiments' 'DELETE /v1/experiments' "PATCH /v1/experiments/$id1" \
		"POST /v1/experiments/$id1" "DELETE /v1/experiments/$id1/report" 'PUT /v1/schedules' \
		'POST /v1/schedules/s-000000000000' 'OPTIONS /v1/health'; do
		api "${x% *}" "${x#* }"
		is_problem 405 method-not-allowed
	done

	# libmicrohttpd's own answers: a request line or headers over 32 KiB
	x=$(head -c 40000 /dev/zero | tr '\0' a)
	api GET /v1/health -H "X-Pad: $x"
	[ "$CODE" = 431 ]
	api GET "/v1/health?pad=$x"
	[ "$CODE" = 414 ]

	# a restart: experiments are read back from the store, with their duration
	kill "$DPID"
	fl_wait_exit "$DPID" 15
	fl_start_daemon --listen "127.0.0.1:$PORT" --token-file "$T/token"
	api GET /v1/experiments
	[ "$CODE" = 200 ] && [ "$(jq '.experiments | length' <<<"$BODY")" -eq 4 ]
	jq -e 'all(.experiments[]; .duration_s | type == "number" and . > 0)' <<<"$BODY"
	api GET "/v1/experiments/$id2"
	[ "$CODE" = 200 ] && jq -e '.state == "completed" and .steps[0].state == "done"' <<<"$BODY"
	api GET "/v1/experiments/$id2/report"
	[ "$CODE" = 200 ]
	api DELETE "/v1/experiments/$id2"
	is_problem 409 conflict

	# every one of those responses matches the document, and every
	# operation was answered with a 2xx at least once
	check_all --require-all-operations
	local s
	for s in 200 201 204 400 401 404 405 409 413 414 415 422 431; do
		grep -qE " $s  x[0-9]+$" <<<"$output" || { echo "no $s was checked"; return 1; }
	done
}

@test "rate_limited_requests_get_429_with_retry_after_as_documented" {
	fl_start_daemon --rate-limit 1 --write-rate-limit 1
	local got=0 _
	# bursts of 2: the third request in a row is refused
	for _ in 1 2 3 4; do
		api GET /v1/health
		[ "$CODE" = 429 ] && got=$((got + 1))
	done
	[ "$got" -ge 1 ]
	is_problem 429 rate-limited
	[ "$(fl_hdr Retry-After)" -ge 1 ]
	sleep 2.1
	api POST /v1/experiments -H 'Content-Type: application/yaml' --data-binary "$(fl_scenario w 1s '{dev: va, protocol: udp, port: 9}' '{target: t, loss: 1%}')"
	[ "$CODE" = 201 ]
	sleep 1.1
	api DELETE /v1/experiments/e-000000000000
	api DELETE /v1/experiments/e-000000000000
	api DELETE /v1/experiments/e-000000000000
	is_problem 429 rate-limited
	check_all
}
