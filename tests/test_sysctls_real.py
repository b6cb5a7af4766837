"""Sysctl knobs across renames and documentation-only patches (issue 16), on real linux-api messages."""

import json
from pathlib import Path

from tracker.findings import save_findings

DATA = Path(__file__).parent / "data" / "sysctls"


def test_procname_rename_with_the_same_handler_is_one_record(app, ktrack):
    from tracker.analyze import run_analysis
    from tracker.ingest import store_raw_messages
    from tracker.mailbox_io import iter_mbox

    store_raw_messages(app.db, list(iter_mbox(DATA / "trusted-for-v13-v14-2021.mbox")), list_id="linux-api.vger.kernel.org")
    assert run_analysis(app, full=True) == []
    records = {r["name"]: r for r in json.loads(ktrack("sysctls", "--json").output)}
    assert set(records) == {"fs.trusted_for_policy"}
    r = records["fs.trusted_for_policy"]
    assert r["aliases"] == ["fs.trust_policy"]
    assert r["handler"] == "proc_dointvec_minmax_sysadmin"
    assert r["first_seen"]["message_id"] == "20211007182321.872075-2-mic@digikod.net"  # v13, as trust_policy
    assert [s["version"] for s in r["series"]] == [13, 14]
    assert [e["message_id"] for e in r["evidence"]] == ["20211007182321.872075-2-mic@digikod.net", "20211008104840.1733385-2-mic@digikod.net"]
    assert any('.procname' in line and "trust_policy" in line for line in r["evidence"][0]["lines"])


def test_rename_needs_more_than_a_similar_name(db):
    from tracker.plugins.sysctls.tracking import build_records

    def finding(key, name, handler, date, series_key, author):
        return {"id": None, "series_key": series_key, "message_id": key, "date": date, "evidence": [],
                "data": {"name": name, "change": "added", "handler": handler, "author_email": author, "lineage": series_key,
                         "version": 1, "subject": f"[PATCH] add {name}", "file": "kernel/sysctl.c"}}

    # One author, near-identical names, different handlers and series: distinct knobs.
    findings = [
        finding("a", "vm.max_map_count2", "proc_dointvec", "2022-01-01T00:00:00+00:00", "s1", "a@x"),
        finding("b", "vm.max_map_counts", "proc_doulongvec_minmax", "2022-02-01T00:00:00+00:00", "s2", "a@x"),
    ]
    records = {r["name"]: r for r in build_records(db, findings=findings)}
    assert set(records) == {"vm.max_map_count2", "vm.max_map_counts"}


def test_first_seen_points_at_the_patch_that_adds_the_knob_not_a_doc_edit(db):
    from tracker.plugins.sysctls.tracking import build_records

    doc = {"id": 1, "series_key": "d", "message_id": "doc-only", "date": "2021-01-01T00:00:00+00:00", "evidence": ["Documentation/admin-guide/sysctl/fs.rst: fs.x (changed)"],
           "data": {"name": "fs.x", "change": "changed", "file": "Documentation/admin-guide/sysctl/fs.rst", "subject": "docs: fs.x"}}
    code = {"id": 2, "series_key": "c", "message_id": "adds-it", "date": "2021-02-01T00:00:00+00:00", "evidence": ['.procname = "x",'],
            "data": {"name": "fs.x", "change": "added", "file": "fs/x.c", "handler": "proc_dointvec", "subject": "fs: add x"}}
    (r,) = build_records(db, findings=[doc, code])
    assert r["first_seen"]["message_id"] == "adds-it"
    assert [s["message_id"] for s in r["series"]] == ["doc-only", "adds-it"]  # the doc edit stays in the timeline
