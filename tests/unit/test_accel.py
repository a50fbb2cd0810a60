"""AMD, Intel, Ascend and Apple builds of PyTorch (issue 23): detection from the tools' recorded
outputs (tests/data/recorded/accel, each with its source) and the choice, with expected
answers written by hand from the vendors' pages cited in each case.

The tools cannot run here (no such device): ``_Tools`` stands in for them, answering each
program with its recorded stdout, as tests/standins/nvidia-smi does for NVIDIA."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mirrorinstall.core.errors import ConfigError
from mirrorinstall.cuda.accel import Accelerators, AccelMismatch, Device, choose_accel
from mirrorinstall.cuda.accelhost import detect_accelerators, read_cann
from mirrorinstall.cuda.packaged import load_tables

REC = Path(__file__).resolve().parents[1] / "data" / "recorded" / "accel"
TABLES = load_tables().accel
PV = "https://pytorch.org/get-started/previous-versions/"


class _Tools:
    """Programs answering with recorded output: name -> file in REC (absent: not installed)."""

    def __init__(self, **files: str) -> None:
        self.files = {
            k.replace("_", "-") if k != "rocm_agent_enumerator" else k: v for k, v in files.items()
        }

    def which(self, name: str) -> str | None:
        return f"/opt/bin/{name}" if name in self.files else None

    def run(self, argv, **_kw) -> subprocess.CompletedProcess:
        name = Path(argv[0]).name
        return subprocess.CompletedProcess(argv, 0, (REC / self.files[name]).read_text(), "")


def _detect(tools: _Tools, root: Path, **kw) -> Accelerators:
    return detect_accelerators(
        {}, run=tools.run, which=tools.which, root=root, system="Linux", machine="x86_64", **kw
    )


# ------------------------------------------------------------------ detection


def test_rocminfo_alone_gives_the_gfx_target_and_the_marketing_name(tmp_path: Path) -> None:
    found = _detect(_Tools(rocminfo="rocminfo-gfx1100.txt"), tmp_path)
    assert found.of("amd") == (Device("amd", "Radeon RX 7900 XTX", "gfx1100"),)
    assert found.how == "rocminfo"


def test_rocm_agent_enumerator_lists_one_target_per_gpu(tmp_path: Path) -> None:
    found = _detect(_Tools(rocm_agent_enumerator="rocm_agent_enumerator-mi300x.txt"), tmp_path)
    assert [d.arch for d in found.of("amd")] == ["gfx942"] * 8


def test_the_kfd_topology_gives_the_target_without_any_tool(tmp_path: Path) -> None:
    nodes = tmp_path / "sys/class/kfd/kfd/topology/nodes"
    (nodes / "0").mkdir(parents=True)
    (nodes / "0" / "properties").write_text(
        "cpu_cores_count 16\nsimd_count 0\ngfx_target_version 0\n"
    )
    (nodes / "1").mkdir()
    (nodes / "1" / "properties").write_text((REC / "kfd-properties-rx7900xtx.txt").read_text())
    found = _detect(_Tools(), tmp_path)
    assert [d.arch for d in found.of("amd")] == ["gfx1100"] and found.how == "KFD topology"


def test_xpu_smi_and_sycl_ls_name_intel_gpus(tmp_path: Path) -> None:
    smi = _detect(_Tools(xpu_smi="xpu-smi-discovery-flex170.txt"), tmp_path)
    assert smi.of("intel") == (Device("intel", "Intel(R) Data Center GPU Flex 170"),)
    sycl = _detect(_Tools(sycl_ls="sycl-ls-a770-windows.txt"), tmp_path)
    assert [d.name for d in sycl.of("intel")] == [
        "Intel(R) UHD Graphics 770",
        "Intel(R) Arc(TM) A770 Graphics",
    ]


def test_newer_sycl_ls_gives_each_gpus_ip_version(tmp_path: Path) -> None:
    # oneAPI 2025 names the platform "Intel(R) oneAPI Unified Runtime over Level-Zero" and
    # prints the IP version after the name (llama.cpp's SYCL guide)
    found = _detect(_Tools(sycl_ls="sycl-ls-a770-uhd730-linux.txt"), tmp_path)
    assert found.of("intel") == (
        Device("intel", "Intel(R) Arc(TM) A770 Graphics", "12.55.8"),
        Device("intel", "Intel(R) UHD Graphics 730", "12.2.0"),
    )
    # the older form prints the Level Zero API version there, which is no IP version
    older = _detect(_Tools(sycl_ls="sycl-ls-iris-xe-windows.txt"), tmp_path)
    assert older.of("intel") == (Device("intel", "Intel(R) Iris(R) Xe Graphics"),)


def test_npu_smi_and_the_cann_info_file_give_the_ascend_pair(tmp_path: Path) -> None:
    info = tmp_path / "usr/local/Ascend/ascend-toolkit/latest/x86_64-linux"
    info.mkdir(parents=True)
    (info / "ascend_toolkit_install.info").write_text(
        (REC / "ascend_toolkit_install-8.1.info").read_text()
    )
    found = _detect(_Tools(npu_smi="npu-smi-info-910b3.txt"), tmp_path)
    assert found.of("ascend") == (Device("ascend", "Ascend 910B3"),)
    assert found.cann == "8.1.RC1"  # version=8.1.RC1.alpha001 in the file


def test_the_older_version_cfg_gives_cann(tmp_path: Path) -> None:
    cfg = tmp_path / "usr/local/Ascend/ascend-toolkit/latest/version.cfg"
    cfg.parent.mkdir(parents=True)
    # the form quoted in https://github.com/Ascend/samples/issues/11
    cfg.write_text("toolkit_running_version=[1.84.15.1.310:6.0.1]\n")
    assert read_cann(tmp_path, "x86_64") == "6.0.1"


def test_nothing_found_is_no_devices_not_an_error(tmp_path: Path) -> None:
    found = _detect(_Tools(), tmp_path)
    assert found.devices == () and found.error is None


def test_apple_is_the_platform_itself(tmp_path: Path) -> None:
    arm = detect_accelerators({}, system="Darwin", machine="arm64", macos="14.5")
    assert arm.of("apple") and arm.macos == "14.5"
    intel = detect_accelerators({}, system="Darwin", machine="x86_64", macos="13.6")
    assert intel.devices == () and intel.machine == "x86_64"


@pytest.mark.parametrize(
    ("value", "kinds"),
    [
        ("amd:gfx1100,gfx942", ["amd", "amd"]),
        ("intel", ["intel"]),
        ("intel:12.0.0", ["intel"]),
        ("ascend:8.0.RC3", ["ascend"]),
        ("none", []),
    ],
)
def test_the_setting_plans_for_another_machine(value: str, kinds: list[str]) -> None:
    found = detect_accelerators({"MINSTALL_ACCELERATOR": value}, system="Linux", machine="x86_64")
    assert [d.kind for d in found.devices] == kinds


def test_the_intel_setting_carries_the_ip_version() -> None:
    found = detect_accelerators({"MINSTALL_ACCELERATOR": "intel:12.0.0"}, system="Linux")
    assert found.of("intel") == (Device("intel", "Intel GPU", "12.0.0"),)


@pytest.mark.parametrize(
    "value", ["amd", "amd:1100", "ascend:", "cuda", "apple:x", "none:1", "intel:arc", "intel:12.55"]
)
def test_a_malformed_setting_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="MINSTALL_ACCELERATOR"):
        detect_accelerators({"MINSTALL_ACCELERATOR": value}, system="Linux", machine="x86_64")


# ------------------------------------------------------------------ the choice
# (machine, os, torch releases the command allows newest first, pinned) -> expected; each
# expected value from the page named in the case's id.

AMD = lambda *a: Accelerators(tuple(Device("amd", f"GPU {x}", x) for x in a), machine="x86_64")  # noqa: E731
INTEL = Accelerators((Device("intel", "Intel(R) Arc(TM) A770 Graphics"),), machine="x86_64")
INTEL_BY_NAME = lambda name: Accelerators((Device("intel", name),), machine="x86_64")  # noqa: E731
INTEL_AT = lambda name, ip: Accelerators((Device("intel", name, ip),), machine="x86_64")  # noqa: E731
ASCEND = lambda cann, m="x86_64": Accelerators((Device("ascend", "Ascend 910B3"),), cann, machine=m)  # noqa: E731
MAC = lambda version, m="arm64": Accelerators(  # noqa: E731
    (Device("apple", "Apple silicon"),) if m == "arm64" else (), macos=version, machine=m
)

CASES = [
    # PV: 2.5.1 lists rocm6.1 and rocm6.2; 2.5.1+rocm6.2 has gfx1100 (uv#14086)
    pytest.param(
        AMD("gfx1100"),
        "linux",
        ["2.5.1"],
        False,
        ("rocm", "rocm6.2", "2.5.1"),
        id="PV-2.5.1-gfx1100",
    ),
    # PV: 2.6.0 lists rocm6.1 and rocm6.2.4
    pytest.param(
        AMD("gfx90a"), "linux", ["2.6.0"], True, ("rocm", "rocm6.2.4", "2.6.0"), id="PV-2.6.0-mi210"
    ),
    # PV 2.7: rocm6.3; gfx1201 (RX 9070) first in 2.7's wheels (pytorch#148562)
    pytest.param(
        AMD("gfx1201"),
        "linux",
        ["2.7.1", "2.6.0"],
        False,
        ("rocm", "rocm6.3", "2.7.1"),
        id="pt148562-rx9070",
    ),
    # dev-discuss 2.10 variants: ROCm 7.0 and 7.1; gfx950 (MI350) from 2.10 (pytorch#167299)
    pytest.param(
        AMD("gfx950"),
        "linux",
        ["2.10.0", "2.9.1"],
        False,
        ("rocm", "rocm7.1", "2.10.0"),
        id="2.10-mi350",
    ),
    pytest.param(
        AMD("gfx950"),
        "linux",
        ["2.9.1", "2.8.0"],
        False,
        ("cpu", "cpu", "2.9.1"),
        id="mi350-before-2.10",
    ),
    # gfx942 (MI300X) only in ROCm >= 6.0 builds: 2.3's rocm6.0 (builder release/2.3)
    pytest.param(
        AMD("gfx942", "gfx942"),
        "linux",
        ["2.3.1"],
        True,
        ("rocm", "rocm6.0", "2.3.1"),
        id="builder-2.3-mi300x",
    ),
    # gfx1103 (780M) is in no wheel (unsloth#9829): CPU build, no override suggested
    pytest.param(
        AMD("gfx1103"), "linux", ["2.7.1"], False, ("cpu", "cpu", "2.7.1"), id="unsloth9829-780m"
    ),
    # ROCm wheels are Linux only (TI adds ROCM_ARCHES for LINUX only)
    pytest.param(
        AMD("gfx1100"),
        "windows",
        ["2.7.1"],
        False,
        ("cpu", "cpu", "2.7.1"),
        id="TI-rocm-linux-only",
    ),
    # get_start_xpu (2.5): binary wheels on Linux and Windows from 2.5
    pytest.param(INTEL, "linux", ["2.5.1"], True, ("xpu", "xpu", "2.5.1"), id="xpu-2.5-linux"),
    pytest.param(INTEL, "windows", ["2.8.0"], True, ("xpu", "xpu", "2.8.0"), id="xpu-2.8-windows"),
    # Intel GPUs before Arc (Alchemist, IP 12.55.8): torch's XPU build warns "not officially
    # supported" (pytorch#165622; quoted for a UHD 770 in intel-xpu-backend-for-triton#5616,
    # for an Iris Xe in geti-instant-learn#640): the CPU build
    pytest.param(
        INTEL_BY_NAME("Intel(R) Iris(R) Xe Graphics"),
        "windows",
        ["2.8.0"],
        False,
        ("cpu", "cpu", "2.8.0"),
        id="geti640-iris-xe",
    ),
    pytest.param(
        INTEL_BY_NAME("Intel(R) UHD Graphics 770"),
        "linux",
        ["2.9.1"],
        True,
        ("cpu", "cpu", "2.9.1"),
        id="triton5616-uhd770",
    ),
    # by IP version (llama.cpp SYCL guide): UHD 730 is 12.2.0, older than Arc
    pytest.param(
        INTEL_AT("Intel(R) UHD Graphics 730", "12.2.0"),
        "linux",
        ["2.8.0"],
        False,
        ("cpu", "cpu", "2.8.0"),
        id="sycl-uhd730-12.2.0",
    ),
    # a Core Ultra 7 155H (Meteor Lake-H, validated in get_start_xpu) is "Intel(R) Graphics
    # [0x7d55]" at 12.71.4 in sycl-ls: its name says nothing, its IP version does
    pytest.param(
        INTEL_AT("Intel(R) Graphics [0x7d55]", "12.71.4"),
        "windows",
        ["2.8.0"],
        False,
        ("xpu", "xpu", "2.8.0"),
        id="get_start_xpu-meteor-lake-h",
    ),
    # Battlemage (B580: 20.1.0 in sycl-ls, canonical/intel-graphics-preview), validated
    pytest.param(
        INTEL_AT("Intel(R) Arc(TM) B580 Graphics", "20.1.0"),
        "linux",
        ["2.8.0"],
        False,
        ("xpu", "xpu", "2.8.0"),
        id="get_start_xpu-b580",
    ),
    # the Data Center GPU Flex 170 (xpu-smi names it, no IP version) is an Alchemist part
    pytest.param(
        INTEL_BY_NAME("Intel(R) Data Center GPU Flex 170"),
        "linux",
        ["2.8.0"],
        False,
        ("xpu", "xpu", "2.8.0"),
        id="xpumanager69-flex170",
    ),
    # Ascend COMPATIBILITY.en.md: 2.5.1 <-> CANN 8.1.RC1 (torch-npu 2.5.1)
    pytest.param(
        ASCEND("8.1.RC1"), "linux", ["2.5.1"], True, ("npu", "cpu", "2.5.1"), id="ascend-8.1RC1-x86"
    ),
    pytest.param(
        ASCEND("8.1.RC1", "aarch64"),
        "linux",
        ["2.5.1"],
        True,
        ("npu", "pypi", "2.5.1"),
        id="ascend-aarch64-pypi",
    ),
    # CANN 8.0.0 pairs with 2.4.0/2.3.1/2.1.0: unpinned takes the newest, 2.4.0
    pytest.param(
        ASCEND("8.0.0"),
        "linux",
        ["2.13.0", "2.12.0"],
        False,
        ("npu", "cpu", "2.4.0"),
        id="ascend-8.0.0-newest",
    ),
    # Apple: wheels tagged macosx_14_0 from 2.12 (pytorch-cpu-feedstock#497)
    pytest.param(
        MAC("13.6"),
        "macos",
        ["2.12.0", "2.11.0"],
        False,
        ("mps", "pypi", "2.11.0"),
        id="feedstock497-macos13",
    ),
    pytest.param(
        MAC("14.5"), "macos", ["2.12.0"], True, ("mps", "pypi", "2.12.0"), id="macos14-2.12"
    ),
    # Intel Macs: nothing after 2.2.2 (pytorch#114602)
    pytest.param(
        MAC("13.6", "x86_64"),
        "macos",
        ["2.5.1", "2.2.2"],
        False,
        ("cpu", "pypi", "2.2.2"),
        id="pt114602-intel-mac",
    ),
]


@pytest.mark.parametrize(("acc", "os", "releases", "pinned", "want"), CASES)
def test_the_build_for_each_accelerator(acc, os, releases, pinned, want) -> None:
    got = choose_accel(TABLES, acc, releases, os, pinned=pinned)
    assert got is not None
    assert (got.kind, got.variant, got.release) == want, got.reason


def test_ascend_names_its_companion_package() -> None:
    got = choose_accel(TABLES, ASCEND("8.1.RC1"), ["2.5.1"], "linux", pinned=True)
    assert got is not None and got.extras == ("torch-npu==2.5.1",)


def test_an_rdna2_card_gets_the_override_named_as_unsupported() -> None:
    got = choose_accel(TABLES, AMD("gfx1032"), ["2.7.1"], "linux", pinned=False)
    assert got is not None and got.kind == "cpu"
    assert any("HSA_OVERRIDE_GFX_VERSION=10.3.0" in n and "unsupported" in n for n in got.notes)


def test_an_arc_beside_older_integrated_graphics_gets_xpu_and_a_note(tmp_path: Path) -> None:
    found = _detect(_Tools(sycl_ls="sycl-ls-a770-uhd730-linux.txt"), tmp_path)
    got = choose_accel(TABLES, found, ["2.8.0"], "linux", pinned=False)
    assert got is not None and got.variant == "xpu"
    assert "A770" in got.reason and "UHD" not in got.reason
    assert any("Intel(R) UHD Graphics 730 (12.2.0)" in n for n in got.notes)


def test_older_integrated_graphics_alone_name_the_way_to_the_xpu_build() -> None:
    acc = INTEL_BY_NAME("Intel(R) Iris(R) Xe Graphics")
    got = choose_accel(TABLES, acc, ["2.8.0"], "windows", pinned=False)
    assert got is not None and got.kind == "cpu"
    assert "Iris(R) Xe" in got.reason and "not officially supported" in got.reason
    assert any("https://download.pytorch.org/whl/xpu" in n for n in got.notes)


@pytest.mark.parametrize(
    ("acc", "os", "releases", "words"),
    [
        (AMD("gfx1201"), "linux", ["2.6.0"], "start with torch 2.7: ask for torch>=2.7"),
        (INTEL, "linux", ["2.4.1"], "XPU wheels exist from 2.5"),
        (ASCEND("8.0.0"), "linux", ["2.5.1"], "pairs with torch 2.1.0, 2.3.1, 2.4.0"),
        (
            MAC("13.6", "x86_64"),
            "macos",
            ["2.5.1"],
            "no macOS x86_64 (Intel Mac) wheels after torch 2.2.2",
        ),
    ],
    ids=["rocm-2.6-rx9070", "xpu-2.4", "ascend-8.0.0-2.5.1", "intel-mac-2.5.1"],
)
def test_a_pinned_release_with_no_build_here_is_refused_with_the_fix(
    acc, os, releases, words
) -> None:
    with pytest.raises(AccelMismatch) as caught:
        choose_accel(TABLES, acc, releases, os, pinned=True)
    assert words in caught.value.message + caught.value.hint


def test_no_accelerator_leaves_the_choice_to_the_cuda_rules() -> None:
    assert choose_accel(TABLES, Accelerators(), ["2.5.1"], "linux", pinned=False) is None


# ------------------------------------------------------------------ macOS in the install path
# PyTorch's install selector for Mac: "pip3 install torch torchvision" (PyPI); the cpu index
# holds the same files without a build tag: "torch-2.5.1-cp311-none-macosx_11_0_arm64.whl"
# (https://github.com/NixOS/nixpkgs/blob/e92ca43739479e0b1db6303ed1c4ba49daec609b/pkgs/
# development/python-modules/torch/bin/binary-hashes.nix), so "+cpu" finds nothing on a Mac.
# Intel Macs: no wheels after 2.2.2 (pytorch#114602); 2.2.2 pairs torchvision 0.17.2 (PV).
MAC_CASES = [
    pytest.param(MAC("14.5"), "pip install torch==2.5.1 torchvision",
                 ["torch==2.5.1", "torchvision==0.20.1"], id="arm64-pinned"),
    pytest.param(MAC("14.5", "x86_64"), "pip install torch torchvision",
                 ["torch==2.2.2", "torchvision==0.17.2"], id="intel-mac-newest-it-has"),
    # an index the command names keeps its role, on the variant that has the Mac's files
    pytest.param(MAC("14.5"), "pip install torch==2.4.1 --index-url "
                 "https://download.pytorch.org/whl/cu121",
                 ["torch==2.4.1", "/pytorch/whl/cpu"], id="cuda-index-on-mac"),
    # wheels tagged macosx_14_0 from 2.12 (pytorch-cpu-feedstock#497): macOS 13 stays on 2.11
    pytest.param(MAC("13.6"), "pip install torch>=2.10", ["torch==2.11.0"], id="macos13"),
]  # fmt: skip


def _mac_plan(acc: Accelerators, line: str, mode: str = "auto"):
    from mirrorinstall.context.facts import Facts, Ranking
    from mirrorinstall.core.argv import parse_command
    from mirrorinstall.core.catalog import build_catalog
    from mirrorinstall.cuda.choose import HostCuda
    from mirrorinstall.rewrite import Context, rewrite

    root = Path(__file__).resolve().parents[2]
    facts = Facts(
        catalog=build_catalog([("mirrors.toml", (root / "mirrors.toml").read_text())]),
        ranking=Ranking(order={"pypi": ("tuna",), "pytorch": ("nju",)}),
        tables=load_tables(),
        host=HostCuda(how="no nvidia-smi (macOS)"),
        accel=acc,
        platform="osx-arm64" if acc.machine == "arm64" else "osx-64",
        python="3.11",
    )
    return rewrite(parse_command(line.split()), Context(facts, mode, False))


@pytest.mark.parametrize(("acc", "line", "want"), MAC_CASES)
def test_a_mac_gets_pypis_wheels_without_a_build_tag(acc, line, want) -> None:
    got = _mac_plan(acc, line)
    for token in want:  # a URL on the ranked mirror (NJU here) by its path
        assert any(t == token or t.endswith(token) for t in got.argv), (got.argv, got.notes)
    assert not [t for t in got.argv if "+cpu" in t or "/cu121" in t], got.argv


def test_cpu_asked_for_on_a_mac_is_the_same_wheel() -> None:
    got = _mac_plan(MAC("14.5"), "pip install torch==2.5.1", mode="cpu")
    assert "torch==2.5.1" in got.argv and not [t for t in got.argv if "+cpu" in t], got.argv


def test_a_release_an_intel_mac_has_no_wheel_for_is_refused_with_the_fix() -> None:
    from mirrorinstall.cuda.choose import CudaMismatch

    with pytest.raises(CudaMismatch) as err:
        _mac_plan(MAC("14.5", "x86_64"), "pip install torch==2.5.1")
    assert "2.2.2" in err.value.message and "torch<=2.2.2" in err.value.hint
