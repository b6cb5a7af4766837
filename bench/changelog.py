"""Benchmark reviewing a released update from its ChangeLog: every commit message read, not only subjects.

A 6.1.y ChangeLog holds 50-500 commits with their whole messages. This
writes one of 3,000 commits in kernel.org's `git log` layout from real
commit messages (the kernel CNA's records in ../shared/data: subject and
description; synthetic only in being many updates' commits in one file, for
scale) and times, in this one run:

- the baseline: classifying the same 3,000 patches from their subjects
  alone (the issue's speed target: at least 5,000 patches/s),
- parsing the ChangeLog,
- classifying with the messages (trailers, sanitizer reports, bug words),
- the whole review into a temporary SQLite store, as `ktrack stable review
  ChangeLog-X.Y.Z` does it (parse, store the commits, classify, store the
  verdicts; CVE links off).

Target: a whole ChangeLog review runs at least 500 patches/s, so the
largest stable updates (about 1,000 commits) take under two seconds: the
weekly job reviews a few updates, a person at a terminal waits for one.
Reading messages costs several times the subject-only baseline (long KASAN
reports are searched for a dozen kinds of evidence); the ratio is printed.
Ends with one PASS/FAIL line.

    .venv/bin/python bench/changelog.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from recorded import announce, recorded  # noqa: E402

CNA = recorded("stable-labels/kernel-cna-cve-fixes.jsonl")
COMMITS = 3000
TARGET = 500.0  # patches/s for a whole ChangeLog review


def changelog_text(count: int) -> str:
    """kernel.org's layout: newest first, a "Linux X.Y.Z" bump on top, messages indented by four spaces."""
    blocks = []
    with open(CNA, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if len(blocks) == count:
                break
            record = json.loads(line)
            message = (record.get("description") or record["subject"]).strip()
            if not message.startswith(record["subject"]):
                message = record["subject"] + "\n\n" + message
            body = "\n".join(("    " + row).rstrip() for row in message.splitlines())
            blocks.append(f"commit {n:040x}\nAuthor: A Developer <dev@example.org>\n"
                          f"Date:   Mon Dec 9 12:00:00 2024 +0100\n\n{body}\n")
    bump = "commit " + "f" * 40 + "\nAuthor: Greg Kroah-Hartman <gregkh@linuxfoundation.org>\n" \
           "Date:   Thu Dec 19 18:11:09 2024 +0100\n\n    Linux 6.1.999\n"
    return "\n".join([bump] + blocks[::-1])


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>9,.0f} patches/s ({seconds * 1000:,.0f} ms)"


def main() -> int:
    announce(CNA)
    from tracker.app import App
    from tracker.plugins.stable_review.changelog import read_changelog_text
    from tracker.plugins.stable_review.classifier import classify_patch
    from tracker.plugins.stable_review.command import review_changelog
    from tracker.plugins.stable_review.store import save_changelog

    text = changelog_text(COMMITS)
    print(f"ChangeLog of {COMMITS:,} real commit messages, {len(text) / 1e6:.1f} MB")
    classify_patch({"subject": "warm-up: fix use-after-free"})

    [update] = read_changelog_text(text, where="bench")
    patches = update["patches"]
    started = time.perf_counter()
    for patch in patches:
        classify_patch({"subject": patch["subject"]})
    baseline = time.perf_counter() - started
    print(f"baseline, subjects only:      {rate(len(patches), baseline)}")

    started = time.perf_counter()
    read_changelog_text(text, where="bench")
    parsing = time.perf_counter() - started
    print(f"parse the ChangeLog:          {rate(len(patches), parsing)}")

    started = time.perf_counter()
    for patch in patches:
        classify_patch(patch)
    messages = time.perf_counter() - started
    print(f"classify with messages:       {rate(len(patches), messages)}  ({messages / baseline:.1f}x the baseline)")

    with tempfile.TemporaryDirectory() as tmp:
        app = App(db_path=Path(tmp) / "bench.db")
        config = {"plugins": {"stable_review": {"vulns_path": None, "cve_jsonl": None}}}  # CVE links off
        app.db  # migrations are set-up, not review work
        started = time.perf_counter()
        [update] = read_changelog_text(text, where="bench")
        save_changelog(app.db, update["release"], "bench", update["date"], update["patches"])
        review_changelog(app.db, config, update, host=app.host)
        whole = time.perf_counter() - started
        stored = app.db["stable_review_verdicts"].count
    print(f"whole review, parse to store: {rate(stored, whole)}")
    ok = stored == len(patches) and stored / whole >= TARGET
    print(f"{'PASS' if ok else 'FAIL'}: a ChangeLog review runs at {stored / whole:,.0f} patches/s (target >= {TARGET:,.0f})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
