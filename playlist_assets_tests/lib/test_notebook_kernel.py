"""The notebook's kernel is always this interpreter, even when another python3 kernelspec shadows it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager

from playlist_assets.lib import notebook_kernel as kernel


def test_native_kernel_runs_this_interpreter(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    assert kernel.native_kernel_ok()
    env = kernel.kernel_env(tmp_path / "jupyter", env={"A": "1"})
    assert env == {"A": "1"}  # nothing to fix, nothing written
    assert not (tmp_path / "jupyter").exists()


def test_a_foreign_python3_kernelspec_is_overridden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    foreign = tmp_path / "foreign" / "kernels" / "python3"
    foreign.mkdir(parents=True)
    (foreign / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    "/opt/other/bin/python",
                    "-m",
                    "ipykernel_launcher",
                    "-f",
                    "{connection_file}",
                ],
                "display_name": "other",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "foreign"))
    assert not kernel.native_kernel_ok()

    env = kernel.kernel_env(tmp_path / "jupyter")
    assert env["JUPYTER_PATH"].split(":")[0] == str(tmp_path / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", env["JUPYTER_PATH"])
    spec = KernelSpecManager().get_kernel_spec(kernel.KERNEL_NAME)
    assert spec.argv[0] == sys.executable
