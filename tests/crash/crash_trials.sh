#!/usr/bin/env bash
# tests/crash/crash_trials.sh - faults never outlive their experiment, even
# when faultline dies at the worst moment.
#
# Usage: tests/crash/crash_trials.sh [BUILD] [TRIALS]   (as root; default build, 100)
#
# Each trial starts `faultline inject`, `faultline run` or `faultlined` with
# `run --detach`, with a fault on traffic between two namespaces this script
# creates (A 10.230.0.1, B 10.230.0.2, a veth pair), kills it with SIGKILL at
# a random moment between 0 and 800 ms (during load and attach, during a step
# change, during rollback), and checks:
#   - traffic: 10 ms after the kill returned, UDP to the blackholed port
#     (or connect() to the refused one) goes through again;
#   - residue, within 2 s: no faultline BPF program (bpftool prog), no
#     cgroup connect program (bpftool cgroup tree), no tc filter or clsact
#     qdisc on the veth, nothing under /sys/fs/bpf or /run/faultline/journal
#     of faultline's;
#   - the next start succeeds (an inject for 200 ms exits 0), which also
#     sweeps what a killed run left (its command's cgroup).
# Two kinds force an older kernel's fallback (FAULTLINE_DISABLE): a blackhole
# on clsact (no descriptor owns the filter: the residue is checked after the
# next start, which removes it) and refuse without bpf_set_retval (EPERM).
# Then two trials of another kind each: SIGSTOP (the lease, 500 ms, ends the
# fault while the process is frozen) and OOM (faultline started in a v1
# memory cgroup too small for it).
# Prints one TAP line per trial and "N passed, N failed" at the end; exits 1
# if any failed. Every loop is bounded; only processes this script started
# are killed, by PID; everything it made is removed on exit.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$top/build}" && pwd)
TRIALS=${2:-100}
F="$BUILD/faultline"
FD="$BUILD/faultlined"
TR="$BUILD/fl-traffic"
EC="$top/tests/tools/errclient.py"
[ -x "$F" ] && [ -x "$FD" ] && [ -x "$TR" ] || { echo "build $BUILD first (make all tools)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }

NA="fl-crash-a-$$"
NB="fl-crash-b-$$"
T=$(mktemp -d)
PIDS=()
MEMCG=""

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	[ -n "$MEMCG" ] && rmdir "$MEMCG" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

ip netns add "$NA" && ip netns add "$NB" || exit 2
ip link add va netns "$NA" type veth peer name vb netns "$NB"
ip -n "$NA" addr add 10.230.0.1/24 dev va
ip -n "$NB" addr add 10.230.0.2/24 dev vb
for n in "$NA" "$NB"; do ip -n "$n" link set lo up; done
ip -n "$NA" link set va up
ip -n "$NB" link set vb up
A() { nsenter --net="/run/netns/$NA" "$@"; }
# in the background, the victim itself must be $! (nsenter execs it): no
# function or subshell around it
AN="/run/netns/$NA"

# a TCP listener in B for the refuse trials (bounded: 1 h at most)
nsenter --net="/run/netns/$NB" /usr/bin/python3 "$EC" streamsrv 10.230.0.2 9000 3600 \
	>/dev/null 2>&1 &
PIDS+=($!)

cat >"$T/s.yaml" <<'EOF'
version: 1
name: crash
duration: 2s
targets:
  u: {dev: va, protocol: udp, port: 7777}
  cmd: {command: true, port: 9000}
faults:
  - {target: u, at: 0s, for: 300ms, blackhole: {}}
  - {target: u, at: 300ms, for: 300ms, loss: 100%, delay: 5ms}
  - {target: u, at: 600ms, blackhole: {}}
  - {target: cmd, refuse: ECONNREFUSED}
EOF

# UDP gets through: COUNT packets to port 7777, how many arrived
udp_through() {
	local ready="$T/ready.$RANDOM" out="$T/recv.$RANDOM" rp
	nsenter --net="/run/netns/$NB" "$TR" recv --port 7777 --idle 200 --max-time 2 \
		--ready "$ready" >"$out" &
	rp=$!
	for _ in $(seq 1 100); do [ -e "$ready" ] && break; sleep 0.01; done
	A "$TR" send --to 10.230.0.2 --port 7777 --count 50 --rate 20000 >/dev/null
	wait "$rp"
	jq -r '."7777".received' "$out"
}

residue() {
	local i what
	for i in $(seq 1 40); do
		what=""
		bpftool prog show 2>/dev/null | grep -qE 'name fl_(ingress|egress|reinject|watch_exit|refuse_conn|refuse_eper)' &&
			what+=" bpf-programs"
		bpftool cgroup tree 2>/dev/null | grep -q fl_refuse && what+=" cgroup-programs"
		[ -n "$(tc -n "$NA" filter show dev va egress 2>/dev/null)$(tc -n "$NA" filter show dev va ingress 2>/dev/null)" ] &&
			what+=" tc-filters"
		tc -n "$NA" qdisc show dev va 2>/dev/null | grep -q clsact && what+=" clsact"
		ls /sys/fs/bpf 2>/dev/null | grep -qi faultline && what+=" pins"
		[ -n "$(ls -A /run/faultline/journal 2>/dev/null)" ] && what+=" journal"
		[ -z "$what" ] && return 0
		sleep 0.05
	done
	echo "$what"
	return 1
}

next_start_ok() {
	A "$F" inject loss 1% --dev va --protocol udp --port 7778 --for 200ms >/dev/null 2>&1
}

n=0
passed=0
failed=0
report() { # report OK|FAIL TEXT
	n=$((n + 1))
	if [ "$1" = OK ]; then
		passed=$((passed + 1))
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
	fi
}

# start_victim KIND: start it in A, its PID in VPID and the port it faults
start_victim() {
	case $1 in
	inject-blackhole)
		nsenter --net="$AN" "$F" inject blackhole --dev va --protocol udp --port 7777 --for 10s >/dev/null 2>&1 &
		;;
	inject-delay)
		nsenter --net="$AN" "$F" inject delay 50ms loss 100% --dev va --direction both --protocol udp --port 7777 \
			--for 10s >/dev/null 2>&1 &
		;;
	inject-errors)
		nsenter --net="$AN" "$F" inject http --status 503 --port 7777 --for 10s >/dev/null 2>&1 &
		;;
	inject-refuse)
		nsenter --net="$AN" "$F" inject refuse --host 10.230.0.2 --port 9000 --for 10s >/dev/null 2>&1 &
		;;
	# the fallbacks of older kernels (docs/kernels.md), forced
	clsact-blackhole)
		FAULTLINE_DISABLE=tcx nsenter --net="$AN" "$F" inject blackhole --dev va --protocol udp \
			--port 7777 --for 10s >/dev/null 2>&1 &
		;;
	eperm-refuse)
		FAULTLINE_DISABLE=bpf_set_retval nsenter --net="$AN" "$F" inject refuse --host 10.230.0.2 \
			--port 9000 --for 10s >/dev/null 2>&1 &
		;;
	run)
		nsenter --net="$AN" --wd="$T" "$F" run -q s.yaml -- sleep 5 >/dev/null 2>&1 &
		;;
	daemon)
		nsenter --net="/run/netns/$NA" "$FD" --foreground --socket "$T/d.sock" \
			--state-dir "$T/state" >/dev/null 2>&1 &
		VPID=$!
		PIDS+=("$VPID")
		for _ in $(seq 1 100); do [ -S "$T/d.sock" ] && break; sleep 0.02; done
		nsenter --net="$AN" "$F" run --detach --socket "$T/d.sock" "$T/s.yaml" >/dev/null 2>&1 &
		CPID=$!
		return
		;;
	esac
	VPID=$!
	PIDS+=("$VPID")
}

