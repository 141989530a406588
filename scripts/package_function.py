"""Build the Lambda function's zip (`make package`), check it, and pin what it bundles (`make lock`).

The zip holds lambda_function.py and only what the Lambda Python runtime lacks: aws-xray-sdk and wrapt.
boto3 and botocore are in the runtime (aws-xray-sdk requires botocore, which is why `pip install -r
requirements.txt` would bundle a second one, 18 MB of it): they are left out with --no-deps, and the lock
file lists every bundled distribution with its hashes, so a build installs exactly those files or fails.

Wheels are chosen for Lambda's platform (manylinux, x86_64 or arm64) and the template's Python, not this
machine's, so any OS can build the package without the runtime's Python or a container. No bytecode: Lambda
cannot write __pycache__ in /var/task, so its Python compiles these few modules at every cold start (about
30 ms of a 300 ms import here), but bytecode must come from the exact Python minor of the runtime, which a
build machine may not have; the cost is stated in the README.

`--check` proves the zip is complete: it is unpacked, and lambda_function imported by a Python started with
no site-packages (-I -S), with a directory holding only the runtime's boto3 and botocore (and their own
dependencies) first on sys.path and the unpacked zip after it, as Lambda's task root; every module loaded must
come from one of the two, and neither boto3 nor botocore from the zip.

    python scripts/package_function.py build [--arch arm64] [--python 3.13] [--out function.zip] [--check]
    python scripts/package_function.py lock      # rewrite function/requirements.lock from requirements.txt
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FUNCTION = ROOT / "function"
LOCK = FUNCTION / "requirements.lock"
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
# Lambda's Python runtimes that the lock serves (the template's, and the suite's own for `--check` in tests).
LOCKED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")
# What the Lambda Python runtime provides: never bundled (boto3's own dependencies come with it).
RUNTIME_PROVIDES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # a fixed time for every zip entry: the same inputs make the same zip


def build(arch: str, python: str, out: Path) -> Path:
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "package"
        subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "--target", str(target), "--platform", PLATFORMS[arch], "--python-version", python,
                "--implementation", "cp", "--only-binary=:all:", "--no-deps", "--no-compile",
                "--require-hashes", "-r", str(LOCK),
            ],
            check=True,
        )  # fmt: skip
        shutil.copy2(FUNCTION / "lambda_function.py", target / "lambda_function.py")
        for leftover in target.glob("bin"):
            shutil.rmtree(leftover)
        files = sorted(
            path for path in target.rglob("*") if path.is_file() and "__pycache__" not in path.parts
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for path in files:
                info = zipfile.ZipInfo(path.relative_to(target).as_posix(), _EPOCH)
                info.external_attr = 0o644 << 16  # readable by Lambda's sandbox user
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return out


def check(package: Path) -> dict[str, Any]:
    """Import lambda_function from `package` under a simulated Lambda layout; raise if anything is missing
    or bundled that the runtime provides. Returns what was found (module origins, import time)."""
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        bundled = sorted({name.split("/")[0] for name in names})
        duplicated = [name for name in bundled if name in RUNTIME_PROVIDES]
        if duplicated:
            raise SystemExit(f"{package} bundles what the Lambda runtime provides: {', '.join(duplicated)}")
        with tempfile.TemporaryDirectory() as scratch:
            task = Path(scratch) / "task"
            archive.extractall(task)
            runtime = Path(scratch) / "runtime"
            runtime.mkdir()
            for name in RUNTIME_PROVIDES:  # this environment's copies stand in for the runtime's
                spec = importlib.util.find_spec(name)
                if spec is None or spec.origin is None:
                    raise SystemExit(f"--check needs {name} installed here (it stands in for Lambda's)")
                origin = Path(spec.origin)
                source = origin.parent if origin.name == "__init__.py" else origin
                (runtime / source.name).symlink_to(source, target_is_directory=source.is_dir())
            probe = (
                "import json, sys, time\n"
                f"sys.path[:0] = [{str(runtime)!r}, {str(task)!r}]\n"
                "start = time.perf_counter()\n"
                "import lambda_function\n"
                "took = time.perf_counter() - start\n"
                "origins = {name: getattr(module, '__file__', None) or ''\n"
                "           for name, module in sys.modules.items()}\n"
                "print(json.dumps({'took': took, 'origins': origins}))\n"
            )
            env = {
                "PATH": os.environ.get("PATH", ""),
                "AWS_REGION": "us-east-1",
                "LAMBDA_TASK_ROOT": str(task),
            }
            result = subprocess.run(
                [sys.executable, "-I", "-S", "-c", probe],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if result.returncode != 0:
                raise SystemExit(f"lambda_function does not import from {package}:\n{result.stderr}")
            found = json.loads(result.stdout)
            stdlib = Path(sys.base_prefix).resolve()
            outside = sorted(
                name
                for name, origin in found["origins"].items()
                if origin
                and not Path(origin).resolve().is_relative_to(stdlib)
                and not origin.startswith((str(task), str(runtime)))
            )
            if outside:
                raise SystemExit(f"modules from outside the simulated layout: {', '.join(outside)}")
            bundled_loaded = sorted(
                {
                    name.split(".")[0]
                    for name, origin in found["origins"].items()
                    if origin.startswith(str(task))
                }
            )
            return {"bundled": bundled, "loaded_from_zip": bundled_loaded, "import_seconds": found["took"]}


def lock() -> None:
    """Resolve requirements.txt for Lambda's platforms, less what the runtime provides, and write every
    wheel's hash into requirements.lock."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
                "--report", str(report), "--platform", PLATFORMS["arm64"], "--python-version", "3.13",
                "--only-binary=:all:", "-r", str(FUNCTION / "requirements.txt"),
            ],
            check=True,
        )  # fmt: skip
        resolved = json.loads(report.read_text())["install"]
        pins = {
            item["metadata"]["name"].lower(): item["metadata"]["version"]
            for item in resolved
            if _importable_name(item["metadata"]["name"]) not in RUNTIME_PROVIDES
        }
        wheels = Path(scratch) / "wheels"
        for arch in PLATFORMS.values():
            for python in LOCKED_PYTHONS:
                subprocess.run(
                    [
                        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "--platform", arch, "--python-version", python,
                        "--implementation", "cp",
                        "--dest", str(wheels), *[f"{name}=={version}" for name, version in pins.items()],
                    ],
                    check=True,
                )  # fmt: skip
        lines = [
            "# What `make package` bundles: requirements.txt resolved for Lambda's Python runtimes",
            "# (python3.10 to python3.13, x86_64 and arm64), less what the runtime provides (boto3, botocore",
            "# and their own dependencies). Installed with --require-hashes --no-deps.",
            "# Written by `make lock`: do not edit.",
        ]
        for name, version in sorted(pins.items()):
            hashes = sorted(
                hashlib.sha256(wheel.read_bytes()).hexdigest()
                for wheel in wheels.glob("*.whl")
                if wheel.name.split("-")[0].lower().replace("_", "-") == name.replace("_", "-")
            )
            lines.append(f"{name}=={version} \\")
            lines.extend(
                f"    --hash=sha256:{digest}" + (" \\" if i < len(hashes) - 1 else "")
                for i, digest in enumerate(hashes)
            )
        LOCK.write_text("\n".join(lines) + "\n")


