"""Rewriting conda/mamba/micromamba commands (channels, spec files, environment.yml, CUDA
pins). Pure. See ``rewrite`` for the inputs and the plan."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from packaging.version import Version

from mirrorinstall.core.argv import Command, scan
from mirrorinstall.core.catalog import Mirror
from mirrorinstall.core.errors import UsageError
from mirrorinstall.core.urls import split_url
from mirrorinstall.cuda.choose import (
    CudaMismatch,
    choose_conda_cuda,
    driver_floor,
    releases_matching,
    supports,
    why_not_runs,
)
from mirrorinstall.rewrite.common import (
    Context,
    Plan,
    choose_channel,
    mirrored_defaults,
    pypi_mirror,
    ranked,
    spec_name,
    spec_version,
    upstream_channel,
    why_chosen,
)
from mirrorinstall.rewrite.condagpu import build_pinned, gpu_pins
from mirrorinstall.rewrite.envtorch import read_new_env
from mirrorinstall.rewrite.includes import absolute_pip_section, map_pip_section, pip_section_items
from mirrorinstall.rewrite.pip import pip_section_router


def rewrite_conda(cmd: Command, ctx: Context) -> Plan:
    valued = {"-c": "--channel", "--channel": "--channel", "--file": "--file"}
    if cmd.env_file:
        valued["-f"] = "--file"
    found = scan(
        cmd.args,
        valued,
        ("--override-channels",),
        ("-n", "--name", "-p", "--prefix", "--solver", "--repodata-fn", "--clone"),
    )
    plan = Plan(argv=[])
    notes = plan.notes
    clone = next((o for o in cmd.args if o == "--clone" or o.startswith("--clone=")), None)
    if clone is not None:
        notes.append(
            "--clone: conda copies the source environment's packages from its package cache, "
            "and downloads any missing one from the URL that environment recorded for it (a "
            "mirror's, for one minstall installed); minstall does not change those"
        )
    windows = ctx.facts.os == "windows"
    requested: list[str] = []
    for opt in found.options:
        if opt.name == "--channel":
            if "://" in opt.value and split_url(opt.value) is None:
                raise UsageError(
                    f"-c {opt.value!r} is not a URL conda can read (a bracket left open, or a "
                    "port that is not a number)",
                    "Give a channel name (-c pytorch) or a whole URL (-c https://host/channel).",
                )
            requested.append(opt.value)
    specs = [tok for _, tok in found.positionals]
    env_file = None
    file_specs: list[str] = []
    for opt in found.options:
        if opt.name == "--file":
            text = ctx.facts.files.get(opt.value)
            if text is None:
                raise UsageError(f"cannot read {opt.value}", "Check the path of --file.")
            if cmd.env_file:
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
    nodefaults = "nodefaults" in requested
    requested = [c for c in requested if c != "nodefaults"]
    # conda adds the .condarc channels after the command's own, unless told not to; the
    # rewrite lists them too (through the mirrors), in conda's order, so nothing is lost and
    # nothing reaches the official hosts behind the mirror's back
    overridden = "--override-channels" in found.flags or nodefaults
    if not overridden and not ctx.strip_channels:
        implicit = [c for c in ctx.facts.conda_channels if c not in requested]
        if cmd.env_file:
            # conda env create takes no --override-channels and (conda 26) puts the condarc
            # channels first whatever the file says; conda's own settings, through the
            # environment, send them to the mirror instead
            _condarc_channels_through_env(implicit, ctx, plan)
        elif implicit:
            requested += implicit
            notes.append(
                f"conda adds {', '.join(implicit)} by itself ({ctx.facts.conda_channels_from}); "
                "listed explicitly so it goes through the mirror too"
                + (
                    " ('defaults': main, r" + (", msys2" if windows else "") + ")"
                    if "defaults" in implicit
                    else ""
                )
            )
    routed: dict[int, str] = {}
    cuda_args: dict = {}
    if cmd.action != "remove":  # remove names packages to take out: no build to choose
        routed = _route_frozen_pytorch(found.positionals, requested, ctx, plan)
        cuda_args = _conda_cuda(found.positionals, file_specs, requested, ctx, plan)
        _add_nvidia(found.positionals, file_specs, cuda_args, routed, requested, ctx, plan)
    channel_urls: list[str] = []
    url_for: dict[str, str] = {}
    for raw in requested:
        if local_channel(raw):
            url_for[raw] = raw
            channel_urls.append(raw)
            notes.append(f"channel {raw} is a folder on this machine; kept as given")
            continue
        name = raw if "://" not in raw else upstream_channel(raw)
        copy = ctx.facts.catalog.channel_at(raw) if name is None else None
        if copy is not None:
            url_for[raw] = _route_copy(raw, *copy, ctx, plan)
            url_for.setdefault(copy[1], url_for[raw])  # defaults' main needs no second copy
            channel_urls.append(url_for[raw])
            continue
        if name is None:
            url_for[raw] = raw
            channel_urls.append(raw)
            notes.append(f"channel {raw} is not an official channel URL; kept as given")
            continue
        for part in ctx.facts.catalog.expand_channel(name, windows=windows):
            if part in url_for:
                continue
            mirror, url = choose_channel(ctx, part)
            if mirror is None or url is None:
                url = f"https://conda.anaconda.org/{part}"
                notes.append(
                    f"channel {part}: no enabled mirror carries it for {ctx.facts.platform}; "
                    "it stays on the official host"
                )
                plan.mirrors[f"conda:{part}"] = {"mirror": None, "url": url}
            else:
                mirrored = any(
                    m.conda_channel(part) for m in ctx.facts.catalog.enabled() if not m.upstream
                )
                if mirror.upstream and not mirrored:
                    notes.append(
                        f"channel {part}: no enabled mirror carries it; it stays on the "
                        f"official host, {url}"
                    )
                else:
                    why = why_chosen(ctx.facts.ranking, "conda", mirror, part)
                    notes.append(f"channel {part} -> {url} ({why})")
                plan.mirrors[f"conda:{part}"] = {"mirror": mirror.id, "url": url}
            url_for[part] = url
            channel_urls.append(url)
        if name != raw or name == "defaults":
            url_for[raw] = url_for.get(name, raw)
    frozen = ctx.facts.catalog.channels.get("pytorch")
    if (
        not routed
        and frozen
        and frozen.frozen_after
        and "pytorch" in [_channel_name(r, ctx) for r in requested]
    ):
        notes.append(
            f"the pytorch channel publishes nothing after PyTorch {frozen.frozen_after}; "
            "newer releases are on conda-forge"
        )
    spec_files = {
        o.index: o
        for o in found.options
        if o.name == "--file"
        and not cmd.env_file
        and ("::" in ctx.facts.files.get(o.value, "") or _explicit(ctx.facts.files.get(o.value)))
    }
    spec_file_rest = {k for o in spec_files.values() for k in range(o.index + 1, o.index + o.count)}
    out: list[str] = list(cmd.head)
    positional_at = {i for i, _ in found.positionals}
    last_spec: int | None = None
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
            new_path = ctx.facts.copy_path(spec_file.value)
            text = ctx.facts.files[spec_file.value]
            if _explicit(text):
                new_text = explicit_urls(text, ctx, plan)
                what = "package URLs"
            else:
                new_text, what = _rewrite_spec_file(text, url_for), "channel::package specs"
            if new_text != text:
                plan.writes[new_path] = new_text
                out += spec_file.same_form(new_path)
                notes.append(f"{spec_file.value}: {what} rewritten in a copy, {new_path}")
            else:
                out += list(cmd.args[spec_file.index : spec_file.index + spec_file.count])
            continue
        if spec_file is None and i in spec_file_rest:
            continue
        if env_file is not None and env_file.index <= i < env_file.index + env_file.count:
            if i == env_file.index + env_file.count - 1:
                new_path = ctx.facts.copy_path(env_file.value)
                text = ctx.facts.files[env_file.value]
                defaults = [
                    url_for[part]
                    for part in ctx.facts.catalog.expand_channel("defaults", windows=windows)
                    if part in url_for
                ]
                new_text = _rewrite_env_yaml(text, url_for, defaults)
                # conda runs pip on the pip: list as a requirements file: routed as one
                items = pip_section_items(new_text)
                env = read_new_env(
                    _yaml_list(text, "dependencies"),
                    [_channel_name(c, ctx) for c in _yaml_list(text, "channels")],
                )
                new_text = map_pip_section(new_text, pip_section_router(items, ctx, plan, env))
                base = ctx.facts.file_dirs.get(env_file.value)
                if base is not None:  # its pip: list works from the copy's folder too
                    new_text = absolute_pip_section(new_text, base)
                plan.writes[new_path] = new_text
                out.append(
                    token.replace(env_file.value, new_path) if env_file.count == 1 else new_path
                )
                notes.append(f"{env_file.value}: channels rewritten in a copy, {new_path}")
                _env_pip_section(text, ctx, plan)
            else:
                out.append(token)
            continue
        new = routed.get(i, cuda_args.get(i, token))
        if new == "":
            continue  # a spec the plan drops (cpuonly beside an added CUDA pin)
        if i in positional_at and "::" in new:
            new = _mirrored_spec(new, new, url_for)
        out.append(new)
        if i in positional_at:
            last_spec = len(out)
    if not inserted and not cmd.env_file:
        out += channel_tokens
    if ctx.strip_channels:
        notes.append(
            "--strip-channels: channel options dropped; conda uses your .condarc "
            "(point it at a mirror: minstall bench shows the best)"
        )
    elif "--override-channels" not in found.flags and not cmd.env_file:
        out.append("--override-channels")
        notes.append(
            "--override-channels added so a .condarc cannot add the slow official channels back"
        )
    # added specs go right after the user's own: conda's argparse takes one run of
    # positionals, so a spec after the options is "unrecognized arguments"
    added = list(cuda_args.get(-1, []))
    at = last_spec if last_spec is not None else len(out)
    out[at:at] = added
    plan.argv = out
    return plan


def _route_frozen_pytorch(
    positionals: list[tuple[int, str]], requested: list[str], ctx: Context, plan: Plan
) -> dict[int, str]:
    """A pytorch the frozen pytorch channel cannot give goes to conda-forge instead.

    Changes ``requested`` in place (pytorch -> conda-forge) and returns token replacements
    (``pytorch-cuda=X`` -> ``cuda-version=X``, conda-forge's way to pick the CUDA version).
    """
    facts = ctx.facts.catalog.channels.get("pytorch")
    names = [_channel_name(r, ctx) for r in requested]
    if facts is None or not facts.frozen_after or "pytorch" not in names:
        return {}
    frozen = Version(facts.frozen_after)
    wants_newer = False
    for _, token in positionals:
        if spec_name(token) == "pytorch":
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
        if spec_name(token) == "pytorch-cuda":
            version = spec_version(token) or ""
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
    tables, host = ctx.facts.tables, ctx.facts.host
    if tables is None or host is None:
        return out
    names = {spec_name(s): s for s in file_specs + [t for _, t in positionals]}
    wants_torch = "pytorch" in names
    pins = {
        n: spec_version(names[n])
        for n in ("cudatoolkit", "pytorch-cuda", "cuda-version")
        if n in names
    }
    channels = {_channel_name(r, ctx) for r in requested}
    for name, version in pins.items():
        if not version or not re.match(r"^\d+(\.\d+)?", version):
            continue
        cuda = re.match(r"^\d+(\.\d+)?", version).group(0)
        cuda = cuda if "." in cuda else cuda + ".0"
        if not host.has_driver:
            floor = driver_floor(tables, cuda, ctx.facts.driver_os)
            reason = (
                f"{name}={version} will not run here: {host.describe()} (it needs driver "
                f">= {floor}); conda installs it, but PyTorch will see no GPU"
            )
            plan.notes.append(f"CUDA: {reason}")
            plan.cuda = {
                "framework": "torch",
                "checked": f"{name}={version}",
                "reason": reason,
                "driver": None,
                "how": host.how,
                "detection_error": host.error,
            }
        # the same rule as the pip path and doctor (cuda/choose.py why_not_runs): the driver,
        # and kernels for every GPU in the PyTorch build this pin selects
        torch_release = _exact(spec_version(names["pytorch"])) if wants_torch else None
        no_kernels = (
            why_not_runs(tables, host, cuda, ctx.facts.driver_os, release=torch_release)
            if wants_torch and host.has_driver and supports(tables, host, cuda, ctx.facts.driver_os)
            else None
        )
        if no_kernels:
            if ctx.cuda_mode == "auto":
                _replace_conda_pin(name, cuda, positionals, names, ctx, plan, out, no_kernels)
                continue
            reason = (
                f"warning: {name}={version} will not run here: {no_kernels}; conda installs "
                "it as asked (--cuda keep), and torch will fail with 'no kernel image is "
                "available for execution on the device' (--cuda auto picks a build that runs)"
            )
            _checked(plan, f"{name}={version}", reason, host)
            continue
        if host.has_driver and supports(tables, host, cuda, ctx.facts.driver_os):
            floor = driver_floor(tables, cuda, ctx.facts.driver_os)
            reason = f"{name}={version} needs driver >= {floor}; {host.describe()} runs it"
            _checked(plan, f"{name}={version}", reason, host)
        if host.has_driver and not supports(tables, host, cuda, ctx.facts.driver_os):
            if ctx.cuda_mode != "auto":
                floor = driver_floor(tables, cuda, ctx.facts.driver_os)
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
        spec = spec_version(names["pytorch"])
        candidates = [(v, r) for v, r in releases_matching(tables, spec) if r.conda]
        for release, row in candidates:
            chosen, skipped = choose_conda_cuda(tables, host, row, release, ctx.facts.driver_os)
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
        else:
            if host.has_driver and ctx.facts.os != "macos":
                _nothing_on_the_pytorch_channel(spec, candidates, ctx, plan)
    _pytorch_channel_build(positionals, names, pins, channels, ctx, plan, out)
    gpu_pins(positionals, set(pins), channels, ctx, plan, out)
    return out


def _checked(plan: Plan, pin: str, reason: str, host: Any) -> None:
    """A CUDA pin checked against this machine: the note, and the plan's record of it."""
    plan.notes.append(f"CUDA: {reason}")
    plan.cuda = {
        "framework": "torch",
        "checked": pin,
        "reason": reason,
        "driver": host.driver,
        "driver_cuda": host.cuda,
        "how": host.how,
    }


def _pytorch_channel_build(
    positionals: list[tuple[int, str]],
    names: dict[str, str],
    pins: dict[str, str | None],
    channels: set[str],
    ctx: Context,
    plan: Plan,
    out: dict,
) -> None:
    """PyTorch from the pytorch channel with a CUDA pin (the user's, or the one --cuda auto
    added): its CPU and CUDA builds differ only in the build string and a pytorch-mutex
    dependency, so a solver that finds the newest version only as a CPU build takes it beside
    pytorch-cuda. The build is pinned to a CUDA one (its strings read py3.11_cuda12.1_...), so
    the solver takes one or says why not. ``cpuonly`` beside an added CUDA pin is dropped: it
    would force the CPU build."""
    added = [t for t in out.get(-1, []) if spec_name(t) in ("pytorch-cuda", "cudatoolkit")]
    cuda_pinned = [n for n in ("pytorch-cuda", "cudatoolkit") if n in pins] or added
    host = ctx.facts.host
    if "pytorch" not in channels or not cuda_pinned or ctx.cuda_mode == "cpu":
        return
    if host is None or not host.has_driver or ctx.facts.os == "macos":
        return  # no GPU here (or macOS, where the channel has no CUDA builds): as written
    for i, token in positionals:
        name = spec_name(token)
        current = out.get(i, token)
        if name == "cpuonly":
            if added:
                out[i] = ""
                plan.notes.append(
                    f"cpuonly removed: --cuda auto chose {added[0]} for this GPU, and cpuonly "
                    "would force the CPU build (with both, conda takes the CPU build or fails)"
                )
            else:
                plan.notes.append(
                    f"CUDA: warning: cpuonly and {cuda_pinned[0]} ask for opposite builds; "
                    "conda takes the CPU build or fails (drop one, or use --cuda auto)"
                )
        elif re.fullmatch(r"cuda\d{2,3}", name) and added:
            # pytorch <= 1.0 chose its CUDA build through feature packages (cuda92, cuda100)
            out[i] = ""
            plan.notes.append(
                f"{name} removed: the pytorch channel's CUDA feature package of torch <= 1.0; "
                f"--cuda auto chose {added[0]}, which selects the build now"
            )
        elif name == "pytorch" and _channel_of(current) in (None, "pytorch"):
            new = build_pinned(current, "*cuda*")
            if new != current:
                out[i] = new
                plan.notes.append(
                    f"{current} -> {new}: the pytorch channel's CPU build would otherwise satisfy "
                    f"{cuda_pinned[0]} too (its builds differ only in the build string), so the "
                    "solver is held to a CUDA build"
                )


def _nothing_on_the_pytorch_channel(
    spec: str | None, candidates: list, ctx: Context, plan: Plan
) -> None:
    """--cuda auto, a GPU, and no pytorch-channel release in range whose CUDA it runs: never
    the channel's CPU build in silence (an error for a pinned release, a note otherwise)."""
    tables, host = ctx.facts.tables, ctx.facts.host
    assert tables is not None and host is not None
    newest = None
    for release, row in releases_matching(tables, None):
        if row.conda and choose_conda_cuda(tables, host, row, release, ctx.facts.driver_os)[0]:
            newest = release
            break
    asked = f"pytorch={spec}" if spec else "pytorch"
    if spec is not None and not candidates:
        # pytorch 0.4.1, 1.0.0: real releases older than minstall's table; nothing says which
        # of their builds runs here, so the user's command stays, unchecked
        plan.notes.append(
            f"CUDA: {asked} is not in minstall's table of PyTorch releases, so --cuda auto "
            "cannot check which of its builds runs here; kept as written"
        )
        return
    if spec is None:
        plan.notes.append(
            f"CUDA: no CUDA build on the pytorch channel runs on {host.describe()}: conda "
            "will install a CPU build (upgrade the NVIDIA driver for a GPU build)"
        )
        return
    raise CudaMismatch(
        f"no CUDA build of {asked} on the pytorch channel runs on {host.describe()}"
        + ("" if candidates else " (the channel has no such release)"),
        (f"Use pytorch={newest}, the newest there this driver runs; or " if newest else "Use ")
        + "upgrade the NVIDIA driver; or -c conda-forge; or --cuda cpu for the CPU build on "
        "purpose.",
        instead=("pytorch", f"pytorch={newest}") if newest else None,
    )


def _replace_conda_pin(
    name: str,
    cuda: str,
    positionals: list[tuple[int, str]],
    names: dict[str, str],
    ctx: Context,
    plan: Plan,
    out: dict,
    why: str | None = None,
) -> None:
    """--cuda auto: swap an unrunnable cudatoolkit/pytorch-cuda pin for one that runs."""
    tables, host = ctx.facts.tables, ctx.facts.host
    assert tables is not None and host is not None
    kind = "cudatoolkit" if name == "cudatoolkit" else "pytorch-cuda"
    torch_spec = spec_version(names["pytorch"]) if "pytorch" in names else None
    for release, row in releases_matching(tables, torch_spec):
        if row.conda != kind:
            continue
        chosen, _ = choose_conda_cuda(tables, host, row, release, ctx.facts.driver_os)
        if not chosen:
            continue
        also = ""
        for i, token in positionals:
            if spec_name(token) == name:
                out[i] = f"{name}={chosen}"
            elif spec_name(token) == "pytorch" and torch_spec is None:
                out[i] = (
                    token.split("::")[0] + "::" + f"pytorch={release}"
                    if "::" in token
                    else f"pytorch={release}"
                )
                also = f" ({token} -> {out[i]}, the release that build is for)"
        why = why or (
            f"CUDA {cuda} needs driver >= {driver_floor(tables, cuda, ctx.facts.driver_os)}"
        )
        plan.notes.append(
            f"{name}={cuda} replaced by {name}={chosen} (--cuda auto){also}: {why}, and this "
            f"machine has {host.describe()}; torch {release} is the newest pytorch-channel "
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
    newest = next(
        (
            (r, c)
            for r, row in releases_matching(tables, None)
            if row.conda == kind
            for c in [choose_conda_cuda(tables, host, row, r, ctx.facts.driver_os)[0]]
            if c
        ),
        None,
    )
    asked = f"pytorch={torch_spec}" if torch_spec else "PyTorch"
    raise CudaMismatch(
        f"no {kind} build of {asked} runs on {host.describe()}: {why or 'the driver is too old'}",
        (
            f"Use pytorch={newest[0]} with {name}={newest[1]}, the newest that runs here; or "
            if newest
            else "Use "
        )
        + "--cuda cpu for the CPU build; or --cuda keep to install it as written anyway.",
        instead=("pytorch", f"pytorch={newest[0]}") if newest else None,
    )


def _channel_of(spec: str) -> str | None:
    """``pytorch`` for ``pytorch::pytorch`` or its URL form, None for a spec without one."""
    prefix = spec.rpartition("::")[0]
    return (upstream_channel(prefix) or prefix) if prefix else None


def _exact(version: str | None) -> str | None:
    """``1.9.0`` from a conda version spec that names one release (``1.9.0``, ``1.9.0.*``)."""
    if version and re.fullmatch(r"\d+(\.\d+)*(\.\*)?", version):
        return version.removesuffix(".*")
    return None


def local_channel(channel: str) -> bool:
    """A channel that names a folder, as conda accepts it: ``file://`` URLs, POSIX paths
    (``/opt/chan``, ``./chan``, ``~/chan``) and Windows ones (``C:\\chan``, ``D:/chan``,
    ``\\\\server\\share``), which must not become ``conda.anaconda.org/<path>``."""
    return bool(_LOCAL_CHANNEL.match(channel))


_LOCAL_CHANNEL = re.compile(r"file:|[/\\~.]|[A-Za-z]:[/\\]")


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


def explicit_urls(text: str, ctx: Context, plan: Plan) -> str:
    """An ``@EXPLICIT`` spec file (``conda list --explicit``: one package URL per line, conda
    downloads each as it is) with every official URL whose channel a ranked mirror carries for
    that subdir pointing at the same file there (mirrors keep channel/subdir/file paths; an
    ``#md5``/``#sha256`` fragment is kept, and conda checks it); the rest named in a note."""
    out: list[str] = []
    moved: dict[tuple[str, str], int] = {}
    kept: dict[str, list[str]] = {}
    for line in text.splitlines(keepends=True):
        url = line.strip()
        found = _official_package(url, ctx)
        if found is None:
            out.append(line)
            continue
        channel, subdir, rest = found
        mirror, base = _channel_for_subdir(ctx, channel, subdir)
        if mirror is None or base is None:
            kept.setdefault(channel, []).append(url.split("#")[0])
            out.append(line)
            continue
        moved[(channel, mirror.id)] = moved.get((channel, mirror.id), 0) + 1
        out.append(line.replace(url, f"{base}/{subdir}/{rest}", 1))
    for (channel, mirror_id), n in moved.items():
        mirror = ctx.facts.catalog.get(mirror_id)
        assert mirror is not None
        why = why_chosen(ctx.facts.ranking, "conda", mirror, channel)
        plan.notes.append(
            f"@EXPLICIT: {n} package URL(s) of channel {channel} -> the same files on mirror "
            f"{mirror_id} ({why})"
        )
    for channel, urls in kept.items():
        plan.notes.append(
            f"@EXPLICIT: channel {channel}: no enabled mirror carries it; its package URLs stay "
            f"on the official host: {' '.join(urls)}"
        )
    return "".join(out)


_EXPLICIT_URL = re.compile(
    r"^https?://(?:conda\.anaconda\.org/(?P<channel>[^/\s]+)|repo\.anaconda\.com/pkgs/"
    r"(?P<pkgs>[^/\s]+))/(?P<subdir>[^/\s]+)/(?P<rest>[^/\s]+)$"
)


def _official_package(url: str, ctx: Context) -> tuple[str, str, str] | None:
    """(channel, subdir, file and fragment) of a package URL on an official host: the
    catalog's official channel URLs (conda.anaconda.org/<channel>, repo.anaconda.com/pkgs/...)."""
    found = _EXPLICIT_URL.match(url)
    if found:
        channel = found.group("channel") or found.group("pkgs")
        return channel, found.group("subdir"), found.group("rest")
    for m in ctx.facts.catalog.enabled():
        if not m.upstream:
            continue
        for channel, entry in m.conda.items():
            prefix = entry.url.rstrip("/") + "/"
            parts = url[len(prefix) :].split("/") if url.startswith(prefix) else []
            if len(parts) == 2 and all(parts):
                return channel, parts[0], parts[1]
    return None


def _channel_name(raw: str, ctx: Context) -> str:
    """The channel a ``-c`` value names: its name, the channel of an official URL or of a
    catalogued mirror's copy (TUNA's ``.../cloud/pytorch/`` is ``pytorch``), else as given."""
    copy = ctx.facts.catalog.channel_at(raw) if "://" in raw else None
    return upstream_channel(raw) or (copy[1] if copy else raw)


def _route_copy(raw: str, written: Mirror, name: str, ctx: Context, plan: Plan) -> str:
    """A mirror's channel URL written in the command (PaddlePaddle's install page gives
    TUNA's ``.../anaconda/cloud/Paddle/``): that channel on the best-ranked mirror carrying it.
    The official host takes the place of the mirror written only when that mirror failed in
    this run; else the URL stays."""
    mirror, url = choose_channel(ctx, name)
    dropped = ctx.facts.ranking.was_dropped("conda", written.id)
    if (
        mirror is None
        or url is None
        or mirror.id == written.id
        or (mirror.upstream and not dropped)
    ):
        why = (
            "it ranks first of the mirrors carrying it"
            if mirror is not None and mirror.id == written.id
            else "no other mirror carrying it ranks"
        )
        plan.notes.append(f"channel {raw} is mirror {written.id}'s copy of {name}; kept ({why})")
        plan.mirrors[f"conda:{name}"] = {"mirror": written.id, "url": raw}
        return raw
    why = why_chosen(ctx.facts.ranking, "conda", mirror, name)
    plan.notes.append(f"channel {raw} (mirror {written.id}'s copy of {name}) -> {url} ({why})")
    plan.mirrors[f"conda:{name}"] = {"mirror": mirror.id, "url": url}
    return url


def _explicit(text: str | None) -> bool:
    """A spec file of package URLs (``@EXPLICIT``, or a part of one)."""
    return bool(text) and (
        "@EXPLICIT" in text or any(_EXPLICIT_URL.match(ln.strip()) for ln in text.splitlines())
    )


def _channel_for_subdir(ctx: Context, channel: str, subdir: str) -> tuple[Any, str | None]:
    """(mirror, channel URL) of the best-ranked non-official mirror carrying ``channel`` for
    ``subdir``; (None, None) when none does."""
    for m in ranked(ctx, "conda"):
        url = m.channel_url(channel)
        entry = m.conda_channel(channel)
        if url is None or m.upstream or entry is None or not entry.carries_subdir(subdir):
            continue
        return m, url
    return None, None


def _rewrite_spec_file(text: str, url_for: Mapping[str, str]) -> str:
    """A conda --file spec list with each ``channel::pkg`` pointing at the channel's mirror."""
    out = []
    for line in text.splitlines(keepends=True):
        spec = line.strip()
        if "::" in spec and not spec.startswith("#"):
            line = _mirrored_spec(line, spec, url_for)
        out.append(line)
    return "".join(out)


def _mirrored_spec(line: str, spec: str, url_for: Mapping[str, str]) -> str:
    """``line`` with the channel of its ``channel::pkg`` spec pointing at that channel's
    mirror (unchanged when the channel is not routed)."""
    chan = spec.split("::", 1)[0]
    name = upstream_channel(chan) or chan
    return line.replace(f"{chan}::", f"{url_for[name]}::", 1) if name in url_for else line


def _rewrite_env_yaml(text: str, url_for: Mapping[str, str], defaults: Sequence[str] = ()) -> str:
    """The same environment.yml with each channel, and each ``channel::pkg`` dependency,
    pointing at the channel's mirror; ``defaults`` becomes one line per channel it stands for
    (``defaults``: their mirror URLs, main and r, msys2 on Windows). Comments and everything
    else are kept."""
    out, section = [], None
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped and not line.startswith((" ", "\t", "-")):
            section = stripped.split("#")[0].strip()
            out.append(line)
            continue
        if section in ("channels:", "dependencies:") and stripped.startswith("- "):
            item = stripped[2:].split(" #")[0].strip().strip("'\"")
            if section == "channels:" and item == "defaults" and defaults:
                # conda would read defaults from the official hosts; the note says mirror
                first = line.replace(item, defaults[0], 1)
                ending = line[len(line.rstrip("\r\n")) :]
                bare = line.split(" #")[0].rstrip()  # the comment stays once
                out += [first, *(bare.replace(item, url, 1) + ending for url in defaults[1:])]
                continue
            if section == "channels:":
                key = upstream_channel(item) or item
                if key in url_for:
                    line = line.replace(item, url_for[key], 1)
            elif "::" in item:
                line = _mirrored_spec(line, item, url_for)
        out.append(line)
    return "".join(out)


def _condarc_channels_through_env(implicit: list[str], ctx: Context, plan: Plan) -> None:
    """``defaults`` through CONDA_DEFAULT_CHANNELS, named channels through CONDA_CHANNEL_ALIAS
    (when one mirror serves them all as <alias>/<name>); what cannot be sent is said."""
    if not implicit:
        return
    environ = ctx.facts.environ
    named: list[str] = []
    for channel in implicit:
        if "://" in channel:
            continue  # a URL in the condarc is used as it is
        if channel != "defaults":
            named.append(channel)
            continue
        defaults = mirrored_defaults(ctx)
        for part, mirror, url in defaults:
            plan.mirrors[f"conda:{part}"] = {"mirror": mirror.id, "url": url}
        urls = [url for _, _, url in defaults]
        if urls and "CONDA_DEFAULT_CHANNELS" not in environ:
            plan.env["CONDA_DEFAULT_CHANNELS"] = ",".join(urls)
            plan.notes.append(
                "conda adds defaults by itself (.condarc); CONDA_DEFAULT_CHANNELS sends it "
                "to " + ", ".join(urls)
            )
    aliases = set()
    for channel in named:
        mirror, url = choose_channel(ctx, channel)
        if mirror is None or url is None or mirror.upstream or not url.endswith("/" + channel):
            aliases.add(None)
            continue
        aliases.add(url[: -len(channel) - 1])
        plan.mirrors[f"conda:{channel}"] = {"mirror": mirror.id, "url": url}
    if named and len(aliases) == 1 and None not in aliases and "CONDA_CHANNEL_ALIAS" not in environ:
        alias = aliases.pop()
        plan.env["CONDA_CHANNEL_ALIAS"] = str(alias)
        plan.notes.append(
            f"conda adds {', '.join(named)} by itself (.condarc); CONDA_CHANNEL_ALIAS={alias} "
            "sends it to the mirror"
        )
    elif named:
        plan.notes.append(
            f"conda adds {', '.join(named)} by itself (.condarc) and conda env create cannot "
            "be told otherwise; no one mirror serves them all under one prefix, so they stay "
            "where your .condarc points"
        )


def _env_pip_section(text: str, ctx: Context, plan: Plan) -> None:
    """conda env create runs pip for a ``- pip:`` list: point that pip at the PyPI mirror."""
    if not re.search(r"^\s*-\s*pip\s*:", text, re.M) or ctx.facts.environ.get("PIP_INDEX_URL"):
        return
    mirror = pypi_mirror(ctx)
    if mirror is None or mirror.pypi is None or mirror.upstream:
        return
    plan.env["PIP_INDEX_URL"] = mirror.pypi.simple
    plan.mirrors["pypi"] = {"mirror": mirror.id, "url": mirror.pypi.simple}
    plan.notes.append(
        f"the environment's pip: section installs through PIP_INDEX_URL={mirror.pypi.simple} "
        f"({why_chosen(ctx.facts.ranking, 'pypi', mirror)})"
    )


def _add_nvidia(
    positionals: list[tuple[int, str]],
    file_specs: list[str],
    cuda_args: dict,
    routed: dict[int, str],
    requested: list[str],
    ctx: Context,
    plan: Plan,
) -> None:
    """The pytorch channel's pytorch-cuda depends on the nvidia channel's CUDA packages
    (cuda-runtime, cuda-libraries, ...): a command that asks for it without -c nvidia cannot
    be solved once the channels are listed explicitly, so nvidia is added."""
    names = {_channel_name(r, ctx) for r in requested}
    if "pytorch" not in names or "nvidia" in names:
        return
    tokens = [routed.get(i, cuda_args.get(i, t)) for i, t in positionals]
    tokens += list(cuda_args.get(-1, [])) + file_specs
    if not any(spec_name(t) == "pytorch-cuda" for t in tokens if isinstance(t, str)):
        return
    at = next(i for i, r in enumerate(requested) if _channel_name(r, ctx) == "pytorch")
    requested.insert(at + 1, "nvidia")
    plan.notes.append(
        "added the nvidia channel after pytorch: pytorch-cuda depends on its CUDA packages "
        "(PyTorch's own instructions use -c pytorch -c nvidia)"
    )
