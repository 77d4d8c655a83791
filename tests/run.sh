#!/usr/bin/env bash
# Run every test of faultline against the binaries in BUILD (default build/san):
#   cmocka unit tests (tests/unit), BPF program tests (tests/bpf), bats end-to-end
#   tests (tests/e2e). Every runner speaks TAP; this script counts "ok" and
#   "not ok" lines and ends with "N passed, N failed".
# Usage: tests/run.sh [BUILD] [bats-file-or-filter...]
set -u
BUILD=${1:-build/san}
shift || true
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=$(cd "$BUILD" && pwd)

export FAULTLINE="$BUILD/faultline"
# the release build, where a test times what users get (kill -9 recovery)
[ -x "$top/build/faultline" ] && export FAULTLINE_RELEASE="$top/build/faultline"
export FL_TRAFFIC="$BUILD/fl-traffic"
export FL_BUILD="$BUILD"
export CMOCKA_MESSAGE_OUTPUT=TAP
# libbpf and libnl keep small allocations for the process lifetime; leaks in
# our own code are still reported by the cmocka tests' own allocations.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed=0
failed=0
skipped=0

count() { # count TAP results of one runner's output in $log
	local p f k
	p=$(grep -cE '^ok ' "$log")
	f=$(grep -cE '^not ok ' "$log")
	k=$(grep -cE '^ok .*# skip' "$log")
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + k))
}

run_binary() {
	local t=$1
	echo "# $t"
	"$t" >"$log" 2>&1
	local rc=$?
	cat "$log"
	count
	# a binary that crashed before printing its plan counts as one failure
	if [ $rc -ne 0 ] && ! grep -qE '^not ok ' "$log"; then
		echo "not ok - $(basename "$t") exited $rc"
		failed=$((failed + 1))
	fi
}

filter=("$@")
if [ ${#filter[@]} -eq 0 ]; then
	# the style is part of the build: clang-format clean (.clang-format)
	echo "# clang-format"
	if command -v clang-format >/dev/null && files=$(git ls-files '*.c' '*.h' 2>/dev/null) && [ -n "$files" ]; then
		# shellcheck disable=SC2086
		if clang-format --dry-run --Werror $files >"$log" 2>&1; then
			echo "ok - every C file is clang-format clean"
			passed=$((passed + 1))
		else
			head -n 40 "$log"
			echo "not ok - clang-format disagrees (run: make format)"
			failed=$((failed + 1))
		fi
	fi
	for t in "$BUILD"/tests/unit/test_* "$BUILD"/tests/bpf/test_*; do
		[ -x "$t" ] && run_binary "$t"
	done
	# the fuzz harnesses over their seed corpora and crash reproducers, once
	# each (make fuzz-regress: builds them; "# skip" without libFuzzer)
	echo "# fuzz-regress"
	make --no-print-directory -C "$top" fuzz-regress >"$log" 2>&1
	rc=$?
	cat "$log"
	count
	if [ $rc -ne 0 ] && ! grep -qE '^not ok ' "$log"; then
		echo "not ok - make fuzz-regress exited $rc"
		failed=$((failed + 1))
	fi
	bats_files=(tests/e2e/*.bats)
else
	bats_files=("${filter[@]}")
fi

for f in "${bats_files[@]}"; do
	[ -f "$f" ] || continue
	echo "# $f"
	bats --tap "$f" >"$log" 2>&1
	cat "$log"
	count
done

# crash trials (docs/reliability.md): faultline killed at random moments,
# then traffic, residue and the next start checked; FL_CRASH_TRIALS of them
# (0: none) plus the SIGSTOP and OOM trials
if [ ${#filter[@]} -eq 0 ] && [ "${FL_CRASH_TRIALS:-10}" -gt 0 ]; then
	echo "# tests/crash/crash_trials.sh"
	tests/crash/crash_trials.sh "$BUILD" "${FL_CRASH_TRIALS:-10}" >"$log" 2>&1
	grep -v ' Killed ' "$log" | grep -v '^[0-9]* passed, [0-9]* failed$'
	count
fi

# a skipped test (the delay accuracy tests skip when the hypervisor stole
# CPU time in every attempt) counts as passed; say how many there were
[ "${skipped:-0}" -eq 0 ] || echo "# $skipped of the passed were skipped (see '# skip' above)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
