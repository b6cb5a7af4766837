"""The site build decides what changed from a stored fingerprint before collecting anything (issue 19.1).

A no-op weekly run must not assemble every edition again; any change to what the
pages are made of (the store, a plugin table stamped in place, the config, the
theme) must still rebuild, to exactly what a forced full build writes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracker import hookimpl
from tracker.sitebuild import MANIFEST, build_app_site, read_manifest

DATA = Path(__file__).parent / "data"


class Counting:
    """A plugin that counts how often editions are assembled."""

    def __init__(self):
        self.calls = 0

    @hookimpl
    def edition_sections(self, edition):
        self.calls += 1
        return []


@pytest.fixture
def site_app(app):
    from tracker.ingest import import_paths

    import_paths(app.db, [DATA / "stable-reviews" / "2.6.14.7-review.mbox"])
    counter = Counting()
    app.host.pm.register(counter, name="counting")
    app.counter = counter
    return app


def pages(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and p.name != MANIFEST}


def test_nothing_changed_stops_before_collecting(site_app, tmp_path):
    out = tmp_path / "site"
    build_app_site(site_app, out, search=False)
    assert site_app.counter.calls > 0 and read_manifest(out).get("fingerprint")
    site_app.counter.calls = 0
    stats = build_app_site(site_app, out, search=False)
    assert site_app.counter.calls == 0  # no edition assembled
    assert stats.rendered == 0 and stats.pages == len(read_manifest(out)["pages"])


def test_new_mail_rebuilds_to_what_a_full_build_writes(site_app, tmp_path):
    from tracker.ingest import import_paths

    out = tmp_path / "site"
    build_app_site(site_app, out, search=False)
    import_paths(site_app.db, [DATA / "stable-reviews" / "4.19.107-review-cover.eml"])
    site_app.counter.calls = 0
    build_app_site(site_app, out, search=False)
    assert site_app.counter.calls > 0
    full = tmp_path / "full"
    build_app_site(site_app, full, search=False, force=True)
    assert pages(out) == pages(full)
    assert "editions/2020-W09.html" in pages(out)  # the 4.19.107 review's week


def test_a_row_stamped_in_place_rebuilds(site_app, tmp_path):
    out = tmp_path / "site"
    build_app_site(site_app, out, search=False)
    site_app.db.execute("update series set subject = subject || ' (renamed)', updated_at = '2099-01-01T00:00:00'")
    site_app.db.conn.commit()
    site_app.counter.calls = 0
    build_app_site(site_app, out, search=False)
    assert site_app.counter.calls > 0


def test_config_and_theme_changes_rebuild(site_app, tmp_path):
    out = tmp_path / "site"
    build_app_site(site_app, out, search=False)
    site_app.counter.calls = 0
    build_app_site(site_app, out, search=False, base_url="https://kt.example.org/")
    assert site_app.counter.calls > 0
    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "extra.html").write_text("x")
    site_app.counter.calls = 0
    build_app_site(site_app, out, search=False, base_url="https://kt.example.org/", template_dir=str(theme))
    assert site_app.counter.calls > 0


def test_fetch_bookkeeping_alone_does_not_rebuild(site_app, tmp_path):
    """A weekly run's fetch stamps its sources even when nothing new came: no page shows that."""
    out = tmp_path / "site"
    build_app_site(site_app, out, search=False)
    site_app.db["sources"].insert({"name": "kernelorg", "last_success_at": "2026-12-03T00:00:00"}, alter=True)
    site_app.counter.calls = 0
    build_app_site(site_app, out, search=False)
    assert site_app.counter.calls == 0


# -- per-edition reuse: after new mail, only the editions whose inputs changed are assembled again

EXCERPT = DATA / "lists" / "linux-api-2021-excerpt.mbox.gz"


class WeekCounting:
    """Counts the weeks assembled; declares it reads only what the edition cache tracks."""

    edition_inputs = "week"

    def __init__(self):
        self.weeks: list[str] = []

    @hookimpl
    def edition_sections(self, edition):
        self.weeks.append(edition["week"])
        return []


