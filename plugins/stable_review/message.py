"""Read a stable patch's commit message and diff into the features the message model weighs.

Training (bench/train_stable_model.py, with scikit-learn) and every verdict
(pure Python, model-message.json) call this one module, so a model is never
scored on features it was not fitted on.

Feature families, each a name prefix a reader can look up:

- ``w:``/``b:``/``p:``/``g:`` ... the subject's own features (features.py);
- ``m:word`` and ``mb:word_word``: words and word pairs of the commit message
  prose (trailers, the backport line and the diffstat left out);
- ``mg:group``: the message's word groups (memory safety, NULL, leak...), as
  for the subject, so rare spellings share weight;
- ``sig:...``: crash signatures quoted in the message (``BUG: KASAN:``,
  ``general protection fault``, ``WARNING: at``, a call trace, lockdep);
- ``ph:...``: phrases that say who can reach the bug ("a local user",
  "unprivileged", "leaks kernel memory to user space", "malicious device");
- ``t:...``: trailers (Reported-by a fuzzing bot or a build bot, Fixes:,
  Cc: stable, Link:/Closes: to syzkaller, Stable-dep-of:);
- ``d:...``: what kind of change the diff makes (a bounds, NULL or overflow
  check added, a refcount or lock change, a free moved, only device ids,
  only documentation, its size).

`read_message` also keeps, for each feature, the line it came from, so a
verdict can quote the lines that weighed most instead of listing weights.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from .features import _ANY_PHRASE, _TOKEN, _groups_of_word, loose_precheck, subject_features
from .features import _PHRASES as _GROUP_PHRASES

# A diff this long is read only up to here: a 5 MB firmware blob must not stall a review.
DIFF_READ_LIMIT = 256 * 1024
BODY_READ_LIMIT = 64 * 1024

TRAILER = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]{1,40}):\s+(\S.*)$")
TRAILER_NAMES = frozenset(
    n.lower()
    for n in (
        "Signed-off-by", "Reviewed-by", "Acked-by", "Tested-by", "Reported-by", "Reported-and-tested-by",
        "Suggested-by", "Co-developed-by", "Cc", "Fixes", "Link", "Closes", "Stable-dep-of", "Message-ID",
        "Reported-and-suggested-by", "Co-authored-by", "Debugged-by", "Bisected-by", "Requested-by", "Noticed-by",
        "Change-Id", "BugLink", "Bug", "Stable-dep-of", "Upstream-commit", "Depends-on", "Originally-by",
    )
)
BACKPORT_LINE = re.compile(r"^\s*(\[\s*upstream commit [0-9a-f]{8,40}\s*\]|commit [0-9a-f]{12,40} upstream\.?)\s*$", re.I)
FROM_LINE = re.compile(r"^from: .*$", re.I)
# Greg's review mails open with "6.1-stable review patch.  If anyone has any objections, please let us know."
# and a "------------------" rule; old ones with "-stable review patch.": the stable process's, not the author's.
STABLE_PREAMBLE = re.compile(r"^\s*([\d.]*-stable review patch\b.*|-{6,}\s*)$", re.I)
_WORD = re.compile(r"[a-z][a-z'-]{1,24}")
STOPWORDS = frozenset(
    "the a an and or of to in on for is it this that be as by with at from are was were has have had which "
    "not but if so can when into its we there these then than also will would should could may might been "
    "being do does did such only some any all no more most other one two out up about over after before "
    "while where who what how why our us you your he she they them their i me my".split()
)

# Crash signatures as the kernel prints them, matched on the original (not lower-cased) line.
SIGNATURES = [
    ("kasan", re.compile(r"BUG: KASAN: ?([a-z-]+)?|\bKASAN\b")),
    ("kmsan", re.compile(r"BUG: KMSAN|\bKMSAN\b|kernel-infoleak")),
    ("ubsan", re.compile(r"UBSAN: ?([a-z-]+)?|\bUBSAN\b")),
    ("kcsan", re.compile(r"BUG: KCSAN|\bKCSAN\b")),
    ("kfence", re.compile(r"BUG: KFENCE|\bKFENCE\b")),
    ("gpf", re.compile(r"general protection fault", re.I)),
    ("null_deref", re.compile(r"unable to handle (kernel )?(NULL pointer dereference|paging request)|null-ptr-deref", re.I)),
    ("warning", re.compile(r"WARNING: (CPU: ?\d+|at )|WARNING: .* at [\w/.-]+:\d+")),
    ("kernel_bug", re.compile(r"kernel BUG at|BUG: (unable|sleeping|scheduling|soft lockup|workqueue|spinlock|bad page)")),
    ("call_trace", re.compile(r"Call Trace:|<TASK>|RIP: \d{4}:")),
    ("lockdep", re.compile(r"possible circular locking|inconsistent lock state|possible recursive locking|suspicious RCU usage|lock held when returning")),
    ("hung_task", re.compile(r"blocked for more than \d+ seconds|rcu_sched self-detected stall|soft lockup")),
    ("memleak", re.compile(r"unreferenced object 0x|kmemleak")),
    ("oops", re.compile(r"Oops:|Kernel panic")),
]

# Who can reach the bug, and what it gives away: the words an advisory would quote.
PHRASES = [
    ("local_user", re.compile(r"\b(local|unprivileged|malicious|untrusted|normal) (user|users|attacker|process|guest|vm|device|server|peer|client|usb device|hid device|image|filesystem|file system|packet|firmware)s?\b")),
    ("attacker", re.compile(r"\battack(er|ers|s)?\b|\bexploit(able|ed|s)?\b|\bcrafted\b|\bmalformed\b|\bcorrupted (image|filesystem|fs|disk)\b|\bfuzz(er|ing|ed)?\b")),
    ("user_triggers", re.compile(r"\b(user ?space|userspace|user|users|unprivileged|anyone|root) (can|could|may|might) (trigger|cause|crash|read|write|leak|access|pass|set|call|supply|control)")),
    ("infoleak", re.compile(r"\b(leak|leaks|leaking|leaked|expose|exposes|exposing|disclose|discloses|copies|copied) (\w+ ){0,3}(kernel|uninitiali[sz]ed|stack|heap|sensitive) (memory|data|bytes|pointers?|information|contents)|\binfo(rmation)?[ -]?(leak|disclosure)|\binfoleak\b")),
    ("to_user", re.compile(r"\bto user ?space\b")),
    ("privilege", re.compile(r"privilege(d)? escalation|\bescalat\w* (of )?privilege|\bbypass(es|ed|ing)? (the )?(\w+ )?(permission|access|security|capabilit|restriction|check)|\bwithout (the )?(proper |required |any )?(permission|privilege|capabilit)|\bmissing (\w+ )?(permission|capability|access) checks?")),
    ("capability", re.compile(r"\bcapable\(|\bcap_[a-z_]+\b|\bpermission checks?\b")),
    ("dos", re.compile(r"denial[ -]of[ -]service|\bdos\b|\bpanic(s|ked)?\b|\bcrash(es|ed)? the (kernel|system|machine)|\bsoft lockup\b|\binfinite loop\b|\bhang(s)?\b")),
    ("memsafety", re.compile(r"use[- ]after[- ]free|out[- ]of[- ]bounds|double[- ]free|buffer overflow|heap overflow|stack overflow|overflows? the|write past|read past|beyond the end|memory corruption|corrupts? memory")),
    ("null", re.compile(r"null pointer dereference|null-ptr-deref|null deref|dereferenc(e|es|ing) (a )?null")),
    ("uninit", re.compile(r"uninitiali[sz]ed|not initiali[sz]ed|uninit-value|without (being )?initiali[sz]")),
    ("interface", re.compile(r"\bioctl\b|\bsyscall\b|system call|setsockopt|getsockopt|sendmsg|recvmsg|\bnetlink\b|copy_from_user|copy_to_user|\bsysfs\b|debugfs|/proc/|\bprocfs\b")),
    ("disconnect", re.compile(r"\b(disconnect|unplug|hot-?unplug|removal|surprise remov)\w*")),
    ("no_impact", re.compile(r"\bno functional change|\bcosmetic\b|\bno behaviou?r change|\bcompile[- ]tested only|\bclean ?up\b|\brefactor")),
    ("newhw", re.compile(r"\badd(s|ed|ing)? (support|the (pci|usb|device) ids?|(a )?new (device|id)|ids? for)|\bnew (device|model|variant|board|chip)|\bdevice ids?\b|\bquirk\b")),
    ("build", re.compile(r"\bbuild (error|failure|warning)|\bcompiler? (warning|error)|-W[a-z-]+|\bsparse\b|\bclang\b|\bgcc\b|\bobjtool\b")),
]



def _with_precheck(rules: list) -> tuple:
    """(name, regex, precheck): the precheck is the regex without word boundaries, a cheap first test."""
    return tuple((name, rx, re.compile(loose_precheck(rx.pattern).pattern, rx.flags)) for name, rx in rules)


_SIGNATURES_PRE = _with_precheck(SIGNATURES)
_PHRASES_PRE = _with_precheck(PHRASES)
# Evidence rare in 2022-2024 mail, so the fit gives it almost no weight, yet decisive for any
# reader of an older or a later kernel (an LWN-era review counts a user-triggerable bug or an
# information leak as security): each present feature counts at least this much (calibrated logit).
# bench/stable_quality.py measures what the floors cost out of time.
EDITOR_FLOORS = {
    "ph:infoleak": 1.5,  # "leaks uninitialised kernel memory", "information leak"
    "ph:privilege": 1.5,  # "privilege escalation", "bypasses the permission check", "without the capability"
    "ph:local_user": 1.0,  # "a local/unprivileged/malicious user (device, image...)"
    "ph:user_triggers": 1.0,  # "userspace can trigger", "an unprivileged user could crash"
    "sig:kmsan": 1.0,  # a KMSAN report: uninitialised memory reaching somewhere
}


def floor_boost(features: list[str], weights: dict[str, float], scale: float = 1.0) -> tuple[float, list[str]]:
    """What the editor's floors add to a score: (logit added, the floored features).

    `scale` converts the floors to another logit scale (the bench's raw, uncalibrated one).
    """
    added, floored = 0.0, []
    for f in features:
        floor = EDITOR_FLOORS.get(f)
        if floor is not None:
            w = weights.get(f, 0.0)
            if w < floor * scale:
                added += floor * scale - w
                floored.append(f)
    return added, floored


_FUZZ_BOT = re.compile(r"syzbot|syzkaller|syzkaller\.appspotmail|hulkci|oss-fuzz|fuzz", re.I)
_BUILD_BOT = re.compile(r"kernel test robot|lkp@intel\.com|build bot|coverity|smatch|static checker", re.I)
_SYZ_LINK = re.compile(r"syzkaller\.appspot\.com|syzbot|bugzilla\.kernel\.org", re.I)
_SHA = re.compile(r"\b([0-9a-f]{8,40})\b")

# Diff rules on added (+) or removed (-) lines; (name, pattern, sign) where sign says which side.
DIFF_ADDED = [
    ("bounds_check", re.compile(r"\bif \(.*\b\w*(len|size|count|idx|index|offset|num|nr|max|pos)\w*\b.*(>=?|<=?)|\bif \(.*(>=?|<=?)\s*\w*(len|size|count|max|num|nr)\w*\b|ARRAY_SIZE\(|array_index_nospec")),
    ("null_check", re.compile(r"\bif \(!\s*[\w>.-]+\)|\bif \([\w>.-]+ == NULL\)|\bif \(IS_ERR_OR_NULL\(|\?: |\bif \(unlikely\(!")),
    ("overflow_check", re.compile(r"check_(add|mul|sub)_overflow|size_(add|mul)\(|struct_size\(|array_size\(|\bmin_t\(|\bmin\(|\bclamp(_t|_val)?\(|U(8|16|32|64)_MAX|INT_MAX|SIZE_MAX")),
    ("refcount", re.compile(r"\b(refcount_|kref_|atomic_(inc|dec)_and_test|\w+_get\(|\w+_put\(|get_device|put_device|of_node_put|dev_hold|dev_put|sock_hold|sock_put|\w+_grab\()")),
    ("lock", re.compile(r"\b(spin_(un)?lock|mutex_(un)?lock|read_(un)?lock|write_(un)?lock|rcu_read_(un)?lock|down_(read|write)|up_(read|write)|lockdep_assert|guard\(|scoped_guard)")),
    ("free", re.compile(r"\b(kv?free|kfree_rcu|kmem_cache_free|vfree|free_page|dev_kfree_skb\w*|kfree_skb|put_page|__free_pages?)\(")),
    ("zero_init", re.compile(r"\bmemset\(|\bkzalloc\(|\bkvzalloc\(|\bkcalloc\(|= \{\s*0?\s*\};|= \{\};|__GFP_ZERO")),
    ("user_copy", re.compile(r"\bcopy_(from|to)_user\(|\b(get|put)_user\(|\bstrncpy_from_user\(|memdup_user")),
    ("error_return", re.compile(r"\breturn -E(INVAL|NOMEM|FAULT|OVERFLOW|NOSPC|PERM|ACCES|2BIG|MSGSIZE|NODEV|IO)\b|\bgoto (err|out|fail)\w*;")),
    ("capability", re.compile(r"\b(ns_)?capable\(|\bfile_ns_capable\(|\bCAP_[A-Z_]+")),
    ("barrier", re.compile(r"\b(READ_ONCE|WRITE_ONCE|smp_[rw]?mb|smp_load_acquire|smp_store_release|synchronize_rcu|cancel_work_sync|cancel_delayed_work_sync|flush_work|del_timer_sync|timer_shutdown_sync)\(")),
    ("set_null", re.compile(r"= NULL;")),
    ("device_id", re.compile(r"\b(USB_DEVICE\w*|PCI_(VDEVICE|DEVICE)\w*|HID_\w*DEVICE|ACPI_ID|\.compatible\s*=|DMI_MATCH|SND_PCI_QUIRK|\{\s*0x[0-9a-f]{4},\s*0x[0-9a-f]{4})", re.I)),
]
DIFF_REMOVED = [
    ("free", DIFF_ADDED[5][1]),
    ("lock", DIFF_ADDED[4][1]),
    ("refcount", DIFF_ADDED[3][1]),
]
DOC_PATH = re.compile(r"^(documentation/|tools/testing/|tools/perf/|scripts/|arch/[^/]+/boot/dts/|.*\.(rst|txt|yaml|md)$|maintainers$)", re.I)
DIFF_FILE = re.compile(r"^\+\+\+ (?:b/)?(\S+)", re.M)


@dataclass
class Reading:
    """What a commit message and diff say: features, the line each came from, trailers and warnings."""

    subject: str = ""
    features: list[str] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)  # feature -> the line (or diff line) it was read from
    has_body: bool = False
    has_diff: bool = False
    reported_by: list[str] = field(default_factory=list)
    fixes: list[tuple[str, str]] = field(default_factory=list)  # (sha, subject) of each Fixes: trailer
    found_by: str | None = None  # "syzbot", "KASAN", "kernel test robot"...
    warnings: list[str] = field(default_factory=list)


def _prose_and_trailers(body: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Split a commit message into its prose lines and its trailers, dropping mail and backport noise."""
    text = body[:BODY_READ_LIMIT]
    cut = re.search(r"(?m)^---\s*$", text)  # the diffstat and anything after
    if cut:
        text = text[: cut.start()]
    prose: list[str] = []
    trailers: list[tuple[str, str]] = []
    for line in text.splitlines():
        if BACKPORT_LINE.match(line) or STABLE_PREAMBLE.match(line) or (not any(p.strip() for p in prose) and FROM_LINE.match(line)):
            continue
        m = TRAILER.match(line)
        if m and m.group(1).lower() in TRAILER_NAMES:
            trailers.append((m.group(1), m.group(2).strip()))
            continue
        prose.append(line)
    return prose, trailers


def _add(reading: Reading, feature: str, where: str) -> None:
    if feature not in reading.origin:
        reading.origin[feature] = where
        reading.features.append(feature)


def read_message(subject: str, body: str = "", diff: str = "", files: list[str] | None = None,
                 trailers: list | None = None, *, with_diff: bool = True) -> Reading:
    """Return the features of one patch (subject always; message and diff when given)."""
    reading = Reading(subject=subject)
    if len(body or "") > BODY_READ_LIMIT:
        reading.warnings.append(f"commit message of {len(body) // 1024:,} KiB read only to its first {BODY_READ_LIMIT // 1024} KiB")
    for f in subject_features(subject):
        _add(reading, f, "subject")
    prose, found = _prose_and_trailers(body or "")
    names = {(n.lower(), v) for n, v in found}
    for pair in trailers or []:  # trailers parsed elsewhere (a ChangeLog, the store) count too
        if isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, str) for x in pair):
            if (pair[0].lower(), pair[1].strip()) not in names:
                found.append((pair[0], pair[1].strip()))
                names.add((pair[0].lower(), pair[1].strip()))
    text_lines = [line for line in prose if line.strip()]
    reading.has_body = bool(text_lines)
    if reading.has_body:
        _read_prose(reading, text_lines)
    _read_trailers(reading, found)
    if with_diff and diff:
        reading.has_diff = True
        _read_diff(reading, diff, files)
    elif with_diff and files:
        _read_files(reading, files)
    return reading


