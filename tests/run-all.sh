#!/usr/bin/env bash
# The whole test suite, as CI runs it (as root): setup, build, unit and privileged tests,
# the Debian package, then the QEMU guests with a real RSS NIC. Every stage runs even if an
# earlier one failed; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

bash tests/setup.sh || exit 1
make -C bpf || exit 1          # BPF objects, embedded by Sources/CRssppBPF (#embed)
swift build --build-tests || exit 1

failed=()
# Serially: on a 2-core CI machine, parallel CPU-bound suites (simulations) can hold every
# thread of Swift's cooperative pool for seconds and starve the tests that serve or await
# sockets (metrics endpoint, netns). Serial costs ~20 % more time (19 s vs 16 s here).
swift test --skip-build --no-parallel || failed+=("swift test")
bash tests/package/run.sh || failed+=("package")
# The guest runs the release binary the package build made (same flags, saves a second
# cold release build); without it, run.sh builds its own.
bin="$PWD/.build-deb/swift/release/rssppd"
if [ -x "$bin" ]; then export RSSPPD_BIN="$bin"; fi
bash tests/guest/run.sh || failed+=("guest")

if ((${#failed[@]})); then
    echo "run-all: failed stages: ${failed[*]}" >&2
    exit 1
fi
echo "run-all: every stage passed"
