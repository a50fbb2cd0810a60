"""Edit a ``.condarc``'s text: ``default_channels``, ``custom_channels`` and
``show_channel_urls``, and nothing else. Pure.

The form is the one the mirrors' own help pages give (research/mirrors.md, MirrorZ's
anaconda help): ``default_channels`` for ``defaults``, one ``custom_channels`` entry per
channel a mirror carries (``<name>: <base>``, conda then asks ``<base>/<name>``), and
``show_channel_urls: true`` so every package line names where it came from. ``channel_alias``
is never written: it sends every channel to one host, and a channel that host lacks fails.

The file is round-tripped with ruamel.yaml (what conda itself reads and writes it with):
comments, key order, quoting, flow or block style and unrelated keys are kept; the sequence
indentation the file already uses is kept too. The user's ``channels:`` list is never
reordered or changed. After the edit, the new text is read back and every key minstall does
not own is compared with the old one: any difference (a ruamel.yaml surprise) stops the edit.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from mirrorinstall.config.desired import Wanted
from mirrorinstall.core.errors import ConfigError
from mirrorinstall.rewrite.common import upstream_channel

OWNED = ("default_channels", "custom_channels", "show_channel_urls")
_KEY_LINE = re.compile(r"^( *)[^\s#-][^#]*:\s*(#.*)?$")
_ANY_KEY = re.compile(r"^( *)[^\s#-][^:#]*:(\s|$)")
_ITEM_LINE = re.compile(r"^( *)- ")


@dataclass
class Edited:
    text: str
    notes: list[str] = field(default_factory=list)


def _yaml(offset: int = 2, mapping: int = 2) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long URL onto two lines
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    return yaml


def _indents(text: str) -> tuple[int, int]:
    """(sequence dash offset, mapping indent) the file already uses; conda's own writer
    uses (2, 2): ``channels:`` then ``  - defaults``."""
    lines = text.splitlines()
    offset = mapping = None
    for before, line in pairwise(lines):
        key = _KEY_LINE.match(before)
        if key is None:
            continue
        item = _ITEM_LINE.match(line)
        if item is not None and offset is None:
            offset = len(item.group(1)) - len(key.group(1))
        nested = _ANY_KEY.match(line)
        if nested is not None and mapping is None and len(nested.group(1)) > len(key.group(1)):
            mapping = len(nested.group(1)) - len(key.group(1))
    return (offset if offset is not None and offset >= 0 else 2), (mapping or 2)


MAX_LINES = 5_000  # ruamel's round-trip reader takes ~0.25 ms a line: 60 000 took 15 s


def load(text: str, path: str) -> Any:
    """The file's mapping (ruamel.yaml's round-trip types), or None if it holds none."""
    from ruamel.yaml import YAMLError

    lines = text.count("\n")
    if lines > MAX_LINES:
        raise ConfigError(
            f"{path}: {lines} lines; a .condarc is a few dozen, and minstall reads at most "
            f"{MAX_LINES}",
            "Check what the file is; minstall leaves it alone.",
        )

    try:
        with warnings.catch_warnings():  # a reused anchor is fine to conda: no noise here
            warnings.simplefilter("ignore")
            data = _yaml().load(text)
    except RecursionError:
        raise ConfigError(
            f"{path}: nested too deeply to read", "Fix the file, then run the command again."
        ) from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"{path}: not valid YAML{where}: {problem}",
            "Fix the file (conda cannot read it either), then run the command again.",
        ) from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(
            f"{path}: holds a {type(data).__name__}, not a mapping of settings",
            "A .condarc is a YAML mapping (key: value); fix or move the file.",
        )
    return data


def listed_channels(text: str | None, path: str) -> tuple[str, ...]:
    """The names in the file's ``channels:`` list."""
    data = load(text, path) if text else None
    channels = (data or {}).get("channels")
    return tuple(c for c in channels if isinstance(c, str)) if isinstance(channels, list) else ()


MAX_NODES = 200_000  # a .condarc has dozens; YAML aliases can make a few lines billions


def _plain(value: Any, path: str, budget: list[int] | None = None) -> Any:
    """``value`` as plain dicts and lists, aliases expanded, within a node budget."""
    budget = budget if budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise ConfigError(
            f"{path}: expands to more than {MAX_NODES} values (YAML aliases nested in "
            "aliases?); not a configuration minstall will edit",
            "Check the file's anchors (&) and aliases (*).",
        )
    if isinstance(value, dict):
        return {str(k): _plain(v, path, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, path, budget) for v in value]
    return value


