#!/usr/bin/env bash
# faultline demo: 30% packet loss on one flow, measured before, during and
# after, in two network namespaces this script creates and removes.
#   usage: examples/demo.sh [BUILD]   (run by `sudo make demo`)
set -euo pipefail
BUILD=${1:-build}
FAULTLINE=$(cd "$BUILD" && pwd)/faultline
TRAFFIC=$(cd "$BUILD" && pwd)/fl-traffic
NS_A=fl-demo-client-$$
NS_B=fl-demo-server-$$
INJECT_PID=

bold() { printf '\033[1m%s\033[0m\n' "$*"; }
cleanup() {
	[ -n "$INJECT_PID" ] && kill -KILL "$INJECT_PID" 2>/dev/null
	ip netns del "$NS_A" 2>/dev/null || true
	ip netns del "$NS_B" 2>/dev/null || true
}
trap cleanup EXIT

# ping N packets 20 ms apart from the client; print its loss line
loss_of_ping() {
	ip netns exec "$NS_A" ping -q -c "$1" -i 0.02 -W 1 10.201.0.2 | grep -o '[0-9.]*% packet loss'
}
# send 2000 UDP packets to port 7778 on the server; print how many arrived
udp_check() {
	local out
	out=$(mktemp)
	ip netns exec "$NS_B" "$TRAFFIC" recv --port 7778 --idle 300 --max-time 5 >"$out" &
	local rpid=$!
	sleep 0.2
	ip netns exec "$NS_A" "$TRAFFIC" send --to 10.201.0.2 --port 7778 --count 2000 --rate 20000 >/dev/null
	wait "$rpid"
	sed -E 's/.*"received":([0-9]+).*/\1/' "$out"
	rm -f "$out"
}

bold "faultline demo: 30% loss on ICMP from a client to a server, nothing else touched"
echo "1. Two network namespaces joined by a veth pair: client 10.201.0.1 (va) <-> server 10.201.0.2 (vb)"
ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add va netns "$NS_A" type veth peer name vb netns "$NS_B"
ip -n "$NS_A" addr add 10.201.0.1/24 dev va
ip -n "$NS_B" addr add 10.201.0.2/24 dev vb
ip -n "$NS_A" link set va up
ip -n "$NS_B" link set vb up
ip -n "$NS_A" link set lo up
ip -n "$NS_B" link set lo up
sleep 0.3

echo "2. Before: 200 pings                      -> $(loss_of_ping 200)"

echo "3. faultline inject loss 30% --dev va --protocol icmp --for 30s"
ip netns exec "$NS_A" "$FAULTLINE" inject loss 30% --dev va --protocol icmp --for 30s \
	>/tmp/fl-demo-$$.out 2>/tmp/fl-demo-$$.err &
INJECT_PID=$!
for _ in $(seq 1 100); do grep -q injecting /tmp/fl-demo-$$.err && break; sleep 0.05; done
sed 's/^/     /' /tmp/fl-demo-$$.err
echo "   During: 500 pings                      -> $(loss_of_ping 500)   (asked: 30%)"
echo "   During: 2000 UDP packets to port 7778  -> $(udp_check) received (not targeted)"

echo "4. Ctrl-C (SIGINT) to faultline: it rolls back and reports what it did"
kill -INT "$INJECT_PID"
wait "$INJECT_PID" || true
INJECT_PID=
sed 's/^/     /' /tmp/fl-demo-$$.out
rm -f /tmp/fl-demo-$$.out /tmp/fl-demo-$$.err
echo "   After: 200 pings                       -> $(loss_of_ping 200)"
left=$(bpftool prog show 2>/dev/null | grep -cE 'name fl_(ingress|egress)' || true)
echo "   faultline BPF programs left in the kernel: $left"

echo "5. Removing the namespaces."
bold "Done. Try it yourself: sudo $BUILD/faultline inject --help"
