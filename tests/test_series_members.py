"""SeriesMembers keeps, member by member, exactly what a full scan of the members computes (issue 19).

_refresh once scanned every member of a series for each message added; it
now reads these aggregates. Each is checked here against the scan it
replaced, after every append, on seeded random members with the awkward
values real mail has: no number, no date, equal dates, a cover, extra
patches past the total, change-ids on some members only.
"""

import json
import random

import pytest

from tracker.series_rows import Member, SeriesMembers, change_id_of, head_order


def _member(rng, i):
    is_cover = int(rng.random() < 0.1)
    number = 0 if is_cover else rng.choice([None, *range(1, 9)])
    trailers = [["change-id", f"2024-{rng.randrange(3)}"]] if rng.random() < 0.2 else []
    return Member(
        message_id=f"m{i}@example",
        subject=f"[PATCH {number}/6] x",
        author_name="A",
        author_email="a@example",
        date=rng.choice([None, "2024-01-01T10:00:00+00:00", "2024-01-02T09:00:00+00:00", f"2024-01-0{rng.randrange(1, 9)}T00:00:00+00:00"]),
        list_id="l",
        patch_number=number,
        patch_total=6,
        patch_version=1,
        is_cover=is_cover,
        trailers_json=json.dumps(trailers) if trailers or rng.random() < 0.5 else None,
        in_reply_to=rng.choice([None, f"m{rng.randrange(max(i, 1))}@example"]),
    )


@pytest.mark.parametrize("seed", range(40))
def test_series_members_aggregates_equal_a_full_scan(seed):
    rng = random.Random(seed)
    members = SeriesMembers()
    seen = []
    for i in range(rng.randrange(1, 30)):
        member = _member(rng, i)
        members.append(member)
        seen.append(member)
        head = min(seen, key=head_order)  # what _refresh computed before
        assert members.head is head
        assert members.ties == sum(1 for m in seen if head_order(m) == head_order(head))
        numbers = {m.patch_number for m in seen if not m.is_cover and m.patch_number}
        assert members.numbers == numbers
        dates = [m.date for m in seen if m.date]
        assert members.min_date == (min(dates) if dates else None)
        assert members.change_id == next((c for c in map(change_id_of, (m.trailers_json for m in seen)) if c), None)
        for total in (1, 3, 6, 8):
            assert members.complete(total) == all(n in numbers for n in range(1, total + 1))
        for number in (None, 0, 1, 5, 9):
            assert members.slot_free(number) == (not any(m.patch_number == number for m in seen))
        for j in range(i + 2):
            mid = f"m{j}@example"
            assert members.answers(mid) == any(m.in_reply_to == mid for m in seen)
    assert list(members) == seen and len(members) == len(seen)


def test_series_members_built_from_rows_equals_appended_one_by_one():
    rng = random.Random(99)
    rows = [_member(rng, i) for i in range(25)]
    built, appended = SeriesMembers(rows), SeriesMembers()
    for row in rows:
        appended.append(row)
    assert (built.head, built.ties, built.numbers, built.min_date, built.change_id) == (
        appended.head, appended.ties, appended.numbers, appended.min_date, appended.change_id)
