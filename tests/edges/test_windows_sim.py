"""minstall's Windows branches, taken on Linux under tests/winsim.py (issue 24): the fetch
engine without pwrite/pread and with Windows' file sharing, renames that wait out a
scanner's hold, child output in code page 936, and the sim itself checked to bite."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import winsim
from farm import Fault, MirrorSpec
from test_fetch import CHUNK, WHEEL, _truth

from mirrorinstall.core import fileops, hostos
from mirrorinstall.core.childtext import OutputDecoder, decode_output
from mirrorinstall.fetch.store import Store
from mirrorinstall.fetch.transfer import Fetcher, Job, Source

# cmd's own message for a command it cannot find, as a Chinese Windows prints it (code page
# 936), quoted in https://www.0573cn.cn/post/33616.html; and ERROR_ACCESS_DENIED's text
CMD_NOT_FOUND = "'conda' 不是内部或外部命令，也不是可运行的程序\r\n或批处理文件。\r\n"
ACCESS_DENIED = "拒绝访问。"


@pytest.fixture
def farm(make_farm):  # two mirrors and one that turns corrupt
    return make_farm(*(MirrorSpec(name, bandwidth_bps=8e6) for name in ("a", "b", "c")))


def test_the_sim_takes_away_what_windows_lacks_and_refuses_renaming_open_files(
    windows_sim, tmp_path: Path
) -> None:
    """The stand-in bites: without it these would pass on Linux and prove nothing."""
    assert not hasattr(os, "pwrite") and not hasattr(os, "killpg")
    assert hostos.windows_rules()
    held = tmp_path / "held"
    held.write_bytes(b"x")
    with open(held, "rb"), pytest.raises(PermissionError, match="WinError 32"):
        os.replace(held, tmp_path / "moved")
    fd = os.open(held, os.O_RDONLY)
    with pytest.raises(PermissionError):
        os.unlink(held)
    os.close(fd)
    os.unlink(held)  # closed: allowed


def test_the_fetch_engine_works_without_pwrite_and_closes_files_before_moving_them(
    windows_sim, farm, tmp_path: Path
) -> None:
    """Before: the first worker died on os.pwrite (AttributeError), the others waited for its
    span forever, and the install never ended. Three mirrors, ranges, one serving a copy
    damaged throughout (the repair reopens the file, rewrites ranges, renames it)."""
    body, sha = _truth(farm)
    farm["c"].set_faults(Fault("corrupt-throughout"))
    job = Job(
        "bigwheel-1.0-py3-none-any.whl",
        sha,
        None,
        [Source(m, farm[m].url + WHEEL) for m in ("a", "b", "c")],
    )
    [out] = Fetcher(Store(tmp_path), connections=2, chunk=CHUNK).run([job])
    assert out.error is None, out.error
    assert out.path.read_bytes() == body  # binary: not one LF turned into CRLF
    assert "corrupt copy" in out.dropped.get("c", "")
    assert not list((tmp_path / "partial").glob("*"))


def test_a_worker_that_fails_stops_the_transfer_instead_of_hanging_it(
    farm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in one worker (here: the store's writer raising what no fault explains) ends the
    run with that error at once; before, the other workers waited for its span forever."""
    _, sha = _truth(farm)

    def broken(self, data: bytes, offset: int) -> None:
        raise AttributeError("module 'os' has no attribute 'pwrite'")

    monkeypatch.setattr("mirrorinstall.fetch.store.PartFile.write_at", broken)
    job = Job(
        "bigwheel-1.0-py3-none-any.whl",
        sha,
        None,
        [Source(m, farm[m].url + WHEEL) for m in ("a", "b")],
    )
    started = time.monotonic()
    with pytest.raises(AttributeError, match="pwrite"):
        Fetcher(Store(tmp_path), connections=2, chunk=CHUNK).run([job])
    assert time.monotonic() - started < 15


def test_a_file_an_antivirus_holds_for_a_moment_is_renamed_once_it_lets_go(
    windows_sim, tmp_path: Path
) -> None:
    src, dst = tmp_path / "new", tmp_path / "target"
    src.write_bytes(b"new")
    dst.write_bytes(b"old")
    held = open(dst, "rb")  # noqa: SIM115 - the scanner's handle, closed by the timer
    threading.Timer(0.3, held.close).start()
    started = time.monotonic()
    fileops.replace(src, dst)
    assert dst.read_bytes() == b"new" and time.monotonic() - started >= 0.25


