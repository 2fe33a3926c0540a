#!/bin/sh
# /init of the test guest (busybox sh). Brings up eth0 (virtio-net with RSS), then runs
# /guest-test.sh, whose report goes to the serial console for tests/guest/verify.py, and powers
# off. Everything it prints that the host reads starts with a tag (GUEST, SET, BEGIN/END, QMCAP,
# NTF, ERRCASE).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /tmp /run && mount -t tmpfs tmpfs /tmp

arg() { sed -n "s/.*rsspp\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }

echo "GUEST boot uname=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo) uptime=$(cut -d' ' -f1 /proc/uptime)"
for m in $(arg modules | tr , ' '); do
    insmod "/lib/modules/$m.ko" || echo "GUEST insmod-failed $m"
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do i=$((i + 1)); usleep 100000; done
if [ ! -e /sys/class/net/eth0 ]; then
    echo "GUEST fatal no eth0"
else
    ip link set lo up
    ip link set eth0 up
    ip addr add "$(arg guest)/24" dev eth0
    sh /guest-test.sh
fi
echo "GUEST done uptime=$(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
