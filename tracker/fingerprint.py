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

from .theme import theme_dir


def _hash_tree(dirs: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for d in dirs:
        for path in sorted(p for p in Path(d).rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(d)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


# Tables whose changes never show on a page: fetch bookkeeping and marks.
UNSEEN_TABLES = frozenset({"sources", "http_cache", "meta", "site_editions", "site_fragments"})


def data_fingerprint(db, *, exclude: Iterable[str] = ()) -> list:
    """What the store holds, cheaply: per table its row count, highest rowid and newest updated_at.

    Rows are inserted (a new rowid) or, where a table's rows change in place,
    stamped with an `updated_at` column: the store's convention, which plugin
    tables follow too (docs/plugins.md). Full-text index tables are left out:
    they mirror messages.
    """
    rows = db.execute(
        "select name, sql from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name"
    ).fetchall()
    virtual = [name for name, sql in rows if (sql or "").upper().startswith("CREATE VIRTUAL")]
    out = []
    exclude = set(exclude)
    for name, _ in rows:
        if name in UNSEEN_TABLES or name in exclude or any(name == v or name.startswith(v + "_") for v in virtual):
            continue
        columns = {c[1] for c in db.execute(f"pragma table_info([{name}])")}
        parts = ["count(*)"]
        if "updated_at" in columns:
            parts.append("max(updated_at)")
        try:
            out.append([name, *db.execute(f"select {', '.join(parts)}, max(rowid) from [{name}]").fetchone()])
        except Exception:  # noqa: BLE001 - a WITHOUT ROWID table: its count and stamp
            out.append([name, *db.execute(f"select {', '.join(parts)} from [{name}]").fetchone()])
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
    from .edition_cache import WEEK_TABLES

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
