"""Discussions of the week (plugins/discussions.py) on real linux-api threads of 2021-W46, and the edition_discussions hook."""

from __future__ import annotations

from pathlib import Path

from tracker import hookimpl
from tracker.edition import assemble_edition, edition_for
from tracker.plugins.discussions import discussion_items, opening_words, thread_root

MBOX = Path(__file__).parent / "data" / "discussions" / "linux-api-2021-W46-threads.mbox"
MLOCK = "20211028080813.15966-1-sir@cmpwn.com"
RSEQ = "87wnl5u5rz.fsf@oldenburg.str.redhat.com"
SIGNAL = "87bl2kekig.fsf_-_@email.froward.int.ebiederm.org"  # a reply to a report of 2021-11-01 not on this list
SIGNAL_ROOT = "20211101034147.6203-1-khuey@kylehuey.com"


def imported(ktrack):
    result = ktrack("import", MBOX)
    assert result.exit_code == 0, result.output


def test_most_discussed_threads_first_patch_or_not(app, ktrack):
    imported(ktrack)
    items = discussion_items(app.db, edition_for("2021-W46"))
    assert [i["message_id"] for i in items] == [MLOCK, RSEQ, SIGNAL]
    mlock, rseq, signal = items
    # the root of 2021-10-28 is not a reply of this week; 17 replies from 6 people are
    assert (mlock["replies"], mlock["participants"]) == (17, 6)
    assert mlock["summary"] == "6 participants, 17 replies this week; thread started 2021-10-28"
    assert mlock["excerpt"].startswith("This limit has not been updated since 2008")
    assert mlock["link"] == f"https://lore.kernel.org/r/{MLOCK}"
    # a thread with no patch at all is news too
    assert rseq["title"] == "Bringing rseq back into glibc" and not rseq["is_patch"]
    assert (rseq["replies"], rseq["participants"]) == (7, 4)
    assert rseq["excerpt"] == "I would like to bring back rseq for glibc 2.35.  I propose the following steps:"
    # a series' cover is not a reply to itself: 3 replies
    assert signal["is_patch"] and signal["replies"] == 3
    # only the title is a link, the counts are prose
    assert [p.get("link") for p in rseq["parts"]] == [f"https://lore.kernel.org/r/{RSEQ}", None]


def test_the_week_before_and_after_see_only_their_own_mail(app, ktrack):
    imported(ktrack)
    assert discussion_items(app.db, edition_for("2021-W43")) == []  # the lone MLOCK root: no discussion yet
    assert discussion_items(app.db, edition_for("2021-W47")) == []


def test_discussions_section_in_the_edition(app, ktrack):
    imported(ktrack)
    edition = assemble_edition(app, "2021-W46")
    section = next(s for s in edition["sections"] if s["key"] == "discussions")
    assert section["title"] == "Discussions of the week" and len(section["items"]) == 3
    text = ktrack("digest", "--week", "2021-W46", "--format", "markdown").stdout
    assert f"- [Bringing rseq back into glibc](<https://lore.kernel.org/r/{RSEQ}>) (4 participants, 7 replies this week)" in text


class Boost:
    """A plugin that ranks the signal thread first (say, it follows the rr debugger) and names an unknown thread."""

    @hookimpl
    def edition_discussions(self, edition, db):
        assert edition["week"] == "2021-W46"
        return [{"message_id": f"<{SIGNAL_ROOT}>", "score": 100, "why": "rr"}, {"message_id": "nobody@nowhere", "score": 500}]


def test_a_plugin_contributes_discussion_rankings(app, ktrack):
    imported(ktrack)
    app.host.pm.register(Boost(), name="boost")
    section = next(s for s in assemble_edition(app, "2021-W46")["sections"] if s["key"] == "discussions")
    assert [i["message_id"] for i in section["items"]] == [SIGNAL, MLOCK, RSEQ]  # the unknown thread is not listed
    assert section["items"][0]["why"] == ["rr"]


