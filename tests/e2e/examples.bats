#!/usr/bin/env bats
# tests/e2e/examples.bats - every scenario in examples/ run as it is, with
# `faultline run`, against real services (redis-server, nginx, Python's
# http.server) in network namespaces that each test builds to the topology
# written at the top of its example (10.x addresses only; veth pairs), and
# removes in teardown with every process it started, even on failure.
# faultline runs on the example's "run from" host through nsenter (not
# ip netns exec, which mounts a fresh /sys and hides the cgroup2 mount that a
# `command: true` target needs), from the test's tmpdir so that the
# scenario's relative report paths land there. Each test asserts measured
# effects: latencies, failed probe runs, counters, exit codes, and that the
# reports validate (docs/report.schema.json, docs/junit.xsd).

load ../lib/common

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
EX="$TOP/examples"
REQLAT="$TOP/tests/tools/reqlat.py"

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
}

teardown() { fl_topo_teardown; }

# run_example HOST EXAMPLE [ARGS...]: `faultline run ARGS $EX/EXAMPLE` on
# HOST, from $T, bounded at 90 s; ARGS may end with -- CMD...; sets RC and
# ELAPSED; stdout and stderr in $T/run.out, $T/run.err
run_example() {
	local host=$1 ex=$2 t0 t1
	shift 2
	local opts=() rest=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	rest=("$@")
	t0=$(date +%s%N)
	RC=0
	(cd "$T" && timeout -k 5 90 nsenter --net="/run/netns/$(fl_ns "$host")" \
		"$FAULTLINE" run "${opts[@]}" "$EX/$ex" "${rest[@]}") \
		>"$T/run.out" 2>"$T/run.err" 3>&- || RC=$?
	t1=$(date +%s%N)
	ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	say "faultline run ${opts[*]} examples/$ex ${rest[*]} -> exit $RC after ${ELAPSED}s"
	echo "--- stderr:"
	cat "$T/run.err"
}

# say LINE...: to the test's output (shown on failure) and, as TAP comments,
# to the TAP log even when the test passes
say() {
	local l
	while IFS= read -r l; do
		echo "$l"
		echo "# $l" >&3
	done <<<"$*"
}

# the last line on stderr: "faultline: verdict: VERDICT (exit N): REASON"
assert_verdict_line() {
	local last
	last=$(tail -n 1 "$T/run.err")
	echo "last stderr line: $last"
	[[ "$last" =~ ^faultline:\ verdict:\ $1\ \(exit\ $2\):\ .+ ]]
}

junit_valid() { xmllint --noout --schema "$TOP/docs/junit.xsd" "$1"; }

# check AWK_CONDITION MESSAGE [VAR=VALUE...]: say "yes: MESSAGE" when the
# awk condition holds (with those variables), else "NO: MESSAGE" and fail
check() {
	local cond=$1 msg=$2 args=() v
	shift 2
	for v in "$@"; do args+=(-v "$v"); done
	if awk "${args[@]}" "BEGIN { exit !($cond) }"; then
		say "yes: $msg"
	else
		say "NO: $msg"
		return 1
	fi
}

# binom LABEL K N P: say "LABEL: K of N ..." and fail unless K is within
# the 99.9% interval of Binomial(N, P%)
binom() {
	local out rc=0
	out=$(within_binomial "$2" "$3" "$4") || rc=$?
	say "$1: $out"
	return "$rc"
}

# JQ_TS: a jq function, ts: the report's RFC 3339 time as seconds (ms kept)
JQ_TS='def ts: (.[0:19] + "Z" | fromdate) + (.[20:23] | tonumber) / 1000;'

# ms NS: nanoseconds as milliseconds, 3 decimals
ms() { awk -v n="$1" 'BEGIN { printf "%.3f", n / 1e6 }'; }

# --- redis-latency.yaml -------------------------------------------------------

# The API of the example: GET /health connects to redis, sends PING and
# answers 200 "redis ok in X ms" on +PONG, 503 otherwise (its budget for
# redis: 1.5 s, room for one SYN retransmission). One request at a time,
# like a small service.
write_api() {
	cat >"$1" <<'PY'
import socket, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

BIND, PORT, RHOST, RPORT = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])


