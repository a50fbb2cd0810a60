"""The best mirrors as environment variables, for one shell or one CI job (``minstall env``).
Pure.

Each variable is one the tool itself documents:
- pip: ``PIP_INDEX_URL`` (any option as ``PIP_<OPTION>``,
  https://pip.pypa.io/en/stable/topics/configuration/#environment-variables);
- uv: ``UV_DEFAULT_INDEX`` (https://docs.astral.sh/uv/reference/environment/#uv_default_index);
- conda: ``CONDA_DEFAULT_CHANNELS`` (comma-separated) and ``CONDA_CHANNEL_ALIAS`` (any
  setting as ``CONDA_<KEY>``,
  https://docs.conda.io/projects/conda/en/latest/user-guide/configuration/use-condarc.html#expand-environment-variables),
  the alias only when one mirror serves conda-forge as ``<alias>/conda-forge``.
The official hosts are never written: a variable pointing there changes nothing.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from mirrorinstall.core.shellquote import POSIX, detect_shell, ps_single_quoted
from mirrorinstall.rewrite.common import Context, choose_channel, mirrored_defaults, pypi_mirror

SHELLS = ("bash", "zsh", "fish", "powershell", "cmd", "github")


@dataclass(frozen=True)
class Variable:
    name: str
    value: str
    why: str  # the mirror and its rank, for the comment beside it


def variables(ctx: Context) -> list[Variable]:
    """The variables that send pip, uv and conda to the best-ranked mirrors."""
    out: list[Variable] = []
    pypi = pypi_mirror(ctx)
    if pypi is not None and pypi.pypi is not None and not pypi.upstream:
        why = f"PyPI: mirror {pypi.id}"
        out.append(Variable("PIP_INDEX_URL", pypi.pypi.simple, why))
        out.append(Variable("UV_DEFAULT_INDEX", pypi.pypi.simple, why))
    defaults = mirrored_defaults(ctx)
    if defaults:
        ids = ", ".join(dict.fromkeys(m.id for _, m, _ in defaults))
        urls = ",".join(url for _, _, url in defaults)
        out.append(Variable("CONDA_DEFAULT_CHANNELS", urls, f"conda defaults: mirror {ids}"))
    mirror, url = choose_channel(ctx, "conda-forge")
    served = url.rstrip("/") if url is not None else ""
    if mirror is not None and not mirror.upstream and served.endswith("/conda-forge"):
        # every channel named without a URL goes to <alias>/<name>: conda-forge, pytorch...;
        # one this mirror does not carry fails there (minstall conda ... routes each one)
        why = f"conda channels by name (conda-forge, ...): mirror {mirror.id}"
        out.append(Variable("CONDA_CHANNEL_ALIAS", served[: -len("/conda-forge")], why))
    return out


class Unwritable(ValueError):
    """A value this shell's grammar cannot carry safely (said, never written)."""


def render(variables: list[Variable], shell: str) -> str:
    """The lines that set ``variables`` in ``shell`` (``github``: for ``$GITHUB_ENV``), each
    value quoted by that shell's own rules. A value holding a character no quoting makes safe
    there (a control character or line break anywhere; cmd: a double quote) raises
    Unwritable: nothing is written rather than a line that runs something else."""
    lines = []
    for v in variables:
        bad = next((c for c in v.value if not c.isprintable()), None)
        if bad is not None:
            raise Unwritable(
                f"{v.name}'s value holds the control character U+{ord(bad):04X}, which would "
                "end the line it is written on"
            )
        why = "".join(c for c in v.why if c.isprintable())
        if shell in ("bash", "zsh"):
            lines += [f"# {why}", f"export {v.name}={shlex.quote(v.value)}"]
        elif shell == "fish":
            # fish: inside single quotes only \\ and \' are escapes
            quoted = "'" + v.value.replace("\\", "\\\\").replace("'", "\\'") + "'"
            lines += [f"# {why}", f"set -gx {v.name} {quoted}"]
        elif shell == "powershell":
            lines += [f"# {why}", f"$env:{v.name} = {ps_single_quoted(v.value)}"]
        elif shell == "cmd":
            if '"' in v.value:
                raise Unwritable(f"{v.name}'s value holds a double quote, which ends cmd's quoting")
            # in a batch file (where this output is meant to run) %% is one literal %; a
            # single % would expand %NAME% from the environment when the file runs
            lines += [f"rem {why}", f'set "{v.name}={v.value.replace("%", "%%")}"']
        elif shell == "github":
            lines.append(f"{v.name}={v.value}")
        else:
            raise ValueError(f"unknown shell {shell!r} (known: {', '.join(SHELLS)})")
    return "\n".join(lines) + ("\n" if lines else "")


def default_shell(environ: Mapping[str, str], windows: bool) -> str:
    """The shell to write for when none is named: on Windows the one minstall runs in (cmd
    in Anaconda Prompt, PowerShell, bash in Git Bash: core/shellquote.py), else $SHELL's,
    else bash."""
    grammar = detect_shell(environ, windows)
    if grammar != POSIX:
        return grammar
    name = environ.get("SHELL", "").replace("\\", "/").rsplit("/", 1)[-1]
    return name if name in ("bash", "zsh", "fish") else "bash"
