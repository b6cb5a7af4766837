"""Faults from outside: a full disk, two imports at once. One clear line, a valid store."""

import os
import sqlite3
import subprocess
import sys

import pytest
from linux_api import LINUX_API


def ktrack(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KTRACK_")}
    env.update(env_extra or {})
    return subprocess.Popen(
        [sys.executable, "-m", "tracker", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def small_disk(tmp_path):
    """A real 3 MB file system: the linux-api excerpt (about 6 MB stored) cannot fit."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root): no small file system to fill")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_full_disk_is_one_line_and_leaves_a_valid_store(small_disk):
    db = small_disk / "k.db"
    proc = ktrack("--db", db, "import", LINUX_API, env_extra={"KTRACK_IMPORT_BATCH": "100"})
    out, err = proc.communicate(timeout=300)
    assert proc.returncode != 0
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0 and "full" in err
    conn = sqlite3.connect(db)
    assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
    stored = conn.execute("select count(*) from messages").fetchone()[0]
    # Whole batches only: what landed is a multiple of the batch size, and every message is threaded.
    assert stored % 100 == 0
    assert conn.execute("select count(*) from messages where is_patch = 1 and series_key is null").fetchone()[0] == 0


def test_two_imports_at_once_store_everything_once(tmp_path, data_dir):
    db = tmp_path / "k.db"
    mbox = data_dir / "formats/b4/trailers-thread-with-followups.mbox"
    series_dir = data_dir / "formats/patchwork/series"
    inputs = [mbox, *sorted(series_dir.glob("base-*.mbox"))]
    first = ktrack("--db", db, "import", *inputs)
    second = ktrack("--db", db, "import", *reversed(inputs))
    for proc in (first, second):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "Traceback" not in err

    alone = tmp_path / "alone.db"
    proc = ktrack("--db", alone, "import", *inputs)
    proc.communicate(timeout=300)
    query = "select message_id, series_key from messages order by message_id"
    together_rows = sqlite3.connect(db).execute(query).fetchall()
    alone_rows = sqlite3.connect(alone).execute(query).fetchall()
    assert [r[0] for r in together_rows] == [r[0] for r in alone_rows]
    assert len(together_rows) > 20
