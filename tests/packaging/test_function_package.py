"""`make package`: the function's zip, built as the Makefile builds it, for this machine's platform and Python
so that its compiled parts load here, then imported under a simulated Lambda layout (the runtime's boto3 and
botocore first on the path, the unpacked zip as the task root). Downloads two wheels from PyPI."""

from __future__ import annotations

import platform
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.support.paths import ROOT


def test_the_package_holds_only_what_lambdas_runtime_lacks_and_imports_there(tmp_path: Path) -> None:
    package = tmp_path / "function.zip"
    arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    script = ROOT / "scripts/package_function.py"
    result = subprocess.run(
        [sys.executable, script, "build", "--arch", arch, "--python", python, "--out", package, "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "from the zip: aws_xray_sdk, lambda_function, wrapt; boto3 and botocore from the runtime"
        in result.stdout
    )
    with zipfile.ZipFile(package) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert {top.split("-")[0] for top in tops} == {"aws_xray_sdk", "wrapt", "lambda_function.py"}
    assert package.stat().st_size < 1024 * 1024  # a few hundred KB: not a second botocore (18 MB)
