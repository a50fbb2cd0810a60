#!/usr/bin/env bash
# Record what a real NVIDIA host says about its driver, GPUs and PyTorch, for minstall's
# driver-detection stand-ins and `verify` checks (issues 4 and 5). Run from the repository
# root on a GPU machine; files go to $OUT (default ./recorded-gpu). Reads only; installs nothing.
set -u
out=${OUT:-./recorded-gpu}
mkdir -p "$out"
record() {  # record NAME CMD...: the command line, its output (stdout+stderr) and exit code
  local name=$1; shift
  { echo "\$ $*"; "$@"; echo "[exit $?]"; } > "$out/$name.txt" 2>&1
}
record nvidia-smi nvidia-smi
record nvidia-smi-query nvidia-smi --query-gpu=driver_version,name,compute_cap --format=csv,noheader
record nvidia-smi-query-header nvidia-smi --query-gpu=driver_version,name,compute_cap,memory.total --format=csv
record nvidia-smi-q bash -c 'nvidia-smi -q | head -60'
record driver-files bash -c 'cat /proc/driver/nvidia/version; echo "--- /sys/module/nvidia/version:"; cat /sys/module/nvidia/version'
record minstall bash -c 'PYTHONPATH=. python3 -m mirrorinstall --version && PYTHONPATH=. python3 -m mirrorinstall mirrors --json | python3 -c "import json,sys; d=json.load(sys.stdin); print(len(d[\"mirrors\"]), \"mirrors\")"'
python3 - > "$out/python-cuda.json" 2>&1 <<'PY'
import ctypes, json, platform, sys
info = {"python": sys.version.split()[0], "platform": platform.platform()}
try:
    lib = ctypes.CDLL("libcuda.so.1")
    version = ctypes.c_int()
    info["cuDriverGetVersion"] = {"rc": lib.cuDriverGetVersion(ctypes.byref(version)),
                                  "version": version.value}
except OSError as exc:
    info["libcuda"] = str(exc)
try:
    import pynvml
    pynvml.nvmlInit()
    info["nvml"] = {"driver": pynvml.nvmlSystemGetDriverVersion(),
                    "cuda_driver": pynvml.nvmlSystemGetCudaDriverVersion(),
                    "gpus": [pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i))
                             for i in range(pynvml.nvmlDeviceGetCount())]}
except Exception as exc:  # record whatever happens
    info["nvml_error"] = repr(exc)
try:
    import torch
    info["torch"] = {"version": torch.__version__, "cuda": torch.version.cuda,
                     "is_available": torch.cuda.is_available(),
                     "arch_list": torch.cuda.get_arch_list()}
    if torch.cuda.is_available():
        x = torch.ones(64, 64, device="cuda")
        info["torch"].update(device=torch.cuda.get_device_name(0),
                             capability=list(torch.cuda.get_device_capability(0)),
                             matmul_sum=float((x @ x).sum().item()))
except Exception as exc:
    info["torch_error"] = repr(exc)
print(json.dumps(info, indent=1, default=str))
PY
ls -la "$out"
