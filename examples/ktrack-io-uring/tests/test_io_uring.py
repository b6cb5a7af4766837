"""Tests of the io_uring plugin against a real temporary store holding real linux-api mail."""

import json

import pytest

import ktrack_io_uring
from tracker.edition import edition_for
from tracker.errors import KtrackError
from tracker.testing import import_mbox, make_app


def test_matching_files_uses_directory_prefixes_and_exact_files():
    paths = ktrack_io_uring.config_defaults()["paths"]
    files = ["io_uring/rw.c", "fs/io-wq.c", "include/uapi/linux/io_uring.h", "fs/io_uringx.c", "kernel/futex.c"]
    assert ktrack_io_uring.matching_files(files, paths) == files[:3]


def test_subject_matches_prefix_after_patch_tags():
    prefixes = ["io_uring", "io-wq"]
    assert ktrack_io_uring.subject_matches("[PATCH v3] io-wq: provide IO_WQ_* constants", prefixes)
    assert ktrack_io_uring.subject_matches("io_uring/net: fix a leak", prefixes)
    assert not ktrack_io_uring.subject_matches("futex2: Implement vectorized wait", prefixes)
    assert not ktrack_io_uring.subject_matches("io_uringish: nope", prefixes)


def test_plugin_is_registered_with_its_hooks(ktrack_cli):
    result = ktrack_cli("plugins", "--all", "--json")
    assert result.exit_code == 0, result.output
    infos = {info["name"]: info for info in json.loads(result.output)}
    assert infos["io_uring"]["hooks"] == ["claim_series", "config_defaults", "edition_sections", "site_pages", "template_dirs"]


def test_config_defaults_fill_the_plugin_table(ktrack_app):
    table = ktrack_app.config["plugins"]["io_uring"]
    assert table["page"] == "io_uring/index.html"
    assert "io_uring/" in table["paths"]


def test_config_unknown_key_is_an_error(tmp_path):
    app = make_app(tmp_path / "k.db", plugins=[ktrack_io_uring],
                   config={"plugins": {"io_uring": {"pages": "x.html"}}})
    with pytest.raises(KtrackError, match="unknown key plugins.io_uring.pages"):
        app.config


def test_edition_section_lists_the_weeks_io_uring_series(ktrack_app, ktrack_db, week_mbox):
    import_mbox(ktrack_app, week_mbox)
    sections = [s for result in ktrack_app.host.call(
        "edition_sections", edition=edition_for("2021-W37"), db=ktrack_db, config=ktrack_app.config)
        for s in result]
    section = next(s for s in sections if s.key == "io_uring")
    # v1 was posted on Sunday 12 Sep (week 36); v2 and v3 on Monday 13 Sep; futex2 is not io_uring.
    assert [(i["version"], i["subject"][:6]) for i in section.items] == [(2, "io-wq:"), (3, "io-wq:")]
    assert section.items[0]["files"] == ["fs/io-wq.c", "include/uapi/linux/io_uring.h"]
    assert section.items[0]["link"].startswith("https://lore.kernel.org/r/20210913104101.GA29616@asgard.redhat.com")
    assert section.items[0]["text"].endswith("(v2, 1 patch)")


def test_claimed_series_are_not_repeated_under_patches_and_updates(ktrack_app, ktrack_db, week_mbox):
    from tracker.edition import assemble_edition

    import_mbox(ktrack_app, week_mbox)
    edition = assemble_edition(ktrack_app, "2021-W37")
    sections = {s["key"]: s for s in edition["sections"]}
    ours = {i["series_key"] for i in sections["io_uring"]["items"]}
    assert len(ours) == 2
    patches = {i["series_key"] for i in sections["patches"]["items"]}
    patches |= {e["series_key"] for i in sections["patches"]["items"] for e in i["earlier"]}
    assert patches and not ours & patches  # futex2 and xfrm stay there; io-wq is told once, in our section


def test_edition_section_is_absent_in_a_week_without_io_uring(ktrack_app, ktrack_db, week_mbox):
    import_mbox(ktrack_app, week_mbox)
    results = ktrack_app.host.call("edition_sections", edition=edition_for("2021-W30"), db=ktrack_db, config=ktrack_app.config)
    assert all(s.key != "io_uring" for result in results for s in result)


def test_site_page_is_rendered_with_the_plugin_template(ktrack_app, ktrack_db, week_mbox, tmp_path):
    from tracker.sitebuild import build_app_site

    import_mbox(ktrack_app, week_mbox)
    build_app_site(ktrack_app, tmp_path / "site", search=False)
    html = (tmp_path / "site" / "io_uring" / "index.html").read_text()
    assert "<h1>io_uring series</h1>" in html  # our template, not the generic page.html
    assert html.count("io-wq:") == 3  # v1, v2, v3 (all time), newest first
    assert html.index("IO_WQ_* constants") < html.index("expose IO_WQ_ACCT_*")
    assert "futex" not in html


def test_config_moves_the_page(tmp_path, week_mbox):
    app = make_app(tmp_path / "k.db", plugins=[ktrack_io_uring],
                   config={"plugins": {"io_uring": {"page": "subsystems/io_uring.html"}}})
    pages = [p for result in app.host.call("site_pages", db=app.db, config=app.config) for p in result]
    assert [p.path for p in pages if p.template == "io_uring.html"] == ["subsystems/io_uring.html"]

