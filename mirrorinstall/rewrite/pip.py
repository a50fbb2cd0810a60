"""Rewriting pip/uv commands (indexes, find-links, requirement files, the torch CUDA variant,
names across the two worlds, TensorFlow). Pure. See ``rewrite`` for the inputs and the
plan."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from mirrorinstall.core.argv import Command, Option, scan
from mirrorinstall.core.catalog import Mirror
from mirrorinstall.core.errors import UsageError
from mirrorinstall.core.reqincludes import MAX_FILES, included_paths
from mirrorinstall.core.urls import split_url
from mirrorinstall.cuda.choose import (
    CudaChoice,
    CudaMismatch,
    UnknownRelease,
    choose_torch,
    driver_floor,
    supports,
    variant_cuda,
    why_not_runs,
)
from mirrorinstall.cuda.findlinks import page_for, read_page
from mirrorinstall.rewrite.common import (
    Context,
    Plan,
    host_copy,
    pypi_mirror,
    ranked,
    spec_name,
    torch_mirror,
    why_chosen,
)
from mirrorinstall.rewrite.envtorch import NewEnv
from mirrorinstall.rewrite.flashattn import is_flash_attn, rewrite_flash_attn
from mirrorinstall.rewrite.gpupkg import (
    index_package,
    rewrite_gpu_index,
    rewrite_gpu_requirement,
)
from mirrorinstall.rewrite.includes import absolute_includes
from mirrorinstall.rewrite.mim import from_mim
from mirrorinstall.rewrite.tensorflow import rewrite_tensorflow
from mirrorinstall.rewrite.torchbackend import translate_torch_backend
from mirrorinstall.rewrite.torchurls import (
    FAMILY,
    TorchUrl,
    equivalent,
    file_name,
    local_variants,
    read_torch_url,
)

# ------------------------------------------------------------------ pip / uv

_PIP_VALUED = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--trusted-host": "--trusted-host",
    "-r": "--requirement",
    "--requirement": "--requirement",
    "--index": "--index",
    "--default-index": "--default-index",
}
_PIP_OTHER = (
    "-c",
    "--constraint",
    "--python",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--report",
    "--log",
    "--cache-dir",
    "--src",
    "-e",
    "--editable",
    "--upgrade-strategy",
    "--progress-bar",
    "--only-binary",
    "--no-binary",
    "-C",
    "--config-settings",
    "--timeout",
    "--retries",
    "--proxy",
    "--cert",
    "--client-cert",
    "--exists-action",
    "--index-strategy",
    "-p",
    "--keyring-provider",
    "--resolution",
    "--prerelease",
    "--torch-backend",
    "-o",
    "--output-file",
    "-d",
    "--dest",
    "-w",
    "--wheel-dir",
)


def is_pypi_url(url: str) -> bool:
    parts = split_url(url)
    host = (parts.hostname if parts else None) or ""
    return host in ("pypi.org", "pypi.python.org", "files.pythonhosted.org")


def torch_variant_of(url: str) -> tuple[str, str] | None:
    """``https://download.pytorch.org/whl/cu121`` -> ("cu121", ""), ``.../cu118/torch_stable.html``
    -> ("cu118", "torch_stable.html"), ``.../whl/torch_stable.html`` -> ("", ...); None for
    anything else, PyTorch's nightly, test and LTS channels included (read as a whole, they
    are not a stable variant: rewrite/torchurls.py)."""
    ref = read_torch_url(url)
    if ref is None or not ref.stable or ref.kind not in ("index", "page"):
        return None
    return (ref.variant, ref.name)


def _torch_source(mirror: Mirror, variant: str) -> list[str]:
    wheels = mirror.pytorch
    assert wheels is not None
    if wheels.layout == "index":
        return ["--extra-index-url", f"{wheels.base}/{variant}"]
    return ["--find-links", wheels.variant_url(variant)]


@dataclass
class _State:
    """What one pip/uv rewrite shares between its steps."""

    uv: bool
    pypi: Mirror | None
    routes: dict[tuple[str, bool], _TorchRoute] = field(default_factory=dict)
    pins: dict[str, str] = field(default_factory=dict)  # requirement text -> pinned
    variants: list[str] = field(default_factory=list)  # variants the command's indexes name
    requirements: list[str] = field(default_factory=list)  # as written, files' lines too
    # PyTorch channels other than stable releases the command's indexes name (nightly, lts/1.8)
    channels: list[str] = field(default_factory=list)
    visiting: set[str] = field(default_factory=set)  # files being rewritten (an -r cycle)
    # a file names a find-links page built per torch (PyG's, mmcv's) or flash-attn: chosen for
    # this torch (release, build), known only once the whole command has been read
    per_torch: bool = False
    page_target: tuple[str | None, str | None] | None = None
    torch_installed: bool = False  # that torch is the target's own (the command names none)
    # pip's hash-checking mode (--require-hashes, or any --hash in a file): every requirement
    # must carry a hash, so none is swapped for a URL without one
    hashes: bool = False


@dataclass
class _TorchRoute:
    """Where one PyTorch variant index goes: a mirror (pins for a flat one), or nowhere."""

    mirror: Mirror | None
    pins: dict[str, str] = field(default_factory=dict)
    why_not: str | None = None


def rewrite_pip(cmd: Command, ctx: Context) -> Plan:
    plan, state, target = _rewrite_pip(cmd, ctx, None)
    if state.per_torch:
        # the torch a requirements file's page must fit is known only after every file and
        # option was read (the CUDA choice comes last): read again, knowing it
        plan, _, _ = _rewrite_pip(cmd, ctx, target, state.torch_installed)
    return plan


def _rewrite_pip(
    cmd: Command,
    ctx: Context,
    page_target: tuple[str | None, str | None] | None,
    torch_installed: bool = False,
) -> tuple[Plan, _State, tuple[str | None, str | None]]:
    uv = cmd.tool == "uv"
    cmd, backend_notes, unset = translate_torch_backend(cmd, ctx)
    found = scan(cmd.args, _PIP_VALUED, ("--no-index",), _PIP_OTHER)
    if cmd.origin == "mim":
        cmd, mim_notes = from_mim(cmd, ctx, found.positionals)
        backend_notes += mim_notes
        found = scan(cmd.args, _PIP_VALUED, ("--no-index",), _PIP_OTHER)
    plan = Plan(argv=[], notes=backend_notes, unset=unset)
    notes = plan.notes
    state = _State(
        uv=uv, pypi=pypi_mirror(ctx), page_target=page_target, torch_installed=torch_installed
    )
    state.hashes = "--require-hashes" in cmd.args or any(
        "--hash" in text for text in ctx.facts.files.values()
    )
    pypi = state.pypi
    replace: dict[int, list[str]] = {}
    for i, token in found.positionals:
        if spec_name(token) == "pytorch":
            replace[i] = ["torch" + token[len("pytorch") :]]
            notes.append(
                "pytorch -> torch (the PyPI name; 'pytorch' on PyPI is a placeholder that fails)"
            )
    if cmd.action in ("sync", "compile"):
        # uv pip sync/compile name their requirements files bare: each is one, as with -r
        found.options += [
            Option("--requirement", token, i, 1, "")
            for i, token in found.positionals
            if token in ctx.facts.files
        ]
        found.positionals = [(i, t) for i, t in found.positionals if t not in ctx.facts.files]
    _route_torch_indexes(cmd, found, ctx, state, replace)
    for i, token in found.positionals:
        new_token = _torch_file_requirement((replace.get(i) or [token])[0], ctx, plan, state)
        if new_token is not None:
            replace[i] = [new_token]
    # a requirements file's own --index-url counts too: the one the user wrote stays in charge
    has_index = any(n in ("--index-url", "--default-index") for n, _ in _torch_refs(found, ctx))
    torch_options: dict[int, str] = {}  # arg index -> the CUDA variant that option names
    for opt in found.options:
        if opt.name == "--find-links" and _family_page(opt.value, ctx):
            continue  # chosen for the torch this command installs, then routed, below
        before = len(state.variants)
        new = _rewrite_index_option(opt, ctx, plan, state)
        if len(state.variants) > before:
            torch_options[opt.index] = state.variants[-1]
        if new is not None:
            replace[opt.index] = new
            for k in range(opt.index + 1, opt.index + opt.count):
                replace[k] = []
        elif opt.index in torch_options:
            replace[opt.index] = list(cmd.args[opt.index : opt.index + opt.count])
            for k in range(opt.index + 1, opt.index + opt.count):
                replace[k] = []
    for i, token in found.positionals:
        current = (replace.get(i) or [token])[0]
        if current in state.pins:
            replace[i] = [state.pins[current]]
    env_index = None
    for var in ("UV_DEFAULT_INDEX", "UV_INDEX_URL") if uv else ("PIP_INDEX_URL",):
        if ctx.facts.environ.get(var):
            env_index = var
            value = ctx.facts.environ[var]
            if is_pypi_url(value) and pypi and pypi.pypi:
                plan.env[var] = pypi.pypi.simple
                why = why_chosen(ctx.facts.ranking, "pypi", pypi)
                notes.append(f"{var}: pypi.org -> {pypi.pypi.simple} ({why})")
            has_index = True
    if not has_index and "--no-index" not in found.flags and pypi and pypi.pypi:
        flag = "--default-index" if uv else "--index-url"
        replace.setdefault(-1, []).extend([flag, pypi.pypi.simple])
        notes.append(f"PyPI -> {pypi.pypi.simple} ({why_chosen(ctx.facts.ranking, 'pypi', pypi)})")
        plan.mirrors["pypi"] = {"mirror": pypi.id, "url": pypi.pypi.simple}
    elif env_index is None and pypi and pypi.pypi and "pypi" not in plan.mirrors:
        plan.mirrors["pypi"] = {"mirror": None, "url": None}
    _pip_cuda(cmd, found, ctx, plan, replace, torch_mirror(ctx), uv, torch_options, state.channels)
    target = _torch_target(found, ctx, plan, replace, torch_options, state)
    _torch_built_pages(found, ctx, plan, replace, target, state.torch_installed)
    if not state.hashes:
        for i, token in found.positionals:
            current = (replace.get(i) or [token])[0]
            if is_flash_attn(current):
                new = _flash_attn(current, ctx, plan, target, state.torch_installed)
                if new != current:
                    replace[i] = [new]
    out = list(cmd.head)
    for i, token in enumerate(cmd.args):
        out += replace.get(i, [token])
    out += replace.get(-1, [])
    plan.argv = out
    return plan, state, target


def requirement_tokens(args: Sequence[str]) -> list[str]:
    """The positional tokens of a pip install's ``args`` (after the action): requirements,
    paths, URLs, as typed."""
    return [t for _, t in scan(tuple(args), _PIP_VALUED, ("--no-index",), _PIP_OTHER).positionals]


def _index_url_of(opt: Option) -> str:
    """The URL an index option names (uv's ``--index name=url`` included)."""
    if opt.name == "--index" and "=" in opt.value and "://" in opt.value.split("=", 1)[1]:
        return opt.value.split("=", 1)[1]
    return opt.value


def _exclusive(opt_name: str, uv: bool) -> bool:
    """Is a torch index the only source of the torch family? pip: when it is the primary
    index; uv: always (its first-index strategy takes a package from the first index that
    has it, and extra indexes come first)."""
    return uv or opt_name in ("--index-url", "--default-index")


def _requirement_texts(cmd: Command, found: Any, ctx: Context, replace: dict) -> list[str]:
    """Requirements given on the command line and in its -r files (as written)."""
    texts = [
        (replace.get(i) or [tok])[0] for i, tok in found.positionals if not tok.startswith("-")
    ]
    for opt in found.options:
        if opt.name == "--requirement":
            for line in _tree_lines(opt.value, ctx):
                stripped = line.split(" #")[0].strip()
                if stripped and not stripped.startswith(("#", "-")):
                    texts.append(stripped)
    return texts


def _tree_lines(path: str, ctx: Context) -> list[str]:
    """The lines of requirements file ``path`` and of every file it includes (``-r``), as
    pip reads them (core/reqincludes.py); files that were not read count as empty."""
    lines: list[str] = []
    todo, seen = [path], set()
    while todo and len(seen) < MAX_FILES:
        current = todo.pop(0)
        if current in seen or current not in ctx.facts.files:
            continue
        seen.add(current)
        text = ctx.facts.files[current]
        lines += text.splitlines()
        todo += included_paths(text, current)
    return lines


def _torch_refs(found: Any, ctx: Context) -> list[tuple[str, str]]:
    """(option name, URL) of every index-ish option, on the command line and in -r files."""
    refs = []
    for opt in found.options:
        if opt.name == "--requirement":
            for line in _tree_lines(opt.value, ctx):
                parts = line.strip().split(None, 1)
                if parts and parts[0].split("=")[0] in _PIP_VALUED:
                    name, eq, inline = parts[0].partition("=")
                    value = inline if eq else (parts[1] if len(parts) > 1 else "")
                    refs.append((_PIP_VALUED[name], value))
        else:
            refs.append((opt.name, _index_url_of(opt)))
    return refs


def _route_torch_indexes(
    cmd: Command, found: Any, ctx: Context, state: _State, replace: dict
) -> None:
    """Choose a mirror for every PyTorch variant index the command names, best ranked first;
    a flat (find-links) copy of an index that was the only source needs exact pins."""
    requirements = _requirement_texts(cmd, found, ctx, replace)
    state.requirements = requirements
    for name, url in _torch_refs(found, ctx):
        _route_variant(name, url, ctx, state)


def _route_variant(option: str, url: str, ctx: Context, state: _State) -> None:
    """The route for the PyTorch variant index ``url`` names (given with ``option``)."""
    ref = torch_variant_of(url)
    if ref is None or not ref[0] or ref[1]:
        return
    variant, exclusive = ref[0], _exclusive(option, state.uv)
    if (variant, exclusive) in state.routes:
        return
    requirements = state.requirements
    route = _TorchRoute(None, why_not="no enabled mirror carries PyTorch wheels")
    reasons = []
    for mirror in ranked(ctx, "pytorch"):
        wheels = mirror.pytorch
        if wheels is None:
            continue
        if wheels.layout == "index" or not exclusive:
            route = _TorchRoute(mirror, why_not="; ".join(reasons) or None)
            break
        pins = _flat_pins(mirror, variant, requirements, ctx)
        if isinstance(pins, dict):
            route = _TorchRoute(mirror, pins)
            break
        reasons.append(f"mirror {mirror.id}: {pins}")
    if route.mirror is None and reasons:
        route.why_not = "; ".join(reasons)
    state.routes[(variant, exclusive)] = route
    state.pins.update(route.pins)


def _flat_pins(mirror: Mirror, variant: str, requirements: list[str], ctx: Context):
    """Pins that make a flat copy give what the variant index gives, or why it cannot."""
    from mirrorinstall.rewrite.torchpin import family_pins

    if ctx.cuda_mode == "auto" and any(spec_name(r) == "torch" for r in requirements):
        return {}  # --cuda auto pins torch itself, to the build it chooses
    listing = ctx.facts.wheels(mirror.id, variant) if ctx.facts.wheels else None
    if listing is None or ctx.facts.python is None:
        return (
            "its listing could not be read, so an exact pin that keeps what the index "
            "would give cannot be made"
        )
    return family_pins(
        requirements,
        listing,
        variant,
        python=ctx.facts.python,
        platform=ctx.facts.platform,
        tables=ctx.facts.tables,
    )


def _rewrite_index_option(opt: Option, ctx: Context, plan: Plan, state: _State) -> list[str] | None:
    """New tokens for one index-ish option, or None to keep it."""
    notes = plan.notes
    pypi, uv = state.pypi, state.uv
    if opt.name == "--requirement":
        text = ctx.facts.files.get(opt.value)
        if text is None:
            raise UsageError(f"cannot read the requirements file {opt.value}", "Check the path.")
        state.visiting.add(opt.value)
        try:
            new_text = _rewrite_requirements(opt.value, text, ctx, plan, state)
        finally:
            state.visiting.discard(opt.value)
        if new_text == text:
            return None
        base = ctx.facts.file_dirs.get(opt.value)
        if base is not None:  # its -r/-c lines work from the copy's folder too
            new_text = absolute_includes(new_text, base)
        path = ctx.facts.copy_path(opt.value)
        plan.writes[path] = _passwords_to_env(new_text, plan)
        notes.append(f"{opt.value}: index options and pins rewritten in a copy, {path}")
        return opt.same_form(path) if opt.spelled or opt.count == 2 else [path]
    if opt.name not in (
        "--index-url",
        "--extra-index-url",
        "--find-links",
        "--index",
        "--default-index",
    ):
        return None
    url = _index_url_of(opt)
    if is_pypi_url(url) and pypi and pypi.pypi:
        new = opt.value.replace(url, pypi.pypi.simple)
        why = why_chosen(ctx.facts.ranking, "pypi", pypi)
        notes.append(f"{opt.name} {url} -> {pypi.pypi.simple} ({why})")
        plan.mirrors["pypi"] = {"mirror": pypi.id, "url": pypi.pypi.simple}
        return opt.same_form(new)
    if opt.name == "--find-links" and _family_page(url, ctx):
        state.per_torch = True
        target = state.page_target
        new_url = (
            _page_for_torch(url, ctx, plan, target, state.torch_installed)
            if target
            else _via_copy(url, ctx, plan)
        )
        return None if new_url == url else opt.same_form(opt.value.replace(url, new_url))
    owner = index_package(url, ctx)
    if owner is not None:  # PaddlePaddle's per-CUDA index, ONNX Runtime's CUDA 11 feed
        new_url = _via_copy(rewrite_gpu_index(url, ctx, plan), ctx, plan, owner)
        return None if new_url == url else opt.same_form(opt.value.replace(url, new_url))
    ref = read_torch_url(url)
    if ref is None:
        new_url = _via_copy(url, ctx, plan)
        return None if new_url == url else opt.same_form(opt.value.replace(url, new_url))
    if ref.kind in ("page", "file"):
        return _torch_page_or_file(opt, ref, ctx, plan, state)
    if ref.kind != "index" or not ref.stable or not ref.variant:
        if ref.channel and ref.channel not in state.channels:
            state.channels.append(ref.channel)
        notes.append(
            f"{url}: left on the official host ({ref.describe()}: no mirror in the catalog "
            "carries it; mirrors copy the stable variant indexes only)"
        )
        return None
    variant = ref.variant
    state.variants.append(variant)
    exclusive = _exclusive(opt.name, uv)
    route = state.routes.get((variant, exclusive))
    if route is None or route.mirror is None or route.mirror.pytorch is None:
        why = route.why_not if route is not None else "no enabled mirror carries it"
        notes.append(f"{url}: left on the official host ({why})")
        return None
    mirror, wheels = route.mirror, route.mirror.pytorch
    plan.mirrors["pytorch"] = {"mirror": mirror.id, "layout": wheels.layout, "base": wheels.base}
    chosen = why_chosen(ctx.facts.ranking, "pytorch", mirror)
    if mirror.upstream and wheels.layout == "index" and f"{wheels.base}/{variant}" == url:
        notes.append(f"{url}: left on the official host ({route.why_not or chosen})")
        return None
    if wheels.layout == "index":
        # the same role as the original (a copy of download.pytorch.org/whl, dependencies
        # included), so pip and uv resolve exactly as they would have
        new_url = f"{wheels.base}/{variant}"
        notes.append(f"{url} -> {new_url} ({chosen}; same role: {opt.spelled or opt.name})")
        return opt.same_form(opt.value.replace(url, new_url))
    flat = wheels.variant_url(variant)
    tokens: list[str] = []
    if opt.name in ("--index-url", "--default-index") and pypi and pypi.pypi:
        tokens += [opt.spelled or opt.name, pypi.pypi.simple]
        plan.mirrors["pypi"] = {"mirror": pypi.id, "url": pypi.pypi.simple}
        notes.append(f"dependencies from the PyPI mirror {pypi.id} ({pypi.pypi.simple})")
    tokens += ["--find-links", flat]
    notes.append(f"{url} -> --find-links {flat} ({chosen}; a flat copy of the wheels)")
    if route.pins:
        notes.append(
            "pinned to the builds the variant index gives, read from the mirror's listing (a "
            "flat copy beside PyPI would otherwise let pip take PyPI's newest): "
            + ", ".join(f"{old} -> {new}" for old, new in route.pins.items())
        )
    return tokens


def _via_copy(url: str, ctx: Context, plan: Plan, owner: str | None = None) -> str:
    """``url`` on the best mirror that copies its host (``[mirror.X.hosts]``), with a note;
    ``url`` itself when none does (a note for a package's own index: it stays there)."""
    found = host_copy(ctx, url)
    if found is None:
        if any(m.copy_of(url) for m in ctx.facts.catalog.enabled()):
            # its copies failed in this run: the official host is this attempt's route
            plan.notes.append(f"{url}: the official host (its copies failed in this run)")
            plan.mirrors[f"hosts:{url}"] = {"mirror": None, "url": url}
        elif owner is not None:
            plan.notes.append(f"{url}: left on {owner}'s own host (no catalogued mirror copies it)")
        return url
    mirror, copy, why = found
    plan.notes.append(f"{url} -> {copy} ({why})")
    # a route of its own kind: a failure there drops this mirror for host copies only
    plan.mirrors[f"hosts:{url}"] = {"mirror": mirror.id, "url": copy}
    return copy


def _torch_page_or_file(
    opt: Option, ref: TorchUrl, ctx: Context, plan: Plan, state: _State
) -> list[str] | None:
    """A PyTorch find-links page (torch_stable.html, cu118/torch_stable.html, torch_lts.html)
    or wheel file: the best-ranked mirror that serves the same files, checked in its listing
    where it can be read; else the official URL, with a note that says so and why."""
    new = _torch_equivalent(ref, ctx, plan, state)
    if new is None:
        return None
    urls, role = new
    if ref.variant and ref.stable and ref.variant not in state.variants:
        state.variants.append(ref.variant)
    if ref.kind == "file" or role != "index":
        tokens = opt.same_form(opt.value.replace(ref.url, urls[0]))
        for url in urls[1:]:
            tokens += [opt.spelled or opt.name, url]
        return tokens
    return [t for url in urls for t in ("--extra-index-url", url)]


def pip_section_router(
    items: list[str], ctx: Context, plan: Plan, env: NewEnv
) -> Callable[[str], list[str]]:
    """For an environment file's ``pip:`` list (conda runs pip on it as a requirements file):
    a function from one item to the items that replace it, routed as in a requirements file
    (index options to mirrors, PyTorch pages and wheel URLs to the same files; flash-attn's
    release wheel for ``env``, the environment the file creates)."""
    state = _State(uv=False, pypi=pypi_mirror(ctx))
    state.requirements = [i for i in items if not i.startswith("-")]
    state.hashes = any("--hash" in i for i in items)
    # the environment is new: its torch is the one the list pins, if it pins one
    pinned = [found for found in map(_exact_torch, state.requirements) if found]
    state.page_target = pinned[0] if pinned else env.torch
    # the new environment's Python, and no torch in it but the file's own
    new_env = replace(
        ctx,
        facts=replace(
            ctx.facts,
            python=env.python,
            installed_torch=None,
            installed_torch_cuda=None,
            installed_torch_abi=None,
        ),
    )
    options = []
    for item in items:
        parts = item.split(None, 1)
        name, eq, inline = parts[0].partition("=") if parts else ("", "", "")
        if name in _PIP_VALUED and name not in ("-r", "--requirement"):
            value = inline if eq else (parts[1] if len(parts) > 1 else "")
            options.append((item, Option(_PIP_VALUED[name], value.strip(), 0, 2, name)))
            _route_variant(_PIP_VALUED[name], value.strip(), ctx, state)

    def change(item: str) -> list[str]:
        for text, opt in options:
            if text == item:
                new = _rewrite_index_option(opt, ctx, plan, state)
                if new is None:
                    return [item]
                return [f"{new[k]} {new[k + 1]}" for k in range(0, len(new) - 1, 2)]
        by_url = _torch_file_requirement(item, ctx, plan, state)
        if by_url is not None:
            return [by_url]
        # a comment after the requirement stays after it (pip reads " #" as one)
        bare = re.split(r"\s+#", item, maxsplit=1)[0]
        if is_flash_attn(bare) and not state.hashes:
            if state.page_target[0] is None and env.why_not:
                plan.notes.append(f"CUDA: {bare}: no flash-attn wheel chosen: {env.why_not}")
                return [item]
            abi = env.abi if not pinned else None
            route = lambda url: _via_copy(url, ctx, plan)  # noqa: E731
            new = rewrite_flash_attn(bare, new_env, plan, state.page_target, route, abi)
            return [new + item[len(bare) :]]
        return [state.pins.get(item, item)]

    return change


_URL_IN_REQUIREMENT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_INLINE_INDEX = re.compile(
    r"\s(--index-url|--extra-index-url|-i|--find-links|-f)(?:=|\s+)([A-Za-z][\w+.-]*://\S+)"
)


def _torch_file_requirement(text: str, ctx: Context, plan: Plan, state: _State) -> str | None:
    """A requirement naming a download.pytorch.org file by URL (``URL`` or ``name @ URL``)
    with the URL of the same file on a mirror (its ``#sha256=`` kept), or None to keep it."""
    inline = _INLINE_INDEX.findall(text)
    if inline:
        plan.notes.append(
            f"{text}: index options on a requirement's line ({', '.join(u for _, u in inline)}), "
            "which pip does not read there (it takes them on lines of their own); left as "
            "written, on the official host"
        )
        return None
    found = _URL_IN_REQUIREMENT.search(text)
    ref = read_torch_url(found.group(0).rstrip(";")) if found else None
    if ref is None:
        return None
    if ref.kind != "file":
        plan.notes.append(
            f"{text}: names {ref.describe()} where a requirement goes, which pip reads as a "
            "file to install, not as a place to look (write --index-url or --extra-index-url "
            "before it); left as written, on the official host"
        )
        return None
    new = _torch_equivalent(ref, ctx, plan, state)
    return text.replace(ref.url, new[0][0]) if new is not None else None


def _torch_equivalent(
    ref: TorchUrl, ctx: Context, plan: Plan, state: _State
) -> tuple[tuple[str, ...], str] | None:
    """(URLs, role) on the best-ranked mirror serving what ``ref`` serves, or None (noted)."""
    pinned = local_variants(state.requirements)
    reasons: list[str] = []
    for mirror in ranked(ctx, "pytorch"):
        wheels = mirror.pytorch
        if wheels is None:
            continue
        if mirror.upstream:
            why = "; ".join(reasons) or why_chosen(ctx.facts.ranking, "pytorch", mirror)
            break
        found = equivalent(ref, wheels, pinned)
        if isinstance(found, str):
            reasons.append(f"mirror {mirror.id}: {found}")
            continue
        # a live proxy of the page itself lists the same files by construction; the
        # listings minstall reads are of stable variants only
        proxied = ref.kind == "page" and bool(wheels.listing)
        checkable = ref.stable and found.variants and not proxied
        missing = _unlisted(ref, found.variants, mirror.id, ctx, state) if checkable else None
        if missing:
            reasons.append(f"mirror {mirror.id}: {missing}")
            continue
        plan.mirrors["pytorch"] = {
            "mirror": mirror.id,
            "layout": wheels.layout,
            "base": wheels.base,
        }
        chosen = why_chosen(ctx.facts.ranking, "pytorch", mirror)
        shown = " ".join(found.urls)
        how = {
            "index": f"as {'indexes' if len(found.urls) > 1 else 'an index'} of the same "
            "variant's wheels: this mirror serves no find-links pages",
            "page": "the same variant's wheels, listed flat",
        }.get(found.role, "the same path")
        plan.notes.append(f"{ref.url} -> {shown} ({chosen}; {how})")
        return found.urls, found.role
    else:
        why = "; ".join(reasons) or "no enabled mirror carries PyTorch wheels"
    plan.notes.append(f"{ref.url}: left on the official host ({why})")
    return None


def _unlisted(
    ref: TorchUrl, variants: tuple[str, ...], mirror_id: str, ctx: Context, state: _State
) -> str | None:
    """Why the mirror's listing shows it lacks what ``ref`` would give (None: it has it, or its
    listing could not be read)."""
    if ctx.facts.wheels is None:
        return None
    if ref.kind == "file":
        names = ctx.facts.wheels(mirror_id, variants[0])
        if names is None or file_name(ref) in names:
            return None
        return f"its {variants[0]} listing has no {file_name(ref)}"
    for text in state.requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        pins = [s.version for s in req.specifier if s.operator in ("==", "===")]
        if canonicalize_name(req.name) not in FAMILY or not pins:
            continue
        public, _, local = pins[0].partition("+")
        for variant in [local] if local in variants else variants:
            names = ctx.facts.wheels(mirror_id, variant)
            if names is None:
                return None
            project = f"{req.name.replace('-', '_')}-".lower()
            if not any(n.lower().startswith(project) for n in names):
                break  # a listing of other projects (an index's torch page): unknown, not absent
            prefix = f"{project}{public}+{variant}-"
            if any(n.lower().startswith((prefix, f"{project}{public}-")) for n in names):
                break
        else:
            return f"its listing of {', '.join(variants)} has no {req.name} {pins[0]}"
    return None


SECRET_PREFIX = "MINSTALL_SECRET_"
# scheme://user:password@ in a requirements file (pip's own ${VAR} left alone)
_PASSWORD_IN_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:)([^\s/@$]+)(@)")


