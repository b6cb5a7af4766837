"""Benchmark threading of one huge series: a 2,000-patch stable review vs ordinary mail of the same count.

(Named series_threading.py, not threading.py: a script's folder comes first on sys.path, and a
bench/threading.py would shadow the standard library's threading module.)

Issue 19: a series' refresh once rescanned every member for each message
added, so a 1,311-patch stable review imported at a quarter of the rate of
ordinary mail. This generates, in this one run:

- a stable review series shaped like Greg's (bench/ingest.py's
  `stable_review_mbox`): a cover "[PATCH 6.1 0000/2000] 6.1.120-rc1 review"
  and N numbered patches, each In-Reply-To the cover;
- the same review sent without references (quilt-mailed, as 2.6.x reviews
  were): threaded by author, version, total and date instead;
- ordinary LKML-shaped mail of the same count (bench/ingest.py's `generate`):
  the yardstick;
- the quilt-mailed review in reverse order (a mailbox sorted newest first):
  every patch becomes the new head, so the series is renamed; the Threader
  renames it once at each batch's end (it renamed at every message, rewriting
  the rows stored so far: 0.10x ordinary mail until 2026-12-03);

and imports each with `ktrack import --no-analyze` into a fresh database,
in a child process (the time is taken inside it, start-up excluded), RUNS
times in turn; the fastest of each counts. Target (issue 19): the review
threads at >= 0.8x the rate of ordinary mail (the three review shapes are
held to it). All input is generated; nothing
is read from ../shared/data.

Usage: python bench/series_threading.py [PATCHES] [--runs N] (default 2000 patches, 3 runs)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import generate, stable_review_mbox  # noqa: E402  (bench/ingest.py's generators)

def run_import(path: Path, db: Path, cwd: Path) -> tuple[float, str]:
    """`ktrack import --no-analyze PATH` in a child process; (seconds inside it, its summary line)."""
    env = {**os.environ, "KTRACK_DB": str(db), "XDG_CONFIG_HOME": str(cwd / "xdg")}
    env.pop("KTRACK_CONFIG", None)
    code = (
        "import sys, time\n"
        "from tracker.cli import main\n"
        "t = time.perf_counter()\n"
        "try:\n    main(['import', '--no-analyze', sys.argv[1]])\n"
        "except SystemExit:\n    pass\n"
        "print('SECONDS', time.perf_counter() - t, file=sys.stderr)\n"
    )
    # cwd: a folder with no tracker/ in it, so the child imports the installed (or editable) package
    proc = subprocess.run([sys.executable, "-c", code, str(path)], env=env, cwd=cwd, capture_output=True, text=True)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("SECONDS")]
    if not lines:
        raise SystemExit(f"import of {path} failed:\n{proc.stderr[-2000:]}")
    return float(lines[-1].split()[1]), proc.stdout.strip().splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patches", type=int, nargs="?", default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    count = args.patches + 1
    with tempfile.TemporaryDirectory(prefix="ktrack-threading-") as tmp:
        work = Path(tmp)
        inputs = {
            "stable review, In-Reply-To the cover": work / "review.mbox",
            "stable review, no references (quilt)": work / "quilt.mbox",
            "ordinary mail (bench/ingest.py)": work / "plain.mbox",
            "stable review, no references, newest first": work / "reversed.mbox",
        }
        start = time.perf_counter()
        stable_review_mbox(inputs["stable review, In-Reply-To the cover"], args.patches)
        stable_review_mbox(inputs["stable review, no references (quilt)"], args.patches, references=False)
        generate(inputs["ordinary mail (bench/ingest.py)"], count, seed=3)
        stable_review_mbox(inputs["stable review, no references, newest first"], args.patches, references=False, reverse=True)
        print(f"generated a {args.patches:,}-patch stable review (with references, without, and without in reverse order) and "
              f"~{count:,} ordinary messages in {time.perf_counter() - start:.1f} s (all generated here)")
        best: dict[str, float] = {}
        summaries: dict[str, str] = {}
        for run in range(args.runs):
            for name, path in inputs.items():  # in turn, so a busy moment of the shared machine hits all alike
                db = work / f"run{run}-{path.stem}.db"
                seconds, summary = run_import(path, db, work)
                best[name] = min(best.get(name, seconds), seconds)
                summaries[name] = summary
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
        rates = {}
        for name, seconds in best.items():
            read = int(summaries[name].split()[0])
            rates[name] = read / seconds
            print(f"{name}: {read:,} messages in {seconds:.2f} s = {rates[name]:,.0f} msg/s (fastest of {args.runs})")
            print(f"  {summaries[name]}")
        plain = rates["ordinary mail (bench/ingest.py)"]
        results = []
        for name in ("stable review, In-Reply-To the cover", "stable review, no references (quilt)",
                     "stable review, no references, newest first"):
            ratio = rates[name] / plain
            results.append((ratio >= 0.8, f"{args.patches:,}-patch {name}: {rates[name]:,.0f} msg/s = {ratio:.2f}x "
                                          f"ordinary mail {plain:,.0f} msg/s (target >= 0.8x)"))
        for ok, line in results:
            print(f"{'PASS' if ok else 'FAIL'}: {line}")


if __name__ == "__main__":
    main()
