"""A conda/pip/uv command -> the same command on the fastest mirrors, right CUDA build. Pure.

Inputs are plain data: the parsed command, the catalog, the mirror order per kind (from a
bench ranking), the host's CUDA facts and the text of any file the command names. The
output (:class:`Plan`) is the new argv, environment changes, one note per change, the mirror
chosen for every channel and index, the CUDA decision, and the rewritten copies of files
(the user's own files are never edited). Tokens that are not rewritten stay verbatim and in
order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from packaging.version import Version

from mirrorinstall.argv import Command, Option, scan
from mirrorinstall.catalog import Catalog, Mirror
from mirrorinstall.cuda import (
    CudaChoice,
    CudaMismatch,
    HostCuda,
    choose_conda_cuda,
    choose_torch,
    cuda_variant,
    driver_floor,
    releases_matching,
    supports,
    variant_cuda,
)
from mirrorinstall.cuda_tables import Tables
from mirrorinstall.errors import UsageError

CUDA_MODES_HELP = "keep (default), auto, cpu, X.Y or cuXYZ"
_SPEC_NAME = re.compile(r"^([A-Za-z0-9_.\-]+)")
_PYTORCH_HOSTS = ("download.pytorch.org", "download-r2.pytorch.org")


@dataclass(frozen=True)
class Context:
    catalog: Catalog
    order: Mapping[str, list[str]]  # kind -> mirror ids, best first
    platform: str = "linux-64"  # conda subdir the command is for
    cuda_mode: str = "keep"
    host: HostCuda | None = None
    tables: Tables | None = None
    python: str | None = None  # "3.11", for wheel/release checks
    strip_channels: bool = False
    files: Mapping[str, str] = field(default_factory=dict)  # path -> text of files we read
    environ: Mapping[str, str] = field(default_factory=dict)
    copy_path: Callable[[str], str] = lambda p: p + ".minstall"
    windows_driver: bool = False  # WSL2 reports the Windows driver: Windows thresholds apply
    # (mirror id, variant, torch version) -> None if the mirror has a wheel for this Python and
    # platform, else why not. Given by the caller (it reads the mirror's listing).
    wheel_check: Callable[[str, str, str], str | None] | None = None

    @property
    def os(self) -> str:
        if self.platform.startswith("win"):
            return "windows"
        return "macos" if self.platform.startswith("osx") else "linux"

    @property
    def driver_os(self) -> str:
        """Whose driver thresholds apply: Windows ones for a Windows driver (WSL2 included)."""
        return "windows" if self.windows_driver or self.os == "windows" else self.os


@dataclass
class Plan:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    mirrors: dict[str, dict[str, Any]] = field(default_factory=dict)
    cuda: dict[str, Any] | None = None
    writes: dict[str, str] = field(default_factory=dict)  # new path -> content


# ------------------------------------------------------------------ mirror choice


def _ranked(ctx: Context, kind: str) -> list[Mirror]:
    """Mirrors for ``kind``: the bench order first, then the official hosts as the last resort."""
    seen, out = set(), []
    for mid in ctx.order.get(kind, []):
        m = ctx.catalog.get(mid)
        if m is not None and m.enabled and mid not in seen:
            out.append(m)
            seen.add(mid)
    for m in ctx.catalog.enabled():
        if m.upstream and m.id not in seen:
            out.append(m)
    return out


def choose_channel(ctx: Context, channel: str) -> tuple[Mirror | None, str | None]:
    """The best-ranked mirror carrying ``channel`` for this platform, and its URL."""
    for m in _ranked(ctx, "conda"):
        url = m.channel_url(channel)
        if url is None:
            continue
        entry = m.conda.get(channel)
        if entry is not None and not (
            entry.carries_subdir(ctx.platform) and entry.carries_subdir("noarch")
        ):
            continue
        return m, url
    return None, None


def _pypi_mirror(ctx: Context) -> Mirror | None:
    return next((m for m in _ranked(ctx, "pypi") if m.pypi), None)


def _torch_mirror(ctx: Context) -> Mirror | None:
    return next((m for m in _ranked(ctx, "pytorch") if m.pytorch), None)


# ------------------------------------------------------------------ conda


def upstream_channel(url: str) -> str | None:
    """``https://conda.anaconda.org/conda-forge`` -> ``conda-forge``; other URLs -> None."""
    parts = urlsplit(url)
    path = parts.path.strip("/").split("/")
    if parts.hostname == "conda.anaconda.org" and path and path[0]:
        return path[0]
    if parts.hostname == "repo.anaconda.com" and len(path) >= 2 and path[0] == "pkgs":
        return path[1]
    return None


