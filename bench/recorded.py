"""The recorded real data the benchmarks read: ../shared/data beside the project, not shipped with it.

Tests read only the excerpts in tests/data; benchmarks need the full files
(a year of a list, every CNA record), which stay out of the repository.
Each benchmark names what it reads on one line, and stops with one line when
a file is not there.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT.parent / "shared" / "data"


def recorded(relative: str) -> Path:
    """A file of the recorded data, e.g. recorded("lists/linux-api-2021.mbox.gz")."""
    return RECORDED / relative


def announce(*paths: Path, file=sys.stdout) -> None:
    """Print "data: ../shared/data/... (not shipped with the repo)" for each path; exit 1 if one is missing."""
    for path in paths:
        shown = os.path.relpath(path, ROOT)
        if not path.exists():
            print(f"bench: {shown} not found: this benchmark needs the recorded data beside the project "
                  "(../shared/data, not shipped with the repo)", file=sys.stderr)
            raise SystemExit(1)
        print(f"data: {shown} (not shipped with the repo)", file=file)
