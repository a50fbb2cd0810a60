"""`minstall config`'s pure parts: what each file should say, the edit of each format, the
files' locations per platform, and `show`'s verdicts.

Expected values are written by hand from the source each one cites (the mirrors' help pages,
each tool's documentation), never computed from the catalog the code reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorinstall.config import condarc, pipconf, tomlconf
from mirrorinstall.config.desired import Route, Wanted, wanted
from mirrorinstall.config.locations import Platform, config_file, read_order
from mirrorinstall.config.show import report, verdict
from mirrorinstall.context.facts import Facts, Ranking
from mirrorinstall.core.catalog import Mirror, TorchWheels, build_catalog
from mirrorinstall.core.errors import ConfigError
from mirrorinstall.rewrite.common import Context

PACKAGED = Path(__file__).resolve().parents[2] / "mirrors.toml"
CATALOG = build_catalog([(str(PACKAGED), PACKAGED.read_text())])


def _ctx(order: dict[str, tuple[str, ...]], platform: str = "linux-64") -> Context:
    ranking = Ranking(order=order)
    return Context(Facts(catalog=CATALOG, ranking=ranking, platform=platform))


# ------------------------------------------------------------------ conda


def test_a_fresh_condarc_says_what_tunas_help_page_says() -> None:
    """TUNA's own .condarc (mirrorz-docs anaconda/usage.zh.md, copied in
    ../shared/research/mirror-facts.toml [mirror.tuna.conda] condarc) on Windows: main, r,
    msys2 from pkgs/, conda-forge and pytorch from cloud/, show_channel_urls."""
    want = wanted(_ctx({"conda": ("tuna",), "pypi": ("tuna",)}, "win-64"))
    text = condarc.edit(None, want, "~/.condarc").text
    data = condarc.load(text, "x")
    assert list(data["default_channels"]) == [
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main",
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/r",
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/msys2",
    ]
    assert (
        data["custom_channels"]["conda-forge"]
        == "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud"
    )
    assert (
        data["custom_channels"]["pytorch"] == "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud"
    )
    assert data["show_channel_urls"] is True
    assert "channels" not in data and "channel_alias" not in data
    # pkgs/free is a defaults part (conda < 4.7), not anaconda.org's channel named free
    assert "free" not in data["custom_channels"] and "main" not in data["custom_channels"]
    # nvidia is not carried by TUNA (licence: tuna/issues#1327): left to the official host
    assert "nvidia" not in data["custom_channels"]


def test_linux_defaults_leave_msys2_out() -> None:
    want = wanted(_ctx({"conda": ("tuna",)}))
    assert list(want.defaults) == ["main", "r"]


def test_each_channel_goes_to_the_best_mirror_carrying_it() -> None:
    """USTC ranks first but carries only conda-forge and bioconda (ustclug/mirrorhelp
    docs/anaconda.md); pytorch and defaults' main then come from TUNA, ranked second."""
    want = wanted(_ctx({"conda": ("ustc", "tuna")}))
    assert want.channels["conda-forge"].mirror == "ustc"
    assert want.channels["bioconda"].mirror == "ustc"
    assert want.channels["pytorch"].mirror == "tuna"
    assert want.defaults["main"].url == "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main"


def test_a_channel_no_mirror_carries_gets_a_note() -> None:
    want = wanted(_ctx({"conda": ("tuna",)}), extra_channels=("my-lab-channel", "defaults"))
    assert "my-lab-channel" not in want.channels
    assert any("my-lab-channel" in n for n in want.notes)
    assert not any("channel defaults" in n for n in want.notes)  # a meta-channel, not a name


WANT = Wanted(
    pypi=Route("https://m.example/pypi/simple", "m", "rank 1"),
    pypi_official=("https://pypi.org/simple",),
    torch=Mirror("t", "t", "x", pytorch=TorchWheels("https://t.example/whl", "index")),
    defaults={
        "main": Route("https://m.example/anaconda/pkgs/main", "m", ""),
        "r": Route("https://m.example/anaconda/pkgs/r", "m", ""),
    },
    channels={
        "conda-forge": Route("https://m.example/anaconda/cloud/conda-forge", "m", ""),
        "pytorch": Route("https://m.example/anaconda/cloud/pytorch/", "m", ""),
    },
    official={
        "main": "https://repo.anaconda.com/pkgs/main",
        "conda-forge": "https://conda.anaconda.org/conda-forge",
    },
    known=frozenset(
        {
            ("https", "m.example", 443),
            ("https", "t.example", 443),
            ("https", "pypi.org", 443),
            ("https", "repo.anaconda.com", 443),
            ("https", "conda.anaconda.org", 443),
            ("https", "download.pytorch.org", 443),
        }
    ),
)

