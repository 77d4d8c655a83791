# bench/lib.sh - what the benchmark scripts share, sourced after they set
# NAME (for messages), LIMIT (their time limit, s), START ($SECONDS at
# their start), PIDS (every background process they start), fl_pid (the
# faultline they run, or empty), NS_A, NS_B (their namespaces) and WORK
# (their temporary directory):
#   ours PID, zombie PID   may PID be signalled; has it ended
#   kill_fl                ends faultline (fl_pid): SIGTERM, 5 s, SIGKILL
#   bench_cleanup RC       ends everything they started, by PID, removes
#                          their namespaces and WORK, exits RC
#   bench_watchdog         a hard stop at LIMIT + 5 s (watchdog_pid)
#   fits N                 is there room for N more seconds?
#   fl_start ARGS...       faultline inject ARGS --dev FL_DEV --json in
#                          IN_A, in the background (fl_pid), until it says
#                          it is injecting; bounded by --for LIMIT + 30 s;
#                          needs FL, FL_DEV, IN_A and die
#   fl_stop                ends it (SIGTERM: exit 0 expected) and checks
#                          its JSON summary ($WORK/fl.out)
#   ctr NAME               a counter of that summary
#   fig NAME VALUE UNIT FMT  a "name value unit" line, VALUE printed by FMT
#   wait_file FILE S PID   wait up to S seconds for FILE while PID lives
# shellcheck shell=bash

watchdog_pid=

# Is PID still a child of this shell? (A pid that ended and was reaped may
# belong to someone else by now: never signal it.)
ours() {
	[ -r "/proc/$1/stat" ] &&
		[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $2 }')" = "$$" ]
}
zombie() { [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]; }

# Ends faultline by its pid: SIGTERM, up to 5 s to release its held frames
# and roll back, then SIGKILL. Returns its exit status.
kill_fl() {
	local i rc
	[ -n "$fl_pid" ] || return 0
	if ours "$fl_pid"; then
		kill -TERM "$fl_pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			zombie "$fl_pid" && break
			kill -0 "$fl_pid" 2>/dev/null || break
			sleep 0.1
		done
		ours "$fl_pid" && ! zombie "$fl_pid" && kill -KILL "$fl_pid" 2>/dev/null
	fi
	wait "$fl_pid" 2>/dev/null
	rc=$?
	fl_pid=
	return $rc
}

# bench_cleanup RC: faultline, then every process in PIDS (SIGTERM, 3 s,
# SIGKILL), the watchdog, whatever still runs inside NS_A and NS_B (started
# by the script: a child a wrapper did not pass the signal to), the
# namespaces and WORK; exits RC.
bench_cleanup() {
	local rc=$1 p ns i left
	trap - EXIT INT TERM
	kill_fl
	for p in "${PIDS[@]}"; do ours "$p" && kill -TERM "$p" 2>/dev/null; done
	for ((i = 0; i < 30; i++)); do
		left=
		for p in "${PIDS[@]}"; do ours "$p" && ! zombie "$p" && left=1; done
		[ -z "$left" ] && break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do
		ours "$p" && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "$watchdog_pid" ]; then
		kill -TERM "$watchdog_pid" 2>/dev/null
		wait "$watchdog_pid" 2>/dev/null
	fi
	for ns in "$NS_A" "$NS_B"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	rm -rf "$WORK"
	exit "$rc"
}

# Hard stop: every part checks the clock, this catches anything else.
bench_watchdog() {
	(
		sleep $((LIMIT + 5)) &
		sleep_pid=$!
		trap 'kill -TERM $sleep_pid 2>/dev/null; exit 0' TERM
		wait $sleep_pid && {
			echo "$NAME: time limit (${LIMIT}s) exceeded" >&2
			kill -TERM $$ 2>/dev/null
		}
	) &
	watchdog_pid=$!
}

fits() { [ $((SECONDS - START + $1)) -le "$LIMIT" ]; }

fl_start() {
	local i
	: >"$WORK/fl.out"
	: >"$WORK/fl.err"
	"${IN_A[@]}" "$FL" inject "$@" --dev "$FL_DEV" --json --for "$((LIMIT + 30))s" \
		>"$WORK/fl.out" 2>"$WORK/fl.err" &
	fl_pid=$!
	for ((i = 0; i < 200; i++)); do
		grep -q "faultline: injecting" "$WORK/fl.err" && return 0
		kill -0 "$fl_pid" 2>/dev/null || break
		sleep 0.05
	done
	die "faultline inject $* did not start: $(cat "$WORK/fl.err")"
}

fl_stop() {
	kill -0 "$fl_pid" 2>/dev/null || die "faultline died during the run: $(cat "$WORK/fl.err")"
	kill_fl
	local rc=$?
	[ "$rc" -eq 0 ] || die "faultline exited $rc: $(cat "$WORK/fl.err")"
	jq -e .counters "$WORK/fl.out" >/dev/null || die "no counters in faultline's summary"
}

ctr() { jq -r ".counters.$1" "$WORK/fl.out"; }

fig() { awk -v n="$1" -v v="$2" -v u="$3" -v f="$4" 'BEGIN { printf "%s " f " %s\n", n, v, u }'; }

wait_file() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		[ -e "$1" ] && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
