"""Hand-written expected outcomes for corpus items (tests/data/real_commands/expected.toml,
issue 19): each names an item, a host, a mode, and what the plan must hold (or the refusal),
with the reason from the sources the file's header lists."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_corpus import HOSTS, ITEMS, cases, plan_for

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.errors import MinstallError
from mirrorinstall.cuda.choose import CudaMismatch

EXPECTED = Path(__file__).resolve().parents[1] / "data" / "real_commands" / "expected.toml"
EXPECTATIONS = tomllib.loads(EXPECTED.read_text(encoding="utf-8"))["expect"]
BY_ID = {i["id"]: i for i in ITEMS}
PLACES = {
    "{TUNA}": "https://mirrors.tuna.tsinghua.edu.cn/anaconda",
    "{TPYPI}": "https://pypi.tuna.tsinghua.edu.cn/simple",
    "{ALIYUN}": "https://mirrors.aliyun.com/pytorch-wheels",
    "{NJU}": "https://mirror.nju.edu.cn/pytorch/whl",
    "{SUSTECH_NV}": "https://mirrors.sustech.edu.cn/anaconda-extra/cloud/nvidia",
}
HOST = {"gpu": "rtx3090-driver550", "none": "no-driver"}


def _fill(value):
    if isinstance(value, list):
        return [_fill(v) for v in value]
    for key, url in PLACES.items():
        value = value.replace(key, url)
    return value


def test_at_least_forty_expectations_each_with_a_reason_and_a_real_item() -> None:
    assert len(EXPECTATIONS) >= 40
    assert len({e["item"] for e in EXPECTATIONS}) >= 30
    for e in EXPECTATIONS:
        assert e["item"] in BY_ID and e["why"].strip(), e["item"]


@pytest.mark.parametrize(
    "expect",
    EXPECTATIONS,
    ids=[f"{e['item']}-{e['host']}-{e['mode']}-{e.get('command', 0)}" for e in EXPECTATIONS],
)
def test_an_expected_outcome(expect) -> None:
    item = BY_ID[expect["item"]]
    if "refused" in expect and not cases(item):  # refused before any rewrite (uv add)
        command = item["text"].split("\n")[0].split()
        with pytest.raises(MinstallError) as info:
            parse_command(command)
        assert expect["refused"] in info.value.message
        return
    argv, files, environ = cases(item)[expect.get("command", 0)]
    host = HOST[expect["host"]]
    assert host in HOSTS
    if "refused" in expect:
        with pytest.raises((CudaMismatch, MinstallError)) as info:
            plan_for(argv, files, host, expect["mode"], environ)
        assert expect["refused"] in info.value.message
        if "hint" in expect:
            assert expect["hint"] in info.value.hint
        return
    plan = plan_for(argv, files, host, expect["mode"], environ)
    got = plan.argv
    joined = " ".join([*got, *plan.writes.values()])
    if "argv" in expect:
        assert got == _fill(expect["argv"]), plan.notes
    for token in _fill(expect.get("has", [])):
        assert token in got, (token, got, plan.notes)
    for text in _fill(expect.get("lacks", [])):
        assert text not in joined, (text, joined)
    for text in _fill(expect.get("notes", [])):
        assert any(text in n for n in plan.notes), (text, plan.notes)
    for text in _fill(expect.get("writes", [])):
        assert any(text in w for w in plan.writes.values()), (text, plan.writes)
    if "unset" in expect:
        assert plan.unset == expect["unset"]
