"""Every "Fixed command" a refusal offers is a command that runs (issue 19): the corpus's
refused commands each get one, and it rewrites without a refusal of its own; a channel
prefix stays on its spec and companion pins move with torch."""

from __future__ import annotations

import pytest
from test_corpus import HOSTS, ITEMS, _commands
from test_rewrite import ctx

from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.errors import CudaError, MinstallError
from mirrorinstall.cuda.packaged import load_tables
from mirrorinstall.rewrite.fixed import fixed_args
from mirrorinstall.run.planning import make_plan

TABLES = load_tables()


def test_a_channel_prefix_stays_and_companions_move_with_torch() -> None:
    args = ["pytorch::pytorch=1.0.0", "torchvision=0.2.1", "cudatoolkit=9.0", "-c", "pytorch"]
    # torch 1.7.1 pairs with torchvision 0.8.2 (pytorch.org previous versions)
    assert fixed_args(args, "pytorch", "pytorch=1.7.1", TABLES) == [
        "pytorch::pytorch=1.7.1",
        "torchvision=0.8.2",
        "cudatoolkit=9.0",
        "-c",
        "pytorch",
    ]
    pip = ["torch==1.4.0+cu92", "torchvision==0.5.0+cu92", "-f", "x"]
    # torch 1.13.1 pairs with torchvision 0.14.1
    assert fixed_args(pip, "torch", "torch==1.13.1", TABLES)[:2] == [
        "torch==1.13.1",
        "torchvision==0.14.1+cu92",
    ]
    unknown = fixed_args(["torch==1.4", "torchvision==0.5.0"], "torch", "torch==9.9", TABLES)
    assert unknown == ["torch==9.9", "torchvision"]  # pairing unknown: the pin is dropped
    assert fixed_args(["-c", "pytorch", "pytorch"], "pytorch", "pytorch=1.7.1", TABLES) == [
        "-c",
        "pytorch",
        "pytorch=1.7.1",
    ]


def _refused() -> list:
    out = []
    for item in ITEMS:
        if item["kind"] != "command":
            continue
        for argv in _commands(item["text"]):
            try:
                cmd = parse_command(argv)
            except MinstallError:
                continue
            out += [pytest.param(cmd, h, id=f"{item['id']}-{h}") for h in HOSTS]
    return out


@pytest.mark.parametrize(("cmd", "host"), _refused())
def test_every_fixed_command_in_the_corpus_runs(cmd, host) -> None:
    for mode in ("keep", "auto"):
        context = ctx(host=HOSTS[host], cuda_mode=mode)
        try:
            make_plan(cmd, context)
        except CudaError as exc:
            if "Fixed command: " not in exc.hint:
                continue
            fixed = exc.hint.split("Fixed command: ", 1)[1].split(" && ")[-1]
            import shlex

            again = parse_command(shlex.split(fixed))
            make_plan(again, context)  # a refusal here fails the test
        except MinstallError:
            continue
