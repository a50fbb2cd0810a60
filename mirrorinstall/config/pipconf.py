"""Edit a ``pip.conf``/``pip.ini``'s text: ``index-url``, and the ``extra-index-url`` and
``find-links`` entries that point at an official host a mirror replaces. Pure.

pip reads the file with configparser (https://pip.pypa.io/en/stable/topics/configuration/),
which cannot write a file back with its comments; this editor works on lines instead: only
the lines of the entries it changes are replaced, every other byte stays. Keys are matched as
pip matches them (``index_url`` is ``index-url``), in every section (``[install]`` overrides
``[global]`` for ``pip install``), and keep the spelling they have.

What is kept: ``trusted-host``, any other index or find-links page (a company index, a local
folder). What changes: ``index-url`` becomes the best PyPI mirror; an ``extra-index-url`` of
PyPI itself goes (the mirror serves it now); a PyPI wheel index of PyTorch
(``download.pytorch.org/whl/<variant>``) becomes the best PyTorch mirror's copy, as an index
or a find-links page, whichever layout that mirror serves.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass, field

from mirrorinstall.config.desired import Wanted, writable_url
from mirrorinstall.core.errors import ConfigError
from mirrorinstall.rewrite.pip import is_pypi_url, torch_variant_of

# a section header exactly as configparser (what pip reads the file with) finds one: on the
# stripped line, anything after the closing bracket ignored, the name as written (pip looks
# up "global" and "install": [GLOBAL] and [ global ] are other sections to it)
_SECTION = configparser.RawConfigParser.SECTCRE
_ENTRY = re.compile(r"^([A-Za-z0-9_.\-]+)\s*[=:]\s*(.*?)\s*$")
_LISTS = ("index-url", "extra-index-url", "find-links")


@dataclass
class Entry:
    key: str  # as written
    first: int  # line numbers, end exclusive
    end: int
    values: list[str]

    @property
    def name(self) -> str:
        return self.key.lower().replace("_", "-")


@dataclass
class Section:
    name: str
    header: int | None  # None: lines before the first section header
    end: int
    entries: list[Entry] = field(default_factory=list)


def parse(text: str) -> tuple[list[str], list[Section]]:
    """The file's lines (with their endings) and its sections with their entries."""
    lines = text.splitlines(keepends=True)
    sections = [Section("", None, 0)]
    entry: Entry | None = None
    for i, line in enumerate(lines):
        bare = line.rstrip("\r\n")
        continued = entry is not None and bare[:1] in (" ", "\t") and bare.strip()
        header = None if continued else _SECTION.match(bare.strip())
        if header:
            sections[-1].end = i
            sections.append(Section(header.group("header"), i, i + 1))
            entry = None
            continue
        if entry is not None and bare[:1] in (" ", "\t") and bare.strip():
            entry.values += bare.split()
            entry.end = i + 1
            continue
        match = _ENTRY.match(bare)
        entry = None
        if match and not bare.startswith(("#", ";")):
            entry = Entry(match.group(1), i, i + 1, match.group(2).split())
            sections[-1].entries.append(entry)
    sections[-1].end = len(lines)
    return lines, sections


def _render(key: str, values: list[str], newline: str) -> list[str]:
    for value in values:
        if not writable_url(value):
            # a line break would plant whatever follows as an option of its own
            raise ConfigError(
                f"refusing to write {value!r} into pip's configuration: it holds a space or "
                "a control character",
                "Fix that mirror's URL in the catalog.",
            )
    if len(values) == 1:
        return [f"{key} = {values[0]}{newline}"]
    return [f"{key} ={newline}", *(f"    {v}{newline}" for v in values)]


