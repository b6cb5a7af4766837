"""Watched topics are searched on lore: one query per topic, asked of a real public-inbox holding 2019 linux-api mail."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import requests
from fetch_helpers import configure
from public_inbox import require_tools, running_public_inbox

from tracker.fetching import run_sources
from tracker.plugins.watch.matching import watched_series
from tracker.plugins.watch.topics import lore_query, topics

BUNDLE = "lists/linux-api-epoch0-first400.bundle"
DAYS = (datetime.now(timezone.utc) - datetime(2019, 5, 1, tzinfo=timezone.utc)).days  # reaches back to the 2019 mail


@pytest.fixture(scope="module")
def public_inbox(data_dir, tmp_path_factory):
    require_tools()
    with running_public_inbox(data_dir / BUNDLE, tmp_path_factory.mktemp("public-inbox")) as (base, _):
        yield base


def watch_config(base: str, topic: str, *, search: bool = True) -> str:
    return (f'[plugins.lore]\nbase_url = "{base}"\nlists = []\n'
            f"[plugins.watch]\nlore_search = {'true' if search else 'false'}\nlore_days = {DAYS}\n{topic}")


def test_each_rule_of_a_topic_finds_its_mail_on_public_inbox(public_inbox):
    """Every clause lore_query writes is one public-inbox understands: each finds something alone."""
    rules = {"paths": ["fs/namei.c", "include/uapi/linux/"], "prefixes": ["namei"], "words": ["O_BENEATH"],
             "people": ["cyphar@cyphar.com"]}
    for rule, values in rules.items():
        topic = {"paths": [], "prefixes": [], "words": [], "people": [], rule: values}
        response = requests.get(f"{public_inbox}/all/", params={"q": lore_query(topic), "x": "A"}, timeout=20)
        assert response.status_code == 200 and "<entry>" in response.text, (rule, lore_query(topic))
    everything = {"paths": ["fs/namei.c"], "prefixes": ["pidfd"], "words": [], "people": []}
    recent = requests.get(f"{public_inbox}/all/", params={"q": lore_query(everything) + " d:1.days.ago..", "x": "A"}, timeout=20)
    assert recent.status_code == 404  # the date limits every clause, not only the last one


def test_watch_source_fetches_a_topics_series_then_the_watch_lists_them(app, ktrack, tmp_path, public_inbox):
    topic = '[plugins.watch.topics.path-walk]\ntitle = "Path walking"\npaths = ["fs/namei.c"]\n'
    configure(app, tmp_path, watch_config(public_inbox, topic))
    names = [s["name"] for s in json.loads(ktrack("sources", "--json").output)]
    assert "lore-query:watch:path-walk" in names
    [result] = run_sources(app, ["lore-query:watch:path-walk"])
    assert result.ok and not result.warnings, (result.error, result.warnings)
    found = watched_series(app.db, topics(app.config)["path-walk"])
    assert found and all(any(w == "touches fs/namei.c" for w in s["why"]) for s in found)
    assert any("O_BENEATH" in s["subject"] or "resolveat" in s["subject"] for s in found)
    stored = app.db["messages"].count
    [again] = run_sources(app, ["lore-query:watch:path-walk"])  # nothing new: nothing stored twice
    assert again.ok and app.db["messages"].count == stored


def test_watch_lore_search_can_be_turned_off(app, ktrack, tmp_path, public_inbox):
    topic = '[plugins.watch.topics.path-walk]\npaths = ["fs/namei.c"]\n'
    configure(app, tmp_path, watch_config(public_inbox, topic, search=False))
    names = [s["name"] for s in json.loads(ktrack("sources", "--json").output)]
    assert not any(n.startswith("lore-query:watch:") for n in names)