def _spec_name(spec: str) -> str:
    spec = spec.split("::", 1)[-1]
    match = _SPEC_NAME.match(spec)
    return match.group(1).lower() if match else spec.lower()


def _spec_version(spec: str) -> str | None:
    rest = spec.split("::", 1)[-1][len(_spec_name(spec)) :]
    rest = (
        rest.split("=")[1]
        if rest.startswith("=") and not rest.startswith("==")
        else rest.lstrip("=")
    )
    rest = rest.split("=")[0].strip()
    return rest or None


def rewrite_conda(cmd: Command, ctx: Context) -> Plan:
    valued = {"-c": "--channel", "--channel": "--channel", "--file": "--file"}
    if cmd.action == "env-create":
        valued["-f"] = "--file"
    found = scan(
        cmd.args,
        valued,
        ("--override-channels",),
        ("-n", "--name", "-p", "--prefix", "--solver", "--repodata-fn"),
    )
    plan = Plan(argv=[])
    notes = plan.notes
    windows = ctx.os == "windows"
    requested: list[str] = []
    for opt in found.options:
        if opt.name == "--channel":
            requested.append(opt.value)
    specs = [tok for _, tok in found.positionals]
    env_file = None
    file_specs: list[str] = []
    for opt in found.options:
        if opt.name == "--file":
            text = ctx.files.get(opt.value)
            if text is None:
                raise UsageError(f"cannot read {opt.value}", "Check the path of --file.")
            if cmd.action == "env-create":
                env_file = opt
                requested += _yaml_list(text, "channels")
                file_specs += _yaml_list(text, "dependencies")
            else:
                file_specs += [
                    ln.strip()
                    for ln in text.splitlines()
                    if ln.strip() and not ln.strip().startswith("#")
                ]
    for spec in specs + file_specs:
        if "::" in spec:
            requested.append(spec.split("::", 1)[0])
    routed = _route_frozen_pytorch(found.positionals, requested, ctx, plan)
    implicit = not requested and not ctx.strip_channels
    if implicit:
        requested = ["defaults"]
        notes.append(
            "no channel given: conda's default channels ('defaults': main, r"
            + (", msys2" if windows else "")
            + ") were made explicit; add -c conda-forge "
            "if your .condarc uses conda-forge"
        )
    cuda_args = _conda_cuda(found.positionals, file_specs, requested, ctx, plan)
    channel_urls: list[str] = []
    url_for: dict[str, str] = {}
    for raw in requested:
        name = raw if "://" not in raw else upstream_channel(raw)
        if name is None:
            url_for[raw] = raw
            channel_urls.append(raw)
            notes.append(f"channel {raw} is not an official channel URL; kept as given")
            continue
        for part in ctx.catalog.expand_channel(name, windows=windows):
            if part in url_for:
                continue
            mirror, url = choose_channel(ctx, part)
            if mirror is None or url is None:
                url = f"https://conda.anaconda.org/{part}"
                notes.append(
                    f"channel {part}: no enabled mirror carries it for {ctx.platform}; "
                    "it stays on the official host"
                )
                plan.mirrors[f"conda:{part}"] = {"mirror": None, "url": url}
            else:
                mirrored = any(part in m.conda for m in ctx.catalog.enabled() if not m.upstream)
                if mirror.upstream and not mirrored:
                    notes.append(
                        f"channel {part}: no enabled mirror carries it; it stays on the "
                        f"official host, {url}"
                    )
                else:
                    where = "official host" if mirror.upstream else f"mirror {mirror.id}"
                    notes.append(f"channel {part} -> {url} ({where}, best ranked carrying it)")
                plan.mirrors[f"conda:{part}"] = {"mirror": mirror.id, "url": url}
            url_for[part] = url
            channel_urls.append(url)
        if name != raw or name == "defaults":
            url_for[raw] = url_for.get(name, raw)
    frozen = ctx.catalog.channels.get("pytorch")
    if (
        not routed
        and frozen
        and frozen.frozen_after
        and "pytorch" in [upstream_channel(r) or r for r in requested]
    ):
        notes.append(
            f"the pytorch channel publishes nothing after PyTorch {frozen.frozen_after}; "
            "newer releases are on conda-forge"
        )
    spec_files = {
        o.index: o
        for o in found.options
        if o.name == "--file" and cmd.action != "env-create" and "::" in ctx.files.get(o.value, "")
    }
    spec_file_rest = {k for o in spec_files.values() for k in range(o.index + 1, o.index + o.count)}
    out: list[str] = list(cmd.head)
    inserted = False
    skip = {
        i for o in found.options if o.name == "--channel" for i in range(o.index, o.index + o.count)
    }
    channel_tokens = (
        []
        if ctx.strip_channels
        else [t for url in dict.fromkeys(channel_urls) for t in ("-c", url)]
    )
    for i, token in enumerate(cmd.args):
        if i in skip:
            if not inserted:
                out += channel_tokens
                inserted = True
            continue
        spec_file = spec_files.get(i)
        if spec_file is not None:
            new_path = ctx.copy_path(spec_file.value)
            plan.writes[new_path] = _rewrite_spec_file(ctx.files[spec_file.value], url_for)
            out += spec_file.same_form(new_path)
            notes.append(
                f"{spec_file.value}: channel::package specs rewritten in a copy, {new_path}"
            )
            continue
        if spec_file is None and i in spec_file_rest:
            continue
        if env_file is not None and env_file.index <= i < env_file.index + env_file.count:
            if i == env_file.index + env_file.count - 1:
                new_path = ctx.copy_path(env_file.value)
                plan.writes[new_path] = _rewrite_env_yaml(ctx.files[env_file.value], url_for)
                out.append(
                    token.replace(env_file.value, new_path) if env_file.count == 1 else new_path
                )
                notes.append(f"{env_file.value}: channels rewritten in a copy, {new_path}")
            else:
                out.append(token)
            continue
        if "::" in token and not token.startswith("-"):
            chan, pkg = token.split("::", 1)
            name = upstream_channel(chan) or chan
            if name in url_for:
                out.append(f"{url_for[name]}::{pkg}")
                continue
        out.append(routed.get(i, cuda_args.get(i, token)) if routed else cuda_args.get(i, token))
    if not inserted and cmd.action != "env-create":
        out += channel_tokens
    if ctx.strip_channels:
        notes.append(
            "--strip-channels: channel options dropped; conda uses your .condarc "
            "(point it at a mirror: minstall bench shows the best)"
        )
    elif "--override-channels" not in found.flags and cmd.action != "env-create":
        out.append("--override-channels")
        notes.append(
            "--override-channels added so a .condarc cannot add the slow official channels back"
        )
    out += cuda_args.get(-1, [])  # type: ignore[arg-type]
    plan.argv = out
    return plan


