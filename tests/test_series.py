"""Threading into series, checked on Patchwork's series fixtures, b4's samples and real stable reviews."""

import pytest

from tracker.ingest import import_paths, store_raw_messages
from tracker.mailbox_io import iter_path
from tracker.queries import get_series, list_series

PW = "formats/patchwork/series"


def _shape(db):
    """[(version, total, received, has_cover, [numbers])] oldest first."""
    rows = sorted(list_series(db), key=lambda s: (s["date"], s["version"]))
    return [(s["version"], s["total"], s["received"], bool(s["cover_message_id"]), [p["number"] for p in s["patches"]]) for s in rows]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("base-cover-letter", [(1, 2, 2, True, [1, 2])]),
        ("base-deep-threaded", [(1, 2, 2, True, [1, 2])]),
        ("base-different-versions", [(3, 4, 4, True, [1, 2, 3, 4])]),
        ("base-extra-patches", [(1, 2, 3, True, [1, 2, 3])]),
        ("base-incomplete", [(1, 2, 1, True, [1])]),
        ("base-no-cover-letter", [(1, 2, 2, False, [1, 2])]),
        ("base-no-references", [(2, 2, 2, False, [1, 2])]),
        ("base-no-references-no-cover", [(1, 2, 2, True, [1, 2])]),
        ("base-out-of-order", [(1, 2, 2, True, [1, 2])]),
        ("base-single-patch", [(1, 1, 1, False, [1])]),
        ("bugs-multiple-references", [(2, 4, 4, True, [1, 2, 3, 4])]),
        ("bugs-nocover", [(1, 2, 2, False, [1, 2]), (2, 2, 2, False, [1, 2])]),
        ("bugs-nocover-noversion", [(1, 2, 2, False, [1, 2]), (1, 2, 2, False, [1, 2])]),
        ("bugs-spamming", [(2, 4, 1, False, [1])] * 3),
        ("mercurial-cover-letter", [(1, 2, 2, True, [1, 2])]),
        ("mercurial-no-cover-letter", [(1, 2, 2, False, [1, 2])]),
        ("revision-basic", [(1, 2, 2, True, [1, 2]), (2, 2, 2, True, [1, 2])]),
        ("revision-out-of-order", [(1, 2, 2, True, [1, 2]), (2, 2, 2, True, [1, 2])]),
        ("revision-threaded-to-cover", [(1, 2, 2, True, [1, 2]), (2, 2, 2, True, [1, 2])]),
        ("revision-threaded-to-patch", [(1, 2, 2, True, [1, 2]), (2, 2, 2, True, [1, 2])]),
    ],
)
def test_thread_patchwork_series_fixtures(db, data_dir, name, expected):
    stats = import_paths(db, [data_dir / PW / f"{name}.mbox"])
    assert stats.errors == []
    assert _shape(db) == expected


def test_thread_unnumbered_patch_is_its_own_series(db, data_dir):
    import_paths(db, [data_dir / PW / "bugs-unnumbered.mbox"])
    subjects = sorted(s["subject"] for s in list_series(db))
    assert subjects == ["A sample series", "This is an orphaned patch!"]


def test_thread_revisions_share_a_lineage(db, data_dir):
    import_paths(db, [data_dir / PW / "revision-threaded-to-patch.mbox"])
    v1, v2 = sorted(list_series(db), key=lambda s: s["version"])
    assert v1["lineage"] == v2["lineage"] and v1["series_key"] != v2["series_key"]


def test_thread_b4_change_id_is_the_lineage(db, data_dir):
    import_paths(db, [data_dir / "formats/b4/shazam-git1-just-series.mbox"])
    (series,) = list_series(db)
    assert series["lineage"].startswith("change-id:20221025-test1")


def test_thread_real_2_6_14_7_review_without_references(db, data_dir):
    import_paths(db, [data_dir / "stable-reviews" / "2.6.14.7-review.mbox"])
    (series,) = list_series(db)
    assert series["is_stable_review"] == 1 and series["stable_release"] == "2.6.14.7"
    assert (series["total"], series["received"], series["complete"]) == (6, 6, 1)
    full = get_series(db, series["series_key"])
    assert full["cover"]["message_id"] == "20060128015840.722214000@press.kroah.org"
    assert [p["patch_number"] for p in full["patches"]] == [1, 2, 3, 4, 5, 6]
    assert any("CVE-2006-0036" in p["subject"] for p in full["patches"])


def test_thread_4_19_107_cover_is_a_stable_review(db, data_dir):
    import_paths(db, [data_dir / "stable-reviews" / "4.19.107-review-cover.eml"])
    (series,) = list_series(db, stable_release="4.19.107")
    assert (series["total"], series["received"], series["complete"]) == (97, 0, 0)
    assert series["prefixes"] == ["PATCH", "4.19"]


