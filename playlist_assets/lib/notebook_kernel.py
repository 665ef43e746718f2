"""Which Jupyter kernel runs the dashboard notebook (papermill and Voila): always this interpreter.

The ``python3`` kernelspec normally resolves to the running interpreter (ipykernel ships it in the
environment, and jupyter_client swaps a bare ``python`` for ``sys.executable``). A user-level
``python3`` kernelspec pointing at another Python (``ipykernel install --user`` elsewhere) would
win the lookup, so in that case a private ``python3`` kernelspec for this interpreter is written
under the data folder and put first on ``JUPYTER_PATH`` (searched before the user's folder), for
papermill and Voila alike.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

KERNEL_NAME = "python3"


def _runs_this_interpreter(argv: list[str]) -> bool:
    if not argv:
        return False
    exe = argv[0]
    if exe in {
        "python",
        f"python{sys.version_info[0]}",
        "python{}.{}".format(*sys.version_info[:2]),
    }:
        return True  # jupyter_client replaces these with sys.executable
    try:
        return Path(exe).resolve() == Path(sys.executable).resolve()
    except OSError:
        return False


def native_kernel_ok() -> bool:
    """Whether ``python3`` would start this interpreter."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        return False
    return _runs_this_interpreter(list(spec.argv))


def private_kernelspec(root: Path) -> Path:
    """Write ``<root>/kernels/python3/kernel.json`` for this interpreter; return ``root``."""
    folder = Path(root) / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (playlist_assets)",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return Path(root)


def kernel_env(jupyter_dir: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment to start the ``python3`` kernel from so that it runs this interpreter.

    ``env`` (default ``os.environ``) is copied; ``JUPYTER_PATH`` gains ``jupyter_dir`` (with a
    private kernelspec) only when the ``python3`` kernelspec would start another interpreter.
    """
    env = dict(os.environ if env is None else env)
    if native_kernel_ok():
        return env
    root = private_kernelspec(jupyter_dir)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(root), env.get("JUPYTER_PATH", "")) if p)
    return env
