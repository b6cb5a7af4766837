"""Benchmark finding new system calls and sysctl knobs in a whole year of linux-api, and check the records.

Reads the real archives in ../shared/data/lists/ (every message of
linux-api@vger.kernel.org in 2021, and in 2022-2023), and for each, in this
one run:

- the baseline: importing the archive into a temporary SQLite store (parse,
  thread into series), which every analysis needs first;
- the syscall and sysctl analysis of every series (`analyze_series` of the
  two plugins over each stored series, as `ktrack analyze --all` runs it);
- building the records (`ktrack syscalls --json`, `ktrack sysctls --json`).

Target: the analysis of a whole year takes at most as long as importing it
(ratio <= 1.0), so `ktrack run` on a year-long backlog is bound by reading mail,
not by finding syscalls. Then the records are compared with the ones read by
hand in docs/syscalls-archive-review.md (every one a real addition, change or
removal): any record not in that list is printed as NEW (to be read), any
missing one as GONE. Ends with one PASS/FAIL line.

    .venv/bin/python bench/syscalls.py
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LISTS = ROOT.parent / "shared" / "data" / "lists"
ARCHIVES = ["linux-api-2021.mbox.gz", "linux-api-2022-2023.mbox.gz"]
REVIEW = ROOT / "docs" / "syscalls-archive-review.md"
TARGET_RATIO = 1.0


def reviewed() -> dict[str, set[str]]:
    """{archive label: names} of the syscall records read in docs/syscalls-archive-review.md."""
    out: dict[str, set[str]] = {}
    current = None
    for line in REVIEW.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^### (linux-api-[\w-]+\.mbox\.gz)", line)
        if m:
            current = out.setdefault(m.group(1), set())
        elif line.startswith("## Sysctl"):
            current = None
        elif current is not None:
            m = re.match(r"^\| `([a-z0-9_]+)`", line)
            if m:
                current.add(m.group(1))
    return out


def run(archive: Path) -> dict:
    from tracker.app import App
    from tracker.findings import save_findings
    from tracker.ingest import import_paths
    from tracker.plugins import syscalls, sysctls
    from tracker.plugins.syscalls.tracking import build_records as syscall_records
    from tracker.plugins.sysctls.tracking import build_records as sysctl_records
    from tracker.queries import get_series

    with tempfile.TemporaryDirectory() as tmp:
        app = App(db_path=Path(tmp) / "bench.db")
        db = app.db
        t0 = time.perf_counter()
        import_paths(db, [archive])
        t_import = time.perf_counter() - t0
        keys = [r[0] for r in db.execute("select series_key from series order by series_key")]
        t0 = time.perf_counter()
        for key in keys:
            series = get_series(db, key)
            save_findings(db, "syscalls", syscalls.analyze_series(series))
            save_findings(db, "sysctls", sysctls.analyze_series(series))
        t_analyze = time.perf_counter() - t0
        t0 = time.perf_counter()
        sc = syscall_records(db)
        kn = sysctl_records(db)
        t_records = time.perf_counter() - t0
        messages = db.execute("select count(*) from messages").fetchone()[0]
    return {"messages": messages, "series": len(keys), "import": t_import, "analyze": t_analyze,
            "records": t_records, "syscalls": {r["name"] for r in sc}, "sysctls": len(kn)}


def main() -> int:
    print(f"reading ../shared/data/lists/ ({LISTS}): the real linux-api archives, whole years")
    missing = [a for a in ARCHIVES if not (LISTS / a).is_file()]
    if missing:
        print(f"FAIL: missing {', '.join(missing)} under ../shared/data/lists/")
        return 1
    expected = reviewed()
    ok = True
    for name in ARCHIVES:
        r = run(LISTS / name)
        work = r["analyze"] + r["records"]
        ratio = work / r["import"]
        print(f"{name}: {r['messages']} messages, {r['series']} series")
        print(f"  baseline import  {r['import']:6.2f} s")
        print(f"  analysis         {r['analyze']:6.2f} s  (syscalls + sysctls over every series)")
        print(f"  records          {r['records']:6.2f} s  ({len(r['syscalls'])} syscalls, {r['sysctls']} sysctls)")
        print(f"  analysis/import  {ratio:6.2f}  (target <= {TARGET_RATIO})")
        want = expected.get(name, set())
        new, gone = sorted(r["syscalls"] - want), sorted(want - r["syscalls"])
        for n in new:
            print(f"  NEW (not in the reviewed list, read it): {n}")
        for n in gone:
            print(f"  GONE (reviewed as real, no longer found): {n}")
        ok = ok and ratio <= TARGET_RATIO and not new and not gone
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
