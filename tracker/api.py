"""The plugin API: everything a plugin may use from the host, in one module.

Built-in feature plugins import from here (or from `tracker`, which re-exports
it) and nowhere else in the host; tests/test_plugin_api.py enforces it. A name
listed here is a promise to third-party plugins: it changes only with
API_VERSION, by semver (a removal or an incompatible change is a major bump),
and every change is in docs/changelog.md. docs/plugins.md documents each name
and the shape of what the store queries return.

Names are resolved on first use (PEP 562 module __getattr__), so
`from tracker.api import Section` loads the edition code and nothing else:
every `ktrack` start imports every plugin module, and `ktrack --help` must stay
fast.
"""

from __future__ import annotations

import importlib
from typing import Any

API_VERSION = "1.2.0"

# name -> "module:attribute" (module relative to tracker)
_EXPORTS = {
    # hooks
    "hookimpl": "hookspecs:hookimpl",
    # errors: raise KtrackError for a user's mistake (one line, non-zero exit)
    "KtrackError": "errors:KtrackError",
    "FetchError": "fetch:FetchError",
    # configuration: a plugin's own validated table, and the settings plugins share
    "plugin_config": "config:plugin_config",
    "Setting": "config:Setting",
    "defaults_of": "config:defaults_of",
    "config_origin": "config:config_origin",
    "lore_base_url": "config:lore_base_url",
    "maintainers_file": "config:maintainers_file",
    # what plugins contribute: edition sections, site pages and feeds, findings, sources
    "Section": "edition:Section",
    "Page": "pages:Page",
    "Feed": "pages:Feed",
    "Finding": "findings:Finding",
    "Source": "sources:Source",
    "FetchContext": "sources:FetchContext",
    # store queries (plain dicts; docs/plugins.md gives their shapes)
    "get_series": "queries:get_series",
    "list_series": "queries:list_series",
    "get_message": "queries:get_message",
    "search_messages": "queries:search_messages",
    "review_counts": "queries:review_counts",
    "review_phrases": "queries:review_phrases",
    "load_findings": "findings:load_findings",
    "write_transaction": "db:write_transaction",
    "utcnow": "db:utcnow",
    "get_meta": "db:get_meta",
    "set_meta": "db:set_meta",
    # storing mail a source fetched, and reading mail files
    "store_raw_messages": "ingest:store_raw_messages",
    "import_paths": "ingest:import_paths",
    "parse_message": "mail:parse_message",
    "normalize_message_id": "mail:normalize_message_id",
    "read_trailers": "patch_text:read_trailers",
    "parse_subject": "subjects:parse_subject",
    "stem_key": "subjects:stem_key",
    "iter_mbox": "mailbox_io:iter_mbox",
    "iter_path": "mailbox_io:iter_path",
    "parse_feed": "fetch:parse_feed",
    "epoch_paths": "public_inbox:epoch_paths",
    "fetch_epoch": "public_inbox:fetch_epoch",
    "read_epoch": "public_inbox:read_epoch",
    "fetch_once": "fetching:fetch_once",
    # kernel versions and weeks
    "parse_version": "versions:parse_version",
    "version_sort_key": "versions:version_sort_key",
    "branch_of": "versions:branch_of",
    "week_bounds": "edition:week_bounds",
    "edition_for": "edition:edition_for",
    # command output
    "print_json": "output:print_json",
    "empty_hint": "job:empty_hint",
}

__all__ = ["API_VERSION", *_EXPORTS]


def __getattr__(name: str) -> Any:
    try:
        target = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'tracker.api' has no attribute {name!r}") from None
    module, attr = target.split(":")
    value = getattr(importlib.import_module(f"tracker.{module}"), attr)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
