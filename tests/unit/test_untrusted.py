"""Splitting URLs and reading JSON from text minstall does not control (pure)."""

from __future__ import annotations

import pytest

from mirrorinstall.core.untrusted import for_output, json_object, json_value, printable
from mirrorinstall.core.urls import host_port, redact_url, split_url


@pytest.mark.parametrize(
    "text", ["https://[::1", "https://[::1/simple", "http://host:99999/", "http://host:x/"]
)
def test_urls_no_parser_reads_are_none_not_an_exception(text) -> None:
    assert split_url(text) is None and host_port(text) is None


def test_urls_that_parse_keep_their_parts_and_default_ports() -> None:
    assert split_url("https://[::1]:8443/simple").hostname == "::1"
    assert host_port("https://pypi.tuna.tsinghua.edu.cn/simple") == (
        "pypi.tuna.tsinghua.edu.cn",
        443,
    )
    assert host_port("http://127.0.0.1:8080/x") == ("127.0.0.1", 8080)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://alice:S3cretPW@host/simple", "http://alice:****@host/simple"),
        ("--index-url=https://bob:p%40ss@h:8443/s", "--index-url=https://bob:****@h:8443/s"),
        (
            "see https://tok:x-oauth@github.com/x and http://h/",
            "see https://tok:****@github.com/x and http://h/",
        ),
        ("https://user@host/", "https://user@host/"),  # no password: nothing to hide
    ],
)
def test_passwords_in_urls_are_masked_as_pip_masks_them(text, shown) -> None:
    assert redact_url(text) == shown


def test_control_characters_never_reach_a_terminal() -> None:
    title = "403 \x1b]0;pwned\x07\x1b[2J\x9b31m Forbidden\r\nnext"
    assert printable(title) == "403 ?]0;pwned??[2J?31m Forbidden??next"
    assert printable("a\tb\nc\x1b", lines=True) == "a\tb\nc?"


@pytest.mark.parametrize(
    "text", ["[" * 100_000 + "]" * 100_000, '{"a": NaN}', '{"a": Infinity}', "{", b"\xff"]
)
def test_json_from_outside_fails_only_with_value_error(text) -> None:
    with pytest.raises(ValueError):
        json_value(text)


def test_json_object_wants_an_object() -> None:
    assert json_object('{"a": 1}') == {"a": 1}
    with pytest.raises(ValueError):
        json_object("[1]")


def test_what_minstall_prints_has_no_password_token_or_escape() -> None:
    from mirrorinstall.core.untrusted import for_output

    line = "pip install x --index-url https://u:pw@h/s  # token tok-123456\x1b[2J\r\n"
    assert for_output(line, frozenset({"tok-123456"})) == (
        "pip install x --index-url https://u:****@h/s  # token ****?[2J\r\n"
    )


def test_json_minstall_writes_holds_no_nan_or_infinity() -> None:
    import json

    from mirrorinstall.core.untrusted import finite

    doc = {"a": float("inf"), "b": [1.5, float("nan")], "c": {"d": -float("inf")}, "e": "x"}
    assert json.dumps(finite(doc)) == '{"a": null, "b": [1.5, null], "c": {"d": null}, "e": "x"}'


def test_a_password_moved_to_the_childs_environment_is_printed_masked() -> None:
    from mirrorinstall.core.untrusted import for_output

    assert for_output("MINSTALL_SECRET_1=pw pip install -r /c/req.txt") == (
        "MINSTALL_SECRET_1=**** pip install -r /c/req.txt"
    )
    assert for_output('{"MINSTALL_SECRET_2": "pw"}') == '{"MINSTALL_SECRET_2": "****"}'
    assert for_output("--index-url https://u:${MINSTALL_SECRET_1}@h/s") == (
        "--index-url https://u:****@h/s"
    )


def test_invisible_characters_that_reorder_text_are_shown_too() -> None:
    """A bidi override can make ``gpj.exe`` read as ``exe.jpg``; a zero-width space can hide
    a difference. Ideographic space and CJK text are ordinary text and stay."""
    assert printable("a\u202eb\u200bc\u2066d") == "a?b?c?d"
    assert printable("中文\u3000镜像") == "中文\u3000镜像"


@pytest.mark.parametrize(
    "text",
    [
        "https://" + "a" * 100_000,
        "https://u:" + "p" * 100_000,
        "https://" + "a:" * 50_000 + "@x",
        ("a://b:" + "c" * 100) * 1_000,
        "x" * 100_000 + "://u:p@h",
    ],
    ids=["letters", "password-no-at", "colons", "many-schemes", "long-word-scheme"],
)
def test_the_output_guard_is_linear_on_long_urls(text: str) -> None:
    """Issue 21: the password pattern was quadratic: a 100 000-character URL took 14-19 s
    (it hung `mirrors`, `env`, `config apply`). Well under a second now; 2 s leaves room."""
    import time

    started = time.perf_counter()
    for_output(text)
    assert time.perf_counter() - started < 2.0


def test_passwords_are_still_masked_after_the_bound() -> None:
    assert for_output("see https://user:s3cret@mirror.example/simple/") == (
        "see https://user:****@mirror.example/simple/"
    )
    assert "s3cret" not in for_output("git+https://tok:s3cret@github.com/x.git")
