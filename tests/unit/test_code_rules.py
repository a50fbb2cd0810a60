"""Rules of the codebase that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mirrorinstall.core.errors import EXIT_CODES

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "mirrorinstall"

# Stages, lowest first. A module may import from its own subpackage and from lower ranks
# only; modules sharing a rank (bench and cuda, fetch and config, doctor and serve) do not
# import each other;
# nothing imports the CLI.
LAYERS = {
    "core": 0,
    "bench": 1,
    "cuda": 1,
    "context": 2,
    "rewrite": 3,
    "fetch": 4,
    "config": 4,
    "run": 5,
    "doctor": 6,
    "serve": 6,
    "cli": 7,
}
FORBIDDEN = {"httpx", "subprocess", "socket", "asyncio", "click", "tqdm", "urllib.request"}


def _modules() -> dict[str, Path]:
    """Dotted name -> path, for every module of the package but ``__init__``/``__main__``."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        rel = path.relative_to(ROOT).with_suffix("")
        out[".".join(rel.parts)] = path
    return out


def _docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text())) or ""


def _is_pure(path: Path) -> bool:
    return bool(re.search(r"\bPure[.:]", _docstring(path)))


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            if node.module == "mirrorinstall":
                names += [f"mirrorinstall.{a.name}" for a in node.names]
    return names


MODULES = _modules()
PURE_MODULES = [name for name, path in MODULES.items() if _is_pure(path)]
EDGE_MODULES = {name for name in MODULES if name not in PURE_MODULES}


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_says_whether_it_is_pure_or_an_edge(module: str) -> None:
    doc = _docstring(MODULES[module])
    assert _is_pure(MODULES[module]) != bool(re.search(r"\[edge: [^\]]+\]", doc)), (
        f"{module}: its docstring must say 'Pure.' or name its edge as '[edge: ...]'"
    )


def test_the_pure_list_is_not_empty_and_covers_the_core_logic() -> None:
    for must in (
        "mirrorinstall.core.argv",
        "mirrorinstall.rewrite.conda",
        "mirrorinstall.cuda.choose",
        "mirrorinstall.run.classify",
        "mirrorinstall.bench.rank",
    ):
        assert must in PURE_MODULES


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_touch_no_edges(module: str) -> None:
    path = MODULES[module]
    for name in _imports(path):
        assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), (module, name)
        assert name not in EDGE_MODULES, f"{module} (pure) imports the edge module {name}"
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv", "time", "now")
            and isinstance(node.value, ast.Name)
            and node.value.id in ("os", "time", "datetime")
        ):
            pytest.fail(f"{module} reads {node.value.id}.{node.attr}")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_back_up_the_stages(module: str) -> None:
    stage = _stage(module)
    assert stage in LAYERS, f"{module}: its subpackage is not in LAYERS"
    for name in _imports(MODULES[module]):
        if not name.startswith("mirrorinstall.") or name.count(".") < 1:
            continue
        other = name.split(".")[1]
        if other in ("data", "__init__") or other == stage or other not in LAYERS:
            continue
        assert LAYERS[other] < LAYERS[stage], f"{module} imports {name}: a stage above or beside it"


def _oldest_python() -> str | None:
    """A Python 3.10 that runs (requires-python = ">=3.10"): on PATH, or a pyenv install."""
    import pwd

    candidates = [shutil.which("python3.10")]
    for root in (
        os.environ.get("PYENV_ROOT"),
        str(Path(pwd.getpwuid(os.getuid()).pw_dir) / ".pyenv"),
    ):
        if root:
            candidates += sorted(str(p) for p in Path(root).glob("versions/3.10.*/bin/python3.10"))
    for exe in candidates:
        if exe and subprocess.run([exe, "-V"], capture_output=True).returncode == 0:
            return exe
    return None


OLDEST_PYTHON = _oldest_python()


@pytest.mark.skipif(OLDEST_PYTHON is None, reason="no Python 3.10 on this machine")
def test_the_code_compiles_on_the_oldest_python_it_claims() -> None:
    """Syntax newer than the oldest supported Python fails here, not on a user's machine."""
    script = (
        "import pathlib, sys\n"
        "bad = []\n"
        "for f in sorted(pathlib.Path(sys.argv[1]).rglob('*.py')):\n"
        "    try:\n"
        "        compile(f.read_text(), str(f), 'exec')\n"
        "    except SyntaxError as e:\n"
        "        bad.append(f'{f}:{e.lineno}: {e.msg}')\n"
        "print('\\n'.join(bad)); sys.exit(1 if bad else 0)\n"
    )
    for folder in ("mirrorinstall", "tests", "benchmarks"):
        proc = subprocess.run(
            [str(OLDEST_PYTHON), "-c", script, str(ROOT / folder)], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'requires-python = ">=3.10"' in (ROOT / "pyproject.toml").read_text()


def test_ruff_is_clean() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_is_clean() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run must run exactly the command README.md gives for the whole suite."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quickstart", 1)[1].split("```", 2)[1]
    test_command = [ln for ln in block.splitlines() if "pytest" in ln]
    assert len(test_command) == 1
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command[0].strip() in [ln.strip() for ln in ci]


def test_readme_documents_every_exit_code() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = {int(c) for c in re.findall(r"^\|\s*`?(\d+)`?\s*\|", readme, re.M)}
    assert set(EXIT_CODES) <= documented


def test_changelog_keeps_a_changelog_shape() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog") and "## [Unreleased]" in text


# POSIX-only names that Windows' Python lacks (issue 24: os.pwrite hung every install there)
_POSIX_ONLY = {
    "os": {"pwrite", "pread", "pwritev", "preadv", "killpg", "getpgid", "setsid", "fork"},
    "signal": {"SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGKILL"},
}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_posix_only_name_and_one_place_decides_the_platforms_rules(module: str) -> None:
    """A POSIX-only function or signal is reached only through getattr/hasattr (so Windows
    takes another path); ``os.name`` is read only by core.hostos, which the test suite's
    Windows simulation can switch; ``os.open`` only through core.fileops (binary mode)."""
    tree = ast.parse(MODULES[module].read_text())
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
            continue
        owner, attr = node.value.id, node.attr
        assert attr not in _POSIX_ONLY.get(owner, ()), f"{module}:{node.lineno}: {owner}.{attr}"
        if owner == "os" and attr == "name":
            assert module == "mirrorinstall.core.hostos", f"{module}:{node.lineno}: os.name"
        if owner == "os" and attr == "open":
            assert module == "mirrorinstall.core.fileops", f"{module}:{node.lineno}: os.open"
