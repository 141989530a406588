"""Run the real CLI in-process, through its error boundary, as the console script does."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import click
from click.testing import CliRunner


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def _home() -> str:
    global _HOME
    if _HOME is None:
        import atexit
        import shutil
        import tempfile

        _HOME = tempfile.mkdtemp(prefix="xrayctl-test-home-")
        atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
    return _HOME


_HOME: str | None = None


def run_cli(
    args: list[str], env: Mapping[str, str | None] | None = None, stdin: str | None = None
) -> CliResult:
    """Run `xrayctl ARGS` in-process as the console script does: main() with its boundary and exit code."""
    from xrayctl.cli import main

    # Never reach a real AWS account or the developer's config from a test.
    base_env: dict[str, str | None] = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": None,
        "AWS_ENDPOINT_URL": None,
        "AWS_ENDPOINT_URL_XRAY": None,
        "XRAYCTL_LOCAL": None,
        # Nor the developer's own local store (~/.config/xrayctl), which another xrayctl may have written.
        "XRAYCTL_HOME": _home(),
        "XRAYCTL_OUTPUT": None,
        "COLUMNS": "120",
        "NO_COLOR": None,
    }
    runner = CliRunner()
    with runner.isolation(input=stdin, env={**base_env, **(env or {})}) as (out, err, _):
        code = 0
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return CliResult(code, out.getvalue().decode(), err.getvalue().decode())


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path, as --help lists them: the top group loads its commands lazily, so its `commands`
    is empty and only `list_commands` / `get_command` know them."""
    context = click.Context(group)
    found = []
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(all_commands(command, (*prefix, name)))
    return found


def json_nodes(roots: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every node of xrayctl's `-o json` trace under `roots`, in display order, without recursion."""
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node["children"]))
