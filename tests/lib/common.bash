# tests/lib/common.bash - helpers for the bats end-to-end tests.
#
# Every test builds its own pair of network namespaces joined by a veth pair
# (va in A: 10.200.0.1, fd00:200::1; vb in B: 10.200.0.2, fd00:200::2) and
# removes them in teardown, with every process it started (by PID), even when
# the test failed. Traffic only flows between those namespaces.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

: "${FAULTLINE:?FAULTLINE must point at the faultline binary}"
: "${FL_TRAFFIC:?FL_TRAFFIC must point at the fl-traffic binary}"

FL_PIDS=()

fl_setup_netns() {
	FL_NS_A="fl-a-$$-${BATS_TEST_NUMBER}"
	FL_NS_B="fl-b-$$-${BATS_TEST_NUMBER}"
	ip netns add "$FL_NS_A"
	ip netns add "$FL_NS_B"
	ip link add va netns "$FL_NS_A" type veth peer name vb netns "$FL_NS_B"
	ip -n "$FL_NS_A" addr add 10.200.0.1/24 dev va
	ip -n "$FL_NS_B" addr add 10.200.0.2/24 dev vb
	ip -n "$FL_NS_A" addr add fd00:200::1/64 dev va nodad
	ip -n "$FL_NS_B" addr add fd00:200::2/64 dev vb nodad
	for ns in "$FL_NS_A" "$FL_NS_B"; do ip -n "$ns" link set lo up; done
	ip -n "$FL_NS_A" link set va up
	ip -n "$FL_NS_B" link set vb up
}

fl_teardown_netns() {
	local p
	for p in "${FL_PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	FL_PIDS=()
	[ -n "${FL_NS_A:-}" ] && ip netns del "$FL_NS_A" 2>/dev/null
	[ -n "${FL_NS_B:-}" ] && ip netns del "$FL_NS_B" 2>/dev/null
	return 0
}

ns_a() { ip netns exec "$FL_NS_A" "$@"; }
ns_b() { ip netns exec "$FL_NS_B" "$@"; }

# The cgroup v2 mount, from mountinfo (never assumed).
cgroup2_mount() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo
}

# fl_inject_bg ARGS...: start `faultline inject ARGS` in A in the background;
# wait until it says it is injecting. Sets FL_INJECT_PID; output goes to
# $BATS_TEST_TMPDIR/inject.{out,err}. FL_INJECT_BIN overrides the binary.
# nsenter (not ip netns exec, which
# mounts a fresh /sys) keeps the host's cgroup v2 mount visible.
# FL_INJECT_NS: run it in that namespace instead of A.
fl_inject_bg() {
	nsenter --net="/run/netns/${FL_INJECT_NS:-$FL_NS_A}" "${FL_INJECT_BIN:-$FAULTLINE}" inject "$@" \
		>"$BATS_TEST_TMPDIR/inject.out" 2>"$BATS_TEST_TMPDIR/inject.err" &
	FL_INJECT_PID=$!
	FL_PIDS+=("$FL_INJECT_PID")
	local i
	for i in $(seq 1 200); do
		grep -q "faultline: injecting" "$BATS_TEST_TMPDIR/inject.err" && return 0
		if ! kill -0 "$FL_INJECT_PID" 2>/dev/null; then
			cat "$BATS_TEST_TMPDIR/inject.err" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "faultline inject did not start within 10s" >&2
	cat "$BATS_TEST_TMPDIR/inject.err" >&2
	return 1
}

