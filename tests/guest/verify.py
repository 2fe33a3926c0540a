#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Host side of the guest test: the fixed tables the guest writes, and the verdict on its log.

  verify.py tables DIR        write the test's tables (fixed seeds) into DIR
  verify.py mix TABLES PREDICT
                              print the daemon phase's flow mix (base,flows,heavy pps,light pps,
                              heavy flow indices joined by ':') for the key TABLES/hkey
  verify.py check LOG TABLES PREDICT KERNEL NTF(0|1)
                              read a guest console log, print one PASS/FAIL line per check and
                              a final "RESULT passed=N failed=M"; exit 1 if anything failed.

Placement is predicted with rssppd's own Toeplitz (the PREDICT tool, built from RssppCore's
sources by run.sh), from the key and table Debian's `ethtool -x` read back in the guest.
"""
import json
import random
import re
import subprocess
import sys
from pathlib import Path

HOST, GUEST, DPORT, BASE, FLOWS = "10.77.0.1", "10.77.0.2", 7777, 20000, 2048
SIZE = 128  # virtio-net under QEMU

# The daemon phase's stream: MIX_FLOWS UDP flows from ports MIX_BASE.., MIX_HEAVY of them at
# HEAVY_PPS, the rest at LIGHT_PPS. The heavy flows share queue 0 under the default spread, so
# the static table overloads it; each is below a fair share (total / 4), so an even spread is
# possible at bucket granularity.
MIX_BASE, MIX_FLOWS, MIX_HEAVY, HEAVY_PPS, LIGHT_PPS = 40000, 64, 3, 250, 10
QUEUES = 4
# A flow whose bucket moved may see the packets still queued on its old queue after newer ones
# on the new queue: at most what it sent during REORDER_WINDOW_S before the move (ring +
# socket backlog of a slow emulated guest), per move.
REORDER_WINDOW_S = 0.5


def write_tables(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)

    def table(name: str, entries: list, sep: str = "\n") -> None:
        (out / name).write_text(sep.join(str(e) for e in entries) + "\n")

    table("random1", [random.Random(1).randrange(4) for _ in range(SIZE)])
    rng = random.Random(2)
    table("random2", [rng.choice([1, 2, 3]) for _ in range(SIZE)], " ")  # queue 0 unused
    rng = random.Random(3)
    table("random3", [rng.randrange(4) for _ in range(SIZE)])
    rng = random.Random(4)
    (out / "hkey").write_text(":".join("%02x" % rng.randrange(256) for _ in range(40)) + "\n")
    table("size100", [i % 4 for i in range(100)])
    table("size3", [0, 1, 2])
    table("queue4", [4 if i == 17 else i % 4 for i in range(SIZE)])
    (out / "unparsable").write_text("0 1 x 3\n" * 32)


def ethtool_weight(weights: list, size: int = SIZE) -> list:
    """ethtool's own spreading of `-X weight` (ethtool.c, fill_indir_table)."""
    total, partial, j, table = sum(weights), 0, -1, []
    for i in range(size):
        while i >= size * partial // total:
            j += 1
            partial += weights[j]
        table.append(j)
    return table


class Log:
    def __init__(self, text: str):
        self.lines = [line.rstrip("\r") for line in text.splitlines()]
        self.blocks = {}  # (name, phase) -> [lines]
        current = None
        for line in self.lines:
            m = re.match(r"^BEGIN (\S+) (\S+)$", line)
            if m:
                current = (m.group(1), m.group(2))
                self.blocks[current] = []
                continue
            if current and line.startswith(f"END {current[0]} {current[1]}"):
                current = None
                continue
            if current:
                self.blocks[current].append(line)

    def tagged(self, tag: str) -> list:
        """Lines `TAG k=v ...` as dicts."""
        out = []
        for line in self.lines:
            if line.startswith(tag + " "):
                fields = {}
                for word in line[len(tag) + 1:].split(" "):
                    if "=" in word:
                        k, v = word.split("=", 1)
                        fields[k] = v
                if tag == "ERRCASE" and " msg=" in line:
                    fields["msg"] = line.split(" msg=", 1)[1]
                out.append(fields)
        return out