@pytest.mark.parametrize("stem, release", [
    ("2.6.32.9-stable review", "2.6.32.9"), ("6.12.5-rc1 review", "6.12.5-rc1"),
    ("2.6.14.7 -stable review", "2.6.14.7"), ("4.19.107-stable review", "4.19.107"), ("mm: review fixes", None),
])
def test_stable_release_of_cover_stems(stem, release):
    from tracker.series import stable_release_of

    assert stable_release_of(stem) == release


def test_thread_is_incremental_across_runs(db, data_dir):
    raws = [raw for raw, _ in iter_path(data_dir / "stable-reviews" / "2.6.14.7-review.mbox")]
    store_raw_messages(db, [raws[3]])  # patch 3/6 today
    store_raw_messages(db, [raws[4], raws[6]])  # 4/6 and 6/6 tomorrow
    (series,) = list_series(db)
    assert (series["total"], series["received"], series["cover_message_id"]) == (6, 3, None)
    before = series["updated_at"]
    store_raw_messages(db, raws)  # the rest, cover last-but-not-least
    (series,) = list_series(db)
    assert series["series_key"] == "20060128015840.722214000@press.kroah.org"  # rekeyed to the cover
    assert (series["received"], series["complete"], series["stable_release"]) == (6, 1, "2.6.14.7")
    assert series["updated_at"] >= before
    assert db.execute("SELECT count(DISTINCT series_key) FROM messages").fetchone()[0] == 1


def test_thread_reply_trailers_count_on_their_patch(db, data_dir):
    import_paths(db, [data_dir / "formats/b4/trailers-thread-with-followups.mbox"])
    (series,) = list_series(db)
    full = get_series(db, series["series_key"])
    assert full["trailer_counts"].get("Reviewed-by", 0) >= 1
    with_trailers = [p["patch_number"] for p in full["patches"] if p["reply_trailers"]]
    assert with_trailers  # replies' Reviewed-by lands on the patch they answer


def test_thread_reply_arriving_before_its_patch_is_adopted(db, data_dir):
    raws = [raw for raw, _ in iter_path(data_dir / "formats/b4/trailers-followup-htmljunk.mbox")]
    store_raw_messages(db, [raws[1]])  # the review first
    store_raw_messages(db, [raws[0]])
    (series,) = list_series(db)
    full = get_series(db, series["series_key"])
    assert full["patches"][0]["reply_trailers"][0][0] == "Reviewed-by"


def test_thread_review_without_re_prefix_is_a_reply(db, data_dir):
    import_paths(db, [data_dir / "formats/b4/trailers-followup-nore.mbox"])
    (series,) = list_series(db)
    assert get_series(db, series["series_key"])["trailer_counts"] == {"Reviewed-by": 1}


def test_ref_index_rekey_matches_the_stored_pairs(db):
    """RefIndex mirrors, for pairs still waiting to be written, what the Threader's SQL does to stored ones."""
    from tracker.series_refs import RefIndex

    conn = db.conn
    for key, date in (("old", "2024-01-02"), ("new", "2024-01-01")):
        conn.execute("INSERT INTO series (series_key, total, version, date) VALUES (?, 3, 2, ?)", (key, date))
    conn.executemany("INSERT INTO series_refs (message_id, series_key) VALUES (?, ?)", [("a", "old"), ("b", "old"), ("b", "new")])
    index = RefIndex(conn)
    index.load(["a", "b", "c"])
    assert (index.keys_of("a"), sorted(index.keys_of("b")), index.keys_of("c")) == (["old"], ["new", "old"], [])
    assert index.shape("old") == (3, 2, "2024-01-02") and index.shape("missing") is None
    index.add("c", "old")
    index.add("a", "old")  # stored already: not written twice
    # the Threader's rekey of "old" -> "new" in SQL, then the index follows
    conn.execute("UPDATE series SET series_key = 'gone' WHERE series_key = 'new'")
    conn.execute("UPDATE series SET series_key = 'new' WHERE series_key = 'old'")
    conn.execute("UPDATE OR IGNORE series_refs SET series_key = 'new' WHERE series_key = 'old'")
    conn.execute("DELETE FROM series_refs WHERE series_key = 'old'")
    index.rekey("old", "new")
    index.flush()
    stored = sorted(conn.execute("SELECT message_id, series_key FROM series_refs").fetchall())
    assert stored == [("a", "new"), ("b", "new"), ("c", "new")]
    assert [index.keys_of(m) for m in "abc"] == [["new"], ["new"], ["new"]]
    assert index.shape("new") == (3, 2, "2024-01-02")  # the renamed series' own values, not the stale ones
