#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Host side of the guest test: sends rounds of UDP test flows to the guest on request.

Runs inside the test's network namespace. The guest's qmcap asks with a datagram
"ready <phase> <base> <n>" to HOST:CTRL; each request gets one round: every flow
(source ports base..base+n-1 -> guest:DPORT) twice, with payload "rsspp <phase> <seq>".
The guest's flowrx (daemon phase) asks with
"stream <phase> <seconds> <base> <n> <heavy-pps> <light-pps> <i,j,...>" for a paced, skewed
stream: flows i, j, ... at heavy-pps each, every other flow at light-pps, payload
"rsspp <phase> <per-flow sequence number>", until "stop <phase>" arrives or the seconds pass.
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


def stream(raw, control, src: bytes, dst: bytes, dport: int, words: list) -> None:
    """One paced stream: each flow sends when its own schedule says so (rate x elapsed), in
    ticks of 5 ms, so per-flow rates hold whatever the tick jitter; ends on "stop" or at the
    deadline."""
    try:
        phase, seconds, base, count, heavy_pps, light_pps = (int(w) for w in words[:6])
        heavy = {int(i) for i in words[6].split(",") if i}
    except ValueError:
        print(f"sender: bad stream request {words}", file=sys.stderr, flush=True)
        return
    rates = [heavy_pps if i in heavy else light_pps for i in range(count)]
    sent = [0] * count
    start = time.monotonic()
    control.setblocking(False)
    try:
        while True:
            elapsed = time.monotonic() - start
            if elapsed > seconds:
                break
            try:
                if control.recv(512).split()[:1] == [b"stop"]:
                    break
            except BlockingIOError:
                pass
            for i in range(count):
                due = int(rates[i] * elapsed) + 1
                while sent[i] < due:
                    payload = b"rsspp %d %d" % (phase, sent[i])
                    raw.sendto(udp_packet(src, dst, base + i, dport, payload), (dst_text(dst), 0))
                    sent[i] += 1
            time.sleep(0.005)  # pacing (rate limiting), not synchronisation
    finally:
        control.setblocking(True)
    print(f"sender: stream phase {phase}: {sum(sent)} packets in {time.monotonic() - start:.1f} s"
          f" ({len(heavy)} heavy flows at {heavy_pps}/s, {count - len(heavy)} at {light_pps}/s)",
          file=sys.stderr, flush=True)


def dst_text(dst: bytes) -> str:
    return socket.inet_ntoa(dst)


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
        message, _ = control.recvfrom(512)
        words = message.decode(errors="replace").split()
        if len(words) == 8 and words[0] == "stream":
            stream(raw, control, src, dst, dport, words[1:])
            continue
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
