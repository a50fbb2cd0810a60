"""Edit uv's ``uv.toml`` and pixi's ``config.toml``. Pure.

Both are written with tomlkit, which keeps comments, order and formatting of everything it
is not asked to change.

uv (https://docs.astral.sh/uv/concepts/indexes/): the default index is the ``[[index]]``
table with ``default = true``; minstall sets its ``url`` (keeping its name) or adds one. A
file that still uses the older top-level ``index-url`` gets that key set instead (two defaults
would be ambiguous). An ``[[index]]`` pointing at PyTorch's wheel index for one CUDA variant (what
uv's PyTorch guide has users write) is pointed at the best PyTorch mirror's copy, name and
``explicit`` kept; minstall adds none itself: which variant a machine needs is decided per
install (``minstall uv pip install ... --cuda auto``), and an explicit index does nothing
without a project's ``[tool.uv.sources]``, which lives in pyproject.toml. ``[pip]``'s
``index-url`` (uv's pip interface) is set where the file has one.

pixi (https://pixi.prefix.dev/latest/reference/pixi_configuration/#mirror-configuration):
``[mirrors]`` maps an official URL prefix to the mirrors to use instead; minstall writes
one entry per conda channel and ``defaults`` part a mirror carries, and PyPI's index.
"""

from __future__ import annotations

import sys
from typing import Any

from mirrorinstall.config.desired import Wanted
from mirrorinstall.core.errors import ConfigError
from mirrorinstall.rewrite.pip import is_pypi_url, torch_variant_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def _parse(text: str, path: str) -> Any:
    import tomlkit
    from tomlkit.exceptions import ParseError

    if text and not text.endswith("\n"):
        text += "\n"  # tomlkit glues a table added after a last line without one onto it
    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        raise ConfigError(
            f"{path}: not valid TOML at line {exc.line}, column {exc.col}: {exc}",
            "Fix the file (the tool cannot read it either), then run the command again.",
        ) from None


def _dump(doc: Any, old: str, path: str) -> str:
    """The document's text: ``old`` itself when nothing changed; checked to read back."""
    import tomlkit

    new = tomlkit.dumps(doc)
    if new in (old, old + "\n"):
        return old
    try:
        tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: the edited file would not be valid TOML ({exc}); nothing was written",
            "Report this file's layout as a bug; until then add the settings 'minstall config "
            "apply --dry-run' shows by hand.",
        ) from None
    return new


def _torch_url(url: str, want: Wanted, notes: list[str]) -> str:
    """``url`` itself, or the best PyTorch mirror's index for the variant it names."""
    ref = torch_variant_of(url)
    torch = want.torch
    if ref is None or not ref[0] or ref[1] or torch is None or torch.pytorch is None:
        return url
    if torch.pytorch.layout != "index":
        notes.append(
            f"uv: {url} left as it is: mirror {torch.id} serves PyTorch's wheels as flat "
            "pages, not as an index uv can use"
        )
        return url
    new = torch.pytorch.variant_url(ref[0])
    notes.append(f"uv: {url} -> {new} (mirror {torch.id})")
    return new


def _set_index(table: Any, key: str, want: Wanted, notes: list[str]) -> None:
    assert want.pypi is not None
    if not want.replaceable(table[key]):
        notes.append(f"uv: {key} {table[key]} is neither PyPI nor a known mirror; left as it is")
    elif table[key] != want.pypi.url:
        table[key] = want.pypi.url


def edit_uv(text: str | None, want: Wanted, path: str) -> tuple[str, list[str]]:
    """uv.toml's new text (the old text itself when nothing changes) and notes."""
    import tomlkit

    want.refuse_unwritable("uv")
    old = text or ""
    doc = _parse(old, path)
    notes: list[str] = []
    pypi = want.pypi
    if pypi is None:
        notes.append(
            "uv: no mirror ranks above the official host for PyPI here; default index kept"
        )
    indexes = doc.get("index")
    if indexes is not None and (
        not isinstance(indexes, list) or not all(isinstance(t, dict) for t in indexes)
    ):
        raise ConfigError(
            f"{path}: 'index' is not an array of tables",
            "Write each index as an [[index]] table, then run the command again.",
        )
    for table in indexes or []:
        url = table.get("url")
        if isinstance(url, str) and not table.get("default"):
            new = _torch_url(url, want, notes)
            if new != url:
                table["url"] = new
    if pypi is not None:
        default = next((t for t in indexes or [] if t.get("default") is True), None)
        if "index-url" in doc:
            _set_index(doc, "index-url", want, notes)
        elif default is not None:
            _set_index(default, "url", want, notes)
        else:
            table = tomlkit.table()
            table["url"] = pypi.url
            table["default"] = True
            if indexes is None:
                aot = tomlkit.aot()
                aot.append(table)
                doc.append("index", aot)
            else:
                indexes.append(table)
        section = doc.get("pip")
        if isinstance(section, dict) and "index-url" in section:
            _set_index(section, "index-url", want, notes)
    for holder in (doc, doc.get("pip") if isinstance(doc.get("pip"), dict) else {}):
        extra = holder.get("extra-index-url")
        if isinstance(extra, list):
            kept = [
                _torch_url(u, want, notes)
                for u in extra
                if not (pypi is not None and isinstance(u, str) and is_pypi_url(u))
            ]
            if kept != list(extra):
                holder["extra-index-url"] = kept
    return _dump(doc, old, path), notes


def edit_pixi(text: str | None, want: Wanted, path: str) -> tuple[str, list[str]]:
    """pixi config.toml's new text (the old text itself when nothing changes) and notes."""
    import tomlkit

    want.refuse_unwritable("pixi")
    old = text or ""
    doc = _parse(old, path)
    notes: list[str] = []
    wanted: dict[str, list[str]] = {}
    for name, route in [*want.defaults.items(), *want.channels.items()]:
        official = want.official.get(name)
        if official:
            wanted[official.rstrip("/")] = [route.url.rstrip("/")]
    if want.pypi is not None:
        for official in want.pypi_official:
            wanted[official.rstrip("/")] = [want.pypi.url.rstrip("/")]
    if not wanted:
        notes.append("pixi: no mirror ranks above the official hosts here; nothing written")
        return old, notes
    mirrors = doc.get("mirrors")
    if mirrors is None:
        mirrors = tomlkit.table()
        doc.append("mirrors", mirrors)
    elif not isinstance(mirrors, dict):
        raise ConfigError(
            f"{path}: 'mirrors' is not a table",
            "Write it as [mirrors] with 'URL' = ['mirror URL', ...] entries.",
        )
    for official, urls in wanted.items():
        current = list(mirrors.get(official) or [])
        if current and not all(map(want.replaceable, current)):
            notes.append(f"pixi: mirrors for {official} name hosts minstall does not know; kept")
        elif current != urls:
            mirrors[official] = urls
    return _dump(doc, old, path), notes
