"""Read the kernel's sysctl documentation: which knobs it describes, with what text and default.

Two layouts exist. Documentation/networking/*sysctl.{txt,rst} lists knobs as
definition lines at column 0 ("ip_forward - BOOLEAN") with a tab-indented
description, grouped under "/proc/sys/net/ipv4/* Variables" headings.
Documentation/admin-guide/sysctl/*.rst gives each knob a heading of its own
("acct" underlined with "===="), one file per /proc/sys directory.
"""

from __future__ import annotations

import re
from pathlib import Path

from tracker.plugins.syscalls.diffparse import parse_diff

_DEF_LINE = re.compile(r"^([a-z][a-z0-9_]*(?:/[a-z0-9_*<>{}-]+)*)(?:\s*,\s*[a-z][a-z0-9_]*)*\s+-\s+\S")
_UNDERLINE = re.compile(r"^(=+|-+|~+|\^+)\s*$")
_RELATIVE = re.compile(r"^`*([a-z][\w/]*)/\*`*:?\s*$")
_HEAD_KNOB = re.compile(r"^[a-z][a-z0-9_-]*$")
_DEFAULT = re.compile(r"^\s*default(?:\s+value)?\s*(?:is|:|=)\s*(.+?)\s*$", re.I)
_DEFAULT_SENTENCE = re.compile(r"\bdefault value (?:is|of \S+ is)\s+(?:``)?([^\s`,;]+?)(?:``)?[.,;\s]", re.I)
_DEFAULT_MARK = re.compile(r"^\s*-?\s*(\S+)\s+-.*\(default\)", re.I)

# Per-architecture sub-headings of one knob's text in admin-guide/sysctl/kernel.rst.
_ARCH_SUBHEADINGS = {"arm64", "riscv", "x86", "s390", "powerpc", "sparc", "mips", "ia64", "arm", "loongarch"}

# Where each networking document's knobs live when no heading says otherwise.
FILE_BASES = {
    "ip-sysctl": "net.ipv4", "ipvs-sysctl": "net.ipv4.vs", "mptcp-sysctl": "net.mptcp",
    "netfilter-sysctl": "net.netfilter", "nf_conntrack-sysctl": "net.netfilter", "xfrm_sysctl": "net.core",
    "nf_flowtable-sysctl": "net.netfilter", "smc-sysctl": "net.smc", "tipc-sysctl": "net.tipc",
}


def is_heading_style(path: str) -> bool:
    """Return True for admin-guide/sysctl/*.rst (one heading per knob)."""
    parent = path.replace("\\", "/").rsplit("/", 2)
    return len(parent) > 1 and "sysctl" in parent[-2] and not parent[-1].startswith("index")


def base_for(path: str) -> str:
    """Return the dotted base of a documentation file, e.g. ".../sysctl/vm.rst" -> "vm"."""
    stem = path.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if is_heading_style(path):
        return stem
    return FILE_BASES.get(stem, "net." + stem.split("-")[0].split("_")[0])


def _default_of(description: str) -> str | None:
    for line in description.splitlines():
        m = _DEFAULT.match(line)
        if m:
            return m.group(1)
    m = _DEFAULT_SENTENCE.search(description)
    if m:
        return m.group(1)
    for line in description.splitlines():
        m = _DEFAULT_MARK.match(line)
        if m:
            return m.group(1)
    return None


def _proc_base(title: str) -> str | None:
    """Return the dotted directory a heading names, e.g. "/proc/sys/net/netfilter/nf_conntrack_* Variables:" -> "net.netfilter"."""
    m = re.search(r"proc/sys/([\w/.-]*)(\*?)", title)
    if not m:
        return None
    path = m.group(1)
    if m.group(2) and not path.endswith("/"):
        path = path.rsplit("/", 1)[0]  # a partial name before the glob ("nf_conntrack_*") is not a directory
    return path.strip("/").replace("/", ".") or None


