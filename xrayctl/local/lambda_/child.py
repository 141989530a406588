"""The runtime child: what a sandbox runs as `python -m xrayctl.local.lambda_.child HANDLER`.

It is `python -m awslambdaric HANDLER` plus two things a sandbox needs (see `runtime`):
- a start gate: the interpreter and the runtime client load ahead of time (the same for every function),
  and the function's own init (importing the handler, which is what Lambda's Initialization shows) waits for
  the first byte on stdin, which the sandbox sends when the first invocation arrives;
- a parent watchdog: stdin is a pipe only the parent holds open, so EOF on it means xrayctl is gone (even
  by SIGKILL); the child then kills what the function started in a session of its own (found in /proc by
  the mark the sandbox put in its environment) and its own process group.

It imports only the standard library, the runtime client and the (empty) `xrayctl` package `__init__`s that
`-m` runs: the function's process must look like Lambda's. The one exception is an exec wrapper: with
`AWS_LAMBDA_EXEC_WRAPPER` set to the ADOT layer's (`otel_layer`), OpenTelemetry's auto-instrumentation starts
after the gate, before the runtime runs, as the layer's script starts it before Lambda's runtime.
"""

import os
import runpy
import signal
import threading

# Every process of a sandbox carries it; not XRAYCTL_*: the function sees none of the user's settings.
MARK_VARIABLE = "_XRAYCTL_SANDBOX"


def _watch_parent(mark: bytes) -> None:
    while os.read(0, 512):
        pass
    # What the function started in a session of its own has left the group: found by the mark it inherited.
    for pid in [p for p in os.listdir("/proc") if p.isdigit()] if os.path.isdir("/proc") else []:
        try:
            with open(f"/proc/{pid}/environ", "rb") as environ:
                if int(pid) != os.getpid() and mark in b"\0" + environ.read() + b"\0":
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
    os.killpg(0, signal.SIGKILL)


def main() -> None:
    # Loaded before the gate opens, as Lambda's runtime is before the function's init. Imported here, not at
    # the top: the sandbox imports this module for MARK_VARIABLE, and the parent must not load the runtime.
    import awslambdaric.bootstrap
    import awslambdaric.lambda_config
    import awslambdaric.lambda_runtime_client  # noqa: F401

    if not os.read(0, 1):  # EOF before the go: the parent is gone
        os._exit(0)
    mark = b"\0" + MARK_VARIABLE.encode() + b"=" + os.environ.get(MARK_VARIABLE, "-").encode() + b"\0"
    threading.Thread(target=_watch_parent, args=(mark,), name="xrayctl-parent-watch", daemon=True).start()
    if os.environ.get("AWS_LAMBDA_EXEC_WRAPPER"):
        from xrayctl.local.lambda_.otel_layer import instrument

        instrument()
    runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
