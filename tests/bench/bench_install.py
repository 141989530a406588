"""Figure 6: xrayctl installed as users install it, and the function's package.

- Install size: the wheel built from this checkout, installed with pip into a fresh venv, alone and with the
  `[local]` extra; the size of the files in site-packages (pip itself left out) and the number of
  distributions. Before issue 15 the base CLI required boto3 and `[local]` pulled moto[server] (every AWS
  service's dependencies): the figures quoted as "was" were measured by this script with `--source` on that
  checkout, on Python 3.11, Linux x86_64.
- The function's zip: `make package`'s function.zip (arm64, python3.13), its size.

Needs PyPI (pip downloads what the wheel requires). Run: .venv/bin/python tests/bench/bench_install.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: tests.support

from benchlib import BENCH_DIR, ROOT, Figure, emit, say

SCRATCH = BENCH_DIR / "install"
TARGETS = {"": 65, "[local]": 160}  # MB: botocore alone is ~58 MB; moto with S3's needs alone ~150 MB
BEFORE = {"": "47.7 MB, 14 distributions", "[local]": "267.8 MB, 69 distributions"}


def tree_size(path: Path) -> int:
    return sum(
        entry.stat().st_size for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink()
    )


def install_size(wheel: Path, extra: str) -> tuple[int, int]:
    """(bytes of site-packages without pip, distributions) of a fresh venv with `wheel[extra]` installed."""
    target = SCRATCH / f"venv{extra.strip('[]') and '-' + extra.strip('[]')}"
    shutil.rmtree(target, ignore_errors=True)
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"{wheel}{extra}"],
        check=True,
    )
    purelib = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    pip_bytes = sum(tree_size(path) for path in purelib.glob("pip*"))
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return tree_size(purelib) - pip_bytes, len([line for line in listed if not line.startswith("pip==")])


def main() -> None:
    # --source DIR: the wheel of another checkout (how the figures before issue 15 were measured).
    source = Path(sys.argv[sys.argv.index("--source") + 1]) if "--source" in sys.argv else ROOT
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir(parents=True)
    say(f"install: building the wheel of {source}")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(SCRATCH / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = (SCRATCH / "dist").glob("xrayctl-*.whl")
    for extra, target in TARGETS.items():
        say(f"install: pip install xrayctl{extra} into a fresh venv")
        size, count = install_size(wheel, extra)
        megabytes = size / 1024 / 1024
        emit(
            Figure(
                f"pip install xrayctl{extra}: site-packages without pip (was {BEFORE[extra]})",
                f"{megabytes:.1f} MB, {count} distributions",
                f"<= {target} MB",
                met=megabytes <= target,
            )
        )
    if source != ROOT:
        return
    say("install: make package's function.zip")
    package = SCRATCH / "function.zip"
    subprocess.run(
        [sys.executable, ROOT / "scripts/package_function.py", "build", "--out", package],
        check=True,
        capture_output=True,
    )
    kilobytes = package.stat().st_size / 1024
    emit(
        Figure(
            "make package: function.zip, arm64, python3.13 (was 18.4 MB with a second botocore)",
            f"{kilobytes:.0f} KB",
            "<= 1 MB",
            met=kilobytes <= 1024,
        )
    )
    shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    main()