def _split_excerpt(tmp_path: Path, cutoff: str) -> tuple[Path, Path]:
    """The excerpt as two mboxes: the mail that comes later is the replies (no diff, so no new findings:
    a new finding changes every edition) dated from `cutoff` on, and a third of one old week's."""
    import gzip
    import mailbox
    from email.utils import parsedate_to_datetime

    raw = tmp_path / "excerpt.mbox"
    raw.write_bytes(gzip.decompress(EXCERPT.read_bytes()))
    first, later = mailbox.mbox(tmp_path / "first.mbox"), mailbox.mbox(tmp_path / "later.mbox")
    for index, message in enumerate(mailbox.mbox(raw)):
        try:
            day = parsedate_to_datetime(message["Date"]).astimezone().strftime("%Y-%m-%d")
        except (TypeError, ValueError):
            day = "0000"
        reply = str(message["Subject"] or "").lower().startswith("re:")
        late = reply and (day >= cutoff or ("2021-02-01" <= day < "2021-02-08" and index % 3 == 0))
        (later if late else first).add(message)
    first.flush()
    later.flush()
    return Path(first._path), Path(later._path)


@pytest.fixture
def builtin_app(db_path, tmp_path, monkeypatch):
    """An App with the built-in plugins only (an installed example plugin would turn reuse off) and a week counter."""
    from tracker.app import App
    from tracker.plugin_host import BUILTIN_PLUGINS

    monkeypatch.delenv("KTRACK_CONFIG", raising=False)
    monkeypatch.setenv("KTRACK_LOAD_PLUGINS", ",".join(BUILTIN_PLUGINS))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    app = App(db_path=db_path)
    app.counter = WeekCounting()
    app.host.pm.register(app.counter, name="week-counting")
    return app


def _weeks_of(out: Path) -> set[str]:
    return {p.stem for p in (out / "editions").glob("*.html")}


def test_new_mail_reassembles_only_changed_editions_and_matches_a_full_build(builtin_app, tmp_path):
    from tracker.analyze import run_analysis
    from tracker.ingest import import_paths

    app = builtin_app
    first, later = _split_excerpt(tmp_path, "2021-10-01")
    import_paths(app.db, [first])
    run_analysis(app)
    out = tmp_path / "site"
    build_app_site(app, out, search=False)
    before = _weeks_of(out)
    assert len(before) > 4
    import_paths(app.db, [later])  # new weeks, replies to old series, and old mail that came late
    run_analysis(app)
    app.counter.weeks = []
    build_app_site(app, out, search=False)
    assembled = set(app.counter.weeks)
    everything = _weeks_of(out)
    assert assembled and assembled < everything  # some editions were reused ...
    full = tmp_path / "full"
    build_app_site(app, full, search=False, force=True)
    assert pages(out) == pages(full)  # ... and the site is what a forced full build writes
    # nothing new: nothing assembled, the same site
    app.counter.weeks = []
    app.db.execute("update series set updated_at = updated_at")  # no-op write
    build_app_site(app, out, search=False)
    assert app.counter.weeks == []


def test_a_late_thread_root_reassembles_the_weeks_that_reply_to_it(builtin_app, tmp_path):
    """Discussions read a thread's root by Message-ID: a root imported after its replies changes their week."""
    from tracker.ingest import import_paths

    app = builtin_app
    src = DATA / "discussions" / "linux-api-2021-W46-threads.mbox"
    import mailbox

    box = mailbox.mbox(src)
    messages = list(box)
    replied = {m["In-Reply-To"].strip() for m in messages if m["In-Reply-To"]}
    roots = [m for m in messages if m["Message-ID"].strip() in replied and not m["In-Reply-To"]]
    assert roots
    held = roots[0]["Message-ID"].strip()
    rest, late = mailbox.mbox(tmp_path / "rest.mbox"), mailbox.mbox(tmp_path / "late.mbox")
    for m in messages:
        (late if m["Message-ID"].strip() == held else rest).add(m)
    rest.flush()
    late.flush()
    import_paths(app.db, [Path(rest._path)])
    out = tmp_path / "site"
    build_app_site(app, out, search=False)
    # the root comes late, re-dated to another week: its replies' week must still change
    text = Path(late._path).read_text()
    import re

    text = re.sub(r"(?m)^Date: .*$", "Date: Mon, 3 Jan 2022 10:00:00 +0000", text, count=1)
    Path(late._path).write_text(text)
    import_paths(app.db, [Path(late._path)])
    app.counter.weeks = []
    build_app_site(app, out, search=False)
    assert "2021-W46" in app.counter.weeks
    full = tmp_path / "full"
    build_app_site(app, full, search=False, force=True)
    assert pages(out) == pages(full)


