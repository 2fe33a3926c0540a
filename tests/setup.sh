#!/usr/bin/env bash
# Installs what building and testing rssppd needs on Debian 12 (run as root). Idempotent.
set -euo pipefail

packages=(
    # build: BPF objects and the system libraries the design names
    clang llvm libbpf-dev libelf-dev zlib1g-dev libnl-genl-3-dev libnl-3-dev bpftool make pkg-config
    # tests: netns/veth, Debian's ethtool to cross-check, the QEMU guest with a real RSS NIC
    iproute2 ethtool busybox-static qemu-system-x86 cpio xz-utils kmod
    gcc libc6-dev python3  # the guest's static C helpers (tests/guest) and its sender/verifier
    debhelper scdoc lintian  # the Debian package (tests/package)
    prometheus  # its promtool checks a real scrape of the daemon's /metrics (RssppDaemonTests)
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null && [ ! -x /opt/swift/usr/bin/swift ]; then
    echo "setup: no Swift toolchain (expected swift on PATH or in /opt/swift)" >&2
    exit 1
fi
echo "setup: ok"