def _route_frozen_pytorch(
    positionals: list[tuple[int, str]], requested: list[str], ctx: Context, plan: Plan
) -> dict[int, str]:
    """A pytorch the frozen pytorch channel cannot give goes to conda-forge instead.

    Changes ``requested`` in place (pytorch -> conda-forge) and returns token replacements
    (``pytorch-cuda=X`` -> ``cuda-version=X``, conda-forge's way to pick the CUDA version).
    """
    facts = ctx.catalog.channels.get("pytorch")
    names = [upstream_channel(r) or r for r in requested]
    if facts is None or not facts.frozen_after or "pytorch" not in names:
        return {}
    frozen = Version(facts.frozen_after)
    wants_newer = False
    for _, token in positionals:
        if _spec_name(token) == "pytorch":
            rest = token.split("::", 1)[-1][len("pytorch") :]
            match = re.match(r"^\s*(==|=|>=|>)?\s*(\d+(?:\.\d+)*)", rest)
            # the channel has every release of the frozen series (2.5.0, 2.5.1)
            if match and Version(match.group(2)).release[:2] > frozen.release[:2]:
                wants_newer = True
    if not wants_newer:
        return {}
    at = names.index("pytorch")
    if "conda-forge" in names:
        del requested[at]
    else:
        requested[at] = "conda-forge"
    replace = {}
    for i, token in positionals:
        if _spec_name(token) == "pytorch-cuda":
            version = _spec_version(token) or ""
            replace[i] = f"cuda-version={version}"
            plan.notes.append(
                f"{token} -> cuda-version={version}: conda-forge picks the CUDA "
                "version with cuda-version, not pytorch-cuda"
            )
    plan.notes.append(
        f"the pytorch channel stops at PyTorch {facts.frozen_after}, so this "
        "request goes to conda-forge (through the mirror) instead of failing"
    )
    return replace


