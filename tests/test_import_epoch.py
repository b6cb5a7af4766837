"""`ktrack import` of public-inbox v2 git archives, offline: a bundle, a bare epoch, a whole v2 inbox.

Built from a real 50-commit bundle of linux-api's epoch 0 (tests/data/public_inbox/README.md) with
the git CLI, as `git clone --mirror https://lore.kernel.org/linux-api/0` would leave it.
"""

import os
import subprocess
from pathlib import Path

import pytest

BUNDLE = Path(__file__).parent / "data" / "public_inbox" / "linux-api-epoch0-first50.bundle"
HEAD = "da13298763c701323d38be000ed3c0c100664c6c"  # the bundle's master: commit 50


def git(*args, cwd=None, input=None) -> str:
    done = subprocess.run(["git", *map(str, args)], cwd=cwd, input=input, capture_output=True, check=True)
    return done.stdout.decode()


def mirror(tmp_path, name="0.git", *, commits=None) -> Path:
    """A bare clone of the bundle, its master moved back to the `commits`-th commit if given."""
    repo = tmp_path / name
    repo.parent.mkdir(parents=True, exist_ok=True)
    git("clone", "-q", "--mirror", BUNDLE, repo)
    if commits is not None:
        git("-C", repo, "update-ref", "refs/heads/master", all_commits(repo)[commits - 1])
    return repo


def all_commits(repo) -> list[str]:
    return git("-C", repo, "rev-list", "--reverse", HEAD).split()


def blob(repo, commit) -> bytes:
    return subprocess.run(["git", "-C", str(repo), "cat-file", "blob", f"{commit}:m"], capture_output=True, check=True).stdout


def fast_import(repo, raws: list[bytes]) -> None:
    """Append one public-inbox style commit per message (the raw mail as blob `m`) to master."""
    parent = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "-q", "refs/heads/master"],
                            capture_output=True).stdout.decode().strip()
    stream = b""
    for i, raw in enumerate(raws):
        stream += b"commit refs/heads/master\n"
        stream += b"committer linux-api.vger.kernel.org.1 <linux-api@vger.kernel.org> 1561980408 +0000\n"
        stream += b"data 0\n"
        if i == 0 and parent:
            stream += f"from {parent}\n".encode()
        stream += b"M 100644 inline m\n" + f"data {len(raw)}\n".encode() + raw + b"\n"
    git("-C", repo, "fast-import", "--quiet", input=stream)


def count(app) -> int:
    return app.db.execute("select count(*) from messages").fetchone()[0]


def test_import_bundle_reads_every_commit_offline(ktrack, app):
    result = ktrack("import", "--no-analyze", BUNDLE)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("50 messages read, 50 new, ")
    assert "not an email message" not in result.output
    assert count(app) == 50
    row = app.db.execute("select subject, origin from messages order by date limit 1").fetchone()
    assert row[1] == str(BUNDLE)
    # the first commit of the epoch: a real linux-api message, whole
    assert app.db["messages"].count_where("subject like '%lock down access to the running kernel image%'") >= 1
    again = ktrack("import", BUNDLE)
    assert again.exit_code == 0 and again.stdout.startswith("0 messages read, 0 new, 0 series, 0 warnings")


def test_import_bare_epoch_reads_only_new_commits_the_second_time(ktrack, app, tmp_path):
    repo = mirror(tmp_path, commits=30)  # the mirror as it was 20 messages ago
    first = ktrack("import", "--no-analyze", repo)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("30 messages read, 30 new, ")
    git("-C", repo, "update-ref", "refs/heads/master", HEAD)  # what `git fetch` brings in
    second = ktrack("import", "--no-analyze", "--json", repo)
    assert second.exit_code == 0, second.output
    import json

    stats = json.loads(second.stdout)
    assert (stats["read"], stats["new"], stats["skipped"]) == (20, 20, 0)  # not 50 read, 30 skipped
    assert count(app) == 50
    assert ktrack("import", repo).stdout.startswith("0 messages read")


def test_import_plain_clone_of_an_epoch(ktrack, app, tmp_path):
    """`git clone` without --mirror checks the newest message out as `m`: the history is still what is read."""
    git("clone", "-q", BUNDLE, tmp_path / "linux-api-0")
    result = ktrack("import", "--no-analyze", tmp_path / "linux-api-0")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("50 messages read, 50 new, ")


def test_import_bundle_then_mirror_shares_the_mark(ktrack, app, tmp_path):
    """The mark is the epoch's, not the path's: a mirror of an epoch first read from a bundle reads nothing again."""
    assert ktrack("import", "--no-analyze", BUNDLE).exit_code == 0
    result = ktrack("import", "--no-analyze", mirror(tmp_path))
    assert result.exit_code == 0 and result.stdout.startswith("0 messages read, 0 new")


def test_import_v2_inbox_directory_reads_every_epoch_then_only_new(ktrack, app, tmp_path):
    inbox = tmp_path / "linux-api"
    epoch0 = mirror(inbox / "git", "0.git", commits=25)
    later = [blob(epoch0, c) for c in all_commits(epoch0)[25:]]
    epoch1 = inbox / "git" / "1.git"
    git("init", "-q", "--bare", epoch1)
    fast_import(epoch1, later[:20])
    git("init", "-q", "--bare", inbox / "all.git")  # public-inbox's all.git: no commits of its own
    first = ktrack("import", "--no-analyze", "--json", inbox)
    assert first.exit_code == 0, first.output
    import json

    assert json.loads(first.stdout)["new"] == 45
    origins = {r[0] for r in app.db.execute("select origin from messages")}
    assert origins == {str(epoch0), str(epoch1)}
    fast_import(epoch1, later[20:])  # five more messages arrive in the newest epoch
    second = ktrack("import", "--no-analyze", inbox)
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith("5 messages read, 5 new, ")
    assert count(app) == 50
    assert ktrack("import", inbox / "all.git").stdout.startswith("0 messages read")  # all.git stands for its inbox
    git("-C", epoch0, "update-ref", "refs/heads/master", HEAD)  # (not what public-inbox does: a test of the mark)
    assert ktrack("import", "--no-analyze", inbox / "all.git").stdout.startswith("25 messages read, 0 new")


