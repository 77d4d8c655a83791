#!/usr/bin/env bats
# tests/e2e/deploy.bats - deploy/kubernetes (docs/kubernetes.md): the YAML is
# lint-clean, the DaemonSet has the shape the docs promise (checked with
# PyYAML against faultlined's own --help and --print-capabilities), a broken
# manifest fails that check, and the daemon starts and works the way the
# DaemonSet starts it: its arguments, its capabilities as the bounding set,
# no-new-privileges, a read-only root, a token behind a Secret volume's
# symbolic link. No cluster is needed (nor used).

load ../lib/common

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
DS=$TOP/deploy/kubernetes/daemonset.yaml

setup() {
	FAULTLINED=${FAULTLINED:-${FL_BUILD:-$(dirname "$FAULTLINE")}/faultlined}
	cd "$TOP"
}

teardown() {
	fl_teardown_netns
}

need_pyyaml() {
	python3 -c 'import yaml' 2>/dev/null || skip "python3 has no PyYAML (python3-yaml): the structural checks need it"
}

# check_daemonset FILE: every promise of docs/kubernetes.md about the
# DaemonSet in FILE; prints what is wrong, fails on the first problem list.
check_daemonset() {
	python3 - "$1" "$FAULTLINED" <<'EOF'
import os, subprocess, sys, yaml

path, faultlined = sys.argv[1], sys.argv[2]
with open(path) as f:
    docs = [d for d in yaml.safe_load_all(f) if d]
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)

ds = [d for d in docs if d.get("kind") == "DaemonSet"]
if len(ds) != 1:
    print(f"{path}: expected one DaemonSet, found {len(ds)}")
    sys.exit(1)
ds = ds[0]
want(ds.get("apiVersion") == "apps/v1", "apiVersion apps/v1")
spec = ds["spec"]["template"]["spec"]
want(spec.get("hostNetwork") is True, "hostNetwork: true")
want(spec.get("hostPID") is True, "hostPID: true")
want(spec.get("priorityClassName") == "system-node-critical", "priorityClassName system-node-critical")
want(any(t.get("operator") == "Exists" and "key" not in t and "effect" not in t
         for t in spec.get("tolerations", [])), "a toleration of every taint (operator: Exists alone)")
want(int(spec.get("terminationGracePeriodSeconds", 30)) >= 30, "terminationGracePeriodSeconds >= 30")
cs = spec["containers"]
want(len(cs) == 1, "one container")
c = cs[0]
want(c.get("image") == "faultline:0.1.0", "image faultline:0.1.0 (the placeholder)")
want(c.get("command") == ["/usr/local/sbin/faultlined"], "command /usr/local/sbin/faultlined")
args = c.get("args", [])

# every flag is one faultlined --help documents
helptext = subprocess.run([faultlined, "--help"], capture_output=True, text=True).stdout
for a in args:
    if a.startswith("--"):
        want(("  " + a + " ") in helptext or ("  " + a + "\n") in helptext,
             f"argument {a} is not in faultlined --help")
def arg(flag):
    return args[args.index(flag) + 1] if flag in args and args.index(flag) + 1 < len(args) else None
for flag in ("--foreground",):
    want(flag in args, f"argument {flag}")