def _passwords_to_env(text: str, plan: Plan) -> str:
    """The copy of a requirements file holds no password: each becomes ``${MINSTALL_SECRET_N}``,
    which pip and uv expand from the environment when they read the file, and the child's
    environment gets its value (minstall prints it masked)."""

    def swap(match: re.Match) -> str:
        name = f"{SECRET_PREFIX}{sum(k.startswith(SECRET_PREFIX) for k in plan.env) + 1}"
        plan.env[name] = match.group(2)
        return match.group(1) + "${" + name + "}" + match.group(3)

    return _PASSWORD_IN_URL.sub(swap, text)


def _rewrite_included(
    line: str, parent: str, value: str, ctx: Context, plan: Plan, state: _State
) -> str:
    """An ``-r`` line: pointing at a rewritten copy of the file it names when that file's own
    index lines or pins changed (its nested includes likewise), else as it was."""
    nested = included_paths(line, parent)
    if not nested or nested[0] not in ctx.facts.files or nested[0] in state.visiting:
        return line
    new = _rewrite_index_option(Option("--requirement", nested[0], 0, 2, "-r"), ctx, plan, state)
    if new is None:
        return line
    return line.replace(value.split(" #")[0].strip(), new[-1], 1)


def _rewrite_requirements(path: str, text: str, ctx: Context, plan: Plan, state: _State) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        parts = stripped.split(None, 1)
        if parts and parts[0].split("=")[0] in _PIP_VALUED and parts[0].startswith("-"):
            name, eq, inline = parts[0].partition("=")
            value = inline if eq else (parts[1] if len(parts) > 1 else "")
            if name in ("-r", "--requirement"):
                out.append(_rewrite_included(line, path, value, ctx, plan, state))
                continue
            opt = Option(_PIP_VALUED[name], value, 0, 2, name)
            new = _rewrite_index_option(opt, ctx, plan, state)
            if new is not None:
                pairs = [f"{new[k]} {new[k + 1]}" for k in range(0, len(new) - 1, 2)]
                ending = "\r\n" if line.endswith("\r\n") else "\n"  # a CRLF file stays CRLF
                out.append(ending.join(pairs) + ending)
                continue
        requirement = line.split(" #")[0].strip()
        by_url = _torch_file_requirement(requirement, ctx, plan, state) if requirement else None
        if by_url is None and is_flash_attn(requirement) and not state.hashes:
            state.per_torch = True  # its wheel is chosen for the command's torch, known last
            if state.page_target is not None:
                by_url = _flash_attn(
                    requirement, ctx, plan, state.page_target, state.torch_installed
                )
        if by_url is not None:
            line = line.replace(requirement, by_url, 1)
        elif requirement in state.pins:
            line = line.replace(requirement, state.pins[requirement], 1)
        out.append(line)
    return "".join(out)