CPID=""
kinds=(inject-blackhole inject-delay inject-errors inject-refuse run daemon clsact-blackhole eperm-refuse)
for i in $(seq 1 "$TRIALS"); do
	kind=${kinds[$((RANDOM % ${#kinds[@]}))]}
	ms=$((RANDOM % 800))
	rm -rf "$T/state" "$T/d.sock"
	start_victim "$kind"
	sleep "$(printf '0.%03d' "$ms")"
	kill -KILL "$VPID" 2>/dev/null
	sleep 0.01
	if [[ $kind == *refuse ]]; then
		got=$(A /usr/bin/python3 "$EC" connect 10.230.0.2 9000 | jq -r .errno)
		[ "$got" = ok ] && traffic=ok || traffic="connect: $got"
	else
		got=$(udp_through)
		[ "$got" = 50 ] && traffic=ok || traffic="udp: $got of 50 through"
	fi
	wait "$VPID" 2>/dev/null
	[ -n "$CPID" ] && wait "$CPID" 2>/dev/null # the detached client
	CPID=""
	# a clsact filter is owned by no descriptor: it passes everything once
	# its owner is dead (watchdog, lease) and the next start removes it
	if [ "$kind" = clsact-blackhole ]; then
		if next_start_ok; then next=ok; else next=failed; fi
		left=$(residue) && left=none
	else
		left=$(residue) && left=none
		if next_start_ok; then next=ok; else next=failed; fi
	fi
	if [ "$traffic" = ok ] && [ "$left" = none ] && [ "$next" = ok ]; then
		report OK "$kind killed at ${ms} ms: traffic through after 10 ms, no residue, next start ok"
	else
		report FAIL "$kind killed at ${ms} ms: traffic $traffic, residue $left, next start $next"
	fi
done

# SIGSTOP: a frozen faultline stops faulting when its lease runs out
for i in 1 2; do
	nsenter --net="$AN" "$F" inject blackhole --dev va --protocol udp --port 7777 --lease 500ms \
		--for 20s >/dev/null 2>"$T/stop.err" &
	VPID=$!
	PIDS+=("$VPID")
	# live: it says so once the rule is in (5 s at most)
	for _ in $(seq 1 100); do grep -q "faultline: injecting" "$T/stop.err" && break; sleep 0.05; done
	before=$(udp_through)
	kill -STOP "$VPID"
	sleep 0.7
	after=$(udp_through)
	kill -KILL "$VPID"
	kill -CONT "$VPID" 2>/dev/null
	wait "$VPID" 2>/dev/null
	left=$(residue) && left=none
	if [ "$before" = 0 ] && [ "$after" = 50 ] && [ "$left" = none ] && next_start_ok; then
		report OK "SIGSTOP: 0 of 50 through while live, 50 of 50 0.7 s after the freeze (lease 500 ms), no residue"
	else
		report FAIL "SIGSTOP: $before of 50 through while live, $after after the freeze, residue $left"
	fi
done

# OOM: killed by the kernel's OOM killer in a v1 memory cgroup (hybrid hosts)
if [ -d /sys/fs/cgroup/memory ]; then
	MEMCG=/sys/fs/cgroup/memory/fl-crash-$$
	mkdir -p "$MEMCG"
	for limit in 6M 12M; do
		echo "$limit" >"$MEMCG/memory.limit_in_bytes"
		sh -c "echo \$\$ >'$MEMCG/cgroup.procs' && exec nsenter --net=/run/netns/$NA '$F' inject \
			blackhole --dev va --protocol udp --port 7777 --for 3s" >/dev/null 2>&1 &
		VPID=$!
		PIDS+=("$VPID")
		for _ in $(seq 1 80); do kill -0 "$VPID" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$VPID" 2>/dev/null
		wait "$VPID" 2>/dev/null
		ooms=$(awk '/oom_kill /{ print $2 }' "$MEMCG/memory.oom_control" 2>/dev/null)
		got=$(udp_through)
		left=$(residue) && left=none
		if [ "$got" = 50 ] && [ "$left" = none ] && next_start_ok; then
			report OK "memory limit $limit (OOM kills so far: ${ooms:-?}): traffic through, no residue, next start ok"
		else
			report FAIL "memory limit $limit (OOM kills so far: ${ooms:-?}): $got of 50 through, residue $left"
		fi
	done
else
	echo "ok $((n + 1)) - OOM trial # skip no v1 memory cgroup"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