sock, listen, token, state = arg("--socket"), arg("--listen"), arg("--token-file"), arg("--state-dir")
want(sock == "/run/faultline/faultlined.sock", "--socket /run/faultline/faultlined.sock")
want(listen == "$(NODE_IP):7070", "--listen $(NODE_IP):7070")
want(token == "/etc/faultline/token", "--token-file /etc/faultline/token")
want(state == "/var/lib/faultline", "--state-dir /var/lib/faultline")
env = {e["name"]: e for e in c.get("env", [])}
want(env.get("NODE_IP", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.hostIP",
     "env NODE_IP from status.hostIP")

sc = c.get("securityContext", {})
want(sc.get("privileged") in (None, False), "not privileged")
want(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")
want(sc.get("runAsUser") == 0, "runAsUser: 0")
want(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem: true")
caps = sc.get("capabilities", {})
want(caps.get("drop") == ["ALL"], "capabilities drop [ALL]")
want(len(caps.get("add", [])) == len(set(caps.get("add", []))), "no capability added twice")

# probes: exec over the unix socket the daemon serves (TCP needs the token)
for p in ("startupProbe", "readinessProbe", "livenessProbe"):
    cmd = c.get(p, {}).get("exec", {}).get("command")
    want(bool(cmd), f"{p} is an exec probe")
    if cmd:
        want(cmd[:2] == ["/usr/local/bin/faultline", "ls"] and "--socket" in cmd
             and cmd[cmd.index("--socket") + 1] == sock, f"{p}: faultline ls --socket {sock}")
res = c.get("resources", {})
want("cpu" in res.get("requests", {}) and "memory" in res.get("requests", {}), "cpu and memory requests")
want("memory" in res.get("limits", {}), "a memory limit")

# the mounts and their volumes
vols = {v["name"]: v for v in spec.get("volumes", [])}
mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
def host(mp, hp, ro, types):
    m = mounts.get(mp)
    want(m is not None, f"a mount at {mp}")
    if not m:
        return
    v = vols.get(m["name"], {})
    want(v.get("hostPath", {}).get("path") == hp, f"{mp}: hostPath {hp}")
    want(v.get("hostPath", {}).get("type") in types, f"{mp}: hostPath type one of {types}")
    want(bool(m.get("readOnly", False)) == ro, f"{mp}: readOnly {ro}")
host("/sys/fs/bpf", "/sys/fs/bpf", False, ("Directory",))
host("/sys/fs/cgroup", "/sys/fs/cgroup", False, ("Directory",))
host("/sys/kernel/btf", "/sys/kernel/btf", True, ("Directory",))
host("/run/faultline", "/run/faultline", False, ("DirectoryOrCreate",))
host("/var/lib/faultline", "/var/lib/faultline", False, ("DirectoryOrCreate",))
want(sock and os.path.dirname(sock) == "/run/faultline", "the socket is in the /run/faultline mount")
tm = mounts.get(os.path.dirname(token or "/x/y"))
want(tm is not None, f"a mount holding {token}")
if tm:
    sv = vols.get(tm["name"], {}).get("secret")
    want(sv is not None, f"{os.path.dirname(token)} is a Secret volume")
    if sv:
        want(sv.get("defaultMode") == 0o400, f"the Secret's defaultMode is 0400 (got {sv.get('defaultMode')!r})")
        items = sv.get("items", [])
        want(all(i.get("mode", 0o400) == 0o400 for i in items), "no item mode other than 0400")
        want(any(i.get("path") == os.path.basename(token) for i in items) or not items,
             f"the Secret puts {os.path.basename(token)} in the mount")
    want(tm.get("readOnly") is True, "the token mount is read-only")

if bad:
    for b in bad:
        print(f"{path}: expected {b}")
    sys.exit(1)
print(f"{path}: ok")
EOF
}

# manifest_field EXPR: a Python expression over the container `c` and the
# pod spec `spec` of deploy/kubernetes/daemonset.yaml, printed one item a line.
manifest_field() {
	python3 - "$DS" "$1" <<'EOF'
import sys, yaml
ds = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "DaemonSet"][0]
spec = ds["spec"]["template"]["spec"]
c = spec["containers"][0]
v = eval(sys.argv[2])
for x in (v if isinstance(v, list) else [v]):
    print(x)
EOF
}

@test "yamllint_strict_passes_on_deploy_and_the_examples" {
	[ -f .yamllint ]
	command -v yamllint >/dev/null || skip "yamllint is not installed (make deps)"
	run yamllint -s -f parsable deploy/ examples/*.yaml
	echo "$output"
	assert_success
	# the config is the one used: a 121-character line fails
	printf 'a: %s\n' "$(head -c 118 /dev/zero | tr '\0' x)" >"$BATS_TEST_TMPDIR/long.yaml"
	run yamllint -s -c .yamllint "$BATS_TEST_TMPDIR/long.yaml"
	assert_failure
	assert_output --partial 'line too long (121 > 120 characters)'
}

@test "the_examples_and_the_scenarios_of_docs_kubernetes_md_validate" {
	run "$FAULTLINE" validate examples/*.yaml
	echo "$output"
	assert_success
	# every ```yaml block of docs/kubernetes.md that is a scenario
	awk -v dir="$BATS_TEST_TMPDIR" '
		/^```yaml$/ { n++; f = sprintf("%s/doc-%d.yaml", dir, n); inb = 1; next }
		/^```$/ { inb = 0; next }
		inb { print > f }' docs/kubernetes.md
	local files=("$BATS_TEST_TMPDIR"/doc-*.yaml)
	[ "${#files[@]}" -ge 3 ]
	run "$FAULTLINE" validate "${files[@]}"
	echo "$output"
	assert_success
}

@test "the_kustomization_lists_every_manifest_and_renders" {
	local f
	for f in deploy/kubernetes/*.yaml; do
		[ "$(basename "$f")" = kustomization.yaml ] && continue
		grep -qx "  - $(basename "$f")" deploy/kubernetes/kustomization.yaml ||
			{ echo "$f is not in kustomization.yaml"; return 1; }
	done
	if ! command -v kubectl >/dev/null; then
		echo "# kubectl is not installed: the kustomize rendering is not checked"
		return 0
	fi
	run kubectl kustomize deploy/kubernetes
	assert_success
	echo "$output" | grep -q '^kind: DaemonSet$'
	echo "$output" | grep -q '^kind: Namespace$'
	# the octal mode survives the rendering
	echo "$output" | grep -q 'defaultMode: 256$'
}

@test "the_daemonset_has_the_shape_docs_kubernetes_md_describes" {
	need_pyyaml
	run check_daemonset "$DS"
	echo "$output"
	assert_success
	# the namespace is the one namespace.yaml makes
	[ "$(manifest_field 'ds["metadata"]["namespace"]')" = faultline ]
	grep -qx '  name: faultline' deploy/kubernetes/namespace.yaml
}

@test "the_daemonset_adds_exactly_the_capabilities_faultlined_keeps" {
	need_pyyaml
	local printed want have
	if ! printed=$("$FAULTLINED" --print-capabilities 2>/dev/null) || [ -z "$printed" ]; then
		skip "faultlined has no --print-capabilities yet: the DaemonSet's list is not compared"
	fi
	want=$(sort <<<"$printed" | paste -sd,)
	have=$(manifest_field 'c["securityContext"]["capabilities"]["add"]' | sort | paste -sd,)
	echo "# faultlined keeps: $want; the DaemonSet adds: $have"
	[ "$have" = "$want" ]
}

@test "a_broken_daemonset_fails_the_check" {
	need_pyyaml
	local b=$BATS_TEST_TMPDIR/broken.yaml
	# each of these edits must be caught
	sed 's/hostNetwork: true/hostNetwork: false/' "$DS" >"$b"
	run check_daemonset "$b"
	assert_failure
	assert_output --partial 'hostNetwork: true'
	sed 's/defaultMode: 0400/defaultMode: 0444/' "$DS" >"$b"
	run check_daemonset "$b"
	assert_failure
	assert_output --partial 'defaultMode is 0400'
	sed 's|mountPath: /sys/kernel/btf|mountPath: /sys/kernel/btf-x|' "$DS" >"$b"
	run check_daemonset "$b"
	assert_failure
	assert_output --partial 'a mount at /sys/kernel/btf'
	sed 's/- --foreground/- --fore-ground/' "$DS" >"$b"
	run check_daemonset "$b"
	assert_failure
	assert_output --partial 'argument --fore-ground is not in faultlined --help'
	sed 's/drop: \["ALL"\]/drop: ["NET_RAW"]/' "$DS" >"$b"
	run check_daemonset "$b"
	assert_failure
	assert_output --partial 'drop [ALL]'
}

@test "the_daemon_runs_as_the_daemonset_runs_it" {
	need_pyyaml
	command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
	fl_setup_netns
	local t=$BATS_TEST_TMPDIR caps args=() a probe=() grace pid id rtt code
	# the filesystem the pod sees, under $t: the mounts are the only
	# writable places
	mkdir -p "$t/run" "$t/state" "$t/tmp" "$t/secret/..2026_01_01_00_00_00.1"
	chmod 0755 "$t/state"
	head -c 24 /dev/urandom | base64 | tr -d '\n/+=' >"$t/secret/..2026_01_01_00_00_00.1/token"
	chmod 0400 "$t/secret/..2026_01_01_00_00_00.1/token"
	ln -s ..2026_01_01_00_00_00.1 "$t/secret/..data"
	ln -s ..data/token "$t/secret/token"
	# the manifest's capabilities as the bounding set: +bpf,+net_admin,...
	caps=$(manifest_field 'c["securityContext"]["capabilities"]["add"]' | tr 'A-Z' 'a-z' | sed 's/^/+/' | paste -sd,)
	[ -n "$caps" ]
	# its arguments, with the mounts' paths under $t and NODE_IP = A's address
	while IFS= read -r a; do
		a=${a//\/run\/faultline/$t/run}
		a=${a//\/var\/lib\/faultline/$t/state}
		a=${a//\/etc\/faultline/$t/secret}
		a=${a//\$(NODE_IP)/10.200.0.1}
		args+=("$a")
	done < <(manifest_field 'c["args"]')
	while IFS= read -r a; do
		[ "$a" = /usr/local/bin/faultline ] && a=$FAULTLINE
		probe+=("${a//\/run\/faultline/$t/run}")
	done < <(manifest_field 'c["livenessProbe"]["exec"]["command"]')
	grace=$(manifest_field 'spec["terminationGracePeriodSeconds"]')
	echo "# faultlined ${args[*]} (bounding set $caps, no_new_privs, / read-only)"
	# a private mount namespace: the mounted directories stay writable, the
	# rest of / becomes read-only
	unshare -m --propagation private sh -c '
		t=$1; shift
		for d in "$t/run" "$t/state" "$t/tmp"; do mount --bind "$d" "$d"; done
		mount -o remount,bind,ro / || exit 99
		exec nsenter --net="/run/netns/$0" "$@"' "$FL_NS_A" "$t" \
		setpriv --no-new-privs --bounding-set "-all,$caps" "$FAULTLINED" "${args[@]}" \
		2>"$t/d.log" &
	pid=$!
	FL_PIDS+=("$pid")
	for _ in $(seq 100); do
		"${probe[@]}" >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$t/d.log"
	# the liveness probe's command succeeds
	run "${probe[@]}"
	echo "$output"
	assert_success
	# the root really was read-only for it
	if [ -r "/proc/$pid/mountinfo" ]; then
		awk '$5 == "/" { print $6 }' "/proc/$pid/mountinfo" | grep -q '^ro'
	fi
	# TCP on NODE_IP: 401 without the token, 200 with it
	code=$(ns_a curl -s -o /dev/null -w '%{http_code}' http://10.200.0.1:7070/v1/health)
	[ "$code" = 401 ]
	run ns_a curl -sf -H "Authorization: Bearer $(cat "$t/secret/token")" http://10.200.0.1:7070/v1/health
	assert_success
	[ "$(jq -r .status <<<"$output")" = ok ]
	# an experiment applies with only these capabilities: ICMP from A delayed 30 ms
	id=$(printf 'version: 1\nname: ds\nduration: 30s\ntargets:\n  b: {dev: va, protocol: icmp}\nfaults:\n  - {target: b, delay: 30ms}\n' |
		curl -sf --unix-socket "$t/run/faultlined.sock" -X POST -H 'Content-Type: application/yaml' \
			--data-binary @- http://localhost/v1/experiments | jq -r .id)
	[[ "$id" == e-* ]]
	for _ in $(seq 50); do
		[ "$(curl -s --unix-socket "$t/run/faultlined.sock" "http://localhost/v1/experiments/$id" | jq -r .state)" = running ] && break
		sleep 0.1
	done
	sleep 0.3
	rtt=$(ns_a ping -c 5 -i 0.1 -q 10.200.0.2 | awk -F/ '/^rtt/ {print $5}')
	echo "# ping avg rtt with delay 30ms, as the DaemonSet runs the daemon: $rtt ms"
	awk -v r="$rtt" 'BEGIN { exit !(r >= 29.5 && r < 45) }'
	# SIGTERM (what the kubelet sends) rolls back and exits 0 within the grace period
	local t0=$SECONDS
	kill -TERM "$pid"
	fl_wait_exit "$pid" "$grace"
	echo "# stopped in $((SECONDS - t0)) s (grace ${grace} s), exit $FL_EXIT"
	[ "$FL_EXIT" -eq 0 ]
	rtt=$(ns_a ping -c 3 -i 0.1 -q 10.200.0.2 | awk -F/ '/^rtt/ {print $5}')
	awk -v r="$rtt" 'BEGIN { exit !(r < 5) }'
	! grep -qi 'permission denied\|operation not permitted\|read-only file system' "$t/d.log"
}