def _index_urls(args: Sequence[str]) -> tuple[str, ...]:
    """The index URLs a pip or uv command gives (``-i URL``, ``--extra-index-url=URL``...)."""
    names = ("-i", "--index-url", "--extra-index-url", "--index", "--default-index")
    out = [args[k + 1] for k, a in enumerate(args[:-1]) if a in names]
    out += [a.split("=", 1)[1] for a in args if a.split("=", 1)[0] in names and "=" in a]
    return tuple(out)


def _pip_cuda(
    cmd: Command,
    found: Any,
    ctx: Context,
    plan: Plan,
    replace: dict[int, list[str]],
    torch: Mirror | None,
    uv: bool,
    explicit: dict[int, str],
    channels: list[str] | tuple[str, ...] = (),
) -> None:
    """Names across the two worlds, and the torch CUDA variant (checked, or chosen)."""
    tables, host = ctx.facts.tables, ctx.facts.host
    requirements = {i: tok for i, tok in found.positionals}
    torch_at = None
    for i, token in requirements.items():
        current = (replace.get(i) or [token])[0]
        name = spec_name(current)
        if name in ("tensorflow", "tensorflow-gpu"):
            new = rewrite_tensorflow(current, ctx, plan)
            if new != current:
                replace[i] = [new]
                if not any(n.startswith(f"{name} -> ") for n in plan.notes):
                    plan.notes.append(f"{current} -> {new}")
        else:  # JAX, CuPy, ONNX Runtime, Paddle
            new = rewrite_gpu_requirement(current, ctx, plan, _index_urls(cmd.args))
            if new != current:
                replace[i] = [new]
        if name == "torch":
            torch_at = i
    if torch_at is None or tables is None or host is None:
        return
    for variant in explicit.values():
        cuda = variant_cuda(variant)
        if (
            cuda
            and host.has_driver
            and not supports(tables, host, cuda, ctx.facts.driver_os)
            and ctx.cuda_mode != "auto"
        ):
            floor = driver_floor(tables, cuda, ctx.facts.driver_os)
            raise CudaMismatch(
                f"the {variant} wheels need NVIDIA driver >= {floor}"
                f", but this machine has {host.describe()}",
                "Upgrade the driver, or rerun with --cuda auto to pick a build this driver runs.",
            )
    token = (replace.get(torch_at) or [requirements[torch_at]])[0]
    local = re.search(r"\+(cu\d+)", token)
    if not host.has_driver and ctx.cuda_mode == "keep":
        # the index's variant and the pin minstall read from it are one build: said once
        for variant in dict.fromkeys([*explicit.values(), *([local.group(1)] if local else [])]):
            plan.notes.append(
                f"CUDA: the {variant} build will not run here: {host.describe()}; "
                "pip installs it, but torch.cuda.is_available() will be False"
            )
    if host.has_driver and ctx.cuda_mode == "keep":
        exact = re.match(r"^[A-Za-z0-9_.\-]+(?:\[[^\]]*\])?\s*===?\s*([0-9][0-9.]*)", token)
        for variant in dict.fromkeys([*explicit.values(), *([local.group(1)] if local else [])]):
            why = why_not_runs(
                tables,
                host,
                variant_cuda(variant),
                ctx.facts.driver_os,
                variant=variant,
                release=exact.group(1) if exact else None,
            )
            if why:  # an index variant the driver cannot run was refused above
                error = (
                    "CUDA driver version is insufficient for CUDA runtime version"
                    if "needs driver" in why
                    else "no kernel image is available for execution on the device"
                )
                plan.notes.append(
                    f"CUDA: warning: the {variant} build will not run here: {why}; pip installs "
                    f"it as asked (--cuda keep), and torch will fail with '{error}' (--cuda "
                    "auto picks a build that runs)"
                )
    if ctx.cuda_mode == "keep":
        return
    if channels:
        plan.notes.append(
            f"CUDA: --cuda {ctx.cuda_mode} leaves torch and PyTorch's {', '.join(channels)} "
            "index as written: minstall's tables cover stable releases only"
        )
        return
    try:
        req = Requirement(token)
    except InvalidRequirement as exc:
        raise UsageError(
            f"cannot read the requirement {token!r}: {exc}",
            "Write it as pip reads it (PEP 508), e.g. 'torch>=2.4' or 'torch[opt-einsum]'.",
        ) from None
    if req.url:
        plan.notes.append(
            f"CUDA: {token} names its file by URL; --cuda {ctx.cuda_mode} leaves it as written"
        )
        return
    spec = str(req.specifier) or None
    mirror = torch.id if torch is not None and torch.pytorch is not None else None
    try:
        choice = choose_torch(
            tables,
            host,
            spec=_pip_spec(spec),
            os=ctx.facts.driver_os,
            python=ctx.facts.python,
            want=ctx.cuda_mode,
            # a build must really be on the chosen mirror, else the next one down is taken
            unavailable=(lambda r, v: wheel_missing(ctx, mirror, v, r)) if mirror else None,
            accel=ctx.facts.accel,
        )
    except UnknownRelease:
        # torch 1.8.2 LTS, 1.10.2, 2.3.1.post0: real releases the table lacks. Refusing them
        # would refuse what may well work; the pin stays, and the note says it is unchecked
        plan.notes.append(
            f"CUDA: {token} is not in minstall's table of PyTorch releases, so --cuda "
            f"{ctx.cuda_mode} cannot check which of its builds runs here; kept as written"
        )
        return
    if mirror and ctx.cuda_mode != "auto" and choice.variant != "cpu":
        missing = wheel_missing(ctx, mirror, choice.variant, choice.release)
        if missing:  # the variant was asked for: say so, and let the install show it
            plan.notes.append(f"CUDA: {missing}")
    _apply_torch_choice(choice, requirements, ctx, plan, replace, torch, uv, explicit)