def _conda_cuda(
    positionals: list[tuple[int, str]],
    file_specs: list[str],
    requested: list[str],
    ctx: Context,
    plan: Plan,
) -> dict:
    """CUDA pins in conda specs: check them, and with --cuda auto choose them.

    Returns {arg index: replacement token} (and key -1: tokens to append). Pins inside --file
    spec files are checked, not replaced.
    """
    out: dict[Any, Any] = {}
    tables, host = ctx.tables, ctx.host
    if tables is None or host is None:
        return out
    names = {_spec_name(s): s for s in file_specs + [t for _, t in positionals]}
    wants_torch = "pytorch" in names
    pins = {
        n: _spec_version(names[n])
        for n in ("cudatoolkit", "pytorch-cuda", "cuda-version")
        if n in names
    }
    channels = {upstream_channel(r) or r for r in requested}
    for name, version in pins.items():
        if not version or not re.match(r"^\d+(\.\d+)?", version):
            continue
        cuda = re.match(r"^\d+(\.\d+)?", version).group(0)
        cuda = cuda if "." in cuda else cuda + ".0"
        if host.has_driver and supports(tables, host, cuda, ctx.driver_os):
            floor = driver_floor(tables, cuda, ctx.driver_os)
            reason = f"{name}={version} needs driver >= {floor}; {host.describe()} runs it"
            plan.notes.append(f"CUDA: {reason}")
            plan.cuda = {
                "framework": "torch",
                "checked": f"{name}={version}",
                "reason": reason,
                "driver": host.driver,
                "driver_cuda": host.cuda,
                "how": host.how,
            }
        if host.has_driver and not supports(tables, host, cuda, ctx.driver_os):
            if ctx.cuda_mode != "auto":
                floor = driver_floor(tables, cuda, ctx.driver_os)
                raise CudaMismatch(
                    f"{name}={version} needs NVIDIA driver >= {floor}"
                    f", but this machine has {host.describe()}: conda would install it and "
                    "PyTorch would fail with 'CUDA driver version is insufficient for CUDA "
                    "runtime version'",
                    "Upgrade the driver, or rerun with --cuda auto to get a build this driver "
                    "runs.",
                )
            _replace_conda_pin(name, cuda, positionals, names, ctx, plan, out)
    if wants_torch and ctx.cuda_mode == "auto" and not pins and "pytorch" in channels:
        spec = _spec_version(names["pytorch"])
        candidates = [(v, r) for v, r in releases_matching(tables, spec) if r.conda]
        for release, row in candidates:
            chosen, skipped = choose_conda_cuda(tables, host, row, release, ctx.driver_os)
            if chosen:
                pin = "cudatoolkit" if row.conda == "cudatoolkit" else "pytorch-cuda"
                out[-1] = [f"{pin}={chosen}"]
                plan.notes.append(
                    f"added {pin}={chosen}: the newest CUDA of the pytorch "
                    f"channel's torch {release} that {host.describe()} runs"
                )
                plan.cuda = {
                    "framework": "torch",
                    "release": release,
                    "conda_pin": f"{pin}={chosen}",
                    "driver": host.driver,
                    "how": host.how,
                    "skipped": skipped,
                }
                break
    return out


def _replace_conda_pin(
    name: str,
    cuda: str,
    positionals: list[tuple[int, str]],
    names: dict[str, str],
    ctx: Context,
    plan: Plan,
    out: dict,
) -> None:
    """--cuda auto: swap an unrunnable cudatoolkit/pytorch-cuda pin for one that runs."""
    tables, host = ctx.tables, ctx.host
    assert tables is not None and host is not None
    kind = "cudatoolkit" if name == "cudatoolkit" else "pytorch-cuda"
    torch_spec = _spec_version(names["pytorch"]) if "pytorch" in names else None
    for release, row in releases_matching(tables, torch_spec):
        if row.conda != kind:
            continue
        chosen, _ = choose_conda_cuda(tables, host, row, release, ctx.driver_os)
        if not chosen:
            continue
        for i, token in positionals:
            if _spec_name(token) == name:
                out[i] = f"{name}={chosen}"
            elif _spec_name(token) == "pytorch" and torch_spec is None:
                out[i] = (
                    token.split("::")[0] + "::" + f"pytorch={release}"
                    if "::" in token
                    else f"pytorch={release}"
                )
        plan.notes.append(
            f"{name}={cuda} replaced by {name}={chosen} (--cuda auto): CUDA {cuda} "
            f"needs driver >= {driver_floor(tables, cuda, ctx.driver_os)} and this machine "
            f"has {host.describe()}; torch {release} is the newest pytorch-channel "
            "release with a build it runs"
        )
        plan.cuda = {
            "framework": "torch",
            "release": release,
            "conda_pin": f"{name}={chosen}",
            "replaced": f"{name}={cuda}",
            "driver": host.driver,
            "how": host.how,
        }
        return
    raise CudaMismatch(
        f"no {kind} build of PyTorch runs on {host.describe()}",
        "Use --cuda cpu for the CPU build, or upgrade the NVIDIA driver.",
    )