UNUSUAL = """\
# lab machine settings
# (two comment lines, then a flow list)
channels: [conda-forge, 'https://conda.anaconda.org/pytorch', defaults]   # my order
ssl_verify: false
proxy_servers:
    http: http://proxy.lab:3128     # keep
    https: http://proxy.lab:3128
default_channels:
    - https://repo.anaconda.com/pkgs/main
    - https://repo.anaconda.com/pkgs/r
custom_channels:
    labchan: https://conda.lab.example
    conda-forge: https://conda.lab.example   # our own copy
envs_dirs:
    - ~/envs
"""


def test_an_unusual_condarc_keeps_comments_order_style_and_the_users_own_entries() -> None:
    done = condarc.edit(UNUSUAL, WANT, "~/.condarc")
    lines = done.text.splitlines()
    expected = """\
# lab machine settings
# (two comment lines, then a flow list)
channels: [conda-forge, 'https://conda.anaconda.org/pytorch', defaults]   # my order
ssl_verify: false
proxy_servers:
    http: http://proxy.lab:3128     # keep
    https: http://proxy.lab:3128
default_channels:
    - https://m.example/anaconda/pkgs/main
    - https://m.example/anaconda/pkgs/r
custom_channels:
    labchan: https://conda.lab.example
    conda-forge: https://conda.lab.example   # our own copy
    pytorch: https://m.example/anaconda/cloud
envs_dirs:
    - ~/envs
show_channel_urls: true
""".splitlines()
    assert lines == expected
    notes = " ".join(done.notes)
    assert "conda-forge: custom_channels sends it to https://conda.lab.example" in notes
    assert "write it as 'pytorch'" in notes  # a URL in channels: is not routed; said so


def test_a_condarc_edit_is_idempotent_and_a_comment_only_file_keeps_its_comment() -> None:
    first = condarc.edit("# just a note\n", WANT, "x").text
    assert first.startswith("# just a note\n")
    assert condarc.edit(first, WANT, "x").text == first
    assert (
        condarc.edit(UNUSUAL, WANT, "x").text
        == condarc.edit(condarc.edit(UNUSUAL, WANT, "x").text, WANT, "x").text
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("channels: [a\nssl_verify: true\n", "not valid YAML at line"),
        ("- conda-forge\n- defaults\n", "not a mapping"),
        ("custom_channels: [conda-forge]\n", "custom_channels is a"),
    ],
)
def test_a_broken_condarc_is_an_error_naming_the_file(text, said) -> None:
    with pytest.raises(ConfigError) as caught:
        condarc.edit(text, WANT, "/home/u/.condarc")
    assert "/home/u/.condarc" in caught.value.message and said in caught.value.message


def test_private_default_channels_are_left_alone() -> None:
    text = "default_channels:\n  - https://conda.corp.example/main\n"
    done = condarc.edit(text, WANT, "x")
    assert "https://conda.corp.example/main" in done.text
    assert "m.example/anaconda/pkgs/main" not in done.text
    assert any("default_channels: left as it is" in n for n in done.notes)


# ------------------------------------------------------------------ pip

PIP_IN = """\
# company settings
[global]
timeout = 60
index_url = https://pypi.org/simple
extra-index-url =
    https://corp.example/simple
    https://pypi.org/simple
    https://download.pytorch.org/whl/cu121
find-links = https://download.pytorch.org/whl/torch_stable.html
trusted-host = corp.example
; end of global
[install]
index-url=https://pypi.org/simple
"""

PIP_OUT = """\
# company settings
[global]
timeout = 60
index_url = https://m.example/pypi/simple
extra-index-url =
    https://corp.example/simple
    https://t.example/whl/cu121/
find-links = https://download.pytorch.org/whl/torch_stable.html
trusted-host = corp.example
; end of global
[install]
index-url = https://m.example/pypi/simple
"""