def _torch_target(
    found: Any,
    ctx: Context,
    plan: Plan,
    replace: dict[int, list[str]],
    explicit: dict[int, str],
    state: _State,
) -> tuple[str | None, str | None]:
    """The torch release and build this command installs, as far as it says: the CUDA
    choice's, else an exact pin's (on the command line, then in its requirements files) and
    its local tag or torch index's build; when it names no torch at all, the one already in
    the target."""
    if plan.cuda and plan.cuda.get("framework") == "torch":
        variant = plan.cuda.get("variant")
        return plan.cuda.get("release"), None if variant == "pypi" else variant
    named = False
    for i, token in found.positionals:
        current = (replace.get(i) or [token])[0]
        if spec_name(current) != "torch":
            continue
        named = True
        exact = _exact_torch(current)
        if exact:
            return exact[0], exact[1] or (list(explicit.values())[-1] if explicit else None)
    for text in state.requirements if not named else ():
        current = state.pins.get(text, text)
        if spec_name(current) != "torch":
            continue
        named = True
        exact = _exact_torch(current)
        if exact:  # a file's own torch index names its build when the pin does not
            return exact[0], exact[1] or (state.variants[-1] if state.variants else None)
    installed = _installed_torch(ctx) if not named else None
    if installed is not None:
        state.torch_installed = True
        return installed
    return None, (list(explicit.values())[-1] if explicit else None)