class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/health":
            self.send_error(404)
            return
        t = time.perf_counter()
        try:
            with socket.create_connection((RHOST, RPORT), timeout=1.5) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                buf = b""
                while not buf.endswith(b"\r\n"):
                    d = s.recv(64)
                    if not d:
                        raise ConnectionError("connection closed by redis")
                    buf += d
            ok = buf == b"+PONG\r\n"
            msg = "redis ok in %.1f ms" % ((time.perf_counter() - t) * 1e3) if ok else "redis said %r" % buf
        except OSError as e:
            ok, msg = False, "redis failed: %s" % e
        body = (msg + "\n").encode()
        self.send_response(200 if ok else 503)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


HTTPServer((BIND, PORT), Health).serve_forever()
PY
}

# The command run during the experiment, on the API's host: redis latency
# measured in each step. Times are from its start (= the timeline's start):
#   0.5 s:  50 PINGs over one connection (reqlat.py), in the delay step
#   then:   redis-cli --latency for 2 s (min max avg count)
#   10.5 s: 200 PINGs 10 ms apart, in the loss step (about 2 s, plus one
#   retransmission timeout of 200 ms or more per lost packet: 4-5 s, well inside --max-time 7)
#   exits 0 at 18.6 s, after the loss step's end (18 s), before the cap (20 s)
write_redis_measure() {
	cat >"$1" <<'SH'
#!/bin/sh
# measure.sh REQLAT OUTDIR
set -e
t0=$(date +%s%N)
at() { # sleep until $1 s after t0
	sleep "$(awk -v a="$t0" -v b="$(date +%s%N)" -v t="$1" \
		'BEGIN { d = t - (b - a) / 1e9; printf "%.3f", (d > 0 ? d : 0) }')"
}
at 0.5
python3 "$1" --proto redis --host 10.10.0.2 --port 6379 -n 50 --warmup 2 >"$2/delay.json"
redis-cli -h 10.10.0.2 -p 6379 --latency -i 2 --raw >"$2/delay-cli.txt"
echo "delay phase done at $(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { print (b - a) / 1e9 }') s" >&2
at 10.5
python3 "$1" --proto redis --host 10.10.0.2 --port 6379 -n 200 --warmup 0 --interval 10 \
	--timeout 5 --max-time 7 >"$2/loss.json"
echo "loss phase done at $(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { print (b - a) / 1e9 }') s" >&2
at 18.6
SH
}

