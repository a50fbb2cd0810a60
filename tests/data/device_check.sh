#!/usr/bin/env bash
# One short check of minstall against a real NVIDIA driver and PyTorch (run on a GPU machine
# from the repository root; results in $OUT). Reads only; installs nothing.
set -u
out=${OUT:-./device-check}
mkdir -p "$out"
export PYTHONPATH=.
{
  echo "## detect_cuda"
  python3 -c "from mirrorinstall.cuda.host import detect_cuda; import os, json; d = detect_cuda(os.environ); print(json.dumps({'driver': d.host.driver, 'cuda': d.host.cuda, 'gpus': [(g.name, g.cc) for g in d.host.gpus], 'how': d.host.how, 'error': d.host.error, 'windows_driver': d.windows_driver}))"
  echo "## minstall verify torch"
  python3 -m mirrorinstall verify torch; echo "[exit $?]"
  echo "## minstall verify --json torch"
  python3 -m mirrorinstall verify --json torch; echo "[exit $?]"
  echo "## minstall rewrite --cuda auto (no network: the mirror listing check cannot answer)"
  MINSTALL_CACHE_DIR=$(mktemp -d) python3 -m mirrorinstall rewrite --json --cuda auto --mirror nju -- pip install torch torchvision; echo "[exit $?]"
  echo "## the same, planning for the H200 with the cu126-only torch 2.11 pinned"
  MINSTALL_CACHE_DIR=$(mktemp -d) python3 -m mirrorinstall rewrite --cuda auto --mirror nju -- pip install torch==2.11.0; echo "[exit $?]"
} > "$out/device-check.txt" 2>&1
cat "$out/device-check.txt"