def test_an_undeclared_edition_plugin_reassembles_every_edition(builtin_app, tmp_path):
    """A plugin that may read anything (no edition_inputs) turns reuse off: every edition is assembled again."""
    from tracker.ingest import import_paths

    app = builtin_app
    first, later = _split_excerpt(tmp_path, "2021-10-01")
    import_paths(app.db, [first])
    app.host.pm.register(Counting(), name="counting")  # the undeclared one
    out = tmp_path / "site"
    build_app_site(app, out, search=False)
    import_paths(app.db, [later])
    app.counter.weeks = []
    build_app_site(app, out, search=False)
    assert set(app.counter.weeks) == _weeks_of(out)


class FailingOnce:
    """An edition plugin that fails in its first build of 2021-W46 only."""

    edition_inputs = "week"

    def __init__(self):
        self.calls = 0

    @hookimpl
    def edition_sections(self, edition):
        from tracker.api import Section

        if edition["week"] != "2021-W46":
            return []
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("transient")
        return [Section(key="once", title="Once", items=[{"text": "recovered"}])]


def test_an_edition_a_plugin_failed_in_is_not_kept(builtin_app, tmp_path):
    from tracker.ingest import import_paths

    app = builtin_app
    import_paths(app.db, [DATA / "discussions" / "linux-api-2021-W46-threads.mbox"])
    app.host.pm.register(FailingOnce(), name="failing-once")
    out = tmp_path / "site"
    build_app_site(app, out, search=False)
    assert "recovered" not in (out / "editions" / "2021-W46.html").read_text()
    build_app_site(app, out, search=False, base_url="https://kt.example.org/")  # something changed: a rebuild
    assert "recovered" in (out / "editions" / "2021-W46.html").read_text()


def test_kept_editions_stay_encoded_until_a_page_renders_them(builtin_app, tmp_path):
    """A full build into an empty directory decodes a kept edition only to render its pages (issue 19)."""
    from tracker.analyze import run_analysis
    from tracker.edition_cache import StoredEdition
    from tracker.fingerprint import site_inputs
    from tracker.ingest import import_paths
    from tracker.sitebuild import collect_site
    from tracker.theme import app_template_dirs

    app = builtin_app
    import_paths(app.db, [EXCERPT])
    run_analysis(app)
    build_app_site(app, tmp_path / "first", search=False)  # keeps every edition
    inputs = site_inputs(app, app_template_dirs(app, None), base_url="", search=False)
    jobs, _ = collect_site(app, search=False, global_inputs=inputs.per_week, digests={})
    kept = [job.context["edition"] for job in jobs if job.template == "edition.html"]
    assert kept and all(isinstance(e, StoredEdition) and e._data is None for e in kept)
    assert [e["week"] for e in kept] == sorted(e["week"] for e in kept) and "sections" in kept[0]
    assert all(e._data is None for e in kept)  # the header and the keys are read from the brief
    with pytest.raises(TypeError):
        json.dumps(kept[0])  # never serialised as if it were an empty dict
    build_app_site(app, tmp_path / "again", search=False)
    build_app_site(app, tmp_path / "forced", search=False, force=True)
    assert pages(tmp_path / "again") == pages(tmp_path / "forced") == pages(tmp_path / "first")


