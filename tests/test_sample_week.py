"""The built-in sample (`ktrack run --sample`): its newest week reads like a kernel page, from real mail only."""

from __future__ import annotations

import pytest
from click.testing import CliRunner


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from tracker.app import App
    from tracker.cli import build_cli

    tmp = tmp_path_factory.mktemp("sample")
    mp = pytest.MonkeyPatch()
    mp.delenv("KTRACK_LOAD_PLUGINS", raising=False)
    mp.delenv("KTRACK_CONFIG", raising=False)
    mp.setenv("XDG_CONFIG_HOME", str(tmp / "xdg"))
    try:
        app = App(db_path=tmp / "sample.db")
        result = CliRunner().invoke(build_cli(app), ["--db", str(tmp / "sample.db"), "run", "--sample", "--out", str(tmp / "site")],
                                    obj=app)
        assert result.exit_code == 0, result.output
        from tracker.edition import assemble_edition

        edition = assemble_edition(app, "2021-W46")
    finally:
        mp.undo()
    return tmp / "site", edition


def test_sample_is_small():
    from tracker.job import SAMPLE_DIR

    size = sum(p.stat().st_size for p in SAMPLE_DIR.iterdir() if p.is_file())
    assert size < 500_000, size


def test_sample_front_page_week_has_every_kind_of_news(sample):
    out, edition = sample
    sections = {s["key"]: s for s in edition["sections"]}
    assert list(sections) == ["release-status", "discussions", "syscalls", "sysctls", "patches"]
    # the release data is what the tracker knew: eleven months old, said so, never "current"
    status = [i["text"] for i in sections["release-status"]["items"]]
    assert status[0].startswith("No kernel release data from this week") and "11 months" in status[0]
    assert not any("current" in t for t in status)
    # discussions, patch or not
    threads = {i["title"]: i for i in sections["discussions"]["items"]}
    assert threads["Increase default MLOCK_LIMIT to 8 MiB"]["participants"] == 6
    assert not threads["Bringing rseq back into glibc"]["is_patch"]
    # new interfaces told from their cover letters
    trusted = next(i for i in sections["syscalls"]["items"] if i["name"] == "trusted_for")
    assert trusted["about"].startswith("This new syscall enables user space to ask the kernel")
    assert trusted["summary"].startswith("v17 of “Add trusted_for(2) (was O_MAYEXEC)” by Mickaël Salaün")
    knob = sections["sysctls"]["items"][0]
    assert knob["title"] == "/proc/sys/fs/trusted_for_policy" and knob["about"]
    categories = {i["category"] for i in sections["patches"]["items"]}
    assert categories == {"core-kernel", "filesystems", "memory-management"}
    index = (out / "index.html").read_text()
    assert "Discussions of the week" in index and "In this edition" in index
    # the stable reviews of the sample are in the archive, with their counts first
    review = (out / "editions" / "2020-W09.html").read_text()
    assert '<p class="summary">1 stable update reviewed this week' in review
    assert "sorted by the stable_review plugin" not in review
