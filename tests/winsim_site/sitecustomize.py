"""Started with this folder on PYTHONPATH and MINSTALL_TEST_WINDOWS_SIM=1, a minstall process
is a simulated Windows one (tests/winsim.py); any other Python (pip, conda) is left as it is."""

import os
import sys

if os.environ.get("MINSTALL_TEST_WINDOWS_SIM") == "1":
    _argv = getattr(sys, "orig_argv", sys.argv)
    _script = os.path.basename(sys.argv[0]) if sys.argv else ""
    if _script in ("minstall", "minstall.exe") or "mirrorinstall" in _argv[1:3]:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        try:
            import winsim

            winsim.apply(whole_process=True)
        finally:
            del sys.path[0]
