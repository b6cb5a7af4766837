"""Benchmark the site build on a ten-year archive: 520 weekly editions, their releases and series.

Prints, against a baseline measured in the same run (a plain Jinja2 render of a
100-item page):
  - full build: milliseconds per page (target <= 5 ms)
  - rebuild after one new week (target <= 1 s) and how many pages it rendered
  - rebuild with nothing changed: pages rendered (target 0)
The data is synthetic (shape only: LKML-like subjects, kernel-like versions),
generated directly as edition/section data, as the brief allows for scale.

    .venv/bin/python bench/site.py [--weeks 520] [--search]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker.edition import edition_for, week_of  # noqa: E402
from tracker.pages import Page  # noqa: E402
from tracker.sitebuild import build_site, site_jobs, template_search_path  # noqa: E402

SUBSYSTEMS = ["mm", "net", "fs/ext4", "drm/i915", "sched", "bpf", "arm64", "x86/mm", "io_uring", "btrfs", "usb", "nvme"]
VERBS = ["fix", "add", "remove", "rework", "introduce", "convert", "simplify", "document"]
NOUNS = ["refcount leak", "lock ordering", "error path", "stale comment", "unused variable", "UAF in teardown",
         "overflow check", "per-cpu counter", "selftest", "tracepoint"]


def make_week(index: int, start: date, rng: random.Random) -> tuple[dict, list[Page]]:
    """One edition (release status + ~60 series) and the release pages of that week."""
    day = start + timedelta(weeks=index)
    label = week_of(day)
    edition = edition_for(label)
    major, minor = divmod(index // 10, 20)
    mainline = f"{major + 4}.{minor}"
    stable = f"{major + 3}.{minor}.{index + 1}"  # unique per week
    releases = [mainline + f"-rc{index % 10 + 1}", stable]
    status = [
        {"text": f"The current development kernel is {releases[0]}, released on {day:%B} {day.day}.",
         "link": f"releases/{releases[0]}.html", "kind": "development", "version": releases[0],
         "quote": "Things look fairly normal. " * 5, "quote_by": "Linus says:"},
        {"text": f"The current stable kernel is {stable}, released on {day:%B} {day.day}, with {rng.randint(20, 400)} fixes.",
         "link": f"releases/{stable}.html", "kind": "stable", "version": stable},
    ]
    series = []
    for n in range(rng.randint(50, 70)):
        sub = rng.choice(SUBSYSTEMS)
        subject = f"{sub}: {rng.choice(VERBS)} {rng.choice(NOUNS)}"
        series.append({"text": f"Dev {n}: {subject} (v{rng.randint(1, 5)}, {rng.randint(1, 20)} patches)",
                       "link": f"https://lore.kernel.org/r/{label}-{n}@example.org", "category": sub})
    edition["sections"] = [
        {"key": "release-status", "title": "Release status", "intro": "", "order": 10, "template": None, "items": status},
        {"key": "patches", "title": "Patches and updates", "intro": f"{len(series)} series this week.", "order": 50,
         "template": None, "items": series},
    ]
    pages = [
        Page(path=f"releases/{version}.html", template="release.html", title=f"Linux {version}",
             context={"release": {"version": version, "kind": "stable" if version == stable else "rc",
                                  "released_at": day.isoformat(), "excerpt": "", "shortlog": "\n".join(s["text"] for s in series[:30]),
                                  "links": [{"label": "Changelog", "url": f"https://cdn.kernel.org/ChangeLog-{version}"}]},
                      "reviews": []})
        for version in releases
    ]
    return edition, pages


def baseline_ms(repeat: int = 200) -> float:
    """A plain Jinja2 render of a 100-item page: the yardstick from STYLE.md (~3 ms)."""
    import jinja2

    env = jinja2.Environment(autoescape=True)
    template = env.from_string(
        "<!doctype html><html><head><title>{{ title }}</title></head><body><h1>{{ title }}</h1><ul>"
        "{% for item in items %}<li><a href=\"{{ item.link }}\">{{ item.text }}</a> {{ item.category }}</li>{% endfor %}"
        "</ul></body></html>"
    )
    items = [{"text": f"mm: fix refcount leak number {n} (v2, 3 patches)", "link": f"https://lore.kernel.org/r/{n}@x", "category": "mm"} for n in range(100)]
    template.render(title="warm-up", items=items)
    started = time.perf_counter()
    for _ in range(repeat):
        template.render(title="Week", items=items)
    return (time.perf_counter() - started) * 1000 / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=520)
    parser.add_argument("--search", action="store_true", help="Also time the Pagefind index of the full build.")
    args = parser.parse_args()

    rng = random.Random(48)
    start = date(2015, 1, 5)
    weeks = [make_week(i, start, rng) for i in range(args.weeks + 1)]
    editions = [e for e, _ in weeks]
    pages = [p for _, ps in weeks for p in ps]
    new_edition, new_pages = editions[-1], pages[-2:]
    editions, pages = editions[:-1], pages[:-2]
    dirs = template_search_path()
    site = {"title": "kernel-tracker bench"}

    base = baseline_ms()
    tmp = Path(tempfile.mkdtemp(prefix="ktrack-bench-"))
    out = tmp / "site"
    try:
        started = time.perf_counter()
        jobs = site_jobs(editions, pages, site={**site, "search": args.search})
        full = build_site(jobs, out, site=site, template_dirs=dirs, search=args.search)
        full_s = time.perf_counter() - started

        started = time.perf_counter()
        jobs = site_jobs(editions, pages, site={**site, "search": args.search})
        same = build_site(jobs, out, site=site, template_dirs=dirs, search=args.search)
        same_s = time.perf_counter() - started

        started = time.perf_counter()
        jobs = site_jobs([*editions, new_edition], [*pages, *new_pages], site={**site, "search": args.search})
        week = build_site(jobs, out, site=site, template_dirs=dirs, search=args.search)
        week_s = time.perf_counter() - started - week.search_seconds
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    per_page = full.render_seconds * 1000 / max(full.rendered, 1)
    print(f"archive: {len(editions)} editions, {full.pages} pages ({sum(len(s['items']) for e in editions for s in e['sections'])} items)")
    print(f"baseline plain Jinja2 100-item page:   {base:7.2f} ms/page")
    print(f"full build, render phase:              {per_page:7.2f} ms/page  (target <= 5)  {per_page / base:.1f}x baseline")
    print(f"full build, wall incl. hashing/swap:   {full_s * 1000 / full.pages:7.2f} ms/page  ({full_s:.2f} s total)")
    if args.search:
        print(f"full build, Pagefind index:            {full.search_seconds:7.2f} s")
    print(f"rebuild after one new week:            {week_s:7.3f} s  (target <= 1)  rendered {week.rendered} of {week.pages} pages"
          + (f"  [+ {week.search_seconds:.2f} s Pagefind full re-index]" if args.search else ""))
    print(f"rebuild with nothing changed:          {same.rendered} pages rendered (target 0), {same_s:.3f} s")


if __name__ == "__main__":
    main()