# fl_wait_exit PID TIMEOUT_S: wait for PID (a child of this shell) to exit
# within the timeout; sets FL_EXIT to its status. Fails on timeout.
fl_wait_exit() {
	local pid=$1 t=$2 i
	for i in $(seq 1 $((t * 20))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			FL_EXIT=0
			wait "$pid" || FL_EXIT=$?
			return 0
		fi
		sleep 0.05
	done
	echo "process $pid still running after ${t}s" >&2
	return 1
}

# udp_phase FROM_NS TO_ADDR PORTS COUNT [RATE]: receive in the other
# namespace, send COUNT packets to each port from FROM_NS ("a" or "b");
# prints the receiver's JSON.
udp_phase() {
	local from=$1 to=$2 ports=$3 count=$4 rate=${5:-40000} rxns txns ready out
	if [ "$from" = a ]; then txns=$FL_NS_A rxns=$FL_NS_B; else txns=$FL_NS_B rxns=$FL_NS_A; fi
	ready="$BATS_TEST_TMPDIR/ready.$RANDOM"
	out="$BATS_TEST_TMPDIR/recv.$RANDOM"
	ip netns exec "$rxns" "$FL_TRAFFIC" recv --port "$ports" --idle 400 --max-time 5 \
		--ready "$ready" >"$out" &
	local rpid=$!
	FL_PIDS+=("$rpid")
	local i
	for i in $(seq 1 100); do [ -e "$ready" ] && break; sleep 0.02; done
	# FL_SEND_CPU: pin the sender (per-CPU state such as correlation)
	ip netns exec "$txns" ${FL_SEND_CPU:+taskset -c "$FL_SEND_CPU"} "$FL_TRAFFIC" send \
		--to "$to" --port "$ports" --count "$count" --rate "$rate" >/dev/null || return 1
	wait "$rpid"
	cat "$out"
}

# received JSON PORT
received() { jq -r ".\"$2\".received" <<<"$1"; }

# within_binomial DROPPED N P_PERCENT: is DROPPED inside the 99.9% interval
# (normal approximation, z = 3.29) of Binomial(N, P)? Prints the figures.
within_binomial() {
	awk -v d="$1" -v n="$2" -v p="$3" 'BEGIN {
		p /= 100; m = n * p; sd = sqrt(n * p * (1 - p)); lo = m - 3.29 * sd; hi = m + 3.29 * sd
		printf "%d of %d (%.3f%%), expected %.1f, 99.9%% interval [%.1f, %.1f]\n", d, n, 100 * d / n, m, lo, hi
		exit !(d >= lo && d <= hi)
	}'
}

# No faultline program, link, filter, pin or journal entry is left anywhere.
assert_no_residue() {
	local i progs
	for i in $(seq 1 40); do
		progs=$(bpftool prog show 2>/dev/null | grep -cE 'name fl_(ingress|egress|baseline|reinject|watch_exit|refuse_conn|refuse_eper)' || true)
		[ "$progs" -eq 0 ] && break
		sleep 0.05
	done
	[ "$progs" -eq 0 ] || { echo "faultline BPF programs still loaded: $progs" >&2; return 1; }
	if [ -n "${FL_NS_A:-}" ] && ip netns list | grep -q "^$FL_NS_A"; then
		if ip -n "$FL_NS_A" link show va >/dev/null 2>&1; then
			[ -z "$(tc -n "$FL_NS_A" filter show dev va egress)" ] || { echo "tc egress filter left" >&2; return 1; }
			[ -z "$(tc -n "$FL_NS_A" filter show dev va ingress)" ] || { echo "tc ingress filter left" >&2; return 1; }
			! tc -n "$FL_NS_A" qdisc show dev va | grep -q clsact || { echo "clsact qdisc left" >&2; return 1; }
		fi
	fi
	[ -z "$(ls -A /run/faultline/journal 2>/dev/null)" ] || { echo "journal entries left" >&2; return 1; }
	[ -z "$(ls /sys/fs/bpf 2>/dev/null | grep -i faultline)" ] || { echo "pins left" >&2; return 1; }
}

# --- topologies of several namespaces (tests/e2e/examples.bats) -------------
#
# A test names its hosts ("client", "redis", ...); each is the namespace
# fl-NAME-PID-TEST, created by fl_topo_add and joined by veth pairs with
# fl_topo_link, all in 10.0.0.0/8. fl_topo_teardown kills every process this
# test started (FL_PIDS, by PID), then whatever still runs in those
# namespaces (servers' children), and deletes the namespaces. Processes are
# started with nsenter --net (it execs the command, so $! is the server's own
# PID, and the host's /sys and cgroup2 mount stay visible, unlike with
# `ip netns exec`).

FL_TOPO_NS=()

# fl_ns NAME: the namespace of host NAME in this test
fl_ns() { echo "fl-$1-$$-${BATS_TEST_NUMBER}"; }

