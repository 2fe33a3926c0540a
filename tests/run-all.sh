#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup, build, unit and privileged tests, guest tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

bash tests/setup.sh
make -C bpf          # BPF objects, embedded by Sources/CRssppBPF (#embed)
swift build --build-tests
swift test --skip-build
bash tests/guest/run.sh   # the real RSS NIC: QEMU guests on Linux 6.1 (ioctl) and 7.3 (netlink)
