"""What a built site is made of, as one hash: the store, the config, the code, the theme, the day.

The site build compares it with the one stored in the published site's
manifest before collecting anything (tracker/sitebuild.py), and per edition
(tracker/edition_cache.py), so a weekly run with nothing new stops at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .changes import UNSEEN_TABLES  # noqa: F401  (importable from here, as before)
from .theme import theme_dir

# What the edition cache (tracker/edition_cache.py) follows week by week, so left out of what
# every edition shares: the mail tables, and the cache's own tables.
WEEK_TABLES = frozenset({"messages", "series", "series_refs", "site_editions", "site_fragments"})


def _hash_tree(dirs: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for d in dirs:
        for path in sorted(p for p in Path(d).rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(d)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def fingerprint_queries(db, *, exclude: Iterable[str] = ()) -> list[tuple[str, list[str], bool]]:
    """Per table a page may show: its name, the one-aggregate queries that say what it holds, and whether its deletes are counted.

    Rows are inserted (a new highest rowid), deleted (the table's counter in
    `table_deletes`, kept by a trigger the host adds) or, where a table's rows
    change in place, stamped with an `updated_at` column: the store's
    convention, which plugin tables follow too (docs/plugins.md). Each max()
    is its own query so SQLite answers it with one index seek (the rowid's,
    or the updated_at index tracker/changes.py adds). A table without the
    trigger yet (created since the database was opened) or without rowid is
    counted. Full-text index tables are left out: they mirror messages.
    """
    from .changes import quote_name, tracked_tables

    out = []
    exclude = set(exclude)
    for table in tracked_tables(db):
        if table.name in exclude:
            continue
        queries = [f"select {value} from {quote_name(table.name)}" for value, needed in (
            ("max(rowid)", table.has_rowid),
            ("max(updated_at)", table.stamped),
            ("count(*)", not (table.has_rowid and table.counts_deletes)),
        ) if needed]
        out.append((table.name, queries, table.counts_deletes))
    return out


def data_fingerprint(db, *, exclude: Iterable[str] = ()) -> list:
    """What the store holds, in time that does not grow with it: per table its newest row, stamp and deletes."""
    from .changes import DELETES_TABLE

    plan = fingerprint_queries(db, exclude=exclude)
    deletes = dict(db.execute(f"select name, deletes from {DELETES_TABLE}").fetchall()) if any(c for _, _, c in plan) else {}
    out = []
    for name, queries, counted in plan:
        row = [name, *(db.execute(sql).fetchone()[0] for sql in queries)]
        if counted:
            row.append(deletes.get(name, 0))
        out.append(row)
    return out


def _code_stamp(modules) -> list:
    """Size and mtime of the code that renders: the host and every loaded plugin (its whole package)."""
    stamps = []
    for module in modules:
        path = getattr(module, "__file__", None)
        if not path:
            continue
        path = Path(path)
        files = sorted(path.parent.rglob("*")) if path.name == "__init__.py" else [path]
        for f in files:
            if f.suffix in (".py", ".json", ".html", ".css", ".js", ".tsv") and f.is_file():
                st = f.stat()
                stamps.append([str(f), st.st_size, st.st_mtime_ns])
    return stamps


@dataclass(frozen=True)
class SiteInputs:
    """The keys of one site build, from one read of the store and one stat of the code.

    `whole`: everything a page is made of (the store, the config, the code, the
    theme, the day); equal means a build would write the same site, so a no-op
    weekly run stops there instead of assembling every edition. The day is in it
    because an edition may be worded relative to when it is built.
    `per_week`: what every assembled edition shares (tracker/edition_cache.py):
    the mail tables (messages, series, series_refs), which the edition cache adds
    week by week, and what only shapes pages (base URL, search, theme) left out.
    `code`: the host's and the plugins' code, the key of the kept feed entries.
    """

    whole: str
    per_week: str
    code: str


def _digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def site_inputs(app, template_dirs: list[Path], *, base_url: str, search: bool) -> SiteInputs:
    from datetime import date

    import tracker

    from . import __version__

    plugins = [plugin for _, plugin in app.host.pm.list_name_plugin() if plugin is not None]
    host_code, plugin_code = _code_stamp([tracker]), _code_stamp(plugins)
    data = data_fingerprint(app.db)
    shared = {
        "config": app.config,
        "code": [__version__, plugin_code, host_code],
        "plugins": sorted(name for name, plugin in app.host.pm.list_name_plugin() if plugin is not None),
        "day": date.today().isoformat(),
    }
    return SiteInputs(
        whole=_digest({**shared, "data": data, "site": [base_url, search],
                       "theme": _hash_tree([*template_dirs, theme_dir() / "static"])}),
        # an assembled edition is data: the URL, the search index and the theme only shape its page
        per_week=_digest({**shared, "data": [row for row in data if row[0] not in WEEK_TABLES], "site": None, "theme": None}),
        code=json.dumps([__version__, host_code, plugin_code]),
    )
