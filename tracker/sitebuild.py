"""Build the static site (the theme itself is the tracker.site package): editions, archive, Atom feed, plugin pages, browser search.

Phases (Pelican's shape): collect plain data (editions from the
edition_sections hook, pages from site_pages), turn it into render jobs, then
render only the jobs whose data or theme changed since the last build. A
manifest in the output directory remembers each page's data hash, so a rebuild
with nothing new renders nothing and touches nothing.

A build never writes into the published directory: it hard-links the current
site into a temporary directory beside it, re-renders what changed there, runs
Pagefind, and swaps it in (one atomic renameat2 exchange on Linux, else two
renames). A failure leaves the old site intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .errors import KtrackError
from .edition import edition_path
from .edition_cache import StoredEdition, edition_brief, loaded
from .feeds import FragmentCache, edition_digest, render_atom, render_feed  # noqa: F401  (importable from here too)
from .pages import Feed
from .search_index import merged_bundles, missing_bundles, update_search_index
from .fingerprint import UNSEEN_TABLES, _hash_tree, data_fingerprint, site_inputs  # noqa: F401  (importable from here too)
from .theme import PACKAGE_SITE, app_template_dirs, evidence_words, make_environment, template_search_path, theme_dir  # noqa: F401  (importable from here too)

MANIFEST = ".ktrack-manifest.json"
FEED_ENTRIES = 20
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*(/[A-Za-z0-9_][A-Za-z0-9._+-]*)*$")


@dataclass
class RenderJob:
    """One output file: `template` rendered with `context`, or the Atom feed (`kind="atom"`)."""

    path: str
    template: str
    context: dict[str, Any]
    title: str = ""
    kind: str = "html"
    plugin: str | None = None  # the plugin whose site_pages gave it: a page of its that cannot render is skipped


@dataclass
class BuildStats:
    out: str
    pages: int = 0
    rendered: int = 0
    removed: int = 0
    skipped: list[str] = field(default_factory=list)  # refused paths, one line each
    search_indexed: bool = False
    render_seconds: float = 0.0
    search_seconds: float = 0.0
    search_bundles: list[str] = field(default_factory=list)  # the Pagefind bundles indexed again (tracker/search_index.py)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def safe_page_path(path: Any) -> str | None:
    """Return `path` if it is a plain relative file path inside the site, else None.

    "editions/2026-W48.html" is fine; "../x.html", "/etc/passwd", "a//b", "a\\b" are not.
    """
    if not isinstance(path, str) or not _SAFE_PATH.match(path):
        return None
    if any(part in (".", "..") or part.startswith(".") for part in path.split("/")):
        return None
    return path


def relative_root(path: str) -> str:
    """Return the prefix that leads from `path` back to the site root, e.g. "a/b.html" -> "../"."""
    return "../" * path.count("/")


def _brief(edition) -> dict:
    return edition.brief if isinstance(edition, StoredEdition) else edition_brief(edition)


def edition_summary(edition) -> dict:
    """The few fields the archive and feed need from an edition (a kept one's from its brief)."""
    brief = _brief(edition)
    week = brief["week"]
    return {
        "week": week,
        "title": brief.get("title") or week,
        "start": brief.get("start"),
        "end": brief.get("end"),
        "path": edition_path(week),
        "sections": [dict(section) for section in brief["sections"]],
    }


def site_jobs(editions: list[dict], pages: Iterable, *, site: dict, skipped: list[str] | None = None) -> list[RenderJob]:
    """Turn editions (oldest first) and plugin Pages into render jobs with permanent paths.

    A page may come as (plugin_name, page), so that a page that cannot be
    rendered is skipped naming its plugin instead of stopping the build.
    """
    skipped = skipped if skipped is not None else []
    editions = [e for e in editions if safe_page_path(edition_path(str(e.get("week", ""))))]
    jobs: list[RenderJob] = []
    summaries = [edition_summary(e) for e in editions]
    for index, edition in enumerate(editions):
        around = {"previous": summaries[index - 1] if index else None,
                  "next": summaries[index + 1] if index + 1 < len(summaries) else None}
        jobs.append(RenderJob(edition_path(edition["week"]), "edition.html", {"edition": edition, **around}, edition.get("title", "")))
    latest = editions[-1] if editions else None
    jobs.append(RenderJob("index.html", "index.html", {"edition": latest, "previous": summaries[-2] if len(summaries) > 1 else None}, site.get("title", "")))
    jobs.append(RenderJob("archive.html", "archive.html", {"editions": list(reversed(summaries))}, "Archive"))
    search_page = RenderJob("search.html", "search.html", {}, "Search")
    if site.get("search"):
        jobs.append(search_page)
    jobs.append(RenderJob("feed.xml", "", {"editions": list(reversed(editions[-FEED_ENTRIES:]))}, site.get("title", ""), kind="atom"))
    taken = {job.path for job in jobs}
    for page in pages:
        plugin = None
        if isinstance(page, tuple) and len(page) == 2 and isinstance(page[0], str):
            plugin, page = page
        path = safe_page_path(getattr(page, "path", None))
        is_feed = isinstance(page, Feed)
        if path is None or path in taken or not path.endswith(".xml" if is_feed else ".html"):
            skipped.append(f"site page refused: {getattr(page, 'path', page)!r} (unsafe or duplicate path)")
            continue
        taken.add(path)
        if is_feed:
            jobs.append(RenderJob(path, "", {"entries": list(page.entries)}, page.title, kind="feed", plugin=plugin))
        else:
            jobs.append(RenderJob(path, page.template, dict(page.context), page.title, plugin=plugin))
    search_page.context["bundles"] = merged_bundles(job.path for job in jobs)  # a new year's bundle changes the page
    return jobs


def nav_links(jobs: list[RenderJob], *, search: bool) -> list[dict]:
    """Top navigation: home, archive, every "<dir>/index.html" page, search."""
    nav = [{"title": "Latest", "path": "index.html"}, {"title": "Archive", "path": "archive.html"}]
    for job in sorted(jobs, key=lambda j: j.path):
        if job.path.count("/") == 1 and job.path.endswith("/index.html"):
            nav.append({"title": job.title or job.path.split("/")[0], "path": job.path})
    if search:
        nav.append({"title": "Search", "path": "search.html"})
    return nav


def _is_edition(value: Any) -> bool:
    return isinstance(value, StoredEdition) or (isinstance(value, dict) and "week" in value and "sections" in value)


def _job_hash(job: RenderJob, common: dict, digests: dict | None = None) -> str:
    """What a page is made of: its template, title and context (editions in it by their digest)."""
    context = {}
    for name, value in job.context.items():
        if _is_edition(value):
            value = ["edition", edition_digest(value, digests)]
        elif isinstance(value, list) and value and all(_is_edition(v) for v in value):
            value = ["editions", [edition_digest(v, digests) for v in value]]
        context[name] = value
    payload = json.dumps([job.template, job.kind, job.title, context, common], sort_keys=True, default=str)
    return hashlib.sha1(payload.encode()).hexdigest()


def render_job(env, job: RenderJob, common: dict, fragments: FragmentCache | None = None) -> bytes:
    """Render one job; a broken or missing template is a KtrackError naming the page."""
    import jinja2

    if job.kind == "atom":
        return render_atom(job, common, env, fragments)
    if job.kind == "feed":
        try:
            return render_feed(job, common)
        except (KeyError, TypeError, ValueError) as exc:  # a plugin's malformed entry must not leave a half-built site
            raise KtrackError(f"site feed {job.path}: malformed entry: {type(exc).__name__}: {exc}") from None
    try:
        template = env.get_template(job.template)
        context = {name: loaded(value) for name, value in job.context.items()}  # kept editions decoded here, in the worker
        text = template.render(**context, **common, page_title=job.title, page_path=job.path, root=relative_root(job.path))
    except jinja2.TemplateNotFound as exc:
        raise KtrackError(f"site page {job.path}: template {exc.name!r} not found") from None
    except Exception as exc:  # noqa: BLE001 - a template bug must not leave a half-built site
        raise KtrackError(f"site page {job.path}: template {job.template!r} failed: {type(exc).__name__}: {exc}") from None
    return text.encode()


def _page_cost(job: RenderJob) -> int:
    """How long a page takes to render, roughly: the items of the editions in it."""
    return 50 + sum(section["count"] for value in job.context.values() if _is_edition(value)
                    for section in _brief(value)["sections"])


def _render_changed(env, changed: list[RenderJob], common: dict, fragments, tmp: Path, workers: int | None):
    """Render and write every changed job into `tmp`; yield (job, error line or None).

    HTML pages go through the render pool (every core on a full build); the feeds come after,
    here, because their kept entries (`fragments`) are this process's.
    """
    from .render_pool import render_pages

    pages = [job for job in changed if job.kind == "html"]

    def render_one(job: RenderJob) -> str | None:
        try:
            _write(tmp / job.path, render_job(env, job, common))
        except KtrackError as exc:
            return exc.message
        return None

    yield from zip(pages, render_pages(pages, render_one, costs=[_page_cost(job) for job in pages], workers=workers,
                                       before_fork=lambda: _compile_templates(env, {job.template for job in pages})))
    for job in changed:
        if job.kind != "html":
            try:
                _write(tmp / job.path, render_job(env, job, common, fragments))
                yield job, None
            except KtrackError as exc:
                yield job, exc.message


def _compile_templates(env, names: set[str]) -> None:
    """Load the pages' templates and every partial they may include, so workers share them compiled."""
    import jinja2

    for name in sorted(names | {name for name in env.list_templates() if name.endswith(".html")}):
        try:
            env.get_template(name)
        except jinja2.TemplateError:
            pass  # render_job names the page and the template when it is used


def read_manifest(out: Path) -> dict:
    try:
        data = json.loads((out / MANIFEST).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _manifest_bytes(theme: str, pages: dict, fingerprint: str | None) -> bytes:
    manifest = {"theme": theme, "pages": pages}
    if fingerprint:
        manifest["fingerprint"] = fingerprint
    return json.dumps(manifest, indent=0, sort_keys=True).encode()


def _replace_file(path: Path, data: bytes) -> None:
    """Write beside, then rename over: a reader sees the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write(path: Path, data: bytes) -> None:
    """Write a fresh inode: the temporary tree shares inodes with the published site."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    path.write_bytes(data)


def _link_tree(src: Path, dst: Path) -> None:
    def link(s, d):
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, copy_function=link, symlinks=True)


def build_site(
    jobs: list[RenderJob],
    out: str | Path,
    *,
    site: dict | None = None,
    template_dirs: list[Path] | None = None,
    search: bool = True,
    force: bool = False,
    skipped: list[str] | None = None,
    fingerprint: str | None = None,
    fragments: FragmentCache | None = None,
    workers: int | None = None,
) -> BuildStats:
    """Render changed jobs into a copy of `out`, index it with Pagefind, swap it in; return stats.

    `fingerprint` (see fingerprint.site_inputs) is kept in the manifest when every page rendered, so
    the next build with the same one can stop before collecting anything. `workers`: processes that
    render pages (default: the cores this process may use; see tracker/render_pool.py).
    """
    out = Path(out).expanduser().absolute()
    site = {"title": "kernel-tracker", "base_url": "", **(site or {}), "search": search}
    dirs = template_dirs or template_search_path()
    static = theme_dir() / "static"
    stats = BuildStats(out=str(out), pages=len(jobs), skipped=list(skipped or []))
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST).exists())):
        raise KtrackError(f"refusing to replace {out}: it is not a ktrack site (no {MANIFEST}); choose another --out")
    manifest = {} if force else read_manifest(out)
    theme = _hash_tree([*dirs, static])
    if fragments is not None:
        fragments.stamp = json.dumps([fragments.stamp, theme, site.get("title")])
    same_theme = manifest.get("theme") == theme
    old_pages = manifest.get("pages", {}) if same_theme else {}
    common = {"site": site, "nav": nav_links(jobs, search=search)}
    digests = fragments.digests if fragments is not None else {}
    hashes = {job.path: _job_hash(job, common, digests) for job in jobs}
    changed = [job for job in jobs if old_pages.get(job.path) != hashes[job.path]]
    removed = sorted(set(manifest.get("pages", {})) - set(hashes))
    search_missing = search and bool(missing_bundles(out, hashes))
    if out.exists() and not changed and not removed and same_theme and not search_missing:
        if fingerprint and manifest.get("fingerprint") != fingerprint:
            _replace_file(out / MANIFEST, _manifest_bytes(theme, hashes, fingerprint))
        return stats

    tmp = out.parent / f".{out.name}.building-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        if out.exists():
            _link_tree(out, tmp)
        else:
            tmp.mkdir(parents=True)
        started = time.perf_counter()
        env = make_environment(dirs)
        for job, error in _render_changed(env, changed, common, fragments, tmp, workers):
            if error is None:
                stats.rendered += 1
                continue
            if job.plugin is None:
                raise KtrackError(error)  # the theme's own pages: a broken theme stops the build, the old site stays
            # One plugin's broken page must not cost the reader the rest of the site.
            stats.skipped.append(f"plugin {job.plugin}: {error} (page skipped)")
            (tmp / job.path).unlink(missing_ok=True)
            del hashes[job.path]  # not in the manifest: tried again next build
        for path in removed:
            if safe_page_path(path):
                (tmp / path).unlink(missing_ok=True)
        stats.removed = len(removed)
        if not same_theme or not (tmp / "static").is_dir():
            shutil.rmtree(tmp / "static", ignore_errors=True)
            shutil.copytree(static, tmp / "static")
        stats.render_seconds = time.perf_counter() - started
        if search:
            started = time.perf_counter()
            stats.search_bundles = update_search_index(tmp, hashes, [job.path for job in changed] + removed)
            stats.search_indexed = True
            stats.search_seconds = time.perf_counter() - started
        render_failed = any(line.endswith("(page skipped)") for line in stats.skipped)
        _write(tmp / MANIFEST, _manifest_bytes(theme, hashes, None if render_failed else fingerprint))
        swap_in(tmp, out)
    except OSError as exc:
        # Name the output directory the user gave, not the temporary one beside it.
        shutil.rmtree(tmp, ignore_errors=True)
        raise KtrackError(f"cannot write the site to {out}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return stats


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with Linux renameat2(RENAME_EXCHANGE); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def swap_in(new: Path, out: Path) -> None:
    """Replace `out` by `new`: one atomic exchange where the kernel allows, else two renames."""
    if not out.exists():
        os.rename(new, out)
        return
    if _exchange(new, out):
        shutil.rmtree(new, ignore_errors=True)  # `new` now holds the previous site
        return
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    os.rename(out, old)
    os.rename(new, out)
    shutil.rmtree(old, ignore_errors=True)


def run_pagefind(site_dir: Path) -> None:
    """Index the whole of `site_dir` as one bundle (how builds did before tracker/search_index.py; bench/site_search.py compares)."""
    shutil.rmtree(site_dir / "pagefind", ignore_errors=True)  # never write through hard links
    command = [sys.executable, "-m", "pagefind", "--site", str(site_dir), "--silent"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KtrackError(f"pagefind failed on {site_dir}: {exc}") from None
    if result.returncode != 0 or not (site_dir / "pagefind").is_dir():
        last = (result.stderr or result.stdout or "no output").strip().splitlines()[-1:]
        raise KtrackError(f"pagefind failed on {site_dir}: {' '.join(last)}")


def collect_site(app, *, search: bool = True, global_inputs: str | None = None, reuse: bool = True,
                 digests: dict | None = None) -> tuple[list[RenderJob], list[str]]:
    """Assemble every edition and plugin page from the database into render jobs.

    With `global_inputs` (fingerprint.site_inputs(...).per_week), editions whose
    inputs did not change since the last build are taken from the edition
    cache (tracker/edition_cache.py) instead of being assembled again;
    `reuse=False` assembles them all and refreshes the cache. `digests` (a FragmentCache's) learns
    each cached edition's digest from its kept JSON.
    """
    from .edition import assemble_edition, edition_weekday, edition_weeks

    site_config = app.config.get("site") or {}
    weeks = edition_weeks(app.db, weekday=edition_weekday(app.config))
    if global_inputs is None:
        editions = [assemble_edition(app, week) for week in weeks]
    else:
        from .edition_cache import assemble_editions

        editions = assemble_editions(app, weeks, global_inputs, reuse=reuse, digests=digests)
    pages = []
    for plugin, result in app.host.call_each("site_pages", db=app.db, config=app.config):
        pages.extend((plugin, page) for page in (result if isinstance(result, (list, tuple)) else [result]))
    skipped: list[str] = []
    site = {"title": site_config.get("title") or "kernel-tracker", "search": search}
    jobs = site_jobs(editions, pages, site=site, skipped=skipped)
    return jobs, skipped


def build_app_site(app, out: str | Path | None = None, *, base_url: str | None = None, template_dir: str | None = None, search: bool = True, force: bool = False) -> BuildStats:
    """Build the site of `app`'s database into `out` (or `[site] out`)."""
    site_config = app.config.get("site") or {}
    out = out or site_config.get("out")
    if not out:
        raise KtrackError("no output directory: pass --out DIR or set [site] out in the config")
    base_url = site_config.get("base_url") if base_url is None else base_url
    if base_url and not base_url.endswith("/"):
        base_url += "/"
    dirs = app_template_dirs(app, template_dir)
    inputs = site_inputs(app, dirs, base_url=base_url or "", search=search)
    out_path = Path(out).expanduser().absolute()
    published = read_manifest(out_path)
    if not force and published.get("fingerprint") == inputs.whole and (not search or not missing_bundles(out_path, published.get("pages", {}))):
        # Nothing the pages are made of changed: the published site is what a build would write.
        return BuildStats(out=str(out_path), pages=len(published.get("pages", {})))
    # feed entries rendered by earlier builds, valid while the host's code is the same (its theme is in the key too)
    fragments = FragmentCache(inputs.code)
    # force: a full build assembles every edition too (and refreshes the edition cache)
    jobs, skipped = collect_site(app, search=search, global_inputs=inputs.per_week, reuse=not force,
                                 digests=fragments.digests)
    for line in skipped:
        print(f"ktrack: {line}", file=sys.stderr)
    site = {"title": site_config.get("title") or "kernel-tracker", "base_url": base_url or ""}
    if not force:  # --force renders every feed entry anew too
        fragments.load(app.db)
    stats = build_site(jobs, out, site=site, template_dirs=dirs, search=search, force=force, skipped=skipped,
                       fingerprint=inputs.whole, fragments=fragments)
    if fragments.used:
        fragments.save(app.db)
    for line in stats.skipped[len(skipped):]:
        print(f"ktrack: {line}", file=sys.stderr)
    return stats