def test_import_git_repository_that_is_no_inbox_is_one_error(ktrack, app, tmp_path):
    work = tmp_path / "work"
    git("init", "-q", work)
    (work / "README").write_text("not mail\n")
    git("-C", work, "add", "README")
    git("-C", work, "-c", "user.name=a", "-c", "user.email=a@example.org", "commit", "-qm", "first")
    bare = tmp_path / "project.git"
    git("clone", "-q", "--bare", work, bare)
    result = ktrack("import", bare)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"Error: {bare}: not a public-inbox archive (its first commit has no message blob `m`)"]


def test_import_broken_bundle_is_one_error(ktrack, app, tmp_path):
    broken = tmp_path / "cut.bundle"
    broken.write_bytes(BUNDLE.read_bytes()[:4000])
    result = ktrack("import", broken)
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {broken}: not a readable git bundle: ") and "fatal:" not in line
    assert count(app) == 0


@pytest.mark.parametrize("name", ["garbage.mbox", "garbage.eml", "garbage"])
def test_import_random_bytes_fails_with_one_line(ktrack, app, tmp_path, name):
    import random

    garbage = tmp_path / name
    garbage.write_bytes(random.Random(14).randbytes(3000))
    result = ktrack("import", garbage)
    assert result.exit_code == 1
    assert result.stdout == ""  # no "1 messages read, 0 new" that reads like success
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {garbage}: not a mail file: no email message in it")


def test_import_empty_file_fails_with_one_line(ktrack, tmp_path):
    empty = tmp_path / "empty.mbox"
    empty.write_bytes(b"")
    result = ktrack("import", empty)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {empty}: not a mail file: it is empty"


def test_import_missing_file_says_only_the_error(ktrack, tmp_path):
    result = ktrack("import", tmp_path / "nope.mbox")
    assert result.exit_code == 1
    assert result.stdout == ""  # no "0 messages read" ahead of the error
    assert result.stderr.strip() == f"Error: {tmp_path / 'nope.mbox'}: no such file or directory"


def test_import_missing_file_among_good_ones_imports_nothing(ktrack, app, tmp_path):
    good = Path(__file__).parent / "data" / "linux-api-2021-09-12-13.mbox"
    result = ktrack("import", good, tmp_path / "nope.mbox")
    assert result.exit_code == 1 and result.stdout == ""
    assert count(app) == 0


def test_import_counts_are_grammatical(ktrack, tmp_path):
    good = Path(__file__).parent / "data" / "linux-api-2021-09-12-13.mbox"
    one = tmp_path / "one.eml"
    one.write_bytes(good.read_bytes().split(b"\nFrom ", 2)[1].split(b"\n", 1)[1])  # the second message alone
    result = ktrack("import", "--no-analyze", one)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1 message read, 1 new, 1 series, 0 warnings")


def test_import_good_and_garbage_stores_the_good_reports_the_bad_first(ktrack, app, tmp_path):
    good = Path(__file__).parent / "data" / "linux-api-2021-09-12-13.mbox"
    garbage = tmp_path / "garbage.mbox"
    garbage.write_bytes(b"\x00\x01binary\xff" * 300)
    result = ktrack("import", "--no-analyze", good, garbage)
    assert result.exit_code == 1
    assert count(app) == 22
    assert result.stderr.strip() == f"Error: {garbage}: not a mail file: no email message in it (read as 1 part, none with From, Subject, Message-ID or Date headers)"
    assert result.stdout.startswith("23 messages read, 22 new, ")  # the garbage counts as read: one part
    assert result.output.index("Error:") < result.output.index("messages read")  # the error comes first


def test_import_epoch_with_a_parsing_worker_finishes_and_equals_serial(tmp_path):
    """A worker forked while git streams the epoch inherits our descriptors: git must not wait on it."""
    import os
    import sys

    from tracker.db import open_db

    def run(name, **env):
        db = tmp_path / f"{name}.db"
        done = subprocess.run([sys.executable, "-m", "tracker", "--db", str(db), "import", "--no-analyze", str(BUNDLE)],
                              env={**os.environ, **env}, capture_output=True, timeout=60)  # the old pipe-fed reader hung here for good
        assert done.returncode == 0, done.stderr
        return open_db(db).execute("select message_id, series_key, raw_sha256 from messages order by message_id").fetchall()

    parallel = run("parallel", KTRACK_IMPORT_BATCH="5", KTRACK_IMPORT_PARALLEL_AFTER="5")
    assert len(parallel) == 50
    assert parallel == run("serial", KTRACK_IMPORT_PARALLEL_AFTER="1000000")


def test_bundle_clone_is_removed_and_a_killed_ones_swept(tmp_path, monkeypatch):
    """A bundle is read from a temporary clone: removed after the import, and after a killed one by the next."""
    import tempfile

    from tracker.public_inbox import open_epoch

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / "ktrack-bundle-999999999-abc"  # above any pid_max: its import is gone
    (stale / "epoch.git").mkdir(parents=True)
    running = tmp_path / f"ktrack-bundle-{os.getpid()}-def"  # a live import's: kept
    running.mkdir()
    with open_epoch(BUNDLE) as repo:
        assert repo.is_relative_to(tmp_path) and (repo / "HEAD").is_file()
    assert not repo.exists()
    assert not stale.exists() and running.exists()
