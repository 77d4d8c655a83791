#!/usr/bin/env bats
# tests/e2e/packaging.bats - `make install` and the systemd unit: the files
# land under DESTDIR/PREFIX with the paths filled in, and the daemon still
# works with exactly the capabilities the unit grants (its
# CapabilityBoundingSet) and no-new-privileges: a delay experiment posted to
# it delays ICMP between two namespaces by what it asked, and stops cleanly.

load ../lib/common

setup() {
	FAULTLINED=${FAULTLINED:-$(dirname "$FAULTLINE")/faultlined}
	fl_setup_netns
}

teardown() {
	fl_teardown_netns
}

@test "make_install_honours_DESTDIR_and_PREFIX" {
	local dest=$BATS_TEST_TMPDIR/dest
	run make --no-print-directory install DESTDIR="$dest" PREFIX=/opt/fl
	assert_success
	[ -x "$dest/opt/fl/bin/faultline" ]
	[ -x "$dest/opt/fl/sbin/faultlined" ]
	[ -f "$dest/opt/fl/share/doc/faultline/api.md" ]
	[ -f "$dest/opt/fl/share/doc/faultline/examples/ci-smoke.yaml" ]
	local unit=$dest/opt/fl/lib/systemd/system/faultlined.service
	[ -f "$unit" ]
	grep -q '^ExecStart=/opt/fl/sbin/faultlined --foreground' "$unit"
	! grep -q '@[A-Z]*@' "$unit"
	"$dest/opt/fl/sbin/faultlined" --version | grep -q '^faultlined '
	"$dest/opt/fl/bin/faultline" --version | grep -q '^faultline '
	run make --no-print-directory uninstall DESTDIR="$dest" PREFIX=/opt/fl
	assert_success
	[ ! -e "$dest/opt/fl/sbin/faultlined" ] && [ ! -e "$unit" ]
}

@test "the_daemon_works_with_only_the_units_capabilities" {
	local caps sock=$BATS_TEST_TMPDIR/d.sock body id rtt
	# CAP_BPF CAP_NET_ADMIN ... -> +bpf,+net_admin,...
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' packaging/faultlined.service.in |
		tr ' ' '\n' | sed 's/^CAP_//' | tr 'A-Z' 'a-z' | sed 's/^/+/' | paste -sd,)
	[ -n "$caps" ]
	grep -q '^NoNewPrivileges=yes' packaging/faultlined.service.in
	nsenter --net="/run/netns/$FL_NS_A" setpriv --no-new-privs --bounding-set "-all,$caps" \
		"$FAULTLINED" --foreground --socket "$sock" --state-dir "$BATS_TEST_TMPDIR/state" \
		2>"$BATS_TEST_TMPDIR/d.log" &
	FL_PIDS+=($!)
	for _ in $(seq 50); do
		curl -sf --unix-socket "$sock" http://localhost/v1/health >/dev/null && break
		sleep 0.1
	done
	# the daemon holds the unit's set and nothing more
	local eff bnd n
	eff=$(awk '/^CapEff/ {print $2}' /proc/"${FL_PIDS[-1]}"/status)
	bnd=$(awk '/^CapBnd/ {print $2}' /proc/"${FL_PIDS[-1]}"/status)
	[ "$eff" = "$bnd" ]
	run capsh --decode="$eff"
	echo "# daemon capabilities: $output"
	[[ "$output" != *cap_sys_admin* ]]
	n=$(tr ',' '\n' <<<"$caps" | wc -l)
	[ "$(tr ',' '\n' <<<"${output#*=}" | wc -l)" -eq "$n" ]

	body=$(printf 'version: 1\nname: capcheck\nduration: 20s\ntargets:\n  b: {dev: va, protocol: icmp}\nfaults:\n  - {target: b, delay: 30ms}\n')
	id=$(curl -sf --unix-socket "$sock" -X POST -H 'Content-Type: application/yaml' \
		--data-binary "$body" http://localhost/v1/experiments | jq -r .id)
	[[ "$id" == e-* ]]
	for _ in $(seq 50); do
		[ "$(curl -s --unix-socket "$sock" "http://localhost/v1/experiments/$id" | jq -r .state)" = running ] && break
		sleep 0.1
	done
	sleep 0.3
	rtt=$(ns_a ping -c 5 -i 0.1 -q 10.200.0.2 | awk -F/ '/^rtt/ {print $5}')
	echo "# ping avg rtt with delay 30ms under the unit's capabilities: $rtt ms"
	awk -v r="$rtt" 'BEGIN { exit !(r >= 29.5 && r < 40) }'
	run curl -s --unix-socket "$sock" -X DELETE "http://localhost/v1/experiments/$id"
	[ "$(jq -r .state <<<"$output")" = aborted ]
	rtt=$(ns_a ping -c 3 -i 0.1 -q 10.200.0.2 | awk -F/ '/^rtt/ {print $5}')
	awk -v r="$rtt" 'BEGIN { exit !(r < 5) }'
	run curl -s --unix-socket "$sock" "http://localhost/v1/experiments/$id/report"
	[ "$(jq -r '.steps[0].counters.delayed' <<<"$output")" -ge 5 ]
	! grep -qi 'permission denied\|operation not permitted' "$BATS_TEST_TMPDIR/d.log"
}
