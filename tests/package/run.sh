#!/usr/bin/env bash
# Package tests (root, Debian 12): build the .deb, lintian, install it with dpkg -i, run the
# installed binary and man pages, check the unit, upgrade to a second build with a bumped
# version (a local edit of the conffile must survive) and purge (everything it installed
# must be gone). Prints `package: N passed, N failed`; exits non-zero on a failure.
#
# The install never starts rssppd.service: the package enables the unit but does not start
# it (dh_installsystemd --no-start), its snippets act only when systemd runs as PID 1, and
# this script keeps a policy-rc.d that refuses every start for its whole run.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/opt/swift/usr/bin" DEBIAN_FRONTEND=noninteractive
started=$(date +%s)
passed=0
failed=0
ok() { echo "package: ok   $1"; passed=$((passed + 1)); }
bad() { echo "package: FAIL $1" >&2; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() {
    echo "package: $passed passed, $failed failed ($(($(date +%s) - started)) s)"
    [ "$failed" -eq 0 ]
    exit
}

if [ "$(id -u)" -ne 0 ]; then bad "must run as root (dpkg -i)"; finish; fi
if dpkg-query -W -f='${Status}' rssppd 2>/dev/null | grep -q "ok installed"; then
    bad "rssppd is already installed on this machine; not touching it"; finish
fi

work=$(mktemp -d /tmp/rssppd-pkgtest.XXXXXX)
policy=/usr/sbin/policy-rc.d
own_policy=false
installed=false
cleanup() {
    if $installed; then dpkg --purge rssppd >/dev/null 2>&1 || true; fi
    if $own_policy; then rm -f "$policy"; fi
    rm -rf "$work"
}
trap cleanup EXIT
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# rssppd package test: start no service.\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=true
fi

# Files under the paths a package can touch, to compare before install and after purge.
snapshot() { find /etc /usr /lib /var/lib/systemd -xdev 2>/dev/null | LC_ALL=C sort; }

# 1. Build.
t0=$(date +%s)
if ! make deb >"$work/build1.log" 2>&1; then
    tail -40 "$work/build1.log" >&2
    bad "make deb"; finish
fi
ok "make deb ($(($(date +%s) - t0)) s)"
deb=$(ls .build-deb/rssppd_*.deb | grep -v dbgsym | head -1)
version=$(dpkg-deb -f "$deb" Version)
upstream=${version%-*}
echo "package: $deb $(stat -c %s "$deb") bytes, installed size $(dpkg-deb -f "$deb" Installed-Size) KiB"
echo "package: Depends: $(dpkg-deb -f "$deb" Depends)"
check "Depends has no Swift runtime" bash -c "! dpkg-deb -f '$deb' Depends | grep -qi swift"
check "binary needs no library outside Debian" bash -c \
    "dpkg-deb -x '$deb' '$work/x' && ! ldd '$work/x/usr/sbin/rssppd' | grep -E 'not found|/opt/swift|libswift'"

# 2. lintian: no errors; every warning is explained in packaging/README.md.
lintian --fail-on error "$deb" >"$work/lintian.txt" 2>&1
lintian_rc=$?
sed 's/^/lintian: /' "$work/lintian.txt"
check "lintian: no errors" test "$lintian_rc" -eq 0
unexplained=$(grep -E '^[EW]: ' "$work/lintian.txt" | awk '{print $3}' | sort -u |
    while read -r tag; do grep -q -- "$tag" packaging/README.md || echo "$tag"; done)
check "lintian: every warning explained in packaging/README.md${unexplained:+ (not: $unexplained)}" test -z "$unexplained"

# 3. Install.
snapshot >"$work/before"
if dpkg -i "$deb" >"$work/install1.log" 2>&1; then
    installed=true; ok "dpkg -i $version"
else
    cat "$work/install1.log" >&2; bad "dpkg -i $version"; finish
fi
check "rssppd --version prints $upstream" bash -c "rssppd --version | grep -qx '$upstream'"
check "rssppd check-config /etc/rssppd/rssppd.conf" rssppd check-config /etc/rssppd/rssppd.conf
# The unit's ExecCondition: the shipped file names no interface -> 1 (skip the start, no
# failure); a broken file -> 255 (the start fails).
check "ExecCondition skips the start for the shipped file (exit 1)" bash -c \
    "rssppd check-config --exec-condition /etc/rssppd/rssppd.conf >/dev/null; test \$? -eq 1"
printf 'interfaces: [\n' >"$work/broken.conf"
check "ExecCondition fails the start for a broken file (exit 255)" bash -c \
    "rssppd check-config --exec-condition '$work/broken.conf' 2>/dev/null; test \$? -eq 255"
check "man -l rssppd.8 renders" bash -c \
    "man -l /usr/share/man/man8/rssppd.8.gz 2>/dev/null | grep -q 'load-aware receive side scaling'"
check "man -l rssppd.conf.5 renders" bash -c \
    "man -l /usr/share/man/man5/rssppd.conf.5.gz 2>/dev/null | grep -q 'hash-source'"
check "man rssppd.conf finds the page" bash -c "man -w rssppd.conf | grep -q man5/rssppd.conf.5"
check "conffile registered" bash -c "dpkg-query -W -f='\${Conffiles}' rssppd | grep -q /etc/rssppd/rssppd.conf"
check "Grafana dashboard installed" python3 -m json.tool /usr/share/rssppd/grafana/rssppd-dashboard.json /dev/null

# 4. The unit: verified, scored, enabled, never started by the install.
unit=/lib/systemd/system/rssppd.service
check "systemd-analyze verify" bash -c "systemd-analyze verify '$unit' >'$work/verify.txt' 2>&1 && ! test -s '$work/verify.txt'"
sed 's/^/verify: /' "$work/verify.txt"
if systemd-analyze security --offline=yes "$unit" >"$work/security.txt" 2>&1; then :; fi
score=$(sed -n 's/.*Overall exposure level for rssppd.service: \([0-9.]*\).*/\1/p' "$work/security.txt")
echo "package: systemd-analyze security exposure: ${score:-?}"
check "exposure score <= 2.5" awk -v s="${score:-10}" 'BEGIN { exit !(s <= 2.5) }'
check "unit enabled (multi-user.target.wants)" test -L /etc/systemd/system/multi-user.target.wants/rssppd.service
check "postinst never starts the unit on install" bash -c \
    "! grep -Eq 'deb-systemd-invoke (start|restart)' /var/lib/dpkg/info/rssppd.postinst"
check "prerm stops the unit on remove" grep -q 'deb-systemd-invoke stop rssppd.service' /var/lib/dpkg/info/rssppd.prerm

# 5. Upgrade to a second build with a bumped version: a local edit of the conffile survives.
edit="# local edit by tests/package/run.sh $$"
echo "$edit" >>/etc/rssppd/rssppd.conf
t0=$(date +%s)
if make deb DEB_VERSION="$version+pkgtest1" >"$work/build2.log" 2>&1; then
    ok "make deb DEB_VERSION=$version+pkgtest1 ($(($(date +%s) - t0)) s)"
    deb2=$(ls .build-deb/rssppd_*pkgtest1*.deb | grep -v dbgsym | head -1)
    check "dpkg -i $version+pkgtest1 (upgrade)" bash -c "dpkg --force-confold -i '$deb2' >'$work/install2.log' 2>&1"
    check "upgraded version installed" bash -c "dpkg-query -W -f='\${Version}' rssppd | grep -qx '$version+pkgtest1'"
    check "conffile edit survived the upgrade" grep -qxF "$edit" /etc/rssppd/rssppd.conf
else
    tail -40 "$work/build2.log" >&2; bad "make deb DEB_VERSION=$version+pkgtest1"
fi

# 6. Purge removes everything it installed.
dpkg-query -L rssppd >"$work/files"
if dpkg --purge rssppd >"$work/purge.log" 2>&1; then
    installed=false; ok "dpkg --purge"
else
    cat "$work/purge.log" >&2; bad "dpkg --purge"
fi
# Directories (and /lib, a link to one on merged-/usr systems) are shared with other packages.
left=$(while read -r f; do
    if [ ! -d "$f" ] && { [ -e "$f" ] || [ -L "$f" ]; }; then echo "$f"; fi
done <"$work/files")
check "purge removed every installed file${left:+ (left: $left)}" test -z "$left"
check "purge removed /etc/rssppd" test ! -e /etc/rssppd
snapshot >"$work/after"
diffs=$(LC_ALL=C comm -3 "$work/before" "$work/after" | grep -i rssppd)
check "no rssppd path differs from before install${diffs:+ ($diffs)}" test -z "$diffs"

finish
