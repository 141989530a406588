"""The function a local stack runs: --sdk is part of it (xrayctl.local.options)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xrayctl.errors import UsageError
from xrayctl.local.options import FunctionOptions, ResolvedFunction


def test_otel_runs_the_twin_of_the_bundled_function_and_any_handler_given_with_code(tmp_path: Path) -> None:
    twin = FunctionOptions(sdk="otel").resolved()
    assert (twin.handler, twin.name, twin.sdk) == (
        "otel_function.lambda_handler",
        "xrayctl-demo-otel",
        "otel",
    )
    own = FunctionOptions(sdk="otel", code_dir=tmp_path, handler="app.handler").resolved()
    assert (own.handler, own.name) == ("app.handler", "xrayctl-demo")
    assert (
        FunctionOptions(code_dir=tmp_path, sdk="otel").resolved().handler == "lambda_function.lambda_handler"
    )


def test_both_runs_the_two_functions_of_xrayctl() -> None:
    both = FunctionOptions(sdk="both").resolved()
    assert both.functions() == [
        ("xrayctl-demo", "lambda_function.lambda_handler", "xray"),
        ("xrayctl-demo-otel", "otel_function.lambda_handler", "otel"),
    ]
    with pytest.raises(UsageError, match="--sdk both"):
        FunctionOptions(sdk="both", handler="app.handler")


def test_a_serve_is_reused_only_when_it_runs_the_sdk_asked_for() -> None:
    running = FunctionOptions(sdk="otel").resolved()
    assert FunctionOptions().accepts(running)  # --sdk not given: whatever the serve runs
    assert FunctionOptions(sdk="otel").accepts(running)
    assert not FunctionOptions(sdk="xray").accepts(running)
    assert not FunctionOptions(sdk="both").accepts(running)


def test_the_sdk_is_recorded_in_serve_json_and_read_back() -> None:
    resolved = FunctionOptions(sdk="both").resolved()
    assert ResolvedFunction.from_json(resolved.to_json()) == resolved