def test_pip_conf_changes_only_the_lines_it_must() -> None:
    """pip's documented keys (https://pip.pypa.io/en/stable/topics/configuration/): the
    company index and trusted-host stay; PyPI as an extra index goes; the PyTorch cu121
    index becomes the mirror's; the all-variants find-links page, which no mirror copies,
    stays with a note."""
    new, notes = pipconf.edit(PIP_IN, WANT)
    assert new == PIP_OUT
    assert any("torch_stable.html" in n for n in notes)
    assert pipconf.edit(new, WANT)[0] == new  # nothing more to do


def test_pip_conf_new_file_and_file_without_global() -> None:
    assert pipconf.edit(None, WANT)[0] == "[global]\nindex-url = https://m.example/pypi/simple\n"
    only_install = "[install]\r\nno-compile = true\r\n"
    assert pipconf.edit(only_install, WANT)[0] == (
        "[global]\r\nindex-url = https://m.example/pypi/simple\r\n\r\n" + only_install
    )


def test_a_company_index_url_is_not_replaced() -> None:
    text = "[global]\nindex-url = https://pypi.corp.example/simple\n"
    new, notes = pipconf.edit(text, WANT)
    assert new == text and "neither PyPI nor a known mirror" in notes[0]


def test_a_flat_torch_mirror_moves_the_index_to_find_links() -> None:
    flat = Mirror(
        "f", "f", "x", pytorch=TorchWheels("https://f.example/whl", "find-links", "torch.html")
    )
    want = Wanted(**{**WANT.__dict__, "torch": flat})
    text = "[global]\nextra-index-url = https://download.pytorch.org/whl/cu118\n"
    new, _ = pipconf.edit(text, want)
    assert new == (
        "[global]\nfind-links = https://f.example/whl/cu118/torch.html\n"
        "index-url = https://m.example/pypi/simple\n"
    )


# ------------------------------------------------------------------ uv and pixi


def test_uv_toml_sets_the_default_index_and_points_pytorch_indexes_at_the_mirror() -> None:
    """uv's index docs (https://docs.astral.sh/uv/concepts/indexes/) and its PyTorch guide
    (https://docs.astral.sh/uv/guides/integration/pytorch/): [[index]] default = true; a named
    explicit PyTorch index keeps its name and explicit flag."""
    text = (
        '# mine\nnative-tls = true\n\n[[index]]\nname = "pytorch-cu128"\n'
        'url = "https://download.pytorch.org/whl/cu128"\nexplicit = true\n'
    )
    new, _ = tomlconf.edit_uv(text, WANT, "uv.toml")
    assert new == (
        '# mine\nnative-tls = true\n\n[[index]]\nname = "pytorch-cu128"\n'
        'url = "https://t.example/whl/cu128/"\nexplicit = true\n'
        '[[index]]\nurl = "https://m.example/pypi/simple"\ndefault = true\n'
    )
    assert tomlconf.edit_uv(new, WANT, "uv.toml")[0] == new
    legacy = 'index-url = "https://pypi.org/simple"\n'
    assert tomlconf.edit_uv(legacy, WANT, "u")[0] == 'index-url = "https://m.example/pypi/simple"\n'
    corp = '[[index]]\nurl = "https://corp.example/simple"\ndefault = true\n'
    assert tomlconf.edit_uv(corp, WANT, "u")[0] == corp
    with pytest.raises(ConfigError, match=r"uv\.toml: not valid TOML"):
        tomlconf.edit_uv("[[index]\n", WANT, "uv.toml")


def test_pixi_mirrors_map_official_prefixes_to_the_mirror() -> None:
    """pixi's [mirrors] (https://pixi.prefix.dev/latest/reference/pixi_configuration/):
    official URL prefix -> list of mirror URLs; other keys and entries kept."""
    text = '# pixi\n[mirrors]\n"https://example.org/x" = ["https://y.example/x"]\n'
    new, _ = tomlconf.edit_pixi(text, WANT, "config.toml")
    assert new == (
        '# pixi\n[mirrors]\n"https://example.org/x" = ["https://y.example/x"]\n'
        '"https://repo.anaconda.com/pkgs/main" = ["https://m.example/anaconda/pkgs/main"]\n'
        '"https://conda.anaconda.org/conda-forge" = '
        '["https://m.example/anaconda/cloud/conda-forge"]\n'
        '"https://pypi.org/simple" = ["https://m.example/pypi/simple"]\n'
    )


# ------------------------------------------------------------------ locations