def _yaml_list(text: str, key: str) -> list[str]:
    """The items of a top-level ``key:`` list in an environment.yml (block style)."""
    items, inside = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if not line.startswith((" ", "\t", "-")) and stripped:
            inside = stripped.split("#")[0].strip() == f"{key}:"
            continue
        if inside and stripped.startswith("- "):
            value = stripped[2:].split(" #")[0].strip().strip("'\"")
            if value and not value.endswith(":"):
                items.append(value)
    return items


def _rewrite_spec_file(text: str, url_for: Mapping[str, str]) -> str:
    """A conda --file spec list with each ``channel::pkg`` pointing at the channel's mirror."""
    out = []
    for line in text.splitlines(keepends=True):
        spec = line.strip()
        if "::" in spec and not spec.startswith("#"):
            chan = spec.split("::", 1)[0]
            name = upstream_channel(chan) or chan
            if name in url_for:
                line = line.replace(f"{chan}::", f"{url_for[name]}::", 1)
        out.append(line)
    return "".join(out)


def _rewrite_env_yaml(text: str, url_for: Mapping[str, str]) -> str:
    """The same environment.yml with each channel replaced by its mirror URL(s)."""
    out, inside = [], False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if not line.startswith((" ", "\t", "-")) and stripped:
            inside = stripped.split("#")[0].strip() == "channels:"
            out.append(line)
            continue
        if inside and stripped.startswith("- "):
            name = stripped[2:].split(" #")[0].strip().strip("'\"")
            indent = line[: len(line) - len(line.lstrip())]
            key = upstream_channel(name) or name
            if key in url_for:
                out.append(f"{indent}- {url_for[key]}\n")
                continue
        out.append(line)
    return "".join(out)


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
)


