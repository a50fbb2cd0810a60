"""Is a word a mistyped command? Pure.

``minstall PKG`` installs PKG, so a mistyped command would become an install from the index
(``minstall doctr`` installs the OCR package doctr; ``minstall benhc`` whatever someone
published under that name). A first word this close to a command is refused with a
suggestion; ``minstall install WORD`` still installs it.
"""

from __future__ import annotations

from collections.abc import Iterable


def distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from ``a`` to ``b``: optimal
    string alignment, so ``benhc`` is one edit from ``bench``."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            best = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, rows[-2][j - 2] + 1)
            row.append(best)
        rows.append(row)
    return rows[-1][-1]


def allowed_edits(command: str) -> int:
    """How far a typo of ``command`` may be: none for two letters (``av`` is a package, not
    ``uv`` mistyped), one up to five letters, two beyond."""
    if len(command) <= 2:
        return 0
    return 1 if len(command) <= 5 else 2


def mistyped(word: str, commands: Iterable[str]) -> str | None:
    """The command ``word`` is most likely a typo of, or None."""
    lower = word.lower()  # package names ignore case; click's commands do not
    close = [
        (distance(lower, c), c)
        for c in commands
        if word != c and distance(lower, c) <= allowed_edits(c)
    ]
    return min(close)[1] if close else None