def test_week_stamps_are_read_again_after_any_change_to_the_mail(builtin_app, tmp_path):
    """The kept week stamps (edition_cache._week_stamps) serve only while the mail tables are as they were."""
    from tracker.analyze import run_analysis
    from tracker.edition_cache import STAMPS_KEY, _read_week_stamps
    from tracker.db import get_meta
    from tracker.edition import edition_weekday
    from tracker.ingest import import_paths

    app = builtin_app
    import_paths(app.db, [EXCERPT])
    run_analysis(app)
    out = tmp_path / "site"
    build_app_site(app, out, search=False)
    kept = json.loads(get_meta(app.db, STAMPS_KEY))
    assert kept["stamps"] == json.loads(json.dumps(_read_week_stamps(app.db, edition_weekday(app.config))))
    # a reply deleted by hand from an old week: its week's stamp changes, and its edition with it
    victim = app.db.execute("select rowid, date from messages where is_patch = 0 and is_cover = 0 "
                            "and in_reply_to is not null order by date limit 1").fetchone()
    with app.db.conn:
        app.db.execute("delete from messages where rowid = ?", [victim[0]])
    app.counter.weeks = []
    build_app_site(app, out, search=False)
    assert app.counter.weeks  # some edition was assembled again
    assert json.loads(get_meta(app.db, STAMPS_KEY))["key"] != kept["key"]
    full = tmp_path / "full"
    build_app_site(app, full, search=False, force=True)
    assert pages(out) == pages(full)


def test_week_stamps_after_new_mail_are_those_of_a_whole_read(builtin_app):
    """New mail updates the kept message stamps day by day (edition_cache._week_stamps): late mail
    for old weeks and mail of new days give exactly what grouping every message again gives; a
    delete reads everything again."""
    from tracker.edition import edition_weekday
    from tracker.edition_cache import STAMPS_KEY, _read_week_stamps, _week_stamps
    from tracker.db import get_meta
    from tracker.ingest import store_raw_messages
    from tracker.mailbox_io import iter_mbox

    app = builtin_app
    raws = [raw for raw, _ in iter_mbox(EXCERPT)]
    weekday = edition_weekday(app.config)
    first, late = raws[::2], raws[1::2]  # the second half lands in weeks the first already has, and in new days
    store_raw_messages(app.db, first)
    before = json.loads(json.dumps(_week_stamps(app.db, weekday)))
    store_raw_messages(app.db, late)
    full = json.loads(json.dumps(_read_week_stamps(app.db, weekday)))
    assert full != before
    assert json.loads(json.dumps(_week_stamps(app.db, weekday))) == full
    assert json.loads(get_meta(app.db, STAMPS_KEY))["marks"][1] == app.db.execute("select max(rowid) from messages").fetchone()[0]
    # a delete (counted by the host's trigger) cannot be followed day by day: everything is read again
    with app.db.conn:
        app.db.execute("delete from messages where rowid = (select min(rowid) from messages)")
    assert json.loads(json.dumps(_week_stamps(app.db, weekday))) == json.loads(json.dumps(_read_week_stamps(app.db, weekday)))


def test_assembled_editions_are_held_encoded_and_rendered_without_keeping_them_decoded(builtin_app, tmp_path):
    """Editions assembled in a site build (a first build, `--force`, a new theme or version) are held as
    kept ones are, their text and brief; rendering a page decodes one for that page only."""
    from tracker.analyze import run_analysis
    from tracker.edition_cache import StoredEdition, loaded
    from tracker.fingerprint import site_inputs
    from tracker.ingest import import_paths
    from tracker.sitebuild import collect_site
    from tracker.theme import app_template_dirs

    app = builtin_app
    import_paths(app.db, [EXCERPT])
    run_analysis(app)
    inputs = site_inputs(app, app_template_dirs(app, None), base_url="", search=False)
    jobs, _ = collect_site(app, search=False, global_inputs=inputs.per_week, digests={}, reuse=False)
    assembled = [job.context["edition"] for job in jobs if job.template == "edition.html"]
    assert assembled and all(isinstance(e, StoredEdition) and e._data is None for e in assembled)
    page = loaded(assembled[0])
    assert isinstance(page, dict) and page["week"] == assembled[0]["week"] and assembled[0]._data is None
    # without a build's digests (the digest command) an edition stays the dict it was assembled as
    plain, _ = collect_site(app, search=False, global_inputs=inputs.per_week, reuse=False)
    assert all(isinstance(job.context["edition"], dict) for job in plain if job.template == "edition.html")