@test "redis_latency_example_slows_redis_by_100ms_then_loses_5pct_and_the_api_stays_healthy" {
	# topology: api 10.10.0.1 (the API on :8080, faultline) -- redis 10.10.0.2:6379
	fl_topo_add api redis
	fl_topo_link api eth0 10.10.0.1/24 redis eth0 10.10.0.2/24
	fl_start_redis redis 10.10.0.2 6379
	write_api "$T/api.py"
	fl_bg api "$T/api.log" /usr/bin/python3 "$T/api.py" 10.10.0.1 8080 10.10.0.2 6379
	fl_wait_listen api 8080
	fl_in api curl -sS --noproxy '*' --max-time 2 http://10.10.0.1:8080/health | grep "redis ok"
	local base
	base=$(fl_in api python3 "$REQLAT" --proto redis --host 10.10.0.2 --port 6379 -n 200)
	write_redis_measure "$T/measure.sh"

	run_example api redis-latency.yaml -- sh "$T/measure.sh" "$REQLAT" "$T"
	[ "$RC" -eq 0 ]
	assert_verdict_line passed 0
	local after
	after=$(fl_in api python3 "$REQLAT" --proto redis --host 10.10.0.2 --port 6379 -n 200)

	local r="$T/redis-latency.json"
	fl_report_valid "$r"
	junit_valid "$T/redis-latency.xml"
	jq -e '.verdict == "passed" and .exit_code == 0 and .rollback.ok and .command.exit_code == 0' "$r"
	jq -e '.steps | length == 2 and all(.[]; .applied and (.cut_short | not) and .end_cause == "expired")' "$r"

	local d l cli
	d=$(cat "$T/delay.json")
	l=$(cat "$T/loss.json")
	cli=$(cat "$T/delay-cli.txt")
	say "redis PING without faults: p50 $(ms "$(jq .p50_ns <<<"$base")") ms, p99 $(ms "$(jq .p99_ns <<<"$base")") ms"
	say "during delay 100ms jitter 10ms normal: p50 $(ms "$(jq .p50_ns <<<"$d")") ms, min $(ms "$(jq .min_ns <<<"$d")"), max $(ms "$(jq .max_ns <<<"$d")") ms (50 PINGs); redis-cli --latency (min max avg count): $cli"
	say "during loss 5%: p50 $(ms "$(jq .p50_ns <<<"$l")") ms, p99 $(ms "$(jq .p99_ns <<<"$l")") ms, max $(ms "$(jq .max_ns <<<"$l")") ms (200 PINGs, all answered)"
	say "after the run: p50 $(ms "$(jq .p50_ns <<<"$after")") ms, p99 $(ms "$(jq .p99_ns <<<"$after")") ms"
	say "step counters: $(jq -c '[.steps[] | {fault, matched: .counters.matched, delayed: .counters.delayed, dropped: .counters.dropped}]' "$r")"
	say "api-healthy: $(jq -c '.probes[0] | {runs, failures}' "$r"); during the delay step: $(jq -c '.steps[0] as $s | [.probes[0].results[] | select(.time >= $s.started and .time < $s.ended) | .detail]' "$r")"

	# the median PING paid the configured 100 ms (jitter 10 ms normal: the
	# median of 50 draws has a standard deviation of 1.8 ms; +-7 ms is 4 of
	# them), and none paid less than half of it
	local added
	added=$(awk -v a="$(jq .p50_ns <<<"$d")" -v b="$(jq .p50_ns <<<"$base")" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')
	check "a >= 93 && a <= 107" "median PING +$added ms with delay 100ms (93..107)" a="$added"
	check "m >= 50e6" "fastest delayed PING $(ms "$(jq .min_ns <<<"$d")") ms >= 50" m="$(jq .min_ns <<<"$d")"
	# redis-cli's own figure agrees: its average is about 100 ms too
	check "a >= 90 && a <= 115" "redis-cli --latency avg $(awk '{ print $3 }' <<<"$cli") ms in 90..115" a="$(awk '{ print $3 }' <<<"$cli")"
	# in the loss step, no added latency for most PINGs, and the lost ones
	# were retransmitted (all 200 answered): at least one took a
	# retransmission timeout (200 ms or more)
	check "p < 5e6" "median PING during the loss step $(ms "$(jq .p50_ns <<<"$l")") ms < 5 ms" p="$(jq .p50_ns <<<"$l")"
	check "m >= 150e6" "slowest PING during the loss step $(ms "$(jq .max_ns <<<"$l")") ms >= 150 ms (a retransmission)" m="$(jq .max_ns <<<"$l")"
	# the counters: every PING of the delay step was delayed; the loss step
	# dropped about 5% of what it matched
	jq -e '.steps[0].counters | .delayed >= 50 and .delay_send_errors == 0 and .delay_limit_dropped == 0' "$r"
	local m dr
	m=$(jq .steps[1].counters.matched "$r")
	dr=$(jq .steps[1].counters.dropped "$r")
	[ "$m" -ge 200 ]
	binom "loss step dropped" "$dr" "$m" 5
	[ "$dr" -ge 1 ]
	# the API stayed healthy (3 failures allowed); during the delay step every
	# /health paid two delayed sends (SYN and PING): >= 150 ms (those that
	# started 0.3 s or more before its end); before and after the faults it
	# was fast
	jq -e '.probes[0] | .name == "api-healthy" and .failures <= 3' "$r"
	jq -e "$JQ_TS"' .steps[0] as $s | [.probes[0].results[] | select(.phase == "during" and (.time | ts) > ($s.started | ts) and (.time | ts) < ($s.ended | ts) - 0.3)] | length >= 5 and all(.[]; .ok and .duration_s >= 0.15)' "$r"
	jq -e '[.probes[0].results[] | select(.phase != "during")] | length == 2 and all(.[]; .ok and .duration_s < 0.1)' "$r"
	# gone after the run
	local ab
	ab=$(awk -v a="$(jq .p50_ns <<<"$after")" -v b="$(jq .p50_ns <<<"$base")" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')
	check "x < 1" "median PING after the run: +$ab ms over the baseline (< 1 ms)" x="$ab"
	assert_no_residue
}

# --- partition.yaml -----------------------------------------------------------

# run_example_bg HOST EXAMPLE [ARGS...]: the same as run_example, in the
# background; FL_RUN_PID is faultline's PID (nsenter execs it)
run_example_bg() {
	local host=$1 ex=$2
	shift 2
	nsenter --net="/run/netns/$(fl_ns "$host")" "$FAULTLINE" run "$EX/$ex" "$@" \
		>"$T/run.out" 2>"$T/run.err" 3>&- &
	FL_RUN_PID=$!
	FL_PIDS+=("$FL_RUN_PID")
}

# wait_stderr TEXT SECONDS: until faultline's stderr has a line with TEXT
wait_stderr() {
	local i
	for i in $(seq 1 $(($2 * 20))); do
		grep -qF -- "$1" "$T/run.err" && return 0
		kill -0 "$FL_RUN_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "faultline did not say \"$1\" within $2 s:" >&2
	cat "$T/run.err" >&2
	return 1
}

@test "partition_example_cuts_the_backend_network_both_ways_for_8s_and_it_recovers" {
	# topology: front 10.20.1.2 -- 10.20.1.1 app 10.20.2.1 -- back 10.20.2.2
	fl_topo_add app front back
	fl_topo_link app eth1 10.20.1.1/24 front eth0 10.20.1.2/24
	fl_topo_link app eth2 10.20.2.1/24 back eth0 10.20.2.2/24
	fl_start_nginx back 10.20.2.2 8080
	mkdir -p "$T/www"
	echo ok >"$T/www/index.html"
	fl_start_http front 10.20.1.2 8080 "$T/www"
	local orders=http://10.20.2.2:8080/orders/health front=http://10.20.1.2:8080/
	fl_in app curl -sS --noproxy '*' --max-time 2 "$orders" | grep -qx ok
	fl_in app curl -sS --noproxy '*' --max-time 2 "$front" | grep -qx ok

	# the backend host pings the app host all through the run, 5 a second
	fl_bg back "$T/ping" ping -n -i 0.2 -c 110 -W 1 10.20.2.1
	local ping_pid=$FL_BG_PID
	run_example_bg app partition.yaml
	# while the partition is on: the backend is unreachable, the frontend is not
	wait_stderr "step 1 on" 10
	sleep 1
	local t0 t1 cut_s
	t0=$(date +%s%N)
	! fl_in app curl -sS --noproxy '*' --max-time 2 "$orders" || false
	t1=$(date +%s%N)
	cut_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	say "during the partition: curl to the orders service gave up after ${cut_s}s (--max-time 2)"
	check "s >= 1.9" "curl to the backend timed out rather than being refused" s="$cut_s"
	fl_in app curl -sS --noproxy '*' --max-time 1 "$front" | grep -qx ok
	# as soon as it ends, the backend answers again, while faultline still runs
	wait_stderr "step 1 off" 15
	fl_in app curl -sS --noproxy '*' --max-time 2 "$orders" | grep -qx ok
	kill -0 "$FL_RUN_PID"
	fl_wait_exit "$FL_RUN_PID" 20
	RC=$FL_EXIT
	cat "$T/run.err"
	[ "$RC" -eq 0 ]
	assert_verdict_line passed 0
	fl_wait_exit "$ping_pid" 10

	local r="$T/partition.json"
	fl_report_valid "$r"
	jq -e '.verdict == "passed" and .exit_code == 0 and .rollback.ok and .command == null' "$r"
	jq -e '.steps[0] | .applied and .end_cause == "expired" and .duration_s > 7.9 and .duration_s < 8.3' "$r"
	say "step: $(jq -c '.steps[0] | {fault, duration_s, counters: {matched: .counters.matched, dropped: .counters.dropped}}' "$r")"
	say "orders-up: $(jq -c '.probes[0] | {runs, failures}' "$r"): $(jq -c "$JQ_TS"' .steps[0] as $s | [.probes[0].results[] | select(.phase == "during") | "\((.time | ts) - ($s.started | ts) | . * 10 | round / 10)s:" + (if .ok then "ok" else "FAIL" end)]' "$r") (s from the partition's start)"
	say "frontend-up: $(jq -c '.probes[1] | {runs, failures}' "$r")"
	# orders-up failed on every run while the partition was on (8 runs: it
	# starts between two), and passed on every run before it and after it:
	# the service recovered at once. (A run that starts less than the
	# probe's timeout, 0.5 s, before either edge could go either way.)
	local sel='.steps[0] as $s | ($s.started | ts) as $a | ($s.ended | ts) as $b | [.probes[0].results[] | select(.phase != "after") | (.time | ts) as $t'
	jq -e "$JQ_TS $sel"' | select($t >= $a and $t < $b - 0.5)] | length >= 7 and all(.[]; .ok | not)' "$r"
	jq -e "$JQ_TS $sel"' | select($t >= $b)] | length >= 5 and all(.[]; .ok)' "$r"
	jq -e "$JQ_TS $sel"' | select($t < $a - 0.5)] | length >= 3 and all(.[]; .ok)' "$r"
	jq -e '[.probes[0].results[] | select(.phase == "after")] | length == 1 and .[0].ok' "$r"
	jq -e '.probes[0].failures >= 7 and .probes[0].failures <= 9' "$r"
	jq -e '[.probes[0].results[] | select(.ok | not) | .detail] | all(.[]; test("timed out"))' "$r"
	# the frontend network was never cut
	jq -e '.probes[1] | .failures == 0 and .runs >= 15' "$r"
	# the pings from the backend host: one gap of about 8 s (40 pings), and
	# every other one answered, up to the last
	cat "$T/ping"
	local gap n f l last
	gap=$(awk -F'icmp_seq=' '/icmp_seq=/ { split($2, a, " "); seen[a[1]] = 1; if (a[1] > last) last = a[1] }
		END { first = 0; n = 0; for (i = 1; i <= last; i++) if (!(i in seen)) { if (!first) first = i; lastmiss = i; n++ }
		printf "%d %d %d %d\n", n, first, lastmiss, last }' "$T/ping")
	read -r n f l last <<<"$gap"
	say "pings from the backend host: $n missing, seq $f to $l; last answered: $last of 110"
	check "n >= 36 && n <= 44 && l - f + 1 == n && last == 110" "one gap of 36..44 pings, all others answered" \
		n="$n" f="$f" l="$l" last="$last"
	# the blackhole dropped every packet it matched, in both directions: the
	# backend's echo requests (ingress) and the probes' SYNs (egress)
	jq -e --argjson n "$n" '.steps[0].counters | .dropped == .matched and .dropped >= $n + 7' "$r"
	# after the run: both ways again
	fl_in app curl -sS --noproxy '*' --max-time 2 "$orders" | grep -qx ok
	fl_in back ping -n -c 3 -i 0.1 -W 1 10.20.2.1 | grep -q " 0% packet loss"
	assert_no_residue
}

# --- ci-smoke.yaml ------------------------------------------------------------

# The "integration tests" of the CI example: it.sh URL N BODY OUT makes N
# GETs of URL, one connection each (curl, as a test suite would); each must
# answer 2xx with the body BODY. Appends "time_connect time_total" (s) of
# each passing request to OUT; exits 1 when any failed.
write_integration_test() {
	cat >"$1" <<'SH'
#!/bin/sh
url=$1 n=$2 want=$3 out=$4 failed=0 i=0
while [ "$i" -lt "$n" ]; do
	i=$((i + 1))
	if t=$(curl -sS --noproxy '*' --fail --max-time 5 -o "$out.body" \
		-w '%{time_connect} %{time_total}' "$url") && [ "$(cat "$out.body")" = "$want" ]; then
		echo "$t" >>"$out"
	else
		failed=$((failed + 1))
	fi
done
echo "integration tests: $((n - failed)) of $n passed" >&2
[ "$failed" -eq 0 ]
SH
}

# ci_topology: ci 10.30.0.1 -- svc 10.30.0.2 (python3 -m http.server on :8080,
# serving /health "ok" and /items/42 "item 42")
ci_topology() {
	fl_topo_add ci svc
	fl_topo_link ci eth0 10.30.0.1/24 svc eth0 10.30.0.2/24
	mkdir -p "$T/www/items"
	echo ok >"$T/www/health"
	echo "item 42" >"$T/www/items/42"
	fl_start_http svc 10.30.0.2 8080 "$T/www"
	write_integration_test "$T/it.sh"
}

# median COLUMN FILE: the median of a column (nearest rank)
median() { cut -d' ' -f"$1" "$2" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

@test "ci_smoke_example_delays_only_the_commands_requests_and_its_junit_validates" {
	ci_topology
	# the same tests outside faultline: the baseline
	fl_in ci sh "$T/it.sh" http://10.30.0.2:8080/items/42 20 "item 42" "$T/base"
	run_example ci ci-smoke.yaml --report-json "$T/r.json" -- \
		sh "$T/it.sh" http://10.30.0.2:8080/items/42 60 "item 42" "$T/times"
	[ "$RC" -eq 0 ]
	assert_verdict_line passed 0
	# it ended when the command did, not at the 25 s cap
	check "e < 15" "the run took ${ELAPSED}s: it ended with the command" e="$ELAPSED"

	local x="$T/ci-smoke.xml" r="$T/r.json"
	junit_valid "$x"
	cat "$x"
	fl_report_valid "$r"

	# every request passed; each paid the delay twice (the SYN, then the
	# request: delay 20ms jitter 5ms pareto, median 18 ms): connect and
	# request each +15 ms or more at the median
	[ "$(wc -l <"$T/times")" -eq 60 ]
	local bc bt c t
	bc=$(median 1 "$T/base") bt=$(median 2 "$T/base")
	c=$(median 1 "$T/times") t=$(median 2 "$T/times")
	say "curl medians without faultline: connect $(awk -v v="$bc" 'BEGIN { printf "%.1f", v * 1e3 }') ms, total $(awk -v v="$bt" 'BEGIN { printf "%.1f", v * 1e3 }') ms (20 requests); under ci-smoke: connect $(awk -v v="$c" 'BEGIN { printf "%.1f", v * 1e3 }') ms, total $(awk -v v="$t" 'BEGIN { printf "%.1f", v * 1e3 }') ms (60 requests)"
	check "(c - bc) >= 0.015 && (c - bc) <= 0.030" "connect +$(awk -v a="$c" -v b="$bc" 'BEGIN { printf "%.1f", (a - b) * 1e3 }') ms (15..30)" c="$c" bc="$bc"
	check "((t - c) - (bt - bc)) >= 0.015 && ((t - c) - (bt - bc)) <= 0.030" \
		"request +$(awk -v a="$t" -v b="$c" -v x="$bt" -v y="$bc" 'BEGIN { printf "%.1f", ((a - b) - (x - y)) * 1e3 }') ms (15..30)" \
		t="$t" c="$c" bt="$bt" bc="$bc"
	say "step counters: $(jq -c '.steps[0].counters | {matched, delayed, dropped, duplicated, delay_send_errors}' "$r")"
	# 60 connections of 5 packets or more from the command: every one
	# matched was delayed, or dropped by the 0.5% loss
	jq -e '.steps[0].counters | .matched >= 300 and .delayed + .dropped >= .matched and .delay_send_errors == 0' "$r"
	# the probe, outside the command, was not delayed
	say "service-up: $(jq -c '[.probes[0].results[] | .detail]' "$r")"
	jq -e '[.probes[0].results[] | select(.phase == "during")] | length >= 1 and all(.[]; .ok and .duration_s < 0.015)' "$r"
	# the step has no `for`: it lasts to the end of the experiment, which is
	# the command's exit; it ran its course (not cut short, not an abort)
	jq -e '.verdict == "passed" and .exit_code == 0 and .command.exit_code == 0 and .rollback.ok' "$r"
	say "step: $(jq -c '.steps[0] | {planned_at_s, planned_for_s, applied, cut_short, end_cause}' "$r")"
	jq -e '.steps[0] | .applied and .planned_for_s == null and (.cut_short | not)' "$r"
	# JUnit: the probe, the step, the command and the rollback, none failed (a CI system reads this)
	[ "$(xmllint --xpath 'count(//testsuite[@name="ci-smoke"]/testcase)' "$x")" -eq 4 ]
	[ "$(xmllint --xpath 'count(//testcase[@classname="command"])' "$x")" -eq 1 ]
	[ "$(xmllint --xpath 'count(//testcase[@classname="steady_state"][@name="service-up"])' "$x")" -eq 1 ]
	[ "$(xmllint --xpath 'count(//testcase[@classname="faults"])' "$x")" -eq 1 ]
	[ "$(xmllint --xpath 'count(//failure) + count(//error)' "$x")" -eq 0 ]
	[ "$(xmllint --xpath 'string(//property[@name="verdict"]/@value)' "$x")" = passed ]
	[ "$(xmllint --xpath 'string(//property[@name="exit_code"]/@value)' "$x")" = 0 ]
	assert_no_residue
}

@test "ci_smoke_example_passes_a_failing_commands_exit_code_through" {
	ci_topology
	run_example ci ci-smoke.yaml --report-json "$T/r.json" -- \
		sh "$T/it.sh" http://10.30.0.2:8080/items/43 5 "item 43" "$T/times"
	grep -q "integration tests: 0 of 5 passed" "$T/run.err"
	[ "$RC" -eq 1 ]
	assert_verdict_line failed 1
	local x="$T/ci-smoke.xml" r="$T/r.json"
	junit_valid "$x"
	cat "$x"
	fl_report_valid "$r"
	jq -e '.verdict == "failed" and .exit_code == 1 and .command.exit_code == 1 and .rollback.ok' "$r"
	say "step: $(jq -c '.steps[0] | {planned_at_s, planned_for_s, applied, cut_short, end_cause}' "$r")"
	# JUnit: the command failed, with its exit code; the rest passed (the
	# step ran to the end of the experiment, as planned)
	[ "$(xmllint --xpath 'count(//testcase[@classname="command"]/failure[@message="exit 1"])' "$x")" -eq 1 ]
	[ "$(xmllint --xpath 'count(//failure) + count(//error)' "$x")" -eq 1 ]
	[ "$(xmllint --xpath 'string(//testsuite/@failures)' "$x")" = 1 ]
	[ "$(xmllint --xpath 'string(//property[@name="exit_code"]/@value)' "$x")" = 1 ]
	assert_no_residue
}

# --- http-errors.yaml ---------------------------------------------------------

# The clients of the payments API, run as the command, on the client host,
# from the timeline's start to 18.8 s (the faults: loss 20% 2-10 s, rate and
# delay 10-18 s): three clients, each a GET of /checkout/health every 100 ms on
# a fresh connection (--max-time 1 s: a client that gives up), and from
# 10.5 s uploads (PUT) of 64 KiB one after the other, the last started before
# 14.5 s (--max-time 4 s: all done before the 20 s cap).
# One line per request to OUT: "T get|put HTTP_CODE TIME_TOTAL CURL_EXIT", T
# in s from the start. Exits 0: failed requests are what is measured.
write_payments_load() {
	cat >"$1" <<'SH'
#!/bin/sh
# load.sh URL OUT
url=$1 out=$2
t0=$(date +%s%N)
now() { awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
before() { awk -v t="$(now)" -v e="$1" 'BEGIN { exit !(t < e) }'; }
head -c 65536 /dev/zero >"$out.upload"
# a GET gives up after 1 s in the loss step (a lost SYN costs 1 s: the
# failures the test counts) and after 3 s from the rate step on: the policer
# is one bucket per rule, shared with the uploads, so a GET's packet on a
# policed connection can be dropped too and comes again after TCP's RTO
# (about 600 ms at this RTT, then 1.2 s): slower, not failed
gets() {
	while before 18.8; do
		t=$(now)
		mt=1
		before 10 || mt=3
		r=$(curl -s --noproxy '*' -o /dev/null --max-time $mt -w '%{http_code} %{time_total}' \
			"$url/checkout/health")
		echo "$t get $r $?" >>"$out"
		sleep 0.1
	done
}
puts() {
	i=0
	sleep 10.5
	while before 14.5; do
		i=$((i + 1))
		t=$(now)
		r=$(curl -s --noproxy '*' -o /dev/null --max-time 4 -w '%{http_code} %{time_total}' \
			-T "$out.upload" "$url/upload/$i")
		echo "$t put $r $?" >>"$out"
	done
}
gets &
gets &
gets &
puts &
wait
exit 0
SH
}

@test "http_errors_example_fails_and_slows_half_of_the_connections_and_its_report_validates" {
	# topology: client 10.40.0.1 (faultline) -- api 10.40.0.2 (nginx on :8080)
	fl_topo_add client api
	fl_topo_link client eth0 10.40.0.1/24 api eth0 10.40.0.2/24
	fl_start_nginx api 10.40.0.2 8080
	fl_in client curl -sS --noproxy '*' --max-time 2 http://10.40.0.2:8080/checkout/health | grep -qx ok
	write_payments_load "$T/load.sh"
	run_example client http-errors.yaml -- sh "$T/load.sh" http://10.40.0.2:8080 "$T/load"
	[ "$RC" -eq 0 ]
	assert_verdict_line passed 0

	local r="$T/payments-errors.json" L="$T/load"
	fl_report_valid "$r"
	jq -e '.verdict == "passed" and .exit_code == 0 and .rollback.ok and .command.exit_code == 0' "$r"
	jq -e '.steps | length == 2 and all(.[]; .applied and .end_cause == "expired" and (.cut_short | not))' "$r"
	say "step counters: $(jq -c '[.steps[] | {fault, c: (.counters | {matched, dropped, rate_dropped, delayed, delay_send_errors})}]' "$r")"
	say "checkout probe: $(jq -c '.probes[0] | {runs, failures}' "$r"): $(jq -c '[.probes[0].results[] | select(.phase == "during") | "\(.ok) \(.duration_s * 1000 | floor) ms"]' "$r")"

	# the GETs of /checkout/health, by window: before the faults (< 2 s),
	# loss (2.2-9.8 s), rate + delay (10.2-17.8 s), after (>= 18.2 s)
	local fig
	fig=$(awk '$2 == "get" {
		w = $1 < 1.8 ? "before" : ($1 >= 2.2 && $1 < 9.8) ? "loss" : ($1 >= 10.2 && $1 < 17.8) ? "slow" : $1 >= 18.2 ? "after" : "edge"
		n[w]++; if ($5 != 0 || $3 != 200) fail[w]++; else if ($4 >= 0.38) slow[w]++; else fast[w]++
	} END { for (w in n) printf "%s %d %d %d %d\n", w, n[w], fail[w] + 0, slow[w] + 0, fast[w] + 0 }' "$L" | sort)
	say "GETs per window (window n failed slow>=380ms fast):"
	say "$fig"
	g() { awk -v w="$1" -v c="$2" '$1 == w { print $c }' <<<"$fig"; }
	# loss 20% on half of the connections: some requests fail (a lost SYN
	# costs 1 s, past the client's --max-time: about 1 GET in 12, of some 90
	# here); none fail before or after the faults
	check "f >= 1" "$(g loss 3) of $(g loss 2) GETs failed during the loss step" f="$(g loss 3)"
	check "b >= 10 && fb == 0 && a >= 3 && fa == 0" "no failure before ($(g before 2) GETs) or after the faults ($(g after 2))" \
		b="$(g before 2)" fb="$(g before 3)" a="$(g after 2)" fa="$(g after 3)"
	# rate + delay 200ms on half of the connections: those take two delayed
	# sends (>= 400 ms), the others stay fast; about half each; none fails
	# (a GET policed behind the uploads is retransmitted within its 3 s)
	local ns nf
	ns=$(g slow 4) nf=$(g slow 5)
	check "s >= 1 && f >= 1 && g == 0" "during the rate step $ns GETs took >= 380 ms, $nf were fast, $(g slow 3) failed" s="$ns" f="$nf" g="$(g slow 3)"
	binom "share of slowed connections (share: 50%)" "$ns" $((ns + nf)) 50
	# the uploads: those policed at 256kbit (burst 32kb) take a second or
	# more ((64 - 32) KiB at 32 KB/s, and TCP backs off on the policer's
	# drops), the others a few ms; each is stored (201) or, policed, gave up
	# after 4 s
	local up n ok to slow fast m
	up=$(awk '$2 == "put" { n++; if ($5 == 0 && $3 == 201) ok++; else if ($5 == 28) to++; if ($4 >= 1) slow++; if ($4 < 0.1) fast++; if ($4 > m) m = $4 }
		END { printf "%d %d %d %d %d %.3f\n", n, ok, to, slow, fast, m }' "$L")
	read -r n ok to slow fast m <<<"$up"
	say "uploads of 64 KiB during the rate step: $n, $ok stored, $to gave up; $slow took 1 s or more, $fast less than 100 ms; slowest ${m}s"
	check "n >= 2 && ok + to == n && ok >= 1 && slow >= 1" "at least one upload was policed to 1 s or more; none failed otherwise" \
		n="$n" ok="$ok" to="$to" slow="$slow"
	# the counters: loss dropped 20% of what it matched (within the 99.9%
	# interval); the second step delayed packets and policed some
	jq -e '.steps[0].counters | .matched >= 100 and .dropped >= 1' "$r"
	binom "loss step dropped" "$(jq .steps[0].counters.dropped "$r")" "$(jq .steps[0].counters.matched "$r")" 20
	jq -e '.steps[1].counters | .delayed >= 100 and .rate_dropped >= 1 and .delay_send_errors == 0' "$r"
	# the probe ran all through, within max_failures
	jq -e '.probes[0] | .name == "checkout" and .kind == "http" and .runs >= 18 and .failures <= 5' "$r"
	assert_no_residue
}
