"""Find system calls added or removed by a unified diff, in every form the kernel has used.

Pure functions over diff text, so they can be tested on hand-written patches
and run over any archive. Only + and - lines count, only in files where the
form is meaningful (a `.tbl` row in a syscall table, `SYSCALL_DEFINE` in C),
never under tools/ (perf and selftests keep copies of the tables and
`#ifndef __NR_x` fallbacks) or Documentation/. A name added and removed in
the same form and ABI within one patch set is a move or a renumbering, not a
new system call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .diffparse import FileDiff, parse_diff

# Forms, strongest evidence first (used to pick the signature and to explain a finding).
FORMS = ("table", "unistd", "unistd_call", "asm_table", "define", "compat_define", "prototype", "compat_prototype", "cond_syscall", "compat_cond", "table_stub")
# Forms that show a system call exists (an implementation, or a table entry that calls it).
# Prototypes, COND_SYSCALL/SYS_NI stubs and sys_ni_syscall rows only accompany one:
# alone (a vDSO series adding "+COND_SYSCALL(time)") they add nothing.
NATIVE_FORMS = {"table", "unistd", "unistd_call", "asm_table", "define"}
WIRING_FORMS = {"table", "unistd", "unistd_call", "asm_table"}

_TBL_ROW = re.compile(r"^\s*(\d+)\s+(\w+)\s+([a-z_][a-z0-9_]*)(?:\s+(\S+))?(?:\s+(\S+))?\s*$")
_NR_DEFINE = re.compile(r"^\s*#\s*define\s+__NR(3264)?_([a-z_][a-z0-9_]*)\s+(.+?)\s*(?:/\*.*)?$")
_NR_COUNT = re.compile(r"^\s*#\s*define\s+(__NR_syscalls|NR_syscalls|__NR_compat_syscalls|__NR_Linux_syscalls)\s+(.+?)\s*(?:/\*.*)?$")
_NR_CALL = re.compile(r"^\s*(?:__SYSCALL|__SC_\w+)\s*\(\s*__NR(?:3264)?_([a-z_][a-z0-9_]*)\s*,")
_ASM_ENTRY = re.compile(r"^\s*(?:\.long|\.quad|\.word|CALL\()\s*([a-z0-9_]*?sys_([a-z_][a-z0-9_]*))\b\)?\s*(?:/\*\s*(\d+)\s*\*/)?")
_DEFINE = re.compile(r"^\s*(COMPAT_)?SYSCALL_DEFINE(\d)\s*\(\s*([a-z_][a-z0-9_]*)\s*(.*)$")
_PROTO = re.compile(r"^\s*asmlinkage\s+(?:long|int|unsigned\s+long|void)\s+(compat_)?sys_([a-z_][a-z0-9_]*)\s*\((.*)$")
_COND = re.compile(r"^\s*(?:cond_syscall\s*\(\s*(compat_)?sys_([a-z_][a-z0-9_]*)|(?:COND_SYSCALL|SYS_NI|COMPAT_SYS_NI)(_COMPAT)?\s*\(\s*([a-z_][a-z0-9_]*))\s*\)\s*;?")
_NR_ALIAS = re.compile(r"\(?\s*__NR_\w+\s*\)?")
_NUMBER = re.compile(r"(\d+)\s*\)?\s*$")

# Names that appear in the same forms but are not system calls.
_NOT_SYSCALLS = {"ni_syscall", "syscalls", "compat_syscalls", "linux", "linux_syscalls", "syscall_base", "oabi_syscall_base", "arch_specific_syscall"}
# Entry points that only reserve a number: a row pointing at one wires nothing up.
_STUB_ENTRIES = {"sys_ni_syscall", "sys_ni_posix_timers", "compat_sys_ni_syscall"}
# ABIs that adapt another ABI's system calls (arm64 running 32-bit arm code): a name
# seen only there is at most the compat side of a syscall defined elsewhere.
COMPAT_ABIS = {"arm64-compat"}


def not_a_syscall(name: str) -> bool:
    """Whether a name in a syscall form is a stub or a placeholder, e.g. "ni_posix_timers", "ni_syscall"."""
    return name in _NOT_SYSCALLS or name.startswith("ni_")


def _in_macro(lines: list[tuple[str, str]], idx: int) -> bool:
    """Whether hunk line `idx` is part of a multi-line #define (it or the line before ends in a backslash).

    `SYSCALL_DEFINE0(name)` inside a macro body is a template, not a system call named "name".
    """
    line = lines[idx][1].rstrip()
    if line.endswith("\\"):
        return True
    tag = lines[idx][0]
    for j in range(idx - 1, -1, -1):
        t, prev = lines[j]
        if t in (tag, " "):
            return prev.rstrip().endswith("\\")
    return False


@dataclass
class SyscallEvent:
    """One +/- line that adds or removes a system call in one form."""

    name: str
    sign: int  # +1 added line, -1 removed line, 0 context (the name already exists there)
    form: str
    path: str
    line: str
    abi: str | None = None
    number: int | None = None
    signature: str | None = None


def _skip_path(path: str) -> bool:
    return path.startswith(("tools/", "Documentation/", "samples/")) or "/selftests/" in path


def abi_for_path(path: str, column: str | None = None) -> str | None:
    """Return the ABI a table or header serves, e.g. "arch/x86/entry/syscalls/syscall_64.tbl" -> "x86_64"."""
    if "asm-generic/" in path or path == "scripts/syscall.tbl":
        return "generic"
    parts = path.split("/")
    base = parts[-1]
    if parts[0] == "arch" and len(parts) > 2:
        arch = parts[1]
    elif parts[0] == "include" and len(parts) > 1 and parts[1].startswith("asm-"):
        arch = parts[1][4:]  # 2.6-era include/asm-i386/unistd.h
    else:
        return None
    stem = base.rsplit(".", 1)[0]
    if arch in ("x86", "x86_64", "i386"):
        if column == "x32" or stem.endswith("x32"):
            return "x32"
        if stem.endswith("_32") or arch == "i386" or "ia32" in stem or "ia32" in path:
            return "i386"
        if stem.endswith("_64") or arch == "x86_64":
            return "x86_64"
        return "x86_64" if base.endswith(".tbl") else "i386"
    if base.endswith(".tbl"):
        suffix = stem.split("_", 1)[1] if "_" in stem else ""
        if suffix:
            return f"{arch}-{suffix}"
        if column in ("32", "64") and not arch.endswith(column):
            return f"{arch}{column}"
        return arch
    if stem in ("unistd32", "unistd_32") and arch == "arm64":
        return "arm64-compat"
    m = re.search(r"unistd_?(\w+)$", stem)
    if m and m.group(1) not in ("", "nr"):
        return f"{arch}-{m.group(1)}"
    return arch


def _collect_call(hunk_lines: list[tuple[str, str]], start: int, tag: str, first: str) -> str:
    """Join a macro or prototype spread over lines until its parentheses close."""
    text = first
    depth = text.count("(") - text.count(")")
    j = start + 1
    while depth > 0 and j < len(hunk_lines) and j - start < 12:
        t, line = hunk_lines[j]
        if t not in (tag, " "):
            j += 1
            continue
        text += " " + line.strip()
        depth += line.count("(") - line.count(")")
        j += 1
    return re.sub(r"\s+", " ", text)


def _split_top(args: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in args:
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += ch in "(["
        depth -= ch in ")]"
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _define_signature(name: str, rest: str) -> str:
    """Turn "SYSCALL_DEFINE2(x, int, fd, unsigned int, flags)" arguments into "x(int fd, unsigned int flags)"."""
    inner = rest.split(")", 1)[0] if rest.count(")") == 1 else rest.rsplit(")", 1)[0]
    parts = [p for p in _split_top(inner) if p]
    pairs = [f"{parts[i]} {parts[i + 1]}".replace("* ", "*") for i in range(0, len(parts) - 1, 2)]
    return f"{name}({', '.join(pairs) if pairs else 'void'})"


def _proto_signature(name: str, rest: str) -> str:
    inner = rest.rsplit(")", 1)[0]
    return f"{name}({', '.join(_split_top(inner)) or 'void'})"


def events_in_file(fd: FileDiff) -> list[SyscallEvent]:
    """Return the syscall events of one file's hunks."""
    path = fd.path
    if not path or _skip_path(path):
        return []
    base = path.rsplit("/", 1)[-1]
    is_tbl = base.endswith(".tbl")
    is_unistd = base.startswith("unistd") and base.endswith(".h")
    is_asm = base.endswith(".S") and any(w in base for w in ("sys", "call", "entry"))
    is_c = base.endswith((".c", ".h"))
    is_proto = base in ("syscalls.h", "compat.h")
    events: list[SyscallEvent] = []
    for hunk in fd.hunks:
        for idx, (tag, line) in enumerate(hunk.lines):
            # Context lines give sign 0: a name already there is not being added.
            sign = {"+": 1, "-": -1}.get(tag, 0)
            stripped = line.strip()
            if not stripped or stripped.startswith(("/*", "*", "//")):
                continue
            if is_tbl:
                if stripped.startswith("#"):
                    continue
                m = _TBL_ROW.match(line)
                if not m:
                    continue
                # A table's name column never carries the sys_ prefix; a patch that writes one means the name.
                name = m.group(3).removeprefix("sys_")
                entry = m.group(4) or ""
                # "552 common ioctl32 sys_ni_syscall" (or a row with no entry point) reserves a
                # number: a stub, not the call wired up
                form = "table_stub" if (entry in _STUB_ENTRIES or not entry) else "table"
                if not not_a_syscall(name):
                    events.append(SyscallEvent(name, sign, form, path, stripped, abi_for_path(path, m.group(2)), int(m.group(1))))
                continue
            if is_unistd:
                if _NR_COUNT.match(line):
                    events.append(SyscallEvent("", sign, "nr_syscalls", path, stripped, abi_for_path(path)))
                    continue
                m = _NR_DEFINE.match(line)
                if m and not not_a_syscall(m.group(2)):
                    num = _NUMBER.search(m.group(3))
                    # "__NR_x __NR_y" aliases carry no number of their own.
                    number = int(num.group(1)) if num and not _NR_ALIAS.fullmatch(m.group(3)) else None
                    events.append(SyscallEvent(m.group(2), sign, "unistd", path, stripped, abi_for_path(path), number))
                    continue
                m = _NR_CALL.match(line)
                if m and not not_a_syscall(m.group(1)):
                    stub = any(e in line for e in _STUB_ENTRIES)
                    events.append(SyscallEvent(m.group(1), sign, "table_stub" if stub else "unistd_call", path, stripped, abi_for_path(path)))
                continue
            if is_asm:
                m = _ASM_ENTRY.match(line)
                if m and not not_a_syscall(m.group(2)):
                    number = int(m.group(3)) if m.group(3) else None
                    events.append(SyscallEvent(m.group(2), sign, "asm_table", path, stripped, abi_for_path(path), number))
                continue
            if not is_c or not ("SYSCALL" in line or "sys_" in line or "SYS_NI" in line):
                continue  # the C forms all name SYSCALL_*, sys_* or SYS_NI
            m = _DEFINE.match(line)
            if m and not not_a_syscall(m.group(3)) and not _in_macro(hunk.lines, idx):
                text = _collect_call(hunk.lines, idx, tag, stripped)
                rest = text.split(m.group(3), 1)[1].lstrip(" ,")
                form = "compat_define" if m.group(1) else "define"
                events.append(SyscallEvent(m.group(3), sign, form, path, stripped, signature=_define_signature(m.group(3), rest)))
                continue
            if is_proto:
                m = _PROTO.match(line)
                if m and not not_a_syscall(m.group(2)):
                    text = _collect_call(hunk.lines, idx, tag, stripped)
                    rest = text.split("(", 1)[1]
                    form = "prototype" if not m.group(1) else "compat_prototype"
                    events.append(SyscallEvent(m.group(2), sign, form, path, stripped, signature=_proto_signature(m.group(2), rest)))
                    continue
            m = _COND.match(line)
            if m:
                name = m.group(2) or m.group(4)
                form = "compat_cond" if (m.group(1) or m.group(3)) else "cond_syscall"
                if not not_a_syscall(name):
                    events.append(SyscallEvent(name, sign, form, path, stripped))
    return events


