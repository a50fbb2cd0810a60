"""Where settings come from: flag > MINSTALL_* variable > user files > packaged defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorinstall.core.errors import CatalogError
from mirrorinstall.core.settings import cache_dir, catalog_layers, load_catalog, user_catalog_path

USER = """
schema = 1
[mirror.tuna]
enabled = false
"""


def test_cache_dir_precedence(tmp_path: Path) -> None:
    env = {"MINSTALL_CACHE_DIR": "/env/cache", "HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"}
    assert cache_dir("/flag", env).value == Path("/flag")
    assert cache_dir("/flag", env).source == "--cache-dir"
    assert cache_dir(None, env).value == Path("/env/cache")
    assert cache_dir(None, env).source == "MINSTALL_CACHE_DIR"
    del env["MINSTALL_CACHE_DIR"]
    assert cache_dir(None, env, "linux").value == Path("/xdg/minstall")
    del env["XDG_CACHE_HOME"]
    assert cache_dir(None, env, "linux").value == Path("/home/u/.cache/minstall")
    assert cache_dir(None, env, "darwin").value == Path("/home/u/Library/Caches/minstall")
    win = cache_dir(None, {"LOCALAPPDATA": "C:/Users/u/AppData/Local"}, "win32")
    assert win.value == Path("C:/Users/u/AppData/Local/minstall/Cache") and win.source == "default"


def test_user_catalog_lives_in_the_config_dir(tmp_path: Path) -> None:
    assert user_catalog_path({"MINSTALL_CONFIG_DIR": str(tmp_path)}) == tmp_path / "mirrors.toml"


def test_packaged_then_user_catalog(tmp_path: Path) -> None:
    env = {"MINSTALL_CONFIG_DIR": str(tmp_path)}
    assert len(catalog_layers(None, env)) == 1
    (tmp_path / "mirrors.toml").write_text(USER)
    layers = catalog_layers(None, env)
    assert [p for p, _ in layers][1] == str(tmp_path / "mirrors.toml")
    assert not load_catalog(None, env).get("tuna").enabled


def test_catalog_flag_or_env_means_only_that_file(tmp_path: Path) -> None:
    only = tmp_path / "only.toml"
    only.write_text(
        "schema = 1\n[mirror.x]\nname='X'\nregion='lab'\n"
        "[mirror.x.pypi]\nsimple='http://127.0.0.1:1/simple'\n"
    )
    (tmp_path / "mirrors.toml").write_text(USER)
    env = {"MINSTALL_CONFIG_DIR": str(tmp_path), "MINSTALL_CATALOG": str(only)}
    assert [m.id for m in load_catalog(None, env).mirrors] == ["x"]
    assert [m.id for m in load_catalog(str(only), {}).mirrors] == ["x"]


def test_missing_catalog_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as info:
        load_catalog(str(tmp_path / "nope.toml"), {})
    assert "file not found (given by --catalog)" in str(info.value)