def _exact_torch(text: str) -> tuple[str, str | None] | None:
    """(release, local build) of an exact torch pin ("torch==2.4.1+cu121"), else None."""
    exact = re.match(r"^torch\s*===?\s*([0-9][0-9.]*)(?:\+([a-z0-9.]+))?\s*$", text)
    return (exact.group(1), exact.group(2)) if exact else None


def _installed_torch(ctx: Context) -> tuple[str, str | None] | None:
    """The torch already in the target (release, build), when the command installs none; a
    torch without a build tag (PyPI's) is the build its torch.version.cuda names."""
    found = re.match(r"^([0-9][0-9.]*)(?:\+([a-z0-9]+))?$", ctx.facts.installed_torch or "")
    if not found:
        return None
    cuda = ctx.facts.installed_torch_cuda
    untagged = None if cuda is None else (f"cu{cuda.replace('.', '')}" if cuda else "cpu")
    return found.group(1), found.group(2) or untagged


def _torch_built_pages(
    found: Any,
    ctx: Context,
    plan: Plan,
    replace: dict[int, list[str]],
    torch: tuple[str | None, str | None],
    installed: bool,
) -> None:
    """PyG's find-links pages (one per torch minor and build) matched to the torch this
    command installs (``installed``: the target's own): a page copied for another torch gives
    extensions that fail to load."""
    tables = ctx.facts.tables
    if tables is None or not tables.pages:
        return
    for opt in found.options:
        if opt.name != "--find-links" or opt.index in replace or not _family_page(opt.value, ctx):
            continue
        url = _page_for_torch(opt.value.strip(), ctx, plan, torch, installed)
        if url != opt.value.strip():
            replace[opt.index] = opt.same_form(url)
            for k in range(opt.index + 1, opt.index + opt.count):
                replace[k] = []


