"""An edition says what was known by the end of its week, never data from after it (issue 18.1).

The built-in sample is a real week of linux-api (2021-W46). Mail, releases,
merges and CVEs recorded after that week are added here, and each section of
the week's edition must read as it did before they came: a review given a
month later, a reply in December, the v18 that renamed the knob, the release
that merged the syscall in 2022. The current-state commands (`ktrack
syscalls --json`, ...) do show the later facts.
"""

from __future__ import annotations

import json
import mailbox
from email.message import EmailMessage
from pathlib import Path

from tracker.edition import assemble_edition

SAMPLE = Path(__file__).parent.parent / "tracker" / "sample" / "linux-api-2021-W46.mbox"
WEEK = "2021-W46"
FANOTIFY = "20211119071738.1348957-1-amir73il@gmail.com"  # "Extend fanotify dirent events" v2, 9 patches
TRUSTED_FOR = "20211115185304.198460-1-mic@digikod.net"  # "Add trusted_for(2)" v17
TRUSTED_FOR_SYSCALL = "20211115185304.198460-2-mic@digikod.net"  # its patch 1/3: the syscall and the knob
MLOCK = "20211028080813.15966-1-sir@cmpwn.com"  # "Increase default MLOCK_LIMIT to 8 MiB": 17 replies that week


def reply(message_id: str, to: str, date: str, subject: str, body: str, author: str = "Jan Kara <jack@suse.cz>") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = author
    mail["To"] = "linux-api@vger.kernel.org"
    mail["Subject"] = subject
    mail["Date"] = date
    mail["Message-ID"] = f"<{message_id}>"
    mail["In-Reply-To"] = f"<{to}>"
    mail["References"] = f"<{to}>"
    mail.set_content(body)
    return mail


def later_mail(tmp_path: Path) -> Path:
    """Mail dated after 2021-W46: reviews, replies, and a v18 of trusted_for that renames its knob.

    The v18 is the real v17 patch 1/3 of the sample with its date, Message-ID,
    version and knob name changed: a made-up later posting, not real mail.
    """
    source = mailbox.mbox(str(SAMPLE))
    v17 = next(m for m in source if TRUSTED_FOR_SYSCALL in (m["Message-Id"] or ""))
    v18 = mailbox.mboxMessage(v17.as_bytes().replace(b"trusted_for_policy", b"trusted_for_exec_policy")
                              .replace(b"[PATCH v17 1/3]", b"[PATCH v18]"))
    for name, value in (("Message-Id", "<20220110100000.1-1-mic@digikod.net>"), ("Date", "Mon, 10 Jan 2022 10:00:00 +0100"),
                        ("In-Reply-To", None), ("References", None)):
        del v18[name]
        if value:
            v18[name] = value
    out = mailbox.mbox(str(tmp_path / "later.mbox"))
    for mail in (
        reply("later-1@suse.cz", FANOTIFY, "Wed, 01 Dec 2021 10:00:00 +0100", "Re: [PATCH v2 0/9] Extend fanotify dirent events",
              "The series looks good to me.\n\nReviewed-by: Jan Kara <jack@suse.cz>\n"),
        reply("later-2@kernel.org", TRUSTED_FOR, "Thu, 02 Dec 2021 10:00:00 +0100", "Re: [PATCH v17 0/3] Add trusted_for(2) (was O_MAYEXEC)",
              "Fine with me.\n\nAcked-by: Christian Brauner <brauner@kernel.org>\n", "Christian Brauner <brauner@kernel.org>"),
        reply("later-3@example.org", MLOCK, "Tue, 30 Nov 2021 10:00:00 +0100", "Re: [PATCH] Increase default MLOCK_LIMIT to 8 MiB",
              "Another word on this, a week too late.\n", "Someone Else <someone@example.org>"),
        reply("later-4@example.org", MLOCK, "Tue, 30 Nov 2021 11:00:00 +0100", "Re: [PATCH] Increase default MLOCK_LIMIT to 8 MiB",
              "And one more.\n", "Another Person <another@example.org>"),
    ):
        out.add(mailbox.mboxMessage(mail.as_bytes()))
    out.add(v18)
    out.flush()
    return tmp_path / "later.mbox"


def later_releases(db) -> None:
    """Kernel.org records of releases out after the week (5.16, 5.17): real dates, as the releases source stores them."""
    db["releases"].insert_all([
        {"version": "5.16", "kind": "mainline", "sort_key": "1.0005.0016.0000.2.0000", "released_at": "2022-01-09T22:00:00+00:00"},
        {"version": "5.17", "kind": "mainline", "sort_key": "1.0005.0017.0000.2.0000", "released_at": "2022-03-20T21:00:00+00:00"},
    ], pk="version", alter=True, replace=True)