# A diff can only hold an event if it names a table (.tbl), a unistd header, an assembly
# table (.S) or one of the C forms' words (SYSCALL, sys_, SYS_NI): most patches name none,
# and are not parsed (find_syscall_events spells the test out: it runs on every patch).
_C_WORDS = ("SYSCALL", "sys_", "SYS_NI")


def _path_may_hold(path: str) -> bool:
    """Whether events_in_file could read a table, unistd or assembly form in this file."""
    base = path.rsplit("/", 1)[-1]
    return base.endswith((".tbl", ".S")) or "unistd" in base


def find_syscall_events(diff: str, paths: list[str] | None = None) -> list[SyscallEvent]:
    """Return every syscall event in a unified diff, in order.

    `paths`, the files the diff touches as the import read them (a message's
    "files"), answers the path half of the pre-check without scanning the text
    three more times: the weekly analysis runs it on every patch of the week.
    """
    if not diff:
        return []
    if not any(w in diff for w in _C_WORDS):
        # Every other event comes from a file whose path ends in .tbl/.S or starts with
        # unistd; the path is a substring of the diff, and one of the message's files.
        if isinstance(paths, (list, tuple)) and paths:  # else (none, or not a list of paths): the text decides
            if not any(_path_may_hold(p) for p in paths):
                return []
        elif not (".tbl" in diff or "unistd" in diff or ".S" in diff):
            return []
    events: list[SyscallEvent] = []
    for fd in parse_diff(diff):
        events.extend(events_in_file(fd))
    return events


