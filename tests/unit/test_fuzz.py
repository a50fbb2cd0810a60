"""Fuzzing (hypothesis, derandomized so CI runs the same examples every time): whatever a
user types, an environment holds, a catalog says or a cache file contains, minstall's pure
layers answer with a result or one of its own errors (which the CLI turns into a message and
a documented exit code), never another exception (which the CLI reports as exit 70, "internal
error"). Issue 11 found such crashes by hand; these keep looking for more.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mirrorinstall.bench import report
from mirrorinstall.context.facts import Facts, Ranking
from mirrorinstall.core import settings as msettings
from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.core.errors import MinstallError
from mirrorinstall.core.untrusted import json_value
from mirrorinstall.cuda.choose import CudaMismatch, HostCuda, choose_torch
from mirrorinstall.cuda.host import detect_cuda
from mirrorinstall.cuda.packaged import load_tables
from mirrorinstall.rewrite import Context, rewrite

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = (ROOT / "mirrors.toml").read_text()
CATALOG = build_catalog([("mirrors.toml", PACKAGED)])
TABLES = load_tables()
FUZZ = settings(max_examples=250, deadline=None, derandomize=True)

# pieces people really type, and the hostile ones issue 11 found, to be combined at random
_WORDS = st.sampled_from(
    [
        "torch",
        "torch[opt-einsum]",
        "torch>=",
        "torch==2.4.1+cu121",
        "torchvision",
        "torch @ https://download.pytorch.org/whl/cu121/torch-2.5.1%2Bcu121-cp311-cp311-linux_x86_64.whl",
        "pytorch",
        "pytorch=1.7.1",
        "cudatoolkit=10.1",
        "pytorch-cuda=12.4",
        "tensorflow",
        "tensorflow-gpu==2.4.1",
        "tensorflow[and-cuda]",
        "numpy; python_version>'3'",
        "conda-forge::numpy",
        "-c",
        "--channel",
        "pytorch",
        "nvidia",
        "https://[::1",
        "https://x.org:99999/c",
        "defaults",
        "nodefaults",
        "--override-channels",
        "-r",
        "req.txt",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "http://alice:pw@127.0.0.1:9/simple",
        "https://download.pytorch.org/whl/cu118",
        "--python",
        "-n",
        "env",
        "--",
        "-",
        "=",
        "==",
        "[",
        "@",
        ";",
        "\x1b[2J",
        "é",
        "\u0665\u0663\u0665",
        "x" * 300,
    ]
)
_TOKENS = st.lists(st.one_of(_WORDS, st.text(max_size=12)), max_size=10)
_HOSTS = st.sampled_from(
    [
        HostCuda(driver="535.104.05", how="MINSTALL_CUDA_DRIVER"),
        HostCuda(driver="418.39", how="MINSTALL_CUDA_DRIVER"),
        HostCuda(how="no driver"),
        HostCuda(how="MINSTALL_CUDA_DRIVER", error="not a driver version"),
        HostCuda(cuda="12.4", how="CONDA_OVERRIDE_CUDA"),
    ]
)
_ORDER = {"conda": ("tuna", "ustc", "sustech"), "pypi": ("tuna", "aliyun"), "pytorch": ("aliyun",)}


@FUZZ
@given(
    st.sampled_from(
        [["conda", "install"], ["conda", "create"], ["pip", "install"], ["uv", "pip", "install"]]
    ),
    _TOKENS,
    st.sampled_from(["keep", "auto", "cpu", "12.1", "cu118"]),
    _HOSTS,
    st.text(max_size=200),
)
def test_any_command_line_rewrites_or_is_a_usage_error(head, tokens, mode, host, file) -> None:
    facts = Facts(
        catalog=CATALOG,
        ranking=Ranking(order=_ORDER),
        tables=TABLES,
        host=host,
        files={"req.txt": file},
    )
    try:
        plan = rewrite(parse_command([*head, *tokens]), Context(facts, mode, False))
    except (MinstallError, CudaMismatch):  # planning turns CudaMismatch into exit 65
        return
    assert plan.argv[0] == head[0]  # a plan for the same tool


_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=30),
        st.sampled_from(
            ["https://[::1/simple", "https://x.org/s", "linux-64", "2.5", "ftp://a:b@x"]
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_KEYS = st.sampled_from(
    [
        "name",
        "region",
        "homepage",
        "sources",
        "enabled",
        "insecure",
        "token_env",
        "notes",
        "channel_alias",
        "conda",
        "pypi",
        "pytorch",
        "upstream",
        "bogus",
    ]
)


def _toml(value) -> str:
    """A value as TOML, through JSON where the two agree (strings, numbers, lists, tables)."""
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return json.dumps(value)


@FUZZ
@given(st.dictionaries(_KEYS, _VALUES, max_size=4), st.text(max_size=40))
def test_any_catalog_entry_loads_or_is_a_catalog_error(entry, raw) -> None:
    body = "".join(f"{json.dumps(k)} = {_toml(v)}\n" for k, v in entry.items())
    for text in (f"schema = 1\n[mirror.fuzz]\n{body}", f"schema = 1\n{raw}\n"):
        with contextlib.suppress(MinstallError):
            build_catalog([("mirrors.toml", PACKAGED), ("user.toml", text)])


_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)


@FUZZ
@given(_JSON, st.integers(min_value=0, max_value=3))
def test_any_cache_file_is_a_report_or_refused(junk, where) -> None:
    """A report with one part replaced by junk: ``problem`` names it, or the report works."""
    rows = [
        {
            "mirror": "a",
            "kind": "pypi",
            "group": "pypi:pip",
            "ok": True,
            "rank": 1,
            "error": None,
            "channel": None,
            "upstream": False,
            "latency_ms": 1.0,
            "connect_ms": 1.0,
            "throughput_bps": 1.0,
            "last_modified_s": None,
            "newest": None,
            "newest_time_s": None,
            "lag_s": None,
            "fresh": True,
            "stale_reason": None,
            "warnings": [],
            "score_s": {},
            "ranks": {},
        }
    ]
    doc = {
        "schema": 1,
        "created_at_s": 1.0,
        "catalog": "x",
        "kinds": ["pypi"],
        "mirrors": None,
        "budget_bytes": 1,
        "results": rows,
    }
    if where == 0:
        doc = junk
    elif where == 1:
        doc["results"] = junk
    elif where == 2:
        rows[0]["rank"] = junk
    else:
        rows[0]["warnings"] = junk
    text = json.dumps(doc)
    try:
        loaded = json_value(text)
    except ValueError:
        return
    if report.problem(loaded) is None:
        Ranking.from_report(loaded)
        report.format_table(loaded)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "MINSTALL_CUDA_DRIVER",
                "CONDA_OVERRIDE_CUDA",
                "MINSTALL_CUDA_ARCH",
                "MINSTALL_FETCH",
                "MINSTALL_STORE_LIMIT_MB",
                "MINSTALL_NETWORK_ID",
            ]
        ),
        st.one_of(
            st.text(max_size=16),
            st.sampled_from(["abc", "12.", "-1", "nan", "\u0668.\u0666", "535.104.05", "12.4"]),
        ),
        max_size=4,
    )
)
def test_any_environment_value_is_read_or_refused(environ) -> None:
    environ = {k: v for k, v in environ.items() if "\x00" not in v}
    try:
        found = detect_cuda(
            environ,
            root=Path("/nonexistent"),
            which=lambda name: None,
            use_nvml=False,
            use_libcuda=False,
        )
        choose_torch(TABLES, found.host, want="auto")
        msettings.fetch_setting(environ)
        msettings.store_limit_mb(environ)
    except MinstallError:
        pass


# lines a .condarc, pip.conf or uv.toml may hold, and broken ones, combined at random
_CONFIG_LINES = st.sampled_from(
    [
        "[global]",
        "[install]",
        "index-url = https://pypi.org/simple",
        "index_url=https://pypi.tuna.tsinghua.edu.cn/simple",
        "extra-index-url =",
        "    https://download.pytorch.org/whl/cu121",
        "\thttps://pypi.org/simple",
        "find-links = https://download.pytorch.org/whl/torch_stable.html",
        "; comment",
        "# comment",
        "",
        "channels:",
        "  - conda-forge",
        "- defaults",
        "channels: [a, b",
        "custom_channels:",
        "  conda-forge: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud",
        "default_channels: https://x",
        "show_channel_urls: yes",
        "a: &x [1, 2]",
        "b: *x",
        "key: 'unterminated",
        "[[index]]",
        'url = "https://pypi.org/simple"',
        "default = true",
        "[mirrors]",
        '"https://conda.anaconda.org/conda-forge" = ["https://prefix.dev/conda-forge"]',
        "=",
        "\x1b[31m",
        "\u202e",
    ]
)
_CONFIG_TEXT = st.lists(_CONFIG_LINES, max_size=12).map("\n".join) | st.text(max_size=200)


@FUZZ
@given(_CONFIG_TEXT)
def test_any_config_file_is_edited_or_refused_and_a_second_edit_changes_nothing(text) -> None:
    """Every editor of `minstall config apply`: a result or a ConfigError, never a crash; and
    what it wrote, edited again, stays as it is (apply twice = apply once)."""
    from mirrorinstall.config import condarc, pipconf, tomlconf
    from mirrorinstall.config.desired import wanted

    ctx = Context(
        Facts(
            catalog=CATALOG,
            ranking=Ranking(order={"conda": ("tuna",), "pypi": ("tuna",), "pytorch": ("sjtu",)}),
        )
    )
    want = wanted(ctx)
    editors = {
        "conda": lambda t: condarc.edit(t, want, "/h/.condarc").text,
        "pip": lambda t: pipconf.edit(t, want)[0],
        "uv": lambda t: tomlconf.edit_uv(t, want, "/h/uv.toml")[0],
        "pixi": lambda t: tomlconf.edit_pixi(t, want, "/h/config.toml")[0],
    }
    for tool, edit in editors.items():
        try:
            once = edit(text)
        except MinstallError:
            continue
        assert edit(once) == once, (tool, text, once)


_ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=24)


@FUZZ
@given(_ANY_TEXT)
def test_every_writer_writes_a_value_from_all_of_unicode_as_itself_or_refuses_it(part) -> None:
    """Issue 21: a URL holding anything at all (newlines, quotes, `[section]`, YAML and TOML
    syntax, bidi controls) is written by each config writer so that the parser the tool itself
    uses reads back exactly that URL and nothing else (no planted key, no second section), or
    the writer refuses it with a ConfigError. The writers do not lean on the catalog's check."""
    import configparser
    import io

    from ruamel.yaml import YAML

    from mirrorinstall.config import condarc, pipconf, tomlconf
    from mirrorinstall.config.desired import Route, Wanted
    from mirrorinstall.config.tomlconf import tomllib  # tomli before Python 3.11

    pypi = f"https://m.example/{part}/pypi/simple"
    main = f"https://m.example/{part}/anaconda/pkgs/main"
    forge = f"https://m.example/{part}/anaconda/cloud/conda-forge"
    want = Wanted(
        pypi=Route(pypi, "m", "rank 1"),
        pypi_official=("https://pypi.org/simple",),
        defaults={"main": Route(main, "m", "rank 1")},
        channels={"conda-forge": Route(forge, "m", "rank 1")},
        official={
            "main": "https://repo.anaconda.com/pkgs/main",
            "conda-forge": "https://conda.anaconda.org/conda-forge",
        },
    )
    with contextlib.suppress(MinstallError):
        text = pipconf.edit(None, want)[0]
        # pip's own reader (pip/_internal/configuration.py: RawConfigParser, default syntax)
        parser = configparser.RawConfigParser()
        parser.read_string(text)
        assert {s: dict(parser[s]) for s in parser.sections()} == {"global": {"index-url": pypi}}
    with contextlib.suppress(MinstallError):
        text = condarc.edit(None, want, "/h/.condarc").text
        data = YAML(typ="safe").load(io.StringIO(text))  # conda reads .condarc with ruamel
        assert data == {
            "default_channels": [main],
            "custom_channels": {"conda-forge": forge.rsplit("/", 1)[0]},
            "show_channel_urls": True,
        }, text
    with contextlib.suppress(MinstallError):
        text = tomlconf.edit_uv(None, want, "/h/uv.toml")[0]
        assert tomllib.loads(text) == {"index": [{"url": pypi, "default": True}]}, text
    with contextlib.suppress(MinstallError):
        text = tomlconf.edit_pixi(None, want, "/h/config.toml")[0]
        assert tomllib.loads(text) == {
            "mirrors": {
                "https://repo.anaconda.com/pkgs/main": [main],
                "https://conda.anaconda.org/conda-forge": [forge],
                "https://pypi.org/simple": [pypi],
            }
        }, text
