#!/usr/bin/env bats
# tests/e2e/security.bats - the daemon's hardening (docs/security.md): the
# capabilities it keeps after start-up (every thread, and what the programs
# it starts can get back), that those are enough for packet and connect()
# faults, the API's rate limits (429 with Retry-After), a state directory
# others may write or that goes through a symbolic link refused, and
# scenario files anyone may change refused by run, run --detach and
# schedule add.
#
# Daemons run in namespace A (A: 10.200.0.1 on va, B: 10.200.0.2 on vb),
# their socket and store under the test's tmpdir; teardown kills them by PID
# and removes the namespaces.

load ../lib/common

EC="$BATS_TEST_DIRNAME/../tools/errclient.py"

setup() {
	fl_daemon_setup
}

teardown() {
	fl_teardown_netns
}

# caps_of HEX: the capability names of a mask, sorted, upper case, no CAP_
caps_of() { capsh --decode="$1" | sed 's/.*=//' | tr ',' '\n' | sed 's/^cap_//' | tr '[:lower:]' '[:upper:]' | sort; }

scenario_file() { # FILE: a scenario with no fault (nothing is applied)
	printf 'version: 1\nname: quiet\nduration: 1s\n' >"$1"
}

@test "the daemon keeps only the capabilities it prints, in every thread and the bounding set" {
	command -v capsh >/dev/null || skip "capsh (libcap2-bin) is not installed"
	run "$FAULTLINED" --print-capabilities
	assert_success
	want=$(sort <<<"$output")
	[ -n "$want" ]
	# no ALL, no SYS_ADMIN: that would be root by another name
	! grep -qx SYS_ADMIN <<<"$want"
	fl_start_daemon
	n=0
	for task in /proc/"$DPID"/task/*; do
		for set in CapEff CapPrm CapBnd; do
			got=$(caps_of "$(awk -v s="$set:" '$1 == s { print $2 }' "$task/status")")
			[ "$got" = "$want" ] || { echo "$task $set: $got, expected $want"; return 1; }
		done
		[ "$(awk '$1 == "CapAmb:" { print $2 }' "$task/status")" = 0000000000000000 ]
		[ "$(awk '$1 == "NoNewPrivs:" { print $2 }' "$task/status")" = 1 ]
		n=$((n + 1))
	done
	echo "$n threads checked"
	[ "$n" -ge 3 ] # main, the scheduler, the HTTP server
}

@test "with only those capabilities the daemon still applies delay and refuse, and its probes get no more" {
	command -v capsh >/dev/null || skip "capsh (libcap2-bin) is not installed"
	fl_start_daemon --allow-command-probes
	want=$("$FAULTLINED" --print-capabilities | sort)
	# a 50 ms ICMP delay step (the delay line) and a refuse step on the cgroup root (UDP
	# connect() to B:9999 refused), and a command probe that records the
	# capabilities a program the daemon starts can have
	cat >"$T/s.yaml" <<EOF
version: 1
name: capped
duration: 20s
targets:
  icmp: {dev: va, protocol: icmp}
  svc: {host: 10.200.0.2, port: 9999}
faults:
  - {target: icmp, delay: 50ms}
  - {target: svc, refuse: {errno: ECONNREFUSED}}
steady_state:
  - name: caps
    every: 1s
    max_failures: 100
    command: {run: "grep -E '^Cap(Prm|Bnd)' /proc/self/status > $T/probe.caps"}
EOF
	fl_api POST /v1/experiments -H 'Content-Type: application/yaml' --data-binary @"$T/s.yaml"
	[ "$CODE" = 201 ] || { echo "POST: $CODE $BODY"; return 1; }
	id=$(jq -r .id <<<"$BODY")
	for i in $(seq 1 100); do
		fl_api GET "/v1/experiments/$id"
		[ "$(jq -r .state <<<"$BODY")" = running ] && [ -s "$T/probe.caps" ] && break
		sleep 0.1
	done
	[ "$(jq -r .state <<<"$BODY")" = running ] || { echo "$BODY"; return 1; }
	# rtt min/avg/max/mdev = 50.1/50.3/... ms
	rtt=$(ns_a ping -n -q -c 10 -i 0.05 -W 2 10.200.0.2 | sed -nE 's|.* = ([0-9.]+)/.*|\1|p')
	echo "min rtt ${rtt} ms"
	awk -v r="$rtt" 'BEGIN { exit !(r >= 49 && r < 150) }' || { echo "min rtt $rtt ms, expected 50 ms added"; return 1; }
	# the delay line's thread got SCHED_FIFO (CAP_SYS_NICE kept for that)
	ps -L -o cls= -p "$DPID" | grep -qw FF || { ps -L -o tid,cls,comm -p "$DPID"; return 1; }
	got=$(ns_a /usr/bin/python3 "$EC" connect 10.200.0.2 9999 --udp | jq -r .errno)
	[ "$got" = ECONNREFUSED ] || { echo "connect: $got"; return 1; }
	# the probe (uid 0, exec'd by the daemon) has nothing beyond the kept set
	bnd=$(caps_of "$(awk '$1 == "CapBnd:" { print $2 }' "$T/probe.caps")")
	prm=$(caps_of "$(awk '$1 == "CapPrm:" { print $2 }' "$T/probe.caps")")
	[ "$bnd" = "$want" ] || { echo "probe bounding set: $bnd"; return 1; }
	[ "$prm" = "$want" ] || { echo "probe permitted set: $prm"; return 1; }
	fl_api DELETE "/v1/experiments/$id"
	[ "$CODE" = 200 ]
	rtt=$(ns_a ping -n -q -c 5 -i 0.05 -W 2 10.200.0.2 | sed -nE 's|.* = ([0-9.]+)/.*|\1|p')
	awk -v r="$rtt" 'BEGIN { exit !(r < 20) }' || { echo "min rtt $rtt ms after stop"; return 1; }
	[ "$(ns_a /usr/bin/python3 "$EC" connect 10.200.0.2 9999 --udp | jq -r .errno)" = ok ]
}

@test "command probes from the API are refused unless the daemon allows them" {
	fl_start_daemon
	body='version: 1
name: probe
duration: 5s
steady_state:
  - {name: ok, http: {url: "http://10.200.0.2:9/"}}
  - {name: sh, command: {run: "touch '"$T"'/ran"}}
'
	for path in /v1/experiments /v1/schedules; do
		b=$body
		[ "$path" = /v1/schedules ] && b="$body"'schedule: "@every 1h"'
		fl_api POST "$path" -H 'Content-Type: application/yaml' --data-binary "$b"
		[ "$CODE" = 422 ] || { echo "$path: $CODE $BODY"; return 1; }
		jq -e '.type == "urn:faultline:problem:invalid-scenario" and
			.errors[0].path == "steady_state[1].command" and .errors[0].line == 6 and
			(.errors[0].message | test("--allow-command-probes"))' <<<"$BODY" >/dev/null || { echo "$BODY"; return 1; }
	done
	fl_api GET /v1/experiments
	[ "$(jq '.experiments | length' <<<"$BODY")" -eq 0 ]
	fl_api GET /v1/schedules
	[ "$(jq '.schedules | length' <<<"$BODY")" -eq 0 ]
	sleep 0.5
	[ ! -e "$T/ran" ]
}

@test "--keep-capabilities keeps them all" {
	command -v capsh >/dev/null || skip "capsh (libcap2-bin) is not installed"
	fl_start_daemon --keep-capabilities
	got=$(caps_of "$(awk '$1 == "CapEff:" { print $2 }' /proc/"$DPID"/status)")
	grep -qx SYS_ADMIN <<<"$got"
	[ "$(wc -l <<<"$got")" -gt 10 ]
}

@test "the rate limit answers 429 with Retry-After, per client, and lets it through again a second later" {
	fl_start_daemon --rate-limit 5
	ok=0 limited=0
	for i in $(seq 1 30); do
		fl_api GET /v1/health
		case $CODE in
		200) ok=$((ok + 1)) ;;
		429)
			limited=$((limited + 1))
			[ "$(fl_hdr Retry-After)" = 1 ] || { echo "Retry-After '$(fl_hdr Retry-After)'"; return 1; }
			jq -e '.type == "urn:faultline:problem:rate-limited" and .status == 429 and
				(.detail | test("more than 5 requests per second"))' <<<"$BODY" >/dev/null ||
				{ echo "$BODY"; return 1; }
			;;
		*) echo "unexpected $CODE $BODY"; return 1 ;;
		esac
	done
	echo "200: $ok, 429: $limited"
	# a burst of 10 (less what the start-up polls took) and 5 a second
	[ "$ok" -ge 8 ] && [ "$ok" -le 20 ]
	[ "$limited" -ge 11 ]
	sleep 1.2
	fl_api GET /v1/health
	[ "$CODE" = 200 ]
	fl_api GET /metrics
	n=$(awk '$1 == "faultline_api_rate_limited_total" { print $2 }' <<<"$BODY")
	[ "$n" -ge "$limited" ] || { echo "metric $n, refused $limited"; return 1; }
}

@test "the write limit holds POST and DELETE back while GET goes on" {
	fl_start_daemon --write-rate-limit 1
	codes=()
	for i in $(seq 1 6); do
		fl_api POST /v1/experiments -H 'Content-Type: application/yaml' --data-binary 'version: 1
name: bad
duration: nonsense'
		codes+=("$CODE")
		[ "$CODE" = 429 ] && { jq -e '.detail | test("that change something")' <<<"$BODY" >/dev/null || { echo "$BODY"; return 1; }; }
		fl_api GET /v1/experiments
		[ "$CODE" = 200 ] || { echo "GET between writes: $CODE"; return 1; }
	done
	echo "POST codes: ${codes[*]}"
	[ "${codes[0]}" = 422 ] && [ "${codes[1]}" = 422 ]
	[ "$(printf '%s\n' "${codes[@]}" | grep -c '^429$')" -ge 2 ]
}

@test "a rate limit that is no number is refused at start" {
	run "$FAULTLINED" --foreground --socket "$SOCK" --state-dir "$STATE" --rate-limit fast
	[ "$status" -eq 2 ]
	assert_output --partial '--rate-limit: "fast" is not a number from 0 to 100000'
	run "$FAULTLINED" --foreground --socket "$SOCK" --state-dir "$STATE" --write-rate-limit -1
	[ "$status" -eq 2 ]
	assert_output --partial '--write-rate-limit: "-1" is not a number'
	[ ! -e "$SOCK" ]
}

# start_refused DIR TEXT: faultlined with --state-dir DIR exits 1 at once
# saying TEXT, leaves no socket, and writes nothing into DIR
start_refused() {
	local before
	before=$(ls -la "$1" 2>/dev/null | md5sum)
	run timeout 10 "$FAULTLINED" --foreground --socket "$SOCK" --state-dir "$1"
	echo "$output"
	[ "$status" -eq 1 ]
	assert_output --partial "$2"
	[ ! -e "$SOCK" ]
	[ "$(ls -la "$1" 2>/dev/null | md5sum)" = "$before" ]
}

@test "a state directory others may write is refused" {
	mkdir -m 0777 "$T/ww" && chmod 0777 "$T/ww"
	start_refused "$T/ww" "is writable by everyone (mode 0777; expected 0700: chmod go-w)"
	mkdir "$T/gw" && chmod 0770 "$T/gw"
	start_refused "$T/gw" "is writable by its group (mode 0770"
	mkdir "$T/theirs" && chmod 0700 "$T/theirs" && chown nobody "$T/theirs"
	start_refused "$T/theirs" "belongs to uid $(id -u nobody), not to the daemon's user"
}

@test "the state directory and the store's files are never reached through a symbolic link" {
	mkdir -m 0700 "$T/real"
	ln -s "$T/real" "$T/link"
	start_refused "$T/link" "is a symbolic link (expected a directory"
	[ -z "$(ls -A "$T/real")" ]
	# the database, its WAL or shm as a link to a file elsewhere
	for f in faultline.db faultline.db-wal faultline.db-shm; do
		rm -rf "$T/st" && mkdir -m 0700 "$T/st"
		echo precious >"$T/victim"
		ln -s "$T/victim" "$T/st/$f"
		run timeout 10 "$FAULTLINED" --foreground --socket "$SOCK" --state-dir "$T/st"
		[ "$status" -eq 1 ] || { echo "$f: $status $output"; return 1; }
		assert_output --partial "is a symbolic link or not a regular file; the daemon never follows one there"
		[ "$(cat "$T/victim")" = precious ]
		[ ! -e "$SOCK" ]
	done
}

@test "a scenario file anyone may change is refused by run, run --detach and schedule add" {
	scenario_file "$T/ww.yaml"
	chmod 0666 "$T/ww.yaml"
	for cmd in "run $T/ww.yaml" "run --detach --socket $SOCK $T/ww.yaml" "schedule add --socket $SOCK $T/ww.yaml"; do
		# shellcheck disable=SC2086
		run "$FAULTLINE" $cmd
		[ "$status" -eq 2 ] || { echo "$cmd: $status $output"; return 1; }
		assert_output --partial "$T/ww.yaml: anyone may write this file (mode 0666)"
		assert_output --partial "chmod o-w"
	done
	mkdir "$T/open" && chmod 0777 "$T/open"
	scenario_file "$T/open/s.yaml"
	run "$FAULTLINE" run "$T/open/s.yaml"
	[ "$status" -eq 2 ]
	assert_output --partial "anyone may write its directory $T/open (mode 0777, no sticky bit)"
	# a sticky directory (like /tmp) is fine: nobody can replace another's file
	mkdir "$T/sticky" && chmod 1777 "$T/sticky"
	scenario_file "$T/sticky/s.yaml"
	run "$FAULTLINE" run "$T/sticky/s.yaml"
	assert_success
	# and so is the same file once it is not writable by others
	chmod 0644 "$T/ww.yaml"
	run "$FAULTLINE" run "$T/ww.yaml"
	assert_success
}
