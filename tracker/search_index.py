"""The site's browser search index, split into Pagefind bundles so a build re-indexes only what changed.

Pagefind cannot add pages to an index it has written, and indexing the whole
site costs what the whole archive costs. So the index is cut where pages stop
changing:

- `pagefind/`, the primary bundle (the search page loads PagefindUI from it),
  holds the editions of the newest ISO year and every other page (latest,
  archive, plugin pages): what a weekly build touches.
- `pagefind-YYYY/` holds the editions of an older ISO year YYYY
  (`editions/YYYY-Www.html`, see edition.edition_path). It is written when its
  year is over and again only when one of its pages changes (a theme change, the
  last edition's "next" link at New Year).

The search page merges the older bundles into the primary one, newest first
(PagefindUI's `mergeIndex`). Every name starts with "pagefind" because
Pagefind derives a bundle's site root from the path before that word.

Each bundle keeps the list of pages it indexed in `.ktrack-bundle.json`; a
bundle is re-indexed when one of its pages was rendered or removed, when that
list differs (New Year, a site built before bundles existed), or when the
directory is missing. Bundles are hard-linked from the published site, so one
is always removed before Pagefind writes it again, never written through.

Which pages Pagefind indexes inside a bundle is its own rule, as for a whole
site: if a page of the run has `data-pagefind-body`, pages without it are left
out. Editions always carry it in the default theme, so the other pages of the
primary bundle are indexed exactly as when the whole site was one run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable

from .errors import KtrackError

PRIMARY = "pagefind"
MARKER = ".ktrack-bundle.json"
_EDITION = re.compile(r"^editions/(\d{4})-W\d{2}\.html$")
_YEAR_BUNDLE = re.compile(r"^pagefind-\d{4}$")
TIMEOUT = 600


def edition_year(path: str) -> str | None:
    """The ISO year of an edition page ("editions/2021-W03.html" -> "2021"), else None."""
    match = _EDITION.match(path)
    return match.group(1) if match else None


def _bundle_of(page: str, newest: str | None) -> str:
    year = edition_year(page)
    return f"{PRIMARY}-{year}" if year and year != newest else PRIMARY


def _newest_year(pages: Iterable[str]) -> str | None:
    return max((year for year in map(edition_year, pages) if year), default=None)


def assign_bundles(pages: Iterable[str]) -> dict[str, list[str]]:
    """Map each bundle directory to its HTML pages: the newest year and the rest in PRIMARY, older years apart."""
    pages = sorted(p for p in pages if p.endswith(".html"))
    newest = _newest_year(pages)
    bundles: dict[str, list[str]] = {PRIMARY: []}
    for page in pages:
        bundles.setdefault(_bundle_of(page, newest), []).append(page)
    return bundles


def merged_bundles(pages: Iterable[str]) -> list[str]:
    """The bundles the search page merges into the primary one, newest year first."""
    return sorted((name for name in assign_bundles(pages) if name != PRIMARY), reverse=True)


def missing_bundles(site_dir: Path, pages: Iterable[str]) -> list[str]:
    """Bundles of `pages` that have no directory in `site_dir` (a build must write them)."""
    return [name for name in assign_bundles(pages) if not (site_dir / name).is_dir()]


def _glob(name: str, pages: list[str]) -> str:
    """A Pagefind (wax) glob matching `pages`, short whatever the archive's size.

    Whole directories other than editions/ (`stable/**/*.html`), one year of
    editions as `editions/2021-W[0-9][0-9].html`, any other page by its path.
    """
    parts: set[str] = set()
    years = {edition_year(p) for p in pages} - {None}
    parts.update(f"editions/{year}-W[0-9][0-9].html" for year in years)
    for page in pages:
        if edition_year(page):
            continue
        top, _, rest = page.partition("/")
        if not rest:
            parts.add("*.html")
        elif top == "editions":
            parts.add(page)
        else:
            parts.add(f"{top}/**/*.html")
    return "{" + ",".join(sorted(parts)) + "}" if len(parts) > 1 else parts.pop()


def _read_marker(bundle: Path) -> list[str] | None:
    try:
        pages = json.loads((bundle / MARKER).read_text()).get("pages")
    except (OSError, ValueError, AttributeError):
        return None
    return pages if isinstance(pages, list) else None


def stale_bundles(site_dir: Path, pages: Iterable[str], touched: Iterable[str]) -> list[str]:
    """The bundles a build must index again: missing, unmarked, with other pages, or holding a touched page."""
    pages = list(pages)
    bundles = assign_bundles(pages)
    newest = _newest_year(pages)
    stale = {_bundle_of(page, newest) for page in touched if page.endswith(".html")}
    stale &= set(bundles)  # a year left without editions has no bundle any more: its directory just goes
    for name, members in bundles.items():
        if name not in stale and _read_marker(site_dir / name) != members:
            stale.add(name)
    return sorted(stale)


def _command() -> list[str]:
    """The Pagefind binary that pagefind[bin] ships, run directly (no Python start-up per bundle)."""
    binary = os.environ.get("PAGEFIND_BINARY_PATH")
    if not binary:
        try:
            from pagefind_bin import get_executable

            binary = str(get_executable())
        except (ImportError, OSError):
            return [sys.executable, "-m", "pagefind"]
    return [binary]


def update_search_index(site_dir: Path, pages: Iterable[str], touched: Iterable[str], *, jobs: int | None = None) -> list[str]:
    """Re-index the bundles of `site_dir` that `touched` pages (rendered or removed) belong to; return their names.

    `pages` are every page of the site (paths relative to it). Bundles of years
    that no longer have editions are removed. Up to `jobs` Pagefind processes
    run at once (default: the number of CPUs, at most 2). A failing run raises
    one KtrackError line naming the bundle; `site_dir` is then half-indexed,
    which is why a build runs this on its temporary copy.
    """
    site_dir = Path(site_dir)
    pages = list(pages)
    bundles = assign_bundles(pages)
    for old in site_dir.glob(f"{PRIMARY}-*"):
        if _YEAR_BUNDLE.match(old.name) and old.name not in bundles:
            shutil.rmtree(old, ignore_errors=True)
    stale = stale_bundles(site_dir, pages, touched)
    jobs = jobs or min(2, os.cpu_count() or 1)
    # the largest first, so that the workers end together
    queue = sorted(stale, key=lambda name: -len(bundles[name]))
    if jobs == 1 or len(queue) == 1:
        for name in queue:
            _index_bundle(site_dir, name, bundles[name])
        return stale
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_index_bundle, site_dir, name, bundles[name]) for name in queue]
        try:
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()  # not started yet: never starts; a running one ends within its timeout
            raise
    return stale


def _index_bundle(site_dir: Path, name: str, members: list[str]) -> None:
    """Write bundle `name` of `site_dir` anew from `members` with one Pagefind run."""
    shutil.rmtree(site_dir / name, ignore_errors=True)  # never write through hard links
    # no page at all (an empty site): Pagefind says so itself, as it did for a whole site
    command = [*_command(), "--site", str(site_dir), "--glob", _glob(name, members or ["*.html"]),
               "--output-subdir", name, "--silent"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise KtrackError(f"pagefind failed on {site_dir} ({name}/): no answer in {TIMEOUT} s") from None
    except OSError as exc:
        raise KtrackError(f"pagefind failed on {site_dir} ({name}/): {exc}") from None
    if result.returncode != 0 or not (site_dir / name / "pagefind-entry.json").is_file():
        last = (result.stderr or result.stdout or "no output").strip().splitlines()[-1:]
        raise KtrackError(f"pagefind failed on {site_dir} ({name}/): {' '.join(last)}")
    if name != PRIMARY:
        _drop_ui(site_dir / name)
    (site_dir / name / MARKER).write_text(json.dumps({"pages": members}, indent=0) + "\n")


def _drop_ui(bundle: Path) -> None:
    """Delete what a merged bundle never serves: the UI scripts, styles and WebAssembly (the primary bundle's are used).

    A merged index is fetched as pagefind-entry.json, its .pf_meta and its
    index/, fragment/ and filter/ chunks; the rest is ~650 KB a year of copies.
    """
    for path in bundle.iterdir():
        if path.is_file() and (path.suffix in (".js", ".css") or path.name.startswith("wasm.")):
            path.unlink()
