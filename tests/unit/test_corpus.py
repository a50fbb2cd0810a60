"""The corpus of real install commands (tests/data/real_commands/corpus.toml, issue 19): commands
and files copied verbatim from public READMEs, Dockerfiles, CI workflows, environment files and
tutorials, each with its source. Every item goes through ``rewrite`` on two hosts (an RTX 3090
on driver 550, and a machine with no driver), with ``--cuda keep`` and ``auto``; the test fails
on:

- a crash (anything but an error meant for a person: message and hint);
- a refusal that is not fair: only a file the command names and this test cannot have, a
  value a shell or CI fills in (``${{ matrix.torch }}``), or a CUDA build the driver or the GPU
  cannot run (never on the machine without a driver, where every request goes through);
- an official host left in the command or a rewritten file without a note naming it;
- a note that says ``X -> mirror`` while X is still there;
- a change to what gets installed that no note explains (a token added or dropped);
- a CUDA choice that the one rule (cuda/choose.py ``why_not_runs``) says cannot run.

Hand-written expected outcomes for single items are in tests/data/real_commands/expected.toml
(test_corpus_expected.py)."""

from __future__ import annotations

import copy
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
from mirrorinstall.core.errors import MinstallError, UsageError
from mirrorinstall.cuda.choose import CudaMismatch, Gpu, HostCuda, variant_cuda, why_not_runs
from mirrorinstall.cuda.packaged import load_tables
from mirrorinstall.rewrite import rewrite

CORPUS = Path(__file__).resolve().parents[1] / "data" / "real_commands" / "corpus.toml"
ITEMS = tomllib.loads(CORPUS.read_text(encoding="utf-8"))["item"]
TABLES = load_tables()
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


FILE_COMMANDS = {
    # how each kind of file is used, as its source's README uses it
    "requirements": (["pip", "install", "-r", "requirements.txt"], "requirements.txt"),
    "environment.yml": (["conda", "env", "create", "-f", "environment.yml"], "environment.yml"),
    "conda-spec": (["conda", "create", "-n", "x", "--file", "spec.txt"], "spec.txt"),
}
OFFICIAL = re.compile(
    r"https?://(?:download(?:-r2)?\.pytorch\.org|pypi\.org|pypi\.python\.org|"
    r"files\.pythonhosted\.org|conda\.anaconda\.org|repo\.anaconda\.com)[^\s'\":]*"
)


def cases(item: dict) -> list[tuple[list[str], dict[str, str], dict[str, str]]]:
    """(argv, files, environment) for each install command an item holds; a shell's leading
    ``VAR=value`` words are the command's environment."""
    if item["kind"] in FILE_COMMANDS:
        argv, name = FILE_COMMANDS[item["kind"]]
        return [(list(argv), {name: item["text"]}, {})]
    out = []
    for argv in _commands(item["text"]):
        environ = {}
        while argv and re.match(r"^[A-Z_][A-Z0-9_]*=", argv[0]):
            name, _, value = argv.pop(0).partition("=")
            environ[name] = value
        try:
            parse_command(argv)
        except MinstallError:
            continue  # not an install command minstall rewrites (git clone, python setup.py)
        out.append((argv, {}, environ))
    return out


# mim install and flash-attn need torch in the environment (mim imports it, flash-attn is built
# for it): the scripts install it first; the target's Python is asked for flash-attn's wheel
SCRIPT_TORCH = {"installed_torch": "2.1.2+cu121", "installed_torch_cuda": "12.1", "python": "3.11"}


def plan_for(
    argv: list[str], files: dict[str, str], host: str, mode: str, environ: dict | None = None
):
    cmd = parse_command(argv)
    return rewrite(
        cmd,
        ctx(
            host=HOSTS[host],
            cuda_mode=mode,
            files=files,
            environ=environ or {},
            copy_path=lambda p: "/copies/" + p,
            file_dirs={p: "/src" for p in files},
            **(SCRIPT_TORCH if cmd.origin == "mim" or "flash" in " ".join(argv) else {}),
        ),
    )


def fair_refusal(exc: Exception, argv: list[str], files: dict[str, str], host: str) -> bool:
    """A refusal this test accepts (see the module docstring)."""
    message = getattr(exc, "message", "")
    if message.startswith("cannot read"):
        named = [a for a in argv if not a.startswith("-")]
        return not any(name in message for name in files) and any(n in message for n in named)
    if "${" in message or "{{" in message:
        return True  # a value a shell or CI fills in: nothing a person could run as written
    if isinstance(exc, CudaMismatch) and HOSTS[host].has_driver:
        return "runs on" in message or re.search(r"needs? NVIDIA driver", message) is not None
    return False