def _read_prose(reading: Reading, lines: list[str]) -> None:
    # Speed: each pattern is tried on the whole message once; only a hit is looked up line by line.
    whole = "\n".join(lines)
    low_whole = whole.lower()
    signatures = [(name, rx) for name, rx, pre in _SIGNATURES_PRE if pre.search(whole) and rx.search(whole)]
    phrases = [(name, rx) for name, rx, pre in _PHRASES_PRE if pre.search(low_whole) and rx.search(low_whole)]
    starts = [0]
    for raw in lines:
        starts.append(starts[-1] + len(raw) + 1)
    for name, rx in signatures:
        if name in ("kasan", "ubsan"):  # and the report's kind, line by line: "BUG: KASAN: slab-use-after-free"
            for raw in lines:
                m = rx.search(raw)
                if m:
                    _add(reading, "sig:" + name, raw.strip())
                    if m.lastindex and m.group(1):
                        _add(reading, f"sig:{name}:{m.group(1).lower()}", raw.strip())
        else:
            _add(reading, "sig:" + name, _line_of(rx, whole, lines, starts, lower=False))
    for name, rx in phrases:
        _add(reading, "ph:" + name, _line_of(rx, low_whole, lines, starts, lower=True))
    seen_words: set[str] = set()
    seen_tokens: set[str] = set()
    for raw in lines:
        line = raw.strip()
        low = line.lower()
        for token in _TOKEN.findall(low):  # the word groups of pattern_features, word by word (each word once)
            if token not in seen_tokens:
                seen_tokens.add(token)
                for group in _groups_of_word(token):
                    _add(reading, "mg:" + group, line)
        words = [w.strip("'-") for w in _WORD.findall(low)]
        words = [w for w in words if len(w) > 1]
        for w in words:
            if w not in STOPWORDS and w not in seen_words:
                seen_words.add(w)
                _add(reading, "m:" + w, line)
        for a, b in zip(words, words[1:]):
            _add(reading, f"mb:{a}_{b}", line)
    if _ANY_PHRASE.search(low_whole):  # groups whose words span words ("use after free"), at the first line saying them
        for name, rx in _GROUP_PHRASES:
            if "mg:" + name not in reading.origin and rx.search(low_whole):
                line = next((raw.strip() for raw in lines if rx.search(raw.lower())), None)
                if line is not None:
                    _add(reading, "mg:" + name, line)
    n = len(lines)
    _add(reading, "len:msg_short" if n <= 3 else "len:msg_long" if n > 25 else "len:msg_mid", "(length of the message)")