def _page_for_torch(
    url: str, ctx: Context, plan: Plan, torch: tuple[str | None, str | None], installed: bool
) -> str:
    """The family page ``url`` names, chosen for ``torch`` (why, in a note; ``installed``:
    it is the target's own), on the best copy of its host."""
    assert ctx.facts.tables is not None
    ref = read_page(ctx.facts.tables.pages, url)
    assert ref is not None
    choice = page_for(ref, *torch, installed=installed)
    if choice.note:
        plan.notes.append(f"CUDA: {choice.note}")
    return _via_copy(choice.url, ctx, plan)


def _flash_attn(
    text: str, ctx: Context, plan: Plan, torch: tuple[str | None, str | None], installed: bool
) -> str:
    # the target's torch says which C++ ABI it has; one the command installs is PyPI's
    abi = ctx.facts.installed_torch_abi if installed else None
    return rewrite_flash_attn(text, ctx, plan, torch, lambda url: _via_copy(url, ctx, plan), abi)


def _family_page(url: str, ctx: Context) -> bool:
    """Is ``url`` a page of a family built per torch release (PyG's, mmcv's)?"""
    tables = ctx.facts.tables
    return tables is not None and read_page(tables.pages, url) is not None


def wheel_missing(ctx: Context, mirror_id: str, variant: str, release: str) -> str | None:
    """None if the mirror lists a torch ``release`` wheel of ``variant`` for this Python and
    platform (or its listing could not be read), else why not."""
    names = ctx.facts.wheels(mirror_id, variant) if ctx.facts.wheels else None
    python = ctx.facts.python
    if names is None or python is None:
        return None
    from packaging.version import Version

    from mirrorinstall.rewrite.torchpin import listed_builds

    builds = listed_builds(names, variant, python, ctx.facts.platform).get("torch", [])
    if any(Version(v.public) == Version(release) for v in builds):
        return None
    return (
        f"mirror {mirror_id} lists no torch {release}+{variant} wheel for Python "
        f"{python} on {ctx.facts.platform}"
    )


