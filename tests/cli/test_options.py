"""Option values a user can type that no command can use are usage errors, refused before any work."""

from __future__ import annotations

import click
import pytest

from tests.support.cli import all_commands, run_cli
from xrayctl.cli import cli


def _float_options() -> list[tuple[tuple[str, ...], str]]:
    """Every option of every command that takes a number with a fraction, as (command path, option)."""
    found = []
    for path in all_commands(cli):
        command: click.Command = cli
        for name in path:
            assert isinstance(command, click.Group)
            command = command.get_command(click.Context(command), name)  # type: ignore[assignment]
        for param in command.params:
            if isinstance(param, click.Option) and isinstance(param.type, click.types.FloatParamType):
                found.append((path, param.opts[0]))
    return found


def test_the_float_options_are_these() -> None:
    assert {(" ".join(path), option) for path, option in _float_options()} == {
        ("show-trace", "--timeout"),
        ("compare", "--timeout"),
        ("invoke", "--timeout"),
        ("invoke", "--function-timeout"),
        ("local serve", "--function-timeout"),
        ("local serve", "--api-delay"),
        ("tail", "--timeout"),
    }


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
@pytest.mark.parametrize(
    ("path", "option"), _float_options(), ids=lambda p: " ".join(p) if isinstance(p, tuple) else p
)
def test_every_float_option_refuses_what_is_not_a_finite_number(
    path: tuple[str, ...], option: str, value: str
) -> None:
    result = run_cli([*path, option, value])
    assert result.exit_code == 2, result.stderr
    assert f"Invalid value for '{option}'" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("path", "option", "value"),
    [
        (("invoke",), "--function-timeout", "901"),  # Lambda's maximum is 900 s
        (("local", "serve"), "--api-delay", "61"),
    ],
)
def test_seconds_past_what_the_option_can_use_are_refused(
    path: tuple[str, ...], option: str, value: str
) -> None:
    result = run_cli([*path, option, value])
    assert result.exit_code == 2 and f"Invalid value for '{option}'" in result.stderr