def edit(text: str | None, want: Wanted) -> tuple[str, list[str]]:
    """The file's new text (the old text itself when nothing changes) and notes."""
    want.refuse_unwritable("pip")
    old = text or ""
    lines, sections = parse(old)
    newline = "\r\n" if old.count("\r\n") > old.count("\n") / 2 and old else "\n"
    notes: list[str] = []
    changes: dict[int, list[str]] = {}  # first line of an entry -> its new lines
    drop: set[int] = set()
    appended: dict[int, list[str]] = {}  # line after which to add lines
    if want.pypi is None:
        notes.append("pip: no mirror ranks above the official host for PyPI here; index-url kept")
    for section in sections:
        moved: dict[str, list[str]] = {}
        values = {e.first: e.values for e in section.entries}
        for entry in section.entries:
            if entry.name in _LISTS:
                values[entry.first] = _map_values(entry, want, moved, notes)
        for name, urls in moved.items():
            entry = next((e for e in section.entries if e.name == name), None)
            if entry is not None:
                values[entry.first] = list(dict.fromkeys([*values[entry.first], *urls]))
            else:
                at = _last_line(section)
                appended.setdefault(at, []).extend(_render(name, urls, newline))
        for entry in section.entries:
            if values[entry.first] != entry.values:
                drop.update(range(entry.first, entry.end))
                new = values[entry.first]
                changes[entry.first] = _render(entry.key, new, newline) if new else []
    glob = next((s for s in sections if s.name == "global"), None)
    has_index = glob is not None and any(e.name == "index-url" for e in glob.entries)
    if want.pypi is not None and not has_index:
        new = _render("index-url", [want.pypi.url], newline)
        if glob is None:
            head = [f"[global]{newline}", *new] + ([newline] if old.strip() else [])
            appended.setdefault(-1, []).extend(head)
        else:
            appended.setdefault(_last_line(glob), []).extend(new)
    out: list[str] = list(appended.get(-1, []))
    for i, line in enumerate(lines):
        if i in changes:
            out += changes[i]
        if i not in drop:
            ends = line.endswith(("\n", "\r"))
            out.append(line + newline if i in appended and not ends else line)
        if i in appended:
            out += appended[i]
    new_text = "".join(out)
    if new_text != old:
        _check_as_pip_reads(old, new_text, want)
    return (old if new_text == old else new_text), notes


def _pip_reads(text: str) -> configparser.RawConfigParser:
    """The file as pip reads it (configparser, as pip's configuration module does)."""
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    return parser


def _check_as_pip_reads(old: str, new: str, want: Wanted) -> None:
    """The edit leaves a file pip reads, saying what was meant; else nothing is written."""
    try:
        before = _pip_reads(old)
    except configparser.Error as exc:
        raise ConfigError(
            f"pip cannot read this file as it is ({_first_line(exc)})",
            "Fix it by hand first (pip ignores it meanwhile); minstall changes nothing in it.",
        ) from None
    try:
        after = _pip_reads(new)
    except configparser.Error as exc:  # a bug of ours: better nothing than a broken file
        raise ConfigError(
            f"the edited file would not be readable by pip ({_first_line(exc)}); nothing "
            "was written",
            "Report this with the file's text; set the mirror with 'pip config set' meanwhile.",
        ) from None
    was, now = _index_url(before), _index_url(after)
    if want.pypi is not None and now != was and want.pypi.url not in (now or "").split():
        raise ConfigError(
            "the edited file would not make pip use the mirror (pip reads another index-url "
            "from its [global] section); nothing was written",
            "Look at the file's [global] section.",
        )


def _index_url(parser: configparser.RawConfigParser) -> str | None:
    """global.index-url as pip finds it (its keys compared with '_' read as '-')."""
    if not parser.has_section("global"):
        return None
    for key, value in parser.items("global"):
        if key.replace("_", "-") == "index-url":
            return value
    return None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _last_line(section: Section) -> int:
    """The last non-blank, non-comment line of a section (its header when it has none)."""
    last = section.header if section.header is not None else -1
    for entry in section.entries:
        last = max(last, entry.end - 1)
    return last if last >= 0 else max(0, section.end - 1)


def _map_values(entry: Entry, want: Wanted, moved: dict[str, list[str]], notes: list[str]):
    kept: list[str] = []
    torch = want.torch.pytorch if want.torch is not None else None
    for url in entry.values:
        if entry.name == "index-url":
            if want.pypi is not None and not want.replaceable(url):
                notes.append(
                    f"pip: {entry.key} {url} is neither PyPI nor a known mirror; left as it is"
                )
            kept.append(want.pypi.url if want.pypi is not None and want.replaceable(url) else url)
            continue
        if is_pypi_url(url) and want.pypi is not None and entry.name == "extra-index-url":
            notes.append(f"pip: {entry.key} {url} removed: index-url, the mirror, serves PyPI")
            continue
        ref = torch_variant_of(url)
        if ref is None or torch is None or want.torch is None:
            kept.append(url)
            continue
        variant = ref[0]
        if not variant:
            notes.append(
                f"pip: {entry.key} {url} names every CUDA variant at once; no mirror copies "
                "that page, so it is left as it is"
            )
            kept.append(url)
            continue
        target = "extra-index-url" if torch.layout == "index" else "find-links"
        new = torch.variant_url(variant)
        if target == entry.name:
            kept.append(new)
        else:
            moved.setdefault(target, []).append(new)
        notes.append(f"pip: {url} -> {new} (mirror {want.torch.id}, as {target})")
    return kept
