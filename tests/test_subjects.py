"""Subject prefixes as kernel mail writes them."""

import pytest

from tracker.subjects import parse_subject, stem_key


@pytest.mark.parametrize(
    "subject, expected",
    [
        ("[PATCH v3 RFC RESEND 02/10] mm: foo", dict(is_patch=True, version=3, number=2, total=10, is_rfc=True, is_resend=True, stem="mm: foo")),
        ("[PATCH 6.1 000/123] 6.1.2-rc1 review", dict(is_patch=True, number=0, total=123, prefixes=["PATCH", "6.1"], stem="6.1.2-rc1 review")),
        ("[patch 01/93] x86: fix", dict(is_patch=True, version=1, number=1, total=93, stem="x86: fix")),
        ("[PATCH net-next v2 3/7] net: foo", dict(version=2, number=3, total=7, prefixes=["PATCH", "net-next"])),
        ("Re: [PATCH] bar", dict(is_reply=True, is_patch=True, number=None, stem="bar")),
        ("RE: Re: [PATCH -next] bpf", dict(is_reply=True, prefixes=["PATCH", "-next"], stem="bpf")),
        ("Fwd: [GIT PULL] baz", dict(is_forward=True, is_pull=True, is_patch=False)),
        ("[ANNOUNCE] Linux 2.6.32.9", dict(is_announce=True, is_patch=False, stem="Linux 2.6.32.9")),
        ("PATCH v2: foo", dict(is_patch=True, version=2, stem="foo")),
        ("[Patch 2/2]: powerpc/hotplug", dict(is_patch=True, number=2, total=2, stem="powerpc/hotplug")),
        ("[net,v2,1/2] net: ieee802154", dict(is_patch=True, version=2, number=1, total=2, prefixes=["net"])),
        ("[PATCH 1 of 2] contrib: fix", dict(is_patch=True, number=1, total=2, stem="contrib: fix")),
        ("[patch 2/6] [EBTABLES] Don't match", dict(number=2, total=6, stem="[EBTABLES] Don't match")),
        ("[PATCHv2 1/3] a", dict(is_patch=True, version=2, number=1)),
        ("[PATCH V2 0/4] PM / OPP", dict(version=2, number=0, total=4)),
        ("Linux 6.13-rc3", dict(is_patch=False, prefixes=[], stem="Linux 6.13-rc3")),
        # a prefix that lost one bracket (real lists carry these)
        ("PATCH v2 0/2] power: supply: add a driver", dict(is_patch=True, version=2, number=0, total=2, stem="power: supply: add a driver")),
        ("Re: PATCH net-next v3 2/5] net: x", dict(is_reply=True, version=3, number=2, total=5, prefixes=["PATCH", "net-next"], stem="net: x")),
        ("[PATCH v2 1/2 power: supply: add a driver", dict(is_patch=True, version=2, number=1, total=2, stem="power: supply: add a driver")),
        ("PATCHES are great] x", dict(is_patch=False, stem="PATCHES are great] x")),
        ("", dict(is_patch=False, stem="")),
    ],
)
def test_parse_subject_reads_prefixes(subject, expected):
    parsed = parse_subject(subject)
    for name, value in expected.items():
        assert getattr(parsed, name) == value, (subject, name)


def test_parse_subject_version_is_explicit_only_when_written():
    assert parse_subject("[PATCH 1/2] a").version_explicit is False
    assert parse_subject("[PATCH v1 1/2] a").version_explicit is True


def test_stem_key_ignores_case_spacing_and_version_suffix():
    assert stem_key("net: dsa:  Multi-CPU ground work (v3)") == stem_key("Net: DSA: multi-cpu ground work")


def test_a_cover_missing_its_bracket_does_not_start_a_second_series(ktrack, app, tmp_path):
    """The real futex2 v3 series (tests/data/linux-api-2021-09-12-13.mbox) with its cover's "[" lost on the way."""
    from pathlib import Path

    raw = (Path(__file__).parent / "data" / "linux-api-2021-09-12-13.mbox").read_bytes()
    broken = raw.replace(b"Subject: [PATCH v3 0/6] futex2: Add wait on multiple futexes syscall",
                         b"Subject: PATCH v3 0/6] futex2: Add wait on multiple futexes syscall")
    assert broken != raw
    path = tmp_path / "broken.mbox"
    path.write_bytes(broken)
    assert ktrack("import", path).exit_code == 0
    rows = list(app.db.query("select subject, version, total, cover_message_id from series where subject like '%futex%'"))
    assert len(rows) == 1, rows
    assert rows[0]["subject"] == "futex2: Add wait on multiple futexes syscall" and rows[0]["total"] == 6
    assert rows[0]["cover_message_id"]