def test_linux_locations_from_each_tools_docs() -> None:
    p = Platform("linux", {}, "/home/u")
    assert config_file("conda", "user", p).path == "/home/u/.condarc"
    assert config_file("pip", "user", p).path == "/home/u/.config/pip/pip.conf"
    assert config_file("pip", "system", p).path == "/etc/pip.conf"
    assert config_file("uv", "user", p).path == "/home/u/.config/uv/uv.toml"
    assert config_file("uv", "system", p).path == "/etc/uv/uv.toml"
    assert config_file("pixi", "user", p).path == "/home/u/.pixi/config.toml"
    xdg = Platform("linux", {"XDG_CONFIG_HOME": "/x"}, "/home/u")
    assert config_file("pip", "user", xdg).path == "/x/pip/pip.conf"
    env = Platform("linux", {"VIRTUAL_ENV": "/v", "CONDA_PREFIX": "/c"}, "/home/u")
    assert config_file("pip", "env", env).path == "/v/pip.conf"
    assert config_file("conda", "env", env).path == "/c/.condarc"
    root = Platform("linux", {"CONDA_EXE": "/opt/conda/bin/conda"}, "/home/u")
    assert config_file("conda", "system", root).path == "/opt/conda/.condarc"


def test_windows_locations_from_each_tools_docs() -> None:
    environ = {"APPDATA": "C:\\Users\\u\\AppData\\Roaming", "PROGRAMDATA": "C:\\ProgramData"}
    p = Platform("windows", environ, "C:\\Users\\u")
    assert config_file("conda", "user", p).path == "C:\\Users\\u\\.condarc"
    assert config_file("pip", "user", p).path == "C:\\Users\\u\\AppData\\Roaming\\pip\\pip.ini"
    assert config_file("pip", "system", p).path == "C:\\ProgramData\\pip\\pip.ini"
    assert config_file("uv", "user", p).path == "C:\\Users\\u\\AppData\\Roaming\\uv\\uv.toml"
    assert config_file("uv", "system", p).path == "C:\\ProgramData\\uv\\uv.toml"
    assert config_file("pixi", "system", p).path == "C:\\ProgramData\\pixi\\config.toml"
    conda = Platform("windows", {"CONDA_EXE": "C:\\miniconda3\\Scripts\\conda.exe"}, "C:\\u")
    assert config_file("conda", "system", conda).path == "C:\\miniconda3\\.condarc"
    venv = Platform("windows", {"VIRTUAL_ENV": "C:\\proj\\.venv"}, "C:\\u")
    assert config_file("pip", "env", venv).path == "C:\\proj\\.venv\\pip.ini"


def test_macos_pip_uses_application_support_only_when_it_exists() -> None:
    folder = "/Users/u/Library/Application Support/pip"
    assert config_file("pip", "user", Platform("darwin", {}, "/Users/u")).path == (
        "/Users/u/.config/pip/pip.conf"
    )
    there = Platform("darwin", {}, "/Users/u", frozenset([folder]))
    assert config_file("pip", "user", there).path == f"{folder}/pip.conf"


def test_the_variables_that_name_one_file_win() -> None:
    p = Platform(
        "linux",
        {
            "CONDARC": "/c/rc",
            "PIP_CONFIG_FILE": "/p.conf",
            "UV_CONFIG_FILE": "/u.toml",
            "PIXI_HOME": "/px",
        },
        "/h",
    )
    assert config_file("conda", "user", p).path == "/c/rc"
    assert config_file("pip", "user", p).path == "/p.conf"
    assert config_file("uv", "user", p).path == "/u.toml"
    assert config_file("pixi", "user", p).path == "/px/config.toml"
    with pytest.raises(ConfigError, match="reads no configuration file"):
        config_file("pip", "user", Platform("linux", {"PIP_CONFIG_FILE": "/dev/null"}, "/h"))
    assert [loc.path for loc in read_order("pip", p)][-1] == "/p.conf"
    assert "/h/.config/pip/pip.conf" not in [loc.path for loc in read_order("pip", p)]
    assert [loc.path for loc in read_order("conda", p)][-1] == "/c/rc"


# ------------------------------------------------------------------ show


