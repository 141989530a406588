"""The peers xrayctl is measured against: the AWS CLI (v1, `aws xray batch-get-traces`) and the SAM CLI
(`sam traces --trace-id`), installed once per machine into their own venv under `.bench/peers`.

They get a venv of their own so that their pinned botocore and click never meet the ones xrayctl runs on, and
the comparison is of the tools as a user installs them. The venv is made with the interpreter running the
bench, and reused while it answers `--version` with the pinned versions; anything else rebuilds it.

Run on its own (`.venv/bin/python tests/bench/peers.py`) it installs them and prints their paths.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

from benchlib import BENCH_DIR, say

# Versions that install together on Python 3.10+ and whose `sam traces` reads traces by id without tailing.
AWSCLI_VERSION = "1.46.3"
SAM_VERSION = "1.170.0"

PEERS_DIR = BENCH_DIR / "peers"
_VENV = PEERS_DIR / "venv"
_STAMP = _VENV / "peers.json"  # written last: the pins this venv was built for
# sam keeps its settings (telemetry, the last time it asked PyPI for a newer version) here instead of ~.
_SAM_APP_DIR = PEERS_DIR / "sam-app"


def aws() -> Path:
    """Path of the AWS CLI's `aws`, installing it first when needed."""
    return _ensure() / "aws"


def sam() -> Path:
    """Path of the SAM CLI's `sam`, installing it first when needed."""
    return _ensure() / "sam"


def versions() -> dict[str, str]:
    """The peers' versions as installed, by package name."""
    _ensure()
    stamp: dict[str, str] = json.loads(_STAMP.read_text())
    return stamp


def sam_env(env: dict[str, str]) -> dict[str, str]:
    """`env` for running sam as a returning user would: telemetry off and the weekly PyPI version check
    already done (run from here it would be a network call with a 5 s timeout, measured as sam's time)."""
    _SAM_APP_DIR.mkdir(parents=True, exist_ok=True)
    metadata = _SAM_APP_DIR / "metadata.json"
    settings = json.loads(metadata.read_text()) if metadata.exists() else {}
    settings.update({"telemetryEnabled": False, "lastVersionCheck": time.time()})
    metadata.write_text(json.dumps(settings))
    return {**env, "SAM_CLI_TELEMETRY": "0", "__SAM_CLI_APP_DIR": str(_SAM_APP_DIR)}


def _pins() -> dict[str, str]:
    return {"awscli": AWSCLI_VERSION, "aws-sam-cli": SAM_VERSION}


@cache  # checked once per process: each check runs both tools
def _ensure() -> Path:
    bin_dir = _VENV / "bin"
    if _working(bin_dir):
        return bin_dir
    say(f"peers: installing awscli {AWSCLI_VERSION} and aws-sam-cli {SAM_VERSION} into {_VENV} (once)")
    started = time.perf_counter()
    shutil.rmtree(_VENV, ignore_errors=True)
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "venv", str(_VENV)], "creating the venv")
    python = str(bin_dir / "python")
    _run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], "upgrading pip")
    pins = [f"{name}=={version}" for name, version in _pins().items()]
    _run([python, "-m", "pip", "install", "--quiet", *pins], "installing " + " ".join(pins))
    if not _answers(bin_dir):
        raise RuntimeError(f"the peers installed into {_VENV} do not run (see above)")
    _STAMP.write_text(json.dumps(_pins()))
    say(f"peers: installed in {time.perf_counter() - started:.0f} s")
    return bin_dir


def _working(bin_dir: Path) -> bool:
    try:
        stamp = json.loads(_STAMP.read_text())
    except (OSError, ValueError):
        return False
    return bool(stamp == _pins() and _answers(bin_dir))


def _answers(bin_dir: Path) -> bool:
    """Both tools start and report the pinned versions."""
    expected = {"aws": AWSCLI_VERSION, "sam": SAM_VERSION}
    for tool, version in expected.items():
        try:
            completed = subprocess.run(
                [str(bin_dir / tool), "--version"], capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            say(f"peers: {tool} --version failed: {exc}")
            return False
        # aws v1 prints its version on stderr on older releases, stdout on newer ones.
        if completed.returncode != 0 or version not in completed.stdout + completed.stderr:
            say(f"peers: {tool} --version said {(completed.stdout + completed.stderr).strip()[:200]!r}")
            return False
    return True


def _run(argv: list[str], doing: str) -> None:
    say(f"peers: {doing}")
    # pip's own chatter (index warnings included) is kept back unless it fails.
    completed = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    if completed.returncode != 0:
        say(completed.stdout[-3000:] + completed.stderr[-3000:])
        raise RuntimeError(f"{doing} failed (exit {completed.returncode})")


if __name__ == "__main__":
    print(f"aws {aws()}\nsam {sam()}")
