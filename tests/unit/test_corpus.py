"""The corpus of real install commands (tests/data/real_commands/corpus.toml, issue 19): 267
commands and files copied verbatim from public READMEs, Dockerfiles, CI workflows,
environment files and tutorials, each with its source. This first check holds the floor every
later one builds on: each command minstall recognises goes through ``rewrite`` on two hosts (an
RTX 3090 on driver 550, and a machine with no driver), with ``--cuda keep`` and ``auto``, and
ends in a plan or in an error meant for a person (message and hint), never a crash. Which
refusals are fair, and the hand-written expected outcomes, are the issue's next part."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from test_rewrite import ctx

from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.errors import MinstallError
from mirrorinstall.cuda.choose import CudaMismatch, Gpu, HostCuda
from mirrorinstall.rewrite import rewrite

CORPUS = Path(__file__).resolve().parents[1] / "data" / "real_commands" / "corpus.toml"
ITEMS = tomllib.loads(CORPUS.read_text(encoding="utf-8"))["item"]
HOSTS = {
    "rtx3090-driver550": HostCuda(
        driver="550.54.14", gpus=(Gpu("NVIDIA GeForce RTX 3090", "8.6"),), how="test"
    ),
    "no-driver": HostCuda(how="no NVIDIA driver"),
}


def _commands(text: str) -> list[list[str]]:
    """The install commands in a README or Dockerfile line: prompts and RUN dropped,
    continuation lines joined, each ``&&``/``;`` part on its own."""
    out: list[list[str]] = []
    for line in text.replace("\\\n", " ").splitlines():
        line = re.sub(r"^\s*(RUN\s+|\$\s+|!|%)", "", line).strip()
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue  # an unbalanced quote in the source: nothing a shell would run either
        part: list[str] = []
        for word in [*words, "&&"]:
            if word in ("&&", ";", "||", "|"):
                if part:
                    out.append(part[1:] if part[0] == "sudo" else part)
                part = []
            else:
                part.append(word)
    return out


def test_the_corpus_is_large_sourced_and_unique() -> None:
    assert len(ITEMS) >= 200
    assert len({i["id"] for i in ITEMS}) == len(ITEMS)
    assert all(i["source"].startswith("https://") and i["text"].strip() for i in ITEMS)


@pytest.mark.parametrize(
    "item", [i for i in ITEMS if i["kind"] == "command"], ids=lambda i: i["id"]
)
def test_every_real_command_is_planned_or_refused_in_words_never_a_crash(item) -> None:
    for argv in _commands(item["text"]):
        try:
            cmd = parse_command(argv)
        except MinstallError:
            continue  # not an install command minstall rewrites (git clone, python setup.py)
        for host in HOSTS.values():
            for mode in ("keep", "auto"):
                try:
                    rewrite(cmd, ctx(host=host, cuda_mode=mode))
                except (CudaMismatch, MinstallError) as exc:
                    assert exc.message and exc.hint, (argv, mode)


@pytest.mark.parametrize(
    "pin",
    ["torch==1.8.2", "torch==1.10.2", "torch==2.3.1.post0"],  # LTS, a patch, a post release
)
@pytest.mark.parametrize("host", sorted(HOSTS))
def test_a_release_the_table_lacks_is_kept_with_a_note_not_refused(pin, host) -> None:
    """Real releases missing from minstall's table (torch 1.8.2 is PyTorch's LTS, on its own
    index, https://download.pytorch.org/whl/lts/1.8/torch_lts.html) were refused with "no
    PyTorch release matches"; nothing says they cannot run, so the pin stays, unchecked."""
    plan = rewrite(parse_command(["pip", "install", pin]), ctx(host=HOSTS[host], cuda_mode="auto"))
    assert pin in plan.argv
    assert any("not in minstall's table" in n and "kept as written" in n for n in plan.notes)
