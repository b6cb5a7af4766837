"""Parsing single messages: real stable-review mail, b4 and Patchwork samples, and broken input."""

from tracker.mail import find_upstream_commit, parse_message, read_diffstat, split_diff
from tracker.mailbox_io import iter_path


def _messages(path):
    return [parse_message(raw) for raw, _ in iter_path(path)]


def test_parse_message_reads_the_4_19_107_cover(data_dir):
    msg = parse_message((data_dir / "stable-reviews" / "4.19.107-review-cover.eml").read_bytes())
    assert msg.subject == "[PATCH 4.19 00/97] 4.19.107-stable review"
    assert msg.author_email == "gregkh@linuxfoundation.org"
    assert msg.author_name == "Greg Kroah-Hartman"
    assert msg.date.startswith("2020-02-27T")
    assert msg.date.endswith("+00:00")
    assert msg.list_id == "stable.vger.kernel.org"
    assert "This is the start of the stable review cycle for the 4.19.107 release" in msg.body
    assert msg.warnings == []


def test_parse_message_reads_diff_files_and_counts_of_2_6_14_7_patches(data_dir):
    msgs = _messages(data_dir / "stable-reviews" / "2.6.14.7-review.mbox")
    assert len(msgs) == 7
    cover, first = msgs[0], msgs[1]
    assert cover.diff == "" and cover.files == []
    assert first.subject.startswith("[patch 1/6] setting irq affinity")
    assert first.diff.startswith(("diff ", "Index: ", "--- "))
    assert first.files and all(not f.startswith(("a/", "b/", "linux-")) for f in first.files)
    assert all(d["added"] + d["removed"] > 0 for d in first.diffstat)
    assert ["Signed-off-by", "Chris Wright <chrisw@sous-sol.org>"] in [t for m in msgs[1:] for t in m.trailers]
    assert "diff --git" not in first.body


def test_parse_message_reads_trailers_but_not_quoted_ones(data_dir):
    msgs = _messages(data_dir / "formats" / "b4" / "trailers-followup-single.mbox")
    patch, replies = msgs[0], msgs[1:]
    assert ["Reviewed-by", "Original Reviewer <original-reviewer@example.com>"] in patch.trailers
    assert ["Fixes", "abcdef01234567890"] in patch.trailers
    assert any(name == "Link" for name, _ in patch.trailers)
    for reply in replies:
        assert ["Signed-off-by", "Original Submitter <original-submitter@example.com>"] not in reply.trailers
    assert any(name == "Reviewed-by" for r in replies for name, _ in r.trailers)


def test_parse_message_turns_html_only_mail_into_text():
    raw = (
        b"From: A <a@example.org>\nSubject: hi\nMessage-ID: <h@x>\nDate: Tue, 30 Aug 2022 11:19:07 -0400\n"
        b"Content-Type: text/html; charset=utf-8\n\n<html><body><p>Reviewed-by: A &lt;a@example.org&gt;</p>"
        b"<script>x()</script></body></html>\n"
    )
    msg = parse_message(raw)
    assert "<p>" not in msg.body and "x()" not in msg.body
    assert msg.trailers == [["Reviewed-by", "A <a@example.org>"]]


def test_parse_message_decodes_encoded_words_and_charsets():
    raw = (
        "From: =?utf-8?q?Pawe=C5=82_Jasi=C5=84ski?= <p@example.org>\n"
        "Subject: =?iso-8859-1?q?R=E9sum=E9?=\n =?utf-8?b?w6k=?=\n"
        "Message-ID: <c@x>\nDate: Tue, 30 Aug 2022 11:19:07 -0400\n"
        "Content-Type: text/plain; charset=iso-8859-2\nContent-Transfer-Encoding: quoted-printable\n\nza=BF=F3=B3=E6\n"
    ).encode()
    msg = parse_message(raw)
    assert msg.author_name == "Paweł Jasiński"
    assert msg.subject.startswith("Résumé")
    assert "zażółć" in msg.body


def test_parse_message_unknown_charset_and_broken_mime_survive():
    raw = (
        b"From: a@example.org\nSubject: x\nMessage-ID: <m@x>\nDate: Tue, 30 Aug 2022 11:19:07 -0400\n"
        b"Content-Type: multipart/mixed; boundary=\"zz\"\n\n--zz\nContent-Type: text/plain; charset=x-nonsense\n\n"
        b"caf\xe9 body\n--zz\nContent-Type: text/x-patch\n\ndiff --git a/f.c b/f.c\n--- a/f.c\n+++ b/f.c\n@@ -1 +1 @@\n-a\n+b\n"
    )  # no closing boundary
    msg = parse_message(raw)
    assert "caf" in msg.body
    assert msg.files == ["f.c"]
    assert msg.diffstat == [{"path": "f.c", "added": 1, "removed": 1}]


def test_parse_message_without_message_id_gets_a_stable_synthetic_id():
    raw = b"From: a@example.org\nSubject: no id\nDate: Tue, 30 Aug 2022 11:19:07 -0400\n\nbody\n"
    one, two = parse_message(raw), parse_message(raw)
    assert one.message_id == two.message_id and one.synthetic_id
    assert one.message_id != parse_message(raw + b"more\n").message_id
    assert any("no Message-ID" in w for w in one.warnings)


def test_parse_message_invalid_date_is_none_with_a_warning():
    for date in (b"Date: not a date at all\n", b"Date: Mon, 99 Foo 20211 99:99:99 +9999\n", b""):
        msg = parse_message(b"From: a@example.org\nSubject: s\nMessage-ID: <d@x>\n" + date + b"\nbody\n")
        assert msg.date is None
        assert any("Date" in w for w in msg.warnings)


def test_parse_message_binary_junk_has_no_headers():
    msg = parse_message(bytes(range(256)) * 20)
    assert msg.has_headers is False


def test_parse_message_takes_last_in_reply_to_and_all_references(data_dir):
    msgs = _messages(data_dir / "formats" / "patchwork" / "series" / "bugs-multiple-references.mbox")
    assert msgs[2].in_reply_to == "cover.1495511998.git.viresh.kumar@linaro.org"
    assert not any(m.synthetic_id for m in msgs)  # folded "Message-Id:\n <...>" is read


def test_find_upstream_commit_reads_the_three_stable_forms():
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert find_upstream_commit(f"commit {sha} upstream.\n\nfoo") == sha
    assert find_upstream_commit(f"[ Upstream commit {sha} ]\n") == sha
    assert find_upstream_commit(f"text\n(cherry picked from commit {sha})\n") == sha
    assert find_upstream_commit("commit deadbeef is mentioned") is None


def test_read_diffstat_does_not_take_a_removed_dashes_line_for_a_header():
    diff = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,1 @@\n--- old line\n a\n"
    assert read_diffstat(diff) == [{"path": "x", "added": 0, "removed": 1}]
    body, rest = split_diff("text\n---\n x | 1 +\n\n" + diff)
    assert body.endswith("x | 1 +\n\n") and rest == diff
