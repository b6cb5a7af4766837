"""The weekly job behind `ktrack run`: fetch, analyse, build the site, deliver the digest.

Made for cron: one run at a time (an fcntl lock beside the database), quiet on
success when stdout is not a terminal, one stderr line per failure, and a
non-zero exit only when no source could be read. Every step is idempotent, so
running it twice in a row is harmless (the second site build renders nothing).
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .db import write_transaction
from .errors import KtrackError

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
# (file, list id) of the recorded mail the sample imports; see sample/PROVENANCE.md.
SAMPLE_MAIL = (
    ("2.6.14.7-review.mbox", "stable.vger.kernel.org"),
    ("4.19.107-review-cover.eml", "stable.vger.kernel.org"),
    ("linux-api-2021-W46.mbox", "linux-api.vger.kernel.org"),
)
SAMPLE_URLS = {
    "sample:releases.json": "releases.json",
    "sample:kdist.xml": "kdist.xml",
}


SAMPLE_POINTER = "last-sample-db"  # in the user data dir: where `ktrack run --sample` last put its database


def sample_db_path(out: Path) -> Path:
    """Return the database `ktrack run --sample --out OUT` uses without --db: beside the site, e.g. .ktrack-site.sample.db.

    Never the default database: the sample must not mix 2021 mail into a real one.
    """
    out = Path(out).absolute()
    return out.parent / f".{out.name}.sample.db"


def _sample_pointer() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("ktrack")) / SAMPLE_POINTER


def remember_sample_db(path: Path) -> None:
    """Note where the sample's database is, so that a command that finds nothing can name it (issue 14).

    Written then renamed, so a reader never sees half a path; a read-only home
    only loses the hint, never the run.
    """
    pointer = _sample_pointer()
    try:
        pointer.parent.mkdir(parents=True, exist_ok=True)
        tmp = pointer.with_name(f".{pointer.name}.{os.getpid()}")
        tmp.write_text(f"{Path(path).absolute()}\n", encoding="utf-8")
        os.replace(tmp, pointer)
    except OSError:
        pass


def remembered_sample_db() -> Path | None:
    """Return the database the last `ktrack run --sample` filled, if it is still there."""
    try:
        path = Path(_sample_pointer().read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        return None
    return path if path.is_absolute() and path.is_file() else None


def sample_hint(app, command: str) -> str | None:
    """Return where the sample's data is and the `ktrack --db PATH COMMAND` to see it, if this command looks elsewhere.

    Example: "the sample from `ktrack run --sample` is in /tmp/.site.sample.db: try `ktrack --db /tmp/.site.sample.db digest`"
    """
    import shlex

    sample = remembered_sample_db()
    if sample is None:
        return None
    try:
        if sample.resolve() == app.resolved_db_path().absolute().resolve():
            return None
    except OSError:
        return None
    return f"the sample from `ktrack run --sample` is in {sample}: try `ktrack --db {shlex.quote(str(sample))} {command}`"


@dataclass
class StepResult:
    """How one source (or the sample import) went: name, ok, error."""

    name: str
    ok: bool
    error: str | None = None


@dataclass
class RunReport:
    sources: list[StepResult] = field(default_factory=list)
    analysis_errors: list[str] = field(default_factory=list)
    site: dict | None = None
    week: str | None = None

    def failures(self) -> list[str]:
        """Lines to print: failed sources. A plugin's analysis failure was printed by the host, once, as it happened."""
        return [f"source {s.name}: {s.error}" for s in self.sources if not s.ok]

    @property
    def nothing_read(self) -> bool:
        return not any(s.ok for s in self.sources)


