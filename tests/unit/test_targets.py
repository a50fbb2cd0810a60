"""What bench probes on each mirror (pure)."""

from __future__ import annotations

from pathlib import Path

from mirrorinstall.bench.targets import plan_targets
from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.core.netid import _default_route, _nameservers

ROOT = Path(__file__).resolve().parents[2]


def packaged():
    return build_catalog([("mirrors.toml", (ROOT / "mirrors.toml").read_text())])


def test_targets_for_the_packaged_catalog() -> None:
    targets = {(t.mirror, t.kind): t for t in plan_targets(packaged())}
    assert (
        targets[("tuna", "conda")].url
        == "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/conda-forge/noarch/repodata.json"
    )
    assert targets[("anaconda", "conda")].channel == "main"  # no conda-forge there
    assert (
        targets[("anaconda-org", "conda")].url
        == "https://conda.anaconda.org/conda-forge/noarch/repodata.json"
    )
    assert targets[("tuna", "pypi")].url == "https://pypi.tuna.tsinghua.edu.cn/simple/pip/"
    assert targets[("pytorch-org", "pytorch")].url == "https://download.pytorch.org/whl/cpu/torch/"
    assert targets[("aliyun", "pytorch")].url == "https://mirrors.aliyun.com/pytorch-wheels/cpu/"
    assert targets[("sjtu", "pytorch")].url.endswith("/pytorch-wheels/cpu/torch_stable.html")
    assert ("douban", "conda") not in targets and ("tuna", "pytorch") not in targets
    assert targets[("pypi", "pypi")].upstream


def test_filters_and_disabled_mirrors() -> None:
    cat = build_catalog(
        [
            ("a", (ROOT / "mirrors.toml").read_text()),
            ("u", "schema = 1\n[mirror.tuna]\nenabled = false\n"),
        ]
    )
    assert "tuna" not in {t.mirror for t in plan_targets(cat)}
    only = plan_targets(cat, kinds=["pypi"], mirror_ids=["tuna", "ustc"])
    assert [(t.mirror, t.kind) for t in only] == [("tuna", "pypi"), ("ustc", "pypi")]


def test_network_identity_from_route_table_and_resolv_conf() -> None:
    route = (
        "Iface\tDestination\tGateway \tFlags\n"
        "eth0\t0011A8C0\t00000000\t0001\n"
        "eth0\t00000000\t0111A8C0\t0003\n"
    )
    assert _default_route(route) == "eth0 via 192.168.17.1"
    assert _nameservers("# x\nnameserver 10.0.0.2\nnameserver ::1\n") == ["10.0.0.2", "::1"]
