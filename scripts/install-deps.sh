#!/usr/bin/env bash
# Install what faultline needs on Debian 12 (bookworm), as root; idempotent.
# Packages already present are skipped, so a second run asks apt nothing.
# Also mounts bpffs at /sys/fs/bpf when it is missing.
set -euo pipefail

PKGS=(
	# build
	make gcc clang llvm bpftool pkg-config libbpf-dev libelf-dev zlib1g-dev linux-libc-dev
	libcjson-dev libyaml-dev libnl-3-dev libnl-route-3-dev
	libmnl-dev libnftnl-dev libnetfilter-queue-dev libcurl4-openssl-dev libsqlite3-dev libmicrohttpd-dev clang-format
	libcap-ng-dev
	# man pages (docs/*.[158].md -> pandoc)
	pandoc man-db groff-base
	# tests and demo
	libcmocka-dev bats bats-assert bats-support iproute2 iputils-ping iperf3 nftables iptables
	jq procps python3 curl redis-server nginx-light python3-jsonschema python3-prometheus-client libxml2-utils sqlite3 dnsmasq-base
	yamllint socat libcap2-bin
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (sudo make deps)" >&2
	exit 1
fi

missing=()
for p in "${PKGS[@]}"; do
	case "$p" in \#*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! grep -qs ' /sys/fs/bpf bpf ' /proc/mounts; then
	mkdir -p /sys/fs/bpf
	mount -t bpf bpf /sys/fs/bpf
	echo "install-deps: mounted bpffs at /sys/fs/bpf"
fi
