"""Benchmark the watch plugin: what watched topics add to each weekly edition, on a year of real mail.

Imports ../shared/data/lists/linux-api-2021.mbox.gz (5,689 real messages, once,
into a temporary database), then for every week of 2021 times, in this one run:

- the baseline: the "Patches and updates" section of the same week (the
  categories plugin lists and sorts every series of the week: work each
  edition already does),
- the "Watched topics" section with four topics that use every rule (paths as
  MAINTAINERS patterns, a MAINTAINERS entry, subject prefixes, words in messages
  and in changed diff lines, people).

Target: each watched topic costs at most what the baseline section costs, per
edition (the cost grows with the topics a reader sets; the baseline is the
one section every edition has). Ends with one PASS/FAIL line. Progress goes
to stderr on a terminal.

    .venv/bin/python bench/watch.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from recorded import announce, recorded  # noqa: E402

ARCHIVE = recorded("lists/linux-api-2021.mbox.gz")
MAINTAINERS = ROOT / "tests" / "data" / "MAINTAINERS.excerpt"
TOPICS = f"""
[plugins.categories]
maintainers = "{MAINTAINERS}"

[plugins.watch.topics.mm]
paths = ["mm/", "include/linux/mm*.h"]
prefixes = ["mm", "mm/mempolicy"]
[plugins.watch.topics.syscalls]
paths = ["arch/*/entry/syscalls/", "include/uapi/asm-generic/unistd.h"]
words = ["SYSCALL_DEFINE", "syscall"]
[plugins.watch.topics.futex]
maintainers = ["FUTEX SUBSYSTEM"]
words = ["futex_waitv"]
[plugins.watch.topics.people]
people = ["christian.brauner@ubuntu.com", "rppt@kernel.org", "mic@digikod.net"]
"""


def weeks_of_2021() -> list[str]:
    from tracker.edition import week_of

    day, labels = date(2021, 1, 4), []
    while day.year == 2021:
        labels.append(week_of(day))
        day += timedelta(weeks=1)
    return labels


def timed(fn, labels: list[str]) -> tuple[float, int]:
    """Return (best of 3 total seconds over all weeks, items produced)."""
    best, items = float("inf"), 0
    for _ in range(3):
        start = time.perf_counter()
        items = sum(len(fn(label)) for label in labels)
        best = min(best, time.perf_counter() - start)
    return best, items


def main() -> None:
    announce(ARCHIVE)
    from tracker.app import App
    from tracker.edition import edition_for
    from tracker.ingest import store_raw_messages
    from tracker.mailbox_io import iter_mbox
    from tracker.plugins.categories import patches_section_items
    from tracker.plugins.watch.matching import watched_series
    from tracker.plugins.watch.topics import topics

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(TOPICS)
        app = App(db_path=Path(tmp) / "bench.db", config_path=config)
        if sys.stderr.isatty():
            print(f"importing {ARCHIVE.name} ...", file=sys.stderr)
        store_raw_messages(app.db, list(iter_mbox(ARCHIVE)), list_id="linux-api.vger.kernel.org")
        series = app.db["series"].count
        watched = list(topics(app.config).values())
        labels = weeks_of_2021()

        def baseline(label: str) -> list:
            return patches_section_items(app.db, edition_for(label), app.config)

        def watch(label: str) -> list:
            edition = edition_for(label)
            return [i for t in watched for i in watched_series(app.db, t, since=edition["start"], until=edition["end"])]

        base_s, base_items = timed(baseline, labels)
        watch_s, watch_items = timed(watch, labels)
        print(f"{len(labels)} weekly editions of 2021, {series:,} series from {ARCHIVE.name}")
        print(f"baseline  'Patches and updates' section: {base_s / len(labels) * 1000:7.2f} ms per edition ({base_items:,} items)")
        print(f"watch     {len(watched)} topics, every rule:          {watch_s / len(labels) * 1000:7.2f} ms per edition ({watch_items:,} items)")
        per_topic = watch_s / len(watched)
        ok = per_topic <= base_s
        print(f"{'PASS' if ok else 'FAIL'}: one watched topic costs {per_topic / base_s:.2f}x the baseline section "
              f"(target <= 1.0x; all {len(watched)} together {watch_s / base_s:.2f}x)")


if __name__ == "__main__":
    main()
