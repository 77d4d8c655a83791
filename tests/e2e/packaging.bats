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
	# the man pages, under MANDIR (PREFIX/share/man), readable by man
	local m=$dest/opt/fl/share/man
	[ -f "$m/man1/faultline.1" ] && [ -f "$m/man5/faultline-scenario.5" ] && [ -f "$m/man8/faultlined.8" ]
	MANWIDTH=80 man -M "$m" -P cat 8 faultlined | grep -q '^FAULTLINED(8)'
	local unit=$dest/opt/fl/lib/systemd/system/faultlined.service
	[ -f "$unit" ]
	grep -q '^ExecStart=/opt/fl/sbin/faultlined --foreground' "$unit"
	! grep -q '@[A-Z]*@' "$unit"
	"$dest/opt/fl/sbin/faultlined" --version | grep -q '^faultlined '
	"$dest/opt/fl/bin/faultline" --version | grep -q '^faultline '
	run make --no-print-directory uninstall DESTDIR="$dest" PREFIX=/opt/fl
	assert_success
	[ ! -e "$dest/opt/fl/sbin/faultlined" ] && [ ! -e "$unit" ]
	[ ! -e "$m/man1/faultline.1" ] && [ ! -e "$m/man5/faultline-scenario.5" ] && [ ! -e "$m/man8/faultlined.8" ]
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
	# the daemon holds what it keeps after start-up (a subset of the unit's
	# set: CAP_CHOWN is for the socket's group at start-up only), with
	# no_new_privs; it cannot shrink the bounding set without CAP_SETPCAP
	local eff want st
	st=/proc/"${FL_PIDS[-1]}"/status
	eff=$(awk '/^CapEff/ {print $2}' "$st")
	run capsh --decode="$eff"
	echo "# daemon capabilities: $output"
	[[ "$output" != *cap_sys_admin* ]]
	want=$("$FAULTLINED" --print-capabilities | tr 'A-Z' 'a-z' | sed 's/^/cap_/' | sort | paste -sd,)
	[ "$(tr ',' '\n' <<<"${output#*=}" | sort | paste -sd,)" = "$want" ]
	[ "$(awk '/^CapPrm/ {print $2}' "$st")" = "$eff" ]
	[ "$(awk '/^NoNewPrivs/ {print $2}' "$st")" = 1 ]
	# every capability kept is in the unit's set, and the unit's set is what
	# the daemon asks for at start-up
	for c in $(tr ',' ' ' <<<"$want"); do
		[[ ",$caps," == *",+${c#cap_},"* ]] || { echo "$c kept but not in the unit"; return 1; }
	done
	[ "$(tr ',' '\n' <<<"$caps" | sed 's/^+//' | sort | paste -sd,)" = \
		"$("$FAULTLINED" --print-startup-capabilities | tr 'A-Z' 'a-z' | sort | paste -sd,)" ]
	# with them, the start-up probe behind /v1/capabilities sees this kernel
	run curl -sf --unix-socket "$sock" http://localhost/v1/capabilities
	jq -e '.core_ok and (.mechanisms[] | select(.id == "tcx") | .ok) and
		(.faults[] | select(.fault == "delay") | .works)' <<<"$output" >/dev/null ||
		{ echo "$output" | head -c 2000; return 1; }

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
