#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Host side of the guest test: the fixed tables the guest writes, and the verdict on its log.

  verify.py tables DIR        write the test's tables (fixed seeds) into DIR
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


def predict(tool: str, key: str, table: list) -> str:
    out = subprocess.run([tool, key, ",".join(map(str, table)), HOST, GUEST, str(DPORT), str(BASE), str(FLOWS)],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else ""


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
            "rssppd in the initramfs has no working `table show eth0`: its phases and error cases were skipped")
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
    print(f"RESULT passed={v.passed} failed={v.failed}", flush=True)
    return 1 if v.failed else 0


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "tables":
        write_tables(Path(sys.argv[2]))
        return 0
    if len(sys.argv) == 7 and sys.argv[1] == "check":
        return check(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6] == "1")
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