# fl_in NAME CMD...: run CMD in host NAME's network namespace
fl_in() {
	local ns
	ns=$(fl_ns "$1")
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# fl_topo_add NAME...: create the hosts' namespaces, loopback up
fl_topo_add() {
	local n ns
	for n in "$@"; do
		ns=$(fl_ns "$n")
		ip netns add "$ns" || return 1
		FL_TOPO_NS+=("$ns")
		ip -n "$ns" link set lo up || return 1
	done
}

# fl_topo_link HOST1 IF1 ADDR1/LEN HOST2 IF2 ADDR2/LEN: a veth pair between
# two hosts, addressed and up
fl_topo_link() {
	local a b
	a=$(fl_ns "$1")
	b=$(fl_ns "$4")
	ip link add "$2" netns "$a" type veth peer name "$5" netns "$b" || return 1
	ip -n "$a" addr add "$3" dev "$2" || return 1
	ip -n "$b" addr add "$6" dev "$5" || return 1
	ip -n "$a" link set "$2" up || return 1
	ip -n "$b" link set "$5" up || return 1
}

fl_topo_teardown() {
	local p ns pids
	for p in "${FL_PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	FL_PIDS=()
	for ns in "${FL_TOPO_NS[@]}"; do
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		# shellcheck disable=SC2086
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
	done
	for ns in "${FL_TOPO_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	FL_TOPO_NS=()
	return 0
}

# fl_bg HOST LOG CMD...: start CMD in HOST in the background, output to LOG;
# its PID is in FL_BG_PID and FL_PIDS
fl_bg() {
	local ns
	ns=$(fl_ns "$1")
	nsenter --net="/run/netns/$ns" "${@:3}" >"$2" 2>&1 3>&- &
	FL_BG_PID=$!
	FL_PIDS+=("$FL_BG_PID")
}

# fl_wait_listen HOST PORT: until a TCP socket listens on PORT in HOST (5 s)
fl_wait_listen() {
	local i
	for i in $(seq 1 100); do
		[ -n "$(fl_in "$1" ss -Hltn "sport = :$2")" ] && return 0
		kill -0 "$FL_BG_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "nothing listens on port $2 in $1" >&2
	return 1
}

# fl_start_redis HOST ADDR PORT: redis-server on ADDR:PORT, no persistence,
# its files under the test's tmpdir
fl_start_redis() {
	local log="$BATS_TEST_TMPDIR/redis.$1.$3.log"
	fl_bg "$1" "$log" redis-server --port "$3" --bind "$2" --save '' --appendonly no \
		--daemonize no --protected-mode no --dir "$BATS_TEST_TMPDIR"
	fl_wait_listen "$1" "$3" || { cat "$log" >&2; return 1; }
}

# fl_start_nginx HOST ADDR PORT: nginx (one process) on ADDR:PORT answering
# "ok" to every request, but a PUT to /upload/NAME, which it reads whole and
# stores (201); everything it writes stays under the test's tmpdir
fl_start_nginx() {
	local d="$BATS_TEST_TMPDIR/nginx.$1.$3"
	mkdir -p "$d/www"
	cat >"$d/nginx.conf" <<NGINX
daemon off;
master_process off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	fastcgi_temp_path $d/fastcgi;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
	client_max_body_size 16m;
	server {
		listen $2:$3;
		location / { default_type text/plain; return 200 "ok\n"; }
		location /upload/ { root $d/www; dav_methods PUT; create_full_put_path on; }
	}
}
NGINX
	fl_bg "$1" "$d/out.log" nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf"
	fl_wait_listen "$1" "$3" || { cat "$d/out.log" "$d/error.log" >&2; return 1; }
}

# fl_start_http HOST ADDR PORT DIR: python3 -m http.server on ADDR:PORT
# serving DIR
fl_start_http() {
	fl_bg "$1" "$BATS_TEST_TMPDIR/http.$1.$3.log" /usr/bin/python3 -m http.server \
		--bind "$2" --directory "$4" "$3"
	fl_wait_listen "$1" "$3" || { cat "$BATS_TEST_TMPDIR/http.$1.$3.log" >&2; return 1; }
}

# fl_report_valid FILE: the JSON report validates against docs/report.schema.json
fl_report_valid() {
	python3 -c 'import json, jsonschema, sys
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' \
		"$1" "$BATS_TEST_DIRNAME/../../docs/report.schema.json"
}

