"""The site's search index at LKML scale: one whole-site Pagefind run (before) against bundles (after).

Reads the 200k-message archive bench/weekly.py caches (~/.cache/ktrack-bench/
weekly-v2-200000-7000: ktrack.db, config.toml, site/, week.mbox; run
bench/weekly.py once to make it) and never writes there: everything happens
in a copy. Steps, all through the CLI as a user runs them:

1. `ktrack site build --force --json`: a full build; its index time (search_seconds) is "after".
2. `ktrack import week.mbox --list lkml`, then `ktrack site build --json`: a weekly build.

Beside each, the same site as it stands is indexed whole the way builds did
before (sitebuild.run_pagefind: remove pagefind/, `python -m pagefind --site`),
and both ways are repeated in-process on hard-linked copies, alternating, so
load on the shared machine hits both alike; the best of --repeat is printed.

    python bench/site_search.py [--cache DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.search_index import assign_bundles, update_search_index  # noqa: E402
from tracker.sitebuild import read_manifest, run_pagefind  # noqa: E402
from weekly import cache_dir, ktrack_env, ktrack_exe  # noqa: E402  (bench/weekly.py: its cache and how it runs ktrack)

DEFAULT_CACHE = cache_dir(200_000, 7_000)


def ktrack(root: Path, *args: str) -> str:
    """Run ktrack on the copy, with bench/weekly.py's environment (built-in plugins only)."""
    result = subprocess.run([ktrack_exe(), *args], env=ktrack_env(root), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise SystemExit(f"bench: ktrack {' '.join(args)} exited {result.returncode}: {result.stderr.strip()[-500:]}")
    return result.stdout


def linked_copy(site: Path, scratch: Path, name: str) -> Path:
    """A hard-linked copy of `site` (as a build makes one): both ways index it without touching `site`."""
    copy = scratch / name
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(site, copy, copy_function=os.link)
    return copy


def compare(site: Path, scratch: Path, touched: list[str], repeat: int) -> tuple[float, float, list[str]]:
    """Best seconds of (whole-site index, bundle update) on copies of `site`, alternating; and the bundles updated."""
    pages = list(read_manifest(site).get("pages", {}))
    whole, bundles, names = [], [], []
    for _ in range(repeat):
        copy = linked_copy(site, scratch, "whole")
        started = time.perf_counter()
        run_pagefind(copy)
        whole.append(time.perf_counter() - started)
        copy = linked_copy(site, scratch, "bundles")
        started = time.perf_counter()
        names = update_search_index(copy, pages, touched)
        bundles.append(time.perf_counter() - started)
    return min(whole), min(bundles), names


def changed_pages(before: dict, after: dict) -> list[str]:
    """Pages a build rendered or removed: their manifest hash differs."""
    old, new = before.get("pages", {}), after.get("pages", {})
    return sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="bench/weekly.py's cached 200k archive")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for name in ("ktrack.db", "config.toml", "site", "week.mbox"):
        if not (args.cache / name).exists():
            raise SystemExit(f"bench: {args.cache / name} not found: run bench/weekly.py first (it builds that cache)")
    print(f"data: {args.cache} (bench/weekly.py's cached archive, copied, never written)")
    with tempfile.TemporaryDirectory(prefix="ktrack-site-search-") as tmp:
        root = Path(tmp) / "archive"
        root.mkdir()
        scratch = Path(tmp) / "scratch"
        scratch.mkdir()
        for name in ("ktrack.db", "config.toml"):
            shutil.copy2(args.cache / name, root / name)
        shutil.copytree(args.cache / "site", root / "site")
        site = root / "site"

        full = json.loads(ktrack(root, "site", "build", "--out", str(site), "--force", "--json"))
        html = [p for p in read_manifest(site).get("pages", {}) if p.endswith(".html")]
        layout = {name: len(members) for name, members in assign_bundles(html).items()}
        print(f"site: {len(html)} HTML pages; bundles (pages): " + ", ".join(f"{n}/ {c}" for n, c in sorted(layout.items())))
        full_whole, full_bundles, _ = compare(site, scratch, html, args.repeat)
        one_at_a_time = []
        for _ in range(args.repeat):
            copy = linked_copy(site, scratch, "serial")
            started = time.perf_counter()
            update_search_index(copy, html, html, jobs=1)
            one_at_a_time.append(time.perf_counter() - started)

        before = read_manifest(site)
        started = time.perf_counter()
        ktrack(root, "import", str(args.cache / "week.mbox"), "--list", "lkml")
        import_s = time.perf_counter() - started
        week = json.loads(ktrack(root, "site", "build", "--out", str(site), "--json"))
        touched = changed_pages(before, read_manifest(site))
        week_whole, week_bundles, names = compare(site, scratch, touched, args.repeat)

    print(f"\nfull build (--force, {full['rendered']} pages rendered)")
    print(f"  before: whole site in one Pagefind run         {full_whole:6.2f} s  (best of {args.repeat})")
    print(f"  after:  every bundle, 2 at a time              {full_bundles:6.2f} s  (best of {args.repeat}; "
          f"in the CLI build: {full['search_seconds']:.2f} s, {', '.join(full['search_bundles'])})")
    print(f"          every bundle, one at a time            {min(one_at_a_time):6.2f} s")
    print(f"\nweekly build (week.mbox imported in {import_s:.1f} s; {week['rendered']} pages rendered, {week['removed']} removed: "
          f"{', '.join(touched[:6])}{' ...' if len(touched) > 6 else ''})")
    print(f"  before: whole site in one Pagefind run         {week_whole:6.2f} s  (best of {args.repeat})")
    print(f"  after:  bundles with a changed page            {week_bundles:6.2f} s  (best of {args.repeat}; {', '.join(names) or 'none'}; "
          f"in the CLI build: {week['search_seconds']:.2f} s, {', '.join(week['search_bundles']) or 'none'})")
    print(f"  weekly index time after / before: {week_bundles / week_whole:.2f}x")


if __name__ == "__main__":
    main()