def parse_ethtool_x(lines: list):
    """(rings, table, key) from `ethtool -x` text; None for what is missing."""
    rings = table_ = key = None
    entries = []
    for i, line in enumerate(lines):
        m = re.search(r"with (\d+) RX ring", line)
        if m:
            rings = int(m.group(1))
        m = re.match(r"^\s*(\d+):((?:\s+\d+)+)\s*$", line)
        if m:
            entries += [int(x) for x in m.group(2).split()]
        if line.strip().startswith("RSS hash key") and i + 1 < len(lines):
            candidate = lines[i + 1].strip()
            if re.fullmatch(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})+", candidate):
                key = candidate.lower()
    if entries:
        table_ = entries
    return rings, table_, key


def parse_rssppd_json(lines: list):
    """(table, key) from `rssppd table show --json` ({"table": [...], "key": "6d:5a:..."})."""
    try:
        doc = json.loads("\n".join(lines))
        table_, key = doc["table"], doc["key"]
    except (ValueError, KeyError, TypeError):
        return None, None
    if not isinstance(table_, list) or not all(isinstance(x, int) for x in table_):
        table_ = None
    return table_, key.lower() if isinstance(key, str) else None


class Verdict:
    def __init__(self, kernel: str):
        self.kernel, self.passed, self.failed = kernel, 0, 0

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(f"{'PASS' if ok else 'FAIL'} [{self.kernel}] {name}{': ' + detail if detail else ''}", flush=True)
        return ok

    def info(self, name: str, detail: str) -> None:
        print(f"INFO [{self.kernel}] {name}: {detail}", flush=True)


