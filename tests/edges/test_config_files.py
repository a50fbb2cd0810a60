"""The disk edge of `minstall config`: backups, atomic writes, permissions, links, and the
refusal to overwrite a file another program changed. Real files in a temporary folder."""

from __future__ import annotations

import os
import stat

import pytest

from mirrorinstall.config import files
from mirrorinstall.core.errors import ConfigError


def test_a_link_stays_a_link_and_its_target_is_written(tmp_path) -> None:
    real = tmp_path / "dotfiles" / "condarc"
    real.parent.mkdir()
    real.write_text("channels: [conda-forge]\n")
    link = tmp_path / ".condarc"
    link.symlink_to(real)
    snap = files.read(str(link))
    saved = files.backup(snap, now=0)
    files.commit(snap, b"channels: [conda-forge]\nshow_channel_urls: true\n")
    assert link.is_symlink() and real.read_text().endswith("show_channel_urls: true\n")
    assert saved == real.with_name("condarc.minstall-19700101T000000Z.bak")
    assert files.backup(snap, now=0).name == "condarc.minstall-19700101T000000Z-1.bak"  # kept


def test_permissions_are_kept_and_a_new_file_gets_the_umasks(tmp_path) -> None:
    secret = tmp_path / "pip.conf"
    secret.write_text("[global]\n")
    secret.chmod(0o600)
    files.commit(files.read(str(secret)), b"[global]\nindex-url = x\n")
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    old = os.umask(0o022)
    try:
        new = tmp_path / "sub" / "uv.toml"
        files.commit(files.read(str(new)), b"x = 1\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644
    assert sorted(p.name for p in new.parent.iterdir()) == ["uv.toml"]  # no temporary left


def test_a_file_changed_after_it_was_read_is_not_overwritten(tmp_path) -> None:
    path = tmp_path / ".condarc"
    path.write_text("a: 1\n")
    snap = files.read(str(path))
    path.write_text("a: 2\n")  # another program
    with pytest.raises(ConfigError, match="changed since minstall read it"):
        files.commit(snap, b"a: 3\n")
    assert path.read_text() == "a: 2\n"
    gone = files.read(str(tmp_path / "absent"))
    (tmp_path / "absent").write_text("created meanwhile\n")
    with pytest.raises(ConfigError):
        files.commit(gone, b"x\n")


def test_a_byte_order_mark_is_kept_and_non_utf8_is_an_error(tmp_path) -> None:
    path = tmp_path / "pip.ini"
    path.write_bytes(b"\xef\xbb\xbf[global]\r\n")
    snap = files.read(str(path))
    assert snap.text == "[global]\r\n"
    assert snap.encode("[global]\r\nx = 1\r\n") == b"\xef\xbb\xbf[global]\r\nx = 1\r\n"
    path.write_bytes(b"[global]\n\xff\n")
    with pytest.raises(ConfigError, match="not utf-8 text"):
        _ = files.read(str(path)).text


def test_oversized_files_and_folders_are_refused(tmp_path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"#" * (files.MAX_CONFIG_BYTES + 1))
    with pytest.raises(ConfigError, match="not a configuration file"):
        files.read(str(big))
    with pytest.raises(ConfigError, match="is a folder"):
        files.read(str(tmp_path))


def test_a_broken_record_is_replaced_by_apply_and_an_error_to_undo(tmp_path) -> None:
    from mirrorinstall.core.errors import CacheError

    (tmp_path / "config").mkdir()
    for junk in ("{", "[]", "\xff"):
        (tmp_path / "config" / "applied.json").write_text(junk)
        assert files.load_record(tmp_path) == {}
        with pytest.raises(CacheError, match="unreadable"):
            files.load_record(tmp_path, strict=True)
    for junk in ('{"conda": {"path": 5}}', '{"pip": "x"}'):  # entries that are not records
        (tmp_path / "config" / "applied.json").write_text(junk)
        assert files.load_record(tmp_path, strict=True) == {}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs or /dev/null here")
def test_a_config_path_that_is_a_device_or_a_fifo_is_refused_and_left_alone(tmp_path) -> None:
    """Issue 21: a config file linked to /dev/null was replaced by a regular file (as root:
    /dev/null itself); a FIFO hung for ever. Regular files only, opened without blocking."""
    import time

    linked = tmp_path / "pip.conf"
    linked.symlink_to("/dev/null")
    with pytest.raises(ConfigError, match="not a regular file"):
        files.read(str(linked), "pip")
    fifo = tmp_path / "uv.toml"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(ConfigError, match="not a regular file"):
        files.read(str(fifo), "uv")
    assert time.monotonic() - started < 5
    (tmp_path / "folder.toml").mkdir()
    with pytest.raises(ConfigError, match="is a folder"):
        files.read(str(tmp_path / "folder.toml"), "uv")
    assert os.path.islink(linked) and os.readlink(linked) == "/dev/null"
