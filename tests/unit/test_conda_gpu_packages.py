"""conda commands for the GPU-built packages beside torch (issue 23): PaddlePaddle's conda
channel as its install pages name it (TUNA's copy), other mirrors' channel URLs, and
conda-forge's CUDA/CPU twin builds (JAX's jaxlib), as hand-written cases: a machine, a
ranking and a command in, the command (or a refusal) out.

Expected values come from the pages each case cites, read by hand, never from the tables or
the catalog the code reads: the mirrors' channel URLs from their own help pages (TUNA's
anaconda help, ZJU's config generator), conda-forge's build strings from the feedstocks'
recipes (``cuda{ver}_py...`` / ``cpu_py...``), NVIDIA's driver floors from
https://docs.nvidia.com/deploy/cuda-compatibility/ (CUDA 11.x: >= 450.80.02 on Linux)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorinstall.context.facts import Facts, Ranking
from mirrorinstall.core.argv import parse_command
from mirrorinstall.core.catalog import build_catalog
from mirrorinstall.cuda.choose import CudaMismatch, HostCuda
from mirrorinstall.cuda.packaged import load_tables
from mirrorinstall.rewrite import Context, rewrite

ROOT = Path(__file__).resolve().parents[2]
CATALOG = build_catalog([("mirrors.toml", (ROOT / "mirrors.toml").read_text())])
TUNA = "https://mirrors.tuna.tsinghua.edu.cn/anaconda"  # TUNA's anaconda help page
ZJU = "https://mirrors.zju.edu.cn/anaconda"  # ZJUSCT/mirror-front anaconda-config.tsx
BFSU = "https://mirrors.bfsu.edu.cn/anaconda"  # BFSU carries no Paddle
OFFICIAL = "https://conda.anaconda.org"
# PaddlePaddle's conda install page (2.2.1, as copied in the CSDN post it cites):
# conda install paddlepaddle-gpu==2.2.1 cudatoolkit=11.2 -c <TUNA>/cloud/Paddle/ -c conda-forge
PADDLE_DOCS = "https://www.paddlepaddle.org.cn/documentation/docs/zh/install/conda/linux-conda.html"
PADDLE_LINE = (
    f"conda install paddlepaddle-gpu==2.2.1 cudatoolkit=11.2 -c {TUNA}/cloud/Paddle/ -c conda-forge"
)
# PaddleSeg's README (2019): conda install -c paddle paddlepaddle-gpu cudatoolkit=9.0
PADDLESEG = "https://github.com/PaddlePaddle/PaddleSeg/blob/release/v0.1.0/docs/installation.md"
QUETZ_163 = "https://github.com/mamba-org/quetz/issues/163"  # anaconda.org ignores a name's case
JAX_CONDA = "https://docs.jax.dev/en/latest/installation.html"  # jaxlib=*=*cuda* jax
JAXLIB = "https://github.com/conda-forge/jaxlib-feedstock/blob/0113cda5971d9078c8bf287e7f108e8d5f91aa2c/recipe/recipe.yaml"

HOSTS = {
    "linux-550": (HostCuda(driver="550.54.14"), "linux-64"),  # runs 12.x
    "linux-418": (HostCuda(driver="418.67"), "linux-64"),  # below every 11.x floor
    "linux-none": (HostCuda(how="no NVIDIA driver"), "linux-64"),
    "win-560": (HostCuda(driver="560.94"), "win-64"),
}
RANKINGS = {
    "zju-first": Ranking(order={"conda": ("zju", "tuna", "bfsu"), "pypi": ("tuna",)}),
    "tuna-first": Ranking(order={"conda": ("tuna", "zju", "bfsu"), "pypi": ("tuna",)}),
    "bfsu-only": Ranking(order={"conda": ("bfsu",), "pypi": ("bfsu",)}),
    # TUNA failed in this run and nothing else measured carries Paddle
    "tuna-dropped": Ranking(order={"conda": ("tuna", "bfsu"), "pypi": ("tuna",)}).without(
        "conda", "tuna"
    ),
}


def plan(
    host: str, ranking: str, line: str, mode: str = "keep", condarc: tuple = (), **more: object
):
    cuda, platform = HOSTS[host]
    facts = Facts(
        **more,  # type: ignore[arg-type]
        catalog=CATALOG,
        ranking=RANKINGS[ranking],
        tables=load_tables(),
        host=cuda,
        platform=platform,
        python="3.11",
        **({"conda_channels": condarc, "conda_channels_from": "~/.condarc"} if condarc else {}),
    )
    return rewrite(parse_command(line.split()), Context(facts, mode, False))


def channels(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == "-c"]


# (host, ranking, command, mode, channel URLs expected in order of -c, a note must say, source)
CASES = [
    # a mirror's copy named in the command goes to the mirror ranked first that carries it
    ("linux-550", "zju-first", PADDLE_LINE, "keep",
     [f"{ZJU}/cloud/Paddle", f"{ZJU}/cloud/conda-forge", f"{ZJU}/pkgs/main", f"{ZJU}/pkgs/r"],
     "mirror tuna's copy of Paddle) -> " + f"{ZJU}/cloud/Paddle", PADDLE_DOCS),
    # ... and stays as written when that mirror ranks first anyway
    ("linux-550", "tuna-first", PADDLE_LINE, "keep",
     [f"{TUNA}/cloud/Paddle/", f"{TUNA}/cloud/conda-forge", f"{TUNA}/pkgs/main", f"{TUNA}/pkgs/r"],
     "copy of Paddle; kept (it ranks first", PADDLE_DOCS),
    # ... or when no mirror measured here carries the channel (never the official host instead)
    ("linux-550", "bfsu-only", PADDLE_LINE, "keep",
     [f"{TUNA}/cloud/Paddle/", f"{BFSU}/cloud/conda-forge", f"{BFSU}/pkgs/main", f"{BFSU}/pkgs/r"],
     "no other mirror carrying it ranks", PADDLE_DOCS),
    # ... unless the mirror written failed in this run: then the official host
    ("linux-550", "tuna-dropped", PADDLE_LINE, "keep",
     [f"{OFFICIAL}/Paddle", f"{BFSU}/cloud/conda-forge", f"{BFSU}/pkgs/main", f"{BFSU}/pkgs/r"],
     f"-> {OFFICIAL}/Paddle", PADDLE_DOCS),
    # anaconda.org's 'paddle' is 'Paddle'; the mirrors serve the folder 'Paddle'
    ("linux-550", "zju-first", "conda install -c paddle paddlepaddle-gpu cudatoolkit=9.0", "keep",
     [f"{ZJU}/cloud/Paddle", f"{ZJU}/pkgs/main", f"{ZJU}/pkgs/r"], "channel paddle -> ", QUETZ_163),
    # a copy of the pytorch channel on TUNA, written by hand (http, no trailing slash)
    ("linux-550", "zju-first",
     "conda install pytorch torchvision cudatoolkit=11.3 -c http://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/pytorch",
     "keep", [f"{ZJU}/cloud/pytorch", f"{ZJU}/pkgs/main", f"{ZJU}/pkgs/r"], "copy of pytorch",
     TUNA),
    # a path inside a channel (a subdir) is no channel a mirror lists: kept as given
    ("linux-550", "zju-first",
     f"conda install cudnn=7.6.0 -c {TUNA}/pkgs/free/win-64/", "keep",
     [f"{TUNA}/pkgs/free/win-64/", f"{ZJU}/pkgs/main", f"{ZJU}/pkgs/r"],
     "not an official channel URL; kept as given", TUNA),
]  # fmt: skip


@pytest.mark.parametrize(("host", "ranking", "line", "mode", "want", "note", "source"), CASES)
def test_a_mirrors_channel_url_goes_to_the_mirror_ranked_first(
    host: str, ranking: str, line: str, mode: str, want: list[str], note: str, source: str
) -> None:
    got = plan(host, ranking, line, mode)
    assert channels(got.argv) == want, source
    assert any(note in n for n in got.notes), got.notes


def test_condarc_channels_that_name_a_mirror_are_routed_too() -> None:
    """`conda config --add channels <TUNA>/cloud/pytorch/` (the most copied China setup):
    those channels are added to the command, each through the mirror ranked first."""
    condarc = (f"{TUNA}/cloud/pytorch/", f"{TUNA}/pkgs/main/", "defaults")
    got = plan("linux-550", "zju-first", "conda install pytorch", condarc=condarc)
    assert channels(got.argv) == [f"{ZJU}/cloud/pytorch", f"{ZJU}/pkgs/main", f"{ZJU}/pkgs/r"]


def test_an_environment_files_mirror_channel_is_routed_in_its_copy() -> None:
    text = (
        f"name: ocr\nchannels:\n  - {TUNA}/cloud/Paddle/\n  - conda-forge\n"
        "dependencies:\n  - paddlepaddle-gpu==2.6.1\n"
    )
    got = plan(
        "linux-550", "zju-first", "conda env create -f environment.yml",
        files={"environment.yml": text}, copies={"environment.yml": "/tmp/copy.yml"},
    )  # fmt: skip
    assert got.writes["/tmp/copy.yml"].splitlines()[2:4] == [
        f"  - {ZJU}/cloud/Paddle",
        f"  - {ZJU}/cloud/conda-forge",
    ]


def test_a_mirrors_copy_of_the_pytorch_channel_is_the_pytorch_channel_everywhere() -> None:
    """What minstall does for ``-c pytorch`` holds for TUNA's copy of it too: pytorch-cuda
    needs the nvidia channel (PyTorch's own lines: ``-c pytorch -c nvidia``), and the channel
    publishes nothing after 2.5 (pytorch/pytorch#138506), so 2.6 goes to conda-forge."""
    written = f"{TUNA}/cloud/pytorch/"
    got = plan(
        "linux-550", "tuna-first", f"conda install pytorch=2.4.1 pytorch-cuda=12.1 -c {written}"
    )
    assert channels(got.argv)[:2] == [written, f"{OFFICIAL}/nvidia"]
    newer = plan("linux-550", "tuna-first", f"conda install pytorch=2.6.0 -c {written}")
    assert channels(newer.argv)[0] == f"{TUNA}/cloud/conda-forge"
    assert written not in newer.argv


def test_a_token_in_a_mirrors_channel_url_never_goes_to_another_mirror() -> None:
    line = (
        "conda install paddlepaddle-gpu -c "
        "https://me:s3cret@mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/Paddle"
    )
    moved = plan("linux-550", "zju-first", line)
    assert f"{ZJU}/cloud/Paddle" in channels(moved.argv)
    assert "s3cret" not in " ".join(moved.argv)
    kept = plan("linux-550", "tuna-first", line)
    assert "https://me:s3cret@mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/Paddle" in kept.argv


def test_paddles_cudatoolkit_pin_is_checked_against_the_driver() -> None:
    """CUDA 11.2 needs driver >= 450.80.02 (NVIDIA's minor-version floor): R418 cannot run
    the build Paddle's page gives, so minstall stops before conda installs it."""
    with pytest.raises(CudaMismatch) as err:
        plan("linux-418", "tuna-first", PADDLE_LINE)
    assert "450.80.02" in str(err.value)
    ok = plan("linux-550", "tuna-first", PADDLE_LINE)
    assert "cudatoolkit=11.2" in ok.argv


# conda-forge's jaxlib: cuda129_py311h..._200 (needs __cuda) and cpu_py311h..._0 (JAXLIB)
# (host, command, mode, specs expected after the channel options, a note must say)
JAX_CASES = [
    ("linux-550", "conda install -c conda-forge jax jaxlib", "auto",
     ["jax", "jaxlib=*=cuda*"], "pinned so the solver takes one or says why not"),
    ("linux-550", "conda install -c conda-forge jax", "auto",
     ["jax", "jaxlib=*=cuda*"], "added jaxlib=*=cuda*"),
    ("linux-550", "conda install -c conda-forge jax", "cpu",
     ["jax", "jaxlib=*=cpu*"], "--cuda cpu"),
    ("linux-550", "conda install -c conda-forge jax", "keep", ["jax"], None),
    # JAX's own line keeps its build; it is what auto would ask for anyway
    ("linux-550", "conda install -c conda-forge jaxlib=*=*cuda* jax", "auto",
     ["jaxlib=*=*cuda*", "jax"], None),
    ("linux-none", "conda install -c conda-forge jaxlib=*=*cuda* jax", "keep",
     ["jaxlib=*=*cuda*", "jax"], "needs __cuda"),
    # the recipe skips Windows: no CUDA build to pin
    ("win-560", "conda install -c conda-forge jax", "auto",
     ["jax"], "no windows CUDA build of jaxlib"),
    # no conda-forge: another channel's jax, not these builds
    ("linux-550", "conda install jax", "auto", ["jax"], None),
]  # fmt: skip


@pytest.mark.parametrize(("host", "line", "mode", "specs", "note"), JAX_CASES)
def test_conda_forge_jaxlib_is_pinned_to_the_build_the_machine_wants(
    host: str, line: str, mode: str, specs: list[str], note: str | None
) -> None:
    got = plan(host, "tuna-first", line, mode)
    rest = [a for i, a in enumerate(got.argv[2:]) if a != "-c" and got.argv[1 + i] != "-c"]
    assert [a for a in rest if not a.startswith("--")] == specs, (JAX_CONDA, JAXLIB)
    if note is None:
        assert not any("jaxlib" in n for n in got.notes), got.notes
    else:
        assert any(note in n for n in got.notes), got.notes


def test_a_broken_twin_row_names_the_file_the_row_and_the_key() -> None:
    from mirrorinstall.cuda.packages import parse_twins

    with pytest.raises(ValueError, match=r"conda_forge_twin 1 \(jaxlib\): missing cpu_build"):
        parse_twins('[[conda_forge_twin]]\nname = "jaxlib"\ncuda_build = "cuda*"\n')
    bad = 'name = "x"\ncuda_build = "c"\ncpu_build = "p"\ncuda_os = []\nsource = "http://a"\n'
    with pytest.raises(ValueError, match="source must be an https URL"):
        parse_twins("[[conda_forge_twin]]\n" + bad)
