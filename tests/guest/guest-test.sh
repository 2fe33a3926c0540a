#!/bin/sh
# The table tests, run inside the guest by /init (busybox sh). It only acts and reports; the host
# (tests/guest/verify.py) decides pass or fail from the console log:
#   SET phase=P tool=T rc=N       a table write, its output between BEGIN/END set-out P
#   BEGIN/END ethtool-x P         Debian's `ethtool -x eth0` (ioctl) after the write
#   BEGIN/END rssppd-show P       `rssppd table show eth0` (and rssppd-json: with --json)
#   QMCAP phase=N ... map=...     the queue each test flow landed on (tests/guest/qmcap.c)
#   NTFCOUNT phase=P count=N      RSS_NTF messages seen after the write (tests/guest/rssntf.c)
#   ERRCASE name=E rc=N unchanged=yes|no lines=N msg=...   a bad request and its outcome
arg() { sed -n "s/.*rsspp\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
HOST=$(arg host)
CTRL=$(arg ctrl)
DPORT=$(arg dport)
BASE=$(arg base)
FLOWS=$(arg flows)
EXPECT_NTF=$(arg ntf)
CAPTURE_S=$(arg capture)
QUEUES=4
phase_no=0

RSSPPD=no
if rssppd table show eth0 >/dev/null 2>&1; then RSSPPD=yes; fi
echo "GUEST rssppd-table=$RSSPPD"

/bin/rssntf >/tmp/ntf.log 2>&1 &
ntf_pid=$!
i=0
while ! grep -q -e LISTENING -e rssntf: /tmp/ntf.log && [ $i -lt 50 ]; do i=$((i + 1)); usleep 100000; done
echo "GUEST ntf-listener $(head -n 1 /tmp/ntf.log)"

# (busybox sh has no local variables: each function uses its own prefix.)
block() { # NAME PHASE CMD...: runs CMD and prints its output between BEGIN/END markers
    b_name=$1 b_phase=$2
    shift 2
    echo "BEGIN $b_name $b_phase"
    "$@" 2>&1
    echo "END $b_name $b_phase rc=$?"
}

uptime_s() { cut -d' ' -f1 /proc/uptime; }

ntf_count() { grep -c '^NTF cmd=50 dev=eth0' /tmp/ntf.log; }

# Waits up to 3 s for a notification newer than $1 (only where the kernel sends them).
ntf_report() {
    n_phase=$1 n_before=$2
    if [ "$EXPECT_NTF" = 1 ]; then
        n_i=0
        while [ "$(ntf_count)" -le "$n_before" ] && [ $n_i -lt 30 ]; do n_i=$((n_i + 1)); usleep 100000; done
    fi
    echo "NTFCOUNT phase=$n_phase count=$(($(ntf_count) - n_before))"
}

# phase NAME TOOL CMD...: write a table with CMD, read it back both ways, send the flows.
phase() {
    name=$1 tool=$2
    shift 2
    phase_no=$((phase_no + 1))
    before=$(ntf_count)
    echo "BEGIN set-out $name"
    "$@" 2>&1
    rc=$?
    echo "END set-out $name"
    echo "SET phase=$name no=$phase_no tool=$tool rc=$rc t=$(uptime_s)"
    ntf_report "$name" "$before"
    block ethtool-x "$name" ethtool -x eth0
    if [ "$RSSPPD" = yes ]; then
        block rssppd-show "$name" rssppd table show eth0
        block rssppd-json "$name" rssppd table show eth0 --json
    fi
    echo "QMCAP-START phase=$name no=$phase_no t=$(uptime_s)"
    if ! qmcap eth0 "$QUEUES" "$HOST" "$CTRL" "$DPORT" "$BASE" "$FLOWS" "$phase_no" "${CAPTURE_S:-20}"; then
        block diag "$name" sh -c 'cat /proc/net/dev; ethtool -S eth0; grep -e Udp: -e Ip: /proc/net/snmp; ip neigh'
    fi
    echo "PHASE-END phase=$name t=$(uptime_s)"
}

# rphase NAME RSSPPD-ARGS...: a write through rssppd; without it, said so and skipped.
rphase() {
    name=$1
    shift
    if [ "$RSSPPD" = yes ]; then
        phase "$name" rssppd rssppd table set "$@"
    else
        echo "SKIP phase=$name reason=rssppd-table-unavailable"
    fi
}

# errcase NAME CMD...: CMD must fail with exit 2, one line on stderr, and leave the table alone.
errcase() {
    name=$1
    shift
    if [ "$RSSPPD" != yes ]; then
        echo "SKIP errcase=$name reason=rssppd-table-unavailable"
        return
    fi
    before=$(ethtool -x eth0 | md5sum)
    "$@" >/tmp/err.out 2>/tmp/err.txt
    rc=$?
    after=$(ethtool -x eth0 | md5sum)
    same=no
    [ "$before" = "$after" ] && same=yes
    echo "ERRCASE name=$name rc=$rc unchanged=$same lines=$(wc -l </tmp/err.txt) msg=$(head -n 1 /tmp/err.txt)"
}

block ethtool-x initial ethtool -x eth0
block ethtool-n initial ethtool -l eth0
# Calibration through Debian's ethtool: everything on one queue, so qmcap's socket -> queue
# mapping is checked before anything else is trusted. (A 6.1 guest only hands the device an RSS
# configuration at the first table write; this is it.)
phase one0 ethtool ethtool -X eth0 weight 1 0 0 0
phase one3 ethtool ethtool -X eth0 weight 0 0 0 1
rphase equal4 eth0 equal 4
rphase weight1234 eth0 weight 1 2 3 4
rphase random1 eth0 file /tables/random1
rphase random2 eth0 file /tables/random2
rphase equal2 eth0 equal 2
phase foreign ethtool ethtool -X eth0 weight 3 1 0 2
rphase ioctl-random3 --path ioctl eth0 file /tables/random3
phase hkey ethtool ethtool -X eth0 hkey "$(cat /tables/hkey)"
rphase default eth0 default

errcase size100 rssppd table set eth0 file /tables/size100
errcase size3 rssppd table set eth0 file /tables/size3
errcase queue4 rssppd table set eth0 file /tables/queue4
errcase equal9 rssppd table set eth0 equal 9
errcase weight-too-many rssppd table set eth0 weight 1 1 1 1 1
errcase nosuchdev rssppd table set nosuch0 equal 2
errcase show-nosuchdev rssppd table show nosuch0
errcase unparsable rssppd table set eth0 file /tables/unparsable
errcase missing-file rssppd table set eth0 file /tables/does-not-exist
[ "$EXPECT_NTF" = 1 ] || errcase netlink-on-old-kernel rssppd table set --path netlink eth0 equal 4

kill "$ntf_pid" 2>/dev/null
echo "BEGIN ntf-log all"
cat /tmp/ntf.log
echo "END ntf-log all"