def _line_of(rx: re.Pattern, text: str, lines: list[str], starts: list[int], *, lower: bool) -> str:
    """The first of `lines` that `rx` matches (stripped), found from one scan of their join `text`."""
    m = rx.search(text)
    if m:
        i = bisect_right(starts, m.start()) - 1
        if 0 <= i < len(lines) and rx.search(lines[i].lower() if lower else lines[i]):
            return lines[i].strip()
    # a match spanning lines, or lower() changed a length: line by line
    return next((raw.strip() for raw in lines if rx.search(raw.lower() if lower else raw)), "")


def _read_trailers(reading: Reading, trailers: list[tuple[str, str]]) -> None:
    for name, value in trailers:
        low = name.lower()
        line = f"{name}: {value}"
        if low.startswith("reported") or low in ("closes", "link", "buglink"):
            if low.startswith("reported"):
                reading.reported_by.append(value)
                if _FUZZ_BOT.search(value):
                    _add(reading, "t:reported_fuzzer", line)
                    reading.found_by = reading.found_by or ("syzbot" if "syz" in value.lower() else "a fuzzer")
                elif _BUILD_BOT.search(value):
                    _add(reading, "t:reported_buildbot", line)
                else:
                    _add(reading, "t:reported_person", line)
            elif _SYZ_LINK.search(value):
                _add(reading, "t:link_bugtracker", line)
                if "syz" in value.lower():
                    reading.found_by = reading.found_by or "syzbot"
        elif low == "fixes":
            _add(reading, "t:fixes", line)
            m = _SHA.match(value)
            if m:
                title = re.search(r'\("(.*)"\)', value)
                reading.fixes.append((m.group(1), title.group(1) if title else ""))
        elif low == "cc" and "stable@" in value.lower():
            _add(reading, "t:cc_stable", line)
        elif low == "stable-dep-of":
            _add(reading, "t:stable_dep_of", line)
        elif low in ("tested-by", "reported-and-tested-by") and _FUZZ_BOT.search(value):
            _add(reading, "t:tested_fuzzer", line)


