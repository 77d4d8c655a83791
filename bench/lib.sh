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
