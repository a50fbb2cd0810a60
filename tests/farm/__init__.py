"""The mirror farm: a realistic, offline mirror network on 127.0.0.1 for tests and benchmarks.

Usage::

    from farm import Fault, MirrorFarm, MirrorSpec

    specs = [
        MirrorSpec("fast", latency_s=0.01, bandwidth_bps=20e6),
        MirrorSpec("slow", latency_s=0.2, bandwidth_bps=200e3),
        MirrorSpec("portal", faults=[Fault("html200", path="/pypi/*")]),
        MirrorSpec("upstream", upstream=True),
    ]
    with MirrorFarm(specs) as farm:
        farm["fast"].simple_url          # http://127.0.0.1:<port>/pypi/simple
        farm["slow"].channel_url("conda-forge")
        farm["fast"].set_faults(Fault("redirect", target=farm["upstream"].url))
        farm.write_catalog(tmp_path / "mirrors.toml")   # for minstall --catalog
        farm["fast"].requests            # what each mirror was asked, and sent

Each mirror is a real HTTP/1.1 server (keep-alive, HEAD, single byte ranges with
206/416, Last-Modified/ETag with 304, PEP 691 negotiation) with added latency per
request and bandwidth caps per connection and shared by all connections.

Fault modes (``server.FAULT_MODES``), per mirror and per path glob, some per
User-Agent: ``refuse``, ``hang``, ``html200``, ``forbidden403``, ``out-of-sync``,
``stale``, ``corrupt``, ``truncate``, ``redirect``, ``stall``, ``error500``, and the others
listed in ``server.FAULT_MODES`` (``cross-origin-links``: pages link their files on another host).

Content (``content.py``): conda's real test channel from ``../shared/data`` as
``conda-format``; channels built with conda-package-handling and indexed by py-rattler
with dependencies as consistent as the real ones, so the real conda solves against them
(``main``/``r``/``msys2`` for defaults, ``conda-forge``, ``pytorch`` whose CUDA builds need
``pytorch-cuda`` from it and ``cuda-runtime`` from ``nvidia``, ``bioconda``); a PyPI index
with the real wheels from ``../shared/data/wheels``, generated ones and PyPI's own newer
torch; PyTorch wheel trees (torch, torchvision, torchaudio; ``cpu``, ``cu118``, ``cu121``,
``cu124``) in the download.pytorch.org index layout and in Aliyun's flat find-links layout.

``RecordingProxy`` stands for the internet: a client whose proxy variables point at it can
reach the farm directly (NO_PROXY) and nothing else; every other request is logged and
refused, so a test can hold that nothing went to a real (official) host.

The farm stops by itself (``max_lifetime_s``) and never binds anything but 127.0.0.1.
"""

from .content import Content, build_content
from .farm import MirrorFarm, MirrorSpec
from .proxy import RecordingProxy
from .server import FAULT_MODES, Fault

__all__ = [
    "FAULT_MODES",
    "Content",
    "Fault",
    "MirrorFarm",
    "MirrorSpec",
    "RecordingProxy",
    "build_content",
]