def test_show_verdicts() -> None:
    ranking = Ranking(
        order={"pypi": ("ustc", "tuna", "pypi")}, failed={"pypi": {"bfsu": "HTTP 404 on /simple/"}}
    )
    assert verdict("https://pypi.org/simple", "pypi", CATALOG, ranking) == (
        "official host; mirror ustc ranks first for pypi here",
        False,
    )
    assert verdict("https://pypi.tuna.tsinghua.edu.cn/simple/", "pypi", CATALOG, ranking) == (
        "mirror tuna: rank 2 of 3; ustc is faster",
        False,
    )
    assert verdict("https://mirrors.bfsu.edu.cn/pypi/web/simple", "pypi", CATALOG, ranking)[0] == (
        "mirror bfsu: failed the bench: HTTP 404 on /simple/"
    )
    assert verdict("https://pypi.corp.example/simple", "pypi", CATALOG, ranking)[1] is True


def test_show_marks_the_setting_that_takes_effect() -> None:
    from mirrorinstall.config.locations import Location

    sources = [
        (
            Location("pip", "/etc/pip.conf", "system file"),
            "[global]\nindex-url = https://pypi.org/simple\n",
        ),
        (
            Location("pip", "/h/.config/pip/pip.conf", "user file"),
            "[global]\nindex-url = https://pypi.tuna.tsinghua.edu.cn/simple\n",
        ),
    ]
    ranking = Ranking(order={"pypi": ("tuna",)})
    found = report({"pip": sources}, {}, CATALOG, ranking)
    effective = [s for s in found.seen if s.effective]
    assert [(s.source, s.ok) for s in effective] == [("/h/.config/pip/pip.conf", True)]
    assert found.fixes == {}
    nothing = report({"pip": [], "uv": []}, {}, CATALOG, ranking)
    assert [s.source for s in nothing.seen] == ["pip's default", "uv's default"]
    assert nothing.fixes == {
        "pip": "minstall config apply --pip",
        "uv": "minstall config apply --uv",
    }


def test_a_mirror_that_needs_a_token_gets_a_note_and_no_secret_is_written() -> None:
    private = build_catalog(
        [
            (
                "c.toml",
                'schema = 1\n[mirror.corp]\nname = "corp"\nregion = "x"\n'
                'token_env = "CORP_TOKEN"\n[mirror.corp.pypi]\n'
                'simple = "https://pypi.corp.example/simple"\n',
            )
        ]
    )
    ctx = Context(Facts(catalog=private, ranking=Ranking(order={"pypi": ("corp",)})))
    want = wanted(ctx)
    assert want.pypi is not None and want.pypi.url == "https://pypi.corp.example/simple"
    assert want.token_notes == [
        "mirror corp needs the token in $CORP_TOKEN; it is not written into any file: give it "
        "to the tool yourself (keyring, netrc, or the tool's own auth settings)"
    ]
    assert pipconf.edit(None, want)[0] == "[global]\nindex-url = https://pypi.corp.example/simple\n"


def test_a_yaml_alias_bomb_or_deep_nesting_is_refused_quickly() -> None:
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
    for i in range(1, 9):  # 10**9 values once expanded
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 10) + "]\n"
    with pytest.raises(ConfigError, match=r"/h/\.condarc: expands to more than"):
        condarc.edit(bomb, WANT, "/h/.condarc")
    with pytest.raises(ConfigError, match="nested too deeply"):
        condarc.edit("a: " + "[" * 400 + "]" * 400 + "\n", WANT, "/h/.condarc")


def test_show_judges_a_channel_named_in_channels_by_the_url_conda_makes_of_it() -> None:
    """conda resolves a name through custom_channels, else <channel_alias>/<name>, the alias
    being https://conda.anaconda.org unless set (conda's docs, "Mirroring channels")."""
    from mirrorinstall.config.locations import Location

    ranking = Ranking(order={"conda": ("tuna",)})
    rc = Location("conda", "/h/.condarc", "user file")
    plain = report({"conda": [(rc, "channels: [conda-forge, defaults]\n")]}, {}, CATALOG, ranking)
    by_value = {s.value: s for s in plain.seen if s.setting == "channels"}
    assert by_value["conda-forge"].verdict == (
        "conda asks https://conda.anaconda.org/conda-forge: official host; mirror tuna ranks "
        "first for conda here"
    )
    assert by_value["defaults"].ok
    assert plain.fixes == {"conda": "minstall config apply --conda"}
    routed = report(
        {
            "conda": [
                (
                    rc,
                    "channels: [conda-forge]\ncustom_channels:\n"
                    "  conda-forge: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud\n"
                    "default_channels: [https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main]\n",
                )
            ]
        },
        {},
        CATALOG,
        ranking,
    )
    (forge,) = [s for s in routed.seen if s.setting == "channels"]
    assert forge.verdict.endswith("mirror tuna: best (rank 1 of 1)") and forge.ok
    assert routed.fixes == {}


