"""Files given to a command (`show-trace --input`, `invoke --payload @file`): their size limits, and the
encodings JSON may come in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.paths import fixture_path

LAMBDA_TRACE = fixture_path("xray-real", "traces", "iatk-lambda-traceWithLinks01.json")
XRAYCTL = [sys.executable, "-m", "xrayctl"]
MB = 1024 * 1024


def _with_memory_capped(gigabytes: int) -> None:
    # A regression would read /dev/zero until the kernel killed it (24 GB was seen): cap it here instead.
    import resource

    limit = gigabytes * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize(
    ("args", "limit"),
    [
        (["show-trace", "--input", "/dev/zero"], "64 MB"),
        (["invoke", "--function", "f", "--payload", "@/dev/zero", "--no-show"], "6 MB"),
    ],
    ids=["input", "payload"],
)
def test_an_endless_file_is_refused_at_its_limit_in_one_line(args: list[str], limit: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XRAYCTL_"))}
    done = subprocess.run(
        [*XRAYCTL, *args],
        env={**env, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"},
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: _with_memory_capped(2),
        check=False,
    )
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert "/dev/zero is larger than " + limit in line and done.stdout == ""


def test_an_input_file_past_64_mb_is_refused_from_its_size(tmp_path: Path) -> None:
    saved = tmp_path / "traces.json"
    with saved.open("wb") as sparse:
        sparse.truncate(64 * MB + 1)  # takes no disk, and is refused before a byte is read
    result = run_cli(["show-trace", "--input", str(saved)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"xrayctl: --input {saved} is larger than 64 MB, the limit for it. Save fewer traces in one file, "
        "and draw them file by file."
    ]


@pytest.mark.parametrize(
    "encoding",
    ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"],
)
def test_a_saved_response_in_any_json_encoding_draws_the_same_tree(tmp_path: Path, encoding: str) -> None:
    # Windows PowerShell's `aws xray batch-get-traces ... > traces.json` writes UTF-16 with a byte order mark.
    saved = tmp_path / "traces.json"
    saved.write_bytes(LAMBDA_TRACE.read_text(encoding="utf-8").encode(encoding))
    result = run_cli(["show-trace", "--input", str(saved)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == run_cli(["show-trace", "--input", str(LAMBDA_TRACE)]).stdout


def test_a_saved_response_in_latin1_is_refused_in_one_line(tmp_path: Path) -> None:
    saved = tmp_path / "traces.json"
    text = LAMBDA_TRACE.read_text(encoding="utf-8").replace("xray-stuff", "xray-stüff", 1)
    saved.write_bytes(text.encode("latin-1"))
    result = run_cli(["show-trace", "--input", str(saved)])
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert "is not UTF-8, UTF-16 or UTF-32 text: byte 0xfc at offset" in line
    assert "Traceback" not in result.stderr and "bug" not in line


def test_invokes_own_json_and_one_trace_object_are_read_back_as_xrayctls(tmp_path: Path) -> None:
    shown = run_cli(["-o", "json", "show-trace", "--input", str(LAMBDA_TRACE)])
    [trace] = shown.json()["traces"]
    for name, content in (
        ("invoked.json", {"invocations": [{"function_name": "f"}], "traces": [trace]}),
        ("one-trace.json", trace),
    ):
        saved = tmp_path / name
        saved.write_text(json.dumps(content))
        again = run_cli(["-o", "json", "show-trace", "--input", str(saved)])
        assert again.exit_code == 0, again.stderr
        assert again.stdout == shown.stdout
