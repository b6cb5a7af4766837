"""b4's change-id: read from the X-Change-ID header or the cover's trailer, stored on the series, joining lineages (issue 16).

The base is b4's real test series (tests/data/formats/b4/shazam-git1-just-series.mbox); the other
versions are derived from it here, each edit spelled out, as a maintainer would see them on a list.
"""

from pathlib import Path

from tracker.ingest import store_raw_messages
from tracker.mail import parse_message
from tracker.mailbox_io import iter_mbox
from tracker.queries import list_series

B4 = Path(__file__).parent / "data" / "formats" / "b4" / "shazam-git1-just-series.mbox"
CHANGE_ID = "20221025-test1-e8520c2200a3"


def real() -> list[bytes]:
    return [raw for raw, _ in iter_mbox(B4)]


def derive(raws, *, version, tag, subject_from=None, subject_to=None, trailer=True, header=False, date=None):
    """Another posting of the series: new Message-IDs (-v1- -> tag), [PATCH vN], optional edits."""
    out = []
    for raw in raws:
        raw = raw.replace(b"-v1-", tag.encode())
        raw = raw.replace(b"Subject: [PATCH ", f"Subject: [PATCH v{version} ".encode())
        if subject_from:
            raw = raw.replace(subject_from.encode(), subject_to.encode())
        if not trailer:
            raw = raw.replace(f"change-id: {CHANGE_ID}\n".encode(), b"")
        if header:
            raw = raw.replace(b"\nMessage-Id: ", f"\nX-Change-ID: {CHANGE_ID}\nMessage-Id: ".encode(), 1)
        if date:
            raw = raw.replace(b"Tue, 25 Oct 2022", date.encode())
        out.append(raw)
    return out


def test_change_id_from_trailer_or_header():
    cover = real()[0]
    assert parse_message(cover).change_id == CHANGE_ID  # the cover letter's trailer
    header_only = derive([cover], version=2, tag="-v2-", trailer=False, header=True)[0]
    parsed = parse_message(header_only)
    assert parsed.change_id == CHANGE_ID
    assert ["change-id", CHANGE_ID] in parsed.trailers  # threading reads trailers_json
    assert parse_message(real()[1]).change_id is None  # b4 0.11 put it in the cover only


def test_change_id_joins_versions_across_a_new_subject(db):
    # v2 renames the series (its cover subject) and carries only the X-Change-ID header.
    v2 = derive(real(), version=2, tag="-v2-", subject_from="This is a cover for test series 1",
                subject_to="Renamed test series", trailer=False, header=True, date="Wed, 2 Nov 2022")
    store_raw_messages(db, real() + v2)
    series = sorted(list_series(db), key=lambda s: s["version"])
    assert [s["version"] for s in series] == [1, 2]
    assert series[0]["subject"] != series[1]["subject"]
    assert series[0]["lineage"] == series[1]["lineage"] == f"change-id:{CHANGE_ID}"
    rows = db.execute("select change_id from series order by version").fetchall()
    assert rows == [(CHANGE_ID,), (CHANGE_ID,)]


def test_subject_lineage_and_change_id_lineage_become_one(db):
    # An earlier posting sent without b4 (no change-id), same author and subject a week before.
    v0 = derive(real(), version=1, tag="-v0-", trailer=False, date="Tue, 18 Oct 2022")
    v0 = [raw.replace(b"Subject: [PATCH v1 ", b"Subject: [PATCH ") for raw in v0]
    v2 = derive(real(), version=2, tag="-v2-", date="Wed, 2 Nov 2022")
    store_raw_messages(db, v0)
    store_raw_messages(db, real())
    store_raw_messages(db, v2)
    series = list_series(db)
    assert len(series) == 3
    assert len({s["lineage"] for s in series}) == 1  # one work: subject lineage and change-id lineage joined


def test_in_reply_to_an_older_version_joins_the_lineage_under_a_new_subject(db):
    # Real 2021 covers: v4 "siginfo: ABI fixes for TRAP_PERF" answers v3 "signal: sort out si_trapno and si_perf".
    store_raw_messages(db, [raw for raw, _ in iter_mbox(Path(__file__).parent / "data" / "series" / "siginfo-v3-v4-covers-2021.mbox")])
    v3, v4 = sorted(list_series(db), key=lambda s: s["version"])
    assert (v3["version"], v4["version"]) == (3, 4) and v3["subject"] != v4["subject"]
    assert v3["lineage"] == v4["lineage"]


def _store(db, name):
    store_raw_messages(db, [raw for raw, _ in iter_mbox(Path(__file__).parent / "data" / "series" / name)])
    return sorted(list_series(db), key=lambda s: s["version"])


def test_cover_letter_link_to_an_earlier_version_joins_the_lineage(db):
    # Real 2021 covers: v2 "Extend fanotify dirent events" cites v1 ("Report more information in
    # fanotify dirent events") as a footnoted lore link.
    v1, v2 = _store(db, "fanotify-dirent-v1-v2-covers-2021.mbox")
    assert v1["subject"] != v2["subject"]
    assert v1["lineage"] == v2["lineage"]


def test_cover_letter_link_to_a_companion_patch_is_no_earlier_version(db):
    # Real 2022: statx DIO v5's cover links the man-pages patch "which I sent separately".
    man, v5 = _store(db, "statx-dioalign-v5-cover-and-man-page-2022.mbox")
    assert (man["version"], v5["version"]) == (2, 5)
    assert man["lineage"] != v5["lineage"]
