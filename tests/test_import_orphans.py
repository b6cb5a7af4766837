"""A `ktrack import` killed part-way (cron timeout, OOM killer) leaves no process behind and a whole database.

Its forked parsing worker used to stay alive for good, blocked writing to a pipe nobody read
(issue 14). The mail is real (tests/data/linux-api-2021-09-12-13.mbox), repeated under new
Message-IDs until the import is big enough to get a worker and be killed while it runs.
"""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

EXCERPT = Path(__file__).parent / "data" / "linux-api-2021-09-12-13.mbox"
COPIES = 300  # 22 messages each: 6,600 messages, a few seconds of import


def big_mbox(path: Path) -> int:
    """Write COPIES of the excerpt, each message under a new Message-ID; return how many messages."""
    messages = re.split(rb"\n(?=From )", EXCERPT.read_bytes())
    assert len(messages) == 22
    count = 0
    with open(path, "wb") as out:
        for copy in range(COPIES):
            for message in messages:
                renamed, n = re.subn(rb"(?im)^(message-id:\s*<)", rb"\g<1>copy%d." % copy, message, count=1)
                assert n == 1
                out.write(renamed.rstrip(b"\n") + b"\n\n")
                count += 1
    return count


def processes() -> dict[int, tuple[int, int, str]]:
    """Every process: pid -> (parent pid, process group, state), read from /proc (no psutil)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state ppid pgrp ...
        found[int(entry)] = (int(fields[1]), int(fields[2]), fields[0])
    return found


def alive_in_group(group: int) -> list[int]:
    """Processes of the group that still run (a zombie has exited; only its reaping is left)."""
    return [pid for pid, (_, pgrp, state) in processes().items() if pgrp == group and state != "Z"]


def test_import_killed_part_way_leaves_no_worker_and_an_intact_database(tmp_path):
    mbox = tmp_path / "big.mbox"
    total = big_mbox(mbox)
    db = tmp_path / "ktrack.db"
    env = {**os.environ, "KTRACK_IMPORT_BATCH": "100", "KTRACK_IMPORT_PARALLEL_AFTER": "200"}
    cmd = [sys.executable, "-m", "tracker", "--db", str(db), "import", "--no-analyze", str(mbox)]
    # its own process group: whatever it starts is found by group after it is gone
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers: list[int] = []
    stored = 0
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
            workers = [pid for pid, (ppid, _, _) in processes().items() if ppid == proc.pid]
            try:
                with sqlite3.connect(db, timeout=0.1) as conn:
                    stored = conn.execute("select count(*) from messages").fetchone()[0]
            except sqlite3.Error:
                continue  # not created (or not migrated) yet
            if workers and stored >= 300:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait()
        killed_at = time.monotonic()
        assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed part-way"
        assert workers, "the import started no parsing worker"
        left = alive_in_group(proc.pid)
        while left and time.monotonic() - killed_at < 1.0:
            time.sleep(0.02)
            left = alive_in_group(proc.pid)
        assert left == [], f"processes of the killed import still running a second later: {left} (worker {workers})"
    finally:
        for pid in alive_in_group(proc.pid):
            os.kill(pid, signal.SIGKILL)  # never leave them to the rest of the suite

    with sqlite3.connect(db) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        partial = conn.execute("select count(*) from messages").fetchone()[0]
        assert 0 < partial < total
        assert partial % 100 == 0  # whole batches only
        assert conn.execute("select count(*) from messages_fts").fetchone()[0] == partial
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from messages").fetchone()[0] == total
        assert conn.execute("select count(*) from messages_fts").fetchone()[0] == total


FALLBACK_SCRIPT = """
import os, signal, sys, time
import tracker.parse_worker as worker
if sys.argv[1] == "no-prctl":
    worker._PR_SET_PDEATHSIG = 0  # not a prctl option (EINVAL): only the parent-pid watch is left
pool = worker.start_pool()
print(pool.submit(os.getpid).result(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_worker_exits_with_its_parent_even_without_pdeathsig():
    """The fallback for a system without PR_SET_PDEATHSIG: the worker watches its parent's pid."""
    proc = subprocess.Popen([sys.executable, "-c", FALLBACK_SCRIPT, "no-prctl"], stdout=subprocess.PIPE, start_new_session=True)
    try:
        worker = int(proc.stdout.readline())
        proc.wait(timeout=60)
        killed_at = time.monotonic()
        assert proc.returncode == -signal.SIGKILL
        while worker in alive_in_group(proc.pid) and time.monotonic() - killed_at < 1.0:
            time.sleep(0.02)
        assert worker not in alive_in_group(proc.pid), "the worker outlived its parent by more than a second"
    finally:
        for pid in alive_in_group(proc.pid):
            os.kill(pid, signal.SIGKILL)


def test_import_of_a_public_inbox_epoch_killed_part_way_leaves_no_git_or_worker(tmp_path):
    """An epoch import runs git (log, cat-file) besides the worker: none of them may outlive it."""
    mbox = tmp_path / "big.mbox"
    total = big_mbox(mbox)
    epoch = tmp_path / "0.git"
    subprocess.run(["git", "init", "-q", "--bare", str(epoch)], check=True)
    stream = bytearray()
    for i, raw in enumerate(re.split(rb"\n\n(?=From )", mbox.read_bytes())):
        raw = raw.split(b"\n", 1)[1].rstrip(b"\n") + b"\n"  # without its mbox "From " line
        stream += b"commit refs/heads/master\ncommitter list <list@example.org> %d +0000\ndata 0\n" % (1561980408 + i)
        stream += b"M 100644 inline m\ndata %d\n%s\n" % (len(raw), raw)
    subprocess.run(["git", "-C", str(epoch), "fast-import", "--quiet"], input=bytes(stream), check=True)
    db = tmp_path / "ktrack.db"
    env = {**os.environ, "KTRACK_IMPORT_BATCH": "100", "KTRACK_IMPORT_PARALLEL_AFTER": "200"}
    cmd = [sys.executable, "-m", "tracker", "--db", str(db), "import", "--no-analyze", str(epoch)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    children: list[int] = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
            children = [pid for pid, (ppid, _, _) in processes().items() if ppid == proc.pid]
            try:
                with sqlite3.connect(db, timeout=0.1) as conn:
                    stored = conn.execute("select count(*) from messages").fetchone()[0]
            except sqlite3.Error:
                continue
            if len(children) >= 2 and stored >= 300:  # the worker and git cat-file
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait()
        killed_at = time.monotonic()
        assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed part-way"
        left = alive_in_group(proc.pid)
        while left and time.monotonic() - killed_at < 1.0:
            time.sleep(0.02)
            left = alive_in_group(proc.pid)
        assert left == [], f"processes of the killed import still running a second later: {left} (children {children})"
    finally:
        for pid in alive_in_group(proc.pid):
            os.kill(pid, signal.SIGKILL)
    with sqlite3.connect(db) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert 0 < conn.execute("select count(*) from messages").fetchone()[0] < total
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=300)  # the mark was not moved: all again, deduped
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from messages").fetchone()[0] == total
