"""The suite is the repository's own: no test reads outside it, its data stays small, CI runs the README's command.

A clone has no ../shared/data (the big recorded files live beside our own
checkouts only); a test that reached for it passed here and failed for every
contributor and packager (issue 14). .ci/run proves the whole suite in a copy
of the clone with nothing beside it; these tests catch the mistake earlier,
in any run, and keep .ci/run and the README saying the same command.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
MAX_DATA_BYTES = 10 * 1024 * 1024

OUTSIDE = re.compile(
    r"\.\./shared\b"  # ../shared/data
    r"|/work/shared\b"  # the absolute path on our machines
    r"|[\"']shared[\"']\s*/\s*[\"']data[\"']"  # ROOT.parent / "shared" / "data"
    r"|[\"']\.\.[\"']\)?\s*/\s*[\"']shared[\"']"  # Path("..") / "shared"
)


def _test_sources() -> list[Path]:
    """Every Python file of the tests and the example plugins (their tests and helpers), not the data."""
    files = [*(ROOT / "tests").rglob("*.py"), *(ROOT / "examples").rglob("*.py")]
    this = Path(__file__).resolve()  # it spells the patterns out
    return sorted(p for p in files if "data" not in p.relative_to(ROOT).parts[:-1] and ".venv" not in p.parts and p != this)


def test_no_test_or_helper_reads_outside_the_repository():
    sources = _test_sources()
    assert len(sources) > 20  # the walk found the suite
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sources
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not offenders, "tests must read copies in tests/data (see its README), not:\n" + "\n".join(offenders)


def test_the_guard_recognises_the_ways_the_data_was_reached():
    for line in ('SHARED_DATA = ROOT.parent / "shared" / "data"', "see ../shared/data/lists/x.mbox.gz",
                 "open('/work/shared/data/README.md')", 'Path("..") / "shared"'):
        assert OUTSIDE.search(line), line
    assert not OUTSIDE.search('path = data_dir / "lists" / "x.mbox.gz"  # a shared futex')


def test_test_data_stays_small():
    files = [p for p in DATA.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    biggest = sorted(files, key=lambda p: p.stat().st_size, reverse=True)[:3]
    assert total < MAX_DATA_BYTES, (
        f"tests/data holds {total / 1e6:.1f} MB (limit {MAX_DATA_BYTES / 1e6:.1f}); biggest: "
        + ", ".join(f"{p.relative_to(DATA)} {p.stat().st_size / 1e6:.1f} MB" for p in biggest)
    )


def test_ci_runs_the_readme_test_command():
    """.ci/run reads the command from README.md: exactly one line, the one the README shows for the tests."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = [line.strip() for line in readme.splitlines() if line.startswith("    ") and line.rstrip().endswith("-m pytest")]
    assert len(shown) == 1, shown
    printed = subprocess.run(["bash", str(ROOT / ".ci" / "run"), "--print-command"], capture_output=True, text=True,
                             timeout=30)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == shown[0]
    assert shown[0].startswith("python3 -m venv .venv && ") and "pip install -e '.[test]'" in shown[0]
