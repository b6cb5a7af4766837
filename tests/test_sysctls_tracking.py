"""Sysctl findings per series -> one record per knob; CLI, edition section, pages; the real archive."""

import json
import re

import pytest

from tracker.findings import save_findings
from tracker.plugins import sysctls as plugin
from tracker.plugins.sysctls.tracking import build_records, safe_name

from test_sysctls_detect import CHANGED, RESERVED_PORTS_CODE, RESERVED_PORTS_DOC


def series(key, subject, version, date, diffs, **extra):
    patches = [{"message_id": f"{key}-{i}", "subject": f"[PATCH v{version} {i}/{len(diffs)}] {subject}", "date": date, "diff": d,
                "patch_number": i, "author_name": "Amerigo Wang", "author_email": "amwang@redhat.com"} for i, d in enumerate(diffs, 1)]
    return {"series_key": key, "subject": subject, "version": version, "date": date, "lineage": "ports",
            "author_name": "Amerigo Wang", "author_email": "amwang@redhat.com", "list_id": "netdev.vger.kernel.org", "patches": patches, **extra}


def store(db, *many):
    for s in many:
        save_findings(db, "sysctls", plugin.analyze_series(s))


def reserved_ports(db):
    store(
        db,
        series("p1", "net: reserve ports for applications using fixed port numbers", 1, "2010-02-05T08:00:00+00:00", [RESERVED_PORTS_CODE]),
        series("p2", "net: reserve ports for applications using fixed port numbers", 2, "2010-04-22T08:00:00+00:00", [RESERVED_PORTS_CODE, RESERVED_PORTS_DOC]),
        series("s1", "tcp: tcp_syn_retries as u8", 1, "2022-07-13T08:00:00+00:00", [CHANGED]),
    )


def test_records_follow_knob_across_versions(db):
    reserved_ports(db)
    records = {r["name"]: r for r in build_records(db)}
    r = records["net.ipv4.ip_local_reserved_ports"]
    assert r["path"] == "/proc/sys/net/ipv4/ip_local_reserved_ports"
    assert (r["change"], r["mode"], r["handler"]) == ("added", "0644", "proc_do_large_bitmap")
    assert r["doc"].startswith("Specify the ports")  # documented in v2 only
    assert r["first_seen"]["message_id"] == "p1-1"
    assert [s["series_key"] for s in r["series"]] == ["p1", "p2"]
    assert r["merged_in"] is None and r["status"] == "proposed"
    assert records["net.ipv4.tcp_syn_retries"]["changes"]["mode"] == ["0644", "0600"]


def test_sysctls_command_json_shape(db, ktrack):
    reserved_ports(db)
    data = json.loads(ktrack("sysctls", "--json").output)
    assert {"name", "path", "change", "mode", "handler", "doc", "first_seen", "series", "merged_in"} <= set(data[0])
    assert {r["name"] for r in data} == {"net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_syn_retries"}
    text = ktrack("sysctls").output
    assert "/proc/sys/net/ipv4/ip_local_reserved_ports: added, mode 0644, 2 series, last 2010-04-22" in text


def test_reanalysis_and_after_analyze_do_not_duplicate(db):
    reserved_ports(db)
    reserved_ports(db)
    plugin.after_analyze(db)
    plugin.after_analyze(db)
    assert db["sysctls"].count == 2
    assert db.execute("select count(*) from findings where plugin = 'sysctls'").fetchone()[0] == 3


def test_git_pull_dates_merge_into_next_release(db):
    db["releases"].insert({"version": "2.6.35", "kind": "mainline", "released_at": "2010-08-01T00:00:00+00:00"}, pk="version")
    store(db, series("pull", "[GIT PULL] Networking", 1, "2010-05-20T00:00:00+00:00", [RESERVED_PORTS_CODE]))
    assert build_records(db)[0]["merged_in"] == "2.6.35"


def test_edition_section_and_pages(db):
    reserved_ports(db)
    sections = plugin.edition_sections({"week": "2010-W16", "start": "2010-04-19", "end": "2010-04-26"}, db)
    assert [s.key for s in sections] == ["sysctls"]
    assert sections[0].items == [{
        "text": "/proc/sys/net/ipv4/ip_local_reserved_ports added: net: reserve ports for applications using fixed port numbers (Amerigo Wang)",
        "link": "sysctls/net.ipv4.ip_local_reserved_ports.html", "name": "net.ipv4.ip_local_reserved_ports", "change": "added"}]
    assert plugin.edition_sections({"week": "2011-W01", "start": "2011-01-03", "end": "2011-01-10"}, db) == []
    pages = plugin.site_pages(db)
    assert pages[0].path == "sysctls/index.html"
    assert all(re.fullmatch(r"sysctls/[A-Za-z0-9_.-]+\.html", p.path) for p in pages)
    assert safe_name("../../etc/passwd") == "_._etc_passwd"
    assert ".." not in safe_name("net/../../x")


def test_sysctl_pages_render_with_the_theme(db):
    from jinja2 import Environment, FileSystemLoader

    from tracker.sitebuild import theme_dir

    reserved_ports(db)
    env = Environment(loader=FileSystemLoader(plugin.template_dirs() + [str(theme_dir() / "templates")]), autoescape=True)
    for page in plugin.site_pages(db):
        html = env.get_template(page.template).render(**page.context, root="../", site={"title": "t"}, page_title=page.title, nav=[], page_path=page.path)
        assert "<h1>" in html
    page = next(p for p in plugin.site_pages(db) if "reserved" in p.path)
    html = env.get_template(page.template).render(**page.context, root="../", site={"title": "t"}, page_title=page.title, nav=[])
    assert "proc_do_large_bitmap" in html and "Specify the ports" in html


@pytest.fixture(scope="module")
def archive_knobs(data_dir):
    from tracker.mail import parse_message
    from tracker.mailbox_io import iter_mbox

    found = {}
    for raw, _ in iter_mbox(data_dir / "lists" / "linux-api-2021-excerpt.mbox.gz"):
        if b"procname" not in raw and b"sysctl" not in raw:
            continue
        msg = parse_message(raw)
        for k in plugin.knob_changes([msg.diff]) if msg.diff else []:
            found.setdefault((k["name"], k["change"]), []).append(msg.subject)
    return found


def test_real_archive_knobs(archive_knobs):
    # fanotify's limits hang under fs_table's "fanotify" .child entry in kernel/sysctl.c (merged in 5.13).
    assert set(archive_knobs) == {
        ("fs.fanotify.max_listener_marks", "added"), ("fs.fanotify.max_queued_events", "added"),
        ("fs.fanotify.max_user_listeners", "added"), ("fs.fanotify.max_user_marks", "added"),
        ("fs.fanotify.max_user_groups", "added"), ("fs.trust_policy", "added"),
        ("fs.trusted_for_policy", "added"), ("kernel.randomize_mremap", "added"),
    }
    assert all("trusted_for" in s for s in archive_knobs[("fs.trusted_for_policy", "added")])
