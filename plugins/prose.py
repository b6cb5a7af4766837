"""Reading what a person wrote in a mail: its prose paragraphs, and a cut at a sentence.

The discussions section quotes a thread's opening words and the feature items a
cover letter's purpose; both read paragraphs the same way (lines joined until a
blank one, quoted lines left out, stop at the signature) with their own rules
for what ends the prose and what is not prose.
"""

from __future__ import annotations

from typing import Callable

SIGNATURE = ("--", "-- ")


def paragraphs(body: str | None, *, ends: Callable[[str, str], bool],
               hidden: Callable[[str, int, list[str], bool], bool]) -> list[str]:
    """The mail's paragraphs up to where `ends(line, stripped)` says the prose ends.

    A quoted line (">") and a line `hidden(stripped, index, lines, starting)` rejects
    count as blank; `starting` says no paragraph is open yet (a heading starts one).
    """
    out, current = [], []
    lines = (body or "").splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if ends(line, stripped):
            break
        if line.startswith(">") or (stripped and hidden(stripped, index, lines, not current)):
            stripped = ""
        if stripped:
            current.append(stripped)
        elif current:
            out.append(" ".join(current))
            current = []
    if current:
        out.append(" ".join(current))
    return out


def cut_at_sentence(text: str, limit: int, *, shortest: int) -> str:
    """`text` within `limit` characters: up to its last full sentence if that keeps more than
    `shortest`, else cut with "..."."""
    if len(text) <= limit:
        return text
    cut = text.rfind(". ", 0, limit)
    return text[: cut + 1] if cut > shortest else text[: limit - 3].rstrip() + "..."