def predict(tool: str, key: str, table: list, base: int = BASE, flows: int = FLOWS) -> str:
    out = subprocess.run([tool, key, ",".join(map(str, table)), HOST, GUEST, str(DPORT), str(base), str(flows)],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else ""


def buckets_of(tool: str, key: str, base: int, flows: int):
    """Each flow's bucket (Toeplitz hash & 127), with rssppd's hash: one prediction per bit of
    the bucket, through a table that maps a bucket to that bit. None if the predictor fails."""
    bits = []
    for k in range(SIZE.bit_length() - 1):
        out = predict(tool, key, [(b >> k) & 1 for b in range(SIZE)], base, flows)
        if len(out) != flows:
            return None
        bits.append(out)
    return [sum(int(bits[k][f]) << k for k in range(len(bits))) for f in range(flows)]


def pick_mix(tables: Path, tool: str) -> str:
    key = (tables / "hkey").read_text().strip()
    buckets = buckets_of(tool, key, MIX_BASE, MIX_FLOWS)
    if buckets is None:
        raise SystemExit("verify.py mix: the Toeplitz predictor failed")
    heavy, used = [], set()
    for f, b in enumerate(buckets):
        if b % QUEUES == 0 and b not in used and len(heavy) < MIX_HEAVY:
            heavy.append(f)
            used.add(b)
    if len(heavy) < MIX_HEAVY:
        raise SystemExit("verify.py mix: not enough flows on queue 0")
    return f"{MIX_BASE},{MIX_FLOWS},{HEAVY_PPS},{LIGHT_PPS},{':'.join(map(str, heavy))}"


def parse_metrics(lines: list) -> dict:
    """{(name, frozenset(labels)): value} from Prometheus text."""
    out = {}
    for line in lines:
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
        if not m:
            continue
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        try:
            out[(m.group(1), labels)] = float(m.group(3))
        except ValueError:
            pass
    return out


def metric(metrics: dict, name: str, **labels) -> list:
    """Values of `name` whose labels include `labels`, sorted by their other labels."""
    want = set(labels.items())
    return [v for (n, ls), v in sorted(metrics.items(), key=lambda kv: sorted(kv[0][1])) if n == name and want <= ls]


def per_core(metrics: dict, name: str) -> dict:
    return {int(dict(ls)["core"]): v for (n, ls), v in metrics.items()
            if n == name and dict(ls).get("interface") == "eth0" and "core" in dict(ls)}


def imbalance(values: list) -> float:
    if len(values) < 2 or max(values) == 0:
        return 0.0
    return float("inf") if min(values) <= 0 else (max(values) - min(values)) / min(values)


def log_fields(line: str) -> dict:
    return dict(re.findall(r"(\S+?)=(\"(?:[^\"\\]|\\.)*\"|\S+)", line))


def check_daemon(log: "Log", v: "Verdict", tool: str, expect_ntf: bool) -> None:
    """The daemon phase: `rssppd run` balancing eth0 under the skewed stream (7.3 only)."""
    events = {}
    for d in log.tagged("DAEMON"):
        events.setdefault(d.get("event", "?"), d)
    if not expect_ntf:
        skipped = any(s.get("phase") == "daemon" for s in log.tagged("SKIP"))
        v.check("daemon phase: skipped on this kernel (no netlink RSS_SET), as it says", skipped and not events,
                "expected a 'SKIP phase=daemon' line and no daemon run")
        return
    if not v.check("daemon phase ran to its end", "config" in events and "done" in events,
                   f"events seen: {sorted(events)}"):
        return
    cfg = events["config"]
    thr = float(cfg["threshold"])
    base, flows, hpps, lpps, heavy_text = cfg["mix"].split(",")
    base, flows, hpps, lpps = int(base), int(flows), int(hpps), int(lpps)
    heavy = [int(x) for x in heavy_text.split(":") if x]
    rates = [hpps if f in heavy else lpps for f in range(flows)]
    v.info("daemon phase", f"load signal: packets (load: packets; each queue's load is its share of eth0's packets,"
                           f" since the TCG vCPUs' NET_RX time is noise), policy {cfg['policy']}, epochs {cfg['epoch']} s,"
                           f" hash source {cfg.get('hash-source', '?')},"
                           f" imbalance threshold {thr}")

    _, before, key = parse_ethtool_x(log.blocks.get(("ethtool-x", "daemon-before"), []))
    if not v.check("daemon phase: the starting table and key were read", before is not None and key is not None
                   and len(before) == SIZE, f"table={None if before is None else len(before)} key={key}"):
        return
    buckets = buckets_of(tool, key, base, flows)
    if not v.check("daemon phase: flow buckets predicted", buckets is not None,
                   "" if buckets is not None else "the Toeplitz predictor failed"):
        return
    # The best possible spread at bucket granularity: no queue can carry less than the heaviest
    # bucket or than a fair share.
    bucket_rate = {}
    for f, b in enumerate(buckets):
        bucket_rate[b] = bucket_rate.get(b, 0) + rates[f]
    total = sum(rates)
    fair = total / QUEUES
    heaviest = max(bucket_rate.values())
    even_possible = heaviest <= fair
    v.info("daemon phase", f"stream: {len(heavy)} flows at {hpps} pkt/s + {flows - len(heavy)} at {lpps} pkt/s ="
                           f" {total} pkt/s; fair share {fair:.0f} pkt/s per queue; heaviest bucket {heaviest} pkt/s:"
                           + (" an even spread is possible, so per-queue rates must be within the threshold of each other"
                              if even_possible else
                              f" the best possible busiest queue is {heaviest} pkt/s, so it must be within the threshold of that"))

    def balanced(name: str, per_queue: list) -> None:
        if even_possible:
            imb = imbalance(per_queue)
            v.check(f"{name}: per-queue packet rates within the threshold of each other",
                    imb <= thr, f"rates {[round(x) for x in per_queue]} pkt/s, imbalance (max-min)/min {imb:.3f} vs {thr}")
        else:
            worst = max(per_queue) / heaviest - 1
            v.check(f"{name}: busiest queue within the threshold of the best possible ({heaviest} pkt/s)",
                    worst <= thr, f"rates {[round(x) for x in per_queue]} pkt/s, busiest {worst:+.3f} over the bound")

    # The receiver's windows: before the daemon started, and during the measured epochs.
    windows = []
    for line in log.blocks.get(("flowrx", "daemon"), []):
        if line.startswith("FLOWRX-WIN "):
            f_ = log_fields(line)
            windows.append((float(f_["t"]), float(f_["dt"]), [int(x) for x in f_["q"].split(",")]))
    start_t = float(events.get("start", {}).get("t", "0"))
    static = [w for w in windows if w[0] <= start_t]
    static_q = [sum(w[2][q] for w in static) for q in range(QUEUES)]
    static_secs = sum(w[1] for w in static)
    hot = max(range(QUEUES), key=lambda q: static_q[q]) if static else -1
    imb_before = imbalance(static_q)
    heavy_queue = {before[buckets[f]] for f in heavy}
    v.check("daemon phase: under the starting table the heavy flows overload one queue (flowrx)",
            static_secs > 1 and heavy_queue == {hot} and imb_before > 4 * thr,
            f"{static_secs:.1f} s before the daemon: per-queue {[round(x / max(static_secs, 1e-9)) for x in static_q]} pkt/s,"
            f" imbalance {imb_before:.2f}; heavy flows on queue(s) {sorted(heavy_queue)}")

    if not v.check("daemon phase: the metrics endpoint answered", "metrics-up" in events,
                   " ".join(f"{k}={x}" for k, x in events.get("metrics-never-answered", {}).items())):
        return
    ma = parse_metrics(log.blocks.get(("metrics", "daemon-a"), []))
    mb = parse_metrics(log.blocks.get(("metrics", "daemon-b"), []))
    ws, we = events.get("window-start", {}), events.get("window-end", {})
    ea, eb = int(ws.get("epochs") or -1), int(we.get("epochs") or -1)
    if not v.check("daemon phase: the measured window spans epochs 12 to 24 or later", ea >= 12 and eb >= ea + 8,
                   f"epochs {ea} .. {eb}"):
        return
    ta, tb = float(ws["t"]), float(we["t"])
    pa, pb = per_core(ma, "rsspp_core_packets_total"), per_core(mb, "rsspp_core_packets_total")
    if v.check("daemon metrics: rsspp_core_packets_total for cores 0-3", sorted(pa) == [0, 1, 2, 3] == sorted(pb),
               f"cores {sorted(pa)} / {sorted(pb)}"):
        balanced(f"(a) daemon metrics, epochs {ea}-{eb} ({tb - ta:.1f} s)",
                 [(pb[c] - pa[c]) / (tb - ta) for c in range(QUEUES)])
    inside = [w for w in windows if w[0] - w[1] >= ta - 0.05 and w[0] <= tb + 0.05]
    secs = sum(w[1] for w in inside)
    if v.check("(a) guest counters: flowrx windows inside the measured epochs", secs >= 1, f"{secs:.1f} s of windows"):
        after_q = [sum(w[2][q] for w in inside) / secs for q in range(QUEUES)]
        balanced(f"(a) guest counters (flowrx, per rx queue), {secs:.1f} s", after_q)
        v.info("daemon phase", f"imbalance before {imb_before:.2f} (static table), after {imbalance(after_q):.3f}"
                               f" (flowrx, epochs {ea}-{eb})")

    # The daemon's own account of each epoch (debug log: one line per epoch).
    dlog = log.blocks.get(("rssppd-log", "daemon"), [])
    opened = next((log_fields(l) for l in dlog if " interface opened " in l), {})
    v.check("daemon phase: rssppd counts buckets with the configured hash source",
            opened.get("nic.hash_source") == cfg.get("hash-source") and opened.get("nic.path") == "netlink",
            f"hash source {opened.get('nic.hash_source')} (configured {cfg.get('hash-source')}),"
            f" table path {opened.get('nic.path')}")
    epochs = [log_fields(l) for l in dlog if re.search(r" epoch ", l) and "epoch.index=" in l]
    series = [(int(e["epoch.index"]), float(e["epoch.imbalance"]) if e["epoch.imbalance"] != "inf" else float("inf"),
               int(e["epoch.moves"])) for e in epochs]
    first_within = next((i for i, imb, _ in series if imb <= thr), None)
    window_imb = sorted(imb for i, imb, _ in series if ea <= i <= eb)
    median = window_imb[len(window_imb) // 2] if window_imb else float("inf")
    logged_moves = sum(x[2] for x in series)
    v.info("daemon phase", f"{len(series)} epochs logged; first epoch within the threshold: {first_within};"
                           f" moves per epoch {[x[2] for x in series]}; imbalance per epoch (daemon's, packet"
                           f" shares) {[round(x[1], 2) for x in series]}")
    cost = {k: [int(e[k]) for e in epochs if e.get(k, "").isdigit()] for k in ("epoch.read_us", "epoch.solve_us", "epoch.write_us")}
    v.info("daemon phase", "costs per epoch (TCG guest), median: " + ", ".join(
        f"{k.split('.')[1][:-3]} {sorted(x)[len(x) // 2]} us" for k, x in cost.items() if x))
    # One epoch of 0.25 s holds ~85 packets per queue and the emulated vCPUs run in bursts, so a
    # single epoch's imbalance is noisy: the checks above use the measured window; this is shown.
    v.info("daemon phase", f"median per-epoch imbalance over epochs {ea}-{eb} (daemon log): {median:.3f}")

    # Tables the daemon wrote, as the kernel announced them (RSS_NTF with the full table).
    tables_seen = []
    for line in log.blocks.get(("ntf-daemon", "daemon"), []):
        m = re.search(r" table=([0-9,]+)$", line)
        if m:
            tables_seen.append([int(x) for x in m.group(1).split(",")])
    after_tbl = parse_ethtool_x(log.blocks.get(("ethtool-x", "daemon-after"), []))[1]
    # With an XDP hash source rssppd re-sends the table after attaching and after detaching
    # (EthtoolDevice.reassert: one entry nudged, then the table as it was): an A -> A' -> A
    # pair moves nothing, so it is dropped before counting.
    chain = [before]
    reasserts = 0
    for t in tables_seen:
        if (cfg.get("hash-source") != "tc" and len(chain) >= 2 and t == chain[-2]
                and sum(a != b for a, b in zip(chain[-1], t)) == 1):
            chain.pop()
            reasserts += 1
        else:
            chain.append(t)
    if reasserts:
        v.info("daemon phase", f"{reasserts} table re-send(s) after an XDP attach/detach left out of the count")
    tables_seen = chain[1:]
    changed = [sum(a != b for a, b in zip(x, y)) for x, y in zip(chain, chain[1:])]
    restore = bool(tables_seen) and tables_seen[-1] == before
    balancing_changes = sum(changed[:-1]) if restore else sum(changed)
    v.check("daemon phase: the moves in the daemon's log equal the bucket changes the kernel announced",
            bool(tables_seen) and logged_moves == balancing_changes,
            f"log {logged_moves} moves; RSS_NTF: {len(tables_seen)} tables, {balancing_changes} bucket changes"
            f" before the restore")

    # (b) Reordering, per flow: none where the flow's bucket never moved; at most the flow's
    # packets of REORDER_WINDOW_S per move where it did.
    rx = {}
    for line in log.blocks.get(("flowrx", "daemon"), []):
        if line.startswith("FLOWRX-FLOW "):
            f_ = log_fields(line)
            rx[int(f_["f"])] = f_
    if v.check("(b) flowrx reported every flow", sorted(rx) == list(range(flows)) and all(int(r["pkts"]) > 0 for r in rx.values()),
               f"{sum(1 for r in rx.values() if int(r['pkts']) > 0)} of {flows} flows seen"):
        moved_of = [sum(x[buckets[f]] != y[buckets[f]] for x, y in zip(chain, chain[1:])) for f in range(flows)]
        still = [f for f in range(flows) if moved_of[f] == 0]
        moved = [f for f in range(flows) if moved_of[f] > 0]
        bad_still = [f"{f}: {rx[f]['inv']} inversions" for f in still if int(rx[f]["inv"]) > 0]
        v.check(f"(b) flows whose bucket never moved ({len(still)}) have no reordering", not bad_still,
                "; ".join(bad_still[:5]))
        limit = {f: moved_of[f] * (int(rates[f] * REORDER_WINDOW_S) + 1) for f in moved}
        bad_moved = [f"flow {f} ({rates[f]} pkt/s, {moved_of[f]} moves): {rx[f]['inv']} > {limit[f]}"
                     for f in moved if int(rx[f]["inv"]) > limit[f]]
        inv_total = sum(int(rx[f]["inv"]) for f in moved)
        worst = max(moved, key=lambda f: int(rx[f]["inv"]) / moved_of[f], default=None)
        v.check(f"(b) moved flows ({len(moved)}) reorder at most {REORDER_WINDOW_S} s of their packets per move",
                not bad_moved, "; ".join(bad_moved[:5]))
        v.info("daemon phase", f"reordering: {inv_total} inversions over {len(moved)} moved flows"
                               f" ({sum(moved_of)} flow moves); worst per move:"
                               + (f" flow {worst} {rx[worst]['inv']} inversions / {moved_of[worst]} moves, deepest"
                                  f" {rx[worst]['back']} packets back" if worst is not None else " none"))
        wrong_first = [f for f in range(flows) if int(rx[f]["q"].split(">")[0]) != before[buckets[f]]]
        v.check("(b) every flow started on the queue the starting table predicts", not wrong_first,
                f"flows {wrong_first[:8]}")
        if after_tbl is not None:
            wrong_last = [f for f in range(flows) if int(rx[f]["q"].split(">")[1]) != after_tbl[buckets[f]]]
            v.check("(d) every flow's last packets arrived on the queue the restored table predicts", not wrong_last,
                    f"{len(wrong_last)} flows elsewhere, e.g. {wrong_last[:8]} (the device does not follow the table"
                    f" ethtool -x shows: RSS turned off in QEMU? see README.md)" if wrong_last else "")

    # (c) SIGHUP with a bad file.
    hup, after = events.get("hup-rejected", {}), events.get("after-hup", {})
    mc = parse_metrics(log.blocks.get(("metrics", "daemon-c"), []))
    errors = metric(mc, "rsspp_config_reloads_total", result="error")
    oks = metric(mc, "rsspp_config_reloads_total", result="ok")
    info = [ls for (n, ls), x in mc.items() if n == "rsspp_interface_info" and x == 1]
    policy = dict(info[0]).get("policy") if info else None
    v.check("(c) SIGHUP with a bad file: rejected and logged, the daemon keeps running and balancing",
            int(hup.get("logged", "0")) >= 1 and after.get("alive") == "yes"
            and int(after.get("epochs") or 0) > int(after.get("epochs-before") or 1 << 30),
            f"logged {hup.get('logged')}, alive {after.get('alive')}, epochs {after.get('epochs-before')} ->"
            f" {after.get('epochs')}")
    v.check("(c) after the bad reload, metrics answer and the old configuration stays in force",
            errors == [1.0] and oks == [0.0] and policy == "steady",
            f"reloads error={errors} ok={oks}, policy label {policy}")

    # (d) SIGTERM.
    ex = events.get("exit", {})
    stamps = {}
    for line in dlog:
        m = re.match(r"^\S+T(\d+):(\d+):([\d.]+)Z ", line)
        if m and ("Signal caught" in line or "rssppd stopped" in line):
            stamps.setdefault("caught" if "Signal caught" in line else "stopped",
                              int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)))
    shutdown = stamps["stopped"] - stamps["caught"] if len(stamps) == 2 else None
    # The daemon's own shutdown (signal caught -> stopped, its log) must take under a second; the
    # process is gone when the guest script polls next (emulated exit of a 100 MB binary).
    v.check("(d) SIGTERM: exit status 0, shut down within a second (daemon log), gone within 3 s",
            ex.get("rc") == "0" and shutdown is not None and shutdown <= 1.0 and float(ex.get("took", "99")) <= 3.0
            and "sigkill-needed" not in events,
            f"rc={ex.get('rc')}, signal caught -> stopped {'?' if shutdown is None else f'{shutdown:.2f}'} s,"
            f" process gone after {ex.get('took')} s (guest clock)")
    v.check("(d) SIGTERM: the original table is back (ethtool -x)", after_tbl is not None and after_tbl == before
            and restore and any("original table restored" in l for l in dlog),
            f"ethtool -x after: {'unparsed' if after_tbl is None else 'same' if after_tbl == before else 'differs'};"
            f" last RSS_NTF table {'is' if restore else 'is not'} the original")

    # Costs per epoch, from the daemon's histograms.
    for name, what in (("rsspp_sample_read_seconds", "counter read"), ("rsspp_solver_seconds", "solve")):
        total_s, count = metric(mb, f"{name}_sum", interface="eth0"), metric(mb, f"{name}_count", interface="eth0")
        if total_s and count and count[0] > 0:
            v.info("daemon phase", f"{what}: {1e6 * total_s[0] / count[0]:.0f} us mean over {count[0]:.0f} epochs (TCG guest)")