# Forms that on their own show a new system call; a compat entry point or
# prototype alone only adapts an existing one (checked against history later).
PRIMARY_FORMS = {"table", "unistd", "unistd_call", "asm_table", "define", "prototype", "cond_syscall"}


def slot_of(ev: SyscallEvent) -> tuple:
    """Return what a line adds to: a name in one form for one ABI (a prototype and a define of compat count as one)."""
    return (ev.name, ev.form.replace("compat_prototype", "compat_define"), ev.abi)


def summarize_events(events: list[SyscallEvent]) -> list[dict]:
    """Net the events of one patch set into one change per syscall name.

    Returns dicts: name, change ("added"/"removed"), abis {abi: number},
    signature, forms, files, evidence (the lines), compat_only. Names whose
    additions and removals cancel out in every form and ABI (moved code,
    renumbering) are left out.
    """
    slots: dict[tuple[str, str, str | None], int] = {}
    by_name: dict[str, list[SyscallEvent]] = {}
    present: set[tuple] = set()
    for ev in events:
        if not ev.name:
            continue
        key = slot_of(ev)
        if ev.sign == 0:
            present.add(key)
            continue
        slots[key] = slots.get(key, 0) + ev.sign
        by_name.setdefault(ev.name, []).append(ev)
    results = []
    for name, evs in by_name.items():
        nets = {k: v for k, v in slots.items() if k[0] == name and v and k not in present}
        # The direction comes from the native forms; compat entry points decide only when nothing else changed.
        primary = {k: v for k, v in nets.items() if k[1] in PRIMARY_FORMS}
        deciding = primary or nets
        pos = [k for k, v in deciding.items() if v > 0]
        neg = [k for k, v in deciding.items() if v < 0]
        if pos and not neg:
            change, sign = "added", 1
        elif neg and not pos:
            change, sign = "removed", -1
        else:
            continue  # a move, a renumbering, or a mix we cannot call either way
        if change == "removed" and any(e.sign > 0 and e.form in WIRING_FORMS for e in evs):
            continue  # rows rewritten (an ABI column, an entry point): an edit, not a removal
        # Only lines whose form and ABI changed in the deciding direction explain the change.
        live = [e for e in evs if e.sign == sign and nets.get(slot_of(e), 0) * sign > 0]
        live.sort(key=lambda e: FORMS.index(e.form) if e.form in FORMS else 99)  # strongest evidence first
        abis: dict[str, int] = {}
        for e in live:  # the last number wins: a later patch may renumber
            if e.abi and e.number is not None:
                abis[e.abi] = e.number
        signature = None
        for form in ("define", "prototype", "compat_define", "compat_prototype"):
            sig = next((e.signature for e in live if e.form == form and e.signature), None)
            if sig:
                signature = sig
                break
        forms = sorted({e.form for e in live}, key=lambda f: FORMS.index(f) if f in FORMS else 99)
        abi_forms: dict[str, set] = {}
        for e in live:
            if e.abi and e.form in WIRING_FORMS:
                abi_forms.setdefault(e.abi, set()).add(e.form)
        native = any(
            k[1] == "define" or (k[1] in WIRING_FORMS and k[2] not in COMPAT_ABIS) for k in (pos if sign > 0 else neg)
        )
        results.append(
            {
                "name": name,
                "change": change,
                "abis": dict(sorted(abis.items())),
                "signature": signature,
                "forms": forms,
                "files": sorted({e.path for e in live}),
                "evidence": [f"{'+' if sign > 0 else '-'}{e.line}" for e in live][:12],
                "compat_only": not primary,
                # False: only stubs, prototypes or the compat side changed: no system call of its own
                "native": native,
                "abi_forms": {abi: sorted(f) for abi, f in sorted(abi_forms.items())},
            }
        )
    return sorted(results, key=lambda r: r["name"])


def detect_syscalls(diff: str) -> list[dict]:
    """Return the system calls a diff adds or removes (see summarize_events), e.g. for one patch."""
    return summarize_events(find_syscall_events(diff))
