"""What shapes a local stack: the function it runs and how its X-Ray API answers. Built once, by the CLI.

A field left None in `FunctionOptions` was not asked for: a command takes whatever a running `local serve`
runs there, and a stack of the command's own takes the default. So `xrayctl --local invoke` uses a serve
started with `--code ./myfn`, and `xrayctl --local invoke --handler app.other` does not.

`sdk` says what traces the function: `xray` (the X-Ray SDK, as lambda_function.py uses it), `otel` (run as
Lambda runs it with the ADOT layer: see `lambda_.otel_layer`; xrayctl's own function is then its twin,
otel_function.py), or `both` (xrayctl's two functions side by side, the twin named `<name>-otel`).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xrayctl.errors import UsageError

SDKS = ("xray", "otel", "both")
DEFAULT_HANDLER = "lambda_function.lambda_handler"
OTEL_TWIN_HANDLER = "otel_function.lambda_handler"


def otel_twin_name(name: str) -> str:
    """The name of the OpenTelemetry twin of function `name` (with `sdk` both, and in the SAM template)."""
    return f"{name}-otel"


def _bundled_function_dir() -> Path:
    """Where the bundled function lives: function/ in a checkout, xrayctl/function/ in an installed wheel."""
    spec = importlib.util.find_spec("xrayctl.function")
    if spec is None or not spec.submodule_search_locations:
        return Path(__file__).resolve().parents[2] / "function"
    return Path(next(iter(spec.submodule_search_locations)))


DEFAULT_CODE_DIR = _bundled_function_dir()


@dataclass(frozen=True)
class FunctionOptions:
    """The function a local stack runs; None: not asked for (see the module docstring)."""

    code_dir: Path | None = None
    handler: str | None = None
    timeout: float | None = None  # seconds
    sdk: str | None = None  # one of SDKS

    def __post_init__(self) -> None:
        if self.sdk is not None and self.sdk not in SDKS:
            raise UsageError(f"--sdk is one of {', '.join(SDKS)}, not {self.sdk!r}.")
        if self.sdk == "both" and (self.code_dir is not None or self.handler is not None):
            raise UsageError(
                "--sdk both runs xrayctl's two functions (the X-Ray SDK one and its OpenTelemetry twin).",
                "With --code or --handler, choose --sdk xray or --sdk otel.",
            )
        if self.code_dir is not None:
            # Compared with what a serve records: the same folder however it was spelled.
            object.__setattr__(self, "code_dir", Path(self.code_dir).resolve())

    def resolved(self) -> ResolvedFunction:
        """These options with Lambda's and the demo's defaults for what was not asked for."""
        sdk = self.sdk or "xray"
        twin = sdk == "otel" and self.code_dir is None  # xrayctl's own function, traced by OpenTelemetry
        return ResolvedFunction(
            code_dir=self.code_dir or DEFAULT_CODE_DIR,
            handler=self.handler or (OTEL_TWIN_HANDLER if twin else DEFAULT_HANDLER),
            timeout=3.0 if self.timeout is None else self.timeout,  # Lambda's default
            memory_mb=128,  # Lambda's default
            name=otel_twin_name("xrayctl-demo") if twin else "xrayctl-demo",
            bucket="xrayctl-demo-bucket",  # the S3 bucket the stack creates; the function's BUCKET_NAME
            sdk=sdk,
        )

    def accepts(self, running: ResolvedFunction) -> bool:
        """Whether a stack running `running` is what these options ask for: every field asked for is equal."""
        return all(
            wanted is None or wanted == getattr(running, name)
            for name, wanted in dataclasses.asdict(self).items()
        )

    @property
    def asked(self) -> bool:
        return any(value is not None for value in dataclasses.asdict(self).values())


@dataclass(frozen=True)
class ResolvedFunction:
    """The function a stack runs, every field known: what `local serve` records in serve.json."""

    code_dir: Path
    handler: str
    timeout: float
    memory_mb: int
    name: str
    bucket: str
    sdk: str = "xray"

    def functions(self) -> list[tuple[str, str, str]]:
        """(name, handler, sdk) of each function the stack runs: one, or with `sdk` both the two."""
        if self.sdk != "both":
            return [(self.name, self.handler, self.sdk)]
        return [(self.name, self.handler, "xray"), (otel_twin_name(self.name), OTEL_TWIN_HANDLER, "otel")]

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "code_dir": str(self.code_dir)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResolvedFunction:
        """Read back what `to_json` wrote; KeyError, TypeError or ValueError when it is not that."""
        resolved = cls(
            code_dir=Path(str(data["code_dir"])),
            handler=str(data["handler"]),
            timeout=float(data["timeout"]),
            memory_mb=int(data["memory_mb"]),
            name=str(data["name"]),
            bucket=str(data["bucket"]),
            sdk=str(data["sdk"]),
        )
        if set(data) != {f.name for f in dataclasses.fields(cls)}:
            raise ValueError(f"unexpected fields in {sorted(data)}")
        return resolved


@dataclass(frozen=True)
class StackOptions:
    """Everything that shapes a local stack."""

    function: FunctionOptions = field(default_factory=FunctionOptions)
    api_delay: float = 0.0  # seconds added to every X-Ray API answer (for benchmarks)
    # Switch the store to Transaction Search (CloudWatchLogs, ACTIVE at once); False leaves it as stored.
    transaction_search: bool = False