def shifted_keys(key: str):
    b = key.split(":")
    for k in (1, -1, 2, -2):
        yield k, ":".join(b[k:] + ["00"] * k if k > 0 else ["00"] * -k + b[:k])


def expected_table(phase: str, tables: Path, rings: int, previous):
    """The table the write in `phase` asked for, or None where only proportions are known."""
    if phase == "one0":
        return ethtool_weight([1, 0, 0, 0])
    if phase == "one3":
        return ethtool_weight([0, 0, 0, 1])
    if phase == "foreign":
        return ethtool_weight([3, 1, 0, 2])
    if phase == "equal4":
        return [i % 4 for i in range(SIZE)]
    if phase == "equal2":
        return [i % 2 for i in range(SIZE)]
    if phase == "default":
        return [i % rings for i in range(SIZE)] if rings else None
    if phase == "hkey":
        return previous
    m = re.match(r"^(?:ioctl-)?(random\d)$", phase)
    if m:
        return [int(x) for x in (tables / m.group(1)).read_text().split()]
    return None


def check(log_path: Path, tables: Path, tool: str, kernel: str, expect_ntf: bool) -> int:
    log = Log(log_path.read_text(errors="replace"))
    v = Verdict(kernel)
    boot = [l for l in log.lines if l.startswith("GUEST boot")]
    v.check("guest booted to /init", bool(boot), boot[0] if boot else "no 'GUEST boot' line")
    v.check("guest finished", any(l.startswith("GUEST done") for l in log.lines), "looked for a 'GUEST done' line")
    bad = [l for l in log.lines if re.search(r"Oops|Kernel panic|Call Trace|BUG:|insmod-failed|GUEST fatal", l)]
    v.check("no oops, panic or module failure", not bad, "; ".join(bad[:3]))
    listener = [l for l in log.lines if l.startswith("GUEST ntf-listener")]
    if listener:
        v.info("ntf listener", listener[0])
    rssppd = any(l == "GUEST rssppd-table=yes" for l in log.lines)
    v.check("rssppd table show works in the guest", rssppd,
            "" if rssppd else "rssppd in the initramfs has no working `table show eth0`: its phases and error cases were skipped")
    for skip in log.tagged("SKIP"):
        v.info("skipped", " ".join(f"{k}={x}" for k, x in skip.items()))

    caps = {c["phase"]: c for c in log.tagged("QMCAP")}
    ntfs = {n["phase"]: int(n["count"]) for n in log.tagged("NTFCOUNT")}
    previous = None
    for s in log.tagged("SET"):
        phase, tool_used = s["phase"], s["tool"]
        setout = log.blocks.get(("set-out", phase), [])
        v.check(f"{phase}: {tool_used} write exits 0", s["rc"] == "0", " | ".join(setout[-3:]))
        if tool_used == "rssppd":
            # auto picks netlink where the kernel has RSS_SET (6.17+), else the ioctl.
            want_path = "ioctl" if phase.startswith("ioctl") or not expect_ntf else "netlink"
            said = next((l for l in setout if l.startswith("path: ")), "")
            v.check(f"{phase}: rssppd wrote through {want_path}", said.startswith(f"path: {want_path} "),
                    said or "no 'path:' line")
        rings, table, key = parse_ethtool_x(log.blocks.get(("ethtool-x", phase), []))
        if not v.check(f"{phase}: ethtool -x reads back a {SIZE}-entry table and a key",
                       table is not None and len(table) == SIZE and key is not None,
                       f"table={None if table is None else len(table)} key={key}"):
            continue
        want = expected_table(phase, tables, rings or 4, previous)
        if want is not None:
            v.check(f"{phase}: the table read back is the one asked for", table == want,
                    f"{sum(a != b for a, b in zip(table, want))} entries differ")
        elif phase.startswith("weight"):
            weights = [1, 2, 3, 4]
            counts = [table.count(q) for q in range(4)]
            share = [SIZE * w / sum(weights) for w in weights]
            v.check(f"{phase}: entries per queue follow the weights", all(abs(c - s_) <= 1 for c, s_ in zip(counts, share)),
                    f"counts {counts}, shares {share}")
            if table != ethtool_weight(weights):
                v.info(f"{phase}", "rssppd's weight spread differs from ethtool's (allowed)")
        if phase == "hkey":
            wanted_key = (tables / "hkey").read_text().strip()
            v.check("hkey: the key read back is the one written", key == wanted_key, f"{key} vs {wanted_key}")
        previous = table
        if rssppd:
            _, stable, skey = parse_ethtool_x(log.blocks.get(("rssppd-show", phase), []))
            v.check(f"{phase}: rssppd table show agrees with ethtool -x", stable == table and skey == key,
                    f"rssppd table={'unparsed' if stable is None else 'differs' if stable != table else 'same'}"
                    f" key={'unparsed' if skey is None else 'differs' if skey != key else 'same'}")
            jtable, jkey = parse_rssppd_json(log.blocks.get(("rssppd-json", phase), []))
            v.check(f"{phase}: rssppd table show --json agrees with ethtool -x", jtable == table and jkey == key,
                    f"json table={'unparsed' if jtable is None else 'differs' if jtable != table else 'same'}"
                    f" key={'unparsed' if jkey is None else 'differs' if jkey != key else 'same'}")
        cap = caps.get(s["no"])
        if not v.check(f"{phase}: every flow arrived on exactly one queue",
                       cap is not None and cap["seen"] == cap["flows"] and cap["conflicts"] == "0",
                       "no QMCAP line" if cap is None else
                       f"seen {cap['seen']}/{cap['flows']}, conflicts {cap['conflicts']}, rounds {cap['rounds']}"):
            continue
        if int(cap["rounds"]) > 1:
            v.info(f"{phase}", f"needed {cap['rounds']} rounds (packets lost on the way and resent)")
        got = cap["map"]
        want_map = predict(tool, key, table)
        if not want_map:
            v.check(f"{phase}: prediction", False, "the Toeplitz predictor failed")
            continue
        wrong = sum(a != b for a, b in zip(got, want_map))
        detail = f"{wrong} of {len(got)} flows on another queue than predicted"
        if wrong:
            for shift, k in shifted_keys(key):
                if predict(tool, k, table) == got:
                    detail += f"; the device's effective key is the reported key shifted by {shift} byte(s)"
                    break
        v.check(f"{phase}: every flow landed on the queue predicted from key and table "
                f"({len(got)} flows, queues used {''.join(sorted(set(got)))})", wrong == 0, detail)
        # RSS_NTF: 6.17+ announces every netlink RSS_SET that changes something and every
        # ETHTOOL_SRSSH ioctl (Debian's `ethtool -X`), not the older SRXFHINDIR ioctl.
        count = ntfs.get(phase)
        if expect_ntf and not phase.startswith("ioctl"):
            v.check(f"{phase}: an RSS_NTF arrived for the change", count is not None and count >= 1, f"count={count}")
        elif count is not None:
            v.info(f"{phase}", f"{count} RSS_NTF message(s) (not required here)")
    for e in log.tagged("ERRCASE"):
        v.check(f"error case {e['name']}: exit 2, one-line message, table untouched",
                e["rc"] == "2" and e["unchanged"] == "yes" and e["lines"] == "1" and e.get("msg", "") != "",
                f"rc={e['rc']} unchanged={e['unchanged']} stderr-lines={e['lines']} msg={e.get('msg', '')!r}")
    expected_phases = ["one0", "one3", "foreign", "hkey"]
    if rssppd:
        expected_phases += ["equal4", "weight1234", "random1", "random2", "equal2", "ioctl-random3", "default"]
    missing = [p for p in expected_phases if p not in {s["phase"] for s in log.tagged("SET")}]
    v.check("every phase ran", not missing, f"missing {missing}")
    check_daemon(log, v, tool, expect_ntf)
    print(f"RESULT passed={v.passed} failed={v.failed}", flush=True)
    return 1 if v.failed else 0


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "tables":
        write_tables(Path(sys.argv[2]))
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "mix":
        print(pick_mix(Path(sys.argv[2]), sys.argv[3]))
        return 0
    if len(sys.argv) == 7 and sys.argv[1] == "check":
        return check(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6] == "1")
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
