"""Hooks are called by pluggy, and a broken plugin costs one line per run, never the run.

Issue 14.3 and 15.2: pluggy's own wrappers, ordering and historic hooks work
as pluggy documents; a failing hook is reported once per run naming plugin,
hook and error; a plugin page that cannot render is skipped and named; a
plugin command's bug is one line (`--traceback` / KTRACK_DEBUG=1 for all of
it); `--week banana` and an unwritable `--out` are one clear line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pluggy
import pytest

from tracker import hookimpl
from tracker.plugin_host import BUILTIN_PLUGINS, create_host

BROKEN = "ktrack_test_broken"


@pytest.fixture
def empty_host(monkeypatch):
    monkeypatch.setenv("KTRACK_LOAD_PLUGINS", "")
    return create_host()


class Answer:
    @hookimpl
    def series_category(self, series):
        return "networking"


class Raises:
    @hookimpl(tryfirst=True)
    def series_category(self, series):
        raise KeyError("files")


class Wrapper:
    """A standard pluggy new-style wrapper: it sees the answer and may change it."""

    seen = []

    @hookimpl(wrapper=True)
    def series_category(self, series):
        slug = yield
        self.seen.append(slug)
        return slug.upper()


def test_wrapper_true_returns_a_value_not_a_generator(empty_host):
    for plugin in (Answer(), Raises(), Wrapper()):
        empty_host.pm.register(plugin)
    assert empty_host.call_first("series_category", series={}, config={}) == "NETWORKING"
    assert empty_host.pm.hook.series_category(series={}, config={}) == "NETWORKING"
    assert [(p.plugin, p.where, p.error, p.count) for p in empty_host.problems] == [
        (empty_host.pm.get_name(next(p for p in empty_host.pm.get_plugins() if isinstance(p, Raises))),
         "series_category", "KeyError: 'files'", 2)
    ]


def test_a_failing_wrapper_is_skipped_and_the_call_it_wraps_still_answers(empty_host):
    class BadWrapper:
        @hookimpl(wrapper=True)
        def series_category(self, series):
            raise RuntimeError("wrapper bug")
            yield  # pragma: no cover

    empty_host.pm.register(Answer(), name="answer")
    empty_host.pm.register(BadWrapper(), name="bad_wrapper")
    assert empty_host.call_first("series_category", series={}, config={}) == "networking"
    assert [(p.plugin, p.where) for p in empty_host.problems] == [("bad_wrapper", "series_category")]


def test_old_style_hookwrapper_gets_pluggys_result_object(empty_host):
    class OldWrapper:
        @hookimpl(hookwrapper=True)
        def series_category(self, series):
            outcome = yield
            outcome.force_result(outcome.get_result() + "!")

    empty_host.pm.register(Answer())
    empty_host.pm.register(Raises())
    empty_host.pm.register(OldWrapper())
    assert empty_host.call_first("series_category", series={}, config={}) == "networking!"


def test_tryfirst_and_trylast_order_as_in_pluggy(empty_host):
    calls = []

    class Last:
        @hookimpl(trylast=True)
        def template_dirs(self):
            calls.append("last")
            return ["/last"]

    class First:
        @hookimpl(tryfirst=True)
        def template_dirs(self):
            calls.append("first")
            return ["/first"]

    class Middle:
        @hookimpl
        def template_dirs(self):
            calls.append("middle")
            return ["/middle"]

    for plugin in (First(), Last(), Middle()):
        empty_host.pm.register(plugin)
    assert empty_host.call("template_dirs") == [["/first"], ["/middle"], ["/last"]]
    assert calls == ["first", "middle", "last"]
    assert [name for name, _ in empty_host.call_each("template_dirs")] == [
        empty_host.pm.get_name(p) for p in empty_host.pm.get_plugins() if isinstance(p, First)
    ] + [empty_host.pm.get_name(p) for p in empty_host.pm.get_plugins() if isinstance(p, Middle)] + [
        empty_host.pm.get_name(p) for p in empty_host.pm.get_plugins() if isinstance(p, Last)
    ]


def test_historic_hooks_reach_plugins_registered_later_and_stay_isolated(empty_host):
    marker = pluggy.HookspecMarker("ktrack")

    class Specs:
        @marker(historic=True)
        def ktrack_started(self, version):
            """A historic hook: every plugin hears it, however late it registers."""

    heard = []

    class Early:
        @hookimpl
        def ktrack_started(self, version):
            raise RuntimeError("early bug")

    class Late:
        @hookimpl
        def ktrack_started(self, version):
            heard.append(version)

    empty_host.pm.add_hookspecs(Specs)
    empty_host.pm.register(Early(), name="early")
    empty_host.pm.hook.ktrack_started.call_historic(kwargs={"version": "1"})
    empty_host.pm.register(Late(), name="late")
    assert heard == ["1"]
    assert [(p.plugin, p.where) for p in empty_host.problems] == [("early", "ktrack_started")]


def test_call_goes_through_pluggy_so_monitoring_sees_it(empty_host):
    seen = []
    empty_host.pm.add_hookcall_monitoring(lambda name, impls, kwargs: seen.append(name), lambda *a: None)
    empty_host.pm.register(Answer())
    empty_host.call_first("series_category", series={}, config={})
    assert seen == ["series_category"]


# -- through the real CLI, on the sample shipped in the repository -------------------------


BROKEN_PLUGIN = '''
import click
from tracker import hookimpl
from tracker.pages import Page


@hookimpl
def edition_sections(edition):
    raise RuntimeError("section bug")


@hookimpl
def analyze_series(series):
    raise ValueError("analysis bug")


@hookimpl
def site_pages():
    return [Page(path="broken/index.html", template="no-such-template.html", title="Broken", context={})]


@hookimpl
def register_commands(cli):
    @cli.command(name="broken-command")
    @click.option("--week")
    @click.pass_obj
    def broken_command(app, week):
        """Fail like a buggy plugin command does."""
        if week:
            from tracker.edition import edition_for

            edition_for(week)
        return {}["missing"]
'''


def ktrack(tmp_path, *args, env_extra=None):
    (tmp_path / f"{BROKEN}.py").write_text(textwrap.dedent(BROKEN_PLUGIN))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KTRACK_")}
    env.update({"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "PYTHONPATH": str(tmp_path),
                "KTRACK_LOAD_PLUGINS": ",".join([*BUILTIN_PLUGINS, BROKEN])})
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "tracker", "--db", str(tmp_path / "k.db"), *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """`ktrack run --sample` with a plugin that breaks in three hooks and has a broken page."""
    tmp_path = tmp_path_factory.mktemp("broken")
    result = ktrack(tmp_path, "run", "--sample", "--out", tmp_path / "site")
    return tmp_path, result


def test_a_failing_hook_is_reported_once_per_run(sample_run):
    tmp_path, result = sample_run
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    # Several editions and series: each failing hook still says it once.
    assert len(json.loads(ktrack(tmp_path, "series", "--json").stdout)) > 1
    assert lines.count(f"ktrack: plugin {BROKEN} failed in edition_sections: RuntimeError: section bug") == 1
    assert lines.count(f"ktrack: plugin {BROKEN} failed in analyze_series: ValueError: analysis bug") == 1
    assert all(BROKEN in line for line in lines), lines
    assert "Traceback" not in result.stderr


def test_a_plugin_page_that_cannot_render_is_skipped_and_named(sample_run):
    tmp_path, result = sample_run
    site = tmp_path / "site"
    assert (f"ktrack: plugin {BROKEN}: site page broken/index.html: template 'no-such-template.html' not found "
            "(page skipped)") in result.stderr.splitlines()
    assert not (site / "broken" / "index.html").exists()
    # The rest of the site is published: editions, the built-in plugins' pages, the search index.
    assert (site / "index.html").exists() and (site / "syscalls" / "index.html").exists() and (site / "pagefind").is_dir()
    manifest = json.loads((site / ".ktrack-manifest.json").read_text())
    assert "broken/index.html" not in manifest["pages"]  # tried again at the next build


def test_a_plugin_command_bug_is_one_line_and_traceback_on_request(tmp_path):
    result = ktrack(tmp_path, "broken-command")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: plugin {BROKEN} failed in 'ktrack broken-command': KeyError: 'missing' "
        "(run with --traceback, or KTRACK_DEBUG=1, for the traceback)"
    ]
    for args, env in ((["--traceback", "broken-command"], None), (["broken-command"], {"KTRACK_DEBUG": "1"})):
        full = ktrack(tmp_path, *args, env_extra=env)
        assert full.returncode == 1
        assert "Traceback (most recent call last)" in full.stderr and "KeyError: 'missing'" in full.stderr


def test_a_bad_week_in_a_plugin_command_is_one_line(tmp_path):
    result = ktrack(tmp_path, "broken-command", "--week", "banana")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["Error: not an ISO week label: 'banana' (expected e.g. 2026-W48)"]


def test_edition_for_raises_the_user_error_and_stays_a_value_error():
    from tracker.edition import edition_for
    from tracker.errors import KtrackError

    with pytest.raises(KtrackError):
        edition_for("banana")
    with pytest.raises(ValueError):
        edition_for("2021-W54")


def test_site_build_into_an_unwritable_place_names_the_out_dir(tmp_path):
    result = ktrack(tmp_path, "site", "build", "--no-search", "--out", "/proc/nope")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "Error: cannot write the site to /proc/nope: No such file or directory"
    assert ".building" not in result.stderr


def test_plugins_command_names_a_broken_plugin_once(tmp_path):
    (tmp_path / "ktrack_test_import_error.py").write_text("import no_such_module_here\n")
    result = ktrack(tmp_path, "plugins", "--all", env_extra={"KTRACK_LOAD_PLUGINS": "ktrack_test_import_error"})
    assert result.returncode == 0 and result.stdout.startswith("No plugins loaded.")
    assert result.stderr.strip().splitlines() == [
        "ktrack: plugin ktrack_test_import_error failed in import: ModuleNotFoundError: No module named 'no_such_module_here'"
    ]
