"""Feature items (plugins/features.py): a new system call told from its cover letter, on real linux-api mail."""

from __future__ import annotations

from pathlib import Path

from tracker.analyze import run_analysis
from tracker.edition import assemble_edition
from tracker.plugins.features import cover_paragraph

WEEK_MBOX = Path(__file__).parent / "data" / "linux-api-2021-09-12-13.mbox"


def test_a_new_syscall_is_told_from_its_cover_letter(app, ktrack):
    assert ktrack("import", WEEK_MBOX).exit_code == 0
    run_analysis(app)
    edition = assemble_edition(app, "2021-W37")
    section = next(s for s in edition["sections"] if s["key"] == "syscalls")
    assert section["template"] == "feature_section.html"
    [item] = [i for i in section["items"] if i["name"] == "futex_waitv"]
    # what it is for, in the author's words: the cover letter's paragraph, not its greeting or changelog
    assert item["about"].startswith("This patchset introduce the futex_waitv syscall.")
    assert item["about_by"] == "André Almeida"
    assert item["prototypes"] and item["prototypes"][0].startswith("futex_waitv(struct futex_waitv __user *waiters")
    assert item["summary"] == ("v3 of “futex2: Add wait on multiple futexes syscall” by André Almeida, 6 patches;"
                               " no review trailers yet; no replies yet.")
    assert item["text"]  # the digest line the syscalls plugin wrote is kept
    text = ktrack("digest", "--week", "2021-W37", "--section", "syscalls").stdout
    assert "> This patchset introduce the futex_waitv syscall." in text


def test_cover_paragraph_skips_process_talk():
    body = (
        "Hi,\n\nThis new patch series fix the syscall signature as suggested by Alejandro Colomar.  It applies on"
        " Linus's master branch (v5.16-rc1) and next-20211115.\n\nAndrew, can you please consider to merge this into your"
        " tree?\n\nOverview\n========\n\nThe final goal of this patch series is to enable the kernel to be a global policy"
        " manager by entrusting processes with access control at their level.\n\nPrimary goal of trusted_for(2)\n"
        "==============================\n\nThis new syscall enables user space to ask the kernel: is this file"
        " descriptor's content trusted to be used for this purpose?\n\nPeter (1):\n      x: y\n"
    )  # the opening of the real trusted_for v17 cover letter (2021-11-15), abridged
    assert cover_paragraph(body, ["trusted_for", "syscall"]).startswith("This new syscall enables user space to ask the kernel")
    assert cover_paragraph(body, ["sysctl"]).startswith("The final goal of this patch series")
    assert cover_paragraph("", ["x"]) == ""