def _pip_spec(spec: str | None) -> str | None:
    if not spec:
        return None
    spec = spec.split(";")[0].strip()
    return re.sub(r"\+[A-Za-z0-9.]+", "", spec) or None


def _apply_torch_choice(
    choice: CudaChoice,
    requirements: dict[int, str],
    ctx: Context,
    plan: Plan,
    replace: dict[int, list[str]],
    torch: Mirror | None,
    uv: bool,
    explicit: dict[int, str],
) -> None:
    host = ctx.facts.host
    assert host is not None
    plan.cuda = {
        "framework": "torch",
        "release": choice.release,
        "variant": choice.variant,
        "cuda": choice.cuda,
        "reason": choice.reason,
        "notes": list(choice.notes),
        "driver": host.driver,
        "driver_cuda": host.cuda,
        "how": host.how,
        "gpus": [{"name": g.name, "cc": g.cc} for g in host.gpus],
        "detection_error": host.error,
    }
    plan.notes.append(f"CUDA: {choice.reason}")
    plan.notes += [f"CUDA: {n}" for n in choice.notes]
    # "pypi": PyPI's own wheels (Ascend on aarch64), which carry no local version tag
    tag = "" if choice.variant == "pypi" else f"+{choice.variant}"
    versions = {
        "torch": f"{choice.release}{tag}",
        "torchvision": f"{choice.torchvision}{tag}" if choice.torchvision else None,
    }
    for i, token in requirements.items():
        current = (replace.get(i) or [token])[0]
        name = spec_name(current)
        if versions.get(name):
            marker = current.split(";", 1)[1] if ";" in current else None
            extras = re.match(r"^[A-Za-z0-9_.\-]+(\[[^\]]*\])?", current).group(1) or ""
            new = f"{name}{extras}=={versions[name]}" + (f"; {marker.strip()}" if marker else "")
            if new != current:
                replace[i] = [new]
                plan.notes.append(f"{current} -> {new}")
    for extra in choice.extras:  # torch-npu for Ascend: installed with torch, as its README does
        if not any(spec_name(t) == spec_name(extra) for t in requirements.values()):
            replace.setdefault(-1, []).append(extra)
            plan.notes.append(f"{extra} added: {choice.reason}")
    if explicit:
        # PyPI's own wheels (macOS, Ascend's aarch64) are on the cpu index too, under the
        # same names: an index the command names is kept in its role, on that variant
        variant = "cpu" if choice.variant == "pypi" else choice.variant
        for index, old in explicit.items():
            if old == variant:
                continue
            replace[index] = [
                re.sub(rf"/{re.escape(old)}(?=/|$)", f"/{variant}", t) for t in replace[index]
            ]
            urls = " ".join(t for t in replace[index] if "://" in t)
            plan.notes.append(
                f"{old} index replaced by {variant} ({ctx.cuda_mode} CUDA choice): {urls}"
            )
        return
    if choice.variant == "pypi":
        return
    if torch is None or torch.pytorch is None:
        plan.notes.append(
            f"no enabled mirror carries PyTorch wheels; {choice.variant} wheels "
            "come from https://download.pytorch.org/whl"
        )
        replace.setdefault(-1, []).extend(
            ["--extra-index-url", f"https://download.pytorch.org/whl/{choice.variant}"]
        )
        return
    tokens = _torch_source(torch, choice.variant)
    present = {t.rstrip("/") for new in replace.values() for t in new}
    if tokens[-1].rstrip("/") not in present:  # a mapped find-links page may name it already
        replace.setdefault(-1, []).extend(tokens)
    plan.mirrors["pytorch"] = {
        "mirror": torch.id,
        "layout": torch.pytorch.layout,
        "base": torch.pytorch.base,
    }
    plan.notes.append(
        f"{choice.variant} wheels from {tokens[-1]} (mirror {torch.id}, "
        f"{torch.pytorch.layout} layout)"
    )
