#!/usr/bin/env bats
# Error faults without a proxy (docs/errors.md): refused connects, reset
# connections, DNS failures and HTTP statuses, seen by real clients (curl,
# Python, getent) talking to real servers (python http.server, nginx,
# dnsmasq) in the test's namespaces A (10.200.0.1, client) and B
# (10.200.0.2, servers); and gone after stop and after kill -9.

load ../lib/common

EC="$BATS_TEST_DIRNAME/../tools/errclient.py"

setup() { fl_setup_netns; }
teardown() {
	fl_topo_teardown
	fl_teardown_netns
	[ -n "${FL_CG:-}" ] && rmdir "$FL_CG" 2>/dev/null
	[ -n "${FL_NS_A:-}" ] && rm -rf "/etc/netns/$FL_NS_A"
	return 0
}

ec_a() { ns_a /usr/bin/python3 "$EC" "$@"; }

# fl_stop: SIGTERM to the inject, which must exit 0 within 5 s
fl_stop() {
	kill -TERM "$FL_INJECT_PID"
	fl_wait_exit "$FL_INJECT_PID" 5
	[ "$FL_EXIT" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/inject.err" >&2; return 1; }
}

# no connect() program left on the cgroup v2 root or the test's cgroup
assert_no_cgroup_programs() {
	local out
	out=$(bpftool cgroup tree "$(cgroup2_mount)" 2>/dev/null | grep -E 'fl_refuse_(conn|eper)' || true)
	[ -z "$out" ] || { echo "cgroup programs left: $out" >&2; return 1; }
}

start_dnsmasq() {
	fl_bg b "$BATS_TEST_TMPDIR/dnsmasq.log" dnsmasq --keep-in-foreground --conf-file=/dev/null \
		--no-hosts --no-resolv --bind-interfaces --listen-address=10.200.0.2 --port=53 \
		--user=root --pid-file= --log-facility=- \
		--address=/svc.local/10.9.9.9 --address=/example.test/10.9.9.8
	local i
	for i in $(seq 1 100); do
		[ "$(ec_a dns 10.200.0.2 example.test | jq -r .rcode)" = NOERROR ] && return 0
		sleep 0.05
	done
	cat "$BATS_TEST_TMPDIR/dnsmasq.log" >&2
	return 1
}

@test "refuse: curl gets Connection refused at once for the target host:port, and only there" {
	fl_start_http b 10.200.0.2 8080 "$BATS_TEST_TMPDIR"
	fl_start_http b 10.200.0.2 8081 "$BATS_TEST_TMPDIR"
	fl_inject_bg refuse --host 10.200.0.2 --port 8080 --for 30s
	run ns_a curl -s -o /dev/null -w '%{time_total}' --max-time 5 http://10.200.0.2:8080/
	[ "$status" -eq 7 ]
	echo "refused after ${output}s"
	awk -v t="$output" 'BEGIN { exit !(t < 0.1) }'
	run ns_a curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://10.200.0.2:8081/
	[ "$status" -eq 0 ] && [ "$output" = 200 ]
	fl_stop
	grep -q "refused 1" "$BATS_TEST_TMPDIR/inject.out"
	run ns_a curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://10.200.0.2:8080/
	[ "$status" -eq 0 ] && [ "$output" = 200 ]
	assert_no_cgroup_programs
	assert_no_residue_when_alone
}

@test "refuse: a cgroup target fails its processes' connect() and spares the others" {
	fl_start_http b 10.200.0.2 8080 "$BATS_TEST_TMPDIR"
	FL_CG="$(cgroup2_mount)/fl-errors-$$-$BATS_TEST_NUMBER"
	mkdir "$FL_CG"
	fl_inject_bg refuse --cgroup "$FL_CG" --port 8080 --for 30s
	run sh -c "echo \$\$ >'$FL_CG/cgroup.procs' && exec nsenter --net=/run/netns/$FL_NS_A \
		curl -s -o /dev/null --max-time 5 http://10.200.0.2:8080/"
	[ "$status" -eq 7 ]
	run ns_a curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://10.200.0.2:8080/
	[ "$status" -eq 0 ] && [ "$output" = 200 ]
	fl_stop
	assert_no_cgroup_programs
	# --pid: the cgroup of a running process
	sh -c "echo \$\$ >'$FL_CG/cgroup.procs' && exec sleep 30" &
	sleeper=$!
	FL_PIDS+=("$sleeper")
	sleep 0.2
	fl_inject_bg refuse --pid "$sleeper" --port 8080 --for 30s
	grep -q "fl-errors-$$-$BATS_TEST_NUMBER" "$BATS_TEST_TMPDIR/inject.err"
	run sh -c "echo \$\$ >'$FL_CG/cgroup.procs' && exec nsenter --net=/run/netns/$FL_NS_A \
		curl -s -o /dev/null --max-time 5 http://10.200.0.2:8080/"
	[ "$status" -eq 7 ]
	run ns_a curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://10.200.0.2:8080/
	[ "$output" = 200 ]
	fl_stop
	kill -KILL "$sleeper"
	wait "$sleeper" || true
	assert_no_cgroup_programs
}

@test "refuse: a Python client gets each errno asked for, TCP and UDP, IPv4 and IPv6" {
	fl_start_http b :: 8080 "$BATS_TEST_TMPDIR"
	fl_start_http b :: 8081 "$BATS_TEST_TMPDIR"
	for e in ECONNREFUSED ETIMEDOUT ENETUNREACH EHOSTUNREACH EACCES; do
		fl_inject_bg refuse --errno "$e" --port 8080 --for 30s
		for dst in 10.200.0.2 fd00:200::2; do
			[ "$(ec_a connect "$dst" 8080 | jq -r .errno)" = "$e" ]
			[ "$(ec_a connect "$dst" 8080 --udp | jq -r .errno)" = "$e" ]
		done
		# another port is untouched
		[ "$(ec_a connect 10.200.0.2 8081 | jq -r .errno)" = ok ]
		[ "$(ec_a connect fd00:200::2 8081 --udp | jq -r .errno)" = ok ]
		fl_stop
		[ "$(ec_a connect 10.200.0.2 8080 | jq -r .errno)" = ok ]
		[ "$(ec_a connect fd00:200::2 8080 | jq -r .errno)" = ok ]
	done
	assert_no_cgroup_programs
}

@test "refuse: --percent 50 refuses a binomial share of 400 connects" {
	fl_start_http b 10.200.0.2 8080 "$BATS_TEST_TMPDIR"
	fl_inject_bg refuse --percent 50 --port 8080 --for 60s
	run ec_a connectn 400 10.200.0.2 8080
	echo "$output"
	n=$(jq -r '.errnos.ECONNREFUSED // 0' <<<"$output")
	[ $((n + $(jq -r '.errnos.ok // 0' <<<"$output"))) -eq 400 ]
	within_binomial "$n" 400 50
	fl_stop
}

@test "reset: a long-lived TCP stream gets ECONNRESET, another port streams on" {
	fl_bg b "$BATS_TEST_TMPDIR/srv.log" /usr/bin/python3 "$EC" streamsrv 10.200.0.2 9000 30
	fl_wait_listen b 9000
	fl_bg b "$BATS_TEST_TMPDIR/srv2.log" /usr/bin/python3 "$EC" streamsrv 10.200.0.2 9001 30
	fl_wait_listen b 9001
	fl_bg a "$BATS_TEST_TMPDIR/c1.json" /usr/bin/python3 "$EC" stream 10.200.0.2 9000 6
	c1=$FL_BG_PID
	fl_bg a "$BATS_TEST_TMPDIR/c2.json" /usr/bin/python3 "$EC" stream 10.200.0.2 9001 3
	c2=$FL_BG_PID
	sleep 0.5
	fl_inject_bg reset --port 9000 --for 30s
	fl_wait_exit "$c1" 10
	fl_wait_exit "$c2" 10
	cat "$BATS_TEST_TMPDIR/c1.json" "$BATS_TEST_TMPDIR/c2.json"
	[ "$(jq -r .end "$BATS_TEST_TMPDIR/c1.json")" = ECONNRESET ]
	[ "$(jq -r .bytes "$BATS_TEST_TMPDIR/c1.json")" -gt 0 ]
	[ "$(jq -r .end "$BATS_TEST_TMPDIR/c2.json")" = timeout ]
	[ "$(jq -r .bytes "$BATS_TEST_TMPDIR/c2.json")" -gt 100000 ]
	fl_stop
	grep -Eq "reset [1-9]" "$BATS_TEST_TMPDIR/inject.out"
	assert_no_residue_when_alone
}

@test "reset: --after-bytes lets that much through first" {
	fl_bg b "$BATS_TEST_TMPDIR/srv.log" /usr/bin/python3 "$EC" streamsrv 10.200.0.2 9000 30
	fl_wait_listen b 9000
	fl_inject_bg reset --after-bytes 200kb --port 9000 --for 30s
	run ec_a stream 10.200.0.2 9000 10
	echo "$output"
	[ "$(jq -r .end <<<"$output")" = ECONNRESET ]
	[ "$(jq -r .bytes <<<"$output")" -ge 200000 ]
	fl_stop
}

@test "reset: a cgroup target (egress) resets its own connections only" {
	fl_bg b "$BATS_TEST_TMPDIR/srv.log" /usr/bin/python3 "$EC" streamsrv 10.200.0.2 9000 30
	fl_wait_listen b 9000
	FL_CG="$(cgroup2_mount)/fl-errors-$$-$BATS_TEST_NUMBER"
	mkdir "$FL_CG"
	fl_inject_bg reset --cgroup "$FL_CG" --port 9000 --for 30s
	run sh -c "echo \$\$ >'$FL_CG/cgroup.procs' && exec nsenter --net=/run/netns/$FL_NS_A \
		/usr/bin/python3 '$EC' stream 10.200.0.2 9000 4"
	echo "$output"
	[ "$(jq -r .end <<<"$output")" = ECONNRESET ]
	run ec_a stream 10.200.0.2 9000 2
	echo "$output"
	[ "$(jq -r .end <<<"$output")" = timeout ]
	fl_stop
}

@test "dns: nxdomain for names under *.svc.local, normal answers for others, UDP and TCP" {
	start_dnsmasq
	mkdir -p "/etc/netns/$FL_NS_A"
	echo "nameserver 10.200.0.2" >"/etc/netns/$FL_NS_A/resolv.conf"
	fl_inject_bg dns nxdomain --domain '*.svc.local' --for 30s
	run ec_a dns 10.200.0.2 db.svc.local
	echo "$output"
	[ "$(jq -r .rcode <<<"$output")" = NXDOMAIN ] && [ "$(jq -r .answers <<<"$output")" = 0 ]
	[ "$(ec_a dns 10.200.0.2 DB.Svc.Local --tcp | jq -r .rcode)" = NXDOMAIN ]
	run ec_a dns 10.200.0.2 example.test
	[ "$(jq -r .rcode <<<"$output")" = NOERROR ] && [ "$(jq -r .answers <<<"$output")" = 1 ]
	# the system resolver (glibc) of namespace A
	run ip netns exec "$FL_NS_A" getent hosts db.svc.local
	[ "$status" -eq 2 ]
	run ip netns exec "$FL_NS_A" getent ahostsv4 www.example.test
	[ "$status" -eq 0 ] && [[ "$output" == *10.9.9.8* ]]
	fl_stop
	run ip netns exec "$FL_NS_A" getent ahostsv4 db.svc.local
	[ "$status" -eq 0 ] && [[ "$output" == *10.9.9.9* ]]
	assert_no_residue_when_alone
}

@test "dns: servfail, refused and drop" {
	start_dnsmasq
	fl_inject_bg dns servfail --for 30s
	[ "$(ec_a dns 10.200.0.2 example.test | jq -r .rcode)" = SERVFAIL ]
	[ "$(ec_a dns 10.200.0.2 example.test --tcp | jq -r .rcode)" = SERVFAIL ]
	fl_stop
	fl_inject_bg dns refused --domain example.test --for 30s
	[ "$(ec_a dns 10.200.0.2 example.test | jq -r .rcode)" = REFUSED ]
	[ "$(ec_a dns 10.200.0.2 a.example.test | jq -r .rcode)" = NOERROR ]
	fl_stop
	fl_inject_bg dns drop --for 30s
	[ "$(ec_a dns 10.200.0.2 example.test | jq -r .rcode)" = timeout ]
	fl_stop
	[ "$(ec_a dns 10.200.0.2 example.test | jq -r .rcode)" = NOERROR ]
}

@test "http: --percent 50 gives 503 to a binomial share of 2000 curl requests, bodies intact" {
	fl_start_nginx b 10.200.0.2 8080
	fl_inject_bg http --status 503 --percent 50 --port 8080 --for 120s
	# one curl, 2000 requests on a kept-alive connection: each body ("ok")
	# then a line "CODE SIZE"
	ns_a curl -s --max-time 60 -w '%{http_code} %{size_download}\n' \
		"http://10.200.0.2:8080/?n=[1-2000]" >"$BATS_TEST_TMPDIR/curl.out"
	n503=$(grep -c '^503 3$' "$BATS_TEST_TMPDIR/curl.out" || true)
	n200=$(grep -c '^200 3$' "$BATS_TEST_TMPDIR/curl.out" || true)
	echo "503: $n503, 200: $n200"
	[ $((n503 + n200)) -eq 2000 ]
	[ "$(grep -c '^ok$' "$BATS_TEST_TMPDIR/curl.out")" -eq 2000 ]
	within_binomial "$n503" 2000 50
	run ec_a http 10.200.0.2 8080 400 /
	[ "$(jq -r .bad_body <<<"$output")" -eq 0 ] && [ "$(jq -r .errors <<<"$output")" -eq 0 ]
	fl_stop
	run ec_a http 10.200.0.2 8080 50 /
	[ "$(jq -r '.status["200"]' <<<"$output")" -eq 50 ]
}

@test "http: on the server's host (responses on egress), with --path, curl sees the status" {
	fl_start_nginx b 10.200.0.2 8080
	FL_INJECT_NS=$FL_NS_B fl_inject_bg http --status 500 --path /api --port 8080 --for 30s
	run ns_a curl -s -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' --max-time 5 \
		http://10.200.0.2:8080/api/users
	[ "$output" = 500 ]
	[ "$(cat "$BATS_TEST_TMPDIR/body")" = ok ]
	run ec_a http 10.200.0.2 8080 100 /api/x
	[ "$(jq -r '.status["500"]' <<<"$output")" -eq 100 ]
	run ec_a http 10.200.0.2 8080 100 /other
	[ "$(jq -r '.status["200"]' <<<"$output")" -eq 100 ]
	fl_stop
}

@test "http: --delay holds the first segment of each response" {
	fl_start_nginx b 10.200.0.2 8080
	fl_inject_bg http --delay 200ms --port 8080 --for 30s
	run ns_a curl -s -o /dev/null -w '%{http_code} %{time_starttransfer}' --max-time 5 \
		http://10.200.0.2:8080/
	echo "$output"
	[ "${output% *}" = 200 ]
	awk -v t="${output#* }" 'BEGIN { exit !(t >= 0.2 && t < 0.6) }'
	fl_stop
	run ns_a curl -s -o /dev/null -w '%{time_starttransfer}' --max-time 5 http://10.200.0.2:8080/
	awk -v t="$output" 'BEGIN { exit !(t < 0.1) }'
}

@test "every error fault is gone at once after kill -9 of faultline" {
	fl_start_http b 10.200.0.2 8080 "$BATS_TEST_TMPDIR"
	fl_inject_bg refuse --port 8080 --for 60s
	[ "$(ec_a connect 10.200.0.2 8080 | jq -r .errno)" = ECONNREFUSED ]
	kill -KILL "$FL_INJECT_PID"
	[ "$(ec_a connect 10.200.0.2 8080 | jq -r .errno)" = ok ]
	fl_wait_exit "$FL_INJECT_PID" 5
	assert_no_cgroup_programs
	fl_inject_bg http --status 503 --port 8080 --for 60s
	[ "$(ns_a curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://10.200.0.2:8080/)" = 503 ]
	kill -KILL "$FL_INJECT_PID"
	[ "$(ns_a curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://10.200.0.2:8080/)" = 200 ]
	fl_wait_exit "$FL_INJECT_PID" 5
	# dns and reset through the same classifier, after kill -9 as well
	start_dnsmasq
	fl_inject_bg dns servfail --for 60s
	[ "$(ec_a dns 10.200.0.2 example.test | jq -r .rcode)" = SERVFAIL ]
	kill -KILL "$FL_INJECT_PID"
	[ "$(ec_a dns 10.200.0.2 example.test | jq -r .rcode)" = NOERROR ]
	fl_wait_exit "$FL_INJECT_PID" 5
	assert_no_residue_when_alone
}

@test "scenario: refuse for the command only and an http status for a service, in one run" {
	fl_start_http b 10.200.0.2 8080 "$BATS_TEST_TMPDIR"
	fl_start_http b 10.200.0.2 8081 "$BATS_TEST_TMPDIR"
	cat >"$BATS_TEST_TMPDIR/s.yaml" <<'EOF'
version: 1
name: errors
duration: 30s
targets:
  web: {host: 10.200.0.2, port: 8080}
  mine: {command: true, port: 8081}
faults:
  - {target: web, http: {status: 503}}
  - {target: mine, refuse: {errno: ETIMEDOUT}}
EOF
	cat >"$BATS_TEST_TMPDIR/cmd.sh" <<EOF
curl -s -o /dev/null -w 'web %{http_code}\n' --max-time 5 http://10.200.0.2:8080/
/usr/bin/python3 $EC connect 10.200.0.2 8081
EOF
	run nsenter --net="/run/netns/$FL_NS_A" "$FAULTLINE" run "$BATS_TEST_TMPDIR/s.yaml" \
		--report-json "$BATS_TEST_TMPDIR/r.json" -- sh "$BATS_TEST_TMPDIR/cmd.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"web 503"* ]]
	[[ "$output" == *'"errno": "ETIMEDOUT"'* ]]
	# outside the command, 8081 answers
	[ "$(ec_a connect 10.200.0.2 8081 | jq -r .errno)" = ok ]
	fl_report_valid "$BATS_TEST_TMPDIR/r.json"
	[ "$(jq -r '.steps[0].counters.rewritten // .steps[0].rewritten' "$BATS_TEST_TMPDIR/r.json")" -ge 1 ]
	[ "$(jq -r '.steps[1].counters.refused // .steps[1].refused' "$BATS_TEST_TMPDIR/r.json")" -eq 1 ]
	assert_no_cgroup_programs
}

@test "bad error-fault input exits 2 naming the field, and applies nothing" {
	run "$FAULTLINE" inject refuse --errno EFOO --port 80
	[ "$status" -eq 2 ] && [[ "$output" == *"--errno"*"ECONNREFUSED"* ]]
	run "$FAULTLINE" inject refuse --local-port 80
	[ "$status" -eq 2 ] && [[ "$output" == *"--local-port"* ]]
	run "$FAULTLINE" inject refuse
	[ "$status" -eq 2 ] && [[ "$output" == *"--allow-wide"* ]]
	run "$FAULTLINE" inject dns bogus
	[ "$status" -eq 2 ] && [[ "$output" == *"servfail, nxdomain, refused or drop"* ]]
	run "$FAULTLINE" inject dns nxdomain --domain 'a..b'
	[ "$status" -eq 2 ] && [[ "$output" == *"--domain"*"empty label"* ]]
	run "$FAULTLINE" inject dns nxdomain --domain 'a.*.b'
	[ "$status" -eq 2 ] && [[ "$output" == *"--domain"* ]]
	run "$FAULTLINE" inject http --status 99 --port 80
	[ "$status" -eq 2 ] && [[ "$output" == *"--status"*"100 to 599"* ]]
	run "$FAULTLINE" inject http --path api --status 503 --port 80
	[ "$status" -eq 2 ] && [[ "$output" == *"--path"* ]]
	run "$FAULTLINE" inject http --port 80
	[ "$status" -eq 2 ] && [[ "$output" == *"--status"* ]]
	run "$FAULTLINE" inject reset --protocol udp --port 80
	[ "$status" -eq 2 ] && [[ "$output" == *"--protocol"*"tcp"* ]]
	run "$FAULTLINE" inject reset loss 5% --port 80
	[ "$status" -eq 2 ] && [[ "$output" == *"alone"* ]]
	run "$FAULTLINE" inject http --status 503 --percent 0 --port 80
	[ "$status" -eq 2 ] && [[ "$output" == *"--percent"*"zero"* ]]
	run "$FAULTLINE" inject loss 5% --errno ETIMEDOUT --port 80
	[ "$status" -eq 2 ] && [[ "$output" == *"--errno"*"belongs"* ]]
	# the scenario language says the same, at the field
	cat >"$BATS_TEST_TMPDIR/bad.yaml" <<'EOF'
version: 1
name: bad
duration: 10s
targets:
  t: {port: 80}
faults:
  - {target: t, refuse: {errno: EWHAT}}
  - {target: t, dns: {rcode: nxdomain, domains: ["ok.example", "bad..name"]}}
  - {target: t, http: {status: 1000}}
  - {target: t, reset: {percent: 0}}
  - {target: t, http: {status: 503}, loss: 5}
EOF
	run "$FAULTLINE" validate "$BATS_TEST_TMPDIR/bad.yaml"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"faults[0].refuse.errno"*"EWHAT"* ]]
	[[ "$output" == *"faults[1].dns.domains"*"empty label"* ]]
	[[ "$output" == *"faults[2].http.status"* ]]
	[[ "$output" == *"faults[3].reset.percent"*"zero"* ]]
	[[ "$output" == *"faults[4]"*"step of its own"* ]]
	assert_no_residue
}