def sections(app) -> dict[str, dict]:
    return {s["key"]: s for s in assemble_edition(app, WEEK)["sections"]}


def with_later_facts(app, ktrack, tmp_path) -> tuple[dict, dict]:
    assert ktrack("import", SAMPLE).exit_code == 0
    before = sections(app)
    result = ktrack("import", later_mail(tmp_path))
    assert result.exit_code == 0, result.output
    # both imports fall in one second, and the analysis watermark has whole seconds: analyse all
    assert ktrack("analyze", "--all").exit_code == 0
    later_releases(app.db)
    return before, sections(app)


def test_nothing_recorded_after_the_week_changes_its_edition(app, ktrack, tmp_path):
    before, after = with_later_facts(app, ktrack, tmp_path)
    assert set(before) >= {"discussions", "syscalls", "sysctls", "patches"}
    for key in before:
        assert after[key] == before[key], key
    assert set(after) == set(before)


def test_patches_count_reviews_and_replies_given_by_the_weeks_end(app, ktrack, tmp_path):
    before, after = with_later_facts(app, ktrack, tmp_path)
    item = next(i for i in after["patches"]["items"] if i["series_key"] == FANOTIFY)
    assert item["reviews"] == {} and item["replies"] == 1  # the December review and reply are not counted
    assert "reviewed by" not in item["text"]
    # the current state does count them
    from tracker.api import review_counts

    assert review_counts(app.db, [FANOTIFY]) == {FANOTIFY: {"Reviewed-by": 1}}
    assert review_counts(app.db, [FANOTIFY], until="2021-11-22") == {}


def test_feature_item_review_state_as_of_the_week(app, ktrack, tmp_path):
    before, after = with_later_facts(app, ktrack, tmp_path)
    item = next(i for i in after["syscalls"]["items"] if i["name"] == "trusted_for")
    assert item["review_state"] == "reviewed by 2, acked by 2"  # the Acked-by of December 2 is not counted
    assert item["summary"] == next(i for i in before["syscalls"]["items"] if i["name"] == "trusted_for")["summary"]


def test_syscall_merged_later_is_a_proposal_that_week(app, ktrack, tmp_path):
    _, after = with_later_facts(app, ktrack, tmp_path)
    item = next(i for i in after["syscalls"]["items"] if i["name"] == "set_mempolicy_home_node")
    # merged in 5.17 (March 2022): in November 2021 it was a proposal
    assert item["status"] == "proposed" and item["merged_in"] is None
    assert "merged in" not in item["text"] and "— new proposal v5:" in item["text"]
    current = json.loads(ktrack("syscalls", "--json").stdout)
    assert next(r for r in current if r["name"] == "set_mempolicy_home_node")["merged_in"] == "5.17"


def test_sysctl_renamed_later_keeps_the_weeks_name(app, ktrack, tmp_path):
    _, after = with_later_facts(app, ktrack, tmp_path)
    [item] = after["sysctls"]["items"]
    assert item["text"].startswith("/proc/sys/fs/trusted_for_policy added: ")
    assert "trusted_for_exec_policy" not in json.dumps(after)
    # `ktrack sysctls` is today's state: the knob goes by its v18 name
    assert "/proc/sys/fs/trusted_for_exec_policy" in ktrack("sysctls").stdout


def test_discussions_count_only_the_weeks_replies(app, ktrack, tmp_path):
    _, after = with_later_facts(app, ktrack, tmp_path)
    mlock = next(i for i in after["discussions"]["items"] if i["message_id"] == MLOCK)
    assert (mlock["replies"], mlock["participants"]) == (17, 6)


def test_a_ranked_thread_that_began_after_the_week_is_not_listed(app, ktrack, tmp_path):
    from tracker import hookimpl

    with_later_facts(app, ktrack, tmp_path)

    class Later:
        @hookimpl
        def edition_discussions(self, edition, db):
            return [{"message_id": "later-3@example.org", "score": 1000, "why": "a reply of November 30"}]

    app.host.pm.register(Later(), name="later")
    items = sections(app)["discussions"]["items"]
    assert "later-3@example.org" not in [i["message_id"] for i in items]


def test_release_status_ignores_releases_after_the_week(app, ktrack, tmp_path):
    from tracker.edition import edition_for
    from tracker.plugins.release_status import status_items

    with_later_facts(app, ktrack, tmp_path)
    app.db["releases"].insert({"version": "5.15", "kind": "mainline", "sort_key": "1.0005.0015.0000.2.0000",
                               "released_at": "2021-10-31T22:00:00+00:00"}, alter=True)
    texts = [i["text"] for i in status_items(app.db, edition_for(WEEK))]
    assert texts[0].startswith("No kernel release data from this week: the newest release known to this tracker is from"
                               " October 31, 2021, 3 weeks before the week ended.")
    assert texts[1] == "The development kernel was 5.15, released on October 31."
    assert not any("5.16" in t or "5.17" in t for t in texts)


