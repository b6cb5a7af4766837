"""Find sysctl knobs added, removed or changed by a unified diff of C code.

A knob is a `struct ctl_table` entry with a literal `.procname` and at least
a mode, handler or data pointer (entries with `.child` are directories,
`struct ctl_path` entries are path components). Its /proc/sys path comes from
the registration seen in the diff (`register_sysctl("net/ipv4", t)`,
`register_net_sysctl(net, "net/ipv4", t)`, `register_sysctl_paths(path, t)`,
`.child` nesting), else from the table's name (kern_table -> kernel), else
from the file's place in the tree (net/ipv4/... -> net.ipv4). An entry removed
in one place and added in another with the same path is a move, not news.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tracker.plugins.syscalls.diffparse import FileDiff, parse_diff

_DECL = re.compile(r"struct\s+ctl_(table|path)\s+(\w+)\s*\[[^\]]*\]\s*=")
_ATTR = re.compile(r"\.(\w+)\s*=\s*(\"[^\"]*\"|[^,}]+?)\s*(?:,|}|$)")
_PROCNAME = re.compile(r"^\s*(?:\{\s*)?(?:\.\w+\s*=\s*[^,{}]+,\s*)*\.procname\s*=")
_REG_PATH = re.compile(r"register_sysctl(?:_init|_sz)?\s*\(\s*\"([^\"]+)\"\s*,\s*&?(\w+)")
_REG_NET = re.compile(r"register_net_sysctl(?:_sz)?\s*\(\s*[^,]+,\s*\"([^\"]+)\"\s*,\s*&?(\w+)")
_REG_PATHS = re.compile(r"register_(?:net_)?sysctl_(?:paths|table)\s*\(\s*(?:[^,()]+,\s*)?(\w+)\s*,\s*&?(\w+)\s*\)")
_REG_ROOT = re.compile(r"register_sysctl_table\s*\(\s*(\w+)\s*\)")

# Tables of kernel/sysctl.c and the networking core whose path is their name (pre-6.x style).
TABLE_PATHS = {
    "kern_table": "kernel", "vm_table": "vm", "fs_table": "fs", "debug_table": "debug", "dev_table": "dev",
    "ipv4_table": "net/ipv4", "ipv4_net_table": "net/ipv4", "ipv6_table_template": "net/ipv6",
    "ipv6_rotable": "net/ipv6", "net_core_table": "net/core", "netns_core_table": "net/core",
    "binfmt_misc_table": "fs/binfmt_misc", "inotify_table": "fs/inotify", "epoll_table": "fs/epoll",
}
KNOB_ATTRS = ("mode", "proc_handler", "extra1", "extra2", "maxlen", "data")


@dataclass
class Entry:
    procname: str
    table: str | None
    tag: str  # tag of the .procname line: "+", "-" or " "
    attrs: dict[str, str] = field(default_factory=dict)
    changed_attrs: set[str] = field(default_factory=set)  # attributes on +/- lines
    line: str = ""

    @property
    def is_knob(self) -> bool:
        return "child" not in self.attrs and any(a in self.attrs for a in ("mode", "proc_handler", "data"))


def _clean(value: str) -> str:
    return re.sub(r"\s+", " ", value.strip().lstrip("&").strip())


def _side_lines(fd: FileDiff, side: str):
    """Yield (hunk_section, tag, text) for one side ("old" or "new") of every hunk."""
    drop = "+" if side == "old" else "-"
    for hunk in fd.hunks:
        yield hunk.section, None, None  # a hunk boundary
        for tag, text in hunk.lines:
            if tag != drop:
                yield hunk.section, tag, text


def _read_side(fd: FileDiff, side: str):
    """Return (entries, ctl_paths {name: [components]}, registrations, children) of one side."""
    entries: list[Entry] = []
    paths: dict[str, list[str]] = {}
    regs: dict[str, str] = {}
    children: dict[str, tuple[str | None, str]] = {}
    decl: tuple[str, str] | None = None
    current: Entry | None = None
    pending_attrs: list[tuple[str, str, str]] = []  # attrs seen after "{" but before .procname
    for section, tag, text in _side_lines(fd, side):
        if tag is None:  # new hunk: the @@ line names the declaration we are inside, if any
            m = _DECL.search(section or "")
            decl = (m.group(1), m.group(2)) if m else None
            current, pending_attrs = None, []
            continue
        stripped = text.strip()
        if stripped.startswith(("/*", "*", "//")):
            continue
        for rx in (_REG_PATH, _REG_NET):
            for m in rx.finditer(text):
                regs[m.group(2)] = m.group(1).strip("/")
        for m in _REG_PATHS.finditer(text):
            regs.setdefault(m.group(2), "@" + m.group(1))
        for m in _REG_ROOT.finditer(text):
            regs.setdefault(m.group(1), "")
        m = _DECL.search(text)
        if m:
            decl = (m.group(1), m.group(2))
            current, pending_attrs = None, []
            continue
        if stripped.startswith("};"):
            decl, current, pending_attrs = None, None, []
            continue
        if stripped.startswith("{") and not _PROCNAME.match(text):
            current, pending_attrs = None, []
        attrs = _ATTR.findall(text) if ".procname" in text or stripped.startswith((".", "{")) else []
        if _PROCNAME.match(text):
            values = dict(attrs)
            name = values.get("procname", "")
            if not (name.startswith('"') and name.endswith('"')):
                current = None
                continue  # a computed name: nothing we can follow
            name = name.strip('"')
            if decl and decl[0] == "path":
                paths.setdefault(decl[1], []).append(name)
                current = None
                continue
            current = Entry(name, decl[1] if decl else None, tag, line=stripped)
            for ptag, key, value in pending_attrs:
                current.attrs[key] = value
                if ptag != " ":
                    current.changed_attrs.add(key)
            for key, value in attrs:
                if key != "procname":
                    current.attrs[key] = _clean(value)
                    if tag != " ":
                        current.changed_attrs.add(key)
            entries.append(current)
            if stripped.endswith(("},", "}")):
                current = None
            continue
        if current is not None:
            for key, value in attrs:
                current.attrs[key] = _clean(value)
                if tag != " ":
                    current.changed_attrs.add(key)
            if stripped.startswith("}") or stripped.endswith("},"):
                current = None
        elif attrs:
            pending_attrs.extend((tag, k, _clean(v)) for k, v in attrs)
        if stripped.startswith("}"):
            pending_attrs = []
    for e in entries:
        if "child" in e.attrs:
            children[e.attrs["child"]] = (e.table, e.procname)
    return entries, paths, regs, children


def path_from_file(path: str) -> str | None:
    """Return the sysctl directory a source file most likely serves, e.g. "net/ipv4/sysctl_net_ipv4.c" -> "net/ipv4"."""
    parts = path.split("/")
    if parts[0] == "net" and len(parts) > 2:
        return f"net/{parts[1]}"
    if parts[0] == "mm":
        return "vm"
    if parts[0] == "fs":
        return "fs"
    if parts[0] == "kernel":
        return "kernel"
    if parts[0] == "drivers":
        return "dev"
    return None


def resolve_table(table: str | None, file_path: str, regs: dict, paths: dict, children: dict, *, depth: int = 0) -> str | None:
    """Return the slash path a table is registered under, or None when nothing says."""
    if table is None or depth > 8:
        return path_from_file(file_path)
    if table in regs:
        reg = regs[table]
        if reg.startswith("@"):
            comps = paths.get(reg[1:])
            return "/".join(comps) if comps else path_from_file(file_path)
        return reg
    if table in children:
        parent_table, dirname = children[table]
        parent = resolve_table(parent_table, file_path, regs, paths, children, depth=depth + 1) if parent_table in regs or parent_table in children or parent_table in TABLE_PATHS else (
            "" if parent_table and parent_table.endswith(("root_table", "root")) else path_from_file(file_path)
        )
        return f"{parent}/{dirname}".strip("/") if parent is not None else dirname
    if table in TABLE_PATHS:
        return TABLE_PATHS[table]
    return path_from_file(file_path)


@dataclass
class KnobChange:
    """One knob and what the diff does to it."""

    name: str  # dotted, e.g. "net.ipv4.ip_local_reserved_ports"
    change: str  # added | removed | changed
    file: str
    attrs: dict[str, str]
    changes: dict[str, list] = field(default_factory=dict)  # attr -> [old, new]
    line: str = ""


def _skip(path: str) -> bool:
    return not path.endswith((".c", ".h")) or path.startswith(("tools/", "Documentation/", "samples/"))


def knob_changes_in_file(fd: FileDiff, *, shared: tuple[dict, dict, dict] | None = None) -> list[KnobChange]:
    """Return the knobs one C file's diff adds, removes or changes.

    `shared` holds (registrations, ctl_paths, children) seen elsewhere in the same
    patch: a table in fs/notify/ may hang under a `.child` entry in kernel/sysctl.c.
    """
    if _skip(fd.path):
        return []
    old = _read_side(fd, "old")
    new = _read_side(fd, "new")
    # Registrations, paths and nesting from both sides: context may show only one of them.
    g_regs, g_paths, g_children = shared or ({}, {}, {})
    regs = {**g_regs, **old[2], **new[2]}
    paths = {**g_paths, **old[1], **new[1]}
    children = {**g_children, **old[3], **new[3]}

    def full(e: Entry) -> str:
        base = resolve_table(e.table, fd.path, regs, paths, children)
        return ".".join(p for p in ((base or "").replace("/", "."), e.procname) if p)

    old_entries = {(e.table, e.procname): e for e in old[0] if e.is_knob}
    new_entries = {(e.table, e.procname): e for e in new[0] if e.is_knob}
    out = []
    for key, e in new_entries.items():
        if e.tag == "+" and key not in old_entries:
            out.append(KnobChange(full(e), "added", fd.path, dict(e.attrs), line=e.line))
    for key, e in old_entries.items():
        if e.tag == "-" and key not in new_entries:
            out.append(KnobChange(full(e), "removed", fd.path, dict(e.attrs), line=e.line))
    for key, n in new_entries.items():
        o = old_entries.get(key)
        if o is None:
            continue
        diffs = {}
        for attr in KNOB_ATTRS:
            if attr in (o.changed_attrs | n.changed_attrs) and o.attrs.get(attr) != n.attrs.get(attr):
                diffs[attr] = [o.attrs.get(attr), n.attrs.get(attr)]
        if diffs:
            out.append(KnobChange(full(n), "changed", fd.path, dict(n.attrs), diffs, line=n.line))
    return out


_SYSCTL_WORDS = ("procname", "sysctl", "ctl_table", "ctl_path", ".child")


def _may_hold_knobs(fd: FileDiff) -> bool:
    """Whether a file's hunks mention anything a knob is made of; most C files of a patch do not."""
    return any(
        any(w in (hunk.section or "") for w in _SYSCTL_WORDS) or any(w in text for _, text in hunk.lines for w in _SYSCTL_WORDS)
        for hunk in fd.hunks
    )