def _importable_name(distribution: str) -> str:
    return {"python-dateutil": "dateutil"}.get(distribution.lower(), distribution.lower().replace("-", "_"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build")
    build_command.add_argument("--arch", choices=sorted(PLATFORMS), default="arm64")
    build_command.add_argument("--python", default="3.13", help="the template's runtime version")
    build_command.add_argument("--out", type=Path, default=ROOT / "function.zip")
    build_command.add_argument("--check", action="store_true")
    commands.add_parser("lock")
    args = parser.parse_args()
    if args.command == "lock":
        lock()
        print(f"wrote {LOCK.relative_to(ROOT)}")
        return
    package = build(args.arch, args.python, args.out)
    print(f"{package.name}: {package.stat().st_size / 1024:.0f} KB ({args.arch}, python{args.python})")
    if args.check:
        here = platform.machine().replace("aarch64", "arm64")
        found = check(package)
        native = (
            "" if here == args.arch else f" (built for {args.arch}: wrapt's C extension cannot load here)"
        )
        print(
            f"checked: imports under a simulated Lambda layout in {1000 * found['import_seconds']:.0f} ms"
            f"{native}; from the zip: {', '.join(found['loaded_from_zip'])};"
            " boto3 and botocore from the runtime"
        )


if __name__ == "__main__":
    main()