def test_watched_series_count_reviews_given_by_the_weeks_end(app, ktrack, tmp_path):
    config = tmp_path / "watch.toml"
    config.write_text('[plugins.watch.topics.trusted]\ntitle = "trusted_for"\npeople = ["mic@digikod.net"]\n')
    app.use_config(config)
    before, after = with_later_facts(app, ktrack, tmp_path)
    [item] = after["watch"]["items"]
    assert item["series_key"] == TRUSTED_FOR and item["reviews"] == {"Reviewed-by": 2, "Acked-by": 2}
    assert after["watch"] == before["watch"]  # the Acked-by of December 2 is not counted


def test_stable_items_name_only_cves_known_that_week(db):
    """A 2021 review whose patch got a CVE id of 2024 (and an erratum found later) names neither in 2021."""
    from tracker.edition import edition_for
    from tracker.plugins.stable_review.sections import stable_section
    from tracker.plugins.stable_review.store import save_review

    entries = [{"number": 1, "subject": "net: fix a use-after-free in sock_close", "category": "security", "summary": "a use-after-free",
                "subsystem": "net", "score": 0.9, "evidence": [], "cves": ["CVE-2021-1000", "CVE-2024-2000"]},
               {"number": 2, "subject": "doc: typo", "category": "bugfix", "summary": "a fix", "subsystem": "doc", "score": 0.1,
                "evidence": []}]
    save_review(db, "5.15.3", entries, series_date="2021-11-16T10:00:00+00:00")
    db["stable_review_verdicts"].update(("5.15.3", 1), {"cves_checked_at": "2024-05-01T00:00:00+00:00"})
    db["stable_review_errata"].insert({"release": "5.15.3", "number": 1, "cve": "CVE-2021-1000", "subject": entries[0]["subject"],
                                       "category": "security", "found_at": "2021-12-20T00:00:00+00:00"}, alter=True)
    section = stable_section(edition_for(WEEK), db)
    [security] = [i for i in section.items if i["kind"] == "security"]
    assert security["cves"] == [] and "CVE-" not in security["text"]
    [score] = [i for i in section.items if i["kind"] == "scorecard"]
    assert score["text"].startswith("Scorecard over 1 reviewed update with CVE data: 0 patches later received a CVE")
    # the week the erratum was found, the CVE of 2021 is known; the one of 2024 still is not
    later = stable_section(edition_for("2021-W51"), db)
    assert [i["text"] for i in later.items if i["kind"] == "scorecard"][0].startswith(
        "Scorecard over 1 reviewed update with CVE data: 1 patch later received a CVE, 1 of them had been flagged")


def _doc_example(hook: str) -> str:
    """The example implementation of `hook` in docs/plugins.md (its second Python block)."""
    import re

    text = (Path(__file__).parent.parent / "docs" / "plugins.md").read_text()
    body = text[text.index(f"\n### {hook}\n"):].split("\n### ", 2)[1]
    return re.findall(r"```python\n(.*?)```", body, re.S)[1]


def test_the_documented_edition_discussions_example_ranks_thread_roots(app, ktrack):
    """docs/plugins.md's example, with Florian Weimer for Linus: the rseq thread he wrote in comes first."""
    from tracker import hookimpl

    assert ktrack("import", SAMPLE).exit_code == 0
    namespace = {"hookimpl": hookimpl}
    exec(_doc_example("edition_discussions").replace("torvalds@linux-foundation.org", "fweimer@redhat.com"), namespace)
    plugin = type("Example", (), {"edition_discussions": staticmethod(namespace["edition_discussions"])})
    app.host.pm.register(plugin, name="doc-example")
    [first, *_] = sections(app)["discussions"]["items"]
    assert first["title"] == "Bringing rseq back into glibc" and first["why"] == ["Linus took part"]


def test_the_documented_claim_series_example_moves_a_series_out_of_patches(app, ktrack):
    from tracker import hookimpl

    assert ktrack("import", SAMPLE).exit_code == 0
    namespace = {"hookimpl": hookimpl}
    exec(_doc_example("claim_series").replace("io_uring%", "mm/mempolicy%"), namespace)
    before = [i["series_key"] for i in sections(app)["patches"]["items"]]
    app.host.pm.register(type("Example", (), {"claim_series": staticmethod(namespace["claim_series"])}), name="doc-example")
    after = [i["series_key"] for i in sections(app)["patches"]["items"]]
    assert len(after) == len(before) - 1 and not any("aneesh" in k for k in after)