def _is_pypi(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("pypi.org", "pypi.python.org", "files.pythonhosted.org")


def _torch_variant_of(url: str) -> tuple[str, str] | None:
    """``https://download.pytorch.org/whl/cu121`` -> ("cu121", "") ; torch_stable pages too."""
    parts = urlsplit(url)
    if parts.hostname not in _PYTORCH_HOSTS:
        return None
    path = [p for p in parts.path.split("/") if p]
    if not path or path[0] != "whl":
        return None
    rest = path[1:]
    if rest and rest[-1].endswith(".html"):
        return (rest[0] if len(rest) == 2 else "", rest[-1])
    return (rest[0] if rest else "", "")


def _torch_source(mirror: Mirror, variant: str, uv: bool) -> list[str]:
    wheels = mirror.pytorch
    assert wheels is not None
    if wheels.layout == "index":
        return ["--extra-index-url", f"{wheels.base}/{variant}"]
    return ["--find-links", wheels.variant_url(variant)]


def rewrite_pip(cmd: Command, ctx: Context) -> Plan:
    uv = cmd.tool == "uv"
    found = scan(cmd.args, _PIP_VALUED, ("--no-index",), _PIP_OTHER)
    plan = Plan(argv=[])
    notes = plan.notes
    pypi = _pypi_mirror(ctx)
    torch = _torch_mirror(ctx)
    replace: dict[int, list[str]] = {}
    has_index = any(o.name in ("--index-url", "--default-index") for o in found.options)
    torch_variants: list[str] = []
    torch_options: dict[int, str] = {}  # arg index -> the CUDA variant that option names
    for opt in found.options:
        before = len(torch_variants)
        new = _rewrite_index_option(opt, ctx, plan, pypi, torch, uv, torch_variants)
        if len(torch_variants) > before:
            torch_options[opt.index] = torch_variants[-1]
        if new is not None:
            replace[opt.index] = new
            for k in range(opt.index + 1, opt.index + opt.count):
                replace[k] = []
        elif opt.index in torch_options:
            replace[opt.index] = list(cmd.args[opt.index : opt.index + opt.count])
            for k in range(opt.index + 1, opt.index + opt.count):
                replace[k] = []
    env_index = None
    for var in ("UV_DEFAULT_INDEX", "UV_INDEX_URL") if uv else ("PIP_INDEX_URL",):
        if ctx.environ.get(var):
            env_index = var
            value = ctx.environ[var]
            if _is_pypi(value) and pypi and pypi.pypi:
                plan.env[var] = pypi.pypi.simple
                notes.append(f"{var}: pypi.org -> {pypi.pypi.simple} (mirror {pypi.id})")
            has_index = True
    if not has_index and "--no-index" not in found.flags and pypi and pypi.pypi:
        flag = "--default-index" if uv else "--index-url"
        replace.setdefault(-1, []).extend([flag, pypi.pypi.simple])
        notes.append(f"PyPI -> {pypi.pypi.simple} (mirror {pypi.id}, best ranked for pypi)")
        plan.mirrors["pypi"] = {"mirror": pypi.id, "url": pypi.pypi.simple}
    elif env_index is None and pypi and pypi.pypi and "pypi" not in plan.mirrors:
        plan.mirrors["pypi"] = {"mirror": None, "url": None}
    _pip_cuda(cmd, found, ctx, plan, replace, torch, uv, torch_options)
    out = list(cmd.head)
    for i, token in enumerate(cmd.args):
        out += replace.get(i, [token])
    out += replace.get(-1, [])
    plan.argv = out
    return plan


def _rewrite_index_option(
    opt: Option,
    ctx: Context,
    plan: Plan,
    pypi: Mirror | None,
    torch: Mirror | None,
    uv: bool,
    torch_variants: list[str],
) -> list[str] | None:
    """New tokens for one index-ish option, or None to keep it."""
    notes = plan.notes
    if opt.name == "--requirement":
        text = ctx.files.get(opt.value)
        if text is None:
            raise UsageError(f"cannot read the requirements file {opt.value}", "Check the path.")
        new_text = _rewrite_requirements(text, ctx, plan, pypi, torch, uv, torch_variants)
        if new_text == text:
            return None
        path = ctx.copy_path(opt.value)
        plan.writes[path] = new_text
        notes.append(f"{opt.value}: index options rewritten in a copy, {path}")
        return ["-r", path]
    if opt.name not in (
        "--index-url",
        "--extra-index-url",
        "--find-links",
        "--index",
        "--default-index",
    ):
        return None
    url = (
        opt.value.split("=", 1)[1]
        if opt.name == "--index" and "=" in opt.value and "://" in opt.value.split("=", 1)[1]
        else opt.value
    )
    if _is_pypi(url) and pypi and pypi.pypi:
        new = opt.value.replace(url, pypi.pypi.simple)
        notes.append(f"{opt.name} {url} -> {pypi.pypi.simple} (mirror {pypi.id})")
        plan.mirrors["pypi"] = {"mirror": pypi.id, "url": pypi.pypi.simple}
        return opt.same_form(new)
    torch_ref = _torch_variant_of(url)
    if torch_ref is None:
        return None
    variant, page = torch_ref
    if variant:
        torch_variants.append(variant)
    if torch is None or torch.pytorch is None:
        notes.append(f"{url}: no enabled mirror carries PyTorch wheels; left on the official host")
        return None
    wheels = torch.pytorch
    plan.mirrors["pytorch"] = {"mirror": torch.id, "layout": wheels.layout, "base": wheels.base}
    if not variant:
        if wheels.layout == "find-links" and wheels.listing == page:
            new = f"{wheels.base}/{page}"
            notes.append(f"{url} -> {new} (mirror {torch.id})")
            return ["--find-links", new]
        notes.append(
            f"{url}: names no CUDA variant, and mirror {torch.id} lists wheels per "
            "variant; left on the official host (add a variant, e.g. /whl/cu121)"
        )
        return None
    tokens: list[str] = []
    if opt.name in ("--index-url", "--default-index") and pypi and pypi.pypi:
        tokens += ["--default-index" if uv else "--index-url", pypi.pypi.simple]
        plan.mirrors["pypi"] = {"mirror": pypi.id, "url": pypi.pypi.simple}
        notes.append(f"dependencies from the PyPI mirror {pypi.id} ({pypi.pypi.simple})")
    tokens += _torch_source(torch, variant, uv)
    notes.append(
        f"{url} -> {tokens[-1]} (mirror {torch.id}, {wheels.layout} layout, so {tokens[-2]})"
    )
    return tokens


def _rewrite_requirements(
    text: str,
    ctx: Context,
    plan: Plan,
    pypi: Mirror | None,
    torch: Mirror | None,
    uv: bool,
    variants: list[str],
) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        parts = stripped.split(None, 1)
        if parts and parts[0].split("=")[0] in _PIP_VALUED and parts[0].startswith("-"):
            name, eq, inline = parts[0].partition("=")
            value = inline if eq else (parts[1] if len(parts) > 1 else "")
            if name in ("-r", "--requirement"):
                out.append(line)
                continue
            opt = Option(_PIP_VALUED[name], value, 0, 2)
            new = _rewrite_index_option(opt, ctx, plan, pypi, torch, uv, variants)
            if new is not None:
                pairs = [f"{new[k]} {new[k + 1]}" for k in range(0, len(new) - 1, 2)]
                out.append("\n".join(pairs) + "\n")
                continue
        out.append(line)
    return "".join(out)


_TORCH_FAMILY = ("torch", "torchvision", "torchaudio")


def _pip_cuda(
    cmd: Command,
    found: Any,
    ctx: Context,
    plan: Plan,
    replace: dict[int, list[str]],
    torch: Mirror | None,
    uv: bool,
    explicit: dict[int, str],
) -> None:
    """Names across the two worlds, and the torch CUDA variant (checked, or chosen)."""
    tables, host = ctx.tables, ctx.host
    requirements = {i: tok for i, tok in found.positionals}
    torch_at = None
    for i, token in requirements.items():
        name = _spec_name(token)
        if name == "pytorch":
            replace[i] = ["torch" + token[len("pytorch") :]]
            plan.notes.append(
                "pytorch -> torch (the PyPI name; 'pytorch' on PyPI is a placeholder that fails)"
            )
            name = "torch"
        if name == "tensorflow-gpu":
            _tensorflow_gpu(i, token, ctx, plan, replace)
        if name == "tensorflow" or name == "tensorflow-gpu":
            _tensorflow_cuda(i, ctx, plan, replace, requirements)
        if name == "torch":
            torch_at = i
    if torch_at is None or tables is None or host is None:
        return
    for variant in explicit.values():
        cuda = variant_cuda(variant)
        if (
            cuda
            and host.has_driver
            and not supports(tables, host, cuda, ctx.driver_os)
            and ctx.cuda_mode != "auto"
        ):
            floor = driver_floor(tables, cuda, ctx.driver_os)
            raise CudaMismatch(
                f"the {variant} wheels need NVIDIA driver >= {floor}"
                f", but this machine has {host.describe()}",
                "Upgrade the driver, or rerun with --cuda auto to pick a build this driver runs.",
            )
    if ctx.cuda_mode == "keep":
        return
    token = (replace.get(torch_at) or [requirements[torch_at]])[0]
    spec = token[len(_spec_name(token)) :].strip() or None
    exclude: dict[str, str] = {}
    for _ in range(8):  # each round rules out one variant the mirror lacks
        choice = choose_torch(
            tables,
            host,
            spec=_pip_spec(spec),
            os=ctx.driver_os,
            python=ctx.python,
            want=ctx.cuda_mode,
            exclude=exclude,
        )
        if choice.variant == "cpu" and ctx.cuda_mode == "auto" and exclude:
            break
        mirror = torch.id if torch is not None and torch.pytorch is not None else None
        missing = (
            ctx.wheel_check(mirror, choice.variant, choice.release)
            if ctx.wheel_check and mirror
            else None
        )
        if missing is None or ctx.cuda_mode not in ("auto",) or choice.variant == "cpu":
            if missing:
                plan.notes.append(f"CUDA: {missing}")
            break
        exclude[choice.variant] = missing
    _apply_torch_choice(choice, requirements, ctx, plan, replace, torch, uv, explicit)


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
    host = ctx.host
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
    versions = {
        "torch": f"{choice.release}+{choice.variant}",
        "torchvision": f"{choice.torchvision}+{choice.variant}" if choice.torchvision else None,
    }
    for i, token in requirements.items():
        current = (replace.get(i) or [token])[0]
        name = _spec_name(current)
        if versions.get(name):
            marker = current.split(";", 1)[1] if ";" in current else None
            extras = re.match(r"^[A-Za-z0-9_.\-]+(\[[^\]]*\])?", current).group(1) or ""
            new = f"{name}{extras}=={versions[name]}" + (f"; {marker.strip()}" if marker else "")
            if new != current:
                replace[i] = [new]
                plan.notes.append(f"{current} -> {new}")
    if explicit:
        for index, old in explicit.items():
            if old == choice.variant:
                continue
            replace[index] = [
                re.sub(rf"/{re.escape(old)}(?=/|$)", f"/{choice.variant}", t)
                for t in replace[index]
            ]
            plan.notes.append(
                f"{old} index replaced by {choice.variant} ({ctx.cuda_mode} CUDA choice)"
            )
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
    tokens = _torch_source(torch, choice.variant, uv)
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


def _tensorflow_cuda(
    i: int, ctx: Context, plan: Plan, replace: dict[int, list[str]], requirements: dict[int, str]
) -> None:
    """TensorFlow's tested CUDA against the driver: a note, an error for an unrunnable pin, or
    (--cuda auto) a pin to the newest release this driver runs."""
    from mirrorinstall.cuda import choose_tensorflow

    tables, host = ctx.tables, ctx.host
    if tables is None or host is None or not host.has_driver or ctx.cuda_mode == "cpu":
        return
    current = (replace.get(i) or [requirements[i]])[0]
    extras = re.match(r"^[A-Za-z0-9_.\-]+(\[[^\]]*\])?", current).group(1) or ""
    spec = current.split(";")[0][len(_spec_name(current)) + len(extras) :].strip() or None
    choice = choose_tensorflow(tables, host, spec=spec, os=ctx.driver_os, python=ctx.python)
    if choice is None:
        return
    plan.cuda = {
        **(plan.cuda or {}),
        "tensorflow": {
            "version": choice.version,
            "cuda": choice.cuda,
            "cudnn": choice.cudnn,
            "runnable": choice.runnable,
            "reason": choice.reason,
            "driver": host.driver,
            "how": host.how,
        },
    }
    plan.notes.append(f"CUDA: {choice.reason}")
    pinned = spec is not None and spec.startswith("==")
    name = _spec_name(current)
    if pinned and not choice.runnable:
        best = choose_tensorflow(tables, host, os=ctx.driver_os, python=ctx.python)
        if ctx.cuda_mode != "auto" or best is None or not best.runnable:
            raise CudaMismatch(
                f"{current} was built for CUDA {choice.cuda}, which {host.describe()} cannot "
                "run: its GPU would fail with 'CUDA driver version is insufficient for CUDA "
                "runtime version'",
                "Upgrade the driver, or use --cuda auto for the newest TensorFlow it runs.",
            )
        choice = best
    elif not choice.runnable or ctx.cuda_mode != "auto" or pinned:
        return
    if ctx.cuda_mode == "auto":
        new = f"{name}{extras}=={choice.version}"
        if new != current:
            replace[i] = [new]
            plan.notes.append(f"{current} -> {new} (--cuda auto: {choice.reason})")


def _tensorflow_gpu(
    i: int, token: str, ctx: Context, plan: Plan, replace: dict[int, list[str]]
) -> None:
    """tensorflow-gpu has been an empty, failing package on PyPI since Dec 2022."""
    windows_last = ctx.tables.tf_windows_last_gpu if ctx.tables else "2.10"
    if ctx.os == "windows":
        upper = f"{windows_last.split('.')[0]}.{int(windows_last.split('.')[1]) + 1}"
        replace[i] = [f"tensorflow<{upper}"]
        plan.notes.append(
            f"tensorflow-gpu -> tensorflow<{upper}: {windows_last} is the last TensorFlow with GPU "
            "support on native Windows; it also needs conda install -c conda-forge "
            "cudatoolkit=11.2 cudnn=8.1 (or use WSL2 for newer releases)"
        )
    else:
        replace[i] = ["tensorflow[and-cuda]"]
        plan.notes.append(
            "tensorflow-gpu -> tensorflow[and-cuda]: tensorflow-gpu is an empty "
            "package that fails since Dec 2022; the and-cuda extra brings the CUDA "
            "libraries as wheels"
        )


def rewrite(cmd: Command, ctx: Context) -> Plan:
    return rewrite_conda(cmd, ctx) if cmd.family == "conda" else rewrite_pip(cmd, ctx)


__all__ = ["Context", "CudaMismatch", "Plan", "choose_channel", "cuda_variant", "rewrite"]