# examples/dependency-errors.yaml as it is, on its topology: client 10.60.0.1,
# dependencies 10.60.0.2 (nginx 8080, dnsmasq 53, a stream server on 6379,
# another on 5432). The command checks each dependency in the window of its
# step and writes what it saw.
@test "examples/dependency-errors.yaml: each dependency fails as the application sees it" {
	fl_topo_add client deps
	fl_topo_link client c0 10.60.0.1/24 deps d0 10.60.0.2/24
	fl_start_nginx deps 10.60.0.2 8080
	fl_bg deps "$BATS_TEST_TMPDIR/dns.log" dnsmasq --keep-in-foreground --conf-file=/dev/null \
		--no-hosts --no-resolv --bind-interfaces --listen-address=10.60.0.2 --port=53 \
		--user=root --pid-file= --log-facility=- --address=/payments.internal/10.9.9.7 \
		--address=/other.test/10.9.9.8
	fl_bg deps "$BATS_TEST_TMPDIR/cache.log" /usr/bin/python3 "$EC" streamsrv 10.60.0.2 6379 30
	fl_wait_listen deps 6379
	fl_bg deps "$BATS_TEST_TMPDIR/db.log" /usr/bin/python3 "$EC" streamsrv 10.60.0.2 5432 30
	fl_wait_listen deps 5432
	{
		echo "ec() { /usr/bin/python3 $EC \"\$@\"; }"
		# at T: sleep until T seconds after the command started
		echo 't0=$(date +%s%N)'
		echo 'at() { s=$(awk -v a="$t0" -v b="$(date +%s%N)" -v t="$1" '"'"'BEGIN { d = t - (b - a) / 1e9; print (d > 0 ? d : 0) }'"'"'); sleep "$s"; }'
		echo 'at 0.5'
		echo 'ec http 10.60.0.2 8080 40 /checkout/pay | sed "s/^/checkout /"'
		echo 'ec http 10.60.0.2 8080 10 /catalog | sed "s/^/catalog /"'
		echo 'at 4.5'
		echo 'ec dns 10.60.0.2 api.payments.internal | sed "s/^/dns-payments /"'
		echo 'ec dns 10.60.0.2 www.other.test | sed "s/^/dns-other /"'
		echo 'at 8.5'
		echo 'ec stream 10.60.0.2 6379 2 | sed "s/^/cache /"'
		echo 'at 12.5'
		echo 'ec connect 10.60.0.2 5432 | sed "s/^/db /"'
	} >"$BATS_TEST_TMPDIR/app.sh"
	cp "$BATS_TEST_DIRNAME/../../examples/dependency-errors.yaml" "$BATS_TEST_TMPDIR/"
	cd "$BATS_TEST_TMPDIR"
	run fl_in client "$FAULTLINE" run dependency-errors.yaml -- sh app.sh
	echo "$output"
	[ "$status" -eq 0 ]
	l() { grep "^$1 " <<<"$output" | cut -d' ' -f2-; }
	n503=$(l checkout | jq -r '.status["503"] // 0')
	n200=$(l checkout | jq -r '.status["200"] // 0')
	[ $((n503 + n200)) -eq 40 ]
	within_binomial "$n503" 40 50
	[ "$(l checkout | jq -r .bad_body)" -eq 0 ]
	[ "$(l catalog | jq -r '.status["200"]')" -eq 10 ]
	[ "$(l dns-payments | jq -r .rcode)" = NXDOMAIN ]
	[ "$(l dns-other | jq -r .rcode)" = NOERROR ]
	[ "$(l cache | jq -r .end)" = ECONNRESET ]
	[ "$(l db | jq -r .errno)" = ETIMEDOUT ]
	# the database refuses only the command: from outside it, it answers
	[ "$(fl_in client /usr/bin/python3 "$EC" connect 10.60.0.2 5432 | jq -r .errno)" = ok ]
	fl_report_valid dependency-errors.json
	jq -e '.verdict == "passed" and (.probes[0].failures == 0) and ([.steps[] | .applied] | all)' dependency-errors.json
	assert_no_cgroup_programs
}
