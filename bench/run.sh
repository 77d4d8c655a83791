#!/usr/bin/env bash
# Run every benchmark built under BUILD/bench/ (make bench builds them from
# bench/*.c; only the bench_* binaries are benchmarks, the others are helpers
# such as hold_rules), then bench/throughput.sh and bench/delay.sh, and print
# their figures, one "name value unit" line each, under a header naming the
# date, kernel and CPU, so that a pasted result says where it was measured.
# Exits non-zero if any benchmark fails.
# Usage: bench/run.sh [BUILD]    (default build; needs root: loads BPF,
# creates network namespaces)
set -u
BUILD=${1:-build}
HERE=$(dirname "$0")

cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n1)
echo "# faultline bench $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -r) ${cpu:-$(uname -m)} ($(nproc) CPUs)"

shopt -s nullglob
benches=("$BUILD"/bench/bench_*)
if [ ${#benches[@]} -eq 0 ]; then
	echo "bench/run.sh: no benchmark under $BUILD/bench (run make bench)" >&2
	exit 1
fi
failed=0
for b in "${benches[@]}"; do
	[ -f "$b" ] && [ -x "$b" ] || continue
	echo "# $(basename "$b")"
	if ! "$b"; then
		echo "bench/run.sh: $(basename "$b") failed" >&2
		failed=1
	fi
done
# throughput.sh bounds itself (FL_BENCH_TIME_LIMIT, 170 s); timeout is the
# backstop, with a margin for its cleanup
echo "# throughput.sh"
if ! timeout -k 30 $((${FL_BENCH_TIME_LIMIT:-170} + 30)) "$HERE/throughput.sh" "$BUILD"; then
	echo "bench/run.sh: throughput.sh failed" >&2
	failed=1
fi
# delay.sh (the delay action: accuracy, CPU, TCP, HTTP beside toxy) bounds
# itself too (FL_DELAY_BENCH_TIME_LIMIT, 150 s)
echo "# delay.sh"
if ! timeout -k 30 $((${FL_DELAY_BENCH_TIME_LIMIT:-150} + 30)) "$HERE/delay.sh" "$BUILD"; then
	echo "bench/run.sh: delay.sh failed" >&2
	failed=1
fi
exit $failed