def check_plan(plan, argv: list[str], files: dict[str, str] | None = None) -> None:
    """The invariants of the module docstring, for one plan."""
    steps = plan.steps()
    notes = [n for s in steps for n in s.notes]
    said = " ".join(notes)
    texts = [t for s in steps for t in s.argv] + [v for s in steps for v in s.writes.values()]
    # a file the plan does not copy is read as it is: its official URLs count as left too
    texts += [t for name, t in (files or {}).items() if "/copies/" + name not in plan.writes]
    joined = " ".join(texts)
    for text in texts:
        for url in OFFICIAL.findall(text):
            assert url.rstrip("/") in said, f"{url} left without a note: {notes}"
    for note in notes:
        moved = re.match(r"^(?:[-\w]+ )?(https?://\S+) -> ", note)
        if moved and OFFICIAL.match(moved.group(1)):
            assert not re.search(re.escape(moved.group(1)) + r"(?![\w/.%-])", joined), note
    new = [t for s in steps for t in s.argv]
    for token in set(new) - set(argv):
        if not token.startswith("-") and token not in plan.writes and "/copies/" not in token:
            assert token.rstrip("/") in said, f"{token} added, no note says why: {notes}"
    for token in set(argv) - set(new):
        if not token.startswith("-"):
            assert token.rstrip("/") in said, f"{token} dropped, no note says why: {notes}"


def check_cuda(plan, host: str) -> None:
    """A CUDA build the plan chose runs here, by the one rule."""
    cuda = plan.cuda or {}
    variant = cuda.get("variant")
    if not variant or variant == "cpu" or not HOSTS[host].has_driver:
        return
    why = why_not_runs(
        TABLES,
        HOSTS[host],
        variant_cuda(variant),
        "linux",
        variant=variant,
        release=cuda.get("release"),
    )
    assert why is None, f"chose {variant} of torch {cuda.get('release')}: {why}"


@pytest.mark.parametrize("item", ITEMS, ids=lambda i: i["id"])
def test_every_real_command_is_rewritten_right_or_refused_fairly(item) -> None:
    for argv, files, environ in cases(item):
        for host in HOSTS:
            for mode in ("keep", "auto"):
                try:
                    plan = plan_for(argv, files, host, mode, environ)
                except (CudaMismatch, MinstallError) as exc:
                    assert exc.message and exc.hint, (argv, mode)
                    assert fair_refusal(exc, argv, files, host), (argv, host, mode, exc.message)
                    continue
                check_plan(plan, argv, files)
                check_cuda(plan, host)


def test_the_checks_bite() -> None:
    """Each check fails on the fault it is for (a plan bent by hand)."""
    argv = ["pip", "install", "torch", "--index-url", "https://download.pytorch.org/whl/cu121"]
    plan = plan_for(argv, {}, "rtx3090-driver550", "keep")
    silent = copy.deepcopy(plan)
    silent.argv[4] = "https://download.pytorch.org/whl/cu121"
    silent.notes = [n for n in silent.notes if "cu121" not in n]
    with pytest.raises(AssertionError, match="left without a note"):
        check_plan(silent, argv)
    lying = copy.deepcopy(silent)
    lying.notes.append("https://download.pytorch.org/whl/cu121 -> https://mirror/cu121 (x)")
    with pytest.raises(AssertionError):
        check_plan(lying, argv)
    added = copy.deepcopy(plan)
    added.argv.append("numpy")
    with pytest.raises(AssertionError, match="added, no note"):
        check_plan(added, argv)
    unrunnable = copy.deepcopy(plan)
    unrunnable.cuda = {"variant": "cu102", "release": "1.7.1"}  # no sm_8x kernels
    with pytest.raises(AssertionError, match="no kernels"):
        check_cuda(unrunnable, "rtx3090-driver550")
    assert not fair_refusal(
        UsageError("no CUDA build of torch runs on x", "h"), [], {}, "no-driver"
    )


@pytest.mark.parametrize(
    "pin",
    ["torch==1.8.2", "torch==1.3.1", "torch==2.3.1.post0"],  # LTS, older, a post release
)
@pytest.mark.parametrize("host", sorted(HOSTS))
def test_a_release_the_table_lacks_is_kept_with_a_note_not_refused(pin, host) -> None:
    """Real releases missing from minstall's table (torch 1.8.2 is PyTorch's LTS, on its own
    index, https://download.pytorch.org/whl/lts/1.8/torch_lts.html; 1.3.1 predates the table)
    were refused with "no PyTorch release matches"; nothing says they cannot run, so the pin
    stays, unchecked."""
    plan = rewrite(parse_command(["pip", "install", pin]), ctx(host=HOSTS[host], cuda_mode="auto"))
    assert pin in plan.argv
    assert any("not in minstall's table" in n and "kept as written" in n for n in plan.notes)


def test_a_missing_row_was_a_data_bug_torch_1_10_2_gets_its_cu113_build() -> None:
    """torch 1.10.2 and the cu113 builds of 1.10 were published (cuda-facts.md 3a; install
    lines such as torch==1.10.2+cu113 -f .../cu113/torch_stable.html in many READMEs); the
    table lacked them, so the pin was kept unchecked. CUDA 11.3 targets up to sm 8.6."""
    plan = rewrite(
        parse_command(["pip", "install", "torch==1.10.2"]),
        ctx(host=HOSTS["rtx3090-driver550"], cuda_mode="auto"),
    )
    assert "torch==1.10.2+cu113" in plan.argv