# Every word of _SYSCTL_WORDS holds one of these ("ctl_" stands for ctl_table and ctl_path):
# four scans of a diff, not five, on every patch analysed.
_PRECHECK_WORDS = ("procname", "sysctl", "ctl_", ".child")


def may_hold_knobs(diff: str) -> bool:
    """Whether any hunk of a diff could pass _may_hold_knobs: its words are substrings of the diff."""
    return bool(diff) and any(w in diff for w in _PRECHECK_WORDS)


def find_knob_changes(diff: str) -> list[KnobChange]:
    """Return knob changes of a whole diff, with moves between files netted out."""
    if not may_hold_knobs(diff):
        return []
    files = [fd for fd in parse_diff(diff) if not _skip(fd.path) and _may_hold_knobs(fd)]
    shared: tuple[dict, dict, dict] = ({}, {}, {})
    for fd in files:
        for side in ("old", "new"):
            _, paths, regs, children = _read_side(fd, side)
            shared[0].update(regs)
            shared[1].update(paths)
            shared[2].update(children)
    changes: list[KnobChange] = []
    for fd in files:
        changes.extend(knob_changes_in_file(fd, shared=shared))
    added = {c.name: c for c in changes if c.change == "added"}
    removed = {c.name: c for c in changes if c.change == "removed"}
    leaf_removed: dict[str, list[KnobChange]] = {}
    for c in removed.values():
        leaf_removed.setdefault(c.name.rsplit(".", 1)[-1], []).append(c)
    out = [c for c in changes if c.change == "changed"]
    moved_removed = set()
    for name, a in added.items():
        r = removed.get(name)
        if r is None:
            # kernel/sysctl.c -> mm/foo.c moves change the file-derived guess, not the path:
            # the same leaf removed from a table whose path we could not see is the same knob.
            same_leaf = [x for x in leaf_removed.get(name.rsplit(".", 1)[-1], []) if x.file != a.file]
            r = same_leaf[0] if len(same_leaf) == 1 else None
        if r is None:
            out.append(a)
            continue
        moved_removed.add(r.name)
        diffs = {k: [r.attrs.get(k), a.attrs.get(k)] for k in ("mode", "proc_handler", "extra1", "extra2") if r.attrs.get(k) != a.attrs.get(k) and r.attrs.get(k) and a.attrs.get(k)}
        if diffs:
            out.append(KnobChange(name, "changed", a.file, a.attrs, diffs, line=a.line))
    out.extend(c for name, c in removed.items() if name not in moved_removed)
    return out