def test_thread_root_and_opening_words():
    assert thread_root({"message_id": "c@x", "in_reply_to": "b@x", "references_json": '["<a@x>", "<b@x>"]'}) == "a@x"
    assert thread_root({"message_id": "c@x", "in_reply_to": "<b@x>", "references_json": "bad json"}) == "b@x"
    body = "On Mon, Nov 15, 2021 at 10:00 Someone wrote:\n> quoted\n\nHey all,\n\nThis is what I think about it. More words.\n-- \nsig"
    assert opening_words(body) == "This is what I think about it. More words."


def test_opening_words_skip_quote_introductions_in_other_languages():
    # the reply of 2021-06 in the "powerpc: membarrier" thread starts with a French quote introduction (NBSP before ':')
    body = "Le 29/01/2018 à 21:20, Mathieu Desnoyers a écrit\u00a0:\n> quoted\n\nLooking at switch_mm_irqs_off(), I found it more complex.\n"
    assert opening_words(body) == "Looking at switch_mm_irqs_off(), I found it more complex."


def test_versions_of_one_series_are_one_discussion(app):
    db = app.db
    rows = []
    for version, root in ((12, "v12@x"), (13, "v13@x")):
        rows.append({"message_id": root, "subject": f"[PATCH v{version} 0/3] Add trusted_for(2) (was O_MAYEXEC)", "author_email": "a@x",
                     "date": "2021-10-05T10:00:00+00:00", "is_cover": 1, "is_patch": 0})
        for n, who in enumerate(("b@x", "c@x", "a@x")):
            rows.append({"message_id": f"r{n}-{root}", "subject": f"Re: [PATCH v{version} 0/3] Add trusted_for(2) (was O_MAYEXEC)",
                         "author_email": who, "in_reply_to": root, "references_json": f'["{root}"]',
                         "date": f"2021-10-06T1{n}:00:00+00:00", "is_cover": 0, "is_patch": 0})
    db["messages"].insert_all(rows, alter=True)
    [item] = discussion_items(db, {"start": "2021-10-04", "end": "2021-10-11"})
    assert item["title"] == "Add trusted_for(2) (was O_MAYEXEC)" and item["replies"] == 6 and item["participants"] == 3


def test_a_thread_is_known_by_its_roots_subject(app):
    """idmapped mounts v5 (root of the week before, only replies to its patch 12 this week) and v6 are one discussion."""
    db = app.db
    db["messages"].insert_all([
        {"message_id": "v5@x", "subject": "[PATCH v5 00/42] idmapped mounts", "author_email": "a@x",
         "date": "2021-01-12T10:00:00+00:00", "is_cover": 1, "is_patch": 0},
        {"message_id": "r1@x", "subject": "Re: [PATCH v5 12/42] fs: add mount_setattr()", "author_email": "b@x", "in_reply_to": "p12@x",
         "references_json": '["v5@x", "p12@x"]', "date": "2021-01-19T10:00:00+00:00", "is_cover": 0, "is_patch": 0},
        {"message_id": "r2@x", "subject": "Re: [PATCH v5 12/42] fs: add mount_setattr()", "author_email": "a@x", "in_reply_to": "r1@x",
         "references_json": '["v5@x", "p12@x", "r1@x"]', "date": "2021-01-19T11:00:00+00:00", "is_cover": 0, "is_patch": 0},
        {"message_id": "v6@x", "subject": "[PATCH v6 00/40] idmapped mounts", "author_email": "a@x",
         "date": "2021-01-21T10:00:00+00:00", "is_cover": 1, "is_patch": 0},
        {"message_id": "r3@x", "subject": "Re: [PATCH v6 00/40] idmapped mounts", "author_email": "c@x", "in_reply_to": "v6@x",
         "references_json": '["v6@x"]', "date": "2021-01-21T12:00:00+00:00", "is_cover": 0, "is_patch": 0},
    ], alter=True)
    [item] = discussion_items(db, {"start": "2021-01-18", "end": "2021-01-25"})
    assert item["title"] == "idmapped mounts" and item["replies"] == 3 and item["participants"] == 3