# assert_no_residue_when_alone [MAX_S]: assert_no_residue, judged at a moment
# when no faultline process runs on the host: the programs of a test file
# running concurrently are not this test's residue. Waits at most MAX_S
# (default 30) for such a moment, then judges anyway.
assert_no_residue_when_alone() {
	local i max=$((${1:-30} * 5))
	for i in $(seq 1 "$max"); do
		if ! pgrep -x "faultlined?" >/dev/null; then
			assert_no_residue && return 0
			# still alone: the residue is ours
			pgrep -x "faultlined?" >/dev/null || return 1
		fi
		sleep 0.2
	done
	echo "another faultline kept running for ${1:-30}s; judging anyway" >&2
	assert_no_residue
}

# --- tests of faultlined's API (daemon_api, security, openapi) ---------------

# fl_daemon_setup: the daemon's binary, socket and store under the test's
# tmpdir (FAULTLINED, T, SOCK, STATE), and namespaces A and B
fl_daemon_setup() {
	FAULTLINED=${FAULTLINED:-$(dirname "$FAULTLINE")/faultlined}
	T=$BATS_TEST_TMPDIR
	SOCK=$T/d.sock
	STATE=$T/state
	fl_setup_netns
}

# fl_api METHOD PATH [CURL ARGS...]: one request on the unix socket $SOCK (30 s
# at most); sets CODE, BODY, HDRS (CR removed), CTYPE, and says what it got.
fl_api() {
	local m=$1 p=$2 f
	shift 2
	f=$T/api.$RANDOM$RANDOM
	CODE=$(curl -s --max-time 30 --unix-socket "$SOCK" -X "$m" -D "$f.h" -o "$f.b" -w '%{http_code}' \
		"$@" "http://localhost$p") || true
	BODY=$(cat "$f.b" 2>/dev/null || true)
	HDRS=$(tr -d '\r' <"$f.h" 2>/dev/null || true)
	CTYPE=$(fl_hdr Content-Type)
	rm -f "$f.h" "$f.b"
	echo "$m $p -> $CODE $CTYPE ${BODY:0:400}"
}

# fl_hdr NAME: the value of header NAME in the last response (HDRS)
fl_hdr() { awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$1")" -F': ' 'tolower($1) == n { sub(/^[^:]*: /, ""); print; exit }' <<<"$HDRS"; }

# fl_scenario NAME DURATION TARGET-MAP STEP [EXTRA TOP-LEVEL YAML]: a scenario
# with one target t and one step
fl_scenario() {
	printf 'version: 1\nname: %s\nduration: %s\ntargets:\n  t: %s\nfaults:\n  - %s\n%s' "$1" "$2" "$3" "$4" "${5:-}"
}

# fl_wait_state ID STATE [SECONDS]: poll GET /v1/experiments/ID on $SOCK
# every 0.1 s until its state is STATE (10 s at most, or SECONDS)
fl_wait_state() {
	local i s
	for i in $(seq 1 $((${3:-10} * 10))); do
		s=$(curl -s --max-time 5 --unix-socket "$SOCK" "http://localhost/v1/experiments/$1" | jq -r .state)
		[ "$s" = "$2" ] && return 0
		sleep 0.1
	done
	curl -s --max-time 5 --unix-socket "$SOCK" "http://localhost/v1/experiments/$1"
	echo "experiment $1 is $s, not $2, after ${3:-10} s"
	return 1
}

# fl_start_daemon [ARGS...]: faultlined ($FAULTLINED) in namespace A (so that
# `dev: va` resolves), on the socket $SOCK with its store in $STATE, its log
# in $BATS_TEST_TMPDIR/d.log; sets DPID (killed in teardown with FL_PIDS) and
# returns once GET /v1/health answers, 10 s at most.
fl_start_daemon() {
	nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINED" --foreground --socket "$SOCK" \
		--state-dir "$STATE" "$@" 2>>"$BATS_TEST_TMPDIR/d.log" 3>&- &
	DPID=$!
	FL_PIDS+=("$DPID")
	local i
	for i in $(seq 1 200); do
		curl -s --max-time 1 -o /dev/null --unix-socket "$SOCK" http://localhost/v1/health && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "faultlined did not answer on $SOCK within 10 s; its log:" >&2
	cat "$BATS_TEST_TMPDIR/d.log" >&2
	return 1
}
