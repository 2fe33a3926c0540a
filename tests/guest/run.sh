#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The table tests on a real RSS NIC: QEMU's virtio-net (rss=on) in a TCG guest, one run per
# Debian kernel (bookworm 6.1: ioctl path; trixie-backports 7.3 cloud: netlink RSS_SET + RSS_NTF).
# Run as root from anywhere: tests/guest/run.sh [6.1] [7.3]   (default: both)
# Env: GUEST_KEEP=1 keeps the work directory; RSSPPD_BIN=path uses a prebuilt rssppd;
# GUEST_TIMEOUT_S bounds one guest run (default 420: ~2 min is typical, more on a busy host);
# GUEST_DAEMON_HASH picks the daemon phase's hash-source (default tc; xdp shows the QEMU issue
# described in README.md).
# Prints one PASS/FAIL line per check and ends with `guest: N passed, N failed`.
# See tests/guest/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=$HERE/.cache
export PATH="$PATH:/opt/swift/usr/bin"
KERNELS=("$@")
((${#KERNELS[@]})) || KERNELS=(6.1 7.3)

# Names unique to this run: namespace, tap, work directory. Addresses live only in the namespace.
NS=rsspp-guest-$$
TAP=rgtap$$
HOST_IP=10.77.0.1 GUEST_IP=10.77.0.2 CTRL=7000 DPORT=7777 BASE=20000 FLOWS=2048
WORK=$(mktemp -d /tmp/rsspp-guest.XXXXXX)
SENDER_PID="" QEMU_PID=""

cleanup() {
    [ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null || true
    [ -n "$SENDER_PID" ] && kill "$SENDER_PID" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    if [ "${GUEST_KEEP:-0}" = 1 ]; then echo "guest: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "guest: $*"; }
die() { echo "guest: $*" >&2; echo "guest: 0 passed, 1 failed"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" = 0 ] || die "must run as root (namespaces, tap, QEMU)"
for tool in qemu-system-x86_64 busybox ethtool cpio gcc python3 apt-get dpkg-deb xz ip swiftc; do
    command -v "$tool" >/dev/null || die "missing $tool (run tests/setup.sh)"
done
[ -e /dev/net/tun ] || die "no /dev/net/tun"
mkdir -p "$CACHE/debs" "$CACHE/kernels" "$CACHE/logs"

# --- Kernel packages, downloaded by name into the cache (never installed) ---------------------

# fetch PACKAGE: the .deb path, verified by name, version and the archive's SHA256; a cached
# file that fails the check is downloaded again. APT_OPTS: extra apt options (a private state).
APT_OPTS=()
fetch() {
    local -a opts=("${APT_OPTS[@]}")
    local pkg=$1 version sha file
    version=$(apt-cache "${opts[@]}" show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
    sha=$(apt-cache "${opts[@]}" show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^SHA256: //p' | head -n 1)
    [ -n "$version" ] && [ -n "$sha" ] || { echo "no package $pkg in the archive" >&2; return 1; }
    file="$CACHE/debs/${pkg}_${version//:/%3a}_amd64.deb"
    if [ -f "$file" ] && echo "$sha  $file" | sha256sum -c --status; then
        echo "$file"
        return 0
    fi
    [ -f "$file" ] && echo "guest: cached $file is corrupt, downloading again" >&2
    rm -f "$file"
    local tmp
    tmp=$(mktemp -d "$CACHE/debs/dl.XXXXXX")
    (cd "$tmp" && apt-get "${opts[@]}" -o APT::Sandbox::User=root -qq download "$pkg=$version" >&2) || { rm -rf "$tmp"; return 1; }
    local got=("$tmp"/*.deb)
    echo "$sha  ${got[0]}" | sha256sum -c --status || { rm -rf "$tmp"; echo "checksum mismatch for $pkg" >&2; return 1; }
    [ "$(dpkg-deb -f "${got[0]}" Package)" = "$pkg" ] && [ "$(dpkg-deb -f "${got[0]}" Version)" = "$version" ] ||
        { rm -rf "$tmp"; echo "$pkg: the .deb names another package or version" >&2; return 1; }
    mv "${got[0]}" "$file"
    rm -rf "$tmp"
    echo "$file"
}

# Trixie-backports through a private apt state: the system's sources are never touched.
use_trixie() { # sets APT_OPTS
    local dir=$CACHE/apt-trixie
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
    local mirror
    mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p; s/^deb \[[^]]*\] \(http[^ ]*\/debian\) .*/\1/p; s/^deb \(http[^ ]*\/debian\) .*/\1/p' \
        /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | head -n 1)
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror:-http://deb.debian.org/debian} trixie-backports main" \
        >"$dir/sources.list"
    APT_OPTS=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$dir/lists"
        -o "Dir::Cache=$dir/cache" -o Dir::State::status=/dev/null -o APT::Architecture=amd64)
}

# prepare_kernel KERNEL: sets KVER, VMLINUZ, MODDIR (decompressed .ko files), MODULES, NTF.
prepare_kernel() {
    local debs=() out
    case $1 in
    6.1)
        local pkg
        pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | cut -d' ' -f1 | sort -V | tail -n 1)
        [ -n "$pkg" ] || { echo "no linux-image-6.1.0-*-amd64 in apt-cache" >&2; return 1; }
        APT_OPTS=()
        debs=("$(fetch "$pkg")") || return 1
        MODULES=virtio_ring,virtio,virtio_pci_modern_dev,virtio_pci_legacy_dev,virtio_pci,failover,net_failover,virtio_net
        NTF=0
        ;;
    7.3)
        use_trixie
        apt-get "${APT_OPTS[@]}" -qq update >&2 || echo "guest: apt-get update for trixie-backports failed, using the cache" >&2
        # linux-image-7.3.4+deb13-cloud-amd64 is a metapackage over these two.
        debs=("$(fetch linux-binary-7.3.4+deb13-cloud-amd64)") || return 1
        debs+=("$(fetch linux-modules-7.3.4+deb13-cloud-amd64)") || return 1
        MODULES=failover,net_failover,virtio_net
        NTF=1
        ;;
    *) echo "unknown kernel '$1' (known: 6.1 7.3)" >&2; return 1 ;;
    esac
    out=$CACHE/kernels/$(basename "${debs[0]}" .deb)
    if [ ! -f "$out/.complete" ]; then
        rm -rf "$out" && mkdir -p "$out/tree" "$out/modules"
        # Only the kernel and the modules the guest loads (the 6.1 package unpacks to 400 MB).
        local d m f patterns=('*/vmlinuz*')
        for m in ${MODULES//,/ }; do patterns+=("*/$m.ko" "*/$m.ko.xz"); done
        for d in "${debs[@]}"; do
            # tar complains about the patterns a package does not match; what is missing is
            # checked right after.
            dpkg-deb --fsys-tarfile "$d" | tar -x -C "$out/tree" --wildcards "${patterns[@]}" 2>/dev/null || true
        done
        for m in ${MODULES//,/ }; do
            f=$(find "$out/tree" -name "$m.ko" -o -name "$m.ko.xz" | head -n 1)
            [ -n "$f" ] || { echo "module $m not in the package" >&2; return 1; }
            case $f in *.xz) xz -dc "$f" >"$out/modules/$m.ko" ;; *) cp "$f" "$out/modules/$m.ko" ;; esac
        done
        touch "$out/.complete"
    fi
    VMLINUZ=$(find "$out/tree" \( -name 'vmlinuz-*' -o -name vmlinuz \) -type f | head -n 1)
    [ -n "$VMLINUZ" ] || { echo "no vmlinuz in the package" >&2; return 1; }
    MODDIR=$out/modules
    KVER=$(find "$out/tree" -name '*.ko*' | head -n 1 | sed -n 's|.*/modules/\([^/]*\)/kernel/.*|\1|p')
}

# --- Helpers: capture and notification tools, the predictor, rssppd -----------------------------

t0=$(now)
mkdir -p "$WORK/bin"
gcc -static -O2 -Wall -Wextra -Werror -o "$WORK/bin/qmcap" "$HERE/qmcap.c"
gcc -static -O2 -Wall -Wextra -Werror -o "$WORK/bin/rssntf" "$HERE/rssntf.c"
gcc -static -O2 -Wall -Wextra -Werror -o "$WORK/bin/flowrx" "$HERE/flowrx.c"
# rssppd's own Toeplitz and table, compiled straight from RssppCore's sources into one tool.
core=()
for c in Toeplitz FlowTuple IndirectionTable RssppError; do core+=("$ROOT/Sources/RssppCore/$c.swift"); done
swiftc -O -module-name GuestPredict -o "$WORK/predict" "${core[@]}" "$HERE/predict/main.swift" ||
    die "cannot build the predictor from RssppCore's sources"
build_failed=0
if [ -n "${RSSPPD_BIN:-}" ]; then
    RSSPPD=$RSSPPD_BIN
else
    RSSPPD=$ROOT/.build-guest/release/rssppd
    # The BPF objects are embedded at compile time (#embed); without them the daemon phase fails
    # ("no hash source works"), which is where a failure here shows.
    make -C "$ROOT/bpf" >"$WORK/bpf.log" 2>&1 || sed 's/^/guest: make -C bpf failed: /' "$WORK/bpf.log" | tail -n 5
    # Two tries: a parallel edit of a source file aborts a build ("modified during the build").
    for _ in 1 2; do
        if (cd "$ROOT" && swift build -c release --static-swift-stdlib --product rssppd \
            --scratch-path .build-guest >"$WORK/build.log" 2>&1); then
            build_failed=0
            break
        fi
        build_failed=1
        grep -E 'error' "$WORK/build.log" | head -n 5 | sed 's/^/guest: build: /'
    done
fi
python3 "$HERE/verify.py" tables "$WORK/tables"
# The daemon phase's skewed stream: heavy flows that share queue 0 under the default spread and
# the hkey phase's key, picked with rssppd's own Toeplitz.
MIX=$(python3 "$HERE/verify.py" mix "$WORK/tables" "$WORK/predict") || die "cannot pick the daemon phase's flow mix"
log "daemon phase mix (base,flows,heavy pps,light pps,heavy flows): $MIX"
log "helpers built in $(since "$t0") s"

# --- Initramfs ----------------------------------------------------------------------------------

# copy_with_libs BIN DEST ROOTFS: the binary and every shared library ldd names, at their paths.
copy_with_libs() {
    install -D -m 0755 "$1" "$3/$2"
    strip "$3/$2" 2>/dev/null || true
    local lib
    for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*'); do
        [ -e "$3$lib" ] || install -D -m 0755 "$lib" "$3$lib"
    done
}

build_initramfs() { # KERNEL -> $WORK/initrd-KERNEL.cpio.gz
    local fs=$WORK/rootfs-$1
    rm -rf "$fs" && mkdir -p "$fs"/{bin,sbin,proc,sys,dev,tmp,lib/modules,tables}
    cp /bin/busybox "$fs/bin/busybox"
    local applet
    for applet in $(busybox --list); do
        # Every applet but `busybox` itself (a link named busybox makes /init fail with -40).
        [ "$applet" = busybox ] || [ -e "$fs/bin/$applet" ] || ln -s busybox "$fs/bin/$applet"
    done
    rm -f "$fs/bin/ethtool"
    copy_with_libs "$(command -v ethtool)" sbin/ethtool "$fs"
    [ "$build_failed" = 1 ] || copy_with_libs "$RSSPPD" bin/rssppd "$fs"
    cp "$WORK/bin/qmcap" "$WORK/bin/rssntf" "$WORK/bin/flowrx" "$fs/bin/"
    cp "$MODDIR"/*.ko "$fs/lib/modules/"
    cp "$WORK/tables"/* "$fs/tables/"
    install -m 0755 "$HERE/init.sh" "$fs/init"
    install -m 0755 "$HERE/guest-test.sh" "$fs/guest-test.sh"
    (cd "$fs" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd-$1.cpio.gz"
}

# --- One guest run ------------------------------------------------------------------------------

setup_netns() {
    ip netns del "$NS" 2>/dev/null || true
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    ip -n "$NS" tuntap add dev "$TAP" mode tap multi_queue
    ip -n "$NS" addr add "$HOST_IP/24" dev "$TAP"
    ip -n "$NS" link set "$TAP" up
    ip netns exec "$NS" python3 "$HERE/sender.py" "$HOST_IP" "$GUEST_IP" "$CTRL" "$DPORT" 2>"$WORK/sender.log" &
    SENDER_PID=$!
}

teardown_netns() {
    [ -n "$SENDER_PID" ] && kill "$SENDER_PID" 2>/dev/null && wait "$SENDER_PID" 2>/dev/null || true
    SENDER_PID=""
    ip netns del "$NS" 2>/dev/null || true
}

boot_guest() { # KERNEL LOG: boots the guest and waits for it to power off (GUEST_TIMEOUT_S)
    local cmdline="console=ttyS0 loglevel=4 panic=-1 rsspp.modules=$MODULES rsspp.host=$HOST_IP"
    cmdline+=" rsspp.guest=$GUEST_IP rsspp.ctrl=$CTRL rsspp.dport=$DPORT rsspp.base=$BASE rsspp.flows=$FLOWS rsspp.ntf=$NTF rsspp.capture=${GUEST_CAPTURE_S:-20} rsspp.mix=$MIX rsspp.dhash=${GUEST_DAEMON_HASH:-tc}"
    # Single-threaded TCG: Debian's kernels sometimes oops under multi-threaded TCG (code patching).
    ip netns exec "$NS" timeout "${GUEST_TIMEOUT_S:-420}" qemu-system-x86_64 -accel tcg,thread=single -smp 4 -m 512 \
        -nodefaults -display none -no-reboot -serial "file:$2" \
        -kernel "$VMLINUZ" -initrd "$WORK/initrd-$1.cpio.gz" -append "$cmdline" \
        -netdev "tap,id=n0,ifname=$TAP,queues=4,script=no,downscript=no,vhost=off" \
        -device virtio-net-pci,netdev=n0,mq=on,vectors=10,rss=on,hash=on,rx_queue_size=1024 \
        >"$WORK/qemu.out" 2>&1 &
    QEMU_PID=$!
    local rc=0
    wait "$QEMU_PID" || rc=$?
    QEMU_PID=""
    # QEMU 7.2 cannot load its eBPF RSS program with libbpf 1.x and says so through libbpf; it
    # falls back to its software RSS, which is what these tests exercise. Anything else is shown.
    grep -v -e 'eBPF RSS' -e 'RSS steering' -e '^libbpf: ' "$WORK/qemu.out" | sed 's/^/guest: qemu: /' || true
    return $rc
}

total_passed=0 total_failed=0 flakes=()
for kernel in "${KERNELS[@]}"; do
    log "=== kernel $kernel ==="
    t0=$(now)
    if ! prepare_kernel "$kernel"; then
        log "FAIL [$kernel] could not get the kernel package"
        total_failed=$((total_failed + 1))
        continue
    fi
    t_kernel=$(since "$t0")
    log "kernel $KVER ready in $t_kernel s ($(basename "$VMLINUZ"))"
    t0=$(now)
    build_initramfs "$kernel"
    t_initrd=$(since "$t0")
    log "initramfs built in $t_initrd s ($(du -h "$WORK/initrd-$kernel.cpio.gz" | cut -f1))"
    rm -f "$CACHE/logs/$kernel-attempt"*.log
    verdict=1 first_failures=""
    for attempt in 1 2; do
        console=$CACHE/logs/$kernel-attempt$attempt.log
        rm -f "$console"
        setup_netns
        t0=$(now)
        qrc=0
        boot_guest "$kernel" "$console" || qrc=$?
        took=$(since "$t0")
        teardown_netns
        [ "$qrc" = 0 ] || log "qemu exited with $qrc (124: killed after ${GUEST_TIMEOUT_S:-420} s;" \
            "host load average $(cut -d' ' -f1-3 /proc/loadavg))"
        booted=$(sed -n 's/^GUEST boot .*uptime=\([0-9.]*\).*/\1/p' "$console" | head -n 1)
        done_at=$(sed -n 's/^GUEST done uptime=\([0-9.]*\).*/\1/p' "$console" | head -n 1)
        log "guest run took $took s wall; guest clock: /init at ${booted:-?} s, tests done at ${done_at:-?} s; console: $console"
        verdict=0
        python3 "$HERE/verify.py" check "$console" "$WORK/tables" "$WORK/predict" "$kernel" "$NTF" \
            >"$WORK/verdict" || verdict=$?
        cat "$WORK/verdict"
        [ "$verdict" = 0 ] && break
        if [ "$attempt" = 1 ]; then
            first_failures=$(grep -c '^FAIL' "$WORK/verdict" || true)
            log "RETRY [$kernel]: attempt 1 failed ($first_failures checks), booting once more"
        fi
    done
    log "times [$kernel]: kernel package ${t_kernel} s, initramfs ${t_initrd} s, guest run ${took} s" \
        "(boot to /init ${booted:-?} s, tests $(awk -v a="${booted:-0}" -v b="${done_at:-0}" 'BEGIN { printf "%.1f", b - a }') s, guest clock)"
    if [ "$verdict" = 0 ] && [ -n "$first_failures" ]; then
        flakes+=("$kernel")
        log "FLAKY [$kernel]: attempt 1 failed $first_failures checks, attempt 2 passed; see $CACHE/logs/$kernel-attempt1.log"
    fi
    result=$(sed -n 's/^RESULT passed=\([0-9]*\) failed=\([0-9]*\)$/\1 \2/p' "$WORK/verdict")
    [ -n "$result" ] || { log "FAIL [$kernel] verify.py gave no result"; result="0 1"; }
    total_passed=$((total_passed + ${result%% *}))
    total_failed=$((total_failed + ${result##* }))
done
[ "$build_failed" = 1 ] && { log "FAIL rssppd did not build (release, static Swift stdlib)"; total_failed=$((total_failed + 1)); }
((${#flakes[@]})) && log "WARNING: flaky guest runs (passed on retry): ${flakes[*]}"
echo "guest: $total_passed passed, $total_failed failed"
[ "$total_failed" = 0 ]