def edit(text: str | None, want: Wanted, path: str) -> Edited:
    """The file's new text (the old text itself when nothing changes)."""
    from ruamel.yaml.comments import CommentedMap

    want.refuse_unwritable("conda")
    old = text or ""
    data = load(old, path) if old.strip() else None
    fresh = data is None
    if data is None:
        data = CommentedMap()
    before = _plain(data, path)
    notes: list[str] = []
    _route_defaults(data, want, notes)
    routed = _route_channels(data, want, notes, path)
    if (want.defaults or routed) and data.get("show_channel_urls") is not True:
        data["show_channel_urls"] = True
    channels = data.get("channels")
    for channel in channels if isinstance(channels, list) else []:
        name = upstream_channel(channel) if isinstance(channel, str) else None
        if name and name in routed:
            notes.append(
                f"channels: lists {channel}, a URL, which custom_channels does not route; "
                f"write it as '{name}' to get it from the mirror (your channels list is left "
                "as it is)"
            )
    if _plain(data, path) == before:
        return Edited(old, notes)
    offset, mapping = _indents(old)
    out = io.StringIO()
    _yaml(offset, mapping).dump(data, out)
    new = out.getvalue()
    if fresh and old.strip():  # a file of comments only: keep them above the settings
        new = old.rstrip("\n") + "\n" + new
    _check_kept(before, new, path)
    return Edited(new, notes)


def _route_defaults(data: Any, want: Wanted, notes: list[str]) -> None:
    from ruamel.yaml.comments import CommentedSeq

    if not want.defaults:
        return
    urls = [r.url for r in want.defaults.values()]
    current = data.get("default_channels")
    if isinstance(current, list) and not all(map(want.replaceable, current)):
        notes.append(
            "conda default_channels: left as it is: it names channels that are neither "
            "official nor a known mirror's"
        )
    elif isinstance(current, list):
        if list(current) != urls:
            current[:] = urls  # in place: the list keeps its style and its comments
    else:
        data["default_channels"] = CommentedSeq(urls)


def _route_channels(data: Any, want: Wanted, notes: list[str], path: str) -> dict[str, str]:
    """Set ``custom_channels``; the channels it routes now, name -> base."""
    from ruamel.yaml.comments import CommentedMap

    custom = data.get("custom_channels")
    if custom is not None and not isinstance(custom, dict):
        raise ConfigError(
            f"{path}: custom_channels is a {type(custom).__name__}, not a mapping",
            "Fix it to 'name: URL' pairs, then run the command again.",
        )
    routed = {}
    for name, route in want.channels.items():
        url = route.url.rstrip("/")
        if not url.endswith(f"/{name}"):
            notes.append(
                f"conda channel {name}: mirror {route.mirror} serves it at {url}, which "
                "custom_channels cannot express (<base>/<name>); left as it is"
            )
            continue
        routed[name] = url[: -len(name) - 1]
    if routed and custom is None:
        custom = data["custom_channels"] = CommentedMap()
    for name, base in list(routed.items()):
        if name in custom and not want.replaceable(custom[name]):
            notes.append(
                f"conda channel {name}: custom_channels sends it to {custom[name]}, "
                "neither official nor a known mirror; left as it is"
            )
            del routed[name]
        elif custom.get(name) != base:
            custom[name] = base
    return routed


def _check_kept(before: dict, new_text: str, path: str) -> None:
    after = _plain(load(new_text, path) or {}, path)
    for key, value in before.items():
        if key in OWNED and key != "custom_channels":
            continue
        if key == "custom_channels":  # minstall adds and changes entries, drops none
            now = after.get(key)
            kept = now if isinstance(now, dict) else {}
            if all(k in kept for k in (value if isinstance(value, dict) else {})):
                continue
        elif after.get(key) == value:
            continue
        raise ConfigError(
            f"{path}: rewriting the file would change '{key}', which minstall does not own; "
            "nothing was written",
            "Report this file's layout as a bug; until then add the settings 'minstall config "
            "apply --dry-run' shows by hand.",
        )
