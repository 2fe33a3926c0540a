#!/bin/sh
# The table tests, run inside the guest by /init (busybox sh). It only acts and reports; the host
# (tests/guest/verify.py) decides pass or fail from the console log:
#   SET phase=P tool=T rc=N       a table write, its output between BEGIN/END set-out P
#   BEGIN/END ethtool-x P         Debian's `ethtool -x eth0` (ioctl) after the write
#   BEGIN/END rssppd-show P       `rssppd table show eth0` (and rssppd-json: with --json)
#   QMCAP phase=N ... map=...     the queue each test flow landed on (tests/guest/qmcap.c)
#   NTFCOUNT phase=P count=N      RSS_NTF messages seen after the write (tests/guest/rssntf.c)
#   ERRCASE name=E rc=N unchanged=yes|no lines=N msg=...   a bad request and its outcome
#   DAEMON event=E t=... k=v ...  the daemon phase (`rssppd run` on eth0), see daemon_phase
arg() { sed -n "s/.*rsspp\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
HOST=$(arg host)
CTRL=$(arg ctrl)
DPORT=$(arg dport)
BASE=$(arg base)
FLOWS=$(arg flows)
EXPECT_NTF=$(arg ntf)
CAPTURE_S=$(arg capture)
MIX=$(arg mix)
DAEMON_HASH=$(arg dhash)
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

# --- The daemon phase: `rssppd run` balancing eth0 under a skewed stream ----------------------
# Load signal: packets (`load: packets`): the guest's vCPUs are emulated by TCG, so their NET_RX
# time says more about the emulator than about the packets; each queue's load is its share of
# eth0's packets. Every wait below polls for a condition with a deadline.

mval() { # NAME [LABEL-SUBSTRING] FILE: the first sample of a metric in a scrape
    sed -n "s/^$1{\([^}]*\)} \(.*\)$/\1 \2/p" "$3" | grep -F -e "$2" | head -n 1 | sed 's/.* //' | cut -d. -f1
}
# (busybox 1.35's `wget -T` crashes with SIGSEGV before connecting: bound it with timeout.)
scrape() { timeout 5 wget -q -O "$1" http://127.0.0.1:9715/metrics 2>/dev/null; }
epochs_now() { scrape /tmp/m.poll && mval rsspp_epochs_total 'interface="eth0"' /tmp/m.poll; }
alive() { [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat")" != Z ]; }
# until_true DEADLINE-TENTHS CMD...: runs CMD every 0.1 s until it succeeds; 1 at the deadline.
until_true() {
    u_n=$1
    shift
    while ! "$@"; do
        u_n=$((u_n - 1))
        [ "$u_n" -gt 0 ] || return 1
        usleep 100000
    done
}
windows_at_least() { [ "$(grep -c '^FLOWRX-WIN' /tmp/flowrx.out)" -ge "$1" ]; }
epochs_at_least() { e_now=$(epochs_now); [ -n "$e_now" ] && [ "$e_now" -ge "$1" ]; }
log_has() { grep -q -e "$1" /tmp/rssppd.log; }
dead() { ! alive "$1"; }
up_or_dead() { scrape /tmp/m.up || dead "$1"; }

write_conf() { # POLICY
    cat >/etc/rssppd.conf <<CONF
log-level: debug
metrics-address: 127.0.0.1:9715
interfaces:
  eth0:
    cores: 0-3
    policy: $1
    load: packets
    hash-source: ${DAEMON_HASH:-tc}
    imbalance-threshold: $DAEMON_THRESHOLD
    epoch-min: 0.25
    epoch-max: 0.5
    restore-on-exit: true
CONF
}

daemon_phase() {
    if [ "$EXPECT_NTF" != 1 ]; then
        # 6.1 has no netlink RSS_SET: the daemon would use the ioctl path, which the table
        # phases cover; the daemon phase runs on 7.3 only.
        echo "SKIP phase=daemon reason=daemon-phase-runs-on-the-netlink-kernel-only"
        return
    fi
    if [ "$RSSPPD" != yes ] || [ -z "$MIX" ]; then
        echo "SKIP phase=daemon reason=rssppd-table-unavailable-or-no-mix"
        return
    fi
    DAEMON_THRESHOLD=0.15
    mkdir -p /etc
    # A known starting table (the default spread) and the key of the hkey phase.
    block set-out daemon rssppd table set eth0 equal 4
    # The NIC's hash in skb->hash, for the tc counting program. Not XDP: attaching or detaching
    # an XDP program on this virtio-net sends VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET (the table is
    # user-configured), on which QEMU turns RSS off until the next table write; after the
    # daemon's exit (restore, then detach) the device no longer followed any table
    # (tests/guest/README.md). rsspp.dhash=xdp (GUEST_DAEMON_HASH=xdp) runs the phase with XDP.
    block rxhash daemon ethtool -K eth0 rxhash on
    block ethtool-x daemon-before ethtool -x eth0
    ntf_before=$(ntf_count)
    write_conf steady
    echo "DAEMON event=config t=$(uptime_s) threshold=$DAEMON_THRESHOLD load=packets policy=steady epoch=0.25-0.5 hash-source=${DAEMON_HASH:-tc} mix=$MIX"
    # The stream: MIX is "base,n,heavy-pps,light-pps,i:j:k" (heavy flow indices).
    m_base=$(echo "$MIX" | cut -d, -f1)
    m_n=$(echo "$MIX" | cut -d, -f2)
    m_hpps=$(echo "$MIX" | cut -d, -f3)
    m_lpps=$(echo "$MIX" | cut -d, -f4)
    m_heavy=$(echo "$MIX" | cut -d, -f5 | tr : ,)
    flowrx eth0 "$QUEUES" "$HOST" "$CTRL" "$DPORT" "$m_base" "$m_n" 99 90 "$m_hpps" "$m_lpps" "$m_heavy" \
        >/tmp/flowrx.out 2>&1 &
    rx_pid=$!
    # 2 s of the static table first (the imbalance before).
    until_true 200 windows_at_least 4 || echo "DAEMON event=no-stream t=$(uptime_s)"
    echo "DAEMON event=start t=$(uptime_s)"
    rssppd run --config /etc/rssppd.conf >/tmp/rssppd.log 2>&1 &
    d_pid=$!
    until_true 600 up_or_dead "$d_pid"
    if scrape /tmp/m.up; then
        echo "DAEMON event=metrics-up t=$(uptime_s) epochs=$(mval rsspp_epochs_total 'interface="eth0"' /tmp/m.up)"
        # Converged within 12 epochs: the window measured is epochs 12 to 24.
        until_true 300 epochs_at_least 12
        scrape /tmp/m.a
        echo "DAEMON event=window-start t=$(uptime_s) epochs=$(mval rsspp_epochs_total 'interface="eth0"' /tmp/m.a)"
        until_true 300 epochs_at_least 24
        scrape /tmp/m.b
        echo "DAEMON event=window-end t=$(uptime_s) epochs=$(mval rsspp_epochs_total 'interface="eth0"' /tmp/m.b)"
        block metrics daemon-a grep -v -e '^#' -e '^rsspp_bucket_packets_total' -e '^rsspp_bucket_core' /tmp/m.a
        block metrics daemon-b grep -v -e '^#' -e '^rsspp_bucket_packets_total' -e '^rsspp_bucket_core' /tmp/m.b
        # SIGHUP with a bad file: rejected, logged, the old configuration stays in force.
        write_conf fastest
        kill -HUP "$d_pid"
        until_true 100 log_has 'configuration rejected'
        echo "DAEMON event=hup-rejected t=$(uptime_s) logged=$(grep -c 'configuration rejected' /tmp/rssppd.log)"
        e_hup=$(epochs_now)
        until_true 100 epochs_at_least $((${e_hup:-0} + 3))
        scrape /tmp/m.c
        echo "DAEMON event=after-hup t=$(uptime_s) alive=$(alive "$d_pid" && echo yes || echo no) epochs-before=${e_hup:-none} epochs=$(mval rsspp_epochs_total 'interface="eth0"' /tmp/m.c)"
        block metrics daemon-c grep -v -e '^#' -e '^rsspp_bucket_packets_total' -e '^rsspp_bucket_core' /tmp/m.c
    else
        echo "DAEMON event=metrics-never-answered t=$(uptime_s) alive=$(alive "$d_pid" && echo yes || echo no)"
    fi
    # SIGTERM: exit 0 promptly, the original table back.
    t_term=$(uptime_s)
    kill -TERM "$d_pid" 2>/dev/null
    until_true 100 dead "$d_pid" || { echo "DAEMON event=sigkill-needed t=$(uptime_s)"; kill -KILL "$d_pid"; }
    t_gone=$(uptime_s)
    wait "$d_pid"
    d_rc=$?
    echo "DAEMON event=exit t=$t_gone rc=$d_rc took=$(awk -v a="$t_term" -v b="$t_gone" 'BEGIN { printf "%.2f", b - a }')"
    block ethtool-x daemon-after ethtool -x eth0
    # Two more windows under the restored table, then the receiver's report.
    w_now=$(grep -c '^FLOWRX-WIN' /tmp/flowrx.out)
    until_true 100 windows_at_least $((w_now + 2))
    kill -TERM "$rx_pid" 2>/dev/null
    until_true 100 dead "$rx_pid" || kill -KILL "$rx_pid"
    wait "$rx_pid"
    block flowrx daemon cat /tmp/flowrx.out
    block rssppd-log daemon cat /tmp/rssppd.log
    block ntf-daemon daemon sh -c "grep '^NTF cmd=50 dev=eth0' /tmp/ntf.log | tail -n +$((ntf_before + 1))"
    echo "DAEMON event=done t=$(uptime_s)"
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

daemon_phase

kill "$ntf_pid" 2>/dev/null
echo "BEGIN ntf-log all"
cat /tmp/ntf.log
echo "END ntf-log all"