def _read_files(reading: Reading, files: list[str]) -> None:
    if files and all(DOC_PATH.match(f) for f in files):
        _add(reading, "d:docs_only", "touches only " + ", ".join(files[:3]))


def _read_diff(reading: Reading, diff: str, files: list[str] | None) -> None:
    if len(diff) > DIFF_READ_LIMIT:
        reading.warnings.append(f"diff of {len(diff) // 1024:,} KiB read only to its first {DIFF_READ_LIMIT // 1024} KiB")
        diff = diff[:DIFF_READ_LIMIT]
    paths = files or DIFF_FILE.findall(diff)
    _read_files(reading, paths)
    added: list[str] = []
    removed: list[str] = []
    new_files = diff.count("\nnew file mode") + diff.startswith("new file mode")
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            s = line[1:].strip()
            if s and not s.startswith(("/*", "*", "//")):
                added.append(s)
        elif line.startswith("-") and not line.startswith("---"):
            s = line[1:].strip()
            if s and not s.startswith(("/*", "*", "//")):
                removed.append(s)
    n = len(added) + len(removed)
    _add(reading, "d:size_tiny" if n <= 4 else "d:size_small" if n <= 20 else "d:size_mid" if n <= 100 else "d:size_big",
         f"{len(added)} lines added, {len(removed)} removed")
    if new_files:
        _add(reading, "d:new_file", "adds a new file")
    if paths and len(paths) > 3:
        _add(reading, "d:many_files", f"{len(paths)} files")
    removed_set = set(removed)
    added_set = set(added)
    added_text = "\n".join(added)
    removed_text = "\n".join(removed)
    for name, rx in DIFF_ADDED:
        line = _first_line(rx, added_text, added, removed_set)
        if line is not None:
            _add(reading, "d:add_" + name, "+ " + line)
    for name, rx in DIFF_REMOVED:
        line = _first_line(rx, removed_text, removed, added_set)
        if line is not None:
            _add(reading, "d:del_" + name, "- " + line)
    if "d:add_free" in reading.origin and "d:del_free" in reading.origin:
        _add(reading, "d:free_moved", reading.origin["d:add_free"])
    if added and all(DIFF_ADDED[-1][1].search(s) or s in ("{", "}", "},", "{ }", "};") or s.startswith(("{", ".driver_info", ".name")) for s in added):
        _add(reading, "d:only_ids", "+ " + added[0])
    if added and not removed:
        _add(reading, "d:only_adds", f"{len(added)} lines added, none removed")


def _first_line(rx: re.Pattern, text: str, lines: list[str], moved: set[str]) -> str | None:
    """The first of `lines` (joined as `text`) that `rx` matches and that is not just `moved` from the other side.

    Speed: one scan of the joined text finds the candidates; each is checked on its own line,
    and only when no candidate holds (a match spanning lines) are the lines tried one by one.
    """
    if not rx.search(text):
        return None
    for m in rx.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.start())
        line = text[start:end if end >= 0 else len(text)]
        if line not in moved and rx.search(line):
            return line
    return next((s for s in lines if s not in moved and rx.search(s)), None)


def found_by(reading: Reading) -> str | None:
    """Who or what found the bug, in words: syzbot, KASAN, KMSAN, UBSAN..., else None."""
    if reading.found_by:
        return reading.found_by
    for sig, name in (("sig:kasan", "KASAN"), ("sig:kmsan", "KMSAN"), ("sig:ubsan", "UBSAN"), ("sig:kcsan", "KCSAN"),
                      ("sig:kfence", "KFENCE"), ("ph:attacker", None)):
        if sig in reading.origin and name:
            return name
    return None
