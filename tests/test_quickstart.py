"""No dead ends after the quick start (issue 14, item 6).

- `ktrack run --sample` keeps its data out of your own database, in `.SITE.sample.db` beside the site;
  the run says so, and `ktrack digest` on an empty database names that file with the exact `--db`.
- `ktrack import` analyses what it stored (syscalls, sysctls...), unless --no-analyze, which says how
  many series wait for `ktrack analyze`; `ktrack run` analyses each series once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from tracker import hookimpl

EXCERPT = Path(__file__).parent / "data" / "linux-api-2021-09-12-13.mbox"  # futex_waitv v3 among others


def make_app(tmp_path, monkeypatch, *, db: Path | None = None):
    from tracker.app import App

    monkeypatch.delenv("KTRACK_LOAD_PLUGINS", raising=False)  # every plugin, as on a fresh install
    monkeypatch.delenv("KTRACK_CONFIG", raising=False)
    monkeypatch.delenv("KTRACK_DB", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))  # the default database, and the sample's note
    return App(db_path=db)


def invoke(app, *args):
    from tracker.cli import build_cli

    return CliRunner().invoke(build_cli(app), [*map(str, args)], obj=app)


def test_digest_after_sample_run_names_the_sample_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = invoke(make_app(tmp_path, monkeypatch), "run", "--sample", "--out", "ktrack-site", "--verbose")
    assert run.exit_code == 0, run.output
    sample_db = tmp_path / ".ktrack-site.sample.db"
    assert f"Its database: {sample_db} (e.g. ktrack --db {sample_db} digest" in run.stdout

    # the next command of a newcomer: no --db, so the default database (empty)
    digest = invoke(make_app(tmp_path, monkeypatch), "digest")
    assert digest.exit_code == 1
    [line] = digest.stderr.strip().splitlines()
    default_db = tmp_path / "xdg-data" / "ktrack" / "ktrack.db"
    assert line == (f"Error: no editions yet in {default_db}; the sample from `ktrack run --sample` is in {sample_db}: "
                    f"try `ktrack --db {sample_db} digest`")
    assert "try `ktrack run --sample`" not in line  # the dead end of issue 14

    # and the command it names works, word for word
    command = re.search(r"try `ktrack (.*)`$", line).group(1).split()
    assert command == ["--db", str(sample_db), "digest"]
    again = invoke(make_app(tmp_path, monkeypatch), *command)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("# Week 2021-W46")


def test_digest_on_an_empty_database_without_a_sample_suggests_the_sample(tmp_path, monkeypatch):
    result = invoke(make_app(tmp_path, monkeypatch, db=tmp_path / "mine.db"), "digest")
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"Error: no editions yet in {tmp_path / 'mine.db'}: it has no series, releases or findings "
                                     "(try `ktrack run --sample`)")


def test_sample_run_with_explicit_db_leaves_no_note(tmp_path, monkeypatch):
    db = tmp_path / "given.db"
    run = invoke(make_app(tmp_path, monkeypatch, db=db), "--db", db, "run", "--sample", "--out", tmp_path / "site")
    assert run.exit_code == 0, run.output
    assert db.exists() and not (tmp_path / ".site.sample.db").exists()
    assert not (tmp_path / "xdg-data" / "ktrack" / "last-sample-db").exists()
    assert invoke(make_app(tmp_path, monkeypatch, db=db), "--db", db, "digest").exit_code == 0


def test_import_analyses_by_default(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, db=tmp_path / "k.db")
    result = invoke(app, "--db", app.db_path, "import", EXCERPT)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "22 messages read, 22 new, 5 series, 0 warnings, 5 series analysed"
    syscalls = invoke(app, "--db", app.db_path, "syscalls", "--json")
    assert [s["name"] for s in json.loads(syscalls.stdout)] == ["futex_waitv"]
    assert json.loads(invoke(app, "--db", app.db_path, "import", "--json", EXCERPT).stdout)["analysed"] == 0  # nothing new


def test_import_no_analyze_says_what_waits(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, db=tmp_path / "k.db")
    result = invoke(app, "--db", app.db_path, "import", "--no-analyze", EXCERPT)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "22 messages read, 22 new, 5 series, 0 warnings; 5 series not analysed yet: run `ktrack analyze`"
    assert json.loads(invoke(app, "--db", app.db_path, "syscalls", "--json").stdout) == []
    assert invoke(app, "--db", app.db_path, "analyze").exit_code == 0
    assert [s["name"] for s in json.loads(invoke(app, "--db", app.db_path, "syscalls", "--json").stdout)] == ["futex_waitv"]


class CountAnalyses:
    def __init__(self):
        self.seen: list[str] = []

    @hookimpl
    def analyze_series(self, series):
        self.seen.append(series["series_key"])


def test_sample_run_analyses_each_series_once(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, db=tmp_path / "k.db")
    counter = CountAnalyses()
    app.host.pm.register(counter, name="count-analyses")
    run = invoke(app, "--db", app.db_path, "run", "--sample", "--out", tmp_path / "site")
    assert run.exit_code == 0, run.output
    series = [r[0] for r in app.db.execute("select series_key from series")]
    assert len(series) >= 5  # the sample week: reviews, proposals, discussions
    assert sorted(counter.seen) == sorted(series)  # every series, none twice


def test_empty_listings_say_what_to_do(tmp_path, monkeypatch):
    """`ktrack syscalls`/`sysctls` before analysis, and `series` on an empty database after the sample run."""
    app = make_app(tmp_path, monkeypatch, db=tmp_path / "k.db")
    assert invoke(app, "--db", app.db_path, "import", "--no-analyze", EXCERPT).exit_code == 0
    waiting = "(5 series not analysed yet: run `ktrack analyze`)"
    assert invoke(app, "--db", app.db_path, "syscalls").stdout.splitlines() == ["No system calls found in patches yet.", waiting]
    assert invoke(app, "--db", app.db_path, "sysctls").stdout.splitlines() == ["No sysctl knobs found in patches yet.", waiting]
    assert invoke(app, "--db", app.db_path, "analyze").exit_code == 0
    assert invoke(app, "--db", app.db_path, "sysctls").stdout.splitlines() == ["No sysctl knobs found in patches yet."]
    assert invoke(app, "--db", app.db_path, "syscalls").stdout.startswith("futex_waitv")

    # after the sample run, the default (empty) database's listing names the sample's
    monkeypatch.chdir(tmp_path)
    assert invoke(make_app(tmp_path, monkeypatch), "run", "--sample", "--out", "ktrack-site").exit_code == 0
    series = invoke(make_app(tmp_path, monkeypatch), "series").stdout.splitlines()
    sample_db = tmp_path / ".ktrack-site.sample.db"
    assert series == ["No series.", f"(the sample from `ktrack run --sample` is in {sample_db}: try `ktrack --db {sample_db} series`)"]


def test_sample_run_into_an_unwritable_place_is_one_line_without_internal_names(tmp_path, monkeypatch):
    result = invoke(make_app(tmp_path, monkeypatch), "run", "--sample", "--out", "/proc/nope")
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: cannot use the database /proc/.nope.sample.db: ") and ".run-lock" not in line
