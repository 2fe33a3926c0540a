#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Host side of the guest test: sends rounds of UDP test flows to the guest on request.

Runs inside the test's network namespace. The guest's qmcap asks with a datagram
"ready <phase> <base> <n>" to HOST:CTRL; each request gets one round: every flow
(source ports base..base+n-1 -> guest:DPORT) twice, with payload "rsspp <phase> <seq>".
Raw IP (IPPROTO_RAW) so one socket sends from any source port. Stops on SIGTERM.
Usage: sender.py HOST GUEST CTRL DPORT
"""
import signal
import socket
import struct
import sys
import time


def udp_packet(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    length = 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, 0, 0x4000, 64, socket.IPPROTO_UDP, 0, src, dst)
    # UDP checksum 0: "no checksum" is valid over IPv4 and the guest does not care.
    return ip + struct.pack("!HHHH", sport, dport, length, 0) + payload


def main() -> int:
    host, guest, ctrl, dport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    src, dst = socket.inet_aton(host), socket.inet_aton(guest)
    control = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    control.bind((host, ctrl))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    rounds = 0
    while True:
        message, _ = control.recvfrom(256)
        words = message.decode(errors="replace").split()
        if len(words) != 4 or words[0] != "ready":
            continue
        phase, base, count = int(words[1]), int(words[2]), int(words[3])
        rounds += 1
        seq = 0
        for copy in range(2):
            for i in range(count):
                payload = b"rsspp %d %d" % (phase, seq)
                raw.sendto(udp_packet(src, dst, base + i, dport, payload), (guest, 0))
                seq += 1
                # Pace the round (rate limiting, not synchronisation): a TCG guest drains its
                # rings slowly, and when the queue RSS picked is full QEMU 7.2 holds the packet
                # on the tap queue it came from, which can stall that tap queue for good (whole
                # slices of flows went missing at full speed). About 6000 packets/s here;
                # qmcap asks again for anything still lost.
                if seq % 64 == 0:
                    time.sleep(0.01)
        print(f"sender: round {rounds} phase {phase}: {seq} packets", file=sys.stderr, flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
