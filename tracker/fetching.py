"""Run sources: collect them from plugins, fetch the due ones, record how each went.

Each source runs inside one transaction, so a source that fails half-way
leaves no partial rows (its http_cache validators roll back too, so the next
run downloads the data again instead of getting a 304 for it). Its error is
written after the rollback. One failing source never stops the run.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable

from .db import utcnow, write_transaction
from .errors import KtrackError
from .sources import FetchContext, Source

if TYPE_CHECKING:  # the HTTP client (requests) loads when a source is due, not for a run with nothing to fetch
    from .fetch import HttpClient

# The [plugins.<name>] table that holds HttpSettings (see tracker/commands/fetch.py).
HTTP_CONFIG_PLUGIN = "fetch"


@dataclass
class SourceResult:
    """How one source went in one run: plain data for the CLI and tests."""

    name: str
    kind: str
    url: str
    status: str  # "ok", "error" or "skipped" (not due)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def collect_sources(app) -> list[Source]:
    """Return every source the plugins register, in registration order; names must be unique."""
    found: list[Source] = []
    app.host.call("register_sources", register=found.append, config=app.config)
    seen: dict[str, Source] = {}
    for source in found:
        if source.name in seen:
            print(f"ktrack: two sources are named {source.name!r}; keeping the first", file=sys.stderr)
            continue
        seen[source.name] = source
    return list(seen.values())


def make_http_client(app) -> HttpClient:
    """Build the HttpClient from the `[plugins.fetch]` config table."""
    from .fetch import HttpClient, HttpSettings

    table = app.config.get("plugins", {}).get(HTTP_CONFIG_PLUGIN)
    return HttpClient(app.db, settings=HttpSettings.from_config(table))


def select_sources(sources: list[Source], names: list[str] | tuple[str, ...] | None) -> list[Source]:
    """Pick sources by exact name or by prefix before ":" (e.g. "lore" selects every "lore:*")."""
    if not names:
        return list(sources)
    chosen: list[Source] = []
    for name in names:
        matches = [s for s in sources if s.name == name or s.name.startswith(name + ":") or s.kind == name]
        if not matches:
            known = ", ".join(s.name for s in sources) or "none"
            raise KtrackError(f"unknown source {name!r} (known: {known})")
        chosen.extend(s for s in matches if s not in chosen)
    return chosen


def source_rows(app) -> list[dict]:
    """Return one dict per registered source: name, kind, url and its recorded status."""
    db = app.db
    rows = {row["name"]: row for row in db["sources"].rows}
    out = []
    for source in collect_sources(app):
        row = rows.get(source.name, {})
        out.append(
            {
                "name": source.name,
                "kind": source.kind,
                "url": source.url,
                "last_success_at": row.get("last_success_at"),
                "last_error": row.get("last_error"),
                "last_error_at": row.get("last_error_at"),
                "next_due_at": row.get("next_due_at"),
            }
        )
    return out


def run_sources(
    app,
    names=None,
    *,
    force: bool = False,
    http: HttpClient | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[SourceResult]:
    """Fetch each due source (all named ones, or all with `force`); return one SourceResult each."""
    db = app.db
    sources = select_sources(collect_sources(app), names)
    progress = progress or (lambda message: None)
    results = []
    for source in sources:
        row = db["sources"].get(source.name) if _has_row(db, source.name) else {}
        if not (force or names) and not _is_due(row):
            results.append(SourceResult(source.name, source.kind, source.url, "skipped"))
            continue
        http = http or make_http_client(app)  # one client for the run, made when a source is due
        results.append(_run_one(app, db, source, row, http, progress))
    return results


def fetch_once(app, source: Source, *, progress: Callable[[str], None] | None = None) -> list[str]:
    """Run a source a command built for one download (not a registered one); return its warnings.

    Same transaction and HTTP client as a scheduled fetch, but no row in
    `sources`: an on-demand download has no schedule, and `ktrack sources`
    should list only what cron fetches. Raises KtrackError on failure, with
    the database as it was.
    """
    progress = progress or (lambda message: None)
    ctx = FetchContext(db=app.db, http=make_http_client(app), state={}, config=app.config, progress=progress)
    progress(f"{source.name}: fetching {source.url}")
    with write_transaction(app.db):
        source.fetch(ctx)
    return list(ctx.warnings)


def _run_one(app, db, source: Source, row: dict, http: HttpClient, progress) -> SourceResult:
    try:
        state = json.loads(row.get("state_json") or "{}")
    except ValueError:
        state = {}
    ctx = FetchContext(db=db, http=http, state=state, config=app.config, progress=progress)
    progress(f"{source.name}: fetching {source.url}")
    error = None
    try:
        with write_transaction(db):
            source.fetch(ctx)
            now = utcnow()
            record = {
                "name": source.name,
                "kind": source.kind,
                "url": source.url,
                "last_success_at": now,
                "next_due_at": _later(now, source.interval_seconds),
                "state_json": json.dumps(ctx.state, sort_keys=True, default=str),
            }
            if ctx.warnings:  # e.g. a backfill gap that could not be filled: an error kept visible
                record["last_error"] = "; ".join(ctx.warnings)
                record["last_error_at"] = now
            db["sources"].upsert(record, pk="name")
    except KtrackError as exc:
        error = exc.message
    except Exception as exc:  # noqa: BLE001 - a bug in one source must not stop the run
        error = f"{type(exc).__name__}: {exc}"
        if os.environ.get("KTRACK_DEBUG"):
            traceback.print_exc()
    if error is None:
        return SourceResult(source.name, source.kind, source.url, "ok", warnings=list(ctx.warnings))
    error = " ".join(error.split())
    if not error.startswith(source.name):
        error = f"{source.name}: {error}"
    now = utcnow()
    with write_transaction(db):  # after the rollback: only the error lands
        db["sources"].upsert(
            {
                "name": source.name,
                "kind": source.kind,
                "url": source.url,
                "last_error": error,
                "last_error_at": now,
                "next_due_at": _later(now, source.interval_seconds),
            },
            pk="name",
        )
    return SourceResult(source.name, source.kind, source.url, "error", error=error, warnings=list(ctx.warnings))


def _has_row(db, name: str) -> bool:
    return db.execute("select 1 from sources where name = ?", [name]).fetchone() is not None


def _is_due(row: dict) -> bool:
    due = row.get("next_due_at")
    return not due or due <= utcnow()


def _later(now_iso: str, seconds: int) -> str:
    moment = datetime.fromisoformat(now_iso).astimezone(timezone.utc) + timedelta(seconds=seconds)
    return moment.isoformat(timespec="seconds")
