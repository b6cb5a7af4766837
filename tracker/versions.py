"""Kernel version strings as totally ordered values.

Release listings, stable-review series and announcements all name versions as
text ("2.6.32.9", "6.13-rc3", "6.12.5-rc1", "next-20250110"). Comparing that
text is wrong ("6.9" > "6.13"), so every version becomes a key:

    2.6.32.9 < 2.6.33-rc1 < 2.6.33 < 2.6.33.1 < 3.0-rc1 < 3.0 < ... < 6.13-rc3 < 6.13

Numbering (Documentation/process/2.Process.rst and the 2.6 -> 3.0 switch):
before 3.0 a mainline release has three numbers (2.6.33) and a stable update
four (2.6.32.9); from 3.0 on mainline has two (6.13) and stable three (6.1.119).
An "-rcN" suffix is a release candidate of the version before it, so it sorts
just below it. linux-next tags (next-YYYYMMDD) are dated snapshots outside the
numbered line: they sort among themselves by date, below every numbered version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NUMBERED = re.compile(r"^v?(?P<nums>\d+(?:\.\d+){1,3})(?:-rc(?P<rc>\d+))?$")
_NEXT = re.compile(r"^next-(?P<date>\d{8})$")

KINDS = ("mainline", "rc", "stable", "linux-next")


@dataclass(frozen=True, order=True)
class KernelVersion:
    """A parsed version; instances compare in release order.

    >>> parse_version("2.6.33-rc1") < parse_version("2.6.33") < parse_version("2.6.33.1")
    True
    """

    key: tuple = field(repr=False)
    text: str = field(compare=False)
    base: tuple[int, ...] = field(compare=False)  # the mainline part: (2, 6, 33) or (6, 13)
    stable: int = field(compare=False, default=0)  # 0 for a mainline release
    rc: int = field(compare=False, default=0)  # 0 when not a release candidate
    next_date: str = field(compare=False, default="")  # YYYYMMDD for linux-next

    @property
    def kind(self) -> str:
        if self.next_date:
            return "linux-next"
        if self.rc:
            return "rc"
        return "stable" if self.stable else "mainline"

    @property
    def branch(self) -> str:
        if self.next_date:
            return "linux-next"
        return ".".join(map(str, self.base))


def parse_version(text: str) -> KernelVersion:
    """Parse a kernel version string; raise ValueError for anything else.

    >>> parse_version("6.1.119").branch, parse_version("6.1.119").stable
    ('6.1', 119)
    >>> parse_version("6.12.5-rc1").kind
    'rc'
    >>> parse_version("Linux 6.1")
    Traceback (most recent call last):
    ...
    ValueError: not a kernel version: 'Linux 6.1'
    """
    if not isinstance(text, str):
        raise ValueError(f"not a kernel version: {text!r}")
    s = text.strip()
    m = _NEXT.match(s)
    if m:
        date = m["date"]
        return KernelVersion(key=(0, int(date)), text=s, base=(), next_date=date)
    m = _NUMBERED.match(s)
    if not m:
        raise ValueError(f"not a kernel version: {text!r}")
    nums = tuple(int(n) for n in m["nums"].split("."))
    rc = int(m["rc"]) if m["rc"] else 0
    base_len = 3 if nums[0] < 3 else 2
    if len(nums) < base_len or len(nums) > base_len + 1:
        raise ValueError(f"not a kernel version: {text!r}")
    base = nums[:base_len]
    stable = nums[base_len] if len(nums) > base_len else 0
    if len(nums) > base_len and stable == 0:
        raise ValueError(f"not a kernel version: {text!r} (stable updates start at .1)")
    padded = base + (0,) * (3 - len(base))
    # (band, major, minor, patch, base_final, base_rc, stable, stable_final, stable_rc):
    # an rc of a mainline release has base_final=0, an rc of a stable update stable_final=0.
    if stable:
        key = (1, *padded, 1, 0, stable, 0 if rc else 1, rc)
    else:
        key = (1, *padded, 0 if rc else 1, rc, 0, 1, 0)
    text_out = s[1:] if s.startswith("v") else s
    return KernelVersion(key=key, text=text_out, base=base, stable=stable, rc=rc)


def version_sort_key(text: str) -> str:
    """Return zero-padded text whose string order is version order, for releases.sort_key.

    >>> version_sort_key("6.13-rc3") < version_sort_key("6.13") < version_sort_key("6.13.1")
    True
    >>> version_sort_key("2.6.32.9")
    '1.0002.0006.0032.1.0000.0009.1.0000'
    """
    v = parse_version(text)
    if v.next_date:
        return f"0.next.{v.next_date}"
    # Flags (band, base_final, stable_final) are one digit, numbers four.
    return ".".join(str(part) if i in (0, 4, 7) else f"{part:04d}" for i, part in enumerate(v.key))


def release_kind(text: str) -> str:
    """Return "mainline", "rc", "stable" or "linux-next" for a version string.

    A stable release candidate ("6.12.5-rc1") is an "rc"; branch_of() says which line.

    >>> [release_kind(s) for s in ("6.13", "6.13-rc3", "6.1.119", "next-20250110")]
    ['mainline', 'rc', 'stable', 'linux-next']
    """
    return parse_version(text).kind


def branch_of(text: str) -> str:
    """Return the mainline release a version belongs to, e.g. "6.1.119" -> "6.1".

    >>> branch_of("6.1.119"), branch_of("2.6.32.9"), branch_of("6.13-rc3")
    ('6.1', '2.6.32', '6.13')
    """
    return parse_version(text).branch