def test_the_official_urls_pixi_maps_are_the_ones_conda_uses() -> None:
    """conda's docs ("Mirroring channels"): defaults' main is https://repo.anaconda.com/pkgs/main,
    a channel by name is https://conda.anaconda.org/<name>; PyPI's index is
    https://pypi.org/simple (PEP 503)."""
    want = wanted(_ctx({"conda": ("tuna",), "pypi": ("tuna",)}))
    assert want.official["main"] == "https://repo.anaconda.com/pkgs/main"
    assert want.official["r"] == "https://repo.anaconda.com/pkgs/r"
    assert want.official["conda-forge"] == "https://conda.anaconda.org/conda-forge"
    assert want.official["bioconda"] == "https://conda.anaconda.org/bioconda"
    assert want.pypi_official == ("https://pypi.org/simple",)


def _pip_reads(text: str) -> dict[str, dict[str, str]]:
    """The file as pip reads it: configparser, section names as written."""
    import configparser

    parser = configparser.RawConfigParser()
    parser.read_string(text)
    return {s: dict(parser.items(s)) for s in parser.sections()}


@pytest.mark.parametrize(
    "header", ["[global] # pip's index", "[global]   ; mirror", "  [global]"], ids=range(3)
)
def test_a_global_header_with_a_comment_is_the_global_section(header) -> None:
    """Issue 21: `[global] # comment` was not seen as [global]: a second [global] was added
    and pip rejected the whole file (DuplicateSectionError)."""
    text = f"{header}\nindex-url = https://pypi.org/simple\n"
    new, _ = pipconf.edit(text, WANT)
    assert _pip_reads(new)["global"]["index-url"] == "https://m.example/pypi/simple"
    assert new.count("[global]") == 1


@pytest.mark.parametrize("header", ["[GLOBAL]", "[ global ]"])
def test_sections_pip_does_not_read_as_global_are_left_and_global_is_added(header) -> None:
    """pip looks up [global] by its exact name; [GLOBAL] and [ global ] are other sections
    to it. Before, only they were edited, success was reported, and pip still used PyPI."""
    text = f"{header}\nindex-url = https://pypi.org/simple\n"
    new, _ = pipconf.edit(text, WANT)
    read = _pip_reads(new)
    assert read["global"]["index-url"] == "https://m.example/pypi/simple"
    assert header in new and new.count("[global]") == 1


def test_a_file_pip_cannot_read_is_left_alone_with_the_reason() -> None:
    text = "[global]\ntimeout = 5\n[global]\nretries = 1\n"
    with pytest.raises(ConfigError, match="pip cannot read this file"):
        pipconf.edit(text, WANT)


def test_a_value_with_a_line_break_is_never_written() -> None:
    evil = Route("https://e.example/simple\ntrusted-host = evil", "e", "rank 1")
    want = Wanted(**{**WANT.__dict__, "pypi": evil})
    with pytest.raises(ConfigError, match="control character"):
        pipconf.edit("[global]\nindex-url = https://pypi.org/simple\n", want)


def test_hostile_shapes_are_clear_errors_in_bounded_time() -> None:
    """Issue 21: a .condarc with 60 000 channels never finished; a uv `index = [1, 2]`
    crashed (AttributeError); deep nesting is refused by the TOML reader."""
    import time

    started = time.monotonic()
    with pytest.raises(ConfigError, match="lines"):
        condarc.edit("channels:\n" + "  - ch\n" * 60_000, WANT, "/x/.condarc")
    assert time.monotonic() - started < 2
    with pytest.raises(ConfigError, match="not an array of tables"):
        tomlconf.edit_uv("index = [1, 2]\n", WANT, "/x/uv.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        tomlconf.edit_uv("a = " + "[" * 3000 + "]" * 3000 + "\n", WANT, "/x/uv.toml")


def test_config_show_says_a_deeply_nested_file_instead_of_crashing() -> None:
    from mirrorinstall.config.locations import Location
    from mirrorinstall.config.show import _toml

    with pytest.raises(ConfigError, match="nested too deeply"):
        _toml(Location("uv", "/x/uv.toml", "user file"), "a = " + "[" * 5000 + "]" * 5000)