def test_a_config_file_held_open_past_the_retries_is_a_clear_error_and_nothing_is_lost(
    windows_sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mirrorinstall.config import files
    from mirrorinstall.core.errors import ConfigError

    monkeypatch.setattr(fileops, "RETRY_S", 0.2)
    conf = tmp_path / "pip.ini"
    conf.write_bytes(b"[global]\r\nindex-url = https://old/simple\r\n")
    snap = files.read(str(conf))
    with open(conf, "rb"), pytest.raises(ConfigError) as caught:
        files.commit(snap, b"[global]\r\nindex-url = https://new/simple\r\n")
    assert "another program has it open" in caught.value.message
    assert conf.read_bytes() == b"[global]\r\nindex-url = https://old/simple\r\n"
    assert [p.name for p in tmp_path.iterdir()] == ["pip.ini"]  # no temporary file left


def test_output_in_code_page_936_is_read_as_such_utf8_as_utf8() -> None:
    assert decode_output(CMD_NOT_FOUND.encode("cp936"), "cp936") == CMD_NOT_FOUND
    assert decode_output(ACCESS_DENIED.encode("utf-8"), "cp936") == ACCESS_DENIED
    # a tail cut inside a character at either end is still UTF-8
    cut = ("x" + ACCESS_DENIED).encode("utf-8")
    assert decode_output(cut[2:-1], "cp936").startswith(ACCESS_DENIED[1:-1])
    decoder = OutputDecoder("cp936")
    data = ("进度 50%\r" + CMD_NOT_FOUND).encode("cp936")
    text = "".join(decoder.feed(data[k : k + 3]) for k in range(0, len(data), 3))
    assert text + decoder.feed(b"", final=True) == "进度 50%\r" + CMD_NOT_FOUND


CHILD_SAYS = """
import sys
sys.stdout.write({say})
sys.stdout.flush()
sys.stderr.buffer.write({raw})
sys.exit(3)
"""


def test_a_childs_chinese_output_reaches_a_chinese_console_intact(
    windows_sim, gbk_locale: dict[str, str]
) -> None:
    """Under Windows' rules in a code page 936 environment: a Python child is asked for UTF-8
    (it writes 拒绝访问 in UTF-8), a program that ignores that writes cp936 (cmd's message);
    minstall writes both to its own streams as text in the console's encoding, and the tail it
    classifies holds the real characters, not replacement characters."""
    # ASCII source: argv itself is read in the locale's encoding
    code = CHILD_SAYS.format(
        say=ascii(ACCESS_DENIED + "\n"), raw=ascii(CMD_NOT_FOUND.encode("cp936"))
    )
    probe = (
        "import sys\n"
        "from mirrorinstall.run.runner import run_child\n"
        f"r = run_child([sys.executable, '-c', {code!r}], use_pty=False)\n"
        "sys.stdout.flush()\n"
        "sys.stdout.buffer.write(b'\\n--tail--\\n' + r.tail.encode('utf-8'))\n"
        "sys.exit(r.exit_code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", "import winsim; winsim.apply(whole_process=True)\n" + probe],
        capture_output=True,
        env={**os.environ, **gbk_locale, "PYTHONPATH": str(Path(winsim.__file__).parent)},
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr.decode("gbk", "replace")
    shown, tail = proc.stdout.split(b"\n--tail--\n")
    assert shown.decode("gbk") == ACCESS_DENIED + "\n"  # the console's encoding, intact
    assert proc.stderr.decode("gbk") == CMD_NOT_FOUND
    assert ACCESS_DENIED in tail.decode("utf-8") and "不是内部或外部命令" in tail.decode("utf-8")


def test_cache_clean_leaves_a_file_another_program_holds_and_removes_the_rest(
    windows_sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the first file pip held open ended `minstall cache clean` with an error."""
    monkeypatch.setattr(fileops, "RETRY_S", 0.1)
    store = Store(tmp_path)
    held, free = store.path("a" * 64), store.path("b" * 64)
    for path in (held, free):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 10)
    with open(held, "rb"):
        assert store.clean() == 10
    assert held.exists() and not free.exists()