LOCK_SUFFIX = ".run-lock"


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` for the duration; raise KtrackError if another run holds it."""
    database = path.with_name(path.name.removesuffix(LOCK_SUFFIX))  # the lock is lock_path_for(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise KtrackError(f"cannot use the database {database}: {exc.strerror or exc} in {path.parent}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise KtrackError(f"another ktrack run is in progress (pid {holder}, lock {path}); not starting a second one") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def lock_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + LOCK_SUFFIX)


class SampleHttp:
    """Serve the recorded kernel.org files for `sample:` URLs, so the real sources run offline."""

    def get(self, url: str, **_ignored):
        from .fetch import HttpResponse

        name = SAMPLE_URLS.get(url)
        if name is None:
            raise KtrackError(f"sample run: no recorded file for {url}")
        return HttpResponse(url, 200, (SAMPLE_DIR / name).read_bytes(), {})


def import_sample(app) -> list[StepResult]:
    """Load the shipped sample: kernel.org releases through the kernelorg sources, mail through ingest."""
    from .sources import FetchContext

    results = []
    try:
        from .plugins.kernelorg import ReleaseFeedSource, ReleasesJsonSource
    except ImportError as exc:
        results.append(StepResult("kernel.org (sample)", False, f"kernelorg plugin unavailable: {exc}"))
    else:
        for source in (ReleasesJsonSource("sample:releases.json"), ReleaseFeedSource("sample:kdist.xml")):
            ctx = FetchContext(db=app.db, http=SampleHttp(), state={}, config=app.config)
            try:
                with write_transaction(app.db):
                    source.fetch(ctx)
                results.append(StepResult(f"{source.name} (sample)", True))
            except Exception as exc:  # noqa: BLE001 - one failing source never stops a run
                results.append(StepResult(f"{source.name} (sample)", False, f"{type(exc).__name__}: {exc}"))
    try:
        from .ingest import import_paths
    except ImportError as exc:
        results.append(StepResult("mail (sample)", False, f"ingest unavailable: {exc}"))
        return results
    for name, list_id in SAMPLE_MAIL:
        try:
            import_paths(app.db, [SAMPLE_DIR / name], list_id=list_id)
            results.append(StepResult(f"mail:{name} (sample)", True))
        except Exception as exc:  # noqa: BLE001
            results.append(StepResult(f"mail:{name} (sample)", False, f"{type(exc).__name__}: {exc}"))
    return results


def fetch_sources(app) -> list[StepResult]:
    """Run every due source through the fetching host; no sources at all is a failure."""
    from .fetching import run_sources

    results = run_sources(app)
    if not results:
        return [StepResult("sources", False, "no sources configured (see docs/running.md)")]
    steps = []
    for result in results:
        if result.status == "skipped":
            steps.append(StepResult(result.name, True))  # not due: read fine last time
        else:
            steps.append(StepResult(result.name, result.ok, result.error))
    return steps


def analyse(app) -> list[str]:
    try:
        from .analyze import run_analysis
    except ImportError:
        return []
    return list(run_analysis(app) or [])


def run_job(app, *, out: Path, sample: bool = False, week: str | None = None, base_url: str | None = None) -> RunReport:
    """Fetch (or load the sample), analyse, build the site; return what happened."""
    from .edition import edition_weekday, newest_edition_week, week_bounds
    from .sitebuild import build_app_site

    report = RunReport()
    if week:
        try:
            week_bounds(week)
        except ValueError as exc:
            raise KtrackError(str(exc)) from None
    report.sources = import_sample(app) if sample else fetch_sources(app)
    report.analysis_errors = analyse(app)
    stats = build_app_site(app, out, base_url=base_url)
    report.site = stats.as_dict()
    report.week = week or newest_edition_week(app.db, weekday=edition_weekday(app.config))
    return report


def empty_hint(app, command: str, *, analysis: bool = True) -> str | None:
    """What to do when a listing comes out empty: analyse first, or look in the sample's database.

    Example: "(12 series not analysed yet: run `ktrack analyze`)"
    """
    from .analyze import count_unanalysed

    if analysis and (waiting := count_unanalysed(app.db)):
        return f"({waiting} series not analysed yet: run `ktrack analyze`)"
    hint = sample_hint(app, command)
    return f"({hint})" if hint else None