def parse_doc(text: str, path: str, *, base: str | None = None) -> dict[str, dict]:
    """Return {dotted name: {"name", "description", "default", "file", "line"}} for one document."""
    lines = text.splitlines()
    root = base or base_for(path)
    current = root
    knobs: dict[str, dict] = {}
    heading = is_heading_style(path)
    open_names: list[str] = []
    body: list[str] = []

    def close():
        if open_names:
            desc = "\n".join(body).strip("\n")
            desc = re.sub(r"\n{3,}", "\n\n", "\n".join(l.rstrip() for l in desc.splitlines()))
            import textwrap

            desc = textwrap.dedent(desc.replace("\t", "        ")).strip()
            for n in open_names:
                knobs[n]["description"] = desc
                knobs[n]["default"] = _default_of(desc)
        open_names.clear()
        body.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        is_title = bool(line.strip()) and _UNDERLINE.match(nxt) and len(nxt.strip()) >= len(line.strip()) - 2 and not _UNDERLINE.match(line)
        if is_title:
            title = line.strip()
            proc = _proc_base(title)
            rel = _RELATIVE.match(title)
            if proc is not None:
                close()
                current = root = proc
            elif rel and not heading:
                close()
                current = f"{root}.{rel.group(1).replace('/', '.')}"
            elif heading:
                # "suid_dumpable:", "perf_user_access (arm64 and riscv only)", "file-max & file-nr"
                bare = re.sub(r"\s*\(.*\)\s*$", "", title).rstrip(":").strip()
                parts = [p.strip() for p in re.split(r"\s*(?:&|,|\band\b| / )\s*", bare) if p.strip()]
                if not parts or not all(_HEAD_KNOB.match(p) and p not in _ARCH_SUBHEADINGS for p in parts):
                    # A sub-heading inside a knob's text (kernel.rst: perf_user_access -> "arm64").
                    if open_names:
                        body.extend([title, ""])
                    i += 2
                    continue
                close()
                if parts:
                    for p in parts:
                        name = f"{current}.{p}"
                        knobs[name] = {"name": name, "leaf": p, "description": "", "default": None, "file": path, "line": i + 1}
                        open_names.append(name)
            i += 2
            continue
        if not heading and line[:1].isalpha():
            m = _DEF_LINE.match(line)
            close()
            if m:
                names = [m.group(1)] + re.findall(r",\s*([a-z][a-z0-9_]*)", line.split(" - ", 1)[0])
                for leaf in names:
                    name = f"{current}.{leaf.replace('/', '.')}"
                    knobs[name] = {"name": name, "leaf": leaf, "description": "", "default": None, "file": path, "line": i + 1, "type": line.split(" - ", 1)[1].strip() if " - " in line else ""}
                    open_names.append(name)
            i += 1
            continue
        if open_names:
            body.append(line)
        i += 1
    close()
    return knobs


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def read_doc_tree(root: str | Path) -> dict[str, dict]:
    """Return every knob documented under a directory of sysctl documents (*.rst, *.txt)."""
    root = Path(root)
    knobs: dict[str, dict] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".rst", ".txt") or not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        for name, knob in parse_doc(text, rel).items():
            knobs.setdefault(name, knob)
    return knobs


def docs_diff(old_root: str | Path, new_root: str | Path) -> dict[str, list[dict]]:
    """Compare two documentation trees: knobs added, removed and re-documented (text or default changed)."""
    from tracker.api import KtrackError

    for root in (old_root, new_root):
        if not Path(root).is_dir():
            raise KtrackError(f"documentation directory {root} does not exist")
    old, new = read_doc_tree(old_root), read_doc_tree(new_root)
    added = [dict(new[n], change="added") for n in sorted(set(new) - set(old))]
    removed = [dict(old[n], change="removed") for n in sorted(set(old) - set(new))]
    redocumented = []
    for n in sorted(set(old) & set(new)):
        if _norm(old[n]["description"]) != _norm(new[n]["description"]):
            redocumented.append(dict(new[n], change="redocumented", old_description=old[n]["description"], old_default=old[n]["default"]))
    return {"added": added, "removed": removed, "redocumented": redocumented}


def doc_changes_in_diff(diff: str) -> list[dict]:
    """Return knobs a patch documents, un-documents or re-documents in sysctl documentation files.

    Each hunk is read on its old and new side with the file's default base; a
    heading inside the hunk moves the base. Returns dicts with name, leaf,
    change (added/removed/changed), description, default, old_default, file.
    """
    if not diff or "sysctl" not in diff or "Documentation/" not in diff:
        return []  # a file's path is a substring of the diff: no sysctl documentation here
    out = []
    for fd in parse_diff(diff):
        path = fd.path
        if not path.startswith("Documentation/") or not re.search(r"sysctl", path) or not path.endswith((".rst", ".txt")):
            continue
        for hunk in fd.hunks:
            old_text = "\n".join(t for tag, t in hunk.lines if tag != "+")
            new_text = "\n".join(t for tag, t in hunk.lines if tag != "-")
            changed_lines = {t for tag, t in hunk.lines if tag != " "}
            old = parse_doc(old_text, path, base=_hunk_base(path, hunk.section))
            new = parse_doc(new_text, path, base=_hunk_base(path, hunk.section))
            heads_added = {t for tag, t in hunk.lines if tag == "+"}
            heads_removed = {t for tag, t in hunk.lines if tag == "-"}
            new_lines = new_text.splitlines()
            old_lines = old_text.splitlines()
            for name, k in new.items():
                head = new_lines[k["line"] - 1] if k["line"] - 1 < len(new_lines) else ""
                if name not in old and head in heads_added:
                    out.append({**k, "change": "added", "file": path, "old_default": None})
                elif name in old and _norm(old[name]["description"]) != _norm(k["description"]) and changed_lines:
                    out.append({**k, "change": "changed", "file": path, "old_default": old[name]["default"]})
            for name, k in old.items():
                head = old_lines[k["line"] - 1] if k["line"] - 1 < len(old_lines) else ""
                if name not in new and head in heads_removed:
                    out.append({**k, "change": "removed", "file": path, "old_default": k["default"]})
    return out


def _hunk_base(path: str, section: str) -> str | None:
    """Use a /proc/sys heading named in the @@ line, if git picked one as the hunk's context."""
    return _proc_base(section or "")
