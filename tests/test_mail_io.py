"""Streaming mail readers: mboxrd, gzip (whole and truncated), Maildir, format-patch directories."""

import gzip
import shutil

import pytest
from linux_api import LINUX_API

from tracker.mailbox_io import MailboxReadError, iter_mbox, iter_path

B4 = "formats/b4"


def test_iter_path_reads_mbox_and_gzip_alike(data_dir, tmp_path):
    src = data_dir / "stable-reviews" / "2.6.14.7-review.mbox"
    gz = tmp_path / "review.mbox.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    plain = list(iter_path(src))
    assert len(plain) == 7
    assert [raw for raw, _ in iter_path(gz)] == [raw for raw, _ in plain]
    assert plain[2][1] == "2.6.14.7-review.mbox:#3"
    assert not plain[0][0].startswith(b"From ")
    assert plain[0][0].startswith(b"Message-Id: <20060128015840.722214000@press.kroah.org>")


def test_iter_mbox_reads_bytes_as_it_reads_the_file(data_dir):
    """A download (lore's t.mbox.gz) is split in memory, gzip or not, cut short or not, like a file."""
    src = data_dir / "stable-reviews" / "2.6.14.7-review.mbox"
    from_file = [raw for raw, _ in iter_path(src)]
    data = src.read_bytes()
    assert [raw for raw, _ in iter_mbox(data, name="dl")] == from_file
    assert [w for _, w in iter_mbox(gzip.compress(data), name="dl")][:2] == ["dl:#1", "dl:#2"]
    archive = LINUX_API.read_bytes()
    got = []
    with pytest.raises(MailboxReadError) as info:
        for raw, _ in iter_mbox(archive[: len(archive) // 10], name="https://lore.example/t.mbox.gz"):
            got.append(raw)
    assert len(got) > 10
    assert info.value.message.startswith("https://lore.example/t.mbox.gz: truncated gzip")


def test_iter_mbox_unescapes_mboxrd_from_lines(tmp_path):
    path = tmp_path / "rd.mbox"
    path.write_bytes(
        b"From a@b Thu Jan  1 00:00:00 1970\nSubject: one\n\n>From the start\n>>From quoted\n\n"
        b"From a@b Thu Jan  1 00:00:00 1970\nSubject: two\n\ntext\nFrom here, not after a blank line, is body\nend\n"
    )
    msgs = [raw for raw, _ in iter_path(path)]
    assert msgs[0] == b"Subject: one\n\nFrom the start\n>From quoted\n"
    assert msgs[1].endswith(b"end\n") and len(msgs) == 2


def test_iter_path_truncated_gzip_keeps_good_messages_then_names_the_file(data_dir, tmp_path):
    data = LINUX_API.read_bytes()
    cut = tmp_path / "cut.mbox.gz"
    cut.write_bytes(data[: len(data) // 10])
    got = []
    with pytest.raises(MailboxReadError) as info:
        for raw, where in iter_path(cut):
            got.append(raw)
    assert len(got) > 10
    assert "cut.mbox.gz" in str(info.value.message) and "truncated" in str(info.value.message)


def test_iter_path_reads_maildir_and_format_patch_directories(data_dir, tmp_path):
    maildir = tmp_path / "md"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    raws = [raw for raw, _ in iter_path(data_dir / "stable-reviews" / "2.6.14.7-review.mbox")]
    for i, raw in enumerate(raws):
        (maildir / ("cur" if i % 2 else "new") / f"{i}.host:2,S").write_bytes(raw)
    assert sorted(raw for raw, _ in iter_path(maildir)) == sorted(raws)

    patches = tmp_path / "outgoing"
    patches.mkdir()
    for i, raw in enumerate(raws[1:], 1):
        (patches / f"{i:04d}-x.patch").write_bytes(b"From 0123 Mon Sep 17 00:00:00 2001\n" + raw)
    (patches / "notes.md").write_text("not mail")
    shutil.copy(data_dir / "stable-reviews" / "4.19.107-review-cover.eml", patches / "cover.eml")
    found = list(iter_path(patches))
    assert len(found) == 7
    assert {where for _, where in found} >= {"0001-x.patch:#1", "cover.eml"}


def test_iter_path_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(MailboxReadError, match="no such file"):
        list(iter_path(tmp_path / "nope.mbox"))


def test_iter_mbox_finds_every_message_whatever_the_read_block_boundaries(monkeypatch, tmp_path):
    # a block that ended inside a "From " separator line used to merge two messages into one
    import mailbox

    from tracker import mailbox_io

    text = "".join(
        f"From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: a@example.org\nSubject: m{i}\nMessage-ID: <m{i}@x>\n\nbody {i}\n\n"
        for i in range(12)
    )
    path = tmp_path / "small.mbox"
    path.write_text(text)
    expected = [bytes(m) for m in mailbox.mbox(str(path))]  # the standard library's split, headers and bodies
    assert len(expected) == 12
    whole = [raw for raw, _ in mailbox_io.iter_mbox(path)]  # the file in one block
    assert len(whole) == 12 and all(raw.startswith(b"From: ") for raw in whole)
    for chunk in range(1, 120):
        monkeypatch.setattr(mailbox_io, "_CHUNK", chunk)
        raws = [raw for raw, _ in mailbox_io.iter_mbox(path)]
        assert raws == whole, chunk
        assert [r.split(b"\n\n", 1)[1].strip() for r in raws] == [e.split(b"\n\n", 1)[1].strip() for e in expected], chunk
